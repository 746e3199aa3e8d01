/*
 * Concurrency settings, account settings and tags.
 *
 * Reserved concurrency caps a function and is taken out of the account's
 * pool; AWS keeps at least 100 unreserved
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
 * Provisioned concurrency keeps environments of a published version or
 * alias initialised; its Status turns READY once the runtime has them all
 * warm (https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define LAMBDA_MIN_UNRESERVED 100

int lambda_put_function_concurrency(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    if (!fn)
        return 0;
    int want = (int)json_integer_value(svc_in(c, "ReservedConcurrentExecutions"));
    int others = st->account_concurrency - lambda__unreserved(st) - (fn->reserved > 0 ? fn->reserved : 0);
    if (st->account_concurrency - others - want < LAMBDA_MIN_UNRESERVED) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "Specified ReservedConcurrentExecutions for function decreases account's "
                  "UnreservedConcurrentExecution below its minimum value of [%d].",
                  LAMBDA_MIN_UNRESERVED);
        return 0;
    }
    fn->reserved = want;
    lambda__fn_save(st, fn);
    json_object_set_new(svc_output(c), "ReservedConcurrentExecutions", json_integer(want));
    return 0;
}

int lambda_get_function_concurrency(svc_call_t *c)
{
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    if (!fn)
        return 0;
    json_t *out = svc_output(c);
    if (fn->reserved >= 0)
        json_object_set_new(out, "ReservedConcurrentExecutions", json_integer(fn->reserved));
    return 0;
}

int lambda_delete_function_concurrency(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    if (!fn)
        return 0;
    fn->reserved = -1;
    lambda__fn_save(st, fn);
    return 0;
}

/* ==== provisioned concurrency ==== */

/* Where a qualifier's ProvisionedConcurrencyConfig lives. */
static json_t **provisioned_slot(svc_call_t *c, lambda_fn_t *fn, const char *q, lambda_version_t **v)
{
    if (!q || strcmp(q, "$LATEST") == 0) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "Provisioned Concurrency Configs cannot be applied to unpublished function versions.");
        return NULL;
    }
    *v = lambda__resolve_or_fail(c, fn, q);
    if (!*v)
        return NULL;
    lambda_alias_t *a = lambda__alias_lookup(fn, q);
    return a ? &a->provisioned : &(*v)->provisioned;
}

/* The config with its live Status from the runtime. */
static json_t *provisioned_view(lambda_state_t *st, svc_call_t *c, lambda_fn_t *fn, lambda_version_t *v, json_t *pc)
{
    json_t *o = json_deep_copy(pc);
    int want = (int)json_integer_value(json_object_get(pc, "RequestedProvisionedConcurrentExecutions"));
    int busy = 0, idle = 0, starting = 0;
    if (st->has_invoker && st->invoker.pool_counts)
        st->invoker.pool_counts(st->invoker.rt, lambda__pool_key(c->arena, fn, v), &busy, &idle, &starting);
    int ready = busy + idle < want ? busy + idle : want;
    json_object_set_new(o, "AvailableProvisionedConcurrentExecutions", json_integer(ready));
    json_object_set_new(o, "AllocatedProvisionedConcurrentExecutions", json_integer(ready));
    json_object_set_new(o, "Status", json_string(ready >= want ? "READY" : "IN_PROGRESS"));
    return o;
}

static void provision(lambda_state_t *st, svc_call_t *c, lambda_fn_t *fn, lambda_version_t *v, int n)
{
    if (!st->has_invoker || !st->invoker.provision)
        return;
    lambda_run_spec_t spec;
    aws_error_t saved = c->error;
    if (!lambda__run_spec(st, c, fn, v, &spec)) {
        c->error = saved;
        return;
    }
    spec.provisioned = n;
    st->invoker.provision(st->invoker.rt, &spec, n);
}

int lambda_put_provisioned_concurrency_config(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, true, &r);
    if (!fn)
        return 0;
    lambda_version_t *v;
    json_t **slot = provisioned_slot(c, fn, r.qualifier, &v);
    if (!slot)
        return 0;
    int n = (int)json_integer_value(svc_in(c, "ProvisionedConcurrentExecutions"));
    if (n < 1) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value '%d' at 'provisionedConcurrentExecutions' failed to satisfy "
                  "constraint: Member must have value greater than or equal to 1",
                  n);
        return 0;
    }
    if (fn->reserved >= 0 && n > fn->reserved) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for "
                  "function");
        return 0;
    }
    char ts[32];
    lambda__timestamp(ts);
    json_decref(*slot);
    *slot = json_pack("{s:i,s:s}", "RequestedProvisionedConcurrentExecutions", n, "LastModified", ts);
    lambda__fn_save(st, fn);
    provision(st, c, fn, v, n);
    json_t *o = provisioned_view(st, c, fn, v, *slot);
    /* AWS answers the Put while the environments are still starting. */
    json_object_set_new(o, "Status", json_string("IN_PROGRESS"));
    c->output = o;
    return 0;
}

/* The qualifier's existing config: NULL with AWS's not-found error. */
static json_t **provisioned_or_fail(svc_call_t *c, lambda_fn_t **fn, lambda_version_t **v)
{
    lambda_ref_t r;
    *fn = lambda__fn_from_input(c, true, &r);
    json_t **slot = *fn ? provisioned_slot(c, *fn, r.qualifier, v) : NULL;
    if (slot && !*slot) {
        svc_error(c, "ProvisionedConcurrencyConfigNotFoundException", 404,
                  "No Provisioned Concurrency Config found for this function");
        return NULL;
    }
    return slot;
}

