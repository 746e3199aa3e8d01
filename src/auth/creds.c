/*
 * The credential store: access key id -> credential, a chained hash table
 * that doubles when it gets full. Every string is a deep copy, so callers
 * can pass stack or arena data. A stored credential keeps its address for
 * as long as its key is in the store, even when auth_store_put replaces its
 * contents, so a verified request can hold res->cred without a reference.
 *
 * The store also owns what the verifier would otherwise allocate per
 * request: the derived signing-key cache, and a few scratch buffers reused
 * across requests (everything here runs on the loop thread).
 *
 * Signing keys are cached direct-mapped by a hash of (secret, date, region,
 * service). A key changes only at midnight UTC or when a different
 * credential or scope shows up, so a small table absorbs almost every
 * derivation (four HMACs) for the day.
 */
#include "auth/internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/banned.h"

#define STORE_INITIAL_BUCKETS 16
#define SKEY_SLOTS 64
#define SKEY_SECRET_MAX 128 /* longer secrets are derived every time */
#define SCRATCH_BUFS 6

typedef struct entry {
    auth_cred_t cred;
    uint64_t hash;
    struct entry *next;
} entry_t;

typedef struct skey_slot {
    bool used;
    uint8_t secret_len, region_len, service_len;
    char secret[SKEY_SECRET_MAX];
    char date[8];
    char region[64];
    char service[64];
    unsigned char key[32];
} skey_slot_t;

struct auth_store {
    entry_t **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
    skey_slot_t skeys[SKEY_SLOTS];
    buf_t scratch[SCRATCH_BUFS];
};

