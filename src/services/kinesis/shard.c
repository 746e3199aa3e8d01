/*
 * Shards: hash key ranges, ListShards with its filters, resharding
 * (SplitShard, MergeShards, UpdateShardCount) and the retention sweep.
 *
 * Hash ranges. A stream of N shards divides [0, 2^128-1] as AWS does:
 * shard i starts at i * floor(2^128 / N) and ends one before the next; the
 * last ends at 2^128-1.
 *
 * Resharding follows AWS's lineage rules
 * (https://docs.aws.amazon.com/streams/latest/dev/kinesis-using-sdk-java-after-resharding.html):
 * a split closes the parent and opens two children whose ParentShardId is
 * the parent; a merge closes both and opens one child with ParentShardId
 * the ShardToMerge and AdjacentParentShardId the other. New shards take the
 * next shardId numbers, so listing in id order lists parents before
 * children. UpdateShardCount with UNIFORM_SCALING is carried out the way
 * AWS carries it out, as a series of splits (at each new boundary) and
 * merges (of the pieces each new range then covers), so every shard has at
 * most two parents and intermediate shards appear, closed, in ListShards.
 *
 * Expiry. A closed shard stays listed until its records are past the
 * stream's retention (it is then gone from DescribeStream and ListShards,
 * its ParentShardId still named by its children).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

uint32_t kinesis__gid_alloc(kinesis_t *k) { return k->next_gid++; }

kinesis_shard_t *kinesis__shard_add(kinesis_stream_t *s, uint32_t gid, uint32_t idx, kinesis_u128 lo, kinesis_u128 hi,
                                    int64_t parent, int64_t adjacent, int64_t created_ms)
{
    kinesis_t *k = s->st;
    kinesis_shard_t *sh = xcalloc(1, sizeof *sh);
    sh->gid = gid;
    sh->idx = idx;
    sh->s = s;
    snprintf(sh->id, sizeof sh->id, "shardId-%012u", idx);
    sh->hash_start = lo;
    sh->hash_end = hi;
    sh->parent = parent;
    sh->adjacent = adjacent;
    sh->created_ms = created_ms;
    sh->next_index = 1;
    sh->trim_index = 1;
    if (s->nshards == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->shards = xrealloc(s->shards, s->cap * sizeof *s->shards);
    }
    s->shards[s->nshards++] = sh;
    if (gid >= k->gidcap) {
        size_t nc = k->gidcap ? k->gidcap : 64;
        while (nc <= gid)
            nc *= 2;
        k->by_gid = xrealloc(k->by_gid, nc * sizeof *k->by_gid);
        memset(k->by_gid + k->gidcap, 0, (nc - k->gidcap) * sizeof *k->by_gid);
        k->gidcap = nc;
    }
    k->by_gid[gid] = sh;
    if (gid >= k->ngid)
        k->ngid = gid + 1;
    return sh;
}

static uint32_t next_idx(const kinesis_stream_t *s)
{
    uint32_t n = 0;
    for (size_t i = 0; i < s->nshards; i++)
        if (s->shards[i]->idx >= n)
            n = s->shards[i]->idx + 1;
    return n;
}

static kinesis_shard_t *shard_new(kinesis_stream_t *s, kinesis_u128 lo, kinesis_u128 hi, int64_t parent,
                                  int64_t adjacent, int64_t now)
{
    kinesis_shard_t *sh = kinesis__shard_add(s, kinesis__gid_alloc(s->st), next_idx(s), lo, hi, parent, adjacent, now);
    kinesis__persist_shard(sh);
    return sh;
}

void kinesis__shards_create(kinesis_stream_t *s, int n, int64_t now)
{
    /* 2^128 / n without 129-bit arithmetic: (2^128 - 1) / n, plus one when
     * n divides 2^128 (a power of two). */
    kinesis_u128 step = KINESIS_HASH_MAX / (kinesis_u128)n;
    if ((n & (n - 1)) == 0)
        step += 1;
    for (int i = 0; i < n; i++) {
        kinesis_u128 lo = step * (kinesis_u128)i;
        kinesis_u128 hi = i == n - 1 ? KINESIS_HASH_MAX : step * (kinesis_u128)(i + 1) - 1;
        shard_new(s, lo, hi, -1, -1, now);
    }
}

