/*
 * The decision: AWS's policy evaluation flowchart over the policies that
 * apply to one request.
 *
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 *   1. An explicit Deny in any applicable policy decides (explicitDeny).
 *   2. Within one account, an Allow in a resource-based policy can decide
 *      alone, depending on how it names the caller: a user ARN, a role
 *      session ARN, a federated-user ARN, a service or "*" grants directly
 *      (implicit denies in identity policies, boundaries and session
 *      policies do not apply); a role ARN grant is still limited by the
 *      role's permissions boundary and session policies; naming the
 *      account only delegates to the account's identity policies.
 *   3. Otherwise identity-based policies must allow, and the permissions
 *      boundary (if any) and session policies (if any) must allow too.
 * Across accounts
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html)
 * both the resource-based policy and the caller's identity side must allow.
 *
 * Each policy is walked once; every matching statement is recorded in the
 * explanation. Nothing here allocates.
 */
#include "iam/internal.h"

#include <string.h>
#include <strings.h>

#include "core/banned.h"

const char *iam_decision_name(iam_decision_t d)
{
    switch (d) {
    case IAM_ALLOW:
        return "allowed";
    case IAM_EXPLICIT_DENY:
        return "explicitDeny";
    default:
        return "implicitDeny";
    }
}

void iam__note_missing(iam__ectx_t *e, const char *key)
{
    iam_explain_t *ex = e->ex;
    if (!ex || !key)
        return;
    for (size_t i = 0; i < ex->nmissing; i++)
        if (strcasecmp(ex->missing_context[i], key) == 0)
            return;
    if (ex->nmissing < IAM_EXPLAIN_MAX_MISSING)
        ex->missing_context[ex->nmissing++] = key;
}

static void note_match(iam__ectx_t *e, const iam_named_policy_t *np, const char *kind, int idx, const iam__stmt_t *st)
{
    iam_explain_t *ex = e->ex;
    if (!ex || ex->nmatches >= IAM_EXPLAIN_MAX_MATCHES)
        return;
    iam_match_t *m = &ex->matches[ex->nmatches++];
    m->policy_name = np->name;
    m->policy_kind = kind;
    m->statement_index = idx;
    m->sid = st->sid;
    m->effect_allow = st->allow;
    m->start_line = st->start_line;
    m->start_col = st->start_col;
    m->end_line = st->end_line;
    m->end_col = st->end_col;
}

/* ---- one statement ---- */

bool iam__stmt_action_matches(const iam__stmt_t *st, const char *action)
{
    bool any = false;
    if (action) {
        size_t len = strlen(action);
        for (uint32_t i = 0; i < st->nactions && !any; i++)
            any = iam__glob_match(&st->actions[i], action, len, true);
    }
    return st->not_action ? !any : any;
}

bool iam__stmt_resource_matches(iam__ectx_t *e, const iam__stmt_t *st, const char *resource)
{
    if (!st->has_resource)
        return true; /* trust policies: the role itself */
    bool any = false;
    for (uint32_t i = 0; i < st->nresources && !any; i++)
        any = iam__arnpat_match(e, &st->resources[i], resource);
    return st->not_resource ? !any : any;
}

