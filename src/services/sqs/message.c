/*
 * Messages: their memory layout, where they sit in a queue, receipt
 * handles, and the message operations (SendMessage[Batch], ReceiveMessage,
 * DeleteMessage[Batch], ChangeMessageVisibility[Batch]).
 *
 * A message is READY (receivable), DELAYED (DelaySeconds not over) or
 * INFLIGHT (received, visibility timeout running). Delayed and in-flight
 * messages wait in the queue's heap until their visible_at; whoever touches
 * the queue next makes them ready ("promote"), and a queue with parked long
 * polls keeps one deadline entry for the earliest of them.
 *
 * Receipt handles name one receive of one message: the queue incarnation,
 * the message id and a per-message receive counter, with a check word. A
 * standard queue deletes with any handle of the message; a FIFO queue
 * (and ChangeMessageVisibility everywhere) only with the latest one while
 * the message is in flight, as AWS does
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html).
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/banned.h"

/* ==== resource internals ==== */

sqs_msg_t *sqs__msg_alloc(sqs_state_t *st, const sqs_msg_init_t *in)
{
    size_t n = in->body.len + 1 + in->attrs.len + 1 + in->sender.len + 1;
    if (in->trace.p)
        n += in->trace.len + 1;
    if (in->group.p)
        n += in->group.len + 1;
    if (in->dedup.p)
        n += in->dedup.len + 1;
    sqs_msg_t *m = sqs__slab_alloc(&st->slab, sizeof *m + n);
    memset(m, 0, sizeof *m);
    m->alloc_size = (uint32_t)(sizeof *m + n);
    char *p = m->data;
#define PUT(v, field)                                \
    do {                                             \
        if ((v).len)                                 \
            memcpy(p, (v).p, (v).len);               \
        p[(v).len] = '\0';                           \
        field = p;                                   \
        p += (v).len + 1;                            \
    } while (0)
    const char *ignored;
    PUT(in->body, ignored);
    PUT(in->attrs, m->attrs);
    PUT(in->sender, m->sender_id);
    if (in->trace.p)
        PUT(in->trace, m->trace);
    if (in->group.p)
        PUT(in->group, m->group_id);
    if (in->dedup.p)
        PUT(in->dedup, m->dedup_id);
#undef PUT
    (void)ignored;
    m->body_len = (uint32_t)in->body.len;
    m->attrs_len = (uint32_t)in->attrs.len;
    if (in->md5_body)
        memcpy(m->md5_body, in->md5_body, sizeof m->md5_body);
    else
        sqs__md5_hex(st, in->body.p ? in->body.p : "", in->body.len, m->md5_body);
    if (in->md5_attrs) {
        snprintf(m->md5_attrs, sizeof m->md5_attrs, "%s", in->md5_attrs);
    } else if (in->attrs.len) {
        json_t *a = json_loadb(in->attrs.p, in->attrs.len, 0, NULL);
        sqs__md5_attrs(st, a, NULL, m->md5_attrs);
        json_decref(a);
    }
    return m;
}

void sqs__msg_free(sqs_state_t *st, sqs_msg_t *m)
{
    if (!m)
        return;
    free(m->dlq_src);
    sqs__slab_free(&st->slab, m, m->alloc_size);
}

/* ---- the id index: every live message by row id ---- */

sqs_msg_t *sqs__msg_lookup(sqs_state_t *st, uint64_t id)
{
    if (!st->msgs_nb)
        return NULL;
    for (sqs_msg_t *m = st->msgs[id & (st->msgs_nb - 1)]; m; m = m->hnext)
        if (m->id == id)
            return m;
    return NULL;
}

void sqs__msg_index(sqs_state_t *st, sqs_msg_t *m)
{
    if (st->msgs_n + 1 > st->msgs_nb) {
        size_t nb = st->msgs_nb ? st->msgs_nb * 2 : 1024;
        sqs_msg_t **b = xcalloc(nb, sizeof *b);
        for (size_t i = 0; i < st->msgs_nb; i++) {
            sqs_msg_t *x = st->msgs[i];
            while (x) {
                sqs_msg_t *next = x->hnext;
                x->hnext = b[x->id & (nb - 1)];
                b[x->id & (nb - 1)] = x;
                x = next;
            }
        }
        free(st->msgs);
        st->msgs = b;
        st->msgs_nb = nb;
    }
    sqs_msg_t **slot = &st->msgs[m->id & (st->msgs_nb - 1)];
    m->hnext = *slot;
    *slot = m;
    st->msgs_n++;
}

void sqs__msg_unindex(sqs_state_t *st, sqs_msg_t *m)
{
    if (!st->msgs_nb)
        return;
    for (sqs_msg_t **p = &st->msgs[m->id & (st->msgs_nb - 1)]; *p; p = &(*p)->hnext) {
        if (*p == m) {
            *p = m->hnext;
            m->hnext = NULL;
            st->msgs_n--;
            return;
        }
    }
}

/* ---- placing messages in their queue ---- */

void sqs__msg_place(sqs_queue_t *q, sqs_msg_t *m)
{
    m->q = q;
    sqs_list_push(&q->all, &m->all);
    if (q->set.fifo)
        sqs__group_add_msg(q, m);
    switch (m->state) {
    case SQS_READY:
        q->n_ready++;
        if (!q->set.fifo)
            sqs_list_push(&q->ready, &m->link);
        break;
    case SQS_DELAYED:
        q->n_delayed++;
        sqs__heap_push(q, m);
        break;
    default:
        q->n_inflight++;
        sqs__heap_push(q, m);
        break;
    }
    if (q->set.fifo)
        sqs__group_update(q, m->group);
    else if (m->state == SQS_READY)
        sqs__kick(q);
    if (m->state != SQS_READY)
        sqs__queue_arm(q);
}

void sqs__msg_unplace(sqs_msg_t *m)
{
    sqs_queue_t *q = m->q;
    switch (m->state) {
    case SQS_READY:
        q->n_ready--;
        if (!q->set.fifo && sqs_linked(&m->link))
            sqs_list_unlink(&m->link);
        break;
    case SQS_DELAYED:
        q->n_delayed--;
        sqs__heap_remove(q, m);
        break;
    default:
        q->n_inflight--;
        sqs__heap_remove(q, m);
        break;
    }
    if (q->set.fifo)
        sqs__group_remove_msg(q, m);
    sqs_list_unlink(&m->all);
}

void sqs__msg_delete_later(sqs_msg_t *m, uint64_t *ids, int *n)
{
    sqs_state_t *st = m->q->st;
    ids[(*n)++] = m->id;
    sqs__msg_unplace(m);
    sqs__msg_unindex(st, m);
    sqs__msg_free(st, m);
}

