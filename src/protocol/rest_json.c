/*
 * The REST-JSON protocol (Lambda; later API Gateway and Lambda's URL
 * configs), driven by the model's HTTP bindings.
 *
 * Routing matches the request's method and path against every operation's
 * requestUri template. A template is literal text with {Label} (one path
 * segment) and {Label+} (the rest of the path, '/' included) and may end in a
 * literal query ("?List=ALL") that the request must carry. A trailing '/' is
 * not significant ("/functions/" and "/functions" are the same route) except
 * after a greedy label, where it belongs to the value. When several templates
 * match, the one with the most literal characters wins, so a longer route
 * beats a shorter one and a query-literal route beats the plain one.
 *
 * Decoding builds the canonical input tree member by member from where the
 * model binds it: URI labels (percent-decoded), query parameters (a list
 * repeats its key), headers, the payload member (the whole body) or the
 * members of the JSON body. Strings from the URI, query and headers are
 * converted to the member's type here, since only these arrive untyped;
 * JSON body values keep their JSON types and proto_validate_input checks
 * them. Encoding is the mirror image: the statusCode member picks the
 * status, header members become headers, and the payload member or the
 * body members become the body.
 *
 * Bodies are copied at most once: a blob payload goes into the tree as the
 * raw bytes (a jansson string made without a UTF-8 check) and comes out of
 * the tree into the response buffer as is, never through base64. JSON body
 * values pass through untouched unless the model renames a key or formats
 * a timestamp somewhere inside them (model_shape_t.json_walk).
 */
#include "protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REST_MAX_LABELS 8          /* labels in one template (Lambda: 3) */
#define REST_MAX_QUERY_PARAMS 1000 /* query parameters read from one request */
#define REST_MAX_DEPTH 32          /* nesting the body walk follows */
#define REST_MAX_ECHO 200          /* bytes of a bad value quoted in an error */

/* ---------------------------------------------------------------- errors */

static void set_parse_error(const model_service_t *svc, aws_error_t *err, const char *fmt, ...) KYOKA_PRINTF(3, 4);
static void set_parse_error(const model_service_t *svc, aws_error_t *err, const char *fmt, ...)
{
    if (err->code)
        return;
    err->code = svc->parse_error ? svc->parse_error : "SerializationException";
    err->status = 400;
    err->sender = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    proto__utf8_scrub(err->message); /* echoed values may be any bytes */
}

static const char *where_name(model_location_t loc)
{
    switch (loc) {
    case LOC_URI: return "URI";
    case LOC_QUERYSTRING: return "query string";
    case LOC_HEADER:
    case LOC_HEADERS: return "header";
    default: return "body";
    }
}

/* -------------------------------------------------------- percent coding */

/* The byte at *i of a percent-encoded view, decoding %XX (and '+' as a
 * space when plus_is_space); advances *i. *escaped tells a decoded byte
 * from a literal one, so that %2F never acts as a path separator. */
static unsigned char pct_next(strv_t s, size_t *i, bool plus_is_space, bool *escaped)
{
    unsigned char c = (unsigned char)s.p[*i];
    *escaped = false;
    if (c == '%' && *i + 2 < s.len && kyoka_hexval(s.p[*i + 1]) >= 0 && kyoka_hexval(s.p[*i + 2]) >= 0) {
        c = (unsigned char)(kyoka_hexval(s.p[*i + 1]) * 16 + kyoka_hexval(s.p[*i + 2]));
        *i += 3;
        *escaped = true;
        return c;
    }
    (*i)++;
    if (c == '+' && plus_is_space)
        return ' ';
    return c;
}

/* Does the percent-encoded view raw decode to exactly lit? */
static bool pct_equals(strv_t raw, strv_t lit, bool plus_is_space)
{
    size_t i = 0, j = 0;
    bool esc;
    while (i < raw.len) {
        if (j == lit.len || pct_next(raw, &i, plus_is_space, &esc) != (unsigned char)lit.p[j])
            return false;
        j++;
    }
    return j == lit.len;
}

/* Percent-decode into the arena (a view into s when nothing is encoded). */
static strv_t pct_decode(arena_t *a, strv_t s, bool plus_is_space)
{
    if (s.len == 0)
        return (strv_t){"", 0};
    return form_decode(a, s, plus_is_space);
}

/* ---------------------------------------------------------------- routing */

typedef struct rest_label {
    strv_t name;  /* label name in the template, without '+' */
    strv_t value; /* raw (still percent-encoded) view into the request path */
} rest_label_t;

static strv_t tpl_path(const char *uri)
{
    const char *q = strchr(uri, '?');
    return (strv_t){uri, q ? (size_t)(q - uri) : strlen(uri)};
}

static strv_t tpl_query(const char *uri)
{
    const char *q = strchr(uri, '?');
    return q ? strv_from(q + 1) : (strv_t){"", 0};
}

