/*
 * The decision log: the most recent authorization decisions, so
 * `kyoka iam explain ID` and GET /_kyoka/iam/decisions can show why a
 * request was allowed or denied after the fact.
 *
 * Recording sits on every authorized request, so it records only what the
 * decision was made from, never what can be worked out again: the request
 * (principal, action, resource, every context key) and a reference to each
 * compiled policy the evaluator read. Compiled policies are immutable and
 * reference counted, so holding a reference costs one increment and keeps
 * the exact statements the decision saw even if the policy is replaced
 * later. Everything an explanation shows (the statements that matched, the
 * near misses, the missing keys, the statement to add) is built on demand
 * by evaluating the recorded request again against those same policies
 * (explain.c); the replay is checked to reach the recorded verdict.
 *
 * Memory: a fixed array of slot headers (the policy references and a few
 * scalars) and one byte ring that the request's strings are appended to in
 * order. Appending to one ring keeps the writes sequential (a slot with a
 * buffer of its own touched a cold cache line per string), and nothing is
 * allocated in steady state. A slot's strings are valid while the ring has
 * not wrapped over them; an entry larger than RECORD_MAX is cut and flagged.
 *
 * Ids: "d-RRRRRRRR-SSSSSS", R a random tag drawn once per process and S the
 * sequence number in hex. The tag makes ids unique across restarts without
 * writing anything to the data directory (an --ephemeral server has none,
 * and a counter persisted per decision would put a write on the request
 * path); it also lets explain tell an id from an earlier run, one that aged
 * out and one never issued apart. Random rather than the start time, so two
 * starts in the same second (tests restart quickly) cannot share a tag.
 *
 * Thread: loop thread only.
 */
#include "iam/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/banned.h"

#define LOG_SIZE 4096
#define NONE UINT32_MAX
#define RING_BYTES ((size_t)4 << 20) /* about 1 KB per slot: typical requests need 400-700 bytes */
#define RECORD_MAX ((size_t)64 << 10)
#define MAX_REFS IAM_EXPLAIN_MAX_CONSIDERED

static const char *const kinds[] = {"identity", "boundary", "session", "resource"};

typedef struct entry {
    uint64_t seq;        /* 0: empty */
    char id[32];         /* "d-" TAG "-" SEQ */
    uint64_t pos;        /* where its strings start in the ring (linear position) */
    int64_t time_ms;     /* real time of the decision */
    int64_t now_ms;      /* the server clock the policies saw (aws:CurrentTime) */
    const char *reason;  /* static text from evaluate.c */
    uint8_t decision;
    bool has_ex, has_principal, is_root, secure, session_policies, truncated;
    uint8_t nrefs;
    /* offsets from pos */
    uint32_t arn, account, type, user_id, username, role_arn, service;
    uint32_t action, resource, resource_account, source_ip, region;
    uint32_t tags, ntags;     /* 2 * ntags offsets */
    uint32_t ctx, nctx;       /* per key: key offset, nvalues, then value offsets */
    uint32_t names;           /* nrefs name offsets */
    uint8_t kind[MAX_REFS];
    iam_policy_t *refs[MAX_REFS];
} entry_t;

static entry_t ring[LOG_SIZE];
static char *bytes;           /* RING_BYTES */
static uint64_t head;         /* linear write position */
static uint64_t next_seq = 1;
static uint32_t run_tag;

/* ---- writing ---- */

typedef struct writer {
    entry_t *e;
    char *base;
    size_t len;
} writer_t;

static uint32_t w_bytes(writer_t *w, const void *p, size_t n)
{
    if (n > RECORD_MAX - w->len) {
        w->e->truncated = true;
        return NONE;
    }
    uint32_t off = (uint32_t)w->len;
    memcpy(w->base + w->len, p, n);
    w->len += n;
    return off;
}

static uint32_t w_str(writer_t *w, const char *s) { return s ? w_bytes(w, s, strlen(s) + 1) : NONE; }

static uint32_t kind_code(const char *k)
{
    for (uint32_t i = 0; i < KYOKA_ARRAY_LEN(kinds); i++)
        if (k && strcmp(k, kinds[i]) == 0)
            return i;
    return 0;
}

static void release(entry_t *e)
{
    for (uint8_t i = 0; i < e->nrefs; i++)
        iam_policy_free(e->refs[i]);
    e->nrefs = 0;
    e->seq = 0;
}

