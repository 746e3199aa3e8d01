/*
 * A small chained hash map of intrusive nodes keyed by strings (queue
 * names, message groups, deduplication ids). The node lives inside its
 * owner, so insert and delete never allocate except to grow the bucket
 * array (load factor 1, doubling).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* FNV-1a, 64-bit: short keys, no adversary worth a keyed hash here. */
uint64_t sqs__hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

sqs_snode_t *sqs__smap_get(const sqs_smap_t *m, const char *key, size_t klen)
{
    if (!m->nb)
        return NULL;
    uint64_t h = sqs__hash(key, klen);
    for (sqs_snode_t *n = m->b[h & (m->nb - 1)]; n; n = n->next)
        if (n->hash == h && n->klen == klen && memcmp(n->key, key, klen) == 0)
            return n;
    return NULL;
}

static void grow(sqs_smap_t *m)
{
    size_t nb = m->nb ? m->nb * 2 : 16;
    sqs_snode_t **b = xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < m->nb; i++) {
        sqs_snode_t *n = m->b[i];
        while (n) {
            sqs_snode_t *next = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

void sqs__smap_put(sqs_smap_t *m, sqs_snode_t *node)
{
    if (m->n + 1 > m->nb)
        grow(m);
    node->hash = sqs__hash(node->key, node->klen);
    sqs_snode_t **slot = &m->b[node->hash & (m->nb - 1)];
    node->next = *slot;
    *slot = node;
    m->n++;
}

void sqs__smap_del(sqs_smap_t *m, sqs_snode_t *node)
{
    if (!m->nb)
        return;
    for (sqs_snode_t **p = &m->b[node->hash & (m->nb - 1)]; *p; p = &(*p)->next) {
        if (*p == node) {
            *p = node->next;
            node->next = NULL;
            m->n--;
            return;
        }
    }
}

void sqs__smap_free(sqs_smap_t *m)
{
    free(m->b);
    *m = (sqs_smap_t){0};
}

sqs_snode_t *sqs__smap_next(const sqs_smap_t *m, size_t *bucket, sqs_snode_t *prev)
{
    if (prev && prev->next)
        return prev->next;
    size_t i = prev ? *bucket + 1 : *bucket;
    for (; i < m->nb; i++) {
        if (m->b[i]) {
            *bucket = i;
            return m->b[i];
        }
    }
    *bucket = m->nb;
    return NULL;
}
