/*
 * IAM roles: CreateRole, GetRole, ListRoles, DeleteRole, UpdateRole,
 * UpdateRoleDescription, UpdateAssumeRolePolicy. Inline and attached
 * policies, boundaries and tags are in entity.c.
 *
 * A role's trust policy (AssumeRolePolicyDocument) is compiled as kind
 * IAM_POLICY_TRUST: Principal required, no Resource, and it counts against
 * ACLSizePerRole (2,048 characters). STS evaluates it on AssumeRole.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

static iam_entity_t *role_from_input(svc_call_t *c)
{
    iam_vcheck_t v;
    iam__v_init(&v, c);
    const char *name = svc_in_str(c, "RoleName");
    iam__v_name(&v, "roleName", name, 64);
    if (!iam__v_done(&v))
        return NULL;
    return iam__ent_get_or_fail(c, IAM_ENT_ROLE, name);
}

/* ==== operation handlers ==== */

int iam_create_role(svc_call_t *c)
{
    iam_state_t *st = c->state;
    const char *name = svc_in_str(c, "RoleName");
    const char *path = svc_in_str(c, "Path") ? svc_in_str(c, "Path") : "/";
    const char *desc = svc_in_str(c, "Description");
    json_t *msd = svc_in(c, "MaxSessionDuration");
    iam_vcheck_t v;
    iam__v_init(&v, c);
    iam__v_name(&v, "roleName", name, 64);
    iam__v_path(&v, "path", path);
    iam__v_len(&v, "description", desc, 0, 1000);
    iam__v_range(&v, "maxSessionDuration", msd, 3600, 43200);
    iam__v_tags(&v, svc_in(c, "Tags"));
    if (!iam__v_done(&v))
        return 0;
    if (iam__ent_lookup(st, IAM_ENT_ROLE, name)) {
        svc_error(c, "EntityAlreadyExistsException", 0, "Role with name %s already exists.", name);
        return 0;
    }
    iam_mpolicy_t *boundary = NULL;
    if (svc_in_str(c, "PermissionsBoundary") &&
        !(boundary = iam__boundary_get_or_fail(c, svc_in_str(c, "PermissionsBoundary"))))
        return 0;
    iam_policy_t *trust = iam__parse_or_fail(c, svc_in_str(c, "AssumeRolePolicyDocument"), IAM_POLICY_TRUST,
                                             KUMO_IAM_MAX_TRUST_POLICY_BYTES, NULL);
    if (!trust)
        return 0;
    iam_entity_t *e = xcalloc(1, sizeof *e);
    e->kind = IAM_ENT_ROLE;
    e->trust = trust;
    if (iam__tags_create(c, &e->tags, svc_in(c, "Tags")) != 0) {
        iam__entity_free(e);
        return 0;
    }
    char id[32];
    iam__gen_id(id, "AROA", 17);
    e->name = xstrdup(name);
    e->lname = iam__lower(name);
    e->id = xstrdup(id);
    e->path = xstrdup(path);
    e->arn = iam__arn_for(st, IAM_ENT_ROLE, path, name);
    e->created_ms = kumo_clock_now_ms();
    e->description = desc ? xstrdup(desc) : NULL;
    e->max_session = json_is_integer(msd) ? (int)json_integer_value(msd) : 3600;
    e->boundary = boundary;
    if (iam__db_entity_save(st, e) != 0) {
        e->boundary = NULL;
        iam__entity_free(e);
        return iam__store_failed(c);
    }
    if (boundary)
        boundary->boundary_uses++;
    size_t at;
    iam__vec_find(&st->ents[IAM_ENT_ROLE], e->lname, iam__ent_key, &at);
    iam__vec_insert(&st->ents[IAM_ENT_ROLE], at, e);
    json_object_set_new(svc_output(c), "Role", iam__role_json(st, e, c->arena, true));
    return 0;
}

int iam_get_role(svc_call_t *c)
{
    iam_entity_t *e = role_from_input(c);
    if (e)
        json_object_set_new(svc_output(c), "Role", iam__role_json(c->state, e, c->arena, true));
    return 0;
}

