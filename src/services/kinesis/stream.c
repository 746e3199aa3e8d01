/*
 * Streams: naming, lookup by name or ARN, the status a stream settles
 * through, and the stream-level operations (create, delete, describe,
 * list, retention, tags, resource policies, encryption, capacity mode).
 *
 * Status. CreateStream answers at once with the stream CREATING; it is
 * ACTIVE KINESIS_SETTLE_MS later (AWS takes seconds to minutes). Resharding,
 * retention, encryption and mode changes put an ACTIVE stream in UPDATING
 * for as long; DeleteStream puts it in DELETING, during which it still
 * answers DescribeStream, and then it is gone. All of it runs on the server
 * clock (a settle entry on the deadline queue, and a lazy check on every
 * read), so advancing the clock settles everything.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

const char *kinesis__call_region(const svc_call_t *c) { return c->region ? c->region : c->ctx->region; }

const char *kinesis__call_account(const svc_call_t *c)
{
    return c->cred && c->cred->account_id ? c->cred->account_id : c->ctx->account_id;
}

char *kinesis__stream_arn(const char *region, const char *account, const char *name)
{
    return xasprintf("arn:aws:kinesis:%s:%s:stream/%s", region, account, name);
}

bool kinesis__arn_parse(const char *arn, strv_t *region, strv_t *account, strv_t *name, strv_t *consumer)
{
    iam_arn_t a;
    if (!arn || strncmp(arn, "arn:", 4) != 0 || iam_arn_parse(strv_from(arn), &a) != 0 ||
        !strv_eq_cstr(a.service, "kinesis") || !strv_starts_with(a.resource, "stream/"))
        return false;
    strv_t rest = {a.resource.p + 7, a.resource.len - 7};
    *consumer = STRV_NULL;
    const char *slash = memchr(rest.p, '/', rest.len);
    if (slash) {
        strv_t tail = {slash + 1, rest.len - (size_t)(slash + 1 - rest.p)};
        if (!strv_starts_with(tail, "consumer/"))
            return false;
        *consumer = (strv_t){tail.p + 9, tail.len - 9};
        rest.len = (size_t)(slash - rest.p);
    }
    if (!rest.len)
        return false;
    *region = a.region;
    *account = a.account;
    *name = rest;
    return true;
}

static int key_cmp(const kinesis_stream_t *s, const char *region, const char *account, const char *name)
{
    int c = strcmp(s->region, region);
    if (!c)
        c = strcmp(s->account, account);
    if (!c)
        c = strcmp(s->name, name);
    return c;
}

static size_t stream_pos(const kinesis_t *k, const char *region, const char *account, const char *name, bool *found)
{
    size_t lo = 0, hi = k->nstreams;
    *found = false;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = key_cmp(k->streams[mid], region, account, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

kinesis_stream_t *kinesis__stream_lookup(kinesis_t *k, const char *region, const char *account, const char *name)
{
    bool found;
    size_t i = stream_pos(k, region, account, name, &found);
    return found ? k->streams[i] : NULL;
}

kinesis_stream_t *kinesis__stream_by_arn(kinesis_t *k, const char *arn)
{
    strv_t r, a, n, cons;
    if (!kinesis__arn_parse(arn, &r, &a, &n, &cons))
        return NULL;
    char region[64], account[32], name[KINESIS_MAX_STREAM_NAME + 1];
    if (r.len >= sizeof region || a.len >= sizeof account || n.len >= sizeof name)
        return NULL;
    memcpy(region, r.p, r.len);
    region[r.len] = 0;
    memcpy(account, a.p, a.len);
    account[a.len] = 0;
    memcpy(name, n.p, n.len);
    name[n.len] = 0;
    return kinesis__stream_lookup(k, region, account, name);
}

kinesis_stream_t *kinesis__stream_by_id(kinesis_t *k, uint64_t id)
{
    for (size_t i = 0; i < k->nstreams; i++)
        if (k->streams[i]->id == id)
            return k->streams[i];
    return NULL;
}

kinesis_stream_t *kinesis__stream_new(kinesis_t *k, uint64_t id, const char *region, const char *account,
                                      const char *name, int64_t created_ms)
{
    bool found;
    size_t pos = stream_pos(k, region, account, name, &found);
    kinesis_stream_t *s = xcalloc(1, sizeof *s);
    s->id = id;
    s->st = k;
    s->region = xstrdup(region);
    s->account = xstrdup(account);
    s->name = xstrdup(name);
    s->arn = kinesis__stream_arn(region, account, name);
    s->created_ms = created_ms;
    s->status = KS_ACTIVE;
    s->retention_h = KINESIS_MIN_RETENTION_H;
    s->encryption = xstrdup("NONE");
    s->tags = json_object();
    s->settle.cb = kinesis__on_settle;
    if (k->nstreams == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 16;
        k->streams = xrealloc(k->streams, k->cap * sizeof *k->streams);
    }
    memmove(&k->streams[pos + 1], &k->streams[pos], (k->nstreams - pos) * sizeof *k->streams);
    k->streams[pos] = s;
    k->nstreams++;
    return s;
}

void kinesis__stream_free(kinesis_stream_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nshards; i++) {
        kinesis_shard_t *sh = s->shards[i];
        if (sh->gid < s->st->ngid && s->st->by_gid[sh->gid] == sh)
            s->st->by_gid[sh->gid] = NULL;
        free(sh);
    }
    free(s->shards);
    for (size_t i = 0; i < s->nconsumers; i++) {
        free(s->consumers[i]->name);
        free(s->consumers[i]->arn);
        free(s->consumers[i]);
    }
    free(s->consumers);
    json_decref(s->tags);
    iam_policy_free(s->policy_c);
    free(s->policy);
    free(s->encryption);
    free(s->key_id);
    free(s->region);
    free(s->account);
    free(s->name);
    free(s->arn);
    free(s);
}

void kinesis__stream_remove(kinesis_stream_t *s)
{
    kinesis_t *k = s->st;
    dq_remove(&k->dq, &s->settle);
    /* A stream on the notify list of the open batch leaves it. */
    for (kinesis_stream_t **pp = &k->notify; *pp; pp = &(*pp)->notify_next)
        if (*pp == s) {
            *pp = s->notify_next;
            break;
        }
    for (size_t i = 0; i < k->nstreams; i++)
        if (k->streams[i] == s) {
            memmove(&k->streams[i], &k->streams[i + 1], (k->nstreams - i - 1) * sizeof *k->streams);
            k->nstreams--;
            break;
        }
    kinesis__stream_free(s);
}

