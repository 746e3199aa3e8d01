/*
 * Lambda in SQLite: one row per function (its versions, aliases, policies,
 * concurrency and tags as one JSON document) and one per layer version.
 *
 * Functions change rarely and are read from memory, so writing the whole
 * document on every change keeps the schema trivial and every change
 * atomic: the row is written inside the request's savepoint, and the
 * server acknowledges only once the batch holding it is fsynced. Code is
 * on disk before its row exists (code.c), so a row never names missing
 * code.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static const char *const migrations[] = {
    "CREATE TABLE lambda_functions ("
    "  region TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  PRIMARY KEY (region, name)) WITHOUT ROWID;"
    "CREATE TABLE lambda_layers ("
    "  region TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  PRIMARY KEY (region, name, version)) WITHOUT ROWID;",
    /* A layer's version numbers are never reused, even after its newest
     * version is deleted: the highest one given out, per name. */
    "CREATE TABLE lambda_layer_names ("
    "  region TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  last INTEGER NOT NULL,"
    "  PRIMARY KEY (region, name)) WITHOUT ROWID;",
};

int64_t lambda__layer_last(lambda_state_t *st, const char *region, const char *name)
{
    sqlite3_stmt *s = store_stmt(st->store, "SELECT last FROM lambda_layer_names WHERE region = ? AND name = ?");
    sqlite3_bind_text(s, 1, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    int64_t last = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return last;
}

void lambda__layer_set_last(lambda_state_t *st, const char *region, const char *name, int64_t last)
{
    store_write_begin(st->store);
    sqlite3_stmt *s = store_stmt(st->store, "INSERT OR REPLACE INTO lambda_layer_names(region, name, last) VALUES(?,?,?)");
    sqlite3_bind_text(s, 1, region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, last);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE)
        log_error("lambda: store write failed: %s", sqlite3_errmsg(store_db(st->store)));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

int lambda__store_migrate(lambda_state_t *st, char *err, size_t errcap)
{
    return store_migrate(st->store, "lambda", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
}

static void step(lambda_state_t *st, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        log_error("lambda: store write failed: %s", sqlite3_errmsg(store_db(st->store)));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* ==== functions ==== */

static json_t *fn_doc(const lambda_fn_t *fn)
{
    json_t *versions = json_array(), *aliases = json_array(), *policies = json_array();
    for (size_t i = 0; i < fn->nversions; i++) {
        lambda_version_t *v = fn->versions[i];
        json_t *o = json_pack("{s:s,s:O,s:I}", "version", v->version, "config", v->config, "generation",
                              (json_int_t)v->generation);
        if (v->provisioned)
            json_object_set(o, "provisioned", v->provisioned);
        if (v->hot_dir)
            json_object_set_new(o, "hot_reload", json_string(v->hot_dir));
        json_array_append_new(versions, o);
    }
    for (size_t i = 0; i < fn->naliases; i++) {
        lambda_alias_t *a = fn->aliases[i];
        json_t *o = json_pack("{s:s,s:O}", "name", a->name, "config", a->config);
        if (a->provisioned)
            json_object_set(o, "provisioned", a->provisioned);
        json_array_append_new(aliases, o);
    }
    for (size_t i = 0; i < fn->npolicies; i++) {
        lambda_policy_t *p = &fn->policies[i];
        json_array_append_new(policies, json_pack("{s:s,s:O,s:s}", "qualifier", p->qualifier, "doc", p->doc,
                                                  "revision", p->revision ? p->revision : ""));
    }
    json_t *doc = json_pack("{s:s,s:o,s:o,s:o,s:i,s:O,s:I}", "arn", fn->arn, "versions", versions, "aliases",
                            aliases, "policies", policies, "reserved", fn->reserved, "tags", fn->tags,
                            "last_version", (json_int_t)fn->last_version);
    if (json_object_size(fn->event_configs))
        json_object_set(doc, "event_configs", fn->event_configs);
    return doc;
}

void lambda__fn_save(lambda_state_t *st, const lambda_fn_t *fn)
{
    json_t *doc = fn_doc(fn);
    char *text = proto_json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    store_write_begin(st->store);
    sqlite3_stmt *s = store_stmt(st->store, "INSERT OR REPLACE INTO lambda_functions(region, name, doc) VALUES(?,?,?)");
    sqlite3_bind_text(s, 1, fn->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, fn->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, text, -1, SQLITE_TRANSIENT);
    step(st, s);
    free(text);
}

void lambda__fn_delete_row(lambda_state_t *st, const lambda_fn_t *fn)
{
    store_write_begin(st->store);
    sqlite3_stmt *s = store_stmt(st->store, "DELETE FROM lambda_functions WHERE region = ? AND name = ?");
    sqlite3_bind_text(s, 1, fn->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, fn->name, -1, SQLITE_STATIC);
    step(st, s);
}

static lambda_fn_t *fn_from_doc(lambda_state_t *st, const char *region, const char *name, json_t *doc)
{
    lambda_fn_t *fn = xcalloc(1, sizeof *fn);
    fn->region = xstrdup(region);
    fn->name = xstrdup(name);
    fn->arn = xstrdup(json_string_value(json_object_get(doc, "arn")));
    fn->reserved = (int)json_integer_value(json_object_get(doc, "reserved"));
    fn->tags = json_incref(json_object_get(doc, "tags"));
    if (!fn->tags)
        fn->tags = json_object();
    fn->last_version = json_integer_value(json_object_get(doc, "last_version"));
    fn->event_configs = json_incref(json_object_get(doc, "event_configs"));
    if (!fn->event_configs)
        fn->event_configs = json_object();
    json_t *vs = json_object_get(doc, "versions");
    fn->versions = xcalloc(json_array_size(vs) + 1, sizeof *fn->versions);
    size_t i;
    json_t *o;
    json_array_foreach(vs, i, o)
    {
        lambda_version_t *v = xcalloc(1, sizeof *v);
        v->version = xstrdup(json_string_value(json_object_get(o, "version")));
        v->config = json_incref(json_object_get(o, "config"));
        v->generation = (uint64_t)json_integer_value(json_object_get(o, "generation"));
        v->provisioned = json_incref(json_object_get(o, "provisioned"));
        const char *hot = json_string_value(json_object_get(o, "hot_reload"));
        v->hot_dir = hot ? xstrdup(hot) : NULL;
        if (v->generation > st->next_generation)
            st->next_generation = v->generation;
        fn->versions[fn->nversions++] = v;
    }
    json_t *as = json_object_get(doc, "aliases");
    fn->aliases = xcalloc(json_array_size(as) + 1, sizeof *fn->aliases);
    json_array_foreach(as, i, o)
    {
        lambda_alias_t *a = xcalloc(1, sizeof *a);
        a->name = xstrdup(json_string_value(json_object_get(o, "name")));
        a->config = json_incref(json_object_get(o, "config"));
        a->provisioned = json_incref(json_object_get(o, "provisioned"));
        fn->aliases[fn->naliases++] = a;
    }
    json_t *ps = json_object_get(doc, "policies");
    fn->policies = xcalloc(json_array_size(ps) + 1, sizeof *fn->policies);
    json_array_foreach(ps, i, o)
    {
        lambda_policy_t *p = &fn->policies[fn->npolicies++];
        p->qualifier = xstrdup(json_string_value(json_object_get(o, "qualifier")));
        p->doc = json_incref(json_object_get(o, "doc"));
        p->revision = xstrdup(json_string_value(json_object_get(o, "revision")));
        lambda__policy_compile(p);
    }
    return fn;
}

/* ==== layers ==== */

void lambda__layer_save(lambda_state_t *st, const lambda_layer_t *l)
{
    json_t *doc = json_pack("{s:O,s:s}", "info", l->info, "sha", l->code_sha_hex);
    if (l->hot_dir)
        json_object_set_new(doc, "hot_reload", json_string(l->hot_dir));
    if (l->policy.doc)
        json_object_set(doc, "policy", l->policy.doc);
    if (l->policy.revision)
        json_object_set_new(doc, "policy_revision", json_string(l->policy.revision));
    char *text = proto_json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    store_write_begin(st->store);
    sqlite3_stmt *s =
        store_stmt(st->store, "INSERT OR REPLACE INTO lambda_layers(region, name, version, doc) VALUES(?,?,?,?)");
    sqlite3_bind_text(s, 1, l->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, l->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, l->version);
    sqlite3_bind_text(s, 4, text, -1, SQLITE_TRANSIENT);
    step(st, s);
    free(text);
}

void lambda__layer_delete_row(lambda_state_t *st, const lambda_layer_t *l)
{
    store_write_begin(st->store);
    sqlite3_stmt *s = store_stmt(st->store, "DELETE FROM lambda_layers WHERE region = ? AND name = ? AND version = ?");
    sqlite3_bind_text(s, 1, l->region, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, l->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, l->version);
    step(st, s);
}

/* ==== loading ==== */

int lambda__store_load(lambda_state_t *st, char *err, size_t errcap)
{
    sqlite3_stmt *s = store_stmt(st->store, "SELECT region, name, doc FROM lambda_functions ORDER BY region, name");
    while (sqlite3_step(s) == SQLITE_ROW) {
        json_error_t je;
        json_t *doc = json_loads((const char *)sqlite3_column_text(s, 2), 0, &je);
        if (!doc) {
            snprintf(err, errcap, "a stored Lambda function is unreadable: %s", je.text);
            sqlite3_reset(s);
            return KYOKA_ESTORE;
        }
        lambda_fn_t *fn = fn_from_doc(st, (const char *)sqlite3_column_text(s, 0), (const char *)sqlite3_column_text(s, 1), doc);
        json_decref(doc);
        fn->next = st->fns;
        st->fns = fn;
    }
    sqlite3_reset(s);
    s = store_stmt(st->store, "SELECT region, name, version, doc FROM lambda_layers");
    while (sqlite3_step(s) == SQLITE_ROW) {
        json_t *doc = json_loads((const char *)sqlite3_column_text(s, 3), 0, NULL);
        if (!doc)
            continue;
        lambda_layer_t *l = xcalloc(1, sizeof *l);
        l->region = xstrdup((const char *)sqlite3_column_text(s, 0));
        l->name = xstrdup((const char *)sqlite3_column_text(s, 1));
        l->version = sqlite3_column_int64(s, 2);
        l->info = json_incref(json_object_get(doc, "info"));
        l->code_sha_hex = xstrdup(json_string_value(json_object_get(doc, "sha")));
        l->policy.doc = json_incref(json_object_get(doc, "policy"));
        const char *rev = json_string_value(json_object_get(doc, "policy_revision"));
        l->policy.revision = rev ? xstrdup(rev) : NULL;
        const char *hot = json_string_value(json_object_get(doc, "hot_reload"));
        l->hot_dir = hot ? xstrdup(hot) : NULL;
        json_decref(doc);
        l->next = st->layers;
        st->layers = l;
    }
    sqlite3_reset(s);
    return 0;
}

void lambda__store_wipe(lambda_state_t *st)
{
    store_write_begin(st->store);
    if (store_exec(st->store, "DELETE FROM lambda_functions; DELETE FROM lambda_layers; DELETE FROM lambda_layer_names;") != 0)
        log_error("lambda: could not wipe the store");
}