kinesis_shard_t *kinesis__shard_by_id(kinesis_stream_t *s, const char *shard_id)
{
    if (!shard_id)
        return NULL;
    /* AWS accepts "shardId-000000000001" and the bare number's forms
     * ("1", "shardId-1") alike; compare the number. */
    const char *p = strncmp(shard_id, "shardId-", 8) == 0 ? shard_id + 8 : shard_id;
    if (!*p || strlen(p) > 12)
        return NULL;
    long long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return NULL;
        v = v * 10 + (*p - '0');
    }
    return kinesis__shard_by_idx(s, v);
}

kinesis_shard_t *kinesis__shard_by_idx(kinesis_stream_t *s, int64_t idx)
{
    if (idx < 0)
        return NULL;
    /* Shards are in idx order; most lookups are for open shards near the
     * end, but a binary search serves any. */
    size_t lo = 0, hi = s->nshards;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->shards[mid]->idx == idx)
            return s->shards[mid];
        if (s->shards[mid]->idx < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

kinesis_shard_t *kinesis__shard_for_hash(kinesis_stream_t *s, kinesis_u128 h)
{
    for (size_t i = s->nshards; i-- > 0;) {
        kinesis_shard_t *sh = s->shards[i];
        if (!sh->closed_ms && h >= sh->hash_start && h <= sh->hash_end)
            return sh;
    }
    return NULL;
}

int kinesis__open_shards(const kinesis_stream_t *s)
{
    int n = 0;
    for (size_t i = 0; i < s->nshards; i++)
        n += !s->shards[i]->closed_ms;
    return n;
}

void kinesis__shard_info(const kinesis_shard_t *sh, kinesis_shard_info_t *out, char buf[6][64])
{
    kinesis__u128_format(sh->hash_start, buf[0]);
    kinesis__u128_format(sh->hash_end, buf[1]);
    kinesis__seq_format(sh->gid, 0, sh->created_ms, buf[2]);
    if (sh->closed_ms)
        kinesis__seq_format(sh->gid, sh->next_index - 1, sh->closed_ms, buf[3]);
    if (sh->parent >= 0)
        snprintf(buf[4], 64, "shardId-%012lld", (long long)sh->parent);
    if (sh->adjacent >= 0)
        snprintf(buf[5], 64, "shardId-%012lld", (long long)sh->adjacent);
    *out = (kinesis_shard_info_t){
        .shard_id = sh->id,
        .parent_shard_id = sh->parent >= 0 ? buf[4] : NULL,
        .adjacent_parent_shard_id = sh->adjacent >= 0 ? buf[5] : NULL,
        .starting_hash_key = buf[0],
        .ending_hash_key = buf[1],
        .starting_sequence_number = buf[2],
        .ending_sequence_number = sh->closed_ms ? buf[3] : NULL,
        .open = !sh->closed_ms,
    };
}

json_t *kinesis__shard_json(const kinesis_shard_t *sh)
{
    char buf[6][64];
    kinesis_shard_info_t in;
    kinesis__shard_info(sh, &in, buf);
    json_t *o = json_object();
    json_object_set_new(o, "ShardId", json_string(in.shard_id));
    if (in.parent_shard_id)
        json_object_set_new(o, "ParentShardId", json_string(in.parent_shard_id));
    if (in.adjacent_parent_shard_id)
        json_object_set_new(o, "AdjacentParentShardId", json_string(in.adjacent_parent_shard_id));
    json_object_set_new(
        o, "HashKeyRange",
        json_pack("{s:s,s:s}", "StartingHashKey", in.starting_hash_key, "EndingHashKey", in.ending_hash_key));
    json_t *r = json_pack("{s:s}", "StartingSequenceNumber", in.starting_sequence_number);
    if (in.ending_sequence_number)
        json_object_set_new(r, "EndingSequenceNumber", json_string(in.ending_sequence_number));
    json_object_set_new(o, "SequenceNumberRange", r);
    return o;
}

void kinesis__shard_close(kinesis_shard_t *sh, int64_t now)
{
    sh->closed_ms = now;
    kinesis__persist_shard(sh);
}

bool kinesis__shard_expired(const kinesis_shard_t *sh, int64_t now)
{
    return sh->closed_ms && sh->closed_ms < kinesis__cutoff(sh->s, now) &&
           (!sh->last_arrival_ms || sh->last_arrival_ms < kinesis__cutoff(sh->s, now));
}

void kinesis__shard_split(kinesis_shard_t *sh, kinesis_u128 at, int64_t now)
{
    kinesis_stream_t *s = sh->s;
    kinesis__shard_close(sh, now);
    shard_new(s, sh->hash_start, at - 1, sh->idx, -1, now);
    /* shard_new may move s->shards: sh itself stays put (heap object). */
    shard_new(s, at, sh->hash_end, sh->idx, -1, now);
}

void kinesis__shard_merge(kinesis_shard_t *a, kinesis_shard_t *b, int64_t now)
{
    kinesis_stream_t *s = a->s;
    kinesis__shard_close(a, now);
    kinesis__shard_close(b, now);
    kinesis_u128 lo = a->hash_start < b->hash_start ? a->hash_start : b->hash_start;
    kinesis_u128 hi = a->hash_end > b->hash_end ? a->hash_end : b->hash_end;
    shard_new(s, lo, hi, a->idx, b->idx, now);
}

/* ==== retention sweep ==== */

void kinesis__sweep_arm(kinesis_t *k, int64_t when) { dq_add(&k->dq, &k->sweep, when); }

static void sweep_shard(kinesis_t *k, kinesis_shard_t *sh, int64_t cutoff)
{
    if (sh->trim_index >= sh->next_index)
        return;
    uint64_t base = (uint64_t)sh->gid << KINESIS_INDEX_BITS;
    sqlite3_stmt *q = store_stmt(k->store, "SELECT id FROM kinesis_records WHERE id>=? AND id<=? AND arrival_ms>=?"
                                           " ORDER BY id LIMIT 1");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)(base | sh->trim_index));
    sqlite3_bind_int64(q, 2, (sqlite3_int64)(base | KINESIS_INDEX_MASK));
    sqlite3_bind_int64(q, 3, cutoff);
    uint64_t keep = sh->next_index;
    if (sqlite3_step(q) == SQLITE_ROW)
        keep = ((uint64_t)sqlite3_column_int64(q, 0)) & KINESIS_INDEX_MASK;
    sqlite3_reset(q);
    if (keep > sh->trim_index) {
        kinesis__persist_trim(k, sh, keep);
        sh->trim_index = keep;
    }
}

