/*
 * Records: PutRecord, PutRecords, GetShardIterator, GetRecords, and the
 * cursors that GetRecords and the stream pollers (kinesis.h) read with.
 *
 * A put validates the whole request first (a bad record refuses the whole
 * call, as AWS does), then, record by record, hashes the partition key (or
 * takes ExplicitHashKey) to the open shard whose range holds it, applies
 * the per-shard write limits when `--kinesis-limits aws` asks for them
 * (PutRecords then fails just that record, with
 * ProvisionedThroughputExceededException, as AWS does), gives it the
 * shard's next index and writes all rows in the request's batch. The
 * server answers after the batch's fsync, so an acknowledged record
 * survives kill -9.
 *
 * Reads are range scans of the shard's row ids from the cursor, skipping
 * records already past retention (the sweep deletes them later).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/banned.h"

/* ==== resource internals ==== */

int64_t kinesis__cutoff(const kinesis_stream_t *s, int64_t now) { return now - (int64_t)s->retention_h * 3600000; }

static size_t b64_decoded_len(const char *s, size_t n)
{
    if (n < 4)
        return 0;
    return n / 4 * 3 - (s[n - 1] == '=') - (s[n - 2] == '=');
}

int kinesis__cursor_start(kinesis_t *k, kinesis_shard_t *sh, kinesis_start_t type, const char *seq, int64_t ts_ms,
                          kinesis_cursor_t *out, char *err, size_t errcap)
{
    *out = (kinesis_cursor_t){.stream_id = sh->s->id, .shard_gid = sh->gid};
    switch (type) {
    case KINESIS_AT_TRIM_HORIZON:
        out->next = sh->trim_index;
        return 0;
    case KINESIS_AT_LATEST:
        out->next = sh->next_index;
        return 0;
    case KINESIS_AT_SEQUENCE_NUMBER:
    case KINESIS_AFTER_SEQUENCE_NUMBER: {
        uint32_t gid;
        uint64_t index;
        int64_t ms;
        if (!kinesis__seq_parse(seq, &gid, &index, &ms)) {
            snprintf(err, errcap,
                     "StartingSequenceNumber %s used in GetShardIterator on shard %s "
                     "in stream %s under account %s is"
                     " invalid.",
                     seq ? seq : "null", sh->id, sh->s->name, sh->s->account);
            return KYOKA_EINVAL;
        }
        if (gid != sh->gid) {
            kinesis_shard_t *other = gid < k->ngid ? k->by_gid[gid] : NULL;
            snprintf(err, errcap,
                     "Invalid StartingSequenceNumber. It encodes %s, while it was "
                     "used in a call to a shard with %s",
                     other ? other->id : "another shard", sh->id);
            return KYOKA_EINVAL;
        }
        out->next = type == KINESIS_AT_SEQUENCE_NUMBER ? index : index + 1;
        if (out->next < 1)
            out->next = 1;
        return 0;
    }
    case KINESIS_AT_TIMESTAMP: {
        uint64_t base = (uint64_t)sh->gid << KINESIS_INDEX_BITS;
        sqlite3_stmt *q = store_stmt(k->store, "SELECT id FROM kinesis_records WHERE id>=? AND id<=? AND arrival_ms>=?"
                                               " ORDER BY id LIMIT 1");
        sqlite3_bind_int64(q, 1, (sqlite3_int64)(base | sh->trim_index));
        sqlite3_bind_int64(q, 2, (sqlite3_int64)(base | KINESIS_INDEX_MASK));
        sqlite3_bind_int64(q, 3, ts_ms);
        out->next = sh->next_index;
        if (sqlite3_step(q) == SQLITE_ROW)
            out->next = ((uint64_t)sqlite3_column_int64(q, 0)) & KINESIS_INDEX_MASK;
        sqlite3_reset(q);
        /* Records put later arrive later still, but a clock moved back by
         * a reset could break that: keep the bound in the cursor. */
        out->min_arrival_ms = ts_ms;
        return 0;
    }
    }
    return KYOKA_EINVAL;
}

