/*
 * S3 inside: the service's state, limits, and the helpers its files share.
 *
 * Metadata lives in SQLite (buckets, objects, multipart uploads and parts);
 * bytes live in files under <data>/s3/ named by a random id, never by the
 * key, so no key (unicode, "../", 1,024 bytes, trailing slashes) can name a
 * path outside the service's directory:
 *   <root>/spool/     streamed request bodies being written (server side)
 *   <root>/objects/   finished bodies, <id> each; a row names its file
 * A file is immutable once named by a row: an overwrite writes a new file
 * and the old one is removed after the change is durable. Copies are hard
 * links.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_S3_INTERNAL_H
#define KYOKA_S3_INTERNAL_H

#include "s3.h"
#include "core/dq.h"
#include "services/service.h"

#include <openssl/evp.h>

/* ---- limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html,
 *      upload-objects.html, mpuoverview.html, bucketnamingrules.html) ---- */
#define S3_MAX_PUT_BYTES 5368709120ULL  /* one PUT: 5 GiB */
#define S3_MAX_PART_BYTES 5368709120ULL /* one part: 5 GiB */
#define S3_MIN_PART_BYTES 5242880ULL    /* every part but the last: 5 MiB */
#define S3_MAX_PARTS 10000
#define S3_MAX_KEY_BYTES 1024
#define S3_MAX_KEYS 1000                /* a list page; DeleteObjects' keys */
#define S3_MAX_META_BYTES 2048          /* user metadata, names and values */
#define S3_MAX_TAGS 10                  /* object tags */
#define S3_MAX_BUCKET_TAGS 50
#define S3_MAX_TAG_KEY 128
#define S3_MAX_TAG_VALUE 256

/* ---- checksums ---- */
typedef enum {
    S3_CK_NONE = 0,
    S3_CK_CRC32,
    S3_CK_CRC32C,
    S3_CK_CRC64NVME,
    S3_CK_SHA1,
    S3_CK_SHA256
} s3_ck_alg_t;

/* Running digests over one body: MD5 always (the ETag), plus at most one
 * checksum algorithm. Updated on a pool thread one call at a time. */
typedef struct s3_digest {
    EVP_MD_CTX *md5;
    s3_ck_alg_t alg;
    uint32_t crc32;
    uint64_t crc64;
    EVP_MD_CTX *sha;
} s3_digest_t;

s3_digest_t *s3_digest_create(s3_ck_alg_t alg);
void s3_digest_update(void *d, const void *p, size_t n);
void s3_digest_free(void *d);
/* Finish: md5 raw (16 bytes) and the checksum's base64 (out 64 bytes,
 * "" when alg is NONE). Leaves d unusable for updates. */
void s3_digest_final(s3_digest_t *d, unsigned char md5[16], char ck_b64[64]);
/* Raw CRC updates (start from 0), for tests. */
uint32_t s3_crc32c(uint32_t crc, const void *p, size_t n);
uint64_t s3_crc64nvme(uint64_t crc, const void *p, size_t n);
uint32_t s3_crc32(uint32_t crc, const void *p, size_t n);
/* "CRC32" / "crc32" / "x-amz-checksum-crc32" -> alg; NONE if unknown. */
s3_ck_alg_t s3_ck_from_name(strv_t name);
const char *s3_ck_name(s3_ck_alg_t alg);        /* "CRC32" */
const char *s3_ck_header(s3_ck_alg_t alg);      /* "x-amz-checksum-crc32" */
const char *s3_ck_member(s3_ck_alg_t alg);      /* "ChecksumCRC32" */
/* Base64 of raw bytes into out (cap >= 4*ceil(n/3)+1). */
void s3_b64(const unsigned char *p, size_t n, char *out);

/* ---- Range and conditional headers (range.c) ---- */
typedef enum {
    S3_RANGE_NONE = 0,    /* no header, or one S3 ignores (syntax it does not read, several ranges) */
    S3_RANGE_OK,          /* [first, last] inside the object */
    S3_RANGE_UNSATISFIABLE /* 416 InvalidRange */
} s3_range_t;
/* Parse a Range value for an object of size bytes (RFC 9110 14.1.2:
 * bytes=a-b, bytes=a-, bytes=-n). */
s3_range_t s3_range_parse(strv_t v, uint64_t size, uint64_t *first, uint64_t *last);

typedef enum { S3_COND_OK = 0, S3_COND_NOT_MODIFIED, S3_COND_FAILED } s3_cond_t;
/* The four conditionals of GetObject/HeadObject/CopyObject's source, as S3
 * evaluates them (RFC 7232 section 6 order: If-Match, else
 * If-Unmodified-Since; then If-None-Match, else If-Modified-Since). etag
 * is quoted; times are epoch seconds, a member < 0 absent. */
