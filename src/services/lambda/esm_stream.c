/*
 * Event source mappings on Kinesis streams
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/kinesis-on-failure-destination.html).
 *
 * The reads are the poller's (src/pipes/kinesis_poller.c, under the
 * execution role); this file is what Lambda does with a shard's batch:
 *   - records older than MaximumRecordAgeInSeconds, and records no
 *     FilterCriteria pattern matches, are skipped (the former reported to
 *     the OnFailure destination as RecordAgeExceeded);
 *   - ParallelizationFactor splits the batch by partition key into up to
 *     ten groups processed at once, each key's records still in order;
 *   - a group is invoked as AWS's Kinesis event; a function error retries
 *     it (MaximumRetryAttempts, -1 until the records expire), and with
 *     BisectBatchOnFunctionError it is split in two and each half retried,
 *     so a poison record ends up alone; ReportBatchItemFailures retries
 *     from the lowest failed sequence number; what exhausts its retries goes
 *     to the OnFailure destination (SQS, under the role) with AWS's
 *     KinesisBatchInfo, and the shard moves on;
 *   - when every group is done, the shard's checkpoint (the last sequence
 *     number) is written, durably, before the poller reads on: a restart
 *     resumes after it, nothing skipped.
 * Tumbling windows are not built (TumblingWindowInSeconds is stored).
 */
#include "internal.h"

#include "pattern/pattern.h"
#include "pipes/pipes.h"
#include "services/kinesis/kinesis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define STREAM_RETRY_MIN_MS 100
#define STREAM_RETRY_MAX_MS 5000
#define STREAM_MAX_GROUPS 10

struct esm_stream {
    int pending_batches;
};

typedef struct shard_batch shard_batch_t;

/* One group of a shard's batch, being invoked (and retried, bisected). */
typedef struct group {
    shard_batch_t *sb;
    json_t *records;      /* to invoke now */
    json_t *rest;         /* the other half after a bisection, then processed */
    int attempts;         /* invocations that failed */
    int throttles;
    char request_id[37];
    uv_timer_t *timer;
} group_t;

struct shard_batch {
    lambda_esm_t *m;
    pipes_kinesis_poller_t *p;
    char shard_id[64];
    char last_seq[64];    /* the checkpoint once the batch is done */
    int groups_left;
};

static const char *const checkpoint_migrations[] = {
    "CREATE TABLE lambda_esm_checkpoints ("
    "  uuid TEXT NOT NULL,"
    "  shard TEXT NOT NULL,"
    "  seq TEXT NOT NULL,"
    "  PRIMARY KEY (uuid, shard)) WITHOUT ROWID",
};

int lambda__esm_stream_migrate(lambda_state_t *st, char *err, size_t errcap)
{
    return store_migrate(st->store, "lambda_esm_checkpoints", checkpoint_migrations,
                         KYOKA_ARRAY_LEN(checkpoint_migrations), err, errcap);
}

