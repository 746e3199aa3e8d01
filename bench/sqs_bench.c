/*
 * sqs_bench: an SQS load generator for any SQS query-protocol endpoint
 * (kyoka, moto, ElasticMQ, ...).
 *
 *   sqs_bench http://127.0.0.1:4566 [SECONDS] [--connections 32] [--pipeline 8]
 *             [--duration 5] [--phases send,batch,recv] [--body-size 64]
 *             [--region us-east-1] [--access-key test] [--secret-key test]
 *             [--queue NAME] [--server-pid PID] [--peer] [--json]
 *
 * SECONDS is the same as --duration. --peer sets a gentler load (8
 * connections, no pipelining) for servers that handle one request at a
 * time per connection.
 *
 * Three phases run one after the other against one fresh queue:
 *   send   SendMessage, one message per request
 *   batch  SendMessageBatch, ten messages per request
 *   recv   ReceiveMessage (10 at a time, long visibility timeout) and a
 *          DeleteMessageBatch of what each receive returned
 * For each it prints requests/s, messages/s and the p50/p99/max request
 * latency (from writing a request to reading its whole response). With
 * --server-pid (a server on this machine) it also prints the server's CPU
 * time per message: on a shared or virtualised machine throughput swings
 * with the neighbours, while CPU per message moves only with the code.
 *
 * Design: one thread, epoll, N keep-alive connections each with up to P
 * pipelined requests in flight (HTTP/1.1 answers in order, so a per-
 * connection FIFO matches responses to requests). Requests are signed with
 * SigV4 by auth_sigv4_sign, kyoka's own signer; requests whose bytes do not
 * change (the send, batch and receive templates) are signed once per
 * second of X-Amz-Date and reused. A server that closes a connection gets
 * a new one and the unanswered requests again, so servers without
 * keep-alive or pipelining (moto's dev server) are measured too, just
 * slower. The machine running the bench is shared with the server: the
 * client spends a few microseconds per request.
 */
#include "auth/auth.h"
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/banned.h"

#define MAX_CONNS 1024
#define MAX_PIPELINE 64
#define IO_CHUNK 65536

/* ==== options ==== */

typedef struct opts {
    char host[256];
    char port[16];
    char hostport[300];
    int connections;
    int pipeline;
    double duration;
    int body_size;
    const char *phases;
    const char *region, *akid, *secret;
    char queue[128];
    int server_pid;
    bool json;
} opts_t;

static opts_t O;

static void die(const char *fmt, ...) KYOKA_PRINTF(1, 2) __attribute__((noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sqs_bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ==== form encoding and signing ==== */

static void form_escape(buf_t *b, const char *s, size_t n)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            buf_appendc(b, (char)c);
        } else {
            buf_appendc(b, '%');
            buf_appendc(b, hx[c >> 4]);
            buf_appendc(b, hx[c & 15]);
        }
    }
}

static void amz_date_now(char out[17])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* A complete signed HTTP request for a form body, appended to out. */
static void build_request(buf_t *out, const char *body, size_t blen, const char *amz_date)
{
    char hash[65];
    auth_sha256_hex(body, blen, hash);
    auth_header_t hs[3] = {
        {STRV_LIT("Host"), strv_from(O.hostport)},
        {STRV_LIT("Content-Type"), STRV_LIT("application/x-www-form-urlencoded; charset=utf-8")},
        {STRV_LIT("X-Amz-Date"), strv_from(amz_date)},
    };
    auth_request_t req = {STRV_LIT("POST"), STRV_LIT("/"), STRV_LIT(""), hs, 3, {body, blen}, true, 0};
    buf_t authz;
    buf_init(&authz, 4096);
    if (auth_sigv4_sign(&req, O.akid, O.secret, amz_date, O.region, "sqs", hash, &authz) != 0)
        die("cannot sign a request (check --region and the keys)");
    buf_appendf(out,
                "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
                "X-Amz-Date: %s\r\nAuthorization: %s\r\nContent-Length: %zu\r\n\r\n",
                O.hostport, amz_date, authz.data, blen);
    buf_append(out, body, blen);
    buf_destroy(&authz);
}