void kinesis__on_sweep(dq_entry_t *e)
{
    kinesis_t *k = container_of(e, kinesis_t, sweep);
    int64_t now = kyoka_clock_now_ms();
    for (size_t i = 0; i < k->nstreams; i++) {
        kinesis_stream_t *s = k->streams[i];
        int64_t cutoff = kinesis__cutoff(s, now);
        size_t w = 0;
        for (size_t j = 0; j < s->nshards; j++) {
            kinesis_shard_t *sh = s->shards[j];
            sweep_shard(k, sh, cutoff);
            if (kinesis__shard_expired(sh, now)) {
                store_write_begin(k->store);
                sqlite3_stmt *q = store_stmt(k->store, "DELETE FROM kinesis_shards WHERE gid=?");
                sqlite3_bind_int64(q, 1, sh->gid);
                if (sqlite3_step(q) != SQLITE_DONE)
                    log_error("kinesis: cannot drop expired shard: %s", sqlite3_errmsg(store_db(k->store)));
                sqlite3_reset(q);
                if (sh->gid < k->ngid)
                    k->by_gid[sh->gid] = NULL;
                free(sh);
                continue;
            }
            s->shards[w++] = sh;
        }
        s->nshards = w;
    }
    kinesis__sweep_arm(k, now + KINESIS_SWEEP_INTERVAL_MS);
}

/* ==== operation handlers ==== */

static bool shard_filter_match(const kinesis_shard_t *sh, const char *type, const char *after, int64_t ts,
                               int64_t cutoff, int64_t stream_created)
{
    if (!type)
        return true;
    if (strcmp(type, "AFTER_SHARD_ID") == 0)
        return !after || strcmp(sh->id, after) > 0;
    if (strcmp(type, "AT_LATEST") == 0)
        return !sh->closed_ms;
    if (strcmp(type, "FROM_TRIM_HORIZON") == 0)
        return true;
    if (strcmp(type, "AT_TRIM_HORIZON") == 0 || strcmp(type, "AT_TIMESTAMP") == 0 ||
        strcmp(type, "FROM_TIMESTAMP") == 0) {
        int64_t at = strcmp(type, "AT_TRIM_HORIZON") == 0 ? cutoff : ts;
        if (at < stream_created)
            at = stream_created; /* before the stream: its first shards */
        bool open_then = sh->created_ms <= at && (!sh->closed_ms || sh->closed_ms > at);
        if (strcmp(type, "FROM_TIMESTAMP") == 0)
            return open_then || sh->created_ms > at;
        return open_then;
    }
    return true;
}

