/*
 * Objects: PutObject (the body arrives spooled, fsynced, by the server),
 * GetObject and HeadObject (served from the file: Range, conditionals,
 * response-* overrides), DeleteObject(s), CopyObject, tagging.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/banned.h"

/* ==== resource internals ==== */

/* System headers kept with an object, by output member name. */
static const char *const sys_members[] = {"ContentType", "CacheControl", "ContentDisposition", "ContentEncoding",
                                          "ContentLanguage", "Expires", "WebsiteRedirectLocation"};

static char *headers_from_input(json_t *in)
{
    json_t *h = json_object();
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(sys_members); i++) {
        json_t *v = json_object_get(in, sys_members[i]);
        if (v)
            json_object_set(h, sys_members[i], v);
    }
    /* The SDK's aws-chunked framing is not the object's encoding. */
    const char *ce = json_string_value(json_object_get(h, "ContentEncoding"));
    if (ce && strncmp(ce, "aws-chunked", 11) == 0) {
        const char *rest = ce + 11;
        while (*rest == ',' || *rest == ' ')
            rest++;
        if (*rest)
            json_object_set_new(h, "ContentEncoding", json_string(rest));
        else
            json_object_del(h, "ContentEncoding");
    }
    if (!json_object_get(h, "ContentType"))
        json_object_set_new(h, "ContentType", json_string("binary/octet-stream"));
    char *s = proto_json_dumps(h, JSON_COMPACT);
    json_decref(h);
    return s;
}

/* User metadata within AWS's 2 KB (names and values). */
static bool meta_ok(svc_call_t *c, json_t *meta)
{
    size_t total = 0;
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) total += strlen(k) + json_string_length(v);
    if (total > S3_MAX_META_BYTES) {
        svc_error(c, "MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size.");
        return false;
    }
    return true;
}

static char *meta_encode(json_t *meta)
{
    if (!meta || json_object_size(meta) == 0)
        return NULL;
    /* Names are case-insensitive on the wire; S3 returns them lower-cased. */
    json_t *m = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(meta, k, v) {
        char low[256];
        size_t n = strlen(k);
        if (n >= sizeof low)
            n = sizeof low - 1;
        for (size_t i = 0; i < n; i++)
            low[i] = (char)(k[i] >= 'A' && k[i] <= 'Z' ? k[i] + 32 : k[i]);
        low[n] = '\0';
        json_object_set(m, low, v);
    }
    char *s = proto_json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return s;
}

static bool key_ok(svc_call_t *c, const char *key)
{
    if (!key || !*key) {
        svc_error(c, "InvalidArgument", 400, "A key must be given");
        return false;
    }
    if (strlen(key) > S3_MAX_KEY_BYTES) {
        svc_error(c, "KeyTooLongError", 400, "Your key is too long");
        return false;
    }
    return true;
}

/* Content-MD5 and x-amz-checksum-* given by the client against what the
 * body hashed to. */
static bool digests_match(svc_call_t *c, const unsigned char md5[16], s3_ck_alg_t alg, const char *ck)
{
    const char *cmd5 = svc_in_str(c, "ContentMD5");
    if (cmd5) {
        char want[32];
        s3_b64(md5, 16, want);
        unsigned char *raw;
        ssize_t n = base64_decode(c->arena, strv_from(cmd5), &raw);
        if (n != 16) {
            svc_error(c, "InvalidDigest", 400, "The Content-MD5 you specified was invalid.");
            return false;
        }
        if (strcmp(want, cmd5) != 0) {
            svc_error(c, "BadDigest", 400, "The Content-MD5 you specified did not match what we received.");
            return false;
        }
    }
    if (alg != S3_CK_NONE) {
        const char *given = svc_in_str(c, s3_ck_member(alg));
        if (given && strcmp(given, ck) != 0) {
            svc_error(c, "BadDigest", 400, "The %s you specified did not match the calculated checksum.",
                      s3_ck_name(alg));
            return false;
        }
    }
    return true;
}

/* Move the spooled body under objects/ with a new id (the rename is the
 * moment it becomes the object's; fsync happened in the spool). */
