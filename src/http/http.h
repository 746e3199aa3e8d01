/*
 * http: the HTTP/1.1 server kyoka speaks on its one port, built on libuv and
 * llhttp.
 *
 * Keep-alive, pipelining (responses go out in request order), chunked request
 * bodies, Expect: 100-continue, header/URL/body limits with the right status
 * codes, a header-read timeout, a body timeout and an idle timeout, and a
 * graceful stop. Bodies are either buffered whole (up to a cap) and handed
 * over with the request, or streamed to the handler chunk by chunk so large
 * uploads never sit in memory.
 *
 * Ownership: the server owns every http_request_t. A handler keeps a request
 * until it calls http_respond() (or the streaming trio); if the client goes
 * away first, the server calls on_abort and the handler must forget the
 * request before returning from it.
 *
 * Thread: everything runs on the loop thread that owns the server.
 */
#ifndef KYOKA_HTTP_H
#define KYOKA_HTTP_H

#include "core/core.h"

#include <uv.h>

typedef struct http_header {
    strv_t name; /* as received (case preserved) */
    strv_t value;
} http_header_t;

typedef struct http_server http_server_t;
typedef struct http_conn http_conn_t;
typedef struct http_request http_request_t;

struct http_request {
    arena_t arena;             /* scratch memory that dies with the request */
    strv_t method;             /* "GET", "POST", ... */
    strv_t target;             /* raw request-target, e.g. "/a%20b?x=1" */
    strv_t path;               /* target up to '?', still percent-encoded */
    strv_t query;              /* after '?', without it; empty if none */
    http_header_t *headers;    /* nheaders entries, in arrival order */
    size_t nheaders;
    int64_t content_length;    /* -1 when unknown (chunked or absent) */
    bool chunked;              /* Transfer-Encoding: chunked */
    bool keep_alive;
    buf_t body;                /* the body when buffered (HTTP_BODY_BUFFER) */
    char remote_addr[64];      /* "127.0.0.1" */
    uint64_t start_us;         /* kyoka_mono_us() when the headers completed */
    void *user;                /* free for the handler */
    http_conn_t *_conn;
    struct http_request *_next; /* pipeline order on the connection */
    int _state;
    int _body_mode;
};

/* What on_headers tells the server to do with the body. */
enum {
    HTTP_BODY_BUFFER = 0, /* collect up to max_body_bytes, then on_request */
    HTTP_BODY_STREAM = 1, /* deliver via on_body, then on_request */
    HTTP_BODY_RESPONDED = 2 /* the handler already responded (e.g. auth
                               failure); the server discards the body */
};

typedef struct http_handler {
    /* Headers complete. Return one of HTTP_BODY_*. Optional: NULL means
     * always buffer. */
    int (*on_headers)(http_request_t *req, void *ctx);
    /* A piece of a streamed body. Return 0 to go on; non-zero aborts the
     * request (the handler must have responded). */
    int (*on_body)(http_request_t *req, const char *p, size_t n, void *ctx);
    /* The whole request has arrived. The handler responds now or later. */
    void (*on_request)(http_request_t *req, void *ctx);
    /* The connection closed before the handler responded. */
    void (*on_abort)(http_request_t *req, void *ctx);
    void *ctx;
} http_handler_t;

typedef struct http_config {
    const char *host;        /* "127.0.0.1" */
    int port;                /* 0 picks a free port (see http_server_port) */
    size_t max_header_bytes; /* 431 past this */
    size_t max_url_bytes;    /* 414 past this */
    size_t max_body_bytes;   /* 413 past this for buffered bodies */
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t idle_timeout_ms;
    size_t max_connections;
    size_t max_pipelined;    /* stop reading past this many pending requests */
} http_config_t;

/* Defaults from core/limits.h. */
void http_config_defaults(http_config_t *cfg);

/* Create and start listening. Returns 0, or a negative libuv error (e.g.
 * UV_EADDRINUSE) with *out untouched. */
int http_server_start(uv_loop_t *loop, const http_config_t *cfg, const http_handler_t *h,
                      http_server_t **out) KYOKA_WUR;
int http_server_port(const http_server_t *s);
/* Graceful stop: stop accepting, close idle connections, let in-flight
 * requests finish (or cut them after grace_ms), then call done and free the
 * server. */
void http_server_stop(http_server_t *s, uint64_t grace_ms, void (*done)(void *), void *data);
/* Connections currently open (for /_kyoka/health and tests). */
size_t http_server_connections(const http_server_t *s);

/* First header with this name (case-insensitive), or STRV_NULL. */
strv_t http_request_header(const http_request_t *req, const char *name);

/* Hand the caller this request's response buffer, empty, for the body it
 * will pass to http_respond. Requests are pooled, so the buffer usually
 * keeps the capacity an earlier response grew, and building a response
 * costs no allocation. max is the caller's cap on the body. */
void http_response_buffer(http_request_t *req, buf_t *out, size_t max);

/* Send a complete response. headers are copied; body is taken (left empty).
 * Content-Length, Date, Connection are added by the server. body may be NULL
 * for no body. After this call the handler must not touch req. */
void http_respond(http_request_t *req, int status, const http_header_t *headers, size_t nheaders,
                  buf_t *body);

/* Streaming response: start with a known content length (or -1 for chunked
 * transfer encoding), write pieces, end. done (optional) is called when the
 * piece has been handed to the kernel, so the caller can produce the next. */
void http_respond_start(http_request_t *req, int status, const http_header_t *headers,
                        size_t nheaders, int64_t content_length);
void http_respond_write(http_request_t *req, const void *p, size_t n,
                        void (*done)(http_request_t *, void *), void *data);
void http_respond_end(http_request_t *req);

/* Pause/resume reading a streamed body (back-pressure while the handler
 * writes what it has). */
void http_request_pause(http_request_t *req);
void http_request_resume(http_request_t *req);

const char *http_status_text(int status);

#endif
