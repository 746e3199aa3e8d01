/*
 * Fuzz target for the HTTP parser glue (src/http/parse.c, response.c).
 *
 * The input is fed to a socket-less connection (http__parse_feed) in pieces,
 * so requests split at every position are exercised. The first byte picks
 * the piece size. A handler that behaves in all the ways real ones do
 * drives the interesting paths: buffered and streamed bodies, early
 * answers (HTTP_BODY_RESPONDED), pause/resume, requests held across feeds
 * and answered out of order, streamed responses, and aborts when the
 * connection closes with requests still held. After the last piece the
 * connection's pending timeout is fired, then it is destroyed; ASan and
 * UBSan catch the rest.
 *
 * Paths: /s stream, /p stream with pause, /r reject from on_headers,
 * /h hold until the next piece, /c chunked response, /l sized response,
 * /e refuse the streamed body; anything else echoes the buffered body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

#define MAX_HELD 32

typedef struct fz {
    http_request_t *held[MAX_HELD];
    size_t nheld;
    http_request_t *paused[MAX_HELD];
    size_t npaused;
} fz_t;

static void forget(http_request_t **list, size_t *n, http_request_t *req)
{
    for (size_t i = 0; i < *n; i++)
        if (list[i] == req) {
            list[i] = list[--*n];
            return;
        }
}

static bool path_is(const http_request_t *req, const char *p) { return strv_eq_cstr(req->path, p); }

static int fz_on_headers(http_request_t *req, void *ctx)
{
    if (path_is(req, "/r")) {
        http_respond(req, 403, NULL, 0, NULL);
        return HTTP_BODY_RESPONDED;
    }
    if (path_is(req, "/s") || path_is(req, "/p") || path_is(req, "/e"))
        return HTTP_BODY_STREAM;
    return HTTP_BODY_BUFFER;
}

static int fz_on_body(http_request_t *req, const char *p, size_t n, void *ctx)
{
    fz_t *fz = ctx;
    if (path_is(req, "/e")) {
        http_respond(req, 400, NULL, 0, NULL);
        return -1;
    }
    if (path_is(req, "/p") && fz->npaused < MAX_HELD) {
        http_request_pause(req);
        fz->paused[fz->npaused++] = req;
    }
    return 0;
}

static void respond_now(http_request_t *req)
{
    if (path_is(req, "/c") || path_is(req, "/l")) {
        http_respond_start(req, 200, NULL, 0, path_is(req, "/c") ? -1 : 5);
        http_respond_write(req, "ab", 2, NULL, NULL);
        http_respond_write(req, "cde", 3, NULL, NULL);
        http_respond_end(req);
        return;
    }
    http_header_t h = {STRV_LIT("X-Path"), req->path};
    http_respond(req, 200, &h, 1, &req->body);
}

static void fz_on_request(http_request_t *req, void *ctx)
{
    fz_t *fz = ctx;
    forget(fz->paused, &fz->npaused, req);
    if (path_is(req, "/h") && fz->nheld < MAX_HELD) {
        fz->held[fz->nheld++] = req;
        return;
    }
    respond_now(req);
}

static void fz_on_abort(http_request_t *req, void *ctx)
{
    fz_t *fz = ctx;
    forget(fz->held, &fz->nheld, req);
    forget(fz->paused, &fz->npaused, req);
}

/* Between pieces: answer held requests newest first (out of order) and
 * resume paused bodies. */
static void fz_release(fz_t *fz, http_conn_t *c)
{
    while (fz->nheld) {
        http_request_t *req = fz->held[--fz->nheld];
        respond_now(req);
    }
    while (fz->npaused) {
        http_request_t *req = fz->paused[--fz->npaused];
        http_request_resume(req);
    }
    http__conn_settle(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = 1 + data[0] % 97;
    data++;
    size--;

    fz_t fz = {0};
    http_handler_t h = {fz_on_headers, fz_on_body, fz_on_request, fz_on_abort, &fz};
    http_config_t cfg;
    http_config_defaults(&cfg);
    cfg.max_header_bytes = 2048;
    cfg.max_url_bytes = 512;
    cfg.max_body_bytes = 4096;
    cfg.max_pipelined = 4;
    http_server_t *s = http__server_create_fake(&cfg, &h);
    http_conn_t *c = http__conn_create_fake(s);
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (http__parse_feed(c, (const char *)data + off, n) < 0)
            break;
        fz_release(&fz, c);
    }
    if (!http__conn_closed(c)) {
        fz_release(&fz, c);
        http__conn_fire_timeout(c);
    }
    http__conn_destroy_fake(c);
    http__server_free_fake(s);
    return 0;
}