/* ListShards' NextToken: base64 of "stream id:last shard id:filter". */
int kinesis_list_shards(svc_call_t *c)
{
    kinesis_t *k = c->state;
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_int(&ck, "maxResults", svc_in(c, "MaxResults"), 1, 10000);
    kinesis__check_stream_name(&ck, "streamName", svc_in_str(c, "StreamName"), false);
    if (!kinesis__check_done(&ck))
        return 0;
    const char *token = svc_in_str(c, "NextToken");
    const char *after = svc_in_str(c, "ExclusiveStartShardId");
    json_t *filter = svc_in(c, "ShardFilter");
    const char *ftype = json_string_value(json_object_get(filter, "Type"));
    const char *fshard = json_string_value(json_object_get(filter, "ShardId"));
    json_t *fts = json_object_get(filter, "Timestamp");
    kinesis_stream_t *s = NULL;
    if (token) {
        if (svc_in(c, "StreamName") || svc_in(c, "StreamARN") || after || filter) {
            svc_error(c, "InvalidArgumentException", 400,
                      "NextToken and StreamName/StreamARN, ExclusiveStartShardId or "
                      "ShardFilter cannot be provided"
                      " together.");
            return 0;
        }
        unsigned char *raw = NULL;
        ssize_t n = base64_decode(c->arena, strv_from(token), &raw);
        char *text = n > 0 ? arena_strndup(c->arena, (const char *)raw, (size_t)n) : NULL;
        char *colon = text ? strchr(text, ':') : NULL;
        if (!colon) {
            svc_error(c, "InvalidArgumentException", 400, "Invalid NextToken.");
            return 0;
        }
        *colon = 0;
        char *shard = colon + 1;
        char *colon2 = strchr(shard, ':');
        if (colon2) {
            *colon2 = 0;
            ftype = colon2[1] ? colon2 + 1 : NULL;
        }
        s = kinesis__stream_by_id(k, strtoull(text, NULL, 10));
        if (!s) {
            svc_error(c, "ExpiredNextTokenException", 400, "The NextToken names a stream that no longer exists.");
            return 0;
        }
        after = shard;
        if (ftype && strcmp(ftype, "AFTER_SHARD_ID") == 0)
            ftype = NULL;
    } else {
        s = kinesis__stream_get_or_fail(c);
        if (!s)
            return 0;
    }
    if (ftype) {
        static const char *const types[] = {"AFTER_SHARD_ID",
                                            "AT_TRIM_HORIZON",
                                            "FROM_TRIM_HORIZON",
                                            "AT_LATEST",
                                            "AT_TIMESTAMP",
                                            "FROM_TIMESTAMP",
                                            NULL};
        bool ok = false;
        for (size_t i = 0; types[i] && !ok; i++)
            ok = strcmp(types[i], ftype) == 0;
        if (!ok) {
            kinesis__check_init(&ck, c);
            kinesis__check_add(&ck, "shardFilter.type", ftype,
                               "Member must satisfy enum value set: [AFTER_SHARD_ID, "
                               "AT_TRIM_HORIZON, "
                               "FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]");
            kinesis__check_done(&ck);
            return 0;
        }
        if (strcmp(ftype, "AFTER_SHARD_ID") == 0 && !fshard && !token) {
            svc_error(c, "InvalidArgumentException", 400, "ShardId must be provided for the AFTER_SHARD_ID filter.");
            return 0;
        }
        if ((strcmp(ftype, "AT_TIMESTAMP") == 0 || strcmp(ftype, "FROM_TIMESTAMP") == 0) && !fts) {
            svc_error(c, "InvalidArgumentException", 400,
                      "Timestamp must be provided for the AT_TIMESTAMP and "
                      "FROM_TIMESTAMP filters.");
            return 0;
        }
    }
    if (kinesis__status(s) == KS_CREATING) {
        kinesis__stream_active_or_fail(c, s);
        return 0;
    }
    int64_t ts = 0;
    if (fts)
        ts = json_is_number(fts) ? (int64_t)(json_number_value(fts) * 1000.0) : 0;
    long long max = 1000;
    kinesis_in_int(c, "MaxResults", &max);
    int64_t now = kyoka_clock_now_ms();
    int64_t cutoff = kinesis__cutoff(s, now);
    json_t *arr = json_array();
    const char *last = NULL;
    bool more = false;
    for (size_t i = 0; i < s->nshards; i++) {
        kinesis_shard_t *sh = s->shards[i];
        if (kinesis__shard_expired(sh, now))
            continue;
        if (after && strcmp(sh->id, after) <= 0)
            continue;
        if (!shard_filter_match(sh, ftype, fshard, ts, cutoff, s->created_ms))
            continue;
        if ((long long)json_array_size(arr) == max) {
            more = true;
            break;
        }
        json_array_append_new(arr, kinesis__shard_json(sh));
        last = sh->id;
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "Shards", arr);
    if (more && last) {
        char *t = arena_sprintf(c->arena, "%llu:%s:%s", (unsigned long long)s->id, last, ftype ? ftype : "");
        json_object_set_new(out, "NextToken", json_string(base64_encode(c->arena, t, strlen(t))));
    }
    return 0;
}

