/*
 * SQS internals shared by the files of this service only.
 *
 * Memory model. SQLite (tables sqs_*) is the truth; the loop thread keeps
 * everything it needs to answer without reading it back:
 *
 *   sqs_state_t    all queues by "account/name", every message by id, the
 *                  deadline queue (one timer for long polls, queues with
 *                  waiters, move tasks) and the move tasks.
 *   sqs_queue_t    settings, and its messages in three places:
 *                    - standard queues: `ready`, a FIFO list of visible
 *                      messages; receive pops from its head;
 *                    - FIFO queues: one list per message group in sequence
 *                      order holding every message of the group (ready or
 *                      not), plus `ready_groups`, the groups whose first
 *                      message is ready, in the order they became so;
 *                    - both: `heap`, a min-heap on visible_at of the
 *                      messages that are delayed or in flight, and `all`,
 *                      every message in arrival order (retention sweeps,
 *                      purge, delete).
 *   sqs_msg_t      one allocation per message: the fixed part plus body,
 *                  attributes and ids in a flexible tail.
 *
 * Time. Visibility and delays are never driven by per-message timers:
 * a queue's heap is checked ("promoted") whenever the queue is touched,
 * and only queues with parked long polls put one entry (their earliest
 * deadline) in the deadline queue.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_SQS_INTERNAL_H
#define KYOKA_SQS_INTERNAL_H

#include "core/dq.h"
#include "services/service.h"

#include <openssl/evp.h>

/* ---- limits (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-quotas.html) ---- */
#define SQS_MAX_VISIBILITY_S 43200   /* 12 hours */
#define SQS_MAX_DELAY_S 900          /* 15 minutes */
#define SQS_MAX_WAIT_S 20            /* long polling */
#define SQS_MIN_RETENTION_S 60
#define SQS_MAX_RETENTION_S 1209600  /* 14 days */
#define SQS_DEFAULT_RETENTION_S 345600
#define SQS_MIN_MESSAGE_SIZE 1024
#define SQS_MAX_MESSAGE_ATTRS 10
#define SQS_MAX_ATTR_NAME 256
#define SQS_MAX_ATTR_TYPE 256
#define SQS_MAX_FIFO_ID 128          /* MessageGroupId, MessageDeduplicationId */
#define SQS_DEDUP_WINDOW_MS (5 * 60 * 1000)
#define SQS_ATTEMPT_WINDOW_MS (5 * 60 * 1000) /* ReceiveRequestAttemptId retries */
#define SQS_MAX_ATTEMPTS 65536       /* remembered receive attempts per queue (oldest go first) */
#define SQS_DELETED_RECENTLY_MS (60 * 1000)
#define SQS_PURGE_INTERVAL_MS (60 * 1000)
#define SQS_MAX_TAGS 50
#define SQS_MAX_LIST_RESULTS 1000
#define SQS_MAX_RECEIVE_COUNT 1000   /* redrive policy maxReceiveCount */
#define SQS_MAX_PERMISSION_ACTIONS 7
#define SQS_MAX_REDRIVE_SOURCES 10
#define SQS_MOVE_BATCH 1000          /* messages a move task moves per wakeup */
#define SQS_MAX_MOVE_RATE 500

/* ---- message memory (slab.c) ---- */
#define SQS_SLAB_MAX 16384
#define SQS_SLAB_CLASSES 29 /* 128 .. 16384 bytes, four classes per doubling */
typedef struct sqs_slab_prefault sqs_slab_prefault_t;
typedef struct sqs_slab {
    void *blocks;
    void *free[SQS_SLAB_CLASSES]; /* freed slots per class */
    char *next;                   /* bump pointer into the current block */
    size_t left;
    uv_loop_t *loop;              /* set: the next block is faulted in on the pool */
    void *spare;                  /* a block faulted in ahead of need, or NULL */
    sqs_slab_prefault_t *job;     /* the pool job making the spare, or NULL */
} sqs_slab_t;
/* With a loop, blocks are faulted in on the thread pool before they are
 * needed; without one (unit tests), when they are needed. */