static bool ends_greedy(strv_t t) { return t.len >= 2 && t.p[t.len - 1] == '}' && t.p[t.len - 2] == '+'; }

/* Match the path part of a template against a request path. Fills labels
 * (up to REST_MAX_LABELS) and *literals (template characters matched
 * literally). Labels are never empty. */
static bool match_path(strv_t t, strv_t path, rest_label_t *labels, int *nlabels, int *literals)
{
    if (path.len == 0)
        path = (strv_t){"/", 1};
    /* The trailing slash is not significant, except after a greedy label. */
    if (t.len > 1 && t.p[t.len - 1] == '/')
        t.len--;
    if (!ends_greedy(t) && path.len > 1 && path.p[path.len - 1] == '/')
        path.len--;
    size_t ti = 0, pi = 0;
    int n = 0, lit = 0;
    while (ti < t.len) {
        if (t.p[ti] != '{') {
            if (pi >= path.len)
                return false;
            bool esc;
            unsigned char c = pct_next(path, &pi, false, &esc);
            if (c != (unsigned char)t.p[ti] || (esc && c == '/'))
                return false;
            ti++;
            lit++;
            continue;
        }
        const char *close = memchr(t.p + ti, '}', t.len - ti);
        if (!close || n == REST_MAX_LABELS)
            return false;
        strv_t name = {t.p + ti + 1, (size_t)(close - t.p - ti - 1)};
        bool greedy = name.len && name.p[name.len - 1] == '+';
        if (greedy)
            name.len--;
        ti = (size_t)(close - t.p) + 1;
        /* The literal text after the label: the rest of the segment, or for
         * a greedy label the rest of the template. Only a literal may follow
         * a label before the next '/'. */
        size_t sfx_end = ti;
        while (sfx_end < t.len && (greedy || t.p[sfx_end] != '/')) {
            if (t.p[sfx_end] == '{')
                return false;
            sfx_end++;
        }
        strv_t sfx = {t.p + ti, sfx_end - ti};
        size_t seg_end = pi;
        if (greedy)
            seg_end = path.len;
        else
            while (seg_end < path.len && path.p[seg_end] != '/')
                seg_end++;
        if (seg_end - pi < sfx.len + 1)
            return false;
        size_t vend = seg_end - sfx.len;
        if (sfx.len && memcmp(path.p + vend, sfx.p, sfx.len) != 0)
            return false;
        labels[n].name = name;
        labels[n].value = (strv_t){path.p + pi, vend - pi};
        n++;
        lit += (int)sfx.len;
        pi = seg_end;
        ti = sfx_end;
    }
    if (pi != path.len)
        return false;
    *nlabels = n;
    *literals = lit;
    return true;
}

/* Does the request query carry every key (and value, when the template gives
 * one) of the template's literal query? Adds the literal characters. */
static bool match_query(strv_t tq, strv_t query, int *literals)
{
    const char *p = tq.p, *end = tq.p + tq.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        strv_t key = {p, (size_t)((eq ? eq : stop) - p)};
        strv_t val = eq ? (strv_t){eq + 1, (size_t)(stop - eq - 1)} : STRV_NULL;
        if (key.len) {
            bool found = false;
            const char *q = query.len ? query.p : NULL, *qend = q ? q + query.len : NULL;
            while (!found && q && q < qend) {
                const char *qamp = memchr(q, '&', (size_t)(qend - q));
                const char *qstop = qamp ? qamp : qend;
                const char *qeq = memchr(q, '=', (size_t)(qstop - q));
                strv_t qk = {q, (size_t)((qeq ? qeq : qstop) - q)};
                strv_t qv = qeq ? (strv_t){qeq + 1, (size_t)(qstop - qeq - 1)} : (strv_t){"", 0};
                found = pct_equals(qk, key, true) && (!val.p || pct_equals(qv, val, true));
                q = qstop + 1;
            }
            if (!found)
                return false;
            *literals += (int)(stop - p) + 1;
        }
        p = stop + 1;
    }
    return true;
}

const model_op_t *proto_rest_match(const model_service_t *svc, strv_t method, strv_t path, strv_t query)
{
    const model_op_t *best = NULL;
    int best_score = -1;
    for (int i = 0; i < svc->nops; i++) {
        const model_op_t *op = &svc->ops[i];
        if (!op->http_method || !op->request_uri || !strv_eq_cstr(method, op->http_method))
            continue;
        rest_label_t labels[REST_MAX_LABELS];
        int n, score;
        if (!match_path(tpl_path(op->request_uri), path, labels, &n, &score))
            continue;
        if (!match_query(tpl_query(op->request_uri), query, &score))
            continue;
        if (score > best_score) {
            best = op;
            best_score = score;
        }
    }
    return best;
}

