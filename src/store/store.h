/*
 * store: durable state in SQLite (WAL), with group commit.
 *
 * The loop thread owns one SQLite connection. Handlers write inside a
 * transaction that the store opens lazily on the first write of a loop turn;
 * at the end of the turn (a uv_check) the store commits the whole batch in
 * one COMMIT and, in durable mode, hands one fsync of the WAL file to the
 * thread pool. Responses that depend on a batch wait for that batch with
 * store_when_durable(), so an acknowledgement always follows the fsync while
 * one fsync serves every request of the turn (group commit).
 *
 * Checkpoints (copying the WAL into the database file) run on the pool with
 * a second connection, so the loop never blocks on them.
 *
 * Each service declares its schema as a list of migrations; the store applies
 * the ones a data directory has not seen yet, in order, and records the
 * version per service in kyoka_schema.
 *
 * Thread: loop thread, except the internal pool jobs.
 */
#ifndef KYOKA_STORE_H
#define KYOKA_STORE_H

#include "core/core.h"

#include <sqlite3.h>
#include <uv.h>

typedef struct store store_t;

/* Open (creating) data_dir/kyoka.db; data_dir NULL means in-memory
 * (--ephemeral). On failure returns NULL and writes a message that says
 * what to do into err. */
store_t *store_open(uv_loop_t *loop, const char *data_dir, char *err, size_t errcap);
/* Commit what is pending, wait for its fsync, checkpoint, close. */
void store_close(store_t *s);

sqlite3 *store_db(store_t *s);
bool store_is_durable(const store_t *s);
const char *store_path(const store_t *s); /* NULL when ephemeral */

/* Apply a service's migrations: migrations[i] brings the schema from
 * version i to i+1. Returns 0 or KYOKA_ESTORE (message in err). */
int store_migrate(store_t *s, const char *component, const char *const *migrations, size_t n,
                  char *err, size_t errcap) KYOKA_WUR;

/* A cached prepared statement for sql (which must be a string literal or
 * otherwise live forever: the pointer is the cache key). Reset and cleared
 * bindings on return. Aborts on a syntax error (a programming error). */
sqlite3_stmt *store_stmt(store_t *s, const char *sql);

/* Mark that the caller is about to write: opens the batch transaction if
 * none is open. Every write must be preceded by this. */
void store_write_begin(store_t *s);

/* A savepoint around one request's writes, so a failure midway undoes that
 * request alone ("bad input changes nothing"). */
void store_savepoint(store_t *s);
void store_savepoint_release(store_t *s);
void store_savepoint_rollback(store_t *s);

/* Run an SQL statement with no results (convenience for rare writes and
 * migrations). Returns 0 or KYOKA_ESTORE. */
int store_exec(store_t *s, const char *sql) KYOKA_WUR;

/* Call cb once everything written so far is durable (committed, and fsynced
 * in durable mode). Immediate (synchronous call) when nothing is pending. */
typedef void (*store_durable_cb)(void *data, int status);
void store_when_durable(store_t *s, store_durable_cb cb, void *data);

/* Number of batches committed and fsyncs done (for tests and bench). */
uint64_t store_commits(const store_t *s);
uint64_t store_fsyncs(const store_t *s);

/* Fault injection for tests: make the Nth next commit fail (1 = next). */
void store_fail_commit_after(store_t *s, int n);
/* The WAL length (in frames) at which a checkpoint makes it start over
 * (tests lower it), and how many such checkpoints have run. */
void store_set_wal_restart_frames(store_t *s, int frames);
uint64_t store_wal_restarts(const store_t *s);

#endif
