/*
 * Bytes through the front door: streamed request bodies spooled to a file,
 * and responses served from a file (docs/architecture.md, "One front door,
 * also for bytes").
 *
 * Spooling. The body arrives in pieces on the loop. An aws-chunked body goes
 * through the auth component's decoder first (chunk signatures, trailer
 * checksums); a plain body with a hex x-amz-content-sha256 is hashed as it
 * comes. Decoded bytes collect in a buffer; at SPOOL_CHUNK a pool job
 * writes them to the spool file and feeds the service's digest, one job at
 * a time per body so the digest sees the bytes in order. While a job runs
 * and another chunk is full, the request is paused: memory per upload stays
 * near two chunks whatever the body's size. When the body has arrived, the
 * last job writes the rest and fsyncs, so the file is whole and durable
 * before the handler may take it. Any failure removes the file.
 *
 * Sending. A file opened on the loop (before anything could delete the
 * object) is read on the pool SEND_CHUNK at a time; each piece is lent to
 * the http component and the next read starts when the kernel has taken
 * it, so a slow reader holds one piece and no more.
 *
 * Thread: loop thread, except the work callbacks, which touch only their
 * job's buffers, file and digest.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/banned.h"

#define SPOOL_CHUNK (1024 * 1024)
#define SPOOL_BUF_MAX (8 * 1024 * 1024)
#define SEND_CHUNK (256 * 1024)

/* ---------------------------------------------------------------- spool */

struct kyoka_spool {
    http_request_t *req;
    uv_loop_t *loop;
    char *path;
    int fd;
    buf_t pending;  /* decoded bytes not yet handed to a job */
    buf_t writing;  /* the job's bytes */
    uv_work_t work;
    bool busy, final_job, ended, paused, aborted, done_called;
    int job_errno;
    uint64_t size, max;
    auth_chunked_t *chunked;
    auth_payload_hash_t *sha;
    char sha_expected[65];
    void (*digest_update)(void *digest, const void *p, size_t n);
    void *digest;
    kyoka_spool_done_fn done;
    void *done_data;
    /* The first failure, in AWS's words. */
    const char *err_code;
    int err_status;
    char err_msg[256];
};

static void spool_fail(kyoka_spool_t *sp, const char *code, int status, const char *msg)
{
    if (sp->err_code)
        return;
    sp->err_code = code;
    sp->err_status = status;
    snprintf(sp->err_msg, sizeof sp->err_msg, "%s", msg);
}

static void on_spool_work(uv_work_t *w)
{
    kyoka_spool_t *sp = container_of(w, kyoka_spool_t, work);
    const char *p = sp->writing.data;
    size_t n = sp->writing.len;
    while (n > 0 && !sp->job_errno) {
        ssize_t k = write(sp->fd, p, n);
        if (k < 0) {
            if (errno != EINTR)
                sp->job_errno = errno;
            continue;
        }
        if (sp->digest_update)
            sp->digest_update(sp->digest, p, (size_t)k);
        p += k;
        n -= (size_t)k;
    }
    if (sp->final_job && !sp->job_errno) {
        if (fsync(sp->fd) != 0)
            sp->job_errno = errno;
    }
}

static void spool_free(kyoka_spool_t *sp)
{
    if (sp->fd >= 0)
        close(sp->fd);
    if (sp->path && (sp->err_code || sp->aborted || !sp->done_called))
        unlink(sp->path);
    free(sp->path);
    buf_destroy(&sp->pending);
    buf_destroy(&sp->writing);
    auth_chunked_free(sp->chunked);
    if (sp->sha)
        (void)auth_payload_hash_finish(sp->sha, "");
    free(sp);
}

static void spool_kick(kyoka_spool_t *sp);

