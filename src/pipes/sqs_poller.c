/*
 * The SQS poller behind an event source mapping
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html#events-sqs-scaling):
 * lanes that long-poll the queue under the consumer's credential (the
 * function's execution role: the role's policies or the queue policy must
 * allow ReceiveMessage and DeleteMessage), gather a batch up to BatchSize
 * or until the batching window closes, hand it to the consumer, and delete
 * what the consumer says succeeded. What it does not delete reappears after
 * the queue's visibility timeout, so the queue's redrive policy decides
 * about poison messages, as on AWS.
 *
 * Scaling: five lanes to start (AWS's initial concurrency), one more each
 * time a batch comes back full (a backlog) up to the mapping's maximum;
 * a failed or throttled batch takes a lane away and makes the lane wait,
 * one second doubling to a minute, so a failing function slows the pollers
 * instead of spinning on the queue.
 */
#include "pipes.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define POLLER_START_LANES 5
#define POLLER_LONG_POLL_S 20
#define POLLER_BACKOFF_MIN_MS 1000
#define POLLER_BACKOFF_MAX_MS 60000
/* A batch's payload stays under Lambda's 6 MB synchronous limit. */
#define POLLER_BATCH_BYTES (6 * 1024 * 1024 - 64 * 1024)

typedef struct lane lane_t;

struct pipes_sqs_batch {
    lane_t *lane;
    json_t *messages;
};

struct lane {
    pipes_sqs_poller_t *p;
    json_t *messages;         /* gathered so far */
    size_t bytes;
    int64_t first_ms;         /* when the first message of the batch came */
    int backoff_ms;
    bool busy_with_consumer;
    uv_timer_t *timer;
    pipes_sqs_batch_t batch;
    lane_t *next;
};

struct pipes_sqs_poller {
    kyoka_ctx_t *ctx;
    pipes_sqs_poller_cfg_t cfg;
    char *queue_arn;
    pipes_sqs_consumer_t consumer;
    lane_t *lanes;
    int nlanes;
    int target;
    int in_flight;            /* internal calls and timers still to come back */
    bool stopping;
};

static void lane_receive(lane_t *l);
static void lane_next(lane_t *l);

static void on_timer_closed(uv_handle_t *h) { free(h); }

static void poller_maybe_free(pipes_sqs_poller_t *p)
{
    if (!p->stopping || p->in_flight > 0)
        return;
    for (lane_t *l = p->lanes; l; l = l->next)
        if (l->busy_with_consumer)
            return;
    while (p->lanes) {
        lane_t *l = p->lanes;
        p->lanes = l->next;
        json_decref(l->messages);
        uv_close((uv_handle_t *)l->timer, on_timer_closed);
        free(l);
    }
    void (*stopped)(void *) = p->consumer.stopped;
    void *data = p->consumer.data;
    free(p->queue_arn);
    free(p);
    if (stopped)
        stopped(data);
}

static void on_lane_timer(uv_timer_t *t)
{
    lane_t *l = t->data;
    l->p->in_flight--;
    if (l->p->stopping) {
        poller_maybe_free(l->p);
        return;
    }
    if (json_array_size(l->messages))
        lane_next(l); /* the window closed: deliver what there is */
    else
        lane_receive(l);
}

static void lane_after(lane_t *l, int64_t ms)
{
    l->p->in_flight++;
    uv_timer_start(l->timer, on_lane_timer, ms > 0 ? (uint64_t)ms : 0, 0);
}

static lane_t *lane_add(pipes_sqs_poller_t *p)
{
    lane_t *l = xcalloc(1, sizeof *l);
    l->p = p;
    l->messages = json_array();
    l->timer = xcalloc(1, sizeof *l->timer);
    uv_timer_init(p->ctx->loop, l->timer);
    l->timer->data = l;
    l->next = p->lanes;
    p->lanes = l;
    p->nlanes++;
    return l;
}

