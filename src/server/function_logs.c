/*
 * Function logs into CloudWatch Logs, under the execution role, as on AWS
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html):
 * the environment's lines go to its stream (YYYY/MM/DD/[VERSION]id) in the
 * function's log group, and the writes are the role's: creating a missing
 * group needs logs:CreateLogGroup, the environment's first write
 * logs:CreateLogStream, every write logs:PutLogEvents. A role without them
 * (no AWSLambdaBasicExecutionRole) loses its logs, exactly as on AWS, and
 * the decision log shows the denial (once per environment, so a chatty
 * function cannot flood it).
 *
 * The runtime hands lines over once per loop turn (off the invoke path);
 * this is the sink it calls. It lives in the server because it joins three
 * components that do not know each other: the runtime, IAM and Logs.
 */
#include "internal.h"

#include "services/logs/logs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* Decide one action for the role's session; a denial is logged when asked. */
static bool role_may(kyoka_server_t *s, const auth_cred_t *cred, const char *action, const char *arn,
                     bool log_denial)
{
    svc_caller_t who = {.cred = cred};
    const char *id = NULL;
    /* Allowed writes stay out of the decision log (one per batch would bury
     * the user's own decisions); a denial is decided again to be logged. */
    iam_decision_t d = s->ctx.decide(&s->ctx, &who, "logs", action, arn, NULL);
    if (d != IAM_ALLOW && log_denial && s->ctx.decide(&s->ctx, &who, "logs", action, arn, &id) != IAM_ALLOW)
        log_info("lambda: %s may not %s on %s: the function's logs are dropped (decision %s)", cred->principal_arn,
                 action, arn, id ? id : "-");
    return d == IAM_ALLOW;
}

static void on_function_logs(void *data, const char *region, const char *group, const char *stream,
                             const char *access_key_id, const lambda_log_line_t *lines, size_t n, bool first)
{
    kyoka_server_t *s = data;
    svc_slot_t *logs = kyoka__service_by_name(s, STRV_LIT("logs"));
    const auth_cred_t *cred = access_key_id ? auth_store_lookup(s->ctx.creds, strv_from(access_key_id)) : NULL;
    if (!logs || !cred || !group || !stream || !n)
        return;
    arena_t a;
    arena_init(&a);
    /* The resources as the logs service authorizes them (services/logs/ops.c). */
    const char *group_arn = arena_sprintf(&a, "arn:aws:logs:%s:%s:log-group:%s:log-stream:", region, s->ctx.account_id,
                                          group);
    const char *stream_arn =
        arena_sprintf(&a, "arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", region, s->ctx.account_id, group, stream);
    bool ok = true;
    if (!logs_group_exists(logs->state, region, NULL, group))
        ok = role_may(s, cred, "logs:CreateLogGroup", group_arn, first);
    if (ok && first)
        ok = role_may(s, cred, "logs:CreateLogStream", stream_arn, first);
    if (ok)
        ok = role_may(s, cred, "logs:PutLogEvents", stream_arn, first);
    if (ok) {
        logs_event_t *ev = arena_alloc(&a, n * sizeof *ev);
        for (size_t i = 0; i < n; i++)
            ev[i] = (logs_event_t){lines[i].timestamp_ms, lines[i].message, lines[i].len};
        if (logs_put_events_internal(logs->state, region, NULL, group, stream, ev, n, true) != 0)
            log_warn("lambda: could not write %zu log events to %s %s", n, group, stream);
    }
    arena_destroy(&a);
}

void kyoka__function_logs_start(kyoka_server_t *s)
{
    if (!s->runtime || !kyoka__service_by_name(s, STRV_LIT("logs")))
        return;
    lambda_log_sink_t sink = {.data = s, .write = on_function_logs};
    rt_set_log_sink(s->runtime, &sink);
}
