/*
 * Log events: PutLogEvents, GetLogEvents, FilterLogEvents, the retention
 * sweep, and the internal API (logs.h) the Lambda runtime writes through.
 *
 * Writes: a put checks the batch as AWS documents, then appends the
 * accepted events with one INSERT per LOGS_INSERT_ROWS events and one
 * UPDATE of the stream's row, all inside the loop turn's batch
 * transaction (one fsync for the turn: group commit).
 *
 * Reads go to SQLite with prepared statements and never hold more than one
 * response's worth of events: GetLogEvents walks the stream index from its
 * token's position, FilterLogEvents the group's time-ordered key, reading
 * at most LOGS_FILTER_SCAN_ROWS rows a call.
 *
 * Tokens. GetLogEvents' are AWS-shaped, "f/" or "b/" and 56 digits: the
 * position (timestamp, sequence) between two events, forward tokens
 * reading from it, backward ones before it. At the end of the stream the
 * token passed in comes back, which is how clients know to stop.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

int64_t logs__retention_cutoff(const logs_group_t *g, int64_t now)
{
    return g->retention_days ? now - (int64_t)g->retention_days * 86400000LL : INT64_MIN;
}

void logs__append(logs_state_t *st, logs_stream_t *s, const logs_in_event_t *ev, size_t n, int64_t now)
{
    if (n == 0)
        return;
    uint64_t seq0 = st->next_seq;
    st->next_seq += n;
    logs__persist_events(st, s, ev, n, seq0, now);
    int64_t bytes = 0;
    int64_t lo = ev[0].ts, hi = ev[0].ts;
    for (size_t i = 0; i < n; i++) {
        bytes += (int64_t)ev[i].len;
        if (ev[i].ts < lo)
            lo = ev[i].ts;
        if (ev[i].ts > hi)
            hi = ev[i].ts;
    }
    if (s->last_ts == 0 || lo < s->first_ts)
        s->first_ts = lo;
    if (hi > s->last_ts)
        s->last_ts = hi;
    s->last_ingest_ms = now;
    s->stored_bytes += bytes;
    s->g->stored_bytes += bytes;
    s->upload_seq++;
    logs__persist_stream(s);
    if (s->g->nsubs)
        logs__subscriptions_ingest(st, s, ev, n, seq0);
}

/* A JSON string for stored text; stored text is valid UTF-8 (the JSON
 * decoder and the internal API see to it), but a damaged row must not make
 * the response unencodable. */
static json_t *text_value(const unsigned char *p, int n)
{
    json_t *v = json_stringn(p ? (const char *)p : "", p ? (size_t)n : 0);
    return v ? v : json_string("");
}

/* ==== PutLogEvents ==== */

typedef struct classified {
    size_t too_old_end;  /* events [0, too_old_end) are older than 14 days */
    size_t expired_end;  /* events [0, expired_end) are older than the retention */
    size_t too_new_start; /* events [too_new_start, n) are more than 2 hours ahead */
} classified_t;

/* Events are chronological, so the rejected ones are a prefix and a
 * suffix (RejectedLogEventsInfo: tooOld and expired end indexes are
 * exclusive, tooNew's start inclusive). */
static classified_t classify(const logs_group_t *g, const logs_in_event_t *ev, size_t n, int64_t now)
{
    classified_t r = {0, 0, n};
    int64_t old_cut = now - LOGS_MAX_PAST_MS;
    int64_t ret_cut = logs__retention_cutoff(g, now);
    while (r.too_old_end < n && ev[r.too_old_end].ts < old_cut)
        r.too_old_end++;
    r.expired_end = r.too_old_end;
    while (r.expired_end < n && ev[r.expired_end].ts < ret_cut)
        r.expired_end++;
    while (r.too_new_start > r.expired_end && ev[r.too_new_start - 1].ts > now + LOGS_MAX_FUTURE_MS)
        r.too_new_start--;
    return r;
}

