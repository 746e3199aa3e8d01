/*
 * Trailer checksums against known answers: the CRC catalogue's check values
 * for "123456789", and base64 digests computed with zlib, hashlib and a
 * bit-at-a-time CRC outside kyoka. The sliced CRCs are also compared with a
 * bitwise one over random data split at random points.
 */
#include "test_auth.h"

#include <stdlib.h>

#include "auth/internal.h"

static void test_check_values(void **state)
{
    (void)state;
    assert_int_equal(auth__crc32(0, "123456789", 9), 0xCBF43926u);
    assert_int_equal(auth__crc32c(0, "123456789", 9), 0xE3069283u);
    assert_true(auth__crc64nvme(0, "123456789", 9) == 0xAE8B14860A799888ull);
    assert_int_equal(auth__crc32(0, "", 0), 0);
}

static uint64_t bitwise(uint64_t poly, int bits, const unsigned char *p, size_t n)
{
    uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
    uint64_t crc = mask;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ poly : crc >> 1;
    }
    return crc ^ mask;
}

static void test_sliced_matches_bitwise(void **state)
{
    (void)state;
    unsigned char data[1037];
    srand(7);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)rand();
    for (int round = 0; round < 50; round++) {
        size_t n = (size_t)rand() % sizeof data, cut = n ? (size_t)rand() % n : 0;
        uint32_t a = auth__crc32(auth__crc32(0, data, cut), data + cut, n - cut);
        uint32_t b = auth__crc32c(auth__crc32c(0, data, cut), data + cut, n - cut);
        uint64_t c = auth__crc64nvme(auth__crc64nvme(0, data, cut), data + cut, n - cut);
        assert_int_equal(a, (uint32_t)bitwise(0xEDB88320u, 32, data, n));
        assert_int_equal(b, (uint32_t)bitwise(0x82F63B78u, 32, data, n));
        assert_true(c == bitwise(0x9A6C9329AC4BC9B5ull, 64, data, n));
    }
}

typedef struct b64_case {
    const char *input;
    const char *crc32, *crc32c, *crc64, *sha1, *sha256;
} b64_case_t;

static const b64_case_t b64_cases[] = {
    {"", "AAAAAA==", "AAAAAA==", "AAAAAAAAAAA=", "2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
     "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
    {"abc", "NSRBwg==", "Nks/tw==", "BeXKuz/B+us=", "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
     "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="},
    {"hello world", "DUoRhQ==", "yZRlqg==", "jSnVw/bqjr4=", "Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
     "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="},
};

static void test_base64_digests(void **state)
{
    (void)state;
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(b64_cases); i++) {
        const b64_case_t *k = &b64_cases[i];
        auth_checksum_t c;
        auth__checksum_init(&c, AUTH_CK_ALL);
        /* byte by byte, so the running state is exercised */
        for (size_t j = 0; k->input[j]; j++)
            auth__checksum_update(&c, k->input + j, 1);
        char out[64];
        assert_int_equal(auth__checksum_b64(&c, AUTH_CK_CRC32, out), 0);
        assert_string_equal(out, k->crc32);
        assert_int_equal(auth__checksum_b64(&c, AUTH_CK_CRC32C, out), 0);
        assert_string_equal(out, k->crc32c);
        assert_int_equal(auth__checksum_b64(&c, AUTH_CK_CRC64NVME, out), 0);
        assert_string_equal(out, k->crc64);
        assert_int_equal(auth__checksum_b64(&c, AUTH_CK_SHA1, out), 0);
        assert_string_equal(out, k->sha1);
        assert_int_equal(auth__checksum_b64(&c, AUTH_CK_SHA256, out), 0);
        assert_string_equal(out, k->sha256);
        /* Reading a digest does not end the computation. */
        assert_int_equal(auth__checksum_b64(&c, AUTH_CK_SHA256, out), 0);
        assert_string_equal(out, k->sha256);
        auth__checksum_destroy(&c);
    }
    auth_checksum_t c;
    auth__checksum_init(&c, AUTH_CK_CRC32);
    char out[64];
    assert_int_equal(auth__checksum_b64(&c, AUTH_CK_SHA1, out), KYOKA_EINVAL);
    auth__checksum_destroy(&c);
}

static void test_names(void **state)
{
    (void)state;
    assert_int_equal(auth__checksum_from_name(STRV_LIT("x-amz-checksum-crc32")), AUTH_CK_CRC32);
    assert_int_equal(auth__checksum_from_name(STRV_LIT("X-Amz-Checksum-CRC32C")), AUTH_CK_CRC32C);
    assert_int_equal(auth__checksum_from_name(STRV_LIT("crc64nvme")), AUTH_CK_CRC64NVME);
    assert_int_equal(auth__checksum_from_name(STRV_LIT("SHA1")), AUTH_CK_SHA1);
    assert_int_equal(auth__checksum_from_name(STRV_LIT("x-amz-checksum-sha256")), AUTH_CK_SHA256);
    assert_int_equal(auth__checksum_from_name(STRV_LIT("x-amz-checksum-md5")), 0);
    assert_int_equal(auth__checksum_from_name(STRV_LIT("x-amz-checksum-")), 0);
    assert_string_equal(auth__checksum_label(AUTH_CK_CRC64NVME), "CRC64NVME");
}

static void test_sha256_hex(void **state)
{
    (void)state;
    char hex[65];
    auth_sha256_hex(NULL, 0, hex);
    assert_string_equal(hex, AUTH_EMPTY_SHA256);
    auth_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int run_checksum_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values),
        cmocka_unit_test(test_sliced_matches_bitwise),
        cmocka_unit_test(test_base64_digests),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_sha256_hex),
    };
    return cmocka_run_group_tests_name("checksum", tests, NULL, NULL);
}
