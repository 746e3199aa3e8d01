/*
 * Deployments (a snapshot of the resource tree that stages serve), stages
 * (a name, the deployment it points at, stage variables), authorizers and
 * GetExport of a stage's deployment as OpenAPI 3.0 or Swagger 2.0 JSON.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static json_int_t now_s(void) { return (json_int_t)(kyoka_clock_now_ms() / 1000); }

static bool has_methods(json_t *resources)
{
    const char *id;
    json_t *r;
    json_object_foreach(resources, id, r) if (json_object_size(json_object_get(r, "resourceMethods")) > 0) return true;
    return false;
}

/* AWS: stage names are letters, digits, '-' and '_' (at most 128). */
static bool valid_stage_name(svc_call_t *c, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    bool ok = n > 0 && n <= 128;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = name[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
    }
    if (!ok)
        svc_error(c, "BadRequestException", 400, "Stage name only allows a-zA-Z0-9_");
    return ok;
}

/* Stage variable names and values (AWS: names [A-Za-z0-9_], values
 * [A-Za-z0-9-._~:/?#&=,] up to 512). */
static bool valid_variables(svc_call_t *c, json_t *vars)
{
    const char *k;
    json_t *v;
    json_object_foreach(vars, k, v) {
        bool ok = *k != '\0';
        for (const char *p = k; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok) {
            svc_error(c, "BadRequestException", 400, "Stage variable names must only contain alphanumeric and "
                                                     "underscore characters");
            return false;
        }
        if (json_string_length(v) > 512) {
            svc_error(c, "BadRequestException", 400, "Stage variable value must be at most 512 characters");
            return false;
        }
    }
    return true;
}

static json_t *new_stage(svc_call_t *c, const char *name, const char *deployment)
{
    json_int_t now = now_s();
    json_t *s = json_pack("{s:s,s:s,s:b,s:s,s:{},s:b,s:I,s:I}", "stageName", name, "deploymentId", deployment,
                          "cacheClusterEnabled", 0, "cacheClusterStatus", "NOT_AVAILABLE", "methodSettings",
                          "tracingEnabled", 0, "createdDate", now, "lastUpdatedDate", now);
    agw__set_opt(s, "description", svc_in(c, "stageDescription") ? svc_in(c, "stageDescription") : NULL);
    agw__set_opt(s, "variables", svc_in(c, "variables"));
    return s;
}

/* ================================================================ deployments */

int agw_create_deployment(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    if (!doc)
        return 0;
    json_t *resources = json_object_get(doc, "resources");
    if (!has_methods(resources)) {
        svc_error(c, "BadRequestException", 400, "The REST API doesn't contain any methods");
        return 0;
    }
    const char *stage = svc_in_str(c, "stageName");
    if (stage && !valid_stage_name(c, stage))
        return 0;
    if (!valid_variables(c, svc_in(c, "variables")))
        return 0;
    json_t *stages = json_object_get(doc, "stages");
    if (stage && !json_object_get(stages, stage) && json_object_size(stages) >= AGW_MAX_STAGES_PER_API) {
        svc_error(c, "LimitExceededException", 429, "Maximum number of stages for this API has been reached");
        return 0;
    }
    char id[8];
    do
        agw__new_id(id, 6);
    while (json_object_get(json_object_get(doc, "deployments"), id));
    json_t *d = json_pack("{s:s,s:I}", "id", id, "createdDate", now_s());
    agw__set_opt(d, "description", svc_in(c, "description"));
    json_object_set_new(d, "_snapshot", json_deep_copy(resources));
    json_object_set_new(json_object_get(doc, "deployments"), id, d);
    if (stage) {
        json_t *s = json_object_get(stages, stage);
        if (s) {
            json_object_set_new(s, "deploymentId", json_string(id));
            json_object_set_new(s, "lastUpdatedDate", json_integer(now_s()));
            if (svc_in(c, "variables"))
                json_object_update(json_object_get(s, "variables") ? json_object_get(s, "variables")
                                                                   : (json_object_set_new(s, "variables", json_object()),
                                                                      json_object_get(s, "variables")),
                                   svc_in(c, "variables"));
        } else {
            json_object_set_new(stages, stage, new_stage(c, stage, id));
        }
    }
    agw__save_api(c, doc);
    c->output = agw__copy_public(d);
    return 0;
}