void sqs__slab_init(sqs_slab_t *s, uv_loop_t *loop);
/* n bytes from the slab (malloc past SQS_SLAB_MAX); never NULL. */
void *sqs__slab_alloc(sqs_slab_t *s, size_t n);
/* Give back p, allocated with the same n. */
void sqs__slab_free(sqs_slab_t *s, void *p, size_t n);
void sqs__slab_destroy(sqs_slab_t *s);

/* ---- intrusive doubly-linked list with a sentinel ---- */
typedef struct sqs_link {
    struct sqs_link *prev, *next;
} sqs_link_t;

static inline void sqs_list_init(sqs_link_t *l) { l->prev = l->next = l; }
static inline bool sqs_list_empty(const sqs_link_t *l) { return l->next == l; }
static inline bool sqs_linked(const sqs_link_t *n) { return n->next != NULL; }
static inline void sqs_list_insert_before(sqs_link_t *at, sqs_link_t *n)
{
    n->prev = at->prev;
    n->next = at;
    at->prev->next = n;
    at->prev = n;
}
static inline void sqs_list_push(sqs_link_t *l, sqs_link_t *n) { sqs_list_insert_before(l, n); }
static inline void sqs_list_unlink(sqs_link_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
}
/* Move every node of src to the tail of dst, leaving src empty. */
static inline void sqs_list_splice(sqs_link_t *dst, sqs_link_t *src)
{
    if (sqs_list_empty(src))
        return;
    src->next->prev = dst->prev;
    dst->prev->next = src->next;
    src->prev->next = dst;
    dst->prev = src->prev;
    sqs_list_init(src);
}

/* ---- string-keyed hash map of intrusive nodes ---- */
typedef struct sqs_snode {
    struct sqs_snode *next;
    uint64_t hash;
    const char *key; /* owned by the node's owner, NUL-terminated */
    size_t klen;
} sqs_snode_t;

typedef struct sqs_smap {
    sqs_snode_t **b;
    size_t nb, n;
} sqs_smap_t;

uint64_t sqs__hash(const void *p, size_t n);
sqs_snode_t *sqs__smap_get(const sqs_smap_t *m, const char *key, size_t klen);
/* Insert node (key/klen set by the caller; must not be present). */
void sqs__smap_put(sqs_smap_t *m, sqs_snode_t *node);
void sqs__smap_del(sqs_smap_t *m, sqs_snode_t *node);
void sqs__smap_free(sqs_smap_t *m); /* frees the bucket array only */
/* Iterate: for (i = 0, n = NULL; (n = sqs__smap_next(m, &i, n));) */
sqs_snode_t *sqs__smap_next(const sqs_smap_t *m, size_t *bucket, sqs_snode_t *prev);

/* ---- forward types ---- */
typedef struct sqs_state sqs_state_t;
typedef struct sqs_queue sqs_queue_t;
typedef struct sqs_msg sqs_msg_t;
typedef struct sqs_group sqs_group_t;
typedef struct sqs_task sqs_task_t;

/* ---- messages ---- */
enum { SQS_READY = 1, SQS_DELAYED, SQS_INFLIGHT };

