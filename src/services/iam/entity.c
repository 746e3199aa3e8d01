/*
 * What roles, users and groups share: Create, List and Delete, inline
 * policies (Put/Get/Delete/List RolePolicy, UserPolicy, GroupPolicy),
 * attached managed policies (Attach/Detach/ListAttached), permissions
 * boundaries (roles and users) and tags (roles and users). One
 * implementation, parameterized by the kind and driven by what iam__kinds
 * says of it (names, id prefix, limits, error texts, CreateRole's extra
 * members); ops.c binds each AWS operation to it. Get and the operations
 * only one kind has stay in role.c, user.c and group.c.
 *
 * Quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
 * inline policies count in aggregate per entity, without white space:
 * role 10,240, user 2,048, group 5,120 characters; at most 10 managed
 * policies attached; at most 50 tags.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/banned.h"

/* ==== resource internals ==== */

/* Validate the kind's name member (at most max characters) together with
 * what v already holds, since IAM reports every bad member in one error,
 * and look the entity up. */
static iam_entity_t *named_entity(svc_call_t *c, iam_ent_kind_t kind, iam_vcheck_t *v, size_t max)
{
    const iam_kind_info_t *ki = &iam__kinds[kind];
    const char *name = svc_in_str(c, ki->param);
    iam__v_name(v, ki->field, name, max);
    if (!iam__v_done(v))
        return NULL;
    return iam__ent_get_or_fail(c, kind, name);
}

iam_entity_t *iam__ent_input_or_fail(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_vcheck_t v;
    iam__v_init(&v, c);
    return named_entity(c, kind, &v, iam__kinds[kind].max_existing_name);
}

/* The entity a policy or tag operation acts on. The inline policy
 * operations pass pname to get PolicyName, which IAM validates first. */
static iam_entity_t *target_or_fail(svc_call_t *c, iam_ent_kind_t kind, const char **pname)
{
    iam_vcheck_t v;
    iam__v_init(&v, c);
    if (pname) {
        *pname = svc_in_str(c, "PolicyName");
        iam__v_name(&v, "policyName", *pname, 128);
    }
    return named_entity(c, kind, &v, iam__kinds[kind].max_name);
}

static bool path_in(const char *path, const char *prefix)
{
    return !prefix || strncmp(path, prefix, strlen(prefix)) == 0;
}

static const char *inline_name_at(const void *list, size_t i)
{
    const iam_inline_t *inl = list;
    return inl[i].name;
}

/* Inline policies are kept sorted by name, the order ListRolePolicies returns. */
static ssize_t inline_find(const iam_entity_t *e, const char *name, size_t *at)
{
    return iam__bisect(e->inl, e->ninl, inline_name_at, name, at);
}

static ssize_t attached_find(const iam_entity_t *e, const char *arn)
{
    for (size_t i = 0; i < e->natt; i++)
        if (strcmp(e->att[i]->arn, arn) == 0)
            return (ssize_t)i;
    return -1;
}

void iam__entity_attach(iam_entity_t *e, iam_mpolicy_t *p)
{
    e->att = xrealloc(e->att, (e->natt + 1) * sizeof *e->att);
    e->att[e->natt++] = p;
    p->attachments++;
}

void iam__entity_detach_all(iam_entity_t *e)
{
    for (size_t i = 0; i < e->natt; i++)
        e->att[i]->attachments--;
    e->natt = 0;
    if (e->boundary)
        e->boundary->boundary_uses--;
    e->boundary = NULL;
}

iam_mpolicy_t *iam__boundary_get_or_fail(svc_call_t *c, const char *arn)
{
    iam_mpolicy_t *p = iam__policy_lookup(c->state, arn);
    if (!p)
        svc_error(c, "NoSuchEntityException", 0, "Scope ARN: %s does not exist or is not attachable.", arn);
    return p;
}

