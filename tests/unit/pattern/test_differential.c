/* Randomized differential test: a set holding many generated patterns must
 * report, for every generated event, exactly the patterns that a plain
 * evaluation of each pattern alone accepts. The plain evaluation shares
 * only the parser and the per-value operator code with the set; it tries
 * every combination of the event's leaves by backtracking, which is what
 * the set's trie, hash lookups, state merging and array bookkeeping must
 * reproduce. The seed is fixed so failures replay; KYOKA_PATTERN_SEED
 * overrides it. */
#include "pattern/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void test_differential(void **state);
void test_differential_arrays(void **state);

static uint64_t rng;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}
#define PICK(a) ((a)[rnd(KYOKA_ARRAY_LEN(a))])

static const char *const STRS[] = {"foo", "bar", "Foo", "foobar", "barfoo", "", "FOO", "10.0.0.7",
                                   "10.1.0.1", "2001:db8::5", "a*b", "fo"};
static const char *const NUMS[] = {"0", "1", "5", "5.0", "5.5", "-3", "100", "1e2"};
static const char *const AFFIX[] = {"fo", "foo", "ba", "bar", "oo", "F", "", "b"};
static const char *const WILD[] = {"f*o", "*bar", "*", "foo*", "*o*", "b*r*o", "a\\\\*b"};
static const char *const CIDRS[] = {"10.0.0.0/24", "10.0.0.0/8", "2001:db8::/32", "0.0.0.0/0"};

/* ---- the plain evaluation ---- */

typedef struct {
    const char *paths[64];
    size_t n;
} ref_paths_t;

static int64_t ref_lookup(void *ud, const char *p, size_t n, bool *below)
{
    ref_paths_t *t = ud;
    int64_t id = -1;
    *below = false;
    for (size_t i = 0; i < t->n; i++) {
        size_t l = strlen(t->paths[i]);
        if (l == n && memcmp(t->paths[i], p, n) == 0)
            id = (int64_t)i;
        else if (l > n && memcmp(t->paths[i], p, n) == 0 && t->paths[i][n] == '.')
            *below = true;
    }
    return id;
}

static bool ref_alt(const pevent_t *ev, const ref_paths_t *t, const palt_t *alt, size_t k, const pleaf_t **chosen,
                    size_t nchosen)
{
    if (k == alt->nfields)
        return true;
    const pfield_t *f = alt->fields[k];
    size_t pid = 0;
    while (strcmp(t->paths[pid], f->path) != 0)
        pid++;
    bool any = false;
    for (size_t i = 0; i < ev->nleaves; i++) {
        const pleaf_t *l = &ev->leaves[i];
        if (l->path != pid)
            continue;
        any = true;
        bool ok = false;
        for (size_t c = 0; c < f->nconds && !ok; c++)
            ok = pattern__cond_match(&f->conds[c], l);
        for (size_t c = 0; c < nchosen && ok; c++)
            ok = pattern__leaves_compatible(ev, chosen[c], l);
        if (!ok)
            continue;
        chosen[nchosen] = l;
        if (ref_alt(ev, t, alt, k + 1, chosen, nchosen + 1))
            return true;
    }
    if (!any)
        for (size_t c = 0; c < f->nconds; c++)
            if (f->conds[c].kind == PC_NOT_EXISTS)
                return ref_alt(ev, t, alt, k + 1, chosen, nchosen);
    return false;
}

static bool ref_match(const char *pattern, const json_t *event)
{
    pcompiled_t c;
    char err[256];
    if (pattern__compile(pattern, strlen(pattern), &c, err, sizeof err) != 0)
        fail_msg("generated pattern rejected: %s: %s", pattern, err);
    ref_paths_t t = {.n = 0};
    for (size_t i = 0; i < c.npool; i++) {
        bool dup = false;
        for (size_t j = 0; j < t.n; j++)
            dup |= strcmp(t.paths[j], c.pool[i]->path) == 0;
        if (!dup)
            t.paths[t.n++] = c.pool[i]->path;
    }
    pevent_t ev;
    pattern__event_init(&ev);
    pattern__event_flatten(&ev, event, ref_lookup, &t);
    bool m = false;
    const pleaf_t *chosen[64];
    for (size_t a = 0; a < c.nalts && !m; a++)
        m = ref_alt(&ev, &t, &c.alts[a], 0, chosen, 0);
    pattern__event_destroy(&ev);
    pattern__compiled_destroy(&c);
    return m;
}

