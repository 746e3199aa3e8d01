/*
 * Amazon API Gateway HTTP APIs (REST-JSON, service "apigatewayv2", signed
 * as "apigateway"): the operation table and the ARNs calls are authorized
 * on.
 *
 * Authorization (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-control-access-with-iam.html
 * and the service authorization reference for API Gateway management):
 * the IAM action is the HTTP verb, apigateway:{GET,POST,PATCH,DELETE},
 * and the resource is the path of the management API under
 * arn:aws:apigateway:{region}::, e.g. ::/apis/{api-id}/routes/{route-id}.
 * Routing: the paths (/v2/apis/...) carry no date, so the front door
 * routes them by the SigV4 scope "apigateway" (server/dispatch.c).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static const char *in_or_empty(svc_call_t *c, const char *name)
{
    const char *s = svc_in_str(c, name);
    return s ? s : "";
}

static int arn_of(svc_call_t *c, const char **arn, const char *path)
{
    *arn = arena_sprintf(c->arena, "arn:aws:apigateway:%s::%s", apiv2__region(c), path);
    return 0;
}

static int arn_apis(svc_call_t *c, const char **arn) { return arn_of(c, arn, "/apis"); }

static int arn_api(svc_call_t *c, const char **arn)
{
    return arn_of(c, arn, arena_sprintf(c->arena, "/apis/%s", in_or_empty(c, "ApiId")));
}

static int arn_cors(svc_call_t *c, const char **arn)
{
    return arn_of(c, arn, arena_sprintf(c->arena, "/apis/%s/cors", in_or_empty(c, "ApiId")));
}

/* /apis/{id}/{coll} for a list or create, /apis/{id}/{coll}/{child} for
 * one child. */
static int arn_child(svc_call_t *c, const char **arn, const char *coll, const char *member)
{
    const char *child = svc_in_str(c, member);
    const char *op = c->op ? c->op->name : "";
    if (strncmp(op, "Create", 6) == 0 || !child)
        return arn_of(c, arn, arena_sprintf(c->arena, "/apis/%s/%s", in_or_empty(c, "ApiId"), coll));
    return arn_of(c, arn, arena_sprintf(c->arena, "/apis/%s/%s/%s", in_or_empty(c, "ApiId"), coll, child));
}

static int arn_routes(svc_call_t *c, const char **arn) { return arn_child(c, arn, "routes", "RouteId"); }
static int arn_integrations(svc_call_t *c, const char **arn)
{
    return arn_child(c, arn, "integrations", "IntegrationId");
}
static int arn_stages(svc_call_t *c, const char **arn) { return arn_child(c, arn, "stages", "StageName"); }
static int arn_deployments(svc_call_t *c, const char **arn)
{
    return arn_child(c, arn, "deployments", "DeploymentId");
}

static int arn_authorizers(svc_call_t *c, const char **arn)
{
    return arn_child(c, arn, "authorizers", "AuthorizerId");
}

static int arn_tags(svc_call_t *c, const char **arn)
{
    return arn_of(c, arn, arena_sprintf(c->arena, "/tags/%s", in_or_empty(c, "ResourceArn")));
}

