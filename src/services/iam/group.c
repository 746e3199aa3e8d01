/*
 * IAM groups: CreateGroup, GetGroup, ListGroups, DeleteGroup,
 * AddUserToGroup, RemoveUserFromGroup. A group's inline and attached
 * policies (entity.c) apply to every member: identity.c adds them to the
 * user's identity side.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

static iam_entity_t *group_from_input(svc_call_t *c)
{
    iam_vcheck_t v;
    iam__v_init(&v, c);
    const char *name = svc_in_str(c, "GroupName");
    iam__v_name(&v, "groupName", name, 128);
    if (!iam__v_done(&v))
        return NULL;
    return iam__ent_get_or_fail(c, IAM_ENT_GROUP, name);
}

static ssize_t link_find(const iam_entity_t *e, const iam_entity_t *other)
{
    for (size_t i = 0; i < e->nlinks; i++)
        if (e->links[i] == other)
            return (ssize_t)i;
    return -1;
}

static void link_add(iam_entity_t *e, iam_entity_t *other)
{
    e->links = xrealloc(e->links, (e->nlinks + 1) * sizeof *e->links);
    e->links[e->nlinks++] = other;
}

static void link_remove(iam_entity_t *e, const iam_entity_t *other)
{
    ssize_t i = link_find(e, other);
    if (i < 0)
        return;
    memmove(e->links + i, e->links + i + 1, (e->nlinks - (size_t)i - 1) * sizeof *e->links);
    e->nlinks--;
}

/* The group and the user of AddUserToGroup / RemoveUserFromGroup. */
static bool group_and_user(svc_call_t *c, iam_entity_t **g, iam_entity_t **u)
{
    iam_vcheck_t v;
    iam__v_init(&v, c);
    const char *gname = svc_in_str(c, "GroupName"), *uname = svc_in_str(c, "UserName");
    iam__v_name(&v, "groupName", gname, 128);
    iam__v_name(&v, "userName", uname, 128);
    if (!iam__v_done(&v))
        return false;
    *g = iam__ent_get_or_fail(c, IAM_ENT_GROUP, gname);
    *u = *g ? iam__ent_get_or_fail(c, IAM_ENT_USER, uname) : NULL;
    return *g && *u;
}

/* ==== operation handlers ==== */

int iam_create_group(svc_call_t *c)
{
    iam_state_t *st = c->state;
    const char *name = svc_in_str(c, "GroupName");
    const char *path = svc_in_str(c, "Path") ? svc_in_str(c, "Path") : "/";
    iam_vcheck_t v;
    iam__v_init(&v, c);
    iam__v_name(&v, "groupName", name, 128);
    iam__v_path(&v, "path", path);
    if (!iam__v_done(&v))
        return 0;
    if (iam__ent_lookup(st, IAM_ENT_GROUP, name)) {
        svc_error(c, "EntityAlreadyExistsException", 0, "Group with name %s already exists.", name);
        return 0;
    }
    iam_entity_t *e = xcalloc(1, sizeof *e);
    char id[32];
    iam__gen_id(id, "AGPA", 17);
    e->kind = IAM_ENT_GROUP;
    e->name = xstrdup(name);
    e->lname = iam__lower(name);
    e->id = xstrdup(id);
    e->path = xstrdup(path);
    e->arn = iam__arn_for(st, IAM_ENT_GROUP, path, name);
    e->created_ms = kumo_clock_now_ms();
    if (iam__db_entity_save(st, e) != 0) {
        iam__entity_free(e);
        return iam__store_failed(c);
    }
    size_t at;
    iam__vec_find(&st->ents[IAM_ENT_GROUP], e->lname, iam__ent_key, &at);
    iam__vec_insert(&st->ents[IAM_ENT_GROUP], at, e);
    json_object_set_new(svc_output(c), "Group", iam__group_json(e));
    return 0;
}

int iam_get_group(svc_call_t *c)
{
    iam_entity_t *g = group_from_input(c);
    if (!g)
        return 0;
    size_t start, count;
    if (!iam__page(c, g->nlinks, &start, &count))
        return 0;
    json_t *out = svc_output(c);
    json_object_set_new(out, "Group", iam__group_json(g));
    json_t *users = json_array();
    for (size_t i = start; i < start + count; i++)
        json_array_append_new(users, iam__user_json(c->state, g->links[i], false));
    json_object_set_new(out, "Users", users);
    iam__page_out(c, out, start, count, g->nlinks);
    return 0;
}

int iam_list_groups(svc_call_t *c)
{
    iam_state_t *st = c->state;
    const char *prefix = svc_in_str(c, "PathPrefix");
    iam_vec_t *all = &st->ents[IAM_ENT_GROUP];
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
    json_t *groups = json_array();
    for (size_t i = start; i < start + count; i++)
        json_array_append_new(groups, iam__group_json(sel[i]));
    json_object_set_new(out, "Groups", groups);
    iam__page_out(c, out, start, count, n);
    return 0;
}

int iam_delete_group(svc_call_t *c)
{
    iam_state_t *st = c->state;
    iam_entity_t *g = group_from_input(c);
    if (!g)
        return 0;
    const char *conflict = g->nlinks ? "Cannot delete entity, must remove users from group first."
                           : g->natt ? "Cannot delete entity, must detach all policies first."
                           : g->ninl ? "Cannot delete entity, must delete policies first."
                                     : NULL;
    if (conflict) {
        svc_error(c, "DeleteConflictException", 0, "%s", conflict);
        return 0;
    }
    if (iam__db_entity_delete(st, g) != 0)
        return iam__store_failed(c);
    size_t at;
    if (iam__vec_find(&st->ents[IAM_ENT_GROUP], g->lname, iam__ent_key, &at) >= 0)
        iam__vec_remove(&st->ents[IAM_ENT_GROUP], at);
    iam__entity_detach_all(g);
    iam__entity_free(g);
    return 0;
}

int iam_add_user_to_group(svc_call_t *c)
{
    iam_entity_t *g, *u;
    if (!group_and_user(c, &g, &u) || link_find(g, u) >= 0)
        return 0;
    if (iam__db_member_put(c->state, g, u) != 0)
        return iam__store_failed(c);
    link_add(g, u);
    link_add(u, g);
    return 0;
}

int iam_remove_user_from_group(svc_call_t *c)
{
    iam_entity_t *g, *u;
    if (!group_and_user(c, &g, &u))
        return 0;
    if (link_find(g, u) < 0) {
        svc_error(c, "NoSuchEntityException", 0, "The user with name %s cannot be found.", u->name);
        return 0;
    }
    if (iam__db_member_delete(c->state, g, u) != 0)
        return iam__store_failed(c);
    link_remove(g, u);
    link_remove(u, g);
    return 0;
}
