/*
 * Multipart upload (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html):
 * parts arrive as spooled files like PutObject bodies; completing
 * concatenates the chosen parts into one new fsynced file (see
 * s3_complete_multipart_upload), and the ETag is the MD5 of the parts'
 * binary MD5s followed by "-N". Every part but the last must be
 * at least 5 MiB (EntityTooSmall); parts must be listed in ascending order
 * (InvalidPartOrder) and each must exist with its ETag (InvalidPart).
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/banned.h"

typedef struct upload {
    const char *id, *bucket, *key, *headers, *meta, *tags, *ck_alg, *storage_class;
    int64_t created_ms;
} upload_t;

static bool upload_lookup(svc_call_t *c, upload_t *u)
{
    s3_state_t *st = c->state;
    const char *id = svc_in_str(c, "UploadId");
    sqlite3_stmt *q = store_stmt(st->store, "SELECT id, bucket, key, headers, meta, tags, ck_alg, storage_class, created_ms "
                                            "FROM s3_uploads WHERE id = ?");
    sqlite3_bind_text(q, 1, id ? id : "", -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    if (found) {
        const char **f[] = {&u->id, &u->bucket, &u->key, &u->headers, &u->meta, &u->tags, &u->ck_alg, &u->storage_class};
        for (int i = 0; i < 8; i++)
            *f[i] = sqlite3_column_text(q, i) ? arena_strdup(c->arena, (const char *)sqlite3_column_text(q, i)) : NULL;
        u->created_ms = sqlite3_column_int64(q, 8);
    }
    sqlite3_reset(q);
    if (!found || strcmp(u->bucket, svc_in_str(c, "Bucket")) != 0 || strcmp(u->key, svc_in_str(c, "Key")) != 0) {
        svc_error(c, "NoSuchUpload", 404,
                  "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
                  "aborted or completed.");
        return false;
    }
    return true;
}

int s3_create_multipart_upload(svc_call_t *c)
{
    s3_state_t *st = c->state;
    const char *bucket = svc_in_str(c, "Bucket"), *key = svc_in_str(c, "Key");
    if (!s3__bucket_get_or_fail(c, bucket))
        return 0;
    if (strlen(key) > S3_MAX_KEY_BYTES) {
        svc_error(c, "KeyTooLongError", 400, "Your key is too long");
        return 0;
    }
    json_t *h = json_object();
    static const char *const sys[] = {"ContentType", "CacheControl", "ContentDisposition", "ContentEncoding",
                                      "ContentLanguage", "Expires"};
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(sys); i++)
        if (svc_in(c, sys[i]))
            json_object_set(h, sys[i], svc_in(c, sys[i]));
    if (!json_object_get(h, "ContentType"))
        json_object_set_new(h, "ContentType", json_string("binary/octet-stream"));
    char *headers = proto_json_dumps(h, JSON_COMPACT);
    json_decref(h);
    char *meta = svc_in(c, "Metadata") ? proto_json_dumps(svc_in(c, "Metadata"), JSON_COMPACT) : NULL;
    char *tags = NULL;
    if (svc_in_str(c, "Tagging")) {
        json_t *ts = s3__tags_from_query(c, svc_in_str(c, "Tagging"));
        tags = ts ? s3__tags_encode(c, ts, S3_MAX_TAGS) : NULL;
        json_decref(ts);
        if (!tags) {
            free(headers);
            free(meta);
            return 0;
        }
    }
    char id[37];
    s3__file_id(id);
    const char *alg = svc_in_str(c, "ChecksumAlgorithm");
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "INSERT INTO s3_uploads (id, bucket, key, created_ms, headers, meta, tags, "
                                            "ck_alg, storage_class) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 4, kyoka_clock_now_ms());
    sqlite3_bind_text(q, 5, headers, -1, SQLITE_STATIC);
    if (meta)
        sqlite3_bind_text(q, 6, meta, -1, SQLITE_STATIC);
    if (tags)
        sqlite3_bind_text(q, 7, tags, -1, SQLITE_STATIC);
    if (alg)
        sqlite3_bind_text(q, 8, alg, -1, SQLITE_STATIC);
    if (svc_in_str(c, "StorageClass"))
        sqlite3_bind_text(q, 9, svc_in_str(c, "StorageClass"), -1, SQLITE_STATIC);
    sqlite3_step(q);
    sqlite3_reset(q);
    free(headers);
    free(meta);
    free(tags);
    json_t *out = svc_output(c);
    json_object_set_new(out, "Bucket", json_string(bucket));
    json_object_set_new(out, "Key", json_string(key));
    json_object_set_new(out, "UploadId", json_string(id));
    if (alg)
        json_object_set_new(out, "ChecksumAlgorithm", json_string(alg));
    return 0;
}

/* Name the part's file in its row; a part uploaded again replaces the
 * earlier one (whose file goes once durable). */
