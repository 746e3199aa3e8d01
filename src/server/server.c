/*
 * Start-up and shut-down: open the store, create the credential store with
 * the root keys, create every service, listen, print one banner line; on
 * SIGINT/SIGTERM stop accepting, let in-flight requests finish, commit and
 * close the store.
 */
#include "internal.h"
#include "services/kinesis/kinesis.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void kyoka_config_defaults(kyoka_config_t *cfg)
{
    *cfg = (kyoka_config_t){
        .host = "127.0.0.1",
        .port = 4566,
        .data_dir = "./.kyoka",
        .account_id = "000000000000",
        .region = "us-east-1",
        .access_key = "test",
        .secret_key = "test",
        .log_requests = true,
        .lambda_concurrency = 1000,
        .lambda_idle_s = 300,
        .sandbox = "auto",
#ifdef KYOKA_NODE_SDK_DIR
        .node_sdk_dir = KYOKA_NODE_SDK_DIR,
#endif
    };
}

static void *service_state(kyoka_ctx_t *ctx, const char *name)
{
    kyoka_server_t *s = ctx->_server;
    svc_slot_t *slot = kyoka__service_by_name(s, strv_from(name));
    return slot ? slot->state : NULL;
}

static void on_log_flush(uv_check_t *h)
{
    kyoka_server_t *s = container_of(h, kyoka_server_t, log_flush);
    if (s->log_buf.len) {
        fwrite(s->log_buf.data, 1, s->log_buf.len, stderr);
        fflush(stderr);
        buf_reset(&s->log_buf);
    }
}

static void on_stopped(void *data)
{
    kyoka_server_t *s = data;
    s->http = NULL;
    uv_stop(s->loop);
}

static void on_signal(uv_signal_t *h, int signum)
{
    kyoka_server_t *s = h->data;
    if (s->stopping) {
        fprintf(stderr, "kyoka: second signal, exiting now\n");
        exit(1);
    }
    s->stopping = true;
    log_info("received %s: finishing in-flight requests, then stopping", signum == SIGINT ? "SIGINT" : "SIGTERM");
    for (size_t i = 0; i < s->nservices; i++)
        if (s->services[i].def->stopping)
            s->services[i].def->stopping(s->services[i].state);
    http_server_stop(s->http, 10000, on_stopped, s);
}

static int create_services(kyoka_server_t *s)
{
    for (size_t i = 0; kyoka_service_defs[i]; i++) {
        const svc_def_t *def = kyoka_service_defs[i];
        svc_slot_t *slot = &s->services[s->nservices];
        slot->def = def;
        slot->model = model_service_lookup(def->name);
        if (!slot->model) {
            fprintf(stderr, "kyoka: no model for service %s (regenerate src/protocol/models_gen.c)\n", def->name);
            return -1;
        }
        s->nservices++;
        char err[512] = "";
        if (def->create) {
            slot->state = def->create(&s->ctx, err, sizeof err);
            if (!slot->state) {
                fprintf(stderr, "kyoka: cannot start %s: %s\n", def->name, err);
                return -1;
            }
        }
    }
    return 0;
}

static void free_services(kyoka_server_t *s)
{
    for (size_t i = s->nservices; i-- > 0;)
        if (s->services[i].def->free)
            s->services[i].def->free(s->services[i].state);
    s->nservices = 0;
}

/* The runtime starts once the port is known: functions are told it. */
static int start_runtime(kyoka_server_t *s, int port)
{
    const kyoka_config_t *cfg = &s->cfg;
    snprintf(s->fn_endpoint, sizeof s->fn_endpoint, "http://%s:%d",
             strcmp(cfg->host, "0.0.0.0") == 0 || strcmp(cfg->host, "localhost") == 0 ? "127.0.0.1" : cfg->host,
             port);
    char scratch[4096];
    if (cfg->data_dir)
        snprintf(scratch, sizeof scratch, "%s/lambda/run", cfg->data_dir);
    else
        snprintf(scratch, sizeof scratch, "/tmp/kyoka-run-%d", (int)getpid());
    rt_config_t rc = {
        .account_concurrency = cfg->lambda_concurrency,
        .idle_s = cfg->lambda_idle_s,
        .sandbox = strcmp(cfg->sandbox, "bwrap") == 0  ? RT_SANDBOX_BWRAP
                   : strcmp(cfg->sandbox, "none") == 0 ? RT_SANDBOX_NONE
                                                        : RT_SANDBOX_AUTO,
        .endpoint = s->fn_endpoint,
        .scratch_dir = scratch,
        .scratch_is_temp = cfg->data_dir == NULL,
        .node_sdk_dir = cfg->node_sdk_dir,
    };
    char err[512] = "";
    s->runtime = rt_create(s->loop, &rc, err, sizeof err);
    if (!s->runtime) {
        fprintf(stderr, "kyoka: cannot start the Lambda runtime: %s\n", err);
        return -1;
    }
    svc_slot_t *slot = kyoka__service_by_name(s, STRV_LIT("lambda"));
    if (slot) {
        lambda_set_invoker(slot->state, rt_invoker(s->runtime));
        lambda_set_account_concurrency(slot->state, cfg->lambda_concurrency);
    }
    kyoka__function_logs_start(s);
    kyoka__log_subscriptions_start(s);
    return 0;
}

