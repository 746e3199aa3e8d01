/* Fuzz the REST-JSON request path of the Lambda model as the server runs it
 * (src/server/dispatch.c): route the method, path and query to an operation
 * (proto_rest_match), decode URI labels, query parameters, headers and body
 * into the input tree (proto_rest_json_decode), validate it against the
 * input shape (proto_validate_input), and encode responses: the error body
 * for a refused request, and for an accepted one the op's output built from
 * nothing (NULL), from the decoded tree, and the decoded tree encoded back
 * against the input shape itself (which sends Invoke's headers and raw
 * payload through the encoder).
 *
 * Input framing, one request:
 *     METHOD PATH[?QUERY]\n
 *     Name: value\n          (up to MAX_HEADERS lines; a trailing \r is dropped)
 *     \n
 *     BODY                   (every remaining byte, NULs included)
 *
 * Invariants trapped on: routing is deterministic and picks an op of the
 * request's method; decode returns NULL exactly when it sets err.code, and
 * otherwise an object; validation fails exactly when it sets err.code; every
 * error renders as a JSON object with a message; encode leaves a status in
 * 100..599, returns 0 / KYOKA_EINVAL / KYOKA_ELIMIT, writes header values
 * without CR or LF, writes a body only with a content type, and a JSON
 * content type means the body parses as JSON (an object for body members).
 * Leaks and memory errors are left to the sanitizers. */
#include "protocol/protocol.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 16
#define MAX_OUT_HEADERS 8 /* as encode_rest_json in dispatch.c */

static void once(void)
{
    static bool done;
    if (!done) {
        proto_json_use_small_alloc(); /* as the server's main does */
        done = true;
    }
}

/* The next line of *rest (without '\n' and a trailing '\r'); false at the
 * end of input. */
static bool next_line(strv_t *rest, strv_t *line)
{
    if (rest->len == 0)
        return false;
    const char *nl = memchr(rest->p, '\n', rest->len);
    size_t n = nl ? (size_t)(nl - rest->p) : rest->len;
    *line = (strv_t){rest->p, n};
    rest->p += nl ? n + 1 : n;
    rest->len -= nl ? n + 1 : n;
    if (line->len && line->p[line->len - 1] == '\r')
        line->len--;
    return true;
}

static void check_error_body(const aws_error_t *err)
{
    if (!err->code || !err->code[0] || err->status < 400 || err->status > 599)
        __builtin_trap();
    buf_t b;
    buf_init(&b, 1 << 16);
    if (proto_rest_json_encode_error(err, &b) != 0)
        __builtin_trap();
    json_error_t jerr;
    json_t *j = json_loadb(b.data, b.len, 0, &jerr);
    /* "{}" would mean the message did not survive as a JSON string. */
    if (!j || !json_is_string(json_object_get(j, "message")))
        __builtin_trap();
    json_decref(j);
    buf_destroy(&b);
}

static void encode_check(const model_service_t *svc, const model_op_t *op, json_t *output, arena_t *a)
{
    proto_header_t hs[MAX_OUT_HEADERS];
    size_t nh = 0;
    int status = 0;
    const char *ctype = "unset";
    buf_t b;
    buf_init(&b, 1 << 20);
    int rc = proto_rest_json_encode(svc, op, output, a, &status, hs, &nh, MAX_OUT_HEADERS, &ctype, &b);
    if (status < 100 || status > 599 || nh > MAX_OUT_HEADERS)
        __builtin_trap();
    if (rc != 0 && rc != KYOKA_EINVAL && rc != KYOKA_ELIMIT)
        __builtin_trap();
    if (rc == 0) {
        for (size_t i = 0; i < nh; i++) {
            if (!hs[i].name.p || !hs[i].name.len || !hs[i].value.p)
                __builtin_trap();
            if (memchr(hs[i].value.p, '\r', hs[i].value.len) || memchr(hs[i].value.p, '\n', hs[i].value.len) ||
                memchr(hs[i].name.p, '\n', hs[i].name.len))
                __builtin_trap();
        }
        if (!ctype && b.len)
            __builtin_trap(); /* a body always comes with its content type */
        if (ctype && strcmp(ctype, "application/json") == 0) {
            json_error_t jerr;
            json_t *j = json_loadb(b.data, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
            if (!j)
                __builtin_trap();
            if (op->output >= 0 && svc->shapes[op->output].payload < 0 && !json_is_object(j))
                __builtin_trap(); /* body members make one object */
            json_decref(j);
        }
    }
    buf_destroy(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    once();
    const model_service_t *svc = model_service_lookup("lambda");
    if (!svc)
        __builtin_trap();

    strv_t rest = {(const char *)data, size}, line;
    if (!next_line(&rest, &line))
        return 0;
    const char *sp = memchr(line.p, ' ', line.len);
    strv_t method = {line.p, sp ? (size_t)(sp - line.p) : line.len};
    strv_t target = sp ? (strv_t){sp + 1, line.len - method.len - 1} : (strv_t){"", 0};
    const char *qm = memchr(target.p, '?', target.len);
    strv_t path = {target.p, qm ? (size_t)(qm - target.p) : target.len};
    strv_t query = qm ? (strv_t){qm + 1, target.len - path.len - 1} : (strv_t){"", 0};

    proto_header_t hs[MAX_HEADERS];
    size_t nh = 0;
    while (next_line(&rest, &line) && line.len) {
        if (nh == MAX_HEADERS)
            continue;
        const char *colon = memchr(line.p, ':', line.len);
        strv_t name = {line.p, colon ? (size_t)(colon - line.p) : line.len};
        strv_t value = colon ? (strv_t){colon + 1, line.len - name.len - 1} : (strv_t){"", 0};
        hs[nh++] = (proto_header_t){name, value};
    }
    strv_t body = rest;

    const model_op_t *op = proto_rest_match(svc, method, path, query);
    if (op != proto_rest_match(svc, method, path, query))
        __builtin_trap(); /* pure */
    if (!op)
        return 0;
    if (op < svc->ops || op >= svc->ops + svc->nops || !strv_eq_cstr(method, op->http_method))
        __builtin_trap();

    arena_t a;
    arena_init(&a);
    aws_error_t err = {0};
    json_t *in = proto_rest_json_decode(svc, op, path, query, hs, nh, body, &a, &err);
    if ((in == NULL) != (err.code != NULL))
        __builtin_trap();
    if (!in) {
        check_error_body(&err);
    } else {
        if (!json_is_object(in))
            __builtin_trap();
        aws_error_t verr = {0};
        bool ok = proto_validate_input(svc, op, in, &verr);
        if (ok == (verr.code != NULL))
            __builtin_trap();
        if (!ok)
            check_error_body(&verr);
        /* Responses: no output, the decoded tree as the op's output
         * (members sharing a name, Invoke's Payload above all), and the
         * tree against its own input shape (headers, raw payload). */
        encode_check(svc, op, NULL, &a);
        encode_check(svc, op, in, &a);
        model_op_t as_output = *op;
        as_output.output = op->input;
        encode_check(svc, &as_output, in, &a);
        json_decref(in);
    }
    arena_destroy(&a);
    return 0;
}
