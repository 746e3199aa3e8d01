/*
 * Responses: building heads, the ordered output queue, and writing it.
 *
 * Each request carries its own output: an optional "100 Continue" line, the
 * response head (plus the whole body for http_respond), streamed pieces, and
 * the chunked terminator. A flush walks the connection's request FIFO from
 * the front and gathers whatever is ready into one uv_write of many
 * uv_buf_t, stopping at the first request whose response is not complete:
 * that is the whole of pipelining order. A response produced out of order
 * simply waits in its request until everything before it has gone out.
 *
 * One write is in flight per connection; output produced meanwhile is
 * gathered by the next flush when the write completes, which also batches
 * pipelined responses into few syscalls.
 *
 * The head is finished (Connection header and the blank line) only when it
 * is about to be written, because whether the connection stays open may be
 * decided late: a request body that arrived in the meantime, or a server
 * stop, changes the answer.
 */
#include "http/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/banned.h"

static const char CONTINUE_LINE[] = "HTTP/1.1 100 Continue\r\n\r\n";
static const char CHUNK_TERM[] = "0\r\n\r\n";
static const char CRLF[] = "\r\n";

const char *http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* ---------------------------------------------------------------------
 * Heads
 * ------------------------------------------------------------------- */

/* The Date line (RFC 9110 6.6.1, IMF-fixdate) from real time, not the
 * server clock: SDKs correct their signing clock from Date (the JavaScript
 * SDK v3 on every response), and the SigV4 skew window is real time, so a
 * Date moved ahead with the server clock would make every later request
 * "not yet current". Formatted once a second;
 * names are spelled out rather than taken from strftime so a locale can
 * never change them. */
