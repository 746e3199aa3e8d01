/*
 * Pattern text -> alternatives, with the checks EventBridge makes and the
 * reasons it gives ("Event pattern is not valid. Reason: <reason>").
 *
 * The walk keeps the alternatives built so far; a plain field is appended
 * to each of them, and a $or replaces them with one copy per branch (so
 * {"a":[1], "$or":[{"b":[2]},{"c":[3]}]} becomes (a,b) and (a,c)).
 * Keys join with '.', so {"a":{"b":[1]}} and {"a.b":[1]} are one path, as
 * on AWS. A key given twice keeps its last value (jansson's rule and AWS's).
 *
 * The reasons are AWS's texts as they show in PutRule/TestEventPattern
 * errors (LocalStack's AWS-validated snapshots record the same set); AWS's
 * JSON parser adds a source location (" at [Source: ...; line: 5,
 * column: 16]") that kyoka does not.
 */
#include "pattern/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

typedef struct {
    pfield_t **f;
    size_t n, cap;
} alt_build_t;

typedef struct {
    alt_build_t *a;
    size_t n, cap;
} alts_t;

typedef struct {
    pcompiled_t *out;
    char *err;
    size_t errcap;
    int rc;
} pctx_parse_t;

static int fail(pctx_parse_t *p, int rc, const char *fmt, ...) KYOKA_PRINTF(3, 4);
static int fail(pctx_parse_t *p, int rc, const char *fmt, ...)
{
    if (p->rc == 0) {
        p->rc = rc;
        if (p->err && p->errcap) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(p->err, p->errcap, fmt, ap);
            va_end(ap);
        }
    }
    return p->rc;
}

/* ---- alternatives under construction ---- */

static void alt_push(alt_build_t *a, pfield_t *f)
{
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 4;
        a->f = xrealloc(a->f, a->cap * sizeof *a->f);
    }
    a->f[a->n++] = f;
}

static void alts_push(alts_t *s, alt_build_t a)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->a = xrealloc(s->a, s->cap * sizeof *s->a);
    }
    s->a[s->n++] = a;
}

static alt_build_t alt_copy(const alt_build_t *a)
{
    alt_build_t c = {NULL, a->n, a->n};
    if (a->n) {
        c.f = xmalloc(a->n * sizeof *c.f);
        memcpy(c.f, a->f, a->n * sizeof *c.f);
    }
    return c;
}

static void alts_destroy(alts_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->a[i].f);
    free(s->a);
    s->a = NULL;
    s->n = s->cap = 0;
}

/* ---- conditions ---- */

typedef struct {
    pcond_t *c;
    size_t n, cap;
} conds_t;

static pcond_t *cond_push(conds_t *v, pcond_kind_t kind)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4;
        v->c = xrealloc(v->c, v->cap * sizeof *v->c);
    }
    pcond_t *c = &v->c[v->n++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    return c;
}

static void conds_destroy(conds_t *v)
{
    for (size_t i = 0; i < v->n; i++)
        pattern__cond_destroy(&v->c[i]);
    free(v->c);
    v->c = NULL;
    v->n = v->cap = 0;
}

static void cond_set_str(pcond_t *c, const char *s, size_t n, bool lower)
{
    c->s = xmalloc(n + 1);
    if (lower)
        pattern__lower(s, n, c->s);
    else
        memcpy(c->s, s, n);
    c->s[n] = '\0';
    c->len = n;
}

static double num_of(const json_t *v)
{
    return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
}

/* A JSON value as AWS quotes it in a reason: strings bare, numbers and
 * literals as written, anything else by its opening token. */
static const char *brief(const json_t *v, char *buf, size_t cap)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        snprintf(buf, cap, "%s", json_string_value(v));
        break;
    case JSON_INTEGER:
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        snprintf(buf, cap, "%.17g", json_real_value(v));
        break;
    case JSON_TRUE:
        snprintf(buf, cap, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, cap, "false");
        break;
    case JSON_NULL:
        snprintf(buf, cap, "null");
        break;
    case JSON_OBJECT:
        snprintf(buf, cap, "{");
        break;
    case JSON_ARRAY:
        snprintf(buf, cap, "[");
        break;
    }
    return buf;
}

