/*
 * SigV4 canonicalization: the canonical URI, query string and headers that
 * make up the canonical request
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
 *
 * The verifier has to reproduce byte for byte what the client signed, and
 * the clients do not all agree, so the URI and the query can be produced in
 * more than one way:
 *
 *  - Non-S3 services: the SDKs (botocore, JS v3, Go v2) take the path as they
 *    send it, already percent-encoded, drop empty and "." segments, resolve
 *    "..", and URI-encode the result once more, so "%3A" is signed as
 *    "%253A". That is AUTH_URI_ENCODE.
 *  - S3 signs the path as sent, without normalizing or re-encoding
 *    (AUTH_URI_RAW). Clients differ in which bytes they escape ('!' or
 *    "%21") and in hex case, so AUTH_URI_S3 rewrites every escape into the
 *    canonical one: decoded when it is unreserved, "%XX" in upper case
 *    otherwise. "%2F" stays escaped, so a key containing '/' keeps its
 *    meaning.
 *  - Query parameters are decoded and re-encoded with the RFC 3986
 *    unreserved set, then sorted by name and value; the raw form is kept
 *    for the rare client that signs its query exactly as written.
 *
 * Every function appends to a capped buf_t, so a hostile request costs at
 * most AUTH_CANONICAL_MAX bytes and callers check buf_err() once.
 */
#include "auth/internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static const char hexu[] = "0123456789ABCDEF";

/* RFC 3986 section 2.3: the bytes SigV4 never escapes. */
static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static void put_encoded(buf_t *out, unsigned char c)
{
    if (unreserved(c)) {
        buf_appendc(out, (char)c);
        return;
    }
    char e[3] = {'%', hexu[c >> 4], hexu[c & 15]};
    buf_append(out, e, 3);
}

/* The byte at s[*i], decoding a valid "%XX" escape and advancing past it. */
static unsigned char next_decoded(strv_t s, size_t *i, bool *was_escape)
{
    size_t k = *i;
    if (s.p[k] == '%' && k + 2 < s.len && kyoka_hexval(s.p[k + 1]) >= 0 && kyoka_hexval(s.p[k + 2]) >= 0) {
        *i = k + 3;
        *was_escape = true;
        return (unsigned char)(kyoka_hexval(s.p[k + 1]) * 16 + kyoka_hexval(s.p[k + 2]));
    }
    *i = k + 1;
    *was_escape = false;
    return (unsigned char)s.p[k];
}

void auth__pct_decode(strv_t s, buf_t *out)
{
    size_t i = 0;
    while (i < s.len) {
        bool esc;
        buf_appendc(out, (char)next_decoded(s, &i, &esc));
    }
}

/* Decode then encode: the one spelling of a name or value. */
static void put_reencoded(buf_t *out, strv_t s)
{
    size_t i = 0;
    while (i < s.len) {
        bool esc;
        put_encoded(out, next_decoded(s, &i, &esc));
    }
}

/* ---- canonical URI ---- */

static void uri_s3(strv_t raw, buf_t *out)
{
    size_t i = 0;
    while (i < raw.len) {
        bool esc;
        unsigned char c = next_decoded(raw, &i, &esc);
        if (c == '/' && !esc)
            buf_appendc(out, '/');
        else
            put_encoded(out, c);
    }
}

/* botocore's remove_dot_segments (RFC 3986 section 5.2.4, plus dropping empty
 * segments, which AWS requires), then one more round of encoding. Segments
 * are views into raw; the stack array covers every realistic path and the
 * heap takes the rest, bounded by the path length. */
static void uri_encode(strv_t raw, buf_t *out)
{
    strv_t stack[64];
    size_t cap = raw.len / 2 + 1;
    strv_t *seg = cap <= KYOKA_ARRAY_LEN(stack) ? stack : xmalloc(cap * sizeof *seg);
    size_t n = 0;
    size_t i = 0;
    while (i <= raw.len) {
        size_t j = i;
        while (j < raw.len && raw.p[j] != '/')
            j++;
        strv_t s = {raw.p + i, j - i};
        if (s.len == 0 || strv_eq_cstr(s, ".")) {
            /* dropped */
        } else if (strv_eq_cstr(s, "..")) {
            if (n)
                n--;
        } else {
            seg[n++] = s;
        }
        i = j + 1;
    }
    if (raw.p[0] == '/')
        buf_appendc(out, '/');
    for (size_t k = 0; k < n; k++) {
        if (k)
            buf_appendc(out, '/');
        for (size_t b = 0; b < seg[k].len; b++)
            put_encoded(out, (unsigned char)seg[k].p[b]);
    }
    if (n && raw.p[raw.len - 1] == '/')
        buf_appendc(out, '/');
    if (seg != stack)
        free(seg);
}

