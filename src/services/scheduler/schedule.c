/*
 * EventBridge Scheduler: schedule groups, schedules, their firing on the
 * server clock, and delivery under the schedule's execution role.
 *
 * Firing (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):
 *   at(...)    once, at that wall-clock time in ScheduleExpressionTimezone;
 *   rate(...)  every period from StartDate, or from the schedule's
 *              creation (the first one period later);
 *   cron(...)  at each matching minute in ScheduleExpressionTimezone;
 * never before StartDate nor after EndDate. A clock moved ahead fires
 * every period it passed, once each, with its own scheduled time.
 * FlexibleTimeWindow FLEXIBLE with MaximumWindowInMinutes W: AWS invokes
 * somewhere inside [t, t+W); kyoka picks the window's midpoint, t + W/2,
 * so a test knows when. ActionAfterCompletion DELETE removes the schedule
 * once its last invocation is queued (a one-time schedule, or a recurring
 * one past its EndDate).
 *
 * Authorization: the scheduler assumes Target.RoleArn as
 * scheduler.amazonaws.com (the role's trust policy must allow it) and
 * calls the target with that session, so the role's identity policy
 * decides (lambda:InvokeFunction, sqs:SendMessage), with the target's
 * resource policy; denials are in the decision log. A target the role may
 * not call is not retried; its event goes to the DeadLetterConfig queue,
 * written with the same role, with the attributes ERROR_CODE,
 * ERROR_MESSAGE, EXECUTION_ID, SCHEDULE_ARN, TARGET_ARN and RETRY_ATTEMPTS.
 *
 * Input: Target.Input as given, with the context attributes
 * <aws.scheduler.schedule-arn>, <aws.scheduler.scheduled-time>,
 * <aws.scheduler.execution-id> and <aws.scheduler.attempt-number>
 * filled in; "{}" when there is no Input.
 */
#include "internal.h"

#include "pipes/pipes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

const char *scheduler__region(svc_call_t *c) { return c->region ? c->region : c->ctx->region; }

const char *scheduler__account(svc_call_t *c)
{
    return c->cred && c->cred->account_id ? c->cred->account_id : c->ctx->account_id;
}

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_' || ch == '.'))
            return false;
    }
    return true;
}

static int64_t ts_ms(json_t *v)
{
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v) * 1000;
    if (json_is_real(v))
        return (int64_t)llround(json_real_value(v) * 1000.0);
    return 0;
}

static sch_group_t *group_new(sch_state_t *st, const char *region, const char *account, const char *name)
{
    sch_group_t *g = xcalloc(1, sizeof *g);
    g->region = xstrdup(region);
    g->name = xstrdup(name);
    g->arn = xasprintf("arn:aws:scheduler:%s:%s:schedule-group/%s", region, account, name);
    g->created_ms = g->modified_ms = kyoka_clock_now_ms();
    g->tags = json_array();
    g->next = st->groups;
    st->groups = g;
    return g;
}

/* A group by name; the default group exists in every region. */
static sch_group_t *group_lookup(sch_state_t *st, const char *region, const char *name)
{
    for (sch_group_t *g = st->groups; g; g = g->next)
        if (strcmp(g->name, name) == 0 && strcmp(g->region, region) == 0)
            return g;
    if (strcmp(name, "default") == 0)
        return group_new(st, region, st->ctx->account_id, "default");
    return NULL;
}

static sch_schedule_t *schedule_lookup(sch_state_t *st, const char *region, const char *group, const char *name)
{
    for (sch_schedule_t *s = st->schedules; s; s = s->next)
        if (strcmp(s->name, name) == 0 && strcmp(s->group, group) == 0 && strcmp(s->region, region) == 0)
            return s;
    return NULL;
}

static void schedule_free(sch_schedule_t *s)
{
    if (!s)
        return;
    free(s->region);
    free(s->group);
    free(s->name);
    free(s->arn);
    json_decref(s->cfg);
    free(s);
}

static void group_free(sch_group_t *g)
{
    if (!g)
        return;
    free(g->region);
    free(g->name);
    free(g->arn);
    json_decref(g->tags);
    free(g);
}

void scheduler__clear(sch_state_t *st)
{
    while (st->schedules) {
        sch_schedule_t *s = st->schedules;
        st->schedules = s->next;
        schedule_free(s);
    }
    while (st->groups) {
        sch_group_t *g = st->groups;
        st->groups = g->next;
        group_free(g);
    }
    events_roles_clear(st->roles);
}

/* ==== store ==== */

