/* Per-request arena. The first 2 KiB live inside the arena struct itself
 * (which is embedded in the request), so small requests never touch malloc
 * for their scratch data; larger needs chain heap blocks. Cleanups let a
 * request own descriptors or temp files that must go when it ends. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_block {
    arena_block_t *next;
    size_t used, cap;
    _Alignas(16) char data[];
};

struct arena_cleanup {
    arena_cleanup_t *next;
    void (*fn)(void *);
    void *data;
};

#define ARENA_ALIGN(n) (((n) + 15) & ~(size_t)15)
#define ARENA_BLOCK 8192

void arena_init(arena_t *a)
{
    a->_head = NULL;
    a->_cleanups = NULL;
    a->_first_used = 0;
}

void arena_destroy(arena_t *a)
{
    if (!a)
        return;
    while (a->_cleanups) {
        arena_cleanup_t *c = a->_cleanups;
        a->_cleanups = c->next;
        c->fn(c->data);
    }
    while (a->_head) {
        arena_block_t *b = a->_head;
        a->_head = b->next;
        free(b);
    }
    a->_first_used = 0;
}

void *arena_alloc(arena_t *a, size_t n)
{
    n = ARENA_ALIGN(n ? n : 1);
    size_t off = ARENA_ALIGN((size_t)(uintptr_t)a->_first) - (size_t)(uintptr_t)a->_first;
    if (a->_first_used + off + n <= sizeof a->_first) {
        void *p = a->_first + off + a->_first_used;
        a->_first_used += n;
        return p;
    }
    arena_block_t *b = a->_head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK / 2 ? n : ARENA_BLOCK;
        b = xmalloc(sizeof *b + cap);
        b->used = 0;
        b->cap = cap;
        /* Large one-off allocations go behind the current block so the
         * current block keeps serving small requests. */
        if (a->_head && n > ARENA_BLOCK / 2) {
            b->next = a->_head->next;
            a->_head->next = b;
        } else {
            b->next = a->_head;
            a->_head = b;
        }
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

void *arena_calloc(arena_t *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(arena_t *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(arena_t *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_sprintf(arena_t *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, (size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(p, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

void arena_on_destroy(arena_t *a, void (*fn)(void *), void *data)
{
    arena_cleanup_t *c = arena_alloc(a, sizeof *c);
    c->fn = fn;
    c->data = data;
    c->next = a->_cleanups;
    a->_cleanups = c;
}
