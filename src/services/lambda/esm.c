/*
 * Event source mappings: a queue triggers a function
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html).
 *
 * The mapping's reads are the execution role's: creating one checks that
 * the role (or the queue policy) allows sqs:ReceiveMessage,
 * sqs:DeleteMessage and sqs:GetQueueAttributes, and reads the queue's
 * attributes as the role, as Lambda does; the poller (src/pipes) then
 * receives and deletes under the role's session. The invocation itself is
 * Lambda's own (no resource policy is consulted, as on AWS).
 *
 * A batch: messages that no FilterCriteria pattern matches are deleted
 * without running the function; the rest become AWS's SQS event. Success
 * deletes the batch; a function error deletes nothing (the messages come
 * back after the visibility timeout, and the queue's redrive policy moves
 * a poison message to its DLQ); with ReportBatchItemFailures only the
 * listed itemIdentifiers stay, and on a FIFO queue every later message of
 * a failed message's group stays with it. A throttled batch is retried,
 * backing off, until the visibility timeout would return it anyway.
 *
 * States as AWS reports them: Creating -> Enabled (or Disabled), Updating,
 * Enabling, Disabling, Deleting; each change settles on the next loop turn.
 */
#include "internal.h"

#include "pipes/pipes.h"
#include "pattern/pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define ESM_DEFAULT_BATCH 10
#define ESM_FIFO_MAX_BATCH 10
#define ESM_MAX_FILTERS 5
#define ESM_DEFAULT_CONCURRENCY 1000
#define ESM_THROTTLE_RETRY_MIN_MS 100

static const char *const state_names[] = {"Creating", "Enabling", "Enabled", "Updating",
                                          "Disabling", "Disabled", "Deleting"};

/* A batch in the function's hands. */
typedef struct esm_batch {
    lambda_esm_t *m;
    pipes_sqs_poller_t *p;
    pipes_sqs_batch_t *b;
    json_t *messages;        /* the ones the function gets */
    json_t *filtered;        /* receipt handles matched by no filter */
    char *payload;
    size_t len;
    char request_id[37];
    int throttles;
    int64_t started_ms;
    uv_timer_t *retry;
} esm_batch_t;

static void esm_start_poller(lambda_esm_t *m);
static void batch_invoke(esm_batch_t *eb);

/* ==== store ==== */

static const char *const esm_migrations[] = {
    /* A rowid table: mappings list in the order they were made. */
    "CREATE TABLE lambda_esm (uuid TEXT PRIMARY KEY, doc TEXT NOT NULL)",
};

