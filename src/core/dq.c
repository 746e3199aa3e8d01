/*
 * The deadline queue (see dq.h): a 1-based binary min-heap of entry
 * pointers, each entry remembering its slot so it can be moved or removed
 * in O(log n), and one timer armed for the root.
 *
 * The timer is re-armed only when the root's deadline changes, so adding
 * entries later than the earliest one costs no libuv call at all.
 */
#include "dq.h"

#include <stdlib.h>

#include "banned.h"

static bool earlier(const dq_entry_t *a, const dq_entry_t *b) { return a->deadline < b->deadline; }

static void heap_set(dq_t *dq, size_t i, dq_entry_t *e)
{
    dq->_heap[i] = e;
    e->_idx = i;
}

static void sift_up(dq_t *dq, size_t i)
{
    dq_entry_t *e = dq->_heap[i];
    while (i > 1 && earlier(e, dq->_heap[i / 2])) {
        heap_set(dq, i, dq->_heap[i / 2]);
        i /= 2;
    }
    heap_set(dq, i, e);
}

static void sift_down(dq_t *dq, size_t i)
{
    dq_entry_t *e = dq->_heap[i];
    for (;;) {
        size_t c = 2 * i;
        if (c > dq->_n)
            break;
        if (c + 1 <= dq->_n && earlier(dq->_heap[c + 1], dq->_heap[c]))
            c++;
        if (!earlier(dq->_heap[c], e))
            break;
        heap_set(dq, i, dq->_heap[c]);
        i = c;
    }
    heap_set(dq, i, e);
}

int64_t dq_next(const dq_t *dq) { return dq->_n ? dq->_heap[1]->deadline : INT64_MAX; }

static void on_timer(uv_timer_t *t);

/* Make the timer match the root: armed for its deadline, or stopped. */
static void rearm(dq_t *dq)
{
    if (dq->_closing)
        return;
    int64_t next = dq_next(dq);
    if (next == dq->_armed)
        return;
    dq->_armed = next;
    if (next == INT64_MAX) {
        uv_timer_stop(&dq->_timer);
        return;
    }
    int64_t wait = next - kyoka_clock_now_ms();
    uv_timer_start(&dq->_timer, on_timer, wait > 0 ? (uint64_t)wait : 0, 0);
}

void dq_add(dq_t *dq, dq_entry_t *e, int64_t deadline)
{
    if (e->_idx) {
        int64_t old = e->deadline;
        e->deadline = deadline;
        if (deadline < old)
            sift_up(dq, e->_idx);
        else
            sift_down(dq, e->_idx);
    } else {
        if (dq->_n + 1 >= dq->_cap) {
            dq->_cap = dq->_cap ? dq->_cap * 2 : 64;
            dq->_heap = xrealloc(dq->_heap, dq->_cap * sizeof *dq->_heap);
        }
        e->deadline = deadline;
        dq->_n++;
        heap_set(dq, dq->_n, e);
        sift_up(dq, dq->_n);
    }
    rearm(dq);
}

static void heap_remove(dq_t *dq, dq_entry_t *e)
{
    size_t i = e->_idx;
    dq_entry_t *last = dq->_heap[dq->_n];
    dq->_n--;
    e->_idx = 0;
    if (i <= dq->_n && last != e) {
        heap_set(dq, i, last);
        sift_up(dq, i);
        sift_down(dq, last->_idx);
    }
}

void dq_remove(dq_t *dq, dq_entry_t *e)
{
    if (!e->_idx)
        return;
    heap_remove(dq, e);
    rearm(dq);
}

size_t dq_run(dq_t *dq)
{
    size_t ran = 0;
    int64_t now = kyoka_clock_now_ms();
    while (dq->_n && dq->_heap[1]->deadline <= now && ran < DQ_MAX_PER_RUN) {
        dq_entry_t *e = dq->_heap[1];
        heap_remove(dq, e);
        ran++;
        e->cb(e);
    }
    dq->runs += ran;
    /* Whatever is still due (past the per-turn bound) is armed with a
     * zero timeout and runs on the next turn. */
    dq->_armed = -1;
    rearm(dq);
    return ran;
}

static void on_timer(uv_timer_t *t)
{
    dq_t *dq = container_of(t, dq_t, _timer);
    dq->_armed = INT64_MAX; /* a one-shot timer is stopped once it fired */
    dq_run(dq);
}

/* After every loop iteration: if the server clock jumped past the root's
 * deadline, fire on the next turn instead of when the timer would. */
static void on_check(uv_check_t *c)
{
    dq_t *dq = container_of(c, dq_t, _check);
    if (dq->_n && dq->_armed != 0 && dq->_heap[1]->deadline <= kyoka_clock_now_ms()) {
        dq->_armed = 0;
        uv_timer_start(&dq->_timer, on_timer, 0, 0);
    }
}

void dq_init(dq_t *dq, uv_loop_t *loop)
{
    *dq = (dq_t){._armed = INT64_MAX};
    uv_timer_init(loop, &dq->_timer);
    uv_check_init(loop, &dq->_check);
    uv_check_start(&dq->_check, on_check);
    uv_unref((uv_handle_t *)&dq->_timer);
    uv_unref((uv_handle_t *)&dq->_check);
}

static void on_handle_closed(uv_handle_t *h)
{
    dq_t *dq = h->data;
    if (--dq->_closing == 0 && dq->_on_closed)
        dq->_on_closed(dq);
}

void dq_close(dq_t *dq, void (*on_closed)(dq_t *dq))
{
    for (size_t i = 1; i <= dq->_n; i++)
        dq->_heap[i]->_idx = 0;
    free(dq->_heap);
    dq->_heap = NULL;
    dq->_n = dq->_cap = 0;
    dq->_on_closed = on_closed;
    dq->_closing = 2;
    dq->_timer.data = dq;
    dq->_check.data = dq;
    uv_close((uv_handle_t *)&dq->_timer, on_handle_closed);
    uv_close((uv_handle_t *)&dq->_check, on_handle_closed);
}
