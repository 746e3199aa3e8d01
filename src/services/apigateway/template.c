/*
 * Mapping templates: a small, bounded subset of the Velocity templates API
 * Gateway renders for request and integration-response mappings
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html).
 *
 * Supported: literal text; references $context.a.b and ${context.a.b},
 * $stageVariables.name, $input.body, $input.json('<jsonpath>'),
 * $input.path('<jsonpath>'), $input.params('name') (path, then query
 * string, then header, as AWS searches them); "##" line comments. The JSON
 * path subset is "$", ".name", "['name']" and "[n]". A reference to
 * something unknown is copied through as text, as Velocity does with an
 * undefined reference. Not supported: #set, #if, #foreach and the other
 * directives, $util, $input.params() without a name: rendering fails with
 * a message naming what was met, and the data plane answers AWS's 500.
 *
 * Bounds: the template is at most AGW_MAX_TEMPLATE_BYTES (checked when it
 * is stored) and the output buffer carries its own cap.
 */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/banned.h"

typedef struct cursor {
    const char *p, *end;
} cursor_t;

static bool eat(cursor_t *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

static bool ident_char(char ch) { return isalnum((unsigned char)ch) || ch == '_' || ch == '-'; }

/* A dotted name after a root ("a.b.c"), as a view; stops before a '.' not
 * followed by a name so "$context.stage." keeps its period as text. */
static strv_t dotted(cursor_t *c)
{
    const char *start = c->p;
    while (c->p < c->end && c->p[0] == '.' && c->p + 1 < c->end && ident_char(c->p[1])) {
        c->p++;
        while (c->p < c->end && ident_char(*c->p))
            c->p++;
    }
    return (strv_t){start, (size_t)(c->p - start)};
}

/* Walk ".a.b" through obj; NULL when a step is missing. */
static json_t *walk_dotted(json_t *obj, strv_t path)
{
    const char *p = path.p, *end = path.p + path.len;
    while (obj && p < end) {
        p++; /* the '.' */
        const char *s = p;
        while (p < end && *p != '.')
            p++;
        char key[128];
        size_t n = (size_t)(p - s) < sizeof key - 1 ? (size_t)(p - s) : sizeof key - 1;
        memcpy(key, s, n);
        key[n] = '\0';
        obj = json_object_get(obj, key);
    }
    return obj;
}

/* A single-quoted (or double-quoted) argument: "('...')". */
static bool quoted_arg(cursor_t *c, strv_t *arg)
{
    if (!eat(c, "(") || c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return false;
    char q = *c->p++;
    const char *s = c->p;
    while (c->p < c->end && *c->p != q)
        c->p++;
    if (c->p >= c->end)
        return false;
    *arg = (strv_t){s, (size_t)(c->p - s)};
    c->p++;
    return eat(c, ")");
}

/* The JSON path subset over a parsed body; NULL when it selects nothing. */
json_t *agw__json_path(json_t *root, strv_t path)
{
    const char *p = path.p, *end = path.p + path.len;
    if (p >= end || *p != '$')
        return NULL;
    p++;
    json_t *v = root;
    while (v && p < end) {
        char key[256];
        size_t n = 0;
        if (*p == '.') {
            const char *s = ++p;
            while (p < end && *p != '.' && *p != '[')
                p++;
            n = (size_t)(p - s) < sizeof key - 1 ? (size_t)(p - s) : sizeof key - 1;
            memcpy(key, s, n);
        } else if (*p == '[' && p + 1 < end && (p[1] == '\'' || p[1] == '"')) {
            char q = p[1];
            const char *s = p += 2;
            while (p < end && *p != q)
                p++;
            n = (size_t)(p - s) < sizeof key - 1 ? (size_t)(p - s) : sizeof key - 1;
            memcpy(key, s, n);
            if (p + 1 >= end || p[1] != ']')
                return NULL;
            p += 2;
        } else if (*p == '[') {
            size_t idx = 0;
            p++;
            if (p >= end || !isdigit((unsigned char)*p))
                return NULL;
            while (p < end && isdigit((unsigned char)*p) && idx < 1000000)
                idx = idx * 10 + (size_t)(*p++ - '0');
            if (p >= end || *p != ']')
                return NULL;
            p++;
            v = json_array_get(v, idx);
            continue;
        } else {
            return NULL;
        }
        key[n] = '\0';
        v = json_object_get(v, key);
    }
    return v;
}

static void append_json(buf_t *out, json_t *v)
{
    if (v && proto_json_dump_buf(v, JSON_ENCODE_ANY | JSON_COMPACT, out) != 0)
        return; /* the sticky buffer error reports it */
}

/* $input.path: strings as their text, everything else as JSON. */
static void append_value(buf_t *out, json_t *v)
{
    if (json_is_string(v))
        buf_append(out, json_string_value(v), json_string_length(v));
    else if (v)
        append_json(out, v);
}

/* $input.params('x'): path, query string, then header, first found. */
static void append_param(buf_t *out, const agw_tpl_ctx_t *x, strv_t name)
{
    char key[256];
    size_t n = name.len < sizeof key - 1 ? name.len : sizeof key - 1;
    memcpy(key, name.p, n);
    key[n] = '\0';
    static const char *const where[] = {"path", "querystring", "header"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(json_object_get(x->params, where[i]), key);
        if (json_is_string(v)) {
            buf_appends(out, json_string_value(v));
            return;
        }
    }
}

static json_t *parsed_body(const agw_tpl_ctx_t *x)
{
    if (!x->_body_json && x->body.len)
        ((agw_tpl_ctx_t *)x)->_body_json = json_loadb(x->body.p, x->body.len, JSON_DECODE_ANY, NULL);
    return x->_body_json;
}

static int input_ref(cursor_t *c, const agw_tpl_ctx_t *x, buf_t *out, char *err, size_t errcap)
{
    strv_t arg;
    if (eat(c, ".body")) {
        buf_append(out, x->body.p, x->body.len);
    } else if (eat(c, ".json")) {
        if (!quoted_arg(c, &arg))
            goto bad;
        /* An unparsable body still passes through whole for "$". */
        json_t *root = parsed_body(x);
        if (!root && arg.len == 1)
            buf_append(out, x->body.p, x->body.len);
        else
            append_json(out, agw__json_path(root, arg));
    } else if (eat(c, ".path")) {
        if (!quoted_arg(c, &arg))
            goto bad;
        append_value(out, agw__json_path(parsed_body(x), arg));
    } else if (eat(c, ".params")) {
        if (!quoted_arg(c, &arg))
            goto bad;
        append_param(out, x, arg);
    } else {
        goto bad;
    }
    return 0;
bad:
    snprintf(err, errcap, "unsupported $input reference near offset %zu", (size_t)(c->p - x->_start));
    return -1;
}

/* One reference after its '$' (and optional '{'). Returns -1 on an
 * unsupported form, 1 when the text is not a reference at all. */
static int reference(cursor_t *c, const agw_tpl_ctx_t *x, buf_t *out, char *err, size_t errcap)
{
    bool brace = eat(c, "{");
    int rc = 0;
    if (eat(c, "context")) {
        append_value(out, walk_dotted(x->context, dotted(c)));
    } else if (eat(c, "stageVariables")) {
        append_value(out, walk_dotted(x->stage_vars, dotted(c)));
    } else if (eat(c, "input")) {
        rc = input_ref(c, x, out, err, errcap);
    } else if (eat(c, "util")) {
        snprintf(err, errcap, "$util is not supported by kyoka's template renderer");
        rc = -1;
    } else {
        rc = 1;
    }
    if (rc == 0 && brace && !eat(c, "}")) {
        snprintf(err, errcap, "unterminated ${...} reference");
        rc = -1;
    }
    return rc;
}

int agw__tpl_render(const char *tpl, const agw_tpl_ctx_t *x, buf_t *out, char *err, size_t errcap)
{
    cursor_t c = {tpl, tpl + strlen(tpl)};
    ((agw_tpl_ctx_t *)x)->_start = tpl;
    while (c.p < c.end) {
        if (eat(&c, "##")) {
            while (c.p < c.end && *c.p != '\n')
                c.p++;
            continue;
        }
        if (*c.p == '#' && c.p + 1 < c.end && isalpha((unsigned char)c.p[1])) {
            const char *s = c.p + 1;
            size_t n = 0;
            while (s + n < c.end && isalpha((unsigned char)s[n]))
                n++;
            snprintf(err, errcap, "the #%.*s directive is not supported by kyoka's template renderer", (int)n, s);
            return -1;
        }
        if (*c.p == '$') {
            const char *at = c.p++;
            int rc = reference(&c, x, out, err, errcap);
            if (rc < 0)
                return -1;
            if (rc == 1) {
                c.p = at + 1;
                buf_appendc(out, '$');
            }
            continue;
        }
        buf_appendc(out, *c.p++);
    }
    if (buf_err(out)) {
        snprintf(err, errcap, "the rendered template is too large");
        return -1;
    }
    return 0;
}
