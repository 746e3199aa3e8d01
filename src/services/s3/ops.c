/*
 * S3: the operation table, the resources calls are authorized on, and the
 * service's lifecycle.
 *
 * ARNs and actions follow the Service Authorization Reference
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html):
 * bucket operations act on arn:aws:s3:::BUCKET, object operations on
 * arn:aws:s3:::BUCKET/KEY (no region or account: bucket names are
 * global). ListObjects(V2) and DeleteObjects authorize in their handlers:
 * the first with the condition keys s3:prefix, s3:delimiter and
 * s3:max-keys, the second as s3:DeleteObject once per key. GetObject,
 * HeadObject and DeleteObject do too, because their action depends on
 * whether a versionId is given (s3:GetObjectVersion,
 * s3:DeleteObjectVersion).
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/banned.h"

static int bucket_arn(svc_call_t *c, const char **arn)
{
    *arn = arena_sprintf(c->arena, "arn:aws:s3:::%s", svc_in_str(c, "Bucket") ? svc_in_str(c, "Bucket") : "");
    return 0;
}

static int object_arn(svc_call_t *c, const char **arn)
{
    const char *b = svc_in_str(c, "Bucket"), *k = svc_in_str(c, "Key");
    *arn = arena_sprintf(c->arena, "arn:aws:s3:::%s/%s", b ? b : "", k ? k : "");
    return 0;
}

#define M SVC_OP_MUTATING
static const svc_op_t s3_ops[] = {
    {"AbortMultipartUpload", s3_abort_multipart_upload, "s3:AbortMultipartUpload", object_arn, M},
    {"CompleteMultipartUpload", s3_complete_multipart_upload, "s3:PutObject", object_arn, M},
    {"CopyObject", s3_copy_object, "s3:PutObject", object_arn, M},
    {"CreateBucket", s3_create_bucket, "s3:CreateBucket", bucket_arn, M},
    {"CreateMultipartUpload", s3_create_multipart_upload, "s3:PutObject", object_arn, M},
    {"DeleteBucket", s3_delete_bucket, "s3:DeleteBucket", bucket_arn, M},
    {"DeleteBucketCors", s3_delete_bucket_cors, "s3:PutBucketCORS", bucket_arn, M},
    {"DeleteBucketLifecycle", s3_delete_bucket_lifecycle, "s3:PutLifecycleConfiguration", bucket_arn, M},
    {"DeleteBucketPolicy", s3_delete_bucket_policy, "s3:DeleteBucketPolicy", bucket_arn, M},
    {"DeleteBucketTagging", s3_delete_bucket_tagging, "s3:PutBucketTagging", bucket_arn, M},
    {"DeleteObject", s3_delete_object, NULL, object_arn, M},
    {"DeleteObjectTagging", s3_delete_object_tagging, "s3:DeleteObjectTagging", object_arn, M},
    {"DeleteObjects", s3_delete_objects, NULL, NULL, M},
    {"GetBucketCors", s3_get_bucket_cors, "s3:GetBucketCORS", bucket_arn, 0},
    {"GetBucketLifecycleConfiguration", s3_get_bucket_lifecycle_configuration, "s3:GetLifecycleConfiguration",
     bucket_arn, 0},
    {"GetBucketLocation", s3_get_bucket_location, "s3:GetBucketLocation", bucket_arn, 0},
    {"GetBucketNotificationConfiguration", s3_get_bucket_notification_configuration, "s3:GetBucketNotification",
     bucket_arn, 0},
    {"GetBucketPolicy", s3_get_bucket_policy, "s3:GetBucketPolicy", bucket_arn, 0},
    {"GetBucketTagging", s3_get_bucket_tagging, "s3:GetBucketTagging", bucket_arn, 0},
    {"GetBucketVersioning", s3_get_bucket_versioning, "s3:GetBucketVersioning", bucket_arn, 0},
    {"GetObject", s3_get_object, NULL, object_arn, 0},
    {"GetObjectTagging", s3_get_object_tagging, "s3:GetObjectTagging", object_arn, 0},
    {"HeadBucket", s3_head_bucket, "s3:ListBucket", bucket_arn, 0},
    {"HeadObject", s3_head_object, NULL, object_arn, 0},
    {"ListBuckets", s3_list_buckets, "s3:ListAllMyBuckets", NULL, 0},
    {"ListMultipartUploads", s3_list_multipart_uploads, "s3:ListBucketMultipartUploads", bucket_arn, 0},
    {"ListObjectVersions", s3_list_object_versions, "s3:ListBucketVersions", bucket_arn, 0},
    {"ListObjects", s3_list_objects, NULL, NULL, 0},
    {"ListObjectsV2", s3_list_objects_v2, NULL, NULL, 0},
    {"ListParts", s3_list_parts, "s3:ListMultipartUploadParts", object_arn, 0},
    {"PutBucketCors", s3_put_bucket_cors, "s3:PutBucketCORS", bucket_arn, M},
    {"PutBucketLifecycleConfiguration", s3_put_bucket_lifecycle_configuration, "s3:PutLifecycleConfiguration",
     bucket_arn, M},
    {"PutBucketNotificationConfiguration", s3_put_bucket_notification_configuration, "s3:PutBucketNotification",
     bucket_arn, M},
    {"PutBucketPolicy", s3_put_bucket_policy, "s3:PutBucketPolicy", bucket_arn, M},
    {"PutBucketTagging", s3_put_bucket_tagging, "s3:PutBucketTagging", bucket_arn, M},
    {"PutBucketVersioning", s3_put_bucket_versioning, "s3:PutBucketVersioning", bucket_arn, M},
    {"PutObject", s3_put_object, "s3:PutObject", object_arn, M | SVC_OP_STREAM_IN},
    {"PutObjectTagging", s3_put_object_tagging, "s3:PutObjectTagging", object_arn, M},
    {"UploadPart", s3_upload_part, "s3:PutObject", object_arn, M | SVC_OP_STREAM_IN},
    {"UploadPartCopy", s3_upload_part_copy, "s3:PutObject", object_arn, M},
};
#undef M

/* ---- bytes ---- */

