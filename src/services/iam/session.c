/*
 * STS sessions: temporary credentials from AssumeRole and GetSessionToken.
 *
 * A session is a credential (ASIA... key id, secret, token) registered in
 * ctx->creds with its expiry, plus what identity.c needs to authorize its
 * requests: the role and session policies for role sessions, or the user for
 * GetSessionToken sessions. Sessions are persisted so they keep working
 * across a restart until they expire; auth refuses them after expires_ms
 * with ExpiredToken. Expired sessions are forgotten a day later
 * (IAM_SESSION_FORGET_MS), a few at a time on each new session.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* At most this many expired sessions are dropped per new session, so the
 * sweep never makes one request slow. */
#define IAM_SESSION_SWEEP_MAX 16

/* ==== resource internals ==== */

iam_session_t *iam__session_lookup(iam_state_t *st, const char *akid)
{
    if (!st || !akid)
        return NULL;
    ssize_t i = iam__vec_find(&st->sessions, akid, iam__session_key, NULL);
    return i < 0 ? NULL : st->sessions.v[i];
}

void iam__session_register(iam_state_t *st, const iam_session_t *s)
{
    auth_cred_t cred = {
        .access_key_id = (char *)s->akid,
        .secret_access_key = s->secret,
        .session_token = s->token,
        .account_id = (char *)st->account,
        .principal_arn = s->arn,
        .user_id = s->user_id,
        .source_arn = s->role_arn,
        .session_name = s->session_name,
        .type = s->kind == IAM_SESS_ROLE   ? AUTH_PRINCIPAL_ASSUMED_ROLE
                : s->kind == IAM_SESS_USER ? AUTH_PRINCIPAL_USER
                                           : AUTH_PRINCIPAL_ROOT,
        .expires_ms = s->expires_ms,
        .active = true,
    };
    auth_store_put(st->ctx->creds, &cred);
}

bool iam__session_compile(iam_state_t *st, iam_session_t *s)
{
    char err[512];
    if (s->policy_text) {
        s->policy = iam_policy_parse(s->policy_text, strlen(s->policy_text), IAM_POLICY_IDENTITY, 0, err, sizeof err,
                                     NULL);
        if (!s->policy)
            return false;
    }
    for (size_t i = 0; i < s->narns; i++) {
        iam_mpolicy_t *p = iam__policy_lookup(st, s->policy_arns[i]);
        /* A session policy that is gone would widen the session if skipped:
         * the session is dropped instead. */
        if (!p || !iam__policy_default(p))
            return false;
        s->arn_policies[i] = iam_policy_ref((iam_policy_t *)iam__policy_default(p));
    }
    return true;
}

static void sweep_expired(iam_state_t *st)
{
    int64_t cutoff = kyoka_clock_now_ms() - IAM_SESSION_FORGET_MS;
    size_t done = 0;
    for (size_t i = 0; i < st->sessions.n && done < IAM_SESSION_SWEEP_MAX;) {
        iam_session_t *s = st->sessions.v[i];
        if (s->expires_ms >= cutoff) {
            i++;
            continue;
        }
        if (iam__db_session_delete(st, s->akid) != 0)
            return;
        auth_store_remove(st->ctx->creds, strv_from(s->akid));
        iam__vec_remove(&st->sessions, i);
        iam__session_free(s);
        done++;
    }
}

/* ==== the interface for STS and other services (iam_svc.h) ==== */

bool iam_svc_role_lookup(void *iam_state, const char *arn, iam_svc_role_t *out)
{
    iam_state_t *st = iam_state;
    iam_ent_kind_t kind;
    iam_entity_t *e = st ? iam__ent_by_arn(st, arn, &kind) : NULL;
    if (!e || kind != IAM_ENT_ROLE)
        return false;
    *out = (iam_svc_role_t){
        .arn = e->arn,
        .id = e->id,
        .name = e->name,
        .max_session_s = e->max_session,
        .trust = e->trust,
    };
    return true;
}

