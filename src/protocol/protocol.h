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
 *   rest-json the method and URI template select the operation; members
 *             travel in the URI, the query string, headers, the status code
 *             or a JSON body (Lambda; see the REST-JSON section below)
 * Timestamps in output trees are epoch seconds (integer or real); blobs are
 * base64 strings, except a REST payload blob, which is raw bytes (below).
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

/* The protocol a request arrived in (and a model's protocol). */
typedef enum {
    PROTO_NONE = 0,
    PROTO_QUERY,
    PROTO_JSON,
    PROTO_REST_JSON,
    PROTO_REST_XML
} proto_kind_t;

/* Where a member travels in a REST request or response (botocore's member
 * "location"). The query and JSON protocols only know LOC_BODY. */
typedef enum {
    LOC_BODY = 0,    /* the JSON body, under location_name (or name) */
    LOC_URI,         /* a {label} of the request URI; location_name = the label */
    LOC_QUERYSTRING, /* query parameter location_name; a list repeats the key; a map
                        takes every parameter no other member binds */
    LOC_HEADER,      /* header location_name; a list is comma-separated */
    LOC_HEADERS,     /* map: every header whose name starts with location_name */
    LOC_STATUS_CODE  /* the response's HTTP status (output only) */
} model_location_t;

/* botocore timestampFormat, resolved onto the member (the member's own trait,
 * else its target shape's). TSF_DEFAULT means the location's default:
 * epoch seconds in JSON bodies, ISO 8601 in the URI and query string,
 * RFC 822 (IMF-fixdate) in headers. */
typedef enum { TSF_DEFAULT = 0, TSF_ISO8601, TSF_EPOCH, TSF_RFC822 } model_ts_format_t;

typedef struct model_member {
    const char *name;          /* member name in the model */
    const char *location_name; /* wire name, NULL = name: query key / XML element for
                                  query; for REST the URI label, query key, header name
                                  (prefix for LOC_HEADERS) or JSON body key */
    int shape;                 /* index into the service's shapes */
    bool required;
    bool flattened;            /* member-level xmlFlattened */
    model_location_t location; /* REST binding (LOC_BODY elsewhere and inside bodies) */
    model_ts_format_t timestamp_format;
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
    /* REST services */
    const char *pattern;           /* the model's regex (Java syntax), rest-json services only; or NULL */
    bool sensitive;                /* values are not echoed in validation messages */
    int payload;                   /* structure: index of the member bound to the whole body
                                      (botocore "payload"), or -1 */
    bool payload_raw;              /* that member is a blob or string: the body is its bytes
                                      (false: a structure, the body is its JSON) */
    bool json_walk;                /* rest-json: somewhere inside, a body member's JSON key differs from
                                      its name or a timestamp is not epoch seconds: the codec
                                      rebuilds values of this shape instead of passing them */
} model_shape_t;

typedef struct model_op {
    const char *name;           /* "SendMessage" */
    int input, output;          /* shape index or -1 */
    const char *result_wrapper; /* query protocol result element, or NULL */
    const char *http_method;    /* "GET" */
    const char *request_uri;    /* template: "/2015-03-31/functions/{FunctionName}/invocations",
                                   may end in a literal query ("?List=ALL") */
    int response_code;          /* http.responseCode: the success status (default 200) */
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
    proto_kind_t kind;          /* protocol as an enum */
    /* rest-json services (NULL elsewhere): the code for a request that cannot
     * be read as the model's types (a body that is not JSON, "abc" for an
     * integer; Lambda: "InvalidRequestContentException"), and the code for
     * a value that breaks a model constraint (Lambda: "ValidationException").
     * A non-NULL validation_error switches proto_validate_input to AWS's
     * "1 validation error detected: ..." messages. */
    const char *parse_error;
    const char *validation_error;
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
    const char *long_message; /* when set, the whole message (message holds its
                                 first bytes): AWS quotes long input back, as
                                 Lambda's 4 KB environment error does. Owned by
                                 the request's arena. */
    const char *reason; /* static string: Lambda's TooManyRequestsException
                           "Reason" member, rendered by REST-JSON; or NULL */
} aws_error_t;

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