/* ------------------------------------------------------------ timestamps */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    /* Howard Hinnant's algorithm: days since 1970-01-01 in the proleptic
     * Gregorian calendar. */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, size_t n, int count, int *out)
{
    if ((size_t)count > n)
        return false;
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_fraction(const char *s, size_t n, size_t *i, double *frac)
{
    *frac = 0;
    if (*i < n && s[*i] == '.') {
        double scale = 0.1;
        (*i)++;
        if (*i >= n || s[*i] < '0' || s[*i] > '9')
            return false;
        while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
            *frac += (s[*i] - '0') * scale;
            scale /= 10;
            (*i)++;
        }
    }
    return true;
}

/* "2024-01-02T03:04:05[.123](Z|+01:00|+0100)" */
static bool parse_iso8601(strv_t v, double *out)
{
    const char *s = v.p;
    size_t n = v.len;
    int y, mo, d, h, mi, se;
    if (n < 20 || !digits(s, n, 4, &y) || s[4] != '-' || !digits(s + 5, n - 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, n - 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, n - 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, n - 14, 2, &mi) || s[16] != ':' || !digits(s + 17, n - 17, 2, &se))
        return false;
    size_t i = 19;
    double frac;
    if (!parse_fraction(s, n, &i, &frac) || i >= n)
        return false;
    int offset = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int oh, om;
        int sign = s[i] == '-' ? -1 : 1;
        i++;
        if (!digits(s + i, n - i, 2, &oh))
            return false;
        i += 2;
        if (i < n && s[i] == ':')
            i++;
        if (!digits(s + i, n - i, 2, &om))
            return false;
        i += 2;
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return false;
    }
    if (i != n || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    *out = (double)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset) + frac;
    return true;
}

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const day_names[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};

