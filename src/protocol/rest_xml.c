/*
 * The REST-XML protocol (S3), driven by the model's HTTP bindings.
 *
 * REST-XML binds members to the URI, the query string, headers and the
 * status code exactly as REST-JSON does; only the body differs. So routing
 * and the non-body members go through the REST-JSON binding code
 * (proto_rest_match, proto_rest_json_decode with no body, and
 * proto_rest_json_encode for headers and status), and this file adds what is
 * XML: the payload structure read with expat into the canonical tree, and
 * the output's body members written as S3's XML.
 *
 * S3 puts several operations on one method and template (PUT
 * /{Bucket}/{Key+} is PutObject, CopyObject, UploadPart and UploadPartCopy);
 * what tells them apart is which required query parameters and headers the
 * request carries (uploadId and partNumber, x-amz-copy-source). Of the
 * operations sharing the best template, the one whose required non-URI
 * members are all present and most numerous wins.
 *
 * XML input is parsed into a small element tree in the request's arena under
 * hard limits (depth, element count, text size), then converted by shape:
 * structures by element name (the member's locationName, else its name),
 * lists flattened (repeated elements) or wrapped (one element holding
 * items), scalars from their text. Output is written in model order with
 * the same naming rules; timestamps in XML bodies are ISO 8601 with
 * milliseconds, as S3 sends them.
 *
 * botocore's rest-xml models leave out the name of the response's root
 * element (parsers ignore it, but S3 sends ListBucketResult, Tagging, ...);
 * the table below restates those names.
 */
#include "protocol.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define XML_MAX_DEPTH 32
#define XML_MAX_ELEMENTS 20000   /* DeleteObjects: 1,000 keys of 3 elements each, and room */
#define XML_MAX_TEXT (64 * 1024) /* one element's text (a policy is a string payload, not XML) */

#define S3_NS "http://s3.amazonaws.com/doc/2006-03-01/"

#define MSG_MALFORMED "The XML you provided was not well-formed or did not validate against our published schema"

/* ---------------------------------------------------------------- routing */

static bool query_has(strv_t query, const char *key)
{
    size_t kl = strlen(key);
    const char *p = query.p, *end = query.p + query.len;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        size_t n = (size_t)((eq ? eq : stop) - p);
        if (n == kl && memcmp(p, key, kl) == 0)
            return true;
        p = stop + 1;
    }
    return false;
}

static bool header_has(const proto_header_t *hs, size_t nh, const char *name)
{
    for (size_t i = 0; i < nh; i++)
        if (strv_caseeq_cstr(hs[i].name, name))
            return true;
    return false;
}

const model_op_t *proto_rest_xml_match(const model_service_t *svc, strv_t method, strv_t path, strv_t query,
                                       const proto_header_t *hs, size_t nh)
{
    const model_op_t *first = proto_rest_match(svc, method, path, query);
    if (!first)
        return NULL;
    const model_op_t *best = NULL;
    int best_n = -1;
    for (int i = 0; i < svc->nops; i++) {
        const model_op_t *op = &svc->ops[i];
        if (strcmp(op->http_method, first->http_method) != 0 || strcmp(op->request_uri, first->request_uri) != 0)
            continue;
        int n = 0;
        bool ok = true;
        if (op->input >= 0) {
            const model_shape_t *in = &svc->shapes[op->input];
            for (int k = 0; k < in->nmembers && ok; k++) {
                const model_member_t *m = &in->members[k];
                if (!m->required)
                    continue;
                const char *wire = m->location_name ? m->location_name : m->name;
                if (m->location == LOC_QUERYSTRING)
                    ok = query_has(query, wire), n++;
                else if (m->location == LOC_HEADER)
                    ok = header_has(hs, nh, wire), n++;
            }
        }
        /* A tie goes to the later row: botocore lists a deprecated
         * operation before its successor on the same route
         * (GetBucketLifecycle, GetBucketLifecycleConfiguration). */
        if (ok && n >= best_n) {
            best = op;
            best_n = n;
        }
    }
    return best ? best : first;
}

