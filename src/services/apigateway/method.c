/*
 * Methods on resources, their integrations, and the method and integration
 * responses under them. A method is stored whole inside its resource
 * (resourceMethods.{VERB}), with methodIntegration and methodResponses as
 * AWS returns them from GetMethod.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static bool valid_verb(const char *m)
{
    static const char *const verbs[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY", NULL};
    for (size_t i = 0; verbs[i]; i++)
        if (strcmp(m, verbs[i]) == 0)
            return true;
    return false;
}

static bool valid_auth_type(const char *t)
{
    return strcmp(t, "NONE") == 0 || strcmp(t, "AWS_IAM") == 0 || strcmp(t, "CUSTOM") == 0 ||
           strcmp(t, "COGNITO_USER_POOLS") == 0;
}

/* Look up api, resource and method from the input; NULL with the error set. */
static json_t *method_of(svc_call_t *c, json_t **doc_out)
{
    json_t *doc = agw__api_or_fail(c);
    json_t *r = doc ? agw__resource_or_fail(c, doc) : NULL;
    json_t *m = r ? agw__method_or_fail(c, r) : NULL;
    if (doc_out)
        *doc_out = doc;
    return m;
}

/* CUSTOM and COGNITO_USER_POOLS methods name an authorizer of the API. */
static bool check_authorizer(svc_call_t *c, json_t *doc, json_t *method)
{
    const char *type = json_string_value(json_object_get(method, "authorizationType"));
    if (!valid_auth_type(type)) {
        svc_error(c, "BadRequestException", 400, "Invalid authorization type specified");
        return false;
    }
    if (strcmp(type, "CUSTOM") != 0 && strcmp(type, "COGNITO_USER_POOLS") != 0)
        return true;
    const char *aid = json_string_value(json_object_get(method, "authorizerId"));
    if (!aid || !json_object_get(json_object_get(doc, "authorizers"), aid)) {
        svc_error(c, "BadRequestException", 400, "Invalid authorizer ID specified. Setting the authorization type to "
                                                 "%s requires a valid authorizer.", type);
        return false;
    }
    return true;
}

/* ================================================================ methods */

int agw_put_method(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    json_t *r = doc ? agw__resource_or_fail(c, doc) : NULL;
    if (!r)
        return 0;
    const char *verb = svc_in_str(c, "httpMethod");
    if (!valid_verb(verb)) {
        svc_error(c, "BadRequestException", 400, "Invalid HttpMethod specified. Valid options are "
                                                 "GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY");
        return 0;
    }
    json_t *methods = json_object_get(r, "resourceMethods");
    if (json_object_get(methods, verb)) {
        svc_error(c, "ConflictException", 409, "Method already exists for this resource");
        return 0;
    }
    json_t *m = json_pack("{s:s,s:s,s:b}", "httpMethod", verb, "authorizationType", svc_in_str(c, "authorizationType"),
                          "apiKeyRequired", json_is_true(svc_in(c, "apiKeyRequired")));
    static const char *const optional[] = {"authorizerId", "operationName", "requestParameters", "requestModels",
                                           "requestValidatorId", "authorizationScopes", NULL};
    for (size_t i = 0; optional[i]; i++)
        agw__set_opt(m, optional[i], svc_in(c, optional[i]));
    if (!check_authorizer(c, doc, m)) {
        json_decref(m);
        return 0;
    }
    if (!methods) {
        methods = json_object();
        json_object_set_new(r, "resourceMethods", methods);
    }
    json_object_set_new(methods, verb, m);
    agw__save_api(c, doc);
    c->output = agw__copy_public(m);
    return 0;
}

int agw_get_method(svc_call_t *c)
{
    json_t *m = method_of(c, NULL);
    if (m)
        c->output = agw__copy_public(m);
    return 0;
}

static const char *const method_paths[] = {
    "authorizationType:s", "authorizerId:s", "apiKeyRequired:b", "operationName:s", "requestValidatorId:s",
    "requestParameters:M", "requestModels:m", "authorizationScopes:l", NULL};

