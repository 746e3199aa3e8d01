/*
 * Lambda function URLs: the five *FunctionUrlConfig operations and the
 * traffic to http://{url-id}.lambda-url.{region}.localhost.localstack.cloud:PORT/.
 *
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html:
 * - AuthType NONE: the function's resource policy must allow
 *   lambda:InvokeFunctionUrl to principal "*" (with the condition
 *   lambda:FunctionUrlAuthType = NONE); otherwise 403 {"Message":"Forbidden"}.
 * - AuthType AWS_IAM: the request is SigV4-signed for "lambda" and the
 *   caller is authorized for lambda:InvokeFunctionUrl on the function
 *   (identity policies and the resource policy).
 * The event is payload format 2.0 (src/apigw/payload2.c) with routeKey and
 * stage "$default".
 *
 * State: {url-id: config} where config is GetFunctionUrlConfig's answer
 * plus "_region", "_name", "_qualifier"; one store row per URL.
 */
#include "internal.h"

#include "apigw/apigw.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static const char *const migrations[] = {
    "CREATE TABLE lambda_function_urls ("
    "  url_id TEXT PRIMARY KEY,"
    "  doc TEXT NOT NULL) WITHOUT ROWID;",
};

/* ------------------------------------------------------------ state */

int lambda__url_init(lambda_state_t *st, char *err, size_t errcap)
{
    st->urls = json_object();
    if (store_migrate(st->store, "lambda_urls", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap) != 0)
        return -1;
    sqlite3_stmt *q = store_stmt(st->store, "SELECT url_id, doc FROM lambda_function_urls");
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(q, 1);
        json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
        if (json_is_object(doc))
            json_object_set_new(st->urls, (const char *)sqlite3_column_text(q, 0), doc);
        else
            json_decref(doc);
    }
    sqlite3_reset(q);
    return 0;
}

void lambda__url_free(lambda_state_t *st)
{
    json_decref(st->urls);
    st->urls = NULL;
}

void lambda__url_reset(lambda_state_t *st)
{
    json_object_clear(st->urls);
    store_write_begin(st->store);
    if (store_exec(st->store, "DELETE FROM lambda_function_urls;") != 0)
        log_error("lambda: reset could not clear the function URLs");
}

static void persist(lambda_state_t *st, const char *id)
{
    json_t *doc = json_object_get(st->urls, id);
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, doc ? "INSERT OR REPLACE INTO lambda_function_urls(url_id, doc) VALUES(?,?)"
                                                : "DELETE FROM lambda_function_urls WHERE url_id = ?");
    char *text = doc ? proto_json_dumps(doc, JSON_COMPACT) : NULL;
    sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
    if (text)
        sqlite3_bind_text(q, 2, text, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("lambda: could not save function URL %s: %s", id, sqlite3_errmsg(store_db(st->store)));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    free(text);
}

/* The URL of (function, qualifier), and its id in *id. */
static json_t *url_of(lambda_state_t *st, const char *region, const char *name, const char *qualifier,
                      const char **id)
{
    const char *k;
    json_t *u;
    json_object_foreach(st->urls, k, u)
    {
        const char *q = json_string_value(json_object_get(u, "_qualifier"));
        if (strcmp(json_string_value(json_object_get(u, "_region")), region) == 0 &&
            strcmp(json_string_value(json_object_get(u, "_name")), name) == 0 &&
            strcmp(q ? q : "", qualifier ? qualifier : "") == 0) {
            *id = k;
            return u;
        }
    }
    return NULL;
}

static json_t *public_of(json_t *u)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(u, k, v)
    {
        if (k[0] != '_')
            json_object_set(o, k, v);
    }
    return o;
}

/* Function URLs point at the function or one of its aliases, never a
 * version (https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html). */
static lambda_fn_t *target_or_fail(svc_call_t *c, lambda_ref_t *r)
{
    lambda_fn_t *fn = lambda__fn_from_input(c, false, r);
    if (!fn)
        return NULL;
    r->qualifier = svc_in_str(c, "Qualifier");
    if (r->qualifier && strcmp(r->qualifier, "$LATEST") != 0 && !lambda__alias_lookup(fn, r->qualifier)) {
        svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s:%s", fn->arn, r->qualifier);
        return NULL;
    }
    return fn;
}