/* ---- generators ---- */

static void gen_match(buf_t *b)
{
    switch (rnd(16)) {
    case 0:
    case 1:
        buf_appendf(b, "\"%s\"", PICK(STRS));
        break;
    case 2:
        buf_appendf(b, "%s", PICK(NUMS));
        break;
    case 3:
        buf_appendf(b, "%s", rnd(3) == 0 ? "true" : rnd(2) ? "false" : "null");
        break;
    case 4:
        buf_appendf(b, "{\"prefix\":\"%s\"}", PICK(AFFIX));
        break;
    case 5:
        buf_appendf(b, "{\"suffix\":\"%s\"}", PICK(AFFIX));
        break;
    case 6:
        buf_appendf(b, "{\"%s\":{\"equals-ignore-case\":\"%s\"}}", rnd(2) ? "prefix" : "suffix", PICK(AFFIX));
        break;
    case 7:
        buf_appendf(b, "{\"equals-ignore-case\":\"%s\"}", PICK(STRS));
        break;
    case 8:
        buf_appendf(b, "{\"wildcard\":\"%s\"}", PICK(WILD));
        break;
    case 9:
        buf_appendf(b, "{\"cidr\":\"%s\"}", PICK(CIDRS));
        break;
    case 10:
        buf_appendf(b, "{\"exists\":%s}", rnd(2) ? "true" : "false");
        break;
    case 11: {
        int lo = (int)rnd(10) - 3;
        if (rnd(2))
            buf_appendf(b, "{\"numeric\":[\"%s\",%d]}", rnd(2) ? ">" : rnd(2) ? "<=" : "=", lo);
        else
            buf_appendf(b, "{\"numeric\":[\"%s\",%d,\"%s\",%d]}", rnd(2) ? ">" : ">=", lo, rnd(2) ? "<" : "<=",
                        lo + 1 + (int)rnd(100));
        break;
    }
    default:
        switch (rnd(6)) {
        case 0:
            buf_appendf(b, "{\"anything-but\":\"%s\"}", PICK(STRS));
            break;
        case 1:
            buf_appendf(b, "{\"anything-but\":[%s,%s]}", PICK(NUMS), PICK(NUMS));
            break;
        case 2:
            buf_appendf(b, "{\"anything-but\":[\"%s\",\"%s\"]}", PICK(STRS), PICK(STRS));
            break;
        case 3:
            buf_appendf(b, "{\"anything-but\":{\"%s\":\"%s\"}}", rnd(2) ? "prefix" : "suffix", PICK(AFFIX) + 0);
            if (b->data[b->len - 3] == '"' && b->data[b->len - 4] == '"') {
                /* "prefix":"" is rejected: use a non-empty one. */
                b->len -= 4;
                b->data[b->len] = '\0';
                buf_appends(b, "\"o\"}}");
            }
            break;
        case 4:
            buf_appendf(b, "{\"anything-but\":{\"equals-ignore-case\":\"%s\"}}", PICK(STRS));
            break;
        default:
            buf_appendf(b, "{\"anything-but\":{\"wildcard\":\"%s\"}}", PICK(WILD));
            break;
        }
    }
}

static void gen_field_value(buf_t *b)
{
    buf_appendc(b, '[');
    int n = 1 + (int)rnd(3);
    for (int i = 0; i < n; i++) {
        if (i)
            buf_appendc(b, ',');
        gen_match(b);
    }
    buf_appendc(b, ']');
}

