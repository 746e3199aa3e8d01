/*
 * The data plane of HTTP APIs: requests to an invoke URL
 * (http://{api-id}.execute-api.localhost.localstack.cloud:PORT/{stage}/{path},
 * no stage segment for the $default stage) are routed over the stage's
 * deployed routes, answered from the API's CORS configuration when they
 * are preflights, and sent to the route's integration.
 *
 * An AWS_PROXY integration invokes the function through pipes as
 * apigateway.amazonaws.com with aws:SourceArn
 * arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path},
 * so the function's resource policy decides, as on AWS. HTTP APIs answer
 * every integration failure (denied, function error, malformed answer)
 * with 500 {"message":"Internal Server Error"}; the log says why.
 */
#include "internal.h"

#include "apigw/apigw.h"
#include "pipes/pipes.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define APIGW_PRINCIPAL "apigateway.amazonaws.com"
#define MAX_ROUTES 300 /* AWS's default quota of routes per API */

bool apiv2__http_claim(void *state, const http_request_t *req)
{
    apiv2_state_t *st = state;
    apigw_invoke_url_t u;
    if (!apigw_invoke_url(req, &u) || u.user_request)
        return false;
    char id[64];
    if (u.api_id.len >= sizeof id)
        return false;
    memcpy(id, u.api_id.p, u.api_id.len);
    id[u.api_id.len] = '\0';
    return json_object_get(st->apis, id) != NULL;
}

/* ------------------------------------------------------------ CORS */

static strv_t req_header(const http_request_t *req, const char *name) { return http_request_header(req, name); }

static void emit_header(void *data, const char *name, const char *value) { svc_raw_header(data, name, value); }

static void cors_headers(svc_call_t *c, json_t *cors, bool preflight)
{
    apigw_cors_headers(cors, c->req, preflight, c->arena, emit_header, c);
}

/* ------------------------------------------------------------ invoking */

/* Freed by on_invoked, which pipes calls exactly once, whether the client
 * left, the integration timed out or the function answered. */
typedef struct invoke_wait {
    svc_call_t *c;            /* NULL once answered or the client is gone */
    json_t *cors;             /* the API's CORS configuration (a reference) */
    apiv2_state_t *st;
    dq_entry_t timeout;       /* the integration's TimeoutInMillis */
} invoke_wait_t;

static void on_abort(svc_call_t *c)
{
    invoke_wait_t *w = c->parked;
    if (w) {
        w->c = NULL;
        dq_remove(w->st->dq, &w->timeout);
    }
    c->parked = NULL;
}

/* The integration took longer than its timeout: API Gateway answers 504
 * (https://repost.aws/knowledge-center/api-gateway-504-errors) and drops
 * the function's late answer. */
static void on_timeout(dq_entry_t *e)
{
    invoke_wait_t *w = (invoke_wait_t *)((char *)e - offsetof(invoke_wait_t, timeout));
    svc_call_t *c = w->c;
    if (!c)
        return;
    w->c = NULL;
    c->parked = NULL;
    c->on_abort = NULL;
    log_warn("apigatewayv2: %s: the integration timed out", c->request_id);
    svc_error(c, "GatewayTimeout", 504, "Gateway Timeout");
    svc_call_finish(c);
}

static void internal_error(svc_call_t *c) { svc_error(c, "InternalServerError", 500, "Internal Server Error"); }

static void answer(svc_call_t *c, const apigw_v2_response_t *r)
{
    svc_raw_status(c, r->status);
    const char *k;
    json_t *v;
    json_object_foreach(r->headers, k, v) svc_raw_header(c, k, json_string_value(v));
    size_t i;
    json_array_foreach(r->cookies, i, v)
    {
        if (json_is_string(v))
            svc_raw_header(c, "Set-Cookie", json_string_value(v));
    }
    buf_append(svc_raw_body(c), r->body.data, r->body.len);
}

