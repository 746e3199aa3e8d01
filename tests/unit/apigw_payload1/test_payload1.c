/* The payload format 1.0 event built from a request, and a function's
 * answer mapped back (or refused as malformed, which is API Gateway's 502). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "apigw/apigw.h"

static void event_maps_headers_and_query(void **state)
{
    (void)state;
    http_header_t h[3] = {
        {STRV_LIT("Host"), STRV_LIT("x")}, {STRV_LIT("X-A"), STRV_LIT("1")}, {STRV_LIT("X-A"), STRV_LIT("2")}};
    http_request_t r;
    memset(&r, 0, sizeof r);
    r.method = STRV_LIT("POST");
    r.query = STRV_LIT("a=1&a=2&b=x%20y&c");
    r.headers = h;
    r.nheaders = 3;
    buf_init(&r.body, 64);
    apigw_payload1_in_t in = {.req = &r, .resource = "/{p+}", .path = "/q"};
    json_t *ev = apigw_payload1_event(&in);
    assert_string_equal(json_string_value(json_object_get(ev, "httpMethod")), "POST");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "headers"), "X-A")), "2");
    assert_int_equal(json_array_size(json_object_get(json_object_get(ev, "multiValueHeaders"), "X-A")), 2);
    json_t *q = json_object_get(ev, "queryStringParameters");
    assert_string_equal(json_string_value(json_object_get(q, "a")), "2");
    assert_string_equal(json_string_value(json_object_get(q, "b")), "x y");
    assert_string_equal(json_string_value(json_object_get(q, "c")), "");
    assert_true(json_is_null(json_object_get(ev, "pathParameters")));
    assert_true(json_is_null(json_object_get(ev, "body")));
    assert_true(json_is_false(json_object_get(ev, "isBase64Encoded")));
    json_decref(ev);
    buf_destroy(&r.body);
}

static bool maps(const char *text, apigw_payload1_out_t *out)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    bool ok = apigw_payload1_response(j, out);
    if (ok) {
        json_decref(out->headers);
        out->headers = NULL;
    }
    json_decref(j);
    return ok;
}

static void response_shapes(void **state)
{
    (void)state;
    apigw_payload1_out_t out;
    assert_true(maps("{\"statusCode\": 201, \"headers\": {\"A\": 1, \"B\": true}, \"body\": null}", &out));
    assert_int_equal(out.status, 201);
    assert_true(maps("{\"statusCode\": 200, \"isBase64Encoded\": true, \"body\": \"AAE=\"}", &out));
    assert_true(out.body_base64);
    assert_false(maps("\"just text\"", &out));
    assert_false(maps("{\"body\": \"no status\"}", &out));
    assert_false(maps("{\"statusCode\": 99}", &out));
    assert_false(maps("{\"statusCode\": 200, \"body\": {\"an\": \"object\"}}", &out));
    assert_false(maps("{\"statusCode\": 200, \"headers\": {\"A\": [1]}}", &out));
    assert_false(maps("{\"statusCode\": 200, \"multiValueHeaders\": {\"A\": \"not a list\"}}", &out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_maps_headers_and_query),
        cmocka_unit_test(response_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
