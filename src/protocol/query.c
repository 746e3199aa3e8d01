/*
 * The query protocol: form-encoded parameters in, XML out.
 *
 * Decoding walks the operation's input shape and looks up the wire key each
 * member serializes to, the way botocore's query serializer builds them:
 *   structure member  Prefix.Name            (Name = locationName or member name)
 *   list              Prefix.Name.member.N   (member = the list member's locationName or "member")
 *   flattened list    Prefix.Name.N          (Name replaced by the member's locationName if set)
 *   map               Prefix.Name.entry.N.key / .value
 *   flattened map     Prefix.Name.N.Key / .Value (key/value locationNames)
 * Parameters are sorted once so each lookup is a binary search, and a prefix
 * search tells whether a nested structure is present at all.
 *
 * Encoding writes the output tree as the response XML the query parsers of
 * botocore and the JavaScript SDK expect.
 */
#include "protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_MAX_KEY 512
#define QUERY_MAX_DEPTH 16
#define QUERY_MAX_LIST 10000

typedef struct qctx {
    const model_service_t *svc;
    const form_param_t *params; /* sorted by key */
    size_t n;
    aws_error_t *err;
} qctx_t;

static int cmp_param(const void *a, const void *b)
{
    const form_param_t *x = a, *y = b;
    size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
    int c = memcmp(x->key.p, y->key.p, n);
    if (c)
        return c;
    return x->key.len < y->key.len ? -1 : x->key.len > y->key.len;
}

/* Index of the first param whose key is >= key. */
static size_t lower_bound(const qctx_t *q, const char *key, size_t klen)
{
    size_t lo = 0, hi = q->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const strv_t k = q->params[mid].key;
        size_t n = k.len < klen ? k.len : klen;
        int c = memcmp(k.p, key, n);
        if (c == 0)
            c = k.len < klen ? -1 : k.len > klen;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const form_param_t *find(const qctx_t *q, const char *key, size_t klen)
{
    size_t i = lower_bound(q, key, klen);
    if (i < q->n && q->params[i].key.len == klen && memcmp(q->params[i].key.p, key, klen) == 0)
        return &q->params[i];
    return NULL;
}

/* Is there any parameter equal to key or starting with key + "."? */
static bool has_prefix(const qctx_t *q, const char *key, size_t klen)
{
    size_t i = lower_bound(q, key, klen);
    for (; i < q->n; i++) {
        const strv_t k = q->params[i].key;
        if (k.len < klen || memcmp(k.p, key, klen) != 0)
            return false;
        if (k.len == klen || k.p[klen] == '.')
            return true;
    }
    return false;
}

static void set_invalid(qctx_t *q, const char *key, strv_t v, const char *why)
{
    if (q->err->code)
        return;
    q->err->code = "InvalidParameterValue";
    q->err->status = 400;
    q->err->sender = true;
    snprintf(q->err->message, sizeof q->err->message, "Value (%.*s) for parameter %s is invalid. %s",
             (int)(v.len > 200 ? 200 : v.len), v.p, key, why);
}

static json_t *decode_value(qctx_t *q, int shape, char *key, size_t klen, int depth);

static json_t *decode_scalar(qctx_t *q, const model_shape_t *s, const char *key, strv_t v)
{
    switch (s->type) {
    case SHAPE_STRING:
    case SHAPE_BLOB:
    case SHAPE_TIMESTAMP:
    {
        /* jansson holds UTF-8 only; other bytes cannot be a valid string
         * value in any AWS API. */
        json_t *j = json_stringn(v.p ? v.p : "", v.len);
        if (!j)
            set_invalid(q, key, v, "Must be valid UTF-8.");
        return j;
    }
    case SHAPE_BOOLEAN:
        if (strv_eq_cstr(v, "true"))
            return json_true();
        if (strv_eq_cstr(v, "false"))
            return json_false();
        set_invalid(q, key, v, "Must be true or false.");
        return NULL;
    case SHAPE_INTEGER:
    case SHAPE_LONG: {
        char tmp[32];
        if (v.len == 0 || v.len >= sizeof tmp)
            goto bad_int;
        memcpy(tmp, v.p, v.len);
        tmp[v.len] = '\0';
        char *end;
        errno = 0;
        long long x = strtoll(tmp, &end, 10);
        if (*end || errno)
            goto bad_int;
        if (s->type == SHAPE_INTEGER && (x > 2147483647LL || x < -2147483648LL))
            goto bad_int;
        return json_integer(x);
    bad_int:
        set_invalid(q, key, v, "Must be an integer.");
        return NULL;
    }
    case SHAPE_DOUBLE:
    case SHAPE_FLOAT: {
        char tmp[64];
        if (v.len == 0 || v.len >= sizeof tmp)
            goto bad_num;
        memcpy(tmp, v.p, v.len);
        tmp[v.len] = '\0';
        char *end;
        double d = strtod(tmp, &end);
        if (*end)
            goto bad_num;
        return json_real(d);
    bad_num:
        set_invalid(q, key, v, "Must be a number.");
        return NULL;
    }
    default:
        return NULL;
    }
}

/* i (1..QUERY_MAX_LIST) in decimal: list and map keys name every entry. */
static void format_index(int i, char out[16])
{
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + i % 10);
        i /= 10;
    } while (i > 0 && n < 15);
    for (int k = 0; k < n; k++)
        out[k] = tmp[n - 1 - k];
    out[n] = '\0';
}