static void esm_save(lambda_esm_t *m)
{
    json_t *doc = json_pack("{s:s,s:s,s:s,s:O,s:b,s:b,s:i,s:b}", "region", m->region, "function", m->fn_name,
                            "source", m->source_arn, "config", m->config, "enabled", m->enabled, "fifo", m->fifo,
                            "visibility", m->visibility_s, "stream", m->stream);
    if (m->qualifier)
        json_object_set_new(doc, "qualifier", json_string(m->qualifier));
    char *text = proto_json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    store_t *s = m->st->store;
    store_write_begin(s);
    sqlite3_stmt *q = store_stmt(s, "INSERT INTO lambda_esm(uuid, doc) VALUES(?,?) ON CONFLICT(uuid) DO UPDATE SET doc = excluded.doc");
    sqlite3_bind_text(q, 1, m->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, text, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("lambda: could not save an event source mapping: %s", sqlite3_errmsg(store_db(s)));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    free(text);
}

static void esm_delete_row(lambda_esm_t *m)
{
    store_t *s = m->st->store;
    store_write_begin(s);
    sqlite3_stmt *q = store_stmt(s, "DELETE FROM lambda_esm WHERE uuid = ?");
    sqlite3_bind_text(q, 1, m->uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("lambda: could not delete an event source mapping: %s", sqlite3_errmsg(store_db(s)));
    sqlite3_reset(q);
}

/* ==== the mapping ==== */

static void on_closed_free(uv_handle_t *h) { free(h); }

static void esm_free(lambda_esm_t *m)
{
    free(m->region);
    free(m->fn_name);
    free(m->qualifier);
    free(m->source_arn);
    free(m->last_result);
    json_decref(m->config);
    if (m->filters)
        pattern_set_free(m->filters);
    lambda__esm_stream_free(m);
    uv_close((uv_handle_t *)m->settle, on_closed_free);
    free(m);
}

static void esm_unlink(lambda_esm_t *m)
{
    for (lambda_esm_t **pp = &m->st->esms; *pp; pp = &(*pp)->next)
        if (*pp == m) {
            *pp = m->next;
            return;
        }
}

static const char *esm_function_arn(arena_t *a, const lambda_esm_t *m, lambda_state_t *st)
{
    const char *base = arena_sprintf(a, "arn:aws:lambda:%s:%s:function:%s", m->region, st->ctx->account_id,
                                     m->fn_name);
    return m->qualifier ? arena_sprintf(a, "%s:%s", base, m->qualifier) : base;
}

/* EventSourceMappingConfiguration as AWS returns it. */
static json_t *esm_view(lambda_esm_t *m)
{
    arena_t a;
    arena_init(&a);
    json_t *o = json_deep_copy(m->config);
    json_object_set_new(o, "UUID", json_string(m->uuid));
    json_object_set_new(o, "EventSourceArn", json_string(m->source_arn));
    json_object_set_new(o, "FunctionArn", json_string(esm_function_arn(&a, m, m->st)));
    json_object_set_new(o, "State", json_string(state_names[m->state]));
    json_object_set_new(o, "StateTransitionReason", json_string("USER_INITIATED"));
    json_object_set_new(o, "LastProcessingResult", json_string(m->last_result ? m->last_result : "No records processed"));
    json_object_set_new(o, "EventSourceMappingArn", json_sprintf("arn:aws:lambda:%s:%s:event-source-mapping:%s",
                                                                 m->region, m->st->ctx->account_id, m->uuid));
    arena_destroy(&a);
    return o;
}

void lambda__esm_set_result(lambda_esm_t *m, const char *r)
{
    if (m->last_result && strcmp(m->last_result, r) == 0)
        return;
    free(m->last_result);
    m->last_result = xstrdup(r);
}

void lambda__esm_poller_stopped(void *data)
{
    lambda_esm_t *m = data;
    m->poller = NULL;
    m->kpoller = NULL;
    if (m->deleted) {
        esm_free(m);
        return;
    }
    /* A stop for an update or a disable: start again if still wanted. */
    if (m->state == ESM_ENABLED)
        esm_start_poller(m);
}

/* Settle a transitional state on the next turn. */
static void on_settle(uv_timer_t *t)
{
    lambda_esm_t *m = t->data;
    switch (m->state) {
    case ESM_CREATING:
    case ESM_ENABLING:
    case ESM_UPDATING:
        m->state = m->enabled ? ESM_ENABLED : ESM_DISABLED;
        break;
    case ESM_DISABLING:
        m->state = ESM_DISABLED;
        break;
    case ESM_DELETING:
        esm_unlink(m);
        m->deleted = true;
        if (m->poller)
            pipes_sqs_poller_stop(m->poller); /* frees m once stopped */
        else if (m->kpoller)
            lambda__esm_stream_stop(m);
        else
            esm_free(m);
        return;
    default:
        return;
    }
    if (m->state == ESM_ENABLED && !m->poller && !m->kpoller)
        esm_start_poller(m);
    else if (m->state == ESM_DISABLED && m->poller)
        pipes_sqs_poller_stop(m->poller);
    else if (m->state == ESM_DISABLED && m->kpoller)
        lambda__esm_stream_stop(m);
}

static void settle_soon(lambda_esm_t *m) { uv_timer_start(m->settle, on_settle, 0, 0); }

/* ==== the poller's consumer ==== */

const auth_cred_t *lambda__esm_cred(void *data)
{
    lambda_esm_t *m = data;
    lambda_state_t *st = m->st;
    lambda_fn_t *fn = lambda__fn_lookup(st, m->region, m->fn_name);
    if (!fn)
        return NULL;
    lambda_version_t *latest = fn->versions[0];
    const char *role = json_string_value(json_object_get(latest->config, "Role"));
    arena_t a;
    arena_init(&a);
    svc_call_t c = {.ctx = st->ctx, .state = st, .arena = &a, .region = fn->region, .internal = true};
    bool ok = role && lambda__role_session(&c, fn, role);
    arena_destroy(&a);
    return ok ? auth_store_lookup(st->ctx->creds, strv_from(fn->akid)) : NULL;
}

static void esm_receive_error(void *data, const svc_call_t *c)
{
    lambda_esm_t *m = data;
    char r[400];
    snprintf(r, sizeof r, "PROBLEM: Lambda could not read the queue: %.64s: %.280s", c->error.code,
             aws_error_text(&c->error));
    if (!m->last_result || strcmp(m->last_result, r) != 0)
        log_warn("lambda: event source mapping %s: %s (decision %s)", m->uuid, r + 9,
                 c->decision_id ? c->decision_id : "-");
    lambda__esm_set_result(m, r);
}

/* messageAttributes in the event's lower-camel form. */
static json_t *event_attributes(json_t *attrs)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v)
    {
        json_t *a = json_object();
        const char *sv = json_string_value(json_object_get(v, "StringValue"));
        const char *bv = json_string_value(json_object_get(v, "BinaryValue"));
        if (sv)
            json_object_set_new(a, "stringValue", json_string(sv));
        if (bv)
            json_object_set_new(a, "binaryValue", json_string(bv));
        json_object_set_new(a, "stringListValues", json_array());
        json_object_set_new(a, "binaryListValues", json_array());
        json_object_set(a, "dataType", json_object_get(v, "DataType"));
        json_object_set_new(out, k, a);
    }
    return out;
}

static json_t *event_record(lambda_esm_t *m, json_t *msg)
{
    json_t *r = json_object();
    json_object_set(r, "messageId", json_object_get(msg, "MessageId"));
    json_object_set(r, "receiptHandle", json_object_get(msg, "ReceiptHandle"));
    json_object_set(r, "body", json_object_get(msg, "Body"));
    json_t *attrs = json_object_get(msg, "Attributes");
    json_object_set_new(r, "attributes", attrs ? json_deep_copy(attrs) : json_object());
    json_object_set_new(r, "messageAttributes", event_attributes(json_object_get(msg, "MessageAttributes")));
    json_object_set(r, "md5OfBody", json_object_get(msg, "MD5OfBody"));
    if (json_object_get(msg, "MD5OfMessageAttributes"))
        json_object_set(r, "md5OfMessageAttributes", json_object_get(msg, "MD5OfMessageAttributes"));
    json_object_set_new(r, "eventSource", json_string("aws:sqs"));
    json_object_set_new(r, "eventSourceARN", json_string(m->source_arn));
    json_object_set_new(r, "awsRegion", json_string(m->region));
    return r;
}

