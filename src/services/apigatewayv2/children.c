/*
 * The children of an HTTP API: routes, integrations, stages and
 * deployments. Each kind is an object in the API's document keyed by its
 * id (a stage by its name); the generic get/list/delete below serve all
 * four, and each kind's create/update holds only its own rules.
 *
 * A deployment snapshots the routes and integrations it deploys, so that
 * the data plane serves a stage what was deployed to it, not the draft
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

typedef struct kind_def {
    const char *coll;    /* the document's key */
    const char *id;      /* the input member naming one */
    const char *noun;    /* for the not-found message */
} kind_def_t;

static const kind_def_t kinds[] = {
    [APIV2_ROUTES] = {"_routes", "RouteId", "Route"},
    [APIV2_INTEGRATIONS] = {"_integrations", "IntegrationId", "Integration"},
    [APIV2_STAGES] = {"_stages", "StageName", "Stage"},
    [APIV2_DEPLOYMENTS] = {"_deployments", "DeploymentId", "Deployment"},
    [APIV2_AUTHORIZERS] = {"_authorizers", "AuthorizerId", "Authorizer"},
};

static double now_s(void) { return (double)kyoka_clock_now_ms() / 1000.0; }

/* Created on first use: documents written before a kind existed lack it. */
static json_t *coll(json_t *api, apiv2_kind_t k)
{
    json_t *o = json_object_get(api, kinds[k].coll);
    if (!o) {
        o = json_object();
        json_object_set_new(api, kinds[k].coll, o);
    }
    return o;
}

static json_t *child_or_fail(svc_call_t *c, json_t *api, apiv2_kind_t k)
{
    const char *id = svc_in_str(c, kinds[k].id);
    json_t *v = id ? json_object_get(coll(api, k), id) : NULL;
    if (!v)
        svc_error(c, "NotFoundException", 404, "Invalid %s identifier specified %s", kinds[k].noun, id ? id : "");
    return v;
}

static int get_child(svc_call_t *c, apiv2_kind_t k)
{
    json_t *api = apiv2__api_or_fail(c);
    json_t *v = api ? child_or_fail(c, api, k) : NULL;
    if (v)
        c->output = apiv2__public(v);
    return 0;
}

static int list_children(svc_call_t *c, apiv2_kind_t k)
{
    json_t *api = apiv2__api_or_fail(c);
    if (!api)
        return 0;
    json_t *items = json_array();
    const char *id;
    json_t *v;
    json_object_foreach(coll(api, k), id, v) json_array_append_new(items, apiv2__public(v));
    c->output = json_pack("{s:o}", "Items", items);
    return 0;
}

static int delete_child(svc_call_t *c, apiv2_kind_t k)
{
    json_t *api = apiv2__api_or_fail(c);
    if (!api || !child_or_fail(c, api, k))
        return 0;
    json_object_del(coll(api, k), svc_in_str(c, kinds[k].id));
    if (k == APIV2_ROUTES || k == APIV2_INTEGRATIONS)
        apiv2__auto_deploy(c, api);
    apiv2__persist(c->state, svc_in_str(c, "ApiId"));
    return 0;
}

/* ------------------------------------------------------------ routes */

static bool method_ok(strv_t m)
{
    static const char *const methods[] = {"ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", NULL};
    for (size_t i = 0; methods[i]; i++)
        if (strv_eq_cstr(m, methods[i]))
            return true;
    return false;
}

/* A path of a route key: "/" or "/seg/seg" where a segment is literal, a
 * variable {name}, or, last only, a greedy variable {name+}.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html */
static const char *path_problem(const char *p)
{
    if (p[0] != '/')
        return "the path must start with '/'";
    if (strcmp(p, "/") == 0)
        return NULL;
    const char *seg = p + 1;
    while (true) {
        const char *end = strchr(seg, '/');
        size_t n = end ? (size_t)(end - seg) : strlen(seg);
        if (n == 0)
            return "the path has an empty segment";
        if (seg[0] == '{') {
            if (seg[n - 1] != '}' || n < 3)
                return "a path variable must be {name}";
            bool greedy = seg[n - 2] == '+';
            if (greedy && end)
                return "a greedy path variable {name+} must be the last segment";
            if (greedy && n < 4)
                return "a path variable must be {name}";
        } else if (memchr(seg, '{', n) || memchr(seg, '}', n)) {
            return "a path variable must be a whole segment";
        }
        if (!end)
            return NULL;
        seg = end + 1;
    }
}

