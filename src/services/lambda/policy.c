/*
 * Function resource policies: AddPermission, RemovePermission, GetPolicy,
 * and the policy the server's authorization step consults for a function
 * ARN.
 *
 * Each qualifier has its own policy, as on AWS: a statement added with
 * Qualifier "prod" lets callers invoke ...:function:f:prod, not f itself
 * (https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html).
 * AddPermission's parameters become a statement of AWS's shape: the
 * principal as {"Service": ...} or {"AWS": ...}, SourceArn as ArnLike
 * AWS:SourceArn, SourceAccount as StringEquals AWS:SourceAccount,
 * PrincipalOrgID as aws:PrincipalOrgID, FunctionUrlAuthType as
 * lambda:FunctionUrlAuthType.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

lambda_policy_t *lambda__policy_lookup(lambda_fn_t *fn, const char *qualifier)
{
    const char *q = qualifier && strcmp(qualifier, "$LATEST") != 0 ? qualifier : "";
    for (size_t i = 0; i < fn->npolicies; i++)
        if (strcmp(fn->policies[i].qualifier, q) == 0)
            return &fn->policies[i];
    return NULL;
}

void lambda__policy_free(lambda_policy_t *p)
{
    if (!p)
        return;
    free(p->qualifier);
    json_decref(p->doc);
    iam_policy_free(p->compiled);
    free(p->revision);
    memset(p, 0, sizeof *p);
}

bool lambda__policy_compile(lambda_policy_t *p)
{
    iam_policy_free(p->compiled);
    p->compiled = NULL;
    char *text = proto_json_dumps(p->doc, JSON_COMPACT);
    if (!text)
        return false;
    char err[512];
    p->compiled = iam_policy_parse(text, strlen(text), IAM_POLICY_RESOURCE, 0, err, sizeof err, NULL);
    free(text);
    if (!p->compiled)
        log_warn("lambda: a stored function policy does not compile: %s", err);
    return p->compiled != NULL;
}

ssize_t lambda__statement_index(json_t *doc, const char *sid)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(doc, "Statement"), i, s)
    {
        const char *have = json_string_value(json_object_get(s, "Sid"));
        if (have && sid && strcmp(have, sid) == 0)
            return (ssize_t)i;
    }
    return -1;
}

bool lambda__statement_new_or_fail(svc_call_t *c, json_t *doc, const char *sid)
{
    if (lambda__statement_index(doc, sid) < 0)
        return true;
    svc_error(c, "ResourceConflictException", 409,
              "The statement id (%s) provided already exists. Please provide a new statement id, or remove the "
              "existing statement.",
              sid);
    return false;
}

ssize_t lambda__statement_or_fail(svc_call_t *c, json_t *doc, const char *sid)
{
    ssize_t i = doc ? lambda__statement_index(doc, sid) : -1;
    if (i < 0)
        svc_error(c, "ResourceNotFoundException", 404, "Statement %s is not found in resource policy.", sid);
    return i;
}

static json_t *principal_of(const char *p)
{
    if (strcmp(p, "*") == 0)
        return json_string("*");
    if (strstr(p, ".amazonaws.com") || strstr(p, ".amazon.com"))
        return json_pack("{s:s}", "Service", p);
    size_t n = strlen(p);
    bool account = n == 12;
    for (size_t i = 0; account && i < n; i++)
        account = p[i] >= '0' && p[i] <= '9';
    if (account) {
        char arn[64];
        snprintf(arn, sizeof arn, "arn:aws:iam::%s:root", p);
        return json_pack("{s:s}", "AWS", arn);
    }
    return json_pack("{s:s}", "AWS", p);
}

static void add_condition(json_t *stmt, const char *op, const char *key, const char *value)
{
    if (!value)
        return;
    json_t *cond = json_object_get(stmt, "Condition");
    if (!cond) {
        cond = json_object();
        json_object_set_new(stmt, "Condition", cond);
    }
    json_t *o = json_object_get(cond, op);
    if (!o) {
        o = json_object();
        json_object_set_new(cond, op, o);
    }
    json_object_set_new(o, key, json_string(value));
}

static bool principal_ok(svc_call_t *c, const char *p)
{
    if (strcmp(p, "*") == 0 || strstr(p, ".amazonaws.com") || strstr(p, ".amazon.com") || strncmp(p, "arn:", 4) == 0)
        return true;
    size_t n = strlen(p);
    bool account = n == 12;
    for (size_t i = 0; account && i < n; i++)
        account = p[i] >= '0' && p[i] <= '9';
    if (account)
        return true;
    svc_error(c, "InvalidParameterValueException", 400,
              "The provided principal was invalid. Please check the principal and try again.");
    return false;
}

/* The function and its qualifier's target must exist. */
static lambda_fn_t *target_or_fail(svc_call_t *c, lambda_ref_t *r)
{
    if (!lambda__ref_parse(c, svc_in_str(c, "FunctionName"), svc_in_str(c, "Qualifier"), r))
        return NULL;
    lambda_fn_t *fn = lambda__fn_get_or_fail(c, r);
    if (fn && r->qualifier && !lambda__resolve_or_fail(c, fn, r->qualifier))
        return NULL;
    return fn;
}

