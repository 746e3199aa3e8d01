/* Shared inside the EventBridge Scheduler service only. */
#ifndef KYOKA_SCHEDULER_INTERNAL_H
#define KYOKA_SCHEDULER_INTERNAL_H

#include "services/events/events.h"
#include "services/service.h"

#define SCHEDULER_PRINCIPAL "scheduler.amazonaws.com"
#define SCHEDULER_MAX_FIRES_PER_TURN 1000

typedef struct sch_group {
    char *region, *name, *arn;
    int64_t created_ms, modified_ms;
    json_t *tags;            /* [{"Key","Value"}...], in the order first set */
    struct sch_group *next;
} sch_group_t;

typedef struct sch_schedule {
    char *region, *group, *name, *arn;
    json_t *cfg;             /* the settings as given (model member names) */
    events_sched_t sched;
    const events_tz_t *tz;
    int64_t start_ms, end_ms;  /* 0: none */
    int64_t window_ms;         /* FLEXIBLE: the window; 0: OFF */
    bool enabled;
    bool delete_after;         /* ActionAfterCompletion DELETE */
    int64_t next_ms;           /* the next nominal time (INT64_MAX: done) */
    struct sch_schedule *next;
} sch_schedule_t;

typedef struct sch_state {
    kyoka_ctx_t *ctx;
    store_t *store;
    sch_group_t *groups;
    sch_schedule_t *schedules;
    evq_t *q;
    events_roles_t *roles;
    uv_timer_t *timer;
} sch_state_t;

/* schedule.c */
int scheduler_create_schedule(svc_call_t *c);
int scheduler_get_schedule(svc_call_t *c);
int scheduler_update_schedule(svc_call_t *c);
int scheduler_delete_schedule(svc_call_t *c);
int scheduler_list_schedules(svc_call_t *c);
int scheduler_create_schedule_group(svc_call_t *c);
int scheduler_get_schedule_group(svc_call_t *c);
int scheduler_delete_schedule_group(svc_call_t *c);
int scheduler_list_schedule_groups(svc_call_t *c);
int scheduler_tag_resource(svc_call_t *c);
int scheduler_untag_resource(svc_call_t *c);
int scheduler_list_tags_for_resource(svc_call_t *c);
const char *scheduler__region(svc_call_t *c);
const char *scheduler__account(svc_call_t *c);
int scheduler__migrate(sch_state_t *st, char *err, size_t errcap);
void scheduler__load(sch_state_t *st);
void scheduler__clear(sch_state_t *st);
void scheduler__fire(sch_state_t *st);
void scheduler__arm(sch_state_t *st);
extern const evq_consumer_t scheduler__consumer;

#endif