static const char *const migrations[] = {
    "CREATE TABLE scheduler_groups ("
    "  region TEXT NOT NULL, name TEXT NOT NULL, account TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, modified_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (region, name)) WITHOUT ROWID;"
    "CREATE TABLE scheduler_schedules ("
    "  region TEXT NOT NULL, grp TEXT NOT NULL, name TEXT NOT NULL, account TEXT NOT NULL,"
    "  cfg TEXT NOT NULL, next_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (region, grp, name)) WITHOUT ROWID;",
    /* v2: schedule groups' tags, a JSON array of {"Key","Value"} */
    "ALTER TABLE scheduler_groups ADD COLUMN tags TEXT;",
};

int scheduler__migrate(sch_state_t *st, char *err, size_t errcap)
{
    return store_migrate(st->store, "scheduler", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
}

static void account_of(const char *arn, char out[16])
{
    iam_arn_t a;
    out[0] = '\0';
    if (iam_arn_parse(strv_from(arn), &a) == 0)
        snprintf(out, 16, "%.*s", (int)a.account.len, a.account.p);
}

static void group_persist(sch_state_t *st, sch_group_t *g)
{
    char acct[16];
    account_of(g->arn, acct);
    store_write_begin(st->store);
    char *tags = proto_json_dumps(g->tags, JSON_COMPACT);
    sqlite3_stmt *q = store_stmt(st->store, "INSERT OR REPLACE INTO scheduler_groups(region, name, account, "
                                            "created_ms, modified_ms, tags) VALUES(?,?,?,?,?,?)");
    sqlite3_bind_text(q, 1, g->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, g->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, acct, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 4, g->created_ms);
    sqlite3_bind_int64(q, 5, g->modified_ms);
    sqlite3_bind_text(q, 6, tags ? tags : "[]", -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("scheduler: could not save group %s", g->name);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    free(tags);
}

static void schedule_persist(sch_state_t *st, sch_schedule_t *s)
{
    char acct[16];
    account_of(s->arn, acct);
    char *cfg = proto_json_dumps(s->cfg, JSON_COMPACT);
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "INSERT OR REPLACE INTO scheduler_schedules(region, grp, name, account, "
                                            "cfg, next_ms) VALUES(?,?,?,?,?,?)");
    sqlite3_bind_text(q, 1, s->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->group, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, s->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, acct, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 5, cfg, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 6, s->next_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("scheduler: could not save schedule %s", s->name);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    free(cfg);
}

static void schedule_unpersist(sch_state_t *st, sch_schedule_t *s)
{
    store_write_begin(st->store);
    sqlite3_stmt *q =
        store_stmt(st->store, "DELETE FROM scheduler_schedules WHERE region = ? AND grp = ? AND name = ?");
    sqlite3_bind_text(q, 1, s->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->group, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, s->name, -1, SQLITE_STATIC);
    (void)sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

/* ==== settings ==== */

/* Read cfg into s's parsed fields. Returns NULL or AWS's message. */
static const char *settings_apply(arena_t *a, sch_schedule_t *s, json_t *cfg)
{
    const char *expr = json_string_value(json_object_get(cfg, "ScheduleExpression"));
    char why[128];
    events_sched_t sched;
    if (!expr || events_sched_parse(expr, strlen(expr), true, &sched, why, sizeof why) != 0)
        return arena_sprintf(a, "Invalid Schedule Expression %s.", expr ? expr : "");
    const char *tzname = json_string_value(json_object_get(cfg, "ScheduleExpressionTimezone"));
    const events_tz_t *tz = NULL;
    if (tzname && strcmp(tzname, "UTC") != 0 && strcmp(tzname, "Etc/UTC") != 0 && !(tz = events_tz_get(tzname)))
        return arena_sprintf(a, "Invalid ScheduleExpressionTimezone %s.", tzname);
    json_t *flex = json_object_get(cfg, "FlexibleTimeWindow");
    const char *mode = json_string_value(json_object_get(flex, "Mode"));
    json_t *win = json_object_get(flex, "MaximumWindowInMinutes");
    int64_t window_ms = 0;
    if (mode && strcmp(mode, "FLEXIBLE") == 0) {
        if (!win)
            return "MaximumWindowInMinutes is required when FlexibleTimeWindow Mode is FLEXIBLE.";
        window_ms = (int64_t)json_integer_value(win) * 60000;
    } else if (win) {
        return "MaximumWindowInMinutes is not allowed when FlexibleTimeWindow Mode is OFF.";
    }
    int64_t start = ts_ms(json_object_get(cfg, "StartDate")), end = ts_ms(json_object_get(cfg, "EndDate"));
    if (start && end && end <= start)
        return "The EndDate must be after the StartDate.";
    json_t *target = json_object_get(cfg, "Target");
    const char *arn = json_string_value(json_object_get(target, "Arn"));
    const char *role = json_string_value(json_object_get(target, "RoleArn"));
    iam_arn_t p;
    if (!arn || iam_arn_parse(strv_from(arn), &p) != 0)
        return arena_sprintf(a, "Invalid target arn %s.", arn ? arn : "");
    if (!role || iam_arn_parse(strv_from(role), &p) != 0 || !strv_eq_cstr(p.service, "iam"))
        return arena_sprintf(a, "Invalid RoleArn %s.", role ? role : "");
    const char *state = json_string_value(json_object_get(cfg, "State"));
    const char *after = json_string_value(json_object_get(cfg, "ActionAfterCompletion"));
    s->sched = sched;
    s->tz = tz;
    s->start_ms = start;
    s->end_ms = end;
    s->window_ms = window_ms;
    s->enabled = !state || strcmp(state, "ENABLED") == 0;
    s->delete_after = after && strcmp(after, "DELETE") == 0;
    return NULL;
}

/* The first nominal time after `after` (server clock). */
static int64_t next_after(const sch_schedule_t *s, int64_t after)
{
    int64_t t;
    if (s->sched.kind == EVENTS_SCHED_RATE) {
        int64_t anchor = s->start_ms ? s->start_ms : ts_ms(json_object_get(s->cfg, "CreationDate"));
        int64_t k = after < anchor ? 1 : (after - anchor) / s->sched.rate_ms + 1;
        t = anchor + k * s->sched.rate_ms;
    } else {
        t = events_sched_next(&s->sched, s->tz, s->start_ms && after < s->start_ms ? s->start_ms - 1 : after);
    }
    if (s->end_ms && t != INT64_MAX && t > s->end_ms)
        return INT64_MAX;
    return t;
}

/* ==== views ==== */

static json_t *schedule_view(const sch_schedule_t *s)
{
    json_t *o = json_deep_copy(s->cfg);
    json_object_set_new(o, "Arn", json_string(s->arn));
    json_object_set_new(o, "Name", json_string(s->name));
    json_object_set_new(o, "GroupName", json_string(s->group));
    if (!json_object_get(o, "State"))
        json_object_set_new(o, "State", json_string("ENABLED"));
    return o;
}

static json_t *group_view(const sch_group_t *g)
{
    return json_pack("{s:s,s:s,s:s,s:f,s:f}", "Arn", g->arn, "Name", g->name, "State", "ACTIVE", "CreationDate",
                     (double)g->created_ms / 1000.0, "LastModificationDate", (double)g->modified_ms / 1000.0);
}

/* ==== operation handlers ==== */

static const char *group_of(svc_call_t *c)
{
    const char *g = svc_in_str(c, "GroupName");
    return g && *g ? g : "default";
}

/* The settings a Create or Update carries (model member names). */
static json_t *settings_from_input(svc_call_t *c)
{
    static const char *const keys[] = {"ScheduleExpression", "ScheduleExpressionTimezone", "StartDate", "EndDate",
                                       "Description", "FlexibleTimeWindow", "State", "Target",
                                       "ActionAfterCompletion", "KmsKeyArn"};
    json_t *cfg = json_object();
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(keys); i++)
        if (svc_in(c, keys[i]))
            json_object_set(cfg, keys[i], svc_in(c, keys[i]));
    return cfg;
}

static int put_schedule(svc_call_t *c, bool create)
{
    sch_state_t *st = c->state;
    const char *name = svc_in_str(c, "Name"), *group = group_of(c), *region = scheduler__region(c);
    if (!name_ok(name)) {
        svc_error(c, "ValidationException", 400, "Invalid schedule name %s.", name ? name : "");
        return 0;
    }
    if (!group_lookup(st, region, group)) {
        svc_error(c, "ResourceNotFoundException", 404, "Schedule group %s does not exist.", group);
        return 0;
    }
    sch_schedule_t *s = schedule_lookup(st, region, group, name);
    if (create && s) {
        svc_error(c, "ConflictException", 409, "Schedule %s already exists.", name);
        return 0;
    }
    if (!create && !s) {
        svc_error(c, "ResourceNotFoundException", 404, "Schedule %s does not exist.", name);
        return 0;
    }
    json_t *cfg = settings_from_input(c);
    sch_schedule_t tmp = {0};
    const char *why = settings_apply(c->arena, &tmp, cfg);
    if (why) {
        json_decref(cfg);
        svc_error(c, "ValidationException", 400, "%s", why);
        return 0;
    }
    double now = (double)kyoka_clock_now_ms() / 1000.0;
    if (!s) {
        s = xcalloc(1, sizeof *s);
        s->region = xstrdup(region);
        s->group = xstrdup(group);
        s->name = xstrdup(name);
        s->arn = xasprintf("arn:aws:scheduler:%s:%s:schedule/%s/%s", region, scheduler__account(c), group, name);
        s->next = st->schedules;
        st->schedules = s;
        json_object_set_new(cfg, "CreationDate", json_real(now));
    } else {
        json_object_set(cfg, "CreationDate", json_object_get(s->cfg, "CreationDate"));
    }
    json_object_set_new(cfg, "LastModificationDate", json_real(now));
    json_decref(s->cfg);
    s->cfg = cfg;
    (void)settings_apply(c->arena, s, cfg);
    s->next_ms = next_after(s, kyoka_clock_now_ms());
    schedule_persist(st, s);
    scheduler__arm(st);
    json_object_set_new(svc_output(c), "ScheduleArn", json_string(s->arn));
    return 0;
}

int scheduler_create_schedule(svc_call_t *c) { return put_schedule(c, true); }
int scheduler_update_schedule(svc_call_t *c) { return put_schedule(c, false); }

int scheduler_get_schedule(svc_call_t *c)
{
    sch_state_t *st = c->state;
    const char *name = svc_in_str(c, "Name");
    sch_schedule_t *s = schedule_lookup(st, scheduler__region(c), group_of(c), name);
    if (!s)
        svc_error(c, "ResourceNotFoundException", 404, "Schedule %s does not exist.", name);
    else
        c->output = schedule_view(s);
    return 0;
}

static void schedule_remove(sch_state_t *st, sch_schedule_t *s)
{
    for (sch_schedule_t **pp = &st->schedules; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    schedule_unpersist(st, s);
    schedule_free(s);
}

int scheduler_delete_schedule(svc_call_t *c)
{
    sch_state_t *st = c->state;
    const char *name = svc_in_str(c, "Name");
    sch_schedule_t *s = schedule_lookup(st, scheduler__region(c), group_of(c), name);
    if (!s) {
        svc_error(c, "ResourceNotFoundException", 404, "Schedule %s does not exist.", name);
        return 0;
    }
    schedule_remove(st, s);
    scheduler__arm(st);
    return 0;
}

static int cmp_sched(const void *a, const void *b)
{
    const sch_schedule_t *x = *(sch_schedule_t *const *)a, *y = *(sch_schedule_t *const *)b;
    int d = strcmp(x->group, y->group);
    return d ? d : strcmp(x->name, y->name);
}

int scheduler_list_schedules(svc_call_t *c)
{
    sch_state_t *st = c->state;
    const char *group = svc_in_str(c, "GroupName"), *prefix = svc_in_str(c, "NamePrefix");
    const char *state = svc_in_str(c, "State"), *token = svc_in_str(c, "NextToken");
    json_t *mr = svc_in(c, "MaxResults");
    size_t max = mr ? (size_t)json_integer_value(mr) : 100;
    size_t n = 0;
    for (sch_schedule_t *s = st->schedules; s; s = s->next)
        n++;
    sch_schedule_t **all = arena_alloc(c->arena, (n ? n : 1) * sizeof *all);
    n = 0;
    for (sch_schedule_t *s = st->schedules; s; s = s->next) {
        if (strcmp(s->region, scheduler__region(c)) != 0 || (group && strcmp(s->group, group) != 0) ||
            (prefix && strncmp(s->name, prefix, strlen(prefix)) != 0) ||
            (state && strcmp(state, s->enabled ? "ENABLED" : "DISABLED") != 0))
            continue;
        all[n++] = s;
    }
    qsort(all, n, sizeof *all, cmp_sched);
    size_t i = token ? (size_t)strtoul(token, NULL, 10) : 0;
    json_t *list = json_array();
    for (; i < n && json_array_size(list) < max; i++) {
        sch_schedule_t *s = all[i];
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s,s:s,s:O,s:O,s:{s:O}}", "Arn", s->arn, "Name", s->name, "GroupName", s->group,
                            "State", s->enabled ? "ENABLED" : "DISABLED", "CreationDate",
                            json_object_get(s->cfg, "CreationDate"), "LastModificationDate",
                            json_object_get(s->cfg, "LastModificationDate"), "Target", "Arn",
                            json_object_get(json_object_get(s->cfg, "Target"), "Arn")));
    }
    json_object_set_new(svc_output(c), "Schedules", list);
    if (i < n)
        json_object_set_new(c->output, "NextToken", json_sprintf("%zu", i));
    return 0;
}

