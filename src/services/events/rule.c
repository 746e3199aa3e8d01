/*
 * Rules and their targets.
 *
 * A rule matches with an EventPattern (validated by the pattern component
 * and compiled, with every other rule of its bus, into the bus's one
 * pattern_set_t, so an event is matched once per bus whatever the number
 * of rules) or fires on a ScheduleExpression (default bus only, as on
 * AWS). Targets are kept as the JSON PutTargets received them; a delivery
 * copies its target's JSON, so a target changed later does not change an
 * event already on its way.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

events_rule_t *events__rule_lookup(events_bus_t *b, const char *name)
{
    for (events_rule_t *r = b->rules; r; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r;
    return NULL;
}

void events__rule_free(events_rule_t *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->arn);
    free(r->pattern);
    free(r->schedule);
    free(r->description);
    free(r->role_arn);
    free(r->managed_by);
    json_decref(r->tags);
    json_decref(r->targets);
    free(r);
}

void events__rule_index(events_rule_t *r)
{
    events_bus_t *b = r->bus;
    if (r->id >= b->nids) {
        uint32_t n = b->nids ? b->nids * 2 : 64;
        while (n <= r->id)
            n *= 2;
        b->by_id = xrealloc(b->by_id, n * sizeof *b->by_id);
        memset(b->by_id + b->nids, 0, (n - b->nids) * sizeof *b->by_id);
        b->nids = n;
    }
    b->by_id[r->id] = r;
    if (!r->pattern)
        return;
    char err[256];
    if (pattern_set_add(b->set, r->pattern, strlen(r->pattern), r->id, err, sizeof err) != 0)
        log_warn("events: the pattern of %s no longer compiles: %s", r->arn, err);
}

static void rule_unindex(events_rule_t *r)
{
    if (r->pattern)
        (void)pattern_set_remove(r->bus->set, r->id);
    if (r->id < r->bus->nids)
        r->bus->by_id[r->id] = NULL;
}

static uint32_t next_rule_id(events_bus_t *b)
{
    /* Ids are not reused while the bus lives: a stale match cannot name
     * another rule. */
    return b->next_id++;
}

static bool rule_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

static events_rule_t *rule_get_or_fail(svc_call_t *c, events_bus_t **bus_out, const char *member)
{
    events_bus_t *b = events__bus_get_or_fail(c, "EventBusName");
    if (!b)
        return NULL;
    const char *name = svc_in_str(c, member);
    events_rule_t *r = events__rule_lookup(b, name);
    if (!r)
        svc_error(c, "ResourceNotFoundException", 400, "Rule %s does not exist on EventBus %s.", name, b->name);
    if (bus_out)
        *bus_out = b;
    return r;
}

/* The first firing of a schedule set now. A rate() rule first fires one
 * period after it is created; a cron() rule at its next matching minute. */
static int64_t first_fire(const events_sched_t *s, int64_t now)
{
    return s->kind == EVENTS_SCHED_RATE ? now + s->rate_ms : events_sched_next(s, NULL, now);
}

/* ==== operation handlers ==== */