static void on_invoked(void *data, const svc_call_t *ic)
{
    invoke_wait_t *w = data;
    svc_call_t *c = w->c;
    dq_remove(w->st->dq, &w->timeout);
    if (!c)
        goto done;
    c->parked = NULL;
    c->on_abort = NULL;
    svc_raw_header(c, "apigw-requestid", c->request_id);
    if (ic->error.code) {
        log_warn("apigatewayv2: %s could not invoke %s: %s: %s (decision %s)", c->request_id,
                 ic->resource_arn ? ic->resource_arn : "the function", ic->error.code, aws_error_text(&ic->error),
                 ic->decision_id ? ic->decision_id : "-");
        internal_error(c);
    } else if (json_object_get(ic->output, "FunctionError")) {
        log_warn("apigatewayv2: %s: the function answered an error (%s)", c->request_id,
                 json_string_value(json_object_get(ic->output, "FunctionError")));
        internal_error(c);
    } else {
        json_t *p = json_object_get(ic->output, "Payload");
        apigw_v2_response_t r;
        if (apigw_v2_response_map(json_string_value(p), json_string_length(p), &r, KYOKA_APIGW_V2_MAX_PAYLOAD) != 0) {
            log_warn("apigatewayv2: %s: the function's answer is not a valid response", c->request_id);
            internal_error(c);
        } else {
            cors_headers(c, w->cors, false);
            answer(c, &r);
        }
        apigw_v2_response_destroy(&r);
    }
    svc_call_finish(c);
done:
    json_decref(w->cors);
    free(w);
}

/* The function ARN of an integration URI: a function ARN as is, or the
 * ARN inside arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations. */
static const char *function_arn(svc_call_t *c, const char *uri)
{
    const char *f = strstr(uri, "/functions/");
    if (strncmp(uri, "arn:aws:apigateway:", 19) != 0 || !f)
        return uri;
    f += strlen("/functions/");
    const char *end = strstr(f, "/invocations");
    return end ? arena_sprintf(c->arena, "%.*s", (int)(end - f), f) : f;
}

static json_t *path_params(svc_call_t *c, const apigw_route_match_t *m)
{
    json_t *o = json_object();
    for (size_t i = 0; i < m->nparams; i++)
        json_object_set_new(o, arena_sprintf(c->arena, "%.*s", (int)m->params[i].name.len, m->params[i].name.p),
                            json_stringn(m->params[i].value.p, m->params[i].value.len));
    return o;
}

typedef struct target {
    json_t *api, *stage, *route, *integ;
    const char *stage_name;
    strv_t route_path;         /* the path routes see (no stage segment) */
    apigw_route_match_t match;
    json_t *authorizer;        /* requestContext.authorizer, or NULL */
} target_t;

static int invoke(svc_call_t *c, target_t *t)
{
    apiv2_state_t *st = c->state;
    const char *region = json_string_value(json_object_get(t->api, "_region"));
    const char *api_id = json_string_value(json_object_get(t->api, "ApiId"));
    const char *key = json_string_value(json_object_get(t->route, "RouteKey"));
    const char *pfv = json_string_value(json_object_get(t->integ, "PayloadFormatVersion"));
    if (!pfv || strcmp(pfv, "2.0") != 0) {
        /* Payload 1.0 is src/apigw/payload1.c's, which this branch does
         * not have yet. */
        log_warn("apigatewayv2: %s: payload format %s is not served yet; answering 500", c->request_id,
                 pfv ? pfv : "?");
        internal_error(c);
        return 0;
    }
    strv_t host = req_header(c->req, "host");
    const char *colon = host.p ? memchr(host.p, ':', host.len) : NULL;
    json_t *pp = path_params(c, &t->match);
    apigw_v2_request_t r = {
        .req = c->req,
        .route_key = key,
        .raw_path = c->req->path,
        .stage = t->stage_name,
        .api_id = api_id,
        .account_id = st->ctx->account_id,
        .domain_name = host.p ? arena_sprintf(c->arena, "%.*s", (int)(colon ? (size_t)(colon - host.p) : host.len),
                                              host.p)
                              : "",
        .path_parameters = pp,
        .stage_variables = json_object_get(t->stage, "StageVariables"),
        .authorizer = t->authorizer,
        .request_id = c->request_id,
        .now_ms = kyoka_wall_ms(),
    };
    json_t *ev = apigw_v2_event(&r, c->arena);
    json_decref(pp);
    char *payload = proto_json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    /* aws:SourceArn names the stage, the method and the route's path;
     * the $default route is named as such. */
    const char *sp = strchr(key, ' ');
    const char *source = sp ? arena_sprintf(c->arena, "arn:aws:execute-api:%s:%s:%s/%s/%.*s%s", region,
                                            st->ctx->account_id, api_id, t->stage_name, (int)c->req->method.len,
                                            c->req->method.p, sp + 1)
                            : arena_sprintf(c->arena, "arn:aws:execute-api:%s:%s:%s/%s/$default", region,
                                            st->ctx->account_id, api_id, t->stage_name);
    svc_caller_t who = {.service_principal = APIGW_PRINCIPAL, .source_arn = source,
                        .source_account = st->ctx->account_id, .region = region};
    invoke_wait_t *w = xcalloc(1, sizeof *w);
    w->c = c;
    w->st = st;
    w->cors = json_incref(json_object_get(t->api, "CorsConfiguration"));
    json_t *tmo = json_object_get(t->integ, "TimeoutInMillis");
    w->timeout.cb = on_timeout;
    dq_add(st->dq, &w->timeout, kyoka_clock_now_ms() + (json_is_integer(tmo) ? json_integer_value(tmo) : 30000));
    c->parked = w;
    c->on_abort = on_abort;
    pipes_lambda_invoke(st->ctx, &who,
                        function_arn(c, json_string_value(json_object_get(t->integ, "IntegrationUri"))), payload,
                        strlen(payload), false, on_invoked, w);
    free(payload);
    return KYOKA_EAGAIN;
}

