/*
 * The CloudWatch Logs filter pattern language: compile a pattern once, then
 * match messages against it fast.
 *
 * The language (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html)
 * has three forms, told apart by the first non-blank character:
 *
 *   terms       ERROR "out of memory" -DEBUG ?WARN ?FATAL
 *               Case-sensitive substrings of the message. Plain terms must
 *               all appear, -terms must not, and if there are ?terms at
 *               least one of them must. A term holding anything but
 *               letters, digits and underscores is written in double
 *               quotes; kyoka also accepts other punctuation unquoted, but
 *               not the characters that are syntax elsewhere in the
 *               language, which AWS rejects as "Invalid character(s) in
 *               term".
 *   JSON        { $.level = "ERROR" && ($.ms > 100 || $.user.id = 7) }
 *               The message must be a JSON object. A selector ($.a.b[0])
 *               names one value; comparisons = != with strings (a leading
 *               or trailing * is a wildcard, as the guide says *Event and
 *               Event* match, Ev*ent only itself) and = != < > <= >= with
 *               numbers; IS NULL, NOT EXISTS, IS TRUE, IS FALSE; && binds
 *               tighter than ||; parentheses group. A selector that points
 *               at an object or array never compares true.
 *   space-      [ip, user, ..., status_code = 4*, bytes > 1000]
 *   delimited   The message splits at spaces into fields, a run between
 *               [ ] or " " counting as one field (without its delimiters).
 *               Each pattern field names one message field; "..." stands
 *               for any number of them; a field may carry conditions on
 *               its own or other named fields joined with && and ||.
 *   regex       %ERROR [0-9]{3}|timed? out%
 *               The subset of regular expressions AWS supports, on its own
 *               or as a value in the two forms above (at most two there).
 *
 * A compiled pattern is immutable: matching allocates nothing except for
 * JSON patterns (which parse the message) and messages with more than
 * LOGS_FIELDS_ON_STACK fields. The common case, one plain term, is one
 * memmem() per message.
 *
 * Thread: any (a compiled pattern is read-only).
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define LOGS_FIELDS_ON_STACK 64
#define LOGS_PATTERN_MAX_DEPTH 32 /* nested parentheses */
/* Ellipses cost O(fields^ellipses) to align when conditions fail: keep
 * both small. */
#define LOGS_PATTERN_MAX_ELLIPSES 3
#define LOGS_MAX_MESSAGE_FIELDS 1024

/* ==== compiled form ==== */

typedef enum { TERM_REQUIRED, TERM_EXCLUDED, TERM_OPTIONAL } term_kind_t;

typedef struct term {
    term_kind_t kind;
    char *s;
    size_t n;
} term_t;

typedef enum { OP_EQ, OP_NE, OP_LT, OP_GT, OP_LE, OP_GE } cmp_op_t;

/* A value to compare with: text (with wildcard flags) and, when the text
 * reads as a number, that number. */
/* ---- regular expressions (%...%) ----
 * The subset CloudWatch Logs supports
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/regex-expressions.html):
 * letters, digits and : _ # = @ / ; , - as literals; the operators ^ $ ? [ ]
 * { } | \ * + .; no parentheses, no multibyte characters. Without groups
 * every quantifier applies to one character class, so a branch is a list of
 * (class, min, max) atoms, and matching is a sweep over the message that
 * tracks which positions each atom can end at: linear in the message for
 * each atom, whatever the pattern, never backtracking. */
typedef struct rx_atom {
    uint8_t set[32]; /* the bytes this atom accepts */
    uint32_t min, max;
} rx_atom_t;

typedef struct rx_branch {
    rx_atom_t *atoms;
    size_t n;
    bool bol, eol; /* ^ at the start, $ at the end */
} rx_branch_t;

typedef struct rx {
    rx_branch_t *b;
    size_t nb;
} rx_t;

#define RX_INF UINT32_MAX
#define RX_MAX_REPEAT 1000
#define LOGS_PATTERN_MAX_REGEX 2 /* regexes in one JSON or space-delimited pattern */

typedef struct cmp_value {
    rx_t *rx;      /* the value is %regex% */
    char *s;       /* text without the wildcards */
    size_t n;
    bool lead, trail; /* "*x", "x*" */
    bool any;      /* the value is "*" alone */
    bool is_num;
    double num;
} cmp_value_t;

/* One step of a JSON selector: a member name or an array index. */
typedef struct sel_step {
    char *name; /* NULL for an index */
    size_t index;
} sel_step_t;

typedef enum { N_AND, N_OR, N_CMP, N_IS_NULL, N_NOT_EXISTS, N_IS_TRUE, N_IS_FALSE, N_EXISTS } node_kind_t;

typedef struct node {
    node_kind_t kind;
    struct node *a, *b; /* N_AND / N_OR */
    /* leaves */
    sel_step_t *steps;  /* JSON selector */
    size_t nsteps;
    int field;          /* space-delimited: index of the named field */
    cmp_op_t op;
    cmp_value_t v;
} node_t;

typedef enum { PAT_ALL, PAT_TERMS, PAT_JSON, PAT_FIELDS, PAT_REGEX } pat_kind_t;

typedef struct field {
    bool ellipsis;
    char *name; /* NULL: unnamed */
} field_t;

