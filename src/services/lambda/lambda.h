/*
 * Lambda as the rest of kyoka sees it: how a function is run, and what the
 * service tells the runtime.
 *
 * The Lambda service (this folder) owns functions, versions, aliases,
 * policies, layers and code. It does not run anything itself: the runtime
 * (src/runtime) sits above it and registers an invoker here at start-up, so
 * the service asks "run this version with this event" through one hook and
 * the runtime owns processes, sandboxes, concurrency and timeouts. Every
 * later event source (pipes, S3 notifications, EventBridge) invokes through
 * the same path: lambda_invoke_internal().
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_LAMBDA_H
#define KYOKA_LAMBDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Lambda's log levels, most detailed first
 * (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html). */
typedef enum lambda_log_level {
    LAMBDA_LOG_UNSET = 0,
    LAMBDA_LOG_TRACE,
    LAMBDA_LOG_DEBUG,
    LAMBDA_LOG_INFO,
    LAMBDA_LOG_WARN,
    LAMBDA_LOG_ERROR,
    LAMBDA_LOG_FATAL
} lambda_log_level_t;

/* Everything the runtime needs to start an execution environment for one
 * function version. Strings are borrowed for the duration of the call: the
 * runtime copies what it keeps. */
typedef struct lambda_run_spec {
    const char *pool_key;      /* identifies the environments that may serve
                                  this spec: region/name/version#generation */
    const char *function_name;
    const char *function_arn;  /* unqualified */
    const char *version;       /* "$LATEST" or "3": the version that runs */
    const char *region;
    const char *runtime;       /* "python3.12", "provided.al2023", ... */
    const char *handler;       /* may be NULL for provided runtimes */
    const char *code_dir;      /* extracted code, mounted read-only at /var/task */
    const char *opt_dir;       /* merged layers for /opt, or NULL */
    int memory_mb;
    int timeout_s;
    int ephemeral_mb;          /* /tmp size */
    const char *const *env;    /* the user's variables, "KEY=VALUE" */
    size_t nenv;
    const char *log_group;
    const char *log_format;    /* "Text" or "JSON" */
    /* The execution role's session (AssumeRole as lambda.amazonaws.com). */
    const char *access_key_id, *secret_access_key, *session_token;
    int64_t creds_expire_ms;   /* server clock */
    int reserved;              /* reserved concurrency, -1 when unset */
    int unreserved_limit;      /* what functions without a reservation share:
                                  the account's limit less every reservation */
    const char *concurrency_key; /* region/name: reserved concurrency is per function */
    int provisioned;           /* environments to keep initialised, 0 none */
    /* LoggingConfig's ApplicationLogLevel and SystemLogLevel (JSON format
     * only; LAMBDA_LOG_UNSET with Text). Numbers, not strings, so that the
     * runtime's copy of the spec needs nothing of its own. */
    lambda_log_level_t app_log_level;
    lambda_log_level_t sys_log_level;
    /* `kyoka lambda debug`: start under the language's debugger listening
     * on 127.0.0.1:debug_port (node --inspect, python debugpy or pdb over
     * a socket), with no init timeout; 0 for none. */
    int debug_port;
    /* A line for the function's log, written once per environment (the
     * hot-reload watcher's fallback, say), or NULL. */
    const char *notice;
} lambda_run_spec_t;

typedef struct lambda_invoke_req {
    const char *request_id;    /* 36 chars */
    const char *invoked_arn;   /* the ARN the caller used (qualified or not) */
    const void *payload;
    size_t len;
    const char *client_context; /* base64 JSON from X-Amz-Client-Context, or NULL */
    const char *trace_id;      /* X-Amzn-Trace-Id value, or NULL */
    bool tail_log;             /* LogType=Tail */
    bool async;                /* InvocationType=Event: never throttled here */
} lambda_invoke_req_t;

typedef enum {
    LAMBDA_RUN_OK = 0,        /* the function ran: payload is its answer or error */
    LAMBDA_RUN_THROTTLED,     /* no capacity: 429 TooManyRequestsException */
    LAMBDA_RUN_SERVICE_ERROR  /* kyoka could not run it (spawn failure, ...) */
} lambda_run_status_t;