struct sqs_msg {
    uint64_t id;             /* store row id, unique across queues */
    sqs_msg_t *hnext;        /* state's id hash chain */
    sqs_queue_t *q;
    sqs_link_t link;         /* standard: q->ready; FIFO: group->msgs */
    sqs_link_t all;          /* q->all, arrival order */
    size_t heap_idx;         /* 1-based slot in q->heap; 0 = not delayed/in flight */
    int64_t visible_at;      /* server ms, for DELAYED / INFLIGHT */
    int64_t sent_ms;         /* SentTimestamp (enqueue time; retention base) */
    int64_t first_recv_ms;   /* ApproximateFirstReceiveTimestamp, 0 = never */
    int64_t last_recv_ms;    /* start of the current receive (12 h visibility cap) */
    uint64_t seq_no;         /* order within the queue (FIFO SequenceNumber) */
    uint32_t receive_count;
    uint32_t receipt_seq;    /* bumps on every receive: the receipt handle nonce */
    uint8_t state;           /* SQS_READY / SQS_DELAYED / SQS_INFLIGHT */
    uint8_t vis_changed;     /* ChangeMessageVisibility since the last receive (not stored) */
    sqs_group_t *group;      /* FIFO queues */
    char *dlq_src;           /* DeadLetterQueueSourceArn (owned), or NULL */
    char message_id[37];
    char md5_body[33];
    char md5_attrs[33];      /* "" without message attributes */
    uint32_t body_len;
    uint32_t attrs_len;      /* canonical JSON of MessageAttributes, 0 = none */
    uint32_t alloc_size;     /* bytes allocated for this message (slab class) */
    const char *attrs;       /* into data[] */
    const char *sender_id;   /* into data[] */
    const char *trace;       /* AWSTraceHeader, into data[], or NULL */
    const char *group_id;    /* MessageGroupId, into data[], or NULL */
    const char *dedup_id;    /* MessageDeduplicationId, into data[], or NULL */
    char data[];             /* body NUL attrs NUL sender NUL trace NUL group NUL dedup NUL */
};

/* ---- FIFO ---- */
struct sqs_group {
    sqs_snode_t node;        /* q->groups, key = id */
    sqs_link_t msgs;         /* every message of the group, in seq_no order */
    sqs_link_t ready_link;   /* in q->ready_groups while its first message is ready */
    size_t n;
    int hold;                /* > 0 while a receive walks the group: no updates, no free */
    char id[];
};

typedef struct sqs_dedup {
    sqs_snode_t node;        /* q->dedup, key = dedup id (prefixed by group for messageGroup scope) */
    sqs_link_t order;        /* q->dedup_order, oldest first */
    int64_t expires_ms;
    uint64_t seq_no;
    char message_id[37];
    char key[];
} sqs_dedup_t;

/* One FIFO ReceiveMessage remembered by its ReceiveRequestAttemptId, so a
 * retry with the same id gets the same messages and receipt handles. A
 * message is named by its id and the receive it was handed out in
 * (receipt_seq); memory only. */
typedef struct sqs_attempt {
    sqs_snode_t node;        /* q->attempts, key = the attempt id */
    sqs_link_t order;        /* q->attempt_order, oldest first */
    int64_t expires_ms;
    int n;
    struct {
        uint64_t id;
        uint32_t receipt_seq;
    } msgs[KYOKA_SQS_MAX_BATCH_ENTRIES];
    char key[];
} sqs_attempt_t;

/* ---- queues ---- */
typedef enum { SQS_REDRIVE_ALLOW_ALL = 0, SQS_REDRIVE_DENY_ALL, SQS_REDRIVE_BY_QUEUE } sqs_redrive_perm_t;

/* The settable attributes of a queue, parsed and validated. */
typedef struct sqs_settings {
    int visibility_timeout;
    int delay_seconds;
    int max_message_size;
    int retention;
    int wait_time;
    int kms_reuse;
    bool fifo;
    bool content_dedup;
    bool sse;                 /* SqsManagedSseEnabled */
    bool dedup_per_group;     /* DeduplicationScope=messageGroup */
    bool throughput_per_group; /* FifoThroughputLimit=perMessageGroupId */
    char *kms_key;            /* owned, NULL = none */
    char *policy;             /* owned document text, NULL = none */
    iam_policy_t *policy_c;   /* compiled */
    char *redrive;            /* owned normalized RedrivePolicy JSON, NULL = none */
    char *redrive_target;     /* owned deadLetterTargetArn */
    int max_receive;
    char *redrive_allow;      /* owned normalized RedriveAllowPolicy JSON, NULL = none */
    sqs_redrive_perm_t allow_perm;
    char **allow_sources;     /* owned array of ARNs */
    size_t nallow_sources;
} sqs_settings_t;

