/* Shared inside the API Gateway (REST API, service "apigateway") service only.
 *
 * State is kept as jansson trees shaped like the model's output shapes, so a
 * Get is a copy: one document per REST API (the API itself, its resource
 * tree with methods and integrations, deployments with their snapshot of the
 * tree, stages, authorizers), one per API key and one per usage plan. Each
 * document is one row of apigateway_objects, rewritten whole by every change
 * inside the request's savepoint. */
#ifndef KYOKA_APIGATEWAY_INTERNAL_H
#define KYOKA_APIGATEWAY_INTERNAL_H

#include "services/events/events.h"
#include "services/service.h"
#include "core/dq.h"

#define AGW_PRINCIPAL "apigateway.amazonaws.com"

/* Quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html). */
#define AGW_MAX_RESOURCES_PER_API 300
#define AGW_MAX_STAGES_PER_API 10
#define AGW_MAX_AUTHORIZERS_PER_API 10
#define AGW_MAX_PATCH_OPS 100
#define AGW_MAX_TEMPLATE_BYTES (300 * 1024) /* mapping template size */

typedef struct agw_state {
    kyoka_ctx_t *ctx;
    store_t *store;
    json_t *apis;  /* id -> {"region","api":RestApi,"resources":{id:Resource},
                      "deployments":{id:Deployment+"snapshot"},"stages":{name:Stage},
                      "authorizers":{id:Authorizer}} */
    json_t *keys;  /* id -> {"region","key":ApiKey} */
    json_t *plans; /* id -> {"region","plan":UsagePlan,"keys":[keyId...]} */
    json_t *meter; /* data plane: "planId/keyId" -> {"tokens","at_ms","used","period"} (memory) */
    dq_t dq;               /* integration timeouts of parked data-plane calls */
    events_roles_t *roles; /* sessions of integration credentials roles, assumed as apigateway.amazonaws.com */
} agw_state_t;

/* store.c */
int agw__migrate(agw_state_t *st, char *err, size_t errcap);
void agw__load(agw_state_t *st);
void agw__save(agw_state_t *st, const char *kind, const char *id, json_t *doc);
void agw__drop(agw_state_t *st, const char *kind, const char *id);
void agw__clear(agw_state_t *st);

/* common.c */
const char *agw__region(svc_call_t *c);
const char *agw__account(svc_call_t *c);
void agw__new_id(char *out, size_t len);
json_t *agw__api_or_fail(svc_call_t *c);
json_t *agw__resource_or_fail(svc_call_t *c, json_t *doc);
json_t *agw__method_or_fail(svc_call_t *c, json_t *resource);
void agw__save_api(svc_call_t *c, json_t *doc);
json_t *agw__copy_public(json_t *obj);
int agw__patch(svc_call_t *c, json_t *obj, const char *const *paths);
void agw__set_opt(json_t *dst, const char *name, json_t *v);
json_t *agw__items(json_t *arr);
bool agw__bad_limit(svc_call_t *c, int *limit);

/* restapi.c */
int agw_create_rest_api(svc_call_t *c);
int agw_get_rest_api(svc_call_t *c);
int agw_get_rest_apis(svc_call_t *c);
int agw_update_rest_api(svc_call_t *c);
int agw_delete_rest_api(svc_call_t *c);
int agw_get_resources(svc_call_t *c);
int agw_get_resource(svc_call_t *c);
int agw_create_resource(svc_call_t *c);
int agw_update_resource(svc_call_t *c);
int agw_delete_resource(svc_call_t *c);

/* method.c */
int agw_put_method(svc_call_t *c);
int agw_get_method(svc_call_t *c);
int agw_update_method(svc_call_t *c);
int agw_delete_method(svc_call_t *c);
int agw_put_integration(svc_call_t *c);
int agw_get_integration(svc_call_t *c);
int agw_update_integration(svc_call_t *c);
int agw_delete_integration(svc_call_t *c);
int agw_put_method_response(svc_call_t *c);
int agw_get_method_response(svc_call_t *c);
int agw_update_method_response(svc_call_t *c);
int agw_delete_method_response(svc_call_t *c);
int agw_put_integration_response(svc_call_t *c);
int agw_get_integration_response(svc_call_t *c);
int agw_update_integration_response(svc_call_t *c);
int agw_delete_integration_response(svc_call_t *c);

