/*
 * lambda_bootstrap: the smallest useful provided.al2023 function, for the
 * Lambda bench. It speaks the Runtime API over one keep-alive connection:
 * GET /invocation/next, then POST the event back as the answer. Written in C
 * so that the bench measures kyoka, not an interpreter.
 *
 * It reads AWS_LAMBDA_RUNTIME_API ("127.0.0.1:PORT") and loops forever; the
 * runtime ends it.
 *
 * Built a second time as lambda_relay_bootstrap (KYOKA_BENCH_RELAY), for the
 * event source mapping bench (queue -> function -> queue): the event is an
 * SQS event, and every record's body is sent on to OUT_QUEUE_URL with one
 * SendMessageBatch, signed with the execution role's session from the
 * environment. The plain build stays small (no signer, no libcrypto), so
 * the cold start figures are not about loading a bigger binary.
 */
#ifdef KYOKA_BENCH_RELAY
#include "aws_json_client.h"
#endif

#include <arpa/inet.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_MSG (7 * 1024 * 1024)

static char *g_buf;
static size_t g_len; /* bytes read and not yet consumed */

static int connect_api(const char *api)
{
    char host[64];
    const char *colon = strchr(api, ':');
    if (!colon || (size_t)(colon - api) >= sizeof host)
        return -1;
    memcpy(host, api, (size_t)(colon - api));
    host[colon - api] = '\0';
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read one response: headers, then Content-Length bytes of body. */
static int read_response(int fd, char *rid, size_t ridcap, char **body, size_t *blen)
{
    for (;;) {
        char *end = g_len ? memmem(g_buf, g_len, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t hlen = (size_t)(end - g_buf) + 4;
            size_t clen = 0;
            rid[0] = '\0';
            for (char *line = g_buf; line < end;) {
                char *eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
                if (!eol)
                    break;
                if (strncasecmp(line, "Content-Length:", 15) == 0)
                    clen = strtoul(line + 15, NULL, 10);
                else if (strncasecmp(line, "Lambda-Runtime-Aws-Request-Id:", 30) == 0) {
                    char *v = line + 30;
                    while (*v == ' ')
                        v++;
                    size_t n = (size_t)(eol - v) < ridcap - 1 ? (size_t)(eol - v) : ridcap - 1;
                    memcpy(rid, v, n);
                    rid[n] = '\0';
                }
                line = eol + 2;
            }
            while (g_len < hlen + clen) {
                ssize_t r = read(fd, g_buf + g_len, MAX_MSG - g_len);
                if (r <= 0)
                    return -1;
                g_len += (size_t)r;
            }
            *body = g_buf + hlen;
            *blen = clen;
            return (int)(hlen + clen);
        }
        if (g_len >= MAX_MSG)
            return -1;
        ssize_t r = read(fd, g_buf + g_len, MAX_MSG - g_len);
        if (r <= 0)
            return -1;
        g_len += (size_t)r;
    }
}

#ifdef KYOKA_BENCH_RELAY
/* The bodies of an SQS event's records, sent on as one SendMessageBatch.
 * The bench's bodies are plain tokens (digits): no JSON escapes to undo. */
static int relay(aws_json_client_t *c, const char *queue_url, const char *event, size_t len, char *scratch,
                 size_t cap)
{
    int n = snprintf(scratch, cap, "{\"QueueUrl\":\"%s\",\"Entries\":[", queue_url);
    int entries = 0;
    const char *p = event, *end = event + len;
    static const char key[] = "\"body\":\"";
    while (entries < 10 && (p = memmem(p, (size_t)(end - p), key, sizeof key - 1)) != NULL) {
        p += sizeof key - 1;
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            break;
        n += snprintf(scratch + n, cap - (size_t)n, "%s{\"Id\":\"%d\",\"MessageBody\":\"%.*s\"}",
                      entries ? "," : "", entries, (int)(q - p), p);
        entries++;
        p = q;
    }
    n += snprintf(scratch + n, cap - (size_t)n, "]}");
    if (!entries)
        return 0;
    return aws_json_call(c, "AmazonSQS.SendMessageBatch", scratch, (size_t)n) == 200 ? 0 : -1;
}
#endif

static void consume(int n)
{
    memmove(g_buf, g_buf + n, g_len - (size_t)n);
    g_len -= (size_t)n;
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api)
        return 2;
    g_buf = malloc(MAX_MSG);
    char *out = malloc(MAX_MSG + 512);
    int fd = connect_api(api);
    if (fd < 0 || !g_buf || !out)
        return 3;
    static const char next[] = "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rapi\r\n\r\n";
#ifdef KYOKA_BENCH_RELAY
    const char *out_queue = getenv("OUT_QUEUE_URL");
    aws_json_client_t sqs = {
        .service = "sqs",
        .region = getenv("AWS_REGION"),
        .access_key = getenv("AWS_ACCESS_KEY_ID"),
        .secret_key = getenv("AWS_SECRET_ACCESS_KEY"),
        .session_token = getenv("AWS_SESSION_TOKEN"),
    };
    const char *endpoint = getenv("AWS_ENDPOINT_URL");
    if (out_queue && (!endpoint || !sqs.access_key || aws_json_client_open(&sqs, endpoint) != 0))
        return 8;
    char *scratch = out_queue ? malloc(MAX_MSG) : NULL;
#endif
    for (;;) {
        if (write_all(fd, next, sizeof next - 1) != 0)
            return 4;
        char rid[128], *body;
        size_t blen;
        int used = read_response(fd, rid, sizeof rid, &body, &blen);
        if (used < 0)
            return 5;
#ifdef KYOKA_BENCH_RELAY
        if (out_queue) {
            /* The function's answer: {} on success, an error document when
             * the relay failed (the mapping leaves the batch for later). */
            bool ok = relay(&sqs, out_queue, body, blen, scratch, MAX_MSG) == 0;
            static const char okbody[] = "{}";
            static const char errbody[] = "{\"errorType\":\"RelayFailed\",\"errorMessage\":\"SendMessageBatch failed\"}";
            const char *b = ok ? okbody : errbody;
            size_t bl = strlen(b);
            int h = snprintf(out, 512,
                             "POST /2018-06-01/runtime/invocation/%s/%s HTTP/1.1\r\nHost: rapi\r\n"
                             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                             rid, ok ? "response" : "error", bl);
            memcpy(out + h, b, bl);
            consume(used);
            if (write_all(fd, out, (size_t)h + bl) != 0)
                return 6;
            char rid2[8], *b2;
            size_t l2;
            used = read_response(fd, rid2, sizeof rid2, &b2, &l2);
            if (used < 0)
                return 7;
            consume(used);
            continue;
        }
#endif
        int h = snprintf(out, 512,
                         "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: rapi\r\n"
                         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                         rid, blen);
        memcpy(out + h, body, blen);
        consume(used);
        if (write_all(fd, out, (size_t)h + blen) != 0)
            return 6;
        char rid2[8], *b2;
        size_t l2;
        used = read_response(fd, rid2, sizeof rid2, &b2, &l2);
        if (used < 0)
            return 7;
        consume(used);
    }
}
