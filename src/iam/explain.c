/*
 * Explanations built on demand: what `kyoka iam explain ID` shows.
 *
 * The decision log records only the request and references to the compiled
 * policies (decision_log.c). When someone asks, this file walks those same
 * policies again, statement by statement, with the evaluator's own matchers
 * (iam__stmt_action_matches and friends from evaluate.c, iam__cond_eval from
 * condition.c), so what it says about a statement cannot disagree with what
 * the evaluator did. For each statement it reports the first element that
 * did not match, in the evaluator's order (Action/NotAction, then
 * Resource/NotResource, then Principal/NotPrincipal for resource-based and
 * trust policies, then each condition), quoting the element as written and
 * its position in the document.
 *
 * For a denial it proposes the smallest statement that would allow the
 * request and where it goes, following AWS's evaluation logic
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
 * and ..._cross-account.html): the caller's identity-based policy within
 * one account; the resource-based policy as well across accounts; the
 * permissions boundary or session policy when they cap an identity-side
 * allow; the trust policy for sts:AssumeRole; the resource-based policy
 * alone for anonymous callers, AWS services and the root user of another
 * account. Each proposal is checked by evaluating the request again with
 * the statement added, so "verified" is a fact, not a guess. An explicit
 * deny gets no proposal: no Allow can override it; the explanation names
 * the Deny statement instead.
 *
 * Cost: one jansson parse of each policy document taking part and one
 * evaluation per proposal; well under a millisecond for ordinary policies
 * (bench/iam_bench prints the figure). Nothing here runs on the request path.
 *
 * Thread: loop thread only.
 */
#include "iam/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/banned.h"

#define DOC_MAX ((size_t)1 << 20) /* for re-parsing a document with a proposal added */

/* ---- positions and quoting ---- */

