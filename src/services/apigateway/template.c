/*
 * Mapping templates: a small, bounded subset of the Velocity templates API
 * Gateway renders for request and integration-response mappings
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html).
 *
 * Supported:
 *   - literal text and "##" line comments;
 *   - references $x and ${x} to: $context.a.b, $stageVariables.name,
 *     $input.body, $input.json('<path>') (the selection as JSON text),
 *     $input.path('<path>') (the selection itself), $input.params('name')
 *     (path, then query string, then header, as AWS searches), variables
 *     made by #set or #foreach ($v, $v.field), and $foreach.hasNext /
 *     $foreach.index inside a loop; the JSON path subset is "$", ".name",
 *     "['name']" and "[n]";
 *   - #set($v = <operand>), #if(<cond>) ... #elseif(<cond>) ... #else ...
 *     #end, #foreach($v in <operand>) ... #end over an array; a condition
 *     is [!]<operand> or <operand> (== != < > <= >=) <operand>, an operand
 *     a reference, a quoted string, a number, true or false.
 * A reference to an unknown root is copied through as text, as Velocity
 * does with an undefined reference; a known root with nothing there gives
 * nothing. Objects and arrays print as JSON. Not supported ($util, other
 * directives, && and ||, method calls other than the above): rendering
 * fails with a message naming what was met, and the data plane answers
 * AWS's 500.
 *
 * Bounds: the template is at most AGW_MAX_TEMPLATE_BYTES (checked when it
 * is stored), nesting is at most TPL_MAX_DEPTH, loops run at most
 * TPL_MAX_ITERATIONS bodies in all, and the output buffer carries its cap.
 */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define TPL_MAX_DEPTH 16
#define TPL_MAX_ITERATIONS 10000
#define TPL_MAX_VARS 64

typedef struct cursor {
    const char *p, *end;
} cursor_t;

typedef struct render {
    const agw_tpl_ctx_t *x;
    json_t *vars;      /* #set and #foreach variables */
    json_t *body_json; /* the parsed body, lazily */
    buf_t *out;
    char *err;
    size_t errcap;
    const char *start;
    int depth;
    size_t iterations;
    bool failed;
} render_t;

static void fail(render_t *r, const cursor_t *c, const char *what)
{
    if (!r->failed)
        snprintf(r->err, r->errcap, "%s (offset %zu)", what, (size_t)(c->p - r->start));
    r->failed = true;
}

static bool eat(cursor_t *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return false;
    c->p += n;
    return true;
}

static void skip_space(cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static bool ident_char(char ch) { return isalnum((unsigned char)ch) || ch == '_' || ch == '-'; }

static strv_t ident(cursor_t *c)
{
    const char *s = c->p;
    while (c->p < c->end && ident_char(*c->p))
        c->p++;
    return (strv_t){s, (size_t)(c->p - s)};
}

static char *key_of(strv_t s, char *buf, size_t cap)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    memcpy(buf, s.p, n);
    buf[n] = '\0';
    return buf;
}

/* ".a.b" after a root: walk it through v (borrowed). Stops before a '.'
 * not followed by a name, so "$context.stage." keeps its period as text. */
static json_t *walk_fields(cursor_t *c, json_t *v)
{
    while (c->p + 1 < c->end && c->p[0] == '.' && ident_char(c->p[1]) &&
           !(strncmp(c->p, ".json(", 6) == 0 || strncmp(c->p, ".path(", 6) == 0)) {
        c->p++;
        char key[128];
        v = json_object_get(v, key_of(ident(c), key, sizeof key));
    }
    return v;
}

/* A quoted argument in parentheses: "('...')". */
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

static json_t *parsed_body(render_t *r)
{
    if (!r->body_json && r->x->body.len)
        r->body_json = json_loadb(r->x->body.p, r->x->body.len, JSON_DECODE_ANY, NULL);
    return r->body_json;
}

static json_t *param_value(render_t *r, strv_t name)
{
    char key[256];
    key_of(name, key, sizeof key);
    static const char *const where[] = {"path", "querystring", "header"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(json_object_get(r->x->params, where[i]), key);
        if (json_is_string(v))
            return json_incref(v);
    }
    return json_string("");
}

