/* Unit tests for the protocol codecs: query decoding into the canonical
 * tree (lists, flattened lists, flattened maps, nested structures), output
 * XML as botocore parses it, error shapes per protocol, validation. */
#include "protocol/protocol.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static json_t *decode(const char *svc_name, const char *op_name, const char *form, aws_error_t *err)
{
    const model_service_t *svc = model_service_lookup(svc_name);
    assert_non_null(svc);
    const model_op_t *op = model_op_lookup(svc, strv_from(op_name));
    assert_non_null(op);
    arena_t a;
    arena_init(&a);
    form_param_t *ps;
    int n = form_parse(&a, strv_from(form), &ps, 1000);
    assert_true(n >= 0);
    json_t *j = proto_query_decode(svc, op, ps, (size_t)n, err);
    arena_destroy(&a);
    return j;
}

static void test_form_parse_decodes_percent_and_plus(void **st)
{
    arena_t a;
    arena_init(&a);
    form_param_t *ps;
    int n = form_parse(&a, strv_from("Action=SendMessage&MessageBody=hello+world%21&Empty=&Flag"), &ps, 10);
    assert_int_equal(n, 4);
    assert_true(strv_eq_cstr(ps[1].value, "hello world!"));
    assert_true(strv_eq_cstr(ps[2].key, "Empty"));
    assert_int_equal(ps[2].value.len, 0);
    assert_true(strv_eq_cstr(ps[3].key, "Flag"));
    assert_int_equal(form_parse(&a, strv_from("a=1&b=2&c=3"), &ps, 2), KYOKA_ELIMIT);
    arena_destroy(&a);
}

static void test_query_flattened_map_and_list(void **st)
{
    aws_error_t err = {0};
    json_t *j = decode("sqs", "CreateQueue",
                       "Action=CreateQueue&QueueName=q1&Attribute.1.Name=DelaySeconds&Attribute.1.Value=5"
                       "&Attribute.2.Name=VisibilityTimeout&Attribute.2.Value=30&Tag.1.Key=env&Tag.1.Value=dev",
                       &err);
    assert_non_null(j);
    assert_null(err.code);
    assert_string_equal(json_string_value(json_object_get(j, "QueueName")), "q1");
    json_t *attrs = json_object_get(j, "Attributes");
    assert_string_equal(json_string_value(json_object_get(attrs, "DelaySeconds")), "5");
    assert_string_equal(json_string_value(json_object_get(attrs, "VisibilityTimeout")), "30");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "tags"), "env")), "dev");
    json_decref(j);
}

static void test_query_nested_batch_entries(void **st)
{
    aws_error_t err = {0};
    json_t *j = decode("sqs", "SendMessageBatch",
                       "QueueUrl=http://x/000000000000/q"
                       "&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one"
                       "&SendMessageBatchRequestEntry.1.DelaySeconds=3"
                       "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=k"
                       "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String"
                       "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=v"
                       "&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=two",
                       &err);
    assert_non_null(j);
    json_t *entries = json_object_get(j, "Entries");
    assert_int_equal(json_array_size(entries), 2);
    json_t *e1 = json_array_get(entries, 0);
    assert_string_equal(json_string_value(json_object_get(e1, "MessageBody")), "one");
    assert_int_equal(json_integer_value(json_object_get(e1, "DelaySeconds")), 3);
    json_t *attr = json_object_get(json_object_get(e1, "MessageAttributes"), "k");
    assert_string_equal(json_string_value(json_object_get(attr, "StringValue")), "v");
    json_decref(j);
}

static void test_query_member_list(void **st)
{
    aws_error_t err = {0};
    json_t *j = decode("iam", "SimulateCustomPolicy",
                       "PolicyInputList.member.1=%7B%7D&ActionNames.member.1=s3%3AGetObject"
                       "&ActionNames.member.2=s3%3APutObject",
                       &err);
    assert_non_null(j);
    json_t *names = json_object_get(j, "ActionNames");
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_array_get(names, 1)), "s3:PutObject");
    json_decref(j);
}

static void test_query_bad_integer(void **st)
{
    aws_error_t err = {0};
    json_t *j = decode("sqs", "ReceiveMessage", "QueueUrl=u&MaxNumberOfMessages=ten", &err);
    assert_null(j);
    assert_string_equal(err.code, "InvalidParameterValue");
    assert_non_null(strstr(err.message, "MaxNumberOfMessages"));
}

