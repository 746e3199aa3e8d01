/*
 * ListObjects and ListObjectsV2
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
 *
 * Keys come in byte order from the (bucket, key) primary key. With a
 * delimiter, a key whose rest after the prefix holds the delimiter rolls
 * up into a common prefix, and the scan then seeks past every key under
 * that prefix, so a folder of a million keys costs one seek, not a million
 * rows. Keys and common prefixes together count against max-keys. The
 * continuation token is the last key or common prefix returned, base64:
 * the next page starts after it (after everything under it, for a common
 * prefix).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* The smallest string greater than every string starting with p: p with
 * its last byte incremented (0xff bytes dropped first). NULL: none. */
static char *prefix_end(arena_t *a, const char *p, size_t n)
{
    while (n > 0 && (unsigned char)p[n - 1] == 0xff)
        n--;
    if (n == 0)
        return NULL;
    char *e = arena_strndup(a, p, n);
    e[n - 1] = (char)((unsigned char)e[n - 1] + 1);
    return e;
}

/* RFC 3986 percent-encoding as S3 does for encoding-type=url (keeps '/'). */
static json_t *maybe_url(arena_t *a, const char *s, bool url)
{
    if (!url)
        return json_string(s);
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *o = arena_alloc(a, 3 * n + 1), *q = o;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.~/", ch)) {
            *q++ = (char)ch;
        } else {
            *q++ = '%';
            *q++ = hex[ch >> 4];
            *q++ = hex[ch & 15];
        }
    }
    *q = '\0';
    return json_string(o);
}

typedef struct list_args {
    const char *bucket, *prefix, *delimiter, *after; /* after: exclusive start */
    bool after_is_prefix;                            /* skip everything under after */
    int max;
    bool url;
} list_args_t;

typedef struct list_result {
    json_t *contents, *prefixes;
    bool truncated;
    const char *last; /* last key or common prefix returned */
    bool last_is_prefix;
    int count;
} list_result_t;

