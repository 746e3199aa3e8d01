/*
 * CloudWatch Logs in SQLite: the schema, loading group and stream metadata
 * at start, and the prepared statements every change goes through.
 *
 * Every change is written in the loop turn that makes it, inside the
 * store's batch transaction, before the response is encoded; the server
 * answers only once the batch is fsynced. So a PutLogEvents 200 means its
 * events survive kill -9. Events are inserted LOGS_INSERT_ROWS to a
 * statement, with the statements prepared once (the store caches them by
 * SQL text pointer).
 *
 * If a batch fails to commit, memory may hold groups or stream metadata
 * the store does not: the state is dropped and loaded again from the store
 * (the requests of that batch were answered with errors).
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== schema ==== */

static const char *const migrations[] = {
    "CREATE TABLE logs_groups ("
    "  id INTEGER PRIMARY KEY,"
    "  region TEXT NOT NULL,"
    "  account TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  retention_days INTEGER NOT NULL DEFAULT 0,"
    "  kms_key TEXT,"
    "  class TEXT NOT NULL DEFAULT 'STANDARD',"
    "  tags TEXT NOT NULL DEFAULT '{}');"
    "CREATE TABLE logs_streams ("
    "  id INTEGER PRIMARY KEY,"
    "  group_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  first_ts INTEGER NOT NULL DEFAULT 0,"
    "  last_ts INTEGER NOT NULL DEFAULT 0,"
    "  last_ingest_ms INTEGER NOT NULL DEFAULT 0,"
    "  stored_bytes INTEGER NOT NULL DEFAULT 0,"
    "  upload_seq INTEGER NOT NULL DEFAULT 0,"
    "  last_seq INTEGER NOT NULL DEFAULT 0);"
    /* A group's events in time order: FilterLogEvents and retention read
     * and delete by this key; the index serves GetLogEvents. */
    "CREATE TABLE logs_events ("
    "  group_id INTEGER NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  stream_id INTEGER NOT NULL,"
    "  ingest_ms INTEGER NOT NULL,"
    "  message TEXT NOT NULL,"
    "  PRIMARY KEY (group_id, ts, seq)) WITHOUT ROWID;"
    "CREATE INDEX logs_events_stream ON logs_events(stream_id, ts, seq);",
    /* 2: subscription filters, at most two a group. */
    "CREATE TABLE logs_subscriptions ("
    "  group_id INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  pattern TEXT NOT NULL,"
    "  destination_arn TEXT NOT NULL,"
    "  role_arn TEXT,"
    "  distribution TEXT NOT NULL DEFAULT 'ByLogStream',"
    "  created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (group_id, name)) WITHOUT ROWID;",
};

