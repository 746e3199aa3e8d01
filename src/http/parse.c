/*
 * The llhttp glue: turns bytes into http_request_t objects and drives the
 * handler's on_headers / on_body / on_request.
 *
 * llhttp hands us the request line and headers in pieces that may be split
 * across reads, and pointing into a read buffer that is reused as soon as the
 * read callback returns. So pieces are appended to one per-connection
 * accumulator (whose capacity is kept across requests) and copied into the
 * request's arena in a single allocation when the headers are complete; the
 * views the handler gets point there.
 *
 * Flow control uses llhttp's pause: a callback returns HPE_PAUSED when the
 * connection is blocked (the handler paused a streamed body, too many
 * pipelined requests wait, the server is stopping); the unparsed rest of the
 * input is kept in c->pending and parsed when the block lifts.
 */
#include "http/internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

enum { HS_NONE = 0, HS_FIELD, HS_VALUE };

/* ---------------------------------------------------------------------
 * Request objects
 * ------------------------------------------------------------------- */

http__req_t *http__req_new(http_conn_t *c)
{
    http_server_t *s = c->server;
    http__req_t *r = s->pool;
    if (r) {
        s->pool = r->pool_next;
        s->npool--;
    } else {
        r = xmalloc(sizeof *r);
        buf_init(&r->out_head, HTTP__HEAD_MAX);
        buf_init(&r->pub.body, 0);
        buf_init(&r->out_body, SIZE_MAX);
    }
    /* Everything but the arena's inline block and the kept buffers is
     * reset; the arena is re-initialized, which is cheap. */
    http_request_t *req = &r->pub;
    arena_init(&req->arena);
    req->method = req->target = req->path = req->query = STRV_LIT("");
    req->headers = NULL;
    req->nheaders = 0;
    req->content_length = -1;
    req->chunked = false;
    req->keep_alive = false;
    buf_reset(&req->body);
    req->body.max = s->cfg.max_body_bytes;
    memcpy(req->remote_addr, c->remote, sizeof req->remote_addr);
    req->start_us = 0;
    req->user = NULL;
    req->_conn = c;
    req->_next = NULL;
    req->_state = HTTP__PH_HEADERS;
    req->_body_mode = HTTP_BODY_BUFFER;

    r->pool_next = NULL;
    r->status = 0;
    r->cont = r->head = r->term = HTTP__OUT_NONE;
    r->held = r->aborted = r->ended = r->streaming = r->chunked_out = false;
    r->close_after = r->is_head = r->no_body = r->expect = r->http10 = false;
    r->out_cl = -1;
    r->out_written = 0;
    buf_reset(&r->out_head);
    buf_reset(&r->out_body);
    r->out_body.max = SIZE_MAX;
    r->out_bodyv = STRV_NULL;
    r->pieces = NULL;
    r->pieces_tail = &r->pieces;

    if (c->tail)
        c->tail->pub._next = &r->pub;
    else
        c->head = r;
    c->tail = r;
    c->nreqs++;
    return r;
}

/* The memory a pooled request keeps. */
void http__req_release(http__req_t *r)
{
    buf_destroy(&r->out_head);
    buf_destroy(&r->pub.body);
    buf_destroy(&r->out_body);
    free(r);
}

void http__req_free(http_server_t *s, http__req_t *r)
{
    if (!r)
        return;
    http__piece_t *pc = r->pieces;
    while (pc) {
        http__piece_t *next = pc->next;
        free(pc);
        pc = next;
    }
    r->pieces = NULL;
    arena_destroy(&r->pub.arena);
    buf_recycle(&r->pub.body, HTTP__KEEP_BUF);
    buf_recycle(&r->out_body, HTTP__KEEP_BUF);
    /* A head buffer that grew for one huge response is not worth keeping. */
    if (r->out_head.cap > 8192)
        buf_destroy(&r->out_head);
    if (s->npool < HTTP__POOL_MAX) {
        r->pool_next = s->pool;
        s->pool = r;
        s->npool++;
    } else {
        http__req_release(r);
    }
}

/* ---------------------------------------------------------------------
 * Failing a request
 * ------------------------------------------------------------------- */

void http__stop_parsing(http_conn_t *c)
{
    c->dead = true;
    c->block &= ~(unsigned)HTTP__B_PAUSE;
    if (c->cur) {
        c->cur->pub._state = HTTP__PH_DONE;
        c->cur = NULL;
    }
    buf_reset(&c->pending);
    c->pending_off = 0;
}

