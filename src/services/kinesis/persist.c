/*
 * Kinesis in the store: the schema, the writes each change makes in the
 * request's batch (so a 200 follows the batch's fsync: the server holds
 * every response until store_when_durable), and loading at start-up.
 *
 * Records are rows of kinesis_records keyed by (gid << 40) | index (see
 * internal.h), inserted KINESIS_INSERT_ROWS to a statement. A shard's next
 * index is not stored: at load it is one past the largest row id in the
 * shard's range, so an append writes nothing but its rows.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static const char *const migrations[] = {
    /* 1 */
    "CREATE TABLE kinesis_streams ("
    "  id INTEGER PRIMARY KEY,"
    "  region TEXT NOT NULL,"
    "  account TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  status TEXT NOT NULL,"
    "  settle_ms INTEGER NOT NULL,"
    "  on_demand INTEGER NOT NULL,"
    "  retention_h INTEGER NOT NULL,"
    "  encryption TEXT NOT NULL DEFAULT 'NONE',"
    "  key_id TEXT,"
    "  tags TEXT NOT NULL DEFAULT '{}',"
    "  policy TEXT,"
    "  consumers TEXT NOT NULL DEFAULT '[]');"
    "CREATE TABLE kinesis_shards ("
    "  gid INTEGER PRIMARY KEY,"
    "  stream_id INTEGER NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  hash_start TEXT NOT NULL,"
    "  hash_end TEXT NOT NULL,"
    "  parent INTEGER NOT NULL,"
    "  adjacent INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  closed_ms INTEGER NOT NULL DEFAULT 0,"
    "  end_index INTEGER NOT NULL DEFAULT 0);"
    /* id = gid << 40 | index: see internal.h. */
    "CREATE TABLE kinesis_records ("
    "  id INTEGER PRIMARY KEY,"
    "  arrival_ms INTEGER NOT NULL,"
    "  pkey TEXT NOT NULL,"
    "  data TEXT NOT NULL);",
};

int kinesis__store_migrate(kinesis_t *k, char *err, size_t errcap)
{
    return store_migrate(k->store, "kinesis", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
}

/* ==== writing ==== */

static void step(kinesis_t *k, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        log_error("kinesis: store write failed: %s: %s", sqlite3_errmsg(store_db(k->store)), sqlite3_sql(s));
    sqlite3_reset(s);
}

static void bind_text(sqlite3_stmt *s, int i, const char *p)
{
    if (p)
        sqlite3_bind_text(s, i, p, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static const char *status_text(kinesis_status_t st) { return kinesis__status_name(st); }

void kinesis__persist_consumers(kinesis_stream_t *s) { kinesis__persist_stream(s); }

void kinesis__persist_stream(kinesis_stream_t *s)
{
    kinesis_t *k = s->st;
    store_write_begin(k->store);
    char *tags = proto_json_dumps(s->tags, JSON_COMPACT | JSON_SORT_KEYS);
    json_t *cons = json_array();
    for (size_t i = 0; i < s->nconsumers; i++)
        json_array_append_new(cons, json_pack("{s:s,s:s,s:I,s:I}", "name", s->consumers[i]->name, "arn",
                                              s->consumers[i]->arn, "created", (json_int_t)s->consumers[i]->created_ms,
                                              "ready", (json_int_t)s->consumers[i]->ready_ms));
    char *ctext = proto_json_dumps(cons, JSON_COMPACT);
    json_decref(cons);
    sqlite3_stmt *q = store_stmt(k->store, "INSERT OR REPLACE INTO kinesis_streams(id, region, account, name,"
                                           " created_ms, status, settle_ms, on_demand, retention_h, encryption, "
                                           "key_id,"
                                           " tags, policy, consumers) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)s->id);
    bind_text(q, 2, s->region);
    bind_text(q, 3, s->account);
    bind_text(q, 4, s->name);
    sqlite3_bind_int64(q, 5, s->created_ms);
    bind_text(q, 6, status_text(s->status));
    sqlite3_bind_int64(q, 7, s->settle_ms);
    sqlite3_bind_int(q, 8, s->on_demand);
    sqlite3_bind_int(q, 9, s->retention_h);
    bind_text(q, 10, s->encryption);
    bind_text(q, 11, s->key_id);
    bind_text(q, 12, tags ? tags : "{}");
    bind_text(q, 13, s->policy);
    bind_text(q, 14, ctext ? ctext : "[]");
    step(k, q);
    free(tags);
    free(ctext);
}

void kinesis__persist_stream_delete(kinesis_stream_t *s)
{
    kinesis_t *k = s->st;
    store_write_begin(k->store);
    for (size_t i = 0; i < s->nshards; i++)
        kinesis__persist_trim(k, s->shards[i], UINT64_MAX);
    sqlite3_stmt *q = store_stmt(k->store, "DELETE FROM kinesis_shards WHERE stream_id=?");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)s->id);
    step(k, q);
    q = store_stmt(k->store, "DELETE FROM kinesis_streams WHERE id=?");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)s->id);
    step(k, q);
}

