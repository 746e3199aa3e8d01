/*
 * Policy documents: parse, validate with AWS's MalformedPolicyDocument
 * messages, and compile into the form evaluate.c walks.
 *
 * Validation runs in the phases IAM itself reports errors in, so a
 * document with several problems gets the message AWS would give first:
 * syntax ("Syntax errors in policy."), fields required or forbidden by the
 * kind of policy, legacy parsing (Effect case, dates, short ARNs), Sid
 * uniqueness, missing actions, missing resources, resource format, action
 * format, and finally principals. The message texts are the ones IAM
 * returns (for example "Policy statement must contain resources.", 'Resource
 * x must be in ARN format or "*".'); resource policies use the S3-style
 * "Missing required field X" texts and trust policies IAM's CreateRole
 * texts ("Has prohibited field Resource").
 *
 * Duplicate keys are rejected as a syntax error: taking the last value
 * silently would let the stored text and the enforced policy disagree.
 *
 * Statement positions (line/column of each statement's braces) come from
 * a small scanner over the original text, since jansson keeps no source
 * positions; the explanation points users at the statement that decided.
 */
#include "iam/internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/banned.h"

#define MSG_SYNTAX "Syntax errors in policy."
#define MSG_NO_PRINCIPAL "Policy document should not specify a principal."
#define MSG_LEGACY "The policy failed legacy parsing"
#define MSG_SID "Statement IDs (SID) in a single policy must be unique."
#define MSG_ACTIONS "Policy statement must contain actions."
#define MSG_RESOURCES "Policy statement must contain resources."
#define MSG_VENDOR "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
#define MSG_ONE_COLON "Actions/Condition can contain only one colon."
#define MSG_RES_VENDOR "Resource vendor must be fully qualified and cannot contain regexes."
#define MSG_TRUST_RESOURCE "Has prohibited field Resource"
#define MSG_TRUST_ACTIONS                                                                                    \
    "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML,  and "               \
    "sts:AssumeRoleWithWebIdentity"
#define MSG_BAD_PRINCIPAL "Invalid principal in policy"

/* ---- small helpers ---- */

static bool streq(const char *a, const char *b) { return strcmp(a, b) == 0; }

static bool is_str_or_str_array(json_t *v)
{
    if (json_is_string(v))
        return true;
    if (!json_is_array(v))
        return false;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        if (!json_is_string(x))
            return false;
    }
    return true;
}

static bool is_cond_scalar(json_t *v)
{
    return json_is_string(v) || json_is_integer(v) || json_is_real(v) || json_is_boolean(v);
}

static size_t str_count(json_t *v) { return json_is_string(v) ? 1 : json_is_array(v) ? json_array_size(v) : 0; }

static const char *str_at(json_t *v, size_t i)
{
    return json_is_string(v) ? json_string_value(v) : json_string_value(json_array_get(v, i));
}

static size_t str_len_at(json_t *v, size_t i)
{
    return json_string_length(json_is_string(v) ? v : json_array_get(v, i));
}

/* IAM counts policy size without white space ("IAM doesn't count white
 * space when calculating the size of a policy against these quotas",
 * reference_iam-quotas.html); white space inside strings still counts. */
static size_t size_without_ws(const char *doc, size_t len)
{
    size_t n = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < len; i++) {
        char c = doc[i];
        if (in_str) {
            n++;
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
            n++;
        } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            n++;
        }
    }
    return n;
}

/* Text form of a condition value as IAM stores it. */
static const char *scalar_text(json_t *v, char *buf, size_t cap, size_t *len)
{
    if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    }
    if (json_is_true(v) || json_is_false(v)) {
        const char *s = json_is_true(v) ? "true" : "false";
        *len = strlen(s);
        return s;
    }
    if (json_is_integer(v)) {
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    } else {
        double d = json_real_value(v);
        snprintf(buf, cap, "%.15g", d);
        if (strtod(buf, NULL) != d)
            snprintf(buf, cap, "%.17g", d);
    }
    *len = strlen(buf);
    return buf;
}

/* ---- principals ---- */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return n > 0;
}

/* Classify one "AWS" principal value. Returns false if IAM would reject it:
 * only "*", an account id, or a concrete account/user/role/session ARN
 * ("You cannot use a wildcard to match part of a principal name or ARN",
 * reference_policies_elements_principal.html). */
