/*
 * The request pipeline: route -> authenticate -> decode -> validate ->
 * authorize -> handler -> encode -> wait for durability -> respond.
 * Every cross-cutting check happens here once, so a handler holds only its
 * service's semantics.
 *
 * Routing on the one port follows what clients send: the service of the
 * SigV4 credential scope, the X-Amz-Target prefix of the JSON protocols,
 * and, for unsigned requests, the query Action looked up in every model.
 *
 * A call lives on the heap, not in the request's arena, because it can
 * outlive its request: a client that disconnects while its response waits
 * for an fsync leaves the call to be freed when the fsync completes.
 */
#include "internal.h"

#include "services/s3/s3.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define DISPATCH_MAX_FORM_PARAMS 4096

typedef struct call_priv {
    kyoka_server_t *server;
    svc_slot_t *slot;
    buf_t body;
    int status;
    http_header_t headers[48]; /* S3 answers carry many header members */
    size_t nheaders;
    bool waiting_durable;
    bool aborted;
    const char *opname; /* as requested, for the log even when unknown */
    auth_request_t auth; /* the request as SigV4 sees it, built once */
    iam_policy_set_t identity; /* the caller's policies, resolved on first authorize */
    bool identity_ready;
    /* Internal calls (ctx->call): their own arena, who to tell, and the
     * service principal's aws:SourceArn / aws:SourceAccount. */
    arena_t own_arena;
    svc_call_done_fn done;
    void *done_data;
    iam_ctx_value_t extra[2];
    const char *extra_vals[2];
    size_t nextra;
    uint64_t start_us;
    /* S3 (REST-XML): the path in path style, and bytes (stream.c). */
    strv_t s3path;
    kyoka_spool_t *spool;     /* SVC_OP_STREAM_IN: the body being spooled */
    kyoka_send_t *send;       /* a file-backed response being sent */
    int send_fd;              /* body_out's file, opened after the handler */
    auth_result_t *auth_res;  /* kept for aws-chunked signatures */
    svc_body_in_t body_in;
    bool streamed;            /* the call was started at on_headers */
    bool s3_preflight;        /* an OPTIONS request: answered from CORS rules */
    bool raw;                 /* a service's own traffic (svc_def_t.http_serve) */
} call_priv_t;

/* S3's parts of the pipeline, at the end of this file. */
typedef struct auth_error_map auth_error_map_t;
static svc_slot_t *route_s3(kyoka_server_t *s, svc_call_t *c, const char *scope, strv_t *opname);
static auth_error_map_t s3_auth_error_for(auth_status_t st);
static bool decode_rest_xml(svc_call_t *c);
static int encode_rest_xml(svc_call_t *c);
static void open_body_out(svc_call_t *c);
static void send_file_response(svc_call_t *c);
static void s3_call_free(svc_call_t *c);
static void s3_body_complete(svc_call_t *c);
static void s3_preflight(kyoka_server_t *s, svc_call_t *c);

/* The request as SigV4 sees it: routing peeks at its credential scope and
 * authentication verifies it, so the header views are built once. */
static const auth_request_t *auth_view(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    http_request_t *req = c->req;
    if (!p->auth.headers) {
        auth_header_t *hs = arena_alloc(c->arena, (req->nheaders ? req->nheaders : 1) * sizeof *hs);
        for (size_t i = 0; i < req->nheaders; i++)
            hs[i] = (auth_header_t){req->headers[i].name, req->headers[i].value};
        p->auth = (auth_request_t){req->method, req->path, req->query, hs, req->nheaders, buf_view(&req->body), true, 0};
    }
    return &p->auth;
}

svc_slot_t *kyoka__service_by_name(kyoka_server_t *s, strv_t name)
{
    for (size_t i = 0; i < s->nservices; i++)
        if (strv_eq_cstr(name, s->services[i].def->name))
            return &s->services[i];
    return NULL;
}

static svc_slot_t *service_by_target(kyoka_server_t *s, strv_t target, strv_t *op)
{
    const char *dot = memchr(target.p, '.', target.len);
    if (!dot)
        return NULL;
    strv_t prefix = {target.p, (size_t)(dot - target.p)};
    *op = (strv_t){dot + 1, target.len - prefix.len - 1};
    for (size_t i = 0; i < s->nservices; i++) {
        const char *tp = s->services[i].model->target_prefix;
        if (tp && strv_eq_cstr(prefix, tp))
            return &s->services[i];
    }
    return NULL;
}

/* ---------------------------------------------------------------- responses */

static void add_header(call_priv_t *p, const char *name, const char *value)
{
    if (p->nheaders < KYOKA_ARRAY_LEN(p->headers))
        p->headers[p->nheaders++] = (http_header_t){strv_from(name), strv_from(value)};
}

static void call_free(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    s3_call_free(c);
    json_decref(c->input);
    json_decref(c->output);
    buf_destroy(&p->body);
    if (c->internal)
        arena_destroy(&p->own_arena);
    free(p);
    free(c);
}

static const char *principal_name(svc_call_t *c)
{
    return c->cred ? c->cred->principal_arn : "anonymous";
}

static void log_line(kyoka_server_t *s, const char *service, const char *op, const char *principal, int status,
                     uint64_t us, const char *error_code, const char *decision_id);
/* The decision id goes on the log line of a denial only. */
static const char *denial_id(const svc_call_t *c)
{
    return c->decision_id && c->error.code && strstr(c->error.code, "AccessDenied") ? c->decision_id : NULL;
}

static void send_response(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    http_request_t *req = c->req;
    uint64_t us = kyoka_mono_us() - req->start_us;
    log_line(p->server, c->svc ? c->svc->name : "-", c->mop ? c->mop->name : p->opname ? p->opname : "-",
             principal_name(c), p->status, us, c->error.code, denial_id(c));
    if (!c->error.code && c->body_out.set) {
        send_file_response(c);
        return;
    }
    http_respond(req, p->status, p->headers, p->nheaders, &p->body);
    call_free(c);
}

static const char *content_type(const svc_call_t *c)
{
    if (c->proto == PROTO_REST_JSON)
        return "application/json";
    if (c->proto == PROTO_REST_XML)
        return "application/xml";
    if (c->proto != PROTO_JSON)
        return "text/xml";
    const model_service_t *m = c->model;
    return m && m->json_version && strcmp(m->json_version, "1.1") == 0 ? "application/x-amz-json-1.1"
                                                                         : "application/x-amz-json-1.0";
}

