/* Shared inside the runtime component: pools, environments, invocations. */
#ifndef KYOKA_RUNTIME_INTERNAL_H
#define KYOKA_RUNTIME_INTERNAL_H

#include "runtime.h"

#include "core/limits.h"
#include "http/http.h"

typedef struct rt_pool rt_pool_t;
typedef struct rt_env rt_env_t;
typedef struct rt_inv rt_inv_t;

/* An invocation from the moment it is accepted until its answer is handed
 * to the caller. */
struct rt_inv {
    rt_t *rt;
    rt_pool_t *pool;
    rt_env_t *env;             /* once assigned */
    char request_id[40];
    char *invoked_arn;
    char *payload;
    size_t len;
    char *client_context;      /* decoded JSON, or NULL */
    char *trace_id;
    bool tail_log;
    bool async;
    lambda_invoke_cb done;
    void *data;                /* NULL after cancel: nobody waits */
    bool cancelled;
    uint64_t delivered_us;     /* when the runtime received it */
    buf_t log;                 /* the invocation's log (START..REPORT), tail kept */
    rt_inv_t *next;            /* pool wait queue */
};

typedef enum {
    ENV_STARTING, /* spawned, no /next yet */
    ENV_IDLE,     /* a /next is parked: ready for an invocation */
    ENV_BUSY,     /* an invocation was handed over; waiting for its answer */
    ENV_DEAD      /* killed or exited; handles closing */
} rt_env_state_t;

struct rt_env {
    rt_t *rt;
    rt_pool_t *pool;
    unsigned id;
    rt_env_state_t state;
    int pid;                   /* the bootstrap's (or bubblewrap's) process */
    int pidfd;
    uv_poll_t exit_poll;       /* readable when the process has exited */
    uv_pipe_t out, err;
    uv_timer_t timer;          /* init deadline, invoke timeout, idle reaping */
    http_server_t *api;
    int api_port;
    http_request_t *next_req;  /* the parked GET /next */
    rt_inv_t *inv;             /* assigned invocation (STARTING or BUSY) */
    char *dir;                 /* private directory (sandbox tmp, or cwd without sandbox) */
    char cgroup[300];          /* memory cgroup path, or "" */
    int open_handles;          /* closes to wait for before free */
    uint64_t spawned_us;
    uint64_t idle_since_us;
    int64_t creds_expire_ms;
    double init_ms;            /* measured on the first /next */
    bool init_reported;        /* Init Duration goes on the first REPORT only */
    bool notice_logged;        /* spec.notice went to the log */
    bool initialised;
    bool provisioned;
    bool retire;               /* end after the current invocation */
    bool exited;
    int64_t exit_status;
    int term_signal;
    const char *death;         /* why kyoka killed it: "timeout", "init-timeout", ... */
    char *init_error;          /* body of POST /init/error */
    size_t init_error_len;
    char *init_error_type;
    char log_stream[128];      /* the CloudWatch Logs stream this environment writes */
    bool log_json;             /* LogFormat JSON: system lines are Telemetry API records */
    lambda_log_level_t sys_level; /* SystemLogLevel: records below it are not written */
    buf_t logbuf;              /* output not yet handed to the log sink (bounded) */
    bool log_dirty;            /* on rt->dirty_logs */
    bool log_started;          /* a batch went to the sink already */
    rt_env_t *next_dirty;
    int peak_fd;               /* the cgroup's peak-memory file, kept open, or -1 */
    rt_env_t *next;            /* pool list */
};

/* One function version configuration: its spec (deep copy) and its
 * environments. */
struct rt_pool {
    char *key;
    lambda_run_spec_t spec;    /* strings owned by the pool */
    char **env_vars;
    rt_env_t *envs;
    rt_inv_t *wait_head, *wait_tail; /* asynchronous events waiting for capacity */
    int provisioned;
    rt_pool_t *next;
};

