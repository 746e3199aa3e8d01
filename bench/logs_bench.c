/*
 * logs_bench: CloudWatch Logs ingest and scan rates for any JSON 1.1 Logs
 * endpoint (kyoka, moto's server, ...).
 *
 *   logs_bench http://127.0.0.1:4566 [--events 1000000] [--batch 1000]
 *              [--connections 4] [--server-pid PID] [--region us-east-1]
 *              [--access-key test] [--secret-key test] [--json]
 *
 * Two phases against one fresh log group:
 *   ingest  PutLogEvents, --batch events a request (1,000: ~110 KB), from
 *           --connections threads each on its own keep-alive connection,
 *           until --events are stored: events/s.
 *   scan    FilterLogEvents over the whole group with a one-term pattern
 *           ("needle", in 1 event of 100), following nextToken to the
 *           end: events scanned/s (stored events over the time taken).
 * With --server-pid, the server's CPU time per event of each phase (from
 * /proc/PID/stat before and after), which moves only with the server's
 * code where throughput also moves with the machine's neighbours.
 *
 * The client does little per request: each thread's request is built and
 * signed once per second of X-Amz-Date and sent again (PutLogEvents takes
 * the same events twice, as AWS does since sequence tokens went), so the
 * figures measure the server. A server that closes connections (moto's
 * dev server) gets a new one per request.
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

typedef struct opts {
    char host[256], port[16], hostport[300];
    long events;
    int batch, connections, server_pid;
    const char *region, *akid, *secret;
    bool json;
} opts_t;

static opts_t O = {.events = 1000000, .batch = 1000, .connections = 4};
static char g_group[64];
static atomic_long g_sent;   /* events whose request was taken by a thread */
static atomic_long g_stored; /* events acknowledged */
static atomic_int g_failed;

