/*
 * aws-chunked decoding.
 *
 * The signed examples are AWS's own
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
 * sigv4-streaming-trailers.html: 65 KiB of 'a' in a 64 KiB and a 1 KiB
 * chunk), starting from the request that carries the seed signature, so
 * verification and decoding are tested end to end. The small bodies were
 * signed with an independent implementation (Python hmac/hashlib) from the
 * same key and seeds, and the unsigned one is botocore's own PutObject body.
 * Small bodies are fed split at every byte so no state transition depends
 * on where the network cuts the stream.
 */
#include "test_auth.h"

#include <stdio.h>
#include <stdlib.h>

#include "auth/internal.h"

#define S3_AKID "AKIAIOSFODNN7EXAMPLE"
#define S3_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SIGNED "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define SIGNED_TRAILER "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define UNSIGNED_TRAILER "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

typedef struct sink {
    buf_t out;
    int fail_with; /* return this once out reaches fail_at bytes */
    size_t fail_at;
} sink_t;

static int on_data(void *data, const char *p, size_t n)
{
    sink_t *s = data;
    if (s->fail_with && s->out.len + n >= s->fail_at)
        return s->fail_with;
    return buf_append(&s->out, p, n);
}

/* The seed request from the AWS example, verified for real. */
static void aws_example_result(auth_result_t *res)
{
    auth_store_t *s = auth_store_create();
    auth_cred_t c = {.access_key_id = S3_AKID, .secret_access_key = S3_SECRET, .active = true};
    auth_store_put(s, &c);
    vec_req_t v = {"aws-chunked-example", "PUT", "/examplebucket/chunkObject.txt", "", "",
                   {{"Host", "s3.amazonaws.com"},
                    {"x-amz-date", "20130524T000000Z"},
                    {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                    {"Authorization",
                     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                     "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                     "x-amz-decoded-content-length;x-amz-storage-class,"
                     "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"},
                    {"x-amz-content-sha256", SIGNED},
                    {"Content-Encoding", "aws-chunked"},
                    {"x-amz-decoded-content-length", "66560"},
                    {"Content-Length", "66824"}}};
    treq_t t;
    treq_from_vec(&t, &v);
    t.r.has_body = false;
    auth_sigv4_verify(s, &t.r, amz_ms("20130524T000000Z"), res);
    assert_int_equal(res->status, AUTH_OK);
    assert_string_equal(res->seed_signature, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    assert_string_equal(res->content_sha256, SIGNED);
    /* The store may go; the result holds everything the decoder needs. */
    auth_store_free(s);
}

static char *aws_example_body(size_t *n, bool trailer, bool blank_before_trailer)
{
    buf_t b;
    buf_init(&b, 80 * 1024);
    char *a = malloc(65536);
    memset(a, 'a', 65536);
    buf_appends(&b, trailer ? "10000;chunk-signature=b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2\r\n"
                            : "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n");
    buf_append(&b, a, 65536);
    buf_appends(&b, trailer ? "\r\n400;chunk-signature=1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7\r\n"
                            : "\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
    buf_append(&b, a, 1024);
    if (!trailer) {
        buf_appends(&b, "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
    } else {
        buf_appends(&b, "\r\n0;chunk-signature=2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992\r\n");
        if (blank_before_trailer)
            buf_appends(&b, "\r\n");
        buf_appends(&b, "x-amz-checksum-crc32c:sOO8/Q==\r\n"
                        "x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n");
    }
    free(a);
    assert_int_equal(buf_err(&b), 0);
    return buf_detach(&b, n);
}

/* Feed body in pieces ending at each cut, then finish. Returns the first
 * non-zero code. */
static int run(const char *mode, const auth_result_t *res, const char *body, size_t n, const size_t *cuts,
               size_t ncuts, sink_t *sink, char *err, size_t errlen)
{
    auth_chunked_t *c = auth_chunked_create(mode, res, on_data, sink);
    assert_non_null(c);
    int rc = 0;
    size_t at = 0;
    for (size_t i = 0; i <= ncuts && rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        rc = auth_chunked_feed(c, body + at, end - at);
        at = end;
    }
    if (rc == 0)
        rc = auth_chunked_finish(c);
    if (err)
        snprintf(err, errlen, "%s", auth_chunked_error(c));
    if (rc == 0)
        assert_true(auth_chunked_decoded_bytes(c) == sink->out.len);
    auth_chunked_free(c);
    return rc;
}

static int run_whole(const char *mode, const auth_result_t *res, const char *body, sink_t *sink, char *err)
{
    return run(mode, res, body, strlen(body), NULL, 0, sink, err, err ? 256 : 0);
}

static void sink_init(sink_t *s)
{
    memset(s, 0, sizeof *s);
    buf_init(&s->out, 1 << 20);
}

/* Every way of cutting body in two, byte by byte, and every truncation. */
static void check_splits(const char *mode, const auth_result_t *res, const char *body, const char *want)
{
    size_t n = strlen(body);
    for (size_t k = 0; k <= n; k++) {
        sink_t s;
        sink_init(&s);
        size_t cut = k;
        int rc = run(mode, res, body, n, &cut, 1, &s, NULL, 0);
        if (rc != 0 || strcmp(s.out.data, want) != 0)
            fail_msg("split at %zu: rc %d, out '%s'", k, rc, s.out.data);
        buf_destroy(&s.out);
    }
    size_t *cuts = calloc(n + 1, sizeof *cuts); /* zeroed: the compiler cannot see that n > 0 */
    for (size_t k = 0; k < n; k++)
        cuts[k] = k;
    sink_t s;
    sink_init(&s);
    assert_int_equal(run(mode, res, body, n, cuts, n, &s, NULL, 0), 0);
    assert_string_equal(s.out.data, want);
    buf_destroy(&s.out);
    free(cuts);
    for (size_t k = 0; k < n; k++) {
        sink_init(&s);
        int rc = run(mode, res, body, k, NULL, 0, &s, NULL, 0);
        if (rc != KYOKA_EPARSE)
            fail_msg("truncated at %zu: rc %d", k, rc);
        buf_destroy(&s.out);
    }
}

/* ---- STREAMING-AWS4-HMAC-SHA256-PAYLOAD ---- */

static void test_aws_example(void **state)
{
    (void)state;
    auth_result_t res;
    aws_example_result(&res);
    size_t n;
    char *body = aws_example_body(&n, false, false);
    assert_int_equal(n, 66824); /* the example's Content-Length */
    size_t steps[] = {1, 7, 1000, 65536 + 87, n};
    for (size_t si = 0; si < KYOKA_ARRAY_LEN(steps); si++) {
        size_t ncuts = n / steps[si];
        size_t *cuts = malloc((ncuts + 1) * sizeof *cuts);
        for (size_t i = 0; i < ncuts; i++)
            cuts[i] = (i + 1) * steps[si];
        if (ncuts && cuts[ncuts - 1] > n)
            ncuts--;
        sink_t s;
        sink_init(&s);
        assert_int_equal(run(SIGNED, &res, body, n, cuts, ncuts, &s, NULL, 0), 0);
        assert_int_equal(s.out.len, 66560);
        for (size_t i = 0; i < s.out.len; i++)
            if (s.out.data[i] != 'a')
                fail_msg("byte %zu", i);
        buf_destroy(&s.out);
        free(cuts);
    }

    /* One byte of data changed: that chunk's signature no longer holds. */
    body[40000] = 'b'; /* inside the first chunk's data */
    sink_t s;
    sink_init(&s);
    char err[256];
    assert_int_equal(run(SIGNED, &res, body, n, NULL, 0, &s, err, sizeof err), KYOKA_EAUTH);
    assert_string_equal(err, "The request signature we calculated does not match the signature you provided. "
                             "Check your key and signing method.");
    buf_destroy(&s.out);
    free(body);

    /* Chunks in another order break the chain. */
    auth_result_t other = res;
    memcpy(other.seed_signature, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497", 64);
    body = aws_example_body(&n, false, false);
    sink_init(&s);
    assert_int_equal(run(SIGNED, &other, body, n, NULL, 0, &s, NULL, 0), KYOKA_EAUTH);
    buf_destroy(&s.out);
    free(body);
}

static const char small_signed[] =
    "6;chunk-signature=36a9919e5e855a54fc5e137c919e524764c71ade46792d228f7ebaade71602ab\r\nhello \r\n"
    "5;chunk-signature=927d7061508e51b79d4e40eb55aed9033cd0c471859241fb0355ca3c9ff53a92\r\nworld\r\n"
    "0;chunk-signature=ae13d294fc309f1858acb23b717c250dc572e78820dfd4bf5bae1dcb2055298f\r\n\r\n";

static void test_signed_splits(void **state)
{
    (void)state;
    auth_result_t res;
    aws_example_result(&res);
    check_splits(SIGNED, &res, small_signed, "hello world");
}

static void expect_fail(const char *mode, const auth_result_t *res, const char *body, int want_rc, const char *want_msg)
{
    sink_t s;
    sink_init(&s);
    char err[256];
    int rc = run_whole(mode, res, body, &s, err);
    if (rc != want_rc)
        fail_msg("rc %d (%s), want %d", rc, err, want_rc);
    if (want_msg)
        assert_string_equal(err, want_msg);
    buf_destroy(&s.out);
}

static void test_signed_errors(void **state)
{
    (void)state;
    auth_result_t res;
    aws_example_result(&res);
    char body[sizeof small_signed];

    /* The final chunk dropped. */
    expect_fail(SIGNED, &res,
                "6;chunk-signature=36a9919e5e855a54fc5e137c919e524764c71ade46792d228f7ebaade71602ab\r\nhello \r\n",
                KYOKA_EPARSE, "The request body terminated unexpectedly");
    /* The last chunk cut off: its successor's signature does not chain. */
    expect_fail(SIGNED, &res,
                "6;chunk-signature=36a9919e5e855a54fc5e137c919e524764c71ade46792d228f7ebaade71602ab\r\nhello \r\n"
                "0;chunk-signature=ae13d294fc309f1858acb23b717c250dc572e78820dfd4bf5bae1dcb2055298f\r\n\r\n",
                KYOKA_EAUTH, NULL);
    /* No signature on a chunk. */
    expect_fail(SIGNED, &res, "6\r\nhello \r\n", KYOKA_EPARSE, "The chunk signature is missing or malformed.");
    /* Bad size. */
    expect_fail(SIGNED, &res, "zz;chunk-signature=00\r\n", KYOKA_EPARSE, NULL);
    expect_fail(SIGNED, &res, "1234567890abcdef0;chunk-signature=00\r\n", KYOKA_EPARSE, NULL);
    /* Data longer than declared. */
    memcpy(body, small_signed, sizeof body);
    body[0] = '5';
    expect_fail(SIGNED, &res, body, KYOKA_EPARSE, "Chunk data is not followed by CRLF.");
    /* LF without CR. */
    expect_fail(SIGNED, &res, "6;chunk-signature=36a9919e5e855a54fc5e137c919e524764c71ade46792d228f7ebaade71602ab\n",
                KYOKA_EPARSE, NULL);
    /* Bytes after the end. */
    char longer[sizeof small_signed + 4];
    snprintf(longer, sizeof longer, "%sxx", small_signed);
    expect_fail(SIGNED, &res, longer, KYOKA_EPARSE, NULL);
    /* Something other than the empty line after the final chunk. */
    snprintf(body, sizeof body, "%s", small_signed);
    body[sizeof small_signed - 3] = 'x';
    expect_fail(SIGNED, &res, body, KYOKA_EPARSE, NULL);
}

static void test_line_limit(void **state)
{
    (void)state;
    auth_result_t res;
    aws_example_result(&res);
    auth_chunked_t *c;
    sink_t s;
    sink_init(&s);
    char junk[1000];
    memset(junk, 'f', sizeof junk);
    c = auth_chunked_create(UNSIGNED_TRAILER, NULL, on_data, &s);
    int rc = 0;
    for (int i = 0; i < 5 && rc == 0; i++)
        rc = auth_chunked_feed(c, junk, sizeof junk);
    assert_int_equal(rc, KYOKA_EPARSE);
    /* The error is sticky. */
    assert_int_equal(auth_chunked_feed(c, "0\r\n\r\n", 5), KYOKA_EPARSE);
    assert_int_equal(auth_chunked_finish(c), KYOKA_EPARSE);
    auth_chunked_free(c);

    /* A trailer section past 16 KiB, in lines each under the line cap. */
    c = auth_chunked_create(UNSIGNED_TRAILER, NULL, on_data, &s);
    assert_int_equal(auth_chunked_feed(c, "0\r\n", 3), 0);
    char line[1100];
    int n = snprintf(line, sizeof line, "x-amz-meta-pad:%.1000s\r\n", junk);
    rc = 0;
    for (int i = 0; i < 20 && rc == 0; i++)
        rc = auth_chunked_feed(c, line, (size_t)n);
    assert_int_equal(rc, KYOKA_EPARSE);
    assert_string_equal(auth_chunked_error(c), "The request contained trailing data that was not well-formed or "
                                                "did not conform to our published schema.");
    auth_chunked_free(c);
    buf_destroy(&s.out);
}

static void test_sink_error(void **state)
{
    (void)state;
    auth_result_t res;
    aws_example_result(&res);
    sink_t s;
    sink_init(&s);
    s.fail_with = KYOKA_EIO;
    s.fail_at = 8;
    assert_int_equal(run_whole(SIGNED, &res, small_signed, &s, NULL), KYOKA_EIO);
    buf_destroy(&s.out);
}

static void test_create(void **state)
{
    (void)state;
    auth_result_t res;
    aws_example_result(&res);
    sink_t s;
    assert_null(auth_chunked_create("UNSIGNED-PAYLOAD", &res, on_data, &s));
    assert_null(auth_chunked_create("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", &res, on_data, &s));
    assert_null(auth_chunked_create(NULL, &res, on_data, &s));
    assert_null(auth_chunked_create(SIGNED, NULL, on_data, &s));
    auth_result_t failed = res;
    failed.status = AUTH_SIGNATURE_MISMATCH;
    assert_null(auth_chunked_create(SIGNED_TRAILER, &failed, on_data, &s));
    auth_chunked_free(NULL);
}

/* ---- STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER ---- */

static void trailer_result(auth_result_t *res)
{
    aws_example_result(res);
    /* The trailer example's request signature. */
    memcpy(res->seed_signature, "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e", 65);
}

static void test_aws_trailer_example(void **state)
{
    (void)state;
    auth_result_t res;
    trailer_result(&res);
    for (int blank = 0; blank < 2; blank++) {
        size_t n;
        char *body = aws_example_body(&n, true, blank);
        sink_t s;
        sink_init(&s);
        char err[256];
        size_t cuts[] = {100, 65536 + 90, n - 50};
        int rc = run(SIGNED_TRAILER, &res, body, n, cuts, 3, &s, err, sizeof err);
        if (rc)
            fail_msg("blank %d: rc %d: %s", blank, rc, err);
        assert_int_equal(s.out.len, 66560);
        buf_destroy(&s.out);
        free(body);
    }
}

static const char small_trailer[] =
    "3;chunk-signature=bd226594e2b2d0491a3aa9549729a39615dafb39000d4a5226f7c9f8098ea7e8\r\nabc\r\n"
    "0;chunk-signature=91883fa449f815361b96f7e0db5c1c9dae11baf91adedddef5bb71b991a6f139\r\n"
    "x-amz-checksum-crc32c:Nks/tw==\r\n"
    "x-amz-trailer-signature:30e37e284693206976a8fda5c2f95a568eb09d124fc715706986249e830b414c\r\n\r\n";

/* Correctly signed, but the checksum is not that of "abc". */
static const char small_trailer_bad_crc[] =
    "3;chunk-signature=bd226594e2b2d0491a3aa9549729a39615dafb39000d4a5226f7c9f8098ea7e8\r\nabc\r\n"
    "0;chunk-signature=91883fa449f815361b96f7e0db5c1c9dae11baf91adedddef5bb71b991a6f139\r\n"
    "x-amz-checksum-crc32c:AAAAAA==\r\n"
    "x-amz-trailer-signature:03c5618f9878dfa35af9f7f43a0c6edb76879f832d5b129b183e3dc3fe254234\r\n\r\n";

static void test_signed_trailer(void **state)
{
    (void)state;
    auth_result_t res;
    trailer_result(&res);
    check_splits(SIGNED_TRAILER, &res, small_trailer, "abc");

    expect_fail(SIGNED_TRAILER, &res, small_trailer_bad_crc, KYOKA_EINVAL,
                "The CRC32C you specified did not match the calculated checksum.");

    /* The checksum altered without re-signing: the signature catches it first. */
    char body[sizeof small_trailer];
    memcpy(body, small_trailer, sizeof body);
    char *v = strstr(body, "Nks/tw==");
    v[0] = 'M';
    expect_fail(SIGNED_TRAILER, &res, body, KYOKA_EAUTH, NULL);

    /* No trailer signature. */
    expect_fail(SIGNED_TRAILER, &res,
                "3;chunk-signature=bd226594e2b2d0491a3aa9549729a39615dafb39000d4a5226f7c9f8098ea7e8\r\nabc\r\n"
                "0;chunk-signature=91883fa449f815361b96f7e0db5c1c9dae11baf91adedddef5bb71b991a6f139\r\n"
                "x-amz-checksum-crc32c:Nks/tw==\r\n\r\n",
                KYOKA_EAUTH, "The trailer signature x-amz-trailer-signature is missing.");

    /* A header after the signature. */
    char more[sizeof small_trailer + 32];
    snprintf(more, sizeof more, "%.*sx-amz-meta-a:b\r\n\r\n", (int)(sizeof small_trailer - 3), small_trailer);
    expect_fail(SIGNED_TRAILER, &res, more, KYOKA_EPARSE, NULL);

    /* Told to expect crc32c: fine. Told to expect sha256: missing. */
    sink_t s;
    sink_init(&s);
    auth_chunked_t *c = auth_chunked_create(SIGNED_TRAILER, &res, on_data, &s);
    assert_int_equal(auth_chunked_expect_trailer(c, STRV_LIT("x-amz-checksum-crc32c")), 0);
    assert_int_equal(auth_chunked_feed(c, small_trailer, strlen(small_trailer)), 0);
    assert_int_equal(auth_chunked_finish(c), 0);
    assert_int_equal(auth_chunked_expect_trailer(c, STRV_LIT("x-amz-checksum-crc32c")), KYOKA_EINVAL);
    auth_chunked_free(c);
    c = auth_chunked_create(SIGNED_TRAILER, &res, on_data, &s);
    assert_int_equal(auth_chunked_expect_trailer(c, STRV_LIT("x-amz-checksum-sha256")), 0);
    assert_int_equal(auth_chunked_feed(c, small_trailer, strlen(small_trailer)), KYOKA_EINVAL);
    auth_chunked_free(c);
    buf_destroy(&s.out);
}

/* ---- STREAMING-UNSIGNED-PAYLOAD-TRAILER ---- */

/* botocore 1.43.11 PutObject of "hello" with its default CRC32. */
static const char botocore_put[] = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n";

static void test_unsigned_trailer(void **state)
{
    (void)state;
    check_splits(UNSIGNED_TRAILER, NULL, botocore_put, "hello");
    check_splits(UNSIGNED_TRAILER, NULL, "3\r\nabc\r\n0\r\nx-amz-checksum-sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=\r\n\r\n",
                 "abc");
    check_splits(UNSIGNED_TRAILER, NULL, "1\r\na\r\n2\r\nbc\r\n0\r\nx-amz-checksum-crc64nvme:BeXKuz/B+us=\r\n\r\n", "abc");
    check_splits(UNSIGNED_TRAILER, NULL, "3\r\nabc\r\n0\r\nx-amz-checksum-sha1:qZk+NkcGgWq6PiVxeFDCbJzQ2J0=\r\n\r\n",
                 "abc");
    /* The JS SDK's framing is the same; an empty body has only the trailer. */
    check_splits(UNSIGNED_TRAILER, NULL, "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", "");
    check_splits(UNSIGNED_TRAILER, NULL, "0\r\n\r\n", "");
    /* Chunk extensions and upper-case hex. */
    check_splits(UNSIGNED_TRAILER, NULL, "B;ext=1\r\nhello world\r\n0\r\n\r\n", "hello world");

    expect_fail(UNSIGNED_TRAILER, NULL, "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhh==\r\n\r\n", KYOKA_EINVAL,
                "The CRC32 you specified did not match the calculated checksum.");
    expect_fail(UNSIGNED_TRAILER, NULL, "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:\r\n\r\n", KYOKA_EINVAL, NULL);
    expect_fail(UNSIGNED_TRAILER, NULL, "5\r\nhello\r\n0\r\nx-amz-checksum-md5:XUFAKrxLKna5cZ2REBfFkg==\r\n\r\n",
                KYOKA_EINVAL, "Value for x-amz-checksum-md5 trailing header is invalid.");
    expect_fail(UNSIGNED_TRAILER, NULL, "5\r\nhello\r\n0\r\nno colon here\r\n\r\n", KYOKA_EPARSE, NULL);
    expect_fail(UNSIGNED_TRAILER, NULL,
                "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
                KYOKA_EINVAL, NULL);

    /* x-amz-trailer promised a CRC32 that never came. */
    sink_t s;
    sink_init(&s);
    auth_chunked_t *c = auth_chunked_create(UNSIGNED_TRAILER, NULL, on_data, &s);
    assert_int_equal(auth_chunked_expect_trailer(c, STRV_LIT("x-amz-checksum-crc32")), 0);
    assert_int_equal(auth_chunked_feed(c, "5\r\nhello\r\n0\r\n\r\n", 16), KYOKA_EINVAL);
    auth_chunked_free(c);
    c = auth_chunked_create(UNSIGNED_TRAILER, NULL, on_data, &s);
    assert_int_equal(auth_chunked_expect_trailer(c, STRV_LIT("x-amz-checksum-md5")), KYOKA_EINVAL);
    auth_chunked_free(c);
    /* Only CRC32 is computed now, so a SHA-256 trailer cannot be checked. */
    c = auth_chunked_create(UNSIGNED_TRAILER, NULL, on_data, &s);
    assert_int_equal(auth_chunked_expect_trailer(c, STRV_LIT("x-amz-checksum-crc32")), 0);
    const char *sha = "3\r\nabc\r\n0\r\nx-amz-checksum-sha256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=\r\n\r\n";
    assert_int_equal(auth_chunked_feed(c, sha, strlen(sha)), KYOKA_EINVAL);
    auth_chunked_free(c);
    buf_destroy(&s.out);
}

/* The botocore PutObject end to end: verify the request, then its body. */
static void test_botocore_put_end_to_end(void **state)
{
    (void)state;
    auth_store_t *st = auth_store_create();
    auth_cred_t cred = {.access_key_id = "AKIDEXAMPLE",
                        .secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                        .active = true};
    auth_store_put(st, &cred);
    vec_req_t v = {"s3-put-small", "PUT", "/bkt/k", "", "",
                   {{"Expect", "100-continue"},
                    {"Transfer-Encoding", "chunked"},
                    {"Content-Encoding", "aws-chunked"},
                    {"X-Amz-Trailer", "x-amz-checksum-crc32"},
                    {"X-Amz-Decoded-Content-Length", "5"},
                    {"x-amz-sdk-checksum-algorithm", "CRC32"},
                    {"X-Amz-Date", "20150830T123600Z"},
                    {"X-Amz-Content-SHA256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
                    {"Authorization",
                     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, "
                     "SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
                     "x-amz-sdk-checksum-algorithm;x-amz-trailer, "
                     "Signature=8a9d4ffe6686470af2111637b524e685b21000e10ac37bff7fb6076fc0b2714a"},
                    {"Host", "localhost:4566"}}};
    treq_t t;
    treq_from_vec(&t, &v);
    t.r.has_body = false;
    auth_result_t res;
    auth_sigv4_verify(st, &t.r, amz_ms("20150830T123600Z"), &res);
    assert_int_equal(res.status, AUTH_OK);
    sink_t s;
    sink_init(&s);
    auth_chunked_t *c = auth_chunked_create(res.content_sha256, &res, on_data, &s);
    assert_non_null(c);
    assert_int_equal(auth_chunked_expect_trailer(c, STRV_LIT("x-amz-checksum-crc32")), 0);
    assert_int_equal(auth_chunked_feed(c, botocore_put, strlen(botocore_put)), 0);
    assert_int_equal(auth_chunked_finish(c), 0);
    assert_int_equal(auth_chunked_decoded_bytes(c), 5);
    assert_string_equal(s.out.data, "hello");
    auth_chunked_free(c);
    buf_destroy(&s.out);
    auth_store_free(st);
}

int run_chunked_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aws_example),
        cmocka_unit_test(test_signed_splits),
        cmocka_unit_test(test_signed_errors),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_sink_error),
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_aws_trailer_example),
        cmocka_unit_test(test_signed_trailer),
        cmocka_unit_test(test_unsigned_trailer),
        cmocka_unit_test(test_botocore_put_end_to_end),
    };
    return cmocka_run_group_tests_name("chunked", tests, NULL, NULL);
}
