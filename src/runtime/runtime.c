/*
 * The runtime's front: pools of environments per function version
 * configuration, the concurrency rules that decide between a warm
 * environment, a new one and a throttle, and the invoker the Lambda service
 * calls.
 *
 * Concurrency as AWS counts it
 * (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html):
 * an environment is in use from the moment it is given an invocation until
 * it asks for the next one. A function with reserved concurrency R never
 * has more than R in use (R = 0 throttles every call); the account as a
 * whole never more than --lambda-concurrency. A synchronous invocation past
 * a limit is answered at once with 429 TooManyRequestsException and AWS's
 * Reason; an asynchronous one waits for capacity.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protocol/protocol.h"

#include "core/banned.h"

/* Credentials are renewed by starting a fresh environment: one whose
 * session ends within this margin takes no new invocation. */
#define RT_CREDS_MARGIN_MS (10 * 60 * 1000)

/* ==== small helpers ==== */

typedef struct rm_job {
    uv_work_t w;
    char *path;
} rm_job_t;

static void rm_work(uv_work_t *w)
{
    rm_job_t *j = container_of(w, rm_job_t, w);
    kyoka_remove_tree(j->path);
}

static void rm_done(uv_work_t *w, int status)
{
    (void)status;
    rm_job_t *j = container_of(w, rm_job_t, w);
    free(j->path);
    free(j);
}

void rt__remove_tree(rt_t *rt, char *path)
{
    rm_job_t *j = xcalloc(1, sizeof *j);
    j->path = path;
    if (uv_queue_work(rt->loop, &j->w, rm_work, rm_done) != 0) {
        rm_work(&j->w);
        rm_done(&j->w, 0);
    }
}

static char *dup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

/* ==== the Runtime API request line ==== */

rt_api_kind_t rt_api_parse(strv_t method, strv_t path, strv_t *id)
{
    static const char prefix[] = "/2018-06-01/runtime/";
    if (!strv_starts_with(path, prefix))
        return RT_API_UNKNOWN;
    strv_t rest = {path.p + sizeof prefix - 1, path.len - (sizeof prefix - 1)};
    bool get = strv_eq_cstr(method, "GET"), post = strv_eq_cstr(method, "POST");
    if (strv_eq_cstr(rest, "invocation/next"))
        return get ? RT_API_NEXT : RT_API_UNKNOWN;
    if (strv_eq_cstr(rest, "init/error"))
        return post ? RT_API_INIT_ERROR : RT_API_UNKNOWN;
    static const char inv[] = "invocation/";
    if (!post || !strv_starts_with(rest, inv))
        return RT_API_UNKNOWN;
    strv_t tail = {rest.p + sizeof inv - 1, rest.len - (sizeof inv - 1)};
    const char *slash = memchr(tail.p, '/', tail.len);
    if (!slash || slash == tail.p)
        return RT_API_UNKNOWN;
    strv_t what = {slash + 1, tail.len - (size_t)(slash + 1 - tail.p)};
    *id = (strv_t){tail.p, (size_t)(slash - tail.p)};
    if (memchr(id->p, '/', id->len))
        return RT_API_UNKNOWN;
    if (strv_eq_cstr(what, "response"))
        return RT_API_RESPONSE;
    if (strv_eq_cstr(what, "error"))
        return RT_API_ERROR;
    return RT_API_UNKNOWN;
}

/* ==== pools ==== */

static void spec_copy(rt_pool_t *p, const lambda_run_spec_t *s)
{
    lambda_run_spec_t *d = &p->spec;
    *d = *s;
    d->pool_key = p->key;
    d->function_name = dup_or_null(s->function_name);
    d->function_arn = dup_or_null(s->function_arn);
    d->version = dup_or_null(s->version);
    d->region = dup_or_null(s->region);
    d->runtime = dup_or_null(s->runtime);
    d->handler = dup_or_null(s->handler);
    d->code_dir = dup_or_null(s->code_dir);
    d->opt_dir = dup_or_null(s->opt_dir);
    d->log_group = dup_or_null(s->log_group);
    d->log_format = dup_or_null(s->log_format);
    d->notice = dup_or_null(s->notice);
    d->access_key_id = dup_or_null(s->access_key_id);
    d->secret_access_key = dup_or_null(s->secret_access_key);
    d->session_token = dup_or_null(s->session_token);
    d->concurrency_key = dup_or_null(s->concurrency_key);
    p->env_vars = xcalloc(s->nenv + 1, sizeof *p->env_vars);
    for (size_t i = 0; i < s->nenv; i++)
        p->env_vars[i] = xstrdup(s->env[i]);
    d->env = (const char *const *)p->env_vars;
}

