/*
 * The IAM service: operation table, resource ARNs for authorization, and
 * the service's life cycle (create / free / reset).
 *
 * Every row names the IAM action it is authorized as and builds the ARN of
 * the entity it acts on, so identity policies apply to IAM itself the way
 * they do on AWS (e.g. iam:CreateRole on arn:aws:iam::ACCOUNT:role/path/name;
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html).
 * The ARN builders run before the handler and never fail: a role that does
 * not exist yet is named with the path from the input (or "/"), and the
 * handler reports NoSuchEntity after authorization, as AWS does.
 *
 * At create() the service loads its tables, registers every user access key
 * and live STS session in ctx->creds, and installs ctx->identity_for, which
 * the server calls to learn each caller's policies.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource ARNs ==== */

static int entity_arn(svc_call_t *c, iam_ent_kind_t kind, const char **arn)
{
    iam_state_t *st = c->state;
    const char *name = svc_in_str(c, iam__kinds[kind].param);
    if (!name) {
        *arn = "*";
        return 0;
    }
    iam_entity_t *e = iam__ent_lookup(st, kind, name);
    const char *path = e ? e->path : svc_in_str(c, "Path") ? svc_in_str(c, "Path") : "/";
    *arn = arena_sprintf(c->arena, "arn:aws:iam::%s:%s%s%s", st->account, iam__kinds[kind].arn_type, path,
                         e ? e->name : name);
    return 0;
}

static int arn_role(svc_call_t *c, const char **arn) { return entity_arn(c, IAM_ENT_ROLE, arn); }
static int arn_group(svc_call_t *c, const char **arn) { return entity_arn(c, IAM_ENT_GROUP, arn); }
static int arn_profile(svc_call_t *c, const char **arn) { return entity_arn(c, IAM_ENT_INSTANCE_PROFILE, arn); }

/* Users: operations without UserName act on the caller. */
static int arn_user(svc_call_t *c, const char **arn)
{
    if (!svc_in_str(c, "UserName") && c->cred && c->cred->principal_arn) {
        *arn = c->cred->principal_arn;
        return 0;
    }
    return entity_arn(c, IAM_ENT_USER, arn);
}

static int arn_policy(svc_call_t *c, const char **arn)
{
    const char *p = svc_in_str(c, "PolicyArn");
    *arn = p ? p : "*";
    return 0;
}

static int arn_new_policy(svc_call_t *c, const char **arn)
{
    iam_state_t *st = c->state;
    const char *path = svc_in_str(c, "Path") ? svc_in_str(c, "Path") : "/";
    const char *name = svc_in_str(c, "PolicyName");
    *arn = arena_sprintf(c->arena, "arn:aws:iam::%s:policy%s%s", st->account, path, name ? name : "");
    return 0;
}

/* List operations are authorized on the path they list: IAM's messages say
 * "on resource: arn:aws:iam::ACCOUNT:role/" for ListRoles and "on resource:
 * policy path /" for ListPolicies. */
static int list_arn(svc_call_t *c, iam_ent_kind_t kind, const char **arn)
{
    iam_state_t *st = c->state;
    const char *prefix = svc_in_str(c, "PathPrefix");
    *arn = arena_sprintf(c->arena, "arn:aws:iam::%s:%s%s", st->account, iam__kinds[kind].arn_type,
                         prefix ? prefix : "/");
    return 0;
}

static int arn_list_roles(svc_call_t *c, const char **arn) { return list_arn(c, IAM_ENT_ROLE, arn); }
static int arn_list_users(svc_call_t *c, const char **arn) { return list_arn(c, IAM_ENT_USER, arn); }
static int arn_list_groups(svc_call_t *c, const char **arn) { return list_arn(c, IAM_ENT_GROUP, arn); }
static int arn_list_profiles(svc_call_t *c, const char **arn) { return list_arn(c, IAM_ENT_INSTANCE_PROFILE, arn); }

static int arn_list_policies(svc_call_t *c, const char **arn)
{
    const char *prefix = svc_in_str(c, "PathPrefix");
    *arn = arena_sprintf(c->arena, "policy path %s", prefix ? prefix : "/");
    return 0;
}

static int arn_sim_source(svc_call_t *c, const char **arn)
{
    const char *p = svc_in_str(c, "PolicySourceArn");
    *arn = p ? p : "*";
    return 0;
}