void kinesis__persist_shard(kinesis_shard_t *sh)
{
    kinesis_t *k = sh->s->st;
    store_write_begin(k->store);
    char lo[48], hi[48];
    kinesis__u128_format(sh->hash_start, lo);
    kinesis__u128_format(sh->hash_end, hi);
    sqlite3_stmt *q = store_stmt(k->store, "INSERT OR REPLACE INTO kinesis_shards(gid, stream_id, idx, hash_start,"
                                           " hash_end, parent, adjacent, created_ms, closed_ms, end_index)"
                                           " VALUES(?,?,?,?,?,?,?,?,?,?)");
    sqlite3_bind_int64(q, 1, sh->gid);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)sh->s->id);
    sqlite3_bind_int64(q, 3, sh->idx);
    bind_text(q, 4, lo);
    bind_text(q, 5, hi);
    sqlite3_bind_int64(q, 6, sh->parent);
    sqlite3_bind_int64(q, 7, sh->adjacent);
    sqlite3_bind_int64(q, 8, sh->created_ms);
    sqlite3_bind_int64(q, 9, sh->closed_ms);
    /* A closed shard's last index, so a restart knows its ending sequence
     * number even when its records have expired. */
    sqlite3_bind_int64(q, 10, (sqlite3_int64)(sh->next_index ? sh->next_index - 1 : 0));
    step(k, q);
}

/* "INSERT ... VALUES (4 params)" for 1..KINESIS_INSERT_ROWS rows, built
 * once: the store caches statements by SQL pointer. */
static const char *insert_sql(size_t rows)
{
    static char *sql[KINESIS_INSERT_ROWS + 1];
    if (!sql[rows]) {
        buf_t b;
        buf_init(&b, 65536);
        (void)buf_appends(&b, "INSERT INTO kinesis_records(id, arrival_ms, pkey, data) VALUES");
        for (size_t r = 0; r < rows; r++)
            (void)buf_appends(&b, r ? ",(?,?,?,?)" : "(?,?,?,?)");
        sql[rows] = buf_detach(&b, NULL);
    }
    return sql[rows];
}

void kinesis__persist_records(kinesis_t *k, const kinesis_in_record_t *r, size_t n, int64_t now)
{
    store_write_begin(k->store);
    for (size_t off = 0; off < n; off += KINESIS_INSERT_ROWS) {
        size_t rows = n - off < KINESIS_INSERT_ROWS ? n - off : KINESIS_INSERT_ROWS;
        sqlite3_stmt *q = store_stmt(k->store, insert_sql(rows));
        for (size_t i = 0; i < rows; i++) {
            const kinesis_in_record_t *e = &r[off + i];
            int b = (int)i * 4;
            sqlite3_bind_int64(q, b + 1, (sqlite3_int64)((uint64_t)e->sh->gid << KINESIS_INDEX_BITS | e->index));
            sqlite3_bind_int64(q, b + 2, now);
            sqlite3_bind_text(q, b + 3, e->pkey, (int)e->pkey_len, SQLITE_STATIC);
            sqlite3_bind_text(q, b + 4, e->data, (int)e->data_len, SQLITE_STATIC);
        }
        step(k, q);
    }
}

void kinesis__persist_trim(kinesis_t *k, const kinesis_shard_t *sh, uint64_t below)
{
    store_write_begin(k->store);
    uint64_t base = (uint64_t)sh->gid << KINESIS_INDEX_BITS;
    uint64_t hi = below > KINESIS_INDEX_MASK ? base | KINESIS_INDEX_MASK : (base | below) - 1;
    if (below == 0)
        return;
    sqlite3_stmt *q = store_stmt(k->store, "DELETE FROM kinesis_records WHERE id>=? AND id<=?");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)base);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)hi);
    step(k, q);
}

/* ==== loading ==== */