int events_put_rule(svc_call_t *c)
{
    events_state_t *st = c->state;
    const char *name = svc_in_str(c, "Name");
    if (!rule_name_ok(name)) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy "
                  "regular expression pattern: [\\.\\-_A-Za-z0-9]+",
                  name);
        return 0;
    }
    events_bus_t *b = events__bus_get_or_fail(c, "EventBusName");
    if (!b)
        return 0;
    const char *pattern = svc_in_str(c, "EventPattern");
    const char *schedule = svc_in_str(c, "ScheduleExpression");
    const char *state = svc_in_str(c, "State");
    if (!pattern && !schedule) {
        svc_error(c, "ValidationException", 400, "Parameter(s) EventPattern or ScheduleExpression must be specified.");
        return 0;
    }
    if (pattern) {
        char err[512];
        if (pattern_validate(pattern, strlen(pattern), err, sizeof err) != 0) {
            svc_error(c, "InvalidEventPatternException", 400, "%s%s", PATTERN_EVENTBRIDGE_PREFIX, err);
            return 0;
        }
    }
    events_sched_t sched = {0};
    if (schedule) {
        if (strcmp(b->name, "default") != 0) {
            svc_error(c, "ValidationException", 400, "ScheduleExpression is supported only on the default event bus.");
            return 0;
        }
        char why[128];
        if (events_sched_parse(schedule, strlen(schedule), false, &sched, why, sizeof why) != 0) {
            log_debug("events: schedule %s refused: %s", schedule, why);
            svc_error(c, "ValidationException", 400, "Parameter ScheduleExpression is not valid.");
            return 0;
        }
    }
    if (state && strcmp(state, "ENABLED") != 0 && strcmp(state, "DISABLED") != 0) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy "
                  "enum value set: [ENABLED, DISABLED]",
                  state);
        return 0;
    }
    events_rule_t *r = events__rule_lookup(b, name);
    int64_t now = kyoka_clock_now_ms();
    if (!r) {
        json_t *tags = json_array();
        json_t *in_tags = svc_in(c, "Tags");
        size_t i;
        json_t *t;
        json_array_foreach(in_tags, i, t)
        {
            const char *k = json_string_value(json_object_get(t, "Key"));
            const char *v = json_string_value(json_object_get(t, "Value"));
            if (k && v)
                json_array_append_new(tags, json_pack("{s:s,s:s}", "Key", k, "Value", v));
        }
        r = xcalloc(1, sizeof *r);
        r->name = xstrdup(name);
        r->bus = b;
        r->arn = strcmp(b->name, "default") == 0
                     ? xasprintf("arn:aws:events:%s:%s:rule/%s", b->region, b->account, name)
                     : xasprintf("arn:aws:events:%s:%s:rule/%s/%s", b->region, b->account, b->name, name);
        r->tags = tags;
        r->targets = json_array();
        r->created_ms = now;
        r->id = next_rule_id(b);
        r->next = b->rules;
        b->rules = r;
    } else {
        rule_unindex(r);
    }
    bool same_schedule = r->schedule && schedule && strcmp(r->schedule, schedule) == 0;
    free(r->pattern);
    r->pattern = pattern ? xstrdup(pattern) : NULL;
    free(r->schedule);
    r->schedule = schedule ? xstrdup(schedule) : NULL;
    r->sched = sched;
    if (!schedule)
        r->next_ms = 0;
    else if (!same_schedule)
        r->next_ms = first_fire(&sched, now);
    /* A rule updated without State keeps ENABLED, AWS's default. */
    r->enabled = !state || strcmp(state, "ENABLED") == 0;
    free(r->description);
    r->description = svc_in_str(c, "Description") ? xstrdup(svc_in_str(c, "Description")) : NULL;
    free(r->role_arn);
    r->role_arn = svc_in_str(c, "RoleArn") ? xstrdup(svc_in_str(c, "RoleArn")) : NULL;
    /* A new id each time: the pattern set forgets the old pattern. */
    r->id = next_rule_id(b);
    events__rule_index(r);
    events__rule_persist(st, r);
    events__sched_arm(st);
    json_object_set_new(svc_output(c), "RuleArn", json_string(r->arn));
    return 0;
}

static json_t *rule_view(const events_rule_t *r, bool describe)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "Name", r->name, "Arn", r->arn, "State",
                          r->enabled ? "ENABLED" : "DISABLED", "EventBusName", r->bus->name);
    if (r->pattern)
        json_object_set_new(o, "EventPattern", json_string(r->pattern));
    if (r->schedule)
        json_object_set_new(o, "ScheduleExpression", json_string(r->schedule));
    if (r->description)
        json_object_set_new(o, "Description", json_string(r->description));
    if (r->role_arn)
        json_object_set_new(o, "RoleArn", json_string(r->role_arn));
    if (r->managed_by)
        json_object_set_new(o, "ManagedBy", json_string(r->managed_by));
    if (describe)
        json_object_set_new(o, "CreatedBy", json_string(r->bus->account));
    return o;
}