struct rt {
    uv_loop_t *loop;
    rt_config_t cfg;
    char *scratch;             /* owned copy of cfg.scratch_dir */
    char *runtime_dir;         /* bootstraps: /var/runtime inside the sandbox */
    char *endpoint;
    char *node_sdk;
    bool bwrap;                /* sandbox in use */
    bool sandbox_failed;       /* bubblewrap is there but may not sandbox here */
    uv_process_t *helpers[2];  /* background processes (sandbox probe, python
                                  precompile) still running; closed by rt_stop */
    int cgroup_version;        /* 1, 2, or 0 for none */
    char cgroup_root[256];     /* where environment cgroups are made */
    char describe[160];
    rt_pool_t *pools;
    unsigned next_env_id;
    lambda_invoker_t invoker;
    lambda_log_sink_t log_sink;
    bool has_log_sink;
    uv_check_t *log_flush;     /* hands environments' lines to the sink once per loop turn */
    rt_env_t *dirty_logs;      /* environments with lines to hand over */
    bool stopping;
    int live_envs;             /* not yet freed */
    void (*stop_done)(void *);
    void *stop_data;
};

/* ---- env.c ---- */
/* Start a new environment in pool (state STARTING). NULL with a message on
 * failure to spawn. */
rt_env_t *rt__env_spawn(rt_t *rt, rt_pool_t *pool, bool provisioned, char *err, size_t errcap);
/* Hand inv to env (IDLE: at once; STARTING: when its first /next comes). */
void rt__env_assign(rt_env_t *env, rt_inv_t *inv);
/* Kill the process tree; the environment is freed once everything closed.
 * why names the cause for the pending invocation's error. */
void rt__env_kill(rt_env_t *env, const char *why);

/* ---- runtime.c ---- */
/* The environment is free again (IDLE after an answer): give it waiting work
 * or let it idle. */
void rt__env_ready(rt_env_t *env);
/* Complete an invocation: call its done (unless cancelled) and free it. */
void rt__inv_complete(rt_inv_t *inv, const lambda_invoke_result_t *res);
/* The environment is gone (freed right after): unlink it from its pool. */
void rt__env_gone(rt_env_t *env);

/* malloc'd printf. */
char *rt__sprintf(const char *fmt, ...) KYOKA_PRINTF(1, 2);
/* Remove a directory tree on the thread pool; takes path. */
void rt__remove_tree(rt_t *rt, char *path);

/* A background helper process of the runtime's own: tracked so that
 * rt_stop can end it, unref'd so that it never keeps the loop alive. p->data
 * must be rt. _done closes and frees it. */
void rt__helper_started(rt_t *rt, uv_process_t *p);
void rt__helper_done(rt_t *rt, uv_process_t *p);

/* Log lines of an environment: appended, and handed to the sink at the end
 * of the loop turn. */
void rt__env_log(rt_env_t *env, const char *p, size_t n);
/* Hand over every pending line now (before an environment is freed). */
void rt__env_log_flush(rt_env_t *env);
/* "TRACE" ... "FATAL" (static), as AWS spells the level. */
const char *rt__log_level_name(lambda_log_level_t level);

/* ---- sandbox.c ---- */
/* Probe bubblewrap and the memory controller; fills rt->bwrap, cgroup_*. */
void rt__sandbox_probe(rt_t *rt);
/* The argv (NULL-terminated, heap strings in *argv_out, count in *n) and
 * environment for env. Returns 0 or -1 with err. */
int rt__sandbox_command(rt_env_t *env, char ***argv_out, char ***envp_out, char *err, size_t errcap);
void rt__strv_free(char **v);
/* Create the environment's memory cgroup (env->cgroup) with its limit. */
void rt__cgroup_create(rt_env_t *env, int memory_mb);
/* Move the environment's process tree into its cgroup, on the pool. */
void rt__cgroup_join(rt_env_t *env);
/* After the process is gone: was the limit hit, and the peak in MB. */
bool rt__cgroup_oom(const rt_env_t *env);
int rt__cgroup_peak_mb(const rt_env_t *env);
void rt__cgroup_remove(rt_env_t *env);

/* ---- assets (generated from src/runtime/bootstrap) ---- */
typedef struct rt_asset {
    const char *path; /* relative to the runtime dir */
    const unsigned char *data;
    size_t len;
} rt_asset_t;
extern const rt_asset_t rt_assets[];
extern const size_t rt_nassets;

#endif
