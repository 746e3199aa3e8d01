/* Shared inside the server component only. */
#ifndef KYOKA_SERVER_INTERNAL_H
#define KYOKA_SERVER_INTERNAL_H

#include "runtime/runtime.h"
#include "server.h"
#include "services/service.h"

typedef struct kyoka_server kyoka_server_t;

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
/* The principal a verified credential is, as IAM sees it (identity
 * policies still to be filled by ctx->identity_for). */
void kyoka__principal_of(const auth_cred_t *cred, iam_principal_t *pr);

/* function_logs.c: functions' output into CloudWatch Logs under their
 * execution roles. */
void kyoka__function_logs_start(kyoka_server_t *s);
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
