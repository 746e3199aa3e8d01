/*
 * API keys, usage plans (throttle, quota, the API stages they cover) and the
 * keys in them, and tags on REST APIs and stages.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static json_int_t now_s(void) { return (json_int_t)(kyoka_clock_now_ms() / 1000); }

static bool in_region(svc_call_t *c, json_t *doc)
{
    return doc && strcmp(json_string_value(json_object_get(doc, "region")), agw__region(c)) == 0;
}

/* ================================================================ API keys */

static json_t *key_output(json_t *key, bool value)
{
    json_t *out = agw__copy_public(key);
    if (!value)
        json_object_del(out, "value");
    return out;
}

static json_t *key_by_value(agw_state_t *st, const char *value)
{
    const char *id;
    json_t *doc;
    json_object_foreach(st->keys, id, doc) {
        json_t *k = json_object_get(doc, "key");
        if (strcmp(json_string_value(json_object_get(k, "value")), value) == 0)
            return k;
    }
    return NULL;
}

int agw_create_api_key(svc_call_t *c)
{
    agw_state_t *st = c->state;
    const char *value = svc_in_str(c, "value");
    char gen[48];
    if (value && (strlen(value) < 20 || strlen(value) > 128)) {
        svc_error(c, "BadRequestException", 400, "API Key value should be at least 20 characters");
        return 0;
    }
    if (value && key_by_value(st, value)) {
        svc_error(c, "ConflictException", 409, "API Key already exists");
        return 0;
    }
    if (!value) {
        agw__new_id(gen, 32);
        value = gen;
    }
    char id[16];
    do
        agw__new_id(id, 10);
    while (json_object_get(st->keys, id));
    json_int_t now = now_s();
    json_t *k = json_pack("{s:s,s:s,s:b,s:I,s:I,s:[]}", "id", id, "value", value, "enabled",
                          json_is_true(svc_in(c, "enabled")), "createdDate", now, "lastUpdatedDate", now, "stageKeys");
    agw__set_opt(k, "name", svc_in(c, "name"));
    agw__set_opt(k, "description", svc_in(c, "description"));
    agw__set_opt(k, "customerId", svc_in(c, "customerId"));
    agw__set_opt(k, "tags", svc_in(c, "tags"));
    json_t *doc = json_pack("{s:s,s:o}", "region", agw__region(c), "key", k);
    json_object_set_new(st->keys, id, doc);
    agw__save(st, "apikey", id, doc);
    c->output = key_output(k, true);
    return 0;
}

static json_t *key_doc_or_fail(svc_call_t *c, const char *id)
{
    agw_state_t *st = c->state;
    json_t *doc = id ? json_object_get(st->keys, id) : NULL;
    if (!in_region(c, doc)) {
        svc_error(c, "NotFoundException", 404, "Invalid API Key identifier specified");
        return NULL;
    }
    return doc;
}

int agw_get_api_key(svc_call_t *c)
{
    json_t *doc = key_doc_or_fail(c, svc_in_str(c, "apiKey"));
    if (doc)
        c->output = key_output(json_object_get(doc, "key"), json_is_true(svc_in(c, "includeValue")));
    return 0;
}

int agw_get_api_keys(svc_call_t *c)
{
    agw_state_t *st = c->state;
    int limit;
    if (agw__bad_limit(c, &limit))
        return 0;
    const char *name_query = svc_in_str(c, "nameQuery");
    const char *customer = svc_in_str(c, "customerId");
    bool value = json_is_true(svc_in(c, "includeValues"));
    json_t *items = json_array();
    const char *id;
    json_t *doc;
    json_object_foreach(st->keys, id, doc) {
        json_t *k = json_object_get(doc, "key");
        const char *name = json_string_value(json_object_get(k, "name"));
        const char *cust = json_string_value(json_object_get(k, "customerId"));
        if (!in_region(c, doc) || (name_query && (!name || strncmp(name, name_query, strlen(name_query)) != 0)) ||
            (customer && (!cust || strcmp(cust, customer) != 0)))
            continue;
        json_array_append_new(items, key_output(k, value));
    }
    c->output = json_pack("{s:o}", "items", items);
    return 0;
}

static const char *const key_paths[] = {"name:s", "description:s", "enabled:b", "customerId:s", NULL};