int agw_update_method(svc_call_t *c)
{
    json_t *doc;
    json_t *m = method_of(c, &doc);
    if (!m)
        return 0;
    json_t *copy = json_deep_copy(m);
    if (agw__patch(c, copy, method_paths) != 0 || !check_authorizer(c, doc, copy)) {
        json_decref(copy);
        return 0;
    }
    json_object_clear(m);
    json_object_update(m, copy);
    json_decref(copy);
    agw__save_api(c, doc);
    c->output = agw__copy_public(m);
    return 0;
}

int agw_delete_method(svc_call_t *c)
{
    json_t *doc;
    json_t *m = method_of(c, &doc);
    if (!m)
        return 0;
    json_t *r = agw__resource_or_fail(c, doc);
    json_object_del(json_object_get(r, "resourceMethods"), svc_in_str(c, "httpMethod"));
    agw__save_api(c, doc);
    return 0;
}

/* ================================================================ integrations */

static bool valid_integration(svc_call_t *c, json_t *in)
{
    const char *type = json_string_value(json_object_get(in, "type"));
    static const char *const types[] = {"MOCK", "AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY", NULL};
    bool known = false;
    for (size_t i = 0; type && types[i]; i++)
        known |= strcmp(type, types[i]) == 0;
    if (!known) {
        svc_error(c, "BadRequestException", 400, "Invalid integration type specified");
        return false;
    }
    if (strcmp(type, "MOCK") == 0)
        return true;
    const char *verb = json_string_value(json_object_get(in, "httpMethod"));
    if (!verb || !*verb) {
        svc_error(c, "BadRequestException", 400, "Enumeration value for HttpMethod must be non-empty");
        return false;
    }
    if (!valid_verb(verb)) {
        svc_error(c, "BadRequestException", 400, "Invalid HttpMethod specified. Valid options are "
                                                 "GET,PUT,POST,DELETE,PATCH,OPTIONS,HEAD,ANY");
        return false;
    }
    const char *uri = json_string_value(json_object_get(in, "uri"));
    bool aws = strncmp(type, "AWS", 3) == 0;
    if (!uri || (aws && strncmp(uri, "arn:aws:apigateway:", 19) != 0) ||
        (!aws && strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)) {
        svc_error(c, "BadRequestException", 400, aws ? "AWS ARN for integration must contain path or action"
                                                     : "Invalid HTTP endpoint specified for URI");
        return false;
    }
    if (strcmp(type, "AWS_PROXY") == 0 && !strstr(uri, ":lambda:path/")) {
        svc_error(c, "BadRequestException", 400, "Integrations of type 'AWS_PROXY' currently only supports Lambda "
                                                 "function and Firehose stream invocations.");
        return false;
    }
    const char *pb = json_string_value(json_object_get(in, "passthroughBehavior"));
    if (pb && strcmp(pb, "WHEN_NO_MATCH") != 0 && strcmp(pb, "WHEN_NO_TEMPLATES") != 0 && strcmp(pb, "NEVER") != 0) {
        svc_error(c, "BadRequestException", 400, "Invalid passthrough behavior specified");
        return false;
    }
    json_int_t to = json_integer_value(json_object_get(in, "timeoutInMillis"));
    if (json_object_get(in, "timeoutInMillis") && (to < 50 || to > 29000)) {
        svc_error(c, "BadRequestException", 400, "Timeout should be between 50 ms and 29000 ms");
        return false;
    }
    return true;
}

static bool templates_fit(svc_call_t *c, json_t *templates)
{
    const char *k;
    json_t *v;
    json_object_foreach(templates, k, v) {
        if (json_string_length(v) > AGW_MAX_TEMPLATE_BYTES) {
            svc_error(c, "BadRequestException", 400, "Mapping template for %s is larger than %d bytes", k,
                      AGW_MAX_TEMPLATE_BYTES);
            return false;
        }
    }
    return true;
}