struct logs_pattern {
    pat_kind_t kind;
    term_t *terms;
    size_t nterms;
    size_t nrequired, noptional;
    node_t *root;       /* JSON, or the AND of every field condition */
    field_t *fields;
    size_t nfields;
    size_t nfixed;      /* fields that are not "..." */
    rx_t *rx;           /* a %regex% pattern */
};

static void rx_free(rx_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nb; i++)
        free(r->b[i].atoms);
    free(r->b);
    free(r);
}

static void node_free(node_t *n)
{
    if (!n)
        return;
    rx_free(n->v.rx);
    node_free(n->a);
    node_free(n->b);
    for (size_t i = 0; i < n->nsteps; i++)
        free(n->steps[i].name);
    free(n->steps);
    free(n->v.s);
    free(n);
}

void logs_pattern_free(logs_pattern_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nterms; i++)
        free(p->terms[i].s);
    free(p->terms);
    node_free(p->root);
    rx_free(p->rx);
    for (size_t i = 0; i < p->nfields; i++)
        free(p->fields[i].name);
    free(p->fields);
    free(p);
}

/* ==== the parser ==== */

typedef struct parser {
    const char *p, *end;
    logs_pattern_t *pat;
    char *err;
    size_t errcap;
    bool failed;
    int depth;
    int nregex;
} parser_t;

static void fail(parser_t *ps, const char *fmt, ...) KYOKA_PRINTF(2, 3);
static void fail(parser_t *ps, const char *fmt, ...)
{
    if (ps->failed)
        return;
    ps->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err, ps->errcap, fmt, ap);
    va_end(ap);
}

static void skip_ws(parser_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool at(parser_t *ps, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

/* A keyword (IS, NULL, ...) followed by a non-word character. */
static bool at_word(parser_t *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0)
        return false;
    if (ps->p + n < ps->end && (isalnum((unsigned char)ps->p[n]) || ps->p[n] == '_'))
        return false;
    return true;
}

/* A double-quoted string at ps->p (which is '"'): its content with \" and
 * \\ unescaped, malloc'd into *out. */
static bool parse_quoted(parser_t *ps, char **out, size_t *outn)
{
    ps->p++; /* opening quote */
    buf_t b;
    buf_init(&b, LOGS_MAX_FILTER_PATTERN + 1);
    while (ps->p < ps->end && *ps->p != '"') {
        if (*ps->p == '\\' && ps->p + 1 < ps->end && (ps->p[1] == '"' || ps->p[1] == '\\'))
            ps->p++;
        (void)buf_appendc(&b, *ps->p++);
    }
    if (ps->p >= ps->end) {
        buf_destroy(&b);
        fail(ps, "Invalid filter pattern: unterminated quoted string");
        return false;
    }
    ps->p++; /* closing quote */
    *out = buf_detach(&b, outn);
    return true;
}

/* Characters that are syntax elsewhere in the language and may not appear
 * in an unquoted term. */
static bool term_char_ok(unsigned char ch)
{
    return !strchr("{}[]()=!<>&|,\"*?%$", ch) && ch > ' ';
}

static bool is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }

static void add_term(logs_pattern_t *pat, term_kind_t kind, char *s, size_t n)
{
    pat->terms = xrealloc(pat->terms, (pat->nterms + 1) * sizeof *pat->terms);
    pat->terms[pat->nterms++] = (term_t){kind, s, n};
    if (kind == TERM_REQUIRED)
        pat->nrequired++;
    else if (kind == TERM_OPTIONAL)
        pat->noptional++;
}

static void parse_terms(parser_t *ps)
{
    ps->pat->kind = PAT_TERMS;
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || ps->failed)
            break;
        term_kind_t kind = TERM_REQUIRED;
        if (*ps->p == '-' || *ps->p == '?') {
            kind = *ps->p == '-' ? TERM_EXCLUDED : TERM_OPTIONAL;
            ps->p++;
            skip_ws(ps); /* the guide writes "ERROR" - "Exiting" */
            if (ps->p >= ps->end) {
                fail(ps, "Invalid filter pattern");
                break;
            }
        }
        char *s;
        size_t n;
        if (*ps->p == '"') {
            if (!parse_quoted(ps, &s, &n))
                break;
            if (n == 0) {
                free(s);
                fail(ps, "Invalid filter pattern: Invalid character(s) in term '\"\"'");
                break;
            }
        } else {
            const char *start = ps->p;
            bool bad = false;
            while (ps->p < ps->end && !is_blank(*ps->p)) {
                if (!term_char_ok((unsigned char)*ps->p))
                    bad = true;
                ps->p++;
            }
            if (bad) {
                fail(ps, "Invalid filter pattern: Invalid character(s) in term '%.*s'", (int)(ps->p - start), start);
                break;
            }
            s = xstrndup(start, (size_t)(ps->p - start));
            n = (size_t)(ps->p - start);
        }
        add_term(ps->pat, kind, s, n);
    }
}

/* ---- regular expressions ---- */

static void set_add(uint8_t *set, unsigned ch) { set[ch >> 3] |= (uint8_t)(1u << (ch & 7)); }
static bool set_has(const uint8_t *set, unsigned ch) { return set[ch >> 3] & (1u << (ch & 7)); }

