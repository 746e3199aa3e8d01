/*
 * The HTTP server proper: listening, accepting, the connection lifecycle,
 * timeouts and graceful stop. Parsing lives in parse.c, output in
 * response.c.
 *
 * Connections embed their uv_tcp_t. Closing is two steps: http__conn_close()
 * marks the connection closed, starts uv_close and tells the handler about
 * requests it still holds (on_abort); the memory goes only in the close
 * callback, so nothing is freed while one of its callbacks is on the stack.
 * Code that calls out to a handler re-checks c->closed afterwards.
 *
 * Timeouts use no timer per connection. Each timeout kind has one fixed
 * duration, so a list per kind, appended to when a deadline is set, is
 * ordered by deadline for free; (re)arming is an O(1) unlink and append. One
 * uv_timer_t per server fires at the earliest head of the lists.
 *
 * After every event for a connection (read, write completion, timer, kick)
 * http__conn_after_io() does the bookkeeping in one place: free requests
 * whose responses are written, parse input kept while parsing was blocked,
 * flush output, decide on closing, and set reading and the timer to match
 * the new state.
 *
 * Handler-facing calls (http_respond, http_request_resume) never run parser
 * callbacks on the caller's stack; work that would is "kicked": a uv_idle_t
 * runs it from the loop on the next turn.
 */
#include "http/internal.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"
#include "core/limits.h"

static void update_reading(http_conn_t *c);
static void update_timer(http_conn_t *c);

/* ---------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------- */

void http_config_defaults(http_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 4566;
    cfg->max_header_bytes = KYOKA_HTTP_MAX_HEADER_BYTES;
    cfg->max_url_bytes = KYOKA_HTTP_MAX_URL_BYTES;
    cfg->max_body_bytes = KYOKA_HTTP_MAX_BODY_BYTES;
    cfg->header_timeout_ms = KYOKA_HTTP_HEADER_TIMEOUT_MS;
    cfg->body_timeout_ms = KYOKA_HTTP_BODY_TIMEOUT_MS;
    cfg->idle_timeout_ms = KYOKA_HTTP_IDLE_TIMEOUT_MS;
    cfg->max_connections = KYOKA_HTTP_MAX_CONNECTIONS;
    cfg->max_pipelined = 16;
}

static http_server_t *server_new(const http_config_t *cfg, const http_handler_t *h)
{
    http_config_t def;
    http_config_defaults(&def);
    http_server_t *s = xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    /* Zero sizes mean "the default"; a zero limit would refuse everything. */
    if (!s->cfg.max_header_bytes)
        s->cfg.max_header_bytes = def.max_header_bytes;
    if (!s->cfg.max_url_bytes)
        s->cfg.max_url_bytes = def.max_url_bytes;
    if (!s->cfg.max_connections)
        s->cfg.max_connections = def.max_connections;
    if (!s->cfg.max_pipelined)
        s->cfg.max_pipelined = def.max_pipelined;
    s->h = *h;
    http__settings_init(&s->settings);
    /* A zero timeout disables that timeout. */
    s->tl[HTTP__T_HEADER].ms = s->cfg.header_timeout_ms;
    s->tl[HTTP__T_BODY].ms = s->cfg.body_timeout_ms;
    s->tl[HTTP__T_IDLE].ms = s->cfg.idle_timeout_ms;
    s->tl[HTTP__T_SEND].ms = s->cfg.idle_timeout_ms;
    s->tl[HTTP__T_LINGER].ms = HTTP__LINGER_MS;
    s->date_s = -1;
    return s;
}

static void server_free_mem(http_server_t *s)
{
    while (s->pool) {
        http__req_t *r = s->pool;
        s->pool = r->pool_next;
        http__req_release(r);
    }
    free(s->rbuf);
    free(s);
}

/* ---------------------------------------------------------------------
 * Timeouts
 * ------------------------------------------------------------------- */

static void tl_unlink(http_conn_t *c)
{
    if (c->tkind == HTTP__T_NONE)
        return;
    if (!c->fake) {
        http_server_t *s = c->server;
        if (c->t_prev)
            c->t_prev->t_next = c->t_next;
        else
            s->tl[c->tkind].head = c->t_next;
        if (c->t_next)
            c->t_next->t_prev = c->t_prev;
        else
            s->tl[c->tkind].tail = c->t_prev;
        c->t_prev = c->t_next = NULL;
    }
    c->tkind = HTTP__T_NONE;
}

static void on_timer(uv_timer_t *t);