static int64_t window_left_ms(const lane_t *l)
{
    int64_t w = l->p->cfg.window_ms;
    if (!json_array_size(l->messages))
        return w;
    int64_t left = l->first_ms + w - (int64_t)(kyoka_mono_us() / 1000);
    return left > 0 ? left : 0;
}

static void on_received(void *data, const svc_call_t *c)
{
    lane_t *l = data;
    pipes_sqs_poller_t *p = l->p;
    p->in_flight--;
    if (p->stopping) {
        /* What came back reappears after its visibility timeout. */
        poller_maybe_free(p);
        return;
    }
    if (c->error.code) {
        if (p->consumer.receive_error)
            p->consumer.receive_error(p->consumer.data, c);
        l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : POLLER_BACKOFF_MIN_MS;
        if (l->backoff_ms > POLLER_BACKOFF_MAX_MS)
            l->backoff_ms = POLLER_BACKOFF_MAX_MS;
        lane_after(l, l->backoff_ms);
        return;
    }
    json_t *msgs = json_object_get(c->output, "Messages");
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m)
    {
        if (!json_array_size(l->messages))
            l->first_ms = (int64_t)(kyoka_mono_us() / 1000);
        json_array_append(l->messages, m);
        l->bytes += json_string_length(json_object_get(m, "Body"));
    }
    size_t have = json_array_size(l->messages);
    bool full = have >= (size_t)p->cfg.batch_size || l->bytes >= POLLER_BATCH_BYTES;
    if (have && (full || window_left_ms(l) == 0)) {
        lane_next(l);
        return;
    }
    lane_receive(l);
}

static void lane_receive(lane_t *l)
{
    pipes_sqs_poller_t *p = l->p;
    const auth_cred_t *cred = p->consumer.cred ? p->consumer.cred(p->consumer.data) : NULL;
    if (!cred) {
        lane_after(l, POLLER_BACKOFF_MIN_MS);
        return;
    }
    size_t have = json_array_size(l->messages);
    int want = p->cfg.batch_size - (int)have;
    if (want > 10)
        want = 10;
    int64_t wait_s = POLLER_LONG_POLL_S;
    if (have) {
        int64_t left = window_left_ms(l);
        wait_s = (left + 999) / 1000;
        if (wait_s > POLLER_LONG_POLL_S)
            wait_s = POLLER_LONG_POLL_S;
    }
    pipes_dest_t d;
    pipes_dest_parse(p->queue_arn, &d);
    const char *name = strrchr(p->queue_arn, ':');
    char url[512];
    snprintf(url, sizeof url, "%s/%s/%s", p->ctx->endpoint, d.account, name ? name + 1 : "");
    json_t *in = json_pack("{s:s,s:i,s:I,s:[s],s:[s]}", "QueueUrl", url, "MaxNumberOfMessages", want,
                           "WaitTimeSeconds", (json_int_t)wait_s, "AttributeNames", "All", "MessageAttributeNames",
                           "All");
    svc_caller_t who = {.cred = cred, .region = d.region};
    p->in_flight++;
    p->ctx->call(p->ctx, &who, "sqs", "ReceiveMessage", in, on_received, l);
}

static void lane_next(lane_t *l)
{
    pipes_sqs_poller_t *p = l->p;
    uv_timer_stop(l->timer);
    l->busy_with_consumer = true;
    l->batch = (pipes_sqs_batch_t){l, l->messages};
    l->messages = json_array();
    l->bytes = 0;
    bool full = json_array_size(l->batch.messages) >= (size_t)p->cfg.batch_size;
    /* A full batch means a backlog: one more lane, up to the maximum. */
    if (full && p->nlanes < p->target) {
        lane_t *n = lane_add(p);
        lane_receive(n);
    }
    p->consumer.batch(p->consumer.data, p, &l->batch, l->batch.messages);
}

static void on_deleted(void *data, const svc_call_t *c)
{
    pipes_sqs_poller_t *p = data;
    p->in_flight--;
    if (c->error.code && p->consumer.receive_error)
        p->consumer.receive_error(p->consumer.data, c);
    poller_maybe_free(p);
}