int iam_list_roles(svc_call_t *c)
{
    iam_state_t *st = c->state;
    const char *prefix = svc_in_str(c, "PathPrefix");
    iam_vec_t *all = &st->ents[IAM_ENT_ROLE];
    iam_entity_t **sel = arena_alloc(c->arena, (all->n ? all->n : 1) * sizeof *sel);
    size_t n = 0;
    for (size_t i = 0; i < all->n; i++) {
        iam_entity_t *e = all->v[i];
        if (!prefix || strncmp(e->path, prefix, strlen(prefix)) == 0)
            sel[n++] = e;
    }
    size_t start, count;
    if (!iam__page(c, n, &start, &count))
        return 0;
    json_t *out = svc_output(c);
    json_t *roles = json_array();
    for (size_t i = start; i < start + count; i++)
        json_array_append_new(roles, iam__role_json(st, sel[i], c->arena, false));
    json_object_set_new(out, "Roles", roles);
    iam__page_out(c, out, start, count, n);
    return 0;
}

int iam_delete_role(svc_call_t *c)
{
    iam_state_t *st = c->state;
    iam_entity_t *e = role_from_input(c);
    if (!e)
        return 0;
    /* DeleteRole refuses while policies remain (API_DeleteRole.html). */
    if (e->natt) {
        svc_error(c, "DeleteConflictException", 0, "Cannot delete entity, must detach all policies first.");
        return 0;
    }
    if (e->ninl) {
        svc_error(c, "DeleteConflictException", 0, "Cannot delete entity, must delete policies first.");
        return 0;
    }
    if (iam__db_entity_delete(st, e) != 0)
        return iam__store_failed(c);
    size_t at;
    if (iam__vec_find(&st->ents[IAM_ENT_ROLE], e->lname, iam__ent_key, &at) >= 0)
        iam__vec_remove(&st->ents[IAM_ENT_ROLE], at);
    iam__entity_detach_all(e);
    iam__entity_free(e);
    return 0;
}

/* UpdateRole and UpdateRoleDescription: change description and/or the
 * maximum session duration, write, and undo in memory if the write fails. */
static iam_entity_t *update_role(svc_call_t *c, bool description_only)
{
    const char *desc = svc_in_str(c, "Description");
    json_t *msd = description_only ? NULL : svc_in(c, "MaxSessionDuration");
    iam_vcheck_t v;
    iam__v_init(&v, c);
    iam__v_len(&v, "description", desc, 0, 1000);
    iam__v_range(&v, "maxSessionDuration", msd, 3600, 43200);
    if (!iam__v_done(&v))
        return NULL;
    iam_entity_t *e = role_from_input(c);
    if (!e)
        return NULL;
    char *old_desc = e->description;
    int old_msd = e->max_session;
    if (desc)
        e->description = xstrdup(desc);
    if (json_is_integer(msd))
        e->max_session = (int)json_integer_value(msd);
    if (iam__db_entity_save(c->state, e) != 0) {
        if (e->description != old_desc)
            free(e->description);
        e->description = old_desc;
        e->max_session = old_msd;
        iam__store_failed(c);
        return NULL;
    }
    if (e->description != old_desc)
        free(old_desc);
    return e;
}

int iam_update_role(svc_call_t *c)
{
    update_role(c, false);
    return 0;
}

int iam_update_role_description(svc_call_t *c)
{
    iam_entity_t *e = update_role(c, true);
    if (e)
        json_object_set_new(svc_output(c), "Role", iam__role_json(c->state, e, c->arena, true));
    return 0;
}

int iam_update_assume_role_policy(svc_call_t *c)
{
    iam_entity_t *e = role_from_input(c);
    if (!e)
        return 0;
    iam_policy_t *trust = iam__parse_or_fail(c, svc_in_str(c, "PolicyDocument"), IAM_POLICY_TRUST,
                                             KUMO_IAM_MAX_TRUST_POLICY_BYTES, NULL);
    if (!trust)
        return 0;
    iam_policy_t *old = e->trust;
    e->trust = trust;
    if (iam__db_entity_save(c->state, e) != 0) {
        e->trust = old;
        iam_policy_free(trust);
        return iam__store_failed(c);
    }
    iam_policy_free(old);
    return 0;
}