/* Byte offset of a 1-based line and column (columns count characters). */
static size_t offset_of(const char *t, int line, int col)
{
    size_t i = 0;
    int l = 1, c = 1;
    while (t[i] && (l < line || (l == line && c < col))) {
        if (t[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)t[i] & 0xC0) != 0x80) {
            c++;
        }
        i++;
        while (t[i] && ((unsigned char)t[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

static void position_at(const char *t, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off && t[i]; i++) {
        if (t[i] == '\n') {
            l++;
            c = 1;
        } else if (((unsigned char)t[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* Where key `name` of the statement object spanning [s, e] starts. */
static bool element_offset(const char *t, size_t s, size_t e, const char *name, size_t *out)
{
    int depth = 0;
    size_t n = strlen(name);
    for (size_t i = s; i <= e && t[i]; i++) {
        char ch = t[i];
        if (ch == '"') {
            size_t start = i;
            for (i++; t[i] && t[i] != '"'; i++)
                if (t[i] == '\\' && t[i + 1])
                    i++;
            if (depth == 1 && i - start - 1 == n && memcmp(t + start + 1, name, n) == 0) {
                size_t k = i + 1;
                while (t[k] == ' ' || t[k] == '\t' || t[k] == '\n' || t[k] == '\r')
                    k++;
                if (t[k] == ':') {
                    *out = start;
                    return true;
                }
            }
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return false;
}

static json_t *pos_json(int line, int col) { return json_pack("{s:i,s:i}", "line", line, "column", col); }

typedef struct doc {
    const char *text;
    json_t *root;      /* parsed document (owned) */
    json_t *stmts;     /* borrowed: array, or the single statement object */
} doc_t;

static void doc_open(doc_t *d, const iam_policy_t *p)
{
    d->text = iam_policy_text(p);
    d->root = d->text ? json_loads(d->text, 0, NULL) : NULL;
    d->stmts = json_object_get(d->root, "Statement");
}

static json_t *doc_statement(const doc_t *d, size_t i)
{
    if (json_is_array(d->stmts))
        return json_array_get(d->stmts, i);
    return i == 0 ? d->stmts : NULL;
}

/* ---- the request ---- */

static json_t *principal_json(const iam_principal_t *pr)
{
    if (!pr || (!pr->arn && !pr->service))
        return json_pack("{s:s,s:b}", "arn", "anonymous", "anonymous", 1);
    json_t *o = json_object();
    if (pr->arn)
        json_object_set_new(o, "arn", json_string(pr->arn));
    if (pr->service)
        json_object_set_new(o, "service", json_string(pr->service));
    if (pr->type)
        json_object_set_new(o, "type", json_string(pr->type));
    if (pr->account)
        json_object_set_new(o, "account", json_string(pr->account));
    if (pr->role_arn) {
        json_object_set_new(o, "role", json_string(pr->role_arn));
        const char *slash = pr->arn ? strrchr(pr->arn, '/') : NULL;
        if (slash)
            json_object_set_new(o, "session", json_string(slash + 1));
    }
    if (pr->user_id)
        json_object_set_new(o, "userId", json_string(pr->user_id));
    if (pr->username)
        json_object_set_new(o, "username", json_string(pr->username));
    if (pr->is_root)
        json_object_set_new(o, "root", json_true());
    if (pr->ntags) {
        json_t *tags = json_object();
        for (size_t i = 0; i < pr->ntags; i++)
            if (pr->tags[i].key)
                json_object_set_new(tags, pr->tags[i].key, json_string(pr->tags[i].value ? pr->tags[i].value : ""));
        json_object_set_new(o, "tags", tags);
    }
    return o;
}

static json_t *lookup_json(const iam__ctx_lookup_t *v)
{
    if (v->n == 1)
        return json_string(v->values[0]);
    json_t *a = json_array();
    for (size_t i = 0; i < v->n; i++)
        json_array_append_new(a, json_string(v->values[i]));
    return a;
}

/* Every key the request carries, derived ones included, with its value
 * exactly as a condition would read it. */
static json_t *context_json(iam__ectx_t *e)
{
    static const char *const derived[] = {"aws:PrincipalArn",    "aws:PrincipalAccount", "aws:PrincipalType",
                                          "aws:userid",          "aws:username",         "aws:PrincipalServiceName",
                                          "aws:PrincipalIsAWSService", "aws:SourceIp",   "aws:SecureTransport",
                                          "aws:RequestedRegion", "aws:CurrentTime",      "aws:EpochTime",
                                          "aws:ViaAWSService"};
    json_t *o = json_object();
    iam__ctx_lookup_t v;
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(derived); i++)
        if (iam__ctx_get(e, derived[i], strlen(derived[i]), &v) && v.values)
            json_object_set_new(o, derived[i], lookup_json(&v));
    const iam_principal_t *pr = e->pr;
    for (size_t i = 0; pr && i < pr->ntags; i++) {
        char key[256];
        snprintf(key, sizeof key, "aws:PrincipalTag/%s", pr->tags[i].key ? pr->tags[i].key : "");
        if (iam__ctx_get(e, key, strlen(key), &v) && v.values)
            json_object_set_new(o, key, lookup_json(&v));
    }
    for (size_t i = 0; i < e->req->ncontext; i++) {
        const iam_ctx_value_t *c = &e->req->context[i];
        if (!c->key)
            continue;
        v = (iam__ctx_lookup_t){.values = c->values, .n = c->values ? c->nvalues : 0};
        json_object_set_new(o, c->key, lookup_json(&v));
    }
    return o;
}

static const char *caller_arn(const iam_principal_t *pr)
{
    if (!pr)
        return "anonymous";
    return pr->arn ? pr->arn : pr->service ? pr->service : "anonymous";
}

/* "arn:...:user/bob (account 111122223333)", for reasons. */
static void describe_caller(const iam_principal_t *pr, char *out, size_t cap)
{
    if (!pr || (!pr->arn && !pr->service))
        snprintf(out, cap, "an anonymous caller");
    else if (!pr->arn)
        snprintf(out, cap, "the AWS service %s", pr->service);
    else if (pr->role_arn)
        snprintf(out, cap, "%s, a session of role %s (account %s)", pr->arn, pr->role_arn,
                 pr->account ? pr->account : "?");
    else
        snprintf(out, cap, "%s (account %s)", pr->arn, pr->account ? pr->account : "?");
}

/* JSON text in malloc'd memory (jansson's own json_dumps text would come
 * from kyoka's small-object allocator). */
static char *dump_flags(const json_t *j, size_t flags)
{
    size_t n = json_dumpb(j, NULL, 0, flags);
    if (n == 0)
        return NULL;
    char *s = xmalloc(n + 1);
    json_dumpb(j, s, n, flags);
    s[n] = '\0';
    return s;
}

static char *dump(json_t *j) { return dump_flags(j, JSON_COMPACT | JSON_ENCODE_ANY); }

/* ---- one statement ---- */

static void failed(json_t *o, const char *element, json_t *written, const char *reason)
{
    json_object_set_new(o, "result", json_string("noMatch"));
    json_t *f = json_pack("{s:s,s:s}", "element", element, "reason", reason);
    if (written)
        json_object_set(f, "written", written);
    json_object_set_new(o, "failed", f);
}

static void set_at(json_t *failed_obj, const char *text, size_t s, size_t e, const char *element)
{
    size_t off;
    int line, col;
    if (failed_obj && text && element_offset(text, s, e, element, &off)) {
        position_at(text, off, &line, &col);
        json_object_set_new(failed_obj, "at", pos_json(line, col));
    }
}

static json_t *cond_written(json_t *wst, const iam__cond_t *c)
{
    return json_object_get(json_object_get(json_object_get(wst, "Condition"), c->opname), c->key);
}

static const char *set_note(const iam__cond_t *c)
{
    if (c->set == IAM__SET_ALL)
        return " (ForAllValues: every request value must match one of them)";
    if (c->set == IAM__SET_ANY)
        return " (ForAnyValue: at least one request value must match one of them)";
    return "";
}

/* Evaluate each condition alone; returns the array and whether all held. */
static json_t *conditions_json(iam__ectx_t *e, const iam__stmt_t *st, json_t *wst, const char **first_fail,
                               char *reason, size_t cap, bool *all)
{
    json_t *arr = json_array();
    *all = true;
    *first_fail = NULL;
    for (uint32_t i = 0; i < st->nconds; i++) {
        const iam__cond_t *c = &st->conds[i];
        iam_explain_t scratch;
        scratch.nmissing = 0;
        iam_explain_t *saved = e->ex;
        e->ex = &scratch;
        bool ok = iam__cond_eval(e, c);
        e->ex = saved;
        iam__ctx_lookup_t v;
        bool present = iam__ctx_get(e, c->key, strlen(c->key), &v) && v.n > 0;
        json_t *wanted = cond_written(wst, c);
        json_t *o = json_pack("{s:s,s:s,s:b}", "operator", c->opname, "key", c->key, "result", ok);
        if (wanted)
            json_object_set(o, "wanted", wanted);
        json_object_set_new(o, "got", present ? lookup_json(&v) : json_null());
        char *w = wanted ? dump(wanted) : NULL;
        char *g = present ? dump(json_object_get(o, "got")) : NULL;
        char why[1024];
        if (c->op == IAM__OP_NULL)
            snprintf(why, sizeof why, "Null %s wanted %s: the key is %s", c->key, w ? w : "?",
                     present ? "present" : "absent");
        else if (!present)
            snprintf(why, sizeof why, "%s %s wanted %s, but the key %s is absent from the request", c->opname,
                     c->key, w ? w : "?", c->key);
        else
            snprintf(why, sizeof why, "%s %s wanted %s%s and got %s", c->opname, c->key, w ? w : "?", set_note(c),
                     g ? g : "?");
        if (scratch.nmissing && present) {
            /* A policy variable inside the values had no value. */
            size_t l = strlen(why);
            snprintf(why + l, sizeof why - l, "; the policy variable ${%s} in the values has no value in this request",
                     scratch.missing_context[0]);
        }
        free(w);
        free(g);
        json_object_set_new(o, "reason", json_string(why));
        if (!present && c->op != IAM__OP_NULL)
            json_object_set_new(o, "missingKey", json_true());
        if (!ok && *all) {
            *all = false;
            *first_fail = c->opname;
            snprintf(reason, cap, "%s", why);
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static const char *grant_name(iam__grant_t g)
{
    return g == IAM__GRANT_DIRECT ? "direct" : g == IAM__GRANT_ROLE ? "role" : g == IAM__GRANT_ACCOUNT ? "account" : "none";
}

static json_t *statement_json(iam__ectx_t *e, const doc_t *d, uint32_t idx, const iam__stmt_t *st, bool *matched)
{
    const iam_request_t *req = e->req;
    const char *text = d->text;
    json_t *wst = doc_statement(d, idx);
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer(idx));
    json_object_set_new(o, "sid", st->sid ? json_string(st->sid) : json_null());
    json_object_set_new(o, "effect", json_string(st->allow ? "Allow" : "Deny"));
    json_object_set_new(o, "start", pos_json(st->start_line, st->start_col));
    json_object_set_new(o, "end", pos_json(st->end_line, st->end_col));
    size_t s_off = 0, e_off = 0;
    if (text && st->start_line > 0) {
        s_off = offset_of(text, st->start_line, st->start_col);
        e_off = offset_of(text, st->end_line, st->end_col);
        if (e_off >= s_off && text[e_off])
            json_object_set_new(o, "text", json_stringn(text + s_off, e_off - s_off + 1));
    }
    *matched = false;
    char reason[2048];
    const char *action = req->action ? req->action : "";
    const char *resource = req->resource ? req->resource : "*";

    const char *ael = st->not_action ? "NotAction" : "Action";
    json_t *aw = json_object_get(wst, ael);
    if (!iam__stmt_action_matches(st, req->action)) {
        char *w = aw ? dump(aw) : NULL;
        if (st->not_action)
            snprintf(reason, sizeof reason, "NotAction %s covers %s, so the statement does not apply to it", w ? w : "",
                     action);
        else
            snprintf(reason, sizeof reason, "the Action %s does not include %s", w ? w : "", action);
        free(w);
        failed(o, ael, aw, reason);
        set_at(json_object_get(o, "failed"), text, s_off, e_off, ael);
        json_object_set_new(o, "relevant", json_false());
        return o;
    }
    json_object_set_new(o, "relevant", json_true());

    const char *rel = st->not_resource ? "NotResource" : "Resource";
    json_t *rw = json_object_get(wst, rel);
    if (!iam__stmt_resource_matches(e, st, resource)) {
        char *w = rw ? dump(rw) : NULL;
        iam_explain_t scratch = {.nmissing = 0};
        iam_explain_t *saved = e->ex;
        e->ex = &scratch;
        (void)iam__stmt_resource_matches(e, st, resource);
        e->ex = saved;
        if (st->not_resource)
            snprintf(reason, sizeof reason, "NotResource %s covers %s, so the statement does not apply to it",
                     w ? w : "", resource);
        else
            snprintf(reason, sizeof reason, "the Resource %s does not match %s", w ? w : "", resource);
        if (scratch.nmissing) {
            size_t l = strlen(reason);
            snprintf(reason + l, sizeof reason - l, " (the policy variable ${%s} has no value in this request)",
                     scratch.missing_context[0]);
        }
        free(w);
        failed(o, rel, rw, reason);
        set_at(json_object_get(o, "failed"), text, s_off, e_off, rel);
        return o;
    }

    if (e->policy->kind != IAM_POLICY_IDENTITY) {
        iam__grant_t g = iam__stmt_principal_grant(e, st);
        const char *pel = st->not_principal ? "NotPrincipal" : "Principal";
        json_t *pw = json_object_get(wst, pel);
        if (g == IAM__GRANT_NONE) {
            char *w = pw ? dump(pw) : NULL;
            char who[1024];
            describe_caller(e->pr, who, sizeof who);
            if (st->not_principal)
                snprintf(reason, sizeof reason, "NotPrincipal %s excepts the caller, %s", w ? w : "", who);
            else
                snprintf(reason, sizeof reason, "the Principal %s does not name the caller, %s", w ? w : "", who);
            free(w);
            failed(o, pel, pw, reason);
            set_at(json_object_get(o, "failed"), text, s_off, e_off, pel);
            return o;
        }
        json_object_set_new(o, "grant", json_string(grant_name(g)));
    }

    bool all;
    const char *first;
    json_t *conds = conditions_json(e, st, wst, &first, reason, sizeof reason, &all);
    if (json_array_size(conds))
        json_object_set_new(o, "conditions", conds);
    else
        json_decref(conds);
    if (!all) {
        failed(o, "Condition", NULL, reason);
        set_at(json_object_get(o, "failed"), text, s_off, e_off, "Condition");
        json_object_set_new(json_object_get(o, "failed"), "operator", json_string(first));
        return o;
    }
    json_object_set_new(o, "result", json_string("matched"));
    *matched = true;
    return o;
}

static json_t *policy_json(iam__ectx_t *e, const iam_named_policy_t *np, const char *kind, json_t *denying)
{
    const iam_policy_t *p = np->policy;
    doc_t d;
    doc_open(&d, p);
    json_t *o = json_object();
    json_object_set_new(o, "policy", json_string(np->name ? np->name : "?"));
    json_object_set_new(o, "kind", json_string(kind));
    if (p->kind == IAM_POLICY_TRUST)
        json_object_set_new(o, "document", json_string("trust"));
    json_t *stmts = json_array();
    e->policy = p;
    for (uint32_t i = 0; i < p->nstmts; i++) {
        bool m;
        json_t *s = statement_json(e, &d, i, &p->stmts[i], &m);
        if (m && !p->stmts[i].allow) {
            json_t *ref = json_pack("{s:s,s:s,s:O,s:O,s:O,s:O}", "policy", np->name ? np->name : "?", "kind", kind,
                                    "statement", json_object_get(s, "index"), "sid", json_object_get(s, "sid"), "start",
                                    json_object_get(s, "start"), "text",
                                    json_object_get(s, "text") ? json_object_get(s, "text") : json_null());
            json_array_append_new(denying, ref);
        }
        json_array_append_new(stmts, s);
    }
    json_object_set_new(o, "statements", stmts);
    json_decref(d.root);
    return o;
}

/* ---- the deciding rule ---- */

static const char *rule_of(const iam_explain_t *ex, bool cross, bool trust)
{
    const char *r = ex->reason ? ex->reason : "";
    if (ex->decision == IAM_EXPLICIT_DENY)
        return "Explicit deny wins: a Deny statement that matches the request overrides every Allow, in any "
               "policy type.";
    if (strstr(r, "root user"))
        return "The account root user has full access to its own account's resources unless an explicit deny "
               "applies; across accounts the resource-based policy must grant it.";
    if (trust)
        return "A role trust policy must name the principal: an identity-based allow of sts:AssumeRole alone "
               "never lets anyone assume a role.";
    if (strstr(r, "anonymous"))
        return "Anonymous requests are allowed only by a resource-based policy statement whose Principal is \"*\".";
    if (strstr(r, "service principal"))
        return "An AWS service principal is allowed only by a resource-based policy statement that names the "
               "service.";
    if (cross)
        return "Cross account: both sides must allow. The resource-based policy in the resource's account must "
               "grant the caller, and the caller's identity-based policies (capped by its permissions boundary "
               "and session policies) must allow the action.";
    if (strstr(r, "grants access directly"))
        return "Same account: a resource-based policy that names the principal (user, role session, or \"*\") "
               "grants on its own; identity-based policies, boundaries and session policies need not allow.";
    if (strstr(r, "role ARN"))
        return "Same account: a resource-based policy that names the role grants to its sessions, but the "
               "role's permissions boundary and the session policies still cap it.";
    if (strstr(r, "boundary"))
        return "The permissions boundary caps the identity side: an identity-based allow counts only for actions "
               "the boundary allows too.";
    if (strstr(r, "session polic") || strstr(r, "federated user"))
        return "Session policies cap the identity side: an identity-based allow counts only for actions the "
               "session policies allow too.";
    if (ex->decision == IAM_ALLOW)
        return "Same account: an identity-based policy allows the action; any permissions boundary and session "
               "policies allow it too, and nothing denies it.";
    return "Implicit deny: every request is denied unless some policy allows it, and none did.";
}

/* ---- proposals ---- */

static const char *grant_arn(const iam_principal_t *pr, char *buf, size_t cap)
{
    if (pr->is_root) {
        snprintf(buf, cap, "arn:aws:iam::%s:root", pr->account ? pr->account : "");
        return buf;
    }
    /* A role session is best named by its role: the session name changes
     * with every AssumeRole. */
    return pr->role_arn ? pr->role_arn : pr->arn;
}

static json_t *allow_statement(const iam_request_t *req, json_t *principal, bool with_resource)
{
    json_t *s = json_object();
    json_object_set_new(s, "Sid", json_string("KyokaSuggested"));
    json_object_set_new(s, "Effect", json_string("Allow"));
    if (principal)
        json_object_set_new(s, "Principal", principal);
    json_object_set_new(s, "Action", json_string(req->action ? req->action : "*"));
    if (with_resource)
        json_object_set_new(s, "Resource", json_string(req->resource ? req->resource : "*"));
    return s;
}

/* A document with the statement added (to a copy of the existing one, or
 * a new document). New reference. */
static json_t *with_statement(const iam_policy_t *existing, json_t *stmt)
{
    json_t *root = existing ? json_loads(iam_policy_text(existing), 0, NULL) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        root = json_pack("{s:s,s:[]}", "Version", "2012-10-17", "Statement");
    }
    json_t *st = json_object_get(root, "Statement");
    if (!json_is_array(st)) {
        json_t *arr = st ? json_pack("[O]", st) : json_array();
        json_object_set_new(root, "Statement", arr);
        st = arr;
    }
    json_array_append(st, stmt);
    return root;
}

static iam_policy_t *compile(json_t *doc, iam_policy_kind_t kind)
{
    char *s = dump_flags(doc, JSON_INDENT(2));
    if (!s)
        return NULL;
    char err[256];
    bool over;
    iam_policy_t *p = iam_policy_parse(s, strlen(s), kind, DOC_MAX, err, sizeof err, &over);
    free(s);
    return p;
}

typedef struct fix {
    const char *where;   /* identity, boundary, session, resource, trust */
    char target[512];
    const char *how;
    json_t *statement;   /* owned */
    json_t *document;    /* owned: resource/boundary/trust: the whole document to put */
} fix_t;

static void target_of_caller(const iam_principal_t *pr, char *out, size_t cap)
{
    const char *arn = pr->role_arn ? pr->role_arn : pr->arn;
    const char *colon = arn ? strrchr(arn, ':') : NULL;
    snprintf(out, cap, "%s", colon ? colon + 1 : arn ? arn : "?");
}

static json_t *fixes_json(const iam_request_t *req, const iam_policy_set_t *set, const iam_explain_t *ex,
                          bool cross, bool trust, const char **note)
{
    const iam_principal_t *pr = req->principal;
    bool anonymous = !pr || (!pr->arn && !pr->service);
    bool service = pr && pr->service && !pr->arn;
    const iam_named_policy_t *rp = set->resource && set->resource->policy ? set->resource : NULL;
    fix_t fx[4];
    size_t n = 0;
    char buf[512];
    *note = NULL;

    if (anonymous || service || trust || (pr && pr->is_root) || (cross && !ex->resource_allows)) {
        json_t *principal;
        if (anonymous)
            principal = json_string("*");
        else if (service)
            principal = json_pack("{s:s}", "Service", pr->service);
        else
            principal = json_pack("{s:s}", "AWS", grant_arn(pr, buf, sizeof buf));
        fix_t *f = &fx[n++];
        f->where = trust ? "trust" : "resource";
        snprintf(f->target, sizeof f->target, "%s", req->resource ? req->resource : "*");
        f->how = trust ? "add the statement to the role's trust policy (aws iam update-assume-role-policy)"
                       : "add the statement to the resource's own policy (queue, bucket, function or topic policy)";
        f->statement = allow_statement(req, principal, !trust);
        f->document = with_statement(rp ? rp->policy : NULL, f->statement);
    }
    bool identity_side = pr && !anonymous && !service && !pr->is_root;
    bool has_boundary = set->boundary && set->boundary->policy;
    /* Within one account a trust policy naming a user grants on its own;
     * naming a role (for role chaining) is still capped by the session's
     * boundary and session policies. */
    bool trust_alone = trust && !cross && !(pr && pr->role_arn);
    bool need_identity = identity_side && !ex->identity_allows && !trust;
    if (cross && identity_side && !ex->identity_allows)
        need_identity = true;
    if (need_identity) {
        fix_t *f = &fx[n++];
        f->where = "identity";
        target_of_caller(pr, f->target, sizeof f->target);
        f->how = pr->role_arn ? "add the statement to an identity-based policy of the role (aws iam put-role-policy)"
                 : pr->type && strcmp(pr->type, "FederatedUser") == 0
                     ? "add the statement to an identity-based policy of the user who called GetFederationToken"
                     : "add the statement to an identity-based policy of the user (aws iam put-user-policy)";
        f->statement = allow_statement(req, NULL, true);
        f->document = NULL;
    }
    if (identity_side && has_boundary && !ex->boundary_allows && !trust_alone) {
        fix_t *f = &fx[n++];
        f->where = "boundary";
        snprintf(f->target, sizeof f->target, "%s", set->boundary->name ? set->boundary->name : "?");
        f->how = "the permissions boundary caps every identity-side allow: add the statement to the boundary "
                 "policy (a new version of that managed policy)";
        f->statement = allow_statement(req, NULL, true);
        f->document = with_statement(set->boundary->policy, f->statement);
    }
    if (identity_side && !ex->session_allows && !trust_alone) {
        fix_t *f = &fx[n++];
        f->where = "session";
        snprintf(f->target, sizeof f->target, "%s", pr->arn ? pr->arn : "?");
        f->how = "a session's policies are fixed when it is created: call AssumeRole (or GetFederationToken) "
                 "again with a session policy (Policy or PolicyArns) that includes the statement";
        f->statement = allow_statement(req, NULL, true);
        f->document = NULL;
    }

    /* Verify: the same request with every proposal applied. */
    iam_named_policy_t identity[IAM_EXPLAIN_MAX_CONSIDERED + 1], session[IAM_EXPLAIN_MAX_CONSIDERED + 1];
    iam_named_policy_t boundary, resource;
    iam_policy_set_t s2 = *set;
    size_t ni = set->nidentity < IAM_EXPLAIN_MAX_CONSIDERED ? set->nidentity : IAM_EXPLAIN_MAX_CONSIDERED;
    size_t nsn = set->nsession < IAM_EXPLAIN_MAX_CONSIDERED ? set->nsession : IAM_EXPLAIN_MAX_CONSIDERED;
    memcpy(identity, set->identity, ni * sizeof *identity);
    memcpy(session, set->session, nsn * sizeof *session);
    iam_policy_t *owned[4] = {0};
    bool compiled = true;
    for (size_t i = 0; i < n; i++) {
        fix_t *f = &fx[i];
        json_t *doc = f->document ? json_incref(f->document) : with_statement(NULL, f->statement);
        iam_policy_kind_t kind = strcmp(f->where, "trust") == 0      ? IAM_POLICY_TRUST
                                 : strcmp(f->where, "resource") == 0 ? (rp ? rp->policy->kind : IAM_POLICY_RESOURCE)
                                                                     : IAM_POLICY_IDENTITY;
        owned[i] = compile(doc, kind);
        json_decref(doc);
        if (!owned[i]) {
            compiled = false;
            continue;
        }
        if (strcmp(f->where, "identity") == 0) {
            identity[ni++] = (iam_named_policy_t){"suggested", owned[i]};
        } else if (strcmp(f->where, "session") == 0) {
            session[nsn++] = (iam_named_policy_t){"suggested", owned[i]};
            s2.has_session_policies = true;
        } else if (strcmp(f->where, "boundary") == 0) {
            boundary = (iam_named_policy_t){set->boundary->name, owned[i]};
            s2.boundary = &boundary;
        } else {
            resource = (iam_named_policy_t){rp ? rp->name : "suggested", owned[i]};
            s2.resource = &resource;
        }
    }
    s2.identity = identity;
    s2.nidentity = ni;
    s2.session = session;
    s2.nsession = nsn;
    bool verified = compiled && n > 0 && iam_evaluate(req, &s2, NULL) == IAM_ALLOW;
    for (size_t i = 0; i < n; i++)
        iam_policy_free(owned[i]);
    if (n == 0)
        *note = "kyoka found no statement to add that would allow this request.";

    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        fix_t *f = &fx[i];
        json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:b}", "where", f->where, "target", f->target, "how", f->how,
                              "statement", f->statement, "verified", verified);
        if (f->document)
            json_object_set_new(o, "document", f->document);
        json_array_append_new(arr, o);
    }
    return arr;
}

/* ---- the whole explanation ---- */

json_t *iam__explain_json(const iam_request_t *req, const iam_policy_set_t *set, const iam_explain_t *ex)
{
    const iam_principal_t *pr = req->principal;
    iam__ectx_t e = {.req = req,
                     .pr = pr,
                     .ex = NULL,
                     .now_ms = req->now_ms ? req->now_ms : kyoka_clock_now_ms(),
                     .has_boundary = set->boundary && set->boundary->policy};
    bool cross = pr && pr->account && req->resource_account && strcmp(pr->account, req->resource_account) != 0;
    bool trust = set->resource && set->resource->policy && set->resource->policy->kind == IAM_POLICY_TRUST;

    json_t *o = json_object();
    json_t *rq = json_object();
    json_object_set_new(rq, "principal", principal_json(pr));
    json_object_set_new(rq, "action", json_string(req->action ? req->action : ""));
    json_object_set_new(rq, "resource", json_string(req->resource ? req->resource : "*"));
    if (req->resource_account)
        json_object_set_new(rq, "resourceAccount", json_string(req->resource_account));
    json_object_set_new(rq, "crossAccount", json_boolean(cross));
    json_object_set_new(rq, "context", context_json(&e));
    json_object_set_new(o, "request", rq);

    json_t *pols = json_array(), *denying = json_array();
    for (size_t i = 0; i < ex->nconsidered; i++) {
        const iam_considered_t *c = &ex->considered[i];
        if (!c->policy)
            continue;
        iam_named_policy_t np = {c->policy_name, c->policy};
        json_array_append_new(pols, policy_json(&e, &np, c->policy_kind, denying));
    }
    json_object_set_new(o, "policies", pols);
    json_object_set_new(o, "decision", json_string(iam_decision_name(ex->decision)));
    json_object_set_new(o, "reason", json_string(ex->reason ? ex->reason : ""));
    json_object_set_new(o, "rule", json_string(rule_of(ex, cross, trust)));
    if (ex->decision == IAM_EXPLICIT_DENY) {
        json_object_set_new(o, "denyingStatements", denying);
        json_object_set_new(o, "fix", json_string("No Allow can override an explicit deny: remove the Deny "
                                                  "statement above or narrow it (its Action, Resource or "
                                                  "Condition) so it no longer matches this request."));
    } else {
        json_decref(denying);
        if (ex->decision != IAM_ALLOW) {
            const char *note;
            json_t *fixes = fixes_json(req, set, ex, cross, trust, &note);
            json_object_set_new(o, "toAllow", fixes);
            if (note)
                json_object_set_new(o, "fix", json_string(note));
        }
    }
    if (pr && caller_arn(pr))
        json_object_set_new(rq, "caller", json_string(caller_arn(pr)));
    return o;
}
