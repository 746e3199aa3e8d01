/*
 * Function and layer code on disk, content-addressed by SHA-256:
 *
 *   <root>/zips/<sha>.zip   the zip as uploaded (GetFunction's Code.Location serves it)
 *   <root>/code/<sha>/      the zip extracted, mounted read-only at /var/task
 *   <root>/opt/<key>/       layers merged in order, mounted at /opt
 *
 * Ingestion decodes, hashes, checks and extracts on libuv's thread pool (a
 * 50 MB zip would stall the loop otherwise) and fsyncs the zip and the
 * extracted tree before the request is answered, so a 201 means the code
 * survives kill -9. Same bytes, same directory: a second upload of the same
 * zip costs a hash and nothing else. A refused zip leaves nothing behind.
 */
#include "internal.h"

#include "codezip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/banned.h"

char *lambda__code_dir(arena_t *a, lambda_state_t *st, const char *sha_hex)
{
    return arena_sprintf(a, "%s/code/%s", st->code_root, sha_hex);
}

char *lambda__code_zip(arena_t *a, lambda_state_t *st, const char *sha_hex)
{
    return arena_sprintf(a, "%s/zips/%s.zip", st->code_root, sha_hex);
}

typedef struct ingest_job {
    uv_work_t w;
    svc_call_t *c;        /* NULL once the client went away */
    json_t *input;        /* a reference: b64 points into it */
    lambda_state_t *st;
    const char *b64;      /* borrowed from the call's input, alive while parked */
    size_t b64_len;
    char *root;
    bool durable;
    bool check_only;
    lambda_code_done_fn done;
    void *ctx;
    /* results */
    int status;
    const char *err_code;
    char err[512];
    lambda_code_t code;
} ingest_job_t;

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_durably(const char *path, const void *data, size_t len, bool durable)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    if ((durable && fsync(fd) != 0) || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void refuse(ingest_job_t *j, int rc, const lambda_zip_summary_t *sum, const char *why)
{
    j->status = rc ? rc : KYOKA_EINVAL;
    j->err_code = "InvalidParameterValueException";
    snprintf(j->err, sizeof j->err, "%s", why);
    if (sum->detail[0])
        log_info("lambda: refused a code zip: %s", sum->detail);
}

static void store_failed(ingest_job_t *j, const char *what, int err)
{
    j->status = KYOKA_EIO;
    j->err_code = "ServiceException";
    snprintf(j->err, sizeof j->err, "%s: %s", what, strerror(err));
}

static void ingest_work(uv_work_t *w)
{
    ingest_job_t *j = container_of(w, ingest_job_t, w);
    arena_t a;
    arena_init(&a);
    unsigned char *zip = NULL;
    ssize_t n = base64_decode(&a, (strv_t){j->b64, j->b64_len}, &zip);
    if (n < 0) {
        j->status = KYOKA_EINVAL;
        j->err_code = "InvalidParameterValueException";
        snprintf(j->err, sizeof j->err, "Could not unzip uploaded file. Please check your file, then try to upload again.");
        goto out;
    }
    if (n > KYOKA_LAMBDA_MAX_ZIP_BYTES) {
        j->status = KYOKA_ELIMIT;
        j->err_code = "RequestEntityTooLargeException";
        snprintf(j->err, sizeof j->err, "Request must be smaller than %d bytes for the CreateFunction operation",
                 KYOKA_LAMBDA_MAX_ZIP_BYTES);
        goto out;
    }
    unsigned char md[32];
    auth_sha256(zip, (size_t)n, md);
    kyoka_hex(md, 32, j->code.sha_hex);
    char *b64 = base64_encode(&a, md, 32);
    snprintf(j->code.sha_b64, sizeof j->code.sha_b64, "%s", b64);
    j->code.size = n;
    lambda_zip_limits_t lim;
    lambda_zip_limits_default(&lim);
    /* The 250 MB cap on what is actually inflated already bounds a zip
     * bomb; a ratio guard would refuse real code AWS accepts (a large
     * zero-filled data file). */
    lim.max_ratio = 0;
    lambda_zip_summary_t sum;
    char why[512];
    if (j->check_only) {
        if (lambda_zip_check(zip, (size_t)n, &lim, &sum, why, sizeof why) != 0)
            refuse(j, KYOKA_EINVAL, &sum, why);
        goto out;
    }
    char *dir = arena_sprintf(&a, "%s/code/%s", j->root, j->code.sha_hex);
    char *zpath = arena_sprintf(&a, "%s/zips/%s.zip", j->root, j->code.sha_hex);
    struct stat stbuf;
    if (stat(dir, &stbuf) != 0) {
        /* Extract beside the final name, then rename: a crash leaves a
         * stray temporary directory (removed here next time), never a
         * half-extracted code directory. Extraction checks the archive
         * first and writes nothing when it is refused. */
        char *tmp = arena_sprintf(&a, "%s.tmp", dir);
        kyoka_remove_tree(tmp);
        if (mkdir(tmp, 0755) != 0) {
            store_failed(j, "kyoka could not store the code", errno);
            goto out;
        }
        int rc = lambda_zip_extract(zip, (size_t)n, tmp, &lim, j->durable, &sum, why, sizeof why);
        if (rc == KYOKA_EIO) {
            kyoka_remove_tree(tmp);
            log_error("lambda: extracting code failed: %s (%s)", why, sum.detail);
            store_failed(j, "kyoka could not store the code", EIO);
            goto out;
        }
        if (rc != 0) {
            kyoka_remove_tree(tmp);
            refuse(j, rc, &sum, why);
            goto out;
        }
        if (rename(tmp, dir) != 0) {
            kyoka_remove_tree(tmp);
            store_failed(j, "kyoka could not store the code", errno);
            goto out;
        }
    }
    if (stat(zpath, &stbuf) != 0 && write_durably(zpath, zip, (size_t)n, j->durable) != 0) {
        store_failed(j, "kyoka could not store the code", errno);
        goto out;
    }
    if (j->durable)
        fsync_path(arena_sprintf(&a, "%s/code", j->root), O_RDONLY | O_DIRECTORY);
out:
    arena_destroy(&a);
}

static void ingest_after(uv_work_t *w, int status)
{
    ingest_job_t *j = container_of(w, ingest_job_t, w);
    svc_call_t *c = j->c;
    if (!c) {
        json_decref(j->input);
        free(j->root);
        free(j);
        return;
    }
    c->on_abort = NULL;
    c->parked = NULL;
    if (status != 0 && !j->status) {
        j->status = KYOKA_ESTORE;
        j->err_code = "ServiceException";
        snprintf(j->err, sizeof j->err, "kyoka could not process the code");
    }
    if (j->status)
        svc_error(c, j->err_code, 0, "%s", j->err);
    j->done(c, j->status, &j->code, j->ctx);
    json_decref(j->input);
    free(j->root);
    free(j);
}

/* The client went away: the job runs on (it holds its own reference to
 * the input it reads) and is dropped when it comes back. */
static void on_ingest_abort(svc_call_t *c)
{
    ingest_job_t *j = c->parked;
    if (j)
        j->c = NULL;
}

int lambda__code_ingest(lambda_state_t *st, svc_call_t *c, const char *zip_b64, bool check_only,
                        lambda_code_done_fn done, void *ctx)
{
    ingest_job_t *j = xcalloc(1, sizeof *j);
    j->c = c;
    j->st = st;
    j->input = json_incref(c->input);
    j->b64 = zip_b64;
    j->b64_len = strlen(zip_b64);
    j->root = xstrdup(st->code_root);
    j->durable = store_is_durable(st->store);
    j->check_only = check_only;
    j->done = done;
    j->ctx = ctx;
    c->on_abort = on_ingest_abort;
    c->parked = j;
    char dirs[2][4200];
    snprintf(dirs[0], sizeof dirs[0], "%s/code", st->code_root);
    snprintf(dirs[1], sizeof dirs[1], "%s/zips", st->code_root);
    for (int i = 0; i < 2; i++)
        mkdir(dirs[i], 0755);
    if (uv_queue_work(c->ctx->loop, &j->w, ingest_work, ingest_after) != 0) {
        json_decref(j->input);
        c->on_abort = NULL;
        c->parked = NULL;
        free(j->root);
        free(j);
        svc_error(c, "ServiceException", 500, "kyoka could not queue the code for processing");
        return -1;
    }
    return 0;
}

/* ==== layers merged for /opt ==== */

static int copy_tree(const char *src, const char *dst);

const char *lambda__opt_dir(lambda_state_t *st, arena_t *a, json_t *layers)
{
    if (!json_is_array(layers) || json_array_size(layers) == 0)
        return NULL;
    /* Key: the layers' code digests in order. */
    buf_t key;
    buf_init(&key, 1 << 16);
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l)
    {
        const char *sha = json_string_value(json_object_get(l, "_CodeShaHex"));
        buf_appends(&key, sha ? sha : "-");
    }
    char hex[65];
    auth_sha256_hex(key.data, key.len, hex);
    buf_destroy(&key);
    char *dir = arena_sprintf(a, "%s/opt/%s", st->code_root, hex);
    struct stat sb;
    if (stat(dir, &sb) == 0)
        return dir;
    mkdir(arena_sprintf(a, "%s/opt", st->code_root), 0755);
    char *tmp = arena_sprintf(a, "%s.tmp%d", dir, (int)getpid());
    mkdir(tmp, 0755);
    json_array_foreach(layers, i, l)
    {
        const char *sha = json_string_value(json_object_get(l, "_CodeShaHex"));
        if (sha && copy_tree(lambda__code_dir(a, st, sha), tmp) != 0)
            log_warn("lambda: could not merge layer %s into %s", sha, tmp);
    }
    if (rename(tmp, dir) != 0)
        return NULL;
    return dir;
}

/* Layers are small trees copied once per distinct combination; later
 * layers overwrite earlier ones' files, as AWS extracts them in order. */
static int copy_tree(const char *src, const char *dst)
{
    char *cmd[] = {"/bin/cp", "-a", "--remove-destination", NULL, NULL, NULL};
    char srcdot[4200];
    snprintf(srcdot, sizeof srcdot, "%s/.", src);
    cmd[3] = srcdot;
    cmd[4] = (char *)dst;
    pid_t pid = fork();
    if (pid == 0) {
        execv(cmd[0], cmd);
        _exit(127);
    }
    if (pid < 0)
        return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