/* Append ".part" (or "part" at the root) to key; false if it would not fit. */
static bool key_push(char *key, size_t *klen, const char *part, bool dot)
{
    size_t pl = strlen(part);
    if (*klen + pl + 2 >= QUERY_MAX_KEY)
        return false;
    if (dot && *klen)
        key[(*klen)++] = '.';
    memcpy(key + *klen, part, pl);
    *klen += pl;
    key[*klen] = '\0';
    return true;
}

static json_t *decode_structure(qctx_t *q, const model_shape_t *s, char *key, size_t klen, int depth)
{
    json_t *obj = json_object();
    for (int i = 0; i < s->nmembers; i++) {
        const model_member_t *m = &s->members[i];
        const model_shape_t *ms = &q->svc->shapes[m->shape];
        size_t kl = klen;
        const char *wire = m->location_name ? m->location_name : m->name;
        if (!key_push(key, &kl, wire, true))
            continue;
        /* A flattened list whose member has a locationName serializes under
         * that name instead of the member's. */
        if (ms->type == SHAPE_LIST && (ms->flattened || m->flattened) && ms->members[0].location_name &&
            !m->location_name) {
            kl = klen;
            key_push(key, &kl, ms->members[0].location_name, true);
        }
        json_t *v = decode_value(q, m->shape, key, kl, depth + 1);
        key[klen] = '\0';
        if (q->err->code) {
            json_decref(v);
            json_decref(obj);
            return NULL;
        }
        if (v)
            json_object_set_new(obj, m->name, v);
    }
    return obj;
}

static json_t *decode_list(qctx_t *q, const model_shape_t *s, char *key, size_t klen, int depth)
{
    /* An empty list is sent as "Name=" with no value. */
    const form_param_t *empty = find(q, key, klen);
    size_t base = klen;
    if (!s->flattened)
        if (!key_push(key, &base, s->members[0].location_name ? s->members[0].location_name : "member", true))
            return NULL;
    json_t *arr = NULL;
    for (int i = 1; i <= QUERY_MAX_LIST; i++) {
        char idx[16];
        format_index(i, idx);
        size_t kl = base;
        if (!key_push(key, &kl, idx, true))
            break;
        json_t *v = decode_value(q, s->members[0].shape, key, kl, depth + 1);
        if (q->err->code) {
            json_decref(arr);
            return NULL;
        }
        if (!v)
            break;
        if (!arr)
            arr = json_array();
        json_array_append_new(arr, v);
    }
    key[klen] = '\0';
    if (!arr && empty)
        arr = json_array();
    return arr;
}

static json_t *decode_map(qctx_t *q, const model_shape_t *s, char *key, size_t klen, int depth)
{
    size_t base = klen;
    if (!s->flattened && !key_push(key, &base, "entry", true))
        return NULL;
    const char *kname = s->members[0].location_name ? s->members[0].location_name : "key";
    const char *vname = s->members[1].location_name ? s->members[1].location_name : "value";
    json_t *obj = NULL;
    for (int i = 1; i <= QUERY_MAX_LIST; i++) {
        char idx[16];
        format_index(i, idx);
        size_t kl = base;
        if (!key_push(key, &kl, idx, true))
            break;
        size_t kk = kl;
        key_push(key, &kk, kname, true);
        const form_param_t *k = find(q, key, kk);
        if (!k)
            break;
        size_t kv = kl;
        key_push(key, &kv, vname, true);
        json_t *v = decode_value(q, s->members[1].shape, key, kv, depth + 1);
        if (q->err->code) {
            json_decref(obj);
            return NULL;
        }
        if (!obj)
            obj = json_object();
        char *kz = xstrndup(k->value.p, k->value.len);
        json_object_set_new(obj, kz, v ? v : json_string(""));
        free(kz);
    }
    key[klen] = '\0';
    return obj;
}

