/* Fuzz the Lambda Runtime API request classifier (rt_api_parse) on the
 * request line a function's runtime sends its environment's listener. The
 * listener's HTTP parsing is the http component's (fuzzed as http); this
 * only covers the method and path classification.
 *
 * Input: METHOD SP PATH (split at the first space; no space: all method).
 *
 * Invariants trapped on: deterministic; NEXT only for GET and INIT_ERROR
 * only for POST, on their exact paths; for RESPONSE and ERROR (POST only)
 * the id is a non-empty view inside path without '/', and the path is
 * exactly prefix + id + "/response" or "/error"; UNKNOWN otherwise. Other
 * kinds have no id requirement. */
#include "runtime/runtime.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char prefix[] = "/2018-06-01/runtime/";

static bool is(strv_t s, const char *lit) { return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const char *p = (const char *)data;
    const char *sp = size ? memchr(p, ' ', size) : NULL;
    strv_t method = {size ? p : "", sp ? (size_t)(sp - p) : size};
    strv_t path = sp ? (strv_t){sp + 1, size - method.len - 1} : (strv_t){"", 0};

    strv_t id = STRV_NULL, id2 = STRV_NULL;
    rt_api_kind_t k = rt_api_parse(method, path, &id);
    if (rt_api_parse(method, path, &id2) != k)
        __builtin_trap();
    switch (k) {
    case RT_API_UNKNOWN: break;
    case RT_API_NEXT:
        if (!is(method, "GET") || !is(path, "/2018-06-01/runtime/invocation/next"))
            __builtin_trap();
        break;
    case RT_API_INIT_ERROR:
        if (!is(method, "POST") || !is(path, "/2018-06-01/runtime/init/error"))
            __builtin_trap();
        break;
    case RT_API_RESPONSE:
    case RT_API_ERROR: {
        if (!is(method, "POST"))
            __builtin_trap();
        if (!id.p || id.len == 0 || id.p < path.p || id.p + id.len > path.p + path.len)
            __builtin_trap();
        if (memchr(id.p, '/', id.len))
            __builtin_trap();
        if (id.p != id2.p || id.len != id2.len)
            __builtin_trap();
        /* The whole path: prefix "invocation/" id "/response" | "/error". */
        static const char inv[] = "invocation/";
        const char *what = k == RT_API_RESPONSE ? "/response" : "/error";
        size_t head = sizeof prefix - 1 + sizeof inv - 1;
        if (path.len != head + id.len + strlen(what) || memcmp(path.p, prefix, sizeof prefix - 1) != 0 ||
            memcmp(path.p + sizeof prefix - 1, inv, sizeof inv - 1) != 0 || id.p != path.p + head ||
            memcmp(id.p + id.len, what, strlen(what)) != 0)
            __builtin_trap();
        break;
    }
    default: __builtin_trap();
    }
    return 0;
}
