/*
 * Managed policies: customer managed (CreatePolicy, versions, DeletePolicy)
 * and the AWS managed policies the iam component ships, which are listed,
 * read and attached by their real ARNs (arn:aws:iam::aws:policy/...) but
 * never changed.
 *
 * Versions follow https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html:
 * at most five; ids v1, v2, ... are never reused; exactly one is the
 * default, and the default version is the one that applies. Every version
 * is compiled when created; entities point at the policy, so changing the
 * default changes what every attached entity is allowed at once.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

iam_mpolicy_t *iam__policy_aws_add(iam_state_t *st, const iam_managed_t *m)
{
    size_t at;
    ssize_t i = iam__vec_find(&st->policies, m->arn, iam__policy_key, &at);
    if (i >= 0)
        return st->policies.v[i];
    iam_mpolicy_t *p = xcalloc(1, sizeof *p);
    p->aws = true;
    p->aws_row = m;
    /* Borrowed from the generated table, which outlives every state;
     * iam__mpolicy_free knows not to free them. */
    p->arn = (char *)m->arn;
    p->name = (char *)iam_managed_name(m);
    p->path = (char *)m->path;
    p->id = (char *)m->id;
    p->description = (char *)m->description;
    p->created_ms = m->created_ms;
    p->updated_ms = m->updated_ms;
    /* Only the default version is kept here: it is the one that applies.
     * ListPolicyVersions reads every version from the table. */
    snprintf(p->versions[0].id, sizeof p->versions[0].id, "%s", m->default_version);
    for (size_t j = 0; j < m->nversions; j++) {
        const iam_managed_version_t *v = iam_managed_version(m, j);
        if (strcmp(v->id, m->default_version) == 0)
            p->versions[0].created_ms = v->created_ms;
    }
    p->nversions = 1;
    iam__vec_insert(&st->policies, at, p);
    return p;
}

const iam_policy_t *iam__version_policy(const iam_mpolicy_t *p, const iam_pversion_t *v)
{
    if (!v->policy && p->aws) {
        char err[512] = "the embedded document does not inflate";
        const char *doc = iam_managed_document(p->aws_row);
        iam_policy_t *pol = doc ? iam_policy_parse(doc, strlen(doc), IAM_POLICY_IDENTITY, 0, err, sizeof err, NULL)
                                : NULL;
        /* Every generated document is tested to parse (tests/unit/iam);
         * a failure here is a kyoka bug, reported and treated as an empty
         * policy. */
        if (!pol)
            log_error("iam: AWS managed policy %s does not parse (%s)", p->arn, err);
        ((iam_pversion_t *)v)->policy = pol;
    }
    return v->policy;
}

iam_mpolicy_t *iam__policy_get_or_fail(svc_call_t *c, const char *arn)
{
    iam_mpolicy_t *p = iam__policy_lookup(c->state, arn);
    if (!p)
        svc_error(c, "NoSuchEntityException", 0, "Policy %s was not found.", arn ? arn : "");
    return p;
}

/* A customer managed policy that may be changed; AWS managed ones refuse. */
static iam_mpolicy_t *local_policy_or_fail(svc_call_t *c, const char *arn)
{
    iam_mpolicy_t *p = iam__policy_get_or_fail(c, arn);
    if (p && p->aws) {
        svc_error(c, "AccessDenied", 403, "User: %s is not authorized to perform: %s on resource: policy %s",
                  c->principal.arn ? c->principal.arn : "", c->op->iam_action, arn);
        return NULL;
    }
    return p;
}

static iam_pversion_t *version_get_or_fail(svc_call_t *c, iam_mpolicy_t *p, const char *vid)
{
    for (size_t i = 0; vid && i < p->nversions; i++)
        if (strcmp(p->versions[i].id, vid) == 0)
            return &p->versions[i];
    svc_error(c, "NoSuchEntityException", 0, "Policy %s version %s does not exist or is not attachable.", p->arn,
              vid ? vid : "");
    return NULL;
}

/* The version that PolicyArn and VersionId name, of a policy that may be
 * changed; *p gets the policy. */
static iam_pversion_t *local_version_or_fail(svc_call_t *c, iam_mpolicy_t **p)
{
    *p = local_policy_or_fail(c, svc_in_str(c, "PolicyArn"));
    return *p ? version_get_or_fail(c, *p, svc_in_str(c, "VersionId")) : NULL;
}

/* An AWS managed policy's versions come from the generated table, newest
 * first; only the default one has a document there. */
static json_t *aws_version_item(svc_call_t *c, const void *items, size_t i)
{
    (void)c;
    const iam_mpolicy_t *p = items;
    const iam_managed_version_t *v = iam_managed_version(p->aws_row, i);
    return json_pack("{s:s,s:b,s:I}", "VersionId", v->id, "IsDefaultVersion",
                     strcmp(v->id, p->aws_row->default_version) == 0, "CreateDate", (json_int_t)(v->created_ms / 1000));
}