static json_t *deployment_of(svc_call_t *c, json_t **doc_out)
{
    json_t *doc = agw__api_or_fail(c);
    const char *id = svc_in_str(c, "deploymentId");
    json_t *d = doc && id ? json_object_get(json_object_get(doc, "deployments"), id) : NULL;
    if (doc && !d)
        svc_error(c, "NotFoundException", 404, "Invalid Deployment identifier specified");
    if (doc_out)
        *doc_out = doc;
    return d;
}

int agw_get_deployment(svc_call_t *c)
{
    json_t *d = deployment_of(c, NULL);
    if (d)
        c->output = agw__copy_public(d);
    return 0;
}

static json_t *values_of(json_t *map)
{
    json_t *arr = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v) json_array_append(arr, v);
    return arr;
}

int agw_get_deployments(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    int limit;
    if (!doc || agw__bad_limit(c, &limit))
        return 0;
    json_t *all = values_of(json_object_get(doc, "deployments"));
    c->output = agw__items(all);
    json_decref(all);
    return 0;
}

int agw_delete_deployment(svc_call_t *c)
{
    json_t *doc;
    json_t *d = deployment_of(c, &doc);
    if (!d)
        return 0;
    const char *id = svc_in_str(c, "deploymentId");
    const char *name;
    json_t *s;
    json_object_foreach(json_object_get(doc, "stages"), name, s) {
        if (strcmp(json_string_value(json_object_get(s, "deploymentId")), id) == 0) {
            svc_error(c, "BadRequestException", 400,
                      "Active stages pointing to this deployment must be moved or deleted");
            return 0;
        }
    }
    json_object_del(json_object_get(doc, "deployments"), id);
    agw__save_api(c, doc);
    return 0;
}

/* ================================================================ stages */

int agw_create_stage(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    if (!doc)
        return 0;
    const char *name = svc_in_str(c, "stageName");
    const char *dep = svc_in_str(c, "deploymentId");
    if (!valid_stage_name(c, name) || !valid_variables(c, svc_in(c, "variables")))
        return 0;
    if (!json_object_get(json_object_get(doc, "deployments"), dep)) {
        svc_error(c, "NotFoundException", 404, "Invalid Deployment identifier specified");
        return 0;
    }
    json_t *stages = json_object_get(doc, "stages");
    if (json_object_get(stages, name)) {
        svc_error(c, "ConflictException", 409, "Stage already exists");
        return 0;
    }
    if (json_object_size(stages) >= AGW_MAX_STAGES_PER_API) {
        svc_error(c, "LimitExceededException", 429, "Maximum number of stages for this API has been reached");
        return 0;
    }
    json_t *s = new_stage(c, name, dep);
    agw__set_opt(s, "description", svc_in(c, "description"));
    agw__set_opt(s, "tracingEnabled", svc_in(c, "tracingEnabled"));
    agw__set_opt(s, "tags", svc_in(c, "tags"));
    json_object_set_new(stages, name, s);
    agw__save_api(c, doc);
    c->output = agw__copy_public(s);
    return 0;
}

static json_t *stage_of(svc_call_t *c, json_t **doc_out)
{
    json_t *doc = agw__api_or_fail(c);
    const char *name = svc_in_str(c, "stageName");
    json_t *s = doc && name ? json_object_get(json_object_get(doc, "stages"), name) : NULL;
    if (doc && !s)
        svc_error(c, "NotFoundException", 404, "Invalid stage identifier specified");
    if (doc_out)
        *doc_out = doc;
    return s;
}

int agw_get_stage(svc_call_t *c)
{
    json_t *s = stage_of(c, NULL);
    if (s)
        c->output = agw__copy_public(s);
    return 0;
}

int agw_get_stages(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    if (!doc)
        return 0;
    const char *dep = svc_in_str(c, "deploymentId");
    json_t *all = json_array();
    const char *name;
    json_t *s;
    json_object_foreach(json_object_get(doc, "stages"), name, s) {
        if (!dep || strcmp(json_string_value(json_object_get(s, "deploymentId")), dep) == 0)
            json_array_append_new(all, agw__copy_public(s));
    }
    c->output = json_pack("{s:o}", "item", all);
    return 0;
}

static const char *const stage_paths[] = {"description:s", "deploymentId:s", "tracingEnabled:b",
                                          "cacheClusterEnabled:b", "variables:m", NULL};

