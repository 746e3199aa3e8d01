/*
 * The contract between the server (the front door) and every service.
 *
 * A service is an operation table plus handlers. Each row names the AWS
 * operation, its handler, the IAM action it is authorized as, and how to
 * build the resource ARN it acts on. The server does everything cross-cutting
 * before a handler runs: route, authenticate, decode (any protocol into one
 * JSON tree following the model's input shape), validate required members,
 * authorize (identity policies of the caller, plus the resource's own policy
 * from the service's resource_policy hook), then call the handler. After the
 * handler it encodes output or error in the request's protocol and holds the
 * response until the store has made the request's writes durable.
 *
 * Handlers read c->input, set c->output (or an error with svc_error) and
 * return 0. A handler that must wait (long polling) returns KYOKA_EAGAIN,
 * sets c->on_abort, and later calls svc_call_finish(c) exactly once.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_SERVICE_H
#define KYOKA_SERVICE_H

#include "auth/auth.h"
#include "core/core.h"
#include "core/limits.h"
#include "http/http.h"
#include "iam/iam.h"
#include "protocol/protocol.h"
#include "store/store.h"

#include <stdio.h>
#include <string.h>

typedef struct svc_call svc_call_t;
typedef struct svc_def svc_def_t;
typedef struct kyoka_ctx kyoka_ctx_t;

/* Who a call that kyoka makes by itself is made as: the service-to-service
 * paths (a function's destination written under its execution role, CloudWatch
 * Logs invoking a subscribed function as logs.amazonaws.com). See
 * src/pipes/pipes.h. */
typedef struct svc_caller {
    const auth_cred_t *cred;        /* a principal's credential (an execution
                                       role's session), or NULL for a service */
    const char *service_principal;  /* "logs.amazonaws.com" when cred is NULL */
    const char *source_arn;         /* aws:SourceArn of a service's call */
    const char *source_account;     /* aws:SourceAccount */
    const char *region;             /* the region called (NULL: the default) */
} svc_caller_t;

/* An internal call has finished: c->output or c->error, c->decision_id.
 * The call is freed when this returns. */
typedef void (*svc_call_done_fn)(void *data, const svc_call_t *c);

/* Everything a service may use from the running server. */
struct kyoka_ctx {
    uv_loop_t *loop;
    store_t *store;
    auth_store_t *creds;
    const char *account_id;  /* the account kyoka serves: "000000000000" */
    const char *region;      /* default region: "us-east-1" */
    const char *endpoint;    /* "http://localhost:4566": base for queue URLs */
    const char *data_dir;    /* durable state's directory, NULL when ephemeral */
    /* Finish a parked call (see svc_call_finish). */
    void (*finish)(svc_call_t *c);
    /* Authorize an extra action/resource for the call's principal (batch
     * entries, service-to-service paths). Returns the decision and, on
     * deny, sets AccessDenied on the call. */
    iam_decision_t (*authorize)(svc_call_t *c, const char *action, const char *resource,
                                const iam_ctx_value_t *extra, size_t nextra);
    /* Set by the IAM service: fill the identity side of a policy set and the
     * principal description for a credential. NULL until IAM is present,
     * which makes every non-root principal policy-less. */
    void *iam_state;
    void (*identity_for)(void *iam_state, const auth_cred_t *cred, arena_t *a,
                         iam_principal_t *principal, iam_policy_set_t *set);
    /* Services by name, for service-to-service lookups (resource policies
     * of another service). */
    void *(*service_state)(kyoka_ctx_t *ctx, const char *name);
    /* Run service.operation with input (taken) as who, through the same
     * decode-free pipeline as a request: validation, authorization (the
     * caller's identity policies and the resource's policy), the handler,
     * durability. done runs on a later loop turn, never inside call. */
    void (*call)(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *service, const char *operation,
                 json_t *input, svc_call_done_fn done, void *data);
    /* Decide action on resource for who without running anything (checks
     * made when a configuration names a destination). With decision_id the
     * decision goes to the decision log and *decision_id names it. */
    iam_decision_t (*decide)(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *service, const char *action,
                             const char *resource, const char **decision_id);
    /* http_serve's answer (see svc_def_t.http_claim): a response header
     * (copied), and the body buffer to write into. */
    void (*raw_header)(svc_call_t *c, const char *name, const char *value);
    buf_t *(*raw_body)(svc_call_t *c);
    /* Verify the SigV4 signature of an http_serve request signed for
     * service ("execute-api", "lambda"). AUTH_OK sets c->cred, c->principal
     * and c->region, after which ctx->authorize works as for an operation;
     * AUTH_ANONYMOUS when the request is not signed; otherwise the failure,
     * with AWS's message in msg. */
    auth_status_t (*raw_verify)(svc_call_t *c, const char *service, char *msg, size_t cap);
    void *_server;
};