static bool classify_aws_principal(const char *v, iam__principal_pat_t *out)
{
    size_t len = strlen(v);
    memset(out, 0, sizeof *out);
    out->value = v;
    if (streq(v, "*")) {
        out->kind = IAM__PR_ANY;
        return true;
    }
    if (strchr(v, '*') || strchr(v, '?'))
        return false;
    if (len == 12 && all_digits(v, 12)) {
        out->kind = IAM__PR_ACCOUNT;
        memcpy(out->account, v, 12);
        return true;
    }
    if ((strncmp(v, "AIDA", 4) == 0 || strncmp(v, "AROA", 4) == 0) && len >= 16) {
        for (size_t i = 0; i < len; i++)
            if (!isupper((unsigned char)v[i]) && !isdigit((unsigned char)v[i]))
                return false;
        out->kind = IAM__PR_UNIQUE_ID;
        return true;
    }
    iam_arn_t arn;
    if (iam_arn_parse(strv_from(v), &arn) != 0 || arn.region.len != 0)
        return false;
    strv_t r = arn.resource;
    /* CloudFront origin access identities live in the pseudo-account
     * "cloudfront" (arn:aws:iam::cloudfront:user/CloudFront Origin Access
     * Identity E...), which S3 bucket policies accept. */
    if (strv_eq_cstr(arn.account, "cloudfront") && strv_eq_cstr(arn.service, "iam") && strv_starts_with(r, "user/")) {
        out->kind = IAM__PR_USER;
        return true;
    }
    if (arn.account.len != 12 || !all_digits(arn.account.p, 12))
        return false;
    memcpy(out->account, arn.account.p, 12);
    if (strv_eq_cstr(arn.service, "iam")) {
        if (strv_eq_cstr(r, "root"))
            out->kind = IAM__PR_ACCOUNT;
        else if (strv_starts_with(r, "user/") && r.len > 5)
            out->kind = IAM__PR_USER;
        else if (strv_starts_with(r, "role/") && r.len > 5)
            out->kind = IAM__PR_ROLE;
        else
            return false;
        return true;
    }
    if (strv_eq_cstr(arn.service, "sts")) {
        if (strv_starts_with(r, "assumed-role/")) {
            const char *rest = r.p + 13;
            const char *slash = memchr(rest, '/', r.len - 13);
            if (!slash || slash == rest || (size_t)(slash - r.p) + 1 >= r.len)
                return false;
            out->kind = IAM__PR_SESSION;
            return true;
        }
        if (strv_starts_with(r, "federated-user/") && r.len > 15) {
            out->kind = IAM__PR_FEDUSER;
            return true;
        }
    }
    return false;
}

typedef struct {
    char *msg;
    size_t cap;
    iam_policy_kind_t kind;
} vctx_t;

static bool bad_principal(vctx_t *v, const char *type, const char *value)
{
    /* CreateRole names the offending entry; S3-style resource policies do
     * not. */
    if (v->kind == IAM_POLICY_TRUST)
        snprintf(v->msg, v->cap, "%s: \"%s\":\"%s\"", MSG_BAD_PRINCIPAL, type, value);
    else
        snprintf(v->msg, v->cap, "%s", MSG_BAD_PRINCIPAL);
    return false;
}

/* Validate and optionally compile a Principal / NotPrincipal value. */
static bool principal_values(vctx_t *v, json_t *p, arena_t *a, iam__principal_pat_t **out, uint32_t *nout)
{
    size_t total = 0;
    if (json_is_string(p)) {
        if (!streq(json_string_value(p), "*"))
            return bad_principal(v, "AWS", json_string_value(p));
        if (a) {
            iam__principal_pat_t *pp = arena_calloc(a, sizeof *pp);
            pp->kind = IAM__PR_ANY;
            pp->value = "*";
            *out = pp;
            *nout = 1;
        }
        return true;
    }
    if (json_object_size(p) == 0)
        return bad_principal(v, "AWS", "");
    const char *type;
    json_t *vals;
    json_object_foreach(p, type, vals) {
        total += str_count(vals);
    }
    iam__principal_pat_t *pats = a ? arena_calloc(a, (total ? total : 1) * sizeof *pats) : NULL;
    size_t n = 0;
    json_object_foreach(p, type, vals) {
        size_t cnt = str_count(vals);
        if (cnt == 0)
            return bad_principal(v, type, "");
        for (size_t i = 0; i < cnt; i++) {
            const char *val = str_at(vals, i);
            iam__principal_pat_t pp;
            memset(&pp, 0, sizeof pp);
            pp.value = val;
            if (streq(type, "AWS")) {
                if (!classify_aws_principal(val, &pp))
                    return bad_principal(v, type, val);
            } else if (streq(type, "Service") || streq(type, "Federated") || streq(type, "CanonicalUser")) {
                if (val[0] == '\0' || strchr(val, '?') || (strchr(val, '*') && !streq(val, "*")))
                    return bad_principal(v, type, val);
                if (streq(val, "*"))
                    pp.kind = IAM__PR_ANY;
                else
                    pp.kind = streq(type, "Service")     ? IAM__PR_SERVICE
                              : streq(type, "Federated") ? IAM__PR_FEDERATED
                                                         : IAM__PR_CANONICAL;
            } else {
                return bad_principal(v, type, val);
            }
            if (pats) {
                pp.value = arena_strdup(a, val);
                pats[n++] = pp;
            }
        }
    }
    if (a) {
        *out = pats;
        *nout = (uint32_t)n;
    }
    return true;
}

