/*
 * CloudWatch Logs: the operation table, the resource ARNs calls are
 * authorized on, input validation with AWS's messages, and the service's
 * lifecycle.
 *
 * ARNs. The Service Authorization Reference
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html)
 * names two resource types, log-group (arn:aws:logs:R:A:log-group:NAME) and
 * log-stream (arn:aws:logs:R:A:log-group:NAME:log-stream:STREAM). What AWS
 * evaluates a group-level action against is the group's streams' ARN with
 * an empty stream, arn:aws:logs:R:A:log-group:NAME:log-stream: — which is why
 * policies must name a group as "log-group:NAME:*" (the form DescribeLogGroups
 * returns in `arn`) and "log-group:NAME" alone grants nothing; kyoka does the
 * same, so a policy that works here works there. Stream actions
 * (CreateLogStream, DeleteLogStream, PutLogEvents, GetLogEvents) are
 * authorized on the stream's ARN; DescribeLogGroups, which names no group,
 * on arn:aws:logs:R:A:log-group::log-stream:.
 *
 * Validation. The generic JSON validator checks required members and
 * types; lengths, patterns and ranges are checked here, reported the way
 * CloudWatch Logs' front end does: one InvalidParameterException, "N
 * validation error(s) detected: Value 'x' at 'member' failed to satisfy
 * constraint: Member must ...", the pattern before the length for a name.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== validation ==== */

void logs__check_init(logs_check_t *k, svc_call_t *c)
{
    k->c = c;
    k->n = 0;
    buf_init(&k->msg, sizeof c->error.message);
}

void logs__check_add(logs_check_t *k, const char *member, const char *value, const char *what)
{
    if (k->n++)
        (void)buf_appends(&k->msg, "; ");
    if (value)
        (void)buf_appendf(&k->msg, "Value '%s' at '%s' failed to satisfy constraint: %s", value, member, what);
    else
        (void)buf_appendf(&k->msg, "Value null at '%s' failed to satisfy constraint: %s", member, what);
}

static bool group_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("._-/#", ch);
}

static bool ident_char(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("_#+=/:,.@-", ch);
}

void logs__check_name(logs_check_t *k, const char *member, const char *value, logs_name_kind_t kind, bool required)
{
    if (!value) {
        if (required)
            logs__check_add(k, member, NULL, "Member must not be null");
        return;
    }
    size_t n = strlen(value);
    bool ok = true;
    const char *pattern = NULL;
    size_t min = 1, max = LOGS_MAX_NAME;
    switch (kind) {
    case LOGS_NAME_GROUP:
    case LOGS_NAME_GROUP_PATTERN:
        pattern = kind == LOGS_NAME_GROUP ? "[\\.\\-_/#A-Za-z0-9]+" : "[\\.\\-_/#A-Za-z0-9]*";
        min = kind == LOGS_NAME_GROUP ? 1 : 0;
        for (size_t i = 0; i < n; i++)
            ok &= group_char((unsigned char)value[i]);
        if (kind == LOGS_NAME_GROUP && n == 0)
            ok = false;
        break;
    case LOGS_NAME_STREAM:
        pattern = "[^:*]*";
        ok = !strpbrk(value, ":*");
        break;
    case LOGS_NAME_IDENTIFIER:
        pattern = "[\\w#+=/:,.@-]*";
        max = 2048;
        for (size_t i = 0; i < n; i++)
            ok &= ident_char((unsigned char)value[i]);
        break;
    }
    if (!ok)
        logs__check_add(k, member, value,
                        arena_sprintf(k->c->arena, "Member must satisfy regular expression pattern: %s", pattern));
    if (n < min)
        logs__check_add(k, member, value,
                        arena_sprintf(k->c->arena, "Member must have length greater than or equal to %zu", min));
    if (n > max)
        logs__check_add(k, member, value,
                        arena_sprintf(k->c->arena, "Member must have length less than or equal to %zu", max));
}