static void checkpoint_save(lambda_esm_t *m, const char *shard, const char *seq)
{
    store_t *s = m->st->store;
    store_write_begin(s);
    sqlite3_stmt *q = store_stmt(s, "INSERT OR REPLACE INTO lambda_esm_checkpoints(uuid, shard, seq) VALUES(?,?,?)");
    sqlite3_bind_text(q, 1, m->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, shard, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, seq, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("lambda: could not save a stream checkpoint: %s", sqlite3_errmsg(store_db(s)));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

static bool checkpoint_load(lambda_esm_t *m, const char *shard, char *out, size_t cap)
{
    sqlite3_stmt *q = store_stmt(m->st->store, "SELECT seq FROM lambda_esm_checkpoints WHERE uuid = ? AND shard = ?");
    sqlite3_bind_text(q, 1, m->uuid, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, shard, -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    if (found)
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return found;
}

void lambda__esm_stream_forget(lambda_esm_t *m)
{
    if (!m->stream)
        return;
    store_t *s = m->st->store;
    store_write_begin(s);
    sqlite3_stmt *q = store_stmt(s, "DELETE FROM lambda_esm_checkpoints WHERE uuid = ?");
    sqlite3_bind_text(q, 1, m->uuid, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("lambda: could not delete stream checkpoints: %s", sqlite3_errmsg(store_db(s)));
    sqlite3_reset(q);
}

/* ==== create-time checks ==== */

static void ignore_shard(void *data, const kinesis_shard_info_t *shard)
{
    (void)data;
    (void)shard;
}

bool lambda__esm_stream_check(svc_call_t *c, lambda_fn_t *fn, const char *source, json_t *cfg)
{
    kinesis_t *k = c->ctx->service_state ? c->ctx->service_state(c->ctx, "kinesis") : NULL;
    const char *pos = json_string_value(json_object_get(cfg, "StartingPosition"));
    if (!pos) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
                  "Member must not be null");
        return false;
    }
    if (strcmp(pos, "AT_TIMESTAMP") == 0 && !json_object_get(cfg, "StartingPositionTimestamp")) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "StartingPositionTimestamp must be set when StartingPosition is AT_TIMESTAMP.");
        return false;
    }
    if (json_object_get(cfg, "ScalingConfig")) {
        svc_error(c, "InvalidParameterValueException", 400, "ScalingConfig is not supported for Kinesis streams.");
        return false;
    }
    json_int_t age = json_integer_value(json_object_get(cfg, "MaximumRecordAgeInSeconds"));
    if (age != -1 && (age < 60 || age > 604800)) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800 seconds.");
        return false;
    }
    if (!k || kinesis_shards_each(k, source, ignore_shard, NULL) == KYOKA_ENOTFOUND) {
        svc_error(c, "InvalidParameterValueException", 400, "Stream not found: %s", source);
        return false;
    }
    const char *role = json_string_value(json_object_get(fn->versions[0]->config, "Role"));
    static const char *const reads[] = {"kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream",
                                        "kinesis:ListShards"};
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(reads); i++) {
        if (!lambda__role_may(c, fn, role, reads[i], reads[i] + 8, source, "Kinesis", "The function execution role")) {
            c->error.code = NULL;
            svc_error(c, "InvalidParameterValueException", 400,
                      "Cannot access stream %s. Please ensure the role can perform the GetRecords, GetShardIterator, "
                      "DescribeStream, and ListShards Actions on your stream in IAM.",
                      source);
            return false;
        }
    }
    const char *dest = json_string_value(
        json_object_get(json_object_get(json_object_get(cfg, "DestinationConfig"), "OnFailure"), "Destination"));
    if (dest && *dest) {
        pipes_dest_t d;
        pipes_dest_kind_t kind = pipes_dest_parse(dest, &d);
        if (kind != PIPES_DEST_SQS && kind != PIPES_DEST_SNS) {
            svc_error(c, "InvalidParameterValueException", 400,
                      "The destination ARN %s is invalid: an OnFailure destination of a stream must be an SQS queue or "
                      "an SNS topic.",
                      dest);
            return false;
        }
        if (!lambda__role_may(c, fn, role, d.action, d.api, dest, kind == PIPES_DEST_SQS ? "SQS" : "SNS",
                              "The provided execution role"))
            return false;
    }
    return true;
}

/* ==== the event and the failure record ==== */

static json_t *event_of(lambda_esm_t *m, const char *shard, json_t *records, const char *role)
{
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r)
    {
        const char *seq = json_string_value(json_object_get(r, "sequenceNumber"));
        json_t *k = json_pack("{s:s,s:O,s:O,s:O,s:f}", "kinesisSchemaVersion", "1.0", "partitionKey",
                              json_object_get(r, "partitionKey"), "sequenceNumber", json_object_get(r, "sequenceNumber"),
                              "data", json_object_get(r, "data"), "approximateArrivalTimestamp",
                              (double)json_integer_value(json_object_get(r, "arrivalMs")) / 1000.0);
        json_t *rec = json_pack("{s:o,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "kinesis", k, "eventSource", "aws:kinesis",
                                "eventVersion", "1.0", "eventID", "", "eventName", "aws:kinesis:record",
                                "invokeIdentityArn", role ? role : "", "awsRegion", m->region, "eventSourceARN",
                                m->source_arn);
        json_object_set_new(rec, "eventID", json_sprintf("%s:%s", shard, seq ? seq : ""));
        json_array_append_new(out, rec);
    }
    return json_pack("{s:o}", "Records", out);
}

