/*
 * Invoke URLs and function URLs, read off the Host header and the path.
 * Every request the server receives is asked this (svc_def_t.http_claim),
 * so it only compares bytes.
 */
#include "apigw.h"

#include <string.h>

#include "core/banned.h"

static strv_t host_without_port(const http_request_t *req)
{
    strv_t h = http_request_header(req, "host");
    if (!h.p)
        return STRV_NULL;
    const char *colon = memchr(h.p, ':', h.len);
    if (colon && h.p[0] != '[')
        h.len = (size_t)(colon - h.p);
    return h;
}

static bool has_suffix(strv_t s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len > n && memcmp(s.p + s.len - n, suffix, n) == 0;
}

/* The label before `marker` ("abc123" of "abc123.execute-api.x") when the
 * host is a local or AWS name; *after points past the marker. */
static bool leading_label(strv_t host, const char *marker, strv_t *label, strv_t *after)
{
    const char *m = memmem(host.p, host.len, marker, strlen(marker));
    if (!m || m == host.p)
        return false;
    *label = (strv_t){host.p, (size_t)(m - host.p)};
    if (memchr(label->p, '.', label->len))
        return false;
    const char *a = m + strlen(marker);
    *after = (strv_t){a, (size_t)(host.p + host.len - a)};
    return has_suffix(host, ".localhost.localstack.cloud") || has_suffix(host, ".amazonaws.com") ||
           has_suffix(host, ".localhost") || has_suffix(host, ".on.aws");
}

/* Split "/seg/rest..." into its first segment and the rest. */
static void split_first(strv_t path, strv_t *first, strv_t *rest)
{
    const char *p = path.p, *end = path.p + path.len;
    if (p < end && *p == '/')
        p++;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *stop = slash ? slash : end;
    *first = (strv_t){p, (size_t)(stop - p)};
    *rest = (strv_t){stop, (size_t)(end - stop)};
}

static bool user_request_form(const http_request_t *req, apigw_invoke_url_t *out)
{
    static const char prefix[] = "/restapis/";
    static const char marker[] = "/_user_request_";
    strv_t path = req->path;
    if (!strv_starts_with(path, prefix))
        return false;
    strv_t tail = {path.p + sizeof prefix - 1, path.len - (sizeof prefix - 1)};
    strv_t id, after;
    split_first((strv_t){tail.p - 1, tail.len + 1}, &id, &after);
    strv_t stage, rest;
    split_first(after, &stage, &rest);
    if (!id.len || !stage.len || !strv_starts_with(rest, marker))
        return false;
    strv_t user = {rest.p + sizeof marker - 1, rest.len - (sizeof marker - 1)};
    if (user.len && user.p[0] != '/')
        return false;
    out->api_id = id;
    out->first = stage;
    out->rest = user.len ? user : (strv_t){"/", 1};
    out->path = out->rest;
    out->user_request = true;
    return true;
}

bool apigw_invoke_url(const http_request_t *req, apigw_invoke_url_t *out)
{
    memset(out, 0, sizeof *out);
    if (user_request_form(req, out))
        return true;
    strv_t host = host_without_port(req), id, after;
    if (!host.p || !leading_label(host, ".execute-api.", &id, &after))
        return false;
    out->api_id = id;
    out->path = req->path.len ? req->path : (strv_t){"/", 1};
    split_first(out->path, &out->first, &out->rest);
    return true;
}

bool apigw_function_url(const http_request_t *req, strv_t *url_id, strv_t *region)
{
    strv_t host = host_without_port(req), after;
    if (!host.p || !leading_label(host, ".lambda-url.", url_id, &after))
        return false;
    const char *dot = memchr(after.p, '.', after.len);
    *region = dot ? (strv_t){after.p, (size_t)(dot - after.p)} : after;
    return region->len > 0;
}