static json_t *policy_item(svc_call_t *c, const void *items, size_t i)
{
    (void)c;
    const iam_mpolicy_t *const *policies = items;
    return iam__policy_json(policies[i], false);
}

/* Newest first, as IAM lists them. */
static json_t *version_item(svc_call_t *c, const void *items, size_t i)
{
    const iam_mpolicy_t *p = items;
    return iam__version_json(p, &p->versions[p->nversions - 1 - i], c->arena, false);
}

static void v_policy_path(iam_vcheck_t *v, const char *value)
{
    /* ((/[A-Za-z0-9\.,\+@=_-]+)*)/ */
    if (!value)
        return;
    size_t n = strlen(value);
    bool ok = n >= 1 && value[0] == '/' && value[n - 1] == '/';
    for (size_t i = 0; ok && i < n; i++) {
        char ch = value[i];
        if (ch == '/')
            ok = i == 0 || value[i - 1] != '/';
        else
            ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 strchr(".,+@=_-", ch) != NULL;
    }
    if (!ok)
        iam__v_fail(v, "path", value,
                    "Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/");
    iam__v_len(v, "path", value, 1, 512);
}

/* ==== operation handlers ==== */

int iam_create_policy(svc_call_t *c)
{
    iam_state_t *st = c->state;
    const char *name = svc_in_str(c, "PolicyName");
    const char *path = svc_in_str(c, "Path") ? svc_in_str(c, "Path") : "/";
    const char *desc = svc_in_str(c, "Description");
    iam_vcheck_t v;
    iam__v_init(&v, c);
    iam__v_name(&v, "policyName", name, 128);
    v_policy_path(&v, path);
    iam__v_len(&v, "description", desc, 0, 1000);
    iam__v_tags(&v, svc_in(c, "Tags"));
    if (!iam__v_done(&v))
        return 0;
    char *lname = iam__lower(name);
    for (size_t i = 0; i < st->policies.n; i++) {
        iam_mpolicy_t *p = st->policies.v[i];
        if (!p->aws && strcmp(p->lname, lname) == 0) {
            free(lname);
            svc_error(c, "EntityAlreadyExistsException", 0,
                      "A policy called %s already exists. Duplicate names are not allowed.", name);
            return 0;
        }
    }
    iam_policy_t *pol = iam__parse_or_fail(c, svc_in_str(c, "PolicyDocument"), IAM_POLICY_IDENTITY,
                                           KYOKA_IAM_MAX_MANAGED_POLICY_BYTES, NULL);
    if (!pol) {
        free(lname);
        return 0;
    }
    iam_mpolicy_t *p = xcalloc(1, sizeof *p);
    p->lname = lname;
    p->versions[0].policy = pol;
    p->nversions = 1;
    if (iam__tags_create(c, &p->tags, svc_in(c, "Tags")) != 0) {
        iam__mpolicy_free(p);
        return 0;
    }
    char id[32];
    iam__gen_id(id, "ANPA", 17);
    buf_t arn;
    buf_init(&arn, 4096);
    buf_appendf(&arn, "arn:aws:iam::%s:policy%s%s", st->account, path, name);
    p->arn = buf_detach(&arn, NULL);
    p->name = xstrdup(name);
    p->path = xstrdup(path);
    p->id = xstrdup(id);
    p->description = desc ? xstrdup(desc) : NULL;
    p->created_ms = p->updated_ms = kyoka_clock_now_ms();
    snprintf(p->versions[0].id, sizeof p->versions[0].id, "v1");
    p->versions[0].created_ms = p->created_ms;
    p->next_version = 2;
    if (iam__db_policy_save(st, p) != 0 || iam__db_version_put(st, p, &p->versions[0]) != 0) {
        iam__mpolicy_free(p);
        return iam__store_failed(c);
    }
    size_t at;
    iam__vec_find(&st->policies, p->arn, iam__policy_key, &at);
    iam__vec_insert(&st->policies, at, p);
    json_object_set_new(svc_output(c), "Policy", iam__policy_json(p, true));
    return 0;
}

int iam_get_policy(svc_call_t *c)
{
    iam_mpolicy_t *p = iam__policy_get_or_fail(c, svc_in_str(c, "PolicyArn"));
    if (p)
        json_object_set_new(svc_output(c), "Policy", iam__policy_json(p, true));
    return 0;
}