static json_t *decode_value(qctx_t *q, int shape, char *key, size_t klen, int depth)
{
    const model_shape_t *s = &q->svc->shapes[shape];
    if (depth > QUERY_MAX_DEPTH)
        return NULL;
    switch (s->type) {
    case SHAPE_STRUCTURE:
        return has_prefix(q, key, klen) ? decode_structure(q, s, key, klen, depth) : NULL;
    case SHAPE_LIST:
        return has_prefix(q, key, klen) ? decode_list(q, s, key, klen, depth) : NULL;
    case SHAPE_MAP:
        return has_prefix(q, key, klen) ? decode_map(q, s, key, klen, depth) : NULL;
    default: {
        const form_param_t *p = find(q, key, klen);
        return p ? decode_scalar(q, s, key, p->value) : NULL;
    }
    }
}

json_t *proto_query_decode(const model_service_t *svc, const model_op_t *op, const form_param_t *params,
                           size_t n, aws_error_t *err)
{
    form_param_t *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return NULL;
    memcpy(sorted, params, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_param);
    qctx_t q = {svc, sorted, n, err};
    char key[QUERY_MAX_KEY] = "";
    json_t *out = op->input >= 0 ? decode_structure(&q, &svc->shapes[op->input], key, 0, 0) : json_object();
    free(sorted);
    return out;
}

/* ---------------------------------------------------------------- encode */

static void encode_value(const model_service_t *svc, int shape, json_t *v, buf_t *b, int depth);

static void encode_scalar(const model_shape_t *s, json_t *v, buf_t *b)
{
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        xml_escape(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        if (s->type == SHAPE_TIMESTAMP) {
            kyoka_time_iso8601((int64_t)json_integer_value(v) * 1000, tmp, false);
            buf_appends(b, tmp);
        } else {
            buf_appendf(b, "%lld", (long long)json_integer_value(v));
        }
        break;
    case JSON_REAL:
        if (s->type == SHAPE_TIMESTAMP) {
            kyoka_time_iso8601((int64_t)(json_real_value(v) * 1000), tmp, true);
            buf_appends(b, tmp);
        } else {
            buf_appendf(b, "%.17g", json_real_value(v));
        }
        break;
    case JSON_TRUE:
        buf_appends(b, "true");
        break;
    case JSON_FALSE:
        buf_appends(b, "false");
        break;
    default:
        break;
    }
}

/* Tags are written with plain appends: formatting every tag through
 * vsnprintf showed up in SQS receive profiles. */
static void open_tag(buf_t *b, const char *name)
{
    buf_appendc(b, '<');
    buf_appends(b, name);
    buf_appendc(b, '>');
}

static void close_tag(buf_t *b, const char *name)
{
    buf_append(b, "</", 2);
    buf_appends(b, name);
    buf_appendc(b, '>');
}

static void encode_members(const model_service_t *svc, const model_shape_t *s, json_t *obj, buf_t *b, int depth)
{
    if (!json_is_object(obj))
        return;
    for (int i = 0; i < s->nmembers; i++) {
        const model_member_t *m = &s->members[i];
        json_t *v = json_object_get(obj, m->name);
        if (!v || json_is_null(v))
            continue;
        const model_shape_t *ms = &svc->shapes[m->shape];
        const char *tag = m->location_name ? m->location_name : m->name;
        bool flat = ms->flattened || m->flattened;
        if (ms->type == SHAPE_LIST && flat) {
            const char *item = ms->members[0].location_name ? ms->members[0].location_name : tag;
            size_t n = json_array_size(v);
            for (size_t j = 0; j < n; j++) {
                open_tag(b, item);
                encode_value(svc, ms->members[0].shape, json_array_get(v, j), b, depth + 1);
                close_tag(b, item);
            }
        } else if (ms->type == SHAPE_MAP && flat) {
            const char *kn = ms->members[0].location_name ? ms->members[0].location_name : "key";
            const char *vn = ms->members[1].location_name ? ms->members[1].location_name : "value";
            const char *k;
            json_t *mv;
            json_object_foreach(v, k, mv) {
                open_tag(b, tag);
                open_tag(b, kn);
                xml_escape(b, k, strlen(k));
                close_tag(b, kn);
                open_tag(b, vn);
                encode_value(svc, ms->members[1].shape, mv, b, depth + 1);
                close_tag(b, vn);
                close_tag(b, tag);
            }
        } else {
            open_tag(b, tag);
            encode_value(svc, m->shape, v, b, depth + 1);
            close_tag(b, tag);
        }
    }
}

