/*
 * The Range and conditional request headers of GetObject and HeadObject.
 *
 * Range (RFC 9110 section 14, as S3 reads it,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): one
 * range "bytes=first-last", "bytes=first-" or "bytes=-suffix". A last
 * past the end is cut to the end; a first at or past the end, or a zero
 * suffix, cannot be satisfied (416 InvalidRange). A value S3 does not read
 * (another unit, bad syntax, several ranges) is ignored: the whole object.
 *
 * Conditionals (RFC 7232 section 6, S3's documented pairs: If-Match true
 * with If-Unmodified-Since false answers 200; If-None-Match false with
 * If-Modified-Since true answers 304).
 */
#include "internal.h"

#include <string.h>

#include "core/banned.h"

/* Decimal digits at *i, up to 19 of them; false when there are none. */
static bool digits(strv_t v, size_t *i, uint64_t *out)
{
    uint64_t x = 0;
    size_t start = *i, n = 0;
    while (*i < v.len && v.p[*i] >= '0' && v.p[*i] <= '9') {
        if (++n > 19)
            return false;
        x = x * 10 + (uint64_t)(v.p[*i] - '0');
        (*i)++;
    }
    *out = x;
    return *i > start;
}

s3_range_t s3_range_parse(strv_t v, uint64_t size, uint64_t *first, uint64_t *last)
{
    v = strv_trim(v);
    if (!v.p || v.len < 7 || strncmp(v.p, "bytes=", 6) != 0)
        return S3_RANGE_NONE;
    size_t i = 6;
    while (i < v.len && v.p[i] == ' ')
        i++;
    uint64_t a = 0, b = 0;
    bool has_a = digits(v, &i, &a);
    if (i >= v.len || v.p[i] != '-')
        return S3_RANGE_NONE;
    i++;
    bool has_b = digits(v, &i, &b);
    while (i < v.len && v.p[i] == ' ')
        i++;
    if (i != v.len || (!has_a && !has_b))
        return S3_RANGE_NONE; /* several ranges, or junk */
    if (!has_a) {
        /* The last b bytes. */
        if (b == 0 || size == 0)
            return S3_RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return S3_RANGE_OK;
    }
    if (has_b && b < a)
        return S3_RANGE_NONE; /* RFC 9110: an invalid range is ignored */
    if (a >= size)
        return S3_RANGE_UNSATISFIABLE;
    *first = a;
    *last = !has_b || b >= size ? size - 1 : b;
    return S3_RANGE_OK;
}

/* Does the If-Match / If-None-Match list name etag? "*" matches any. */
static bool etag_listed(const char *list, const char *etag)
{
    strv_t e = strv_from(etag);
    /* Compare without the quotes: clients send both forms. */
    if (e.len >= 2 && e.p[0] == '"')
        e = (strv_t){e.p + 1, e.len - 2};
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        strv_t item = strv_trim((strv_t){start, (size_t)(p - start)});
        if (item.len >= 2 && item.p[0] == 'W' && item.p[1] == '/')
            item = (strv_t){item.p + 2, item.len - 2};
        if (item.len >= 2 && item.p[0] == '"' && item.p[item.len - 1] == '"')
            item = (strv_t){item.p + 1, item.len - 2};
        if (strv_eq_cstr(item, "*") || (item.len && strv_eq(item, e)))
            return true;
    }
    return false;
}

s3_cond_t s3_cond_eval(const char *if_match, const char *if_none_match, int64_t if_modified_since,
                       int64_t if_unmodified_since, const char *etag, int64_t last_modified)
{
    if (if_match) {
        if (!etag_listed(if_match, etag))
            return S3_COND_FAILED;
    } else if (if_unmodified_since >= 0 && last_modified > if_unmodified_since) {
        return S3_COND_FAILED;
    }
    if (if_none_match) {
        if (etag_listed(if_none_match, etag))
            return S3_COND_NOT_MODIFIED;
    } else if (if_modified_since >= 0 && last_modified <= if_modified_since) {
        return S3_COND_NOT_MODIFIED;
    }
    return S3_COND_OK;
}