static const char *now_iso(svc_call_t *c)
{
    char t[64];
    kyoka_time_iso8601(kyoka_wall_ms(), t, true);
    return arena_strdup(c->arena, t);
}

/* The port of the endpoint kyoka answers on, for the URL it hands out. */
static const char *endpoint_port(svc_call_t *c)
{
    const char *colon = strrchr(c->ctx->endpoint ? c->ctx->endpoint : "", ':');
    return colon && colon[1] >= '0' && colon[1] <= '9' ? colon + 1 : "4566";
}

static bool auth_type_ok(svc_call_t *c, const char *t)
{
    if (t && (strcmp(t, "NONE") == 0 || strcmp(t, "AWS_IAM") == 0))
        return true;
    svc_error(c, "InvalidParameterValueException", 400, "The AuthType %s is not valid: use NONE or AWS_IAM.",
              t ? t : "");
    return false;
}

/* ------------------------------------------------------------ operations */

int lambda_create_function_url_config(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = target_or_fail(c, &r);
    if (!fn || !auth_type_ok(c, svc_in_str(c, "AuthType")))
        return 0;
    const char *arn = r.qualifier ? arena_sprintf(c->arena, "%s:%s", fn->arn, r.qualifier) : fn->arn;
    const char *old;
    if (url_of(st, fn->region, fn->name, r.qualifier, &old)) {
        svc_error(c, "ResourceConflictException", 409,
                  "Failed to create function url config for [functionArn = %s]. Error message:  FunctionUrlConfig "
                  "exists for this Lambda function", arn);
        return 0;
    }
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[32];
    char id[33];
    kyoka_random(raw, sizeof raw);
    for (size_t i = 0; i < 32; i++)
        id[i] = alphabet[raw[i] % (sizeof alphabet - 1)];
    id[32] = '\0';
    const char *now = now_iso(c);
    json_t *u = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "FunctionUrl",
                          arena_sprintf(c->arena, "http://%s.lambda-url.%s.localhost.localstack.cloud:%s/", id,
                                        fn->region, endpoint_port(c)),
                          "FunctionArn", arn, "AuthType", svc_in_str(c, "AuthType"), "CreationTime", now,
                          "LastModifiedTime", now, "InvokeMode", "BUFFERED", "_region", fn->region, "_name", fn->name);
    if (r.qualifier)
        json_object_set_new(u, "_qualifier", json_string(r.qualifier));
    if (svc_in(c, "Cors"))
        json_object_set(u, "Cors", svc_in(c, "Cors"));
    json_object_set_new(st->urls, id, u);
    persist(st, id);
    c->output = public_of(u);
    json_object_del(c->output, "LastModifiedTime");
    return 0;
}

static json_t *url_or_fail(svc_call_t *c, lambda_fn_t **fnp, const char **id)
{
    lambda_ref_t r;
    lambda_fn_t *fn = target_or_fail(c, &r);
    if (!fn)
        return NULL;
    json_t *u = url_of(c->state, fn->region, fn->name, r.qualifier, id);
    if (!u)
        svc_error(c, "ResourceNotFoundException", 404, "The resource you requested does not exist.");
    *fnp = fn;
    return u;
}

int lambda_get_function_url_config(svc_call_t *c)
{
    lambda_fn_t *fn;
    const char *id;
    json_t *u = url_or_fail(c, &fn, &id);
    if (u)
        c->output = public_of(u);
    return 0;
}

int lambda_update_function_url_config(svc_call_t *c)
{
    lambda_fn_t *fn;
    const char *id;
    json_t *u = url_or_fail(c, &fn, &id);
    if (!u)
        return 0;
    const char *auth = svc_in_str(c, "AuthType");
    if (auth && !auth_type_ok(c, auth))
        return 0;
    if (auth)
        json_object_set_new(u, "AuthType", json_string(auth));
    if (svc_in(c, "Cors"))
        json_object_set(u, "Cors", svc_in(c, "Cors"));
    json_object_set_new(u, "LastModifiedTime", json_string(now_iso(c)));
    persist(c->state, id);
    c->output = public_of(u);
    return 0;
}