void logs__check_int(logs_check_t *k, const char *member, json_t *v, long long min, long long max)
{
    if (!v || !json_is_integer(v))
        return;
    long long x = json_integer_value(v);
    char text[32];
    snprintf(text, sizeof text, "%lld", x);
    if (x < min)
        logs__check_add(k, member, text,
                        arena_sprintf(k->c->arena, "Member must have value greater than or equal to %lld", min));
    if (x > max)
        logs__check_add(k, member, text,
                        arena_sprintf(k->c->arena, "Member must have value less than or equal to %lld", max));
}

bool logs__check_done(logs_check_t *k)
{
    bool ok = k->n == 0;
    if (!ok)
        svc_error(k->c, "InvalidParameterException", 400, "%d validation error%s detected: %s", k->n,
                  k->n == 1 ? "" : "s", k->msg.data);
    buf_destroy(&k->msg);
    return ok;
}

/* ==== ARN builders ==== */

/* The group a call names: logGroupName, or logGroupIdentifier (a name or
 * an ARN, whose region and account then count). */
static void call_group(svc_call_t *c, const char **region, const char **account, const char **name)
{
    *region = logs__call_region(c);
    *account = logs__call_account(c);
    const char *n = svc_in_str(c, "logGroupName");
    const char *ident = svc_in_str(c, "logGroupIdentifier");
    if (!n && ident) {
        iam_arn_t a;
        if (strncmp(ident, "arn:", 4) == 0 && iam_arn_parse(strv_from(ident), &a) == 0 &&
            strv_starts_with(a.resource, "log-group:")) {
            strv_t rest = {a.resource.p + 10, a.resource.len - 10};
            if (rest.len >= 2 && memcmp(rest.p + rest.len - 2, ":*", 2) == 0)
                rest.len -= 2;
            *region = arena_strndup(c->arena, a.region.p, a.region.len);
            *account = arena_strndup(c->arena, a.account.p, a.account.len);
            n = arena_strndup(c->arena, rest.p, rest.len);
        } else {
            n = ident;
        }
    }
    *name = n ? n : "";
}

static int arn_group(svc_call_t *c, const char **arn)
{
    const char *region, *account, *name;
    call_group(c, &region, &account, &name);
    *arn = arena_sprintf(c->arena, "arn:aws:logs:%s:%s:log-group:%s:log-stream:", region, account, name);
    return 0;
}

static int arn_stream(svc_call_t *c, const char **arn)
{
    const char *region, *account, *name, *stream = svc_in_str(c, "logStreamName");
    call_group(c, &region, &account, &name);
    *arn = arena_sprintf(c->arena, "arn:aws:logs:%s:%s:log-group:%s:log-stream:%s", region, account, name,
                         stream ? stream : "");
    return 0;
}

static int arn_all_groups(svc_call_t *c, const char **arn)
{
    *arn = arena_sprintf(c->arena, "arn:aws:logs:%s:%s:log-group::log-stream:", logs__call_region(c),
                         logs__call_account(c));
    return 0;
}

/* TagResource & co.: the resourceArn given; a group's as for group actions. */
static int arn_resource(svc_call_t *c, const char **arn)
{
    const char *r = svc_in_str(c, "resourceArn");
    if (!r || !*r) {
        *arn = "*";
        return 0;
    }
    size_t n = strlen(r);
    if (strstr(r, ":log-group:") && !strstr(r, ":log-stream:"))
        *arn = arena_sprintf(c->arena, "%.*s:log-stream:", (int)(n >= 2 && strcmp(r + n - 2, ":*") == 0 ? n - 2 : n),
                             r);
    else
        *arn = r;
    return 0;
}

/* ==== the operation table ==== */

