/*
 * Amazon EventBridge (JSON 1.1, AWSEvents): the operation table, the
 * resource ARNs calls are authorized on, and the service's lifecycle.
 *
 * ARNs follow the Service Authorization Reference
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html):
 * bus operations and PutEvents act on event-bus/NAME, rule and target
 * operations on the rule (rule/NAME on the default bus, rule/BUS/NAME on
 * another); listing and TestEventPattern on "*". A bus policy is the
 * event-bus resource's policy (resource_policy below), so PutEvents from
 * another account, or from a principal the policy names, is decided by it.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== ARN builders ==== */

static const char *bus_arn(svc_call_t *c, const char *name_or_arn)
{
    if (name_or_arn && strncmp(name_or_arn, "arn:", 4) == 0)
        return name_or_arn;
    return arena_sprintf(c->arena, "arn:aws:events:%s:%s:event-bus/%s", events__region(c), events__account(c),
                         name_or_arn && *name_or_arn ? name_or_arn : "default");
}

static int arn_bus_name(svc_call_t *c, const char **arn)
{
    *arn = bus_arn(c, svc_in_str(c, "Name"));
    return 0;
}

static int arn_bus(svc_call_t *c, const char **arn)
{
    *arn = bus_arn(c, svc_in_str(c, "EventBusName"));
    return 0;
}

static const char *rule_arn(svc_call_t *c, const char *member)
{
    const char *bus = events__bus_name_of(c, svc_in_str(c, "EventBusName"));
    const char *name = svc_in_str(c, member);
    if (strcmp(bus, "default") == 0)
        return arena_sprintf(c->arena, "arn:aws:events:%s:%s:rule/%s", events__region(c), events__account(c),
                             name ? name : "");
    return arena_sprintf(c->arena, "arn:aws:events:%s:%s:rule/%s/%s", events__region(c), events__account(c), bus,
                         name ? name : "");
}

static int arn_rule(svc_call_t *c, const char **arn)
{
    *arn = rule_arn(c, "Name");
    return 0;
}

static int arn_rule_of_targets(svc_call_t *c, const char **arn)
{
    *arn = rule_arn(c, "Rule");
    return 0;
}

static int arn_resource(svc_call_t *c, const char **arn)
{
    const char *r = svc_in_str(c, "ResourceARN");
    *arn = r && *r ? r : "*";
    return 0;
}

/* PutEvents: the first entry's bus; put.c authorizes the others. */
static int arn_put_events(svc_call_t *c, const char **arn)
{
    json_t *first = json_array_get(svc_in(c, "Entries"), 0);
    *arn = bus_arn(c, json_string_value(json_object_get(first, "EventBusName")));
    return 0;
}

/* ==== the operation table ==== */

#define M SVC_OP_MUTATING
static const svc_op_t events_ops[] = {
    {"CreateEventBus", events_create_event_bus, "events:CreateEventBus", arn_bus_name, M},
    {"DeleteEventBus", events_delete_event_bus, "events:DeleteEventBus", arn_bus_name, M},
    {"DeleteRule", events_delete_rule, "events:DeleteRule", arn_rule, M},
    {"DescribeEventBus", events_describe_event_bus, "events:DescribeEventBus", arn_bus_name, 0},
    {"DescribeRule", events_describe_rule, "events:DescribeRule", arn_rule, 0},
    {"DisableRule", events_disable_rule, "events:DisableRule", arn_rule, M},
    {"EnableRule", events_enable_rule, "events:EnableRule", arn_rule, M},
    {"ListEventBuses", events_list_event_buses, "events:ListEventBuses", NULL, 0},
    {"ListRuleNamesByTarget", events_list_rule_names_by_target, "events:ListRuleNamesByTarget", NULL, 0},
    {"ListRules", events_list_rules, "events:ListRules", NULL, 0},
    {"ListTagsForResource", events_list_tags_for_resource, "events:ListTagsForResource", arn_resource, 0},
    {"ListTargetsByRule", events_list_targets_by_rule, "events:ListTargetsByRule", arn_rule_of_targets, 0},
    {"PutEvents", events_put_events, "events:PutEvents", arn_put_events, M},
    {"PutPermission", events_put_permission, "events:PutPermission", arn_bus, M},
    {"PutRule", events_put_rule, "events:PutRule", arn_rule, M},
    {"PutTargets", events_put_targets, "events:PutTargets", arn_rule_of_targets, M},
    {"RemovePermission", events_remove_permission, "events:RemovePermission", arn_bus, M},
    {"RemoveTargets", events_remove_targets, "events:RemoveTargets", arn_rule_of_targets, M},
    {"TagResource", events_tag_resource, "events:TagResource", arn_resource, M},
    {"TestEventPattern", events_test_event_pattern, "events:TestEventPattern", NULL, 0},
    {"UntagResource", events_untag_resource, "events:UntagResource", arn_resource, M},
};
#undef M

