/*
 * HTTP APIs: the API resource, its quick create, CORS and tags.
 *
 * Quick create (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop.html#http-api-examples.cli.quick-create):
 * CreateApi with Target makes an AWS_PROXY integration to Target (payload
 * 2.0), a route for RouteKey (default "$default") and the $default stage
 * with automatic deployments.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ------------------------------------------------------------ helpers */

const char *apiv2__region(svc_call_t *c) { return c->region ? c->region : c->ctx->region; }

const char *apiv2__account(svc_call_t *c)
{
    return c->cred && c->cred->account_id ? c->cred->account_id : c->ctx->account_id;
}

char *apiv2__id(svc_call_t *c, size_t n)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[32];
    if (n > sizeof raw)
        n = sizeof raw;
    kyoka_random(raw, n);
    char *s = arena_alloc(c->arena, n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = alphabet[raw[i] % (sizeof alphabet - 1)];
    s[n] = '\0';
    return s;
}

json_t *apiv2__api_or_fail(svc_call_t *c)
{
    apiv2_state_t *st = c->state;
    const char *id = svc_in_str(c, "ApiId");
    json_t *api = id ? json_object_get(st->apis, id) : NULL;
    if (!api)
        svc_error(c, "NotFoundException", 404, "Invalid API identifier specified %s:%s", apiv2__account(c),
                  id ? id : "");
    return api;
}

json_t *apiv2__public(json_t *doc)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(doc, k, v)
    {
        if (k[0] != '_')
            json_object_set(out, k, v);
    }
    return out;
}

void apiv2__copy_in(svc_call_t *c, json_t *doc, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        json_t *v = svc_in(c, names[i]);
        if (v)
            json_object_set(doc, names[i], v);
    }
}

static double now_s(void) { return (double)kyoka_clock_now_ms() / 1000.0; }

/* ------------------------------------------------------------ handlers */

static const char *const api_members[] = {"ApiKeySelectionExpression", "CorsConfiguration", "Description",
                                          "DisableSchemaValidation", "DisableExecuteApiEndpoint", "Name",
                                          "RouteSelectionExpression", "Version", NULL};

/* Only HTTP APIs are served; WebSocket APIs need a connection model kyoka
 * does not have. */
static bool protocol_ok(svc_call_t *c, const char *p)
{
    if (p && strcmp(p, "HTTP") == 0)
        return true;
    if (p && strcmp(p, "WEBSOCKET") == 0)
        svc_error(c, "NotImplemented", 501, "kyoka serves HTTP APIs only, not WebSocket APIs.");
    else
        svc_error(c, "BadRequestException", 400, "Invalid protocol type specified: %s", p ? p : "");
    return false;
}

/* The quick-create resources: integration, route, $default stage. */
static void quick_create(svc_call_t *c, json_t *api)
{
    const char *target = svc_in_str(c, "Target");
    const char *key = svc_in_str(c, "RouteKey");
    if (!key)
        key = "$default";
    if (!apiv2__route_key_ok(c, key))
        return;
    json_t *iin = json_pack("{s:s,s:s,s:s}", "IntegrationType", "AWS_PROXY", "IntegrationUri", target,
                            "PayloadFormatVersion", "2.0");
    if (svc_in(c, "CredentialsArn"))
        json_object_set(iin, "CredentialsArn", svc_in(c, "CredentialsArn"));
    json_t *integ = apiv2__add_integration(c, api, iin);
    json_decref(iin);
    if (!integ)
        return;
    json_t *rin = json_pack("{s:s,s:s}", "RouteKey", key, "Target",
                            arena_sprintf(c->arena, "integrations/%s",
                                          json_string_value(json_object_get(integ, "IntegrationId"))));
    json_t *route = apiv2__add_route(c, api, rin);
    json_decref(rin);
    if (!route)
        return;
    json_t *sin = json_pack("{s:s,s:b}", "StageName", "$default", "AutoDeploy", 1);
    apiv2__add_stage(c, api, sin);
    json_decref(sin);
}

int apiv2_create_api(svc_call_t *c)
{
    apiv2_state_t *st = c->state;
    if (!protocol_ok(c, svc_in_str(c, "ProtocolType")))
        return 0;
    if (svc_in(c, "RouteKey") && !svc_in(c, "Target")) {
        svc_error(c, "BadRequestException", 400, "RouteKey can only be provided with Target for quick create.");
        return 0;
    }
    const char *id = apiv2__id(c, 10);
    json_t *api = json_object();
    apiv2__copy_in(c, api, api_members);
    json_object_set_new(api, "ApiId", json_string(id));
    json_object_set_new(api, "ProtocolType", json_string("HTTP"));
    json_object_set_new(api, "ApiEndpoint",
                        json_string(arena_sprintf(c->arena, "https://%s.execute-api.%s.amazonaws.com", id,
                                                  apiv2__region(c))));
    if (!json_object_get(api, "ApiKeySelectionExpression"))
        json_object_set_new(api, "ApiKeySelectionExpression", json_string("$request.header.x-api-key"));
    if (!json_object_get(api, "RouteSelectionExpression"))
        json_object_set_new(api, "RouteSelectionExpression", json_string("$request.method $request.path"));
    if (!json_object_get(api, "DisableExecuteApiEndpoint"))
        json_object_set_new(api, "DisableExecuteApiEndpoint", json_false());
    json_object_set_new(api, "CreatedDate", json_real(now_s()));
    json_t *tags = svc_in(c, "Tags");
    json_object_set_new(api, "Tags", tags ? json_incref(tags) : json_object());
    json_object_set_new(api, "_region", json_string(apiv2__region(c)));
    json_object_set_new(api, "_routes", json_object());
    json_object_set_new(api, "_integrations", json_object());
    json_object_set_new(api, "_stages", json_object());
    json_object_set_new(api, "_deployments", json_object());
    json_object_set_new(api, "_authorizers", json_object());
    if (svc_in(c, "Target"))
        quick_create(c, api);
    if (svc_failed(c)) {
        json_decref(api);
        return 0;
    }
    json_object_set_new(st->apis, id, api);
    apiv2__persist(st, id);
    c->output = apiv2__public(api);
    return 0;
}