/* Fresh credentials for environments started from now on. */
static void spec_update_creds(rt_pool_t *p, const lambda_run_spec_t *s)
{
    /* Concurrency settings change without a new configuration. */
    p->spec.reserved = s->reserved;
    p->spec.unreserved_limit = s->unreserved_limit;
    if (!s->access_key_id || (p->spec.access_key_id && strcmp(p->spec.access_key_id, s->access_key_id) == 0))
        return;
    free((char *)p->spec.access_key_id);
    free((char *)p->spec.secret_access_key);
    free((char *)p->spec.session_token);
    p->spec.access_key_id = xstrdup(s->access_key_id);
    p->spec.secret_access_key = dup_or_null(s->secret_access_key);
    p->spec.session_token = dup_or_null(s->session_token);
    p->spec.creds_expire_ms = s->creds_expire_ms;
}

static void pool_free(rt_pool_t *p)
{
    lambda_run_spec_t *d = &p->spec;
    free((char *)d->function_name);
    free((char *)d->function_arn);
    free((char *)d->version);
    free((char *)d->region);
    free((char *)d->runtime);
    free((char *)d->handler);
    free((char *)d->code_dir);
    free((char *)d->opt_dir);
    free((char *)d->log_group);
    free((char *)d->log_format);
    free((char *)d->notice);
    free((char *)d->access_key_id);
    free((char *)d->secret_access_key);
    free((char *)d->session_token);
    free((char *)d->concurrency_key);
    rt__strv_free(p->env_vars);
    free(p->key);
    free(p);
}

static rt_pool_t *pool_lookup(rt_t *rt, const char *key)
{
    for (rt_pool_t *p = rt->pools; p; p = p->next)
        if (strcmp(p->key, key) == 0)
            return p;
    return NULL;
}

static rt_pool_t *pool_get(rt_t *rt, const lambda_run_spec_t *spec)
{
    rt_pool_t *p = pool_lookup(rt, spec->pool_key);
    if (p) {
        spec_update_creds(p, spec);
        return p;
    }
    p = xcalloc(1, sizeof *p);
    p->key = xstrdup(spec->pool_key);
    spec_copy(p, spec);
    p->next = rt->pools;
    rt->pools = p;
    return p;
}

static void pool_unlink(rt_t *rt, rt_pool_t *p)
{
    for (rt_pool_t **pp = &rt->pools; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            return;
        }
    }
}

/* A pool with nothing left in it goes away. */
static void pool_maybe_free(rt_t *rt, rt_pool_t *p)
{
    if (p->envs || p->wait_head || p->provisioned)
        return;
    pool_unlink(rt, p);
    pool_free(p);
}

/* ==== concurrency ==== */

static bool env_in_use(const rt_env_t *e)
{
    return e->state != ENV_DEAD && (e->inv || e->state == ENV_BUSY);
}

static void count_in_use(rt_t *rt, const char *fn_key, int *fn, int *account, int *unreserved)
{
    *fn = *account = *unreserved = 0;
    for (rt_pool_t *p = rt->pools; p; p = p->next) {
        bool same = fn_key && p->spec.concurrency_key && strcmp(p->spec.concurrency_key, fn_key) == 0;
        for (rt_env_t *e = p->envs; e; e = e->next) {
            if (!env_in_use(e))
                continue;
            (*account)++;
            if (p->spec.reserved < 0)
                (*unreserved)++;
            if (same)
                (*fn)++;
        }
    }
}

