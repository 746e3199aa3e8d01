/* Unit tests for S3's parsers and digests: Range values against object
 * sizes, the conditional headers in RFC 7232 order, and the checksum
 * engines against known answers (the check value of "123456789" for each
 * CRC, and the digests' base64 as the x-amz-checksum-* headers carry it). */
#include "services/s3/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void assert_range(const char *v, uint64_t size, s3_range_t want, uint64_t f, uint64_t l)
{
    uint64_t first = 99, last = 99;
    s3_range_t r = s3_range_parse(strv_from(v), size, &first, &last);
    assert_int_equal(r, want);
    if (want == S3_RANGE_OK) {
        assert_int_equal(first, f);
        assert_int_equal(last, l);
    }
}

static void test_range(void **state)
{
    (void)state;
    assert_range("bytes=0-9", 100, S3_RANGE_OK, 0, 9);
    assert_range("bytes=90-", 100, S3_RANGE_OK, 90, 99);
    assert_range("bytes=90-500", 100, S3_RANGE_OK, 90, 99);
    assert_range("bytes=-10", 100, S3_RANGE_OK, 90, 99);
    assert_range("bytes=-1000", 100, S3_RANGE_OK, 0, 99);
    assert_range("bytes=99-99", 100, S3_RANGE_OK, 99, 99);
    assert_range("bytes=100-", 100, S3_RANGE_UNSATISFIABLE, 0, 0);
    assert_range("bytes=-0", 100, S3_RANGE_UNSATISFIABLE, 0, 0);
    assert_range("bytes=0-", 0, S3_RANGE_UNSATISFIABLE, 0, 0);
    assert_range("bytes=5-1", 100, S3_RANGE_NONE, 0, 0);
    assert_range("bytes=0-1,5-6", 100, S3_RANGE_NONE, 0, 0);
    assert_range("items=0-1", 100, S3_RANGE_NONE, 0, 0);
    assert_range("bytes=-", 100, S3_RANGE_NONE, 0, 0);
    assert_range("bytes=99999999999999999999-", 100, S3_RANGE_NONE, 0, 0);
    assert_range("", 100, S3_RANGE_NONE, 0, 0);
    assert_range(NULL, 100, S3_RANGE_NONE, 0, 0);
}

static void test_conditionals(void **state)
{
    (void)state;
    const char *e = "\"abc\"";
    assert_int_equal(s3_cond_eval(NULL, NULL, -1, -1, e, 1000), S3_COND_OK);
    assert_int_equal(s3_cond_eval("\"abc\"", NULL, -1, -1, e, 1000), S3_COND_OK);
    assert_int_equal(s3_cond_eval("abc", NULL, -1, -1, e, 1000), S3_COND_OK);
    assert_int_equal(s3_cond_eval("\"x\", \"abc\"", NULL, -1, -1, e, 1000), S3_COND_OK);
    assert_int_equal(s3_cond_eval("*", NULL, -1, -1, e, 1000), S3_COND_OK);
    assert_int_equal(s3_cond_eval("\"x\"", NULL, -1, -1, e, 1000), S3_COND_FAILED);
    assert_int_equal(s3_cond_eval(NULL, "\"abc\"", -1, -1, e, 1000), S3_COND_NOT_MODIFIED);
    assert_int_equal(s3_cond_eval(NULL, "W/\"abc\"", -1, -1, e, 1000), S3_COND_NOT_MODIFIED);
    assert_int_equal(s3_cond_eval(NULL, "\"x\"", -1, -1, e, 1000), S3_COND_OK);
    assert_int_equal(s3_cond_eval(NULL, NULL, 1000, -1, e, 1000), S3_COND_NOT_MODIFIED);
    assert_int_equal(s3_cond_eval(NULL, NULL, 999, -1, e, 1000), S3_COND_OK);
    assert_int_equal(s3_cond_eval(NULL, NULL, -1, 999, e, 1000), S3_COND_FAILED);
    assert_int_equal(s3_cond_eval(NULL, NULL, -1, 1000, e, 1000), S3_COND_OK);
    /* S3's documented pairs. */
    assert_int_equal(s3_cond_eval("\"abc\"", NULL, -1, 10, e, 1000), S3_COND_OK);
    assert_int_equal(s3_cond_eval(NULL, "\"x\"", 2000, -1, e, 1000), S3_COND_OK);
    assert_int_equal(s3_cond_eval(NULL, "\"abc\"", 10, -1, e, 1000), S3_COND_NOT_MODIFIED);
}

