/* AWS managed policies: the generated table (every policy by its ARN, its
 * default version and dates), documents inflated on demand that parse as
 * identity policies, and grants that match what the names say. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* Every generated document inflates to its recorded length and parses as
 * an identity policy; the table is sorted by ARN so lookups bisect. */
static void test_all_parse(void **state)
{
    (void)state;
    const char *arn, *name, *path, *desc, *doc;
    size_t n = 0;
    const char *prev = "";
    for (size_t i = 0; iam_managed_policy_at(i, &arn, &name, &path, &desc, &doc); i++, n++) {
        char want[256], err[256];
        snprintf(want, sizeof want, "arn:aws:iam::aws:policy%s%s", path, name);
        assert_string_equal(arn, want);
        assert_true(strcmp(prev, arn) < 0);
        prev = arn;
        assert_non_null(doc);
        assert_ptr_equal(iam_managed_policy_document(arn), doc);
        assert_ptr_equal(iam_managed_lookup(arn), iam_managed_at(i));
        /* AWS managed policies are not held to the customer quota
         * (ReadOnlyAccess alone is far over it), so no size limit here. */
        iam_policy_t *p = iam_policy_parse(doc, strlen(doc), IAM_POLICY_IDENTITY, 0, err, sizeof err, NULL);
        if (!p)
            fail_msg("%s: %s", name, err);
        iam_policy_free(p);
    }
    assert_int_equal(n, iam_managed_count());
    assert_true(n > 1000);
    assert_false(iam_managed_policy_at(n, NULL, NULL, NULL, NULL, NULL));
    assert_null(iam_managed_at(n));
}

/* Lookup by the exact ARN, and one document inflated on demand. */
static void test_lookup_inflate(void **state)
{
    (void)state;
    const char *arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";
    const iam_managed_t *m = iam_managed_lookup(arn);
    assert_non_null(m);
    assert_string_equal(iam_managed_name(m), "AWSLambdaBasicExecutionRole");
    assert_string_equal(m->path, "/service-role/");
    assert_string_equal(m->default_version, "v1");
    assert_string_equal(m->description, "Provides write permissions to CloudWatch Logs.");
    assert_int_equal(m->created_ms, 1428591823000LL); /* 2015-04-09T15:03:43Z */
    assert_int_equal(strlen(m->id), 21);
    assert_memory_equal(m->id, "ANPA", 4);
    assert_int_equal(m->nversions, 1);
    assert_string_equal(iam_managed_version(m, 0)->id, "v1");
    assert_null(iam_managed_version(m, 1));
    const char *want = "{\n"
                       "  \"Version\" : \"2012-10-17\",\n"
                       "  \"Statement\" : [\n"
                       "    {\n"
                       "      \"Effect\" : \"Allow\",\n"
                       "      \"Action\" : [\n"
                       "        \"logs:CreateLogGroup\",\n"
                       "        \"logs:CreateLogStream\",\n"
                       "        \"logs:PutLogEvents\"\n"
                       "      ],\n"
                       "      \"Resource\" : \"*\"\n"
                       "    }\n"
                       "  ]\n"
                       "}";
    size_t len = 0;
    char *fresh = iam_managed_document_inflate(m, &len);
    assert_non_null(fresh);
    assert_string_equal(fresh, want);
    assert_int_equal(len, strlen(want));
    free(fresh);
    /* The cached copy: same text, and the same pointer on every call. */
    const char *doc = iam_managed_document(m);
    assert_string_equal(doc, want);
    assert_ptr_equal(iam_managed_document(m), doc);
    assert_ptr_equal(iam_managed_policy_document(arn), doc);

    /* Versions come newest first, the default among them. */
    const iam_managed_t *ro = iam_managed_lookup("arn:aws:iam::aws:policy/ReadOnlyAccess");
    assert_non_null(ro);
    assert_true(ro->nversions > 5);
    bool seen_default = false;
    for (size_t i = 0; i < ro->nversions; i++) {
        const iam_managed_version_t *v = iam_managed_version(ro, i);
        if (i > 0)
            assert_true(atoi(iam_managed_version(ro, i - 1)->id + 1) > atoi(v->id + 1));
        seen_default = seen_default || strcmp(v->id, ro->default_version) == 0;
    }
    assert_true(seen_default);
    assert_non_null(iam_managed_lookup("arn:aws:iam::aws:policy/aws-service-role/AWSSupportServiceRolePolicy"));

    /* Misses: the path is part of the ARN, and ARNs compare exactly. */
    assert_null(iam_managed_lookup("arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole"));
    assert_null(iam_managed_lookup("arn:aws:iam::aws:policy/service-role/awslambdabasicexecutionrole"));
    assert_null(iam_managed_lookup("arn:aws:iam::aws:policy/NoSuchPolicy"));
    assert_null(iam_managed_lookup("arn:aws:iam::000000000000:policy/AdministratorAccess"));
    assert_null(iam_managed_lookup(""));
    assert_null(iam_managed_lookup(NULL));
    assert_null(iam_managed_policy_document(NULL));
    assert_null(iam_managed_document(NULL));
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
        cmocka_unit_test(test_lookup_inflate),
        cmocka_unit_test(test_grants),
    };
    return cmocka_run_group_tests_name("iam_managed", tests, NULL, NULL);
}
