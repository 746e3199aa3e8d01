/*
 * s3_bench: S3 PutObject and GetObject rates for any S3 endpoint in path
 * style (kyoka, s3rver, moto's server, ...).
 *
 *   s3_bench http://127.0.0.1:4566 [--seconds 5] [--connections 16]
 *            [--small 4096] [--large 1048576] [--server-pid PID]
 *            [--region us-east-1] [--access-key test] [--secret-key test]
 *            [--json]
 *
 * Four phases against one fresh bucket, each for --seconds, from
 * --connections threads each on its own keep-alive connection (so that many
 * requests are in flight):
 *   put-small  PutObject of --small bytes (4 KiB): objects/s. Each thread
 *              writes its own 64 keys over and over; on kyoka a 200 means
 *              the object is fsynced.
 *   get-small  GetObject of those objects: objects/s.
 *   put-large  PutObject of --large bytes (1 MiB): MB/s.
 *   get-large  GetObject of those: MB/s.
 * With --server-pid, the server's CPU time per request of each phase (from
 * /proc/PID/stat before and after).
 *
 * Requests are signed with SigV4 and UNSIGNED-PAYLOAD, as the SDKs sign
 * over TLS, so the client never hashes bodies. Each thread signs each of its
 * requests once per second of X-Amz-Date and sends it again; kyoka's signer
 * caches signing keys without a lock, so signing takes a mutex.
 */
#include "auth/auth.h"
#include "core/core.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/banned.h"

#define KEYS_PER_THREAD 64

typedef struct opts {
    char host[256], port[16], hostport[300];
    double seconds;
    int connections, server_pid;
    size_t small, large;
    const char *region, *akid, *secret;
    bool json;
} opts_t;

static opts_t O = {.seconds = 5, .connections = 16, .small = 4096, .large = 1048576};
static char g_bucket[64];
static atomic_long g_done, g_bytes;
static atomic_int g_failed;
static atomic_bool g_stop;

static void die(const char *fmt, ...) KYOKA_PRINTF(1, 2) __attribute__((noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "s3_bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t server_cpu_us(void)
{
    if (O.server_pid <= 0)
        return 0;
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", O.server_pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    const char *p = strrchr(line, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (uint64_t)((ut + st) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* ==== one connection ==== */

typedef struct conn {
    int fd;
    buf_t resp;
} conn_t;

static void conn_open(conn_t *c)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
    if (getaddrinfo(O.host, O.port, &hints, &ai) != 0)
        die("cannot resolve %s", O.host);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0)
        die("cannot connect to %s:%s", O.host, O.port);
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Send head (and body, if any) and read the whole response; returns the
 * status and the body's length in *body_len (the body itself is counted,
 * not kept). Reconnects and sends again if the server closed the
 * connection. */
static int conn_call(conn_t *c, const buf_t *head, const char *body, size_t blen, size_t *body_len)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (c->fd < 0)
            conn_open(c);
        bool ok = send_all(c->fd, head->data, head->len) && (!blen || send_all(c->fd, body, blen));
        buf_reset(&c->resp);
        size_t need = SIZE_MAX, hdr = 0, got = 0;
        bool close_after = false;
        char chunk[1 << 16];
        while (ok && (hdr == 0 || got < need)) {
            ssize_t r = recv(c->fd, chunk, sizeof chunk, 0);
            if (r <= 0) {
                if (hdr && need == SIZE_MAX)
                    need = got;
                else
                    ok = false;
                break;
            }
            if (!hdr) {
                if (buf_append(&c->resp, chunk, (size_t)r) != 0)
                    die("response head too large");
                const char *e = strstr(c->resp.data, "\r\n\r\n");
                if (!e)
                    continue;
                hdr = (size_t)(e - c->resp.data) + 4;
                const char *cl = strcasestr(c->resp.data, "\r\ncontent-length:");
                if (cl && cl < e)
                    need = strtoul(cl + 17, NULL, 10);
                int status = 0;
                sscanf(c->resp.data, "HTTP/1.%*d %d", &status);
                if (status == 204 || status == 304 || strncmp(head->data, "HEAD", 4) == 0)
                    need = 0;
                close_after = strncmp(c->resp.data, "HTTP/1.0", 8) == 0 ||
                              (strcasestr(c->resp.data, "\r\nconnection: close") &&
                               strcasestr(c->resp.data, "\r\nconnection: close") < e);
                got = c->resp.len - hdr;
            } else {
                got += (size_t)r;
            }
        }
        if (!ok || !hdr) {
            close(c->fd);
            c->fd = -1;
            continue;
        }
        int status = 0;
        sscanf(c->resp.data, "HTTP/1.%*d %d", &status);
        if (close_after) {
            close(c->fd);
            c->fd = -1;
        }
        *body_len = got;
        return status;
    }
    die("the server keeps closing the connection");
}

/* ==== requests ==== */

static void amz_date(char out[17])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static pthread_mutex_t g_sign_mu = PTHREAD_MUTEX_INITIALIZER;