static void test_validate_required(void **st)
{
    const model_service_t *svc = model_service_lookup("sqs");
    const model_op_t *op = model_op_lookup(svc, STRV_LIT("SendMessage"));
    json_t *in = json_pack("{s:s}", "QueueUrl", "u");
    aws_error_t err = {0};
    assert_false(proto_validate_input(svc, op, in, &err));
    assert_string_equal(err.code, "MissingParameter");
    assert_string_equal(err.message, "The request must contain the parameter MessageBody.");
    json_decref(in);
    in = json_pack("{s:s,s:i}", "QueueUrl", "u", "MessageBody", 5);
    err = (aws_error_t){0};
    assert_false(proto_validate_input(svc, op, in, &err));
    assert_string_equal(err.code, "SerializationException");
    json_decref(in);
}

static void test_query_encode_flattened(void **st)
{
    const model_service_t *svc = model_service_lookup("sqs");
    const model_op_t *op = model_op_lookup(svc, STRV_LIT("ReceiveMessage"));
    json_t *out = json_pack("{s:[{s:s,s:s,s:{s:s}}]}", "Messages", "MessageId", "m1", "Body", "a<b",
                            "Attributes", "SentTimestamp", "1");
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(proto_query_encode(svc, op, out, "rid", &b), 0);
    assert_non_null(strstr(b.data, "<ReceiveMessageResult><Message><MessageId>m1</MessageId>"));
    assert_non_null(strstr(b.data, "<Body>a&lt;b</Body>"));
    assert_non_null(strstr(b.data, "<Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>"));
    assert_non_null(strstr(b.data, "<RequestId>rid</RequestId>"));
    json_decref(out);
    buf_destroy(&b);
}

static void test_query_encode_timestamp_and_member_list(void **st)
{
    const model_service_t *svc = model_service_lookup("iam");
    const model_op_t *op = model_op_lookup(svc, STRV_LIT("ListRoles"));
    json_t *out = json_pack("{s:[{s:s,s:i}],s:b}", "Roles", "RoleName", "r", "CreateDate", 0, "IsTruncated", 0);
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(proto_query_encode(svc, op, out, "rid", &b), 0);
    assert_non_null(strstr(b.data, "<Roles><member><RoleName>r</RoleName><CreateDate>1970-01-01T00:00:00Z</CreateDate></member></Roles>"));
    assert_non_null(strstr(b.data, "<IsTruncated>false</IsTruncated>"));
    json_decref(out);
    buf_destroy(&b);
}

static void test_error_shapes(void **st)
{
    const model_service_t *svc = model_service_lookup("sqs");
    aws_error_t err = {.code = "QueueDoesNotExist", .status = 400, .sender = true};
    snprintf(err.message, sizeof err.message, "The specified queue does not exist.");
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(proto_query_encode_error(svc, &err, "rid", &b), 0);
    assert_non_null(strstr(b.data, "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>"));
    assert_non_null(strstr(b.data, "<Type>Sender</Type>"));
    buf_reset(&b);
    arena_t a;
    arena_init(&a);
    const char *qe = NULL;
    assert_int_equal(proto_json_encode_error(svc, &err, &a, &b, &qe), 0);
    assert_non_null(strstr(b.data, "\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\""));
    assert_string_equal(qe, "AWS.SimpleQueueService.NonExistentQueue;Sender");
    arena_destroy(&a);
    buf_destroy(&b);
}

static void test_base64_roundtrip(void **st)
{
    arena_t a;
    arena_init(&a);
    const char *in = "any carnal pleas";
    for (size_t n = 0; n <= strlen(in); n++) {
        char *e = base64_encode(&a, in, n);
        unsigned char *d;
        ssize_t dn = base64_decode(&a, strv_from(e), &d);
        assert_int_equal(dn, (ssize_t)n);
        assert_memory_equal(d, in, n);
    }
    unsigned char *d;
    assert_int_equal(base64_decode(&a, STRV_LIT("abc"), &d), -1);
    assert_int_equal(base64_decode(&a, STRV_LIT("ab=c"), &d), -1);
    arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_form_parse_decodes_percent_and_plus),
        cmocka_unit_test(test_query_flattened_map_and_list),
        cmocka_unit_test(test_query_nested_batch_entries),
        cmocka_unit_test(test_query_member_list),
        cmocka_unit_test(test_query_bad_integer),
        cmocka_unit_test(test_validate_required),
        cmocka_unit_test(test_query_encode_flattened),
        cmocka_unit_test(test_query_encode_timestamp_and_member_list),
        cmocka_unit_test(test_error_shapes),
        cmocka_unit_test(test_base64_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