int iam__tags_apply(svc_call_t *c, iam_tagv_t *t, json_t *tags, const char *quota)
{
    iam_vcheck_t v;
    iam__v_init(&v, c);
    iam__v_tags(&v, tags);
    if (!iam__v_done(&v))
        return -1;
    size_t n = json_array_size(tags);
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_object_get(json_array_get(tags, i), "Key"));
        for (size_t j = 0; j < i; j++) {
            const char *k2 = json_string_value(json_object_get(json_array_get(tags, j), "Key"));
            if (k && k2 && strcasecmp(k, k2) == 0) {
                svc_error(c, "InvalidInputException", 0,
                          "Duplicate tag keys found. Please note that Tag keys are case insensitive.");
                return -1;
            }
        }
        bool exists = false;
        for (size_t j = 0; k && j < t->n; j++)
            exists = exists || strcasecmp(t->keys[j], k) == 0;
        if (!exists)
            added++;
    }
    if (t->n + added > IAM_MAX_TAGS) {
        svc_error(c, "LimitExceededException", 0, "Cannot exceed quota for TagsPer%s: %d", quota, IAM_MAX_TAGS);
        return -1;
    }
    iam__tags_from_json(t, tags);
    return 0;
}

int iam__tags_create(svc_call_t *c, iam_tagv_t *t, json_t *tags)
{
    if (!tags)
        return 0;
    return iam__tags_apply(c, t, tags, "Entity");
}

static const char *limit_message(svc_call_t *c, const iam_entity_t *e)
{
    const iam_kind_info_t *ki = &iam__kinds[e->kind];
    /* IAM's text for the aggregate inline size of one entity. */
    return arena_sprintf(c->arena, "Maximum policy size of %zu bytes exceeded for %s %s", ki->inline_max,
                         ki->arn_type, e->name);
}

static bool create_input_valid(svc_call_t *c, const iam_kind_info_t *ki, const char *name, const char *path)
{
    iam_vcheck_t v;
    iam__v_init(&v, c);
    iam__v_name(&v, ki->field, name, ki->max_name);
    iam__v_path(&v, "path", path);
    if (ki->create_check)
        ki->create_check(c, &v);
    if (ki->has_tags)
        iam__v_tags(&v, svc_in(c, "Tags"));
    return iam__v_done(&v);
}

static iam_entity_t *entity_new(iam_state_t *st, iam_ent_kind_t kind, const char *name, const char *path)
{
    iam_entity_t *e = xcalloc(1, sizeof *e);
    char id[32];
    iam__gen_id(id, iam__kinds[kind].id_prefix, 17);
    e->kind = kind;
    e->name = xstrdup(name);
    e->lname = iam__lower(name);
    e->id = xstrdup(id);
    e->path = xstrdup(path);
    e->arn = iam__arn_for(st, kind, path, name);
    e->created_ms = kyoka_clock_now_ms();
    return e;
}

/* The kind's own members, then the tags; false with the error set. */
static bool create_fill(svc_call_t *c, const iam_kind_info_t *ki, iam_entity_t *e)
{
    if (ki->create_fill && !ki->create_fill(c, e))
        return false;
    return !ki->has_tags || iam__tags_create(c, &e->tags, svc_in(c, "Tags")) == 0;
}

static size_t holding_count(const iam_entity_t *e, iam_holding_t what)
{
    switch (what) {
    case IAM_HOLDS_ACCESS_KEYS:
        return e->nkeys;
    case IAM_HOLDS_INLINE:
        return e->ninl;
    case IAM_HOLDS_ATTACHED:
        return e->natt;
    case IAM_HOLDS_LINKS:
        return e->nlinks;
    case IAM_HOLDS_NOTHING:
        break;
    }
    return 0;
}

/* Delete does not cascade: the DeleteConflict text for the first thing the
 * entity still holds, or NULL when it may go. */
static const char *delete_conflict(const iam_entity_t *e)
{
    static const char *const texts[] = {
        [IAM_HOLDS_ACCESS_KEYS] = "Cannot delete entity, must delete access keys first.",
        [IAM_HOLDS_INLINE] = "Cannot delete entity, must delete policies first.",
        [IAM_HOLDS_ATTACHED] = "Cannot delete entity, must detach all policies first.",
    };
    const iam_kind_info_t *ki = &iam__kinds[e->kind];
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(ki->delete_blockers); i++) {
        iam_holding_t what = ki->delete_blockers[i];
        if (holding_count(e, what))
            return what == IAM_HOLDS_LINKS ? ki->links_conflict : texts[what];
    }
    return NULL;
}