/* What a filter sees: the record, with the body parsed when it is JSON
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html). */
static bool passes_filters(lambda_esm_t *m, json_t *record)
{
    if (!m->filters)
        return true;
    json_t *view = json_copy(record);
    const char *body = json_string_value(json_object_get(record, "body"));
    json_t *parsed = body ? json_loads(body, JSON_DECODE_ANY, NULL) : NULL;
    if (parsed && (json_is_object(parsed) || json_is_array(parsed)))
        json_object_set_new(view, "body", parsed);
    else
        json_decref(parsed);
    uint32_t id;
    bool ok = pattern_set_match(m->filters, view, &id, 1) > 0;
    json_decref(view);
    return ok;
}

static void batch_free(esm_batch_t *eb)
{
    json_decref(eb->messages);
    json_decref(eb->filtered);
    free(eb->payload);
    if (eb->retry)
        uv_close((uv_handle_t *)eb->retry, on_closed_free);
    free(eb);
}

/* Delete the handles in keep-out order: the filtered ones and deleted[]. */
static void batch_finish(esm_batch_t *eb, json_t *to_delete, bool failed)
{
    size_t n = json_array_size(eb->filtered) + json_array_size(to_delete);
    const char **h = xcalloc(n ? n : 1, sizeof *h);
    size_t k = 0, i;
    json_t *v;
    json_array_foreach(eb->filtered, i, v) h[k++] = json_string_value(v);
    json_array_foreach(to_delete, i, v) h[k++] = json_string_value(v);
    pipes_sqs_batch_done(eb->p, eb->b, h, k, failed);
    free(h);
    batch_free(eb);
}

static json_t *all_handles(json_t *messages)
{
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(messages, i, m) json_array_append(out, json_object_get(m, "ReceiptHandle"));
    return out;
}

/* ReportBatchItemFailures: the handles to delete, or NULL when the answer
 * fails the whole batch (an itemIdentifier empty, null, misnamed or not in
 * the batch). An empty or null answer, or an empty or null list, is a
 * complete success. */
static json_t *partial_success(esm_batch_t *eb, const char *payload, size_t len)
{
    json_t *resp = len ? json_loadb(payload, len, JSON_DECODE_ANY, NULL) : NULL;
    json_t *list = json_is_object(resp) ? json_object_get(resp, "batchItemFailures") : NULL;
    if (!resp || json_is_null(resp) || !list || json_is_null(list) ||
        (json_is_object(resp) && json_object_size(resp) == 0)) {
        json_decref(resp);
        return all_handles(eb->messages);
    }
    if (!json_is_array(list)) {
        json_decref(resp);
        return NULL;
    }
    json_t *failed_ids = json_object();
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f)
    {
        const char *id = json_string_value(json_object_get(f, "itemIdentifier"));
        bool known = false;
        size_t j;
        json_t *msg;
        json_array_foreach(eb->messages, j, msg)
        {
            const char *mid = json_string_value(json_object_get(msg, "MessageId"));
            known = known || (id && mid && strcmp(id, mid) == 0);
        }
        if (!id || !*id || !known) {
            json_decref(failed_ids);
            json_decref(resp);
            return NULL;
        }
        json_object_set_new(failed_ids, id, json_true());
    }
    json_decref(resp);
    /* FIFO: a group stops at its first failure. */
    json_t *stopped_groups = json_object();
    json_t *del = json_array();
    size_t j;
    json_t *msg;
    json_array_foreach(eb->messages, j, msg)
    {
        const char *mid = json_string_value(json_object_get(msg, "MessageId"));
        const char *group =
            eb->m->fifo ? json_string_value(json_object_get(json_object_get(msg, "Attributes"), "MessageGroupId"))
                        : NULL;
        bool fails = json_object_get(failed_ids, mid) || (group && json_object_get(stopped_groups, group));
        if (fails && group)
            json_object_set_new(stopped_groups, group, json_true());
        if (!fails)
            json_array_append(del, json_object_get(msg, "ReceiptHandle"));
    }
    json_decref(stopped_groups);
    json_decref(failed_ids);
    return del;
}

static bool reports_item_failures(const lambda_esm_t *m)
{
    json_t *types = json_object_get(m->config, "FunctionResponseTypes");
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t) if (strcmp(json_string_value(t) ? json_string_value(t) : "",
                                               "ReportBatchItemFailures") == 0) return true;
    return false;
}

static void on_retry_timer(uv_timer_t *t) { batch_invoke(t->data); }

static void retry_later(esm_batch_t *eb)
{
    int64_t waited = kyoka_clock_now_ms() - eb->started_ms;
    if (waited >= (int64_t)eb->m->visibility_s * 1000) {
        /* The messages are visible again anyway: give them back. */
        lambda__esm_set_result(eb->m, "PROBLEM: Function call failed due to throttling.");
        batch_finish(eb, NULL, true);
        return;
    }
    int64_t d = ESM_THROTTLE_RETRY_MIN_MS << (eb->throttles < 8 ? eb->throttles : 8);
    eb->throttles++;
    if (!eb->retry) {
        eb->retry = xcalloc(1, sizeof *eb->retry);
        uv_timer_init(eb->m->st->ctx->loop, eb->retry);
        eb->retry->data = eb;
    }
    uv_timer_start(eb->retry, on_retry_timer, (uint64_t)d, 0);
}

