/*
 * aws-chunked decoding (Content-Encoding: aws-chunked), as S3 clients send
 * streamed uploads
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
 * sigv4-streaming-trailers.html):
 *
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD
 *       hex-size;chunk-signature=<64 hex>\r\n <data> \r\n ... 0;chunk-signature=<sig>\r\n \r\n
 *   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
 *       the same chunks, then trailer lines and x-amz-trailer-signature:<sig>\r\n \r\n
 *   STREAMING-UNSIGNED-PAYLOAD-TRAILER
 *       hex-size\r\n <data> \r\n ... 0\r\n x-amz-checksum-crc32:<base64>\r\n \r\n
 *
 * Each chunk signature signs the previous one (the request signature seeds
 * the chain) and the SHA-256 of the chunk's data, so chunks cannot be
 * dropped, reordered or altered. The trailer signature signs the final chunk
 * signature and the canonical trailer lines ("name:value\n").
 *
 * The decoder is a state machine fed arbitrary slices of the body: nothing
 * depends on where the network splits it. Framing lines are collected in a
 * capped buffer (AUTH_CHUNK_LINE_MAX, the trailer section AUTH_TRAILER_MAX);
 * chunk data is never buffered, it goes straight to the sink. A chunk's
 * signature can only be checked once its last byte has passed, so the sink
 * sees data before it is verified: on any error the caller must throw the
 * whole body away, which it does anyway for a failed upload.
 */
#include "auth/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/banned.h"

typedef enum {
    CHUNK_SIGNED,         /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
    CHUNK_SIGNED_TRAILER, /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER */
    CHUNK_UNSIGNED_TRAILER /* STREAMING-UNSIGNED-PAYLOAD-TRAILER */
} chunk_mode_t;

typedef enum {
    ST_SIZE_LINE,   /* reading "hex-size[;chunk-signature=...]" */
    ST_DATA,        /* passing chunk data to the sink */
    ST_DATA_CRLF,   /* the CRLF that closes a chunk's data */
    ST_FINAL_CRLF,  /* the empty line after the final chunk (no trailer) */
    ST_TRAILER,     /* trailer lines up to an empty line */
    ST_DONE,
    ST_FAILED
} chunk_state_t;

#define NCK 5 /* checksum algorithms */

struct auth_chunked {
    chunk_mode_t mode;
    chunk_state_t state;
    auth_chunk_sink_fn sink;
    void *sink_data;

    buf_t line;          /* the framing line being read, CRLF included */
    uint64_t remaining;  /* data bytes left in the current chunk */
    int crlf_seen;       /* bytes of the CRLF after data seen so far */
    uint64_t decoded;

    /* signed modes */
    unsigned char key[32];
    char amz_date[17];
    char scope[160];
    char prev_sig[65];   /* the chain so far: seed, then each chunk's */
    char chunk_sig[65];  /* what the current chunk claims */
    EVP_MD_CTX *sha;     /* SHA-256 of the current chunk's data */

    /* trailers */
    auth_checksum_t ck;
    unsigned expected;   /* algorithms x-amz-trailer promised, 0 if not told */
    unsigned got;        /* checksum trailers received */
    char got_value[NCK][64];
    buf_t canon;         /* canonical trailer lines for the trailer signature */
    size_t trailer_bytes;
    bool trailer_lines;  /* any trailer line seen */
    bool blank_skipped;
    bool trailer_sig_seen;
    char trailer_sig[65];

    int err;
    char errmsg[256];
};

#define MSG_CHUNK_MISMATCH                                                                  \
    "The request signature we calculated does not match the signature you provided. Check " \
    "your key and signing method."
#define MSG_BAD_TRAILER                                                                   \
    "The request contained trailing data that was not well-formed or did not conform to " \
    "our published schema."
#define MSG_INCOMPLETE "The request body terminated unexpectedly"

static int set_error(auth_chunked_t *c, int err, const char *fmt, ...) KYOKA_PRINTF(3, 4);

static int set_error(auth_chunked_t *c, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
    va_end(ap);
    c->err = err;
    c->state = ST_FAILED;
    return err;
}

static int alg_index(unsigned alg)
{
    for (int i = 0; i < NCK; i++)
        if (alg == 1u << i)
            return i;
    return 0;
}

