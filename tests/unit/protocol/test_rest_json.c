/* Unit tests for the REST-JSON codec against the generated Lambda model:
 * routing of every operation from its own template plus the tricky routes,
 * decoding of URI labels, query parameters, headers, raw payloads and JSON
 * bodies, encoding of status, headers and bodies, and Lambda-style
 * validation messages. A small hand-built model covers what Lambda's model
 * does not use (greedy labels, header lists and timestamps, prefix header
 * maps, query maps, renamed JSON keys, ISO 8601 body timestamps, structure
 * payloads). */
#include "protocol/protocol.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static const model_service_t *lambda(void)
{
    const model_service_t *svc = model_service_lookup("lambda");
    assert_non_null(svc);
    return svc;
}

static const model_op_t *op_named(const model_service_t *svc, const char *name)
{
    const model_op_t *op = model_op_lookup(svc, strv_from(name));
    assert_non_null(op);
    return op;
}

static const model_op_t *route(const char *method, const char *path, const char *query)
{
    return proto_rest_match(lambda(), strv_from(method), strv_from(path), strv_from(query));
}

static void assert_route(const char *method, const char *path, const char *query, const char *want)
{
    const model_op_t *op = route(method, path, query);
    if (!want) {
        if (op)
            fail_msg("%s %s?%s routed to %s, expected none", method, path, query, op->name);
        return;
    }
    if (!op || strcmp(op->name, want) != 0)
        fail_msg("%s %s?%s routed to %s, expected %s", method, path, query, op ? op->name : "(none)", want);
}

/* A request path built from a template: each label becomes a value. */
static void path_from_template(const char *uri, char *path, size_t cap, char *query, size_t qcap)
{
    size_t o = 0;
    const char *q = strchr(uri, '?');
    const char *end = q ? q : uri + strlen(uri);
    for (const char *p = uri; p < end && o + 8 < cap;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            bool greedy = close[-1] == '+';
            const char *v = greedy ? "dir/file" : "x1";
            size_t n = strlen(v);
            memcpy(path + o, v, n);
            o += n;
            p = close + 1;
        } else {
            path[o++] = *p++;
        }
    }
    path[o] = '\0';
    snprintf(query, qcap, "%s", q ? q + 1 : "");
}

static void test_match_every_lambda_operation(void **st)
{
    const model_service_t *svc = lambda();
    assert_true(svc->nops >= 60);
    assert_int_equal(svc->kind, PROTO_REST_JSON);
    for (int i = 0; i < svc->nops; i++) {
        const model_op_t *op = &svc->ops[i];
        char path[512], query[128];
        path_from_template(op->request_uri, path, sizeof path, query, sizeof query);
        assert_route(op->http_method, path, query, op->name);
        /* The same with the trailing slash toggled. */
        size_t n = strlen(path);
        if (n > 1 && path[n - 1] == '/')
            path[n - 1] = '\0';
        else
            snprintf(path + n, sizeof path - n, "/");
        assert_route(op->http_method, path, query, op->name);
    }
}