/* The call's error as the body, in its protocol's shape. */
static int encode_error(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    p->status = c->error.status ? c->error.status : 400;
    if (c->proto == PROTO_REST_JSON) {
        /* The authorization step names AWS's query-style code; REST-JSON
         * services spell it as an exception. */
        if (c->error.code && strcmp(c->error.code, "AccessDenied") == 0)
            c->error.code = "AccessDeniedException";
        add_header(p, "x-amzn-ErrorType", c->error.code);
        add_header(p, "Content-Type", "application/json");
        return proto_rest_json_encode_error(&c->error, &p->body);
    }
    if (c->proto == PROTO_REST_XML) {
        add_header(p, "Content-Type", "application/xml");
        /* S3's details of an error come as the handler's output: a delete
         * marker's headers, InvalidArgument's ArgumentNameN elements. */
        if (json_is_true(json_object_get(c->output, "DeleteMarker")))
            add_header(p, "x-amz-delete-marker", "true");
        const char *vid = json_string_value(json_object_get(c->output, "VersionId"));
        if (vid && c->arena)
            add_header(p, "x-amz-version-id", arena_strdup(c->arena, vid));
        /* 304 has no body; a HEAD answer's body would be dropped anyway. */
        if (p->status == 304 || strv_eq_cstr(c->req ? c->req->method : STRV_NULL, "HEAD"))
            return 0;
        return proto_rest_xml_encode_error_details(&c->error, c->request_id, c->output, &p->body);
    }
    if (c->proto != PROTO_JSON)
        return proto_query_encode_error(c->model, &c->error, c->request_id, &p->body);
    /* JSON services spell the authorization failure as an exception, except
     * the query-compatible ones (SQS), whose JSON keeps the query code. */
    if (!c->model->query_compatible && c->error.code && strcmp(c->error.code, "AccessDenied") == 0)
        c->error.code = "AccessDeniedException";
    const char *qe = NULL;
    int rc = proto_json_encode_error(c->model, &c->error, c->arena, &p->body, &qe);
    if (qe)
        add_header(p, "x-amzn-query-error", qe);
    return rc;
}

/* REST-JSON: status, headers and body all come from the output tree. */
static int encode_rest_json(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    proto_header_t hs[8];
    size_t nh = 0;
    const char *ctype = NULL;
    int status = 200;
    int rc = proto_rest_json_encode(c->model, c->mop, c->output, c->arena, &status, hs, &nh, KYOKA_ARRAY_LEN(hs),
                                    &ctype, &p->body);
    if (rc != 0)
        return rc;
    p->status = status;
    for (size_t i = 0; i < nh; i++)
        if (p->nheaders < KYOKA_ARRAY_LEN(p->headers))
            p->headers[p->nheaders++] = (http_header_t){hs[i].name, hs[i].value};
    /* Lambda labels Invoke's raw answer as JSON: it is the function's JSON. */
    if (ctype && strcmp(ctype, "application/octet-stream") == 0)
        ctype = "application/json";
    if (ctype)
        add_header(p, "Content-Type", ctype);
    return 0;
}

static void on_durable(void *data, int status)
{
    svc_call_t *c = data;
    call_priv_t *p = c->_priv;
    p->waiting_durable = false;
    if (p->aborted) {
        call_free(c);
        return;
    }
    if (status != 0) {
        /* The commit failed: nothing of this request is stored, so it must
         * not be acknowledged. */
        buf_reset(&p->body);
        c->error = (aws_error_t){.code = "InternalFailure", .status = 500};
        snprintf(c->error.message, sizeof c->error.message,
                 "kyoka could not make the change durable (store error); nothing was changed, retry the request");
        if (encode_error(c) != 0)
            buf_reset(&p->body);
    }
    send_response(c);
}

static const char *principal_label(const svc_call_t *c)
{
    return c->cred ? c->cred->principal_arn : c->principal.service ? c->principal.service : "anonymous";
}

/* An internal call answers its caller, not a socket, once what it wrote is
 * durable (a destination's SendMessage must be as safe as a client's). */
static void on_internal_durable(void *data, int status)
{
    svc_call_t *c = data;
    call_priv_t *p = c->_priv;
    if (status != 0 && !c->error.code)
        svc_error(c, "InternalFailure", 500, "kyoka could not make the change durable (store error)");
    log_line(p->server, c->svc ? c->svc->name : "-", c->mop ? c->mop->name : p->opname ? p->opname : "-",
             principal_label(c), c->error.code ? (c->error.status ? c->error.status : 400) : 200,
             kyoka_mono_us() - p->start_us, c->error.code, denial_id(c));
    if (p->done)
        p->done(p->done_data, c);
    call_free(c);
}

static void finish_raw(svc_call_t *c);

/* Encode output or error in the call's protocol, then respond once the
 * store says everything the call saw or wrote is durable. */
static void finish_call(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    c->finished = true;
    c->on_abort = NULL;
    if (c->internal) {
        p->waiting_durable = true;
        store_when_durable(p->server->ctx.store, on_internal_durable, c);
        return;
    }
    if (p->raw) {
        finish_raw(c);
        return;
    }
    add_header(p, "x-amzn-RequestId", c->request_id);
    if (c->decision_id)
        add_header(p, "x-kyoka-decision-id", c->decision_id);
    if (c->proto != PROTO_REST_JSON && c->proto != PROTO_REST_XML)
        add_header(p, "Content-Type", content_type(c));
    int rc;
    if (c->error.code) {
        rc = encode_error(c);
    } else if (c->proto == PROTO_REST_JSON) {
        rc = encode_rest_json(c);
    } else if (c->proto == PROTO_REST_XML) {
        rc = encode_rest_xml(c);
    } else {
        p->status = 200;
        rc = c->proto == PROTO_JSON ? proto_json_encode(c->output, &p->body)
                                    : proto_query_encode(c->model, c->mop, c->output, c->request_id, &p->body);
    }
    if (rc != 0) {
        buf_reset(&p->body);
        buf_appends(&p->body, "response too large");
        p->status = 500;
    }
    /* The body holds the answer now. A commit group can hold hundreds of
     * calls waiting for one fsync; freeing their trees here, not when the
     * response leaves, keeps the allocator's memory hot in cache. */
    json_decref(c->input);
    json_decref(c->output);
    c->input = c->output = NULL;
    p->waiting_durable = true;
    store_when_durable(p->server->ctx.store, on_durable, c);
}

void kyoka__call_finish(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    if (c->finished || p->aborted)
        return;
    finish_call(c);
}

/* ---------------------------------------------------------------- auth */

struct auth_error_map {
    const char *query_code, *json_code;
    int status;
};

static auth_error_map_t auth_error_for(auth_status_t st)
{
    switch (st) {
    case AUTH_ANONYMOUS:
    case AUTH_MISSING_TOKEN:
        return (auth_error_map_t){"MissingAuthenticationToken", "MissingAuthenticationTokenException", 403};
    case AUTH_INCOMPLETE_SIGNATURE:
    case AUTH_UNSUPPORTED_ALGORITHM:
        return (auth_error_map_t){"IncompleteSignature", "IncompleteSignatureException", 400};
    case AUTH_UNKNOWN_KEY:
    case AUTH_TOKEN_INVALID:
    case AUTH_KEY_INACTIVE:
        return (auth_error_map_t){"InvalidClientTokenId", "UnrecognizedClientException", 403};
    case AUTH_SIGNATURE_MISMATCH:
    case AUTH_CONTENT_SHA_MISMATCH:
        return (auth_error_map_t){"SignatureDoesNotMatch", "InvalidSignatureException", 403};
    case AUTH_REQUEST_EXPIRED:
    case AUTH_PRESIGN_EXPIRED:
        return (auth_error_map_t){"SignatureDoesNotMatch", "InvalidSignatureException", 403};
    case AUTH_TOKEN_EXPIRED:
        return (auth_error_map_t){"ExpiredToken", "ExpiredTokenException", 403};
    default:
        return (auth_error_map_t){"AccessDenied", "AccessDeniedException", 403};
    }
}