/* ---- resources and actions ---- */

static const char *const partitions[] = {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b",
                                         "aws-iso-e", "aws-iso-f", "aws-eusc", "*"};

static bool valid_partition(const char *p, size_t n)
{
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(partitions); i++)
        if (strlen(partitions[i]) == n && memcmp(partitions[i], p, n) == 0)
            return true;
    return false;
}

/* The format errors IAM reports for a Resource string; NULL if fine. The
 * first segment is not checked, as IAM does not check it either. */
static const char *resource_format_error(const char *r, char *buf, size_t cap)
{
    if (streq(r, "*"))
        return NULL;
    const char *c1 = strchr(r, ':');
    if (!c1) {
        snprintf(buf, cap, "Resource %s must be in ARN format or \"*\".", r);
        return buf;
    }
    const char *part = c1 + 1;
    const char *c2 = strchr(part, ':');
    size_t plen = c2 ? (size_t)(c2 - part) : strlen(part);
    if (!valid_partition(part, plen)) {
        /* IAM echoes the resource normalised to six parts, missing ones
         * shown as "*". */
        const char *rem = c2 ? c2 + 1 : "";
        const char *seg[4] = {"*", "*", "*", "*"};
        size_t seglen[4] = {1, 1, 1, 1};
        size_t nrem = 1;
        for (const char *q = rem; *q; q++)
            nrem += *q == ':';
        const char *q = rem;
        for (size_t k = 0; k < 4 && k < nrem; k++) {
            const char *end = k == 3 ? q + strlen(q) : strchrnul(q, ':');
            if (k > 0 || end > q || nrem > 1) {
                seg[k] = q;
                seglen[k] = (size_t)(end - q);
            }
            q = *end ? end + 1 : end;
        }
        snprintf(buf, cap, "Partition \"%.*s\" is not valid for resource \"arn:%.*s:%.*s:%.*s:%.*s:%.*s\".",
                 (int)plen, part, (int)plen, part, (int)seglen[0], seg[0], (int)seglen[1], seg[1],
                 (int)seglen[2], seg[2], (int)seglen[3], seg[3]);
        return buf;
    }
    if (!c2)
        return MSG_RES_VENDOR;
    return NULL;
}

/* IAM's legacy parser refuses short ARNs with empty parts such as
 * "arn:aws:s3::bucket" and ARNs with an empty service. */
static bool resource_legacy_ok(const char *r)
{
    if (streq(r, "*"))
        return true;
    size_t colons = 0;
    for (const char *q = r; *q; q++)
        colons += *q == ':';
    if (colons < 5 && strstr(r, "::"))
        return false;
    const char *c1 = strchr(r, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || c2[1] == ':' || c2[1] == '\0')
        return false;
    return true;
}

static const char *action_format_error(const char *a, char *buf, size_t cap)
{
    if (streq(a, "*"))
        return NULL;
    const char *c = strchr(a, ':');
    if (!c)
        return MSG_VENDOR;
    if (strchr(c + 1, ':'))
        return MSG_ONE_COLON;
    for (const char *q = a; q < c; q++) {
        if (!isalnum((unsigned char)*q) && *q != '-' && *q != '.') {
            snprintf(buf, cap, "Vendor %.*s is not valid", (int)(c - a), a);
            return buf;
        }
    }
    if (c == a) {
        snprintf(buf, cap, "Vendor  is not valid");
        return buf;
    }
    return NULL;
}