static void die(const char *fmt, ...) KYOKA_PRINTF(1, 2) __attribute__((noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "logs_bench: ");
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

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* Send a request and read the whole response; returns the status, the body
 * in c->resp from *body_off. Reconnects (and sends again) if the server
 * closed the connection. */
static int conn_call(conn_t *c, const buf_t *req, size_t *body_off)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        if (c->fd < 0)
            conn_open(c);
        size_t off = 0;
        bool ok = true;
        while (off < req->len) {
            ssize_t w = send(c->fd, req->data + off, req->len - off, MSG_NOSIGNAL);
            if (w <= 0) {
                ok = false;
                break;
            }
            off += (size_t)w;
        }
        buf_reset(&c->resp);
        size_t need = SIZE_MAX, hdr = 0;
        bool close_after = false;
        char chunk[65536];
        while (ok && c->resp.len < need) {
            ssize_t r = recv(c->fd, chunk, sizeof chunk, 0);
            if (r <= 0) {
                if (hdr && need == SIZE_MAX) /* no length: the body ends with the connection */
                    need = c->resp.len;
                else
                    ok = false;
                break;
            }
            if (buf_append(&c->resp, chunk, (size_t)r) != 0)
                die("response too large");
            if (!hdr) {
                const char *e = strstr(c->resp.data, "\r\n\r\n");
                if (e) {
                    hdr = (size_t)(e - c->resp.data) + 4;
                    const char *cl = strcasestr(c->resp.data, "\r\ncontent-length:");
                    if (cl && cl < e)
                        need = hdr + strtoul(cl + 17, NULL, 10);
                    close_after = strncmp(c->resp.data, "HTTP/1.0", 8) == 0 ||
                                  (strcasestr(c->resp.data, "\r\nconnection: close") &&
                                   strcasestr(c->resp.data, "\r\nconnection: close") < e);
                }
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
        *body_off = hdr;
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

static void build(buf_t *out, const char *target, const char *body, size_t blen)
{
    char date[17], hash[65], tgt[96];
    amz_date(date);
    auth_sha256_hex(body, blen, hash);
    snprintf(tgt, sizeof tgt, "Logs_20140328.%s", target);
    auth_header_t hs[4] = {
        {STRV_LIT("Host"), strv_from(O.hostport)},
        {STRV_LIT("Content-Type"), STRV_LIT("application/x-amz-json-1.1")},
        {STRV_LIT("X-Amz-Date"), strv_from(date)},
        {STRV_LIT("X-Amz-Target"), strv_from(tgt)},
    };
    auth_request_t req = {STRV_LIT("POST"), STRV_LIT("/"), STRV_LIT(""), hs, 4, {body, blen}, true, 0};
    buf_t authz;
    buf_init(&authz, 4096);
    if (auth_sigv4_sign(&req, O.akid, O.secret, date, O.region, "logs", hash, &authz) != 0)
        die("cannot sign a request");
    buf_reset(out);
    (void)buf_appendf(out,
                      "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Date: %s\r\n"
                      "X-Amz-Target: %s\r\nAuthorization: %s\r\nContent-Length: %zu\r\n\r\n",
                      O.hostport, date, tgt, authz.data, blen);
    (void)buf_append(out, body, blen);
    buf_destroy(&authz);
}

static int call_simple(const char *target, const char *body)
{
    conn_t c = {.fd = -1};
    buf_init(&c.resp, 64 << 20);
    buf_t req;
    buf_init(&req, 64 << 20);
    build(&req, target, body, strlen(body));
    size_t off;
    int st = conn_call(&c, &req, &off);
    if (c.fd >= 0)
        close(c.fd);
    buf_destroy(&req);
    buf_destroy(&c.resp);
    return st;
}

/* ==== ingest ==== */

/* One PutLogEvents body of O.batch events for stream, at ts. Every 100th
 * event holds the scan's term. */
static void put_body(buf_t *b, const char *stream, int64_t ts, int thread)
{
    buf_reset(b);
    (void)buf_appendf(b, "{\"logGroupName\":\"%s\",\"logStreamName\":\"%s\",\"logEvents\":[", g_group, stream);
    for (int i = 0; i < O.batch; i++)
        (void)buf_appendf(b,
                          "%s{\"timestamp\":%lld,\"message\":\"2024-05-01T12:00:00Z INFO req=%08d-%04d "
                          "path=/api/items status=200 ms=%d %s user=u%d\"}",
                          i ? "," : "", (long long)ts, thread, i, i % 997, i % 100 == 7 ? "needle" : "hay",
                          i % 50);
    (void)buf_appends(b, "]}");
}

static void *ingest_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    char stream[32];
    snprintf(stream, sizeof stream, "s%d", id);
    conn_t c = {.fd = -1};
    buf_init(&c.resp, 1 << 20);
    buf_t body, req;
    buf_init(&body, 16 << 20);
    buf_init(&req, 16 << 20);
    time_t signed_at = 0;
    for (;;) {
        long mine = atomic_fetch_add(&g_sent, O.batch);
        if (mine >= O.events)
            break;
        if (time(NULL) != signed_at) {
            signed_at = time(NULL);
            put_body(&body, stream, wall_ms(), id);
            build(&req, "PutLogEvents", body.data, body.len);
        }
        size_t off;
        int st = conn_call(&c, &req, &off);
        if (st != 200) {
            fprintf(stderr, "logs_bench: PutLogEvents answered %d: %.300s\n", st, c.resp.data + off);
            atomic_fetch_add(&g_failed, 1);
            break;
        }
        atomic_fetch_add(&g_stored, O.batch);
    }
    if (c.fd >= 0)
        close(c.fd);
    buf_destroy(&c.resp);
    buf_destroy(&body);
    buf_destroy(&req);
    return NULL;
}

/* ==== scan ==== */

/* The value of "nextToken" in a JSON body, copied to tok (empty if none). */
static void next_token(const char *body, char *tok, size_t cap)
{
    tok[0] = '\0';
    const char *p = strstr(body, "\"nextToken\"");
    if (!p)
        return;
    p = strchr(p + 11, '"');
    if (!p)
        return;
    p++;
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= cap)
        return;
    memcpy(tok, p, (size_t)(e - p));
    tok[e - p] = '\0';
}

static long count_events(const char *body)
{
    long n = 0;
    for (const char *p = body; (p = strstr(p, "\"eventId\"")); p += 9)
        n++;
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: logs_bench http://HOST:PORT [--events N] [--batch N] [--connections N] [--server-pid PID]");
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
        else if (strcmp(a, "--events") == 0)
            O.events = atol(v), i++;
        else if (strcmp(a, "--batch") == 0)
            O.batch = atoi(v), i++;
        else if (strcmp(a, "--connections") == 0)
            O.connections = atoi(v), i++;
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
    if (O.batch < 1 || O.batch > 10000 || O.connections < 1 || O.connections > 64 || O.events < O.batch)
        die("--batch 1..10000, --connections 1..64, --events >= --batch");

    snprintf(g_group, sizeof g_group, "/bench/logs-%lld", (long long)wall_ms());
    char body[512];
    snprintf(body, sizeof body, "{\"logGroupName\":\"%s\"}", g_group);
    int st = call_simple("CreateLogGroup", body);
    if (st != 200)
        die("CreateLogGroup answered %d", st);
    for (int i = 0; i < O.connections; i++) {
        snprintf(body, sizeof body, "{\"logGroupName\":\"%s\",\"logStreamName\":\"s%d\"}", g_group, i);
        if ((st = call_simple("CreateLogStream", body)) != 200)
            die("CreateLogStream answered %d", st);
    }

    /* ---- ingest ---- */
    uint64_t cpu0 = server_cpu_us();
    double t0 = now_s();
    pthread_t th[64];
    for (int i = 0; i < O.connections; i++)
        pthread_create(&th[i], NULL, ingest_thread, (void *)(intptr_t)i);
    for (int i = 0; i < O.connections; i++)
        pthread_join(th[i], NULL);
    double ingest_s = now_s() - t0;
    uint64_t cpu1 = server_cpu_us();
    long stored = atomic_load(&g_stored);
    double ingest_rate = (double)stored / ingest_s;
    double ingest_cpu = O.server_pid > 0 && stored ? (double)(cpu1 - cpu0) / (double)stored : 0;

    /* ---- scan ---- */
    conn_t c = {.fd = -1};
    buf_init(&c.resp, 64 << 20);
    buf_t req;
    buf_init(&req, 1 << 20);
    char tok[512] = "";
    long matched = 0;
    int calls = 0;
    uint64_t cpu2 = server_cpu_us();
    double t1 = now_s();
    do {
        char in[1024];
        snprintf(in, sizeof in, "{\"logGroupName\":\"%s\",\"filterPattern\":\"needle\",\"limit\":10000%s%s%s}",
                 g_group, tok[0] ? ",\"nextToken\":\"" : "", tok, tok[0] ? "\"" : "");
        build(&req, "FilterLogEvents", in, strlen(in));
        size_t off;
        if ((st = conn_call(&c, &req, &off)) != 200)
            die("FilterLogEvents answered %d: %.300s", st, c.resp.data + off);
        long got = count_events(c.resp.data + off);
        matched += got;
        char prev[512];
        memcpy(prev, tok, sizeof prev);
        next_token(c.resp.data + off, tok, sizeof tok);
        calls++;
        /* A server that hands back the same token for an empty page has
         * nothing more (kyoka's tokens always move on). */
        if (got == 0 && strcmp(prev, tok) == 0)
            break;
    } while (tok[0] && calls < 100000);
    double scan_s = now_s() - t1;
    uint64_t cpu3 = server_cpu_us();
    if (c.fd >= 0)
        close(c.fd);
    buf_destroy(&c.resp);
    buf_destroy(&req);
    double scan_rate = (double)stored / scan_s;
    double scan_cpu = O.server_pid > 0 && stored ? (double)(cpu3 - cpu2) / (double)stored : 0;

    if (O.json) {
        printf("{\"events\":%ld,\"ingest_events_per_s\":%.0f,\"ingest_cpu_us_per_event\":%.3f,"
               "\"scan_events_per_s\":%.0f,\"scan_cpu_us_per_event\":%.4f,\"matched\":%ld,\"scan_calls\":%d}\n",
               stored, ingest_rate, ingest_cpu, scan_rate, scan_cpu, matched, calls);
    } else {
        printf("  ingest  PutLogEvents x%d events, %d connections: %ld events in %.2fs = %.0f events/s", O.batch,
               O.connections, stored, ingest_s, ingest_rate);
        if (O.server_pid > 0)
            printf(", server CPU %.2f us/event", ingest_cpu);
        printf("\n  scan    FilterLogEvents \"needle\" over %ld events: %.2fs in %d calls = %.0f events scanned/s, %ld "
               "matched",
               stored, scan_s, calls, scan_rate, matched);
        if (O.server_pid > 0)
            printf(", server CPU %.3f us/event", scan_cpu);
        printf("\n");
    }
    return atomic_load(&g_failed) ? 1 : 0;
}
