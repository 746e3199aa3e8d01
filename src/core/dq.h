/*
 * dq: a deadline queue. Many deadlines, one timer.
 *
 * A binary min-heap of intrusive entries (dq_entry_t, embedded in whatever
 * waits: a parked long poll, a queue with waiters, a move task) keyed by a
 * deadline on the server clock (kyoka_clock_now_ms), driving ONE uv_timer
 * armed for the earliest deadline. Adding, moving and removing an entry is
 * O(log n); nothing allocates per entry.
 *
 * The server clock can jump forward (tests call /_kyoka/clock/advance) and
 * nothing tells us when it does, so besides the timer a uv_check looks at
 * the earliest deadline after every loop iteration: the request that moved
 * the clock wakes the loop, and whatever became due runs on the next turn.
 *
 * Entries run from the timer callback, at most DQ_MAX_PER_RUN per turn (the
 * rest run on the next turn), so one big expiry never stalls the loop.
 * A callback may add, move or remove any entry, including its own.
 *
 * Ownership: the dq never owns entries. The dq itself is embedded in its
 * owner; dq_close() starts closing the two libuv handles and calls
 * on_closed once both are closed, after which the owner may free the
 * memory holding the dq.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_DQ_H
#define KYOKA_DQ_H

#include "core.h"

#include <uv.h>

#define DQ_MAX_PER_RUN 4096

typedef struct dq_entry dq_entry_t;
typedef void (*dq_cb)(dq_entry_t *e);

struct dq_entry {
    int64_t deadline; /* server-clock ms; valid while queued */
    dq_cb cb;         /* called once when due; the entry is unqueued first */
    size_t _idx;      /* 1-based heap slot, 0 = not queued */
};

typedef struct dq {
    uv_timer_t _timer;
    uv_check_t _check;
    dq_entry_t **_heap; /* 1-based; _heap[0] unused */
    size_t _n, _cap;
    int64_t _armed;     /* deadline the timer is armed for, INT64_MAX = idle */
    int _closing;       /* handles still to close */
    void (*_on_closed)(struct dq *dq);
    uint64_t runs;      /* entries run so far (stats) */
} dq_t;

/* Initialise an embedded dq on loop. Its handles do not keep the loop
 * alive. */
void dq_init(dq_t *dq, uv_loop_t *loop);
/* Close the handles; on_closed(dq) runs from the loop once they are closed
 * (the caller frees the owner there). Entries still queued are forgotten. */
void dq_close(dq_t *dq, void (*on_closed)(dq_t *dq));

/* Queue e (with e->cb set) to run at deadline, or move it there if already
 * queued. A deadline in the past runs on the next loop turn. */
void dq_add(dq_t *dq, dq_entry_t *e, int64_t deadline);
/* Unqueue e if queued; safe on an entry that is not. */
void dq_remove(dq_t *dq, dq_entry_t *e);
static inline bool dq_queued(const dq_entry_t *e) { return e->_idx != 0; }
/* Number of queued entries. */
static inline size_t dq_size(const dq_t *dq) { return dq->_n; }
/* Earliest queued deadline, or INT64_MAX when empty. */
int64_t dq_next(const dq_t *dq);
/* Run every entry due at the current server time now (bounded like the
 * timer). Exposed for tests and for callers that must see due work first. */
size_t dq_run(dq_t *dq);

#endif
