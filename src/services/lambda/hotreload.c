/*
 * Code served from a directory on kyoka's host ("hot reload"): Code
 * {S3Bucket: "hot-reload", S3Key: "/abs/dir"} in CreateFunction and
 * UpdateFunctionCode, and Content of the same shape in PublishLayerVersion,
 * the convention LocalStack and the serverless-localstack plugin share
 * (https://docs.localstack.cloud/user-guide/lambda-tools/hot-reloading/;
 * "__local__" is the older bucket name that plugin still sends). The
 * directory is bind-mounted read-only at /var/task (/opt for a layer):
 * nothing is copied.
 *
 * Each directory in use is one source (lambda_hot_t), shared by every
 * version and layer served from it. A source watches its tree with libuv's
 * fs_event (inotify: one watch per directory, as inotify is not recursive;
 * new directories are watched as they appear). An event marks its path
 * dirty and arms a short debounce; when the debounce fires, or earlier when
 * an invocation of a function served from the tree arrives, each dirty path
 * is lstat'ed and compared with the source's snapshot of the tree, so that
 * only a real change (content, type, mode, size, inode: a rename-over save
 * is a new inode) moves the generation of the versions served from it and
 * retires their environments (busy ones finish first). A tree nobody writes
 * keeps its warm environments however often it is invoked.
 *
 * The snapshot and CodeSha256 (SHA-256 over the files' relative paths and
 * contents, in a fixed order) come from a scan on the thread pool, started
 * when a source appears and after every change. A scan that finds what the
 * loop's snapshot does not (a file written in a new directory before its
 * watch existed) counts as a change too.
 *
 * When inotify runs out of watches (fs.inotify.max_user_watches) the source
 * says so in the function's log and falls back to comparing the tree's
 * modification times before each invocation.
 *
 * __pycache__, .git and editors' swap, lock and backup files are not part
 * of the tree: writing them changes nothing.
 *
 * Thread: loop thread, except scan_tree (pool, touches only its job).
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/banned.h"

/* A burst of writes (a build, a git checkout) settles first... */
#define HOT_DEBOUNCE_MS 25
/* ...but a steady stream of them still reloads this often. */
#define HOT_DEBOUNCE_MAX_MS 250
/* While the directory itself is missing (rm -rf dist && build), look for
 * it again this often. */
#define HOT_MISSING_RETRY_MS 200
/* Paths remembered between debounces; past it the whole tree counts as
 * changed. */
#define HOT_DIRTY_MAX 512
/* File times come from a coarse clock (a jiffy): a file written twice
 * within one tick with the same size looks the same. An entry modified
 * this shortly before it was looked at is "racy" (git's word for it): the
 * next event on it counts as a change whatever its metadata says. */
#define HOT_RACY_NS (20 * 1000000LL)
/* Entries a scan reads before giving up (a mount of / by mistake). */
#define HOT_MAX_ENTRIES 1000000
/* The sandbox user (sbx_user1051) that reads the tree when kyoka runs as
 * root: see runtime/sandbox.c. */
#define HOT_SANDBOX_UID 993
#define HOT_SANDBOX_GID 990

/* ==== the tree ==== */

typedef struct hot_entry {
    char *rel;        /* "a/b.py" */
    uint32_t mode;    /* type and permissions */
    int64_t size;     /* 0 for directories */
    int64_t mtime_ns; /* 0 for directories: their mtime moves with every entry */
    uint64_t ino;
    bool racy;        /* modified so shortly before it was looked at that a
                         second write may have kept size and mtime */
} hot_entry_t;

typedef struct hot_snap {
    hot_entry_t *v;   /* sorted by rel (strcmp) */
    size_t n, cap;
} hot_snap_t;

static void snap_free(hot_snap_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].rel);
    free(s->v);
    *s = (hot_snap_t){0};
}

static void snap_push(hot_snap_t *s, hot_entry_t e)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = xrealloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = e;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const hot_entry_t *)a)->rel, ((const hot_entry_t *)b)->rel);
}

static ssize_t snap_find(const hot_snap_t *s, const char *rel, size_t *at)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->v[mid].rel, rel);
        if (c == 0)
            return (ssize_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return -1;
}

static bool entry_same(const hot_entry_t *a, const hot_entry_t *b)
{
    return a->mode == b->mode && a->size == b->size && a->mtime_ns == b->mtime_ns && a->ino == b->ino;
}

/* racy: an entry of a that was racy counts as changed (poll mode, where no
 * event says whether it was written again). */
