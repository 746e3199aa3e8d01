/* Policy grammar and AWS's MalformedPolicyDocument messages. */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

#define ID IAM_POLICY_IDENTITY
#define RES IAM_POLICY_RESOURCE
#define TRUST IAM_POLICY_TRUST

static void test_valid_forms(void **state)
{
    (void)state;
    iam_policy_t *p = policy_ok(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                    "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}}");
    assert_int_equal(iam_policy_statement_count(p), 1);
    assert_int_equal(iam_policy_kind(p), ID);
    iam_policy_free(p);

    p = policy_ok(ID, "{\"Version\":\"2008-10-17\",\"Id\":\"x\",\"Statement\":[{\"Sid\":\"A\",\"Effect\":\"Deny\","
                      "\"NotAction\":[\"iam:*\"],\"NotResource\":[\"arn:aws:s3:::b\"]},{\"Effect\":\"Allow\","
                      "\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{}}]}");
    assert_int_equal(iam_policy_statement_count(p), 2);
    iam_policy_free(p);

    /* Version may be absent (inline policies); managed policies need
     * 2012-10-17, which the caller checks. */
    p = policy_ok(ID, "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sqs:*\",\"Resource\":\"*\"}]}");
    assert_false(iam_policy_is_version_2012(p));
    iam_policy_free(p);
    p = policy_ok(ID, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sqs:*\","
                      "\"Resource\":\"*\"}]}");
    assert_true(iam_policy_is_version_2012(p));
    iam_policy_free(p);
    assert_false(iam_policy_is_version_2012(NULL));

    /* Condition values may be JSON numbers and booleans. */
    p = policy_ok(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
                      "\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":true},"
                      "\"NumericLessThan\":{\"s3:max-keys\":[10, 2.5]}}}}");
    iam_policy_free(p);
}

static void test_text_and_refcount(void **state)
{
    (void)state;
    const char *doc = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}";
    iam_policy_t *p = policy_ok(ID, doc);
    assert_string_equal(iam_policy_text(p), doc);
    assert_ptr_equal(iam_policy_ref(p), p);
    iam_policy_free(p); /* drops the extra reference */
    assert_string_equal(iam_policy_text(p), doc);
    iam_policy_free(p);
    iam_policy_free(NULL);
    assert_null(iam_policy_ref(NULL));
}

static void test_syntax_errors(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "This is not a json document",
        "",
        "[]",
        "{\"Version\":\"2012-10-17\"}",
        "{\"Version\":\"2012-10-17\",\"Statement\":[]}",
        "{\"Version\":\"2012-10-17\",\"Statement\":[\"afd\"]}",
        "{\"Version\":\"2013-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
        "\"Extra\":1}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"Extra\":1}}",
        "{\"Version\":\"2012-10-17\",\"Id\":[],\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
        "\"Resource\":\"*\"}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"invalid\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}",
        /* IAM reports a missing Effect as a syntax error. */
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Action\":\"s3:*\",\"Resource\":\"*\"}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":{},\"Resource\":\"*\"}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":[[]],\"Resource\":\"*\"}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"NotResource\":\"*\"}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"NotAction\":\"s3:a\","
        "\"Resource\":\"*\"}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"Condition\":[]}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"Condition\":{\"DateGreaterThan\":\"b\"}}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"Condition\":{\"StringEquals\":{\"a\":{}}}}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"Condition\":{\"x\":{\"a\":\"1\"}}}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"Condition\":{\"ForAnyValue::StringEqualsIfExists\":{\"a\":\"b\"}}}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\","
        "\"Condition\":{\"NullIfExists\":{\"a\":\"true\"}}}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Sid\":{},\"Effect\":\"Allow\",\"Action\":\"s3:*\","
        "\"Resource\":\"*\"}}",
        /* Duplicate keys are refused rather than silently resolved. */
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Effect\":\"Deny\",\"Action\":\"s3:*\","
        "\"Resource\":\"*\"}}",
        "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
        "\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        const char *msg = policy_err(ID, docs[i]);
        if (strcmp(msg, "Syntax errors in policy.") != 0)
            fail_msg("doc %zu: got '%s'", i, msg);
    }
}