static void iso_ms(int64_t ms, char out[64]) { kyoka_time_iso8601(ms, out, true); }

static void on_failure_sent(void *data, const svc_call_t *c)
{
    char *uuid = data;
    if (c->error.code)
        log_warn("lambda: event source mapping %s could not send its failure record: %s: %s (decision %s)", uuid,
                 c->error.code, aws_error_text(&c->error), c->decision_id ? c->decision_id : "-");
    free(uuid);
}

/* AWS's record of records that were given up on, to OnFailure. */
static void report_failure(lambda_esm_t *m, const char *shard, json_t *records, const char *condition, int invokes,
                           const lambda_invoke_result_t *res, const char *request_id)
{
    if (!json_array_size(records))
        return;
    const char *dest = json_string_value(json_object_get(
        json_object_get(json_object_get(m->config, "DestinationConfig"), "OnFailure"), "Destination"));
    log_info("lambda: event source mapping %s gives up on %zu records of %s (%s)", m->uuid, json_array_size(records),
             shard, condition);
    if (!dest || !*dest)
        return;
    json_t *first = json_array_get(records, 0), *last = json_array_get(records, json_array_size(records) - 1);
    char t0[64], t1[64], now[64];
    iso_ms(json_integer_value(json_object_get(first, "arrivalMs")), t0);
    iso_ms(json_integer_value(json_object_get(last, "arrivalMs")), t1);
    iso_ms(kyoka_clock_now_ms(), now);
    json_t *rec = json_pack(
        "{s:{s:s,s:s,s:s,s:i},s:s,s:s,s:{s:s,s:O,s:O,s:s,s:s,s:I,s:s}}", "requestContext", "requestId", request_id,
        "functionArn", "", "condition", condition, "approximateInvokeCount", invokes, "version", "1.0", "timestamp",
        now, "KinesisBatchInfo", "shardId", shard, "startSequenceNumber", json_object_get(first, "sequenceNumber"),
        "endSequenceNumber", json_object_get(last, "sequenceNumber"), "approximateArrivalOfFirstRecord", t0,
        "approximateArrivalOfLastRecord", t1, "batchSize", (json_int_t)json_array_size(records), "streamArn",
        m->source_arn);
    json_object_set_new(json_object_get(rec, "requestContext"), "functionArn",
                        json_sprintf("arn:aws:lambda:%s:%s:function:%s%s%s", m->region, m->st->ctx->account_id,
                                     m->fn_name, m->qualifier ? ":" : "", m->qualifier ? m->qualifier : ""));
    if (res && res->status == LAMBDA_RUN_OK)
        json_object_set_new(rec, "responseContext",
                            json_pack("{s:i,s:s,s:s}", "statusCode", 200, "executedVersion",
                                      m->qualifier ? m->qualifier : "$LATEST", "functionError",
                                      res->function_error ? res->function_error : ""));
    char *text = proto_json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    const auth_cred_t *cred = lambda__esm_cred(m);
    if (cred) {
        svc_caller_t who = {.cred = cred, .region = m->region};
        pipes_deliver(m->st->ctx, &who, dest, text, strlen(text), on_failure_sent, xstrdup(m->uuid));
    }
    free(text);
}

/* ==== groups: invoke, retry, bisect ==== */

static void group_invoke(group_t *g);

static void on_group_timer(uv_timer_t *t) { group_invoke(t->data); }

static void on_closed_free(uv_handle_t *h) { free(h); }

static void group_free(group_t *g)
{
    json_decref(g->records);
    json_decref(g->rest);
    if (g->timer)
        uv_close((uv_handle_t *)g->timer, on_closed_free);
    free(g);
}

