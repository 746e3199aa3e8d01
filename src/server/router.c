/*
 * Which AWS service is this request for, when the service is not one kyoka
 * serves yet? Clients configured for other local clouds on port 4566 send
 * S3 in path style or virtual-host style (bucket.localhost,
 * bucket.s3.localhost.localstack.cloud) and Lambda under /2015-03-31/.
 * Such requests, and requests for any service in botocore's list that kyoka
 * does not serve, get one answer: 501 NotImplemented naming the service
 * and pointing at GET /_kyoka/health, in that service's own protocol
 * (kyoka__respond_unserved), never a wrong-shaped answer from another
 * service.
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
    /* JSON protocol: the credential scope names the service; unsigned, the
     * X-Amz-Target prefix does ("DynamoDB_20120810.ListTables"). */
    strv_t target = http_request_header(req, "x-amz-target");
    if (target.p && !(scope_service && scope_service[0])) {
        static char name[64];
        size_t n = 0;
        while (n < target.len && n < sizeof name - 1 && target.p[n] != '_' && target.p[n] != '.') {
            char ch = target.p[n];
            name[n++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
        }
        name[n] = '\0';
        return n ? name : "this service";
    }
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

/* ------------------------------------------------------------------ S3 */

/* S3's bucket in a virtual-host style Host: "photos.localhost",
 * "photos.s3.localhost.localstack.cloud", "photos.s3.amazonaws.com",
 * "photos.s3.us-west-2.amazonaws.com", "photos.s3-us-west-2.amazonaws.com".
 * Empty when the host names no bucket (path style). */
static strv_t vhost_bucket(strv_t host)
{
    if (!host.p || host.len == 0 || host.p[0] == '[')
        return STRV_NULL;
    static const char *const suffixes[] = {".s3.localhost.localstack.cloud", ".localhost.localstack.cloud",
                                           ".s3.amazonaws.com", ".localhost"};
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(suffixes); i++) {
        if (!ends_with(host, suffixes[i]))
            continue;
        strv_t b = {host.p, host.len - strlen(suffixes[i])};
        /* s3.localhost.localstack.cloud and s3.localhost are the service's
         * own names, not buckets. */
        if (strv_eq_cstr(b, "s3"))
            return STRV_NULL;
        return b;
    }
    if (ends_with(host, ".amazonaws.com")) {
        /* bucket.s3.REGION.amazonaws.com / bucket.s3-REGION.amazonaws.com */
        const char *s3 = memmem(host.p, host.len, ".s3.", 4);
        if (!s3)
            s3 = memmem(host.p, host.len, ".s3-", 4);
        if (s3 && s3 > host.p)
            return (strv_t){host.p, (size_t)(s3 - host.p)};
    }
    return STRV_NULL;
}