static bool streq_opt(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* Strip ":session" from an AROA...:session user id. */
static bool unique_id_eq(const char *user_id, const char *id)
{
    if (!user_id)
        return false;
    size_t n = strcspn(user_id, ":");
    return strlen(id) == n && strncmp(user_id, id, n) == 0;
}

static iam__grant_t entry_grant(iam__ectx_t *e, const iam__principal_pat_t *pp)
{
    const iam_principal_t *pr = e->pr;
    switch (pp->kind) {
    case IAM__PR_ANY:
        /* "*" and {"AWS":"*"} are equivalent and include anonymous callers
         * (reference_policies_elements_principal.html#principal-anonymous). */
        return IAM__GRANT_DIRECT;
    case IAM__PR_ACCOUNT:
        /* An account principal "delegates authority to the account"; it
         * covers every IAM principal of that account. */
        return pr && !pr->service && streq_opt(pr->account, pp->account) ? IAM__GRANT_ACCOUNT : IAM__GRANT_NONE;
    case IAM__PR_USER:
    case IAM__PR_SESSION:
    case IAM__PR_FEDUSER:
        return pr && streq_opt(pr->arn, pp->value) ? IAM__GRANT_DIRECT : IAM__GRANT_NONE;
    case IAM__PR_ROLE:
        /* A role ARN matches every session of the role. */
        return pr && (streq_opt(pr->role_arn, pp->value) || streq_opt(pr->arn, pp->value)) ? IAM__GRANT_ROLE
                                                                                          : IAM__GRANT_NONE;
    case IAM__PR_UNIQUE_ID:
        if (!pr || !unique_id_eq(pr->user_id, pp->value))
            return IAM__GRANT_NONE;
        return strncmp(pp->value, "AROA", 4) == 0 ? IAM__GRANT_ROLE : IAM__GRANT_DIRECT;
    case IAM__PR_SERVICE:
        return pr && pr->service && strcasecmp(pr->service, pp->value) == 0 ? IAM__GRANT_DIRECT : IAM__GRANT_NONE;
    case IAM__PR_FEDERATED: {
        /* The identity provider of a web-identity or SAML session arrives
         * as aws:FederatedProvider in the request context. */
        iam__ctx_lookup_t v;
        if (iam__ctx_get(e, "aws:FederatedProvider", 21, &v) && v.n == 1 && strcasecmp(v.values[0], pp->value) == 0)
            return IAM__GRANT_DIRECT;
        return pr && pr->service && strcasecmp(pr->service, pp->value) == 0 ? IAM__GRANT_DIRECT : IAM__GRANT_NONE;
    }
    case IAM__PR_CANONICAL:
        return pr && streq_opt(pr->user_id, pp->value) ? IAM__GRANT_DIRECT : IAM__GRANT_NONE;
    default:
        return IAM__GRANT_NONE;
    }
}

iam__grant_t iam__stmt_principal_grant(iam__ectx_t *e, const iam__stmt_t *st)
{
    iam__grant_t best = IAM__GRANT_NONE;
    for (uint32_t i = 0; i < st->nprincipals && best != IAM__GRANT_DIRECT; i++) {
        iam__grant_t g = entry_grant(e, &st->principals[i]);
        if (g > best)
            best = g;
    }
    if (!st->not_principal)
        return best;
    /* "The NotPrincipal element with a Deny effect will always deny any IAM
     * principal that has a permissions boundary policy attached, regardless
     * of the values specified" (access_policies_boundaries.html). */
    if (!st->allow && e->has_boundary && e->pr && e->pr->arn && !e->pr->service)
        return IAM__GRANT_DIRECT;
    return best == IAM__GRANT_NONE ? IAM__GRANT_DIRECT : IAM__GRANT_NONE;
}

static bool stmt_applies(iam__ectx_t *e, const iam__stmt_t *st, iam__grant_t *grant)
{
    const iam_request_t *req = e->req;
    if (!iam__stmt_action_matches(st, req->action))
        return false;
    if (!iam__stmt_resource_matches(e, st, req->resource ? req->resource : "*"))
        return false;
    iam__grant_t g = IAM__GRANT_DIRECT;
    if (e->policy->kind != IAM_POLICY_IDENTITY) {
        g = iam__stmt_principal_grant(e, st);
        if (g == IAM__GRANT_NONE)
            return false;
    }
    /* With an explanation wanted, every condition is evaluated so that all
     * missing context keys are reported, not only the first. */
    bool all = true;
    for (uint32_t i = 0; i < st->nconds && (all || e->ex); i++)
        if (!iam__cond_eval(e, &st->conds[i]))
            all = false;
    if (!all)
        return false;
    *grant = g;
    return true;
}

/* ---- one policy ---- */

typedef struct walk {
    bool allow, deny;
    iam__grant_t grant; /* strongest grant among matching Allow statements */
} walk_t;

static void walk_policy(iam__ectx_t *e, const iam_named_policy_t *np, const char *kind, walk_t *w)
{
    if (!np || !np->policy)
        return;
    if (e->ex && e->ex->nconsidered < IAM_EXPLAIN_MAX_CONSIDERED)
        e->ex->considered[e->ex->nconsidered++] = (iam_considered_t){np->name, kind, np->policy};
    e->policy = np->policy;
    for (uint32_t i = 0; i < np->policy->nstmts; i++) {
        const iam__stmt_t *st = &np->policy->stmts[i];
        iam__grant_t g;
        if (!stmt_applies(e, st, &g))
            continue;
        note_match(e, np, kind, (int)i, st);
        if (st->allow) {
            w->allow = true;
            if (g > w->grant)
                w->grant = g;
        } else {
            w->deny = true;
            /* Without an explanation to fill, the first Deny settles it. */
            if (!e->ex)
                return;
        }
    }
}

/* ---- reasons ---- */

#define R_DENY_IDENTITY \
    "Explicit deny: a Deny statement in an identity-based policy matched; an explicit deny overrides " \
    "any allow."
#define R_DENY_BOUNDARY \
    "Explicit deny: a Deny statement in the permissions boundary matched; an explicit deny overrides " \
    "any allow."
#define R_DENY_SESSION \
    "Explicit deny: a Deny statement in a session policy matched; an explicit deny overrides any " \
    "allow."
#define R_DENY_RESOURCE \
    "Explicit deny: a Deny statement in the resource-based policy matched; an explicit deny overrides" \
    " any allow."
#define R_ROOT_ALLOW \
    "Allowed: the account root user has full access to resources in its own account unless an " \
    "explicit deny applies."
#define R_ROOT_CROSS \
    "Implicit deny: a root user accessing another account's resource needs an Allow for it in the " \
    "resource-based policy."
#define R_TRUST_NONE \
    "Implicit deny: the role trust policy does not allow this principal; trust policies must " \
    "explicitly name the principals that may assume the role."
#define R_ANON_ALLOW \
    "Allowed: the resource-based policy grants access to all principals (\"*\"), which includes " \
    "anonymous requests."
#define R_ANON_DENY \
    "Implicit deny: anonymous requests are allowed only by a resource-based policy statement that " \
    "grants to all principals (\"*\")."
#define R_SERVICE_ALLOW \
    "Allowed: the resource-based policy grants access to the calling AWS service principal."
#define R_SERVICE_DENY "Implicit deny: no resource-based policy statement allows this AWS service principal."
#define R_CROSS_ALLOW \
    "Allowed: cross-account access is allowed by both the resource-based policy and the caller's " \
    "identity-based policies."
#define R_CROSS_NO_RESOURCE \
    "Implicit deny: cross-account access needs an Allow for the caller in the resource-based policy, " \
    "and none matched."
#define R_CROSS_NO_IDENTITY \
    "Implicit deny: cross-account access needs an Allow in the caller's identity-based policies as " \
    "well as the resource-based policy."
#define R_DIRECT_ALLOW \
    "Allowed: the resource-based policy grants access directly to this principal in the same account," \
    " so implicit denies in identity-based policies, permissions boundaries and session policies do " \
    "not apply."
#define R_ROLE_ALLOW \
    "Allowed: the resource-based policy grants access to the role ARN, and no permissions boundary or" \
    " session policy limits it."
#define R_ROLE_BOUNDARY \
    "Implicit deny: the resource-based policy grants access to the role ARN, but grants to a role are" \
    " limited by its permissions boundary, which does not allow the action."
#define R_ROLE_SESSION \
    "Implicit deny: the resource-based policy grants access to the role ARN, but grants to a role are" \
    " limited by the session policies, which do not allow the action."
#define R_IDENTITY_ALLOW \
    "Allowed: an identity-based policy allows the action, and no permissions boundary or session " \
    "policy limits it."
#define R_NO_ALLOW "Implicit deny: no identity-based or resource-based policy statement allows this request."
#define R_BOUNDARY \
    "Implicit deny: an identity-based policy allows the action, but the permissions boundary does " \
    "not."
#define R_SESSION \
    "Implicit deny: an identity-based policy allows the action, but the session policies do not."
#define R_FEDUSER \
    "Implicit deny: a federated user session created without session policies has no permissions."

/* Only the counters and flags: the arrays are read up to their counts, and
 * clearing all of them (some 3 KB) on every decision would cost more than
 * many evaluations. */
static void explain_reset(iam_explain_t *ex)
{
    ex->decision = IAM_IMPLICIT_DENY;
    ex->reason = NULL;
    ex->nmatches = ex->nmissing = ex->nconsidered = 0;
    ex->identity_allows = ex->resource_allows = ex->boundary_allows = ex->session_allows = false;
    ex->session_policies = false;
}

static iam_decision_t decide(iam_explain_t *ex, iam_decision_t d, const char *reason)
{
    if (ex) {
        ex->decision = d;
        ex->reason = reason;
    }
    return d;
}

iam_decision_t iam_evaluate(const iam_request_t *req, const iam_policy_set_t *set, iam_explain_t *ex)
{
    if (ex) {
        explain_reset(ex);
        ex->session_policies = set->has_session_policies;
    }
    const iam_principal_t *pr = req->principal;
    iam__ectx_t e = {.req = req,
                     .pr = pr,
                     .ex = ex,
                     .now_ms = req->now_ms ? req->now_ms : kyoka_clock_now_ms(),
                     .has_boundary = set->boundary && set->boundary->policy};
    bool root = pr && pr->is_root;
    bool service = pr && pr->service && !pr->arn;
    bool anonymous = !pr || (!pr->arn && !pr->service);
    bool cross = pr && pr->account && req->resource_account && strcmp(pr->account, req->resource_account) != 0;

    walk_t wi = {0}, wb = {0}, ws = {0}, wr = {0};
    /* The root user and callers without identity (anonymous, services)
     * have no identity-based side to evaluate. */
    if (!root && !anonymous && !service) {
        for (size_t i = 0; i < set->nidentity && (ex || !wi.deny); i++)
            walk_policy(&e, &set->identity[i], "identity", &wi);
        if (ex || !wi.deny)
            walk_policy(&e, set->boundary, "boundary", &wb);
        for (size_t i = 0; i < set->nsession && (ex || !(wi.deny || wb.deny)); i++)
            walk_policy(&e, &set->session[i], "session", &ws);
    }
    if (ex || !(wi.deny || wb.deny || ws.deny))
        walk_policy(&e, set->resource, "resource", &wr);

    bool trust = set->resource && set->resource->policy && set->resource->policy->kind == IAM_POLICY_TRUST;
    bool identity_allows = wi.allow;
    bool boundary_allows = !e.has_boundary || wb.allow;
    /* Session principals: with session policies they must allow; without,
     * a role session is allowed and a federated user session is not
     * (reference_policies_evaluation-logic.html, "Session policies"). */
    bool feduser = pr && pr->type && strcmp(pr->type, "FederatedUser") == 0;
    bool session_allows = set->has_session_policies ? ws.allow : !feduser;
    iam__grant_t g = wr.grant;
    if (ex) {
        ex->identity_allows = identity_allows;
        ex->resource_allows = wr.allow;
        ex->boundary_allows = boundary_allows;
        ex->session_allows = session_allows;
    }

    /* 1. Deny evaluation. */
    if (wi.deny)
        return decide(ex, IAM_EXPLICIT_DENY, R_DENY_IDENTITY);
    if (wb.deny)
        return decide(ex, IAM_EXPLICIT_DENY, R_DENY_BOUNDARY);
    if (ws.deny)
        return decide(ex, IAM_EXPLICIT_DENY, R_DENY_SESSION);
    if (wr.deny)
        return decide(ex, IAM_EXPLICIT_DENY, R_DENY_RESOURCE);

    /* Trust policies "must explicitly allow access for principals": an
     * identity-policy allow alone never lets anyone assume a role. */
    if (trust && g == IAM__GRANT_NONE)
        return decide(ex, IAM_IMPLICIT_DENY, R_TRUST_NONE);

    if (root) {
        if (cross && g == IAM__GRANT_NONE)
            return decide(ex, IAM_IMPLICIT_DENY, R_ROOT_CROSS);
        return decide(ex, IAM_ALLOW, R_ROOT_ALLOW);
    }
    if (anonymous)
        return g == IAM__GRANT_DIRECT ? decide(ex, IAM_ALLOW, R_ANON_ALLOW) : decide(ex, IAM_IMPLICIT_DENY, R_ANON_DENY);
    if (service)
        return g != IAM__GRANT_NONE ? decide(ex, IAM_ALLOW, R_SERVICE_ALLOW)
                                    : decide(ex, IAM_IMPLICIT_DENY, R_SERVICE_DENY);

    bool identity_side = identity_allows && boundary_allows && session_allows;
    const char *identity_reason = !identity_allows  ? R_NO_ALLOW
                                  : !boundary_allows ? R_BOUNDARY
                                  : !session_allows  ? (feduser && !set->has_session_policies ? R_FEDUSER : R_SESSION)
                                                     : R_IDENTITY_ALLOW;
    if (cross) {
        if (g == IAM__GRANT_NONE)
            return decide(ex, IAM_IMPLICIT_DENY, R_CROSS_NO_RESOURCE);
        return identity_side ? decide(ex, IAM_ALLOW, R_CROSS_ALLOW)
                             : decide(ex, IAM_IMPLICIT_DENY, identity_allows ? identity_reason : R_CROSS_NO_IDENTITY);
    }

    /* 2. Same account: resource-based policy grants. */
    if (g == IAM__GRANT_DIRECT)
        return decide(ex, IAM_ALLOW, R_DIRECT_ALLOW);
    if (g == IAM__GRANT_ROLE) {
        if (!boundary_allows)
            return decide(ex, IAM_IMPLICIT_DENY, R_ROLE_BOUNDARY);
        if (!session_allows)
            return decide(ex, IAM_IMPLICIT_DENY, R_ROLE_SESSION);
        return decide(ex, IAM_ALLOW, R_ROLE_ALLOW);
    }

    /* 3. Identity-based policies, boundary, session policies. */
    return decide(ex, identity_side ? IAM_ALLOW : IAM_IMPLICIT_DENY, identity_reason);
}

iam_decision_t iam_policy_evaluate(const iam_policy_t *p, const char *kind_name, const char *name,
                                   const iam_request_t *req, iam_explain_t *ex)
{
    if (ex)
        explain_reset(ex);
    iam__ectx_t e = {.req = req,
                     .pr = req->principal,
                     .ex = ex,
                     .now_ms = req->now_ms ? req->now_ms : kyoka_clock_now_ms()};
    iam_named_policy_t np = {.name = name, .policy = p};
    const char *kind = kind_name ? kind_name : "identity";
    walk_t w = {0};
    walk_policy(&e, &np, kind, &w);
    if (ex) {
        bool is_res = strcmp(kind, "resource") == 0;
        ex->identity_allows = !is_res && w.allow;
        ex->resource_allows = is_res && w.allow;
        ex->boundary_allows = strcmp(kind, "boundary") != 0 || w.allow;
        ex->session_allows = strcmp(kind, "session") != 0 || w.allow;
    }
    if (w.deny)
        return decide(ex, IAM_EXPLICIT_DENY, "Explicit deny: a Deny statement in this policy matched the request.");
    if (w.allow)
        return decide(ex, IAM_ALLOW, "Allowed: a statement in this policy allows the request and none denies it.");
    return decide(ex, IAM_IMPLICIT_DENY, "Implicit deny: no statement in this policy allows the request.");
}
