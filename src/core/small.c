/*
 * A small-object allocator for short-lived trees (decoded requests and
 * encoded responses are jansson trees of hundreds of nodes per call).
 *
 * Through glibc malloc those nodes cost more than the work they carry: a
 * batch request makes ~300 allocations of 16-128 bytes, frees them all, and
 * the next allocation of 1 KiB or more makes malloc consolidate every chunk
 * in its fast bins. Here each size class (16-byte steps up to
 * KYOKA_SMALL_MAX) has a free list, refilled by a bump pointer through
 * 256 KiB chunks: allocation and free are a pointer pop and push. Larger
 * requests go to malloc.
 *
 * Each block carries an 8-byte header with its class, so kyoka_small_free
 * needs no size. State is per thread: a block freed on another thread
 * joins that thread's list, which is correct, only less tidy. Chunks are
 * kept for the thread's life; memory held is the peak of live small
 * objects, which the request size limits bound.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define SMALL_STEP 16
#define SMALL_CLASSES (KYOKA_SMALL_MAX / SMALL_STEP)
#define SMALL_CHUNK (256 * 1024)
#define SMALL_HDR 8
#define CLASS_LARGE UINT64_MAX

typedef struct small_chunk {
    struct small_chunk *next;
    uint64_t pad; /* keeps blocks 16-byte aligned */
    char data[];
} small_chunk_t;

typedef struct small_free {
    struct small_free *next;
} small_free_t;

typedef struct small_state {
    small_free_t *free[SMALL_CLASSES];
    small_chunk_t *chunks;
    char *next;
    size_t left;
} small_state_t;

static _Thread_local small_state_t T;

static size_t class_of(size_t n) { return (n + SMALL_HDR + SMALL_STEP - 1) / SMALL_STEP - 1; }

static void *carve(size_t cls)
{
    size_t sz = (cls + 1) * SMALL_STEP;
    if (T.left < sz) {
        /* The tail of the old chunk is abandoned: at most one block. */
        small_chunk_t *c = xmalloc(SMALL_CHUNK);
        c->next = T.chunks;
        T.chunks = c;
        T.next = c->data;
        T.left = SMALL_CHUNK - sizeof *c;
    }
    char *p = T.next;
    T.next += sz;
    T.left -= sz;
    return p;
}

void *kyoka_small_alloc(size_t n)
{
    uint64_t *h;
    if (n > KYOKA_SMALL_MAX - SMALL_HDR) {
        if (n > SIZE_MAX - SMALL_HDR)
            return NULL; /* jansson treats NULL as out of memory */
        h = xmalloc(n + SMALL_HDR);
        *h = CLASS_LARGE;
        return (char *)h + SMALL_HDR;
    }
    size_t cls = class_of(n);
    small_free_t *f = T.free[cls];
    if (f) {
        T.free[cls] = f->next;
        h = (uint64_t *)f;
    } else {
        h = carve(cls);
    }
    *h = cls;
    return (char *)h + SMALL_HDR;
}

void kyoka_small_free(void *p)
{
    if (!p)
        return;
    uint64_t *h = (uint64_t *)((char *)p - SMALL_HDR);
    if (*h == CLASS_LARGE) {
        free(h);
        return;
    }
    small_free_t *f = (small_free_t *)h;
    size_t cls = (size_t)*h;
    f->next = T.free[cls];
    T.free[cls] = f;
}

void kyoka_small_release_thread(void)
{
    while (T.chunks) {
        small_chunk_t *next = T.chunks->next;
        free(T.chunks);
        T.chunks = next;
    }
    memset(&T, 0, sizeof T);
}