/* Wildcard: '*' is zero or more characters; "\*" a literal star and "\\" a
 * literal backslash; any other escape, and two '*' in a row, are rejected
 * (event-ruler README, "Wildcard matching"; AWS: "Consecutive wildcard
 * characters at pos N"). */
static int parse_wildcard(pctx_parse_t *p, pcond_t *c, const char *s, size_t n)
{
    char *piece = xmalloc(n + 1);
    size_t plen = 0;
    bool prev_star = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '*') {
            if (prev_star) {
                free(piece);
                return fail(p, KYOKA_EINVAL, "Consecutive wildcard characters at pos %zu", i);
            }
            c->segs = xrealloc(c->segs, (c->nseg + 1) * sizeof *c->segs);
            c->seglen = xrealloc(c->seglen, (c->nseg + 1) * sizeof *c->seglen);
            c->segs[c->nseg] = xstrndup(piece, plen);
            c->seglen[c->nseg++] = plen;
            plen = 0;
            prev_star = true;
            continue;
        }
        prev_star = false;
        if (ch == '\\') {
            if (i + 1 >= n || (s[i + 1] != '*' && s[i + 1] != '\\')) {
                free(piece);
                return fail(p, KYOKA_EINVAL, "Invalid escape character at pos %zu", i);
            }
            ch = s[++i];
        }
        piece[plen++] = ch;
    }
    c->segs = xrealloc(c->segs, (c->nseg + 1) * sizeof *c->segs);
    c->seglen = xrealloc(c->seglen, (c->nseg + 1) * sizeof *c->seglen);
    c->segs[c->nseg] = xstrndup(piece, plen);
    c->seglen[c->nseg++] = plen;
    free(piece);
    /* The original text is the canonical operand. */
    cond_set_str(c, s, n, false);
    return 0;
}

static int add_wildcard(pctx_parse_t *p, conds_t *v, const json_t *val)
{
    if (!json_is_string(val))
        return fail(p, KYOKA_EINVAL, "wildcard match pattern must be a string");
    pcond_t *c = cond_push(v, PC_WILDCARD);
    return parse_wildcard(p, c, json_string_value(val), json_string_length(val));
}

static int parse_numeric(pctx_parse_t *p, conds_t *v, const json_t *val)
{
    char b[64];
    if (!json_is_array(val))
        return fail(p, KYOKA_EINVAL, "Value of numeric must be an array.");
    size_t n = json_array_size(val);
    if (n == 0)
        return fail(p, KYOKA_EINVAL, "Invalid member in numeric match: ]");
    pcond_t c = {.kind = PC_NUMERIC, .lo = -INFINITY, .hi = INFINITY, .lo_incl = false, .hi_incl = false};
    const json_t *op = json_array_get(val, 0);
    if (!json_is_string(op))
        return fail(p, KYOKA_EINVAL, "Invalid member in numeric match: %s", brief(op, b, sizeof b));
    const char *o = json_string_value(op);
    bool lower = strcmp(o, ">") == 0 || strcmp(o, ">=") == 0;
    if (!lower && strcmp(o, "<") != 0 && strcmp(o, "<=") != 0 && strcmp(o, "=") != 0)
        return fail(p, KYOKA_EINVAL, "Unrecognized numeric range operator: %s", o);
    const json_t *num = json_array_get(val, 1);
    if (!num || !json_is_number(num))
        return fail(p, KYOKA_EINVAL, "Value of %s must be numeric", strcmp(o, "=") == 0 ? "equals" : o);
    double x = pattern__num_canon(num_of(num));
    if (strcmp(o, "=") == 0) {
        c.lo = c.hi = x;
        c.lo_incl = c.hi_incl = true;
    } else if (lower) {
        c.lo = x;
        c.lo_incl = o[1] == '=';
    } else {
        c.hi = x;
        c.hi_incl = o[1] == '=';
    }
    if (n > 2) {
        if (!lower)
            return fail(p, KYOKA_EINVAL, "Too many elements in numeric expression");
        const json_t *op2 = json_array_get(val, 2);
        if (!json_is_string(op2))
            return fail(p, KYOKA_EINVAL, "Bad value in numeric range: %s", brief(op2, b, sizeof b));
        const char *o2 = json_string_value(op2);
        if (strcmp(o2, "<") != 0 && strcmp(o2, "<=") != 0)
            return fail(p, KYOKA_EINVAL, "Bad numeric range operator: %s", o2);
        const json_t *num2 = json_array_get(val, 3);
        if (!num2 || !json_is_number(num2))
            return fail(p, KYOKA_EINVAL, "Value of %s must be numeric", o2);
        double y = pattern__num_canon(num_of(num2));
        if (y <= x)
            return fail(p, KYOKA_EINVAL, "Bottom must be less than top");
        if (n > 4)
            return fail(p, KYOKA_EINVAL, "Too many terms in numeric range expression");
        c.hi = y;
        c.hi_incl = o2[1] == '=';
    }
    *cond_push(v, PC_NUMERIC) = c;
    return 0;
}

