/* Fuzz HTTP API route selection (src/apigw/route.c): the input is lines,
 * the first "METHOD /path" the request, the others route keys. Selection
 * must be a pure function of its input (asked twice, answered the same),
 * every parameter a view inside the key and the path it came from, and
 * the chosen key one of those given. */
#include "apigw/apigw.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KEYS 64

static bool inside(strv_t v, strv_t whole)
{
    return v.len == 0 || (v.p >= whole.p && v.p + v.len <= whole.p + whole.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    strv_t lines[MAX_KEYS + 1];
    size_t n = 0;
    const char *p = (const char *)data, *end = p + size;
    while (p < end && n < MAX_KEYS + 1) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        lines[n++] = (strv_t){p, (size_t)(e - p)};
        p = nl ? nl + 1 : end;
    }
    if (n < 1)
        return 0;
    const char *sp = memchr(lines[0].p, ' ', lines[0].len);
    if (!sp)
        return 0;
    strv_t method = {lines[0].p, (size_t)(sp - lines[0].p)};
    strv_t path = {sp + 1, lines[0].len - method.len - 1};
    apigw_route_match_t a, b;
    bool fa = apigw_route_select(lines + 1, n - 1, method, path, &a);
    bool fb = apigw_route_select(lines + 1, n - 1, method, path, &b);
    if (fa != fb || (fa && (a.index != b.index || a.nparams != b.nparams)))
        __builtin_trap();
    if (!fa)
        return 0;
    if (a.index >= n - 1 || a.nparams > APIGW_ROUTE_MAX_PARAMS)
        __builtin_trap();
    for (size_t i = 0; i < a.nparams; i++)
        if (!inside(a.params[i].name, lines[1 + a.index]) || !inside(a.params[i].value, path))
            __builtin_trap();
    return 0;
}
