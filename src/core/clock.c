/* The server clock. Every time-driven behaviour (visibility timeouts,
 * delays, retention, credential expiry, presigned URL expiry) reads
 * kyoka_clock_now_ms(), so tests move time with /_kyoka/clock/advance instead
 * of sleeping. The offset only ever grows, so time never runs backwards. */
#include "core.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <stdlib.h>
#include <time.h>

static int64_t clock_offset_ms;

int64_t kyoka_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kyoka_clock_now_ms(void) { return kyoka_wall_ms() + clock_offset_ms; }

int64_t kyoka_clock_now_s(void) { return kyoka_clock_now_ms() / 1000; }

void kyoka_clock_advance_ms(int64_t ms)
{
    if (ms > 0)
        clock_offset_ms += ms;
}

int64_t kyoka_clock_offset_ms(void) { return clock_offset_ms; }

void kyoka_clock_reset(void) { clock_offset_ms = 0; }

uint64_t kyoka_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void kyoka_time_iso8601(int64_t ms, char out[64], bool with_millis)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    if (with_millis)
        snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    else
        snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int kyoka_time_parse_amz(strv_t s, int64_t *ms)
{
    /* YYYYMMDDTHHMMSSZ */
    if (s.len != 16 || s.p[8] != 'T' || s.p[15] != 'Z')
        return KYOKA_EPARSE;
    int y = digits(s.p, 4), mo = digits(s.p + 4, 2), d = digits(s.p + 6, 2);
    int h = digits(s.p + 9, 2), mi = digits(s.p + 11, 2), se = digits(s.p + 13, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        se < 0 || se > 60)
        return KYOKA_EPARSE;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = se};
    *ms = (int64_t)timegm(&tm) * 1000;
    return 0;
}

void kyoka_hex(const unsigned char *in, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[in[i] >> 4];
        out[2 * i + 1] = hx[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int kyoka_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void kyoka_random(void *out, size_t n)
{
    unsigned char *p = out;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r <= 0) {
            fprintf(stderr, "kyoka: getrandom failed\n");
            abort();
        }
        p += r;
        n -= (size_t)r;
    }
}

/* xoshiro256** seeded once from the OS: request ids must be unique, not
 * secret, and a system call per request would cost more than the request.
 * Secrets (keys, tokens) use kyoka_random. */
static uint64_t rng_state[4];
static bool rng_seeded;

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(void)
{
    if (!rng_seeded) {
        kyoka_random(rng_state, sizeof rng_state);
        rng_seeded = true;
    }
    uint64_t *s = rng_state;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void kyoka_uuid(char out[37])
{
    unsigned char b[16];
    uint64_t hi = rng_next(), lo = rng_next();
    memcpy(b, &hi, 8);
    memcpy(b + 8, &lo, 8);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    /* 8-4-4-4-12 hex digits, joined by hand: every message and request
     * gets one, and snprintf's format parsing showed in batch profiles. */
    char hex[33];
    kyoka_hex(b, 16, hex);
    static const int group_end[5] = {8, 12, 16, 20, 32};
    int o = 0, h = 0;
    for (int g = 0; g < 5; g++) {
        if (g)
            out[o++] = '-';
        while (h < group_end[g])
            out[o++] = hex[h++];
    }
    out[o] = '\0';
}