static bool authenticate(svc_call_t *c, auth_result_t *res)
{
    call_priv_t *p = c->_priv;
    kyoka_server_t *s = p->server;
    int64_t now = kyoka_clock_now_ms();
    auth_request_t ar = *auth_view(c);
    ar.wall_ms = kyoka_wall_ms();
    auth_sigv4_verify(s->ctx.creds, &ar, now, res);
    if (res->status == AUTH_OK) {
        c->cred = res->cred;
        if (res->region[0])
            c->region = arena_strdup(c->arena, res->region);
        return true;
    }
    if (s->cfg.auth_open) {
        c->cred = s->root;
        if (res->region[0])
            c->region = arena_strdup(c->arena, res->region);
        return true;
    }
    auth_error_map_t m = auth_error_for(res->status);
    if (c->proto == PROTO_REST_XML)
        m = s3_auth_error_for(res->status);
    const char *code = c->proto == PROTO_JSON || c->proto == PROTO_REST_JSON ? m.json_code : m.query_code;
    const char *msg = res->message[0] ? res->message
                                      : res->status == AUTH_ANONYMOUS ? "Request is missing Authentication Token"
                                                                      : "Access denied";
    svc_error(c, code, m.status, "%s", msg);
    return false;
}

/* ---------------------------------------------------------------- authorize */

/* The caller as IAM sees it, from the verified credential alone. */
static void describe_principal(svc_call_t *c) { kyoka__principal_of(c->cred, &c->principal); }

void kyoka__principal_of(const auth_cred_t *cred, iam_principal_t *pr)
{
    pr->arn = cred->principal_arn;
    pr->account = cred->account_id;
    pr->user_id = cred->user_id;
    pr->is_root = cred->type == AUTH_PRINCIPAL_ROOT;
    pr->type = pr->is_root ? "Account"
               : cred->type == AUTH_PRINCIPAL_USER ? "User"
               : cred->type == AUTH_PRINCIPAL_ASSUMED_ROLE ? "AssumedRole"
               : cred->type == AUTH_PRINCIPAL_FEDERATED_USER ? "FederatedUser"
                                                             : "AWS";
    pr->role_arn = cred->source_arn;
}

/* The caller's identity policies (and the principal's tags and name), from
 * the IAM service, resolved once per call however many actions the handler
 * authorizes (batch entries, service-to-service checks). */
static const iam_policy_set_t *identity_of(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    if (!p->identity_ready) {
        memset(&p->identity, 0, sizeof p->identity);
        kyoka_ctx_t *ctx = c->ctx;
        if (c->cred && !c->principal.is_root && ctx->identity_for)
            ctx->identity_for(ctx->iam_state, c->cred, c->arena, &c->principal, &p->identity);
        p->identity_ready = true;
    }
    return &p->identity;
}

static const char *deny_message(svc_call_t *c, const char *action, const char *resource, iam_decision_t d,
                                const iam_explain_t *ex)
{
    const char *why;
    if (d == IAM_EXPLICIT_DENY) {
        /* Name the kind of policy whose Deny decided. */
        why = "with an explicit deny in an identity-based policy";
        for (size_t i = 0; i < ex->nmatches; i++) {
            if (!ex->matches[i].effect_allow) {
                const char *kind = ex->matches[i].policy_kind;
                why = strcmp(kind, "resource") == 0   ? "with an explicit deny in a resource-based policy"
                      : strcmp(kind, "boundary") == 0 ? "with an explicit deny in a permissions boundary"
                      : strcmp(kind, "session") == 0  ? "with an explicit deny in a session policy"
                                                      : "with an explicit deny in an identity-based policy";
                break;
            }
        }
    } else if (c->principal.is_root) {
        why = "because no resource-based policy allows the action";
    } else {
        why = arena_sprintf(c->arena, "because no identity-based policy allows the %s action", action);
    }
    /* A service principal has no ARN: AWS names the service. */
    const char *who = c->principal.arn ? c->principal.arn
                      : c->principal.service ? c->principal.service
                                             : "anonymous";
    return arena_sprintf(c->arena, "User: %s is not authorized to perform: %s on resource: %s %s", who, action,
                         resource, why);
}

iam_decision_t kyoka__authorize(svc_call_t *c, const char *action, const char *resource,
                               const iam_ctx_value_t *extra, size_t nextra)
{
    call_priv_t *p = c->_priv;
    svc_slot_t *slot = p->slot;
    iam_policy_set_t set = *identity_of(c);
    iam_named_policy_t rp;
    const char *owner = NULL;
    if (slot->def->resource_policy) {
        const iam_policy_t *pol = slot->def->resource_policy(slot->state, resource, &owner);
        if (pol) {
            rp = (iam_named_policy_t){arena_sprintf(c->arena, "resource:%s", resource), pol};
            set.resource = &rp;
        }
    }
    iam_request_t r = {
        .action = action,
        .resource = resource,
        .resource_account = owner ? owner : c->ctx->account_id,
        .principal = &c->principal,
        .context = extra,
        .ncontext = nextra,
        .source_ip = c->req ? c->req->remote_addr : NULL,
        .secure_transport = false,
        .region = c->region,
        .now_ms = kyoka_clock_now_ms(),
    };
    iam_explain_t ex;
    iam_decision_t d = iam_evaluate(&r, &set, &ex);
    c->decision_id = arena_strdup(c->arena, iam_decision_log_add(&r, &ex));
    if (d != IAM_ALLOW)
        svc_error(c, "AccessDenied", 403, "%s",
                  deny_message(c, action, resource, d, &ex));
    return d;
}

/* ---------------------------------------------------------------- decode */

static bool decode_query(svc_call_t *c, form_param_t *params, int n)
{
    aws_error_t *err = &c->error;
    c->input = proto_query_decode(c->model, c->mop, params, (size_t)n, err);
    if (!c->input && !err->code)
        svc_error(c, "InternalFailure", 500, "could not decode the request");
    return c->input != NULL && !err->code;
}

static bool decode_json(svc_call_t *c)
{
    strv_t body = buf_view(&c->req->body);
    /* The Java SDK speaks CBOR to Kinesis by default; kyoka speaks the JSON
     * encoding every SDK can be switched to. */
    strv_t ctype = http_request_header(c->req, "content-type");
    if (ctype.p && strv_starts_with(ctype, "application/x-amz-cbor")) {
        svc_error(c, "SerializationException", 400,
                  "kyoka reads the JSON encoding only, not CBOR: set AWS_CBOR_DISABLE=true (or the SDK's "
                  "cbor-disabled option) and send application/x-amz-json-1.1");
        return false;
    }
    if (body.len == 0) {
        c->input = json_object();
        return true;
    }
    json_error_t jerr;
    c->input = json_loadb(body.p, body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!c->input || !json_is_object(c->input)) {
        json_decref(c->input);
        c->input = NULL;
        svc_error(c, "SerializationException", 400, "Unable to parse the request body as JSON: %s", jerr.text);
        return false;
    }
    return true;
}

