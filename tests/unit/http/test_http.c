/*
 * Unit tests for the HTTP server (src/http).
 *
 * Each socket test runs a real server on port 0 in its own uv loop on the
 * main thread, and a scripted client on a second thread with blocking
 * sockets, so byte-level behaviour (splits, pipelining, stalls) is exactly
 * what the script says. The client never calls cmocka: it records its first
 * failed check, and the main thread asserts after joining it. The client
 * ends by asking the loop (uv_async_send) to stop the server; the loop then
 * runs dry and every test asserts uv_loop_close() == 0, so a leaked handle
 * fails the test.
 *
 * The handler below serves a few paths:
 *   /hello           200 "hello"
 *   /echo            200 with the buffered request body
 *   /delay?ms=N&tag=T  answers T after N ms (out-of-order responses)
 *   /hold            never answers; counts on_abort
 *   /stream          streamed body (pause/resume per piece), answers "got N"
 *   /reject          answers 403 from on_headers (HTTP_BODY_RESPONDED)
 *   /chunked         streamed response without a length
 *   /sized           streamed response with a length
 *   /headsize        no body, but Content-Length: 1234 (for HEAD)
 *   /info            the request's views, as the handler sees them
 *   /conns           the server's open connection count
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/http.h"
#include "http/internal.h"

/* ---------------------------------------------------------------------
 * Fixture: loop, server, client thread
 * ------------------------------------------------------------------- */

typedef struct fx fx_t;
struct fx {
    uv_loop_t loop;
    http_server_t *srv;
    http_config_t cfg;
    int port;
    uv_async_t async;
    uv_timer_t watchdog;
    pthread_t thread;
    void (*client)(fx_t *);
    uint64_t grace_ms;
    atomic_bool stop_sent;
    atomic_bool stopped;

    /* Handler-side observations. */
    atomic_int requests;
    atomic_int aborts;
    atomic_int held;
    atomic_int pauses;
    atomic_int body_pieces;
    atomic_long stream_bytes;
    atomic_int inflight;
    atomic_int max_inflight;
    atomic_int writes_done;
    bool pause_stream;
    char resp_log[256]; /* tags in the order the handler answered */

    /* Client sockets still open (closed for the client if a check fails). */
    struct cli *clis[16];

    /* Client-side result. */
    int fail_line;
    char fail_msg[256];
};

static void on_watchdog(uv_timer_t *t)
{
    fprintf(stderr, "test watchdog: the loop did not finish\n");
    abort();
}

static void on_server_stopped(void *data)
{
    fx_t *fx = data;
    atomic_store(&fx->stopped, true);
    uv_close((uv_handle_t *)&fx->watchdog, NULL);
}

static void on_async(uv_async_t *a)
{
    fx_t *fx = a->data;
    uv_close((uv_handle_t *)a, NULL);
    http_server_stop(fx->srv, fx->grace_ms, on_server_stopped, fx);
}

/* From the client thread: stop the server (once). */
static void fx_stop(fx_t *fx)
{
    if (!atomic_exchange(&fx->stop_sent, true))
        uv_async_send(&fx->async);
}

static void fx_fail(fx_t *fx, int line, const char *msg)
{
    if (fx->fail_line)
        return;
    fx->fail_line = line;
    snprintf(fx->fail_msg, sizeof fx->fail_msg, "%s", msg);
}

#define CHECK(fx, cond)                            \
    do {                                           \
        if (!(cond)) {                             \
            fx_fail((fx), __LINE__, #cond);        \
            return;                                \
        }                                          \
    } while (0)

static void cli_close(struct cli *c);

static void *client_main(void *arg)
{
    fx_t *fx = arg;
    fx->client(fx);
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(fx->clis); i++)
        cli_close(fx->clis[i]);
    fx_stop(fx);
    return NULL;
}

/* One fixture at a time, static so a failing test (cmocka longjmps out of
 * it) leaks nothing. */
static fx_t g_fx;

static fx_t *fx_new(void)
{
    fx_t *fx = &g_fx;
    memset(fx, 0, sizeof *fx);
    http_config_defaults(&fx->cfg);
    fx->cfg.host = "127.0.0.1";
    fx->cfg.port = 0;
    fx->grace_ms = 2000;
    return fx;
}

static const http_handler_t *test_handler(void);

static void fx_run(fx_t *fx, void (*client)(fx_t *))
{
    http_handler_t h = *test_handler();
    h.ctx = fx;
    fx->client = client;
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    assert_int_equal(http_server_start(&fx->loop, &fx->cfg, &h, &fx->srv), 0);
    fx->port = http_server_port(fx->srv);
    assert_true(fx->port > 0);
    uv_async_init(&fx->loop, &fx->async, on_async);
    fx->async.data = fx;
    uv_timer_init(&fx->loop, &fx->watchdog);
    uv_timer_start(&fx->watchdog, on_watchdog, 20000, 0);
    assert_int_equal(pthread_create(&fx->thread, NULL, client_main, fx), 0);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    pthread_join(fx->thread, NULL);
    assert_true(atomic_load(&fx->stopped));
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    if (fx->fail_line)
        fail_msg("client check failed at line %d: %s", fx->fail_line, fx->fail_msg);
}

/* ---------------------------------------------------------------------
 * Handler (loop thread)
 * ------------------------------------------------------------------- */