int events_describe_rule(svc_call_t *c)
{
    events_rule_t *r = rule_get_or_fail(c, NULL, "Name");
    if (r)
        c->output = rule_view(r, true);
    return 0;
}

static int cmp_rule(const void *a, const void *b)
{
    return strcmp((*(events_rule_t *const *)a)->name, (*(events_rule_t *const *)b)->name);
}

static int limit_of(svc_call_t *c, int dflt)
{
    json_t *lim = svc_in(c, "Limit");
    int limit = lim ? (int)json_integer_value(lim) : dflt;
    if (limit < 1 || limit > 100) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have "
                  "value %s",
                  limit, limit < 1 ? "greater than or equal to 1" : "less than or equal to 100");
        return -1;
    }
    return limit;
}

/* The rules of b that keep(rule, arg) accepts, sorted by name. */
static events_rule_t **rules_sorted(svc_call_t *c, events_bus_t *b, bool (*keep)(const events_rule_t *, const void *),
                                    const void *arg, size_t *n)
{
    size_t total = 0;
    for (events_rule_t *r = b->rules; r; r = r->next)
        total++;
    events_rule_t **all = arena_alloc(c->arena, (total ? total : 1) * sizeof *all);
    *n = 0;
    for (events_rule_t *r = b->rules; r; r = r->next)
        if (keep(r, arg))
            all[(*n)++] = r;
    qsort(all, *n, sizeof *all, cmp_rule);
    return all;
}

static bool keep_prefix(const events_rule_t *r, const void *arg)
{
    return !arg || strncmp(r->name, arg, strlen(arg)) == 0;
}

static bool keep_target(const events_rule_t *r, const void *arg)
{
    size_t i;
    json_t *t;
    json_array_foreach(r->targets, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "Arn")), arg) == 0)
            return true;
    }
    return false;
}

/* Page through sorted rules: NextToken is the last name returned. */
static size_t page_start(events_rule_t **all, size_t n, const char *token)
{
    size_t i = 0;
    if (token)
        while (i < n && strcmp(all[i]->name, token) <= 0)
            i++;
    return i;
}

int events_list_rules(svc_call_t *c)
{
    events_bus_t *b = events__bus_get_or_fail(c, "EventBusName");
    int limit = b ? limit_of(c, 100) : -1;
    if (limit < 0)
        return 0;
    size_t n;
    events_rule_t **all = rules_sorted(c, b, keep_prefix, svc_in_str(c, "NamePrefix"), &n);
    json_t *list = json_array();
    size_t i = page_start(all, n, svc_in_str(c, "NextToken"));
    for (; i < n && (int)json_array_size(list) < limit; i++)
        json_array_append_new(list, rule_view(all[i], false));
    json_object_set_new(svc_output(c), "Rules", list);
    if (i < n)
        json_object_set_new(c->output, "NextToken", json_string(all[i - 1]->name));
    return 0;
}

int events_list_rule_names_by_target(svc_call_t *c)
{
    events_bus_t *b = events__bus_get_or_fail(c, "EventBusName");
    int limit = b ? limit_of(c, 100) : -1;
    if (limit < 0)
        return 0;
    size_t n;
    events_rule_t **all = rules_sorted(c, b, keep_target, svc_in_str(c, "TargetArn"), &n);
    json_t *list = json_array();
    size_t i = page_start(all, n, svc_in_str(c, "NextToken"));
    for (; i < n && (int)json_array_size(list) < limit; i++)
        json_array_append_new(list, json_string(all[i]->name));
    json_object_set_new(svc_output(c), "RuleNames", list);
    if (i < n)
        json_object_set_new(c->output, "NextToken", json_string(all[i - 1]->name));
    return 0;
}