int apiv2_get_api(svc_call_t *c)
{
    json_t *api = apiv2__api_or_fail(c);
    if (api)
        c->output = apiv2__public(api);
    return 0;
}

int apiv2_get_apis(svc_call_t *c)
{
    apiv2_state_t *st = c->state;
    json_t *items = json_array();
    const char *k;
    json_t *api;
    json_object_foreach(st->apis, k, api)
    {
        if (strcmp(json_string_value(json_object_get(api, "_region")), apiv2__region(c)) == 0)
            json_array_append_new(items, apiv2__public(api));
    }
    c->output = json_pack("{s:o}", "Items", items);
    return 0;
}

int apiv2_update_api(svc_call_t *c)
{
    apiv2_state_t *st = c->state;
    json_t *api = apiv2__api_or_fail(c);
    if (!api)
        return 0;
    if (svc_in(c, "Target") || svc_in(c, "RouteKey")) {
        svc_error(c, "NotImplemented", 501, "kyoka does not implement quick update (Target, RouteKey) yet.");
        return 0;
    }
    apiv2__copy_in(c, api, api_members);
    apiv2__persist(st, svc_in_str(c, "ApiId"));
    c->output = apiv2__public(api);
    return 0;
}

int apiv2_delete_api(svc_call_t *c)
{
    apiv2_state_t *st = c->state;
    if (!apiv2__api_or_fail(c))
        return 0;
    const char *id = arena_strdup(c->arena, svc_in_str(c, "ApiId"));
    json_object_del(st->apis, id);
    apiv2__unpersist(st, id);
    return 0;
}

int apiv2_delete_cors_configuration(svc_call_t *c)
{
    apiv2_state_t *st = c->state;
    json_t *api = apiv2__api_or_fail(c);
    if (!api)
        return 0;
    json_object_del(api, "CorsConfiguration");
    apiv2__persist(st, svc_in_str(c, "ApiId"));
    return 0;
}

/* ------------------------------------------------------------ tags */

/* Tags live on APIs and stages: arn:aws:apigateway:{region}::/apis/{id}
 * and .../apis/{id}/stages/{name}. */
static json_t *tagged_or_fail(svc_call_t *c, const char **api_id)
{
    apiv2_state_t *st = c->state;
    const char *arn = svc_in_str(c, "ResourceArn");
    const char *p = arn ? strstr(arn, "::/apis/") : NULL;
    if (p) {
        p += strlen("::/apis/");
        const char *slash = strchr(p, '/');
        char *id = slash ? arena_sprintf(c->arena, "%.*s", (int)(slash - p), p) : arena_strdup(c->arena, p);
        json_t *api = json_object_get(st->apis, id);
        if (api && !slash) {
            *api_id = id;
            return api;
        }
        if (api && strncmp(slash, "/stages/", 8) == 0) {
            json_t *stage = json_object_get(json_object_get(api, "_stages"), slash + 8);
            if (stage) {
                *api_id = id;
                return stage;
            }
        }
    }
    svc_error(c, "NotFoundException", 404, "Invalid resource identifier specified %s", arn ? arn : "");
    return NULL;
}

int apiv2_tag_resource(svc_call_t *c)
{
    const char *id;
    json_t *r = tagged_or_fail(c, &id);
    if (!r)
        return 0;
    json_t *tags = json_object_get(r, "Tags");
    if (!json_is_object(tags)) {
        tags = json_object();
        json_object_set_new(r, "Tags", tags);
    }
    json_object_update(tags, svc_in(c, "Tags"));
    apiv2__persist(c->state, id);
    return 0;
}

int apiv2_untag_resource(svc_call_t *c)
{
    const char *id;
    json_t *r = tagged_or_fail(c, &id);
    if (!r)
        return 0;
    json_t *tags = json_object_get(r, "Tags");
    size_t i;
    json_t *k;
    json_array_foreach(svc_in(c, "TagKeys"), i, k) json_object_del(tags, json_string_value(k));
    apiv2__persist(c->state, id);
    return 0;
}

int apiv2_get_tags(svc_call_t *c)
{
    const char *id;
    json_t *r = tagged_or_fail(c, &id);
    if (!r)
        return 0;
    json_t *tags = json_object_get(r, "Tags");
    c->output = json_pack("{s:o}", "Tags", tags ? json_incref(tags) : json_object());
    return 0;
}
