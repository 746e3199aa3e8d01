/*
 * Helpers shared inside the auth component only: the SigV4 building blocks
 * (HMAC, key derivation, canonicalization), the signing-key cache that lives
 * in the credential store, and the checksum engines behind aws-chunked
 * trailers. Nothing here is part of auth.h's contract; tests may call it.
 */
#ifndef KYOKA_AUTH_INTERNAL_H
#define KYOKA_AUTH_INTERNAL_H

#include "auth/auth.h"
#include "core/limits.h"

#include <openssl/evp.h>

/* ---- limits ----
 * The canonical request holds the re-encoded path and query (each input byte
 * becomes at most three: "%XX"), the signed headers' names and values, and a
 * few fixed lines. Inputs are capped by the HTTP front end, so this bound is
 * never reached by a request that got that far; it stops anything else. */
#define AUTH_CANONICAL_MAX (6 * KYOKA_HTTP_MAX_URL_BYTES + 2 * KYOKA_HTTP_MAX_HEADER_BYTES + 1024)
/* No client signs more headers than the front end accepts. */
#define AUTH_MAX_SIGNED_HEADERS (2 * KYOKA_HTTP_MAX_HEADERS)
/* aws-chunked framing: one chunk-size line (with its 64-hex signature it is
 * under 100 bytes from every SDK) and the trailer section as a whole. */
#define AUTH_CHUNK_LINE_MAX 4096
#define AUTH_TRAILER_MAX (16 * 1024)

#define AUTH_ALGORITHM "AWS4-HMAC-SHA256"
#define AUTH_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- primitives (sigv4.c) ---- */
/* OpenSSL failing on a digest we always have means memory is gone: abort
 * with the step that failed, as the allocation wrappers do. */
void auth__crypto_fail(const char *what) __attribute__((noreturn));
void auth__hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n,
                       unsigned char out[32]);
/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
 * "aws4_request"). */
void auth__signing_key_derive(strv_t secret, strv_t date, strv_t region, strv_t service,
                              unsigned char out[32]);
/* Hex HMAC-SHA256 of msg under a derived signing key (65 bytes). */
void auth__sign_hex(const unsigned char key[32], const void *msg, size_t n, char out[65]);
bool auth__is_hex64(strv_t s);

/* ---- canonicalization (canonical.c) ---- */
typedef enum {
    AUTH_URI_S3,     /* S3: the path as the client encoded it, with the
                        encoding of each byte made canonical */
    AUTH_URI_RAW,    /* byte for byte as received */
    AUTH_URI_ENCODE  /* other services: dot segments and empty segments
                        removed, then the received path URI-encoded again */
} auth_uri_mode_t;

/* Append the canonical URI of raw_path in the given mode. */
void auth__canon_uri(strv_t raw_path, auth_uri_mode_t mode, buf_t *out);
/* Append the canonical query string: parameters sorted by name then value.
 * normalize re-encodes names and values with the RFC 3986 unreserved set;
 * otherwise they are kept as received. X-Amz-Signature is left out when
 * skip_signature (presigned URLs). Returns KYOKA_ELIMIT past the limits. */
int auth__canon_query(strv_t raw_query, bool normalize, bool skip_signature, buf_t *out);
/* Append "name:value\n" for each name in the ';'-separated signed list,
 * values trimmed, inner whitespace runs collapsed, repeats joined by ','. */
int auth__canon_headers(const auth_header_t *h, size_t nh, strv_t signed_headers, buf_t *out);
/* The whole canonical request. */
int auth__canon_request(strv_t method, strv_t uri, strv_t query, const auth_header_t *h,
                        size_t nh, strv_t signed_headers, strv_t payload_hash, buf_t *out);
/* First header with this name (case-insensitive), or STRV_NULL. */
strv_t auth__header_get(const auth_header_t *h, size_t nh, const char *name);
/* Find the first query parameter called name (compared after decoding) and
 * give its still-encoded value. Returns false if absent. */
bool auth__query_find(strv_t query, const char *name, strv_t *raw_value);
/* Percent-decode s (no '+' handling) into out, which is appended to. */
void auth__pct_decode(strv_t s, buf_t *out);

/* ---- signing-key cache, owned by the store (creds.c) ---- */
/* Fill key for (secret, date, region, service), deriving it on a miss. */
void auth__store_signing_key(auth_store_t *s, strv_t secret, strv_t date, strv_t region,
                             strv_t service, unsigned char key[32]);
/* A scratch buffer the verifier reuses so a request costs no allocation once
 * it has grown; loop thread only, so one is enough. */
buf_t *auth__store_scratch(auth_store_t *s, int which);

/* ---- checksums for aws-chunked trailers (checksum.c) ---- */
enum {
    AUTH_CK_CRC32 = 1 << 0,
    AUTH_CK_CRC32C = 1 << 1,
    AUTH_CK_CRC64NVME = 1 << 2,
    AUTH_CK_SHA1 = 1 << 3,
    AUTH_CK_SHA256 = 1 << 4,
    AUTH_CK_ALL = (1 << 5) - 1
};

typedef struct auth_checksum {
    unsigned mask; /* which algorithms are running */
    uint32_t crc32;
    uint32_t crc32c;
    uint64_t crc64;
    EVP_MD_CTX *sha1;
    EVP_MD_CTX *sha256;
} auth_checksum_t;

void auth__checksum_init(auth_checksum_t *c, unsigned mask);
void auth__checksum_update(auth_checksum_t *c, const void *p, size_t n);
/* Base64 of the big-endian digest, as the x-amz-checksum-* headers carry
 * it (out holds 64 bytes). Does not end the running computation. Returns
 * KYOKA_EINVAL if alg is not running. */
int auth__checksum_b64(const auth_checksum_t *c, unsigned alg, char out[64]);
void auth__checksum_destroy(auth_checksum_t *c);
/* "x-amz-checksum-crc32" or "crc32" (any case) to AUTH_CK_*, 0 if unknown. */
unsigned auth__checksum_from_name(strv_t name);
/* "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256". */
const char *auth__checksum_label(unsigned alg);

/* Raw CRC updates, exposed for the known-answer tests. Start from 0. */
uint32_t auth__crc32(uint32_t crc, const void *p, size_t n);
uint32_t auth__crc32c(uint32_t crc, const void *p, size_t n);
uint64_t auth__crc64nvme(uint64_t crc, const void *p, size_t n);

#endif
