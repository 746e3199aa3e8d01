/*
 * The REST API data plane: requests to an invoke URL of one of this
 * service's APIs (src/apigw/url.c) are matched against the stage's
 * deployment snapshot and answered through the method's integration.
 *
 * Matching
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-settings-method-request.html): the
 * request path is compared segment by segment with every resource path of the snapshot; a literal segment beats a
 * {param} segment, which beats a greedy {proxy+} (one or more trailing segments). Among resources that match, the most
 * specific one that has the request's method, or ANY, serves it. No stage, no resource or no method: AWS's 403
 * {"message":"Missing Authentication Token"}. Then the method's
 * authorization (AWS_IAM, or a CUSTOM Lambda authorizer, which parks the
 * call until it answers), then for apiKeyRequired the API key and usage
 * plan checks (usage.c), then the integration.
 *
 * Integrations served: MOCK (the request template's statusCode selects
 * the integration response by its selectionPattern, whose response
 * template and static header mappings make the answer) and AWS_PROXY to a
 * Lambda function (payload format 1.0, src/apigw/payload1.c), invoked
 * through pipes as apigateway.amazonaws.com with aws:SourceArn
 * arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path},
 * so the function's resource policy decides; AWS integrations to SQS
 * SendMessage (uri ...:sqs:path/{account}/{queue} or ...:sqs:action/SendMessage
 * with QueueUrl in the body), whose request template renders the form body
 * and whose credentials role API Gateway assumes, so the role's policy
 * (and the queue's) decides. The others answer AWS's 500
 * {"message": "Internal server error"} and log that kyoka does not run
 * that integration type yet.
 */
#include "internal.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apigw/apigw.h"
#include "pipes/pipes.h"
#include "core/banned.h"

#define AGW_MAX_QUERY_PARAMS 256
#define AGW_MAX_RESPONSE_BYTES (10 * 1024 * 1024) /* API Gateway's payload quota */

/* Claim only ids this service owns: HTTP APIs (apigatewayv2) have
 * 10-character ids of the same form and claim their own. */
bool agw__http_claim(void *state, const http_request_t *req)
{
    agw_state_t *st = state;
    apigw_invoke_url_t u;
    if (!apigw_invoke_url(req, &u) || u.api_id.len == 0 || u.api_id.len > 16)
        return false;
    char id[17];
    memcpy(id, u.api_id.p, u.api_id.len);
    id[u.api_id.len] = '\0';
    return json_object_get(st->apis, id) != NULL;
}

/* ================================================================ matching */

/* Split "/a/b/c" into segments (views, still percent-encoded). An empty
 * path, "/" and a trailing slash all give no empty segment. */
static size_t split_segments(strv_t path, strv_t *seg, size_t cap)
{
    size_t n = 0;
    const char *p = path.p, *end = path.p + path.len;
    while (p < end) {
        while (p < end && *p == '/')
            p++;
        if (p >= end)
            break;
        const char *s = p;
        while (p < end && *p != '/')
            p++;
        if (n == cap)
            return cap + 1;
        seg[n++] = (strv_t){s, (size_t)(p - s)};
    }
    return n;
}

enum { SEG_GREEDY = 1, SEG_PARAM = 2, SEG_LITERAL = 3 };

/* Whether the request's segments match a resource path; fills the path
 * parameters (decoded) and a per-segment score for precedence. */
static bool match_resource(arena_t *a, const char *rpath, strv_t *req, size_t nreq, route_t *r)
{
    strv_t rs[AGW_MAX_SEGMENTS];
    size_t nrs = split_segments(strv_from(rpath), rs, AGW_MAX_SEGMENTS);
    if (nrs > AGW_MAX_SEGMENTS)
        return false;
    json_t *params = json_object();
    size_t i = 0;
    for (; i < nrs; i++) {
        strv_t s = rs[i];
        bool var = s.len > 2 && s.p[0] == '{' && s.p[s.len - 1] == '}';
        bool greedy = var && s.len > 3 && s.p[s.len - 2] == '+';
        if (greedy) {
            if (i >= nreq || i != nrs - 1)
                goto no;
            const char *from = req[i].p, *to = req[nreq - 1].p + req[nreq - 1].len;
            strv_t v = form_decode(a, (strv_t){from, (size_t)(to - from)}, false);
            json_object_set_new(params, arena_strndup(a, s.p + 1, s.len - 3), json_stringn(v.p, v.len));
            r->score[i] = SEG_GREEDY;
            i = nreq;
            break;
        }
        if (i >= nreq)
            goto no;
        if (var) {
            strv_t v = form_decode(a, req[i], false);
            json_object_set_new(params, arena_strndup(a, s.p + 1, s.len - 2), json_stringn(v.p, v.len));
            r->score[i] = SEG_PARAM;
        } else if (strv_eq(form_decode(a, req[i], false), s)) {
            r->score[i] = SEG_LITERAL;
        } else {
            goto no;
        }
    }
    if (i != nreq)
        goto no;
    r->nscore = nrs;
    r->path_params = params;
    return true;
no:
    json_decref(params);
    return false;
}

/* Segment-wise precedence: the first segment where they differ decides. */
static bool more_specific(const route_t *a, const route_t *b)
{
    size_t n = a->nscore < b->nscore ? a->nscore : b->nscore;
    for (size_t i = 0; i < n; i++)
        if (a->score[i] != b->score[i])
            return a->score[i] > b->score[i];
    return a->nscore > b->nscore;
}

static json_t *method_for(json_t *resource, const char *verb)
{
    json_t *methods = json_object_get(resource, "resourceMethods");
    json_t *m = json_object_get(methods, verb);
    return m ? m : json_object_get(methods, "ANY");
}

