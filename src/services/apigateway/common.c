/*
 * What API Gateway's handlers share: ids, lookups that answer AWS's
 * NotFoundException, copies of stored objects for output, and the JSON-patch
 * style updates (patchOperations) every Update* operation takes.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

const char *agw__region(svc_call_t *c) { return c->region ? c->region : c->ctx->region; }
const char *agw__account(svc_call_t *c) { return c->ctx->account_id; }

/* AWS's ids are lowercase letters and digits (a REST API's and an API key's
 * are 10 long, a deployment's or a usage plan's 6). */
void agw__new_id(char *out, size_t len)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char r[32];
    if (len > sizeof r)
        len = sizeof r;
    kyoka_random(r, len);
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[r[i] % 36];
    out[len] = '\0';
}

json_t *agw__api_or_fail(svc_call_t *c)
{
    agw_state_t *st = c->state;
    const char *id = svc_in_str(c, "restApiId");
    json_t *doc = id ? json_object_get(st->apis, id) : NULL;
    if (!doc || strcmp(json_string_value(json_object_get(doc, "region")), agw__region(c)) != 0) {
        svc_error(c, "NotFoundException", 404, "Invalid API identifier specified %s:%s", agw__account(c),
                  id ? id : "");
        return NULL;
    }
    return doc;
}

json_t *agw__resource_or_fail(svc_call_t *c, json_t *doc)
{
    const char *id = svc_in_str(c, "resourceId");
    json_t *r = id ? json_object_get(json_object_get(doc, "resources"), id) : NULL;
    if (!r)
        svc_error(c, "NotFoundException", 404, "Invalid Resource identifier specified");
    return r;
}

json_t *agw__method_or_fail(svc_call_t *c, json_t *resource)
{
    const char *m = svc_in_str(c, "httpMethod");
    json_t *meth = m ? json_object_get(json_object_get(resource, "resourceMethods"), m) : NULL;
    if (!meth)
        svc_error(c, "NotFoundException", 404, "Invalid Method identifier specified");
    return meth;
}

void agw__save_api(svc_call_t *c, json_t *doc)
{
    agw_state_t *st = c->state;
    const char *id = json_string_value(json_object_get(json_object_get(doc, "api"), "id"));
    agw__save(st, "restapi", id, doc);
}

/* A stored object for output: members starting with '_' are kyoka's. */
json_t *agw__copy_public(json_t *obj)
{
    json_t *out = json_deep_copy(obj);
    const char *k;
    void *tmp;
    json_t *v;
    json_object_foreach_safe(out, tmp, k, v) {
        if (k[0] == '_')
            json_object_del(out, k);
    }
    return out;
}

/* Set dst.name to a copy of v when v is given. */
void agw__set_opt(json_t *dst, const char *name, json_t *v)
{
    if (v && !json_is_null(v))
        json_object_set_new(dst, name, json_deep_copy(v));
}

/* {"items": [public copies of arr's objects]}: the shape of every Get*s. */
json_t *agw__items(json_t *arr)
{
    json_t *items = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) json_array_append_new(items, agw__copy_public(v));
    return json_pack("{s:o}", "items", items);
}

/* limit on Get*s: AWS accepts 1..500. */
bool agw__bad_limit(svc_call_t *c, int *limit)
{
    json_t *l = svc_in(c, "limit");
    *limit = 500;
    if (!l)
        return false;
    json_int_t n = json_integer_value(l);
    if (n < 1 || n > 500) {
        svc_error(c, "BadRequestException", 400, "The limit must be between 1 and 500");
        return true;
    }
    *limit = (int)n;
    return false;
}

/* ---------------------------------------------------------------- patches
 *
 * patchOperations (https://docs.aws.amazon.com/apigateway/latest/api/patch-operations.html):
 * op add/remove/replace/move/copy on a path like "/description" or
 * "/variables/name" ('~1' is '/', '~0' is '~'). Each updatable member is
 * given as "name:kind": s string, b boolean, i integer, m map of strings
 * (path /name/key), M map of booleans, l list of strings (add/remove
 * /name/value). All operations are checked and applied to a copy; only
 * then does the object change, so a bad operation changes nothing. */

