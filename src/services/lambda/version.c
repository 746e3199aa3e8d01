/*
 * Versions and aliases.
 *
 * PublishVersion snapshots $LATEST under the next number (numbers are never
 * reused, even after a version is deleted) unless nothing changed since the
 * last snapshot, in which case AWS returns that version again. An alias
 * names a version and may send a share of invocations to a second one
 * (RoutingConfig.AdditionalVersionWeights); Invoke draws per call
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static json_t *view_of(lambda_version_t *v)
{
    json_t *o = json_deep_copy(v->config);
    json_object_del(o, "_CodeShaHex");
    json_t *layers = json_object_get(o, "Layers");
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) json_object_del(l, "_CodeShaHex");
    return o;
}

int lambda_publish_version(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    if (!fn)
        return 0;
    lambda_version_t *latest = fn->versions[0];
    const char *sha = svc_in_str(c, "CodeSha256");
    const char *have = json_string_value(json_object_get(latest->config, "CodeSha256"));
    if (sha && have && strcmp(sha, have) != 0) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the "
                  "CodeSHA256 in $LATEST.",
                  sha, have);
        return 0;
    }
    if (!lambda__revision_check(c, latest->config, svc_in_str(c, "RevisionId")))
        return 0;
    /* Nothing changed since the newest version: AWS returns it again. */
    if (fn->nversions > 1) {
        lambda_version_t *last = fn->versions[fn->nversions - 1];
        if (last->generation == latest->generation) {
            c->output = view_of(last);
            return 0;
        }
    }
    c->output = lambda__publish(fn, latest, svc_in_str(c, "Description"));
    lambda__fn_save(st, fn);
    return 0;
}

/* Markers for version and alias lists: the index to start at. */
bool lambda__page(svc_call_t *c, size_t n, size_t *start, size_t *max)
{
    json_t *jm = svc_in(c, "MaxItems");
    *max = json_is_integer(jm) ? (size_t)json_integer_value(jm) : 50;
    if (*max > 50)
        *max = 50;
    *start = 0;
    const char *marker = svc_in_str(c, "Marker");
    if (marker && *marker) {
        char *end;
        unsigned long long m = strtoull(marker, &end, 10);
        if (*end || m > n) {
            svc_error(c, "InvalidParameterValueException", 400, "Invalid marker: %s", marker);
            return false;
        }
        *start = (size_t)m;
    }
    return true;
}

int lambda_list_versions_by_function(svc_call_t *c)
{
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    size_t start, max;
    if (!fn || !lambda__page(c, fn->nversions, &start, &max))
        return 0;
    json_t *list = json_array();
    size_t i = start;
    for (; i < fn->nversions && i - start < max; i++) {
        json_t *v = view_of(fn->versions[i]);
        /* Here $LATEST is named by its qualified ARN, as AWS lists it. */
        if (i == 0)
            json_object_set_new(v, "FunctionArn", json_string(arena_sprintf(c->arena, "%s:$LATEST", fn->arn)));
        json_array_append_new(list, v);
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "Versions", list);
    if (i < fn->nversions)
        json_object_set_new(out, "NextMarker", json_string(arena_sprintf(c->arena, "%zu", i)));
    return 0;
}

/* ==== aliases ==== */

static bool alias_name_ok(svc_call_t *c, const char *name)
{
    bool digits = true;
    for (const char *p = name; *p; p++) {
        if (*p < '0' || *p > '9')
            digits = false;
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_')) {
            digits = true;
            break;
        }
    }
    if (!*name || digits) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must "
                  "satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
                  name);
        return false;
    }
    return true;
}

/* Check FunctionVersion and RoutingConfig against the function. */
static bool check_target(svc_call_t *c, lambda_fn_t *fn, const char *version, json_t *routing)
{
    if (version && !lambda__version_lookup(fn, version)) {
        svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s:%s", fn->arn, version);
        return false;
    }
    json_t *w = json_object_get(routing, "AdditionalVersionWeights");
    if (!json_object_size(w))
        return true;
    if (json_object_size(w) > 1) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "Number of items in AdditionalVersionWeights cannot be greater than 1");
        return false;
    }
    if (version && strcmp(version, "$LATEST") == 0) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "$LATEST is not supported for an alias pointing to more than 1 version");
        return false;
    }
    const char *k;
    json_t *val;
    json_object_foreach(w, k, val)
    {
        double d = json_number_value(val);
        if (!json_is_number(val) || d < 0 || d > 1) {
            svc_error(c, "ValidationException", 400,
                      "1 validation error detected: Value '{%s=%g}' at 'routingConfig.additionalVersionWeights' "
                      "failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less "
                      "than or equal to 1.0, Member must have value greater than or equal to 0.0]",
                      k, d);
            return false;
        }
        if (version && strcmp(k, version) == 0) {
            svc_error(c, "InvalidParameterValueException", 400,
                      "Invalid function version %s. Function version %s is already included in routing "
                      "configuration.",
                      k, k);
            return false;
        }
        if (!lambda__version_lookup(fn, k) || strcmp(k, "$LATEST") == 0) {
            svc_error(c, "InvalidParameterValueException", 400, "Function not found: %s:%s", fn->arn, k);
            return false;
        }
    }
    return true;
}

