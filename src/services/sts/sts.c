/*
 * STS: who am I, role sessions and session tokens.
 *
 * GetCallerIdentity needs no permission: AWS answers it even when a policy
 * denies sts:GetCallerIdentity, so its row is SVC_OP_NO_AUTHZ
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
 * Neither does GetSessionToken ("No permissions are required for users to
 * perform this operation", API_GetSessionToken.html).
 *
 * AssumeRole is authorized here, not by the server's generic check, because
 * two policies decide it together
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * the role's trust policy, evaluated as the resource-based policy of the
 * role, and the caller's identity side (its policies, boundary and session
 * policies). iam_evaluate combines them as AWS does: a trust policy that
 * names the caller's user or session ARN grants on its own within the
 * account; one that names the account (root) only delegates, so the caller's
 * identity policies must allow sts:AssumeRole on the role too; an explicit
 * deny on either side wins. Session tags and SourceIdentity need
 * sts:TagSession and sts:SetSourceIdentity the same way.
 *
 * The sessions themselves (credentials, persistence, the credential store)
 * belong to the IAM service (services/iam/iam_svc.h).
 */
#include "services/iam/iam_svc.h"
#include "services/service.h"

#include <ctype.h>
#include <string.h>

#include "core/banned.h"

#define STS_DEFAULT_ROLE_SESSION_S 3600
#define STS_MIN_DURATION_S 900
#define STS_MAX_ROLE_DURATION_S 43200
/* Role chaining (a role session assuming a role) is capped at one hour
 * (id_roles_terms-and-concepts.html#iam-term-role-chaining). */
#define STS_CHAINED_MAX_S 3600
/* GetSessionToken: 12 hours by default, up to 36; an account root's
 * sessions last at most one hour. */
#define STS_SESSION_TOKEN_DEFAULT_S 43200
#define STS_SESSION_TOKEN_MAX_S 129600
#define STS_ROOT_SESSION_MAX_S 3600
#define STS_MAX_SESSION_TAGS 50

/* ==== validation in AWS's words ==== */

typedef struct vcheck {
    int n;
    char msg[2048];
    size_t len;
} vcheck_t;

static void v_fail(vcheck_t *v, const char *field, const char *value, const char *constraint)
{
    if (v->len >= sizeof v->msg)
        return;
    int w = snprintf(v->msg + v->len, sizeof v->msg - v->len, "%sValue '%s' at '%s' failed to satisfy constraint: %s",
                     v->n ? "; " : "", value, field, constraint);
    v->n++;
    if (w > 0)
        v->len += (size_t)w;
}

static void v_len(vcheck_t *v, const char *field, const char *value, size_t min, size_t max)
{
    if (!value)
        return;
    char c[96];
    size_t n = strlen(value);
    if (n < min) {
        snprintf(c, sizeof c, "Member must have length greater than or equal to %zu", min);
        v_fail(v, field, value, c);
    } else if (n > max) {
        snprintf(c, sizeof c, "Member must have length less than or equal to %zu", max);
        v_fail(v, field, value, c);
    }
}

/* Value matches [\w<extra>]* (Java's \w is [A-Za-z0-9_]). */
static void v_chars(vcheck_t *v, const char *field, const char *value, const char *extra, const char *pattern)
{
    if (!value)
        return;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (!isalnum(*p) && *p != '_' && !strchr(extra, *p)) {
            char c[128];
            snprintf(c, sizeof c, "Member must satisfy regular expression pattern: %s", pattern);
            v_fail(v, field, value, c);
            return;
        }
    }
}

static void v_range(vcheck_t *v, const char *field, json_t *value, int64_t min, int64_t max)
{
    if (!json_is_integer(value))
        return;
    int64_t x = json_integer_value(value);
    char c[96], val[32];
    snprintf(val, sizeof val, "%lld", (long long)x);
    if (x < min) {
        snprintf(c, sizeof c, "Member must have value greater than or equal to %lld", (long long)min);
        v_fail(v, field, val, c);
    } else if (x > max) {
        snprintf(c, sizeof c, "Member must have value less than or equal to %lld", (long long)max);
        v_fail(v, field, val, c);
    }
}

