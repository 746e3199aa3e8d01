/*
 * kyoka_decide: kyoka's side of the IAM differential test
 * (tests/integration/35-iam-differential/iam_differential.mjs).
 *
 * Reads one case per line on stdin, a JSON object:
 *   {"identity": [policy, ...],          identity-based policies (documents as JSON objects)
 *    "boundary": policy | null,          permissions boundary
 *    "session": [policy, ...],           session policies (a session that has any)
 *    "resourcePolicy": policy | null,    the resource's own policy
 *    "principal": ARN | service | null,  null is an anonymous caller
 *    "principalAccount": "111111111111",
 *    "action": "sqs:SendMessage",
 *    "resource": ARN,
 *    "resourceAccount": "111111111111",
 *    "context": {"key": ["value", ...]}}
 * and prints one line per case: allowed, implicitDeny or explicitDeny, or
 * "error: <MalformedPolicyDocument message>" when a policy does not parse.
 * With --explain each line is instead a JSON object with the decision, the
 * flowchart reason and the matched statements, for classifying a
 * disagreement.
 *
 * The principal's type and the keys kyoka derives from it (aws:PrincipalArn,
 * aws:username, the role of a session) come from the ARN the way the server
 * fills iam_principal_t. Keys the server derives from the request itself
 * (aws:SecureTransport, aws:SourceIp, aws:RequestedRegion) are taken from the
 * case's context so both engines see the same values. Everything the driver
 * allocates is freed per case, so a sanitizer build reports real leaks only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "iam/iam.h"
#include "protocol/protocol.h"
#include "principal_arn.h"

#include "core/banned.h"

#define MAX_LINE ((size_t)1 << 20)
#define MAX_POLICIES 16
#define MAX_CONTEXT 64
#define MAX_VALUES 16

/* Everything one case owns; freed by case_free. */
typedef struct dcase {
    iam_policy_t *identity[MAX_POLICIES];
    iam_named_policy_t identity_named[MAX_POLICIES];
    size_t nidentity;
    iam_policy_t *boundary;
    iam_named_policy_t boundary_named;
    iam_policy_t *session[MAX_POLICIES];
    iam_named_policy_t session_named[MAX_POLICIES];
    size_t nsession;
    iam_policy_t *resource;
    iam_named_policy_t resource_named;
    iam_ctx_value_t ctx[MAX_CONTEXT];
    const char *ctx_values[MAX_CONTEXT][MAX_VALUES];
    size_t nctx;
    char role_arn[512];
    char username[256];
    iam_principal_t pr;
    iam_request_t req;
    iam_policy_set_t set;
    char err[512];
} dcase_t;

static void case_free(dcase_t *c)
{
    for (size_t i = 0; i < c->nidentity; i++)
        iam_policy_free(c->identity[i]);
    iam_policy_free(c->boundary);
    for (size_t i = 0; i < c->nsession; i++)
        iam_policy_free(c->session[i]);
    iam_policy_free(c->resource);
}

/* Parse a policy given as a JSON value (object or string). */
static iam_policy_t *load_policy(json_t *doc, iam_policy_kind_t kind, char *err, size_t errcap)
{
    char *text = json_is_string(doc) ? strdup(json_string_value(doc)) : proto_json_dumps(doc, JSON_COMPACT);
    if (!text) {
        snprintf(err, errcap, "policy is not JSON");
        return NULL;
    }
    bool over = false;
    iam_policy_t *p = iam_policy_parse(text, strlen(text), kind, KYOKA_RESOURCE_POLICY_MAX_BYTES, err, errcap, &over);
    free(text);
    return p;
}


static const char *ctx_first(const dcase_t *c, const char *key)
{
    for (size_t i = 0; i < c->nctx; i++)
        if (strcasecmp(c->ctx[i].key, key) == 0 && c->ctx[i].nvalues > 0)
            return c->ctx[i].values[0];
    return NULL;
}

/* Build the request and policy set from one parsed case. Returns false
 * with c->err set when the input or a policy is refused. */