typedef int (*svc_handler_fn)(svc_call_t *c);
/* Build the ARN the call acts on into *arn (arena string). Return 0, or set
 * an error on the call (e.g. the queue does not exist) and return -1. */
typedef int (*svc_arn_fn)(svc_call_t *c, const char **arn);

enum {
    SVC_OP_MUTATING = 1 << 0, /* writes state: runs inside a savepoint */
    SVC_OP_NO_AUTHZ = 1 << 1, /* never denied by policy (sts:GetCallerIdentity) */
    SVC_OP_STREAM_IN = 1 << 2 /* the request body is streamed to a spool file
                                 (svc_def_t.spool_dir) before the handler runs:
                                 see svc_body_in_t */
};

/* ---- bytes (S3 objects) ----
 *
 * A service that moves bytes never sees them in memory. For an operation
 * flagged SVC_OP_STREAM_IN the server authenticates, decodes the headers,
 * validates and authorizes as soon as the headers arrive, then streams the
 * body (aws-chunked decoded and its chunk signatures and trailer checked,
 * x-amz-content-sha256 checked) into a file in the service's spool
 * directory, writing and fsyncing on the thread pool, feeding the service's
 * digest as it goes; only then does the handler run, with c->body_in.
 *
 * A handler answers with a file instead of a body by filling c->body_out;
 * the server opens the file before the handler's turn ends (so a delete that
 * follows cannot take it away), and sends the range from the thread pool a
 * piece at a time, as fast as the client reads. */
typedef struct svc_body_in {
    const char *path; /* the fsynced spool file (arena string). The handler
                         takes it by renaming it elsewhere; whatever is left
                         at path after the call is removed by the server. */
    uint64_t size;    /* decoded body bytes */
    void *digest;     /* the service's digest state (svc_def_t.digest_*) */
} svc_body_in_t;

typedef struct svc_body_out {
    bool set;           /* the response body is this file's range */
    const char *path;   /* the file; NULL: no body, but Content-Length says
                           length (HEAD) */
    uint64_t offset, length;
    int status;         /* the response status (206), 0: the operation's */
} svc_body_out_t;

typedef struct svc_op {
    const char *name;        /* AWS operation name, as in the model */
    svc_handler_fn handler;
    const char *iam_action;  /* "sqs:SendMessage" */
    svc_arn_fn resource_arn; /* NULL: "*" */
    unsigned flags;
} svc_op_t;

struct svc_def {
    const char *name;        /* "sqs": also the model name */
    const svc_op_t *ops;
    size_t nops;
    /* Create the service's state: migrate its schema, load what it keeps in
     * memory. NULL with a message in err on failure. */
    void *(*create)(kyoka_ctx_t *ctx, char *err, size_t errcap);
    void (*free)(void *state);
    /* The server is shutting down: answer every parked call now (long
     * polls return what they have) so shutdown does not wait for them.
     * Optional. */
    void (*stopping)(void *state);
    /* POST /_kyoka/reset: back to a fresh start (state and store rows). */
    void (*reset)(void *state);
    /* The server clock was moved forward: deadlines kept on it (retry
     * delays) may be due now. Optional. */
    void (*clock_moved)(void *state);
    /* The resource-based policy on arn (queue policy, bucket policy), or
     * NULL. *owner is the owning account. */
    const iam_policy_t *(*resource_policy)(void *state, const char *arn, const char **owner);
    /* Services with SVC_OP_STREAM_IN operations: the directory streamed
     * bodies are spooled to (on the file system where the service keeps
     * them, so taking one is a rename), and the digest computed over the
     * decoded bytes: start (loop thread; NULL for none), update (on a pool
     * thread, one call at a time per body), free (loop thread; NULL ok). */
    const char *(*spool_dir)(void *state);
    void *(*digest_start)(svc_call_t *c);
    void (*digest_update)(void *digest, const void *p, size_t n);
    void (*digest_free)(void *digest);
    /* The largest body a streamed operation accepts (S3: 5 GiB); past it
     * the server answers EntityTooLarge (400) without storing anything.
     * NULL: no limit of the service's own. */
    uint64_t (*stream_max)(svc_call_t *c);
    /* ---- traffic the service serves, not API calls ----
     * API Gateway's invoke URLs and Lambda function URLs carry the user's
     * own HTTP requests: no AWS operation, no model, often unsigned. Before
     * any routing, the server asks each service with http_claim (request
     * line and Host only: it must be cheap, it sees every request) whether
     * the request is its traffic; the first that says yes gets it through
     * http_serve instead of the API pipeline. http_serve answers with
     * svc_raw_status/svc_raw_header/svc_raw_body, or svc_error (sent as
     * {"message": ...} with the error's status); it may park like any
     * handler (KYOKA_EAGAIN, then svc_call_finish). Nothing is authenticated
     * for it: a service that needs the caller calls svc_raw_verify. c->op
     * and c->mop are NULL. Writes it makes are durable before the answer
     * leaves, as for an operation. Optional. */
    bool (*http_claim)(void *state, const http_request_t *req);
    int (*http_serve)(svc_call_t *c);
};