void http__fail(http_conn_t *c, int status)
{
    if (c->dead || c->closed)
        return;
    http_server_t *s = c->server;
    http__req_t *r = c->cur;
    http__stop_parsing(c);
    if (!r) {
        /* Garbage between requests: the answer still takes its place in
         * the pipeline, after the responses already owed. */
        r = http__req_new(c);
        r->pub._state = HTTP__PH_DONE;
    }
    r->close_after = true;
    if (r->head != HTTP__OUT_NONE) {
        /* The handler already answered. If that answer is complete it goes
         * out and the connection closes after it; a streamed answer the
         * handler is still producing cannot be finished, so cut now. */
        if (!r->ended)
            http__conn_close(c);
        return;
    }
    if (r->held) {
        r->held = false;
        r->aborted = true;
        if (s->h.on_abort)
            s->h.on_abort(&r->pub, s->h.ctx);
        if (c->closed)
            return;
    }
    http__respond_error(r, status);
}

/* For llhttp callbacks: fail, and make llhttp stop (the -1 becomes an
 * llhttp error that the execute loop recognizes as already handled). */
static int fail_cb(http_conn_t *c, int status)
{
    http__fail(c, status);
    return -1;
}

/* ---------------------------------------------------------------------
 * llhttp callbacks
 * ------------------------------------------------------------------- */

static int on_message_begin(llhttp_t *p)
{
    http_conn_t *c = p->data;
    if (c->server->stopping) {
        /* Requests already in flight finish; a new one is not started. */
        c->block |= HTTP__B_STOP;
        return HPE_PAUSED;
    }
    http__req_t *r = http__req_new(c);
    c->cur = r;
    c->new_request = true;
    buf_reset(&c->acc);
    c->url_len = 0;
    c->nh = 0;
    c->hstate = HS_NONE;
    return 0;
}

/* Append a piece of the request line or a header; the total is what
 * max_header_bytes limits (plus 4 bytes per header for ": " and CRLF, so
 * a flood of empty headers counts too). */
static int acc_add(http_conn_t *c, const char *at, size_t n)
{
    if (buf_append(&c->acc, at, n) || c->acc.len + 4 * c->nh > c->server->cfg.max_header_bytes)
        return fail_cb(c, 431);
    return 0;
}

static bool in_headers(const http_conn_t *c)
{
    /* Header callbacks after the body are chunked trailers, which we drop. */
    return c->cur && c->cur->pub._state == HTTP__PH_HEADERS;
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    http_conn_t *c = p->data;
    if (!in_headers(c))
        return 0;
    if (c->url_len + n > c->server->cfg.max_url_bytes)
        return fail_cb(c, 414);
    c->url_len += n;
    return acc_add(c, at, n);
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    http_conn_t *c = p->data;
    if (!in_headers(c))
        return 0;
    if (c->hstate != HS_FIELD) {
        if (c->nh >= KYOKA_HTTP_MAX_HEADERS)
            return fail_cb(c, 431);
        c->hstart = c->acc.len;
        c->hstate = HS_FIELD;
    }
    return acc_add(c, at, n);
}

static int on_header_field_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    if (!in_headers(c))
        return 0;
    c->hlen[2 * c->nh] = (uint32_t)(c->acc.len - c->hstart);
    c->hstart = c->acc.len;
    c->hstate = HS_VALUE;
    return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    http_conn_t *c = p->data;
    if (!in_headers(c))
        return 0;
    return acc_add(c, at, n);
}

static int on_header_value_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    if (!in_headers(c))
        return 0;
    c->hlen[2 * c->nh + 1] = (uint32_t)(c->acc.len - c->hstart);
    c->nh++;
    c->hstate = HS_NONE;
    return 0;
}

/* Give the request its views: one arena copy of the accumulator. */
static void build_views(http_conn_t *c, http__req_t *r)
{
    http_request_t *req = &r->pub;
    size_t len = c->acc.len;
    char *base = arena_alloc(&req->arena, len + 1);
    memcpy(base, c->acc.data, len);
    base[len] = '\0';

    req->target = (strv_t){base, c->url_len};
    const char *q = memchr(base, '?', c->url_len);
    if (q) {
        req->path = (strv_t){base, (size_t)(q - base)};
        req->query = (strv_t){q + 1, (size_t)(base + c->url_len - q - 1)};
    } else {
        req->path = req->target;
        req->query = (strv_t){base + c->url_len, 0};
    }
    req->nheaders = c->nh;
    req->headers = c->nh ? arena_alloc(&req->arena, c->nh * sizeof *req->headers) : NULL;
    size_t off = c->url_len;
    for (size_t i = 0; i < c->nh; i++) {
        req->headers[i].name = (strv_t){base + off, c->hlen[2 * i]};
        off += c->hlen[2 * i];
        req->headers[i].value = (strv_t){base + off, c->hlen[2 * i + 1]};
        off += c->hlen[2 * i + 1];
    }
}

