/*
 * Output trees for IAM's data types (Role, User, Group, Policy,
 * PolicyVersion), following the botocore shapes. IAM returns policy
 * documents URL-encoded (RFC 3986) inside its XML, and SDKs decode them
 * (botocore's json_decode_policies), so documents go out encoded.
 * Timestamps are epoch seconds; the query encoder prints ISO 8601.
 */
#include "internal.h"

#include "core/banned.h"

static json_t *when(int64_t ms) { return json_integer(ms / 1000); }

/* What every Role, User and Group shows. */
static json_t *entity_base_json(const iam_entity_t *e)
{
    const iam_kind_info_t *ki = &iam__kinds[e->kind];
    json_t *o = json_object();
    json_object_set_new(o, "Path", json_string(e->path));
    json_object_set_new(o, ki->param, json_string(e->name));
    json_object_set_new(o, ki->id_member, json_string(e->id));
    json_object_set_new(o, "Arn", json_string(e->arn));
    json_object_set_new(o, "CreateDate", when(e->created_ms));
    return o;
}

static void put_role_members(json_t *o, const iam_entity_t *e, arena_t *a, bool full)
{
    if (e->trust)
        json_object_set_new(o, "AssumeRolePolicyDocument", json_string(iam__urlencode(a, iam_policy_text(e->trust))));
    if (e->description)
        json_object_set_new(o, "Description", json_string(e->description));
    json_object_set_new(o, "MaxSessionDuration", json_integer(e->max_session));
    if (full)
        json_object_set_new(o, "RoleLastUsed", json_object());
}

static void put_boundary_and_tags(json_t *o, const iam_entity_t *e)
{
    if (e->boundary)
        json_object_set_new(o, "PermissionsBoundary",
                            json_pack("{s:s,s:s}", "PermissionsBoundaryType", "PermissionsBoundaryPolicy",
                                      "PermissionsBoundaryArn", e->boundary->arn));
    if (e->tags.n)
        json_object_set_new(o, "Tags", iam__tags_json(&e->tags));
}

/* An instance profile always shows its roles, in brief, List included
 * (API_InstanceProfile.html: Roles is required). */
static void put_profile_roles(json_t *o, const iam_entity_t *e, arena_t *a)
{
    json_t *roles = json_array();
    for (size_t i = 0; i < e->nlinks; i++)
        json_array_append_new(roles, iam__entity_json(e->links[i], a, false));
    json_object_set_new(o, "Roles", roles);
}

json_t *iam__entity_json(const iam_entity_t *e, arena_t *a, bool full)
{
    json_t *o = entity_base_json(e);
    if (e->kind == IAM_ENT_ROLE)
        put_role_members(o, e, a, full);
    if (e->kind == IAM_ENT_INSTANCE_PROFILE)
        put_profile_roles(o, e, a);
    /* The List operations leave out PermissionsBoundary, Tags and
     * RoleLastUsed (API_ListRoles.html: "use GetRole to view them"). Groups
     * have none of them. */
    if (full)
        put_boundary_and_tags(o, e);
    return o;
}

json_t *iam__policy_json(const iam_mpolicy_t *p, bool with_tags)
{
    json_t *o = json_object();
    json_object_set_new(o, "PolicyName", json_string(p->name));
    json_object_set_new(o, "PolicyId", json_string(p->id));
    json_object_set_new(o, "Arn", json_string(p->arn));
    json_object_set_new(o, "Path", json_string(p->path));
    if (p->nversions)
        json_object_set_new(o, "DefaultVersionId", json_string(p->versions[p->default_idx].id));
    json_object_set_new(o, "AttachmentCount", json_integer(p->attachments));
    json_object_set_new(o, "PermissionsBoundaryUsageCount", json_integer(p->boundary_uses));
    json_object_set_new(o, "IsAttachable", json_true());
    if (with_tags && p->description)
        json_object_set_new(o, "Description", json_string(p->description));
    json_object_set_new(o, "CreateDate", when(p->created_ms));
    json_object_set_new(o, "UpdateDate", when(p->updated_ms));
    if (with_tags && p->tags.n)
        json_object_set_new(o, "Tags", iam__tags_json(&p->tags));
    return o;
}

json_t *iam__version_json(const iam_mpolicy_t *p, const iam_pversion_t *v, arena_t *a, bool with_doc)
{
    json_t *o = json_object();
    if (with_doc)
        json_object_set_new(o, "Document", json_string(iam__urlencode(a, iam_policy_text(iam__version_policy(p, v)))));
    json_object_set_new(o, "VersionId", json_string(v->id));
    json_object_set_new(o, "IsDefaultVersion", json_boolean(v == &p->versions[p->default_idx]));
    json_object_set_new(o, "CreateDate", when(v->created_ms));
    return o;
}