static void record(entry_t *e, const iam_request_t *req, const iam_explain_t *ex)
{
    if (!bytes)
        bytes = xmalloc(RING_BYTES);
    /* Every record starts where RECORD_MAX bytes fit before the end. */
    if (head % RING_BYTES + RECORD_MAX > RING_BYTES)
        head += RING_BYTES - head % RING_BYTES;
    e->pos = head;
    e->truncated = false;
    writer_t w = {e, bytes + head % RING_BYTES, 0};
    const iam_principal_t *pr = req->principal;
    e->has_principal = pr != NULL;
    e->is_root = pr && pr->is_root;
    e->arn = w_str(&w, pr ? pr->arn : NULL);
    e->account = w_str(&w, pr ? pr->account : NULL);
    e->type = w_str(&w, pr ? pr->type : NULL);
    e->user_id = w_str(&w, pr ? pr->user_id : NULL);
    e->username = w_str(&w, pr ? pr->username : NULL);
    e->role_arn = w_str(&w, pr ? pr->role_arn : NULL);
    e->service = w_str(&w, pr ? pr->service : NULL);
    e->action = w_str(&w, req->action);
    e->resource = w_str(&w, req->resource);
    e->resource_account = w_str(&w, req->resource_account);
    e->source_ip = w_str(&w, req->source_ip);
    e->region = w_str(&w, req->region);
    e->secure = req->secure_transport;
    /* The server clock is real time plus an offset: one clock read, not two. */
    e->now_ms = req->now_ms ? req->now_ms : kyoka_clock_now_ms();
    e->time_ms = e->now_ms - kyoka_clock_offset_ms();

    size_t ntags = pr ? pr->ntags : 0;
    uint32_t tag_offs[2 * 16];
    size_t nt = 0;
    for (size_t i = 0; i < ntags && nt < 16; i++, nt++) {
        tag_offs[2 * nt] = w_str(&w, pr->tags[i].key);
        tag_offs[2 * nt + 1] = w_str(&w, pr->tags[i].value ? pr->tags[i].value : "");
    }
    e->truncated |= ntags > nt;
    e->ntags = (uint32_t)nt;
    e->tags = w_bytes(&w, tag_offs, nt * 2 * sizeof(uint32_t));

    /* Context: values first, then the table of offsets. */
    e->nctx = 0;
    uint32_t offs[64];
    size_t no = 0;
    for (size_t i = 0; i < req->ncontext; i++) {
        const iam_ctx_value_t *c = &req->context[i];
        if (!c->key || !c->values)
            continue;
        if (no + 2 + c->nvalues > KYOKA_ARRAY_LEN(offs)) {
            e->truncated = true;
            break;
        }
        offs[no++] = w_str(&w, c->key);
        offs[no++] = (uint32_t)c->nvalues;
        for (size_t k = 0; k < c->nvalues; k++)
            offs[no++] = w_str(&w, c->values[k] ? c->values[k] : "");
        e->nctx++;
    }
    e->ctx = w_bytes(&w, offs, no * sizeof(uint32_t));

    e->has_ex = ex != NULL;
    e->decision = (uint8_t)(ex ? ex->decision : IAM_IMPLICIT_DENY);
    e->reason = ex ? ex->reason : NULL;
    e->session_policies = ex && ex->session_policies;
    uint32_t names[MAX_REFS];
    size_t n = ex ? ex->nconsidered : 0;
    for (size_t i = 0; i < n; i++) {
        const iam_considered_t *c = &ex->considered[i];
        names[i] = w_str(&w, c->policy_name);
        e->kind[i] = (uint8_t)kind_code(c->policy_kind);
        e->refs[i] = iam_policy_ref((iam_policy_t *)c->policy);
    }
    e->nrefs = (uint8_t)n;
    e->names = w_bytes(&w, names, n * sizeof(uint32_t));
    head += w.len;
}

static void ensure_tag(void)
{
    while (run_tag == 0) {
        uint32_t t = 0;
        if (getrandom(&t, sizeof t, 0) != (ssize_t)sizeof t)
            t = (uint32_t)kyoka_wall_ms() ^ ((uint32_t)getpid() << 16);
        run_tag = t;
    }
}

/* "d-TAG-SEQ" by hand: snprintf cost a tenth of a recorded decision. */
static void format_id(char out[32], uint64_t seq)
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    *p++ = 'd';
    *p++ = '-';
    for (int i = 7; i >= 0; i--)
        *p++ = hex[(run_tag >> (4 * i)) & 0xf];
    *p++ = '-';
    int digits = 6;
    while (digits < 16 && (seq >> (4 * digits)) != 0)
        digits++;
    for (int i = digits - 1; i >= 0; i--)
        *p++ = hex[(seq >> (4 * i)) & 0xf];
    *p = '\0';
}

