/* Which requests are API Gateway invoke URLs and function URLs, and their parts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "apigw/apigw.h"

static http_request_t request(const char *host, const char *path)
{
    static http_header_t h[1];
    h[0] = (http_header_t){STRV_LIT("Host"), strv_from(host)};
    http_request_t r;
    memset(&r, 0, sizeof r);
    r.method = STRV_LIT("GET");
    r.path = strv_from(path);
    r.headers = h;
    r.nheaders = host ? 1 : 0;
    return r;
}

static void assert_strv(strv_t v, const char *want)
{
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.p, want, v.len);
}

static void host_form_splits_first_segment(void **state)
{
    (void)state;
    http_request_t r = request("a1b2c3.execute-api.localhost.localstack.cloud:4566", "/prod/items/7");
    apigw_invoke_url_t u;
    assert_true(apigw_invoke_url(&r, &u));
    assert_strv(u.api_id, "a1b2c3");
    assert_strv(u.first, "prod");
    assert_strv(u.rest, "/items/7");
    assert_strv(u.path, "/prod/items/7");
    assert_false(u.user_request);
}

static void aws_host_name_is_accepted(void **state)
{
    (void)state;
    http_request_t r = request("a1b2c3.execute-api.eu-west-1.amazonaws.com", "/");
    apigw_invoke_url_t u;
    assert_true(apigw_invoke_url(&r, &u));
    assert_strv(u.api_id, "a1b2c3");
    assert_strv(u.first, "");
    assert_strv(u.rest, "");
}

static void user_request_form(void **state)
{
    (void)state;
    http_request_t r = request("localhost:4566", "/restapis/xyz9/dev/_user_request_/pets/1");
    apigw_invoke_url_t u;
    assert_true(apigw_invoke_url(&r, &u));
    assert_strv(u.api_id, "xyz9");
    assert_strv(u.first, "dev");
    assert_strv(u.rest, "/pets/1");
    assert_true(u.user_request);
    r = request("localhost:4566", "/restapis/xyz9/dev/_user_request_");
    assert_true(apigw_invoke_url(&r, &u));
    assert_strv(u.rest, "/");
}

static void control_plane_paths_are_not_invocations(void **state)
{
    (void)state;
    apigw_invoke_url_t u;
    http_request_t r = request("localhost:4566", "/restapis/xyz9/resources");
    assert_false(apigw_invoke_url(&r, &u));
    r = request("localhost:4566", "/restapis/xyz9/dev/_user_request_x/a");
    assert_false(apigw_invoke_url(&r, &u));
    r = request("localhost:4566", "/restapis");
    assert_false(apigw_invoke_url(&r, &u));
    r = request("bucket.s3.localhost.localstack.cloud", "/key");
    assert_false(apigw_invoke_url(&r, &u));
    r = request("a.b.execute-api.localhost.localstack.cloud", "/x");
    assert_false(apigw_invoke_url(&r, &u));
    r = request("execute-api.example.com.evil", "/x");
    assert_false(apigw_invoke_url(&r, &u));
    r = request(NULL, "/x");
    assert_false(apigw_invoke_url(&r, &u));
}

static void function_url_host(void **state)
{
    (void)state;
    strv_t id, region;
    http_request_t r = request("abcdefghijklmnop.lambda-url.us-east-1.localhost.localstack.cloud:4566", "/x");
    assert_true(apigw_function_url(&r, &id, &region));
    assert_strv(id, "abcdefghijklmnop");
    assert_strv(region, "us-east-1");
    r = request("abc.lambda-url.eu-west-2.on.aws", "/");
    assert_true(apigw_function_url(&r, &id, &region));
    assert_strv(region, "eu-west-2");
    r = request("abc.execute-api.localhost.localstack.cloud", "/");
    assert_false(apigw_function_url(&r, &id, &region));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(host_form_splits_first_segment),
        cmocka_unit_test(aws_host_name_is_accepted),
        cmocka_unit_test(user_request_form),
        cmocka_unit_test(control_plane_paths_are_not_invocations),
        cmocka_unit_test(function_url_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