void pipes_sqs_batch_done(pipes_sqs_poller_t *p, pipes_sqs_batch_t *b, const char *const *handles, size_t n,
                          bool failed)
{
    lane_t *l = b->lane;
    l->busy_with_consumer = false;
    json_decref(b->messages);
    b->messages = NULL;
    if (failed) {
        l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : POLLER_BACKOFF_MIN_MS;
        if (l->backoff_ms > POLLER_BACKOFF_MAX_MS)
            l->backoff_ms = POLLER_BACKOFF_MAX_MS;
        if (p->target > 1)
            p->target--;
    } else {
        l->backoff_ms = 0;
        if (p->target < p->cfg.max_concurrency)
            p->target++;
    }
    const auth_cred_t *cred = n && p->consumer.cred ? p->consumer.cred(p->consumer.data) : NULL;
    pipes_dest_t d;
    pipes_dest_parse(p->queue_arn, &d);
    const char *name = strrchr(p->queue_arn, ':');
    char url[512];
    snprintf(url, sizeof url, "%s/%s/%s", p->ctx->endpoint, d.account, name ? name + 1 : "");
    for (size_t i = 0; cred && i < n; i += 10) {
        json_t *entries = json_array();
        for (size_t j = i; j < n && j < i + 10; j++) {
            json_t *e = json_object();
            json_object_set_new(e, "Id", json_sprintf("m%zu", j - i));
            json_object_set_new(e, "ReceiptHandle", json_string(handles[j]));
            json_array_append_new(entries, e);
        }
        json_t *in = json_pack("{s:s,s:o}", "QueueUrl", url, "Entries", entries);
        svc_caller_t who = {.cred = cred, .region = d.region};
        p->in_flight++;
        p->ctx->call(p->ctx, &who, "sqs", "DeleteMessageBatch", in, on_deleted, p);
    }
    /* The next receive goes out with the deletes, not after them: the
     * deletes' commit and the long poll overlap. */
    if (p->stopping)
        poller_maybe_free(p);
    else if (l->backoff_ms)
        lane_after(l, l->backoff_ms);
    else
        lane_receive(l);
}

void pipes_sqs_poller_update(pipes_sqs_poller_t *p, const pipes_sqs_poller_cfg_t *cfg)
{
    p->cfg.batch_size = cfg->batch_size > 0 ? cfg->batch_size : 1;
    p->cfg.window_ms = cfg->window_ms;
    p->cfg.max_concurrency = cfg->max_concurrency > 0 ? cfg->max_concurrency : 1;
    if (p->target > p->cfg.max_concurrency)
        p->target = p->cfg.max_concurrency;
}

pipes_sqs_poller_t *pipes_sqs_poller_start(kyoka_ctx_t *ctx, const pipes_sqs_poller_cfg_t *cfg,
                                           const pipes_sqs_consumer_t *consumer)
{
    pipes_sqs_poller_t *p = xcalloc(1, sizeof *p);
    p->ctx = ctx;
    p->cfg = *cfg;
    p->queue_arn = xstrdup(cfg->queue_arn);
    p->cfg.queue_arn = p->queue_arn;
    if (p->cfg.batch_size < 1)
        p->cfg.batch_size = 1;
    if (p->cfg.max_concurrency < 1)
        p->cfg.max_concurrency = 1;
    p->consumer = *consumer;
    p->target = p->cfg.max_concurrency < POLLER_START_LANES ? p->cfg.max_concurrency : POLLER_START_LANES;
    for (int i = 0; i < p->target; i++)
        lane_receive(lane_add(p));
    return p;
}

void pipes_sqs_poller_stop(pipes_sqs_poller_t *p)
{
    if (!p || p->stopping)
        return;
    p->stopping = true;
    for (lane_t *l = p->lanes; l; l = l->next) {
        if (uv_is_active((uv_handle_t *)l->timer)) {
            uv_timer_stop(l->timer);
            p->in_flight--;
        }
    }
    poller_maybe_free(p);
}
