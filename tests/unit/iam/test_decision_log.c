/* The decision log ring: ids, JSON shape, recency, ageing out, clearing. */
#include <stdio.h>

#include "helpers.h"

static void record(const char *action, iam_explain_t *ex_out, const char **id_out)
{
    iam_policy_t *p = policy_ok(IAM_POLICY_IDENTITY,
                                "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"S3\",\"Effect\":\"Allow\","
                                "\"Action\":\"s3:*\",\"Resource\":\"*\",\"Condition\":{\"StringEqualsIfExists\":"
                                "{\"s3:prefix\":\"a\"},\"StringNotEquals\":{\"aws:SourceVpc\":\"v\"}}}]}");
    iam_named_policy_t np[] = {{"inline:alice/s3", p}};
    iam_policy_set_t set = {.identity = np, .nidentity = 1};
    iam_principal_t pr = user_principal("alice");
    iam_request_t req = request(action, "arn:aws:s3:::b/k", &pr);
    static const char *const v[] = {"one", "two"};
    iam_ctx_value_t ctx[] = {{"s3:x", v, 2}, {"s3:y", v, 1}};
    req.context = ctx;
    req.ncontext = 2;
    req.source_ip = "192.0.2.1";
    iam_evaluate(&req, &set, ex_out);
    *id_out = iam_decision_log_add(&req, ex_out);
    iam_policy_free(p); /* the log keeps its own reference */
}

static void test_add_get(void **state)
{
    (void)state;
    iam_decision_log_clear();
    iam_explain_t ex;
    const char *id;
    record("s3:GetObject", &ex, &id);
    assert_non_null(id);
    assert_int_equal(strlen(id), 17); /* d-TAG-SEQ */
    assert_memory_equal(id, "d-", 2);
    char saved[32];
    snprintf(saved, sizeof saved, "%s", id);

    json_t *j = iam_decision_log_get(saved);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), saved);
    assert_string_equal(json_string_value(json_object_get(j, "decision")), "allowed");
    assert_string_equal(json_string_value(json_object_get(j, "action")), "s3:GetObject");
    assert_string_equal(json_string_value(json_object_get(j, "resource")), "arn:aws:s3:::b/k");
    assert_string_equal(json_string_value(json_object_get(j, "principal")), "arn:aws:iam::" ACCT ":user/alice");
    assert_non_null(json_string_value(json_object_get(j, "reason")));
    assert_non_null(json_string_value(json_object_get(j, "time")));
    json_t *ctx = json_object_get(j, "context");
    assert_true(json_is_array(json_object_get(ctx, "s3:x")));
    assert_string_equal(json_string_value(json_object_get(ctx, "s3:y")), "one");
    assert_string_equal(json_string_value(json_object_get(ctx, "aws:SourceIp")), "192.0.2.1");
    json_t *pols = json_object_get(j, "policies");
    assert_int_equal(json_array_size(pols), 1);
    json_t *m = json_array_get(pols, 0);
    assert_string_equal(json_string_value(json_object_get(m, "policy")), "inline:alice/s3");
    assert_string_equal(json_string_value(json_object_get(m, "sid")), "S3");
    assert_string_equal(json_string_value(json_object_get(m, "effect")), "Allow");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "start"), "line")), 1);
    json_t *missing = json_object_get(j, "missingContext");
    assert_int_equal(json_array_size(missing), 2);
    json_decref(j);

    assert_null(iam_decision_log_get("d-ffffffffffff"));
    assert_null(iam_decision_log_get("nonsense"));
    assert_null(iam_decision_log_get(NULL));
    assert_null(iam_decision_log_add(NULL, NULL));
}

static void test_recent_and_ageing(void **state)
{
    (void)state;
    iam_decision_log_clear();
    iam_explain_t ex;
    const char *id;
    char first[32];
    record("s3:GetObject", &ex, &id);
    snprintf(first, sizeof first, "%s", id);
    record("s3:PutObject", &ex, &id);
    record("sqs:SendMessage", &ex, &id);
    json_t *r = iam_decision_log_recent(2);
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "action")), "sqs:SendMessage");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 0), "decision")), "implicitDeny");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r, 1), "action")), "s3:PutObject");
    json_decref(r);
    r = iam_decision_log_recent(100);
    assert_int_equal(json_array_size(r), 3);
    json_decref(r);

    /* After a full ring the first entry has aged out. */
    for (int i = 0; i < 4096; i++)
        iam_decision_log_add(&(iam_request_t){.action = "s3:GetObject", .resource = "*"}, NULL);
    assert_null(iam_decision_log_get(first));
    r = iam_decision_log_recent(5000);
    assert_int_equal(json_array_size(r), 4096);
    json_decref(r);

    iam_decision_log_clear();
    r = iam_decision_log_recent(10);
    assert_int_equal(json_array_size(r), 0);
    json_decref(r);
}

int run_decision_log_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_get),
        cmocka_unit_test(test_recent_and_ageing),
    };
    return cmocka_run_group_tests_name("iam_decision_log", tests, NULL, NULL);
}
