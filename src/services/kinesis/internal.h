/*
 * Kinesis Data Streams internals shared by the files of this service only.
 *
 * Memory model. SQLite is the truth (kinesis_streams, kinesis_shards,
 * kinesis_records, kinesis_consumers); the loop keeps every stream, shard
 * and consumer in memory, and never the records.
 *
 *   kinesis_state_t   streams sorted by (region, account, name), so
 *                     ListStreams walks them in name order; every shard
 *                     ever made indexed by its gid (a service-wide shard
 *                     number) for iterators and cursors.
 *   kinesis_stream_t  settings, tags, policy, consumers, and its shards in
 *                     creation order (shardId-000000000000, ...).
 *   kinesis_shard_t   hash key range, parents, the next record index, the
 *                     first index retention may still hold.
 *
 * Records. A record's row id is (gid << 40) | index: a shard's records are
 * one contiguous rowid range in arrival order, so reading from a position,
 * trimming expired records and dropping a shard are range operations on
 * SQLite's primary key, and an append is an insert at the end of a range.
 * Data is kept as the base64 text the client sent (checked, canonical),
 * which is also what GetRecords answers: nothing is decoded or encoded.
 *
 * Sequence numbers are 56 digits, like AWS's, fixed width so that string
 * order is numeric order:
 *
 *   "49" gid(10) index(20) arrival-ms(13) check(11)
 *
 * Within a shard they increase with the index; a child shard's are greater
 * than its parents' (a larger gid). The check digits reject numbers kyoka
 * did not issue. A shard's StartingSequenceNumber is index 0 (records start
 * at 1).
 *
 * Time. Status changes (CREATING -> ACTIVE, UPDATING -> ACTIVE, DELETING ->
 * gone) settle KINESIS_SETTLE_MS after the call on the server clock, read
 * lazily; retention hides expired records at once and a sweep deletes them.
 *
 * Thread: loop thread.
 */
#ifndef KYOKA_KINESIS_INTERNAL_H
#define KYOKA_KINESIS_INTERNAL_H

#include "core/dq.h"
#include "services/kinesis/kinesis.h"
#include "services/service.h"

/* ---- limits ----
 * https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html
 * and the API reference of each operation:
 *   a record's data blob: up to 1 MiB (PutRecord, PutRecords)
 *   PutRecords: up to 500 records, 5 MiB including partition keys
 *   partition key: 1..256 Unicode characters
 *   per shard: 1 MiB/s and 1,000 records/s of writes
 *   GetRecords: up to 10,000 records or 10 MiB a call; Limit 1..10,000
 *   shard iterators expire 5 minutes after they are returned
 *   retention: 24 .. 8,760 hours
 *   tags: 50 a stream; key 1..128, value 0..256; 10 a call (AddTagsToStream)
 *   ListStreams / ListShards: Limit 1..10,000 (ListShards), 1..10,000
 * (ListStreams) on-demand streams start with 4 shards (4 MiB/s of writes)
 *   consumers: 20 a stream */
#define KINESIS_MAX_DATA 1048576
#define KINESIS_MAX_PUT_RECORDS 500
#define KINESIS_MAX_PUT_BYTES (5 * 1048576)
#define KINESIS_MAX_PARTITION_KEY 256
#define KINESIS_SHARD_BYTES_PER_S 1048576
#define KINESIS_RATE_SLOTS 10
#define KINESIS_SHARD_RECORDS_PER_S 1000
#define KINESIS_GET_MAX_RECORDS 10000
#define KINESIS_GET_MAX_BYTES (10 * 1048576)
#define KINESIS_ITERATOR_TTL_MS 300000
#define KINESIS_MIN_RETENTION_H 24
#define KINESIS_MAX_RETENTION_H 8760
#define KINESIS_MAX_TAGS 50
#define KINESIS_MAX_TAGS_PER_CALL 10
#define KINESIS_MAX_STREAM_NAME 128
#define KINESIS_ON_DEMAND_SHARDS 4
#define KINESIS_MAX_SHARDS 10000 /* per stream here (AWS: an account quota, 500 by default) */
#define KINESIS_MAX_CONSUMERS 20
#define KINESIS_LIST_LIMIT 10000
#define KINESIS_SETTLE_MS 200 /* CREATING/UPDATING/DELETING last this long here */
#define KINESIS_SWEEP_INTERVAL_MS 60000
#define KINESIS_INSERT_ROWS 50 /* records per INSERT statement */
#define KINESIS_INDEX_BITS 40  /* rowid = gid << 40 | index */
#define KINESIS_INDEX_MASK ((UINT64_C(1) << KINESIS_INDEX_BITS) - 1)