typedef struct tctx {
    uv_timer_t t;
    http_request_t *req;
    fx_t *fx;
    char tag[32];
} tctx_t;

static void on_tctx_closed(uv_handle_t *h) { free(h->data); }

static void tctx_close(tctx_t *tc)
{
    uv_timer_stop(&tc->t);
    uv_close((uv_handle_t *)&tc->t, on_tctx_closed);
}

static void log_resp(fx_t *fx, const char *tag)
{
    size_t n = strlen(fx->resp_log);
    snprintf(fx->resp_log + n, sizeof fx->resp_log - n, "%s%s", n ? "," : "", tag);
}

static void respond_text(http_request_t *req, int status, const char *text)
{
    static const http_header_t hdrs[] = {{STRV_LIT("Content-Type"), STRV_LIT("text/plain")}};
    buf_t b;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_appends(&b, text), 0);
    http_respond(req, status, hdrs, 1, &b);
    assert_int_equal(b.len, 0); /* taken */
    buf_destroy(&b);
}

static void finished(fx_t *fx) { atomic_fetch_sub(&fx->inflight, 1); }

static void on_delay_timer(uv_timer_t *t)
{
    tctx_t *tc = t->data;
    fx_t *fx = tc->fx;
    tc->req->user = NULL;
    log_resp(fx, tc->tag);
    finished(fx);
    respond_text(tc->req, 200, tc->tag);
    tctx_close(tc);
}

static void on_resume_timer(uv_timer_t *t)
{
    tctx_t *tc = t->data;
    http_request_resume(tc->req);
}

static long query_num(strv_t q, const char *key, long def)
{
    char tmp[256];
    size_t n = q.len < sizeof tmp - 1 ? q.len : sizeof tmp - 1;
    memcpy(tmp, q.p, n);
    tmp[n] = '\0';
    const char *p = strstr(tmp, key);
    return p ? atol(p + strlen(key)) : def;
}

static void query_str(strv_t q, const char *key, char *out, size_t cap)
{
    char tmp[256];
    size_t n = q.len < sizeof tmp - 1 ? q.len : sizeof tmp - 1;
    memcpy(tmp, q.p, n);
    tmp[n] = '\0';
    out[0] = '\0';
    const char *p = strstr(tmp, key);
    if (!p)
        return;
    p += strlen(key);
    size_t i = 0;
    while (p[i] && p[i] != '&' && i + 1 < cap) {
        out[i] = p[i];
        i++;
    }
    out[i] = '\0';
}

static tctx_t *tctx_new(fx_t *fx, http_request_t *req)
{
    tctx_t *tc = calloc(1, sizeof *tc);
    tc->fx = fx;
    tc->req = req;
    uv_timer_init(&fx->loop, &tc->t);
    tc->t.data = tc;
    return tc;
}

static int h_on_headers(http_request_t *req, void *ctx)
{
    fx_t *fx = ctx;
    if (strv_eq_cstr(req->path, "/reject")) {
        respond_text(req, 403, "rejected");
        return HTTP_BODY_RESPONDED;
    }
    if (strv_eq_cstr(req->path, "/stream"))
        return HTTP_BODY_STREAM;
    (void)fx;
    return HTTP_BODY_BUFFER;
}

static int h_on_body(http_request_t *req, const char *p, size_t n, void *ctx)
{
    fx_t *fx = ctx;
    atomic_fetch_add(&fx->stream_bytes, (long)n);
    atomic_fetch_add(&fx->body_pieces, 1);
    if (fx->pause_stream) {
        /* Back-pressure as a slow consumer would: stop the body after each
         * piece and take it up again a moment later. */
        tctx_t *tc = req->user;
        if (!tc)
            req->user = tc = tctx_new(fx, req);
        http_request_pause(req);
        atomic_fetch_add(&fx->pauses, 1);
        uv_timer_start(&tc->t, on_resume_timer, 1, 0);
    }
    return 0;
}

static void on_piece_written(http_request_t *req, void *data)
{
    fx_t *fx = data;
    atomic_fetch_add(&fx->writes_done, 1);
}

