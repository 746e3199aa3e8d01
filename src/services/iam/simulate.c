/*
 * The policy simulator: SimulatePrincipalPolicy and SimulateCustomPolicy.
 *
 * Both run the same evaluator that authorizes real requests (iam_evaluate)
 * over a policy set built from the input, once per action and resource, and
 * report AWS's EvaluationResult shape
 * (https://docs.aws.amazon.com/IAM/latest/APIReference/API_EvaluationResult.html):
 * one result per action whose decision is the most restrictive over the
 * resources (explicitDeny > implicitDeny > allowed), with the per-resource
 * decisions in ResourceSpecificResults, the statements that decided
 * (MatchedStatements, with positions in the policy documents), and the
 * condition keys the policies needed but the request did not carry
 * (MissingContextValues).
 *
 * SourcePolicyId / SourcePolicyType name where a statement came from:
 * "PolicyInputList.N" / "IAM Policy" for policies passed in, the policy name
 * with "user", "group" or "role" for inline policies, "aws-managed" or
 * "user-managed" for managed ones, "ResourcePolicy" / "resource" for the
 * resource policy.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define SIM_MAX_ACTIONS 1000
#define SIM_MAX_RESOURCES 1000
#define SIM_MAX_POLICIES 64

typedef struct sim {
    svc_call_t *c;
    iam_state_t *st;
    iam_named_policy_t identity[SIM_MAX_POLICIES];
    iam_policy_src_t identity_src[SIM_MAX_POLICIES];
    size_t nidentity;
    iam_named_policy_t boundary;
    iam_policy_src_t boundary_src;
    bool has_boundary;
    iam_named_policy_t resource;
    bool has_resource;
    iam_policy_t *owned[SIM_MAX_POLICIES + 2]; /* parsed from input: freed at the end */
    size_t nowned;
    iam_principal_t principal;
    iam_ctx_value_t *context;
    size_t ncontext;
    const char *resource_owner;
} sim_t;

static void sim_free(sim_t *s)
{
    for (size_t i = 0; i < s->nowned; i++)
        iam_policy_free(s->owned[i]);
    s->nowned = 0;
}

/* Parse each document of an input list; false with the error set. */
static bool add_inputs(sim_t *s, json_t *list, const char *list_name, bool boundary)
{
    size_t i;
    json_t *doc;
    json_array_foreach(list, i, doc) {
        const char *text = json_string_value(doc);
        iam_policy_t *p = iam__parse_or_fail(s->c, text, IAM_POLICY_IDENTITY, 0, NULL);
        if (!p)
            return false;
        if (s->nowned >= KYOKA_ARRAY_LEN(s->owned) || (!boundary && s->nidentity >= SIM_MAX_POLICIES)) {
            iam_policy_free(p);
            svc_error(s->c, "InvalidInputException", 0, "Too many policies in %s.", list_name);
            return false;
        }
        s->owned[s->nowned++] = p;
        const char *label = arena_sprintf(s->c->arena, "%s.%zu", list_name, i + 1);
        iam_policy_src_t src = {label, "IAM Policy"};
        if (boundary) {
            /* One permissions boundary applies; the first is used. */
            if (!s->has_boundary) {
                s->boundary = (iam_named_policy_t){label, p};
                s->boundary_src = src;
                s->has_boundary = true;
            }
        } else {
            s->identity[s->nidentity] = (iam_named_policy_t){label, p};
            s->identity_src[s->nidentity++] = src;
        }
    }
    return true;
}

static bool add_resource_policy(sim_t *s)
{
    const char *text = svc_in_str(s->c, "ResourcePolicy");
    if (!text)
        return true;
    iam_policy_t *p = iam__parse_or_fail(s->c, text, IAM_POLICY_RESOURCE, 0, NULL);
    if (!p)
        return false;
    s->owned[s->nowned++] = p;
    s->resource = (iam_named_policy_t){"ResourcePolicy", p};
    s->has_resource = true;
    return true;
}