typedef unsigned __int128 kinesis_u128;
#define KINESIS_HASH_MAX (~(kinesis_u128)0)

typedef struct kinesis_stream kinesis_stream_t;
typedef struct kinesis_shard kinesis_shard_t;
typedef struct kinesis_consumer kinesis_consumer_t;

struct kinesis_shard {
    uint32_t gid; /* service-wide, never reused: the records' rowid prefix */
    uint32_t idx; /* the N of shardId-N within the stream */
    kinesis_stream_t *s;
    char id[24]; /* "shardId-000000000000" */
    kinesis_u128 hash_start, hash_end;
    int64_t parent, adjacent; /* parent shards' idx, -1 = none */
    int64_t created_ms;
    int64_t closed_ms;       /* 0 = open */
    uint64_t next_index;     /* index the next record gets (records start at 1) */
    uint64_t trim_index;     /* first index that may still be retained */
    int64_t last_arrival_ms; /* of the newest record; 0 = none */
    /* --kinesis-limits aws: this second's writes */
    /* The write limits over a sliding second, in tenths of a second: a
     * fixed window would let two writes a moment apart across a second's
     * boundary through at twice the rate. */
    int64_t rate_tick[KINESIS_RATE_SLOTS];
    uint32_t rate_records[KINESIS_RATE_SLOTS];
    uint32_t rate_bytes[KINESIS_RATE_SLOTS];
    uint64_t notify_batch; /* the store batch whose listeners will hear of it */
};

struct kinesis_consumer {
    char *name;
    char *arn; /* stream ARN + "/consumer/NAME:CREATED_S" */
    int64_t created_ms;
    int64_t ready_ms; /* CREATING until then */
};

typedef enum { KS_CREATING, KS_ACTIVE, KS_UPDATING, KS_DELETING } kinesis_status_t;

struct kinesis_stream {
    uint64_t id;
    kinesis_t *st;
    char *region, *account, *name, *arn;
    int64_t created_ms;
    kinesis_status_t status; /* as set; see kinesis__status() for the current one */
    int64_t settle_ms;       /* when CREATING/UPDATING become ACTIVE, DELETING gone */
    bool on_demand;
    int retention_h;
    char *encryption;         /* "NONE" or "KMS" */
    char *key_id;             /* NULL = none */
    json_t *tags;             /* object, owned */
    char *policy;             /* resource policy text, NULL = none */
    iam_policy_t *policy_c;   /* compiled */
    kinesis_shard_t **shards; /* creation order */
    size_t nshards, cap;
    kinesis_consumer_t **consumers;
    size_t nconsumers;
    bool notify_pending; /* on st->notify list for the open batch */
    kinesis_stream_t *notify_next;
    dq_entry_t settle; /* fires at settle_ms */
};

typedef struct kinesis_listener_list {
    struct kinesis_listener *head;
} kinesis_listener_list_t;

struct kinesis_state {
    kyoka_ctx_t *ctx;
    store_t *store;
    kinesis_stream_t **streams; /* sorted by region, account, name */
    size_t nstreams, cap;
    kinesis_shard_t **by_gid; /* index gid; NULL for gone shards */
    size_t ngid, gidcap;
    uint64_t next_stream_id;
    uint32_t next_gid;
    bool aws_limits;
    dq_t dq;
    dq_entry_t sweep;
    struct kinesis_listener *listeners; /* all listeners */
    kinesis_stream_t *notify;           /* unused: kept NULL */
    struct kinesis_notify_job *job;     /* the open batch's notifications */
    uint64_t job_batch;                 /* the store batch job belongs to */
    struct kinesis_notify_job *jobs;    /* every job waiting for durability */
    void *md5;                          /* EVP_MD_CTX, reused */
    bool closing;
};