int kinesis__cursor_read(kinesis_t *k, kinesis_shard_t *sh, kinesis_cursor_t *cur, size_t max_records, size_t max_bytes,
                         kinesis_record_fn fn, void *data, kinesis_read_result_t *res)
{
    *res = (kinesis_read_result_t){0};
    int64_t now = kyoka_clock_now_ms();
    int64_t cutoff = kinesis__cutoff(sh->s, now);
    if (cur->next < sh->trim_index)
        cur->next = sh->trim_index;
    uint64_t base = (uint64_t)sh->gid << KINESIS_INDEX_BITS;
    int64_t last_arrival = 0;
    if (max_records && cur->next < sh->next_index) {
        sqlite3_stmt *q = store_stmt(k->store, "SELECT id, arrival_ms, pkey, data FROM kinesis_records"
                                               " WHERE id>=? AND id<=? ORDER BY id LIMIT ?");
        sqlite3_bind_int64(q, 1, (sqlite3_int64)(base | cur->next));
        sqlite3_bind_int64(q, 2, (sqlite3_int64)(base | KINESIS_INDEX_MASK));
        sqlite3_bind_int64(q, 3, (sqlite3_int64)max_records);
        int rc;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            uint64_t index = ((uint64_t)sqlite3_column_int64(q, 0)) & KINESIS_INDEX_MASK;
            int64_t arrival = sqlite3_column_int64(q, 1);
            const char *pk = (const char *)sqlite3_column_text(q, 2);
            size_t pkn = (size_t)sqlite3_column_bytes(q, 2);
            const char *d = (const char *)sqlite3_column_text(q, 3);
            size_t dn = (size_t)sqlite3_column_bytes(q, 3);
            size_t dlen = b64_decoded_len(d, dn);
            if (arrival < cutoff || arrival < cur->min_arrival_ms) {
                cur->next = index + 1;
                continue;
            }
            if (res->records && res->bytes + dlen + pkn > max_bytes)
                break;
            char seq[57];
            kinesis__seq_format(sh->gid, index, arrival, seq);
            kinesis_record_view_t v = {seq, arrival, pk ? pk : "", pkn, d ? d : "", dn, dlen};
            fn(data, &v);
            res->records++;
            res->bytes += dlen + pkn;
            cur->next = index + 1;
            last_arrival = arrival;
        }
        sqlite3_reset(q);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            log_error("kinesis: cannot read records: %s", sqlite3_errmsg(store_db(k->store)));
            return KYOKA_ESTORE;
        }
    }
    bool caught_up = cur->next >= sh->next_index;
    res->millis_behind_latest = caught_up || !last_arrival ? 0 : now - last_arrival;
    if (res->millis_behind_latest < 0)
        res->millis_behind_latest = 0;
    res->shard_end = caught_up && sh->closed_ms != 0;
    return 0;
}

/* ==== the internal API (kinesis.h) ==== */

void kinesis_set_aws_limits(kinesis_t *k, bool on) { k->aws_limits = on; }

static kinesis_stream_t *live_stream(kinesis_t *k, const char *arn)
{
    kinesis_stream_t *s = kinesis__stream_by_arn(k, arn);
    if (!s)
        return NULL;
    kinesis_status_t st = kinesis__status(s);
    return st == KS_DELETING || st == KS_CREATING ? NULL : s;
}

int kinesis_shards_each(kinesis_t *k, const char *stream_arn, kinesis_shard_fn fn, void *data)
{
    kinesis_stream_t *s = live_stream(k, stream_arn);
    if (!s)
        return KYOKA_ENOTFOUND;
    int64_t now = kyoka_clock_now_ms();
    for (size_t i = 0; i < s->nshards; i++) {
        if (kinesis__shard_expired(s->shards[i], now))
            continue;
        char buf[6][64];
        kinesis_shard_info_t in;
        kinesis__shard_info(s->shards[i], &in, buf);
        fn(data, &in);
    }
    return 0;
}

int kinesis_cursor_open(kinesis_t *k, const char *stream_arn, const char *shard_id, kinesis_start_t type,
                        const char *seq, int64_t ts_ms, kinesis_cursor_t *out)
{
    kinesis_stream_t *s = live_stream(k, stream_arn);
    kinesis_shard_t *sh = s ? kinesis__shard_by_id(s, shard_id) : NULL;
    if (!sh)
        return KYOKA_ENOTFOUND;
    char err[256];
    return kinesis__cursor_start(k, sh, type, seq, ts_ms, out, err, sizeof err);
}

static kinesis_shard_t *cursor_shard(kinesis_t *k, const kinesis_cursor_t *cur)
{
    kinesis_shard_t *sh = cur->shard_gid < k->ngid ? k->by_gid[cur->shard_gid] : NULL;
    return sh && sh->s->id == cur->stream_id && sh->s->status != KS_DELETING ? sh : NULL;
}