static void batch_group_done(shard_batch_t *sb)
{
    if (--sb->groups_left > 0)
        return;
    lambda_esm_t *m = sb->m;
    if (sb->last_seq[0])
        checkpoint_save(m, sb->shard_id, sb->last_seq);
    m->sx->pending_batches--;
    pipes_kinesis_batch_done(sb->p, sb->shard_id);
    free(sb);
}

static void group_later(group_t *g, int64_t ms)
{
    if (!g->timer) {
        g->timer = xcalloc(1, sizeof *g->timer);
        uv_timer_init(g->sb->m->st->ctx->loop, g->timer);
        g->timer->data = g;
    }
    uv_timer_start(g->timer, on_group_timer, (uint64_t)ms, 0);
}

static int64_t retry_delay(int n)
{
    int64_t d = STREAM_RETRY_MIN_MS;
    for (int i = 0; i < n && d < STREAM_RETRY_MAX_MS; i++)
        d *= 2;
    return d < STREAM_RETRY_MAX_MS ? d : STREAM_RETRY_MAX_MS;
}

/* Records of the group past their age: reported and dropped. */
static void drop_expired(group_t *g)
{
    lambda_esm_t *m = g->sb->m;
    json_int_t age = json_integer_value(json_object_get(m->config, "MaximumRecordAgeInSeconds"));
    if (age < 0)
        return;
    int64_t oldest = kyoka_clock_now_ms() - (int64_t)age * 1000;
    json_t *keep = json_array(), *old = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(g->records, i, r)
        json_array_append(json_integer_value(json_object_get(r, "arrivalMs")) < oldest ? old : keep, r);
    report_failure(m, g->sb->shard_id, old, "RecordAgeExceeded", g->attempts, NULL, g->request_id);
    json_decref(old);
    json_decref(g->records);
    g->records = keep;
}

/* The group's current records are done (processed or given up on): on to
 * the bisected other half, or the group is finished. */
static void group_next(group_t *g)
{
    json_decref(g->records);
    g->records = g->rest;
    g->rest = NULL;
    if (g->records && json_array_size(g->records)) {
        g->throttles = 0;
        group_invoke(g);
        return;
    }
    shard_batch_t *sb = g->sb;
    group_free(g);
    batch_group_done(sb);
}

/* The lowest failed record's index of a ReportBatchItemFailures answer:
 * -1 all succeeded, -2 the answer fails the whole batch. */
static ssize_t lowest_failure(group_t *g, const lambda_invoke_result_t *res)
{
    json_t *resp = res->len ? json_loadb(res->payload, res->len, JSON_DECODE_ANY, NULL) : NULL;
    json_t *list = json_is_object(resp) ? json_object_get(resp, "batchItemFailures") : NULL;
    ssize_t low = -1;
    if (json_is_array(list)) {
        size_t i;
        json_t *f;
        json_array_foreach(list, i, f)
        {
            const char *id = json_string_value(json_object_get(f, "itemIdentifier"));
            ssize_t at = -2;
            size_t j;
            json_t *r;
            json_array_foreach(g->records, j, r)
            {
                const char *seq = json_string_value(json_object_get(r, "sequenceNumber"));
                if (id && seq && strcmp(id, seq) == 0)
                    at = (ssize_t)j;
            }
            if (at == -2) {
                low = -2;
                break;
            }
            if (low < 0 || at < low)
                low = at;
        }
    }
    json_decref(resp);
    return low;
}

