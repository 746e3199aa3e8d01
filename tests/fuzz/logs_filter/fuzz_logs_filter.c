/* Fuzz the CloudWatch Logs filter pattern language: the input is a
 * pattern, a NUL byte, then messages separated by newlines. The pattern is
 * compiled (bad ones must fail cleanly, with a message), and a compiled
 * one is matched against every message and against the pattern text
 * itself; matching must be a pure function of its input (asked twice,
 * answered the same). */
#include "services/logs/internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void match_twice(const logs_pattern_t *p, const char *m, size_t n)
{
    bool a = logs_pattern_match(p, m, n);
    bool b = logs_pattern_match(p, m, n);
    if (a != b)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t plen = nul ? (size_t)(nul - text) : size;
    logs_pattern_t *p = NULL;
    char err[256];
    err[0] = '\0';
    int rc = logs_pattern_compile(text, plen, &p, err, sizeof err);
    if (rc != 0) {
        if (p || err[0] == '\0')
            __builtin_trap(); /* a failure names its reason and leaves nothing */
        return 0;
    }
    match_twice(p, text, plen);
    if (nul) {
        const char *m = nul + 1, *end = text + size;
        while (m <= end) {
            const char *nl = memchr(m, '\n', (size_t)(end - m));
            size_t n = nl ? (size_t)(nl - m) : (size_t)(end - m);
            match_twice(p, m, n);
            if (!nl)
                break;
            m = nl + 1;
        }
    }
    logs_pattern_free(p);
    return 0;
}