/* Check the tree against the input shape. Returns true when valid; else
 * sets err (sticky: an error already set stays) and returns false.
 *
 * Query and JSON services (svc->validation_error NULL): required members
 * present and JSON types right, first problem only, as MissingParameter /
 * SerializationException (length, enum and pattern checks are left to the
 * services).
 *
 * Services with a validation_error (rest-json: Lambda), as AWS's front end:
 *   - a value of the wrong JSON type (a string for MemorySize, an integer
 *     past 32 bits for an integer member) is a request that could not be
 *     read: svc->parse_error ("InvalidRequestContentException"), 400,
 *     "Could not parse request body into json: 'memorySize' must be an
 *     integer";
 *   - otherwise every constraint violation, in model order, in one
 *     svc->validation_error ("ValidationException"), 400:
 *       "2 validation errors detected: Value 'x' at 'runtime' failed to
 *        satisfy constraint: Member must satisfy enum value set: [nodejs,
 *        ...]; Value null at 'role' failed to satisfy constraint: Member
 *        must not be null"
 *     Paths lower the member's first letter and join with '.'; elements of
 *     a list of structures are "name.N.member" (1-based). Constraints:
 *     "Member must not be null" (required), "Member must have length less
 *     than or equal to N" / "greater than or equal to N" (strings in UTF-16
 *     units as Java counts, lists, maps), "Member must have value less than
 *     or equal to N" / "greater than ..." (numbers), "Member must satisfy
 *     regular expression pattern: P" (the model's Java regex, whole value),
 *     "Member must satisfy enum value set: [a, b]". A list of scalars with a
 *     bad element is one violation at the list: "Member must satisfy
 *     constraint: [<every element constraint>, Member must not be null]";
 *     maps likewise with "Map keys must satisfy constraint: [...]" and "Map
 *     value must satisfy constraint: [...]". Sensitive values are not
 *     echoed ("Value at 'x' ..."). Blob lengths are not checked (a blob is
 *     base64 or raw by where it travels). The message is cut at 1023
 *     bytes. */
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
/* The same with S3's extra elements after <Message>: each string member of
 * details (an object, borrowed, may be NULL) whose name is a plain element
 * name, in order (InvalidArgument's ArgumentName1 / ArgumentValue1). */
int proto_rest_xml_encode_error_details(const aws_error_t *err, const char *request_id, json_t *details,
                                        buf_t *out) KYOKA_WUR;
/* REST-JSON error body as Lambda sends it ({"Type":"User","message":...});
 * the caller also sends the x-amzn-ErrorType header with the code. */
int proto_rest_json_encode_error(const aws_error_t *err, buf_t *out) KYOKA_WUR;

/* ---- REST-JSON (Lambda) ----
 *
 * The tree follows the input/output shape as for every protocol: each member
 * under its model name wherever it travels (URI label, query parameter,
 * header, status code, body). Values from the URI, query string and headers
 * arrive as text and are converted to the member's type (integers, booleans
 * "true"/"false", timestamps as epoch seconds from ISO 8601, IMF-fixdate or
 * epoch text); JSON body values keep their JSON types.
 *
 * Blobs, one rule both ways:
 *   - A blob member inside a JSON body (CreateFunction's Code.ZipFile) is
 *     base64 text in the tree, exactly as on the wire, as in the query and
 *     JSON protocols; the handler decodes it (base64_decode).
 *   - A blob payload member, bound to the whole body (Invoke's Payload in
 *     both directions, InvokeAsync's InvokeArgs), is the RAW bytes in the
 *     tree, never base64: a jansson string made with json_stringn_nocheck.
 *     Read it with json_string_value + json_string_length (it may hold NULs
 *     and bytes that are not UTF-8); build it with json_stringn_nocheck(p,
 *     n). The decoder copies the request body once into that string; the
 *     encoder copies the string once into the response body. Such a tree
 *     must not be dumped as JSON text (logging it, proto_json_encode).
 *     An empty request body leaves the member out.
 *   - A string payload member is the body as a UTF-8 string; a structure
 *     payload member is the body's JSON object.
 */

/* One HTTP header as the REST codec reads and writes it: the same two views
 * as http_header_t, declared here because the protocol component does not
 * depend on http (the caller copies the views across; nothing is owned).
 * Name case is preserved; lookups ignore case. */
typedef struct proto_header {
    strv_t name;
    strv_t value;
} proto_header_t;

