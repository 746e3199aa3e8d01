/*
 * ListObjectVersions
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html):
 * every version of every key, keys in byte order and each key's versions
 * newest first; the current object (s3_objects) and the rest (s3_versions)
 * read as one ordered stream. A page resumes after (KeyMarker,
 * VersionIdMarker); KeyMarker alone resumes after every version of that
 * key. Versions, delete markers and common prefixes count against
 * max-keys together.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static json_t *url_or_plain(arena_t *a, const char *s, bool url)
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

int s3_list_object_versions(svc_call_t *c)
{
    s3_state_t *st = c->state;
    const char *bucket = svc_in_str(c, "Bucket");
    const char *prefix = svc_in_str(c, "Prefix") ? svc_in_str(c, "Prefix") : "";
    const char *delim = svc_in_str(c, "Delimiter");
    if (delim && !*delim)
        delim = NULL;
    const char *km = svc_in_str(c, "KeyMarker");
    const char *vm = svc_in_str(c, "VersionIdMarker");
    if (km && !*km)
        km = NULL;
    json_t *mk = svc_in(c, "MaxKeys");
    int max = mk ? (int)json_integer_value(mk) : S3_MAX_KEYS;
    if (max < 0) {
        svc_error(c, "InvalidArgument", 400, "Argument maxKeys must be an integer between 0 and 2147483647");
        return 0;
    }
    if (max > S3_MAX_KEYS)
        max = S3_MAX_KEYS;
    const char *et = svc_in_str(c, "EncodingType");
    if (et && strcmp(et, "url") != 0) {
        svc_error(c, "InvalidArgument", 400, "Invalid Encoding Method specified in Request");
        return 0;
    }
    bool url = et != NULL;
    if (vm && *vm && !km) {
        svc_error(c, "InvalidArgument", 400, "A version-id marker cannot be specified without a key marker.");
        return 0;
    }
    if (!s3__bucket_get_or_fail(c, bucket))
        return 0;
    /* Where the page starts: after the marker version of KeyMarker (its
     * seq), else after every version of KeyMarker. */
    int64_t after_seq = INT64_MAX;
    bool within_key = false;
    if (km && vm && *vm) {
        s3_object_t mo;
        if (!s3__version_lookup(st, c->arena, bucket, km, vm, &mo)) {
            svc_error(c, "InvalidArgument", 400, "Invalid version id specified");
            return 0;
        }
        after_seq = mo.seq;
        within_key = true;
    }
    sqlite3_stmt *q = store_stmt(
        st->store,
        "SELECT key, seq, version_id, marker, size, etag, modified_ms, storage_class, ck_alg FROM ("
        " SELECT key, seq, version_id, 0 AS marker, size, etag, modified_ms, storage_class, ck_alg FROM s3_objects"
        "  WHERE bucket = ?1"
        " UNION ALL"
        " SELECT key, seq, version_id, marker, size, etag, modified_ms, storage_class, ck_alg FROM s3_versions"
        "  WHERE bucket = ?1)"
        " WHERE substr(key, 1, length(?2)) = ?2"
        "  AND (?3 IS NULL OR key > ?3 OR (?4 AND key = ?3 AND seq < ?5))"
        " ORDER BY key, seq DESC");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, prefix, -1, SQLITE_STATIC);
    if (km)
        sqlite3_bind_text(q, 3, km, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 3);
    sqlite3_bind_int(q, 4, within_key);
    sqlite3_bind_int64(q, 5, after_seq);
    json_t *versions = json_array(), *markers = json_array(), *prefixes = json_array();
    json_t *owner = json_pack("{s:s,s:s}", "DisplayName", "kyoka", "ID", c->ctx->account_id);
    int count = 0;
    bool truncated = false;
    const char *prev_key = within_key ? km : NULL;
    const char *last_key = NULL, *last_vid = NULL, *last_prefix = NULL;
    size_t pl = strlen(prefix), dl = delim ? strlen(delim) : 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(q, 0);
        size_t kl = (size_t)sqlite3_column_bytes(q, 0);
        bool latest = !prev_key || strcmp(prev_key, key) != 0;
        /* A NextKeyMarker that was a common prefix skips what it rolled up. */
        if (km && !within_key && dl && kl > strlen(km) && strlen(km) >= dl &&
            strcmp(km + strlen(km) - dl, delim) == 0 && strncmp(key, km, strlen(km)) == 0)
            continue;
        if (dl) {
            const char *d = kl > pl ? memmem(key + pl, kl - pl, delim, dl) : NULL;
            if (d) {
                size_t cl = (size_t)(d - key) + dl;
                if (last_prefix && strlen(last_prefix) == cl && memcmp(last_prefix, key, cl) == 0)
                    continue;
                if (count == max) {
                    truncated = true;
                    break;
                }
                last_prefix = arena_strndup(c->arena, key, cl);
                json_array_append_new(prefixes, json_pack("{s:o}", "Prefix", url_or_plain(c->arena, last_prefix, url)));
                count++;
                /* A common prefix resumes after everything under it. */
                last_key = last_prefix;
                last_vid = NULL;
                prev_key = arena_strndup(c->arena, key, kl);
                continue;
            }
        }
        if (count == max) {
            truncated = true;
            break;
        }
        const char *vid = sqlite3_column_text(q, 2) ? (const char *)sqlite3_column_text(q, 2) : "null";
        json_t *e =
            json_pack("{s:o,s:s,s:b,s:I,s:O}", "Key", url_or_plain(c->arena, key, url), "VersionId", vid, "IsLatest",
                      latest, "LastModified", (json_int_t)(sqlite3_column_int64(q, 6) / 1000), "Owner", owner);
        if (sqlite3_column_int(q, 3)) {
            json_array_append_new(markers, e);
        } else {
            json_object_set_new(e, "ETag", json_string((const char *)sqlite3_column_text(q, 5)));
            json_object_set_new(e, "Size", json_integer((json_int_t)sqlite3_column_int64(q, 4)));
            json_object_set_new(
                e, "StorageClass",
                json_string(sqlite3_column_text(q, 7) ? (const char *)sqlite3_column_text(q, 7) : "STANDARD"));
            if (sqlite3_column_text(q, 8))
                json_object_set_new(e, "ChecksumAlgorithm", json_pack("[s]", (const char *)sqlite3_column_text(q, 8)));
            json_array_append_new(versions, e);
        }
        count++;
        prev_key = last_key = arena_strndup(c->arena, key, kl);
        last_vid = arena_strdup(c->arena, vid);
    }
    sqlite3_reset(q);
    json_decref(owner);
    json_t *out = svc_output(c);
    json_object_set_new(out, "Name", json_string(bucket));
    json_object_set_new(out, "Prefix", url_or_plain(c->arena, prefix, url));
    json_object_set_new(out, "KeyMarker", url_or_plain(c->arena, km ? km : "", url));
    json_object_set_new(out, "VersionIdMarker", json_string(vm ? vm : ""));
    json_object_set_new(out, "MaxKeys", json_integer(mk ? json_integer_value(mk) : S3_MAX_KEYS));
    if (delim)
        json_object_set_new(out, "Delimiter", url_or_plain(c->arena, delim, url));
    if (url)
        json_object_set_new(out, "EncodingType", json_string("url"));
    json_object_set_new(out, "IsTruncated", json_boolean(truncated));
    if (truncated && last_key) {
        json_object_set_new(out, "NextKeyMarker", url_or_plain(c->arena, last_key, url));
        if (last_vid)
            json_object_set_new(out, "NextVersionIdMarker", json_string(last_vid));
    }
    if (json_array_size(versions))
        json_object_set_new(out, "Versions", versions);
    else
        json_decref(versions);
    if (json_array_size(markers))
        json_object_set_new(out, "DeleteMarkers", markers);
    else
        json_decref(markers);
    if (json_array_size(prefixes))
        json_object_set_new(out, "CommonPrefixes", prefixes);
    else
        json_decref(prefixes);
    return 0;
}