int logs__store_migrate(logs_state_t *st, char *err, size_t errcap)
{
    return store_migrate(st->store, "logs", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
}

/* ==== writing ==== */

/* One per watched batch. The store may report a batch after the service
 * state is gone (shutdown), so the callback holds this token, which the
 * state disowns when it is freed. */
typedef struct logs_watch {
    struct logs_watch *prev, *next; /* st->watches */
    logs_state_t *st;
} logs_watch_t;

static void on_batch_done(void *data, int status);

void logs__write_begin(logs_state_t *st)
{
    store_write_begin(st->store);
    /* The open batch will be commit number commits+1: watch it once. */
    uint64_t batch = store_commits(st->store) + 1;
    if (st->watched_batch != batch) {
        st->watched_batch = batch;
        logs_watch_t *w = xcalloc(1, sizeof *w);
        w->st = st;
        w->next = st->watches;
        if (w->next)
            w->next->prev = w;
        st->watches = w;
        store_when_durable(st->store, on_batch_done, w);
    }
}

static void watch_unlink(logs_watch_t *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else if (w->st)
        w->st->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

void logs__watches_disown(logs_state_t *st)
{
    while (st->watches) {
        logs_watch_t *w = st->watches;
        watch_unlink(w);
        w->st = NULL;
    }
}

void logs__step(logs_state_t *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        log_error("logs: store write failed: %s: %s", sqlite3_errmsg(store_db(st->store)), sqlite3_sql(s));
    sqlite3_reset(s);
}

static void bind_text(sqlite3_stmt *s, int i, const char *p)
{
    if (p)
        sqlite3_bind_text(s, i, p, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

void logs__persist_group(logs_group_t *g)
{
    logs_state_t *st = g->st;
    logs__write_begin(st);
    char *tags = proto_json_dumps(g->tags, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_stmt *s = store_stmt(st->store,
                                 "INSERT OR REPLACE INTO logs_groups(id, region, account, name, created_ms,"
                                 " retention_days, kms_key, class, tags) VALUES(?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)g->id);
    bind_text(s, 2, g->region);
    bind_text(s, 3, g->account);
    bind_text(s, 4, g->name);
    sqlite3_bind_int64(s, 5, g->created_ms);
    sqlite3_bind_int(s, 6, g->retention_days);
    bind_text(s, 7, g->kms_key);
    bind_text(s, 8, g->klass);
    sqlite3_bind_text(s, 9, tags ? tags : "{}", -1, SQLITE_STATIC);
    logs__step(st, s);
    free(tags);
}

void logs__persist_group_delete(logs_group_t *g)
{
    logs_state_t *st = g->st;
    logs__write_begin(st);
    sqlite3_stmt *s = store_stmt(st->store, "DELETE FROM logs_events WHERE group_id=?");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)g->id);
    logs__step(st, s);
    s = store_stmt(st->store, "DELETE FROM logs_subscriptions WHERE group_id=?");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)g->id);
    logs__step(st, s);
    s = store_stmt(st->store, "DELETE FROM logs_streams WHERE group_id=?");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)g->id);
    logs__step(st, s);
    s = store_stmt(st->store, "DELETE FROM logs_groups WHERE id=?");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)g->id);
    logs__step(st, s);
}

void logs__persist_stream(logs_stream_t *s)
{
    logs_state_t *st = s->g->st;
    logs__write_begin(st);
    sqlite3_stmt *q = store_stmt(st->store,
                                 "INSERT OR REPLACE INTO logs_streams(id, group_id, name, created_ms, first_ts, last_ts,"
                                 " last_ingest_ms, stored_bytes, upload_seq, last_seq) VALUES(?,?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)s->id);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)s->g->id);
    bind_text(q, 3, s->name);
    sqlite3_bind_int64(q, 4, s->created_ms);
    sqlite3_bind_int64(q, 5, s->first_ts);
    sqlite3_bind_int64(q, 6, s->last_ts);
    sqlite3_bind_int64(q, 7, s->last_ingest_ms);
    sqlite3_bind_int64(q, 8, s->stored_bytes);
    sqlite3_bind_int64(q, 9, (sqlite3_int64)s->upload_seq);
    /* The service's event counter survives restarts through the streams:
     * the next one starts past the largest of these. */
    sqlite3_bind_int64(q, 10, (sqlite3_int64)(st->next_seq ? st->next_seq - 1 : 0));
    logs__step(st, q);
}

void logs__persist_stream_delete(logs_stream_t *s)
{
    logs_state_t *st = s->g->st;
    logs__write_begin(st);
    sqlite3_stmt *q = store_stmt(st->store, "DELETE FROM logs_events WHERE stream_id=?");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)s->id);
    logs__step(st, q);
    q = store_stmt(st->store, "DELETE FROM logs_streams WHERE id=?");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)s->id);
    logs__step(st, q);
}

void logs__persist_subscription(logs_subscription_t *f)
{
    logs_state_t *st = f->g->st;
    logs__write_begin(st);
    sqlite3_stmt *q = store_stmt(st->store, "INSERT OR REPLACE INTO logs_subscriptions(group_id, name, pattern,"
                                            " destination_arn, role_arn, distribution, created_ms)"
                                            " VALUES(?,?,?,?,?,?,?)");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)f->g->id);
    bind_text(q, 2, f->name);
    bind_text(q, 3, f->pattern);
    bind_text(q, 4, f->destination_arn);
    bind_text(q, 5, f->role_arn);
    bind_text(q, 6, f->distribution);
    sqlite3_bind_int64(q, 7, f->created_ms);
    logs__step(st, q);
}