static void part_store(s3_state_t *st, const char *upload_id, int pn, uint64_t size, const char *etag,
                       const char *file, const char *ck)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT file FROM s3_parts WHERE upload_id = ? AND part_number = ?");
    sqlite3_bind_text(q, 1, upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, pn);
    char *old = sqlite3_step(q) == SQLITE_ROW ? xstrdup((const char *)sqlite3_column_text(q, 0)) : NULL;
    sqlite3_reset(q);
    store_write_begin(st->store);
    q = store_stmt(st->store, "INSERT OR REPLACE INTO s3_parts (upload_id, part_number, size, etag, modified_ms, file, "
                              "ck_value) VALUES (?, ?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text(q, 1, upload_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, pn);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)size);
    sqlite3_bind_text(q, 4, etag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, kyoka_clock_now_ms());
    sqlite3_bind_text(q, 6, file, -1, SQLITE_STATIC);
    if (ck)
        sqlite3_bind_text(q, 7, ck, -1, SQLITE_STATIC);
    sqlite3_step(q);
    sqlite3_reset(q);
    if (old)
        s3__file_unlink_later(st, old);
    free(old);
}

int s3_upload_part(svc_call_t *c)
{
    s3_state_t *st = c->state;
    upload_t u;
    if (!s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket")) || !upload_lookup(c, &u))
        return 0;
    int pn = (int)json_integer_value(svc_in(c, "PartNumber"));
    if (pn < 1 || pn > S3_MAX_PARTS) {
        svc_error(c, "InvalidArgument", 400, "Part number must be an integer between 1 and 10000, inclusive");
        return 0;
    }
    s3_digest_t *d = c->body_in->digest;
    unsigned char md5[16];
    char ck[64], etag[35];
    s3_digest_final(d, md5, ck);
    const char *cmd5 = svc_in_str(c, "ContentMD5");
    if (cmd5) {
        char want[32];
        s3_b64(md5, 16, want);
        if (strcmp(want, cmd5) != 0) {
            svc_error(c, "BadDigest", 400, "The Content-MD5 you specified did not match what we received.");
            return 0;
        }
    }
    if (d->alg && svc_in_str(c, s3_ck_member(d->alg)) && strcmp(svc_in_str(c, s3_ck_member(d->alg)), ck) != 0) {
        svc_error(c, "BadDigest", 400, "The %s you specified did not match the calculated checksum.",
                  s3_ck_name(d->alg));
        return 0;
    }
    char id[37];
    s3__file_id(id);
    if (rename(c->body_in->path, s3__file_path(st, c->arena, id)) != 0) {
        svc_error(c, "InternalError", 500, "kyoka could not store the part");
        return 0;
    }
    etag[0] = '"';
    kyoka_hex(md5, 16, etag + 1);
    etag[33] = '"';
    etag[34] = '\0';
    part_store(st, u.id, pn, c->body_in->size, etag, id, d->alg ? ck : NULL);
    json_t *out = svc_output(c);
    json_object_set_new(out, "ETag", json_string(etag));
    if (d->alg)
        json_object_set_new(out, s3_ck_member(d->alg), json_string(ck));
    return 0;
}

static void parts_delete(s3_state_t *st, const char *upload_id, bool unlink_files)
{
    if (unlink_files) {
        sqlite3_stmt *q = store_stmt(st->store, "SELECT file FROM s3_parts WHERE upload_id = ?");
        sqlite3_bind_text(q, 1, upload_id, -1, SQLITE_STATIC);
        while (sqlite3_step(q) == SQLITE_ROW)
            s3__file_unlink_later(st, (const char *)sqlite3_column_text(q, 0));
        sqlite3_reset(q);
    }
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "DELETE FROM s3_parts WHERE upload_id = ?");
    sqlite3_bind_text(q, 1, upload_id, -1, SQLITE_STATIC);
    sqlite3_step(q);
    sqlite3_reset(q);
    q = store_stmt(st->store, "DELETE FROM s3_uploads WHERE id = ?");
    sqlite3_bind_text(q, 1, upload_id, -1, SQLITE_STATIC);
    sqlite3_step(q);
    sqlite3_reset(q);
}