int iam_delete_policy(svc_call_t *c)
{
    iam_state_t *st = c->state;
    iam_mpolicy_t *p = local_policy_or_fail(c, svc_in_str(c, "PolicyArn"));
    if (!p)
        return 0;
    if (p->attachments || p->boundary_uses) {
        svc_error(c, "DeleteConflictException", 0, "Cannot delete a policy attached to entities.");
        return 0;
    }
    if (p->nversions > 1) {
        svc_error(c, "DeleteConflictException", 0,
                  "This policy has more than one version. Before you delete a policy, you must delete the policy's "
                  "versions. The default version is deleted with the policy.");
        return 0;
    }
    if (iam__db_policy_delete(st, p) != 0)
        return iam__store_failed(c);
    size_t at;
    if (iam__vec_find(&st->policies, p->arn, iam__policy_key, &at) >= 0)
        iam__vec_remove(&st->policies, at);
    iam__mpolicy_free(p);
    return 0;
}

int iam_list_policies(svc_call_t *c)
{
    iam_state_t *st = c->state;
    const char *scope = svc_in_str(c, "Scope") ? svc_in_str(c, "Scope") : "All";
    const char *prefix = svc_in_str(c, "PathPrefix");
    const char *usage = svc_in_str(c, "PolicyUsageFilter");
    bool only_attached = json_is_true(svc_in(c, "OnlyAttached"));
    if (strcmp(scope, "All") != 0 && strcmp(scope, "AWS") != 0 && strcmp(scope, "Local") != 0) {
        iam_vcheck_t v;
        iam__v_init(&v, c);
        iam__v_fail(&v, "scope", scope, "Member must satisfy enum value set: [All, AWS, Local]");
        iam__v_done(&v);
        return 0;
    }
    /* AWS managed policies the account has not touched are not in
     * st->policies yet. Those can match only when no filter asks for
     * attachments, and then they join here (and stay: a few hundred bytes
     * each, no document). */
    if (strcmp(scope, "Local") != 0 && !only_attached && !usage) {
        for (size_t i = 0; i < iam_managed_count(); i++) {
            const iam_managed_t *m = iam_managed_at(i);
            if (!prefix || strncmp(m->path, prefix, strlen(prefix)) == 0)
                iam__policy_aws_add(st, m);
        }
    }
    iam_mpolicy_t **sel = arena_alloc(c->arena, (st->policies.n ? st->policies.n : 1) * sizeof *sel);
    size_t n = 0;
    for (size_t i = 0; i < st->policies.n; i++) {
        iam_mpolicy_t *p = st->policies.v[i];
        if ((strcmp(scope, "AWS") == 0 && !p->aws) || (strcmp(scope, "Local") == 0 && p->aws))
            continue;
        if (prefix && strncmp(p->path, prefix, strlen(prefix)) != 0)
            continue;
        if (only_attached && !p->attachments)
            continue;
        if (usage && strcmp(usage, "PermissionsBoundary") == 0 && !p->boundary_uses)
            continue;
        if (usage && strcmp(usage, "PermissionsPolicy") == 0 && !p->attachments)
            continue;
        sel[n++] = p;
    }
    return iam__list_page(c, "Policies", n, policy_item, sel);
}

int iam_create_policy_version(svc_call_t *c)
{
    iam_state_t *st = c->state;
    iam_mpolicy_t *p = local_policy_or_fail(c, svc_in_str(c, "PolicyArn"));
    if (!p)
        return 0;
    if (p->nversions >= IAM_MAX_POLICY_VERSIONS) {
        svc_error(c, "LimitExceededException", 0,
                  "A managed policy can have up to %d versions. Before you create a new version, you must delete an "
                  "existing version.",
                  IAM_MAX_POLICY_VERSIONS);
        return 0;
    }
    iam_policy_t *pol = iam__parse_or_fail(c, svc_in_str(c, "PolicyDocument"), IAM_POLICY_IDENTITY,
                                           KYOKA_IAM_MAX_MANAGED_POLICY_BYTES, NULL);
    if (!pol)
        return 0;
    bool make_default = json_is_true(svc_in(c, "SetAsDefault"));
    iam_pversion_t *v = &p->versions[p->nversions];
    *v = (iam_pversion_t){.policy = pol, .created_ms = kyoka_clock_now_ms()};
    snprintf(v->id, sizeof v->id, "v%d", p->next_version);
    size_t old_default = p->default_idx;
    int64_t old_updated = p->updated_ms;
    p->next_version++;
    if (make_default) {
        p->default_idx = p->nversions;
        p->updated_ms = v->created_ms;
    }
    if (iam__db_version_put(st, p, v) != 0 || iam__db_policy_save(st, p) != 0) {
        p->next_version--;
        p->default_idx = old_default;
        p->updated_ms = old_updated;
        iam_policy_free(pol);
        *v = (iam_pversion_t){0};
        return iam__store_failed(c);
    }
    p->nversions++;
    json_object_set_new(svc_output(c), "PolicyVersion", iam__version_json(p, v, c->arena, false));
    return 0;
}