static bool snap_equal(const hot_snap_t *a, const hot_snap_t *b, bool racy)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].rel, b->v[i].rel) != 0 || !entry_same(&a->v[i], &b->v[i]) || (racy && a->v[i].racy))
            return false;
    return true;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static hot_entry_t entry_of(const char *rel, const struct stat *sb)
{
    bool dir = S_ISDIR(sb->st_mode);
    int64_t mt = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
    return (hot_entry_t){
        .racy = !dir && mt + HOT_RACY_NS >= wall_ns(),
        .rel = xstrdup(rel),
        .mode = (uint32_t)sb->st_mode,
        .size = dir ? 0 : (int64_t)sb->st_size,
        .mtime_ns = dir ? 0 : (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec,
        .ino = (uint64_t)sb->st_ino,
    };
}

/* Names that are not code: caches and editors' scratch files. */
static bool ignored(const char *name)
{
    size_t n = strlen(name);
    if (strcmp(name, "__pycache__") == 0 || strcmp(name, ".git") == 0 || strcmp(name, "4913") == 0)
        return true;
    if (n && name[n - 1] == '~')
        return true;
    if (name[0] == '.' && name[1] == '#')
        return true;
    if (name[0] == '.' && n > 4 &&
        (strcmp(name + n - 4, ".swp") == 0 || strcmp(name + n - 4, ".swx") == 0 || strcmp(name + n - 4, ".swo") == 0))
        return true;
    return false;
}

/* a + "/" + b (just a or b when the other is empty) into out; false when
 * it does not fit, and such a path is left alone. */
static bool path_join(char *out, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    bool slash = la && lb;
    if (la + slash + lb + 1 > cap)
        return false;
    memcpy(out, a, la);
    if (slash)
        out[la] = '/';
    memcpy(out + la + slash, b, lb + 1);
    return true;
}

static int name_cmp(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static int keep_name(const struct dirent *d)
{
    return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0 && !ignored(d->d_name);
}

typedef struct scan_out {
    hot_snap_t snap;
    EVP_MD_CTX *md;   /* NULL: stat only */
    int64_t size;     /* regular files' bytes */
    bool too_big;
} scan_out_t;

static void hash_file(EVP_MD_CTX *md, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        EVP_DigestUpdate(md, "?", 1);
        return;
    }
    char chunk[65536];
    ssize_t r;
    while ((r = read(fd, chunk, sizeof chunk)) > 0)
        EVP_DigestUpdate(md, chunk, (size_t)r);
    close(fd);
}

/* Depth first, names in strcmp order, so the digest does not depend on
 * the order the file system lists them in. */
static void scan_dir(const char *root, const char *rel, scan_out_t *o, int depth)
{
    char path[PATH_MAX];
    if (!path_join(path, sizeof path, root, rel))
        return;
    struct dirent **names = NULL;
    int n = scandir(path, &names, keep_name, name_cmp);
    for (int i = 0; i < n; i++) {
        char crel[PATH_MAX], cpath[PATH_MAX];
        bool fits = path_join(crel, sizeof crel, rel, names[i]->d_name) && path_join(cpath, sizeof cpath, root, crel);
        free(names[i]);
        struct stat sb;
        if (!fits || o->too_big || lstat(cpath, &sb) != 0)
            continue;
        if (o->snap.n >= HOT_MAX_ENTRIES) {
            o->too_big = true;
            continue;
        }
        snap_push(&o->snap, entry_of(crel, &sb));
        if (o->md) {
            char kind = S_ISDIR(sb.st_mode) ? 'D' : S_ISLNK(sb.st_mode) ? 'L' : S_ISREG(sb.st_mode) ? 'F' : 'O';
            EVP_DigestUpdate(o->md, &kind, 1);
            EVP_DigestUpdate(o->md, crel, strlen(crel) + 1);
            if (S_ISREG(sb.st_mode)) {
                char len[32];
                int l = snprintf(len, sizeof len, "%lld", (long long)sb.st_size);
                EVP_DigestUpdate(o->md, len, (size_t)l + 1);
                hash_file(o->md, cpath);
            } else if (S_ISLNK(sb.st_mode)) {
                char target[PATH_MAX];
                ssize_t tl = readlink(cpath, target, sizeof target - 1);
                EVP_DigestUpdate(o->md, target, tl > 0 ? (size_t)tl : 0);
                EVP_DigestUpdate(o->md, "", 1);
            }
        }
        if (S_ISREG(sb.st_mode))
            o->size += (int64_t)sb.st_size;
        if (S_ISDIR(sb.st_mode) && depth < 64)
            scan_dir(root, crel, o, depth + 1);
    }
    free(names);
}

/* The whole tree under root: its sorted snapshot and, with md, its digest. */
static void scan_tree(const char *root, scan_out_t *o)
{
    scan_dir(root, "", o, 0);
    if (o->snap.n)
        qsort(o->snap.v, o->snap.n, sizeof *o->snap.v, entry_cmp);
}

static void digest_out(EVP_MD_CTX *md, lambda_code_t *code)
{
    unsigned char d[32];
    unsigned int dl = 0;
    EVP_DigestFinal_ex(md, d, &dl);
    kyoka_hex(d, 32, code->sha_hex);
    arena_t a;
    arena_init(&a);
    snprintf(code->sha_b64, sizeof code->sha_b64, "%s", base64_encode(&a, d, 32));
    arena_destroy(&a);
}

/* ==== checking a path ==== */

bool lambda__hot_bucket(const char *bucket)
{
    return bucket && (strcmp(bucket, "hot-reload") == 0 || strcmp(bucket, "__local__") == 0);
}

static bool under_root(const char *real, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return true;
    return strncmp(real, root, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

static bool readable_by_sandbox(const struct stat *sb)
{
    mode_t need_r, need_x;
    if (sb->st_uid == HOT_SANDBOX_UID) {
        need_r = S_IRUSR;
        need_x = S_IXUSR;
    } else if (sb->st_gid == HOT_SANDBOX_GID) {
        need_r = S_IRGRP;
        need_x = S_IXGRP;
    } else {
        need_r = S_IROTH;
        need_x = S_IXOTH;
    }
    return (sb->st_mode & need_r) && (sb->st_mode & need_x);
}

const char *lambda__hot_path_or_fail(svc_call_t *c, const char *key, const char *what)
{
    lambda_state_t *st = c->state;
    const char *err = "InvalidParameterValueException";
    if (!key || key[0] != '/') {
        svc_error(c, err, 400,
                  "With S3Bucket hot-reload, %s must be the absolute path of a directory on the host kyoka runs "
                  "on, got '%s'.",
                  what, key ? key : "");
        return NULL;
    }
    struct stat sb;
    if (stat(key, &sb) != 0) {
        svc_error(c, err, 400, "Cannot serve code from %s for hot reloading: %s.", key, strerror(errno));
        return NULL;
    }
    if (!S_ISDIR(sb.st_mode)) {
        svc_error(c, err, 400, "Cannot serve code from %s for hot reloading: it is not a directory.", key);
        return NULL;
    }
    char real[PATH_MAX];
    if (!realpath(key, real)) {
        svc_error(c, err, 400, "Cannot serve code from %s for hot reloading: %s.", key, strerror(errno));
        return NULL;
    }
    if (access(real, R_OK | X_OK) != 0) {
        svc_error(c, err, 400, "Cannot serve code from %s for hot reloading: kyoka cannot read it (%s).", key,
                  strerror(errno));
        return NULL;
    }
    if (geteuid() == 0 && !readable_by_sandbox(&sb)) {
        svc_error(c, err, 400,
                  "Cannot serve code from %s for hot reloading: it is not readable by the user functions run as "
                  "(uid %d; mode %04o, owner %d). Make it world-readable (chmod o+rx).",
                  key, HOT_SANDBOX_UID, (unsigned)(sb.st_mode & 07777), (int)sb.st_uid);
        return NULL;
    }
    if (st->nhot_roots) {
        bool ok = false;
        buf_t list;
        buf_init(&list, 1 << 16);
        for (size_t i = 0; i < st->nhot_roots; i++) {
            ok = ok || under_root(real, st->hot_roots[i]);
            buf_appendf(&list, "%s%s", i ? ", " : "", st->hot_roots[i]);
        }
        if (!ok) {
            if (strcmp(real, key) != 0)
                svc_error(c, err, 400,
                          "Cannot serve code from %s for hot reloading: it resolves to %s, which is outside the "
                          "directories kyoka may mount (--hot-reload-roots %s).",
                          key, real, list.data);
            else
                svc_error(c, err, 400,
                          "Cannot serve code from %s for hot reloading: it is outside the directories kyoka may "
                          "mount (--hot-reload-roots %s).",
                          key, list.data);
            buf_destroy(&list);
            return NULL;
        }
        buf_destroy(&list);
    }
    return arena_strdup(c->arena, real);
}

/* ==== ingesting: the digest for CreateFunction's answer ==== */

typedef struct hot_ingest {
    uv_work_t w;
    svc_call_t *c;    /* NULL once the client went away */
    char *dir;
    lambda_code_done_fn done;
    void *ctx;
    lambda_code_t code;
} hot_ingest_t;

static void ingest_work(uv_work_t *w)
{
    hot_ingest_t *j = container_of(w, hot_ingest_t, w);
    scan_out_t o = {.md = EVP_MD_CTX_new()};
    EVP_DigestInit_ex(o.md, EVP_sha256(), NULL);
    scan_tree(j->dir, &o);
    digest_out(o.md, &j->code);
    EVP_MD_CTX_free(o.md);
    j->code.size = o.size;
    snap_free(&o.snap);
}

static void ingest_after(uv_work_t *w, int status)
{
    hot_ingest_t *j = container_of(w, hot_ingest_t, w);
    svc_call_t *c = j->c;
    if (c) {
        c->on_abort = NULL;
        c->parked = NULL;
        int rc = 0;
        if (status != 0) {
            svc_error(c, "ServiceException", 500, "kyoka could not read %s", j->dir);
            rc = KYOKA_EIO;
        }
        j->code.hot_dir = j->dir;
        j->done(c, rc, &j->code, j->ctx);
    }
    free(j->dir);
    free(j);
}

static void on_ingest_abort(svc_call_t *c)
{
    hot_ingest_t *j = c->parked;
    if (j)
        j->c = NULL;
}

int lambda__hot_ingest(lambda_state_t *st, svc_call_t *c, const char *dir, lambda_code_done_fn done, void *ctx)
{
    (void)st;
    hot_ingest_t *j = xcalloc(1, sizeof *j);
    j->c = c;
    j->dir = xstrdup(dir);
    j->done = done;
    j->ctx = ctx;
    c->on_abort = on_ingest_abort;
    c->parked = j;
    if (uv_queue_work(c->ctx->loop, &j->w, ingest_work, ingest_after) != 0) {
        c->on_abort = NULL;
        c->parked = NULL;
        free(j->dir);
        free(j);
        svc_error(c, "ServiceException", 500, "kyoka could not queue the code for processing");
        return -1;
    }
    return 0;
}

/* ==== sources: one watched tree ==== */

typedef struct hot_watch {
    uv_fs_event_t h;
    lambda_hot_t *src;
    char *rel;        /* "" for the root */
    uint64_t ino;
    bool keep;        /* reconcile mark */
} hot_watch_t;

struct lambda_hot {
    lambda_state_t *st;
    char *dir;                /* real path */
    uint64_t root_ino;
    bool root_missing;
    hot_watch_t **w;
    size_t nw, capw;
    uv_timer_t timer;         /* debounce, and the retry while the root is missing */
    int handles;              /* open handles plus a scan in flight: freed at 0 once closing */
    bool closing;
    bool used;                /* lambda__hot_sync's mark */
    hot_snap_t snap;          /* the tree as the loop last saw it */
    bool snap_ok;
    bool scan_overtaken; /* first_scan_now ran while the first scan was out */
    char **dirty;
    size_t ndirty;
    bool dirty_all;
    uint64_t first_dirty_ms;
    bool scanning, scan_again, dirty_during_scan;
    bool poll_mode;           /* over the watch limit: check modification times instead */
    bool hashed;
    lambda_code_t code;       /* the tree's digest and size, once hashed */
    char *notice;             /* for the function's log, or NULL */
    lambda_hot_t *next;
};

static void src_maybe_free(lambda_hot_t *s)
{
    if (!s->closing || s->handles > 0)
        return;
    for (size_t i = 0; i < s->ndirty; i++)
        free(s->dirty[i]);
    free(s->dirty);
    free(s->w);
    snap_free(&s->snap);
    free(s->notice);
    free(s->dir);
    free(s);
}

static void on_watch_closed(uv_handle_t *h)
{
    hot_watch_t *w = container_of((uv_fs_event_t *)h, hot_watch_t, h);
    lambda_hot_t *s = w->src;
    free(w->rel);
    free(w);
    s->handles--;
    src_maybe_free(s);
}

static void watch_close(lambda_hot_t *s, size_t i)
{
    hot_watch_t *w = s->w[i];
    s->w[i] = s->w[--s->nw];
    uv_close((uv_handle_t *)&w->h, on_watch_closed);
}

static void watches_close_all(lambda_hot_t *s)
{
    while (s->nw)
        watch_close(s, s->nw - 1);
}

static int max_watches(void)
{
    /* A test hook: make the watch limit small enough to reach. */
    const char *v = getenv("KYOKA_HOT_RELOAD_MAX_WATCHES");
    return v ? atoi(v) : 0;
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status);
static void queue_scan(lambda_hot_t *s);
static void src_changed(lambda_hot_t *s);

static void enter_poll_mode(lambda_hot_t *s, int rc)
{
    if (s->poll_mode)
        return;
    s->poll_mode = true;
    watches_close_all(s);
    char limit[32] = "?";
    FILE *f = fopen("/proc/sys/fs/inotify/max_user_watches", "r");
    if (f) {
        if (!fgets(limit, sizeof limit, f))
            snprintf(limit, sizeof limit, "?");
        limit[strcspn(limit, "\n")] = '\0';
        fclose(f);
    }
    free(s->notice);
    s->notice = xasprintf("kyoka: hot reload: %s has more directories than kyoka may watch (%s; "
                          "fs.inotify.max_user_watches is %s): falling back to comparing the tree's modification "
                          "times before each invocation, which costs a walk of the tree per invocation. Raise the "
                          "limit (sysctl fs.inotify.max_user_watches=N) and update the function to watch again.",
                          s->dir, uv_strerror(rc), limit);
    log_warn("lambda: %s", s->notice);
    /* New environments, so that their logs carry the notice. */
    src_changed(s);
}

/* Watch one directory (rel "" is the root). */
static void watch_add(lambda_hot_t *s, const char *rel, uint64_t ino)
{
    if (s->poll_mode)
        return;
    int cap = max_watches();
    if (cap > 0 && (int)s->nw >= cap) {
        enter_poll_mode(s, UV_ENOSPC);
        return;
    }
    hot_watch_t *w = xcalloc(1, sizeof *w);
    w->src = s;
    w->rel = xstrdup(rel);
    w->ino = ino;
    uv_fs_event_init(s->st->ctx->loop, &w->h);
    char path[PATH_MAX];
    int rc = path_join(path, sizeof path, s->dir, rel) ? uv_fs_event_start(&w->h, on_fs_event, path, 0) : UV_ENAMETOOLONG;
    s->handles++;
    if (rc != 0) {
        uv_close((uv_handle_t *)&w->h, on_watch_closed);
        if (rc == UV_ENOSPC)
            enter_poll_mode(s, rc);
        /* Otherwise it went away in between: the next scan says so. */
        return;
    }
    uv_unref((uv_handle_t *)&w->h);
    if (s->nw == s->capw) {
        s->capw = s->capw ? s->capw * 2 : 16;
        s->w = xrealloc(s->w, s->capw * sizeof *s->w);
    }
    s->w[s->nw++] = w;
}

static ssize_t watch_find(lambda_hot_t *s, const char *rel)
{
    for (size_t i = 0; i < s->nw; i++)
        if (strcmp(s->w[i]->rel, rel) == 0)
            return (ssize_t)i;
    return -1;
}

/* Watch what the scan found. A watch on a directory that was replaced (a
 * new inode under the same name) watches the old one: start it again. With
 * prune, directories that are gone lose their watches too. Returns whether
 * a watch was added. */
static bool watches_reconcile(lambda_hot_t *s, const hot_snap_t *snap, bool prune)
{
    if (s->poll_mode)
        return false;
    for (size_t i = 0; i < s->nw; i++)
        s->w[i]->keep = s->w[i]->rel[0] == '\0';
    bool added = false;
    for (size_t i = 0; i < snap->n && !s->poll_mode; i++) {
        const hot_entry_t *e = &snap->v[i];
        if (!S_ISDIR(e->mode))
            continue;
        ssize_t k = watch_find(s, e->rel);
        if (k >= 0 && s->w[k]->ino == e->ino) {
            s->w[k]->keep = true;
            continue;
        }
        if (k >= 0)
            watch_close(s, (size_t)k);
        size_t before = s->nw;
        watch_add(s, e->rel, e->ino);
        if (s->nw > before)
            s->w[s->nw - 1]->keep = true;
        added = true;
    }
    if (prune)
        for (size_t i = s->nw; i-- > 0;)
            if (!s->w[i]->keep)
                watch_close(s, i);
    return added;
}

/* ==== applying a change ==== */

static bool layers_use(lambda_state_t *st, json_t *layers, const char *dir)
{
    if (!st->nhot_layers)
        return false;
    size_t i;
    json_t *e;
    json_array_foreach(layers, i, e)
    {
        lambda_layer_t *l = lambda__layer_by_arn(st, json_string_value(json_object_get(e, "Arn")));
        if (l && l->hot_dir && strcmp(l->hot_dir, dir) == 0)
            return true;
    }
    return false;
}

static bool version_uses(lambda_state_t *st, const lambda_version_t *v, const char *dir)
{
    return (v->hot_dir && strcmp(v->hot_dir, dir) == 0) || layers_use(st, json_object_get(v->config, "Layers"), dir);
}

void lambda__retire_version(lambda_state_t *st, const lambda_fn_t *fn, const lambda_version_t *v)
{
    if (!st->has_invoker || !st->invoker.retire)
        return;
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s/%s/%s#", fn->region, fn->name, v->version);
    st->invoker.retire(st->invoker.rt, prefix);
}

void lambda__bump_versions(lambda_state_t *st, lambda_fn_t *fn, const char *dir)
{
    /* Versions that shared a generation share the new one, so PublishVersion
     * still sees "nothing changed since the newest version" where that held. */
    uint64_t old_latest = fn->versions[0]->generation, new_latest = 0;
    for (size_t i = 0; i < fn->nversions; i++) {
        lambda_version_t *v = fn->versions[i];
        if (dir && !version_uses(st, v, dir))
            continue;
        uint64_t g;
        if (v->generation == old_latest) {
            if (!new_latest)
                new_latest = ++st->next_generation;
            g = new_latest;
        } else {
            g = ++st->next_generation;
        }
        v->generation = g;
        lambda__retire_version(st, fn, v);
    }
}

static void src_changed(lambda_hot_t *s)
{
    lambda_state_t *st = s->st;
    for (lambda_fn_t *fn = st->fns; fn; fn = fn->next)
        for (size_t i = 0; i < fn->nversions; i++)
            if (version_uses(st, fn->versions[i], s->dir)) {
                lambda__bump_versions(st, fn, s->dir);
                break;
            }
}

/* The scan's digest into the configurations AWS shows (CodeSha256,
 * CodeSize of functions; Content of layers, and CodeSize in functions'
 * Layers). */
static void src_publish_digest(lambda_hot_t *s)
{
    lambda_state_t *st = s->st;
    for (lambda_layer_t *l = st->layers; l; l = l->next) {
        if (!l->hot_dir || strcmp(l->hot_dir, s->dir) != 0)
            continue;
        json_t *content = json_object_get(l->info, "Content");
        json_object_set_new(content, "CodeSha256", json_string(s->code.sha_b64));
        json_object_set_new(content, "CodeSize", json_integer(s->code.size));
        free(l->code_sha_hex);
        l->code_sha_hex = xstrdup(s->code.sha_hex);
        lambda__layer_save(st, l);
    }
    for (lambda_fn_t *fn = st->fns; fn; fn = fn->next) {
        bool touched = false;
        for (size_t i = 0; i < fn->nversions; i++) {
            lambda_version_t *v = fn->versions[i];
            if (v->hot_dir && strcmp(v->hot_dir, s->dir) == 0) {
                json_object_set_new(v->config, "CodeSha256", json_string(s->code.sha_b64));
                json_object_set_new(v->config, "CodeSize", json_integer(s->code.size));
                json_object_set_new(v->config, "_CodeShaHex", json_string(s->code.sha_hex));
                touched = true;
            }
            size_t k;
            json_t *e;
            json_array_foreach(json_object_get(v->config, "Layers"), k, e)
            {
                lambda_layer_t *l = st->nhot_layers ? lambda__layer_by_arn(st, json_string_value(json_object_get(e, "Arn"))) : NULL;
                if (l && l->hot_dir && strcmp(l->hot_dir, s->dir) == 0) {
                    json_object_set_new(e, "CodeSize", json_integer(s->code.size));
                    json_object_set_new(e, "_CodeShaHex", json_string(s->code.sha_hex));
                    touched = true;
                }
            }
        }
        if (touched)
            lambda__fn_save(st, fn);
    }
}

/* ==== scans on the pool ==== */

typedef struct scan_job {
    uv_work_t w;
    lambda_hot_t *src;
    char *dir;
    scan_out_t out;
    lambda_code_t code;
} scan_job_t;

static void scan_work(uv_work_t *w)
{
    scan_job_t *j = container_of(w, scan_job_t, w);
    j->out.md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(j->out.md, EVP_sha256(), NULL);
    scan_tree(j->dir, &j->out);
    digest_out(j->out.md, &j->code);
    EVP_MD_CTX_free(j->out.md);
    j->out.md = NULL;
    j->code.size = j->out.size;
}

static void scan_after(uv_work_t *w, int status)
{
    scan_job_t *j = container_of(w, scan_job_t, w);
    lambda_hot_t *s = j->src;
    s->handles--;
    s->scanning = false;
    if (s->closing || status != 0) {
        snap_free(&j->out.snap);
        free(j->dir);
        free(j);
        src_maybe_free(s);
        return;
    }
    if (j->out.too_big)
        log_warn("lambda: hot reload: %s has more than %d entries; only the first are watched and hashed", s->dir,
                 HOT_MAX_ENTRIES);
    bool quiet = !s->dirty_during_scan && !s->ndirty && !s->dirty_all;
    if (quiet && s->scan_overtaken) {
        /* first_scan_now walked the tree after this scan began: its
         * snapshot is the newer one, and a difference is not a change. */
    } else if (quiet) {
        /* Something the events did not tell (a file written in a new
         * directory before it was watched, or any change in poll mode
         * between invocations) is a change all the same. */
        if (s->snap_ok && !snap_equal(&s->snap, &j->out.snap, false))
            src_changed(s);
        snap_free(&s->snap);
        s->snap = j->out.snap;
        j->out.snap = (hot_snap_t){0};
        s->snap_ok = true;
        /* A directory watched only now may have been written before its
         * watch: one more scan, with every watch in place, settles it. */
        if (watches_reconcile(s, &s->snap, true))
            s->scan_again = true;
    } else {
        watches_reconcile(s, &j->out.snap, false);
        s->scan_again = true;
    }
    s->dirty_during_scan = false;
    s->scan_overtaken = false;
    if (!s->hashed || strcmp(s->code.sha_hex, j->code.sha_hex) != 0 || s->code.size != j->code.size) {
        s->code = j->code;
        s->hashed = true;
        src_publish_digest(s);
    }
    snap_free(&j->out.snap);
    free(j->dir);
    free(j);
    if (s->scan_again) {
        s->scan_again = false;
        queue_scan(s);
    }
}

static void queue_scan(lambda_hot_t *s)
{
    if (s->closing)
        return;
    if (s->scanning) {
        s->scan_again = true;
        return;
    }
    scan_job_t *j = xcalloc(1, sizeof *j);
    j->src = s;
    j->dir = xstrdup(s->dir);
    if (uv_queue_work(s->st->ctx->loop, &j->w, scan_work, scan_after) != 0) {
        free(j->dir);
        free(j);
        return;
    }
    s->scanning = true;
    s->handles++;
}

/* ==== events ==== */

static void dirty_clear(lambda_hot_t *s)
{
    for (size_t i = 0; i < s->ndirty; i++)
        free(s->dirty[i]);
    s->ndirty = 0;
    s->dirty_all = false;
}

static void on_timer(uv_timer_t *t);

static void arm_timer(lambda_hot_t *s)
{
    uint64_t now = uv_now(s->st->ctx->loop);
    uint64_t due = HOT_DEBOUNCE_MS;
    if (now - s->first_dirty_ms + due > HOT_DEBOUNCE_MAX_MS)
        due = now - s->first_dirty_ms >= HOT_DEBOUNCE_MAX_MS ? 0 : HOT_DEBOUNCE_MAX_MS - (now - s->first_dirty_ms);
    uv_timer_start(&s->timer, on_timer, due, 0);
}

static void mark_dirty(lambda_hot_t *s, const char *rel)
{
    if (!s->ndirty && !s->dirty_all)
        s->first_dirty_ms = uv_now(s->st->ctx->loop);
    if (s->scanning)
        s->dirty_during_scan = true;
    if (!rel || s->dirty_all || s->ndirty >= HOT_DIRTY_MAX) {
        s->dirty_all = true;
    } else {
        for (size_t i = 0; i < s->ndirty; i++)
            if (strcmp(s->dirty[i], rel) == 0)
                goto arm;
        if (!s->dirty || (s->ndirty & (s->ndirty - 1)) == 0)
            s->dirty = xrealloc(s->dirty, (s->ndirty ? s->ndirty * 2 : 4) * sizeof *s->dirty);
        s->dirty[s->ndirty++] = xstrdup(rel);
    }
arm:
    arm_timer(s);
}

static void on_fs_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    (void)events;
    hot_watch_t *w = container_of(h, hot_watch_t, h);
    lambda_hot_t *s = w->src;
    if (s->closing)
        return;
    if (status < 0 || !filename) {
        mark_dirty(s, NULL);
        return;
    }
    if (ignored(filename))
        return;
    char rel[PATH_MAX];
    mark_dirty(s, path_join(rel, sizeof rel, w->rel, filename) ? rel : NULL);
}

/* Drop entries under rel/ (a directory that is gone). */
static bool snap_drop_under(hot_snap_t *s, const char *rel)
{
    size_t n = strlen(rel), o = 0;
    bool any = false;
    for (size_t i = 0; i < s->n; i++) {
        if (strncmp(s->v[i].rel, rel, n) == 0 && s->v[i].rel[n] == '/') {
            free(s->v[i].rel);
            any = true;
        } else {
            s->v[o++] = s->v[i];
        }
    }
    s->n = o;
    return any;
}

/* The root itself: still there, still the same directory? */
static bool root_check(lambda_hot_t *s)
{
    struct stat sb;
    bool there = stat(s->dir, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (there && !s->root_missing && (uint64_t)sb.st_ino == s->root_ino)
        return true;
    /* Replaced or gone (rm -rf dist && build): start over. */
    watches_close_all(s);
    snap_free(&s->snap);
    s->snap_ok = false;
    s->root_missing = !there;
    if (there) {
        s->root_ino = (uint64_t)sb.st_ino;
        watch_add(s, "", s->root_ino);
    }
    return false;
}

/* Apply what the events said: true when the tree changed. */
static bool flush(lambda_hot_t *s)
{
    if (!s->ndirty && !s->dirty_all && !s->root_missing)
        return false;
    uv_timer_stop(&s->timer);
    bool was_missing = s->root_missing;
    bool changed = s->dirty_all || !s->snap_ok;
    bool rescan = changed;
    if (!root_check(s)) {
        changed = rescan = !s->root_missing || !was_missing;
        if (s->root_missing)
            uv_timer_start(&s->timer, on_timer, HOT_MISSING_RETRY_MS, 0);
    } else if (s->snap_ok && !s->dirty_all) {
        for (size_t i = 0; i < s->ndirty; i++) {
            const char *rel = s->dirty[i];
            char path[PATH_MAX];
            struct stat sb;
            bool now = path_join(path, sizeof path, s->dir, rel) && lstat(path, &sb) == 0;
            size_t at = 0;
            ssize_t k = snap_find(&s->snap, rel, &at);
            if (!now && k < 0)
                continue; /* made and removed in one burst (an editor's probe file) */
            if (now && k >= 0) {
                hot_entry_t e = entry_of(rel, &sb);
                bool same = entry_same(&e, &s->snap.v[k]) && !s->snap.v[k].racy;
                if (same) {
                    free(e.rel);
                    continue;
                }
                bool was_dir = S_ISDIR(s->snap.v[k].mode);
                free(s->snap.v[k].rel);
                s->snap.v[k] = e;
                if (was_dir != S_ISDIR(sb.st_mode)) {
                    if (was_dir)
                        snap_drop_under(&s->snap, rel);
                    rescan = true;
                }
                /* A directory whose entry changed but that is the same
                 * directory (same inode, mode) compared equal above. */
                changed = true;
                continue;
            }
            changed = true;
            if (now) {
                hot_entry_t e = entry_of(rel, &sb);
                s->snap.v = s->snap.n == s->snap.cap ? xrealloc(s->snap.v, (s->snap.cap = s->snap.cap ? s->snap.cap * 2 : 64) * sizeof *s->snap.v) : s->snap.v;
                memmove(&s->snap.v[at + 1], &s->snap.v[at], (s->snap.n - at) * sizeof *s->snap.v);
                s->snap.v[at] = e;
                s->snap.n++;
                if (S_ISDIR(sb.st_mode)) {
                    /* Watch it now, so what is written in it from here on is
                     * seen; the scan finds what already is. */
                    watch_add(s, rel, (uint64_t)sb.st_ino);
                    rescan = true;
                }
            } else {
                bool was_dir = S_ISDIR(s->snap.v[k].mode);
                free(s->snap.v[k].rel);
                memmove(&s->snap.v[k], &s->snap.v[k + 1], (s->snap.n - (size_t)k - 1) * sizeof *s->snap.v);
                s->snap.n--;
                if (was_dir)
                    snap_drop_under(&s->snap, rel);
            }
        }
    }
    dirty_clear(s);
    if (changed) {
        src_changed(s);
        rescan = true; /* for the new digest */
    }
    if (rescan && !s->root_missing)
        queue_scan(s);
    return changed;
}

static void on_timer(uv_timer_t *t)
{
    lambda_hot_t *s = container_of(t, lambda_hot_t, timer);
    if (!s->closing)
        flush(s);
}

/* Over the watch limit: compare the whole tree's metadata now. */
static void poll_check(lambda_hot_t *s)
{
    scan_out_t o = {0};
    scan_tree(s->dir, &o);
    if (!s->snap_ok || !snap_equal(&s->snap, &o.snap, true)) {
        if (s->snap_ok)
            src_changed(s);
        snap_free(&s->snap);
        s->snap = o.snap;
        o.snap = (hot_snap_t){0};
        s->snap_ok = true;
        queue_scan(s);
    }
    snap_free(&o.snap);
}

/* ==== the service's side ==== */

static lambda_hot_t *src_lookup(lambda_state_t *st, const char *dir)
{
    for (lambda_hot_t *s = st->hot; s; s = s->next)
        if (strcmp(s->dir, dir) == 0)
            return s;
    return NULL;
}

static lambda_hot_t *src_get(lambda_state_t *st, const char *dir)
{
    lambda_hot_t *s = src_lookup(st, dir);
    if (s)
        return s;
    s = xcalloc(1, sizeof *s);
    s->st = st;
    s->dir = xstrdup(dir);
    uv_timer_init(st->ctx->loop, &s->timer);
    uv_unref((uv_handle_t *)&s->timer);
    s->handles = 1;
    s->next = st->hot;
    st->hot = s;
    struct stat sb;
    if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        s->root_ino = (uint64_t)sb.st_ino;
        watch_add(s, "", s->root_ino);
        queue_scan(s);
    } else {
        log_warn("lambda: hot reload: %s is not there; functions served from it fail until it is", dir);
        s->root_missing = true;
        uv_timer_start(&s->timer, on_timer, HOT_MISSING_RETRY_MS, 0);
    }
    return s;
}

static void on_timer_closed(uv_handle_t *h)
{
    lambda_hot_t *s = container_of((uv_timer_t *)h, lambda_hot_t, timer);
    s->handles--;
    src_maybe_free(s);
}

static void src_close(lambda_hot_t *s)
{
    s->closing = true;
    watches_close_all(s);
    uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}

void lambda__hot_sync(lambda_state_t *st)
{
    if (st->stopping)
        return;
    for (lambda_hot_t *s = st->hot; s; s = s->next)
        s->used = false;
    st->nhot_layers = 0;
    for (lambda_layer_t *l = st->layers; l; l = l->next)
        if (l->hot_dir) {
            src_get(st, l->hot_dir)->used = true;
            st->nhot_layers++;
        }
    for (lambda_fn_t *fn = st->fns; fn; fn = fn->next)
        for (size_t i = 0; i < fn->nversions; i++)
            if (fn->versions[i]->hot_dir)
                src_get(st, fn->versions[i]->hot_dir)->used = true;
    for (lambda_hot_t **pp = &st->hot; *pp;) {
        lambda_hot_t *s = *pp;
        if (s->used) {
            pp = &s->next;
            continue;
        }
        *pp = s->next;
        src_close(s);
    }
}

void lambda__hot_stop(lambda_state_t *st)
{
    while (st->hot) {
        lambda_hot_t *s = st->hot;
        st->hot = s->next;
        src_close(s);
    }
}

/* Events the kernel has queued that the loop has not read yet. A write
 * that returned before the client sent its Invoke has its event queued
 * (inotify queues it inside the write), but when both are ready in one
 * loop turn the request may be handled first. */
static bool events_unread(uv_loop_t *loop)
{
#ifdef __linux__
    /* libuv's one inotify descriptor for the loop (uv/linux.h): polled,
     * never read here, so libuv still gets every event. */
    if (loop->inotify_fd < 0)
        return false;
    struct pollfd p = {.fd = loop->inotify_fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
#else
    (void)loop;
    return false;
#endif
}

/* The first scan has not come back yet (the thread pool is busy): walk the
 * tree now, so that the first invocation already runs with every watch in
 * place, or knows that the tree is past the watch limit and says so. */
static void first_scan_now(lambda_hot_t *s)
{
    scan_out_t o = {0};
    scan_tree(s->dir, &o);
    s->scan_overtaken = s->scanning;
    snap_free(&s->snap);
    s->snap = o.snap;
    o.snap = (hot_snap_t){0};
    s->snap_ok = true;
    watches_reconcile(s, &s->snap, true);
    snap_free(&o.snap);
}

static void before_one(lambda_state_t *st, const char *dir, const char **notice)
{
    lambda_hot_t *s = src_lookup(st, dir);
    if (!s)
        return;
    if (!s->snap_ok && !s->root_missing && !s->poll_mode && !s->ndirty && !s->dirty_all)
        first_scan_now(s);
    if (s->poll_mode || (!s->root_missing && s->snap_ok && events_unread(st->ctx->loop))) {
        /* Walk the tree now rather than run code an unread event may
         * have changed; the events, read later, then find it current. */
        flush(s);
        poll_check(s);
    } else {
        flush(s);
    }
    if (s->notice)
        *notice = s->notice;
}

const char *lambda__hot_before_invoke(lambda_state_t *st, lambda_fn_t *fn, lambda_version_t *v)
{
    (void)fn;
    const char *notice = NULL;
    if (v->hot_dir)
        before_one(st, v->hot_dir, &notice);
    if (st->nhot_layers) {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(v->config, "Layers"), i, e)
        {
            lambda_layer_t *l = lambda__layer_by_arn(st, json_string_value(json_object_get(e, "Arn")));
            if (l && l->hot_dir)
                before_one(st, l->hot_dir, &notice);
        }
    }
    return notice;
}

const char *lambda__hot_opt_dir(lambda_state_t *st, json_t *layers)
{
    if (!st->nhot_layers || json_array_size(layers) != 1)
        return NULL;
    lambda_layer_t *l = lambda__layer_by_arn(st, json_string_value(json_object_get(json_array_get(layers, 0), "Arn")));
    return l ? l->hot_dir : NULL;
}

static bool overlaps(const char *a, const char *b) { return under_root(a, b) || under_root(b, a); }

bool lambda__hot_layers_check(svc_call_t *c, const char *code_dir, json_t *layers)
{
    lambda_state_t *st = c->state;
    if (!st->nhot_layers)
        return true;
    size_t i;
    json_t *e;
    json_array_foreach(layers, i, e)
    {
        const char *arn = json_string_value(json_object_get(e, "Arn"));
        lambda_layer_t *l = lambda__layer_by_arn(st, arn);
        if (!l || !l->hot_dir)
            continue;
        if (json_array_size(layers) > 1) {
            /* Layers are merged into one /opt by copying; a live directory
             * is mounted there as it is, so it can be the only one. */
            svc_error(c, "InvalidParameterValueException", 400,
                      "Layer %s is served from %s for hot reloading: a function can use it only as its one layer "
                      "(it is mounted at /opt as it is, not merged with others).",
                      arn, l->hot_dir);
            return false;
        }
        if (code_dir && overlaps(code_dir, l->hot_dir)) {
            svc_error(c, "InvalidParameterValueException", 400,
                      "Layer %s is served from %s, which overlaps the function's code directory %s: one tree "
                      "would be both /var/task and /opt. Serve the layer from a directory of its own.",
                      arn, l->hot_dir, code_dir);
            return false;
        }
    }
    return true;
}

json_t *lambda__hot_describe(lambda_state_t *st, const char *dir)
{
    lambda_hot_t *s = src_lookup(st, dir);
    json_t *o = json_pack("{s:s}", "dir", dir);
    if (s) {
        json_object_set_new(o, "watching", json_string(s->root_missing ? "missing" : s->poll_mode ? "mtime-poll" : "inotify"));
        json_object_set_new(o, "watches", json_integer((json_int_t)s->nw));
        json_object_set_new(o, "entries", json_integer((json_int_t)s->snap.n));
    }
    return o;
}