bool apiv2__route_key_ok(svc_call_t *c, const char *key)
{
    if (key && strcmp(key, "$default") == 0)
        return true;
    const char *sp = key ? strchr(key, ' ') : NULL;
    const char *why = NULL;
    if (!sp || !method_ok((strv_t){key, (size_t)(sp - key)}))
        why = "the route key must be $default or \"METHOD /path\" with METHOD one of ANY, GET, POST, PUT, PATCH, "
              "DELETE, HEAD, OPTIONS";
    else
        why = path_problem(sp + 1);
    if (!why)
        return true;
    svc_error(c, "BadRequestException", 400, "Invalid route key '%s': %s.", key ? key : "", why);
    return false;
}

static bool route_key_taken(json_t *api, const char *key, const char *except_id)
{
    const char *id;
    json_t *r;
    json_object_foreach(coll(api, APIV2_ROUTES), id, r)
    {
        if ((!except_id || strcmp(id, except_id) != 0) &&
            strcmp(json_string_value(json_object_get(r, "RouteKey")), key) == 0)
            return true;
    }
    return false;
}

/* Target is "integrations/{id}" of an integration of this API. */
static bool target_ok(svc_call_t *c, json_t *api, json_t *target)
{
    if (!target)
        return true;
    const char *t = json_string_value(target);
    if (t && strncmp(t, "integrations/", 13) == 0 && json_object_get(coll(api, APIV2_INTEGRATIONS), t + 13))
        return true;
    svc_error(c, "BadRequestException", 400, "Invalid integration target specified: %s", t ? t : "");
    return false;
}

/* AuthorizationType CUSTOM and JWT name an authorizer of this API. */
static bool route_auth_ok(svc_call_t *c, json_t *api, json_t *r)
{
    const char *type = json_string_value(json_object_get(r, "AuthorizationType"));
    if (!type || strcmp(type, "NONE") == 0 || strcmp(type, "AWS_IAM") == 0)
        return true;
    const char *id = json_string_value(json_object_get(r, "AuthorizerId"));
    if (!id || !json_object_get(coll(api, APIV2_AUTHORIZERS), id)) {
        svc_error(c, "BadRequestException", 400, "Invalid authorizer ID specified: %s", id ? id : "");
        return false;
    }
    return true;
}

static const char *const route_members[] = {"ApiKeyRequired", "AuthorizationScopes", "AuthorizationType",
                                            "AuthorizerId", "ModelSelectionExpression", "OperationName",
                                            "RequestModels", "RequestParameters", "RouteKey",
                                            "RouteResponseSelectionExpression", "Target", NULL};

static void copy_from(json_t *dst, json_t *src, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        json_t *v = json_object_get(src, names[i]);
        if (v)
            json_object_set(dst, names[i], v);
    }
}

json_t *apiv2__add_route(svc_call_t *c, json_t *api, json_t *in)
{
    const char *key = json_string_value(json_object_get(in, "RouteKey"));
    if (!apiv2__route_key_ok(c, key) || !target_ok(c, api, json_object_get(in, "Target")) ||
        !route_auth_ok(c, api, in))
        return NULL;
    if (route_key_taken(api, key, NULL)) {
        svc_error(c, "ConflictException", 409, "Route with key %s already exists for this API", key);
        return NULL;
    }
    const char *id = apiv2__id(c, 7);
    json_t *r = json_pack("{s:s,s:b,s:s}", "RouteId", id, "ApiKeyRequired", 0, "AuthorizationType", "NONE");
    copy_from(r, in, route_members);
    if (c->op && strcmp(c->op->name, "CreateApi") == 0)
        json_object_set_new(r, "ApiGatewayManaged", json_true());
    json_object_set_new(coll(api, APIV2_ROUTES), id, r);
    return r;
}