static void test_match_tricky_routes(void **st)
{
    /* botocore sends ListFunctions' template exactly; others drop the slash. */
    assert_route("GET", "/2015-03-31/functions/", "", "ListFunctions");
    assert_route("GET", "/2015-03-31/functions", "", "ListFunctions");
    assert_route("GET", "/2015-03-31/functions/", "MaxItems=5&Marker=abc", "ListFunctions");
    assert_route("POST", "/2015-03-31/functions", "", "CreateFunction");
    assert_route("POST", "/2015-03-31/functions/", "", "CreateFunction");
    /* A longer template beats a shorter one with a label. */
    assert_route("GET", "/2015-03-31/functions/my-fn", "", "GetFunction");
    assert_route("GET", "/2015-03-31/functions/my-fn/versions", "", "ListVersionsByFunction");
    assert_route("GET", "/2015-03-31/functions/my-fn/configuration", "Qualifier=1", "GetFunctionConfiguration");
    /* A query literal selects its operation, in any parameter order. */
    assert_route("GET", "/2018-10-31/layers", "", "ListLayers");
    assert_route("GET", "/2018-10-31/layers", "CompatibleRuntime=python3.12", "ListLayers");
    assert_route("GET", "/2018-10-31/layers",
                 "find=LayerVersion&Arn=arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Alayer%3Al%3A1", "GetLayerVersionByArn");
    assert_route("GET", "/2018-10-31/layers", "Arn=x&find=LayerVersion", "GetLayerVersionByArn");
    assert_route("GET", "/2018-10-31/layers", "find=Other", "ListLayers");
    assert_route("GET", "/2019-09-30/functions/f/provisioned-concurrency", "Qualifier=live",
                 "GetProvisionedConcurrencyConfig");
    assert_route("GET", "/2019-09-30/functions/f/provisioned-concurrency", "List=ALL&MaxItems=2",
                 "ListProvisionedConcurrencyConfigs");
    assert_route("PUT", "/2019-09-30/functions/f/provisioned-concurrency", "Qualifier=live",
                 "PutProvisionedConcurrencyConfig");
    /* An ARN label with its colons percent-encoded (botocore encodes them). */
    assert_route("GET", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn", "",
                 "ListTags");
    assert_route("GET", "/2017-03-31/tags/arn:aws:lambda:us-east-1:123456789012:function:my-fn", "", "ListTags");
    assert_route("POST", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af", "", "TagResource");
    assert_route("DELETE", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af", "tagKeys=a&tagKeys=b",
                 "UntagResource");
    /* Same path, different methods. */
    assert_route("DELETE", "/2015-03-31/functions/my-fn", "", "DeleteFunction");
    assert_route("GET", "/2015-03-31/functions/my-fn", "", "GetFunction");
    assert_route("DELETE", "/2015-03-31/functions/my-fn/policy/sid-1", "", "RemovePermission");
    assert_route("GET", "/2015-03-31/functions/my-fn/policy", "", "GetPolicy");
    assert_route("POST", "/2015-03-31/functions/my-fn/policy", "", "AddPermission");
    assert_route("POST", "/2015-03-31/functions/my-fn/invocations", "", "Invoke");
    /* An encoded '/' stays inside its label; an empty label matches nothing. */
    assert_route("GET", "/2015-03-31/functions/a%2Fb", "", "GetFunction");
    assert_route("GET", "/2015-03-31/functions/a/b", "", NULL);
    assert_route("GET", "/2015-03-31/functions//versions", "", NULL);
    /* Unknown paths and wrong methods. */
    assert_route("GET", "/2015-03-31/nothing", "", NULL);
    assert_route("GET", "/", "", NULL);
    assert_route("GET", "", "", NULL);
    assert_route("PATCH", "/2015-03-31/functions/my-fn", "", NULL);
    assert_route("PUT", "/2015-03-31/functions/my-fn/invocations", "", NULL);
    assert_route("get", "/2015-03-31/functions/my-fn", "", NULL);
}

static json_t *decode(const char *op_name, const char *path, const char *query, const proto_header_t *hs, size_t nh,
                      strv_t body, aws_error_t *err)
{
    const model_service_t *svc = lambda();
    arena_t a;
    arena_init(&a);
    json_t *j =
        proto_rest_json_decode(svc, op_named(svc, op_name), strv_from(path), strv_from(query), hs, nh, body, &a, err);
    arena_destroy(&a);
    assert_true((j == NULL) == (err->code != NULL));
    return j;
}

static const char *str(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void test_decode_invoke(void **st)
{
    static const char payload[] = "{\"a\":1}\0\xff\x01 raw";
    proto_header_t hs[] = {
        {STRV_LIT("Content-Type"), STRV_LIT("application/octet-stream")},
        {STRV_LIT("x-amz-invocation-type"), STRV_LIT(" RequestResponse ")},
        {STRV_LIT("X-Amz-Log-Type"), STRV_LIT("Tail")},
        {STRV_LIT("X-Amz-Client-Context"), STRV_LIT("eyJjdXN0b20iOnt9fQ==")},
    };
    aws_error_t err = {0};
    json_t *j = decode(
        "Invoke", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/invocations",
        "Qualifier=%24LATEST", hs, 4, (strv_t){payload, sizeof payload - 1}, &err);
    assert_non_null(j);
    assert_string_equal(str(j, "FunctionName"), "arn:aws:lambda:us-east-1:123456789012:function:my-fn");
    assert_string_equal(str(j, "Qualifier"), "$LATEST");
    assert_string_equal(str(j, "InvocationType"), "RequestResponse");
    assert_string_equal(str(j, "LogType"), "Tail");
    assert_string_equal(str(j, "ClientContext"), "eyJjdXN0b20iOnt9fQ==");
    /* The payload is the raw body, NULs and non-UTF-8 bytes included. */
    json_t *p = json_object_get(j, "Payload");
    assert_true(json_is_string(p));
    assert_int_equal(json_string_length(p), sizeof payload - 1);
    assert_memory_equal(json_string_value(p), payload, sizeof payload - 1);
    assert_int_equal(json_object_size(j), 6);
    assert_true(proto_validate_input(lambda(), op_named(lambda(), "Invoke"), j, &err));
    json_decref(j);

    /* No body: no Payload member. Event invocation. */
    proto_header_t ev[] = {{STRV_LIT("X-Amz-Invocation-Type"), STRV_LIT("Event")}};
    j = decode("Invoke", "/2015-03-31/functions/f/invocations", "", ev, 1, STRV_NULL, &err);
    assert_non_null(j);
    assert_null(json_object_get(j, "Payload"));
    assert_string_equal(str(j, "InvocationType"), "Event");
    json_decref(j);

    /* A bad enum in a header is a validation error, Lambda style. */
    proto_header_t bad[] = {{STRV_LIT("X-Amz-Invocation-Type"), STRV_LIT("Sometimes")}};
    j = decode("Invoke", "/2015-03-31/functions/f/invocations", "", bad, 1, STRV_LIT("{}"), &err);
    assert_non_null(j);
    assert_false(proto_validate_input(lambda(), op_named(lambda(), "Invoke"), j, &err));
    assert_string_equal(err.code, "ValidationException");
    assert_int_equal(err.status, 400);
    assert_string_equal(err.message, "1 validation error detected: Value 'Sometimes' at 'invocationType' failed to "
                                     "satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, "
                                     "DryRun]");
    json_decref(j);
}

static const char create_body[] =
    "{\"FunctionName\":\"my-fn\",\"Runtime\":\"python3.13\",\"Role\":\"arn:aws:iam::123456789012:role/r\","
    "\"Handler\":\"app.handler\",\"Code\":{\"ZipFile\":\"UEsDBAoAAAAAAA==\"},\"MemorySize\":256,\"Timeout\":30,"
    "\"Publish\":true,\"Environment\":{\"Variables\":{\"A_B\":\"1\"}},\"Architectures\":[\"arm64\"],"
    "\"LoggingConfig\":{\"LogFormat\":\"JSON\",\"ApplicationLogLevel\":\"DEBUG\",\"LogGroup\":\"/aws/lambda/x\"},"
    "\"Tags\":{\"team\":\"a\"},\"NotInModel\":1}";

static void test_decode_create_function(void **st)
{
    aws_error_t err = {0};
    proto_header_t hs[] = {{STRV_LIT("Content-Type"), STRV_LIT("application/json")}};
    json_t *j = decode("CreateFunction", "/2015-03-31/functions", "", hs, 1, STRV_LIT(create_body), &err);
    assert_non_null(j);
    assert_string_equal(str(j, "FunctionName"), "my-fn");
    assert_string_equal(str(j, "Runtime"), "python3.13");
    /* A blob inside a JSON body stays base64 text. */
    assert_string_equal(str(json_object_get(j, "Code"), "ZipFile"), "UEsDBAoAAAAAAA==");
    assert_int_equal(json_integer_value(json_object_get(j, "MemorySize")), 256);
    assert_true(json_is_true(json_object_get(j, "Publish")));
    assert_string_equal(str(json_object_get(j, "LoggingConfig"), "LogFormat"), "JSON");
    assert_null(json_object_get(j, "NotInModel"));
    assert_true(proto_validate_input(lambda(), op_named(lambda(), "CreateFunction"), j, &err));
    assert_null(err.code);
    json_decref(j);

    /* Not JSON, or JSON that is not an object. */
    j = decode("CreateFunction", "/2015-03-31/functions", "", NULL, 0, STRV_LIT("{\"FunctionName\":"), &err);
    assert_null(j);
    assert_string_equal(err.code, "InvalidRequestContentException");
    assert_int_equal(err.status, 400);
    assert_true(err.sender);
    assert_true(strv_starts_with(strv_from(err.message), "Could not parse request body into json: "));
    memset(&err, 0, sizeof err);
    j = decode("CreateFunction", "/2015-03-31/functions", "", NULL, 0, STRV_LIT("[1,2]"), &err);
    assert_null(j);
    assert_string_equal(err.code, "InvalidRequestContentException");
    assert_string_equal(err.message, "Could not parse request body into json: expected a JSON object");
    memset(&err, 0, sizeof err);
    /* A blank body is no members (then validation finds them missing). */
    j = decode("CreateFunction", "/2015-03-31/functions", "", NULL, 0, STRV_LIT(" \r\n"), &err);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 0);
    assert_false(proto_validate_input(lambda(), op_named(lambda(), "CreateFunction"), j, &err));
    assert_string_equal(err.code, "ValidationException");
    assert_string_equal(
        err.message, "3 validation errors detected: Value null at 'functionName' failed to satisfy constraint: "
                     "Member must not be null; Value null at 'role' failed to satisfy constraint: Member must not be "
                     "null; Value null at 'code' failed to satisfy constraint: Member must not be null");
    json_decref(j);
}

static void test_decode_query_members(void **st)
{
    aws_error_t err = {0};
    json_t *j = decode("ListFunctions", "/2015-03-31/functions/", "MaxItems=10&FunctionVersion=ALL&Marker=a%2Bb+c",
                       NULL, 0, STRV_NULL, &err);
    assert_non_null(j);
    assert_true(json_is_integer(json_object_get(j, "MaxItems")));
    assert_int_equal(json_integer_value(json_object_get(j, "MaxItems")), 10);
    assert_string_equal(str(j, "FunctionVersion"), "ALL");
    assert_string_equal(str(j, "Marker"), "a+b c");
    assert_true(proto_validate_input(lambda(), op_named(lambda(), "ListFunctions"), j, &err));
    json_decref(j);

    j = decode("ListFunctions", "/2015-03-31/functions/", "MaxItems=abc", NULL, 0, STRV_NULL, &err);
    assert_null(j);
    assert_string_equal(err.code, "InvalidRequestContentException");
    assert_int_equal(err.status, 400);
    assert_string_equal(err.message, "Invalid value 'abc' for MaxItems in the query string: expected an integer");
    memset(&err, 0, sizeof err);
    j = decode("ListFunctions", "/2015-03-31/functions/", "MaxItems=99999999999", NULL, 0, STRV_NULL, &err);
    assert_null(j);
    assert_string_equal(err.code, "InvalidRequestContentException");
    memset(&err, 0, sizeof err);

    /* In range for the type, out of the model's range. */
    j = decode("ListFunctions", "/2015-03-31/functions/", "MaxItems=0", NULL, 0, STRV_NULL, &err);
    assert_non_null(j);
    assert_false(proto_validate_input(lambda(), op_named(lambda(), "ListFunctions"), j, &err));
    assert_string_equal(err.message, "1 validation error detected: Value '0' at 'maxItems' failed to satisfy "
                                     "constraint: Member must have value greater than or equal to 1");
    json_decref(j);
    memset(&err, 0, sizeof err);

    j = decode("GetFunction", "/2015-03-31/functions/my-fn", "Qualifier=7", NULL, 0, STRV_NULL, &err);
    assert_non_null(j);
    assert_string_equal(str(j, "FunctionName"), "my-fn");
    assert_string_equal(str(j, "Qualifier"), "7");
    json_decref(j);

    /* A list takes every occurrence of its key, in order. */
    j = decode("UntagResource", "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af",
               "tagKeys=team&tagKeys=cost%20center", NULL, 0, STRV_NULL, &err);
    assert_non_null(j);
    assert_string_equal(str(j, "Resource"), "arn:aws:lambda:us-east-1:123456789012:function:f");
    json_t *keys = json_object_get(j, "TagKeys");
    assert_int_equal(json_array_size(keys), 2);
    assert_string_equal(json_string_value(json_array_get(keys, 1)), "cost center");
    assert_true(proto_validate_input(lambda(), op_named(lambda(), "UntagResource"), j, &err));
    json_decref(j);

    /* A long URI label is converted to its type. */
    j = decode("GetLayerVersion", "/2018-10-31/layers/my-layer/versions/12", "", NULL, 0, STRV_NULL, &err);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "VersionNumber")), 12);
    json_decref(j);
    j = decode("GetLayerVersion", "/2018-10-31/layers/my-layer/versions/latest", "", NULL, 0, STRV_NULL, &err);
    assert_null(j);
    assert_string_equal(err.message, "Invalid value 'latest' for VersionNumber in the URI: expected an integer");
    memset(&err, 0, sizeof err);

    /* The template's literal query is routing, not a member. */
    j = decode("GetLayerVersionByArn", "/2018-10-31/layers",
               "find=LayerVersion&Arn=arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Alayer%3Al%3A3", NULL, 0,
               STRV_NULL, &err);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 1);
    assert_string_equal(str(j, "Arn"), "arn:aws:lambda:us-east-1:123456789012:layer:l:3");
    assert_true(proto_validate_input(lambda(), op_named(lambda(), "GetLayerVersionByArn"), j, &err));
    json_decref(j);

    /* Bytes that are not UTF-8 cannot be a string member. */
    j = decode("GetFunction", "/2015-03-31/functions/f%FF", "", NULL, 0, STRV_NULL, &err);
    assert_null(j);
    assert_string_equal(err.code, "InvalidRequestContentException");
    /* The echoed bytes are scrubbed: the message still renders as JSON. */
    assert_string_equal(err.message, "Invalid value 'f?' for FunctionName in the URI: expected valid UTF-8");
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(proto_rest_json_encode_error(&err, &b), 0);
    assert_string_equal(b.data, "{\"Type\":\"User\",\"message\":\"Invalid value 'f?' for FunctionName in the URI: "
                                "expected valid UTF-8\"}");
    buf_destroy(&b);
}

