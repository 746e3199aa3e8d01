/*
 * Subscription filters: PutSubscriptionFilter, DescribeSubscriptionFilters,
 * DeleteSubscriptionFilter, and the delivery of matching events to the hook
 * the server registers (logs_set_subscription_sink, logs.h).
 *
 * AWS's rules (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutSubscriptionFilter.html):
 * at most two filters a log group; putting an existing name updates that
 * filter in place; DescribeSubscriptionFilters lists them ASCII-sorted by
 * name. kyoka serves Lambda function destinations only: Kinesis Data
 * Streams, Firehose and cross-account logs destinations are refused with a
 * message that says so (docs/coverage.md).
 *
 * Delivery. Ingest (logs__append: PutLogEvents and the internal API the
 * Lambda runtime writes through) matches each new event against the
 * group's filters with the compiled pattern and copies the matching ones
 * into a pending batch per (filter, stream). Nothing is delivered on the
 * request path: the first pending event queues one deadline-queue entry
 * due at once, which runs on the next loop turn and hands every batch to
 * the sink as AWS's Lambda event, {"awslogs":{"data":base64(gzip(JSON))}}.
 * So all the events a loop turn ingests for a stream go out together, as
 * CloudWatch Logs batches them. A batch is sealed at 1 MB of events (AWS's
 * payload limit, counted as PutLogEvents counts: message bytes plus 26)
 * and a new one begins; a filter holds at most LOGS_SUB_MAX_PENDING bytes
 * waiting, and events past that are dropped and counted in a warning, so a
 * sink that cannot keep up never makes memory grow without bound.
 *
 * Thread: loop thread.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/banned.h"

/* ==== resource internals ==== */

typedef struct sub_event {
    int64_t ts;
    uint64_t seq;
    size_t off, len; /* the message in the batch's text */
} sub_event_t;

struct logs_sub_batch {
    struct logs_sub_batch *next;
    char *stream;      /* name, owned (the stream may go before delivery) */
    uint64_t stream_id;
    bool sealed;       /* full: new events for the stream start a new batch */
    size_t bytes;      /* messages + LOGS_EVENT_OVERHEAD each */
    sub_event_t *ev;
    size_t n, cap;
    buf_t text;        /* the messages back to back */
};

static void batch_free(logs_sub_batch_t *b)
{
    if (!b)
        return;
    free(b->stream);
    free(b->ev);
    buf_destroy(&b->text);
    free(b);
}

static void dirty_unlink(logs_state_t *st, logs_subscription_t *f)
{
    if (!f->_dirty)
        return;
    if (f->_dprev)
        f->_dprev->_dnext = f->_dnext;
    else
        st->dirty = f->_dnext;
    if (f->_dnext)
        f->_dnext->_dprev = f->_dprev;
    f->_dprev = f->_dnext = NULL;
    f->_dirty = false;
}

static void pending_drop(logs_subscription_t *f)
{
    while (f->batches) {
        logs_sub_batch_t *b = f->batches;
        f->batches = b->next;
        batch_free(b);
    }
    f->last = NULL;
    f->pending_bytes = 0;
}

void logs__subscription_free(logs_subscription_t *f)
{
    if (!f)
        return;
    dirty_unlink(f->g->st, f);
    pending_drop(f);
    logs_pattern_free(f->pat);
    free(f->name);
    free(f->pattern);
    free(f->destination_arn);
    free(f->role_arn);
    free(f->distribution);
    free(f);
}

static size_t sub_pos(const logs_group_t *g, const char *name, bool *found)
{
    size_t i = 0;
    while (i < g->nsubs && strcmp(g->subs[i]->name, name) < 0)
        i++;
    *found = i < g->nsubs && strcmp(g->subs[i]->name, name) == 0;
    return i;
}