int apiv2_create_route(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    json_t *r = api ? apiv2__add_route(c, api, c->input) : NULL;
    if (!r)
        return 0;
    apiv2__auto_deploy(c, api);
    apiv2__persist(c->state, svc_in_str(c, "ApiId"));
    c->output = apiv2__public(r);
    return 0;
}

int apiv2_update_route(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    json_t *r = api ? child_or_fail(c, api, APIV2_ROUTES) : NULL;
    if (!r)
        return 0;
    const char *key = svc_in_str(c, "RouteKey");
    if (key && !apiv2__route_key_ok(c, key))
        return 0;
    if (key && route_key_taken(api, key, svc_in_str(c, "RouteId"))) {
        svc_error(c, "ConflictException", 409, "Route with key %s already exists for this API", key);
        return 0;
    }
    if (!target_ok(c, api, svc_in(c, "Target")))
        return 0;
    json_t *next = json_deep_copy(r);
    apiv2__copy_in(c, next, route_members);
    if (!route_auth_ok(c, api, next)) {
        json_decref(next);
        return 0;
    }
    json_decref(next);
    apiv2__copy_in(c, r, route_members);
    apiv2__auto_deploy(c, api);
    apiv2__persist(c->state, svc_in_str(c, "ApiId"));
    c->output = apiv2__public(r);
    return 0;
}

int apiv2_get_route(svc_call_t *c) { return get_child(c, APIV2_ROUTES); }
int apiv2_get_routes(svc_call_t *c) { return list_children(c, APIV2_ROUTES); }
int apiv2_delete_route(svc_call_t *c) { return delete_child(c, APIV2_ROUTES); }

/* ------------------------------------------------------------ integrations */

static const char *const integration_members[] = {
    "ConnectionId",     "ConnectionType",    "ContentHandlingStrategy", "CredentialsArn",
    "Description",      "IntegrationMethod", "IntegrationSubtype",      "IntegrationType",
    "IntegrationUri",   "PayloadFormatVersion", "RequestParameters",    "RequestTemplates",
    "ResponseParameters", "TemplateSelectionExpression", "TimeoutInMillis", "TlsConfig", NULL};

/* The rules of https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations.html:
 * Lambda proxy takes payload 1.0 or 2.0, HTTP proxy only 1.0; timeouts
 * 50 ms to 30 s. */
static bool integration_ok(svc_call_t *c, json_t *i)
{
    const char *type = json_string_value(json_object_get(i, "IntegrationType"));
    const char *pfv = json_string_value(json_object_get(i, "PayloadFormatVersion"));
    json_t *timeout = json_object_get(i, "TimeoutInMillis");
    if (!type || (strcmp(type, "AWS_PROXY") != 0 && strcmp(type, "HTTP_PROXY") != 0)) {
        if (type && (strcmp(type, "AWS") == 0 || strcmp(type, "HTTP") == 0 || strcmp(type, "MOCK") == 0))
            svc_error(c, "BadRequestException", 400, "Integration type %s is not supported for HTTP APIs.", type);
        else
            svc_error(c, "BadRequestException", 400, "Invalid integration type specified: %s", type ? type : "");
        return false;
    }
    if (!json_string_value(json_object_get(i, "IntegrationUri"))) {
        svc_error(c, "BadRequestException", 400, "IntegrationUri is required for %s integrations.", type);
        return false;
    }
    if (strcmp(type, "AWS_PROXY") == 0 && strcmp(pfv, "1.0") != 0 && strcmp(pfv, "2.0") != 0) {
        svc_error(c, "BadRequestException", 400, "Invalid payload format version specified: %s", pfv);
        return false;
    }
    if (strcmp(type, "HTTP_PROXY") == 0 && strcmp(pfv, "1.0") != 0) {
        svc_error(c, "BadRequestException", 400, "Payload format version %s is not supported for HTTP_PROXY "
                                                  "integrations; use 1.0.", pfv);
        return false;
    }
    if (timeout && (json_integer_value(timeout) < 50 || json_integer_value(timeout) > 30000)) {
        svc_error(c, "BadRequestException", 400, "TimeoutInMillis must be between 50 and 30000.");
        return false;
    }
    return true;
}

