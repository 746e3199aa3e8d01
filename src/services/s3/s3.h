/*
 * What S3 offers the server besides its operation table: the CORS answers
 * (cors.c), which are not operations (a browser's OPTIONS preflight is
 * unsigned and names no action), so the front door asks the service for
 * them directly.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_S3_H
#define KYOKA_S3_H

#include "core/core.h"

#include <stdbool.h>

/* A CORS answer. Strings live in the arena given; NULL members are not
 * sent. */
typedef struct s3_cors_answer {
    int status;                 /* 200; 403 when no rule allows it; 404 no bucket */
    const char *code, *message; /* the error of a refusal */
    const char *allow_origin, *allow_methods, *allow_headers, *expose_headers, *max_age;
    bool credentials; /* Access-Control-Allow-Credentials: true */
    bool vary;        /* Vary: Origin, Access-Control-Request-Headers, ... */
} s3_cors_answer_t;

/* The answer to OPTIONS on bucket (state: the S3 service's) with Origin
 * origin, Access-Control-Request-Method method and
 * Access-Control-Request-Headers req_headers (NULL: none), as
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html#cors-eval-criteria
 * evaluates the bucket's rules: the first rule whose AllowedOrigins,
 * AllowedMethods and AllowedHeaders all match answers. */
void s3_cors_preflight(void *state, arena_t *a, const char *bucket, const char *origin, const char *method,
                       const char *req_headers, s3_cors_answer_t *out);

/* The CORS headers an actual request with an Origin header gets (status
 * 200 when a rule matched, else 0 and nothing to add). */
void s3_cors_actual(void *state, arena_t *a, const char *bucket, const char *origin, const char *method,
                    s3_cors_answer_t *out);

#endif