int events_delete_rule(svc_call_t *c)
{
    events_state_t *st = c->state;
    events_bus_t *b = events__bus_get_or_fail(c, "EventBusName");
    if (!b)
        return 0;
    const char *name = svc_in_str(c, "Name");
    for (events_rule_t **pp = &b->rules; *pp; pp = &(*pp)->next) {
        events_rule_t *r = *pp;
        if (strcmp(r->name, name) != 0)
            continue;
        /* "Before you can delete the rule, you must remove all targets,
         * using RemoveTargets." (API_DeleteRule) */
        if (json_array_size(r->targets)) {
            svc_error(c, "ValidationException", 400, "Rule can't be deleted since it has targets.");
            return 0;
        }
        if (r->managed_by && !json_is_true(svc_in(c, "Force"))) {
            svc_error(c, "ManagedRuleException", 400, "Rule %s is managed by %s.", r->name, r->managed_by);
            return 0;
        }
        *pp = r->next;
        rule_unindex(r);
        store_write_begin(st->store);
        sqlite3_stmt *q = store_stmt(st->store, "DELETE FROM events_rules WHERE region = ? AND bus = ? AND name = ?");
        sqlite3_bind_text(q, 1, b->region, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, b->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, r->name, -1, SQLITE_STATIC);
        (void)sqlite3_step(q);
        sqlite3_reset(q);
        events__rule_free(r);
        break;
    }
    return 0; /* a rule that is not there is deleted already */
}

static int set_enabled(svc_call_t *c, bool on)
{
    events_rule_t *r = rule_get_or_fail(c, NULL, "Name");
    if (!r)
        return 0;
    if (on && !r->enabled && r->schedule)
        r->next_ms = first_fire(&r->sched, kyoka_clock_now_ms());
    r->enabled = on;
    events__rule_persist(c->state, r);
    events__sched_arm(c->state);
    return 0;
}

int events_enable_rule(svc_call_t *c) { return set_enabled(c, true); }
int events_disable_rule(svc_call_t *c) { return set_enabled(c, false); }

static bool target_id_ok(const char *s)
{
    return s && rule_name_ok(s);
}

/* One target's problems, or NULL. */
static const char *target_check(svc_call_t *c, json_t *t)
{
    const char *arn = json_string_value(json_object_get(t, "Arn"));
    iam_arn_t a;
    if (!arn || iam_arn_parse(strv_from(arn), &a) != 0)
        return arena_sprintf(c->arena, "Parameter %s is not valid.", arn ? arn : "Arn");
    const char *why = events__input_check(c->arena, t);
    if (why)
        return why;
    if (strv_eq_cstr(a.service, "kinesis")) {
        /* EventBridge writes to a stream only with a role it assumes. */
        if (!json_string_value(json_object_get(t, "RoleArn")))
            return arena_sprintf(c->arena, "RoleArn is required for target arn %s.", arn);
        const char *pk = json_string_value(json_object_get(json_object_get(t, "KinesisParameters"), "PartitionKeyPath"));
        if (pk && !events__path_ok(pk))
            return arena_sprintf(c->arena, "Invalid PartitionKeyPath %s.", pk);
    }
    json_t *rp = json_object_get(t, "RetryPolicy");
    json_t *mra = json_object_get(rp, "MaximumRetryAttempts"), *age = json_object_get(rp, "MaximumEventAgeInSeconds");
    if (mra && (json_integer_value(mra) < 0 || json_integer_value(mra) > 185))
        return "1 validation error detected: Value at 'targets.member.retryPolicy.maximumRetryAttempts' failed to "
               "satisfy constraint: Member must have value between 0 and 185";
    if (age && (json_integer_value(age) < 60 || json_integer_value(age) > 86400))
        return "1 validation error detected: Value at 'targets.member.retryPolicy.maximumEventAgeInSeconds' failed "
               "to satisfy constraint: Member must have value between 60 and 86400";
    const char *dlq = json_string_value(json_object_get(json_object_get(t, "DeadLetterConfig"), "Arn"));
    if (dlq && (iam_arn_parse(strv_from(dlq), &a) != 0 || !strv_eq_cstr(a.service, "sqs")))
        return arena_sprintf(c->arena, "The dead-letter queue %s is not an Amazon SQS queue ARN.", dlq);
    return NULL;
}