s3_cond_t s3_cond_eval(const char *if_match, const char *if_none_match, int64_t if_modified_since,
                       int64_t if_unmodified_since, const char *etag, int64_t last_modified);

/* ---- state ---- */
typedef struct s3_policy {
    char *bucket;
    iam_policy_t *policy;
    struct s3_policy *next;
} s3_policy_t;

typedef struct s3_state {
    kyoka_ctx_t *ctx;
    store_t *store;
    char *root;       /* <data>/s3 or a temporary directory when ephemeral */
    char *spool;      /* root/spool */
    char *objects;    /* root/objects */
    bool ephemeral;
    s3_policy_t *policies; /* bucket policies, compiled */
    int64_t seq;      /* the last version sequence number given (rows' seq) */
    dq_t dq;          /* the service's deadlines (embedded: freed when closed) */
    dq_entry_t lifecycle_due; /* the next lifecycle sweep (lifecycle.c) */
} s3_state_t;

/* ---- persistence (persist.c) ---- */
int s3__store_migrate(s3_state_t *st, char *err, size_t errcap);

typedef struct s3_bucket {
    const char *name, *region;
    int64_t created_ms;
    const char *versioning; /* NULL, "Enabled", "Suspended" */
    const char *policy;     /* document or NULL */
    const char *tags;       /* JSON TagSet or NULL */
    const char *notification; /* JSON NotificationConfiguration or NULL (notify.c) */
    const char *cors;       /* JSON CORSRules or NULL (cors.c) */
    const char *lifecycle;  /* JSON Rules or NULL (lifecycle.c) */
} s3_bucket_t;

/* The bucket (strings in the call's arena), or NULL with NoSuchBucket set. */
s3_bucket_t *s3__bucket_get_or_fail(svc_call_t *c, const char *name);
bool s3__bucket_lookup(s3_state_t *st, arena_t *a, const char *name, s3_bucket_t *out);

typedef struct s3_object {
    const char *key;
    uint64_t size;
    const char *etag;       /* quoted */
    int64_t modified_ms;
    const char *file;       /* id under objects/ */
    const char *headers;    /* JSON: ContentType, CacheControl, ... as stored */
    const char *meta;       /* JSON object of user metadata, or NULL */
    const char *tags;       /* JSON TagSet, or NULL */
    const char *ck_alg;     /* "CRC32" or NULL */
    const char *ck_value;
    int parts;              /* multipart: number of parts, else 0 */
    const char *storage_class;
    const char *version_id; /* NULL: the null version */
    int64_t seq;            /* order of versions (newest highest); the sequencer */
    bool marker;            /* a delete marker (s3_versions rows only) */
} s3_object_t;

/* ---- versions (persist.c) ----
 *
 * s3_objects holds each key's current version when it is an object (what
 * listings read); s3_versions holds every other version: noncurrent
 * objects and delete markers (current or not). So an unversioned bucket
 * never touches s3_versions, and a key whose newest version is a delete
 * marker has no s3_objects row. Version ids are 32 URL-safe characters;
 * the null version is stored as NULL.
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html) */
#define S3_VERSION_ID_LEN 32

/* The current version (s3_objects). */
bool s3__object_lookup(s3_state_t *st, arena_t *a, const char *bucket, const char *key, s3_object_t *out);
/* A version by id ("null" is the null version), current or not; marker
 * tells a delete marker. */
bool s3__version_lookup(s3_state_t *st, arena_t *a, const char *bucket, const char *key, const char *version_id,
                        s3_object_t *out);
/* Whether the key's newest version is a delete marker (*vid: its id, arena). */
bool s3__latest_is_marker(s3_state_t *st, arena_t *a, const char *bucket, const char *key, const char **vid);
/* Store o as the key's new current version, as the bucket's versioning
 * state says: unversioned replaces; Enabled keeps the previous version
 * under a new id; Suspended replaces the null version. Sets o->version_id
 * (into vid, "" for null) and o->seq. Replaced files go once durable. */
void s3__object_put(s3_state_t *st, const s3_bucket_t *b, s3_object_t *o, char vid[S3_VERSION_ID_LEN + 1]);
/* DeleteObject without a version id: unversioned removes the row (returns
 * whether it existed); versioned adds a delete marker (returns true, *marker
 * set, its id in vid, "" for null). */
bool s3__object_delete(s3_state_t *st, const s3_bucket_t *b, const char *key, bool *marker,
                       char vid[S3_VERSION_ID_LEN + 1]);
/* Remove one version for good ("null": the null version). The next newest
 * becomes current. Returns whether it existed; *was_marker. */
bool s3__version_delete(s3_state_t *st, const char *bucket, const char *key, const char *version_id,
                        bool *was_marker);