static bool take_body(svc_call_t *c, char id[37])
{
    s3_state_t *st = c->state;
    s3__file_id(id);
    const char *dst = s3__file_path(st, c->arena, id);
    if (rename(c->body_in->path, dst) != 0) {
        log_error("s3: rename %s -> %s: %s", c->body_in->path, dst, strerror(errno));
        svc_error(c, "InternalError", 500, "kyoka could not store the object");
        return false;
    }
    return true;
}

static void etag_hex(const unsigned char md5[16], char out[35])
{
    out[0] = '"';
    kyoka_hex(md5, 16, out + 1);
    out[33] = '"';
    out[34] = '\0';
}

/* ==== operation handlers ==== */

int s3_put_object(svc_call_t *c)
{
    s3_state_t *st = c->state;
    const char *bucket = svc_in_str(c, "Bucket"), *key = svc_in_str(c, "Key");
    s3_bucket_t *b;
    if (!key_ok(c, key) || !(b = s3__bucket_get_or_fail(c, bucket)))
        return 0;
    json_t *meta = svc_in(c, "Metadata");
    if (meta && !meta_ok(c, meta))
        return 0;
    const char *acl = svc_in_str(c, "ACL");
    if (acl && strcmp(acl, "private") != 0 && strcmp(acl, "bucket-owner-full-control") != 0) {
        svc_error(c, "AccessControlListNotSupported", 400, "The bucket does not allow ACLs");
        return 0;
    }
    char *tags = NULL;
    const char *tq = svc_in_str(c, "Tagging");
    if (tq) {
        json_t *ts = s3__tags_from_query(c, tq);
        if (!ts)
            return 0;
        tags = s3__tags_encode(c, ts, S3_MAX_TAGS);
        json_decref(ts);
        if (!tags)
            return 0;
    }
    s3_digest_t *d = c->body_in->digest;
    unsigned char md5[16];
    char ck[64];
    s3_digest_final(d, md5, ck);
    if (!digests_match(c, md5, d->alg, ck)) {
        free(tags);
        return 0;
    }
    char id[37], etag[35];
    if (!take_body(c, id)) {
        free(tags);
        return 0;
    }
    etag_hex(md5, etag);
    char *headers = headers_from_input(c->input);
    char *m = meta_encode(meta);
    s3_object_t o = {
        .key = key,
        .size = c->body_in->size,
        .etag = etag,
        .modified_ms = kyoka_clock_now_ms(),
        .file = id,
        .headers = headers,
        .meta = m,
        .tags = tags,
        .ck_alg = d->alg ? s3_ck_name(d->alg) : NULL,
        .ck_value = d->alg ? ck : NULL,
        .storage_class = svc_in_str(c, "StorageClass"),
    };
    char vid[S3_VERSION_ID_LEN + 1];
    s3__object_put(st, b, &o, vid);
    free(headers);
    free(m);
    free(tags);
    json_t *out = svc_output(c);
    json_object_set_new(out, "ETag", json_string(etag));
    if (d->alg)
        json_object_set_new(out, s3_ck_member(d->alg), json_string(ck));
    if (b->versioning)
        json_object_set_new(out, "VersionId", json_string(vid[0] ? vid : "null"));
    s3__notify(st, c, b, "ObjectCreated:Put", &o);
    return 0;
}