/* NULL when the invocation may have an environment, else AWS's Reason. */
static const char *throttle_reason(rt_t *rt, const lambda_run_spec_t *spec)
{
    if (spec->reserved == 0)
        return "ReservedFunctionConcurrentInvocationLimitExceeded";
    int fn, account, unreserved;
    count_in_use(rt, spec->concurrency_key, &fn, &account, &unreserved);
    if (spec->reserved > 0 && fn >= spec->reserved)
        return "ReservedFunctionConcurrentInvocationLimitExceeded";
    if (account >= rt->cfg.account_concurrency)
        return "ConcurrentInvocationLimitExceeded";
    /* Reserved concurrency is held back for its function: the others share
     * only what is left. */
    if (spec->reserved < 0 && spec->unreserved_limit > 0 && unreserved >= spec->unreserved_limit)
        return "ConcurrentInvocationLimitExceeded";
    return NULL;
}

static bool creds_fresh(const rt_env_t *e)
{
    return e->creds_expire_ms == 0 || e->creds_expire_ms - kyoka_clock_now_ms() > RT_CREDS_MARGIN_MS;
}

/* A warm environment ready now, or one warming up with nothing assigned. */
/* A warm environment ready now; else one that has just answered and is
 * about to ask for its next event (a caller sending its next request at
 * once must find the environment it just used, not start a second one);
 * else one warming up with nothing assigned. */
static rt_env_t *free_env(rt_pool_t *p, bool *warm)
{
    rt_env_t *starting = NULL, *answered = NULL;
    for (rt_env_t *e = p->envs; e; e = e->next) {
        if (e->retire || e->inv || e->state == ENV_DEAD || !creds_fresh(e))
            continue;
        if (e->state == ENV_IDLE && e->next_req) {
            *warm = true;
            return e;
        }
        if (e->state == ENV_BUSY && !answered)
            answered = e;
        if (e->state == ENV_STARTING && !starting)
            starting = e;
    }
    *warm = answered != NULL;
    return answered ? answered : starting;
}

/* ==== invocations ==== */

static rt_inv_t *inv_create(rt_t *rt, rt_pool_t *pool, const lambda_invoke_req_t *req, lambda_invoke_cb done,
                            void *data)
{
    rt_inv_t *inv = xcalloc(1, sizeof *inv);
    inv->rt = rt;
    inv->pool = pool;
    snprintf(inv->request_id, sizeof inv->request_id, "%s", req->request_id);
    inv->invoked_arn = xstrdup(req->invoked_arn ? req->invoked_arn : pool->spec.function_arn);
    inv->payload = xmalloc(req->len + 1);
    memcpy(inv->payload, req->payload, req->len);
    inv->payload[req->len] = '\0';
    inv->len = req->len;
    if (req->client_context) {
        arena_t a;
        arena_init(&a);
        unsigned char *dec = NULL;
        ssize_t n = base64_decode(&a, strv_from(req->client_context), &dec);
        if (n >= 0)
            inv->client_context = xstrndup((const char *)dec, (size_t)n);
        arena_destroy(&a);
    }
    inv->trace_id = dup_or_null(req->trace_id);
    inv->tail_log = req->tail_log;
    inv->async = req->async;
    inv->done = done;
    inv->data = data;
    buf_init(&inv->log, 64 * 1024);
    return inv;
}

static void inv_free(rt_inv_t *inv)
{
    free(inv->invoked_arn);
    free(inv->payload);
    free(inv->client_context);
    free(inv->trace_id);
    buf_destroy(&inv->log);
    free(inv);
}

void rt__inv_complete(rt_inv_t *inv, const lambda_invoke_result_t *res)
{
    lambda_invoke_result_t r = *res;
    if (inv->tail_log && inv->log.len) {
        size_t n = inv->log.len > KYOKA_LAMBDA_LOG_TAIL_BYTES ? KYOKA_LAMBDA_LOG_TAIL_BYTES : inv->log.len;
        r.log_tail = inv->log.data + inv->log.len - n;
        r.log_tail_len = n;
    }
    if (!inv->cancelled && inv->done)
        inv->done(inv->data, &r);
    inv_free(inv);
}

static void complete_service_error(rt_inv_t *inv, const char *code, const char *msg)
{
    lambda_invoke_result_t r = {.status = LAMBDA_RUN_SERVICE_ERROR, .error_code = code, .error_message = msg};
    rt__inv_complete(inv, &r);
}

/* Give inv an environment now, or say why not: a throttle reason, or
 * SPAWN_FAILED (the message is in err). */
static const char SPAWN_FAILED[] = "";