static bool v_done(svc_call_t *c, vcheck_t *v)
{
    if (v->n)
        svc_error(c, "ValidationError", 400, "%d validation error%s detected: %s", v->n, v->n == 1 ? "" : "s", v->msg);
    return v->n == 0;
}

/* ==== resource internals ==== */

static json_t *credentials_json(const iam_svc_session_out_t *s)
{
    return json_pack("{s:s,s:s,s:s,s:I}", "AccessKeyId", s->access_key_id, "SecretAccessKey", s->secret_access_key,
                     "SessionToken", s->session_token, "Expiration", (json_int_t)(s->expires_ms / 1000));
}

typedef struct assume_ctx {
    svc_call_t *c;
    iam_principal_t principal;
    iam_policy_set_t set;
    iam_named_policy_t trust;
    iam_ctx_value_t *context; /* arena: fixed keys plus one per session tag */
    size_t ncontext, capcontext;
    const char *role_arn;
} assume_ctx_t;

/* Decide one action (sts:AssumeRole, sts:TagSession, sts:SetSourceIdentity)
 * against the trust policy and the caller's identity side; record it in the
 * decision log; on deny set AccessDenied. */
static bool authorize_assume(assume_ctx_t *a, const char *action)
{
    svc_call_t *c = a->c;
    iam_request_t req = {
        .action = action,
        .resource = a->role_arn,
        .resource_account = c->ctx->account_id,
        .principal = &a->principal,
        .context = a->context,
        .ncontext = a->ncontext,
        .source_ip = c->req ? c->req->remote_addr : NULL,
        .region = c->region,
        .now_ms = kyoka_clock_now_ms(),
    };
    iam_explain_t *ex = arena_alloc(c->arena, sizeof *ex);
    iam_decision_t d = iam_evaluate(&req, &a->set, ex);
    const char *id = iam_decision_log_add(&req, ex);
    if (id)
        c->decision_id = arena_strdup(c->arena, id);
    if (d == IAM_ALLOW)
        return true;
    svc_error(c, "AccessDenied", 403, "User: %s is not authorized to perform: %s on resource: %s",
              a->principal.arn ? a->principal.arn : "anonymous", action, a->role_arn);
    return false;
}

static void add_context(assume_ctx_t *a, const char *key, const char *const *values, size_t n)
{
    if (a->ncontext < a->capcontext)
        a->context[a->ncontext++] = (iam_ctx_value_t){key, values, n};
}

static const char *const *one_value(svc_call_t *c, const char *v)
{
    const char **p = arena_alloc(c->arena, sizeof *p);
    *p = v;
    return p;
}

/* ==== operation handlers ==== */

static int sts_get_caller_identity(svc_call_t *c)
{
    json_t *out = svc_output(c);
    json_object_set_new(out, "UserId", json_string(c->cred->user_id ? c->cred->user_id : c->cred->account_id));
    json_object_set_new(out, "Account", json_string(c->cred->account_id));
    json_object_set_new(out, "Arn", json_string(c->cred->principal_arn));
    return 0;
}