void sqs__msg_delete(sqs_msg_t *m)
{
    sqs_state_t *st = m->q->st;
    sqs__persist_msg_delete(st, m->id);
    sqs__msg_unplace(m);
    sqs__msg_unindex(st, m);
    sqs__msg_free(st, m);
}

/* Move a message to another queue (dead-letter queue on receive, or back to
 * a source by a move task). It keeps its id, body and attributes and starts
 * over there: visible now, never received. A standard queue keeps its
 * original enqueue time (the retention clock does not restart); a FIFO
 * queue restarts it
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html). */
void sqs__msg_move(sqs_msg_t *m, sqs_queue_t *dst, const char *dlq_src, int64_t now)
{
    sqs_state_t *st = dst->st;
    sqs__msg_unplace(m);
    if (dst->set.fifo)
        m->sent_ms = now;
    m->seq_no = st->next_msg_id++;
    m->receive_count = 0;
    m->first_recv_ms = 0;
    m->last_recv_ms = 0;
    m->receipt_seq++;
    free(m->dlq_src);
    m->dlq_src = dlq_src ? xstrdup(dlq_src) : NULL;
    m->state = SQS_READY;
    m->visible_at = 0;
    sqs__msg_place(dst, m);
    sqs__persist_msg_move(m);
}

/* ---- receipt handles ---- */

#define RECEIPT_BYTES 27
#define RECEIPT_CHARS 36

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t receipt_check(const unsigned char *b) { return (uint32_t)sqs__hash(b, 23) ^ 0x6b756d6fu; }

static char *receipt_encode(svc_call_t *c, const sqs_msg_t *m)
{
    unsigned char b[RECEIPT_BYTES];
    b[0] = 'K';
    put_be(b + 1, m->q->id, 8);
    put_be(b + 9, m->id, 8);
    put_be(b + 17, m->receipt_seq, 4);
    put_be(b + 21, m->receive_count, 2);
    put_be(b + 23, receipt_check(b), 4);
    return base64_encode(c->arena, b, sizeof b);
}

static bool receipt_decode(svc_call_t *c, const char *rh, uint64_t *qid, uint64_t *mid, uint32_t *seq)
{
    if (!rh || strlen(rh) != RECEIPT_CHARS)
        return false;
    unsigned char *b = NULL;
    if (base64_decode(c->arena, strv_from(rh), &b) != RECEIPT_BYTES || b[0] != 'K')
        return false;
    if (get_be(b + 23, 4) != receipt_check(b))
        return false;
    *qid = get_be(b + 1, 8);
    *mid = get_be(b + 9, 8);
    *seq = (uint32_t)get_be(b + 17, 4);
    return true;
}

/* ---- per-entry errors (batches report them in Failed[]) ---- */


typedef struct sqs_err {
    const char *code;
    bool sender;
    char msg[700];
} sqs_err_t;

static void err_set(sqs_err_t *e, const char *code, const char *fmt, ...) KYOKA_PRINTF(3, 4);
static void err_set(sqs_err_t *e, const char *code, const char *fmt, ...)
{
    if (e->code)
        return;
    e->code = code;
    e->sender = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

/* Decode a receipt handle given for queue q. AWS tells apart text that was
 * never a receipt handle from a real one of another queue
 * (https://github.com/aws/aws-sdk-java-v2/issues/3101 shows the latter). */
static bool receipt_for_queue(svc_call_t *c, const sqs_queue_t *q, const char *rh, uint64_t *mid, uint32_t *seq,
                              sqs_err_t *e)
{
    uint64_t qid;
    if (!receipt_decode(c, rh, &qid, mid, seq)) {
        err_set(e, "ReceiptHandleIsInvalid", "The input receipt handle \"%s\" is not a valid receipt handle.", rh);
        return false;
    }
    if (qid != q->id) {
        err_set(e, "ReceiptHandleIsInvalid", "The receipt handle \"%s\" is not valid for this queue.", rh);
        return false;
    }
    return true;
}

static void err_to_call(svc_call_t *c, const sqs_err_t *e) { svc_error(c, e->code, 0, "%s", e->msg); }

static json_t *id_entry(const char *id)
{
    json_t *o = json_object();
    json_object_set_new_nocheck(o, "Id", json_string(id));
    return o;
}

static void failed_entry(json_t *failed, const char *id, const sqs_err_t *e)
{
    json_array_append_new(failed, json_pack("{s:s,s:b,s:s,s:s}", "Id", id, "SenderFault", e->sender, "Code", e->code,
                                            "Message", e->msg));
}

/* ==== batches ==== */

/* A batch entry id: 1 to 80 letters, digits, hyphens and underscores
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatchRequestEntry.html). */
static bool batch_id_ok(const char *id)
{
    size_t len = id ? strlen(id) : 0;
    if (len < 1 || len > 80)
        return false;
    for (size_t k = 0; k < len; k++) {
        char ch = id[k];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
                  ch == '_';
        if (!ok)
            return false;
    }
    return true;
}

static const char *batch_id(json_t *entries, size_t i)
{
    return json_string_value(json_object_get(json_array_get(entries, i), "Id"));
}

/* Batch-wide checks shared by the three batch operations
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html).
 * Every id is checked before any two are compared, so a bad id is reported
 * even when it is also repeated. */
static bool batch_check(svc_call_t *c, json_t *entries, const char *entry_name)
{
    size_t n = json_array_size(entries);
    if (n == 0) {
        svc_error(c, "EmptyBatchRequest", 0, "There should be at least one %s in the request.", entry_name);
        return false;
    }
    if (n > KYOKA_SQS_MAX_BATCH_ENTRIES) {
        svc_error(c, "TooManyEntriesInBatchRequest", 0,
                  "Maximum number of entries per request are %d. You have sent %zu.", KYOKA_SQS_MAX_BATCH_ENTRIES, n);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!batch_id_ok(batch_id(entries, i))) {
            svc_error(c, "InvalidBatchEntryId", 0,
                      "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at "
                      "most 80 letters long.");
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t k = i + 1; k < n; k++) {
            if (strcmp(batch_id(entries, i), batch_id(entries, k)) == 0) {
                svc_error(c, "BatchEntryIdsNotDistinct", 0, "Id %s repeated.", batch_id(entries, i));
                return false;
            }
        }
    }
    return true;
}

/* What sets one batch operation apart from the other two; batch_run does
 * the rest. */
typedef struct batch_op {
    const char *entry_name; /* entry shape, named by EmptyBatchRequest */
    /* Rules beyond batch_check that fail the whole request, or NULL. Sets
     * the call's error and returns false to fail it; runs before any entry. */
    bool (*check)(svc_call_t *c, sqs_queue_t *q, json_t *entries);
    /* Carry out one entry: add to res (its Successful entry, which holds
     * the Id) and return true, or set e and return false to list the entry
     * under Failed instead. ctx is batch_run's. */
    bool (*on_entry)(svc_call_t *c, sqs_queue_t *q, json_t *entry, json_t *res, sqs_err_t *e, void *ctx);
} batch_op_t;