/* ---------------------------------------------------------------- timestamps */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* "2024-01-02T03:04:05(.sss)Z" (or +hh:mm) as epoch seconds. */
static bool iso8601_parse(const char *s, double *out)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return false;
    const char *p = s + 19;
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9') {
            frac += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    int off = 0;
    if (*p == 'Z') {
        p++;
    } else if ((*p == '+' || *p == '-') && p[1] && p[2] && p[3] == ':') {
        int oh = atoi(p + 1), om = atoi(p + 4);
        off = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    *out = (double)(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off) + frac;
    return true;
}

/* ---------------------------------------------------------------- XML input */

typedef struct xnode {
    const char *name; /* local name, prefix removed */
    buf_t text;
    struct xnode *child, *last, *next, *parent;
} xnode_t;

typedef struct xparse {
    arena_t *a;
    xnode_t *root, *cur;
    int depth, count;
    bool failed;
    XML_Parser p;
} xparse_t;

static void fail_parse(xparse_t *x)
{
    x->failed = true;
    XML_StopParser(x->p, XML_FALSE);
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
    (void)attrs;
    xparse_t *x = data;
    if (x->failed)
        return;
    if (++x->depth > XML_MAX_DEPTH || ++x->count > XML_MAX_ELEMENTS || (!x->cur && x->root)) {
        fail_parse(x);
        return;
    }
    xnode_t *n = arena_calloc(x->a, sizeof *n);
    const char *colon = strrchr(name, ':');
    n->name = arena_strdup(x->a, colon ? colon + 1 : name);
    buf_init(&n->text, XML_MAX_TEXT);
    n->parent = x->cur;
    if (x->cur) {
        if (x->cur->last)
            x->cur->last->next = n;
        else
            x->cur->child = n;
        x->cur->last = n;
    } else {
        x->root = n;
    }
    x->cur = n;
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
    (void)name;
    xparse_t *x = data;
    if (x->failed || !x->cur)
        return;
    x->depth--;
    x->cur = x->cur->parent;
}

static void XMLCALL on_text(void *data, const XML_Char *s, int len)
{
    xparse_t *x = data;
    if (x->failed || !x->cur)
        return;
    if (buf_append(&x->cur->text, s, (size_t)len))
        fail_parse(x);
}

/* S3 bodies have no DTD; one could define entities that expand far past
 * the input's size, so any DOCTYPE fails the parse. */
static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    fail_parse(data);
}

static void free_texts(xnode_t *n)
{
    for (; n; n = n->next) {
        free_texts(n->child);
        buf_destroy(&n->text);
    }
}

static void set_malformed(aws_error_t *err, const char *msg)
{
    if (err->code)
        return;
    err->code = "MalformedXML";
    err->status = 400;
    err->sender = true;
    snprintf(err->message, sizeof err->message, "%s", msg);
}

static const char *wire(const model_member_t *m) { return m->location_name ? m->location_name : m->name; }

static json_t *from_node(const model_service_t *svc, int shape, const xnode_t *n, aws_error_t *err, int depth);

static json_t *scalar_from(const model_service_t *svc, int shape, const xnode_t *n, aws_error_t *err)
{
    const model_shape_t *s = &svc->shapes[shape];
    const char *t = n->text.data;
    size_t tl = n->text.len;
    switch (s->type) {
    case SHAPE_STRING:
    case SHAPE_BLOB: {
        json_t *j = json_stringn(t, tl);
        if (!j)
            set_malformed(err, MSG_MALFORMED);
        return j;
    }
    case SHAPE_BOOLEAN: {
        strv_t v = strv_trim((strv_t){t, tl});
        if (strv_eq_cstr(v, "true"))
            return json_true();
        if (strv_eq_cstr(v, "false"))
            return json_false();
        break;
    }
    case SHAPE_INTEGER:
    case SHAPE_LONG: {
        char *end;
        long long x = tl ? strtoll(t, &end, 10) : 0;
        if (tl && end != t && strv_trim((strv_t){end, tl - (size_t)(end - t)}).len == 0)
            return json_integer(x);
        break;
    }
    case SHAPE_DOUBLE:
    case SHAPE_FLOAT: {
        char *end;
        double x = strtod(t, &end);
        if (tl && end != t)
            return json_real(x);
        break;
    }
    case SHAPE_TIMESTAMP: {
        double x;
        if (iso8601_parse(t, &x))
            return x == (double)(int64_t)x ? json_integer((json_int_t)x) : json_real(x);
        break;
    }
    default: break;
    }
    set_malformed(err, MSG_MALFORMED);
    return NULL;
}

