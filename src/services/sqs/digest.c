/*
 * Digests the SDKs verify, and the message body character check.
 *
 * MD5OfMessageBody is the MD5 of the body's UTF-8 bytes. MD5OfMessageAttributes
 * (and MD5OfMessageSystemAttributes) follow the algorithm the SDKs
 * recompute (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html#sqs-attributes-md5-message-digest-calculation):
 * attributes sorted by name; for each, the 4-byte big-endian length and
 * bytes of the name, then of the data type, then one transport byte (1 for
 * String and Number types, 2 for Binary), then the length and bytes of the
 * value (decoded bytes for Binary).
 *
 * One EVP context and pre-fetched algorithms live in the state, so a digest
 * costs no allocation.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static void digest_hex(sqs_state_t *st, const EVP_MD *md, const void *p, size_t n, char *out)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestInit_ex(st->mdctx, md, NULL) != 1 || EVP_DigestUpdate(st->mdctx, p, n) != 1 ||
        EVP_DigestFinal_ex(st->mdctx, d, &len) != 1) {
        log_error("sqs: digest failed");
        abort();
    }
    kyoka_hex(d, len, out);
}

void sqs__md5_hex(sqs_state_t *st, const void *p, size_t n, char out[33]) { digest_hex(st, st->md5, p, n, out); }

void sqs__sha256_hex(sqs_state_t *st, const void *p, size_t n, char out[65]) { digest_hex(st, st->sha256, p, n, out); }

bool sqs__attr_selected(json_t *filter, const char *name)
{
    if (!filter)
        return true;
    size_t i;
    json_t *f;
    json_array_foreach(filter, i, f) {
        const char *s = json_string_value(f);
        if (!s)
            continue;
        size_t n = strlen(s);
        if (strcmp(s, "All") == 0 || strcmp(s, ".*") == 0 || strcmp(s, "*") == 0)
            return true;
        if (strcmp(s, name) == 0)
            return true;
        /* "prefix.*" selects every name starting with prefix
         * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html). */
        if (n > 2 && s[n - 2] == '.' && s[n - 1] == '*' && strncmp(s, name, n - 2) == 0)
            return true;
    }
    return false;
}

static void put_len(EVP_MD_CTX *ctx, size_t n)
{
    unsigned char b[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                          (unsigned char)n};
    EVP_DigestUpdate(ctx, b, 4);
}

static void put_str(EVP_MD_CTX *ctx, const void *p, size_t n)
{
    put_len(ctx, n);
    EVP_DigestUpdate(ctx, p, n);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

bool sqs__md5_attrs(sqs_state_t *st, json_t *attrs, json_t *filter, char out[33])
{
    out[0] = '\0';
    size_t n = json_object_size(attrs);
    if (!n)
        return false;
    const char *names_stack[16];
    const char **names = n <= 16 ? names_stack : xmalloc(n * sizeof *names);
    size_t k = 0;
    const char *name;
    json_t *v;
    json_object_foreach(attrs, name, v) {
        if (sqs__attr_selected(filter, name))
            names[k++] = name;
    }
    if (!k) {
        if (names != names_stack)
            free(names);
        return false;
    }
    qsort(names, k, sizeof *names, cmp_names);
    EVP_MD_CTX *ctx = st->mdctx;
    EVP_DigestInit_ex(ctx, st->md5, NULL);
    for (size_t i = 0; i < k; i++) {
        json_t *a = json_object_get(attrs, names[i]);
        const char *type = json_string_value(json_object_get(a, "DataType"));
        if (!type)
            type = "";
        put_str(ctx, names[i], strlen(names[i]));
        put_str(ctx, type, strlen(type));
        json_t *sv = json_object_get(a, "StringValue");
        json_t *bv = json_object_get(a, "BinaryValue");
        if (sv) {
            unsigned char t = 1;
            EVP_DigestUpdate(ctx, &t, 1);
            put_str(ctx, json_string_value(sv), json_string_length(sv));
        } else if (bv) {
            unsigned char t = 2;
            EVP_DigestUpdate(ctx, &t, 1);
            /* Stored values were decoded and re-encoded at send time, so
             * decoding cannot fail here. */
            arena_t a2;
            arena_init(&a2);
            unsigned char *raw = NULL;
            ssize_t rn = base64_decode(&a2, (strv_t){json_string_value(bv), json_string_length(bv)}, &raw);
            put_str(ctx, raw, rn > 0 ? (size_t)rn : 0);
            arena_destroy(&a2);
        }
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, d, &len);
    kyoka_hex(d, len, out);
    if (names != names_stack)
        free(names);
    return true;
}

/* SQS accepts #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html),
 * in well-formed UTF-8. */
bool sqs__body_chars_ok(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (c < 0x20 && c != 0x9 && c != 0xA && c != 0xD)
                return false;
            i++;
            continue;
        }
        unsigned cp;
        size_t len;
        if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            len = 2;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            len = 3;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07;
            len = 4;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t j = 1; j < len; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        /* Overlong forms, surrogates and the two non-characters. */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF)
            return false;
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
            return false;
        i += len;
    }
    return true;
}