const char *kinesis__status_name(kinesis_status_t st)
{
    switch (st) {
    case KS_CREATING:
        return "CREATING";
    case KS_UPDATING:
        return "UPDATING";
    case KS_DELETING:
        return "DELETING";
    case KS_ACTIVE:
        break;
    }
    return "ACTIVE";
}

kinesis_status_t kinesis__status(kinesis_stream_t *s)
{
    if ((s->status == KS_CREATING || s->status == KS_UPDATING) && kyoka_clock_now_ms() >= s->settle_ms)
        s->status = KS_ACTIVE; /* the stored row says the same once settle_ms is past */
    return s->status;
}

void kinesis__stream_settle(kinesis_stream_t *s, kinesis_status_t st)
{
    s->status = st;
    s->settle_ms = kyoka_clock_now_ms() + KINESIS_SETTLE_MS;
    dq_add(&s->st->dq, &s->settle, s->settle_ms);
}

void kinesis__on_settle(dq_entry_t *e)
{
    kinesis_stream_t *s = container_of(e, kinesis_stream_t, settle);
    if (s->status != KS_DELETING) {
        (void)kinesis__status(s);
        return;
    }
    kinesis_t *k = s->st;
    char *arn = xstrdup(s->arn);
    kinesis__persist_stream_delete(s);
    kinesis__stream_remove(s);
    kinesis__notify_event(k, arn, KINESIS_EV_DELETED);
    free(arn);
}

void kinesis__err_not_found(svc_call_t *c, const char *name, const char *account)
{
    svc_error(c, "ResourceNotFoundException", 400, "Stream %s under account %s not found.", name, account);
}

kinesis_stream_t *kinesis__stream_arn_get_or_fail(svc_call_t *c, const char *arn)
{
    strv_t r, a, n, cons;
    if (!kinesis__arn_parse(arn, &r, &a, &n, &cons)) {
        svc_error(c, "InvalidArgumentException", 400, "Invalid StreamARN %s.", arn ? arn : "null");
        return NULL;
    }
    kinesis_stream_t *s = kinesis__stream_by_arn(c->state, arn);
    if (!s || strncmp(s->region, kinesis__call_region(c), 64) != 0) {
        char *name = arena_strndup(c->arena, n.p, n.len);
        char *acct = arena_strndup(c->arena, a.p, a.len);
        kinesis__err_not_found(c, name, acct);
        return NULL;
    }
    return s;
}

