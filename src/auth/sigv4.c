/*
 * AWS Signature Version 4 verification, for the Authorization header and
 * for presigned query strings
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html).
 *
 * Verification runs in the order a client can act on: first the shape of
 * the signature (IncompleteSignature when a part is missing), then the key
 * (unknown, inactive, session token), then the clock (15 minutes of skew, or
 * the presigned URL's X-Amz-Expires), and last the signature itself, so the
 * error names the first thing the client has to fix. The failure messages
 * are AWS's own wording; the server maps the status to each service's error
 * code.
 *
 * Clients disagree on small points of canonicalization (see canonical.c),
 * so after the canonical form that every current SDK produces fails to
 * match, a couple of alternative forms of the same request are tried. They
 * are only different spellings of the same path, query and payload, so
 * accepting them admits nothing a client did not sign.
 *
 * Signatures are compared with CRYPTO_memcmp so the time taken does not
 * reveal how many leading characters matched.
 */
#include "auth/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include "core/banned.h"

#define MAX_SKEW_MS KYOKA_SIGV4_MAX_SKEW_MS

/* ---- primitives ---- */

void auth__crypto_fail(const char *what)
{
    fprintf(stderr, "kyoka: OpenSSL %s failed\n", what);
    abort();
}

/* One HMAC-SHA256 context for the loop thread, re-keyed per use: the
 * one-shot HMAC() fetches the algorithm and allocates a context on every
 * call, and a verify makes five HMACs. */
static EVP_MAC_CTX *hmac_ctx(void)
{
    static EVP_MAC_CTX *ctx;
    if (!ctx) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (!mac)
            auth__crypto_fail("EVP_MAC_fetch");
        ctx = EVP_MAC_CTX_new(mac);
        EVP_MAC_free(mac);
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0), OSSL_PARAM_END};
        if (!ctx || !EVP_MAC_CTX_set_params(ctx, params))
            auth__crypto_fail("EVP_MAC_CTX_new");
    }
    return ctx;
}

void auth__hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n, unsigned char out[32])
{
    static const unsigned char empty[1];
    EVP_MAC_CTX *ctx = hmac_ctx();
    size_t len = 0;
    if (!EVP_MAC_init(ctx, keylen ? key : empty, keylen, NULL) || !EVP_MAC_update(ctx, n ? msg : empty, n) ||
        !EVP_MAC_final(ctx, out, &len, 32) || len != 32)
        auth__crypto_fail("HMAC");
}

void auth__signing_key_derive(strv_t secret, strv_t date, strv_t region, strv_t service,
                              unsigned char out[32])
{
    /* "AWS4" + secret; secrets are 40 characters, the heap is for oddities. */
    char stack[132];
    size_t klen = secret.len + 4;
    char *k = klen <= sizeof stack ? stack : xmalloc(klen);
    memcpy(k, "AWS4", 4);
    memcpy(k + 4, secret.p, secret.len);
    unsigned char a[32], b[32];
    auth__hmac_sha256(k, klen, date.p, date.len, a);
    auth__hmac_sha256(a, 32, region.p, region.len, b);
    auth__hmac_sha256(b, 32, service.p, service.len, a);
    auth__hmac_sha256(a, 32, "aws4_request", 12, out);
    OPENSSL_cleanse(k, klen);
    if (k != stack)
        free(k);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
}

void auth__sign_hex(const unsigned char key[32], const void *msg, size_t n, char out[65])
{
    unsigned char mac[32];
    auth__hmac_sha256(key, 32, msg, n, mac);
    kyoka_hex(mac, 32, out);
}

