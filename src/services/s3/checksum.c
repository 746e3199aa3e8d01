/*
 * Body digests: MD5 for the ETag and the checksum algorithms S3 accepts
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html):
 * CRC32 (zlib), CRC32C (Castagnoli, reflected 0x82F63B78) and CRC64NVME
 * (reflected 0x9A6C9329AC4BC9B5) from byte-wise tables, SHA-1 and SHA-256
 * from libcrypto. Values travel as base64 of the big-endian digest.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <zlib.h>

#include "core/banned.h"

static uint32_t tab32c[256];
static uint64_t tab64[256];
static pthread_once_t tabs_once = PTHREAD_ONCE_INIT;

static void tabs_build(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        uint64_t d = i;
        for (int k = 0; k < 8; k++) {
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            d = d & 1 ? (d >> 1) ^ 0x9A6C9329AC4BC9B5ull : d >> 1;
        }
        tab32c[i] = c;
        tab64[i] = d;
    }
}

uint32_t s3_crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&tabs_once, tabs_build);
    const unsigned char *b = p;
    crc = ~crc;
    while (n--)
        crc = tab32c[(crc ^ *b++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint64_t s3_crc64nvme(uint64_t crc, const void *p, size_t n)
{
    pthread_once(&tabs_once, tabs_build);
    const unsigned char *b = p;
    crc = ~crc;
    while (n--)
        crc = tab64[(crc ^ *b++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint32_t s3_crc32(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    /* zlib takes uInt lengths. */
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
}

static const struct {
    const char *name, *header, *member;
} ck_names[] = {
    [S3_CK_NONE] = {"", "", ""},
    [S3_CK_CRC32] = {"CRC32", "x-amz-checksum-crc32", "ChecksumCRC32"},
    [S3_CK_CRC32C] = {"CRC32C", "x-amz-checksum-crc32c", "ChecksumCRC32C"},
    [S3_CK_CRC64NVME] = {"CRC64NVME", "x-amz-checksum-crc64nvme", "ChecksumCRC64NVME"},
    [S3_CK_SHA1] = {"SHA1", "x-amz-checksum-sha1", "ChecksumSHA1"},
    [S3_CK_SHA256] = {"SHA256", "x-amz-checksum-sha256", "ChecksumSHA256"},
};

s3_ck_alg_t s3_ck_from_name(strv_t name)
{
    if (name.len > 15 && strncasecmp(name.p, "x-amz-checksum-", 15) == 0)
        name = (strv_t){name.p + 15, name.len - 15};
    for (int i = S3_CK_CRC32; i <= S3_CK_SHA256; i++)
        if (strv_caseeq_cstr(name, ck_names[i].name))
            return (s3_ck_alg_t)i;
    return S3_CK_NONE;
}

const char *s3_ck_name(s3_ck_alg_t alg) { return ck_names[alg].name; }
const char *s3_ck_header(s3_ck_alg_t alg) { return ck_names[alg].header; }
const char *s3_ck_member(s3_ck_alg_t alg) { return ck_names[alg].member; }

void s3_b64(const unsigned char *p, size_t n, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

static EVP_MD_CTX *md_start(const EVP_MD *md)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1)
        abort(); /* libcrypto without MD5/SHA: nothing to recover */
    return ctx;
}

s3_digest_t *s3_digest_create(s3_ck_alg_t alg)
{
    s3_digest_t *d = xcalloc(1, sizeof *d);
    d->md5 = md_start(EVP_md5());
    d->alg = alg;
    if (alg == S3_CK_SHA1)
        d->sha = md_start(EVP_sha1());
    else if (alg == S3_CK_SHA256)
        d->sha = md_start(EVP_sha256());
    return d;
}

void s3_digest_update(void *dp, const void *p, size_t n)
{
    s3_digest_t *d = dp;
    EVP_DigestUpdate(d->md5, p, n);
    switch (d->alg) {
    case S3_CK_CRC32: d->crc32 = s3_crc32(d->crc32, p, n); break;
    case S3_CK_CRC32C: d->crc32 = s3_crc32c(d->crc32, p, n); break;
    case S3_CK_CRC64NVME: d->crc64 = s3_crc64nvme(d->crc64, p, n); break;
    case S3_CK_SHA1:
    case S3_CK_SHA256: EVP_DigestUpdate(d->sha, p, n); break;
    default: break;
    }
}

void s3_digest_final(s3_digest_t *d, unsigned char md5[16], char ck[64])
{
    unsigned int len = 16;
    EVP_DigestFinal_ex(d->md5, md5, &len);
    ck[0] = '\0';
    unsigned char raw[32];
    switch (d->alg) {
    case S3_CK_CRC32:
    case S3_CK_CRC32C:
        for (int i = 0; i < 4; i++)
            raw[i] = (unsigned char)(d->crc32 >> (24 - 8 * i));
        s3_b64(raw, 4, ck);
        break;
    case S3_CK_CRC64NVME:
        for (int i = 0; i < 8; i++)
            raw[i] = (unsigned char)(d->crc64 >> (56 - 8 * i));
        s3_b64(raw, 8, ck);
        break;
    case S3_CK_SHA1:
    case S3_CK_SHA256: {
        unsigned int n = sizeof raw;
        EVP_DigestFinal_ex(d->sha, raw, &n);
        s3_b64(raw, n, ck);
        break;
    }
    default: break;
    }
}

void s3_digest_free(void *dp)
{
    s3_digest_t *d = dp;
    if (!d)
        return;
    EVP_MD_CTX_free(d->md5);
    EVP_MD_CTX_free(d->sha);
    free(d);
}