kinesis_stream_t *kinesis__stream_get_or_fail(svc_call_t *c)
{
    const char *arn = svc_in_str(c, "StreamARN");
    const char *name = svc_in_str(c, "StreamName");
    if (arn) {
        kinesis_stream_t *s = kinesis__stream_arn_get_or_fail(c, arn);
        if (s && name && strcmp(name, s->name) != 0) {
            svc_error(c, "InvalidArgumentException", 400, "StreamARN %s and StreamName %s do not name the same stream.",
                      arn, name);
            return NULL;
        }
        return s;
    }
    if (!name) {
        svc_error(c, "InvalidArgumentException", 400, "Either StreamName or StreamARN must be provided.");
        return NULL;
    }
    kinesis_stream_t *s = kinesis__stream_lookup(c->state, kinesis__call_region(c), kinesis__call_account(c), name);
    if (!s)
        kinesis__err_not_found(c, name, kinesis__call_account(c));
    return s;
}

bool kinesis__stream_active_or_fail(svc_call_t *c, kinesis_stream_t *s)
{
    kinesis_status_t st = kinesis__status(s);
    if (st == KS_ACTIVE)
        return true;
    svc_error(c, "ResourceInUseException", 400, "Stream %s under account %s not ACTIVE, instead in state %s", s->name,
              s->account, kinesis__status_name(st));
    return false;
}

static json_t *ts_json(int64_t ms) { return json_real((double)ms / 1000.0); }

static json_t *mode_json(const kinesis_stream_t *s)
{
    return json_pack("{s:s}", "StreamMode", s->on_demand ? "ON_DEMAND" : "PROVISIONED");
}

static json_t *monitoring_json(void) { return json_pack("[{s:[]}]", "ShardLevelMetrics"); }

static bool tags_check(svc_call_t *c, kinesis_stream_t *s, json_t *tags, bool adding)
{
    const char *key;
    json_t *v;
    size_t added = 0;
    json_object_foreach(tags, key, v)
    {
        size_t kl = strlen(key);
        size_t vl = json_string_length(v);
        if (kl < 1 || kl > 128 || vl > 256 || strncmp(key, "aws:", 4) == 0) {
            svc_error(c, "InvalidArgumentException", 400,
                      "Tag key must be 1 to 128 characters not starting with aws: "
                      "and a value at most 256 characters;"
                      " got key '%s'.",
                      key);
            return false;
        }
        if (!json_object_get(s->tags, key))
            added++;
    }
    if (adding && json_object_size(s->tags) + added > KINESIS_MAX_TAGS) {
        svc_error(c, "InvalidArgumentException", 400,
                  "Failed to add tags to stream %s under account %s because a "
                  "given stream cannot have more than %d"
                  " tags.",
                  s->name, s->account, KINESIS_MAX_TAGS);
        return false;
    }
    return true;
}

/* ==== operation handlers ==== */