/* Answer a batch request: find the queue, run the batch-wide checks, then
 * each entry in order. An entry that fails does not fail the request: it is
 * listed under Failed beside the Successful ones, and the answer is still a
 * 200 (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api-actions.html).
 * Returns false when the request as a whole failed; the call's error is
 * then set and no entry has run. */
static bool batch_run(svc_call_t *c, const batch_op_t *op, void *ctx)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return false;
    json_t *entries = svc_in(c, "Entries");
    if (!batch_check(c, entries, op->entry_name) || (op->check && !op->check(c, q, entries)))
        return false;
    json_t *ok = json_array(), *failed = json_array();
    size_t i;
    json_t *entry;
    json_array_foreach(entries, i, entry) {
        const char *id = json_string_value(json_object_get(entry, "Id"));
        json_t *res = id_entry(id);
        sqs_err_t e = {0};
        if (op->on_entry(c, q, entry, res, &e, ctx)) {
            json_array_append_new(ok, res);
        } else {
            json_decref(res);
            failed_entry(failed, id, &e);
        }
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "Successful", ok);
    json_object_set_new(out, "Failed", failed);
    return true;
}

/* ==== sending ==== */

typedef struct send_in {
    const char *body;
    size_t body_len;
    json_t *attrs;      /* MessageAttributes or NULL */
    json_t *sys;        /* MessageSystemAttributes or NULL */
    bool has_delay;
    long long delay;
    const char *group;  /* MessageGroupId */
    const char *dedup;  /* MessageDeduplicationId */
    const char *header_trace; /* the request's X-Amzn-Trace-Id, or NULL */
} send_in_t;

typedef struct send_prep {
    json_t *canon;       /* canonical attributes (owned), or NULL */
    size_t attr_bytes;
    const char *trace;   /* AWSTraceHeader value */
    bool trace_from_header; /* from X-Amzn-Trace-Id, not a system attribute */
    char md5_attrs[33];
    char md5_sys[33];
} send_prep_t;

/* The request's X-Ray header: it traces every message the request sends
 * that has no AWSTraceHeader system attribute of its own
 * (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sqs.html).
 * Read once per request; neither counts toward the message size. */
static const char *request_trace(svc_call_t *c)
{
    strv_t h = c->req ? http_request_header(c->req, "x-amzn-trace-id") : STRV_NULL;
    return h.len ? arena_strndup(c->arena, h.p, h.len) : NULL;
}

static void send_in_read(json_t *e, send_in_t *in)
{
    json_t *b = json_object_get(e, "MessageBody");
    in->body = json_string_value(b);
    in->body_len = json_string_length(b);
    if (!in->body)
        in->body = "";
    in->attrs = json_object_get(e, "MessageAttributes");
    in->sys = json_object_get(e, "MessageSystemAttributes");
    json_t *d = json_object_get(e, "DelaySeconds");
    in->has_delay = json_is_integer(d);
    in->delay = in->has_delay ? json_integer_value(d) : 0;
    in->group = json_string_value(json_object_get(e, "MessageGroupId"));
    in->dedup = json_string_value(json_object_get(e, "MessageDeduplicationId"));
    in->header_trace = NULL; /* request-wide: the caller sets it */
}

/* Bytes a message counts against MaximumMessageSize: the body plus every
 * attribute's name, type and value
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html). */
static size_t b64_decoded_len(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    size_t pad = 0;
    while (n > 0 && pad < 2 && s[n - 1 - pad] == '=')
        pad++;
    return n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) - (n % 4 ? 0 : pad);
}

static size_t attrs_size(json_t *attrs)
{
    size_t total = 0;
    const char *name;
    json_t *a;
    json_object_foreach(attrs, name, a) {
        total += strlen(name);
        json_t *t = json_object_get(a, "DataType");
        total += json_string_length(t);
        json_t *sv = json_object_get(a, "StringValue");
        if (sv)
            total += json_string_length(sv);
        else
            total += b64_decoded_len(json_string_value(json_object_get(a, "BinaryValue")));
    }
    return total;
}

static bool number_ok(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    }
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static bool type_prefix(const char *t, const char *base)
{
    size_t n = strlen(base);
    return strncmp(t, base, n) == 0 && (t[n] == '\0' || (t[n] == '.' && t[n + 1] != '\0'));
}

/* Message attribute rules
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html).
 * Builds the canonical object kept with the message. */