static int arn_key_owner(svc_call_t *c, const char **arn)
{
    iam_state_t *st = c->state;
    const char *akid = svc_in_str(c, "AccessKeyId");
    *arn = "*";
    for (size_t i = 0; akid && i < st->ents[IAM_ENT_USER].n; i++) {
        iam_entity_t *u = st->ents[IAM_ENT_USER].v[i];
        for (size_t j = 0; j < u->nkeys; j++)
            if (strcmp(u->keys[j].akid, akid) == 0)
                *arn = u->arn;
    }
    return 0;
}

/* ==== bindings of the shared entity operations ==== */

#define KIND_OP(fn, impl, kind) \
    static int fn(svc_call_t *c) { return impl(c, kind); }

KIND_OP(iam_create_role, iam__entity_create, IAM_ENT_ROLE)
KIND_OP(iam_list_roles, iam__entity_list, IAM_ENT_ROLE)
KIND_OP(iam_delete_role, iam__entity_delete, IAM_ENT_ROLE)
KIND_OP(iam_put_role_policy, iam__put_inline, IAM_ENT_ROLE)
KIND_OP(iam_get_role_policy, iam__get_inline, IAM_ENT_ROLE)
KIND_OP(iam_delete_role_policy, iam__delete_inline, IAM_ENT_ROLE)
KIND_OP(iam_list_role_policies, iam__list_inline, IAM_ENT_ROLE)
KIND_OP(iam_attach_role_policy, iam__attach, IAM_ENT_ROLE)
KIND_OP(iam_detach_role_policy, iam__detach, IAM_ENT_ROLE)
KIND_OP(iam_list_attached_role_policies, iam__list_attached, IAM_ENT_ROLE)
KIND_OP(iam_put_role_permissions_boundary, iam__put_boundary, IAM_ENT_ROLE)
KIND_OP(iam_delete_role_permissions_boundary, iam__delete_boundary, IAM_ENT_ROLE)
KIND_OP(iam_tag_role, iam__tag, IAM_ENT_ROLE)
KIND_OP(iam_untag_role, iam__untag, IAM_ENT_ROLE)
KIND_OP(iam_list_role_tags, iam__list_tags, IAM_ENT_ROLE)

KIND_OP(iam_create_user, iam__entity_create, IAM_ENT_USER)
KIND_OP(iam_list_users, iam__entity_list, IAM_ENT_USER)
KIND_OP(iam_delete_user, iam__entity_delete, IAM_ENT_USER)
KIND_OP(iam_put_user_policy, iam__put_inline, IAM_ENT_USER)
KIND_OP(iam_get_user_policy, iam__get_inline, IAM_ENT_USER)
KIND_OP(iam_delete_user_policy, iam__delete_inline, IAM_ENT_USER)
KIND_OP(iam_list_user_policies, iam__list_inline, IAM_ENT_USER)
KIND_OP(iam_attach_user_policy, iam__attach, IAM_ENT_USER)
KIND_OP(iam_detach_user_policy, iam__detach, IAM_ENT_USER)
KIND_OP(iam_list_attached_user_policies, iam__list_attached, IAM_ENT_USER)
KIND_OP(iam_put_user_permissions_boundary, iam__put_boundary, IAM_ENT_USER)
KIND_OP(iam_delete_user_permissions_boundary, iam__delete_boundary, IAM_ENT_USER)
KIND_OP(iam_tag_user, iam__tag, IAM_ENT_USER)
KIND_OP(iam_untag_user, iam__untag, IAM_ENT_USER)
KIND_OP(iam_list_user_tags, iam__list_tags, IAM_ENT_USER)

KIND_OP(iam_create_group, iam__entity_create, IAM_ENT_GROUP)
KIND_OP(iam_list_groups, iam__entity_list, IAM_ENT_GROUP)
KIND_OP(iam_delete_group, iam__entity_delete, IAM_ENT_GROUP)
KIND_OP(iam_put_group_policy, iam__put_inline, IAM_ENT_GROUP)
KIND_OP(iam_get_group_policy, iam__get_inline, IAM_ENT_GROUP)
KIND_OP(iam_delete_group_policy, iam__delete_inline, IAM_ENT_GROUP)
KIND_OP(iam_list_group_policies, iam__list_inline, IAM_ENT_GROUP)
KIND_OP(iam_attach_group_policy, iam__attach, IAM_ENT_GROUP)
KIND_OP(iam_detach_group_policy, iam__detach, IAM_ENT_GROUP)
KIND_OP(iam_list_attached_group_policies, iam__list_attached, IAM_ENT_GROUP)