/* IMF-fixdate, HTTP's form of RFC 822: "Tue, 02 Jan 2024 03:04:05 GMT". */
static bool parse_rfc822(strv_t v, double *out)
{
    const char *s = v.p;
    size_t n = v.len;
    const char *comma = memchr(s, ',', n);
    size_t i = comma ? (size_t)(comma - s) + 1 : 0;
    while (i < n && s[i] == ' ')
        i++;
    int d, y, h, mi, se, mo = -1;
    if (!digits(s + i, n - i, 2, &d) && !digits(s + i, n - i, 1, &d))
        return false;
    i += (i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') ? 2 : 1;
    if (i + 5 > n || s[i] != ' ')
        return false;
    for (int k = 0; k < 12; k++)
        if (strncasecmp(s + i + 1, month_names[k], 3) == 0)
            mo = k + 1;
    i += 4;
    if (mo < 0 || i >= n || s[i] != ' ')
        return false;
    i++;
    if (!digits(s + i, n - i, 4, &y))
        return false;
    i += 4;
    if (i + 9 > n || s[i] != ' ' || !digits(s + i + 1, n - i - 1, 2, &h) || s[i + 3] != ':' ||
        !digits(s + i + 4, n - i - 4, 2, &mi) || s[i + 6] != ':' || !digits(s + i + 7, n - i - 7, 2, &se))
        return false;
    i += 9;
    double frac;
    if (!parse_fraction(s, n, &i, &frac))
        return false;
    while (i < n && s[i] == ' ')
        i++;
    strv_t zone = {s + i, n - i};
    if (zone.len && !strv_caseeq_cstr(zone, "GMT") && !strv_caseeq_cstr(zone, "UTC") && !strv_caseeq_cstr(zone, "Z"))
        return false;
    if (d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return false;
    *out = (double)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) + frac;
    return true;
}

static bool parse_epoch(strv_t v, double *out)
{
    char tmp[64];
    if (v.len == 0 || v.len >= sizeof tmp)
        return false;
    memcpy(tmp, v.p, v.len);
    tmp[v.len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    if (*end || errno || !(d == d))
        return false;
    *out = d;
    return true;
}

/* A timestamp in any of the three wire forms (clients differ in which they
 * send where) as epoch seconds: an integer when whole. */
static json_t *timestamp_from_text(strv_t v)
{
    double t;
    if (!parse_epoch(v, &t) && !parse_iso8601(v, &t) && !parse_rfc822(v, &t))
        return NULL;
    if (t == (double)(int64_t)t)
        return json_integer((json_int_t)t);
    return json_real(t);
}

static double timestamp_seconds(json_t *v)
{
    return json_is_integer(v) ? (double)json_integer_value(v) : json_real_value(v);
}

/* Epoch seconds as text in a timestamp format; out needs 64 bytes. */
static void timestamp_format(double t, model_ts_format_t fmt, char out[64])
{
    int64_t ms = (int64_t)(t * 1000.0 + (t < 0 ? -0.5 : 0.5));
    if (fmt == TSF_ISO8601) {
        kyoka_time_iso8601(ms, out, ms % 1000 != 0);
        return;
    }
    if (fmt == TSF_EPOCH || fmt == TSF_DEFAULT) {
        if (ms % 1000 == 0)
            snprintf(out, 64, "%lld", (long long)(ms / 1000));
        else
            snprintf(out, 64, "%.3f", (double)ms / 1000.0);
        return;
    }
    int64_t secs = ms / 1000 - (ms % 1000 < 0);
    int64_t days = secs / 86400 - (secs % 86400 < 0);
    int64_t rem = secs - days * 86400;
    /* Civil date from days (the inverse of days_from_civil). */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int64_t y = yoe + era * 400 + (m <= 2);
    int wd = (int)(((days % 7) + 7) % 7);
    snprintf(out, 64, "%s, %02d %s %04lld %02d:%02d:%02d GMT", day_names[wd], d, month_names[m - 1], (long long)y,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

/* --------------------------------------------------------------- decoding */

typedef struct dctx {
    const model_service_t *svc;
    arena_t *a;
    aws_error_t *err;
} dctx_t;

static int64_t parse_integer(strv_t v, bool *ok)
{
    char tmp[32];
    *ok = false;
    if (v.len == 0 || v.len >= sizeof tmp)
        return 0;
    memcpy(tmp, v.p, v.len);
    tmp[v.len] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(tmp, &end, 10);
    if (*end || errno)
        return 0;
    *ok = true;
    return x;
}

/* A URI, query or header string as a value of the member's scalar type. */
static json_t *scalar_from_text(dctx_t *d, const model_member_t *m, int shape, strv_t v)
{
    const model_shape_t *s = &d->svc->shapes[shape];
    const char *expected = NULL;
    switch (s->type) {
    case SHAPE_STRING:
    case SHAPE_BLOB: {
        json_t *j = json_stringn(v.len ? v.p : "", v.len);
        if (j)
            return j;
        expected = "valid UTF-8";
        break;
    }
    case SHAPE_BOOLEAN:
        if (strv_eq_cstr(v, "true"))
            return json_true();
        if (strv_eq_cstr(v, "false"))
            return json_false();
        expected = "true or false";
        break;
    case SHAPE_INTEGER:
    case SHAPE_LONG: {
        bool ok;
        int64_t x = parse_integer(v, &ok);
        if (ok && (s->type == SHAPE_LONG || (x >= INT32_MIN && x <= INT32_MAX)))
            return json_integer((json_int_t)x);
        expected = "an integer";
        break;
    }
    case SHAPE_DOUBLE:
    case SHAPE_FLOAT: {
        double x;
        if (parse_epoch(v, &x))
            return json_real(x);
        expected = "a number";
        break;
    }
    case SHAPE_TIMESTAMP: {
        json_t *j = timestamp_from_text(v);
        if (j)
            return j;
        expected = "a timestamp";
        break;
    }
    default: expected = "a scalar"; break;
    }
    set_parse_error(d->svc, d->err, "Invalid value '%.*s' for %s in the %s: expected %s",
                    (int)(v.len > REST_MAX_ECHO ? REST_MAX_ECHO : v.len), v.len ? v.p : "", m->name,
                    where_name(m->location), expected);
    return NULL;
}

static const char *wire_name(const model_member_t *m) { return m->location_name ? m->location_name : m->name; }

/* A list header value: comma-separated items, each optionally a quoted
 * string (botocore quotes items that contain a comma or a quote). */
static json_t *header_list(dctx_t *d, const model_member_t *m, const model_shape_t *ls, strv_t v)
{
    json_t *arr = json_array();
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
            i++;
        strv_t item;
        if (i < v.len && v.p[i] == '"') {
            char *buf = arena_alloc(d->a, v.len - i + 1);
            size_t n = 0;
            i++;
            while (i < v.len && v.p[i] != '"') {
                if (v.p[i] == '\\' && i + 1 < v.len)
                    i++;
                buf[n++] = v.p[i++];
            }
            i++;
            item = (strv_t){buf, n};
            while (i < v.len && v.p[i] != ',')
                i++;
        } else {
            size_t start = i;
            while (i < v.len && v.p[i] != ',')
                i++;
            item = strv_trim((strv_t){v.p + start, i - start});
        }
        i++; /* the comma */
        json_t *j = scalar_from_text(d, m, ls->members[0].shape, item);
        if (!j) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, j);
    }
    return arr;
}

static json_t *walk_in(dctx_t *d, int shape, const model_member_t *m, json_t *v, int depth);

/* A JSON body value as the canonical tree: the same value when nothing in
 * its shape is renamed or reformatted, else a rebuilt copy. Values of the
 * wrong JSON type are kept for proto_validate_input to report. */
static json_t *walk_in(dctx_t *d, int shape, const model_member_t *m, json_t *v, int depth)
{
    const model_shape_t *s = &d->svc->shapes[shape];
    if (s->type == SHAPE_TIMESTAMP && m && m->timestamp_format != TSF_DEFAULT && m->timestamp_format != TSF_EPOCH &&
        json_is_string(v)) {
        json_t *t = timestamp_from_text((strv_t){json_string_value(v), json_string_length(v)});
        return t ? t : json_incref(v);
    }
    if (!s->json_walk || depth > REST_MAX_DEPTH)
        return json_incref(v);
    if (s->type == SHAPE_STRUCTURE && json_is_object(v)) {
        json_t *o = json_object();
        for (int i = 0; i < s->nmembers; i++) {
            const model_member_t *mm = &s->members[i];
            json_t *mv = json_object_get(v, wire_name(mm));
            if (mv)
                json_object_set_new(o, mm->name, walk_in(d, mm->shape, mm, mv, depth + 1));
        }
        return o;
    }
    if (s->type == SHAPE_LIST && json_is_array(v)) {
        json_t *arr = json_array();
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr,
                                  walk_in(d, s->members[0].shape, &s->members[0], json_array_get(v, i), depth + 1));
        return arr;
    }
    if (s->type == SHAPE_MAP && json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *mv;
        json_object_foreach(v, k, mv)
            json_object_set_new(o, k, walk_in(d, s->members[1].shape, &s->members[1], mv, depth + 1));
        return o;
    }
    return json_incref(v);
}

static bool blank(strv_t body)
{
    for (size_t i = 0; i < body.len; i++)
        if (body.p[i] != ' ' && body.p[i] != '\t' && body.p[i] != '\r' && body.p[i] != '\n')
            return false;
    return true;
}

/* The body as a JSON object, NULL for an empty body (not an error) or on
 * error (err set). */
static json_t *parse_body(dctx_t *d, strv_t body, bool *failed)
{
    *failed = false;
    if (blank(body))
        return NULL;
    json_error_t jerr;
    json_t *j = json_loadb(body.p, body.len, 0, &jerr);
    if (!j || !json_is_object(j)) {
        if (j)
            set_parse_error(d->svc, d->err, "Could not parse request body into json: expected a JSON object");
        else
            set_parse_error(d->svc, d->err, "Could not parse request body into json: %s (line %d, column %d)",
                            jerr.text, jerr.line, jerr.column);
        json_decref(j);
        *failed = true;
        return NULL;
    }
    return j;
}

static bool is_bound_query(const model_shape_t *in, strv_t key, strv_t tq)
{
    for (int i = 0; i < in->nmembers; i++)
        if (in->members[i].location == LOC_QUERYSTRING && strv_eq_cstr(key, wire_name(&in->members[i])))
            return true;
    /* The template's own literal query keys ("find", "List") are routing. */
    const char *p = tq.p, *end = tq.p + tq.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (strv_eq(key, (strv_t){p, (size_t)((eq ? eq : stop) - p)}))
            return true;
        p = stop + 1;
    }
    return false;
}

