/*
 * Payload format 2.0: the event HTTP APIs and function URLs send a Lambda
 * function, and how the function's answer becomes the HTTP response.
 *
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 * - header names lowercased; repeated headers joined with commas; the
 *   Cookie header moves to "cookies", one entry per cookie;
 * - repeated query parameters joined with commas;
 * - optional members (cookies, queryStringParameters, pathParameters,
 *   stageVariables, body) are left out when empty;
 * - the answer: an object with statusCode is a response
 *   (statusCode, headers, cookies, body, isBase64Encoded); any other valid
 *   JSON is the body of a 200 application/json response.
 */
#include "apigw.h"

#include "protocol/protocol.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/banned.h"

/* ------------------------------------------------------------ the event */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* %XX decoded (a malformed escape is kept as is), as an arena string. */
static char *pct_decode(arena_t *a, strv_t s)
{
    char *out = arena_alloc(a, s.len + 1);
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++) {
        int hi = s.p[i] == '%' && i + 2 < s.len ? hexval(s.p[i + 1]) : -1;
        int lo = hi >= 0 ? hexval(s.p[i + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
            out[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[n++] = s.p[i];
        }
    }
    out[n] = '\0';
    return out;
}

/* Add value to obj[name], joining a repeated name's values with ','. */
static void add_joined(json_t *obj, const char *name, const char *value)
{
    json_t *old = json_object_get(obj, name);
    if (!old) {
        json_object_set_new(obj, name, json_string(value));
        return;
    }
    size_t ol = json_string_length(old), vl = strlen(value);
    char *j = xmalloc(ol + vl + 2);
    memcpy(j, json_string_value(old), ol);
    j[ol] = ',';
    memcpy(j + ol + 1, value, vl + 1);
    json_object_set_new(obj, name, json_string(j));
    free(j);
}

static void add_cookies(json_t *cookies, strv_t v, arena_t *a)
{
    while (v.len) {
        const char *semi = memchr(v.p, ';', v.len);
        strv_t one = strv_trim((strv_t){v.p, semi ? (size_t)(semi - v.p) : v.len});
        if (one.len)
            json_array_append_new(cookies, json_string(arena_sprintf(a, "%.*s", (int)one.len, one.p)));
        if (!semi)
            break;
        v.len -= (size_t)(semi - v.p) + 1;
        v.p = semi + 1;
    }
}

static void add_headers(json_t *ev, const http_request_t *req, arena_t *a)
{
    json_t *headers = json_object();
    json_t *cookies = json_array();
    for (size_t i = 0; i < req->nheaders; i++) {
        const http_header_t *h = &req->headers[i];
        char *name = arena_sprintf(a, "%.*s", (int)h->name.len, h->name.p);
        for (char *p = name; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (strcmp(name, "cookie") == 0) {
            add_cookies(cookies, h->value, a);
            continue;
        }
        add_joined(headers, name, arena_sprintf(a, "%.*s", (int)h->value.len, h->value.p));
    }
    if (json_array_size(cookies))
        json_object_set_new(ev, "cookies", cookies);
    else
        json_decref(cookies);
    json_object_set_new(ev, "headers", headers);
}

static void add_query(json_t *ev, strv_t q, arena_t *a)
{
    json_object_set_new(ev, "rawQueryString", json_stringn(q.p ? q.p : "", q.len));
    json_t *params = json_object();
    while (q.len) {
        const char *amp = memchr(q.p, '&', q.len);
        strv_t pair = {q.p, amp ? (size_t)(amp - q.p) : q.len};
        if (pair.len) {
            const char *eq = memchr(pair.p, '=', pair.len);
            strv_t k = {pair.p, eq ? (size_t)(eq - pair.p) : pair.len};
            strv_t v = eq ? (strv_t){eq + 1, pair.len - k.len - 1} : (strv_t){"", 0};
            add_joined(params, pct_decode(a, k), pct_decode(a, v));
        }
        if (!amp)
            break;
        q.len -= pair.len + 1;
        q.p = amp + 1;
    }
    if (json_object_size(params))
        json_object_set_new(ev, "queryStringParameters", params);
    else
        json_decref(params);
}

static strv_t header(const http_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strv_caseeq_cstr(req->headers[i].name, name))
            return req->headers[i].value;
    return STRV_NULL;
}

/* Bodies of these types reach the function as text; anything else is
 * base64-encoded, as API Gateway does for a binary body. */
static bool textual(strv_t ct)
{
    if (!ct.p)
        return true;
    static const char *const prefixes[] = {"text/", "application/json", "application/xml", "application/javascript",
                                           "application/x-www-form-urlencoded", NULL};
    for (size_t i = 0; prefixes[i]; i++)
        if (ct.len >= strlen(prefixes[i]) && strncasecmp(ct.p, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    const char *semi = memchr(ct.p, ';', ct.len);
    size_t n = semi ? (size_t)(semi - ct.p) : ct.len;
    return (n >= 5 && strncasecmp(ct.p + n - 5, "+json", 5) == 0) ||
           (n >= 4 && strncasecmp(ct.p + n - 4, "+xml", 4) == 0);
}

/* "04/Dec/2026:13:05:30 +0000", the CLF time requestContext.time uses. */
static const char *clf_time(arena_t *a, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char *out = arena_alloc(a, 40);
    strftime(out, 40, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    return out;
}

static json_t *request_context(const apigw_v2_request_t *r, arena_t *a)
{
    const http_request_t *req = r->req;
    const char *dot = strchr(r->domain_name, '.');
    strv_t ua = header(req, "user-agent");
    json_t *http = json_pack("{s:s%,s:s%,s:s,s:s,s:s%}", "method", req->method.p, req->method.len, "path",
                             r->raw_path.p, r->raw_path.len, "protocol", "HTTP/1.1", "sourceIp", req->remote_addr,
                             "userAgent", ua.p ? ua.p : "", ua.len);
    json_t *ctx = json_pack("{s:s,s:s,s:s,s:s%,s:o,s:s,s:s,s:s,s:s,s:I}", "accountId", r->account_id, "apiId",
                            r->api_id, "domainName", r->domain_name, "domainPrefix", r->domain_name,
                            dot ? (size_t)(dot - r->domain_name) : strlen(r->domain_name), "http", http,
                            "requestId", r->request_id, "routeKey", r->route_key, "stage", r->stage, "time",
                            clf_time(a, r->now_ms), "timeEpoch", (json_int_t)r->now_ms);
    if (r->authorizer)
        json_object_set(ctx, "authorizer", r->authorizer);
    return ctx;
}

json_t *apigw_v2_event(const apigw_v2_request_t *r, arena_t *a)
{
    const http_request_t *req = r->req;
    json_t *ev = json_pack("{s:s,s:s,s:s%}", "version", "2.0", "routeKey", r->route_key, "rawPath", r->raw_path.p,
                           r->raw_path.len);
    add_query(ev, req->query, a);
    add_headers(ev, req, a);
    json_object_set_new(ev, "requestContext", request_context(r, a));
    if (r->path_parameters && json_object_size(r->path_parameters))
        json_object_set(ev, "pathParameters", r->path_parameters);
    if (r->stage_variables && json_object_size(r->stage_variables))
        json_object_set(ev, "stageVariables", r->stage_variables);
    strv_t body = buf_view(&req->body);
    bool b64 = body.len && !textual(header(req, "content-type"));
    if (body.len)
        json_object_set_new(ev, "body", b64 ? json_string(base64_encode(a, body.p, body.len))
                                            : json_stringn_nocheck(body.p, body.len));
    json_object_set_new(ev, "isBase64Encoded", json_boolean(b64));
    return ev;
}

/* ------------------------------------------------------------ the answer */

static int structured(json_t *j, apigw_v2_response_t *out, size_t max_body)
{
    json_t *code = json_object_get(j, "statusCode");
    if (!json_is_integer(code) || json_integer_value(code) < 100 || json_integer_value(code) > 599)
        return -1;
    out->status = (int)json_integer_value(code);
    json_t *headers = json_object_get(j, "headers");
    const char *k;
    json_t *v;
    json_object_foreach(headers, k, v)
    {
        if (json_is_string(v))
            json_object_set(out->headers, k, v);
        else if (json_is_number(v) || json_is_boolean(v)) {
            char *text = proto_json_dumps(v, JSON_ENCODE_ANY);
            json_object_set_new(out->headers, k, json_string(text));
            free(text);
        }
    }
    json_t *cookies = json_object_get(j, "cookies");
    if (json_is_array(cookies) && json_array_size(cookies))
        out->cookies = json_incref(cookies);
    json_t *body = json_object_get(j, "body");
    if (!body)
        return 0;
    const char *text = json_string_value(body);
    size_t tlen = json_string_length(body);
    char *dumped = NULL;
    if (!text) {
        /* A non-string body is sent as its JSON text. */
        dumped = proto_json_dumps(body, JSON_ENCODE_ANY | JSON_COMPACT);
        text = dumped;
        tlen = dumped ? strlen(dumped) : 0;
    }
    int rc = 0;
    if (json_is_true(json_object_get(j, "isBase64Encoded"))) {
        arena_t a;
        arena_init(&a);
        unsigned char *bin = NULL;
        ssize_t n = base64_decode(&a, (strv_t){text, tlen}, &bin);
        if (n < 0)
            rc = -1;
        else
            buf_append(&out->body, bin, (size_t)n);
        arena_destroy(&a);
    } else {
        buf_append(&out->body, text, tlen);
    }
    free(dumped);
    (void)max_body;
    return rc == 0 && !buf_err(&out->body) ? 0 : -1;
}

int apigw_v2_response_map(const char *payload, size_t len, apigw_v2_response_t *out, size_t max_body)
{
    memset(out, 0, sizeof *out);
    out->headers = json_object();
    buf_init(&out->body, max_body);
    json_error_t err;
    json_t *j = json_loadb(payload, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!j)
        return -1;
    int rc;
    if (json_is_object(j) && json_object_get(j, "statusCode")) {
        rc = structured(j, out, max_body);
    } else {
        /* The 2.0 shortcut: valid JSON without a statusCode is the body. */
        out->status = 200;
        json_object_set_new(out->headers, "content-type", json_string("application/json"));
        buf_append(&out->body, payload, len);
        rc = buf_err(&out->body) ? -1 : 0;
    }
    json_decref(j);
    return rc;
}

void apigw_v2_response_destroy(apigw_v2_response_t *r)
{
    if (!r)
        return;
    json_decref(r->headers);
    json_decref(r->cookies);
    buf_destroy(&r->body);
    r->headers = r->cookies = NULL;
}