static const char *header(const proto_header_t *hs, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strv_caseeq_cstr(hs[i].name, name))
            return hs[i].value.p;
    return NULL;
}

typedef struct encoded {
    int rc, status;
    proto_header_t hs[8];
    size_t nh;
    const char *ct;
    buf_t body;
    arena_t a;
} encoded_t;

static void encode(encoded_t *e, const char *op_name, json_t *out)
{
    arena_init(&e->a);
    buf_init(&e->body, 1 << 20);
    e->nh = 0;
    e->rc = proto_rest_json_encode(lambda(), op_named(lambda(), op_name), out, &e->a, &e->status, e->hs, &e->nh, 8,
                                   &e->ct, &e->body);
}

static void encoded_free(encoded_t *e)
{
    buf_destroy(&e->body);
    arena_destroy(&e->a);
}

static void test_encode_invoke(void **st)
{
    static const char payload[] = "{\"ok\":true}\0tail";
    json_t *out = json_pack("{s:i,s:s,s:s,s:s}", "StatusCode", 200, "FunctionError", "Unhandled", "LogResult",
                            "U1RBUlQgUmVxdWVzdElk", "ExecutedVersion", "$LATEST");
    json_object_set_new(out, "Payload", json_stringn_nocheck(payload, sizeof payload - 1));
    encoded_t e;
    encode(&e, "Invoke", out);
    assert_int_equal(e.rc, 0);
    assert_int_equal(e.status, 200);
    assert_int_equal(e.nh, 3);
    assert_string_equal(header(e.hs, e.nh, "X-Amz-Function-Error"), "Unhandled");
    assert_string_equal(header(e.hs, e.nh, "X-Amz-Log-Result"), "U1RBUlQgUmVxdWVzdElk");
    assert_string_equal(header(e.hs, e.nh, "X-Amz-Executed-Version"), "$LATEST");
    assert_int_equal(e.body.len, sizeof payload - 1);
    assert_memory_equal(e.body.data, payload, sizeof payload - 1);
    assert_string_equal(e.ct, "application/octet-stream");
    encoded_free(&e);
    json_decref(out);

    /* An Event invocation: 202, no payload, no body. */
    out = json_pack("{s:i}", "StatusCode", 202);
    encode(&e, "Invoke", out);
    assert_int_equal(e.rc, 0);
    assert_int_equal(e.status, 202);
    assert_int_equal(e.body.len, 0);
    assert_null(e.ct);
    assert_int_equal(e.nh, 0);
    encoded_free(&e);
    json_decref(out);

    /* A header value that would split the response is refused. */
    out = json_pack("{s:i,s:s}", "StatusCode", 200, "FunctionError", "Unhandled\r\nX-Evil: 1");
    encode(&e, "Invoke", out);
    assert_int_equal(e.rc, KYOKA_EINVAL);
    encoded_free(&e);
    json_decref(out);

    /* More headers than room. */
    out = json_pack("{s:s,s:s,s:s}", "FunctionError", "Unhandled", "LogResult", "x", "ExecutedVersion", "1");
    arena_t a;
    arena_init(&a);
    proto_header_t hs[2];
    size_t nh = 0;
    int status;
    const char *ct;
    buf_t b;
    buf_init(&b, 1024);
    assert_int_equal(
        proto_rest_json_encode(lambda(), op_named(lambda(), "Invoke"), out, &a, &status, hs, &nh, 2, &ct, &b),
        KYOKA_ELIMIT);
    buf_destroy(&b);
    arena_destroy(&a);
    json_decref(out);
}

