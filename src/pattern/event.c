/*
 * An event flattened into leaf values, each with its path ("detail.state")
 * and its place in the event's arrays. Only paths some pattern names are
 * kept, and the walk does not descend below keys no pattern path goes
 * through, so a large event costs what its matched fields cost.
 *
 * Array places: every object or array that is an element of an array
 * pushes (array number, element index) for the leaves below it. Two leaves
 * may be used by one match only if they agree on the index of every array
 * they share (pattern__leaves_compatible): AWS matches
 * {"employees":{"first":["Anna"],"last":["Jones"]}} only when one employee
 * has both (event-ruler README, "JSON Array Matching"). Scalars that are
 * elements of an array push nothing: they are alternatives of one field.
 */
#include "pattern/internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* Paths longer than any pattern can name (PATTERN_MAX_BYTES) match nothing. */
#define EVENT_MAX_PATH (PATTERN_MAX_BYTES + 1)

typedef struct {
    pevent_t *e;
    ppath_lookup_fn lookup;
    void *ud;
    pctx_t stack[64]; /* array places of the current position */
    uint32_t depth;   /* entries in stack (deeper ones are not tracked) */
    uint32_t arrays;  /* arrays numbered so far */
    int64_t ctx_off;  /* copy of the stack in e->ctx, -1 when stale */
} walk_t;

void pattern__event_init(pevent_t *e)
{
    memset(e, 0, sizeof *e);
}

void pattern__event_destroy(pevent_t *e)
{
    free(e->leaves);
    free(e->ctx);
    free(e->pathbuf);
    memset(e, 0, sizeof *e);
}

static void emit(walk_t *w, const json_t *v, uint32_t path)
{
    pevent_t *e = w->e;
    pleaf_t l = {.path = path, .next = UINT32_MAX};
    switch (json_typeof(v)) {
    case JSON_STRING:
        l.type = PV_STR;
        l.s = json_string_value(v);
        l.len = json_string_length(v);
        break;
    case JSON_INTEGER:
        l.type = PV_NUM;
        l.num = pattern__num_canon((double)json_integer_value(v));
        break;
    case JSON_REAL:
        l.type = PV_NUM;
        l.num = pattern__num_canon(json_real_value(v));
        break;
    case JSON_TRUE:
        l.type = PV_TRUE;
        break;
    case JSON_FALSE:
        l.type = PV_FALSE;
        break;
    case JSON_NULL:
        l.type = PV_NULL;
        break;
    default:
        return;
    }
    if (w->depth) {
        if (w->ctx_off < 0) {
            if (e->nctx + w->depth > e->capctx) {
                e->capctx = (e->nctx + w->depth) * 2;
                e->ctx = xrealloc(e->ctx, e->capctx * sizeof *e->ctx);
            }
            memcpy(e->ctx + e->nctx, w->stack, w->depth * sizeof *w->stack);
            w->ctx_off = (int64_t)e->nctx;
            e->nctx += w->depth;
        }
        l.ctx = (uint32_t)w->ctx_off;
        l.nctx = w->depth;
    }
    if (e->nleaves == e->capleaves) {
        e->capleaves = e->capleaves ? e->capleaves * 2 : 32;
        e->leaves = xrealloc(e->leaves, e->capleaves * sizeof *e->leaves);
    }
    e->leaves[e->nleaves++] = l;
}

static void walk_value(walk_t *w, const json_t *v, size_t plen, int64_t id, bool prefix);

static void walk_object(walk_t *w, const json_t *obj, size_t plen)
{
    pevent_t *e = w->e;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        size_t klen = strlen(key);
        size_t n = plen + (plen ? 1 : 0) + klen;
        if (n > EVENT_MAX_PATH)
            continue;
        if (n + 1 > e->pathcap) {
            e->pathcap = n + 64;
            e->pathbuf = xrealloc(e->pathbuf, e->pathcap);
        }
        if (plen)
            e->pathbuf[plen] = '.';
        memcpy(e->pathbuf + n - klen, key, klen);
        e->pathbuf[n] = '\0';
        bool below = false;
        int64_t id = w->lookup(w->ud, e->pathbuf, n, &below);
        if (id >= 0 || below)
            walk_value(w, val, n, id, below);
    }
}

static void walk_value(walk_t *w, const json_t *v, size_t plen, int64_t id, bool prefix)
{
    if (json_is_object(v)) {
        if (prefix)
            walk_object(w, v, plen);
        return;
    }
    if (!json_is_array(v)) {
        if (id >= 0)
            emit(w, v, (uint32_t)id);
        return;
    }
    uint32_t array = w->arrays++;
    size_t i;
    json_t *el;
    json_array_foreach(v, i, el) {
        if (!json_is_object(el) && !json_is_array(el)) {
            if (id >= 0)
                emit(w, el, (uint32_t)id);
            continue;
        }
        bool tracked = w->depth < KYOKA_ARRAY_LEN(w->stack);
        if (tracked) {
            w->stack[w->depth++] = (pctx_t){array, (uint32_t)i};
            w->ctx_off = -1;
        }
        w->e->constrained = true;
        walk_value(w, el, plen, id, prefix);
        if (tracked) {
            w->depth--;
            w->ctx_off = -1;
        }
    }
}

void pattern__event_flatten(pevent_t *e, const json_t *ev, ppath_lookup_fn lookup, void *ud)
{
    e->nleaves = 0;
    e->nctx = 0;
    e->constrained = false;
    if (!json_is_object(ev))
        return;
    walk_t w = {.e = e, .lookup = lookup, .ud = ud, .ctx_off = -1};
    walk_object(&w, ev, 0);
}

bool pattern__leaves_compatible(const pevent_t *e, const pleaf_t *a, const pleaf_t *b)
{
    uint32_t n = a->nctx < b->nctx ? a->nctx : b->nctx;
    const pctx_t *x = e->ctx + a->ctx, *y = e->ctx + b->ctx;
    for (uint32_t i = 0; i < n; i++) {
        if (x[i].array != y[i].array)
            return true; /* different arrays below a shared element: no conflict */
        if (x[i].index != y[i].index)
            return false;
    }
    return true;
}