static void on_batch_done(void *data, const lambda_invoke_result_t *res)
{
    esm_batch_t *eb = data;
    lambda_esm_t *m = eb->m;
    if (res->status == LAMBDA_RUN_THROTTLED) {
        retry_later(eb);
        return;
    }
    if (res->status == LAMBDA_RUN_SERVICE_ERROR) {
        lambda__esm_set_result(m, "PROBLEM: Function call failed");
        batch_finish(eb, NULL, true);
        return;
    }
    if (res->function_error) {
        lambda__esm_set_result(m, "PROBLEM: Function call failed");
        batch_finish(eb, NULL, true);
        return;
    }
    json_t *del = reports_item_failures(m) ? partial_success(eb, res->payload, res->len) : all_handles(eb->messages);
    if (!del) {
        lambda__esm_set_result(m, "PROBLEM: Function call failed");
        batch_finish(eb, NULL, true);
        return;
    }
    bool partial = json_array_size(del) < json_array_size(eb->messages);
    lambda__esm_set_result(m, "OK");
    batch_finish(eb, del, partial);
    json_decref(del);
}

static void batch_invoke(esm_batch_t *eb)
{
    lambda_esm_t *m = eb->m;
    lambda_state_t *st = m->st;
    lambda_fn_t *fn = lambda__fn_lookup(st, m->region, m->fn_name);
    if (!fn) {
        lambda__esm_set_result(m, "PROBLEM: Function not found");
        batch_finish(eb, NULL, true);
        return;
    }
    const char *executed = NULL, *refusal = NULL;
    int rc = lambda__invoke_internal(st, fn, m->qualifier, eb->request_id, eb->payload, eb->len, on_batch_done, eb,
                                     &executed, &refusal);
    if (rc == KYOKA_ELIMIT) {
        retry_later(eb);
    } else if (rc != 0) {
        char r[320];
        snprintf(r, sizeof r, "PROBLEM: Function call failed: %.280s", refusal ? refusal : "");
        lambda__esm_set_result(m, r);
        batch_finish(eb, NULL, true);
    }
}

static void esm_batch(void *data, pipes_sqs_poller_t *p, pipes_sqs_batch_t *b, json_t *messages)
{
    lambda_esm_t *m = data;
    esm_batch_t *eb = xcalloc(1, sizeof *eb);
    eb->m = m;
    eb->p = p;
    eb->b = b;
    eb->messages = json_array();
    eb->filtered = json_array();
    eb->started_ms = kyoka_clock_now_ms();
    kyoka_uuid(eb->request_id);
    json_t *records = json_array();
    size_t i;
    json_t *msg;
    json_array_foreach(messages, i, msg)
    {
        json_t *r = event_record(m, msg);
        if (passes_filters(m, r)) {
            json_array_append(eb->messages, msg);
            json_array_append_new(records, r);
        } else {
            json_array_append(eb->filtered, json_object_get(msg, "ReceiptHandle"));
            json_decref(r);
        }
    }
    if (!json_array_size(records)) {
        json_decref(records);
        batch_finish(eb, NULL, false);
        return;
    }
    json_t *event = json_pack("{s:o}", "Records", records);
    eb->payload = proto_json_dumps(event, JSON_COMPACT);
    eb->len = strlen(eb->payload);
    json_decref(event);
    batch_invoke(eb);
}

static int esm_concurrency(const lambda_esm_t *m)
{
    json_t *mc = json_object_get(json_object_get(m->config, "ScalingConfig"), "MaximumConcurrency");
    int n = json_is_integer(mc) ? (int)json_integer_value(mc) : ESM_DEFAULT_CONCURRENCY;
    lambda_fn_t *fn = lambda__fn_lookup(m->st, m->region, m->fn_name);
    if (fn && fn->reserved > 0 && fn->reserved < n)
        n = fn->reserved;
    return n;
}

static pipes_sqs_poller_cfg_t poller_cfg(const lambda_esm_t *m)
{
    return (pipes_sqs_poller_cfg_t){
        .queue_arn = m->source_arn,
        .batch_size = (int)json_integer_value(json_object_get(m->config, "BatchSize")),
        .window_ms = (int)json_integer_value(json_object_get(m->config, "MaximumBatchingWindowInSeconds")) * 1000,
        .max_concurrency = esm_concurrency(m),
    };
}

static void esm_start_poller(lambda_esm_t *m)
{
    if (m->poller || m->kpoller || !m->st->has_invoker || m->st->stopping)
        return;
    if (m->stream) {
        lambda__esm_stream_start(m);
        return;
    }
    pipes_sqs_poller_cfg_t cfg = poller_cfg(m);
    pipes_sqs_consumer_t consumer = {
        .data = m, .cred = lambda__esm_cred, .batch = esm_batch, .receive_error = esm_receive_error,
        .stopped = lambda__esm_poller_stopped,
    };
    m->poller = pipes_sqs_poller_start(m->st->ctx, &cfg, &consumer);
}

/* ==== the API ==== */

static lambda_esm_t *esm_lookup(lambda_state_t *st, const char *uuid)
{
    for (lambda_esm_t *m = st->esms; m; m = m->next)
        if (uuid && strcmp(m->uuid, uuid) == 0)
            return m;
    return NULL;
}

static lambda_esm_t *esm_or_fail(svc_call_t *c)
{
    const char *uuid = svc_in_str(c, "UUID");
    lambda_esm_t *m = esm_lookup(c->state, uuid);
    if (!m)
        svc_error(c, "ResourceNotFoundException", 404, "The resource you requested does not exist.");
    return m;
}

