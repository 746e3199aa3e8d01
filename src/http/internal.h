/*
 * http internals shared by the files of this component (never included from
 * outside src/http, except by the fuzz target and unit tests).
 *
 * Layout of the component:
 *   server.c    listener, accept, connection lifecycle (read, close, linger),
 *               the shared timeout lists, the kick list, graceful stop, and
 *               the socket-less "fake" connections the fuzzer drives.
 *   parse.c     the llhttp glue: request objects and their pool, header
 *               accumulation, body modes, limits, parse errors.
 *   response.c  building response heads, the ordered output queue, the one
 *               uv_write per flush, write completion, status texts.
 *
 * A connection owns a FIFO of requests (pipeline order). The tail may be the
 * request being parsed (c->cur). A request leaves the FIFO only once it is
 * fully parsed and its response fully written, which is what keeps responses
 * in request order whatever order handlers answer in.
 */
#ifndef KYOKA_HTTP_INTERNAL_H
#define KYOKA_HTTP_INTERNAL_H

#include "http/http.h"

#include "core/limits.h"

#include <llhttp.h>

/* Bytes read per read callback into the server's one shared read buffer. */
#define HTTP__READ_BUF (64 * 1024)
/* uv_buf_t slots per uv_write; a flush that needs more goes out in turns. */
#define HTTP__MAX_WRITE_BUFS 64
/* After the last response of a closing connection we send FIN and keep
 * reading (and dropping) for this long, so the peer's unread request bytes do
 * not make our close an RST that destroys the response in flight. */
#define HTTP__LINGER_MS 2000
/* A request body this small that the handler no longer wants (it responded
 * early) is read and dropped to keep the connection; larger ones close it. */
#define HTTP__DISCARD_MAX (64 * 1024)
/* Request objects kept for reuse, so steady traffic does not malloc. */
#define HTTP__POOL_MAX 256
/* Request and response body buffers up to this size stay with a pooled
 * request for the next one; 256 pooled requests keep at most 8 MiB. */
#define HTTP__KEEP_BUF (16 * 1024)
/* Cap on one response head (status line + handler headers). */
#define HTTP__HEAD_MAX (256 * 1024)

/* Timeout kinds: each has one fixed duration, so each list is ordered by
 * deadline simply by appending (see server.c). */
enum {
    HTTP__T_NONE = 0,
    HTTP__T_HEADER, /* first byte of a request until its headers are in */
    HTTP__T_BODY,   /* no body byte for body_timeout_ms */
    HTTP__T_IDLE,   /* keep-alive connection with nothing in progress */
    HTTP__T_SEND,   /* a write makes no progress (idle_timeout_ms) */
    HTTP__T_LINGER, /* waiting for the peer's FIN after our last response */
    HTTP__T_COUNT
};

/* Request parse phases (http_request_t._state). */
enum { HTTP__PH_HEADERS = 0, HTTP__PH_BODY, HTTP__PH_DONE };

/* Output item states: the 100-continue line, the response head, the chunked
 * terminator. Pieces of streamed responses use READY/INFLIGHT. */
enum { HTTP__OUT_NONE = 0, HTTP__OUT_READY, HTTP__OUT_INFLIGHT, HTTP__OUT_SENT };

/* Reasons parsing is held (http_conn_t.block). While any is set we neither
 * read from the socket nor run llhttp. */
enum {
    HTTP__B_PAUSE = 1, /* the handler paused a streamed body */
    HTTP__B_PIPE = 2,  /* max_pipelined requests are waiting */
    HTTP__B_STOP = 4   /* the server is stopping: no new requests */
};

typedef struct http__piece http__piece_t;
struct http__piece {
    http__piece_t *next;
    const char *p; /* the bytes: lent by the handler, or copy[] */
    size_t n;
    void (*done)(http_request_t *, void *);
    void *data;
    int state;            /* HTTP__OUT_READY or HTTP__OUT_INFLIGHT */
    uint8_t chunk_len;    /* bytes in chunk[]; 0 when not chunked */
    char chunk[24];       /* "<hex>\r\n" */
    _Alignas(16) char copy[]; /* the copied bytes when the caller did not lend them */
};