static int sts_assume_role(svc_call_t *c)
{
    const char *role_arn = svc_in_str(c, "RoleArn");
    const char *session = svc_in_str(c, "RoleSessionName");
    const char *external_id = svc_in_str(c, "ExternalId");
    const char *policy = svc_in_str(c, "Policy");
    const char *source_identity = svc_in_str(c, "SourceIdentity");
    json_t *duration = svc_in(c, "DurationSeconds");
    json_t *tags = svc_in(c, "Tags");
    json_t *policy_arns = svc_in(c, "PolicyArns");

    vcheck_t v = {0};
    v_len(&v, "roleArn", role_arn, 20, 2048);
    v_chars(&v, "roleSessionName", session, "+=,.@-", "[\\w+=,.@-]*");
    v_len(&v, "roleSessionName", session, 2, 64);
    v_range(&v, "durationSeconds", duration, STS_MIN_DURATION_S, STS_MAX_ROLE_DURATION_S);
    v_chars(&v, "externalId", external_id, "+=,.@:/-", "[\\w+=,.@:\\/-]*");
    v_len(&v, "externalId", external_id, 2, 1224);
    v_len(&v, "policy", policy, 1, 2048);
    v_chars(&v, "sourceIdentity", source_identity, "+=,.@-", "[\\w+=,.@-]*");
    v_len(&v, "sourceIdentity", source_identity, 2, 64);
    if (json_array_size(tags) > STS_MAX_SESSION_TAGS)
        v_fail(&v, "tags", "[...]", "Member must have length less than or equal to 50");
    if (!v_done(c, &v))
        return 0;

    assume_ctx_t *a = arena_calloc(c->arena, sizeof *a);
    a->c = c;
    a->role_arn = role_arn;
    size_t ntags = json_array_size(tags);
    a->capcontext = ntags + 4;
    a->context = arena_calloc(c->arena, a->capcontext * sizeof *a->context);
    /* The caller as the server described it, plus its identity side. */
    a->principal = c->principal;
    if (!a->principal.is_root && c->ctx->identity_for)
        c->ctx->identity_for(c->ctx->iam_state, c->cred, c->arena, &a->principal, &a->set);

    iam_svc_role_t role;
    bool found = iam_svc_role_lookup(c->ctx->iam_state, role_arn, &role);
    if (found && role.trust) {
        a->trust = (iam_named_policy_t){arena_sprintf(c->arena, "trust:%s", role.arn), role.trust};
        a->set.resource = &a->trust;
    }
    if (external_id)
        add_context(a, "sts:ExternalId", one_value(c, external_id), 1);
    add_context(a, "sts:RoleSessionName", one_value(c, session), 1);
    if (source_identity)
        add_context(a, "sts:SourceIdentity", one_value(c, source_identity), 1);
    const char **tag_keys = arena_alloc(c->arena, (ntags ? ntags : 1) * sizeof *tag_keys);
    const char **tag_values = arena_alloc(c->arena, (ntags ? ntags : 1) * sizeof *tag_values);
    for (size_t i = 0; i < ntags; i++) {
        json_t *t = json_array_get(tags, i);
        tag_keys[i] = json_string_value(json_object_get(t, "Key"));
        tag_values[i] = json_string_value(json_object_get(t, "Value"));
        if (!tag_keys[i] || !tag_values[i]) {
            svc_error(c, "MissingParameter", 400, "The request must contain the parameter Tags.member.%zu.Key/Value",
                      i + 1);
            return 0;
        }
        /* aws:RequestTag/<key> for each session tag (id_session-tags.html). */
        add_context(a, arena_sprintf(c->arena, "aws:RequestTag/%s", tag_keys[i]), one_value(c, tag_values[i]), 1);
    }
    if (ntags)
        add_context(a, "aws:TagKeys", tag_keys, ntags);

    /* A role that does not exist cannot be assumed: AWS answers with the
     * same AccessDenied as for a trust policy that says no. */
    if (!found || !role.trust) {
        svc_error(c, "AccessDenied", 403, "User: %s is not authorized to perform: sts:AssumeRole on resource: %s",
                  a->principal.arn ? a->principal.arn : "anonymous", role_arn);
        return 0;
    }
    if (!authorize_assume(a, "sts:AssumeRole"))
        return 0;
    if (ntags && !authorize_assume(a, "sts:TagSession"))
        return 0;
    if (source_identity && !authorize_assume(a, "sts:SetSourceIdentity"))
        return 0;

    bool chained = c->cred->type == AUTH_PRINCIPAL_ASSUMED_ROLE;
    int64_t secs = json_is_integer(duration) ? json_integer_value(duration) : STS_DEFAULT_ROLE_SESSION_S;
    if (chained && secs > STS_CHAINED_MAX_S) {
        svc_error(c, "ValidationError", 400,
                  "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
        return 0;
    }
    if (secs > role.max_session_s) {
        svc_error(c, "ValidationError", 400,
                  "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
        return 0;
    }

    size_t narns = json_array_size(policy_arns);
    const char **arns = arena_alloc(c->arena, (narns ? narns : 1) * sizeof *arns);
    for (size_t i = 0; i < narns; i++)
        arns[i] = json_string_value(json_object_get(json_array_get(policy_arns, i), "arn"));

    iam_svc_session_req_t req = {
        .kind = IAM_SVC_SESSION_ROLE,
        .role_arn = role.arn,
        .session_name = session,
        .duration_s = secs,
        .policy = policy,
        .policy_arns = arns,
        .npolicy_arns = narns,
        .tag_keys = tag_keys,
        .tag_values = tag_values,
        .ntags = ntags,
        .source_identity = source_identity,
    };
    iam_svc_session_out_t s;
    if (iam_svc_session_create(c->ctx->iam_state, c, &req, &s) != 0)
        return 0;
    json_t *out = svc_output(c);
    json_object_set_new(out, "Credentials", credentials_json(&s));
    json_object_set_new(out, "AssumedRoleUser",
                        json_pack("{s:s,s:s}", "AssumedRoleId", s.user_id, "Arn", s.arn));
    if (s.packed_policy_percent)
        json_object_set_new(out, "PackedPolicySize", json_integer(s.packed_policy_percent));
    if (source_identity)
        json_object_set_new(out, "SourceIdentity", json_string(source_identity));
    return 0;
}

static int sts_get_session_token(svc_call_t *c)
{
    json_t *duration = svc_in(c, "DurationSeconds");
    vcheck_t v = {0};
    v_range(&v, "durationSeconds", duration, STS_MIN_DURATION_S, STS_SESSION_TOKEN_MAX_S);
    if (!v_done(c, &v))
        return 0;
    const auth_cred_t *cred = c->cred;
    /* Only long-term credentials may ask (API_GetSessionToken.html). */
    if (cred->session_token || (cred->type != AUTH_PRINCIPAL_USER && cred->type != AUTH_PRINCIPAL_ROOT)) {
        svc_error(c, "AccessDenied", 403, "Cannot call GetSessionToken with session credentials");
        return 0;
    }
    int64_t secs = json_is_integer(duration) ? json_integer_value(duration) : STS_SESSION_TOKEN_DEFAULT_S;
    iam_svc_session_req_t req = {.duration_s = secs};
    if (cred->type == AUTH_PRINCIPAL_ROOT) {
        req.kind = IAM_SVC_SESSION_ROOT;
        if (req.duration_s > STS_ROOT_SESSION_MAX_S)
            req.duration_s = STS_ROOT_SESSION_MAX_S;
    } else {
        const char *slash = cred->principal_arn ? strrchr(cred->principal_arn, '/') : NULL;
        req.kind = IAM_SVC_SESSION_USER;
        req.user_name = slash ? slash + 1 : NULL;
    }
    iam_svc_session_out_t s;
    if (iam_svc_session_create(c->ctx->iam_state, c, &req, &s) != 0)
        return 0;
    json_object_set_new(svc_output(c), "Credentials", credentials_json(&s));
    return 0;
}

static int sts_get_access_key_info(svc_call_t *c)
{
    /* kyoka serves one account: every key id belongs to it. */
    vcheck_t v = {0};
    const char *akid = svc_in_str(c, "AccessKeyId");
    v_chars(&v, "accessKeyId", akid, "", "[\\w]*");
    v_len(&v, "accessKeyId", akid, 16, 128);
    if (!v_done(c, &v))
        return 0;
    json_object_set_new(svc_output(c), "Account", json_string(c->ctx->account_id));
    return 0;
}

static const svc_op_t sts_ops[] = {
    {"GetCallerIdentity", sts_get_caller_identity, "sts:GetCallerIdentity", NULL, SVC_OP_NO_AUTHZ},
    {"AssumeRole", sts_assume_role, "sts:AssumeRole", NULL, SVC_OP_NO_AUTHZ | SVC_OP_MUTATING},
    {"GetSessionToken", sts_get_session_token, "sts:GetSessionToken", NULL, SVC_OP_NO_AUTHZ | SVC_OP_MUTATING},
    {"GetAccessKeyInfo", sts_get_access_key_info, "sts:GetAccessKeyInfo", NULL, 0},
};

const svc_def_t sts_service = {
    .name = "sts",
    .ops = sts_ops,
    .nops = KYOKA_ARRAY_LEN(sts_ops),
};