bool agw__route_find(arena_t *a, json_t *snapshot, strv_t path, const char *verb, route_t *best)
{
    strv_t req[AGW_MAX_SEGMENTS];
    size_t nreq = split_segments(path, req, AGW_MAX_SEGMENTS);
    if (nreq > AGW_MAX_SEGMENTS)
        return false;
    bool found = false;
    const char *rid;
    json_t *res;
    json_object_foreach(snapshot, rid, res)
    {
        json_t *m = method_for(res, verb);
        route_t cand = {0};
        if (!m || !match_resource(a, json_string_value(json_object_get(res, "path")), req, nreq, &cand))
            continue;
        cand.resource = res;
        cand.method = m;
        if (!found || more_specific(&cand, best)) {
            if (found)
                json_decref(best->path_params);
            *best = cand;
            found = true;
        } else {
            json_decref(cand.path_params);
        }
    }
    return found;
}

/* ================================================================ request context */

static char *cstr(arena_t *a, strv_t s) { return arena_strndup(a, s.p ? s.p : "", s.len); }

static json_t *request_headers(const http_request_t *req)
{
    json_t *h = json_object();
    for (size_t i = 0; i < req->nheaders; i++) {
        char name[256];
        size_t n = req->headers[i].name.len < sizeof name - 1 ? req->headers[i].name.len : sizeof name - 1;
        memcpy(name, req->headers[i].name.p, n);
        name[n] = '\0';
        json_object_set_new(h, name, json_stringn(req->headers[i].value.p, req->headers[i].value.len));
    }
    return h;
}

/* The last value of each query-string parameter, as AWS's single-value map
 * keeps it. */
static json_t *query_params(arena_t *a, strv_t query)
{
    json_t *q = json_object();
    form_param_t *ps;
    int n = form_parse(a, query, &ps, AGW_MAX_QUERY_PARAMS);
    for (int i = 0; i < n; i++)
        json_object_set_new(q, cstr(a, ps[i].key), json_stringn(ps[i].value.p, ps[i].value.len));
    return q;
}

typedef struct invocation {
    svc_call_t *c;
    json_t *api;   /* the API's document, borrowed */
    json_t *stage; /* borrowed */
    route_t route;
    const char *verb;
    const char *stage_name;
    strv_t path; /* the path after the stage */
    agw_tpl_ctx_t tpl;
    json_t *authorizer; /* a Lambda authorizer's principalId and context, owned; or NULL */
} invocation_t;

static int serve_integration(invocation_t *iv);
static int agw_authorize_custom(invocation_t *iv);

static json_t *context_for(invocation_t *iv)
{
    svc_call_t *c = iv->c;
    const http_request_t *req = c->req;
    const char *stage_path = arena_sprintf(c->arena, "/%s%.*s", iv->stage_name, (int)iv->path.len, iv->path.p);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:{s:s,s:s%}}", "requestId", c->request_id,
                     "extendedRequestId", c->request_id, "stage", iv->stage_name, "httpMethod", iv->verb, "resourceId",
                     json_string_value(json_object_get(iv->route.resource, "id")), "resourcePath",
                     json_string_value(json_object_get(iv->route.resource, "path")), "apiId",
                     json_string_value(json_object_get(json_object_get(iv->api, "api"), "id")), "accountId",
                     agw__account(c), "path", stage_path, "requestTimeEpoch", (json_int_t)kyoka_clock_now_ms(),
                     "identity", "sourceIp", req->remote_addr, "userAgent",
                     http_request_header(req, "User-Agent").p ? http_request_header(req, "User-Agent").p : "",
                     http_request_header(req, "User-Agent").len);
}

/* arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path}:
 * what a function's policy sees as aws:SourceArn and what AWS_IAM
 * authorizes execute-api:Invoke on. */
static const char *execute_api_arn(const invocation_t *iv)
{
    svc_call_t *c = iv->c;
    const char *p = iv->path.len ? cstr(c->arena, iv->path) : "/";
    return arena_sprintf(c->arena, "arn:aws:execute-api:%s:%s:%s/%s/%s/%s",
                         json_string_value(json_object_get(iv->api, "region")), agw__account(c),
                         json_string_value(json_object_get(json_object_get(iv->api, "api"), "id")), iv->stage_name,
                         iv->verb, p + 1);
}

/* ================================================================ responses */

static void internal_error(svc_call_t *c, const char *why)
{
    log_info("apigateway: %s", why);
    svc_error(c, "InternalServerErrorException", 500, "Internal server error");
}

/* The template for the request's content type, or application/json's when
 * the type has none (AWS's default when no Content-Type is sent). */
static const char *template_for(json_t *templates, strv_t content_type)
{
    if (!json_object_size(templates))
        return NULL;
    if (content_type.len) {
        strv_t base = content_type;
        for (size_t i = 0; i < base.len; i++)
            if (base.p[i] == ';') {
                base.len = i;
                break;
            }
        const char *k;
        json_t *v;
        json_object_foreach(templates, k, v) if (strv_caseeq_cstr(strv_trim(base), k)) return json_string_value(v);
    }
    json_t *dflt = json_object_get(templates, "application/json");
    return json_string_value(dflt);
}

/* selectionPattern is a Java regular expression over the whole subject.
 * POSIX extended lacks Java's class escapes, so \d, \w and \s become
 * bracket classes (outside a bracket expression, where people write them);
 * the rest of the forms people write are the same in both. */
static char *posix_pattern(const char *pattern)
{
    buf_t b;
    buf_init(&b, AGW_MAX_TEMPLATE_BYTES);
    buf_appends(&b, "^(");
    for (const char *p = pattern; *p; p++) {
        const char *cls = NULL;
        if (p[0] == '\\')
            cls = p[1] == 'd' ? "[0-9]" : p[1] == 'w' ? "[A-Za-z0-9_]" : p[1] == 's' ? "[[:space:]]" : NULL;
        if (cls) {
            buf_appends(&b, cls);
            p++;
        } else {
            buf_appendc(&b, *p);
        }
    }
    buf_appends(&b, ")$");
    return buf_detach(&b, NULL);
}

