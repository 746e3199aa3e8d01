/*
 * Who a credential is, as the policy engine sees it: ctx->identity_for.
 *
 * The server calls this for every authenticated non-root request. It fills
 * the principal's IAM facts (user name, principal tags) and the policies that
 * apply on the identity side
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 *   IAM user (long-term key, or GetSessionToken session): the user's inline
 *     and attached policies plus those of every group it is in; the user's
 *     permissions boundary.
 *   Role session (AssumeRole): the role's inline and attached policies, the
 *     role's boundary, and the session policies passed to AssumeRole.
 *     Principal tags are the role's tags overridden by the session tags
 *     (id_session-tags.html: "session tags override role tags with the same key").
 * A session whose role was deleted (or deleted and created again, with a new
 * role id) keeps its credential but gets no identity policies, as on AWS.
 *
 * Everything handed out points into the IAM state or the request arena and
 * is valid for the request.
 */
#include "internal.h"

#include <string.h>
#include <strings.h>

#include "core/banned.h"

static size_t add_entity(const iam_entity_t *e, arena_t *a, iam_named_policy_t *out, iam_policy_src_t *src, size_t n)
{
    for (size_t i = 0; i < e->ninl; i++) {
        out[n] = (iam_named_policy_t){arena_sprintf(a, "inline:%s/%s", e->name, e->inl[i].name), e->inl[i].policy};
        if (src)
            src[n] = (iam_policy_src_t){e->inl[i].name, iam__kinds[e->kind].source_type};
        n++;
    }
    for (size_t i = 0; i < e->natt; i++) {
        const iam_policy_t *p = iam__policy_default(e->att[i]);
        if (!p)
            continue;
        out[n] = (iam_named_policy_t){e->att[i]->arn, p};
        if (src)
            src[n] = (iam_policy_src_t){e->att[i]->name, e->att[i]->aws ? "aws-managed" : "user-managed"};
        n++;
    }
    return n;
}

size_t iam__entity_policies(iam_state_t *st, const iam_entity_t *e, arena_t *a, iam_named_policy_t **out,
                            iam_policy_src_t **src)
{
    (void)st;
    size_t total = e->ninl + e->natt;
    if (e->kind == IAM_ENT_USER)
        for (size_t g = 0; g < e->nlinks; g++)
            total += e->links[g]->ninl + e->links[g]->natt;
    iam_named_policy_t *v = arena_alloc(a, (total ? total : 1) * sizeof *v);
    iam_policy_src_t *s = src ? arena_alloc(a, (total ? total : 1) * sizeof *s) : NULL;
    size_t n = add_entity(e, a, v, s, 0);
    if (e->kind == IAM_ENT_USER)
        for (size_t g = 0; g < e->nlinks; g++)
            n = add_entity(e->links[g], a, v, s, n);
    *out = v;
    if (src)
        *src = s;
    return n;
}

static void add_tags(iam_tag_t *out, size_t *n, const iam_tagv_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        size_t j = 0;
        while (j < *n && strcasecmp(out[j].key, t->keys[i]) != 0)
            j++;
        out[j] = (iam_tag_t){t->keys[i], t->values[i]};
        if (j == *n)
            (*n)++;
    }
}

void iam__principal_for_entity(iam_state_t *st, const iam_entity_t *e, arena_t *a, iam_principal_t *pr)
{
    pr->arn = e->arn;
    pr->account = st->account;
    pr->type = e->kind == IAM_ENT_ROLE ? "AssumedRole" : "User";
    pr->user_id = e->id;
    pr->username = e->kind == IAM_ENT_USER ? e->name : NULL;
    pr->role_arn = e->kind == IAM_ENT_ROLE ? e->arn : NULL;
    pr->is_root = false;
    iam_tag_t *tags = arena_alloc(a, (e->tags.n ? e->tags.n : 1) * sizeof *tags);
    size_t n = 0;
    add_tags(tags, &n, &e->tags);
    pr->tags = tags;
    pr->ntags = n;
}

static void boundary_for(const iam_entity_t *e, arena_t *a, iam_policy_set_t *set)
{
    if (!e->boundary || !iam__policy_default(e->boundary))
        return;
    iam_named_policy_t *b = arena_alloc(a, sizeof *b);
    *b = (iam_named_policy_t){e->boundary->arn, iam__policy_default(e->boundary)};
    set->boundary = b;
}

static void identity_user(iam_state_t *st, const auth_cred_t *cred, arena_t *a, iam_principal_t *pr,
                          iam_policy_set_t *set)
{
    const char *slash = cred->principal_arn ? strrchr(cred->principal_arn, '/') : NULL;
    iam_entity_t *u = slash ? iam__ent_lookup(st, IAM_ENT_USER, slash + 1) : NULL;
    if (!u || strcmp(u->arn, cred->principal_arn) != 0)
        return;
    pr->username = u->name;
    iam_tag_t *tags = arena_alloc(a, (u->tags.n ? u->tags.n : 1) * sizeof *tags);
    size_t n = 0;
    add_tags(tags, &n, &u->tags);
    pr->tags = tags;
    pr->ntags = n;
    iam_named_policy_t *ids;
    set->nidentity = iam__entity_policies(st, u, a, &ids, NULL);
    set->identity = ids;
    boundary_for(u, a, set);
}

static void identity_session(iam_state_t *st, const auth_cred_t *cred, arena_t *a, iam_principal_t *pr,
                             iam_policy_set_t *set)
{
    iam_session_t *s = iam__session_lookup(st, cred->access_key_id);
    if (!s || s->kind != IAM_SESS_ROLE)
        return;
    iam_entity_t *role = iam__ent_lookup(st, IAM_ENT_ROLE, s->role_name);
    if (role && (!s->role_id || strcmp(role->id, s->role_id) != 0))
        role = NULL;
    pr->role_arn = s->role_arn;
    size_t cap = s->tags.n + (role ? role->tags.n : 0);
    iam_tag_t *tags = arena_alloc(a, (cap ? cap : 1) * sizeof *tags);
    size_t n = 0;
    if (role)
        add_tags(tags, &n, &role->tags);
    add_tags(tags, &n, &s->tags);
    pr->tags = tags;
    pr->ntags = n;
    if (role) {
        iam_named_policy_t *ids;
        set->nidentity = iam__entity_policies(st, role, a, &ids, NULL);
        set->identity = ids;
        boundary_for(role, a, set);
    }
    size_t ns = (s->policy ? 1 : 0) + s->narns;
    if (ns) {
        iam_named_policy_t *sp = arena_alloc(a, ns * sizeof *sp);
        size_t k = 0;
        if (s->policy)
            sp[k++] = (iam_named_policy_t){arena_sprintf(a, "session:%s", s->arn), s->policy};
        for (size_t i = 0; i < s->narns; i++)
            sp[k++] = (iam_named_policy_t){s->policy_arns[i], s->arn_policies[i]};
        set->session = sp;
        set->nsession = k;
        set->has_session_policies = true;
    }
}

void iam__identity_for(void *state, const auth_cred_t *cred, arena_t *a, iam_principal_t *principal,
                       iam_policy_set_t *set)
{
    iam_state_t *st = state;
    if (!st || !cred)
        return;
    switch (cred->type) {
    case AUTH_PRINCIPAL_USER:
        identity_user(st, cred, a, principal, set);
        break;
    case AUTH_PRINCIPAL_ASSUMED_ROLE:
        identity_session(st, cred, a, principal, set);
        break;
    default:
        break;
    }
}