/* The JSON text of v as a new string value ($input.json). */
static json_t *json_text(json_t *v)
{
    buf_t b;
    buf_init(&b, AGW_MAX_TEMPLATE_BYTES * 4);
    if (v && proto_json_dump_buf(v, JSON_ENCODE_ANY | JSON_COMPACT, &b) != 0)
        buf_reset(&b);
    json_t *s = json_stringn_nocheck(b.data, b.len);
    buf_destroy(&b);
    return s;
}

static json_t *input_ref(render_t *r, cursor_t *c)
{
    strv_t arg;
    if (eat(c, ".body"))
        return json_stringn_nocheck(r->x->body.p ? r->x->body.p : "", r->x->body.len);
    if (eat(c, ".json")) {
        if (!quoted_arg(c, &arg))
            goto bad;
        json_t *root = parsed_body(r);
        /* An unparsable body still passes through whole for "$". */
        if (!root && arg.len == 1)
            return json_stringn_nocheck(r->x->body.p ? r->x->body.p : "", r->x->body.len);
        return json_text(agw__json_path(root, arg));
    }
    if (eat(c, ".path")) {
        if (!quoted_arg(c, &arg))
            goto bad;
        json_t *v = agw__json_path(parsed_body(r), arg);
        return v ? json_incref(walk_fields(c, v)) : NULL;
    }
    if (eat(c, ".params")) {
        if (!quoted_arg(c, &arg))
            goto bad;
        return param_value(r, arg);
    }
bad:
    fail(r, c, "unsupported $input reference");
    return NULL;
}

/* A reference after its '$' (and optional '{'): a new value or NULL.
 * *known is false when the root is nothing this renderer knows. */
static json_t *reference(render_t *r, cursor_t *c, bool *known)
{
    bool brace = eat(c, "{");
    json_t *v = NULL;
    *known = true;
    if (eat(c, "context")) {
        v = json_incref(walk_fields(c, r->x->context));
    } else if (eat(c, "stageVariables")) {
        v = json_incref(walk_fields(c, r->x->stage_vars));
    } else if (eat(c, "input")) {
        v = input_ref(r, c);
    } else if (eat(c, "util")) {
        fail(r, c, "$util is not supported by kyoka's template renderer");
    } else {
        char key[128];
        cursor_t save = *c;
        json_t *var = json_object_get(r->vars, key_of(ident(c), key, sizeof key));
        if (var) {
            v = json_incref(walk_fields(c, var));
        } else {
            *c = save;
            *known = false;
        }
    }
    if (*known && brace && !eat(c, "}"))
        fail(r, c, "unterminated ${...} reference");
    return v;
}

static void emit_value(render_t *r, json_t *v)
{
    if (json_is_string(v))
        buf_append(r->out, json_string_value(v), json_string_length(v));
    else if (v && !json_is_null(v) && proto_json_dump_buf(v, JSON_ENCODE_ANY | JSON_COMPACT, r->out) != 0)
        return; /* the sticky buffer error reports it */
}

/* ---- directives ---- */

/* An operand: a reference, 'string', "string", a number, true, false. */
static json_t *operand(render_t *r, cursor_t *c)
{
    skip_space(c);
    if (c->p >= c->end)
        return NULL;
    if (*c->p == '$') {
        c->p++;
        bool known;
        json_t *v = reference(r, c, &known);
        if (!known)
            fail(r, c, "unknown reference in a directive");
        return v;
    }
    if (*c->p == '\'' || *c->p == '"') {
        char q = *c->p++;
        const char *s = c->p;
        while (c->p < c->end && *c->p != q)
            c->p++;
        if (c->p >= c->end) {
            fail(r, c, "unterminated string");
            return NULL;
        }
        json_t *v = json_stringn_nocheck(s, (size_t)(c->p - s));
        c->p++;
        return v;
    }
    if (eat(c, "true"))
        return json_true();
    if (eat(c, "false"))
        return json_false();
    if (isdigit((unsigned char)*c->p) || *c->p == '-') {
        char *stop;
        char num[32];
        size_t n = 0;
        while (c->p + n < c->end && n < sizeof num - 1 &&
               (isdigit((unsigned char)c->p[n]) || c->p[n] == '-' || c->p[n] == '.'))
            n++;
        memcpy(num, c->p, n);
        num[n] = '\0';
        double d = strtod(num, &stop);
        c->p += n;
        return d == (double)(json_int_t)d ? json_integer((json_int_t)d) : json_real(d);
    }
    fail(r, c, "unsupported operand in a directive");
    return NULL;
}

