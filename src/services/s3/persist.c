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
};

int s3__store_migrate(s3_state_t *st, char *err, size_t errcap)
{
    return store_migrate(st->store, "s3", migrations, KYOKA_ARRAY_LEN(migrations), err, errcap);
}

static const char *col(arena_t *a, sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? arena_strndup(a, (const char *)t, (size_t)sqlite3_column_bytes(q, i)) : NULL;
}

bool s3__bucket_lookup(s3_state_t *st, arena_t *a, const char *name, s3_bucket_t *out)
{
    sqlite3_stmt *q =
        store_stmt(st->store, "SELECT name, region, created_ms, versioning, policy, tags FROM s3_buckets WHERE name = ?");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    if (found && out) {
        out->name = col(a, q, 0);
        out->region = col(a, q, 1);
        out->created_ms = sqlite3_column_int64(q, 2);
        out->versioning = col(a, q, 3);
        out->policy = col(a, q, 4);
        out->tags = col(a, q, 5);
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

#define OBJECT_COLS "key, size, etag, modified_ms, file, headers, meta, tags, ck_alg, ck_value, parts, storage_class"

bool s3__object_lookup(s3_state_t *st, arena_t *a, const char *bucket, const char *key, s3_object_t *o)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT " OBJECT_COLS " FROM s3_objects WHERE bucket = ? AND key = ?");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    if (found && o) {
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
    }
    sqlite3_reset(q);
    return found;
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

void s3__object_put(s3_state_t *st, const char *bucket, const s3_object_t *o)
{
    char *old = object_file(st, bucket, o->key);
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "INSERT OR REPLACE INTO s3_objects (bucket, " OBJECT_COLS
                                            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
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
    if (sqlite3_step(q) != SQLITE_DONE)
        log_error("s3: storing %s/%s: %s", bucket, o->key, sqlite3_errmsg(store_db(st->store)));
    sqlite3_reset(q);
    if (old && strcmp(old, o->file) != 0)
        s3__file_unlink_later(st, old);
    free(old);
}

bool s3__object_delete(s3_state_t *st, const char *bucket, const char *key)
{
    char *old = object_file(st, bucket, key);
    if (!old)
        return false;
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "DELETE FROM s3_objects WHERE bucket = ? AND key = ?");
    sqlite3_bind_text(q, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_STATIC);
    sqlite3_step(q);
    sqlite3_reset(q);
    s3__file_unlink_later(st, old);
    free(old);
    return true;
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
