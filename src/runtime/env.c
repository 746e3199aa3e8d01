/*
 * One execution environment: its process tree, its Runtime API listener,
 * its output pipes and its one timer.
 *
 * Life: spawn (STARTING) -> the bootstrap's first GET /next (IDLE, or BUSY
 * at once when an invocation waits) -> POST .../response or .../error
 * (answer delivered, back to waiting for /next) ... -> killed or exited
 * (DEAD) -> every handle closed -> freed. The timer is the init deadline
 * while STARTING, the function's timeout while BUSY and the idle reaper's
 * deadline while IDLE, so an environment never holds more than one.
 *
 * Errors are AWS's documents: a timeout answers "Task timed out after N.NN
 * seconds", a process that exits mid-invocation Runtime.ExitError, one the
 * memory limit killed Runtime.OutOfMemory, a failed init the runtime's own
 * /init/error document.
 *
 * System lines follow LoggingConfig: with the Text format START, END and
 * REPORT as ever; with JSON each is a Telemetry API event on one line
 * ({"time","type":"platform.start","record":{...}}), written only when its
 * level reaches SystemLogLevel.
 */
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "protocol/protocol.h"

#include "core/banned.h"

/* Larger than the response limit, so an oversized answer still arrives and
 * is reported as Function.ResponseSizeTooLarge instead of being cut off by
 * the HTTP layer; a bound all the same. */
#define RT_API_MAX_BODY (KYOKA_LAMBDA_MAX_SYNC_RESPONSE * 4)
/* Output kept for the log sink at most: a function printing faster than the
 * loop hands lines over loses the excess, and the stream says so. */
#define RT_LOG_PENDING_MAX (1 << 20)
/* The log kept per invocation: the tail is what LogType=Tail returns, so
 * keep a few times that and drop the oldest half when full. */
#define RT_LOG_KEEP (4 * KYOKA_LAMBDA_LOG_TAIL_BYTES)

static void on_api_request(http_request_t *req, void *ctx);
static void report_line(rt_env_t *env, rt_inv_t *inv, const char *status, strv_t error_type, size_t produced);
static void on_api_abort(http_request_t *req, void *ctx);

/* ==== logs ==== */

static void log_append(rt_inv_t *inv, const char *p, size_t n)
{
    if (!inv || !inv->tail_log)
        return;
    buf_t *b = &inv->log;
    if (n >= RT_LOG_KEEP) {
        p += n - RT_LOG_KEEP / 2;
        n = RT_LOG_KEEP / 2;
    }
    if (b->len + n > RT_LOG_KEEP) {
        size_t drop = b->len + n - RT_LOG_KEEP / 2;
        if (drop > b->len)
            drop = b->len;
        memmove(b->data, b->data + drop, b->len - drop);
        b->len -= drop;
        b->data[b->len] = '\0';
    }
    if (buf_append(b, p, n) != 0)
        buf_reset(b);
}

/* A line of kyoka's own (START, END, REPORT) for the tail and the stream. */
static void env_line(rt_env_t *env, rt_inv_t *inv, const char *fmt, ...) KYOKA_PRINTF(3, 4);
static void env_line(rt_env_t *env, rt_inv_t *inv, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    log_append(inv, line, len);
    rt__env_log(env, line, len);
}

const char *rt__log_level_name(lambda_log_level_t level)
{
    static const char *const names[] = {"INFO", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    return (unsigned)level < sizeof names / sizeof names[0] ? names[level] : "INFO";
}

/* s as the inside of a JSON string, cut to fit cap (a bound, not an
 * error: the one caller-supplied string here is an error type). */
static void json_escape(char *out, size_t cap, strv_t s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < s.len && o + 7 < cap; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[c >> 4];
            out[o + 5] = hex[c & 15];
            o += 6;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
}

/* A system log record in the JSON log format: the Telemetry API's event
 * shape, {"time","type","record"}, one per line
 * (https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html),
 * dropped when its level is below SystemLogLevel
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
 * record_fmt gives the record's members, without its braces. */
static void platform_record(rt_env_t *env, rt_inv_t *inv, lambda_log_level_t level, const char *type,
                            const char *record_fmt, ...) KYOKA_PRINTF(5, 6);
static void platform_record(rt_env_t *env, rt_inv_t *inv, lambda_log_level_t level, const char *type,
                            const char *record_fmt, ...)
{
    if (level < env->sys_level)
        return;
    int64_t now = kyoka_clock_now_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char line[768];
    int n = snprintf(line, sizeof line,
                     "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"type\":\"%s\",\"record\":{", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(now % 1000), type);
    va_list ap;
    va_start(ap, record_fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, record_fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)(n + m) + 4 > sizeof line)
        return; /* cannot happen: every member has a bounded length */
    n += m;
    memcpy(line + n, "}}\n", 3);
    n += 3;
    log_append(inv, line, (size_t)n);
    rt__env_log(env, line, (size_t)n);
}

