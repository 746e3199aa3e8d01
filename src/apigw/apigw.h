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

#endif