typedef struct lambda_invoke_result {
    lambda_run_status_t status;
    const char *payload;       /* response or error document (valid during the callback) */
    size_t len;
    const char *function_error; /* "Unhandled" when the function failed, else NULL */
    const char *log_tail;      /* last 4 KB of the invocation's log, or NULL */
    size_t log_tail_len;
    const char *throttle_reason; /* AWS's Reason value when throttled */
    const char *error_code;    /* SERVICE_ERROR: AWS's exception name */
    const char *error_message;
} lambda_invoke_result_t;

typedef void (*lambda_invoke_cb)(void *data, const lambda_invoke_result_t *res);

/* The hook the runtime registers. invoke either calls done later (exactly
 * once, on the loop, never from inside invoke) and returns 0, or refuses
 * without calling it: KYOKA_ELIMIT with AWS's throttle Reason in *refusal,
 * or KYOKA_EIO with a message there. *ticket lets the caller stop waiting
 * (cancel): the function keeps running, done is no longer called. An
 * asynchronous invocation is never throttled: it waits for capacity. */
typedef struct lambda_invoker {
    void *rt;
    int (*invoke)(void *rt, const lambda_run_spec_t *spec, const lambda_invoke_req_t *req, lambda_invoke_cb done,
                  void *data, void **ticket, const char **refusal);
    void (*cancel)(void *rt, void *ticket);
    /* The configuration behind pool_key prefix changed or went away: retire
     * its idle environments now and busy ones when they finish. */
    void (*retire)(void *rt, const char *pool_prefix);
    /* Keep n environments of spec initialised (provisioned concurrency);
     * n = 0 releases them. */
    void (*provision)(void *rt, const lambda_run_spec_t *spec, int n);
    /* Environments of a pool: counts by state, for ListFunctions tools and
     * `kyoka lambda ls`. */
    void (*pool_counts)(void *rt, const char *pool_prefix, int *busy, int *idle, int *starting);
} lambda_invoker_t;

/* Where function logs go. The runtime hands over each environment's lines
 * in batches, off the invoke path; the server writes them to CloudWatch
 * Logs under the execution role (so a role without logs:* loses them, as
 * on AWS). Strings and lines are borrowed for the call. */
typedef struct lambda_log_line {
    int64_t timestamp_ms; /* server clock */
    const char *message;
    size_t len;
} lambda_log_line_t;

typedef struct lambda_log_sink {
    void *data;
    /* first: the environment's first batch (its stream is new). */
    void (*write)(void *data, const char *region, const char *group, const char *stream, const char *access_key_id,
                  const lambda_log_line_t *lines, size_t n, bool first);
} lambda_log_sink_t;

/* Register the runtime's invoker with the Lambda service state (the
 * server's wiring does this once at start-up). */
void lambda_set_invoker(void *lambda_state, const lambda_invoker_t *inv);
/* Where code zips live: <root>/zips/<sha>.zip. */
const char *lambda_code_root(void *lambda_state);
/* Every function, for `kyoka lambda ls`: [{name, region, runtime, memory,
 * versions, reserved}] (new reference). */
json_t *lambda_functions_summary(void *lambda_state);
/* The asynchronous event queue: {accepted, completed, succeeded, failed,
 * retried, queued, delayed, running} (new reference). */
json_t *lambda_async_summary(void *lambda_state);
/* The account's concurrency limit (--lambda-concurrency). */
void lambda_set_account_concurrency(void *lambda_state, int n);
/* --hot-reload-roots: a comma-separated list of directories that code
 * served from a directory (S3Bucket hot-reload) must be inside; NULL or ""
 * allows any directory kyoka can read. Returns 0, or -1 with a message in
 * err when a root is not a directory. */
int lambda_set_hot_reload_roots(void *lambda_state, const char *roots, char *err, size_t errcap);
/* `kyoka lambda debug NAME [--port N] [--off]`: the next environments of
 * the function (region NULL: the default region) start under a debugger on
 * 127.0.0.1:port (0: the language's usual port), its timeout lifted; off
 * returns to normal. Either retires the function's environments. Returns
 * {function, runtime, port, attach} (new reference), or NULL with a
 * message in err and *status the HTTP status to answer. */
json_t *lambda_debug_set(void *lambda_state, const char *region, const char *name, int port, bool off, char *err,
                         size_t errcap, int *status);

#endif