static uint64_t fnv1a(uint64_t h, strv_t s)
{
    for (size_t i = 0; i < s.len; i++) {
        h ^= (unsigned char)s.p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

#define FNV_SEED 0xcbf29ce484222325ull

auth_store_t *auth_store_create(void)
{
    /* kyoka configures nothing through openssl.cnf; skipping the config file
     * (and the providers it may name) saves a file read and parse at every
     * start. Must come before any other OpenSSL call. */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    auth_store_t *s = xcalloc(1, sizeof *s);
    s->nbuckets = STORE_INITIAL_BUCKETS;
    s->buckets = xcalloc(s->nbuckets, sizeof *s->buckets);
    for (int i = 0; i < SCRATCH_BUFS; i++)
        buf_init(&s->scratch[i], AUTH_CANONICAL_MAX);
    return s;
}

static char *dup_or_null(const char *p) { return p ? xstrdup(p) : NULL; }

static void cred_copy(auth_cred_t *dst, const auth_cred_t *src)
{
    *dst = *src;
    dst->access_key_id = dup_or_null(src->access_key_id);
    dst->secret_access_key = dup_or_null(src->secret_access_key);
    dst->session_token = dup_or_null(src->session_token);
    dst->account_id = dup_or_null(src->account_id);
    dst->principal_arn = dup_or_null(src->principal_arn);
    dst->user_id = dup_or_null(src->user_id);
    dst->source_arn = dup_or_null(src->source_arn);
    dst->session_name = dup_or_null(src->session_name);
}

static void cred_destroy(auth_cred_t *c)
{
    free(c->access_key_id);
    /* Secrets should not outlive their credential in freed heap memory. */
    if (c->secret_access_key)
        OPENSSL_cleanse(c->secret_access_key, strlen(c->secret_access_key));
    free(c->secret_access_key);
    if (c->session_token)
        OPENSSL_cleanse(c->session_token, strlen(c->session_token));
    free(c->session_token);
    free(c->account_id);
    free(c->principal_arn);
    free(c->user_id);
    free(c->source_arn);
    free(c->session_name);
}

void auth_store_free(auth_store_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        entry_t *e = s->buckets[i];
        while (e) {
            entry_t *next = e->next;
            cred_destroy(&e->cred);
            free(e);
            e = next;
        }
    }
    free(s->buckets);
    for (int i = 0; i < SCRATCH_BUFS; i++)
        buf_destroy(&s->scratch[i]);
    OPENSSL_cleanse(s->skeys, sizeof s->skeys);
    free(s);
}

static entry_t **find_slot(auth_store_t *s, strv_t akid, uint64_t h)
{
    entry_t **pp = &s->buckets[h & (s->nbuckets - 1)];
    while (*pp && !((*pp)->hash == h && strv_eq_cstr(akid, (*pp)->cred.access_key_id)))
        pp = &(*pp)->next;
    return pp;
}

static void grow(auth_store_t *s)
{
    size_t n = s->nbuckets * 2;
    entry_t **b = xcalloc(n, sizeof *b);
    for (size_t i = 0; i < s->nbuckets; i++) {
        entry_t *e = s->buckets[i];
        while (e) {
            entry_t *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

auth_cred_t *auth_store_put(auth_store_t *s, const auth_cred_t *c)
{
    assert(c && c->access_key_id);
    strv_t akid = strv_from(c->access_key_id);
    uint64_t h = fnv1a(FNV_SEED, akid);
    /* Copy before freeing anything: c may be the stored entry itself. */
    auth_cred_t copy;
    cred_copy(&copy, c);
    entry_t **pp = find_slot(s, akid, h);
    if (*pp) {
        cred_destroy(&(*pp)->cred);
        (*pp)->cred = copy;
        return &(*pp)->cred;
    }
    if (s->count >= s->nbuckets) {
        grow(s);
        pp = find_slot(s, akid, h);
    }
    entry_t *e = xcalloc(1, sizeof *e);
    e->cred = copy;
    e->hash = h;
    *pp = e;
    s->count++;
    return &e->cred;
}

auth_cred_t *auth_store_lookup(auth_store_t *s, strv_t access_key_id)
{
    if (!s || !access_key_id.p)
        return NULL;
    entry_t **pp = find_slot(s, access_key_id, fnv1a(FNV_SEED, access_key_id));
    return *pp ? &(*pp)->cred : NULL;
}

void auth_store_remove(auth_store_t *s, strv_t access_key_id)
{
    if (!s || !access_key_id.p)
        return;
    entry_t **pp = find_slot(s, access_key_id, fnv1a(FNV_SEED, access_key_id));
    entry_t *e = *pp;
    if (!e)
        return;
    *pp = e->next;
    cred_destroy(&e->cred);
    free(e);
    s->count--;
}

void auth_store_remove_non_root(auth_store_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nbuckets; i++) {
        entry_t **pp = &s->buckets[i];
        while (*pp) {
            entry_t *e = *pp;
            if (e->cred.type == AUTH_PRINCIPAL_ROOT) {
                pp = &e->next;
                continue;
            }
            *pp = e->next;
            cred_destroy(&e->cred);
            free(e);
            s->count--;
        }
    }
}

/* ---- per-store caches used by the verifier ---- */

void auth__store_signing_key(auth_store_t *s, strv_t secret, strv_t date, strv_t region,
                             strv_t service, unsigned char key[32])
{
    if (secret.len >= SKEY_SECRET_MAX || date.len != 8 || region.len >= 64 || service.len >= 64) {
        auth__signing_key_derive(secret, date, region, service, key);
        return;
    }
    uint64_t h = fnv1a(fnv1a(fnv1a(fnv1a(FNV_SEED, secret), date), region), service);
    skey_slot_t *e = &s->skeys[h % SKEY_SLOTS];
    if (e->used && e->secret_len == secret.len && e->region_len == region.len &&
        e->service_len == service.len && memcmp(e->date, date.p, 8) == 0 &&
        memcmp(e->secret, secret.p, secret.len) == 0 && memcmp(e->region, region.p, region.len) == 0 &&
        memcmp(e->service, service.p, service.len) == 0) {
        memcpy(key, e->key, 32);
        return;
    }
    auth__signing_key_derive(secret, date, region, service, key);
    e->used = true;
    e->secret_len = (uint8_t)secret.len;
    e->region_len = (uint8_t)region.len;
    e->service_len = (uint8_t)service.len;
    memcpy(e->secret, secret.p, secret.len);
    memcpy(e->date, date.p, 8);
    memcpy(e->region, region.p, region.len);
    memcpy(e->service, service.p, service.len);
    memcpy(e->key, key, 32);
}

buf_t *auth__store_scratch(auth_store_t *s, int which)
{
    buf_t *b = &s->scratch[which % SCRATCH_BUFS];
    buf_reset(b);
    return b;
}
