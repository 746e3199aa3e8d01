/*
 * What a target receives: the whole event, a constant Input, the part of
 * the event an InputPath names, or an InputTransformer's template filled
 * from InputPathsMap (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).
 *
 * Template rules, as AWS applies them:
 *   - a placeholder <name> is a key of InputPathsMap or one of the
 *     predefined aws.events.rule-arn, aws.events.rule-name,
 *     aws.events.event.ingestion-time, aws.events.event (the event without
 *     detail) and aws.events.event.json (the whole event); any other <...>
 *     text stays as written;
 *   - inside a JSON string of the template ("...<status>...") a string
 *     value goes in without its quotes (escaped for the string), any other
 *     value as its JSON text;
 *   - outside strings, in a template that is JSON (starts with { or [), a
 *     string value goes in as a JSON string (quoted); in a template that
 *     is plain text it goes in as its raw characters;
 *   - a path that names nothing gives an empty string inside a string or
 *     in plain text, and null in a JSON position.
 * JSON paths are the subset AWS documents: $, then .name (names may hold
 * dashes, underscores and slashes) and [index].
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== JSON paths ==== */

/* The value at path in doc (borrowed), or NULL. */
static const json_t *path_get(const json_t *doc, const char *path)
{
    if (!path || path[0] != '$')
        return NULL;
    const char *p = path + 1;
    const json_t *cur = doc;
    while (*p && cur) {
        if (*p == '.') {
            p++;
            const char *e = p;
            while (*e && *e != '.' && *e != '[')
                e++;
            if (e == p)
                return NULL;
            char key[256];
            size_t n = (size_t)(e - p) < sizeof key - 1 ? (size_t)(e - p) : sizeof key - 1;
            memcpy(key, p, n);
            key[n] = '\0';
            cur = json_object_get(cur, key);
            p = e;
        } else if (*p == '[') {
            char *e;
            unsigned long i = strtoul(p + 1, &e, 10);
            if (e == p + 1 || *e != ']')
                return NULL;
            cur = json_array_get(cur, i);
            p = e + 1;
        } else {
            return NULL;
        }
    }
    return cur;
}

static bool path_syntax_ok(const char *path);

const json_t *events__path_get(const json_t *doc, const char *path) { return path_get(doc, path); }

bool events__path_ok(const char *path) { return path_syntax_ok(path); }

static bool path_syntax_ok(const char *path)
{
    if (!path || path[0] != '$')
        return false;
    for (const char *p = path + 1; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n')
            return false;
    return true;
}

static bool key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = k[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-'))
            return false;
    }
    return true;
}

static bool template_is_json(const char *t)
{
    while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
        t++;
    return *t == '{' || *t == '[';
}

/* ==== filling a template ==== */

typedef struct fill {
    const json_t *map;       /* InputPathsMap */
    const json_t *event;     /* NULL when checking */
    const char *event_text;
    size_t event_len;
    const events_rule_t *rule;
    bool check;              /* placeholders get dummy values */
} fill_t;

static void put_string_content(buf_t *out, const char *s, size_t n)
{
    json_t *j = json_stringn_nocheck(s, n);
    char *text = proto_json_dumps(j, JSON_ENCODE_ANY);
    json_decref(j);
    if (text) {
        size_t len = strlen(text);
        if (len >= 2)
            (void)buf_append(out, text + 1, len - 2);
        free(text);
    }
}

static void put_json(buf_t *out, const json_t *v)
{
    char *text = proto_json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (text) {
        (void)buf_appends(out, text);
        free(text);
    }
}

/* The value of placeholder name (a new reference), or NULL when it names
 * nothing; *known says whether the name is a placeholder at all. */
static json_t *placeholder(const fill_t *f, const char *name, bool *known)
{
    *known = true;
    if (strncmp(name, "aws.events.", 11) == 0) {
        const char *k = name + 11;
        if (f->check)
            return strcmp(k, "event") == 0 || strcmp(k, "event.json") == 0 ? json_object() : json_string("x");
        if (strcmp(k, "rule-arn") == 0)
            return json_string(f->rule ? f->rule->arn : "");
        if (strcmp(k, "rule-name") == 0)
            return json_string(f->rule ? f->rule->name : "");
        if (strcmp(k, "event.ingestion-time") == 0) {
            char ts[64];
            kyoka_time_iso8601(kyoka_clock_now_ms(), ts, false);
            return json_string(ts);
        }
        if (strcmp(k, "event.json") == 0)
            return json_deep_copy(f->event);
        if (strcmp(k, "event") == 0) {
            json_t *e = json_deep_copy(f->event);
            json_object_del(e, "detail");
            return e;
        }
    }
    const char *path = json_string_value(json_object_get(f->map, name));
    if (!path) {
        *known = false;
        return NULL;
    }
    if (f->check)
        return json_string("x");
    const json_t *v = path_get(f->event, path);
    return v ? json_deep_copy(v) : NULL;
}