static json_t *list_item(const model_service_t *svc, const model_shape_t *ls, const xnode_t *n, aws_error_t *err,
                         int depth)
{
    return from_node(svc, ls->members[0].shape, n, err, depth + 1);
}

static json_t *from_node(const model_service_t *svc, int shape, const xnode_t *n, aws_error_t *err, int depth)
{
    const model_shape_t *s = &svc->shapes[shape];
    if (depth > XML_MAX_DEPTH) {
        set_malformed(err, MSG_MALFORMED);
        return NULL;
    }
    if (s->type == SHAPE_STRUCTURE) {
        json_t *o = json_object();
        for (const xnode_t *c = n->child; c; c = c->next) {
            const model_member_t *m = NULL;
            for (int i = 0; i < s->nmembers && !m; i++)
                if (s->members[i].location == LOC_BODY && strcmp(wire(&s->members[i]), c->name) == 0)
                    m = &s->members[i];
            if (!m)
                continue; /* unknown elements are ignored, as S3 does */
            const model_shape_t *ms = &svc->shapes[m->shape];
            json_t *v;
            if (ms->type == SHAPE_LIST && (ms->flattened || m->flattened)) {
                json_t *arr = json_object_get(o, m->name);
                if (!arr) {
                    arr = json_array();
                    json_object_set_new(o, m->name, arr);
                }
                v = list_item(svc, ms, c, err, depth);
                if (!v)
                    goto fail;
                json_array_append_new(arr, v);
                continue;
            }
            v = from_node(svc, m->shape, c, err, depth + 1);
            if (!v)
                goto fail;
            json_object_set_new(o, m->name, v);
        }
        return o;
    fail:
        json_decref(o);
        return NULL;
    }
    if (s->type == SHAPE_LIST) {
        json_t *arr = json_array();
        for (const xnode_t *c = n->child; c; c = c->next) {
            json_t *v = list_item(svc, s, c, err, depth);
            if (!v) {
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, v);
        }
        return arr;
    }
    if (s->type == SHAPE_MAP) {
        /* <entry><key>k</key><value>v</value></entry> */
        json_t *o = json_object();
        const char *kn = wire(&s->members[0]), *vn = wire(&s->members[1]);
        if (strcmp(kn, "member") == 0)
            kn = "key";
        if (strcmp(vn, "member") == 0)
            vn = "value";
        for (const xnode_t *e = n->child; e; e = e->next) {
            const xnode_t *k = NULL, *v = NULL;
            for (const xnode_t *c = e->child; c; c = c->next) {
                if (strcmp(c->name, kn) == 0)
                    k = c;
                else if (strcmp(c->name, vn) == 0)
                    v = c;
            }
            if (!k || !v || !k->text.len)
                continue;
            json_t *jv = from_node(svc, s->members[1].shape, v, err, depth + 1);
            if (!jv) {
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, k->text.data, jv);
        }
        return o;
    }
    return scalar_from(svc, shape, n, err);
}

