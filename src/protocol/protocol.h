/*
 * protocol: AWS wire protocols, driven by the botocore service models.
 *
 * tools/gen_models.py turns Debian's botocore service-2.json files (plus
 * small overlays for operations newer than Debian's copy) into shape tables
 * (models_gen.c). Handlers never see the wire: every protocol decodes a
 * request into one canonical JSON tree that follows the operation's input
 * shape (member names as in the model, lists as arrays, maps as objects), and
 * encodes the handler's output tree, or the call's error, back into that
 * protocol's shape:
 *   query     form in (member.N / entry.N / flattened lists and maps), XML out
 *   json      JSON 1.0 / 1.1 in and out, X-Amz-Target selects the operation
 * Timestamps in output trees are epoch seconds (integer or real); blobs are
 * base64 strings.
 *
 * Errors are data: a handler sets the call's error once (sticky) by the
 * model's error shape name or AWS's code, and the codec renders it with the
 * right code, HTTP status, fault and request id for the protocol.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_PROTOCOL_H
#define KYOKA_PROTOCOL_H

#include "core/core.h"

#include <jansson.h>

/* ---- models (generated tables) ---- */
typedef enum {
    SHAPE_STRUCTURE, SHAPE_LIST, SHAPE_MAP, SHAPE_STRING, SHAPE_INTEGER, SHAPE_LONG,
    SHAPE_BOOLEAN, SHAPE_TIMESTAMP, SHAPE_BLOB, SHAPE_DOUBLE, SHAPE_FLOAT
} shape_type_t;

typedef struct model_member {
    const char *name;          /* member name in the model */
    const char *location_name; /* wire name (query/XML), NULL = name */
    int shape;                 /* index into the service's shapes */
    bool required;
    bool flattened;            /* member-level xmlFlattened */
} model_member_t;

typedef struct model_shape {
    const char *name;
    shape_type_t type;
    bool flattened;                /* list/map: xml/query flattened */
    const model_member_t *members; /* structure members; list: [0] = member;
                                      map: [0] = key, [1] = value */
    int nmembers;
    bool has_min, has_max;
    int64_t min, max;              /* string length / list length / number range */
    const char *const *enums;      /* NULL-terminated, or NULL */
    /* error shapes only */
    const char *error_code;        /* query error code if it differs ("AWS.SimpleQueueService.NonExistentQueue") */
    int error_status;              /* 0 = not an error shape */
    bool error_sender;
} model_shape_t;

typedef struct model_op {
    const char *name;           /* "SendMessage" */
    int input, output;          /* shape index or -1 */
    const char *result_wrapper; /* query protocol result element, or NULL */
    const char *http_method;
    const char *request_uri;
} model_op_t;

typedef struct model_service {
    const char *name;           /* kyoka service name: "sqs" */
    const char *protocol;       /* "query", "json", "rest-json", "rest-xml" */
    const char *api_version;
    const char *target_prefix;  /* JSON X-Amz-Target prefix ("AmazonSQS") */
    const char *json_version;   /* "1.0" / "1.1" */
    const char *xml_namespace;
    const char *signing_name;   /* credential scope service name */
    const char *error_prefix;   /* JSON __type prefix ("com.amazonaws.sqs#") */
    bool query_compatible;      /* JSON service that also speaks query (SQS) */
    const model_shape_t *shapes;
    int nshapes;
    const model_op_t *ops;
    int nops;
} model_service_t;

const model_service_t *model_service_lookup(const char *name);
const model_op_t *model_op_lookup(const model_service_t *svc, strv_t name);
int model_shape_lookup(const model_service_t *svc, const char *name); /* index or -1 */
/* Every generated service, NULL-terminated. */
extern const model_service_t *const model_services[];

/* ---- errors ---- */
typedef struct aws_error {
    const char *code;  /* static string: shape name or AWS code; NULL = no error */
    char message[1024];
    int status;        /* HTTP status */
    bool sender;       /* Sender (client) vs Receiver (server) fault */
} aws_error_t;

