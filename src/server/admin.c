/*
 * The /_kyoka/ admin endpoints that test suites need. They live under a path
 * no AWS operation uses, so no AWS client can reach them by accident:
 *   GET  /_kyoka/health                 version, uptime, services; answers once ready
 *   POST /_kyoka/reset                  every service back to a fresh start
 *   GET  /_kyoka/clock                  the server clock
 *   POST /_kyoka/clock/advance?seconds=N  move the server clock forward
 *   GET  /_kyoka/iam/decisions[?limit=N&denied=1&principal=P&action=A&after=ID&summary=1]
 *                                         recent authorization decisions, newest first
 *   GET  /_kyoka/iam/decisions/ID         one decision, explained (ID "last": the latest denial)
 *   GET  /_kyoka/lambda                   functions, execution environments and their state
 *   GET  /_kyoka/lambda/code/SHA.zip      a function's code (GetFunction Code.Location)
 *   POST /_kyoka/lambda/debug?function=NAME[&port=N][&off=1][&region=R]
 *                                         start the function's next environments under a debugger
 */
#include "internal.h"

#include "core/limits.h"

#include <stdlib.h>
#include <string.h>

/* The server clock's offset is state like any other: deadlines stored by
 * services are on the server clock, so after a restart the clock must
 * resume where it was, not jump back to real time. */
static const char *const server_migrations[] = {
    "CREATE TABLE kyoka_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
};

int kyoka__clock_load(kyoka_server_t *s, char *err, size_t errcap)
{
    store_t *st = s->ctx.store;
    if (store_migrate(st, "server", server_migrations, KYOKA_ARRAY_LEN(server_migrations), err, errcap) != 0)
        return -1;
    sqlite3_stmt *q = store_stmt(st, "SELECT value FROM kyoka_meta WHERE key = 'clock_offset_ms'");
    if (sqlite3_step(q) == SQLITE_ROW)
        kyoka_clock_advance_ms(sqlite3_column_int64(q, 0));
    sqlite3_reset(q);
    return 0;
}

void kyoka__clock_save(kyoka_server_t *s)
{
    store_t *st = s->ctx.store;
    store_write_begin(st);
    sqlite3_stmt *q = store_stmt(st, "INSERT OR REPLACE INTO kyoka_meta(key, value) VALUES('clock_offset_ms', ?)");
    sqlite3_bind_int64(q, 1, kyoka_clock_offset_ms());
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("store: cannot save the clock offset: %s", sqlite3_errmsg(store_db(st)));
    sqlite3_reset(q);
}

#define DECISION_PREFIX "/_kyoka/iam/decisions/"
#define LAMBDA_CODE_PREFIX "/_kyoka/lambda/code/"

bool kyoka__is_admin(const http_request_t *req) { return strv_starts_with(req->path, "/_kyoka/"); }

void kyoka__respond_json(http_request_t *req, int status, json_t *j)
{
    buf_t body;
    buf_init(&body, (size_t)16 << 20);
    /* 15 significant digits: 1.666 prints as 1.666, not 1.6659999999999999. */
    char *s = proto_json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(j);
    if (s) {
        buf_appends(&body, s);
        free(s);
    }
    buf_appendc(&body, '\n');
    http_header_t h[] = {{STRV_LIT("Content-Type"), STRV_LIT("application/json")}};
    http_respond(req, status, h, 1, &body);
    buf_destroy(&body);
}

static json_t *error_json(const char *code, const char *message)
{
    return json_pack("{s:s,s:s}", "error", code, "message", message);
}

static json_t *clock_json(void)
{
    char ts[64];
    int64_t now = kyoka_clock_now_ms();
    kyoka_time_iso8601(now, ts, true);
    return json_pack("{s:s,s:I,s:f}", "now", ts, "epochMillis", (json_int_t)now, "offsetSeconds",
                     (double)kyoka_clock_offset_ms() / 1000.0);
}

/* Value of a query parameter, or NULL. */
static const char *query_param(http_request_t *req, const char *name)
{
    form_param_t *ps;
    int n = form_parse(&req->arena, req->query, &ps, 64);
    for (int i = 0; i < n; i++)
        if (strv_eq_cstr(ps[i].key, name))
            return arena_strndup(&req->arena, ps[i].value.p, ps[i].value.len);
    return NULL;
}

void kyoka__reset_all(kyoka_server_t *s)
{
    for (size_t i = 0; i < s->nservices; i++)
        if (s->services[i].def->reset)
            s->services[i].def->reset(s->services[i].state);
    auth_store_remove_non_root(s->ctx.creds);
    iam_decision_log_clear();
    kyoka_clock_reset();
    kyoka__clock_save(s);
}