struct sqs_queue {
    sqs_snode_t node;         /* state->queues, key = "account/name" */
    uint64_t id;              /* store row id: one incarnation of the name */
    sqs_state_t *st;
    char *key;                /* "account/name" */
    char *account, *name, *region, *arn;
    sqs_settings_t set;
    json_t *tags;             /* object */
    int64_t created_ms, modified_ms, purged_ms;
    /* messages */
    sqs_link_t ready;         /* standard queues */
    sqs_link_t all;
    sqs_msg_t **heap;         /* 1-based min-heap on visible_at */
    size_t heap_n, heap_cap;
    size_t n_ready, n_delayed, n_inflight;
    /* FIFO */
    sqs_smap_t groups;
    sqs_link_t ready_groups;
    sqs_smap_t dedup;
    sqs_link_t dedup_order;
    sqs_smap_t attempts;      /* sqs_attempt_t by ReceiveRequestAttemptId */
    sqs_link_t attempt_order;
    /* long polling */
    sqs_link_t waiters;
    dq_entry_t due;           /* armed at the heap's earliest deadline while waiters exist */
    sqs_link_t kick_link;     /* in st->kicked when new messages may serve waiters */
};

/* ---- move tasks ---- */
typedef enum { SQS_TASK_RUNNING, SQS_TASK_COMPLETED, SQS_TASK_CANCELLED, SQS_TASK_FAILED } sqs_task_status_t;

struct sqs_task {
    sqs_link_t link;          /* st->tasks, newest last */
    dq_entry_t tick;
    sqs_state_t *st;
    char id[37];
    char *handle;             /* TaskHandle */
    char *source_arn, *dest_arn; /* dest NULL = original sources */
    int rate;                 /* MaxNumberOfMessagesPerSecond, 0 = unset */
    sqs_task_status_t status;
    int64_t started_ms;
    int64_t moved, to_move;
    char *failure;            /* FailureReason */
};

/* ---- the service state ---- */
struct sqs_state {
    kyoka_ctx_t *ctx;
    store_t *store;
    dq_t dq;
    sqs_smap_t queues;
    sqs_msg_t **msgs;         /* id hash: buckets */
    size_t msgs_nb, msgs_n;
    uint64_t next_msg_id;     /* also the next FIFO sequence number */
    uint64_t next_queue_id;
    sqs_smap_t deleted;       /* recently deleted names: sqs_deleted_t */
    sqs_link_t tasks;
    dq_entry_t kick;          /* runs serve_kicked() on the next turn */
    sqs_link_t kicked;        /* queues whose waiters may now be served */
    uint64_t watched_batch;   /* store batch (commit number) we asked to hear about */
    sqs_link_t watches;       /* outstanding batch watches (persist.c) */
    bool closing;
    sqs_slab_t slab;          /* message memory */
    EVP_MD_CTX *mdctx;
    EVP_MD *md5, *sha256;
};

typedef struct sqs_deleted {
    sqs_snode_t node;
    int64_t deleted_ms;
    char key[];
} sqs_deleted_t;

/* ---- helpers: errors ---- */
/* The SQS "queue does not exist" error in the call's protocol's words. */
void sqs__err_no_queue(svc_call_t *c);

/* ---- queue.c ---- */
/* Split a QueueUrl (any host form, or a bare name) into account and name
 * (arena strings). The account defaults to the caller's. */
