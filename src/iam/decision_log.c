/*
 * The decision log: a fixed ring of the most recent authorization
 * decisions, so `kyoka iam explain ID` and GET /_kyoka/iam/decisions can show
 * why a request was allowed or denied after the fact.
 *
 * Recording sits on every authorized request, so it must be cheap: each
 * slot copies what it needs (the request and explanation point into memory
 * that will not outlive the request) into two buffers of its own, a string
 * pool and a record area, that keep their capacity when the slot is reused.
 * In steady state recording allocates nothing; JSON is built only when
 * someone reads a decision. Ids are "d-" plus the 12-hex-digit
 * sequence number, so a lookup is an index into the ring plus a check that
 * the slot still holds that sequence. The ring's size bounds memory; the
 * oldest entry is dropped when a new one arrives.
 *
 * Thread: loop thread only.
 */
#include "iam/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define LOG_SIZE 4096
#define NONE UINT32_MAX
#define POOL_MAX (64 * 1024)

typedef struct ctx_rec {
    uint32_t key;
    uint32_t nvalues; /* followed by nvalues uint32_t pool offsets */
} ctx_rec_t;

typedef struct match_rec {
    uint32_t policy, kind, sid;
    int32_t statement;
    int32_t start_line, start_col, end_line, end_col;
    uint8_t allow;
} match_rec_t;

typedef struct entry {
    uint64_t seq; /* 0: empty */
    char id[16];  /* "d-" + 12 hex digits */
    int64_t time_ms;
    uint8_t decision;
    bool has_ex;
    bool identity_allows, resource_allows, boundary_allows, session_allows;
    uint32_t principal, action, resource, reason;
    uint32_t nctx, nmatches, nmissing, nconsidered;
    buf_t pool; /* NUL-separated strings */
    buf_t recs; /* ctx records, then match records, then missing offsets */
} entry_t;

static entry_t ring[LOG_SIZE];
static uint64_t next_seq = 1;

/* Copy s into the slot's pool. A pool that is full gives the offset of its
 * terminating NUL, which reads as "", so a huge request degrades the
 * explanation instead of failing the call. */
static uint32_t pool_add(entry_t *e, const char *s)
{
    if (!s)
        return NONE;
    uint32_t off = (uint32_t)e->pool.len;
    if (buf_append(&e->pool, s, strlen(s) + 1) != 0)
        return (uint32_t)e->pool.len;
    return off;
}

static const char *pool_str(const entry_t *e, uint32_t off)
{
    return off == NONE ? NULL : off <= e->pool.len ? e->pool.data + off : "";
}

static bool recs_add(entry_t *e, const void *p, size_t n) { return buf_append(&e->recs, p, n) == 0; }

static void add_ctx(entry_t *e, const char *key, const char *const *values, size_t n)
{
    ctx_rec_t r = {pool_add(e, key), (uint32_t)n};
    size_t mark = e->recs.len;
    bool ok = recs_add(e, &r, sizeof r);
    for (size_t i = 0; ok && i < n; i++) {
        uint32_t off = pool_add(e, values[i] ? values[i] : "");
        ok = recs_add(e, &off, sizeof off);
    }
    if (ok)
        e->nctx++;
    else
        e->recs.len = mark; /* drop a half-written record */
}