/* A request whose bytes are the same every time: signed once per second. */
typedef struct tmpl {
    buf_t body;
    buf_t wire;
    char date[17];
} tmpl_t;

static void tmpl_init(tmpl_t *t)
{
    buf_init(&t->body, (size_t)4 << 20);
    buf_init(&t->wire, (size_t)4 << 20);
    t->date[0] = '\0';
}

static strv_t tmpl_bytes(tmpl_t *t)
{
    char d[17];
    amz_date_now(d);
    if (strcmp(d, t->date) != 0) {
        buf_reset(&t->wire);
        build_request(&t->wire, t->body.data, t->body.len, d);
        memcpy(t->date, d, sizeof d);
    }
    return buf_view(&t->wire);
}

/* ==== connections ==== */

enum { REQ_SEND, REQ_BATCH, REQ_RECV, REQ_DELETE, REQ_OTHER };

typedef struct inflight {
    int type;
    int count;        /* messages the request carries (send/batch/delete) */
    uint64_t start;
    buf_t *own;       /* bytes of a one-off request (delete), kept to resend */
    strv_t bytes;     /* what was sent */
} inflight_t;

typedef struct conn {
    int fd;
    buf_t out;        /* bytes not yet written */
    size_t out_off;
    buf_t in;         /* bytes read, not yet parsed */
    inflight_t q[MAX_PIPELINE];
    int qhead, qlen;
    bool dead;
} conn_t;

static struct addrinfo *g_addr;
static int g_ep;
static conn_t g_conns[MAX_CONNS];
static int g_depth; /* pipeline depth in use (drops to 1 if the server closes connections) */

