/*
 * Asynchronous invocation: Lambda's own event queue
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html).
 *
 * Invoke with InvocationType Event writes the event to the store and
 * answers 202 only once that row is durable, so an accepted event survives
 * kill -9; every row still here at start-up runs again (at least once, as
 * AWS promises). A separate pump hands events to the runtime as concurrency
 * allows:
 *   - a function error (the code failed, timed out, crashed) is retried
 *     MaximumRetryAttempts times (0 to 2, default 2), one minute before the
 *     second attempt and two minutes before the third;
 *   - a throttle or a system error puts the event back: the function's
 *     queue waits from 1 second, doubling, to 5 minutes, and starts again
 *     as soon as one of its invocations finishes (capacity came back);
 *   - an event older than MaximumEventAgeInSeconds (default 6 hours) is
 *     discarded with the condition EventAgeExceeded;
 *   - reserved concurrency 0 sends new events straight to failure.
 * Delays are on the server clock, so a test advances the clock instead of
 * sleeping (clock_moved pumps at once).
 *
 * When an event is done, its record goes to the OnSuccess or OnFailure
 * destination and a failed event's payload to the DeadLetterConfig queue,
 * through pipes under the function's execution role: a role that may not
 * write there loses the record, as on AWS, and the log says which decision
 * refused it. The row goes only once every delivery has answered.
 */
#include "internal.h"

#include "pipes/pipes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define ASYNC_DEFAULT_RETRIES 2
#define ASYNC_DEFAULT_MAX_AGE_S 21600
#define ASYNC_BACKOFF_MIN_MS 1000
#define ASYNC_BACKOFF_MAX_MS (5 * 60 * 1000)
/* The first 1 KB of the error message goes into the DLQ's ErrorMessage. */
#define ASYNC_DLQ_MESSAGE_MAX 1024

typedef struct async_q async_q_t;

typedef struct async_ev {
    int64_t id;           /* the row */
    char *region, *name;
    char *qualifier;      /* as invoked; NULL for the unqualified function */
    char request_id[37];
    int64_t enqueued_ms;  /* server clock */
    int64_t due_ms;       /* when delayed: the next attempt */
    int runs;             /* attempts that ran the function */
    int system_errors;    /* in a row, for the delay */
    int64_t started_ms;   /* when the last attempt started (server clock) */
    async_q_t *q;
    lambda_async_t *as;
    char *payload;        /* while running: the event as sent */
    size_t len;
    char *executed;       /* while running: the version that runs */
    uint64_t generation;  /* the queue's generation when it was queued */
    struct async_ev *next;
} async_ev_t;

/* One function's queue: events ready to run in order, and how many run. */
struct async_q {
    char *region, *name;
    async_ev_t *head, *tail;
    int running;
    int throttles;        /* in a row */
    int64_t blocked_until_ms;
    async_q_t *next;
};

struct lambda_async {
    lambda_state_t *st;
    async_q_t *queues;
    async_ev_t **delayed; /* min-heap on due_ms */
    size_t ndelayed, capdelayed;
    uv_timer_t *timer;
    bool pumping;
    bool stopped;         /* shutting down: nothing new starts */
    uint64_t generation;  /* moves on reset: older events are strays */
    uint64_t accepted, completed, succeeded, failed, retried;
};

/* A finished event's deliveries: the row goes when the last answers. */
typedef struct async_finish {
    lambda_async_t *as;
    int64_t id;
    int pending;
    char *role;           /* for the log */
} async_finish_t;

static void pump(lambda_async_t *as);

/* ==== store ==== */