/* Fill the output of GetObject / HeadObject from the row. */
static void object_output(svc_call_t *c, const s3_object_t *o, json_t *out)
{
    json_object_set_new(out, "ETag", json_string(o->etag));
    json_object_set_new(out, "LastModified", json_integer(o->modified_ms / 1000));
    json_object_set_new(out, "AcceptRanges", json_string("bytes"));
    json_t *h = o->headers ? json_loads(o->headers, 0, NULL) : NULL;
    if (h) {
        json_object_update(out, h);
        json_decref(h);
    }
    json_t *m = o->meta ? json_loads(o->meta, 0, NULL) : NULL;
    if (m)
        json_object_set_new(out, "Metadata", m);
    json_t *tags = o->tags ? json_loads(o->tags, 0, NULL) : NULL;
    if (tags && json_array_size(tags))
        json_object_set_new(out, "TagCount", json_integer((json_int_t)json_array_size(tags)));
    json_decref(tags);
    if (o->storage_class && strcmp(o->storage_class, "STANDARD") != 0)
        json_object_set_new(out, "StorageClass", json_string(o->storage_class));
    if (o->parts)
        json_object_set_new(out, "PartsCount", json_integer(o->parts));
    const char *mode = svc_in_str(c, "ChecksumMode");
    if (mode && strcmp(mode, "ENABLED") == 0 && o->ck_alg) {
        s3_ck_alg_t alg = s3_ck_from_name(strv_from(o->ck_alg));
        if (alg)
            json_object_set_new(out, s3_ck_member(alg), json_string(o->ck_value));
    }
    /* response-* query parameters override the stored headers
     * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html). */
    static const char *const overrides[][2] = {
        {"ResponseContentType", "ContentType"},         {"ResponseContentLanguage", "ContentLanguage"},
        {"ResponseExpires", "Expires"},                 {"ResponseCacheControl", "CacheControl"},
        {"ResponseContentDisposition", "ContentDisposition"}, {"ResponseContentEncoding", "ContentEncoding"},
    };
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(overrides); i++) {
        json_t *v = svc_in(c, overrides[i][0]);
        if (v)
            json_object_set(out, overrides[i][1], v);
    }
}

static int64_t in_time(svc_call_t *c, const char *name)
{
    json_t *v = svc_in(c, name);
    return v ? (int64_t)json_number_value(v) : -1;
}

/* The object operations whose action depends on a versionId authorize in
 * their handlers (s3:GetObject or s3:GetObjectVersion, s3:DeleteObject or
 * s3:DeleteObjectVersion), on the object's ARN. */
static bool authorize_object(svc_call_t *c, const char *action)
{
    const char *arn = arena_sprintf(c->arena, "arn:aws:s3:::%s/%s", svc_in_str(c, "Bucket"), svc_in_str(c, "Key"));
    c->resource_arn = arn;
    return c->ctx->authorize(c, action, arn, NULL, 0) == IAM_ALLOW;
}

/* The version a GET/HEAD names (or the current one), else an error:
 * NoSuchKey / NoSuchVersion, and for a delete marker 404 (current) or 405
 * (by id) with x-amz-delete-marker. */
static bool version_for_read(svc_call_t *c, const char *bucket, const char *key, s3_object_t *o)
{
    s3_state_t *st = c->state;
    const char *vid = svc_in_str(c, "VersionId");
    if (vid) {
        if (!s3__version_lookup(st, c->arena, bucket, key, vid, o)) {
            svc_error(c, strcmp(vid, "null") == 0 || strlen(vid) == S3_VERSION_ID_LEN ? "NoSuchVersion" : "InvalidArgument",
                      strcmp(vid, "null") == 0 || strlen(vid) == S3_VERSION_ID_LEN ? 404 : 400,
                      strcmp(vid, "null") == 0 || strlen(vid) == S3_VERSION_ID_LEN
                          ? "The specified version does not exist."
                          : "Invalid version id specified");
            return false;
        }
        if (o->marker) {
            svc_error(c, "MethodNotAllowed", 405, "The specified method is not allowed against this resource.");
            c->output = json_pack("{s:b,s:s}", "DeleteMarker", 1, "VersionId", vid);
            return false;
        }
        return true;
    }
    if (s3__object_lookup(st, c->arena, bucket, key, o))
        return true;
    const char *mv = NULL;
    bool marker = s3__latest_is_marker(st, c->arena, bucket, key, &mv);
    svc_error(c, "NoSuchKey", 404, "The specified key does not exist.");
    if (marker)
        c->output = json_pack("{s:b,s:s}", "DeleteMarker", 1, "VersionId", mv);
    return false;
}