/* stage.c */
int agw_create_deployment(svc_call_t *c);
int agw_get_deployment(svc_call_t *c);
int agw_get_deployments(svc_call_t *c);
int agw_delete_deployment(svc_call_t *c);
int agw_create_stage(svc_call_t *c);
int agw_get_stage(svc_call_t *c);
int agw_get_stages(svc_call_t *c);
int agw_update_stage(svc_call_t *c);
int agw_delete_stage(svc_call_t *c);
int agw_create_authorizer(svc_call_t *c);
int agw_get_authorizer(svc_call_t *c);
int agw_get_authorizers(svc_call_t *c);
int agw_update_authorizer(svc_call_t *c);
int agw_delete_authorizer(svc_call_t *c);
int agw_get_export(svc_call_t *c);

/* keys.c */
int agw_create_api_key(svc_call_t *c);
int agw_get_api_key(svc_call_t *c);
int agw_get_api_keys(svc_call_t *c);
int agw_update_api_key(svc_call_t *c);
int agw_delete_api_key(svc_call_t *c);
int agw_create_usage_plan(svc_call_t *c);
int agw_get_usage_plan(svc_call_t *c);
int agw_get_usage_plans(svc_call_t *c);
int agw_update_usage_plan(svc_call_t *c);
int agw_delete_usage_plan(svc_call_t *c);
int agw_create_usage_plan_key(svc_call_t *c);
int agw_get_usage_plan_keys(svc_call_t *c);
int agw_get_usage_plan_key(svc_call_t *c);
int agw_delete_usage_plan_key(svc_call_t *c);
int agw_tag_resource(svc_call_t *c);
int agw_untag_resource(svc_call_t *c);
int agw_get_tags(svc_call_t *c);

/* template.c: mapping templates (the supported subset is listed there).
 * The caller owns every json_t; the renderer only reads them. */
typedef struct agw_tpl_ctx {
    json_t *context;    /* $context: {"requestId", "stage", "identity": {...}, ...} */
    json_t *stage_vars; /* $stageVariables, may be NULL */
    json_t *params;     /* {"path":{}, "querystring":{}, "header":{}} */
    strv_t body;        /* $input.body */
} agw_tpl_ctx_t;
/* Render tpl into out; -1 with a reason in err on an unsupported form. */
int agw__tpl_render(const char *tpl, const agw_tpl_ctx_t *x, buf_t *out, char *err, size_t errcap);
/* The JSON path subset ("$", ".a", "['a']", "[0]") over root, borrowed. */
json_t *agw__json_path(json_t *root, strv_t path);

/* usage.c: API keys and usage plans on the data plane. false with the
 * error set (403 Forbidden, 429) when the request may not go on. */
bool agw__usage_allowed(svc_call_t *c, json_t *api_doc, const char *stage);

/* invoke.c: the data plane */
#define AGW_MAX_SEGMENTS 64 /* deeper request paths cannot match anything we store */
typedef struct route {
    json_t *resource;    /* borrowed from the snapshot */
    json_t *method;      /* borrowed */
    json_t *path_params; /* owned by the caller once found: {"id": "42", "proxy": "a/b"} */
    int score[AGW_MAX_SEGMENTS + 1];
    size_t nscore;
} route_t;
/* The most specific resource of snapshot matching path (still
 * percent-encoded) with a method for verb or ANY. false: no route. */
bool agw__route_find(arena_t *a, json_t *snapshot, strv_t path, const char *verb, route_t *best);
bool agw__http_claim(void *state, const http_request_t *req);
int agw__http_serve(svc_call_t *c);

#endif