int kinesis_create_stream(svc_call_t *c)
{
    kinesis_t *k = c->state;
    const char *name = svc_in_str(c, "StreamName");
    json_t *mode = svc_in(c, "StreamModeDetails");
    const char *mode_s = json_string_value(json_object_get(mode, "StreamMode"));
    long long shards = 0;
    bool has_count = kinesis_in_int(c, "ShardCount", &shards);
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_stream_name(&ck, "streamName", name, true);
    kinesis__check_int(&ck, "shardCount", svc_in(c, "ShardCount"), 1, 100000);
    if (mode && (!mode_s || (strcmp(mode_s, "ON_DEMAND") != 0 && strcmp(mode_s, "PROVISIONED") != 0)))
        kinesis__check_add(&ck, "streamModeDetails.streamMode", mode_s,
                           "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]");
    if (!kinesis__check_done(&ck))
        return 0;
    bool on_demand = mode_s && strcmp(mode_s, "ON_DEMAND") == 0;
    /* CreateStream: "ShardCount ... is required when you choose the
     * provisioned capacity mode"; an on-demand stream takes none. */
    if (!on_demand && !has_count) {
        svc_error(c, "InvalidArgumentException", 400,
                  "A ShardCount must be specified for streams in PROVISIONED mode "
                  "(StreamName %s).",
                  name);
        return 0;
    }
    if (on_demand && has_count) {
        svc_error(c, "InvalidArgumentException", 400, "ShardCount cannot be specified for streams in ON_DEMAND mode.");
        return 0;
    }
    if (shards > KINESIS_MAX_SHARDS) {
        svc_error(c, "LimitExceededException", 400,
                  "This request would exceed the shard limit for the account %s in "
                  "%s. Current shard count for the"
                  " account: 0. Limit: %d. Number of additional shards that would "
                  "have resulted from this request: %lld.",
                  kinesis__call_account(c), kinesis__call_region(c), KINESIS_MAX_SHARDS, shards);
        return 0;
    }
    const char *region = kinesis__call_region(c), *account = kinesis__call_account(c);
    if (kinesis__stream_lookup(k, region, account, name)) {
        svc_error(c, "ResourceInUseException", 400, "Stream %s under account %s already exists.", name, account);
        return 0;
    }
    json_t *tags = svc_in(c, "Tags");
    int64_t now = kyoka_clock_now_ms();
    kinesis_stream_t *s = kinesis__stream_new(k, k->next_stream_id++, region, account, name, now);
    if (json_is_object(tags) && !tags_check(c, s, tags, true)) {
        kinesis__stream_remove(s);
        return 0;
    }
    if (json_is_object(tags))
        json_object_update(s->tags, tags);
    s->on_demand = on_demand;
    kinesis__shards_create(s, on_demand ? KINESIS_ON_DEMAND_SHARDS : (int)shards, now);
    kinesis__stream_settle(s, KS_CREATING);
    kinesis__persist_stream(s);
    svc_output(c);
    return 0;
}

int kinesis_delete_stream(svc_call_t *c)
{
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s)
        return 0;
    kinesis_status_t st = kinesis__status(s);
    if (st == KS_DELETING) {
        svc_error(c, "ResourceInUseException", 400, "Stream %s under account %s is already being deleted.", s->name,
                  s->account);
        return 0;
    }
    json_t *force = svc_in(c, "EnforceConsumerDeletion");
    if (s->nconsumers && !json_is_true(force)) {
        svc_error(c, "ResourceInUseException", 400,
                  "Stream %s under account %s has registered consumers. Set "
                  "EnforceConsumerDeletion to true to delete"
                  " the stream and its consumers.",
                  s->name, s->account);
        return 0;
    }
    kinesis__stream_settle(s, KS_DELETING);
    kinesis__persist_stream(s);
    svc_output(c);
    return 0;
}

static json_t *shards_page(svc_call_t *c, kinesis_stream_t *s, const char *after, long long limit, bool *more)
{
    json_t *arr = json_array();
    int64_t now = kyoka_clock_now_ms();
    bool started = !after;
    *more = false;
    for (size_t i = 0; i < s->nshards; i++) {
        kinesis_shard_t *sh = s->shards[i];
        if (kinesis__shard_expired(sh, now))
            continue;
        if (!started) {
            started = strcmp(sh->id, after) == 0;
            if (!started && strcmp(sh->id, after) > 0)
                started = true;
            else
                continue;
        }
        if ((long long)json_array_size(arr) == limit) {
            *more = true;
            break;
        }
        json_array_append_new(arr, kinesis__shard_json(sh));
    }
    return arr;
}

int kinesis_describe_stream(svc_call_t *c)
{
    long long limit = 100;
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_stream_name(&ck, "streamName", svc_in_str(c, "StreamName"), false);
    kinesis__check_int(&ck, "limit", svc_in(c, "Limit"), 1, 10000);
    if (!kinesis__check_done(&ck))
        return 0;
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s)
        return 0;
    kinesis_in_int(c, "Limit", &limit);
    bool more;
    json_t *shards = shards_page(c, s, svc_in_str(c, "ExclusiveStartShardId"), limit, &more);
    json_t *d = json_object();
    json_object_set_new(d, "StreamName", json_string(s->name));
    json_object_set_new(d, "StreamARN", json_string(s->arn));
    json_object_set_new(d, "StreamStatus", json_string(kinesis__status_name(kinesis__status(s))));
    json_object_set_new(d, "StreamModeDetails", mode_json(s));
    json_object_set_new(d, "Shards", shards);
    json_object_set_new(d, "HasMoreShards", json_boolean(more));
    json_object_set_new(d, "RetentionPeriodHours", json_integer(s->retention_h));
    json_object_set_new(d, "StreamCreationTimestamp", ts_json(s->created_ms));
    json_object_set_new(d, "EnhancedMonitoring", monitoring_json());
    json_object_set_new(d, "EncryptionType", json_string(s->encryption));
    if (s->key_id)
        json_object_set_new(d, "KeyId", json_string(s->key_id));
    json_object_set_new(svc_output(c), "StreamDescription", d);
    return 0;
}