int agw_update_api_key(svc_call_t *c)
{
    agw_state_t *st = c->state;
    const char *id = svc_in_str(c, "apiKey");
    json_t *doc = key_doc_or_fail(c, id);
    if (!doc)
        return 0;
    json_t *k = json_object_get(doc, "key");
    if (agw__patch(c, k, key_paths) != 0)
        return 0;
    json_object_set_new(k, "lastUpdatedDate", json_integer(now_s()));
    agw__save(st, "apikey", id, doc);
    c->output = key_output(k, false);
    return 0;
}

int agw_delete_api_key(svc_call_t *c)
{
    agw_state_t *st = c->state;
    const char *id = svc_in_str(c, "apiKey");
    if (!key_doc_or_fail(c, id))
        return 0;
    /* A deleted key leaves every usage plan it was in. */
    const char *pid;
    json_t *plan;
    json_object_foreach(st->plans, pid, plan) {
        json_t *keys = json_object_get(plan, "keys");
        for (size_t i = 0; i < json_array_size(keys); i++)
            if (strcmp(json_string_value(json_array_get(keys, i)), id) == 0) {
                json_array_remove(keys, i);
                agw__save(st, "usageplan", pid, plan);
                break;
            }
    }
    agw__drop(st, "apikey", id);
    json_object_del(st->keys, id);
    return 0;
}

/* ================================================================ usage plans */

/* Each apiStages entry names an existing API and one of its stages. */
static bool valid_api_stages(svc_call_t *c, json_t *stages)
{
    agw_state_t *st = c->state;
    size_t i;
    json_t *s;
    json_array_foreach(stages, i, s) {
        const char *api = json_string_value(json_object_get(s, "apiId"));
        const char *stage = json_string_value(json_object_get(s, "stage"));
        json_t *doc = api ? json_object_get(st->apis, api) : NULL;
        if (!in_region(c, doc)) {
            svc_error(c, "NotFoundException", 404, "Invalid API identifier specified %s:%s", agw__account(c),
                      api ? api : "");
            return false;
        }
        if (!stage || !json_object_get(json_object_get(doc, "stages"), stage)) {
            svc_error(c, "NotFoundException", 404, "Invalid stage identifier specified");
            return false;
        }
    }
    return true;
}

static bool valid_limits(svc_call_t *c, json_t *plan)
{
    json_t *q = json_object_get(plan, "quota");
    if (q) {
        const char *period = json_string_value(json_object_get(q, "period"));
        if (!period || (strcmp(period, "DAY") != 0 && strcmp(period, "WEEK") != 0 && strcmp(period, "MONTH") != 0)) {
            svc_error(c, "BadRequestException", 400, "Invalid quota period specified. Must be one of DAY, WEEK, MONTH");
            return false;
        }
        if (json_integer_value(json_object_get(q, "limit")) < 0) {
            svc_error(c, "BadRequestException", 400, "Quota limit should be a positive number");
            return false;
        }
    }
    json_t *t = json_object_get(plan, "throttle");
    if (t && (json_integer_value(json_object_get(t, "burstLimit")) < 0 ||
              json_number_value(json_object_get(t, "rateLimit")) < 0)) {
        svc_error(c, "BadRequestException", 400, "Throttle limits should be positive numbers");
        return false;
    }
    return true;
}

int agw_create_usage_plan(svc_call_t *c)
{
    agw_state_t *st = c->state;
    json_t *stages = svc_in(c, "apiStages");
    if (!valid_api_stages(c, stages))
        return 0;
    char id[8];
    do
        agw__new_id(id, 6);
    while (json_object_get(st->plans, id));
    json_t *p = json_pack("{s:s,s:s}", "id", id, "name", svc_in_str(c, "name"));
    json_object_set_new(p, "apiStages", stages ? json_deep_copy(stages) : json_array());
    agw__set_opt(p, "description", svc_in(c, "description"));
    agw__set_opt(p, "throttle", svc_in(c, "throttle"));
    agw__set_opt(p, "quota", svc_in(c, "quota"));
    agw__set_opt(p, "tags", svc_in(c, "tags"));
    if (!valid_limits(c, p)) {
        json_decref(p);
        return 0;
    }
    json_t *doc = json_pack("{s:s,s:o,s:[]}", "region", agw__region(c), "plan", p, "keys");
    json_object_set_new(st->plans, id, doc);
    agw__save(st, "usageplan", id, doc);
    c->output = agw__copy_public(p);
    return 0;
}