static kinesis_shard_t *open_shard_or_fail(svc_call_t *c, kinesis_stream_t *s, const char *id)
{
    kinesis_shard_t *sh = kinesis__shard_by_id(s, id);
    if (!sh) {
        svc_error(c, "ResourceNotFoundException", 400, "Could not find shard %s in stream %s under account %s.", id,
                  s->name, s->account);
        return NULL;
    }
    if (sh->closed_ms) {
        svc_error(c, "InvalidArgumentException", 400,
                  "Shard %s in stream %s under account %s has already been merged"
                  " or split, and thus is not eligible for merging or splitting.",
                  sh->id, s->name, s->account);
        return NULL;
    }
    return sh;
}

int kinesis_split_shard(svc_call_t *c)
{
    const char *key = svc_in_str(c, "NewStartingHashKey");
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_stream_name(&ck, "streamName", svc_in_str(c, "StreamName"), false);
    kinesis__check_len(&ck, "shardToSplit", svc_in_str(c, "ShardToSplit"), 1, 128);
    kinesis_u128 at = 0;
    if (!kinesis__u128_parse(key, &at))
        kinesis__check_add(&ck, "newStartingHashKey", key,
                           "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
    if (!kinesis__check_done(&ck))
        return 0;
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s || !kinesis__stream_active_or_fail(c, s))
        return 0;
    kinesis_shard_t *sh = open_shard_or_fail(c, s, svc_in_str(c, "ShardToSplit"));
    if (!sh)
        return 0;
    if (at <= sh->hash_start || at > sh->hash_end) {
        char lo[48], hi[48];
        kinesis__u128_format(sh->hash_start, lo);
        kinesis__u128_format(sh->hash_end, hi);
        svc_error(c, "InvalidArgumentException", 400,
                  "NewStartingHashKey %s used in SplitShard() on shard %s in "
                  "stream %s under account %s is not both"
                  " greater than one plus the shard's StartingHashKey %s and less "
                  "than the shard's EndingHashKey %s.",
                  key, sh->id, s->name, s->account, lo, hi);
        return 0;
    }
    if (kinesis__open_shards(s) + 1 > KINESIS_MAX_SHARDS) {
        svc_error(c, "LimitExceededException", 400, "This request would exceed the shard limit for the account.");
        return 0;
    }
    kinesis__shard_split(sh, at, kyoka_clock_now_ms());
    kinesis__stream_settle(s, KS_UPDATING);
    kinesis__persist_stream(s);
    kinesis__notify_event(s->st, s->arn, KINESIS_EV_SHARDS);
    svc_output(c);
    return 0;
}

int kinesis_merge_shards(svc_call_t *c)
{
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_stream_name(&ck, "streamName", svc_in_str(c, "StreamName"), false);
    kinesis__check_len(&ck, "shardToMerge", svc_in_str(c, "ShardToMerge"), 1, 128);
    kinesis__check_len(&ck, "adjacentShardToMerge", svc_in_str(c, "AdjacentShardToMerge"), 1, 128);
    if (!kinesis__check_done(&ck))
        return 0;
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s || !kinesis__stream_active_or_fail(c, s))
        return 0;
    kinesis_shard_t *a = open_shard_or_fail(c, s, svc_in_str(c, "ShardToMerge"));
    kinesis_shard_t *b = a ? open_shard_or_fail(c, s, svc_in_str(c, "AdjacentShardToMerge")) : NULL;
    if (!a || !b)
        return 0;
    bool adjacent = (a->hash_end != KINESIS_HASH_MAX && a->hash_end + 1 == b->hash_start) ||
                    (b->hash_end != KINESIS_HASH_MAX && b->hash_end + 1 == a->hash_start);
    if (a == b || !adjacent) {
        svc_error(c, "InvalidArgumentException", 400,
                  "Shards %s and %s in stream %s under account %s are not an"
                  " adjacent pair of shards eligible for merging",
                  a->id, b->id, s->name, s->account);
        return 0;
    }
    kinesis__shard_merge(a, b, kyoka_clock_now_ms());
    kinesis__stream_settle(s, KS_UPDATING);
    kinesis__persist_stream(s);
    kinesis__notify_event(s->st, s->arn, KINESIS_EV_SHARDS);
    svc_output(c);
    return 0;
}