int kinesis_describe_stream_summary(svc_call_t *c)
{
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s)
        return 0;
    json_t *d = json_object();
    json_object_set_new(d, "StreamName", json_string(s->name));
    json_object_set_new(d, "StreamARN", json_string(s->arn));
    json_object_set_new(d, "StreamStatus", json_string(kinesis__status_name(kinesis__status(s))));
    json_object_set_new(d, "StreamModeDetails", mode_json(s));
    json_object_set_new(d, "RetentionPeriodHours", json_integer(s->retention_h));
    json_object_set_new(d, "StreamCreationTimestamp", ts_json(s->created_ms));
    json_object_set_new(d, "EnhancedMonitoring", monitoring_json());
    json_object_set_new(d, "EncryptionType", json_string(s->encryption));
    if (s->key_id)
        json_object_set_new(d, "KeyId", json_string(s->key_id));
    json_object_set_new(d, "OpenShardCount", json_integer(kinesis__open_shards(s)));
    json_object_set_new(d, "ConsumerCount", json_integer((json_int_t)s->nconsumers));
    json_object_set_new(svc_output(c), "StreamDescriptionSummary", d);
    return 0;
}

/* ListStreams' NextToken: the last name of the page, base64 so that it
 * reads as opaque. */
int kinesis_list_streams(svc_call_t *c)
{
    kinesis_t *k = c->state;
    long long limit = 100;
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_int(&ck, "limit", svc_in(c, "Limit"), 1, 10000);
    kinesis__check_stream_name(&ck, "exclusiveStartStreamName", svc_in_str(c, "ExclusiveStartStreamName"), false);
    if (!kinesis__check_done(&ck))
        return 0;
    kinesis_in_int(c, "Limit", &limit);
    const char *after = svc_in_str(c, "ExclusiveStartStreamName");
    const char *token = svc_in_str(c, "NextToken");
    if (token) {
        if (after) {
            svc_error(c, "InvalidArgumentException", 400,
                      "NextToken and ExclusiveStartStreamName cannot be provided "
                      "together.");
            return 0;
        }
        unsigned char *raw = NULL;
        ssize_t n = base64_decode(c->arena, strv_from(token), &raw);
        if (n <= 0 || n > KINESIS_MAX_STREAM_NAME + 2 || raw[0] != 'S' || raw[1] != ':') {
            svc_error(c, "InvalidArgumentException", 400, "Invalid NextToken.");
            return 0;
        }
        after = arena_strndup(c->arena, (const char *)raw + 2, (size_t)n - 2);
    }
    const char *region = kinesis__call_region(c), *account = kinesis__call_account(c);
    json_t *names = json_array(), *sums = json_array();
    bool more = false;
    const char *last = NULL;
    for (size_t i = 0; i < k->nstreams; i++) {
        kinesis_stream_t *s = k->streams[i];
        if (strcmp(s->region, region) != 0 || strcmp(s->account, account) != 0)
            continue;
        if (after && strcmp(s->name, after) <= 0)
            continue;
        if ((long long)json_array_size(names) == limit) {
            more = true;
            break;
        }
        json_array_append_new(names, json_string(s->name));
        json_t *sum = json_object();
        json_object_set_new(sum, "StreamName", json_string(s->name));
        json_object_set_new(sum, "StreamARN", json_string(s->arn));
        json_object_set_new(sum, "StreamStatus", json_string(kinesis__status_name(kinesis__status(s))));
        json_object_set_new(sum, "StreamModeDetails", mode_json(s));
        json_object_set_new(sum, "StreamCreationTimestamp", ts_json(s->created_ms));
        json_array_append_new(sums, sum);
        last = s->name;
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "StreamNames", names);
    json_object_set_new(out, "HasMoreStreams", json_boolean(more));
    json_object_set_new(out, "StreamSummaries", sums);
    if (more && last) {
        char *t = arena_sprintf(c->arena, "S:%s", last);
        json_object_set_new(out, "NextToken", json_string(base64_encode(c->arena, t, strlen(t))));
    }
    return 0;
}

