/*
 * CloudWatch Logs subscription filters with a Lambda destination: the logs
 * service batches matching events, and this sink invokes the function with
 * them as AWS does, asynchronously and as the service principal
 * logs.amazonaws.com with aws:SourceArn (the log group) and
 * aws:SourceAccount, so the function's resource policy decides
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample).
 * PutSubscriptionFilter asks the same question before it saves a filter.
 *
 * It lives in the server because it joins two services through pipes.
 */
#include "internal.h"

#include "pipes/pipes.h"
#include "services/logs/logs.h"

#include <stdio.h>
#include <string.h>

#include "core/banned.h"

#define LOGS_PRINCIPAL "logs.amazonaws.com"

static void on_invoked(void *data, const svc_call_t *c)
{
    (void)data;
    if (c->error.code)
        log_warn("logs: the subscription could not invoke %s: %s: %s (decision %s)",
                 c->resource_arn ? c->resource_arn : "its function", c->error.code, aws_error_text(&c->error),
                 c->decision_id ? c->decision_id : "-");
}

static void deliver(void *data, const logs_subscription_batch_t *b)
{
    kyoka_server_t *s = data;
    char source[1200];
    snprintf(source, sizeof source, "arn:aws:logs:%s:%s:log-group:%s:*", b->region, b->owner_account, b->log_group);
    svc_caller_t who = {
        .service_principal = LOGS_PRINCIPAL,
        .source_arn = source,
        .source_account = b->owner_account,
        .region = b->region,
    };
    pipes_lambda_invoke(&s->ctx, &who, b->destination_arn, b->payload, b->len, true, on_invoked, NULL);
}

static int check(void *data, const char *region, const char *log_group_arn, const char *destination_arn, char *msg,
                 size_t cap)
{
    kyoka_server_t *s = data;
    pipes_dest_t d;
    if (pipes_dest_parse(destination_arn, &d) != PIPES_DEST_LAMBDA) {
        snprintf(msg, cap, "Only a Lambda function can be a destination in kyoka for now: %s", destination_arn);
        return -1;
    }
    svc_caller_t who = {
        .service_principal = LOGS_PRINCIPAL,
        .source_arn = log_group_arn,
        .source_account = s->ctx.account_id,
        .region = region,
    };
    const char *id = NULL;
    if (s->ctx.decide(&s->ctx, &who, "lambda", "lambda:InvokeFunction", destination_arn, &id) == IAM_ALLOW)
        return 0;
    log_info("logs: %s may not invoke %s for %s (decision %s)", LOGS_PRINCIPAL, destination_arn, log_group_arn,
             id ? id : "-");
    msg[0] = '\0';
    return -1;
}

void kyoka__log_subscriptions_start(kyoka_server_t *s)
{
    svc_slot_t *logs = kyoka__service_by_name(s, STRV_LIT("logs"));
    if (!logs || !kyoka__service_by_name(s, STRV_LIT("lambda")))
        return;
    logs_subscription_sink_t sink = {.data = s, .deliver = deliver, .check = check};
    logs_set_subscription_sink(logs->state, &sink);
}