int kinesis_cursor_read(kinesis_t *k, kinesis_cursor_t *cur, size_t max_records, size_t max_bytes, kinesis_record_fn fn,
                        void *data, kinesis_read_result_t *res)
{
    kinesis_shard_t *sh = cursor_shard(k, cur);
    if (!sh) {
        *res = (kinesis_read_result_t){0};
        return KYOKA_ENOTFOUND;
    }
    if (max_records > KINESIS_GET_MAX_RECORDS)
        max_records = KINESIS_GET_MAX_RECORDS;
    return kinesis__cursor_read(k, sh, cur, max_records, max_bytes ? max_bytes : KINESIS_GET_MAX_BYTES, fn, data, res);
}

bool kinesis_cursor_shard_id(kinesis_t *k, const kinesis_cursor_t *cur, char *out, size_t cap)
{
    kinesis_shard_t *sh = cursor_shard(k, cur);
    if (!sh)
        return false;
    snprintf(out, cap, "%s", sh->id);
    return true;
}

/* ==== puts ==== */

/* One record of a put, checked. */
typedef struct put_in {
    const char *pkey, *data, *ehk;
    size_t pkey_len, data_len, decoded;
} put_in_t;

/* Check one record's members in AWS's words; prefix is "" for PutRecord
 * and "records.N.member." for PutRecords. */