int events_put_targets(svc_call_t *c)
{
    events_rule_t *r = rule_get_or_fail(c, NULL, "Rule");
    if (!r)
        return 0;
    json_t *in = svc_in(c, "Targets");
    size_t n = json_array_size(in);
    if (n < 1 || n > 100) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have "
                  "length %s",
                  n < 1 ? "greater than or equal to 1" : "less than or equal to 100");
        return 0;
    }
    json_t *next = json_deep_copy(r->targets);
    json_t *failed = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(in, i, t)
    {
        const char *id = json_string_value(json_object_get(t, "Id"));
        if (!target_id_ok(id)) {
            svc_error(c, "ValidationException", 400,
                      "1 validation error detected: Value '%s' at 'targets.%zu.member.id' failed to satisfy "
                      "constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
                      id ? id : "", i + 1);
            json_decref(next);
            json_decref(failed);
            return 0;
        }
        const char *why = target_check(c, t);
        if (why) {
            /* A bad target fails alone; the others are added. */
            json_array_append_new(failed, json_pack("{s:s,s:s,s:s}", "TargetId", id, "ErrorCode",
                                                    "ValidationException", "ErrorMessage", why));
            continue;
        }
        size_t j;
        json_t *old;
        bool replaced = false;
        json_array_foreach(next, j, old)
        {
            if (strcmp(json_string_value(json_object_get(old, "Id")), id) == 0) {
                json_array_set(next, j, t);
                replaced = true;
                break;
            }
        }
        if (!replaced)
            json_array_append(next, t);
    }
    /* At most five targets per rule; a request that would pass it changes
     * nothing. */
    if (json_array_size(next) > EVENTS_MAX_TARGETS) {
        json_decref(next);
        json_decref(failed);
        svc_error(c, "LimitExceededException", 400, "The requested resource exceeds the maximum number allowed.");
        return 0;
    }
    json_decref(r->targets);
    r->targets = next;
    events__rule_persist(c->state, r);
    json_object_set_new(svc_output(c), "FailedEntryCount", json_integer((json_int_t)json_array_size(failed)));
    json_object_set_new(c->output, "FailedEntries", failed);
    return 0;
}

int events_remove_targets(svc_call_t *c)
{
    events_rule_t *r = rule_get_or_fail(c, NULL, "Rule");
    if (!r)
        return 0;
    size_t i;
    json_t *id;
    json_array_foreach(svc_in(c, "Ids"), i, id)
    {
        for (size_t j = 0; j < json_array_size(r->targets); j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(r->targets, j), "Id")),
                       json_string_value(id)) == 0) {
                json_array_remove(r->targets, j);
                break;
            }
    }
    events__rule_persist(c->state, r);
    json_object_set_new(svc_output(c), "FailedEntryCount", json_integer(0));
    json_object_set_new(c->output, "FailedEntries", json_array());
    return 0;
}

int events_list_targets_by_rule(svc_call_t *c)
{
    events_rule_t *r = rule_get_or_fail(c, NULL, "Rule");
    int limit = r ? limit_of(c, 100) : -1;
    if (limit < 0)
        return 0;
    const char *token = svc_in_str(c, "NextToken");
    size_t start = token ? (size_t)strtoul(token, NULL, 10) : 0;
    json_t *list = json_array();
    size_t i;
    for (i = start; i < json_array_size(r->targets) && (int)json_array_size(list) < limit; i++)
        json_array_append_new(list, json_deep_copy(json_array_get(r->targets, i)));
    json_object_set_new(svc_output(c), "Targets", list);
    if (i < json_array_size(r->targets))
        json_object_set_new(c->output, "NextToken", json_sprintf("%zu", i));
    return 0;
}