static void row_insert(lambda_async_t *as, async_ev_t *ev, const void *payload, size_t len)
{
    store_t *s = as->st->store;
    store_write_begin(s);
    sqlite3_stmt *q = store_stmt(s,
                                 "INSERT INTO lambda_async(region, name, qualifier, request_id, payload, enqueued_ms, "
                                 "due_ms, runs) VALUES(?,?,?,?,?,?,?,0)");
    sqlite3_bind_text(q, 1, ev->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, ev->name, -1, SQLITE_STATIC);
    if (ev->qualifier)
        sqlite3_bind_text(q, 3, ev->qualifier, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, ev->request_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(q, 5, payload, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, ev->enqueued_ms);
    sqlite3_bind_int64(q, 7, ev->due_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("lambda: could not queue an event: %s", sqlite3_errmsg(store_db(s)));
    ev->id = sqlite3_last_insert_rowid(store_db(s));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

static void row_update(lambda_async_t *as, const async_ev_t *ev)
{
    store_t *s = as->st->store;
    store_write_begin(s);
    sqlite3_stmt *q = store_stmt(s, "UPDATE lambda_async SET due_ms = ?, runs = ? WHERE id = ?");
    sqlite3_bind_int64(q, 1, ev->due_ms);
    sqlite3_bind_int(q, 2, ev->runs);
    sqlite3_bind_int64(q, 3, ev->id);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("lambda: could not update a queued event: %s", sqlite3_errmsg(store_db(s)));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

static void row_delete(lambda_async_t *as, int64_t id)
{
    store_t *s = as->st->store;
    store_write_begin(s);
    sqlite3_stmt *q = store_stmt(s, "DELETE FROM lambda_async WHERE id = ?");
    sqlite3_bind_int64(q, 1, id);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("lambda: could not remove a queued event: %s", sqlite3_errmsg(store_db(s)));
    sqlite3_reset(q);
}

/* The payload of a queued event (malloc'd), or NULL when the row is gone. */
static char *row_payload(lambda_async_t *as, int64_t id, size_t *len)
{
    sqlite3_stmt *q = store_stmt(as->st->store, "SELECT payload FROM lambda_async WHERE id = ?");
    sqlite3_bind_int64(q, 1, id);
    char *p = NULL;
    if (sqlite3_step(q) == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(q, 0);
        p = xmalloc(*len + 1);
        if (*len)
            memcpy(p, sqlite3_column_blob(q, 0), *len);
        p[*len] = '\0';
    }
    sqlite3_reset(q);
    return p;
}

/* ==== queues ==== */

static async_q_t *queue_get(lambda_async_t *as, const char *region, const char *name)
{
    for (async_q_t *q = as->queues; q; q = q->next)
        if (strcmp(q->name, name) == 0 && strcmp(q->region, region) == 0)
            return q;
    async_q_t *q = xcalloc(1, sizeof *q);
    q->region = xstrdup(region);
    q->name = xstrdup(name);
    q->next = as->queues;
    as->queues = q;
    return q;
}

static void ready_push(async_q_t *q, async_ev_t *ev, bool front)
{
    ev->q = q;
    if (front) {
        ev->next = q->head;
        q->head = ev;
        if (!q->tail)
            q->tail = ev;
        return;
    }
    ev->next = NULL;
    if (q->tail)
        q->tail->next = ev;
    else
        q->head = ev;
    q->tail = ev;
}

static async_ev_t *ready_pop(async_q_t *q)
{
    async_ev_t *ev = q->head;
    if (ev) {
        q->head = ev->next;
        if (!q->head)
            q->tail = NULL;
        ev->next = NULL;
    }
    return ev;
}

static bool heap_less(const async_ev_t *a, const async_ev_t *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->id < b->id);
}

static void delayed_push(lambda_async_t *as, async_ev_t *ev)
{
    if (as->ndelayed == as->capdelayed) {
        as->capdelayed = as->capdelayed ? as->capdelayed * 2 : 64;
        as->delayed = xrealloc(as->delayed, as->capdelayed * sizeof *as->delayed);
    }
    size_t i = as->ndelayed++;
    while (i > 0 && heap_less(ev, as->delayed[(i - 1) / 2])) {
        as->delayed[i] = as->delayed[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    as->delayed[i] = ev;
}

static async_ev_t *delayed_pop(lambda_async_t *as)
{
    async_ev_t *top = as->delayed[0], *last = as->delayed[--as->ndelayed];
    size_t i = 0, n = as->ndelayed;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const async_ev_t *cur = last;
        if (l < n && heap_less(as->delayed[l], cur)) {
            m = l;
            cur = as->delayed[l];
        }
        if (r < n && heap_less(as->delayed[r], cur))
            m = r;
        if (m == i)
            break;
        as->delayed[i] = as->delayed[m];
        i = m;
    }
    if (n)
        as->delayed[i] = last;
    return top;
}

static void ev_free(async_ev_t *ev)
{
    if (!ev)
        return;
    free(ev->region);
    free(ev->name);
    free(ev->qualifier);
    free(ev->payload);
    free(ev->executed);
    free(ev);
}

/* ==== event invoke configuration ==== */

/* The EventInvokeConfig that governs an event: its qualifier's ($LATEST
 * for the unqualified function), or NULL. */
static json_t *event_config(lambda_fn_t *fn, const char *qualifier)
{
    return json_object_get(fn->event_configs, qualifier ? qualifier : "$LATEST");
}

static int config_int(json_t *cfg, const char *key, int dflt)
{
    json_t *v = json_object_get(cfg, key);
    return json_is_integer(v) ? (int)json_integer_value(v) : dflt;
}

static const char *destination_of(json_t *cfg, const char *which)
{
    const char *d = json_string_value(
        json_object_get(json_object_get(json_object_get(cfg, "DestinationConfig"), which), "Destination"));
    return d && *d ? d : NULL;
}

/* ==== finishing: records, destinations, dead-letter queue ==== */

static json_t *parse_or_string(const char *p, size_t n)
{
    if (!p)
        return json_null();
    json_t *j = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    return j ? j : json_stringn_nocheck(p, n);
}

/* AWS's invocation record (invocation-async-retain-records). */
static char *invocation_record(lambda_fn_t *fn, const async_ev_t *ev, const char *condition, const char *payload,
                               size_t len, const lambda_invoke_result_t *res, size_t *out_len)
{
    char ts[64];
    kyoka_time_iso8601(kyoka_clock_now_ms(), ts, true);
    const char *version = ev->executed ? ev->executed : "$LATEST";
    json_t *rc = json_pack("{s:s,s:s,s:s,s:i}", "requestId", ev->request_id, "functionArn", "", "condition",
                           condition, "approximateInvokeCount", ev->runs);
    json_object_set_new(rc, "functionArn", json_sprintf("%s:%s", fn->arn, version));
    json_t *rec = json_pack("{s:s,s:s,s:o}", "version", "1.0", "timestamp", ts, "requestContext", rc);
    json_object_set_new(rec, "requestPayload", parse_or_string(payload, len));
    if (res && res->status == LAMBDA_RUN_OK) {
        json_t *resp = json_pack("{s:i,s:s}", "statusCode", 200, "executedVersion", version);
        if (res->function_error)
            json_object_set_new(resp, "functionError", json_string(res->function_error));
        json_object_set_new(rec, "responseContext", resp);
        json_object_set_new(rec, "responsePayload", parse_or_string(res->payload, res->len));
    }
    char *text = proto_json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    *out_len = strlen(text);
    return text;
}

static void finish_release(async_finish_t *f)
{
    if (--f->pending > 0)
        return;
    row_delete(f->as, f->id);
    free(f->role);
    free(f);
}

static void on_delivered(void *data, const svc_call_t *c)
{
    async_finish_t *f = data;
    if (c->error.code)
        log_warn("lambda: %s could not deliver to %s, the record is lost: %s: %s (decision %s)",
                 f->role ? f->role : "the function", c->resource_arn ? c->resource_arn : "its destination",
                 c->error.code, aws_error_text(&c->error), c->decision_id ? c->decision_id : "-");
    finish_release(f);
}

static const auth_cred_t *role_cred(lambda_state_t *st, lambda_fn_t *fn)
{
    return fn->akid ? auth_store_lookup(st->ctx->creds, strv_from(fn->akid)) : NULL;
}

static void deliver(lambda_async_t *as, async_finish_t *f, lambda_fn_t *fn, const char *arn, const char *doc,
                    size_t len)
{
    const auth_cred_t *cred = role_cred(as->st, fn);
    if (!cred) {
        log_warn("lambda: %s has no execution role session: the record for %s is lost", fn->name, arn);
        return;
    }
    svc_caller_t who = {.cred = cred, .region = fn->region};
    f->pending++;
    pipes_dest_t d;
    if (pipes_dest_parse(arn, &d) == PIPES_DEST_EVENTS && pipes_dest_served(as->st->ctx, &d)) {
        /* https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html:
         * source "lambda", the record as detail, the function and the
         * destination as resources. */
        bool ok = strstr(doc, "\"condition\":\"Success\"") != NULL;
        pipes_put_event(as->st->ctx, &who, arn, "lambda",
                        ok ? "Lambda Function Invocation Result - Success" : "Lambda Function Invocation Result - Failure",
                        doc, len, json_pack("[s,s]", fn->arn, arn), on_delivered, f);
        return;
    }
    if (pipes_deliver(as->st->ctx, &who, arn, doc, len, on_delivered, f) != 0) {
        f->pending--;
        log_warn("lambda: kyoka does not serve the destination %s yet: the record of %s is dropped", arn, fn->name);
    }
}

static void deliver_dlq(lambda_async_t *as, async_finish_t *f, lambda_fn_t *fn, const char *arn, const async_ev_t *ev,
                        const char *payload, size_t len, const lambda_invoke_result_t *res)
{
    const auth_cred_t *cred = role_cred(as->st, fn);
    pipes_dest_t d;
    if (!cred || pipes_dest_parse(arn, &d) != PIPES_DEST_SQS || !pipes_dest_served(as->st->ctx, &d)) {
        log_warn("lambda: the dead-letter target %s of %s is not an SQS queue kyoka serves: the event is dropped",
                 arn, fn->name);
        return;
    }
    /* ErrorMessage: the function's errorMessage, else its whole answer. */
    const char *msg = "Event was throttled or expired before it could run";
    char *owned = NULL;
    if (res && res->status == LAMBDA_RUN_OK && res->payload) {
        json_t *j = json_loadb(res->payload, res->len, JSON_DECODE_ANY, NULL);
        const char *m = json_string_value(json_object_get(j, "errorMessage"));
        owned = m ? xstrdup(m) : xstrndup(res->payload, res->len);
        json_decref(j);
        msg = owned;
    }
    char trimmed[ASYNC_DLQ_MESSAGE_MAX + 1];
    snprintf(trimmed, sizeof trimmed, "%s", msg);
    free(owned);
    const char *code = res && res->status == LAMBDA_RUN_OK ? "200" : "429";
    json_t *attrs = json_pack("{s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s}}", "RequestID", "DataType", "String",
                              "StringValue", ev->request_id, "ErrorCode", "DataType", "Number", "StringValue", code,
                              "ErrorMessage", "DataType", "String", "StringValue", trimmed[0] ? trimmed : "-");
    svc_caller_t who = {.cred = cred, .region = fn->region};
    f->pending++;
    pipes_sqs_send(as->st->ctx, &who, arn, payload, len, attrs, on_delivered, f);
}

/* The event is done: its record to the destination for condition, a
 * failure's payload to the DLQ, then the row goes. */
static void finish_event(lambda_async_t *as, async_ev_t *ev, const char *condition, const lambda_invoke_result_t *res)
{
    lambda_state_t *st = as->st;
    bool ok = strcmp(condition, "Success") == 0;
    if (ok)
        as->succeeded++;
    else
        as->failed++;
    as->completed++;
    async_finish_t *f = xcalloc(1, sizeof *f);
    f->as = as;
    f->id = ev->id;
    f->pending = 1;
    lambda_fn_t *fn = lambda__fn_lookup(st, ev->region, ev->name);
    if (fn) {
        json_t *cfg = event_config(fn, ev->qualifier);
        const char *dest = destination_of(cfg, ok ? "OnSuccess" : "OnFailure");
        lambda_version_t *v = lambda__version_lookup(fn, ev->executed ? ev->executed : "$LATEST");
        const char *dlq = ok || !v ? NULL
                                   : json_string_value(json_object_get(json_object_get(v->config, "DeadLetterConfig"),
                                                                       "TargetArn"));
        if (dlq && !*dlq)
            dlq = NULL;
        f->role = fn->role_arn ? xstrdup(fn->role_arn) : NULL;
        size_t plen = ev->len;
        char *payload = ev->payload ? NULL : row_payload(as, ev->id, &plen);
        const char *p = ev->payload ? ev->payload : payload;
        if ((dest || dlq) && !fn->akid) {
            /* An event that never ran has no session yet. */
            arena_t a;
            arena_init(&a);
            svc_call_t c = {.ctx = st->ctx, .state = st, .arena = &a, .region = fn->region, .internal = true};
            const char *role = v ? json_string_value(json_object_get(v->config, "Role")) : NULL;
            if (role)
                lambda__role_session(&c, fn, role);
            arena_destroy(&a);
        }
        if (dest && p) {
            size_t rlen;
            char *rec = invocation_record(fn, ev, condition, p, plen, res, &rlen);
            deliver(as, f, fn, dest, rec, rlen);
            free(rec);
        }
        if (dlq && p)
            deliver_dlq(as, f, fn, dlq, ev, p, plen, res);
        free(payload);
    }
    ev_free(ev);
    finish_release(f);
}

/* ==== running ==== */

static int64_t backoff_ms(int n)
{
    int64_t d = ASYNC_BACKOFF_MIN_MS;
    for (int i = 0; i < n && d < ASYNC_BACKOFF_MAX_MS; i++)
        d *= 2;
    return d < ASYNC_BACKOFF_MAX_MS ? d : ASYNC_BACKOFF_MAX_MS;
}

static void delay(lambda_async_t *as, async_ev_t *ev, int64_t ms)
{
    ev->due_ms = kyoka_clock_now_ms() + ms;
    free(ev->payload);
    ev->payload = NULL;
    free(ev->executed);
    ev->executed = NULL;
    row_update(as, ev);
    delayed_push(as, ev);
}

static void on_run_done(void *data, const lambda_invoke_result_t *res)
{
    async_ev_t *ev = data;
    lambda_async_t *as = ev->as;
    if (ev->generation != as->generation || as->stopped) {
        /* Reset dropped its queue, or kyoka is stopping: its row (if any)
         * runs again at the next start. */
        ev_free(ev);
        return;
    }
    async_q_t *q = ev->q;
    q->running--;
    /* Capacity came back: every waiting queue may try again. */
    for (async_q_t *o = as->queues; o; o = o->next)
        o->blocked_until_ms = 0;
    if (res->status == LAMBDA_RUN_THROTTLED) {
        q->throttles++;
        q->blocked_until_ms = kyoka_clock_now_ms() + backoff_ms(q->throttles - 1);
        free(ev->payload);
        ev->payload = NULL;
        ready_push(q, ev, true);
    } else if (res->status == LAMBDA_RUN_SERVICE_ERROR) {
        log_warn("lambda: %s could not run an event (%s): retrying", ev->name,
                 res->error_message ? res->error_message : "service error");
        delay(as, ev, backoff_ms(ev->system_errors++));
    } else if (res->function_error) {
        lambda_fn_t *fn = lambda__fn_lookup(as->st, ev->region, ev->name);
        int retries = fn ? config_int(event_config(fn, ev->qualifier), "MaximumRetryAttempts", ASYNC_DEFAULT_RETRIES)
                         : 0;
        if (ev->runs > retries) {
            finish_event(as, ev, "RetriesExhausted", res);
        } else {
            as->retried++;
            /* One minute between the first two attempts, two between the
             * second and third, counted from the start of the attempt that
             * failed (so the wait does not stretch with a slow failure). */
            int64_t wait = (ev->runs == 1 ? 60000 : 120000) - (kyoka_clock_now_ms() - ev->started_ms);
            delay(as, ev, wait > 0 ? wait : 0);
        }
    } else {
        finish_event(as, ev, "Success", res);
    }
    pump(as);
}

typedef enum { RUN_STARTED, RUN_THROTTLED, RUN_GONE } run_outcome_t;

/* Hand one event to the runtime. */
static run_outcome_t run_one(lambda_async_t *as, async_ev_t *ev)
{
    lambda_state_t *st = as->st;
    lambda_fn_t *fn = lambda__fn_lookup(st, ev->region, ev->name);
    if (!fn || !st->has_invoker) {
        log_info("lambda: %s no longer exists: its queued event %s is dropped", ev->name, ev->request_id);
        row_delete(as, ev->id);
        ev_free(ev);
        return RUN_GONE;
    }
    json_t *cfg = event_config(fn, ev->qualifier);
    int64_t max_age_ms = (int64_t)config_int(cfg, "MaximumEventAgeInSeconds", ASYNC_DEFAULT_MAX_AGE_S) * 1000;
    if (kyoka_clock_now_ms() - ev->enqueued_ms > max_age_ms) {
        finish_event(as, ev, "EventAgeExceeded", NULL);
        return RUN_GONE;
    }
    if (fn->reserved == 0) {
        /* Reserved concurrency 0: straight to failure, without retries. */
        finish_event(as, ev, "RetriesExhausted", NULL);
        return RUN_GONE;
    }
    if (!ev->payload)
        ev->payload = row_payload(as, ev->id, &ev->len);
    if (!ev->payload) {
        ev_free(ev);
        return RUN_GONE;
    }
    const char *executed = NULL, *refusal = NULL;
    int rc = lambda__invoke_internal(st, fn, ev->qualifier, ev->request_id, ev->payload, ev->len, on_run_done, ev,
                                     &executed, &refusal);
    if (rc == KYOKA_ELIMIT)
        return RUN_THROTTLED;
    if (rc == KYOKA_EINVAL) {
        /* The version or alias went away, or the role cannot be assumed:
         * the event fails as the invocation would. */
        log_warn("lambda: an event for %s cannot run: %s", fn->name, refusal ? refusal : "");
        finish_event(as, ev, "RetriesExhausted", NULL);
        return RUN_GONE;
    }
    if (rc != 0) {
        log_warn("lambda: %s could not run an event (%s): retrying", ev->name, refusal ? refusal : "error");
        delay(as, ev, backoff_ms(ev->system_errors++));
        return RUN_GONE;
    }
    free(ev->executed);
    ev->executed = xstrdup(executed);
    ev->runs++;
    ev->started_ms = kyoka_clock_now_ms();
    ev->q->running++;
    ev->q->throttles = 0;
    return RUN_STARTED;
}

static void on_timer(uv_timer_t *t) { pump(t->data); }

/* The next time something is due: the first delayed event or the end of
 * a queue's wait. */
static void arm_timer(lambda_async_t *as)
{
    int64_t now = kyoka_clock_now_ms(), next = INT64_MAX;
    if (as->ndelayed)
        next = as->delayed[0]->due_ms;
    for (async_q_t *q = as->queues; q; q = q->next)
        if (q->head && q->blocked_until_ms > now && q->blocked_until_ms < next)
            next = q->blocked_until_ms;
    if (next == INT64_MAX) {
        uv_timer_stop(as->timer);
        return;
    }
    uv_timer_start(as->timer, on_timer, next > now ? (uint64_t)(next - now) : 0, 0);
}

static void pump(lambda_async_t *as)
{
    if (as->pumping || as->stopped)
        return; /* a finish inside the pump asked again: this pass covers it */
    as->pumping = true;
    int64_t now = kyoka_clock_now_ms();
    while (as->ndelayed && as->delayed[0]->due_ms <= now) {
        async_ev_t *ev = delayed_pop(as);
        ready_push(queue_get(as, ev->region, ev->name), ev, false);
    }
    for (async_q_t *q = as->queues; q; q = q->next) {
        while (q->head && q->blocked_until_ms <= now) {
            async_ev_t *ev = ready_pop(q);
            if (run_one(as, ev) == RUN_THROTTLED) {
                ready_push(q, ev, true);
                q->blocked_until_ms = now + backoff_ms(q->throttles++);
                break;
            }
        }
    }
    as->pumping = false;
    arm_timer(as);
}

/* ==== the service's side ==== */

int lambda__async_enqueue(lambda_state_t *st, lambda_fn_t *fn, const char *qualifier, const char *request_id,
                          const void *payload, size_t len)
{
    lambda_async_t *as = st->async;
    async_ev_t *ev = xcalloc(1, sizeof *ev);
    ev->as = as;
    ev->region = xstrdup(fn->region);
    ev->name = xstrdup(fn->name);
    ev->qualifier = qualifier ? xstrdup(qualifier) : NULL;
    snprintf(ev->request_id, sizeof ev->request_id, "%s", request_id);
    ev->enqueued_ms = kyoka_clock_now_ms();
    ev->generation = as->generation;
    row_insert(as, ev, payload, len);
    as->accepted++;
    ready_push(queue_get(as, ev->region, ev->name), ev, false);
    /* Start on the next turn: the 202 waits for nothing but the commit. */
    uv_timer_start(as->timer, on_timer, 0, 0);
    return 0;
}

void lambda__async_kick(lambda_state_t *st)
{
    if (st->async)
        pump(st->async);
}

static const char *const async_migrations[] = {
    "CREATE TABLE lambda_async ("
    "  id INTEGER PRIMARY KEY,"
    "  region TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  qualifier TEXT,"
    "  request_id TEXT NOT NULL,"
    "  payload BLOB NOT NULL,"
    "  enqueued_ms INTEGER NOT NULL,"
    "  due_ms INTEGER NOT NULL,"
    "  runs INTEGER NOT NULL)",
};

int lambda__async_create(lambda_state_t *st, char *err, size_t errcap)
{
    if (store_migrate(st->store, "lambda_async", async_migrations, KYOKA_ARRAY_LEN(async_migrations), err, errcap) !=
        0)
        return KYOKA_ESTORE;
    lambda_async_t *as = xcalloc(1, sizeof *as);
    as->st = st;
    as->timer = xcalloc(1, sizeof *as->timer);
    uv_timer_init(st->ctx->loop, as->timer);
    as->timer->data = as;
    st->async = as;
    /* Every event still stored runs (again): at least once, as on AWS. */
    sqlite3_stmt *q = store_stmt(st->store, "SELECT id, region, name, qualifier, request_id, enqueued_ms, due_ms, runs "
                                            "FROM lambda_async ORDER BY id");
    int64_t now = kyoka_clock_now_ms();
    size_t n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        async_ev_t *ev = xcalloc(1, sizeof *ev);
        ev->as = as;
        ev->id = sqlite3_column_int64(q, 0);
        ev->region = xstrdup((const char *)sqlite3_column_text(q, 1));
        ev->name = xstrdup((const char *)sqlite3_column_text(q, 2));
        const char *qual = (const char *)sqlite3_column_text(q, 3);
        ev->qualifier = qual ? xstrdup(qual) : NULL;
        snprintf(ev->request_id, sizeof ev->request_id, "%s", (const char *)sqlite3_column_text(q, 4));
        ev->enqueued_ms = sqlite3_column_int64(q, 5);
        ev->due_ms = sqlite3_column_int64(q, 6);
        ev->runs = sqlite3_column_int(q, 7);
        if (ev->due_ms > now)
            delayed_push(as, ev);
        else
            ready_push(queue_get(as, ev->region, ev->name), ev, false);
        n++;
    }
    sqlite3_reset(q);
    if (n)
        log_info("lambda: %zu queued asynchronous events from the last run", n);
    return 0;
}

/* Runs once the runtime is there (lambda_set_invoker). */
void lambda__async_start(lambda_state_t *st)
{
    if (st->async)
        uv_timer_start(st->async->timer, on_timer, 0, 0);
}

static void drop_all(lambda_async_t *as)
{
    while (as->queues) {
        async_q_t *q = as->queues;
        as->queues = q->next;
        async_ev_t *ev;
        while ((ev = ready_pop(q)))
            ev_free(ev);
        free(q->region);
        free(q->name);
        free(q);
    }
    while (as->ndelayed)
        ev_free(delayed_pop(as));
}

void lambda__async_reset(lambda_state_t *st)
{
    lambda_async_t *as = st->async;
    if (!as)
        return;
    /* Running events finish as strays of the old generation. */
    as->generation++;
    drop_all(as);
    store_write_begin(st->store);
    if (store_exec(st->store, "DELETE FROM lambda_async") != 0)
        log_error("lambda: could not clear the event queue");
}

static void on_timer_closed(uv_handle_t *h) { free(h); }

void lambda__async_stop(lambda_state_t *st)
{
    if (st->async) {
        st->async->stopped = true;
        uv_timer_stop(st->async->timer);
    }
}

void lambda__async_free(lambda_state_t *st)
{
    lambda_async_t *as = st->async;
    if (!as)
        return;
    drop_all(as);
    free(as->delayed);
    uv_close((uv_handle_t *)as->timer, on_timer_closed);
    free(as);
    st->async = NULL;
}

json_t *lambda_async_summary(void *state)
{
    lambda_state_t *st = state;
    lambda_async_t *as = st ? st->async : NULL;
    if (!as)
        return json_object();
    json_int_t queued = 0, running = 0;
    for (async_q_t *q = as->queues; q; q = q->next) {
        running += q->running;
        for (async_ev_t *e = q->head; e; e = e->next)
            queued++;
    }
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "accepted", (json_int_t)as->accepted, "completed",
                     (json_int_t)as->completed, "succeeded", (json_int_t)as->succeeded, "failed",
                     (json_int_t)as->failed, "retried", (json_int_t)as->retried, "queued", queued, "delayed",
                     (json_int_t)as->ndelayed, "running", running);
}