/* ------------------------------------------------------------ routing */

static void not_found(svc_call_t *c) { svc_error(c, "NotFoundException", 404, "Not Found"); }

/* The stage the URL names and the path routes see. */
static bool pick_stage(svc_call_t *c, json_t *api, const apigw_invoke_url_t *u, target_t *t)
{
    json_t *stages = json_object_get(api, "_stages");
    if (u->first.len && u->first.len < 128) {
        char *name = arena_sprintf(c->arena, "%.*s", (int)u->first.len, u->first.p);
        json_t *s = strcmp(name, "$default") ? json_object_get(stages, name) : NULL;
        if (s) {
            t->stage = s;
            t->stage_name = name;
            t->route_path = u->rest.len ? u->rest : STRV_LIT("/");
            return true;
        }
    }
    t->stage = json_object_get(stages, "$default");
    t->stage_name = "$default";
    t->route_path = u->path.len ? u->path : STRV_LIT("/");
    return t->stage != NULL;
}

static bool pick_route(svc_call_t *c, json_t *deployment, target_t *t)
{
    json_t *routes = json_object_get(deployment, "_routes");
    size_t n = json_object_size(routes);
    if (n == 0 || n > MAX_ROUTES)
        return false;
    strv_t *keys = arena_alloc(c->arena, n * sizeof *keys);
    json_t **rs = arena_alloc(c->arena, n * sizeof *rs);
    size_t i = 0;
    const char *id;
    json_t *r;
    json_object_foreach(routes, id, r)
    {
        keys[i] = strv_from(json_string_value(json_object_get(r, "RouteKey")));
        rs[i++] = r;
    }
    if (!apigw_route_select(keys, n, c->req->method, t->route_path, &t->match))
        return false;
    t->route = rs[t->match.index];
    return true;
}

/* ------------------------------------------------------------ authorization */

/* A Lambda REQUEST authorizer's call in flight; the target's documents are
 * held so a change of the API meanwhile cannot free them. */
typedef struct auth_wait {
    svc_call_t *c; /* NULL once the client is gone */
    target_t t;
} auth_wait_t;

static void auth_wait_free(auth_wait_t *w)
{
    json_decref(w->t.api);
    json_decref(w->t.stage);
    json_decref(w->t.route);
    json_decref(w->t.integ);
    json_decref(w->t.authorizer);
    free(w);
}

static void on_auth_abort(svc_call_t *c)
{
    auth_wait_t *w = c->parked;
    if (w)
        w->c = NULL;
    c->parked = NULL;
}

/* The simple response of payload 2.0 ({"isAuthorized": bool, "context"});
 * IAM-policy responses are not served yet and count as a failure. */