static json_t *decode_query_member(dctx_t *d, const model_shape_t *in, const model_member_t *m, const form_param_t *ps,
                                   int np, strv_t tq)
{
    const model_shape_t *s = &d->svc->shapes[m->shape];
    const char *key = wire_name(m);
    if (s->type == SHAPE_LIST) {
        json_t *arr = NULL;
        for (int i = 0; i < np; i++) {
            if (!strv_eq_cstr(ps[i].key, key))
                continue;
            json_t *j = scalar_from_text(d, m, s->members[0].shape, ps[i].value);
            if (!j) {
                json_decref(arr);
                return NULL;
            }
            if (!arr)
                arr = json_array();
            json_array_append_new(arr, j);
        }
        return arr;
    }
    if (s->type == SHAPE_MAP) {
        /* A map takes every parameter no other member binds; a map of lists
         * collects repeated keys. */
        const model_shape_t *vs = &d->svc->shapes[s->members[1].shape];
        json_t *obj = NULL;
        for (int i = 0; i < np; i++) {
            if (is_bound_query(in, ps[i].key, tq))
                continue;
            char *k = arena_strndup(d->a, ps[i].key.p, ps[i].key.len);
            int vshape = vs->type == SHAPE_LIST ? vs->members[0].shape : s->members[1].shape;
            json_t *j = scalar_from_text(d, m, vshape, ps[i].value);
            if (!j) {
                json_decref(obj);
                return NULL;
            }
            if (!obj)
                obj = json_object();
            if (vs->type == SHAPE_LIST) {
                json_t *arr = json_object_get(obj, k);
                /* jansson refuses a key that is not UTF-8 (a percent-decoded
                 * key may be any bytes) and frees the value it was given:
                 * such a parameter is dropped, never appended to a freed
                 * array. */
                if (!arr) {
                    arr = json_array();
                    if (json_object_set_new(obj, k, arr) != 0) {
                        json_decref(j);
                        continue;
                    }
                }
                json_array_append_new(arr, j);
            } else if (!json_object_get(obj, k)) {
                json_object_set_new(obj, k, j);
            } else {
                json_decref(j);
            }
        }
        return obj;
    }
    for (int i = 0; i < np; i++)
        if (strv_eq_cstr(ps[i].key, key))
            return scalar_from_text(d, m, m->shape, ps[i].value);
    return NULL;
}

