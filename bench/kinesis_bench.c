/*
 * kinesis_bench: Kinesis Data Streams write and read rates for any JSON 1.1
 * Kinesis endpoint (kyoka, kinesalite, ...).
 *
 *   kinesis_bench http://127.0.0.1:4566 [--records 1000000] [--batch 100]
 *                 [--record-size 1024] [--shards 4] [--connections 16]
 *                 [--server-pid PID] [--region us-east-1]
 *                 [--access-key test] [--secret-key test] [--json]
 *
 * Two phases against one fresh stream of --shards shards:
 *   put  PutRecords, --batch records a request of --record-size bytes
 *        each (1 KiB, 100 a batch: ~140 KB of JSON), partition keys spread
 *        over the shards, from --connections threads each on its own
 *        keep-alive connection, until --records are acknowledged (a 200
 *        with FailedRecordCount 0; on kyoka that means durable): records/s.
 *   get  GetShardIterator TRIM_HORIZON on every shard, then GetRecords
 *        (Limit 10,000) on each shard in parallel until caught up: records/s
 *        and MB/s of data read.
 * With --server-pid, the server's CPU time per record of each phase (from
 * /proc/PID/stat before and after), which moves only with the server's
 * code where throughput also moves with the machine's neighbours.
 *
 * The client does little per request: each thread's PutRecords body is
 * built and signed once per second of X-Amz-Date and sent again (Kinesis
 * takes the same records twice, as new records), so the figures measure
 * the server.
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
    long records;
    int batch, record_size, shards, connections, server_pid;
    const char *region, *akid, *secret;
    bool json;
} opts_t;

static opts_t O = {.records = 1000000, .batch = 100, .record_size = 1024, .shards = 4, .connections = 16};
static char g_stream[64];
static atomic_long g_sent;   /* records whose request was taken by a thread */
static atomic_long g_stored; /* records acknowledged */
static atomic_int g_failed;
static atomic_long g_read, g_read_bytes;

