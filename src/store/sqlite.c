/*
 * The SQLite backend of store.h: one connection on the loop thread, a batch
 * transaction per loop turn, commits grouped behind one fsync on the thread
 * pool. See store.h for the design.
 *
 * Durability: the connection runs with synchronous=OFF so COMMIT only
 * write()s WAL frames; the pool job then fdatasync()s the WAL file, and only
 * after that do waiting responses go out. Checkpoints run on a pool thread
 * with their own connection in synchronous=FULL, which syncs the WAL before
 * copying and the database after, so a checkpoint never loses a commit.
 *
 * WAL size: a passive checkpoint copies frames without stopping writers, but
 * SQLite only starts the WAL over when a writer finds every frame copied,
 * which under a steady load never happens: the WAL grew past 700 MB in
 * thirteen seconds of the SQS bench. So once it holds STORE_WAL_RESTART_FRAMES
 * frames, the next checkpoint runs in RESTART mode: it holds writers off
 * (the loop waits in BEGIN IMMEDIATE) while it copies what the passive ones
 * left, and the following batch writes from the start of the file again.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_STMT_CACHE 256
#define STORE_CHECKPOINT_COMMITS 4000 /* a passive checkpoint every 4000 batches */
#define STORE_WAL_RESTART_FRAMES 16384 /* 64 MiB of 4 KiB pages */
#define STORE_RESTART_LEFT_FRAMES 512   /* copied with writers held off */

typedef struct waiter {
    store_durable_cb cb;
    void *data;
} waiter_t;

typedef struct waitlist {
    waiter_t *items;
    size_t n, cap;
} waitlist_t;

typedef struct stmt_slot {
    const char *sql;
    sqlite3_stmt *stmt;
} stmt_slot_t;

typedef struct sync_job {
    uv_work_t work;
    store_t *store;
    waitlist_t waiters;
    int rc;
} sync_job_t;

typedef struct ckpt_job {
    uv_work_t work;
    store_t *store;
    bool restart; /* SQLITE_CHECKPOINT_RESTART: the WAL starts over */
} ckpt_job_t;

struct store {
    uv_loop_t *loop;
    sqlite3 *db;
    char *db_path;
    char *wal_path;
    bool durable;
    bool in_txn;          /* the batch transaction is open */
    int savepoint_depth;
    uv_check_t check;     /* end of loop turn: commit the batch */
    uv_idle_t idle;       /* active while a batch is open */
    waitlist_t pending;   /* waiting on the open batch */
    waitlist_t committed; /* committed, waiting for the in-flight fsync's successor */
    bool sync_running;
    bool ckpt_running;
    int wal_fd;
    int fail_commit_in;
    uint64_t commits, fsyncs;
    uint64_t commits_since_ckpt;
    int wal_frames;         /* frames in the WAL after the last commit */
    int wal_restart_frames; /* STORE_WAL_RESTART_FRAMES, or a test's */
    uint64_t wal_restarts;
    stmt_slot_t stmts[STORE_STMT_CACHE];
};

static void waitlist_add(waitlist_t *w, store_durable_cb cb, void *data)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->items = xrealloc(w->items, w->cap * sizeof *w->items);
    }
    w->items[w->n++] = (waiter_t){cb, data};
}

static void waitlist_fire(waitlist_t *w, int status)
{
    /* Callbacks may add new waiters to other lists; this list is detached
     * by the caller before firing. */
    for (size_t i = 0; i < w->n; i++)
        w->items[i].cb(w->items[i].data, status);
    free(w->items);
    *w = (waitlist_t){0};
}

sqlite3 *store_db(store_t *s) { return s->db; }
bool store_is_durable(const store_t *s) { return s->durable; }
const char *store_path(const store_t *s) { return s->db_path; }
uint64_t store_commits(const store_t *s) { return s->commits; }
uint64_t store_fsyncs(const store_t *s) { return s->fsyncs; }
void store_fail_commit_after(store_t *s, int n) { s->fail_commit_in = n; }
void store_set_wal_restart_frames(store_t *s, int frames) { s->wal_restart_frames = frames; }
uint64_t store_wal_restarts(const store_t *s) { return s->wal_restarts; }

int store_exec(store_t *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("store: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return KYOKA_ESTORE;
    }
    return 0;
}

/* For statements whose failure leaves nothing to do (a ROLLBACK after a
 * failed COMMIT, an optional pragma): store_exec already logged it. */
static void exec_best_effort(store_t *s, const char *sql)
{
    if (store_exec(s, sql) != 0)
        log_debug("store: best-effort statement failed: %s", sql);
}