/* ==== tags (schedule groups are Scheduler's only taggable resource) ==== */

#define SCHEDULER_MAX_TAGS 200

static json_t *tag_find(json_t *tags, const char *key, size_t *at)
{
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "Key")), key) == 0) {
            if (at)
                *at = i;
            return t;
        }
    }
    return NULL;
}

/* Keys AWS reserves, and the total a group may hold after adding add. */
static bool tags_valid(svc_call_t *c, json_t *add, size_t existing_unmatched)
{
    size_t i, fresh = 0;
    json_t *t;
    json_array_foreach(add, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        if (k && strncmp(k, "aws:", 4) == 0) {
            svc_error(c, "ValidationException", 400, "Tag keys starting with 'aws:' are reserved for AWS use.");
            return false;
        }
        fresh++;
    }
    if (existing_unmatched + fresh > SCHEDULER_MAX_TAGS) {
        svc_error(c, "ValidationException", 400, "A schedule group can have at most %d tags.", SCHEDULER_MAX_TAGS);
        return false;
    }
    return true;
}

/* Set each tag of add on tags: a key already there takes the new value. */
static void tags_merge(json_t *tags, json_t *add)
{
    size_t i;
    json_t *t;
    json_array_foreach(add, i, t)
    {
        const char *k = json_string_value(json_object_get(t, "Key"));
        json_t *v = json_object_get(t, "Value");
        json_t *have = k ? tag_find(tags, k, NULL) : NULL;
        if (have)
            json_object_set(have, "Value", v);
        else if (k)
            json_array_append_new(tags, json_pack("{s:s,s:O}", "Key", k, "Value", v));
    }
}