const char *iam_decision_log_add(const iam_request_t *req, const iam_explain_t *ex)
{
    if (!req)
        return NULL;
    ensure_tag();
    uint64_t seq = next_seq++;
    entry_t *e = &ring[seq % LOG_SIZE];
    release(e);
    record(e, req, ex);
    e->seq = seq;
    format_id(e->id, seq);
    return e->id;
}

/* ---- reading ---- */

static bool entry_valid(const entry_t *e) { return e->seq && head - e->pos <= RING_BYTES; }

static const char *e_str(const entry_t *e, uint32_t off)
{
    return off == NONE ? NULL : bytes + e->pos % RING_BYTES + off;
}

static uint32_t e_u32(const entry_t *e, uint32_t off, size_t i)
{
    uint32_t v;
    memcpy(&v, bytes + e->pos % RING_BYTES + off + i * sizeof v, sizeof v);
    return v;
}

/* The request and policy set as they were, pointing into the ring. */
typedef struct replay {
    iam_principal_t pr;
    iam_tag_t tags[16];
    iam_ctx_value_t ctx[32];
    const char *vals[64];
    iam_request_t req;
    iam_named_policy_t named[MAX_REFS];
    iam_named_policy_t identity[MAX_REFS], session[MAX_REFS];
    iam_policy_set_t set;
    iam_explain_t ex;
    iam_decision_t d;
} replay_t;