logs_subscription_t *logs__subscription_add(logs_group_t *g, const char *name, const char *pattern,
                                            logs_pattern_t *pat, const char *destination, const char *role,
                                            const char *distribution, int64_t created_ms)
{
    bool found;
    size_t pos = sub_pos(g, name, &found);
    logs_subscription_t *f;
    if (found) {
        /* An update keeps the filter, and what it has not yet delivered. */
        f = g->subs[pos];
        logs_pattern_free(f->pat);
        free(f->pattern);
        free(f->destination_arn);
        free(f->role_arn);
        free(f->distribution);
    } else {
        if (g->nsubs == LOGS_MAX_SUBSCRIPTIONS) {
            logs_pattern_free(pat);
            return NULL;
        }
        f = xcalloc(1, sizeof *f);
        f->g = g;
        f->name = xstrdup(name);
        memmove(g->subs + pos + 1, g->subs + pos, (g->nsubs - pos) * sizeof *g->subs);
        g->subs[pos] = f;
        g->nsubs++;
    }
    f->pattern = xstrdup(pattern);
    f->pat = pat;
    f->destination_arn = xstrdup(destination);
    f->role_arn = role ? xstrdup(role) : NULL;
    f->distribution = xstrdup(distribution);
    f->created_ms = created_ms;
    return f;
}

static void sub_remove(logs_subscription_t *f)
{
    logs_group_t *g = f->g;
    bool found;
    size_t pos = sub_pos(g, f->name, &found);
    if (found) {
        memmove(g->subs + pos, g->subs + pos + 1, (g->nsubs - pos - 1) * sizeof *g->subs);
        g->nsubs--;
    }
    logs__subscription_free(f);
}

/* ==== collecting matching events ==== */

static logs_sub_batch_t *batch_for(logs_subscription_t *f, const logs_stream_t *s)
{
    for (logs_sub_batch_t *b = f->batches; b; b = b->next)
        if (!b->sealed && b->stream_id == s->id)
            return b;
    logs_sub_batch_t *b = xcalloc(1, sizeof *b);
    b->stream = xstrdup(s->name);
    b->stream_id = s->id;
    buf_init(&b->text, LOGS_SUB_BATCH_BYTES);
    if (f->last)
        f->last->next = b;
    else
        f->batches = b;
    f->last = b;
    return b;
}

static void batch_add(logs_sub_batch_t *b, const logs_in_event_t *e, uint64_t seq)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->ev = xrealloc(b->ev, b->cap * sizeof *b->ev);
    }
    b->ev[b->n++] = (sub_event_t){e->ts, seq, b->text.len, e->len};
    (void)buf_append(&b->text, e->msg, e->len); /* fits: bytes <= LOGS_SUB_BATCH_BYTES */
    b->bytes += e->len + LOGS_EVENT_OVERHEAD;
}

void logs__subscriptions_ingest(logs_state_t *st, logs_stream_t *s, const logs_in_event_t *ev, size_t n,
                                uint64_t seq0)
{
    logs_group_t *g = s->g;
    if (!st->sink.deliver || st->closing)
        return; /* nobody to deliver to: nothing to keep */
    for (size_t k = 0; k < g->nsubs; k++) {
        logs_subscription_t *f = g->subs[k];
        bool all = logs_pattern_matches_all(f->pat);
        logs_sub_batch_t *b = NULL;
        size_t added = 0;
        for (size_t i = 0; i < n; i++) {
            const logs_in_event_t *e = &ev[i];
            if (!all && !logs_pattern_match(f->pat, e->msg, e->len))
                continue;
            size_t cost = e->len + LOGS_EVENT_OVERHEAD;
            if (f->pending_bytes + cost > LOGS_SUB_MAX_PENDING) {
                f->dropped++;
                continue;
            }
            if (!b)
                b = batch_for(f, s);
            if (b->n && b->bytes + cost > LOGS_SUB_BATCH_BYTES) {
                b->sealed = true;
                b = batch_for(f, s);
            }
            batch_add(b, e, seq0 + i);
            f->pending_bytes += cost;
            added++;
        }
        if ((added || f->dropped) && !f->_dirty) {
            f->_dirty = true;
            f->_dprev = NULL;
            f->_dnext = st->dirty;
            if (st->dirty)
                st->dirty->_dprev = f;
            st->dirty = f;
        }
    }
    if (st->dirty && !dq_queued(&st->deliver))
        dq_add(&st->dq, &st->deliver, kyoka_clock_now_ms());
}

