/*
 * S3's rows: buckets, objects, multipart uploads and their parts. Keys are
 * TEXT compared with SQLite's BINARY collation, which is UTF-8 byte order,
 * the order S3 lists keys in. Object files are named by id; removing a file
 * waits until the change that stopped naming it is durable, so a crash
 * never leaves a row without its bytes (an orphan file is swept at start).
 */
#include "internal.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/banned.h"

static const char *const migrations[] = {
    "CREATE TABLE s3_buckets ("
    "  name TEXT PRIMARY KEY,"
    "  region TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  versioning TEXT,"
    "  policy TEXT,"
    "  tags TEXT"
    ");"
    "CREATE TABLE s3_objects ("
    "  bucket TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  modified_ms INTEGER NOT NULL,"
    "  file TEXT NOT NULL,"
    "  headers TEXT,"
    "  meta TEXT,"
    "  tags TEXT,"
    "  ck_alg TEXT,"
    "  ck_value TEXT,"
    "  parts INTEGER NOT NULL DEFAULT 0,"
    "  storage_class TEXT,"
    "  PRIMARY KEY (bucket, key)"
    ") WITHOUT ROWID;"
    "CREATE TABLE s3_uploads ("
    "  id TEXT PRIMARY KEY,"
    "  bucket TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  headers TEXT,"
    "  meta TEXT,"
    "  tags TEXT,"
    "  ck_alg TEXT,"
    "  storage_class TEXT"
    ");"
    "CREATE INDEX s3_uploads_by_key ON s3_uploads (bucket, key, created_ms);"
    "CREATE TABLE s3_parts ("
    "  upload_id TEXT NOT NULL,"
    "  part_number INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  modified_ms INTEGER NOT NULL,"
    "  file TEXT NOT NULL,"
    "  ck_value TEXT,"
    "  PRIMARY KEY (upload_id, part_number)"
    ") WITHOUT ROWID;",
    /* 2: notifications, CORS, lifecycle; versions. */
    "ALTER TABLE s3_buckets ADD COLUMN notification TEXT;"
    "ALTER TABLE s3_buckets ADD COLUMN cors TEXT;"
    "ALTER TABLE s3_buckets ADD COLUMN lifecycle TEXT;"
    "ALTER TABLE s3_objects ADD COLUMN version_id TEXT;"
    "ALTER TABLE s3_objects ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE s3_versions ("
    "  bucket TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  version_id TEXT,"
    "  marker INTEGER NOT NULL DEFAULT 0,"
    "  size INTEGER NOT NULL DEFAULT 0,"
    "  etag TEXT,"
    "  modified_ms INTEGER NOT NULL,"
    "  file TEXT,"
    "  headers TEXT,"
    "  meta TEXT,"
    "  tags TEXT,"
    "  ck_alg TEXT,"
    "  ck_value TEXT,"
    "  parts INTEGER NOT NULL DEFAULT 0,"
    "  storage_class TEXT,"
    "  PRIMARY KEY (bucket, key, seq)"
    ") WITHOUT ROWID;",
};

int s3__store_migrate(s3_state_t *st, char *err, size_t errcap)
{
    int rc = store_migrate(st->store, "s3", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
    if (rc != 0)
        return rc;
    /* Sequence numbers go on from the largest stored. */
    sqlite3_stmt *q = store_stmt(st->store, "SELECT max((SELECT coalesce(max(seq), 0) FROM s3_objects), "
                                            "(SELECT coalesce(max(seq), 0) FROM s3_versions))");
    if (sqlite3_step(q) == SQLITE_ROW)
        st->seq = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return 0;
}

int64_t s3__seq_next(s3_state_t *st) { return ++st->seq; }

static const char *col(arena_t *a, sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(q, i)) : NULL;
}

bool s3__bucket_lookup(s3_state_t *st, arena_t *a, const char *name, s3_bucket_t *out)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT name, region, created_ms, versioning, policy, tags, notification, "
                                            "cors, lifecycle FROM s3_buckets WHERE name = ?");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    if (found && out) {
        out->name = col(a, q, 0);
        out->region = col(a, q, 1);
        out->created_ms = sqlite3_column_int64(q, 2);
        out->versioning = col(a, q, 3);
        out->policy = col(a, q, 4);
        out->tags = col(a, q, 5);
        out->notification = col(a, q, 6);
        out->cors = col(a, q, 7);
        out->lifecycle = col(a, q, 8);
    }
    sqlite3_reset(q);
    return found;
}