static json_t *decode_header_member(dctx_t *d, const model_member_t *m, const proto_header_t *hs, size_t nh)
{
    const model_shape_t *s = &d->svc->shapes[m->shape];
    const char *name = wire_name(m);
    if (m->location == LOC_HEADERS) {
        size_t pl = strlen(name);
        json_t *obj = NULL;
        for (size_t i = 0; i < nh; i++) {
            if (hs[i].name.len <= pl || strncasecmp(hs[i].name.p, name, pl) != 0)
                continue;
            char *k = arena_strndup(d->a, hs[i].name.p + pl, hs[i].name.len - pl);
            json_t *j =
                scalar_from_text(d, m, s->type == SHAPE_MAP ? s->members[1].shape : m->shape, strv_trim(hs[i].value));
            if (!j) {
                json_decref(obj);
                return NULL;
            }
            if (!obj)
                obj = json_object();
            json_object_set_new(obj, k, j);
        }
        return obj;
    }
    for (size_t i = 0; i < nh; i++) {
        if (!strv_caseeq_cstr(hs[i].name, name))
            continue;
        strv_t v = strv_trim(hs[i].value);
        if (s->type == SHAPE_LIST)
            return header_list(d, m, s, v);
        if (s->type == SHAPE_TIMESTAMP) {
            /* Headers default to HTTP dates; any form is accepted. */
            json_t *t = timestamp_from_text(v);
            if (!t)
                scalar_from_text(d, m, m->shape, v); /* sets the error */
            return t;
        }
        return scalar_from_text(d, m, m->shape, v);
    }
    return NULL;
}

json_t *proto_rest_json_decode(const model_service_t *svc, const model_op_t *op, strv_t path, strv_t query,
                               const proto_header_t *headers, size_t nheaders, strv_t body, arena_t *a,
                               aws_error_t *err)
{
    dctx_t d = {svc, a, err};
    json_t *out = json_object();
    if (op->input < 0)
        return out;
    const model_shape_t *in = &svc->shapes[op->input];

    rest_label_t labels[REST_MAX_LABELS];
    int nlabels = 0, literals;
    if (op->request_uri && !match_path(tpl_path(op->request_uri), path, labels, &nlabels, &literals))
        nlabels = 0;

    form_param_t *ps = NULL;
    int np = 0;
    json_t *obj = NULL; /* the JSON body, when members come from it */
    bool failed = false, has_query = false, has_body = false;
    for (int i = 0; i < in->nmembers; i++) {
        has_query |= in->members[i].location == LOC_QUERYSTRING;
        has_body |= in->members[i].location == LOC_BODY;
    }
    if (has_query && query.len) {
        np = form_parse(a, query, &ps, REST_MAX_QUERY_PARAMS);
        if (np < 0) {
            set_parse_error(svc, err, "Too many query parameters (at most %d)", REST_MAX_QUERY_PARAMS);
            goto fail;
        }
    }

    if (in->payload < 0 && has_body) {
        obj = parse_body(&d, body, &failed);
        if (failed)
            goto fail;
    }

    for (int i = 0; i < in->nmembers; i++) {
        const model_member_t *m = &in->members[i];
        json_t *v = NULL;
        switch (m->location) {
        case LOC_URI:
            for (int k = 0; k < nlabels; k++)
                if (strv_eq_cstr(labels[k].name, wire_name(m))) {
                    v = scalar_from_text(&d, m, m->shape, pct_decode(a, labels[k].value, false));
                    break;
                }
            break;
        case LOC_QUERYSTRING:
            v = decode_query_member(&d, in, m, ps, np, tpl_query(op->request_uri ? op->request_uri : ""));
            break;
        case LOC_HEADER:
        case LOC_HEADERS: v = decode_header_member(&d, m, headers, nheaders); break;
        case LOC_STATUS_CODE: break;
        case LOC_BODY:
            if (i == in->payload) {
                const model_shape_t *ps_shape = &svc->shapes[m->shape];
                if (in->payload_raw && body.len == 0) {
                    v = NULL; /* no body: the member is absent */
                } else if (in->payload_raw && ps_shape->type == SHAPE_BLOB) {
                    /* The raw bytes, NULs and all: see the payload rule in
                     * protocol.h. */
                    v = json_stringn_nocheck(body.p, body.len);
                } else if (in->payload_raw) {
                    v = json_stringn(body.p, body.len);
                    if (!v)
                        set_parse_error(svc, err, "The request body must be valid UTF-8");
                } else {
                    json_t *pj = parse_body(&d, body, &failed);
                    if (pj) {
                        v = walk_in(&d, m->shape, m, pj, 0);
                        json_decref(pj);
                    }
                }
            } else if (obj && in->payload < 0) {
                json_t *bv = json_object_get(obj, wire_name(m));
                if (bv)
                    v = walk_in(&d, m->shape, m, bv, 0);
            }
            break;
        }
        if (err->code) {
            json_decref(v);
            goto fail;
        }
        if (v)
            json_object_set_new(out, m->name, v);
    }
    json_decref(obj);
    return out;
fail:
    json_decref(obj);
    json_decref(out);
    return NULL;
}

