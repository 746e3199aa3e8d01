/* JSON 1.0/1.1 protocol output and error shapes, error-code resolution
 * against the model, and input validation against the input shape.
 *
 * Validation has two voices. The query and JSON services keep kyoka's
 * first-problem MissingParameter / InvalidParameterValue answers. Services
 * whose model names a validation_error (rest-json: Lambda) answer as AWS's
 * Coral front ends do: every constraint violation in one message,
 *   "2 validation errors detected: Value 'x' at 'runtime' failed to satisfy
 *    constraint: Member must satisfy enum value set: [...]; Value null at
 *    'role' failed to satisfy constraint: Member must not be null"
 * which needs the models' regex patterns, hence the small matcher at the end
 * of this file. */
#include "protocol.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int append_to_buf(const char *p, size_t n, void *data) { return buf_append(data, p, n) ? -1 : 0; }

int proto_json_dump_buf(const json_t *j, size_t flags, buf_t *out)
{
    if (json_dump_callback(j, append_to_buf, out, flags) != 0)
        return buf_err(out) ? buf_err(out) : KYOKA_EINVAL;
    return buf_err(out);
}

char *proto_json_dumps(const json_t *j, size_t flags)
{
    buf_t b;
    buf_init(&b, SIZE_MAX);
    if (proto_json_dump_buf(j, flags, &b) != 0) {
        buf_destroy(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

void proto_json_use_small_alloc(void)
{
#if !defined(__SANITIZE_ADDRESS__)
    json_set_alloc_funcs(kyoka_small_alloc, kyoka_small_free);
#endif
}

int proto_json_encode(json_t *output, buf_t *out)
{
    if (!output) {
        buf_appends(out, "{}");
        return buf_err(out);
    }
    return proto_json_dump_buf(output, JSON_COMPACT | JSON_ENSURE_ASCII, out);
}

static const model_shape_t *error_shape(const model_service_t *svc, const char *code)
{
    if (!svc || !code)
        return NULL;
    int i = model_shape_lookup(svc, code);
    if (i < 0 || svc->shapes[i].error_status == 0)
        return NULL;
    return &svc->shapes[i];
}

const char *proto_error_wire_code(const model_service_t *svc, const aws_error_t *err, proto_kind_t proto)
{
    const model_shape_t *s = error_shape(svc, err->code);
    /* The query protocol spells modelled errors by their awsQueryError code
     * ("AWS.SimpleQueueService.NonExistentQueue"); JSON uses the shape name. */
    if (s && s->error_code && proto == PROTO_QUERY)
        return s->error_code;
    return err->code;
}

int proto_json_encode_error(const model_service_t *svc, const aws_error_t *err, arena_t *a, buf_t *out,
                            const char **query_error_header)
{
    const model_shape_t *s = error_shape(svc, err->code);
    json_t *o = json_object();
    const char *prefix = svc && svc->error_prefix ? svc->error_prefix : "";
    char type[256];
    snprintf(type, sizeof type, "%s%s", prefix, err->code);
    json_object_set_new(o, "__type", json_string(type));
    json_object_set_new(o, "message", json_string(aws_error_text(err)));
    int rc = proto_json_encode(o, out);
    json_decref(o);
    *query_error_header = NULL;
    if (svc && svc->query_compatible) {
        const char *qcode = s && s->error_code ? s->error_code : err->code;
        *query_error_header = arena_sprintf(a, "%s;%s", qcode, err->sender ? "Sender" : "Receiver");
    }
    return rc;
}

/* Replace every byte of s that is not part of a well-formed UTF-8
 * sequence (a value echoed into a message, a message cut mid-character)
 * with '?', so the message can become a JSON string. */
void proto__utf8_scrub(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int k = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        bool ok = k > 0;
        uint32_t cp = k <= 1 ? *p : *p & (0x3F >> (k - 1));
        for (int i = 1; ok && i < k; i++) {
            ok = (p[i] & 0xC0) == 0x80;
            cp = cp << 6 | (p[i] & 0x3F);
        }
        /* Overlong forms, surrogates and code points past U+10FFFF are not
         * UTF-8 either (jansson refuses them). */
        if (ok && ((k == 2 && cp < 0x80) || (k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
                   (k == 4 && (cp < 0x10000 || cp > 0x10FFFF))))
            ok = false;
        if (!ok) {
            *p++ = '?';
            continue;
        }
        p += k;
    }
}

/* ---- validation ---- */

static void set_err(aws_error_t *err, const char *code, const char *fmt, const char *a, const char *b)
{
    if (err->code)
        return;
    err->code = code;
    err->status = 400;
    err->sender = true;
    snprintf(err->message, sizeof err->message, fmt, a, b ? b : "");
}

static bool validate_value(const model_service_t *svc, int shape, json_t *v, const char *name, aws_error_t *err,
                           int depth);

static bool validate_structure(const model_service_t *svc, const model_shape_t *s, json_t *v, aws_error_t *err,
                               int depth)
{
    if (!json_is_object(v)) {
        set_err(err, "SerializationException", "Start of structure or map found where not expected%s%s", "", "");
        return false;
    }
    for (int i = 0; i < s->nmembers; i++) {
        const model_member_t *m = &s->members[i];
        json_t *mv = json_object_get(v, m->name);
        if (!mv || json_is_null(mv)) {
            if (m->required) {
                set_err(err, "MissingParameter", "The request must contain the parameter %s.%s", m->name, "");
                return false;
            }
            continue;
        }
        if (!validate_value(svc, m->shape, mv, m->name, err, depth + 1))
            return false;
    }
    return true;
}

static bool validate_value(const model_service_t *svc, int shape, json_t *v, const char *name, aws_error_t *err,
                           int depth)
{
    const model_shape_t *s = &svc->shapes[shape];
    if (depth > 32)
        return true;
    switch (s->type) {
    case SHAPE_STRUCTURE:
        return validate_structure(svc, s, v, err, depth);
    case SHAPE_LIST: {
        if (!json_is_array(v)) {
            set_err(err, "SerializationException", "Expected list or null for parameter %s%s", name, "");
            return false;
        }
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++)
            if (!validate_value(svc, s->members[0].shape, json_array_get(v, i), name, err, depth + 1))
                return false;
        return true;
    }
    case SHAPE_MAP: {
        if (!json_is_object(v)) {
            set_err(err, "SerializationException", "Expected map or null for parameter %s%s", name, "");
            return false;
        }
        const char *k;
        json_t *mv;
        json_object_foreach(v, k, mv) if (!validate_value(svc, s->members[1].shape, mv, name, err, depth + 1)) return false;
        return true;
    }
    case SHAPE_STRING:
    case SHAPE_BLOB:
        if (!json_is_string(v)) {
            set_err(err, "SerializationException", "STRING_VALUE can not be converted to %s%s",
                    "String", "");
            return false;
        }
        return true;
    case SHAPE_TIMESTAMP:
        if (!json_is_string(v) && !json_is_number(v)) {
            set_err(err, "SerializationException", "Invalid timestamp for parameter %s%s", name, "");
            return false;
        }
        return true;
    case SHAPE_BOOLEAN:
        if (!json_is_boolean(v)) {
            set_err(err, "SerializationException", "Expected boolean for parameter %s%s", name, "");
            return false;
        }
        return true;
    case SHAPE_INTEGER:
    case SHAPE_LONG:
        if (!json_is_integer(v)) {
            set_err(err, "SerializationException", "Expected integer for parameter %s%s", name, "");
            return false;
        }
        return true;
    case SHAPE_DOUBLE:
    case SHAPE_FLOAT:
        if (!json_is_number(v)) {
            set_err(err, "SerializationException", "Expected number for parameter %s%s", name, "");
            return false;
        }
        return true;
    }
    return true;
}

static bool validate_aws_style(const model_service_t *svc, const model_shape_t *s, json_t *input, aws_error_t *err);

bool proto_validate_input(const model_service_t *svc, const model_op_t *op, json_t *input, aws_error_t *err)
{
    if (op->input < 0)
        return true;
    if (svc->validation_error)
        return validate_aws_style(svc, &svc->shapes[op->input], input, err);
    return validate_structure(svc, &svc->shapes[op->input], input, err, 0);
}

int proto_rest_json_encode_error(const aws_error_t *err, buf_t *out)
{
    json_t *o = json_pack("{s:s,s:s}", "Type", err->sender ? "User" : "Service", "message", aws_error_text(err));
    if (err->reason)
        json_object_set_new(o, "Reason", json_string(err->reason));
    int rc = proto_json_encode(o, out);
    json_decref(o);
    return rc;
}

/* ---- patterns: the Java regex subset the botocore models use ----
 *
 * AWS validates against Java regexes with Pattern.matches semantics (the
 * whole value must match). Lambda's patterns use groups, alternation,
 * classes with ranges and \d \s \w escapes, greedy quantifiers including
 * {n,m}, ^ and $, and lookarounds ("(?!^[0-9]+$)", "(?<!\.)"). The pattern is
 * parsed into a tree, compiled to a small program and run as a Pike VM (a
 * breadth-first NFA simulation), so matching is linear in the value times
 * the program, with no backtracking blow-up on hostile input. Lookarounds
 * run a nested simulation at the position. A pattern outside the subset
 * (flags, backreferences, \b) or too large answers "unknown" and the check
 * is skipped: validation is AWS fidelity, not a security boundary. */

#define RX_MAX_NODES 512
#define RX_MAX_INST 1024
#define RX_MAX_ITEMS 256
#define RX_MAX_CLASSES 64
#define RX_MAX_REPEAT 64 /* largest {n,m} bound expanded (Lambda: 40) */
#define RX_MAX_LOOK_DEPTH 4
#define RX_MAX_BEHIND 256 /* bytes a lookbehind may reach back */

enum { RXN_EMPTY, RXN_CHAR, RXN_ANY, RXN_CLASS, RXN_BOL, RXN_EOL, RXN_CAT, RXN_ALT, RXN_REP, RXN_LOOK };
enum { RXI_CHAR, RXI_ANY, RXI_CLASS, RXI_SPLIT, RXI_JMP, RXI_BOL, RXI_EOL, RXI_LOOK, RXI_MATCH };
enum { RXC_RANGE, RXC_DIGIT, RXC_SPACE, RXC_WORD, RXC_LETTER, RXC_NUMBER, RXC_SEPARATOR, RXC_ANY };

typedef struct rx_node {
    uint8_t kind;
    bool neg, behind;  /* RXN_LOOK */
    int a, b;          /* children (CAT, ALT; REP and LOOK use a) */
    int min, max;      /* RXN_REP; max -1 = unbounded */
    uint32_t c;        /* RXN_CHAR code point, RXN_CLASS class index */
} rx_node_t;

typedef struct rx_inst {
    uint8_t op;
    bool neg, behind; /* RXI_LOOK */
    int x, y;         /* SPLIT: both targets; JMP: x; LOOK: y = continuation, sub-program at pc+1 */
    uint32_t c;       /* CHAR code point, CLASS index */
} rx_inst_t;

typedef struct rx_item {
    uint8_t kind;
    bool neg;         /* \D \S \W \P{..} */
    uint32_t lo, hi;  /* RXC_RANGE */
} rx_item_t;

typedef struct rx_class {
    int first, n;
    bool neg;
} rx_class_t;

typedef struct rx {
    const char *p;
    size_t i, n;
    bool bad;
    rx_node_t nodes[RX_MAX_NODES];
    int nn;
    rx_item_t items[RX_MAX_ITEMS];
    int ni;
    rx_class_t classes[RX_MAX_CLASSES];
    int nc;
    rx_inst_t prog[RX_MAX_INST];
    int np;
} rx_t;

static uint32_t utf8_next(const char *s, size_t n, size_t *len)
{
    unsigned char c = (unsigned char)s[0];
    int k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (k == 1 || (size_t)k > n) {
        *len = 1;
        return c;
    }
    uint32_t cp = c & (0x3F >> (k - 1));
    for (int i = 1; i < k; i++)
        cp = cp << 6 | ((unsigned char)s[i] & 0x3F);
    *len = (size_t)k;
    return cp;
}

static int rx_add_node(rx_t *r, rx_node_t n)
{
    if (r->nn == RX_MAX_NODES) {
        r->bad = true;
        return 0;
    }
    r->nodes[r->nn] = n;
    return r->nn++;
}

static void rx_add_item(rx_t *r, uint8_t kind, bool neg, uint32_t lo, uint32_t hi)
{
    if (r->ni == RX_MAX_ITEMS) {
        r->bad = true;
        return;
    }
    r->items[r->ni++] = (rx_item_t){kind, neg, lo, hi};
}

static bool rx_peek(const rx_t *r, char c) { return r->i < r->n && r->p[r->i] == c; }

/* After a backslash: a class escape (\d \p{L} ...) as an item, returning
 * true, or a literal code point in *cp, returning false. */
static bool rx_escape(rx_t *r, uint32_t *cp)
{
    if (r->i >= r->n) {
        r->bad = true;
        return false;
    }
    char e = r->p[r->i++];
    switch (e) {
    case 'd': case 'D': rx_add_item(r, RXC_DIGIT, e == 'D', 0, 0); return true;
    case 's': case 'S': rx_add_item(r, RXC_SPACE, e == 'S', 0, 0); return true;
    case 'w': case 'W': rx_add_item(r, RXC_WORD, e == 'W', 0, 0); return true;
    case 'p': case 'P': {
        char name[32];
        size_t nl = 0;
        if (rx_peek(r, '{')) {
            r->i++;
            while (r->i < r->n && r->p[r->i] != '}' && nl + 1 < sizeof name)
                name[nl++] = r->p[r->i++];
            if (!rx_peek(r, '}')) {
                r->bad = true;
                return false;
            }
            r->i++;
        } else if (r->i < r->n) {
            name[nl++] = r->p[r->i++];
        }
        name[nl] = '\0';
        const char *nm = strncmp(name, "Is", 2) == 0 ? name + 2 : name;
        uint8_t kind = RXC_ANY;
        if (!strcmp(nm, "L") || !strcmp(nm, "Letter") || !strcmp(nm, "Alpha") || !strcmp(nm, "Alphabetic"))
            kind = RXC_LETTER;
        else if (!strcmp(nm, "N") || !strcmp(nm, "Nd") || !strcmp(nm, "Digit"))
            kind = RXC_NUMBER;
        else if (!strcmp(nm, "Z") || !strcmp(nm, "Zs"))
            kind = RXC_SEPARATOR;
        rx_add_item(r, kind, e == 'P' && kind != RXC_ANY, 0, 0);
        return true;
    }
    case 't': *cp = '\t'; return false;
    case 'n': *cp = '\n'; return false;
    case 'r': *cp = '\r'; return false;
    case 'f': *cp = '\f'; return false;
    case 'e': *cp = 0x1B; return false;
    case 'a': *cp = 0x07; return false;
    case 'x':
    case 'u': {
        int digits = e == 'x' ? 2 : 4;
        uint32_t v = 0;
        for (int k = 0; k < digits; k++) {
            int h = r->i < r->n ? kyoka_hexval(r->p[r->i]) : -1;
            if (h < 0) {
                r->bad = true;
                return false;
            }
            v = v * 16 + (uint32_t)h;
            r->i++;
        }
        *cp = v;
        return false;
    }
    default:
        /* An escaped letter or digit we do not know (\b, \1, \Q) means a
         * construct outside the subset. */
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9'))
            r->bad = true;
        *cp = (unsigned char)e;
        return false;
    }
}

static uint32_t rx_literal(rx_t *r)
{
    size_t len;
    uint32_t cp = utf8_next(r->p + r->i, r->n - r->i, &len);
    r->i += len;
    return cp;
}

static int rx_parse_class(rx_t *r)
{
    /* At '['. */
    r->i++;
    rx_class_t cls = {r->ni, 0, false};
    if (rx_peek(r, '^')) {
        cls.neg = true;
        r->i++;
    }
    bool first = true;
    while (r->i < r->n && (first || r->p[r->i] != ']')) {
        first = false;
        uint32_t lo;
        if (r->p[r->i] == '[' || (r->p[r->i] == '&' && r->i + 1 < r->n && r->p[r->i + 1] == '&')) {
            r->bad = true; /* nested classes and intersections */
            return 0;
        }
        if (r->p[r->i] == '\\') {
            r->i++;
            if (rx_escape(r, &lo))
                continue;
        } else {
            lo = rx_literal(r);
        }
        uint32_t hi = lo;
        if (rx_peek(r, '-') && r->i + 1 < r->n && r->p[r->i + 1] != ']') {
            r->i++;
            if (r->p[r->i] == '\\') {
                r->i++;
                if (rx_escape(r, &hi)) {
                    r->bad = true; /* a range ending in a class */
                    return 0;
                }
            } else {
                hi = rx_literal(r);
            }
            if (hi < lo) {
                r->bad = true;
                return 0;
            }
        }
        rx_add_item(r, RXC_RANGE, false, lo, hi);
    }
    if (!rx_peek(r, ']') || r->nc == RX_MAX_CLASSES) {
        r->bad = true;
        return 0;
    }
    r->i++;
    cls.n = r->ni - cls.first;
    r->classes[r->nc] = cls;
    return rx_add_node(r, (rx_node_t){.kind = RXN_CLASS, .c = (uint32_t)r->nc++});
}

static int rx_parse_alt(rx_t *r, int depth);

static int rx_parse_atom(rx_t *r, int depth)
{
    char c = r->p[r->i];
    if (c == '(') {
        r->i++;
        bool look = false, neg = false, behind = false;
        if (rx_peek(r, '?')) {
            r->i++;
            if (rx_peek(r, ':')) {
                r->i++;
            } else if (rx_peek(r, '!') || rx_peek(r, '=')) {
                look = true;
                neg = r->p[r->i++] == '!';
            } else if (rx_peek(r, '<') && r->i + 1 < r->n && (r->p[r->i + 1] == '!' || r->p[r->i + 1] == '=')) {
                look = behind = true;
                neg = r->p[r->i + 1] == '!';
                r->i += 2;
            } else if (rx_peek(r, '<')) {
                while (r->i < r->n && r->p[r->i] != '>') /* named group */
                    r->i++;
                r->i++;
            } else {
                r->bad = true; /* inline flags */
                return 0;
            }
        }
        int child = rx_parse_alt(r, depth + 1);
        if (!rx_peek(r, ')')) {
            r->bad = true;
            return 0;
        }
        r->i++;
        if (!look)
            return child;
        return rx_add_node(r, (rx_node_t){.kind = RXN_LOOK, .a = child, .neg = neg, .behind = behind});
    }
    if (c == '[')
        return rx_parse_class(r);
    r->i++;
    switch (c) {
    case '.': return rx_add_node(r, (rx_node_t){.kind = RXN_ANY});
    case '^': return rx_add_node(r, (rx_node_t){.kind = RXN_BOL});
    case '$': return rx_add_node(r, (rx_node_t){.kind = RXN_EOL});
    case '*': case '+': case '?':
        r->bad = true;
        return 0;
    case '\\': {
        uint32_t cp;
        int first = r->ni;
        if (r->i < r->n && (r->p[r->i] == 'A' || r->p[r->i] == 'z' || r->p[r->i] == 'Z')) {
            char e = r->p[r->i++];
            return rx_add_node(r, (rx_node_t){.kind = e == 'A' ? RXN_BOL : RXN_EOL});
        }
        if (rx_escape(r, &cp)) {
            if (r->nc == RX_MAX_CLASSES) {
                r->bad = true;
                return 0;
            }
            r->classes[r->nc] = (rx_class_t){first, 1, false};
            return rx_add_node(r, (rx_node_t){.kind = RXN_CLASS, .c = (uint32_t)r->nc++});
        }
        return rx_add_node(r, (rx_node_t){.kind = RXN_CHAR, .c = cp});
    }
    default:
        r->i--;
        return rx_add_node(r, (rx_node_t){.kind = RXN_CHAR, .c = rx_literal(r)});
    }
}

static bool rx_parse_count(rx_t *r, int *out)
{
    int v = 0;
    bool any = false;
    while (r->i < r->n && r->p[r->i] >= '0' && r->p[r->i] <= '9') {
        v = v * 10 + (r->p[r->i++] - '0');
        if (v > 100000)
            return false;
        any = true;
    }
    *out = v;
    return any;
}

static int rx_parse_repeat(rx_t *r, int depth)
{
    int atom = rx_parse_atom(r, depth);
    while (!r->bad && r->i < r->n) {
        int min, max;
        char c = r->p[r->i];
        if (c == '*') {
            min = 0, max = -1;
            r->i++;
        } else if (c == '+') {
            min = 1, max = -1;
            r->i++;
        } else if (c == '?') {
            min = 0, max = 1;
            r->i++;
        } else if (c == '{') {
            size_t save = r->i++;
            if (!rx_parse_count(r, &min)) {
                r->i = save; /* a literal '{' */
                break;
            }
            max = min;
            if (rx_peek(r, ',')) {
                r->i++;
                if (!rx_parse_count(r, &max))
                    max = -1;
            }
            if (!rx_peek(r, '}') || (max >= 0 && max < min) || min > RX_MAX_REPEAT || max > RX_MAX_REPEAT) {
                r->bad = true;
                return 0;
            }
            r->i++;
        } else {
            break;
        }
        /* Lazy and possessive forms match the same set of whole strings
         * (possessive could reject more; no model uses it). */
        if (rx_peek(r, '?') || rx_peek(r, '+'))
            r->i++;
        atom = rx_add_node(r, (rx_node_t){.kind = RXN_REP, .a = atom, .min = min, .max = max});
    }
    return atom;
}

static int rx_parse_concat(rx_t *r, int depth)
{
    int left = -1;
    while (!r->bad && r->i < r->n && r->p[r->i] != '|' && r->p[r->i] != ')') {
        int x = rx_parse_repeat(r, depth);
        left = left < 0 ? x : rx_add_node(r, (rx_node_t){.kind = RXN_CAT, .a = left, .b = x});
    }
    return left < 0 ? rx_add_node(r, (rx_node_t){.kind = RXN_EMPTY}) : left;
}

static int rx_parse_alt(rx_t *r, int depth)
{
    if (depth > 32) {
        r->bad = true;
        return 0;
    }
    int left = rx_parse_concat(r, depth);
    while (!r->bad && rx_peek(r, '|')) {
        r->i++;
        int right = rx_parse_concat(r, depth);
        left = rx_add_node(r, (rx_node_t){.kind = RXN_ALT, .a = left, .b = right});
    }
    return left;
}

static int rx_emit_inst(rx_t *r, rx_inst_t in)
{
    if (r->np == RX_MAX_INST) {
        r->bad = true;
        return 0;
    }
    r->prog[r->np] = in;
    return r->np++;
}

static void rx_emit(rx_t *r, int ni, int depth)
{
    if (r->bad || depth > 64)
        return;
    const rx_node_t *n = &r->nodes[ni];
    switch (n->kind) {
    case RXN_EMPTY:
        break;
    case RXN_CHAR: rx_emit_inst(r, (rx_inst_t){.op = RXI_CHAR, .c = n->c}); break;
    case RXN_ANY: rx_emit_inst(r, (rx_inst_t){.op = RXI_ANY}); break;
    case RXN_CLASS: rx_emit_inst(r, (rx_inst_t){.op = RXI_CLASS, .c = n->c}); break;
    case RXN_BOL: rx_emit_inst(r, (rx_inst_t){.op = RXI_BOL}); break;
    case RXN_EOL: rx_emit_inst(r, (rx_inst_t){.op = RXI_EOL}); break;
    case RXN_CAT:
        rx_emit(r, n->a, depth + 1);
        rx_emit(r, n->b, depth + 1);
        break;
    case RXN_ALT: {
        int split = rx_emit_inst(r, (rx_inst_t){.op = RXI_SPLIT});
        int x = r->np;
        rx_emit(r, n->a, depth + 1);
        int jmp = rx_emit_inst(r, (rx_inst_t){.op = RXI_JMP});
        int y = r->np;
        rx_emit(r, n->b, depth + 1);
        if (r->bad)
            return;
        r->prog[split].x = x;
        r->prog[split].y = y;
        r->prog[jmp].x = r->np;
        break;
    }
    case RXN_REP: {
        int child = n->a, min = n->min, max = n->max;
        for (int k = 0; k < min; k++)
            rx_emit(r, child, depth + 1);
        if (max < 0) {
            int split = rx_emit_inst(r, (rx_inst_t){.op = RXI_SPLIT});
            rx_emit(r, child, depth + 1);
            rx_emit_inst(r, (rx_inst_t){.op = RXI_JMP, .x = split});
            if (r->bad)
                return;
            r->prog[split].x = split + 1;
            r->prog[split].y = r->np;
        } else {
            int splits[RX_MAX_REPEAT];
            int ns = 0;
            for (int k = min; k < max; k++) {
                splits[ns] = rx_emit_inst(r, (rx_inst_t){.op = RXI_SPLIT});
                r->prog[splits[ns]].x = splits[ns] + 1;
                ns++;
                rx_emit(r, child, depth + 1);
            }
            if (r->bad)
                return;
            for (int k = 0; k < ns; k++)
                r->prog[splits[k]].y = r->np;
        }
        break;
    }
    case RXN_LOOK: {
        int look = rx_emit_inst(r, (rx_inst_t){.op = RXI_LOOK, .neg = n->neg, .behind = n->behind});
        rx_emit(r, n->a, depth + 1);
        rx_emit_inst(r, (rx_inst_t){.op = RXI_MATCH});
        if (r->bad)
            return;
        r->prog[look].y = r->np;
        break;
    }
    }
}

static bool rx_compile(rx_t *r, const char *pattern)
{
    r->p = pattern;
    r->i = 0;
    r->n = strlen(pattern);
    r->bad = false;
    r->nn = r->ni = r->nc = r->np = 0;
    int root = rx_parse_alt(r, 0);
    if (r->bad || r->i != r->n)
        return false;
    rx_emit(r, root, 0);
    rx_emit_inst(r, (rx_inst_t){.op = RXI_MATCH});
    return !r->bad;
}

static bool rx_item_has(const rx_item_t *it, uint32_t cp)
{
    bool m;
    switch (it->kind) {
    case RXC_RANGE: m = cp >= it->lo && cp <= it->hi; break;
    case RXC_DIGIT: m = cp >= '0' && cp <= '9'; break;
    case RXC_SPACE: m = cp == ' ' || (cp >= '\t' && cp <= '\r'); break;
    case RXC_WORD: m = (cp | 0x20) - 'a' < 26 || (cp >= '0' && cp <= '9') || cp == '_'; break;
    /* \p{L} and \p{N} beyond ASCII: any non-ASCII code point counts as a
     * letter, an approximation that errs towards accepting. */
    case RXC_LETTER: m = (cp | 0x20) - 'a' < 26 || cp >= 0x80; break;
    case RXC_NUMBER: m = cp >= '0' && cp <= '9'; break;
    case RXC_SEPARATOR:
        m = cp == ' ' || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 ||
            cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
        break;
    default: m = true; break;
    }
    return m != it->neg;
}

static bool rx_class_has(const rx_t *r, uint32_t ci, uint32_t cp)
{
    const rx_class_t *c = &r->classes[ci];
    for (int i = 0; i < c->n; i++)
        if (rx_item_has(&r->items[c->first + i], cp))
            return !c->neg;
    return c->neg;
}

static int rx_exec(const rx_t *r, int start, const char *s, size_t len, size_t from, size_t stop, bool prefix,
                   int depth);

/* Add the thread at pc and everything reachable from it without consuming
 * input; assertions are decided here, at position sp. -1: unknown. */
static int rx_add_thread(const rx_t *r, int16_t *list, int *n, uint32_t *mark, uint32_t gen, int pc0, const char *s,
                         size_t len, size_t sp, int depth)
{
    int16_t stack[2 * RX_MAX_INST + 2];
    int top = 0;
    stack[top++] = (int16_t)pc0;
    while (top) {
        int pc = stack[--top];
        if (mark[pc] == gen)
            continue;
        mark[pc] = gen;
        const rx_inst_t *in = &r->prog[pc];
        switch (in->op) {
        case RXI_JMP:
            stack[top++] = (int16_t)in->x;
            break;
        case RXI_SPLIT:
            stack[top++] = (int16_t)in->y;
            stack[top++] = (int16_t)in->x;
            break;
        case RXI_BOL:
            if (sp == 0)
                stack[top++] = (int16_t)(pc + 1);
            break;
        case RXI_EOL:
            if (sp == len)
                stack[top++] = (int16_t)(pc + 1);
            break;
        case RXI_LOOK: {
            int res = 0;
            if (depth >= RX_MAX_LOOK_DEPTH)
                return -1;
            if (!in->behind) {
                res = rx_exec(r, pc + 1, s, len, sp, len, true, depth + 1);
            } else {
                size_t lowest = sp > RX_MAX_BEHIND ? sp - RX_MAX_BEHIND : 0;
                for (size_t k = sp + 1; k-- > lowest && res == 0;)
                    res = rx_exec(r, pc + 1, s, len, k, sp, false, depth + 1);
            }
            if (res < 0)
                return -1;
            if ((res == 1) != in->neg)
                stack[top++] = (int16_t)in->y;
            break;
        }
        default:
            list[(*n)++] = (int16_t)pc;
            break;
        }
    }
    return 0;
}

/* Run the program from start over s[from..stop): 1 when it reaches MATCH
 * exactly at stop (or anywhere, with prefix), 0 when not, -1 unknown. */
static int rx_exec(const rx_t *r, int start, const char *s, size_t len, size_t from, size_t stop, bool prefix,
                   int depth)
{
    int16_t lists[2][RX_MAX_INST];
    uint32_t mark[RX_MAX_INST];
    memset(mark, 0, sizeof(uint32_t) * (size_t)r->np);
    int16_t *cl = lists[0], *nl = lists[1];
    int cn = 0, nn;
    uint32_t gen = 1;
    if (rx_add_thread(r, cl, &cn, mark, gen, start, s, len, from, depth) < 0)
        return -1;
    size_t sp = from;
    for (;;) {
        for (int t = 0; t < cn; t++)
            if (r->prog[cl[t]].op == RXI_MATCH && (prefix || sp == stop))
                return 1;
        if (sp >= stop || cn == 0)
            return 0;
        size_t clen;
        uint32_t cp = utf8_next(s + sp, stop - sp, &clen);
        gen++;
        nn = 0;
        for (int t = 0; t < cn; t++) {
            const rx_inst_t *in = &r->prog[cl[t]];
            bool ok = false;
            if (in->op == RXI_CHAR)
                ok = in->c == cp;
            else if (in->op == RXI_ANY)
                ok = cp != '\n' && cp != '\r' && cp != 0x85 && cp != 0x2028 && cp != 0x2029;
            else if (in->op == RXI_CLASS)
                ok = rx_class_has(r, in->c, cp);
            if (ok && rx_add_thread(r, nl, &nn, mark, gen, cl[t] + 1, s, len, sp + clen, depth) < 0)
                return -1;
        }
        int16_t *tmp = cl;
        cl = nl;
        nl = tmp;
        cn = nn;
        sp += clen;
    }
}

/* Does s match pattern as a whole? 1 yes, 0 no, -1 cannot tell (the pattern
 * is outside the subset): callers accept the value. r is scratch space. */
/* Compiled patterns, by the model's (static) pattern string: compiling
 * costs more than matching, and the same few patterns are checked on every
 * request. Loop thread only; entries live until exit (still reachable). */
#define RX_CACHE_SLOTS 512
static struct {
    const char *pattern;
    rx_t *rx; /* NULL: outside the supported subset */
} rx_cache[RX_CACHE_SLOTS];

static const rx_t *rx_cached(rx_t *scratch, const char *pattern, bool *known)
{
    size_t h = ((uintptr_t)pattern >> 3) % RX_CACHE_SLOTS;
    for (size_t i = 0; i < RX_CACHE_SLOTS; i++, h = (h + 1) % RX_CACHE_SLOTS) {
        if (rx_cache[h].pattern == pattern) {
            *known = rx_cache[h].rx != NULL;
            return rx_cache[h].rx;
        }
        if (!rx_cache[h].pattern) {
            rx_cache[h].pattern = pattern;
            if (rx_compile(scratch, pattern)) {
                rx_cache[h].rx = xmalloc(sizeof *scratch);
                memcpy(rx_cache[h].rx, scratch, sizeof *scratch);
            }
            *known = rx_cache[h].rx != NULL;
            return rx_cache[h].rx;
        }
    }
    /* The table is full (more distinct patterns than any model has):
     * compile into the scratch space every time. */
    *known = rx_compile(scratch, pattern);
    return *known ? scratch : NULL;
}

static int pattern_matches(rx_t *r, const char *pattern, const char *s, size_t len)
{
    bool known;
    const rx_t *c = rx_cached(r, pattern, &known);
    if (!known)
        return -1;
    return rx_exec(c, 0, s, len, 0, len, false, 0);
}

/* ---- AWS-style validation ---- */

#define AV_MAX_PATH 256
#define AV_MAX_ECHO 256 /* bytes of a value quoted in a message */

typedef struct avctx {
    const model_service_t *svc;
    char path[AV_MAX_PATH]; /* "code.s3Bucket", "fileSystemConfigs.1.member.arn" */
    size_t plen;
    int count;              /* constraint violations */
    buf_t msg;              /* "Value ... constraint: ...; Value ..." */
    char type_msg[512];     /* the first value of a wrong JSON type, if any */
    rx_t *rx;               /* pattern scratch, allocated on first use */
} avctx_t;

/* Append a path element: member names with their first letter lowered, as
 * AWS prints them ("KMSKeyArn" -> "kMSKeyArn"). Returns the old length. */
static size_t av_push(avctx_t *c, const char *name, bool member)
{
    size_t old = c->plen;
    size_t n = strlen(name);
    if (c->plen + n + 2 >= AV_MAX_PATH)
        return old;
    if (c->plen)
        c->path[c->plen++] = '.';
    memcpy(c->path + c->plen, name, n);
    if (member && name[0] >= 'A' && name[0] <= 'Z')
        c->path[c->plen] = (char)(name[0] - 'A' + 'a');
    c->plen += n;
    c->path[c->plen] = '\0';
    return old;
}

static void av_pop(avctx_t *c, size_t old)
{
    c->plen = old;
    c->path[old] = '\0';
}

/* A value as AWS echoes it: strings bare, lists "[a, b]", maps "{k=v}". */
static void av_render(buf_t *b, json_t *v, int depth)
{
    switch (json_typeof(v)) {
    case JSON_STRING: {
        size_t n = json_string_length(v);
        buf_append(b, json_string_value(v), n > AV_MAX_ECHO ? AV_MAX_ECHO : n);
        break;
    }
    case JSON_INTEGER: buf_appendf(b, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: buf_appendf(b, "%g", json_real_value(v)); break;
    case JSON_TRUE: buf_appends(b, "true"); break;
    case JSON_FALSE: buf_appends(b, "false"); break;
    case JSON_NULL: buf_appends(b, "null"); break;
    case JSON_ARRAY: {
        buf_appendc(b, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n && depth < 4 && b->len < AV_MAX_ECHO; i++) {
            if (i)
                buf_appends(b, ", ");
            av_render(b, json_array_get(v, i), depth + 1);
        }
        buf_appendc(b, ']');
        break;
    }
    case JSON_OBJECT: {
        buf_appendc(b, '{');
        const char *k;
        json_t *mv;
        bool first = true;
        json_object_foreach(v, k, mv) {
            if (depth >= 4 || b->len >= AV_MAX_ECHO)
                break;
            if (!first)
                buf_appends(b, ", ");
            first = false;
            buf_appends(b, k);
            buf_appendc(b, '=');
            av_render(b, mv, depth + 1);
        }
        buf_appendc(b, '}');
        break;
    }
    }
}

static void av_type_error(avctx_t *c, const char *expected)
{
    if (!c->type_msg[0])
        snprintf(c->type_msg, sizeof c->type_msg, "Could not parse request body into json: '%s' must be %s",
                 c->path[0] ? c->path : "input", expected);
}

/* Is v of the JSON type shape s needs? Reports the first mismatch. */
static bool av_type_ok(avctx_t *c, const model_shape_t *s, json_t *v)
{
    const char *expected = NULL;
    switch (s->type) {
    case SHAPE_STRUCTURE: if (!json_is_object(v)) expected = "an object"; break;
    case SHAPE_MAP: if (!json_is_object(v)) expected = "an object"; break;
    case SHAPE_LIST: if (!json_is_array(v)) expected = "an array"; break;
    case SHAPE_STRING:
    case SHAPE_BLOB: if (!json_is_string(v)) expected = "a string"; break;
    case SHAPE_BOOLEAN: if (!json_is_boolean(v)) expected = "a boolean"; break;
    case SHAPE_INTEGER:
        if (!json_is_integer(v) || json_integer_value(v) > INT32_MAX || json_integer_value(v) < INT32_MIN)
            expected = "an integer";
        break;
    case SHAPE_LONG: if (!json_is_integer(v)) expected = "an integer"; break;
    case SHAPE_DOUBLE:
    case SHAPE_FLOAT: if (!json_is_number(v)) expected = "a number"; break;
    case SHAPE_TIMESTAMP: if (!json_is_number(v) && !json_is_string(v)) expected = "a timestamp"; break;
    }
    if (expected)
        av_type_error(c, expected);
    return expected == NULL;
}

/* String length as Java counts it (UTF-16 code units). */
static int64_t utf16_length(const char *s, size_t n)
{
    int64_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if ((b & 0xC0) != 0x80)
            len += b >= 0xF0 ? 2 : 1;
    }
    return len;
}

/* What av_constraints does with the constraints of a shape. */
typedef enum {
    AV_EMIT,  /* report each one v breaks as a violation */
    AV_COUNT, /* only count those v breaks */
    AV_LIST   /* append every constraint of the shape to a list (v unused) */
} av_mode_t;

static void av_start_violation(avctx_t *c, json_t *v, bool sensitive)
{
    if (c->count++)
        buf_appends(&c->msg, "; ");
    buf_appends(&c->msg, "Value ");
    if (!v) {
        buf_appends(&c->msg, "null ");
    } else if (!sensitive) {
        /* AWS leaves the value out for sensitive members ("Value at ..."). */
        buf_appendc(&c->msg, '\'');
        av_render(&c->msg, v, 0);
        buf_appends(&c->msg, "' ");
    }
    buf_appendf(&c->msg, "at '%s' failed to satisfy constraint: ", c->path);
}

/* One constraint: in AV_EMIT and AV_COUNT only when broken; the text goes
 * to the violation being written or to the list. */
static int av_one(avctx_t *c, av_mode_t mode, json_t *v, bool sensitive, bool broken, buf_t *list, bool *first,
                  buf_t **out)
{
    *out = NULL;
    if (mode == AV_LIST) {
        if (!*first)
            buf_appends(list, ", ");
        *first = false;
        *out = list;
        return 1;
    }
    if (!broken)
        return 0;
    if (mode == AV_EMIT) {
        av_start_violation(c, v, sensitive);
        *out = &c->msg;
    }
    return 1;
}

/* The constraints of a scalar, list or map shape in AWS's order: maximum
 * (length or value), minimum, pattern, enum. Returns how many were reported,
 * counted or listed. */
static int av_constraints(avctx_t *c, const model_shape_t *s, json_t *v, av_mode_t mode, buf_t *list)
{
    int n = 0;
    bool first = true;
    buf_t *out;
    bool is_num = s->type == SHAPE_INTEGER || s->type == SHAPE_LONG || s->type == SHAPE_DOUBLE ||
                  s->type == SHAPE_FLOAT;
    bool is_len = s->type == SHAPE_STRING || s->type == SHAPE_LIST || s->type == SHAPE_MAP;
    double num = 0;
    int64_t len = 0;
    if (mode == AV_LIST)
        v = NULL;
    if (v && is_num)
        num = json_is_integer(v) ? (double)json_integer_value(v) : json_number_value(v);
    if (v && is_len)
        len = s->type == SHAPE_STRING ? utf16_length(json_string_value(v), json_string_length(v))
            : s->type == SHAPE_LIST   ? (int64_t)json_array_size(v)
                                      : (int64_t)json_object_size(v);
    const char *what = is_num ? "value" : "length";
    if ((is_num || is_len) && s->has_max) {
        n += av_one(c, mode, v, s->sensitive, v && (is_num ? num > (double)s->max : len > s->max), list, &first, &out);
        if (out)
            buf_appendf(out, "Member must have %s less than or equal to %lld", what, (long long)s->max);
    }
    if ((is_num || is_len) && s->has_min) {
        n += av_one(c, mode, v, s->sensitive, v && (is_num ? num < (double)s->min : len < s->min), list, &first, &out);
        if (out)
            buf_appendf(out, "Member must have %s greater than or equal to %lld", what, (long long)s->min);
    }
    if (s->type == SHAPE_STRING && s->pattern) {
        bool broken = false;
        if (v) {
            if (!c->rx)
                c->rx = xmalloc(sizeof *c->rx);
            broken = pattern_matches(c->rx, s->pattern, json_string_value(v), json_string_length(v)) == 0;
        }
        n += av_one(c, mode, v, s->sensitive, broken, list, &first, &out);
        if (out)
            buf_appendf(out, "Member must satisfy regular expression pattern: %s", s->pattern);
    }
    if (s->type == SHAPE_STRING && s->enums) {
        bool found = false;
        for (size_t i = 0; v && s->enums[i] && !found; i++)
            found = strcmp(s->enums[i], json_string_value(v)) == 0;
        n += av_one(c, mode, v, s->sensitive, v && !found, list, &first, &out);
        if (out) {
            buf_appends(out, "Member must satisfy enum value set: [");
            for (size_t i = 0; s->enums[i]; i++) {
                if (i)
                    buf_appends(out, ", ");
                buf_appends(out, s->enums[i]);
            }
            buf_appendc(out, ']');
        }
    }
    return n;
}

/* One violation at the container for a bad element, key or value:
 * "<intro>: [<every constraint of the element shape>, Member must not be
 * null]", as AWS lists them. */
static void av_nested(avctx_t *c, json_t *v, bool sensitive, const char *intro, const model_shape_t *es,
                      bool not_null)
{
    av_start_violation(c, v, sensitive);
    buf_appendf(&c->msg, "%s: [", intro);
    int n = av_constraints(c, es, NULL, AV_LIST, &c->msg);
    if (not_null)
        buf_appendf(&c->msg, "%sMember must not be null", n ? ", " : "");
    buf_appendc(&c->msg, ']');
}

static bool av_is_scalar(const model_shape_t *s)
{
    return s->type != SHAPE_STRUCTURE && s->type != SHAPE_LIST && s->type != SHAPE_MAP;
}

static void av_value(avctx_t *c, int shape, json_t *v, int depth);

static void av_structure(avctx_t *c, const model_shape_t *s, json_t *v, int depth)
{
    for (int i = 0; i < s->nmembers; i++) {
        const model_member_t *m = &s->members[i];
        json_t *mv = json_object_get(v, m->name);
        size_t old = av_push(c, m->name, true);
        if (!mv || json_is_null(mv)) {
            if (m->required) {
                av_start_violation(c, NULL, false);
                buf_appends(&c->msg, "Member must not be null");
            }
        } else {
            av_value(c, m->shape, mv, depth + 1);
        }
        av_pop(c, old);
    }
}

static void av_value(avctx_t *c, int shape, json_t *v, int depth)
{
    const model_shape_t *s = &c->svc->shapes[shape];
    if (depth > 32 || !av_type_ok(c, s, v))
        return;
    av_constraints(c, s, v, AV_EMIT, NULL);
    if (s->type == SHAPE_STRUCTURE) {
        av_structure(c, s, v, depth);
    } else if (s->type == SHAPE_LIST) {
        const model_shape_t *es = &c->svc->shapes[s->members[0].shape];
        size_t n = json_array_size(v);
        bool bad = false;
        for (size_t i = 0; i < n; i++) {
            json_t *ev = json_array_get(v, i);
            if (av_is_scalar(es)) {
                if (json_is_null(ev)) {
                    bad = true;
                    continue;
                }
                if (!av_type_ok(c, es, ev))
                    return;
                bad |= av_constraints(c, es, ev, AV_COUNT, NULL) > 0;
            } else {
                char idx[32];
                snprintf(idx, sizeof idx, "%zu.member", i + 1);
                size_t old = av_push(c, idx, false);
                av_value(c, s->members[0].shape, ev, depth + 1);
                av_pop(c, old);
            }
        }
        if (bad)
            av_nested(c, v, s->sensitive || es->sensitive, "Member must satisfy constraint", es, true);
    } else if (s->type == SHAPE_MAP) {
        const model_shape_t *ks = &c->svc->shapes[s->members[0].shape];
        const model_shape_t *vs = &c->svc->shapes[s->members[1].shape];
        bool bad_key = false, bad_value = false;
        const char *k;
        json_t *mv;
        json_object_foreach(v, k, mv) {
            json_t *kj = json_string(k);
            bad_key |= kj && av_constraints(c, ks, kj, AV_COUNT, NULL) > 0;
            json_decref(kj);
            if (av_is_scalar(vs)) {
                if (json_is_null(mv)) {
                    bad_value = true;
                    continue;
                }
                if (!av_type_ok(c, vs, mv))
                    return;
                bad_value |= av_constraints(c, vs, mv, AV_COUNT, NULL) > 0;
            } else {
                size_t old = av_push(c, k, false);
                av_value(c, s->members[1].shape, mv, depth + 1);
                av_pop(c, old);
            }
        }
        bool sens = s->sensitive || ks->sensitive || vs->sensitive;
        if (bad_key)
            av_nested(c, v, sens, "Map keys must satisfy constraint", ks, false);
        if (bad_value)
            av_nested(c, v, sens, "Map value must satisfy constraint", vs, true);
    }
}

static bool validate_aws_style(const model_service_t *svc, const model_shape_t *s, json_t *input, aws_error_t *err)
{
    avctx_t c = {.svc = svc};
    buf_init(&c.msg, sizeof err->message * 2);
    if (!json_is_object(input))
        av_type_error(&c, "an object");
    else
        av_structure(&c, s, input, 0);
    bool ok = true;
    if (c.type_msg[0] && !err->code) {
        /* A value of the wrong type is a request AWS could not read at all:
         * it never gets to the constraint checks. */
        err->code = svc->parse_error ? svc->parse_error : "SerializationException";
        err->status = 400;
        err->sender = true;
        snprintf(err->message, sizeof err->message, "%s", c.type_msg);
        proto__utf8_scrub(err->message);
        ok = false;
    } else if (c.count && !err->code) {
        err->code = svc->validation_error;
        err->status = 400;
        err->sender = true;
        snprintf(err->message, sizeof err->message, "%d validation error%s detected: %s", c.count,
                 c.count == 1 ? "" : "s", c.msg.data);
        proto__utf8_scrub(err->message);
        ok = false;
    } else if (c.type_msg[0] || c.count) {
        ok = false; /* an earlier error stays (sticky) */
    }
    buf_destroy(&c.msg);
    free(c.rx);
    return ok;
}