static bool decode_rest_json(svc_call_t *c)
{
    http_request_t *req = c->req;
    proto_header_t *hs = arena_alloc(c->arena, (req->nheaders ? req->nheaders : 1) * sizeof *hs);
    for (size_t i = 0; i < req->nheaders; i++)
        hs[i] = (proto_header_t){req->headers[i].name, req->headers[i].value};
    c->input = proto_rest_json_decode(c->model, c->mop, req->path, req->query, hs, req->nheaders,
                                      buf_view(&req->body), c->arena, &c->error);
    if (!c->input && !c->error.code)
        svc_error(c, "InternalFailure", 500, "could not decode the request");
    return c->input != NULL && !c->error.code;
}

/* A REST service whose URI templates match the request: the one the
 * credential scope names first, else any (unsigned requests). */
static svc_slot_t *route_rest(kyoka_server_t *s, svc_call_t *c, const char *scope, strv_t *opname)
{
    http_request_t *req = c->req;
    /* ---- undated REST-JSON paths (EventBridge Scheduler's /schedules/...):
     * a path that does not start with a date (Lambda's /2015-03-31/...)
     * belongs to a REST-JSON service only when the SigV4 scope names that
     * service; unsigned or other-scoped requests fall through as before. */
    bool dated = req->path.len >= 2 && req->path.p[1] >= '0' && req->path.p[1] <= '9';
    if (!dated && !scope[0])
        return NULL;
    /* ---- end undated REST-JSON paths */
    /* Two REST-JSON services may share a signing name (API Gateway's
     * apigateway and apigatewayv2 both sign as "apigateway"), so the
     * unknown-operation answer waits until every one has been asked. */
    svc_slot_t *scoped = NULL;
    for (size_t i = 0; i < s->nservices; i++) {
        const model_service_t *m = s->services[i].model;
        if (m->kind != PROTO_REST_JSON)
            continue;
        if (scope[0] && m->signing_name && strcmp(scope, m->signing_name) != 0)
            continue;
        if (!dated && (!m->signing_name || strcmp(scope, m->signing_name) != 0))
            continue; /* undated paths: only the scope's own service */
        const model_op_t *op = proto_rest_match(m, req->method, req->path, req->query);
        c->proto = PROTO_REST_JSON;
        if (op) {
            *opname = strv_from(op->name);
            return &s->services[i];
        }
        if (scope[0] && !scoped)
            scoped = &s->services[i];
    }
    if (scoped) {
        /* The service is right, the path is not one of its operations. */
        svc_error(c, "UnknownOperationException", 404, "Unknown operation %.*s %.*s", (int)req->method.len,
                  req->method.p, (int)req->path.len, req->path.p);
        return scoped;
    }
    c->proto = PROTO_NONE;
    return NULL;
}

/* ---------------------------------------------------------------- pipeline */

static const svc_op_t *find_op(const svc_def_t *def, const char *name)
{
    for (size_t i = 0; i < def->nops; i++)
        if (strcmp(def->ops[i].name, name) == 0)
            return &def->ops[i];
    return NULL;
}

static svc_call_t *call_create(kyoka_server_t *s, http_request_t *req)
{
    svc_call_t *c = xcalloc(1, sizeof *c);
    call_priv_t *p = xcalloc(1, sizeof *p);
    http_response_buffer(req, &p->body, (size_t)64 << 20);
    p->server = s;
    c->_priv = p;
    c->ctx = &s->ctx;
    c->req = req;
    c->arena = &req->arena;
    c->region = s->cfg.region;
    kyoka_uuid(c->request_id);
    req->user = c;
    return c;
}

/* Route the request to a service and operation name. */
static svc_slot_t *route(kyoka_server_t *s, svc_call_t *c, form_param_t **params, int *nparams, strv_t *opname)
{
    http_request_t *req = c->req;
    strv_t target = http_request_header(req, "x-amz-target");
    if (target.p) {
        c->proto = PROTO_JSON;
        svc_slot_t *slot = service_by_target(s, target, opname);
        if (!slot) {
            /* Not served: kyoka__respond_unserved answers in JSON. */
            char svc[64] = "", region[64];
            auth_sigv4_peek_scope(auth_view(c), svc, region);
            c->unserved = arena_strdup(c->arena, kyoka__route_unserved(req, svc));
        }
        return slot;
    }
    char scope_svc[64] = "", scope_region[64];
    auth_sigv4_peek_scope(auth_view(c), scope_svc, scope_region);
    svc_slot_t *s3 = route_s3(s, c, scope_svc, opname);
    if (s3)
        return s3;
    svc_slot_t *rest = route_rest(s, c, scope_svc, opname);
    if (rest)
        return rest;
    /* Query protocol: form body on POST, the URL's query string on GET. */
    strv_t form = strv_eq_cstr(req->method, "GET") ? req->query : buf_view(&req->body);
    int n = form_parse(c->arena, form, params, DISPATCH_MAX_FORM_PARAMS);
    if (n < 0) {
        svc_error(c, "MalformedQueryString", 400, "Too many parameters in the request");
        return NULL;
    }
    *nparams = n;
    c->proto = PROTO_QUERY;
    for (int i = 0; i < n; i++)
        if (strv_eq_cstr((*params)[i].key, "Action"))
            *opname = (*params)[i].value;
    char svc[64] = "", region[64];
    if (auth_sigv4_peek_scope(auth_view(c), svc, region)) {
        svc_slot_t *slot = kyoka__service_by_name(s, strv_from(svc));
        if (slot)
            return slot;
    }
    /* Not a service kyoka serves: answer in that service's protocol. */
    const char *unserved = opname->p ? (svc[0] ? svc : NULL) : kyoka__route_unserved(req, svc);
    if (unserved) {
        c->unserved = arena_strdup(c->arena, unserved);
        return NULL;
    }
    /* Unsigned or unknown scope: find the service whose model has the action. */
    if (opname->p) {
        for (size_t i = 0; i < s->nservices; i++)
            if (model_op_lookup(s->services[i].model, *opname))
                return &s->services[i];
    }
    return NULL;
}

static void run_handler(svc_call_t *c)
{
    store_t *st = c->ctx->store;
    bool mutating = c->op->flags & SVC_OP_MUTATING;
    if (mutating)
        store_savepoint(st);
    int rc = c->op->handler(c);
    if (c->body_out.set)
        open_body_out(c);
    if (mutating) {
        if (c->error.code)
            store_savepoint_rollback(st);
        else
            store_savepoint_release(st);
    }
    if (rc == KYOKA_EAGAIN && !c->error.code)
        return; /* parked; the handler calls svc_call_finish later */
    finish_call(c);
}

/* Validate, authorize and run an operation whose input is already a tree
 * (the steps of dispatch() after decoding). */
static void run_decoded(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    if (!proto_validate_input(c->model, c->mop, c->input, &c->error)) {
        finish_call(c);
        return;
    }
    if (!(c->op->flags & SVC_OP_NO_AUTHZ) && c->op->iam_action) {
        const char *arn = "*";
        if (c->op->resource_arn && c->op->resource_arn(c, &arn) != 0) {
            finish_call(c);
            return;
        }
        c->resource_arn = arn;
        if (kyoka__authorize(c, c->op->iam_action, arn, p->extra, p->nextra) != IAM_ALLOW) {
            finish_call(c);
            return;
        }
    }
    run_handler(c);
}