static void test_identity_messages(void **state)
{
    (void)state;
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Principal\":\"*\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}"),
                        "Policy document should not specify a principal.");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"NotPrincipal\":{\"AWS\":\"" ACCT "\"},\"Action\":\"s3:*\","
                                       "\"Resource\":\"*\"}}"),
                        "Policy document should not specify a principal.");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Resource\":\"*\"}}"),
                        "Policy statement must contain actions.");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":[],\"Resource\":\"*\"}}"),
                        "Policy statement must contain actions.");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\"}}"),
                        "Policy statement must contain resources.");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":[]}}"),
                        "Policy statement must contain resources.");
    /* Missing resources is reported before a bad action. */
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"invalid\"}}"),
                        "Policy statement must contain resources.");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"invalid\",\"Resource\":\"*\"}}"),
                        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"NotAction\":\"\",\"Resource\":\"*\"}}"),
                        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:List:Bucket\",\"Resource\":\"*\"}}"),
                        "Actions/Condition can contain only one colon.");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"a a:ListBucket\",\"Resource\":\"*\"}}"),
                        "Vendor a a is not valid");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"invalid resource\"}}"),
                        "Resource invalid resource must be in ARN format or \"*\".");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"\"}}"),
                        "Resource  must be in ARN format or \"*\".");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws\"}}"),
                        "Resource vendor must be fully qualified and cannot contain regexes.");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"NotAction\":\"s3s:ListBucket\",\"Resource\":\"a:bsdfdsafsad\"}}"),
                        "Partition \"bsdfdsafsad\" is not valid for resource \"arn:bsdfdsafsad:*:*:*:*\".");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"aws:s3:::example_bucket\"}}"),
                        "Partition \"s3\" is not valid for resource \"arn:s3:::example_bucket:*\".");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"NotAction\":\"s3s:ListBucket\",\"Resource\":\"a:b:c:d:e:f:g:h\"}}"),
                        "Partition \"b\" is not valid for resource \"arn:b:c:d:e:f:g:h\".");
    /* Legacy parsing: case of Effect, short ARNs, dates. */
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"allow\","
                                       "\"Action\":\"s3:*\",\"Resource\":\"*\"}}"),
                        "The policy failed legacy parsing");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws:s3::example_bucket\"}}"),
                        "The policy failed legacy parsing");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws::::bucket\"}}"),
                        "The policy failed legacy parsing");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"*\","
                                       "\"Condition\":{\"DateGreaterThan\":{\"a\":\"sdfdsf\"}}}}"),
                        "The policy failed legacy parsing");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"*\","
                                       "\"Condition\":{\"DateLessThanEquals\":{\"a\":\"234-13\"}}}}"),
                        "The policy failed legacy parsing");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"sdf\","
                                       "\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"},"
                                       "{\"Sid\":\"sdf\",\"Effect\":\"Allow\"}]}"),
                        "Statement IDs (SID) in a single policy must be unique.");
    /* Things IAM accepts. */
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"iam: asdf safdsf af \",\"Resource\":\"arn:aws:s3:::b\"}}"),
                        "");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws:fdsasf\"}}"),
                        "");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"*\","
                                       "\"Condition\":{\"a\":{},\"DateGreaterThan\":{\"a\":[]}}}}"),
                        "");
    assert_string_equal(policy_err(ID, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                       "\"Action\":\"s3:ListBucket\",\"Resource\":\"*\","
                                       "\"Condition\":{\"DateGreaterThan\":{\"aws:CurrentTime\":"
                                       "\"2017-07-01T00:00:00Z\"},\"DateLessThan\":{\"aws:EpochTime\":\"1700000000\"}}}}"),
                        "");
}