static const char *init_type(const rt_env_t *env)
{
    return env->provisioned ? "provisioned-concurrency" : "on-demand";
}

/* platform.initRuntimeDone and platform.initReport, once the runtime is
 * ready or has failed. AWS's level for them: initRuntimeDone is DEBUG,
 * initReport DEBUG for an on-demand environment and INFO for a provisioned
 * one, and either is WARN when the status is not success. */
static void init_report(rt_env_t *env, const char *status, const char *error_type)
{
    if (!env->log_json)
        return;
    bool ok = strcmp(status, "success") == 0;
    char et[160] = "";
    if (error_type) {
        char esc[128];
        json_escape(esc, sizeof esc, strv_from(error_type));
        snprintf(et, sizeof et, ",\"errorType\":\"%s\"", esc);
    }
    double ms = (double)(kyoka_mono_us() - env->spawned_us) / 1000.0;
    platform_record(env, env->inv, ok ? LAMBDA_LOG_DEBUG : LAMBDA_LOG_WARN, "platform.initRuntimeDone",
                    "\"initializationType\":\"%s\",\"phase\":\"init\",\"status\":\"%s\"%s", init_type(env),
                    status, et);
    platform_record(env, env->inv, !ok ? LAMBDA_LOG_WARN : env->provisioned ? LAMBDA_LOG_INFO : LAMBDA_LOG_DEBUG,
                    "platform.initReport",
                    "\"initializationType\":\"%s\",\"phase\":\"init\",\"status\":\"%s\"%s,"
                    "\"metrics\":{\"durationMs\":%.3f}",
                    init_type(env), status, et, ms);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *out)
{
    static char scratch[64 * 1024]; /* loop thread only; consumed before the next read */
    (void)h;
    (void)suggested;
    *out = uv_buf_init(scratch, sizeof scratch);
}

static void on_output(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    rt_env_t *env = s->data;
    if (n > 0) {
        log_append(env->inv, b->base, (size_t)n);
        rt__env_log(env, b->base, (size_t)n);
        log_debug("lambda %s env %u: %.*s", env->pool->spec.function_name, env->id, (int)(n > 0 && b->base[n - 1] == '\n' ? n - 1 : n), b->base);
    } else if (n < 0) {
        uv_read_stop(s);
    }
}

/* The function printed its last lines just before answering: those bytes
 * may still sit in the pipe when the answer arrives, so read what is there
 * now, without waiting, before the log tail is cut. */
static void drain_pipe(rt_env_t *env, uv_pipe_t *p)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)p, &fd) != 0)
        return;
    char tmp[16384];
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n <= 0)
            break;
        log_append(env->inv, tmp, (size_t)n);
        rt__env_log(env, tmp, (size_t)n);
    }
}

/* ==== closing ==== */

static void env_free(rt_env_t *env)
{
    rt_t *rt = env->rt;
    /* Its last lines (a crash's traceback) are delivered before it goes. */
    rt__env_log_flush(env);
    if (env->log_dirty) {
        for (rt_env_t **pp = &rt->dirty_logs; *pp; pp = &(*pp)->next_dirty) {
            if (*pp == env) {
                *pp = env->next_dirty;
                break;
            }
        }
    }
    buf_destroy(&env->logbuf);
    rt__cgroup_remove(env);
    if (env->dir)
        rt__remove_tree(rt, env->dir); /* takes the path */
    free(env->init_error);
    free(env->init_error_type);
    rt__env_gone(env);
    free(env);
    rt->live_envs--;
    if (rt->stopping && rt->live_envs == 0 && rt->stop_done)
        rt->stop_done(rt->stop_data);
}

static void on_handle_closed(uv_handle_t *h)
{
    rt_env_t *env = h->data;
    if (--env->open_handles == 0)
        env_free(env);
}

static void on_exit_poll_closed(uv_handle_t *h)
{
    rt_env_t *env = h->data;
    close(env->pidfd);
    env->pidfd = -1;
    on_handle_closed(h);
}

