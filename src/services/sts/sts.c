/*
 * STS: who am I, and (with the IAM issue) role sessions.
 *
 * GetCallerIdentity needs no permission: AWS answers it even when a policy
 * denies sts:GetCallerIdentity, so its row is SVC_OP_NO_AUTHZ
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
 */
#include "services/service.h"

/* ==== operation handlers ==== */

static int sts_get_caller_identity(svc_call_t *c)
{
    json_t *out = svc_output(c);
    json_object_set_new(out, "UserId", json_string(c->cred->user_id ? c->cred->user_id : c->cred->account_id));
    json_object_set_new(out, "Account", json_string(c->cred->account_id));
    json_object_set_new(out, "Arn", json_string(c->cred->principal_arn));
    return 0;
}

static const svc_op_t sts_ops[] = {
    {"GetCallerIdentity", sts_get_caller_identity, "sts:GetCallerIdentity", NULL, SVC_OP_NO_AUTHZ},
};

const svc_def_t sts_service = {
    .name = "sts",
    .ops = sts_ops,
    .nops = KUMO_ARRAY_LEN(sts_ops),
};