/* Defaults AWS answers with: 1.0 payload (the API's default when none is
 * given), INTERNET connection, 30 s timeout, ANY method for HTTP proxy. */
static void integration_defaults(json_t *i)
{
    if (!json_object_get(i, "PayloadFormatVersion"))
        json_object_set_new(i, "PayloadFormatVersion", json_string("1.0"));
    if (!json_object_get(i, "ConnectionType"))
        json_object_set_new(i, "ConnectionType", json_string("INTERNET"));
    if (!json_object_get(i, "TimeoutInMillis"))
        json_object_set_new(i, "TimeoutInMillis", json_integer(30000));
    const char *type = json_string_value(json_object_get(i, "IntegrationType"));
    if (type && strcmp(type, "HTTP_PROXY") == 0 && !json_object_get(i, "IntegrationMethod"))
        json_object_set_new(i, "IntegrationMethod", json_string("ANY"));
    if (type && strcmp(type, "AWS_PROXY") == 0 && !json_object_get(i, "IntegrationMethod"))
        json_object_set_new(i, "IntegrationMethod", json_string("POST"));
}

json_t *apiv2__add_integration(svc_call_t *c, json_t *api, json_t *in)
{
    const char *id = apiv2__id(c, 7);
    json_t *i = json_pack("{s:s}", "IntegrationId", id);
    copy_from(i, in, integration_members);
    integration_defaults(i);
    if (!integration_ok(c, i)) {
        json_decref(i);
        return NULL;
    }
    if (c->op && strcmp(c->op->name, "CreateApi") == 0)
        json_object_set_new(i, "ApiGatewayManaged", json_true());
    json_object_set_new(coll(api, APIV2_INTEGRATIONS), id, i);
    return i;
}

int apiv2_create_integration(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    json_t *i = api ? apiv2__add_integration(c, api, c->input) : NULL;
    if (!i)
        return 0;
    apiv2__persist(c->state, svc_in_str(c, "ApiId"));
    c->output = apiv2__public(i);
    return 0;
}

int apiv2_update_integration(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    json_t *i = api ? child_or_fail(c, api, APIV2_INTEGRATIONS) : NULL;
    if (!i)
        return 0;
    json_t *next = json_deep_copy(i);
    apiv2__copy_in(c, next, integration_members);
    if (!integration_ok(c, next)) {
        json_decref(next);
        return 0;
    }
    json_object_set_new(coll(api, APIV2_INTEGRATIONS), svc_in_str(c, "IntegrationId"), next);
    apiv2__auto_deploy(c, api);
    apiv2__persist(c->state, svc_in_str(c, "ApiId"));
    c->output = apiv2__public(next);
    return 0;
}

int apiv2_get_integration(svc_call_t *c) { return get_child(c, APIV2_INTEGRATIONS); }
int apiv2_get_integrations(svc_call_t *c) { return list_children(c, APIV2_INTEGRATIONS); }

int apiv2_delete_integration(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    if (!api || !child_or_fail(c, api, APIV2_INTEGRATIONS))
        return 0;
    /* AWS refuses to delete an integration a route still targets. */
    const char *want = arena_sprintf(c->arena, "integrations/%s", svc_in_str(c, "IntegrationId"));
    const char *id;
    json_t *r;
    json_object_foreach(coll(api, APIV2_ROUTES), id, r)
    {
        const char *t = json_string_value(json_object_get(r, "Target"));
        if (t && strcmp(t, want) == 0) {
            svc_error(c, "ConflictException", 409, "Unable to delete integration because it is in use by route %s",
                      id);
            return 0;
        }
    }
    return delete_child(c, APIV2_INTEGRATIONS);
}

