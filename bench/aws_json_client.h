/*
 * A tiny signed AWS JSON-protocol client for the benches and the bench
 * functions: one keep-alive connection, SigV4 by kyoka's own signer,
 * blocking I/O. Not a general client: enough to call SQS's JSON protocol
 * (X-Amz-Target AmazonSQS.*) fast from C, so the figures measure kyoka.
 */
#ifndef KYOKA_BENCH_AWS_JSON_CLIENT_H
#define KYOKA_BENCH_AWS_JSON_CLIENT_H

#include <stddef.h>

typedef struct aws_json_client {
    char host[64];
    int port;
    char hostport[96];
    const char *region, *service, *json_version; /* "us-east-1", "sqs", "1.0" */
    const char *access_key, *secret_key, *session_token;
    int fd;
    char *rbuf; /* the last response, NUL-terminated; body at body */
    size_t rcap;
    const char *body;
    size_t body_len;
} aws_json_client_t;

/* endpoint "http://HOST:PORT". Returns 0, or -1 when it cannot connect. */
int aws_json_client_open(aws_json_client_t *c, const char *endpoint);
void aws_json_client_close(aws_json_client_t *c);
/* POST target (e.g. "AmazonSQS.SendMessageBatch") with body; returns the
 * HTTP status (or -1 on a broken connection, after one reconnect try). */
int aws_json_call(aws_json_client_t *c, const char *target, const char *body, size_t len);

#endif
