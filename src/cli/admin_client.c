/*
 * `kyoka clock ...` and `kyoka iam ...`: small clients of the running server's
 * /_kyoka/ endpoints over a plain blocking socket. The endpoint comes from
 * --endpoint, else $KYOKA_ENDPOINT, else http://127.0.0.1:4566.
 */
#include "core/core.h"
#include "protocol/protocol.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ADMIN_MAX_RESPONSE (16 << 20)

int kyoka_cli__parse_endpoint(const char *ep, char *host, size_t hostcap, char *port, size_t portcap);

/* Split http://HOST[:PORT][/...] (shared with logs_tail.c). */
int kyoka_cli__parse_endpoint(const char *ep, char *host, size_t hostcap, char *port, size_t portcap)
{
    if (strncmp(ep, "http://", 7) == 0)
        ep += 7;
    const char *colon = strrchr(ep, ':');
    const char *slash = strchr(ep, '/');
    size_t hl = colon ? (size_t)(colon - ep) : slash ? (size_t)(slash - ep) : strlen(ep);
    if (hl == 0 || hl >= hostcap)
        return -1;
    memcpy(host, ep, hl);
    host[hl] = '\0';
    if (colon) {
        size_t pl = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);
        if (pl == 0 || pl >= portcap)
            return -1;
        memcpy(port, colon + 1, pl);
        port[pl] = '\0';
    } else {
        snprintf(port, portcap, "80");
    }
    return 0;
}

int kyoka_cli__admin_call(const char *endpoint, const char *method, const char *path, json_t **out);

/* One request; *out is the JSON body. Returns the exit status (shared with
 * iam_cmd.c). */
int kyoka_cli__admin_call(const char *endpoint, const char *method, const char *path, json_t **out)
{
    char host[256], port[16];
    if (kyoka_cli__parse_endpoint(endpoint, host, sizeof host, port, sizeof port) != 0) {
        fprintf(stderr, "kyoka: cannot read endpoint %s; use http://HOST:PORT\n", endpoint);
        return 2;
    }
    /* The endpoint is a local kyoka: a numeric address or localhost. No
     * resolver, so the static release binary needs no NSS at run time. */
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    if (strcmp(host, "localhost") == 0)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    else if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "kyoka: %s is not an IPv4 address or localhost; use e.g. http://127.0.0.1:4566\n", host);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, "kyoka: no kyoka server at %s; start one with `kyoka serve` or pass --endpoint\n", endpoint);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    char req[1024];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                     method, path, host);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return 1;
    }
    buf_t resp;
    buf_init(&resp, ADMIN_MAX_RESPONSE);
    char chunk[8192];
    ssize_t r;
    while ((r = read(fd, chunk, sizeof chunk)) > 0)
        buf_append(&resp, chunk, (size_t)r);
    close(fd);
    const char *body = strstr(resp.data, "\r\n\r\n");
    int status = 0;
    sscanf(resp.data, "HTTP/1.1 %d", &status);
    int rc = 1;
    if (body) {
        json_error_t e;
        *out = json_loads(body + 4, 0, &e);
        rc = status == 200 && *out ? 0 : 1;
        if (status != 200) {
            const char *msg = json_string_value(json_object_get(*out, "message"));
            fprintf(stderr, "kyoka: %s\n", msg ? msg : body + 4);
        }
    }
    buf_destroy(&resp);
    return rc;
}

static void print_json(json_t *j)
{
    char *s = proto_json_dumps(j, JSON_INDENT(2));
    if (s) {
        printf("%s\n", s);
        free(s);
    }
}

/* `kyoka lambda ls`: each function with its environments, for a person. */
static void print_lambda(json_t *j)
{
    json_t *fns = json_object_get(j, "functions"), *envs = json_object_get(j, "environments");
    printf("%s\n", json_string_value(json_object_get(j, "runtime")));
    if (!json_array_size(fns)) {
        printf("no functions\n");
        return;
    }
    printf("%-32s %-14s %-16s %6s %8s %5s %5s %8s\n", "FUNCTION", "REGION", "RUNTIME", "MEMORY", "VERSIONS", "BUSY",
           "IDLE", "STARTING");
    size_t i, k;
    json_t *f, *e;
    json_array_foreach(fns, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        int busy = 0, idle = 0, starting = 0;
        json_array_foreach(envs, k, e)
        {
            if (strcmp(json_string_value(json_object_get(e, "function")), name) != 0)
                continue;
            const char *st = json_string_value(json_object_get(e, "state"));
            busy += strcmp(st, "busy") == 0;
            idle += strcmp(st, "idle") == 0;
            starting += strcmp(st, "starting") == 0;
        }
        printf("%-32s %-14s %-16s %6lld %8lld %5d %5d %8d\n", name, json_string_value(json_object_get(f, "region")),
               json_string_value(json_object_get(f, "runtime")) ? json_string_value(json_object_get(f, "runtime")) : "-",
               (long long)json_integer_value(json_object_get(f, "memory")),
               (long long)json_integer_value(json_object_get(f, "versions")), busy, idle, starting);
        json_t *hot = json_object_get(f, "hot_reload");
        if (hot)
            printf("    hot reload from %s (%s, %lld watches, %lld entries)\n",
                   json_string_value(json_object_get(hot, "dir")),
                   json_string_value(json_object_get(hot, "watching")) ? json_string_value(json_object_get(hot, "watching")) : "-",
                   (long long)json_integer_value(json_object_get(hot, "watches")),
                   (long long)json_integer_value(json_object_get(hot, "entries")));
        if (json_object_get(f, "debug_port"))
            printf("    debugging on 127.0.0.1:%lld\n", (long long)json_integer_value(json_object_get(f, "debug_port")));
        json_array_foreach(envs, k, e)
        {
            if (strcmp(json_string_value(json_object_get(e, "function")), name) != 0)
                continue;
            printf("    env %-5lld %-10s %-9s pid %-8lld up %.1fs%s\n", (long long)json_integer_value(json_object_get(e, "id")),
                   json_string_value(json_object_get(e, "version")), json_string_value(json_object_get(e, "state")),
                   (long long)json_integer_value(json_object_get(e, "pid")),
                   json_real_value(json_object_get(e, "age_s")),
                   json_is_true(json_object_get(e, "provisioned")) ? " (provisioned)" : "");
        }
    }
}