#define M SVC_OP_MUTATING
static const svc_op_t logs_ops[] = {
    {"CreateLogGroup", logs_create_log_group, "logs:CreateLogGroup", arn_group, M},
    {"CreateLogStream", logs_create_log_stream, "logs:CreateLogStream", arn_stream, M},
    {"DeleteLogGroup", logs_delete_log_group, "logs:DeleteLogGroup", arn_group, M},
    {"DeleteLogStream", logs_delete_log_stream, "logs:DeleteLogStream", arn_stream, M},
    {"DeleteSubscriptionFilter", logs_delete_subscription_filter, "logs:DeleteSubscriptionFilter", arn_group, M},
    {"DeleteRetentionPolicy", logs_delete_retention_policy, "logs:DeleteRetentionPolicy", arn_group, M},
    {"DescribeLogGroups", logs_describe_log_groups, "logs:DescribeLogGroups", arn_all_groups, 0},
    {"DescribeLogStreams", logs_describe_log_streams, "logs:DescribeLogStreams", arn_group, 0},
    {"DescribeSubscriptionFilters", logs_describe_subscription_filters, "logs:DescribeSubscriptionFilters", arn_group,
     0},
    {"FilterLogEvents", logs_filter_log_events, "logs:FilterLogEvents", arn_group, 0},
    {"GetLogEvents", logs_get_log_events, "logs:GetLogEvents", arn_stream, 0},
    {"ListTagsForResource", logs_list_tags_for_resource, "logs:ListTagsForResource", arn_resource, 0},
    {"ListTagsLogGroup", logs_list_tags_log_group, "logs:ListTagsLogGroup", arn_group, 0},
    {"PutLogEvents", logs_put_log_events, "logs:PutLogEvents", arn_stream, M},
    {"PutSubscriptionFilter", logs_put_subscription_filter, "logs:PutSubscriptionFilter", arn_group, M},
    {"PutRetentionPolicy", logs_put_retention_policy, "logs:PutRetentionPolicy", arn_group, M},
    {"TagLogGroup", logs_tag_log_group, "logs:TagLogGroup", arn_group, M},
    {"TagResource", logs_tag_resource, "logs:TagResource", arn_resource, M},
    {"UntagLogGroup", logs_untag_log_group, "logs:UntagLogGroup", arn_group, M},
    {"UntagResource", logs_untag_resource, "logs:UntagResource", arn_resource, M},
};
#undef M

/* ==== lifecycle ==== */

static void on_dq_closed(dq_t *dq)
{
    logs_state_t *st = container_of(dq, logs_state_t, dq);
    free(st);
}

static void *logs_create(kyoka_ctx_t *ctx, char *err, size_t errcap)
{
    logs_state_t *st = xcalloc(1, sizeof *st);
    st->ctx = ctx;
    st->store = ctx->store;
    st->next_group_id = st->next_stream_id = st->next_seq = 1;
    st->sweep.cb = logs__on_sweep;
    st->deliver.cb = logs__on_deliver;
    dq_init(&st->dq, ctx->loop);
    if (logs__store_migrate(st, err, errcap) != 0 || logs__store_load(st, err, errcap) != 0) {
        logs__state_clear(st);
        st->closing = true;
        dq_close(&st->dq, on_dq_closed); /* frees st once the handles are closed */
        return NULL;
    }
    logs__sweep_arm(st, kyoka_clock_now_ms() + LOGS_SWEEP_INTERVAL_MS);
    return st;
}

static void logs_free(void *state)
{
    logs_state_t *st = state;
    if (!st)
        return;
    logs__state_clear(st);
    st->closing = true;
    logs__watches_disown(st);
    dq_remove(&st->dq, &st->sweep);
    dq_remove(&st->dq, &st->deliver);
    /* The state holds the dq's libuv handles: it is freed once they are
     * closed. */
    dq_close(&st->dq, on_dq_closed);
}

static void logs_reset(void *state)
{
    logs_state_t *st = state;
    logs__state_clear(st);
    st->next_group_id = st->next_stream_id = st->next_seq = 1;
    logs__write_begin(st);
    if (store_exec(st->store, "DELETE FROM logs_events; DELETE FROM logs_streams; DELETE FROM logs_subscriptions;"
                               " DELETE FROM logs_groups;") != 0)
        log_error("logs: reset could not clear the store");
}

const svc_def_t logs_service = {
    .name = "logs",
    .ops = logs_ops,
    .nops = KYOKA_ARRAY_LEN(logs_ops),
    .create = logs_create,
    .free = logs_free,
    .reset = logs_reset,
};
