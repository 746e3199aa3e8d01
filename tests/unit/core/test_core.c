/* Unit tests for core: buf_t limits and sticky errors, buffer recycling,
 * the small-object allocator, the arena, the server clock, SigV4 date
 * parsing, uuid shape. */
#include "core/core.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_buf_limit_is_sticky(void **st)
{
    buf_t b;
    buf_init(&b, 8);
    assert_string_equal(b.data, "");
    assert_int_equal(buf_appends(&b, "hello"), 0);
    assert_int_equal(buf_appends(&b, "world"), KYOKA_ELIMIT);
    /* Later appends that would fit are still refused: check once at the end. */
    assert_int_equal(buf_appends(&b, "!"), KYOKA_ELIMIT);
    assert_int_equal(buf_err(&b), KYOKA_ELIMIT);
    assert_string_equal(b.data, "hello");
    buf_reset(&b);
    assert_int_equal(buf_appendf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(b.data, "42-x");
    size_t n;
    char *p = buf_detach(&b, &n);
    assert_int_equal(n, 4);
    assert_string_equal(p, "42-x");
    free(p);
    assert_int_equal(b.len, 0);
    buf_destroy(&b);
}

static void test_buf_appendf_large(void **st)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(buf_appendf(&b, "[%s]", big), 0);
    assert_int_equal(b.len, 1001);
    assert_int_equal(b.data[1000], ']');
    buf_destroy(&b);
}

static void test_arena(void **st)
{
    arena_t a;
    arena_init(&a);
    char *s = arena_strdup(&a, "abc");
    void *big = arena_alloc(&a, 100000);
    memset(big, 1, 100000);
    for (int i = 0; i < 1000; i++) {
        void *p = arena_alloc(&a, 24);
        assert_int_equal((uintptr_t)p % 16, 0);
    }
    assert_string_equal(s, "abc");
    assert_string_equal(arena_sprintf(&a, "%s-%d", "x", 7), "x-7");
    arena_destroy(&a);
}

static void test_clock_advance(void **st)
{
    int64_t before = kyoka_clock_now_ms();
    kyoka_clock_advance_ms(3600 * 1000);
    kyoka_clock_advance_ms(-5000); /* ignored: time never runs backwards */
    int64_t after = kyoka_clock_now_ms();
    assert_true(after - before >= 3600 * 1000);
    assert_true(after - before < 3600 * 1000 + 5000);
}

static void test_time_formats(void **st)
{
    int64_t ms;
    assert_int_equal(kyoka_time_parse_amz(STRV_LIT("20150830T123600Z"), &ms), 0);
    assert_int_equal(ms, 1440938160000LL);
    assert_int_equal(kyoka_time_parse_amz(STRV_LIT("20151330T123600Z"), &ms), KYOKA_EPARSE);
    assert_int_equal(kyoka_time_parse_amz(STRV_LIT("2015-08-30T12:36:00Z"), &ms), KYOKA_EPARSE);
    char out[64];
    kyoka_time_iso8601(1440938160123LL, out, true);
    assert_string_equal(out, "2015-08-30T12:36:00.123Z");
    kyoka_time_iso8601(1440938160123LL, out, false);
    assert_string_equal(out, "2015-08-30T12:36:00Z");
}

static void test_uuid(void **st)
{
    char a[37], b[37];
    kyoka_uuid(a);
    kyoka_uuid(b);
    assert_int_equal(strlen(a), 36);
    assert_int_equal(a[14], '4');
    assert_true(strchr("89ab", a[19]) != NULL);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal(a[i], '-');
        else
            assert_true(strchr("0123456789abcdef", a[i]) != NULL);
    }
    assert_string_not_equal(a, b);
}

static void test_buf_recycle_keeps_small_buffers(void **st)
{
    (void)st;
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_reserve(&b, 1000), 0);
    char *data = b.data;
    size_t cap = b.cap;
    assert_true(cap > 1000);
    /* A reserved buffer takes 1000 bytes without moving. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(buf_appends(&b, "0123456789"), 0);
    assert_ptr_equal(b.data, data);
    buf_recycle(&b, 4096);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "");
    buf_recycle(&b, 512); /* over the cap to keep: freed */
    assert_int_equal(b.cap, 0);
    assert_int_equal(buf_reserve(&b, (1 << 20) + 1), KYOKA_ELIMIT);
    buf_destroy(&b);
}

static void test_small_alloc_reuses_blocks_per_size(void **st)
{
    (void)st;
    /* Sizes on both sides of each 16-byte step and of the malloc cut-over. */
    static const size_t sizes[] = {1, 7, 8, 9, 24, 40, 100, 247, 248, 503, 504, 505, 4096};
    void *p[KYOKA_ARRAY_LEN(sizes)];
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(sizes); i++) {
        p[i] = kyoka_small_alloc(sizes[i]);
        assert_true(((uintptr_t)p[i] & 7) == 0);
        memset(p[i], (int)i + 1, sizes[i]);
    }
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(sizes); i++) {
        assert_int_equal(((unsigned char *)p[i])[sizes[i] - 1], i + 1);
        kyoka_small_free(p[i]);
    }
    /* The last block freed of a size class is the next one handed out. */
    void *a = kyoka_small_alloc(100);
    kyoka_small_free(a);
    assert_ptr_equal(kyoka_small_alloc(104), a); /* same 16-byte class (with its 8-byte header) */
    void *b = kyoka_small_alloc(100);
    assert_ptr_not_equal(b, a);
    kyoka_small_free(a);
    kyoka_small_free(b);
    kyoka_small_free(NULL);
    /* A size that would wrap with the header is refused, not shrunk. */
    assert_null(kyoka_small_alloc(SIZE_MAX - 3));
    /* Many live blocks span several chunks without overlapping. */
    enum { N = 20000 };
    uint32_t **live = malloc(N * sizeof *live);
    for (uint32_t i = 0; i < N; i++) {
        live[i] = kyoka_small_alloc(40);
        *live[i] = i;
    }
    for (uint32_t i = 0; i < N; i++) {
        assert_int_equal(*live[i], i);
        kyoka_small_free(live[i]);
    }
    free(live);
    kyoka_small_release_thread();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_limit_is_sticky),  cmocka_unit_test(test_buf_appendf_large),
        cmocka_unit_test(test_arena),                cmocka_unit_test(test_clock_advance),
        cmocka_unit_test(test_time_formats),         cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_buf_recycle_keeps_small_buffers),
        cmocka_unit_test(test_small_alloc_reuses_blocks_per_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
