/*
 * lambda_load: synchronous Lambda Invoke load against any Lambda endpoint.
 *
 *   lambda_load http://127.0.0.1:4566 FUNCTION [--concurrency N] [--duration S]
 *               [--once] [--payload JSON] [--server-pid PID] [--region R] [--event]
 *
 * N threads, each with one keep-alive connection, send signed Invoke
 * requests back to back (SigV4 by kyoka's own signer, re-signed once per
 * second). Prints invokes/s, p50/p99/max latency from writing the request to
 * reading the whole answer, and with --server-pid the server's CPU time per
 * invoke (CPU of the server process only: the function's own process is
 * separate). --once sends one request and prints its latency in µs (cold
 * starts). --event sends InvocationType Event: each answer is the 202 that
 * kyoka gives once the event is durably queued.
 */
#include "auth/auth.h"
#include "core/core.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 256
#define MAX_SAMPLES (1 << 22)

static struct {
    char host[64];
    int port;
    char hostport[96];
    const char *function;
    const char *payload;
    bool event;
    const char *region;
    int concurrency;
    double duration;
    bool once;
    int server_pid;
} O = {.payload = "{\"bench\":true}", .region = "us-east-1", .concurrency = 1, .duration = 5};

static uint64_t *g_lat;
static size_t g_nlat;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int g_stop;
static unsigned long g_errors;
static unsigned long g_done; /* every successful invoke, sampled or not */

static void die(const char *fmt, ...) KYOKA_PRINTF(1, 2) __attribute__((noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lambda_load: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void build(buf_t *out)
{
    char date[17];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    char path[256], hash[65];
    snprintf(path, sizeof path, "/2015-03-31/functions/%s/invocations", O.function);
    size_t blen = strlen(O.payload);
    auth_sha256_hex(O.payload, blen, hash);
    auth_header_t hs[3] = {
        {STRV_LIT("Host"), strv_from(O.hostport)},
        {STRV_LIT("X-Amz-Content-Sha256"), strv_from(hash)},
        {STRV_LIT("X-Amz-Date"), strv_from(date)},
    };
    auth_request_t req = {STRV_LIT("POST"), strv_from(path), STRV_LIT(""), hs, 3, {O.payload, blen}, true, 0};
    buf_t authz;
    buf_init(&authz, 4096);
    if (auth_sigv4_sign(&req, "test", "test", date, O.region, "lambda", hash, &authz) != 0)
        die("cannot sign");
    buf_reset(out);
    buf_appendf(out,
                "POST %s HTTP/1.1\r\nHost: %s\r\nX-Amz-Content-Sha256: %s\r\nX-Amz-Date: %s\r\nAuthorization: %s\r\n"
                "%sContent-Length: %zu\r\n\r\n%s",
                path, O.hostport, hash, date, authz.data, O.event ? "X-Amz-Invocation-Type: Event\r\n" : "", blen,
                O.payload);
    buf_destroy(&authz);
}

static int dial(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)O.port)};
    inet_pton(AF_INET, O.host, &a.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("cannot connect to %s", O.hostport);
    return fd;
}

/* Send one request, read its whole response; returns the status. */
static int roundtrip(int fd, buf_t *req, char *rbuf, size_t cap)
{
    const char *p = req->data;
    size_t n = req->len;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, rbuf + got, cap - 1 - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
        rbuf[got] = '\0';
        char *end = strstr(rbuf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(rbuf, "\r\ncontent-length:");
        size_t clen = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
        size_t want = (size_t)(end - rbuf) + 4 + clen;
        while (got < want) {
            r = read(fd, rbuf + got, cap - 1 - got);
            if (r <= 0)
                return -1;
            got += (size_t)r;
        }
        return atoi(rbuf + 9);
    }
}

