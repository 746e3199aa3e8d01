/* Shared inside the server component only. */
#ifndef KYOKA_SERVER_INTERNAL_H
#define KYOKA_SERVER_INTERNAL_H

#include "runtime/runtime.h"
#include "server.h"
#include "services/service.h"

typedef struct kyoka_server kyoka_server_t;

/* An internal call waiting for its loop turn (internal_call.c). */
typedef struct kyoka_internal {
    svc_call_t *call;
    struct kyoka_internal *next;
} kyoka_internal_t;

typedef struct svc_slot {
    const svc_def_t *def;
    const model_service_t *model;
    void *state;
} svc_slot_t;

struct kyoka_server {
    kyoka_config_t cfg;
    uv_loop_t *loop;
    kyoka_ctx_t ctx;
    http_server_t *http;
    svc_slot_t services[16];
    size_t nservices;
    auth_cred_t *root;
    uint64_t started_us;
    uv_signal_t sigint, sigterm;
    uv_check_t log_flush;
    buf_t log_buf;
    bool stopping;
    char endpoint[128];
    char fn_endpoint[128];  /* what functions use to reach kyoka (always an IP) */
    rt_t *runtime;
    uint64_t requests;
    uv_timer_t internal_timer;
    kyoka_internal_t *internal_head, *internal_tail;
    bool internal_stopped;
};

/* services.c: the services this binary serves. */
extern const svc_def_t *const kyoka_service_defs[];

/* dispatch.c */
void kyoka__on_request(http_request_t *req, void *ctx);
void kyoka__on_abort(http_request_t *req, void *ctx);
void kyoka__call_finish(svc_call_t *c);
iam_decision_t kyoka__authorize(svc_call_t *c, const char *action, const char *resource,
                               const iam_ctx_value_t *extra, size_t nextra);
svc_slot_t *kyoka__service_by_name(kyoka_server_t *s, strv_t name);
/* Internal calls (ctx->call): create with the caller's principal and
 * input (taken), run (validate, authorize, handler, durable, done), or
 * answer "shutting down" without running. */
svc_call_t *kyoka__internal_create(kyoka_server_t *s, const svc_caller_t *who, const char *service,
                                   const char *operation, json_t *input, svc_call_done_fn done, void *data);
void kyoka__internal_run(svc_call_t *c);
void kyoka__internal_cancel(svc_call_t *c);
/* internal_call.c: the queue behind ctx->call, and ctx->decide. */
void kyoka__internal_start(kyoka_server_t *s);
void kyoka__internal_stop(kyoka_server_t *s);
/* The principal a verified credential is, as IAM sees it (identity
 * policies still to be filled by ctx->identity_for). */
void kyoka__principal_of(const auth_cred_t *cred, iam_principal_t *pr);

/* function_logs.c: functions' output into CloudWatch Logs under their
 * execution roles. */
void kyoka__function_logs_start(kyoka_server_t *s);
/* log_subscriptions.c: subscription filters invoking their functions. */
void kyoka__log_subscriptions_start(kyoka_server_t *s);
void kyoka__log_request(kyoka_server_t *s, const char *service, const char *op, const char *principal,
                       int status, uint64_t us, const char *error_code);

/* router.c: services kyoka does not serve yet (S3, Lambda, ...) */
const char *kyoka__route_unserved(const http_request_t *req, const char *scope_service);
void kyoka__respond_unserved(kyoka_server_t *s, http_request_t *req, const char *service);

/* admin.c */
bool kyoka__is_admin(const http_request_t *req);
void kyoka__admin(kyoka_server_t *s, http_request_t *req);
void kyoka__reset_all(kyoka_server_t *s);
int kyoka__clock_load(kyoka_server_t *s, char *err, size_t errcap);
void kyoka__clock_save(kyoka_server_t *s);

/* Respond with a JSON body (takes j). */
void kyoka__respond_json(http_request_t *req, int status, json_t *j);

#endif
