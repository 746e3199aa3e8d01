/*
 * REST APIs and their resource trees: CreateRestApi makes the root resource
 * "/"; CreateResource adds a path part under a parent ({param} and greedy
 * {proxy+} allowed, one variable part per parent as AWS requires).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/banned.h"

static json_int_t now_s(void) { return (json_int_t)(kyoka_clock_now_ms() / 1000); }

/* ================================================================ REST APIs */

int agw_create_rest_api(svc_call_t *c)
{
    agw_state_t *st = c->state;
    const char *name = svc_in_str(c, "name");
    if (!name || !*name) {
        svc_error(c, "BadRequestException", 400, "Invalid REST API name specified");
        return 0;
    }
    char id[16], root[16];
    do
        agw__new_id(id, 10);
    while (json_object_get(st->apis, id));
    agw__new_id(root, 10);
    json_t *api = json_pack("{s:s,s:s,s:I,s:s,s:{s:[s]},s:b}", "id", id, "name", name, "createdDate", now_s(),
                            "apiKeySource", "HEADER", "endpointConfiguration", "types", "EDGE",
                            "disableExecuteApiEndpoint", 0);
    agw__set_opt(api, "description", svc_in(c, "description"));
    agw__set_opt(api, "version", svc_in(c, "version"));
    agw__set_opt(api, "binaryMediaTypes", svc_in(c, "binaryMediaTypes"));
    agw__set_opt(api, "minimumCompressionSize", svc_in(c, "minimumCompressionSize"));
    agw__set_opt(api, "apiKeySource", svc_in(c, "apiKeySource"));
    agw__set_opt(api, "endpointConfiguration", svc_in(c, "endpointConfiguration"));
    agw__set_opt(api, "policy", svc_in(c, "policy"));
    agw__set_opt(api, "disableExecuteApiEndpoint", svc_in(c, "disableExecuteApiEndpoint"));
    json_object_set_new(api, "tags", svc_in(c, "tags") ? json_deep_copy(svc_in(c, "tags")) : json_object());
    json_t *resources = json_object();
    json_object_set_new(resources, root, json_pack("{s:s,s:s}", "id", root, "path", "/"));
    json_t *doc = json_pack("{s:s,s:o,s:o,s:{},s:{},s:{}}", "region", agw__region(c), "api", api, "resources",
                            resources, "deployments", "stages", "authorizers");
    json_object_set_new(doc, "root", json_string(root));
    json_object_set_new(st->apis, id, doc);
    agw__save_api(c, doc);
    c->output = agw__copy_public(api);
    json_object_set_new(c->output, "rootResourceId", json_string(root));
    return 0;
}

static json_t *api_output(json_t *doc)
{
    json_t *out = agw__copy_public(json_object_get(doc, "api"));
    json_object_set(out, "rootResourceId", json_object_get(doc, "root"));
    return out;
}

int agw_get_rest_api(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    if (doc)
        c->output = api_output(doc);
    return 0;
}

/* Paged by position: the id to start after, in creation order. */
int agw_get_rest_apis(svc_call_t *c)
{
    agw_state_t *st = c->state;
    int limit;
    if (agw__bad_limit(c, &limit))
        return 0;
    const char *position = svc_in_str(c, "position");
    json_t *items = json_array();
    bool started = position == NULL;
    const char *id;
    json_t *doc;
    json_object_foreach(st->apis, id, doc) {
        if (strcmp(json_string_value(json_object_get(doc, "region")), agw__region(c)) != 0)
            continue;
        if (!started) {
            started = strcmp(id, position) == 0;
            continue;
        }
        if ((int)json_array_size(items) == limit) {
            c->output = json_pack("{s:o,s:s}", "items", items, "position",
                                  json_string_value(json_object_get(json_array_get(items, limit - 1), "id")));
            return 0;
        }
        json_array_append_new(items, api_output(doc));
    }
    c->output = json_pack("{s:o}", "items", items);
    return 0;
}

static const char *const rest_api_paths[] = {
    "name:s", "description:s", "version:s", "apiKeySource:s", "minimumCompressionSize:i", "policy:s",
    "disableExecuteApiEndpoint:b", "binaryMediaTypes:l", NULL};

int agw_update_rest_api(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    if (!doc)
        return 0;
    json_t *api = json_object_get(doc, "api");
    json_t *copy = json_deep_copy(api);
    if (agw__patch(c, copy, rest_api_paths) != 0) {
        json_decref(copy);
        return 0;
    }
    const char *src = json_string_value(json_object_get(copy, "apiKeySource"));
    if (src && strcmp(src, "HEADER") != 0 && strcmp(src, "AUTHORIZER") != 0) {
        svc_error(c, "BadRequestException", 400, "Invalid API Key source specified");
        json_decref(copy);
        return 0;
    }
    json_object_set_new(doc, "api", copy);
    agw__save_api(c, doc);
    c->output = api_output(doc);
    return 0;
}