static void encode_value(const model_service_t *svc, int shape, json_t *v, buf_t *b, int depth)
{
    const model_shape_t *s = &svc->shapes[shape];
    if (depth > 32)
        return;
    switch (s->type) {
    case SHAPE_STRUCTURE:
        encode_members(svc, s, v, b, depth);
        break;
    case SHAPE_LIST: {
        const char *item = s->members[0].location_name ? s->members[0].location_name : "member";
        size_t n = json_array_size(v);
        for (size_t j = 0; j < n; j++) {
            open_tag(b, item);
            encode_value(svc, s->members[0].shape, json_array_get(v, j), b, depth + 1);
            close_tag(b, item);
        }
        break;
    }
    case SHAPE_MAP: {
        const char *kn = s->members[0].location_name ? s->members[0].location_name : "key";
        const char *vn = s->members[1].location_name ? s->members[1].location_name : "value";
        const char *k;
        json_t *mv;
        json_object_foreach(v, k, mv) {
            buf_appends(b, "<entry>");
            open_tag(b, kn);
            xml_escape(b, k, strlen(k));
            close_tag(b, kn);
            open_tag(b, vn);
            encode_value(svc, s->members[1].shape, mv, b, depth + 1);
            close_tag(b, vn);
            buf_appends(b, "</entry>");
        }
        break;
    }
    default:
        encode_scalar(s, v, b);
    }
}

int proto_query_encode(const model_service_t *svc, const model_op_t *op, json_t *output,
                       const char *request_id, buf_t *out)
{
    /* Plain appends: this frame wraps every response, and printf's
     * format parsing showed in send profiles. */
    buf_appends(out, "<?xml version=\"1.0\"?>\n<");
    buf_appends(out, op->name);
    buf_appends(out, "Response xmlns=\"");
    buf_appends(out, svc->xml_namespace ? svc->xml_namespace : "");
    buf_appends(out, "\">");
    if (op->output >= 0) {
        const char *wrap = op->result_wrapper ? op->result_wrapper : NULL;
        if (wrap)
            open_tag(out, wrap);
        encode_value(svc, op->output, output, out, 0);
        if (wrap)
            close_tag(out, wrap);
    }
    buf_appends(out, "<ResponseMetadata><RequestId>");
    buf_appends(out, request_id);
    buf_appends(out, "</RequestId></ResponseMetadata></");
    buf_appends(out, op->name);
    buf_appends(out, "Response>");
    return buf_err(out);
}

int proto_query_encode_error(const model_service_t *svc, const aws_error_t *err, const char *request_id,
                             buf_t *out)
{
    const char *code = proto_error_wire_code(svc, err, PROTO_QUERY);
    buf_appendf(out, "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"%s\"><Error><Type>%s</Type><Code>",
                svc && svc->xml_namespace ? svc->xml_namespace : "", err->sender ? "Sender" : "Receiver");
    xml_escape(out, code, strlen(code));
    buf_appends(out, "</Code><Message>");
    xml_escape(out, aws_error_text(err), strlen(aws_error_text(err)));
    buf_appendf(out, "</Message><Detail/></Error><RequestId>%s</RequestId></ErrorResponse>", request_id);
    return buf_err(out);
}

int proto_rest_xml_encode_error(const aws_error_t *err, const char *request_id, buf_t *out)
{
    buf_appends(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
    xml_escape(out, err->code, strlen(err->code));
    buf_appends(out, "</Code><Message>");
    xml_escape(out, aws_error_text(err), strlen(aws_error_text(err)));
    buf_appendf(out, "</Message><RequestId>%s</RequestId></Error>", request_id);
    return buf_err(out);
}