void logs__persist_subscription_delete(logs_subscription_t *f)
{
    logs_state_t *st = f->g->st;
    logs__write_begin(st);
    sqlite3_stmt *q = store_stmt(st->store, "DELETE FROM logs_subscriptions WHERE group_id=? AND name=?");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)f->g->id);
    bind_text(q, 2, f->name);
    logs__step(st, q);
}

/* "INSERT ... VALUES (6 params)" repeated for 1..LOGS_INSERT_ROWS rows,
 * built once: the store caches prepared statements by SQL pointer, so these
 * live for the process. */
static const char *insert_sql(size_t rows)
{
    static char *sql[LOGS_INSERT_ROWS + 1];
    if (!sql[rows]) {
        buf_t b;
        buf_init(&b, 65536);
        (void)buf_appends(&b, "INSERT INTO logs_events(group_id, ts, seq, stream_id, ingest_ms, message) VALUES");
        for (size_t r = 0; r < rows; r++)
            (void)buf_appends(&b, r ? ",(?,?,?,?,?,?)" : "(?,?,?,?,?,?)");
        sql[rows] = buf_detach(&b, NULL);
    }
    return sql[rows];
}

void logs__persist_events(logs_state_t *st, const logs_stream_t *s, const logs_in_event_t *ev, size_t n,
                          uint64_t seq0, int64_t now)
{
    logs__write_begin(st);
    for (size_t off = 0; off < n; off += LOGS_INSERT_ROWS) {
        size_t rows = n - off < LOGS_INSERT_ROWS ? n - off : LOGS_INSERT_ROWS;
        sqlite3_stmt *q = store_stmt(st->store, insert_sql(rows));
        for (size_t r = 0; r < rows; r++) {
            int b = (int)r * 6;
            const logs_in_event_t *e = &ev[off + r];
            sqlite3_bind_int64(q, b + 1, (sqlite3_int64)s->g->id);
            sqlite3_bind_int64(q, b + 2, e->ts);
            sqlite3_bind_int64(q, b + 3, (sqlite3_int64)(seq0 + off + r));
            sqlite3_bind_int64(q, b + 4, (sqlite3_int64)s->id);
            sqlite3_bind_int64(q, b + 5, now);
            sqlite3_bind_text(q, b + 6, e->msg, (int)e->len, SQLITE_STATIC);
        }
        logs__step(st, q);
    }
}

/* ==== loading ==== */

