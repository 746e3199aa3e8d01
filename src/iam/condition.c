/*
 * The Condition element: every operator, the ...IfExists forms, the
 * ForAllValues:/ForAnyValue: set operators, and the request context that
 * condition keys and policy variables are read from.
 *
 * Semantics follow
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * and reference_policies_multi-value-conditions.html:
 *   - several values for one key are ORed, several keys and several
 *     operators are ANDed (the caller ANDs conditions);
 *   - a key missing from the request context makes a condition false,
 *     except that negated operators (StringNotEquals, ArnNotLike, ...) are
 *     then true, ...IfExists is true, ForAllValues is true and ForAnyValue
 *     is false; Null tests presence itself.
 * Key names are case-insensitive; values are case-sensitive except for the
 * IgnoreCase operators and Bool.
 */
#include "iam/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/banned.h"

/* ---- operators ---- */

static const struct {
    const char *name;
    uint8_t op;
} ops[] = {
    {"StringEquals", IAM__OP_STR_EQ},
    {"StringNotEquals", IAM__OP_STR_NE},
    {"StringEqualsIgnoreCase", IAM__OP_STR_EQ_IC},
    {"StringNotEqualsIgnoreCase", IAM__OP_STR_NE_IC},
    {"StringLike", IAM__OP_STR_LIKE},
    {"StringNotLike", IAM__OP_STR_NLIKE},
    {"NumericEquals", IAM__OP_NUM_EQ},
    {"NumericNotEquals", IAM__OP_NUM_NE},
    {"NumericLessThan", IAM__OP_NUM_LT},
    {"NumericLessThanEquals", IAM__OP_NUM_LE},
    {"NumericGreaterThan", IAM__OP_NUM_GT},
    {"NumericGreaterThanEquals", IAM__OP_NUM_GE},
    {"DateEquals", IAM__OP_DATE_EQ},
    {"DateNotEquals", IAM__OP_DATE_NE},
    {"DateLessThan", IAM__OP_DATE_LT},
    {"DateLessThanEquals", IAM__OP_DATE_LE},
    {"DateGreaterThan", IAM__OP_DATE_GT},
    {"DateGreaterThanEquals", IAM__OP_DATE_GE},
    {"Bool", IAM__OP_BOOL},
    {"BinaryEquals", IAM__OP_BIN_EQ},
    {"IpAddress", IAM__OP_IP},
    {"NotIpAddress", IAM__OP_NOT_IP},
    {"ArnEquals", IAM__OP_ARN_EQ},
    {"ArnLike", IAM__OP_ARN_LIKE},
    {"ArnNotEquals", IAM__OP_ARN_NE},
    {"ArnNotLike", IAM__OP_ARN_NLIKE},
    {"Null", IAM__OP_NULL},
};

bool iam__op_lookup(const char *name, uint8_t *op, uint8_t *set, bool *if_exists)
{
    size_t len = strlen(name);
    *set = IAM__SET_NONE;
    *if_exists = false;
    if (len > 13 && memcmp(name, "ForAllValues:", 13) == 0) {
        *set = IAM__SET_ALL;
        name += 13;
        len -= 13;
    } else if (len > 12 && memcmp(name, "ForAnyValue:", 12) == 0) {
        *set = IAM__SET_ANY;
        name += 12;
        len -= 12;
    }
    if (len > 8 && memcmp(name + len - 8, "IfExists", 8) == 0) {
        *if_exists = true;
        len -= 8;
    }
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(ops); i++) {
        if (strlen(ops[i].name) == len && memcmp(ops[i].name, name, len) == 0) {
            /* "You can add IfExists to the end of any condition operator
             * name except the Null condition." */
            if (ops[i].op == IAM__OP_NULL && *if_exists)
                return false;
            *op = ops[i].op;
            return true;
        }
    }
    return false;
}

/* Policy variables work with the string, ARN and Boolean operators only
 * (reference_policies_variables.html, "Condition element"). */
bool iam__op_allows_vars(uint8_t op)
{
    return op <= IAM__OP_STR_NLIKE || op == IAM__OP_BOOL || (op >= IAM__OP_ARN_EQ && op <= IAM__OP_ARN_NLIKE);
}

static bool op_negated(uint8_t op)
{
    switch (op) {
    case IAM__OP_STR_NE:
    case IAM__OP_STR_NE_IC:
    case IAM__OP_STR_NLIKE:
    case IAM__OP_NUM_NE:
    case IAM__OP_DATE_NE:
    case IAM__OP_NOT_IP:
    case IAM__OP_ARN_NE:
    case IAM__OP_ARN_NLIKE:
        return true;
    default:
        return false;
    }
}