static void die(const char *fmt, ...) KYOKA_PRINTF(1, 2) __attribute__((noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kinesis_bench: ");
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

static pthread_mutex_t g_sign_mu = PTHREAD_MUTEX_INITIALIZER;

static void build(buf_t *out, const char *target, const char *body, size_t blen)
{
    char date[17], hash[65], tgt[96];
    amz_date(date);
    auth_sha256_hex(body, blen, hash);
    snprintf(tgt, sizeof tgt, "Kinesis_20131202.%s", target);
    auth_header_t hs[4] = {
        {STRV_LIT("Host"), strv_from(O.hostport)},
        {STRV_LIT("Content-Type"), STRV_LIT("application/x-amz-json-1.1")},
        {STRV_LIT("X-Amz-Date"), strv_from(date)},
        {STRV_LIT("X-Amz-Target"), strv_from(tgt)},
    };
    auth_request_t req = {STRV_LIT("POST"), STRV_LIT("/"), STRV_LIT(""), hs, 4, {body, blen}, true, 0};
    buf_t authz;
    buf_init(&authz, 4096);
    /* kyoka's signer caches signing keys without a lock: one thread at a time. */
    pthread_mutex_lock(&g_sign_mu);
    int signed_ok = auth_sigv4_sign(&req, O.akid, O.secret, date, O.region, "kinesis", hash, &authz) == 0;
    pthread_mutex_unlock(&g_sign_mu);
    if (!signed_ok)
        die("cannot sign a request");
    buf_reset(out);
    (void)buf_appendf(out,
                      "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: "
                      "application/x-amz-json-1.1\r\nX-Amz-Date: %s\r\n"
                      "X-Amz-Target: %s\r\nAuthorization: %s\r\nContent-Length: %zu\r\n\r\n",
                      O.hostport, date, tgt, authz.data, blen);
    (void)buf_append(out, body, blen);
    buf_destroy(&authz);
}

/* One call on a fresh connection; the body (NUL-terminated) into out. */
static int call_once(const char *target, const char *body, buf_t *out)
{
    conn_t c = {.fd = -1};
    buf_init(&c.resp, 64 << 20);
    buf_t req;
    buf_init(&req, 64 << 20);
    build(&req, target, body, strlen(body));
    size_t off;
    int st = conn_call(&c, &req, &off);
    if (out) {
        buf_reset(out);
        (void)buf_append(out, c.resp.data + off, c.resp.len - off);
    }
    if (c.fd >= 0)
        close(c.fd);
    buf_destroy(&req);
    buf_destroy(&c.resp);
    return st;
}

/* The string value of "key" in a JSON body into out (empty if none). */
static void json_str(const char *body, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(body, pat);
    if (!p)
        return;
    p = strchr(p + strlen(pat), '"');
    if (!p)
        return;
    p++;
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= cap)
        return;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
}

static long count(const char *body, const char *needle)
{
    long n = 0;
    size_t l = strlen(needle);
    for (const char *p = body; (p = strstr(p, needle)); p += l)
        n++;
    return n;
}

/* ==== put ==== */

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* One PutRecords body: O.batch records of O.record_size bytes (as base64)
 * with partition keys unique to the thread and second. */
static void put_body(buf_t *b, int thread, long round)
{
    size_t b64 = ((size_t)O.record_size + 2) / 3 * 4;
    char *data = xmalloc(b64 + 1);
    for (size_t i = 0; i < b64; i++)
        data[i] = B64[(i * 7 + (size_t)thread * 13 + (size_t)round) % 64];
    size_t rem = (size_t)O.record_size % 3;
    if (rem == 1) {
        data[b64 - 3] = 'A'; /* canonical: the unused bits are zero */
        data[b64 - 2] = data[b64 - 1] = '=';
    } else if (rem == 2) {
        data[b64 - 2] = 'A';
        data[b64 - 1] = '=';
    }
    data[b64] = '\0';
    buf_reset(b);
    (void)buf_appendf(b, "{\"StreamName\":\"%s\",\"Records\":[", g_stream);
    for (int i = 0; i < O.batch; i++)
        (void)buf_appendf(b, "%s{\"Data\":\"%s\",\"PartitionKey\":\"t%d-r%ld-%d\"}", i ? "," : "", data, thread, round,
                          i);
    (void)buf_appends(b, "]}");
    free(data);
}

static void *put_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    conn_t c = {.fd = -1};
    buf_init(&c.resp, 4 << 20);
    buf_t body, req;
    buf_init(&body, 64 << 20);
    buf_init(&req, 64 << 20);
    time_t signed_at = 0;
    long round = 0;
    for (;;) {
        long mine = atomic_fetch_add(&g_sent, O.batch);
        if (mine >= O.records)
            break;
        if (time(NULL) != signed_at) {
            signed_at = time(NULL);
            put_body(&body, id, round++);
            build(&req, "PutRecords", body.data, body.len);
        }
        size_t off;
        int st = conn_call(&c, &req, &off);
        const char *resp = c.resp.data + off;
        if (st != 200 || !strstr(resp, "\"FailedRecordCount\":0")) {
            fprintf(stderr, "kinesis_bench: PutRecords answered %d: %.300s\n", st, resp);
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

/* ==== get ==== */

static void *get_thread(void *arg)
{
    int shard = (int)(intptr_t)arg;
    char in[1536], it[1024];
    buf_t out;
    buf_init(&out, 64 << 20);
    snprintf(in, sizeof in,
             "{\"StreamName\":\"%s\",\"ShardId\":\"shardId-%012d\","
             "\"ShardIteratorType\":\"TRIM_HORIZON\"}",
             g_stream, shard);
    int st = call_once("GetShardIterator", in, &out);
    if (st != 200)
        die("GetShardIterator answered %d: %.300s", st, out.data);
    json_str(out.data, "ShardIterator", it, sizeof it);
    conn_t c = {.fd = -1};
    buf_init(&c.resp, 64 << 20);
    buf_t req;
    buf_init(&req, 1 << 20);
    int empty = 0;
    while (it[0] && empty < 2) {
        snprintf(in, sizeof in, "{\"ShardIterator\":\"%s\",\"Limit\":10000}", it);
        build(&req, "GetRecords", in, strlen(in));
        size_t off;
        if ((st = conn_call(&c, &req, &off)) != 200)
            die("GetRecords answered %d: %.300s", st, c.resp.data + off);
        const char *body = c.resp.data + off;
        long n = count(body, "\"SequenceNumber\"");
        atomic_fetch_add(&g_read, n);
        atomic_fetch_add(&g_read_bytes, n * O.record_size);
        empty = n ? 0 : empty + 1;
        json_str(body, "NextShardIterator", it, sizeof it);
    }
    if (c.fd >= 0)
        close(c.fd);
    buf_destroy(&c.resp);
    buf_destroy(&req);
    buf_destroy(&out);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: kinesis_bench http://HOST:PORT [--records N] [--batch N] "
            "[--record-size N] [--shards N]"
            " [--connections N] [--server-pid PID] [--json]");
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
        else if (strcmp(a, "--records") == 0)
            O.records = atol(v), i++;
        else if (strcmp(a, "--batch") == 0)
            O.batch = atoi(v), i++;
        else if (strcmp(a, "--record-size") == 0)
            O.record_size = atoi(v), i++;
        else if (strcmp(a, "--shards") == 0)
            O.shards = atoi(v), i++;
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
    if (O.batch < 1 || O.batch > 500 || O.connections < 1 || O.connections > 64 || O.records < O.batch ||
        O.record_size < 1 || O.record_size > 1048576 || O.shards < 1 || O.shards > 64)
        die("--batch 1..500, --connections 1..64, --records >= --batch, "
            "--record-size 1..1048576, --shards 1..64");

    snprintf(g_stream, sizeof g_stream, "bench-%lld", (long long)wall_ms());
    char body[512];
    buf_t out;
    buf_init(&out, 1 << 20);
    snprintf(body, sizeof body, "{\"StreamName\":\"%s\",\"ShardCount\":%d}", g_stream, O.shards);
    int st = call_once("CreateStream", body, &out);
    if (st != 200)
        die("CreateStream answered %d: %.300s", st, out.data);
    snprintf(body, sizeof body, "{\"StreamName\":\"%s\"}", g_stream);
    for (int i = 0;; i++) {
        if ((st = call_once("DescribeStreamSummary", body, &out)) != 200)
            die("DescribeStreamSummary answered %d", st);
        if (strstr(out.data, "\"ACTIVE\""))
            break;
        if (i > 600)
            die("the stream never became ACTIVE");
        usleep(50000);
    }

    /* ---- put ---- */
    uint64_t cpu0 = server_cpu_us();
    double t0 = now_s();
    pthread_t th[64];
    for (int i = 0; i < O.connections; i++)
        pthread_create(&th[i], NULL, put_thread, (void *)(intptr_t)i);
    for (int i = 0; i < O.connections; i++)
        pthread_join(th[i], NULL);
    double put_s = now_s() - t0;
    uint64_t cpu1 = server_cpu_us();
    long stored = atomic_load(&g_stored);
    double put_rate = (double)stored / put_s;
    double put_cpu = O.server_pid > 0 && stored ? (double)(cpu1 - cpu0) / (double)stored : 0;

    /* ---- get ---- */
    uint64_t cpu2 = server_cpu_us();
    double t1 = now_s();
    for (int i = 0; i < O.shards; i++)
        pthread_create(&th[i], NULL, get_thread, (void *)(intptr_t)i);
    for (int i = 0; i < O.shards; i++)
        pthread_join(th[i], NULL);
    double get_s = now_s() - t1;
    uint64_t cpu3 = server_cpu_us();
    long read = atomic_load(&g_read);
    double get_rate = (double)read / get_s;
    double get_mbs = (double)atomic_load(&g_read_bytes) / get_s / 1e6;
    double get_cpu = O.server_pid > 0 && read ? (double)(cpu3 - cpu2) / (double)read : 0;
    buf_destroy(&out);

    if (O.json) {
        printf("{\"records\":%ld,\"put_records_per_s\":%.0f,\"put_cpu_us_per_"
               "record\":%.3f,"
               "\"read\":%ld,\"get_records_per_s\":%.0f,\"get_mb_per_s\":%.1f,"
               "\"get_cpu_us_per_record\":%.3f}\n",
               stored, put_rate, put_cpu, read, get_rate, get_mbs, get_cpu);
    } else {
        printf("  put  PutRecords x%d records of %d B, %d connections, %d shards: "
               "%ld records in %.2fs = %.0f records/s",
               O.batch, O.record_size, O.connections, O.shards, stored, put_s, put_rate);
        if (O.server_pid > 0)
            printf(", server CPU %.2f us/record", put_cpu);
        printf("\n  get  GetRecords (Limit 10000) on %d shards: %ld records in "
               "%.2fs = %.0f records/s, %.1f MB/s",
               O.shards, read, get_s, get_rate, get_mbs);
        if (O.server_pid > 0)
            printf(", server CPU %.3f us/record", get_cpu);
        printf("\n");
    }
    if (read < stored)
        fprintf(stderr, "kinesis_bench: read %ld of %ld records\n", read, stored);
    return atomic_load(&g_failed) ? 1 : 0;
}