void http__date_refresh(http_server_t *s)
{
    static const char wday[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int64_t now = kyoka_wall_ms() / 1000;
    if (now == s->date_s && s->date_len)
        return;
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(s->date, sizeof s->date, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
                     wday[tm.tm_wday % 7], tm.tm_mday, mon[tm.tm_mon % 12], tm.tm_year + 1900,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
    s->date_len = n > 0 && (size_t)n < sizeof s->date ? (size_t)n : 0;
    s->date_s = now;
}

static size_t fmt_u64(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* A header that would let a value smuggle in its own header lines. */
static bool header_unsafe(strv_t v)
{
    for (size_t i = 0; i < v.len; i++) {
        char ch = v.p[i];
        if (ch == '\r' || ch == '\n' || ch == '\0')
            return true;
    }
    return false;
}

/* Framing is the server's: a handler's own Content-Length, Transfer-Encoding
 * or Connection would contradict what we send. */
static bool header_framing(strv_t name)
{
    return strv_caseeq_cstr(name, "content-length") ||
           strv_caseeq_cstr(name, "transfer-encoding") || strv_caseeq_cstr(name, "connection");
}

static void head_status_line(buf_t *b, int status)
{
    char line[16] = "HTTP/1.1 ";
    size_t n = 9;
    n += fmt_u64(line + n, (uint64_t)status);
    line[n++] = ' ';
    buf_append(b, line, n);
    buf_appends(b, http_status_text(status));
    buf_append(b, CRLF, 2);
}

/* Everything of the head but the Connection header and the blank line.
 * cl < 0 and !chunked: no framing header (no-body statuses). */
static void head_build(http__req_t *r, int status, const http_header_t *h, size_t nh, int64_t cl,
                       bool chunked)
{
    http_server_t *s = r->pub._conn->server;
    buf_t *b = &r->out_head;
    buf_reset(b);
    head_status_line(b, status);
    bool has_date = false;
    strv_t head_cl = STRV_NULL;
    for (size_t i = 0; i < nh; i++) {
        if (!h[i].name.len || header_unsafe(h[i].name) || header_unsafe(h[i].value)) {
            log_warn("http: response header with CR, LF or NUL dropped");
            continue;
        }
        if (header_framing(h[i].name)) {
            if (strv_caseeq_cstr(h[i].name, "content-length"))
                head_cl = h[i].value;
            continue;
        }
        if (strv_caseeq_cstr(h[i].name, "date"))
            has_date = true;
        buf_append(b, h[i].name.p, h[i].name.len);
        buf_append(b, ": ", 2);
        buf_append(b, h[i].value.p, h[i].value.len);
        buf_append(b, CRLF, 2);
    }
    if (!has_date) {
        http__date_refresh(s);
        buf_append(b, s->date, s->date_len);
    }
    if (chunked) {
        buf_appends(b, "Transfer-Encoding: chunked\r\n");
    } else if (r->is_head && cl == 0 && head_cl.len) {
        /* A HEAD answer without a body may state the length the GET would
         * have (S3 HeadObject does); only then is the handler's own
         * Content-Length used. */
        buf_appends(b, "Content-Length: ");
        buf_append(b, head_cl.p, head_cl.len);
        buf_append(b, CRLF, 2);
    } else if (cl >= 0) {
        char num[24];
        buf_appends(b, "Content-Length: ");
        buf_append(b, num, fmt_u64(num, (uint64_t)cl));
        buf_append(b, CRLF, 2);
    }
    /* Leave room for the Connection line added at flush time. */
    if (buf_err(b) || b->len > HTTP__HEAD_MAX - 64) {
        log_error("http: response head over %d bytes; answering 500", HTTP__HEAD_MAX);
        buf_reset(b);
        head_status_line(b, 500);
        buf_append(b, s->date, s->date_len);
        buf_appends(b, "Content-Length: 0\r\n");
        status = 500;
        r->close_after = true;
        r->out_bodyv = STRV_NULL;
        r->out_cl = 0;
        r->no_body = true;
    }
    r->status = status;
}

static bool status_has_no_body(int status)
{
    return status < 200 || status == 204 || status == 304;
}

/* Decide whether the connection closes after r, and finish its head. */
static void head_finish(http_conn_t *c, http__req_t *r)
{
    http_server_t *s = c->server;
    bool close = r->close_after || !r->pub.keep_alive;
    if (r->pub._state != HTTP__PH_DONE) {
        /* Answered before the body arrived. A small body of known length is
         * read and dropped so the connection lives on; anything else (a big
         * or unknown-length body, or a client waiting on 100-continue that
         * may never send it) would have to be read for nothing: close. */
        int64_t cl = r->pub.content_length;
        if (r->expect || cl < 0 || cl > HTTP__DISCARD_MAX)
            close = true;
    }
    if (s->stopping && !r->pub._next && r->pub._state == HTTP__PH_DONE)
        close = true; /* the last response before a graceful stop */
    buf_t *b = &r->out_head;
    if (close) {
        r->close_after = true;
        buf_appends(b, "Connection: close\r\n");
        /* Nothing after this response will be answered; stop reading
         * requests now rather than parse ones we would drop. */
        http__stop_parsing(c);
    } else if (r->http10) {
        buf_appends(b, "Connection: keep-alive\r\n");
    }
    buf_append(b, CRLF, 2);
}

/* ---------------------------------------------------------------------
 * Responding
 * ------------------------------------------------------------------- */

/* A final answer is chosen for r. If its body is still arriving the handler
 * no longer wants it, so a pause it set must not stall the connection. */
static void response_ready(http_conn_t *c, http__req_t *r)
{
    if (r == c->cur)
        c->block &= ~(unsigned)HTTP__B_PAUSE;
    http__conn_schedule(c);
}

static void respond_simple(http__req_t *r, int status, const http_header_t *h, size_t nh,
                           const char *body, size_t len)
{
    if (status < 100 || status > 999)
        status = 500;
    r->no_body = status_has_no_body(status);
    r->out_bodyv = (r->no_body || r->is_head) ? STRV_NULL : (strv_t){body, len};
    head_build(r, status, h, nh, r->no_body ? -1 : (int64_t)len, false);
    r->head = HTTP__OUT_READY;
    r->ended = true;
    r->held = false;
    response_ready(r->pub._conn, r);
}

void http_response_buffer(http_request_t *req, buf_t *out, size_t max)
{
    http__req_t *r = (http__req_t *)req;
    *out = r->out_body;
    buf_init(&r->out_body, SIZE_MAX);
    buf_reset(out);
    out->max = max;
}

void http_respond(http_request_t *req, int status, const http_header_t *headers, size_t nheaders,
                  buf_t *body)
{
    http__req_t *r = (http__req_t *)req;
    http_conn_t *c = req->_conn;
    if (r->aborted || c->closed || r->head != HTTP__OUT_NONE) {
        if (r->head != HTTP__OUT_NONE && !r->aborted && !c->closed)
            log_error("http: second response to one request ignored");
        if (body)
            buf_destroy(body);
        return;
    }
    if (body) {
        buf_destroy(&r->out_body);
        r->out_body = *body;
        buf_init(body, body->max);
    }
    respond_simple(r, status, headers, nheaders, r->out_body.data, r->out_body.len);
}

void http__respond_error(http__req_t *r, int status)
{
    static const http_header_t hdrs[] = {{STRV_LIT("Content-Type"), STRV_LIT("text/plain")}};
    r->close_after = true;
    /* A small plain body: the status text on a line. */
    const char *text = http_status_text(status);
    buf_reset(&r->out_body);
    if (buf_appends(&r->out_body, text) == 0)
        buf_append(&r->out_body, "\n", 1);
    respond_simple(r, status, hdrs, KYOKA_ARRAY_LEN(hdrs), r->out_body.data, r->out_body.len);
}

void http_respond_start(http_request_t *req, int status, const http_header_t *headers,
                        size_t nheaders, int64_t content_length)
{
    http__req_t *r = (http__req_t *)req;
    http_conn_t *c = req->_conn;
    if (r->aborted || c->closed || r->head != HTTP__OUT_NONE)
        return;
    if (status < 100 || status > 999)
        status = 500;
    r->streaming = true;
    r->no_body = status_has_no_body(status);
    bool chunked = content_length < 0 && !r->no_body;
    if (chunked && r->http10) {
        /* HTTP/1.0 has no chunked coding: the body ends where the
         * connection does. */
        chunked = false;
        r->close_after = true;
    }
    r->chunked_out = chunked && !r->is_head;
    r->out_cl = r->no_body ? 0 : (content_length < 0 ? -1 : content_length);
    head_build(r, status, headers, nheaders, r->no_body ? -1 : content_length, chunked);
    r->head = HTTP__OUT_READY;
    response_ready(c, r);
}

void http_respond_write(http_request_t *req, const void *p, size_t n,
                        void (*done)(http_request_t *, void *), void *data)
{
    http__req_t *r = (http__req_t *)req;
    http_conn_t *c = req->_conn;
    if (r->aborted || c->closed || !r->streaming || r->ended)
        return;
    if (r->is_head || r->no_body) {
        n = 0;
    } else if (r->out_cl >= 0 && n > (uint64_t)r->out_cl - r->out_written) {
        log_error("http: streamed response longer than its Content-Length; truncated");
        n = (size_t)((uint64_t)r->out_cl - r->out_written);
        r->close_after = true;
    }
    r->out_written += n;
    if (n == 0 && !done)
        return;
    http__piece_t *pc = xmalloc(sizeof *pc + (done ? 0 : n));
    pc->next = NULL;
    pc->n = n;
    pc->done = done;
    pc->data = data;
    pc->state = HTTP__OUT_READY;
    if (done) {
        pc->p = p;
    } else {
        if (n)
            memcpy(pc->copy, p, n);
        pc->p = pc->copy;
    }
    pc->chunk_len = 0;
    if (r->chunked_out && n) {
        int len = snprintf(pc->chunk, sizeof pc->chunk, "%zx\r\n", n);
        pc->chunk_len = (uint8_t)len;
    }
    *r->pieces_tail = pc;
    r->pieces_tail = &pc->next;
    http__conn_schedule(c);
}

void http_respond_end(http_request_t *req)
{
    http__req_t *r = (http__req_t *)req;
    http_conn_t *c = req->_conn;
    if (r->aborted || c->closed || !r->streaming || r->ended)
        return;
    if (!r->is_head && r->out_cl >= 0 && r->out_written != (uint64_t)r->out_cl) {
        /* The client will see the body cut short; the connection cannot
         * carry another response after a broken frame. */
        log_error("http: streamed response shorter than its Content-Length");
        r->close_after = true;
    }
    if (r->chunked_out)
        r->term = HTTP__OUT_READY;
    r->ended = true;
    r->held = false;
    response_ready(c, r);
}

/* ---------------------------------------------------------------------
 * Writing
 * ------------------------------------------------------------------- */

bool http__req_written(const http__req_t *r)
{
    return r->ended && r->head == HTTP__OUT_SENT && !r->pieces &&
           (r->term == HTTP__OUT_NONE || r->term == HTTP__OUT_SENT) &&
           r->cont != HTTP__OUT_READY && r->cont != HTTP__OUT_INFLIGHT;
}

static void on_write(uv_write_t *w, int status)
{
    http_conn_t *c = container_of(w, http_conn_t, wreq);
    c->writing = false;
    if (c->closed)
        return;
    if (status < 0) {
        http__conn_close(c);
        return;
    }
    http__conn_write_done(c);
    http__conn_after_io(c);
}

void http__conn_flush(http_conn_t *c)
{
    if (c->closed || c->writing)
        return;
    uv_buf_t *b = c->bufs;
    size_t n = 0;
    bool marked = false;
    for (http__req_t *r = c->head; r; r = (http__req_t *)r->pub._next) {
        if (n + 4 > HTTP__MAX_WRITE_BUFS)
            break;
        if (r->cont == HTTP__OUT_READY) {
            /* Once the final answer exists or the body is in, the client
             * needs no invitation. */
            if (r->head != HTTP__OUT_NONE || r->pub._state == HTTP__PH_DONE) {
                r->cont = HTTP__OUT_NONE;
            } else {
                b[n++] = uv_buf_init((char *)CONTINUE_LINE, sizeof CONTINUE_LINE - 1);
                r->cont = HTTP__OUT_INFLIGHT;
            }
        }
        if (r->head == HTTP__OUT_NONE)
            break;
        if (r->head == HTTP__OUT_READY) {
            head_finish(c, r);
            b[n++] = uv_buf_init(r->out_head.data, (unsigned)r->out_head.len);
            if (r->out_bodyv.len)
                b[n++] = uv_buf_init((char *)r->out_bodyv.p, (unsigned)r->out_bodyv.len);
            r->head = HTTP__OUT_INFLIGHT;
            marked = true;
        }
        http__piece_t *pc = r->pieces;
        for (; pc; pc = pc->next) {
            if (pc->state != HTTP__OUT_READY)
                continue;
            if (n + 3 > HTTP__MAX_WRITE_BUFS)
                break;
            if (pc->chunk_len)
                b[n++] = uv_buf_init(pc->chunk, pc->chunk_len);
            if (pc->n)
                b[n++] = uv_buf_init((char *)pc->p, (unsigned)pc->n);
            if (pc->chunk_len)
                b[n++] = uv_buf_init((char *)CRLF, 2);
            pc->state = HTTP__OUT_INFLIGHT;
            marked = true;
        }
        if (pc || !r->ended)
            break; /* out of slots, or more of this response is to come */
        if (r->term == HTTP__OUT_READY) {
            if (n + 1 > HTTP__MAX_WRITE_BUFS)
                break;
            b[n++] = uv_buf_init((char *)CHUNK_TERM, sizeof CHUNK_TERM - 1);
            r->term = HTTP__OUT_INFLIGHT;
        }
        if (r->close_after)
            break; /* nothing after a closing response goes out */
    }
    if (n == 0 && !marked)
        return;
    if (n == 0)
        /* Only empty pieces (HEAD) are due: their done callbacks still wait
         * for a write completion, so make an empty one. */
        b[n++] = uv_buf_init((char *)CRLF, 0);
    c->writing = true;
    if (c->fake) {
        for (size_t i = 0; i < n; i++)
            (void)buf_append(&c->fake_out, b[i].base, b[i].len);
        c->fake_write = true;
        return;
    }
    int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, b, (unsigned)n, on_write);
    if (rc < 0) {
        /* Closing here could call the handler back from inside its own
         * http_respond; let the loop do it. */
        c->writing = false;
        c->close_now = true;
        http__conn_kick(c);
    }
}

void http__conn_write_done(http_conn_t *c)
{
    c->write_progress = true;
    c->busy++;
    for (http__req_t *r = c->head; r && !c->closed; r = (http__req_t *)r->pub._next) {
        if (r->cont == HTTP__OUT_INFLIGHT)
            r->cont = HTTP__OUT_SENT;
        if (r->head == HTTP__OUT_INFLIGHT)
            r->head = HTTP__OUT_SENT;
        /* Pieces in flight are always a prefix of the list. */
        while (r->pieces && r->pieces->state == HTTP__OUT_INFLIGHT) {
            http__piece_t *pc = r->pieces;
            r->pieces = pc->next;
            if (!r->pieces)
                r->pieces_tail = &r->pieces;
            void (*done)(http_request_t *, void *) = pc->done;
            void *data = pc->data;
            free(pc);
            if (done)
                done(&r->pub, data);
            if (c->closed)
                break;
        }
        if (r->term == HTTP__OUT_INFLIGHT)
            r->term = HTTP__OUT_SENT;
        if (!http__req_written(r))
            break;
    }
    c->busy--;
}

void http__conn_abort_requests(http_conn_t *c)
{
    http_server_t *s = c->server;
    c->busy++;
    /* Mark first, so anything the callbacks below try on these requests
     * is ignored. */
    for (http__req_t *r = c->head; r; r = (http__req_t *)r->pub._next)
        if (r->held)
            r->aborted = true;
    /* Lent buffers go back before on_abort, whose handler forgets req. */
    for (http__req_t *r = c->head; r; r = (http__req_t *)r->pub._next) {
        for (http__piece_t *pc = r->pieces; pc; pc = pc->next) {
            void (*done)(http_request_t *, void *) = pc->done;
            pc->done = NULL;
            if (done)
                done(&r->pub, pc->data);
        }
    }
    for (http__req_t *r = c->head; r; r = (http__req_t *)r->pub._next) {
        if (r->aborted && r->held) {
            r->held = false;
            if (s->h.on_abort)
                s->h.on_abort(&r->pub, s->h.ctx);
        }
    }
    c->busy--;
}