/* ------------------------------------------------------------ deployments */

json_t *apiv2__deploy(svc_call_t *c, json_t *api, const char *description, bool automatic)
{
    const char *id = apiv2__id(c, 6);
    json_t *d = json_pack("{s:s,s:s,s:b,s:f}", "DeploymentId", id, "DeploymentStatus", "DEPLOYED", "AutoDeployed",
                          automatic, "CreatedDate", now_s());
    if (description)
        json_object_set_new(d, "Description", json_string(description));
    json_object_set_new(d, "_routes", json_deep_copy(coll(api, APIV2_ROUTES)));
    json_object_set_new(d, "_integrations", json_deep_copy(coll(api, APIV2_INTEGRATIONS)));
    json_object_set_new(d, "_authorizers", json_deep_copy(coll(api, APIV2_AUTHORIZERS)));
    json_object_set_new(coll(api, APIV2_DEPLOYMENTS), id, d);
    return d;
}

/* Point stage at deployment d, dropping the deployment it replaces when
 * that one was automatic and no other stage uses it (AWS keeps no history
 * of automatic deployments we could be asked for, and the document would
 * grow with every change otherwise). */
static void stage_point(svc_call_t *c, json_t *api, json_t *stage, json_t *d)
{
    const char *old = json_string_value(json_object_get(stage, "DeploymentId"));
    char *old_id = old ? arena_strdup(c->arena, old) : NULL;
    json_object_set(stage, "DeploymentId", json_object_get(d, "DeploymentId"));
    json_object_set_new(stage, "LastUpdatedDate", json_real(now_s()));
    if (!old_id)
        return;
    json_t *od = json_object_get(coll(api, APIV2_DEPLOYMENTS), old_id);
    if (!od || !json_is_true(json_object_get(od, "AutoDeployed")))
        return;
    const char *name;
    json_t *s;
    json_object_foreach(coll(api, APIV2_STAGES), name, s)
    {
        const char *sd = json_string_value(json_object_get(s, "DeploymentId"));
        if (sd && strcmp(sd, old_id) == 0)
            return;
    }
    json_object_del(coll(api, APIV2_DEPLOYMENTS), old_id);
}

void apiv2__auto_deploy(svc_call_t *c, json_t *api)
{
    const char *name;
    json_t *s;
    json_object_foreach(coll(api, APIV2_STAGES), name, s)
    {
        if (json_is_true(json_object_get(s, "AutoDeploy"))) {
            json_t *d = apiv2__deploy(c, api, "Automatic deployment triggered by changes to the Api configuration",
                                      true);
            json_object_set_new(s, "LastDeploymentStatusMessage",
                                json_string(arena_sprintf(c->arena, "Successfully deployed stage with deployment ID '%s'",
                                                          json_string_value(json_object_get(d, "DeploymentId")))));
            stage_point(c, api, s, d);
        }
    }
}

int apiv2_create_deployment(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    if (!api)
        return 0;
    const char *stage_name = svc_in_str(c, "StageName");
    json_t *stage = NULL;
    if (stage_name) {
        stage = json_object_get(coll(api, APIV2_STAGES), stage_name);
        if (!stage) {
            svc_error(c, "NotFoundException", 404, "Invalid stage identifier specified");
            return 0;
        }
        if (json_is_true(json_object_get(stage, "AutoDeploy"))) {
            svc_error(c, "BadRequestException", 400,
                      "Cannot create a deployment for a stage with auto-deploy enabled: %s", stage_name);
            return 0;
        }
    }
    if (json_object_size(coll(api, APIV2_ROUTES)) == 0) {
        svc_error(c, "BadRequestException", 400, "Unable to deploy API because no routes exist in this API");
        return 0;
    }
    json_t *d = apiv2__deploy(c, api, svc_in_str(c, "Description"), false);
    if (stage)
        stage_point(c, api, stage, d);
    apiv2__persist(c->state, svc_in_str(c, "ApiId"));
    c->output = apiv2__public(d);
    return 0;
}

