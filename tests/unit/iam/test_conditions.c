/* Every condition operator, missing-key semantics, IfExists, the set
 * operators, and the global condition keys. */
#include <stdio.h>
#include <strings.h>

#include "helpers.h"

/* The request every test starts from; tests adjust it. */
static iam_principal_t pr;
static iam_request_t req;
static iam_explain_t ex;
static char missing[IAM_EXPLAIN_MAX_MISSING][64];
static size_t nmissing;

static int setup(void **state)
{
    (void)state;
    pr = user_principal("alice");
    req = request("s3:GetObject", "arn:aws:s3:::bucket/key", &pr);
    req.source_ip = "203.0.113.5";
    memset(&ex, 0, sizeof ex);
    return 0;
}

/* Does the Condition block (JSON) hold for the current request? */
static bool cond(const char *block)
{
    char doc[4096];
    snprintf(doc, sizeof doc,
             "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\","
             "\"Resource\":\"*\",\"Condition\":%s}}",
             block);
    iam_policy_t *p = policy_ok(IAM_POLICY_IDENTITY, doc);
    iam_decision_t d = iam_policy_evaluate(p, "identity", "cond", &req, &ex);
    /* The explanation points into the policy: copy what tests look at
     * before freeing it. */
    nmissing = ex.nmissing;
    for (size_t i = 0; i < ex.nmissing; i++)
        snprintf(missing[i], sizeof missing[i], "%s", ex.missing_context[i]);
    memset(&ex, 0, sizeof ex);
    iam_policy_free(p);
    return d == IAM_ALLOW;
}

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
/* Set a one-key request context; names are unique per line so nested
 * blocks may use it again without shadowing. */
#define CTX1(key, ...)                                                                                       \
    static const char *const CAT(ctxv_, __LINE__)[] = {__VA_ARGS__};                                         \
    static iam_ctx_value_t CAT(ctx_, __LINE__)[1];                                                           \
    CAT(ctx_, __LINE__)[0] = (iam_ctx_value_t){key, CAT(ctxv_, __LINE__),                                    \
                                               sizeof CAT(ctxv_, __LINE__) / sizeof CAT(ctxv_, __LINE__)[0]}; \
    req.context = CAT(ctx_, __LINE__);                                                                       \
    req.ncontext = 1

static void test_string(void **state)
{
    (void)state;
    CTX1("s3:prefix", "home/alice/");
    assert_true(cond("{\"StringEquals\":{\"s3:prefix\":\"home/alice/\"}}"));
    assert_false(cond("{\"StringEquals\":{\"s3:prefix\":\"HOME/alice/\"}}"));
    /* Values of one key are ORed. */
    assert_true(cond("{\"StringEquals\":{\"s3:prefix\":[\"x\",\"home/alice/\"]}}"));
    /* Wildcards mean nothing to StringEquals. */
    assert_false(cond("{\"StringEquals\":{\"s3:prefix\":\"home/*\"}}"));
    /* Key names are case-insensitive. */
    assert_true(cond("{\"StringEquals\":{\"S3:PREFIX\":\"home/alice/\"}}"));
    assert_false(cond("{\"StringNotEquals\":{\"s3:prefix\":\"home/alice/\"}}"));
    assert_true(cond("{\"StringNotEquals\":{\"s3:prefix\":[\"a\",\"b\"]}}"));
    assert_false(cond("{\"StringNotEquals\":{\"s3:prefix\":[\"a\",\"home/alice/\"]}}"));
    assert_true(cond("{\"StringEqualsIgnoreCase\":{\"s3:prefix\":\"HOME/Alice/\"}}"));
    assert_false(cond("{\"StringEqualsIgnoreCase\":{\"s3:prefix\":\"home/bob/\"}}"));
    assert_false(cond("{\"StringNotEqualsIgnoreCase\":{\"s3:prefix\":\"HOME/ALICE/\"}}"));
    assert_true(cond("{\"StringNotEqualsIgnoreCase\":{\"s3:prefix\":\"home/bob/\"}}"));
    assert_true(cond("{\"StringLike\":{\"s3:prefix\":\"home/*\"}}"));
    assert_true(cond("{\"StringLike\":{\"s3:prefix\":\"home/al?ce/\"}}"));
    assert_false(cond("{\"StringLike\":{\"s3:prefix\":\"Home/*\"}}"));
    assert_true(cond("{\"StringLike\":{\"s3:prefix\":[\"\",\"home/\",\"home/${aws:username}/\"]}}"));
    assert_false(cond("{\"StringNotLike\":{\"s3:prefix\":\"home/*\"}}"));
    assert_true(cond("{\"StringNotLike\":{\"s3:prefix\":\"tmp/*\"}}"));
    /* Policy variables in string values. */
    assert_true(cond("{\"StringEquals\":{\"s3:prefix\":\"home/${aws:username}/\"}}"));
    assert_false(cond("{\"StringEquals\":{\"s3:prefix\":\"home/${aws:userid}/\"}}"));
}

