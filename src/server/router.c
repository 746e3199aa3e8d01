/*
 * Which AWS service is this request for, when the service is not one kyoka
 * serves yet? Clients configured for other local clouds on port 4566 send
 * S3 in path style or virtual-host style (bucket.localhost,
 * bucket.s3.localhost.localstack.cloud) and Lambda under /2015-03-31/.
 * Such requests get AWS's NotImplemented error in that service's own
 * protocol (REST-XML for S3, REST-JSON for Lambda), never a wrong-shaped
 * answer from another service.
 */
#include "internal.h"

#include <string.h>

/* Host header without the port. */
static strv_t host_name(const http_request_t *req)
{
    strv_t h = http_request_header(req, "host");
    if (!h.p)
        return STRV_NULL;
    const char *colon = memchr(h.p, ':', h.len);
    if (colon && h.p[0] != '[')
        h.len = (size_t)(colon - h.p);
    return h;
}

static bool ends_with(strv_t s, const char *suffix)
{
    size_t n = strlen(suffix);
    return s.len > n && memcmp(s.p + s.len - n, suffix, n) == 0;
}

const char *kyoka__route_unserved(const http_request_t *req, const char *scope_service)
{
    if (scope_service && scope_service[0]) {
        if (strcmp(scope_service, "s3") == 0 || strcmp(scope_service, "lambda") == 0)
            return strcmp(scope_service, "s3") == 0 ? "s3" : "lambda";
        return scope_service;
    }
    if (strv_starts_with(req->path, "/2015-03-31/") || strv_starts_with(req->path, "/2017-03-31/") ||
        strv_starts_with(req->path, "/2018-10-31/") || strv_starts_with(req->path, "/2019-09-25/") ||
        strv_starts_with(req->path, "/2021-10-31/"))
        return "lambda";
    strv_t host = host_name(req);
    if (host.p && (ends_with(host, ".localhost") || ends_with(host, ".localhost.localstack.cloud") ||
                   ends_with(host, ".amazonaws.com")) &&
        (strv_starts_with(host, "s3.") || memmem(host.p, host.len, ".s3.", 4) || ends_with(host, ".localhost")))
        return "s3";
    return NULL;
}

void kyoka__respond_unserved(kyoka_server_t *s, http_request_t *req, const char *service)
{
    char rid[37];
    kyoka_uuid(rid);
    aws_error_t err = {.code = "NotImplemented", .status = 501, .sender = false};
    snprintf(err.message, sizeof err.message,
             "kyoka does not serve %s yet; the services it serves are listed at GET /_kyoka/health", service);
    buf_t body;
    buf_init(&body, 1 << 16);
    http_header_t h[3];
    size_t nh = 0;
    int rc;
    if (strcmp(service, "lambda") == 0) {
        rc = proto_rest_json_encode_error(&err, &body);
        h[nh++] = (http_header_t){STRV_LIT("Content-Type"), STRV_LIT("application/json")};
        h[nh++] = (http_header_t){STRV_LIT("x-amzn-ErrorType"), STRV_LIT("NotImplemented")};
    } else {
        rc = proto_rest_xml_encode_error(&err, rid, &body);
        h[nh++] = (http_header_t){STRV_LIT("Content-Type"), STRV_LIT("application/xml")};
    }
    h[nh++] = (http_header_t){STRV_LIT("x-amzn-RequestId"), strv_from(rid)};
    if (rc != 0)
        buf_reset(&body);
    kyoka__log_request(s, service, "-", "-", 501, kyoka_mono_us() - req->start_us, "NotImplemented");
    http_respond(req, 501, h, nh, &body);
    buf_destroy(&body);
}