static json_t *plan_doc_or_fail(svc_call_t *c)
{
    agw_state_t *st = c->state;
    const char *id = svc_in_str(c, "usagePlanId");
    json_t *doc = id ? json_object_get(st->plans, id) : NULL;
    if (!in_region(c, doc)) {
        svc_error(c, "NotFoundException", 404, "Invalid Usage Plan ID specified");
        return NULL;
    }
    return doc;
}

int agw_get_usage_plan(svc_call_t *c)
{
    json_t *doc = plan_doc_or_fail(c);
    if (doc)
        c->output = agw__copy_public(json_object_get(doc, "plan"));
    return 0;
}

int agw_get_usage_plans(svc_call_t *c)
{
    agw_state_t *st = c->state;
    int limit;
    if (agw__bad_limit(c, &limit))
        return 0;
    const char *key = svc_in_str(c, "keyId");
    json_t *items = json_array();
    const char *id;
    json_t *doc;
    json_object_foreach(st->plans, id, doc) {
        if (!in_region(c, doc))
            continue;
        bool has = !key;
        size_t i;
        json_t *k;
        json_array_foreach(json_object_get(doc, "keys"), i, k) has |= strcmp(json_string_value(k), key) == 0;
        if (has)
            json_array_append_new(items, agw__copy_public(json_object_get(doc, "plan")));
    }
    c->output = json_pack("{s:o}", "items", items);
    return 0;
}

/* Usage plan patches: scalars, throttle and quota members, and apiStages
 * added or removed as "/apiStages" with value "apiId:stage". */
static int patch_plan(svc_call_t *c, json_t *p)
{
    json_t *ops = svc_in(c, "patchOperations");
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op) {
        const char *verb = json_string_value(json_object_get(op, "op"));
        const char *path = json_string_value(json_object_get(op, "path"));
        const char *value = json_string_value(json_object_get(op, "value"));
        if (!verb || !path) {
            svc_error(c, "BadRequestException", 400, "Invalid patch operation specified.");
            return -1;
        }
        bool remove = strcmp(verb, "remove") == 0;
        if (strcmp(path, "/name") == 0 || strcmp(path, "/description") == 0) {
            json_object_set_new(p, path + 1, json_string(value ? value : ""));
        } else if (strcmp(path, "/throttle/rateLimit") == 0 || strcmp(path, "/throttle/burstLimit") == 0 ||
                   strcmp(path, "/quota/limit") == 0 || strcmp(path, "/quota/offset") == 0 ||
                   strcmp(path, "/quota/period") == 0) {
            char obj[16];
            const char *slash = strchr(path + 1, '/');
            snprintf(obj, sizeof obj, "%.*s", (int)(slash - path - 1), path + 1);
            json_t *o = json_object_get(p, obj);
            if (remove || !value) {
                json_object_del(o, slash + 1);
                continue;
            }
            if (!o) {
                o = json_object();
                json_object_set_new(p, obj, o);
            }
            json_object_set_new(o, slash + 1,
                                strcmp(slash + 1, "period") == 0   ? json_string(value)
                                : strcmp(slash + 1, "rateLimit") == 0 ? json_real(strtod(value, NULL))
                                                                    : json_integer(strtoll(value, NULL, 10)));
        } else if (strcmp(path, "/throttle") == 0 || strcmp(path, "/quota") == 0) {
            if (!remove) {
                svc_error(c, "BadRequestException", 400, "Invalid patch path '%s' specified for op '%s'.", path, verb);
                return -1;
            }
            json_object_del(p, path + 1);
        } else if (strcmp(path, "/apiStages") == 0 && value && strchr(value, ':')) {
            const char *colon = strchr(value, ':');
            json_t *entry = json_pack("{s:s%,s:s}", "apiId", value, (size_t)(colon - value), "stage", colon + 1);
            json_t *stages = json_object_get(p, "apiStages");
            bool found = false;
            for (size_t j = 0; j < json_array_size(stages); j++) {
                json_t *e = json_array_get(stages, j);
                if (json_equal(json_object_get(e, "apiId"), json_object_get(entry, "apiId")) &&
                    json_equal(json_object_get(e, "stage"), json_object_get(entry, "stage"))) {
                    found = true;
                    if (remove)
                        json_array_remove(stages, j);
                    break;
                }
            }
            json_t *one = json_pack("[O]", entry);
            bool ok = remove || found || valid_api_stages(c, one);
            json_decref(one);
            if (!ok) {
                json_decref(entry);
                return -1;
            }
            if (!remove && !found)
                json_array_append(stages, entry);
            json_decref(entry);
        } else {
            svc_error(c, "BadRequestException", 400, "Invalid patch path '%s' specified for op '%s'.", path, verb);
            return -1;
        }
    }
    return 0;
}