static int get_or_head(svc_call_t *c, bool head)
{
    s3_state_t *st = c->state;
    const char *bucket = svc_in_str(c, "Bucket"), *key = svc_in_str(c, "Key");
    if (!authorize_object(c, svc_in_str(c, "VersionId") ? "s3:GetObjectVersion" : "s3:GetObject"))
        return 0;
    s3_bucket_t *b = s3__bucket_get_or_fail(c, bucket);
    if (!b)
        return 0;
    s3_object_t o;
    if (!version_for_read(c, bucket, key, &o))
        return 0;
    if (svc_in(c, "PartNumber")) {
        int pn = (int)json_integer_value(svc_in(c, "PartNumber"));
        if (pn != 1 || o.parts > 1) {
            svc_error(c, "InvalidPartNumber", 416, "The requested partnumber is not satisfiable");
            return 0;
        }
    }
    s3_cond_t cond = s3_cond_eval(svc_in_str(c, "IfMatch"), svc_in_str(c, "IfNoneMatch"), in_time(c, "IfModifiedSince"),
                                  in_time(c, "IfUnmodifiedSince"), o.etag, o.modified_ms / 1000);
    if (cond == S3_COND_FAILED) {
        svc_error(c, "PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold");
        return 0;
    }
    if (cond == S3_COND_NOT_MODIFIED) {
        svc_error(c, "NotModified", 304, "Not Modified");
        return 0;
    }
    json_t *out = svc_output(c);
    object_output(c, &o, out);
    if (b->versioning)
        json_object_set_new(out, "VersionId", json_string(o.version_id ? o.version_id : "null"));
    uint64_t first = 0, last = o.size ? o.size - 1 : 0;
    s3_range_t r = s3_range_parse(strv_from(svc_in_str(c, "Range")), o.size, &first, &last);
    if (r == S3_RANGE_UNSATISFIABLE) {
        json_decref(c->output);
        c->output = NULL;
        svc_error(c, "InvalidRange", 416, "The requested range is not satisfiable");
        return 0;
    }
    c->body_out.set = true;
    c->body_out.path = head ? NULL : s3__file_path(st, c->arena, o.file);
    c->body_out.offset = r == S3_RANGE_OK ? first : 0;
    c->body_out.length = r == S3_RANGE_OK ? last - first + 1 : o.size;
    if (r == S3_RANGE_OK) {
        /* The stored checksum is the whole object's: a range answers none
         * (clients that validate would fail on it). */
        for (int a = S3_CK_CRC32; a <= S3_CK_SHA256; a++)
            json_object_del(out, s3_ck_member((s3_ck_alg_t)a));
        c->body_out.status = 206;
        json_object_set_new(out, "ContentRange",
                            json_string(arena_sprintf(c->arena, "bytes %llu-%llu/%llu", (unsigned long long)first,
                                                      (unsigned long long)last, (unsigned long long)o.size)));
    }
    return 0;
}

int s3_get_object(svc_call_t *c) { return get_or_head(c, false); }
int s3_head_object(svc_call_t *c) { return get_or_head(c, true); }

/* One key's deletion, shared by DeleteObject and DeleteObjects: out gets
 * DeleteMarker / VersionId (DeleteObject) or the Deleted entry's members. */
static void delete_one(svc_call_t *c, const s3_bucket_t *b, const char *key, const char *vid, json_t *out,
                       bool batch)
{
    s3_state_t *st = c->state;
    s3_object_t ev = {.key = key};
    if (vid) {
        bool was_marker = false;
        s3_object_t o;
        bool found = s3__version_lookup(st, c->arena, b->name, key, vid, &o);
        if (found)
            s3__version_delete(st, b->name, key, vid, &was_marker);
        json_object_set_new(out, "VersionId", json_string(vid));
        if (was_marker) {
            json_object_set_new(out, "DeleteMarker", json_true());
            if (batch)
                json_object_set_new(out, "DeleteMarkerVersionId", json_string(vid));
        }
        if (found) {
            ev.version_id = o.version_id;
            ev.seq = s3__seq_next(st);
            s3__notify(st, c, b, "ObjectRemoved:Delete", &ev);
        }
        return;
    }
    bool marker = false;
    char mv[S3_VERSION_ID_LEN + 1];
    /* Deleting a key that is not there succeeds (204). */
    bool existed = s3__object_delete(st, b, key, &marker, mv);
    if (marker) {
        json_object_set_new(out, "DeleteMarker", json_true());
        json_object_set_new(out, batch ? "DeleteMarkerVersionId" : "VersionId", json_string(mv[0] ? mv : "null"));
        ev.version_id = mv[0] ? mv : NULL;
        ev.seq = st->seq;
        s3__notify(st, c, b, "ObjectRemoved:DeleteMarkerCreated", &ev);
    } else if (existed) {
        ev.seq = s3__seq_next(st);
        s3__notify(st, c, b, "ObjectRemoved:Delete", &ev);
    }
}