/* A signed request head for method on path with a body of blen bytes. */
static void build(buf_t *out, const char *method, const char *path, size_t blen)
{
    char date[17];
    amz_date(date);
    auth_header_t hs[3] = {
        {STRV_LIT("Host"), strv_from(O.hostport)},
        {STRV_LIT("X-Amz-Content-Sha256"), STRV_LIT("UNSIGNED-PAYLOAD")},
        {STRV_LIT("X-Amz-Date"), strv_from(date)},
    };
    auth_request_t req = {strv_from(method), strv_from(path), STRV_LIT(""), hs, 3, {"", 0}, false, 0};
    buf_t authz;
    buf_init(&authz, 4096);
    pthread_mutex_lock(&g_sign_mu);
    int ok = auth_sigv4_sign(&req, O.akid, O.secret, date, O.region, "s3", "UNSIGNED-PAYLOAD", &authz) == 0;
    pthread_mutex_unlock(&g_sign_mu);
    if (!ok)
        die("cannot sign a request");
    buf_reset(out);
    (void)buf_appendf(out,
                      "%s %s HTTP/1.1\r\nHost: %s\r\nX-Amz-Content-Sha256: UNSIGNED-PAYLOAD\r\nX-Amz-Date: %s\r\n"
                      "Authorization: %s\r\n",
                      method, path, O.hostport, date, authz.data);
    if (strcmp(method, "PUT") == 0)
        (void)buf_appendf(out, "Content-Type: application/octet-stream\r\nContent-Length: %zu\r\n", blen);
    (void)buf_appends(out, "\r\n");
    buf_destroy(&authz);
}

static int call_once(const char *method, const char *path)
{
    conn_t c = {.fd = -1};
    buf_init(&c.resp, 1 << 20);
    buf_t head;
    buf_init(&head, 1 << 16);
    build(&head, method, path, 0);
    size_t n;
    int st = conn_call(&c, &head, NULL, 0, &n);
    if (c.fd >= 0)
        close(c.fd);
    buf_destroy(&head);
    buf_destroy(&c.resp);
    return st;
}

/* ==== phases ==== */

typedef struct phase {
    const char *method; /* PUT or GET */
    const char *prefix; /* "s" or "l" */
    size_t size;
    const char *body; /* PUT: size bytes */
} phase_t;

static const phase_t *g_phase;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    const phase_t *ph = g_phase;
    conn_t c = {.fd = -1};
    buf_init(&c.resp, 1 << 20);
    buf_t heads[KEYS_PER_THREAD];
    time_t signed_at[KEYS_PER_THREAD] = {0};
    for (int k = 0; k < KEYS_PER_THREAD; k++)
        buf_init(&heads[k], 1 << 16);
    bool put = strcmp(ph->method, "PUT") == 0;
    for (long i = 0; !atomic_load(&g_stop); i++) {
        int k = (int)(i % KEYS_PER_THREAD);
        if (time(NULL) != signed_at[k]) {
            char path[128];
            snprintf(path, sizeof path, "/%s/%s-%d-%d", g_bucket, ph->prefix, id, k);
            build(&heads[k], ph->method, path, put ? ph->size : 0);
            signed_at[k] = time(NULL);
        }
        size_t n;
        int st = conn_call(&c, &heads[k], put ? ph->body : NULL, put ? ph->size : 0, &n);
        if (st != 200 || (!put && n != ph->size)) {
            fprintf(stderr, "s3_bench: %s answered %d (%zu bytes): %.300s\n", ph->method, st, n, c.resp.data);
            atomic_fetch_add(&g_failed, 1);
            break;
        }
        atomic_fetch_add(&g_done, 1);
        atomic_fetch_add(&g_bytes, (long)ph->size);
    }
    if (c.fd >= 0)
        close(c.fd);
    buf_destroy(&c.resp);
    for (int k = 0; k < KEYS_PER_THREAD; k++)
        buf_destroy(&heads[k]);
    return NULL;
}

typedef struct result {
    double ops, mbs, cpu_us;
} result_t;

static result_t run_phase(const phase_t *ph, double seconds)
{
    g_phase = ph;
    atomic_store(&g_done, 0);
    atomic_store(&g_bytes, 0);
    atomic_store(&g_stop, false);
    uint64_t cpu0 = server_cpu_us();
    double t0 = now_s();
    pthread_t th[64];
    for (int i = 0; i < O.connections; i++)
        pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
    while (now_s() - t0 < seconds && !atomic_load(&g_failed))
        usleep(20000);
    atomic_store(&g_stop, true);
    for (int i = 0; i < O.connections; i++)
        pthread_join(th[i], NULL);
    double s = now_s() - t0;
    uint64_t cpu1 = server_cpu_us();
    long done = atomic_load(&g_done);
    result_t r = {(double)done / s, (double)atomic_load(&g_bytes) / s / 1e6,
                  O.server_pid > 0 && done ? (double)(cpu1 - cpu0) / (double)done : 0};
    return r;
}