static void check_record(kinesis_check_t *ck, svc_call_t *c, json_t *rec, const char *prefix, put_in_t *out)
{
    json_t *d = json_object_get(rec, "Data"), *pk = json_object_get(rec, "PartitionKey");
    json_t *ehk = json_object_get(rec, "ExplicitHashKey");
    *out = (put_in_t){0};
    if (!json_is_string(d)) {
        kinesis__check_add(ck, arena_sprintf(c->arena, "%sdata", prefix), NULL, "Member must not be null");
    } else {
        out->data = json_string_value(d);
        out->data_len = json_string_length(d);
        if (!kinesis__b64_check(out->data, out->data_len, &out->decoded)) {
            /* Not a blob at all: the whole request is unreadable. */
            if (!c->error.code)
                svc_error(c, "SerializationException", 400, "Invalid base64 in member %sData.", prefix);
        } else if (out->decoded > KINESIS_MAX_DATA) {
            kinesis__check_add(
                ck, arena_sprintf(c->arena, "%sdata", prefix),
                arena_sprintf(c->arena, "java.nio.HeapByteBuffer[pos=0 lim=%zu cap=%zu]", out->decoded, out->decoded),
                "Member must have length less than or equal to 1048576");
        }
    }
    if (!json_is_string(pk)) {
        kinesis__check_add(ck, arena_sprintf(c->arena, "%spartitionKey", prefix), NULL, "Member must not be null");
    } else {
        out->pkey = json_string_value(pk);
        out->pkey_len = json_string_length(pk);
        size_t chars = kinesis__utf8_chars(out->pkey, out->pkey_len);
        if (chars < 1)
            kinesis__check_add(ck, arena_sprintf(c->arena, "%spartitionKey", prefix), out->pkey,
                               "Member must have length greater than or equal to 1");
        else if (chars > KINESIS_MAX_PARTITION_KEY)
            kinesis__check_add(ck, arena_sprintf(c->arena, "%spartitionKey", prefix), out->pkey,
                               "Member must have length less than or equal to 256");
    }
    if (json_is_string(ehk)) {
        out->ehk = json_string_value(ehk);
        bool ok = out->ehk[0] && (out->ehk[0] != '0' || !out->ehk[1]);
        for (const char *p = out->ehk; *p && ok; p++)
            ok = *p >= '0' && *p <= '9';
        if (!ok || strlen(out->ehk) > 39)
            kinesis__check_add(ck, arena_sprintf(c->arena, "%sexplicitHashKey", prefix), out->ehk,
                               "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
    }
}

static bool hash_of(svc_call_t *c, const put_in_t *in, kinesis_u128 *h)
{
    if (in->ehk) {
        if (!kinesis__u128_parse(in->ehk, h)) {
            svc_error(c, "InvalidArgumentException", 400,
                      "Invalid ExplicitHashKey. ExplicitHashKey must be in the "
                      "range: [0, 2^128-1]. Specified value"
                      " was %s",
                      in->ehk);
            return false;
        }
        return true;
    }
    *h = kinesis__md5_key(c->state, in->pkey, in->pkey_len);
    return true;
}

/* AWS's per-shard write limits: false when this record would pass them
 * within the last second. */
static bool rate_take(kinesis_t *k, kinesis_shard_t *sh, size_t bytes, int64_t now)
{
    if (!k->aws_limits)
        return true;
    int64_t tick = now / (1000 / KINESIS_RATE_SLOTS);
    uint64_t records = 0, used = 0;
    for (int i = 0; i < KINESIS_RATE_SLOTS; i++) {
        if (tick - sh->rate_tick[i] >= KINESIS_RATE_SLOTS || sh->rate_tick[i] > tick) {
            sh->rate_records[i] = 0;
            sh->rate_bytes[i] = 0;
        }
        records += sh->rate_records[i];
        used += sh->rate_bytes[i];
    }
    if (records + 1 > KINESIS_SHARD_RECORDS_PER_S || used + bytes > KINESIS_SHARD_BYTES_PER_S)
        return false;
    int slot = (int)(tick % KINESIS_RATE_SLOTS);
    if (sh->rate_tick[slot] != tick) {
        sh->rate_tick[slot] = tick;
        sh->rate_records[slot] = 0;
        sh->rate_bytes[slot] = 0;
    }
    sh->rate_records[slot]++;
    sh->rate_bytes[slot] += (uint32_t)bytes;
    return true;
}

static kinesis_stream_t *writable_stream_or_fail(svc_call_t *c)
{
    kinesis_stream_t *s = kinesis__stream_get_or_fail(c);
    if (!s)
        return NULL;
    kinesis_status_t st = kinesis__status(s);
    if (st == KS_CREATING || st == KS_DELETING) {
        kinesis__err_not_found(c, s->name, s->account);
        return NULL;
    }
    return s;
}

static void rate_error_text(char *out, size_t cap, const kinesis_shard_t *sh)
{
    snprintf(out, cap, "Rate exceeded for shard %s in stream %s under account %s.", sh->id, sh->s->name,
             sh->s->account);
}

int kinesis_put_record(svc_call_t *c)
{
    kinesis_t *k = c->state;
    kinesis_check_t ck;
    put_in_t in;
    kinesis__check_init(&ck, c);
    kinesis__check_stream_name(&ck, "streamName", svc_in_str(c, "StreamName"), false);
    check_record(&ck, c, c->input, "", &in);
    const char *sfo = svc_in_str(c, "SequenceNumberForOrdering");
    if (sfo) {
        bool ok = sfo[0] && (sfo[0] != '0' || !sfo[1]) && strlen(sfo) <= 129;
        for (const char *p = sfo; *p && ok; p++)
            ok = *p >= '0' && *p <= '9';
        if (!ok)
            kinesis__check_add(&ck, "sequenceNumberForOrdering", sfo,
                               "Member must satisfy regular expression pattern: "
                               "0|([1-9]\\d{0,128})");
    }
    if (!kinesis__check_done(&ck) || svc_failed(c))
        return 0;
    kinesis_stream_t *s = writable_stream_or_fail(c);
    kinesis_u128 h;
    if (!s || !hash_of(c, &in, &h))
        return 0;
    kinesis_shard_t *sh = kinesis__shard_for_hash(s, h);
    if (!sh) {
        svc_error(c, "InternalFailure", 500, "Internal service failure.");
        return 0;
    }
    int64_t now = kyoka_clock_now_ms();
    /* SequenceNumberForOrdering asks that this record's sequence number be
     * greater than that one's: every record of a shard gets a greater one
     * than all before it, so it holds without more. */
    if (!rate_take(k, sh, in.decoded + in.pkey_len, now)) {
        char msg[512];
        rate_error_text(msg, sizeof msg, sh);
        svc_error(c, "ProvisionedThroughputExceededException", 400, "%s", msg);
        return 0;
    }
    kinesis_in_record_t r = {sh, sh->next_index++, in.pkey, in.pkey_len, in.data, in.data_len};
    kinesis__persist_records(k, &r, 1, now);
    sh->last_arrival_ms = now;
    kinesis__notify_records(sh);
    char seq[57];
    kinesis__seq_format(sh->gid, r.index, now, seq);
    json_t *out = svc_output(c);
    json_object_set_new(out, "ShardId", json_string(sh->id));
    json_object_set_new(out, "SequenceNumber", json_string(seq));
    if (strcmp(s->encryption, "KMS") == 0)
        json_object_set_new(out, "EncryptionType", json_string("KMS"));
    return 0;
}

int kinesis_put_records(svc_call_t *c)
{
    kinesis_t *k = c->state;
    json_t *recs = svc_in(c, "Records");
    size_t n = json_array_size(recs);
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_stream_name(&ck, "streamName", svc_in_str(c, "StreamName"), false);
    if (n < 1)
        kinesis__check_add(&ck, "records", "[]", "Member must have length greater than or equal to 1");
    if (n > KINESIS_MAX_PUT_RECORDS) {
        kinesis__check_add(&ck, "records", arena_sprintf(c->arena, "[%zu records]", n),
                           "Member must have length less than or equal to 500");
        kinesis__check_done(&ck);
        return 0;
    }
    put_in_t in[KINESIS_MAX_PUT_RECORDS];
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "records.%zu.member.", i + 1);
        check_record(&ck, c, json_array_get(recs, i), prefix, &in[i]);
        total += in[i].decoded + in[i].pkey_len;
    }
    if (!kinesis__check_done(&ck) || svc_failed(c))
        return 0;
    /* PutRecords
     * (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html):
     * "up to 5 MiB for the entire request, including partition keys". */
    if (total > KINESIS_MAX_PUT_BYTES) {
        svc_error(c, "InvalidArgumentException", 400, "Records size exceeds 5 MB limit");
        return 0;
    }
    kinesis_stream_t *s = writable_stream_or_fail(c);
    if (!s)
        return 0;
    kinesis_u128 hs[KINESIS_MAX_PUT_RECORDS];
    for (size_t i = 0; i < n; i++)
        if (!hash_of(c, &in[i], &hs[i]))
            return 0;
    int64_t now = kyoka_clock_now_ms();
    kinesis_in_record_t rows[KINESIS_MAX_PUT_RECORDS];
    size_t nrows = 0, failed = 0;
    json_t *results = json_array();
    /* The last shard found serves the next record when its range holds it:
     * with few shards most records land where the one before did. */
    kinesis_shard_t *last = NULL;
    for (size_t i = 0; i < n; i++) {
        kinesis_shard_t *sh =
            last && hs[i] >= last->hash_start && hs[i] <= last->hash_end ? last : kinesis__shard_for_hash(s, hs[i]);
        if (!sh || !rate_take(k, sh, in[i].decoded + in[i].pkey_len, now)) {
            char msg[512];
            if (sh)
                rate_error_text(msg, sizeof msg, sh);
            failed++;
            json_array_append_new(results, json_pack("{s:s,s:s}", "ErrorCode",
                                                     sh ? "ProvisionedThroughputExceededException" : "InternalFailure",
                                                     "ErrorMessage", sh ? msg : "Internal service failure."));
            continue;
        }
        last = sh;
        rows[nrows] =
            (kinesis_in_record_t){sh, sh->next_index++, in[i].pkey, in[i].pkey_len, in[i].data, in[i].data_len};
        sh->last_arrival_ms = now;
        char seq[57];
        kinesis__seq_format(sh->gid, rows[nrows].index, now, seq);
        json_t *r = json_object();
        json_object_set_new(r, "SequenceNumber", json_stringn_nocheck(seq, 56));
        json_object_set_new(r, "ShardId", json_stringn_nocheck(sh->id, strlen(sh->id)));
        json_array_append_new(results, r);
        nrows++;
    }
    if (nrows)
        kinesis__persist_records(k, rows, nrows, now);
    for (size_t i = 0; i < nrows; i++)
        if (i == 0 || rows[i].sh != rows[i - 1].sh)
            kinesis__notify_records(rows[i].sh);
    json_t *out = svc_output(c);
    json_object_set_new(out, "FailedRecordCount", json_integer((json_int_t)failed));
    json_object_set_new(out, "Records", results);
    if (strcmp(s->encryption, "KMS") == 0)
        json_object_set_new(out, "EncryptionType", json_string("KMS"));
    return 0;
}