int s3_abort_multipart_upload(svc_call_t *c)
{
    upload_t u;
    if (!s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket")) || !upload_lookup(c, &u))
        return 0;
    parts_delete(c->state, u.id, true);
    svc_output(c);
    return 0;
}

/* Append src to fd. */
static int append_file(int fd, const char *src)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    char buf[1 << 16];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    close(in);
    return rc;
}

int s3_complete_multipart_upload(svc_call_t *c)
{
    s3_state_t *st = c->state;
    upload_t u;
    s3_bucket_t *b = s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket"));
    if (!b || !upload_lookup(c, &u))
        return 0;
    json_t *parts = json_object_get(svc_in(c, "MultipartUpload"), "Parts");
    size_t np = json_array_size(parts);
    if (np == 0) {
        svc_error(c, "MalformedXML", 400,
                  "The XML you provided was not well-formed or did not validate against our published schema");
        return 0;
    }
    if (np > S3_MAX_PARTS) {
        svc_error(c, "InvalidArgument", 400, "Too many parts");
        return 0;
    }
    const char **files = arena_alloc(c->arena, np * sizeof *files);
    uint64_t total = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_md5(), NULL);
    int prev = 0;
    for (size_t i = 0; i < np; i++) {
        int pn = (int)json_integer_value(json_object_get(json_array_get(parts, i), "PartNumber"));
        if (pn <= prev) {
            svc_error(c, "InvalidPartOrder", 400, "The list of parts was not in ascending order. The parts list must be "
                                                  "specified in order by part number.");
            goto out;
        }
        prev = pn;
    }
    for (size_t i = 0; i < np; i++) {
        json_t *p = json_array_get(parts, i);
        int pn = (int)json_integer_value(json_object_get(p, "PartNumber"));
        const char *etag = json_string_value(json_object_get(p, "ETag"));
        sqlite3_stmt *q =
            store_stmt(st->store, "SELECT size, etag, file FROM s3_parts WHERE upload_id = ? AND part_number = ?");
        sqlite3_bind_text(q, 1, u.id, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, pn);
        bool found = sqlite3_step(q) == SQLITE_ROW;
        uint64_t size = found ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
        const char *have = found ? arena_strdup(c->arena, (const char *)sqlite3_column_text(q, 1)) : NULL;
        files[i] = found ? s3__file_path(st, c->arena, (const char *)sqlite3_column_text(q, 2)) : NULL;
        sqlite3_reset(q);
        /* ETags compare with or without their quotes. */
        bool etag_ok = found && etag &&
                       (strcmp(etag, have) == 0 || (strlen(etag) == 32 && strncmp(have + 1, etag, 32) == 0));
        if (!etag_ok) {
            svc_error(c, "InvalidPart", 400,
                      "One or more of the specified parts could not be found. The part may not have been uploaded, "
                      "or the specified entity tag may not match the part's entity tag.");
            goto out;
        }
        if (i + 1 < np && size < S3_MIN_PART_BYTES) {
            svc_error(c, "EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed size");
            goto out;
        }
        unsigned char raw[16];
        for (int k = 0; k < 16; k++)
            raw[k] = (unsigned char)(kyoka_hexval(have[1 + 2 * k]) << 4 | kyoka_hexval(have[2 + 2 * k]));
        EVP_DigestUpdate(md, raw, 16);
        total += size;
    }
    /* Concatenate into a new file, fsync, then name it in the row. This
     * runs on the loop: parts are in the page cache just written, but a
     * very large upload would stall the loop for the copy. */
    char id[37];
    s3__file_id(id);
    const char *tmp = arena_sprintf(c->arena, "%s/complete-%s", st->spool, id);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    bool ok = fd >= 0;
    for (size_t i = 0; ok && i < np; i++)
        ok = append_file(fd, files[i]) == 0;
    ok = ok && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, s3__file_path(st, c->arena, id)) != 0) {
        unlink(tmp);
        svc_error(c, "InternalError", 500, "kyoka could not assemble the object");
        goto out;
    }
    unsigned char digest[16];
    unsigned int dl = 16;
    EVP_DigestFinal_ex(md, digest, &dl);
    char etag[48];
    etag[0] = '"';
    kyoka_hex(digest, 16, etag + 1);
    snprintf(etag + 33, sizeof etag - 33, "-%zu\"", np);
    s3_object_t o = {
        .key = u.key,
        .size = total,
        .etag = etag,
        .modified_ms = kyoka_clock_now_ms(),
        .file = id,
        .headers = u.headers,
        .meta = u.meta,
        .tags = u.tags,
        .parts = (int)np,
        .storage_class = u.storage_class,
    };
    char vid[S3_VERSION_ID_LEN + 1];
    s3__object_put(st, b, &o, vid);
    parts_delete(st, u.id, true);
    json_t *out = svc_output(c);
    if (b->versioning)
        json_object_set_new(out, "VersionId", json_string(vid[0] ? vid : "null"));
    s3__notify(st, c, b, "ObjectCreated:CompleteMultipartUpload", &o);
    json_object_set_new(out, "Bucket", json_string(u.bucket));
    json_object_set_new(out, "Key", json_string(u.key));
    json_object_set_new(out, "ETag", json_string(etag));
    json_object_set_new(out, "Location", json_string(arena_sprintf(c->arena, "%s/%s/%s", c->ctx->endpoint, u.bucket, u.key)));