struct kinesis_listener {
    kinesis_t *k;
    char *arn;
    kinesis_listen_fn fn;
    void *data;
    struct kinesis_listener *prev, *next;
};

/* ---- hashing and numbers (hash.c) ---- */
/* MD5 of key[0..n) as a 128-bit big-endian integer. */
kinesis_u128 kinesis__md5_key(kinesis_t *k, const char *key, size_t n);
/* Decimal text of v into out (at least 40 bytes). */
void kinesis__u128_format(kinesis_u128 v, char *out);
/* Parse a decimal 0..2^128-1 (no sign, no spaces); false otherwise. */
bool kinesis__u128_parse(const char *s, kinesis_u128 *out);
/* The 56-digit sequence number of (gid, index) arriving at ms into out
 * (57 bytes). */
void kinesis__seq_format(uint32_t gid, uint64_t index, int64_t ms, char out[57]);
/* Parse one kyoka issued: false when it is not 56 digits or its check
 * digits do not match. */
bool kinesis__seq_parse(const char *s, uint32_t *gid, uint64_t *index, int64_t *ms);
/* Shard iterators: base64 of the cursor and the time it was issued, with
 * a check. */
char *kinesis__iterator_encode(arena_t *a, const kinesis_cursor_t *cur, int64_t issued_ms);
bool kinesis__iterator_decode(const char *s, kinesis_cursor_t *cur, int64_t *issued_ms);
/* Base64 text: true when s[0..n) is canonical base64 (padded, no
 * whitespace); *decoded is the byte length. */
bool kinesis__b64_check(const char *s, size_t n, size_t *decoded);
/* Unicode characters of UTF-8 text (partition keys are counted so). */
size_t kinesis__utf8_chars(const char *s, size_t n);

/* ---- streams (stream.c) ---- */
const char *kinesis__call_region(const svc_call_t *c);
const char *kinesis__call_account(const svc_call_t *c);
kinesis_stream_t *kinesis__stream_lookup(kinesis_t *k, const char *region, const char *account, const char *name);
kinesis_stream_t *kinesis__stream_by_arn(kinesis_t *k, const char *arn);
kinesis_stream_t *kinesis__stream_by_id(kinesis_t *k, uint64_t id);
kinesis_stream_t *kinesis__stream_new(kinesis_t *k, uint64_t id, const char *region, const char *account,
                                      const char *name, int64_t created_ms);
void kinesis__stream_free(kinesis_stream_t *s);
/* Remove from memory (the array and the gid index) and free. */
void kinesis__stream_remove(kinesis_stream_t *s);
/* The status now (a settled change applied). */
kinesis_status_t kinesis__status(kinesis_stream_t *s);
const char *kinesis__status_name(kinesis_status_t st);
/* The stream a call names by StreamName or StreamARN (the ARN wins), NULL
 * with ResourceNotFoundException (or InvalidArgumentException when
 * neither is given) set. A DELETING stream is found. */
kinesis_stream_t *kinesis__stream_get_or_fail(svc_call_t *c);
/* The same for a name/ARN pair from another member (consumers). */
kinesis_stream_t *kinesis__stream_arn_get_or_fail(svc_call_t *c, const char *arn);
/* Set ResourceInUseException unless the stream is ACTIVE. */
bool kinesis__stream_active_or_fail(svc_call_t *c, kinesis_stream_t *s);
void kinesis__err_not_found(svc_call_t *c, const char *name, const char *account);
/* Start settling: status becomes st now and ACTIVE (or gone) after
 * KINESIS_SETTLE_MS. */