static void on_group_done(void *data, const lambda_invoke_result_t *res)
{
    group_t *g = data;
    lambda_esm_t *m = g->sb->m;
    if (m->deleted || m->st->stopping) {
        /* The checkpoint stays where it was: the records are read again. */
        shard_batch_t *sb = g->sb;
        group_free(g);
        if (--sb->groups_left == 0) {
            m->sx->pending_batches--;
            pipes_kinesis_batch_done(sb->p, sb->shard_id);
            free(sb);
        }
        return;
    }
    if (res->status == LAMBDA_RUN_THROTTLED || res->status == LAMBDA_RUN_SERVICE_ERROR) {
        group_later(g, retry_delay(g->throttles++));
        return;
    }
    bool report = json_array_size(json_object_get(m->config, "FunctionResponseTypes")) > 0;
    ssize_t low = res->function_error ? 0 : report ? lowest_failure(g, res) : -1;
    if (low == -1) {
        lambda__esm_set_result(m, "OK");
        g->attempts = 0;
        group_next(g);
        return;
    }
    lambda__esm_set_result(m, "PROBLEM: Function call failed");
    g->attempts++;
    if (low > 0) {
        /* Checkpoint at the lowest failure: retry from there. */
        json_t *tail = json_array();
        for (size_t i = (size_t)low; i < json_array_size(g->records); i++)
            json_array_append(tail, json_array_get(g->records, i));
        json_decref(g->records);
        g->records = tail;
    }
    json_int_t max = json_integer_value(json_object_get(m->config, "MaximumRetryAttempts"));
    if (max >= 0 && g->attempts > max) {
        report_failure(m, g->sb->shard_id, g->records, "RetryAttemptsExhausted", g->attempts, res, g->request_id);
        g->attempts = 0;
        group_next(g);
        return;
    }
    size_t n = json_array_size(g->records);
    if (res->function_error && json_is_true(json_object_get(m->config, "BisectBatchOnFunctionError")) && n > 1) {
        /* Split in two: the first half now, the second after it. */
        json_t *first = json_array(), *second = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append(i < n / 2 ? first : second, json_array_get(g->records, i));
        json_t *after = g->rest;
        if (after) {
            json_array_extend(second, after);
            json_decref(after);
        }
        json_decref(g->records);
        g->records = first;
        g->rest = second;
    }
    group_later(g, retry_delay(g->attempts - 1));
}

static void group_invoke(group_t *g)
{
    lambda_esm_t *m = g->sb->m;
    drop_expired(g);
    if (!json_array_size(g->records)) {
        group_next(g);
        return;
    }
    lambda_fn_t *fn = lambda__fn_lookup(m->st, m->region, m->fn_name);
    if (!fn) {
        lambda__esm_set_result(m, "PROBLEM: Function not found");
        group_later(g, STREAM_RETRY_MAX_MS);
        return;
    }
    const char *role = json_string_value(json_object_get(fn->versions[0]->config, "Role"));
    json_t *event = event_of(m, g->sb->shard_id, g->records, role);
    char *payload = proto_json_dumps(event, JSON_COMPACT);
    json_decref(event);
    kyoka_uuid(g->request_id);
    const char *executed = NULL, *refusal = NULL;
    int rc = lambda__invoke_internal(m->st, fn, m->qualifier, g->request_id, payload, strlen(payload), on_group_done,
                                     g, &executed, &refusal);
    free(payload);
    if (rc != 0)
        group_later(g, retry_delay(g->throttles++));
}

/* ==== batches from the poller ==== */

static bool record_passes(lambda_esm_t *m, json_t *r)
{
    if (!m->filters)
        return true;
    /* What a filter sees: the record, its data decoded when it is JSON. */
    json_t *view = json_pack("{s:O,s:O,s:O}", "partitionKey", json_object_get(r, "partitionKey"), "sequenceNumber",
                             json_object_get(r, "sequenceNumber"), "data", json_object_get(r, "data"));
    const char *b64 = json_string_value(json_object_get(r, "data"));
    arena_t a;
    arena_init(&a);
    unsigned char *raw = NULL;
    ssize_t n = b64 ? base64_decode(&a, strv_from(b64), &raw) : -1;
    json_t *parsed = n > 0 ? json_loadb((const char *)raw, (size_t)n, 0, NULL) : NULL;
    if (parsed)
        json_object_set_new(view, "data", parsed);
    arena_destroy(&a);
    uint32_t id;
    bool ok = pattern_set_match(m->filters, view, &id, 1) > 0;
    json_decref(view);
    return ok;
}