static void test_resource_policy_messages(void **state)
{
    (void)state;
    assert_string_equal(policy_err(RES, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Principal\":\"*\","
                                        "\"Action\":\"s3:*\",\"Resource\":\"*\"}}"),
                        "Missing required field Effect");
    assert_string_equal(policy_err(RES, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                        "\"Principal\":\"*\",\"Resource\":\"*\"}}"),
                        "Missing required field Action");
    assert_string_equal(policy_err(RES, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                        "\"Action\":\"s3:*\",\"Resource\":\"*\"}}"),
                        "Missing required field Principal");
    assert_string_equal(policy_err(RES, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                        "\"Principal\":\"*\",\"Action\":\"s3:*\"}}"),
                        "Missing required field Resource");
    assert_string_equal(policy_err(RES, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                        "\"Principal\":{\"AWS\":\"not-an-account\"},\"Action\":\"s3:*\","
                                        "\"Resource\":\"*\"}}"),
                        "Invalid principal in policy");
    assert_string_equal(policy_err(RES, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                        "\"Principal\":{\"AWS\":\"arn:aws:iam::" ACCT ":user/*\"},"
                                        "\"Action\":\"s3:*\",\"Resource\":\"*\"}}"),
                        "Invalid principal in policy");
    assert_string_equal(policy_err(RES, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                        "\"Principal\":{\"Group\":\"x\"},\"Action\":\"s3:*\",\"Resource\":\"*\"}}"),
                        "Invalid principal in policy");
    assert_string_equal(policy_err(RES, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                        "\"Principal\":\"arn:aws:iam::" ACCT ":root\",\"Action\":\"s3:*\","
                                        "\"Resource\":\"*\"}}"),
                        "Invalid principal in policy");
    /* Every principal form AWS documents. */
    assert_string_equal(
        policy_err(RES, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{"
                        "\"AWS\":[\"" ACCT "\",\"arn:aws:iam::" ACCT ":root\",\"arn:aws:iam::" ACCT ":user/u\","
                        "\"arn:aws:iam::" ACCT ":role/path/r\",\"arn:aws:sts::" ACCT ":assumed-role/r/s\","
                        "\"arn:aws:sts::" ACCT ":federated-user/f\",\"AIDAJQABLZS4A3QDU576Q\",\"*\"],"
                        "\"Service\":[\"lambda.amazonaws.com\"],\"Federated\":\"cognito-identity.amazonaws.com\","
                        "\"CanonicalUser\":\"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be\"},"
                        "\"Action\":\"s3:*\",\"Resource\":\"arn:aws:s3:::b/*\"}}"),
        "");
}

static void test_trust_policy_messages(void **state)
{
    (void)state;
    assert_string_equal(policy_err(TRUST, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                          "\"Principal\":{\"Service\":\"lambda.amazonaws.com\"},"
                                          "\"Action\":\"sts:AssumeRole\"}}"),
                        "");
    assert_string_equal(policy_err(TRUST, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                          "\"Principal\":{\"Service\":\"ec2.amazonaws.com\"},"
                                          "\"Action\":\"sts:AssumeRole\",\"Resource\":\"*\"}}"),
                        "Has prohibited field Resource");
    assert_string_equal(policy_err(TRUST, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                          "\"Action\":\"sts:AssumeRole\"}}"),
                        "Missing required field Principal");
    assert_string_equal(policy_err(TRUST, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                          "\"Principal\":{\"AWS\":\"foo\"},\"Action\":\"sts:AssumeRole\"}}"),
                        "Invalid principal in policy: \"AWS\":\"foo\"");
    assert_string_equal(policy_err(TRUST, "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\","
                                          "\"Principal\":{\"AWS\":\"" ACCT "\"},\"Action\":\"s3:GetObject\"}}"),
                        "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  "
                        "and sts:AssumeRoleWithWebIdentity");
}

static void test_size_limits(void **state)
{
    (void)state;
    char err[256];
    bool over = false;
    const char *doc = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}";
    assert_null(iam_policy_parse(doc, strlen(doc), ID, 20, err, sizeof err, &over));
    assert_true(over);
    assert_string_equal(err, "Cannot exceed quota for PolicySize: 20");

    assert_null(iam_policy_parse(doc, strlen(doc), TRUST, 20, err, sizeof err, &over));
    assert_true(over);
    assert_string_equal(err, "Cannot exceed quota for ACLSizePerRole: 20");

    /* IAM does not count white space: a pretty-printed document of the
     * same content fits the same limit. */
    const char *pretty = "{\n    \"Statement\": {\n        \"Effect\": \"Allow\",\n        \"Action\": \"s3:*\",\n"
                         "        \"Resource\": \"*\"\n    }\n}\n";
    size_t compact = strlen(doc);
    iam_policy_t *p = iam_policy_parse(pretty, strlen(pretty), ID, compact, err, sizeof err, &over);
    assert_non_null(p);
    assert_false(over);
    iam_policy_free(p);
    /* Resource policies count every byte. */
    assert_null(iam_policy_parse(pretty, strlen(pretty), RES, compact, err, sizeof err, &over));
    assert_true(over);

    /* A syntax error is not a size error. */
    assert_null(iam_policy_parse("{", 1, ID, 100, err, sizeof err, &over));
    assert_false(over);
    assert_null(iam_policy_parse(NULL, 0, ID, 100, err, sizeof err, NULL));
    assert_string_equal(err, "Syntax errors in policy.");
}