static void test_missing_keys(void **state)
{
    (void)state;
    /* Positive operators are false on a missing key ... */
    assert_false(cond("{\"StringEquals\":{\"s3:prefix\":\"x\"}}"));
    assert_false(cond("{\"StringLike\":{\"s3:prefix\":\"*\"}}"));
    assert_false(cond("{\"NumericLessThan\":{\"s3:max-keys\":\"10\"}}"));
    assert_false(cond("{\"DateGreaterThan\":{\"aws:TokenIssueTime\":\"2020-01-01T00:00:01Z\"}}"));
    assert_false(cond("{\"ArnLike\":{\"aws:SourceArn\":\"*\"}}"));
    assert_false(cond("{\"Bool\":{\"aws:MultiFactorAuthPresent\":\"false\"}}"));
    assert_false(cond("{\"BinaryEquals\":{\"k\":\"QQ==\"}}"));
    /* ... negated ones true ... */
    assert_true(cond("{\"StringNotEquals\":{\"s3:prefix\":\"x\"}}"));
    assert_true(cond("{\"StringNotEqualsIgnoreCase\":{\"s3:prefix\":\"x\"}}"));
    assert_true(cond("{\"StringNotLike\":{\"s3:prefix\":\"*\"}}"));
    assert_true(cond("{\"NumericNotEquals\":{\"s3:max-keys\":\"10\"}}"));
    assert_true(cond("{\"DateNotEquals\":{\"aws:TokenIssueTime\":\"2020-01-01\"}}"));
    assert_true(cond("{\"ArnNotLike\":{\"aws:SourceArn\":\"*\"}}"));
    assert_true(cond("{\"ArnNotEquals\":{\"aws:SourceArn\":\"arn:aws:s3:::b\"}}"));
    /* ... and IfExists true. */
    assert_true(cond("{\"StringEqualsIfExists\":{\"s3:prefix\":\"x\"}}"));
    assert_true(cond("{\"BoolIfExists\":{\"aws:MultiFactorAuthPresent\":\"true\"}}"));
    assert_true(cond("{\"NumericLessThanIfExists\":{\"s3:max-keys\":\"10\"}}"));
    assert_true(cond("{\"StringNotLikeIfExists\":{\"s3:prefix\":\"x\"}}"));
    /* The explanation lists the keys that were referenced but absent. */
    assert_false(cond("{\"StringEquals\":{\"s3:prefix\":\"x\",\"aws:SourceVpc\":\"v\"}}"));
    assert_int_equal(nmissing, 2); /* with an explanation, every missing key is reported */
    assert_true(cond("{\"StringNotEquals\":{\"s3:prefix\":\"x\",\"aws:SourceVpc\":\"v\"}}"));
    assert_int_equal(nmissing, 2);
    assert_true(strcasecmp(missing[0], "s3:prefix") == 0 || strcasecmp(missing[1], "s3:prefix") == 0);
    /* IfExists on a present key still checks the value. */
    CTX1("s3:prefix", "a");
    assert_false(cond("{\"StringEqualsIfExists\":{\"s3:prefix\":\"x\"}}"));
    assert_true(cond("{\"StringEqualsIfExists\":{\"s3:prefix\":\"a\"}}"));
}