/* ==== reads ==== */

static const char *const iterator_types[] = {"TRIM_HORIZON",          "LATEST",       "AT_SEQUENCE_NUMBER",
                                             "AFTER_SEQUENCE_NUMBER", "AT_TIMESTAMP", NULL};

int kinesis_get_shard_iterator(svc_call_t *c)
{
    kinesis_t *k = c->state;
    const char *type = svc_in_str(c, "ShardIteratorType");
    const char *shard_id = svc_in_str(c, "ShardId");
    const char *seq = svc_in_str(c, "StartingSequenceNumber");
    json_t *ts = svc_in(c, "Timestamp");
    int t = -1;
    for (int i = 0; type && iterator_types[i]; i++)
        if (strcmp(type, iterator_types[i]) == 0)
            t = i;
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_stream_name(&ck, "streamName", svc_in_str(c, "StreamName"), false);
    kinesis__check_len(&ck, "shardId", shard_id, 1, 128);
    if (t < 0)
        kinesis__check_add(&ck, "shardIteratorType", type,
                           "Member must satisfy enum value set: "
                           "[AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, "
                           "AT_SEQUENCE_NUMBER, TRIM_HORIZON]");
    if (!kinesis__check_done(&ck))
        return 0;
    kinesis_start_t st = (kinesis_start_t)t;
    if ((st == KINESIS_AT_SEQUENCE_NUMBER || st == KINESIS_AFTER_SEQUENCE_NUMBER) && !seq) {
        svc_error(c, "InvalidArgumentException", 400,
                  "You must specify a starting sequence number if you set"
                  " ShardIteratorType to AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER.");
        return 0;
    }
    if (st != KINESIS_AT_SEQUENCE_NUMBER && st != KINESIS_AFTER_SEQUENCE_NUMBER && seq) {
        svc_error(c, "InvalidArgumentException", 400,
                  "You cannot specify a starting sequence number if you set"
                  " ShardIteratorType to %s.",
                  type);
        return 0;
    }
    if (st == KINESIS_AT_TIMESTAMP && !json_is_number(ts)) {
        svc_error(c, "InvalidArgumentException", 400,
                  "You must specify a timestamp if you set ShardIteratorType to"
                  " AT_TIMESTAMP.");
        return 0;
    }
    if (st != KINESIS_AT_TIMESTAMP && ts) {
        svc_error(c, "InvalidArgumentException", 400,
                  "You cannot specify a timestamp if you set ShardIteratorType to"
                  " %s.",
                  type);
        return 0;
    }
    kinesis_stream_t *s = writable_stream_or_fail(c);
    if (!s)
        return 0;
    kinesis_shard_t *sh = kinesis__shard_by_id(s, shard_id);
    if (!sh || kinesis__shard_expired(sh, kyoka_clock_now_ms())) {
        svc_error(c, "ResourceNotFoundException", 400, "Shard %s in stream %s under account %s does not exist",
                  shard_id, s->name, s->account);
        return 0;
    }
    int64_t ts_ms = ts ? (int64_t)(json_number_value(ts) * 1000.0 + 0.5) : 0;
    kinesis_cursor_t cur;
    char err[512];
    if (kinesis__cursor_start(k, sh, st, seq, ts_ms, &cur, err, sizeof err) != 0) {
        svc_error(c, "InvalidArgumentException", 400, "%s", err);
        return 0;
    }
    json_object_set_new(svc_output(c), "ShardIterator",
                        json_string(kinesis__iterator_encode(c->arena, &cur, kyoka_clock_now_ms())));
    return 0;
}