static int conn_open(conn_t *c)
{
    int fd = socket(g_addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, g_addr->ai_addr, g_addr->ai_addrlen) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->dead = false;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
    epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static void conn_send(conn_t *c, int type, int count, strv_t bytes, buf_t *own)
{
    inflight_t *f = &c->q[(c->qhead + c->qlen) % MAX_PIPELINE];
    *f = (inflight_t){type, count, now_ns(), own, bytes};
    c->qlen++;
    buf_append(&c->out, bytes.p, bytes.len);
}

static void conn_flush(conn_t *c)
{
    while (c->out_off < c->out.len) {
        ssize_t w = write(c->fd, c->out.data + c->out_off, c->out.len - c->out_off);
        if (w < 0) {
            if (errno != EAGAIN && errno != EINTR)
                c->dead = true;
            return;
        }
        c->out_off += (size_t)w;
    }
    buf_reset(&c->out);
    c->out_off = 0;
}

/* The server went away mid-pipeline: reconnect and resend what it did not
 * answer. */
static void conn_reopen(conn_t *c)
{
    epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    buf_reset(&c->in);
    buf_reset(&c->out);
    c->out_off = 0;
    g_depth = 1;
    if (conn_open(c) != 0)
        die("cannot reconnect to %s:%s", O.host, O.port);
    for (int i = 0; i < c->qlen; i++) {
        inflight_t *f = &c->q[(c->qhead + i) % MAX_PIPELINE];
        f->start = now_ns();
        buf_append(&c->out, f->bytes.p, f->bytes.len);
    }
}

/* ==== the phases ==== */

typedef struct stats {
    uint64_t requests, messages, errors, empty;
    uint64_t *lat;   /* ns per request */
    size_t nlat, caplat;
    char first_error[512];
} stats_t;

static stats_t S;
static const char *g_queue_url;
static tmpl_t t_send, t_batch, t_recv;
static int g_phase;
static bool g_stopping;

static void record(uint64_t ns)
{
    if (S.nlat == S.caplat) {
        S.caplat = S.caplat ? S.caplat * 2 : 1 << 16;
        S.lat = xrealloc(S.lat, S.caplat * sizeof *S.lat);
    }
    S.lat[S.nlat++] = ns;
}

static void build_templates(void)
{
    char *body = xmalloc((size_t)O.body_size + 1);
    for (int i = 0; i < O.body_size; i++)
        body[i] = (char)('a' + i % 26);
    body[O.body_size] = '\0';
    tmpl_init(&t_send);
    buf_appends(&t_send.body, "Action=SendMessage&Version=2012-11-05&QueueUrl=");
    form_escape(&t_send.body, g_queue_url, strlen(g_queue_url));
    buf_appends(&t_send.body, "&MessageBody=");
    form_escape(&t_send.body, body, (size_t)O.body_size);
    tmpl_init(&t_batch);
    buf_appends(&t_batch.body, "Action=SendMessageBatch&Version=2012-11-05&QueueUrl=");
    form_escape(&t_batch.body, g_queue_url, strlen(g_queue_url));
    for (int i = 1; i <= 10; i++) {
        buf_appendf(&t_batch.body, "&SendMessageBatchRequestEntry.%d.Id=m%d&SendMessageBatchRequestEntry.%d.MessageBody=",
                    i, i, i);
        form_escape(&t_batch.body, body, (size_t)O.body_size);
    }
    tmpl_init(&t_recv);
    buf_appends(&t_recv.body, "Action=ReceiveMessage&Version=2012-11-05&MaxNumberOfMessages=10&VisibilityTimeout=3600"
                              "&QueueUrl=");
    form_escape(&t_recv.body, g_queue_url, strlen(g_queue_url));
    free(body);
}

static void issue(conn_t *c)
{
    if (g_stopping)
        return;
    while (c->qlen < g_depth) {
        if (g_phase == REQ_SEND)
            conn_send(c, REQ_SEND, 1, tmpl_bytes(&t_send), NULL);
        else if (g_phase == REQ_BATCH)
            conn_send(c, REQ_BATCH, 10, tmpl_bytes(&t_batch), NULL);
        else
            conn_send(c, REQ_RECV, 0, tmpl_bytes(&t_recv), NULL);
    }
}

/* Queue a DeleteMessageBatch for the receipt handles in a receive response. */
static int delete_from(conn_t *c, const char *xml, size_t n)
{
    buf_t body;
    buf_init(&body, (size_t)1 << 20);
    buf_appends(&body, "Action=DeleteMessageBatch&Version=2012-11-05&QueueUrl=");
    form_escape(&body, g_queue_url, strlen(g_queue_url));
    int k = 0;
    const char *p = xml, *end = xml + n;
    for (;;) {
        const char *a = memmem(p, (size_t)(end - p), "<ReceiptHandle>", 15);
        if (!a)
            break;
        a += 15;
        const char *b = memmem(a, (size_t)(end - a), "</ReceiptHandle>", 16);
        if (!b)
            break;
        k++;
        buf_appendf(&body, "&DeleteMessageBatchRequestEntry.%d.Id=d%d&DeleteMessageBatchRequestEntry.%d.ReceiptHandle=",
                    k, k, k);
        /* Receipt handles are XML-escaped in the response. */
        for (const char *q = a; q < b; q++) {
            if (*q == '&' && b - q >= 5 && memcmp(q, "&amp;", 5) == 0) {
                form_escape(&body, "&", 1);
                q += 4;
            } else {
                form_escape(&body, q, 1);
            }
        }
        p = b + 16;
    }
    if (k) {
        char d[17];
        amz_date_now(d);
        buf_t *wire = xmalloc(sizeof *wire);
        buf_init(wire, (size_t)2 << 20);
        build_request(wire, body.data, body.len, d);
        conn_send(c, REQ_DELETE, k, buf_view(wire), wire);
    }
    buf_destroy(&body);
    return k;
}

static const char *find_header(const char *head, size_t n, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = head; p + nl < head + n; p++) {
        if ((p == head || p[-1] == '\n') && strncasecmp(p, name, nl) == 0 && p[nl] == ':')
            return p + nl + 1;
    }
    return NULL;
}