int agw_update_usage_plan(svc_call_t *c)
{
    agw_state_t *st = c->state;
    json_t *doc = plan_doc_or_fail(c);
    if (!doc)
        return 0;
    json_t *copy = json_deep_copy(json_object_get(doc, "plan"));
    if (patch_plan(c, copy) != 0 || !valid_limits(c, copy)) {
        json_decref(copy);
        return 0;
    }
    json_object_set_new(doc, "plan", copy);
    agw__save(st, "usageplan", svc_in_str(c, "usagePlanId"), doc);
    c->output = agw__copy_public(copy);
    return 0;
}

int agw_delete_usage_plan(svc_call_t *c)
{
    agw_state_t *st = c->state;
    if (!plan_doc_or_fail(c))
        return 0;
    const char *id = svc_in_str(c, "usagePlanId");
    agw__drop(st, "usageplan", id);
    json_object_del(st->plans, id);
    return 0;
}

static json_t *plan_key_output(json_t *keydoc)
{
    json_t *k = json_object_get(keydoc, "key");
    json_t *out = json_pack("{s:O,s:s,s:O}", "id", json_object_get(k, "id"), "type", "API_KEY", "value",
                            json_object_get(k, "value"));
    agw__set_opt(out, "name", json_object_get(k, "name"));
    return out;
}

int agw_create_usage_plan_key(svc_call_t *c)
{
    agw_state_t *st = c->state;
    json_t *doc = plan_doc_or_fail(c);
    if (!doc)
        return 0;
    const char *type = svc_in_str(c, "keyType");
    if (strcmp(type, "API_KEY") != 0) {
        svc_error(c, "BadRequestException", 400, "Invalid key type specified. Must be API_KEY");
        return 0;
    }
    const char *key = svc_in_str(c, "keyId");
    json_t *keydoc = key_doc_or_fail(c, key);
    if (!keydoc)
        return 0;
    json_t *keys = json_object_get(doc, "keys");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        if (strcmp(json_string_value(k), key) == 0) {
            svc_error(c, "ConflictException", 409, "Usage Plan %s cannot be added because API Key %s cannot reference "
                                                   "multiple Usage Plans with the same API Stage",
                      svc_in_str(c, "usagePlanId"), key);
            return 0;
        }
    }
    json_array_append_new(keys, json_string(key));
    agw__save(st, "usageplan", svc_in_str(c, "usagePlanId"), doc);
    c->output = plan_key_output(keydoc);
    return 0;
}

int agw_get_usage_plan_keys(svc_call_t *c)
{
    agw_state_t *st = c->state;
    json_t *doc = plan_doc_or_fail(c);
    if (!doc)
        return 0;
    json_t *items = json_array();
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(doc, "keys"), i, k) {
        json_t *keydoc = json_object_get(st->keys, json_string_value(k));
        if (keydoc)
            json_array_append_new(items, plan_key_output(keydoc));
    }
    c->output = json_pack("{s:o}", "items", items);
    return 0;
}

static int plan_key_index(svc_call_t *c, json_t *doc)
{
    const char *key = svc_in_str(c, "keyId");
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(doc, "keys"), i, k) if (strcmp(json_string_value(k), key) == 0) return (int)i;
    svc_error(c, "NotFoundException", 404, "Invalid Usage Plan Key identifier specified");
    return -1;
}

int agw_get_usage_plan_key(svc_call_t *c)
{
    agw_state_t *st = c->state;
    json_t *doc = plan_doc_or_fail(c);
    if (!doc || plan_key_index(c, doc) < 0)
        return 0;
    c->output = plan_key_output(json_object_get(st->keys, svc_in_str(c, "keyId")));
    return 0;
}

