/*
 * Message memory: size-classed slabs.
 *
 * A queue can hold millions of messages that live for seconds to days,
 * while every request makes and frees hundreds of short-lived objects
 * (decoded input, output trees). Mixed in one malloc heap, the long-lived
 * messages fragment it and malloc ends up searching bins on every call.
 * So messages up to SQS_SLAB_MAX bytes come from their own 2 MiB blocks,
 * cut into size-classed slots by a bump pointer, with one free list per
 * class for reuse; larger messages go to malloc. Freed slots
 * are reused, never returned to the system until the state is freed.
 *
 * Blocks are aligned to 2 MiB and offered to the kernel as huge pages: a
 * queue filling at 100k messages/s otherwise takes a page fault every
 * dozen messages, and on a virtual machine faults were a tenth of the
 * server's time. Even then the kernel must clear each new block, which was
 * still a tenth of the loop's time while a queue filled; so the block after
 * the current one is allocated and touched on the thread pool ahead of
 * need, and the loop takes it ready.
 */
#include "internal.h"

#include <stdlib.h>
#include <sys/mman.h>

#include "core/banned.h"

#define SLAB_BLOCK (2 * 1024 * 1024)
#define SLAB_MIN_SHIFT 7 /* 128 bytes */

typedef struct slab_block {
    struct slab_block *next;
    _Alignas(16) char data[];
} slab_block_t;

typedef struct slab_free {
    struct slab_free *next;
} slab_free_t;

/* Four classes per doubling (128, 160, 192, 224, 256, 320, ...) waste at
 * most a fifth of a slot, where powers of two wasted up to half: a typical
 * small message (about 380 bytes with its header) takes 384, not 512. */
static size_t class_size(int c) { return (size_t)(4 + c % 4) << (SLAB_MIN_SHIFT - 2 + c / 4); }

static int class_of(size_t n)
{
    if (n <= ((size_t)1 << SLAB_MIN_SHIFT))
        return 0;
    int d = 63 - __builtin_clzll((unsigned long long)(n - 1)) - SLAB_MIN_SHIFT;
    return 4 * d + (int)((n - 1 - ((size_t)1 << (SLAB_MIN_SHIFT + d))) >> (SLAB_MIN_SHIFT - 2 + d)) + 1;
}

/* AddressSanitizer builds use malloc for every message, so use-after-free
 * of a message is caught; the slab's own unit test turns that off. */
#if defined(__SANITIZE_ADDRESS__) && !defined(SQS_SLAB_NO_BYPASS)
#define SLAB_BYPASS 1
#else
#define SLAB_BYPASS 0
#endif

struct sqs_slab_prefault {
    uv_work_t work;
    sqs_slab_t *slab; /* NULL once the slab is gone: the block is freed */
    slab_block_t *block;
};

static slab_block_t *new_block(void);

static void prefault_work(uv_work_t *w)
{
    sqs_slab_prefault_t *job = container_of(w, sqs_slab_prefault_t, work);
    job->block = new_block();
    /* One write per 4 KiB page makes the kernel map and clear it here. */
    volatile char *p = (volatile char *)job->block;
    for (size_t i = 0; i < SLAB_BLOCK; i += 4096)
        p[i] = 0;
}

static void prefault_done(uv_work_t *w, int status)
{
    (void)status;
    sqs_slab_prefault_t *job = container_of(w, sqs_slab_prefault_t, work);
    if (job->slab) {
        job->slab->spare = job->block;
        job->slab->job = NULL;
    } else {
        free(job->block);
    }
    free(job);
}

static void prefault_next(sqs_slab_t *s)
{
    if (!s->loop || s->job || s->spare)
        return;
    s->job = xcalloc(1, sizeof *s->job);
    s->job->slab = s;
    if (uv_queue_work(s->loop, &s->job->work, prefault_work, prefault_done) != 0) {
        free(s->job);
        s->job = NULL;
    }
}

void sqs__slab_init(sqs_slab_t *s, uv_loop_t *loop)
{
    *s = (sqs_slab_t){0};
    s->loop = loop;
}

static slab_block_t *new_block(void)
{
    slab_block_t *b = aligned_alloc(SLAB_BLOCK, SLAB_BLOCK);
    if (!b)
        b = xmalloc(SLAB_BLOCK);
#ifdef MADV_HUGEPAGE
    else
        (void)madvise(b, SLAB_BLOCK, MADV_HUGEPAGE); /* a hint: refusal is harmless */
#endif
    return b;
}

void *sqs__slab_alloc(sqs_slab_t *s, size_t n)
{
    if (SLAB_BYPASS || n > SQS_SLAB_MAX)
        return xmalloc(n);
    int c = class_of(n);
    slab_free_t **head = (slab_free_t **)&s->free[c];
    if (*head) {
        slab_free_t *f = *head;
        *head = f->next;
        return f;
    }
    /* Slots of every class are cut from one block at a time; the tail too
     * short for this slot is left unused (under 16 KiB of 2 MiB). */
    size_t sz = class_size(c);
    if (s->left < sz) {
        slab_block_t *b = s->spare ? s->spare : new_block();
        s->spare = NULL;
        prefault_next(s);
        b->next = s->blocks;
        s->blocks = b;
        s->next = b->data;
        s->left = SLAB_BLOCK - sizeof(slab_block_t);
    }
    void *p = s->next;
    s->next += sz;
    s->left -= sz;
    return p;
}

void sqs__slab_free(sqs_slab_t *s, void *p, size_t n)
{
    if (!p)
        return;
    if (SLAB_BYPASS || n > SQS_SLAB_MAX) {
        free(p);
        return;
    }
    slab_free_t **head = (slab_free_t **)&s->free[class_of(n)];
    slab_free_t *f = p;
    f->next = *head;
    *head = f;
}

void sqs__slab_destroy(sqs_slab_t *s)
{
    slab_block_t *b = s->blocks;
    while (b) {
        slab_block_t *next = b->next;
        free(b);
        b = next;
    }
    free(s->spare);
    if (s->job)
        s->job->slab = NULL; /* its completion frees the block */
    uv_loop_t *loop = s->loop;
    *s = (sqs_slab_t){0};
    s->loop = loop;
}