int logs_put_log_events(svc_call_t *c)
{
    const char *stream = svc_in_str(c, "logStreamName");
    json_t *events = svc_in(c, "logEvents");
    size_t n = json_array_size(events);
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, true);
    logs__check_name(&k, "logStreamName", stream, LOGS_NAME_STREAM, true);
    if (n == 0)
        logs__check_add(&k, "logEvents", "[]", "Member must have length greater than or equal to 1");
    else if (n > LOGS_MAX_BATCH_EVENTS)
        logs__check_add(&k, "logEvents", NULL, "Member must have length less than or equal to 10000");
    size_t total = 0;
    logs_in_event_t *ev = n <= LOGS_MAX_BATCH_EVENTS ? arena_alloc(c->arena, (n ? n : 1) * sizeof *ev) : NULL;
    for (size_t i = 0; ev && i < n; i++) {
        json_t *e = json_array_get(events, i);
        json_t *m = json_object_get(e, "message");
        ev[i].ts = json_integer_value(json_object_get(e, "timestamp"));
        ev[i].msg = json_string_value(m);
        ev[i].len = json_string_length(m);
        if (!ev[i].msg || ev[i].len == 0)
            logs__check_add(&k, arena_sprintf(c->arena, "logEvents.%zu.member.message", i + 1), ev[i].msg,
                            "Member must have length greater than or equal to 1");
        total += ev[i].len + LOGS_EVENT_OVERHEAD;
    }
    if (!logs__check_done(&k))
        return 0;
    if (total > LOGS_MAX_BATCH_BYTES) {
        svc_error(c, "InvalidParameterException", 400, "Upload too large: %zu bytes exceeds limit of %d", total,
                  LOGS_MAX_BATCH_BYTES);
        return 0;
    }
    logs_group_t *g = logs__group_get_or_fail(c);
    logs_stream_t *s = g ? logs__stream_get_or_fail(c, g, stream) : NULL;
    if (!s)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (ev[i].ts < ev[i - 1].ts) {
            svc_error(c, "InvalidParameterException", 400,
                      "Log events in a single PutLogEvents request must be in chronological order.");
            return 0;
        }
    int64_t now = kyoka_clock_now_ms();
    classified_t r = classify(g, ev, n, now);
    /* "For valid events (within 14 days in the past to 2 hours in future),
     * the time span in a single batch cannot exceed 24 hours." */
    if (r.too_new_start > r.expired_end && ev[r.too_new_start - 1].ts - ev[r.expired_end].ts > LOGS_MAX_SPAN_MS) {
        svc_error(c, "InvalidParameterException", 400,
                  "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
        return 0;
    }
    logs__append(c->state, s, ev + r.expired_end, r.too_new_start - r.expired_end, now);
    json_t *out = svc_output(c);
    /* The sequence token is ignored on input and still returned. */
    json_object_set_new(out, "nextSequenceToken", json_string(logs__sequence_token(c->arena, s)));
    if (r.too_old_end || r.expired_end || r.too_new_start < n) {
        json_t *info = json_object();
        if (r.too_old_end)
            json_object_set_new(info, "tooOldLogEventEndIndex", json_integer((json_int_t)r.too_old_end));
        if (r.expired_end > r.too_old_end)
            json_object_set_new(info, "expiredLogEventEndIndex", json_integer((json_int_t)r.expired_end));
        if (r.too_new_start < n)
            json_object_set_new(info, "tooNewLogEventStartIndex", json_integer((json_int_t)r.too_new_start));
        json_object_set_new(out, "rejectedLogEventsInfo", info);
    }
    return 0;
}

/* ==== GetLogEvents ==== */

typedef struct pos {
    int64_t ts;
    int64_t seq;
} pos_t;

static char *pos_token(arena_t *a, char dir, pos_t p)
{
    return arena_sprintf(a, "%c/%020" PRId64 "%020" PRId64 "0000000000000000", dir, p.ts < 0 ? 0 : p.ts,
                         p.seq < 0 ? 0 : p.seq);
}