KIND_OP(iam_create_instance_profile, iam__entity_create, IAM_ENT_INSTANCE_PROFILE)
KIND_OP(iam_list_instance_profiles, iam__entity_list, IAM_ENT_INSTANCE_PROFILE)
KIND_OP(iam_delete_instance_profile, iam__entity_delete, IAM_ENT_INSTANCE_PROFILE)
KIND_OP(iam_tag_instance_profile, iam__tag, IAM_ENT_INSTANCE_PROFILE)
KIND_OP(iam_untag_instance_profile, iam__untag, IAM_ENT_INSTANCE_PROFILE)
KIND_OP(iam_list_instance_profile_tags, iam__list_tags, IAM_ENT_INSTANCE_PROFILE)

/* ==== the operation table ==== */

#define M SVC_OP_MUTATING

static const svc_op_t iam_ops[] = {
    /* roles */
    {"CreateRole", iam_create_role, "iam:CreateRole", arn_role, M},
    {"GetRole", iam_get_role, "iam:GetRole", arn_role, 0},
    {"ListRoles", iam_list_roles, "iam:ListRoles", arn_list_roles, 0},
    {"DeleteRole", iam_delete_role, "iam:DeleteRole", arn_role, M},
    {"UpdateRole", iam_update_role, "iam:UpdateRole", arn_role, M},
    {"UpdateRoleDescription", iam_update_role_description, "iam:UpdateRoleDescription", arn_role, M},
    {"UpdateAssumeRolePolicy", iam_update_assume_role_policy, "iam:UpdateAssumeRolePolicy", arn_role, M},
    {"PutRolePolicy", iam_put_role_policy, "iam:PutRolePolicy", arn_role, M},
    {"GetRolePolicy", iam_get_role_policy, "iam:GetRolePolicy", arn_role, 0},
    {"DeleteRolePolicy", iam_delete_role_policy, "iam:DeleteRolePolicy", arn_role, M},
    {"ListRolePolicies", iam_list_role_policies, "iam:ListRolePolicies", arn_role, 0},
    {"AttachRolePolicy", iam_attach_role_policy, "iam:AttachRolePolicy", arn_role, M},
    {"DetachRolePolicy", iam_detach_role_policy, "iam:DetachRolePolicy", arn_role, M},
    {"ListAttachedRolePolicies", iam_list_attached_role_policies, "iam:ListAttachedRolePolicies", arn_role, 0},
    {"PutRolePermissionsBoundary", iam_put_role_permissions_boundary, "iam:PutRolePermissionsBoundary", arn_role, M},
    {"DeleteRolePermissionsBoundary", iam_delete_role_permissions_boundary, "iam:DeleteRolePermissionsBoundary",
     arn_role, M},
    {"TagRole", iam_tag_role, "iam:TagRole", arn_role, M},
    {"UntagRole", iam_untag_role, "iam:UntagRole", arn_role, M},
    {"ListRoleTags", iam_list_role_tags, "iam:ListRoleTags", arn_role, 0},
    /* users and access keys */
    {"CreateUser", iam_create_user, "iam:CreateUser", arn_user, M},
    {"GetUser", iam_get_user, "iam:GetUser", arn_user, 0},
    {"ListUsers", iam_list_users, "iam:ListUsers", arn_list_users, 0},
    {"DeleteUser", iam_delete_user, "iam:DeleteUser", arn_user, M},
    {"PutUserPolicy", iam_put_user_policy, "iam:PutUserPolicy", arn_user, M},
    {"GetUserPolicy", iam_get_user_policy, "iam:GetUserPolicy", arn_user, 0},
    {"DeleteUserPolicy", iam_delete_user_policy, "iam:DeleteUserPolicy", arn_user, M},
    {"ListUserPolicies", iam_list_user_policies, "iam:ListUserPolicies", arn_user, 0},
    {"AttachUserPolicy", iam_attach_user_policy, "iam:AttachUserPolicy", arn_user, M},
    {"DetachUserPolicy", iam_detach_user_policy, "iam:DetachUserPolicy", arn_user, M},
    {"ListAttachedUserPolicies", iam_list_attached_user_policies, "iam:ListAttachedUserPolicies", arn_user, 0},
    {"PutUserPermissionsBoundary", iam_put_user_permissions_boundary, "iam:PutUserPermissionsBoundary", arn_user, M},
    {"DeleteUserPermissionsBoundary", iam_delete_user_permissions_boundary, "iam:DeleteUserPermissionsBoundary",
     arn_user, M},
    {"TagUser", iam_tag_user, "iam:TagUser", arn_user, M},
    {"UntagUser", iam_untag_user, "iam:UntagUser", arn_user, M},
    {"ListUserTags", iam_list_user_tags, "iam:ListUserTags", arn_user, 0},
    {"ListGroupsForUser", iam_list_groups_for_user, "iam:ListGroupsForUser", arn_user, 0},
    {"CreateAccessKey", iam_create_access_key, "iam:CreateAccessKey", arn_user, M},
    {"ListAccessKeys", iam_list_access_keys, "iam:ListAccessKeys", arn_user, 0},
    {"UpdateAccessKey", iam_update_access_key, "iam:UpdateAccessKey", arn_user, M},
    {"DeleteAccessKey", iam_delete_access_key, "iam:DeleteAccessKey", arn_user, M},
    {"GetAccessKeyLastUsed", iam_get_access_key_last_used, "iam:GetAccessKeyLastUsed", arn_key_owner, 0},
    /* groups */
    {"CreateGroup", iam_create_group, "iam:CreateGroup", arn_group, M},
    {"GetGroup", iam_get_group, "iam:GetGroup", arn_group, 0},
    {"ListGroups", iam_list_groups, "iam:ListGroups", arn_list_groups, 0},
    {"DeleteGroup", iam_delete_group, "iam:DeleteGroup", arn_group, M},
    {"AddUserToGroup", iam_add_user_to_group, "iam:AddUserToGroup", arn_group, M},
    {"RemoveUserFromGroup", iam_remove_user_from_group, "iam:RemoveUserFromGroup", arn_group, M},
    {"PutGroupPolicy", iam_put_group_policy, "iam:PutGroupPolicy", arn_group, M},
    {"GetGroupPolicy", iam_get_group_policy, "iam:GetGroupPolicy", arn_group, 0},
    {"DeleteGroupPolicy", iam_delete_group_policy, "iam:DeleteGroupPolicy", arn_group, M},
    {"ListGroupPolicies", iam_list_group_policies, "iam:ListGroupPolicies", arn_group, 0},
    {"AttachGroupPolicy", iam_attach_group_policy, "iam:AttachGroupPolicy", arn_group, M},
    {"DetachGroupPolicy", iam_detach_group_policy, "iam:DetachGroupPolicy", arn_group, M},
    {"ListAttachedGroupPolicies", iam_list_attached_group_policies, "iam:ListAttachedGroupPolicies", arn_group, 0},
    /* instance profiles */
    {"CreateInstanceProfile", iam_create_instance_profile, "iam:CreateInstanceProfile", arn_profile, M},
    {"GetInstanceProfile", iam_get_instance_profile, "iam:GetInstanceProfile", arn_profile, 0},
    {"ListInstanceProfiles", iam_list_instance_profiles, "iam:ListInstanceProfiles", arn_list_profiles, 0},
    {"DeleteInstanceProfile", iam_delete_instance_profile, "iam:DeleteInstanceProfile", arn_profile, M},
    {"AddRoleToInstanceProfile", iam_add_role_to_instance_profile, "iam:AddRoleToInstanceProfile", arn_profile, M},
    {"RemoveRoleFromInstanceProfile", iam_remove_role_from_instance_profile, "iam:RemoveRoleFromInstanceProfile",
     arn_profile, M},
    {"ListInstanceProfilesForRole", iam_list_instance_profiles_for_role, "iam:ListInstanceProfilesForRole", arn_role,
     0},
    {"TagInstanceProfile", iam_tag_instance_profile, "iam:TagInstanceProfile", arn_profile, M},
    {"UntagInstanceProfile", iam_untag_instance_profile, "iam:UntagInstanceProfile", arn_profile, M},
    {"ListInstanceProfileTags", iam_list_instance_profile_tags, "iam:ListInstanceProfileTags", arn_profile, 0},
    /* managed policies */
    {"CreatePolicy", iam_create_policy, "iam:CreatePolicy", arn_new_policy, M},
    {"GetPolicy", iam_get_policy, "iam:GetPolicy", arn_policy, 0},
    {"DeletePolicy", iam_delete_policy, "iam:DeletePolicy", arn_policy, M},
    {"ListPolicies", iam_list_policies, "iam:ListPolicies", arn_list_policies, 0},
    {"CreatePolicyVersion", iam_create_policy_version, "iam:CreatePolicyVersion", arn_policy, M},
    {"GetPolicyVersion", iam_get_policy_version, "iam:GetPolicyVersion", arn_policy, 0},
    {"DeletePolicyVersion", iam_delete_policy_version, "iam:DeletePolicyVersion", arn_policy, M},
    {"SetDefaultPolicyVersion", iam_set_default_policy_version, "iam:SetDefaultPolicyVersion", arn_policy, M},
    {"ListPolicyVersions", iam_list_policy_versions, "iam:ListPolicyVersions", arn_policy, 0},
    {"ListEntitiesForPolicy", iam_list_entities_for_policy, "iam:ListEntitiesForPolicy", arn_policy, 0},
    {"TagPolicy", iam_tag_policy, "iam:TagPolicy", arn_policy, M},
    {"UntagPolicy", iam_untag_policy, "iam:UntagPolicy", arn_policy, M},
    {"ListPolicyTags", iam_list_policy_tags, "iam:ListPolicyTags", arn_policy, 0},
    /* the simulator */
    {"SimulatePrincipalPolicy", iam_simulate_principal_policy, "iam:SimulatePrincipalPolicy", arn_sim_source, 0},
    {"SimulateCustomPolicy", iam_simulate_custom_policy, "iam:SimulateCustomPolicy", NULL, 0},
};

