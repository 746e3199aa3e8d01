/*
 * HTTP APIs in SQLite: one row per API holding its whole document
 * (children included). Rows are written in the batch of the request that
 * changed them and loaded at start.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static const char *const migrations[] = {
    "CREATE TABLE apigwv2_apis ("
    "  api_id TEXT PRIMARY KEY,"
    "  doc TEXT NOT NULL) WITHOUT ROWID;",
};

int apiv2__migrate(apiv2_state_t *st, char *err, size_t errcap)
{
    return store_migrate(st->store, "apigatewayv2", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
}

void apiv2__persist(apiv2_state_t *st, const char *api_id)
{
    json_t *doc = json_object_get(st->apis, api_id);
    if (!doc)
        return;
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "INSERT OR REPLACE INTO apigwv2_apis(api_id, doc) VALUES(?,?)");
    char *text = proto_json_dumps(doc, JSON_COMPACT);
    sqlite3_bind_text(q, 1, api_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, text, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("apigatewayv2: could not save api %s: %s", api_id, sqlite3_errmsg(store_db(st->store)));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    free(text);
}

void apiv2__unpersist(apiv2_state_t *st, const char *api_id)
{
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "DELETE FROM apigwv2_apis WHERE api_id = ?");
    sqlite3_bind_text(q, 1, api_id, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("apigatewayv2: could not delete api %s: %s", api_id, sqlite3_errmsg(store_db(st->store)));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
}

void apiv2__load(apiv2_state_t *st)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT api_id, doc FROM apigwv2_apis");
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(q, 0);
        const char *text = (const char *)sqlite3_column_text(q, 1);
        json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
        if (!json_is_object(doc)) {
            log_warn("apigatewayv2: api %s no longer parses; skipped", id);
            json_decref(doc);
            continue;
        }
        json_object_set_new(st->apis, id, doc);
    }
    sqlite3_reset(q);
}