static bool pos_parse(const char *tok, char *dir, pos_t *p)
{
    if (!tok || strlen(tok) != 58 || (tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/')
        return false;
    for (size_t i = 2; i < 58; i++)
        if (tok[i] < '0' || tok[i] > '9')
            return false;
    char ts[21], seq[21];
    memcpy(ts, tok + 2, 20);
    ts[20] = '\0';
    memcpy(seq, tok + 22, 20);
    seq[20] = '\0';
    p->ts = strtoll(ts, NULL, 10);
    p->seq = strtoll(seq, NULL, 10);
    *dir = tok[0];
    return true;
}

int logs_get_log_events(svc_call_t *c)
{
    const char *stream = svc_in_str(c, "logStreamName");
    const char *token = svc_in_str(c, "nextToken");
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, false);
    logs__check_name(&k, "logGroupIdentifier", svc_in_str(c, "logGroupIdentifier"), LOGS_NAME_IDENTIFIER, false);
    logs__check_name(&k, "logStreamName", stream, LOGS_NAME_STREAM, true);
    logs__check_int(&k, "limit", svc_in(c, "limit"), 1, LOGS_EVENTS_LIMIT);
    if (!logs__check_done(&k))
        return 0;
    char dir = 0;
    pos_t p;
    if (token && !pos_parse(token, &dir, &p)) {
        svc_error(c, "InvalidParameterException", 400, "The specified nextToken is invalid.");
        return 0;
    }
    logs_group_t *g = logs__group_get_or_fail(c);
    logs_stream_t *s = g ? logs__stream_get_or_fail(c, g, stream) : NULL;
    if (!s)
        return 0;
    long long limit = LOGS_EVENTS_LIMIT, start = INT64_MIN, end = INT64_MAX;
    logs_in_int(c, "limit", &limit);
    logs_in_int(c, "startTime", &start);
    logs_in_int(c, "endTime", &end); /* exclusive */
    int64_t cutoff = logs__retention_cutoff(g, kyoka_clock_now_ms());
    if (start < cutoff)
        start = cutoff;
    bool forward = token ? dir == 'f' : logs_in_bool(c, "startFromHead", false);
    if (!token)
        p = forward ? (pos_t){start < 0 ? 0 : start, 0} : (pos_t){end, 0};
    logs_state_t *st = c->state;
    sqlite3_stmt *q = store_stmt(st->store, forward ? "SELECT ts, seq, ingest_ms, message FROM logs_events"
                                                      " WHERE stream_id=?1 AND (ts, seq) >= (?2, ?3)"
                                                      " AND ts >= ?4 AND ts < ?5 ORDER BY ts, seq LIMIT ?6"
                                                    : "SELECT ts, seq, ingest_ms, message FROM logs_events"
                                                      " WHERE stream_id=?1 AND (ts, seq) < (?2, ?3)"
                                                      " AND ts >= ?4 AND ts < ?5 ORDER BY ts DESC, seq DESC LIMIT ?6");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)s->id);
    sqlite3_bind_int64(q, 2, p.ts);
    sqlite3_bind_int64(q, 3, p.seq);
    sqlite3_bind_int64(q, 4, start);
    sqlite3_bind_int64(q, 5, end);
    sqlite3_bind_int64(q, 6, limit);
    json_t *list = json_array();
    size_t bytes = 0;
    pos_t first = {0, 0}, last = {0, 0};
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        int len = sqlite3_column_bytes(q, 3);
        if (json_array_size(list) && bytes + (size_t)len + LOGS_EVENT_OVERHEAD > LOGS_RESPONSE_BYTES)
            break;
        bytes += (size_t)len + LOGS_EVENT_OVERHEAD;
        pos_t at = {sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1)};
        json_t *e = json_object();
        json_object_set_new(e, "timestamp", json_integer(at.ts));
        json_object_set_new(e, "message", text_value(sqlite3_column_text(q, 3), len));
        json_object_set_new(e, "ingestionTime", json_integer(sqlite3_column_int64(q, 2)));
        json_array_append_new(list, e);
        if (json_array_size(list) == 1)
            first = at;
        last = at;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(list);
        svc_error(c, "ServiceUnavailableException", 500, "The store could not be read.");
        return 0;
    }
    size_t got = json_array_size(list);
    if (!forward) {
        /* Read newest first; answered oldest first. */
        for (size_t i = 0; i < got / 2; i++) {
            json_t *a = json_incref(json_array_get(list, i)), *b = json_incref(json_array_get(list, got - 1 - i));
            json_array_set_new(list, i, b);
            json_array_set_new(list, got - 1 - i, a);
        }
        pos_t t = first;
        first = last;
        last = t;
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "events", list);
    if (got) {
        json_object_set_new(out, "nextForwardToken",
                            json_string(pos_token(c->arena, 'f', (pos_t){last.ts, last.seq + 1})));
        json_object_set_new(out, "nextBackwardToken", json_string(pos_token(c->arena, 'b', first)));
    } else {
        /* Nothing more this way: the same position both ways (the token
         * passed in comes back). */
        json_object_set_new(out, "nextForwardToken", json_string(pos_token(c->arena, 'f', p)));
        json_object_set_new(out, "nextBackwardToken", json_string(pos_token(c->arena, 'b', p)));
    }
    return 0;
}