static bool truthy(json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    return true;
}

/* -1, 0, 1; numbers numerically, everything else by its text. */
static int compare(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return x < y ? -1 : x > y;
    }
    const char *sa = json_is_string(a) ? json_string_value(a) : "";
    const char *sb = json_is_string(b) ? json_string_value(b) : "";
    int rc = strcmp(sa, sb);
    return rc < 0 ? -1 : rc > 0;
}

/* "(<cond>)" */
static bool condition(render_t *r, cursor_t *c)
{
    if (!eat(c, "(")) {
        fail(r, c, "expected ( after #if");
        return false;
    }
    skip_space(c);
    bool negate = eat(c, "!");
    json_t *a = operand(r, c);
    skip_space(c);
    static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">"};
    int op = -1;
    for (int i = 0; i < 6 && op < 0; i++)
        if (eat(c, ops[i]))
            op = i;
    bool result;
    if (op < 0) {
        result = truthy(a);
    } else {
        json_t *b = operand(r, c);
        int cmp = compare(a, b);
        bool res[] = {cmp == 0, cmp != 0, cmp <= 0, cmp >= 0, cmp<0, cmp> 0};
        result = res[op];
        json_decref(b);
    }
    json_decref(a);
    skip_space(c);
    if (!eat(c, ")"))
        fail(r, c, "expected ) closing the condition (&& and || are not supported)");
    return negate ? !result : result;
}

static void set_var(render_t *r, const cursor_t *c, strv_t name, json_t *v)
{
    char key[128];
    key_of(name, key, sizeof key);
    if (!json_object_get(r->vars, key) && json_object_size(r->vars) >= TPL_MAX_VARS) {
        fail(r, c, "too many template variables");
        json_decref(v);
        return;
    }
    json_object_set_new(r->vars, key, v ? v : json_null());
}

enum { END_EOF, END_END, END_ELSE, END_ELSEIF };

static int block(render_t *r, cursor_t *c, bool emit);

static void directive_set(render_t *r, cursor_t *c, bool emit)
{
    skip_space(c);
    if (!eat(c, "(") || (skip_space(c), !eat(c, "$"))) {
        fail(r, c, "expected #set($name = ...)");
        return;
    }
    strv_t name = ident(c);
    skip_space(c);
    if (!name.len || !eat(c, "=")) {
        fail(r, c, "expected #set($name = ...)");
        return;
    }
    json_t *v = operand(r, c);
    skip_space(c);
    if (!eat(c, ")"))
        fail(r, c, "expected ) closing #set");
    if (emit && !r->failed)
        set_var(r, c, name, v);
    else
        json_decref(v);
}

static void directive_if(render_t *r, cursor_t *c, bool emit)
{
    bool taken = false;
    bool cond = condition(r, c);
    for (;;) {
        bool run = emit && !taken && cond;
        taken |= run;
        int end = block(r, c, run);
        if (r->failed || end == END_END)
            return;
        if (end == END_EOF) {
            fail(r, c, "#if without #end");
            return;
        }
        cond = end == END_ELSE ? true : condition(r, c);
        if (end == END_ELSE) {
            end = block(r, c, emit && !taken);
            if (!r->failed && end != END_END)
                fail(r, c, "#else without #end");
            return;
        }
    }
}

