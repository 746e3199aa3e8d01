/* Unit tests for Kinesis internals: MD5 partition key hashing as AWS reads
 * it, 128-bit decimals, the 56-digit sequence numbers (order, round trip,
 * refusal of numbers kyoka did not issue), shard iterators (round trip,
 * tampering), the base64 check, AWS's even hash ranges, and the internal
 * API (kinesis.h): shards with parents, cursors from every start
 * position, and the listener that hears of records once they are durable.
 * Runs on a real in-memory store and loop. */
#include "services/kinesis/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

extern const svc_def_t kinesis_service;

typedef struct fixture {
    uv_loop_t loop;
    store_t *store;
    kyoka_ctx_t ctx;
    kinesis_t *k;
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
    f->k = kinesis_service.create(&f->ctx, err, sizeof err);
    assert_non_null(f->k);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    kinesis_service.free(f->k);
    store_close(f->store);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

/* ---- numbers ---- */

static void test_md5_hash_key(void **state)
{
    fixture_t *f = *state;
    /* MD5("a") = 0cc175b9c0f1b6a831c399e269772661, read big-endian. */
    kinesis_u128 h = kinesis__md5_key(f->k, "a", 1);
    char s[48];
    kinesis__u128_format(h, s);
    kinesis_u128 want = 0;
    const char *hex = "0cc175b9c0f1b6a831c399e269772661";
    for (int i = 0; i < 32; i++)
        want = want << 4 | (kinesis_u128)kyoka_hexval(hex[i]);
    assert_true(h == want);
    kinesis_u128 back;
    assert_true(kinesis__u128_parse(s, &back));
    assert_true(back == h);
}

static void test_u128_decimal(void **state)
{
    char s[48];
    kinesis__u128_format(KINESIS_HASH_MAX, s);
    assert_string_equal(s, "340282366920938463463374607431768211455");
    kinesis__u128_format(0, s);
    assert_string_equal(s, "0");
    kinesis_u128 v;
    assert_true(kinesis__u128_parse("340282366920938463463374607431768211455", &v));
    assert_true(v == KINESIS_HASH_MAX);
    assert_false(kinesis__u128_parse("340282366920938463463374607431768211456", &v)); /* 2^128 */
    assert_false(kinesis__u128_parse("", &v));
    assert_false(kinesis__u128_parse("-1", &v));
    assert_false(kinesis__u128_parse("12a", &v));
}

static void test_sequence_numbers(void **state)
{
    char a[57], b[57], c[57];
    kinesis__seq_format(7, 1, 1700000000000, a);
    kinesis__seq_format(7, 2, 1700000000000, b);
    kinesis__seq_format(8, 1, 1600000000000, c);
    assert_int_equal(strlen(a), 56);
    assert_memory_equal(a, "49", 2);
    /* Fixed width: string order is numeric order, by shard then index. */
    assert_true(strcmp(a, b) < 0);
    assert_true(strcmp(b, c) < 0);
    uint32_t gid;
    uint64_t index;
    int64_t ms;
    assert_true(kinesis__seq_parse(b, &gid, &index, &ms));
    assert_int_equal(gid, 7);
    assert_int_equal(index, 2);
    assert_int_equal(ms, 1700000000000);
    /* One changed digit fails the check. */
    b[30] = b[30] == '9' ? '8' : (char)(b[30] + 1);
    assert_false(kinesis__seq_parse(b, &gid, &index, &ms));
    assert_false(kinesis__seq_parse("49", &gid, &index, &ms));
    assert_false(kinesis__seq_parse(NULL, &gid, &index, &ms));
}

static void test_iterators(void **state)
{
    arena_t a;
    arena_init(&a);
    kinesis_cursor_t cur = {.stream_id = 42, .shard_gid = 9, .next = 12345, .min_arrival_ms = 99};
    char *it = kinesis__iterator_encode(&a, &cur, 1700000000123);
    kinesis_cursor_t back;
    int64_t issued;
    assert_true(kinesis__iterator_decode(it, &back, &issued));
    assert_int_equal(back.stream_id, 42);
    assert_int_equal(back.shard_gid, 9);
    assert_int_equal(back.next, 12345);
    assert_int_equal(back.min_arrival_ms, 99);
    assert_int_equal(issued, 1700000000123);
    char *bad = arena_strdup(&a, it);
    bad[20] = bad[20] == 'A' ? 'B' : 'A';
    assert_false(kinesis__iterator_decode(bad, &back, &issued));
    assert_false(kinesis__iterator_decode("AAAA", &back, &issued));
    assert_false(kinesis__iterator_decode("", &back, &issued));
    arena_destroy(&a);
}

static void test_base64_check(void **state)
{
    size_t n;
    assert_true(kinesis__b64_check("aGVsbG8=", 8, &n));
    assert_int_equal(n, 5);
    assert_true(kinesis__b64_check("", 0, &n));
    assert_int_equal(n, 0);
    assert_true(kinesis__b64_check("YQ==", 4, &n));
    assert_int_equal(n, 1);
    assert_false(kinesis__b64_check("YR==", 4, &n)); /* non-zero leftover bits */
    assert_false(kinesis__b64_check("aGVsbG8", 7, &n));
    assert_false(kinesis__b64_check("aGV sbG8", 8, &n));
    assert_int_equal(kinesis__utf8_chars("h\xc3\xa9\xf0\x9f\x98\x80", 7), 4); /* h, é, and a surrogate pair */
}

/* ---- the internal API ---- */

static kinesis_stream_t *make_stream(fixture_t *f, const char *name, int shards)
{
    kinesis_stream_t *s =
        kinesis__stream_new(f->k, f->k->next_stream_id++, "us-east-1", "000000000000", name, kyoka_clock_now_ms());
    kinesis__shards_create(s, shards, kyoka_clock_now_ms());
    kinesis__persist_stream(s);
    return s;
}

static void put(fixture_t *f, kinesis_shard_t *sh, const char *data_b64)
{
    kinesis_in_record_t r = {sh, sh->next_index++, "pk", 2, data_b64, strlen(data_b64)};
    kinesis__persist_records(f->k, &r, 1, kyoka_clock_now_ms());
    sh->last_arrival_ms = kyoka_clock_now_ms();
    kinesis__notify_records(sh);
}

typedef struct shard_seen {
    char ids[16][32];
    char parents[16][32];
    char hash_start[16][48];
    int n;
} shard_seen_t;

static void on_shard(void *data, const kinesis_shard_info_t *in)
{
    shard_seen_t *s = data;
    snprintf(s->ids[s->n], 32, "%s", in->shard_id);
    snprintf(s->parents[s->n], 32, "%s", in->parent_shard_id ? in->parent_shard_id : "-");
    snprintf(s->hash_start[s->n], 48, "%s", in->starting_hash_key);
    s->n++;
}

static void test_shards_and_lineage(void **state)
{
    fixture_t *f = *state;
    kinesis_stream_t *s = make_stream(f, "lin", 3);
    shard_seen_t seen = {0};
    assert_int_equal(kinesis_shards_each(f->k, s->arn, on_shard, &seen), 0);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.hash_start[1], "113427455640312821154458202477256070485");
    assert_string_equal(seen.hash_start[2], "226854911280625642308916404954512140970");
    kinesis__shard_split(s->shards[0], 1000, kyoka_clock_now_ms());
    memset(&seen, 0, sizeof seen);
    assert_int_equal(kinesis_shards_each(f->k, s->arn, on_shard, &seen), 0);
    assert_int_equal(seen.n, 5);
    assert_string_equal(seen.ids[3], "shardId-000000000003");
    assert_string_equal(seen.parents[3], "shardId-000000000000");
    assert_string_equal(seen.parents[4], "shardId-000000000000");
    assert_string_equal(seen.hash_start[4], "1000");
    assert_int_equal(kinesis_shards_each(f->k, "arn:aws:kinesis:us-east-1:000000000000:stream/none", on_shard, &seen),
                     KYOKA_ENOTFOUND);
}