auth_chunked_t *auth_chunked_create(const char *mode, const auth_result_t *res, auth_chunk_sink_fn sink,
                                    void *sink_data)
{
    if (!mode || !sink)
        return NULL;
    chunk_mode_t m;
    if (strcmp(mode, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == 0)
        m = CHUNK_SIGNED;
    else if (strcmp(mode, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == 0)
        m = CHUNK_SIGNED_TRAILER;
    else if (strcmp(mode, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 0)
        m = CHUNK_UNSIGNED_TRAILER;
    else
        return NULL;
    bool is_signed = m != CHUNK_UNSIGNED_TRAILER;
    if (is_signed && (!res || res->status != AUTH_OK || !auth__is_hex64(strv_from(res->seed_signature))))
        return NULL;

    auth_chunked_t *c = xcalloc(1, sizeof *c);
    c->mode = m;
    c->state = ST_SIZE_LINE;
    c->sink = sink;
    c->sink_data = sink_data;
    buf_init(&c->line, AUTH_CHUNK_LINE_MAX);
    buf_init(&c->canon, AUTH_TRAILER_MAX);
    if (is_signed) {
        memcpy(c->key, res->signing_key, 32);
        memcpy(c->amz_date, res->amz_date, sizeof c->amz_date);
        snprintf(c->scope, sizeof c->scope, "%s/%s/%s/aws4_request", res->date, res->region, res->service);
        memcpy(c->prev_sig, res->seed_signature, 65);
        c->sha = EVP_MD_CTX_new();
        if (!c->sha)
            auth__crypto_fail("digest alloc");
    }
    if (m != CHUNK_SIGNED)
        auth__checksum_init(&c->ck, AUTH_CK_ALL);
    return c;
}

int auth_chunked_expect_trailer(auth_chunked_t *c, strv_t x_amz_trailer)
{
    if (c->mode == CHUNK_SIGNED || c->decoded || c->state != ST_SIZE_LINE || c->line.len)
        return KYOKA_EINVAL;
    unsigned mask = 0;
    size_t i = 0;
    while (i < x_amz_trailer.len) {
        size_t j = i;
        while (j < x_amz_trailer.len && x_amz_trailer.p[j] != ',')
            j++;
        strv_t name = {x_amz_trailer.p + i, j - i};
        i = j + 1;
        while (name.len && name.p[0] == ' ')
            name.p++, name.len--;
        while (name.len && name.p[name.len - 1] == ' ')
            name.len--;
        if (!strv_starts_with(name, "x-amz-checksum-"))
            continue;
        unsigned alg = auth__checksum_from_name(name);
        if (!alg)
            return KYOKA_EINVAL;
        mask |= alg;
    }
    /* Only the promised checksums need computing: the rest would cost a
     * pass over every byte for nothing. */
    auth__checksum_destroy(&c->ck);
    auth__checksum_init(&c->ck, mask);
    c->expected = mask;
    return 0;
}

/* ---- signatures ---- */

static bool chunk_signature_ok(auth_chunked_t *c, const char *data_hash)
{
    char sts[512];
    int n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n" AUTH_EMPTY_SHA256 "\n%s",
                     c->amz_date, c->scope, c->prev_sig, data_hash);
    if (n <= 0 || (size_t)n >= sizeof sts)
        return false;
    char sig[65];
    auth__sign_hex(c->key, sts, (size_t)n, sig);
    if (CRYPTO_memcmp(sig, c->chunk_sig, 64) != 0)
        return false;
    memcpy(c->prev_sig, c->chunk_sig, 65);
    return true;
}

static int end_of_chunk_data(auth_chunked_t *c)
{
    if (c->mode == CHUNK_UNSIGNED_TRAILER)
        return 0;
    unsigned char md[32];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(c->sha, md, &len) != 1)
        auth__crypto_fail("SHA-256 final");
    char hex[65];
    kyoka_hex(md, 32, hex);
    if (!chunk_signature_ok(c, hex))
        return set_error(c, KYOKA_EAUTH, MSG_CHUNK_MISMATCH);
    return 0;
}

static bool trailer_signature_ok(auth_chunked_t *c)
{
    char hash[65];
    auth_sha256_hex(c->canon.data, c->canon.len, hash);
    char sts[512];
    int n = snprintf(sts, sizeof sts, "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", c->amz_date, c->scope,
                     c->prev_sig, hash);
    if (n <= 0 || (size_t)n >= sizeof sts)
        return false;
    char sig[65];
    auth__sign_hex(c->key, sts, (size_t)n, sig);
    return CRYPTO_memcmp(sig, c->trailer_sig, 64) == 0;
}

/* ---- framing lines ---- */

static int hexdigit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int on_size_line(auth_chunked_t *c, strv_t l)
{
    uint64_t size = 0;
    size_t i = 0;
    /* 15 hex digits already exceed any object S3 accepts. */
    while (i < l.len && hexdigit(l.p[i]) >= 0 && i < 15)
        size = size * 16 + (uint64_t)hexdigit(l.p[i++]);
    if (i == 0 || (i < l.len && hexdigit(l.p[i]) >= 0))
        return set_error(c, KYOKA_EPARSE, "The chunk size '%.*s' is not valid.", (int)(l.len < 40 ? l.len : 40),
                         l.p);
    strv_t rest = {l.p + i, l.len - i};
    if (c->mode == CHUNK_UNSIGNED_TRAILER) {
        /* Chunk extensions mean nothing here; tolerate them. */
        if (rest.len && rest.p[0] != ';')
            return set_error(c, KYOKA_EPARSE, "The chunk size line is malformed.");
    } else {
        static const char pfx[] = ";chunk-signature=";
        strv_t sig = {rest.p + sizeof pfx - 1, rest.len - (sizeof pfx - 1)};
        if (!strv_starts_with(rest, pfx) || !auth__is_hex64(sig))
            return set_error(c, KYOKA_EPARSE, "The chunk signature is missing or malformed.");
        memcpy(c->chunk_sig, sig.p, 64);
        c->chunk_sig[64] = '\0';
        if (EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL) != 1)
            auth__crypto_fail("SHA-256 init");
    }
    if (size > 0) {
        c->remaining = size;
        c->state = ST_DATA;
        return 0;
    }
    /* The final, empty chunk. */
    if (c->mode != CHUNK_UNSIGNED_TRAILER && !chunk_signature_ok(c, AUTH_EMPTY_SHA256))
        return set_error(c, KYOKA_EAUTH, MSG_CHUNK_MISMATCH);
    c->state = c->mode == CHUNK_SIGNED ? ST_FINAL_CRLF : ST_TRAILER;
    return 0;
}