static void add_context(sim_t *s)
{
    json_t *entries = svc_in(s->c, "ContextEntries");
    size_t n = json_array_size(entries);
    s->context = arena_calloc(s->c->arena, (n ? n : 1) * sizeof *s->context);
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        const char *key = json_string_value(json_object_get(e, "ContextKeyName"));
        json_t *vals = json_object_get(e, "ContextKeyValues");
        if (!key)
            continue;
        size_t nv = json_array_size(vals);
        const char **v = arena_alloc(s->c->arena, (nv ? nv : 1) * sizeof *v);
        size_t k = 0;
        size_t j;
        json_t *val;
        json_array_foreach(vals, j, val) {
            if (json_is_string(val))
                v[k++] = json_string_value(val);
        }
        s->context[s->ncontext++] = (iam_ctx_value_t){key, v, k};
    }
}

/* The principal the simulation runs as: CallerArn when given (a user or
 * role of this account when it exists), else fallback. */
static void set_principal(sim_t *s, const char *caller, const iam_entity_t *fallback)
{
    iam_state_t *st = s->st;
    iam_principal_t *pr = &s->principal;
    memset(pr, 0, sizeof *pr);
    iam_ent_kind_t kind;
    const iam_entity_t *e = caller ? iam__ent_by_arn(st, caller, &kind) : NULL;
    if (!e && !caller)
        e = fallback;
    if (e && e->kind != IAM_ENT_GROUP) {
        iam__principal_for_entity(st, e, s->c->arena, pr);
        return;
    }
    /* A caller that is not an entity here (another account, or none): an
     * ARN to match principals against and nothing more, so policy
     * variables such as ${aws:username} come out as missing context. */
    iam_arn_t a;
    pr->arn = caller ? caller : arena_sprintf(s->c->arena, "arn:aws:iam::%s:user/SimulatedCaller", st->account);
    pr->account = caller && iam_arn_parse(strv_from(caller), &a) == 0 && a.account.len
                      ? arena_strndup(s->c->arena, a.account.p, a.account.len)
                      : st->account;
    pr->type = "User";
}

static const char *owner_account(sim_t *s)
{
    const char *o = svc_in_str(s->c, "ResourceOwner");
    if (!o)
        return s->st->account;
    iam_arn_t a;
    if (iam_arn_parse(strv_from(o), &a) == 0 && a.account.len)
        return arena_strndup(s->c->arena, a.account.p, a.account.len);
    return o;
}

static const iam_policy_src_t *source_of(sim_t *s, const char *name, iam_policy_src_t *tmp)
{
    for (size_t i = 0; i < s->nidentity; i++)
        if (strcmp(s->identity[i].name, name) == 0)
            return &s->identity_src[i];
    if (s->has_boundary && strcmp(s->boundary.name, name) == 0)
        return &s->boundary_src;
    *tmp = (iam_policy_src_t){"ResourcePolicy", "resource"};
    return tmp;
}

static json_t *statement_json(sim_t *s, const iam_match_t *m)
{
    iam_policy_src_t tmp;
    const iam_policy_src_t *src = source_of(s, m->policy_name, &tmp);
    return json_pack("{s:s,s:s,s:{s:i,s:i},s:{s:i,s:i}}", "SourcePolicyId", src->id, "SourcePolicyType", src->type,
                     "StartPosition", "Line", m->start_line, "Column", m->start_col, "EndPosition", "Line",
                     m->end_line, "Column", m->end_col);
}

/* The statements that decided: the Allows for an allow, the Denies for an
 * explicit deny, none for an implicit deny. */