s3_bucket_t *s3__bucket_get_or_fail(svc_call_t *c, const char *name)
{
    s3_bucket_t *b = arena_calloc(c->arena, sizeof *b);
    if (!name || !s3__bucket_lookup(c->state, c->arena, name, b)) {
        svc_error(c, "NoSuchBucket", 404, "The specified bucket does not exist");
        return NULL;
    }
    return b;
}

#define OBJECT_COLS                                                                                                \
    "key, size, etag, modified_ms, file, headers, meta, tags, ck_alg, ck_value, parts, storage_class, version_id, seq"
#define VERSION_COLS OBJECT_COLS ", marker"

static void object_from_row(arena_t *a, sqlite3_stmt *q, s3_object_t *o)
{
    o->key = col(a, q, 0);
    o->size = (uint64_t)sqlite3_column_int64(q, 1);
    o->etag = col(a, q, 2);
    o->modified_ms = sqlite3_column_int64(q, 3);
    o->file = col(a, q, 4);
    o->headers = col(a, q, 5);
    o->meta = col(a, q, 6);
    o->tags = col(a, q, 7);
    o->ck_alg = col(a, q, 8);
    o->ck_value = col(a, q, 9);
    o->parts = sqlite3_column_int(q, 10);
    o->storage_class = col(a, q, 11);
    o->version_id = col(a, q, 12);
    o->seq = sqlite3_column_int64(q, 13);
    o->marker = sqlite3_column_count(q) > 14 && sqlite3_column_int(q, 14) != 0;
}

bool s3__object_lookup(s3_state_t *st, arena_t *a, const char *bucket, const char *key, s3_object_t *o)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT " OBJECT_COLS " FROM s3_objects WHERE bucket = ? AND key = ?");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    if (found && o) {
        object_from_row(a, q, o);
        o->marker = false;
    }
    sqlite3_reset(q);
    return found;
}

/* "null" names the null version, stored as NULL. */
static bool is_null_version(const char *vid) { return !vid || !*vid || strcmp(vid, "null") == 0; }

bool s3__version_lookup(s3_state_t *st, arena_t *a, const char *bucket, const char *key, const char *vid,
                        s3_object_t *o)
{
    bool null = is_null_version(vid);
    sqlite3_stmt *q = store_stmt(st->store, "SELECT " OBJECT_COLS ", 0 FROM s3_objects WHERE bucket = ?1 AND key = ?2 "
                                            "AND version_id IS ?3 UNION ALL SELECT " VERSION_COLS
                                            " FROM s3_versions WHERE bucket = ?1 AND key = ?2 AND version_id IS ?3 "
                                            "LIMIT 1");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    if (null)
        sqlite3_bind_null(q, 3);
    else
        sqlite3_bind_text(q, 3, vid, -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    if (found && o)
        object_from_row(a, q, o);
    sqlite3_reset(q);
    return found;
}

bool s3__latest_is_marker(s3_state_t *st, arena_t *a, const char *bucket, const char *key, const char **vid)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT marker, version_id FROM s3_versions WHERE bucket = ? AND key = ? "
                                            "ORDER BY seq DESC LIMIT 1");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    bool marker = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) != 0;
    if (marker && vid)
        *vid = sqlite3_column_text(q, 1) ? col(a, q, 1) : "null";
    sqlite3_reset(q);
    return marker;
}

/* The file a row names, before the row changes. */
static char *object_file(s3_state_t *st, const char *bucket, const char *key)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT file FROM s3_objects WHERE bucket = ? AND key = ?");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    char *f = sqlite3_step(q) == SQLITE_ROW ? xstrdup((const char *)sqlite3_column_text(q, 0)) : NULL;
    sqlite3_reset(q);
    return f;
}

