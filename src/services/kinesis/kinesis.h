/*
 * Kinesis Data Streams: what other components of kyoka use without HTTP.
 *
 * The stream pollers of Lambda event source mappings (src/pipes) read
 * shards through this header rather than through GetShardIterator and
 * GetRecords: no iterator strings, no 5-minute expiry, no JSON. A poller
 *
 *   1. lists a stream's shards with their parents (kinesis_shards_each),
 *      so it can drain a parent before reading its children;
 *   2. opens a cursor on a shard at TRIM_HORIZON, LATEST, AT/AFTER a
 *      sequence number or AT_TIMESTAMP (kinesis_cursor_open). A cursor is
 *      plain data (no pointers): keep it in the mapping, copy it, rebuild
 *      it from a checkpointed sequence number with AFTER_SEQUENCE_NUMBER;
 *   3. reads batches from the cursor (kinesis_cursor_read), which advances
 *      it past what it returned;
 *   4. waits for records with kinesis_listen instead of polling: the
 *      callback runs when records put to the stream are durable (never for
 *      records a client has not been told about), when shards change
 *      (split, merge, UpdateShardCount) and when the stream is deleted.
 *
 * Records read here are exactly what GetRecords returns: durable, within
 * the stream's retention on the server clock, in sequence number order per
 * shard.
 *
 * Authorization is not done here: a poller asks ctx->decide whether the
 * mapping's execution role may kinesis:GetRecords (etc.) on the stream ARN
 * before it reads, as AWS checks the role.
 *
 * The state is the service's: ctx->service_state(ctx, "kinesis").
 * Thread: loop thread. Nothing here blocks except SQLite reads of records
 * (the page cache; bounded by max_records/max_bytes).
 */
#ifndef KYOKA_KINESIS_H
#define KYOKA_KINESIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kinesis_state kinesis_t;

/* ---- shards ---- */

/* One shard as ListShards shows it. Strings are borrowed: valid until the
 * callback returns. */
typedef struct kinesis_shard_info {
    const char *shard_id;                 /* "shardId-000000000003" */
    const char *parent_shard_id;          /* NULL: none */
    const char *adjacent_parent_shard_id; /* NULL: none (a merge's second parent) */
    const char *starting_hash_key;        /* decimal, 0 .. 2^128-1 */
    const char *ending_hash_key;
    const char *starting_sequence_number;
    const char *ending_sequence_number; /* NULL while the shard is open */
    bool open;
} kinesis_shard_info_t;

typedef void (*kinesis_shard_fn)(void *data, const kinesis_shard_info_t *shard);

/* Call fn for each shard of the stream named by stream_arn, in AWS's order
 * (creation order: parents before children). Returns 0, or KYOKA_ENOTFOUND
 * when there is no such stream (or it is being deleted). */
int kinesis_shards_each(kinesis_t *k, const char *stream_arn, kinesis_shard_fn fn, void *data);

/* ---- cursors ---- */

typedef enum {
    KINESIS_AT_TRIM_HORIZON,
    KINESIS_AT_LATEST,
    KINESIS_AT_SEQUENCE_NUMBER,
    KINESIS_AFTER_SEQUENCE_NUMBER,
    KINESIS_AT_TIMESTAMP
} kinesis_start_t;

/* A position in one shard: the next record to read is the first with
 * index >= next and arrival >= min_arrival_ms. */
typedef struct kinesis_cursor {
    uint64_t stream_id;     /* the stream's identity (a re-created stream of the same
                               name differs) */
    uint32_t shard_gid;     /* the shard */
    uint64_t next;          /* record index within the shard */
    int64_t min_arrival_ms; /* AT_TIMESTAMP's bound; 0 otherwise */
} kinesis_cursor_t;

/* Open a cursor on shard_id of stream_arn. seq is the sequence number for
 * AT_/AFTER_SEQUENCE_NUMBER (else ignored), ts_ms the timestamp for
 * AT_TIMESTAMP (else ignored). Returns 0, KYOKA_ENOTFOUND (no stream or
 * shard), or KYOKA_EINVAL (a sequence number that is not one of this
 * shard's). */
int kinesis_cursor_open(kinesis_t *k, const char *stream_arn, const char *shard_id, kinesis_start_t type,
                        const char *seq, int64_t ts_ms, kinesis_cursor_t *out);

/* One record. Views are borrowed: valid until the callback returns. data
 * is base64, as in GetRecords and in Lambda's Kinesis event. */
typedef struct kinesis_record_view {
    const char *sequence_number; /* 56 digits, NUL-terminated */
    int64_t arrival_ms;          /* ApproximateArrivalTimestamp, server clock */
    const char *partition_key;
    size_t partition_key_len;
    const char *data_b64;
    size_t data_b64_len;
    size_t data_len; /* decoded bytes */
} kinesis_record_view_t;

typedef void (*kinesis_record_fn)(void *data, const kinesis_record_view_t *rec);

typedef struct kinesis_read_result {
    size_t records;               /* how many fn saw */
    size_t bytes;                 /* their decoded data plus partition keys */
    int64_t millis_behind_latest; /* as GetRecords: 0 when caught up */
    bool shard_end;               /* the shard is closed and everything in it was read:
                                     go on to its children */
} kinesis_read_result_t;

/* Read up to max_records (1..10,000) and about max_bytes (at least one
 * record) from cur, calling fn for each in order; cur moves past them.
 * Returns 0, KYOKA_ENOTFOUND (the stream or shard is gone) or
 * KYOKA_ESTORE. Records that expired under the cursor are skipped. */
int kinesis_cursor_read(kinesis_t *k, kinesis_cursor_t *cur, size_t max_records, size_t max_bytes, kinesis_record_fn fn,
                        void *data, kinesis_read_result_t *res);

/* The shard id ("shardId-...") of a cursor's shard into out (at least 32
 * bytes); false when the shard is gone. */
bool kinesis_cursor_shard_id(kinesis_t *k, const kinesis_cursor_t *cur, char *out, size_t cap);

/* ---- notifications ---- */

typedef enum {
    KINESIS_EV_RECORDS, /* durable records arrived on shard_id */
    KINESIS_EV_SHARDS,  /* shards were split, merged or resized (shard_id NULL) */
    KINESIS_EV_DELETED  /* the stream is gone (shard_id NULL); the listener stays
                           registered until kinesis_unlisten */
} kinesis_event_t;

typedef struct kinesis_listener kinesis_listener_t;
typedef void (*kinesis_listen_fn)(void *data, kinesis_event_t ev, const char *stream_arn, const char *shard_id);

/* Be told about stream_arn (which need not exist yet: a listener is keyed
 * by ARN). fn runs on the loop, never inside the call that caused it (it
 * follows the durability of the put). It may call kinesis_unlisten on its
 * own listener. Returns the listener; free it with kinesis_unlisten. */
kinesis_listener_t *kinesis_listen(kinesis_t *k, const char *stream_arn, kinesis_listen_fn fn, void *data);
void kinesis_unlisten(kinesis_listener_t *l); /* NULL ok */

/* ---- configuration (the server, from `kyoka serve --kinesis-limits`) ---- */

/* Enforce AWS's per-shard write limits (1 MiB/s and 1,000 records/s a
 * shard) with ProvisionedThroughputExceededException. Off by default. */
void kinesis_set_aws_limits(kinesis_t *k, bool on);

#endif