static bool attrs_validate(svc_call_t *c, json_t *attrs, send_prep_t *p, sqs_err_t *e)
{
    size_t n = json_object_size(attrs);
    if (n == 0)
        return true;
    if (n > SQS_MAX_MESSAGE_ATTRS) {
        err_set(e, "InvalidParameterValue", "Number of message attributes [%zu] exceeds the allowed maximum [%d].", n,
                SQS_MAX_MESSAGE_ATTRS);
        return false;
    }
    p->canon = json_object();
    const char *name;
    json_t *a;
    json_object_foreach(attrs, name, a) {
        size_t nl = strlen(name);
        if (nl == 0) {
            err_set(e, "InvalidParameterValue", "The request must contain non-empty message (user) attribute names.");
            return false;
        }
        if (nl >= SQS_MAX_ATTR_NAME) {
            err_set(e, "InvalidParameterValue", "Message (user) attribute name must be shorter than 256 bytes.");
            return false;
        }
        for (size_t i = 0; i < nl; i++) {
            unsigned char ch = (unsigned char)name[i];
            if (!(ch >= 0x80 || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '_' || ch == '-' || ch == '.')) {
                err_set(e, "InvalidParameterValue",
                        "Message (user) attributes name can only contain upper and lower score characters, digits, "
                        "periods, hyphens and underscores. ");
                return false;
            }
        }
        if (strncasecmp(name, "AWS.", 4) == 0 || strncasecmp(name, "Amazon.", 7) == 0) {
            err_set(e, "InvalidParameterValue",
                    "You can't use message attribute names beginning with 'AWS.' or 'Amazon'. These strings are "
                    "reserved for internal use.");
            return false;
        }
        if (name[0] == '.' || name[nl - 1] == '.' || strstr(name, "..")) {
            err_set(e, "InvalidParameterValue",
                    "Message (user) attribute name '%s' can't start or end with a period (.), or contain consecutive "
                    "periods (..).", name);
            return false;
        }
        const char *type = json_string_value(json_object_get(a, "DataType"));
        if (!type)
            type = "";
        if (strlen(type) >= SQS_MAX_ATTR_TYPE) {
            err_set(e, "InvalidParameterValue", "Message (user) attribute type must be shorter than 256 bytes.");
            return false;
        }
        if (json_object_get(a, "StringListValues") || json_object_get(a, "BinaryListValues")) {
            err_set(e, "InvalidParameterValue",
                    "Message attribute list values in SendMessage operation are not supported.");
            return false;
        }
        bool is_bin = type_prefix(type, "Binary");
        bool is_num = type_prefix(type, "Number");
        bool is_str = type_prefix(type, "String");
        if (!is_bin && !is_num && !is_str) {
            err_set(e, "InvalidParameterValue",
                    "The type of message (user) attribute '%s' is invalid. You must use only the following supported "
                    "type prefixes: Binary, Number, String.", name);
            return false;
        }
        json_t *sv = json_object_get(a, "StringValue");
        json_t *bv = json_object_get(a, "BinaryValue");
        if (!sv && !bv) {
            err_set(e, "InvalidParameterValue",
                    "The message (user) attribute '%s' must contain a non-empty message attribute value.", name);
            return false;
        }
        if (is_bin) {
            const char *b64 = json_string_value(bv);
            unsigned char *raw = NULL;
            ssize_t rn = b64 ? base64_decode(c->arena, strv_from(b64), &raw) : -1;
            if (rn <= 0) {
                err_set(e, "InvalidParameterValue",
                        "Message (user) attribute '%s' must contain a non-empty value of type 'Binary'.", name);
                return false;
            }
            json_object_set_new(p->canon, name,
                                json_pack("{s:s,s:s}", "DataType", type, "BinaryValue",
                                          base64_encode(c->arena, raw, (size_t)rn)));
            p->attr_bytes += nl + strlen(type) + (size_t)rn;
            continue;
        }
        const char *s = json_string_value(sv);
        size_t sl = json_string_length(sv);
        if (!s || sl == 0) {
            err_set(e, "InvalidParameterValue", "Message (user) attribute '%s' must contain a non-empty value of type '%s'.",
                    name, is_num ? "Number" : "String");
            return false;
        }
        if (is_num && !number_ok(s)) {
            err_set(e, "InvalidParameterValue", "Can't cast the value of message (user) attribute '%s' to a number.",
                    name);
            return false;
        }
        if (!sqs__body_chars_ok(s, sl)) {
            err_set(e, "InvalidParameterValue",
                    "Message (user) attribute '%s' contains invalid characters. Valid unicode characters are #x9 | #xA "
                    "| #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF", name);
            return false;
        }
        json_object_set_new(p->canon, name, json_pack("{s:s,s:s%}", "DataType", type, "StringValue", s, sl));
        p->attr_bytes += nl + strlen(type) + sl;
    }
    return true;
}

/* MessageGroupId / MessageDeduplicationId: 1 to 128 alphanumeric and
 * punctuation characters. */
static bool fifo_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > SQS_MAX_FIFO_ID)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return false;
    return true;
}

static bool send_validate(svc_call_t *c, sqs_queue_t *q, const send_in_t *in, send_prep_t *p, size_t max_size,
                          sqs_err_t *e)
{
    if (in->body_len == 0) {
        err_set(e, "MissingParameter", "The request must contain the parameter MessageBody.");
        return false;
    }
    if (q->set.fifo) {
        if (in->has_delay && in->delay != 0) {
            err_set(e, "InvalidParameterValue",
                    "Value %lld for parameter DelaySeconds is invalid. Reason: The request include parameter that is not "
                    "valid for this queue type.", in->delay);
            return false;
        }
    } else if (in->has_delay && (in->delay < 0 || in->delay > SQS_MAX_DELAY_S)) {
        err_set(e, "InvalidParameterValue",
                "Value %lld for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.",
                in->delay);
        return false;
    }
    if (!attrs_validate(c, in->attrs, p, e))
        return false;
    const char *sname;
    json_t *sa;
    json_object_foreach(in->sys, sname, sa) {
        if (strcmp(sname, "AWSTraceHeader") != 0) {
            err_set(e, "InvalidParameterValue", "Message system attribute name '%s' is invalid.", sname);
            return false;
        }
        const char *type = json_string_value(json_object_get(sa, "DataType"));
        const char *v = json_string_value(json_object_get(sa, "StringValue"));
        if (!type || strcmp(type, "String") != 0 || !v || !*v) {
            err_set(e, "InvalidParameterValue",
                    "Message system attribute 'AWSTraceHeader' must contain a non-empty value of type 'String'.");
            return false;
        }
        p->trace = v;
    }
    if (!p->trace && in->header_trace) {
        p->trace = in->header_trace;
        p->trace_from_header = true;
    }
    if (in->body_len + p->attr_bytes > max_size) {
        err_set(e, "InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than %zu "
                                            "bytes.", max_size);
        return false;
    }
    if (!sqs__body_chars_ok(in->body, in->body_len)) {
        err_set(e, "InvalidMessageContents",
                "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to "
                "#xFFFD | #x10000 to #x10FFFF");
        return false;
    }
    if (in->group && !fifo_id_ok(in->group)) {
        err_set(e, "InvalidParameterValue",
                "Value %s for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include alphanumeric "
                "and punctuation characters. 1 to 128 in length.", in->group);
        return false;
    }
    if (q->set.fifo) {
        if (!in->group) {
            err_set(e, "MissingParameter", "The request must contain the parameter MessageGroupId.");
            return false;
        }
        if (in->dedup && !fifo_id_ok(in->dedup)) {
            err_set(e, "InvalidParameterValue",
                    "Value %s for parameter MessageDeduplicationId is invalid. Reason: MessageDeduplicationId can only "
                    "include alphanumeric and punctuation characters. 1 to 128 in length.", in->dedup);
            return false;
        }
        if (!in->dedup && !q->set.content_dedup) {
            err_set(e, "InvalidParameterValue",
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided "
                    "explicitly");
            return false;
        }
    } else if (in->dedup) {
        err_set(e, "InvalidParameterValue",
                "The request include parameter MessageDeduplicationId which is not valid for this queue type");
        return false;
    }
    return true;
}

static const char *sender_of(svc_call_t *c)
{
    if (c->principal.user_id)
        return c->principal.user_id;
    if (c->cred && c->cred->user_id)
        return c->cred->user_id;
    return c->cred && c->cred->account_id ? c->cred->account_id : c->ctx->account_id;
}

/* Enqueue a validated message; fill the result entry. With pending, the
 * store insert is left to the caller (a batch inserts its rows in one
 * statement): the message is appended there. */