static void list_run(svc_call_t *c, const list_args_t *la, list_result_t *r)
{
    s3_state_t *st = c->state;
    arena_t *a = c->arena;
    size_t pl = strlen(la->prefix);
    const char *end = pl ? prefix_end(a, la->prefix, pl) : NULL;
    /* Where to start: after the marker, and no earlier than the prefix. */
    const char *from = la->prefix;
    bool from_inclusive = true;
    if (la->after && strcmp(la->after, la->prefix) >= 0) {
        if (la->after_is_prefix) {
            from = prefix_end(a, la->after, strlen(la->after));
            if (!from)
                from = NULL;
        } else {
            from = la->after;
            from_inclusive = false;
        }
    }
    r->contents = json_array();
    r->prefixes = json_array();
    r->count = 0;
    r->truncated = false;
    r->last = NULL;
    size_t dl = la->delimiter ? strlen(la->delimiter) : 0;
    if (la->max == 0 || (la->after && la->after_is_prefix && !from))
        return;
    while (from) {
        sqlite3_stmt *q = store_stmt(
            st->store, from_inclusive
                           ? "SELECT key, size, etag, modified_ms, storage_class, ck_alg FROM s3_objects WHERE bucket = ? AND "
                             "key >= ? AND (?3 IS NULL OR key < ?3) ORDER BY key LIMIT 1001"
                           : "SELECT key, size, etag, modified_ms, storage_class, ck_alg FROM s3_objects WHERE bucket = ? AND "
                             "key > ? AND (?3 IS NULL OR key < ?3) ORDER BY key LIMIT 1001");
        sqlite3_bind_text(q, 1, la->bucket, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, from, -1, SQLITE_TRANSIENT);
        if (end)
            sqlite3_bind_text(q, 3, end, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(q, 3);
        const char *next_from = NULL;
        bool any = false;
        while (sqlite3_step(q) == SQLITE_ROW) {
            any = true;
            const char *key = (const char *)sqlite3_column_text(q, 0);
            size_t kl = (size_t)sqlite3_column_bytes(q, 0);
            if (dl) {
                const char *d = kl > pl ? memmem(key + pl, kl - pl, la->delimiter, dl) : NULL;
                if (d) {
                    if (r->count == la->max) {
                        r->truncated = true;
                        break;
                    }
                    size_t cl = (size_t)(d - key) + dl;
                    char *cp = arena_strndup(a, key, cl);
                    json_array_append_new(r->prefixes, json_pack("{s:o}", "Prefix", maybe_url(a, cp, la->url)));
                    r->count++;
                    r->last = cp;
                    r->last_is_prefix = true;
                    /* Seek past everything under the common prefix. */
                    next_from = prefix_end(a, cp, cl);
                    break;
                }
            }
            if (r->count == la->max) {
                r->truncated = true;
                break;
            }
            json_t *o = json_pack("{s:o,s:I,s:s,s:I,s:s}", "Key", maybe_url(a, key, la->url), "LastModified",
                                  (json_int_t)(sqlite3_column_int64(q, 3) / 1000), "ETag",
                                  (const char *)sqlite3_column_text(q, 2), "Size", (json_int_t)sqlite3_column_int64(q, 1),
                                  "StorageClass",
                                  sqlite3_column_text(q, 4) ? (const char *)sqlite3_column_text(q, 4) : "STANDARD");
            if (sqlite3_column_text(q, 5))
                json_object_set_new(o, "ChecksumAlgorithm", json_pack("[s]", (const char *)sqlite3_column_text(q, 5)));
            json_array_append_new(r->contents, o);
            r->count++;
            r->last = arena_strndup(a, key, kl);
            r->last_is_prefix = false;
            next_from = r->last;
        }
        sqlite3_reset(q);
        if (r->truncated || !any)
            break;
        if (r->last_is_prefix) {
            from = next_from;
            from_inclusive = true;
        } else {
            from = next_from;
            from_inclusive = false;
        }
        if (!from)
            break;
    }
}

/* s3:ListBucket with its condition keys. */
static bool list_authorize(svc_call_t *c, const char *bucket, const char *prefix, const char *delimiter, int max)
{
    static const char *const names[] = {"s3:prefix", "s3:delimiter", "s3:max-keys"};
    iam_ctx_value_t ctx[3];
    const char **vals = arena_alloc(c->arena, 3 * sizeof *vals);
    size_t n = 0;
    vals[0] = prefix;
    vals[1] = delimiter;
    vals[2] = arena_sprintf(c->arena, "%d", max);
    for (int i = 0; i < 3; i++)
        if (vals[i] && (i != 0 || *vals[i]))
            ctx[n++] = (iam_ctx_value_t){names[i], &vals[i], 1};
    const char *arn = arena_sprintf(c->arena, "arn:aws:s3:::%s", bucket);
    c->resource_arn = arn;
    return c->ctx->authorize(c, "s3:ListBucket", arn, ctx, n) == IAM_ALLOW;
}

static bool list_common(svc_call_t *c, list_args_t *la)
{
    la->bucket = svc_in_str(c, "Bucket");
    la->prefix = svc_in_str(c, "Prefix") ? svc_in_str(c, "Prefix") : "";
    la->delimiter = svc_in_str(c, "Delimiter");
    if (la->delimiter && !*la->delimiter)
        la->delimiter = NULL;
    json_t *mk = svc_in(c, "MaxKeys");
    la->max = mk ? (int)json_integer_value(mk) : S3_MAX_KEYS;
    if (la->max < 0) {
        svc_error(c, "InvalidArgument", 400, "Argument maxKeys must be an integer between 0 and 2147483647");
        return false;
    }
    if (la->max > S3_MAX_KEYS)
        la->max = S3_MAX_KEYS;
    const char *et = svc_in_str(c, "EncodingType");
    if (et && strcmp(et, "url") != 0) {
        svc_error(c, "InvalidArgument", 400, "Invalid Encoding Method specified in Request");
        return false;
    }
    la->url = et != NULL;
    if (!list_authorize(c, la->bucket, la->prefix, la->delimiter, mk ? (int)json_integer_value(mk) : S3_MAX_KEYS))
        return false;
    return s3__bucket_get_or_fail(c, la->bucket) != NULL;
}

static void list_output(svc_call_t *c, const list_args_t *la, list_result_t *r, json_t *out)
{
    arena_t *a = c->arena;
    json_object_set_new(out, "Name", json_string(la->bucket));
    json_object_set_new(out, "Prefix", maybe_url(a, la->prefix, la->url));
    if (la->delimiter)
        json_object_set_new(out, "Delimiter", maybe_url(a, la->delimiter, la->url));
    json_t *mk = svc_in(c, "MaxKeys");
    json_object_set_new(out, "MaxKeys", json_integer(mk ? json_integer_value(mk) : S3_MAX_KEYS));
    json_object_set_new(out, "IsTruncated", json_boolean(r->truncated));
    if (la->url)
        json_object_set_new(out, "EncodingType", json_string("url"));
    if (json_array_size(r->contents))
        json_object_set_new(out, "Contents", r->contents);
    else
        json_decref(r->contents);
    if (json_array_size(r->prefixes))
        json_object_set_new(out, "CommonPrefixes", r->prefixes);
    else
        json_decref(r->prefixes);
}

int s3_list_objects_v2(svc_call_t *c)
{
    list_args_t la = {0};
    if (!list_common(c, &la))
        return 0;
    const char *tok = svc_in_str(c, "ContinuationToken");
    const char *sa = svc_in_str(c, "StartAfter");
    if (tok) {
        unsigned char *raw;
        ssize_t n = base64_decode(c->arena, strv_from(tok), &raw);
        if (n < 1 || (raw[0] != 'K' && raw[0] != 'P')) {
            svc_error(c, "InvalidArgument", 400, "The continuation token provided is incorrect");
            return 0;
        }
        la.after = arena_strndup(c->arena, (const char *)raw + 1, (size_t)n - 1);
        la.after_is_prefix = raw[0] == 'P';
    } else if (sa && *sa) {
        la.after = sa;
    }
    list_result_t r;
    list_run(c, &la, &r);
    json_t *out = svc_output(c);
    list_output(c, &la, &r, out);
    json_object_set_new(out, "KeyCount", json_integer(r.count));
    if (tok)
        json_object_set_new(out, "ContinuationToken", json_string(tok));
    if (sa)
        json_object_set_new(out, "StartAfter", maybe_url(c->arena, sa, la.url));
    if (r.truncated && r.last) {
        const char *t = arena_sprintf(c->arena, "%c%s", r.last_is_prefix ? 'P' : 'K', r.last);
        json_object_set_new(out, "NextContinuationToken", json_string(base64_encode(c->arena, t, strlen(t))));
    }
    return 0;
}

int s3_list_objects(svc_call_t *c)
{
    list_args_t la = {0};
    if (!list_common(c, &la))
        return 0;
    const char *marker = svc_in_str(c, "Marker");
    if (marker && *marker) {
        la.after = marker;
        /* A NextMarker that was a common prefix skips what it rolled up. */
        size_t ml = strlen(marker), dl = la.delimiter ? strlen(la.delimiter) : 0;
        la.after_is_prefix = dl && ml >= dl && strcmp(marker + ml - dl, la.delimiter) == 0;
    }
    list_result_t r;
    list_run(c, &la, &r);
    json_t *out = svc_output(c);
    list_output(c, &la, &r, out);
    json_object_set_new(out, "Marker", maybe_url(c->arena, marker ? marker : "", la.url));
    /* NextMarker is only sent with a delimiter; without one clients use
     * the last key. */
    if (r.truncated && r.last && la.delimiter)
        json_object_set_new(out, "NextMarker", maybe_url(c->arena, r.last, la.url));
    return 0;
}