/* A field at one of the generated paths, written nested or dotted. */
static void gen_fields(buf_t *b, bool arrays, int depth)
{
    static const char *const flat[] = {"a", "b", "c", "d.x", "d.y"};
    static const char *const arr[] = {"list.x", "list.y", "list.sub.z", "c"};
    int n = 1 + (int)rnd(3);
    for (int i = 0; i < n; i++) {
        if (i)
            buf_appendc(b, ',');
        if (depth < 2 && rnd(7) == 0) {
            buf_appends(b, "\"$or\":[");
            int m = 2 + (int)rnd(2);
            for (int j = 0; j < m; j++) {
                buf_appends(b, j ? ",{" : "{");
                gen_fields(b, arrays, depth + 1);
                buf_appendc(b, '}');
            }
            buf_appendc(b, ']');
            continue;
        }
        const char *path = arrays ? PICK(arr) : PICK(flat);
        const char *dot = strchr(path, '.');
        if (dot && rnd(2)) {
            /* {"d":{"x":[...]}} rather than {"d.x":[...]} */
            buf_appendf(b, "\"%.*s\":{\"%s\":", (int)(dot - path), path, dot + 1);
            gen_field_value(b);
            buf_appendc(b, '}');
        } else {
            buf_appendf(b, "\"%s\":", path);
            gen_field_value(b);
        }
    }
}

static char *gen_pattern(bool arrays)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    buf_appendc(&b, '{');
    gen_fields(&b, arrays, 0);
    buf_appendc(&b, '}');
    return buf_detach(&b, NULL);
}

static void gen_scalar(buf_t *b)
{
    switch (rnd(4)) {
    case 0:
    case 1:
        buf_appendf(b, "\"%s\"", PICK(STRS));
        break;
    case 2:
        buf_appendf(b, "%s", PICK(NUMS));
        break;
    default:
        buf_appendf(b, "%s", rnd(3) == 0 ? "true" : rnd(2) ? "false" : "null");
        break;
    }
}

static void gen_value(buf_t *b)
{
    if (rnd(4) == 0) {
        int n = (int)rnd(3);
        buf_appendc(b, '[');
        for (int i = 0; i < n; i++) {
            if (i)
                buf_appendc(b, ',');
            gen_scalar(b);
        }
        buf_appendc(b, ']');
    } else {
        gen_scalar(b);
    }
}

static json_t *gen_event(void)
{
    buf_t b;
    buf_init(&b, 1 << 20);
    buf_appendc(&b, '{');
    bool first = true;
    static const char *const keys[] = {"a", "b", "c"};
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(keys); i++) {
        if (rnd(3) == 0)
            continue;
        buf_appendf(&b, "%s\"%s\":", first ? "" : ",", keys[i]);
        gen_value(&b);
        first = false;
    }
    if (rnd(3)) {
        buf_appendf(&b, "%s\"d\":{", first ? "" : ",");
        first = false;
        bool f2 = true;
        if (rnd(2)) {
            buf_appends(&b, "\"x\":");
            gen_value(&b);
            f2 = false;
        }
        if (rnd(2)) {
            buf_appends(&b, f2 ? "\"y\":" : ",\"y\":");
            gen_value(&b);
        }
        buf_appendc(&b, '}');
    }
    if (rnd(2)) {
        buf_appendf(&b, "%s\"list\":[", first ? "" : ",");
        first = false;
        int n = (int)rnd(4);
        for (int i = 0; i < n; i++) {
            buf_appends(&b, i ? ",{" : "{");
            bool f2 = true;
            if (rnd(3)) {
                buf_appends(&b, "\"x\":");
                gen_value(&b);
                f2 = false;
            }
            if (rnd(3)) {
                buf_appends(&b, f2 ? "\"y\":" : ",\"y\":");
                gen_value(&b);
                f2 = false;
            }
            if (rnd(3) == 0) {
                buf_appends(&b, f2 ? "\"sub\":[" : ",\"sub\":[");
                int m = (int)rnd(3);
                for (int j = 0; j < m; j++) {
                    buf_appends(&b, j ? ",{\"z\":" : "{\"z\":");
                    gen_value(&b);
                    buf_appendc(&b, '}');
                }
                buf_appendc(&b, ']');
            }
            buf_appendc(&b, '}');
        }
        buf_appendc(&b, ']');
    }
    buf_appendc(&b, '}');
    json_error_t err;
    json_t *ev = json_loads(b.data, 0, &err);
    if (!ev)
        fail_msg("generated event is not JSON: %s: %s", b.data, err.text);
    buf_destroy(&b);
    return ev;
}