static void on_api_stopped(void *data)
{
    rt_env_t *env = data;
    env->api = NULL;
    if (--env->open_handles == 0)
        env_free(env);
}

/* Close every handle once the process has exited. */
static void env_close(rt_env_t *env)
{
    uv_close((uv_handle_t *)&env->exit_poll, on_exit_poll_closed);
    uv_close((uv_handle_t *)&env->out, on_handle_closed);
    uv_close((uv_handle_t *)&env->err, on_handle_closed);
    uv_close((uv_handle_t *)&env->timer, on_handle_closed);
    if (env->api) {
        env->open_handles++;
        http_server_stop(env->api, 0, on_api_stopped, env);
    }
}

/* ==== answering the pending invocation with an error document ==== */

static void answer_error(rt_env_t *env, const char *type, const char *message_fmt_arg)
{
    rt_inv_t *inv = env->inv;
    if (!inv)
        return;
    if (inv->delivered_us) {
        /* In the JSON format the records' status and errorType say it. */
        if (!env->log_json)
            env_line(env, inv, "%s\n", message_fmt_arg);
        bool timeout = type && strcmp(type, "Sandbox.Timedout") == 0;
        report_line(env, inv, timeout ? "timeout" : "error", timeout || !type ? STRV_NULL : strv_from(type), 0);
    }
    env->inv = NULL;
    json_t *doc = type ? json_pack("{s:s,s:s}", "errorType", type, "errorMessage", message_fmt_arg)
                       : json_pack("{s:s}", "errorMessage", message_fmt_arg);
    char *text = proto_json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    lambda_invoke_result_t res = {.status = LAMBDA_RUN_OK, .payload = text, .len = strlen(text),
                                  .function_error = "Unhandled"};
    rt__inv_complete(inv, &res);
    free(text);
}

/* The runtime reported an init error and the invocation waiting for the
 * environment gets that document, as on AWS. */
static void answer_init_error(rt_env_t *env)
{
    rt_inv_t *inv = env->inv;
    if (!inv)
        return;
    env->inv = NULL;
    lambda_invoke_result_t res = {.status = LAMBDA_RUN_OK, .payload = env->init_error,
                                  .len = env->init_error_len, .function_error = "Unhandled"};
    rt__inv_complete(inv, &res);
}

static void on_env_exit(rt_env_t *env, int64_t status, int sig)
{
    env->exited = true;
    env->exit_status = status;
    env->term_signal = sig;
    env->state = ENV_DEAD;
    uv_timer_stop(&env->timer);
    if (env->next_req) {
        http_respond(env->next_req, 500, NULL, 0, NULL);
        env->next_req = NULL;
    }
    /* It never got ready: an init that ran out of time, or a runtime that
     * exited without a word (a /init/error was reported when it came). */
    if (!env->initialised && !env->init_error && (!env->death || strcmp(env->death, "init-timeout") == 0))
        init_report(env, env->death ? "timeout" : "error", env->death ? NULL : "Runtime.ExitError");
    if (env->inv) {
        drain_pipe(env, &env->out);
        drain_pipe(env, &env->err);
        const char *rid = env->inv->request_id;
        char msg[256];
        if (env->death && strcmp(env->death, "timeout") == 0) {
            double secs = env->pool->spec.timeout_s;
            snprintf(msg, sizeof msg, "RequestId: %s Error: Task timed out after %.2f seconds", rid, secs);
            answer_error(env, "Sandbox.Timedout", msg);
        } else if (env->death && strcmp(env->death, "init-timeout") == 0) {
            snprintf(msg, sizeof msg, "RequestId: %s Error: Task timed out after %.2f seconds", rid,
                     KYOKA_LAMBDA_INIT_TIMEOUT_MS / 1000.0);
            answer_error(env, "Sandbox.Timedout", msg);
        } else if (env->init_error) {
            answer_init_error(env);
        } else if (rt__cgroup_oom(env)) {
            snprintf(msg, sizeof msg, "RequestId: %s Error: Runtime exited with error: signal: killed", rid);
            answer_error(env, "Runtime.OutOfMemory", msg);
        } else if (sig) {
            snprintf(msg, sizeof msg, "RequestId: %s Error: Runtime exited with error: signal: %s", rid,
                     sig == SIGKILL ? "killed" : sig == SIGSEGV ? "segmentation fault" : sig == SIGABRT ? "aborted" : "terminated");
            answer_error(env, "Runtime.ExitError", msg);
        } else {
            snprintf(msg, sizeof msg, "RequestId: %s Error: Runtime exited %s: exit status %" PRId64, rid,
                     status ? "with error" : "without providing a reason", status);
            answer_error(env, "Runtime.ExitError", msg);
        }
    }
    env_close(env);
}

