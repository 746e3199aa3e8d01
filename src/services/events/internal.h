/* Shared inside the EventBridge service only. */
#ifndef KYOKA_EVENTS_INTERNAL_H
#define KYOKA_EVENTS_INTERNAL_H

#include "events.h"
#include "evq.h"
#include "pattern/pattern.h"
#include "sched.h"
#include "services/service.h"

/* Quotas (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html):
 * 5 targets per rule, 10 entries and 256 KB per PutEvents, 100 variables
 * in an InputPathsMap. */
#define EVENTS_MAX_TARGETS 5
#define EVENTS_MAX_ENTRIES 10
#define EVENTS_MAX_PUT_BYTES (256 * 1024)
#define EVENTS_MAX_PATHS 100
#define EVENTS_PRINCIPAL "events.amazonaws.com"
/* Firings of one schedule made per loop turn at most (a clock moved far
 * ahead catches up over several turns). */
#define EVENTS_MAX_FIRES_PER_TURN 1000

typedef struct events_state events_state_t;
typedef struct events_bus events_bus_t;

typedef struct events_rule {
    uint32_t id;             /* in the bus's pattern set */
    char *name;
    char *arn;
    events_bus_t *bus;
    char *pattern;           /* EventPattern text, or NULL */
    char *schedule;          /* ScheduleExpression, or NULL */
    events_sched_t sched;
    bool enabled;
    char *description;
    char *role_arn;
    char *managed_by;
    json_t *tags;            /* [{"Key","Value"}] */
    json_t *targets;         /* [Target...] in the order given */
    int64_t created_ms;
    int64_t next_ms;         /* schedules: the next firing (server clock) */
    struct events_rule *next;
} events_rule_t;

struct events_bus {
    char *region;
    char *account;
    char *name;
    char *arn;
    char *policy;            /* the bus policy text, or NULL */
    iam_policy_t *policy_c;
    json_t *tags;
    int64_t created_ms;
    events_rule_t *rules;
    pattern_set_t *set;      /* every rule with an EventPattern, by id */
    events_rule_t **by_id;   /* rule id -> rule (NULL once deleted) */
    uint32_t nids;
    uint32_t next_id;        /* ids are never reused while the bus lives */
    events_bus_t *next;
};

struct events_state {
    kyoka_ctx_t *ctx;
    store_t *store;
    events_bus_t *buses;
    evq_t *q;
    uv_timer_t *sched_timer;
    events_roles_t *roles;   /* sessions of target roles, as events.amazonaws.com */
    uint64_t events_in, matched;
};

/* bus.c */
events_bus_t *events__bus_lookup(events_state_t *st, const char *region, const char *name);
/* The bus a call names (EventBusName: a name or an ARN; default when
 * absent); sets ResourceNotFoundException and returns NULL otherwise. */
events_bus_t *events__bus_get_or_fail(svc_call_t *c, const char *member);
/* A bus name or ARN to the name ("default" for NULL). */
const char *events__bus_name_of(svc_call_t *c, const char *name_or_arn);
const char *events__region(svc_call_t *c);
const char *events__account(svc_call_t *c);
void events__bus_persist(events_state_t *st, events_bus_t *b);
void events__bus_free(events_bus_t *b);
int events_create_event_bus(svc_call_t *c);
int events_delete_event_bus(svc_call_t *c);
int events_describe_event_bus(svc_call_t *c);
int events_list_event_buses(svc_call_t *c);
int events_put_permission(svc_call_t *c);
int events_remove_permission(svc_call_t *c);
int events_tag_resource(svc_call_t *c);
int events_untag_resource(svc_call_t *c);
int events_list_tags_for_resource(svc_call_t *c);

/* rule.c */
events_rule_t *events__rule_lookup(events_bus_t *b, const char *name);
void events__rule_persist(events_state_t *st, events_rule_t *r);
void events__rule_free(events_rule_t *r);
/* Add the rule to its bus's pattern set (its pattern was validated). */
void events__rule_index(events_rule_t *r);
int events_put_rule(svc_call_t *c);
int events_describe_rule(svc_call_t *c);
int events_list_rules(svc_call_t *c);
int events_delete_rule(svc_call_t *c);
int events_enable_rule(svc_call_t *c);
int events_disable_rule(svc_call_t *c);
int events_put_targets(svc_call_t *c);
int events_remove_targets(svc_call_t *c);
int events_list_targets_by_rule(svc_call_t *c);
int events_list_rule_names_by_target(svc_call_t *c);

/* put.c */
int events_put_events(svc_call_t *c);
int events_test_event_pattern(svc_call_t *c);
/* Match an event (the envelope, as text and tree) on bus b and queue a
 * delivery for every target of every enabled rule it matches. */
void events__route(events_state_t *st, events_bus_t *b, const json_t *event, const char *text, size_t len);
/* Queue one rule's targets for an event. */
void events__route_rule(events_state_t *st, events_rule_t *r, const json_t *event, const char *text, size_t len);

/* input.c: what a target receives. Validation returns NULL or AWS's message
 * (arena string); shaping returns malloc'd text. */
const char *events__input_check(arena_t *a, json_t *target);
/* A JSON path of InputPath's kind ("$.detail.id") into doc (borrowed), and
 * whether a path reads. */
const json_t *events__path_get(const json_t *doc, const char *path);
bool events__path_ok(const char *path);
char *events__input_shape(const json_t *target, const events_rule_t *r, const json_t *event, const char *text,
                          size_t len, size_t *out_len);

/* deliver.c */
extern const evq_consumer_t events__consumer;
/* schedules (deliver.c): fire what is due, arm the timer. */
void events__sched_arm(events_state_t *st);
void events__sched_fire(events_state_t *st);

/* persist.c */
int events__store_migrate(events_state_t *st, char *err, size_t errcap);
int events__store_load(events_state_t *st, char *err, size_t errcap);

#endif