/* ==== FilterLogEvents ==== */

typedef struct stream_ref {
    uint64_t id;
    const logs_stream_t *s;
    bool allowed;
} stream_ref_t;

static int cmp_ref(const void *a, const void *b)
{
    uint64_t x = ((const stream_ref_t *)a)->id, y = ((const stream_ref_t *)b)->id;
    return x < y ? -1 : x > y;
}

static stream_ref_t *ref_find(stream_ref_t *refs, size_t n, uint64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (refs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && refs[lo].id == id ? &refs[lo] : NULL;
}

static char *filter_token(arena_t *a, pos_t p) { return arena_sprintf(a, "t1%020" PRId64 "%020" PRId64, p.ts, p.seq); }

static bool filter_token_parse(const char *tok, pos_t *p)
{
    if (strlen(tok) != 42 || tok[0] != 't' || tok[1] != '1')
        return false;
    for (size_t i = 2; i < 42; i++)
        if (tok[i] < '0' || tok[i] > '9')
            return false;
    char ts[21], seq[21];
    memcpy(ts, tok + 2, 20);
    ts[20] = '\0';
    memcpy(seq, tok + 22, 20);
    seq[20] = '\0';
    p->ts = strtoll(ts, NULL, 10);
    p->seq = strtoll(seq, NULL, 10);
    return true;
}

int logs_filter_log_events(svc_call_t *c)
{
    const char *prefix = svc_in_str(c, "logStreamNamePrefix");
    json_t *names = svc_in(c, "logStreamNames");
    const char *pattern = svc_in_str(c, "filterPattern");
    const char *token = svc_in_str(c, "nextToken");
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, false);
    logs__check_name(&k, "logGroupIdentifier", svc_in_str(c, "logGroupIdentifier"), LOGS_NAME_IDENTIFIER, false);
    if (names && json_array_size(names) == 0)
        logs__check_add(&k, "logStreamNames", "[]", "Member must have length greater than or equal to 1");
    if (json_array_size(names) > LOGS_MAX_STREAM_NAMES)
        logs__check_add(&k, "logStreamNames", NULL, "Member must have length less than or equal to 100");
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) logs__check_name(&k, arena_sprintf(c->arena, "logStreamNames.%zu.member", i + 1),
                                                     json_string_value(v), LOGS_NAME_STREAM, true);
    logs__check_name(&k, "logStreamNamePrefix", prefix, LOGS_NAME_STREAM, false);
    if (pattern && strlen(pattern) > LOGS_MAX_FILTER_PATTERN)
        logs__check_add(&k, "filterPattern", pattern, "Member must have length less than or equal to 1024");
    logs__check_int(&k, "limit", svc_in(c, "limit"), 1, LOGS_EVENTS_LIMIT);
    if (!logs__check_done(&k))
        return 0;
    if (names && prefix) {
        svc_error(c, "InvalidParameterException", 400,
                  "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.");
        return 0;
    }
    pos_t after = {INT64_MIN, 0};
    if (token && !filter_token_parse(token, &after)) {
        svc_error(c, "InvalidParameterException", 400, "The specified nextToken is invalid.");
        return 0;
    }
    logs_group_t *g = logs__group_get_or_fail(c);
    if (!g)
        return 0;
    logs_pattern_t *pat = NULL;
    char perr[256];
    if (pattern && logs_pattern_compile(pattern, strlen(pattern), &pat, perr, sizeof perr) != 0) {
        svc_error(c, "InvalidParameterException", 400, "%s", perr);
        return 0;
    }
    /* The group's streams by id, marking those the call searches. */
    size_t nrefs = g->nstreams;
    stream_ref_t *refs = arena_alloc(c->arena, (nrefs ? nrefs : 1) * sizeof *refs);
    size_t plen = prefix ? strlen(prefix) : 0;
    for (size_t j = 0; j < nrefs; j++) {
        const logs_stream_t *s = g->streams[j];
        bool ok = !prefix || strncmp(s->name, prefix, plen) == 0;
        if (names) {
            ok = false;
            json_array_foreach(names, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s->name) == 0) ok =
                true;
        }
        refs[j] = (stream_ref_t){s->id, s, ok};
    }
    qsort(refs, nrefs, sizeof *refs, cmp_ref);
    long long limit = LOGS_EVENTS_LIMIT, start = INT64_MIN, end = INT64_MAX;
    logs_in_int(c, "limit", &limit);
    logs_in_int(c, "startTime", &start);
    logs_in_int(c, "endTime", &end); /* inclusive */
    int64_t cutoff = logs__retention_cutoff(g, kyoka_clock_now_ms());
    if (start < cutoff)
        start = cutoff;
    logs_state_t *st = c->state;
    sqlite3_stmt *q = store_stmt(st->store, "SELECT ts, seq, stream_id, ingest_ms, message FROM logs_events"
                                            " WHERE group_id=?1 AND (ts, seq) > (?2, ?3) AND ts >= ?4 AND ts <= ?5"
                                            " ORDER BY ts, seq");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)g->id);
    sqlite3_bind_int64(q, 2, after.ts);
    sqlite3_bind_int64(q, 3, after.seq);
    sqlite3_bind_int64(q, 4, start);
    sqlite3_bind_int64(q, 5, end);
    json_t *list = json_array();
    size_t bytes = 0, scanned = 0;
    pos_t at = after;
    bool more = false;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if ((long long)json_array_size(list) >= limit || scanned >= LOGS_FILTER_SCAN_ROWS) {
            more = true; /* a row past the page: the caller may go on */
            break;
        }
        scanned++;
        const unsigned char *msg = sqlite3_column_text(q, 4);
        int len = sqlite3_column_bytes(q, 4);
        stream_ref_t *ref = ref_find(refs, nrefs, (uint64_t)sqlite3_column_int64(q, 2));
        if (!ref || !ref->allowed || !logs_pattern_match(pat, msg ? (const char *)msg : "", (size_t)len)) {
            at = (pos_t){sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1)};
            continue;
        }
        if (json_array_size(list) && bytes + (size_t)len + LOGS_EVENT_OVERHEAD > LOGS_RESPONSE_BYTES) {
            more = true;
            break;
        }
        at = (pos_t){sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1)};
        bytes += (size_t)len + LOGS_EVENT_OVERHEAD;
        json_t *e = json_object();
        json_object_set_new(e, "logStreamName", json_string(ref->s->name));
        json_object_set_new(e, "timestamp", json_integer(at.ts));
        json_object_set_new(e, "message", text_value(msg, len));
        json_object_set_new(e, "ingestionTime", json_integer(sqlite3_column_int64(q, 3)));
        json_object_set_new(e, "eventId",
                            json_string(arena_sprintf(c->arena, "%020" PRId64 "%020" PRId64 "%016" PRIu64, at.ts,
                                                      at.seq, ref->id)));
        json_array_append_new(list, e);
    }
    sqlite3_reset(q);
    logs_pattern_free(pat);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(list);
        svc_error(c, "ServiceUnavailableException", 500, "The store could not be read.");
        return 0;
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "events", list);
    /* "As of May 15, 2020, this parameter is no longer supported. This
     * parameter returns an empty list." */
    json_object_set_new(out, "searchedLogStreams", json_array());
    if (more)
        json_object_set_new(out, "nextToken", json_string(filter_token(c->arena, at)));
    return 0;
}

