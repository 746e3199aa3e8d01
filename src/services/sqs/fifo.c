/*
 * FIFO queues: message groups and the deduplication window
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues-understanding-logic.html).
 *
 * Each group keeps all its messages, whatever their state, in sequence
 * order. Only the ready prefix of a group may be received: a message that
 * is in flight (or delayed) blocks every later message of its group, which
 * is what makes ordering hold with many consumers. A group is "ready" when
 * its first message is ready; ready groups wait in q->ready_groups in the
 * order they became ready, and a receive takes as many messages as it can
 * from one group before moving to the next.
 *
 * Deduplication: a MessageDeduplicationId (or the SHA-256 of the body with
 * ContentBasedDeduplication) seen in the last 5 minutes on the server clock
 * makes a send return the first message's id without enqueueing again
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html).
 * With DeduplicationScope=messageGroup the window is per group.
 *
 * Receive attempts: a ReceiveMessage on a FIFO queue that carries a
 * ReceiveRequestAttemptId and gets messages is remembered for 5 minutes, so
 * that a client whose response was lost can retry with the same id and get
 * the same messages with the same receipt handles, as long as none of them
 * was deleted or had its visibility changed since
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html).
 * The attempts live in memory only: after a restart a retry is a new
 * receive, and the messages of the lost response stay in flight until their
 * visibility timeout ends, as for a client that never sent an attempt id.
 * At most SQS_MAX_ATTEMPTS are kept per queue; past that the oldest is
 * forgotten early, which only turns its retry into a new receive.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals: groups ==== */

sqs_group_t *sqs__group_get(sqs_queue_t *q, const char *id, bool create)
{
    size_t n = strlen(id);
    sqs_snode_t *node = sqs__smap_get(&q->groups, id, n);
    if (node || !create)
        return node ? container_of(node, sqs_group_t, node) : NULL;
    sqs_group_t *g = xcalloc(1, sizeof *g + n + 1);
    memcpy(g->id, id, n);
    g->node.key = g->id;
    g->node.klen = n;
    sqs_list_init(&g->msgs);
    sqs__smap_put(&q->groups, &g->node);
    return g;
}

void sqs__group_add_msg(sqs_queue_t *q, sqs_msg_t *m)
{
    sqs_group_t *g = sqs__group_get(q, m->group_id ? m->group_id : "", true);
    /* New messages have the highest sequence number: walking back from the
     * tail finds their place at once. */
    sqs_link_t *at = &g->msgs;
    while (at->prev != &g->msgs && container_of(at->prev, sqs_msg_t, link)->seq_no > m->seq_no)
        at = at->prev;
    sqs_list_insert_before(at, &m->link);
    g->n++;
    m->group = g;
}

void sqs__group_update(sqs_queue_t *q, sqs_group_t *g)
{
    if (!g || g->hold)
        return;
    bool in = sqs_linked(&g->ready_link);
    if (g->n == 0) {
        if (in)
            sqs_list_unlink(&g->ready_link);
        sqs__smap_del(&q->groups, &g->node);
        free(g);
        return;
    }
    sqs_msg_t *head = container_of(g->msgs.next, sqs_msg_t, link);
    bool ready = head->state == SQS_READY;
    if (ready && !in) {
        sqs_list_push(&q->ready_groups, &g->ready_link);
        sqs__kick(q);
    } else if (!ready && in) {
        sqs_list_unlink(&g->ready_link);
    }
}

void sqs__group_remove_msg(sqs_queue_t *q, sqs_msg_t *m)
{
    sqs_group_t *g = m->group;
    if (!g)
        return;
    sqs_list_unlink(&m->link);
    g->n--;
    m->group = NULL;
    sqs__group_update(q, g);
}

void sqs__seq_format(uint64_t seq_no, char out[24])
{
    /* AWS sequence numbers are 20-digit decimal strings. */
    snprintf(out, 24, "%" PRIu64, (uint64_t)(10000000000000000000ULL + seq_no));
}

/* ==== resource internals: deduplication ==== */

static void dedup_free(sqs_queue_t *q, sqs_dedup_t *d, bool persist)
{
    if (persist) {
        sqs_state_t *st = q->st;
        sqs__write_begin(st);
        sqlite3_stmt *s = store_stmt(st->store, "DELETE FROM sqs_dedup WHERE queue_id=? AND dkey=?");
        sqlite3_bind_int64(s, 1, (sqlite3_int64)q->id);
        sqlite3_bind_text(s, 2, d->key, -1, SQLITE_STATIC);
        sqs__step(st, s);
    }
    sqs__smap_del(&q->dedup, &d->node);
    sqs_list_unlink(&d->order);
    free(d);
}

