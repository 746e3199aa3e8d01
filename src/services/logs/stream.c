/*
 * Log streams: the per-stream metadata kept in memory and the stream
 * operations (CreateLogStream, DeleteLogStream, DescribeLogStreams).
 *
 * A group keeps its streams in an array sorted by name: lookups are binary
 * searches and DescribeLogStreams' default order (LogStreamName) is the
 * array's. Ordering by LastEventTime sorts a copy per call.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

size_t logs__stream_pos(const logs_group_t *g, const char *name, bool *found)
{
    size_t lo = 0, hi = g->nstreams;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(g->streams[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < g->nstreams && strcmp(g->streams[lo]->name, name) == 0;
    return lo;
}

logs_stream_t *logs__stream_lookup(const logs_group_t *g, const char *name)
{
    bool found;
    size_t i = logs__stream_pos(g, name, &found);
    return found ? g->streams[i] : NULL;
}

logs_stream_t *logs__stream_new(logs_group_t *g, uint64_t id, const char *name, int64_t created_ms)
{
    bool found;
    size_t pos = logs__stream_pos(g, name, &found);
    if (found)
        return g->streams[pos];
    logs_stream_t *s = xcalloc(1, sizeof *s);
    s->id = id;
    s->g = g;
    s->name = xstrdup(name);
    s->created_ms = created_ms;
    if (g->nstreams == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 8;
        g->streams = xrealloc(g->streams, g->cap * sizeof *g->streams);
    }
    memmove(g->streams + pos + 1, g->streams + pos, (g->nstreams - pos) * sizeof *g->streams);
    g->streams[pos] = s;
    g->nstreams++;
    return s;
}

void logs__stream_free(logs_stream_t *s)
{
    if (!s)
        return;
    free(s->name);
    free(s);
}

void logs__stream_remove(logs_stream_t *s)
{
    logs_group_t *g = s->g;
    bool found;
    size_t pos = logs__stream_pos(g, s->name, &found);
    if (found) {
        memmove(g->streams + pos, g->streams + pos + 1, (g->nstreams - pos - 1) * sizeof *g->streams);
        g->nstreams--;
    }
    g->stored_bytes -= s->stored_bytes;
    logs__stream_free(s);
}

logs_stream_t *logs__stream_get_or_fail(svc_call_t *c, logs_group_t *g, const char *name)
{
    logs_stream_t *s = name ? logs__stream_lookup(g, name) : NULL;
    if (!s)
        svc_error(c, "ResourceNotFoundException", 400, "The specified log stream does not exist.");
    return s;
}

char *logs__stream_arn(arena_t *a, const logs_stream_t *s)
{
    return arena_sprintf(a, "%s:log-stream:%s", s->g->arn, s->name);
}

/* The upload sequence token: a 56-digit number that grows with every put,
 * like AWS's (which PutLogEvents no longer checks). */
static char *sequence_token(arena_t *a, const logs_stream_t *s)
{
    return arena_sprintf(a, "4%035" PRIu64 "%020" PRIu64, s->id, s->upload_seq);
}

static json_t *stream_describe(svc_call_t *c, const logs_stream_t *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "logStreamName", json_string(s->name));
    json_object_set_new(o, "creationTime", json_integer(s->created_ms));
    if (s->last_ts) {
        json_object_set_new(o, "firstEventTimestamp", json_integer(s->first_ts));
        json_object_set_new(o, "lastEventTimestamp", json_integer(s->last_ts));
        json_object_set_new(o, "lastIngestionTime", json_integer(s->last_ingest_ms));
        json_object_set_new(o, "uploadSequenceToken", json_string(sequence_token(c->arena, s)));
    }
    json_object_set_new(o, "arn", json_string(logs__stream_arn(c->arena, s)));
    /* "As of June 17, 2019, this parameter is no longer supported for log
     * streams, and is always reported as zero." (LogStream.storedBytes) */
    json_object_set_new(o, "storedBytes", json_integer(0));
    return o;
}

char *logs__sequence_token(arena_t *a, const logs_stream_t *s) { return sequence_token(a, s); }

/* ==== operation handlers ==== */

int logs_create_log_stream(svc_call_t *c)
{
    const char *name = svc_in_str(c, "logStreamName");
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, true);
    logs__check_name(&k, "logStreamName", name, LOGS_NAME_STREAM, true);
    if (!logs__check_done(&k))
        return 0;
    logs_group_t *g = logs__group_get_or_fail(c);
    if (!g)
        return 0;
    if (logs__stream_lookup(g, name)) {
        svc_error(c, "ResourceAlreadyExistsException", 400, "The specified log stream already exists");
        return 0;
    }
    logs_state_t *st = c->state;
    logs_stream_t *s = logs__stream_new(g, st->next_stream_id++, name, kyoka_clock_now_ms());
    logs__persist_stream(s);
    return 0;
}

int logs_delete_log_stream(svc_call_t *c)
{
    const char *name = svc_in_str(c, "logStreamName");
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, true);
    logs__check_name(&k, "logStreamName", name, LOGS_NAME_STREAM, true);
    if (!logs__check_done(&k))
        return 0;
    logs_group_t *g = logs__group_get_or_fail(c);
    logs_stream_t *s = g ? logs__stream_get_or_fail(c, g, name) : NULL;
    if (!s)
        return 0;
    logs__persist_stream_delete(s);
    logs__stream_remove(s);
    return 0;
}

