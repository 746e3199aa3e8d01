/*
 * SQS in SQLite: the schema, loading it into memory at start, and the
 * prepared statements every change goes through.
 *
 * Every change a handler makes to queues or messages is written here in
 * the same loop turn, inside the store's batch transaction, before the
 * response is encoded; the server acknowledges only after the batch is
 * durable. So after kill -9 the tables hold exactly what was acknowledged,
 * and loading them rebuilds the in-memory indexes: in-flight messages keep
 * their visibility deadline, delayed ones their delay.
 *
 * If a batch fails to commit, memory may hold changes the store does not:
 * the state is then dropped and reloaded from the store (the failed
 * requests were answered with errors).
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== schema ==== */

static const char *const migrations[] = {
    "CREATE TABLE sqs_queues ("
    "  id INTEGER PRIMARY KEY,"
    "  account TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  fifo INTEGER NOT NULL,"
    "  attrs TEXT NOT NULL,"
    "  tags TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  modified_ms INTEGER NOT NULL,"
    "  purged_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE sqs_messages ("
    "  id INTEGER PRIMARY KEY,"
    "  queue_id INTEGER NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  body BLOB NOT NULL,"
    "  attrs TEXT,"
    "  sender TEXT NOT NULL,"
    "  trace TEXT,"
    "  group_id TEXT,"
    "  dedup_id TEXT,"
    "  dlq_src TEXT,"
    "  sent_ms INTEGER NOT NULL,"
    "  visible_at INTEGER NOT NULL,"
    "  seq_no INTEGER NOT NULL,"
    "  receive_count INTEGER NOT NULL DEFAULT 0,"
    "  receipt_seq INTEGER NOT NULL DEFAULT 0,"
    "  first_recv_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_recv_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE sqs_dedup ("
    "  queue_id INTEGER NOT NULL,"
    "  dkey TEXT NOT NULL,"
    "  message_id TEXT NOT NULL,"
    "  seq_no INTEGER NOT NULL,"
    "  expires_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (queue_id, dkey)) WITHOUT ROWID;"
    "CREATE TABLE sqs_deleted (qkey TEXT PRIMARY KEY, deleted_ms INTEGER NOT NULL);"
    "CREATE TABLE sqs_tasks ("
    "  id TEXT PRIMARY KEY,"
    "  handle TEXT NOT NULL,"
    "  source_arn TEXT NOT NULL,"
    "  dest_arn TEXT,"
    "  rate INTEGER NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  started_ms INTEGER NOT NULL,"
    "  moved INTEGER NOT NULL,"
    "  to_move INTEGER NOT NULL,"
    "  failure TEXT);",
};