/* The group an ARN names: arn:aws:scheduler:REGION:ACCOUNT:schedule-group/NAME. */
static sch_group_t *group_by_arn(svc_call_t *c)
{
    const char *arn = svc_in_str(c, "ResourceArn");
    iam_arn_t a;
    if (!arn || iam_arn_parse(strv_from(arn), &a) != 0 || !strv_eq_cstr(a.service, "scheduler") ||
        !strv_starts_with(a.resource, "schedule-group/")) {
        svc_error(c, "ValidationException", 400, "Invalid ARN %s: only schedule groups have tags.", arn ? arn : "");
        return NULL;
    }
    const char *region = arena_strndup(c->arena, a.region.p, a.region.len);
    const char *name = arena_strndup(c->arena, a.resource.p + 15, a.resource.len - 15);
    sch_group_t *g = strv_eq_cstr(a.account, scheduler__account(c)) ? group_lookup(c->state, region, name) : NULL;
    if (!g)
        svc_error(c, "ResourceNotFoundException", 404, "Schedule group %s does not exist.", name);
    return g;
}

int scheduler_tag_resource(svc_call_t *c)
{
    sch_group_t *g = group_by_arn(c);
    if (!g)
        return 0;
    json_t *add = svc_in(c, "Tags");
    size_t i, unmatched = 0;
    json_t *t;
    json_array_foreach(g->tags, i, t)
    {
        bool replaced = false;
        size_t j;
        json_t *n;
        json_array_foreach(add, j, n)
        {
            const char *k = json_string_value(json_object_get(n, "Key"));
            if (k && strcmp(k, json_string_value(json_object_get(t, "Key"))) == 0)
                replaced = true;
        }
        unmatched += !replaced;
    }
    if (!tags_valid(c, add, unmatched))
        return 0;
    tags_merge(g->tags, add);
    g->modified_ms = kyoka_clock_now_ms();
    group_persist(c->state, g);
    return 0;
}

