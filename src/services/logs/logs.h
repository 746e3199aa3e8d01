/*
 * CloudWatch Logs: the API other components call directly, without HTTP.
 *
 * The Lambda runtime delivers each function's output here, into the log
 * group /aws/lambda/<function> and a stream per execution environment, the
 * way AWS Lambda writes to CloudWatch Logs. Find the service's state with
 * ctx->service_state(ctx, "logs") (NULL when the service is not built in).
 *
 * Durability: events are written inside the store's batch of the current
 * loop turn, exactly as PutLogEvents writes them, so they become durable
 * with that batch; a caller that must know when (before acknowledging
 * something to a client) waits with store_when_durable().
 *
 * Thread: loop thread, like everything that touches service state.
 */
#ifndef KYOKA_LOGS_H
#define KYOKA_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One event to append. message is borrowed for the duration of the call
 * (it need not be NUL-terminated). */
typedef struct logs_event {
    int64_t timestamp_ms; /* when it happened, ms since the epoch */
    const char *message;
    size_t len;
} logs_event_t;

/* Append n events to region/account's log group `group`, stream `stream`.
 *
 * With create_missing, a group or stream that does not exist is created
 * first (as CreateLogGroup/CreateLogStream would, without tags or
 * retention); otherwise a missing one is an error.
 *
 * Unlike PutLogEvents the call is lenient with its input, since it cannot
 * answer a client: events out of order are sorted (stably) by timestamp,
 * empty messages are skipped, messages past the 1 MB event quota are cut
 * to it, and a large array is split into PutLogEvents-sized batches.
 * Events PutLogEvents would reject (more than 2 hours ahead of or 14 days
 * behind the server clock, or older than the group's retention) are
 * dropped the same way.
 *
 * account NULL means the account kyoka serves. Names follow CloudWatch
 * Logs' rules (group: 1-512 of [.-_/#A-Za-z0-9]; stream: 1-512 without ':'
 * or '*').
 *
 * Returns 0 (also when every event was dropped), KYOKA_EINVAL for a bad
 * name, or KYOKA_ENOTFOUND when the group or stream is missing and
 * create_missing is false. Nothing is kept after the call returns.
 */
int logs_put_events_internal(void *logs_state, const char *region, const char *account, const char *group,
                             const char *stream, const logs_event_t *events, size_t n, bool create_missing);

/* Whether region/account has a log group named `group` (account NULL: the
 * account kyoka serves). */
bool logs_group_exists(void *logs_state, const char *region, const char *account, const char *group);

/* ---- subscription filters: delivery ----
 *
 * Events that match a subscription filter (PutSubscriptionFilter) are
 * batched per (filter, log stream) and handed to the sink off the request
 * path, on the loop turn after they were ingested, each batch at most 1 MB
 * of events. Without a sink nothing is collected or delivered.
 *
 * A batch, valid for the duration of deliver() only (copy what you keep).
 * payload[0..len) is exactly the event CloudWatch Logs invokes a Lambda
 * function with: {"awslogs":{"data":"<base64 of the gzip of the JSON
 * document>"}}, the document being {"messageType":"DATA_MESSAGE","owner":
 * ACCOUNT,"logGroup":...,"logStream":...,"subscriptionFilters":[NAME],
 * "logEvents":[{"id":"<56 digits>","timestamp":MS,"message":...},...]}.
 * role_arn is NULL when the filter has none. */
typedef struct logs_subscription_batch {
    const char *region;
    const char *owner_account;
    const char *log_group;
    const char *log_stream;
    const char *filter_name;
    const char *destination_arn;
    const char *role_arn;
    const char *payload;
    size_t len;
} logs_subscription_batch_t;

typedef struct logs_subscription_sink {
    void *data;
    /* Deliver one batch (asynchronously: return at once; the loop thread
     * calls it, and it may call back into the logs service). */
    void (*deliver)(void *data, const logs_subscription_batch_t *b);
    /* PutSubscriptionFilter asks first: 0 if the destination can be
     * invoked by logs.amazonaws.com for log_group_arn (the form a Lambda
     * permission's SourceArn names: arn:aws:logs:R:A:log-group:NAME:*),
     * else non-zero with a message in msg[0..cap) ("" for AWS's "Could not
     * execute the lambda function. Make sure you have given CloudWatch Logs
     * permission to execute your function."). May be NULL. */
    int (*check)(void *data, const char *region, const char *log_group_arn, const char *destination_arn, char *msg,
                 size_t cap);
} logs_subscription_sink_t;

/* Register the sink (copied; NULL unregisters). Batches already waiting
 * go to the new sink. logs_state NULL is ignored. */
void logs_set_subscription_sink(void *logs_state, const logs_subscription_sink_t *sink);

#endif