static void h_on_request(http_request_t *req, void *ctx)
{
    fx_t *fx = ctx;
    atomic_fetch_add(&fx->requests, 1);
    int now = atomic_fetch_add(&fx->inflight, 1) + 1;
    int max = atomic_load(&fx->max_inflight);
    if (now > max)
        atomic_store(&fx->max_inflight, now);

    if (strv_eq_cstr(req->path, "/hello")) {
        log_resp(fx, "hello");
        finished(fx);
        respond_text(req, 200, "hello");
    } else if (strv_eq_cstr(req->path, "/echo")) {
        finished(fx);
        http_header_t h = {STRV_LIT("X-Chunked"), req->chunked ? STRV_LIT("yes") : STRV_LIT("no")};
        http_respond(req, 200, &h, 1, &req->body);
    } else if (strv_eq_cstr(req->path, "/delay")) {
        tctx_t *tc = tctx_new(fx, req);
        query_str(req->query, "tag=", tc->tag, sizeof tc->tag);
        req->user = tc;
        uv_timer_start(&tc->t, on_delay_timer, (uint64_t)query_num(req->query, "ms=", 10), 0);
    } else if (strv_eq_cstr(req->path, "/hold")) {
        atomic_fetch_add(&fx->held, 1);
    } else if (strv_eq_cstr(req->path, "/stream")) {
        if (req->user) {
            tctx_close(req->user);
            req->user = NULL;
        }
        char msg[64];
        snprintf(msg, sizeof msg, "got %ld", atomic_load(&fx->stream_bytes));
        finished(fx);
        respond_text(req, 200, msg);
    } else if (strv_eq_cstr(req->path, "/chunked")) {
        static const char world[] = "world";
        finished(fx);
        http_respond_start(req, 200, NULL, 0, -1);
        http_respond_write(req, "hello ", 6, NULL, NULL);
        http_respond_write(req, world, 5, on_piece_written, fx);
        http_respond_end(req);
    } else if (strv_eq_cstr(req->path, "/sized")) {
        finished(fx);
        http_respond_start(req, 200, NULL, 0, 11);
        http_respond_write(req, "hello ", 6, NULL, NULL);
        http_respond_write(req, "world", 5, NULL, NULL);
        http_respond_end(req);
    } else if (strv_eq_cstr(req->path, "/headsize")) {
        /* A HEAD answer stating the GET's length without a body. */
        http_header_t h = {STRV_LIT("Content-Length"), STRV_LIT("1234")};
        finished(fx);
        http_respond(req, 200, &h, 1, NULL);
    } else if (strv_eq_cstr(req->path, "/info")) {
        /* The request as the handler sees it. */
        buf_t b;
        buf_init(&b, 4096);
        assert_int_equal(buf_appendf(&b, "%.*s|%.*s|%.*s|%.*s|%s|%d|", (int)req->method.len,
                                     req->method.p, (int)req->target.len, req->target.p,
                                     (int)req->path.len, req->path.p, (int)req->query.len,
                                     req->query.p, req->remote_addr, req->start_us > 0), 0);
        for (size_t i = 0; i < req->nheaders; i++)
            assert_int_equal(buf_appendf(&b, "%.*s=%.*s;", (int)req->headers[i].name.len,
                                         req->headers[i].name.p, (int)req->headers[i].value.len,
                                         req->headers[i].value.p), 0);
        finished(fx);
        http_respond(req, 200, NULL, 0, &b);
        buf_destroy(&b);
    } else if (strv_eq_cstr(req->path, "/conns")) {
        char msg[32];
        snprintf(msg, sizeof msg, "%zu", http_server_connections(fx->srv));
        finished(fx);
        respond_text(req, 200, msg);
    } else {
        finished(fx);
        respond_text(req, 404, "not found");
    }
}

static void h_on_abort(http_request_t *req, void *ctx)
{
    fx_t *fx = ctx;
    atomic_fetch_add(&fx->aborts, 1);
    finished(fx);
    if (req->user) {
        tctx_close(req->user);
        req->user = NULL;
    }
}

static const http_handler_t *test_handler(void)
{
    static const http_handler_t h = {h_on_headers, h_on_body, h_on_request, h_on_abort, NULL};
    return &h;
}

/* ---------------------------------------------------------------------
 * Blocking client (client thread)
 * ------------------------------------------------------------------- */

typedef struct cli {
    fx_t *fx;
    int fd;
    size_t len;
    char buf[256 * 1024];
} cli_t;

typedef struct resp {
    int status;
    char head[8192];
    char body[8192];
    size_t body_len;
} resp_t;

static int ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static cli_t *cli_open(fx_t *fx)
{
    cli_t *c = calloc(1, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {5, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)fx->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->fd);
        free(c);
        return NULL;
    }
    c->fx = fx;
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(fx->clis); i++)
        if (!fx->clis[i]) {
            fx->clis[i] = c;
            break;
        }
    return c;
}

static void cli_close(cli_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(c->fx->clis); i++)
        if (c->fx->clis[i] == c)
            c->fx->clis[i] = NULL;
    close(c->fd);
    free(c);
}

static bool cli_send(cli_t *c, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return false;
        s += w;
        n -= (size_t)w;
    }
    return true;
}

static bool cli_sends(cli_t *c, const char *s) { return cli_send(c, s, strlen(s)); }

/* Read more into the buffer: bytes read, 0 at EOF, -1 on error/timeout. */
static int cli_fill(cli_t *c)
{
    if (c->len == sizeof c->buf)
        return -1;
    ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n > 0)
        c->len += (size_t)n;
    return n < 0 ? -1 : (int)n;
}