/* Parse every complete response in c->in. */
static void on_readable(conn_t *c)
{
    for (;;) {
        char tmp[IO_CHUNK];
        ssize_t r = read(c->fd, tmp, sizeof tmp);
        if (r > 0) {
            buf_append(&c->in, tmp, (size_t)r);
            continue;
        }
        if (r == 0)
            c->dead = true;
        else if (errno != EAGAIN && errno != EINTR)
            c->dead = true;
        break;
    }
    size_t off = 0;
    while (c->qlen > 0) {
        const char *p = c->in.data + off;
        size_t avail = c->in.len - off;
        const char *hend = memmem(p, avail, "\r\n\r\n", 4);
        if (!hend)
            break;
        size_t hlen = (size_t)(hend - p) + 4;
        const char *cl = find_header(p, hlen, "Content-Length");
        if (!cl)
            die("response without Content-Length from the server (chunked responses are not supported)");
        size_t blen = strtoul(cl, NULL, 10);
        if (avail < hlen + blen)
            break;
        int status = (int)strtol(p + 9, NULL, 10);
        const char *conn_hdr = find_header(p, hlen, "Connection");
        bool closing = (conn_hdr && strncasecmp(conn_hdr + strspn(conn_hdr, " "), "close", 5) == 0) ||
                       strncmp(p, "HTTP/1.0", 8) == 0;
        inflight_t f = c->q[c->qhead];
        c->qhead = (c->qhead + 1) % MAX_PIPELINE;
        c->qlen--;
        uint64_t t = now_ns();
        record(t - f.start);
        S.requests++;
        const char *body = p + hlen;
        if (status != 200) {
            S.errors++;
            if (!S.first_error[0])
                snprintf(S.first_error, sizeof S.first_error, "HTTP %d: %.*s", status,
                         (int)(blen > 400 ? 400 : blen), body);
        } else if (f.type == REQ_RECV) {
            int k = delete_from(c, body, blen);
            if (!k)
                S.empty++;
        } else if (f.type == REQ_DELETE || f.type == REQ_SEND || f.type == REQ_BATCH) {
            S.messages += (uint64_t)f.count;
        }
        if (f.own) {
            buf_destroy(f.own);
            free(f.own);
        }
        off += hlen + blen;
        if (closing) {
            c->dead = true;
            break;
        }
    }
    if (off) {
        memmove(c->in.data, c->in.data + off, c->in.len - off);
        c->in.len -= off;
        c->in.data[c->in.len] = '\0';
    }
    if (c->dead)
        conn_reopen(c);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    if (!S.nlat)
        return 0;
    size_t i = (size_t)(p * (double)(S.nlat - 1));
    return (double)S.lat[i] / 1e6;
}