void auth__canon_uri(strv_t raw, auth_uri_mode_t mode, buf_t *out)
{
    if (raw.len == 0) {
        buf_appendc(out, '/');
        return;
    }
    switch (mode) {
    case AUTH_URI_RAW:
        buf_append(out, raw.p, raw.len);
        break;
    case AUTH_URI_S3:
        uri_s3(raw, out);
        break;
    case AUTH_URI_ENCODE:
        uri_encode(raw, out);
        break;
    }
}

/* ---- canonical query string ---- */

typedef struct qparam {
    size_t ko, kl, vo, vl; /* offsets into the scratch buffer while it grows */
    strv_t k, v;           /* views once it has stopped moving */
} qparam_t;

static int strv_cmp(strv_t a, strv_t b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

/* AWS sorts by encoded name, and by value where names repeat. */
static int qparam_cmp(const void *a, const void *b)
{
    const qparam_t *x = a, *y = b;
    int c = strv_cmp(x->k, y->k);
    return c ? c : strv_cmp(x->v, y->v);
}

static bool is_signature_param(strv_t key, bool normalize)
{
    if (strv_eq_cstr(key, "X-Amz-Signature"))
        return true;
    if (!normalize)
        return false;
    if (key.len > 3 * 32)
        return false;
    buf_t b;
    buf_init(&b, 32);
    auth__pct_decode(key, &b);
    bool r = buf_err(&b) == 0 && strv_eq_cstr(buf_view(&b), "X-Amz-Signature");
    buf_destroy(&b);
    return r;
}

int auth__canon_query(strv_t q, bool normalize, bool skip_signature, buf_t *out)
{
    if (q.len == 0)
        return buf_err(out);
    if (q.len > KYOKA_HTTP_MAX_URL_BYTES)
        return KYOKA_ELIMIT;
    size_t cap = 1;
    for (size_t i = 0; i < q.len; i++)
        cap += q.p[i] == '&';
    qparam_t stack[32];
    qparam_t *ps = cap <= KYOKA_ARRAY_LEN(stack) ? stack : xmalloc(cap * sizeof *ps);
    buf_t scratch;
    buf_init(&scratch, 3 * q.len + 1);
    size_t n = 0;
    size_t i = 0;
    while (i <= q.len) {
        size_t j = i;
        while (j < q.len && q.p[j] != '&')
            j++;
        strv_t item = {q.p + i, j - i};
        i = j + 1;
        if (item.len == 0)
            continue;
        const char *eq = memchr(item.p, '=', item.len);
        strv_t key = {item.p, eq ? (size_t)(eq - item.p) : item.len};
        strv_t val = eq ? (strv_t){eq + 1, item.len - key.len - 1} : (strv_t){item.p + item.len, 0};
        if (skip_signature && is_signature_param(key, normalize))
            continue;
        qparam_t *p = &ps[n++];
        p->ko = scratch.len;
        if (normalize)
            put_reencoded(&scratch, key);
        else
            buf_append(&scratch, key.p, key.len);
        p->kl = scratch.len - p->ko;
        p->vo = scratch.len;
        if (normalize)
            put_reencoded(&scratch, val);
        else
            buf_append(&scratch, val.p, val.len);
        p->vl = scratch.len - p->vo;
    }
    int rc = buf_err(&scratch);
    if (rc == 0) {
        for (size_t k = 0; k < n; k++) {
            ps[k].k = (strv_t){scratch.data + ps[k].ko, ps[k].kl};
            ps[k].v = (strv_t){scratch.data + ps[k].vo, ps[k].vl};
        }
        qsort(ps, n, sizeof *ps, qparam_cmp);
        for (size_t k = 0; k < n; k++) {
            if (k)
                buf_appendc(out, '&');
            buf_append(out, ps[k].k.p, ps[k].k.len);
            buf_appendc(out, '=');
            buf_append(out, ps[k].v.p, ps[k].v.len);
        }
        rc = buf_err(out);
    }
    buf_destroy(&scratch);
    if (ps != stack)
        free(ps);
    return rc;
}

bool auth__query_find(strv_t q, const char *name, strv_t *raw_value)
{
    size_t i = 0;
    while (i < q.len) {
        size_t j = i;
        while (j < q.len && q.p[j] != '&')
            j++;
        strv_t item = {q.p + i, j - i};
        i = j + 1;
        const char *eq = memchr(item.p, '=', item.len);
        strv_t key = {item.p, eq ? (size_t)(eq - item.p) : item.len};
        bool match = strv_eq_cstr(key, name);
        if (!match && memchr(key.p, '%', key.len) && key.len <= 3 * 64) {
            /* Some clients escape bytes that need no escaping. */
            buf_t k;
            buf_init(&k, 64);
            auth__pct_decode(key, &k);
            match = buf_err(&k) == 0 && strv_eq_cstr(buf_view(&k), name);
            buf_destroy(&k);
        }
        if (!match)
            continue;
        if (raw_value)
            *raw_value = eq ? (strv_t){eq + 1, item.len - key.len - 1} : (strv_t){item.p + item.len, 0};
        return true;
    }
    return false;
}

/* ---- canonical headers ---- */

strv_t auth__header_get(const auth_header_t *h, size_t nh, const char *name)
{
    for (size_t i = 0; i < nh; i++)
        if (strv_caseeq_cstr(h[i].name, name))
            return h[i].value;
    return STRV_NULL;
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Trim both ends and fold every inner whitespace run to one space, as
 * botocore (' '.join(v.split())) and JS v3 (trim + /\s+/ -> ' ') do. */
static void put_value(buf_t *out, strv_t v)
{
    size_t i = 0;
    bool pending_space = false;
    while (i < v.len && is_space(v.p[i]))
        i++;
    for (; i < v.len; i++) {
        if (is_space(v.p[i])) {
            pending_space = true;
            continue;
        }
        if (pending_space)
            buf_appendc(out, ' ');
        pending_space = false;
        buf_appendc(out, v.p[i]);
    }
}

static bool name_caseeq(strv_t a, strv_t b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        char x = a.p[i], y = b.p[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

int auth__canon_headers(const auth_header_t *h, size_t nh, strv_t signed_headers, buf_t *out)
{
    size_t count = 0;
    size_t i = 0;
    while (i < signed_headers.len) {
        size_t j = i;
        while (j < signed_headers.len && signed_headers.p[j] != ';')
            j++;
        strv_t name = {signed_headers.p + i, j - i};
        i = j + 1;
        if (++count > AUTH_MAX_SIGNED_HEADERS)
            return KYOKA_ELIMIT;
        for (size_t k = 0; k < name.len; k++) {
            char c = name.p[k];
            buf_appendc(out, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
        }
        buf_appendc(out, ':');
        bool first = true;
        for (size_t k = 0; k < nh; k++) {
            if (!name_caseeq(h[k].name, name))
                continue;
            if (!first)
                buf_appendc(out, ',');
            first = false;
            put_value(out, h[k].value);
        }
        buf_appendc(out, '\n');
    }
    return buf_err(out);
}

int auth__canon_request(strv_t method, strv_t uri, strv_t query, const auth_header_t *h, size_t nh,
                        strv_t signed_headers, strv_t payload_hash, buf_t *out)
{
    buf_append(out, method.p, method.len);
    buf_appendc(out, '\n');
    buf_append(out, uri.p, uri.len);
    buf_appendc(out, '\n');
    buf_append(out, query.p, query.len);
    buf_appendc(out, '\n');
    int rc = auth__canon_headers(h, nh, signed_headers, out);
    if (rc)
        return rc;
    buf_appendc(out, '\n');
    buf_append(out, signed_headers.p, signed_headers.len);
    buf_appendc(out, '\n');
    buf_append(out, payload_hash.p, payload_hash.len);
    return buf_err(out);
}