static void test_numeric(void **state)
{
    (void)state;
    CTX1("s3:max-keys", "10");
    assert_true(cond("{\"NumericEquals\":{\"s3:max-keys\":\"10\"}}"));
    assert_true(cond("{\"NumericEquals\":{\"s3:max-keys\":10}}"));
    assert_true(cond("{\"NumericEquals\":{\"s3:max-keys\":\"10.0\"}}"));
    assert_false(cond("{\"NumericEquals\":{\"s3:max-keys\":\"11\"}}"));
    assert_true(cond("{\"NumericNotEquals\":{\"s3:max-keys\":\"11\"}}"));
    assert_false(cond("{\"NumericNotEquals\":{\"s3:max-keys\":\"10\"}}"));
    assert_true(cond("{\"NumericLessThan\":{\"s3:max-keys\":\"11\"}}"));
    assert_false(cond("{\"NumericLessThan\":{\"s3:max-keys\":\"10\"}}"));
    assert_true(cond("{\"NumericLessThanEquals\":{\"s3:max-keys\":\"10\"}}"));
    assert_false(cond("{\"NumericLessThanEquals\":{\"s3:max-keys\":\"9.5\"}}"));
    assert_true(cond("{\"NumericGreaterThan\":{\"s3:max-keys\":\"-1e1\"}}"));
    assert_false(cond("{\"NumericGreaterThan\":{\"s3:max-keys\":\"10\"}}"));
    assert_true(cond("{\"NumericGreaterThanEquals\":{\"s3:max-keys\":\"10\"}}"));
    assert_false(cond("{\"NumericGreaterThanEquals\":{\"s3:max-keys\":\"10.01\"}}"));
    /* Policy variables are not expanded for numeric operators. */
    assert_false(cond("{\"NumericEquals\":{\"s3:max-keys\":\"${s3:max-keys}\"}}"));
    /* A request value that is not a number never matches. */
    {
        CTX1("s3:max-keys", "ten");
        assert_false(cond("{\"NumericLessThan\":{\"s3:max-keys\":\"100\"}}"));
    }
}

static void test_date(void **state)
{
    (void)state;
    /* The test clock: 1700000000 = 2023-11-14T22:13:20Z. */
    assert_true(cond("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2023-01-01T00:00:00Z\"}}"));
    assert_false(cond("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2024-01-01T00:00:00Z\"}}"));
    /* Digits only are epoch seconds, as IAM reads them: 2024 s is 1970. */
    assert_false(cond("{\"DateLessThan\":{\"aws:CurrentTime\":\"2024\"}}"));
    assert_true(cond("{\"DateLessThan\":{\"aws:CurrentTime\":\"2024-01-01\"}}"));
    assert_true(cond("{\"DateLessThan\":{\"aws:CurrentTime\":\"1800000000\"}}"));
    assert_true(cond("{\"DateEquals\":{\"aws:CurrentTime\":\"2023-11-14T22:13:20Z\"}}"));
    assert_true(cond("{\"DateEquals\":{\"aws:CurrentTime\":\"2023-11-14T23:13:20+01:00\"}}"));
    assert_true(cond("{\"DateEquals\":{\"aws:CurrentTime\":\"2023-11-14T22:13:20.000Z\"}}"));
    assert_true(cond("{\"DateEquals\":{\"aws:EpochTime\":\"1700000000\"}}"));
    assert_false(cond("{\"DateNotEquals\":{\"aws:EpochTime\":\"2023-11-14T22:13:20Z\"}}"));
    assert_true(cond("{\"DateNotEquals\":{\"aws:CurrentTime\":\"2023-11-14T22:13:21Z\"}}"));
    assert_true(cond("{\"DateLessThanEquals\":{\"aws:CurrentTime\":\"2023-11-14T22:13:20Z\"}}"));
    assert_false(cond("{\"DateLessThanEquals\":{\"aws:CurrentTime\":\"2023-11-14T22:13:19Z\"}}"));
    assert_true(cond("{\"DateGreaterThanEquals\":{\"aws:CurrentTime\":\"2023-11-14T22:13:20Z\"}}"));
    assert_false(cond("{\"DateGreaterThanEquals\":{\"aws:CurrentTime\":\"2023-11-14T22:13:21Z\"}}"));
    /* aws:EpochTime also works with numeric operators. */
    assert_true(cond("{\"NumericGreaterThan\":{\"aws:EpochTime\":\"1600000000\"}}"));
    /* A window: two operators are ANDed. */
    assert_true(cond("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2023-11-01T00:00:00Z\"},"
                     "\"DateLessThan\":{\"aws:CurrentTime\":\"2023-12-01T00:00:00Z\"}}"));
    assert_false(cond("{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2023-11-01T00:00:00Z\"},"
                      "\"DateLessThan\":{\"aws:CurrentTime\":\"2023-11-02T00:00:00Z\"}}"));
}

