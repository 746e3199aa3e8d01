/* Actions, resources, ARNs and policy variables. */
#include <stdio.h>

#include "helpers.h"

static iam_policy_t *stmt(const char *version, const char *action, const char *resource)
{
    char doc[2048];
    snprintf(doc, sizeof doc,
             "{%s\"Statement\":{\"Effect\":\"Allow\",\"Action\":%s,\"Resource\":%s}}", version, action, resource);
    return policy_ok(IAM_POLICY_IDENTITY, doc);
}

#define V12 "\"Version\":\"2012-10-17\","
#define V08 "\"Version\":\"2008-10-17\","

static void test_arn_parse(void **state)
{
    (void)state;
    iam_arn_t a;
    assert_int_equal(iam_arn_parse(STRV_LIT("arn:aws:sqs:us-east-1:123456789012:q"), &a), 0);
    assert_true(strv_eq_cstr(a.partition, "aws"));
    assert_true(strv_eq_cstr(a.service, "sqs"));
    assert_true(strv_eq_cstr(a.region, "us-east-1"));
    assert_true(strv_eq_cstr(a.account, "123456789012"));
    assert_true(strv_eq_cstr(a.resource, "q"));
    assert_int_equal(iam_arn_parse(STRV_LIT("arn:aws:s3:::bucket/key:with:colons"), &a), 0);
    assert_int_equal(a.region.len, 0);
    assert_true(strv_eq_cstr(a.resource, "bucket/key:with:colons"));
    assert_int_equal(iam_arn_parse(STRV_LIT("arn:aws:lambda:us-east-1:1:function:f:1"), &a), 0);
    assert_true(strv_eq_cstr(a.resource, "function:f:1"));
    assert_int_equal(iam_arn_parse(STRV_LIT("arn:aws:s3:::"), &a), KYOKA_EPARSE);
    assert_int_equal(iam_arn_parse(STRV_LIT("arn:aws:s3"), &a), KYOKA_EPARSE);
    assert_int_equal(iam_arn_parse(STRV_LIT("nra:aws:s3:::b"), &a), KYOKA_EPARSE);
    assert_int_equal(iam_arn_parse(STRV_LIT("arn::s3:::b"), &a), KYOKA_EPARSE);
    assert_int_equal(iam_arn_parse(STRV_NULL, &a), KYOKA_EPARSE);
}

static void test_actions(void **state)
{
    (void)state;
    iam_policy_t *p = stmt(V12, "[\"s3:Get*\",\"sqs:?endMessage\",\"logs:PutLogEvents\"]", "\"*\"");
    assert_int_equal(eval_one(p, "s3:GetObject", "*", NULL, 0), IAM_ALLOW);
    /* Actions are case-insensitive, both in the policy and the request. */
    assert_int_equal(eval_one(p, "S3:getobject", "*", NULL, 0), IAM_ALLOW);
    assert_int_equal(eval_one(p, "s3:PutObject", "*", NULL, 0), IAM_IMPLICIT_DENY);
    assert_int_equal(eval_one(p, "sqs:SendMessage", "*", NULL, 0), IAM_ALLOW);
    assert_int_equal(eval_one(p, "sqs:SendMessageBatch", "*", NULL, 0), IAM_IMPLICIT_DENY);
    assert_int_equal(eval_one(p, "LOGS:PUTLOGEVENTS", "*", NULL, 0), IAM_ALLOW);
    assert_int_equal(eval_one(p, "logs:PutLogEvent", "*", NULL, 0), IAM_IMPLICIT_DENY);
    assert_int_equal(eval_one(p, NULL, "*", NULL, 0), IAM_IMPLICIT_DENY);
    iam_policy_free(p);

    p = stmt(V12, "\"*\"", "\"*\"");
    assert_int_equal(eval_one(p, "anything:Goes", "*", NULL, 0), IAM_ALLOW);
    iam_policy_free(p);

    p = stmt(V12, "\"iam:*Report\"", "\"*\"");
    assert_int_equal(eval_one(p, "iam:GenerateCredentialReport", "*", NULL, 0), IAM_ALLOW);
    assert_int_equal(eval_one(p, "iam:GetCredentialReportX", "*", NULL, 0), IAM_IMPLICIT_DENY);
    iam_policy_free(p);

    /* NotAction: everything except. */
    p = policy_ok(IAM_POLICY_IDENTITY, "{\"Statement\":{\"Effect\":\"Allow\",\"NotAction\":[\"iam:*\"],"
                                       "\"Resource\":\"*\"}}");
    assert_int_equal(eval_one(p, "s3:GetObject", "*", NULL, 0), IAM_ALLOW);
    assert_int_equal(eval_one(p, "IAM:CreateUser", "*", NULL, 0), IAM_IMPLICIT_DENY);
    iam_policy_free(p);
}