typedef struct get_ctx {
    json_t *arr;
    bool kms;
} get_ctx_t;

static void on_get_record(void *data, const kinesis_record_view_t *r)
{
    get_ctx_t *g = data;
    json_t *o = json_object();
    json_object_set_new(o, "SequenceNumber", json_stringn_nocheck(r->sequence_number, 56));
    json_object_set_new(o, "ApproximateArrivalTimestamp", json_real((double)r->arrival_ms / 1000.0));
    json_object_set_new(o, "Data", json_stringn_nocheck(r->data_b64, r->data_b64_len));
    json_object_set_new(o, "PartitionKey", json_stringn(r->partition_key, r->partition_key_len));
    if (g->kms)
        json_object_set_new(o, "EncryptionType", json_string("KMS"));
    json_array_append_new(g->arr, o);
}

/* Java's Date.toString in UTC, as the ExpiredIteratorException message
 * shows times: "Thu Jul 02 12:57:57 UTC 2015". */
static void java_date(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a %b %d %H:%M:%S UTC %Y", &tm);
}

static json_t *child_shards(const kinesis_shard_t *sh)
{
    json_t *arr = json_array();
    kinesis_stream_t *s = sh->s;
    for (size_t i = 0; i < s->nshards; i++) {
        kinesis_shard_t *ch = s->shards[i];
        if (ch->parent != sh->idx && ch->adjacent != sh->idx)
            continue;
        char lo[48], hi[48];
        kinesis__u128_format(ch->hash_start, lo);
        kinesis__u128_format(ch->hash_end, hi);
        json_t *parents = json_array();
        char id[32];
        if (ch->parent >= 0) {
            snprintf(id, sizeof id, "shardId-%012lld", (long long)ch->parent);
            json_array_append_new(parents, json_string(id));
        }
        if (ch->adjacent >= 0) {
            snprintf(id, sizeof id, "shardId-%012lld", (long long)ch->adjacent);
            json_array_append_new(parents, json_string(id));
        }
        json_array_append_new(arr, json_pack("{s:s,s:o,s:{s:s,s:s}}", "ShardId", ch->id, "ParentShards", parents,
                                             "HashKeyRange", "StartingHashKey", lo, "EndingHashKey", hi));
    }
    return arr;
}

