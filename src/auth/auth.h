/*
 * auth: who sent this request? AWS Signature Version 4 verification and the
 * credential store.
 *
 * SigV4 is checked for the Authorization header form, presigned query
 * strings (X-Amz-Algorithm et al., with X-Amz-Expires), and every
 * x-amz-content-sha256 form: a hex digest, UNSIGNED-PAYLOAD, and the
 * streaming aws-chunked forms (STREAMING-AWS4-HMAC-SHA256-PAYLOAD with
 * per-chunk signatures, ...-PAYLOAD-TRAILER, and
 * STREAMING-UNSIGNED-PAYLOAD-TRAILER with trailing checksums as the
 * JavaScript SDK v3 sends them). Derived signing keys are cached per
 * (secret, date, region, service).
 *
 * The credential store maps access key ids to credentials: the root keys
 * (configured at start), and later IAM users' keys and STS session
 * credentials, which the iam and sts code add and remove.
 *
 * Thread: loop thread only.
 */
#ifndef KYOKA_AUTH_H
#define KYOKA_AUTH_H

#include "core/core.h"

/* ---- credentials ---- */
typedef enum {
    AUTH_PRINCIPAL_ANONYMOUS = 0,
    AUTH_PRINCIPAL_ROOT,
    AUTH_PRINCIPAL_USER,         /* IAM user long-term key */
    AUTH_PRINCIPAL_ASSUMED_ROLE, /* STS AssumeRole session */
    AUTH_PRINCIPAL_FEDERATED_USER,
    AUTH_PRINCIPAL_SERVICE       /* a service acting for itself (s3.amazonaws.com) */
} auth_principal_type_t;

typedef struct auth_cred {
    char *access_key_id;     /* "AKIA..." / "ASIA..." / "test" */
    char *secret_access_key;
    char *session_token;     /* NULL for long-term keys */
    char *account_id;        /* "000000000000" */
    char *principal_arn;     /* arn:aws:iam::000000000000:root, ...:user/alice,
                                arn:aws:sts::000000000000:assumed-role/R/session */
    char *user_id;           /* aws:userid: account id for root, AIDA... for
                                users, AROA...:session for role sessions */
    char *source_arn;        /* for role sessions: the role's ARN; else NULL */
    char *session_name;      /* role session name; else NULL */
    auth_principal_type_t type;
    int64_t expires_ms;      /* 0 = never (server clock) */
    bool active;             /* IAM access key status Active/Inactive */
    void *owner;             /* opaque back-pointer for the iam component */
} auth_cred_t;

typedef struct auth_store auth_store_t;

auth_store_t *auth_store_create(void);
void auth_store_free(auth_store_t *s); /* NULL ok; frees every cred */
/* Add a credential; the store takes a deep copy of every string. Replaces an
 * existing entry with the same key id. Returns the stored copy. */
auth_cred_t *auth_store_put(auth_store_t *s, const auth_cred_t *c);
auth_cred_t *auth_store_lookup(auth_store_t *s, strv_t access_key_id);
void auth_store_remove(auth_store_t *s, strv_t access_key_id);
/* Remove every credential that is not root (POST /_kyoka/reset). */
void auth_store_remove_non_root(auth_store_t *s);

/* ---- what SigV4 needs to see of a request ---- */
typedef struct auth_header {
    strv_t name;
    strv_t value;
} auth_header_t;

typedef struct auth_request {
    strv_t method;
    strv_t path;  /* raw, percent-encoded as received */
    strv_t query; /* raw, without '?' */
    const auth_header_t *headers;
    size_t nheaders;
    /* The buffered body, when the caller has it; used to hash the payload
     * when x-amz-content-sha256 is absent (query and JSON services). When
     * the body is streamed, pass has_body = false: a hex
     * x-amz-content-sha256 is then checked by the caller at the end with
     * auth_payload_hash_*. */
    strv_t body;
    bool has_body;
    /* Real wall-clock time, for the 15-minute skew window: clients sign with
     * their own clock, so moving kyoka's server clock (tests do, to expire
     * visibility timeouts or credentials) must not make every signature
     * "expired". 0 means the same as now_ms. Credential and presigned-URL
     * expiry use now_ms, the server clock. */
    int64_t wall_ms;
} auth_request_t;

/* Why authentication failed. The server maps each to the wire error code of
 * the service (S3 spells some differently). */
typedef enum {
    AUTH_OK = 0,
    AUTH_ANONYMOUS,              /* no Authorization header, no presign: not an error for S3 */
    AUTH_MISSING_TOKEN,          /* unused by verify; for callers that require auth */
    AUTH_INCOMPLETE_SIGNATURE,   /* Authorization header malformed / missing parts */
    AUTH_UNKNOWN_KEY,            /* InvalidClientTokenId / InvalidAccessKeyId */
    AUTH_SIGNATURE_MISMATCH,     /* SignatureDoesNotMatch */
    AUTH_REQUEST_EXPIRED,        /* outside the 15-minute skew window */
    AUTH_PRESIGN_EXPIRED,        /* presigned URL past X-Amz-Expires */
    AUTH_TOKEN_EXPIRED,          /* STS session credentials past expiry: ExpiredToken */
    AUTH_TOKEN_INVALID,          /* session token missing/mismatched for an ASIA key */
    AUTH_CONTENT_SHA_MISMATCH,   /* XAmzContentSHA256Mismatch */
    AUTH_UNSUPPORTED_ALGORITHM,  /* not AWS4-HMAC-SHA256 (e.g. SigV2, SigV4a) */
    AUTH_KEY_INACTIVE            /* the access key is Inactive */
} auth_status_t;