static void send_commit(svc_call_t *c, sqs_queue_t *q, const send_in_t *in, send_prep_t *p, json_t *res,
                        sqs_msg_t **pending, int *npending)
{
    sqs_state_t *st = q->st;
    int64_t now = kyoka_clock_now_ms();
    char md5_body[33];
    sqs__md5_hex(st, in->body, in->body_len, md5_body);
    char *canon_text = NULL;
    if (p->canon && json_object_size(p->canon)) {
        canon_text = proto_json_dumps(p->canon, JSON_COMPACT | JSON_SORT_KEYS);
        sqs__md5_attrs(st, p->canon, NULL, p->md5_attrs);
    }
    /* The digest answers system attributes the client sent; a header-borne
     * trace was not one of them. */
    bool sys_digest = p->trace && !p->trace_from_header;
    if (sys_digest) {
        json_t *sys = json_pack("{s:{s:s,s:s}}", "AWSTraceHeader", "DataType", "String", "StringValue", p->trace);
        sqs__md5_attrs(st, sys, NULL, p->md5_sys);
        json_decref(sys);
    }
    json_object_set_new_nocheck(res, "MD5OfMessageBody", json_string_nocheck(md5_body));
    if (canon_text)
        json_object_set_new_nocheck(res, "MD5OfMessageAttributes", json_string_nocheck(p->md5_attrs));
    if (sys_digest)
        json_object_set_new_nocheck(res, "MD5OfMessageSystemAttributes", json_string_nocheck(p->md5_sys));

    const char *dedup = in->dedup;
    const char *dkey = NULL;
    if (q->set.fifo) {
        if (!dedup) {
            char *h = arena_alloc(c->arena, 65);
            sqs__sha256_hex(st, in->body, in->body_len, h);
            dedup = h;
        }
        dkey = q->set.dedup_per_group ? arena_sprintf(c->arena, "%s\x1f%s", in->group, dedup) : dedup;
        sqs_dedup_t *d = sqs__dedup_find(q, dkey, now);
        if (d) {
            /* A duplicate within the window: accepted, not enqueued, and
             * answered with the first message's id and sequence number. */
            char seq[24];
            sqs__seq_format(d->seq_no, seq);
            json_object_set_new(res, "MessageId", json_string(d->message_id));
            json_object_set_new(res, "SequenceNumber", json_string(seq));
            free(canon_text);
            return;
        }
    }
    sqs_msg_init_t mi = {
        .body = {in->body, in->body_len},
        .attrs = canon_text ? strv_from(canon_text) : STRV_NULL,
        .sender = strv_from(sender_of(c)),
        .trace = p->trace ? strv_from(p->trace) : STRV_NULL,
        .group = in->group ? strv_from(in->group) : STRV_NULL,
        .dedup = dedup && q->set.fifo ? strv_from(dedup) : STRV_NULL,
        .md5_attrs = canon_text ? p->md5_attrs : NULL,
        .md5_body = md5_body,
    };
    sqs_msg_t *m = sqs__msg_alloc(st, &mi);
    free(canon_text);
    m->id = st->next_msg_id++;
    m->seq_no = m->id;
    kyoka_uuid(m->message_id);
    m->sent_ms = now;
    long long delay = q->set.fifo || !in->has_delay ? q->set.delay_seconds : in->delay;
    if (delay > 0) {
        m->state = SQS_DELAYED;
        m->visible_at = now + delay * 1000;
    } else {
        m->state = SQS_READY;
    }
    m->q = q;
    sqs__msg_index(st, m);
    if (pending)
        pending[(*npending)++] = m;
    else
        sqs__persist_msg_insert(m);
    sqs__msg_place(q, m);
    if (q->set.fifo)
        sqs__dedup_add(q, dkey, m->message_id, m->seq_no, now + SQS_DEDUP_WINDOW_MS, true);
    json_object_set_new_nocheck(res, "MessageId", json_string_nocheck(m->message_id));
    if (q->set.fifo) {
        char seq[24];
        sqs__seq_format(m->seq_no, seq);
        json_object_set_new(res, "SequenceNumber", json_string(seq));
    }
}

/* ==== receiving ==== */

enum {
    SYS_SENDER = 1 << 0,
    SYS_SENT = 1 << 1,
    SYS_RECV_COUNT = 1 << 2,
    SYS_FIRST_RECV = 1 << 3,
    SYS_SEQ = 1 << 4,
    SYS_DEDUP = 1 << 5,
    SYS_GROUP = 1 << 6,
    SYS_TRACE = 1 << 7,
    SYS_DLQ_SRC = 1 << 8,
    SYS_ALL = (1 << 9) - 1,
};

static const struct {
    const char *name;
    unsigned bit;
} sys_names[] = {
    {"SenderId", SYS_SENDER},
    {"SentTimestamp", SYS_SENT},
    {"ApproximateReceiveCount", SYS_RECV_COUNT},
    {"ApproximateFirstReceiveTimestamp", SYS_FIRST_RECV},
    {"SequenceNumber", SYS_SEQ},
    {"MessageDeduplicationId", SYS_DEDUP},
    {"MessageGroupId", SYS_GROUP},
    {"AWSTraceHeader", SYS_TRACE},
    {"DeadLetterQueueSourceArn", SYS_DLQ_SRC},
};

static unsigned sys_mask_of(json_t *names)
{
    unsigned mask = 0;
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n) {
        const char *s = json_string_value(n);
        if (!s)
            continue;
        if (strcmp(s, "All") == 0)
            mask |= SYS_ALL;
        for (size_t k = 0; k < KYOKA_ARRAY_LEN(sys_names); k++)
            if (strcmp(s, sys_names[k].name) == 0)
                mask |= sys_names[k].bit;
    }
    return mask;
}

static json_t *message_json(svc_call_t *c, sqs_msg_t *m, const sqs_recv_opts_t *o)
{
    json_t *j = json_object();
    json_object_set_new_nocheck(j, "MessageId", json_string_nocheck(m->message_id));
    json_object_set_new_nocheck(j, "ReceiptHandle", json_string_nocheck(receipt_encode(c, m)));
    json_object_set_new_nocheck(j, "MD5OfBody", json_string_nocheck(m->md5_body));
    json_object_set_new_nocheck(j, "Body", json_stringn_nocheck(m->data, m->body_len));
    if (o->sys_mask) {
        json_t *a = json_object();
        char tmp[32];
        unsigned k = o->sys_mask;
        if (k & SYS_SENDER)
            json_object_set_new(a, "SenderId", json_string(m->sender_id));
        if (k & SYS_SENT) {
            snprintf(tmp, sizeof tmp, "%" PRId64, m->sent_ms);
            json_object_set_new(a, "SentTimestamp", json_string(tmp));
        }
        if (k & SYS_RECV_COUNT) {
            snprintf(tmp, sizeof tmp, "%u", m->receive_count);
            json_object_set_new(a, "ApproximateReceiveCount", json_string(tmp));
        }
        if (k & SYS_FIRST_RECV) {
            snprintf(tmp, sizeof tmp, "%" PRId64, m->first_recv_ms);
            json_object_set_new(a, "ApproximateFirstReceiveTimestamp", json_string(tmp));
        }
        if ((k & SYS_SEQ) && m->q->set.fifo) {
            char seq[24];
            sqs__seq_format(m->seq_no, seq);
            json_object_set_new(a, "SequenceNumber", json_string(seq));
        }
        if ((k & SYS_DEDUP) && m->dedup_id)
            json_object_set_new(a, "MessageDeduplicationId", json_string(m->dedup_id));
        if ((k & SYS_GROUP) && m->group_id)
            json_object_set_new(a, "MessageGroupId", json_string(m->group_id));
        if ((k & SYS_TRACE) && m->trace)
            json_object_set_new(a, "AWSTraceHeader", json_string(m->trace));
        if ((k & SYS_DLQ_SRC) && m->dlq_src)
            json_object_set_new(a, "DeadLetterQueueSourceArn", json_string(m->dlq_src));
        if (json_object_size(a))
            json_object_set_new(j, "Attributes", a);
        else
            json_decref(a);
    }
    if (m->attrs_len && json_array_size(o->attr_names)) {
        json_t *all = json_loadb(m->attrs, m->attrs_len, 0, NULL);
        json_t *sel = json_object();
        const char *name;
        json_t *v;
        json_object_foreach(all, name, v) {
            if (sqs__attr_selected(o->attr_names, name))
                json_object_set(sel, name, v);
        }
        if (json_object_size(sel)) {
            char md5[33];
            if (json_object_size(sel) == json_object_size(all))
                snprintf(md5, sizeof md5, "%s", m->md5_attrs);
            else
                sqs__md5_attrs(c->state, sel, NULL, md5);
            json_object_set_new(j, "MD5OfMessageAttributes", json_string(md5));
            json_object_set_new(j, "MessageAttributes", sel);
        } else {
            json_decref(sel);
        }
        json_decref(all);
    }
    return j;
}