/* ==== retention ==== */

void logs__sweep_arm(logs_state_t *st, int64_t when)
{
    if (!st->closing)
        dq_add(&st->dq, &st->sweep, when);
}

/* Delete g's events older than cutoff, at most LOGS_SWEEP_ROWS of them.
 * Returns true when more may be left. */
static bool sweep_group(logs_state_t *st, logs_group_t *g, int64_t cutoff)
{
    /* The boundary: everything before the LOGS_SWEEP_ROWS-th expired row,
     * or before the cutoff if there are fewer. */
    sqlite3_stmt *q = store_stmt(st->store, "SELECT ts, seq FROM logs_events WHERE group_id=?1 AND ts < ?2"
                                            " ORDER BY ts, seq LIMIT 1 OFFSET ?3");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)g->id);
    sqlite3_bind_int64(q, 2, cutoff);
    sqlite3_bind_int64(q, 3, LOGS_SWEEP_ROWS);
    pos_t lim = {cutoff, INT64_MIN};
    bool more = false;
    if (sqlite3_step(q) == SQLITE_ROW) {
        lim = (pos_t){sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1)};
        more = true;
    }
    sqlite3_reset(q);
    /* What goes, per stream, for the streams' byte counts. */
    q = store_stmt(st->store, "SELECT stream_id, total(length(message)) FROM logs_events"
                              " WHERE group_id=?1 AND (ts, seq) < (?2, ?3) GROUP BY stream_id");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)g->id);
    sqlite3_bind_int64(q, 2, lim.ts);
    sqlite3_bind_int64(q, 3, lim.seq);
    size_t touched = 0;
    logs_stream_t **hit = NULL;
    while (sqlite3_step(q) == SQLITE_ROW) {
        uint64_t sid = (uint64_t)sqlite3_column_int64(q, 0);
        int64_t bytes = (int64_t)sqlite3_column_double(q, 1);
        for (size_t j = 0; j < g->nstreams; j++)
            if (g->streams[j]->id == sid) {
                logs_stream_t *s = g->streams[j];
                s->stored_bytes -= bytes < s->stored_bytes ? bytes : s->stored_bytes;
                g->stored_bytes -= bytes < g->stored_bytes ? bytes : g->stored_bytes;
                hit = xrealloc(hit, (touched + 1) * sizeof *hit);
                hit[touched++] = s;
                break;
            }
    }
    sqlite3_reset(q);
    if (touched == 0) {
        free(hit);
        return false;
    }
    logs__write_begin(st);
    q = store_stmt(st->store, "DELETE FROM logs_events WHERE group_id=?1 AND (ts, seq) < (?2, ?3)");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)g->id);
    sqlite3_bind_int64(q, 2, lim.ts);
    sqlite3_bind_int64(q, 3, lim.seq);
    logs__step(st, q);
    for (size_t j = 0; j < touched; j++) {
        logs_stream_t *s = hit[j];
        q = store_stmt(st->store, "SELECT min(ts) FROM logs_events WHERE stream_id=?");
        sqlite3_bind_int64(q, 1, (sqlite3_int64)s->id);
        if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
            s->first_ts = sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
        logs__persist_stream(s);
    }
    free(hit);
    return more;
}

