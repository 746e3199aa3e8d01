/* Shared helpers for the iam unit tests: parse-or-fail, parse-error text,
 * and small builders for requests and principals. */
#ifndef KYOKA_TEST_IAM_HELPERS_H
#define KYOKA_TEST_IAM_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/limits.h"
#include "iam/iam.h"

#define ACCT "123456789012"
#define OTHER_ACCT "210987654321"

static inline iam_policy_t *policy_ok(iam_policy_kind_t kind, const char *doc)
{
    char err[256];
    bool over = false;
    iam_policy_t *p = iam_policy_parse(doc, strlen(doc), kind, KYOKA_RESOURCE_POLICY_MAX_BYTES, err, sizeof err, &over);
    if (!p)
        fail_msg("policy did not parse: %s\n%s", err, doc);
    return p;
}

/* The MalformedPolicyDocument message for doc, or "" if it parsed. */
static inline const char *policy_err(iam_policy_kind_t kind, const char *doc)
{
    static char err[512];
    bool over = false;
    iam_policy_t *p = iam_policy_parse(doc, strlen(doc), kind, KYOKA_RESOURCE_POLICY_MAX_BYTES, err, sizeof err, &over);
    if (p) {
        iam_policy_free(p);
        return "";
    }
    return err;
}

/* A user principal in ACCT. */
static inline iam_principal_t user_principal(const char *name)
{
    static char arn[128], uid[64];
    snprintf(arn, sizeof arn, "arn:aws:iam::" ACCT ":user/%s", name);
    snprintf(uid, sizeof uid, "AIDAEXAMPLEUSER%s", "1");
    return (iam_principal_t){.arn = arn, .account = ACCT, .type = "User", .user_id = uid, .username = name};
}

/* A role session principal of role `role` in ACCT. */
static inline iam_principal_t role_session(const char *role, const char *session)
{
    static char arn[160], role_arn[128], uid[96];
    snprintf(arn, sizeof arn, "arn:aws:sts::" ACCT ":assumed-role/%s/%s", role, session);
    snprintf(role_arn, sizeof role_arn, "arn:aws:iam::" ACCT ":role/%s", role);
    snprintf(uid, sizeof uid, "AROAEXAMPLEROLE01:%s", session);
    return (iam_principal_t){.arn = arn, .account = ACCT, .type = "AssumedRole", .user_id = uid,
                             .role_arn = role_arn};
}

static inline iam_request_t request(const char *action, const char *resource, const iam_principal_t *pr)
{
    return (iam_request_t){.action = action, .resource = resource, .principal = pr, .secure_transport = true,
                           .region = "us-east-1", .now_ms = 1700000000000LL};
}

/* Evaluate one identity policy for (action, resource) with optional context. */
static inline iam_decision_t eval_one(const iam_policy_t *p, const char *action, const char *resource,
                                      const iam_ctx_value_t *ctx, size_t nctx)
{
    iam_principal_t pr = user_principal("alice");
    iam_request_t req = request(action, resource, &pr);
    req.context = ctx;
    req.ncontext = nctx;
    return iam_policy_evaluate(p, "identity", "test", &req, NULL);
}

int run_policy_tests(void);
int run_match_tests(void);
int run_condition_tests(void);
int run_evaluate_tests(void);
int run_managed_tests(void);
int run_decision_log_tests(void);
int run_explain_tests(void);

#endif