/* Account one receive of m: counters, a new receipt handle, the store. */
static void mark_received(sqs_msg_t *m, int64_t now)
{
    m->receive_count++;
    m->receipt_seq++;
    m->vis_changed = 0;
    if (!m->first_recv_ms)
        m->first_recv_ms = now;
    m->last_recv_ms = now;
}

/* Whether m must go to the dead-letter queue instead of being received
 * again (its receive count would exceed maxReceiveCount), and where. */
static sqs_queue_t *dlq_for(sqs_queue_t *q, sqs_msg_t *m)
{
    if (!q->set.redrive_target || m->receive_count < (uint32_t)q->set.max_receive)
        return NULL;
    sqs_queue_t *dlq = sqs__queue_by_arn(q->st, q->set.redrive_target);
    return dlq && dlq != q ? dlq : NULL;
}

static json_t *messages_array(svc_call_t *c)
{
    json_t *out = svc_output(c);
    json_t *arr = json_object_get(out, "Messages");
    if (!arr) {
        arr = json_array();
        json_object_set_new(out, "Messages", arr);
    }
    return arr;
}

static bool expired(const sqs_queue_t *q, const sqs_msg_t *m, int64_t now)
{
    return m->sent_ms + (int64_t)q->set.retention * 1000 <= now;
}

/* Make m, in flight or ready, visible at `at`: now when at <= now, else
 * in flight until then (a ready message goes back in flight: a retried
 * receive hands it out again). */
static void set_visible_at(sqs_queue_t *q, sqs_msg_t *m, int64_t at, int64_t now)
{
    if (at <= now) {
        if (m->state != SQS_INFLIGHT)
            return;
        sqs__heap_remove(q, m);
        q->n_inflight--;
        m->state = SQS_READY;
        q->n_ready++;
        if (q->set.fifo) {
            sqs__group_update(q, m->group);
        } else {
            sqs_list_push(&q->ready, &m->link);
            sqs__kick(q);
        }
        return;
    }
    m->visible_at = at;
    if (m->state == SQS_INFLIGHT) {
        sqs__heap_update(q, m);
    } else {
        q->n_ready--;
        if (!q->set.fifo && sqs_linked(&m->link))
            sqs_list_unlink(&m->link);
        m->state = SQS_INFLIGHT;
        q->n_inflight++;
        sqs__heap_push(q, m);
        if (q->set.fifo)
            sqs__group_update(q, m->group);
    }
    sqs__queue_arm(q);
}

/* A retried FIFO receive (same ReceiveRequestAttemptId within its 5
 * minutes, nothing changed since, checked by the caller) gets the messages
 * and receipt handles the first one handed out, and their visibility
 * timeout starts over: "If a retry occurs within the deduplication
 * interval, it resets the visibility timeout"
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html).
 * It is the same receive, so receive counts and timestamps stay, and the
 * 12 hours a message may stay in flight still count from that receive. */
static int receive_again(svc_call_t *c, sqs_queue_t *q, const sqs_attempt_t *a, const sqs_recv_opts_t *o,
                         int64_t now)
{
    for (int i = 0; i < a->n; i++) {
        sqs_msg_t *m = sqs__msg_lookup(q->st, a->msgs[i].id);
        int64_t at = now + (int64_t)o->vt * 1000;
        int64_t cap = m->last_recv_ms + (int64_t)SQS_MAX_VISIBILITY_S * 1000;
        set_visible_at(q, m, at < cap ? at : cap, now);
        sqs__persist_msg_visibility(m);
        json_array_append_new(messages_array(c), message_json(c, m, o));
    }
    return a->n;
}