void rt__env_kill(rt_env_t *env, const char *why)
{
    if (env->state == ENV_DEAD || env->exited)
        return;
    if (!env->death)
        env->death = why;
    /* The bootstrap runs in its own session (UV_PROCESS_DETACHED), so the
     * negative pid reaches every process it started. */
    kill(-env->pid, SIGKILL);
    kill(env->pid, SIGKILL);
}

/* ==== timers ==== */

static void on_timer(uv_timer_t *t)
{
    rt_env_t *env = t->data;
    switch (env->state) {
    case ENV_STARTING:
        rt__env_kill(env, "init-timeout");
        break;
    case ENV_BUSY:
        rt__env_kill(env, "timeout");
        break;
    case ENV_IDLE:
        if (!env->provisioned)
            rt__env_kill(env, "idle");
        break;
    case ENV_DEAD:
        break;
    }
}

/* ==== handing over an invocation ==== */

static void add_hdr(http_header_t *h, size_t *n, const char *name, const char *value)
{
    if (value)
        h[(*n)++] = (http_header_t){strv_from(name), strv_from(value)};
}

/* Answer the parked GET /next with env->inv. */
static void deliver(rt_env_t *env)
{
    rt_inv_t *inv = env->inv;
    http_request_t *req = env->next_req;
    env->next_req = NULL;
    env->state = ENV_BUSY;
    inv->delivered_us = kyoka_mono_us();
    const lambda_run_spec_t *sp = &env->pool->spec;
    int64_t deadline = kyoka_wall_ms() + (int64_t)sp->timeout_s * 1000;
    char dl[32];
    snprintf(dl, sizeof dl, "%" PRId64, deadline);
    if (inv->tail_log) {
        /* Without a sandbox the function can see the whole machine: its log
         * says so on its first invocation, as the start banner does. */
        if (!env->rt->bwrap && !env->init_reported)
            buf_appends(&inv->log, env->rt->sandbox_failed
                                       ? "kyoka: no sandbox: bubblewrap cannot create namespaces here, so this "
                                         "function runs as a plain process in its own directory\n"
                                       : "kyoka: no sandbox (--sandbox none): this function runs as a plain process "
                                         "in its own directory\n");
    }
    if (sp->notice && !env->notice_logged) {
        env->notice_logged = true;
        env_line(env, inv, "%s\n", sp->notice);
    }
    if (env->log_json)
        platform_record(env, inv, LAMBDA_LOG_INFO, "platform.start",
                        "\"requestId\":\"%s\",\"functionArn\":\"%s\",\"version\":\"%s\"", inv->request_id,
                        sp->function_arn, sp->version);
    else
        env_line(env, inv, "START RequestId: %s Version: %s\n", inv->request_id, sp->version);
    http_header_t h[8];
    size_t n = 0;
    add_hdr(h, &n, "Content-Type", "application/json");
    add_hdr(h, &n, "Lambda-Runtime-Aws-Request-Id", inv->request_id);
    add_hdr(h, &n, "Lambda-Runtime-Deadline-Ms", dl);
    add_hdr(h, &n, "Lambda-Runtime-Invoked-Function-Arn", inv->invoked_arn);
    add_hdr(h, &n, "Lambda-Runtime-Trace-Id", inv->trace_id);
    add_hdr(h, &n, "Lambda-Runtime-Client-Context", inv->client_context);
    buf_t body;
    http_response_buffer(req, &body, RT_API_MAX_BODY);
    if (buf_append(&body, inv->payload, inv->len) != 0)
        buf_reset(&body);
    http_respond(req, 200, h, n, &body);
    buf_destroy(&body);
    uv_timer_start(&env->timer, on_timer, (uint64_t)sp->timeout_s * 1000, 0);
}

void rt__env_assign(rt_env_t *env, rt_inv_t *inv)
{
    env->inv = inv;
    inv->env = env;
    if (env->state == ENV_IDLE && env->next_req)
        deliver(env);
    else if (env->state == ENV_BUSY)
        /* It answered its last event and has not asked for the next one:
         * if it never does, the function's timeout ends it. */
        uv_timer_start(&env->timer, on_timer, (uint64_t)env->pool->spec.timeout_s * 1000, 0);
}