static void on_clock_durable(void *data, int status)
{
    http_request_t *req = data;
    kyoka__respond_json(req, status ? 500 : 200,
                       status ? error_json("StoreError", "the clock could not be saved") : clock_json());
}

static void on_reset_durable(void *data, int status)
{
    http_request_t *req = data;
    kyoka__respond_json(req, status ? 500 : 200,
                       status ? error_json("StoreError", "reset could not be committed")
                              : json_pack("{s:b}", "reset", 1));
}

static void health(kyoka_server_t *s, http_request_t *req)
{
    json_t *svcs = json_array();
    for (size_t i = 0; i < s->nservices; i++)
        json_array_append_new(svcs, json_string(s->services[i].def->name));
    json_t *j = json_pack("{s:s,s:s,s:f,s:o,s:s,s:s,s:s,s:s,s:I}", "status", "ready", "version", KYOKA_VERSION,
                          "uptimeSeconds", (double)((kyoka_mono_us() - s->started_us + 500) / 1000) / 1e3, "services", svcs,
                          "store", store_is_durable(s->ctx.store) ? "durable" : "ephemeral", "auth",
                          s->cfg.auth_open ? "open" : "sigv4", "account", s->cfg.account_id, "region",
                          s->cfg.region, "connections", (json_int_t)http_server_connections(s->http));
    kyoka__respond_json(req, 200, j);
}

/* GetFunction's Code.Location: the zip as uploaded, by its digest. The
 * name is checked to be 64 hex digits, so it cannot leave the zips folder. */
static void lambda_code(kyoka_server_t *s, http_request_t *req, strv_t name)
{
    static const char suffix[] = ".zip";
    bool ok = name.len == 64 + sizeof suffix - 1 && memcmp(name.p + 64, suffix, 4) == 0;
    for (size_t i = 0; ok && i < 64; i++)
        ok = kyoka_hexval(name.p[i]) >= 0;
    svc_slot_t *slot = kyoka__service_by_name(s, STRV_LIT("lambda"));
    const char *root = slot ? lambda_code_root(slot->state) : NULL;
    if (!ok || !root) {
        kyoka__respond_json(req, 404, error_json("NotFound", "no such code"));
        return;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/zips/%.*s", root, (int)name.len, name.p);
    FILE *f = fopen(path, "rb");
    if (!f) {
        kyoka__respond_json(req, 404, error_json("NotFound", "no such code"));
        return;
    }
    buf_t body;
    buf_init(&body, (size_t)KYOKA_LAMBDA_MAX_ZIP_BYTES + 1);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(&body, chunk, n) != 0)
            break;
    fclose(f);
    http_header_t h[] = {{STRV_LIT("Content-Type"), STRV_LIT("application/zip")}};
    http_respond(req, buf_err(&body) ? 500 : 200, h, 1, &body);
    buf_destroy(&body);
}

/* GET /_kyoka/iam/decisions: newest first, filtered. limit (1..4096,
 * default 50), denied=1, principal=SUBSTRING, action=PATTERN (sqs:*),
 * after=ID (only newer ones: how `kyoka iam decisions --follow` polls),
 * summary=1 (id, time, principal, action, resource, decision only). */
static void decisions(http_request_t *req)
{
    const char *lim = query_param(req, "limit"), *after = query_param(req, "after");
    const char *denied = query_param(req, "denied"), *summary = query_param(req, "summary");
    long n = 50;
    if (lim) {
        char *end;
        n = strtol(lim, &end, 10);
        if (*end || n <= 0 || n > 4096) {
            kyoka__respond_json(req, 400, error_json("InvalidParameterValue",
                                                     "limit must be a number from 1 to 4096, e.g. ?limit=20"));
            return;
        }
    }
    iam_decision_filter_t f = {.denied_only = denied && strcmp(denied, "0") != 0 && strcmp(denied, "false") != 0,
                               .principal = query_param(req, "principal"),
                               .action = query_param(req, "action")};
    if (after && after[0]) {
        f.after_seq = iam_decision_log_seq(after);
        if (!f.after_seq) {
            kyoka__respond_json(req, 400, error_json("InvalidParameterValue",
                                                     "after must be a decision id of this server run, e.g. "
                                                     "?after=d-1a2b3c4d-00002a"));
            return;
        }
    }
    if (f.action && strlen(f.action) > 256) {
        kyoka__respond_json(req, 400, error_json("InvalidParameterValue", "action must be at most 256 characters"));
        return;
    }
    char latest[32];
    bool full = !(summary && strcmp(summary, "0") != 0);
    kyoka__respond_json(req, 200, json_pack("{s:o,s:s}", "decisions", iam_decision_log_list(&f, (size_t)n, full),
                                            "latest", iam_decision_log_latest(latest)));
}