static svc_slot_t *claim_raw(kyoka_server_t *s, const http_request_t *req);
static void serve_raw(svc_call_t *c, svc_slot_t *slot);

static void dispatch(kyoka_server_t *s, svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    svc_slot_t *raw = claim_raw(s, c->req);
    if (raw) {
        serve_raw(c, raw);
        return;
    }
    form_param_t *params = NULL;
    int nparams = 0;
    strv_t opname = STRV_NULL;
    svc_slot_t *slot = route(s, c, &params, &nparams, &opname);
    if (p->s3_preflight) {
        s3_preflight(s, c);
        return;
    }
    if (opname.p)
        p->opname = arena_strndup(c->arena, opname.p, opname.len > 64 ? 64 : opname.len);
    if (!slot && c->unserved) {
        http_request_t *req = c->req;
        const char *name = c->unserved;
        req->user = NULL;
        call_free(c);
        kyoka__respond_unserved(s, req, name);
        return;
    }
    if (!slot) {
        if (!c->error.code && c->unserved)
            svc_error(c, "NotImplemented", 501,
                      "kyoka does not serve %s yet; the services it serves are listed at GET /_kyoka/health",
                      c->unserved);
        if (!c->error.code) {
            if (c->proto == PROTO_JSON)
                svc_error(c, "UnknownOperationException", 400, "The requested service is not served by kyoka.");
            else if (opname.p)
                svc_error(c, "InvalidAction", 400, "The action %.*s is not valid for this web service.",
                          (int)opname.len, opname.p);
            else
                svc_error(c, "MissingAction", 400, "The request must contain the parameter Action.");
        }
        finish_call(c);
        return;
    }
    p->slot = slot;
    c->svc = slot->def;
    c->model = slot->model;
    c->state = slot->state;
    if (c->proto == PROTO_JSON && !slot->model->target_prefix) {
        svc_error(c, "UnknownOperationException", 400, "This service does not speak the JSON protocol.");
        finish_call(c);
        return;
    }
    auth_result_t res;
    if (!authenticate(c, &res)) {
        finish_call(c);
        return;
    }
    describe_principal(c);
    if (c->error.code) {
        finish_call(c);
        return;
    }
    if (!opname.p || opname.len == 0) {
        if (c->proto == PROTO_JSON)
            svc_error(c, "UnknownOperationException", 400, "Missing operation in X-Amz-Target.");
        else
            svc_error(c, "MissingAction", 400, "The request must contain the parameter Action.");
        finish_call(c);
        return;
    }
    c->mop = model_op_lookup(slot->model, opname);
    if (!c->mop) {
        if (c->proto == PROTO_JSON)
            svc_error(c, "UnknownOperationException", 400, "The action or operation requested is invalid. Verify that the action is typed correctly.");
        else
            svc_error(c, "InvalidAction", 400, "The action %.*s is not valid for this web service.", (int)opname.len,
                      opname.p);
        finish_call(c);
        return;
    }
    c->op = find_op(slot->def, c->mop->name);
    if (!c->op) {
        svc_error(c, "NotImplemented", 501, "kyoka does not implement %s.%s yet (see docs/coverage.md).",
                  slot->def->name, c->mop->name);
        finish_call(c);
        return;
    }
    bool ok = c->proto == PROTO_JSON        ? decode_json(c)
              : c->proto == PROTO_REST_JSON ? decode_rest_json(c)
              : c->proto == PROTO_REST_XML  ? decode_rest_xml(c)
                                            : decode_query(c, params, nparams);
    if (!ok) {
        finish_call(c);
        return;
    }
    run_decoded(c);
}

static char *arena_strdup_or_null(arena_t *a, const char *s) { return s ? arena_strdup(a, s) : NULL; }

/* The caller's credential, copied: an internal call can outlive it (a
 * long poll across POST /_kyoka/reset, which drops every session). */
static const auth_cred_t *cred_copy(arena_t *a, const auth_cred_t *src)
{
    auth_cred_t *c = arena_calloc(a, sizeof *c);
    *c = *src;
    c->access_key_id = arena_strdup_or_null(a, src->access_key_id);
    c->secret_access_key = NULL; /* never needed after authentication */
    c->session_token = NULL;
    c->account_id = arena_strdup_or_null(a, src->account_id);
    c->principal_arn = arena_strdup_or_null(a, src->principal_arn);
    c->user_id = arena_strdup_or_null(a, src->user_id);
    c->source_arn = arena_strdup_or_null(a, src->source_arn);
    c->session_name = arena_strdup_or_null(a, src->session_name);
    c->owner = NULL;
    return c;
}

/* The principal of an internal call: a credential's, or a service's. */
static void internal_principal(svc_call_t *c, const svc_caller_t *who)
{
    call_priv_t *p = c->_priv;
    if (who->cred) {
        c->cred = cred_copy(c->arena, who->cred);
        kyoka__principal_of(c->cred, &c->principal);
        return;
    }
    c->principal.service = arena_strdup(c->arena, who->service_principal ? who->service_principal : "");
    c->principal.type = "Service";
    if (who->source_arn) {
        p->extra_vals[p->nextra] = arena_strdup(c->arena, who->source_arn);
        p->extra[p->nextra] = (iam_ctx_value_t){"aws:SourceArn", &p->extra_vals[p->nextra], 1};
        p->nextra++;
    }
    if (who->source_account) {
        p->extra_vals[p->nextra] = arena_strdup(c->arena, who->source_account);
        p->extra[p->nextra] = (iam_ctx_value_t){"aws:SourceAccount", &p->extra_vals[p->nextra], 1};
        p->nextra++;
    }
}

svc_call_t *kyoka__internal_create(kyoka_server_t *s, const svc_caller_t *who, const char *service,
                                   const char *operation, json_t *input, svc_call_done_fn done, void *data)
{
    svc_call_t *c = xcalloc(1, sizeof *c);
    call_priv_t *p = xcalloc(1, sizeof *p);
    buf_init(&p->body, 0);
    arena_init(&p->own_arena);
    p->server = s;
    p->done = done;
    p->done_data = data;
    p->start_us = kyoka_mono_us();
    c->_priv = p;
    c->internal = true;
    c->ctx = &s->ctx;
    c->arena = &p->own_arena;
    c->region = who->region ? arena_strdup(c->arena, who->region) : s->cfg.region;
    c->proto = PROTO_JSON;
    c->input = input ? input : json_object();
    kyoka_uuid(c->request_id);
    p->opname = arena_strdup(c->arena, operation);
    internal_principal(c, who);
    svc_slot_t *slot = kyoka__service_by_name(s, strv_from(service));
    if (slot) {
        p->slot = slot;
        c->svc = slot->def;
        c->model = slot->model;
        c->state = slot->state;
        c->mop = model_op_lookup(slot->model, strv_from(operation));
        c->op = c->mop ? find_op(slot->def, c->mop->name) : NULL;
    }
    return c;
}

void kyoka__internal_run(svc_call_t *c)
{
    if (!c->svc)
        svc_error(c, "NotImplemented", 501, "kyoka does not serve %s yet", ((call_priv_t *)c->_priv)->opname);
    else if (!c->op)
        svc_error(c, "NotImplemented", 501, "kyoka does not implement %s.%s yet (see docs/coverage.md).",
                  c->svc->name, ((call_priv_t *)c->_priv)->opname);
    if (c->error.code) {
        finish_call(c);
        return;
    }
    run_decoded(c);
}