static bool pattern_matches(const char *pattern, const char *subject)
{
    char *posix = posix_pattern(pattern);
    regex_t re;
    bool ok = false;
    if (regcomp(&re, posix, REG_EXTENDED | REG_NOSUB) == 0) {
        ok = regexec(&re, subject, 0, NULL, 0) == 0;
        regfree(&re);
    }
    free(posix);
    return ok;
}

/* The integration response whose selectionPattern matches, else the one
 * without a pattern (the default), else NULL. */
static json_t *select_response(json_t *responses, const char *subject)
{
    json_t *dflt = NULL;
    const char *code;
    json_t *r;
    json_object_foreach(responses, code, r)
    {
        const char *pat = json_string_value(json_object_get(r, "selectionPattern"));
        if (!pat || !*pat)
            dflt = r;
        else if (pattern_matches(pat, subject))
            return r;
    }
    return dflt;
}

/* method.response.header.X = 'literal' mappings; other sources are
 * integration values MOCK does not have. */
static void static_headers(svc_call_t *c, json_t *params)
{
    const char *k;
    json_t *v;
    static const char prefix[] = "method.response.header.";
    json_object_foreach(params, k, v)
    {
        const char *val = json_string_value(v);
        size_t n = val ? strlen(val) : 0;
        if (strncmp(k, prefix, sizeof prefix - 1) != 0 || n < 2 || val[0] != '\'' || val[n - 1] != '\'')
            continue;
        svc_raw_header(c, k + sizeof prefix - 1, arena_strndup(c->arena, val + 1, n - 2));
    }
}

/* Answer through the integration response that subject (the
 * integration's status code) selects: its status, static header mappings
 * and response template rendered over the integration's output body (or
 * the body passed through when there is no template). */
static void map_integration_response(svc_call_t *c, json_t *integ, const char *subject, strv_t output,
                                     const agw_tpl_ctx_t *base)
{
    json_t *ir = select_response(json_object_get(integ, "integrationResponses"), subject);
    if (!ir) {
        /* AWS logs: "No match for output mapping and no default output
         * mapping was specified" and answers 500. */
        internal_error(c, "no integration response matches and none is the default");
        return;
    }
    const char *code = json_string_value(json_object_get(ir, "statusCode"));
    svc_raw_status(c, code ? atoi(code) : 200);
    svc_raw_header(c, "Content-Type", "application/json");
    static_headers(c, json_object_get(ir, "responseParameters"));
    const char *res_tpl = template_for(json_object_get(ir, "responseTemplates"), STRV_NULL);
    buf_t *body = svc_raw_body(c);
    if (!res_tpl) {
        buf_append(body, output.p, output.len);
        return;
    }
    agw_tpl_ctx_t x = *base;
    x.body = output;
    char err[256];
    if (agw__tpl_render(res_tpl, &x, body, err, sizeof err) != 0) {
        buf_reset(body);
        c->raw_status = 0;
        internal_error(c, err);
    }
}

/* ================================================================ MOCK */

static int serve_mock(invocation_t *iv, json_t *integ)
{
    svc_call_t *c = iv->c;
    char err[256];
    int status = 200;
    const char *req_tpl =
        template_for(json_object_get(integ, "requestTemplates"), http_request_header(c->req, "Content-Type"));
    if (req_tpl) {
        buf_t out;
        buf_init(&out, AGW_MAX_RESPONSE_BYTES);
        int rc = agw__tpl_render(req_tpl, &iv->tpl, &out, err, sizeof err);
        json_t *doc = rc == 0 ? json_loadb(out.data, out.len, 0, NULL) : NULL;
        buf_destroy(&out);
        json_t *sc = json_object_get(doc, "statusCode");
        bool has_status = json_is_integer(sc);
        if (has_status)
            status = (int)json_integer_value(sc);
        json_decref(doc);
        if (rc != 0) {
            internal_error(c, err);
            return 0;
        }
        if (!has_status) {
            internal_error(c, "MOCK request template gave no integer statusCode");
            return 0;
        }
    }
    char subject[16];
    snprintf(subject, sizeof subject, "%d", status);
    /* The integration's output is MOCK's empty body. */
    map_integration_response(c, integ, subject, STRV_NULL, &iv->tpl);
    return 0;
}

/* ================================================================ AWS_PROXY (Lambda) */

/* The function ARN inside ".../functions/{arn}/invocations". */
static const char *function_of(arena_t *a, const char *uri)
{
    static const char marker[] = ":lambda:path/2015-03-31/functions/";
    static const char tail[] = "/invocations";
    const char *at = uri ? strstr(uri, marker) : NULL;
    if (!at)
        return NULL;
    at += sizeof marker - 1;
    const char *end = strstr(at, tail);
    return end && end > at ? arena_strndup(a, at, (size_t)(end - at)) : NULL;
}