int agw_put_integration(svc_call_t *c)
{
    json_t *doc;
    json_t *m = method_of(c, &doc);
    if (!m)
        return 0;
    json_t *in = json_pack("{s:s,s:s,s:s,s:i,s:[]}", "type", svc_in_str(c, "type"), "passthroughBehavior",
                           "WHEN_NO_MATCH", "cacheNamespace", svc_in_str(c, "resourceId"), "timeoutInMillis", 29000,
                           "cacheKeyParameters");
    agw__set_opt(in, "httpMethod", svc_in(c, "integrationHttpMethod"));
    static const char *const optional[] = {"uri", "connectionType", "connectionId", "credentials",
                                           "requestParameters", "requestTemplates", "passthroughBehavior",
                                           "cacheNamespace", "cacheKeyParameters", "contentHandling",
                                           "timeoutInMillis", "tlsConfig", NULL};
    for (size_t i = 0; optional[i]; i++)
        agw__set_opt(in, optional[i], svc_in(c, optional[i]));
    if (!valid_integration(c, in) || !templates_fit(c, json_object_get(in, "requestTemplates"))) {
        json_decref(in);
        return 0;
    }
    json_object_set_new(m, "methodIntegration", in);
    agw__save_api(c, doc);
    c->output = agw__copy_public(in);
    return 0;
}

static json_t *integration_of(svc_call_t *c, json_t **doc)
{
    json_t *m = method_of(c, doc);
    json_t *in = m ? json_object_get(m, "methodIntegration") : NULL;
    if (m && !in)
        svc_error(c, "NotFoundException", 404, "No integration defined for method");
    return in;
}

int agw_get_integration(svc_call_t *c)
{
    json_t *in = integration_of(c, NULL);
    if (in)
        c->output = agw__copy_public(in);
    return 0;
}

static const char *const integration_paths[] = {
    "type:s", "httpMethod:s", "uri:s", "credentials:s", "passthroughBehavior:s", "contentHandling:s",
    "timeoutInMillis:i", "connectionType:s", "connectionId:s", "cacheNamespace:s", "requestParameters:m",
    "requestTemplates:m", "cacheKeyParameters:l", NULL};

int agw_update_integration(svc_call_t *c)
{
    json_t *doc;
    json_t *in = integration_of(c, &doc);
    if (!in)
        return 0;
    json_t *copy = json_deep_copy(in);
    if (agw__patch(c, copy, integration_paths) != 0 || !valid_integration(c, copy) ||
        !templates_fit(c, json_object_get(copy, "requestTemplates"))) {
        json_decref(copy);
        return 0;
    }
    json_object_clear(in);
    json_object_update(in, copy);
    json_decref(copy);
    agw__save_api(c, doc);
    c->output = agw__copy_public(in);
    return 0;
}

int agw_delete_integration(svc_call_t *c)
{
    json_t *doc;
    json_t *in = integration_of(c, &doc);
    if (!in)
        return 0;
    json_object_del(method_of(c, NULL), "methodIntegration");
    agw__save_api(c, doc);
    return 0;
}

/* ================================================================ responses */

static bool valid_status(svc_call_t *c, const char *s)
{
    if (!s || strlen(s) != 3 || s[0] < '1' || s[0] > '5' || s[1] < '0' || s[1] > '9' || s[2] < '0' || s[2] > '9') {
        svc_error(c, "BadRequestException", 400, "Invalid status code specified");
        return false;
    }
    return true;
}

static json_t *child(json_t *parent, const char *map, const char *key)
{
    return json_object_get(json_object_get(parent, map), key);
}

int agw_put_method_response(svc_call_t *c)
{
    json_t *doc;
    json_t *m = method_of(c, &doc);
    const char *code = svc_in_str(c, "statusCode");
    if (!m || !valid_status(c, code))
        return 0;
    json_t *mr = json_pack("{s:s}", "statusCode", code);
    agw__set_opt(mr, "responseParameters", svc_in(c, "responseParameters"));
    agw__set_opt(mr, "responseModels", svc_in(c, "responseModels"));
    json_t *map = json_object_get(m, "methodResponses");
    if (!map) {
        map = json_object();
        json_object_set_new(m, "methodResponses", map);
    }
    json_object_set_new(map, code, mr);
    agw__save_api(c, doc);
    c->output = agw__copy_public(mr);
    return 0;
}