struct svc_call {
    kyoka_ctx_t *ctx;
    void *state;               /* the service's state */
    const svc_def_t *svc;
    const svc_op_t *op;
    const model_service_t *model;
    const model_op_t *mop;
    proto_kind_t proto;
    http_request_t *req;
    arena_t *arena;            /* dies with the request */
    json_t *input;             /* decoded input (owned by the call) */
    json_t *output;            /* set by the handler (owned by the call) */
    aws_error_t error;         /* sticky: the first error set wins */
    char request_id[37];
    const auth_cred_t *cred;   /* the verified caller; never NULL after auth */
    iam_principal_t principal; /* the caller as IAM sees it */
    const char *region;        /* from the credential scope */
    const char *resource_arn;  /* what the call was authorized on */
    const char *decision_id;   /* the authorization decision, for explain */
    void (*on_abort)(svc_call_t *c); /* set while parked */
    void *parked;              /* the handler's data while parked */
    bool finished;
    bool internal;             /* made by kyoka itself (ctx->call): no request */
    const char *unserved;      /* routing: a service kyoka does not serve */
    svc_body_in_t *body_in;    /* SVC_OP_STREAM_IN: the spooled body */
    svc_body_out_t body_out;   /* a file-backed response (see above) */
    int raw_status;            /* http_serve: the status answered, 0 until set */
    void *_priv;
};

/* ---- helpers for handlers ---- */

/* Set the call's error once (later calls are ignored). code is a model error
 * shape name ("QueueDoesNotExist") or an AWS code ("InvalidParameterValue");
 * status 0 takes the model's status (or 400). */
static inline void svc_error(svc_call_t *c, const char *code, int status, const char *fmt, ...)
    KYOKA_PRINTF(4, 5);
static inline void svc_error(svc_call_t *c, const char *code, int status, const char *fmt, ...)
{
    if (c->error.code)
        return;
    c->error.code = code;
    c->error.sender = true;
    c->error.status = status;
    if (status == 0 && c->model) {
        int i = model_shape_lookup(c->model, code);
        c->error.status = i >= 0 && c->model->shapes[i].error_status ? c->model->shapes[i].error_status : 400;
        c->error.sender = i >= 0 && c->model->shapes[i].error_status ? c->model->shapes[i].error_sender : true;
    }
    if (c->error.status >= 500)
        c->error.sender = false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error.message, sizeof c->error.message, fmt, ap);
    va_end(ap);
}

/* svc_error for a message that may be longer than the error's buffer (it
 * quotes input back): text is copied into the request's arena. */
static inline void svc_error_long(svc_call_t *c, const char *code, int status, const char *text)
{
    if (c->error.code)
        return;
    svc_error(c, code, status, "%s", text);
    if (strlen(text) >= sizeof c->error.message && c->arena)
        c->error.long_message = arena_strdup(c->arena, text);
}

static inline bool svc_failed(const svc_call_t *c) { return c->error.code != NULL; }

/* The output object, created on first use. */
static inline json_t *svc_output(svc_call_t *c)
{
    if (!c->output)
        c->output = json_object();
    return c->output;
}

/* Input members. */
static inline const char *svc_in_str(svc_call_t *c, const char *name)
{
    return json_string_value(json_object_get(c->input, name));
}
static inline json_t *svc_in(svc_call_t *c, const char *name) { return json_object_get(c->input, name); }

/* http_serve's answer. */
static inline void svc_raw_status(svc_call_t *c, int status) { c->raw_status = status; }
static inline void svc_raw_header(svc_call_t *c, const char *name, const char *value)
{
    c->ctx->raw_header(c, name, value);
}
static inline buf_t *svc_raw_body(svc_call_t *c) { return c->ctx->raw_body(c); }
static inline auth_status_t svc_raw_verify(svc_call_t *c, const char *service, char *msg, size_t cap)
{
    return c->ctx->raw_verify(c, service, msg, cap);
}

/* Finish a call whose handler returned KYOKA_EAGAIN. */
static inline void svc_call_finish(svc_call_t *c) { c->ctx->finish(c); }

#endif