int sqs__receive(svc_call_t *c, sqs_queue_t *q, const sqs_recv_opts_t *o)
{
    int64_t now = kyoka_clock_now_ms();
    sqs__queue_promote(q, now);
    sqs__queue_expire(q, now);
    if (o->attempt && q->set.fifo) {
        sqs_attempt_t *a = sqs__attempt_find(q, o->attempt, now);
        if (a && sqs__attempt_retryable(q, a))
            return receive_again(c, q, a, o, now);
    }
    int n = 0;
    uint64_t ids[KYOKA_SQS_MAX_BATCH_ENTRIES];
    sqs_msg_t *got[KYOKA_SQS_MAX_BATCH_ENTRIES];
    if (!q->set.fifo) {
        sqs_link_t again; /* received with VisibilityTimeout 0: ready again after this receive */
        sqs_list_init(&again);
        while (n < o->max && !sqs_list_empty(&q->ready)) {
            sqs_msg_t *m = container_of(q->ready.next, sqs_msg_t, link);
            if (expired(q, m, now)) {
                sqs__msg_delete(m);
                continue;
            }
            sqs_queue_t *dlq = dlq_for(q, m);
            if (dlq) {
                sqs__msg_move(m, dlq, q->arn, now);
                continue;
            }
            sqs_list_unlink(&m->link);
            mark_received(m, now);
            if (o->vt > 0) {
                q->n_ready--;
                m->state = SQS_INFLIGHT;
                m->visible_at = now + (int64_t)o->vt * 1000;
                q->n_inflight++;
                sqs__heap_push(q, m);
            } else {
                sqs_list_push(&again, &m->link);
            }
            ids[n] = m->id;
            json_array_append_new(messages_array(c), message_json(c, m, o));
            n++;
        }
        sqs_list_splice(&q->ready, &again);
    } else {
        sqs_link_t done; /* groups walked by this receive, re-evaluated after it */
        sqs_list_init(&done);
        while (n < o->max && !sqs_list_empty(&q->ready_groups)) {
            sqs_group_t *g = container_of(q->ready_groups.next, sqs_group_t, ready_link);
            sqs_list_unlink(&g->ready_link);
            sqs_list_push(&done, &g->ready_link);
            g->hold++;
            sqs_link_t *l = g->msgs.next;
            while (n < o->max && l != &g->msgs) {
                sqs_msg_t *m = container_of(l, sqs_msg_t, link);
                sqs_link_t *next = l->next;
                if (m->state != SQS_READY)
                    break; /* in flight or delayed: blocks the rest of the group */
                if (expired(q, m, now)) {
                    sqs__msg_delete(m);
                    l = next;
                    continue;
                }
                sqs_queue_t *dlq = dlq_for(q, m);
                if (dlq) {
                    sqs__msg_move(m, dlq, q->arn, now);
                    l = next;
                    continue;
                }
                mark_received(m, now);
                if (o->vt > 0) {
                    q->n_ready--;
                    m->state = SQS_INFLIGHT;
                    m->visible_at = now + (int64_t)o->vt * 1000;
                    q->n_inflight++;
                    sqs__heap_push(q, m);
                }
                ids[n] = m->id;
                got[n] = m;
                json_array_append_new(messages_array(c), message_json(c, m, o));
                n++;
                l = next;
            }
        }
        while (!sqs_list_empty(&done)) {
            sqs_group_t *g = container_of(done.next, sqs_group_t, ready_link);
            sqs_list_unlink(&g->ready_link);
            g->hold--;
            sqs__group_update(q, g);
        }
    }
    sqs__persist_msgs_receive(q->st, ids, n, o->vt > 0 ? now + (int64_t)o->vt * 1000 : 0, now);
    if (n && o->vt > 0)
        sqs__queue_arm(q);
    /* An empty answer is not remembered: a retry receives afresh, so a
     * long poll retried with its attempt id still waits for messages. */
    if (n && o->attempt && q->set.fifo)
        sqs__attempt_add(q, o->attempt, got, n, now);
    return n;
}

/* ==== deleting and changing visibility ==== */

/* Delete by receipt handle; the store row goes with the caller's
 * sqs__persist_msgs_delete of ids. */
static bool delete_one(svc_call_t *c, sqs_queue_t *q, const char *rh, sqs_err_t *e, uint64_t *ids, int *nids)
{
    uint64_t mid;
    uint32_t seq;
    if (!receipt_for_queue(c, q, rh, &mid, &seq, e))
        return false;
    sqs_msg_t *m = sqs__msg_lookup(c->state, mid);
    if (!m || m->q != q)
        return true; /* already deleted: DeleteMessage is idempotent */
    if (q->set.fifo) {
        int64_t now = kyoka_clock_now_ms();
        /* A FIFO receipt handle dies with its visibility timeout
         * (https://repost.aws/knowledge-center/sqs-receipt-handle-error). */
        if (m->receipt_seq != seq || m->state != SQS_INFLIGHT || m->visible_at <= now) {
            err_set(e, "InvalidParameterValue",
                    "Value %s for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.", rh);
            return false;
        }
    }
    sqs__msg_delete_later(m, ids, nids);
    return true;
}

static bool change_one(svc_call_t *c, sqs_queue_t *q, const char *rh, long long vt, sqs_err_t *e)
{
    if (vt < 0 || vt > SQS_MAX_VISIBILITY_S) {
        err_set(e, "InvalidParameterValue",
                "Value %lld for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.",
                vt);
        return false;
    }
    uint64_t mid;
    uint32_t seq;
    if (!receipt_for_queue(c, q, rh, &mid, &seq, e))
        return false;
    int64_t now = kyoka_clock_now_ms();
    sqs__queue_promote(q, now);
    sqs_msg_t *m = sqs__msg_lookup(c->state, mid);
    if (!m || m->q != q || m->receipt_seq != seq) {
        err_set(e, "InvalidParameterValue",
                "Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for "
                "visibility timeout change.", rh);
        return false;
    }
    /* The handle's visibility has run out and the message is waiting to be
     * received again: AWS answers 200 and changes nothing. It never sends
     * the modelled MessageNotInflight (localstack/localstack#9632 and
     * getmoto/moto#4655 checked both against AWS). */
    if (m->state != SQS_INFLIGHT)
        return true;
    /* The visibility timeout of a message is at most 12 hours from its
     * receive (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html). */
    if (now + vt * 1000 - m->last_recv_ms > (int64_t)SQS_MAX_VISIBILITY_S * 1000) {
        err_set(e, "InvalidParameterValue",
                "Value %lld for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message "
                "is beyond the limit [43200 seconds].", vt);
        return false;
    }
    set_visible_at(q, m, now + vt * 1000, now);
    /* The receive that handed m out can no longer be retried. */
    m->vis_changed = 1;
    sqs__persist_msg_visibility(m);
    return true;
}

/* ==== operation handlers ==== */

int sqs_send_message(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    send_in_t in;
    send_in_read(c->input, &in);
    in.header_trace = request_trace(c);
    send_prep_t p = {0};
    sqs_err_t e = {0};
    if (!send_validate(c, q, &in, &p, (size_t)q->set.max_message_size, &e))
        err_to_call(c, &e);
    else
        send_commit(c, q, &in, &p, svc_output(c), NULL, NULL);
    json_decref(p.canon);
    return 0;
}

/* On FIFO queues a missing MessageGroupId or deduplication id fails the
 * whole batch, not the entry. All entries together count against the 1 MiB
 * batch limit; each is then held to the queue's MaximumMessageSize like a
 * SendMessage, and one that is too long is listed under Failed (what AWS
 * answers, https://github.com/localstack/localstack/issues/8570). */
static bool send_batch_check(svc_call_t *c, sqs_queue_t *q, json_t *entries)
{
    size_t total = 0;
    size_t i;
    json_t *entry;
    json_array_foreach(entries, i, entry) {
        send_in_t in;
        send_in_read(entry, &in);
        if (q->set.fifo && !in.group) {
            svc_error(c, "InvalidParameterValue", 400, "The request must contain the parameter MessageGroupId.");
            return false;
        }
        if (q->set.fifo && !in.dedup && !q->set.content_dedup) {
            svc_error(c, "InvalidParameterValue", 400,
                      "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided "
                      "explicitly");
            return false;
        }
        total += in.body_len + attrs_size(in.attrs);
    }
    if (total > KYOKA_SQS_MAX_MESSAGE_BYTES) {
        svc_error(c, "BatchRequestTooLong", 0, "Batch requests cannot be longer than %d bytes. You have sent %zu bytes.",
                  KYOKA_SQS_MAX_MESSAGE_BYTES, total);
        return false;
    }
    return true;
}