static json_t *method_response_of(svc_call_t *c, json_t **doc, json_t **method)
{
    json_t *m = method_of(c, doc);
    json_t *mr = m ? child(m, "methodResponses", svc_in_str(c, "statusCode")) : NULL;
    if (m && !mr)
        svc_error(c, "NotFoundException", 404, "Invalid Response status code specified");
    if (method)
        *method = m;
    return mr;
}

int agw_get_method_response(svc_call_t *c)
{
    json_t *mr = method_response_of(c, NULL, NULL);
    if (mr)
        c->output = agw__copy_public(mr);
    return 0;
}

static const char *const method_response_paths[] = {"responseParameters:M", "responseModels:m", NULL};

int agw_update_method_response(svc_call_t *c)
{
    json_t *doc;
    json_t *mr = method_response_of(c, &doc, NULL);
    if (!mr || agw__patch(c, mr, method_response_paths) != 0)
        return 0;
    agw__save_api(c, doc);
    c->output = agw__copy_public(mr);
    return 0;
}

int agw_delete_method_response(svc_call_t *c)
{
    json_t *doc, *m;
    json_t *mr = method_response_of(c, &doc, &m);
    if (!mr)
        return 0;
    json_object_del(json_object_get(m, "methodResponses"), svc_in_str(c, "statusCode"));
    agw__save_api(c, doc);
    return 0;
}

/* AWS requires the method response of the same status code to exist. */
int agw_put_integration_response(svc_call_t *c)
{
    json_t *doc;
    json_t *in = integration_of(c, &doc);
    const char *code = svc_in_str(c, "statusCode");
    if (!in || !valid_status(c, code))
        return 0;
    if (!child(method_of(c, NULL), "methodResponses", code)) {
        svc_error(c, "NotFoundException", 404, "Invalid Response status code specified");
        return 0;
    }
    json_t *ir = json_pack("{s:s}", "statusCode", code);
    static const char *const optional[] = {"selectionPattern", "responseParameters", "responseTemplates",
                                           "contentHandling", NULL};
    for (size_t i = 0; optional[i]; i++)
        agw__set_opt(ir, optional[i], svc_in(c, optional[i]));
    if (!templates_fit(c, json_object_get(ir, "responseTemplates"))) {
        json_decref(ir);
        return 0;
    }
    json_t *map = json_object_get(in, "integrationResponses");
    if (!map) {
        map = json_object();
        json_object_set_new(in, "integrationResponses", map);
    }
    json_object_set_new(map, code, ir);
    agw__save_api(c, doc);
    c->output = agw__copy_public(ir);
    return 0;
}

static json_t *integration_response_of(svc_call_t *c, json_t **doc, json_t **integ)
{
    json_t *in = integration_of(c, doc);
    json_t *ir = in ? child(in, "integrationResponses", svc_in_str(c, "statusCode")) : NULL;
    if (in && !ir)
        svc_error(c, "NotFoundException", 404, "Invalid Response status code specified");
    if (integ)
        *integ = in;
    return ir;
}

int agw_get_integration_response(svc_call_t *c)
{
    json_t *ir = integration_response_of(c, NULL, NULL);
    if (ir)
        c->output = agw__copy_public(ir);
    return 0;
}

static const char *const integration_response_paths[] = {"selectionPattern:s", "contentHandling:s",
                                                         "responseParameters:m", "responseTemplates:m", NULL};

int agw_update_integration_response(svc_call_t *c)
{
    json_t *doc;
    json_t *ir = integration_response_of(c, &doc, NULL);
    if (!ir || agw__patch(c, ir, integration_response_paths) != 0)
        return 0;
    agw__save_api(c, doc);
    c->output = agw__copy_public(ir);
    return 0;
}

int agw_delete_integration_response(svc_call_t *c)
{
    json_t *doc, *in;
    json_t *ir = integration_response_of(c, &doc, &in);
    if (!ir)
        return 0;
    json_object_del(json_object_get(in, "integrationResponses"), svc_in_str(c, "statusCode"));
    agw__save_api(c, doc);
    return 0;
}
