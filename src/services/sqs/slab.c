/*
 * Message memory: size-classed slabs.
 *
 * A queue can hold millions of messages that live for seconds to days,
 * while every request makes and frees hundreds of short-lived objects
 * (decoded input, output trees). Mixed in one malloc heap, the long-lived
 * messages fragment it and malloc ends up searching bins on every call.
 * So messages up to SQS_SLAB_MAX bytes come from their own 1 MiB blocks
 * (big enough that malloc maps them directly), cut into power-of-two slots
 * by a bump pointer per size class, with one free list per class for
 * reuse; larger messages go to malloc. Freed slots are reused, never
 * returned to the system until the state is freed.
 */
#include "internal.h"

#include <stdlib.h>

#include "core/banned.h"

#define SLAB_BLOCK (1024 * 1024)
#define SLAB_MIN_SHIFT 7 /* 128 bytes */

typedef struct slab_block {
    struct slab_block *next;
    _Alignas(16) char data[];
} slab_block_t;

typedef struct slab_free {
    struct slab_free *next;
} slab_free_t;

static int class_of(size_t n)
{
    int c = 0;
    size_t sz = (size_t)1 << SLAB_MIN_SHIFT;
    while (sz < n) {
        sz <<= 1;
        c++;
    }
    return c;
}

/* AddressSanitizer builds use malloc for every message, so use-after-free
 * of a message is caught. */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_BYPASS 1
#else
#define SLAB_BYPASS 0
#endif

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
    size_t sz = (size_t)1 << (SLAB_MIN_SHIFT + c);
    if (s->left[c] < sz) {
        slab_block_t *b = xmalloc(SLAB_BLOCK);
        b->next = s->blocks;
        s->blocks = b;
        s->next[c] = b->data;
        s->left[c] = SLAB_BLOCK - sizeof(slab_block_t);
    }
    void *p = s->next[c];
    s->next[c] = (char *)s->next[c] + sz;
    s->left[c] -= sz;
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
    *s = (sqs_slab_t){0};
}