/* ==== the Runtime API ==== */

static void api_reply(http_request_t *req, int status, const char *json)
{
    http_header_t h[1] = {{STRV_LIT("Content-Type"), STRV_LIT("application/json")}};
    buf_t body;
    http_response_buffer(req, &body, 4096);
    if (buf_appends(&body, json) != 0)
        buf_reset(&body);
    http_respond(req, status, h, 1, &body);
    buf_destroy(&body);
}

/* The end of an invocation. Text: END and REPORT. JSON: platform.runtimeDone
 * (DEBUG when it succeeded, else WARN) and platform.report (INFO, else
 * WARN), with status "success", "error" or "timeout" and the error's type.
 * produced: the response's size. */
static void report_line(rt_env_t *env, rt_inv_t *inv, const char *status, strv_t error_type, size_t produced)
{
    const lambda_run_spec_t *sp = &env->pool->spec;
    double ms = (double)(kyoka_mono_us() - inv->delivered_us) / 1000.0;
    long billed = (long)ms + 1;
    int peak = rt__cgroup_peak_mb(env);
    bool first = !env->init_reported;
    env->init_reported = true;
    if (!env->log_json) {
        char init[48] = "";
        if (first)
            snprintf(init, sizeof init, "Init Duration: %.2f ms\t", env->init_ms);
        env_line(env, inv, "END RequestId: %s\n", inv->request_id);
        env_line(env, inv,
                 "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %ld ms\tMemory Size: %d MB\t"
                 "Max Memory Used: %d MB\t%s\n",
                 inv->request_id, ms, billed, sp->memory_mb, peak, init);
        return;
    }
    bool ok = strcmp(status, "success") == 0;
    char et[160] = "";
    if (error_type.len) {
        char esc[128];
        json_escape(esc, sizeof esc, error_type);
        snprintf(et, sizeof et, ",\"errorType\":\"%s\"", esc);
    }
    char init[48] = "";
    if (first)
        snprintf(init, sizeof init, ",\"initDurationMs\":%.3f", env->init_ms);
    platform_record(env, inv, ok ? LAMBDA_LOG_DEBUG : LAMBDA_LOG_WARN, "platform.runtimeDone",
                    "\"requestId\":\"%s\",\"status\":\"%s\"%s,\"metrics\":{\"durationMs\":%.3f,\"producedBytes\":%zu}",
                    inv->request_id, status, et, ms, produced);
    platform_record(env, inv, ok ? LAMBDA_LOG_INFO : LAMBDA_LOG_WARN, "platform.report",
                    "\"requestId\":\"%s\",\"metrics\":{\"durationMs\":%.3f,\"billedDurationMs\":%ld,"
                    "\"memorySizeMB\":%d,\"maxMemoryUsedMB\":%d%s},\"status\":\"%s\"%s",
                    inv->request_id, ms, billed, sp->memory_mb, peak, init, status, et);
}

/* POST .../response or .../error for the invocation in hand. */
static void on_answer(rt_env_t *env, http_request_t *req, strv_t id, bool is_error)
{
    rt_inv_t *inv = env->inv;
    if (!inv || env->state != ENV_BUSY || !strv_eq_cstr(id, inv->request_id)) {
        api_reply(req, 400, "{\"errorMessage\":\"InvalidRequestID\",\"errorType\":\"InvalidRequestID\"}");
        return;
    }
    strv_t body = buf_view(&req->body);
    uv_timer_stop(&env->timer);
    /* What the function printed just before answering belongs before END. */
    drain_pipe(env, &env->out);
    drain_pipe(env, &env->err);
    bool too_large = !is_error && body.len > KYOKA_LAMBDA_MAX_SYNC_RESPONSE;
    if (too_large)
        report_line(env, inv, "error", STRV_LIT("Function.ResponseSizeTooLarge"), body.len);
    else if (is_error)
        report_line(env, inv, "error", http_request_header(req, "lambda-runtime-function-error-type"), body.len);
    else
        report_line(env, inv, "success", STRV_NULL, body.len);
    env->inv = NULL;
    if (too_large) {
        api_reply(req, 413, "{\"errorMessage\":\"Exceeded maximum allowed payload size (6291556 bytes).\","
                            "\"errorType\":\"RequestEntityTooLarge\"}");
        /* AWS's message names 6291556 bytes, not the documented 6 MB. */
        json_t *doc = json_pack("{s:s,s:s}", "errorMessage",
                                "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
                                "errorType", "Function.ResponseSizeTooLarge");
        char *text = proto_json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        lambda_invoke_result_t res = {.status = LAMBDA_RUN_OK, .payload = text, .len = strlen(text),
                                      .function_error = "Unhandled"};
        rt__inv_complete(inv, &res);
        free(text);
    } else {
        api_reply(req, 202, "{\"status\":\"OK\"}");
        lambda_invoke_result_t res = {.status = LAMBDA_RUN_OK, .payload = body.p ? body.p : "", .len = body.len,
                                      .function_error = is_error ? "Unhandled" : NULL};
        rt__inv_complete(inv, &res);
    }
    /* Until the next GET /next the environment is neither busy nor idle;
     * it counts as busy, which is what AWS's concurrency counts too. */
}