static void set_escape(uint8_t *set, char e)
{
    bool neg = e == 'D' || e == 'W' || e == 'S';
    uint8_t tmp[32] = {0};
    for (unsigned ch = 0; ch < 256; ch++) {
        bool in = false;
        switch (e) {
        case 'd': case 'D': in = ch >= '0' && ch <= '9'; break;
        case 'w': case 'W': in = isalnum(ch) || ch == '_'; break;
        case 's': case 'S': in = ch == ' ' || (ch >= '\t' && ch <= '\r'); break;
        default: in = ch == (unsigned char)e; break;
        }
        if (in != neg && ch < 0x80)
            set_add(tmp, ch);
    }
    for (int i = 0; i < 32; i++)
        set[i] |= tmp[i];
}

/* Characters a regex may hold as literals, besides letters and digits. */
static bool rx_literal_ok(unsigned char ch) { return isalnum(ch) || (ch && strchr(":_#=@/;,- ", ch)); }

/* Compile the regex text p[0..n) (between the percent signs). */
static rx_t *rx_compile(parser_t *ps, const char *p, size_t n)
{
    if (++ps->nregex > LOGS_PATTERN_MAX_REGEX && ps->pat->kind != PAT_REGEX) {
        fail(ps, "Invalid filter pattern");
        return NULL;
    }
    rx_t *r = xcalloc(1, sizeof *r);
    size_t i = 0;
    for (;;) {
        r->b = xrealloc(r->b, (r->nb + 1) * sizeof *r->b);
        rx_branch_t *b = &r->b[r->nb++];
        *b = (rx_branch_t){0};
        if (i < n && p[i] == '^')
            b->bol = true, i++;
        while (i < n && p[i] != '|') {
            if (p[i] == '$' && (i + 1 == n || p[i + 1] == '|')) {
                b->eol = true;
                i++;
                break;
            }
            rx_atom_t a = {.min = 1, .max = 1};
            unsigned char ch = (unsigned char)p[i];
            if (ch == '.') {
                for (unsigned c = 1; c < 256; c++)
                    if (c != '\n')
                        set_add(a.set, c);
                i++;
            } else if (ch == '\\') {
                if (i + 1 >= n)
                    goto bad;
                set_escape(a.set, p[i + 1]);
                i += 2;
            } else if (ch == '[') {
                i++;
                bool neg = i < n && p[i] == '^';
                if (neg)
                    i++;
                uint8_t set[32] = {0};
                size_t start = i;
                while (i < n && (p[i] != ']' || i == start)) {
                    unsigned char c = (unsigned char)p[i];
                    if (c == '\\' && i + 1 < n) {
                        set_escape(set, p[i + 1]);
                        i += 2;
                        continue;
                    }
                    if (c >= 0x80)
                        goto bad;
                    if (i + 2 < n && p[i + 1] == '-' && p[i + 2] != ']') {
                        unsigned char hi = (unsigned char)p[i + 2];
                        if (hi < c || hi >= 0x80)
                            goto bad;
                        for (unsigned x = c; x <= hi; x++)
                            set_add(set, x);
                        i += 3;
                        continue;
                    }
                    set_add(set, c);
                    i++;
                }
                if (i >= n)
                    goto bad;
                i++; /* ']' */
                for (unsigned c = 1; c < 256; c++)
                    if (set_has(set, c) != neg)
                        set_add(a.set, c);
            } else if (rx_literal_ok(ch)) {
                set_add(a.set, ch);
                i++;
            } else {
                goto bad; /* (), multibyte, or a character AWS does not allow */
            }
            /* A quantifier. */
            if (i < n && (p[i] == '?' || p[i] == '*' || p[i] == '+')) {
                a.min = p[i] == '+' ? 1 : 0;
                a.max = p[i] == '?' ? 1 : RX_INF;
                i++;
            } else if (i < n && p[i] == '{') {
                size_t j = i + 1;
                uint32_t lo = 0, hi;
                if (j >= n || !isdigit((unsigned char)p[j]))
                    goto bad;
                while (j < n && isdigit((unsigned char)p[j]) && lo <= RX_MAX_REPEAT)
                    lo = lo * 10 + (uint32_t)(p[j++] - '0');
                hi = lo;
                if (j < n && p[j] == ',') {
                    j++;
                    if (j < n && isdigit((unsigned char)p[j])) {
                        hi = 0;
                        while (j < n && isdigit((unsigned char)p[j]) && hi <= RX_MAX_REPEAT)
                            hi = hi * 10 + (uint32_t)(p[j++] - '0');
                    } else {
                        hi = RX_INF;
                    }
                }
                if (j >= n || p[j] != '}' || lo > RX_MAX_REPEAT || (hi != RX_INF && (hi > RX_MAX_REPEAT || hi < lo)))
                    goto bad;
                a.min = lo;
                a.max = hi;
                i = j + 1;
            }
            if (i < n && strchr("?*+{", p[i]))
                goto bad; /* a quantifier on a quantifier */
            if (b->n >= LOGS_MAX_FILTER_PATTERN)
                goto bad;
            b->atoms = xrealloc(b->atoms, (b->n + 1) * sizeof *b->atoms);
            b->atoms[b->n++] = a;
        }
        if (b->n == 0)
            goto bad; /* an empty branch: "%%", "%a|%" */
        if (i < n && p[i] == '|') {
            i++;
            continue;
        }
        if (i < n)
            goto bad; /* something after '$' */
        break;
    }
    return r;
bad:
    rx_free(r);
    fail(ps, "Invalid filter pattern");
    return NULL;
}

