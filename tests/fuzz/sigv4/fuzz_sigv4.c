/*
 * libFuzzer target for src/auth: SigV4 verification (both forms), scope
 * peeking, signing, and aws-chunked decoding in all three modes.
 *
 * Input layout, so seeds can be written by hand:
 *
 *   METHOD\n PATH\n QUERY\n
 *   Name: value\n ...        (headers, up to an empty line)
 *   \n
 *   BODY                     (the rest, bytes as they are)
 *
 * The body goes to verify as the buffered payload and, split at points
 * taken from its own bytes, to an aws-chunked decoder per mode. The signed
 * decoders are seeded from AWS's streaming example (key, scope and seed
 * signatures of sigv4-streaming.html), so a seed body signed for that
 * example runs all the way through the chunk and trailer checks. The store
 * holds the test-suite key and the S3 example key; the clock is the suite's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/internal.h"

#define MAX_HEADERS 64

static int sink(void *data, const char *p, size_t n)
{
    size_t *total = data;
    *total += n;
    (void)p;
    return 0;
}

static void chunked(const char *mode, const auth_result_t *res, const uint8_t *body, size_t n)
{
    size_t total = 0;
    auth_chunked_t *c = auth_chunked_create(mode, res, sink, &total);
    if (!c)
        return;
    size_t at = 0, step = n ? 1 + body[0] % 23 : 1;
    int rc = 0;
    while (at < n && rc == 0) {
        size_t take = n - at < step ? n - at : step;
        rc = auth_chunked_feed(c, (const char *)body + at, take);
        at += take;
        step = 1 + (step * 7 + body[at - 1]) % 97;
    }
    if (rc == 0)
        rc = auth_chunked_finish(c);
    (void)auth_chunked_error(c);
    if (auth_chunked_decoded_bytes(c) != total)
        abort();
    auth_chunked_free(c);
}

static strv_t next_line(const char **p, const char *end)
{
    const char *s = *p;
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    const char *e = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    if (e > s && e[-1] == '\r')
        e--;
    return (strv_t){s, (size_t)(e - s)};
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    auth_request_t req;
    memset(&req, 0, sizeof req);
    auth_header_t h[MAX_HEADERS];
    req.method = next_line(&p, end);
    req.path = next_line(&p, end);
    req.query = next_line(&p, end);
    size_t nh = 0;
    while (p < end) {
        strv_t l = next_line(&p, end);
        if (l.len == 0)
            break;
        if (nh == MAX_HEADERS)
            continue;
        const char *colon = memchr(l.p, ':', l.len);
        size_t nlen = colon ? (size_t)(colon - l.p) : l.len;
        strv_t v = colon ? (strv_t){colon + 1, l.len - nlen - 1} : (strv_t){l.p + l.len, 0};
        while (v.len && v.p[0] == ' ')
            v.p++, v.len--;
        h[nh].name = (strv_t){l.p, nlen};
        h[nh].value = v;
        nh++;
    }
    req.headers = h;
    req.nheaders = nh;
    req.body = (strv_t){p, (size_t)(end - p)};
    req.has_body = size % 3 != 0;

    auth_store_t *s = auth_store_create();
    auth_cred_t suite = {.access_key_id = "AKIDEXAMPLE",
                         .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                         .type = AUTH_PRINCIPAL_ROOT,
                         .active = true};
    auth_cred_t s3 = {.access_key_id = "AKIAIOSFODNN7EXAMPLE",
                      .secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                      .session_token = "SESSIONTOKEN/abc+==",
                      .type = AUTH_PRINCIPAL_ASSUMED_ROLE,
                      .active = true};
    auth_store_put(s, &suite);
    auth_store_put(s, &s3);
    int64_t now = 0;
    if (kyoka_time_parse_amz(STRV_LIT("20150830T123600Z"), &now) != 0)
        abort();

    auth_result_t res;
    auth_sigv4_verify(s, &req, now, &res);
    if (res.message[sizeof res.message - 1] != '\0')
        abort();
    if (res.status == AUTH_OK && res.cred == NULL)
        abort();
    if (res.status == AUTH_OK && res.content_sha256[0])
        chunked(res.content_sha256, &res, (const uint8_t *)req.body.p, req.body.len);

    char svc[64], region[64];
    (void)auth_sigv4_peek_scope(&req, svc, region);

    buf_t out;
    buf_init(&out, 8192);
    int signed_rc = auth_sigv4_sign(&req, "AKIDEXAMPLE", "secret", "20150830T123600Z", "us-east-1",
                          req.method.len && req.method.p[0] == 'P' ? "s3" : "service", AUTH_EMPTY_SHA256, &out);
    if (signed_rc == 0 && !strv_starts_with(buf_view(&out), "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"))
        abort();
    buf_destroy(&out);

    /* The decoders on their own, with AWS's streaming example as context. */
    auth_result_t ex;
    memset(&ex, 0, sizeof ex);
    ex.status = AUTH_OK;
    memcpy(ex.date, "20130524", 9);
    memcpy(ex.amz_date, "20130524T000000Z", 17);
    memcpy(ex.region, "us-east-1", 10);
    memcpy(ex.service, "s3", 3);
    auth__signing_key_derive(STRV_LIT("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), STRV_LIT("20130524"),
                             STRV_LIT("us-east-1"), STRV_LIT("s3"), ex.signing_key);
    const uint8_t *body = (const uint8_t *)req.body.p;
    memcpy(ex.seed_signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", 65);
    chunked("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", &ex, body, req.body.len);
    memcpy(ex.seed_signature, "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e", 65);
    chunked("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", &ex, body, req.body.len);
    chunked("STREAMING-UNSIGNED-PAYLOAD-TRAILER", NULL, body, req.body.len);

    auth_store_free(s);
    return 0;
}