/* The operation of a REST service whose HTTP method and requestUri template
 * match the request. path is the request path still percent-encoded; query
 * is the raw query string without '?' (may be empty). Templates hold {Label}
 * (one non-empty path segment, matched before decoding, so %2F stays inside
 * the label) and {Label+} (greedy, non-empty, may contain '/'), and may end
 * in a literal query ("?find=LayerVersion", "?List=ALL") whose keys and
 * values the request must carry (in any order, among other parameters). A
 * trailing '/' is ignored on both sides ("/2015-03-31/functions/" matches
 * "/2015-03-31/functions" and the reverse) except after a greedy label, whose
 * value keeps it. Of several matches the template with the most literal
 * characters (path plus query literal) wins: ".../{FunctionName}/versions"
 * beats ".../{FunctionName}", "?List=ALL" beats the plain route. Methods
 * compare exactly ("GET"). A segment may hold one label with literal text
 * around it ("report.{Format}"); templates with more than 8 labels never
 * match. Returns a row of svc's static table, or NULL when no template
 * matches (unknown path, or a known path with another method). Pure: no
 * allocation, no error. */
const model_op_t *proto_rest_match(const model_service_t *svc, strv_t method, strv_t path, strv_t query);

/* Decode a request for op (as proto_rest_match found it, same path and
 * query) into its input tree:
 *   uri labels      percent-decoded, converted to the member's type
 *   querystring     first occurrence of the key; a list takes every
 *                   occurrence in order; a map takes every parameter no
 *                   other member (or the template's literal query) binds;
 *                   '+' decodes to a space
 *   header          first header of that name (case-insensitive), trimmed;
 *                   a list splits on commas (quoted items allowed)
 *   headers         map of every header starting with the prefix, keyed by
 *                   the rest of the name as received
 *   payload         the whole body (see the blob rule above)
 *   body            otherwise the members of the JSON body object, read
 *                   under their JSON keys; unknown top-level keys are
 *                   dropped; values are kept as sent (rebuilt only where the
 *                   model renames a key or formats a timestamp inside them)
 *                   and not type-checked here (proto_validate_input does)
 * The body is only parsed when the input has body members; an empty or
 * blank body means none.
 * Errors (err set, NULL returned), all 400 sender faults with code
 * svc->parse_error ("InvalidRequestContentException" for Lambda): a body
 * that is not a JSON object ("Could not parse request body into json: ..."),
 * a URI/query/header value that is not of the member's type ("Invalid value
 * 'abc' for MaxItems in the query string: expected an integer"), text that
 * is not UTF-8 for a string member, more than 1000 query parameters.
 * Constraint checks (required, enums, lengths, ranges, patterns) are left
 * to proto_validate_input. Percent-decoded text lives in a; the tree is a new
 * reference owned by the caller. */
json_t *proto_rest_json_decode(const model_service_t *svc, const model_op_t *op, strv_t path, strv_t query,
                               const proto_header_t *headers, size_t nheaders, strv_t body, arena_t *a,
                               aws_error_t *err);

/* Encode the handler's output tree for op (output may be NULL: no members).
 *   *status        the statusCode member when set (100..599), else the
 *                  op's responseCode (Lambda: 201 CreateFunction, 204
 *                  DeleteFunction, 202 for async ones, else 200)
 *   headers        header members appended at hdrs[*nhdrs], *nhdrs
 *                  advanced: strings as is, integers and reals printed,
 *                  booleans "true"/"false", timestamps (epoch seconds in
 *                  the tree) as IMF-fixdate unless the model says otherwise,
 *                  lists comma-joined; a headers map adds prefix+key. Names
 *                  are the model's static strings (arena strings for a
 *                  headers map), values arena strings.
 *   body           the payload member when the shape has one (raw blob or
 *                  string bytes as is; a structure as JSON); otherwise the
 *                  body members as one JSON object in model order, under
 *                  their JSON keys, timestamps as epoch seconds unless the
 *                  model gives a format; top-level members that are not
 *                  in the model are not written (nested values are written
 *                  as built unless the model renames something inside). No output shape, an absent payload, or
 *                  a shape without body members: an empty body.
 *   *content_type  "application/json" for a JSON body,
 *                  "application/octet-stream" for a blob payload (real
 *                  Lambda labels Invoke's "application/json"; the caller may
 *                  override), "text/plain" for a string payload, NULL for
 *                  no body.
 * Returns 0; KYOKA_ELIMIT when the headers exceed cap or body its max;
 * KYOKA_EINVAL when the tree cannot be encoded (a header value with CR, LF
 * or NUL, a non-string raw payload, output not an object). */