/* cidr: "a.b.c.d/n" or an IPv6 "x::/n". Host bits past the mask are
 * ignored (10.0.0.1/24 is 10.0.0.0/24). */
static int parse_cidr(pctx_parse_t *p, conds_t *v, const json_t *val)
{
    if (!json_is_string(val))
        return fail(p, KYOKA_EINVAL, "prefix match pattern must be a string");
    const char *s = json_string_value(val);
    size_t n = json_string_length(val);
    const char *slash = memchr(s, '/', n);
    if (!slash || memchr(slash + 1, '/', n - (size_t)(slash + 1 - s)))
        return fail(p, KYOKA_EINVAL, "Malformed CIDR, one '/' required");
    const char *m = slash + 1;
    size_t mlen = n - (size_t)(m - s);
    unsigned bits = 0;
    if (mlen == 0 || mlen > 3)
        return fail(p, KYOKA_EINVAL, "Malformed CIDR, mask bits must be an integer");
    for (size_t i = 0; i < mlen; i++) {
        if (m[i] < '0' || m[i] > '9')
            return fail(p, KYOKA_EINVAL, "Malformed CIDR, mask bits must be an integer");
        bits = bits * 10 + (unsigned)(m[i] - '0');
    }
    uint8_t ip[16] = {0};
    size_t iplen = (size_t)(slash - s);
    int fam = pattern__parse_ip(s, iplen, ip);
    if (fam == 0 || bits > (fam == 4 ? 32u : 128u))
        return fail(p, KYOKA_EINVAL, "Nonstandard IP address: %.*s", (int)iplen, s);
    pcond_t *c = cond_push(v, PC_CIDR);
    c->family = (uint8_t)fam;
    c->bits = (uint8_t)bits;
    unsigned full = bits / 8, rest = bits % 8, total = fam == 4 ? 4 : 16;
    for (unsigned i = 0; i < total; i++) {
        if (i < full)
            c->ip[i] = ip[i];
        else if (i == full && rest)
            c->ip[i] = (uint8_t)(ip[i] & (0xff << (8 - rest)));
    }
    return 0;
}

/* {"prefix": ...} / {"suffix": ...}: a string, or {"equals-ignore-case": string}. */
static int parse_affix(pctx_parse_t *p, conds_t *v, const char *op, const json_t *val)
{
    bool prefix = op[0] == 'p';
    if (json_is_string(val)) {
        pcond_t *c = cond_push(v, prefix ? PC_PREFIX : PC_SUFFIX);
        cond_set_str(c, json_string_value(val), json_string_length(val), false);
        return 0;
    }
    if (json_is_object(val)) {
        if (json_object_size(val) != 1)
            return fail(p, KYOKA_EINVAL, "Only one key allowed in match expression");
        const char *k = json_object_iter_key(json_object_iter((json_t *)val));
        const json_t *inner = json_object_iter_value(json_object_iter((json_t *)val));
        if (strcmp(k, "equals-ignore-case") != 0)
            return fail(p, KYOKA_EINVAL, "Unsupported anything-but pattern: %s", k);
        if (!json_is_string(inner))
            return fail(p, KYOKA_EINVAL, "equals-ignore-case match pattern must be a string");
        pcond_t *c = cond_push(v, prefix ? PC_PREFIX_CI : PC_SUFFIX_CI);
        cond_set_str(c, json_string_value(inner), json_string_length(inner), true);
        return 0;
    }
    return fail(p, KYOKA_EINVAL, "%s match pattern must be a string", op);
}