int apiv2_get_deployment(svc_call_t *c) { return get_child(c, APIV2_DEPLOYMENTS); }
int apiv2_get_deployments(svc_call_t *c) { return list_children(c, APIV2_DEPLOYMENTS); }
int apiv2_delete_deployment(svc_call_t *c) { return delete_child(c, APIV2_DEPLOYMENTS); }

/* ------------------------------------------------------------ stages */

static const char *const stage_members[] = {"AccessLogSettings", "AutoDeploy", "ClientCertificateId",
                                            "DefaultRouteSettings", "DeploymentId", "Description",
                                            "RouteSettings", "StageVariables", NULL};

static bool deployment_ok(svc_call_t *c, json_t *api, json_t *stage)
{
    const char *d = json_string_value(json_object_get(stage, "DeploymentId"));
    if (!d || json_object_get(coll(api, APIV2_DEPLOYMENTS), d))
        return true;
    svc_error(c, "BadRequestException", 400, "Deployment %s does not exist", d);
    return false;
}

json_t *apiv2__add_stage(svc_call_t *c, json_t *api, json_t *in)
{
    const char *name = json_string_value(json_object_get(in, "StageName"));
    if (!name || !*name) {
        svc_error(c, "BadRequestException", 400, "Stage name is required");
        return NULL;
    }
    if (json_object_get(coll(api, APIV2_STAGES), name)) {
        svc_error(c, "ConflictException", 409, "Stage already exists");
        return NULL;
    }
    json_t *s = json_pack("{s:s,s:f,s:f,s:b,s:{s:b},s:{},s:{}}", "StageName", name, "CreatedDate", now_s(),
                          "LastUpdatedDate", now_s(), "AutoDeploy", 0, "DefaultRouteSettings",
                          "DetailedMetricsEnabled", 0, "RouteSettings", "Tags");
    copy_from(s, in, stage_members);
    json_t *tags = json_object_get(in, "Tags");
    if (tags)
        json_object_set(s, "Tags", tags);
    if (!deployment_ok(c, api, s)) {
        json_decref(s);
        return NULL;
    }
    if (c->op && strcmp(c->op->name, "CreateApi") == 0)
        json_object_set_new(s, "ApiGatewayManaged", json_true());
    json_object_set_new(coll(api, APIV2_STAGES), name, s);
    /* An auto-deploy stage of an API with routes is deployed at once. */
    if (json_is_true(json_object_get(s, "AutoDeploy")) && json_object_size(coll(api, APIV2_ROUTES)) > 0)
        stage_point(c, api, s, apiv2__deploy(c, api, "Automatic deployment triggered by changes to the Api configuration",
                                             true));
    return s;
}

int apiv2_create_stage(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    json_t *s = api ? apiv2__add_stage(c, api, c->input) : NULL;
    if (!s)
        return 0;
    apiv2__persist(c->state, svc_in_str(c, "ApiId"));
    c->output = apiv2__public(s);
    return 0;
}

int apiv2_update_stage(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    json_t *s = api ? child_or_fail(c, api, APIV2_STAGES) : NULL;
    if (!s)
        return 0;
    json_t *next = json_deep_copy(s);
    apiv2__copy_in(c, next, stage_members);
    if (!deployment_ok(c, api, next)) {
        json_decref(next);
        return 0;
    }
    json_object_set_new(next, "LastUpdatedDate", json_real(now_s()));
    bool turned_on = !json_is_true(json_object_get(s, "AutoDeploy")) && json_is_true(json_object_get(next, "AutoDeploy"));
    json_object_set_new(coll(api, APIV2_STAGES), svc_in_str(c, "StageName"), next);
    if (turned_on && json_object_size(coll(api, APIV2_ROUTES)) > 0)
        stage_point(c, api, next, apiv2__deploy(c, api, "Automatic deployment triggered by changes to the Api configuration",
                                                true));
    apiv2__persist(c->state, svc_in_str(c, "ApiId"));
    c->output = apiv2__public(next);
    return 0;
}

