/* Payload format 2.0: the response mapping and its shortcut. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "apigw/apigw.h"

#define BODY_MAX (1024 * 1024)

static void map_ok(const char *payload, apigw_v2_response_t *r)
{
    assert_int_equal(apigw_v2_response_map(payload, strlen(payload), r, BODY_MAX), 0);
}

static void structured_response(void **state)
{
    (void)state;
    apigw_v2_response_t r;
    map_ok("{\"statusCode\":201,\"headers\":{\"x-a\":\"1\",\"x-n\":2},\"cookies\":[\"c=1\"],\"body\":\"hi\"}", &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(json_string_value(json_object_get(r.headers, "x-a")), "1");
    assert_string_equal(json_string_value(json_object_get(r.headers, "x-n")), "2");
    assert_int_equal(json_array_size(r.cookies), 1);
    assert_string_equal(r.body.data, "hi");
    apigw_v2_response_destroy(&r);
}

static void base64_body(void **state)
{
    (void)state;
    apigw_v2_response_t r;
    map_ok("{\"statusCode\":200,\"isBase64Encoded\":true,\"body\":\"AAH/\"}", &r);
    assert_int_equal(r.body.len, 3);
    assert_memory_equal(r.body.data, "\x00\x01\xff", 3);
    apigw_v2_response_destroy(&r);
}

static void shortcut(void **state)
{
    (void)state;
    const char *const cases[] = {"{\"a\":1}", "\"text\"", "42", "[1,2]", "null"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        apigw_v2_response_t r;
        map_ok(cases[i], &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(json_string_value(json_object_get(r.headers, "content-type")), "application/json");
        assert_string_equal(r.body.data, cases[i]);
        apigw_v2_response_destroy(&r);
    }
}

static void malformed(void **state)
{
    (void)state;
    const char *const cases[] = {"not json", "{\"statusCode\":\"200\"}", "{\"statusCode\":42}",
                                 "{\"statusCode\":200,\"isBase64Encoded\":true,\"body\":\"!!\"}"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        apigw_v2_response_t r;
        assert_int_equal(apigw_v2_response_map(cases[i], strlen(cases[i]), &r, BODY_MAX), -1);
        apigw_v2_response_destroy(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(structured_response),
        cmocka_unit_test(base64_body),
        cmocka_unit_test(shortcut),
        cmocka_unit_test(malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