static int on_headers_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    http_server_t *s = c->server;
    http__req_t *r = c->cur;
    http_request_t *req = &r->pub;

    if (p->http_major != 1)
        return fail_cb(c, 505);
    build_views(c, r);
    req->method = strv_from(llhttp_method_name((llhttp_method_t)p->method));
    r->http10 = p->http_minor == 0;
    r->is_head = p->method == HTTP_HEAD;
    req->chunked = (p->flags & F_CHUNKED) != 0;
    bool has_cl = !req->chunked && (p->flags & F_CONTENT_LENGTH);
    if (has_cl && p->content_length > (uint64_t)INT64_MAX)
        return fail_cb(c, 413);
    req->content_length = has_cl ? (int64_t)p->content_length : -1;
    req->keep_alive = llhttp_should_keep_alive(p) != 0;
    req->start_us = kyoka_mono_us();
    strv_t ex = http_request_header(req, "expect");
    r->expect = strv_caseeq_cstr(ex, "100-continue");
    bool has_body = req->chunked || req->content_length > 0;
    req->_state = HTTP__PH_BODY;

    int mode = HTTP_BODY_BUFFER;
    if (s->h.on_headers) {
        r->held = true;
        mode = s->h.on_headers(req, s->h.ctx);
        if (c->closed || c->dead)
            return HPE_PAUSED;
    }
    if (r->head != HTTP__OUT_NONE) {
        mode = HTTP_BODY_RESPONDED;
    } else if (mode == HTTP_BODY_RESPONDED) {
        /* Claimed a response it did not make: answer for it, so the
         * client is not left waiting forever. */
        log_error("http: on_headers returned HTTP_BODY_RESPONDED without responding");
        r->held = false;
        http__respond_error(r, 500);
    } else if (mode != HTTP_BODY_STREAM || !s->h.on_body) {
        mode = HTTP_BODY_BUFFER;
    }
    req->_body_mode = mode;
    if (mode == HTTP_BODY_BUFFER && has_cl && p->content_length > s->cfg.max_body_bytes)
        return fail_cb(c, 413);
    /* One allocation for the whole body instead of a doubling chain. */
    if (mode == HTTP_BODY_BUFFER && has_cl && p->content_length > 0)
        (void)buf_reserve(&req->body, (size_t)p->content_length);
    /* RFC 9110 10.1.1: a server that will read the body sends 100 Continue;
     * one that answers without reading it must not. HTTP/1.0 clients do not
     * know 1xx responses. */
    if (mode != HTTP_BODY_RESPONDED && r->expect && has_body && !r->http10)
        r->cont = HTTP__OUT_READY;
    return c->block ? HPE_PAUSED : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    http_conn_t *c = p->data;
    http_server_t *s = c->server;
    http__req_t *r = c->cur;
    http_request_t *req = &r->pub;
    if (n == 0)
        return 0; /* llhttp reopens the body span on a resumed, empty execute */
    c->body_progress = true;
    if (r->head != HTTP__OUT_NONE || r->aborted)
        return 0; /* answered already: the rest of the body is dropped */
    if (req->_body_mode == HTTP_BODY_BUFFER) {
        if (buf_append(&req->body, at, n))
            return fail_cb(c, 413);
        return 0;
    }
    if (req->_body_mode != HTTP_BODY_STREAM)
        return 0;
    int rc = s->h.on_body(req, at, n, s->h.ctx);
    if (c->closed || c->dead)
        return HPE_PAUSED;
    if (rc != 0) {
        if (r->head == HTTP__OUT_NONE) {
            log_error("http: on_body refused the body without responding");
            r->held = false;
            http__respond_error(r, 500);
        }
        r->close_after = true;
        http__stop_parsing(c);
        return -1;
    }
    return c->block ? HPE_PAUSED : 0;
}

static int on_message_complete(llhttp_t *p)
{
    http_conn_t *c = p->data;
    http_server_t *s = c->server;
    http__req_t *r = c->cur;
    c->cur = NULL;
    r->pub._state = HTTP__PH_DONE;
    if (r->head == HTTP__OUT_NONE && !r->aborted) {
        r->held = true;
        s->h.on_request(&r->pub, s->h.ctx);
        if (c->closed || c->dead)
            return HPE_PAUSED;
    }
    if (!r->pub.keep_alive) {
        /* Connection: close (or HTTP/1.0): nothing after this request is
         * read; the connection closes after its response. */
        http__stop_parsing(c);
        return HPE_PAUSED;
    }
    if (c->nreqs >= s->cfg.max_pipelined)
        c->block |= HTTP__B_PIPE;
    return c->block ? HPE_PAUSED : 0;
}