static lambda_esm_t *esm_new(lambda_state_t *st)
{
    lambda_esm_t *m = xcalloc(1, sizeof *m);
    m->st = st;
    m->settle = xcalloc(1, sizeof *m->settle);
    uv_timer_init(st->ctx->loop, m->settle);
    m->settle->data = m;
    return m;
}

/* FilterCriteria compiled into one matcher, or an error on the call. */
bool lambda__esm_compile_filters(svc_call_t *c, json_t *fc, pattern_set_t **out)
{
    *out = NULL;
    json_t *filters = json_object_get(fc, "Filters");
    if (!json_array_size(filters))
        return true;
    if (json_array_size(filters) > ESM_MAX_FILTERS) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "The number of filters exceeds the limit of %d for this event source mapping.", ESM_MAX_FILTERS);
        return false;
    }
    pattern_set_t *set = pattern_set_new();
    size_t i;
    json_t *f;
    json_array_foreach(filters, i, f)
    {
        const char *p = json_string_value(json_object_get(f, "Pattern"));
        char err[256] = "";
        if (!p || pattern_set_add(set, p, strlen(p), (uint32_t)i, err, sizeof err) != 0) {
            svc_error(c, "InvalidParameterValueException", 400, "Invalid filter pattern definition.%s%s",
                      err[0] ? " " : "", err);
            pattern_set_free(set);
            return false;
        }
    }
    *out = set;
    return true;
}

/* BatchSize and MaximumBatchingWindowInSeconds together (the model checks
 * each range). */
static bool batching_ok(svc_call_t *c, json_t *cfg, bool fifo, bool stream)
{
    if (stream)
        return true; /* the model's ranges are the streams' rules */
    json_int_t batch = json_integer_value(json_object_get(cfg, "BatchSize"));
    json_int_t window = json_integer_value(json_object_get(cfg, "MaximumBatchingWindowInSeconds"));
    if (fifo && batch > ESM_FIFO_MAX_BATCH) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "BatchSize must be between 1 and 10 for FIFO queues.");
        return false;
    }
    if (fifo && window > 0) {
        svc_error(c, "InvalidParameterValueException", 400, "Batching window is not supported for FIFO queues.");
        return false;
    }
    if (batch > 10 && window < 1) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10");
        return false;
    }
    return true;
}

static void apply_members(svc_call_t *c, json_t *cfg)
{
    static const char *const members[] = {"BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes",
                                          "ScalingConfig", "FilterCriteria", "StartingPosition",
                                          "StartingPositionTimestamp", "ParallelizationFactor",
                                          "BisectBatchOnFunctionError", "MaximumRetryAttempts",
                                          "MaximumRecordAgeInSeconds", "DestinationConfig",
                                          "TumblingWindowInSeconds", NULL};
    for (const char *const *k = members; *k; k++)
        if (svc_in(c, *k))
            json_object_set(cfg, *k, svc_in(c, *k));
    json_object_set_new(cfg, "LastModified", json_real((double)kyoka_clock_now_ms() / 1000.0));
}

typedef struct create_ctx {
    svc_call_t *c;
    lambda_esm_t *m;
} create_ctx_t;

static void on_create_abort(svc_call_t *c)
{
    create_ctx_t *cc = c->parked;
    /* The reply goes nowhere; the queue check still answers into cc. */
    cc->c = NULL;
    c->parked = NULL;
}

/* The queue's attributes, read as the role: it exists, FIFO or not, its
 * visibility timeout. */
static void on_queue_attributes(void *data, const svc_call_t *q)
{
    create_ctx_t *cc = data;
    svc_call_t *c = cc->c;
    lambda_esm_t *m = cc->m;
    free(cc);
    if (!c) {
        esm_free(m);
        return;
    }
    c->parked = NULL;
    c->on_abort = NULL;
    if (q->error.code) {
        if (strcmp(q->error.code, "AWS.SimpleQueueService.NonExistentQueue") == 0 ||
            strcmp(q->error.code, "QueueDoesNotExist") == 0)
            svc_error(c, "InvalidParameterValueException", 400,
                      "Error occurred while GetQueueAttributes. SQS Error Code: "
                      "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not "
                      "exist.");
        else
            svc_error(c, "InvalidParameterValueException", 400,
                      "Error occurred while GetQueueAttributes. SQS Error Code: %s. SQS Error Message: %s",
                      q->error.code, aws_error_text(&q->error));
        esm_free(m);
        svc_call_finish(c);
        return;
    }
    json_t *attrs = json_object_get(q->output, "Attributes");
    const char *fifo = json_string_value(json_object_get(attrs, "FifoQueue"));
    const char *vis = json_string_value(json_object_get(attrs, "VisibilityTimeout"));
    m->fifo = fifo && strcmp(fifo, "true") == 0;
    m->visibility_s = vis ? atoi(vis) : 30;
    lambda_state_t *st = c->state;
    if (!batching_ok(c, m->config, m->fifo, m->stream)) {
        esm_free(m);
        svc_call_finish(c);
        return;
    }
    /* Another mapping may have been made for the pair meanwhile. */
    for (lambda_esm_t *o = st->esms; o; o = o->next) {
        if (strcmp(o->source_arn, m->source_arn) == 0 && strcmp(o->fn_name, m->fn_name) == 0 &&
            strcmp(o->region, m->region) == 0 && o->state != ESM_DELETING) {
            svc_error(c, "ResourceConflictException", 409,
                      "An event source mapping with SQS arn (\" %s \") and function (\" %s \") already exists. "
                      "Please update or delete the existing mapping with UUID %s",
                      m->source_arn, m->fn_name, o->uuid);
            esm_free(m);
            svc_call_finish(c);
            return;
        }
    }
    m->state = ESM_CREATING;
    m->next = st->esms;
    st->esms = m;
    esm_save(m);
    c->output = esm_view(m);
    settle_soon(m);
    svc_call_finish(c);
}