#undef M

/* ==== life cycle ==== */

static void free_all(iam_state_t *st)
{
    for (int k = 0; k < IAM_ENT_NKINDS; k++) {
        for (size_t i = 0; i < st->ents[k].n; i++)
            iam__entity_free(st->ents[k].v[i]);
        free(st->ents[k].v);
        st->ents[k] = (iam_vec_t){0};
    }
    for (size_t i = 0; i < st->policies.n; i++)
        iam__mpolicy_free(st->policies.v[i]);
    free(st->policies.v);
    st->policies = (iam_vec_t){0};
    for (size_t i = 0; i < st->sessions.n; i++)
        iam__session_free(st->sessions.v[i]);
    free(st->sessions.v);
    st->sessions = (iam_vec_t){0};
}

static void register_credentials(iam_state_t *st)
{
    iam_vec_t *users = &st->ents[IAM_ENT_USER];
    for (size_t i = 0; i < users->n; i++) {
        iam_entity_t *u = users->v[i];
        for (size_t j = 0; j < u->nkeys; j++)
            iam__akey_register(st, u, &u->keys[j]);
    }
    for (size_t i = 0; i < st->sessions.n; i++)
        iam__session_register(st, st->sessions.v[i]);
}

static int load_all(iam_state_t *st, char *err, size_t errcap)
{
    /* AWS managed policies first: stored attachments refer to them. */
    iam__policies_add_aws(st);
    return iam__db_load(st, err, errcap);
}