static void replay_build(const entry_t *e, replay_t *r)
{
    memset(r, 0, sizeof *r);
    r->pr = (iam_principal_t){e_str(e, e->arn),     e_str(e, e->account),  e_str(e, e->type),
                              e_str(e, e->user_id), e_str(e, e->username), e_str(e, e->role_arn),
                              e_str(e, e->service), r->tags,               e->ntags,
                              e->is_root};
    for (uint32_t i = 0; i < e->ntags; i++)
        r->tags[i] = (iam_tag_t){e_str(e, e_u32(e, e->tags, 2 * i)), e_str(e, e_u32(e, e->tags, 2 * i + 1))};
    size_t k = 0, nv = 0, nc = 0;
    for (uint32_t i = 0; i < e->nctx && nc < KYOKA_ARRAY_LEN(r->ctx); i++) {
        const char *key = e_str(e, e_u32(e, e->ctx, k++));
        uint32_t n = e_u32(e, e->ctx, k++);
        size_t first = nv;
        for (uint32_t j = 0; j < n; j++) {
            const char *v = e_str(e, e_u32(e, e->ctx, k++));
            if (nv < KYOKA_ARRAY_LEN(r->vals))
                r->vals[nv++] = v;
        }
        r->ctx[nc++] = (iam_ctx_value_t){key, r->vals + first, nv - first};
    }
    r->req = (iam_request_t){
        .action = e_str(e, e->action),
        .resource = e_str(e, e->resource),
        .resource_account = e_str(e, e->resource_account),
        .principal = e->has_principal ? &r->pr : NULL,
        .context = r->ctx,
        .ncontext = nc,
        .source_ip = e_str(e, e->source_ip),
        .secure_transport = e->secure,
        .region = e_str(e, e->region),
        .now_ms = e->now_ms,
    };
    for (uint8_t i = 0; i < e->nrefs; i++) {
        iam_named_policy_t np = {e_str(e, e_u32(e, e->names, i)), e->refs[i]};
        r->named[i] = np;
        switch (e->kind[i]) {
        case 1:
            r->set.boundary = &r->named[i];
            break;
        case 2:
            r->session[r->set.nsession++] = np;
            break;
        case 3:
            r->set.resource = &r->named[i];
            break;
        default:
            r->identity[r->set.nidentity++] = np;
        }
    }
    r->set.identity = r->identity;
    r->set.session = r->session;
    r->set.has_session_policies = e->session_policies;
    r->d = iam_evaluate(&r->req, &r->set, &r->ex);
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *position(int line, int col) { return json_pack("{s:i,s:i}", "line", line, "column", col); }

static json_t *context_json(const iam_request_t *req)
{
    json_t *ctx = json_object();
    for (size_t i = 0; i < req->ncontext; i++) {
        const iam_ctx_value_t *c = &req->context[i];
        json_t *v;
        if (c->nvalues == 1) {
            v = json_string(c->values[0]);
        } else {
            v = json_array();
            for (size_t k = 0; k < c->nvalues; k++)
                json_array_append_new(v, json_string(c->values[k]));
        }
        json_object_set_new(ctx, c->key, v);
    }
    if (req->source_ip)
        json_object_set_new(ctx, "aws:SourceIp", json_string(req->source_ip));
    json_object_set_new(ctx, "aws:SecureTransport", json_string(req->secure_transport ? "true" : "false"));
    if (req->region)
        json_object_set_new(ctx, "aws:RequestedRegion", json_string(req->region));
    return ctx;
}

static json_t *render(const entry_t *e, bool explain)
{
    replay_t *r = xmalloc(sizeof *r);
    replay_build(e, r);
    const iam_explain_t *ex = &r->ex;
    char when[64];
    const char *id = e->id;
    kyoka_time_iso8601(e->time_ms, when, true);
    json_t *policies = json_array();
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
    json_t *missing = json_array();
    for (size_t i = 0; i < ex->nmissing; i++)
        json_array_append_new(missing, json_string(ex->missing_context[i]));
    json_t *considered = json_array();
    for (size_t i = 0; i < ex->nconsidered; i++)
        json_array_append_new(considered, json_pack("{s:o,s:o}", "policy", str_or_null(ex->considered[i].policy_name),
                                                     "kind", str_or_null(ex->considered[i].policy_kind)));
    const char *who = r->pr.arn ? r->pr.arn : r->pr.service;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "time", json_string(when));
    if (e->now_ms - e->time_ms > 1000 || e->time_ms - e->now_ms > 1000) {
        char server[64];
        kyoka_time_iso8601(e->now_ms, server, true);
        json_object_set_new(o, "serverTime", json_string(server));
    }
    json_object_set_new(o, "principal", json_string(e->has_principal && who ? who : "anonymous"));
    json_object_set_new(o, "action", str_or_null(r->req.action));
    json_object_set_new(o, "resource", json_string(r->req.resource ? r->req.resource : "*"));
    json_object_set_new(o, "decision", json_string(iam_decision_name((iam_decision_t)e->decision)));
    json_object_set_new(o, "reason", str_or_null(e->reason));
    json_object_set_new(o, "context", context_json(&r->req));
    json_object_set_new(o, "considered", considered);
    json_object_set_new(o, "policies", policies);
    json_object_set_new(o, "missingContext", missing);
    if (e->has_ex) {
        json_object_set_new(o, "identityAllows", json_boolean(ex->identity_allows));
        json_object_set_new(o, "resourceAllows", json_boolean(ex->resource_allows));
        json_object_set_new(o, "boundaryAllows", json_boolean(ex->boundary_allows));
        json_object_set_new(o, "sessionAllows", json_boolean(ex->session_allows));
    }
    /* The replay runs the same evaluator over the same compiled policies,
     * so it can only differ when the record was cut (a request over
     * RECORD_MAX) or more policies applied than the log keeps. */
    if (!e->has_ex || r->d != (iam_decision_t)e->decision || e->truncated)
        json_object_set_new(o, "replayIncomplete", json_true());
    if (explain)
        json_object_set_new(o, "explanation", iam__explain_json(&r->req, &r->set, ex));
    free(r);
    return o;
}