void kinesis__stream_settle(kinesis_stream_t *s, kinesis_status_t st);
void kinesis__on_settle(dq_entry_t *e);
char *kinesis__stream_arn(const char *region, const char *account, const char *name);
/* Parse arn:aws:kinesis:R:A:stream/NAME[/consumer/C:T]; views into arn. */
bool kinesis__arn_parse(const char *arn, strv_t *region, strv_t *account, strv_t *name, strv_t *consumer);

/* ---- shards (shard.c) ---- */
kinesis_shard_t *kinesis__shard_add(kinesis_stream_t *s, uint32_t gid, uint32_t idx, kinesis_u128 lo, kinesis_u128 hi,
                                    int64_t parent, int64_t adjacent, int64_t created_ms);
/* New shards for a stream: n uniform ranges. */
void kinesis__shards_create(kinesis_stream_t *s, int n, int64_t now);
kinesis_shard_t *kinesis__shard_by_id(kinesis_stream_t *s, const char *shard_id);
kinesis_shard_t *kinesis__shard_by_idx(kinesis_stream_t *s, int64_t idx);
/* The open shard whose range holds h. */
kinesis_shard_t *kinesis__shard_for_hash(kinesis_stream_t *s, kinesis_u128 h);
int kinesis__open_shards(const kinesis_stream_t *s);
/* The Shard structure of DescribeStream/ListShards (new reference). */
json_t *kinesis__shard_json(const kinesis_shard_t *sh);
void kinesis__shard_info(const kinesis_shard_t *sh, kinesis_shard_info_t *out, char buf[6][64]);
/* Close a shard (its last index is its ending sequence number). */
void kinesis__shard_close(kinesis_shard_t *sh, int64_t now);
/* A shard is gone from listings once closed and past retention. */
bool kinesis__shard_expired(const kinesis_shard_t *sh, int64_t now);
void kinesis__sweep_arm(kinesis_t *k, int64_t when);
void kinesis__on_sweep(dq_entry_t *e);
/* Split or merge without the API's checks (UpdateShardCount uses them). */
void kinesis__shard_split(kinesis_shard_t *sh, kinesis_u128 at, int64_t now);
void kinesis__shard_merge(kinesis_shard_t *a, kinesis_shard_t *b, int64_t now);
uint32_t kinesis__gid_alloc(kinesis_t *k);

/* ---- records (record.c) ---- */
/* The retention cutoff: records that arrived before it are gone. */
int64_t kinesis__cutoff(const kinesis_stream_t *s, int64_t now);
int kinesis__cursor_read(kinesis_t *k, kinesis_shard_t *sh, kinesis_cursor_t *cur, size_t max_records, size_t max_bytes,
                         kinesis_record_fn fn, void *data, kinesis_read_result_t *res);
/* Resolve a start position on sh; KYOKA_EINVAL with the reason in err. */
int kinesis__cursor_start(kinesis_t *k, kinesis_shard_t *sh, kinesis_start_t type, const char *seq, int64_t ts_ms,
                          kinesis_cursor_t *out, char *err, size_t errcap);

/* ---- notifications (notify.c) ---- */
/* Records were written to sh in the open batch: listeners hear once the
 * batch is durable. */
void kinesis__notify_records(kinesis_shard_t *sh);
/* Shards changed / the stream was deleted: listeners hear on the next turn
 * after durability. */
void kinesis__notify_event(kinesis_t *k, const char *arn, kinesis_event_t ev);
void kinesis__notify_disown(kinesis_t *k);