int apiv2_get_stage(svc_call_t *c) { return get_child(c, APIV2_STAGES); }
int apiv2_get_stages(svc_call_t *c) { return list_children(c, APIV2_STAGES); }
int apiv2_delete_stage(svc_call_t *c) { return delete_child(c, APIV2_STAGES); }

/* ------------------------------------------------------------ authorizers */

static const char *const authorizer_members[] = {
    "AuthorizerCredentialsArn", "AuthorizerPayloadFormatVersion", "AuthorizerResultTtlInSeconds", "AuthorizerType",
    "AuthorizerUri", "EnableSimpleResponses", "IdentitySource", "IdentityValidationExpression", "JwtConfiguration",
    "Name", NULL};

/* https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html:
 * a REQUEST authorizer names its function and payload version (simple
 * responses only with 2.0); a JWT one its issuer and audience. */
static bool authorizer_ok(svc_call_t *c, json_t *a)
{
    const char *type = json_string_value(json_object_get(a, "AuthorizerType"));
    const char *pfv = json_string_value(json_object_get(a, "AuthorizerPayloadFormatVersion"));
    if (type && strcmp(type, "REQUEST") == 0) {
        if (!json_string_value(json_object_get(a, "AuthorizerUri"))) {
            svc_error(c, "BadRequestException", 400, "AuthorizerUri is required for REQUEST authorizers.");
            return false;
        }
        if (!pfv || (strcmp(pfv, "1.0") != 0 && strcmp(pfv, "2.0") != 0)) {
            svc_error(c, "BadRequestException", 400,
                      "AuthorizerPayloadFormatVersion must be 1.0 or 2.0 for REQUEST authorizers.");
            return false;
        }
        if (json_is_true(json_object_get(a, "EnableSimpleResponses")) && strcmp(pfv, "2.0") != 0) {
            svc_error(c, "BadRequestException", 400, "EnableSimpleResponses is only supported for payload 2.0.");
            return false;
        }
        return true;
    }
    if (type && strcmp(type, "JWT") == 0) {
        json_t *jwt = json_object_get(a, "JwtConfiguration");
        if (!json_string_value(json_object_get(jwt, "Issuer"))) {
            svc_error(c, "BadRequestException", 400, "JwtConfiguration.Issuer is required for JWT authorizers.");
            return false;
        }
        return true;
    }
    svc_error(c, "BadRequestException", 400, "Invalid authorizer type specified: %s", type ? type : "");
    return false;
}

int apiv2_create_authorizer(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    if (!api)
        return 0;
    const char *id = apiv2__id(c, 6);
    json_t *a = json_pack("{s:s}", "AuthorizerId", id);
    copy_from(a, c->input, authorizer_members);
    if (!authorizer_ok(c, a)) {
        json_decref(a);
        return 0;
    }
    json_object_set_new(coll(api, APIV2_AUTHORIZERS), id, a);
    apiv2__persist(c->state, svc_in_str(c, "ApiId"));
    c->output = apiv2__public(a);
    return 0;
}

int apiv2_update_authorizer(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    json_t *a = api ? child_or_fail(c, api, APIV2_AUTHORIZERS) : NULL;
    if (!a)
        return 0;
    json_t *next = json_deep_copy(a);
    apiv2__copy_in(c, next, authorizer_members);
    if (!authorizer_ok(c, next)) {
        json_decref(next);
        return 0;
    }
    json_object_set_new(coll(api, APIV2_AUTHORIZERS), svc_in_str(c, "AuthorizerId"), next);
    apiv2__auto_deploy(c, api);
    apiv2__persist(c->state, svc_in_str(c, "ApiId"));
    c->output = apiv2__public(next);
    return 0;
}

int apiv2_get_authorizer(svc_call_t *c) { return get_child(c, APIV2_AUTHORIZERS); }
int apiv2_get_authorizers(svc_call_t *c) { return list_children(c, APIV2_AUTHORIZERS); }
int apiv2_delete_authorizer(svc_call_t *c) { return delete_child(c, APIV2_AUTHORIZERS); }