sqlite3_stmt *store_stmt(store_t *s, const char *sql)
{
    size_t h = ((uintptr_t)sql >> 4) % STORE_STMT_CACHE;
    for (size_t i = 0; i < STORE_STMT_CACHE; i++) {
        stmt_slot_t *slot = &s->stmts[(h + i) % STORE_STMT_CACHE];
        if (slot->sql == sql) {
            sqlite3_reset(slot->stmt);
            sqlite3_clear_bindings(slot->stmt);
            return slot->stmt;
        }
        if (!slot->sql) {
            if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->stmt, NULL) != SQLITE_OK) {
                fprintf(stderr, "kyoka: bad SQL (%s): %s\n", sqlite3_errmsg(s->db), sql);
                abort();
            }
            slot->sql = sql;
            return slot->stmt;
        }
    }
    fprintf(stderr, "kyoka: statement cache full; raise STORE_STMT_CACHE\n");
    abort();
}

static int step_cached(store_t *s, const char *sql);

static void on_idle(uv_idle_t *h) { (void)h; }

void store_write_begin(store_t *s)
{
    if (!s->in_txn) {
        if (step_cached(s, "BEGIN IMMEDIATE") != 0)
            abort();
        s->in_txn = true;
        /* An active idle handle keeps the loop alive and makes this turn's
         * poll return at once, so the check that commits runs promptly even
         * when no socket has anything to say. */
        uv_idle_start(&s->idle, on_idle);
    }
}

/* Run a cached statement that returns no rows. Savepoints wrap every
 * mutating request, so they must not re-parse their SQL each time. */
static int step_cached(store_t *s, const char *sql)
{
    sqlite3_stmt *q = store_stmt(s, sql);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        log_error("store: %s: %s", sql, sqlite3_errmsg(s->db));
        return KYOKA_ESTORE;
    }
    return 0;
}

static const char SQL_SAVEPOINT[] = "SAVEPOINT req";
static const char SQL_RELEASE[] = "RELEASE req";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO req";

void store_savepoint(store_t *s)
{
    store_write_begin(s);
    if (step_cached(s, SQL_SAVEPOINT) != 0)
        abort();
    s->savepoint_depth++;
}

void store_savepoint_release(store_t *s)
{
    if (s->savepoint_depth > 0 && step_cached(s, SQL_RELEASE) == 0)
        s->savepoint_depth--;
}

void store_savepoint_rollback(store_t *s)
{
    if (s->savepoint_depth > 0) {
        if (step_cached(s, SQL_ROLLBACK_TO) == 0 && step_cached(s, SQL_RELEASE) == 0)
            s->savepoint_depth--;
    }
}

/* ---- group commit ---- */

static void start_sync(store_t *s);
static void store_free_now(store_t *s);

static void on_sync_work(uv_work_t *w)
{
    sync_job_t *job = container_of(w, sync_job_t, work);
    job->rc = 0;
    if (job->store->wal_fd >= 0 && fdatasync(job->store->wal_fd) != 0)
        job->rc = KYOKA_EIO;
}

static void on_sync_done(uv_work_t *w, int status)
{
    sync_job_t *job = container_of(w, sync_job_t, work);
    store_t *s = job->store;
    s->sync_running = false;
    s->fsyncs++;
    waitlist_t ws = job->waiters;
    free(job);
    waitlist_fire(&ws, status ? KYOKA_EIO : 0);
    /* Commits that landed while this fsync ran wait for the next one. */
    if (s->committed.n)
        start_sync(s);
}

static void start_sync(store_t *s)
{
    if (s->sync_running || s->committed.n == 0)
        return;
    sync_job_t *job = xcalloc(1, sizeof *job);
    job->store = s;
    job->waiters = s->committed;
    s->committed = (waitlist_t){0};
    s->sync_running = true;
    uv_queue_work(s->loop, &job->work, on_sync_work, on_sync_done);
}

/* Waits in 200 us steps, up to data (a count of steps). SQLite's own
 * busy_timeout sleeps 1, 2, 5, 10, ... 100 ms, so a lock held for 20 ms
 * could cost the loop 50 ms; the checkpoint that restarts the WAL holds
 * writers off for a few milliseconds. */
static int busy_wait(void *data, int count)
{
    if (count >= (int)(intptr_t)data)
        return 0;
    usleep(200);
    return 1;
}
#define BUSY_STEPS_PER_S 5000