/* anything-but: a string or number, a list of them, or one of
 * {"prefix"|"suffix"|"equals-ignore-case"|"wildcard": string or list of strings}. */
static int parse_anything_but(pctx_parse_t *p, conds_t *v, const json_t *val)
{
    conds_t sub = {0};
    int rc = 0;
    if (json_is_string(val) || json_is_number(val)) {
        pcond_t *c = cond_push(&sub, json_is_string(val) ? PC_STR : PC_NUM);
        if (json_is_string(val))
            cond_set_str(c, json_string_value(val), json_string_length(val), false);
        else
            c->num = pattern__num_canon(num_of(val));
    } else if (json_is_array(val)) {
        if (json_array_size(val) == 0)
            rc = fail(p, KYOKA_EINVAL, "Empty arrays are not allowed");
        size_t i;
        const json_t *e;
        json_array_foreach(val, i, e) {
            if (rc)
                break;
            if (json_is_string(e)) {
                cond_set_str(cond_push(&sub, PC_STR), json_string_value(e), json_string_length(e), false);
            } else if (json_is_number(e)) {
                cond_push(&sub, PC_NUM)->num = pattern__num_canon(num_of(e));
            } else {
                rc = fail(p, KYOKA_EINVAL, "Inside anything but list, start|null|boolean is not supported.");
            }
        }
    } else if (json_is_object(val)) {
        if (json_object_size(val) != 1) {
            rc = fail(p, KYOKA_EINVAL, "Only one key allowed in match expression");
        } else {
            const char *k = json_object_iter_key(json_object_iter((json_t *)val));
            const json_t *inner = json_object_iter_value(json_object_iter((json_t *)val));
            bool affix = strcmp(k, "prefix") == 0 || strcmp(k, "suffix") == 0;
            bool ci = strcmp(k, "equals-ignore-case") == 0;
            bool wild = strcmp(k, "wildcard") == 0;
            if (!affix && !ci && !wild) {
                rc = fail(p, KYOKA_EINVAL, "Unsupported anything-but pattern: %s", k);
            } else {
                size_t n = json_is_array(inner) ? json_array_size(inner) : 1;
                if (json_is_array(inner) && n == 0)
                    rc = fail(p, KYOKA_EINVAL, "Empty arrays are not allowed");
                for (size_t i = 0; i < n && rc == 0; i++) {
                    const json_t *e = json_is_array(inner) ? json_array_get(inner, i) : inner;
                    if (!json_is_string(e)) {
                        if (ci)
                            rc = fail(p, KYOKA_EINVAL,
                                      "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.");
                        else if (wild)
                            rc = fail(p, KYOKA_EINVAL, "wildcard match pattern must be a string");
                        else if (json_is_object(e))
                            rc = fail(p, KYOKA_EINVAL, "Value of anything-but must be an array or single string/number value.");
                        else
                            rc = fail(p, KYOKA_EINVAL, "prefix/suffix match pattern must be a string");
                        break;
                    }
                    const char *s = json_string_value(e);
                    size_t len = json_string_length(e);
                    if (wild) {
                        rc = parse_wildcard(p, cond_push(&sub, PC_WILDCARD), s, len);
                    } else if (ci) {
                        cond_set_str(cond_push(&sub, PC_EQ_CI), s, len, true);
                    } else if (len == 0) {
                        rc = fail(p, KYOKA_EINVAL, "Null prefix/suffix not allowed");
                    } else {
                        cond_set_str(cond_push(&sub, k[0] == 'p' ? PC_PREFIX : PC_SUFFIX), s, len, false);
                    }
                }
            }
        }
    } else {
        rc = fail(p, KYOKA_EINVAL, "Value of anything-but must be an array or single string/number value.");
    }
    if (rc) {
        conds_destroy(&sub);
        return rc;
    }
    pcond_t *c = cond_push(v, PC_ANYTHING_BUT);
    c->sub = sub.c;
    c->nsub = sub.n;
    return 0;
}