static const char *col_text(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

static logs_group_t *group_by_id(logs_state_t *st, uint64_t id)
{
    /* Loading only: groups are few next to streams, and ids ascend in the
     * order the groups table returns them, so remember the last hit. */
    static size_t hint;
    if (hint < st->ngroups && st->groups[hint]->id == id)
        return st->groups[hint];
    for (size_t i = 0; i < st->ngroups; i++)
        if (st->groups[i]->id == id) {
            hint = i;
            return st->groups[i];
        }
    return NULL;
}

int logs__store_load(logs_state_t *st, char *err, size_t errcap)
{
    sqlite3_stmt *s = store_stmt(st->store,
                                 "SELECT id, region, account, name, created_ms, retention_days, kms_key, class, tags"
                                 " FROM logs_groups ORDER BY id");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(s, 0);
        logs_group_t *g = logs__group_new(st, id, col_text(s, 1), col_text(s, 2), col_text(s, 3),
                                          sqlite3_column_int64(s, 4));
        g->retention_days = sqlite3_column_int(s, 5);
        if (sqlite3_column_type(s, 6) != SQLITE_NULL)
            g->kms_key = xstrdup(col_text(s, 6));
        free(g->klass);
        g->klass = xstrdup(col_text(s, 7)[0] ? col_text(s, 7) : "STANDARD");
        json_t *tags = json_loads(col_text(s, 8), 0, NULL);
        if (json_is_object(tags)) {
            json_decref(g->tags);
            g->tags = tags;
        } else {
            json_decref(tags);
        }
        if (id >= st->next_group_id)
            st->next_group_id = id + 1;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        snprintf(err, errcap, "cannot read logs_groups: %s", sqlite3_errmsg(store_db(st->store)));
        return KYOKA_ESTORE;
    }
    s = store_stmt(st->store,
                   "SELECT id, group_id, name, created_ms, first_ts, last_ts, last_ingest_ms, stored_bytes, upload_seq,"
                   " last_seq FROM logs_streams ORDER BY group_id, id");
    size_t orphans = 0, nstreams = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(s, 0);
        if (id >= st->next_stream_id)
            st->next_stream_id = id + 1;
        uint64_t last_seq = (uint64_t)sqlite3_column_int64(s, 9);
        if (last_seq >= st->next_seq)
            st->next_seq = last_seq + 1;
        logs_group_t *g = group_by_id(st, (uint64_t)sqlite3_column_int64(s, 1));
        if (!g) {
            orphans++;
            continue;
        }
        logs_stream_t *ls = logs__stream_new(g, id, col_text(s, 2), sqlite3_column_int64(s, 3));
        ls->first_ts = sqlite3_column_int64(s, 4);
        ls->last_ts = sqlite3_column_int64(s, 5);
        ls->last_ingest_ms = sqlite3_column_int64(s, 6);
        ls->stored_bytes = sqlite3_column_int64(s, 7);
        ls->upload_seq = (uint64_t)sqlite3_column_int64(s, 8);
        g->stored_bytes += ls->stored_bytes;
        nstreams++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        snprintf(err, errcap, "cannot read logs_streams: %s", sqlite3_errmsg(store_db(st->store)));
        return KYOKA_ESTORE;
    }
    if (orphans)
        log_warn("logs: %zu stored log streams belong to no log group; ignored", orphans);
    s = store_stmt(st->store, "SELECT group_id, name, pattern, destination_arn, role_arn, distribution, created_ms"
                              " FROM logs_subscriptions ORDER BY group_id, name");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        logs_group_t *g = group_by_id(st, (uint64_t)sqlite3_column_int64(s, 0));
        const char *pattern = col_text(s, 2);
        logs_pattern_t *pat = NULL;
        char perr[256];
        if (!g || logs_pattern_compile(pattern, strlen(pattern), &pat, perr, sizeof perr) != 0) {
            log_warn("logs: stored subscription filter %s ignored (%s)", col_text(s, 1),
                     g ? perr : "its log group is gone");
            continue;
        }
        if (!logs__subscription_add(g, col_text(s, 1), pattern, pat, col_text(s, 3),
                                    sqlite3_column_type(s, 4) == SQLITE_NULL ? NULL : col_text(s, 4),
                                    col_text(s, 5)[0] ? col_text(s, 5) : "ByLogStream", sqlite3_column_int64(s, 6)))
            log_warn("logs: stored subscription filter %s ignored (more than %d on log group %s)", col_text(s, 1),
                     LOGS_MAX_SUBSCRIPTIONS, g->name);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        snprintf(err, errcap, "cannot read logs_subscriptions: %s", sqlite3_errmsg(store_db(st->store)));
        return KYOKA_ESTORE;
    }
    if (st->ngroups)
        log_info("logs: loaded %zu log groups and %zu log streams", st->ngroups, nstreams);
    return 0;
}

/* ==== dropping memory ==== */

void logs__state_clear(logs_state_t *st)
{
    for (size_t i = 0; i < st->ngroups; i++)
        logs__group_free(st->groups[i]);
    free(st->groups);
    st->groups = NULL;
    st->ngroups = st->cap = 0;
}

/* A batch this service wrote to failed to commit: memory is ahead of the
 * store, so start again from the store. */
static void on_batch_done(void *data, int status)
{
    logs_watch_t *w = data;
    logs_state_t *st = w->st;
    if (st)
        watch_unlink(w);
    free(w);
    if (!st || status == 0 || st->closing)
        return;
    log_warn("logs: a store batch failed to commit; reloading CloudWatch Logs state from the store");
    logs__state_clear(st);
    char err[256] = "";
    if (logs__store_load(st, err, sizeof err) != 0)
        log_error("logs: reload failed: %s", err);
}