static void test_resources(void **state)
{
    (void)state;
    iam_policy_t *p = stmt(V12, "\"s3:*\"", "[\"arn:aws:s3:::bucket\",\"arn:aws:s3:::bucket/home/*\"]");
    assert_int_equal(eval_one(p, "s3:ListBucket", "arn:aws:s3:::bucket", NULL, 0), IAM_ALLOW);
    assert_int_equal(eval_one(p, "s3:GetObject", "arn:aws:s3:::bucket/home/a/b", NULL, 0), IAM_ALLOW);
    assert_int_equal(eval_one(p, "s3:GetObject", "arn:aws:s3:::bucket/other", NULL, 0), IAM_IMPLICIT_DENY);
    assert_int_equal(eval_one(p, "s3:GetObject", "arn:aws:s3:::bucket2", NULL, 0), IAM_IMPLICIT_DENY);
    /* Resource ARNs are case-sensitive. */
    assert_int_equal(eval_one(p, "s3:ListBucket", "arn:aws:s3:::Bucket", NULL, 0), IAM_IMPLICIT_DENY);
    /* A request without a resource ARN only matches "*". */
    assert_int_equal(eval_one(p, "s3:ListAllMyBuckets", "*", NULL, 0), IAM_IMPLICIT_DENY);
    assert_int_equal(eval_one(p, "s3:ListAllMyBuckets", NULL, NULL, 0), IAM_IMPLICIT_DENY);
    iam_policy_free(p);

    /* Wildcards stay inside their segment: the region '*' cannot eat the
     * colons of account and resource (the ArnLike example of
     * reference_policies_elements_condition_operators). */
    p = stmt(V12, "\"someservice:*\"", "\"arn:aws:someservice:*:111122223333:finance/*\"");
    assert_int_equal(eval_one(p, "someservice:Get", "arn:aws:someservice:us-east-2:111122223333:finance/doc.txt",
                              NULL, 0),
                     IAM_ALLOW);
    assert_int_equal(eval_one(p, "someservice:Get",
                              "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/doc.txt",
                              NULL, 0),
                     IAM_IMPLICIT_DENY);
    iam_policy_free(p);

    /* Inside the resource part a wildcard does cross colons. */
    p = stmt(V12, "\"logs:*\"", "\"arn:aws:logs:*:*:*\"");
    assert_int_equal(eval_one(p, "logs:PutLogEvents",
                              "arn:aws:logs:us-east-1:" ACCT ":log-group:/aws/lambda/f:log-stream:x", NULL, 0),
                     IAM_ALLOW);
    assert_int_equal(eval_one(p, "logs:PutLogEvents", "arn:aws:s3:::b", NULL, 0), IAM_IMPLICIT_DENY);
    iam_policy_free(p);

    p = stmt(V12, "\"sqs:*\"", "\"arn:aws:sqs:us-?ast-1:" ACCT ":q*\"");
    assert_int_equal(eval_one(p, "sqs:SendMessage", "arn:aws:sqs:us-east-1:" ACCT ":queue1", NULL, 0), IAM_ALLOW);
    assert_int_equal(eval_one(p, "sqs:SendMessage", "arn:aws:sqs:us-west-1:" ACCT ":queue1", NULL, 0),
                     IAM_IMPLICIT_DENY);
    assert_int_equal(eval_one(p, "sqs:SendMessage", "arn:aws:sqs:us-east-1:" OTHER_ACCT ":queue1", NULL, 0),
                     IAM_IMPLICIT_DENY);
    assert_int_equal(eval_one(p, "sqs:SendMessage", "not-an-arn", NULL, 0), IAM_IMPLICIT_DENY);
    iam_policy_free(p);

    /* NotResource. */
    p = policy_ok(IAM_POLICY_IDENTITY, "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
                                       "\"NotResource\":\"arn:aws:s3:::secret/*\"}}");
    assert_int_equal(eval_one(p, "s3:GetObject", "arn:aws:s3:::public/x", NULL, 0), IAM_ALLOW);
    assert_int_equal(eval_one(p, "s3:GetObject", "arn:aws:s3:::secret/x", NULL, 0), IAM_IMPLICIT_DENY);
    iam_policy_free(p);
}