/* ---- the comparison ---- */

static void run(bool arrays, int npatterns, int nevents)
{
    const char *seed = getenv("KYOKA_PATTERN_SEED");
    rng = seed ? strtoull(seed, NULL, 10) : (arrays ? 0x9e3779b97f4a7c15ULL : 88172645463325252ULL);
    char **pats = calloc((size_t)npatterns, sizeof *pats);
    bool *live = calloc((size_t)npatterns, sizeof *live);
    bool *want = calloc((size_t)npatterns, sizeof *want);
    uint32_t *ids = calloc((size_t)npatterns, sizeof *ids);
    pattern_set_t *set = pattern_set_new();
    size_t total = 0, events_hit = 0;
    for (int i = 0; i < npatterns; i++) {
        pats[i] = gen_pattern(arrays);
        char err[256];
        if (pattern_set_add(set, pats[i], strlen(pats[i]), (uint32_t)i, err, sizeof err) != 0)
            fail_msg("generated pattern rejected: %s: %s", pats[i], err);
        live[i] = true;
    }
    for (int round = 0; round < 2; round++) {
        for (int e = 0; e < nevents; e++) {
            json_t *ev = gen_event();
            size_t nwant = 0;
            for (int i = 0; i < npatterns; i++) {
                want[i] = live[i] && ref_match(pats[i], ev);
                nwant += want[i];
            }
            size_t n = pattern_set_match(set, ev, ids, (size_t)npatterns);
            total += nwant;
            events_hit += nwant > 0;
            for (size_t k = 0; k < n && k < (size_t)npatterns; k++) {
                if (!want[ids[k]]) {
                    char *text = json_dumps(ev, JSON_COMPACT);
                    fail_msg("set matched pattern %s on event %s; the plain evaluation does not", pats[ids[k]], text);
                }
            }
            if (n != nwant) {
                for (int i = 0; i < npatterns; i++) {
                    bool got = false;
                    for (size_t k = 0; k < n; k++)
                        got |= ids[k] == (uint32_t)i;
                    if (want[i] && !got) {
                        char *text = json_dumps(ev, JSON_COMPACT);
                        fail_msg("set missed pattern %s on event %s", pats[i], text);
                    }
                }
                fail_msg("set reported %zu patterns, expected %zu", n, nwant);
            }
            json_decref(ev);
        }
        /* Remove a third of the patterns and compare again (the trie is rebuilt). */
        for (int i = 0; i < npatterns; i++) {
            if (live[i] && rnd(3) == 0) {
                assert_int_equal(pattern_set_remove(set, (uint32_t)i), 0);
                live[i] = false;
            }
        }
    }
    /* The generators must make matches common, or the comparison proves little. */
    print_message("%zu matches over %d events (%zu events matched something)\n", total, 2 * nevents, events_hit);
    assert_true(total > (size_t)nevents);
    assert_true(events_hit > (size_t)nevents / 2);
    pattern_set_free(set);
    for (int i = 0; i < npatterns; i++)
        free(pats[i]);
    free(pats);
    free(live);
    free(want);
    free(ids);
}

void test_differential(void **state)
{
    (void)state;
    run(false, 300, 250);
}

void test_differential_arrays(void **state)
{
    (void)state;
    run(true, 300, 250);
}
