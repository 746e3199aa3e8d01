/*
 * Invoke: pick the version (an alias's weights decide between two), check
 * the payload, and hand the event to the runtime through the invoker; the
 * call waits on the loop for the answer.
 *
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html:
 *   RequestResponse  200 with the function's answer; X-Amz-Function-Error
 *                    "Unhandled" when it failed, X-Amz-Executed-Version,
 *                    X-Amz-Log-Result (the last 4 KB of log) with LogType Tail
 *   Event            202 once the event is durably queued (async.c runs it)
 *   DryRun           204 once the caller is authorized
 * A synchronous request over 6 MB answers RequestEntityTooLargeException
 * (413); no capacity answers TooManyRequestsException (429) with a Reason.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

typedef struct invoke_wait {
    svc_call_t *c;
    lambda_state_t *st;
    void *ticket;
    char *executed;
} invoke_wait_t;

/* Weighted routing: the alias's primary version unless a uniform draw
 * falls within an additional version's weight. */
lambda_version_t *lambda__route_alias(svc_call_t *c, lambda_fn_t *fn, lambda_alias_t *a)
{
    json_t *weights = json_object_get(json_object_get(a->config, "RoutingConfig"), "AdditionalVersionWeights");
    const char *primary = json_string_value(json_object_get(a->config, "FunctionVersion"));
    if (json_object_size(weights)) {
        uint32_t r;
        kyoka_random(&r, sizeof r);
        double draw = (double)r / 4294967296.0, acc = 0;
        const char *k;
        json_t *w;
        json_object_foreach(weights, k, w)
        {
            acc += json_number_value(w);
            if (draw < acc) {
                lambda_version_t *v = lambda__version_lookup(fn, k);
                if (v)
                    return v;
            }
        }
    }
    lambda_version_t *v = primary ? lambda__version_lookup(fn, primary) : NULL;
    if (!v)
        svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s:%s", fn->arn, a->name);
    return v;
}

static void on_invoke_abort(svc_call_t *c)
{
    invoke_wait_t *w = c->parked;
    if (w && w->st->has_invoker && w->ticket)
        w->st->invoker.cancel(w->st->invoker.rt, w->ticket);
    if (w)
        free(w->executed);
    free(w);
    c->parked = NULL;
}

static void on_invoked(void *data, const lambda_invoke_result_t *res)
{
    invoke_wait_t *w = data;
    svc_call_t *c = w->c;
    c->parked = NULL;
    c->on_abort = NULL;
    if (res->status == LAMBDA_RUN_THROTTLED) {
        svc_error(c, "TooManyRequestsException", 429, "Rate Exceeded.");
        c->error.reason = res->throttle_reason;
    } else if (res->status == LAMBDA_RUN_SERVICE_ERROR) {
        svc_error(c, res->error_code ? res->error_code : "ServiceException", 500, "%s",
                  res->error_message ? res->error_message : "kyoka could not run the function");
    } else {
        json_t *out = svc_output(c);
        json_object_set_new(out, "StatusCode", json_integer(200));
        json_object_set_new(out, "ExecutedVersion", json_string(w->executed));
        if (res->function_error)
            json_object_set_new(out, "FunctionError", json_string(res->function_error));
        if (res->log_tail)
            json_object_set_new(out, "LogResult",
                                json_string(base64_encode(c->arena, res->log_tail, res->log_tail_len)));
        json_object_set_new(out, "Payload", json_stringn_nocheck(res->payload ? res->payload : "", res->len));
    }
    free(w->executed);
    free(w);
    svc_call_finish(c);
}

/* Lambda refuses an event that is not JSON before running anything
 * (any JSON value will do: an object, a string, a number). */
static bool payload_is_json(svc_call_t *c, const char *p, size_t n)
{
    json_error_t je;
    json_t *j = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (j) {
        json_decref(j);
        return true;
    }
    svc_error(c, "InvalidRequestContentException", 400,
              "Could not parse request body into json: Could not parse payload into json: %s: line %d, column %d",
              je.text, je.line, je.column);
    return false;
}

