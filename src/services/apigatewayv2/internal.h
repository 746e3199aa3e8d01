/* Shared inside the API Gateway HTTP APIs service (apigatewayv2) only. */
#ifndef KYOKA_APIGWV2_INTERNAL_H
#define KYOKA_APIGWV2_INTERNAL_H

#include "core/dq.h"
#include "services/service.h"

/* An API is one JSON document: the members GetApi answers (model member
 * names), plus its children under keys that start with '_' and never
 * leave the service: "_routes", "_integrations", "_stages",
 * "_deployments", "_authorizers" (objects keyed by id or stage name),
 * "_region". One
 * document is one store row, so a write of any child rewrites the API's
 * row in the request's batch. */
typedef struct apiv2_state {
    kyoka_ctx_t *ctx;
    store_t *store;
    json_t *apis; /* {apiId: document} */
    dq_t *dq;     /* integration timeouts of waiting invocations (its own
                     allocation: it outlives the state while closing) */
} apiv2_state_t;

/* The children kinds, in the order their collections are named. */
typedef enum { APIV2_ROUTES, APIV2_INTEGRATIONS, APIV2_STAGES, APIV2_DEPLOYMENTS, APIV2_AUTHORIZERS } apiv2_kind_t;

/* api.c: operation handlers */
int apiv2_create_api(svc_call_t *c);
int apiv2_get_api(svc_call_t *c);
int apiv2_get_apis(svc_call_t *c);
int apiv2_update_api(svc_call_t *c);
int apiv2_delete_api(svc_call_t *c);
int apiv2_delete_cors_configuration(svc_call_t *c);
int apiv2_tag_resource(svc_call_t *c);
int apiv2_untag_resource(svc_call_t *c);
int apiv2_get_tags(svc_call_t *c);

/* children.c: routes, integrations, stages, deployments */
int apiv2_create_route(svc_call_t *c);
int apiv2_get_route(svc_call_t *c);
int apiv2_get_routes(svc_call_t *c);
int apiv2_update_route(svc_call_t *c);
int apiv2_delete_route(svc_call_t *c);
int apiv2_create_integration(svc_call_t *c);
int apiv2_get_integration(svc_call_t *c);
int apiv2_get_integrations(svc_call_t *c);
int apiv2_update_integration(svc_call_t *c);
int apiv2_delete_integration(svc_call_t *c);
int apiv2_create_stage(svc_call_t *c);
int apiv2_get_stage(svc_call_t *c);
int apiv2_get_stages(svc_call_t *c);
int apiv2_update_stage(svc_call_t *c);
int apiv2_delete_stage(svc_call_t *c);
int apiv2_create_deployment(svc_call_t *c);
int apiv2_get_deployment(svc_call_t *c);
int apiv2_get_deployments(svc_call_t *c);
int apiv2_delete_deployment(svc_call_t *c);
int apiv2_create_authorizer(svc_call_t *c);
int apiv2_get_authorizer(svc_call_t *c);
int apiv2_get_authorizers(svc_call_t *c);
int apiv2_update_authorizer(svc_call_t *c);
int apiv2_delete_authorizer(svc_call_t *c);

/* Shared helpers (api.c). */
const char *apiv2__region(svc_call_t *c);
const char *apiv2__account(svc_call_t *c);
/* A new random id of n lowercase letters and digits (arena string). */
char *apiv2__id(svc_call_t *c, size_t n);
/* The API named by the input's ApiId, or NotFoundException and NULL. */
json_t *apiv2__api_or_fail(svc_call_t *c);
/* The public members of a document (keys without '_'), new reference. */
json_t *apiv2__public(json_t *doc);
/* Copy the listed input members that are present onto doc. */
void apiv2__copy_in(svc_call_t *c, json_t *doc, const char *const *names);
/* The route key is one of AWS's accepted forms; sets BadRequestException. */
bool apiv2__route_key_ok(svc_call_t *c, const char *key);
/* Add a new route/integration/stage from quick create, or from Create*. */
json_t *apiv2__add_integration(svc_call_t *c, json_t *api, json_t *in);
json_t *apiv2__add_route(svc_call_t *c, json_t *api, json_t *in);
json_t *apiv2__add_stage(svc_call_t *c, json_t *api, json_t *in);
/* Record a deployment of the API's current routes; an auto-deploy stage
 * points at it. Returns the deployment document. */
json_t *apiv2__deploy(svc_call_t *c, json_t *api, const char *description, bool automatic);
/* A route or integration changed: deploy to every AutoDeploy stage. */
void apiv2__auto_deploy(svc_call_t *c, json_t *api);

/* serve.c: the invoke URLs */
bool apiv2__http_claim(void *state, const http_request_t *req);
int apiv2__http_serve(svc_call_t *c);

/* persist.c */
int apiv2__migrate(apiv2_state_t *st, char *err, size_t errcap);
void apiv2__load(apiv2_state_t *st);
void apiv2__persist(apiv2_state_t *st, const char *api_id);
void apiv2__unpersist(apiv2_state_t *st, const char *api_id);

#endif