/* ---- statement positions ---- */

typedef struct span {
    size_t start, end; /* byte offsets of the opening and closing brace */
} span_t;

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const char *skip_string(const char *p, const char *end)
{
    p++; /* opening quote */
    while (p < end && *p != '"') {
        if (*p == '\\' && p + 1 < end)
            p++;
        p++;
    }
    return p < end ? p + 1 : end;
}

/* Skip one value without recursion: the document already parsed, so only
 * bracket depth and strings matter. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return end;
    if (*p == '"')
        return skip_string(p, end);
    if (*p != '{' && *p != '[') {
        while (p < end && !strchr(",}] \t\r\n", *p))
            p++;
        return p;
    }
    size_t depth = 0;
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end);
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']') {
            if (--depth == 0)
                return p + 1;
        }
        p++;
    }
    return end;
}

/* Compare a raw JSON string body (escapes not decoded) with ASCII lit. */
static bool raw_key_eq(const char *raw, size_t n, const char *lit)
{
    size_t i = 0;
    for (; *lit; lit++) {
        if (i >= n)
            return false;
        char c = raw[i++];
        if (c == '\\' && i < n) {
            char e = raw[i++];
            if (e == 'u') {
                if (i + 4 > n || !isxdigit((unsigned char)raw[i]) || !isxdigit((unsigned char)raw[i + 1]) ||
                    !isxdigit((unsigned char)raw[i + 2]) || !isxdigit((unsigned char)raw[i + 3]))
                    return false;
                int v = (kyoka_hexval(raw[i]) << 12) | (kyoka_hexval(raw[i + 1]) << 8) | (kyoka_hexval(raw[i + 2]) << 4) |
                        kyoka_hexval(raw[i + 3]);
                i += 4;
                c = (char)(v < 0x80 ? v : 0);
            } else {
                c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'b' ? '\b' : e == 'f' ? '\f' : e;
            }
        }
        if (c != *lit)
            return false;
    }
    return i == n;
}

/* Find the spans of the statements in the source text, in order. */
static size_t statement_spans(const char *doc, size_t len, span_t *spans, size_t cap)
{
    const char *p = doc, *end = doc + len;
    size_t n = 0;
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return 0;
    p++;
    while (p < end) {
        p = skip_ws(p, end);
        if (p >= end || *p == '}' || *p != '"')
            break;
        const char *kstart = p + 1;
        p = skip_string(p, end);
        size_t klen = (size_t)(p - 1 - kstart);
        p = skip_ws(p, end);
        if (p >= end || *p != ':')
            break;
        p = skip_ws(p + 1, end);
        if (raw_key_eq(kstart, klen, "Statement")) {
            if (p < end && *p == '{' && n < cap) {
                const char *v = skip_value(p, end);
                spans[n++] = (span_t){(size_t)(p - doc), (size_t)(v - 1 - doc)};
            } else if (p < end && *p == '[') {
                const char *q = p + 1;
                while (q < end) {
                    q = skip_ws(q, end);
                    if (q >= end || *q == ']')
                        break;
                    const char *v = skip_value(q, end);
                    if (n < cap)
                        spans[n++] = (span_t){(size_t)(q - doc), (size_t)(v - 1 - doc)};
                    q = skip_ws(v, end);
                    if (q < end && *q == ',')
                        q++;
                }
            }
        }
        p = skip_ws(skip_value(p, end), end);
        if (p < end && *p == ',')
            p++;
    }
    return n;
}

/* Offsets to 1-based line and column (columns count characters, not
 * UTF-8 continuation bytes), in one pass over the text. */
static void offsets_to_positions(const char *doc, size_t len, iam__stmt_t *st, const span_t *spans, size_t n)
{
    size_t line = 1, col = 1, next = 0;
    /* Offsets are increasing: start_i < end_i < start_{i+1}. */
    for (size_t i = 0; i < len && next < 2 * n; i++) {
        size_t want = next % 2 == 0 ? spans[next / 2].start : spans[next / 2].end;
        while (next < 2 * n && i == want) {
            if (next % 2 == 0) {
                st[next / 2].start_line = (int)line;
                st[next / 2].start_col = (int)col;
            } else {
                st[next / 2].end_line = (int)line;
                st[next / 2].end_col = (int)col;
            }
            next++;
            if (next < 2 * n)
                want = next % 2 == 0 ? spans[next / 2].start : spans[next / 2].end;
        }
        if (doc[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)doc[i] & 0xC0) != 0x80) {
            col++;
        }
    }
}