typedef struct got {
    char data[16][16];
    char seq[16][57];
    int n;
} got_t;

static void on_rec(void *data, const kinesis_record_view_t *r)
{
    got_t *g = data;
    snprintf(g->data[g->n], 16, "%.*s", (int)r->data_b64_len, r->data_b64);
    snprintf(g->seq[g->n], 57, "%s", r->sequence_number);
    g->n++;
}

static void test_cursors(void **state)
{
    fixture_t *f = *state;
    kinesis_stream_t *s = make_stream(f, "cur", 1);
    kinesis_shard_t *sh = s->shards[0];
    kinesis_cursor_t latest;
    assert_int_equal(kinesis_cursor_open(f->k, s->arn, sh->id, KINESIS_AT_LATEST, NULL, 0, &latest), 0);
    put(f, sh, "AAAA");
    put(f, sh, "BBBB");
    put(f, sh, "CCCC");
    kinesis_cursor_t cur;
    assert_int_equal(kinesis_cursor_open(f->k, s->arn, sh->id, KINESIS_AT_TRIM_HORIZON, NULL, 0, &cur), 0);
    got_t g = {0};
    kinesis_read_result_t res;
    assert_int_equal(kinesis_cursor_read(f->k, &cur, 2, 0, on_rec, &g, &res), 0);
    assert_int_equal(res.records, 2);
    assert_string_equal(g.data[0], "AAAA");
    assert_string_equal(g.data[1], "BBBB");
    assert_false(res.shard_end);
    /* The cursor moved: the next read starts at the third record. */
    assert_int_equal(kinesis_cursor_read(f->k, &cur, 10, 0, on_rec, &g, &res), 0);
    assert_int_equal(res.records, 1);
    assert_string_equal(g.data[2], "CCCC");
    assert_int_equal(res.millis_behind_latest, 0);
    /* From a checkpoint: AT and AFTER the second record's number. */
    kinesis_cursor_t at, after;
    assert_int_equal(kinesis_cursor_open(f->k, s->arn, sh->id, KINESIS_AT_SEQUENCE_NUMBER, g.seq[1], 0, &at), 0);
    assert_int_equal(kinesis_cursor_open(f->k, s->arn, sh->id, KINESIS_AFTER_SEQUENCE_NUMBER, g.seq[1], 0, &after), 0);
    got_t g2 = {0}, g3 = {0}, g4 = {0};
    assert_int_equal(kinesis_cursor_read(f->k, &at, 10, 0, on_rec, &g2, &res), 0);
    assert_int_equal(g2.n, 2);
    assert_int_equal(kinesis_cursor_read(f->k, &after, 10, 0, on_rec, &g3, &res), 0);
    assert_int_equal(g3.n, 1);
    assert_string_equal(g3.data[0], "CCCC");
    /* LATEST opened before the puts sees all three. */
    assert_int_equal(kinesis_cursor_read(f->k, &latest, 10, 0, on_rec, &g4, &res), 0);
    assert_int_equal(g4.n, 3);
    /* A number from another shard, and garbage, are refused. */
    kinesis_stream_t *s2 = make_stream(f, "other", 1);
    kinesis_cursor_t bad;
    assert_int_equal(
        kinesis_cursor_open(f->k, s2->arn, s2->shards[0]->id, KINESIS_AT_SEQUENCE_NUMBER, g.seq[0], 0, &bad),
        KYOKA_EINVAL);
    assert_int_equal(kinesis_cursor_open(f->k, s->arn, sh->id, KINESIS_AT_SEQUENCE_NUMBER, "123", 0, &bad),
                     KYOKA_EINVAL);
    assert_int_equal(kinesis_cursor_open(f->k, s->arn, "shardId-000000000009", KINESIS_AT_LATEST, NULL, 0, &bad),
                     KYOKA_ENOTFOUND);
    /* A closed shard read to its end says so. */
    kinesis__shard_split(sh, 12345, kyoka_clock_now_ms());
    got_t g5 = {0};
    assert_int_equal(kinesis_cursor_read(f->k, &cur, 10, 0, on_rec, &g5, &res), 0);
    assert_int_equal(res.records, 0);
    assert_true(res.shard_end);
    char id[32];
    assert_true(kinesis_cursor_shard_id(f->k, &cur, id, sizeof id));
    assert_string_equal(id, "shardId-000000000000");
}