static void on_spool_done(uv_work_t *w, int status)
{
    kyoka_spool_t *sp = container_of(w, kyoka_spool_t, work);
    sp->busy = false;
    buf_reset(&sp->writing);
    if (status != 0 || sp->job_errno) {
        log_error("s3 spool: writing %s failed: %s", sp->path, strerror(sp->job_errno ? sp->job_errno : EIO));
        spool_fail(sp, "InternalError", 500, "kyoka could not write the body to disk; nothing was stored");
    }
    if (sp->aborted) {
        spool_free(sp);
        return;
    }
    if (sp->final_job) {
        close(sp->fd);
        sp->fd = -1;
        sp->done_called = !sp->err_code;
        kyoka_spool_done_fn done = sp->done;
        void *data = sp->done_data;
        done(data, sp);
        return;
    }
    spool_kick(sp);
}

/* Start a job when there is work and none runs; pause or resume the body. */
static void spool_kick(kyoka_spool_t *sp)
{
    if (sp->busy)
        return;
    bool final = sp->ended;
    if (sp->err_code && !final) {
        /* Failed: the rest of the body is read and dropped. */
        if (sp->paused) {
            sp->paused = false;
            http_request_resume(sp->req);
        }
        return;
    }
    if (!final && sp->pending.len < SPOOL_CHUNK) {
        if (sp->paused) {
            sp->paused = false;
            http_request_resume(sp->req);
        }
        return;
    }
    buf_t t = sp->writing;
    sp->writing = sp->pending;
    sp->pending = t;
    if (sp->err_code)
        buf_reset(&sp->writing);
    sp->final_job = final;
    sp->busy = true;
    uv_queue_work(sp->loop, &sp->work, on_spool_work, on_spool_done);
    if (!final && sp->paused && sp->pending.len < SPOOL_CHUNK) {
        sp->paused = false;
        http_request_resume(sp->req);
    }
}

static int spool_sink(void *data, const char *p, size_t n)
{
    kyoka_spool_t *sp = data;
    if (sp->err_code)
        return 0;
    sp->size += n;
    if (sp->max && sp->size > sp->max) {
        spool_fail(sp, "EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed size");
        return 0;
    }
    if (buf_append(&sp->pending, p, n)) {
        spool_fail(sp, "InternalError", 500, "kyoka could not buffer the body");
        return 0;
    }
    if (sp->pending.len >= SPOOL_CHUNK) {
        if (sp->busy) {
            if (!sp->paused) {
                sp->paused = true;
                http_request_pause(sp->req);
            }
        } else {
            spool_kick(sp);
        }
    }
    return 0;
}