/* ---- validation ---- */

static const char *const stmt_keys[] = {"Sid",      "Effect",   "Principal", "NotPrincipal", "Action",
                                        "NotAction", "Resource", "NotResource", "Condition"};

static bool syntax_statement(vctx_t *v, json_t *st)
{
    if (!json_is_object(st))
        return false;
    const char *k;
    json_t *val;
    json_object_foreach(st, k, val) {
        bool known = false;
        for (size_t i = 0; i < KYOKA_ARRAY_LEN(stmt_keys); i++)
            known |= streq(k, stmt_keys[i]);
        if (!known)
            return false;
    }
    if ((json_object_get(st, "Action") && json_object_get(st, "NotAction")) ||
        (json_object_get(st, "Resource") && json_object_get(st, "NotResource")) ||
        (json_object_get(st, "Principal") && json_object_get(st, "NotPrincipal")))
        return false;
    json_t *eff = json_object_get(st, "Effect");
    if (eff) {
        if (!json_is_string(eff))
            return false;
        const char *e = json_string_value(eff);
        if (strcasecmp(e, "Allow") != 0 && strcasecmp(e, "Deny") != 0)
            return false;
    } else if (v->kind == IAM_POLICY_IDENTITY) {
        /* IAM reports a statement without Effect as a syntax error; only
         * the resource-policy services say "Missing required field". */
        return false;
    }
    static const char *const lists[] = {"Action", "NotAction", "Resource", "NotResource"};
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(lists); i++) {
        json_t *x = json_object_get(st, lists[i]);
        if (x && !is_str_or_str_array(x))
            return false;
    }
    json_t *sid = json_object_get(st, "Sid");
    if (sid && !json_is_string(sid))
        return false;
    static const char *const prs[] = {"Principal", "NotPrincipal"};
    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_object_get(st, prs[i]);
        if (!p)
            continue;
        if (!json_is_string(p) && !json_is_object(p))
            return false;
        if (json_is_object(p)) {
            const char *t;
            json_t *pv;
            json_object_foreach(p, t, pv) {
                if (!is_str_or_str_array(pv))
                    return false;
            }
        }
    }
    json_t *cond = json_object_get(st, "Condition");
    if (cond) {
        if (!json_is_object(cond))
            return false;
        const char *opname;
        json_t *block;
        json_object_foreach(cond, opname, block) {
            if (!json_is_object(block))
                return false;
            const char *key;
            json_t *cv;
            json_object_foreach(block, key, cv) {
                if (json_is_array(cv)) {
                    size_t i;
                    json_t *x;
                    json_array_foreach(cv, i, x) {
                        if (!is_cond_scalar(x))
                            return false;
                    }
                } else if (!is_cond_scalar(cv)) {
                    return false;
                }
            }
            uint8_t op, set;
            bool ie;
            /* An unknown operator is tolerated only with nothing under it. */
            if (!iam__op_lookup(opname, &op, &set, &ie) && json_object_size(block) > 0)
                return false;
        }
    }
    return true;
}

static bool dates_ok(json_t *st)
{
    json_t *cond = json_object_get(st, "Condition");
    const char *opname;
    json_t *block;
    json_object_foreach(cond, opname, block) {
        uint8_t op, set;
        bool ie;
        if (!iam__op_lookup(opname, &op, &set, &ie) || op < IAM__OP_DATE_EQ || op > IAM__OP_DATE_GE)
            continue;
        const char *key;
        json_t *cv;
        json_object_foreach(block, key, cv) {
            size_t n = json_is_array(cv) ? json_array_size(cv) : 1;
            for (size_t i = 0; i < n; i++) {
                json_t *x = json_is_array(cv) ? json_array_get(cv, i) : cv;
                char buf[64];
                size_t len;
                const char *s = scalar_text(x, buf, sizeof buf, &len);
                int64_t ms;
                if (!iam__parse_date(s, len, &ms))
                    return false;
            }
        }
    }
    return true;
}

static json_t *res_elem(json_t *st)
{
    json_t *r = json_object_get(st, "Resource");
    return r ? r : json_object_get(st, "NotResource");
}

static json_t *act_elem(json_t *st)
{
    json_t *a = json_object_get(st, "Action");
    return a ? a : json_object_get(st, "NotAction");
}