static int end_of_trailer(auth_chunked_t *c)
{
    if (c->mode == CHUNK_SIGNED_TRAILER) {
        if (!c->trailer_sig_seen)
            return set_error(c, KYOKA_EAUTH, "The trailer signature x-amz-trailer-signature is missing.");
        if (!trailer_signature_ok(c))
            return set_error(c, KYOKA_EAUTH, MSG_CHUNK_MISMATCH);
    }
    /* Only now are the checksum values known to come from the signer. */
    for (int i = 0; i < NCK; i++) {
        unsigned alg = 1u << i;
        if (!(c->got & alg))
            continue;
        char want[64];
        if (auth__checksum_b64(&c->ck, alg, want) != 0 || strcmp(want, c->got_value[i]) != 0)
            return set_error(c, KYOKA_EINVAL, "The %s you specified did not match the calculated checksum.",
                             auth__checksum_label(alg));
    }
    if (c->expected & ~c->got) {
        unsigned missing = c->expected & ~c->got;
        return set_error(c, KYOKA_EINVAL, "The x-amz-checksum-%s trailer declared in x-amz-trailer was not sent.",
                         auth__checksum_label(missing & -missing));
    }
    c->state = ST_DONE;
    return 0;
}

static int on_trailer_line(auth_chunked_t *c, strv_t l)
{
    if (l.len == 0) {
        /* Some encoders put the empty line of the final chunk before the
         * trailer; the signed-trailer form always has at least its
         * signature line, so a leading empty line cannot be the end. */
        if (c->mode == CHUNK_SIGNED_TRAILER && !c->trailer_lines && !c->blank_skipped) {
            c->blank_skipped = true;
            return 0;
        }
        return end_of_trailer(c);
    }
    c->trailer_lines = true;
    c->trailer_bytes += l.len + 2;
    if (c->trailer_bytes > AUTH_TRAILER_MAX)
        return set_error(c, KYOKA_EPARSE, MSG_BAD_TRAILER);
    if (c->trailer_sig_seen)
        return set_error(c, KYOKA_EPARSE, MSG_BAD_TRAILER); /* the signature comes last */
    const char *colon = memchr(l.p, ':', l.len);
    if (!colon || colon == l.p)
        return set_error(c, KYOKA_EPARSE, MSG_BAD_TRAILER);
    strv_t name = strv_trim((strv_t){l.p, (size_t)(colon - l.p)});
    strv_t value = strv_trim((strv_t){colon + 1, l.len - (size_t)(colon - l.p) - 1});
    if (strv_caseeq_cstr(name, "x-amz-trailer-signature")) {
        if (c->mode == CHUNK_UNSIGNED_TRAILER)
            return 0; /* nothing to check it against */
        if (!auth__is_hex64(value))
            return set_error(c, KYOKA_EAUTH, MSG_CHUNK_MISMATCH);
        memcpy(c->trailer_sig, value.p, 64);
        c->trailer_sig[64] = '\0';
        c->trailer_sig_seen = true;
        return 0;
    }
    for (size_t i = 0; i < name.len; i++) {
        char ch = name.p[i];
        buf_appendc(&c->canon, ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch);
    }
    buf_appendc(&c->canon, ':');
    buf_append(&c->canon, value.p, value.len);
    buf_appendc(&c->canon, '\n');
    if (buf_err(&c->canon))
        return set_error(c, KYOKA_EPARSE, MSG_BAD_TRAILER);
    if (name.len > 15 && strv_caseeq_cstr((strv_t){name.p, 15}, "x-amz-checksum-")) {
        unsigned alg = auth__checksum_from_name(name);
        if (!alg || !(c->ck.mask & alg) || value.len >= 64 || (c->got & alg))
            return set_error(c, KYOKA_EINVAL, "Value for %.*s trailing header is invalid.", (int)name.len,
                             name.p);
        int k = alg_index(alg);
        memcpy(c->got_value[k], value.p, value.len);
        c->got_value[k][value.len] = '\0';
        c->got |= alg;
    }
    return 0;
}

