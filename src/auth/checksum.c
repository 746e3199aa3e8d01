/*
 * Checksums for aws-chunked trailers: CRC32 (IEEE), CRC32C (Castagnoli),
 * CRC64NVME, SHA-1 and SHA-256, in the forms S3's flexible checksums use
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html):
 * the big-endian digest, base64-encoded.
 *
 * The CRCs are table-driven "slicing by 8": eight bytes per step through
 * eight 256-entry tables, a few times faster than a byte at a time and
 * fast enough that a streamed upload is bounded by the socket, not by us.
 * The tables are built once on first use. SHA-1 and SHA-256 come from
 * OpenSSL.
 */
#include "auth/internal.h"

#include <pthread.h>
#include <string.h>

#include "core/banned.h"

/* Reflected polynomials. CRC64NVME is the NVMe CRC-64 (Rocksoft). */
#define POLY_CRC32 0xEDB88320u
#define POLY_CRC32C 0x82F63B78u
#define POLY_CRC64NVME 0x9A6C9329AC4BC9B5ull

static uint32_t tab_crc32[8][256];
static uint32_t tab_crc32c[8][256];
static uint64_t tab_crc64[8][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build32(uint32_t t[8][256], uint32_t poly)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        t[0][i] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++)
            t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
}

static void build64(uint64_t t[8][256], uint64_t poly)
{
    for (uint64_t i = 0; i < 256; i++) {
        uint64_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        t[0][i] = c;
    }
    for (int k = 1; k < 8; k++)
        for (int i = 0; i < 256; i++)
            t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
}

static void build_tables(void)
{
    build32(tab_crc32, POLY_CRC32);
    build32(tab_crc32c, POLY_CRC32C);
    build64(tab_crc64, POLY_CRC64NVME);
}

/* Little-endian loads byte by byte: no alignment or aliasing assumptions. */
static inline uint32_t load32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t crc32_run(uint32_t t[8][256], uint32_t crc, const unsigned char *p, size_t n)
{
    pthread_once(&tables_once, build_tables);
    crc = ~crc;
    while (n >= 8) {
        uint32_t a = crc ^ load32(p), b = load32(p + 4);
        crc = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^ t[5][(a >> 16) & 0xff] ^ t[4][a >> 24] ^
              t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^ t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint32_t auth__crc32(uint32_t crc, const void *p, size_t n) { return crc32_run(tab_crc32, crc, p, n); }

uint32_t auth__crc32c(uint32_t crc, const void *p, size_t n) { return crc32_run(tab_crc32c, crc, p, n); }

uint64_t auth__crc64nvme(uint64_t crc, const void *p, size_t n)
{
    pthread_once(&tables_once, build_tables);
    const unsigned char *b = p;
    uint64_t (*t)[256] = tab_crc64;
    crc = ~crc;
    while (n >= 8) {
        uint64_t a = crc ^ ((uint64_t)load32(b) | (uint64_t)load32(b + 4) << 32);
        crc = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^ t[5][(a >> 16) & 0xff] ^
              t[4][(a >> 24) & 0xff] ^ t[3][(a >> 32) & 0xff] ^ t[2][(a >> 40) & 0xff] ^
              t[1][(a >> 48) & 0xff] ^ t[0][a >> 56];
        b += 8;
        n -= 8;
    }
    while (n--)
        crc = t[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- the running checksum set ---- */

static EVP_MD_CTX *md_start(const EVP_MD *md)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1)
        auth__crypto_fail("digest init");
    return ctx;
}

void auth__checksum_init(auth_checksum_t *c, unsigned mask)
{
    memset(c, 0, sizeof *c);
    c->mask = mask & AUTH_CK_ALL;
    if (c->mask & AUTH_CK_SHA1)
        c->sha1 = md_start(EVP_sha1());
    if (c->mask & AUTH_CK_SHA256)
        c->sha256 = md_start(EVP_sha256());
}

void auth__checksum_update(auth_checksum_t *c, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (c->mask & AUTH_CK_CRC32)
        c->crc32 = auth__crc32(c->crc32, p, n);
    if (c->mask & AUTH_CK_CRC32C)
        c->crc32c = auth__crc32c(c->crc32c, p, n);
    if (c->mask & AUTH_CK_CRC64NVME)
        c->crc64 = auth__crc64nvme(c->crc64, p, n);
    if (c->sha1)
        EVP_DigestUpdate(c->sha1, p, n);
    if (c->sha256)
        EVP_DigestUpdate(c->sha256, p, n);
}

/* Finish a copy so the running context can keep going. */
static size_t md_peek(EVP_MD_CTX *ctx, unsigned char *out)
{
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    unsigned int n = 0;
    if (!copy || EVP_MD_CTX_copy_ex(copy, ctx) != 1 || EVP_DigestFinal_ex(copy, out, &n) != 1)
        auth__crypto_fail("digest copy");
    EVP_MD_CTX_free(copy);
    return n;
}

int auth__checksum_b64(const auth_checksum_t *c, unsigned alg, char out[64])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    size_t n = 0;
    if (!(c->mask & alg))
        return KYOKA_EINVAL;
    switch (alg) {
    case AUTH_CK_CRC32:
    case AUTH_CK_CRC32C: {
        uint32_t v = alg == AUTH_CK_CRC32 ? c->crc32 : c->crc32c;
        for (int i = 0; i < 4; i++)
            d[i] = (unsigned char)(v >> (24 - 8 * i));
        n = 4;
        break;
    }
    case AUTH_CK_CRC64NVME:
        for (int i = 0; i < 8; i++)
            d[i] = (unsigned char)(c->crc64 >> (56 - 8 * i));
        n = 8;
        break;
    case AUTH_CK_SHA1:
        n = md_peek(c->sha1, d);
        break;
    case AUTH_CK_SHA256:
        n = md_peek(c->sha256, d);
        break;
    default:
        return KYOKA_EINVAL;
    }
    /* 32 digest bytes encode to 44 characters: out always has room. */
    EVP_EncodeBlock((unsigned char *)out, d, (int)n);
    return 0;
}

void auth__checksum_destroy(auth_checksum_t *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->sha1);
    EVP_MD_CTX_free(c->sha256);
    c->sha1 = c->sha256 = NULL;
    c->mask = 0;
}

static const struct {
    const char *name;
    const char *label;
    unsigned alg;
} algs[] = {
    {"crc32", "CRC32", AUTH_CK_CRC32},
    {"crc32c", "CRC32C", AUTH_CK_CRC32C},
    {"crc64nvme", "CRC64NVME", AUTH_CK_CRC64NVME},
    {"sha1", "SHA1", AUTH_CK_SHA1},
    {"sha256", "SHA256", AUTH_CK_SHA256},
};

unsigned auth__checksum_from_name(strv_t name)
{
    static const char prefix[] = "x-amz-checksum-";
    if (name.len > sizeof prefix - 1 && strv_caseeq_cstr((strv_t){name.p, sizeof prefix - 1}, prefix)) {
        name.p += sizeof prefix - 1;
        name.len -= sizeof prefix - 1;
    }
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(algs); i++)
        if (strv_caseeq_cstr(name, algs[i].name))
            return algs[i].alg;
    return 0;
}

const char *auth__checksum_label(unsigned alg)
{
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(algs); i++)
        if (algs[i].alg == alg)
            return algs[i].label;
    return "checksum";
}