/* Every key a GET phase reads exists. */
static void fill(const phase_t *put)
{
    g_phase = put;
    conn_t c = {.fd = -1};
    buf_init(&c.resp, 1 << 20);
    buf_t head;
    buf_init(&head, 1 << 16);
    for (int id = 0; id < O.connections; id++)
        for (int k = 0; k < KEYS_PER_THREAD; k++) {
            char path[128];
            snprintf(path, sizeof path, "/%s/%s-%d-%d", g_bucket, put->prefix, id, k);
            build(&head, "PUT", path, put->size);
            size_t n;
            int st = conn_call(&c, &head, put->body, put->size, &n);
            if (st != 200)
                die("filling: PUT answered %d: %.300s", st, c.resp.data);
        }
    if (c.fd >= 0)
        close(c.fd);
    buf_destroy(&head);
    buf_destroy(&c.resp);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: s3_bench http://HOST:PORT [--seconds S] [--connections N] [--small BYTES] [--large BYTES]"
            " [--server-pid PID] [--json]");
    const char *ep = argv[1];
    if (strncmp(ep, "http://", 7) == 0)
        ep += 7;
    const char *colon = strrchr(ep, ':');
    if (!colon)
        die("endpoint needs a port: %s", argv[1]);
    snprintf(O.host, sizeof O.host, "%.*s", (int)(colon - ep), ep);
    snprintf(O.port, sizeof O.port, "%.*s", (int)strcspn(colon + 1, "/"), colon + 1);
    snprintf(O.hostport, sizeof O.hostport, "%s:%s", O.host, O.port);
    O.region = "us-east-1";
    O.akid = O.secret = "test";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0)
            O.json = true;
        else if (!v)
            die("%s needs a value", a);
        else if (strcmp(a, "--seconds") == 0)
            O.seconds = atof(v), i++;
        else if (strcmp(a, "--connections") == 0)
            O.connections = atoi(v), i++;
        else if (strcmp(a, "--small") == 0)
            O.small = (size_t)atol(v), i++;
        else if (strcmp(a, "--large") == 0)
            O.large = (size_t)atol(v), i++;
        else if (strcmp(a, "--server-pid") == 0)
            O.server_pid = atoi(v), i++;
        else if (strcmp(a, "--region") == 0)
            O.region = v, i++;
        else if (strcmp(a, "--access-key") == 0)
            O.akid = v, i++;
        else if (strcmp(a, "--secret-key") == 0)
            O.secret = v, i++;
        else
            die("unknown option %s", a);
    }
    if (O.connections < 1 || O.connections > 64 || O.seconds <= 0 || O.small < 1 || O.large < 1 ||
        O.large > ((size_t)64 << 20))
        die("--connections 1..64, --seconds > 0, --small >= 1, --large 1..64 MiB");

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(g_bucket, sizeof g_bucket, "bench-%lld", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    char path[96];
    snprintf(path, sizeof path, "/%s", g_bucket);
    int st = call_once("PUT", path);
    if (st != 200)
        die("CreateBucket answered %d", st);

    char *small = xmalloc(O.small), *large = xmalloc(O.large);
    for (size_t i = 0; i < O.small; i++)
        small[i] = (char)('a' + i % 26);
    for (size_t i = 0; i < O.large; i++)
        large[i] = (char)('A' + (i * 7) % 26);
    phase_t ps = {"PUT", "s", O.small, small}, gs = {"GET", "s", O.small, NULL};
    phase_t pl = {"PUT", "l", O.large, large}, gl = {"GET", "l", O.large, NULL};
    result_t r_ps = run_phase(&ps, O.seconds);
    fill(&ps);
    result_t r_gs = run_phase(&gs, O.seconds);
    result_t r_pl = run_phase(&pl, O.seconds);
    fill(&pl);
    result_t r_gl = run_phase(&gl, O.seconds);
    free(small);
    free(large);
    if (O.json) {
        printf("{\"put_small_ops\":%.0f,\"put_small_cpu_us\":%.2f,\"get_small_ops\":%.0f,\"get_small_cpu_us\":%.2f,"
               "\"put_large_mbs\":%.1f,\"put_large_cpu_us\":%.1f,\"get_large_mbs\":%.1f,\"get_large_cpu_us\":%.1f}\n",
               r_ps.ops, r_ps.cpu_us, r_gs.ops, r_gs.cpu_us, r_pl.mbs, r_pl.cpu_us, r_gl.mbs, r_gl.cpu_us);
    } else {
        printf("  PutObject %zu B x%d in flight: %.0f ops/s", O.small, O.connections, r_ps.ops);
        if (O.server_pid > 0)
            printf(", server CPU %.1f us/op", r_ps.cpu_us);
        printf("\n  GetObject %zu B x%d in flight: %.0f ops/s", O.small, O.connections, r_gs.ops);
        if (O.server_pid > 0)
            printf(", server CPU %.1f us/op", r_gs.cpu_us);
        printf("\n  PutObject %zu B: %.1f MB/s", O.large, r_pl.mbs);
        if (O.server_pid > 0)
            printf(", server CPU %.0f us/op", r_pl.cpu_us);
        printf("\n  GetObject %zu B: %.1f MB/s", O.large, r_gl.mbs);
        if (O.server_pid > 0)
            printf(", server CPU %.0f us/op", r_gl.cpu_us);
        printf("\n");
    }
    return atomic_load(&g_failed) ? 1 : 0;
}
