/*
 * API Gateway's persistence: one row per document (a REST API with
 * everything under it, an API key, a usage plan), rewritten whole on every
 * change. Documents are small (the resource quota bounds a tree), and one
 * row per API keeps a deployment's snapshot consistent with its API.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static const char *const migrations[] = {
    "CREATE TABLE apigateway_objects ("
    "  kind TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,"
    "  PRIMARY KEY (kind, id)) WITHOUT ROWID;",
};

int agw__migrate(agw_state_t *st, char *err, size_t errcap)
{
    return store_migrate(st->store, "apigateway", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
}

static json_t *map_of(agw_state_t *st, const char *kind)
{
    if (strcmp(kind, "restapi") == 0)
        return st->apis;
    if (strcmp(kind, "apikey") == 0)
        return st->keys;
    return st->plans;
}

void agw__load(agw_state_t *st)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT kind, id, doc FROM apigateway_objects");
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(q, 0);
        const char *id = (const char *)sqlite3_column_text(q, 1);
        json_t *doc = json_loads((const char *)sqlite3_column_text(q, 2), 0, NULL);
        if (!doc || !json_is_object(doc)) {
            log_error("apigateway: unreadable %s %s in the store", kind, id);
            json_decref(doc);
            continue;
        }
        json_object_set_new(map_of(st, kind), id, doc);
    }
    sqlite3_reset(q);
}

void agw__save(agw_state_t *st, const char *kind, const char *id, json_t *doc)
{
    char *text = proto_json_dumps(doc, JSON_COMPACT);
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "INSERT OR REPLACE INTO apigateway_objects(kind, id, doc) VALUES(?,?,?)");
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, text ? text : "{}", -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("apigateway: could not save %s %s", kind, id);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    free(text);
}

void agw__drop(agw_state_t *st, const char *kind, const char *id)
{
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "DELETE FROM apigateway_objects WHERE kind = ? AND id = ?");
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("apigateway: could not delete %s %s", kind, id);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

void agw__clear(agw_state_t *st)
{
    json_object_clear(st->apis);
    json_object_clear(st->keys);
    json_object_clear(st->plans);
    json_object_clear(st->meter);
}