static void on_next(rt_env_t *env, http_request_t *req)
{
    if (env->next_req) {
        api_reply(req, 400, "{\"errorMessage\":\"a /next request is already waiting\",\"errorType\":\"InvalidRequest\"}");
        return;
    }
    if (env->state == ENV_BUSY && env->inv && env->inv->delivered_us) {
        /* It asks for the next event without answering the one it has: a
         * runtime that lost track. End it, so the caller gets an error and
         * the next invoke a fresh environment, instead of running the same
         * event again. */
        api_reply(req, 500, "{\"errorMessage\":\"the current invocation was not answered\",\"errorType\":\"InvalidStateTransition\"}");
        rt__env_kill(env, "protocol");
        return;
    }
    env->next_req = req;
    if (!env->initialised) {
        env->initialised = true;
        env->init_ms = (double)(kyoka_mono_us() - env->spawned_us) / 1000.0;
        init_report(env, "success", NULL);
    }
    uv_timer_stop(&env->timer);
    env->state = ENV_IDLE;
    if (env->inv) {
        deliver(env);
        return;
    }
    env->idle_since_us = kyoka_mono_us();
    rt__env_ready(env);
    if (env->state == ENV_IDLE && !env->provisioned && env->rt->cfg.idle_s > 0)
        uv_timer_start(&env->timer, on_timer, (uint64_t)env->rt->cfg.idle_s * 1000, 0);
}

static void on_init_error(rt_env_t *env, http_request_t *req)
{
    strv_t body = buf_view(&req->body);
    if (!env->init_error) {
        size_t n = body.len > 65536 ? 65536 : body.len;
        env->init_error = xstrndup(body.p ? body.p : "", n);
        env->init_error_len = n;
        strv_t t = http_request_header(req, "lambda-runtime-function-error-type");
        env->init_error_type = t.p ? xstrndup(t.p, t.len) : NULL;
        init_report(env, "error", env->init_error_type ? env->init_error_type : "Runtime.Unknown");
    }
    api_reply(req, 202, "{\"status\":\"OK\"}");
    /* The runtime exits after reporting; if it does not, end it, so the
     * next invocation gets a fresh environment as on AWS. */
    if (env->inv && env->state == ENV_STARTING)
        answer_init_error(env);
    rt__env_kill(env, "init-error");
}

static void on_api_request(http_request_t *req, void *ctx)
{
    rt_env_t *env = ctx;
    strv_t id = STRV_NULL;
    rt_api_kind_t k = rt_api_parse(req->method, req->path, &id);
    if (env->state == ENV_DEAD) {
        api_reply(req, 500, "{\"errorMessage\":\"environment is shutting down\",\"errorType\":\"ServiceException\"}");
        return;
    }
    switch (k) {
    case RT_API_NEXT:
        on_next(env, req);
        break;
    case RT_API_RESPONSE:
        on_answer(env, req, id, false);
        break;
    case RT_API_ERROR:
        on_answer(env, req, id, true);
        break;
    case RT_API_INIT_ERROR:
        on_init_error(env, req);
        break;
    default:
        api_reply(req, 404, "{\"errorMessage\":\"Unknown Runtime API path\",\"errorType\":\"InvalidRequest\"}");
    }
}

static void on_api_abort(http_request_t *req, void *ctx)
{
    rt_env_t *env = ctx;
    if (env->next_req == req)
        env->next_req = NULL;
}

/* ==== spawning ==== */

/* uv_spawn forks kyoka, and a fork copies kyoka's page tables, which grow
 * with everything it holds in memory: after an SQS bench had filled queues,
 * a cold start took 10 ms longer than on a fresh server. posix_spawn
 * (vfork underneath) costs the same whatever kyoka's size; a pidfd, polled
 * on the loop, says when the process has exited. The bootstrap gets a
 * session of its own (so the environment's whole tree can be killed at
 * once), default signal dispositions and an empty signal mask. */