int agw_delete_rest_api(svc_call_t *c)
{
    agw_state_t *st = c->state;
    json_t *doc = agw__api_or_fail(c);
    if (!doc)
        return 0;
    const char *id = svc_in_str(c, "restApiId");
    agw__drop(st, "restapi", id);
    json_object_del(st->apis, id);
    return 0;
}

/* ================================================================ resources */

/* AWS: "Resource's path part only allow a-zA-Z0-9._- and curly braces at the
 * beginning and the end and an optional plus sign before the closing brace." */
static bool valid_path_part(const char *p, bool *variable)
{
    size_t n = strlen(p);
    *variable = false;
    if (n == 0 || n > 512)
        return false;
    size_t from = 0, to = n;
    if (p[0] == '{') {
        if (n < 3 || p[n - 1] != '}')
            return false;
        *variable = true;
        from = 1;
        to = n - 1;
        if (p[to - 1] == '+')
            to--;
        if (to <= from)
            return false;
    }
    for (size_t i = from; i < to; i++) {
        char ch = p[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '_' || ch == '-' || (!*variable && ch == ':');
        if (!ok)
            return false;
    }
    return true;
}

/* A resource for output: resourceMethods as AWS lists them, each method
 * whole when embed=methods was asked, else only its name's key. */
static json_t *resource_output(json_t *r, bool embed)
{
    json_t *out = agw__copy_public(r);
    json_t *methods = json_object_get(out, "resourceMethods");
    if (methods && !embed) {
        const char *m;
        json_t *v;
        json_object_foreach(methods, m, v) json_object_set_new(methods, m, json_object());
    }
    if (methods && json_object_size(methods) == 0)
        json_object_del(out, "resourceMethods");
    return out;
}

static bool wants_methods(svc_call_t *c)
{
    json_t *embed = svc_in(c, "embed");
    size_t i;
    json_t *v;
    json_array_foreach(embed, i, v) if (strcmp(json_string_value(v), "methods") == 0) return true;
    return false;
}

int agw_get_resources(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    int limit;
    if (!doc || agw__bad_limit(c, &limit))
        return 0;
    bool embed = wants_methods(c);
    json_t *items = json_array();
    const char *id;
    json_t *r;
    json_object_foreach(json_object_get(doc, "resources"), id, r) json_array_append_new(items, resource_output(r, embed));
    c->output = json_pack("{s:o}", "items", items);
    return 0;
}

int agw_get_resource(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    json_t *r = doc ? agw__resource_or_fail(c, doc) : NULL;
    if (r)
        c->output = resource_output(r, wants_methods(c));
    return 0;
}

/* Whether a sibling under parent has pathPart (conflict), or a variable part
 * when adding one (AWS allows one variable path part per parent). */
static bool sibling_conflict(svc_call_t *c, json_t *resources, const char *parent, const char *part, bool variable,
                             const char *self)
{
    const char *id;
    json_t *r;
    json_object_foreach(resources, id, r) {
        const char *p = json_string_value(json_object_get(r, "parentId"));
        const char *pp = json_string_value(json_object_get(r, "pathPart"));
        if (!p || strcmp(p, parent) != 0 || !pp || (self && strcmp(id, self) == 0))
            continue;
        if (strcmp(pp, part) == 0) {
            svc_error(c, "ConflictException", 409, "Another resource with the same parent already has this name: %s",
                      part);
            return true;
        }
        if (variable && pp[0] == '{') {
            svc_error(c, "BadRequestException", 400,
                      "A sibling (%s) of this resource already has a variable path part -- only one is allowed", pp);
            return true;
        }
    }
    return false;
}

static const char *child_path(svc_call_t *c, json_t *parent, const char *part)
{
    const char *pp = json_string_value(json_object_get(parent, "path"));
    return strcmp(pp, "/") == 0 ? arena_sprintf(c->arena, "/%s", part) : arena_sprintf(c->arena, "%s/%s", pp, part);
}

static bool check_path_part(svc_call_t *c, json_t *resources, json_t *parent, const char *parent_id, const char *part,
                            const char *self)
{
    bool variable;
    if (!valid_path_part(part, &variable)) {
        svc_error(c, "BadRequestException", 400,
                  "Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an "
                  "optional plus sign before the closing brace.");
        return false;
    }
    const char *ppart = json_string_value(json_object_get(parent, "pathPart"));
    if (ppart && ppart[0] == '{' && strstr(ppart, "+}")) {
        svc_error(c, "BadRequestException", 400, "Cannot create a child of a resource with a greedy path variable: %s",
                  json_string_value(json_object_get(parent, "path")));
        return false;
    }
    return !sibling_conflict(c, resources, parent_id, part, variable, self);
}

int agw_create_resource(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    if (!doc)
        return 0;
    json_t *resources = json_object_get(doc, "resources");
    const char *parent_id = svc_in_str(c, "parentId");
    json_t *parent = json_object_get(resources, parent_id);
    if (!parent) {
        svc_error(c, "NotFoundException", 404, "Invalid Resource identifier specified");
        return 0;
    }
    const char *part = svc_in_str(c, "pathPart");
    if (!check_path_part(c, resources, parent, parent_id, part, NULL))
        return 0;
    if (json_object_size(resources) >= AGW_MAX_RESOURCES_PER_API) {
        svc_error(c, "LimitExceededException", 429, "Maximum number of Resources for this API has been reached");
        return 0;
    }
    char id[16];
    do
        agw__new_id(id, 10);
    while (json_object_get(resources, id));
    json_t *r = json_pack("{s:s,s:s,s:s,s:s}", "id", id, "parentId", parent_id, "pathPart", part, "path",
                          child_path(c, parent, part));
    json_object_set_new(resources, id, r);
    agw__save_api(c, doc);
    c->output = resource_output(r, false);
    return 0;
}

/* Rewrite the paths of everything under r after r's own path changed. */
static void repath_children(json_t *resources, json_t *r)
{
    const char *rid = json_string_value(json_object_get(r, "id"));
    const char *rpath = json_string_value(json_object_get(r, "path"));
    const char *id;
    json_t *ch;
    json_object_foreach(resources, id, ch) {
        const char *p = json_string_value(json_object_get(ch, "parentId"));
        if (!p || strcmp(p, rid) != 0)
            continue;
        const char *part = json_string_value(json_object_get(ch, "pathPart"));
        size_t n = strlen(rpath) + strlen(part) + 2;
        char *np = xmalloc(n);
        snprintf(np, n, "%s/%s", strcmp(rpath, "/") == 0 ? "" : rpath, part);
        json_object_set_new(ch, "path", json_string(np));
        free(np);
        repath_children(resources, ch);
    }
}

static const char *const resource_paths[] = {"pathPart:s", "parentId:s", NULL};

int agw_update_resource(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    json_t *r = doc ? agw__resource_or_fail(c, doc) : NULL;
    if (!r)
        return 0;
    json_t *resources = json_object_get(doc, "resources");
    json_t *copy = json_deep_copy(r);
    if (agw__patch(c, copy, resource_paths) != 0) {
        json_decref(copy);
        return 0;
    }
    const char *parent_id = json_string_value(json_object_get(copy, "parentId"));
    json_t *parent = parent_id ? json_object_get(resources, parent_id) : NULL;
    const char *part = json_string_value(json_object_get(copy, "pathPart"));
    if (!parent_id || !part) {
        svc_error(c, "BadRequestException", 400, "Cannot update the root resource");
        json_decref(copy);
        return 0;
    }
    if (!parent) {
        svc_error(c, "NotFoundException", 404, "Invalid Resource identifier specified");
        json_decref(copy);
        return 0;
    }
    if (!check_path_part(c, resources, parent, parent_id, part, svc_in_str(c, "resourceId"))) {
        json_decref(copy);
        return 0;
    }
    json_object_set_new(copy, "path", json_string(child_path(c, parent, part)));
    json_object_clear(r);
    json_object_update(r, copy);
    json_decref(copy);
    repath_children(resources, r);
    agw__save_api(c, doc);
    c->output = resource_output(r, false);
    return 0;
}

/* Delete rid and every resource under it: the ids are gathered first, so
 * the map is not changed while it is walked. */
static void delete_subtree(json_t *resources, const char *rid)
{
    json_t *doomed = json_pack("[s]", rid);
    for (size_t i = 0; i < json_array_size(doomed); i++) {
        const char *pid = json_string_value(json_array_get(doomed, i));
        const char *id;
        json_t *ch;
        json_object_foreach(resources, id, ch) {
            const char *p = json_string_value(json_object_get(ch, "parentId"));
            if (p && strcmp(p, pid) == 0)
                json_array_append_new(doomed, json_string(id));
        }
    }
    size_t i;
    json_t *v;
    json_array_foreach(doomed, i, v) json_object_del(resources, json_string_value(v));
    json_decref(doomed);
}

int agw_delete_resource(svc_call_t *c)
{
    json_t *doc = agw__api_or_fail(c);
    json_t *r = doc ? agw__resource_or_fail(c, doc) : NULL;
    if (!r)
        return 0;
    if (!json_object_get(r, "parentId")) {
        svc_error(c, "BadRequestException", 400, "Cannot delete the root resource");
        return 0;
    }
    delete_subtree(json_object_get(doc, "resources"), svc_in_str(c, "resourceId"));
    agw__save_api(c, doc);
    return 0;
}
