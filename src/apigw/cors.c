/*
 * CORS as HTTP APIs and function URLs answer it from a CorsConfiguration
 * (the same members in both: AllowOrigins, AllowMethods, AllowHeaders,
 * ExposeHeaders, MaxAge, AllowCredentials).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
 * https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html#urls-cors
 */
#include "apigw.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static bool list_has(json_t *list, strv_t v)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        const char *s = json_string_value(e);
        if (s && (strcmp(s, "*") == 0 || strv_caseeq_cstr(v, s)))
            return true;
    }
    return false;
}

static bool list_has_star(json_t *list)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (json_string_value(e) && strcmp(json_string_value(e), "*") == 0)
            return true;
    }
    return false;
}

static const char *joined(arena_t *a, json_t *list)
{
    buf_t b;
    buf_init(&b, 8192);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (i)
            buf_appendc(&b, ',');
        buf_appends(&b, json_string_value(e) ? json_string_value(e) : "");
    }
    char *s = arena_strdup(a, b.data);
    buf_destroy(&b);
    return s;
}

bool apigw_cors_is_preflight(const json_t *cors, const http_request_t *req)
{
    return cors && strv_eq_cstr(req->method, "OPTIONS") && http_request_header(req, "origin").p &&
           http_request_header(req, "access-control-request-method").p;
}

bool apigw_cors_headers(json_t *cors, const http_request_t *req, bool preflight, arena_t *a, apigw_header_fn emit,
                        void *data)
{
    strv_t origin = http_request_header(req, "origin");
    json_t *origins = json_object_get(cors, "AllowOrigins");
    if (!cors || !origin.p || !list_has(origins, origin))
        return false;
    bool creds = json_is_true(json_object_get(cors, "AllowCredentials"));
    /* A wildcard is answered as "*" unless credentials are allowed, which
     * browsers only accept with the origin named. */
    emit(data, "Access-Control-Allow-Origin",
         list_has_star(origins) && !creds ? "*" : arena_sprintf(a, "%.*s", (int)origin.len, origin.p));
    if (creds)
        emit(data, "Access-Control-Allow-Credentials", "true");
    if (!preflight) {
        if (json_array_size(json_object_get(cors, "ExposeHeaders")))
            emit(data, "Access-Control-Expose-Headers", joined(a, json_object_get(cors, "ExposeHeaders")));
        return true;
    }
    if (json_array_size(json_object_get(cors, "AllowMethods")))
        emit(data, "Access-Control-Allow-Methods", joined(a, json_object_get(cors, "AllowMethods")));
    if (json_array_size(json_object_get(cors, "AllowHeaders")))
        emit(data, "Access-Control-Allow-Headers", joined(a, json_object_get(cors, "AllowHeaders")));
    json_t *age = json_object_get(cors, "MaxAge");
    if (json_is_integer(age))
        emit(data, "Access-Control-Max-Age", arena_sprintf(a, "%lld", (long long)json_integer_value(age)));
    return true;
}