json_t *proto_rest_xml_parse(const model_service_t *svc, int shape, const char *root_name, strv_t body, arena_t *a,
                             aws_error_t *err)
{
    if (body.len > PROTO_XML_MAX_BODY) {
        set_malformed(err, "Your XML body is larger than kyoka accepts (2 MiB)");
        return NULL;
    }
    xparse_t x = {.a = a};
    x.p = XML_ParserCreate("UTF-8");
    XML_SetUserData(x.p, &x);
    XML_SetElementHandler(x.p, on_start, on_end);
    XML_SetCharacterDataHandler(x.p, on_text);
    XML_SetStartDoctypeDeclHandler(x.p, on_doctype);
    XML_SetParamEntityParsing(x.p, XML_PARAM_ENTITY_PARSING_NEVER);
    enum XML_Status st = XML_Parse(x.p, body.len ? body.p : "", (int)body.len, XML_TRUE);
    json_t *out = NULL;
    if (st != XML_STATUS_OK || x.failed || !x.root) {
        set_malformed(err, MSG_MALFORMED);
    } else if (root_name && strcmp(x.root->name, root_name) != 0) {
        set_malformed(err, MSG_MALFORMED);
    } else {
        out = from_node(svc, shape, x.root, err, 0);
    }
    XML_ParserFree(x.p);
    if (x.root)
        free_texts(x.root);
    return out;
}

/* ---------------------------------------------------------------- decode */

json_t *proto_rest_xml_decode(const model_service_t *svc, const model_op_t *op, strv_t path, strv_t query,
                              const proto_header_t *headers, size_t nheaders, strv_t body, arena_t *a,
                              aws_error_t *err)
{
    /* Every binding but the body is REST-JSON's: give it no body. */
    json_t *in = proto_rest_json_decode(svc, op, path, query, headers, nheaders, (strv_t){"", 0}, a, err);
    if (!in) {
        /* A value that is not of its member's type: S3 says InvalidArgument. */
        if (err->code && strcmp(err->code, "SerializationException") == 0)
            err->code = "InvalidArgument";
        return NULL;
    }
    if (op->input < 0)
        return in;
    const model_shape_t *s = &svc->shapes[op->input];
    if (s->payload < 0 || body.len == 0)
        return in;
    const model_member_t *m = &s->members[s->payload];
    const model_shape_t *ps = &svc->shapes[m->shape];
    json_t *v = NULL;
    if (ps->type == SHAPE_BLOB) {
        v = json_stringn_nocheck(body.p, body.len);
    } else if (ps->type == SHAPE_STRING) {
        v = json_stringn(body.p, body.len);
        if (!v) {
            err->code = "InvalidArgument";
            err->status = 400;
            err->sender = true;
            snprintf(err->message, sizeof err->message, "The request body must be valid UTF-8");
        }
    } else {
        v = proto_rest_xml_parse(svc, m->shape, wire(m), body, a, err);
    }
    if (!v) {
        json_decref(in);
        return NULL;
    }
    json_object_set_new(in, m->name, v);
    return in;
}

/* ---------------------------------------------------------------- encode */

/* Root elements of S3's responses, which the models do not name. text:
 * the root holds the single body member's value as its text
 * (GetBucketLocation's <LocationConstraint>us-west-2</LocationConstraint>). */
static const struct {
    const char *shape, *root;
    bool text;
} roots[] = {
    {"ListObjectsOutput", "ListBucketResult", false},
    {"ListObjectsV2Output", "ListBucketResult", false},
    {"ListBucketsOutput", "ListAllMyBucketsResult", false},
    {"ListObjectVersionsOutput", "ListVersionsResult", false},
    {"ListMultipartUploadsOutput", "ListMultipartUploadsResult", false},
    {"ListPartsOutput", "ListPartsResult", false},
    {"CreateMultipartUploadOutput", "InitiateMultipartUploadResult", false},
    {"CompleteMultipartUploadOutput", "CompleteMultipartUploadResult", false},
    {"DeleteObjectsOutput", "DeleteResult", false},
    {"GetObjectTaggingOutput", "Tagging", false},
    {"GetBucketTaggingOutput", "Tagging", false},
    {"GetBucketVersioningOutput", "VersioningConfiguration", false},
    {"GetBucketLocationOutput", "LocationConstraint", true},
    {"GetBucketPolicyStatusOutput", "PolicyStatus", false},
    {"GetBucketAclOutput", "AccessControlPolicy", false},
    {"GetObjectAclOutput", "AccessControlPolicy", false},
    {"GetBucketCorsOutput", "CORSConfiguration", false},
    {"GetBucketNotificationConfigurationOutput", "NotificationConfiguration", false},
    {"NotificationConfiguration", "NotificationConfiguration", false},
    {"GetBucketLifecycleConfigurationOutput", "LifecycleConfiguration", false},
    {"GetBucketOwnershipControlsOutput", "OwnershipControls", false},
    {"GetPublicAccessBlockOutput", "PublicAccessBlockConfiguration", false},
    {"GetBucketEncryptionOutput", "ServerSideEncryptionConfiguration", false},
};