static void timer_arm(http_server_t *s, uint64_t due)
{
    uint64_t now = uv_now(s->loop);
    uv_timer_start(&s->timer, on_timer, due > now ? due - now : 0, 0);
    s->timer_armed = true;
    s->timer_due = due;
}

static void tl_set(http_conn_t *c, int kind)
{
    http_server_t *s = c->server;
    tl_unlink(c);
    if (kind == HTTP__T_NONE || !s->tl[kind].ms)
        return;
    c->tkind = kind;
    if (c->fake)
        return;
    c->deadline = uv_now(s->loop) + s->tl[kind].ms;
    c->t_next = NULL;
    c->t_prev = s->tl[kind].tail;
    if (c->t_prev)
        c->t_prev->t_next = c;
    else
        s->tl[kind].head = c;
    s->tl[kind].tail = c;
    if (!s->timer_armed || c->deadline < s->timer_due)
        timer_arm(s, c->deadline);
}

/* Which timeout the connection's state calls for. */
static int want_timeout(const http_conn_t *c)
{
    if (c->lingering)
        return HTTP__T_LINGER;
    const http__req_t *r = c->cur;
    if (r && !c->dead) {
        if (r->pub._state == HTTP__PH_HEADERS)
            return HTTP__T_HEADER;
        /* A paused body is our doing, not the client's. */
        if (!(c->block & HTTP__B_PAUSE))
            return HTTP__T_BODY;
    }
    if (c->writing)
        return HTTP__T_SEND;
    /* A request waiting on its handler (a long poll) has no timeout here. */
    if (!c->head && !c->dead)
        return HTTP__T_IDLE;
    return HTTP__T_NONE;
}

static void update_timer(http_conn_t *c)
{
    int k = want_timeout(c);
    /* The header deadline runs from a request's first byte and the idle
     * one from when the connection fell idle; body and send deadlines
     * restart with each sign of progress. */
    bool set = k != c->tkind || (k == HTTP__T_HEADER && c->new_request) ||
               (k == HTTP__T_BODY && c->body_progress) || (k == HTTP__T_SEND && c->write_progress);
    c->new_request = c->body_progress = c->write_progress = false;
    if (set)
        tl_set(c, k);
}

static void conn_timeout(http_conn_t *c, int kind)
{
    if (kind == HTTP__T_HEADER || kind == HTTP__T_BODY) {
        log_debug("http: %s timeout from %s", kind == HTTP__T_HEADER ? "header" : "body",
                  c->remote);
        c->busy++;
        http__fail(c, 408);
        c->busy--;
        http__conn_after_io(c);
    } else {
        http__conn_close(c);
    }
}

static void on_timer(uv_timer_t *t)
{
    http_server_t *s = container_of(t, http_server_t, timer);
    s->timer_armed = false;
    uint64_t now = uv_now(s->loop);
    for (int k = 1; k < HTTP__T_COUNT; k++) {
        http_conn_t *c;
        while ((c = s->tl[k].head) && c->deadline <= now) {
            tl_unlink(c);
            conn_timeout(c, k);
        }
    }
    uint64_t due = UINT64_MAX;
    for (int k = 1; k < HTTP__T_COUNT; k++)
        if (s->tl[k].head && s->tl[k].head->deadline < due)
            due = s->tl[k].head->deadline;
    if (due != UINT64_MAX && (!s->timer_armed || due < s->timer_due))
        timer_arm(s, due);
}

/* ---------------------------------------------------------------------
 * Kicks: deferred after_io for connections changed from handler context
 * ------------------------------------------------------------------- */

static void on_kick(uv_idle_t *h)
{
    http_server_t *s = container_of(h, http_server_t, kick);
    uv_idle_stop(h);
    /* Detach the list: work below may kick again, for the next turn. No
     * connection is freed while this runs (frees happen in close
     * callbacks), so the detached list stays valid. */
    http_conn_t *list = s->kick_head;
    s->kick_head = NULL;
    while (list) {
        http_conn_t *c = list;
        list = c->kick_next;
        c->kick_next = NULL;
        c->kicked = false;
        http__conn_after_io(c);
    }
}

void http__conn_kick(http_conn_t *c)
{
    if (c->kicked || c->closed)
        return;
    http_server_t *s = c->server;
    c->kicked = true;
    c->kick_next = s->kick_head;
    s->kick_head = c;
    if (!s->fake)
        uv_idle_start(&s->kick, on_kick);
}