/* ---- the protocol a request arrived in ---- */
typedef enum {
    PROTO_NONE = 0,
    PROTO_QUERY,
    PROTO_JSON,
    PROTO_REST_JSON,
    PROTO_REST_XML
} proto_kind_t;

/* One decoded form/query parameter. */
typedef struct form_param {
    strv_t key;   /* percent-decoded, arena-owned */
    strv_t value;
} form_param_t;

/* Parse application/x-www-form-urlencoded text into params allocated from
 * the arena. At most max_params; more is KYOKA_ELIMIT. Returns count >= 0 or
 * a negative error. */
int form_parse(arena_t *a, strv_t text, form_param_t **out, size_t max_params) KYOKA_WUR;
/* Percent-decode (and '+' to space when plus_is_space) into the arena. */
strv_t form_decode(arena_t *a, strv_t s, bool plus_is_space);

/* Build the input tree for op from query parameters (Action/Version ignored).
 * On a bad value sets err (InvalidParameterValue-style) and returns NULL.
 * Returns a new reference. */
json_t *proto_query_decode(const model_service_t *svc, const model_op_t *op,
                           const form_param_t *params, size_t n, aws_error_t *err);

/* Check the tree against the input shape: required members present, types
 * right, string lengths, list lengths and enums in range (AWS's
 * "1 validation error detected" style is left to services; this reports
 * the first problem as MissingParameter / InvalidParameterValue). Returns
 * true when valid. */
bool proto_validate_input(const model_service_t *svc, const model_op_t *op, json_t *input,
                          aws_error_t *err);

/* Render output (may be NULL) for op as the query protocol's XML response. */
int proto_query_encode(const model_service_t *svc, const model_op_t *op, json_t *output,
                       const char *request_id, buf_t *out) KYOKA_WUR;
int proto_query_encode_error(const model_service_t *svc, const aws_error_t *err,
                             const char *request_id, buf_t *out) KYOKA_WUR;

/* JSON protocols: output as-is (NULL -> "{}"). */
int proto_json_encode(json_t *output, buf_t *out) KYOKA_WUR;
/* json_dumps, but the text is malloc'd: free it with free(). (jansson's
 * own json_dumps allocates with jansson's allocator, which kyoka replaces;
 * banned.h forbids it.) NULL when j cannot be encoded. */
char *proto_json_dumps(const json_t *j, size_t flags);
/* Append j's JSON text to out; buf_t error or KYOKA_EINVAL. */
int proto_json_dump_buf(const json_t *j, size_t flags, buf_t *out) KYOKA_WUR;
/* Route jansson's allocations through kyoka_small_alloc (call first in
 * main, before any json_t exists). Sanitizer builds keep malloc so leaks
 * and use-after-free of JSON values stay visible. */
void proto_json_use_small_alloc(void);
/* {"__type": prefix+code, "message": ...}; *query_error_header set to the
 * "Code;Sender" value for query-compatible services (arena string) or NULL. */
int proto_json_encode_error(const model_service_t *svc, const aws_error_t *err, arena_t *a,
                            buf_t *out, const char **query_error_header) KYOKA_WUR;

/* Resolve an error code set by a handler against the model: for error
 * shapes, fill status/sender and the query code. Returns the code to put on
 * the wire for the protocol. */
const char *proto_error_wire_code(const model_service_t *svc, const aws_error_t *err,
                                  proto_kind_t proto);

/* REST-XML error body as S3 sends it:
 * <Error><Code/><Message/><RequestId/></Error>. */
int proto_rest_xml_encode_error(const aws_error_t *err, const char *request_id, buf_t *out) KYOKA_WUR;
/* REST-JSON error body as Lambda sends it ({"Type":"User","message":...});
 * the caller also sends the x-amzn-ErrorType header with the code. */
int proto_rest_json_encode_error(const aws_error_t *err, buf_t *out) KYOKA_WUR;

/* XML text escaping into b. */
void xml_escape(buf_t *b, const char *s, size_t n);

/* Base64 into/out of the arena. decode returns -1 on invalid input. */
char *base64_encode(arena_t *a, const void *data, size_t n);
ssize_t base64_decode(arena_t *a, strv_t s, unsigned char **out);

#endif