static void text_of(const model_service_t *svc, int shape, json_t *v, buf_t *b)
{
    const model_shape_t *s = &svc->shapes[shape];
    char tmp[64];
    if (s->type == SHAPE_TIMESTAMP && json_is_number(v)) {
        double t = json_number_value(v);
        kyoka_time_iso8601((int64_t)(t * 1000.0 + 0.5), tmp, true);
        buf_appends(b, tmp);
    } else if (json_is_string(v)) {
        xml_escape(b, json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        buf_appendf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        buf_appendf(b, "%.17g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        buf_appends(b, json_is_true(v) ? "true" : "false");
    }
}

static int write_el(const model_service_t *svc, int shape, const model_member_t *m, const char *name, json_t *v,
                    buf_t *b, int depth);

static void write_members(const model_service_t *svc, const model_shape_t *s, json_t *o, buf_t *b, int depth)
{
    for (int i = 0; i < s->nmembers; i++) {
        const model_member_t *m = &s->members[i];
        if (m->location != LOC_BODY)
            continue;
        json_t *v = json_object_get(o, m->name);
        if (!v || json_is_null(v))
            continue;
        write_el(svc, m->shape, m, wire(m), v, b, depth + 1);
    }
}

static int write_el(const model_service_t *svc, int shape, const model_member_t *m, const char *name, json_t *v,
                    buf_t *b, int depth)
{
    const model_shape_t *s = &svc->shapes[shape];
    if (depth > XML_MAX_DEPTH)
        return KYOKA_EINVAL;
    if (s->type == SHAPE_LIST) {
        if (!json_is_array(v))
            return 0;
        const model_member_t *im = &s->members[0];
        bool flat = s->flattened || (m && m->flattened);
        const char *iname = flat ? name : wire(im);
        if (!flat)
            buf_appendf(b, "<%s>", name);
        size_t i;
        json_t *it;
        json_array_foreach(v, i, it)
            write_el(svc, im->shape, im, iname, it, b, depth + 1);
        if (!flat)
            buf_appendf(b, "</%s>", name);
        return 0;
    }
    buf_appendf(b, "<%s>", name);
    if (s->type == SHAPE_STRUCTURE && json_is_object(v)) {
        write_members(svc, s, v, b, depth);
    } else if (s->type == SHAPE_MAP && json_is_object(v)) {
        const char *k;
        json_t *mv;
        json_object_foreach(v, k, mv) {
            buf_appends(b, "<entry><key>");
            xml_escape(b, k, strlen(k));
            buf_appends(b, "</key>");
            write_el(svc, s->members[1].shape, &s->members[1], "value", mv, b, depth + 1);
            buf_appends(b, "</entry>");
        }
    } else {
        text_of(svc, shape, v, b);
    }
    buf_appendf(b, "</%s>", name);
    return 0;
}

int proto_rest_xml_write(const model_service_t *svc, int shape, const char *root, json_t *v, buf_t *body)
{
    buf_appends(body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    const model_shape_t *s = &svc->shapes[shape];
    buf_appendf(body, "<%s xmlns=\"" S3_NS "\">", root);
    if (s->type == SHAPE_STRUCTURE && json_is_object(v))
        write_members(svc, s, v, body, 0);
    buf_appendf(body, "</%s>", root);
    return buf_err(body);
}

int proto_rest_xml_encode(const model_service_t *svc, const model_op_t *op, json_t *output, arena_t *a, int *status,
                          proto_header_t *hdrs, size_t *nhdrs, size_t cap, const char **content_type, buf_t *body)
{
    *content_type = NULL;
    if (op->output < 0) {
        *status = op->response_code ? op->response_code : 200;
        return 0;
    }
    if (output && !json_is_object(output))
        return KYOKA_EINVAL;
    const model_shape_t *s = &svc->shapes[op->output];
    /* Headers and status through the REST-JSON encoder, fed only the
     * members that travel outside the body. */
    json_t *outside = json_object();
    bool any_body = false;
    for (int i = 0; output && i < s->nmembers; i++) {
        const model_member_t *m = &s->members[i];
        json_t *v = json_object_get(output, m->name);
        if (!v)
            continue;
        if (m->location == LOC_BODY)
            any_body = true;
        else if (!(m->location == LOC_HEADER && strcasecmp(wire(m), "Content-Length") == 0))
            json_object_set(outside, m->name, v); /* the server sets Content-Length */
    }
    buf_t scratch;
    buf_init(&scratch, 1 << 20);
    const char *ct = NULL;
    int rc = proto_rest_json_encode(svc, op, outside, a, status, hdrs, nhdrs, cap, &ct, &scratch);
    buf_destroy(&scratch);
    json_decref(outside);
    if (rc != 0)
        return rc;
    if (!any_body)
        return 0;
    if (s->payload >= 0) {
        const model_member_t *m = &s->members[s->payload];
        json_t *v = json_object_get(output, m->name);
        const model_shape_t *ps = &svc->shapes[m->shape];
        if (!v)
            return 0;
        if (ps->type == SHAPE_BLOB || ps->type == SHAPE_STRING) {
            if (!json_is_string(v))
                return KYOKA_EINVAL;
            buf_append(body, json_string_value(v), json_string_length(v));
            *content_type = ps->type == SHAPE_BLOB ? "binary/octet-stream" : "text/plain";
            return buf_err(body);
        }
        *content_type = "application/xml";
        return proto_rest_xml_write(svc, m->shape, wire(m), v, body);
    }
    const char *root = NULL;
    bool text = false;
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(roots) && !root; i++)
        if (strcmp(roots[i].shape, s->name) == 0)
            root = roots[i].root, text = roots[i].text;
    if (!root) {
        size_t n = strlen(s->name);
        root = n > 6 && strcmp(s->name + n - 6, "Output") == 0 ? arena_strndup(a, s->name, n - 6) : s->name;
    }
    *content_type = "application/xml";
    if (text) {
        buf_appends(body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        buf_appendf(body, "<%s xmlns=\"" S3_NS "\">", root);
        for (int i = 0; i < s->nmembers; i++)
            if (s->members[i].location == LOC_BODY) {
                json_t *v = json_object_get(output, s->members[i].name);
                if (v)
                    text_of(svc, s->members[i].shape, v, body);
            }
        buf_appendf(body, "</%s>", root);
        return buf_err(body);
    }
    return proto_rest_xml_write(svc, op->output, root, output, body);
}

/* ---------------------------------------------------------------- errors */

static bool element_name_ok(const char *n)
{
    if (!*n)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9' && p != n)))
            return false;
    return true;
}

int proto_rest_xml_encode_error_details(const aws_error_t *err, const char *request_id, json_t *details, buf_t *out)
{
    buf_appends(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
    xml_escape(out, err->code, strlen(err->code));
    buf_appends(out, "</Code><Message>");
    xml_escape(out, aws_error_text(err), strlen(aws_error_text(err)));
    buf_appends(out, "</Message>");
    const char *k;
    json_t *v;
    if (json_is_object(details))
        json_object_foreach(details, k, v) {
            if (!json_is_string(v) || !element_name_ok(k))
                continue;
            buf_appendf(out, "<%s>", k);
            xml_escape(out, json_string_value(v), json_string_length(v));
            buf_appendf(out, "</%s>", k);
        }
    buf_appendf(out, "<RequestId>%s</RequestId></Error>", request_id);
    return buf_err(out);
}