static void directive_foreach(render_t *r, cursor_t *c, bool emit)
{
    skip_space(c);
    if (!eat(c, "(") || (skip_space(c), !eat(c, "$"))) {
        fail(r, c, "expected #foreach($v in ...)");
        return;
    }
    strv_t name = ident(c);
    skip_space(c);
    if (!name.len || !eat(c, "in")) {
        fail(r, c, "expected #foreach($v in ...)");
        return;
    }
    json_t *list = operand(r, c);
    skip_space(c);
    if (!eat(c, ")"))
        fail(r, c, "expected ) closing #foreach");
    size_t n = emit && json_is_array(list) ? json_array_size(list) : 0;
    cursor_t body = *c;
    if (n == 0 || r->failed) {
        if (block(r, c, false) != END_END)
            fail(r, c, "#foreach without #end");
        json_decref(list);
        return;
    }
    for (size_t i = 0; i < n && !r->failed; i++) {
        if (++r->iterations > TPL_MAX_ITERATIONS) {
            fail(r, c, "too many #foreach iterations");
            break;
        }
        set_var(r, c, name, json_incref(json_array_get(list, i)));
        set_var(r, c, STRV_LIT("foreach"),
                json_pack("{s:b,s:I,s:I}", "hasNext", i + 1 < n, "index", (json_int_t)i, "count", (json_int_t)i + 1));
        *c = body;
        if (block(r, c, true) != END_END)
            fail(r, c, "#foreach without #end");
    }
    json_decref(list);
}

/* One '#' construct at c (after the '#'). Returns an END_* when it closes
 * the current block, -1 otherwise. */
static int directive(render_t *r, cursor_t *c, bool emit)
{
    bool brace = eat(c, "{");
    strv_t word = ident(c);
    if (brace && !eat(c, "}")) {
        fail(r, c, "unterminated #{...}");
        return -1;
    }
    if (strv_eq_cstr(word, "end"))
        return END_END;
    if (strv_eq_cstr(word, "else"))
        return END_ELSE;
    if (strv_eq_cstr(word, "elseif"))
        return END_ELSEIF;
    if (r->depth >= TPL_MAX_DEPTH) {
        fail(r, c, "directives nested too deeply");
        return -1;
    }
    r->depth++;
    if (strv_eq_cstr(word, "set"))
        directive_set(r, c, emit);
    else if (strv_eq_cstr(word, "if"))
        directive_if(r, c, emit);
    else if (strv_eq_cstr(word, "foreach"))
        directive_foreach(r, c, emit);
    else {
        char msg[96];
        snprintf(msg, sizeof msg, "the #%.*s directive is not supported by kyoka's template renderer",
                 (int)(word.len < 32 ? word.len : 32), word.p);
        fail(r, c, msg);
    }
    r->depth--;
    return -1;
}

/* Text, references and directives up to a closing #end/#else/#elseif or
 * the end of the template; emits only when emit. */
static int block(render_t *r, cursor_t *c, bool emit)
{
    while (c->p < c->end && !r->failed) {
        if (eat(c, "##")) {
            /* A line comment takes its newline with it, as Velocity's does. */
            while (c->p < c->end && *c->p != '\n')
                c->p++;
            eat(c, "\n");
            continue;
        }
        if (*c->p == '#' && c->p + 1 < c->end && (isalpha((unsigned char)c->p[1]) || c->p[1] == '{')) {
            c->p++;
            int end = directive(r, c, emit);
            if (end >= 0)
                return end;
            continue;
        }
        if (*c->p == '$') {
            const char *at = c->p++;
            bool known;
            json_t *v = reference(r, c, &known);
            if (!known) {
                c->p = at + 1;
                if (emit)
                    buf_appendc(r->out, '$');
            } else if (emit) {
                emit_value(r, v);
            }
            json_decref(v);
            continue;
        }
        if (emit)
            buf_appendc(r->out, *c->p);
        c->p++;
    }
    return END_EOF;
}

int agw__tpl_render(const char *tpl, const agw_tpl_ctx_t *x, buf_t *out, char *err, size_t errcap)
{
    render_t r = {.x = x, .vars = json_object(), .out = out, .err = err, .errcap = errcap, .start = tpl};
    cursor_t c = {tpl, tpl + strlen(tpl)};
    int end = block(&r, &c, true);
    if (!r.failed && end != END_EOF)
        fail(&r, &c, "#end, #else or #elseif without an opening directive");
    if (!r.failed && buf_err(out)) {
        snprintf(err, errcap, "the rendered template is too large");
        r.failed = true;
    }
    json_decref(r.vars);
    json_decref(r.body_json);
    return r.failed ? -1 : 0;
}