int lambda_delete_function_url_config(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_fn_t *fn;
    const char *id;
    json_t *u = url_or_fail(c, &fn, &id);
    if (!u)
        return 0;
    char *copy = arena_strdup(c->arena, id);
    json_object_del(st->urls, copy);
    persist(st, copy);
    return 0;
}

int lambda_list_function_url_configs(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    if (!fn)
        return 0;
    json_t *items = json_array();
    const char *k;
    json_t *u;
    json_object_foreach(st->urls, k, u)
    {
        if (strcmp(json_string_value(json_object_get(u, "_region")), fn->region) == 0 &&
            strcmp(json_string_value(json_object_get(u, "_name")), fn->name) == 0)
            json_array_append_new(items, public_of(u));
    }
    c->output = json_pack("{s:o}", "FunctionUrlConfigs", items);
    return 0;
}

/* ------------------------------------------------------------ traffic */

bool lambda__url_claim(void *state, const http_request_t *req)
{
    lambda_state_t *st = state;
    strv_t id, region;
    if (!st->urls || !apigw_function_url(req, &id, &region) || id.len != 32)
        return false;
    char key[33];
    memcpy(key, id.p, 32);
    key[32] = '\0';
    return json_object_get(st->urls, key) != NULL;
}

typedef struct url_wait {
    svc_call_t *c; /* NULL once the client is gone */
    json_t *cors;  /* the URL's Cors (a reference), may be NULL */
} url_wait_t;

static void emit_header(void *data, const char *name, const char *value) { svc_raw_header(data, name, value); }

static void on_url_abort(svc_call_t *c)
{
    url_wait_t *w = c->parked;
    if (w)
        w->c = NULL;
    c->parked = NULL;
}

/* Function URLs answer in their own shape, {"Message": ...}. */
static void answer_message(svc_call_t *c, int status, const char *message)
{
    svc_raw_status(c, status);
    svc_raw_header(c, "Content-Type", "application/json");
    json_t *j = json_pack("{s:s}", "Message", message);
    char *text = proto_json_dumps(j, JSON_COMPACT);
    buf_appends(svc_raw_body(c), text ? text : "{}");
    free(text);
    json_decref(j);
}

static void on_url_invoked(void *data, const lambda_invoke_result_t *res)
{
    url_wait_t *w = data;
    svc_call_t *c = w->c;
    json_t *cors = w->cors;
    free(w);
    if (!c) {
        json_decref(cors);
        return;
    }
    c->parked = NULL;
    c->on_abort = NULL;
    apigw_v2_response_t r;
    if (res->status == LAMBDA_RUN_THROTTLED) {
        answer_message(c, 429, "Rate Exceeded.");
    } else if (res->status != LAMBDA_RUN_OK || res->function_error ||
               apigw_v2_response_map(res->payload, res->len, &r, KYOKA_APIGW_V2_MAX_PAYLOAD) != 0) {
        if (res->status == LAMBDA_RUN_OK && !res->function_error)
            apigw_v2_response_destroy(&r);
        log_warn("lambda: function URL request %s: the function failed or answered no valid response",
                 c->request_id);
        answer_message(c, 502, "Internal Server Error");
    } else {
        apigw_cors_headers(cors, c->req, false, c->arena, emit_header, c);
        svc_raw_status(c, r.status);
        const char *k;
        json_t *v;
        json_object_foreach(r.headers, k, v) svc_raw_header(c, k, json_string_value(v));
        size_t i;
        json_array_foreach(r.cookies, i, v) svc_raw_header(c, "Set-Cookie", json_string_value(v));
        buf_append(svc_raw_body(c), r.body.data, r.body.len);
        apigw_v2_response_destroy(&r);
    }
    json_decref(cors);
    svc_call_finish(c);
}

/* Authorize the request for lambda:InvokeFunctionUrl as its AuthType
 * says; false when denied (the deny is answered 403 here). */
