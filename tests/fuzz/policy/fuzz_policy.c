/* libFuzzer target: parse the input as each kind of policy and, when it
 * parses, evaluate it against a few fixed requests (users, role sessions,
 * services, anonymous; with and without context), through both
 * iam_policy_evaluate and iam_evaluate, and round-trip the decision log.
 * Crashes, sanitizer reports and leaks are the findings. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/limits.h"
#include "iam/iam.h"

#define ACCT "123456789012"

static const iam_tag_t tags[] = {{"team", "blue"}, {"env", "${*}"}};
static const iam_principal_t principals[] = {
    {.arn = "arn:aws:iam::" ACCT ":user/alice", .account = ACCT, .type = "User", .user_id = "AIDAEXAMPLE000001",
     .username = "alice", .tags = tags, .ntags = 2},
    {.arn = "arn:aws:sts::" ACCT ":assumed-role/app/s1", .account = ACCT, .type = "AssumedRole",
     .user_id = "AROAEXAMPLE000001:s1", .role_arn = "arn:aws:iam::" ACCT ":role/app"},
    {.service = "s3.amazonaws.com", .type = "AWS"},
    {.arn = "arn:aws:iam::210987654321:root", .account = "210987654321", .type = "Account", .is_root = true},
};

static const char *const src_arn[] = {"arn:aws:s3:::bucket"};
static const char *const src_acct[] = {ACCT};
static const char *const multi[] = {"a", "b*", "arn:aws:sqs:us-east-1:" ACCT ":q", "2023-01-01T00:00:00Z", "10"};
static const iam_ctx_value_t context[] = {
    {"aws:SourceArn", src_arn, 1},
    {"aws:SourceAccount", src_acct, 1},
    {"s3:prefix", multi, 5},
    {"aws:TagKeys", NULL, 0},
};

static const struct {
    const char *action, *resource, *resource_account;
} requests[] = {
    {"s3:GetObject", "arn:aws:s3:::bucket/home/alice/x", ACCT},
    {"sqs:SendMessage", "arn:aws:sqs:us-east-1:" ACCT ":q", "210987654321"},
    {"lambda:InvokeFunction", "arn:aws:lambda:us-east-1:" ACCT ":function:f", NULL},
    {"sts:AssumeRole", "arn:aws:iam::" ACCT ":role/app", ACCT},
    {"iam:ListRoles", "*", NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const iam_policy_kind_t kinds[] = {IAM_POLICY_IDENTITY, IAM_POLICY_RESOURCE, IAM_POLICY_TRUST};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char err[256];
        bool over;
        iam_policy_t *p = iam_policy_parse((const char *)data, size, kinds[k], KYOKA_RESOURCE_POLICY_MAX_BYTES, err,
                                           sizeof err, &over);
        if (!p) {
            if (strlen(err) == 0)
                __builtin_trap(); /* every failure must say why */
            continue;
        }
        if (strlen(iam_policy_text(p)) > size)
            __builtin_trap();
        iam_named_policy_t np = {"fuzz", p};
        for (size_t r = 0; r < sizeof requests / sizeof requests[0]; r++) {
            for (size_t i = 0; i <= sizeof principals / sizeof principals[0]; i++) {
                iam_request_t req = {
                    .action = requests[r].action,
                    .resource = requests[r].resource,
                    .resource_account = requests[r].resource_account,
                    .principal = i < sizeof principals / sizeof principals[0] ? &principals[i] : NULL,
                    .context = (r % 2) ? context : NULL,
                    .ncontext = (r % 2) ? sizeof context / sizeof context[0] : 0,
                    .source_ip = (i % 2) ? "2001:db8::1" : "203.0.113.7",
                    .secure_transport = i % 2,
                    .region = "us-east-1",
                    .now_ms = 1700000000000LL,
                };
                iam_explain_t ex;
                iam_decision_t d1 = iam_policy_evaluate(p, kinds[k] == IAM_POLICY_IDENTITY ? "identity" : "resource",
                                                        "fuzz", &req, &ex);
                if (d1 != iam_policy_evaluate(p, NULL, "fuzz", &req, NULL))
                    __builtin_trap(); /* the explanation must not change the answer */
                iam_policy_set_t set = {0};
                if (kinds[k] == IAM_POLICY_IDENTITY) {
                    set.identity = &np;
                    set.nidentity = 1;
                    set.boundary = (r == 1) ? &np : NULL;
                    set.session = &np;
                    set.nsession = 1;
                    set.has_session_policies = r == 2;
                } else {
                    set.resource = &np;
                }
                iam_decision_t d2 = iam_evaluate(&req, &set, &ex);
                if (d2 != iam_evaluate(&req, &set, NULL))
                    __builtin_trap();
                if (ex.decision != d2 || !ex.reason || ex.nmatches > IAM_EXPLAIN_MAX_MATCHES)
                    __builtin_trap();
                if (r == 0 && i == 0) {
                    const char *id = iam_decision_log_add(&req, &ex);
                    json_t *j = iam_decision_log_get(id);
                    if (!j)
                        __builtin_trap();
                    json_decref(j);
                }
            }
        }
        iam_policy_free(p);
    }
    return 0;
}