/* The mapping's target: a function, with a version or alias that exists. */
static lambda_fn_t *target_or_fail(svc_call_t *c, lambda_ref_t *r)
{
    lambda_fn_t *fn = lambda__fn_from_input(c, false, r);
    if (fn && r->qualifier && !lambda__version_lookup(fn, r->qualifier) && !lambda__alias_lookup(fn, r->qualifier) &&
        strcmp(r->qualifier, "$LATEST") != 0) {
        svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s:%s", fn->arn, r->qualifier);
        return NULL;
    }
    return fn;
}

static bool pair_is_free(svc_call_t *c, lambda_state_t *st, const char *source, const lambda_fn_t *fn)
{
    for (lambda_esm_t *o = st->esms; o; o = o->next) {
        if (strcmp(o->source_arn, source) == 0 && strcmp(o->fn_name, fn->name) == 0 &&
            strcmp(o->region, fn->region) == 0 && o->state != ESM_DELETING) {
            svc_error(c, "ResourceConflictException", 409,
                      "The event source arn (\" %s \") and function (\" %s \") provided mapping already exists. "
                      "Please update or delete the existing mapping with UUID %s",
                      source, fn->name, o->uuid);
            return false;
        }
    }
    return true;
}

/* A Kinesis stream: everything is checked at once (the stream is local). */
static int create_stream_mapping(svc_call_t *c, const char *source)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = target_or_fail(c, &r);
    if (!fn || !pair_is_free(c, st, source, fn))
        return 0;
    json_t *cfg = json_object();
    json_object_set_new(cfg, "BatchSize", json_integer(100));
    json_object_set_new(cfg, "MaximumBatchingWindowInSeconds", json_integer(0));
    json_object_set_new(cfg, "ParallelizationFactor", json_integer(1));
    json_object_set_new(cfg, "BisectBatchOnFunctionError", json_false());
    json_object_set_new(cfg, "MaximumRetryAttempts", json_integer(-1));
    json_object_set_new(cfg, "MaximumRecordAgeInSeconds", json_integer(-1));
    json_object_set_new(cfg, "TumblingWindowInSeconds", json_integer(0));
    json_object_set_new(cfg, "DestinationConfig", json_pack("{s:{}}", "OnFailure"));
    json_object_set_new(cfg, "FunctionResponseTypes", json_array());
    apply_members(c, cfg);
    pattern_set_t *filters = NULL;
    if (!lambda__esm_stream_check(c, fn, source, cfg) ||
        !lambda__esm_compile_filters(c, json_object_get(cfg, "FilterCriteria"), &filters)) {
        json_decref(cfg);
        return 0;
    }
    lambda_esm_t *m = esm_new(st);
    kyoka_uuid(m->uuid);
    m->region = xstrdup(fn->region);
    m->fn_name = xstrdup(fn->name);
    m->qualifier = r.qualifier ? xstrdup(r.qualifier) : NULL;
    m->source_arn = xstrdup(source);
    m->config = cfg;
    m->filters = filters;
    m->stream = true;
    m->enabled = !json_is_false(svc_in(c, "Enabled"));
    m->state = ESM_CREATING;
    m->next = st->esms;
    st->esms = m;
    esm_save(m);
    c->output = esm_view(m);
    settle_soon(m);
    return 0;
}

