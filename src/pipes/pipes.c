/*
 * Deliveries as operations of the target service (see pipes.h).
 */
#include "pipes.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE, with the fields copied out. */
static bool arn_split(const char *arn, char *svc, size_t svccap, pipes_dest_t *d, const char **resource)
{
    if (!arn || strncmp(arn, "arn:aws:", 8) != 0)
        return false;
    const char *p = arn + 8;
    const char *fields[3];
    size_t lens[3];
    for (int i = 0; i < 3; i++) {
        const char *colon = strchr(p, ':');
        if (!colon)
            return false;
        fields[i] = p;
        lens[i] = (size_t)(colon - p);
        p = colon + 1;
    }
    if (lens[0] == 0 || lens[0] >= svccap || lens[1] >= sizeof d->region || lens[2] >= sizeof d->account)
        return false;
    memcpy(svc, fields[0], lens[0]);
    svc[lens[0]] = '\0';
    memcpy(d->region, fields[1], lens[1]);
    d->region[lens[1]] = '\0';
    memcpy(d->account, fields[2], lens[2]);
    d->account[lens[2]] = '\0';
    *resource = p;
    return *p != '\0';
}

static void dest_set(pipes_dest_t *d, pipes_dest_kind_t kind, const char *service, const char *action,
                     const char *api)
{
    d->kind = kind;
    d->service = service;
    d->action = action;
    d->api = api;
}

pipes_dest_kind_t pipes_dest_parse(const char *arn, pipes_dest_t *d)
{
    memset(d, 0, sizeof *d);
    char svc[16];
    const char *res;
    if (!arn_split(arn, svc, sizeof svc, d, &res))
        return PIPES_DEST_INVALID;
    bool regional = d->region[0] && d->account[0];
    if (strcmp(svc, "sqs") == 0 && regional && !strchr(res, ':') && !strchr(res, '/'))
        dest_set(d, PIPES_DEST_SQS, "sqs", "sqs:SendMessage", "SendMessage");
    else if (strcmp(svc, "sns") == 0 && regional && !strchr(res, '/'))
        dest_set(d, PIPES_DEST_SNS, "sns", "sns:Publish", "Publish");
    else if (strcmp(svc, "lambda") == 0 && regional && strncmp(res, "function:", 9) == 0 && res[9])
        dest_set(d, PIPES_DEST_LAMBDA, "lambda", "lambda:InvokeFunction", "InvokeFunction");
    else if (strcmp(svc, "events") == 0 && regional && strncmp(res, "event-bus/", 10) == 0 && res[10])
        dest_set(d, PIPES_DEST_EVENTS, "events", "events:PutEvents", "PutEvents");
    else if (strcmp(svc, "s3") == 0 && !d->region[0] && !d->account[0] && !strchr(res, '/'))
        dest_set(d, PIPES_DEST_S3, "s3", "s3:PutObject", "PutObject");
    return d->kind;
}

bool pipes_dest_served(kyoka_ctx_t *ctx, const pipes_dest_t *d)
{
    return d->kind != PIPES_DEST_INVALID && ctx->service_state && ctx->service_state(ctx, d->service) != NULL;
}

void pipes_sqs_send(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *queue_arn, const char *body, size_t len,
                    json_t *attributes, svc_call_done_fn done, void *data)
{
    pipes_dest_t d;
    pipes_dest_parse(queue_arn, &d);
    const char *name = strrchr(queue_arn, ':');
    /* SQS finds a queue by the path of its URL: /ACCOUNT/NAME. */
    char url[512];
    snprintf(url, sizeof url, "%s/%s/%s", ctx->endpoint, d.account, name ? name + 1 : "");
    json_t *in = json_object();
    json_object_set_new(in, "QueueUrl", json_string(url));
    json_object_set_new(in, "MessageBody", json_stringn_nocheck(body, len));
    if (attributes)
        json_object_set_new(in, "MessageAttributes", attributes);
    svc_caller_t at = *who;
    at.region = d.region[0] ? d.region : who->region;
    ctx->call(ctx, &at, "sqs", "SendMessage", in, done, data);
}

void pipes_lambda_invoke(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *function_arn, const char *payload,
                         size_t len, bool async, svc_call_done_fn done, void *data)
{
    pipes_dest_t d;
    pipes_dest_parse(function_arn, &d);
    json_t *in = json_object();
    json_object_set_new(in, "FunctionName", json_string(function_arn));
    json_object_set_new(in, "InvocationType", json_string(async ? "Event" : "RequestResponse"));
    json_object_set_new(in, "Payload", json_stringn_nocheck(payload, len));
    svc_caller_t at = *who;
    at.region = d.region[0] ? d.region : who->region;
    ctx->call(ctx, &at, "lambda", "Invoke", in, done, data);
}

void pipes_put_event(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *bus_arn, const char *source,
                     const char *detail_type, const char *detail, size_t len, json_t *resources, svc_call_done_fn done,
                     void *data)
{
    pipes_dest_t d;
    pipes_dest_parse(bus_arn, &d);
    json_t *entry = json_pack("{s:s,s:s,s:s,s:s%}", "EventBusName", bus_arn, "Source", source, "DetailType",
                              detail_type, "Detail", detail, len);
    if (resources)
        json_object_set_new(entry, "Resources", resources);
    json_t *in = json_pack("{s:[o]}", "Entries", entry);
    svc_caller_t at = *who;
    at.region = d.region[0] ? d.region : who->region;
    ctx->call(ctx, &at, "events", "PutEvents", in, done, data);
}

int pipes_deliver(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *arn, const char *doc, size_t len,
                  svc_call_done_fn done, void *data)
{
    pipes_dest_t d;
    if (pipes_dest_parse(arn, &d) == PIPES_DEST_INVALID || !pipes_dest_served(ctx, &d))
        return KYOKA_ENOTFOUND;
    switch (d.kind) {
    case PIPES_DEST_SQS:
        pipes_sqs_send(ctx, who, arn, doc, len, NULL, done, data);
        return 0;
    case PIPES_DEST_LAMBDA:
        pipes_lambda_invoke(ctx, who, arn, doc, len, true, done, data);
        return 0;
    default:
        /* Served once the service is (EventBridge, SNS, S3 issues). */
        return KYOKA_ENOTFOUND;
    }
}
