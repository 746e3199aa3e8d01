/* HTTP API route selection: the most specific route wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "apigw/apigw.h"

static const char *const KEYS[] = {"GET /items/{id}", "GET /items/special", "ANY /items/{id}", "ANY /{proxy+}",
                                   "$default", "GET /a/{b}/c", "GET /a/{b}/{rest+}", "POST /"};
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

/* The key chosen for method and path, or NULL. */
static const char *pick(const char *method, const char *path, apigw_route_match_t *m)
{
    strv_t keys[NKEYS];
    for (size_t i = 0; i < NKEYS; i++)
        keys[i] = strv_from(KEYS[i]);
    apigw_route_match_t local;
    if (!m)
        m = &local;
    return apigw_route_select(keys, NKEYS, strv_from(method), strv_from(path), m) ? KEYS[m->index] : NULL;
}

static void assert_param(const apigw_route_match_t *m, size_t i, const char *name, const char *value)
{
    assert_true(i < m->nparams);
    assert_int_equal(m->params[i].name.len, strlen(name));
    assert_memory_equal(m->params[i].name.p, name, strlen(name));
    assert_int_equal(m->params[i].value.len, strlen(value));
    assert_memory_equal(m->params[i].value.p, value, strlen(value));
}

static void literal_beats_variable(void **state)
{
    (void)state;
    assert_string_equal(pick("GET", "/items/special", NULL), "GET /items/special");
    apigw_route_match_t m;
    assert_string_equal(pick("GET", "/items/7", &m), "GET /items/{id}");
    assert_param(&m, 0, "id", "7");
}

static void method_beats_any(void **state)
{
    (void)state;
    assert_string_equal(pick("DELETE", "/items/7", NULL), "ANY /items/{id}");
    assert_string_equal(pick("GET", "/items/7", NULL), "GET /items/{id}");
}

static void greedy_takes_the_rest(void **state)
{
    (void)state;
    apigw_route_match_t m;
    assert_string_equal(pick("GET", "/x/y/z", &m), "ANY /{proxy+}");
    assert_param(&m, 0, "proxy", "x/y/z");
    assert_string_equal(pick("GET", "/a/1/c", &m), "GET /a/{b}/c");
    assert_string_equal(pick("GET", "/a/1/c/d", &m), "GET /a/{b}/{rest+}");
    assert_param(&m, 0, "b", "1");
    assert_param(&m, 1, "rest", "c/d");
}

static void default_is_last(void **state)
{
    (void)state;
    assert_string_equal(pick("GET", "/", NULL), "$default");
    assert_string_equal(pick("POST", "/", NULL), "POST /");
    strv_t only[] = {STRV_LIT("GET /a")};
    apigw_route_match_t m;
    assert_false(apigw_route_select(only, 1, STRV_LIT("GET"), STRV_LIT("/b"), &m));
    assert_false(apigw_route_select(only, 1, STRV_LIT("POST"), STRV_LIT("/a"), &m));
    assert_false(apigw_route_select(only, 1, STRV_LIT("GET"), STRV_LIT("/a/"), &m));
}

static void empty_segments_do_not_bind_variables(void **state)
{
    (void)state;
    strv_t keys[] = {STRV_LIT("GET /items/{id}")};
    apigw_route_match_t m;
    assert_false(apigw_route_select(keys, 1, STRV_LIT("GET"), STRV_LIT("/items/"), &m));
    assert_false(apigw_route_select(keys, 1, STRV_LIT("GET"), STRV_LIT("/items"), &m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literal_beats_variable),
        cmocka_unit_test(method_beats_any),
        cmocka_unit_test(greedy_takes_the_rest),
        cmocka_unit_test(default_is_last),
        cmocka_unit_test(empty_segments_do_not_bind_variables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