static void on_authorized(void *data, const svc_call_t *ic)
{
    auth_wait_t *w = data;
    svc_call_t *c = w->c;
    if (!c) {
        auth_wait_free(w);
        return;
    }
    c->parked = NULL;
    c->on_abort = NULL;
    json_t *p = ic->error.code ? NULL : json_object_get(ic->output, "Payload");
    json_t *ans = p && !json_object_get(ic->output, "FunctionError")
                      ? json_loadb(json_string_value(p), json_string_length(p), 0, NULL)
                      : NULL;
    json_t *ok = json_object_get(ans, "isAuthorized");
    int rc = 0;
    if (!json_is_boolean(ok)) {
        log_warn("apigatewayv2: %s: the authorizer failed or gave no simple response (%s; decision %s)",
                 c->request_id, ic->error.code ? ic->error.code : "payload", ic->decision_id ? ic->decision_id : "-");
        internal_error(c);
    } else if (!json_is_true(ok)) {
        svc_error(c, "Forbidden", 403, "Forbidden");
    } else {
        json_t *ctx = json_object_get(ans, "context");
        w->t.authorizer = json_pack("{s:O}", "lambda", json_is_object(ctx) ? ctx : json_null());
        rc = invoke(c, &w->t);
    }
    json_decref(ans);
    auth_wait_free(w);
    if (rc != KYOKA_EAGAIN)
        svc_call_finish(c);
}

/* The identity sources' values, or NULL when one is missing (API Gateway
 * then answers 401 without calling the authorizer). */
static json_t *identity_values(svc_call_t *c, json_t *sources)
{
    json_t *vals = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(sources, i, s)
    {
        const char *src = json_string_value(s);
        strv_t v = STRV_NULL;
        if (src && strncmp(src, "$request.header.", 16) == 0)
            v = http_request_header(c->req, src + 16);
        if (!v.p) {
            json_decref(vals);
            return NULL;
        }
        json_array_append_new(vals, json_stringn(v.p, v.len));
    }
    return vals;
}

static int custom_authorize(svc_call_t *c, target_t *t, json_t *dep, const char *route_arn)
{
    apiv2_state_t *st = c->state;
    const char *aid = json_string_value(json_object_get(t->route, "AuthorizerId"));
    json_t *a = aid ? json_object_get(json_object_get(dep, "_authorizers"), aid) : NULL;
    const char *type = json_string_value(json_object_get(a, "AuthorizerType"));
    const char *pfv = json_string_value(json_object_get(a, "AuthorizerPayloadFormatVersion"));
    if (!type || strcmp(type, "REQUEST") != 0 || !pfv || strcmp(pfv, "2.0") != 0 ||
        !json_is_true(json_object_get(a, "EnableSimpleResponses"))) {
        log_warn("apigatewayv2: %s: only REQUEST authorizers with payload 2.0 simple responses are served yet",
                 c->request_id);
        internal_error(c);
        return 0;
    }
    json_t *ids = identity_values(c, json_object_get(a, "IdentitySource"));
    if (!ids) {
        svc_error(c, "Unauthorized", 401, "Unauthorized");
        return 0;
    }
    strv_t host = http_request_header(c->req, "host");
    const char *colon = host.p ? memchr(host.p, ':', host.len) : NULL;
    const char *region = json_string_value(json_object_get(t->api, "_region"));
    const char *api_id = json_string_value(json_object_get(t->api, "ApiId"));
    apigw_v2_request_t r = {
        .req = c->req,
        .route_key = json_string_value(json_object_get(t->route, "RouteKey")),
        .raw_path = c->req->path,
        .stage = t->stage_name,
        .api_id = api_id,
        .account_id = st->ctx->account_id,
        .domain_name = arena_sprintf(c->arena, "%.*s", (int)(colon ? (size_t)(colon - host.p) : host.len),
                                     host.p ? host.p : ""),
        .stage_variables = json_object_get(t->stage, "StageVariables"),
        .request_id = c->request_id,
        .now_ms = kyoka_wall_ms(),
    };
    json_t *ev = apigw_v2_event(&r, c->arena);
    json_t *pp = path_params(c, &t->match);
    if (json_object_size(pp))
        json_object_set(ev, "pathParameters", pp);
    json_decref(pp);
    json_object_set_new(ev, "type", json_string("REQUEST"));
    json_object_set_new(ev, "routeArn", json_string(route_arn));
    json_object_set_new(ev, "identitySource", ids);
    char *payload = proto_json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    auth_wait_t *w = xcalloc(1, sizeof *w);
    w->c = c;
    w->t = *t;
    json_incref(t->api);
    json_incref(t->stage);
    json_incref(t->route);
    json_incref(t->integ);
    c->parked = w;
    c->on_abort = on_auth_abort;
    /* The authorizer is invoked as API Gateway, with the authorizer's own
     * ARN as the source. */
    svc_caller_t who = {.service_principal = APIGW_PRINCIPAL,
                        .source_arn = arena_sprintf(c->arena, "arn:aws:execute-api:%s:%s:%s/authorizers/%s", region,
                                                    st->ctx->account_id, api_id, aid),
                        .source_account = st->ctx->account_id,
                        .region = region};
    pipes_lambda_invoke(st->ctx, &who, function_arn(c, json_string_value(json_object_get(a, "AuthorizerUri"))),
                        payload, strlen(payload), false, on_authorized, w);
    free(payload);
    return KYOKA_EAGAIN;
}