static bool url_authorized(svc_call_t *c, json_t *u, const char *arn, json_t **authorizer)
{
    const char *auth = json_string_value(json_object_get(u, "AuthType"));
    bool iam = auth && strcmp(auth, "AWS_IAM") == 0;
    if (iam) {
        char msg[256];
        if (svc_raw_verify(c, "lambda", msg, sizeof msg) != AUTH_OK) {
            answer_message(c, 403, "Forbidden");
            return false;
        }
    }
    const char *const vals[] = {iam ? "AWS_IAM" : "NONE"};
    iam_ctx_value_t extra = {"lambda:FunctionUrlAuthType", vals, 1};
    iam_decision_t d = c->ctx->authorize(c, "lambda:InvokeFunctionUrl", arn, &extra, 1);
    if (d != IAM_ALLOW) {
        log_info("lambda: function URL request %s denied (decision %s)", c->request_id,
                 c->decision_id ? c->decision_id : "-");
        /* The deny is answered in the function URL's shape, not the
         * error AccessDenied the authorizer set. */
        memset(&c->error, 0, sizeof c->error);
        answer_message(c, 403, "Forbidden");
        return false;
    }
    if (iam)
        *authorizer = json_pack("{s:{s:s,s:s,s:s,s:n,s:s,s:s}}", "iam", "accessKey", c->cred->access_key_id,
                                "accountId", c->cred->account_id, "callerId", c->cred->user_id ? c->cred->user_id : "",
                                "principalOrgId", "userArn", c->cred->principal_arn, "userId",
                                c->cred->user_id ? c->cred->user_id : "");
    return true;
}

int lambda__url_serve(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    strv_t idv, regionv;
    if (!apigw_function_url(c->req, &idv, &regionv))
        return answer_message(c, 404, "Not Found"), 0;
    char *id = arena_sprintf(c->arena, "%.*s", (int)idv.len, idv.p);
    json_t *u = json_object_get(st->urls, id);
    lambda_fn_t *fn = u ? lambda__fn_lookup(st, json_string_value(json_object_get(u, "_region")),
                                            json_string_value(json_object_get(u, "_name")))
                        : NULL;
    if (!fn)
        return answer_message(c, 404, "Not Found"), 0;
    if (c->req->body.len > KYOKA_LAMBDA_MAX_SYNC_PAYLOAD)
        return answer_message(c, 413, "Request Entity Too Large"), 0;
    /* Lambda answers a preflight from the URL's Cors before any auth
     * (browsers send preflights unsigned). */
    json_t *cors = json_object_get(u, "Cors");
    if (apigw_cors_is_preflight(cors, c->req)) {
        apigw_cors_headers(cors, c->req, true, c->arena, emit_header, c);
        svc_raw_status(c, 200);
        return 0;
    }
    const char *qualifier = json_string_value(json_object_get(u, "_qualifier"));
    json_t *authorizer = NULL;
    if (!url_authorized(c, u, json_string_value(json_object_get(u, "FunctionArn")), &authorizer))
        return 0;
    strv_t host = http_request_header(c->req, "host");
    const char *colon = host.p ? memchr(host.p, ':', host.len) : NULL;
    apigw_v2_request_t r = {
        .req = c->req,
        .route_key = "$default",
        .raw_path = c->req->path,
        .stage = "$default",
        .api_id = id,
        .account_id = c->ctx->account_id,
        .domain_name = arena_sprintf(c->arena, "%.*s", (int)(colon ? (size_t)(colon - host.p) : host.len),
                                     host.p ? host.p : ""),
        .authorizer = authorizer,
        .request_id = c->request_id,
        .now_ms = kyoka_wall_ms(),
    };
    json_t *ev = apigw_v2_event(&r, c->arena);
    json_decref(authorizer);
    char *payload = proto_json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    url_wait_t *w = xcalloc(1, sizeof *w);
    w->c = c;
    w->cors = json_incref(cors);
    const char *executed, *refusal;
    int rc = lambda__invoke_internal(st, fn, qualifier, c->request_id, payload, strlen(payload), on_url_invoked, w,
                                     &executed, &refusal);
    free(payload);
    if (rc != 0) {
        json_decref(w->cors);
        free(w);
        log_warn("lambda: function URL request %s not run: %s", c->request_id, refusal ? refusal : "?");
        answer_message(c, rc == KYOKA_ELIMIT ? 429 : 502, rc == KYOKA_ELIMIT ? "Rate Exceeded." : "Internal Server Error");
        return 0;
    }
    c->parked = w;
    c->on_abort = on_url_abort;
    return KYOKA_EAGAIN;
}
