/*
 * CloudWatch Logs internals shared by the files of this service only.
 *
 * Memory model. SQLite is the truth (tables logs_groups, logs_streams,
 * logs_events); the loop thread keeps the metadata of every group and
 * stream in memory, and never the events:
 *
 *   logs_state_t   every group, sorted by (region, account, name) in one
 *                  array, so lookups are binary searches and
 *                  DescribeLogGroups pages walk it in AWS's ASCII order.
 *   logs_group_t   settings, tags, and its streams sorted by name.
 *   logs_stream_t  first/last event timestamps, last ingestion time, bytes:
 *                  what DescribeLogStreams shows, kept current by every put.
 *
 * Events live only in logs_events, keyed (group_id, ts, seq): a group's
 * events in time order, which is what FilterLogEvents scans (it always
 * interleaves streams, as AWS has since 2019) and what retention deletes
 * from the front. An index on (stream_id, ts, seq) serves GetLogEvents.
 * seq is one counter for the whole service, so (ts, seq) orders events
 * that share a millisecond in arrival order and names each event.
 *
 * Time. Everything reads kyoka_clock_now_ms(). Events older than a group's
 * retention are hidden from reads at once and deleted by a sweep that runs
 * every minute of server time (one deadline-queue entry), a bounded number
 * of rows per turn.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_LOGS_INTERNAL_H
#define KYOKA_LOGS_INTERNAL_H

#include "core/dq.h"
#include "services/logs/logs.h"
#include "services/service.h"

/* ---- limits ----
 * PutLogEvents (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html):
 * at most 10,000 events and 1,048,576 bytes a batch, counted as the UTF-8
 * messages plus 26 bytes an event; no event more than 2 hours ahead or 14
 * days behind; a batch's accepted events within 24 hours of each other.
 * GetLogEvents and FilterLogEvents: up to 10,000 events or 1 MB a response.
 * Describe*: limit 1..50. Names: 1..512. Tags: 50 a resource. */
#define LOGS_MAX_NAME 512
#define LOGS_MAX_BATCH_EVENTS 10000
#define LOGS_MAX_BATCH_BYTES 1048576
#define LOGS_EVENT_OVERHEAD 26
#define LOGS_MAX_EVENT_BYTES (LOGS_MAX_BATCH_BYTES - LOGS_EVENT_OVERHEAD)
#define LOGS_MAX_FUTURE_MS (2LL * 3600 * 1000)
#define LOGS_MAX_PAST_MS (14LL * 86400 * 1000)
#define LOGS_MAX_SPAN_MS (24LL * 3600 * 1000)
#define LOGS_DESCRIBE_LIMIT 50
#define LOGS_EVENTS_LIMIT 10000
#define LOGS_RESPONSE_BYTES 1048576
#define LOGS_MAX_TAGS 50
#define LOGS_MAX_TAG_KEY 128
#define LOGS_MAX_TAG_VALUE 256
#define LOGS_MAX_FILTER_PATTERN 1024 /* FilterPattern: max 1024 in the model */
#define LOGS_MAX_FILTER_FIELDS 128   /* fields of a space-delimited pattern */
#define LOGS_MAX_STREAM_NAMES 100    /* FilterLogEvents logStreamNames */
/* Rows one FilterLogEvents call reads before it answers with what it has
 * and a nextToken (AWS, too, may answer a page short, even empty, with a
 * token): bounds the time one call holds the loop. */
#define LOGS_FILTER_SCAN_ROWS 100000
#define LOGS_SWEEP_INTERVAL_MS 60000
#define LOGS_SWEEP_ROWS 20000        /* expired rows deleted per group per sweep turn */
#define LOGS_INSERT_ROWS 64          /* events per INSERT statement */
/* Subscription filters (PutSubscriptionFilter): "Each log group can have
 * up to two subscription filters associated with it." A delivery carries
 * at most 1 MB of events, counted as PutLogEvents counts them (AWS's
 * payload limit); a filter keeps at most 8 MB waiting, dropping (with a
 * warning) what comes past that. */