/* AWS's access-log time format: "04/Dec/2026:13:09:41 +0000". */
static const char *request_time(arena_t *a, int64_t ms)
{
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    return arena_sprintf(a, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static json_t *nullable(strv_t s) { return s.p ? json_stringn_nocheck(s.p, s.len) : json_null(); }

/* requestContext of a REST API's 1.0 event. */
static json_t *proxy_context(invocation_t *iv, int64_t now_ms)
{
    svc_call_t *c = iv->c;
    const http_request_t *req = c->req;
    strv_t host = http_request_header(req, "Host");
    const char *api_id = json_string_value(json_object_get(json_object_get(iv->api, "api"), "id"));
    json_t *identity =
        json_pack("{s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:s,s:n,s:o,s:n}", "accessKey", "accountId", "caller",
                  "cognitoAuthenticationProvider", "cognitoAuthenticationType", "cognitoIdentityId",
                  "cognitoIdentityPoolId", "principalOrgId", "sourceIp", req->remote_addr, "user", "userAgent",
                  nullable(http_request_header(req, "User-Agent")), "userArn");
    return json_pack("{s:s,s:s,s:o,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:I,s:s,s:s,s:s}", "accountId", agw__account(c),
                     "apiId", api_id, "domainName", nullable(host), "domainPrefix", api_id, "extendedRequestId",
                     c->request_id, "httpMethod", iv->verb, "identity", identity, "path",
                     arena_sprintf(c->arena, "/%s%.*s", iv->stage_name, (int)iv->path.len, iv->path.p), "protocol",
                     "HTTP/1.1", "requestId", c->request_id, "requestTime", request_time(c->arena, now_ms),
                     "requestTimeEpoch", (json_int_t)now_ms, "resourceId",
                     json_string_value(json_object_get(iv->route.resource, "id")), "resourcePath",
                     json_string_value(json_object_get(iv->route.resource, "path")), "stage", iv->stage_name);
}

static json_t *proxy_context_with_authorizer(invocation_t *iv, int64_t now_ms)
{
    json_t *rc = proxy_context(iv, now_ms);
    if (iv->authorizer)
        json_object_set(rc, "authorizer", iv->authorizer);
    return rc;
}

/* A parked proxy call. The client may go away first (on_abort) or the
 * integration timeout may pass (on_proxy_timeout): then c is cleared, the
 * deadline unqueued, and the invoke's late answer only frees the job. */
typedef struct proxy_job {
    svc_call_t *c;
    dq_entry_t timeout; /* timeoutInMillis after the invoke started */
} proxy_job_t;

static void proxy_detach(proxy_job_t *job)
{
    agw_state_t *st = job->c->state;
    dq_remove(&st->dq, &job->timeout);
    job->c->parked = NULL;
    job->c->on_abort = NULL;
    job->c = NULL;
}

static void on_proxy_abort(svc_call_t *c)
{
    proxy_job_t *job = c->parked;
    if (job)
        proxy_detach(job);
    c->parked = NULL;
}

/* API Gateway stops waiting after the integration's timeoutInMillis and
 * answers 504 (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
static void on_proxy_timeout(dq_entry_t *e)
{
    proxy_job_t *job = container_of(e, proxy_job_t, timeout);
    svc_call_t *c = job->c;
    proxy_detach(job);
    log_info("apigateway: the Lambda integration did not answer within its timeout");
    svc_error(c, "EndpointRequestTimeoutException", 504, "Endpoint request timed out");
    svc_call_finish(c);
}

static bool body_is_text(const http_request_t *req)
{
    /* REST APIs without binaryMediaTypes pass every body as text; a body
     * that is not UTF-8 cannot be a JSON string, so it goes as base64. */
    json_t *probe = json_stringn(req->body.data, req->body.len);
    bool ok = probe != NULL;
    json_decref(probe);
    return ok;
}

static void send_proxy_answer(svc_call_t *c, const char *payload, size_t len)
{
    json_t *answer = json_loadb(payload, len, JSON_DECODE_ANY, NULL);
    apigw_payload1_out_t out;
    if (!apigw_payload1_response(answer, &out)) {
        log_info("apigateway: the function's answer is malformed (statusCode, headers or body)");
        svc_error(c, "InternalServerErrorException", 502, "Internal server error");
        json_decref(answer);
        return;
    }
    unsigned char *bin = NULL;
    ssize_t nbin = out.body_base64 ? base64_decode(c->arena, out.body, &bin) : 0;
    if (nbin < 0) {
        log_info("apigateway: isBase64Encoded is true but the body is not base64");
        svc_error(c, "InternalServerErrorException", 502, "Internal server error");
    } else {
        svc_raw_status(c, out.status);
        const char *k;
        json_t *vals;
        bool has_type = false;
        json_object_foreach(out.headers, k, vals)
        {
            size_t i;
            json_t *v;
            has_type |= strcasecmp(k, "Content-Type") == 0;
            json_array_foreach(vals, i, v) svc_raw_header(c, k, json_string_value(v));
        }
        if (!has_type)
            svc_raw_header(c, "Content-Type", "application/json");
        buf_t *body = svc_raw_body(c);
        if (out.body_base64)
            buf_append(body, bin, (size_t)nbin);
        else
            buf_append(body, out.body.p, out.body.len);
    }
    json_decref(out.headers);
    json_decref(answer);
}

static void on_proxy_done(void *data, const svc_call_t *res)
{
    proxy_job_t *job = data;
    svc_call_t *c = job->c;
    if (c)
        proxy_detach(job);
    free(job);
    if (!c)
        return;
    if (res->error.code) {
        /* Denied by the function's policy, no such function, throttled:
         * the client sees a bare 500; the decision log explains a denial. */
        log_info("apigateway: invoking the function failed: %s: %s (decision %s)", res->error.code, res->error.message,
                 res->decision_id ? res->decision_id : "-");
        svc_error(c, "InternalServerErrorException", 500, "Internal server error");
    } else if (json_object_get(res->output, "FunctionError")) {
        log_info("apigateway: the function failed (%s)",
                 json_string_value(json_object_get(res->output, "FunctionError")));
        svc_error(c, "InternalServerErrorException", 502, "Internal server error");
    } else {
        json_t *p = json_object_get(res->output, "Payload");
        send_proxy_answer(c, json_string_value(p), json_string_length(p));
    }
    svc_call_finish(c);
}

static int serve_lambda_proxy(invocation_t *iv, json_t *integ)
{
    svc_call_t *c = iv->c;
    const char *fn = function_of(c->arena, json_string_value(json_object_get(integ, "uri")));
    if (!fn) {
        internal_error(c, "the AWS_PROXY integration's uri names no Lambda function");
        return 0;
    }
    const char *region = json_string_value(json_object_get(iv->api, "region"));
    int64_t now = kyoka_clock_now_ms();
    const http_request_t *req = c->req;
    bool binary = req->body.len && !body_is_text(req);
    apigw_payload1_in_t in = {
        .req = req,
        .resource = json_string_value(json_object_get(iv->route.resource, "path")),
        .path = iv->path.len ? cstr(c->arena, iv->path) : "/",
        .path_params = iv->route.path_params,
        .stage_vars = iv->tpl.stage_vars,
        .request_context = proxy_context_with_authorizer(iv, now),
        .body_is_binary = binary,
        .body_base64 = binary ? base64_encode(c->arena, req->body.data, req->body.len) : NULL,
    };
    json_t *ev = apigw_payload1_event(&in);
    char *text = proto_json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    svc_caller_t who = {
        .service_principal = AGW_PRINCIPAL,
        .source_arn = execute_api_arn(iv),
        .source_account = agw__account(c),
        .region = region,
    };
    proxy_job_t *job = xcalloc(1, sizeof *job);
    job->c = c;
    job->timeout.cb = on_proxy_timeout;
    json_t *ms = json_object_get(integ, "timeoutInMillis");
    dq_add(&((agw_state_t *)c->state)->dq, &job->timeout, now + (json_is_integer(ms) ? json_integer_value(ms) : 29000));
    c->parked = job;
    c->on_abort = on_proxy_abort;
    pipes_lambda_invoke(c->ctx, &who, fn, text, strlen(text), false, on_proxy_done, job);
    free(text);
    return KYOKA_EAGAIN;
}

/* ================================================================ AWS (SQS) */

/* A parked SQS call keeps what the response mapping needs. */
typedef struct sqs_job {
    svc_call_t *c;
    json_t *integ;     /* own reference */
    agw_tpl_ctx_t tpl; /* context, params and stage_vars: own references */
} sqs_job_t;

static void sqs_job_free(sqs_job_t *job)
{
    json_decref(job->integ);
    json_decref(job->tpl.context);
    json_decref(job->tpl.params);
    json_decref(job->tpl.stage_vars);
    free(job);
}

static void on_sqs_abort(svc_call_t *c)
{
    sqs_job_t *job = c->parked;
    if (job)
        job->c = NULL;
    c->parked = NULL;
}

/* SQS's answer as API Gateway's AWS integration sees it: the Query
 * protocol's JSON form, which is what mapping templates select from
 * ($input.path('$.SendMessageResponse.SendMessageResult.MessageId')). */
static json_t *sqs_output(const svc_call_t *res)
{
    if (res->error.code)
        return json_pack("{s:{s:s,s:s,s:s},s:s}", "Error", "Code", res->error.code, "Message",
                         aws_error_text(&res->error), "Type", res->error.sender ? "Sender" : "Receiver", "RequestId",
                         res->request_id);
    json_t *result = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(res->output, k, v) json_object_set(result, k, v);
    return json_pack("{s:{s:o,s:{s:s}}}", "SendMessageResponse", "SendMessageResult", result, "ResponseMetadata",
                     "RequestId", res->request_id);
}

static void on_sqs_done(void *data, const svc_call_t *res)
{
    sqs_job_t *job = data;
    svc_call_t *c = job->c;
    if (!c) {
        sqs_job_free(job);
        return;
    }
    c->parked = NULL;
    c->on_abort = NULL;
    if (res->error.code)
        log_info("apigateway: SQS answered %s: %s (decision %s)", res->error.code, aws_error_text(&res->error),
                 res->decision_id ? res->decision_id : "-");
    json_t *out = sqs_output(res);
    char *text = proto_json_dumps(out, JSON_COMPACT);
    json_decref(out);
    char subject[16];
    snprintf(subject, sizeof subject, "%d", res->error.code ? (res->error.status ? res->error.status : 400) : 200);
    map_integration_response(c, job->integ, subject, strv_from(text), &job->tpl);
    free(text);
    sqs_job_free(job);
    svc_call_finish(c);
}

/* The queue ARN from the uri's path form, or from a QueueUrl
 * (".../{account}/{name}") given in the rendered body. */
static const char *queue_arn(arena_t *a, const char *uri, const char *region, strv_t queue_url)
{
    static const char path[] = ":sqs:path/";
    const char *at = uri ? strstr(uri, path) : NULL;
    strv_t tail;
    if (at) {
        tail = strv_from(at + sizeof path - 1);
    } else if (queue_url.len) {
        /* The last two segments of the URL. */
        const char *p = queue_url.p + queue_url.len;
        int slashes = 0;
        while (p > queue_url.p && slashes < 2)
            if (*--p == '/')
                slashes++;
        if (slashes < 2)
            return NULL;
        tail = (strv_t){p + 1, (size_t)(queue_url.p + queue_url.len - p - 1)};
    } else {
        return NULL;
    }
    const char *slash = memchr(tail.p, '/', tail.len);
    if (!slash || slash == tail.p || slash + 1 >= tail.p + tail.len)
        return NULL;
    return arena_sprintf(a, "arn:aws:sqs:%s:%.*s:%.*s", region, (int)(slash - tail.p), tail.p,
                         (int)(tail.p + tail.len - slash - 1), slash + 1);
}

static int serve_sqs(invocation_t *iv, json_t *integ)
{
    svc_call_t *c = iv->c;
    agw_state_t *st = c->state;
    const char *uri = json_string_value(json_object_get(integ, "uri"));
    const char *region = json_string_value(json_object_get(iv->api, "region"));
    /* Without a template the request body is passed through as the form. */
    const char *tpl =
        template_for(json_object_get(integ, "requestTemplates"), http_request_header(c->req, "Content-Type"));
    buf_t form;
    buf_init(&form, AGW_MAX_RESPONSE_BYTES);
    char err[256];
    if (tpl ? agw__tpl_render(tpl, &iv->tpl, &form, err, sizeof err) != 0
            : buf_append(&form, c->req->body.data, c->req->body.len) != 0) {
        buf_destroy(&form);
        internal_error(c, tpl ? err : "the request body is too large");
        return 0;
    }
    /* The parsed values may be views into the text: keep it in the arena. */
    strv_t text = {arena_strndup(c->arena, form.data, form.len), form.len};
    buf_destroy(&form);
    form_param_t *ps;
    int n = form_parse(c->arena, text, &ps, AGW_MAX_QUERY_PARAMS);
    strv_t action = STRV_NULL, body = STRV_NULL, url = STRV_NULL;
    bool has_body = false;
    for (int i = 0; i < n; i++) {
        if (strv_eq_cstr(ps[i].key, "Action")) {
            action = ps[i].value;
        } else if (strv_eq_cstr(ps[i].key, "MessageBody")) {
            body = ps[i].value;
            has_body = true;
        } else if (strv_eq_cstr(ps[i].key, "QueueUrl")) {
            url = ps[i].value;
        }
    }
    if (uri && strstr(uri, ":sqs:action/") && !action.len)
        action = strv_from(strstr(uri, ":sqs:action/") + 12);
    const char *arn = queue_arn(c->arena, uri, region, url);
    if (!strv_eq_cstr(action, "SendMessage") || !has_body || !arn) {
        internal_error(c, "kyoka's SQS integration sends Action=SendMessage with a MessageBody to a queue "
                          "named by the uri path or QueueUrl");
        return 0;
    }
    const char *role = json_string_value(json_object_get(integ, "credentials"));
    const char *decision = NULL, *why = NULL;
    const auth_cred_t *cred = role ? events_roles_cred(st->roles, c->ctx, role, region, &decision, &why) : NULL;
    if (!cred) {
        /* AWS: "API Gateway does not have permission to assume the provided role". */
        internal_error(c,
                       arena_sprintf(c->arena, "cannot assume the integration's credentials role %s: %s (decision %s)",
                                     role ? role : "(none)", why ? why : "no role", decision ? decision : "-"));
        return 0;
    }
    svc_caller_t who = {.cred = cred, .region = region};
    sqs_job_t *job = xcalloc(1, sizeof *job);
    job->c = c;
    job->integ = json_incref(integ);
    job->tpl = iv->tpl;
    json_incref(job->tpl.context);
    json_incref(job->tpl.params);
    json_incref(job->tpl.stage_vars);
    c->parked = job;
    c->on_abort = on_sqs_abort;
    pipes_sqs_send(c->ctx, &who, arn, body.p, body.len, NULL, on_sqs_done, job);
    return KYOKA_EAGAIN;
}

/* ================================================================ AWS_IAM */

/* A method with authorizationType AWS_IAM takes SigV4-signed requests
 * (service execute-api) whose caller may execute-api:Invoke the method's
 * ARN
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html).
 * Unsigned: 403 Missing Authentication Token; a bad signature: 403 with
 * SigV4's message; denied: 403 {"Message": "User: ... is not authorized
 * ..."}, capitalised as AWS sends this one. */
static bool iam_allowed(invocation_t *iv)
{
    svc_call_t *c = iv->c;
    char msg[512];
    auth_status_t s = svc_raw_verify(c, "execute-api", msg, sizeof msg);
    if (s == AUTH_ANONYMOUS) {
        svc_error(c, "MissingAuthenticationTokenException", 403, "Missing Authentication Token");
        return false;
    }
    if (s != AUTH_OK) {
        svc_error(c, "InvalidSignatureException", 403, "%s", msg);
        return false;
    }
    const char *arn = execute_api_arn(iv);
    if (c->ctx->authorize(c, "execute-api:Invoke", arn, NULL, 0) == IAM_ALLOW)
        return true;
    /* authorize set the AccessDenied error with IAM's explanation; the
     * data plane answers it in its own shape, so take the text and drop
     * the error. */
    const char *why = c->error.code ? arena_strdup(c->arena, aws_error_text(&c->error)) : NULL;
    memset(&c->error, 0, sizeof c->error);
    json_t *body = json_pack("{s:s}", "Message",
                             why ? why
                                 : arena_sprintf(c->arena,
                                                 "User: %s is not authorized to perform: execute-api:Invoke "
                                                 "on resource: %s",
                                                 c->principal.arn ? c->principal.arn : "anonymous", arn));
    svc_raw_status(c, 403);
    svc_raw_header(c, "Content-Type", "application/json");
    svc_raw_header(c, "x-amzn-ErrorType", "AccessDeniedException");
    if (proto_json_dump_buf(body, JSON_COMPACT, svc_raw_body(c)) != 0)
        log_error("apigateway: the denial body did not fit");
    json_decref(body);
    return false;
}

/* ================================================================ entry */

/* Whether an AWS integration's uri calls service: "arn:aws:apigateway:REGION:sqs:...". */
static bool uri_service_is(json_t *integ, const char *service)
{
    const char *uri = json_string_value(json_object_get(integ, "uri"));
    if (!uri || strncmp(uri, "arn:aws:apigateway:", 19) != 0)
        return false;
    const char *colon = strchr(uri + 19, ':');
    size_t n = strlen(service);
    return colon && strncmp(colon + 1, service, n) == 0 && colon[1 + n] == ':';
}

static void missing_token(svc_call_t *c)
{
    svc_error(c, "MissingAuthenticationTokenException", 403, "Missing Authentication Token");
}

/* ================================================================ Lambda authorizers */

/* CUSTOM methods run the method's TOKEN or REQUEST Lambda authorizer
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html)
 * as apigateway.amazonaws.com with aws:SourceArn
 * arn:aws:execute-api:{region}:{account}:{api-id}/authorizers/{id}; its
 * policy must allow execute-api:Invoke on the method ARN. A missing or
 * invalid token, or the function failing with "Unauthorized": 401
 * {"message":"Unauthorized"}; denied: 403 {"Message":"User is not
 * authorized to access this resource[ with an explicit deny]"}; the
 * function unreachable or answering nonsense: 500. Results are not
 * cached (authorizerResultTtlInSeconds is ignored). */

typedef struct auth_job {
    svc_call_t *c;
    invocation_t *iv; /* in c's arena */
} auth_job_t;

static void on_auth_abort(svc_call_t *c)
{
    auth_job_t *job = c->parked;
    if (job)
        job->c = NULL;
    c->parked = NULL;
}

static void unauthorized(svc_call_t *c) { svc_error(c, "UnauthorizedException", 401, "Unauthorized"); }

static void denied(svc_call_t *c, bool explicit_deny)
{
    svc_raw_status(c, 403);
    svc_raw_header(c, "Content-Type", "application/json");
    svc_raw_header(c, "x-amzn-ErrorType", "AccessDeniedException");
    buf_appends(svc_raw_body(c),
                explicit_deny ? "{\"Message\":\"User is not authorized to access this resource with an explicit deny\"}"
                              : "{\"Message\":\"User is not authorized to access this resource\"}");
}

/* '*' and '?' wildcards, as IAM matches resources. Linear in practice:
 * on a mismatch only the last '*' is retried one character further, so
 * many stars cannot make the match exponential. */
static bool glob(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == '?' || *pat == *s) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return !*pat;
}