int s3_delete_object(svc_call_t *c)
{
    const char *bucket = svc_in_str(c, "Bucket"), *key = svc_in_str(c, "Key");
    const char *vid = svc_in_str(c, "VersionId");
    if (!authorize_object(c, vid ? "s3:DeleteObjectVersion" : "s3:DeleteObject"))
        return 0;
    s3_bucket_t *b = s3__bucket_get_or_fail(c, bucket);
    if (!b)
        return 0;
    delete_one(c, b, key, vid, svc_output(c), false);
    return 0;
}

int s3_delete_objects(svc_call_t *c)
{
    const char *bucket = svc_in_str(c, "Bucket");
    json_t *del = svc_in(c, "Delete");
    json_t *objs = json_object_get(del, "Objects");
    if (!json_is_array(objs) || json_array_size(objs) == 0 || json_array_size(objs) > S3_MAX_KEYS) {
        svc_error(c, "MalformedXML", 400,
                  "The XML you provided was not well-formed or did not validate against our published schema");
        return 0;
    }
    s3_bucket_t *b = s3__bucket_get_or_fail(c, bucket);
    if (!b)
        return 0;
    bool quiet = json_is_true(json_object_get(del, "Quiet"));
    json_t *deleted = json_array(), *errors = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(objs, i, o) {
        const char *key = json_string_value(json_object_get(o, "Key"));
        if (!key || !*key || strlen(key) > S3_MAX_KEY_BYTES) {
            json_array_append_new(errors, json_pack("{s:s,s:s,s:s}", "Key", key ? key : "", "Code", "InvalidArgument",
                                                    "Message", "Invalid key"));
            continue;
        }
        /* Each key is authorized as s3:DeleteObject (with a version,
         * s3:DeleteObjectVersion) on its own ARN; a denial is that key's
         * error, not the request's. */
        const char *vid = json_string_value(json_object_get(o, "VersionId"));
        const char *arn = arena_sprintf(c->arena, "arn:aws:s3:::%s/%s", bucket, key);
        if (c->ctx->authorize(c, vid ? "s3:DeleteObjectVersion" : "s3:DeleteObject", arn, NULL, 0) != IAM_ALLOW) {
            json_array_append_new(errors, json_pack("{s:s,s:s,s:s}", "Key", key, "Code", "AccessDenied", "Message",
                                                    "Access Denied"));
            c->error = (aws_error_t){0};
            continue;
        }
        json_t *entry = json_pack("{s:s}", "Key", key);
        delete_one(c, b, key, vid, entry, true);
        if (!quiet)
            json_array_append_new(deleted, entry);
        else
            json_decref(entry);
    }
    json_t *out = svc_output(c);
    if (json_array_size(deleted))
        json_object_set_new(out, "Deleted", deleted);
    else
        json_decref(deleted);
    if (json_array_size(errors))
        json_object_set_new(out, "Errors", errors);
    else
        json_decref(errors);
    return 0;
}

