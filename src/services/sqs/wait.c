/*
 * Long polling (ReceiveMessage with WaitTimeSeconds > 0): park the call
 * on the loop, answer it as soon as a message can be received, or with
 * whatever there is when the wait ends
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html).
 *
 * A parked call is a waiter on its queue, plus one deadline entry for its
 * timeout. Anything that makes messages receivable (a send, a visibility
 * timeout or delay ending, ChangeMessageVisibility to 0, a FIFO group
 * freeing up, a move) "kicks" the queue: the queue goes on a list that the
 * next loop turn serves, oldest waiter first. So a send never runs another
 * call's receive inside its own request, and a burst of sends costs one
 * wakeup. Visibility and delay deadlines reach waiters through one entry
 * per queue (q->due), kept at the queue's earliest deadline only while it
 * has waiters.
 *
 * A client that disconnects while parked gets on_abort: the waiter goes,
 * nothing is received for it.
 */
#include "internal.h"

#include <stdlib.h>

#include "core/banned.h"

typedef struct sqs_waiter {
    sqs_link_t link;       /* q->waiters, oldest first */
    svc_call_t *c;
    sqs_queue_t *q;
    dq_entry_t timeout;
    sqs_recv_opts_t o;
} sqs_waiter_t;

static sqs_state_t *state_of(sqs_queue_t *q) { return q->st; }

/* Forget the waiter and answer its call with its output so far. */
static void waiter_finish(sqs_waiter_t *w)
{
    sqs_queue_t *q = w->q;
    svc_call_t *c = w->c;
    if (sqs_linked(&w->link))
        sqs_list_unlink(&w->link);
    dq_remove(&state_of(q)->dq, &w->timeout);
    c->on_abort = NULL;
    c->parked = NULL;
    free(w);
    sqs__queue_arm(q);
    svc_output(c);
    svc_call_finish(c);
}

static void on_abort(svc_call_t *c)
{
    sqs_waiter_t *w = c->parked;
    if (!w)
        return;
    sqs_queue_t *q = w->q;
    if (sqs_linked(&w->link))
        sqs_list_unlink(&w->link);
    dq_remove(&state_of(q)->dq, &w->timeout);
    c->parked = NULL;
    free(w);
    sqs__queue_arm(q);
}

static void on_timeout(dq_entry_t *e)
{
    sqs_waiter_t *w = container_of(e, sqs_waiter_t, timeout);
    sqs_list_unlink(&w->link);
    /* Last look: what became receivable at the very end counts. */
    sqs__receive(w->c, w->q, &w->o);
    waiter_finish(w);
}

/* Give the queue's waiters what can be received now, oldest first. */
static void serve(sqs_queue_t *q)
{
    while (!sqs_list_empty(&q->waiters)) {
        sqs_waiter_t *w = container_of(q->waiters.next, sqs_waiter_t, link);
        if (sqs__receive(w->c, q, &w->o) == 0)
            break;
        waiter_finish(w);
    }
}

static void on_due(dq_entry_t *e)
{
    sqs_queue_t *q = container_of(e, sqs_queue_t, due);
    serve(q);
    sqs__queue_arm(q);
}

void sqs__queue_arm(sqs_queue_t *q)
{
    sqs_state_t *st = state_of(q);
    if (sqs_list_empty(&q->waiters) || st->closing) {
        dq_remove(&st->dq, &q->due);
        return;
    }
    int64_t next = sqs__heap_min(q);
    if (next == INT64_MAX) {
        dq_remove(&st->dq, &q->due);
        return;
    }
    q->due.cb = on_due;
    if (!dq_queued(&q->due) || q->due.deadline != next)
        dq_add(&st->dq, &q->due, next);
}

void sqs__kick(sqs_queue_t *q)
{
    sqs_state_t *st = state_of(q);
    if (sqs_list_empty(&q->waiters) || sqs_linked(&q->kick_link) || st->closing)
        return;
    sqs_list_push(&st->kicked, &q->kick_link);
    if (!dq_queued(&st->kick))
        dq_add(&st->dq, &st->kick, 0);
}

void sqs__on_kick(dq_entry_t *e)
{
    sqs_state_t *st = container_of(e, sqs_state_t, kick);
    /* Serve the queues kicked so far; kicks made while serving wait for
     * the next turn. */
    sqs_link_t now;
    sqs_list_init(&now);
    sqs_list_splice(&now, &st->kicked);
    while (!sqs_list_empty(&now)) {
        sqs_queue_t *q = container_of(now.next, sqs_queue_t, kick_link);
        sqs_list_unlink(&q->kick_link);
        serve(q);
    }
}

int sqs__wait(svc_call_t *c, sqs_queue_t *q, const sqs_recv_opts_t *o)
{
    sqs_state_t *st = state_of(q);
    sqs_waiter_t *w = xcalloc(1, sizeof *w);
    w->c = c;
    w->q = q;
    w->o = *o;
    w->timeout.cb = on_timeout;
    sqs_list_push(&q->waiters, &w->link);
    dq_add(&st->dq, &w->timeout, kyoka_clock_now_ms() + (int64_t)o->wait * 1000);
    c->parked = w;
    c->on_abort = on_abort;
    sqs__queue_arm(q);
    return KYOKA_EAGAIN;
}

void sqs__waiters_flush(sqs_queue_t *q)
{
    while (!sqs_list_empty(&q->waiters))
        waiter_finish(container_of(q->waiters.next, sqs_waiter_t, link));
    if (sqs_linked(&q->kick_link))
        sqs_list_unlink(&q->kick_link);
}