#define LOGS_MAX_SUBSCRIPTIONS 2
#define LOGS_SUB_BATCH_BYTES 1048576
#define LOGS_SUB_MAX_PENDING (8 * 1048576)
#define LOGS_SUB_DELIVERIES_PER_TURN 64 /* batches handed to the sink per loop turn */

/* ---- the filter pattern language (filter.c) ---- */
typedef struct logs_pattern logs_pattern_t;
/* Compile text[0..len). On success *out is the pattern (free with
 * logs_pattern_free) and 0 is returned; on a bad pattern, KYOKA_EINVAL with
 * AWS's message ("Invalid filter pattern", ...) in err. An empty or blank
 * pattern matches everything. Thread: any. */
int logs_pattern_compile(const char *text, size_t len, logs_pattern_t **out, char *err, size_t errcap) KYOKA_WUR;
/* Does message msg[0..len) match? p NULL matches everything. Allocates
 * nothing for terms and space-delimited patterns (up to 64 fields). */
bool logs_pattern_match(const logs_pattern_t *p, const char *msg, size_t len);
bool logs_pattern_matches_all(const logs_pattern_t *p);
void logs_pattern_free(logs_pattern_t *p);

/* ---- types ---- */
typedef struct logs_state logs_state_t;
typedef struct logs_group logs_group_t;
typedef struct logs_stream logs_stream_t;
typedef struct logs_subscription logs_subscription_t;
typedef struct logs_sub_batch logs_sub_batch_t; /* pending events of one stream (subscription.c) */

/* A subscription filter. Its pending batches are what ingest matched and
 * the next delivery turn hands to the sink. */
struct logs_subscription {
    logs_group_t *g;
    char *name;
    char *pattern;            /* as given */
    logs_pattern_t *pat;      /* compiled, owned */
    char *destination_arn, *role_arn; /* role_arn NULL = none */
    char *distribution;       /* "ByLogStream" or "Random" */
    int64_t created_ms;
    logs_sub_batch_t *batches, *last; /* FIFO, oldest first */
    size_t pending_bytes;     /* sum of the batches' bytes */
    uint64_t dropped;         /* events dropped since the last warning */
    bool _dirty;              /* on st->dirty */
    logs_subscription_t *_dprev, *_dnext;
};

struct logs_stream {
    uint64_t id;              /* store row id */
    logs_group_t *g;
    char *name;
    int64_t created_ms;
    int64_t first_ts, last_ts; /* 0 = no events yet */
    int64_t last_ingest_ms;
    int64_t stored_bytes;     /* message bytes (AWS reports 0 for streams) */
    uint64_t upload_seq;      /* bumps per put: the sequence token */
};

struct logs_group {
    uint64_t id;
    logs_state_t *st;
    char *region, *account, *name;
    char *arn;                /* arn:aws:logs:R:A:log-group:NAME */
    int64_t created_ms;
    int retention_days;       /* 0 = never expire */
    char *kms_key;            /* NULL = none */
    char *klass;              /* logGroupClass: "STANDARD" */
    json_t *tags;             /* object, owned */
    int64_t stored_bytes;     /* sum of the streams' */
    logs_stream_t **streams;  /* sorted by name */
    size_t nstreams, cap;
    logs_subscription_t *subs[LOGS_MAX_SUBSCRIPTIONS]; /* sorted by name */
    size_t nsubs;
};

struct logs_state {
    kyoka_ctx_t *ctx;
    store_t *store;
    logs_group_t **groups;    /* sorted by region, account, name */
    size_t ngroups, cap;
    uint64_t next_group_id, next_stream_id, next_seq;
    dq_t dq;
    dq_entry_t sweep;         /* the retention sweep */
    uint64_t watched_batch;   /* store batch (commit number) we asked to hear about */
    struct logs_watch *watches; /* outstanding batch watches (persist.c) */
    logs_subscription_sink_t sink; /* zeroed: none registered */
    logs_subscription_t *dirty; /* filters with pending batches or drops */
    dq_entry_t deliver;       /* due at once while anything is dirty */
    bool closing;
};