int iam_get_policy_version(svc_call_t *c)
{
    iam_mpolicy_t *p = iam__policy_get_or_fail(c, svc_in_str(c, "PolicyArn"));
    if (!p)
        return 0;
    iam_pversion_t *v = version_get_or_fail(c, p, svc_in_str(c, "VersionId"));
    if (v)
        json_object_set_new(svc_output(c), "PolicyVersion", iam__version_json(p, v, c->arena, true));
    return 0;
}

int iam_delete_policy_version(svc_call_t *c)
{
    iam_state_t *st = c->state;
    iam_mpolicy_t *p;
    iam_pversion_t *v = local_version_or_fail(c, &p);
    if (!v)
        return 0;
    size_t i = (size_t)(v - p->versions);
    if (i == p->default_idx) {
        svc_error(c, "DeleteConflictException", 0, "Cannot delete the default version of a policy.");
        return 0;
    }
    if (iam__db_version_delete(st, p, v->id) != 0)
        return iam__store_failed(c);
    iam_policy_free(v->policy);
    memmove(p->versions + i, p->versions + i + 1, (p->nversions - i - 1) * sizeof *p->versions);
    p->nversions--;
    p->versions[p->nversions] = (iam_pversion_t){0};
    if (p->default_idx > i)
        p->default_idx--;
    return 0;
}

int iam_set_default_policy_version(svc_call_t *c)
{
    iam_state_t *st = c->state;
    iam_mpolicy_t *p;
    iam_pversion_t *v = local_version_or_fail(c, &p);
    if (!v)
        return 0;
    size_t old = p->default_idx;
    int64_t old_updated = p->updated_ms;
    p->default_idx = (size_t)(v - p->versions);
    p->updated_ms = kyoka_clock_now_ms();
    if (iam__db_policy_save(st, p) != 0) {
        p->default_idx = old;
        p->updated_ms = old_updated;
        return iam__store_failed(c);
    }
    return 0;
}

int iam_list_policy_versions(svc_call_t *c)
{
    iam_mpolicy_t *p = iam__policy_get_or_fail(c, svc_in_str(c, "PolicyArn"));
    if (p && p->aws)
        return iam__list_page(c, "Versions", p->aws_row->nversions, aws_version_item, p);
    return p ? iam__list_page(c, "Versions", p->nversions, version_item, p) : 0;
}

int iam_list_entities_for_policy(svc_call_t *c)
{
    iam_state_t *st = c->state;
    iam_mpolicy_t *p = iam__policy_get_or_fail(c, svc_in_str(c, "PolicyArn"));
    if (!p)
        return 0;
    const char *filter = svc_in_str(c, "EntityFilter");
    const char *usage = svc_in_str(c, "PolicyUsageFilter");
    static const char *const lists[3] = {"PolicyRoles", "PolicyUsers", "PolicyGroups"};
    json_t *out = svc_output(c);
    for (int k = 0; k < 3; k++) {
        const iam_kind_info_t *ki = &iam__kinds[k];
        json_t *list = json_array();
        bool wanted = !filter || strcmp(filter, ki->title) == 0 || strcmp(filter, "LocalManagedPolicy") == 0 ||
                      strcmp(filter, "AWSManagedPolicy") == 0;
        for (size_t i = 0; wanted && i < st->ents[k].n; i++) {
            iam_entity_t *e = st->ents[k].v[i];
            bool attached = false;
            for (size_t j = 0; j < e->natt; j++)
                attached = attached || e->att[j] == p;
            bool hit = usage && strcmp(usage, "PermissionsBoundary") == 0 ? e->boundary == p
                       : usage && strcmp(usage, "PermissionsPolicy") == 0 ? attached
                                                                           : attached || e->boundary == p;
            if (hit)
                json_array_append_new(list, json_pack("{s:s,s:s}", ki->param, e->name, ki->id_member, e->id));
        }
        json_object_set_new(out, lists[k], list);
    }
    json_object_set_new(out, "IsTruncated", json_false());
    return 0;
}

static int save_policy(iam_state_t *st, const void *owner) { return iam__db_policy_save(st, owner); }

int iam_tag_policy(svc_call_t *c)
{
    iam_mpolicy_t *p = local_policy_or_fail(c, svc_in_str(c, "PolicyArn"));
    return p ? iam__tags_edit(c, &p->tags, false, "Policy", save_policy, p) : 0;
}

int iam_untag_policy(svc_call_t *c)
{
    iam_mpolicy_t *p = local_policy_or_fail(c, svc_in_str(c, "PolicyArn"));
    return p ? iam__tags_edit(c, &p->tags, true, "Policy", save_policy, p) : 0;
}

int iam_list_policy_tags(svc_call_t *c)
{
    iam_mpolicy_t *p = iam__policy_get_or_fail(c, svc_in_str(c, "PolicyArn"));
    return p ? iam__tags_list(c, &p->tags) : 0;
}