static bool query_has_action(strv_t q)
{
    const char *p = q.p, *end = q.p + q.len;
    while (p && p < end) {
        if ((size_t)(end - p) >= 7 && memcmp(p, "Action=", 7) == 0)
            return true;
        const char *amp = memchr(p, '&', (size_t)(end - p));
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

bool kyoka__route_s3(const http_request_t *req, const char *scope_service, arena_t *a, strv_t *s3path)
{
    if (scope_service[0] && strcmp(scope_service, "s3") != 0)
        return false;
    strv_t bucket = vhost_bucket(host_name(req));
    if (!scope_service[0]) {
        /* Unsigned (or presigned, whose scope the router has already read):
         * S3 by shape. A virtual host names a bucket; otherwise a path that
         * is not another service's (query Action, a form POST, Lambda's
         * dated paths) and not the bare root, which unsigned query clients
         * use. */
        if (!bucket.p) {
            if (req->path.len <= 1 || query_has_action(req->query))
                return false;
            if (req->path.len > 3 && req->path.p[1] == '2' && req->path.p[2] == '0' && req->path.p[3] >= '0' &&
                req->path.p[3] <= '9')
                return false;
            strv_t ct = http_request_header(req, "content-type");
            if (strv_eq_cstr(req->method, "POST") && ct.p && strv_starts_with(ct, "application/x-www-form-urlencoded"))
                return false;
        }
    }
    if (bucket.p && bucket.len) {
        /* The path is the key: "/key" becomes "/bucket/key"; "/" the
         * bucket itself. */
        char *p = arena_alloc(a, bucket.len + req->path.len + 2);
        p[0] = '/';
        memcpy(p + 1, bucket.p, bucket.len);
        size_t n = 1 + bucket.len;
        if (req->path.len > 1) {
            memcpy(p + n, req->path.p, req->path.len);
            n += req->path.len;
        }
        p[n] = '\0';
        *s3path = (strv_t){p, n};
    } else {
        *s3path = req->path.len ? req->path : (strv_t){"/", 1};
    }
    return true;
}

/* ------------------------------------------------------------ unserved */

/* The REST services whose errors are XML (botocore's "rest-xml":
 * cloudfront, route53, s3, s3control, by signing name); every other REST
 * service speaks REST-JSON. */
static bool rest_xml_service(const char *name)
{
    static const char *const xml[] = {"s3", "s3-control", "s3control", "cloudfront", "route53"};
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(xml); i++)
        if (strcmp(name, xml[i]) == 0)
            return true;
    return false;
}

/* Query protocol (and EC2's): the Action parameter, in the form body or
 * the URL. */
static bool is_query(const http_request_t *req)
{
    if (query_has_action(req->query))
        return true;
    strv_t ct = http_request_header(req, "content-type");
    return ct.p && strv_starts_with(ct, "application/x-www-form-urlencoded") &&
           (strv_starts_with(buf_view(&req->body), "Action=") ||
            memmem(req->body.data, req->body.len, "&Action=", 8));
}

/* One answer for every service kyoka does not serve: 501 NotImplemented
 * with the pointer to /_kyoka/health, in the protocol the client speaks
 * (read from the request itself, so a service's own code is never
 * involved): JSON for X-Amz-Target, query XML for Action=, EC2's
 * <Response><Errors> for ec2, REST-XML for the few XML REST services, and
 * REST-JSON for the rest. */
void kyoka__respond_unserved(kyoka_server_t *s, http_request_t *req, const char *service)
{
    char rid[37];
    kyoka_uuid(rid);
    aws_error_t err = {.code = "NotImplemented", .status = 501, .sender = false};
    snprintf(err.message, sizeof err.message,
             "kyoka does not serve %s yet; the services it serves are listed at GET /_kyoka/health", service);
    buf_t body;
    buf_init(&body, 1 << 16);
    http_header_t h[4];
    size_t nh = 0;
    int rc;
    strv_t ct = http_request_header(req, "content-type");
    if (http_request_header(req, "x-amz-target").p) {
        const char *qe = NULL;
        rc = proto_json_encode_error(NULL, &err, &req->arena, &body, &qe);
        strv_t json_ct = ct.p && strv_starts_with(ct, "application/x-amz-json") ? ct : STRV_LIT("application/x-amz-json-1.0");
        h[nh++] = (http_header_t){STRV_LIT("Content-Type"), json_ct};
        h[nh++] = (http_header_t){STRV_LIT("x-amzn-ErrorType"), STRV_LIT("NotImplemented")};
    } else if (is_query(req) && strcmp(service, "ec2") == 0) {
        buf_appendf(&body,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>NotImplemented</Code>"
                    "<Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>",
                    err.message, rid);
        rc = buf_err(&body);
        h[nh++] = (http_header_t){STRV_LIT("Content-Type"), STRV_LIT("text/xml")};
    } else if (is_query(req)) {
        rc = proto_query_encode_error(NULL, &err, rid, &body);
        h[nh++] = (http_header_t){STRV_LIT("Content-Type"), STRV_LIT("text/xml")};
    } else if (rest_xml_service(service)) {
        rc = proto_rest_xml_encode_error(&err, rid, &body);
        h[nh++] = (http_header_t){STRV_LIT("Content-Type"), STRV_LIT("application/xml")};
    } else {
        rc = proto_rest_json_encode_error(&err, &body);
        h[nh++] = (http_header_t){STRV_LIT("Content-Type"), STRV_LIT("application/json")};
        h[nh++] = (http_header_t){STRV_LIT("x-amzn-ErrorType"), STRV_LIT("NotImplemented")};
    }
    h[nh++] = (http_header_t){STRV_LIT("x-amzn-RequestId"), strv_from(rid)};
    if (rc != 0)
        buf_reset(&body);
    kyoka__log_request(s, service, "-", "-", 501, kyoka_mono_us() - req->start_us, "NotImplemented");
    http_respond(req, 501, h, nh, &body);
    buf_destroy(&body);
}