/* The route's authorization
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control.html):
 * AWS_IAM needs a request signed for execute-api whose caller may
 * execute-api:Invoke arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path};
 * CUSTOM calls the route's Lambda REQUEST authorizer. JWT authorizers are
 * not served yet: such a route is refused rather than served
 * unauthenticated. Returns 1 to go on, 0 when answered, KYOKA_EAGAIN when
 * the authorizer is running. */
static int route_authorize(svc_call_t *c, target_t *t, json_t *dep)
{
    apiv2_state_t *st = c->state;
    const char *type = json_string_value(json_object_get(t->route, "AuthorizationType"));
    if (!type || strcmp(type, "NONE") == 0)
        return 1;
    const char *arn = arena_sprintf(c->arena, "arn:aws:execute-api:%s:%s:%s/%s/%.*s%.*s",
                                    json_string_value(json_object_get(t->api, "_region")), st->ctx->account_id,
                                    json_string_value(json_object_get(t->api, "ApiId")), t->stage_name,
                                    (int)c->req->method.len, c->req->method.p, (int)t->route_path.len,
                                    t->route_path.p);
    if (strcmp(type, "CUSTOM") == 0)
        return custom_authorize(c, t, dep, arn);
    if (strcmp(type, "AWS_IAM") != 0) {
        log_warn("apigatewayv2: %s: %s route authorization is not served yet; answering 500", c->request_id, type);
        internal_error(c);
        return 0;
    }
    char msg[256];
    if (svc_raw_verify(c, "execute-api", msg, sizeof msg) != AUTH_OK) {
        log_info("apigatewayv2: %s: an AWS_IAM route refused an unsigned or badly signed request: %s",
                 c->request_id, msg);
        svc_error(c, "Forbidden", 403, "Forbidden");
        return 0;
    }
    return c->ctx->authorize(c, "execute-api:Invoke", arn, NULL, 0) == IAM_ALLOW ? 1 : 0;
}

int apiv2__http_serve(svc_call_t *c)
{
    apiv2_state_t *st = c->state;
    apigw_invoke_url_t u;
    target_t t = {0};
    if (!apigw_invoke_url(c->req, &u))
        return not_found(c), 0;
    t.api = json_object_get(st->apis, arena_sprintf(c->arena, "%.*s", (int)u.api_id.len, u.api_id.p));
    if (!t.api || !pick_stage(c, t.api, &u, &t))
        return not_found(c), 0;
    json_t *cors = json_object_get(t.api, "CorsConfiguration");
    /* API Gateway answers a CORS preflight itself when the API has a CORS
     * configuration, whatever the routes. */
    if (apigw_cors_is_preflight(cors, c->req)) {
        cors_headers(c, cors, true);
        svc_raw_status(c, 204);
        return 0;
    }
    const char *dep_id = json_string_value(json_object_get(t.stage, "DeploymentId"));
    json_t *dep = dep_id ? json_object_get(json_object_get(t.api, "_deployments"), dep_id) : NULL;
    if (!dep || !pick_route(c, dep, &t))
        return not_found(c), 0;
    const char *target = json_string_value(json_object_get(t.route, "Target"));
    t.integ = target && strncmp(target, "integrations/", 13) == 0
                  ? json_object_get(json_object_get(dep, "_integrations"), target + 13)
                  : NULL;
    if (!t.integ)
        return not_found(c), 0;
    if (c->req->body.len > KYOKA_APIGW_V2_MAX_PAYLOAD) {
        svc_error(c, "RequestEntityTooLarge", 413, "Request Entity Too Large");
        return 0;
    }
    const char *type = json_string_value(json_object_get(t.integ, "IntegrationType"));
    if (!type || strcmp(type, "AWS_PROXY") != 0) {
        log_warn("apigatewayv2: %s: %s integrations are not served yet", c->request_id, type ? type : "?");
        internal_error(c);
        return 0;
    }
    int a = route_authorize(c, &t, dep);
    return a == 1 ? invoke(c, &t) : a;
}