void logs__on_sweep(dq_entry_t *e)
{
    logs_state_t *st = container_of(e, logs_state_t, sweep);
    int64_t now = kyoka_clock_now_ms();
    bool more = false;
    for (size_t i = 0; i < st->ngroups; i++) {
        logs_group_t *g = st->groups[i];
        if (g->retention_days)
            more |= sweep_group(st, g, logs__retention_cutoff(g, now));
    }
    logs__sweep_arm(st, more ? now : now + LOGS_SWEEP_INTERVAL_MS);
}

/* ==== the internal API (logs.h) ==== */

static bool valid_group_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > LOGS_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("._-/#", ch)))
            return false;
    }
    return true;
}

static bool valid_stream_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= LOGS_MAX_NAME && !strpbrk(s, ":*");
}

/* Length of the longest prefix of p[0..n) that is whole, well-formed UTF-8
 * sequences, and whether all of it is. */
static bool utf8_ok(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n || c == 0 || (c == 0xC0 || c == 0xC1) || c > 0xF4)
            return false;
        for (size_t j = 1; j < len; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
        if (len == 3 && c == 0xE0 && p[i + 1] < 0xA0)
            return false;
        if (len == 3 && c == 0xED && p[i + 1] >= 0xA0)
            return false; /* surrogates */
        if (len == 4 && c == 0xF0 && p[i + 1] < 0x90)
            return false;
        if (len == 4 && c == 0xF4 && p[i + 1] >= 0x90)
            return false;
        i += len;
    }
    return true;
}