void kyoka__internal_cancel(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    svc_error(c, "ServiceUnavailable", 503, "kyoka is shutting down");
    if (p->done)
        p->done(p->done_data, c);
    call_free(c);
}

void kyoka__on_request(http_request_t *req, void *ctx)
{
    kyoka_server_t *s = ctx;
    s->requests++;
    if (kyoka__is_admin(req)) {
        req->user = NULL;
        kyoka__admin(s, req);
        return;
    }
    if (req->user) {
        /* Started at on_headers: its body has arrived. */
        s3_body_complete(req->user);
        return;
    }
    svc_call_t *c = call_create(s, req);
    dispatch(s, c);
}

void kyoka__on_abort(http_request_t *req, void *ctx)
{
    svc_call_t *c = req->user;
    if (!c)
        return;
    call_priv_t *p = c->_priv;
    if (p->send) {
        /* Gone while its file was being sent: the call is done already. */
        kyoka__send_abort(p->send);
        p->send = NULL;
        req->user = NULL;
        c->req = NULL;
        call_free(c);
        return;
    }
    if (c->on_abort)
        c->on_abort(c);
    c->on_abort = NULL;
    p->aborted = true;
    /* The request and its arena go away after we return. */
    c->req = NULL;
    c->arena = NULL;
    if (!p->waiting_durable)
        call_free(c);
}

/* ---------------------------------------------------------------- S3 (REST-XML and bytes) */

/* S3 by credential scope or by shape (router.c); the operation from the
 * path-style path, the query and the headers that tell S3's shared routes
 * apart. */
static svc_slot_t *route_s3(kyoka_server_t *s, svc_call_t *c, const char *scope, strv_t *opname)
{
    call_priv_t *p = c->_priv;
    http_request_t *req = c->req;
    svc_slot_t *slot = kyoka__service_by_name(s, STRV_LIT("s3"));
    if (!slot || !kyoka__route_s3(req, scope, c->arena, &p->s3path))
        return NULL;
    c->proto = PROTO_REST_XML;
    proto_header_t *hs = arena_alloc(c->arena, (req->nheaders ? req->nheaders : 1) * sizeof *hs);
    for (size_t i = 0; i < req->nheaders; i++)
        hs[i] = (proto_header_t){req->headers[i].name, req->headers[i].value};
    /* A browser's CORS preflight names no operation and carries no
     * credentials: dispatch answers it from the bucket's rules. */
    if (strv_eq_cstr(req->method, "OPTIONS")) {
        p->s3_preflight = true;
        p->slot = slot;
        return slot;
    }
    const model_op_t *op = proto_rest_xml_match(slot->model, req->method, p->s3path, req->query, hs, req->nheaders);
    if (op)
        *opname = strv_from(op->name);
    else
        svc_error(c, "MethodNotAllowed", 405, "The specified method is not allowed against this resource.");
    return slot;
}

static const char *header_cstr(svc_call_t *c, const char *name)
{
    strv_t v = http_request_header(c->req, name);
    return v.p ? arena_strndup(c->arena, v.p, v.len) : NULL;
}