/* ---- validation with AWS's messages (ops.c) ----
 * Violations collect in call order into one InvalidParameterException:
 * "2 validation errors detected: Value 'x' at 'logGroupName' failed to
 * satisfy constraint: Member must ...; Value ..." */
typedef struct logs_check {
    svc_call_t *c;
    int n;
    buf_t msg;
} logs_check_t;
typedef enum { LOGS_NAME_GROUP, LOGS_NAME_GROUP_PATTERN, LOGS_NAME_STREAM, LOGS_NAME_IDENTIFIER } logs_name_kind_t;
void logs__check_init(logs_check_t *k, svc_call_t *c);
/* A violation: "Value 'v' at 'member' failed to satisfy constraint: what"
 * (v NULL writes "Value null at ..."). */
void logs__check_add(logs_check_t *k, const char *member, const char *value, const char *what);
/* A name member, absent allowed unless required. */
void logs__check_name(logs_check_t *k, const char *member, const char *value, logs_name_kind_t kind, bool required);
/* An integer member within [min, max] (absent is fine). */
void logs__check_int(logs_check_t *k, const char *member, json_t *v, long long min, long long max);
/* Set the error if there were violations; true when the input passed. */
bool logs__check_done(logs_check_t *k);

/* ---- group.c ---- */
const char *logs__call_region(const svc_call_t *c);
const char *logs__call_account(const svc_call_t *c);
logs_group_t *logs__group_lookup(logs_state_t *st, const char *region, const char *account, const char *name);
/* Index where a group with this key is or would go. */
size_t logs__group_pos(const logs_state_t *st, const char *region, const char *account, const char *name, bool *found);
logs_group_t *logs__group_new(logs_state_t *st, uint64_t id, const char *region, const char *account,
                              const char *name, int64_t created_ms);
void logs__group_free(logs_group_t *g);
/* Remove from the state's array (memory only) and free. */
void logs__group_remove(logs_group_t *g);
/* The group a call names by logGroupName or logGroupIdentifier (a name or
 * an ARN); NULL with the error set. */
logs_group_t *logs__group_get_or_fail(svc_call_t *c);
/* The group an ARN names (arn:aws:logs:R:A:log-group:NAME[:*]); NULL with
 * ResourceNotFoundException set. */
logs_group_t *logs__group_by_arn_or_fail(svc_call_t *c, const char *arn);
void logs__err_no_group(svc_call_t *c);
bool logs__valid_retention(long long days);
/* Tags: validate (sets the error) and merge into g->tags. */
bool logs__tags_check(svc_call_t *c, json_t *tags, const char *member);
json_t *logs__group_describe(const logs_group_t *g); /* new reference */

/* ---- stream.c ---- */
logs_stream_t *logs__stream_lookup(const logs_group_t *g, const char *name);
size_t logs__stream_pos(const logs_group_t *g, const char *name, bool *found);
logs_stream_t *logs__stream_new(logs_group_t *g, uint64_t id, const char *name, int64_t created_ms);
void logs__stream_free(logs_stream_t *s);
void logs__stream_remove(logs_stream_t *s);
logs_stream_t *logs__stream_get_or_fail(svc_call_t *c, logs_group_t *g, const char *name);
char *logs__stream_arn(arena_t *a, const logs_stream_t *s);
/* The stream's current upload sequence token (arena string). */
char *logs__sequence_token(arena_t *a, const logs_stream_t *s);

/* ---- events.c ---- */
/* The earliest timestamp reads may return for g: now - retention (or
 * INT64_MIN without retention). */
int64_t logs__retention_cutoff(const logs_group_t *g, int64_t now);
/* Append prepared events (chronological, already checked) to s. */
typedef struct logs_in_event {
    int64_t ts;
    const char *msg;
    size_t len;
} logs_in_event_t;
void logs__append(logs_state_t *st, logs_stream_t *s, const logs_in_event_t *ev, size_t n, int64_t now);
void logs__on_sweep(dq_entry_t *e);
/* Run one sweep step for every group now (tests, retention changes). */
void logs__sweep_arm(logs_state_t *st, int64_t when);