/* The server's private view of a request; handlers see only pub. */
typedef struct http__req http__req_t;
struct http__req {
    http_request_t pub; /* first, so a request pointer converts back */
    http__req_t *pool_next;
    int status;
    uint8_t cont;       /* 100-continue line: HTTP__OUT_* */
    uint8_t head;       /* response head: HTTP__OUT_* */
    uint8_t term;       /* chunked terminator "0\r\n\r\n": HTTP__OUT_* */
    bool held;          /* the handler has it and has not finished responding */
    bool aborted;       /* taken away from the handler; its calls are ignored */
    bool ended;         /* the handler's response is complete */
    bool streaming;     /* response via http_respond_start */
    bool chunked_out;   /* streamed response uses chunked framing */
    bool close_after;   /* close the connection once this response is written */
    bool is_head;       /* HEAD: no response body */
    bool no_body;       /* status has no body (1xx, 204, 304) */
    bool expect;        /* Expect: 100-continue */
    bool http10;
    int64_t out_cl;       /* declared length of a streamed response; -1 chunked */
    uint64_t out_written; /* body bytes given to http_respond_write */
    buf_t out_head;       /* status line and headers; capacity kept across reuse */
    buf_t out_body;       /* body taken from http_respond */
    strv_t out_bodyv;     /* what is sent of the simple body */
    http__piece_t *pieces; /* streamed pieces not yet written, in order */
    http__piece_t **pieces_tail;
};

struct http_conn {
    uv_tcp_t tcp;
    uv_write_t wreq;      /* at most one write in flight per connection */
    uv_shutdown_t sreq;
    http_server_t *server;
    http_conn_t *prev, *next;     /* the server's list of connections */
    http_conn_t *t_prev, *t_next; /* the timeout list of kind tkind */
    uint64_t deadline;            /* loop ms */
    int tkind;
    http_conn_t *kick_next;
    bool kicked;

    llhttp_t parser;
    bool llpaused;               /* llhttp returned HPE_PAUSED; resume first */
    http__req_t *head, *tail;    /* pipeline FIFO */
    size_t nreqs;
    http__req_t *cur;            /* request being parsed, or NULL */

    /* Header accumulation for c->cur: url, then name/value pairs, packed in
     * acc; lengths in hlen. Copied into the request arena at headers end. */
    buf_t acc;
    size_t url_len;
    size_t hstart;
    size_t nh;
    int hstate;
    uint32_t hlen[KYOKA_HTTP_MAX_HEADERS * 2];

    /* Bytes read but not parsed while parsing was blocked. */
    buf_t pending;
    size_t pending_off;

    unsigned block;      /* HTTP__B_* */
    int busy;            /* > 0 while our code is on the stack for this conn */
    bool closed;         /* uv_close started; freed in its callback */
    bool reading;
    bool writing;
    bool want_flush;
    bool dead;           /* no more requests will be parsed */
    bool lingering;
    bool eof;
    bool close_now;      /* close at the next opportunity (write failure) */
    bool new_request;    /* a request began since the timer was set */
    bool body_progress;  /* body bytes arrived since the timer was set */
    bool write_progress; /* a write completed since the timer was set */
    bool fake;           /* no socket: the fuzzer drives it */
    bool fake_write;     /* a fake write awaits completion */
    char remote[64];
    uv_buf_t bufs[HTTP__MAX_WRITE_BUFS];
    buf_t fake_out;      /* everything a fake connection "wrote" */
};

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t timer;  /* fires at the earliest connection deadline */
    uv_timer_t grace;  /* force-close point of a graceful stop */
    uv_idle_t kick;    /* resumes connections outside handler callbacks */
    http_config_t cfg;
    http_handler_t h;
    llhttp_settings_t settings;
    http_conn_t *conns;
    size_t nconns;
    struct {
        http_conn_t *head, *tail;
        uint64_t ms;
    } tl[HTTP__T_COUNT];
    bool timer_armed;
    uint64_t timer_due;
    http_conn_t *kick_head;
    http__req_t *pool;
    size_t npool;
    char *rbuf;        /* the one read buffer: parsing copies what it keeps */
    int port;
    int nopen;         /* server-owned handles not yet closed */
    bool fake;
    bool stopping;
    bool finishing;
    void (*done)(void *);
    void *done_data;
    int64_t date_s;
    size_t date_len;
    char date[64];     /* "Date: ...\r\n", refreshed once a second */
};

