/* Unit tests for subscription filter delivery (services/logs/subscription.c)
 * on a real in-memory store and loop: events that match a filter's pattern
 * reach the registered sink one loop turn later, batched per (filter,
 * stream), as AWS's Lambda event (base64 of gzip of the JSON document,
 * decoded here and checked field by field); nothing is collected without a
 * sink; batches split at 1 MB; the pending cap drops; filters survive a
 * reload from the store; and deleting the group drops what was pending. */
#include "services/logs/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

extern const svc_def_t logs_service;

#define MAX_GOT 64

typedef struct fixture {
    uv_loop_t loop;
    store_t *store;
    kyoka_ctx_t ctx;
    void *st;
    /* what the sink saw */
    int ndeliveries;
    json_t *docs[MAX_GOT];   /* decoded documents */
    char streams[MAX_GOT][64];
    char dest[MAX_GOT][128];
    size_t max_len;
} fixture_t;

/* ---- decoding the payload ---- */

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static unsigned char *b64decode(const char *s, size_t n, size_t *outlen)
{
    assert_int_equal(n % 4, 0);
    unsigned char *out = malloc(n / 4 * 3 + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++)
            v[k] = s[i + k] == '=' ? 0 : b64val(s[i + k]);
        for (int k = 0; k < 4; k++)
            assert_true(v[k] >= 0);
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[o++] = (unsigned char)(w >> 16);
        if (s[i + 2] != '=')
            out[o++] = (unsigned char)(w >> 8);
        if (s[i + 3] != '=')
            out[o++] = (unsigned char)w;
    }
    *outlen = o;
    return out;
}

static char *gunzip(const unsigned char *p, size_t n, size_t *outlen)
{
    assert_true(n >= 2);
    assert_int_equal(p[0], 0x1f); /* gzip magic */
    assert_int_equal(p[1], 0x8b);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    int rc;
    do {
        if (cap - len < 4096) {
            cap *= 2;
            out = realloc(out, cap);
        }
        z.next_out = (Bytef *)out + len;
        z.avail_out = (uInt)(cap - len);
        rc = inflate(&z, Z_NO_FLUSH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
        len = cap - z.avail_out;
    } while (rc != Z_STREAM_END);
    inflateEnd(&z);
    *outlen = len;
    return out;
}

static void on_deliver(void *data, const logs_subscription_batch_t *b)
{
    fixture_t *f = data;
    assert_true(f->ndeliveries < MAX_GOT);
    assert_string_equal(b->region, "us-east-1");
    assert_string_equal(b->owner_account, "000000000000");
    if (b->len > f->max_len)
        f->max_len = b->len;
    json_error_t e;
    json_t *outer = json_loadb(b->payload, b->len, 0, &e);
    assert_non_null(outer);
    assert_int_equal(json_object_size(outer), 1);
    json_t *aws = json_object_get(outer, "awslogs");
    assert_int_equal(json_object_size(aws), 1);
    const char *data64 = json_string_value(json_object_get(aws, "data"));
    assert_non_null(data64);
    size_t gzlen, doclen;
    unsigned char *gz = b64decode(data64, strlen(data64), &gzlen);
    char *doc = gunzip(gz, gzlen, &doclen);
    json_t *d = json_loadb(doc, doclen, 0, &e);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "logStream")), b->log_stream);
    assert_string_equal(json_string_value(json_object_get(d, "logGroup")), b->log_group);
    assert_string_equal(json_string_value(json_array_get(json_object_get(d, "subscriptionFilters"), 0)),
                        b->filter_name);
    snprintf(f->streams[f->ndeliveries], 64, "%s", b->log_stream);
    snprintf(f->dest[f->ndeliveries], 128, "%s", b->destination_arn);
    f->docs[f->ndeliveries++] = d;
    free(doc);
    free(gz);
    json_decref(outer);
}

static void sink_on(fixture_t *f)
{
    logs_subscription_sink_t sink = {.data = f, .deliver = on_deliver};
    logs_set_subscription_sink(f->st, &sink);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    uv_loop_init(&f->loop);
    char err[256];
    f->store = store_open(&f->loop, NULL, err, sizeof err);
    assert_non_null(f->store);
    f->ctx.loop = &f->loop;
    f->ctx.store = f->store;
    f->ctx.account_id = "000000000000";
    f->ctx.region = "us-east-1";
    f->st = logs_service.create(&f->ctx, err, sizeof err);
    assert_non_null(f->st);
    *state = f;
    return 0;
}

