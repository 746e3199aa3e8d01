/* See aws_json_client.h. */
#include "aws_json_client.h"

#include "auth/auth.h"
#include "core/core.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int dial(aws_json_client_t *c)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
    if (inet_pton(AF_INET, c->host, &a.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* A peer that stops answering (moto under load has) fails the call
     * after this long instead of hanging the whole bench. */
    struct timeval limit = {.tv_sec = 30};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    return 0;
}

int aws_json_client_open(aws_json_client_t *c, const char *endpoint)
{
    if (sscanf(endpoint, "http://%63[^:]:%d", c->host, &c->port) != 2)
        return -1;
    if (strcmp(c->host, "localhost") == 0)
        snprintf(c->host, sizeof c->host, "127.0.0.1");
    snprintf(c->hostport, sizeof c->hostport, "%s:%d", c->host, c->port);
    if (!c->region)
        c->region = "us-east-1";
    if (!c->json_version)
        c->json_version = "1.0";
    c->rcap = 8u << 20;
    c->rbuf = malloc(c->rcap);
    return c->rbuf ? dial(c) : -1;
}

void aws_json_client_close(aws_json_client_t *c)
{
    if (c->fd > 0)
        close(c->fd);
    free(c->rbuf);
    c->rbuf = NULL;
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

static int read_response(aws_json_client_t *c)
{
    size_t got = 0;
    for (;;) {
        ssize_t r = read(c->fd, c->rbuf + got, c->rcap - 1 - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
        c->rbuf[got] = '\0';
        char *end = strstr(c->rbuf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(c->rbuf, "\r\ncontent-length:");
        size_t clen = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
        size_t want = (size_t)(end - c->rbuf) + 4 + clen;
        if (want >= c->rcap)
            return -1;
        while (got < want) {
            r = read(c->fd, c->rbuf + got, c->rcap - 1 - got);
            if (r <= 0)
                return -1;
            got += (size_t)r;
        }
        c->rbuf[want] = '\0';
        c->body = end + 4;
        c->body_len = clen;
        return atoi(c->rbuf + 9);
    }
}

/* kyoka's signer keeps a cache of signing keys that is not thread-safe. */
static pthread_mutex_t g_sign_mu = PTHREAD_MUTEX_INITIALIZER;

static int send_signed(aws_json_client_t *c, const char *target, const char *body, size_t len)
{
    char date[17], hash[65], ctype[48];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    auth_sha256_hex(body, len, hash);
    snprintf(ctype, sizeof ctype, "application/x-amz-json-%s", c->json_version);
    auth_header_t hs[6] = {
        {STRV_LIT("Content-Type"), strv_from(ctype)},
        {STRV_LIT("Host"), strv_from(c->hostport)},
        {STRV_LIT("X-Amz-Content-Sha256"), strv_from(hash)},
        {STRV_LIT("X-Amz-Date"), strv_from(date)},
        {STRV_LIT("X-Amz-Target"), strv_from(target)},
        {STRV_LIT("X-Amz-Security-Token"), strv_from(c->session_token ? c->session_token : "")},
    };
    size_t nh = c->session_token ? 6 : 5;
    auth_request_t req = {STRV_LIT("POST"), STRV_LIT("/"), STRV_LIT(""), hs, nh, {body, len}, true, 0};
    buf_t authz, out;
    buf_init(&authz, 4096);
    buf_init(&out, len + 8192);
    pthread_mutex_lock(&g_sign_mu);
    int rc = auth_sigv4_sign(&req, c->access_key, c->secret_key, date, c->region, c->service, hash, &authz);
    pthread_mutex_unlock(&g_sign_mu);
    if (rc == 0) {
        buf_appendf(&out,
                    "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nX-Amz-Target: %s\r\nX-Amz-Date: %s\r\n"
                    "X-Amz-Content-Sha256: %s\r\n%s%s%sAuthorization: %s\r\nContent-Length: %zu\r\n\r\n",
                    c->hostport, ctype, target, date, hash, c->session_token ? "X-Amz-Security-Token: " : "",
                    c->session_token ? c->session_token : "", c->session_token ? "\r\n" : "", authz.data, len);
        buf_append(&out, body, len);
        rc = buf_err(&out) ? -1 : write_all(c->fd, out.data, out.len);
    }
    buf_destroy(&authz);
    buf_destroy(&out);
    return rc;
}

int aws_json_call(aws_json_client_t *c, const char *target, const char *body, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (send_signed(c, target, body, len) == 0) {
            int st = read_response(c);
            if (st > 0)
                return st;
        }
        close(c->fd);
        if (dial(c) != 0)
            return -1;
    }
    return -1;
}
