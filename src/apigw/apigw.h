/*
 * apigw: what API Gateway's two generations (REST APIs, service
 * "apigateway"; HTTP APIs, "apigatewayv2") and Lambda function URLs share
 * on the data plane: where an invoke URL points, how a request becomes a
 * function's event and how the function's answer becomes the response.
 * The services keep their APIs; this component holds no state.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_APIGW_H
#define KYOKA_APIGW_H

#include "core/core.h"
#include "http/http.h"

#include <jansson.h>

#include <stdbool.h>

/* ---- invoke URLs ----
 *
 * The URL forms other local clouds use on their one port, so that existing
 * tooling works unchanged:
 *   http://{api-id}.execute-api.localhost.localstack.cloud:4566/{stage}/{path}
 *   http://{api-id}.execute-api.{region}.amazonaws.com/... (a client that
 *       resolves AWS's own host name to kyoka)
 *   http://localhost:4566/restapis/{api-id}/{stage}/_user_request_/{path}
 * An HTTP API's $default stage has no stage segment in the host form, so
 * the first segment is only a stage if the API has one by that name:
 * `first` and `rest` let the service decide. */
typedef struct apigw_invoke_url {
    strv_t api_id;
    strv_t first;   /* the first path segment (stage or path), may be empty */
    strv_t rest;    /* the path after it, starting with '/' or empty */
    strv_t path;    /* the whole path after the api id part ("/prod/items") */
    bool user_request; /* the /restapis/.../_user_request_/ form: first is the stage */
} apigw_invoke_url_t;

/* Whether req is an invoke-URL request, and its parts (views into req). */
bool apigw_invoke_url(const http_request_t *req, apigw_invoke_url_t *out);

/* The same for function URLs:
 *   http://{url-id}.lambda-url.{region}.localhost.localstack.cloud:4566/{path}
 *   http://{url-id}.lambda-url.{region}.on.aws/{path} */
bool apigw_function_url(const http_request_t *req, strv_t *url_id, strv_t *region);

/* ---- Lambda proxy payload format 1.0 (payload1.c) ----
 *
 * The event API Gateway sends a Lambda proxy integration in format 1.0
 * (REST APIs always; HTTP APIs with payloadFormatVersion "1.0"), and the
 * function's answer read back
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html). */
typedef struct apigw_payload1_in {
    const http_request_t *req;
    const char *resource;      /* the matched resource path: "/users/{id}" */
    const char *path;          /* the request path without the stage: "/users/42" */
    json_t *path_params;       /* borrowed; NULL or empty gives null */
    json_t *stage_vars;        /* borrowed; NULL or empty gives null */
    json_t *request_context;   /* taken: the caller builds it (its fields differ per API kind) */
    bool body_is_binary;       /* send the body base64-encoded (isBase64Encoded true) */
    const char *body_base64;   /* the body's base64 when body_is_binary */
} apigw_payload1_in_t;

/* The 1.0 event, a new reference the caller owns. Headers keep the case
 * they arrived in; repeated headers and query parameters keep their last
 * value in the single-value maps and all of them in the multi-value ones. */
json_t *apigw_payload1_event(const apigw_payload1_in_t *in);

/* The function's answer, mapped. Views point into the json the mapper was
 * given (the caller keeps it alive). */
typedef struct apigw_payload1_out {
    int status;
    json_t *headers;     /* new reference: {"Name": ["v1", "v2"]} (multi-value merged after single) */
    strv_t body;         /* as the function sent it */
    bool body_base64;    /* the body is base64 (isBase64Encoded true): the caller decodes it */
} apigw_payload1_out_t;

/* Map a function's answer (its parsed JSON, borrowed). false when the
 * answer is malformed (not an object, statusCode not an integer from 100
 * to 599, body not a string, headers not strings): API Gateway answers 502
 * then. */
bool apigw_payload1_response(json_t *answer, apigw_payload1_out_t *out);
/* ---- route selection (HTTP APIs) ----
 *
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html#http-api-develop-routes.evaluation:
 * the most specific route wins: a literal segment over a {variable} over a
 * greedy {proxy+} (which takes the rest of the path), earlier segments
 * deciding first; then a route's own method over ANY; $default only when
 * nothing else matches. */
#define APIGW_ROUTE_MAX_PARAMS 32

typedef struct apigw_path_param {
    strv_t name;   /* view into the route key */
    strv_t value;  /* view into the path, still percent-encoded */
} apigw_path_param_t;

typedef struct apigw_route_match {
    size_t index;                  /* which key matched */
    size_t nparams;
    apigw_path_param_t params[APIGW_ROUTE_MAX_PARAMS];
} apigw_route_match_t;

/* Pick the route for method and path (no query, no stage) among n route
 * keys ("GET /items/{id}", "ANY /{proxy+}", "$default"). Returns false
 * when none matches. Keys that do not parse never match. */
bool apigw_route_select(const strv_t *keys, size_t n, strv_t method, strv_t path, apigw_route_match_t *out);

/* ---- payload format 2.0 (HTTP APIs and function URLs) ----
 *
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html */
typedef struct apigw_v2_request {
    const http_request_t *req;
    const char *route_key;      /* "GET /items/{id}", "$default" */
    strv_t raw_path;            /* the path as received (stage included) */
    const char *stage;          /* "$default", "prod" */
    const char *api_id;         /* the API id or URL id */
    const char *account_id;
    const char *domain_name;    /* the Host without port */
    json_t *path_parameters;    /* borrowed, NULL: none */
    json_t *stage_variables;    /* borrowed, NULL: none */
    json_t *authorizer;         /* borrowed, NULL: none (function URLs' iam) */
    const char *request_id;
    int64_t now_ms;
} apigw_v2_request_t;

/* The event for r, as a new JSON object (caller owns). */
json_t *apigw_v2_event(const apigw_v2_request_t *r, arena_t *a);

typedef struct apigw_v2_response {
    int status;
    json_t *headers;    /* {name: value} (owned by the response) */
    json_t *cookies;    /* [Set-Cookie values] (owned), may be NULL */
    buf_t body;         /* decoded body */
} apigw_v2_response_t;

/* Map a function's answer (its payload) to the HTTP response. Returns 0,
 * or -1 when the answer cannot be mapped (API Gateway then answers 500).
 * Free with apigw_v2_response_destroy. */
int apigw_v2_response_map(const char *payload, size_t len, apigw_v2_response_t *out, size_t max_body);
void apigw_v2_response_destroy(apigw_v2_response_t *r);

/* ---- CORS (HTTP APIs' CorsConfiguration, function URLs' Cors) ---- */
typedef void (*apigw_header_fn)(void *data, const char *name, const char *value);

/* Whether req is a CORS preflight that cors (may be NULL) answers. */
bool apigw_cors_is_preflight(const json_t *cors, const http_request_t *req);
/* Emit the CORS response headers for req's Origin when cors allows it
 * (preflight: also the allowed methods, headers and max age). Values are
 * arena strings. Returns whether the origin is allowed. */
bool apigw_cors_headers(json_t *cors, const http_request_t *req, bool preflight, arena_t *a, apigw_header_fn emit,
                        void *data);

#endif
