/*
 * Enhanced fan-out consumers: RegisterStreamConsumer, DescribeStreamConsumer,
 * ListStreamConsumers, DeregisterStreamConsumer.
 *
 * A consumer is a name on a stream with an ARN of AWS's form,
 * <stream ARN>/consumer/<name>:<creation epoch seconds>, CREATING for
 * KINESIS_SETTLE_MS and then ACTIVE. kyoka keeps consumers as registrations
 * (DeleteStream's EnforceConsumerDeletion and ConsumerCount see them);
 * SubscribeToShard, which pushes records over HTTP/2 event streams, is not
 * served.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static json_t *consumer_json(const kinesis_consumer_t *cn, const kinesis_stream_t *s, bool with_stream)
{
    json_t *o = json_object();
    json_object_set_new(o, "ConsumerName", json_string(cn->name));
    json_object_set_new(o, "ConsumerARN", json_string(cn->arn));
    json_object_set_new(o, "ConsumerStatus", json_string(kyoka_clock_now_ms() >= cn->ready_ms ? "ACTIVE" : "CREATING"));
    json_object_set_new(o, "ConsumerCreationTimestamp", json_real((double)cn->created_ms / 1000.0));
    if (with_stream)
        json_object_set_new(o, "StreamARN", json_string(s->arn));
    return o;
}

static bool name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len < 1 || len > 128)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = n[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '.' || ch == '-'))
            return false;
    }
    return true;
}

/* The consumer a call names: ConsumerARN, or StreamARN with ConsumerName.
 * *sp is its stream; *idx its position. */
static kinesis_consumer_t *consumer_get_or_fail(svc_call_t *c, kinesis_stream_t **sp, size_t *idx)
{
    const char *carn = svc_in_str(c, "ConsumerARN");
    const char *sarn = svc_in_str(c, "StreamARN");
    const char *name = svc_in_str(c, "ConsumerName");
    if (!carn && !(sarn && name)) {
        svc_error(c, "InvalidArgumentException", 400,
                  "Either ConsumerARN or both StreamARN and ConsumerName must be "
                  "provided.");
        return NULL;
    }
    kinesis_stream_t *s = kinesis__stream_arn_get_or_fail(c, carn ? carn : sarn);
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->nconsumers; i++) {
        kinesis_consumer_t *cn = s->consumers[i];
        if (carn ? strcmp(cn->arn, carn) == 0 : strcmp(cn->name, name) == 0) {
            *sp = s;
            *idx = i;
            return cn;
        }
    }
    svc_error(c, "ResourceNotFoundException", 400, "Consumer %s under account %s not found.", carn ? carn : name,
              s->account);
    return NULL;
}

int kinesis_register_stream_consumer(svc_call_t *c)
{
    const char *name = svc_in_str(c, "ConsumerName");
    if (!name_ok(name)) {
        kinesis_check_t ck;
        kinesis__check_init(&ck, c);
        kinesis__check_add(&ck, "consumerName", name,
                           "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
        kinesis__check_done(&ck);
        return 0;
    }
    kinesis_stream_t *s = kinesis__stream_arn_get_or_fail(c, svc_in_str(c, "StreamARN"));
    if (!s || !kinesis__stream_active_or_fail(c, s))
        return 0;
    for (size_t i = 0; i < s->nconsumers; i++)
        if (strcmp(s->consumers[i]->name, name) == 0) {
            svc_error(c, "ResourceInUseException", 400, "Consumer %s under stream %s already exists for account %s.",
                      name, s->name, s->account);
            return 0;
        }
    if (s->nconsumers >= KINESIS_MAX_CONSUMERS) {
        svc_error(c, "LimitExceededException", 400, "Consumer limit of %d reached for stream %s under account %s.",
                  KINESIS_MAX_CONSUMERS, s->name, s->account);
        return 0;
    }
    int64_t now = kyoka_clock_now_ms();
    kinesis_consumer_t *cn = xcalloc(1, sizeof *cn);
    cn->name = xstrdup(name);
    cn->arn = xasprintf("%s/consumer/%s:%lld", s->arn, name, (long long)(now / 1000));
    cn->created_ms = now;
    cn->ready_ms = now + KINESIS_SETTLE_MS;
    s->consumers = xrealloc(s->consumers, (s->nconsumers + 1) * sizeof *s->consumers);
    s->consumers[s->nconsumers++] = cn;
    kinesis__persist_consumers(s);
    json_t *o = consumer_json(cn, s, false);
    json_object_set_new(o, "ConsumerStatus", json_string("CREATING"));
    json_object_set_new(svc_output(c), "Consumer", o);
    return 0;
}

int kinesis_describe_stream_consumer(svc_call_t *c)
{
    kinesis_stream_t *s;
    size_t i;
    kinesis_consumer_t *cn = consumer_get_or_fail(c, &s, &i);
    if (cn)
        json_object_set_new(svc_output(c), "ConsumerDescription", consumer_json(cn, s, true));
    return 0;
}

int kinesis_list_stream_consumers(svc_call_t *c)
{
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_int(&ck, "maxResults", svc_in(c, "MaxResults"), 1, 10000);
    if (!kinesis__check_done(&ck))
        return 0;
    kinesis_stream_t *s = kinesis__stream_arn_get_or_fail(c, svc_in_str(c, "StreamARN"));
    if (!s)
        return 0;
    long long max = 100;
    kinesis_in_int(c, "MaxResults", &max);
    long long start = 0;
    const char *token = svc_in_str(c, "NextToken");
    if (token) {
        char *end;
        start = strtoll(token, &end, 10);
        if (*end || start < 0) {
            svc_error(c, "InvalidArgumentException", 400, "Invalid NextToken.");
            return 0;
        }
    }
    json_t *arr = json_array();
    long long i = start;
    for (; i < (long long)s->nconsumers && (long long)json_array_size(arr) < max; i++)
        json_array_append_new(arr, consumer_json(s->consumers[i], s, false));
    json_t *out = svc_output(c);
    json_object_set_new(out, "Consumers", arr);
    if (i < (long long)s->nconsumers)
        json_object_set_new(out, "NextToken", json_string(arena_sprintf(c->arena, "%lld", i)));
    return 0;
}

int kinesis_deregister_stream_consumer(svc_call_t *c)
{
    kinesis_stream_t *s;
    size_t i;
    kinesis_consumer_t *cn = consumer_get_or_fail(c, &s, &i);
    if (!cn)
        return 0;
    memmove(&s->consumers[i], &s->consumers[i + 1], (s->nconsumers - i - 1) * sizeof *s->consumers);
    s->nconsumers--;
    free(cn->name);
    free(cn->arn);
    free(cn);
    kinesis__persist_consumers(s);
    svc_output(c);
    return 0;
}
