/*
 * The Kinesis poller behind a stream event source mapping
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html).
 *
 * One reader per shard, reading through kinesis.h (no iterators) after
 * ctx->decide says the execution role may kinesis:GetRecords on the
 * stream, as AWS reads with the role. A reader hands one batch at a time
 * to the consumer and waits for it to be done (so a shard's records are
 * processed in order); with nothing to read it waits for the stream's
 * notification instead of polling. A closed shard's children start once
 * every parent has been read to its end; where to start in a shard is the
 * consumer's (its checkpoint, or the mapping's StartingPosition).
 */
#include "pipes.h"

#include "services/kinesis/kinesis.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define READER_BACKOFF_MS 1000
/* A batch stays under Lambda's 6 MB synchronous payload, base64 included. */
#define READER_BATCH_BYTES (4 * 1024 * 1024)

typedef struct reader reader_t;

struct reader {
    pipes_kinesis_poller_t *p;
    char shard_id[64];
    char parent[64], adjacent[64];
    kinesis_cursor_t cur;
    bool opened;
    bool busy;        /* a batch is with the consumer, or a read is queued */
    bool ended;       /* read to the end of a closed shard */
    bool waiting;     /* for records (the stream's notification) */
    json_t *gathered; /* the batch being gathered while the window is open */
    int64_t first_ms;
    uv_timer_t *timer;
    reader_t *next;
};

struct pipes_kinesis_poller {
    kyoka_ctx_t *ctx;
    pipes_kinesis_poller_cfg_t cfg;
    char *stream_arn;
    pipes_kinesis_consumer_t consumer;
    kinesis_t *k;
    kinesis_listener_t *listener;
    reader_t *readers;
    int in_consumer;
    bool stopping;
};

static void reader_step(reader_t *r);

static void on_timer_closed(uv_handle_t *h) { free(h); }

static void poller_maybe_free(pipes_kinesis_poller_t *p)
{
    if (!p->stopping || p->in_consumer > 0)
        return;
    kinesis_unlisten(p->listener);
    while (p->readers) {
        reader_t *r = p->readers;
        p->readers = r->next;
        json_decref(r->gathered);
        uv_close((uv_handle_t *)r->timer, on_timer_closed);
        free(r);
    }
    void (*stopped)(void *) = p->consumer.stopped;
    void *data = p->consumer.data;
    free(p->stream_arn);
    free(p);
    if (stopped)
        stopped(data);
}

static reader_t *reader_find(pipes_kinesis_poller_t *p, const char *shard_id)
{
    for (reader_t *r = p->readers; r; r = r->next)
        if (strcmp(r->shard_id, shard_id) == 0)
            return r;
    return NULL;
}

static void on_reader_timer(uv_timer_t *t)
{
    reader_t *r = t->data;
    if (!r->p->stopping)
        reader_step(r);
}

static void reader_after(reader_t *r, int64_t ms) { uv_timer_start(r->timer, on_reader_timer, ms > 0 ? (uint64_t)ms : 0, 0); }

/* A parent that is not (or no longer) among the shards counts as read. */
static bool parent_done(pipes_kinesis_poller_t *p, const char *id)
{
    if (!id[0])
        return true;
    reader_t *r = reader_find(p, id);
    return !r || r->ended;
}

static bool may_start(reader_t *r) { return parent_done(r->p, r->parent) && parent_done(r->p, r->adjacent); }

static void on_shard(void *data, const kinesis_shard_info_t *s)
{
    pipes_kinesis_poller_t *p = data;
    if (reader_find(p, s->shard_id))
        return;
    reader_t *r = xcalloc(1, sizeof *r);
    r->p = p;
    snprintf(r->shard_id, sizeof r->shard_id, "%s", s->shard_id);
    snprintf(r->parent, sizeof r->parent, "%s", s->parent_shard_id ? s->parent_shard_id : "");
    snprintf(r->adjacent, sizeof r->adjacent, "%s", s->adjacent_parent_shard_id ? s->adjacent_parent_shard_id : "");
    r->gathered = json_array();
    r->timer = xcalloc(1, sizeof *r->timer);
    uv_timer_init(p->ctx->loop, r->timer);
    r->timer->data = r;
    /* Appended: AWS's order, parents first. */
    reader_t **pp = &p->readers;
    while (*pp)
        pp = &(*pp)->next;
    *pp = r;
}

/* New shards, and readers whose parents are done. */
static void refresh_shards(pipes_kinesis_poller_t *p)
{
    kinesis_shards_each(p->k, p->stream_arn, on_shard, p);
    for (reader_t *r = p->readers; r; r = r->next)
        if (!r->opened && !r->busy && may_start(r))
            reader_after(r, 0);
}

static void on_record(void *data, const kinesis_record_view_t *v)
{
    reader_t *r = data;
    json_t *rec = json_object();
    json_object_set_new(rec, "sequenceNumber", json_string(v->sequence_number));
    json_object_set_new(rec, "partitionKey", json_stringn_nocheck(v->partition_key, v->partition_key_len));
    json_object_set_new(rec, "data", json_stringn_nocheck(v->data_b64, v->data_b64_len));
    json_object_set_new(rec, "arrivalMs", json_integer(v->arrival_ms));
    json_array_append_new(r->gathered, rec);
}

