/*
 * The IAM service as other services see it: role lookup and STS sessions.
 *
 * STS (src/services/sts) answers AssumeRole and GetSessionToken with these;
 * Lambda and the pipes will use the same calls to assume execution roles.
 * The state pointer is ctx->iam_state (set by the IAM service's create());
 * every function accepts NULL there and then finds nothing.
 *
 * Linking: these live in objects of kyoka_svc_iam that the IAM operation table
 * already pulls into the binary, so a service library listed after
 * kyoka_svc_iam on the link line still resolves them.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_SVC_IAM_SVC_H
#define KYOKA_SVC_IAM_SVC_H

#include "auth/auth.h"
#include "iam/iam.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct svc_call svc_call_t;

/* A role as STS needs it. Pointers are owned by the IAM state and valid
 * until the role changes (do not keep them past the current request). */
typedef struct iam_svc_role {
    const char *arn;            /* arn:aws:iam::ACCOUNT:role/path/name */
    const char *id;             /* AROA... */
    const char *name;
    int max_session_s;          /* MaxSessionDuration, 3600 .. 43200 */
    const iam_policy_t *trust;  /* the trust policy (kind IAM_POLICY_TRUST) */
    const iam_tag_t *tags;      /* unused by STS today */
    size_t ntags;
} iam_svc_role_t;

/* Find a role by ARN in this account. Returns false when there is none. */
bool iam_svc_role_lookup(void *iam_state, const char *arn, iam_svc_role_t *out);

typedef enum {
    IAM_SVC_SESSION_ROLE = 0, /* AssumeRole */
    IAM_SVC_SESSION_USER = 1, /* GetSessionToken by an IAM user */
    IAM_SVC_SESSION_ROOT = 2  /* GetSessionToken by the account root */
} iam_svc_session_kind_t;

typedef struct iam_svc_session_req {
    iam_svc_session_kind_t kind;
    const char *role_arn;       /* ROLE: the role (must exist) */
    const char *session_name;   /* ROLE: RoleSessionName */
    const char *user_name;      /* USER: the user (must exist) */
    int64_t duration_s;
    const char *policy;         /* ROLE: inline session policy JSON, or NULL */
    const char *const *policy_arns; /* ROLE: managed session policies */
    size_t npolicy_arns;
    const char *const *tag_keys; /* ROLE: session tags */
    const char *const *tag_values;
    size_t ntags;
    const char *source_identity; /* or NULL */
} iam_svc_session_req_t;

typedef struct iam_svc_session_out {
    const char *access_key_id;  /* owned by the IAM state: copy before the next call */
    const char *secret_access_key;
    const char *session_token;
    int64_t expires_ms;         /* server clock */
    const char *arn;            /* assumed-role ARN (ROLE), else the caller's ARN */
    const char *user_id;        /* AROA...:session (ROLE) */
    int packed_policy_percent;  /* ROLE: PackedPolicySize, 0 without session policies/tags */
} iam_svc_session_out_t;

/* Create a session, persist it and register its credential in ctx->creds
 * so SigV4 accepts it until expires_ms. Session policies are parsed here:
 * a malformed Policy sets MalformedPolicyDocument on c, an unknown policy
 * ARN sets NoSuchEntity-style errors. Returns 0, or -1 with the error on c. */
int iam_svc_session_create(void *iam_state, svc_call_t *c, const iam_svc_session_req_t *req,
                           iam_svc_session_out_t *out);

#endif