out:
    EVP_MD_CTX_free(md);
    return 0;
}

int s3_list_parts(svc_call_t *c)
{
    s3_state_t *st = c->state;
    upload_t u;
    if (!s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket")) || !upload_lookup(c, &u))
        return 0;
    int marker = svc_in(c, "PartNumberMarker") ? atoi(svc_in_str(c, "PartNumberMarker") ? svc_in_str(c, "PartNumberMarker") : "0") : 0;
    if (json_is_integer(svc_in(c, "PartNumberMarker")))
        marker = (int)json_integer_value(svc_in(c, "PartNumberMarker"));
    int max = svc_in(c, "MaxParts") ? (int)json_integer_value(svc_in(c, "MaxParts")) : 1000;
    if (max > 1000 || max < 0)
        max = 1000;
    sqlite3_stmt *q = store_stmt(st->store, "SELECT part_number, size, etag, modified_ms FROM s3_parts WHERE upload_id = ? "
                                            "AND part_number > ? ORDER BY part_number LIMIT ?");
    sqlite3_bind_text(q, 1, u.id, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 2, marker);
    sqlite3_bind_int(q, 3, max + 1);
    json_t *arr = json_array();
    int n = 0, last = 0;
    bool truncated = false;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (n == max) {
            truncated = true;
            break;
        }
        last = sqlite3_column_int(q, 0);
        json_array_append_new(arr, json_pack("{s:i,s:I,s:s,s:I}", "PartNumber", last, "Size",
                                             (json_int_t)sqlite3_column_int64(q, 1), "ETag",
                                             (const char *)sqlite3_column_text(q, 2), "LastModified",
                                             (json_int_t)(sqlite3_column_int64(q, 3) / 1000)));
        n++;
    }
    sqlite3_reset(q);
    json_t *out = svc_output(c);
    json_object_set_new(out, "Bucket", json_string(u.bucket));
    json_object_set_new(out, "Key", json_string(u.key));
    json_object_set_new(out, "UploadId", json_string(u.id));
    json_object_set_new(out, "PartNumberMarker", json_integer(marker));
    json_object_set_new(out, "NextPartNumberMarker", json_integer(last));
    json_object_set_new(out, "MaxParts", json_integer(max));
    json_object_set_new(out, "IsTruncated", json_boolean(truncated));
    json_object_set_new(out, "StorageClass", json_string(u.storage_class ? u.storage_class : "STANDARD"));
    if (json_array_size(arr))
        json_object_set_new(out, "Parts", arr);
    else
        json_decref(arr);
    return 0;
}

int s3_list_multipart_uploads(svc_call_t *c)
{
    s3_state_t *st = c->state;
    const char *bucket = svc_in_str(c, "Bucket");
    if (!s3__bucket_get_or_fail(c, bucket))
        return 0;
    const char *prefix = svc_in_str(c, "Prefix") ? svc_in_str(c, "Prefix") : "";
    int max = svc_in(c, "MaxUploads") ? (int)json_integer_value(svc_in(c, "MaxUploads")) : 1000;
    if (max > 1000 || max < 0)
        max = 1000;
    sqlite3_stmt *q = store_stmt(st->store, "SELECT key, id, created_ms FROM s3_uploads WHERE bucket = ? AND "
                                            "substr(key, 1, length(?2)) = ?2 ORDER BY key, created_ms LIMIT ?3");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, prefix, -1, SQLITE_STATIC);
    sqlite3_bind_int(q, 3, max + 1);
    json_t *arr = json_array();
    int n = 0;
    bool truncated = false;
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (n == max) {
            truncated = true;
            break;
        }
        json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:s}", "Key", (const char *)sqlite3_column_text(q, 0),
                                             "UploadId", (const char *)sqlite3_column_text(q, 1), "Initiated",
                                             (json_int_t)(sqlite3_column_int64(q, 2) / 1000), "StorageClass",
                                             "STANDARD"));
        n++;
    }
    sqlite3_reset(q);
    json_t *out = svc_output(c);
    json_object_set_new(out, "Bucket", json_string(bucket));
    json_object_set_new(out, "Prefix", json_string(prefix));
    json_object_set_new(out, "MaxUploads", json_integer(max));
    json_object_set_new(out, "IsTruncated", json_boolean(truncated));
    if (json_array_size(arr))
        json_object_set_new(out, "Uploads", arr);
    else
        json_decref(arr);
    return 0;
}