int agw_update_stage(svc_call_t *c)
{
    json_t *doc;
    json_t *s = stage_of(c, &doc);
    if (!s)
        return 0;
    json_t *copy = json_deep_copy(s);
    if (agw__patch(c, copy, stage_paths) != 0 || !valid_variables(c, json_object_get(copy, "variables"))) {
        json_decref(copy);
        return 0;
    }
    const char *dep = json_string_value(json_object_get(copy, "deploymentId"));
    if (!dep || !json_object_get(json_object_get(doc, "deployments"), dep)) {
        svc_error(c, "BadRequestException", 400, "Invalid deployment identifier specified");
        json_decref(copy);
        return 0;
    }
    json_object_set_new(copy, "lastUpdatedDate", json_integer(now_s()));
    json_object_clear(s);
    json_object_update(s, copy);
    json_decref(copy);
    agw__save_api(c, doc);
    c->output = agw__copy_public(s);
    return 0;
}

int agw_delete_stage(svc_call_t *c)
{
    json_t *doc;
    json_t *s = stage_of(c, &doc);
    if (!s)
        return 0;
    json_object_del(json_object_get(doc, "stages"), svc_in_str(c, "stageName"));
    agw__save_api(c, doc);
    return 0;
}

/* ================================================================ authorizers */

static bool valid_authorizer(svc_call_t *c, json_t *a)
{
    const char *type = json_string_value(json_object_get(a, "type"));
    if (!type || (strcmp(type, "TOKEN") != 0 && strcmp(type, "REQUEST") != 0 &&
                  strcmp(type, "COGNITO_USER_POOLS") != 0)) {
        svc_error(c, "BadRequestException", 400, "Invalid authorizer type specified");
        return false;
    }
    const char *uri = json_string_value(json_object_get(a, "authorizerUri"));
    if (strcmp(type, "COGNITO_USER_POOLS") != 0 && (!uri || strncmp(uri, "arn:aws:apigateway:", 19) != 0)) {
        svc_error(c, "BadRequestException", 400, "Invalid Authorizer URI specified");
        return false;
    }
    const char *src = json_string_value(json_object_get(a, "identitySource"));
    if (strcmp(type, "TOKEN") == 0 && (!src || strncmp(src, "method.request.header.", 22) != 0)) {
        svc_error(c, "BadRequestException", 400, "Invalid identity source specified: %s", src ? src : "");
        return false;
    }
    json_int_t ttl = json_integer_value(json_object_get(a, "authorizerResultTtlInSeconds"));
    if (ttl < 0 || ttl > 3600) {
        svc_error(c, "BadRequestException", 400, "Authorizer TTL must be between 0 and 3600 seconds");
        return false;
    }
    return true;
}

int agw_create_authorizer(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    if (!doc)
        return 0;
    json_t *auths = json_object_get(doc, "authorizers");
    if (json_object_size(auths) >= AGW_MAX_AUTHORIZERS_PER_API) {
        svc_error(c, "LimitExceededException", 429, "Maximum number of authorizers for this API has been reached");
        return 0;
    }
    char id[8];
    do
        agw__new_id(id, 6);
    while (json_object_get(auths, id));
    json_t *a = json_pack("{s:s,s:s,s:s,s:i}", "id", id, "name", svc_in_str(c, "name"), "type", svc_in_str(c, "type"),
                          "authorizerResultTtlInSeconds", 300);
    static const char *const optional[] = {"providerARNs", "authType", "authorizerUri", "authorizerCredentials",
                                           "identitySource", "identityValidationExpression",
                                           "authorizerResultTtlInSeconds", NULL};
    for (size_t i = 0; optional[i]; i++)
        agw__set_opt(a, optional[i], svc_in(c, optional[i]));
    if (!valid_authorizer(c, a)) {
        json_decref(a);
        return 0;
    }
    json_object_set_new(auths, id, a);
    agw__save_api(c, doc);
    c->output = agw__copy_public(a);
    return 0;
}

static json_t *authorizer_of(svc_call_t *c, json_t **doc_out)
{
    json_t *doc = agw__api_or_fail(c);
    const char *id = svc_in_str(c, "authorizerId");
    json_t *a = doc && id ? json_object_get(json_object_get(doc, "authorizers"), id) : NULL;
    if (doc && !a)
        svc_error(c, "NotFoundException", 404, "Invalid Authorizer identifier specified");
    if (doc_out)
        *doc_out = doc;
    return a;
}

int agw_get_authorizer(svc_call_t *c)
{
    json_t *a = authorizer_of(c, NULL);
    if (a)
        c->output = agw__copy_public(a);
    return 0;
}

int agw_get_authorizers(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    if (!doc)
        return 0;
    json_t *all = values_of(json_object_get(doc, "authorizers"));
    c->output = agw__items(all);
    json_decref(all);
    return 0;
}

