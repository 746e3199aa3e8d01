/*
 * One condition against one present event value: the operators the machine
 * cannot look up in its hash (wildcard, numeric, cidr, anything-but), and
 * the plain evaluation of every operator that the unit tests compare the
 * machine with.
 *
 * Operators are typed as on AWS: the string operators (prefix, suffix,
 * equals-ignore-case, wildcard, cidr) hold only for strings, numeric and
 * exact numbers only for JSON numbers. anything-but is the negation of its
 * inner match over a value that is present, so {"anything-but": "a"} holds
 * for 5 and for null, and never for a missing field.
 */
#include "pattern/internal.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

double pattern__num_canon(double v)
{
    /* Six decimal places within AWS's documented range; -0 and 0 are one. */
    if (v >= -PATTERN_NUMERIC_LIMIT && v <= PATTERN_NUMERIC_LIMIT)
        v = round(v * 1e6) / 1e6;
    return v == 0 ? 0.0 : v;
}

void pattern__lower(const char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
}

static bool ci_eq(const char *a, const char *lower_b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a[i];
        if (c >= 'A' && c <= 'Z')
            c += 32;
        if (c != (unsigned char)lower_b[i])
            return false;
    }
    return true;
}

/* Only '*' is special, so the leftmost placement of each middle piece is
 * as good as any: a later piece can only gain room from an earlier one. */
bool pattern__wildcard_match(const pcond_t *c, const char *s, size_t n)
{
    if (c->nseg == 1)
        return n == c->seglen[0] && memcmp(s, c->segs[0], n) == 0;
    size_t first = c->seglen[0], last = c->seglen[c->nseg - 1];
    if (first + last > n)
        return false;
    if (memcmp(s, c->segs[0], first) != 0 || memcmp(s + n - last, c->segs[c->nseg - 1], last) != 0)
        return false;
    size_t pos = first, end = n - last;
    for (size_t i = 1; i + 1 < c->nseg; i++) {
        size_t l = c->seglen[i];
        if (l == 0)
            continue;
        const char *hit = end - pos >= l ? memmem(s + pos, end - pos, c->segs[i], l) : NULL;
        if (!hit)
            return false;
        pos = (size_t)(hit - s) + l;
    }
    return true;
}

int pattern__parse_ip(const char *s, size_t n, uint8_t out[16])
{
    char tmp[64];
    if (n == 0 || n >= sizeof tmp || memchr(s, '\0', n))
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (memchr(tmp, ':', n))
        return inet_pton(AF_INET6, tmp, out) == 1 ? 6 : 0;
    return inet_pton(AF_INET, tmp, out) == 1 ? 4 : 0;
}

static bool cidr_match(const pcond_t *c, const char *s, size_t n)
{
    uint8_t ip[16];
    int fam = pattern__parse_ip(s, n, ip);
    if (fam != c->family)
        return false;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(ip, c->ip, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (ip[full] & mask) == (c->ip[full] & mask);
}

static bool numeric_match(const pcond_t *c, double v)
{
    if (c->lo_incl ? v < c->lo : v <= c->lo)
        return false;
    if (c->hi_incl ? v > c->hi : v >= c->hi)
        return false;
    return true;
}

bool pattern__cond_match(const pcond_t *c, const pleaf_t *v)
{
    bool str = v->type == PV_STR;
    switch (c->kind) {
    case PC_STR:
        return str && v->len == c->len && memcmp(v->s, c->s, c->len) == 0;
    case PC_NUM:
        return v->type == PV_NUM && v->num == c->num;
    case PC_TRUE:
        return v->type == PV_TRUE;
    case PC_FALSE:
        return v->type == PV_FALSE;
    case PC_NULL:
        return v->type == PV_NULL;
    case PC_EQ_CI:
        return str && v->len == c->len && ci_eq(v->s, c->s, c->len);
    case PC_PREFIX:
        return str && v->len >= c->len && memcmp(v->s, c->s, c->len) == 0;
    case PC_PREFIX_CI:
        return str && v->len >= c->len && ci_eq(v->s, c->s, c->len);
    case PC_SUFFIX:
        return str && v->len >= c->len && memcmp(v->s + v->len - c->len, c->s, c->len) == 0;
    case PC_SUFFIX_CI:
        return str && v->len >= c->len && ci_eq(v->s + v->len - c->len, c->s, c->len);
    case PC_WILDCARD:
        return str && pattern__wildcard_match(c, v->s, v->len);
    case PC_NUMERIC:
        return v->type == PV_NUM && numeric_match(c, v->num);
    case PC_CIDR:
        return str && cidr_match(c, v->s, v->len);
    case PC_EXISTS:
        return true;
    case PC_NOT_EXISTS:
        return false;
    case PC_ANYTHING_BUT:
        for (size_t i = 0; i < c->nsub; i++)
            if (pattern__cond_match(&c->sub[i], v))
                return false;
        return true;
    case PC__HASHED:
        break;
    }
    return false;
}

void pattern__cond_destroy(pcond_t *c)
{
    free(c->s);
    for (size_t i = 0; i < c->nseg; i++)
        free(c->segs[i]);
    free(c->segs);
    free(c->seglen);
    for (size_t i = 0; i < c->nsub; i++)
        pattern__cond_destroy(&c->sub[i]);
    free(c->sub);
}