/* ==== the Lambda event ==== */

static void json_text(buf_t *o, const char *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    (void)buf_appendc(o, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        (void)buf_append(o, p + run, i - run);
        run = i + 1;
        char esc[7] = {'\\', 0};
        switch (ch) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hx[ch >> 4], esc[5] = hx[ch & 15];
        }
        (void)buf_appends(o, esc);
    }
    (void)buf_append(o, p + run, n - run);
    (void)buf_appendc(o, '"');
}

/* The JSON document CloudWatch Logs sends, for one batch. */
static void batch_document(buf_t *o, const logs_subscription_t *f, const logs_sub_batch_t *b)
{
    const logs_group_t *g = f->g;
    (void)buf_appends(o, "{\"messageType\":\"DATA_MESSAGE\",\"owner\":");
    json_text(o, g->account, strlen(g->account));
    (void)buf_appends(o, ",\"logGroup\":");
    json_text(o, g->name, strlen(g->name));
    (void)buf_appends(o, ",\"logStream\":");
    json_text(o, b->stream, strlen(b->stream));
    (void)buf_appends(o, ",\"subscriptionFilters\":[");
    json_text(o, f->name, strlen(f->name));
    (void)buf_appends(o, "],\"logEvents\":[");
    for (size_t i = 0; i < b->n; i++) {
        const sub_event_t *e = &b->ev[i];
        /* The id FilterLogEvents gives the same event: 56 digits. */
        (void)buf_appendf(o, "%s{\"id\":\"%020" PRId64 "%020" PRIu64 "%016" PRIu64 "\",\"timestamp\":%" PRId64
                             ",\"message\":",
                          i ? "," : "", e->ts < 0 ? 0 : e->ts, e->seq, b->stream_id, e->ts);
        json_text(o, b->text.data + e->off, e->len);
        (void)buf_appendc(o, '}');
    }
    (void)buf_appends(o, "]}");
}

static void base64_append(buf_t *o, const unsigned char *p, size_t n)
{
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        q[0] = tb[v >> 18], q[1] = tb[(v >> 12) & 63], q[2] = tb[(v >> 6) & 63], q[3] = tb[v & 63];
        (void)buf_append(o, q, 4);
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        q[0] = tb[v >> 18], q[1] = tb[(v >> 12) & 63];
        q[2] = i + 1 < n ? tb[(v >> 6) & 63] : '=';
        q[3] = '=';
        (void)buf_append(o, q, 4);
    }
}