int scheduler_untag_resource(svc_call_t *c)
{
    sch_group_t *g = group_by_arn(c);
    if (!g)
        return 0;
    size_t i, at;
    json_t *k;
    json_array_foreach(svc_in(c, "TagKeys"), i, k)
    {
        if (json_is_string(k) && tag_find(g->tags, json_string_value(k), &at))
            json_array_remove(g->tags, at);
    }
    g->modified_ms = kyoka_clock_now_ms();
    group_persist(c->state, g);
    return 0;
}

int scheduler_list_tags_for_resource(svc_call_t *c)
{
    sch_group_t *g = group_by_arn(c);
    if (g)
        json_object_set(svc_output(c), "Tags", g->tags);
    return 0;
}

int scheduler_create_schedule_group(svc_call_t *c)
{
    sch_state_t *st = c->state;
    const char *name = svc_in_str(c, "Name");
    if (!name_ok(name)) {
        svc_error(c, "ValidationException", 400, "Invalid schedule group name %s.", name ? name : "");
        return 0;
    }
    if (group_lookup(st, scheduler__region(c), name)) {
        svc_error(c, "ConflictException", 409, "Schedule group %s already exists.", name);
        return 0;
    }
    if (!tags_valid(c, svc_in(c, "Tags"), 0))
        return 0;
    sch_group_t *g = group_new(st, scheduler__region(c), scheduler__account(c), name);
    tags_merge(g->tags, svc_in(c, "Tags"));
    group_persist(st, g);
    json_object_set_new(svc_output(c), "ScheduleGroupArn", json_string(g->arn));
    return 0;
}

int scheduler_get_schedule_group(svc_call_t *c)
{
    const char *name = svc_in_str(c, "Name");
    sch_group_t *g = group_lookup(c->state, scheduler__region(c), name);
    if (!g)
        svc_error(c, "ResourceNotFoundException", 404, "Schedule group %s does not exist.", name);
    else
        c->output = group_view(g);
    return 0;
}