/* One element of a field's array. */
static int parse_match(pctx_parse_t *p, conds_t *v, const json_t *val)
{
    switch (json_typeof(val)) {
    case JSON_STRING:
        cond_set_str(cond_push(v, PC_STR), json_string_value(val), json_string_length(val), false);
        return 0;
    case JSON_INTEGER:
    case JSON_REAL:
        cond_push(v, PC_NUM)->num = pattern__num_canon(num_of(val));
        return 0;
    case JSON_TRUE:
        cond_push(v, PC_TRUE);
        return 0;
    case JSON_FALSE:
        cond_push(v, PC_FALSE);
        return 0;
    case JSON_NULL:
        cond_push(v, PC_NULL);
        return 0;
    case JSON_ARRAY:
        return fail(p, KYOKA_EINVAL, "Match value must be String, number, true, false, or null");
    case JSON_OBJECT:
        break;
    }
    if (json_object_size(val) != 1)
        return fail(p, KYOKA_EINVAL, "Only one key allowed in match expression");
    const char *op = json_object_iter_key(json_object_iter((json_t *)val));
    const json_t *arg = json_object_iter_value(json_object_iter((json_t *)val));
    if (strcmp(op, "prefix") == 0 || strcmp(op, "suffix") == 0)
        return parse_affix(p, v, op, arg);
    if (strcmp(op, "equals-ignore-case") == 0) {
        if (!json_is_string(arg))
            return fail(p, KYOKA_EINVAL, "equals-ignore-case match pattern must be a string");
        cond_set_str(cond_push(v, PC_EQ_CI), json_string_value(arg), json_string_length(arg), true);
        return 0;
    }
    if (strcmp(op, "wildcard") == 0)
        return add_wildcard(p, v, arg);
    if (strcmp(op, "anything-but") == 0)
        return parse_anything_but(p, v, arg);
    if (strcmp(op, "numeric") == 0)
        return parse_numeric(p, v, arg);
    if (strcmp(op, "cidr") == 0)
        return parse_cidr(p, v, arg);
    if (strcmp(op, "exists") == 0) {
        if (!json_is_boolean(arg))
            return fail(p, KYOKA_EINVAL, "exists match pattern must be either true or false.");
        cond_push(v, json_is_true(arg) ? PC_EXISTS : PC_NOT_EXISTS);
        return 0;
    }
    return fail(p, KYOKA_EINVAL, "Unrecognized match type %s", op);
}

/* ---- canonical keys: equal keys mean equal condition sets ---- */

static void key_cond(buf_t *b, const pcond_t *c)
{
    buf_appendf(b, "%d", (int)c->kind);
    switch (c->kind) {
    case PC_NUM:
        buf_appendf(b, ":%a", c->num);
        break;
    case PC_NUMERIC:
        buf_appendf(b, ":%c%a:%a%c", c->lo_incl ? '[' : '(', c->lo, c->hi, c->hi_incl ? ']' : ')');
        break;
    case PC_CIDR:
        buf_appendf(b, ":%u/%u:", c->family, c->bits);
        for (int i = 0; i < 16; i++)
            buf_appendf(b, "%02x", c->ip[i]);
        break;
    case PC_ANYTHING_BUT:
        buf_appendc(b, '(');
        for (size_t i = 0; i < c->nsub; i++) {
            key_cond(b, &c->sub[i]);
            buf_appendc(b, ',');
        }
        buf_appendc(b, ')');
        break;
    default:
        if (c->s) {
            buf_appendf(b, ":%zu:", c->len);
            buf_append(b, c->s, c->len);
        }
        break;
    }
}