int sqs__store_migrate(sqs_state_t *st, char *err, size_t errcap)
{
    return store_migrate(st->store, "sqs", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
}

/* ==== writing ==== */

static void on_batch_done(void *data, int status);

/* One per watched batch. The store may report a batch after the service
 * state is gone (shutdown), so the callback holds this token, which the
 * state disowns when it is freed, instead of the state itself. */
typedef struct batch_watch {
    sqs_link_t link; /* st->watches */
    sqs_state_t *st;
} batch_watch_t;

void sqs__write_begin(sqs_state_t *st)
{
    store_write_begin(st->store);
    /* The open batch will be commit number commits+1: watch it once. */
    uint64_t batch = store_commits(st->store) + 1;
    if (st->watched_batch != batch) {
        st->watched_batch = batch;
        batch_watch_t *w = xcalloc(1, sizeof *w);
        w->st = st;
        sqs_list_push(&st->watches, &w->link);
        store_when_durable(st->store, on_batch_done, w);
    }
}

void sqs__watches_disown(sqs_state_t *st)
{
    while (!sqs_list_empty(&st->watches)) {
        batch_watch_t *w = container_of(st->watches.next, batch_watch_t, link);
        sqs_list_unlink(&w->link);
        w->st = NULL;
    }
}

void sqs__step(sqs_state_t *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        log_error("sqs: store write failed: %s: %s", sqlite3_errmsg(store_db(st->store)), sqlite3_sql(s));
    sqlite3_reset(s);
}

static void bind_text(sqlite3_stmt *s, int i, const char *p)
{
    if (p)
        sqlite3_bind_text(s, i, p, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

#define INSERT_COLS 13

static void bind_msg(sqlite3_stmt *s, int base, const sqs_msg_t *m)
{
    sqlite3_bind_int64(s, base + 1, (sqlite3_int64)m->id);
    sqlite3_bind_int64(s, base + 2, (sqlite3_int64)m->q->id);
    sqlite3_bind_text(s, base + 3, m->message_id, 36, SQLITE_STATIC);
    sqlite3_bind_blob(s, base + 4, m->data, (int)m->body_len, SQLITE_STATIC);
    if (m->attrs_len)
        sqlite3_bind_text(s, base + 5, m->attrs, (int)m->attrs_len, SQLITE_STATIC);
    bind_text(s, base + 6, m->sender_id);
    bind_text(s, base + 7, m->trace);
    bind_text(s, base + 8, m->group_id);
    bind_text(s, base + 9, m->dedup_id);
    bind_text(s, base + 10, m->dlq_src);
    sqlite3_bind_int64(s, base + 11, m->sent_ms);
    sqlite3_bind_int64(s, base + 12, m->state == SQS_READY ? 0 : m->visible_at);
    sqlite3_bind_int64(s, base + 13, (sqlite3_int64)m->seq_no);
}

/* "INSERT ... VALUES (13 params)" repeated for 1..10 rows, built once; the
 * store caches prepared statements by SQL pointer, so these live for the
 * process. */
static const char *insert_sql(int rows)
{
    static char *sql[KYOKA_SQS_MAX_BATCH_ENTRIES + 1];
    if (!sql[rows]) {
        buf_t b;
        buf_init(&b, 16384);
        buf_appends(&b, "INSERT INTO sqs_messages(id, queue_id, message_id, body, attrs, sender, trace, group_id,"
                        " dedup_id, dlq_src, sent_ms, visible_at, seq_no) VALUES");
        for (int r = 0; r < rows; r++)
            buf_appends(&b, r ? ",(?,?,?,?,?,?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?,?,?,?,?,?)");
        sql[rows] = buf_detach(&b, NULL);
    }
    return sql[rows];
}

void sqs__persist_msgs_insert(sqs_state_t *st, sqs_msg_t *const *ms, int n)
{
    for (int off = 0; off < n; off += KYOKA_SQS_MAX_BATCH_ENTRIES) {
        int rows = n - off < KYOKA_SQS_MAX_BATCH_ENTRIES ? n - off : KYOKA_SQS_MAX_BATCH_ENTRIES;
        sqs__write_begin(st);
        sqlite3_stmt *s = store_stmt(st->store, insert_sql(rows));
        for (int r = 0; r < rows; r++)
            bind_msg(s, r * INSERT_COLS, ms[off + r]);
        sqs__step(st, s);
    }
}

void sqs__persist_msg_insert(sqs_msg_t *m) { sqs__persist_msgs_insert(m->q->st, &m, 1); }

/* Up to 10 messages received by one ReceiveMessage: one statement. The
 * counters move by one exactly as mark_received() moves them in memory;
 * unused id slots are bound to 0, an id no message has. */
void sqs__persist_msgs_receive(sqs_state_t *st, const uint64_t *ids, int n, int64_t visible_at, int64_t now)
{
    if (n <= 0)
        return;
    sqs__write_begin(st);
    sqlite3_stmt *s = store_stmt(st->store,
                                 "UPDATE sqs_messages SET visible_at=?1, receive_count=receive_count+1,"
                                 " receipt_seq=receipt_seq+1,"
                                 " first_recv_ms=CASE first_recv_ms WHEN 0 THEN ?2 ELSE first_recv_ms END,"
                                 " last_recv_ms=?2 WHERE id IN (?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
    sqlite3_bind_int64(s, 1, visible_at);
    sqlite3_bind_int64(s, 2, now);
    for (int i = 0; i < 10; i++)
        sqlite3_bind_int64(s, 3 + i, i < n ? (sqlite3_int64)ids[i] : 0);
    sqs__step(st, s);
}

void sqs__persist_msgs_delete(sqs_state_t *st, const uint64_t *ids, int n)
{
    for (int off = 0; off < n; off += 10) {
        sqs__write_begin(st);
        sqlite3_stmt *s = store_stmt(st->store, "DELETE FROM sqs_messages WHERE id IN (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)");
        for (int i = 0; i < 10; i++)
            sqlite3_bind_int64(s, 1 + i, off + i < n ? (sqlite3_int64)ids[off + i] : 0);
        sqs__step(st, s);
    }
}

void sqs__persist_msg_visibility(sqs_msg_t *m)
{
    sqs_state_t *st = m->q->st;
    sqs__write_begin(st);
    sqlite3_stmt *s = store_stmt(st->store, "UPDATE sqs_messages SET visible_at=?2 WHERE id=?1");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)m->id);
    sqlite3_bind_int64(s, 2, m->state == SQS_READY ? 0 : m->visible_at);
    sqs__step(st, s);
}

void sqs__persist_msg_delete(sqs_state_t *st, uint64_t id)
{
    sqs__write_begin(st);
    sqlite3_stmt *s = store_stmt(st->store, "DELETE FROM sqs_messages WHERE id=?");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
    sqs__step(st, s);
}

void sqs__persist_msg_move(sqs_msg_t *m)
{
    sqs_state_t *st = m->q->st;
    sqs__write_begin(st);
    sqlite3_stmt *s = store_stmt(st->store,
                                 "UPDATE sqs_messages SET queue_id=?2, visible_at=?3, seq_no=?4, sent_ms=?5, dlq_src=?6,"
                                 " receive_count=?7, receipt_seq=?8, first_recv_ms=?9, last_recv_ms=?10 WHERE id=?1");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)m->id);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)m->q->id);
    sqlite3_bind_int64(s, 3, m->state == SQS_READY ? 0 : m->visible_at);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)m->seq_no);
    sqlite3_bind_int64(s, 5, m->sent_ms);
    bind_text(s, 6, m->dlq_src);
    sqlite3_bind_int64(s, 7, m->receive_count);
    sqlite3_bind_int64(s, 8, m->receipt_seq);
    sqlite3_bind_int64(s, 9, m->first_recv_ms);
    sqlite3_bind_int64(s, 10, m->last_recv_ms);
    sqs__step(st, s);
}