bool auth__is_hex64(strv_t s)
{
    if (s.len != 64)
        return false;
    for (size_t i = 0; i < 64; i++) {
        char c = s.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

void auth_sha256(const void *data, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    static const unsigned char empty[1];
    if (EVP_Digest(n ? data : empty, n, out, &len, EVP_sha256(), NULL) != 1)
        auth__crypto_fail("SHA-256");
}

void auth_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    auth_sha256(data, n, md);
    kyoka_hex(md, 32, out);
}

/* ---- incremental payload hash ---- */

struct auth_payload_hash {
    EVP_MD_CTX *ctx;
};

auth_payload_hash_t *auth_payload_hash_create(void)
{
    auth_payload_hash_t *h = xmalloc(sizeof *h);
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
        auth__crypto_fail("SHA-256 init");
    return h;
}

void auth_payload_hash_update(auth_payload_hash_t *h, const void *p, size_t n)
{
    if (n && EVP_DigestUpdate(h->ctx, p, n) != 1)
        auth__crypto_fail("SHA-256 update");
}

bool auth_payload_hash_finish(auth_payload_hash_t *h, const char *expected_hex)
{
    unsigned char md[32];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1)
        auth__crypto_fail("SHA-256 final");
    EVP_MD_CTX_free(h->ctx);
    free(h);
    char hex[65];
    kyoka_hex(md, 32, hex);
    if (!expected_hex || strlen(expected_hex) != 64)
        return false;
    /* The digest is public; case-insensitive so "ABCD..." from an odd client
     * still counts. */
    for (int i = 0; i < 64; i++) {
        char c = expected_hex[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c + 32);
        if (c != hex[i])
            return false;
    }
    return true;
}

/* ---- results ---- */

static void msg_add(auth_result_t *res, const char *fmt, ...) KYOKA_PRINTF(2, 3);

/* Append to the message, truncating rather than failing: the message echoes
 * client input, which can be longer than the field. */
static void msg_add(auth_result_t *res, const char *fmt, ...)
{
    size_t used = strlen(res->message);
    if (used + 1 >= sizeof res->message)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message + used, sizeof res->message - used, fmt, ap);
    va_end(ap);
}

static void fail(auth_result_t *res, auth_status_t st, const char *fmt, ...) KYOKA_PRINTF(3, 4);

static void fail(auth_result_t *res, auth_status_t st, const char *fmt, ...)
{
    res->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof res->message, fmt, ap);
    va_end(ap);
}

#define MSG_INVALID_TOKEN "The security token included in the request is invalid."
#define MSG_MISMATCH                                                                           \
    "The request signature we calculated does not match the signature you provided. Check " \
    "your AWS Secret Access Key and signing method. Consult the service documentation for "  \
    "details."
#define MSG_UNSUPPORTED \
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
#define MSG_QUERY_PARAMS                                                                      \
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, " \
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."

/* ---- time ---- */

static void fmt_amz(int64_t ms, char out[17])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
        out[0] = '\0';
}

/* RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), the Date header
 * that SigV4 accepts when X-Amz-Date is absent, to the basic format. */
static bool http_date_to_amz(strv_t v, char out[17])
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char tmp[64];
    if (v.len == 0 || v.len >= sizeof tmp)
        return false;
    memcpy(tmp, v.p, v.len);
    tmp[v.len] = '\0';
    const char *p = strchr(tmp, ',');
    p = p ? p + 1 : tmp;
    int d, y, h, mi, se;
    char mon[4];
    if (sscanf(p, " %2d %3s %4d %2d:%2d:%2d", &d, mon, &y, &h, &mi, &se) != 6)
        return false;
    const char *m = strstr(months, mon);
    if (!m || strlen(mon) != 3 || (m - months) % 3 != 0)
        return false;
    char buf[64];
    snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02dZ", y, (int)(m - months) / 3 + 1, d, h, mi, se);
    if (strlen(buf) != 16)
        return false;
    memcpy(out, buf, 17);
    return true;
}

/* ---- parsing the two forms ---- */

typedef struct sig_parts {
    bool presigned;
    strv_t credential;     /* AKID/date/region/service/aws4_request */
    strv_t signed_headers;
    strv_t signature;
    strv_t date;           /* X-Amz-Date as sent (or converted Date) */
    strv_t token;          /* X-Amz-Security-Token, may be empty */
    strv_t expires;        /* presigned only */
    strv_t akid, sdate, region, service, scope; /* views into credential */
} sig_parts_t;

#define MSG_REQ_CREDENTIAL "Authorization header requires 'Credential' parameter. "
#define MSG_REQ_SIGNATURE "Authorization header requires 'Signature' parameter. "
#define MSG_REQ_SIGNED "Authorization header requires 'SignedHeaders' parameter. "
#define MSG_REQ_DATE "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "

