/*
 * The durable delivery queue (see evq.h): rows in the store, a FIFO of
 * items ready to send, a min-heap of items waiting for their retry on the
 * server clock, and one timer for the earliest of them.
 */
#include "evq.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)

struct evq {
    kyoka_ctx_t *ctx;
    char svc[16];
    evq_consumer_t consumer;
    evq_item_t *head, *tail;  /* ready */
    evq_item_t **delayed;     /* min-heap on due_ms */
    size_t ndelayed, capdelayed;
    size_t inflight;
    uv_timer_t *timer;
    bool pumping, stopped;
    uint64_t generation;      /* moves on reset: answers for older items are strays */
    uint64_t accepted, delivered, retried, dead, dlq_failed;
};

static void pump(evq_t *q);

/* ==== store ==== */

static const char *const migrations[] = {
    /* AUTOINCREMENT: a row id is never reused, so it can name a delivery
     * (a FIFO target's MessageDeduplicationId) across restarts. */
    "CREATE TABLE evq_items ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  svc TEXT NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  region TEXT NOT NULL,"
    "  payload BLOB NOT NULL,"
    "  event BLOB,"
    "  enqueued_ms INTEGER NOT NULL,"
    "  due_ms INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0)",
};

static void row_insert(evq_t *q, evq_item_t *it)
{
    store_t *s = q->ctx->store;
    store_write_begin(s);
    sqlite3_stmt *st = store_stmt(s, "INSERT INTO evq_items(svc, owner, target, region, payload, event, enqueued_ms, "
                                     "due_ms) VALUES(?,?,?,?,?,?,?,?)");
    sqlite3_bind_text(st, 1, q->svc, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, it->owner, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, it->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, it->region, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, it->payload, (int)it->len, SQLITE_STATIC);
    if (it->event)
        sqlite3_bind_blob(st, 6, it->event, (int)it->elen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, it->enqueued_ms);
    sqlite3_bind_int64(st, 8, it->due_ms);
    if (sqlite3_step(st) != SQLITE_DONE)
        log_error("%s: could not queue a delivery: %s", q->svc, sqlite3_errmsg(store_db(s)));
    it->id = sqlite3_last_insert_rowid(store_db(s));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void row_update(evq_t *q, const evq_item_t *it)
{
    store_t *s = q->ctx->store;
    store_write_begin(s);
    sqlite3_stmt *st = store_stmt(s, "UPDATE evq_items SET due_ms = ?, attempts = ? WHERE id = ?");
    sqlite3_bind_int64(st, 1, it->due_ms);
    sqlite3_bind_int(st, 2, it->attempts);
    sqlite3_bind_int64(st, 3, it->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        log_error("%s: could not update a delivery: %s", q->svc, sqlite3_errmsg(store_db(s)));
    sqlite3_reset(st);
}

static void row_delete(evq_t *q, int64_t id)
{
    store_t *s = q->ctx->store;
    store_write_begin(s);
    sqlite3_stmt *st = store_stmt(s, "DELETE FROM evq_items WHERE id = ?");
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE)
        log_error("%s: could not remove a delivery: %s", q->svc, sqlite3_errmsg(store_db(s)));
    sqlite3_reset(st);
}

/* ==== items ==== */

static void item_free(evq_item_t *it)
{
    if (!it)
        return;
    free(it->owner);
    free(it->target);
    json_decref(it->target_j);
    free(it->region);
    free(it->payload);
    free(it->event);
    free(it);
}

static void ready_push(evq_t *q, evq_item_t *it)
{
    it->next = NULL;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
}

static evq_item_t *ready_pop(evq_t *q)
{
    evq_item_t *it = q->head;
    if (it) {
        q->head = it->next;
        if (!q->head)
            q->tail = NULL;
        it->next = NULL;
    }
    return it;
}

static bool heap_less(const evq_item_t *a, const evq_item_t *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->id < b->id);
}

