/*
 * EventBridge in SQLite: one row per custom bus (and per default bus that
 * has a policy or tags), one per rule with its targets as JSON and, for a
 * schedule, its next firing. Rows are written in the batch of the request
 * that changed them; everything is loaded at start and the rules of each
 * bus compiled into its pattern set again.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static const char *const migrations[] = {
    "CREATE TABLE events_buses ("
    "  region TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  account TEXT NOT NULL,"
    "  policy TEXT,"
    "  tags TEXT NOT NULL DEFAULT '[]',"
    "  created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (region, name)) WITHOUT ROWID;"
    "CREATE TABLE events_rules ("
    "  region TEXT NOT NULL,"
    "  bus TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  pattern TEXT,"
    "  schedule TEXT,"
    "  enabled INTEGER NOT NULL,"
    "  description TEXT,"
    "  role_arn TEXT,"
    "  managed_by TEXT,"
    "  tags TEXT NOT NULL DEFAULT '[]',"
    "  targets TEXT NOT NULL DEFAULT '[]',"
    "  created_ms INTEGER NOT NULL,"
    "  next_ms INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (region, bus, name)) WITHOUT ROWID;",
};

int events__store_migrate(events_state_t *st, char *err, size_t errcap)
{
    return store_migrate(st->store, "events", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
}

static void bind_opt(sqlite3_stmt *q, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(q, i);
}

void events__bus_persist(events_state_t *st, events_bus_t *b)
{
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "INSERT OR REPLACE INTO events_buses(region, name, account, policy, tags, "
                                            "created_ms) VALUES(?,?,?,?,?,?)");
    char *tags = proto_json_dumps(b->tags, JSON_COMPACT);
    sqlite3_bind_text(q, 1, b->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, b->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, b->account, -1, SQLITE_STATIC);
    bind_opt(q, 4, b->policy);
    sqlite3_bind_text(q, 5, tags, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 6, b->created_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("events: could not save bus %s: %s", b->name, sqlite3_errmsg(store_db(st->store)));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    free(tags);
}

void events__rule_persist(events_state_t *st, events_rule_t *r)
{
    /* A rule's bus row must exist for the rule to come back (the default
     * bus has none until then). */
    if (strcmp(r->bus->name, "default") == 0)
        events__bus_persist(st, r->bus);
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store,
                                 "INSERT OR REPLACE INTO events_rules(region, bus, name, pattern, schedule, enabled, "
                                 "description, role_arn, managed_by, tags, targets, created_ms, next_ms) "
                                 "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
    char *tags = proto_json_dumps(r->tags, JSON_COMPACT);
    char *targets = proto_json_dumps(r->targets, JSON_COMPACT);
    sqlite3_bind_text(q, 1, r->bus->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, r->bus->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, r->name, -1, SQLITE_STATIC);
    bind_opt(q, 4, r->pattern);
    bind_opt(q, 5, r->schedule);
    sqlite3_bind_int(q, 6, r->enabled);
    bind_opt(q, 7, r->description);
    bind_opt(q, 8, r->role_arn);
    bind_opt(q, 9, r->managed_by);
    sqlite3_bind_text(q, 10, tags, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 11, targets, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 12, r->created_ms);
    sqlite3_bind_int64(q, 13, r->next_ms);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("events: could not save rule %s: %s", r->name, sqlite3_errmsg(store_db(st->store)));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    free(tags);
    free(targets);
}

static char *col(sqlite3_stmt *q, int i)
{
    const char *s = (const char *)sqlite3_column_text(q, i);
    return s ? xstrdup(s) : NULL;
}

static json_t *col_json(sqlite3_stmt *q, int i)
{
    const char *s = (const char *)sqlite3_column_text(q, i);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    return j ? j : json_array();
}

int events__store_load(events_state_t *st, char *err, size_t errcap)
{
    (void)err;
    (void)errcap;
    sqlite3_stmt *q = store_stmt(st->store, "SELECT region, name, account, policy, tags, created_ms FROM events_buses");
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *region = (const char *)sqlite3_column_text(q, 0);
        const char *name = (const char *)sqlite3_column_text(q, 1);
        events_bus_t *b = NULL;
        if (strcmp(name, "default") == 0) {
            b = events__bus_lookup(st, region, name);
        } else {
            b = xcalloc(1, sizeof *b);
            b->region = xstrdup(region);
            b->name = xstrdup(name);
            b->account = col(q, 2);
            b->arn = xasprintf("arn:aws:events:%s:%s:event-bus/%s", region, b->account, name);
            b->set = pattern_set_new();
            b->next = st->buses;
            st->buses = b;
        }
        const char *policy = (const char *)sqlite3_column_text(q, 3);
        if (policy) {
            char perr[256];
            bool over;
            b->policy_c = iam_policy_parse(policy, strlen(policy), IAM_POLICY_RESOURCE,
                                           KYOKA_RESOURCE_POLICY_MAX_BYTES, perr, sizeof perr, &over);
            if (b->policy_c)
                b->policy = xstrdup(policy);
        }
        json_decref(b->tags);
        b->tags = col_json(q, 4);
        b->created_ms = sqlite3_column_int64(q, 5);
    }
    sqlite3_reset(q);
    q = store_stmt(st->store, "SELECT region, bus, name, pattern, schedule, enabled, description, role_arn, managed_by, "
                              "tags, targets, created_ms, next_ms FROM events_rules ORDER BY created_ms");
    while (sqlite3_step(q) == SQLITE_ROW) {
        events_bus_t *b = events__bus_lookup(st, (const char *)sqlite3_column_text(q, 0),
                                             (const char *)sqlite3_column_text(q, 1));
        if (!b)
            continue;
        events_rule_t *r = xcalloc(1, sizeof *r);
        r->bus = b;
        r->name = col(q, 2);
        r->arn = strcmp(b->name, "default") == 0
                     ? xasprintf("arn:aws:events:%s:%s:rule/%s", b->region, b->account, r->name)
                     : xasprintf("arn:aws:events:%s:%s:rule/%s/%s", b->region, b->account, b->name, r->name);
        r->pattern = col(q, 3);
        r->schedule = col(q, 4);
        if (r->schedule) {
            char why[128];
            if (events_sched_parse(r->schedule, strlen(r->schedule), false, &r->sched, why, sizeof why) != 0)
                log_warn("events: the schedule of %s no longer parses: %s", r->arn, why);
        }
        r->enabled = sqlite3_column_int(q, 5) != 0;
        r->description = col(q, 6);
        r->role_arn = col(q, 7);
        r->managed_by = col(q, 8);
        r->tags = col_json(q, 9);
        r->targets = col_json(q, 10);
        r->created_ms = sqlite3_column_int64(q, 11);
        r->next_ms = sqlite3_column_int64(q, 12);
        r->id = b->next_id++;
        r->next = b->rules;
        b->rules = r;
        events__rule_index(r);
    }
    sqlite3_reset(q);
    return 0;
}