/* The open shard holding h; with several candidates (never, in a valid
 * layout) the newest. */
static kinesis_shard_t *open_at(kinesis_stream_t *s, kinesis_u128 h) { return kinesis__shard_for_hash(s, h); }

int kinesis_update_shard_count(svc_call_t *c)
{
    long long target = 0;
    kinesis_in_int(c, "TargetShardCount", &target);
    const char *scaling = svc_in_str(c, "ScalingType");
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_stream_name(&ck, "streamName", svc_in_str(c, "StreamName"), false);
    kinesis__check_int(&ck, "targetShardCount", svc_in(c, "TargetShardCount"), 1, 100000);
    if (!scaling || strcmp(scaling, "UNIFORM_SCALING") != 0)
        kinesis__check_add(&ck, "scalingType", scaling, "Member must satisfy enum value set: [UNIFORM_SCALING]");
    if (!kinesis__check_done(&ck))
        return 0;
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s || !kinesis__stream_active_or_fail(c, s))
        return 0;
    if (s->on_demand) {
        svc_error(c, "ValidationException", 400,
                  "UpdateShardCount is not supported for stream %s under account "
                  "%s in ON_DEMAND capacity mode.",
                  s->name, s->account);
        return 0;
    }
    int open = kinesis__open_shards(s);
    /* UpdateShardCount
     * (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateShardCount.html):
     * at most double, at least half the current open shard count. */
    if (target > 2LL * open) {
        svc_error(c, "InvalidArgumentException", 400,
                  "UpdateShardCount cannot scale up over double your current open "
                  "shard count. Current open shard"
                  " count: %d Target shard count: %lld",
                  open, target);
        return 0;
    }
    if (target * 2 < open) {
        svc_error(c, "InvalidArgumentException", 400,
                  "UpdateShardCount cannot scale down below half your current open "
                  "shard count. Current open shard"
                  " count: %d Target shard count: %lld",
                  open, target);
        return 0;
    }
    if (target > KINESIS_MAX_SHARDS) {
        svc_error(c, "LimitExceededException", 400, "This request would exceed the shard limit for the account.");
        return 0;
    }
    int64_t now = kyoka_clock_now_ms();
    kinesis_u128 step = KINESIS_HASH_MAX / (kinesis_u128)target;
    if ((target & (target - 1)) == 0)
        step += 1;
    /* 1. A boundary at every new range's start. */
    for (long long j = 1; j < target; j++) {
        kinesis_u128 b = step * (kinesis_u128)j;
        kinesis_shard_t *sh = open_at(s, b);
        if (sh && sh->hash_start != b)
            kinesis__shard_split(sh, b, now);
    }
    /* 2. Merge the pieces inside each new range, left to right. */
    for (long long j = 0; j < target; j++) {
        kinesis_u128 lo = step * (kinesis_u128)j;
        kinesis_u128 hi = j == target - 1 ? KINESIS_HASH_MAX : step * (kinesis_u128)(j + 1) - 1;
        for (;;) {
            kinesis_shard_t *a = open_at(s, lo);
            if (!a || a->hash_end >= hi)
                break;
            kinesis_shard_t *b = open_at(s, a->hash_end + 1);
            if (!b)
                break;
            kinesis__shard_merge(a, b, now);
        }
    }
    kinesis__stream_settle(s, KS_UPDATING);
    kinesis__persist_stream(s);
    kinesis__notify_event(s->st, s->arn, KINESIS_EV_SHARDS);
    json_t *out = svc_output(c);
    json_object_set_new(out, "StreamName", json_string(s->name));
    json_object_set_new(out, "CurrentShardCount", json_integer(open));
    json_object_set_new(out, "TargetShardCount", json_integer(target));
    json_object_set_new(out, "StreamARN", json_string(s->arn));
    return 0;
}
