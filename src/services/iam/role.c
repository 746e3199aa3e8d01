/*
 * IAM roles: what only roles have. GetRole, UpdateRole,
 * UpdateRoleDescription, UpdateAssumeRolePolicy, and CreateRole's own
 * members (trust policy, description, maximum session duration), which
 * entity.c's shared Create calls through iam__kinds. Create, List, Delete,
 * inline and attached policies, boundaries and tags are in entity.c.
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

/* Description and MaxSessionDuration (one to twelve hours,
 * API_CreateRole.html), as CreateRole and UpdateRole check them. */
static void v_role_members(iam_vcheck_t *v, const char *desc, json_t *msd)
{
    iam__v_len(v, "description", desc, 0, 1000);
    iam__v_range(v, "maxSessionDuration", msd, 3600, 43200);
}

void iam__role_create_check(svc_call_t *c, iam_vcheck_t *v)
{
    v_role_members(v, svc_in_str(c, "Description"), svc_in(c, "MaxSessionDuration"));
}

bool iam__role_create_fill(svc_call_t *c, iam_entity_t *e)
{
    e->trust = iam__parse_or_fail(c, svc_in_str(c, "AssumeRolePolicyDocument"), IAM_POLICY_TRUST,
                                  KYOKA_IAM_MAX_TRUST_POLICY_BYTES, NULL);
    const char *desc = svc_in_str(c, "Description");
    json_t *msd = svc_in(c, "MaxSessionDuration");
    e->description = desc ? xstrdup(desc) : NULL;
    e->max_session = json_is_integer(msd) ? (int)json_integer_value(msd) : 3600;
    return e->trust != NULL;
}

/* ==== operation handlers ==== */

int iam_get_role(svc_call_t *c)
{
    iam_entity_t *e = iam__ent_input_or_fail(c, IAM_ENT_ROLE);
    if (e)
        json_object_set_new(svc_output(c), "Role", iam__entity_json(e, c->arena, true));
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
    v_role_members(&v, desc, msd);
    if (!iam__v_done(&v))
        return NULL;
    iam_entity_t *e = iam__ent_input_or_fail(c, IAM_ENT_ROLE);
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
        json_object_set_new(svc_output(c), "Role", iam__entity_json(e, c->arena, true));
    return 0;
}

int iam_update_assume_role_policy(svc_call_t *c)
{
    iam_entity_t *e = iam__ent_input_or_fail(c, IAM_ENT_ROLE);
    if (!e)
        return 0;
    iam_policy_t *trust = iam__parse_or_fail(c, svc_in_str(c, "PolicyDocument"), IAM_POLICY_TRUST,
                                             KYOKA_IAM_MAX_TRUST_POLICY_BYTES, NULL);
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