/* ---- subscription.c ---- */
/* Add a filter to g or update the one of that name (taking pat); NULL
 * (and pat freed) when g already has LOGS_MAX_SUBSCRIPTIONS others. */
logs_subscription_t *logs__subscription_add(logs_group_t *g, const char *name, const char *pattern,
                                            logs_pattern_t *pat, const char *destination, const char *role,
                                            const char *distribution, int64_t created_ms);
/* Free a filter and its pending events (memory only; g's array is the
 * caller's). */
void logs__subscription_free(logs_subscription_t *f);
/* Collect the events [0, n) just appended to s (sequence numbers seq0..)
 * that match each of its group's filters; queues a delivery turn. */
void logs__subscriptions_ingest(logs_state_t *st, logs_stream_t *s, const logs_in_event_t *ev, size_t n,
                                uint64_t seq0);
/* The Lambda event for one batch, {"awslogs":{"data":"..."}}, appended to
 * out. 0 or KYOKA_ENOMEM. */
int logs__subscription_payload(const logs_subscription_t *f, const logs_sub_batch_t *b, buf_t *out);
void logs__on_deliver(dq_entry_t *e);
/* Deliver everything pending now (tests). */
void logs__subscriptions_flush(logs_state_t *st);

/* ---- persist.c ---- */
int logs__store_migrate(logs_state_t *st, char *err, size_t errcap);
int logs__store_load(logs_state_t *st, char *err, size_t errcap);
void logs__write_begin(logs_state_t *st);
void logs__watches_disown(logs_state_t *st);
void logs__step(logs_state_t *st, sqlite3_stmt *s);
void logs__persist_group(logs_group_t *g);
void logs__persist_group_delete(logs_group_t *g);
void logs__persist_stream(logs_stream_t *s);
void logs__persist_stream_delete(logs_stream_t *s);
/* Insert n events of stream s with sequence numbers seq0.. */
void logs__persist_events(logs_state_t *st, const logs_stream_t *s, const logs_in_event_t *ev, size_t n,
                          uint64_t seq0, int64_t now);
void logs__persist_subscription(logs_subscription_t *f);
void logs__persist_subscription_delete(logs_subscription_t *f);
void logs__state_clear(logs_state_t *st);

/* ---- handlers ---- */
int logs_create_log_group(svc_call_t *c);
int logs_delete_log_group(svc_call_t *c);
int logs_describe_log_groups(svc_call_t *c);
int logs_put_retention_policy(svc_call_t *c);
int logs_delete_retention_policy(svc_call_t *c);
int logs_tag_resource(svc_call_t *c);
int logs_untag_resource(svc_call_t *c);
int logs_list_tags_for_resource(svc_call_t *c);
int logs_tag_log_group(svc_call_t *c);
int logs_untag_log_group(svc_call_t *c);
int logs_list_tags_log_group(svc_call_t *c);
int logs_create_log_stream(svc_call_t *c);
int logs_delete_log_stream(svc_call_t *c);
int logs_describe_log_streams(svc_call_t *c);
int logs_put_log_events(svc_call_t *c);
int logs_get_log_events(svc_call_t *c);
int logs_filter_log_events(svc_call_t *c);
int logs_put_subscription_filter(svc_call_t *c);
int logs_describe_subscription_filters(svc_call_t *c);
int logs_delete_subscription_filter(svc_call_t *c);

/* Integer input member: true and *out set if present. */
static inline bool logs_in_int(svc_call_t *c, const char *name, long long *out)
{
    json_t *v = json_object_get(c->input, name);
    if (!v || !json_is_integer(v))
        return false;
    *out = json_integer_value(v);
    return true;
}

static inline bool logs_in_bool(svc_call_t *c, const char *name, bool dflt)
{
    json_t *v = json_object_get(c->input, name);
    return v && json_is_boolean(v) ? json_is_true(v) : dflt;
}

#endif
