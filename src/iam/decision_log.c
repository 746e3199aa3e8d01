/*
 * The decision log: a fixed ring of the most recent authorization
 * decisions, so `kumo iam explain ID` and GET /_kumo/iam/decisions can show
 * why a request was allowed or denied after the fact.
 *
 * Each entry is rendered to JSON when it is recorded, copying everything it
 * needs: the request and explanation point into caller and policy memory
 * that will not outlive the request. Ids are "d-" plus the 12-hex-digit
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

typedef struct entry {
    uint64_t seq;      /* 0: empty */
    char id[16];       /* "d-" + 12 hex digits */
    json_t *json;
} entry_t;

static entry_t ring[LOG_SIZE];
static uint64_t next_seq = 1;

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *position(int line, int col)
{
    return json_pack("{s:i,s:i}", "line", line, "column", col);
}

static json_t *render(const entry_t *e, const iam_request_t *req, const iam_explain_t *ex)
{
    char when[64];
    kumo_time_iso8601(req->now_ms ? req->now_ms : kumo_clock_now_ms(), when, true);
    const iam_principal_t *pr = req->principal;
    const char *who = pr ? (pr->arn ? pr->arn : pr->service) : NULL;

    json_t *ctx = json_object();
    for (size_t i = 0; i < req->ncontext; i++) {
        const iam_ctx_value_t *c = &req->context[i];
        if (!c->key)
            continue;
        json_t *v;
        if (c->nvalues == 1 && c->values && c->values[0]) {
            v = json_string(c->values[0]);
        } else {
            v = json_array();
            for (size_t k = 0; c->values && k < c->nvalues; k++)
                if (c->values[k])
                    json_array_append_new(v, json_string(c->values[k]));
        }
        if (v)
            json_object_set_new(ctx, c->key, v);
    }
    if (req->source_ip)
        json_object_set_new(ctx, "aws:SourceIp", json_string(req->source_ip));
    json_object_set_new(ctx, "aws:SecureTransport", json_string(req->secure_transport ? "true" : "false"));
    if (req->region)
        json_object_set_new(ctx, "aws:RequestedRegion", json_string(req->region));

    json_t *policies = json_array();
    json_t *missing = json_array();
    if (ex) {
        for (size_t i = 0; i < ex->nmatches; i++) {
            const iam_match_t *m = &ex->matches[i];
            json_t *o = json_object();
            json_object_set_new(o, "policy", str_or_null(m->policy_name));
            json_object_set_new(o, "kind", str_or_null(m->policy_kind));
            json_object_set_new(o, "statement", json_integer(m->statement_index));
            json_object_set_new(o, "sid", str_or_null(m->sid));
            json_object_set_new(o, "effect", json_string(m->effect_allow ? "Allow" : "Deny"));
            json_object_set_new(o, "start", position(m->start_line, m->start_col));
            json_object_set_new(o, "end", position(m->end_line, m->end_col));
            json_array_append_new(policies, o);
        }
        for (size_t i = 0; i < ex->nmissing; i++)
            json_array_append_new(missing, json_string(ex->missing_context[i]));
    }

    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(e->id));
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "principal", who ? json_string(who) : json_string("anonymous"));
    json_object_set_new(o, "action", str_or_null(req->action));
    json_object_set_new(o, "resource", str_or_null(req->resource ? req->resource : "*"));
    json_object_set_new(o, "decision", json_string(iam_decision_name(ex ? ex->decision : IAM_IMPLICIT_DENY)));
    json_object_set_new(o, "reason", str_or_null(ex ? ex->reason : NULL));
    json_object_set_new(o, "context", ctx);
    json_object_set_new(o, "policies", policies);
    json_object_set_new(o, "missingContext", missing);
    if (ex) {
        json_object_set_new(o, "identityAllows", json_boolean(ex->identity_allows));
        json_object_set_new(o, "resourceAllows", json_boolean(ex->resource_allows));
        json_object_set_new(o, "boundaryAllows", json_boolean(ex->boundary_allows));
        json_object_set_new(o, "sessionAllows", json_boolean(ex->session_allows));
    }
    return o;
}

const char *iam_decision_log_add(const iam_request_t *req, const iam_explain_t *ex)
{
    if (!req)
        return NULL;
    uint64_t seq = next_seq++;
    entry_t *e = &ring[seq % LOG_SIZE];
    json_decref(e->json);
    e->seq = seq;
    /* 12 hex digits: the sequence wraps after 2^48 decisions. */
    snprintf(e->id, sizeof e->id, "d-%012llx", (unsigned long long)(seq & 0xffffffffffffULL));
    e->json = render(e, req, ex);
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
    return e->seq && (e->seq & 0xffffffffffffULL) == seq && e->json ? e : NULL;
}

json_t *iam_decision_log_get(const char *id)
{
    entry_t *e = lookup(id);
    return e ? json_deep_copy(e->json) : NULL;
}

json_t *iam_decision_log_recent(size_t n)
{
    json_t *arr = json_array();
    uint64_t seq = next_seq;
    while (n > 0 && seq > 1) {
        seq--;
        entry_t *e = &ring[seq % LOG_SIZE];
        if (e->seq != seq || !e->json)
            break;
        json_array_append_new(arr, json_deep_copy(e->json));
        n--;
    }
    return arr;
}

void iam_decision_log_clear(void)
{
    for (size_t i = 0; i < LOG_SIZE; i++) {
        json_decref(ring[i].json);
        ring[i].json = NULL;
        ring[i].seq = 0;
        ring[i].id[0] = '\0';
    }
}
