/* Allocation wrappers: out of memory is not a recoverable condition for a
 * local server, so we abort with the call site instead of threading NULL
 * checks through every caller. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n, const char *file, int line)
{
    fprintf(stderr, "kumo: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    abort();
}

void *kumo__xmalloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n, file, line);
    return p;
}

void *kumo__xcalloc(size_t n, size_t size, const char *file, int line)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size, file, line);
    return p;
}

void *kumo__xrealloc(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n, file, line);
    return q;
}

char *kumo__xstrndup(const char *s, size_t n, const char *file, int line)
{
    char *p = kumo__xmalloc(n + 1, file, line);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

const char *kumo_err_name(int err)
{
    switch (err) {
#define KUMO_E_NAME(name, msg) \
    case KUMO_E##name:         \
        return "KUMO_E" #name;
        KUMO_ERRNO_MAP(KUMO_E_NAME)
#undef KUMO_E_NAME
    default:
        return "unknown";
    }
}

const char *kumo_err_message(int err)
{
    switch (err) {
#define KUMO_E_MSG(name, msg) \
    case KUMO_E##name:        \
        return msg;
        KUMO_ERRNO_MAP(KUMO_E_MSG)
#undef KUMO_E_MSG
    default:
        return "unknown error";
    }
}