json_t *iam__entity_item(svc_call_t *c, const void *items, size_t i)
{
    const iam_entity_t *const *ents = items;
    return iam__entity_json(ents[i], c->arena, false);
}

static json_t *inline_name_item(svc_call_t *c, const void *items, size_t i)
{
    (void)c;
    const iam_inline_t *inl = items;
    return json_string(inl[i].name);
}

static json_t *attached_item(svc_call_t *c, const void *items, size_t i)
{
    (void)c;
    const iam_mpolicy_t *const *att = items;
    return json_pack("{s:s,s:s}", "PolicyName", att[i]->name, "PolicyArn", att[i]->arn);
}

static json_t *tag_item(svc_call_t *c, const void *items, size_t i)
{
    (void)c;
    const iam_tagv_t *tags = items;
    return json_pack("{s:s,s:s}", "Key", tags->keys[i], "Value", tags->values[i]);
}

/* ==== operation handlers ==== */

/* Checks run in IAM's order: members, EntityAlreadyExists, the boundary,
 * the kind's own members (a role's trust policy), tag keys. The row is
 * written before memory changes, so a failed write leaves no trace. */
int iam__entity_create(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_state_t *st = c->state;
    const iam_kind_info_t *ki = &iam__kinds[kind];
    const char *name = svc_in_str(c, ki->param);
    const char *path = svc_in_str(c, "Path") ? svc_in_str(c, "Path") : "/";
    if (!create_input_valid(c, ki, name, path))
        return 0;
    if (iam__ent_lookup(st, kind, name)) {
        if (ki->exists_fmt)
            svc_error(c, "EntityAlreadyExistsException", 0, ki->exists_fmt, name);
        else
            svc_error(c, "EntityAlreadyExistsException", 0, "%s with name %s already exists.", ki->title, name);
        return 0;
    }
    const char *boundary_arn = ki->has_boundary ? svc_in_str(c, "PermissionsBoundary") : NULL;
    iam_mpolicy_t *boundary = NULL;
    if (boundary_arn && !(boundary = iam__boundary_get_or_fail(c, boundary_arn)))
        return 0;
    iam_entity_t *e = entity_new(st, kind, name, path);
    if (!create_fill(c, ki, e)) {
        iam__entity_free(e);
        return 0;
    }
    e->boundary = boundary;
    if (iam__db_entity_save(st, e) != 0) {
        iam__entity_free(e);
        return iam__store_failed(c);
    }
    if (boundary)
        boundary->boundary_uses++;
    size_t at;
    iam__vec_find(&st->ents[kind], e->lname, iam__ent_key, &at);
    iam__vec_insert(&st->ents[kind], at, e);
    json_object_set_new(svc_output(c), ki->title, iam__entity_json(e, c->arena, true));
    return 0;
}

int iam__entity_list(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_state_t *st = c->state;
    const char *prefix = svc_in_str(c, "PathPrefix");
    iam_vec_t *all = &st->ents[kind];
    iam_entity_t **sel = arena_alloc(c->arena, (all->n ? all->n : 1) * sizeof *sel);
    size_t n = 0;
    for (size_t i = 0; i < all->n; i++) {
        iam_entity_t *e = all->v[i];
        if (path_in(e->path, prefix))
            sel[n++] = e;
    }
    return iam__list_page(c, iam__kinds[kind].plural, n, iam__entity_item, sel);
}

int iam__entity_delete(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_state_t *st = c->state;
    iam_entity_t *e = iam__ent_input_or_fail(c, kind);
    if (!e)
        return 0;
    const char *conflict = delete_conflict(e);
    if (conflict) {
        svc_error(c, "DeleteConflictException", 0, "%s", conflict);
        return 0;
    }
    if (iam__db_entity_delete(st, e) != 0)
        return iam__store_failed(c);
    size_t at;
    if (iam__vec_find(&st->ents[kind], e->lname, iam__ent_key, &at) >= 0)
        iam__vec_remove(&st->ents[kind], at);
    iam__entity_detach_all(e);
    iam__entity_free(e);
    return 0;
}