void s3__object_set_tags(s3_state_t *st, const char *bucket, const char *key, const char *tags);
/* A new version sequence number. */
int64_t s3__seq_next(s3_state_t *st);
/* Set one bucket column (sql: "UPDATE s3_buckets SET col = ? WHERE name = ?"). */
void s3__bucket_set(s3_state_t *st, const char *name, const char *sql, const char *value);
/* Unlink objects/<file> once what is written now is durable. */
void s3__file_unlink_later(s3_state_t *st, const char *file);
/* objects/<file> into the arena. */
const char *s3__file_path(s3_state_t *st, arena_t *a, const char *file);
/* A new file id. */
void s3__file_id(char out[37]);

/* ---- handlers ---- */
int s3_create_bucket(svc_call_t *c);
int s3_head_bucket(svc_call_t *c);
int s3_list_buckets(svc_call_t *c);
int s3_delete_bucket(svc_call_t *c);
int s3_get_bucket_location(svc_call_t *c);
int s3_put_bucket_tagging(svc_call_t *c);
int s3_get_bucket_tagging(svc_call_t *c);
int s3_delete_bucket_tagging(svc_call_t *c);
int s3_put_bucket_policy(svc_call_t *c);
int s3_get_bucket_policy(svc_call_t *c);
int s3_delete_bucket_policy(svc_call_t *c);
int s3_get_bucket_versioning(svc_call_t *c);
int s3_put_object(svc_call_t *c);
int s3_get_object(svc_call_t *c);
int s3_head_object(svc_call_t *c);
int s3_delete_object(svc_call_t *c);
int s3_delete_objects(svc_call_t *c);
int s3_copy_object(svc_call_t *c);
int s3_put_object_tagging(svc_call_t *c);
int s3_get_object_tagging(svc_call_t *c);
int s3_delete_object_tagging(svc_call_t *c);
int s3_list_objects(svc_call_t *c);
int s3_list_objects_v2(svc_call_t *c);
int s3_create_multipart_upload(svc_call_t *c);
int s3_upload_part(svc_call_t *c);
int s3_complete_multipart_upload(svc_call_t *c);
int s3_abort_multipart_upload(svc_call_t *c);
int s3_list_parts(svc_call_t *c);
int s3_list_multipart_uploads(svc_call_t *c);
int s3_upload_part_copy(svc_call_t *c);
int s3_put_bucket_notification_configuration(svc_call_t *c);
int s3_get_bucket_notification_configuration(svc_call_t *c);
int s3_put_bucket_versioning(svc_call_t *c);
int s3_list_object_versions(svc_call_t *c);
int s3_put_bucket_cors(svc_call_t *c);
int s3_get_bucket_cors(svc_call_t *c);
int s3_delete_bucket_cors(svc_call_t *c);
int s3_put_bucket_lifecycle_configuration(svc_call_t *c);
int s3_get_bucket_lifecycle_configuration(svc_call_t *c);
int s3_delete_bucket_lifecycle(svc_call_t *c);

/* ---- event notifications (notify.c) ----
 *
 * event is the record's eventName without "s3:" ("ObjectCreated:Put").
 * Matching destinations get AWS's event record once what the call wrote is
 * durable (never for a change that was not acknowledged), through pipes
 * as s3.amazonaws.com. c may be NULL (lifecycle: S3 itself); o gives key,
 * size, eTag, version and sequencer. */
void s3__notify(s3_state_t *st, svc_call_t *c, const s3_bucket_t *b, const char *event, const s3_object_t *o);

/* ---- lifecycle (lifecycle.c) ---- */
/* Arm the periodic sweep on st->dq (dq_init done). */
void s3__lifecycle_start(s3_state_t *st);
void s3__lifecycle_clock_moved(void *state);
/* Sweep now: expire what is due. Returns objects expired. */
int s3__lifecycle_sweep(s3_state_t *st);


/* Shared between handlers. */
bool s3__bucket_name_ok(svc_call_t *c, const char *name);
/* Tags from a TagSet tree into stored JSON text (malloc'd), checking AWS's
 * rules; NULL with an error set. */
char *s3__tags_encode(svc_call_t *c, json_t *tagset, size_t max);
/* x-amz-tagging ("a=1&b=2") into a TagSet array, NULL with an error set. */
json_t *s3__tags_from_query(svc_call_t *c, const char *q);
/* The source of a copy (x-amz-copy-source, with ?versionId=), after
 * s3:GetObject(Version) on it is allowed; src->key becomes "bucket/key".
 * false with the error set. */
bool s3__copy_source_get(svc_call_t *c, s3_object_t *src, const char **src_vid);
/* Bucket policy lookup for the authorizer. */
const iam_policy_t *s3__resource_policy(void *state, const char *arn, const char **owner);
int s3__policies_load(s3_state_t *st);
void s3__policies_free(s3_state_t *st);
/* Set or clear (text NULL) a bucket's compiled policy. */
void s3__policy_cache_set(s3_state_t *st, const char *bucket, iam_policy_t *p);

#endif