static char *unescape_pointer(arena_t *a, const char *s)
{
    size_t n = strlen(s);
    char *out = arena_strdup(a, s);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' && s[i + 1] == '1') {
            out[j++] = '/';
            i++;
        } else if (s[i] == '~' && s[i + 1] == '0') {
            out[j++] = '~';
            i++;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

static char find_kind(const char *const *paths, const char *name, size_t len)
{
    for (size_t i = 0; paths[i]; i++) {
        const char *colon = strchr(paths[i], ':');
        if ((size_t)(colon - paths[i]) == len && strncmp(paths[i], name, len) == 0)
            return colon[1];
    }
    return 0;
}

static json_t *scalar_of(svc_call_t *c, char kind, const char *value, const char *path)
{
    if (kind == 'b' || kind == 'M') {
        if (value && strcmp(value, "true") == 0)
            return json_true();
        if (value && strcmp(value, "false") == 0)
            return json_false();
        svc_error(c, "BadRequestException", 400, "Invalid boolean value '%s' for %s", value ? value : "", path);
        return NULL;
    }
    if (kind == 'i') {
        char *end = NULL;
        long long n = value ? strtoll(value, &end, 10) : 0;
        if (!value || !*value || *end) {
            svc_error(c, "BadRequestException", 400, "Invalid integer value '%s' for %s", value ? value : "", path);
            return NULL;
        }
        return json_integer(n);
    }
    return json_string(value ? value : "");
}

static int patch_one(svc_call_t *c, json_t *obj, json_t *op, const char *const *paths)
{
    const char *verb = json_string_value(json_object_get(op, "op"));
    const char *raw = json_string_value(json_object_get(op, "path"));
    const char *value = json_string_value(json_object_get(op, "value"));
    if (!verb || !raw || raw[0] != '/') {
        svc_error(c, "BadRequestException", 400, "Invalid patch operation specified. Must be 'add'|'remove'|'replace'");
        return -1;
    }
    const char *name = raw + 1;
    const char *slash = strchr(name, '/');
    size_t nlen = slash ? (size_t)(slash - name) : strlen(name);
    char kind = find_kind(paths, name, nlen);
    bool is_map = kind == 'm' || kind == 'M' || kind == 'l';
    if (!kind || (is_map != (slash != NULL)) || (slash && !slash[1])) {
        svc_error(c, "BadRequestException", 400, "Invalid patch path '%s' specified for op '%s'.", raw, verb);
        return -1;
    }
    char *member = arena_sprintf(c->arena, "%.*s", (int)nlen, name);
    bool remove = strcmp(verb, "remove") == 0;
    if (!remove && strcmp(verb, "replace") != 0 && strcmp(verb, "add") != 0) {
        svc_error(c, "BadRequestException", 400, "Invalid patch operation specified. Must be one of: [add, remove, replace]");
        return -1;
    }
    if (!is_map) {
        if (remove) {
            json_object_del(obj, member);
            return 0;
        }
        json_t *v = scalar_of(c, kind, value, raw);
        if (!v)
            return -1;
        json_object_set_new(obj, member, v);
        return 0;
    }
    char *key = unescape_pointer(c->arena, slash + 1);
    if (kind == 'l') {
        json_t *list = json_object_get(obj, member);
        if (!list) {
            list = json_array();
            json_object_set_new(obj, member, list);
        }
        for (size_t i = 0; i < json_array_size(list); i++)
            if (strcmp(json_string_value(json_array_get(list, i)), key) == 0) {
                if (remove)
                    json_array_remove(list, i);
                return 0;
            }
        if (!remove)
            json_array_append_new(list, json_string(key));
        return 0;
    }
    json_t *map = json_object_get(obj, member);
    if (remove) {
        json_object_del(map, key);
        return 0;
    }
    json_t *v = scalar_of(c, kind, value, raw);
    if (!v)
        return -1;
    if (!map) {
        map = json_object();
        json_object_set_new(obj, member, map);
    }
    json_object_set_new(map, key, v);
    return 0;
}

int agw__patch(svc_call_t *c, json_t *obj, const char *const *paths)
{
    json_t *ops = svc_in(c, "patchOperations");
    if (json_array_size(ops) > AGW_MAX_PATCH_OPS) {
        svc_error(c, "BadRequestException", 400, "Too many patch operations (at most %d)", AGW_MAX_PATCH_OPS);
        return -1;
    }
    json_t *copy = json_deep_copy(obj);
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op) {
        if (patch_one(c, copy, op, paths) != 0) {
            json_decref(copy);
            return -1;
        }
    }
    json_object_clear(obj);
    json_object_update(obj, copy);
    json_decref(copy);
    return 0;
}