int lambda_add_permission(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = target_or_fail(c, &r);
    if (!fn)
        return 0;
    const char *sid = svc_in_str(c, "StatementId");
    const char *action = svc_in_str(c, "Action");
    const char *principal = svc_in_str(c, "Principal");
    if (!principal_ok(c, principal))
        return 0;
    lambda_policy_t *p = lambda__policy_lookup(fn, r.qualifier);
    const char *rev = svc_in_str(c, "RevisionId");
    if (rev && *rev) {
        json_t *cfg = lambda__resolve_or_fail(c, fn, r.qualifier)->config;
        const char *have = json_string_value(json_object_get(cfg, "RevisionId"));
        if (!have || strcmp(have, rev) != 0) {
            svc_error(c, "PreconditionFailedException", 412,
                      "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias "
                      "API to retrieve the latest Revision Id");
            return 0;
        }
    }
    if (p && !lambda__statement_new_or_fail(c, p->doc, sid))
        return 0;
    json_t *stmt = json_pack("{s:s,s:s,s:o,s:s,s:s}", "Sid", sid, "Effect", "Allow", "Principal",
                             principal_of(principal), "Action", action, "Resource", lambda__ref_arn(c, &r));
    add_condition(stmt, "StringEquals", "AWS:SourceAccount", svc_in_str(c, "SourceAccount"));
    add_condition(stmt, "StringEquals", "lambda:EventSourceToken", svc_in_str(c, "EventSourceToken"));
    add_condition(stmt, "StringEquals", "aws:PrincipalOrgID", svc_in_str(c, "PrincipalOrgID"));
    add_condition(stmt, "StringEquals", "lambda:FunctionUrlAuthType", svc_in_str(c, "FunctionUrlAuthType"));
    add_condition(stmt, "ArnLike", "AWS:SourceArn", svc_in_str(c, "SourceArn"));
    bool created = false;
    if (!p) {
        fn->policies = xrealloc(fn->policies, (fn->npolicies + 1) * sizeof *fn->policies);
        p = &fn->policies[fn->npolicies++];
        memset(p, 0, sizeof *p);
        p->qualifier = xstrdup(r.qualifier && strcmp(r.qualifier, "$LATEST") ? r.qualifier : "");
        p->doc = json_pack("{s:s,s:s,s:[]}", "Version", "2012-10-17", "Id", "default", "Statement");
        created = true;
    }
    json_array_append(json_object_get(p->doc, "Statement"), stmt);
    if (!lambda__policy_compile(p)) {
        json_array_remove(json_object_get(p->doc, "Statement"), json_array_size(json_object_get(p->doc, "Statement")) - 1);
        if (created) {
            lambda__policy_free(p);
            fn->npolicies--;
        } else {
            lambda__policy_compile(p);
        }
        json_decref(stmt);
        svc_error(c, "InvalidParameterValueException", 400,
                  "The policy that results from this statement is not valid: check the Action, Principal and "
                  "conditions.");
        return 0;
    }
    char rid[37];
    lambda__revision(rid);
    free(p->revision);
    p->revision = xstrdup(rid);
    lambda__fn_save(st, fn);
    char *text = proto_json_dumps(stmt, JSON_COMPACT);
    json_object_set_new(svc_output(c), "Statement", json_string(text ? text : "{}"));
    free(text);
    json_decref(stmt);
    return 0;
}

int lambda_remove_permission(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = target_or_fail(c, &r);
    if (!fn)
        return 0;
    const char *sid = svc_in_str(c, "StatementId");
    lambda_policy_t *p = lambda__policy_lookup(fn, r.qualifier);
    ssize_t at = lambda__statement_or_fail(c, p ? p->doc : NULL, sid);
    if (at < 0)
        return 0;
    json_t *stmts = json_object_get(p->doc, "Statement");
    json_array_remove(stmts, (size_t)at);
    if (json_array_size(stmts) == 0) {
        size_t idx = (size_t)(p - fn->policies);
        lambda__policy_free(p);
        memmove(&fn->policies[idx], &fn->policies[idx + 1], (fn->npolicies - idx - 1) * sizeof *fn->policies);
        fn->npolicies--;
    } else {
        lambda__policy_compile(p);
    }
    lambda__fn_save(st, fn);
    return 0;
}

int lambda_get_policy(svc_call_t *c)
{
    lambda_ref_t r;
    lambda_fn_t *fn = target_or_fail(c, &r);
    if (!fn)
        return 0;
    lambda_policy_t *p = lambda__policy_lookup(fn, r.qualifier);
    if (!p) {
        svc_error(c, "ResourceNotFoundException", 404, "The resource you requested does not exist.");
        return 0;
    }
    char *text = proto_json_dumps(p->doc, JSON_COMPACT);
    json_t *out = svc_output(c);
    json_object_set_new(out, "Policy", json_string(text ? text : "{}"));
    json_object_set_new(out, "RevisionId", json_string(p->revision ? p->revision : ""));
    free(text);
    return 0;
}