static void *worker(void *arg)
{
    (void)arg;
    int fd = dial();
    buf_t req;
    buf_init(&req, 1 << 20);
    size_t cap = 1 << 20;
    char *rbuf = malloc(cap);
    time_t signed_at = 0;
    size_t cap_samples = MAX_SAMPLES / (size_t)O.concurrency;
    uint64_t *mine = malloc(sizeof *mine * cap_samples);
    size_t nmine = 0;
    while (!g_stop) {
        if (time(NULL) != signed_at) {
            /* kyoka's signer keeps scratch state of its own: one at a time. */
            pthread_mutex_lock(&g_mu);
            build(&req);
            pthread_mutex_unlock(&g_mu);
            signed_at = time(NULL);
        }
        uint64_t t0 = now_ns();
        int st = roundtrip(fd, &req, rbuf, cap);
        uint64_t dt = now_ns() - t0;
        if (st != (O.event ? 202 : 200)) {
            if (__atomic_add_fetch(&g_errors, 1, __ATOMIC_RELAXED) <= 3 && st > 0)
                fprintf(stderr, "lambda_load: HTTP %d: %.300s\n", st, strstr(rbuf, "\r\n\r\n") ? strstr(rbuf, "\r\n\r\n") + 4 : rbuf);
            if (st < 0) {
                close(fd);
                fd = dial();
            }
            continue;
        }
        __atomic_add_fetch(&g_done, 1, __ATOMIC_RELAXED);
        if (nmine < cap_samples)
            mine[nmine++] = dt;
        if (O.once)
            break;
    }
    pthread_mutex_lock(&g_mu);
    for (size_t i = 0; i < nmine && g_nlat < MAX_SAMPLES; i++)
        g_lat[g_nlat++] = mine[i];
    pthread_mutex_unlock(&g_mu);
    free(mine);
    free(rbuf);
    buf_destroy(&req);
    close(fd);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
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
    unsigned long long ut = 0, stt = 0;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
        return 0;
    return (uint64_t)((ut + stt) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

int main(int argc, char **argv)
{
    if (argc < 3)
        die("usage: lambda_load URL FUNCTION [--concurrency N] [--duration S] [--once] [--payload JSON] [--server-pid PID]");
    if (sscanf(argv[1], "http://%63[^:]:%d", O.host, &O.port) != 2)
        die("URL must look like http://127.0.0.1:4566");
    snprintf(O.hostport, sizeof O.hostport, "%s:%d", O.host, O.port);
    O.function = argv[2];
    for (int i = 3; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(argv[i], "--concurrency") == 0)
            O.concurrency = atoi(v), i++;
        else if (strcmp(argv[i], "--duration") == 0)
            O.duration = atof(v), i++;
        else if (strcmp(argv[i], "--payload") == 0)
            O.payload = v, i++;
        else if (strcmp(argv[i], "--server-pid") == 0)
            O.server_pid = atoi(v), i++;
        else if (strcmp(argv[i], "--region") == 0)
            O.region = v, i++;
        else if (strcmp(argv[i], "--event") == 0)
            O.event = true;
        else if (strcmp(argv[i], "--once") == 0)
            O.once = true;
        else
            die("unknown flag %s", argv[i]);
    }
    if (O.concurrency < 1 || O.concurrency > MAX_THREADS)
        die("--concurrency from 1 to %d", MAX_THREADS);
    /* A server that closes a connection must not kill the bench. */
    signal(SIGPIPE, SIG_IGN);
    g_lat = malloc(sizeof *g_lat * MAX_SAMPLES);
    if (O.once) {
        worker(NULL);
        if (g_nlat != 1)
            die("the invoke failed");
        printf("%.0f\n", (double)g_lat[0] / 1000.0);
        return 0;
    }
    pthread_t th[MAX_THREADS];
    uint64_t cpu0 = server_cpu_us(), t0 = now_ns();
    for (int i = 0; i < O.concurrency; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    usleep((useconds_t)(O.duration * 1e6));
    g_stop = 1;
    for (int i = 0; i < O.concurrency; i++)
        pthread_join(th[i], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    uint64_t cpu = server_cpu_us() - cpu0;
    qsort(g_lat, g_nlat, sizeof *g_lat, cmp_u64);
    if (!g_nlat)
        die("no invoke succeeded (%lu errors)", g_errors);
    printf("invokes=%lu rate=%.0f/s p50=%.0fus p99=%.0fus max=%.0fus errors=%lu", g_done, (double)g_done / secs,
           (double)g_lat[g_nlat / 2] / 1000.0, (double)g_lat[(size_t)((double)g_nlat * 0.99)] / 1000.0,
           (double)g_lat[g_nlat - 1] / 1000.0, g_errors);
    if (O.server_pid > 0)
        printf(" server_cpu=%.1fus/invoke", (double)cpu / (double)g_done);
    printf("\n");
    return 0;
}