static const char *place(rt_t *rt, rt_pool_t *pool, rt_inv_t *inv, char *err, size_t errcap)
{
    bool warm;
    rt_env_t *e = free_env(pool, &warm);
    if (e && (warm || !throttle_reason(rt, &pool->spec))) {
        rt__env_assign(e, inv);
        return NULL;
    }
    const char *why = throttle_reason(rt, &pool->spec);
    if (why)
        return why;
    e = rt__env_spawn(rt, pool, false, err, errcap);
    if (!e) {
        log_error("lambda %s: %s", pool->spec.function_name, err);
        return SPAWN_FAILED;
    }
    rt__env_assign(e, inv);
    return NULL;
}

static void wait_push(rt_pool_t *p, rt_inv_t *inv)
{
    inv->next = NULL;
    if (p->wait_tail)
        p->wait_tail->next = inv;
    else
        p->wait_head = inv;
    p->wait_tail = inv;
}

static rt_inv_t *wait_pop(rt_pool_t *p)
{
    rt_inv_t *inv = p->wait_head;
    if (inv) {
        p->wait_head = inv->next;
        if (!p->wait_head)
            p->wait_tail = NULL;
    }
    return inv;
}

/* Events waiting for capacity anywhere get a chance when any environment
 * frees up, since a freed slot of the account serves every function. */
static void run_waiting(rt_t *rt)
{
    for (rt_pool_t *p = rt->pools; p; p = p->next) {
        while (p->wait_head) {
            rt_inv_t *inv = p->wait_head;
            const char *why = throttle_reason(rt, &p->spec);
            bool warm;
            rt_env_t *e = free_env(p, &warm);
            if (why && !(e && warm))
                break;
            wait_pop(p);
            char err[256];
            const char *still = place(rt, p, inv, err, sizeof err);
            if (still == SPAWN_FAILED) {
                complete_service_error(inv, "ServiceException", err);
            } else if (still) {
                /* No room after all: back at the head, to keep order. */
                inv->next = p->wait_head;
                p->wait_head = inv;
                if (!p->wait_tail)
                    p->wait_tail = inv;
                break;
            }
        }
    }
}

/* Never calls done from inside: a refusal (throttle, spawn failure) is
 * the return value, so the caller's handler is not finished under it. */
static int rt_invoke(void *self, const lambda_run_spec_t *spec, const lambda_invoke_req_t *req, lambda_invoke_cb done,
                     void *data, void **ticket, const char **refusal)
{
    rt_t *rt = self;
    *refusal = NULL;
    if (ticket)
        *ticket = NULL;
    if (rt->stopping) {
        *refusal = "kyoka is shutting down";
        return KYOKA_EIO;
    }
    rt_pool_t *pool = pool_get(rt, spec);
    rt_inv_t *inv = inv_create(rt, pool, req, done, data);
    if (pool->wait_head && req->async) {
        wait_push(pool, inv);
        return 0;
    }
    char err[256];
    const char *why = place(rt, pool, inv, err, sizeof err);
    if (!why) {
        if (ticket)
            *ticket = inv;
        return 0;
    }
    if (why != SPAWN_FAILED && req->async) {
        wait_push(pool, inv);
        return 0;
    }
    inv_free(inv);
    pool_maybe_free(rt, pool);
    if (why == SPAWN_FAILED) {
        static char last_err[256];
        snprintf(last_err, sizeof last_err, "%s", err);
        *refusal = last_err;
        return KYOKA_EIO;
    }
    *refusal = why;
    return KYOKA_ELIMIT;
}

static void rt_cancel(void *self, void *ticket)
{
    (void)self;
    rt_inv_t *inv = ticket;
    if (inv) {
        inv->cancelled = true;
        inv->data = NULL;
    }
}

void rt__env_ready(rt_env_t *env)
{
    rt_t *rt = env->rt;
    if (env->retire || !creds_fresh(env) || rt->stopping) {
        rt__env_kill(env, "retired");
        return;
    }
    rt_pool_t *p = env->pool;
    rt_inv_t *inv = wait_pop(p);
    if (inv) {
        rt__env_assign(env, inv);
        return;
    }
    run_waiting(rt);
}