static int on_line(auth_chunked_t *c, strv_t l)
{
    switch (c->state) {
    case ST_SIZE_LINE:
        return on_size_line(c, l);
    case ST_FINAL_CRLF:
        if (l.len != 0)
            return set_error(c, KYOKA_EPARSE, "Unexpected data after the final chunk.");
        c->state = ST_DONE;
        return 0;
    case ST_TRAILER:
        return on_trailer_line(c, l);
    default:
        return set_error(c, KYOKA_EPARSE, "The aws-chunked decoder is in a bad state.");
    }
}

/* ---- feeding ---- */

static int feed_data(auth_chunked_t *c, const char *p, size_t n)
{
    if (c->sha && EVP_DigestUpdate(c->sha, p, n) != 1)
        auth__crypto_fail("SHA-256 update");
    if (c->mode != CHUNK_SIGNED)
        auth__checksum_update(&c->ck, p, n);
    c->decoded += n;
    int rc = c->sink(c->sink_data, p, n);
    if (rc) {
        set_error(c, rc, "The upload could not be stored.");
        return rc;
    }
    return 0;
}

int auth_chunked_feed(auth_chunked_t *c, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        switch (c->state) {
        case ST_FAILED:
            return c->err;
        case ST_DONE:
            return set_error(c, KYOKA_EPARSE, "Unexpected data after the end of the aws-chunked body.");
        case ST_DATA: {
            size_t take = n - i;
            if ((uint64_t)take > c->remaining)
                take = (size_t)c->remaining;
            int rc = feed_data(c, p + i, take);
            if (rc)
                return rc;
            i += take;
            c->remaining -= take;
            if (c->remaining == 0) {
                c->state = ST_DATA_CRLF;
                c->crlf_seen = 0;
            }
            break;
        }
        case ST_DATA_CRLF: {
            char ch = p[i++];
            if (ch != (c->crlf_seen == 0 ? '\r' : '\n'))
                return set_error(c, KYOKA_EPARSE, "Chunk data is not followed by CRLF.");
            if (++c->crlf_seen == 2) {
                int rc = end_of_chunk_data(c);
                if (rc)
                    return rc;
                c->state = ST_SIZE_LINE;
            }
            break;
        }
        default: {
            const char *nl = memchr(p + i, '\n', n - i);
            size_t take = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
            if (buf_append(&c->line, p + i, take))
                return set_error(c, KYOKA_EPARSE, c->state == ST_TRAILER ? MSG_BAD_TRAILER
                                                                        : "The chunk size line is too long.");
            i += take;
            if (!nl)
                break;
            if (c->line.len < 2 || c->line.data[c->line.len - 2] != '\r')
                return set_error(c, KYOKA_EPARSE, c->state == ST_TRAILER ? MSG_BAD_TRAILER
                                                                        : "A chunk line does not end in CRLF.");
            int rc = on_line(c, (strv_t){c->line.data, c->line.len - 2});
            buf_reset(&c->line);
            if (rc)
                return rc;
            break;
        }
        }
    }
    return c->state == ST_FAILED ? c->err : 0;
}

int auth_chunked_finish(auth_chunked_t *c)
{
    if (c->state == ST_FAILED)
        return c->err;
    if (c->state != ST_DONE)
        return set_error(c, KYOKA_EPARSE, MSG_INCOMPLETE);
    return 0;
}

const char *auth_chunked_error(const auth_chunked_t *c) { return c->errmsg; }

uint64_t auth_chunked_decoded_bytes(const auth_chunked_t *c) { return c->decoded; }

void auth_chunked_free(auth_chunked_t *c)
{
    if (!c)
        return;
    buf_destroy(&c->line);
    buf_destroy(&c->canon);
    EVP_MD_CTX_free(c->sha);
    auth__checksum_destroy(&c->ck);
    OPENSSL_cleanse(c->key, sizeof c->key);
    free(c);
}