static int cmp_last_event(const void *a, const void *b)
{
    const logs_stream_t *x = *(logs_stream_t *const *)a, *y = *(logs_stream_t *const *)b;
    if (x->last_ts != y->last_ts)
        return x->last_ts < y->last_ts ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Page tokens: "s1" + hex of the last stream's (lastEventTimestamp, name)
 * for LastEventTime order, of its name alone for LogStreamName order; the
 * next page starts after that position in the same order. */
static char *stream_token(arena_t *a, const logs_stream_t *s, bool by_time)
{
    char *key = by_time ? arena_sprintf(a, "%020" PRId64 "/%s", s->last_ts, s->name) : arena_strdup(a, s->name);
    size_t n = strlen(key);
    char *t = arena_alloc(a, 2 * n + 3);
    t[0] = 's';
    t[1] = by_time ? 't' : 'n';
    kyoka_hex((const unsigned char *)key, n, t + 2);
    return t;
}

/* Does s come after the token's position (in the order, either direction)? */
static int token_cmp(const logs_stream_t *s, bool by_time, int64_t tok_ts, const char *tok_name)
{
    if (by_time && s->last_ts != tok_ts)
        return s->last_ts < tok_ts ? -1 : 1;
    return strcmp(s->name, tok_name);
}

static bool token_parse(arena_t *a, const char *tok, bool by_time, int64_t *ts, const char **name)
{
    size_t n = strlen(tok);
    if (n < 2 || tok[0] != 's' || tok[1] != (by_time ? 't' : 'n') || (n - 2) % 2)
        return false;
    char *key = arena_alloc(a, (n - 2) / 2 + 1);
    for (size_t i = 2, j = 0; i < n; i += 2, j++) {
        int hi = kyoka_hexval(tok[i]), lo = kyoka_hexval(tok[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return false;
        key[j] = (char)(hi * 16 + lo);
    }
    key[(n - 2) / 2] = '\0';
    if (!by_time) {
        *name = key;
        return true;
    }
    char *slash = strchr(key, '/');
    if (!slash || slash - key != 20)
        return false;
    *slash = '\0';
    *ts = strtoll(key, NULL, 10);
    *name = slash + 1;
    return true;
}

int logs_describe_log_streams(svc_call_t *c)
{
    const char *prefix = svc_in_str(c, "logStreamNamePrefix");
    const char *order = svc_in_str(c, "orderBy");
    const char *token = svc_in_str(c, "nextToken");
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, false);
    logs__check_name(&k, "logGroupIdentifier", svc_in_str(c, "logGroupIdentifier"), LOGS_NAME_IDENTIFIER, false);
    logs__check_name(&k, "logStreamNamePrefix", prefix, LOGS_NAME_STREAM, false);
    if (order && strcmp(order, "LogStreamName") != 0 && strcmp(order, "LastEventTime") != 0)
        logs__check_add(&k, "orderBy", order, "Member must satisfy enum value set: [LogStreamName, LastEventTime]");
    logs__check_int(&k, "limit", svc_in(c, "limit"), 1, LOGS_DESCRIBE_LIMIT);
    if (!logs__check_done(&k))
        return 0;
    bool by_time = order && strcmp(order, "LastEventTime") == 0;
    if (by_time && prefix) {
        svc_error(c, "InvalidParameterException", 400, "Cannot order by LastEventTime with a logStreamNamePrefix.");
        return 0;
    }
    logs_group_t *g = logs__group_get_or_fail(c);
    if (!g)
        return 0;
    bool desc = logs_in_bool(c, "descending", false);
    long long limit = LOGS_DESCRIBE_LIMIT;
    logs_in_int(c, "limit", &limit);
    int64_t tok_ts = 0;
    const char *tok_name = NULL;
    if (token && !token_parse(c->arena, token, by_time, &tok_ts, &tok_name)) {
        svc_error(c, "InvalidParameterException", 400, "The specified nextToken is not valid.");
        return 0;
    }
    /* The candidates in the requested order. */
    size_t n = g->nstreams;
    logs_stream_t **v = g->streams;
    if (by_time && n) {
        v = arena_alloc(c->arena, n * sizeof *v);
        memcpy(v, g->streams, n * sizeof *v);
        qsort(v, n, sizeof *v, cmp_last_event);
    }
    size_t plen = prefix ? strlen(prefix) : 0;
    json_t *list = json_array();
    const logs_stream_t *last = NULL;
    for (size_t j = 0; j < n; j++) {
        const logs_stream_t *s = v[desc ? n - 1 - j : j];
        if (prefix && strncmp(s->name, prefix, plen) != 0)
            continue;
        if (tok_name) {
            int cmpv = token_cmp(s, by_time, tok_ts, tok_name);
            if (desc ? cmpv >= 0 : cmpv <= 0)
                continue;
        }
        if ((long long)json_array_size(list) == limit) {
            json_object_set_new(svc_output(c), "nextToken", json_string(stream_token(c->arena, last, by_time)));
            break;
        }
        json_array_append_new(list, stream_describe(c, s));
        last = s;
    }
    json_object_set_new(svc_output(c), "logStreams", list);
    return 0;
}