/* The messages a batch accepted: their rows go to the store in one
 * statement once every entry has run. */
typedef struct send_batch {
    sqs_msg_t *pending[KYOKA_SQS_MAX_BATCH_ENTRIES];
    int npending;
    const char *header_trace; /* request_trace, once for every entry */
} send_batch_t;

static bool on_send_entry(svc_call_t *c, sqs_queue_t *q, json_t *entry, json_t *res, sqs_err_t *e, void *ctx)
{
    send_batch_t *b = ctx;
    send_in_t in;
    send_in_read(entry, &in);
    in.header_trace = b->header_trace;
    send_prep_t p = {0};
    bool ok = send_validate(c, q, &in, &p, (size_t)q->set.max_message_size, e);
    if (ok)
        send_commit(c, q, &in, &p, res, b->pending, &b->npending);
    json_decref(p.canon);
    return ok;
}

int sqs_send_message_batch(svc_call_t *c)
{
    static const batch_op_t op = {"SendMessageBatchRequestEntry", send_batch_check, on_send_entry};
    send_batch_t b = {.npending = 0, .header_trace = request_trace(c)};
    if (batch_run(c, &op, &b))
        sqs__persist_msgs_insert(c->state, b.pending, b.npending);
    return 0;
}

int sqs_receive_message(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    long long v;
    sqs_recv_opts_t o = {.max = 1, .vt = q->set.visibility_timeout, .wait = q->set.wait_time};
    if (sqs_in_int(c, c->input, "MaxNumberOfMessages", &v)) {
        if (v < 1 || v > KYOKA_SQS_MAX_BATCH_ENTRIES) {
            svc_error(c, "InvalidParameterValue", 400,
                      "Value %lld for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if "
                      "provided.", v);
            return 0;
        }
        o.max = (int)v;
    }
    if (sqs_in_int(c, c->input, "VisibilityTimeout", &v)) {
        if (v < 0 || v > SQS_MAX_VISIBILITY_S) {
            svc_error(c, "InvalidParameterValue", 400,
                      "Value %lld for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if "
                      "provided.", v);
            return 0;
        }
        o.vt = (int)v;
    }
    if (sqs_in_int(c, c->input, "WaitTimeSeconds", &v)) {
        if (v < 0 || v > SQS_MAX_WAIT_S) {
            svc_error(c, "InvalidParameterValue", 400,
                      "Value %lld for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.",
                      v);
            return 0;
        }
        o.wait = (int)v;
    }
    const char *attempt = svc_in_str(c, "ReceiveRequestAttemptId");
    if (attempt && !fifo_id_ok(attempt)) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter ReceiveRequestAttemptId is invalid. Reason: ReceiveRequestAttemptId can only "
                  "include alphanumeric and punctuation characters. 1 to 128 in length.", attempt);
        return 0;
    }
    /* On a FIFO queue a retry is refused once any message of the receive it
     * retries was deleted, moved, received again or had its visibility
     * changed; AWS's words for it are in
     * https://github.com/aws/aws-sdk-java/issues/2613. Standard queues
     * accept the parameter and ignore it. */
    o.attempt = attempt;
    if (attempt && q->set.fifo) {
        int64_t now = kyoka_clock_now_ms();
        sqs__queue_expire(q, now);
        sqs_attempt_t *a = sqs__attempt_find(q, attempt, now);
        if (a && !sqs__attempt_retryable(q, a)) {
            svc_error(c, "InvalidParameterValue", 400,
                      "Value %s for parameter ReceiveRequestAttemptId is invalid. Reason: The receiveRequestAttemptId "
                      "is not valid anymore since the receive call is not retryable.", attempt);
            return 0;
        }
    }
    o.sys_mask = sys_mask_of(svc_in(c, "AttributeNames")) | sys_mask_of(svc_in(c, "MessageSystemAttributeNames"));
    o.attr_names = svc_in(c, "MessageAttributeNames");
    if (sqs__receive(c, q, &o) > 0 || o.wait == 0) {
        svc_output(c);
        return 0;
    }
    return sqs__wait(c, q, &o);
}

int sqs_delete_message(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    sqs_err_t e = {0};
    uint64_t ids[1];
    int nids = 0;
    if (!delete_one(c, q, svc_in_str(c, "ReceiptHandle"), &e, ids, &nids))
        err_to_call(c, &e);
    sqs__persist_msgs_delete(c->state, ids, nids);
    return 0;
}

/* The ids of the messages a batch deleted: their rows leave the store in
 * one statement once every entry has run. */
typedef struct delete_batch {
    uint64_t ids[KYOKA_SQS_MAX_BATCH_ENTRIES];
    int nids;
} delete_batch_t;

static bool on_delete_entry(svc_call_t *c, sqs_queue_t *q, json_t *entry, json_t *res, sqs_err_t *e, void *ctx)
{
    (void)res;
    delete_batch_t *b = ctx;
    return delete_one(c, q, json_string_value(json_object_get(entry, "ReceiptHandle")), e, b->ids, &b->nids);
}

int sqs_delete_message_batch(svc_call_t *c)
{
    static const batch_op_t op = {"DeleteMessageBatchRequestEntry", NULL, on_delete_entry};
    delete_batch_t b = {.nids = 0};
    if (batch_run(c, &op, &b))
        sqs__persist_msgs_delete(c->state, b.ids, b.nids);
    return 0;
}

int sqs_change_message_visibility(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    long long vt = 0;
    sqs_in_int(c, c->input, "VisibilityTimeout", &vt);
    sqs_err_t e = {0};
    if (!change_one(c, q, svc_in_str(c, "ReceiptHandle"), vt, &e))
        err_to_call(c, &e);
    return 0;
}

/* The model leaves an entry's VisibilityTimeout optional, so the front
 * door's required-member check lets a missing one through; it fails only
 * that entry. */
static bool on_change_visibility_entry(svc_call_t *c, sqs_queue_t *q, json_t *entry, json_t *res, sqs_err_t *e,
                                       void *ctx)
{
    (void)res;
    (void)ctx;
    long long vt = 0;
    if (!sqs_in_int(c, entry, "VisibilityTimeout", &vt)) {
        err_set(e, "MissingParameter", "The request must contain the parameter VisibilityTimeout.");
        return false;
    }
    return change_one(c, q, json_string_value(json_object_get(entry, "ReceiptHandle")), vt, e);
}

int sqs_change_message_visibility_batch(svc_call_t *c)
{
    static const batch_op_t op = {"ChangeMessageVisibilityBatchRequestEntry", NULL, on_change_visibility_entry};
    batch_run(c, &op, NULL);
    return 0;
}