static void add_matches(sim_t *s, json_t *list, const iam_explain_t *ex, iam_decision_t d)
{
    if (d == IAM_IMPLICIT_DENY)
        return;
    for (size_t i = 0; i < ex->nmatches; i++) {
        const iam_match_t *m = &ex->matches[i];
        if (m->effect_allow != (d == IAM_ALLOW))
            continue;
        json_t *j = statement_json(s, m);
        bool dup = false;
        size_t k;
        json_t *old;
        json_array_foreach(list, k, old) {
            dup = dup || json_equal(old, j);
        }
        if (dup)
            json_decref(j);
        else
            json_array_append_new(list, j);
    }
}

static void add_missing(json_t *list, const iam_explain_t *ex)
{
    for (size_t i = 0; i < ex->nmissing; i++) {
        bool dup = false;
        size_t k;
        json_t *old;
        json_array_foreach(list, k, old) {
            dup = dup || strcmp(json_string_value(old), ex->missing_context[i]) == 0;
        }
        if (!dup)
            json_array_append_new(list, json_string(ex->missing_context[i]));
    }
}

static int restrictiveness(iam_decision_t d) { return d == IAM_EXPLICIT_DENY ? 2 : d == IAM_IMPLICIT_DENY ? 1 : 0; }

static int run(sim_t *s)
{
    svc_call_t *c = s->c;
    json_t *actions = svc_in(c, "ActionNames");
    json_t *resources = svc_in(c, "ResourceArns");
    size_t nact = json_array_size(actions), nres = json_array_size(resources);
    if (nact > SIM_MAX_ACTIONS || nres > SIM_MAX_RESOURCES) {
        svc_error(c, "InvalidInputException", 0, "Too many actions or resources in one simulation.");
        return 0;
    }
    add_context(s);
    s->resource_owner = owner_account(s);
    iam_policy_set_t set = {
        .identity = s->identity,
        .nidentity = s->nidentity,
        .boundary = s->has_boundary ? &s->boundary : NULL,
        .resource = s->has_resource ? &s->resource : NULL,
    };
    json_t *results = json_array();
    iam_explain_t *ex = arena_alloc(c->arena, sizeof *ex);
    size_t nr = nres ? nres : 1;
    for (size_t a = 0; a < nact; a++) {
        const char *action = json_string_value(json_array_get(actions, a));
        if (!action)
            continue;
        iam_request_t req = {
            .action = action,
            .resource_account = s->resource_owner,
            .principal = &s->principal,
            .context = s->context,
            .ncontext = s->ncontext,
            .region = c->region,
            .now_ms = kyoka_clock_now_ms(),
        };
        /* First the aggregate: the most restrictive decision over the
         * resources; then the details, keeping at the top level only the
         * statements behind the aggregate. */
        iam_decision_t worst = IAM_ALLOW;
        for (size_t r = 0; r < nr; r++) {
            const char *resource = nres ? json_string_value(json_array_get(resources, r)) : "*";
            req.resource = resource ? resource : "*";
            iam_decision_t d = iam_evaluate(&req, &set, NULL);
            if (restrictiveness(d) > restrictiveness(worst))
                worst = d;
        }
        json_t *matched = json_array(), *missing = json_array(), *specific = json_array();
        bool boundary_allows = true;
        for (size_t r = 0; r < nr; r++) {
            const char *resource = nres ? json_string_value(json_array_get(resources, r)) : "*";
            req.resource = resource ? resource : "*";
            iam_decision_t d = iam_evaluate(&req, &set, ex);
            boundary_allows = boundary_allows && ex->boundary_allows;
            if (d == worst)
                add_matches(s, matched, ex, d);
            add_missing(missing, ex);
            if (!nres)
                continue;
            json_t *rm = json_array(), *rmiss = json_array();
            add_matches(s, rm, ex, d);
            add_missing(rmiss, ex);
            json_t *one = json_pack("{s:s,s:s,s:o,s:o,s:o}", "EvalResourceName", req.resource, "EvalResourceDecision",
                                    iam_decision_name(d), "MatchedStatements", rm, "MissingContextValues", rmiss,
                                    "EvalDecisionDetails", json_object());
            if (s->has_boundary)
                json_object_set_new(one, "PermissionsBoundaryDecisionDetail",
                                    json_pack("{s:b}", "AllowedByPermissionsBoundary", ex->boundary_allows));
            json_array_append_new(specific, one);
        }
        json_t *res = json_object();
        json_object_set_new(res, "EvalActionName", json_string(action));
        json_object_set_new(res, "EvalResourceName",
                            json_string(nres == 1 ? json_string_value(json_array_get(resources, 0)) : "*"));
        json_object_set_new(res, "EvalDecision", json_string(iam_decision_name(worst)));
        json_object_set_new(res, "MatchedStatements", matched);
        json_object_set_new(res, "MissingContextValues", missing);
        /* Same-account simulations with resource ARNs carry an empty map
         * (API_EvaluationResult.html). */
        if (nres)
            json_object_set_new(res, "EvalDecisionDetails", json_object());
        if (s->has_boundary)
            json_object_set_new(res, "PermissionsBoundaryDecisionDetail",
                                json_pack("{s:b}", "AllowedByPermissionsBoundary", boundary_allows));
        if (nres)
            json_object_set_new(res, "ResourceSpecificResults", specific);
        else
            json_decref(specific);
        json_array_append_new(results, res);
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "EvaluationResults", results);
    json_object_set_new(out, "IsTruncated", json_false());
    return 0;
}

