/*
 * Kinesis Data Streams: the operation table, the resource ARNs calls are
 * authorized on, input validation with AWS's messages, and the service's
 * lifecycle.
 *
 * ARNs. The Service Authorization Reference
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonkinesis.html)
 * names two resource types, stream (arn:aws:kinesis:R:A:stream/NAME) and
 * consumer (arn:aws:kinesis:R:A:stream/NAME/consumer/C:T). Stream actions
 * are authorized on the stream a call names by StreamName or StreamARN;
 * GetRecords, which names only an iterator, on the iterator's stream;
 * consumer actions on the ConsumerARN when given; ListStreams and
 * DescribeLimits on "*". A stream's resource policy (PutResourcePolicy)
 * takes part through resource_policy.
 *
 * Validation. The generic JSON validator checks required members and
 * types; names, lengths and ranges are checked by the handlers and
 * reported the way Kinesis's front end does: one ValidationException,
 * "N validation error(s) detected: Value 'x' at 'streamName' failed to
 * satisfy constraint: Member must ...". Semantic errors are
 * InvalidArgumentException.
 */
#include "internal.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== validation ==== */

void kinesis__check_init(kinesis_check_t *k, svc_call_t *c)
{
    k->c = c;
    k->n = 0;
    buf_init(&k->msg, sizeof c->error.message);
}

void kinesis__check_add(kinesis_check_t *k, const char *member, const char *value, const char *what)
{
    if (k->n++)
        (void)buf_appends(&k->msg, "; ");
    if (value)
        (void)buf_appendf(&k->msg, "Value '%s' at '%s' failed to satisfy constraint: %s", value, member, what);
    else
        (void)buf_appendf(&k->msg, "Value null at '%s' failed to satisfy constraint: %s", member, what);
}