int iam__put_inline(svc_call_t *c, iam_ent_kind_t kind)
{
    const char *pname;
    iam_entity_t *e = target_or_fail(c, kind, &pname);
    if (!e)
        return 0;
    const iam_kind_info_t *ki = &iam__kinds[kind];
    const char *doc = svc_in_str(c, "PolicyDocument");
    const char *lim = limit_message(c, e);
    iam_policy_t *p = iam__parse_or_fail(c, doc, IAM_POLICY_IDENTITY, ki->inline_max, lim);
    if (!p)
        return 0;
    size_t total = iam__policy_size(doc);
    for (size_t i = 0; i < e->ninl; i++)
        if (strcmp(e->inl[i].name, pname) != 0)
            total += iam__policy_size(iam_policy_text(e->inl[i].policy));
    if (total > ki->inline_max) {
        iam_policy_free(p);
        svc_error(c, "LimitExceededException", 0, "%s", lim);
        return 0;
    }
    if (iam__db_inline_put(c->state, e, pname, doc) != 0) {
        iam_policy_free(p);
        return iam__store_failed(c);
    }
    size_t at;
    ssize_t i = inline_find(e, pname, &at);
    if (i >= 0) {
        iam_policy_free(e->inl[i].policy);
        e->inl[i].policy = p;
    } else {
        e->inl = xrealloc(e->inl, (e->ninl + 1) * sizeof *e->inl);
        memmove(e->inl + at + 1, e->inl + at, (e->ninl - at) * sizeof *e->inl);
        e->inl[at] = (iam_inline_t){xstrdup(pname), p};
        e->ninl++;
    }
    return 0;
}

static iam_inline_t *inline_get_or_fail(svc_call_t *c, iam_entity_t *e, const char *pname)
{
    ssize_t i = inline_find(e, pname, NULL);
    if (i < 0) {
        svc_error(c, "NoSuchEntityException", 0, "The %s policy with name %s cannot be found.",
                  iam__kinds[e->kind].arn_type, pname);
        return NULL;
    }
    return &e->inl[i];
}

int iam__get_inline(svc_call_t *c, iam_ent_kind_t kind)
{
    const char *pname;
    iam_entity_t *e = target_or_fail(c, kind, &pname);
    iam_inline_t *in = e ? inline_get_or_fail(c, e, pname) : NULL;
    if (!in)
        return 0;
    json_t *out = svc_output(c);
    json_object_set_new(out, iam__kinds[kind].param, json_string(e->name));
    json_object_set_new(out, "PolicyName", json_string(in->name));
    json_object_set_new(out, "PolicyDocument", json_string(iam__urlencode(c->arena, iam_policy_text(in->policy))));
    return 0;
}

int iam__delete_inline(svc_call_t *c, iam_ent_kind_t kind)
{
    const char *pname;
    iam_entity_t *e = target_or_fail(c, kind, &pname);
    iam_inline_t *in = e ? inline_get_or_fail(c, e, pname) : NULL;
    if (!in)
        return 0;
    if (iam__db_inline_delete(c->state, e, pname) != 0)
        return iam__store_failed(c);
    size_t i = (size_t)(in - e->inl);
    free(in->name);
    iam_policy_free(in->policy);
    memmove(e->inl + i, e->inl + i + 1, (e->ninl - i - 1) * sizeof *e->inl);
    e->ninl--;
    return 0;
}

int iam__list_inline(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_entity_t *e = target_or_fail(c, kind, NULL);
    return e ? iam__list_page(c, "PolicyNames", e->ninl, inline_name_item, e->inl) : 0;
}

int iam__attach(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_entity_t *e = target_or_fail(c, kind, NULL);
    if (!e)
        return 0;
    const char *arn = svc_in_str(c, "PolicyArn");
    iam_mpolicy_t *p = iam__policy_lookup(c->state, arn);
    if (!p) {
        svc_error(c, "NoSuchEntityException", 0, "Policy %s does not exist or is not attachable.", arn);
        return 0;
    }
    if (attached_find(e, arn) >= 0)
        return 0; /* attaching again changes nothing */
    if (e->natt >= IAM_MAX_ATTACHED) {
        svc_error(c, "LimitExceededException", 0, "Cannot exceed quota for %s: %d", iam__kinds[kind].quota_attached,
                  IAM_MAX_ATTACHED);
        return 0;
    }
    if (iam__db_attach_put(c->state, e, arn) != 0)
        return iam__store_failed(c);
    iam__entity_attach(e, p);
    return 0;
}