typedef struct heard {
    int records, shards;
    char shard[32];
} heard_t;

static void on_event(void *data, kinesis_event_t ev, const char *arn, const char *shard_id)
{
    heard_t *h = data;
    if (ev == KINESIS_EV_RECORDS) {
        h->records++;
        snprintf(h->shard, sizeof h->shard, "%s", shard_id);
    } else if (ev == KINESIS_EV_SHARDS) {
        h->shards++;
    }
}

static void test_listener_hears_after_durability(void **state)
{
    fixture_t *f = *state;
    kinesis_stream_t *s = make_stream(f, "ls", 2);
    heard_t h = {0};
    kinesis_listener_t *l = kinesis_listen(f->k, s->arn, on_event, &h);
    heard_t other = {0};
    kinesis_listener_t *l2 =
        kinesis_listen(f->k, "arn:aws:kinesis:us-east-1:000000000000:stream/elsewhere", on_event, &other);
    put(f, s->shards[1], "AAAA");
    put(f, s->shards[1], "BBBB");
    /* Not before the batch is durable. */
    assert_int_equal(h.records, 0);
    for (int i = 0; i < 20 && !h.records; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(h.records, 1); /* once per shard per batch */
    assert_string_equal(h.shard, "shardId-000000000001");
    assert_int_equal(other.records, 0);
    kinesis__notify_event(f->k, s->arn, KINESIS_EV_SHARDS);
    for (int i = 0; i < 20 && !h.shards; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(h.shards, 1);
    kinesis_unlisten(l);
    kinesis_unlisten(l2);
    put(f, s->shards[0], "CCCC");
    for (int i = 0; i < 5; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(h.records, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_md5_hash_key, setup, teardown),
        cmocka_unit_test(test_u128_decimal),
        cmocka_unit_test(test_sequence_numbers),
        cmocka_unit_test(test_iterators),
        cmocka_unit_test(test_base64_check),
        cmocka_unit_test_setup_teardown(test_shards_and_lineage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listener_hears_after_durability, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
