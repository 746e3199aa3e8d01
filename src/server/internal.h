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
/* Streamed bodies (S3 PutObject, UploadPart): the pipeline up to
 * authorization at the headers, the body into a spool file. */
int kyoka__on_headers(http_request_t *req, void *ctx);
int kyoka__on_body(http_request_t *req, const char *at, size_t n, void *ctx);
void kyoka__call_finish(svc_call_t *c);
/* Fill ctx's helpers for services' own traffic (svc_def_t.http_serve). */
void kyoka__raw_start(kyoka_ctx_t *ctx);
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
/* Is the request for S3 (scope_service "s3", or "" and S3 by its shape:
 * a virtual-host bucket, or a path no other service uses)? *s3path is
 * then the path in path style ("/bucket/key", still percent-encoded),
 * the virtual host's bucket put in front (arena string). */
bool kyoka__route_s3(const http_request_t *req, const char *scope_service, arena_t *a, strv_t *s3path);

/* stream.c: streamed request bodies spooled to a file, and responses sent
 * from a file (see the file's comment). */
typedef struct kyoka_spool kyoka_spool_t;
typedef struct kyoka_send kyoka_send_t;
/* The spool has written and fsynced the whole body, or failed
 * (kyoka__spool_error). Runs on a later loop turn than finish. */
typedef void (*kyoka_spool_done_fn)(void *data, kyoka_spool_t *sp);
/* Start spooling req's body into a new file in dir: aws-chunked decoded
 * when the headers say so (auth: the verified request, for chunk
 * signatures), a hex x-amz-content-sha256 checked, at most max decoded
 * bytes (0: no limit), digest_update(digest, ...) fed on the pool. NULL
 * with *err_code (and status, message) when the request cannot be
 * spooled (a bad x-amz-trailer, too large, no file). */
kyoka_spool_t *kyoka__spool_create(uv_loop_t *loop, http_request_t *req, const char *dir, uint64_t max,
                                   const auth_result_t *auth, void (*digest_update)(void *, const void *, size_t),
                                   void *digest, const char **err_code, int *err_status, char *err_msg,
                                   size_t errcap);
/* A piece of the raw body (from on_body). Errors are kept, and the rest of
 * the body is then dropped. */
void kyoka__spool_feed(kyoka_spool_t *sp, const char *p, size_t n);
/* The body has ended: check framing and hashes, write the rest, fsync, then
 * done (always on a later turn). */
void kyoka__spool_finish(kyoka_spool_t *sp, kyoka_spool_done_fn done, void *data);
/* The first failure's AWS code (NULL: none), status and message. */
const char *kyoka__spool_error(const kyoka_spool_t *sp, int *status, const char **message);
const char *kyoka__spool_path(const kyoka_spool_t *sp);
uint64_t kyoka__spool_size(const kyoka_spool_t *sp);
/* Free (removing the file unless it was finished without error: the
 * caller then owns what is at the path). Safe while a job runs. NULL ok. */
void kyoka__spool_free(kyoka_spool_t *sp);
/* Respond with length bytes of fd (taken) from offset: headers now, the
 * body read on the pool piece by piece. done(data) runs once the response
 * is complete, never from inside this call: NULL is returned instead when
 * it completed at once (no body). kyoka__send_abort when the client goes
 * away (on_abort): frees the sender, done is not called. */
kyoka_send_t *kyoka__send_file(uv_loop_t *loop, http_request_t *req, int status, const http_header_t *headers,
                               size_t nheaders, int fd, uint64_t offset, uint64_t length, void (*done)(void *data),
                               void *data);
void kyoka__send_abort(kyoka_send_t *sd);

/* admin.c */
bool kyoka__is_admin(const http_request_t *req);
void kyoka__admin(kyoka_server_t *s, http_request_t *req);
void kyoka__reset_all(kyoka_server_t *s);
int kyoka__clock_load(kyoka_server_t *s, char *err, size_t errcap);
void kyoka__clock_save(kyoka_server_t *s);

/* Respond with a JSON body (takes j). */
void kyoka__respond_json(http_request_t *req, int status, json_t *j);

#endif