void sqs__url_parse(svc_call_t *c, const char *url, const char **account, const char **name);
/* Queues are regional: the same name in two regions is two queues. */
sqs_queue_t *sqs__queue_lookup(sqs_state_t *st, const char *region, const char *account, const char *name);
/* The region a call's queue URLs and names refer to: its signature's. */
const char *sqs__call_region(const svc_call_t *c);
/* The queue named by the call's QueueUrl, or NULL with QueueDoesNotExist set. */
sqs_queue_t *sqs__queue_get_or_fail(svc_call_t *c);
sqs_queue_t *sqs__queue_by_arn(sqs_state_t *st, const char *arn);
char *sqs__queue_url(svc_call_t *c, const sqs_queue_t *q); /* arena */
void sqs__queue_free(sqs_queue_t *q);
/* Make due messages visible (delays and visibility timeouts ended). */
void sqs__queue_promote(sqs_queue_t *q, int64_t now);
/* Drop messages past the retention period from the head of the arrival list. */
void sqs__queue_expire(sqs_queue_t *q, int64_t now);
bool sqs__valid_queue_name(const char *name, bool fifo);
/* Timed heap of delayed / in-flight messages. */
void sqs__heap_push(sqs_queue_t *q, sqs_msg_t *m);
void sqs__heap_remove(sqs_queue_t *q, sqs_msg_t *m);
void sqs__heap_update(sqs_queue_t *q, sqs_msg_t *m); /* after visible_at changed */
int64_t sqs__heap_min(const sqs_queue_t *q);
/* Write the queue row (insert or replace) from memory. */
void sqs__queue_persist(sqs_queue_t *q);
/* A new queue in memory (settings are taken: *set is left empty). */
sqs_queue_t *sqs__queue_new(sqs_state_t *st, uint64_t id, const char *account, const char *name, const char *region,
                            sqs_settings_t *set);

/* ---- attrs.c: queue attributes ---- */
void sqs__settings_defaults(sqs_settings_t *s, bool fifo);
void sqs__settings_destroy(sqs_settings_t *s);
/* Apply attrs (a JSON object of name -> string) onto *s, validating each.
 * creating: CreateQueue (FifoQueue allowed). q: the queue being changed
 * (NULL when creating), for redrive checks against itself. On error sets
 * the call's error and returns -1 leaving *s partly changed: callers work
 * on a copy. */
int sqs__settings_apply(svc_call_t *c, sqs_settings_t *s, json_t *attrs, bool creating, const char *self_arn);
/* Deep copy. */
void sqs__settings_copy(sqs_settings_t *dst, const sqs_settings_t *src);
/* The value GetQueueAttributes shows for a settable attribute, or NULL if
 * the attribute is not shown for this queue. Arena string. */
const char *sqs__settings_value(arena_t *a, const sqs_settings_t *s, const char *name);
/* The settable attributes as a JSON object (for the store). New reference. */
json_t *sqs__settings_json(const sqs_settings_t *s);
/* Restore from the stored JSON without failing (best effort). */
void sqs__settings_load(sqs_settings_t *s, json_t *attrs, bool fifo);
/* Known attribute names (GetQueueAttributes), NULL-terminated. */
extern const char *const sqs__attr_names[];

/* ---- message.c ---- */
typedef struct sqs_msg_init {
    strv_t body, attrs, sender, trace, group, dedup; /* attrs: canonical JSON or empty */
    const char *md5_attrs;                           /* precomputed, or NULL to compute */
    const char *md5_body;                            /* precomputed, or NULL to compute */
} sqs_msg_init_t;
/* A random UUID v4 from the state's generator (message ids, task ids). */
/* A new message (not placed, not indexed) with its digests computed. */
sqs_msg_t *sqs__msg_alloc(sqs_state_t *st, const sqs_msg_init_t *in);
void sqs__msg_free(sqs_state_t *st, sqs_msg_t *m);
/* Remove a message everywhere (memory and store). */
void sqs__msg_delete(sqs_msg_t *m);
/* Remove a message from memory now and append its id to ids[*n] for the
 * caller to delete from the store (sqs__persist_msgs_delete) before it
 * returns. */
void sqs__msg_delete_later(sqs_msg_t *m, uint64_t *ids, int *n);
sqs_msg_t *sqs__msg_lookup(sqs_state_t *st, uint64_t id);
void sqs__msg_index(sqs_state_t *st, sqs_msg_t *m);
void sqs__msg_unindex(sqs_state_t *st, sqs_msg_t *m);
/* Put a message (not yet in any list) into q in the state its fields say. */
void sqs__msg_place(sqs_queue_t *q, sqs_msg_t *m);
/* Take a message out of every list of its queue (not the id index). */
void sqs__msg_unplace(sqs_msg_t *m);
/* Move m into the dead-letter queue dlq (store + memory). */
void sqs__msg_move(sqs_msg_t *m, sqs_queue_t *dst, const char *dlq_src, int64_t now);