static uint32_t key_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void esm_stream_batch(void *data, pipes_kinesis_poller_t *p, const char *shard_id, json_t *records)
{
    lambda_esm_t *m = data;
    shard_batch_t *sb = xcalloc(1, sizeof *sb);
    sb->m = m;
    sb->p = p;
    snprintf(sb->shard_id, sizeof sb->shard_id, "%s", shard_id);
    json_t *last = json_array_get(records, json_array_size(records) - 1);
    snprintf(sb->last_seq, sizeof sb->last_seq, "%s", json_string_value(json_object_get(last, "sequenceNumber")));
    m->sx->pending_batches++;
    int pf = (int)json_integer_value(json_object_get(m->config, "ParallelizationFactor"));
    if (pf < 1 || pf > STREAM_MAX_GROUPS)
        pf = 1;
    json_t *groups[STREAM_MAX_GROUPS];
    for (int i = 0; i < pf; i++)
        groups[i] = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r)
    {
        if (!record_passes(m, r))
            continue;
        json_array_append(groups[key_hash(json_string_value(json_object_get(r, "partitionKey"))) % (uint32_t)pf], r);
    }
    sb->groups_left = 1; /* held while the groups start */
    for (int k = 0; k < pf; k++) {
        if (!json_array_size(groups[k])) {
            json_decref(groups[k]);
            continue;
        }
        group_t *g = xcalloc(1, sizeof *g);
        g->sb = sb;
        g->records = groups[k];
        sb->groups_left++;
        group_invoke(g);
    }
    batch_group_done(sb);
}

static void esm_stream_start_for(void *data, const char *shard_id, pipes_kinesis_start_t *out)
{
    lambda_esm_t *m = data;
    if (checkpoint_load(m, shard_id, out->after_seq, sizeof out->after_seq))
        return;
    const char *pos = json_string_value(json_object_get(m->config, "StartingPosition"));
    if (pos && strcmp(pos, "LATEST") == 0) {
        out->latest = true;
    } else if (pos && strcmp(pos, "AT_TIMESTAMP") == 0) {
        out->at_timestamp = true;
        out->timestamp_ms = (int64_t)(json_number_value(json_object_get(m->config, "StartingPositionTimestamp")) * 1000);
    }
}

static void esm_stream_read_error(void *data, const char *code, const char *decision_id)
{
    lambda_esm_t *m = data;
    char r[200];
    snprintf(r, sizeof r, "PROBLEM: Lambda could not read the stream: %s", code);
    if (!m->last_result || strcmp(m->last_result, r) != 0)
        log_warn("lambda: event source mapping %s: the execution role may not read %s (decision %s)", m->uuid,
                 m->source_arn, decision_id ? decision_id : "-");
    lambda__esm_set_result(m, r);
}

static pipes_kinesis_poller_cfg_t stream_cfg(const lambda_esm_t *m)
{
    return (pipes_kinesis_poller_cfg_t){
        .stream_arn = m->source_arn,
        .batch_size = (int)json_integer_value(json_object_get(m->config, "BatchSize")),
        .window_ms = (int)json_integer_value(json_object_get(m->config, "MaximumBatchingWindowInSeconds")) * 1000,
    };
}

void lambda__esm_stream_start(lambda_esm_t *m)
{
    if (!m->sx)
        m->sx = xcalloc(1, sizeof *m->sx);
    pipes_kinesis_poller_cfg_t cfg = stream_cfg(m);
    pipes_kinesis_consumer_t consumer = {
        .data = m,
        .cred = lambda__esm_cred,
        .start_for = esm_stream_start_for,
        .batch = esm_stream_batch,
        .read_error = esm_stream_read_error,
        .stopped = lambda__esm_poller_stopped,
    };
    m->kpoller = pipes_kinesis_poller_start(m->st->ctx, &cfg, &consumer);
    if (!m->kpoller)
        lambda__esm_set_result(m, "PROBLEM: kyoka serves no Kinesis streams");
}

void lambda__esm_stream_update(lambda_esm_t *m)
{
    pipes_kinesis_poller_cfg_t cfg = stream_cfg(m);
    pipes_kinesis_poller_update(m->kpoller, &cfg);
}

void lambda__esm_stream_stop(lambda_esm_t *m)
{
    if (m->kpoller)
        pipes_kinesis_poller_stop(m->kpoller);
}

void lambda__esm_stream_free(lambda_esm_t *m)
{
    free(m->sx);
    m->sx = NULL;
}
