/* Fuzz the REST API data plane's two parsers: the mapping-template
 * renderer and the invoke-path matcher. The input is a template, a NUL
 * byte, a request body, a NUL byte, then a request path. The template is
 * rendered against a fixed context and the body (bad templates must fail
 * with a message; rendering must be a pure function of its input), and the
 * path is matched against a fixed resource tree (a match names a resource
 * whose path parameters are strings). */
#include "services/apigateway/internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *snapshot(void)
{
    static const char *const paths[] = {
        "/", "/users", "/users/{id}", "/users/me", "/users/{id}/posts/{post}", "/{proxy+}", "/files/{key+}", "/a%2Fb"};
    json_t *s = json_object();
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        char id[8];
        snprintf(id, sizeof id, "r%zu", i);
        json_object_set_new(
            s, id, json_pack("{s:s,s:s,s:{s:{},s:{}}}", "id", id, "path", paths[i], "resourceMethods", "GET", "ANY"));
    }
    return s;
}

static void render(const char *tpl, const agw_tpl_ctx_t *x0, buf_t *out, int *rc)
{
    agw_tpl_ctx_t x = *x0;
    char err[256];
    err[0] = '\0';
    *rc = agw__tpl_render(tpl, &x, out, err, sizeof err);
    if (*rc != 0 && err[0] == '\0')
        __builtin_trap(); /* a failure names its reason */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const char *text = (const char *)data, *end = text + size;
    const char *n1 = memchr(text, '\0', size);
    const char *n2 = n1 ? memchr(n1 + 1, '\0', (size_t)(end - n1 - 1)) : NULL;
    char *tpl = strndup(text, n1 ? (size_t)(n1 - text) : size);
    strv_t body = n1 ? (strv_t){n1 + 1, (size_t)((n2 ? n2 : end) - n1 - 1)} : STRV_NULL;
    strv_t path = n2 ? (strv_t){n2 + 1, (size_t)(end - n2 - 1)} : STRV_LIT("/users/42");

    agw_tpl_ctx_t x = {
        .context =
            json_pack("{s:s,s:s,s:{s:s}}", "stage", "dev", "requestId", "r-1", "identity", "sourceIp", "127.0.0.1"),
        .stage_vars = json_pack("{s:s}", "color", "red"),
        .params =
            json_pack("{s:{s:s},s:{s:s},s:{s:s}}", "path", "id", "42", "querystring", "q", "x", "header", "Host", "h"),
        .body = body,
    };
    buf_t a, b;
    buf_init(&a, 1 << 20);
    buf_init(&b, 1 << 20);
    int ra, rb;
    render(tpl, &x, &a, &ra);
    render(tpl, &x, &b, &rb);
    if (ra != rb || (ra == 0 && (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)))
        __builtin_trap();
    buf_destroy(&a);
    buf_destroy(&b);

    arena_t ar;
    arena_init(&ar);
    json_t *snap = snapshot();
    route_t r = {0};
    if (agw__route_find(&ar, snap, path, "GET", &r)) {
        if (!r.resource || !r.method)
            __builtin_trap();
        const char *k;
        json_t *v;
        json_object_foreach(r.path_params, k, v) if (!json_is_string(v)) __builtin_trap();
        json_decref(r.path_params);
    }
    json_decref(snap);
    arena_destroy(&ar);
    json_decref(x.context);
    json_decref(x.stage_vars);
    json_decref(x.params);
    free(tpl);
    return 0;
}
