/*
 * pipes: service-to-service delivery, the one way one part of kyoka calls
 * another on someone's behalf.
 *
 * Every delivery is a real operation of the target service made through
 * ctx->call, so it is authorized as AWS authorizes it: a function's
 * destination or dead-letter queue is written under the function's
 * execution role (identity policies plus the queue's policy); an event
 * source that pushes (CloudWatch Logs subscriptions, S3 notifications,
 * EventBridge rules) invokes as its service principal with aws:SourceArn
 * and aws:SourceAccount, against the function's resource policy. Denials
 * land in the decision log like a client's.
 *
 * The pollers of event source mappings read here too (sqs_poller.c; Kinesis
 * later), under the function's execution role.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_PIPES_H
#define KYOKA_PIPES_H

#include "services/service.h"

/* What a destination ARN is, and the action that writes to it. */
typedef enum {
    PIPES_DEST_INVALID = 0,
    PIPES_DEST_SQS,     /* sqs:SendMessage */
    PIPES_DEST_SNS,     /* sns:Publish (kyoka does not serve SNS yet) */
    PIPES_DEST_LAMBDA,  /* lambda:InvokeFunction */
    PIPES_DEST_EVENTS,  /* events:PutEvents on an event bus */
    PIPES_DEST_S3       /* s3:PutObject (on-failure only) */
} pipes_dest_kind_t;

typedef struct pipes_dest {
    pipes_dest_kind_t kind;
    const char *service;   /* "sqs": the target's service name */
    const char *action;    /* "sqs:SendMessage" */
    const char *api;       /* "SendMessage": for messages that name the call */
    char region[32];
    char account[16];
} pipes_dest_t;

/* Classify an ARN. PIPES_DEST_INVALID when it is none of the kinds. */
pipes_dest_kind_t pipes_dest_parse(const char *arn, pipes_dest_t *out);

/* Whether kyoka serves the destination's service (ctx knows its services). */
bool pipes_dest_served(kyoka_ctx_t *ctx, const pipes_dest_t *d);

/* Send body to the queue arn as who. attributes (taken, may be NULL) is
 * SendMessage's MessageAttributes tree. */
void pipes_sqs_send(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *queue_arn, const char *body, size_t len,
                    json_t *attributes, svc_call_done_fn done, void *data);

/* Invoke the function arn (qualified or not) as who; async is
 * InvocationType Event. */
void pipes_lambda_invoke(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *function_arn, const char *payload,
                         size_t len, bool async, svc_call_done_fn done, void *data);

/* Put one event (detail: a JSON object's text) on the bus bus_arn as who:
 * EventBridge's PutEvents, so the caller's events:PutEvents permission (or
 * the bus policy) decides. resources (taken, may be NULL): ARNs. */
void pipes_put_event(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *bus_arn, const char *source,
                     const char *detail_type, const char *detail, size_t len, json_t *resources, svc_call_done_fn done,
                     void *data);

/* Deliver a JSON document to a destination of any kind served: the queue's
 * message body, the function's (asynchronous) payload. Returns 0, or
 * KYOKA_ENOTFOUND when kyoka does not serve the destination's service (done
 * is then not called). */
int pipes_deliver(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *arn, const char *doc, size_t len,
                  svc_call_done_fn done, void *data);

/* ---- SQS poller (an event source mapping's reads) ---- */

typedef struct pipes_sqs_poller pipes_sqs_poller_t;
typedef struct pipes_sqs_batch pipes_sqs_batch_t;

typedef struct pipes_sqs_poller_cfg {
    const char *queue_arn;
    int batch_size;       /* 1 to 10,000 */
    int window_ms;        /* MaximumBatchingWindowInSeconds, in ms */
    int max_concurrency;  /* batches in flight at most (lanes) */
} pipes_sqs_poller_cfg_t;

typedef struct pipes_sqs_consumer {
    void *data;
    /* The credential to read with now (an execution role's session, renewed
     * by the consumer), or NULL to wait a second and ask again. */
    const auth_cred_t *(*cred)(void *data);
    /* A batch: ReceiveMessage's Message objects (borrowed until done). The
     * consumer answers exactly once with pipes_sqs_batch_done. */
    void (*batch)(void *data, pipes_sqs_poller_t *p, pipes_sqs_batch_t *b, json_t *messages);
    /* A read or delete failed (denied, queue gone): for the mapping's
     * LastProcessingResult and the log. Optional. */
    void (*receive_error)(void *data, const svc_call_t *c);
    /* The poller is gone after pipes_sqs_poller_stop: the consumer may go. */
    void (*stopped)(void *data);
} pipes_sqs_consumer_t;

pipes_sqs_poller_t *pipes_sqs_poller_start(kyoka_ctx_t *ctx, const pipes_sqs_poller_cfg_t *cfg,
                                           const pipes_sqs_consumer_t *consumer);
/* New batch size, window or concurrency for the next batches. */
void pipes_sqs_poller_update(pipes_sqs_poller_t *p, const pipes_sqs_poller_cfg_t *cfg);
/* Delete the n receipt handles (the batch's successes); failed slows the
 * poller down (a function error or a throttle). */
void pipes_sqs_batch_done(pipes_sqs_poller_t *p, pipes_sqs_batch_t *b, const char *const *handles, size_t n,
                          bool failed);
/* No new reads; batches in the consumer's hands still finish (and their
 * deletes go out); then consumer.stopped runs. */
void pipes_sqs_poller_stop(pipes_sqs_poller_t *p);

/* ---- Kinesis poller (a stream event source mapping's reads) ---- */

typedef struct pipes_kinesis_poller pipes_kinesis_poller_t;

typedef struct pipes_kinesis_poller_cfg {
    const char *stream_arn;
    int batch_size; /* 1 to 10,000 */
    int window_ms;  /* MaximumBatchingWindowInSeconds, in ms */
} pipes_kinesis_poller_cfg_t;

/* Where a shard's reading starts: after the consumer's checkpoint, else
 * the mapping's StartingPosition. */
typedef struct pipes_kinesis_start {
    char after_seq[64]; /* "" when there is no checkpoint */
    bool latest;
    bool at_timestamp;
    int64_t timestamp_ms;
} pipes_kinesis_start_t;

typedef struct pipes_kinesis_consumer {
    void *data;
    const auth_cred_t *(*cred)(void *data);
    void (*start_for)(void *data, const char *shard_id, pipes_kinesis_start_t *out);
    /* One shard's batch, in order: [{sequenceNumber, partitionKey, data
     * (base64), arrivalMs}] (borrowed for the call; take a reference to
     * keep it). Answer once with pipes_kinesis_batch_done; the shard reads
     * nothing more until then. */
    void (*batch)(void *data, pipes_kinesis_poller_t *p, const char *shard_id, json_t *records);
    void (*read_error)(void *data, const char *code, const char *decision_id);
    void (*stopped)(void *data);
} pipes_kinesis_consumer_t;

/* NULL when kyoka serves no Kinesis. */
pipes_kinesis_poller_t *pipes_kinesis_poller_start(kyoka_ctx_t *ctx, const pipes_kinesis_poller_cfg_t *cfg,
                                                   const pipes_kinesis_consumer_t *consumer);
void pipes_kinesis_poller_update(pipes_kinesis_poller_t *p, const pipes_kinesis_poller_cfg_t *cfg);
/* The consumer is done with the shard's batch (its checkpoint is its own). */
void pipes_kinesis_batch_done(pipes_kinesis_poller_t *p, const char *shard_id);
void pipes_kinesis_poller_stop(pipes_kinesis_poller_t *p);

#endif