static void parse_regex(parser_t *ps)
{
    ps->pat->kind = PAT_REGEX;
    const char *last = ps->end;
    while (last > ps->p && is_blank(last[-1]))
        last--;
    if (last - ps->p < 2 || last[-1] != '%') {
        fail(ps, "Invalid filter pattern");
        return;
    }
    ps->pat->rx = rx_compile(ps, ps->p + 1, (size_t)(last - ps->p - 2));
}

/* ---- values ---- */

static void value_set(cmp_value_t *v, char *text, size_t n, bool quoted)
{
    v->lead = v->trail = v->any = false;
    if (n == 1 && text[0] == '*') {
        v->any = true;
        v->s = text;
        v->n = 0;
        return;
    }
    char *s = text;
    if (n > 0 && s[0] == '*') {
        v->lead = true;
        memmove(s, s + 1, n);
        n--;
    }
    if (n > 0 && s[n - 1] == '*') {
        v->trail = true;
        s[--n] = '\0';
    }
    v->s = s;
    v->n = n;
    v->is_num = false;
    /* Numbers: an optional sign, digits with an optional fraction, an
     * optional exponent. Quoted values are strings. */
    if (!quoted && !v->lead && !v->trail && n > 0 && n < 64) {
        char tmp[64];
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        char *endp;
        errno = 0;
        double d = strtod(tmp, &endp);
        bool digits = false;
        for (size_t i = 0; i < n; i++)
            digits |= isdigit((unsigned char)tmp[i]) != 0;
        if (*endp == '\0' && errno == 0 && digits && isfinite(d) && !strpbrk(tmp, "xXnN")) {
            v->is_num = true;
            v->num = d;
        }
    }
}

/* A value after a comparison operator: quoted, or a bare word that runs to
 * a blank or to a character that ends the condition. */
static bool parse_value(parser_t *ps, cmp_value_t *v, const char *stops)
{
    skip_ws(ps);
    if (ps->p >= ps->end) {
        fail(ps, "Invalid filter pattern");
        return false;
    }
    char *s;
    size_t n;
    bool quoted = *ps->p == '"';
    if (quoted) {
        if (!parse_quoted(ps, &s, &n))
            return false;
    } else if (*ps->p == '%') {
        /* %regex%: runs to the next percent sign, whatever it holds. */
        const char *start = ps->p + 1;
        const char *close = memchr(start, '%', (size_t)(ps->end - start));
        if (!close) {
            fail(ps, "Invalid filter pattern");
            return false;
        }
        ps->p = close + 1;
        *v = (cmp_value_t){0};
        v->rx = rx_compile(ps, start, (size_t)(close - start));
        return v->rx != NULL;
    } else {
        const char *start = ps->p;
        while (ps->p < ps->end && !is_blank(*ps->p) && !strchr(stops, *ps->p) && !at(ps, "&&") && !at(ps, "||"))
            ps->p++;
        n = (size_t)(ps->p - start);
        if (n == 0) {
            fail(ps, "Invalid filter pattern");
            return false;
        }
        s = xstrndup(start, n);
    }
    value_set(v, s, n, quoted);
    return true;
}

static bool parse_op(parser_t *ps, cmp_op_t *op)
{
    skip_ws(ps);
    static const struct {
        const char *s;
        cmp_op_t op;
    } ops[] = {{"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE}, {"=", OP_EQ}, {"<", OP_LT}, {">", OP_GT}};
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(ops); i++)
        if (at(ps, ops[i].s)) {
            ps->p += strlen(ops[i].s);
            *op = ops[i].op;
            return true;
        }
    return false;
}

/* Relational operators need a number on the right. */
static bool check_operands(parser_t *ps, const node_t *n)
{
    if ((n->op == OP_LT || n->op == OP_GT || n->op == OP_LE || n->op == OP_GE) && !n->v.is_num) {
        fail(ps, "Invalid filter pattern");
        return false;
    }
    if (n->v.rx && n->op != OP_EQ && n->op != OP_NE) {
        fail(ps, "Invalid filter pattern");
        return false;
    }
    return true;
}

/* ---- JSON patterns ---- */

static node_t *json_or(parser_t *ps);

static bool parse_selector(parser_t *ps, node_t *n)
{
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != '$') {
        fail(ps, "Invalid filter pattern");
        return false;
    }
    ps->p++;
    bool any = false;
    while (ps->p < ps->end && (*ps->p == '.' || *ps->p == '[')) {
        n->steps = xrealloc(n->steps, (n->nsteps + 1) * sizeof *n->steps);
        sel_step_t *st = &n->steps[n->nsteps];
        if (*ps->p == '.') {
            ps->p++;
            const char *start = ps->p;
            /* Property selectors are alphanumeric with '-' and '_'. */
            while (ps->p < ps->end && (isalnum((unsigned char)*ps->p) || *ps->p == '-' || *ps->p == '_' ||
                                       (unsigned char)*ps->p >= 0x80))
                ps->p++;
            if (ps->p == start) {
                fail(ps, "Invalid filter pattern");
                return false;
            }
            st->name = xstrndup(start, (size_t)(ps->p - start));
        } else {
            ps->p++;
            const char *start = ps->p;
            size_t idx = 0;
            while (ps->p < ps->end && isdigit((unsigned char)*ps->p) && idx < 1000000)
                idx = idx * 10 + (size_t)(*ps->p++ - '0');
            if (ps->p == start || ps->p >= ps->end || *ps->p != ']') {
                fail(ps, "Invalid filter pattern");
                return false;
            }
            ps->p++;
            st->name = NULL;
            st->index = idx;
        }
        n->nsteps++;
        any = true;
    }
    if (!any) {
        fail(ps, "Invalid filter pattern");
        return false;
    }
    return true;
}