void sqs__persist_deleted(sqs_state_t *st, const char *key, int64_t when)
{
    sqs__write_begin(st);
    sqlite3_stmt *s = store_stmt(st->store, "INSERT OR REPLACE INTO sqs_deleted(qkey, deleted_ms) VALUES(?,?)");
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, when);
    sqs__step(st, s);
}

void sqs__persist_task(sqs_task_t *t)
{
    sqs_state_t *st = t->st;
    sqs__write_begin(st);
    sqlite3_stmt *s = store_stmt(st->store,
                                 "INSERT OR REPLACE INTO sqs_tasks(id, handle, source_arn, dest_arn, rate, status,"
                                 " started_ms, moved, to_move, failure) VALUES(?,?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_text(s, 1, t->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, t->handle, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, t->source_arn, -1, SQLITE_STATIC);
    bind_text(s, 4, t->dest_arn);
    sqlite3_bind_int(s, 5, t->rate);
    sqlite3_bind_int(s, 6, (int)t->status);
    sqlite3_bind_int64(s, 7, t->started_ms);
    sqlite3_bind_int64(s, 8, t->moved);
    sqlite3_bind_int64(s, 9, t->to_move);
    bind_text(s, 10, t->failure);
    sqs__step(st, s);
}

void sqs__queue_persist(sqs_queue_t *q)
{
    sqs_state_t *st = q->st;
    sqs__write_begin(st);
    json_t *attrs = sqs__settings_json(&q->set);
    char *at = proto_json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
    char *tg = proto_json_dumps(q->tags, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(attrs);
    sqlite3_stmt *s = store_stmt(st->store,
                                 "INSERT OR REPLACE INTO sqs_queues(id, account, name, region, fifo, attrs, tags,"
                                 " created_ms, modified_ms, purged_ms) VALUES(?,?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)q->id);
    sqlite3_bind_text(s, 2, q->account, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, q->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, q->region, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, q->set.fifo);
    sqlite3_bind_text(s, 6, at ? at : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, tg ? tg : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, q->created_ms);
    sqlite3_bind_int64(s, 9, q->modified_ms);
    sqlite3_bind_int64(s, 10, q->purged_ms);
    sqs__step(st, s);
    free(at);
    free(tg);
}

/* ==== loading ==== */

static const char *col_text(sqlite3_stmt *s, int i) { return (const char *)sqlite3_column_text(s, i); }

static strv_t col_view(sqlite3_stmt *s, int i)
{
    const char *p = (const char *)sqlite3_column_blob(s, i);
    int n = sqlite3_column_bytes(s, i);
    return p ? (strv_t){p, (size_t)n} : STRV_NULL;
}

static int load_queues(sqs_state_t *st)
{
    sqlite3_stmt *s = store_stmt(st->store,
                                 "SELECT id, account, name, region, fifo, attrs, tags, created_ms, modified_ms, purged_ms"
                                 " FROM sqs_queues");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(s, 0);
        bool fifo = sqlite3_column_int(s, 4) != 0;
        sqs_settings_t set;
        sqs__settings_defaults(&set, fifo);
        json_t *attrs = json_loads(col_text(s, 5), 0, NULL);
        sqs__settings_load(&set, attrs, fifo);
        json_decref(attrs);
        sqs_queue_t *q = sqs__queue_new(st, id, col_text(s, 1), col_text(s, 2), col_text(s, 3), &set);
        json_t *tags = json_loads(col_text(s, 6), 0, NULL);
        if (json_is_object(tags)) {
            json_decref(q->tags);
            q->tags = tags;
        } else {
            json_decref(tags);
        }
        q->created_ms = sqlite3_column_int64(s, 7);
        q->modified_ms = sqlite3_column_int64(s, 8);
        q->purged_ms = sqlite3_column_int64(s, 9);
        if (id >= st->next_queue_id)
            st->next_queue_id = id + 1;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : KYOKA_ESTORE;
}

static int cmp_qid(const void *a, const void *b)
{
    uint64_t x = (*(sqs_queue_t *const *)a)->id, y = (*(sqs_queue_t *const *)b)->id;
    return x < y ? -1 : x > y;
}

static sqs_queue_t *find_qid(sqs_queue_t **byid, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (byid[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && byid[lo]->id == id ? byid[lo] : NULL;
}

int sqs__store_load(sqs_state_t *st, char *err, size_t errcap)
{
    int64_t now = kyoka_clock_now_ms();
    if (load_queues(st) != 0) {
        snprintf(err, errcap, "cannot read sqs_queues: %s", sqlite3_errmsg(store_db(st->store)));
        return KYOKA_ESTORE;
    }

    /* Queues by id, for placing messages. */
    size_t nq = st->queues.n, k = 0;
    sqs_queue_t **byid = xcalloc(nq ? nq : 1, sizeof *byid);
    size_t b = 0;
    for (sqs_snode_t *n = NULL; (n = sqs__smap_next(&st->queues, &b, n));)
        byid[k++] = container_of(n, sqs_queue_t, node);
    qsort(byid, nq, sizeof *byid, cmp_qid);

    sqlite3_stmt *s = store_stmt(st->store,
                                 "SELECT id, queue_id, message_id, body, attrs, sender, trace, group_id, dedup_id, dlq_src,"
                                 " sent_ms, visible_at, seq_no, receive_count, receipt_seq, first_recv_ms, last_recv_ms"
                                 " FROM sqs_messages ORDER BY seq_no");
    int rc;
    size_t orphans = 0, loaded = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t qid = (uint64_t)sqlite3_column_int64(s, 1);
        sqs_queue_t *q = find_qid(byid, nq, qid);
        uint64_t id = (uint64_t)sqlite3_column_int64(s, 0);
        uint64_t seq_no = (uint64_t)sqlite3_column_int64(s, 12);
        if (id >= st->next_msg_id)
            st->next_msg_id = id + 1;
        if (seq_no >= st->next_msg_id)
            st->next_msg_id = seq_no + 1;
        if (!q) {
            orphans++;
            continue;
        }
        sqs_msg_init_t in = {
            .body = col_view(s, 3),
            .attrs = col_view(s, 4),
            .sender = col_view(s, 5),
            .trace = col_view(s, 6),
            .group = col_view(s, 7),
            .dedup = col_view(s, 8),
        };
        if (!in.body.p)
            in.body = STRV_LIT("");
        sqs_msg_t *m = sqs__msg_alloc(st, &in);
        m->id = id;
        const char *mid = col_text(s, 2);
        snprintf(m->message_id, sizeof m->message_id, "%s", mid ? mid : "");
        const char *src = col_text(s, 9);
        m->dlq_src = src ? xstrdup(src) : NULL;
        m->sent_ms = sqlite3_column_int64(s, 10);
        int64_t vis = sqlite3_column_int64(s, 11);
        m->seq_no = seq_no;
        m->receive_count = (uint32_t)sqlite3_column_int64(s, 13);
        m->receipt_seq = (uint32_t)sqlite3_column_int64(s, 14);
        m->first_recv_ms = sqlite3_column_int64(s, 15);
        m->last_recv_ms = sqlite3_column_int64(s, 16);
        /* In flight or delayed until a deadline still ahead; everything
         * else is visible again. */
        if (vis > now) {
            m->visible_at = vis;
            m->state = m->receive_count > 0 ? SQS_INFLIGHT : SQS_DELAYED;
        } else {
            m->state = SQS_READY;
        }
        sqs__msg_index(st, m);
        sqs__msg_place(q, m);
        loaded++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        free(byid);
        snprintf(err, errcap, "cannot read sqs_messages: %s", sqlite3_errmsg(store_db(st->store)));
        return KYOKA_ESTORE;
    }
    if (orphans)
        log_warn("sqs: %zu stored messages belong to no queue; ignored", orphans);

    /* FIFO deduplication windows still open. */
    s = store_stmt(st->store, "SELECT queue_id, dkey, message_id, seq_no, expires_ms FROM sqs_dedup ORDER BY expires_ms");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        uint64_t qid = (uint64_t)sqlite3_column_int64(s, 0);
        int64_t exp = sqlite3_column_int64(s, 4);
        if (exp <= now)
            continue;
        sqs_queue_t *q = find_qid(byid, nq, qid);
        if (q && col_text(s, 1) && col_text(s, 2))
            sqs__dedup_add(q, col_text(s, 1), col_text(s, 2), (uint64_t)sqlite3_column_int64(s, 3), exp, false);
    }
    sqlite3_reset(s);
    free(byid);

    /* Names deleted less than a minute ago (QueueDeletedRecently). */
    s = store_stmt(st->store, "SELECT qkey, deleted_ms FROM sqs_deleted");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t when = sqlite3_column_int64(s, 1);
        const char *key = col_text(s, 0);
        if (!key || when + SQS_DELETED_RECENTLY_MS <= now)
            continue;
        size_t kl = strlen(key);
        sqs_deleted_t *d = xcalloc(1, sizeof *d + kl + 1);
        memcpy(d->key, key, kl);
        d->node.key = d->key;
        d->node.klen = kl;
        d->deleted_ms = when;
        sqs__smap_put(&st->deleted, &d->node);
    }
    sqlite3_reset(s);

    /* Move tasks; running ones resume. */
    s = store_stmt(st->store,
                   "SELECT id, handle, source_arn, dest_arn, rate, status, started_ms, moved, to_move, failure"
                   " FROM sqs_tasks ORDER BY started_ms");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sqs_task_t *t = xcalloc(1, sizeof *t);
        t->st = st;
        snprintf(t->id, sizeof t->id, "%s", col_text(s, 0) ? col_text(s, 0) : "");
        t->handle = xstrdup(col_text(s, 1) ? col_text(s, 1) : "");
        t->source_arn = xstrdup(col_text(s, 2) ? col_text(s, 2) : "");
        t->dest_arn = col_text(s, 3) ? xstrdup(col_text(s, 3)) : NULL;
        t->rate = sqlite3_column_int(s, 4);
        t->status = (sqs_task_status_t)sqlite3_column_int(s, 5);
        t->started_ms = sqlite3_column_int64(s, 6);
        t->moved = sqlite3_column_int64(s, 7);
        t->to_move = sqlite3_column_int64(s, 8);
        t->failure = col_text(s, 9) ? xstrdup(col_text(s, 9)) : NULL;
        sqs_list_push(&st->tasks, &t->link);
    }
    sqlite3_reset(s);
    for (sqs_link_t *l = st->tasks.next; l != &st->tasks; l = l->next) {
        sqs_task_t *t = container_of(l, sqs_task_t, link);
        if (t->status == SQS_TASK_RUNNING)
            sqs__task_resume(t);
    }
    if (loaded)
        log_info("sqs: loaded %zu queues and %zu messages", st->queues.n, loaded);
    return 0;
}

/* ==== dropping memory ==== */

void sqs__state_clear(sqs_state_t *st)
{
    /* Queues first: answering their waiters needs the queues alive. */
    size_t b = 0;
    sqs_snode_t *n = NULL;
    for (n = sqs__smap_next(&st->queues, &b, NULL); n;) {
        sqs_queue_t *q = container_of(n, sqs_queue_t, node);
        sqs__waiters_flush(q);
        n = sqs__smap_next(&st->queues, &b, n);
    }
    for (size_t i = 0; i < st->queues.nb; i++) {
        sqs_snode_t *x = st->queues.b[i];
        while (x) {
            sqs_snode_t *next = x->next;
            sqs__queue_free(container_of(x, sqs_queue_t, node));
            x = next;
        }
    }
    sqs__smap_free(&st->queues);
    free(st->msgs);
    st->msgs = NULL;
    st->msgs_nb = st->msgs_n = 0;
    for (size_t i = 0; i < st->deleted.nb; i++) {
        sqs_snode_t *x = st->deleted.b[i];
        while (x) {
            sqs_snode_t *next = x->next;
            free(container_of(x, sqs_deleted_t, node));
            x = next;
        }
    }
    sqs__smap_free(&st->deleted);
    while (!sqs_list_empty(&st->tasks)) {
        sqs_task_t *t = container_of(st->tasks.next, sqs_task_t, link);
        sqs_list_unlink(&t->link);
        sqs__task_free(t);
    }
    while (!sqs_list_empty(&st->kicked)) {
        sqs_link_t *l = st->kicked.next;
        sqs_list_unlink(l);
    }
    dq_remove(&st->dq, &st->kick);
}

/* A batch this service wrote to failed to commit: memory is ahead of the
 * store, so start again from the store. */
static void on_batch_done(void *data, int status)
{
    batch_watch_t *w = data;
    sqs_state_t *st = w->st;
    if (st)
        sqs_list_unlink(&w->link);
    free(w);
    if (!st || status == 0 || st->closing)
        return;
    log_warn("sqs: a store batch failed to commit; reloading SQS state from the store");
    sqs__state_clear(st);
    st->next_msg_id = st->next_msg_id ? st->next_msg_id : 1;
    char err[256] = "";
    if (sqs__store_load(st, err, sizeof err) != 0)
        log_error("sqs: reload failed: %s", err);
}