int logs__subscription_payload(const logs_subscription_t *f, const logs_sub_batch_t *b, buf_t *out)
{
    buf_t doc;
    buf_init(&doc, (size_t)8 * LOGS_SUB_BATCH_BYTES); /* escaping at most sextuples a byte */
    batch_document(&doc, f, b);
    int rc = buf_err(&doc) ? KYOKA_ENOMEM : 0;
    z_stream z;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16: a gzip wrapper around the deflate stream. */
    if (rc == 0 && deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        rc = KYOKA_ENOMEM;
    unsigned char *gz = NULL;
    size_t gzlen = 0;
    if (rc == 0) {
        uLong cap = deflateBound(&z, (uLong)doc.len);
        gz = xmalloc(cap);
        z.next_in = (Bytef *)doc.data;
        z.avail_in = (uInt)doc.len;
        z.next_out = gz;
        z.avail_out = (uInt)cap;
        if (deflate(&z, Z_FINISH) != Z_STREAM_END)
            rc = KYOKA_ENOMEM;
        gzlen = cap - z.avail_out;
        deflateEnd(&z);
    }
    if (rc == 0) {
        (void)buf_appends(out, "{\"awslogs\":{\"data\":\"");
        base64_append(out, gz, gzlen);
        (void)buf_appends(out, "\"}}");
        if (buf_err(out))
            rc = KYOKA_ENOMEM;
    }
    free(gz);
    buf_destroy(&doc);
    return rc;
}

/* ==== delivery ==== */

/* The deadline-queue entry: one loop turn after events were collected,
 * hand every pending batch to the sink, at most LOGS_SUB_DELIVERIES_PER_TURN
 * of them (the rest on the next turn). */
void logs__on_deliver(dq_entry_t *e)
{
    logs_state_t *st = container_of(e, logs_state_t, deliver);
    size_t budget = LOGS_SUB_DELIVERIES_PER_TURN;
    while (st->dirty && budget) {
        logs_subscription_t *f = st->dirty;
        if (f->dropped) {
            log_warn("logs: subscription filter %s on log group %s: %" PRIu64
                     " events dropped (more than %d bytes were waiting for delivery)",
                     f->name, f->g->name, f->dropped, LOGS_SUB_MAX_PENDING);
            f->dropped = 0;
        }
        while (f->batches && budget) {
            logs_sub_batch_t *b = f->batches;
            f->batches = b->next;
            if (!f->batches)
                f->last = NULL;
            f->pending_bytes -= b->bytes < f->pending_bytes ? b->bytes : f->pending_bytes;
            budget--;
            buf_t payload;
            buf_init(&payload, (size_t)16 * LOGS_SUB_BATCH_BYTES);
            if (st->sink.deliver && logs__subscription_payload(f, b, &payload) == 0) {
                logs_subscription_batch_t d = {
                    .region = f->g->region,
                    .owner_account = f->g->account,
                    .log_group = f->g->name,
                    .log_stream = b->stream,
                    .filter_name = f->name,
                    .destination_arn = f->destination_arn,
                    .role_arn = f->role_arn,
                    .payload = payload.data,
                    .len = payload.len,
                };
                /* The sink may call back into the service (a Lambda's own
                 * logs): f stays valid because nothing here frees filters,
                 * but the batch is already off the list. */
                st->sink.deliver(st->sink.data, &d);
            }
            buf_destroy(&payload);
            batch_free(b);
            /* The sink may have deleted the filter or its group (through
             * a reset it triggered): start again from the list head. */
            if (st->dirty != f)
                break;
        }
        if (st->dirty == f && !f->batches)
            dirty_unlink(st, f);
    }
    if (st->dirty && !st->closing)
        dq_add(&st->dq, &st->deliver, kyoka_clock_now_ms());
}

void logs__subscriptions_flush(logs_state_t *st)
{
    if (dq_queued(&st->deliver))
        dq_remove(&st->dq, &st->deliver);
    logs__on_deliver(&st->deliver);
}

void logs_set_subscription_sink(void *logs_state, const logs_subscription_sink_t *sink)
{
    logs_state_t *st = logs_state;
    if (!st)
        return;
    if (sink)
        st->sink = *sink;
    else
        memset(&st->sink, 0, sizeof st->sink);
}

/* ==== operation handlers ==== */

/* Kinds of destination ARN, for a message that says what kyoka serves. */
static bool lambda_function_arn(const char *arn)
{
    iam_arn_t a;
    if (iam_arn_parse(strv_from(arn), &a) != 0 || !strv_eq_cstr(a.service, "lambda") || a.region.len == 0 ||
        a.account.len == 0 || !strv_starts_with(a.resource, "function:"))
        return false;
    strv_t rest = {a.resource.p + 9, a.resource.len - 9};
    const char *colon = memchr(rest.p, ':', rest.len);
    size_t name = colon ? (size_t)(colon - rest.p) : rest.len;
    size_t qual = colon ? rest.len - name - 1 : 0;
    if (name == 0 || name > 140 || (colon && (qual == 0 || qual > 128 || memchr(colon + 1, ':', qual))))
        return false;
    for (size_t i = 0; i < name; i++) {
        char ch = rest.p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_'))
            return false;
    }
    return true;
}

static bool check_destination(svc_call_t *c, const char *arn)
{
    if (lambda_function_arn(arn))
        return true;
    const char *what = NULL;
    if (strncmp(arn, "arn:aws:kinesis:", 16) == 0)
        what = "Kinesis Data Streams";
    else if (strncmp(arn, "arn:aws:firehose:", 17) == 0)
        what = "Amazon Data Firehose";
    else if (strncmp(arn, "arn:aws:logs:", 13) == 0)
        what = "CloudWatch Logs destinations (cross-account delivery)";
    if (what)
        svc_error(c, "InvalidParameterException", 400,
                  "kyoka does not deliver subscription filters to %s yet; the destinationArn must be a Lambda "
                  "function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME).",
                  what);
    else
        svc_error(c, "InvalidParameterException", 400,
                  "Invalid destinationArn: kyoka delivers subscription filters to Lambda functions, named "
                  "arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER].");
    return false;
}

static json_t *sub_describe(const logs_subscription_t *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "filterName", json_string(f->name));
    json_object_set_new(o, "logGroupName", json_string(f->g->name));
    json_object_set_new(o, "filterPattern", json_string(f->pattern));
    json_object_set_new(o, "destinationArn", json_string(f->destination_arn));
    if (f->role_arn)
        json_object_set_new(o, "roleArn", json_string(f->role_arn));
    json_object_set_new(o, "distribution", json_string(f->distribution));
    json_object_set_new(o, "creationTime", json_integer(f->created_ms));
    return o;
}