#define M SVC_OP_MUTATING
/* Sorted by name, as the model lists them. */
static const svc_op_t apiv2_ops[] = {
    {"CreateApi", apiv2_create_api, "apigateway:POST", arn_apis, M},
    {"CreateAuthorizer", apiv2_create_authorizer, "apigateway:POST", arn_authorizers, M},
    {"CreateDeployment", apiv2_create_deployment, "apigateway:POST", arn_deployments, M},
    {"CreateIntegration", apiv2_create_integration, "apigateway:POST", arn_integrations, M},
    {"CreateRoute", apiv2_create_route, "apigateway:POST", arn_routes, M},
    {"CreateStage", apiv2_create_stage, "apigateway:POST", arn_stages, M},
    {"DeleteApi", apiv2_delete_api, "apigateway:DELETE", arn_api, M},
    {"DeleteAuthorizer", apiv2_delete_authorizer, "apigateway:DELETE", arn_authorizers, M},
    {"DeleteCorsConfiguration", apiv2_delete_cors_configuration, "apigateway:DELETE", arn_cors, M},
    {"DeleteDeployment", apiv2_delete_deployment, "apigateway:DELETE", arn_deployments, M},
    {"DeleteIntegration", apiv2_delete_integration, "apigateway:DELETE", arn_integrations, M},
    {"DeleteRoute", apiv2_delete_route, "apigateway:DELETE", arn_routes, M},
    {"DeleteStage", apiv2_delete_stage, "apigateway:DELETE", arn_stages, M},
    {"GetApi", apiv2_get_api, "apigateway:GET", arn_api, 0},
    {"GetApis", apiv2_get_apis, "apigateway:GET", arn_apis, 0},
    {"GetAuthorizer", apiv2_get_authorizer, "apigateway:GET", arn_authorizers, 0},
    {"GetAuthorizers", apiv2_get_authorizers, "apigateway:GET", arn_authorizers, 0},
    {"GetDeployment", apiv2_get_deployment, "apigateway:GET", arn_deployments, 0},
    {"GetDeployments", apiv2_get_deployments, "apigateway:GET", arn_deployments, 0},
    {"GetIntegration", apiv2_get_integration, "apigateway:GET", arn_integrations, 0},
    {"GetIntegrations", apiv2_get_integrations, "apigateway:GET", arn_integrations, 0},
    {"GetRoute", apiv2_get_route, "apigateway:GET", arn_routes, 0},
    {"GetRoutes", apiv2_get_routes, "apigateway:GET", arn_routes, 0},
    {"GetStage", apiv2_get_stage, "apigateway:GET", arn_stages, 0},
    {"GetStages", apiv2_get_stages, "apigateway:GET", arn_stages, 0},
    {"GetTags", apiv2_get_tags, "apigateway:GET", arn_tags, 0},
    {"TagResource", apiv2_tag_resource, "apigateway:POST", arn_tags, M},
    {"UntagResource", apiv2_untag_resource, "apigateway:DELETE", arn_tags, M},
    {"UpdateApi", apiv2_update_api, "apigateway:PATCH", arn_api, M},
    {"UpdateAuthorizer", apiv2_update_authorizer, "apigateway:PATCH", arn_authorizers, M},
    {"UpdateIntegration", apiv2_update_integration, "apigateway:PATCH", arn_integrations, M},
    {"UpdateRoute", apiv2_update_route, "apigateway:PATCH", arn_routes, M},
    {"UpdateStage", apiv2_update_stage, "apigateway:PATCH", arn_stages, M},
};
#undef M

static void on_dq_closed(dq_t *dq) { free(dq); }

static void apiv2_free(void *state)
{
    apiv2_state_t *st = state;
    if (!st)
        return;
    if (st->dq)
        dq_close(st->dq, on_dq_closed);
    json_decref(st->apis);
    free(st);
}

static void *apiv2_create(kyoka_ctx_t *ctx, char *err, size_t errcap)
{
    apiv2_state_t *st = xcalloc(1, sizeof *st);
    st->ctx = ctx;
    st->store = ctx->store;
    st->apis = json_object();
    st->dq = xcalloc(1, sizeof *st->dq);
    dq_init(st->dq, ctx->loop);
    if (apiv2__migrate(st, err, errcap) != 0) {
        apiv2_free(st);
        return NULL;
    }
    apiv2__load(st);
    return st;
}

static void apiv2_reset(void *state)
{
    apiv2_state_t *st = state;
    json_object_clear(st->apis);
    store_write_begin(st->store);
    if (store_exec(st->store, "DELETE FROM apigwv2_apis;") != 0)
        log_error("apigatewayv2: reset could not clear the store");
}

const svc_def_t apigatewayv2_service = {
    .name = "apigatewayv2",
    .ops = apiv2_ops,
    .nops = KYOKA_ARRAY_LEN(apiv2_ops),
    .create = apiv2_create,
    .free = apiv2_free,
    .reset = apiv2_reset,
    .http_claim = apiv2__http_claim,
    .http_serve = apiv2__http_serve,
};