/* ---- persist.c ---- */
int kinesis__store_migrate(kinesis_t *k, char *err, size_t errcap);
int kinesis__store_load(kinesis_t *k, char *err, size_t errcap);
void kinesis__persist_stream(kinesis_stream_t *s);
void kinesis__persist_stream_delete(kinesis_stream_t *s);
void kinesis__persist_shard(kinesis_shard_t *sh);
void kinesis__persist_consumers(kinesis_stream_t *s);
/* Rows for records; pkey and data are borrowed for the call. */
typedef struct kinesis_in_record {
    kinesis_shard_t *sh;
    uint64_t index;
    const char *pkey;
    size_t pkey_len;
    const char *data;
    size_t data_len; /* base64 length */
} kinesis_in_record_t;
void kinesis__persist_records(kinesis_t *k, const kinesis_in_record_t *r, size_t n, int64_t now);
/* Delete a shard's records with index < below (below 0: all). */
void kinesis__persist_trim(kinesis_t *k, const kinesis_shard_t *sh, uint64_t below);
void kinesis__state_clear(kinesis_t *k);

/* ---- handlers ---- */
int kinesis_create_stream(svc_call_t *c);
int kinesis_delete_stream(svc_call_t *c);
int kinesis_describe_stream(svc_call_t *c);
int kinesis_describe_stream_summary(svc_call_t *c);
int kinesis_list_streams(svc_call_t *c);
int kinesis_describe_limits(svc_call_t *c);
int kinesis_increase_stream_retention_period(svc_call_t *c);
int kinesis_decrease_stream_retention_period(svc_call_t *c);
int kinesis_add_tags_to_stream(svc_call_t *c);
int kinesis_remove_tags_from_stream(svc_call_t *c);
int kinesis_list_tags_for_stream(svc_call_t *c);
int kinesis_tag_resource(svc_call_t *c);
int kinesis_untag_resource(svc_call_t *c);
int kinesis_list_tags_for_resource(svc_call_t *c);
int kinesis_put_resource_policy(svc_call_t *c);
int kinesis_get_resource_policy(svc_call_t *c);
int kinesis_delete_resource_policy(svc_call_t *c);
int kinesis_start_stream_encryption(svc_call_t *c);
int kinesis_stop_stream_encryption(svc_call_t *c);
int kinesis_enable_enhanced_monitoring(svc_call_t *c);
int kinesis_disable_enhanced_monitoring(svc_call_t *c);
int kinesis_update_stream_mode(svc_call_t *c);
int kinesis_list_shards(svc_call_t *c);
int kinesis_split_shard(svc_call_t *c);
int kinesis_merge_shards(svc_call_t *c);
int kinesis_update_shard_count(svc_call_t *c);
int kinesis_put_record(svc_call_t *c);
int kinesis_put_records(svc_call_t *c);
int kinesis_get_shard_iterator(svc_call_t *c);
int kinesis_get_records(svc_call_t *c);
int kinesis_register_stream_consumer(svc_call_t *c);
int kinesis_describe_stream_consumer(svc_call_t *c);
int kinesis_list_stream_consumers(svc_call_t *c);
int kinesis_deregister_stream_consumer(svc_call_t *c);
const iam_policy_t *kinesis__resource_policy(void *state, const char *arn, const char **owner);

/* ---- validation with AWS's messages (ops.c) ----
 * Violations collect into one ValidationException, "N validation errors
 * detected: Value 'x' at 'streamName' failed to satisfy constraint:
 * Member must ...", as Kinesis's front end words them. */
typedef struct kinesis_check {
    svc_call_t *c;
    int n;
    buf_t msg;
} kinesis_check_t;
void kinesis__check_init(kinesis_check_t *k, svc_call_t *c);
void kinesis__check_add(kinesis_check_t *k, const char *member, const char *value, const char *what);
/* StreamName if present (required: "must not be null" when absent). */
void kinesis__check_stream_name(kinesis_check_t *k, const char *member, const char *v, bool required);
void kinesis__check_int(kinesis_check_t *k, const char *member, json_t *v, long long min, long long max);
void kinesis__check_len(kinesis_check_t *k, const char *member, const char *v, size_t min, size_t max);
bool kinesis__check_done(kinesis_check_t *k);

static inline bool kinesis_in_int(svc_call_t *c, const char *name, long long *out)
{
    json_t *v = svc_in(c, name);
    if (!json_is_integer(v))
        return false;
    *out = json_integer_value(v);
    return true;
}

#endif