int logs_put_subscription_filter(svc_call_t *c)
{
    const char *name = svc_in_str(c, "filterName");
    const char *pattern = svc_in_str(c, "filterPattern");
    const char *dest = svc_in_str(c, "destinationArn");
    const char *role = svc_in_str(c, "roleArn");
    const char *dist = svc_in_str(c, "distribution");
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, true);
    logs__check_name(&k, "filterName", name, LOGS_NAME_STREAM, true);
    if (!pattern)
        logs__check_add(&k, "filterPattern", NULL, "Member must not be null");
    else if (strlen(pattern) > LOGS_MAX_FILTER_PATTERN)
        logs__check_add(&k, "filterPattern", pattern, "Member must have length less than or equal to 1024");
    if (!dest)
        logs__check_add(&k, "destinationArn", NULL, "Member must not be null");
    else if (!*dest)
        logs__check_add(&k, "destinationArn", dest, "Member must have length greater than or equal to 1");
    if (role && !*role)
        logs__check_add(&k, "roleArn", role, "Member must have length greater than or equal to 1");
    if (dist && strcmp(dist, "Random") != 0 && strcmp(dist, "ByLogStream") != 0)
        logs__check_add(&k, "distribution", dist, "Member must satisfy enum value set: [Random, ByLogStream]");
    if (!logs__check_done(&k))
        return 0;
    logs_group_t *g = logs__group_get_or_fail(c);
    if (!g)
        return 0;
    logs_pattern_t *pat = NULL;
    char perr[256];
    if (logs_pattern_compile(pattern, strlen(pattern), &pat, perr, sizeof perr) != 0) {
        svc_error(c, "InvalidParameterException", 400, "%s", perr);
        return 0;
    }
    bool found;
    sub_pos(g, name, &found);
    if (!found && g->nsubs >= LOGS_MAX_SUBSCRIPTIONS) {
        logs_pattern_free(pat);
        svc_error(c, "LimitExceededException", 400, "Resource limit exceeded.");
        return 0;
    }
    if (!check_destination(c, dest)) {
        logs_pattern_free(pat);
        return 0;
    }
    /* "To perform a PutSubscriptionFilter operation, you must also have
     * the iam:PassRole permission" (for the role given). */
    if (role && c->ctx->authorize && c->ctx->authorize(c, "iam:PassRole", role, NULL, 0) != IAM_ALLOW) {
        logs_pattern_free(pat);
        return 0;
    }
    logs_state_t *st = c->state;
    if (st->sink.check) {
        char msg[512] = "";
        char *group_arn = arena_sprintf(c->arena, "%s:*", g->arn);
        if (st->sink.check(st->sink.data, g->region, group_arn, dest, msg, sizeof msg) != 0) {
            logs_pattern_free(pat);
            svc_error(c, "InvalidParameterException", 400, "%s",
                      msg[0] ? msg
                             : "Could not execute the lambda function. Make sure you have given CloudWatch Logs "
                               "permission to execute your function.");
            return 0;
        }
    }
    logs_subscription_t *f = logs__subscription_add(g, name, pattern, pat, dest, role, dist ? dist : "ByLogStream",
                                                    kyoka_clock_now_ms());
    logs__persist_subscription(f);
    return 0;
}

