/* Unit tests for SQS internals that the integration tests only see through
 * their effects: the deadline queue driving long polls (order, moves,
 * removal, server-clock jumps, one timer), the message digests the SDKs
 * recompute (MD5OfMessageAttributes with AWS's published values), the
 * attribute-name filters of ReceiveMessage, the body character rules, the
 * message slab, and the table of FIFO receive attempts
 * (ReceiveRequestAttemptId): its 5-minute window, its cap, and when a
 * remembered receive may be retried. */
#include "services/sqs/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ==== deadline queue ==== */

typedef struct item {
    dq_entry_t e;
    int id;
} item_t;

static int fired[64];
static int nfired;

static void on_noop(uv_timer_t *t) { (void)t; }

static void on_fire(dq_entry_t *e) { fired[nfired++] = container_of(e, item_t, e)->id; }

static void test_dq_order_move_remove(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    dq_t dq;
    dq_init(&dq, &loop);
    int64_t now = kyoka_clock_now_ms();
    item_t it[6];
    nfired = 0;
    for (int i = 0; i < 6; i++) {
        it[i] = (item_t){.e.cb = on_fire, .id = i};
        dq_add(&dq, &it[i].e, now + 100000 + (6 - i) * 1000); /* reverse order */
    }
    assert_int_equal(dq_size(&dq), 6);
    assert_int_equal(dq_next(&dq), now + 101000);
    dq_remove(&dq, &it[5].e);           /* the earliest */
    dq_remove(&dq, &it[5].e);           /* twice is fine */
    dq_add(&dq, &it[0].e, now + 50000); /* move the latest to the front */
    assert_int_equal(dq_next(&dq), now + 50000);
    assert_int_equal(dq_run(&dq), 0);   /* nothing due yet */
    /* The server clock jumps: everything due runs, in deadline order. The
     * dq's handles do not keep a loop alive; in the server the listening
     * socket does, here a guard timer. */
    uv_timer_t guard;
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, on_noop, 100000, 0);
    kyoka_clock_advance_ms(200000);
    uv_run(&loop, UV_RUN_NOWAIT);       /* the check handle sees the jump */
    uv_run(&loop, UV_RUN_NOWAIT);       /* the timer runs them */
    uv_close((uv_handle_t *)&guard, NULL);
    assert_int_equal(nfired, 5);
    int want[] = {0, 4, 3, 2, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(fired[i], want[i]);
    assert_int_equal(dq_size(&dq), 0);
    dq_close(&dq, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_dq_timer_fires_in_real_time(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    dq_t dq;
    dq_init(&dq, &loop);
    item_t a = {.e.cb = on_fire, .id = 7};
    nfired = 0;
    dq_add(&dq, &a.e, kyoka_clock_now_ms() + 20);
    uint64_t t0 = kyoka_mono_us();
    /* The dq's handles do not keep the loop alive; a reffed timer does. */
    uv_timer_t guard;
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, on_noop, 1000, 0);
    while (nfired == 0 && kyoka_mono_us() - t0 < 2000000)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(nfired, 1);
    assert_true(kyoka_mono_us() - t0 >= 15000);
    uv_close((uv_handle_t *)&guard, NULL);
    dq_close(&dq, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* ==== digests ==== */

static sqs_state_t *digest_state(void)
{
    sqs_state_t *st = calloc(1, sizeof *st);
    st->mdctx = EVP_MD_CTX_new();
    st->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    st->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    return st;
}

static void digest_free(sqs_state_t *st)
{
    EVP_MD_free(st->md5);
    EVP_MD_free(st->sha256);
    EVP_MD_CTX_free(st->mdctx);
    free(st);
}

static void test_md5_of_message_attributes(void **state)
{
    (void)state;
    sqs_state_t *st = digest_state();
    char md5[33];
    /* Values AWS returned for these attributes (recorded responses). */
    json_t *a = json_pack("{s:{s:s,s:s}}", "Hello", "DataType", "String", "StringValue", "World");
    assert_true(sqs__md5_attrs(st, a, NULL, md5));
    assert_string_equal(md5, "7db7fb1ba7f41366a8ea5eb18220b26d");
    json_decref(a);
    a = json_pack("{s:{s:s,s:s}}", "AWSTraceHeader", "DataType", "String", "StringValue", "some-trace-id");
    sqs__md5_attrs(st, a, NULL, md5);
    assert_string_equal(md5, "fdce4f2818803f2f73becc09a54792c0");
    json_decref(a);
    a = json_pack("{s:{s:s,s:s},s:{s:s,s:s},s:{s:s,s:s}}", "Help.Me", "DataType", "String", "StringValue", "Me",
                  "Hello", "DataType", "String", "StringValue", "There", "General", "DataType", "String",
                  "StringValue", "Kenobi");
    sqs__md5_attrs(st, a, NULL, md5);
    assert_string_equal(md5, "4c360f3fdafd970e05fae2f149d997f5");
    /* A subset selected by MessageAttributeNames gets its own digest. */
    json_t *f = json_pack("[s,s]", "Hello", "General");
    sqs__md5_attrs(st, a, f, md5);
    assert_string_equal(md5, "fca026605781cb4126a1e9044df24232");
    json_decref(f);
    f = json_pack("[s]", "Hel.*");
    sqs__md5_attrs(st, a, f, md5);
    assert_string_equal(md5, "83fee93c1bcd8b9a5a923ffacdc636c7");
    json_decref(f);
    f = json_pack("[s,s]", "Foo", "Help");
    assert_false(sqs__md5_attrs(st, a, f, md5));
    assert_string_equal(md5, "");
    json_decref(f);
    json_decref(a);
    a = json_pack("{s:{s:s,s:s}}", "UserId", "DataType", "Number.bigint", "StringValue", "1234567890123456789012");
    sqs__md5_attrs(st, a, NULL, md5);
    assert_string_equal(md5, "797ab158d73dcb5242dedc4412c8e855");
    json_decref(a);
    sqs__md5_hex(st, "Test Message", 12, md5);
    assert_string_equal(md5, "d1d4180b7e411c4be86b00fb2ee103eb");
    digest_free(st);
}

static void test_attribute_filters(void **state)
{
    (void)state;
    json_t *all = json_pack("[s]", "All"), *dot = json_pack("[s]", ".*"), *pre = json_pack("[s]", "a.b.*"),
           *exact = json_pack("[s]", "a.b");
    assert_true(sqs__attr_selected(all, "x"));
    assert_true(sqs__attr_selected(dot, "x"));
    assert_true(sqs__attr_selected(pre, "a.b.c"));
    assert_true(sqs__attr_selected(pre, "a.bc"));
    assert_false(sqs__attr_selected(pre, "a.c"));
    assert_true(sqs__attr_selected(exact, "a.b"));
    assert_false(sqs__attr_selected(exact, "a.bc"));
    json_decref(all);
    json_decref(dot);
    json_decref(pre);
    json_decref(exact);
}

static void test_body_characters(void **state)
{
    (void)state;
    assert_true(sqs__body_chars_ok("tab\tnl\ncr\r", 10));
    assert_true(sqs__body_chars_ok("\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80", 9)); /* é ☃ 😀 */
    assert_false(sqs__body_chars_ok("\x01", 1));
    assert_false(sqs__body_chars_ok("a\0b", 3));
    assert_false(sqs__body_chars_ok("\xef\xbf\xbf", 3));     /* U+FFFF */
    assert_false(sqs__body_chars_ok("\xed\xa0\x80", 3));     /* a surrogate */
    assert_false(sqs__body_chars_ok("\xc0\xaf", 2));         /* overlong */
    assert_false(sqs__body_chars_ok("\xe2\x98", 2));         /* truncated */
    assert_true(sqs__body_chars_ok("\xee\x80\x80", 3));      /* U+E000 */
}

static void test_slab_reuses_slots(void **state)
{
    (void)state;
    sqs_slab_t s = {0};
    void *a = sqs__slab_alloc(&s, 200);
    void *b = sqs__slab_alloc(&s, 200);
    assert_ptr_not_equal(a, b);
    memset(a, 1, 200);
    memset(b, 2, 200);
    sqs__slab_free(&s, a, 200);
    void *c = sqs__slab_alloc(&s, 210); /* the same class as 200 (224) */
#if !defined(__SANITIZE_ADDRESS__)
    assert_ptr_equal(a, c);
#endif
    void *big = sqs__slab_alloc(&s, 100000); /* past the slab: malloc */
    memset(big, 3, 100000);
    sqs__slab_free(&s, big, 100000);
    sqs__slab_free(&s, b, 200);
    sqs__slab_free(&s, c, 210);
    sqs__slab_destroy(&s);
}

/* ==== receive attempts ==== */

static void test_receive_attempts(void **state)
{
    (void)state;
    sqs_state_t st = {0};
    sqs_queue_t q = {.st = &st}, other = {.st = &st};
    sqs_list_init(&q.attempt_order);
    sqs_msg_t m[3];
    memset(m, 0, sizeof m);
    for (int i = 0; i < 3; i++) {
        m[i].id = (uint64_t)i + 1;
        m[i].q = &q;
        m[i].receipt_seq = 7;
        sqs__msg_index(&st, &m[i]);
    }
    sqs_msg_t *got[2] = {&m[0], &m[1]};
    int64_t t0 = 1000000;
    sqs__attempt_add(&q, "a", got, 2, t0);
    sqs_attempt_t *a = sqs__attempt_find(&q, "a", t0 + SQS_ATTEMPT_WINDOW_MS - 1);
    assert_non_null(a);
    assert_int_equal(a->n, 2);
    assert_true(sqs__attempt_retryable(&q, a));
    assert_null(sqs__attempt_find(&q, "b", t0));
    /* Anything that changes one of its messages ends the retries. */
    m[1].vis_changed = 1;
    assert_false(sqs__attempt_retryable(&q, a));
    m[1].vis_changed = 0;
    m[1].receipt_seq++;
    assert_false(sqs__attempt_retryable(&q, a));
    m[1].receipt_seq--;
    m[1].q = &other;
    assert_false(sqs__attempt_retryable(&q, a));
    m[1].q = &q;
    sqs__msg_unindex(&st, &m[0]);
    assert_false(sqs__attempt_retryable(&q, a));
    sqs__msg_index(&st, &m[0]);
    /* The same id again replaces the receive it names. */
    sqs_msg_t *third[1] = {&m[2]};
    sqs__attempt_add(&q, "a", third, 1, t0 + 10);
    a = sqs__attempt_find(&q, "a", t0 + 10);
    assert_int_equal(a->n, 1);
    assert_int_equal(a->msgs[0].id, 3);
    assert_int_equal(q.attempts.n, 1);
    /* Five minutes after it, the receive is forgotten. */
    assert_null(sqs__attempt_find(&q, "a", t0 + 10 + SQS_ATTEMPT_WINDOW_MS));
    assert_int_equal(q.attempts.n, 0);
    /* At most SQS_MAX_ATTEMPTS per queue: the oldest goes first. */
    char id[16];
    for (int i = 0; i <= SQS_MAX_ATTEMPTS; i++) {
        snprintf(id, sizeof id, "x%d", i);
        sqs__attempt_add(&q, id, got, 2, t0 + i);
    }
    assert_int_equal(q.attempts.n, SQS_MAX_ATTEMPTS);
    assert_null(sqs__attempt_find(&q, "x0", t0 + SQS_MAX_ATTEMPTS));
    assert_non_null(sqs__attempt_find(&q, "x1", t0 + SQS_MAX_ATTEMPTS));
    snprintf(id, sizeof id, "x%d", SQS_MAX_ATTEMPTS);
    assert_non_null(sqs__attempt_find(&q, id, t0 + SQS_MAX_ATTEMPTS));
    sqs__attempts_clear(&q);
    assert_int_equal(q.attempts.n, 0);
    assert_true(sqs_list_empty(&q.attempt_order));
    free(st.msgs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dq_order_move_remove),
        cmocka_unit_test(test_dq_timer_fires_in_real_time),
        cmocka_unit_test(test_md5_of_message_attributes),
        cmocka_unit_test(test_attribute_filters),
        cmocka_unit_test(test_body_characters),
        cmocka_unit_test(test_slab_reuses_slots),
        cmocka_unit_test(test_receive_attempts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
