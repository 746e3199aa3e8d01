/*
 * Amazon API Gateway, REST APIs (REST-JSON, service "apigateway"): the
 * operation table, the ARN each call is authorized on, and the lifecycle.
 *
 * Authorization as AWS does it for the control plane
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/security_iam_service-with-iam.html):
 * the action is the HTTP verb (apigateway:GET, POST, PUT, PATCH, DELETE) and
 * the resource is the request's path under arn:aws:apigateway:{region}::,
 * e.g. arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5/resources.
 * Operations not in the table answer the not-implemented shape from the
 * front door. Routing: the paths carry no date, so the SigV4 scope
 * "apigateway" routes them (server/dispatch.c, route_rest).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* The request path (without the query) as the resource: the REST API
 * control plane's ARN is the path itself. Internal calls have no request and
 * are authorized on the API named in the input. */
static int arn_path(svc_call_t *c, const char **arn)
{
    if (c->req) {
        *arn = arena_sprintf(c->arena, "arn:aws:apigateway:%s::%.*s", agw__region(c), (int)c->req->path.len,
                             c->req->path.p);
        return 0;
    }
    const char *id = svc_in_str(c, "restApiId");
    *arn = id ? arena_sprintf(c->arena, "arn:aws:apigateway:%s::/restapis/%s", agw__region(c), id)
              : arena_sprintf(c->arena, "arn:aws:apigateway:%s::/restapis", agw__region(c));
    return 0;
}

#define M SVC_OP_MUTATING
#define GET(n, h) {n, h, "apigateway:GET", arn_path, 0}
#define POST(n, h) {n, h, "apigateway:POST", arn_path, M}
#define PUT(n, h) {n, h, "apigateway:PUT", arn_path, M}
#define PATCH(n, h) {n, h, "apigateway:PATCH", arn_path, M}
#define DEL(n, h) {n, h, "apigateway:DELETE", arn_path, M}
static const svc_op_t agw_ops[] = {
    POST("CreateApiKey", agw_create_api_key),
    POST("CreateAuthorizer", agw_create_authorizer),
    POST("CreateDeployment", agw_create_deployment),
    POST("CreateResource", agw_create_resource),
    POST("CreateRestApi", agw_create_rest_api),
    POST("CreateStage", agw_create_stage),
    POST("CreateUsagePlan", agw_create_usage_plan),
    POST("CreateUsagePlanKey", agw_create_usage_plan_key),
    DEL("DeleteApiKey", agw_delete_api_key),
    DEL("DeleteAuthorizer", agw_delete_authorizer),
    DEL("DeleteDeployment", agw_delete_deployment),
    DEL("DeleteIntegration", agw_delete_integration),
    DEL("DeleteIntegrationResponse", agw_delete_integration_response),
    DEL("DeleteMethod", agw_delete_method),
    DEL("DeleteMethodResponse", agw_delete_method_response),
    DEL("DeleteResource", agw_delete_resource),
    DEL("DeleteRestApi", agw_delete_rest_api),
    DEL("DeleteStage", agw_delete_stage),
    DEL("DeleteUsagePlan", agw_delete_usage_plan),
    DEL("DeleteUsagePlanKey", agw_delete_usage_plan_key),
    GET("GetApiKey", agw_get_api_key),
    GET("GetApiKeys", agw_get_api_keys),
    GET("GetAuthorizer", agw_get_authorizer),
    GET("GetAuthorizers", agw_get_authorizers),
    GET("GetDeployment", agw_get_deployment),
    GET("GetDeployments", agw_get_deployments),
    GET("GetExport", agw_get_export),
    GET("GetIntegration", agw_get_integration),
    GET("GetIntegrationResponse", agw_get_integration_response),
    GET("GetMethod", agw_get_method),
    GET("GetMethodResponse", agw_get_method_response),
    GET("GetResource", agw_get_resource),
    GET("GetResources", agw_get_resources),
    GET("GetRestApi", agw_get_rest_api),
    GET("GetRestApis", agw_get_rest_apis),
    GET("GetStage", agw_get_stage),
    GET("GetStages", agw_get_stages),
    GET("GetTags", agw_get_tags),
    GET("GetUsagePlan", agw_get_usage_plan),
    GET("GetUsagePlanKey", agw_get_usage_plan_key),
    GET("GetUsagePlanKeys", agw_get_usage_plan_keys),
    GET("GetUsagePlans", agw_get_usage_plans),
    PUT("PutIntegration", agw_put_integration),
    PUT("PutIntegrationResponse", agw_put_integration_response),
    PUT("PutMethod", agw_put_method),
    PUT("PutMethodResponse", agw_put_method_response),
    PUT("TagResource", agw_tag_resource),
    DEL("UntagResource", agw_untag_resource),
    PATCH("UpdateApiKey", agw_update_api_key),
    PATCH("UpdateAuthorizer", agw_update_authorizer),
    PATCH("UpdateIntegration", agw_update_integration),
    PATCH("UpdateIntegrationResponse", agw_update_integration_response),
    PATCH("UpdateMethod", agw_update_method),
    PATCH("UpdateMethodResponse", agw_update_method_response),
    PATCH("UpdateResource", agw_update_resource),
    PATCH("UpdateRestApi", agw_update_rest_api),
    PATCH("UpdateStage", agw_update_stage),
    PATCH("UpdateUsagePlan", agw_update_usage_plan),
};
#undef GET
#undef POST
#undef PUT
#undef PATCH
#undef DEL
#undef M

static void on_dq_closed(dq_t *dq) { free(container_of(dq, agw_state_t, dq)); }

static void agw_free(void *state)
{
    agw_state_t *st = state;
    if (!st)
        return;
    json_decref(st->apis);
    json_decref(st->keys);
    json_decref(st->plans);
    json_decref(st->meter);
    events_roles_free(st->roles);
    /* The state holds the dq's libuv handles: freed once they are closed. */
    dq_close(&st->dq, on_dq_closed);
}

static void *agw_create(kyoka_ctx_t *ctx, char *err, size_t errcap)
{
    agw_state_t *st = xcalloc(1, sizeof *st);
    st->ctx = ctx;
    st->store = ctx->store;
    st->apis = json_object();
    st->keys = json_object();
    st->plans = json_object();
    st->meter = json_object();
    st->roles = events_roles_new(AGW_PRINCIPAL);
    dq_init(&st->dq, ctx->loop);
    if (agw__migrate(st, err, errcap) != 0) {
        agw_free(st);
        return NULL;
    }
    agw__load(st);
    return st;
}

static void agw_reset(void *state)
{
    agw_state_t *st = state;
    agw__clear(st);
    events_roles_clear(st->roles);
    store_write_begin(st->store);
    if (store_exec(st->store, "DELETE FROM apigateway_objects;") != 0)
        log_error("apigateway: reset could not clear the store");
}

const svc_def_t apigateway_service = {
    .name = "apigateway",
    .ops = agw_ops,
    .nops = KYOKA_ARRAY_LEN(agw_ops),
    .create = agw_create,
    .free = agw_free,
    .reset = agw_reset,
    .http_claim = agw__http_claim,
    .http_serve = agw__http_serve,
};