int iam__detach(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_entity_t *e = target_or_fail(c, kind, NULL);
    if (!e)
        return 0;
    const char *arn = svc_in_str(c, "PolicyArn");
    ssize_t i = attached_find(e, arn);
    if (i < 0) {
        svc_error(c, "NoSuchEntityException", 0, "Policy %s was not found.", arn);
        return 0;
    }
    if (iam__db_attach_delete(c->state, e, arn) != 0)
        return iam__store_failed(c);
    e->att[i]->attachments--;
    memmove(e->att + i, e->att + i + 1, (e->natt - (size_t)i - 1) * sizeof *e->att);
    e->natt--;
    return 0;
}

int iam__list_attached(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_entity_t *e = target_or_fail(c, kind, NULL);
    if (!e)
        return 0;
    const char *prefix = svc_in_str(c, "PathPrefix");
    iam_mpolicy_t **sel = arena_alloc(c->arena, (e->natt ? e->natt : 1) * sizeof *sel);
    size_t n = 0;
    for (size_t i = 0; i < e->natt; i++)
        if (path_in(e->att[i]->path, prefix))
            sel[n++] = e->att[i];
    return iam__list_page(c, "AttachedPolicies", n, attached_item, sel);
}

int iam__put_boundary(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_entity_t *e = target_or_fail(c, kind, NULL);
    if (!e)
        return 0;
    iam_mpolicy_t *p = iam__boundary_get_or_fail(c, svc_in_str(c, "PermissionsBoundary"));
    if (!p)
        return 0;
    iam_mpolicy_t *old = e->boundary;
    e->boundary = p;
    if (iam__db_entity_save(c->state, e) != 0) {
        e->boundary = old;
        return iam__store_failed(c);
    }
    if (old)
        old->boundary_uses--;
    p->boundary_uses++;
    return 0;
}

int iam__delete_boundary(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_entity_t *e = target_or_fail(c, kind, NULL);
    if (!e || !e->boundary)
        return 0;
    iam_mpolicy_t *old = e->boundary;
    e->boundary = NULL;
    if (iam__db_entity_save(c->state, e) != 0) {
        e->boundary = old;
        return iam__store_failed(c);
    }
    old->boundary_uses--;
    return 0;
}

int iam__tags_edit(svc_call_t *c, iam_tagv_t *tags, bool untag, const char *quota,
                   int (*save)(iam_state_t *st, const void *owner), const void *owner)
{
    iam_tagv_t before = {0};
    for (size_t i = 0; i < tags->n; i++)
        iam__tags_set(&before, tags->keys[i], tags->values[i]);
    if (untag) {
        size_t i;
        json_t *k;
        json_array_foreach(svc_in(c, "TagKeys"), i, k) {
            if (json_is_string(k))
                iam__tags_remove(tags, json_string_value(k));
        }
    } else if (iam__tags_apply(c, tags, svc_in(c, "Tags"), quota) != 0) {
        iam__tags_clear(&before);
        return 0;
    }
    if (save(c->state, owner) != 0) {
        /* The store rolled back; memory must agree with it. */
        iam__tags_clear(tags);
        *tags = before;
        return iam__store_failed(c);
    }
    iam__tags_clear(&before);
    return 0;
}

int iam__tags_list(svc_call_t *c, const iam_tagv_t *tags)
{
    return iam__list_page(c, "Tags", tags->n, tag_item, tags);
}

static int save_entity(iam_state_t *st, const void *owner) { return iam__db_entity_save(st, owner); }

int iam__tag(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_entity_t *e = target_or_fail(c, kind, NULL);
    return e ? iam__tags_edit(c, &e->tags, false, iam__kinds[kind].title, save_entity, e) : 0;
}

int iam__untag(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_entity_t *e = target_or_fail(c, kind, NULL);
    return e ? iam__tags_edit(c, &e->tags, true, iam__kinds[kind].title, save_entity, e) : 0;
}

int iam__list_tags(svc_call_t *c, iam_ent_kind_t kind)
{
    iam_entity_t *e = target_or_fail(c, kind, NULL);
    return e ? iam__tags_list(c, &e->tags) : 0;
}
