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
 * Later: the pollers of event source mappings (SQS, Kinesis) read here too.
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

/* Deliver a JSON document to a destination of any kind served: the queue's
 * message body, the function's (asynchronous) payload. Returns 0, or
 * KYOKA_ENOTFOUND when kyoka does not serve the destination's service (done
 * is then not called). */
int pipes_deliver(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *arn, const char *doc, size_t len,
                  svc_call_done_fn done, void *data);

#endif
