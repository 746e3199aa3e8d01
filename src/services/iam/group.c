/*
 * IAM groups and their members: GetGroup, AddUserToGroup,
 * RemoveUserFromGroup. Create, List, Delete, inline and attached policies
 * are in entity.c. A group's policies apply to every member: identity.c
 * adds them to the user's identity side.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

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

void iam__group_link(iam_entity_t *group, iam_entity_t *user)
{
    link_add(group, user);
    link_add(user, group);
}

static void link_remove(iam_entity_t *e, const iam_entity_t *other)
{
    ssize_t i = link_find(e, other);
    if (i < 0)
        return;
    memmove(e->links + i, e->links + i + 1, (e->nlinks - (size_t)i - 1) * sizeof *e->links);
    e->nlinks--;
}

void iam__group_unlink(iam_entity_t *group, iam_entity_t *user)
{
    link_remove(group, user);
    link_remove(user, group);
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

int iam_get_group(svc_call_t *c)
{
    iam_entity_t *g = iam__ent_input_or_fail(c, IAM_ENT_GROUP);
    if (!g)
        return 0;
    /* GetGroup pages through the members; the group comes with every page. */
    json_object_set_new(svc_output(c), "Group", iam__entity_json(g, c->arena, true));
    return iam__list_page(c, "Users", g->nlinks, iam__entity_item, g->links);
}

int iam_add_user_to_group(svc_call_t *c)
{
    iam_entity_t *g, *u;
    if (!group_and_user(c, &g, &u) || link_find(g, u) >= 0)
        return 0;
    if (iam__db_member_put(c->state, g, u) != 0)
        return iam__store_failed(c);
    iam__group_link(g, u);
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