static void fail_incomplete(auth_result_t *res, strv_t authz, bool cred, bool sig, bool signed_h,
                            bool date)
{
    fail(res, AUTH_INCOMPLETE_SIGNATURE, "%s", "");
    if (!cred)
        msg_add(res, MSG_REQ_CREDENTIAL);
    if (!sig)
        msg_add(res, MSG_REQ_SIGNATURE);
    if (!signed_h)
        msg_add(res, MSG_REQ_SIGNED);
    if (!date)
        msg_add(res, MSG_REQ_DATE);
    msg_add(res, "Authorization=%.*s", (int)authz.len, authz.p);
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
static bool parse_header(strv_t authz, bool has_date, sig_parts_t *p, auth_result_t *res)
{
    strv_t v = strv_trim(authz);
    size_t sp = 0;
    while (sp < v.len && v.p[sp] != ' ')
        sp++;
    strv_t alg = {v.p, sp};
    if (!strv_eq_cstr(alg, AUTH_ALGORITHM)) {
        /* SigV2 ("AWS key:sig") and SigV4a ("AWS4-ECDSA-P256-SHA256") are
         * real AWS schemes we do not speak; anything else (a bearer token)
         * gets the same answer AWS gives it. */
        if (strv_eq_cstr(alg, "AWS") || strv_starts_with(alg, "AWS4-"))
            fail(res, AUTH_UNSUPPORTED_ALGORITHM, MSG_UNSUPPORTED);
        else
            fail_incomplete(res, authz, false, false, false, has_date);
        return false;
    }
    size_t i = sp;
    while (i < v.len) {
        size_t j = i;
        while (j < v.len && v.p[j] != ',')
            j++;
        strv_t comp = strv_trim((strv_t){v.p + i, j - i});
        i = j + 1;
        if (comp.len == 0)
            continue;
        const char *eq = memchr(comp.p, '=', comp.len);
        if (!eq) {
            fail(res, AUTH_INCOMPLETE_SIGNATURE,
                 "'%.*s' not a valid key=value pair (missing equal-sign) in Authorization header: '%.*s'.",
                 (int)comp.len, comp.p, (int)authz.len, authz.p);
            return false;
        }
        size_t klen = (size_t)(eq - comp.p);
        strv_t key = strv_trim((strv_t){comp.p, klen});
        /* The value is what follows '=', measured from '=' itself: the key
         * may have lost spaces to trim ("Credential =..."). */
        strv_t val = strv_trim((strv_t){eq + 1, comp.len - klen - 1});
        if (strv_eq_cstr(key, "Credential") && !p->credential.p)
            p->credential = val;
        else if (strv_eq_cstr(key, "SignedHeaders") && !p->signed_headers.p)
            p->signed_headers = val;
        else if (strv_eq_cstr(key, "Signature") && !p->signature.p)
            p->signature = val;
    }
    if (!p->credential.p || !p->signature.p || !p->signed_headers.p || !has_date) {
        fail_incomplete(res, authz, p->credential.p, p->signature.p, p->signed_headers.p, has_date);
        return false;
    }
    return true;
}

/* Decode a presigned parameter into the pool, recording where it went: the
 * pool may move while it grows, so views are made only at the end. */
typedef struct pooled {
    bool present;
    size_t off, len;
} pooled_t;

static pooled_t pool_param(strv_t q, const char *name, buf_t *pool)
{
    pooled_t r = {false, 0, 0};
    strv_t raw;
    if (!auth__query_find(q, name, &raw))
        return r;
    r.present = true;
    r.off = pool->len;
    auth__pct_decode(raw, pool);
    r.len = pool->len - r.off;
    return r;
}

static strv_t pool_view(const buf_t *pool, pooled_t x)
{
    return x.present ? (strv_t){pool->data + x.off, x.len} : STRV_NULL;
}

static bool parse_presigned(strv_t q, buf_t *pool, sig_parts_t *p, auth_result_t *res)
{
    pooled_t alg = pool_param(q, "X-Amz-Algorithm", pool);
    pooled_t cred = pool_param(q, "X-Amz-Credential", pool);
    pooled_t sig = pool_param(q, "X-Amz-Signature", pool);
    pooled_t date = pool_param(q, "X-Amz-Date", pool);
    pooled_t sh = pool_param(q, "X-Amz-SignedHeaders", pool);
    pooled_t exp = pool_param(q, "X-Amz-Expires", pool);
    pooled_t tok = pool_param(q, "X-Amz-Security-Token", pool);
    if (buf_err(pool)) {
        fail(res, AUTH_INCOMPLETE_SIGNATURE, MSG_QUERY_PARAMS);
        return false;
    }
    p->presigned = true;
    res->presigned = true;
    if (alg.present && !strv_eq_cstr(pool_view(pool, alg), AUTH_ALGORITHM)) {
        fail(res, AUTH_UNSUPPORTED_ALGORITHM, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
        return false;
    }
    if (!alg.present || !cred.present || !sig.present || !date.present || !sh.present) {
        fail(res, AUTH_INCOMPLETE_SIGNATURE, MSG_QUERY_PARAMS);
        return false;
    }
    p->credential = pool_view(pool, cred);
    p->signature = pool_view(pool, sig);
    p->date = pool_view(pool, date);
    p->signed_headers = pool_view(pool, sh);
    p->expires = pool_view(pool, exp);
    p->token = pool_view(pool, tok);
    return true;
}

/* AKID/YYYYMMDD/region/service/aws4_request */
static bool parse_scope(sig_parts_t *p, auth_result_t *res)
{
    strv_t part[5];
    size_t n = 0, i = 0;
    strv_t c = p->credential;
    while (i <= c.len && n < 5) {
        size_t j = i;
        while (j < c.len && c.p[j] != '/')
            j++;
        part[n++] = (strv_t){c.p + i, j - i};
        i = j + 1;
    }
    bool extra = i <= c.len; /* a sixth part */
    if (n >= 1 && part[0].len < sizeof res->access_key_id) {
        memcpy(res->access_key_id, part[0].p, part[0].len);
        res->access_key_id[part[0].len] = '\0';
    }
    if (n == 5 && !strv_eq_cstr(part[4], "aws4_request")) {
        fail(res, AUTH_INCOMPLETE_SIGNATURE,
             "Credential should be scoped with a valid terminator: 'aws4_request', not '%.*s'.",
             (int)part[4].len, part[4].p);
        return false;
    }
    if (n != 5 || extra || part[0].len == 0 || part[0].len >= sizeof res->access_key_id ||
        part[1].len != 8 || part[2].len == 0 || part[2].len >= sizeof res->region ||
        part[3].len == 0 || part[3].len >= sizeof res->service) {
        fail(res, AUTH_INCOMPLETE_SIGNATURE,
             "Credential should be scoped to a valid scope of the form "
             "'<access key>/<YYYYMMDD>/<region>/<service>/aws4_request', not '%.*s'.",
             (int)c.len, c.p);
        return false;
    }
    p->akid = part[0];
    p->sdate = part[1];
    p->region = part[2];
    p->service = part[3];
    p->scope = (strv_t){part[1].p, (size_t)(c.p + c.len - part[1].p)};
    memcpy(res->date, part[1].p, 8);
    memcpy(res->region, part[2].p, part[2].len);
    memcpy(res->service, part[3].p, part[3].len);
    return true;
}

/* ---- the signature itself ---- */

static bool try_signature(auth_store_t *s, const auth_request_t *req, const sig_parts_t *p,
                          const unsigned char key[32], strv_t uri, strv_t query, strv_t payload,
                          const char *amz_date)
{
    buf_t *canon = auth__store_scratch(s, 0);
    if (auth__canon_request(req->method, uri, query, req->headers, req->nheaders, p->signed_headers, payload,
                            canon))
        return false;
    char hash[65];
    auth_sha256_hex(canon->data, canon->len, hash);
    /* The string to sign, joined by hand: this runs on every request. */
    char sts[512];
    size_t dl = strlen(amz_date), n = 0;
    if (sizeof AUTH_ALGORITHM + dl + p->scope.len + 64 + 3 > sizeof sts)
        return false;
    memcpy(sts, AUTH_ALGORITHM "\n", sizeof AUTH_ALGORITHM);
    n = sizeof AUTH_ALGORITHM;
    memcpy(sts + n, amz_date, dl);
    n += dl;
    sts[n++] = '\n';
    memcpy(sts + n, p->scope.p, p->scope.len);
    n += p->scope.len;
    sts[n++] = '\n';
    memcpy(sts + n, hash, 64);
    n += 64;
    char sig[65];
    auth__sign_hex(key, sts, n, sig);
    return CRYPTO_memcmp(sig, p->signature.p, 64) == 0;
}

/* The form every current SDK signs is tried first; the other spellings are
 * only built when it fails. */
static bool signature_matches(auth_store_t *s, const auth_request_t *req, const sig_parts_t *p,
                              const unsigned char key[32], const strv_t *pay, size_t npay,
                              const char *amz_date)
{
    bool s3 = strv_eq_cstr(p->service, "s3");
    buf_t *u[2] = {auth__store_scratch(s, 1), auth__store_scratch(s, 2)};
    buf_t *q[2] = {auth__store_scratch(s, 3), auth__store_scratch(s, 4)};
    auth__canon_uri(req->path, s3 ? AUTH_URI_S3 : AUTH_URI_ENCODE, u[0]);
    if (buf_err(u[0]) || auth__canon_query(req->query, true, p->presigned, q[0]))
        return false;
    if (try_signature(s, req, p, key, buf_view(u[0]), buf_view(q[0]), pay[0], amz_date))
        return true;
    auth__canon_uri(req->path, AUTH_URI_RAW, u[1]);
    if (buf_err(u[1]) || auth__canon_query(req->query, false, p->presigned, q[1]))
        return false;
    size_t nu = strv_eq(buf_view(u[0]), buf_view(u[1])) ? 1 : 2;
    size_t nq = strv_eq(buf_view(q[0]), buf_view(q[1])) ? 1 : 2;
    for (size_t ip = 0; ip < npay; ip++)
        for (size_t iu = 0; iu < nu; iu++)
            for (size_t iq = 0; iq < nq; iq++)
                if ((ip || iu || iq) &&
                    try_signature(s, req, p, key, buf_view(u[iu]), buf_view(q[iq]), pay[ip], amz_date))
                    return true;
    return false;
}

static bool is_payload_token(strv_t v)
{
    static const char *const ok[] = {
        "UNSIGNED-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    };
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(ok); i++)
        if (strv_eq_cstr(v, ok[i]))
            return true;
    return false;
}

static bool consttime_eq(strv_t a, const char *b)
{
    size_t n = strlen(b);
    return a.len == n && CRYPTO_memcmp(a.p, b, n) == 0;
}

void auth_sigv4_verify(auth_store_t *s, const auth_request_t *req, int64_t now_ms, auth_result_t *res)
{
    memset(res, 0, sizeof *res);
    res->status = AUTH_OK;
    const auth_header_t *h = req->headers;
    size_t nh = req->nheaders;
    sig_parts_t p;
    memset(&p, 0, sizeof p);

    if (req->path.len > KYOKA_HTTP_MAX_URL_BYTES || req->query.len > KYOKA_HTTP_MAX_URL_BYTES) {
        fail(res, AUTH_INCOMPLETE_SIGNATURE, "The request URL is too long to verify.");
        return;
    }

    /* ---- which form, and is it complete ---- */
    strv_t authz = auth__header_get(h, nh, "authorization");
    bool presign = auth__query_find(req->query, "X-Amz-Algorithm", NULL) ||
                   auth__query_find(req->query, "X-Amz-Credential", NULL) ||
                   auth__query_find(req->query, "X-Amz-Signature", NULL);
    if (authz.p && presign) {
        fail(res, AUTH_INCOMPLETE_SIGNATURE,
             "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
             "query string parameter or the Authorization header should be specified");
        return;
    }
    if (!authz.p && !presign) {
        if (auth__query_find(req->query, "AWSAccessKeyId", NULL) &&
            auth__query_find(req->query, "Signature", NULL))
            fail(res, AUTH_UNSUPPORTED_ALGORITHM, MSG_UNSUPPORTED);
        else
            res->status = AUTH_ANONYMOUS;
        return;
    }
    buf_t *pool = auth__store_scratch(s, 5);
    char amz_date[17] = "";
    if (presign) {
        if (!parse_presigned(req->query, pool, &p, res))
            return;
    } else {
        strv_t xdate = auth__header_get(h, nh, "x-amz-date");
        strv_t hdate = auth__header_get(h, nh, "date");
        if (!parse_header(authz, xdate.p || hdate.p, &p, res))
            return;
        if (xdate.p) {
            p.date = xdate;
        } else if (http_date_to_amz(hdate, amz_date)) {
            p.date = (strv_t){amz_date, 16};
        } else {
            fail(res, AUTH_INCOMPLETE_SIGNATURE,
                 "Date must be in ISO-8601 'basic format'. Got '%.*s'. See http://en.wikipedia.org/wiki/ISO_8601",
                 (int)hdate.len, hdate.p);
            return;
        }
        p.token = auth__header_get(h, nh, "x-amz-security-token");
    }
    if (!parse_scope(&p, res))
        return;
    int64_t t_ms;
    if (kyoka_time_parse_amz(p.date, &t_ms) != 0) {
        fail(res, AUTH_INCOMPLETE_SIGNATURE,
             "Date must be in ISO-8601 'basic format'. Got '%.*s'. See http://en.wikipedia.org/wiki/ISO_8601",
             (int)p.date.len, p.date.p);
        return;
    }
    memcpy(res->amz_date, p.date.p, 16);
    res->amz_date[16] = '\0';
    if (memcmp(res->date, res->amz_date, 8) != 0) {
        fail(res, AUTH_SIGNATURE_MISMATCH,
             "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
             "HTTP: '%s' != '%.8s', from '%s'.",
             res->date, res->amz_date, res->amz_date);
        return;
    }
    bool s3 = strv_eq_cstr(p.service, "s3");
    int64_t expires_s = -1;
    if (p.presigned) {
        if (!p.expires.p && s3) {
            fail(res, AUTH_INCOMPLETE_SIGNATURE, MSG_QUERY_PARAMS);
            return;
        }
        if (p.expires.p) {
            int64_t v = 0;
            bool digits = p.expires.len > 0 && p.expires.len <= 9;
            for (size_t i = 0; digits && i < p.expires.len; i++) {
                digits = p.expires.p[i] >= '0' && p.expires.p[i] <= '9';
                v = v * 10 + (p.expires.p[i] - '0');
            }
            if (!digits) {
                fail(res, AUTH_INCOMPLETE_SIGNATURE, "X-Amz-Expires should be a number");
                return;
            }
            if (v > KYOKA_SIGV4_MAX_EXPIRES_S) {
                fail(res, AUTH_INCOMPLETE_SIGNATURE,
                     "X-Amz-Expires must be less than a week (in seconds) that is 604800");
                return;
            }
            expires_s = v;
        }
    }

    /* ---- the key ---- */
    const auth_cred_t *cred = auth_store_lookup(s, p.akid);
    if (!cred) {
        fail(res, AUTH_UNKNOWN_KEY, MSG_INVALID_TOKEN);
        return;
    }
    if (!cred->active) {
        fail(res, AUTH_KEY_INACTIVE, MSG_INVALID_TOKEN);
        return;
    }
    if (cred->session_token && (!p.token.p || !consttime_eq(p.token, cred->session_token))) {
        fail(res, AUTH_TOKEN_INVALID, MSG_INVALID_TOKEN);
        return;
    }
    if (cred->expires_ms && cred->expires_ms < now_ms) {
        fail(res, AUTH_TOKEN_EXPIRED, "The security token included in the request is expired");
        return;
    }

    /* ---- the clock ---- */
    int64_t wall_ms = req->wall_ms ? req->wall_ms : now_ms;
    if (p.presigned && t_ms > wall_ms + MAX_SKEW_MS) {
        fail(res, AUTH_PRESIGN_EXPIRED, "Request is not yet valid");
        return;
    }
    if (p.presigned && expires_s >= 0) {
        if (now_ms > t_ms + expires_s * 1000) {
            fail(res, AUTH_PRESIGN_EXPIRED, "Request has expired");
            return;
        }
    } else if (t_ms < wall_ms - MAX_SKEW_MS || t_ms > wall_ms + MAX_SKEW_MS) {
        /* A presigned URL without X-Amz-Expires (non-S3) gets the same
         * window as a header-signed request. */
        char now_s[17], edge[17];
        fmt_amz(wall_ms, now_s);
        if (t_ms < wall_ms) {
            fmt_amz(wall_ms - MAX_SKEW_MS, edge);
            fail(res, AUTH_REQUEST_EXPIRED, "Signature expired: %s is now earlier than %s (%s - 15 min.)",
                 res->amz_date, edge, now_s);
        } else {
            fmt_amz(wall_ms + MAX_SKEW_MS, edge);
            fail(res, AUTH_REQUEST_EXPIRED,
                 "Signature not yet current: %s is still later than %s (%s + 15 min.)", res->amz_date,
                 edge, now_s);
        }
        return;
    }

    /* ---- the payload hash the client signed ---- */
    strv_t declared = auth__header_get(h, nh, "x-amz-content-sha256");
    char body_hex[65];
    bool have_body_hex = false;
    strv_t pay[2];
    size_t npay = 0;
    if (declared.p) {
        if (!auth__is_hex64(declared) && !is_payload_token(declared)) {
            fail(res, AUTH_CONTENT_SHA_MISMATCH,
                 "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
                 "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
                 "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, "
                 "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.");
            return;
        }
        memcpy(res->content_sha256, declared.p, declared.len);
        pay[npay++] = declared;
        /* A presigned URL was signed before anyone knew what headers the
         * uploader would add. */
        if (p.presigned && !strv_eq_cstr(declared, "UNSIGNED-PAYLOAD"))
            pay[npay++] = STRV_LIT("UNSIGNED-PAYLOAD");
    } else if (p.presigned && s3) {
        pay[npay++] = STRV_LIT("UNSIGNED-PAYLOAD");
    } else {
        auth_sha256_hex(req->has_body ? req->body.p : NULL, req->has_body ? req->body.len : 0, body_hex);
        have_body_hex = true;
        pay[npay++] = (strv_t){body_hex, 64};
        /* Presigned URLs for other services (an EKS token is an STS
         * GetCallerIdentity URL) are hashed by botocore and the JS SDK alike,
         * but some signers use UNSIGNED-PAYLOAD as S3 does. */
        if (p.presigned)
            pay[npay++] = STRV_LIT("UNSIGNED-PAYLOAD");
    }

    /* ---- the signature ---- */
    unsigned char key[32];
    auth__store_signing_key(s, strv_from(cred->secret_access_key), p.sdate, p.region, p.service, key);
    if (!auth__is_hex64(p.signature) || !signature_matches(s, req, &p, key, pay, npay, res->amz_date)) {
        OPENSSL_cleanse(key, sizeof key);
        fail(res, AUTH_SIGNATURE_MISMATCH, MSG_MISMATCH);
        return;
    }
    if (declared.p && auth__is_hex64(declared) && req->has_body) {
        if (!have_body_hex)
            auth_sha256_hex(req->body.p, req->body.len, body_hex);
        if (memcmp(body_hex, declared.p, 64) != 0) {
            OPENSSL_cleanse(key, sizeof key);
            fail(res, AUTH_CONTENT_SHA_MISMATCH,
                 "The provided 'x-amz-content-sha256' header does not match what was computed.");
            return;
        }
    }
    res->cred = cred;
    memcpy(res->signing_key, key, 32);
    OPENSSL_cleanse(key, sizeof key);
    memcpy(res->seed_signature, p.signature.p, 64);
    res->seed_signature[64] = '\0';
}

/* ---- scope peeking for the router ---- */

bool auth_sigv4_peek_scope(const auth_request_t *req, char service[64], char region[64])
{
    strv_t cred = STRV_NULL;
    buf_t dec;
    buf_init(&dec, 512);
    strv_t authz = auth__header_get(req->headers, req->nheaders, "authorization");
    strv_t raw;
    if (authz.p) {
        const char *k = NULL;
        for (size_t i = 0; i + 11 <= authz.len; i++) {
            if (memcmp(authz.p + i, "Credential=", 11) == 0) {
                k = authz.p + i + 11;
                break;
            }
        }
        if (k) {
            size_t n = 0, max = (size_t)(authz.p + authz.len - k);
            while (n < max && k[n] != ',' && k[n] != ' ')
                n++;
            cred = (strv_t){k, n};
        }
    } else if (auth__query_find(req->query, "X-Amz-Credential", &raw) && raw.len <= 3 * 512) {
        auth__pct_decode(raw, &dec);
        if (buf_err(&dec) == 0)
            cred = buf_view(&dec);
    }
    bool ok = false;
    if (cred.p) {
        strv_t part[4];
        size_t n = 0, i = 0;
        while (i <= cred.len && n < 4) {
            size_t j = i;
            while (j < cred.len && cred.p[j] != '/')
                j++;
            part[n++] = (strv_t){cred.p + i, j - i};
            i = j + 1;
        }
        if (n == 4 && part[2].len && part[2].len < 64 && part[3].len && part[3].len < 64) {
            memcpy(region, part[2].p, part[2].len);
            region[part[2].len] = '\0';
            memcpy(service, part[3].p, part[3].len);
            service[part[3].len] = '\0';
            ok = true;
        }
    }
    buf_destroy(&dec);
    return ok;
}

/* ---- signing, for tests and the load generator ---- */

static int name_cmp(const void *a, const void *b)
{
    const strv_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->p, y->p, n) : 0;
    return c ? c : (x->len < y->len ? -1 : x->len > y->len);
}

int auth_sigv4_sign(const auth_request_t *req, const char *akid, const char *secret, const char *amz_date,
                    const char *region, const char *service, const char *payload_hash, buf_t *out)
{
    int64_t t;
    if (!akid || !secret || !amz_date || !region || !service || !payload_hash ||
        kyoka_time_parse_amz(strv_from(amz_date), &t) != 0 || strlen(region) >= 64 ||
        strlen(service) >= 64)
        return KYOKA_EINVAL;
    if (req->nheaders > AUTH_MAX_SIGNED_HEADERS)
        return KYOKA_ELIMIT;

    /* Signed headers: every header but Authorization, lower-cased, sorted,
     * each name once (repeats are joined in the canonical headers). */
    buf_t names;
    buf_init(&names, KYOKA_HTTP_MAX_HEADER_BYTES);
    size_t off[AUTH_MAX_SIGNED_HEADERS];
    strv_t list[AUTH_MAX_SIGNED_HEADERS];
    size_t n = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        strv_t nm = req->headers[i].name;
        if (strv_caseeq_cstr(nm, "authorization"))
            continue;
        off[n] = names.len;
        for (size_t k = 0; k < nm.len; k++) {
            char c = nm.p[k];
            buf_appendc(&names, c >= 'A' && c <= 'Z' ? (char)(c + 32) : c);
        }
        list[n] = (strv_t){NULL, nm.len};
        n++;
    }
    int rc = buf_err(&names);
    buf_t sh, canon;
    buf_init(&sh, KYOKA_HTTP_MAX_HEADER_BYTES);
    buf_init(&canon, AUTH_CANONICAL_MAX);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            list[i].p = names.data + off[i];
        qsort(list, n, sizeof *list, name_cmp);
        for (size_t i = 0; i < n; i++) {
            if (i && strv_eq(list[i], list[i - 1]))
                continue;
            if (sh.len)
                buf_appendc(&sh, ';');
            buf_append(&sh, list[i].p, list[i].len);
        }
        rc = buf_err(&sh);
    }
    if (rc == 0) {
        buf_t uri, query;
        buf_init(&uri, AUTH_CANONICAL_MAX);
        buf_init(&query, AUTH_CANONICAL_MAX);
        auth__canon_uri(req->path, strcmp(service, "s3") == 0 ? AUTH_URI_S3 : AUTH_URI_ENCODE, &uri);
        rc = buf_err(&uri);
        if (rc == 0)
            rc = auth__canon_query(req->query, true, false, &query);
        if (rc == 0)
            rc = auth__canon_request(req->method, buf_view(&uri), buf_view(&query), req->headers,
                                     req->nheaders, buf_view(&sh), strv_from(payload_hash), &canon);
        buf_destroy(&uri);
        buf_destroy(&query);
    }
    if (rc == 0) {
        char hash[65], sts[512], sig[65];
        auth_sha256_hex(canon.data, canon.len, hash);
        int len = snprintf(sts, sizeof sts, AUTH_ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date,
                           amz_date, region, service, hash);
        unsigned char key[32];
        auth__signing_key_derive(strv_from(secret), (strv_t){amz_date, 8}, strv_from(region),
                                 strv_from(service), key);
        auth__sign_hex(key, sts, (size_t)len, sig);
        OPENSSL_cleanse(key, sizeof key);
        rc = buf_appendf(out, AUTH_ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
                         akid, amz_date, region, service, sh.data, sig);
    }
    buf_destroy(&names);
    buf_destroy(&sh);
    buf_destroy(&canon);
    return rc;
}