void kinesis__check_stream_name(kinesis_check_t *k, const char *member, const char *v, bool required)
{
    if (!v) {
        if (required)
            kinesis__check_add(k, member, NULL, "Member must not be null");
        return;
    }
    size_t n = strlen(v);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char ch = v[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
             ch == '.' || ch == '-';
    }
    if (n > KINESIS_MAX_STREAM_NAME)
        kinesis__check_add(k, member, v, "Member must have length less than or equal to 128");
    if (n < 1)
        kinesis__check_add(k, member, v, "Member must have length greater than or equal to 1");
    if (!ok || n == 0)
        kinesis__check_add(k, member, v, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
}

void kinesis__check_int(kinesis_check_t *k, const char *member, json_t *v, long long min, long long max)
{
    if (!v || !json_is_integer(v))
        return;
    long long x = json_integer_value(v);
    char text[32];
    snprintf(text, sizeof text, "%lld", x);
    if (x > max)
        kinesis__check_add(k, member, text,
                           arena_sprintf(k->c->arena, "Member must have value less than or equal to %lld", max));
    if (x < min)
        kinesis__check_add(k, member, text,
                           arena_sprintf(k->c->arena, "Member must have value greater than or equal to %lld", min));
}

void kinesis__check_len(kinesis_check_t *k, const char *member, const char *v, size_t min, size_t max)
{
    if (!v)
        return;
    size_t n = strlen(v);
    if (n > max)
        kinesis__check_add(k, member, v,
                           arena_sprintf(k->c->arena, "Member must have length less than or equal to %zu", max));
    if (n < min)
        kinesis__check_add(k, member, v,
                           arena_sprintf(k->c->arena, "Member must have length greater than or equal to %zu", min));
}

bool kinesis__check_done(kinesis_check_t *k)
{
    bool ok = k->n == 0;
    if (!ok) {
        char *text =
            arena_sprintf(k->c->arena, "%d validation error%s detected: %s", k->n, k->n == 1 ? "" : "s", k->msg.data);
        svc_error_long(k->c, "ValidationException", 400, text);
    }
    buf_destroy(&k->msg);
    return ok;
}

/* ==== ARN builders ==== */

static int arn_stream(svc_call_t *c, const char **arn)
{
    const char *a = svc_in_str(c, "StreamARN");
    if (a) {
        *arn = a;
        return 0;
    }
    const char *name = svc_in_str(c, "StreamName");
    *arn = arena_sprintf(c->arena, "arn:aws:kinesis:%s:%s:stream/%s", kinesis__call_region(c), kinesis__call_account(c),
                         name ? name : "");
    return 0;
}

static int arn_iterator(svc_call_t *c, const char **arn)
{
    kinesis_cursor_t cur;
    int64_t issued;
    kinesis_stream_t *s = NULL;
    if (kinesis__iterator_decode(svc_in_str(c, "ShardIterator"), &cur, &issued))
        s = kinesis__stream_by_id(c->state, cur.stream_id);
    *arn = s ? arena_strdup(c->arena, s->arn)
             : arena_sprintf(c->arena, "arn:aws:kinesis:%s:%s:stream/*", kinesis__call_region(c),
                             kinesis__call_account(c));
    return 0;
}

static int arn_consumer(svc_call_t *c, const char **arn)
{
    const char *a = svc_in_str(c, "ConsumerARN");
    if (!a)
        a = svc_in_str(c, "StreamARN");
    *arn = a ? a : "*";
    return 0;
}

static int arn_resource(svc_call_t *c, const char **arn)
{
    const char *a = svc_in_str(c, "ResourceARN");
    *arn = a ? a : "*";
    return 0;
}

/* ==== the operation table ==== */

#define M SVC_OP_MUTATING
static const svc_op_t kinesis_ops[] = {
    {"AddTagsToStream", kinesis_add_tags_to_stream, "kinesis:AddTagsToStream", arn_stream, M},
    {"CreateStream", kinesis_create_stream, "kinesis:CreateStream", arn_stream, M},
    {"DecreaseStreamRetentionPeriod", kinesis_decrease_stream_retention_period, "kinesis:DecreaseStreamRetentionPeriod",
     arn_stream, M},
    {"DeleteResourcePolicy", kinesis_delete_resource_policy, "kinesis:DeleteResourcePolicy", arn_resource, M},
    {"DeleteStream", kinesis_delete_stream, "kinesis:DeleteStream", arn_stream, M},
    {"DeregisterStreamConsumer", kinesis_deregister_stream_consumer, "kinesis:DeregisterStreamConsumer", arn_consumer,
     M},
    {"DescribeLimits", kinesis_describe_limits, "kinesis:DescribeLimits", NULL, 0},
    {"DescribeStream", kinesis_describe_stream, "kinesis:DescribeStream", arn_stream, 0},
    {"DescribeStreamConsumer", kinesis_describe_stream_consumer, "kinesis:DescribeStreamConsumer", arn_consumer, 0},
    {"DescribeStreamSummary", kinesis_describe_stream_summary, "kinesis:DescribeStreamSummary", arn_stream, 0},
    {"GetRecords", kinesis_get_records, "kinesis:GetRecords", arn_iterator, 0},
    {"GetResourcePolicy", kinesis_get_resource_policy, "kinesis:GetResourcePolicy", arn_resource, 0},
    {"GetShardIterator", kinesis_get_shard_iterator, "kinesis:GetShardIterator", arn_stream, 0},
    {"IncreaseStreamRetentionPeriod", kinesis_increase_stream_retention_period, "kinesis:IncreaseStreamRetentionPeriod",
     arn_stream, M},
    {"ListShards", kinesis_list_shards, "kinesis:ListShards", arn_stream, 0},
    {"ListStreamConsumers", kinesis_list_stream_consumers, "kinesis:ListStreamConsumers", arn_consumer, 0},
    {"ListStreams", kinesis_list_streams, "kinesis:ListStreams", NULL, 0},
    {"ListTagsForResource", kinesis_list_tags_for_resource, "kinesis:ListTagsForResource", arn_resource, 0},
    {"ListTagsForStream", kinesis_list_tags_for_stream, "kinesis:ListTagsForStream", arn_stream, 0},
    {"MergeShards", kinesis_merge_shards, "kinesis:MergeShards", arn_stream, M},
    {"PutRecord", kinesis_put_record, "kinesis:PutRecord", arn_stream, M},
    {"PutRecords", kinesis_put_records, "kinesis:PutRecords", arn_stream, M},
    {"PutResourcePolicy", kinesis_put_resource_policy, "kinesis:PutResourcePolicy", arn_resource, M},
    {"RegisterStreamConsumer", kinesis_register_stream_consumer, "kinesis:RegisterStreamConsumer", arn_consumer, M},
    {"RemoveTagsFromStream", kinesis_remove_tags_from_stream, "kinesis:RemoveTagsFromStream", arn_stream, M},
    {"SplitShard", kinesis_split_shard, "kinesis:SplitShard", arn_stream, M},
    {"StartStreamEncryption", kinesis_start_stream_encryption, "kinesis:StartStreamEncryption", arn_stream, M},
    {"StopStreamEncryption", kinesis_stop_stream_encryption, "kinesis:StopStreamEncryption", arn_stream, M},
    {"TagResource", kinesis_tag_resource, "kinesis:TagResource", arn_resource, M},
    {"UntagResource", kinesis_untag_resource, "kinesis:UntagResource", arn_resource, M},
    {"UpdateShardCount", kinesis_update_shard_count, "kinesis:UpdateShardCount", arn_stream, M},
    {"UpdateStreamMode", kinesis_update_stream_mode, "kinesis:UpdateStreamMode", arn_stream, M},
};
#undef M

/* ==== lifecycle ==== */

static void on_dq_closed(dq_t *dq)
{
    kinesis_t *k = container_of(dq, kinesis_t, dq);
    free(k);
}

static void *kinesis_create(kyoka_ctx_t *ctx, char *err, size_t errcap)
{
    kinesis_t *k = xcalloc(1, sizeof *k);
    k->ctx = ctx;
    k->store = ctx->store;
    k->next_stream_id = 1;
    k->next_gid = 1;
    k->sweep.cb = kinesis__on_sweep;
    dq_init(&k->dq, ctx->loop);
    if (kinesis__store_migrate(k, err, errcap) != 0 || kinesis__store_load(k, err, errcap) != 0) {
        kinesis__state_clear(k);
        k->closing = true;
        dq_close(&k->dq, on_dq_closed);
        return NULL;
    }
    kinesis__sweep_arm(k, kyoka_clock_now_ms() + KINESIS_SWEEP_INTERVAL_MS);
    return k;
}

static void kinesis_free(void *state)
{
    kinesis_t *k = state;
    if (!k)
        return;
    k->closing = true;
    kinesis__state_clear(k);
    kinesis__notify_disown(k);
    while (k->listeners) {
        kinesis_listener_t *l = k->listeners;
        k->listeners = l->next;
        l->k = NULL;
        l->prev = l->next = NULL;
        /* The poller owns its listener and frees it; it is unlinked here. */
    }
    EVP_MD_CTX_free(k->md5);
    dq_remove(&k->dq, &k->sweep);
    dq_close(&k->dq, on_dq_closed);
}

static void kinesis_reset(void *state)
{
    kinesis_t *k = state;
    kinesis__state_clear(k);
    k->next_stream_id = 1;
    k->next_gid = 1;
    store_write_begin(k->store);
    if (store_exec(k->store, "DELETE FROM kinesis_records; DELETE FROM "
                             "kinesis_shards; DELETE FROM kinesis_streams;") != 0)
        log_error("kinesis: reset could not clear the store");
}

static void kinesis_clock_moved(void *state)
{
    (void)state; /* statuses are read lazily; the sweep sits on the dq, which sees
                    the clock */
}

const svc_def_t kinesis_service = {
    .name = "kinesis",
    .ops = kinesis_ops,
    .nops = KYOKA_ARRAY_LEN(kinesis_ops),
    .create = kinesis_create,
    .free = kinesis_free,
    .reset = kinesis_reset,
    .clock_moved = kinesis_clock_moved,
    .resource_policy = kinesis__resource_policy,
};