static const char *col_text(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

static kinesis_status_t status_parse(const char *t)
{
    if (strcmp(t, "CREATING") == 0)
        return KS_CREATING;
    if (strcmp(t, "UPDATING") == 0)
        return KS_UPDATING;
    if (strcmp(t, "DELETING") == 0)
        return KS_DELETING;
    return KS_ACTIVE;
}

int kinesis__store_load(kinesis_t *k, char *err, size_t errcap)
{
    sqlite3_stmt *q = store_stmt(k->store, "SELECT id, region, account, name, created_ms, status, settle_ms,"
                                           " on_demand, retention_h, encryption, key_id, tags, policy, consumers"
                                           " FROM kinesis_streams ORDER BY id");
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        uint64_t id = (uint64_t)sqlite3_column_int64(q, 0);
        kinesis_stream_t *s =
            kinesis__stream_new(k, id, col_text(q, 1), col_text(q, 2), col_text(q, 3), sqlite3_column_int64(q, 4));
        s->status = status_parse(col_text(q, 5));
        s->settle_ms = sqlite3_column_int64(q, 6);
        s->on_demand = sqlite3_column_int(q, 7) != 0;
        s->retention_h = sqlite3_column_int(q, 8);
        free(s->encryption);
        s->encryption = xstrdup(col_text(q, 9)[0] ? col_text(q, 9) : "NONE");
        if (sqlite3_column_type(q, 10) != SQLITE_NULL)
            s->key_id = xstrdup(col_text(q, 10));
        json_t *tags = json_loads(col_text(q, 11), 0, NULL);
        if (json_is_object(tags)) {
            json_decref(s->tags);
            s->tags = tags;
        } else {
            json_decref(tags);
        }
        if (sqlite3_column_type(q, 12) != SQLITE_NULL) {
            const char *text = col_text(q, 12);
            char perr[256];
            bool over = false;
            s->policy_c = iam_policy_parse(text, strlen(text), IAM_POLICY_RESOURCE, KYOKA_RESOURCE_POLICY_MAX_BYTES,
                                           perr, sizeof perr, &over);
            if (s->policy_c)
                s->policy = xstrdup(text);
            else
                log_warn("kinesis: stored policy of stream %s ignored: %s", s->name, perr);
        }
        json_t *cons = json_loads(col_text(q, 13), 0, NULL);
        size_t i;
        json_t *e;
        json_array_foreach(cons, i, e)
        {
            const char *n = json_string_value(json_object_get(e, "name"));
            const char *arn = json_string_value(json_object_get(e, "arn"));
            if (!n || !arn)
                continue;
            kinesis_consumer_t *cn = xcalloc(1, sizeof *cn);
            cn->name = xstrdup(n);
            cn->arn = xstrdup(arn);
            cn->created_ms = json_integer_value(json_object_get(e, "created"));
            cn->ready_ms = json_integer_value(json_object_get(e, "ready"));
            s->consumers = xrealloc(s->consumers, (s->nconsumers + 1) * sizeof *s->consumers);
            s->consumers[s->nconsumers++] = cn;
        }
        json_decref(cons);
        if (id >= k->next_stream_id)
            k->next_stream_id = id + 1;
        if (s->status != KS_ACTIVE)
            dq_add(&k->dq, &s->settle, s->settle_ms);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        snprintf(err, errcap, "cannot read kinesis_streams: %s", sqlite3_errmsg(store_db(k->store)));
        return KYOKA_ESTORE;
    }
    q = store_stmt(k->store, "SELECT gid, stream_id, idx, hash_start, hash_end, parent, adjacent, "
                             "created_ms,"
                             " closed_ms, end_index FROM kinesis_shards ORDER BY stream_id, idx");
    sqlite3_stmt *mx = NULL;
    size_t nshards = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        uint32_t gid = (uint32_t)sqlite3_column_int64(q, 0);
        if (gid >= k->next_gid)
            k->next_gid = gid + 1;
        kinesis_stream_t *s = kinesis__stream_by_id(k, (uint64_t)sqlite3_column_int64(q, 1));
        kinesis_u128 lo = 0, hi = 0;
        if (!s || !kinesis__u128_parse(col_text(q, 3), &lo) || !kinesis__u128_parse(col_text(q, 4), &hi))
            continue;
        kinesis_shard_t *sh =
            kinesis__shard_add(s, gid, (uint32_t)sqlite3_column_int64(q, 2), lo, hi, sqlite3_column_int64(q, 5),
                               sqlite3_column_int64(q, 6), sqlite3_column_int64(q, 7));
        sh->closed_ms = sqlite3_column_int64(q, 8);
        uint64_t end_index = (uint64_t)sqlite3_column_int64(q, 9);
        uint64_t base = (uint64_t)gid << KINESIS_INDEX_BITS;
        if (!mx)
            mx = store_stmt(k->store, "SELECT id, arrival_ms FROM kinesis_records WHERE id>=? AND id<=?"
                                      " ORDER BY id DESC LIMIT 1");
        sqlite3_bind_int64(mx, 1, (sqlite3_int64)base);
        sqlite3_bind_int64(mx, 2, (sqlite3_int64)(base | KINESIS_INDEX_MASK));
        uint64_t last = 0;
        if (sqlite3_step(mx) == SQLITE_ROW) {
            last = ((uint64_t)sqlite3_column_int64(mx, 0)) & KINESIS_INDEX_MASK;
            sh->last_arrival_ms = sqlite3_column_int64(mx, 1);
        }
        sqlite3_reset(mx);
        if (sh->closed_ms && end_index > last)
            last = end_index;
        sh->next_index = last + 1;
        nshards++;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        snprintf(err, errcap, "cannot read kinesis_shards: %s", sqlite3_errmsg(store_db(k->store)));
        return KYOKA_ESTORE;
    }
    if (k->nstreams)
        log_info("kinesis: loaded %zu streams and %zu shards", k->nstreams, nshards);
    return 0;
}

void kinesis__state_clear(kinesis_t *k)
{
    while (k->nstreams)
        kinesis__stream_remove(k->streams[k->nstreams - 1]);
    free(k->streams);
    k->streams = NULL;
    k->nstreams = k->cap = 0;
    free(k->by_gid);
    k->by_gid = NULL;
    k->ngid = k->gidcap = 0;
}