static node_t *json_cond(parser_t *ps)
{
    node_t *n = xcalloc(1, sizeof *n);
    if (!parse_selector(ps, n))
        goto bad;
    skip_ws(ps);
    if (at_word(ps, "IS")) {
        ps->p += 2;
        skip_ws(ps);
        if (at_word(ps, "NULL"))
            n->kind = N_IS_NULL, ps->p += 4;
        else if (at_word(ps, "TRUE"))
            n->kind = N_IS_TRUE, ps->p += 4;
        else if (at_word(ps, "FALSE"))
            n->kind = N_IS_FALSE, ps->p += 5;
        else {
            fail(ps, "Invalid filter pattern");
            goto bad;
        }
        return n;
    }
    if (at_word(ps, "NOT")) {
        ps->p += 3;
        skip_ws(ps);
        if (!at_word(ps, "EXISTS")) {
            fail(ps, "Invalid filter pattern");
            goto bad;
        }
        ps->p += 6;
        n->kind = N_NOT_EXISTS;
        return n;
    }
    if (at_word(ps, "EXISTS")) {
        ps->p += 6;
        n->kind = N_EXISTS;
        return n;
    }
    n->kind = N_CMP;
    if (!parse_op(ps, &n->op)) {
        fail(ps, "Invalid filter pattern");
        goto bad;
    }
    if (!parse_value(ps, &n->v, "(){}") || !check_operands(ps, n))
        goto bad;
    return n;
bad:
    node_free(n);
    return NULL;
}

static node_t *json_unary(parser_t *ps)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '(') {
        if (++ps->depth > LOGS_PATTERN_MAX_DEPTH) {
            fail(ps, "Invalid filter pattern");
            return NULL;
        }
        ps->p++;
        node_t *n = json_or(ps);
        skip_ws(ps);
        if (!n || ps->p >= ps->end || *ps->p != ')') {
            node_free(n);
            fail(ps, "Invalid filter pattern");
            return NULL;
        }
        ps->p++;
        ps->depth--;
        return n;
    }
    return json_cond(ps);
}

static node_t *join(node_kind_t kind, node_t *a, node_t *b)
{
    node_t *n = xcalloc(1, sizeof *n);
    n->kind = kind;
    n->a = a;
    n->b = b;
    return n;
}

static node_t *json_and(parser_t *ps)
{
    node_t *n = json_unary(ps);
    while (n) {
        skip_ws(ps);
        if (!at(ps, "&&"))
            break;
        ps->p += 2;
        node_t *r = json_unary(ps);
        if (!r) {
            node_free(n);
            return NULL;
        }
        n = join(N_AND, n, r);
    }
    return n;
}

static node_t *json_or(parser_t *ps)
{
    node_t *n = json_and(ps);
    while (n) {
        skip_ws(ps);
        if (!at(ps, "||"))
            break;
        ps->p += 2;
        node_t *r = json_and(ps);
        if (!r) {
            node_free(n);
            return NULL;
        }
        n = join(N_OR, n, r);
    }
    return n;
}

static void parse_json(parser_t *ps)
{
    ps->pat->kind = PAT_JSON;
    /* The guide's own message for an unclosed JSON pattern. */
    const char *last = ps->end;
    while (last > ps->p && is_blank(last[-1]))
        last--;
    if (last[-1] != '}') {
        fail(ps, "If a filter pattern starts with '{' it must end with '}'");
        return;
    }
    ps->end = last - 1;
    ps->p++; /* '{' */
    ps->pat->root = json_or(ps);
    skip_ws(ps);
    if (!ps->failed && (!ps->pat->root || ps->p != ps->end))
        fail(ps, "Invalid filter pattern");
}

/* ---- space-delimited patterns ---- */

static int field_index(const logs_pattern_t *pat, const char *name, size_t n)
{
    for (size_t i = 0; i < pat->nfields; i++)
        if (pat->fields[i].name && strlen(pat->fields[i].name) == n && memcmp(pat->fields[i].name, name, n) == 0)
            return (int)i;
    return -1;
}

static bool field_name_char(unsigned char ch) { return isalnum(ch) || ch == '_' || ch == '-' || ch == '.' || ch >= 0x80; }

/* name OP value, where name is a field already declared or the one being
 * declared (self). */
static node_t *fields_cond(parser_t *ps, int self)
{
    skip_ws(ps);
    const char *start = ps->p;
    while (ps->p < ps->end && field_name_char((unsigned char)*ps->p))
        ps->p++;
    node_t *n = xcalloc(1, sizeof *n);
    n->kind = N_CMP;
    if (ps->p == start) {
        /* "[=ERROR, ...]": a condition on the field itself, unnamed. */
        n->field = self;
    } else {
        n->field = field_index(ps->pat, start, (size_t)(ps->p - start));
        if (n->field < 0) {
            fail(ps, "Invalid filter pattern");
            node_free(n);
            return NULL;
        }
    }
    if (!parse_op(ps, &n->op) || !parse_value(ps, &n->v, ",]") || !check_operands(ps, n)) {
        fail(ps, "Invalid filter pattern");
        node_free(n);
        return NULL;
    }
    return n;
}