/* "bucket/key", "/bucket/key", URL-encoded, optionally "?versionId=". */
static bool copy_source(svc_call_t *c, const char **bucket, const char **key, const char **vid)
{
    const char *src = svc_in_str(c, "CopySource");
    strv_t s = strv_from(src);
    const char *q = memchr(s.p, '?', s.len);
    *vid = NULL;
    if (q) {
        strv_t rest = {q + 1, s.len - (size_t)(q - s.p) - 1};
        if (strv_starts_with(rest, "versionId="))
            *vid = arena_strndup(c->arena, rest.p + 10, rest.len - 10);
        s.len = (size_t)(q - s.p);
    }
    strv_t d = form_decode(c->arena, s, false);
    const char *p = d.p;
    size_t n = d.len;
    if (n && *p == '/')
        p++, n--;
    const char *slash = memchr(p, '/', n);
    if (!slash || slash == p || (size_t)(slash - p) + 1 >= n) {
        svc_error(c, "InvalidArgument", 400, "Invalid copy source object key");
        return false;
    }
    *bucket = arena_strndup(c->arena, p, (size_t)(slash - p));
    *key = arena_strndup(c->arena, slash + 1, n - (size_t)(slash - p) - 1);
    return true;
}

/* The source object of a copy (CopyObject, UploadPartCopy), read-authorized. */
bool s3__copy_source_get(svc_call_t *c, s3_object_t *src, const char **src_vid)
{
    s3_state_t *st = c->state;
    const char *sb, *sk, *vid;
    if (!copy_source(c, &sb, &sk, &vid))
        return false;
    /* Reading the source is its own permission. */
    if (c->ctx->authorize(c, vid ? "s3:GetObjectVersion" : "s3:GetObject",
                          arena_sprintf(c->arena, "arn:aws:s3:::%s/%s", sb, sk), NULL, 0) != IAM_ALLOW)
        return false;
    if (!s3__bucket_get_or_fail(c, sb))
        return false;
    bool found = vid ? s3__version_lookup(st, c->arena, sb, sk, vid, src) && !src->marker
                     : s3__object_lookup(st, c->arena, sb, sk, src);
    if (!found) {
        if (vid)
            svc_error(c, "NoSuchVersion", 404, "The specified version does not exist.");
        else
            svc_error(c, "NoSuchKey", 404, "The specified key does not exist.");
        return false;
    }
    src->key = arena_sprintf(c->arena, "%s/%s", sb, sk); /* bucket/key, for the self-copy check */
    *src_vid = vid;
    return true;
}

int s3_copy_object(svc_call_t *c)
{
    s3_state_t *st = c->state;
    const char *bucket = svc_in_str(c, "Bucket"), *key = svc_in_str(c, "Key");
    s3_object_t src;
    const char *src_vid;
    if (!key_ok(c, key) || !s3__copy_source_get(c, &src, &src_vid))
        return 0;
    s3_bucket_t *b = s3__bucket_get_or_fail(c, bucket);
    if (!b)
        return 0;
    const char *self = arena_sprintf(c->arena, "%s/%s", bucket, key);
    s3_cond_t cond = s3_cond_eval(svc_in_str(c, "CopySourceIfMatch"), svc_in_str(c, "CopySourceIfNoneMatch"),
                                  in_time(c, "CopySourceIfModifiedSince"), in_time(c, "CopySourceIfUnmodifiedSince"),
                                  src.etag, src.modified_ms / 1000);
    if (cond != S3_COND_OK) {
        svc_error(c, "PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold");
        return 0;
    }
    const char *md = svc_in_str(c, "MetadataDirective");
    bool replace = md && strcmp(md, "REPLACE") == 0;
    const char *td = svc_in_str(c, "TaggingDirective");
    bool replace_tags = td && strcmp(td, "REPLACE") == 0;
    if (!replace && strcmp(src.key, self) == 0 && !src_vid && !svc_in(c, "StorageClass")) {
        svc_error(c, "InvalidRequest", 400,
                  "This copy request is illegal because it is trying to copy an object to itself without changing the "
                  "object's metadata, storage class, website redirect location or encryption attributes.");
        return 0;
    }
    char *tags = NULL;
    if (replace_tags && svc_in_str(c, "Tagging")) {
        json_t *ts = s3__tags_from_query(c, svc_in_str(c, "Tagging"));
        if (!ts)
            return 0;
        tags = s3__tags_encode(c, ts, S3_MAX_TAGS);
        json_decref(ts);
        if (!tags)
            return 0;
    }
    char id[37];
    s3__file_id(id);
    /* Files are immutable, so a copy is another name for the same bytes. */
    if (link(s3__file_path(st, c->arena, src.file), s3__file_path(st, c->arena, id)) != 0) {
        log_error("s3: link for copy: %s", strerror(errno));
        svc_error(c, "InternalError", 500, "kyoka could not copy the object");
        free(tags);
        return 0;
    }
    char *headers = replace ? headers_from_input(c->input) : NULL;
    char *meta = replace ? meta_encode(svc_in(c, "Metadata")) : NULL;
    int64_t now = kyoka_clock_now_ms();
    s3_object_t o = src;
    o.key = key;
    o.file = id;
    o.modified_ms = now;
    if (replace) {
        o.headers = headers;
        o.meta = meta;
    }
    if (replace_tags)
        o.tags = tags;
    if (svc_in_str(c, "StorageClass"))
        o.storage_class = svc_in_str(c, "StorageClass");
    char vid[S3_VERSION_ID_LEN + 1];
    s3__object_put(st, b, &o, vid);
    json_t *res = json_pack("{s:s,s:I}", "ETag", src.etag, "LastModified", (json_int_t)(now / 1000));
    if (src.ck_alg) {
        s3_ck_alg_t alg = s3_ck_from_name(strv_from(src.ck_alg));
        if (alg)
            json_object_set_new(res, s3_ck_member(alg), json_string(src.ck_value));
    }
    json_object_set_new(svc_output(c), "CopyObjectResult", res);
    if (b->versioning)
        json_object_set_new(c->output, "VersionId", json_string(vid[0] ? vid : "null"));
    if (src_vid)
        json_object_set_new(c->output, "CopySourceVersionId", json_string(src_vid));
    s3__notify(st, c, b, "ObjectCreated:Copy", &o);
    free(headers);
    free(meta);
    free(tags);
    return 0;
}