int scheduler_delete_schedule_group(svc_call_t *c)
{
    sch_state_t *st = c->state;
    const char *name = svc_in_str(c, "Name"), *region = scheduler__region(c);
    if (strcmp(name, "default") == 0) {
        svc_error(c, "ValidationException", 400, "You cannot delete the default group.");
        return 0;
    }
    sch_group_t **pp = &st->groups;
    while (*pp && !(strcmp((*pp)->name, name) == 0 && strcmp((*pp)->region, region) == 0))
        pp = &(*pp)->next;
    if (!*pp) {
        svc_error(c, "ResourceNotFoundException", 404, "Schedule group %s does not exist.", name);
        return 0;
    }
    sch_group_t *g = *pp;
    *pp = g->next;
    /* Its schedules go with it. */
    for (sch_schedule_t *s = st->schedules, *next; s; s = next) {
        next = s->next;
        if (strcmp(s->group, name) == 0 && strcmp(s->region, region) == 0)
            schedule_remove(st, s);
    }
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "DELETE FROM scheduler_groups WHERE region = ? AND name = ?");
    sqlite3_bind_text(q, 1, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    (void)sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    group_free(g);
    scheduler__arm(st);
    return 0;
}

static int cmp_group(const void *a, const void *b)
{
    return strcmp((*(sch_group_t *const *)a)->name, (*(sch_group_t *const *)b)->name);
}

int scheduler_list_schedule_groups(svc_call_t *c)
{
    sch_state_t *st = c->state;
    const char *prefix = svc_in_str(c, "NamePrefix"), *token = svc_in_str(c, "NextToken");
    json_t *mr = svc_in(c, "MaxResults");
    size_t max = mr ? (size_t)json_integer_value(mr) : 100;
    (void)group_lookup(st, scheduler__region(c), "default");
    size_t n = 0;
    for (sch_group_t *g = st->groups; g; g = g->next)
        n++;
    sch_group_t **all = arena_alloc(c->arena, (n ? n : 1) * sizeof *all);
    n = 0;
    for (sch_group_t *g = st->groups; g; g = g->next)
        if (strcmp(g->region, scheduler__region(c)) == 0 && (!prefix || strncmp(g->name, prefix, strlen(prefix)) == 0))
            all[n++] = g;
    qsort(all, n, sizeof *all, cmp_group);
    size_t i = token ? (size_t)strtoul(token, NULL, 10) : 0;
    json_t *list = json_array();
    for (; i < n && json_array_size(list) < max; i++)
        json_array_append_new(list, group_view(all[i]));
    json_object_set_new(svc_output(c), "ScheduleGroups", list);
    if (i < n)
        json_object_set_new(c->output, "NextToken", json_sprintf("%zu", i));
    return 0;
}

/* ==== loading ==== */

void scheduler__load(sch_state_t *st)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT region, name, account, created_ms, modified_ms, tags FROM "
                                            "scheduler_groups");
    while (sqlite3_step(q) == SQLITE_ROW) {
        sch_group_t *g = group_new(st, (const char *)sqlite3_column_text(q, 0),
                                   (const char *)sqlite3_column_text(q, 2), (const char *)sqlite3_column_text(q, 1));
        g->created_ms = sqlite3_column_int64(q, 3);
        g->modified_ms = sqlite3_column_int64(q, 4);
        const char *tags = (const char *)sqlite3_column_text(q, 5);
        json_t *t = tags ? json_loads(tags, 0, NULL) : NULL;
        if (json_is_array(t)) {
            json_decref(g->tags);
            g->tags = t;
        } else {
            json_decref(t);
        }
    }
    sqlite3_reset(q);
    q = store_stmt(st->store, "SELECT region, grp, name, account, cfg, next_ms FROM scheduler_schedules");
    while (sqlite3_step(q) == SQLITE_ROW) {
        sch_schedule_t *s = xcalloc(1, sizeof *s);
        s->region = xstrdup((const char *)sqlite3_column_text(q, 0));
        s->group = xstrdup((const char *)sqlite3_column_text(q, 1));
        s->name = xstrdup((const char *)sqlite3_column_text(q, 2));
        s->arn = xasprintf("arn:aws:scheduler:%s:%s:schedule/%s/%s", s->region,
                           (const char *)sqlite3_column_text(q, 3), s->group, s->name);
        s->cfg = json_loads((const char *)sqlite3_column_text(q, 4), 0, NULL);
        if (!s->cfg)
            s->cfg = json_object();
        arena_t a;
        arena_init(&a);
        const char *why = settings_apply(&a, s, s->cfg);
        if (why)
            log_warn("scheduler: %s no longer reads: %s", s->arn, why);
        arena_destroy(&a);
        s->next_ms = sqlite3_column_int64(q, 5);
        s->next = st->schedules;
        st->schedules = s;
    }
    sqlite3_reset(q);
}

