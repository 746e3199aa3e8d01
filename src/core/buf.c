/* strv_t views and buf_t owned buffers. buf_t follows the "append freely,
 * check once" pattern: the first failure sets a sticky error and every later
 * append is a no-op, so building a response needs one check at the end. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char empty_data[1] = "";

strv_t strv_from(const char *s) { return s ? (strv_t){s, strlen(s)} : STRV_NULL; }

bool strv_eq(strv_t a, strv_t b) { return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0); }

bool strv_eq_cstr(strv_t a, const char *s) { return strv_eq(a, strv_from(s)); }

bool strv_caseeq_cstr(strv_t a, const char *s)
{
    size_t n = strlen(s);
    return a.len == n && (n == 0 || strncasecmp(a.p, s, n) == 0);
}

bool strv_starts_with(strv_t a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.p, prefix, n) == 0;
}

strv_t strv_trim(strv_t s)
{
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.len--;
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
        s.len--;
    return s;
}

void buf_init(buf_t *b, size_t max)
{
    b->data = empty_data;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->err = 0;
}

void buf_destroy(buf_t *b)
{
    if (!b)
        return;
    if (b->cap)
        free(b->data);
    buf_init(b, b->max);
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    b->err = 0;
    if (b->cap)
        b->data[0] = '\0';
}

void buf_recycle(buf_t *b, size_t keep_cap)
{
    if (b->cap > keep_cap)
        buf_destroy(b);
    else
        buf_reset(b);
}

/* Make room for n more bytes plus the terminating NUL. */
int buf_reserve(buf_t *b, size_t n)
{
    if (b->err)
        return b->err;
    if (n > b->max - b->len) {
        b->err = KYOKA_ELIMIT;
        return b->err;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap * 2;
    if (b->cap == 0) {
        b->data = xmalloc(cap);
        b->data[0] = '\0';
    } else {
        b->data = xrealloc(b->data, cap);
    }
    b->cap = cap;
    return 0;
}

int buf_append(buf_t *b, const void *p, size_t n)
{
    if (buf_reserve(b, n))
        return b->err;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int buf_appends(buf_t *b, const char *s) { return buf_append(b, s, strlen(s)); }

int buf_appendc(buf_t *b, char c) { return buf_append(b, &c, 1); }

int buf_vappendf(buf_t *b, const char *fmt, va_list ap)
{
    if (b->err)
        return b->err;
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return b->err = KYOKA_EINVAL;
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    if (buf_reserve(b, (size_t)n))
        return b->err;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_appendf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *buf_detach(buf_t *b, size_t *len)
{
    char *p = b->cap ? b->data : xstrndup("", 0);
    if (len)
        *len = b->len;
    buf_init(b, b->max);
    return p;
}
