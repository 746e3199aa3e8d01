/* AWS managed policies: present by ARN, parse as identity policies within
 * the managed-policy size quota, and grant what their names say. */
#include <stdio.h>

#include "helpers.h"

static void test_all_parse(void **state)
{
    (void)state;
    const char *arn, *name, *path, *desc, *doc;
    size_t n = 0;
    for (size_t i = 0; iam_managed_policy_at(i, &arn, &name, &path, &desc, &doc); i++, n++) {
        char want[256], err[256];
        snprintf(want, sizeof want, "arn:aws:iam::aws:policy%s%s", path, name);
        assert_string_equal(arn, want);
        assert_true(desc[0] != '\0');
        assert_ptr_equal(iam_managed_policy_document(arn), doc);
        bool over;
        iam_policy_t *p = iam_policy_parse(doc, strlen(doc), IAM_POLICY_IDENTITY, KYOKA_IAM_MAX_MANAGED_POLICY_BYTES,
                                           err, sizeof err, &over);
        if (!p)
            fail_msg("%s: %s", name, err);
        iam_policy_free(p);
    }
    assert_true(n >= 14);
    assert_false(iam_managed_policy_at(n, NULL, NULL, NULL, NULL, NULL));
    assert_null(iam_managed_policy_document("arn:aws:iam::aws:policy/NoSuchPolicy"));
    assert_null(iam_managed_policy_document(NULL));
    /* The service-role path is part of the ARN. */
    assert_null(iam_managed_policy_document("arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole"));
    assert_non_null(iam_managed_policy_document("arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"));
    assert_non_null(iam_managed_policy_document("arn:aws:iam::aws:policy/AWSLambdaExecute"));
}

static iam_decision_t eval_managed(const char *arn, const char *action, const char *resource)
{
    const char *doc = iam_managed_policy_document(arn);
    assert_non_null(doc);
    iam_policy_t *p = policy_ok(IAM_POLICY_IDENTITY, doc);
    iam_decision_t d = eval_one(p, action, resource, NULL, 0);
    iam_policy_free(p);
    return d;
}

static void test_grants(void **state)
{
    (void)state;
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/AdministratorAccess", "iam:CreateUser", "*"), IAM_ALLOW);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/PowerUserAccess", "iam:CreateUser", "*"),
                     IAM_IMPLICIT_DENY);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/PowerUserAccess", "iam:ListRoles", "*"), IAM_ALLOW);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/PowerUserAccess", "sqs:CreateQueue", "*"), IAM_ALLOW);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "s3:GetObject",
                                  "arn:aws:s3:::b/k"),
                     IAM_ALLOW);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "s3:PutObject",
                                  "arn:aws:s3:::b/k"),
                     IAM_IMPLICIT_DENY);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/AmazonS3FullAccess", "s3:PutObject", "arn:aws:s3:::b/k"),
                     IAM_ALLOW);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/AmazonSQSFullAccess", "sqs:DeleteQueue", "*"), IAM_ALLOW);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess", "sqs:SendMessage", "*"),
                     IAM_IMPLICIT_DENY);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/AWSLambdaExecute", "s3:GetObject", "arn:aws:s3:::b/k"),
                     IAM_ALLOW);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/AWSLambdaExecute", "logs:CreateLogGroup",
                                  "arn:aws:logs:us-east-1:" ACCT ":log-group:g"),
                     IAM_ALLOW);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
                                  "sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:" ACCT ":q"),
                     IAM_ALLOW);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/service-role/AWSLambdaRole", "lambda:InvokeFunction",
                                  "arn:aws:lambda:us-east-1:" ACCT ":function:f"),
                     IAM_ALLOW);
    assert_int_equal(eval_managed("arn:aws:iam::aws:policy/CloudWatchLogsFullAccess", "logs:DeleteLogGroup", "*"),
                     IAM_ALLOW);
}

int run_managed_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_parse),
        cmocka_unit_test(test_grants),
    };
    return cmocka_run_group_tests_name("iam_managed", tests, NULL, NULL);
}