static bool any_matches(json_t *v, const char *s)
{
    if (json_is_string(v))
        return strlen(json_string_value(v)) <= 2048 && glob(json_string_value(v), s);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (json_is_string(e) && strlen(json_string_value(e)) <= 2048 &&
                                    glob(json_string_value(e), s)) return true;
    return false;
}

/* -1 denied explicitly, 0 not allowed, 1 allowed. */
static int policy_verdict(json_t *policy, const char *method_arn)
{
    json_t *stmts = json_object_get(policy, "Statement");
    if (json_is_object(stmts))
        stmts = json_pack("[O]", stmts);
    else
        json_incref(stmts);
    int verdict = 0;
    size_t i;
    json_t *st;
    json_array_foreach(stmts, i, st)
    {
        const char *effect = json_string_value(json_object_get(st, "Effect"));
        if (!effect || !any_matches(json_object_get(st, "Action"), "execute-api:Invoke") ||
            !any_matches(json_object_get(st, "Resource"), method_arn))
            continue;
        if (strcmp(effect, "Deny") == 0) {
            verdict = -1;
            break;
        }
        if (strcmp(effect, "Allow") == 0)
            verdict = 1;
    }
    json_decref(stmts);
    return verdict;
}

static void on_auth_done(void *data, const svc_call_t *res)
{
    auth_job_t *job = data;
    svc_call_t *c = job->c;
    invocation_t *iv = job->iv;
    free(job);
    if (!c)
        return;
    c->parked = NULL;
    c->on_abort = NULL;
    json_t *out = NULL;
    int rc = 0;
    if (res->error.code) {
        log_info("apigateway: invoking the authorizer failed: %s: %s (decision %s)", res->error.code,
                 res->error.message, res->decision_id ? res->decision_id : "-");
        internal_error(c, "the authorizer could not be invoked");
        goto done;
    }
    json_t *p = json_object_get(res->output, "Payload");
    out = json_loadb(json_string_value(p), json_string_length(p), JSON_DECODE_ANY, NULL);
    if (json_object_get(res->output, "FunctionError")) {
        const char *m = json_string_value(json_object_get(out, "errorMessage"));
        if (m && strcmp(m, "Unauthorized") == 0)
            unauthorized(c);
        else
            internal_error(c, "the authorizer failed");
        goto done;
    }
    json_t *principal = json_object_get(out, "principalId");
    json_t *policy = json_object_get(out, "policyDocument");
    if (!json_is_string(principal) || !json_is_object(policy)) {
        internal_error(c, "the authorizer's answer has no principalId or policyDocument");
        goto done;
    }
    int verdict = policy_verdict(policy, execute_api_arn(iv));
    if (verdict != 1) {
        denied(c, verdict < 0);
        goto done;
    }
    iv->authorizer = json_object();
    json_t *ctx = json_object_get(out, "context");
    if (json_is_object(ctx))
        json_object_update(iv->authorizer, ctx);
    json_object_set(iv->authorizer, "principalId", principal);
    json_object_set(iv->tpl.context, "authorizer", iv->authorizer);
    rc = serve_integration(iv);
done:
    json_decref(out);
    if (rc != KYOKA_EAGAIN)
        svc_call_finish(c);
}

