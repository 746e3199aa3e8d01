/*
 * Shared pieces of the auth unit tests: request vectors as plain data, a
 * helper that turns one into an auth_request_t, and each file's group
 * runner for main.c.
 */
#ifndef KYOKA_TEST_AUTH_H
#define KYOKA_TEST_AUTH_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"

#define VEC_MAX_HEADERS 24

/* One request as a client put it on the wire. */
typedef struct vec_req {
    const char *name;
    const char *method;
    const char *path;  /* raw, as sent */
    const char *query; /* raw, without '?' */
    const char *body;
    const char *headers[VEC_MAX_HEADERS][2];
} vec_req_t;

typedef struct treq {
    auth_header_t h[VEC_MAX_HEADERS + 4];
    auth_request_t r;
} treq_t;

static inline void treq_from_vec(treq_t *t, const vec_req_t *v)
{
    memset(t, 0, sizeof *t);
    size_t n = 0;
    for (size_t i = 0; i < VEC_MAX_HEADERS && v->headers[i][0]; i++) {
        t->h[n].name = strv_from(v->headers[i][0]);
        t->h[n].value = strv_from(v->headers[i][1]);
        n++;
    }
    t->r.method = strv_from(v->method);
    t->r.path = strv_from(v->path);
    t->r.query = strv_from(v->query ? v->query : "");
    t->r.headers = t->h;
    t->r.nheaders = n;
    t->r.body = strv_from(v->body ? v->body : "");
    t->r.has_body = true;
}

/* Add or replace a header (case-insensitive name). */
static inline void treq_set(treq_t *t, const char *name, const char *value)
{
    for (size_t i = 0; i < t->r.nheaders; i++) {
        if (strv_caseeq_cstr(t->h[i].name, name)) {
            t->h[i].value = strv_from(value);
            return;
        }
    }
    t->h[t->r.nheaders].name = strv_from(name);
    t->h[t->r.nheaders].value = strv_from(value);
    t->r.nheaders++;
}

static inline void treq_del(treq_t *t, const char *name)
{
    for (size_t i = 0; i < t->r.nheaders; i++) {
        if (strv_caseeq_cstr(t->h[i].name, name)) {
            memmove(&t->h[i], &t->h[i + 1], (t->r.nheaders - i - 1) * sizeof t->h[0]);
            t->r.nheaders--;
            return;
        }
    }
}

static inline int64_t amz_ms(const char *s)
{
    int64_t ms = 0;
    assert_int_equal(kyoka_time_parse_amz(strv_from(s), &ms), 0);
    return ms;
}

int run_sigv4_tests(void);
int run_creds_tests(void);
int run_chunked_tests(void);
int run_checksum_tests(void);

#endif