static int spawn_process(rt_env_t *env, char **argv, char **envp, int *out_fd, int *err_fd, char *err,
                         size_t errcap)
{
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) != 0) {
        snprintf(err, errcap, "cannot make a pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe2(pe, O_CLOEXEC) != 0) {
        snprintf(err, errcap, "cannot make a pipe: %s", strerror(errno));
        close(po[0]);
        close(po[1]);
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, po[1], 1);
    posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
    posix_spawn_file_actions_addchdir_np(&fa, env->dir);
    posix_spawnattr_t at;
    posix_spawnattr_init(&at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(po[1]);
    close(pe[1]);
    if (rc != 0) {
        snprintf(err, errcap, "cannot start the function's runtime (%s): %s", argv[0], strerror(rc));
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    env->pid = pid;
    env->pidfd = pidfd_open(pid, 0);
    if (env->pidfd < 0) {
        snprintf(err, errcap, "cannot watch the function's process (pidfd_open: %s; kyoka needs Linux 5.3 or later)",
                 strerror(errno));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        close(po[0]);
        close(pe[0]);
        return -1;
    }
    *out_fd = po[0];
    *err_fd = pe[0];
    return 0;
}

static void on_pidfd(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    rt_env_t *env = h->data;
    int st = 0;
    pid_t r = waitpid(env->pid, &st, WNOHANG);
    if (r != env->pid)
        return;
    uv_poll_stop(h);
    on_env_exit(env, WIFEXITED(st) ? WEXITSTATUS(st) : 0, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void env_release_new(rt_env_t *env)
{
    buf_destroy(&env->logbuf);
    free(env->dir);
    free(env);
}

rt_env_t *rt__env_spawn(rt_t *rt, rt_pool_t *pool, bool provisioned, char *err, size_t errcap)
{
    rt_env_t *env = xcalloc(1, sizeof *env);
    env->rt = rt;
    env->pool = pool;
    env->id = ++rt->next_env_id;
    env->provisioned = provisioned;
    env->state = ENV_STARTING;
    env->creds_expire_ms = pool->spec.creds_expire_ms;
    env->peak_fd = -1;
    env->log_json = pool->spec.log_format && strcmp(pool->spec.log_format, "JSON") == 0;
    env->sys_level = pool->spec.sys_log_level != LAMBDA_LOG_UNSET ? pool->spec.sys_log_level : LAMBDA_LOG_INFO;
    buf_init(&env->logbuf, RT_LOG_PENDING_MAX + 4096);
    env->dir = xasprintf("%s/env-%u", rt->scratch, env->id);
    if (mkdir(env->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errcap, "cannot create %s: %s", env->dir, strerror(errno));
        env_release_new(env);
        return NULL;
    }
    http_config_t hc;
    http_config_defaults(&hc);
    hc.host = "127.0.0.1";
    hc.port = 0;
    hc.max_body_bytes = RT_API_MAX_BODY;
    hc.idle_timeout_ms = 24ull * 3600 * 1000;
    hc.body_timeout_ms = 600000;
    hc.max_connections = 8;
    http_handler_t hh = {.on_request = on_api_request, .on_abort = on_api_abort, .ctx = env};
    int rc = http_server_start(rt->loop, &hc, &hh, &env->api);
    if (rc != 0) {
        snprintf(err, errcap, "cannot open the Runtime API listener: %s", uv_strerror(rc));
        env_release_new(env);
        return NULL;
    }
    env->api_port = http_server_port(env->api);
    rt__cgroup_create(env, pool->spec.memory_mb);
    char **argv = NULL, **envp = NULL;
    if (rt__sandbox_command(env, &argv, &envp, err, errcap) != 0) {
        rt__cgroup_remove(env);
        http_server_stop(env->api, 0, NULL, NULL);
        env_release_new(env);
        return NULL;
    }
    env->spawned_us = kyoka_mono_us();
    int out_fd, err_fd;
    rc = spawn_process(env, argv, envp, &out_fd, &err_fd, err, errcap);
    rt__strv_free(argv);
    rt__strv_free(envp);
    if (rc != 0) {
        rt__cgroup_remove(env);
        http_server_stop(env->api, 0, NULL, NULL);
        env_release_new(env);
        return NULL;
    }
    uv_pipe_init(rt->loop, &env->out, 0);
    uv_pipe_init(rt->loop, &env->err, 0);
    uv_pipe_open(&env->out, out_fd);
    uv_pipe_open(&env->err, err_fd);
    env->out.data = env->err.data = env;
    uv_poll_init(rt->loop, &env->exit_poll, env->pidfd);
    env->exit_poll.data = env;
    uv_poll_start(&env->exit_poll, UV_READABLE, on_pidfd);
    uv_timer_init(rt->loop, &env->timer);
    env->timer.data = env;
    env->open_handles = 4; /* exit poll, out, err, timer; +1 for the API server when stopped */
    rt->live_envs++;
    env->next = pool->envs;
    pool->envs = env;
    rt__cgroup_join(env);
    /* AWS's initStart names the runtime version, which makes it INFO; kyoka
     * has no runtime versions (nor INIT_START in the Text format), so this
     * one, without it, is DEBUG, as AWS ranks such a record. */
    if (env->log_json)
        platform_record(env, NULL, LAMBDA_LOG_DEBUG, "platform.initStart",
                        "\"initializationType\":\"%s\",\"phase\":\"init\",\"functionName\":\"%s\","
                        "\"functionVersion\":\"%s\"",
                        init_type(env), pool->spec.function_name, pool->spec.version);
    uv_read_start((uv_stream_t *)&env->out, on_alloc, on_output);
    uv_read_start((uv_stream_t *)&env->err, on_alloc, on_output);
    /* Under a debugger, init may sit at a breakpoint as long as the
     * invocation may. */
    uv_timer_start(&env->timer, on_timer,
                   pool->spec.debug_port ? (uint64_t)pool->spec.timeout_s * 1000 : KYOKA_LAMBDA_INIT_TIMEOUT_MS, 0);
    return env;
}

/* ==== the environment's log stream ==== */

void rt__env_log(rt_env_t *env, const char *p, size_t n)
{
    rt_t *rt = env->rt;
    if (!rt->has_log_sink)
        return;
    if (env->logbuf.len + n > RT_LOG_PENDING_MAX) {
        static const char note[] = "kyoka: log output dropped: the function wrote faster than it could be delivered\n";
        if (env->logbuf.len + sizeof note <= RT_LOG_PENDING_MAX)
            buf_append(&env->logbuf, note, sizeof note - 1);
        return;
    }
    buf_append(&env->logbuf, p, n);
    if (!env->log_dirty) {
        env->log_dirty = true;
        env->next_dirty = rt->dirty_logs;
        rt->dirty_logs = env;
    }
}

/* Every complete line becomes one event; a line the python runtime folded
 * (a record's newlines written as \r, so that it stays one line on the
 * pipe) gets its newlines back. A last, unfinished line waits for the rest
 * unless the environment is gone. */
void rt__env_log_flush(rt_env_t *env)
{
    rt_t *rt = env->rt;
    buf_t *b = &env->logbuf;
    if (!rt->has_log_sink || !b->len)
        return;
    enum { MAX_LINES = 256 };
    lambda_log_line_t lines[MAX_LINES];
    size_t n = 0, start = 0, end = b->len;
    bool final = env->state == ENV_DEAD;
    int64_t now = kyoka_clock_now_ms();
    const lambda_run_spec_t *sp = &env->pool->spec;
    for (size_t i = 0; i <= end; i++) {
        bool at_end = i == end;
        if (!at_end && b->data[i] != '\n')
            continue;
        if (at_end && (!final || i == start))
            break;
        for (size_t k = start; k < i; k++)
            if (b->data[k] == '\r')
                b->data[k] = '\n';
        if (i > start)
            lines[n++] = (lambda_log_line_t){now, b->data + start, i - start};
        start = i + 1;
        if (n == MAX_LINES || (at_end && n)) {
            rt->log_sink.write(rt->log_sink.data, sp->region, sp->log_group, env->log_stream, sp->access_key_id,
                               lines, n, !env->log_started);
            env->log_started = true;
            n = 0;
        }
        if (at_end)
            break;
    }
    if (n) {
        rt->log_sink.write(rt->log_sink.data, sp->region, sp->log_group, env->log_stream, sp->access_key_id, lines,
                           n, !env->log_started);
        env->log_started = true;
    }
    if (start >= b->len) {
        buf_reset(b);
    } else {
        memmove(b->data, b->data + start, b->len - start);
        b->len -= start;
        b->data[b->len] = '\0';
    }
}
