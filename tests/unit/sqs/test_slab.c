/* The message slab with its real slots (this test is built with
 * SQS_SLAB_NO_BYPASS, so sanitizer builds exercise it too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "services/sqs/internal.h"

/* Two slots of one class cut in a row sit one slot size apart. */
static size_t slot_size_of(sqs_slab_t *s, size_t n)
{
    char *a = sqs__slab_alloc(s, n), *b = sqs__slab_alloc(s, n);
    memset(a, 0xa5, n);
    memset(b, 0x5a, n);
    size_t d = (size_t)(b - a);
    sqs__slab_free(s, b, n);
    sqs__slab_free(s, a, n);
    return d;
}

static void test_slot_sizes_have_four_classes_per_doubling(void **state)
{
    (void)state;
    static const size_t want[][2] = {{1, 128},      {128, 128},   {129, 160},   {160, 160},     {161, 192},
                                     {224, 224},    {225, 256},   {257, 320},   {383, 384},     {385, 448},
                                     {1000, 1024},  {1025, 1280}, {9000, 10240}, {16384, 16384}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        sqs_slab_t s = {0};
        assert_int_equal(slot_size_of(&s, want[i][0]), want[i][1]);
        sqs__slab_destroy(&s);
    }
}

static void test_freed_slots_are_reused_by_their_class_only(void **state)
{
    (void)state;
    sqs_slab_t s = {0};
    void *a = sqs__slab_alloc(&s, 300);
    sqs__slab_free(&s, a, 300);
    void *other = sqs__slab_alloc(&s, 100); /* class 128: not a's slot */
    assert_ptr_not_equal(other, a);
    void *same = sqs__slab_alloc(&s, 310); /* class 320, like a */
    assert_ptr_equal(same, a);
    sqs__slab_destroy(&s);
}

static void test_blocks_fill_and_chain(void **state)
{
    (void)state;
    sqs_slab_t s = {0};
    /* 2 MiB blocks hold 127 slots of 16 KiB (the block header takes the
     * room of the 128th): the 128th and later come from a second block,
     * and none overlaps another. */
    enum { N = 300 };
    char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = sqs__slab_alloc(&s, 16384);
        memset(p[i], i & 0xff, 16384);
    }
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 16384; k += 4096)
            assert_int_equal((unsigned char)p[i][k], i & 0xff);
    int blocks = 0;
    for (void **b = s.blocks; b; b = *b)
        blocks++;
    assert_int_equal(blocks, 3);
    void *big = sqs__slab_alloc(&s, 16385); /* past the slab: malloc */
    memset(big, 1, 16385);
    sqs__slab_free(&s, big, 16385);
    sqs__slab_destroy(&s);
}

/* With a loop, the block after the current one is made on the pool: once
 * the loop has run, the slab holds a spare, and the next block is it. */
static void test_next_block_is_faulted_in_ahead(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    sqs_slab_t s;
    sqs__slab_init(&s, &loop);
    char *first = sqs__slab_alloc(&s, 16384);
    assert_null(s.spare);
    assert_non_null(s.job);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_null(s.job);
    void *spare = s.spare;
    assert_non_null(spare);
    memset(first, 1, 16384);
    /* Fill the first block (127 slots of 16 KiB); the 128th slot opens the
     * spare, and a new spare is on its way. */
    for (int i = 1; i < 127; i++)
        sqs__slab_alloc(&s, 16384);
    assert_ptr_equal(s.spare, spare);
    char *next = sqs__slab_alloc(&s, 16384);
    assert_true(next > (char *)spare && next < (char *)spare + 64);
    assert_null(s.spare);
    assert_non_null(s.job);
    /* Destroyed with a job in flight: the job frees its own block. */
    sqs__slab_destroy(&s);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slot_sizes_have_four_classes_per_doubling),
        cmocka_unit_test(test_freed_slots_are_reused_by_their_class_only),
        cmocka_unit_test(test_blocks_fill_and_chain),
        cmocka_unit_test(test_next_block_is_faulted_in_ahead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