int iam_svc_session_create(void *iam_state, svc_call_t *c, const iam_svc_session_req_t *req,
                           iam_svc_session_out_t *out)
{
    iam_state_t *st = iam_state;
    if (!st) {
        svc_error(c, "InternalFailure", 500, "IAM is not running in this kyoka");
        return -1;
    }
    iam_entity_t *role = NULL, *user = NULL;
    if (req->kind == IAM_SVC_SESSION_ROLE) {
        iam_ent_kind_t kind;
        role = iam__ent_by_arn(st, req->role_arn, &kind);
        if (!role || kind != IAM_ENT_ROLE) {
            svc_error(c, "AccessDenied", 403, "Role %s does not exist", req->role_arn ? req->role_arn : "");
            return -1;
        }
    } else if (req->kind == IAM_SVC_SESSION_USER) {
        user = iam__ent_lookup(st, IAM_ENT_USER, req->user_name);
        if (!user) {
            svc_error(c, "AccessDenied", 403, "The user %s does not exist", req->user_name ? req->user_name : "");
            return -1;
        }
    }
    if (req->npolicy_arns > IAM_MAX_SESSION_ARNS) {
        svc_error(c, "ValidationError", 400,
                  "1 validation error detected: Value '[...]' at 'policyArns' failed to satisfy constraint: Member "
                  "must have length less than or equal to %d",
                  IAM_MAX_SESSION_ARNS);
        return -1;
    }

    iam_session_t *s = xcalloc(1, sizeof *s);
    s->kind = (iam_sess_kind_t)req->kind;
    if (req->policy) {
        char err[512];
        bool over = false;
        s->policy = iam_policy_parse(req->policy, strlen(req->policy), IAM_POLICY_IDENTITY,
                                     KYOKA_IAM_MAX_SESSION_POLICY_BYTES, err, sizeof err, &over);
        if (!s->policy) {
            if (over)
                svc_error(c, "PackedPolicyTooLargeException", 0,
                          "Packed size of session policy consumes more than 100%% of allotted space, please use "
                          "smaller policy.");
            else
                svc_error(c, "MalformedPolicyDocumentException", 0, "%s", err);
            iam__session_free(s);
            return -1;
        }
        s->policy_text = xstrdup(req->policy);
    }
    if (req->npolicy_arns) {
        s->policy_arns = xcalloc(req->npolicy_arns, sizeof *s->policy_arns);
        s->arn_policies = xcalloc(req->npolicy_arns, sizeof *s->arn_policies);
        for (size_t i = 0; i < req->npolicy_arns; i++) {
            iam_mpolicy_t *p = iam__policy_lookup(st, req->policy_arns[i]);
            if (!p || !iam__policy_default(p)) {
                svc_error(c, "MalformedPolicyDocumentException", 0, "Policy %s does not exist or is not attachable.",
                          req->policy_arns[i] ? req->policy_arns[i] : "");
                iam__session_free(s);
                return -1;
            }
            s->policy_arns[s->narns] = xstrdup(p->arn);
            s->arn_policies[s->narns++] = iam_policy_ref((iam_policy_t *)iam__policy_default(p));
        }
    }
    for (size_t i = 0; i < req->ntags; i++)
        iam__tags_set(&s->tags, req->tag_keys[i], req->tag_values[i]);

    /* PackedPolicySize: how much of the packed session data (policies and
     * tags, compressed by AWS into the token) is used, in percent. kyoka
     * does not compress; it estimates from the policy's characters. */
    int packed = 0;
    if (s->policy || s->narns || s->tags.n) {
        size_t bytes = (s->policy_text ? iam__policy_size(s->policy_text) : 0) + s->narns * 64;
        for (size_t i = 0; i < s->tags.n; i++)
            bytes += strlen(s->tags.keys[i]) + strlen(s->tags.values[i]) + 4;
        packed = (int)((bytes * 100 + KYOKA_IAM_MAX_SESSION_POLICY_BYTES - 1) / KYOKA_IAM_MAX_SESSION_POLICY_BYTES);
        if (packed < 1)
            packed = 1;
        if (packed > 100) {
            svc_error(c, "PackedPolicyTooLargeException", 0,
                      "Packed size of session policies and session tags consumes %d%% of allotted space, please use "
                      "smaller policies and tags.",
                      packed);
            iam__session_free(s);
            return -1;
        }
    }

    char secret[41];
    iam__gen_id(s->akid, "ASIA", 16);
    iam__gen_secret(secret);
    s->secret = xstrdup(secret);
    s->token = iam__gen_token();
    s->created_ms = kyoka_clock_now_ms();
    s->expires_ms = s->created_ms + req->duration_s * 1000;
    s->source_identity = req->source_identity ? xstrdup(req->source_identity) : NULL;
    buf_t b;
    buf_init(&b, 8192);
    switch (req->kind) {
    case IAM_SVC_SESSION_ROLE:
        buf_appendf(&b, "arn:aws:sts::%s:assumed-role/%s/%s", st->account, role->name, req->session_name);
        s->arn = buf_detach(&b, NULL);
        buf_appendf(&b, "%s:%s", role->id, req->session_name);
        s->user_id = buf_detach(&b, NULL);
        s->role_arn = xstrdup(role->arn);
        s->role_id = xstrdup(role->id);
        s->role_name = xstrdup(role->name);
        s->session_name = xstrdup(req->session_name);
        break;
    case IAM_SVC_SESSION_USER:
        s->arn = xstrdup(user->arn);
        s->user_id = xstrdup(user->id);
        s->user_name = xstrdup(user->name);
        break;
    case IAM_SVC_SESSION_ROOT:
        buf_appendf(&b, "arn:aws:iam::%s:root", st->account);
        s->arn = buf_detach(&b, NULL);
        s->user_id = xstrdup(st->account);
        break;
    }
    buf_destroy(&b);

    if (iam__db_session_save(st, s) != 0) {
        iam__session_free(s);
        iam__store_failed(c);
        return -1;
    }
    size_t at;
    iam__vec_find(&st->sessions, s->akid, iam__session_key, &at);
    iam__vec_insert(&st->sessions, at, s);
    iam__session_register(st, s);
    sweep_expired(st);

    *out = (iam_svc_session_out_t){
        .access_key_id = s->akid,
        .secret_access_key = s->secret,
        .session_token = s->token,
        .expires_ms = s->expires_ms,
        .arn = s->arn,
        .user_id = s->user_id,
        .packed_policy_percent = packed,
    };
    return 0;
}