void rt__env_gone(rt_env_t *env)
{
    rt_t *rt = env->rt;
    rt_pool_t *p = env->pool;
    for (rt_env_t **pp = &p->envs; *pp; pp = &(*pp)->next) {
        if (*pp == env) {
            *pp = env->next;
            break;
        }
    }
    if (rt->stopping) {
        while (p->wait_head)
            complete_service_error(wait_pop(p), "ServiceException", "kyoka is shutting down");
        p->provisioned = 0;
        pool_maybe_free(rt, p);
        return;
    }
    /* Keep provisioned concurrency at its level. */
    int have = 0;
    for (rt_env_t *e = p->envs; e; e = e->next)
        if (e->provisioned && e->state != ENV_DEAD)
            have++;
    for (; have < p->provisioned; have++) {
        char err[256];
        if (!rt__env_spawn(rt, p, true, err, sizeof err)) {
            log_error("lambda %s: provisioned environment: %s", p->spec.function_name, err);
            break;
        }
    }
    run_waiting(rt);
    pool_maybe_free(rt, p);
}

static bool key_has_prefix(const char *key, const char *prefix) { return strncmp(key, prefix, strlen(prefix)) == 0; }

static void rt_retire(void *self, const char *prefix)
{
    rt_t *rt = self;
    for (rt_pool_t *p = rt->pools, *next; p; p = next) {
        next = p->next;
        if (!key_has_prefix(p->key, prefix))
            continue;
        p->provisioned = 0;
        for (rt_env_t *e = p->envs, *en; e; e = en) {
            en = e->next;
            e->retire = true;
            if (!env_in_use(e))
                rt__env_kill(e, "retired");
        }
    }
}

static void rt_provision(void *self, const lambda_run_spec_t *spec, int n)
{
    rt_t *rt = self;
    rt_pool_t *p = pool_get(rt, spec);
    p->provisioned = n;
    int have = 0;
    for (rt_env_t *e = p->envs; e; e = e->next) {
        if (!e->provisioned || e->state == ENV_DEAD)
            continue;
        if (have < n) {
            have++;
        } else {
            /* Past the new level: an ordinary environment now, reaped when idle. */
            e->provisioned = false;
            if (e->state == ENV_IDLE && !e->inv)
                rt__env_kill(e, "unprovisioned");
        }
    }
    for (; have < n; have++) {
        char err[256];
        if (!rt__env_spawn(rt, p, true, err, sizeof err)) {
            log_error("lambda %s: provisioned environment: %s", p->spec.function_name, err);
            break;
        }
    }
    pool_maybe_free(rt, p);
}

static void rt_pool_counts(void *self, const char *prefix, int *busy, int *idle, int *starting)
{
    rt_t *rt = self;
    *busy = *idle = *starting = 0;
    for (rt_pool_t *p = rt->pools; p; p = p->next) {
        if (!key_has_prefix(p->key, prefix))
            continue;
        for (rt_env_t *e = p->envs; e; e = e->next) {
            if (e->state == ENV_DEAD)
                continue;
            if (env_in_use(e))
                (*busy)++;
            else if (e->state == ENV_IDLE)
                (*idle)++;
            else
                (*starting)++;
        }
    }
}

/* ==== lifecycle ==== */

static int write_file(const char *path, const void *data, size_t len, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return close(fd);
}