static const char *const authorizer_paths[] = {
    "name:s", "type:s", "authorizerUri:s", "authorizerCredentials:s", "identitySource:s",
    "identityValidationExpression:s", "authorizerResultTtlInSeconds:i", "authType:s", NULL};

int agw_update_authorizer(svc_call_t *c)
{
    json_t *doc;
    json_t *a = authorizer_of(c, &doc);
    if (!a)
        return 0;
    json_t *copy = json_deep_copy(a);
    if (agw__patch(c, copy, authorizer_paths) != 0 || !valid_authorizer(c, copy)) {
        json_decref(copy);
        return 0;
    }
    json_object_clear(a);
    json_object_update(a, copy);
    json_decref(copy);
    agw__save_api(c, doc);
    c->output = agw__copy_public(a);
    return 0;
}

int agw_delete_authorizer(svc_call_t *c)
{
    json_t *doc;
    json_t *a = authorizer_of(c, &doc);
    if (!a)
        return 0;
    const char *id = svc_in_str(c, "authorizerId");
    const char *rid;
    json_t *r;
    json_object_foreach(json_object_get(doc, "resources"), rid, r) {
        const char *verb;
        json_t *m;
        json_object_foreach(json_object_get(r, "resourceMethods"), verb, m) {
            const char *used = json_string_value(json_object_get(m, "authorizerId"));
            if (used && strcmp(used, id) == 0) {
                svc_error(c, "ConflictException", 409, "Cannot delete authorizer '%s', is referenced in method: "
                                                       "'%s:%s'", json_string_value(json_object_get(a, "name")), verb,
                          json_string_value(json_object_get(r, "path")));
                return 0;
            }
        }
    }
    json_object_del(json_object_get(doc, "authorizers"), id);
    agw__save_api(c, doc);
    return 0;
}

/* ================================================================ export */

/* One OpenAPI operation object for a method: its responses, and the
 * x-amazon-apigateway-integration extension AWS adds with
 * extensions=integrations (kept out otherwise, as AWS does). */
static json_t *export_operation(json_t *m, bool integrations, bool oas3)
{
    json_t *op = json_object();
    json_t *responses = json_object();
    const char *code;
    json_t *mr;
    json_object_foreach(json_object_get(m, "methodResponses"), code, mr)
        json_object_set_new(responses, code, json_pack("{s:s}", "description", code[0] == '2' ? "OK" : code));
    json_object_set_new(op, "responses", responses);
    json_t *params = json_array();
    const char *p;
    json_t *req;
    json_object_foreach(json_object_get(m, "requestParameters"), p, req) {
        const char *in = strncmp(p, "method.request.path.", 20) == 0          ? "path"
                         : strncmp(p, "method.request.querystring.", 27) == 0 ? "query"
                         : strncmp(p, "method.request.header.", 22) == 0      ? "header"
                                                                                : NULL;
        if (!in)
            continue;
        json_t *param = json_pack("{s:s,s:s,s:b}", "name", strrchr(p, '.') + 1, "in", in, "required",
                                  strcmp(in, "path") == 0 || json_is_true(req));
        json_object_set_new(param, oas3 ? "schema" : "type", oas3 ? json_pack("{s:s}", "type", "string")
                                                               : json_string("string"));
        json_array_append_new(params, param);
    }
    if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
    else
        json_decref(params);
    const char *auth = json_string_value(json_object_get(m, "authorizationType"));
    if (auth && strcmp(auth, "AWS_IAM") == 0)
        json_object_set_new(op, "security", json_pack("[{s:[]}]", "sigv4"));
    if (json_is_true(json_object_get(m, "apiKeyRequired")))
        json_object_set_new(op, "security", json_pack("[{s:[]}]", "api_key"));
    json_t *in = json_object_get(m, "methodIntegration");
    if (integrations && in) {
        json_t *x = json_pack("{s:O}", "type", json_object_get(in, "type"));
        json_object_set_new(x, "type", json_string(json_string_value(json_object_get(in, "type"))));
        static const char *const keys[] = {"uri", "httpMethod", "credentials", "requestParameters",
                                           "requestTemplates", "passthroughBehavior", "timeoutInMillis", NULL};
        for (size_t i = 0; keys[i]; i++)
            agw__set_opt(x, keys[i], json_object_get(in, keys[i]));
        json_t *rs = json_object();
        json_t *ir;
        json_object_foreach(json_object_get(in, "integrationResponses"), code, ir) {
            const char *sel = json_string_value(json_object_get(ir, "selectionPattern"));
            json_t *e = json_pack("{s:s}", "statusCode", code);
            agw__set_opt(e, "responseTemplates", json_object_get(ir, "responseTemplates"));
            agw__set_opt(e, "responseParameters", json_object_get(ir, "responseParameters"));
            json_object_set_new(rs, sel && *sel ? sel : "default", e);
        }
        json_object_set_new(x, "responses", rs);
        json_object_set_new(op, "x-amazon-apigateway-integration", x);
    }
    return op;
}