typedef struct auth_result {
    auth_status_t status;
    char message[512];        /* AWS-shaped message for the failure */
    const auth_cred_t *cred;  /* on AUTH_OK: the verified credential (owned by the store) */
    char access_key_id[129];  /* as presented, even on failure */
    char region[64];          /* from the credential scope */
    char service[64];         /* from the credential scope, e.g. "sqs" */
    char date[9];             /* YYYYMMDD scope date */
    char amz_date[17];        /* YYYYMMDDTHHMMSSZ */
    char seed_signature[65];  /* the request signature: chunk chain seed */
    unsigned char signing_key[32];
    bool presigned;
    char content_sha256[80];  /* the declared x-amz-content-sha256, may be empty */
} auth_result_t;

/* Verify a request's signature against the store at server time now_ms.
 * Always fills res (status, message, scope fields when they could be read).
 * Never allocates from the request. */
void auth_sigv4_verify(auth_store_t *s, const auth_request_t *req, int64_t now_ms,
                       auth_result_t *res);

/* Only read the credential scope (service, region, key id) without verifying:
 * the router uses it to pick the service. Returns false if none is present. */
bool auth_sigv4_peek_scope(const auth_request_t *req, char service[64], char region[64]);

/* Helpers for callers that build signatures (tests, the bench load generator,
 * presigning). Computes the Authorization header value for a request signed
 * with (akid, secret) at amz_date for region/service, signing every header in
 * req->headers; payload_hash is the hex SHA-256 of the body or
 * "UNSIGNED-PAYLOAD". Result written to out (NUL-terminated). */
int auth_sigv4_sign(const auth_request_t *req, const char *akid, const char *secret,
                    const char *amz_date, const char *region, const char *service,
                    const char *payload_hash, buf_t *out) KYOKA_WUR;

/* Hex SHA-256 of data (65 bytes incl NUL). */
void auth_sha256_hex(const void *data, size_t n, char out[65]);
/* The raw SHA-256 digest (Lambda reports CodeSha256 as its base64). */
void auth_sha256(const void *data, size_t n, unsigned char out[32]);

/* ---- incremental payload hash, for streamed bodies with a hex
 * x-amz-content-sha256 ---- */
typedef struct auth_payload_hash auth_payload_hash_t;
auth_payload_hash_t *auth_payload_hash_create(void);
void auth_payload_hash_update(auth_payload_hash_t *h, const void *p, size_t n);
/* Finish and compare with the expected hex digest; frees h. */
bool auth_payload_hash_finish(auth_payload_hash_t *h, const char *expected_hex);

/* ---- aws-chunked decoding (Content-Encoding: aws-chunked) ----
 * Feed raw body bytes as they arrive; decoded payload bytes come out through
 * the sink. Chunk signatures are chained from the seed signature and checked
 * for the signed forms; trailing headers (x-amz-checksum-crc32, -crc32c,
 * -sha1, -sha256, and x-amz-trailer-signature) are parsed and the checksum
 * verified. Limits: chunk-size line and trailer sizes are capped. */
typedef struct auth_chunked auth_chunked_t;
typedef int (*auth_chunk_sink_fn)(void *data, const char *p, size_t n);

/* mode is the x-amz-content-sha256 value; res is the auth result of the
 * request (for the seed signature, signing key, scope). Returns NULL when
 * mode is not one of the three STREAMING-* forms above, or when a signed
 * form comes without a verified res (status AUTH_OK). The sink may see a
 * chunk's bytes before that chunk's signature is checked: on any error the
 * caller discards the whole body. */
auth_chunked_t *auth_chunked_create(const char *mode, const auth_result_t *res,
                                    auth_chunk_sink_fn sink, void *sink_data);
/* Optional, before the first feed, for the trailer forms: pass the
 * request's x-amz-trailer header (e.g. "x-amz-checksum-crc32"). Only the
 * named checksum is then computed, and its trailer becomes required.
 * Without it every supported checksum (crc32, crc32c, crc64nvme, sha1,
 * sha256) is computed, which costs a pass over the data for each. Returns
 * KYOKA_EINVAL for an unknown x-amz-checksum-* name, a non-trailer mode, or
 * after feeding has started. */
int auth_chunked_expect_trailer(auth_chunked_t *c, strv_t x_amz_trailer) KYOKA_WUR;
/* Returns 0, or KYOKA_EPARSE (malformed framing), KYOKA_EAUTH (a chunk or
 * trailer signature is wrong), KYOKA_EINVAL (checksum mismatch), or the
 * sink's non-zero return. auth_chunked_error() then says why, in AWS words. */
int auth_chunked_feed(auth_chunked_t *c, const char *p, size_t n) KYOKA_WUR;
/* The body ended: checks the final zero chunk and trailer arrived. */
int auth_chunked_finish(auth_chunked_t *c) KYOKA_WUR;
const char *auth_chunked_error(const auth_chunked_t *c);
/* Total decoded bytes; x-amz-decoded-content-length is checked against it by
 * the caller. */
uint64_t auth_chunked_decoded_bytes(const auth_chunked_t *c);
void auth_chunked_free(auth_chunked_t *c); /* NULL ok */

#endif