sqs_dedup_t *sqs__dedup_find(sqs_queue_t *q, const char *key, int64_t now)
{
    while (!sqs_list_empty(&q->dedup_order)) {
        sqs_dedup_t *d = container_of(q->dedup_order.next, sqs_dedup_t, order);
        if (d->expires_ms > now)
            break;
        dedup_free(q, d, true);
    }
    sqs_snode_t *n = sqs__smap_get(&q->dedup, key, strlen(key));
    return n ? container_of(n, sqs_dedup_t, node) : NULL;
}

void sqs__dedup_add(sqs_queue_t *q, const char *key, const char *message_id, uint64_t seq_no, int64_t expires_ms,
                    bool persist)
{
    size_t kl = strlen(key);
    sqs_snode_t *old = sqs__smap_get(&q->dedup, key, kl);
    if (old)
        dedup_free(q, container_of(old, sqs_dedup_t, node), false);
    sqs_dedup_t *d = xcalloc(1, sizeof *d + kl + 1);
    memcpy(d->key, key, kl);
    d->node.key = d->key;
    d->node.klen = kl;
    d->expires_ms = expires_ms;
    d->seq_no = seq_no;
    snprintf(d->message_id, sizeof d->message_id, "%s", message_id);
    sqs__smap_put(&q->dedup, &d->node);
    sqs_list_push(&q->dedup_order, &d->order);
    if (persist) {
        sqs_state_t *st = q->st;
        sqs__write_begin(st);
        sqlite3_stmt *s = store_stmt(st->store,
                                     "INSERT OR REPLACE INTO sqs_dedup(queue_id, dkey, message_id, seq_no, expires_ms)"
                                     " VALUES(?,?,?,?,?)");
        sqlite3_bind_int64(s, 1, (sqlite3_int64)q->id);
        sqlite3_bind_text(s, 2, d->key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, d->message_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, (sqlite3_int64)seq_no);
        sqlite3_bind_int64(s, 5, expires_ms);
        sqs__step(st, s);
    }
}

void sqs__dedup_clear(sqs_queue_t *q, bool persist)
{
    while (!sqs_list_empty(&q->dedup_order))
        dedup_free(q, container_of(q->dedup_order.next, sqs_dedup_t, order), false);
    if (persist) {
        sqs_state_t *st = q->st;
        sqs__write_begin(st);
        sqlite3_stmt *s = store_stmt(st->store, "DELETE FROM sqs_dedup WHERE queue_id=?");
        sqlite3_bind_int64(s, 1, (sqlite3_int64)q->id);
        sqs__step(st, s);
    }
}

/* ==== resource internals: receive attempts ==== */

static void attempt_free(sqs_queue_t *q, sqs_attempt_t *a)
{
    sqs__smap_del(&q->attempts, &a->node);
    sqs_list_unlink(&a->order);
    free(a);
}

sqs_attempt_t *sqs__attempt_find(sqs_queue_t *q, const char *id, int64_t now)
{
    while (!sqs_list_empty(&q->attempt_order)) {
        sqs_attempt_t *a = container_of(q->attempt_order.next, sqs_attempt_t, order);
        if (a->expires_ms > now)
            break;
        attempt_free(q, a);
    }
    sqs_snode_t *n = sqs__smap_get(&q->attempts, id, strlen(id));
    return n ? container_of(n, sqs_attempt_t, node) : NULL;
}

void sqs__attempt_add(sqs_queue_t *q, const char *id, sqs_msg_t *const *ms, int n, int64_t now)
{
    sqs_attempt_t *old = sqs__attempt_find(q, id, now);
    if (old)
        attempt_free(q, old);
    if (q->attempts.n >= SQS_MAX_ATTEMPTS)
        attempt_free(q, container_of(q->attempt_order.next, sqs_attempt_t, order));
    size_t kl = strlen(id);
    sqs_attempt_t *a = xcalloc(1, sizeof *a + kl + 1);
    memcpy(a->key, id, kl);
    a->node.key = a->key;
    a->node.klen = kl;
    a->expires_ms = now + SQS_ATTEMPT_WINDOW_MS;
    for (int i = 0; i < n && i < KYOKA_SQS_MAX_BATCH_ENTRIES; i++) {
        a->msgs[i].id = ms[i]->id;
        a->msgs[i].receipt_seq = ms[i]->receipt_seq;
        a->n++;
    }
    sqs__smap_put(&q->attempts, &a->node);
    sqs_list_push(&q->attempt_order, &a->order);
}

void sqs__attempts_clear(sqs_queue_t *q)
{
    while (!sqs_list_empty(&q->attempt_order))
        attempt_free(q, container_of(q->attempt_order.next, sqs_attempt_t, order));
    sqs__smap_free(&q->attempts);
}

bool sqs__attempt_retryable(const sqs_queue_t *q, const sqs_attempt_t *a)
{
    for (int i = 0; i < a->n; i++) {
        const sqs_msg_t *m = sqs__msg_lookup(q->st, a->msgs[i].id);
        if (!m || m->q != q || m->receipt_seq != a->msgs[i].receipt_seq || m->vis_changed)
            return false;
    }
    return true;
}