int kinesis_describe_limits(svc_call_t *c)
{
    kinesis_t *k = c->state;
    int open = 0, on_demand = 0;
    for (size_t i = 0; i < k->nstreams; i++) {
        kinesis_stream_t *s = k->streams[i];
        if (strcmp(s->region, kinesis__call_region(c)) != 0 || strcmp(s->account, kinesis__call_account(c)) != 0)
            continue;
        open += kinesis__open_shards(s);
        on_demand += s->on_demand;
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "ShardLimit", json_integer(KINESIS_MAX_SHARDS));
    json_object_set_new(out, "OpenShardCount", json_integer(open));
    json_object_set_new(out, "OnDemandStreamCount", json_integer(on_demand));
    json_object_set_new(out, "OnDemandStreamCountLimit", json_integer(50));
    return 0;
}

/* IncreaseStreamRetentionPeriod / DecreaseStreamRetentionPeriod
 * (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_IncreaseStreamRetentionPeriod.html):
 * 24 to 8,760 hours; an increase may not shorten and a decrease may not
 * lengthen. Records older than the new period become inaccessible at once. */
static int retention_change(svc_call_t *c, bool increase)
{
    long long h = 0;
    kinesis_in_int(c, "RetentionPeriodHours", &h);
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_int(&ck, "retentionPeriodHours", svc_in(c, "RetentionPeriodHours"), 1, 2147483647LL);
    if (!kinesis__check_done(&ck))
        return 0;
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s || !kinesis__stream_active_or_fail(c, s))
        return 0;
    if (h < KINESIS_MIN_RETENTION_H) {
        svc_error(c, "InvalidArgumentException", 400,
                  "Minimum allowed retention period is %d hours. Requested "
                  "retention period (%lld hours) is too short.",
                  KINESIS_MIN_RETENTION_H, h);
        return 0;
    }
    if (h > KINESIS_MAX_RETENTION_H) {
        svc_error(c, "InvalidArgumentException", 400,
                  "Maximum allowed retention period is %d hours. Requested "
                  "retention period (%lld hours) is too long.",
                  KINESIS_MAX_RETENTION_H, h);
        return 0;
    }
    if (increase && h < s->retention_h) {
        svc_error(c, "InvalidArgumentException", 400,
                  "Requested retention period (%lld hours) for stream %s can not "
                  "be shorter than existing retention"
                  " period (%d hours). Use DecreaseRetentionPeriod API.",
                  h, s->name, s->retention_h);
        return 0;
    }
    if (!increase && h > s->retention_h) {
        svc_error(c, "InvalidArgumentException", 400,
                  "Requested retention period (%lld hours) for stream %s can not "
                  "be longer than existing retention"
                  " period (%d hours). Use IncreaseRetentionPeriod API.",
                  h, s->name, s->retention_h);
        return 0;
    }
    if (h != s->retention_h) {
        s->retention_h = (int)h;
        kinesis__stream_settle(s, KS_UPDATING);
        kinesis__persist_stream(s);
        if (!increase)
            kinesis__sweep_arm(s->st, kyoka_clock_now_ms());
    }
    svc_output(c);
    return 0;
}

int kinesis_increase_stream_retention_period(svc_call_t *c) { return retention_change(c, true); }
int kinesis_decrease_stream_retention_period(svc_call_t *c) { return retention_change(c, false); }

/* ---- tags ---- */

static json_t *tag_list(kinesis_stream_t *s, const char *after, long long limit, bool *more)
{
    /* Sorted by key: the order is stable across calls, so
     * ExclusiveStartTagKey pages. */
    size_t n = json_object_size(s->tags);
    const char **keys = xcalloc(n ? n : 1, sizeof *keys);
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach(s->tags, key, v) keys[i++] = key;
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
            const char *t = keys[b];
            keys[b] = keys[b - 1];
            keys[b - 1] = t;
        }
    json_t *arr = json_array();
    *more = false;
    for (i = 0; i < n; i++) {
        if (after && strcmp(keys[i], after) <= 0)
            continue;
        if (limit >= 0 && (long long)json_array_size(arr) == limit) {
            *more = true;
            break;
        }
        json_array_append_new(arr, json_pack("{s:s,s:O}", "Key", keys[i], "Value", json_object_get(s->tags, keys[i])));
    }
    free(keys);
    return arr;
}