/* Parse "d-TAG-SEQ". */
static bool parse_id(const char *id, uint32_t *tag, uint64_t *seq)
{
    if (!id || strncmp(id, "d-", 2) != 0)
        return false;
    char *end;
    unsigned long t = strtoul(id + 2, &end, 16);
    if (end != id + 10 || *end != '-')
        return false;
    const char *s = end + 1;
    if (!*s || strlen(s) > 16)
        return false;
    unsigned long long q = strtoull(s, &end, 16);
    if (*end || q == 0)
        return false;
    for (const char *c = id + 2; c < id + 10; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return false;
    *tag = (uint32_t)t;
    *seq = q;
    return true;
}

static entry_t *latest_denial(void)
{
    for (uint64_t seq = next_seq; seq-- > 1 && seq + LOG_SIZE >= next_seq;) {
        entry_t *e = &ring[seq % LOG_SIZE];
        if (e->seq != seq || !entry_valid(e))
            break;
        if (e->decision != IAM_ALLOW)
            return e;
    }
    return NULL;
}

static entry_t *find(const char *id, const char **why)
{
    if (id && strcmp(id, "last") == 0) {
        entry_t *e = latest_denial();
        *why = e ? NULL : "no denied decision in the log yet";
        return e;
    }
    uint32_t tag;
    uint64_t seq;
    if (!parse_id(id, &tag, &seq)) {
        *why = "no such decision: that is not a decision id; ids look like d-1a2b3c4d-00002a (the x-kyoka-decision-id response header), "
               "or use `last` for the latest denial";
        return NULL;
    }
    if (tag != run_tag) {
        *why = "that decision id is from an earlier run of this server (or another server): the decision log "
               "is kept in memory and starts empty at every start";
        return NULL;
    }
    if (seq >= next_seq) {
        *why = "no such decision: this server has not issued that id yet";
        return NULL;
    }
    entry_t *e = &ring[seq % LOG_SIZE];
    if (e->seq != seq || !entry_valid(e)) {
        *why = "that decision has aged out of the log, which keeps the most recent 4096 decisions (and none "
               "from before the last POST /_kyoka/reset); repeat the request and explain the new id";
        return NULL;
    }
    *why = NULL;
    return e;
}

json_t *iam_decision_log_get(const char *id)
{
    const char *why;
    entry_t *e = find(id, &why);
    return e ? render(e, false) : NULL;
}

json_t *iam_decision_log_explain(const char *id, const char **why)
{
    entry_t *e = find(id, why);
    return e ? render(e, true) : NULL;
}

static bool wanted(const entry_t *e, const iam_decision_filter_t *f, const uint8_t *action_wild)
{
    if (!f)
        return true;
    if (f->denied_only && e->decision == IAM_ALLOW)
        return false;
    if (f->after_seq && e->seq <= f->after_seq)
        return false;
    if (f->principal) {
        const char *who = e->has_principal ? (e_str(e, e->arn) ? e_str(e, e->arn) : e_str(e, e->service)) : NULL;
        if (!strstr(who ? who : "anonymous", f->principal))
            return false;
    }
    if (f->action) {
        const char *a = e_str(e, e->action);
        if (!a || !iam__wild_match(f->action, action_wild, strlen(f->action), a, strlen(a), true))
            return false;
    }
    return true;
}

json_t *iam_decision_log_list(const iam_decision_filter_t *f, size_t n, bool full)
{
    json_t *arr = json_array();
    /* --action takes the Action element's wildcards: sqs:*, s3:Get*. */
    uint8_t wild[256];
    if (f && f->action) {
        size_t len = strlen(f->action);
        for (size_t i = 0; i < len && i < sizeof wild; i++)
            wild[i] = f->action[i] == '*' ? IAM__STAR : f->action[i] == '?' ? IAM__QMARK : IAM__LIT;
        if (len > sizeof wild)
            return arr;
    }
    for (uint64_t seq = next_seq; n > 0 && seq-- > 1 && seq + LOG_SIZE >= next_seq;) {
        entry_t *e = &ring[seq % LOG_SIZE];
        if (e->seq != seq || !entry_valid(e))
            break;
        if (f && f->after_seq && seq <= f->after_seq)
            break;
        if (!wanted(e, f, wild))
            continue;
        if (full) {
            json_array_append_new(arr, render(e, false));
        } else {
            char when[64];
            const char *id = e->id;
            kyoka_time_iso8601(e->time_ms, when, true);
            const char *who = e_str(e, e->arn) ? e_str(e, e->arn) : e_str(e, e->service);
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:o,s:s,s:s}", "id", id, "time", when, "principal",
                                                 e->has_principal && who ? who : "anonymous", "action",
                                                 str_or_null(e_str(e, e->action)), "resource",
                                                 e_str(e, e->resource) ? e_str(e, e->resource) : "*", "decision",
                                                 iam_decision_name((iam_decision_t)e->decision)));
        }
        n--;
    }
    return arr;
}

json_t *iam_decision_log_recent(size_t n) { return iam_decision_log_list(NULL, n, true); }

uint64_t iam_decision_log_seq(const char *id)
{
    uint32_t tag;
    uint64_t seq;
    return parse_id(id, &tag, &seq) && tag == run_tag ? seq : 0;
}

const char *iam_decision_log_latest(char out[32])
{
    out[0] = '\0';
    if (next_seq > 1)
        format_id(out, next_seq - 1);
    return out;
}

void iam_decision_log_clear(void)
{
    for (size_t i = 0; i < LOG_SIZE; i++)
        release(&ring[i]);
    /* Sequence numbers go on: an id handed out before the reset must read
     * as aged out, never as another decision. */
    head += RING_BYTES;
}