static void test_encode_json_bodies(void **st)
{
    json_t *out = json_pack("{s:s,s:s,s:s,s:i,s:s,s:{s:s},s:s}", "FunctionName", "my-fn", "FunctionArn",
                            "arn:aws:lambda:us-east-1:123456789012:function:my-fn", "Runtime", "python3.13",
                            "MemorySize", 256, "LastModified", "2024-01-02T03:04:05.000+0000", "LoggingConfig",
                            "LogFormat", "JSON", "Internal", "not in the model");
    encoded_t e;
    encode(&e, "CreateFunction", out);
    assert_int_equal(e.rc, 0);
    assert_int_equal(e.status, 201);
    assert_string_equal(e.ct, "application/json");
    assert_int_equal(e.nh, 0);
    /* Model order, the model's members only; LastModified passes as the
     * string it is. */
    assert_string_equal(e.body.data,
                        "{\"FunctionName\":\"my-fn\",\"FunctionArn\":\"arn:aws:lambda:us-east-1:123456789012:"
                        "function:my-fn\",\"Runtime\":\"python3.13\",\"MemorySize\":256,\"LastModified\":"
                        "\"2024-01-02T03:04:05.000+0000\",\"LoggingConfig\":{\"LogFormat\":\"JSON\"}}");
    encoded_free(&e);
    json_decref(out);

    encode(&e, "DeleteFunction", NULL);
    assert_int_equal(e.rc, 0);
    assert_int_equal(e.status, 204);
    assert_int_equal(e.body.len, 0);
    assert_null(e.ct);
    encoded_free(&e);

    out = json_pack("{s:s,s:s}", "Policy", "{\"Version\":\"2012-10-17\",\"Statement\":[]}", "RevisionId", "r-1");
    encode(&e, "GetPolicy", out);
    assert_int_equal(e.rc, 0);
    assert_int_equal(e.status, 200);
    assert_string_equal(
        e.body.data,
        "{\"Policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[]}\",\"RevisionId\":\"r-1\"}");
    encoded_free(&e);
    json_decref(out);

    /* An output shape with body members but an empty tree: "{}". */
    encode(&e, "GetFunctionConcurrency", NULL);
    assert_int_equal(e.rc, 0);
    assert_string_equal(e.body.data, "{}");
    encoded_free(&e);

    /* Timestamps (epoch seconds in the tree) stay epoch seconds in bodies. */
    out = json_pack("{s:s,s:i}", "UUID", "u-1", "LastModified", 1704164645);
    encode(&e, "CreateEventSourceMapping", out);
    assert_int_equal(e.status, 202);
    assert_string_equal(e.body.data, "{\"UUID\":\"u-1\",\"LastModified\":1704164645}");
    encoded_free(&e);
    json_decref(out);

    /* Non-ASCII text is escaped as the other JSON protocols write it. */
    out = json_pack("{s:s}", "Description", "caf\xc3\xa9 \xf0\x9f\x98\x80");
    encode(&e, "GetFunctionConfiguration", out);
    assert_string_equal(e.body.data, "{\"Description\":\"caf\\u00E9 \\uD83D\\uDE00\"}");
    encoded_free(&e);
    json_decref(out);
}

static void expect_invalid(const char *op_name, const char *body, const char *code, const char *message)
{
    aws_error_t err = {0};
    json_t *j = decode(op_name, "/2015-03-31/functions", "", NULL, 0, strv_from(body), &err);
    assert_non_null(j);
    bool ok = proto_validate_input(lambda(), op_named(lambda(), op_name), j, &err);
    json_decref(j);
    if (ok)
        fail_msg("%s accepted", body);
    assert_string_equal(err.code, code);
    assert_int_equal(err.status, 400);
    if (strcmp(err.message, message) != 0)
        fail_msg("message\n  got:  %s\n  want: %s", err.message, message);
}