/* The server's user+system CPU time in microseconds, or 0 when unknown. */
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
    /* Fields 14 and 15 (utime, stime) follow the ")" that ends the name. */
    const char *p = strrchr(line, ')');
    unsigned long long ut = 0, stt = 0;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
        return 0;
    return (uint64_t)((ut + stt) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* Run one phase for O.duration seconds (recv: until the queue is empty or
 * time is up) and print its line. */
static void run_phase(int phase, const char *name)
{
    g_phase = phase;
    g_stopping = false;
    free(S.lat);
    memset(&S, 0, sizeof S);
    for (int i = 0; i < O.connections; i++) {
        issue(&g_conns[i]);
        conn_flush(&g_conns[i]);
    }
    uint64_t start = now_ns(), stop_at = start + (uint64_t)(O.duration * 1e9);
    uint64_t grace_until = 0, cpu_start = server_cpu_us();
    struct epoll_event evs[256];
    for (;;) {
        uint64_t t = now_ns();
        if (!g_stopping && (t >= stop_at || (phase == REQ_RECV && S.empty >= (uint64_t)O.connections * 2))) {
            g_stopping = true;
            grace_until = t + (uint64_t)30e9;
        }
        if (g_stopping) {
            int busy = 0;
            for (int i = 0; i < O.connections; i++)
                busy += g_conns[i].qlen;
            if (!busy || t > grace_until)
                break;
        }
        int n = epoll_wait(g_ep, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(c);
            issue(c);
            conn_flush(c);
            if (c->dead)
                conn_reopen(c);
        }
    }
    double secs = (double)(now_ns() - start) / 1e9;
    double cpu_per_msg = O.server_pid > 0 && S.messages ? (double)(server_cpu_us() - cpu_start) / (double)S.messages : 0;
    qsort(S.lat, S.nlat, sizeof *S.lat, cmp_u64);
    double p50 = pct(0.50), p99 = pct(0.99), mx = pct(1.0);
    char cpu[32] = "-"; /* unknown without --server-pid */
    if (O.server_pid > 0)
        snprintf(cpu, sizeof cpu, "%.2f", cpu_per_msg);
    if (O.json)
        printf("{\"phase\":\"%s\",\"seconds\":%.3f,\"requests\":%llu,\"requests_per_s\":%.0f,\"messages\":%llu,"
               "\"messages_per_s\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%llu,"
               "\"server_cpu_us_per_msg\":%s}\n",
               name, secs, (unsigned long long)S.requests, (double)S.requests / secs, (unsigned long long)S.messages,
               (double)S.messages / secs, p50, p99, mx, (unsigned long long)S.errors,
               O.server_pid > 0 ? cpu : "null");
    else
        printf("%-6s %10.0f %12.0f %9.3f %9.3f %9.3f %8llu %10s\n", name, (double)S.requests / secs,
               (double)S.messages / secs, p50, p99, mx, (unsigned long long)S.errors, cpu);
    if (S.first_error[0])
        fprintf(stderr, "sqs_bench: %s: first error: %s\n", name, S.first_error);
    fflush(stdout);
}

/* ==== setup: one synchronous request ==== */

static char *call_once(const char *body)
{
    conn_t *c = &g_conns[0];
    char d[17];
    amz_date_now(d);
    buf_t *wire = xmalloc(sizeof *wire);
    buf_init(wire, (size_t)1 << 20);
    build_request(wire, body, strlen(body), d);
    conn_send(c, REQ_OTHER, 0, buf_view(wire), wire);
    conn_flush(c);
    uint64_t until = now_ns() + (uint64_t)10e9;
    struct epoll_event ev;
    while (c->qlen && now_ns() < until) {
        if (epoll_wait(g_ep, &ev, 1, 100) > 0) {
            conn_flush(c);
            /* Parse by hand to keep the body. */
            char tmp[IO_CHUNK];
            ssize_t r;
            while ((r = read(c->fd, tmp, sizeof tmp)) > 0)
                buf_append(&c->in, tmp, (size_t)r);
            const char *hend = memmem(c->in.data, c->in.len, "\r\n\r\n", 4);
            if (!hend)
                continue;
            size_t hlen = (size_t)(hend - c->in.data) + 4;
            const char *cl = find_header(c->in.data, hlen, "Content-Length");
            size_t blen = cl ? strtoul(cl, NULL, 10) : 0;
            if (c->in.len < hlen + blen)
                continue;
            int status = (int)strtol(c->in.data + 9, NULL, 10);
            char *out = xstrndup(c->in.data + hlen, blen);
            if (status != 200)
                die("setup request failed: HTTP %d: %s", status, out);
            buf_reset(&c->in);
            c->qhead = (c->qhead + 1) % MAX_PIPELINE;
            c->qlen = 0;
            buf_destroy(wire);
            free(wire);
            conn_reopen(c); /* a clean connection for the phases */
            g_depth = O.pipeline;
            return out;
        }
    }
    die("no answer from %s:%s within 10 s", O.host, O.port);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: sqs_bench URL [SECONDS] [--connections N] [--pipeline P] [--duration SECONDS]\n"
            "                 [--phases send,batch,recv] [--body-size BYTES] [--queue NAME] [--server-pid PID]\n"
            "                 [--region R] [--access-key K] [--secret-key S] [--peer] [--json]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    O = (opts_t){.connections = 32, .pipeline = 8, .duration = 5, .body_size = 64, .phases = "send,batch,recv",
                 .region = "us-east-1", .akid = "test", .secret = "test"};
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--json") == 0) {
            O.json = true;
            continue;
        }
        if (strcmp(a, "--peer") == 0) {
            O.connections = 8;
            O.pipeline = 1;
            continue;
        }
        if (a[0] != '-') {
            if (!url)
                url = a;
            else if ((O.duration = atof(a)) <= 0)
                usage();
            continue;
        }
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--connections") == 0)
            O.connections = atoi(v);
        else if (strcmp(a, "--pipeline") == 0)
            O.pipeline = atoi(v);
        else if (strcmp(a, "--duration") == 0)
            O.duration = atof(v);
        else if (strcmp(a, "--phases") == 0)
            O.phases = v;
        else if (strcmp(a, "--body-size") == 0)
            O.body_size = atoi(v);
        else if (strcmp(a, "--region") == 0)
            O.region = v;
        else if (strcmp(a, "--access-key") == 0)
            O.akid = v;
        else if (strcmp(a, "--secret-key") == 0)
            O.secret = v;
        else if (strcmp(a, "--server-pid") == 0)
            O.server_pid = atoi(v);
        else if (strcmp(a, "--queue") == 0)
            snprintf(O.queue, sizeof O.queue, "%s", v);
        else
            usage();
    }
    if (!url || strncmp(url, "http://", 7) != 0)
        usage();
    if (O.connections < 1 || O.connections > MAX_CONNS || O.pipeline < 1 || O.pipeline > MAX_PIPELINE ||
        O.duration <= 0 || O.body_size < 1 || O.body_size > 256 * 1024)
        die("an option is out of range (connections 1..%d, pipeline 1..%d, body-size 1..262144)", MAX_CONNS,
            MAX_PIPELINE);
    const char *hp = url + 7;
    size_t hl = strcspn(hp, "/");
    snprintf(O.hostport, sizeof O.hostport, "%.*s", (int)hl, hp);
    const char *colon = memchr(hp, ':', hl);
    if (colon) {
        snprintf(O.host, sizeof O.host, "%.*s", (int)(colon - hp), hp);
        snprintf(O.port, sizeof O.port, "%.*s", (int)(hl - (size_t)(colon - hp) - 1), colon + 1);
    } else {
        snprintf(O.host, sizeof O.host, "%.*s", (int)hl, hp);
        snprintf(O.port, sizeof O.port, "80");
    }
    if (!O.queue[0])
        snprintf(O.queue, sizeof O.queue, "sqs-bench-%ld", (long)getpid());
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    if (getaddrinfo(O.host, O.port, &hints, &g_addr) != 0)
        die("cannot resolve %s", O.host);
    g_ep = epoll_create1(EPOLL_CLOEXEC);
    g_depth = 1;
    for (int i = 0; i < O.connections; i++) {
        buf_init(&g_conns[i].out, (size_t)64 << 20);
        buf_init(&g_conns[i].in, (size_t)64 << 20);
        if (conn_open(&g_conns[i]) != 0)
            die("cannot connect to %s:%s", O.host, O.port);
    }

    buf_t body;
    buf_init(&body, 4096);
    buf_appends(&body, "Action=CreateQueue&Version=2012-11-05&QueueName=");
    form_escape(&body, O.queue, strlen(O.queue));
    char *xml = call_once(body.data);
    buf_destroy(&body);
    const char *a = strstr(xml, "<QueueUrl>"), *b = a ? strstr(a, "</QueueUrl>") : NULL;
    if (!a || !b)
        die("CreateQueue answered without a QueueUrl: %s", xml);
    g_queue_url = xstrndup(a + 10, (size_t)(b - a - 10));
    free(xml);
    build_templates();

    if (!O.json) {
        printf("sqs_bench %s queue=%s connections=%d pipeline=%d duration=%.1fs body=%dB\n", url, O.queue,
               O.connections, O.pipeline, O.duration, O.body_size);
        printf("%-6s %10s %12s %9s %9s %9s %8s %10s\n", "phase", "req/s", "msgs/s", "p50_ms", "p99_ms", "max_ms",
               "errors", "srv_cpu_us");
    }
    if (strstr(O.phases, "send"))
        run_phase(REQ_SEND, "send");
    if (strstr(O.phases, "batch"))
        run_phase(REQ_BATCH, "batch");
    if (strstr(O.phases, "recv"))
        run_phase(REQ_RECV, "recv");
    for (int i = 0; i < O.connections; i++) {
        close(g_conns[i].fd);
        buf_destroy(&g_conns[i].in);
        buf_destroy(&g_conns[i].out);
    }
    freeaddrinfo(g_addr);
    close(g_ep);
    return 0;
}