static void add_cors_headers(call_priv_t *p, const s3_cors_answer_t *a)
{
    if (a->status != 200)
        return;
    add_header(p, "Access-Control-Allow-Origin", a->allow_origin);
    add_header(p, "Access-Control-Allow-Methods", a->allow_methods);
    if (a->allow_headers)
        add_header(p, "Access-Control-Allow-Headers", a->allow_headers);
    if (a->expose_headers)
        add_header(p, "Access-Control-Expose-Headers", a->expose_headers);
    if (a->max_age)
        add_header(p, "Access-Control-Max-Age", a->max_age);
    if (a->credentials)
        add_header(p, "Access-Control-Allow-Credentials", "true");
    if (a->vary)
        add_header(p, "Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

/* OPTIONS /bucket[/key]: the CORS preflight, answered without
 * authentication (https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html). */
static void s3_preflight(kyoka_server_t *s, svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    http_request_t *req = c->req;
    c->svc = p->slot->def;
    c->model = p->slot->model;
    c->state = p->slot->state;
    p->opname = "PreflightRequest";
    strv_t path = p->s3path;
    const char *b = path.len > 1 ? path.p + 1 : "";
    size_t bl = path.len > 1 ? path.len - 1 : 0;
    const char *slash = memchr(b, '/', bl);
    const char *bucket = arena_strndup(c->arena, b, slash ? (size_t)(slash - b) : bl);
    s3_cors_answer_t a;
    s3_cors_preflight(c->state, c->arena, bucket, header_cstr(c, "origin"),
                      header_cstr(c, "access-control-request-method"), header_cstr(c, "access-control-request-headers"),
                      &a);
    add_header(p, "x-amzn-RequestId", c->request_id);
    if (a.status == 200) {
        add_cors_headers(p, &a);
        p->status = 200;
    } else {
        svc_error(c, a.code, a.status, "%s", a.message);
        if (encode_error(c) != 0)
            buf_reset(&p->body);
    }
    log_line(s, "s3", "PreflightRequest", "anonymous", p->status, kyoka_mono_us() - req->start_us, c->error.code,
             NULL);
    http_respond(req, p->status, p->headers, p->nheaders, &p->body);
    call_free(c);
}

/* S3 spells authentication failures its own way. */
static auth_error_map_t s3_auth_error_for(auth_status_t st)
{
    switch (st) {
    case AUTH_ANONYMOUS:
    case AUTH_MISSING_TOKEN: return (auth_error_map_t){"AccessDenied", NULL, 403};
    case AUTH_INCOMPLETE_SIGNATURE: return (auth_error_map_t){"AuthorizationHeaderMalformed", NULL, 400};
    case AUTH_UNSUPPORTED_ALGORITHM: return (auth_error_map_t){"InvalidRequest", NULL, 400};
    case AUTH_UNKNOWN_KEY:
    case AUTH_KEY_INACTIVE: return (auth_error_map_t){"InvalidAccessKeyId", NULL, 403};
    case AUTH_TOKEN_INVALID: return (auth_error_map_t){"InvalidToken", NULL, 400};
    case AUTH_SIGNATURE_MISMATCH: return (auth_error_map_t){"SignatureDoesNotMatch", NULL, 403};
    case AUTH_CONTENT_SHA_MISMATCH: return (auth_error_map_t){"XAmzContentSHA256Mismatch", NULL, 400};
    case AUTH_REQUEST_EXPIRED: return (auth_error_map_t){"RequestTimeTooSkewed", NULL, 403};
    case AUTH_PRESIGN_EXPIRED: return (auth_error_map_t){"AccessDenied", NULL, 403};
    case AUTH_TOKEN_EXPIRED: return (auth_error_map_t){"ExpiredToken", NULL, 400};
    default: return (auth_error_map_t){"AccessDenied", NULL, 403};
    }
}

static bool decode_rest_xml(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    http_request_t *req = c->req;
    proto_header_t *hs = arena_alloc(c->arena, (req->nheaders ? req->nheaders : 1) * sizeof *hs);
    for (size_t i = 0; i < req->nheaders; i++)
        hs[i] = (proto_header_t){req->headers[i].name, req->headers[i].value};
    /* A streamed body is not the tree's: it is spooled (stream.c). */
    strv_t body = (c->op->flags & SVC_OP_STREAM_IN) ? (strv_t){"", 0} : buf_view(&req->body);
    c->input = proto_rest_xml_decode(c->model, c->mop, p->s3path, req->query, hs, req->nheaders, body, c->arena,
                                     &c->error);
    if (!c->input && !c->error.code)
        svc_error(c, "InternalError", 500, "could not decode the request");
    return c->input != NULL && !c->error.code;
}

static int encode_rest_xml(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    proto_header_t hs[48];
    size_t nh = 0;
    const char *ctype = NULL;
    int status = 200;
    int rc = proto_rest_xml_encode(c->model, c->mop, c->output, c->arena, &status, hs, &nh, KYOKA_ARRAY_LEN(hs),
                                   &ctype, &p->body);
    if (rc != 0)
        return rc;
    p->status = c->body_out.set && c->body_out.status ? c->body_out.status : status;
    for (size_t i = 0; i < nh; i++)
        add_header(p, arena_strndup(c->arena, hs[i].name.p, hs[i].name.len),
                   arena_strndup(c->arena, hs[i].value.p, hs[i].value.len));
    /* An actual cross-origin request gets the matching CORS rule's headers. */
    const char *origin = c->req ? header_cstr(c, "origin") : NULL;
    if (origin && svc_in_str(c, "Bucket")) {
        s3_cors_answer_t a;
        const char *method = arena_strndup(c->arena, c->req->method.p, c->req->method.len);
        s3_cors_actual(c->state, c->arena, svc_in_str(c, "Bucket"), origin, method, &a);
        add_cors_headers(p, &a);
    }
    bool has_ctype = false;
    for (size_t i = 0; i < p->nheaders; i++)
        has_ctype |= strv_caseeq_cstr(p->headers[i].name, "Content-Type");
    if (ctype && !has_ctype)
        add_header(p, "Content-Type", ctype);
    return 0;
}

/* The handler answered with a file: open it before anything else runs, so
 * a DeleteObject right behind cannot take the bytes away. */
static void open_body_out(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    p->send_fd = -1;
    if (c->error.code || !c->body_out.path)
        return;
    p->send_fd = open(c->body_out.path, O_RDONLY | O_CLOEXEC);
    if (p->send_fd < 0) {
        log_error("s3: cannot open %s: %s", c->body_out.path, strerror(errno));
        c->body_out.set = false;
        svc_error(c, "InternalError", 500, "kyoka could not read the object's bytes");
    }
}

static void on_file_sent(void *data)
{
    svc_call_t *c = data;
    call_priv_t *p = c->_priv;
    p->send = NULL;
    if (c->req)
        c->req->user = NULL;
    call_free(c);
}

static void send_file_response(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    int fd = p->send_fd;
    p->send_fd = -1;
    p->send = kyoka__send_file(p->server->loop, c->req, p->status, p->headers, p->nheaders, fd,
                               c->body_out.offset, c->body_out.length, on_file_sent, c);
    if (!p->send) {
        c->req->user = NULL;
        call_free(c);
    }
}

static void s3_call_free(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    kyoka__spool_free(p->spool);
    p->spool = NULL;
    if (c->body_in) {
        /* What the handler did not take. */
        unlink(c->body_in->path);
        if (c->svc && c->svc->digest_free)
            c->svc->digest_free(c->body_in->digest);
        c->body_in = NULL;
    } else if (p->body_in.digest && c->svc && c->svc->digest_free) {
        c->svc->digest_free(p->body_in.digest);
    }
    p->body_in.digest = NULL;
    if (p->send_fd > 0)
        close(p->send_fd);
    free(p->auth_res);
}

/* Headers complete. A streamed operation (PutObject, UploadPart) goes
 * through route, authentication, decoding, validation and authorization
 * now; its body then streams into a spool file. Everything else is
 * buffered and dispatched whole at on_request, as before. */
int kyoka__on_headers(http_request_t *req, void *ctx)
{
    kyoka_server_t *s = ctx;
    if (!strv_eq_cstr(req->method, "PUT") || kyoka__is_admin(req) || claim_raw(s, req))
        return HTTP_BODY_BUFFER;
    svc_call_t *c = call_create(s, req);
    call_priv_t *p = c->_priv;
    p->send_fd = -1;
    char scope[64] = "", region[64];
    auth_sigv4_peek_scope(auth_view(c), scope, region);
    strv_t opname = STRV_NULL;
    svc_slot_t *slot = route_s3(s, c, scope, &opname);
    const svc_op_t *op = NULL;
    if (slot && opname.p) {
        const model_op_t *mop = model_op_lookup(slot->model, opname);
        op = mop ? find_op(slot->def, mop->name) : NULL;
    }
    if (!op || !(op->flags & SVC_OP_STREAM_IN) || c->error.code) {
        req->user = NULL;
        call_free(c);
        return HTTP_BODY_BUFFER;
    }
    p->streamed = true;
    p->opname = arena_strndup(c->arena, opname.p, opname.len);
    p->slot = slot;
    c->svc = slot->def;
    c->model = slot->model;
    c->state = slot->state;
    c->mop = model_op_lookup(slot->model, opname);
    c->op = op;
    p->auth.has_body = false; /* the payload hash is checked as the body streams */
    p->auth_res = xcalloc(1, sizeof *p->auth_res);
    if (!authenticate(c, p->auth_res))
        return HTTP_BODY_STREAM; /* answered at on_request; the body is dropped */
    describe_principal(c);
    if (!decode_rest_xml(c) || !proto_validate_input(c->model, c->mop, c->input, &c->error))
        return HTTP_BODY_STREAM;
    if (!(c->op->flags & SVC_OP_NO_AUTHZ) && c->op->iam_action) {
        const char *arn = "*";
        if (c->op->resource_arn && c->op->resource_arn(c, &arn) != 0)
            return HTTP_BODY_STREAM;
        c->resource_arn = arn;
        if (kyoka__authorize(c, c->op->iam_action, arn, p->extra, p->nextra) != IAM_ALLOW)
            return HTTP_BODY_STREAM;
    }
    const char *dir = c->svc->spool_dir ? c->svc->spool_dir(c->state) : NULL;
    if (!dir) {
        svc_error(c, "InternalError", 500, "the service has no spool directory");
        return HTTP_BODY_STREAM;
    }
    p->body_in.digest = c->svc->digest_start ? c->svc->digest_start(c) : NULL;
    uint64_t max = c->svc->stream_max ? c->svc->stream_max(c) : 0;
    const char *code = NULL;
    int status = 0;
    char msg[256];
    p->spool = kyoka__spool_create(s->loop, req, dir, max, p->auth_res, c->svc->digest_update, p->body_in.digest,
                                   &code, &status, msg, sizeof msg);
    if (!p->spool && !c->error.code) {
        if (code && strcmp(code, "EntityTooLarge") == 0)
            svc_error(c, code, status, "%s", msg);
        else
            svc_error(c, code ? code : "InternalError", status ? status : 500, "%s", msg);
    }
    return HTTP_BODY_STREAM;
}

int kyoka__on_body(http_request_t *req, const char *at, size_t n, void *ctx)
{
    (void)ctx;
    svc_call_t *c = req->user;
    call_priv_t *p = c ? c->_priv : NULL;
    if (p && p->spool && !c->error.code)
        kyoka__spool_feed(p->spool, at, n);
    return 0;
}

static void on_spooled(void *data, kyoka_spool_t *sp)
{
    svc_call_t *c = data;
    call_priv_t *p = c->_priv;
    int status;
    const char *msg;
    const char *code = kyoka__spool_error(sp, &status, &msg);
    if (code) {
        svc_error(c, code, status, "%s", msg);
        kyoka__spool_free(sp);
        p->spool = NULL;
        finish_call(c);
        return;
    }
    p->body_in.path = arena_strdup(c->arena, kyoka__spool_path(sp));
    p->body_in.size = kyoka__spool_size(sp);
    c->body_in = &p->body_in;
    kyoka__spool_free(sp);
    p->spool = NULL;
    run_handler(c);
}

static void s3_body_complete(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    if (c->error.code || !p->spool) {
        finish_call(c);
        return;
    }
    kyoka__spool_finish(p->spool, on_spooled, c);
}

/* ---------------------------------------------------------------- request log */

/* One line per request. Time is real time, the base of the info lines too;
 * when the server clock has been moved (kyoka clock advance) its offset is
 * shown, so both clocks can be read off the line. A denial carries its
 * decision id, for `kyoka iam explain`. */
static void log_line(kyoka_server_t *s, const char *service, const char *op, const char *principal, int status,
                     uint64_t us, const char *error_code, const char *decision_id)
{
    if (!s->cfg.log_requests)
        return;
    char ts[64], extra[96] = "";
    kyoka_time_iso8601(kyoka_wall_ms(), ts, true);
    int64_t off = kyoka_clock_offset_ms();
    /* Lines are batched and written once per loop turn: a write(2) per
     * request would cost more than the request. */
    if (s->cfg.log_json) {
        size_t n = 0;
        if (decision_id)
            n += (size_t)snprintf(extra, sizeof extra, ",\"decision\":\"%s\"", decision_id);
        if (off)
            snprintf(extra + n, sizeof extra - n, ",\"clockOffsetMs\":%lld", (long long)off);
        buf_appendf(&s->log_buf,
                    "{\"time\":\"%s\",\"service\":\"%s\",\"operation\":\"%s\",\"principal\":\"%s\",\"status\":%d,"
                    "\"us\":%llu%s%s%s%s}\n",
                    ts, service, op, principal, status, (unsigned long long)us, error_code ? ",\"error\":\"" : "",
                    error_code ? error_code : "", error_code ? "\"" : "", extra);
    } else {
        size_t n = 0;
        if (decision_id)
            n += (size_t)snprintf(extra, sizeof extra, " decision=%s", decision_id);
        if (off)
            snprintf(extra + n, sizeof extra - n, " server-clock=%+.3fs", (double)off / 1000.0);
        buf_appendf(&s->log_buf, "%s %s %s %s %d %lluus%s%s%s\n", ts, service, op, principal, status,
                    (unsigned long long)us, error_code ? " " : "", error_code ? error_code : "", extra);
    }
    if (buf_err(&s->log_buf))
        buf_reset(&s->log_buf);
}

void kyoka__log_request(kyoka_server_t *s, const char *service, const char *op, const char *principal, int status,
                       uint64_t us, const char *error_code)
{
    log_line(s, service, op, principal, status, us, error_code, NULL);
}

/* ---------------------------------------------------------------- a service's own traffic */

/* The service whose http_claim says the request is its traffic (an API
 * Gateway invoke URL, a function URL), or NULL for an API call. */
static svc_slot_t *claim_raw(kyoka_server_t *s, const http_request_t *req)
{
    for (size_t i = 0; i < s->nservices; i++) {
        const svc_def_t *d = s->services[i].def;
        if (d->http_claim && d->http_serve && d->http_claim(s->services[i].state, req))
            return &s->services[i];
    }
    return NULL;
}

static void raw_header(svc_call_t *c, const char *name, const char *value)
{
    add_header(c->_priv, arena_strdup(c->arena, name), arena_strdup(c->arena, value ? value : ""));
}

static buf_t *raw_body(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    return &p->body;
}

static auth_status_t raw_verify(svc_call_t *c, const char *service, char *msg, size_t cap)
{
    call_priv_t *p = c->_priv;
    auth_request_t ar = *auth_view(c);
    ar.wall_ms = kyoka_wall_ms();
    auth_result_t res;
    auth_sigv4_verify(p->server->ctx.creds, &ar, kyoka_clock_now_ms(), &res);
    if (res.status == AUTH_OK && strcmp(res.service, service) != 0) {
        snprintf(msg, cap, "Credential should be scoped to correct service: '%s'.", service);
        return AUTH_SIGNATURE_MISMATCH;
    }
    if (res.status != AUTH_OK) {
        snprintf(msg, cap, "%s", res.message);
        return res.status;
    }
    c->cred = res.cred;
    if (res.region[0])
        c->region = arena_strdup(c->arena, res.region);
    describe_principal(c);
    return AUTH_OK;
}

static void serve_raw(svc_call_t *c, svc_slot_t *slot)
{
    call_priv_t *p = c->_priv;
    http_request_t *req = c->req;
    p->raw = true;
    p->slot = slot;
    c->svc = slot->def;
    c->model = slot->model;
    c->state = slot->state;
    c->proto = PROTO_REST_JSON;
    /* The log names the request, as there is no operation. */
    p->opname = arena_sprintf(c->arena, "%.*s %.*s", (int)req->method.len, req->method.p,
                              (int)(req->path.len > 96 ? 96 : req->path.len), req->path.p);
    int rc = slot->def->http_serve(c);
    if (rc == KYOKA_EAGAIN && !c->error.code)
        return; /* parked; the service calls svc_call_finish later */
    finish_call(c);
}

/* An error becomes API Gateway's shape, {"message": "..."}: the only
 * answers a raw service gives that are not its own bytes. */
static void finish_raw(svc_call_t *c)
{
    call_priv_t *p = c->_priv;
    if (c->error.code) {
        p->status = c->error.status ? c->error.status : 500;
        buf_reset(&p->body);
        json_t *j = json_pack("{s:s}", "message", c->error.long_message ? c->error.long_message : c->error.message);
        char *text = j ? proto_json_dumps(j, JSON_COMPACT) : NULL;
        buf_appends(&p->body, text ? text : "{}");
        free(text);
        json_decref(j);
        p->nheaders = 0;
        add_header(p, "Content-Type", "application/json");
    } else {
        p->status = c->raw_status ? c->raw_status : 200;
    }
    json_decref(c->input);
    json_decref(c->output);
    c->input = c->output = NULL;
    p->waiting_durable = true;
    store_when_durable(p->server->ctx.store, on_durable, c);
}

void kyoka__raw_start(kyoka_ctx_t *ctx)
{
    ctx->raw_header = raw_header;
    ctx->raw_body = raw_body;
    ctx->raw_verify = raw_verify;
}