static bool fail(vctx_t *v, const char *msg)
{
    if (msg != v->msg)
        snprintf(v->msg, v->cap, "%s", msg);
    return false;
}

static bool validate(vctx_t *v, json_t **stmts, size_t nst)
{
    char buf[512];
    iam_policy_kind_t kind = v->kind;

    /* Fields the kind of policy requires or forbids. */
    for (size_t i = 0; i < nst; i++) {
        json_t *st = stmts[i];
        bool has_pr = json_object_get(st, "Principal") || json_object_get(st, "NotPrincipal");
        if (kind == IAM_POLICY_IDENTITY && has_pr)
            return fail(v, MSG_NO_PRINCIPAL);
        if (kind != IAM_POLICY_IDENTITY && !json_object_get(st, "Effect"))
            return fail(v, "Missing required field Effect");
    }
    if (kind == IAM_POLICY_TRUST) {
        for (size_t i = 0; i < nst; i++)
            if (res_elem(stmts[i]))
                return fail(v, MSG_TRUST_RESOURCE);
    }

    /* Legacy parsing: Effect is case-sensitive, dates must parse, short
     * ARNs are refused -- the latter only while no resource has a format
     * error, which IAM reports instead (later). */
    bool res_format_bad = false;
    for (size_t i = 0; i < nst; i++) {
        json_t *st = stmts[i];
        const char *e = json_string_value(json_object_get(st, "Effect"));
        if (e && !streq(e, "Allow") && !streq(e, "Deny"))
            return fail(v, MSG_LEGACY);
        if (!dates_ok(st))
            return fail(v, MSG_LEGACY);
        json_t *r = res_elem(st);
        for (size_t k = 0; kind != IAM_POLICY_TRUST && k < str_count(r) && !res_format_bad; k++) {
            if (resource_format_error(str_at(r, k), buf, sizeof buf))
                res_format_bad = true;
            else if (!resource_legacy_ok(str_at(r, k)))
                return fail(v, MSG_LEGACY);
        }
    }

    for (size_t i = 0; i < nst; i++) {
        const char *a = json_string_value(json_object_get(stmts[i], "Sid"));
        for (size_t j = 0; a && a[0] && j < i; j++) {
            const char *b = json_string_value(json_object_get(stmts[j], "Sid"));
            if (b && streq(a, b))
                return fail(v, MSG_SID);
        }
    }

    for (size_t i = 0; i < nst; i++) {
        if (str_count(act_elem(stmts[i])) == 0)
            return fail(v, kind == IAM_POLICY_IDENTITY ? MSG_ACTIONS : "Missing required field Action");
    }

    if (kind != IAM_POLICY_TRUST) {
        for (size_t i = 0; i < nst; i++) {
            json_t *r = res_elem(stmts[i]);
            if (str_count(r) == 0) {
                if (kind == IAM_POLICY_IDENTITY || r)
                    return fail(v, MSG_RESOURCES);
                return fail(v, "Missing required field Resource");
            }
        }
        for (size_t i = 0; i < nst; i++) {
            json_t *r = res_elem(stmts[i]);
            for (size_t k = 0; k < str_count(r); k++) {
                const char *m = resource_format_error(str_at(r, k), buf, sizeof buf);
                if (m)
                    return fail(v, m);
            }
        }
    }

    for (size_t i = 0; i < nst; i++) {
        json_t *a = act_elem(stmts[i]);
        for (size_t k = 0; k < str_count(a); k++) {
            const char *m = action_format_error(str_at(a, k), buf, sizeof buf);
            if (m)
                return fail(v, m);
        }
    }

    if (kind != IAM_POLICY_IDENTITY) {
        for (size_t i = 0; i < nst; i++) {
            json_t *st = stmts[i];
            json_t *p = json_object_get(st, "Principal");
            if (!p)
                p = json_object_get(st, "NotPrincipal");
            if (!p)
                return fail(v, "Missing required field Principal");
            if (!principal_values(v, p, NULL, NULL, NULL))
                return false;
        }
    }

    if (kind == IAM_POLICY_TRUST) {
        for (size_t i = 0; i < nst; i++) {
            json_t *a = act_elem(stmts[i]);
            for (size_t k = 0; k < str_count(a); k++) {
                const char *s = str_at(a, k);
                if (!streq(s, "*") && strncasecmp(s, "sts:", 4) != 0)
                    return fail(v, MSG_TRUST_ACTIONS);
            }
        }
    }
    return true;
}