static int mkdirs(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *s = tmp + 1; *s; s++) {
        if (*s == '/') {
            *s = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* The language bootstraps, as /var/runtime sees them. */
static int write_assets(rt_t *rt, char *err, size_t errcap)
{
    if (mkdirs(rt->runtime_dir) != 0) {
        snprintf(err, errcap, "cannot create %s: %s", rt->runtime_dir, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < rt_nassets; i++) {
        char *path = xasprintf("%s/%s", rt->runtime_dir, rt_assets[i].path);
        char *slash = strrchr(path, '/');
        *slash = '\0';
        int rc = mkdirs(path);
        *slash = '/';
        if (rc == 0)
            rc = write_file(path, rt_assets[i].data, rt_assets[i].len, 0755);
        if (rc != 0) {
            snprintf(err, errcap, "cannot write %s: %s", path, strerror(errno));
            free(path);
            return -1;
        }
        free(path);
    }
    /* The mount point for the SDK (or, without a sandbox, a link to it). */
    char *nm = xasprintf("%s/node_modules", rt->runtime_dir);
    if (!rt->bwrap && rt->node_sdk) {
        unlink(nm);
        if (symlink(rt->node_sdk, nm) != 0)
            log_warn("lambda: cannot link %s: %s", nm, strerror(errno));
    } else {
        mkdir(nm, 0755);
    }
    free(nm);
    return 0;
}

/* Python never caches the module it runs as a script, and /var/runtime is
 * read-only in the sandbox, so the bootstrap's modules are compiled here,
 * once, in the background: each python cold start then loads them from
 * .pyc. Hash-based pycs stay valid although the files are rewritten at every
 * start. Nothing waits for this; a cold start before it ends compiles in
 * memory, as it would without it. */
void rt__helper_started(rt_t *rt, uv_process_t *p)
{
    uv_unref((uv_handle_t *)p);
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(rt->helpers); i++) {
        if (!rt->helpers[i]) {
            rt->helpers[i] = p;
            return;
        }
    }
}

void rt__helper_done(rt_t *rt, uv_process_t *p)
{
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(rt->helpers); i++)
        if (rt->helpers[i] == p)
            rt->helpers[i] = NULL;
    uv_close((uv_handle_t *)p, (uv_close_cb)free);
}

static void on_compiled(uv_process_t *p, int64_t status, int sig)
{
    (void)status;
    (void)sig;
    rt__helper_done(p->data, p);
}

static void precompile_python(rt_t *rt)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        return;
    uv_process_t *p = xcalloc(1, sizeof *p);
    p->data = rt;
    char *args[] = {"/usr/bin/python3", "-m", "compileall", "-q", "-l", "--invalidation-mode", "unchecked-hash",
                    rt->runtime_dir, NULL};
    uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE}, {.flags = UV_IGNORE}, {.flags = UV_IGNORE}};
    uv_process_options_t po = {.exit_cb = on_compiled, .file = args[0], .args = args, .stdio_count = 3, .stdio = stdio};
    if (uv_spawn(rt->loop, p, &po) != 0)
        uv_close((uv_handle_t *)p, (uv_close_cb)free);
    else
        rt__helper_started(rt, p);
}

rt_t *rt_create(uv_loop_t *loop, const rt_config_t *cfg, char *err, size_t errcap)
{
    rt_t *rt = xcalloc(1, sizeof *rt);
    rt->loop = loop;
    rt->cfg = *cfg;
    if (rt->cfg.account_concurrency <= 0)
        rt->cfg.account_concurrency = 1000;
    rt->scratch = xstrdup(cfg->scratch_dir);
    rt->endpoint = xstrdup(cfg->endpoint ? cfg->endpoint : "http://127.0.0.1:4566");
    rt->node_sdk = cfg->node_sdk_dir && access(cfg->node_sdk_dir, R_OK) == 0 ? xstrdup(cfg->node_sdk_dir) : NULL;
    rt->cfg.scratch_dir = rt->scratch;
    rt->cfg.endpoint = rt->endpoint;
    rt->cfg.node_sdk_dir = rt->node_sdk;
    rt->runtime_dir = xasprintf("%s/runtime", rt->scratch);
    rt__sandbox_probe(rt);
    if (cfg->sandbox == RT_SANDBOX_BWRAP && access("/usr/bin/bwrap", X_OK) != 0) {
        snprintf(err, errcap, "--sandbox bwrap: bubblewrap cannot make a sandbox here (install bubblewrap, or use "
                              "--sandbox none)");
        goto fail;
    }
    if (mkdirs(rt->scratch) != 0) {
        snprintf(err, errcap, "cannot create %s: %s", rt->scratch, strerror(errno));
        goto fail;
    }
    if (write_assets(rt, err, errcap) != 0)
        goto fail;
    precompile_python(rt);
    snprintf(rt->describe, sizeof rt->describe, "sandbox %s, memory limit %s",
             rt->bwrap ? "bubblewrap" : "none (functions run as plain processes)",
             rt->cgroup_version == 2 ? "cgroup v2" : rt->cgroup_version == 1 ? "cgroup v1" : "none (no cgroup here)");
    rt->invoker = (lambda_invoker_t){
        .rt = rt,
        .invoke = rt_invoke,
        .cancel = rt_cancel,
        .retire = rt_retire,
        .provision = rt_provision,
        .pool_counts = rt_pool_counts,
    };
    return rt;
fail:
    free(rt->scratch);
    free(rt->endpoint);
    free(rt->node_sdk);
    free(rt->runtime_dir);
    free(rt);
    return NULL;
}