/* POST /_kyoka/lambda/debug: `kyoka lambda debug NAME [--port N] [--off]`. */
static void lambda_debug(kyoka_server_t *s, http_request_t *req)
{
    svc_slot_t *slot = kyoka__service_by_name(s, STRV_LIT("lambda"));
    const char *port = query_param(req, "port"), *off = query_param(req, "off");
    char *end = NULL;
    long p = port ? strtol(port, &end, 10) : 0;
    if (port && (*end || p < 0 || p > 65535)) {
        kyoka__respond_json(req, 400, error_json("InvalidParameterValue", "port must be a number from 1024 to 65535"));
        return;
    }
    char err[512] = "";
    int status = 500;
    json_t *j = slot ? lambda_debug_set(slot->state, query_param(req, "region"), query_param(req, "function"),
                                        (int)p, off && strcmp(off, "0") != 0, err, sizeof err, &status)
                     : NULL;
    kyoka__respond_json(req, j ? 200 : status,
                        j ? j : error_json(status == 404 ? "NotFound" : "InvalidParameterValue",
                                           err[0] ? err : "the Lambda service is not running"));
}

void kyoka__admin(kyoka_server_t *s, http_request_t *req)
{
    strv_t path = req->path;
    bool get = strv_eq_cstr(req->method, "GET"), post = strv_eq_cstr(req->method, "POST");
    if (strv_eq_cstr(path, "/_kyoka/health") && get) {
        health(s, req);
    } else if (strv_eq_cstr(path, "/_kyoka/reset") && post) {
        store_write_begin(s->ctx.store);
        kyoka__reset_all(s);
        store_when_durable(s->ctx.store, on_reset_durable, req);
    } else if (strv_eq_cstr(path, "/_kyoka/clock") && get) {
        kyoka__respond_json(req, 200, clock_json());
    } else if (strv_eq_cstr(path, "/_kyoka/clock/advance") && post) {
        const char *secs = query_param(req, "seconds");
        char *end = NULL;
        double v = secs ? strtod(secs, &end) : -1;
        if (!secs || !end || *end || v < 0 || v > 10.0 * 365 * 86400) {
            kyoka__respond_json(req, 400, error_json("InvalidParameterValue",
                                                    "seconds must be a number from 0 to 315360000, e.g. "
                                                    "POST /_kyoka/clock/advance?seconds=30"));
            return;
        }
        kyoka_clock_advance_ms((int64_t)(v * 1000));
        kyoka__clock_save(s);
        for (size_t i = 0; i < s->nservices; i++)
            if (s->services[i].def->clock_moved)
                s->services[i].def->clock_moved(s->services[i].state);
        store_when_durable(s->ctx.store, on_clock_durable, req);
    } else if (strv_starts_with(path, LAMBDA_CODE_PREFIX) && get) {
        const size_t skip = sizeof LAMBDA_CODE_PREFIX - 1;
        lambda_code(s, req, (strv_t){path.p + skip, path.len - skip});
    } else if (strv_eq_cstr(path, "/_kyoka/lambda") && get) {
        svc_slot_t *slot = kyoka__service_by_name(s, STRV_LIT("lambda"));
        kyoka__respond_json(req, 200,
                            json_pack("{s:o,s:o,s:s,s:o}", "functions",
                                      slot ? lambda_functions_summary(slot->state) : json_array(), "environments",
                                      s->runtime ? rt_environments(s->runtime) : json_array(), "runtime",
                                      s->runtime ? rt_describe(s->runtime) : "not running", "async",
                                      slot ? lambda_async_summary(slot->state) : json_object()));
    } else if (strv_eq_cstr(path, "/_kyoka/lambda/debug") && post) {
        lambda_debug(s, req);
    } else if (strv_eq_cstr(path, "/_kyoka/iam/decisions") && get) {
        decisions(req);
    } else if (strv_starts_with(path, DECISION_PREFIX) && get) {
        const size_t skip = sizeof DECISION_PREFIX - 1;
        char *id = arena_strndup(&req->arena, path.p + skip, path.len - skip);
        const char *why = NULL;
        json_t *d = iam_decision_log_explain(id, &why);
        if (d)
            kyoka__respond_json(req, 200, d);
        else
            kyoka__respond_json(req, 404, error_json("NotFound", why ? why : "no such decision"));
    } else {
        kyoka__respond_json(req, 404, error_json("NotFound",
                                                "unknown admin endpoint; see README: /_kyoka/health, /_kyoka/reset, "
                                                "/_kyoka/clock, /_kyoka/clock/advance, /_kyoka/iam/decisions, /_kyoka/lambda"));
    }
}