static void bind_or_null(sqlite3_stmt *q, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

static void exec_bk(s3_state_t *st, const char *sql, const char *bucket, const char *key)
{
    sqlite3_stmt *q = store_stmt(st->store, sql);
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("s3: %s: %s", sql, sqlite3_errmsg(store_db(st->store)));
    sqlite3_reset(q);
}

/* Files of the rows sql selects (bucket ?1, key ?2) go once durable. */
static void unlink_selected(s3_state_t *st, const char *sql, const char *bucket, const char *key)
{
    sqlite3_stmt *q = store_stmt(st->store, sql);
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    while (sqlite3_step(q) == SQLITE_ROW)
        if (sqlite3_column_text(q, 0))
            s3__file_unlink_later(st, (const char *)sqlite3_column_text(q, 0));
    sqlite3_reset(q);
}

/* Versioned buckets: the current object becomes a noncurrent version,
 * except a null version when the new one is null too (it is replaced). */
static void demote_current(s3_state_t *st, const char *bucket, const char *key, bool drop_null)
{
    if (drop_null) {
        unlink_selected(st, "SELECT file FROM s3_objects WHERE bucket = ?1 AND key = ?2 AND version_id IS NULL", bucket,
                        key);
        exec_bk(st, "DELETE FROM s3_objects WHERE bucket = ?1 AND key = ?2 AND version_id IS NULL", bucket, key);
        unlink_selected(st, "SELECT file FROM s3_versions WHERE bucket = ?1 AND key = ?2 AND version_id IS NULL", bucket,
                        key);
        exec_bk(st, "DELETE FROM s3_versions WHERE bucket = ?1 AND key = ?2 AND version_id IS NULL", bucket, key);
    }
    exec_bk(st, "INSERT INTO s3_versions (bucket, " VERSION_COLS ") SELECT bucket, " OBJECT_COLS
                ", 0 FROM s3_objects WHERE bucket = ?1 AND key = ?2",
            bucket, key);
    exec_bk(st, "DELETE FROM s3_objects WHERE bucket = ?1 AND key = ?2", bucket, key);
}

static void version_id_new(char vid[S3_VERSION_ID_LEN + 1])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
    unsigned char raw[S3_VERSION_ID_LEN];
    kyoka_random(raw, sizeof raw);
    for (size_t i = 0; i < S3_VERSION_ID_LEN; i++)
        vid[i] = alphabet[raw[i] & 63];
    vid[S3_VERSION_ID_LEN] = '\0';
}

void s3__object_put(s3_state_t *st, const s3_bucket_t *b, s3_object_t *o, char vid[S3_VERSION_ID_LEN + 1])
{
    const char *bucket = b->name;
    const char *mode = b->versioning;
    vid[0] = '\0';
    o->version_id = NULL;
    o->seq = s3__seq_next(st);
    o->marker = false;
    store_write_begin(st->store);
    char *old = NULL;
    if (!mode) {
        old = object_file(st, bucket, o->key);
    } else {
        bool enabled = strcmp(mode, "Enabled") == 0;
        if (enabled) {
            version_id_new(vid);
            o->version_id = vid;
        }
        demote_current(st, bucket, o->key, !enabled);
    }
    sqlite3_stmt *q = store_stmt(st->store, "INSERT OR REPLACE INTO s3_objects (bucket, " OBJECT_COLS
                                            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, o->key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)o->size);
    sqlite3_bind_text(q, 4, o->etag, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, o->modified_ms);
    sqlite3_bind_text(q, 6, o->file, -1, SQLITE_STATIC);
    bind_or_null(q, 7, o->headers);
    bind_or_null(q, 8, o->meta);
    bind_or_null(q, 9, o->tags);
    bind_or_null(q, 10, o->ck_alg);
    bind_or_null(q, 11, o->ck_value);
    sqlite3_bind_int(q, 12, o->parts);
    bind_or_null(q, 13, o->storage_class);
    bind_or_null(q, 14, o->version_id);
    sqlite3_bind_int64(q, 15, o->seq);
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("s3: storing %s/%s: %s", bucket, o->key, sqlite3_errmsg(store_db(st->store)));
    sqlite3_reset(q);
    if (old && strcmp(old, o->file) != 0)
        s3__file_unlink_later(st, old);
    free(old);
}

bool s3__object_delete(s3_state_t *st, const s3_bucket_t *b, const char *key, bool *marker,
                       char vid[S3_VERSION_ID_LEN + 1])
{
    const char *bucket = b->name;
    *marker = false;
    vid[0] = '\0';
    if (!b->versioning) {
        char *old = object_file(st, bucket, key);
        if (!old)
            return false;
        store_write_begin(st->store);
        exec_bk(st, "DELETE FROM s3_objects WHERE bucket = ?1 AND key = ?2", bucket, key);
        s3__file_unlink_later(st, old);
        free(old);
        return true;
    }
    /* https://docs.aws.amazon.com/AmazonS3/latest/userguide/DeletingObjectVersions.html:
     * a simple DELETE inserts a delete marker, which becomes current; with
     * versioning suspended the marker is the null version and replaces it. */
    bool enabled = strcmp(b->versioning, "Enabled") == 0;
    store_write_begin(st->store);
    demote_current(st, bucket, key, !enabled);
    if (enabled)
        version_id_new(vid);
    sqlite3_stmt *q = store_stmt(st->store, "INSERT INTO s3_versions (bucket, key, seq, version_id, marker, modified_ms) "
                                            "VALUES (?, ?, ?, ?, 1, ?)");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, s3__seq_next(st));
    bind_or_null(q, 4, enabled ? vid : NULL);
    sqlite3_bind_int64(q, 5, kyoka_clock_now_ms());
    sqlite3_step(q);
    sqlite3_reset(q);
    *marker = true;
    return true;
}