int lambda_invoke(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, true, &r);
    if (!fn)
        return 0;
    lambda_version_t *v;
    lambda_alias_t *alias = r.qualifier ? lambda__alias_lookup(fn, r.qualifier) : NULL;
    v = alias ? lambda__route_alias(c, fn, alias) : lambda__resolve_or_fail(c, fn, r.qualifier);
    if (!v)
        return 0;
    const char *type = svc_in_str(c, "InvocationType");
    bool event = type && strcmp(type, "Event") == 0;
    bool dry = type && strcmp(type, "DryRun") == 0;
    json_t *payload = svc_in(c, "Payload");
    const char *body = payload ? json_string_value(payload) : "";
    size_t len = payload ? json_string_length(payload) : 0;
    size_t limit = event ? KYOKA_LAMBDA_MAX_ASYNC_PAYLOAD : KYOKA_LAMBDA_MAX_SYNC_PAYLOAD;
    if (len > limit) {
        svc_error(c, "RequestEntityTooLargeException", 413, "Request must be smaller than %zu bytes for the %s operation",
                  limit, "InvokeFunction");
        return 0;
    }
    if (len == 0) {
        body = "{}";
        len = 2;
    } else if (!payload_is_json(c, body, len)) {
        return 0;
    }
    if (dry) {
        json_object_set_new(svc_output(c), "StatusCode", json_integer(204));
        return 0;
    }
    if (!st->has_invoker) {
        svc_error(c, "ServiceException", 500, "kyoka's function runtime is not running");
        return 0;
    }
    if (event) {
        /* Queued durably (async.c); the 202 leaves once the row is committed. */
        lambda__async_enqueue(st, fn, r.qualifier, c->request_id, body, len);
        json_object_set_new(svc_output(c), "StatusCode", json_integer(202));
        return 0;
    }
    lambda_run_spec_t spec;
    if (!lambda__run_spec(st, c, fn, v, &spec))
        return 0;
    spec.provisioned = 0;
    const char *log_type = svc_in_str(c, "LogType");
    strv_t trace = c->req ? http_request_header(c->req, "x-amzn-trace-id") : STRV_NULL;
    lambda_invoke_req_t req = {
        .request_id = c->request_id,
        .invoked_arn = lambda__ref_arn(c, &r),
        .payload = body,
        .len = len,
        .client_context = svc_in_str(c, "ClientContext"),
        .trace_id = trace.p ? arena_strndup(c->arena, trace.p, trace.len) : NULL,
        .tail_log = log_type && strcmp(log_type, "Tail") == 0,
    };
    const char *refusal = NULL;
    invoke_wait_t *w = xcalloc(1, sizeof *w);
    w->c = c;
    w->st = st;
    w->executed = xstrdup(v->version);
    c->parked = w;
    c->on_abort = on_invoke_abort;
    int rc = st->invoker.invoke(st->invoker.rt, &spec, &req, on_invoked, w, &w->ticket, &refusal);
    if (rc != 0) {
        c->parked = NULL;
        c->on_abort = NULL;
        free(w->executed);
        free(w);
        if (rc == KYOKA_ELIMIT) {
            svc_error(c, "TooManyRequestsException", 429, "Rate Exceeded.");
            c->error.reason = refusal;
        } else {
            svc_error(c, "ServiceException", 500, "%s", refusal ? refusal : "kyoka could not run the function");
        }
        return 0;
    }
    return KYOKA_EAGAIN;
}

int lambda__invoke_internal(lambda_state_t *st, lambda_fn_t *fn, const char *qualifier, const char *request_id,
                            const void *payload, size_t len, lambda_invoke_cb done, void *data, const char **executed,
                            const char **refusal)
{
    *refusal = NULL;
    if (!st->has_invoker) {
        *refusal = "kyoka's function runtime is not running";
        return KYOKA_EIO;
    }
    arena_t a;
    arena_init(&a);
    /* A call of kyoka's own: the helpers below report through it. */
    svc_call_t c = {.ctx = st->ctx, .state = st, .arena = &a, .region = fn->region, .internal = true};
    snprintf(c.request_id, sizeof c.request_id, "%s", request_id);
    lambda_alias_t *alias = qualifier ? lambda__alias_lookup(fn, qualifier) : NULL;
    lambda_version_t *v = alias ? lambda__route_alias(&c, fn, alias) : lambda__resolve_or_fail(&c, fn, qualifier);
    lambda_run_spec_t spec;
    if (!v || !lambda__run_spec(st, &c, fn, v, &spec)) {
        static char why[256];
        snprintf(why, sizeof why, "%.255s", aws_error_text(&c.error));
        *refusal = why;
        arena_destroy(&a);
        return KYOKA_EINVAL;
    }
    *executed = v->version; /* lives as long as the version */
    lambda_invoke_req_t req = {
        .request_id = request_id,
        .invoked_arn = qualifier ? arena_sprintf(&a, "%s:%s", fn->arn, qualifier) : fn->arn,
        .payload = payload,
        .len = len,
    };
    int rc = st->invoker.invoke(st->invoker.rt, &spec, &req, done, data, NULL, refusal);
    arena_destroy(&a);
    return rc;
}