int kinesis_get_records(svc_call_t *c)
{
    kinesis_t *k = c->state;
    const char *it = svc_in_str(c, "ShardIterator");
    kinesis_check_t ck;
    kinesis__check_init(&ck, c);
    kinesis__check_int(&ck, "limit", svc_in(c, "Limit"), 1, KINESIS_GET_MAX_RECORDS);
    kinesis__check_len(&ck, "shardIterator", it, 1, 512);
    if (!kinesis__check_done(&ck))
        return 0;
    kinesis_cursor_t cur;
    int64_t issued;
    if (!kinesis__iterator_decode(it, &cur, &issued)) {
        svc_error(c, "InvalidArgumentException", 400, "Invalid ShardIterator.");
        return 0;
    }
    int64_t now = kyoka_clock_now_ms();
    kinesis_shard_t *sh = cur.shard_gid < k->ngid ? k->by_gid[cur.shard_gid] : NULL;
    if (!sh || sh->s->id != cur.stream_id || kinesis__status(sh->s) == KS_DELETING) {
        kinesis_stream_t *s = kinesis__stream_by_id(k, cur.stream_id);
        if (s)
            svc_error(c, "ResourceNotFoundException", 400, "Shard in stream %s under account %s does not exist",
                      s->name, s->account);
        else
            svc_error(c, "ResourceNotFoundException", 400, "Stream under account %s not found.",
                      kinesis__call_account(c));
        return 0;
    }
    /* GetShardIterator: "A shard iterator expires 5 minutes after it is
     * returned to the requester." */
    if (now - issued > KINESIS_ITERATOR_TTL_MS) {
        char a[64], b[64];
        java_date(issued, a, sizeof a);
        java_date(now, b, sizeof b);
        svc_error(c, "ExpiredIteratorException", 400,
                  "Iterator expired. The iterator was created at time %s while "
                  "right now it is %s which is further in"
                  " the future than the tolerated delay of %d milliseconds.",
                  a, b, KINESIS_ITERATOR_TTL_MS);
        return 0;
    }
    long long limit = KINESIS_GET_MAX_RECORDS;
    kinesis_in_int(c, "Limit", &limit);
    get_ctx_t g = {json_array(), strcmp(sh->s->encryption, "KMS") == 0};
    kinesis_read_result_t res;
    if (kinesis__cursor_read(k, sh, &cur, (size_t)limit, KINESIS_GET_MAX_BYTES, on_get_record, &g, &res) != 0) {
        json_decref(g.arr);
        svc_error(c, "InternalFailure", 500, "Internal service failure.");
        return 0;
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "Records", g.arr);
    json_object_set_new(out, "MillisBehindLatest", json_integer(res.millis_behind_latest));
    if (res.shard_end) {
        /* At the end of a closed shard: no next iterator; the children to
         * go on with. */
        json_object_set_new(out, "ChildShards", child_shards(sh));
    } else {
        json_object_set_new(out, "NextShardIterator", json_string(kinesis__iterator_encode(c->arena, &cur, now)));
    }
    return 0;
}