static void on_ckpt_work(uv_work_t *w)
{
    ckpt_job_t *job = container_of(w, ckpt_job_t, work);
    sqlite3 *db;
    if (sqlite3_open_v2(job->store->db_path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_busy_handler(db, busy_wait, (void *)(intptr_t)BUSY_STEPS_PER_S);
        sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
        /* Passive passes copy the bulk without holding writers; before a
         * restart they repeat until little is left, since what remains is
         * copied while the loop waits. */
        int log = 0, done = 0;
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        for (int pass = 0; job->restart && pass < 8 && log - done > STORE_RESTART_LEFT_FRAMES; pass++)
            sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (job->restart)
            sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    }
    sqlite3_close(db);
}

static void on_ckpt_done(uv_work_t *w, int status)
{
    ckpt_job_t *job = container_of(w, ckpt_job_t, work);
    job->store->ckpt_running = false;
    if (job->restart)
        job->store->wal_restarts++;
    free(job);
}

/* SQLite calls this after each commit with the WAL's length in frames. */
static int on_wal_commit(void *data, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((store_t *)data)->wal_frames = frames;
    return SQLITE_OK;
}

static void maybe_checkpoint(store_t *s)
{
    if (!s->durable || s->ckpt_running)
        return;
    bool restart = s->wal_frames >= s->wal_restart_frames;
    if (!restart && s->commits_since_ckpt < STORE_CHECKPOINT_COMMITS)
        return;
    s->commits_since_ckpt = 0;
    s->ckpt_running = true;
    ckpt_job_t *job = xcalloc(1, sizeof *job);
    job->store = s;
    job->restart = restart;
    uv_queue_work(s->loop, &job->work, on_ckpt_work, on_ckpt_done);
}

/* Commit the batch of this loop turn. */
static void commit_batch(store_t *s)
{
    if (!s->in_txn)
        return;
    /* A savepoint left open means a handler is mid-request across turns;
     * that never happens on the loop thread, but be safe. */
    while (s->savepoint_depth > 0)
        store_savepoint_release(s);
    int status = 0;
    if (s->fail_commit_in > 0 && --s->fail_commit_in == 0) {
        exec_best_effort(s, "ROLLBACK");
        status = KYOKA_ESTORE;
    } else if (step_cached(s, "COMMIT") != 0) {
        exec_best_effort(s, "ROLLBACK");
        status = KYOKA_ESTORE;
    }
    s->in_txn = false;
    uv_idle_stop(&s->idle);
    s->commits++;
    s->commits_since_ckpt += 1;
    waitlist_t ws = s->pending;
    s->pending = (waitlist_t){0};
    if (status != 0 || !s->durable) {
        waitlist_fire(&ws, status);
        return;
    }
    for (size_t i = 0; i < ws.n; i++)
        waitlist_add(&s->committed, ws.items[i].cb, ws.items[i].data);
    free(ws.items);
    start_sync(s);
    maybe_checkpoint(s);
}

static void on_check(uv_check_t *h)
{
    store_t *s = container_of(h, store_t, check);
    commit_batch(s);
}

void store_when_durable(store_t *s, store_durable_cb cb, void *data)
{
    if (s->in_txn) {
        waitlist_add(&s->pending, cb, data);
    } else if (s->sync_running || s->committed.n) {
        /* Nothing new, but an earlier commit may still be syncing and the
         * caller may have read its data: wait for it. */
        waitlist_add(&s->committed, cb, data);
        start_sync(s);
    } else {
        cb(data, 0);
    }
}

/* ---- open / migrate / close ---- */

static int ensure_dir(const char *dir, char *err, size_t errcap)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, errcap, "data directory %s exists but is not a directory; pass --data-dir with a directory path", dir);
            return -1;
        }
    } else if (mkdir(dir, 0755) != 0) {
        snprintf(err, errcap, "cannot create data directory %s: %s; pass --data-dir with a writable path or use --ephemeral",
                 dir, strerror(errno));
        return -1;
    }
    if (access(dir, W_OK) != 0) {
        snprintf(err, errcap, "data directory %s is not writable; fix its permissions or pass another --data-dir", dir);
        return -1;
    }
    return 0;
}