static void got_clear(fixture_t *f)
{
    for (int i = 0; i < f->ndeliveries; i++)
        json_decref(f->docs[i]);
    f->ndeliveries = 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    got_clear(f);
    logs_service.free(f->st);
    store_close(f->store);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static logs_group_t *group(fixture_t *f, const char *name)
{
    logs_event_t none[] = {{kyoka_clock_now_ms(), "x", 1}};
    /* Create group and a stream through the internal API, then look up. */
    logs_state_t *st = f->st;
    if (!logs__group_lookup(st, "us-east-1", "000000000000", name)) {
        logs_subscription_sink_t saved = st->sink;
        memset(&st->sink, 0, sizeof st->sink);
        assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, name, "init", none, 1, true), 0);
        st->sink = saved;
    }
    return logs__group_lookup(st, "us-east-1", "000000000000", name);
}

static void add_filter(logs_group_t *g, const char *name, const char *pattern, const char *dest)
{
    logs_pattern_t *pat = NULL;
    char err[256];
    assert_int_equal(logs_pattern_compile(pattern, strlen(pattern), &pat, err, sizeof err), 0);
    logs_subscription_t *s =
        logs__subscription_add(g, name, pattern, pat, dest, NULL, "ByLogStream", kyoka_clock_now_ms());
    assert_non_null(s);
    logs__persist_subscription(s);
}