/* The identity a TOKEN authorizer reads: the header its identitySource
 * names ("method.request.header.Authorization"). */
static strv_t token_of(const http_request_t *req, const char *source)
{
    static const char prefix[] = "method.request.header.";
    if (!source || strncmp(source, prefix, sizeof prefix - 1) != 0)
        return STRV_NULL;
    return http_request_header(req, source + sizeof prefix - 1);
}

/* REQUEST authorizers: every identity source named ("method.request.header.X,
 * method.request.querystring.Y") must be present and non-empty, or API
 * Gateway answers 401 without calling the function. Other source kinds
 * (stageVariables, context) are not checked. */
static bool identity_present(invocation_t *iv, const char *sources)
{
    static const char hdr[] = "method.request.header.", qs[] = "method.request.querystring.";
    const char *p = sources;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *one = arena_strndup(iv->c->arena, p, n);
        json_t *v = NULL;
        if (strncmp(one, hdr, sizeof hdr - 1) == 0) {
            strv_t h = http_request_header(iv->c->req, one + sizeof hdr - 1);
            if (!h.len)
                return false;
        } else if (strncmp(one, qs, sizeof qs - 1) == 0) {
            v = json_object_get(json_object_get(iv->tpl.params, "querystring"), one + sizeof qs - 1);
            if (!json_string_length(v))
                return false;
        }
        p = end;
    }
    return true;
}