store_t *store_open(uv_loop_t *loop, const char *data_dir, char *err, size_t errcap)
{
    store_t *s = xcalloc(1, sizeof *s);
    s->loop = loop;
    s->wal_fd = -1;
    s->durable = data_dir != NULL;
    const char *path = ":memory:";
    if (data_dir) {
        if (ensure_dir(data_dir, err, errcap) != 0) {
            free(s);
            return NULL;
        }
        size_t n = strlen(data_dir) + 32;
        s->db_path = xmalloc(n);
        snprintf(s->db_path, n, "%s/kyoka.db", data_dir);
        s->wal_path = xmalloc(n);
        snprintf(s->wal_path, n, "%s/kyoka.db-wal", data_dir);
        path = s->db_path;
    }
    /* Only the loop thread uses this connection (checkpoints open their
     * own), so SQLite's per-call mutexes are pure overhead. */
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errcap, "cannot open %s: %s; check the data directory or use --ephemeral", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        free(s->db_path);
        free(s->wal_path);
        free(s);
        return NULL;
    }
    sqlite3_busy_handler(s->db, busy_wait, (void *)(intptr_t)(5 * BUSY_STEPS_PER_S));
    if (s->durable) {
        /* Another kyoka on the same directory would interleave writes. */
        if (store_exec(s, "PRAGMA journal_mode=WAL") != 0 || store_exec(s, "PRAGMA synchronous=OFF") != 0 ||
            store_exec(s, "PRAGMA wal_autocheckpoint=0") != 0) {
            snprintf(err, errcap, "cannot use %s (is it a kyoka data directory, and is another kyoka using it?)", path);
            store_free_now(s);
            return NULL;
        }
        s->wal_restart_frames = STORE_WAL_RESTART_FRAMES;
        sqlite3_wal_hook(s->db, on_wal_commit, s);
    }
    exec_best_effort(s, "PRAGMA foreign_keys=ON");
    if (store_exec(s, "CREATE TABLE IF NOT EXISTS kyoka_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)") != 0) {
        snprintf(err, errcap, "cannot write %s: the file is damaged or not a kyoka store; move it away or pass another --data-dir",
                 path);
        store_free_now(s);
        return NULL;
    }
    if (s->durable) {
        s->wal_fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
    }
    uv_idle_init(loop, &s->idle);
    uv_check_init(loop, &s->check);
    uv_check_start(&s->check, on_check);
    uv_unref((uv_handle_t *)&s->check);
    return s;
}

int store_migrate(store_t *s, const char *component, const char *const *migrations, size_t n, char *err,
                  size_t errcap)
{
    sqlite3_stmt *q;
    int version = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT version FROM kyoka_schema WHERE component = ?", -1, &q, NULL) != SQLITE_OK)
        return KYOKA_ESTORE;
    sqlite3_bind_text(q, 1, component, -1, SQLITE_STATIC);
    if (sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if ((size_t)version > n) {
        snprintf(err, errcap, "the data directory holds %s schema version %d, newer than this kyoka (%zu); upgrade kyoka",
                 component, version, n);
        return KYOKA_ESTORE;
    }
    for (size_t v = (size_t)version; v < n; v++) {
        char *msg = NULL;
        if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errcap, "migrating %s to version %zu failed: %s", component, v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return KYOKA_ESTORE;
        }
        char sql[256];
        snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO kyoka_schema(component, version) VALUES('%s', %zu)", component,
                 v + 1);
        if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            snprintf(err, errcap, "migrating %s: cannot record version", component);
            return KYOKA_ESTORE;
        }
    }
    if (s->durable && s->wal_fd < 0)
        s->wal_fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
    return 0;
}

static void store_free_now(store_t *s)
{
    for (size_t i = 0; i < STORE_STMT_CACHE; i++)
        if (s->stmts[i].stmt)
            sqlite3_finalize(s->stmts[i].stmt);
    if (s->durable)
        sqlite3_exec(s->db, "PRAGMA synchronous=FULL; PRAGMA wal_checkpoint(TRUNCATE);", NULL, NULL, NULL);
    sqlite3_close(s->db);
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    free(s->db_path);
    free(s->wal_path);
    free(s);
}

static void on_check_closed(uv_handle_t *h) { store_free_now(container_of((uv_check_t *)h, store_t, check)); }

static void on_idle_closed(uv_handle_t *h)
{
    store_t *s = container_of((uv_idle_t *)h, store_t, idle);
    uv_close((uv_handle_t *)&s->check, on_check_closed);
}

void store_close(store_t *s)
{
    if (!s)
        return;
    commit_batch(s);
    /* Let a running fsync or checkpoint finish before the connection goes. */
    while (s->sync_running || s->ckpt_running || s->committed.n) {
        start_sync(s);
        uv_run(s->loop, UV_RUN_ONCE);
    }
    if (!uv_is_closing((uv_handle_t *)&s->check)) {
        uv_check_stop(&s->check);
        uv_close((uv_handle_t *)&s->idle, on_idle_closed);
    }
}