static void delayed_push(evq_t *q, evq_item_t *it)
{
    if (q->ndelayed == q->capdelayed) {
        q->capdelayed = q->capdelayed ? q->capdelayed * 2 : 64;
        q->delayed = xrealloc(q->delayed, q->capdelayed * sizeof *q->delayed);
    }
    size_t i = q->ndelayed++;
    while (i > 0 && heap_less(it, q->delayed[(i - 1) / 2])) {
        q->delayed[i] = q->delayed[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->delayed[i] = it;
}

static evq_item_t *delayed_pop(evq_t *q)
{
    evq_item_t *top = q->delayed[0], *last = q->delayed[--q->ndelayed];
    size_t i = 0, n = q->ndelayed;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const evq_item_t *cur = last;
        if (l < n && heap_less(q->delayed[l], cur)) {
            m = l;
            cur = q->delayed[l];
        }
        if (r < n && heap_less(q->delayed[r], cur))
            m = r;
        if (m == i)
            break;
        q->delayed[i] = q->delayed[m];
        i = m;
    }
    if (n)
        q->delayed[i] = last;
    return top;
}

/* ==== retry policy ==== */

static int policy_int(const evq_item_t *it, const char *key, int dflt)
{
    json_t *v = json_object_get(json_object_get(it->target_j, "RetryPolicy"), key);
    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static int64_t backoff_ms(int attempts)
{
    int64_t d = BACKOFF_MIN_MS;
    for (int i = 1; i < attempts && d < BACKOFF_MAX_MS; i++)
        d *= 2;
    return d < BACKOFF_MAX_MS ? d : BACKOFF_MAX_MS;
}

/* ==== running ==== */

void evq_release(evq_item_t *it)
{
    evq_t *q = it->q;
    if (it->generation == q->generation && !q->stopped)
        row_delete(q, it->id);
    item_free(it);
}

static void dead_letter(evq_t *q, evq_item_t *it, const char *code, const char *message, const char *exhausted)
{
    q->dead++;
    q->consumer.dead_letter(q->consumer.data, it, code ? code : "INTERNAL_ERROR", message ? message : "",
                            exhausted);
}

void evq_done(evq_item_t *it, evq_outcome_t outcome, const char *code, const char *message)
{
    evq_t *q = it->q;
    if (it->generation != q->generation || q->stopped) {
        /* Reset dropped it, or kyoka is stopping: the row (if any) is
         * sent again at the next start. */
        if (q->inflight && it->generation == q->generation)
            q->inflight--;
        item_free(it);
        return;
    }
    q->inflight--;
    int64_t now = kyoka_clock_now_ms();
    if (outcome == EVQ_OK) {
        q->delivered++;
        evq_release(it);
    } else if (outcome == EVQ_FAIL) {
        dead_letter(q, it, code, message, NULL);
    } else {
        int retries = policy_int(it, "MaximumRetryAttempts", EVQ_DEFAULT_RETRIES);
        int64_t max_age_ms = (int64_t)policy_int(it, "MaximumEventAgeInSeconds", EVQ_DEFAULT_MAX_AGE_S) * 1000;
        int64_t due = now + backoff_ms(it->attempts);
        if (it->attempts > retries) {
            dead_letter(q, it, code, message, "MaximumRetryAttempts");
        } else if (due - it->enqueued_ms > max_age_ms) {
            dead_letter(q, it, code, message, "MaximumEventAgeInSeconds");
        } else {
            q->retried++;
            it->due_ms = due;
            row_update(q, it);
            delayed_push(q, it);
        }
    }
    pump(q);
}

static void on_timer(uv_timer_t *t) { pump(t->data); }

static void arm_timer(evq_t *q)
{
    if (q->head && q->inflight < EVQ_MAX_INFLIGHT) {
        uv_timer_start(q->timer, on_timer, 0, 0);
        return;
    }
    if (!q->ndelayed) {
        uv_timer_stop(q->timer);
        return;
    }
    int64_t now = kyoka_clock_now_ms(), next = q->delayed[0]->due_ms;
    uv_timer_start(q->timer, on_timer, next > now ? (uint64_t)(next - now) : 0, 0);
}

static void pump(evq_t *q)
{
    if (q->pumping || q->stopped)
        return;
    q->pumping = true;
    int64_t now = kyoka_clock_now_ms();
    while (q->ndelayed && q->delayed[0]->due_ms <= now)
        ready_push(q, delayed_pop(q));
    /* At most EVQ_MAX_INFLIGHT sends are out at once; the rest wait for
     * answers, which pump again. */
    while (q->head && q->inflight < EVQ_MAX_INFLIGHT) {
        evq_item_t *it = ready_pop(q);
        int64_t max_age_ms = (int64_t)policy_int(it, "MaximumEventAgeInSeconds", EVQ_DEFAULT_MAX_AGE_S) * 1000;
        if (now - it->enqueued_ms > max_age_ms) {
            dead_letter(q, it, "TIMEOUT", "The event was older than the target's MaximumEventAgeInSeconds",
                        "MaximumEventAgeInSeconds");
            continue;
        }
        it->attempts++;
        q->inflight++;
        q->consumer.send(q->consumer.data, it);
    }
    q->pumping = false;
    arm_timer(q);
}

void evq_kick(evq_t *q)
{
    if (q)
        pump(q);
}

void evq_add(evq_t *q, const char *owner, const char *target_json, const char *region, const char *payload,
             size_t len, const char *event, size_t elen)
{
    evq_item_t *it = xcalloc(1, sizeof *it);
    it->q = q;
    it->owner = xstrdup(owner);
    it->target = xstrdup(target_json);
    it->target_j = json_loads(target_json, 0, NULL);
    it->region = xstrdup(region);
    it->payload = xstrndup(payload, len);
    it->len = len;
    if (event) {
        it->event = xstrndup(event, elen);
        it->elen = elen;
    }
    it->enqueued_ms = it->due_ms = kyoka_clock_now_ms();
    it->generation = q->generation;
    row_insert(q, it);
    q->accepted++;
    ready_push(q, it);
    /* Send on the next turn: the caller's response waits for nothing. */
    if (!q->pumping && !uv_is_active((uv_handle_t *)q->timer))
        uv_timer_start(q->timer, on_timer, 0, 0);
}

/* ==== lifecycle ==== */

static char *column_dup(sqlite3_stmt *st, int i, size_t *len)
{
    const void *p = sqlite3_column_blob(st, i);
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    if (len)
        *len = n;
    return p || n ? xstrndup(p ? p : "", n) : NULL;
}

evq_t *evq_create(kyoka_ctx_t *ctx, const char *svc, const evq_consumer_t *consumer, char *err, size_t errcap)
{
    if (store_migrate(ctx->store, "evq", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap) != 0)
        return NULL;
    evq_t *q = xcalloc(1, sizeof *q);
    q->ctx = ctx;
    snprintf(q->svc, sizeof q->svc, "%s", svc);
    q->consumer = *consumer;
    q->timer = xcalloc(1, sizeof *q->timer);
    uv_timer_init(ctx->loop, q->timer);
    q->timer->data = q;
    sqlite3_stmt *st = store_stmt(ctx->store, "SELECT id, owner, target, region, payload, event, enqueued_ms, due_ms, "
                                              "attempts FROM evq_items WHERE svc = ? ORDER BY id");
    sqlite3_bind_text(st, 1, svc, -1, SQLITE_STATIC);
    int64_t now = kyoka_clock_now_ms();
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        evq_item_t *it = xcalloc(1, sizeof *it);
        it->q = q;
        it->id = sqlite3_column_int64(st, 0);
        it->owner = column_dup(st, 1, NULL);
        it->target = column_dup(st, 2, NULL);
        it->target_j = json_loads(it->target, 0, NULL);
        it->region = column_dup(st, 3, NULL);
        it->payload = column_dup(st, 4, &it->len);
        if (!it->payload)
            it->payload = xstrdup("");
        it->event = column_dup(st, 5, &it->elen);
        it->enqueued_ms = sqlite3_column_int64(st, 6);
        it->due_ms = sqlite3_column_int64(st, 7);
        it->attempts = sqlite3_column_int(st, 8);
        if (it->due_ms > now)
            delayed_push(q, it);
        else
            ready_push(q, it);
        n++;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (n)
        log_info("%s: %zu deliveries pending from the last run", svc, n);
    /* Start once the loop runs (every service exists by then). */
    uv_timer_start(q->timer, on_timer, 0, 0);
    return q;
}

static void drop_all(evq_t *q)
{
    evq_item_t *it;
    while ((it = ready_pop(q)))
        item_free(it);
    while (q->ndelayed)
        item_free(delayed_pop(q));
}

void evq_stop(evq_t *q)
{
    if (!q)
        return;
    q->stopped = true;
    uv_timer_stop(q->timer);
}

void evq_reset(evq_t *q)
{
    if (!q)
        return;
    q->generation++;
    q->inflight = 0;
    drop_all(q);
    store_write_begin(q->ctx->store);
    sqlite3_stmt *st = store_stmt(q->ctx->store, "DELETE FROM evq_items WHERE svc = ?");
    sqlite3_bind_text(st, 1, q->svc, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        log_error("%s: could not clear the delivery queue", q->svc);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

static void on_timer_closed(uv_handle_t *h) { free(h); }

void evq_free(evq_t *q)
{
    if (!q)
        return;
    drop_all(q);
    free(q->delayed);
    uv_close((uv_handle_t *)q->timer, on_timer_closed);
    free(q);
}

json_t *evq_summary(const evq_t *q)
{
    json_int_t ready = 0;
    for (evq_item_t *it = q ? q->head : NULL; it; it = it->next)
        ready++;
    if (!q)
        return json_object();
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "accepted", (json_int_t)q->accepted, "delivered",
                     (json_int_t)q->delivered, "retried", (json_int_t)q->retried, "deadLettered", (json_int_t)q->dead,
                     "ready", ready, "delayed", (json_int_t)q->ndelayed, "inflight", (json_int_t)q->inflight,
                     "dlqFailed", (json_int_t)q->dlq_failed);
}
