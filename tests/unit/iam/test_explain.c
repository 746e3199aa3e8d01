/* Explanations built on demand from the decision log: each kind of near
 * miss names the statement and the element that did not match, the
 * proposal for a denial is verified, an explicit deny names its statement,
 * and ids from elsewhere, aged out or malformed say so. */
#include <stdio.h>

#include "helpers.h"

typedef struct run {
    json_t *d;      /* the decision with its explanation */
    json_t *x;      /* borrowed: d.explanation */
} run_t;

static run_t explain(const iam_request_t *req, const iam_policy_set_t *set)
{
    iam_explain_t ex;
    iam_evaluate(req, set, &ex);
    const char *id = iam_decision_log_add(req, &ex);
    const char *why = NULL;
    run_t r = {iam_decision_log_explain(id, &why), NULL};
    if (!r.d)
        fail_msg("no explanation: %s", why ? why : "?");
    r.x = json_object_get(r.d, "explanation");
    assert_non_null(r.x);
    return r;
}

/* The statement at (policy i, statement k). */
static json_t *stmt(const run_t *r, size_t i, size_t k)
{
    json_t *p = json_array_get(json_object_get(r->x, "policies"), i);
    assert_non_null(p);
    json_t *s = json_array_get(json_object_get(p, "statements"), k);
    assert_non_null(s);
    return s;
}

static void assert_failed(json_t *s, const char *element, const char *reason_part)
{
    assert_string_equal(json_string_value(json_object_get(s, "result")), "noMatch");
    json_t *f = json_object_get(s, "failed");
    assert_string_equal(json_string_value(json_object_get(f, "element")), element);
    const char *why = json_string_value(json_object_get(f, "reason"));
    if (!why || !strstr(why, reason_part))
        fail_msg("reason \"%s\" lacks \"%s\"", why ? why : "(none)", reason_part);
}

static void assert_fix(const run_t *r, const char *where)
{
    json_t *fixes = json_object_get(r->x, "toAllow");
    size_t i;
    json_t *f;
    json_array_foreach(fixes, i, f) {
        if (strcmp(json_string_value(json_object_get(f, "where")), where) == 0) {
            assert_true(json_is_true(json_object_get(f, "verified")));
            return;
        }
    }
    fail_msg("no proposal for %s", where);
}

static const char *ALLOW_ORDERS =
    "{\"Version\":\"2012-10-17\",\"Statement\":[\n"
    "  {\"Sid\":\"Jobs\",\"Effect\":\"Allow\",\"Action\":\"sqs:SendMessage\",\n"
    "   \"Resource\":\"arn:aws:sqs:us-east-1:" ACCT ":jobs-*\"},\n"
    "  {\"Sid\":\"Read\",\"Effect\":\"Allow\",\"Action\":[\"sqs:ReceiveMessage\"],\"Resource\":\"*\"},\n"
    "  {\"Sid\":\"Tls\",\"Effect\":\"Allow\",\"Action\":\"sqs:SendMessage\",\"Resource\":\"*\",\n"
    "   \"Condition\":{\"StringEquals\":{\"aws:SourceArn\":\"arn:aws:events:us-east-1:" ACCT ":rule/a\"},"
    "\"NumericLessThan\":{\"s3:max-keys\":\"10\"}}}]}";