#define BASE "\"FunctionName\":\"f\",\"Role\":\"arn:aws:iam::123456789012:role/r\",\"Code\":{\"ZipFile\":\"UEs=\"}"

static void test_validation_messages(void **st)
{
    char runtime_msg[1024];
    const model_shape_t *rt = &lambda()->shapes[model_shape_lookup(lambda(), "Runtime")];
    int o = snprintf(runtime_msg, sizeof runtime_msg,
                     "1 validation error detected: Value 'python9' at 'runtime' failed to satisfy constraint: Member "
                     "must satisfy enum value set: [");
    for (size_t i = 0; rt->enums[i]; i++)
        o += snprintf(runtime_msg + o, sizeof runtime_msg - (size_t)o, "%s%s", i ? ", " : "", rt->enums[i]);
    snprintf(runtime_msg + o, sizeof runtime_msg - (size_t)o, "]");
    expect_invalid("CreateFunction", "{" BASE ",\"Runtime\":\"python9\"}", "ValidationException", runtime_msg);
    /* The runtimes from the overlay are in the set. */
    assert_non_null(strstr(runtime_msg, "python3.13, nodejs22.x"));
    assert_non_null(strstr(runtime_msg, "provided.al2023"));
    assert_non_null(strstr(runtime_msg, "java21"));

    expect_invalid(
        "CreateFunction", "{" BASE ",\"MemorySize\":20000,\"Timeout\":0}", "ValidationException",
        "2 validation errors detected: Value '0' at 'timeout' failed to satisfy constraint: Member must have "
        "value greater than or equal to 1; Value '20000' at 'memorySize' failed to satisfy constraint: Member "
        "must have value less than or equal to 10240");
    expect_invalid(
        "CreateFunction", "{\"FunctionName\":\"my function\",\"Role\":\"lambdarole\",\"Code\":{\"S3Bucket\":\"b.\"}}",
        "ValidationException",
        "4 validation errors detected: Value 'my function' at 'functionName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-"
        "z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?; Value "
        "'lambdarole' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+; Value 'b.' at 'code.s3Bucket' "
        "failed to satisfy constraint: Member must have length greater than or equal to 3; Value 'b.' at "
        "'code.s3Bucket' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "^[0-9A-Za-z\\.\\-_]*(?<!\\.)$");
    expect_invalid("CreateFunction", "{" BASE ",\"KMSKeyArn\":\"key\"}", "ValidationException",
                   "1 validation error detected: Value 'key' at 'kMSKeyArn' failed to satisfy constraint: Member must "
                   "satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()");
    expect_invalid("CreateFunction", "{" BASE ",\"Architectures\":[\"x86\"]}", "ValidationException",
                   "1 validation error detected: Value '[x86]' at 'architectures' failed to satisfy constraint: Member "
                   "must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be "
                   "null]");
    expect_invalid(
        "CreateFunction", "{" BASE ",\"Architectures\":[]}", "ValidationException",
        "1 validation error detected: Value '[]' at 'architectures' failed to satisfy constraint: Member must "
        "have length greater than or equal to 1");
    /* Environment variables are sensitive: the value is not echoed. */
    expect_invalid(
        "CreateFunction", "{" BASE ",\"Environment\":{\"Variables\":{\"1BAD\":\"x\"}}}", "ValidationException",
        "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys "
        "must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]");
    expect_invalid(
        "CreateFunction", "{" BASE ",\"LoggingConfig\":{\"LogFormat\":\"XML\"}}", "ValidationException",
        "1 validation error detected: Value 'XML' at 'loggingConfig.logFormat' failed to satisfy constraint: "
        "Member must satisfy enum value set: [JSON, Text]");
    expect_invalid(
        "CreateFunction",
        "{" BASE ",\"FileSystemConfigs\":[{\"Arn\":\"arn:aws:elasticfilesystem:us-east-1:123456789012:"
        "access-point/fsap-0123456789abcdef0\",\"LocalMountPath\":\"/data\"}]}",
        "ValidationException",
        "1 validation error detected: Value '/data' at 'fileSystemConfigs.1.member.localMountPath' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: ^/mnt/[a-zA-Z0-9-_.]+$");
    /* Wrong JSON types are requests Lambda cannot read at all. */
    expect_invalid("CreateFunction", "{" BASE ",\"MemorySize\":\"big\",\"Runtime\":\"python9\"}",
                   "InvalidRequestContentException",
                   "Could not parse request body into json: 'memorySize' must be an integer");
    expect_invalid("CreateFunction", "{" BASE ",\"Timeout\":4294967296}", "InvalidRequestContentException",
                   "Could not parse request body into json: 'timeout' must be an integer");
    expect_invalid("CreateFunction", "{" BASE ",\"Layers\":[1]}", "InvalidRequestContentException",
                   "Could not parse request body into json: 'layers' must be a string");
}

static void test_validation_patterns(void **st)
{
    /* Values the patterns must accept, and values they must refuse. */
    static const char *const fn = "/2015-03-31/functions";
    static const char *const alias = "/2015-03-31/functions/f/aliases";
    static const char *const policy = "/2015-03-31/functions/f/policy";
    static const struct {
        const char *op, *path, *body;
        bool ok;
    } cases[] = {
        {"CreateFunction", fn,
         "{" BASE ",\"FunctionName\":\"arn:aws:lambda:us-east-1:123456789012:function:my-fn:prod\"}", true},
        {"CreateFunction", fn, "{" BASE ",\"FunctionName\":\"123456789012:function:my_fn\"}", true},
        {"CreateFunction", fn,
         "{" BASE ",\"FunctionName\":\"arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST\"}", true},
        {"CreateFunction", fn, "{" BASE ",\"FunctionName\":\"f:\"}", false},
        {"CreateFunction", fn, "{" BASE ",\"FunctionName\":\"f\\u00e9\"}", false},
        {"CreateFunction", fn, "{" BASE ",\"Handler\":\"a b\"}", false},
        {"CreateFunction", fn, "{" BASE ",\"Handler\":\"index.handler\"}", true},
        {"CreateFunction", fn, "{" BASE ",\"KMSKeyArn\":\"\"}", true},
        {"CreateFunction", fn, "{" BASE ",\"Code\":{\"S3Bucket\":\"my.bucket-1\",\"S3Key\":\"k\"}}", true},
        {"CreateFunction", fn, "{" BASE ",\"Code\":{\"S3Bucket\":\"my.bucket.\"}}", false},
        {"CreateFunction", fn, "{" BASE ",\"Code\":{\"S3Bucket\":\"my bucket\"}}", false},
        {"CreateFunction", fn, "{" BASE ",\"Runtime\":\"nodejs22.x\",\"Architectures\":[\"x86_64\"]}", true},
        {"CreateFunction", fn,
         "{" BASE ",\"LoggingConfig\":{\"LogGroup\":\"/custom/group#1\",\"SystemLogLevel\":\"WARN\"}}", true},
        {"CreateFunction", fn, "{" BASE ",\"LoggingConfig\":{\"LogGroup\":\"bad group\"}}", false},
        /* Negative lookahead: an alias name cannot be all digits. */
        {"CreateAlias", alias, "{\"Name\":\"live\",\"FunctionVersion\":\"1\"}", true},
        {"CreateAlias", alias, "{\"Name\":\"123\",\"FunctionVersion\":\"1\"}", false},
        {"CreateAlias", alias, "{\"Name\":\"v123\",\"FunctionVersion\":\"$LATEST\"}", true},
        {"CreateAlias", alias, "{\"Name\":\"live\",\"FunctionVersion\":\"one\"}", false},
        {"AddPermission", policy,
         "{\"StatementId\":\"s-1\",\"Action\":\"lambda:InvokeFunction\","
         "\"Principal\":\"s3.amazonaws.com\",\"SourceAccount\":\"123456789012\"}",
         true},
        {"AddPermission", policy,
         "{\"StatementId\":\"s 1\",\"Action\":\"lambda:InvokeFunction\","
         "\"Principal\":\"s3.amazonaws.com\"}",
         false},
        {"AddPermission", policy,
         "{\"StatementId\":\"s1\",\"Action\":\"lambda:InvokeFunction\","
         "\"Principal\":\"s3.amazonaws.com\",\"SourceAccount\":\"12345\"}",
         false},
        {"AddPermission", policy, "{\"StatementId\":\"s1\",\"Action\":\"lambda:*\",\"Principal\":\"*\"}", true},
        {"AddPermission", policy, "{\"StatementId\":\"s1\",\"Action\":\"s3:*\",\"Principal\":\"*\"}", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aws_error_t err = {0};
        json_t *j = decode(cases[i].op, cases[i].path, "", NULL, 0, strv_from(cases[i].body), &err);
        assert_non_null(j);
        bool ok = proto_validate_input(lambda(), op_named(lambda(), cases[i].op), j, &err);
        json_decref(j);
        if (ok != cases[i].ok)
            fail_msg("case %zu (%s): %s (%s)", i, cases[i].body, ok ? "accepted" : "refused", err.message);
    }

    /* Lengths count characters (UTF-16 units, as Java does), not bytes. */
    char desc[1200];
    int o = snprintf(desc, sizeof desc, "{" BASE ",\"Description\":\"");
    for (int i = 0; i < 256; i++)
        o += snprintf(desc + o, sizeof desc - (size_t)o, "\xc3\xa9");
    snprintf(desc + o, sizeof desc - (size_t)o, "\"}");
    aws_error_t err = {0};
    json_t *j = decode("CreateFunction", fn, "", NULL, 0, strv_from(desc), &err);
    assert_true(proto_validate_input(lambda(), op_named(lambda(), "CreateFunction"), j, &err));
    json_decref(j);
    snprintf(desc + o, sizeof desc - (size_t)o, "x\"}");
    j = decode("CreateFunction", fn, "", NULL, 0, strv_from(desc), &err);
    assert_false(proto_validate_input(lambda(), op_named(lambda(), "CreateFunction"), j, &err));
    assert_non_null(strstr(err.message, "at 'description' failed to satisfy constraint: Member must have length less "
                                        "than or equal to 256"));
    json_decref(j);
    memset(&err, 0, sizeof err);

    /* Nested quantifiers on a long hostile value finish at once (the
     * matcher does not backtrack). */
    char body[4096];
    char host[301];
    memset(host, 'a', 299);
    host[299] = '!';
    host[300] = '\0';
    snprintf(
        body, sizeof body,
        "{\"FunctionName\":\"f\",\"SelfManagedEventSource\":{\"Endpoints\":{\"KAFKA_BOOTSTRAP_SERVERS\":[\"%s\"]}}}",
        host);
    j = decode("CreateEventSourceMapping", "/2015-03-31/event-source-mappings/", "", NULL, 0, strv_from(body), &err);
    assert_non_null(j);
    uint64_t t0 = kyoka_mono_us();
    assert_false(proto_validate_input(lambda(), op_named(lambda(), "CreateEventSourceMapping"), j, &err));
    assert_true(kyoka_mono_us() - t0 < 2000000);
    assert_non_null(strstr(err.message, "at 'selfManagedEventSource.endpoints.KAFKA_BOOTSTRAP_SERVERS' failed"));
    json_decref(j);
}

/* The query and JSON services keep their own validation voice. */
static void test_query_services_unchanged(void **st)
{
    const model_service_t *sqs = model_service_lookup("sqs");
    assert_null(sqs->validation_error);
    assert_null(sqs->parse_error);
    aws_error_t err = {0};
    json_t *j = json_pack("{s:s}", "QueueName", "");
    assert_false(proto_validate_input(sqs, op_named(sqs, "SendMessage"), j, &err));
    assert_string_equal(err.code, "MissingParameter");
    json_decref(j);
}

/* ---- a hand-built REST-JSON model for what Lambda's does not use ---- */

enum { D_STR, D_BOOL, D_INT, D_TIME, D_STRLIST, D_STRMAP, D_ITEM, D_ITEMLIST, D_DOC, D_PUTREQ, D_PUTRESP, D_NSHAPES };

static const model_member_t d_strlist[] = {{.name = "member", .shape = D_STR}};
static const model_member_t d_strmap[] = {{.name = "key", .shape = D_STR}, {.name = "value", .shape = D_STR}};
static const model_member_t d_item[] = {{.name = "Id", .location_name = "id", .shape = D_STR}};
static const model_member_t d_itemlist[] = {{.name = "member", .shape = D_ITEM}};
static const model_member_t d_doc[] = {
    {.name = "Name", .location_name = "name", .shape = D_STR},
    {.name = "When", .shape = D_TIME, .timestamp_format = TSF_ISO8601},
    {.name = "Items", .location_name = "items", .shape = D_ITEMLIST},
};
static const model_member_t d_putreq[] = {
    {.name = "Bucket", .location_name = "Bucket", .shape = D_STR, .required = true, .location = LOC_URI},
    {.name = "Key", .location_name = "Key", .shape = D_STR, .required = true, .location = LOC_URI},
    {.name = "Tags", .location_name = "X-Tags", .shape = D_STRLIST, .location = LOC_HEADER},
    {.name = "Since", .location_name = "X-Since", .shape = D_TIME, .location = LOC_HEADER},
    {.name = "Meta", .location_name = "x-meta-", .shape = D_STRMAP, .location = LOC_HEADERS},
    {.name = "Extra", .shape = D_STRMAP, .location = LOC_QUERYSTRING},
    {.name = "Flag", .location_name = "flag", .shape = D_BOOL, .location = LOC_QUERYSTRING},
    {.name = "Doc", .shape = D_DOC},
};
static const model_member_t d_putresp[] = {
    {.name = "ETag", .location_name = "ETag", .shape = D_STR, .location = LOC_HEADER},
    {.name = "Expires", .location_name = "Expires", .shape = D_TIME, .location = LOC_HEADER},
    {.name = "Tags", .location_name = "X-Tags", .shape = D_STRLIST, .location = LOC_HEADER},
    {.name = "Code", .shape = D_INT, .location = LOC_STATUS_CODE},
    {.name = "Doc", .shape = D_DOC},
};
static const model_shape_t d_shapes[D_NSHAPES] = {
    [D_STR] = {.name = "Str", .type = SHAPE_STRING, .payload = -1},
    [D_BOOL] = {.name = "Bool", .type = SHAPE_BOOLEAN, .payload = -1},
    [D_INT] = {.name = "Int", .type = SHAPE_INTEGER, .payload = -1},
    [D_TIME] = {.name = "Time", .type = SHAPE_TIMESTAMP, .payload = -1},
    [D_STRLIST] = {.name = "StrList", .type = SHAPE_LIST, .members = d_strlist, .nmembers = 1, .payload = -1},
    [D_STRMAP] = {.name = "StrMap", .type = SHAPE_MAP, .members = d_strmap, .nmembers = 2, .payload = -1},
    [D_ITEM] =
        {.name = "Item", .type = SHAPE_STRUCTURE, .members = d_item, .nmembers = 1, .payload = -1, .json_walk = true},
    [D_ITEMLIST] = {.name = "ItemList",
                    .type = SHAPE_LIST,
                    .members = d_itemlist,
                    .nmembers = 1,
                    .payload = -1,
                    .json_walk = true},
    [D_DOC] =
        {.name = "Doc", .type = SHAPE_STRUCTURE, .members = d_doc, .nmembers = 3, .payload = -1, .json_walk = true},
    [D_PUTREQ] = {.name = "PutReq",
                  .type = SHAPE_STRUCTURE,
                  .members = d_putreq,
                  .nmembers = 8,
                  .payload = 7,
                  .json_walk = true},
    [D_PUTRESP] = {.name = "PutResp",
                   .type = SHAPE_STRUCTURE,
                   .members = d_putresp,
                   .nmembers = 5,
                   .payload = 4,
                   .json_walk = true},
};
static const model_op_t d_ops[] = {
    {.name = "GetThing",
     .input = D_PUTREQ,
     .output = D_PUTRESP,
     .http_method = "GET",
     .request_uri = "/things/{Bucket}/{Key+}",
     .response_code = 200},
    {.name = "PutThing",
     .input = D_PUTREQ,
     .output = D_PUTRESP,
     .http_method = "PUT",
     .request_uri = "/things/{Bucket}/{Key+}?x-id=Put",
     .response_code = 200},
    {.name = "GetReport",
     .input = -1,
     .output = -1,
     .http_method = "GET",
     .request_uri = "/things/{Bucket}/report.{Format}",
     .response_code = 200},
};
static const model_service_t demo = {
    .name = "demo",
    .protocol = "rest-json",
    .shapes = d_shapes,
    .nshapes = D_NSHAPES,
    .ops = d_ops,
    .nops = 3,
    .kind = PROTO_REST_JSON,
    .validation_error = "ValidationException",
};

static void test_generic_rest_features(void **st)
{
    /* A greedy label keeps slashes (encoded or not) and a trailing slash. */
    assert_ptr_equal(proto_rest_match(&demo, STRV_LIT("GET"), STRV_LIT("/things/b1/a/b%2Fc.txt"), STRV_LIT("")),
                     &d_ops[0]);
    assert_ptr_equal(proto_rest_match(&demo, STRV_LIT("PUT"), STRV_LIT("/things/b1/a/"), STRV_LIT("x-id=Put")),
                     &d_ops[1]);
    assert_null(proto_rest_match(&demo, STRV_LIT("PUT"), STRV_LIT("/things/b1/a"), STRV_LIT("")));
    assert_null(proto_rest_match(&demo, STRV_LIT("GET"), STRV_LIT("/things/b1"), STRV_LIT("")));
    /* A label with a literal suffix inside its segment; the longer literal
     * wins over the greedy route. */
    assert_ptr_equal(proto_rest_match(&demo, STRV_LIT("GET"), STRV_LIT("/things/b1/report.csv"), STRV_LIT("")),
                     &d_ops[2]);
    assert_ptr_equal(proto_rest_match(&demo, STRV_LIT("GET"), STRV_LIT("/things/b1/report."), STRV_LIT("")), &d_ops[0]);

    proto_header_t hs[] = {
        {STRV_LIT("x-tags"), STRV_LIT("a, \"b,c\" , d")},
        {STRV_LIT("X-Since"), STRV_LIT("Tue, 02 Jan 2024 03:04:05 GMT")},
        {STRV_LIT("X-Meta-Owner"), STRV_LIT("me")},
        {STRV_LIT("x-meta-tier"), STRV_LIT("gold")},
    };
    const char *body = "{\"name\":\"n\",\"When\":\"2024-01-02T03:04:05Z\",\"items\":[{\"id\":\"i1\"},{\"id\":\"i2\"}]}";
    aws_error_t err = {0};
    arena_t a;
    arena_init(&a);
    json_t *j =
        proto_rest_json_decode(&demo, &d_ops[1], STRV_LIT("/things/b1/a/b%2Fc.txt"),
                               STRV_LIT("x-id=Put&flag=true&color=red&size=L"), hs, 4, strv_from(body), &a, &err);
    assert_non_null(j);
    char *text = proto_json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text,
                        "{\"Bucket\":\"b1\",\"Doc\":{\"Items\":[{\"Id\":\"i1\"},{\"Id\":\"i2\"}],\"Name\":\"n\","
                        "\"When\":1704164645},\"Extra\":{\"color\":\"red\",\"size\":\"L\"},\"Flag\":true,\"Key\":"
                        "\"a/b/c.txt\",\"Meta\":{\"Owner\":\"me\",\"tier\":\"gold\"},\"Since\":1704164645,\"Tags\":"
                        "[\"a\",\"b,c\",\"d\"]}");
    free(text);
    assert_true(proto_validate_input(&demo, &d_ops[1], j, &err));
    json_decref(j);

    /* Other timestamp spellings, and bad values. */
    proto_header_t iso[] = {{STRV_LIT("X-Since"), STRV_LIT("2024-01-02T04:04:05.5+01:00")}};
    j = proto_rest_json_decode(&demo, &d_ops[0], STRV_LIT("/things/b/k"), STRV_LIT(""), iso, 1, STRV_NULL, &a, &err);
    assert_non_null(j);
    assert_true(json_is_real(json_object_get(j, "Since")));
    assert_true(json_real_value(json_object_get(j, "Since")) == 1704164645.5);
    json_decref(j);
    proto_header_t bad[] = {{STRV_LIT("X-Since"), STRV_LIT("yesterday")}};
    j = proto_rest_json_decode(&demo, &d_ops[0], STRV_LIT("/things/b/k"), STRV_LIT(""), bad, 1, STRV_NULL, &a, &err);
    assert_null(j);
    assert_string_equal(err.code, "SerializationException");
    assert_string_equal(err.message, "Invalid value 'yesterday' for Since in the header: expected a timestamp");
    memset(&err, 0, sizeof err);
    j = proto_rest_json_decode(&demo, &d_ops[0], STRV_LIT("/things/b/k"), STRV_LIT("flag=yes"), NULL, 0, STRV_NULL, &a,
                               &err);
    assert_null(j);
    assert_string_equal(err.message, "Invalid value 'yes' for Flag in the query string: expected true or false");
    memset(&err, 0, sizeof err);

    /* Encoding: status from the statusCode member, header timestamps as
     * HTTP dates, lists comma-joined and quoted, a structure payload with
     * the model's JSON keys and its ISO 8601 timestamp. */
    json_t *out = json_pack("{s:s,s:I,s:i,s:[s,s],s:{s:s,s:f,s:[{s:s,s:s}]}}", "ETag", "\"abc\"", "Expires",
                            (json_int_t)1704164645, "Code", 201, "Tags", "a", "b,c", "Doc", "Name", "n", "When",
                            1704164645.25, "Items", "Id", "i1", "Extra", "dropped");
    proto_header_t oh[4];
    size_t nh = 0;
    int status;
    const char *ct;
    buf_t b;
    buf_init(&b, 4096);
    assert_int_equal(proto_rest_json_encode(&demo, &d_ops[1], out, &a, &status, oh, &nh, 4, &ct, &b), 0);
    assert_int_equal(status, 201);
    assert_int_equal(nh, 3);
    assert_string_equal(header(oh, nh, "ETag"), "\"abc\"");
    assert_string_equal(header(oh, nh, "Expires"), "Tue, 02 Jan 2024 03:04:05 GMT");
    assert_string_equal(header(oh, nh, "X-Tags"), "a,\"b,c\"");
    assert_string_equal(ct, "application/json");
    assert_string_equal(b.data, "{\"name\":\"n\",\"When\":\"2024-01-02T03:04:05.250Z\",\"items\":[{\"id\":\"i1\"}]}");
    buf_destroy(&b);
    json_decref(out);
    arena_destroy(&a);
}

/* Junk in every part of a request never crashes the codec, and an error is
 * set exactly when nothing is returned. */
static void test_decode_junk(void **st)
{
    const model_service_t *svc = lambda();
    static const char alphabet[] = "/{}%2F3Aaz09?&=+:.-_\"[]\\,\x00\xff\xc3";
    uint32_t seed = 12345;
    for (int round = 0; round < 3000; round++) {
        char path[64], query[64], body[96], hv[32];
        size_t lens[4] = {sizeof path, sizeof query, sizeof body, sizeof hv};
        char *bufs[4] = {path, query, body, hv};
        size_t used[4];
        for (int k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            used[k] = (seed >> 16) % lens[k];
            for (size_t i = 0; i < used[k]; i++) {
                seed = seed * 1103515245u + 12345u;
                bufs[k][i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
            }
        }
        /* Mostly real routes (a third with junk appended), so that decoding
         * gets past routing. */
        const model_op_t *op = &svc->ops[round % svc->nops];
        char full[192], tq[64];
        path_from_template(op->request_uri, full, 128, tq, sizeof tq);
        size_t n = strlen(full);
        if (round % 3 == 0) {
            memcpy(full + n, path, used[0]);
            n += used[0];
        }
        strv_t fp = {full, n};
        strv_t q = {query, used[1]};
        const model_op_t *m = proto_rest_match(svc, strv_from(op->http_method), fp, q);
        proto_header_t hs[] = {{STRV_LIT("X-Amz-Invocation-Type"), {hv, used[3]}},
                               {STRV_LIT("X-Amz-Log-Type"), {hv, used[3]}}};
        arena_t a;
        arena_init(&a);
        aws_error_t err = {0};
        json_t *j = proto_rest_json_decode(svc, m ? m : op, fp, q, hs, 2, (strv_t){body, used[2]}, &a, &err);
        assert_true((j == NULL) == (err.code != NULL));
        if (j) {
            proto_validate_input(svc, m ? m : op, j, &err);
            json_decref(j);
        }
        arena_destroy(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_every_lambda_operation),
        cmocka_unit_test(test_match_tricky_routes),
        cmocka_unit_test(test_decode_invoke),
        cmocka_unit_test(test_decode_create_function),
        cmocka_unit_test(test_decode_query_members),
        cmocka_unit_test(test_encode_invoke),
        cmocka_unit_test(test_encode_json_bodies),
        cmocka_unit_test(test_validation_messages),
        cmocka_unit_test(test_validation_patterns),
        cmocka_unit_test(test_query_services_unchanged),
        cmocka_unit_test(test_generic_rest_features),
        cmocka_unit_test(test_decode_junk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