static node_t *fields_and(parser_t *ps, int self)
{
    node_t *n = fields_cond(ps, self);
    while (n) {
        skip_ws(ps);
        if (!at(ps, "&&"))
            break;
        ps->p += 2;
        node_t *r = fields_cond(ps, self);
        if (!r) {
            node_free(n);
            return NULL;
        }
        n = join(N_AND, n, r);
    }
    return n;
}

static node_t *fields_or(parser_t *ps, int self)
{
    node_t *n = fields_and(ps, self);
    while (n) {
        skip_ws(ps);
        if (!at(ps, "||"))
            break;
        ps->p += 2;
        node_t *r = fields_and(ps, self);
        if (!r) {
            node_free(n);
            return NULL;
        }
        n = join(N_OR, n, r);
    }
    return n;
}

static void parse_fields(parser_t *ps)
{
    logs_pattern_t *pat = ps->pat;
    pat->kind = PAT_FIELDS;
    const char *last = ps->end;
    while (last > ps->p && is_blank(last[-1]))
        last--;
    if (last[-1] != ']') {
        fail(ps, "If a filter pattern starts with '[' it must end with ']'");
        return;
    }
    ps->end = last - 1;
    ps->p++; /* '[' */
    size_t ellipses = 0;
    bool after_comma = false;
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end && !after_comma)
            break;
        if (pat->nfields >= LOGS_MAX_FILTER_FIELDS) {
            fail(ps, "Invalid filter pattern");
            return;
        }
        pat->fields = xrealloc(pat->fields, (pat->nfields + 1) * sizeof *pat->fields);
        field_t *f = &pat->fields[pat->nfields];
        *f = (field_t){0};
        int self = (int)pat->nfields;
        if (ps->p >= ps->end || *ps->p == ',') {
            /* An empty slot, as in the guide's "[..., status_code=4*,]",
             * stands for one field with no name and no condition. */
            pat->nfields++;
            pat->nfixed++;
        } else if (at(ps, "...")) {
            ps->p += 3;
            f->ellipsis = true;
            pat->nfields++;
            if (++ellipses > LOGS_PATTERN_MAX_ELLIPSES) {
                fail(ps, "Invalid filter pattern");
                return;
            }
        } else {
            const char *start = ps->p;
            while (ps->p < ps->end && field_name_char((unsigned char)*ps->p))
                ps->p++;
            if (ps->p > start)
                f->name = xstrndup(start, (size_t)(ps->p - start));
            pat->nfields++;
            pat->nfixed++;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p != ',') {
                /* Conditions: rewind so the first one reads the name again. */
                ps->p = start;
                node_t *c = fields_or(ps, self);
                if (!c)
                    return;
                pat->root = pat->root ? join(N_AND, pat->root, c) : c;
            }
        }
        skip_ws(ps);
        if (ps->p >= ps->end)
            break;
        if (*ps->p != ',') {
            fail(ps, "Invalid filter pattern");
            return;
        }
        ps->p++;
        after_comma = true;
    }
    if (pat->nfields == 0)
        fail(ps, "Invalid filter pattern");
}

int logs_pattern_compile(const char *text, size_t len, logs_pattern_t **out, char *err, size_t errcap)
{
    *out = NULL;
    if (len > LOGS_MAX_FILTER_PATTERN) {
        snprintf(err, errcap, "Invalid filter pattern");
        return KYOKA_EINVAL;
    }
    parser_t ps = {.p = text, .end = text + len, .err = err, .errcap = errcap};
    ps.pat = xcalloc(1, sizeof *ps.pat);
    skip_ws(&ps);
    if (ps.p >= ps.end)
        ps.pat->kind = PAT_ALL;
    else if (*ps.p == '{')
        parse_json(&ps);
    else if (*ps.p == '[')
        parse_fields(&ps);
    else if (*ps.p == '%')
        parse_regex(&ps);
    else
        parse_terms(&ps);
    if (!ps.failed && ps.pat->kind == PAT_TERMS && ps.pat->nterms == 0)
        ps.pat->kind = PAT_ALL;
    if (ps.failed) {
        logs_pattern_free(ps.pat);
        return KYOKA_EINVAL;
    }
    *out = ps.pat;
    return 0;
}

bool logs_pattern_matches_all(const logs_pattern_t *p) { return !p || p->kind == PAT_ALL; }

/* ==== matching ==== */

static bool contains(const char *msg, size_t len, const char *s, size_t n)
{
    return n <= len && memmem(msg, len, s, n) != NULL;
}

static bool match_terms(const logs_pattern_t *p, const char *msg, size_t len)
{
    bool any_optional = false;
    for (size_t i = 0; i < p->nterms; i++) {
        const term_t *t = &p->terms[i];
        switch (t->kind) {
        case TERM_REQUIRED:
            if (!contains(msg, len, t->s, t->n))
                return false;
            break;
        case TERM_EXCLUDED:
            if (contains(msg, len, t->s, t->n))
                return false;
            break;
        case TERM_OPTIONAL:
            if (!any_optional && contains(msg, len, t->s, t->n))
                any_optional = true;
            break;
        }
    }
    return p->noptional == 0 || any_optional;
}

/* ---- regular expressions ---- */