static bool case_build(dcase_t *c, json_t *in)
{
    json_t *ids = json_object_get(in, "identity");
    if (ids && !json_is_array(ids)) {
        snprintf(c->err, sizeof c->err, "identity must be an array");
        return false;
    }
    size_t i;
    json_t *doc;
    json_array_foreach(ids, i, doc) {
        if (c->nidentity >= MAX_POLICIES) {
            snprintf(c->err, sizeof c->err, "too many identity policies");
            return false;
        }
        iam_policy_t *p = load_policy(doc, IAM_POLICY_IDENTITY, c->err, sizeof c->err);
        if (!p)
            return false;
        c->identity[c->nidentity] = p;
        c->identity_named[c->nidentity] = (iam_named_policy_t){"identity", p};
        c->nidentity++;
    }
    json_t *ss = json_object_get(in, "session");
    if (ss && !json_is_array(ss)) {
        snprintf(c->err, sizeof c->err, "session must be an array");
        return false;
    }
    json_array_foreach(ss, i, doc) {
        if (c->nsession >= MAX_POLICIES) {
            snprintf(c->err, sizeof c->err, "too many session policies");
            return false;
        }
        iam_policy_t *p = load_policy(doc, IAM_POLICY_IDENTITY, c->err, sizeof c->err);
        if (!p)
            return false;
        c->session[c->nsession] = p;
        c->session_named[c->nsession] = (iam_named_policy_t){"session", p};
        c->nsession++;
    }
    c->set.session = c->session_named;
    c->set.nsession = c->nsession;
    c->set.has_session_policies = c->nsession > 0;
    json_t *b = json_object_get(in, "boundary");
    if (b && !json_is_null(b)) {
        if (!(c->boundary = load_policy(b, IAM_POLICY_IDENTITY, c->err, sizeof c->err)))
            return false;
        c->boundary_named = (iam_named_policy_t){"boundary", c->boundary};
        c->set.boundary = &c->boundary_named;
    }
    json_t *rp = json_object_get(in, "resourcePolicy");
    if (rp && !json_is_null(rp)) {
        if (!(c->resource = load_policy(rp, IAM_POLICY_RESOURCE, c->err, sizeof c->err)))
            return false;
        c->resource_named = (iam_named_policy_t){"resource", c->resource};
        c->set.resource = &c->resource_named;
    }
    c->set.identity = c->identity_named;
    c->set.nidentity = c->nidentity;

    const char *key;
    json_t *vals;
    json_t *ctx = json_object_get(in, "context");
    json_object_foreach(ctx, key, vals) {
        if (c->nctx >= MAX_CONTEXT) {
            snprintf(c->err, sizeof c->err, "too many context keys");
            return false;
        }
        iam_ctx_value_t *cv = &c->ctx[c->nctx];
        const char **store = c->ctx_values[c->nctx];
        size_t n = 0;
        if (json_is_string(vals)) {
            store[n++] = json_string_value(vals);
        } else {
            size_t k;
            json_t *v;
            json_array_foreach(vals, k, v) {
                if (!json_is_string(v) || n >= MAX_VALUES) {
                    snprintf(c->err, sizeof c->err, "context values must be up to %d strings", MAX_VALUES);
                    return false;
                }
                store[n++] = json_string_value(v);
            }
        }
        *cv = (iam_ctx_value_t){.key = key, .values = store, .nvalues = n};
        c->nctx++;
    }

    const char *principal = json_string_value(json_object_get(in, "principal"));
    const char *paccount = json_string_value(json_object_get(in, "principalAccount"));
    if (principal)
        principal_from_arn(&c->pr, principal, paccount, c->username, sizeof c->username, c->role_arn,
                           sizeof c->role_arn);
    const char *secure = ctx_first(c, "aws:SecureTransport");
    c->req = (iam_request_t){
        .action = json_string_value(json_object_get(in, "action")),
        .resource = json_string_value(json_object_get(in, "resource")),
        .resource_account = json_string_value(json_object_get(in, "resourceAccount")),
        .principal = principal ? &c->pr : NULL,
        .context = c->ctx,
        .ncontext = c->nctx,
        .source_ip = ctx_first(c, "aws:SourceIp"),
        .secure_transport = secure && strcasecmp(secure, "true") == 0,
        .region = ctx_first(c, "aws:RequestedRegion"),
        .now_ms = 1700000000000LL,
    };
    if (!c->req.action || !c->req.resource) {
        snprintf(c->err, sizeof c->err, "action and resource are required");
        return false;
    }
    return true;
}

static void print_explain(const iam_explain_t *ex)
{
    json_t *matches = json_array();
    for (size_t i = 0; i < ex->nmatches; i++) {
        const iam_match_t *m = &ex->matches[i];
        json_array_append_new(matches, json_pack("{s:s,s:i,s:s}", "kind", m->policy_kind, "statement",
                                                 m->statement_index, "effect", m->effect_allow ? "Allow" : "Deny"));
    }
    json_t *o = json_pack("{s:s,s:s,s:o}", "decision", iam_decision_name(ex->decision), "reason",
                          ex->reason ? ex->reason : "", "matches", matches);
    char *s = proto_json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s) {
        puts(s);
        free(s);
    }
}

int main(int argc, char **argv)
{
    bool explain = argc > 1 && strcmp(argv[1], "--explain") == 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        if (n == 0 || (n == 1 && line[0] == '\n'))
            continue;
        if ((size_t)n > MAX_LINE) {
            puts("error: case longer than 1 MiB");
            continue;
        }
        json_error_t je;
        json_t *in = json_loadb(line, (size_t)n, 0, &je);
        if (!in || !json_is_object(in)) {
            printf("error: input is not a JSON object: %s\n", je.text);
            json_decref(in);
            continue;
        }
        dcase_t *c = calloc(1, sizeof *c);
        if (!c)
            abort();
        if (!case_build(c, in)) {
            printf("error: %s\n", c->err);
        } else if (explain) {
            iam_explain_t ex;
            (void)iam_evaluate(&c->req, &c->set, &ex);
            print_explain(&ex);
        } else {
            puts(iam_decision_name(iam_evaluate(&c->req, &c->set, NULL)));
        }
        case_free(c);
        free(c);
        json_decref(in);
        fflush(stdout);
    }
    free(line);
    return 0;
}
