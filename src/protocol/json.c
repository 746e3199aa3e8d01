/* JSON 1.0/1.1 protocol output and error shapes, error-code resolution
 * against the model, and input validation against the input shape. */
#include "protocol.h"

#include <stdio.h>
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
    json_object_set_new(o, "message", json_string(err->message));
    int rc = proto_json_encode(o, out);
    json_decref(o);
    *query_error_header = NULL;
    if (svc && svc->query_compatible) {
        const char *qcode = s && s->error_code ? s->error_code : err->code;
        *query_error_header = arena_sprintf(a, "%s;%s", qcode, err->sender ? "Sender" : "Receiver");
    }
    return rc;
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

bool proto_validate_input(const model_service_t *svc, const model_op_t *op, json_t *input, aws_error_t *err)
{
    if (op->input < 0)
        return true;
    return validate_structure(svc, &svc->shapes[op->input], input, err, 0);
}

int proto_rest_json_encode_error(const aws_error_t *err, buf_t *out)
{
    json_t *o = json_pack("{s:s,s:s}", "Type", err->sender ? "User" : "Service", "message", err->message);
    int rc = proto_json_encode(o, out);
    json_decref(o);
    return rc;
}
