/*
 * HTTP API route selection: which route key a request's method and path
 * select. Keys are parsed on every call (an API has few routes and the
 * keys are short), so nothing is cached that a route change could stale.
 *
 * Specificity is compared as a tuple: per segment, literal (3) over
 * variable (2) over greedy (1), earlier segments first; a longer literal
 * path beats a shorter one; then method (a named one over ANY).
 */
#include "apigw.h"

#include <string.h>

#include "core/banned.h"

enum { SEG_GREEDY = 1, SEG_VAR = 2, SEG_LIT = 3 };
#define MAX_SEGS 64

typedef struct score {
    int seg[MAX_SEGS];
    size_t nseg;
    int method; /* 2: a named method, 1: ANY, 0: $default */
} score_t;

/* The segments of a path after its leading '/': "/" has none, "/a/" has
 * "a" and "". Returns false past MAX_SEGS. */
static bool split(strv_t p, strv_t *segs, size_t *n)
{
    *n = 0;
    if (p.len <= 1)
        return true;
    const char *s = p.p + 1, *end = p.p + p.len;
    while (true) {
        if (*n >= MAX_SEGS)
            return false;
        const char *slash = memchr(s, '/', (size_t)(end - s));
        const char *e = slash ? slash : end;
        segs[(*n)++] = (strv_t){s, (size_t)(e - s)};
        if (!slash)
            return true;
        s = slash + 1;
    }
}

/* Match the key's path against path, filling params and score. */
static bool match_path(strv_t kpath, strv_t path, apigw_route_match_t *m, score_t *sc)
{
    strv_t ks[MAX_SEGS], ps[MAX_SEGS];
    size_t nk, np;
    if (kpath.len == 0 || kpath.p[0] != '/' || path.len == 0 || path.p[0] != '/')
        return false;
    if (!split(kpath, ks, &nk) || !split(path, ps, &np))
        return false;
    m->nparams = 0;
    sc->nseg = 0;
    for (size_t i = 0; i < nk; i++) {
        strv_t k = ks[i];
        bool is_var = k.len >= 3 && k.p[0] == '{' && k.p[k.len - 1] == '}';
        bool greedy = is_var && k.len >= 4 && k.p[k.len - 2] == '+';
        if (greedy) {
            /* A greedy variable takes the rest of the path (slashes
             * included), which must not be empty. */
            if (i + 1 != nk || i >= np)
                return false;
            strv_t rest = {ps[i].p, (size_t)(path.p + path.len - ps[i].p)};
            if (rest.len == 0)
                return false;
            if (m->nparams < APIGW_ROUTE_MAX_PARAMS)
                m->params[m->nparams++] = (apigw_path_param_t){{k.p + 1, k.len - 3}, rest};
            sc->seg[sc->nseg++] = SEG_GREEDY;
            return true;
        }
        if (i >= np)
            return false;
        if (is_var) {
            if (ps[i].len == 0)
                return false;
            if (m->nparams < APIGW_ROUTE_MAX_PARAMS)
                m->params[m->nparams++] = (apigw_path_param_t){{k.p + 1, k.len - 2}, ps[i]};
            sc->seg[sc->nseg++] = SEG_VAR;
        } else {
            if (!strv_eq(k, ps[i]))
                return false;
            sc->seg[sc->nseg++] = SEG_LIT;
        }
    }
    return nk == np;
}

static bool key_match(strv_t key, strv_t method, strv_t path, apigw_route_match_t *m, score_t *sc)
{
    if (strv_eq_cstr(key, "$default")) {
        m->nparams = 0;
        sc->nseg = 0;
        sc->method = 0;
        return true;
    }
    const char *sp = memchr(key.p, ' ', key.len);
    if (!sp)
        return false;
    strv_t km = {key.p, (size_t)(sp - key.p)};
    strv_t kp = {sp + 1, key.len - km.len - 1};
    if (strv_eq_cstr(km, "ANY"))
        sc->method = 1;
    else if (strv_eq(km, method))
        sc->method = 2;
    else
        return false;
    return match_path(kp, path, m, sc);
}

/* Whether a is more specific than b. */
static bool better(const score_t *a, const score_t *b)
{
    if ((a->method == 0) != (b->method == 0))
        return b->method == 0;
    size_t n = a->nseg < b->nseg ? a->nseg : b->nseg;
    for (size_t i = 0; i < n; i++)
        if (a->seg[i] != b->seg[i])
            return a->seg[i] > b->seg[i];
    if (a->nseg != b->nseg) {
        /* The same prefix: a longer non-greedy route matched more of the
         * path literally; a greedy one is the least specific. */
        const score_t *longer = a->nseg > b->nseg ? a : b;
        bool longer_wins = longer->seg[longer->nseg - 1] != SEG_GREEDY;
        return (longer == a) == longer_wins;
    }
    return a->method > b->method;
}

bool apigw_route_select(const strv_t *keys, size_t n, strv_t method, strv_t path, apigw_route_match_t *out)
{
    bool found = false;
    score_t best = {0};
    for (size_t i = 0; i < n; i++) {
        apigw_route_match_t m = {0};
        score_t sc = {0};
        if (!keys[i].p || !key_match(keys[i], method, path, &m, &sc))
            continue;
        if (!found || better(&sc, &best)) {
            m.index = i;
            *out = m;
            best = sc;
            found = true;
        }
    }
    return found;
}