/* ==== firing ==== */

static void on_timer(uv_timer_t *t) { scheduler__fire(t->data); }

/* When a nominal time is invoked: inside the flexible window, its middle. */
static int64_t invoke_at(const sch_schedule_t *s, int64_t nominal) { return nominal + s->window_ms / 2; }

void scheduler__arm(sch_state_t *st)
{
    int64_t next = INT64_MAX;
    for (sch_schedule_t *s = st->schedules; s; s = s->next)
        if (s->enabled && s->next_ms != INT64_MAX && invoke_at(s, s->next_ms) < next)
            next = invoke_at(s, s->next_ms);
    if (next == INT64_MAX) {
        uv_timer_stop(st->timer);
        return;
    }
    int64_t now = kyoka_clock_now_ms();
    uv_timer_start(st->timer, on_timer, next > now ? (uint64_t)(next - now) : 0, 0);
}

static void replace_all(buf_t *out, const char *in, const char *const *keys, const char *const *vals, size_t n)
{
    for (const char *p = in; *p;) {
        size_t i;
        for (i = 0; i < n; i++)
            if (strncmp(p, keys[i], strlen(keys[i])) == 0)
                break;
        if (i < n) {
            (void)buf_appends(out, vals[i]);
            p += strlen(keys[i]);
        } else {
            (void)buf_appendc(out, *p++);
        }
    }
}

static void fire_once(sch_state_t *st, sch_schedule_t *s, int64_t nominal)
{
    json_t *target = json_object_get(s->cfg, "Target");
    const char *input = json_string_value(json_object_get(target, "Input"));
    char ts[64], exec[37];
    kyoka_time_iso8601(nominal, ts, false);
    kyoka_uuid(exec);
    static const char *const keys[] = {"<aws.scheduler.schedule-arn>", "<aws.scheduler.scheduled-time>",
                                       "<aws.scheduler.execution-id>", "<aws.scheduler.attempt-number>"};
    const char *vals[] = {s->arn, ts, exec, "1"};
    buf_t out;
    buf_init(&out, 1 << 20);
    replace_all(&out, input ? input : "{}", keys, vals, KYOKA_ARRAY_LEN(keys));
    /* The execution id rides with the target for the DLQ attributes. */
    json_t *t = json_deep_copy(target);
    json_object_set_new(t, "_ExecutionId", json_string(exec));
    char *tjson = proto_json_dumps(t, JSON_COMPACT);
    json_decref(t);
    evq_add(st->q, s->arn, tjson, s->region, out.data, out.len, NULL, 0);
    free(tjson);
    buf_destroy(&out);
}

void scheduler__fire(sch_state_t *st)
{
    int64_t now = kyoka_clock_now_ms();
    bool more = false;
    for (sch_schedule_t *s = st->schedules, *next; s; s = next) {
        next = s->next;
        if (!s->enabled || s->next_ms == INT64_MAX || invoke_at(s, s->next_ms) > now)
            continue;
        int fired = 0;
        while (s->next_ms != INT64_MAX && invoke_at(s, s->next_ms) <= now && fired < SCHEDULER_MAX_FIRES_PER_TURN) {
            fire_once(st, s, s->next_ms);
            fired++;
            s->next_ms = s->sched.kind == EVENTS_SCHED_AT ? INT64_MAX : next_after(s, s->next_ms);
        }
        if (s->next_ms != INT64_MAX && invoke_at(s, s->next_ms) <= now)
            more = true;
        if (s->next_ms == INT64_MAX && s->delete_after)
            schedule_remove(st, s);
        else
            schedule_persist(st, s);
    }
    if (more)
        uv_timer_start(st->timer, on_timer, 0, 0);
    else
        scheduler__arm(st);
}

/* ==== delivery ==== */

static const char *target_arn(const evq_item_t *it)
{
    return json_string_value(json_object_get(it->target_j, "Arn"));
}

static void on_sent(void *data, const svc_call_t *c)
{
    evq_item_t *it = data;
    if (!c->error.code) {
        evq_done(it, EVQ_OK, NULL, NULL);
        return;
    }
    log_info("scheduler: %s could not invoke %s: %s: %s (decision %s)", it->owner, target_arn(it), c->error.code,
             aws_error_text(&c->error), c->decision_id ? c->decision_id : "-");
    bool retry = c->error.status == 429 || c->error.status >= 500;
    char msg[1100];
    snprintf(msg, sizeof msg, "%s", aws_error_text(&c->error));
    evq_done(it, retry ? EVQ_RETRY : EVQ_FAIL, c->error.code, msg);
}