/* ---- value parsing (shared with compile-time validation) ---- */

bool iam__parse_number(const char *s, size_t len, double *out)
{
    char buf[64];
    size_t i = 0;
    if (len == 0 || len >= sizeof buf)
        return false;
    if (s[i] == '+' || s[i] == '-')
        i++;
    size_t digits = 0;
    while (i < len && isdigit((unsigned char)s[i])) {
        i++;
        digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && isdigit((unsigned char)s[i])) {
            i++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < len && isdigit((unsigned char)s[i])) {
            i++;
            ed++;
        }
        if (ed == 0)
            return false;
    }
    if (i != len)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    *out = strtod(buf, NULL);
    return errno != ERANGE;
}

/* Days since 1970-01-01 for a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool take_digits(const char *s, size_t len, size_t *i, size_t n, int *out)
{
    int v = 0;
    if (*i + n > len)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = s[*i + k];
        if (!isdigit((unsigned char)c))
            return false;
        v = v * 10 + (c - '0');
    }
    *i += n;
    *out = v;
    return true;
}

/* Dates: "one of the W3C implementations of the ISO 8601 date formats or in
 * epoch (UNIX) time" (Conditions_Date). Accepts YYYY, YYYY-MM, YYYY-MM-DD,
 * and YYYY-MM-DDThh:mm[:ss[.fraction]] with Z, +hh:mm, -hh:mm (or no zone,
 * read as UTC), and epoch seconds with an optional fraction. */
bool iam__parse_date(const char *s, size_t len, int64_t *ms)
{
    size_t i = 0;
    if (len == 0)
        return false;
    bool all_digits = true;
    for (size_t k = 0; k < len; k++)
        if (!isdigit((unsigned char)s[k]) && s[k] != '.')
            all_digits = false;
    /* Digits only is epoch seconds, as IAM's own parser reads it: a
     * value holding neither 'T' nor '-' is a timestamp. */
    if (all_digits) {
        int64_t secs = 0;
        while (i < len && s[i] != '.') {
            if (secs > (INT64_MAX - 9) / 10)
                return false;
            secs = secs * 10 + (s[i++] - '0');
        }
        int64_t frac = 0, scale = 100;
        if (i < len) {
            i++;
            if (i == len)
                return false;
            for (; i < len; i++) {
                if (s[i] == '.')
                    return false;
                frac += (s[i] - '0') * scale;
                scale /= 10;
            }
        }
        *ms = secs > INT64_MAX / 1000 ? INT64_MAX : secs * 1000 + frac;
        return true;
    }
    int y, mo = 1, d = 1, h = 0, mi = 0, se = 0, msec = 0;
    if (!take_digits(s, len, &i, 4, &y))
        return false;
    if (i < len && s[i] == '-') {
        i++;
        if (!take_digits(s, len, &i, 2, &mo) || mo < 1 || mo > 12)
            return false;
        if (i < len && s[i] == '-') {
            i++;
            if (!take_digits(s, len, &i, 2, &d) || d < 1 || d > 31)
                return false;
        }
    }
    int64_t tz_ms = 0;
    if (i < len && (s[i] == 'T' || s[i] == 't')) {
        i++;
        if (!take_digits(s, len, &i, 2, &h) || h > 23 || i >= len || s[i] != ':')
            return false;
        i++;
        if (!take_digits(s, len, &i, 2, &mi) || mi > 59)
            return false;
        if (i < len && s[i] == ':') {
            i++;
            if (!take_digits(s, len, &i, 2, &se) || se > 60)
                return false;
            if (i < len && s[i] == '.') {
                i++;
                size_t start = i;
                int scale = 100;
                while (i < len && isdigit((unsigned char)s[i])) {
                    msec += (s[i] - '0') * scale;
                    scale /= 10;
                    i++;
                }
                if (i == start)
                    return false;
            }
        }
        if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < len && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i] == '-' ? -1 : 1, th, tm = 0;
            i++;
            if (!take_digits(s, len, &i, 2, &th) || th > 23)
                return false;
            if (i < len && s[i] == ':')
                i++;
            if (i < len && !take_digits(s, len, &i, 2, &tm))
                return false;
            if (tm > 59)
                return false;
            tz_ms = sign * ((int64_t)th * 3600 + tm * 60) * 1000;
        }
    }
    if (i != len)
        return false;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ms = ((days * 86400 + h * 3600 + mi * 60 + se) * 1000 + msec) - tz_ms;
    return true;
}