/* Receive options parsed from a ReceiveMessage input. */
typedef struct sqs_recv_opts {
    int max;
    int vt;
    int wait;
    unsigned sys_mask;   /* system attributes to return (bit per name) */
    json_t *attr_names;  /* MessageAttributeNames array (borrowed from input) or NULL */
    const char *attempt; /* ReceiveRequestAttemptId (borrowed from input) or NULL */
} sqs_recv_opts_t;
/* Receive up to o->max messages from q into the call's output. Returns the
 * number received. On a FIFO queue with o->attempt naming a receive that
 * can still be retried, returns that receive's messages again instead. */
int sqs__receive(svc_call_t *c, sqs_queue_t *q, const sqs_recv_opts_t *o);

/* ---- fifo.c ---- */
sqs_group_t *sqs__group_get(sqs_queue_t *q, const char *id, bool create);
/* Re-evaluate whether the group's first message is ready; frees empty groups. */
void sqs__group_update(sqs_queue_t *q, sqs_group_t *g);
void sqs__group_add_msg(sqs_queue_t *q, sqs_msg_t *m);     /* in seq_no order */
void sqs__group_remove_msg(sqs_queue_t *q, sqs_msg_t *m);
/* Deduplication window. */
sqs_dedup_t *sqs__dedup_find(sqs_queue_t *q, const char *key, int64_t now);
void sqs__dedup_add(sqs_queue_t *q, const char *key, const char *message_id, uint64_t seq_no, int64_t expires_ms,
                    bool persist);
void sqs__dedup_clear(sqs_queue_t *q, bool persist);
/* ReceiveRequestAttemptId: the receive remembered under id (NULL if none
 * or its 5 minutes are over), remembering one (replacing any under the same
 * id), and forgetting them all. */
sqs_attempt_t *sqs__attempt_find(sqs_queue_t *q, const char *id, int64_t now);
void sqs__attempt_add(sqs_queue_t *q, const char *id, sqs_msg_t *const *ms, int n, int64_t now);
void sqs__attempts_clear(sqs_queue_t *q);
/* Whether every message of a remembered receive is still as that receive
 * left it: not deleted or moved, not received again, visibility unchanged. */
bool sqs__attempt_retryable(const sqs_queue_t *q, const sqs_attempt_t *a);
void sqs__seq_format(uint64_t seq_no, char out[24]);

/* ---- wait.c: long polling ---- */
/* Park the call until messages arrive or o->wait seconds pass. Returns KYOKA_EAGAIN. */
int sqs__wait(svc_call_t *c, sqs_queue_t *q, const sqs_recv_opts_t *o);
/* New visible messages in q: serve its waiters on the next turn. */
void sqs__kick(sqs_queue_t *q);
/* Keep q's deadline entry at its earliest visibility deadline while it has waiters. */
void sqs__queue_arm(sqs_queue_t *q);
/* Answer every waiter of q with what it has (empty), e.g. on delete. */
void sqs__waiters_flush(sqs_queue_t *q);
void sqs__on_kick(dq_entry_t *e);

/* ---- digest.c ---- */
void sqs__md5_hex(sqs_state_t *st, const void *p, size_t n, char out[33]);
void sqs__sha256_hex(sqs_state_t *st, const void *p, size_t n, char out[65]);
/* MD5OfMessageAttributes over a canonical attributes object (name -> {DataType,
 * StringValue|BinaryValue(base64)}), only names selected by filter (NULL =
 * all). Returns false (out "") when nothing is selected. */
bool sqs__md5_attrs(sqs_state_t *st, json_t *attrs, json_t *filter, char out[33]);
/* Does the MessageAttributeNames filter select name? */
bool sqs__attr_selected(json_t *filter, const char *name);
/* Validate a message body per SQS's allowed characters (UTF-8). */
bool sqs__body_chars_ok(const char *p, size_t n);