static void test_crc_check_values(void **state)
{
    (void)state;
    const char *s = "123456789";
    assert_int_equal(s3_crc32(0, s, 9), 0xCBF43926u);
    assert_int_equal(s3_crc32c(0, s, 9), 0xE3069283u);
    assert_true(s3_crc64nvme(0, s, 9) == 0xAE8B14860A799888ull);
    /* Incremental equals one pass. */
    uint32_t c = s3_crc32c(0, s, 4);
    assert_int_equal(s3_crc32c(c, s + 4, 5), 0xE3069283u);
    uint64_t d = s3_crc64nvme(0, s, 2);
    assert_true(s3_crc64nvme(d, s + 2, 7) == 0xAE8B14860A799888ull);
}

static void digest_b64(s3_ck_alg_t alg, const char *data, const char *want_ck, const char *want_md5_hex)
{
    s3_digest_t *d = s3_digest_create(alg);
    s3_digest_update(d, data, strlen(data) / 2);
    s3_digest_update(d, data + strlen(data) / 2, strlen(data) - strlen(data) / 2);
    unsigned char md5[16];
    char ck[64], hex[33];
    s3_digest_final(d, md5, ck);
    kyoka_hex(md5, 16, hex);
    assert_string_equal(ck, want_ck);
    assert_string_equal(hex, want_md5_hex);
    s3_digest_free(d);
}

static void test_digests(void **state)
{
    (void)state;
    const char *md5 = "5eb63bbbe01eeed093cb22bb8f5acdc3"; /* "hello world" */
    digest_b64(S3_CK_NONE, "hello world", "", md5);
    digest_b64(S3_CK_CRC32, "hello world", "DUoRhQ==", md5);
    digest_b64(S3_CK_CRC32C, "hello world", "yZRlqg==", md5);
    digest_b64(S3_CK_SHA1, "hello world", "Kq5sNclPz7QV2+lfQIuc6R7oRu0=", md5);
    digest_b64(S3_CK_SHA256, "hello world", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=", md5);
    assert_int_equal(s3_ck_from_name(strv_from("x-amz-checksum-crc64nvme")), S3_CK_CRC64NVME);
    assert_int_equal(s3_ck_from_name(strv_from("crc32c")), S3_CK_CRC32C);
    assert_int_equal(s3_ck_from_name(strv_from("md5")), S3_CK_NONE);
}

/* InvalidArgument's per-destination elements, after <Message>, in order;
 * members that are not strings or plain element names are left out. */
static void test_error_details(void **state)
{
    (void)state;
    aws_error_t e = {.code = "InvalidArgument", .status = 400};
    snprintf(e.message, sizeof e.message, "Unable to validate the following destination configurations");
    json_t *d = json_pack("{s:s,s:s,s:i,s:s}", "ArgumentName1", "arn:aws:sqs:us-east-1:1:q", "ArgumentValue1",
                          "a <denial>", "Number", 3, "bad name", "x");
    buf_t b;
    buf_init(&b, 1 << 16);
    assert_int_equal(proto_rest_xml_encode_error_details(&e, "rid", d, &b), 0);
    assert_non_null(strstr(b.data, "<Message>Unable to validate the following destination configurations</Message>"
                                   "<ArgumentName1>arn:aws:sqs:us-east-1:1:q</ArgumentName1>"
                                   "<ArgumentValue1>a &lt;denial&gt;</ArgumentValue1><RequestId>rid</RequestId>"));
    assert_null(strstr(b.data, "Number"));
    assert_null(strstr(b.data, "bad name"));
    buf_reset(&b);
    assert_int_equal(proto_rest_xml_encode_error_details(&e, "rid", NULL, &b), 0);
    assert_non_null(strstr(b.data, "</Message><RequestId>rid</RequestId></Error>"));
    buf_destroy(&b);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_conditionals),
        cmocka_unit_test(test_crc_check_values),
        cmocka_unit_test(test_digests),
        cmocka_unit_test(test_error_details),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
