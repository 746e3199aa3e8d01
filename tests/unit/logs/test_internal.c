/* Unit tests for the CloudWatch Logs internal API (services/logs/logs.h):
 * logs_put_events_internal and logs_group_exists on a real in-memory store
 * and loop, checking what lands in the events table: groups and streams
 * created on demand (or ENOTFOUND), events sorted, empty ones skipped,
 * oversized ones cut at a UTF-8 boundary, invalid UTF-8 scrubbed, and the
 * same time window rules as PutLogEvents. */
#include "services/logs/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

extern const svc_def_t logs_service;

typedef struct fixture {
    uv_loop_t loop;
    store_t *store;
    kyoka_ctx_t ctx;
    void *st;
} fixture_t;

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

static int teardown(void **state)
{
    fixture_t *f = *state;
    logs_service.free(f->st);
    store_close(f->store);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

/* Messages of a stream in stored order. */
static int stored(fixture_t *f, const char *stream, char out[][64], int cap)
{
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(f->store),
                                        "SELECT e.message FROM logs_events e JOIN logs_streams s ON s.id = e.stream_id"
                                        " WHERE s.name = ? ORDER BY e.ts, e.seq",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(q, 1, stream, -1, SQLITE_STATIC);
    int n = 0;
    while (sqlite3_step(q) == SQLITE_ROW && n < cap) {
        snprintf(out[n], 64, "%.63s", (const char *)sqlite3_column_text(q, 0));
        n++;
    }
    sqlite3_finalize(q);
    return n;
}

static void test_create_missing(void **state)
{
    fixture_t *f = *state;
    int64_t now = kyoka_clock_now_ms();
    logs_event_t ev[] = {{now, "hello", 5}};
    assert_false(logs_group_exists(f->st, "us-east-1", NULL, "/aws/lambda/fn"));
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/aws/lambda/fn", "2024/01/01/[$LATEST]abc", ev,
                                              1, false),
                     KYOKA_ENOTFOUND);
    assert_false(logs_group_exists(f->st, "us-east-1", NULL, "/aws/lambda/fn"));
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/aws/lambda/fn", "2024/01/01/[$LATEST]abc", ev,
                                              1, true),
                     0);
    assert_true(logs_group_exists(f->st, "us-east-1", NULL, "/aws/lambda/fn"));
    assert_true(logs_group_exists(f->st, "us-east-1", "000000000000", "/aws/lambda/fn"));
    assert_false(logs_group_exists(f->st, "eu-west-1", NULL, "/aws/lambda/fn"));
    /* The group exists now: a second stream needs create_missing too. */
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/aws/lambda/fn", "other", ev, 1, false),
                     KYOKA_ENOTFOUND);
    char got[8][64];
    assert_int_equal(stored(f, "2024/01/01/[$LATEST]abc", got, 8), 1);
    assert_string_equal(got[0], "hello");
    logs_state_t *st = f->st;
    logs_group_t *g = logs__group_lookup(st, "us-east-1", "000000000000", "/aws/lambda/fn");
    assert_non_null(g);
    assert_int_equal(g->stored_bytes, 5);
    logs_stream_t *s = logs__stream_lookup(g, "2024/01/01/[$LATEST]abc");
    assert_non_null(s);
    assert_int_equal(s->first_ts, now);
    assert_int_equal(s->last_ts, now);
}

static void test_bad_names(void **state)
{
    fixture_t *f = *state;
    logs_event_t ev[] = {{kyoka_clock_now_ms(), "x", 1}};
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "bad:name", "s", ev, 1, true), KYOKA_EINVAL);
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/ok", "bad:stream", ev, 1, true),
                     KYOKA_EINVAL);
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/ok", "bad*", ev, 1, true), KYOKA_EINVAL);
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "", "s", ev, 1, true), KYOKA_EINVAL);
    assert_int_equal(logs_put_events_internal(NULL, "us-east-1", NULL, "/ok", "s", ev, 1, true), KYOKA_EINVAL);
    assert_false(logs_group_exists(f->st, "us-east-1", NULL, "/ok"));
}

static void test_lenient_input(void **state)
{
    fixture_t *f = *state;
    int64_t now = kyoka_clock_now_ms();
    char *big = malloc(LOGS_MAX_EVENT_BYTES + 10);
    memset(big, 'b', LOGS_MAX_EVENT_BYTES + 10);
    /* A two-byte character straddling the cut. */
    big[LOGS_MAX_EVENT_BYTES - 1] = (char)0xC3;
    big[LOGS_MAX_EVENT_BYTES] = (char)0xA9;
    logs_event_t ev[] = {
        {now - 10, "third", 5},
        {now - 30, "first", 5},
        {now - 20, "second", 6},
        {now - 20, "second-b", 8},  /* same millisecond: arrival order */
        {now - 5, "", 0},           /* skipped */
        {now - 4, "bad\xff utf8", 9},
        {now - 15 * 86400000LL, "too old", 7},
        {now + 3 * 3600000LL, "too new", 7},
        {now - 1, big, LOGS_MAX_EVENT_BYTES + 10},
    };
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/g", "s", ev, KYOKA_ARRAY_LEN(ev), true), 0);
    char got[16][64];
    int n = stored(f, "s", got, 16);
    assert_int_equal(n, 6);
    assert_string_equal(got[0], "first");
    assert_string_equal(got[1], "second");
    assert_string_equal(got[2], "second-b");
    assert_string_equal(got[3], "third");
    assert_string_equal(got[4], "bad? utf8");
    assert_memory_equal(got[5], "bbbb", 4);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(f->store), "SELECT max(length(CAST(message AS BLOB))) FROM logs_events",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(q, 0), LOGS_MAX_EVENT_BYTES - 1); /* cut before the 0xC3 */
    sqlite3_finalize(q);
    free(big);
    /* Nothing at all to store is not an error. */
    assert_int_equal(logs_put_events_internal(f->st, "us-east-1", NULL, "/g", "s", NULL, 0, true), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lenient_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
