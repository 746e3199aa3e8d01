/*
 * Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s): how asynchronous
 * invocations of a function, version or alias are retried and where their
 * records go (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html).
 *
 * A configuration belongs to a qualifier: the unqualified function is
 * $LATEST. Put replaces it, Update changes only the members given. A
 * destination must be an SQS queue, SNS topic, Lambda function or
 * EventBridge bus (an S3 bucket on failure only), and the execution role
 * must be allowed to write there, as AWS checks when the configuration is
 * saved. The ranges of MaximumRetryAttempts (0-2) and
 * MaximumEventAgeInSeconds (60-21600) are the model's, checked before the
 * handler runs.
 */
#include "internal.h"

#include "pipes/pipes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* The qualifier a configuration is kept under, checked to exist. */
static const char *config_key(svc_call_t *c, lambda_fn_t *fn, const lambda_ref_t *r)
{
    if (!r->qualifier || strcmp(r->qualifier, "$LATEST") == 0)
        return "$LATEST";
    if (lambda__version_lookup(fn, r->qualifier) || lambda__alias_lookup(fn, r->qualifier))
        return r->qualifier;
    svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s:%s", fn->arn, r->qualifier);
    return NULL;
}

static const char *service_label(pipes_dest_kind_t k)
{
    switch (k) {
    case PIPES_DEST_SQS:
        return "SQS";
    case PIPES_DEST_SNS:
        return "SNS";
    case PIPES_DEST_LAMBDA:
        return "Lambda";
    case PIPES_DEST_EVENTS:
        return "EventBridge";
    case PIPES_DEST_S3:
        return "S3";
    default:
        return "";
    }
}

/* One destination: its kind, and the role's permission to write there. */
static bool destination_ok(svc_call_t *c, lambda_fn_t *fn, const char *role, const char *arn, bool on_failure)
{
    pipes_dest_t d;
    pipes_dest_kind_t k = pipes_dest_parse(arn, &d);
    if (k == PIPES_DEST_INVALID || (k == PIPES_DEST_S3 && !on_failure)) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "The destination ARN %s is invalid. Destinations can be an SQS queue, an SNS topic, a Lambda "
                  "function or an EventBridge event bus%s.",
                  arn, on_failure ? " (or an S3 bucket for failures)" : "");
        return false;
    }
    if (k == PIPES_DEST_LAMBDA) {
        /* A function may not be its own destination (an endless loop). */
        const char *self = fn->arn;
        size_t n = strlen(self);
        if (strncmp(arn, self, n) == 0 && (arn[n] == '\0' || arn[n] == ':')) {
            svc_error(c, "InvalidParameterValueException", 400,
                      "You can't specify the function as a destination for itself.");
            return false;
        }
    }
    return lambda__role_may(c, fn, role, d.action, d.api, arn, service_label(k), "The provided execution role");
}

static bool destinations_ok(svc_call_t *c, lambda_fn_t *fn, json_t *dc)
{
    lambda_version_t *latest = fn->versions[0];
    const char *role = json_string_value(json_object_get(latest->config, "Role"));
    static const char *const which[] = {"OnSuccess", "OnFailure"};
    for (size_t i = 0; i < 2; i++) {
        const char *arn = json_string_value(json_object_get(json_object_get(dc, which[i]), "Destination"));
        if (arn && *arn && !destination_ok(c, fn, role, arn, i == 1))
            return false;
    }
    return true;
}

/* DestinationConfig as AWS echoes it: both sides, empty when unset. */
static json_t *destination_view(json_t *dc)
{
    json_t *out = json_object();
    static const char *const which[] = {"OnSuccess", "OnFailure"};
    for (size_t i = 0; i < 2; i++) {
        const char *arn = json_string_value(json_object_get(json_object_get(dc, which[i]), "Destination"));
        json_object_set_new(out, which[i], arn && *arn ? json_pack("{s:s}", "Destination", arn) : json_object());
    }
    return out;
}

static double now_seconds(void) { return (double)kyoka_clock_now_ms() / 1000.0; }