static void kick_remove(http_conn_t *c)
{
    if (!c->kicked)
        return;
    http_conn_t **pp = &c->server->kick_head;
    while (*pp && *pp != c)
        pp = &(*pp)->kick_next;
    if (*pp)
        *pp = c->kick_next;
    c->kick_next = NULL;
    c->kicked = false;
}

/* ---------------------------------------------------------------------
 * Connection lifecycle
 * ------------------------------------------------------------------- */

static http_conn_t *conn_new(http_server_t *s)
{
    http_conn_t *c = xcalloc(1, sizeof *c);
    c->server = s;
    http__conn_parse_init(c);
    buf_init(&c->fake_out, 0);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    return c;
}

static void maybe_finish(http_server_t *s);

static void conn_free(http_conn_t *c)
{
    http_server_t *s = c->server;
    tl_unlink(c);
    kick_remove(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    while (c->head) {
        http__req_t *r = c->head;
        c->head = (http__req_t *)r->pub._next;
        http__req_free(s, r);
    }
    buf_destroy(&c->acc);
    buf_destroy(&c->pending);
    buf_destroy(&c->fake_out);
    free(c);
    s->nconns--;
    maybe_finish(s);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_free(container_of((uv_tcp_t *)h, http_conn_t, tcp));
}

void http__conn_close(http_conn_t *c)
{
    if (c->closed)
        return;
    c->closed = true;
    tl_unlink(c);
    if (!c->fake)
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    http__conn_abort_requests(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    http_conn_t *c = container_of(req, http_conn_t, sreq);
    if (status < 0 && !c->closed)
        http__conn_close(c);
}

/* Close gracefully: FIN after the last response, then read and drop until
 * the peer's FIN (or the linger timeout). Closing with unread input would
 * send RST, and an RST can destroy the response still in the peer's
 * receive buffer; 413s and 431s are exactly the cases where the peer is
 * still sending. */
static void conn_linger(http_conn_t *c)
{
    if (c->lingering || c->closed)
        return;
    if (c->fake || c->eof) {
        http__conn_close(c);
        return;
    }
    c->lingering = true;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) < 0)
        http__conn_close(c);
}

/* Free requests whose responses are fully written, in order. */
static void reap(http_conn_t *c)
{
    http_server_t *s = c->server;
    http__req_t *r;
    while ((r = c->head) && r->pub._state == HTTP__PH_DONE && http__req_written(r)) {
        c->head = (http__req_t *)r->pub._next;
        if (!c->head)
            c->tail = NULL;
        c->nreqs--;
        bool close = r->close_after;
        http__req_free(s, r);
        if (close) {
            http__stop_parsing(c);
            /* Requests behind a closing response get no answer. */
            if (c->head)
                http__conn_close(c);
            break;
        }
    }
    if ((c->block & HTTP__B_PIPE) && c->nreqs < s->cfg.max_pipelined)
        c->block &= ~(unsigned)HTTP__B_PIPE;
}

void http__conn_after_io(http_conn_t *c)
{
    http_server_t *s = c->server;
    if (c->closed)
        return;
    if (c->close_now) {
        http__conn_close(c);
        return;
    }
    reap(c);
    if (c->closed)
        return;
    if (!c->block && !c->dead && http__conn_has_input(c)) {
        c->busy++;
        http__conn_drain(c);
        c->busy--;
        if (c->closed)
            return;
    }
    http__conn_flush(c);
    if (c->closed)
        return;
    if (!c->head && !c->writing && (c->dead || c->eof || s->stopping)) {
        conn_linger(c);
        if (c->closed)
            return;
    }
    update_reading(c);
    update_timer(c);
}

void http__conn_schedule(http_conn_t *c)
{
    if (c->closed || c->busy)
        return; /* whoever is busy with c runs after_io when done */
    http__conn_flush(c);
    if (c->close_now || (!c->block && !c->dead && http__conn_has_input(c)))
        http__conn_kick(c);
    update_reading(c);
    update_timer(c);
}

/* ---------------------------------------------------------------------
 * Socket callbacks
 * ------------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    http_conn_t *c = container_of((uv_tcp_t *)h, http_conn_t, tcp);
    /* Parsing copies what it keeps, so every connection reads into the
     * same buffer. */
    *b = uv_buf_init(c->server->rbuf, HTTP__READ_BUF);
}