static const char *s3_spool_dir(void *state) { return ((s3_state_t *)state)->spool; }

/* The checksum to compute: the one the client sends a value for (header
 * or trailer), else the one it names in x-amz-sdk-checksum-algorithm. */
static void *s3_digest_start(svc_call_t *c)
{
    s3_ck_alg_t alg = S3_CK_NONE;
    http_request_t *req = c->req;
    for (size_t i = 0; i < req->nheaders && !alg; i++) {
        strv_t n = req->headers[i].name;
        if (n.len > 15 && strncasecmp(n.p, "x-amz-checksum-", 15) == 0 && !strv_caseeq_cstr(n, "x-amz-checksum-type"))
            alg = s3_ck_from_name(n);
    }
    strv_t t = http_request_header(req, "x-amz-trailer");
    if (!alg && t.p)
        alg = s3_ck_from_name(strv_trim(t));
    strv_t sdk = http_request_header(req, "x-amz-sdk-checksum-algorithm");
    if (!alg && sdk.p)
        alg = s3_ck_from_name(strv_trim(sdk));
    return s3_digest_create(alg);
}

static uint64_t s3_stream_max(svc_call_t *c)
{
    return strcmp(c->op->name, "UploadPart") == 0 ? S3_MAX_PART_BYTES : S3_MAX_PUT_BYTES;
}

/* ---- lifecycle ---- */

static int mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* Spooled bodies of requests that never finished are garbage at start. */
static void sweep_spool(s3_state_t *st)
{
    kyoka_remove_tree(st->spool);
    (void)mkdir_p(st->spool);
}

static void *s3_create(kyoka_ctx_t *ctx, char *err, size_t errcap)
{
    s3_state_t *st = xcalloc(1, sizeof *st);
    st->ctx = ctx;
    st->store = ctx->store;
    if (ctx->data_dir) {
        st->root = xasprintf("%s/s3", ctx->data_dir);
    } else {
        char tmpl[] = "/tmp/kyoka-s3-XXXXXX";
        if (!mkdtemp(tmpl)) {
            snprintf(err, errcap, "s3: cannot create a temporary directory: %s", strerror(errno));
            free(st);
            return NULL;
        }
        st->root = xstrdup(tmpl);
        st->ephemeral = true;
    }
    st->spool = xasprintf("%s/spool", st->root);
    st->objects = xasprintf("%s/objects", st->root);
    if (mkdir_p(st->spool) != 0 || mkdir_p(st->objects) != 0) {
        snprintf(err, errcap, "s3: cannot create %s: %s; check the data directory's permissions", st->root,
                 strerror(errno));
        goto fail;
    }
    sweep_spool(st);
    if (s3__store_migrate(st, err, errcap) != 0 || s3__policies_load(st) != 0)
        goto fail;
    dq_init(&st->dq, ctx->loop);
    s3__lifecycle_start(st);
    return st;
fail:
    free(st->spool);
    free(st->objects);
    free(st->root);
    free(st);
    return NULL;
}

static void on_dq_closed(dq_t *dq) { free(container_of(dq, s3_state_t, dq)); }

static void s3_free(void *state)
{
    s3_state_t *st = state;
    if (!st)
        return;
    s3__policies_free(st);
    if (st->ephemeral)
        kyoka_remove_tree(st->root);
    free(st->spool);
    free(st->objects);
    free(st->root);
    /* The state holds the dq's handles: freed once they are closed. */
    dq_close(&st->dq, on_dq_closed);
}

static void s3_reset(void *state)
{
    s3_state_t *st = state;
    s3__policies_free(st);
    store_write_begin(st->store);
    if (store_exec(st->store, "DELETE FROM s3_objects; DELETE FROM s3_buckets; DELETE FROM s3_uploads; "
                              "DELETE FROM s3_parts; DELETE FROM s3_versions;") != 0)
        log_error("s3: reset failed");
    kyoka_remove_tree(st->objects);
    (void)mkdir_p(st->objects);
}

const svc_def_t s3_service = {
    .name = "s3",
    .ops = s3_ops,
    .nops = KYOKA_ARRAY_LEN(s3_ops),
    .create = s3_create,
    .free = s3_free,
    .reset = s3_reset,
    .clock_moved = s3__lifecycle_clock_moved,
    .resource_policy = s3__resource_policy,
    .spool_dir = s3_spool_dir,
    .digest_start = s3_digest_start,
    .digest_update = s3_digest_update,
    .digest_free = s3_digest_free,
    .stream_max = s3_stream_max,
};