void http__settings_init(llhttp_settings_t *st)
{
    llhttp_settings_init(st);
    st->on_message_begin = on_message_begin;
    st->on_url = on_url;
    st->on_header_field = on_header_field;
    st->on_header_field_complete = on_header_field_complete;
    st->on_header_value = on_header_value;
    st->on_header_value_complete = on_header_value_complete;
    st->on_headers_complete = on_headers_complete;
    st->on_body = on_body;
    st->on_message_complete = on_message_complete;
}

void http__conn_parse_init(http_conn_t *c)
{
    llhttp_init(&c->parser, HTTP_REQUEST, &c->server->settings);
    c->parser.data = c;
    buf_init(&c->acc, c->server->cfg.max_header_bytes);
    /* A read is at most HTTP__READ_BUF and reading stops while blocked, so
     * this much kept input is plenty; more means a bug or a fake feed. */
    buf_init(&c->pending, 4 * HTTP__READ_BUF);
}

/* ---------------------------------------------------------------------
 * Running the parser
 * ------------------------------------------------------------------- */

/* Run llhttp over p[0..n). Returns how much was consumed: all of it unless
 * parsing became blocked, in which case the rest is the caller's to keep.
 * After a pause llhttp runs once even with no input: a pause right at the
 * end of a body leaves on_message_complete still to be called. */
static size_t execute(http_conn_t *c, const char *p, size_t n)
{
    size_t off = 0;
    for (;;) {
        if (c->closed || c->dead)
            return n;
        if (c->block)
            return off;
        if (off == n && !c->llpaused)
            return n;
        if (c->llpaused) {
            llhttp_resume(&c->parser);
            c->llpaused = false;
        }
        llhttp_errno_t e = llhttp_execute(&c->parser, p + off, n - off);
        if (e == HPE_OK)
            return n;
        if (e == HPE_PAUSED || e == HPE_PAUSED_UPGRADE) {
            const char *pos = llhttp_get_error_pos(&c->parser);
            if (pos >= p + off && pos <= p + n)
                off = (size_t)(pos - p);
            if (e == HPE_PAUSED_UPGRADE)
                /* We speak no other protocol: the upgrade request was
                 * answered as plain HTTP, so go on parsing HTTP. */
                llhttp_resume_after_upgrade(&c->parser);
            else
                c->llpaused = true;
            continue;
        }
        if (!c->dead && !c->closed) {
            log_debug("http: parse error %s: %s", llhttp_errno_name(e),
                      llhttp_get_error_reason(&c->parser));
            http__fail(c, 400);
        }
        return n;
    }
}

static void pending_compact(http_conn_t *c)
{
    if (c->pending_off < c->pending.len)
        return;
    /* All kept bytes are parsed: keep the buffer only if it is small. */
    if (c->pending.cap > 2 * HTTP__READ_BUF)
        buf_destroy(&c->pending);
    else
        buf_reset(&c->pending);
    c->pending_off = 0;
}

void http__conn_drain(http_conn_t *c)
{
    while (!c->block && !c->closed && !c->dead && http__conn_has_input(c)) {
        size_t before = c->pending_off;
        bool was_paused = c->llpaused;
        size_t used = execute(c, c->pending.data + c->pending_off, c->pending.len - c->pending_off);
        if (c->dead || c->closed) {
            c->pending_off = c->pending.len;
            break;
        }
        c->pending_off += used;
        if (c->pending_off == before && was_paused == c->llpaused)
            break; /* no progress: blocked */
    }
    pending_compact(c);
}

void http__conn_feed(http_conn_t *c, const char *p, size_t n)
{
    if (c->dead || c->closed || n == 0)
        return;
    if (c->block || c->pending_off < c->pending.len) {
        /* Order matters: older kept bytes are parsed first. */
        if (c->pending_off > 0 && c->pending_off >= c->pending.len / 2) {
            size_t left = c->pending.len - c->pending_off;
            memmove(c->pending.data, c->pending.data + c->pending_off, left);
            c->pending.len = left;
            c->pending.data[left] = '\0';
            c->pending_off = 0;
        }
        if (buf_append(&c->pending, p, n)) {
            log_warn("http: too much unparsed input kept; closing");
            http__conn_close(c);
            return;
        }
        http__conn_drain(c);
        return;
    }
    size_t used = execute(c, p, n);
    if (used < n && !c->dead && !c->closed) {
        buf_reset(&c->pending);
        c->pending_off = 0;
        if (buf_append(&c->pending, p + used, n - used)) {
            http__conn_close(c);
            return;
        }
    }
}