static void cli_consume(cli_t *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static bool cli_need(cli_t *c, size_t n)
{
    while (c->len < n)
        if (cli_fill(c) <= 0)
            return false;
    return true;
}

/* Value of a response header, or NULL. */
static const char *resp_header(const resp_t *r, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = strstr(r->head, "\r\n");
    while (p && p[2] && !(p[2] == '\r')) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t n = (size_t)(e - v) < cap - 1 ? (size_t)(e - v) : cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return out;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

static bool resp_has(const resp_t *r, const char *name, const char *value)
{
    char v[512];
    return resp_header(r, name, v, sizeof v) && strcasecmp(v, value) == 0;
}

static bool body_append(resp_t *r, const char *p, size_t n)
{
    if (r->body_len + n >= sizeof r->body)
        return false;
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return true;
}

/* One response. head_only: the request was HEAD (no body follows). */
static bool cli_response(cli_t *c, resp_t *r, bool head_only)
{
    memset(r, 0, sizeof *r);
    char *end;
    while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
        if (cli_fill(c) <= 0)
            return false;
    size_t hlen = (size_t)(end - c->buf) + 4;
    if (hlen >= sizeof r->head)
        return false;
    memcpy(r->head, c->buf, hlen);
    r->head[hlen] = '\0';
    cli_consume(c, hlen);
    if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
        return false;
    if (r->status < 200 || r->status == 204 || r->status == 304 || head_only)
        return true;
    char v[64];
    if (resp_header(r, "transfer-encoding", v, sizeof v)) {
        for (;;) {
            char *eol;
            while (!(eol = memmem(c->buf, c->len, "\r\n", 2)))
                if (cli_fill(c) <= 0)
                    return false;
            size_t size = strtoul(c->buf, NULL, 16);
            cli_consume(c, (size_t)(eol - c->buf) + 2);
            if (!cli_need(c, size + 2))
                return false;
            if (!body_append(r, c->buf, size))
                return false;
            cli_consume(c, size + 2);
            if (size == 0)
                return true;
        }
    }
    if (resp_header(r, "content-length", v, sizeof v)) {
        size_t n = strtoul(v, NULL, 10);
        if (!cli_need(c, n) || !body_append(r, c->buf, n))
            return false;
        cli_consume(c, n);
        return true;
    }
    /* No framing: the body runs to EOF. */
    while (cli_fill(c) > 0)
        ;
    bool ok = body_append(r, c->buf, c->len);
    c->len = 0;
    return ok;
}

/* The server closed: EOF (or a reset) with nothing more to read. */
static bool cli_eof(cli_t *c)
{
    if (c->len)
        return false;
    char b[256];
    ssize_t n = recv(c->fd, b, sizeof b, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* Wait until *v >= want (up to ms). */
static bool wait_for(atomic_int *v, int want, int ms)
{
    for (int i = 0; i < ms; i += 5) {
        if (atomic_load(v) >= want)
            return true;
        sleep_ms(5);
    }
    return atomic_load(v) >= want;
}

/* ---------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------- */

static void client_simple_get(fx_t *fx)
{
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    resp_t r;
    CHECK(fx, cli_sends(c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false));
    CHECK(fx, r.status == 200);
    CHECK(fx, strcmp(r.body, "hello") == 0);
    CHECK(fx, resp_has(&r, "content-length", "5"));
    CHECK(fx, resp_has(&r, "content-type", "text/plain"));
    char date[64];
    CHECK(fx, resp_header(&r, "date", date, sizeof date));
    CHECK(fx, strlen(date) == 29 && strcmp(date + 25, " GMT") == 0 && date[3] == ',');
    CHECK(fx, !resp_header(&r, "connection", date, sizeof date));
    /* Views of the request; a header split across writes arrives whole. */
    CHECK(fx, cli_sends(c, "GET /info?x=1&y HTTP/1.1\r\nHost: h\r\nX-Sp"));
    sleep_ms(20);
    CHECK(fx, cli_sends(c, "lit: ab"));
    sleep_ms(20);
    CHECK(fx, cli_sends(c, "cd\r\nX-Empty:\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200);
    CHECK(fx, strcmp(r.body, "GET|/info?x=1&y|/info|x=1&y|127.0.0.1|1|"
                             "Host=h;X-Split=abcd;X-Empty=;") == 0);
    /* An unknown path still gets an answer on the same connection. */
    CHECK(fx, cli_sends(c, "GET /nope HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 404);
    cli_close(c);
}

static void test_simple_get(void **state)
{
    fx_t *fx = fx_new();
    fx_run(fx, client_simple_get);
    assert_int_equal(atomic_load(&fx->requests), 3);
}

static void client_keep_alive(fx_t *fx)
{
    resp_t r;
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    for (int i = 0; i < 3; i++) {
        CHECK(fx, cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n"));
        CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "hello") == 0);
    }
    CHECK(fx, cli_sends(c, "GET /conns HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && strcmp(r.body, "1") == 0);
    /* Connection: close is honoured. */
    CHECK(fx, cli_sends(c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200);
    CHECK(fx, resp_has(&r, "connection", "close"));
    CHECK(fx, cli_eof(c));
    cli_close(c);

    /* HTTP/1.0 with keep-alive stays open and says so. */
    c = cli_open(fx);
    CHECK(fx, c);
    for (int i = 0; i < 2; i++) {
        CHECK(fx, cli_sends(c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        CHECK(fx, cli_response(c, &r, false) && r.status == 200);
        CHECK(fx, resp_has(&r, "connection", "keep-alive"));
    }
    /* HTTP/1.0 without it closes. */
    CHECK(fx, cli_sends(c, "GET /hello HTTP/1.0\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200);
    CHECK(fx, resp_has(&r, "connection", "close"));
    CHECK(fx, cli_eof(c));
    cli_close(c);
}

static void test_keep_alive(void **state)
{
    fx_t *fx = fx_new();
    fx_run(fx, client_keep_alive);
    assert_int_equal(atomic_load(&fx->requests), 8);
}

static void client_pipelining(fx_t *fx)
{
    resp_t r;
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    /* Three requests in one write; the handler answers the first last. */
    CHECK(fx, cli_sends(c, "GET /delay?ms=150&tag=A HTTP/1.1\r\n\r\n"
                           "GET /delay?ms=20&tag=B HTTP/1.1\r\n\r\n"
                           "GET /hello HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "A") == 0);
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "B") == 0);
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "hello") == 0);
    CHECK(fx, c->len == 0);
    /* Still usable afterwards. */
    CHECK(fx, cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && strcmp(r.body, "hello") == 0);
    cli_close(c);
}

static void test_pipelining(void **state)
{
    fx_t *fx = fx_new();
    fx_run(fx, client_pipelining);
    /* The handler really did answer out of order. */
    assert_string_equal(fx->resp_log, "hello,B,A,hello");
}

static void client_pipeline_cap(fx_t *fx)
{
    resp_t r;
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    char req[4096] = "";
    for (int i = 0; i < 8; i++) {
        char one[128];
        snprintf(one, sizeof one, "GET /delay?ms=%d&tag=%d HTTP/1.1\r\n\r\n", 30 - 3 * i, i);
        size_t n = strlen(req);
        snprintf(req + n, sizeof req - n, "%s", one);
    }
    CHECK(fx, cli_sends(c, req));
    for (int i = 0; i < 8; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "%d", i);
        CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, tag) == 0);
    }
    cli_close(c);
}

static void test_pipeline_cap(void **state)
{
    fx_t *fx = fx_new();
    fx->cfg.max_pipelined = 2;
    fx_run(fx, client_pipeline_cap);
    assert_int_equal(atomic_load(&fx->requests), 8);
    /* Never more than max_pipelined requests handed out at once. */
    assert_true(atomic_load(&fx->max_inflight) <= 2);
}

static void client_chunked_body(fx_t *fx)
{
    resp_t r;
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    /* Split everywhere: inside the headers, a chunk size, an extension and
     * the data. */
    const char *parts[] = {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Enc",
                           "oding: chunked\r\n\r\n5;na",
                           "me=\"val\"\r\nhel",
                           "lo\r\n",
                           "6\r\n world\r\n0\r\n",
                           "\r\n"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        CHECK(fx, cli_sends(c, parts[i]));
        sleep_ms(15);
    }
    CHECK(fx, cli_response(c, &r, false) && r.status == 200);
    CHECK(fx, strcmp(r.body, "hello world") == 0);
    CHECK(fx, resp_has(&r, "x-chunked", "yes"));
    /* With a trailer, and a Content-Length body next on the same
     * connection, all in one write. */
    CHECK(fx, cli_sends(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n"
                           "POST /echo HTTP/1.1\r\nContent-Length: 4\r\n\r\nwxyz"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "abc") == 0);
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "wxyz") == 0);
    CHECK(fx, resp_has(&r, "x-chunked", "no"));
    cli_close(c);
}

static void test_chunked_body(void **state)
{
    fx_t *fx = fx_new();
    fx_run(fx, client_chunked_body);
}

static void client_expect_continue(fx_t *fx)
{
    resp_t r;
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 5\r\n"
                           "Expect: 100-continue\r\n\r\n"));
    /* The 100 comes before we send a byte of the body. */
    CHECK(fx, cli_response(c, &r, false) && r.status == 100);
    CHECK(fx, cli_sends(c, "hello"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "hello") == 0);
    /* A streamed body is accepted too. */
    CHECK(fx, cli_sends(c, "POST /stream HTTP/1.1\r\nContent-Length: 3\r\n"
                           "Expect: 100-continue\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 100);
    CHECK(fx, cli_sends(c, "abc"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "got 3") == 0);
    /* Body sent along without waiting: no 100 needed, just the answer. */
    CHECK(fx, cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n"
                           "Expect: 100-continue\r\n\r\nok"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "ok") == 0);
    cli_close(c);

    /* Early rejection: no 100, the final answer, and the connection closes
     * since the body never came. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "POST /reject HTTP/1.1\r\nContent-Length: 5\r\n"
                           "Expect: 100-continue\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 403 && strcmp(r.body, "rejected") == 0);
    CHECK(fx, resp_has(&r, "connection", "close"));
    CHECK(fx, cli_eof(c));
    cli_close(c);

    /* Early rejection with a small body already sent: the body is dropped
     * and the connection kept. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "POST /reject HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                           "GET /hello HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 403);
    CHECK(fx, !resp_has(&r, "connection", "close"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "hello") == 0);
    cli_close(c);
}

static void test_expect_continue(void **state)
{
    fx_t *fx = fx_new();
    fx_run(fx, client_expect_continue);
}

static void client_limits(fx_t *fx)
{
    resp_t r;
    char big[4096];

    /* Headers over max_header_bytes (1024). */
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    memset(big, 'a', 2000);
    big[2000] = '\0';
    CHECK(fx, cli_sends(c, "GET /hello HTTP/1.1\r\nX-Big: "));
    CHECK(fx, cli_sends(c, big));
    CHECK(fx, cli_sends(c, "\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 431);
    CHECK(fx, resp_has(&r, "connection", "close"));
    CHECK(fx, strcmp(r.body, "Request Header Fields Too Large\n") == 0);
    CHECK(fx, cli_eof(c));
    cli_close(c);

    /* Too many headers. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "GET /hello HTTP/1.1\r\n"));
    for (int i = 0; i < KYOKA_HTTP_MAX_HEADERS + 1; i++)
        CHECK(fx, cli_sends(c, "A: b\r\n"));
    CHECK(fx, cli_sends(c, "\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 431);
    CHECK(fx, cli_eof(c));
    cli_close(c);

    /* URL over max_url_bytes (256). */
    c = cli_open(fx);
    CHECK(fx, c);
    memset(big, 'u', 300);
    big[300] = '\0';
    CHECK(fx, cli_sends(c, "GET /"));
    CHECK(fx, cli_sends(c, big));
    CHECK(fx, cli_sends(c, " HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 414);
    CHECK(fx, cli_eof(c));
    cli_close(c);

    /* Declared body over max_body_bytes (1024): 413 before any body. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 5000\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 413);
    CHECK(fx, resp_has(&r, "connection", "close"));
    CHECK(fx, cli_eof(c));
    cli_close(c);

    /* The same with Expect: refused without a 100 Continue. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 5000\r\n"
                           "Expect: 100-continue\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 413);
    CHECK(fx, cli_eof(c));
    cli_close(c);

    /* Chunked body that grows over the limit. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
    memset(big, 'b', 800);
    for (int i = 0; i < 2; i++) {
        CHECK(fx, cli_sends(c, "320\r\n"));
        CHECK(fx, cli_send(c, big, 800));
        CHECK(fx, cli_sends(c, "\r\n"));
    }
    CHECK(fx, cli_response(c, &r, false) && r.status == 413);
    CHECK(fx, cli_eof(c));
    cli_close(c);

    /* The same limit does not apply to a streamed body. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "POST /stream HTTP/1.1\r\nContent-Length: 3000\r\n\r\n"));
    memset(big, 's', 3000);
    CHECK(fx, cli_send(c, big, 3000));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "got 3000") == 0);
    cli_close(c);

    /* Malformed requests: 400 and close. */
    const char *bad[] = {"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "\x01\x02 junk\r\n\r\n",
                         "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                         "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        c = cli_open(fx);
        CHECK(fx, c);
        CHECK(fx, cli_sends(c, bad[i]));
        CHECK(fx, cli_response(c, &r, false) && r.status == 400);
        CHECK(fx, resp_has(&r, "connection", "close"));
        CHECK(fx, strcmp(r.body, "Bad Request\n") == 0);
        CHECK(fx, cli_eof(c));
        cli_close(c);
    }

    /* A bad request behind a good one: the good one is answered first. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "GET /delay?ms=50&tag=first HTTP/1.1\r\n\r\nGARBAGE\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "first") == 0);
    CHECK(fx, cli_response(c, &r, false) && r.status == 400);
    CHECK(fx, cli_eof(c));
    cli_close(c);
}

static void test_limits(void **state)
{
    fx_t *fx = fx_new();
    fx->cfg.max_header_bytes = 1024;
    fx->cfg.max_url_bytes = 256;
    fx->cfg.max_body_bytes = 1024;
    fx_run(fx, client_limits);
}

static void client_timeouts(fx_t *fx)
{
    resp_t r;
    struct timespec t0;

    /* Stalled in the headers: 408 after the header timeout (200 ms). */
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(fx, cli_sends(c, "GET /hello HTTP/1.1\r\nHost:"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 408);
    int ms = ms_since(&t0);
    CHECK(fx, ms >= 150 && ms < 3000);
    CHECK(fx, resp_has(&r, "connection", "close"));
    CHECK(fx, cli_eof(c));
    cli_close(c);

    /* Trickling header bytes does not extend the header deadline. */
    c = cli_open(fx);
    CHECK(fx, c);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(fx, cli_sends(c, "GET /hello HTTP/1.1\r\n"));
    for (int i = 0; i < 6; i++) {
        sleep_ms(50);
        if (!cli_sends(c, "X: y\r\n"))
            break;
    }
    CHECK(fx, cli_response(c, &r, false) && r.status == 408);
    ms = ms_since(&t0);
    CHECK(fx, ms < 1000);
    cli_close(c);

    /* Stalled in the body: 408 after the body timeout (200 ms). */
    c = cli_open(fx);
    CHECK(fx, c);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(fx, cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 408);
    ms = ms_since(&t0);
    CHECK(fx, ms >= 150 && ms < 3000);
    CHECK(fx, cli_eof(c));
    cli_close(c);

    /* Idle keep-alive connection: closed quietly after 300 ms. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(fx, cli_eof(c));
    ms = ms_since(&t0);
    CHECK(fx, ms >= 200 && ms < 3000);
    cli_close(c);

    /* A long poll is not idle: a handler holding the request for longer
     * than the idle timeout still gets its answer through. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "GET /delay?ms=700&tag=late HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "late") == 0);
    cli_close(c);
}

static void test_timeouts(void **state)
{
    fx_t *fx = fx_new();
    fx->cfg.header_timeout_ms = 200;
    fx->cfg.body_timeout_ms = 200;
    fx->cfg.idle_timeout_ms = 300;
    fx_run(fx, client_timeouts);
}

static void client_stream(fx_t *fx)
{
    resp_t r;
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    enum { TOTAL = 256 * 1024, STEP = 16 * 1024 };
    static char data[STEP];
    memset(data, 'x', STEP);
    CHECK(fx, cli_sends(c, "POST /stream HTTP/1.1\r\nContent-Length: 262144\r\n\r\n"));
    for (int i = 0; i < TOTAL / STEP; i++)
        CHECK(fx, cli_send(c, data, STEP));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "got 262144") == 0);

    /* A chunked streamed body on the same connection. */
    atomic_store(&fx->stream_bytes, 0);
    CHECK(fx, cli_sends(c, "POST /stream HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "4\r\nabcd\r\n"));
    sleep_ms(20);
    CHECK(fx, cli_sends(c, "2\r\nef\r\n0\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "got 6") == 0);
    cli_close(c);
}

static void test_stream_pause_resume(void **state)
{
    fx_t *fx = fx_new();
    fx->pause_stream = true;
    fx_run(fx, client_stream);
    assert_true(atomic_load(&fx->pauses) >= 2);
    assert_int_equal(atomic_load(&fx->pauses), atomic_load(&fx->body_pieces));
}

static void client_abort(fx_t *fx)
{
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "GET /hold HTTP/1.1\r\n\r\n"));
    CHECK(fx, wait_for(&fx->held, 1, 3000));
    cli_close(c);
    CHECK(fx, wait_for(&fx->aborts, 1, 3000));

    /* A delayed answer whose client went away: the handler's timer is
     * cancelled in on_abort, nothing is written to the dead connection. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "GET /delay?ms=300&tag=x HTTP/1.1\r\n\r\n"));
    CHECK(fx, wait_for(&fx->requests, 2, 3000));
    cli_close(c);
    CHECK(fx, wait_for(&fx->aborts, 2, 3000));

    /* Disconnect in the middle of a buffered body the handler accepted. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc"));
    sleep_ms(50);
    cli_close(c);
    CHECK(fx, wait_for(&fx->aborts, 3, 3000));
}

static void test_abort(void **state)
{
    fx_t *fx = fx_new();
    fx_run(fx, client_abort);
    /* Exactly once per held request, never for finished ones. */
    assert_int_equal(atomic_load(&fx->aborts), 3);
}

static void client_graceful_stop(fx_t *fx)
{
    resp_t r;
    cli_t *idle = cli_open(fx);
    CHECK(fx, idle);
    CHECK(fx, cli_sends(idle, "GET /hello HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(idle, &r, false) && r.status == 200);

    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "GET /delay?ms=300&tag=S HTTP/1.1\r\n\r\n"));
    CHECK(fx, wait_for(&fx->requests, 2, 3000));
    fx_stop(fx);
    /* The idle connection goes at once; the in-flight request finishes and
     * its connection closes after the answer. */
    CHECK(fx, cli_eof(idle));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "S") == 0);
    CHECK(fx, resp_has(&r, "connection", "close"));
    CHECK(fx, cli_eof(c));
    cli_close(c);
    cli_close(idle);
}

static void test_graceful_stop(void **state)
{
    fx_t *fx = fx_new();
    fx_run(fx, client_graceful_stop);
    assert_int_equal(atomic_load(&fx->aborts), 0);
}

static void client_stop_grace_expires(fx_t *fx)
{
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "GET /hold HTTP/1.1\r\n\r\n"));
    CHECK(fx, wait_for(&fx->held, 1, 3000));
    fx_stop(fx);
    CHECK(fx, cli_eof(c));
    cli_close(c);
}

static void test_stop_grace_expires(void **state)
{
    fx_t *fx = fx_new();
    fx->grace_ms = 100;
    fx_run(fx, client_stop_grace_expires);
    assert_int_equal(atomic_load(&fx->aborts), 1);
}

static void client_streaming_response(fx_t *fx)
{
    resp_t r;
    cli_t *c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "GET /chunked HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200);
    CHECK(fx, resp_has(&r, "transfer-encoding", "chunked"));
    CHECK(fx, strcmp(r.body, "hello world") == 0);
    CHECK(fx, cli_sends(c, "GET /sized HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200);
    CHECK(fx, resp_has(&r, "content-length", "11"));
    CHECK(fx, strcmp(r.body, "hello world") == 0);
    /* HEAD: Content-Length of the GET, no body bytes (the next response
     * parses cleanly only if none were sent). */
    CHECK(fx, cli_sends(c, "HEAD /hello HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, true) && r.status == 200);
    CHECK(fx, resp_has(&r, "content-length", "5"));
    CHECK(fx, cli_sends(c, "HEAD /chunked HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, true) && r.status == 200);
    CHECK(fx, cli_sends(c, "HEAD /sized HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, true) && r.status == 200);
    CHECK(fx, resp_has(&r, "content-length", "11") && !resp_has(&r, "connection", "close"));
    CHECK(fx, cli_sends(c, "HEAD /headsize HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, true) && r.status == 200);
    CHECK(fx, resp_has(&r, "content-length", "1234"));
    /* A handler's Content-Length never overrides the real one on a GET. */
    CHECK(fx, cli_sends(c, "GET /headsize HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200);
    CHECK(fx, resp_has(&r, "content-length", "0"));
    CHECK(fx, cli_sends(c, "GET /hello HTTP/1.1\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200 && strcmp(r.body, "hello") == 0);
    cli_close(c);

    /* HTTP/1.0 gets no chunked coding: the body ends with the connection. */
    c = cli_open(fx);
    CHECK(fx, c);
    CHECK(fx, cli_sends(c, "GET /chunked HTTP/1.0\r\n\r\n"));
    CHECK(fx, cli_response(c, &r, false) && r.status == 200);
    CHECK(fx, !resp_has(&r, "transfer-encoding", "chunked"));
    CHECK(fx, strcmp(r.body, "hello world") == 0);
    cli_close(c);
}

static void test_streaming_response(void **state)
{
    fx_t *fx = fx_new();
    fx_run(fx, client_streaming_response);
    /* Every lent piece came back through its done callback. */
    assert_int_equal(atomic_load(&fx->writes_done), 3);
}

static void client_max_connections(fx_t *fx)
{
    resp_t r;
    cli_t *a = cli_open(fx), *b = cli_open(fx);
    CHECK(fx, a && b);
    CHECK(fx, cli_sends(a, "GET /hello HTTP/1.1\r\n\r\n") && cli_response(a, &r, false));
    CHECK(fx, cli_sends(b, "GET /hello HTTP/1.1\r\n\r\n") && cli_response(b, &r, false));
    cli_t *x = cli_open(fx);
    CHECK(fx, x);
    CHECK(fx, cli_eof(x));
    cli_close(x);
    cli_close(a);
    /* A slot freed is a slot usable again. */
    bool ok = false;
    for (int i = 0; i < 50 && !ok; i++) {
        sleep_ms(10);
        x = cli_open(fx);
        ok = x && cli_sends(x, "GET /hello HTTP/1.1\r\n\r\n") && cli_response(x, &r, false) &&
             r.status == 200;
        cli_close(x);
    }
    CHECK(fx, ok);
    cli_close(b);
}

static void test_max_connections(void **state)
{
    fx_t *fx = fx_new();
    fx->cfg.max_connections = 2;
    fx_run(fx, client_max_connections);
}

/* ---------------------------------------------------------------------
 * The socket-less glue the fuzzer uses
 * ------------------------------------------------------------------- */

static void fake_on_request(http_request_t *req, void *ctx)
{
    int *n = ctx;
    (*n)++;
    buf_t b;
    buf_init(&b, 64);
    assert_int_equal(buf_append(&b, req->path.p, req->path.len), 0);
    http_respond(req, 200, NULL, 0, &b);
}

static void test_fake_conn(void **state)
{
    int count = 0;
    http_handler_t h = {NULL, NULL, fake_on_request, NULL, &count};
    http_config_t cfg;
    http_config_defaults(&cfg);
    http_server_t *s = http__server_create_fake(&cfg, &h);
    http_conn_t *c = http__conn_create_fake(s);
    assert_int_equal(http__conn_timeout_kind(c), HTTP__T_IDLE);
    const char *in = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HT";
    assert_int_equal(http__parse_feed(c, in, strlen(in)), 0);
    assert_int_equal(count, 2);
    assert_int_equal(http__conn_timeout_kind(c), HTTP__T_HEADER);
    assert_int_equal(http__parse_feed(c, "TP/1.1\r\n\r\n", 10), 0);
    assert_int_equal(count, 3);
    strv_t out = http__conn_output(c);
    const char *a = memmem(out.p, out.len, "\r\n\r\n/a", 6);
    const char *b = memmem(out.p, out.len, "\r\n\r\n/b", 6);
    const char *cc = memmem(out.p, out.len, "\r\n\r\n/c", 6);
    assert_non_null(a);
    assert_true(a < b && b < cc);
    assert_int_equal(http__conn_timeout_kind(c), HTTP__T_IDLE);
    /* A header timeout answers 408 and closes. */
    assert_int_equal(http__parse_feed(c, "GET /d HTTP/1.1\r\n", 17), 0);
    http__conn_fire_timeout(c);
    out = http__conn_output(c);
    assert_non_null(memmem(out.p, out.len, "HTTP/1.1 408 Request Timeout\r\n", 30));
    assert_true(http__conn_closed(c));
    assert_int_equal(http__parse_feed(c, "x", 1), -1);
    http__conn_destroy_fake(c);
    http__server_free_fake(s);
}

static void test_status_text(void **state)
{
    assert_string_equal(http_status_text(200), "OK");
    assert_string_equal(http_status_text(404), "Not Found");
    assert_string_equal(http_status_text(413), "Payload Too Large");
    assert_string_equal(http_status_text(431), "Request Header Fields Too Large");
    assert_string_equal(http_status_text(799), "Unknown");
}

static void on_never(void *data) { *(int *)data = 1; }

static void test_start_errors(void **state)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    http_handler_t h = {NULL, NULL, fake_on_request, NULL, NULL};
    http_config_t cfg;
    http_config_defaults(&cfg);
    cfg.port = 0;
    http_server_t *a = NULL, *b = NULL;
    assert_int_equal(http_server_start(&loop, &cfg, &h, &a), 0);
    cfg.port = http_server_port(a);
    assert_int_equal(http_server_start(&loop, &cfg, &h, &b), UV_EADDRINUSE);
    assert_null(b);
    cfg.host = "not an address";
    assert_int_equal(http_server_start(&loop, &cfg, &h, &b), UV_EINVAL);
    int done = 0;
    http_server_stop(a, 100, on_never, &done);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(done, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_text),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_fake_conn),
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_pipeline_cap),
        cmocka_unit_test(test_chunked_body),
        cmocka_unit_test(test_expect_continue),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_stream_pause_resume),
        cmocka_unit_test(test_abort),
        cmocka_unit_test(test_graceful_stop),
        cmocka_unit_test(test_stop_grace_expires),
        cmocka_unit_test(test_streaming_response),
        cmocka_unit_test(test_max_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