int lambda_get_provisioned_concurrency_config(svc_call_t *c)
{
    lambda_fn_t *fn;
    lambda_version_t *v;
    json_t **slot = provisioned_or_fail(c, &fn, &v);
    if (slot)
        c->output = provisioned_view(c->state, c, fn, v, *slot);
    return 0;
}

int lambda_delete_provisioned_concurrency_config(svc_call_t *c)
{
    lambda_fn_t *fn;
    lambda_version_t *v;
    json_t **slot = provisioned_or_fail(c, &fn, &v);
    if (!slot)
        return 0;
    json_decref(*slot);
    *slot = NULL;
    lambda__fn_save(c->state, fn);
    provision(c->state, c, fn, v, 0);
    return 0;
}

int lambda_list_provisioned_concurrency_configs(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    if (!fn)
        return 0;
    json_t *list = json_array();
    for (size_t i = 0; i < fn->nversions; i++) {
        lambda_version_t *v = fn->versions[i];
        if (!v->provisioned)
            continue;
        json_t *o = provisioned_view(st, c, fn, v, v->provisioned);
        json_object_set_new(o, "FunctionArn", json_string(arena_sprintf(c->arena, "%s:%s", fn->arn, v->version)));
        json_array_append_new(list, o);
    }
    for (size_t i = 0; i < fn->naliases; i++) {
        lambda_alias_t *a = fn->aliases[i];
        const char *ver = json_string_value(json_object_get(a->config, "FunctionVersion"));
        lambda_version_t *v = ver ? lambda__version_lookup(fn, ver) : NULL;
        if (!a->provisioned || !v)
            continue;
        json_t *o = provisioned_view(st, c, fn, v, a->provisioned);
        json_object_set_new(o, "FunctionArn", json_string(arena_sprintf(c->arena, "%s:%s", fn->arn, a->name)));
        json_array_append_new(list, o);
    }
    json_object_set_new(svc_output(c), "ProvisionedConcurrencyConfigs", list);
    return 0;
}

/* ==== account ==== */

int lambda_get_account_settings(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    json_int_t total = 0, count = 0;
    for (lambda_fn_t *f = st->fns; f; f = f->next) {
        count++;
        for (size_t i = 0; i < f->nversions; i++)
            total += json_integer_value(json_object_get(f->versions[i]->config, "CodeSize"));
    }
    for (lambda_layer_t *l = st->layers; l; l = l->next)
        total += json_integer_value(json_object_get(json_object_get(l->info, "Content"), "CodeSize"));
    c->output = json_pack("{s:{s:I,s:I,s:I,s:i,s:i},s:{s:I,s:I}}", "AccountLimit", "TotalCodeSize",
                          (json_int_t)80530636800LL, "CodeSizeUnzipped", (json_int_t)KYOKA_LAMBDA_MAX_UNZIPPED_BYTES,
                          "CodeSizeZipped", (json_int_t)KYOKA_LAMBDA_MAX_ZIP_BYTES, "ConcurrentExecutions",
                          st->account_concurrency, "UnreservedConcurrentExecutions", lambda__unreserved(st),
                          "AccountUsage", "TotalCodeSize", total, "FunctionCount", count);
    return 0;
}

/* ==== tags ==== */

static lambda_fn_t *tagged_or_fail(svc_call_t *c, const char *member)
{
    const char *arn = svc_in_str(c, member);
    lambda_ref_t r;
    if (!arn || strncmp(arn, "arn:", 4) != 0) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value '%s' at 'resource' failed to satisfy constraint: Member must "
                  "satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-"
                  "[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)"
                  "|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  "[0-9a-f]{4}-[0-9a-f]{12})",
                  arn ? arn : "");
        return NULL;
    }
    if (!lambda__ref_parse(c, arn, NULL, &r))
        return NULL;
    return lambda__fn_get_or_fail(c, &r);
}

int lambda_tag_resource(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_fn_t *fn = tagged_or_fail(c, "Resource");
    if (!fn)
        return 0;
    json_t *tags = svc_in(c, "Tags");
    if (json_object_size(fn->tags) + json_object_size(tags) > 50) {
        size_t merged = json_object_size(fn->tags);
        const char *k;
        json_t *v;
        json_object_foreach(tags, k, v) if (!json_object_get(fn->tags, k)) merged++;
        if (merged > 50) {
            svc_error(c, "InvalidParameterValueException", 400,
                      "Number of tags exceeds resource tag limit. Resource can have up to 50 tags.");
            return 0;
        }
    }
    json_object_update(fn->tags, tags);
    lambda__fn_save(st, fn);
    return 0;
}

int lambda_untag_resource(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_fn_t *fn = tagged_or_fail(c, "Resource");
    if (!fn)
        return 0;
    size_t i;
    json_t *k;
    json_array_foreach(svc_in(c, "TagKeys"), i, k) json_object_del(fn->tags, json_string_value(k));
    lambda__fn_save(st, fn);
    return 0;
}

int lambda_list_tags(svc_call_t *c)
{
    lambda_fn_t *fn = tagged_or_fail(c, "Resource");
    if (fn)
        json_object_set(svc_output(c), "Tags", fn->tags);
    return 0;
}