/* ---- compile ---- */

static void compile_statement(iam_policy_t *p, json_t *st, iam__stmt_t *out)
{
    arena_t *a = &p->arena;
    memset(out, 0, sizeof *out);
    json_t *sid = json_object_get(st, "Sid");
    out->sid = sid && json_string_length(sid) ? arena_strdup(a, json_string_value(sid)) : NULL;
    json_t *eff = json_object_get(st, "Effect");
    out->allow = eff && streq(json_string_value(eff), "Allow");

    json_t *act = act_elem(st);
    out->not_action = json_object_get(st, "NotAction") != NULL;
    out->nactions = (uint32_t)str_count(act);
    out->actions = arena_calloc(a, (out->nactions ? out->nactions : 1) * sizeof *out->actions);
    for (uint32_t i = 0; i < out->nactions; i++) {
        const char *s = str_at(act, i);
        size_t len = str_len_at(act, i);
        uint8_t *marks = arena_alloc(a, len + 1);
        for (size_t k = 0; k < len; k++)
            marks[k] = s[k] == '*' ? IAM__STAR : s[k] == '?' ? IAM__QMARK : IAM__LIT;
        /* Action names are case-insensitive: stored lower-case, matched
         * folding the request's case. */
        iam__glob_init(a, &out->actions[i], s, marks, len, true);
    }

    json_t *res = res_elem(st);
    out->has_resource = res != NULL;
    out->not_resource = json_object_get(st, "NotResource") != NULL;
    out->nresources = (uint32_t)str_count(res);
    out->resources = arena_calloc(a, (out->nresources ? out->nresources : 1) * sizeof *out->resources);
    for (uint32_t i = 0; i < out->nresources; i++)
        iam__arnpat_init(a, &out->resources[i], str_at(res, i), str_len_at(res, i), p->vars);

    json_t *pr = json_object_get(st, "Principal");
    out->not_principal = pr == NULL && json_object_get(st, "NotPrincipal") != NULL;
    if (!pr)
        pr = json_object_get(st, "NotPrincipal");
    if (pr) {
        char msg[256];
        vctx_t v = {msg, sizeof msg, p->kind};
        out->has_principal = true;
        if (!principal_values(&v, pr, a, &out->principals, &out->nprincipals))
            out->nprincipals = 0; /* validated already; unreachable */
    }

    json_t *cond = json_object_get(st, "Condition");
    size_t ncond = 0;
    const char *opname, *key;
    json_t *block, *cv;
    json_object_foreach(cond, opname, block) {
        ncond += json_object_size(block);
    }
    out->conds = arena_calloc(a, (ncond ? ncond : 1) * sizeof *out->conds);
    json_object_foreach(cond, opname, block) {
        uint8_t op, set;
        bool ie;
        if (!iam__op_lookup(opname, &op, &set, &ie))
            continue; /* unknown and empty: ignored, as IAM does */
        json_object_foreach(block, key, cv) {
            iam__cond_t *c = &out->conds[out->nconds++];
            c->op = op;
            c->set = set;
            c->if_exists = ie;
            c->opname = arena_strdup(a, opname);
            c->key = arena_strdup(a, key);
            size_t n = json_is_array(cv) ? json_array_size(cv) : 1;
            c->values = arena_calloc(a, (n ? n : 1) * sizeof *c->values);
            for (size_t i = 0; i < n; i++) {
                json_t *x = json_is_array(cv) ? json_array_get(cv, i) : cv;
                char buf[64];
                size_t len;
                const char *s = scalar_text(x, buf, sizeof buf, &len);
                (void)iam__cval_init(a, &c->values[c->nvalues++], op, s, len, p->vars);
            }
        }
    }
}

/* ---- public ---- */

static iam_policy_t *parse_fail(const char *msg, char *err, size_t errcap)
{
    if (err && errcap)
        snprintf(err, errcap, "%s", msg);
    return NULL;
}