/* ---- parse.c ---- */
void http__settings_init(llhttp_settings_t *st);
/* Start parsing state for a new connection. */
void http__conn_parse_init(http_conn_t *c);
/* Bytes from the socket (or the fuzzer): parse now, or keep them in
 * c->pending while parsing is blocked. Call with c->busy raised. */
void http__conn_feed(http_conn_t *c, const char *p, size_t n);
/* Parse kept bytes while nothing blocks. Call with c->busy raised. */
void http__conn_drain(http_conn_t *c);
/* Input not yet run through llhttp (kept bytes, or a pause to finish). */
static inline bool http__conn_has_input(const http_conn_t *c)
{
    return c->pending_off < c->pending.len || c->llpaused;
}
/* Give up on the request being parsed: answer status (400, 408, 413, 414,
 * 431, 505), parse nothing more, close after the answer. */
void http__fail(http_conn_t *c, int status);
/* No more requests on this connection: the request being parsed counts as
 * fully parsed and later bytes are dropped. */
void http__stop_parsing(http_conn_t *c);
/* A request object (from the pool) appended to c's FIFO. */
http__req_t *http__req_new(http_conn_t *c);
/* Back to the pool; the request must be off the FIFO. */
void http__req_free(http_server_t *s, http__req_t *r);
void http__req_release(http__req_t *r);

/* ---- response.c ---- */
/* Queue the server's own error answer (plain-text body) on r. */
void http__respond_error(http__req_t *r, int status);
/* Write what is ready, in request order, with one uv_write. */
void http__conn_flush(http_conn_t *c);
/* The write in flight completed: release what it carried. */
void http__conn_write_done(http_conn_t *c);
/* Done callbacks of unwritten pieces, then on_abort for held requests.
 * Called once, when the connection closes. */
void http__conn_abort_requests(http_conn_t *c);
/* r's response is complete and written. */
bool http__req_written(const http__req_t *r);
/* Re-format s->date if the second changed. */
void http__date_refresh(http_server_t *s);

/* ---- server.c ---- */
void http__conn_close(http_conn_t *c);
/* Post-event bookkeeping from a top-level callback: reap written
 * requests, parse kept bytes, flush, close, reading and timers. */
void http__conn_after_io(http_conn_t *c);
/* Called from API entry points a handler uses: flushes now (never calls
 * back into the handler) and defers anything that would. */
void http__conn_schedule(http_conn_t *c);
/* Run c through after_io from the loop soon (never from the caller's stack). */
void http__conn_kick(http_conn_t *c);

/* ---- fake connections (fuzzing, tests): no loop, no socket ----
 * A fake server has no listener and no timers; a fake connection's writes
 * go to a buffer and complete when settled. */
http_server_t *http__server_create_fake(const http_config_t *cfg, const http_handler_t *h);
/* Frees a fake server; its fake connections must be destroyed first. */
void http__server_free_fake(http_server_t *s);
http_conn_t *http__conn_create_fake(http_server_t *s);
/* Feed bytes as if read from the socket, then settle. Returns 0, or -1 once
 * the connection is closed (further feeds are ignored). */
int http__parse_feed(http_conn_t *c, const char *p, size_t n);
/* Complete fake writes and run deferred work until nothing changes. Call
 * after responding or resuming from outside callbacks. */
void http__conn_settle(http_conn_t *c);
/* The timeout kind currently armed (HTTP__T_*), and firing it as if it
 * expired. */
int http__conn_timeout_kind(const http_conn_t *c);
void http__conn_fire_timeout(http_conn_t *c);
/* Everything written so far (capped at 1 MiB). */
strv_t http__conn_output(const http_conn_t *c);
bool http__conn_closed(const http_conn_t *c);
/* Close (with aborts) if still open, then free. */
void http__conn_destroy_fake(http_conn_t *c);

#endif
