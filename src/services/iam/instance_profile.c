/*
 * Instance profiles: what only they have. GetInstanceProfile, the role they
 * carry (AddRoleToInstanceProfile, RemoveRoleFromInstanceProfile) and
 * ListInstanceProfilesForRole. Create, List, Delete and the tag operations
 * are entity.c's, driven by iam__kinds[IAM_ENT_INSTANCE_PROFILE].
 *
 * A profile and its role are linked both ways (iam_entity_t.links), as a
 * group and its members are: the profile lists its role, the role lists its
 * profiles, and DeleteRole and DeleteInstanceProfile both refuse while the
 * link exists ("Cannot delete entity, must remove roles from instance
 * profile first."). A profile holds at most one role, a quota AWS does not
 * raise (API_AddRoleToInstanceProfile.html).
 */
#include "internal.h"

#include <string.h>

#include "core/banned.h"

/* "Roles in an instance profile: 1 (cannot be increased)", quota
 * InstanceSessionsPerInstanceProfile in AWS's LimitExceeded text. */
#define IAM_MAX_PROFILE_ROLES 1

/* ==== resource internals ==== */

/* The profile and the role of Add/RemoveRoleFromInstanceProfile, both
 * validated in one ValidationError as IAM reports them. */
static bool profile_and_role(svc_call_t *c, iam_entity_t **p, iam_entity_t **r)
{
    iam_vcheck_t v;
    iam__v_init(&v, c);
    const char *pname = svc_in_str(c, "InstanceProfileName"), *rname = svc_in_str(c, "RoleName");
    iam__v_name(&v, "instanceProfileName", pname, 128);
    iam__v_name(&v, "roleName", rname, 64);
    if (!iam__v_done(&v))
        return false;
    *p = iam__ent_get_or_fail(c, IAM_ENT_INSTANCE_PROFILE, pname);
    *r = *p ? iam__ent_get_or_fail(c, IAM_ENT_ROLE, rname) : NULL;
    return *p && *r;
}

static bool holds(const iam_entity_t *profile, const iam_entity_t *role)
{
    for (size_t i = 0; i < profile->nlinks; i++)
        if (profile->links[i] == role)
            return true;
    return false;
}

static json_t *profile_item(svc_call_t *c, const void *items, size_t i)
{
    iam_entity_t *const *profiles = items;
    return iam__entity_json(profiles[i], c->arena, false);
}

/* ==== operation handlers ==== */

int iam_get_instance_profile(svc_call_t *c)
{
    iam_entity_t *p = iam__ent_input_or_fail(c, IAM_ENT_INSTANCE_PROFILE);
    if (p)
        json_object_set_new(svc_output(c), "InstanceProfile", iam__entity_json(p, c->arena, true));
    return 0;
}

int iam_add_role_to_instance_profile(svc_call_t *c)
{
    iam_entity_t *p, *r;
    if (!profile_and_role(c, &p, &r))
        return 0;
    /* The quota is checked before membership: a profile that already holds
     * this very role is as full as one that holds another. */
    if (p->nlinks >= IAM_MAX_PROFILE_ROLES) {
        svc_error(c, "LimitExceededException", 0, "Cannot exceed quota for InstanceSessionsPerInstanceProfile: %d",
                  IAM_MAX_PROFILE_ROLES);
        return 0;
    }
    if (iam__db_profile_role_put(c->state, p, r) != 0)
        return iam__store_failed(c);
    iam__group_link(p, r);
    return 0;
}

int iam_remove_role_from_instance_profile(svc_call_t *c)
{
    iam_entity_t *p, *r;
    if (!profile_and_role(c, &p, &r))
        return 0;
    if (!holds(p, r)) {
        svc_error(c, "NoSuchEntityException", 0, "The role with name %s cannot be found.", r->name);
        return 0;
    }
    if (iam__db_profile_role_delete(c->state, p, r) != 0)
        return iam__store_failed(c);
    iam__group_unlink(p, r);
    return 0;
}

int iam_list_instance_profiles_for_role(svc_call_t *c)
{
    iam_entity_t *r = iam__ent_input_or_fail(c, IAM_ENT_ROLE);
    return r ? iam__list_page(c, "InstanceProfiles", r->nlinks, profile_item, r->links) : 0;
}