static int add_tags(svc_call_t *c, kinesis_stream_t *s, json_t *tags)
{
    if (!json_is_object(tags) || !tags_check(c, s, tags, true))
        return -1;
    json_object_update(s->tags, tags);
    kinesis__persist_stream(s);
    return 0;
}

static int remove_tags(svc_call_t *c, kinesis_stream_t *s, json_t *keys)
{
    size_t i;
    json_t *e;
    json_array_foreach(keys, i, e) if (json_is_string(e)) json_object_del(s->tags, json_string_value(e));
    kinesis__persist_stream(s);
    return 0;
}

int kinesis_add_tags_to_stream(svc_call_t *c)
{
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s || !kinesis__stream_active_or_fail(c, s))
        return 0;
    if (add_tags(c, s, svc_in(c, "Tags")) == 0)
        svc_output(c);
    return 0;
}

int kinesis_remove_tags_from_stream(svc_call_t *c)
{
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s || !kinesis__stream_active_or_fail(c, s))
        return 0;
    remove_tags(c, s, svc_in(c, "TagKeys"));
    svc_output(c);
    return 0;
}

int kinesis_list_tags_for_stream(svc_call_t *c)
{
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_int(&ck, "limit", svc_in(c, "Limit"), 1, 50);
    if (!kinesis__check_done(&ck))
        return 0;
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s)
        return 0;
    long long limit = 10; /* ListTagsForStream's default page */
    kinesis_in_int(c, "Limit", &limit);
    bool more;
    json_t *out = svc_output(c);
    json_object_set_new(out, "Tags", tag_list(s, svc_in_str(c, "ExclusiveStartTagKey"), limit, &more));
    json_object_set_new(out, "HasMoreTags", json_boolean(more));
    return 0;
}

/* TagResource & co. take a stream's or a consumer's ARN; consumers carry
 * no tags here, so a consumer ARN answers as its stream's tags would not:
 * not found. */
static kinesis_stream_t *resource_stream_or_fail(svc_call_t *c)
{
    const char *arn = svc_in_str(c, "ResourceARN");
    strv_t r, a, n, cons;
    if (!kinesis__arn_parse(arn, &r, &a, &n, &cons)) {
        svc_error(c, "InvalidArgumentException", 400, "Invalid ResourceARN %s.", arn ? arn : "null");
        return NULL;
    }
    kinesis_stream_t *s = kinesis__stream_arn_get_or_fail(c, arn);
    if (s && cons.p) {
        bool found = false;
        for (size_t i = 0; i < s->nconsumers && !found; i++)
            found = strcmp(s->consumers[i]->arn, arn) == 0;
        if (!found) {
            svc_error(c, "ResourceNotFoundException", 400, "Consumer %s under account %s not found.", arn, s->account);
            return NULL;
        }
    }
    return s;
}

int kinesis_tag_resource(svc_call_t *c)
{
    kinesis_stream_t *s = resource_stream_or_fail(c);
    if (s && add_tags(c, s, svc_in(c, "Tags")) == 0)
        svc_output(c);
    return 0;
}

int kinesis_untag_resource(svc_call_t *c)
{
    kinesis_stream_t *s = resource_stream_or_fail(c);
    if (s && remove_tags(c, s, svc_in(c, "TagKeys")) == 0)
        svc_output(c);
    return 0;
}

int kinesis_list_tags_for_resource(svc_call_t *c)
{
    kinesis_stream_t *s = resource_stream_or_fail(c);
    if (!s)
        return 0;
    bool more;
    json_object_set_new(svc_output(c), "Tags", tag_list(s, NULL, -1, &more));
    return 0;
}

/* ---- resource policies ----
 * PutResourcePolicy
 * (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutResourcePolicy.html)
 * attaches a resource-based policy to a stream (or consumer); the server
 * consults it through the service's resource_policy hook on every call
 * authorized on the stream's ARN. */

static kinesis_stream_t *policy_stream_or_fail(svc_call_t *c)
{
    const char *arn = svc_in_str(c, "ResourceARN");
    strv_t r, a, n, cons;
    if (kinesis__arn_parse(arn, &r, &a, &n, &cons) && cons.p) {
        svc_error(c, "InvalidArgumentException", 400,
                  "kyoka keeps resource policies on streams only; %s names a consumer.", arn);
        return NULL;
    }
    return resource_stream_or_fail(c);
}