static json_t *export_document(svc_call_t *c, json_t *doc, json_t *stage, bool oas3)
{
    json_t *api = json_object_get(doc, "api");
    const char *stage_name = json_string_value(json_object_get(stage, "stageName"));
    json_t *dep = json_object_get(json_object_get(doc, "deployments"),
                                  json_string_value(json_object_get(stage, "deploymentId")));
    const char *ext = json_string_value(json_object_get(svc_in(c, "parameters"), "extensions"));
    bool integrations = ext && strstr(ext, "integrations");
    json_t *info = json_pack("{s:s,s:s}", "title", json_string_value(json_object_get(api, "name")), "version",
                             json_string_value(json_object_get(api, "version")) ? json_string_value(json_object_get(api, "version"))
                                                                                : arena_sprintf(c->arena, "%lld",
                                                                                                (long long)json_integer_value(json_object_get(dep, "createdDate"))));
    agw__set_opt(info, "description", json_object_get(api, "description"));
    json_t *paths = json_object();
    const char *rid;
    json_t *r;
    json_object_foreach(json_object_get(dep, "_snapshot"), rid, r) {
        json_t *methods = json_object_get(r, "resourceMethods");
        if (!json_object_size(methods))
            continue;
        json_t *item = json_object();
        const char *verb;
        json_t *m;
        json_object_foreach(methods, verb, m) {
            char lower[16];
            size_t n = strlen(verb) < sizeof lower - 1 ? strlen(verb) : sizeof lower - 1;
            for (size_t i = 0; i < n; i++)
                lower[i] = (char)(verb[i] | 0x20);
            lower[n] = '\0';
            json_object_set_new(item, strcmp(verb, "ANY") == 0 ? "x-amazon-apigateway-any-method" : lower,
                                export_operation(m, integrations, oas3));
        }
        json_object_set_new(paths, json_string_value(json_object_get(r, "path")), item);
    }
    const char *host = arena_sprintf(c->arena, "%s.execute-api.%s.amazonaws.com",
                                     json_string_value(json_object_get(api, "id")), agw__region(c));
    if (oas3)
        return json_pack("{s:s,s:o,s:[{s:s,s:{s:{s:s}}}],s:o,s:{}}", "openapi", "3.0.1", "info", info, "servers", "url",
                         arena_sprintf(c->arena, "https://%s/{basePath}", host), "variables", "basePath", "default",
                         stage_name, "paths", paths, "components");
    return json_pack("{s:s,s:o,s:s,s:s,s:[s],s:o}", "swagger", "2.0", "info", info, "host", host, "basePath",
                     arena_sprintf(c->arena, "/%s", stage_name), "schemes", "https", "paths", paths);
}

int agw_get_export(svc_call_t *c)
{
    json_t *doc;
    json_t *s = stage_of(c, &doc);
    if (!s)
        return 0;
    const char *type = svc_in_str(c, "exportType");
    bool oas3 = strcmp(type, "oas30") == 0;
    if (!oas3 && strcmp(type, "swagger") != 0) {
        svc_error(c, "BadRequestException", 400, "No API exporter for type '%s'", type);
        return 0;
    }
    const char *accepts = svc_in_str(c, "accepts");
    if (accepts && strstr(accepts, "yaml")) {
        svc_error(c, "BadRequestException", 400, "kyoka exports JSON only (Accept: application/json)");
        return 0;
    }
    json_t *out = export_document(c, doc, s, oas3);
    char *text = proto_json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(out);
    c->output = json_pack("{s:s,s:s,s:s}", "contentType", "application/octet-stream", "contentDisposition",
                          arena_sprintf(c->arena, "attachment; filename=\"%s_%s.json\"", oas3 ? "oas30" : "swagger",
                                        json_string_value(json_object_get(s, "stageName"))),
                          "body", text ? text : "{}");
    free(text);
    return 0;
}