static int strp_cmp(const void *a, const void *b)
{
    const buf_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->data, y->data, n);
    return r ? r : (x->len < y->len ? -1 : x->len > y->len);
}

static int cond_rank(const pcond_t *c)
{
    if (c->kind < PC_EQ_CI)
        return 0;
    if (c->kind < PC__HASHED)
        return 1;
    if (c->kind == PC_WILDCARD || c->kind == PC_NUMERIC || c->kind == PC_CIDR)
        return 2;
    if (c->kind == PC_NOT_EXISTS)
        return 4;
    return 3;
}

static pfield_t *field_new(pctx_parse_t *p, const char *path, size_t plen, conds_t *v)
{
    pfield_t *f = xcalloc(1, sizeof *f);
    f->path = xstrndup(path, plen);
    f->conds = v->c;
    f->nconds = v->n;
    buf_t *parts = xcalloc(v->n, sizeof *parts);
    for (size_t i = 0; i < v->n; i++) {
        buf_init(&parts[i], SIZE_MAX / 2);
        key_cond(&parts[i], &v->c[i]);
        int r = cond_rank(&v->c[i]);
        if (r > f->rank)
            f->rank = r;
    }
    if (v->n > 1)
        qsort(parts, v->n, sizeof *parts, strp_cmp);
    buf_t key;
    buf_init(&key, SIZE_MAX / 2);
    for (size_t i = 0; i < v->n; i++) {
        if (i && strp_cmp(&parts[i], &parts[i - 1]) == 0)
            continue; /* ["a", "a"] is ["a"] */
        buf_append(&key, parts[i].data, parts[i].len);
        buf_appendc(&key, '\x1f');
    }
    for (size_t i = 0; i < v->n; i++)
        buf_destroy(&parts[i]);
    free(parts);
    f->key = buf_detach(&key, &f->keylen);
    pcompiled_t *o = p->out;
    if (o->npool == o->cappool) {
        o->cappool = o->cappool ? o->cappool * 2 : 8;
        o->pool = xrealloc(o->pool, o->cappool * sizeof *o->pool);
    }
    o->pool[o->npool++] = f;
    return f;
}

/* ---- the object walk ---- */

static const char *const reserved[] = {"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but",
                                       "numeric", "cidr", "exists"};

/* "$or" is the OR primitive only as an array of two or more objects none of
 * which uses an operator name as a key; otherwise it is an ordinary field
 * name (event-ruler README, "The $or Primitive"). */
static bool is_or(const char *key, const json_t *val)
{
    if (strcmp(key, "$or") != 0 || !json_is_array(val) || json_array_size(val) < 2)
        return false;
    size_t i;
    const json_t *e;
    json_array_foreach(val, i, e) {
        if (!json_is_object(e))
            return false;
        for (size_t r = 0; r < KYOKA_ARRAY_LEN(reserved); r++)
            if (json_object_get(e, reserved[r]))
                return false;
    }
    return true;
}