static void fill_template(const fill_t *f, const char *t, buf_t *out)
{
    bool json = template_is_json(t), in_str = false;
    for (const char *p = t; *p; p++) {
        if (*p == '\\' && in_str && p[1]) {
            (void)buf_append(out, p, 2);
            p++;
            continue;
        }
        if (*p == '"') {
            in_str = !in_str;
            (void)buf_appendc(out, '"');
            continue;
        }
        const char *close = *p == '<' ? strchr(p + 1, '>') : NULL;
        if (!close || close - p > 300) {
            (void)buf_appendc(out, *p);
            continue;
        }
        char name[301];
        memcpy(name, p + 1, (size_t)(close - p - 1));
        name[close - p - 1] = '\0';
        bool known;
        json_t *v = placeholder(f, name, &known);
        if (!known) {
            (void)buf_appendc(out, *p);
            continue;
        }
        if (!v) {
            if (json && !in_str)
                (void)buf_appends(out, "null");
        } else if (json_is_string(v)) {
            if (in_str)
                put_string_content(out, json_string_value(v), json_string_length(v));
            else if (json)
                put_json(out, v);
            else
                (void)buf_append(out, json_string_value(v), json_string_length(v));
        } else {
            put_json(out, v);
        }
        json_decref(v);
        p = close;
    }
}

/* ==== the two entry points ==== */

const char *events__input_check(arena_t *a, json_t *target)
{
    json_t *input = json_object_get(target, "Input");
    json_t *path = json_object_get(target, "InputPath");
    json_t *tr = json_object_get(target, "InputTransformer");
    if ((input != NULL) + (path != NULL) + (tr != NULL) > 1)
        return "Only one of Input, InputPath, or InputTransformer can be provided.";
    if (input) {
        json_t *j = json_loads(json_string_value(input), JSON_DECODE_ANY, NULL);
        if (!j)
            return "Input is not valid JSON text.";
        json_decref(j);
    }
    if (path && !path_syntax_ok(json_string_value(path)))
        return arena_sprintf(a, "InputPath %s is not a valid JSON path.", json_string_value(path));
    if (!tr)
        return NULL;
    json_t *map = json_object_get(tr, "InputPathsMap");
    const char *tmpl = json_string_value(json_object_get(tr, "InputTemplate"));
    if (!tmpl)
        return "InputTransformer requires an InputTemplate.";
    if (json_object_size(map) > EVENTS_MAX_PATHS)
        return "InputPathsMap has more than 100 entries.";
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v)
    {
        if (!key_ok(k))
            return arena_sprintf(a, "InputPathsMap key %s is not valid: keys are letters, digits, - and _.", k);
        if (strncmp(k, "aws.", 4) == 0 || strncmp(k, "AWS.", 4) == 0)
            return arena_sprintf(a, "InputPathsMap key %s is reserved.", k);
        if (!path_syntax_ok(json_string_value(v)))
            return arena_sprintf(a, "InputPathsMap value %s is not a valid JSON path.", json_string_value(v));
    }
    if (template_is_json(tmpl)) {
        /* The template must be JSON once its placeholders are filled. */
        fill_t f = {.map = map, .check = true};
        buf_t out;
        buf_init(&out, 1 << 20);
        fill_template(&f, tmpl, &out);
        json_t *j = json_loadb(out.data, out.len, JSON_DECODE_ANY, NULL);
        buf_destroy(&out);
        if (!j)
            return "InputTemplate for target contains invalid JSON text.";
        json_decref(j);
    }
    return NULL;
}

char *events__input_shape(const json_t *target, const events_rule_t *r, const json_t *event, const char *text,
                          size_t len, size_t *out_len)
{
    const char *input = json_string_value(json_object_get(target, "Input"));
    if (input) {
        *out_len = strlen(input);
        return xstrdup(input);
    }
    const char *path = json_string_value(json_object_get(target, "InputPath"));
    json_t *tr = json_object_get(target, "InputTransformer");
    if (!path && !tr) {
        *out_len = len;
        return xstrndup(text, len);
    }
    if (path) {
        const json_t *v = path_get(event, path);
        char *s = v ? proto_json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        if (!s)
            s = xstrdup("null");
        *out_len = strlen(s);
        return s;
    }
    fill_t f = {.map = json_object_get(tr, "InputPathsMap"), .event = event, .event_text = text, .event_len = len,
                .rule = r};
    buf_t out;
    buf_init(&out, EVENTS_MAX_PUT_BYTES * 8);
    fill_template(&f, json_string_value(json_object_get(tr, "InputTemplate")), &out);
    return buf_detach(&out, out_len);
}