static sim_t *sim_new(svc_call_t *c)
{
    sim_t *s = arena_calloc(c->arena, sizeof *s);
    s->c = c;
    s->st = c->state;
    return s;
}

/* What both simulators take besides the principal's own policies: the
 * policies passed in and the resource's policy. False with the error set. */
static bool add_given_policies(sim_t *s)
{
    svc_call_t *c = s->c;
    return add_inputs(s, svc_in(c, "PolicyInputList"), "PolicyInputList", false) &&
           add_inputs(s, svc_in(c, "PermissionsBoundaryPolicyInputList"), "PermissionsBoundaryPolicyInputList",
                      true) &&
           add_resource_policy(s);
}

/* Run as CallerArn (or as fallback when it is absent), then free s. */
static int run_as_caller(sim_t *s, const iam_entity_t *fallback)
{
    set_principal(s, svc_in_str(s->c, "CallerArn"), fallback);
    run(s);
    sim_free(s);
    return 0;
}

/* ==== operation handlers ==== */

int iam_simulate_principal_policy(svc_call_t *c)
{
    sim_t *s = sim_new(c);
    const char *source = svc_in_str(c, "PolicySourceArn");
    iam_ent_kind_t kind;
    iam_entity_t *e = iam__ent_by_arn(s->st, source, &kind);
    if (!e) {
        svc_error(c, "NoSuchEntityException", 0, "The entity %s cannot be found.", source ? source : "");
        return 0;
    }
    iam_named_policy_t *ids;
    iam_policy_src_t *srcs;
    size_t n = iam__entity_policies(s->st, e, c->arena, &ids, &srcs);
    for (size_t i = 0; i < n && s->nidentity < SIM_MAX_POLICIES; i++) {
        s->identity[s->nidentity] = ids[i];
        s->identity_src[s->nidentity++] = srcs[i];
    }
    if (!add_given_policies(s)) {
        sim_free(s);
        return 0;
    }
    /* The entity's own boundary applies unless one is passed in. */
    if (!s->has_boundary && e->boundary && iam__policy_default(e->boundary)) {
        s->boundary = (iam_named_policy_t){e->boundary->arn, iam__policy_default(e->boundary)};
        s->boundary_src = (iam_policy_src_t){e->boundary->name, e->boundary->aws ? "aws-managed" : "user-managed"};
        s->has_boundary = true;
    }
    return run_as_caller(s, e);
}

int iam_simulate_custom_policy(svc_call_t *c)
{
    sim_t *s = sim_new(c);
    if (!add_given_policies(s)) {
        sim_free(s);
        return 0;
    }
    return run_as_caller(s, NULL);
}