static const auth_cred_t *role_cred(sch_state_t *st, evq_item_t *it, const char **why)
{
    const char *role = json_string_value(json_object_get(it->target_j, "RoleArn"));
    const char *decision;
    const auth_cred_t *cred =
        role ? events_roles_cred(st->roles, st->ctx, role, it->region, &decision, why) : NULL;
    if (!cred)
        log_info("scheduler: %s cannot assume %s: %s (decision %s)", it->owner, role ? role : "-",
                 *why ? *why : "no role", decision ? decision : "-");
    return cred;
}

static void on_send(void *data, evq_item_t *it)
{
    sch_state_t *st = data;
    const char *why = NULL;
    const auth_cred_t *cred = role_cred(st, it, &why);
    if (!cred) {
        evq_done(it, EVQ_FAIL, "AccessDenied", why ? why : "The execution role cannot be assumed");
        return;
    }
    svc_caller_t who = {.cred = cred, .region = it->region};
    const char *arn = target_arn(it);
    pipes_dest_t d;
    pipes_dest_kind_t kind = pipes_dest_parse(arn, &d);
    if (kind == PIPES_DEST_LAMBDA) {
        pipes_lambda_invoke(st->ctx, &who, arn, it->payload, it->len, true, on_sent, it);
    } else if (kind == PIPES_DEST_SQS) {
        size_t n = strlen(arn);
        const char *group =
            json_string_value(json_object_get(json_object_get(it->target_j, "SqsParameters"), "MessageGroupId"));
        if (n > 5 && strcmp(arn + n - 5, ".fifo") == 0) {
            const char *name = strrchr(arn, ':');
            char url[512], dedup[32];
            snprintf(url, sizeof url, "%s/%s/%s", st->ctx->endpoint, d.account, name ? name + 1 : "");
            snprintf(dedup, sizeof dedup, "sch-%lld", (long long)it->id);
            json_t *in = json_pack("{s:s,s:s%,s:s}", "QueueUrl", url, "MessageBody", it->payload, it->len,
                                   "MessageDeduplicationId", dedup);
            if (group)
                json_object_set_new(in, "MessageGroupId", json_string(group));
            who.region = d.region;
            st->ctx->call(st->ctx, &who, "sqs", "SendMessage", in, on_sent, it);
        } else {
            pipes_sqs_send(st->ctx, &who, arn, it->payload, it->len, NULL, on_sent, it);
        }
    } else {
        evq_done(it, EVQ_FAIL, "ValidationException", "kyoka's Scheduler invokes Lambda functions and SQS queues");
    }
}

static void on_dlq_sent(void *data, const svc_call_t *c)
{
    evq_item_t *it = data;
    if (c->error.code)
        log_warn("scheduler: the dead-letter queue of %s refused the event: %s: %s (decision %s)", it->owner,
                 c->error.code, aws_error_text(&c->error), c->decision_id ? c->decision_id : "-");
    evq_release(it);
}

static void add_attr(json_t *attrs, const char *name, const char *type, const char *value)
{
    json_object_set_new(attrs, name, json_pack("{s:s,s:s}", "DataType", type, "StringValue", value));
}

static void on_dead_letter(void *data, evq_item_t *it, const char *code, const char *message, const char *exhausted)
{
    sch_state_t *st = data;
    (void)exhausted;
    const char *dlq = json_string_value(json_object_get(json_object_get(it->target_j, "DeadLetterConfig"), "Arn"));
    const char *why = NULL;
    const auth_cred_t *cred = dlq ? role_cred(st, it, &why) : NULL;
    if (!dlq || !cred) {
        log_info("scheduler: an invocation of %s by %s is dropped (%s)", target_arn(it), it->owner, code);
        evq_release(it);
        return;
    }
    json_t *attrs = json_object();
    add_attr(attrs, "ERROR_CODE", "String", code);
    add_attr(attrs, "ERROR_MESSAGE", "String", message && *message ? message : code);
    add_attr(attrs, "SCHEDULE_ARN", "String", it->owner);
    add_attr(attrs, "TARGET_ARN", "String", target_arn(it));
    const char *exec = json_string_value(json_object_get(it->target_j, "_ExecutionId"));
    add_attr(attrs, "EXECUTION_ID", "String", exec ? exec : "-");
    char n[16];
    snprintf(n, sizeof n, "%d", it->attempts > 0 ? it->attempts - 1 : 0);
    add_attr(attrs, "RETRY_ATTEMPTS", "Number", n);
    svc_caller_t who = {.cred = cred, .region = it->region};
    pipes_sqs_send(st->ctx, &who, dlq, it->payload, it->len, attrs, on_dlq_sent, it);
}

const evq_consumer_t scheduler__consumer = {.send = on_send, .dead_letter = on_dead_letter};