static int walk(pctx_parse_t *p, const json_t *obj, buf_t *path, alts_t *alts)
{
    const char *key;
    const json_t *val;
    size_t base = path->len;
    json_object_foreach((json_t *)obj, key, val) {
        if (is_or(key, val)) {
            alts_t next = {0};
            size_t i;
            const json_t *branch;
            json_array_foreach(val, i, branch) {
                alts_t mine = {0};
                for (size_t a = 0; a < alts->n; a++)
                    alts_push(&mine, alt_copy(&alts->a[a]));
                int rc = walk(p, branch, path, &mine);
                if (rc == 0 && next.n + mine.n > PATTERN_MAX_ALTERNATIVES)
                    rc = fail(p, KYOKA_ELIMIT, "Event pattern is too complex: more than %d $or combinations",
                              PATTERN_MAX_ALTERNATIVES);
                for (size_t a = 0; a < mine.n && rc == 0; a++)
                    alts_push(&next, mine.a[a]);
                if (rc) {
                    alts_destroy(&mine);
                    alts_destroy(&next);
                    return rc;
                }
                free(mine.a);
            }
            alts_destroy(alts);
            *alts = next;
            continue;
        }
        path->len = base;
        path->data[base] = '\0';
        if (base)
            buf_appendc(path, '.');
        buf_appends(path, key);
        if (json_is_object(val)) {
            int rc = walk(p, val, path, alts);
            if (rc)
                return rc;
        } else if (json_is_array(val)) {
            if (json_array_size(val) == 0)
                return fail(p, KYOKA_EINVAL, "Empty arrays are not allowed");
            conds_t v = {0};
            size_t i;
            const json_t *e;
            json_array_foreach(val, i, e) {
                int rc = parse_match(p, &v, e);
                if (rc) {
                    conds_destroy(&v);
                    return rc;
                }
            }
            pfield_t *f = field_new(p, path->data, path->len, &v);
            for (size_t a = 0; a < alts->n; a++)
                alt_push(&alts->a[a], f);
        } else {
            return fail(p, KYOKA_EINVAL, "\"%s\" must be an object or an array", key);
        }
        path->len = base;
        path->data[base] = '\0';
    }
    return 0;
}

int pattern__field_cmp(const pfield_t *a, const pfield_t *b)
{
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    int r = strcmp(a->path, b->path);
    if (r)
        return r;
    size_t n = a->keylen < b->keylen ? a->keylen : b->keylen;
    r = memcmp(a->key, b->key, n);
    return r ? r : (a->keylen < b->keylen ? -1 : a->keylen > b->keylen);
}

static int fieldp_cmp(const void *x, const void *y)
{
    return pattern__field_cmp(*(pfield_t *const *)x, *(pfield_t *const *)y);
}

int pattern__compile(const char *json, size_t len, pcompiled_t *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    pctx_parse_t p = {out, err, errcap, 0};
    if (err && errcap)
        err[0] = '\0';
    if (len > PATTERN_MAX_BYTES)
        return fail(&p, KYOKA_ELIMIT, "Event pattern is longer than %d characters", PATTERN_MAX_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &jerr);
    if (!root)
        return fail(&p, KYOKA_EPARSE, "Filter is not valid JSON: %s at line %d, column %d", jerr.text, jerr.line,
                    jerr.column);
    if (!json_is_object(root)) {
        json_decref(root);
        return fail(&p, KYOKA_EPARSE, "Filter is not an object");
    }
    alts_t alts = {0};
    alts_push(&alts, (alt_build_t){0});
    buf_t path;
    buf_init(&path, SIZE_MAX / 2);
    buf_reserve(&path, 64);
    int rc = walk(&p, root, &path, &alts);
    buf_destroy(&path);
    json_decref(root);
    if (rc) {
        alts_destroy(&alts);
        pattern__compiled_destroy(out);
        return rc;
    }
    out->alts = xcalloc(alts.n, sizeof *out->alts);
    out->nalts = alts.n;
    for (size_t i = 0; i < alts.n; i++) {
        if (alts.a[i].n > 1)
            qsort(alts.a[i].f, alts.a[i].n, sizeof *alts.a[i].f, fieldp_cmp);
        out->alts[i].fields = alts.a[i].f;
        out->alts[i].nfields = alts.a[i].n;
    }
    free(alts.a);
    return 0;
}

void pattern__compiled_destroy(pcompiled_t *c)
{
    for (size_t i = 0; i < c->npool; i++) {
        pfield_t *f = c->pool[i];
        for (size_t j = 0; j < f->nconds; j++)
            pattern__cond_destroy(&f->conds[j]);
        free(f->conds);
        free(f->path);
        free(f->key);
        free(f);
    }
    free(c->pool);
    for (size_t i = 0; i < c->nalts; i++)
        free(c->alts[i].fields);
    free(c->alts);
    memset(c, 0, sizeof *c);
}