int kinesis_put_resource_policy(svc_call_t *c)
{
    kinesis_stream_t *s = policy_stream_or_fail(c);
    if (!s)
        return 0;
    const char *text = svc_in_str(c, "Policy");
    char err[512] = "";
    bool over = false;
    iam_policy_t *p = text ? iam_policy_parse(text, strlen(text), IAM_POLICY_RESOURCE, KYOKA_RESOURCE_POLICY_MAX_BYTES,
                                              err, sizeof err, &over)
                           : NULL;
    if (!p) {
        svc_error(c, "InvalidArgumentException", 400, "Invalid policy: %s", err[0] ? err : "empty");
        return 0;
    }
    iam_policy_free(s->policy_c);
    free(s->policy);
    s->policy_c = p;
    s->policy = xstrdup(text);
    kinesis__persist_stream(s);
    svc_output(c);
    return 0;
}

int kinesis_get_resource_policy(svc_call_t *c)
{
    kinesis_stream_t *s = policy_stream_or_fail(c);
    if (!s)
        return 0;
    json_object_set_new(svc_output(c), "Policy", json_string(s->policy ? s->policy : "{}"));
    return 0;
}

int kinesis_delete_resource_policy(svc_call_t *c)
{
    kinesis_stream_t *s = policy_stream_or_fail(c);
    if (!s)
        return 0;
    if (!s->policy) {
        svc_error(c, "ResourceNotFoundException", 400, "No resource policy found for resource ARN %s.", s->arn);
        return 0;
    }
    iam_policy_free(s->policy_c);
    free(s->policy);
    s->policy_c = NULL;
    s->policy = NULL;
    kinesis__persist_stream(s);
    svc_output(c);
    return 0;
}

const iam_policy_t *kinesis__resource_policy(void *state, const char *arn, const char **owner)
{
    kinesis_stream_t *s = kinesis__stream_by_arn(state, arn);
    if (!s)
        return NULL;
    *owner = s->account;
    return s->policy_c;
}

/* ---- encryption and capacity mode ---- */

int kinesis_start_stream_encryption(svc_call_t *c)
{
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s || !kinesis__stream_active_or_fail(c, s))
        return 0;
    const char *type = svc_in_str(c, "EncryptionType"), *key = svc_in_str(c, "KeyId");
    if (!type || strcmp(type, "KMS") != 0) {
        svc_error(c, "InvalidArgumentException", 400, "EncryptionType must be KMS.");
        return 0;
    }
    free(s->encryption);
    free(s->key_id);
    s->encryption = xstrdup("KMS");
    s->key_id = key ? xstrdup(key) : NULL;
    kinesis__stream_settle(s, KS_UPDATING);
    kinesis__persist_stream(s);
    svc_output(c);
    return 0;
}

int kinesis_stop_stream_encryption(svc_call_t *c)
{
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s || !kinesis__stream_active_or_fail(c, s))
        return 0;
    free(s->encryption);
    free(s->key_id);
    s->encryption = xstrdup("NONE");
    s->key_id = NULL;
    kinesis__stream_settle(s, KS_UPDATING);
    kinesis__persist_stream(s);
    svc_output(c);
    return 0;
}

int kinesis_update_stream_mode(svc_call_t *c)
{
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s || !kinesis__stream_active_or_fail(c, s))
        return 0;
    const char *mode = json_string_value(json_object_get(svc_in(c, "StreamModeDetails"), "StreamMode"));
    if (!mode || (strcmp(mode, "ON_DEMAND") != 0 && strcmp(mode, "PROVISIONED") != 0)) {
        kinesis_check_t ck;
        kinesis__check_init(&ck, c);
        kinesis__check_add(&ck, "streamModeDetails.streamMode", mode,
                           "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]");
        kinesis__check_done(&ck);
        return 0;
    }
    bool od = strcmp(mode, "ON_DEMAND") == 0;
    if (od == s->on_demand) {
        svc_error(c, "ResourceInUseException", 400, "Stream %s under account %s is already in %s mode.", s->name,
                  s->account, mode);
        return 0;
    }
    s->on_demand = od;
    kinesis__stream_settle(s, KS_UPDATING);
    kinesis__persist_stream(s);
    svc_output(c);
    return 0;
}