static void test_variables(void **state)
{
    (void)state;
    iam_principal_t pr = user_principal("alice");
    iam_explain_t ex;

    iam_policy_t *p = stmt(V12, "\"s3:*\"", "\"arn:aws:s3:::bucket/home/${aws:username}/*\"");
    iam_request_t req = request("s3:GetObject", "arn:aws:s3:::bucket/home/alice/file", &pr);
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_ALLOW);
    req.resource = "arn:aws:s3:::bucket/home/bob/file";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_IMPLICIT_DENY);
    /* Without a user name (a role session) the statement cannot match,
     * and the explanation says which key was missing. */
    iam_principal_t role = role_session("r", "s");
    req.principal = &role;
    req.resource = "arn:aws:s3:::bucket/home/alice/file";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, &ex), IAM_IMPLICIT_DENY);
    assert_int_equal(ex.nmissing, 1);
    assert_string_equal(ex.missing_context[0], "aws:username");
    iam_policy_free(p);

    /* Default values: ${key, 'default'}. */
    p = stmt(V12, "\"s3:*\"", "\"arn:aws:s3:::bucket/${aws:username, 'anonymous'}/*\"");
    req.resource = "arn:aws:s3:::bucket/anonymous/x";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_ALLOW);
    req.principal = &pr;
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_IMPLICIT_DENY);
    req.resource = "arn:aws:s3:::bucket/alice/x";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_ALLOW);
    iam_policy_free(p);

    /* ${*} ${?} ${$} are literal characters, not wildcards. */
    p = stmt(V12, "\"s3:*\"", "\"arn:aws:s3:::b/${*}${?}${$}\"");
    req.resource = "arn:aws:s3:::b/*?$";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_ALLOW);
    req.resource = "arn:aws:s3:::b/xy$";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_IMPLICIT_DENY);
    iam_policy_free(p);

    /* Tags and any context key work as variables; a value is literal even
     * when it holds '*'. */
    p = stmt(V12, "\"s3:*\"", "\"arn:aws:s3:::b/${aws:PrincipalTag/team}/${s3:prefix}\"");
    iam_tag_t tags[] = {{"Team", "blue"}};
    pr.tags = tags;
    pr.ntags = 1;
    const char *const pv[] = {"x*"};
    iam_ctx_value_t ctx[] = {{"s3:prefix", pv, 1}};
    req.context = ctx;
    req.ncontext = 1;
    req.resource = "arn:aws:s3:::b/blue/x*";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_ALLOW);
    req.resource = "arn:aws:s3:::b/blue/xyz";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_IMPLICIT_DENY);
    iam_policy_free(p);
    pr.tags = NULL;
    pr.ntags = 0;
    req.context = NULL;
    req.ncontext = 0;

    /* Variables are honored only with Version 2012-10-17. */
    p = stmt(V08, "\"s3:*\"", "\"arn:aws:s3:::bucket/${aws:username}\"");
    req.resource = "arn:aws:s3:::bucket/alice";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_IMPLICIT_DENY);
    req.resource = "arn:aws:s3:::bucket/${aws:username}";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_ALLOW);
    iam_policy_free(p);
    p = stmt("", "\"s3:*\"", "\"arn:aws:s3:::bucket/${aws:username}\"");
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_ALLOW);
    iam_policy_free(p);

    /* Not before the fifth colon. */
    p = stmt(V12, "\"sqs:*\"", "\"arn:aws:sqs:us-east-1:${aws:PrincipalAccount}:q\"");
    req.resource = "arn:aws:sqs:us-east-1:" ACCT ":q";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_IMPLICIT_DENY);
    iam_policy_free(p);

    /* An expansion past the stack cap never matches (and never overflows). */
    char big[IAM_EXPLAIN_MAX_MATCHES * 200];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    pr.username = big;
    p = stmt(V12, "\"s3:*\"", "\"arn:aws:s3:::b/${aws:username}\"");
    req.resource = "arn:aws:s3:::b/a";
    assert_int_equal(iam_policy_evaluate(p, NULL, "p", &req, NULL), IAM_IMPLICIT_DENY);
    iam_policy_free(p);
}

int run_match_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arn_parse),
        cmocka_unit_test(test_actions),
        cmocka_unit_test(test_resources),
        cmocka_unit_test(test_variables),
    };
    return cmocka_run_group_tests_name("iam_match", tests, NULL, NULL);
}