/* Is a request still coming in or still with the handler? */
static bool conn_has_unfinished(const http_conn_t *c)
{
    if (c->cur)
        return true;
    for (const http__req_t *r = c->head; r; r = (const http__req_t *)r->pub._next)
        if (!r->ended)
            return true;
    return false;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    http_conn_t *c = container_of((uv_tcp_t *)st, http_conn_t, tcp);
    if (c->closed || nread == 0)
        return;
    if (nread < 0) {
        if (nread != UV_EOF || c->lingering) {
            http__conn_close(c);
            return;
        }
        /* The peer is gone (or sends nothing more, which for an HTTP
         * client means the same). Answers already complete still go out;
         * requests the handler holds are aborted. */
        c->eof = true;
        if (conn_has_unfinished(c))
            http__conn_close(c);
        else
            http__conn_after_io(c);
        return;
    }
    if (c->lingering)
        return;
    c->busy++;
    http__conn_feed(c, b->base, (size_t)nread);
    c->busy--;
    http__conn_after_io(c);
}

static void update_reading(http_conn_t *c)
{
    if (c->fake || c->closed)
        return;
    bool want = !c->eof && (c->lingering || (!c->block && !c->dead));
    if (want == c->reading)
        return;
    if (want) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
            c->close_now = true;
            http__conn_kick(c);
            return;
        }
    } else {
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    c->reading = want;
}

static void on_connection(uv_stream_t *l, int status)
{
    http_server_t *s = l->data;
    if (status < 0) {
        log_warn("http: accept: %s", uv_strerror(status));
        return;
    }
    http_conn_t *c = conn_new(s);
    uv_tcp_init(s->loop, &c->tcp);
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
        http__conn_close(c);
        return;
    }
    if (s->stopping || s->nconns > s->cfg.max_connections) {
        /* Accepting and closing at once tells the client at once, instead
         * of leaving it in the backlog. */
        log_warn("http: connection limit (%zu) reached; refusing", s->cfg.max_connections);
        http__conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((const struct sockaddr_in *)&ss, c->remote, sizeof c->remote);
        else if (ss.ss_family == AF_INET6)
            uv_ip6_name((const struct sockaddr_in6 *)&ss, c->remote, sizeof c->remote);
    }
    http__conn_after_io(c);
}

/* ---------------------------------------------------------------------
 * Server start and stop
 * ------------------------------------------------------------------- */

static void on_failed_listener_closed(uv_handle_t *h)
{
    server_free_mem(h->data);
}

int http_server_start(uv_loop_t *loop, const http_config_t *cfg, const http_handler_t *h,
                      http_server_t **out)
{
    if (!h || !h->on_request)
        return UV_EINVAL;
    const char *host = cfg->host ? cfg->host : "127.0.0.1";
    struct sockaddr_storage addr;
    if (uv_ip4_addr(host, cfg->port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(host, cfg->port, (struct sockaddr_in6 *)&addr) != 0)
        return UV_EINVAL;
    http_server_t *s = server_new(cfg, h);
    s->loop = loop;
    s->rbuf = xmalloc(HTTP__READ_BUF);
    int rc = uv_tcp_init(loop, &s->listener);
    if (rc < 0) {
        server_free_mem(s);
        return rc;
    }
    s->listener.data = s;
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    if (rc < 0) {
        uv_close((uv_handle_t *)&s->listener, on_failed_listener_closed);
        return rc;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len) == 0)
        s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    uv_timer_init(loop, &s->timer);
    uv_timer_init(loop, &s->grace);
    uv_idle_init(loop, &s->kick);
    s->timer.data = s->grace.data = s->kick.data = s;
    s->nopen = 4;
    *out = s;
    return 0;
}

int http_server_port(const http_server_t *s) { return s->port; }

size_t http_server_connections(const http_server_t *s) { return s->nconns; }

static void on_server_handle_closed(uv_handle_t *h)
{
    http_server_t *s = h->data;
    if (--s->nopen == 0 && s->finishing) {
        void (*done)(void *) = s->done;
        void *data = s->done_data;
        server_free_mem(s);
        if (done)
            done(data);
    }
}

static void maybe_finish(http_server_t *s)
{
    if (!s->stopping || s->finishing || s->nconns)
        return;
    s->finishing = true;
    uv_close((uv_handle_t *)&s->timer, on_server_handle_closed);
    uv_close((uv_handle_t *)&s->grace, on_server_handle_closed);
    uv_close((uv_handle_t *)&s->kick, on_server_handle_closed);
}