static void test_action_resource_condition(void **state)
{
    (void)state;
    iam_decision_log_clear();
    iam_policy_t *p = policy_ok(IAM_POLICY_IDENTITY, ALLOW_ORDERS);
    iam_named_policy_t np[] = {{"inline:alice/sqs", p}};
    iam_policy_set_t set = {.identity = np, .nidentity = 1};
    iam_principal_t pr = user_principal("alice");
    iam_request_t req = request("sqs:SendMessage", "arn:aws:sqs:us-east-1:" ACCT ":orders", &pr);
    static const char *const src[] = {"arn:aws:events:us-east-1:" ACCT ":rule/b"};
    iam_ctx_value_t ctx[] = {{"aws:SourceArn", src, 1}};
    req.context = ctx;
    req.ncontext = 1;
    run_t r = explain(&req, &set);
    assert_string_equal(json_string_value(json_object_get(r.d, "decision")), "implicitDeny");
    assert_failed(stmt(&r, 0, 0), "Resource", "jobs-*");
    assert_failed(stmt(&r, 0, 0), "Resource", "does not match arn:aws:sqs:us-east-1:" ACCT ":orders");
    /* Position of the element as written: line 3 of the document. */
    json_t *at = json_object_get(json_object_get(stmt(&r, 0, 0), "failed"), "at");
    assert_int_equal(json_integer_value(json_object_get(at, "line")), 3);
    assert_failed(stmt(&r, 0, 1), "Action", "does not include sqs:SendMessage");
    assert_false(json_is_true(json_object_get(stmt(&r, 0, 1), "relevant")));
    assert_failed(stmt(&r, 0, 2), "Condition", "StringEquals aws:SourceArn wanted");
    assert_failed(stmt(&r, 0, 2), "Condition", "rule/b");
    /* Every condition is reported, the missing key too. */
    json_t *conds = json_object_get(stmt(&r, 0, 2), "conditions");
    assert_int_equal(json_array_size(conds), 2);
    assert_true(json_is_true(json_object_get(json_array_get(conds, 1), "missingKey")));
    assert_non_null(json_object_get(stmt(&r, 0, 0), "text"));
    assert_fix(&r, "identity");
    json_t *ctxj = json_object_get(json_object_get(r.x, "request"), "context");
    assert_string_equal(json_string_value(json_object_get(ctxj, "aws:PrincipalArn")), pr.arn);
    assert_non_null(json_object_get(ctxj, "aws:CurrentTime"));
    json_decref(r.d);
    iam_policy_free(p);
}

static void test_principal_and_cross_account(void **state)
{
    (void)state;
    iam_decision_log_clear();
    iam_policy_t *rp = policy_ok(IAM_POLICY_RESOURCE,
                                 "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Alice\",\"Effect\":\"Allow\","
                                 "\"Principal\":{\"AWS\":\"arn:aws:iam::" OTHER_ACCT ":user/alice\"},"
                                 "\"Action\":\"sqs:*\",\"Resource\":\"*\"}]}");
    iam_policy_t *ip = policy_ok(IAM_POLICY_IDENTITY, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
                                                      "\"Allow\",\"Action\":\"sqs:*\",\"Resource\":\"*\"}]}");
    iam_named_policy_t id[] = {{"inline:bob/all", ip}};
    iam_named_policy_t res = {"resource:q", rp};
    iam_policy_set_t set = {.identity = id, .nidentity = 1, .resource = &res};
    iam_principal_t pr = user_principal("bob");
    iam_request_t req = request("sqs:SendMessage", "arn:aws:sqs:us-east-1:" OTHER_ACCT ":q", &pr);
    req.resource_account = OTHER_ACCT;
    run_t r = explain(&req, &set);
    assert_string_equal(json_string_value(json_object_get(r.d, "decision")), "implicitDeny");
    assert_failed(stmt(&r, 1, 0), "Principal", "user/alice");
    assert_failed(stmt(&r, 1, 0), "Principal", "user/bob");
    assert_non_null(strstr(json_string_value(json_object_get(r.x, "rule")), "Cross account"));
    assert_fix(&r, "resource");
    json_decref(r.d);
    iam_policy_free(rp);
    iam_policy_free(ip);
}

static void test_boundary_and_session(void **state)
{
    (void)state;
    iam_decision_log_clear();
    iam_policy_t *ip = policy_ok(IAM_POLICY_IDENTITY, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":"
                                                      "\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}");
    iam_policy_t *bp = policy_ok(IAM_POLICY_IDENTITY, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Logs\","
                                                      "\"Effect\":\"Allow\",\"Action\":\"logs:*\",\"Resource\":\"*\"}]}");
    iam_policy_t *sp = policy_ok(IAM_POLICY_IDENTITY, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"S3\","
                                                      "\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}]}");
    iam_named_policy_t id[] = {{"inline:app/all", ip}};
    iam_named_policy_t b = {"arn:aws:iam::" ACCT ":policy/cap", bp};
    iam_named_policy_t sess[] = {{"session:inline", sp}};
    iam_policy_set_t set = {.identity = id, .nidentity = 1, .boundary = &b, .session = sess, .nsession = 1,
                            .has_session_policies = true};
    iam_principal_t pr = role_session("app", "w1");
    iam_request_t req = request("sqs:SendMessage", "arn:aws:sqs:us-east-1:" ACCT ":q", &pr);
    run_t r = explain(&req, &set);
    assert_failed(stmt(&r, 1, 0), "Action", "does not include sqs:SendMessage");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r.x, "policies"), 1), "kind")),
                        "boundary");
    assert_fix(&r, "boundary");
    assert_fix(&r, "session");
    json_t *who = json_object_get(json_object_get(r.x, "request"), "principal");
    assert_string_equal(json_string_value(json_object_get(who, "role")), "arn:aws:iam::" ACCT ":role/app");
    assert_string_equal(json_string_value(json_object_get(who, "session")), "w1");
    json_decref(r.d);
    iam_policy_free(ip);
    iam_policy_free(bp);
    iam_policy_free(sp);
}