static int agw_authorize_custom(invocation_t *iv)
{
    svc_call_t *c = iv->c;
    const char *aid = json_string_value(json_object_get(iv->route.method, "authorizerId"));
    json_t *a = aid ? json_object_get(json_object_get(iv->api, "authorizers"), aid) : NULL;
    const char *type = json_string_value(json_object_get(a, "type"));
    const char *fn = function_of(c->arena, json_string_value(json_object_get(a, "authorizerUri")));
    if (!a || !fn || !type || (strcmp(type, "TOKEN") != 0 && strcmp(type, "REQUEST") != 0)) {
        internal_error(c, "the method's authorizer is missing or not a Lambda TOKEN/REQUEST authorizer");
        return 0;
    }
    const char *method_arn = execute_api_arn(iv);
    json_t *ev;
    if (strcmp(type, "TOKEN") == 0) {
        strv_t token = token_of(c->req, json_string_value(json_object_get(a, "identitySource")));
        const char *expr = json_string_value(json_object_get(a, "identityValidationExpression"));
        char *tok = token.p ? arena_strndup(c->arena, token.p, token.len) : NULL;
        if (!tok || !*tok || (expr && *expr && !pattern_matches(expr, tok))) {
            unauthorized(c);
            return 0;
        }
        ev = json_pack("{s:s,s:s,s:s}", "type", "TOKEN", "authorizationToken", tok, "methodArn", method_arn);
    } else {
        if (!identity_present(iv, json_string_value(json_object_get(a, "identitySource")))) {
            unauthorized(c);
            return 0;
        }
        apigw_payload1_in_t in = {
            .req = c->req,
            .resource = json_string_value(json_object_get(iv->route.resource, "path")),
            .path = iv->path.len ? cstr(c->arena, iv->path) : "/",
            .path_params = iv->route.path_params,
            .stage_vars = iv->tpl.stage_vars,
            .request_context = proxy_context(iv, kyoka_clock_now_ms()),
        };
        ev = apigw_payload1_event(&in);
        json_object_del(ev, "body");
        json_object_del(ev, "isBase64Encoded");
        json_object_set_new(ev, "type", json_string("REQUEST"));
        json_object_set_new(ev, "methodArn", json_string(method_arn));
    }
    char *text = proto_json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    const char *region = json_string_value(json_object_get(iv->api, "region"));
    svc_caller_t who = {
        .service_principal = AGW_PRINCIPAL,
        .source_arn = arena_sprintf(c->arena, "arn:aws:execute-api:%s:%s:%s/authorizers/%s", region, agw__account(c),
                                    json_string_value(json_object_get(json_object_get(iv->api, "api"), "id")), aid),
        .source_account = agw__account(c),
        .region = region,
    };
    auth_job_t *job = xcalloc(1, sizeof *job);
    job->c = c;
    job->iv = iv;
    c->parked = job;
    c->on_abort = on_auth_abort;
    pipes_lambda_invoke(c->ctx, &who, fn, text, strlen(text), false, on_auth_done, job);
    free(text);
    return KYOKA_EAGAIN;
}