static void on_grace(uv_timer_t *t)
{
    http_server_t *s = container_of(t, http_server_t, grace);
    for (http_conn_t *c = s->conns; c; c = c->next)
        if (!c->closed) {
            log_info("http: stop grace period over; closing a busy connection");
            http__conn_close(c);
        }
}

void http_server_stop(http_server_t *s, uint64_t grace_ms, void (*done)(void *), void *data)
{
    if (!s || s->stopping || s->fake)
        return;
    s->stopping = true;
    s->done = done;
    s->done_data = data;
    uv_close((uv_handle_t *)&s->listener, on_server_handle_closed);
    for (http_conn_t *c = s->conns; c; c = c->next) {
        if (c->closed)
            continue;
        /* Idle: nothing in progress, or only a request whose headers are
         * still coming (no handler has seen it). */
        bool idle = !c->head || (c->head == c->cur && c->cur->pub._state == HTTP__PH_HEADERS);
        if (idle || c->lingering)
            http__conn_close(c);
        else
            /* In flight: the last response will say Connection: close;
             * after_io closes once the queue is empty. */
            http__conn_kick(c);
    }
    if (s->nconns)
        uv_timer_start(&s->grace, on_grace, grace_ms, 0);
    maybe_finish(s);
}

/* ---------------------------------------------------------------------
 * Request-level calls
 * ------------------------------------------------------------------- */

strv_t http_request_header(const http_request_t *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strv_caseeq_cstr(req->headers[i].name, name))
            return req->headers[i].value;
    return STRV_NULL;
}

void http_request_pause(http_request_t *req)
{
    http__req_t *r = (http__req_t *)req;
    http_conn_t *c = req->_conn;
    if (c->closed || r != c->cur || req->_state != HTTP__PH_BODY || r->head != HTTP__OUT_NONE)
        return;
    c->block |= HTTP__B_PAUSE;
    http__conn_schedule(c);
}

void http_request_resume(http_request_t *req)
{
    http_conn_t *c = req->_conn;
    if (c->closed || !(c->block & HTTP__B_PAUSE))
        return;
    c->block &= ~(unsigned)HTTP__B_PAUSE;
    /* Parse the kept input from the loop, not from the caller's stack: the
     * caller is a handler and would be re-entered with on_body. */
    if (!c->busy)
        http__conn_kick(c);
}

/* ---------------------------------------------------------------------
 * Fake connections: the parser glue without a socket, for the fuzzer
 * ------------------------------------------------------------------- */

http_server_t *http__server_create_fake(const http_config_t *cfg, const http_handler_t *h)
{
    http_server_t *s = server_new(cfg, h);
    s->fake = true;
    return s;
}

void http__server_free_fake(http_server_t *s)
{
    if (s)
        server_free_mem(s);
}

http_conn_t *http__conn_create_fake(http_server_t *s)
{
    http_conn_t *c = conn_new(s);
    c->fake = true;
    buf_init(&c->fake_out, 1 << 20);
    memcpy(c->remote, "127.0.0.1", sizeof "127.0.0.1");
    http__conn_after_io(c);
    return c;
}

void http__conn_settle(http_conn_t *c)
{
    /* Bounded: every round either completes a write or runs a kick. */
    for (int i = 0; i < 100000 && !c->closed; i++) {
        if (c->fake_write) {
            c->fake_write = false;
            c->writing = false;
            http__conn_write_done(c);
            http__conn_after_io(c);
        } else if (c->kicked) {
            kick_remove(c);
            http__conn_after_io(c);
        } else {
            break;
        }
    }
}

int http__parse_feed(http_conn_t *c, const char *p, size_t n)
{
    if (c->closed)
        return -1;
    c->busy++;
    http__conn_feed(c, p, n);
    c->busy--;
    http__conn_after_io(c);
    http__conn_settle(c);
    return c->closed ? -1 : 0;
}

int http__conn_timeout_kind(const http_conn_t *c) { return c->tkind; }

void http__conn_fire_timeout(http_conn_t *c)
{
    int k = c->tkind;
    if (c->closed || k == HTTP__T_NONE)
        return;
    tl_unlink(c);
    conn_timeout(c, k);
    http__conn_settle(c);
}

strv_t http__conn_output(const http_conn_t *c) { return buf_view(&c->fake_out); }

bool http__conn_closed(const http_conn_t *c) { return c->closed; }

void http__conn_destroy_fake(http_conn_t *c)
{
    if (!c)
        return;
    if (!c->closed)
        http__conn_close(c);
    conn_free(c);
}