static bool rx_branch_search(const rx_branch_t *b, const unsigned char *s, size_t n, uint8_t *cur, uint8_t *next,
                             uint32_t *run, int32_t *diff)
{
    /* cur[p]: some match of the atoms so far ends at p. */
    for (size_t p = 0; p <= n; p++)
        cur[p] = b->bol ? p == 0 : 1;
    for (size_t ai = 0; ai < b->n; ai++) {
        const rx_atom_t *a = &b->atoms[ai];
        run[n] = 0;
        for (size_t p = n; p-- > 0;)
            run[p] = set_has(a->set, s[p]) ? run[p + 1] + 1 : 0;
        memset(diff, 0, (n + 2) * sizeof *diff);
        bool any = false;
        for (size_t p = 0; p <= n; p++) {
            if (!cur[p] || run[p] < a->min)
                continue;
            size_t lo = p + a->min;
            size_t hi = p + (run[p] < a->max ? run[p] : a->max);
            diff[lo]++;
            diff[hi + 1]--;
            any = true;
        }
        if (!any)
            return false;
        int32_t acc = 0;
        for (size_t p = 0; p <= n; p++) {
            acc += diff[p];
            next[p] = acc > 0;
        }
        uint8_t *t = cur;
        cur = next;
        next = t;
    }
    if (b->eol)
        return cur[n];
    for (size_t p = 0; p <= n; p++)
        if (cur[p])
            return true;
    return false;
}

static bool rx_search(const rx_t *r, const char *msg, size_t n)
{
    enum { STACK = 1024 };
    uint8_t cur_s[STACK + 1], next_s[STACK + 1];
    uint32_t run_s[STACK + 1];
    int32_t diff_s[STACK + 2];
    uint8_t *cur = cur_s, *next = next_s;
    uint32_t *run = run_s;
    int32_t *diff = diff_s;
    if (n > STACK) {
        cur = xmalloc(n + 1);
        next = xmalloc(n + 1);
        run = xmalloc((n + 1) * sizeof *run);
        diff = xmalloc((n + 2) * sizeof *diff);
    }
    bool ok = false;
    for (size_t i = 0; i < r->nb && !ok; i++)
        ok = rx_branch_search(&r->b[i], (const unsigned char *)msg, n, cur, next, run, diff);
    if (n > STACK) {
        free(cur);
        free(next);
        free(run);
        free(diff);
    }
    return ok;
}

/* Text against a value with its wildcards. */
static bool text_eq(const cmp_value_t *v, const char *s, size_t n)
{
    if (v->rx)
        return rx_search(v->rx, s, n);
    if (v->any)
        return true;
    if (v->lead && v->trail)
        return contains(s, n, v->s, v->n);
    if (v->lead)
        return n >= v->n && memcmp(s + n - v->n, v->s, v->n) == 0;
    if (v->trail)
        return n >= v->n && memcmp(s, v->s, v->n) == 0;
    return n == v->n && memcmp(s, v->s, n) == 0;
}

static bool num_cmp(cmp_op_t op, double a, double b)
{
    switch (op) {
    case OP_EQ: return a == b;
    case OP_NE: return a != b;
    case OP_LT: return a < b;
    case OP_GT: return a > b;
    case OP_LE: return a <= b;
    case OP_GE: return a >= b;
    }
    return false;
}

/* A comparison on a scalar given as text, and as a number when it is one. */
static bool cmp_scalar(const node_t *n, const char *s, size_t len, bool is_num, double num)
{
    bool relational = n->op != OP_EQ && n->op != OP_NE;
    if (relational)
        return is_num && num_cmp(n->op, num, n->v.num);
    bool eq;
    if (n->v.is_num && is_num)
        eq = num == n->v.num;
    else
        eq = text_eq(&n->v, s, len);
    return n->op == OP_EQ ? eq : !eq;
}

static bool parse_number(const char *s, size_t n, double *out)
{
    if (n == 0 || n >= 64)
        return false;
    char tmp[64];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (!isdigit((unsigned char)tmp[0]) && tmp[0] != '-' && tmp[0] != '+' && tmp[0] != '.')
        return false;
    char *endp;
    errno = 0;
    double d = strtod(tmp, &endp);
    if (*endp != '\0' || errno != 0 || !isfinite(d))
        return false;
    *out = d;
    return true;
}

static json_t *select_value(json_t *root, const node_t *n)
{
    json_t *v = root;
    for (size_t i = 0; i < n->nsteps && v; i++) {
        const sel_step_t *st = &n->steps[i];
        if (st->name)
            v = json_is_object(v) ? json_object_get(v, st->name) : NULL;
        else
            v = json_is_array(v) ? json_array_get(v, st->index) : NULL;
    }
    return v;
}

static bool eval_json(const node_t *n, json_t *root)
{
    switch (n->kind) {
    case N_AND:
        return eval_json(n->a, root) && eval_json(n->b, root);
    case N_OR:
        return eval_json(n->a, root) || eval_json(n->b, root);
    default:
        break;
    }
    json_t *v = select_value(root, n);
    switch (n->kind) {
    case N_NOT_EXISTS:
        return v == NULL;
    case N_EXISTS:
        return v != NULL;
    case N_IS_NULL:
        return v && json_is_null(v);
    case N_IS_TRUE:
        return v && json_is_true(v);
    case N_IS_FALSE:
        return v && json_is_false(v);
    case N_CMP:
        break;
    default:
        return false;
    }
    if (!v || json_is_object(v) || json_is_array(v) || json_is_null(v))
        return false;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        double d = 0;
        bool num = parse_number(s, len, &d);
        /* A relational comparison reads numbers only from JSON numbers. */
        if (n->op != OP_EQ && n->op != OP_NE)
            return false;
        return cmp_scalar(n, s, len, num && n->v.is_num, d);
    }
    if (json_is_boolean(v)) {
        const char *s = json_is_true(v) ? "true" : "false";
        return cmp_scalar(n, s, strlen(s), false, 0);
    }
    double d = json_number_value(v);
    char text[64];
    int tn = json_is_integer(v) ? snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v))
                                : snprintf(text, sizeof text, "%.17g", d);
    return cmp_scalar(n, text, (size_t)(tn > 0 ? tn : 0), true, d);
}