static void add_root(kyoka_server_t *s)
{
    char arn[128];
    snprintf(arn, sizeof arn, "arn:aws:iam::%s:root", s->cfg.account_id);
    auth_cred_t root = {
        .access_key_id = (char *)s->cfg.access_key,
        .secret_access_key = (char *)s->cfg.secret_key,
        .account_id = (char *)s->cfg.account_id,
        .principal_arn = arn,
        .user_id = (char *)s->cfg.account_id,
        .type = AUTH_PRINCIPAL_ROOT,
        .active = true,
    };
    s->root = auth_store_put(s->ctx.creds, &root);
}

static void write_port_file(const char *path, int port)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%d\n", port);
    fclose(f);
    rename(tmp, path);
}

/* One server per data directory: two would deliver the same messages and
 * overwrite each other's state. An flock on DIR/kyoka.lock, taken before
 * anything is loaded, with the holder's pid written in it for the message.
 * The kernel drops the lock when the process dies, kill -9 included, so a
 * stale file never blocks a restart. Returns the descriptor (kept open for
 * the server's life; O_CLOEXEC keeps it out of function processes) or -1
 * after printing what to do. */
static int lock_data_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "kyoka: data directory %s exists but is not a directory; pass --data-dir with a directory "
                        "path\n", dir);
        return -1;
    }
    if (stat(dir, &st) != 0 && mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "kyoka: cannot create data directory %s: %s; pass --data-dir with a writable path or use "
                        "--ephemeral\n", dir, strerror(errno));
        return -1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/kyoka.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "kyoka: cannot use data directory %s: %s; %s\n", dir, strerror(errno),
                errno == EROFS ? "it is on a read-only filesystem: pass a writable --data-dir or use --ephemeral"
                : errno == EACCES ? "fix its permissions or pass another --data-dir"
                                  : "pass another --data-dir or use --ephemeral");
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int why = errno;
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        if (why == EWOULDBLOCK)
            fprintf(stderr, "kyoka: data directory %s is in use by another kyoka server (pid %s); stop that server "
                            "first, or pass another --data-dir (or --ephemeral)\n", dir, pid[0] ? pid : "unknown");
        else
            fprintf(stderr, "kyoka: cannot lock data directory %s: %s; pass another --data-dir or use --ephemeral\n",
                    dir, strerror(why));
        close(fd);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        fprintf(stderr, "kyoka: cannot write %s: %s; pass a writable --data-dir or use --ephemeral\n", path,
                strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int kyoka_server_run(const kyoka_config_t *cfg)
{
    kyoka_server_t *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    s->started_us = kyoka_mono_us();
    s->loop = xmalloc(sizeof *s->loop);
    uv_loop_init(s->loop);
    klog_set_json(cfg->log_json);
    buf_init(&s->log_buf, (size_t)4 << 20);
    int exit_code = 1;

    char err[512] = "";
    int lock_fd = cfg->data_dir ? lock_data_dir(cfg->data_dir) : -1;
    if (cfg->data_dir && lock_fd < 0) {
        uv_loop_close(s->loop);
        free(s->loop);
        buf_destroy(&s->log_buf);
        free(s);
        return 1;
    }
    store_t *store = store_open(s->loop, cfg->data_dir, err, sizeof err);
    if (!store) {
        fprintf(stderr, "kyoka: %s\n", err);
        goto out_loop;
    }
    snprintf(s->endpoint, sizeof s->endpoint, "http://%s:%d",
             strcmp(cfg->host, "127.0.0.1") == 0 || strcmp(cfg->host, "0.0.0.0") == 0 ? "localhost" : cfg->host,
             cfg->port);
    s->ctx = (kyoka_ctx_t){
        .loop = s->loop,
        .store = store,
        .creds = auth_store_create(),
        .account_id = cfg->account_id,
        .region = cfg->region,
        .endpoint = s->endpoint,
        .data_dir = cfg->data_dir,
        .finish = kyoka__call_finish,
        .authorize = kyoka__authorize,
        .service_state = service_state,
        ._server = s,
    };
    add_root(s);
    kyoka__internal_start(s);
    kyoka__raw_start(&s->ctx);
    if (kyoka__clock_load(s, err, sizeof err) != 0) {
        fprintf(stderr, "kyoka: %s\n", err);
        goto out_services;
    }
    if (create_services(s) != 0)
        goto out_services;
    svc_slot_t *kinesis = kyoka__service_by_name(s, STRV_LIT("kinesis"));
    if (kinesis)
        kinesis_set_aws_limits(kinesis->state, cfg->kinesis_aws_limits);
    svc_slot_t *lambda_slot = kyoka__service_by_name(s, STRV_LIT("lambda"));
    char roots_err[512] = "";
    if (lambda_slot && lambda_set_hot_reload_roots(lambda_slot->state, cfg->hot_reload_roots, roots_err,
                                                   sizeof roots_err) != 0) {
        fprintf(stderr, "kyoka: %s\n", roots_err);
        goto out_services;
    }

    http_config_t hc;
    http_config_defaults(&hc);
    hc.host = cfg->host;
    hc.port = cfg->port;
    /* on_headers streams S3 object bodies; every other body is buffered. */
    http_handler_t handler = {kyoka__on_headers, kyoka__on_body, kyoka__on_request, kyoka__on_abort, s};
    int rc = http_server_start(s->loop, &hc, &handler, &s->http);
    if (rc != 0) {
        fprintf(stderr, "kyoka: cannot listen on %s:%d: %s; %s\n", cfg->host, cfg->port, uv_strerror(rc),
                rc == UV_EADDRINUSE ? "another process uses that port: stop it or pass --port N"
                                    : "check --host and --port");
        goto out_services;
    }
    int port = http_server_port(s->http);
    if (cfg->port == 0) {
        snprintf(s->endpoint, sizeof s->endpoint, "http://%s:%d",
                 strcmp(cfg->host, "127.0.0.1") == 0 ? "localhost" : cfg->host, port);
    }

    if (start_runtime(s, port) != 0)
        goto out_services;

    uv_signal_init(s->loop, &s->sigint);
    uv_signal_init(s->loop, &s->sigterm);
    s->sigint.data = s->sigterm.data = s;
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_check_init(s->loop, &s->log_flush);
    uv_check_start(&s->log_flush, on_log_flush);
    uv_unref((uv_handle_t *)&s->log_flush);

    char services[256] = "";
    for (size_t i = 0; i < s->nservices; i++) {
        size_t l = strlen(services);
        snprintf(services + l, sizeof services - l, "%s%s", i ? "," : "", s->services[i].def->name);
    }
    printf("kyoka %s listening on http://%s:%d | data: %s | auth: %s | account %s | region %s | services: %s | "
           "lambda: %s | ready in %.1f ms\n",
           KYOKA_VERSION, cfg->host, port, cfg->data_dir ? cfg->data_dir : "ephemeral (in memory)",
           cfg->auth_open ? "open (any key is root)" : "sigv4", cfg->account_id, cfg->region, services,
           rt_describe(s->runtime), (double)(kyoka_mono_us() - s->started_us) / 1000.0);
    fflush(stdout);
    if (cfg->port_file)
        write_port_file(cfg->port_file, port);

    uv_run(s->loop, UV_RUN_DEFAULT);
    exit_code = 0;
    on_log_flush(&s->log_flush);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->log_flush, NULL);
    log_info("stopped after %llu requests", (unsigned long long)s->requests);

out_services:
    if (s->runtime) {
        rt_stop(s->runtime, NULL, NULL);
        s->runtime = NULL;
        uv_run(s->loop, UV_RUN_DEFAULT);
    }
    kyoka__internal_stop(s);
    free_services(s);
    if (s->http) {
        http_server_stop(s->http, 0, on_stopped, s);
        uv_run(s->loop, UV_RUN_DEFAULT);
    }
    store_close(store);
    auth_store_free(s->ctx.creds);
out_loop:
    uv_run(s->loop, UV_RUN_DEFAULT);
    uv_walk(s->loop, close_walk, NULL);
    uv_run(s->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(s->loop) != 0)
        log_warn("loop closed with handles still open");
    free(s->loop);
    buf_destroy(&s->log_buf);
    free(s);
    if (lock_fd >= 0)
        close(lock_fd);
    return exit_code;
}