/* After a version went: if the key has no current object, its newest
 * remaining version becomes current, unless that is a delete marker. */
static void promote_newest(s3_state_t *st, const char *bucket, const char *key)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT 1 FROM s3_objects WHERE bucket = ? AND key = ?");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    bool has = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_reset(q);
    if (has)
        return;
    q = store_stmt(st->store, "SELECT seq, marker FROM s3_versions WHERE bucket = ? AND key = ? ORDER BY seq DESC "
                              "LIMIT 1");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    int64_t seq = found ? sqlite3_column_int64(q, 0) : 0;
    bool marker = found && sqlite3_column_int(q, 1);
    sqlite3_reset(q);
    if (!found || marker)
        return;
    q = store_stmt(st->store, "INSERT INTO s3_objects (bucket, " OBJECT_COLS ") SELECT bucket, " OBJECT_COLS
                              " FROM s3_versions WHERE bucket = ?1 AND key = ?2 AND seq = ?3");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, seq);
    sqlite3_step(q);
    sqlite3_reset(q);
    q = store_stmt(st->store, "DELETE FROM s3_versions WHERE bucket = ?1 AND key = ?2 AND seq = ?3");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, seq);
    sqlite3_step(q);
    sqlite3_reset(q);
}

bool s3__version_delete(s3_state_t *st, const char *bucket, const char *key, const char *vid, bool *was_marker)
{
    arena_t a;
    arena_init(&a);
    s3_object_t o;
    bool found = s3__version_lookup(st, &a, bucket, key, vid, &o);
    *was_marker = found && o.marker;
    if (found) {
        store_write_begin(st->store);
        s3_object_t cur;
        bool current = !o.marker && s3__object_lookup(st, &a, bucket, key, &cur) && cur.seq == o.seq;
        const char *sql = current ? "DELETE FROM s3_objects WHERE bucket = ? AND key = ? AND seq = ?"
                                  : "DELETE FROM s3_versions WHERE bucket = ? AND key = ? AND seq = ?";
        sqlite3_stmt *q = store_stmt(st->store, sql);
        sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 3, o.seq);
        sqlite3_step(q);
        sqlite3_reset(q);
        if (o.file)
            s3__file_unlink_later(st, o.file);
        promote_newest(st, bucket, key);
    }
    arena_destroy(&a);
    return found;
}

void s3__object_set_tags(s3_state_t *st, const char *bucket, const char *key, const char *tags)
{
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "UPDATE s3_objects SET tags = ? WHERE bucket = ? AND key = ?");
    bind_or_null(q, 1, tags);
    sqlite3_bind_text(q, 2, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_STATIC);
    sqlite3_step(q);
    sqlite3_reset(q);
}

void s3__bucket_set(s3_state_t *st, const char *name, const char *sql, const char *value)
{
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, sql);
    bind_or_null(q, 1, value);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    sqlite3_step(q);
    sqlite3_reset(q);
}

/* ---- files ---- */

typedef struct unlink_job {
    char *path;
} unlink_job_t;

static void on_unlink_durable(void *data, int status)
{
    unlink_job_t *j = data;
    /* A failed commit left the row naming the file: keep it. */
    if (status == 0)
        unlink(j->path);
    free(j->path);
    free(j);
}

void s3__file_unlink_later(s3_state_t *st, const char *file)
{
    unlink_job_t *j = xcalloc(1, sizeof *j);
    j->path = xasprintf("%s/%s", st->objects, file);
    store_when_durable(st->store, on_unlink_durable, j);
}

const char *s3__file_path(s3_state_t *st, arena_t *a, const char *file)
{
    return arena_sprintf(a, "%s/%s", st->objects, file);
}

void s3__file_id(char out[37]) { kyoka_uuid(out); }