static void test_positions(void **state)
{
    (void)state;
    const char *doc = "{\n"
                      "  \"Version\": \"2012-10-17\",\n"
                      "  \"Statement\": [\n"
                      "    {\"Sid\": \"One\", \"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": \"*\"},\n"
                      "    {\n"
                      "      \"Sid\": \"Two\",\n"
                      "      \"Effect\": \"Deny\",\n"
                      "      \"Action\": \"s3:GetObject\",\n"
                      "      \"Resource\": \"arn:aws:s3:::secret/*\"\n"
                      "    }\n"
                      "  ]\n"
                      "}\n";
    iam_policy_t *p = policy_ok(ID, doc);
    iam_principal_t pr = user_principal("alice");
    iam_request_t req = request("s3:GetObject", "arn:aws:s3:::secret/x", &pr);
    iam_explain_t ex;
    assert_int_equal(iam_policy_evaluate(p, "identity", "pol", &req, &ex), IAM_EXPLICIT_DENY);
    assert_int_equal(ex.nmatches, 2);
    assert_string_equal(ex.matches[0].sid, "One");
    assert_int_equal(ex.matches[0].start_line, 4);
    assert_int_equal(ex.matches[0].start_col, 5);
    assert_int_equal(ex.matches[0].end_line, 4);
    assert_int_equal(ex.matches[0].end_col, 80);
    assert_string_equal(ex.matches[1].sid, "Two");
    assert_false(ex.matches[1].effect_allow);
    assert_int_equal(ex.matches[1].statement_index, 1);
    assert_int_equal(ex.matches[1].start_line, 5);
    assert_int_equal(ex.matches[1].start_col, 5);
    assert_int_equal(ex.matches[1].end_line, 10);
    assert_int_equal(ex.matches[1].end_col, 5);
    assert_string_equal(ex.matches[1].policy_name, "pol");
    assert_string_equal(ex.matches[1].policy_kind, "identity");
    iam_policy_free(p);

    /* A single-object Statement, with an escaped key, and UTF-8 before it. */
    doc = "{\"Id\":\"\xc3\xa9t\xc3\xa9\",\"St\\u0061tement\":\n  {\"Effect\":\"Allow\",\"Action\":\"s3:*\","
          "\"Resource\":\"*\"}}";
    p = policy_ok(ID, doc);
    assert_int_equal(iam_policy_evaluate(p, "identity", "pol", &req, &ex), IAM_ALLOW);
    assert_int_equal(ex.matches[0].start_line, 2);
    assert_int_equal(ex.matches[0].start_col, 3);
    iam_policy_free(p);
}

int run_policy_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_forms),
        cmocka_unit_test(test_text_and_refcount),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_identity_messages),
        cmocka_unit_test(test_resource_policy_messages),
        cmocka_unit_test(test_trust_policy_messages),
        cmocka_unit_test(test_size_limits),
        cmocka_unit_test(test_positions),
    };
    return cmocka_run_group_tests_name("iam_policy", tests, NULL, NULL);
}