bool iam__parse_cidr(const char *s, size_t len, uint8_t ip[16], uint8_t *prefix, bool *v6)
{
    char buf[64];
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    if (alen == 0 || alen >= sizeof buf)
        return false;
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    memset(ip, 0, 16);
    if (inet_pton(AF_INET, buf, ip) == 1)
        *v6 = false;
    else if (inet_pton(AF_INET6, buf, ip) == 1)
        *v6 = true;
    else
        return false;
    int max = *v6 ? 128 : 32;
    /* "If you specify an IP address without the associated routing prefix,
     * IAM uses the default prefix value of /32" (Conditions_IPAddress). */
    int p = max;
    if (slash) {
        size_t plen = len - alen - 1;
        if (plen == 0 || plen > 3)
            return false;
        p = 0;
        for (size_t k = 0; k < plen; k++) {
            char c = slash[1 + k];
            if (!isdigit((unsigned char)c))
                return false;
            p = p * 10 + (c - '0');
        }
        if (p > max)
            return false;
    }
    *prefix = (uint8_t)p;
    return true;
}

static int b64v(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

bool iam__base64_decode(const char *s, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    while (len && s[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return false;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64v(s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap)
                return false;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    *outlen = n;
    return true;
}

/* Compile one condition value for its operator. Returns false only for a
 * date IAM itself refuses, which it reports as "The policy failed legacy
 * parsing"; other unparsable values are kept and simply never match. */
bool iam__cval_init(arena_t *a, iam__cval_t *v, uint8_t op, const char *s, size_t len, bool vars)
{
    memset(v, 0, sizeof *v);
    bool like = op == IAM__OP_STR_LIKE || op == IAM__OP_STR_NLIKE || (op >= IAM__OP_ARN_EQ && op <= IAM__OP_ARN_NLIKE);
    iam__tmpl_init(a, &v->str, s, len, vars && iam__op_allows_vars(op), like);
    switch (op) {
    case IAM__OP_NUM_EQ:
    case IAM__OP_NUM_NE:
    case IAM__OP_NUM_LT:
    case IAM__OP_NUM_LE:
    case IAM__OP_NUM_GT:
    case IAM__OP_NUM_GE:
        v->ok = iam__parse_number(s, len, &v->num);
        return true;
    case IAM__OP_DATE_EQ:
    case IAM__OP_DATE_NE:
    case IAM__OP_DATE_LT:
    case IAM__OP_DATE_LE:
    case IAM__OP_DATE_GT:
    case IAM__OP_DATE_GE:
        v->ok = iam__parse_date(s, len, &v->ms);
        return v->ok;
    case IAM__OP_BOOL:
    case IAM__OP_NULL:
        v->ok = (len == 4 && strncasecmp(s, "true", 4) == 0) || (len == 5 && strncasecmp(s, "false", 5) == 0);
        v->b = len == 4;
        return true;
    case IAM__OP_BIN_EQ: {
        uint8_t *out = arena_alloc(a, len + 1);
        size_t n = 0;
        v->ok = iam__base64_decode(s, len, out, len + 1, &n);
        v->bin = out;
        v->binlen = (uint32_t)n;
        return true;
    }
    case IAM__OP_IP:
    case IAM__OP_NOT_IP:
        v->ok = iam__parse_cidr(s, len, v->ip, &v->ip_prefix, &v->ip_v6);
        return true;
    default:
        v->ok = true;
        return true;
    }
}

/* ---- request context ---- */

static bool key_is(const char *key, size_t keylen, const char *name)
{
    size_t n = strlen(name);
    return keylen == n && strncasecmp(key, name, n) == 0;
}

static bool one(iam__ctx_lookup_t *out, const char *v)
{
    if (!v)
        return false;
    out->one = v;
    out->values = &out->one;
    out->n = 1;
    return true;
}

bool iam__ctx_get(iam__ectx_t *e, const char *key, size_t keylen, iam__ctx_lookup_t *out)
{
    const iam_request_t *req = e->req;
    const iam_principal_t *pr = e->pr;
    out->values = NULL;
    out->n = 0;

    /* Keys derived from the principal and the request itself
     * (reference_policies_condition-keys.html). */
    if (pr) {
        /* For a role session aws:PrincipalArn is the role's ARN, not the
         * session's, so policies keep working across sessions. */
        if (key_is(key, keylen, "aws:PrincipalArn") && one(out, pr->role_arn ? pr->role_arn : pr->arn))
            return true;
        if (key_is(key, keylen, "aws:PrincipalAccount") && one(out, pr->account))
            return true;
        if (key_is(key, keylen, "aws:PrincipalType") && one(out, pr->type))
            return true;
        if (key_is(key, keylen, "aws:userid") && one(out, pr->user_id))
            return true;
        if (key_is(key, keylen, "aws:username") && one(out, pr->username))
            return true;
        if (key_is(key, keylen, "aws:PrincipalServiceName") && one(out, pr->service))
            return true;
        if (keylen > 17 && strncasecmp(key, "aws:PrincipalTag/", 17) == 0) {
            for (size_t i = 0; i < pr->ntags; i++) {
                const char *tk = pr->tags[i].key;
                if (tk && strlen(tk) == keylen - 17 && strncasecmp(tk, key + 17, keylen - 17) == 0)
                    return one(out, pr->tags[i].value);
            }
        }
    }
    if (key_is(key, keylen, "aws:PrincipalIsAWSService"))
        return one(out, pr && pr->service ? "true" : "false");
    if (key_is(key, keylen, "aws:SourceIp") && one(out, req->source_ip))
        return true;
    if (key_is(key, keylen, "aws:SecureTransport"))
        return one(out, req->secure_transport ? "true" : "false");
    if (key_is(key, keylen, "aws:RequestedRegion") && one(out, req->region))
        return true;
    if (key_is(key, keylen, "aws:CurrentTime")) {
        kyoka_time_iso8601(e->now_ms, out->tmp, false);
        return one(out, out->tmp);
    }
    if (key_is(key, keylen, "aws:EpochTime")) {
        snprintf(out->tmp, sizeof out->tmp, "%lld", (long long)(e->now_ms / 1000));
        return one(out, out->tmp);
    }
    for (size_t i = 0; i < req->ncontext; i++) {
        const iam_ctx_value_t *c = &req->context[i];
        if (c->key && strlen(c->key) == keylen && strncasecmp(c->key, key, keylen) == 0) {
            out->values = c->values;
            out->n = c->values ? c->nvalues : 0;
            return true;
        }
    }
    /* aws:ViaAWSService "is always included in the request context". */
    if (key_is(key, keylen, "aws:ViaAWSService"))
        return one(out, "false");
    return false;
}

/* ---- evaluation ---- */

static bool match_ip(const iam__cval_t *pv, const char *s)
{
    uint8_t ip[16] = {0};
    uint8_t prefix;
    bool v6;
    if (!iam__parse_cidr(s, strlen(s), ip, &prefix, &v6) || v6 != pv->ip_v6)
        return false;
    int bits = pv->ip_prefix;
    for (int i = 0; bits > 0; i++, bits -= 8) {
        uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
        if ((ip[i] & mask) != (pv->ip[i] & mask))
            return false;
    }
    return true;
}

static bool match_binary(const iam__cval_t *pv, const char *s)
{
    /* The request side of a binary key may arrive base64-encoded (as on
     * the wire) or as raw bytes; either form matching is a match. */
    uint8_t buf[IAM__BINARY_MAX];
    size_t n, len = strlen(s);
    if (iam__base64_decode(s, len, buf, sizeof buf, &n) && n == pv->binlen && memcmp(buf, pv->bin, n) == 0)
        return true;
    return len == pv->binlen && memcmp(s, pv->bin, len) == 0;
}

static bool match_string_exact(iam__ectx_t *e, const iam__cval_t *pv, const char *s, bool fold)
{
    return iam__tmpl_match(e, &pv->str, s, strlen(s), fold);
}

static bool match_arn(iam__ectx_t *e, const iam__cval_t *pv, const char *s)
{
    iam__expanded_t x;
    if (!iam__tmpl_expand(e, &pv->str, &x))
        return false;
    return iam__arn_wild_match(x.s, x.has_wild ? x.wild : NULL, x.len, s, strlen(s));
}

static bool match_bool(iam__ectx_t *e, const iam__cval_t *pv, const char *s)
{
    iam__expanded_t x;
    if (!iam__tmpl_expand(e, &pv->str, &x))
        return false;
    return strlen(s) == x.len && strncasecmp(s, x.s, x.len) == 0;
}

/* The positive form of the operator for one request value and one policy
 * value; negation is applied by the caller. */
static bool base_match(iam__ectx_t *e, uint8_t op, const iam__cval_t *pv, const char *s)
{
    switch (op) {
    case IAM__OP_STR_EQ:
    case IAM__OP_STR_NE:
    case IAM__OP_STR_LIKE:
    case IAM__OP_STR_NLIKE:
        return match_string_exact(e, pv, s, false);
    case IAM__OP_STR_EQ_IC:
    case IAM__OP_STR_NE_IC:
        return match_string_exact(e, pv, s, true);
    case IAM__OP_NUM_EQ:
    case IAM__OP_NUM_NE:
    case IAM__OP_NUM_LT:
    case IAM__OP_NUM_LE:
    case IAM__OP_NUM_GT:
    case IAM__OP_NUM_GE: {
        double v;
        if (!pv->ok || !iam__parse_number(s, strlen(s), &v))
            return false;
        switch (op) {
        case IAM__OP_NUM_LT: return v < pv->num;
        case IAM__OP_NUM_LE: return v <= pv->num;
        case IAM__OP_NUM_GT: return v > pv->num;
        case IAM__OP_NUM_GE: return v >= pv->num;
        default: return v == pv->num;
        }
    }
    case IAM__OP_DATE_EQ:
    case IAM__OP_DATE_NE:
    case IAM__OP_DATE_LT:
    case IAM__OP_DATE_LE:
    case IAM__OP_DATE_GT:
    case IAM__OP_DATE_GE: {
        int64_t v;
        if (!pv->ok || !iam__parse_date(s, strlen(s), &v))
            return false;
        switch (op) {
        case IAM__OP_DATE_LT: return v < pv->ms;
        case IAM__OP_DATE_LE: return v <= pv->ms;
        case IAM__OP_DATE_GT: return v > pv->ms;
        case IAM__OP_DATE_GE: return v >= pv->ms;
        default: return v == pv->ms;
        }
    }
    case IAM__OP_BOOL:
        return match_bool(e, pv, s);
    case IAM__OP_BIN_EQ:
        return pv->ok && match_binary(pv, s);
    case IAM__OP_IP:
    case IAM__OP_NOT_IP:
        return pv->ok && match_ip(pv, s);
    case IAM__OP_ARN_EQ:
    case IAM__OP_ARN_LIKE:
    case IAM__OP_ARN_NE:
    case IAM__OP_ARN_NLIKE:
        return match_arn(e, pv, s);
    default:
        return false;
    }
}

/* One request value against the policy values: ORed, then negated for the
 * Not operators. */
static bool value_result(iam__ectx_t *e, const iam__cond_t *c, const char *s)
{
    bool any = false;
    for (uint32_t i = 0; i < c->nvalues && !any; i++)
        any = s && base_match(e, c->op, &c->values[i], s);
    return op_negated(c->op) ? !any : any;
}

bool iam__cond_eval(iam__ectx_t *e, const iam__cond_t *c)
{
    iam__ctx_lookup_t v;
    bool present = iam__ctx_get(e, c->key, strlen(c->key), &v);
    if (!present && e->ex) {
        iam__note_missing(e, c->key);
        /* The simulator reports every value the condition would need,
         * including policy variables inside its values (${aws:username}),
         * as SimulateCustomPolicy's MissingContextValues does. */
        for (uint32_t i = 0; i < c->nvalues; i++) {
            iam__expanded_t scratch;
            (void)iam__tmpl_expand(e, &c->values[i].str, &scratch);
        }
    }

    if (c->op == IAM__OP_NULL) {
        /* true: the key must be absent; false: present and not null. */
        bool absent = !present || v.n == 0;
        for (uint32_t i = 0; i < c->nvalues; i++)
            if (c->values[i].ok && c->values[i].b == absent)
                return true;
        return false;
    }

    if (!present || v.n == 0) {
        if (c->if_exists)
            return true;
        /* An empty or missing set: ForAllValues is true, ForAnyValue false
         * (reference_policies_multi-value-conditions.html). */
        if (c->set == IAM__SET_ALL)
            return true;
        if (c->set == IAM__SET_ANY)
            return false;
        /* "If the policy condition requires that the key is not matched,
         * such as StringNotLike or ArnNotLike, and the right key is not
         * present, the condition is true." */
        return op_negated(c->op);
    }

    switch (c->set) {
    case IAM__SET_ALL:
        for (size_t i = 0; i < v.n; i++)
            if (!value_result(e, c, v.values[i]))
                return false;
        return true;
    case IAM__SET_ANY:
        for (size_t i = 0; i < v.n; i++)
            if (value_result(e, c, v.values[i]))
                return true;
        return false;
    default:
        /* Without a set operator a positive operator matches when any
         * request value matches; a negated one when none does. */
        if (op_negated(c->op)) {
            for (size_t i = 0; i < v.n; i++)
                if (!value_result(e, c, v.values[i]))
                    return false;
            return true;
        }
        for (size_t i = 0; i < v.n; i++)
            if (value_result(e, c, v.values[i]))
                return true;
        return false;
    }
}
