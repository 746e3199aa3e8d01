/*
 * Amazon EventBridge Scheduler (REST-JSON, service "scheduler"): the
 * operation table, the ARNs calls are authorized on, and the lifecycle.
 *
 * ARNs (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridgescheduler.html):
 * schedule/GROUP/NAME and schedule-group/NAME. Routing: Scheduler's paths
 * (/schedules/..., /schedule-groups/...) carry no date, so the front door
 * routes them by the SigV4 scope "scheduler" (server/dispatch.c,
 * route_rest).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static int arn_schedule(svc_call_t *c, const char **arn)
{
    const char *g = svc_in_str(c, "GroupName");
    const char *n = svc_in_str(c, "Name");
    *arn = arena_sprintf(c->arena, "arn:aws:scheduler:%s:%s:schedule/%s/%s", scheduler__region(c),
                         scheduler__account(c), g && *g ? g : "default", n ? n : "");
    return 0;
}

static int arn_group(svc_call_t *c, const char **arn)
{
    const char *n = svc_in_str(c, "Name");
    *arn = arena_sprintf(c->arena, "arn:aws:scheduler:%s:%s:schedule-group/%s", scheduler__region(c),
                         scheduler__account(c), n ? n : "");
    return 0;
}

static int arn_tagged(svc_call_t *c, const char **arn)
{
    const char *a = svc_in_str(c, "ResourceArn");
    *arn = a ? a : "*";
    return 0;
}

#define M SVC_OP_MUTATING
static const svc_op_t scheduler_ops[] = {
    {"CreateSchedule", scheduler_create_schedule, "scheduler:CreateSchedule", arn_schedule, M},
    {"CreateScheduleGroup", scheduler_create_schedule_group, "scheduler:CreateScheduleGroup", arn_group, M},
    {"DeleteSchedule", scheduler_delete_schedule, "scheduler:DeleteSchedule", arn_schedule, M},
    {"DeleteScheduleGroup", scheduler_delete_schedule_group, "scheduler:DeleteScheduleGroup", arn_group, M},
    {"GetSchedule", scheduler_get_schedule, "scheduler:GetSchedule", arn_schedule, 0},
    {"GetScheduleGroup", scheduler_get_schedule_group, "scheduler:GetScheduleGroup", arn_group, 0},
    {"ListScheduleGroups", scheduler_list_schedule_groups, "scheduler:ListScheduleGroups", NULL, 0},
    {"ListSchedules", scheduler_list_schedules, "scheduler:ListSchedules", NULL, 0},
    {"ListTagsForResource", scheduler_list_tags_for_resource, "scheduler:ListTagsForResource", arn_tagged, 0},
    {"TagResource", scheduler_tag_resource, "scheduler:TagResource", arn_tagged, M},
    {"UntagResource", scheduler_untag_resource, "scheduler:UntagResource", arn_tagged, M},
    {"UpdateSchedule", scheduler_update_schedule, "scheduler:UpdateSchedule", arn_schedule, M},
};
#undef M

static void on_handle_closed(uv_handle_t *h) { free(h); }

static void scheduler_free(void *state)
{
    sch_state_t *st = state;
    if (!st)
        return;
    evq_stop(st->q);
    evq_free(st->q);
    scheduler__clear(st);
    events_roles_free(st->roles);
    uv_close((uv_handle_t *)st->timer, on_handle_closed);
    free(st);
}

static void *scheduler_create(kyoka_ctx_t *ctx, char *err, size_t errcap)
{
    sch_state_t *st = xcalloc(1, sizeof *st);
    st->ctx = ctx;
    st->store = ctx->store;
    st->roles = events_roles_new(SCHEDULER_PRINCIPAL);
    st->timer = xcalloc(1, sizeof *st->timer);
    uv_timer_init(ctx->loop, st->timer);
    st->timer->data = st;
    if (scheduler__migrate(st, err, errcap) != 0) {
        scheduler_free(st);
        return NULL;
    }
    scheduler__load(st);
    evq_consumer_t consumer = scheduler__consumer;
    consumer.data = st;
    st->q = evq_create(ctx, "scheduler", &consumer, err, errcap);
    if (!st->q) {
        scheduler_free(st);
        return NULL;
    }
    scheduler__arm(st);
    return st;
}

static void scheduler_stopping(void *state)
{
    sch_state_t *st = state;
    evq_stop(st->q);
    uv_timer_stop(st->timer);
}

static void scheduler_reset(void *state)
{
    sch_state_t *st = state;
    scheduler__clear(st);
    evq_reset(st->q);
    uv_timer_stop(st->timer);
    store_write_begin(st->store);
    if (store_exec(st->store, "DELETE FROM scheduler_schedules; DELETE FROM scheduler_groups;") != 0)
        log_error("scheduler: reset could not clear the store");
}

static void scheduler_clock_moved(void *state)
{
    sch_state_t *st = state;
    scheduler__fire(st);
    evq_kick(st->q);
}

const svc_def_t scheduler_service = {
    .name = "scheduler",
    .ops = scheduler_ops,
    .nops = KYOKA_ARRAY_LEN(scheduler_ops),
    .create = scheduler_create,
    .free = scheduler_free,
    .stopping = scheduler_stopping,
    .reset = scheduler_reset,
    .clock_moved = scheduler_clock_moved,
};