/* `kyoka lambda debug NAME [--port N] [--off]` as its admin request. */
static int lambda_debug_path(const char **a, int n, char *path, size_t cap)
{
    const char *name = a[0], *port = NULL;
    bool off = false;
    for (int i = 1; i < n; i++) {
        if (strcmp(a[i], "--port") == 0 && i + 1 < n)
            port = a[++i];
        else if (strcmp(a[i], "--off") == 0)
            off = true;
        else if (strcmp(a[i], "--json") != 0) {
            fprintf(stderr, "kyoka: lambda debug takes NAME [--port N] [--off], got %s\n", a[i]);
            return -1;
        }
    }
    for (const char *p = port; p && *p; p++)
        if (*p < '0' || *p > '9') {
            fprintf(stderr, "kyoka: --port needs a number, got %s\n", port);
            return -1;
        }
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')) {
            fprintf(stderr, "kyoka: %s is not a function name\n", name);
            return -1;
        }
    snprintf(path, cap, "/_kyoka/lambda/debug?function=%s%s%s%s", name, port ? "&port=" : "", port ? port : "",
             off ? "&off=1" : "");
    return 0;
}

int kyoka_cli_admin(int argc, char **argv)
{
    const char *endpoint = getenv("KYOKA_ENDPOINT");
    if (!endpoint)
        endpoint = "http://127.0.0.1:4566";
    const char *args[8];
    int nargs = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--endpoint") == 0 && i + 1 < argc)
            endpoint = argv[++i];
        else if (nargs < 8)
            args[nargs++] = argv[i];
    }
    char path[512];
    const char *method = "GET";
    if (nargs == 3 && strcmp(args[0], "clock") == 0 && strcmp(args[1], "advance") == 0) {
        char *end;
        double v = strtod(args[2], &end);
        if (*end || v < 0) {
            fprintf(stderr, "kyoka: clock advance needs a number of seconds >= 0, got %s\n", args[2]);
            return 2;
        }
        snprintf(path, sizeof path, "/_kyoka/clock/advance?seconds=%s", args[2]);
        method = "POST";
    } else if (nargs == 2 && strcmp(args[0], "clock") == 0 && strcmp(args[1], "show") == 0) {
        snprintf(path, sizeof path, "/_kyoka/clock");
    } else if (nargs == 3 && strcmp(args[0], "iam") == 0 && strcmp(args[1], "explain") == 0) {
        snprintf(path, sizeof path, "/_kyoka/iam/decisions/%s", args[2]);
    } else if (nargs == 2 && strcmp(args[0], "iam") == 0 && strcmp(args[1], "decisions") == 0) {
        snprintf(path, sizeof path, "/_kyoka/iam/decisions?limit=20");
    } else if (nargs >= 3 && strcmp(args[0], "lambda") == 0 && strcmp(args[1], "debug") == 0) {
        if (lambda_debug_path(args + 2, nargs - 2, path, sizeof path) != 0)
            return 2;
        method = "POST";
    } else if (nargs >= 1 && strcmp(args[0], "lambda") == 0 && (nargs == 1 || strcmp(args[1], "ls") == 0)) {
        snprintf(path, sizeof path, "/_kyoka/lambda");
    } else {
        fprintf(stderr, "usage: kyoka clock advance SECONDS | kyoka clock show | kyoka iam explain ID | kyoka iam "
                        "decisions | kyoka lambda ls [--json] | kyoka lambda debug NAME [--port N] [--off]\n");
        return 2;
    }
    bool as_json = false;
    for (int i = 0; i < nargs; i++)
        as_json = as_json || strcmp(args[i], "--json") == 0;
    json_t *j = NULL;
    int rc = kyoka_cli__admin_call(endpoint, method, path, &j);
    if (rc == 0 && j && strcmp(args[0], "lambda") == 0 && nargs >= 2 && strcmp(args[1], "debug") == 0 && !as_json)
        printf("%s\n", json_string_value(json_object_get(j, "attach")) ? json_string_value(json_object_get(j, "attach"))
                                                                         : json_string_value(json_object_get(j, "message")));
    else if (rc == 0 && j && strcmp(args[0], "lambda") == 0 && !as_json)
        print_lambda(j);
    else if (rc == 0 && j)
        print_json(j);
    json_decref(j);
    return rc;
}
