/*
 * The durable delivery queue of EventBridge targets and EventBridge
 * Scheduler targets: one row per (event, target) in the store, written in
 * the batch of the request (or the schedule's firing) that created it, so
 * an accepted event survives kill -9 and is delivered at least once: every
 * row left at start-up is sent again. The model is Lambda's asynchronous
 * queue (services/lambda/async.c).
 *
 * The queue owns persistence, ordering, the in-flight cap, and each
 * target's RetryPolicy on the server clock: MaximumRetryAttempts (0 to
 * 185, default 185) and MaximumEventAgeInSeconds (60 to 86,400, default
 * 86,400), read from the target's JSON ("RetryPolicy"). The consumer (the
 * events or scheduler service) makes the call (send) and, when an item is
 * done for good, writes the dead-letter message (dead_letter).
 *
 * Backoff between attempts: AWS retries "with an exponential back off and
 * jitter"; kyoka has no jitter (tests count on the clock): 1 s before the
 * second attempt, doubling, at most 5 minutes apart.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_EVENTS_EVQ_H
#define KYOKA_EVENTS_EVQ_H

#include "services/service.h"

#define EVQ_DEFAULT_RETRIES 185
#define EVQ_DEFAULT_MAX_AGE_S 86400
#define EVQ_MAX_INFLIGHT 2048

typedef struct evq evq_t;

typedef struct evq_item {
    int64_t id;           /* the row */
    char *owner;          /* the rule's or schedule's ARN */
    char *target;         /* the target's JSON, as configured when it matched */
    json_t *target_j;     /* parsed target (owned) */
    char *region;
    char *payload;        /* what the target receives */
    size_t len;
    char *event;          /* the original event (DLQ body); NULL: the payload */
    size_t elen;
    int64_t enqueued_ms;  /* server clock */
    int64_t due_ms;
    int attempts;         /* sends made */
    evq_t *q;
    void *user;           /* the consumer's, while sending */
    uint64_t generation;
    struct evq_item *next;
} evq_item_t;

typedef enum {
    EVQ_OK = 0,    /* delivered: the row goes */
    EVQ_RETRY,     /* a retriable failure (throttling, an internal error) */
    EVQ_FAIL       /* not retriable (no permission, no such target): straight to the DLQ */
} evq_outcome_t;

typedef struct evq_consumer {
    void *data;
    /* Send it; answer exactly once with evq_done (on a later turn). */
    void (*send)(void *data, evq_item_t *it);
    /* The item failed for good: write its DLQ message if the target has
     * one, then call evq_release(it) exactly once. code/message describe the
     * last failure; exhausted is "MaximumRetryAttempts",
     * "MaximumEventAgeInSeconds" or NULL (a failure that is not retried). */
    void (*dead_letter)(void *data, evq_item_t *it, const char *code, const char *message, const char *exhausted);
} evq_consumer_t;

/* A queue over the rows of service `svc` ("events", "scheduler"); loads
 * the rows left from the last run. NULL on a store error (err). */
evq_t *evq_create(kyoka_ctx_t *ctx, const char *svc, const evq_consumer_t *consumer, char *err, size_t errcap);
void evq_free(evq_t *q); /* NULL ok */
/* Queue one delivery (copies everything). Written in the current batch. */
void evq_add(evq_t *q, const char *owner, const char *target_json, const char *region, const char *payload,
             size_t len, const char *event, size_t elen);
/* The answer to send. code/message (may be NULL) describe a failure. */
void evq_done(evq_item_t *it, evq_outcome_t outcome, const char *code, const char *message);
/* The end of dead_letter: the row goes. */
void evq_release(evq_item_t *it);
/* The clock moved or something may be due: deliver what is. */
void evq_kick(evq_t *q);
/* Shutdown: nothing new starts; rows stay for the next run. */
void evq_stop(evq_t *q);
/* POST /_kyoka/reset: forget every row. */
void evq_reset(evq_t *q);
/* Counters for /_kyoka and tests. */
json_t *evq_summary(const evq_t *q);

#endif