static void snapshot(entry_t *e, const iam_request_t *req, const iam_explain_t *ex)
{
    if (e->pool.max == 0) {
        buf_init(&e->pool, POOL_MAX);
        buf_init(&e->recs, POOL_MAX);
    }
    buf_reset(&e->pool);
    buf_reset(&e->recs);
    e->nctx = e->nmatches = e->nmissing = e->nconsidered = 0;
    const iam_principal_t *pr = req->principal;
    e->time_ms = req->now_ms ? req->now_ms : kyoka_clock_now_ms();
    e->principal = pool_add(e, pr ? (pr->arn ? pr->arn : pr->service) : NULL);
    e->action = pool_add(e, req->action);
    e->resource = pool_add(e, req->resource ? req->resource : "*");
    e->has_ex = ex != NULL;
    e->decision = (uint8_t)(ex ? ex->decision : IAM_IMPLICIT_DENY);
    e->reason = pool_add(e, ex ? ex->reason : NULL);
    if (ex) {
        e->identity_allows = ex->identity_allows;
        e->resource_allows = ex->resource_allows;
        e->boundary_allows = ex->boundary_allows;
        e->session_allows = ex->session_allows;
    }
    for (size_t i = 0; i < req->ncontext; i++)
        if (req->context[i].key && req->context[i].values)
            add_ctx(e, req->context[i].key, req->context[i].values, req->context[i].nvalues);
    if (req->source_ip)
        add_ctx(e, "aws:SourceIp", &req->source_ip, 1);
    const char *secure = req->secure_transport ? "true" : "false";
    add_ctx(e, "aws:SecureTransport", &secure, 1);
    if (req->region)
        add_ctx(e, "aws:RequestedRegion", &req->region, 1);
    if (!ex)
        return;
    for (size_t i = 0; i < ex->nmatches; i++) {
        const iam_match_t *m = &ex->matches[i];
        match_rec_t r = {pool_add(e, m->policy_name), pool_add(e, m->policy_kind), pool_add(e, m->sid),
                         m->statement_index, m->start_line, m->start_col, m->end_line, m->end_col,
                         m->effect_allow};
        if (recs_add(e, &r, sizeof r))
            e->nmatches++;
    }
    for (size_t i = 0; i < ex->nmissing; i++) {
        uint32_t off = pool_add(e, ex->missing_context[i]);
        if (recs_add(e, &off, sizeof off))
            e->nmissing++;
    }
    for (size_t i = 0; i < ex->nconsidered; i++) {
        uint32_t offs[2] = {pool_add(e, ex->considered[i].policy_name), pool_add(e, ex->considered[i].policy_kind)};
        if (recs_add(e, offs, sizeof offs))
            e->nconsidered++;
    }
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *position(int line, int col) { return json_pack("{s:i,s:i}", "line", line, "column", col); }

/* Records are read back with memcpy: the record area has no alignment
 * guarantees for the structs packed into it. */
static json_t *render(const entry_t *e)
{
    char when[64];
    kyoka_time_iso8601(e->time_ms, when, true);
    const char *p = e->recs.data;
    json_t *ctx = json_object();
    for (uint32_t i = 0; i < e->nctx; i++) {
        ctx_rec_t r;
        memcpy(&r, p, sizeof r);
        p += sizeof r;
        json_t *v = r.nvalues == 1 ? NULL : json_array();
        for (uint32_t k = 0; k < r.nvalues; k++) {
            uint32_t off;
            memcpy(&off, p, sizeof off);
            p += sizeof off;
            if (r.nvalues == 1)
                v = json_string(pool_str(e, off));
            else
                json_array_append_new(v, json_string(pool_str(e, off)));
        }
        json_object_set_new(ctx, pool_str(e, r.key), v ? v : json_array());
    }
    json_t *policies = json_array();
    for (uint32_t i = 0; i < e->nmatches; i++) {
        match_rec_t m;
        memcpy(&m, p, sizeof m);
        p += sizeof m;
        json_t *o = json_object();
        json_object_set_new(o, "policy", str_or_null(pool_str(e, m.policy)));
        json_object_set_new(o, "kind", str_or_null(pool_str(e, m.kind)));
        json_object_set_new(o, "statement", json_integer(m.statement));
        json_object_set_new(o, "sid", str_or_null(pool_str(e, m.sid)));
        json_object_set_new(o, "effect", json_string(m.allow ? "Allow" : "Deny"));
        json_object_set_new(o, "start", position(m.start_line, m.start_col));
        json_object_set_new(o, "end", position(m.end_line, m.end_col));
        json_array_append_new(policies, o);
    }
    json_t *missing = json_array();
    for (uint32_t i = 0; i < e->nmissing; i++) {
        uint32_t off;
        memcpy(&off, p, sizeof off);
        p += sizeof off;
        json_array_append_new(missing, json_string(pool_str(e, off)));
    }
    json_t *considered = json_array();
    for (uint32_t i = 0; i < e->nconsidered; i++) {
        uint32_t offs[2];
        memcpy(offs, p, sizeof offs);
        p += sizeof offs;
        json_array_append_new(considered, json_pack("{s:o,s:o}", "policy", str_or_null(pool_str(e, offs[0])), "kind",
                                                     str_or_null(pool_str(e, offs[1]))));
    }
    const char *who = pool_str(e, e->principal);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(e->id));
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "principal", json_string(who ? who : "anonymous"));
    json_object_set_new(o, "action", str_or_null(pool_str(e, e->action)));
    json_object_set_new(o, "resource", str_or_null(pool_str(e, e->resource)));
    json_object_set_new(o, "decision", json_string(iam_decision_name((iam_decision_t)e->decision)));
    json_object_set_new(o, "reason", str_or_null(pool_str(e, e->reason)));
    json_object_set_new(o, "context", ctx);
    json_object_set_new(o, "considered", considered);
    json_object_set_new(o, "policies", policies);
    json_object_set_new(o, "missingContext", missing);
    if (e->has_ex) {
        json_object_set_new(o, "identityAllows", json_boolean(e->identity_allows));
        json_object_set_new(o, "resourceAllows", json_boolean(e->resource_allows));
        json_object_set_new(o, "boundaryAllows", json_boolean(e->boundary_allows));
        json_object_set_new(o, "sessionAllows", json_boolean(e->session_allows));
    }
    return o;
}

const char *iam_decision_log_add(const iam_request_t *req, const iam_explain_t *ex)
{
    if (!req)
        return NULL;
    uint64_t seq = next_seq++;
    entry_t *e = &ring[seq % LOG_SIZE];
    e->seq = seq;
    /* 12 hex digits: the sequence wraps after 2^48 decisions. */
    snprintf(e->id, sizeof e->id, "d-%012llx", (unsigned long long)(seq & 0xffffffffffffULL));
    snapshot(e, req, ex);
    return e->id;
}

static entry_t *lookup(const char *id)
{
    if (!id || strncmp(id, "d-", 2) != 0 || strlen(id) != 14)
        return NULL;
    char *end;
    unsigned long long seq = strtoull(id + 2, &end, 16);
    if (*end != '\0' || seq == 0)
        return NULL;
    entry_t *e = &ring[seq % LOG_SIZE];
    return e->seq && (e->seq & 0xffffffffffffULL) == seq ? e : NULL;
}

json_t *iam_decision_log_get(const char *id)
{
    entry_t *e = lookup(id);
    return e ? render(e) : NULL;
}

json_t *iam_decision_log_recent(size_t n)
{
    json_t *arr = json_array();
    uint64_t seq = next_seq;
    while (n > 0 && seq > 1) {
        seq--;
        entry_t *e = &ring[seq % LOG_SIZE];
        if (e->seq != seq)
            break;
        json_array_append_new(arr, render(e));
        n--;
    }
    return arr;
}

void iam_decision_log_clear(void)
{
    for (size_t i = 0; i < LOG_SIZE; i++) {
        buf_destroy(&ring[i].pool);
        buf_destroy(&ring[i].recs);
        ring[i] = (entry_t){0};
    }
}