static lambda_alias_t *alias_get_or_fail(svc_call_t *c, lambda_fn_t *fn, const char *name)
{
    lambda_alias_t *a = lambda__alias_lookup(fn, name);
    if (!a)
        svc_error(c, "ResourceNotFoundException", 404, "Cannot find alias arn: %s:%s", fn->arn, name);
    return a;
}

int lambda_create_alias(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    const char *name = svc_in_str(c, "Name");
    const char *version = svc_in_str(c, "FunctionVersion");
    json_t *routing = svc_in(c, "RoutingConfig");
    if (!fn || !alias_name_ok(c, name) || !check_target(c, fn, version, routing))
        return 0;
    if (lambda__alias_lookup(fn, name)) {
        svc_error(c, "ResourceConflictException", 409, "Alias already exists: %s:%s", fn->arn, name);
        return 0;
    }
    char rev[37];
    lambda__revision(rev);
    lambda_alias_t *a = xcalloc(1, sizeof *a);
    a->name = xstrdup(name);
    const char *desc = svc_in_str(c, "Description");
    a->config = json_pack("{s:s,s:s,s:s,s:s,s:s}", "AliasArn", arena_sprintf(c->arena, "%s:%s", fn->arn, name),
                          "Name", name, "FunctionVersion", version, "Description", desc ? desc : "", "RevisionId", rev);
    if (json_object_size(json_object_get(routing, "AdditionalVersionWeights")))
        json_object_set(a->config, "RoutingConfig", routing);
    fn->aliases = xrealloc(fn->aliases, (fn->naliases + 1) * sizeof *fn->aliases);
    fn->aliases[fn->naliases++] = a;
    lambda__fn_save(st, fn);
    c->output = json_deep_copy(a->config);
    return 0;
}

int lambda_get_alias(svc_call_t *c)
{
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    lambda_alias_t *a = fn ? alias_get_or_fail(c, fn, svc_in_str(c, "Name")) : NULL;
    if (a)
        c->output = json_deep_copy(a->config);
    return 0;
}

int lambda_update_alias(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    lambda_alias_t *a = fn ? alias_get_or_fail(c, fn, svc_in_str(c, "Name")) : NULL;
    if (!a || !lambda__revision_check(c, a->config, svc_in_str(c, "RevisionId")))
        return 0;
    const char *version = svc_in_str(c, "FunctionVersion");
    json_t *routing = svc_in(c, "RoutingConfig");
    const char *eff = version ? version : json_string_value(json_object_get(a->config, "FunctionVersion"));
    if (!check_target(c, fn, eff, routing))
        return 0;
    if (version)
        json_object_set_new(a->config, "FunctionVersion", json_string(version));
    const char *desc = svc_in_str(c, "Description");
    if (desc)
        json_object_set_new(a->config, "Description", json_string(desc));
    if (routing) {
        if (json_object_size(json_object_get(routing, "AdditionalVersionWeights")))
            json_object_set(a->config, "RoutingConfig", routing);
        else
            json_object_del(a->config, "RoutingConfig");
    }
    char rev[37];
    lambda__revision(rev);
    json_object_set_new(a->config, "RevisionId", json_string(rev));
    lambda__fn_save(st, fn);
    c->output = json_deep_copy(a->config);
    return 0;
}

int lambda_delete_alias(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    if (!fn)
        return 0;
    const char *name = svc_in_str(c, "Name");
    for (size_t i = 0; i < fn->naliases; i++) {
        if (strcmp(fn->aliases[i]->name, name) == 0) {
            json_object_del(fn->event_configs, name);
            lambda__alias_free(fn->aliases[i]);
            memmove(&fn->aliases[i], &fn->aliases[i + 1], (fn->naliases - i - 1) * sizeof *fn->aliases);
            fn->naliases--;
            lambda__fn_save(st, fn);
            return 0;
        }
    }
    /* AWS answers 204 for an alias that does not exist. */
    return 0;
}

int lambda_list_aliases(svc_call_t *c)
{
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    size_t start, max;
    if (!fn || !lambda__page(c, fn->naliases, &start, &max))
        return 0;
    const char *only = svc_in_str(c, "FunctionVersion");
    json_t *list = json_array();
    size_t i = start;
    for (; i < fn->naliases && i - start < max; i++) {
        json_t *ac = fn->aliases[i]->config;
        const char *v = json_string_value(json_object_get(ac, "FunctionVersion"));
        if (!only || (v && strcmp(v, only) == 0))
            json_array_append_new(list, json_deep_copy(ac));
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "Aliases", list);
    if (i < fn->naliases)
        json_object_set_new(out, "NextMarker", json_string(arena_sprintf(c->arena, "%zu", i)));
    return 0;
}