static void test_bool_binary_ip(void **state)
{
    (void)state;
    assert_true(cond("{\"Bool\":{\"aws:SecureTransport\":\"true\"}}"));
    assert_true(cond("{\"Bool\":{\"aws:SecureTransport\":true}}"));
    assert_true(cond("{\"Bool\":{\"aws:SecureTransport\":\"TRUE\"}}"));
    assert_false(cond("{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"));
    req.secure_transport = false;
    assert_true(cond("{\"Bool\":{\"aws:SecureTransport\":\"false\"}}"));

    {
        CTX1("k", "QmluYXJ5VmFsdWVJbkJhc2U2NA==");
        assert_true(cond("{\"BinaryEquals\":{\"k\":\"QmluYXJ5VmFsdWVJbkJhc2U2NA==\"}}"));
        assert_false(cond("{\"BinaryEquals\":{\"k\":\"QQ==\"}}"));
    }
    {
        CTX1("k", "BinaryValueInBase64");
        assert_true(cond("{\"BinaryEquals\":{\"k\":\"QmluYXJ5VmFsdWVJbkJhc2U2NA==\"}}"));
    }

    assert_true(cond("{\"IpAddress\":{\"aws:SourceIp\":\"203.0.113.0/24\"}}"));
    assert_true(cond("{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"203.0.113.0/24\"]}}"));
    assert_false(cond("{\"IpAddress\":{\"aws:SourceIp\":\"198.51.100.0/24\"}}"));
    assert_true(cond("{\"IpAddress\":{\"aws:SourceIp\":\"203.0.113.5\"}}"));
    assert_false(cond("{\"IpAddress\":{\"aws:SourceIp\":\"203.0.113.6\"}}"));
    assert_true(cond("{\"IpAddress\":{\"aws:SourceIp\":\"0.0.0.0/0\"}}"));
    assert_true(cond("{\"IpAddress\":{\"aws:SourceIp\":\"203.0.112.0/23\"}}"));
    assert_false(cond("{\"NotIpAddress\":{\"aws:SourceIp\":\"203.0.113.0/24\"}}"));
    assert_true(cond("{\"NotIpAddress\":{\"aws:SourceIp\":\"198.51.100.0/24\"}}"));
    assert_false(cond("{\"IpAddress\":{\"aws:SourceIp\":\"2001:DB8:1234:5678::/64\"}}"));
    req.source_ip = "2001:db8:1234:5678::1";
    assert_true(cond("{\"IpAddress\":{\"aws:SourceIp\":[\"203.0.113.0/24\",\"2001:DB8:1234:5678::/64\"]}}"));
    assert_false(cond("{\"IpAddress\":{\"aws:SourceIp\":\"2001:DB8:1234:5679::/64\"}}"));
    req.source_ip = NULL;
    assert_false(cond("{\"IpAddress\":{\"aws:SourceIp\":\"0.0.0.0/0\"}}"));
    assert_true(cond("{\"NotIpAddress\":{\"aws:SourceIp\":\"203.0.113.0/24\"}}"));
}

static void test_arn(void **state)
{
    (void)state;
    CTX1("aws:SourceArn", "arn:aws:sns:us-east-1:" ACCT ":topic");
    assert_true(cond("{\"ArnEquals\":{\"aws:SourceArn\":\"arn:aws:sns:us-east-1:" ACCT ":topic\"}}"));
    assert_true(cond("{\"ArnLike\":{\"AWS:SourceArn\":\"arn:aws:sns:*:" ACCT ":*\"}}"));
    /* ArnEquals and ArnLike behave identically, wildcards included. */
    assert_true(cond("{\"ArnEquals\":{\"aws:SourceArn\":\"arn:aws:sns:*:*:to?ic\"}}"));
    assert_false(cond("{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:sns:*:" OTHER_ACCT ":*\"}}"));
    assert_false(cond("{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:sqs:*:*:*\"}}"));
    assert_true(cond("{\"ArnNotLike\":{\"aws:SourceArn\":\"arn:aws:sqs:*:*:*\"}}"));
    assert_false(cond("{\"ArnNotEquals\":{\"aws:SourceArn\":\"arn:aws:sns:us-east-1:" ACCT ":topic\"}}"));
    /* The region wildcard cannot swallow the account. */
    assert_false(cond("{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:sns:*:topic\"}}"));
    /* Policy variables work with ARN operators. */
    assert_true(cond("{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:sns:*:${aws:PrincipalAccount}:*\"}}"));
    /* A value that is not an ARN never matches. */
    {
        CTX1("aws:SourceArn", "topic");
        assert_false(cond("{\"ArnLike\":{\"aws:SourceArn\":\"*\"}}"));
        assert_true(cond("{\"StringLike\":{\"aws:SourceArn\":\"*\"}}"));
    }
}