int agw_delete_usage_plan_key(svc_call_t *c)
{
    agw_state_t *st = c->state;
    json_t *doc = plan_doc_or_fail(c);
    int i = doc ? plan_key_index(c, doc) : -1;
    if (i < 0)
        return 0;
    json_array_remove(json_object_get(doc, "keys"), (size_t)i);
    agw__save(st, "usageplan", svc_in_str(c, "usagePlanId"), doc);
    return 0;
}

/* ================================================================ tags */

/* The taggable object an ARN names: arn:aws:apigateway:{region}::/restapis/{id}
 * or .../restapis/{id}/stages/{name}, /apikeys/{id}, /usageplans/{id}. On
 * success *doc is the document to save and *kind its kind. */
static json_t *tagged_or_fail(svc_call_t *c, json_t **doc, const char **kind)
{
    agw_state_t *st = c->state;
    const char *arn = svc_in_str(c, "resourceArn");
    const char *prefix = arena_sprintf(c->arena, "arn:aws:apigateway:%s::/", agw__region(c));
    size_t pn = strlen(prefix);
    char a[64] = "", b[64] = "", d[160] = "";
    if (arn && strncmp(arn, prefix, pn) == 0) {
        const char *p = arn + pn;
        int n = sscanf(p, "%63[^/]/%63[^/]/stages/%159[^/]", a, b, d);
        json_t *target = NULL;
        if (n >= 2 && strcmp(a, "restapis") == 0) {
            *doc = json_object_get(st->apis, b);
            *kind = "restapi";
            target = !*doc ? NULL : n == 3 ? json_object_get(json_object_get(*doc, "stages"), d)
                                           : json_object_get(*doc, "api");
        } else if (n == 2 && strcmp(a, "apikeys") == 0) {
            *doc = json_object_get(st->keys, b);
            *kind = "apikey";
            target = json_object_get(*doc, "key");
        } else if (n == 2 && strcmp(a, "usageplans") == 0) {
            *doc = json_object_get(st->plans, b);
            *kind = "usageplan";
            target = json_object_get(*doc, "plan");
        }
        if (target && in_region(c, *doc))
            return target;
    }
    svc_error(c, "NotFoundException", 404, "Invalid resource identifier specified");
    return NULL;
}

static const char *doc_id(json_t *doc, const char *kind)
{
    const char *member = strcmp(kind, "restapi") == 0 ? "api" : strcmp(kind, "apikey") == 0 ? "key" : "plan";
    return json_string_value(json_object_get(json_object_get(doc, member), "id"));
}

int agw_tag_resource(svc_call_t *c)
{
    json_t *doc;
    const char *kind;
    json_t *t = tagged_or_fail(c, &doc, &kind);
    if (!t)
        return 0;
    json_t *tags = json_object_get(t, "tags");
    json_t *add = svc_in(c, "tags");
    json_t *merged = tags ? json_deep_copy(tags) : json_object();
    json_object_update(merged, add);
    if (json_object_size(merged) > 50) {
        json_decref(merged);
        svc_error(c, "BadRequestException", 400, "Too many tags: at most 50 per resource");
        return 0;
    }
    json_object_set_new(t, "tags", merged);
    agw__save(c->state, kind, doc_id(doc, kind), doc);
    return 0;
}

int agw_untag_resource(svc_call_t *c)
{
    json_t *doc;
    const char *kind;
    json_t *t = tagged_or_fail(c, &doc, &kind);
    if (!t)
        return 0;
    size_t i;
    json_t *k;
    json_array_foreach(svc_in(c, "tagKeys"), i, k) json_object_del(json_object_get(t, "tags"), json_string_value(k));
    agw__save(c->state, kind, doc_id(doc, kind), doc);
    return 0;
}

int agw_get_tags(svc_call_t *c)
{
    json_t *doc;
    const char *kind;
    json_t *t = tagged_or_fail(c, &doc, &kind);
    if (!t)
        return 0;
    json_t *tags = json_object_get(t, "tags");
    c->output = json_pack("{s:o}", "tags", tags ? json_deep_copy(tags) : json_object());
    return 0;
}