/* --------------------------------------------------------------- encoding */

static void json_escape(buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    buf_appendc(b, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            run++;
            continue;
        }
        buf_append(b, s + i - run, run);
        run = 0;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_append(b, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(b, e, 6);
        } else {
            /* Non-ASCII: \u escapes as jansson writes them for the rest of
             * kyoka's JSON (JSON_ENSURE_ASCII), surrogate pairs past the BMP. */
            uint32_t cp = 0;
            int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            if (len == 1 || i + (size_t)len > n) {
                cp = 0xFFFD;
            } else {
                cp = c & (0x3F >> (len - 1));
                for (int k = 1; k < len; k++)
                    cp = cp << 6 | ((unsigned char)s[i + (size_t)k] & 0x3F);
                i += (size_t)len - 1;
            }
            char e[32];
            if (cp > 0x10FFFF)
                cp = 0xFFFD;
            if (cp >= 0x10000) {
                cp -= 0x10000;
                snprintf(e, sizeof e, "\\u%04X\\u%04X", (unsigned)(0xD800 + (cp >> 10)),
                         (unsigned)(0xDC00 + (cp & 0x3FF)));
            } else {
                snprintf(e, sizeof e, "\\u%04X", (unsigned)cp);
            }
            buf_appends(b, e);
        }
    }
    buf_append(b, s + n - run, run);
    buf_appendc(b, '"');
}

static int write_json(const model_service_t *svc, int shape, const model_member_t *m, json_t *v, buf_t *b, int depth);

static int write_members(const model_service_t *svc, const model_shape_t *s, json_t *obj, bool top, buf_t *b, int depth)
{
    buf_appendc(b, '{');
    bool first = true;
    for (int i = 0; i < s->nmembers; i++) {
        const model_member_t *m = &s->members[i];
        if (top && (m->location != LOC_BODY || i == s->payload))
            continue;
        json_t *mv = json_object_get(obj, m->name);
        if (!mv || json_is_null(mv))
            continue;
        if (!first)
            buf_appendc(b, ',');
        first = false;
        const char *k = wire_name(m);
        json_escape(b, k, strlen(k));
        buf_appendc(b, ':');
        int rc = write_json(svc, m->shape, m, mv, b, depth + 1);
        if (rc)
            return rc;
    }
    buf_appendc(b, '}');
    return 0;
}

/* An output value as JSON text, following its shape where the shape renames
 * or reformats something inside; otherwise jansson writes it as is. */
static int write_json(const model_service_t *svc, int shape, const model_member_t *m, json_t *v, buf_t *b, int depth)
{
    const model_shape_t *s = &svc->shapes[shape];
    if (s->type == SHAPE_TIMESTAMP && json_is_number(v) && m &&
        (m->timestamp_format == TSF_ISO8601 || m->timestamp_format == TSF_RFC822)) {
        char tmp[64];
        timestamp_format(timestamp_seconds(v), m->timestamp_format, tmp);
        json_escape(b, tmp, strlen(tmp));
        return buf_err(b);
    }
    if (!s->json_walk || depth > REST_MAX_DEPTH)
        return proto_json_dump_buf(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY, b);
    if (s->type == SHAPE_STRUCTURE && json_is_object(v))
        return write_members(svc, s, v, false, b, depth);
    if (s->type == SHAPE_LIST && json_is_array(v)) {
        buf_appendc(b, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if (i)
                buf_appendc(b, ',');
            int rc = write_json(svc, s->members[0].shape, &s->members[0], json_array_get(v, i), b, depth + 1);
            if (rc)
                return rc;
        }
        buf_appendc(b, ']');
        return buf_err(b);
    }
    if (s->type == SHAPE_MAP && json_is_object(v)) {
        buf_appendc(b, '{');
        bool first = true;
        const char *k;
        json_t *mv;
        json_object_foreach(v, k, mv) {
            if (!first)
                buf_appendc(b, ',');
            first = false;
            json_escape(b, k, strlen(k));
            buf_appendc(b, ':');
            int rc = write_json(svc, s->members[1].shape, &s->members[1], mv, b, depth + 1);
            if (rc)
                return rc;
        }
        buf_appendc(b, '}');
        return buf_err(b);
    }
    return proto_json_dump_buf(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY, b);
}

/* A header value as text in the arena, or NULL when v cannot be one (a
 * string with CR, LF or NUL would split the response). */
