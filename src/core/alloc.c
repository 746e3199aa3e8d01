/* Allocation wrappers: out of memory is not a recoverable condition for a
 * local server, so we abort with the call site instead of threading NULL
 * checks through every caller. */
#include <ftw.h>
#include <stdarg.h>
#include <sys/stat.h>
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n, const char *file, int line)
{
    fprintf(stderr, "kyoka: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    abort();
}

void *kyoka__xmalloc(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n, file, line);
    return p;
}

void *kyoka__xcalloc(size_t n, size_t size, const char *file, int line)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oom(n * size, file, line);
    return p;
}

void *kyoka__xrealloc(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n, file, line);
    return q;
}

char *kyoka__xstrndup(const char *s, size_t n, const char *file, int line)
{
    char *p = kyoka__xmalloc(n + 1, file, line);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "kyoka: out of memory in xasprintf\n");
        abort();
    }
    return s;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)flag;
    (void)f;
    remove(path);
    return 0;
}

void kyoka_remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

const char *kyoka_err_name(int err)
{
    switch (err) {
#define KYOKA_E_NAME(name, msg) \
    case KYOKA_E##name:         \
        return "KYOKA_E" #name;
        KYOKA_ERRNO_MAP(KYOKA_E_NAME)
#undef KYOKA_E_NAME
    default:
        return "unknown";
    }
}

const char *kyoka_err_message(int err)
{
    switch (err) {
#define KYOKA_E_MSG(name, msg) \
    case KYOKA_E##name:        \
        return msg;
        KYOKA_ERRNO_MAP(KYOKA_E_MSG)
#undef KYOKA_E_MSG
    default:
        return "unknown error";
    }
}