/* ---- persist.c ---- */
int sqs__store_migrate(sqs_state_t *st, char *err, size_t errcap);
int sqs__store_load(sqs_state_t *st, char *err, size_t errcap);
/* Begin writing (and watch this turn's batch for a failed commit). */
void sqs__write_begin(sqs_state_t *st);
/* The state is going away: outstanding batch watches must not touch it. */
void sqs__watches_disown(sqs_state_t *st);
/* Step a write statement; logs failures. */
void sqs__step(sqs_state_t *st, sqlite3_stmt *s);
void sqs__persist_msg_insert(sqs_msg_t *m);
/* Insert n new messages, ten rows per statement. */
void sqs__persist_msgs_insert(sqs_state_t *st, sqs_msg_t *const *ms, int n);
void sqs__persist_msg_visibility(sqs_msg_t *m);
/* Many at once (one statement per 10): receives of one ReceiveMessage
 * (all get visible_at; counters move as mark_received moves them), and
 * deletes. */
void sqs__persist_msgs_receive(sqs_state_t *st, const uint64_t *ids, int n, int64_t visible_at, int64_t now);
void sqs__persist_msgs_delete(sqs_state_t *st, const uint64_t *ids, int n);
void sqs__persist_msg_delete(sqs_state_t *st, uint64_t id);
void sqs__persist_msg_move(sqs_msg_t *m);
void sqs__persist_deleted(sqs_state_t *st, const char *key, int64_t when);
void sqs__persist_task(sqs_task_t *t);
/* Drop all in-memory state (answers waiters); used by reset and reload. */
void sqs__state_clear(sqs_state_t *st);

/* ---- policy.c ---- */
/* Validate + compile a Policy attribute value into s (text "" removes). */
int sqs__policy_set(svc_call_t *c, sqs_settings_t *s, const char *text);
/* Check that target's RedriveAllowPolicy admits source_arn; sets the error. */
bool sqs__redrive_allowed(svc_call_t *c, const sqs_queue_t *target, const char *source_arn, const char *policy_text);
const iam_policy_t *sqs__resource_policy(void *state, const char *arn, const char **owner);

/* ---- movetask.c ---- */
void sqs__task_free(sqs_task_t *t);
void sqs__task_resume(sqs_task_t *t);
/* A queue is going away: fail running tasks that use it. */
void sqs__tasks_queue_gone(sqs_state_t *st, const sqs_queue_t *q);
/* Split a TaskHandle into task id and source ARN (arena strings). */
bool sqs__handle_decode(arena_t *a, const char *handle, const char **id, const char **source);

/* ---- handlers ---- */
int sqs_create_queue(svc_call_t *c);
int sqs_get_queue_url(svc_call_t *c);
int sqs_list_queues(svc_call_t *c);
int sqs_delete_queue(svc_call_t *c);
int sqs_get_queue_attributes(svc_call_t *c);
int sqs_set_queue_attributes(svc_call_t *c);
int sqs_purge_queue(svc_call_t *c);
int sqs_tag_queue(svc_call_t *c);
int sqs_untag_queue(svc_call_t *c);
int sqs_list_queue_tags(svc_call_t *c);
int sqs_list_dead_letter_source_queues(svc_call_t *c);
int sqs_send_message(svc_call_t *c);
int sqs_send_message_batch(svc_call_t *c);
int sqs_receive_message(svc_call_t *c);
int sqs_delete_message(svc_call_t *c);
int sqs_delete_message_batch(svc_call_t *c);
int sqs_change_message_visibility(svc_call_t *c);
int sqs_change_message_visibility_batch(svc_call_t *c);
int sqs_add_permission(svc_call_t *c);
int sqs_remove_permission(svc_call_t *c);
int sqs_start_message_move_task(svc_call_t *c);
int sqs_list_message_move_tasks(svc_call_t *c);
int sqs_cancel_message_move_task(svc_call_t *c);

/* Integer input member: true and *out set if present. */
static inline bool sqs_in_int(svc_call_t *c, json_t *obj, const char *name, long long *out)
{
    json_t *v = json_object_get(obj, name);
    if (!v || !json_is_integer(v))
        return false;
    *out = json_integer_value(v);
    return true;
}

#endif