/* Turn the loop until the delivery entry has run (it is due at once). */
static void turn(fixture_t *f)
{
    for (int i = 0; i < 5; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void test_payload_and_pattern(void **state)
{
    fixture_t *f = *state;
    sink_on(f);
    logs_group_t *g = group(f, "/aws/lambda/fn");
    add_filter(g, "errors", "ERROR", "arn:aws:lambda:us-east-1:000000000000:function:sink");
    int64_t now = kyoka_clock_now_ms();
    logs_event_t ev[] = {
        {now - 3, "ERROR one", 9},
        {now - 2, "INFO fine", 9},
        {now - 1, "ERROR \"two\"\n\ttab \xc3\xa9", 19},
    };
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/aws/lambda/fn", "s1", ev, 3, true), 0);
    /* Off the request path: nothing until the loop turns. */
    assert_int_equal(f->ndeliveries, 0);
    turn(f);
    assert_int_equal(f->ndeliveries, 1);
    json_t *d = f->docs[0];
    assert_string_equal(json_string_value(json_object_get(d, "messageType")), "DATA_MESSAGE");
    assert_string_equal(json_string_value(json_object_get(d, "owner")), "000000000000");
    assert_string_equal(json_string_value(json_object_get(d, "logGroup")), "/aws/lambda/fn");
    assert_string_equal(json_string_value(json_object_get(d, "logStream")), "s1");
    assert_string_equal(f->dest[0], "arn:aws:lambda:us-east-1:000000000000:function:sink");
    json_t *events = json_object_get(d, "logEvents");
    assert_int_equal(json_array_size(events), 2);
    json_t *e0 = json_array_get(events, 0), *e1 = json_array_get(events, 1);
    assert_string_equal(json_string_value(json_object_get(e0, "message")), "ERROR one");
    assert_int_equal(json_integer_value(json_object_get(e0, "timestamp")), now - 3);
    assert_string_equal(json_string_value(json_object_get(e1, "message")), "ERROR \"two\"\n\ttab \xc3\xa9");
    const char *id0 = json_string_value(json_object_get(e0, "id"));
    const char *id1 = json_string_value(json_object_get(e1, "id"));
    assert_int_equal(strlen(id0), 56);
    assert_int_equal(strspn(id0, "0123456789"), 56);
    assert_true(strcmp(id0, id1) < 0); /* ids grow with (timestamp, arrival) */
    /* Delivered once: another turn brings nothing. */
    turn(f);
    assert_int_equal(f->ndeliveries, 1);
}

static void test_batching(void **state)
{
    fixture_t *f = *state;
    sink_on(f);
    logs_group_t *g = group(f, "/g");
    add_filter(g, "all", "", "arn:aws:lambda:us-east-1:000000000000:function:a");
    add_filter(g, "b", "[level=WARN*, ...]", "arn:aws:lambda:us-east-1:000000000000:function:b:live");
    int64_t now = kyoka_clock_now_ms();
    logs_event_t a[] = {{now, "WARN x", 6}, {now, "INFO y", 6}};
    logs_event_t b[] = {{now, "WARNING z", 9}};
    /* Several puts in one loop turn, on two streams: one batch per
     * (filter, stream). */
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/g", "s1", a, 2, true), 0);
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/g", "s2", b, 1, true), 0);
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/g", "s1", b, 1, true), 0);
    turn(f);
    assert_int_equal(f->ndeliveries, 4);
    int all_s1 = -1, b_s1 = -1;
    for (int i = 0; i < 4; i++) {
        const char *fn = json_string_value(json_array_get(json_object_get(f->docs[i], "subscriptionFilters"), 0));
        if (strcmp(fn, "all") == 0 && strcmp(f->streams[i], "s1") == 0)
            all_s1 = i;
        if (strcmp(fn, "b") == 0 && strcmp(f->streams[i], "s1") == 0)
            b_s1 = i;
    }
    assert_true(all_s1 >= 0 && b_s1 >= 0);
    assert_int_equal(json_array_size(json_object_get(f->docs[all_s1], "logEvents")), 3);
    assert_int_equal(json_array_size(json_object_get(f->docs[b_s1], "logEvents")), 2);
    got_clear(f);

    /* A batch holds at most 1 MB of events: 3 events of 400 KB make two. */
    size_t big = 400 * 1024;
    char *msg = malloc(big);
    memset(msg, 'W', big);
    logs_event_t large[] = {{now, msg, big}, {now, msg, big}, {now, msg, big}};
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/g", "s3", large, 3, true), 0);
    turn(f);
    int n = 0;
    for (int i = 0; i < f->ndeliveries; i++)
        if (strcmp(json_string_value(json_array_get(json_object_get(f->docs[i], "subscriptionFilters"), 0)), "all") ==
            0)
            n += (int)json_array_size(json_object_get(f->docs[i], "logEvents")) == 2 ? 10 : 1;
    assert_int_equal(n, 11); /* one batch of two, one of one */
    got_clear(f);

    /* Past the pending cap, events are dropped (and the rest delivered). */
    size_t nbig = LOGS_SUB_MAX_PENDING / (big + LOGS_EVENT_OVERHEAD) + 4;
    for (size_t i = 0; i < nbig; i++)
        assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/g", "s4", large, 1, true), 0);
    logs_subscription_t *all = g->subs[0];
    assert_string_equal(all->name, "all");
    assert_true(all->pending_bytes <= LOGS_SUB_MAX_PENDING);
    assert_true(all->dropped > 0);
    turn(f);
    assert_int_equal(all->pending_bytes, 0);
    assert_int_equal(all->dropped, 0);
    free(msg);
}

static void test_no_sink_collects_nothing(void **state)
{
    fixture_t *f = *state;
    logs_group_t *g = group(f, "/g");
    add_filter(g, "all", "", "arn:aws:lambda:us-east-1:000000000000:function:a");
    logs_event_t a[] = {{kyoka_clock_now_ms(), "hello", 5}};
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/g", "s1", a, 1, true), 0);
    assert_null(g->subs[0]->batches);
    assert_int_equal(g->subs[0]->pending_bytes, 0);
    turn(f);
    assert_int_equal(f->ndeliveries, 0);
}

static void test_limit_update_and_reload(void **state)
{
    fixture_t *f = *state;
    logs_state_t *st = f->st;
    logs_group_t *g = group(f, "/g");
    add_filter(g, "b", "x", "arn:aws:lambda:us-east-1:000000000000:function:a");
    add_filter(g, "a", "y", "arn:aws:lambda:us-east-1:000000000000:function:a");
    logs_pattern_t *pat = NULL;
    char err[256];
    assert_int_equal(logs_pattern_compile("z", 1, &pat, err, sizeof err), 0);
    assert_null(logs__subscription_add(g, "c", "z", pat, "d", NULL, "Random", 1)); /* third: refused */
    add_filter(g, "b", "updated", "arn:aws:lambda:us-east-1:000000000000:function:b"); /* same name: in place */
    assert_int_equal(g->nsubs, 2);
    assert_string_equal(g->subs[0]->name, "a");
    assert_string_equal(g->subs[1]->pattern, "updated");
    /* From the store, as after a restart. */
    logs__state_clear(st);
    assert_int_equal(logs__store_load(st, err, sizeof err), 0);
    g = logs__group_lookup(st, "us-east-1", "000000000000", "/g");
    assert_non_null(g);
    assert_int_equal(g->nsubs, 2);
    assert_string_equal(g->subs[1]->name, "b");
    assert_string_equal(g->subs[1]->pattern, "updated");
    assert_string_equal(g->subs[1]->destination_arn, "arn:aws:lambda:us-east-1:000000000000:function:b");
    assert_string_equal(g->subs[1]->distribution, "ByLogStream");
    /* Pending events die with their group. */
    sink_on(f);
    logs_event_t a[] = {{kyoka_clock_now_ms(), "x y", 3}};
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/g", "s1", a, 1, true), 0);
    assert_non_null(st->dirty);
    logs__persist_group_delete(g);
    logs__group_remove(g);
    assert_null(st->dirty);
    turn(f);
    assert_int_equal(f->ndeliveries, 0);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(f->store), "SELECT count(*) FROM logs_subscriptions", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 0);
    sqlite3_finalize(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_payload_and_pattern, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_sink_collects_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_update_and_reload, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
