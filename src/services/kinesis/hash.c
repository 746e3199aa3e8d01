/*
 * Kinesis numbers: partition key hashing, 128-bit hash keys in decimal,
 * sequence numbers and shard iterators, and the base64 and UTF-8 checks
 * records need.
 *
 * Hashing. "Kinesis Data Streams uses MD5 to map partition keys to 128-bit
 * integer values" (API_PutRecord.html): the digest read as a big-endian
 * unsigned integer; ExplicitHashKey overrides it with a decimal in
 * [0, 2^128-1].
 *
 * Iterators are opaque to clients; here they are base64 of the cursor, the
 * time the iterator was issued (for the 5-minute expiry, on the server
 * clock) and a check, so a mangled or made-up iterator is refused.
 */
#include "internal.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== MD5 ==== */

kinesis_u128 kinesis__md5_key(kinesis_t *k, const char *key, size_t n)
{
    if (!k->md5)
        k->md5 = EVP_MD_CTX_new();
    unsigned char d[16];
    unsigned int dl = 0;
    EVP_MD_CTX *ctx = k->md5;
    if (EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 || EVP_DigestUpdate(ctx, key, n) != 1 ||
        EVP_DigestFinal_ex(ctx, d, &dl) != 1 || dl != 16) {
        log_error("kinesis: MD5 unavailable from libcrypto");
        abort();
    }
    kinesis_u128 v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 8 | d[i];
    return v;
}

/* ==== 128-bit decimals ==== */

void kinesis__u128_format(kinesis_u128 v, char *out)
{
    char tmp[48];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

bool kinesis__u128_parse(const char *s, kinesis_u128 *out)
{
    if (!s || !*s)
        return false;
    kinesis_u128 v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (KINESIS_HASH_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* ==== sequence numbers ==== */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static uint64_t seq_check(uint32_t gid, uint64_t index, int64_t ms)
{
    uint64_t h = mix64(UINT64_C(0x6b696e6573697331) ^ gid);
    h = mix64(h ^ index);
    h = mix64(h ^ (uint64_t)ms);
    return h % UINT64_C(100000000000); /* 11 digits */
}

void kinesis__seq_format(uint32_t gid, uint64_t index, int64_t ms, char out[57])
{
    if (ms < 0)
        ms = 0;
    ms %= INT64_C(10000000000000);
    snprintf(out, 57, "49%010u%020llu%013lld%011llu", gid, (unsigned long long)index, (long long)ms,
             (unsigned long long)seq_check(gid, index, ms));
}

static bool digits(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

bool kinesis__seq_parse(const char *s, uint32_t *gid, uint64_t *index, int64_t *ms)
{
    if (!s || strlen(s) != 56 || s[0] != '4' || s[1] != '9')
        return false;
    uint64_t g, i, m, chk;
    if (!digits(s + 2, 10, &g) || !digits(s + 12, 20, &i) || !digits(s + 32, 13, &m) || !digits(s + 45, 11, &chk))
        return false;
    if (g > UINT32_MAX || i > KINESIS_INDEX_MASK || seq_check((uint32_t)g, i, (int64_t)m) != chk)
        return false;
    *gid = (uint32_t)g;
    *index = i;
    *ms = (int64_t)m;
    return true;
}

/* ==== iterators ==== */

#define ITER_MAGIC "KYKI"
#define ITER_BYTES 48

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint64_t iter_check(const unsigned char *p, size_t n)
{
    uint64_t h = UINT64_C(0x4b696e6573697321);
    for (size_t i = 0; i < n; i++)
        h = mix64(h ^ p[i]) + i;
    return h;
}

char *kinesis__iterator_encode(arena_t *a, const kinesis_cursor_t *cur, int64_t issued_ms)
{
    unsigned char b[ITER_BYTES];
    memcpy(b, ITER_MAGIC, 4);
    put64(b + 4, cur->stream_id);
    b[12] = (unsigned char)(cur->shard_gid >> 24);
    b[13] = (unsigned char)(cur->shard_gid >> 16);
    b[14] = (unsigned char)(cur->shard_gid >> 8);
    b[15] = (unsigned char)cur->shard_gid;
    put64(b + 16, cur->next);
    put64(b + 24, (uint64_t)cur->min_arrival_ms);
    put64(b + 32, (uint64_t)issued_ms);
    put64(b + 40, iter_check(b, 40));
    return base64_encode(a, b, sizeof b);
}

bool kinesis__iterator_decode(const char *s, kinesis_cursor_t *cur, int64_t *issued_ms)
{
    size_t n = s ? strlen(s) : 0;
    size_t dec = 0;
    if (n != 64 || !kinesis__b64_check(s, n, &dec) || dec != ITER_BYTES)
        return false;
    arena_t a;
    arena_init(&a);
    unsigned char *b = NULL;
    ssize_t got = base64_decode(&a, (strv_t){s, n}, &b);
    bool ok = got == ITER_BYTES && memcmp(b, ITER_MAGIC, 4) == 0 && get64(b + 40) == iter_check(b, 40);
    if (ok) {
        cur->stream_id = get64(b + 4);
        cur->shard_gid = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
        cur->next = get64(b + 16);
        cur->min_arrival_ms = (int64_t)get64(b + 24);
        *issued_ms = (int64_t)get64(b + 32);
    }
    arena_destroy(&a);
    return ok;
}

/* ==== text checks ==== */

static const signed char b64val[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

bool kinesis__b64_check(const char *s, size_t n, size_t *decoded)
{
    if (n % 4)
        return false;
    size_t pad = 0;
    if (n && s[n - 1] == '=')
        pad = n >= 2 && s[n - 2] == '=' ? 2 : 1;
    const unsigned char *p = (const unsigned char *)s;
    size_t body = n - pad;
    /* The hot loop of every put: 4 characters at a time, one table load
     * each, branch only on the OR of the four. */
    size_t i = 0;
    for (; i + 4 <= body; i += 4)
        if (!(b64val[p[i]] && b64val[p[i + 1]] && b64val[p[i + 2]] && b64val[p[i + 3]]))
            return false;
    for (; i < body; i++)
        if (!b64val[p[i]])
            return false;
    /* Canonical padding: the bits the padding leaves over are zero. */
    if (pad == 1 && ((b64val[p[n - 2]] - 1) & 0x3))
        return false;
    if (pad == 2 && ((b64val[p[n - 3]] - 1) & 0xF))
        return false;
    *decoded = n / 4 * 3 - pad;
    return true;
}

size_t kinesis__utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch & 0xC0) != 0x80)
            c += (ch & 0xF8) == 0xF0 ? 2 : 1; /* Java counts UTF-16 units: a 4-byte character is 2 */
    }
    return c;
}
