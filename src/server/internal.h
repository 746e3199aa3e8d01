/* Shared inside the server component only. */
#ifndef KUMO_SERVER_INTERNAL_H
#define KUMO_SERVER_INTERNAL_H

#include "server.h"
#include "services/service.h"

typedef struct kumo_server kumo_server_t;

typedef struct svc_slot {
    const svc_def_t *def;
    const model_service_t *model;
    void *state;
} svc_slot_t;

struct kumo_server {
    kumo_config_t cfg;
    uv_loop_t *loop;
    kumo_ctx_t ctx;
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
    uint64_t requests;
};

/* services.c: the services this binary serves. */
extern const svc_def_t *const kumo_service_defs[];

/* dispatch.c */
void kumo__on_request(http_request_t *req, void *ctx);
void kumo__on_abort(http_request_t *req, void *ctx);
void kumo__call_finish(svc_call_t *c);
iam_decision_t kumo__authorize(svc_call_t *c, const char *action, const char *resource,
                               const iam_ctx_value_t *extra, size_t nextra);
svc_slot_t *kumo__service_by_name(kumo_server_t *s, strv_t name);
void kumo__log_request(kumo_server_t *s, const char *service, const char *op, const char *principal,
                       int status, uint64_t us, const char *error_code);

/* router.c: services kumo does not serve yet (S3, Lambda, ...) */
const char *kumo__route_unserved(const http_request_t *req, const char *scope_service);
void kumo__respond_unserved(kumo_server_t *s, http_request_t *req, const char *service);

/* admin.c */
bool kumo__is_admin(const http_request_t *req);
void kumo__admin(kumo_server_t *s, http_request_t *req);
void kumo__reset_all(kumo_server_t *s);
int kumo__clock_load(kumo_server_t *s, char *err, size_t errcap);
void kumo__clock_save(kumo_server_t *s);

/* Respond with a JSON body (takes j). */
void kumo__respond_json(http_request_t *req, int status, json_t *j);

#endif