static bool role_may_read(pipes_kinesis_poller_t *p)
{
    const auth_cred_t *cred = p->consumer.cred ? p->consumer.cred(p->consumer.data) : NULL;
    if (!cred)
        return false;
    svc_caller_t who = {.cred = cred};
    const char *id = NULL;
    if (p->ctx->decide(p->ctx, &who, "kinesis", "kinesis:GetRecords", p->stream_arn, NULL) == IAM_ALLOW)
        return true;
    p->ctx->decide(p->ctx, &who, "kinesis", "kinesis:GetRecords", p->stream_arn, &id);
    if (p->consumer.read_error)
        p->consumer.read_error(p->consumer.data, "AccessDeniedException", id);
    return false;
}

static void deliver(reader_t *r)
{
    pipes_kinesis_poller_t *p = r->p;
    json_t *batch = r->gathered;
    r->gathered = json_array();
    r->busy = true;
    p->in_consumer++;
    p->consumer.batch(p->consumer.data, p, r->shard_id, batch);
    json_decref(batch);
}

static void reader_step(reader_t *r)
{
    pipes_kinesis_poller_t *p = r->p;
    if (p->stopping || r->ended || r->busy)
        return;
    if (!r->opened) {
        if (!may_start(r))
            return;
        pipes_kinesis_start_t st = {0};
        p->consumer.start_for(p->consumer.data, r->shard_id, &st);
        kinesis_start_t type = st.after_seq[0]                        ? KINESIS_AFTER_SEQUENCE_NUMBER
                               : st.at_timestamp                     ? KINESIS_AT_TIMESTAMP
                               : st.latest                           ? KINESIS_AT_LATEST
                                                                     : KINESIS_AT_TRIM_HORIZON;
        /* A child shard is read from its start, whatever the mapping's
         * starting position: its parent's records came first. */
        if (!st.after_seq[0] && r->parent[0])
            type = KINESIS_AT_TRIM_HORIZON;
        if (kinesis_cursor_open(p->k, p->stream_arn, r->shard_id, type, st.after_seq, st.timestamp_ms, &r->cur) != 0) {
            reader_after(r, READER_BACKOFF_MS);
            return;
        }
        r->opened = true;
    }
    if (!role_may_read(p)) {
        reader_after(r, READER_BACKOFF_MS);
        return;
    }
    size_t have = json_array_size(r->gathered);
    size_t want = (size_t)p->cfg.batch_size > have ? (size_t)p->cfg.batch_size - have : 0;
    kinesis_read_result_t res = {0};
    if (want && kinesis_cursor_read(p->k, &r->cur, want, READER_BATCH_BYTES, on_record, r, &res) != 0) {
        reader_after(r, READER_BACKOFF_MS);
        return;
    }
    have = json_array_size(r->gathered);
    int64_t now = (int64_t)(kyoka_mono_us() / 1000);
    if (res.records && have == res.records)
        r->first_ms = now;
    if (res.shard_end && !have) {
        r->ended = true;
        refresh_shards(p); /* its children may start */
        return;
    }
    bool full = have >= (size_t)p->cfg.batch_size;
    int64_t left = have ? r->first_ms + p->cfg.window_ms - now : 0;
    if (have && (full || left <= 0 || res.shard_end)) {
        deliver(r);
        return;
    }
    /* Wait for records (the notification) or for the window to close. */
    r->waiting = true;
    if (have)
        reader_after(r, left);
}

static void on_stream_event(void *data, kinesis_event_t ev, const char *stream_arn, const char *shard_id)
{
    (void)stream_arn;
    pipes_kinesis_poller_t *p = data;
    if (p->stopping)
        return;
    if (ev == KINESIS_EV_SHARDS) {
        refresh_shards(p);
        return;
    }
    if (ev == KINESIS_EV_RECORDS && shard_id) {
        reader_t *r = reader_find(p, shard_id);
        if (r && r->waiting && !r->busy) {
            r->waiting = false;
            reader_step(r);
        }
    }
}

void pipes_kinesis_batch_done(pipes_kinesis_poller_t *p, const char *shard_id)
{
    p->in_consumer--;
    reader_t *r = reader_find(p, shard_id);
    if (r)
        r->busy = false;
    if (p->stopping) {
        poller_maybe_free(p);
        return;
    }
    if (r)
        reader_after(r, 0);
}

pipes_kinesis_poller_t *pipes_kinesis_poller_start(kyoka_ctx_t *ctx, const pipes_kinesis_poller_cfg_t *cfg,
                                                   const pipes_kinesis_consumer_t *consumer)
{
    kinesis_t *k = ctx->service_state ? ctx->service_state(ctx, "kinesis") : NULL;
    if (!k)
        return NULL;
    pipes_kinesis_poller_t *p = xcalloc(1, sizeof *p);
    p->ctx = ctx;
    p->cfg = *cfg;
    p->stream_arn = xstrdup(cfg->stream_arn);
    p->cfg.stream_arn = p->stream_arn;
    if (p->cfg.batch_size < 1)
        p->cfg.batch_size = 1;
    p->consumer = *consumer;
    p->k = k;
    p->listener = kinesis_listen(k, p->stream_arn, on_stream_event, p);
    refresh_shards(p);
    return p;
}

void pipes_kinesis_poller_update(pipes_kinesis_poller_t *p, const pipes_kinesis_poller_cfg_t *cfg)
{
    p->cfg.batch_size = cfg->batch_size > 0 ? cfg->batch_size : 1;
    p->cfg.window_ms = cfg->window_ms;
}

void pipes_kinesis_poller_stop(pipes_kinesis_poller_t *p)
{
    if (!p || p->stopping)
        return;
    p->stopping = true;
    for (reader_t *r = p->readers; r; r = r->next)
        uv_timer_stop(r->timer);
    poller_maybe_free(p);
}