int s3_put_object_tagging(svc_call_t *c)
{
    const char *bucket = svc_in_str(c, "Bucket"), *key = svc_in_str(c, "Key");
    s3_bucket_t *b = s3__bucket_get_or_fail(c, bucket);
    if (!b)
        return 0;
    if (!s3__object_lookup(c->state, c->arena, bucket, key, NULL)) {
        svc_error(c, "NoSuchKey", 404, "The specified key does not exist.");
        return 0;
    }
    char *tags = s3__tags_encode(c, json_object_get(svc_in(c, "Tagging"), "TagSet"), S3_MAX_TAGS);
    if (!tags)
        return 0;
    s3__object_set_tags(c->state, bucket, key, tags);
    free(tags);
    svc_output(c);
    s3_object_t o;
    if (s3__object_lookup(c->state, c->arena, bucket, key, &o))
        s3__notify(c->state, c, b, "ObjectTagging:Put", &o);
    return 0;
}

int s3_get_object_tagging(svc_call_t *c)
{
    const char *bucket = svc_in_str(c, "Bucket"), *key = svc_in_str(c, "Key");
    if (!s3__bucket_get_or_fail(c, bucket))
        return 0;
    s3_object_t o;
    if (!s3__object_lookup(c->state, c->arena, bucket, key, &o)) {
        svc_error(c, "NoSuchKey", 404, "The specified key does not exist.");
        return 0;
    }
    json_t *tags = o.tags ? json_loads(o.tags, 0, NULL) : NULL;
    json_object_set_new(svc_output(c), "TagSet", tags ? tags : json_array());
    return 0;
}

int s3_delete_object_tagging(svc_call_t *c)
{
    const char *bucket = svc_in_str(c, "Bucket"), *key = svc_in_str(c, "Key");
    s3_bucket_t *b = s3__bucket_get_or_fail(c, bucket);
    if (!b)
        return 0;
    if (!s3__object_lookup(c->state, c->arena, bucket, key, NULL)) {
        svc_error(c, "NoSuchKey", 404, "The specified key does not exist.");
        return 0;
    }
    s3_object_t o;
    bool had = s3__object_lookup(c->state, c->arena, bucket, key, &o);
    s3__object_set_tags(c->state, bucket, key, NULL);
    svc_output(c);
    if (had)
        s3__notify(c->state, c, b, "ObjectTagging:Delete", &o);
    return 0;
}