/* The references an invocation holds die with the request's arena, so
 * every path (answered now, parked, continued after an authorizer) drops
 * them once. */
static void on_invocation_done(void *data)
{
    invocation_t *iv = data;
    json_decref(iv->tpl.context);
    json_decref(iv->tpl.params);
    json_decref(iv->route.path_params);
    json_decref(iv->authorizer);
}

static int serve_integration(invocation_t *iv)
{
    svc_call_t *c = iv->c;
    if (json_is_true(json_object_get(iv->route.method, "apiKeyRequired")) &&
        !agw__usage_allowed(c, iv->api, iv->stage_name))
        return 0;
    json_t *integ = json_object_get(iv->route.method, "methodIntegration");
    const char *type = json_string_value(json_object_get(integ, "type"));
    if (type && strcmp(type, "MOCK") == 0)
        return serve_mock(iv, integ);
    if (type && strcmp(type, "AWS_PROXY") == 0)
        return serve_lambda_proxy(iv, integ);
    if (type && strcmp(type, "AWS") == 0 && uri_service_is(integ, "sqs"))
        return serve_sqs(iv, integ);
    internal_error(c,
                   arena_sprintf(c->arena, "integration type %s is not served by kyoka yet", type ? type : "(none)"));
    return 0;
}

int agw__http_serve(svc_call_t *c)
{
    agw_state_t *st = c->state;
    apigw_invoke_url_t u;
    if (!apigw_invoke_url(c->req, &u)) {
        missing_token(c);
        return 0;
    }
    invocation_t *iv = arena_calloc(c->arena, sizeof *iv);
    iv->c = c;
    iv->api = json_object_get(st->apis, cstr(c->arena, u.api_id));
    iv->stage_name = cstr(c->arena, u.first);
    iv->stage = json_object_get(json_object_get(iv->api, "stages"), iv->stage_name);
    const char *dep_id = json_string_value(json_object_get(iv->stage, "deploymentId"));
    json_t *dep = dep_id ? json_object_get(json_object_get(iv->api, "deployments"), dep_id) : NULL;
    iv->verb = cstr(c->arena, c->req->method);
    iv->path = u.rest;
    if (!dep || !agw__route_find(c->arena, json_object_get(dep, "_snapshot"), u.rest, iv->verb, &iv->route)) {
        missing_token(c);
        return 0;
    }
    arena_on_destroy(c->arena, on_invocation_done, iv);
    json_t *headers = request_headers(c->req);
    iv->tpl.params = json_pack("{s:O,s:o,s:o}", "path", iv->route.path_params, "querystring",
                               query_params(c->arena, c->req->query), "header", headers);
    iv->tpl.context = context_for(iv);
    iv->tpl.stage_vars = json_object_get(iv->stage, "variables");
    iv->tpl.body = buf_view(&c->req->body);

    const char *auth = json_string_value(json_object_get(iv->route.method, "authorizationType"));
    if (auth && strcmp(auth, "AWS_IAM") == 0 && !iam_allowed(iv))
        return 0;
    if (auth && strcmp(auth, "CUSTOM") == 0)
        return agw_authorize_custom(iv);
    if (auth && strcmp(auth, "COGNITO_USER_POOLS") == 0) {
        /* Refuse rather than let every caller through. */
        internal_error(c, "COGNITO_USER_POOLS authorization is not served by kyoka yet");
        return 0;
    }
    return serve_integration(iv);
}
