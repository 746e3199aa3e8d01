/*
 * runtime: execution environments for Lambda functions.
 *
 * An execution environment is one process tree (the function's runtime
 * bootstrap and whatever it starts), in a sandbox where the kernel allows
 * one (bubblewrap: mount, PID, IPC and UTS namespaces; the code read-only at
 * /var/task, layers at /opt, a private size-limited /tmp), under a memory
 * limit (a cgroup where kyoka may create one). It serves one invocation at
 * a time through its own Lambda Runtime API listener (2018-06-01) on
 * 127.0.0.1, so an environment sees only its own invocations.
 *
 * Environments are kept in pools, one per function version configuration
 * (lambda_run_spec_t.pool_key). A warm idle environment is reused; more are
 * started while the function's reserved concurrency and the account's limit
 * allow, and a synchronous invoke past them is throttled as AWS throttles it.
 * Idle environments are reaped after rt_config_t.idle_s. Timeouts, runtime
 * exits and out-of-memory kills end the environment and answer the
 * invocation with AWS's error documents.
 *
 * Thread: loop thread. Processes are supervised through libuv (uv_spawn,
 * exit callbacks, pipes); nothing blocks.
 */
#ifndef KYOKA_RUNTIME_H
#define KYOKA_RUNTIME_H

#include "core/core.h"
#include "services/lambda/lambda.h"

#include <jansson.h>
#include <uv.h>

typedef struct rt rt_t;

typedef enum {
    RT_SANDBOX_AUTO = 0, /* bubblewrap when it works here, else none (said in the banner) */
    RT_SANDBOX_BWRAP,    /* bubblewrap or fail at start */
    RT_SANDBOX_NONE      /* plain processes in their own directory */
} rt_sandbox_mode_t;

typedef struct rt_config {
    int account_concurrency;  /* --lambda-concurrency, AWS default 1000 */
    int idle_s;               /* reap idle environments after this long */
    rt_sandbox_mode_t sandbox;
    const char *endpoint;     /* kyoka's own endpoint, for the SDK in functions */
    const char *scratch_dir;  /* where environments get private directories */
    bool scratch_is_temp;     /* remove scratch_dir when the runtime stops (--ephemeral) */
    const char *node_sdk_dir; /* node_modules with the @aws-sdk clients, or NULL */
} rt_config_t;

/* Start the runtime. Writes the language bootstraps under scratch_dir and
 * probes the sandbox and memory-limit mechanisms. NULL with a message in
 * err on failure. */
rt_t *rt_create(uv_loop_t *loop, const rt_config_t *cfg, char *err, size_t errcap);
/* Kill every environment and free the runtime once their handles closed;
 * done (optional) runs then. */
void rt_stop(rt_t *rt, void (*done)(void *), void *data);
/* Where environments' log lines go (see lambda_log_sink_t); without one
 * they reach only LogType=Tail. */
void rt_set_log_sink(rt_t *rt, const lambda_log_sink_t *sink);
/* The invoker to register with the Lambda service (lambda_set_invoker). */
const lambda_invoker_t *rt_invoker(rt_t *rt);
/* One phrase for the start banner: "sandbox bubblewrap, memory cgroup v1". */
const char *rt_describe(const rt_t *rt);
/* Every environment with its pool, state and age (new reference), for
 * GET /_kyoka/lambda and `kyoka lambda ls`. */
json_t *rt_environments(const rt_t *rt);

/* ---- the Runtime API request line, parsed (also the fuzz target) ---- */
typedef enum {
    RT_API_UNKNOWN = 0,
    RT_API_NEXT,          /* GET  /2018-06-01/runtime/invocation/next */
    RT_API_RESPONSE,      /* POST /2018-06-01/runtime/invocation/{id}/response */
    RT_API_ERROR,         /* POST /2018-06-01/runtime/invocation/{id}/error */
    RT_API_INIT_ERROR     /* POST /2018-06-01/runtime/init/error */
} rt_api_kind_t;

/* Classify a Runtime API request. For RESPONSE and ERROR, *id is the
 * request id view into path. Returns RT_API_UNKNOWN for anything else,
 * including a wrong method (the caller answers 404/405). */
rt_api_kind_t rt_api_parse(strv_t method, strv_t path, strv_t *id);

#endif