static char *sub_token(arena_t *a, const char *name)
{
    size_t n = strlen(name);
    char *t = arena_alloc(a, 2 * n + 3);
    t[0] = 's';
    t[1] = '1';
    kyoka_hex((const unsigned char *)name, n, t + 2);
    return t;
}

static const char *sub_token_name(arena_t *a, const char *tok)
{
    size_t n = strlen(tok);
    if (n < 2 || tok[0] != 's' || tok[1] != '1' || (n - 2) % 2 != 0)
        return NULL;
    char *out = arena_alloc(a, (n - 2) / 2 + 1);
    size_t j = 0;
    for (size_t i = 2; i < n; i += 2, j++) {
        int hi = kyoka_hexval(tok[i]), lo = kyoka_hexval(tok[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return NULL;
        out[j] = (char)(hi * 16 + lo);
    }
    out[j] = '\0';
    return out;
}

int logs_describe_subscription_filters(svc_call_t *c)
{
    const char *prefix = svc_in_str(c, "filterNamePrefix");
    const char *token = svc_in_str(c, "nextToken");
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, true);
    logs__check_name(&k, "filterNamePrefix", prefix, LOGS_NAME_STREAM, false);
    if (token && !*token)
        logs__check_add(&k, "nextToken", token, "Member must have length greater than or equal to 1");
    logs__check_int(&k, "limit", svc_in(c, "limit"), 1, LOGS_DESCRIBE_LIMIT);
    if (!logs__check_done(&k))
        return 0;
    const char *after = NULL;
    if (token && !(after = sub_token_name(c->arena, token))) {
        svc_error(c, "InvalidParameterException", 400, "The specified nextToken is invalid.");
        return 0;
    }
    logs_group_t *g = logs__group_get_or_fail(c);
    if (!g)
        return 0;
    long long limit = LOGS_DESCRIBE_LIMIT;
    logs_in_int(c, "limit", &limit);
    size_t plen = prefix ? strlen(prefix) : 0;
    json_t *list = json_array();
    const char *last = NULL;
    bool more = false;
    for (size_t i = 0; i < g->nsubs; i++) {
        const logs_subscription_t *f = g->subs[i];
        if ((prefix && strncmp(f->name, prefix, plen) != 0) || (after && strcmp(f->name, after) <= 0))
            continue;
        if ((long long)json_array_size(list) == limit) {
            more = true;
            break;
        }
        json_array_append_new(list, sub_describe(f));
        last = f->name;
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "subscriptionFilters", list);
    if (more && last)
        json_object_set_new(out, "nextToken", json_string(sub_token(c->arena, last)));
    return 0;
}

int logs_delete_subscription_filter(svc_call_t *c)
{
    const char *name = svc_in_str(c, "filterName");
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, true);
    logs__check_name(&k, "filterName", name, LOGS_NAME_STREAM, true);
    if (!logs__check_done(&k))
        return 0;
    logs_group_t *g = logs__group_get_or_fail(c);
    if (!g)
        return 0;
    bool found;
    size_t pos = sub_pos(g, name, &found);
    if (!found) {
        svc_error(c, "ResourceNotFoundException", 400, "The specified subscription filter does not exist.");
        return 0;
    }
    logs_subscription_t *f = g->subs[pos];
    logs__persist_subscription_delete(f);
    sub_remove(f);
    return 0;
}