static bool match_json(const logs_pattern_t *p, const char *msg, size_t len)
{
    /* Only JSON objects can match: skip the parse for everything else. */
    size_t i = 0;
    while (i < len && is_blank(msg[i]))
        i++;
    if (i >= len || msg[i] != '{')
        return false;
    json_t *root = json_loadb(msg, len, JSON_ALLOW_NUL, NULL);
    if (!root)
        return false;
    bool ok = json_is_object(root) && eval_json(p->root, root);
    json_decref(root);
    return ok;
}

/* ---- space-delimited ---- */

typedef struct span {
    const char *p;
    size_t n;
} span_t;

/* Split msg into fields; returns the count (may exceed cap: then only the
 * first cap are stored and the caller retries with more room). */
static size_t split_fields(const char *msg, size_t len, span_t *out, size_t cap)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && (msg[i] == ' ' || msg[i] == '\t'))
            i++;
        if (i >= len)
            break;
        const char *start;
        size_t flen;
        if (msg[i] == '[' || msg[i] == '"') {
            char close = msg[i] == '[' ? ']' : '"';
            const char *e = memchr(msg + i + 1, close, len - i - 1);
            if (e) {
                start = msg + i + 1;
                flen = (size_t)(e - start);
                i = (size_t)(e - msg) + 1;
            } else {
                start = msg + i;
                flen = len - i;
                i = len;
            }
        } else {
            size_t s = i;
            while (i < len && msg[i] != ' ' && msg[i] != '\t')
                i++;
            start = msg + s;
            flen = i - s;
        }
        if (n < cap)
            out[n] = (span_t){start, flen};
        n++;
    }
    return n;
}

static bool eval_fields(const node_t *n, const span_t *bound)
{
    switch (n->kind) {
    case N_AND:
        return eval_fields(n->a, bound) && eval_fields(n->b, bound);
    case N_OR:
        return eval_fields(n->a, bound) || eval_fields(n->b, bound);
    default:
        break;
    }
    const span_t *f = &bound[n->field];
    if (!f->p)
        return false;
    double d = 0;
    bool num = parse_number(f->p, f->n, &d);
    return cmp_scalar(n, f->p, f->n, num, d);
}

/* Bind pattern fields [pi..] to message fields [mi..], trying every way the
 * ellipses can stretch, and evaluate the conditions on each binding. */
static bool align(const logs_pattern_t *p, size_t pi, const span_t *msgf, size_t mi, size_t mn, span_t *bound,
                  size_t fixed_left)
{
    if (pi == p->nfields)
        return mi == mn && (!p->root || eval_fields(p->root, bound));
    const field_t *f = &p->fields[pi];
    if (!f->ellipsis) {
        if (mi >= mn)
            return false;
        bound[pi] = msgf[mi];
        return align(p, pi + 1, msgf, mi + 1, mn, bound, fixed_left - 1);
    }
    bound[pi] = (span_t){NULL, 0};
    /* The ellipsis takes k fields, leaving enough for the fixed ones. */
    for (size_t k = 0; mi + k + fixed_left <= mn; k++)
        if (align(p, pi + 1, msgf, mi + k, mn, bound, fixed_left))
            return true;
    return false;
}

static bool match_fields(const logs_pattern_t *p, const char *msg, size_t len)
{
    span_t stack[LOGS_FIELDS_ON_STACK], bound_stack[LOGS_FIELDS_ON_STACK];
    span_t *f = stack;
    size_t n = split_fields(msg, len, stack, LOGS_FIELDS_ON_STACK);
    if (n < p->nfixed || (n > p->nfixed && p->nfixed == p->nfields) || n > LOGS_MAX_MESSAGE_FIELDS)
        return false;
    if (n > LOGS_FIELDS_ON_STACK) {
        f = xmalloc(n * sizeof *f);
        split_fields(msg, len, f, n);
    }
    span_t *bound = p->nfields <= LOGS_FIELDS_ON_STACK ? bound_stack : xmalloc(p->nfields * sizeof *bound);
    bool ok = align(p, 0, f, 0, n, bound, p->nfixed);
    if (f != stack)
        free(f);
    if (bound != bound_stack)
        free(bound);
    return ok;
}

bool logs_pattern_match(const logs_pattern_t *p, const char *msg, size_t len)
{
    if (!p)
        return true;
    switch (p->kind) {
    case PAT_ALL:
        return true;
    case PAT_TERMS:
        if (p->nterms == 1 && p->terms[0].kind == TERM_REQUIRED)
            return contains(msg, len, p->terms[0].s, p->terms[0].n);
        return match_terms(p, msg, len);
    case PAT_JSON:
        return match_json(p, msg, len);
    case PAT_FIELDS:
        return match_fields(p, msg, len);
    case PAT_REGEX:
        return rx_search(p->rx, msg, len);
    }
    return false;
}