int lambda_create_event_source_mapping(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    const char *source = svc_in_str(c, "EventSourceArn");
    pipes_dest_t d;
    pipes_dest_kind_t kind = pipes_dest_parse(source, &d);
    if (!source || !*source) {
        svc_error(c, "InvalidParameterValueException", 400, "Unrecognized event source, must be kinesis, dynamodb "
                  "stream, sqs, kafka or mq.");
        return 0;
    }
    bool kinesis = strncmp(source, "arn:aws:kinesis:", 16) == 0 && strstr(source, ":stream/") != NULL;
    if (kind != PIPES_DEST_SQS && !kinesis) {
        bool stream = strncmp(source, "arn:aws:dynamodb:", 17) == 0;
        svc_error(c, "InvalidParameterValueException", 400, "%s",
                  stream ? "kyoka does not serve DynamoDB streams as event sources yet (see docs/coverage.md); SQS "
                           "queues and Kinesis streams are served."
                         : "Unrecognized event source, must be kinesis, dynamodb stream, sqs, kafka or mq.");
        return 0;
    }
    if (kinesis)
        return create_stream_mapping(c, source);
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    if (!fn)
        return 0;
    if (r.qualifier && !lambda__version_lookup(fn, r.qualifier) && !lambda__alias_lookup(fn, r.qualifier) &&
        strcmp(r.qualifier, "$LATEST") != 0) {
        svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s:%s", fn->arn, r.qualifier);
        return 0;
    }
    json_t *cfg = json_object();
    json_object_set_new(cfg, "BatchSize", json_integer(ESM_DEFAULT_BATCH));
    json_object_set_new(cfg, "MaximumBatchingWindowInSeconds", json_integer(0));
    json_object_set_new(cfg, "FunctionResponseTypes", json_array());
    apply_members(c, cfg);
    pattern_set_t *filters = NULL;
    if (!batching_ok(c, cfg, false, false) || !lambda__esm_compile_filters(c, json_object_get(cfg, "FilterCriteria"), &filters)) {
        json_decref(cfg);
        return 0;
    }
    /* The role's reads, as Lambda checks them before it saves the mapping. */
    const char *role = json_string_value(json_object_get(fn->versions[0]->config, "Role"));
    static const char *const needed[][2] = {{"sqs:ReceiveMessage", "ReceiveMessage"},
                                            {"sqs:DeleteMessage", "DeleteMessage"},
                                            {"sqs:GetQueueAttributes", "GetQueueAttributes"}};
    for (size_t i = 0; i < 3; i++) {
        if (!lambda__role_may(c, fn, role, needed[i][0], needed[i][1], source, "SQS",
                              "The function execution role")) {
            json_decref(cfg);
            if (filters)
                pattern_set_free(filters);
            return 0;
        }
    }
    lambda_esm_t *m = esm_new(st);
    kyoka_uuid(m->uuid);
    m->region = xstrdup(fn->region);
    m->fn_name = xstrdup(fn->name);
    m->qualifier = r.qualifier ? xstrdup(r.qualifier) : NULL;
    m->source_arn = xstrdup(source);
    m->config = cfg;
    m->filters = filters;
    json_t *enabled = svc_in(c, "Enabled");
    m->enabled = !json_is_false(enabled);
    /* GetQueueAttributes as the role: the queue exists, and whether FIFO. */
    create_ctx_t *cc = xcalloc(1, sizeof *cc);
    cc->c = c;
    cc->m = m;
    c->parked = cc;
    c->on_abort = on_create_abort;
    char url[512];
    const char *name = strrchr(source, ':');
    snprintf(url, sizeof url, "%s/%s/%s", st->ctx->endpoint, d.account, name ? name + 1 : "");
    svc_caller_t who = {.cred = auth_store_lookup(st->ctx->creds, strv_from(fn->akid)), .region = d.region};
    json_t *in = json_pack("{s:s,s:[s,s]}", "QueueUrl", url, "AttributeNames", "FifoQueue", "VisibilityTimeout");
    st->ctx->call(st->ctx, &who, "sqs", "GetQueueAttributes", in, on_queue_attributes, cc);
    return KYOKA_EAGAIN;
}

int lambda_get_event_source_mapping(svc_call_t *c)
{
    lambda_esm_t *m = esm_or_fail(c);
    if (m)
        c->output = esm_view(m);
    return 0;
}

int lambda_list_event_source_mappings(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    const char *source = svc_in_str(c, "EventSourceArn");
    const char *fname = svc_in_str(c, "FunctionName");
    lambda_ref_t r = {0};
    lambda_fn_t *fn = NULL;
    if (fname) {
        fn = lambda__fn_from_input(c, false, &r);
        if (!fn)
            return 0;
    }
    /* Oldest first, the order they were made in (the list is newest first). */
    size_t n = 0;
    for (lambda_esm_t *m = st->esms; m; m = m->next)
        n++;
    lambda_esm_t **all = arena_alloc(c->arena, (n ? n : 1) * sizeof *all);
    size_t k = n;
    for (lambda_esm_t *m = st->esms; m; m = m->next)
        all[--k] = m;
    json_t *matching = json_array();
    for (size_t i = 0; i < n; i++) {
        lambda_esm_t *m = all[i];
        if (source && strcmp(source, m->source_arn) != 0)
            continue;
        if (fn && (strcmp(fn->name, m->fn_name) != 0 || strcmp(fn->region, m->region) != 0 ||
                   (r.qualifier && (!m->qualifier || strcmp(r.qualifier, m->qualifier) != 0))))
            continue;
        json_array_append_new(matching, esm_view(m));
    }
    size_t start, max;
    if (!lambda__page(c, json_array_size(matching), &start, &max)) {
        json_decref(matching);
        return 0;
    }
    json_t *page = json_array();
    size_t i = start;
    for (; i < json_array_size(matching) && json_array_size(page) < max; i++)
        json_array_append(page, json_array_get(matching, i));
    json_t *out = svc_output(c);
    json_object_set_new(out, "EventSourceMappings", page);
    if (i < json_array_size(matching))
        json_object_set_new(out, "NextMarker", json_sprintf("%zu", i));
    json_decref(matching);
    return 0;
}

int lambda_update_event_source_mapping(svc_call_t *c)
{
    lambda_esm_t *m = esm_or_fail(c);
    if (!m)
        return 0;
    if (m->state == ESM_DELETING || m->state == ESM_CREATING || m->state == ESM_UPDATING) {
        svc_error(c, "ResourceInUseException", 400,
                  "Cannot update the event source mapping because it is in use (its state is %s).",
                  state_names[m->state]);
        return 0;
    }
    if (svc_in(c, "FunctionName")) {
        lambda_ref_t r;
        lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
        if (!fn)
            return 0;
        if (strcmp(fn->name, m->fn_name) != 0 || (r.qualifier == NULL) != (m->qualifier == NULL) ||
            (r.qualifier && strcmp(r.qualifier, m->qualifier) != 0)) {
            free(m->fn_name);
            free(m->qualifier);
            m->fn_name = xstrdup(fn->name);
            m->qualifier = r.qualifier ? xstrdup(r.qualifier) : NULL;
        }
    }
    json_t *cfg = json_deep_copy(m->config);
    apply_members(c, cfg);
    pattern_set_t *filters = NULL;
    bool filters_given = svc_in(c, "FilterCriteria") != NULL;
    if (!batching_ok(c, cfg, m->fifo, m->stream) ||
        (filters_given && !lambda__esm_compile_filters(c, json_object_get(cfg, "FilterCriteria"), &filters))) {
        json_decref(cfg);
        return 0;
    }
    json_decref(m->config);
    m->config = cfg;
    if (filters_given) {
        if (m->filters)
            pattern_set_free(m->filters);
        m->filters = filters;
    }
    json_t *enabled = svc_in(c, "Enabled");
    bool was = m->enabled;
    if (enabled)
        m->enabled = json_is_true(enabled);
    m->state = m->enabled == was ? ESM_UPDATING : m->enabled ? ESM_ENABLING : ESM_DISABLING;
    if (m->poller) {
        pipes_sqs_poller_cfg_t pc = poller_cfg(m);
        pipes_sqs_poller_update(m->poller, &pc);
    }
    if (m->kpoller)
        lambda__esm_stream_update(m);
    esm_save(m);
    c->output = esm_view(m);
    settle_soon(m);
    return 0;
}