/* Copy [off, off+len) of src into a new file at dst, fsynced, with its MD5. */
static int copy_range(const char *src, const char *dst, uint64_t off, uint64_t len, unsigned char md5[16])
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return -1;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_md5(), NULL);
    char buf[1 << 16];
    int rc = 0;
    while (len > 0 && rc == 0) {
        ssize_t n = pread(in, buf, len < sizeof buf ? (size_t)len : sizeof buf, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        EVP_DigestUpdate(md, buf, (size_t)n);
        for (ssize_t w = 0; w < n;) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                rc = -1;
                break;
            }
            w += k;
        }
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    if (rc == 0 && fsync(out) != 0)
        rc = -1;
    unsigned int dl = 16;
    EVP_DigestFinal_ex(md, md5, &dl);
    EVP_MD_CTX_free(md);
    close(in);
    close(out);
    if (rc != 0)
        unlink(dst);
    return rc;
}

/* UploadPartCopy (https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html):
 * a part from (a range of) an existing object. The range is
 * "bytes=first-last", both inside the source. The copy runs on the loop,
 * like CompleteMultipartUpload's concatenation. */
int s3_upload_part_copy(svc_call_t *c)
{
    s3_state_t *st = c->state;
    upload_t u;
    if (!s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket")) || !upload_lookup(c, &u))
        return 0;
    int pn = (int)json_integer_value(svc_in(c, "PartNumber"));
    if (pn < 1 || pn > S3_MAX_PARTS) {
        svc_error(c, "InvalidArgument", 400, "Part number must be an integer between 1 and 10000, inclusive");
        return 0;
    }
    s3_object_t src;
    const char *src_vid;
    if (!s3__copy_source_get(c, &src, &src_vid))
        return 0;
    s3_cond_t cond = s3_cond_eval(svc_in_str(c, "CopySourceIfMatch"), svc_in_str(c, "CopySourceIfNoneMatch"), -1, -1,
                                  src.etag, src.modified_ms / 1000);
    if (cond != S3_COND_OK) {
        svc_error(c, "PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold");
        return 0;
    }
    uint64_t first = 0, last = src.size ? src.size - 1 : 0, len = src.size;
    const char *range = svc_in_str(c, "CopySourceRange");
    if (range) {
        unsigned long long a, b;
        char tail;
        if (sscanf(range, "bytes=%llu-%llu%c", &a, &b, &tail) != 2 || a > b) {
            svc_error(c, "InvalidArgument", 400,
                      "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last "
                      "are the zero-based offsets of the first and last bytes to copy");
            return 0;
        }
        if (b >= src.size) {
            svc_error(c, "InvalidArgument", 400, "Range specified is not valid for source object of size: %llu",
                      (unsigned long long)src.size);
            return 0;
        }
        first = a;
        last = b;
        len = last - first + 1;
    }
    if (len > S3_MAX_PART_BYTES) {
        svc_error(c, "EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size.");
        return 0;
    }
    char id[37];
    s3__file_id(id);
    const char *tmp = arena_sprintf(c->arena, "%s/copy-%s", st->spool, id);
    unsigned char md5[16];
    if (copy_range(s3__file_path(st, c->arena, src.file), tmp, first, len, md5) != 0 ||
        rename(tmp, s3__file_path(st, c->arena, id)) != 0) {
        unlink(tmp);
        svc_error(c, "InternalError", 500, "kyoka could not copy the part");
        return 0;
    }
    char etag[35];
    etag[0] = '"';
    kyoka_hex(md5, 16, etag + 1);
    etag[33] = '"';
    etag[34] = '\0';
    part_store(st, u.id, pn, len, etag, id, NULL);
    json_t *out = svc_output(c);
    json_object_set_new(out, "CopyPartResult", json_pack("{s:s,s:I}", "ETag", etag, "LastModified",
                                                         (json_int_t)(kyoka_clock_now_ms() / 1000)));
    if (src_vid)
        json_object_set_new(out, "CopySourceVersionId", json_string(src_vid));
    return 0;
}