static void test_explicit_deny_names_statement(void **state)
{
    (void)state;
    iam_decision_log_clear();
    iam_policy_t *p = policy_ok(IAM_POLICY_IDENTITY,
                                "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
                                "\"Resource\":\"*\"},{\"Sid\":\"NoDelete\",\"Effect\":\"Deny\",\"NotAction\":"
                                "[\"sqs:Send*\",\"sqs:Receive*\"],\"Resource\":\"*\"}]}");
    iam_named_policy_t np[] = {{"inline:alice/p", p}};
    iam_policy_set_t set = {.identity = np, .nidentity = 1};
    iam_principal_t pr = user_principal("alice");
    iam_request_t req = request("sqs:DeleteQueue", "arn:aws:sqs:us-east-1:" ACCT ":q", &pr);
    run_t r = explain(&req, &set);
    assert_string_equal(json_string_value(json_object_get(r.d, "decision")), "explicitDeny");
    json_t *deny = json_array_get(json_object_get(r.x, "denyingStatements"), 0);
    assert_string_equal(json_string_value(json_object_get(deny, "sid")), "NoDelete");
    assert_null(json_object_get(r.x, "toAllow"));
    json_decref(r.d);
    /* And the NotAction near miss when the action is excepted. */
    req.action = "sqs:SendMessage";
    r = explain(&req, &set);
    assert_failed(stmt(&r, 0, 1), "NotAction", "covers sqs:SendMessage");
    json_decref(r.d);
    iam_policy_free(p);
}

static void test_ids(void **state)
{
    (void)state;
    iam_decision_log_clear();
    const char *why = NULL;
    assert_null(iam_decision_log_explain("last", &why));
    assert_non_null(strstr(why, "no denied decision"));
    assert_null(iam_decision_log_explain("d-00000000-000001", &why));
    assert_non_null(strstr(why, "earlier run"));
    assert_null(iam_decision_log_explain("bogus", &why));
    assert_non_null(strstr(why, "no such decision"));
    iam_principal_t pr = user_principal("alice");
    iam_request_t req = request("s3:GetObject", "*", &pr);
    iam_policy_set_t empty = {0};
    iam_explain_t ex;
    iam_evaluate(&req, &empty, &ex);
    char first[32], latest[32];
    snprintf(first, sizeof first, "%s", iam_decision_log_add(&req, &ex));
    json_t *j = iam_decision_log_explain("last", &why);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), first);
    json_decref(j);
    assert_string_equal(iam_decision_log_latest(latest), first);
    /* Not issued yet: the same tag, a later sequence number. */
    char later[32];
    snprintf(later, sizeof later, "%.10s-ffffff", first);
    assert_null(iam_decision_log_explain(later, &why));
    assert_non_null(strstr(why, "not issued"));
    for (int i = 0; i < 4100; i++)
        iam_decision_log_add(&req, &ex);
    assert_null(iam_decision_log_explain(first, &why));
    assert_non_null(strstr(why, "aged out"));
    /* Filters. */
    iam_decision_filter_t f = {.denied_only = true, .action = "S3:get*", .principal = "user/alice"};
    json_t *l = iam_decision_log_list(&f, 3, false);
    assert_int_equal(json_array_size(l), 3);
    json_decref(l);
    f.action = "sqs:*";
    l = iam_decision_log_list(&f, 3, false);
    assert_int_equal(json_array_size(l), 0);
    json_decref(l);
    iam_decision_log_clear();
}

int run_explain_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_resource_condition),
        cmocka_unit_test(test_principal_and_cross_account),
        cmocka_unit_test(test_boundary_and_session),
        cmocka_unit_test(test_explicit_deny_names_statement),
        cmocka_unit_test(test_ids),
    };
    return cmocka_run_group_tests_name("iam_explain", tests, NULL, NULL);
}