static const char *header_text(const model_service_t *svc, const model_member_t *m, int shape, json_t *v, arena_t *a)
{
    const model_shape_t *s = &svc->shapes[shape];
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *p = json_string_value(v);
        size_t n = json_string_length(v);
        for (size_t i = 0; i < n; i++)
            if (p[i] == '\r' || p[i] == '\n' || p[i] == '\0')
                return NULL;
        return arena_strndup(a, p, n);
    }
    case JSON_INTEGER:
    case JSON_REAL:
        if (s->type == SHAPE_TIMESTAMP) {
            char tmp[64];
            timestamp_format(timestamp_seconds(v),
                             m->timestamp_format == TSF_DEFAULT ? TSF_RFC822 : m->timestamp_format, tmp);
            return arena_strdup(a, tmp);
        }
        if (json_is_integer(v))
            return arena_sprintf(a, "%lld", (long long)json_integer_value(v));
        return arena_sprintf(a, "%.17g", json_real_value(v));
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    case JSON_ARRAY: {
        if (s->type != SHAPE_LIST)
            return NULL;
        buf_t b;
        buf_init(&b, 16384);
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            const char *t = header_text(svc, &s->members[0], s->members[0].shape, json_array_get(v, i), a);
            if (!t) {
                buf_destroy(&b);
                return NULL;
            }
            if (i)
                buf_appendc(&b, ',');
            /* Quote items that would not survive the split. */
            if (strpbrk(t, ",\"")) {
                buf_appendc(&b, '"');
                for (const char *c = t; *c; c++) {
                    if (*c == '"' || *c == '\\')
                        buf_appendc(&b, '\\');
                    buf_appendc(&b, *c);
                }
                buf_appendc(&b, '"');
            } else {
                buf_appends(&b, t);
            }
        }
        const char *out = buf_err(&b) ? NULL : arena_strndup(a, b.data, b.len);
        buf_destroy(&b);
        return out;
    }
    default: return NULL;
    }
}

static int add_header(proto_header_t *hdrs, size_t *nhdrs, size_t cap, const char *name, const char *value)
{
    if (*nhdrs >= cap)
        return KYOKA_ELIMIT;
    hdrs[(*nhdrs)++] = (proto_header_t){strv_from(name), strv_from(value)};
    return 0;
}

int proto_rest_json_encode(const model_service_t *svc, const model_op_t *op, json_t *output, arena_t *a, int *status,
                           proto_header_t *hdrs, size_t *nhdrs, size_t cap, const char **content_type, buf_t *body)
{
    *status = op->response_code ? op->response_code : 200;
    *content_type = NULL;
    if (op->output < 0)
        return 0;
    const model_shape_t *s = &svc->shapes[op->output];
    if (output && !json_is_object(output))
        return KYOKA_EINVAL;
    bool has_body = false;
    for (int i = 0; i < s->nmembers; i++) {
        const model_member_t *m = &s->members[i];
        json_t *v = output ? json_object_get(output, m->name) : NULL;
        if (m->location == LOC_BODY) {
            has_body |= i != s->payload;
            continue;
        }
        if (!v || json_is_null(v))
            continue;
        int rc = 0;
        if (m->location == LOC_STATUS_CODE) {
            if (json_is_integer(v) && json_integer_value(v) >= 100 && json_integer_value(v) <= 599)
                *status = (int)json_integer_value(v);
        } else if (m->location == LOC_HEADER) {
            const char *t = header_text(svc, m, m->shape, v, a);
            rc = t ? add_header(hdrs, nhdrs, cap, wire_name(m), t) : KYOKA_EINVAL;
        } else if (m->location == LOC_HEADERS) {
            const model_shape_t *ms = &svc->shapes[m->shape];
            if (ms->type != SHAPE_MAP || !json_is_object(v))
                return KYOKA_EINVAL;
            const char *k;
            json_t *hv;
            json_object_foreach(v, k, hv) {
                const char *t = header_text(svc, &ms->members[1], ms->members[1].shape, hv, a);
                if (!t || strpbrk(k, "\r\n:"))
                    return KYOKA_EINVAL;
                rc = add_header(hdrs, nhdrs, cap, arena_sprintf(a, "%s%s", wire_name(m), k), t);
                if (rc)
                    return rc;
            }
        }
        if (rc)
            return rc;
    }
    if (s->payload >= 0) {
        const model_member_t *m = &s->members[s->payload];
        json_t *v = output ? json_object_get(output, m->name) : NULL;
        if (!v || json_is_null(v))
            return 0; /* no payload: an empty body */
        if (s->payload_raw) {
            if (!json_is_string(v))
                return KYOKA_EINVAL;
            *content_type = svc->shapes[m->shape].type == SHAPE_BLOB ? "application/octet-stream" : "text/plain";
            buf_append(body, json_string_value(v), json_string_length(v));
            return buf_err(body);
        }
        *content_type = "application/json";
        return write_json(svc, m->shape, m, v, body, 0);
    }
    if (!has_body)
        return 0;
    *content_type = "application/json";
    if (!output) {
        buf_appends(body, "{}");
        return buf_err(body);
    }
    int rc = write_members(svc, s, output, true, body, 0);
    return rc ? rc : buf_err(body);
}