int lambda_delete_event_source_mapping(svc_call_t *c)
{
    lambda_esm_t *m = esm_or_fail(c);
    if (!m)
        return 0;
    if (m->state == ESM_DELETING) {
        svc_error(c, "ResourceInUseException", 400,
                  "Cannot delete the event source mapping because it is in use (its state is Deleting).");
        return 0;
    }
    m->state = ESM_DELETING;
    esm_delete_row(m);
    lambda__esm_stream_forget(m);
    c->output = esm_view(m);
    settle_soon(m);
    return 0;
}

/* ==== lifecycle ==== */

int lambda__esm_create(lambda_state_t *st, char *err, size_t errcap)
{
    if (store_migrate(st->store, "lambda_esm", esm_migrations, KYOKA_ARRAY_LEN(esm_migrations), err, errcap) != 0 ||
        lambda__esm_stream_migrate(st, err, errcap) != 0)
        return KYOKA_ESTORE;
    sqlite3_stmt *q = store_stmt(st->store, "SELECT uuid, doc FROM lambda_esm ORDER BY rowid");
    while (sqlite3_step(q) == SQLITE_ROW) {
        json_t *doc = json_loads((const char *)sqlite3_column_text(q, 1), 0, NULL);
        if (!doc)
            continue;
        lambda_esm_t *m = esm_new(st);
        snprintf(m->uuid, sizeof m->uuid, "%s", (const char *)sqlite3_column_text(q, 0));
        m->region = xstrdup(json_string_value(json_object_get(doc, "region")));
        m->fn_name = xstrdup(json_string_value(json_object_get(doc, "function")));
        const char *qual = json_string_value(json_object_get(doc, "qualifier"));
        m->qualifier = qual ? xstrdup(qual) : NULL;
        m->source_arn = xstrdup(json_string_value(json_object_get(doc, "source")));
        m->config = json_incref(json_object_get(doc, "config"));
        m->enabled = json_is_true(json_object_get(doc, "enabled"));
        m->fifo = json_is_true(json_object_get(doc, "fifo"));
        m->visibility_s = (int)json_integer_value(json_object_get(doc, "visibility"));
        m->stream = json_is_true(json_object_get(doc, "stream"));
        m->state = m->enabled ? ESM_ENABLED : ESM_DISABLED;
        json_decref(doc);
        svc_call_t c = {.ctx = st->ctx, .state = st, .internal = true};
        arena_t a;
        arena_init(&a);
        c.arena = &a;
        if (!lambda__esm_compile_filters(&c, json_object_get(m->config, "FilterCriteria"), &m->filters))
            log_warn("lambda: event source mapping %s: its filters no longer compile: %s", m->uuid,
                     aws_error_text(&c.error));
        arena_destroy(&a);
        m->next = st->esms;
        st->esms = m;
    }
    sqlite3_reset(q);
    return 0;
}

void lambda__esm_start(lambda_state_t *st)
{
    for (lambda_esm_t *m = st->esms; m; m = m->next)
        if (m->state == ESM_ENABLED)
            esm_start_poller(m);
}

void lambda__esm_stop(lambda_state_t *st)
{
    for (lambda_esm_t *m = st->esms; m; m = m->next) {
        if (m->poller)
            pipes_sqs_poller_stop(m->poller);
        if (m->kpoller)
            lambda__esm_stream_stop(m);
    }
}

/* Reset and shutdown: every mapping goes (its row too, on reset). A
 * mapping whose poller still waits on a read is freed by the poller. */
void lambda__esm_drop_all(lambda_state_t *st, bool rows)
{
    while (st->esms) {
        lambda_esm_t *m = st->esms;
        st->esms = m->next;
        m->deleted = true;
        uv_timer_stop(m->settle);
        if (m->poller)
            pipes_sqs_poller_stop(m->poller);
        else if (m->kpoller)
            lambda__esm_stream_stop(m);
        else
            esm_free(m);
    }
    if (rows) {
        store_write_begin(st->store);
        if (store_exec(st->store, "DELETE FROM lambda_esm; DELETE FROM lambda_esm_checkpoints") != 0)
            log_error("lambda: could not clear the event source mappings");
    }
}

/* A function went away: its mappings stay, as on AWS, and report it. */
json_t *lambda__esm_summary(lambda_state_t *st)
{
    json_t *out = json_array();
    for (lambda_esm_t *m = st->esms; m; m = m->next)
        json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s}", "uuid", m->uuid, "function", m->fn_name, "source",
                                             m->source_arn, "state", state_names[m->state]));
    return out;
}