iam_policy_t *iam_policy_parse(const char *doc, size_t len, iam_policy_kind_t kind, size_t max_bytes, char *err,
                               size_t errcap, bool *over_limit)
{
    if (over_limit)
        *over_limit = false;
    if (err && errcap)
        err[0] = '\0';
    if (!doc)
        return parse_fail(MSG_SYNTAX, err, errcap);

    /* Size first, before parsing anything from input. Identity and trust
     * policies are IAM's and are measured without white space; resource
     * policies by their raw length. A raw cap stops absurd inputs even
     * when they are mostly white space. */
    size_t counted = kind == IAM_POLICY_RESOURCE ? len : size_without_ws(doc, len);
    size_t raw_cap = max_bytes > SIZE_MAX / 8 ? SIZE_MAX : max_bytes * 8 > 65536 ? max_bytes * 8 : 65536;
    if (max_bytes && (counted > max_bytes || len > raw_cap)) {
        if (over_limit)
            *over_limit = true;
        char msg[128];
        /* IAM's LimitExceeded texts: trust policies count against
         * ACLSizePerRole, the others against PolicySize. */
        snprintf(msg, sizeof msg, "Cannot exceed quota for %s: %zu",
                 kind == IAM_POLICY_TRUST ? "ACLSizePerRole" : "PolicySize", max_bytes);
        return parse_fail(msg, err, errcap);
    }

    json_error_t je;
    json_t *root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return parse_fail(MSG_SYNTAX, err, errcap);
    }

    char msg[512];
    vctx_t v = {msg, sizeof msg, kind};
    json_t **stmts = NULL;
    size_t nst = 0;
    bool ok = true;

    const char *k;
    json_t *val;
    json_object_foreach(root, k, val) {
        if (!streq(k, "Version") && !streq(k, "Id") && !streq(k, "Statement"))
            ok = false;
    }
    json_t *ver = json_object_get(root, "Version");
    /* "2012-10-17" and the older "2008-10-17" are the only versions
     * (reference_policies_elements_version.html); absent means 2008. */
    if (ver && (!json_is_string(ver) ||
                (!streq(json_string_value(ver), "2012-10-17") && !streq(json_string_value(ver), "2008-10-17"))))
        ok = false;
    json_t *id = json_object_get(root, "Id");
    if (id && !json_is_string(id))
        ok = false;
    json_t *sts = json_object_get(root, "Statement");
    if (ok && json_is_object(sts)) {
        nst = 1;
        stmts = xmalloc(sizeof *stmts);
        stmts[0] = sts;
    } else if (ok && json_is_array(sts) && json_array_size(sts) > 0) {
        nst = json_array_size(sts);
        stmts = xmalloc(nst * sizeof *stmts);
        for (size_t i = 0; i < nst; i++)
            stmts[i] = json_array_get(sts, i);
    } else {
        ok = false;
    }
    for (size_t i = 0; ok && i < nst; i++)
        ok = syntax_statement(&v, stmts[i]);
    if (!ok)
        snprintf(msg, sizeof msg, "%s", MSG_SYNTAX);
    else
        ok = validate(&v, stmts, nst);
    if (!ok) {
        free(stmts);
        json_decref(root);
        return parse_fail(msg, err, errcap);
    }

    iam_policy_t *p = xcalloc(1, sizeof *p);
    arena_init(&p->arena);
    p->refs = 1;
    p->kind = kind;
    p->vars = ver && streq(json_string_value(ver), "2012-10-17");
    p->text = xstrndup(doc, len);
    p->len = len;
    p->nstmts = (uint32_t)nst;
    p->stmts = arena_calloc(&p->arena, nst * sizeof *p->stmts);
    for (size_t i = 0; i < nst; i++)
        compile_statement(p, stmts[i], &p->stmts[i]);

    span_t *spans = xmalloc(nst * sizeof *spans);
    size_t ns = statement_spans(doc, len, spans, nst);
    if (ns == nst)
        offsets_to_positions(doc, len, p->stmts, spans, ns);
    free(spans);
    free(stmts);
    json_decref(root);
    return p;
}

void iam_policy_free(iam_policy_t *p)
{
    if (!p || --p->refs > 0)
        return;
    arena_destroy(&p->arena);
    free(p->text);
    free(p);
}

iam_policy_t *iam_policy_ref(iam_policy_t *p)
{
    if (p)
        p->refs++;
    return p;
}

const char *iam_policy_text(const iam_policy_t *p) { return p ? p->text : NULL; }

iam_policy_kind_t iam_policy_kind(const iam_policy_t *p) { return p->kind; }

size_t iam_policy_statement_count(const iam_policy_t *p) { return p ? p->nstmts : 0; }

bool iam_policy_is_version_2012(const iam_policy_t *p) { return p && p->vars; }