int proto_rest_json_encode(const model_service_t *svc, const model_op_t *op, json_t *output, arena_t *a, int *status,
                           proto_header_t *hdrs, size_t *nhdrs, size_t cap, const char **content_type,
                           buf_t *body) KYOKA_WUR;

/* ---- REST-XML (S3) ----
 *
 * The same tree rules as REST-JSON (members under their model names
 * wherever they travel; URI, query and header bindings decoded and encoded
 * by the REST-JSON code), with an XML body: a structure payload is read
 * from XML whose root element is the payload member's wire name, and
 * output body members are written as S3's XML (elements named by
 * locationName, lists wrapped or flattened as the model says, timestamps
 * ISO 8601 with milliseconds, xmlns of the S3 API). A blob payload is raw
 * bytes in the tree (see the blob rule above) except where the server
 * streams it (S3 object bodies never enter the tree).
 */

/* XML request bodies larger than this are refused (MalformedXML): the
 * largest S3 sends is DeleteObjects' 1,000 keys of up to 1,024 bytes. */
#define PROTO_XML_MAX_BODY (2 * 1024 * 1024)

/* proto_rest_match, then, among the operations on the same method and
 * template, the one whose required query parameters and headers are all
 * present and most numerous (PutObject / CopyObject / UploadPart /
 * UploadPartCopy share PUT /{Bucket}/{Key+}). Pure. */
const model_op_t *proto_rest_xml_match(const model_service_t *svc, strv_t method, strv_t path, strv_t query,
                                       const proto_header_t *hs, size_t nh);

/* As proto_rest_json_decode, with an XML payload. Errors: InvalidArgument
 * for a URI/query/header value of the wrong type, MalformedXML (400) for
 * a body that is not well-formed, too deep or too large, or whose root
 * element is not the payload's. New reference, owned by the caller. */
json_t *proto_rest_xml_decode(const model_service_t *svc, const model_op_t *op, strv_t path, strv_t query,
                              const proto_header_t *headers, size_t nheaders, strv_t body, arena_t *a,
                              aws_error_t *err);

/* Parse body as XML into the tree of shape; root_name (or NULL: any) must
 * name the root element. NULL with err set (MalformedXML) on failure.
 * Exposed for the fuzzer and tests. */
json_t *proto_rest_xml_parse(const model_service_t *svc, int shape, const char *root_name, strv_t body, arena_t *a,
                             aws_error_t *err);

/* Write v as an XML document of shape under <root xmlns=S3>. */
int proto_rest_xml_write(const model_service_t *svc, int shape, const char *root, json_t *v, buf_t *body) KYOKA_WUR;

/* As proto_rest_json_encode, with the body as XML (the output shape's root
 * element as S3 names it), or a raw blob/string payload ("binary/octet-
 * stream" / "text/plain"). A Content-Length header member is not emitted:
 * the server sets it. *content_type "application/xml" for an XML body, NULL
 * for none. */
int proto_rest_xml_encode(const model_service_t *svc, const model_op_t *op, json_t *output, arena_t *a, int *status,
                          proto_header_t *hdrs, size_t *nhdrs, size_t cap, const char **content_type,
                          buf_t *body) KYOKA_WUR;

/* Internal to the codecs: turn bytes of s that are not well-formed UTF-8
 * into '?' (in place), so an error message echoing input stays a valid JSON
 * string. */
void proto__utf8_scrub(char *s);

/* The message to render: the long one when there is one. */
static inline const char *aws_error_text(const aws_error_t *err)
{
    return err->long_message ? err->long_message : err->message;
}

/* XML text escaping into b. */
void xml_escape(buf_t *b, const char *s, size_t n);

/* Base64 into/out of the arena. decode returns -1 on invalid input. */
char *base64_encode(arena_t *a, const void *data, size_t n);
ssize_t base64_decode(arena_t *a, strv_t s, unsigned char **out);

#endif
