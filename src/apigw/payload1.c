/*
 * Lambda proxy payload format 1.0: the event built from an invoke-URL
 * request and the function's answer mapped back to a response. Shared by
 * REST APIs and HTTP APIs that ask for format 1.0; the caller builds
 * requestContext because its fields differ between the two.
 *
 * Query strings are decoded here rather than through the protocol codecs
 * so this component keeps depending on core and http only.
 */
#include "apigw.h"

#include <ctype.h>
#include <string.h>

#include "core/banned.h"

#define APIGW_MAX_NAME 1024 /* longer header or parameter names are cut */

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = (char)tolower((unsigned char)ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Percent-decode s ('+' is a space, as in forms) into a new JSON string. */
static json_t *decoded(strv_t s)
{
    buf_t b;
    buf_init(&b, s.len + 1);
    for (size_t i = 0; i < s.len; i++) {
        int hi, lo;
        if (s.p[i] == '%' && i + 2 < s.len && (hi = hexval(s.p[i + 1])) >= 0 && (lo = hexval(s.p[i + 2])) >= 0) {
            buf_appendc(&b, (char)(hi * 16 + lo));
            i += 2;
        } else {
            buf_appendc(&b, s.p[i] == '+' ? ' ' : s.p[i]);
        }
    }
    json_t *v = json_stringn_nocheck(b.data, b.len);
    buf_destroy(&b);
    return v;
}

static void add_multi(json_t *single, json_t *multi, const char *name, json_t *value)
{
    json_t *arr = json_object_get(multi, name);
    if (!arr) {
        arr = json_array();
        json_object_set_new(multi, name, arr);
    }
    json_array_append(arr, value);
    json_object_set_new(single, name, value);
}

static void name_of(strv_t s, char *out)
{
    size_t n = s.len < APIGW_MAX_NAME - 1 ? s.len : APIGW_MAX_NAME - 1;
    memcpy(out, s.p, n);
    out[n] = '\0';
}

static void query_maps(strv_t q, json_t *single, json_t *multi)
{
    const char *p = q.p, *end = q.p + q.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        strv_t k = {p, (size_t)((eq ? eq : stop) - p)};
        strv_t v = eq ? (strv_t){eq + 1, (size_t)(stop - eq - 1)} : (strv_t){"", 0};
        if (k.len) {
            json_t *kj = decoded(k);
            char name[APIGW_MAX_NAME];
            name_of((strv_t){json_string_value(kj), json_string_length(kj)}, name);
            json_decref(kj);
            add_multi(single, multi, name, decoded(v));
        }
        p = stop + 1;
    }
}

/* An empty map is null in the event. */
static json_t *or_null(json_t *obj)
{
    if (json_object_size(obj))
        return obj;
    json_decref(obj);
    return json_null();
}

static json_t *copy_or_null(json_t *obj) { return json_object_size(obj) ? json_deep_copy(obj) : json_null(); }

json_t *apigw_payload1_event(const apigw_payload1_in_t *in)
{
    const http_request_t *req = in->req;
    json_t *headers = json_object(), *mheaders = json_object();
    for (size_t i = 0; i < req->nheaders; i++) {
        char name[APIGW_MAX_NAME];
        name_of(req->headers[i].name, name);
        add_multi(headers, mheaders, name, json_stringn_nocheck(req->headers[i].value.p, req->headers[i].value.len));
    }
    json_t *query = json_object(), *mquery = json_object();
    query_maps(req->query, query, mquery);
    json_t *body;
    if (in->body_is_binary)
        body = json_string(in->body_base64 ? in->body_base64 : "");
    else if (req->body.len)
        body = json_stringn_nocheck(req->body.data, req->body.len);
    else
        body = json_null();
    json_t *ev = json_object();
    json_object_set_new(ev, "resource", json_string(in->resource));
    json_object_set_new(ev, "path", json_string(in->path));
    json_object_set_new(ev, "httpMethod", json_stringn_nocheck(req->method.p, req->method.len));
    json_object_set_new(ev, "headers", or_null(headers));
    json_object_set_new(ev, "multiValueHeaders", or_null(mheaders));
    json_object_set_new(ev, "queryStringParameters", or_null(query));
    json_object_set_new(ev, "multiValueQueryStringParameters", or_null(mquery));
    json_object_set_new(ev, "pathParameters", copy_or_null(in->path_params));
    json_object_set_new(ev, "stageVariables", copy_or_null(in->stage_vars));
    json_object_set_new(ev, "requestContext", in->request_context ? in->request_context : json_object());
    json_object_set_new(ev, "body", body);
    json_object_set_new(ev, "isBase64Encoded", json_boolean(in->body_is_binary));
    return ev;
}

/* ================================================================ response */

static bool header_value(json_t *v, json_t **out)
{
    /* AWS accepts numbers and booleans as header values and sends their
     * text; objects and arrays make the answer malformed. */
    if (json_is_string(v))
        *out = json_copy(v);
    else if (json_is_integer(v))
        *out = json_sprintf("%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        *out = json_string(json_is_true(v) ? "true" : "false");
    else
        return false;
    return true;
}

bool apigw_payload1_response(json_t *answer, apigw_payload1_out_t *out)
{
    memset(out, 0, sizeof *out);
    json_t *sc = json_object_get(answer, "statusCode");
    if (!json_is_object(answer) || !json_is_integer(sc) || json_integer_value(sc) < 100 || json_integer_value(sc) > 599)
        return false;
    json_t *body = json_object_get(answer, "body");
    if (body && !json_is_null(body) && !json_is_string(body))
        return false;
    json_t *h = json_object_get(answer, "headers"), *mh = json_object_get(answer, "multiValueHeaders");
    if ((h && !json_is_null(h) && !json_is_object(h)) || (mh && !json_is_null(mh) && !json_is_object(mh)))
        return false;
    json_t *headers = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        json_t *s;
        if (!header_value(v, &s))
            goto bad;
        json_object_set_new(headers, k, json_pack("[o]", s));
    }
    /* multiValueHeaders win for a name both carry, as AWS merges them. */
    json_object_foreach(mh, k, v)
    {
        if (!json_is_array(v))
            goto bad;
        json_t *arr = json_array();
        json_object_set_new(headers, k, arr);
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            json_t *s;
            if (!header_value(e, &s))
                goto bad;
            json_array_append_new(arr, s);
        }
    }
    out->status = (int)json_integer_value(sc);
    out->headers = headers;
    out->body = json_is_string(body) ? (strv_t){json_string_value(body), json_string_length(body)} : STRV_NULL;
    out->body_base64 = json_is_true(json_object_get(answer, "isBase64Encoded"));
    return true;
bad:
    json_decref(headers);
    return false;
}
