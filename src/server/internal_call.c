/*
 * Calls kyoka makes by itself (ctx->call, ctx->decide): the one door every
 * service-to-service path uses (src/pipes builds on it). An internal call
 * runs through the same steps as a client's request after decoding:
 * validation, authorization of the caller (an execution role's session with
 * its identity policies, or a service principal with aws:SourceArn and
 * aws:SourceAccount) against the resource's own policy, the handler, and
 * durability; it is in the request log and the decision log like any other.
 *
 * Calls start on a later loop turn, never inside the caller's stack: the
 * caller is usually in the middle of its own state change (an invocation
 * finishing) and must not be re-entered by the handler it calls.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static void on_internal_timer(uv_timer_t *t)
{
    kyoka_server_t *s = t->data;
    /* Calls queued by these calls' handlers wait for the next turn. */
    kyoka_internal_t *q = s->internal_head;
    s->internal_head = s->internal_tail = NULL;
    while (q) {
        kyoka_internal_t *next = q->next;
        svc_call_t *c = q->call;
        free(q);
        kyoka__internal_run(c);
        q = next;
    }
}

static void internal_call(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *service, const char *operation,
                          json_t *input, svc_call_done_fn done, void *data)
{
    kyoka_server_t *s = ctx->_server;
    svc_call_t *c = kyoka__internal_create(s, who, service, operation, input, done, data);
    if (s->internal_stopped) {
        kyoka__internal_cancel(c); /* shutting down: the one time done runs inside */
        return;
    }
    kyoka_internal_t *q = xcalloc(1, sizeof *q);
    q->call = c;
    if (s->internal_tail)
        s->internal_tail->next = q;
    else
        s->internal_head = q;
    s->internal_tail = q;
    if (!uv_is_active((uv_handle_t *)&s->internal_timer))
        uv_timer_start(&s->internal_timer, on_internal_timer, 0, 0);
}

static iam_decision_t internal_decide(kyoka_ctx_t *ctx, const svc_caller_t *who, const char *service,
                                      const char *action, const char *resource, const char **decision_id)
{
    kyoka_server_t *s = ctx->_server;
    arena_t a;
    arena_init(&a);
    iam_principal_t pr = {0};
    iam_policy_set_t set = {0};
    iam_ctx_value_t extra[2];
    size_t nextra = 0;
    if (who->cred) {
        kyoka__principal_of(who->cred, &pr);
        if (!pr.is_root && ctx->identity_for)
            ctx->identity_for(ctx->iam_state, who->cred, &a, &pr, &set);
    } else {
        pr.service = who->service_principal;
        pr.type = "Service";
        if (who->source_arn)
            extra[nextra++] = (iam_ctx_value_t){"aws:SourceArn", &who->source_arn, 1};
        if (who->source_account)
            extra[nextra++] = (iam_ctx_value_t){"aws:SourceAccount", &who->source_account, 1};
    }
    svc_slot_t *slot = kyoka__service_by_name(s, strv_from(service));
    const char *owner = NULL;
    iam_named_policy_t rp;
    if (slot && slot->def->resource_policy) {
        const iam_policy_t *pol = slot->def->resource_policy(slot->state, resource, &owner);
        if (pol) {
            rp = (iam_named_policy_t){arena_sprintf(&a, "resource:%s", resource), pol};
            set.resource = &rp;
        }
    }
    iam_request_t r = {
        .action = action,
        .resource = resource,
        .resource_account = owner ? owner : ctx->account_id,
        .principal = &pr,
        .context = extra,
        .ncontext = nextra,
        .region = who->region ? who->region : ctx->region,
        .now_ms = kyoka_clock_now_ms(),
    };
    iam_explain_t ex;
    iam_decision_t d = iam_evaluate(&r, &set, &ex);
    if (decision_id)
        *decision_id = iam_decision_log_add(&r, &ex);
    arena_destroy(&a);
    return d;
}

void kyoka__internal_start(kyoka_server_t *s)
{
    uv_timer_init(s->loop, &s->internal_timer);
    s->internal_timer.data = s;
    s->ctx.call = internal_call;
    s->ctx.decide = internal_decide;
}

void kyoka__internal_stop(kyoka_server_t *s)
{
    /* Calls still queued are answered "shutting down" so their owners can
     * free what they hold; events they carried stay in the store. */
    while (s->internal_head) {
        kyoka_internal_t *q = s->internal_head;
        s->internal_head = q->next;
        kyoka__internal_cancel(q->call);
        free(q);
    }
    s->internal_tail = NULL;
    s->internal_stopped = true;
    if (!uv_is_closing((uv_handle_t *)&s->internal_timer))
        uv_close((uv_handle_t *)&s->internal_timer, NULL);
}