kyoka_spool_t *kyoka__spool_create(uv_loop_t *loop, http_request_t *req, const char *dir, uint64_t max,
                                   const auth_result_t *auth, void (*digest_update)(void *, const void *, size_t),
                                   void *digest, const char **err_code, int *err_status, char *err_msg,
                                   size_t errcap)
{
    kyoka_spool_t *sp = xcalloc(1, sizeof *sp);
    sp->req = req;
    sp->loop = loop;
    sp->fd = -1;
    sp->max = max;
    sp->digest_update = digest_update;
    sp->digest = digest;
    buf_init(&sp->pending, SPOOL_BUF_MAX);
    buf_init(&sp->writing, SPOOL_BUF_MAX);
    strv_t mode = http_request_header(req, "x-amz-content-sha256");
    char modez[80] = "";
    if (mode.p && mode.len < sizeof modez)
        memcpy(modez, mode.p, mode.len);
    strv_t ce = http_request_header(req, "content-encoding");
    *err_code = NULL;
    if (strncmp(modez, "STREAMING-", 10) == 0 || (ce.p && memmem(ce.p, ce.len, "aws-chunked", 11))) {
        sp->chunked = auth_chunked_create(modez, auth, spool_sink, sp);
        if (!sp->chunked) {
            *err_code = "InvalidArgument";
            *err_status = 400;
            snprintf(err_msg, errcap, "x-amz-content-sha256 must be a STREAMING-* value for an aws-chunked body");
            goto fail;
        }
        strv_t trailer = http_request_header(req, "x-amz-trailer");
        if (trailer.p && auth_chunked_expect_trailer(sp->chunked, strv_trim(trailer)) != 0) {
            *err_code = "InvalidRequest";
            *err_status = 400;
            snprintf(err_msg, errcap, "The value specified in the x-amz-trailer header is not supported");
            goto fail;
        }
        /* The decoded length, when told, bounds the body before it comes. */
        strv_t dl = http_request_header(req, "x-amz-decoded-content-length");
        if (dl.p && max && strtoull(arena_strndup(&req->arena, dl.p, dl.len), NULL, 10) > max) {
            *err_code = "EntityTooLarge";
            *err_status = 400;
            snprintf(err_msg, errcap, "Your proposed upload exceeds the maximum allowed size");
            goto fail;
        }
    } else if (mode.p && mode.len == 64) {
        sp->sha = auth_payload_hash_create();
        memcpy(sp->sha_expected, mode.p, 64);
    }
    if (max && req->content_length >= 0 && !sp->chunked && (uint64_t)req->content_length > max) {
        *err_code = "EntityTooLarge";
        *err_status = 400;
        snprintf(err_msg, errcap, "Your proposed upload exceeds the maximum allowed size");
        goto fail;
    }
    char id[37];
    kyoka_uuid(id);
    sp->path = xmalloc(strlen(dir) + 48);
    snprintf(sp->path, strlen(dir) + 48, "%s/spool-%s", dir, id);
    sp->fd = open(sp->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (sp->fd < 0) {
        log_error("s3 spool: cannot create %s: %s", sp->path, strerror(errno));
        *err_code = "InternalError";
        *err_status = 500;
        snprintf(err_msg, errcap, "kyoka could not create a file for the body");
        free(sp->path);
        sp->path = NULL;
        goto fail;
    }
    return sp;
fail:
    spool_free(sp);
    return NULL;
}

void kyoka__spool_feed(kyoka_spool_t *sp, const char *p, size_t n)
{
    if (sp->err_code)
        return;
    if (sp->chunked) {
        if (auth_chunked_feed(sp->chunked, p, n) != 0 && !sp->err_code) {
            spool_fail(sp, "SignatureDoesNotMatch", 403, auth_chunked_error(sp->chunked));
        }
        return;
    }
    if (sp->sha)
        auth_payload_hash_update(sp->sha, p, n);
    (void)spool_sink(sp, p, n);
}

void kyoka__spool_finish(kyoka_spool_t *sp, kyoka_spool_done_fn done, void *data)
{
    sp->done = done;
    sp->done_data = data;
    sp->ended = true;
    if (!sp->err_code && sp->chunked) {
        int rc = auth_chunked_finish(sp->chunked);
        if (rc == KYOKA_EINVAL)
            spool_fail(sp, "BadDigest", 400, auth_chunked_error(sp->chunked));
        else if (rc == KYOKA_EPARSE)
            spool_fail(sp, "IncompleteBody", 400, auth_chunked_error(sp->chunked));
        else if (rc != 0)
            spool_fail(sp, "SignatureDoesNotMatch", 403, auth_chunked_error(sp->chunked));
        strv_t dl = http_request_header(sp->req, "x-amz-decoded-content-length");
        if (!sp->err_code && dl.p &&
            strtoull(arena_strndup(&sp->req->arena, dl.p, dl.len), NULL, 10) != auth_chunked_decoded_bytes(sp->chunked))
            spool_fail(sp, "IncompleteBody", 400,
                       "You did not provide the number of bytes specified by the x-amz-decoded-content-length header.");
    }
    if (sp->sha) {
        bool ok = auth_payload_hash_finish(sp->sha, sp->sha_expected);
        sp->sha = NULL;
        if (!ok)
            spool_fail(sp, "XAmzContentSHA256Mismatch", 400,
                       "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    if (sp->paused) {
        sp->paused = false;
        http_request_resume(sp->req);
    }
    spool_kick(sp);
}

const char *kyoka__spool_error(const kyoka_spool_t *sp, int *status, const char **message)
{
    *status = sp->err_status;
    *message = sp->err_msg;
    return sp->err_code;
}

const char *kyoka__spool_path(const kyoka_spool_t *sp) { return sp->path; }
uint64_t kyoka__spool_size(const kyoka_spool_t *sp) { return sp->size; }

void kyoka__spool_free(kyoka_spool_t *sp)
{
    if (!sp)
        return;
    if (sp->busy) {
        sp->aborted = true; /* freed when the job comes back */
        return;
    }
    spool_free(sp);
}

/* ---------------------------------------------------------------- send */

struct kyoka_send {
    http_request_t *req;
    uv_loop_t *loop;
    int fd;
    uint64_t off, left;
    char *buf;
    uv_fs_t fs;
    bool reading, aborted, starting, ended_sync;
    void (*done)(void *data);
    void *data;
};

static void send_free(kyoka_send_t *sd)
{
    if (sd->fd >= 0)
        close(sd->fd);
    free(sd->buf);
    free(sd);
}

/* The response is complete (or cut short): tell the owner, unless we are
 * still inside kyoka__send_file, whose return value says so instead. */
static void send_end(kyoka_send_t *sd)
{
    http_respond_end(sd->req);
    if (sd->starting) {
        sd->ended_sync = true;
        return;
    }
    void (*done)(void *) = sd->done;
    void *data = sd->data;
    send_free(sd);
    done(data);
}

static void send_next(kyoka_send_t *sd);

static void on_piece_written(http_request_t *req, void *data)
{
    (void)req;
    kyoka_send_t *sd = data;
    if (!sd->aborted)
        send_next(sd);
}

static void on_read(uv_fs_t *fs)
{
    kyoka_send_t *sd = container_of(fs, kyoka_send_t, fs);
    ssize_t n = fs->result;
    uv_fs_req_cleanup(fs);
    sd->reading = false;
    if (sd->aborted) {
        send_free(sd);
        return;
    }
    if (n <= 0) {
        /* The file is shorter than it was: ending the response short makes
         * the http layer close the connection, so the client sees it. */
        log_error("s3 send: read failed or the file ended early (%zd)", n);
        send_end(sd);
        return;
    }
    sd->off += (uint64_t)n;
    sd->left -= (uint64_t)n;
    http_respond_write(sd->req, sd->buf, (size_t)n, on_piece_written, sd);
}

static void send_next(kyoka_send_t *sd)
{
    if (sd->left == 0) {
        send_end(sd);
        return;
    }
    size_t want = sd->left > SEND_CHUNK ? SEND_CHUNK : (size_t)sd->left;
    uv_buf_t b = uv_buf_init(sd->buf, (unsigned)want);
    sd->reading = true;
    int rc = uv_fs_read(sd->loop, &sd->fs, sd->fd, &b, 1, (int64_t)sd->off, on_read);
    if (rc != 0) {
        sd->reading = false;
        log_error("s3 send: cannot read: %s", uv_strerror(rc));
        send_end(sd);
    }
}

kyoka_send_t *kyoka__send_file(uv_loop_t *loop, http_request_t *req, int status, const http_header_t *headers,
                               size_t nheaders, int fd, uint64_t offset, uint64_t length, void (*done)(void *data),
                               void *data)
{
    http_respond_start(req, status, headers, nheaders, (int64_t)length);
    kyoka_send_t *sd = xcalloc(1, sizeof *sd);
    sd->req = req;
    sd->loop = loop;
    sd->fd = fd;
    sd->off = offset;
    sd->left = fd < 0 ? 0 : length;
    sd->done = done;
    sd->data = data;
    sd->buf = sd->left ? xmalloc(SEND_CHUNK) : NULL;
    sd->starting = true;
    send_next(sd);
    sd->starting = false;
    if (sd->ended_sync) {
        send_free(sd);
        return NULL;
    }
    return sd;
}

void kyoka__send_abort(kyoka_send_t *sd)
{
    sd->aborted = true;
    if (!sd->reading)
        send_free(sd);
}
