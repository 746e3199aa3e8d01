/* Unit tests for the store: migrations, group commit (many writes, one
 * fsync), acknowledgement only after durability, a failed commit leaving
 * nothing behind, and data surviving a reopen. */
#include "store/store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

static const char *const migrations[] = {
    "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)",
    "ALTER TABLE t ADD COLUMN extra INTEGER DEFAULT 0",
};

typedef struct {
    int calls;
    int last_status;
} acks_t;

static void on_durable(void *data, int status)
{
    acks_t *a = data;
    a->calls++;
    a->last_status = status;
}

static char *temp_dir(void)
{
    char tmpl[] = "/tmp/kyoka-store-XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void rm_dir(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int count_rows(store_t *s)
{
    sqlite3_stmt *q = store_stmt(s, "SELECT count(*) FROM t");
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    return sqlite3_column_int(q, 0);
}

static void insert(store_t *s, const char *v)
{
    store_write_begin(s);
    sqlite3_stmt *q = store_stmt(s, "INSERT INTO t(v) VALUES(?)");
    sqlite3_bind_text(q, 1, v, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
}

/* The store in dir (NULL: ephemeral), migrated to the test schema. */
static store_t *open_migrated(uv_loop_t *loop, const char *dir)
{
    char err[256];
    store_t *s = store_open(loop, dir, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(store_migrate(s, "test", migrations, 2, err, sizeof err), 0);
    return s;
}

static void close_store(uv_loop_t *loop, store_t *s)
{
    store_close(s);
    uv_run(loop, UV_RUN_DEFAULT);
}

static void test_group_commit_and_reopen(void **st)
{
    char *dir = temp_dir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    store_t *s = open_migrated(&loop, dir);
    assert_true(store_is_durable(s));

    acks_t acks = {0};
    for (int i = 0; i < 100; i++) {
        insert(s, "x");
        store_when_durable(s, on_durable, &acks);
    }
    /* Nothing is acknowledged before the batch commits and syncs. */
    assert_int_equal(acks.calls, 0);
    while (acks.calls < 100)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(acks.last_status, 0);
    /* One loop turn, one commit, one fsync for all hundred writes. */
    assert_int_equal(store_commits(s), 1);
    assert_int_equal(store_fsyncs(s), 1);
    close_store(&loop, s);

    s = open_migrated(&loop, dir);
    assert_int_equal(count_rows(s), 100);
    close_store(&loop, s);
    assert_int_equal(uv_loop_close(&loop), 0);
    rm_dir(dir);
    free(dir);
}

/* Under writes that never pause, the WAL is held near its restart length
 * instead of growing with every commit. */
static void test_wal_starts_over_under_steady_writes(void **st)
{
    char *dir = temp_dir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    store_t *s = open_migrated(&loop, dir);
    store_set_wal_restart_frames(s, 64);
    static char row[6000];
    memset(row, 'w', sizeof row - 1);
    acks_t acks = {0};
    enum { TURNS = 1000 };
    for (int i = 0; i < TURNS; i++) {
        insert(s, row); /* two pages and more per commit */
        store_when_durable(s, on_durable, &acks);
        while (acks.calls < i + 1)
            uv_run(&loop, UV_RUN_ONCE);
    }
    assert_int_equal(acks.last_status, 0);
    assert_true(store_wal_restarts(s) > 0);
    char wal[512];
    snprintf(wal, sizeof wal, "%s/kyoka.db-wal", dir);
    struct stat sb;
    assert_int_equal(stat(wal, &sb), 0);
    /* Without restarts it would hold every commit: 2000+ frames, 8 MB. */
    assert_true(sb.st_size < 3 * 1024 * 1024);
    close_store(&loop, s);
    s = open_migrated(&loop, dir);
    assert_int_equal(count_rows(s), TURNS);
    close_store(&loop, s);
    assert_int_equal(uv_loop_close(&loop), 0);
    rm_dir(dir);
    free(dir);
}

static void test_failed_commit_changes_nothing(void **st)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    store_t *s = open_migrated(&loop, NULL);
    acks_t acks = {0};
    store_fail_commit_after(s, 1);
    insert(s, "doomed");
    store_when_durable(s, on_durable, &acks);
    while (acks.calls < 1)
        uv_run(&loop, UV_RUN_ONCE);
    assert_int_equal(acks.last_status, KYOKA_ESTORE);
    assert_int_equal(count_rows(s), 0);
    close_store(&loop, s);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_savepoint_rollback(void **st)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    store_t *s = open_migrated(&loop, NULL);
    insert(s, "kept");
    store_savepoint(s);
    insert(s, "undone");
    store_savepoint_rollback(s);
    assert_int_equal(count_rows(s), 1);
    close_store(&loop, s);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_newer_schema_refused(void **st)
{
    char *dir = temp_dir();
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    store_t *s = store_open(&loop, dir, err, sizeof err);
    assert_int_equal(store_migrate(s, "test", migrations, 2, err, sizeof err), 0);
    close_store(&loop, s);
    s = store_open(&loop, dir, err, sizeof err);
    assert_int_equal(store_migrate(s, "test", migrations, 1, err, sizeof err), KYOKA_ESTORE);
    assert_non_null(strstr(err, "upgrade kyoka"));
    close_store(&loop, s);
    assert_int_equal(uv_loop_close(&loop), 0);
    rm_dir(dir);
    free(dir);
}

static void test_unusable_dir_says_what_to_do(void **st)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    char err[256];
    assert_null(store_open(&loop, "/proc/kyoka-cannot-exist", err, sizeof err));
    assert_non_null(strstr(err, "--data-dir"));
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_commit_and_reopen),
        cmocka_unit_test(test_wal_starts_over_under_steady_writes),
        cmocka_unit_test(test_failed_commit_changes_nothing),
        cmocka_unit_test(test_savepoint_rollback),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_unusable_dir_says_what_to_do),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