static int put_or_update(svc_call_t *c, bool update)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, true, &r);
    if (!fn)
        return 0;
    const char *key = config_key(c, fn, &r);
    if (!key)
        return 0;
    json_t *old = json_object_get(fn->event_configs, key);
    if (update && !old) {
        svc_error(c, "ResourceNotFoundException", 404, "The function %s:%s doesn't have an EventInvokeConfig",
                  fn->arn, key);
        return 0;
    }
    json_t *cfg = update ? json_deep_copy(old) : json_object();
    json_t *dc = svc_in(c, "DestinationConfig");
    if (dc) {
        json_t *merged = update ? json_deep_copy(json_object_get(cfg, "DestinationConfig")) : json_object();
        if (!merged)
            merged = json_object();
        static const char *const which[] = {"OnSuccess", "OnFailure"};
        for (size_t i = 0; i < 2; i++)
            if (json_object_get(dc, which[i]))
                json_object_set(merged, which[i], json_object_get(dc, which[i]));
        json_object_set_new(cfg, "DestinationConfig", destination_view(merged));
        json_decref(merged);
    } else if (!json_object_get(cfg, "DestinationConfig")) {
        json_object_set_new(cfg, "DestinationConfig", destination_view(NULL));
    }
    static const char *const ints[] = {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"};
    for (size_t i = 0; i < 2; i++)
        if (svc_in(c, ints[i]))
            json_object_set(cfg, ints[i], svc_in(c, ints[i]));
    if (!destinations_ok(c, fn, json_object_get(cfg, "DestinationConfig"))) {
        json_decref(cfg);
        return 0;
    }
    json_object_set_new(cfg, "FunctionArn", json_sprintf("%s:%s", fn->arn, key));
    json_object_set_new(cfg, "LastModified", json_real(now_seconds()));
    json_object_set(fn->event_configs, key, cfg);
    lambda__fn_save(st, fn);
    c->output = cfg;
    return 0;
}

int lambda_put_function_event_invoke_config(svc_call_t *c) { return put_or_update(c, false); }

int lambda_update_function_event_invoke_config(svc_call_t *c) { return put_or_update(c, true); }

static json_t *config_or_fail(svc_call_t *c, lambda_fn_t **fnp, const char **keyp)
{
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, true, &r);
    if (!fn)
        return NULL;
    const char *key = config_key(c, fn, &r);
    if (!key)
        return NULL;
    json_t *cfg = json_object_get(fn->event_configs, key);
    if (!cfg)
        svc_error(c, "ResourceNotFoundException", 404, "The function %s:%s doesn't have an EventInvokeConfig",
                  fn->arn, key);
    *fnp = fn;
    *keyp = key;
    return cfg;
}

int lambda_get_function_event_invoke_config(svc_call_t *c)
{
    lambda_fn_t *fn;
    const char *key;
    json_t *cfg = config_or_fail(c, &fn, &key);
    if (cfg)
        c->output = json_deep_copy(cfg);
    return 0;
}

int lambda_delete_function_event_invoke_config(svc_call_t *c)
{
    lambda_fn_t *fn;
    const char *key;
    if (!config_or_fail(c, &fn, &key))
        return 0;
    json_object_del(fn->event_configs, key);
    lambda__fn_save(c->state, fn);
    return 0;
}

int lambda_list_function_event_invoke_configs(svc_call_t *c)
{
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    size_t n = fn ? json_object_size(fn->event_configs) : 0, start, max;
    if (!fn || !lambda__page(c, n, &start, &max))
        return 0;
    /* In the order of the qualifiers, so pages are stable. */
    const char **keys = arena_alloc(c->arena, (n ? n : 1) * sizeof *keys);
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(fn->event_configs, key, v) keys[k++] = key;
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    json_t *list = json_array();
    size_t i = start;
    for (; i < k && json_array_size(list) < max; i++)
        json_array_append(list, json_object_get(fn->event_configs, keys[i]));
    json_t *out = svc_output(c);
    json_object_set_new(out, "FunctionEventInvokeConfigs", list);
    if (i < k)
        json_object_set_new(out, "NextMarker", json_sprintf("%zu", i));
    return 0;
}