static void test_null(void **state)
{
    (void)state;
    assert_true(cond("{\"Null\":{\"aws:TokenIssueTime\":\"true\"}}"));
    assert_false(cond("{\"Null\":{\"aws:TokenIssueTime\":\"false\"}}"));
    assert_true(cond("{\"Null\":{\"aws:TokenIssueTime\":true}}"));
    CTX1("aws:TokenIssueTime", "2023-11-14T00:00:00Z");
    assert_false(cond("{\"Null\":{\"aws:TokenIssueTime\":\"true\"}}"));
    assert_true(cond("{\"Null\":{\"aws:TokenIssueTime\":\"false\"}}"));
    /* Keys derived from the principal count as present. */
    assert_true(cond("{\"Null\":{\"aws:username\":\"false\"}}"));
}

static void test_set_operators(void **state)
{
    (void)state;
    {
        CTX1("dynamodb:requestedAttributes", "PostDateTime", "Message");
        assert_true(cond("{\"ForAllValues:StringLike\":{\"dynamodb:requestedAttributes\":"
                         "[\"PostDateTime\",\"Message\",\"Tags\"]}}"));
        assert_true(cond("{\"ForAnyValue:StringLike\":{\"dynamodb:requestedAttributes\":[\"ID\",\"PostDateTime\"]}}"));
        assert_false(cond("{\"ForAnyValue:StringEquals\":{\"dynamodb:requestedAttributes\":[\"ID\",\"UserName\"]}}"));
        assert_true(cond("{\"ForAllValues:StringNotEquals\":{\"dynamodb:requestedAttributes\":[\"ID\"]}}"));
        assert_false(cond("{\"ForAllValues:StringNotEquals\":{\"dynamodb:requestedAttributes\":[\"Message\"]}}"));
        assert_true(cond("{\"ForAnyValue:StringNotEquals\":{\"dynamodb:requestedAttributes\":[\"Message\"]}}"));
        /* Without a set operator a positive operator matches on any value
         * and a negated one only if no value matches. */
        assert_true(cond("{\"StringEquals\":{\"dynamodb:requestedAttributes\":\"Message\"}}"));
        assert_false(cond("{\"StringNotEquals\":{\"dynamodb:requestedAttributes\":\"Message\"}}"));
    }
    {
        CTX1("dynamodb:requestedAttributes", "PostDateTime", "UserName");
        assert_false(cond("{\"ForAllValues:StringLike\":{\"dynamodb:requestedAttributes\":"
                          "[\"PostDateTime\",\"Message\",\"Tags\"]}}"));
    }
    /* Missing key: ForAllValues true, ForAnyValue false. */
    req.context = NULL;
    req.ncontext = 0;
    assert_true(cond("{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"Department\"]}}"));
    assert_false(cond("{\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":[\"Department\"]}}"));
    assert_true(cond("{\"ForAnyValue:StringEqualsIfExists\":{\"aws:TagKeys\":[\"Department\"]}}"));
    /* An empty set behaves the same. */
    iam_ctx_value_t empty[] = {{"aws:TagKeys", NULL, 0}};
    req.context = empty;
    req.ncontext = 1;
    assert_true(cond("{\"ForAllValues:StringEquals\":{\"aws:TagKeys\":[\"Department\"]}}"));
    assert_false(cond("{\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":[\"Department\"]}}"));
    /* aws:CalledVia is multi-valued. */
    CTX1("aws:CalledVia", "cloudformation.amazonaws.com", "dynamodb.amazonaws.com");
    assert_true(cond("{\"ForAnyValue:StringEquals\":{\"aws:CalledVia\":[\"dynamodb.amazonaws.com\"]}}"));
}

static void test_and_or(void **state)
{
    (void)state;
    static const char *const a[] = {"a"}, *const b[] = {"b"};
    iam_ctx_value_t ctx[] = {{"k1", a, 1}, {"k2", b, 1}};
    req.context = ctx;
    req.ncontext = 2;
    /* Several keys under one operator are ANDed. */
    assert_true(cond("{\"StringEquals\":{\"k1\":\"a\",\"k2\":\"b\"}}"));
    assert_false(cond("{\"StringEquals\":{\"k1\":\"a\",\"k2\":\"x\"}}"));
    /* Several operators are ANDed. */
    assert_true(cond("{\"StringEquals\":{\"k1\":\"a\"},\"StringLike\":{\"k2\":\"?\"}}"));
    assert_false(cond("{\"StringEquals\":{\"k1\":\"a\"},\"StringLike\":{\"k2\":\"??\"}}"));
    /* An unknown operator with nothing under it is ignored. */
    assert_true(cond("{\"StringEquals\":{\"k1\":\"a\"},\"Whatever\":{}}"));
}

static void test_global_keys(void **state)
{
    (void)state;
    iam_tag_t tags[] = {{"CostCenter", "12345"}};
    pr.tags = tags;
    pr.ntags = 1;
    assert_true(cond("{\"StringEquals\":{\"aws:PrincipalArn\":\"arn:aws:iam::" ACCT ":user/alice\"}}"));
    assert_true(cond("{\"StringEquals\":{\"aws:PrincipalAccount\":\"" ACCT "\"}}"));
    assert_true(cond("{\"StringEquals\":{\"aws:PrincipalType\":\"User\"}}"));
    assert_true(cond("{\"StringEquals\":{\"aws:username\":\"alice\"}}"));
    assert_true(cond("{\"StringLike\":{\"aws:userid\":\"AIDA*\"}}"));
    assert_true(cond("{\"StringEquals\":{\"aws:PrincipalTag/costcenter\":[\"12345\",\"67890\"]}}"));
    assert_false(cond("{\"StringEquals\":{\"aws:PrincipalTag/Other\":\"x\"}}"));
    assert_true(cond("{\"StringEquals\":{\"aws:RequestedRegion\":\"us-east-1\"}}"));
    assert_true(cond("{\"Bool\":{\"aws:ViaAWSService\":\"false\"}}"));
    assert_true(cond("{\"Bool\":{\"aws:PrincipalIsAWSService\":\"false\"}}"));
    assert_false(cond("{\"StringEquals\":{\"aws:PrincipalServiceName\":\"s3.amazonaws.com\"}}"));

    /* For a role session aws:PrincipalArn is the role, not the session. */
    iam_principal_t role = role_session("app", "s1");
    req.principal = &role;
    assert_true(cond("{\"ArnEquals\":{\"aws:PrincipalArn\":\"arn:aws:iam::" ACCT ":role/app\"}}"));
    assert_false(cond("{\"StringEquals\":{\"aws:username\":\"alice\"}}"));
    assert_true(cond("{\"StringEquals\":{\"aws:PrincipalType\":\"AssumedRole\"}}"));

    /* Context values may override nothing derived but add anything. */
    static const char *const src[] = {"arn:aws:s3:::b"}, *const acct[] = {ACCT};
    iam_ctx_value_t ctx[] = {{"aws:SourceArn", src, 1}, {"aws:SourceAccount", acct, 1}};
    req.context = ctx;
    req.ncontext = 2;
    assert_true(cond("{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:s3:::b\"},"
                     "\"StringEquals\":{\"aws:SourceAccount\":\"" ACCT "\"}}"));
    pr.tags = NULL;
    pr.ntags = 0;
}

int run_condition_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_string, setup),
        cmocka_unit_test_setup(test_missing_keys, setup),
        cmocka_unit_test_setup(test_numeric, setup),
        cmocka_unit_test_setup(test_date, setup),
        cmocka_unit_test_setup(test_bool_binary_ip, setup),
        cmocka_unit_test_setup(test_arn, setup),
        cmocka_unit_test_setup(test_null, setup),
        cmocka_unit_test_setup(test_set_operators, setup),
        cmocka_unit_test_setup(test_and_or, setup),
        cmocka_unit_test_setup(test_global_keys, setup),
    };
    return cmocka_run_group_tests_name("iam_conditions", tests, NULL, NULL);
}