/* ==== lifecycle ==== */

static void state_clear(events_state_t *st)
{
    while (st->buses) {
        events_bus_t *b = st->buses;
        st->buses = b->next;
        events__bus_free(b);
    }
    events_roles_clear(st->roles);
}

static void on_handle_closed(uv_handle_t *h) { free(h); }

static void events_free(void *state)
{
    events_state_t *st = state;
    if (!st)
        return;
    evq_stop(st->q);
    evq_free(st->q);
    state_clear(st);
    events_roles_free(st->roles);
    uv_close((uv_handle_t *)st->sched_timer, on_handle_closed);
    free(st);
}

static void *events_create(kyoka_ctx_t *ctx, char *err, size_t errcap)
{
    events_state_t *st = xcalloc(1, sizeof *st);
    st->ctx = ctx;
    st->store = ctx->store;
    st->roles = events_roles_new(EVENTS_PRINCIPAL);
    st->sched_timer = xcalloc(1, sizeof *st->sched_timer);
    uv_timer_init(ctx->loop, st->sched_timer);
    st->sched_timer->data = st;
    if (events__store_migrate(st, err, errcap) != 0 || events__store_load(st, err, errcap) != 0) {
        events_free(st);
        return NULL;
    }
    evq_consumer_t consumer = events__consumer;
    consumer.data = st;
    st->q = evq_create(ctx, "events", &consumer, err, errcap);
    if (!st->q) {
        events_free(st);
        return NULL;
    }
    events__sched_arm(st);
    return st;
}

static void events_stopping(void *state)
{
    events_state_t *st = state;
    evq_stop(st->q);
    uv_timer_stop(st->sched_timer);
}

static void events_reset(void *state)
{
    events_state_t *st = state;
    state_clear(st);
    evq_reset(st->q);
    uv_timer_stop(st->sched_timer);
    store_write_begin(st->store);
    if (store_exec(st->store, "DELETE FROM events_rules; DELETE FROM events_buses;") != 0)
        log_error("events: reset could not clear the store");
}

static void events_clock_moved(void *state)
{
    events_state_t *st = state;
    events__sched_fire(st);
    evq_kick(st->q);
}

/* AWS services put their own events on the account's default bus (S3's
 * "Object Created" when a bucket's EventBridgeConfiguration is on) without
 * the user writing a bus policy for it: this stands for that, while the
 * default bus has no policy of its own. */
static const iam_policy_t *aws_service_events_policy(void)
{
    static iam_policy_t *p;
    if (!p) {
        static const char doc[] =
            "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AwsServiceEvents\",\"Effect\":\"Allow\","
            "\"Principal\":{\"Service\":[\"s3.amazonaws.com\"]},\"Action\":\"events:PutEvents\",\"Resource\":\"*\"}]}";
        char err[256];
        p = iam_policy_parse(doc, sizeof doc - 1, IAM_POLICY_RESOURCE, KYOKA_RESOURCE_POLICY_MAX_BYTES, err, sizeof err, NULL);
        if (!p)
            log_error("events: the AWS service events policy does not parse: %s", err);
    }
    return p;
}

static const iam_policy_t *events_resource_policy(void *state, const char *arn, const char **owner)
{
    events_state_t *st = state;
    const char *p = arn ? strstr(arn, ":event-bus/") : NULL;
    iam_arn_t a;
    if (!p || iam_arn_parse(strv_from(arn), &a) != 0)
        return NULL;
    char region[64];
    snprintf(region, sizeof region, "%.*s", (int)a.region.len, a.region.p);
    for (events_bus_t *b = st->buses; b; b = b->next)
        if (strcmp(b->name, p + 11) == 0 && strcmp(b->region, region) == 0) {
            *owner = b->account;
            if (!b->policy_c && strcmp(b->name, "default") == 0)
                return aws_service_events_policy();
            return b->policy_c;
        }
    return NULL;
}

const svc_def_t events_service = {
    .name = "events",
    .ops = events_ops,
    .nops = KYOKA_ARRAY_LEN(events_ops),
    .create = events_create,
    .free = events_free,
    .stopping = events_stopping,
    .reset = events_reset,
    .clock_moved = events_clock_moved,
    .resource_policy = events_resource_policy,
};

json_t *events_summary(void *state)
{
    events_state_t *st = state;
    json_t *o = evq_summary(st ? st->q : NULL);
    if (st) {
        json_object_set_new(o, "events", json_integer((json_int_t)st->events_in));
        json_object_set_new(o, "matched", json_integer((json_int_t)st->matched));
    }
    return o;
}