static void *iam_svc_create(kyoka_ctx_t *ctx, char *err, size_t errcap)
{
    iam_state_t *st = xcalloc(1, sizeof *st);
    st->ctx = ctx;
    st->store = ctx->store;
    st->account = ctx->account_id;
    if (iam__db_migrate(st, err, errcap) != 0 || load_all(st, err, errcap) != 0) {
        free_all(st);
        free(st);
        return NULL;
    }
    register_credentials(st);
    ctx->iam_state = st;
    ctx->identity_for = iam__identity_for;
    return st;
}

static void iam_svc_free(void *state)
{
    iam_state_t *st = state;
    if (!st)
        return;
    if (st->ctx->iam_state == st) {
        st->ctx->iam_state = NULL;
        st->ctx->identity_for = NULL;
    }
    free_all(st);
    free(st);
}

static void iam_svc_reset(void *state)
{
    iam_state_t *st = state;
    /* Credentials of users and sessions are removed by the server
     * (auth_store_remove_non_root) right after the services reset. */
    iam__db_wipe(st);
    free_all(st);
    iam__policies_add_aws(st);
}

const svc_def_t iam_service = {
    .name = "iam",
    .ops = iam_ops,
    .nops = KYOKA_ARRAY_LEN(iam_ops),
    .create = iam_svc_create,
    .free = iam_svc_free,
    .reset = iam_svc_reset,
};