typedef struct sort_item {
    logs_in_event_t e;
    size_t idx;
} sort_item_t;

static int cmp_item(const void *a, const void *b)
{
    const sort_item_t *x = a, *y = b;
    if (x->e.ts != y->e.ts)
        return x->e.ts < y->e.ts ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int logs_put_events_internal(void *logs_state, const char *region, const char *account, const char *group,
                             const char *stream, const logs_event_t *events, size_t n, bool create_missing)
{
    logs_state_t *st = logs_state;
    if (!st || !region || !valid_group_name(group) || !valid_stream_name(stream))
        return KYOKA_EINVAL;
    if (!account)
        account = st->ctx->account_id;
    int64_t now = kyoka_clock_now_ms();
    logs_group_t *g = logs__group_lookup(st, region, account, group);
    if (!g) {
        if (!create_missing)
            return KYOKA_ENOTFOUND;
        g = logs__group_new(st, st->next_group_id++, region, account, group, now);
        logs__persist_group(g);
    }
    logs_stream_t *s = logs__stream_lookup(g, stream);
    if (!s) {
        if (!create_missing)
            return KYOKA_ENOTFOUND;
        s = logs__stream_new(g, st->next_stream_id++, stream, now);
        logs__persist_stream(s);
    }
    /* Copies that can be cut, scrubbed and sorted; messages stay borrowed
     * unless they need scrubbing. */
    sort_item_t *items = xmalloc((n ? n : 1) * sizeof *items);
    char **owned = xcalloc(n ? n : 1, sizeof *owned);
    size_t m = 0;
    bool sorted = true;
    for (size_t i = 0; i < n; i++) {
        const char *msg = events[i].message;
        size_t len = events[i].len;
        if (!msg || len == 0)
            continue;
        if (len > LOGS_MAX_EVENT_BYTES) {
            len = LOGS_MAX_EVENT_BYTES;
            /* Do not cut a UTF-8 sequence in two. */
            while (len > 0 && ((unsigned char)msg[len] & 0xC0) == 0x80)
                len--;
        }
        if (!utf8_ok((const unsigned char *)msg, len)) {
            char *copy = xstrndup(msg, len);
            for (size_t j = 0; j < len; j++)
                if (copy[j] == '\0')
                    copy[j] = '?';
            proto__utf8_scrub(copy);
            owned[i] = copy;
            msg = copy;
        }
        items[m] = (sort_item_t){{events[i].timestamp_ms, msg, len}, m};
        if (m && items[m].e.ts < items[m - 1].e.ts)
            sorted = false;
        m++;
    }
    if (!sorted)
        qsort(items, m, sizeof *items, cmp_item);
    logs_in_event_t *ev = xmalloc((m ? m : 1) * sizeof *ev);
    for (size_t i = 0; i < m; i++)
        ev[i] = items[i].e;
    classified_t r = classify(g, ev, m, now);
    logs__append(st, s, ev + r.expired_end, r.too_new_start - r.expired_end, now);
    free(ev);
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    free(owned);
    free(items);
    return 0;
}

bool logs_group_exists(void *logs_state, const char *region, const char *account, const char *group)
{
    logs_state_t *st = logs_state;
    if (!st || !region || !group)
        return false;
    return logs__group_lookup(st, region, account ? account : st->ctx->account_id, group) != NULL;
}