const lambda_invoker_t *rt_invoker(rt_t *rt) { return &rt->invoker; }

/* Once per loop turn, after I/O: every environment that printed hands its
 * complete lines to the sink in one batch, so logging never sits on an
 * invocation's path. */
static void on_log_check(uv_check_t *h)
{
    rt_t *rt = h->data;
    while (rt->dirty_logs) {
        rt_env_t *e = rt->dirty_logs;
        rt->dirty_logs = e->next_dirty;
        e->log_dirty = false;
        e->next_dirty = NULL;
        rt__env_log_flush(e);
    }
}

void rt_set_log_sink(rt_t *rt, const lambda_log_sink_t *sink)
{
    rt->log_sink = *sink;
    rt->has_log_sink = true;
    if (!rt->log_flush) {
        rt->log_flush = xcalloc(1, sizeof *rt->log_flush);
        uv_check_init(rt->loop, rt->log_flush);
        rt->log_flush->data = rt;
        uv_check_start(rt->log_flush, on_log_check);
        uv_unref((uv_handle_t *)rt->log_flush);
    }
}

const char *rt_describe(const rt_t *rt) { return rt->describe; }

static void rt_free(rt_t *rt)
{
    if (rt->cfg.scratch_is_temp)
        kyoka_remove_tree(rt->scratch);
    if (rt->cgroup_root[0])
        rmdir(rt->cgroup_root);
    while (rt->pools) {
        rt_pool_t *p = rt->pools;
        rt->pools = p->next;
        while (p->wait_head)
            complete_service_error(wait_pop(p), "ServiceException", "kyoka is shutting down");
        pool_free(p);
    }
    free(rt->scratch);
    free(rt->endpoint);
    free(rt->node_sdk);
    free(rt->runtime_dir);
    free(rt);
}

typedef struct stop_ctx {
    rt_t *rt;
    void (*done)(void *);
    void *data;
} stop_ctx_t;

static void on_all_gone(void *data)
{
    stop_ctx_t *sc = data;
    rt_free(sc->rt);
    if (sc->done)
        sc->done(sc->data);
    free(sc);
}

void rt_stop(rt_t *rt, void (*done)(void *), void *data)
{
    if (!rt) {
        if (done)
            done(data);
        return;
    }
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(rt->helpers); i++) {
        if (rt->helpers[i]) {
            uv_process_kill(rt->helpers[i], SIGKILL);
            rt__helper_done(rt, rt->helpers[i]);
        }
    }
    if (rt->log_flush) {
        /* Its own allocation: it may close after the runtime is freed. */
        uv_close((uv_handle_t *)rt->log_flush, (uv_close_cb)free);
        rt->log_flush = NULL;
    }
    stop_ctx_t *sc = xcalloc(1, sizeof *sc);
    *sc = (stop_ctx_t){rt, done, data};
    rt->stopping = true;
    rt->stop_done = on_all_gone;
    rt->stop_data = sc;
    if (rt->live_envs == 0) {
        on_all_gone(sc);
        return;
    }
    for (rt_pool_t *p = rt->pools; p; p = p->next) {
        p->provisioned = 0;
        for (rt_env_t *e = p->envs; e; e = e->next)
            rt__env_kill(e, "shutdown");
    }
}

json_t *rt_environments(const rt_t *rt)
{
    static const char *const names[] = {"starting", "idle", "busy", "dead"};
    json_t *a = json_array();
    uint64_t now = kyoka_mono_us();
    for (rt_pool_t *p = rt->pools; p; p = p->next) {
        for (rt_env_t *e = p->envs; e; e = e->next) {
            const char *state = env_in_use(e) ? "busy" : names[e->state];
            json_array_append_new(
                a, json_pack("{s:I,s:s,s:s,s:s,s:I,s:f,s:b}", "id", (json_int_t)e->id, "function",
                             p->spec.function_name, "version", p->spec.version, "state", state, "pid",
                             (json_int_t)e->pid, "age_s", (double)(now - e->spawned_us) / 1e6, "provisioned",
                             e->provisioned));
        }
    }
    return a;
}
