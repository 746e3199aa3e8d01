/* The Lambda code-zip reader (src/services/lambda/codezip.c).
 *
 * Two sources of archives: fixtures written by Python's zipfile (regenerated
 * by fixtures/make_fixtures.py), so the reader meets a writer it was not
 * built against, and a small writer in this file that can lie in every field
 * (sizes, CRCs, names, offsets, ZIP64 records), for the malformed and
 * malicious cases. Each test asserts the exact return code and, where
 * Lambda has one, the exact message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "services/lambda/codezip.h"

/* ==== a ZIP writer that can lie ==== */

typedef struct zopt {
    int method;            /* 0 stored, 8 deflated */
    uint32_t mode;         /* st_mode (made on unix), or 0: made on MS-DOS */
    bool descriptor;       /* flag bit 3, sizes in a data descriptor */
    bool bad_descriptor;   /* ... whose CRC is wrong */
    bool bare;             /* deflated but with no bytes at all (empty files only) */
    bool zip64;            /* Info-ZIP `zip -fz` style: ZIP64 extras, sentinel sizes */
    uint16_t flags;        /* extra flag bits (1: encrypted) */
    int declared_method;   /* method written in the headers, 0: the real one */
    uint32_t crc_xor;      /* spoil the CRC in both headers */
    uint64_t usize;        /* declared size, 0: the true one */
    const char *local_name; /* the local header's name, NULL: the same */
    uint64_t local_off;    /* the central record's offset, 0: the true one */
} zopt_t;

#define ZOPT(...) ((zopt_t){__VA_ARGS__})

typedef struct zw {
    buf_t loc, cen;
    uint64_t n;
    size_t last_cen, last_cen_len; /* the last central record */
    bool zip64_end;  /* write ZIP64 end records */
    const char *comment;
} zw_t;

static void zw_init(zw_t *w)
{
    memset(w, 0, sizeof *w);
    buf_init(&w->loc, 64u << 20);
    buf_init(&w->cen, 64u << 20);
}

static void put16(buf_t *b, uint32_t v)
{
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    assert_int_equal(buf_append(b, x, 2), 0);
}
static void put32(buf_t *b, uint32_t v)
{
    put16(b, v & 0xffff);
    put16(b, v >> 16);
}
static void put64(buf_t *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

static buf_t deflate_bytes(const void *data, size_t len)
{
    buf_t out;
    buf_init(&out, 64u << 20);
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    assert_int_equal(buf_reserve(&out, deflateBound(&zs, len)), 0);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out.data;
    zs.avail_out = (uInt)(out.cap - 1);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out.len = zs.total_out;
    deflateEnd(&zs);
    return out;
}

static void zw_addn(zw_t *w, const char *name, size_t nlen, const void *data, size_t len, zopt_t o)
{
    buf_t packed;
    buf_init(&packed, 64u << 20);
    if (o.method == 8 && !o.bare)
        packed = deflate_bytes(data, len);
    else if (!o.bare)
        assert_int_equal(buf_append(&packed, data, len), 0);
    uint32_t crc = (uint32_t)crc32(0, data, (uInt)len) ^ o.crc_xor;
    uint64_t usize = o.usize ? o.usize : len, csize = packed.len;
    uint64_t off = w->loc.len;
    uint32_t flags = o.flags | (o.descriptor ? 8 : 0);
    uint32_t method = (uint32_t)(o.declared_method ? o.declared_method : o.method);
    const char *lname = o.local_name ? o.local_name : name;
    size_t lnlen = o.local_name ? strlen(o.local_name) : nlen;

    /* local header */
    put32(&w->loc, 0x04034b50);
    put16(&w->loc, o.zip64 ? 45 : 20);
    put16(&w->loc, flags);
    put16(&w->loc, method);
    put32(&w->loc, 0); /* time, date */
    put32(&w->loc, o.descriptor ? 0 : crc);
    put32(&w->loc, o.descriptor ? 0 : o.zip64 ? 0xffffffff : (uint32_t)csize);
    put32(&w->loc, o.descriptor ? 0 : o.zip64 ? 0xffffffff : (uint32_t)usize);
    put16(&w->loc, lnlen);
    put16(&w->loc, o.zip64 && !o.descriptor ? 20 : 0);
    assert_int_equal(buf_append(&w->loc, lname, lnlen), 0);
    if (o.zip64 && !o.descriptor) {
        put16(&w->loc, 1);
        put16(&w->loc, 16);
        put64(&w->loc, usize);
        put64(&w->loc, csize);
    }
    assert_int_equal(buf_append(&w->loc, packed.data, packed.len), 0);
    if (o.descriptor) {
        put32(&w->loc, 0x08074b50);
        put32(&w->loc, crc ^ o.bad_descriptor);
        put32(&w->loc, (uint32_t)csize);
        put32(&w->loc, (uint32_t)usize);
    }
    buf_destroy(&packed);

    /* central record: with zip64, only the uncompressed size and the offset
     * go to the extra, as Info-ZIP does */
    uint64_t loff = o.local_off ? o.local_off : off;
    w->last_cen = w->cen.len;
    put32(&w->cen, 0x02014b50);
    put16(&w->cen, o.mode ? (3 << 8 | 30) : 20);
    put16(&w->cen, o.zip64 ? 45 : 20);
    put16(&w->cen, flags);
    put16(&w->cen, method);
    put32(&w->cen, 0);
    put32(&w->cen, crc);
    put32(&w->cen, (uint32_t)csize);
    put32(&w->cen, o.zip64 ? 0xffffffff : (uint32_t)usize);
    put16(&w->cen, nlen);
    put16(&w->cen, o.zip64 ? 20 : 0);
    put16(&w->cen, 0); /* comment */
    put16(&w->cen, 0); /* disk */
    put16(&w->cen, 0); /* internal attributes */
    put32(&w->cen, o.mode << 16 | (S_ISDIR(o.mode) ? 0x10 : 0));
    put32(&w->cen, o.zip64 ? 0xffffffff : (uint32_t)loff);
    assert_int_equal(buf_append(&w->cen, name, nlen), 0);
    if (o.zip64) {
        put16(&w->cen, 1);
        put16(&w->cen, 16);
        put64(&w->cen, usize);
        put64(&w->cen, loff);
    }
    w->last_cen_len = w->cen.len - w->last_cen;
    w->n++;
}

static void zw_add(zw_t *w, const char *name, const char *text, zopt_t o)
{
    zw_addn(w, name, strlen(name), text, strlen(text), o);
}

/* One more central record, a copy of the last: two entries, one body. */
static void zw_dup_central(zw_t *w)
{
    size_t from = w->last_cen, n = w->last_cen_len;
    char *copy = malloc(n);
    memcpy(copy, w->cen.data + from, n);
    assert_int_equal(buf_append(&w->cen, copy, n), 0);
    free(copy);
    w->n++;
}

/* The archive (free with free()); *len its size. */
static uint8_t *zw_finish(zw_t *w, size_t *len)
{
    buf_t out;
    buf_init(&out, 200u << 20);
    assert_int_equal(buf_append(&out, w->loc.data, w->loc.len), 0);
    uint64_t cd_off = out.len, cd_size = w->cen.len;
    assert_int_equal(buf_append(&out, w->cen.data, w->cen.len), 0);
    if (w->zip64_end) {
        uint64_t rec = out.len;
        put32(&out, 0x06064b50);
        put64(&out, 44);
        put16(&out, 3 << 8 | 45);
        put16(&out, 45);
        put32(&out, 0);
        put32(&out, 0);
        put64(&out, w->n);
        put64(&out, w->n);
        put64(&out, cd_size);
        put64(&out, cd_off);
        put32(&out, 0x07064b50);
        put32(&out, 0);
        put64(&out, rec);
        put32(&out, 1);
    }
    size_t clen = w->comment ? strlen(w->comment) : 0;
    put32(&out, 0x06054b50);
    put16(&out, 0);
    put16(&out, 0);
    put16(&out, w->zip64_end ? 0xffff : (uint32_t)w->n);
    put16(&out, w->zip64_end ? 0xffff : (uint32_t)w->n);
    put32(&out, w->zip64_end ? 0xffffffff : (uint32_t)cd_size);
    put32(&out, w->zip64_end ? 0xffffffff : (uint32_t)cd_off);
    put16(&out, clen);
    assert_int_equal(buf_append(&out, w->comment ? w->comment : "", clen), 0);
    buf_destroy(&w->loc);
    buf_destroy(&w->cen);
    return (uint8_t *)buf_detach(&out, len);
}

/* ==== helpers ==== */

static uint8_t *fixture(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", LAMBDA_ZIP_FIXTURES, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static char err[256];
static lambda_zip_summary_t sum;

static int check(const void *zip, size_t len, const lambda_zip_limits_t *lim)
{
    memset(&sum, 0xee, sizeof sum);
    return lambda_zip_check(zip, len, lim, &sum, err, sizeof err);
}

static int check_fixture(const char *name)
{
    size_t len;
    uint8_t *p = fixture(name, &len);
    int rc = check(p, len, NULL);
    free(p);
    return rc;
}

static int check_writer(zw_t *w, const lambda_zip_limits_t *lim)
{
    size_t len;
    uint8_t *p = zw_finish(w, &len);
    int rc = check(p, len, lim);
    free(p);
    return rc;
}

/* A refusal with Lambda's generic message and a detail naming the cause. */
static void assert_bad(int rc, const char *detail_has)
{
    assert_int_equal(rc, KYOKA_EPARSE);
    assert_string_equal(err, LAMBDA_ZIP_MSG_BAD);
    if (!strstr(sum.detail, detail_has))
        fail_msg("detail \"%s\" does not say \"%s\"", sum.detail, detail_has);
}

static int on_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

static char *tmpdir_make(void)
{
    char *d = strdup("/tmp/kyoka-zip-test-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void tmpdir_free(char *d)
{
    nftw(d, on_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(d);
}

static int dir_entries(const char *d)
{
    DIR *dir = opendir(d);
    assert_non_null(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(dir);
    return n;
}

static void assert_file(const char *dir, const char *rel, const void *want, size_t wlen, mode_t perm)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, perm);
    assert_int_equal(st.st_size, (off_t)wlen);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *got = malloc(wlen + 1);
    assert_int_equal(fread(got, 1, wlen + 1, f), wlen);
    fclose(f);
    assert_memory_equal(got, want, wlen);
    free(got);
}

static void assert_link(const char *dir, const char *rel, const char *target)
{
    char path[1024], got[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    ssize_t n = readlink(path, got, sizeof got - 1);
    assert_true(n >= 0);
    got[n] = '\0';
    assert_string_equal(got, target);
}

static void assert_dir(const char *dir, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0755);
}

/* ==== archives from Python's zipfile ==== */

static const char index_line[] = "def handler(event, context):\n    return 42\n";

static void test_python_archive_checks(void **state)
{
    (void)state;
    assert_int_equal(check_fixture("py_basic.zip"), 0);
    assert_string_equal(err, "");
    assert_string_equal(sum.detail, "");
    assert_int_equal(sum.entries, 9);
    assert_int_equal(sum.files, 5);
    assert_int_equal(sum.dirs, 1);
    assert_int_equal(sum.symlinks, 3);
    /* 860 + 26 + 15 + 3000 + 0 file bytes, 6 + 8 + 17 symlink bytes */
    assert_int_equal(sum.unzipped_bytes, 3932);
}

static void test_python_archive_extracts(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = fixture("py_basic.zip", &len);
    char *d = tmpdir_make();
    umask(077); /* modes must not depend on the umask */
    int rc = lambda_zip_extract(p, len, d, NULL, true, &sum, err, sizeof err);
    umask(022);
    assert_int_equal(rc, 0);
    assert_int_equal(sum.entries, 9);
    char index[1024];
    size_t n = 0;
    for (int i = 0; i < 20; i++, n += sizeof index_line - 1)
        memcpy(index + n, index_line, sizeof index_line - 1);
    assert_file(d, "index.py", index, n, 0644);
    assert_file(d, "bootstrap", "#!/bin/sh\nexec ./bin/tool\n", 26, 0755);
    assert_file(d, "bin/tool", "\x7f" "ELF-not-really", 15, 0744); /* 0700: readable by all, x kept */
    assert_file(d, "lib/python/pkg/__init__.py", "", 0, 0644);
    assert_dir(d, "bin");
    assert_dir(d, "lib");
    assert_dir(d, "lib/python/pkg"); /* implied by names only */
    assert_link(d, "lib/current", "python");
    assert_link(d, "link_to_index", "index.py");
    assert_link(d, "lib/python/pkg/up", "../../../index.py");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/blob.bin", d);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 3000);
    assert_int_equal(st.st_mode & 07777, 0644); /* 0600 in the archive */
    /* the links work */
    snprintf(path, sizeof path, "%s/lib/python/pkg/up", d);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, (off_t)n);
    assert_int_equal(dir_entries(d), 6); /* index.py bootstrap bin data lib link_to_index */
    tmpdir_free(d);
    free(p);
}

static void test_python_data_descriptors(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = fixture("py_stream.zip", &len);
    assert_int_equal(check(p, len, NULL), 0);
    assert_int_equal(sum.entries, 2);
    char *d = tmpdir_make();
    assert_int_equal(lambda_zip_extract(p, len, d, NULL, false, NULL, err, sizeof err), 0);
    assert_file(d, "src/handler.sh", "handler() { echo ok; }\n", 23, 0644);
    char path[1024];
    snprintf(path, sizeof path, "%s/bootstrap", d);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_size, 24 * 10);
    tmpdir_free(d);
    free(p);
}

static void test_python_zip64(void **state)
{
    (void)state;
    /* force_zip64: ZIP64 extras in the local headers only */
    assert_int_equal(check_fixture("py_zip64.zip"), 0);
    assert_int_equal(sum.entries, 2);
    assert_int_equal(sum.unzipped_bytes, 38 * 8 + 27);
    /* ZIP64 end record and locator added to a data-descriptor archive */
    assert_int_equal(check_fixture("py_zip64_end.zip"), 0);
    assert_int_equal(sum.entries, 2);
    assert_int_equal(sum.unzipped_bytes, 240 + 23);
}

static void test_python_malicious_archives(void **state)
{
    (void)state;
    assert_bad(check_fixture("evil_slip.zip"), "\"..\" path component");
    assert_bad(check_fixture("evil_abs.zip"), "absolute path");
    assert_bad(check_fixture("evil_link.zip"), "points outside");
    assert_bad(check_fixture("evil_link_abs.zip"), "absolute target");
    assert_bad(check_fixture("evil_link_chain.zip"), "symlink \"x\" points outside");
    assert_bad(check_fixture("evil_under_link.zip"), "is a symlink, and other entries are inside it");
    assert_int_equal(check_fixture("evil_bomb.zip"), KYOKA_ELIMIT);
    assert_string_equal(err, LAMBDA_ZIP_MSG_BAD);
    assert_non_null(strstr(sum.detail, "zip bomb"));
    assert_bad(check_fixture("evil_overlap.zip"), "entries \"kernel.bin\" and \"kernel.bin\" overlap");
}

static void test_empty_and_not_a_zip(void **state)
{
    (void)state;
    assert_int_equal(check_fixture("py_empty.zip"), KYOKA_EPARSE);
    assert_string_equal(err, LAMBDA_ZIP_MSG_EMPTY);
    assert_int_equal(check("", 0, NULL), KYOKA_EPARSE);
    assert_string_equal(err, LAMBDA_ZIP_MSG_EMPTY);
    assert_int_equal(check(NULL, 10, NULL), KYOKA_EPARSE);
    assert_string_equal(err, LAMBDA_ZIP_MSG_EMPTY);
    const char text[] = "this is not a zip archive, though it is long enough to be one";
    assert_int_equal(check(text, sizeof text - 1, NULL), KYOKA_EPARSE);
    assert_string_equal(err, "Could not unzip uploaded file. Please check your file, then try to upload again.");
    assert_int_equal(check("PK\x05\x06", 4, NULL), KYOKA_EPARSE);
    assert_string_equal(err, LAMBDA_ZIP_MSG_BAD);
    /* err is always terminated, even when short */
    char small[8];
    assert_int_equal(lambda_zip_check(text, sizeof text - 1, NULL, NULL, small, sizeof small), KYOKA_EPARSE);
    assert_string_equal(small, "Could n");
}

/* ==== well-formed archives from the writer ==== */

static void test_stored_and_deflated(void **state)
{
    (void)state;
    zw_t w;
    zw_init(&w);
    zw_add(&w, "a.txt", "stored text", ZOPT(.method = 0, .mode = S_IFREG | 0644));
    zw_add(&w, "b/c/d.txt", "deflated text, deflated text, deflated text", ZOPT(.method = 8, .mode = S_IFREG | 0644));
    zw_add(&w, "dos.txt", "made on DOS", ZOPT(.method = 8));
    zw_add(&w, "b/", "", ZOPT(.mode = S_IFDIR | 0700));
    zw_add(&w, "empty", "", ZOPT(.method = 8, .bare = true));
    size_t len;
    uint8_t *p = zw_finish(&w, &len);
    assert_int_equal(check(p, len, NULL), 0);
    assert_int_equal(sum.entries, 5);
    assert_int_equal(sum.files, 4);
    assert_int_equal(sum.dirs, 1);
    assert_int_equal(sum.unzipped_bytes, 11 + 43 + 11);
    char *d = tmpdir_make();
    assert_int_equal(lambda_zip_extract(p, len, d, NULL, false, &sum, err, sizeof err), 0);
    assert_file(d, "a.txt", "stored text", 11, 0644);
    assert_file(d, "b/c/d.txt", "deflated text, deflated text, deflated text", 43, 0644);
    assert_file(d, "dos.txt", "made on DOS", 11, 0644);
    assert_file(d, "empty", "", 0, 0644);
    assert_dir(d, "b");
    assert_dir(d, "b/c");
    tmpdir_free(d);
    free(p);
}

static void test_modes(void **state)
{
    (void)state;
    static const struct {
        uint32_t zip, disk;
    } cases[] = {{0100644, 0644}, {0100600, 0644}, {0100700, 0744}, {0100755, 0755},
                 {0104755, 0755}, {0100777, 0755}, {0100000, 0644}, {0, 0644}};
    zw_t w;
    zw_init(&w);
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(cases); i++) {
        char name[16];
        snprintf(name, sizeof name, "f%zu", i);
        zw_add(&w, name, "x", ZOPT(.method = 0, .mode = cases[i].zip));
    }
    size_t len;
    uint8_t *p = zw_finish(&w, &len);
    char *d = tmpdir_make();
    assert_int_equal(lambda_zip_extract(p, len, d, NULL, false, NULL, err, sizeof err), 0);
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(cases); i++) {
        char name[16];
        snprintf(name, sizeof name, "f%zu", i);
        assert_file(d, name, "x", 1, cases[i].disk);
        uint32_t mode = 0;
        assert_true(lambda_zip_has_file(p, len, name, &mode));
        assert_int_equal(mode, S_IFREG | cases[i].disk);
    }
    tmpdir_free(d);
    free(p);
}

static void test_zip64_end_records(void **state)
{
    (void)state;
    /* As `zip -fz` writes: ZIP64 end record and locator, sentinel fields
     * in the classic end record, ZIP64 extras in every header. */
    zw_t w;
    zw_init(&w);
    w.zip64_end = true;
    zw_add(&w, "bootstrap", "#!/bin/sh\n", ZOPT(.method = 8, .mode = S_IFREG | 0755, .zip64 = true));
    zw_add(&w, "x.txt", "stored", ZOPT(.method = 0, .mode = S_IFREG | 0644, .zip64 = true));
    size_t len;
    uint8_t *p = zw_finish(&w, &len);
    assert_int_equal(check(p, len, NULL), 0);
    assert_int_equal(sum.entries, 2);
    assert_int_equal(sum.unzipped_bytes, 16);
    char *d = tmpdir_make();
    assert_int_equal(lambda_zip_extract(p, len, d, NULL, false, NULL, err, sizeof err), 0);
    assert_file(d, "bootstrap", "#!/bin/sh\n", 10, 0755);
    assert_file(d, "x.txt", "stored", 6, 0644);
    tmpdir_free(d);
    /* the locator pointing elsewhere is refused */
    p[len - 22 - 20 + 8] ^= 1;
    assert_bad(check(p, len, NULL), "ZIP64");
    free(p);
}

static void test_writer_data_descriptor_and_comment(void **state)
{
    (void)state;
    zw_t w;
    zw_init(&w);
    w.comment = "a comment with a fake PK\x05\x06 in it";
    zw_add(&w, "a", "descriptor after deflate", ZOPT(.method = 8, .mode = S_IFREG | 0644, .descriptor = true));
    zw_add(&w, "b", "descriptor after stored", ZOPT(.method = 0, .mode = S_IFREG | 0644, .descriptor = true));
    assert_int_equal(check_writer(&w, NULL), 0);
    assert_int_equal(sum.entries, 2);

    zw_init(&w);
    zw_add(&w, "a", "descriptor", ZOPT(.method = 8, .descriptor = true, .bad_descriptor = true));
    assert_bad(check_writer(&w, NULL), "no data descriptor matching");
}

static void test_symlinks_inside(void **state)
{
    (void)state;
    zw_t w;
    zw_init(&w);
    zw_add(&w, "lib/v1/real.so", "so", ZOPT(.mode = S_IFREG | 0755));
    zw_add(&w, "lib/cur", "v1", ZOPT(.mode = S_IFLNK | 0777));
    zw_add(&w, "bin/tool", "../lib/cur/real.so", ZOPT(.method = 8, .mode = S_IFLNK | 0777));
    zw_add(&w, "top", "lib/cur/../cur/./real.so", ZOPT(.mode = S_IFLNK | 0777));
    zw_add(&w, "dangling", "nothing/here", ZOPT(.mode = S_IFLNK | 0777));
    zw_add(&w, "bootstrap", "bin/tool", ZOPT(.mode = S_IFLNK | 0777));
    size_t len;
    uint8_t *p = zw_finish(&w, &len);
    assert_int_equal(check(p, len, NULL), 0);
    assert_int_equal(sum.symlinks, 5);
    uint32_t mode = 0;
    assert_true(lambda_zip_has_file(p, len, "bootstrap", &mode));
    assert_int_equal(mode, S_IFLNK | 0777);
    char *d = tmpdir_make();
    assert_int_equal(lambda_zip_extract(p, len, d, NULL, false, NULL, err, sizeof err), 0);
    assert_link(d, "lib/cur", "v1");
    assert_link(d, "bin/tool", "../lib/cur/real.so");
    assert_link(d, "bootstrap", "bin/tool");
    char path[1024];
    snprintf(path, sizeof path, "%s/bootstrap", d);
    struct stat st;
    assert_int_equal(stat(path, &st), 0); /* bootstrap -> bin/tool -> lib/cur/real.so */
    assert_int_equal(st.st_size, 2);
    tmpdir_free(d);
    free(p);
}

static void test_symlinks_escaping(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"a/l", "../../x"},        {"l", ".."},   {"l", "/etc/passwd"}, {"a/b/l", "../../../x"},
        {"l", "a/../../x"},        {"l", "./.."}, {"l", "x\\..\\..\\y"},
    };
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(bad); i++) {
        zw_t w;
        zw_init(&w);
        zw_add(&w, bad[i][0], bad[i][1], ZOPT(.mode = S_IFLNK | 0777));
        int rc = check_writer(&w, NULL);
        assert_int_equal(rc, KYOKA_EPARSE);
        assert_string_equal(err, LAMBDA_ZIP_MSG_BAD);
    }
    /* through another link: up -> "..", from a/b: a/b/x -> "up/.." is fine
     * lexically, but up is a link to a/, so x lands at the root, and
     * x/.. climbs out */
    zw_t w;
    zw_init(&w);
    zw_add(&w, "a/up", "..", ZOPT(.mode = S_IFLNK | 0777));
    zw_add(&w, "a/esc", "up/../x", ZOPT(.mode = S_IFLNK | 0777));
    assert_bad(check_writer(&w, NULL), "symlink \"a/esc\" points outside");
    /* a loop */
    zw_init(&w);
    zw_add(&w, "a", "b", ZOPT(.mode = S_IFLNK | 0777));
    zw_add(&w, "b", "a", ZOPT(.mode = S_IFLNK | 0777));
    assert_bad(check_writer(&w, NULL), "more than 40 symlinks");
    /* an entry through a link */
    zw_init(&w);
    zw_add(&w, "l", "/tmp", ZOPT(.mode = S_IFLNK | 0777));
    zw_add(&w, "l/evil", "x", ZOPT(.mode = S_IFREG | 0644));
    assert_bad(check_writer(&w, NULL), "is a symlink, and other entries are inside it");
    /* empty or NUL targets */
    zw_init(&w);
    zw_addn(&w, "l", 1, "a\0b", 3, ZOPT(.mode = S_IFLNK | 0777));
    assert_bad(check_writer(&w, NULL), "NUL or a backslash in its target");
    zw_init(&w);
    zw_add(&w, "l", "", ZOPT(.mode = S_IFLNK | 0777));
    assert_bad(check_writer(&w, NULL), "target of 0 bytes");
}

static void test_bad_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        const char *why;
    } cases[] = {
        {"../x", "\"..\" path component"},       {"a/../../x", "\"..\" path component"},
        {"a/..", "\"..\" path component"},        {"./a", "\".\" or"},
        {"/abs", "absolute path"},                {"/", "named \"/\""},
        {"a//b", "empty path component"},        {"a\\..\\..\\x", "backslash"},
        {"..\\x", "backslash"},                   {"", "empty name"},
    };
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(cases); i++) {
        zw_t w;
        zw_init(&w);
        zw_add(&w, "fine.txt", "ok", ZOPT(.mode = S_IFREG | 0644));
        zw_add(&w, cases[i].name, "x", ZOPT(.mode = S_IFREG | 0644));
        assert_bad(check_writer(&w, NULL), cases[i].why);
    }
    zw_t w;
    zw_init(&w);
    zw_addn(&w, "a\0b", 3, "x", 1, ZOPT());
    assert_bad(check_writer(&w, NULL), "NUL byte");
    char long_comp[300];
    memset(long_comp, 'c', sizeof long_comp - 1);
    long_comp[sizeof long_comp - 1] = '\0';
    zw_init(&w);
    zw_add(&w, long_comp, "x", ZOPT());
    assert_bad(check_writer(&w, NULL), "path component of 299 bytes");
    zw_init(&w);
    zw_add(&w, "fifo", "", ZOPT(.mode = S_IFIFO | 0644));
    assert_bad(check_writer(&w, NULL), "FIFO");
    zw_init(&w);
    zw_add(&w, "d/", "data", ZOPT());
    assert_bad(check_writer(&w, NULL), "directory \"d/\" has 4 bytes");
}

static void test_duplicates(void **state)
{
    (void)state;
    zw_t w;
    zw_init(&w);
    zw_add(&w, "a.txt", "one", ZOPT());
    zw_add(&w, "a.txt", "two", ZOPT());
    assert_bad(check_writer(&w, NULL), "\"a.txt\" appears twice");
    zw_init(&w);
    zw_add(&w, "d/", "", ZOPT());
    zw_add(&w, "d", "file", ZOPT());
    assert_bad(check_writer(&w, NULL), "\"d\" appears twice");
    zw_init(&w);
    zw_add(&w, "f", "file", ZOPT());
    zw_add(&w, "f-x", "sorts between", ZOPT());
    zw_add(&w, "f/g", "inside a file", ZOPT());
    assert_bad(check_writer(&w, NULL), "\"f\" is a file, and other entries are inside it");
}

static void test_zip_bombs(void **state)
{
    (void)state;
    size_t big = 4u << 20;
    char *zeros = calloc(1, big);
    /* honest: 4 MiB of zeros in about 4 KiB */
    zw_t w;
    zw_init(&w);
    zw_addn(&w, "zeros", 5, zeros, big, ZOPT(.method = 8));
    assert_int_equal(check_writer(&w, NULL), KYOKA_ELIMIT);
    assert_string_equal(err, LAMBDA_ZIP_MSG_BAD);
    assert_non_null(strstr(sum.detail, "more than 1000 times"));
    /* lying: declares 100 bytes, inflates to 4 MiB; stopped at 100 */
    zw_init(&w);
    zw_addn(&w, "zeros", 5, zeros, big, ZOPT(.method = 8, .usize = 100));
    assert_bad(check_writer(&w, NULL), "inflates past its declared 100 bytes");
    /* lying the other way */
    zw_init(&w);
    zw_addn(&w, "zeros", 5, zeros, 1000, ZOPT(.method = 8, .usize = 2000));
    assert_bad(check_writer(&w, NULL), "inflates to 1000 bytes, not the declared 2000");
    /* a lie past the total is refused before inflating */
    zw_init(&w);
    zw_addn(&w, "zeros", 5, zeros, 1000, ZOPT(.method = 8, .usize = 300000000, .zip64 = true));
    assert_int_equal(check_writer(&w, NULL), KYOKA_ELIMIT);
    assert_string_equal(err, "Unzipped size must be smaller than 262144000 bytes");
    /* small files may compress very well: 512 KiB of zeros is fine */
    zw_init(&w);
    zw_addn(&w, "zeros", 5, zeros, 512 * 1024, ZOPT(.method = 8));
    assert_int_equal(check_writer(&w, NULL), 0);
    /* ... and the floor and ratio are the caller's */
    lambda_zip_limits_t lim;
    lambda_zip_limits_default(&lim);
    lim.ratio_floor_bytes = 1024;
    lim.max_ratio = 10;
    zw_init(&w);
    zw_addn(&w, "zeros", 5, zeros, 20000, ZOPT(.method = 8));
    assert_int_equal(check_writer(&w, &lim), KYOKA_ELIMIT);
    /* many central records sharing one body (overlapping entries) */
    zw_init(&w);
    zw_addn(&w, "z", 1, zeros, 512 * 1024, ZOPT(.method = 8));
    for (int i = 0; i < 3; i++)
        zw_dup_central(&w);
    assert_bad(check_writer(&w, NULL), "entries \"z\" and \"z\" overlap");
    free(zeros);
}

static void test_limits(void **state)
{
    (void)state;
    lambda_zip_limits_t lim;
    lambda_zip_limits_default(&lim);
    assert_int_equal(lim.max_unzipped_bytes, 262144000);
    assert_int_equal(lim.max_entries, 20000);
    assert_int_equal(lim.max_ratio, 1000);
    lim.max_entries = 10;
    zw_t w;
    zw_init(&w);
    for (int i = 0; i < 10; i++) {
        char name[8];
        snprintf(name, sizeof name, "f%d", i);
        zw_add(&w, name, "x", ZOPT());
    }
    assert_int_equal(check_writer(&w, &lim), 0);
    zw_init(&w);
    for (int i = 0; i < 11; i++) {
        char name[8];
        snprintf(name, sizeof name, "f%d", i);
        zw_add(&w, name, "x", ZOPT());
    }
    assert_int_equal(check_writer(&w, &lim), KYOKA_ELIMIT);
    assert_string_equal(err, LAMBDA_ZIP_MSG_BAD);
    assert_string_equal(sum.detail, "11 entries, more than the limit of 10");

    /* total size: "smaller than" the limit */
    lambda_zip_limits_default(&lim);
    lim.max_unzipped_bytes = 1000;
    char data[600];
    memset(data, 'a', sizeof data);
    zw_init(&w);
    zw_addn(&w, "a", 1, data, 600, ZOPT());
    zw_addn(&w, "b", 1, data, 399, ZOPT(.method = 8));
    assert_int_equal(check_writer(&w, &lim), 0);
    assert_int_equal(sum.unzipped_bytes, 999);
    zw_init(&w);
    zw_addn(&w, "a", 1, data, 600, ZOPT());
    zw_addn(&w, "b", 1, data, 400, ZOPT(.method = 8));
    assert_int_equal(check_writer(&w, &lim), KYOKA_ELIMIT);
    assert_string_equal(err, "Unzipped size must be smaller than 1000 bytes");
}

static void test_truncated(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = fixture("py_basic.zip", &len);
    /* every proper prefix is refused (and none is read out of bounds:
     * each one is copied to an exactly sized block for ASan) */
    for (size_t n = 0; n < len; n++) {
        uint8_t *q = malloc(n ? n : 1);
        memcpy(q, p, n);
        int rc = check(q, n, NULL);
        free(q);
        assert_int_equal(rc, KYOKA_EPARSE);
    }
    /* as is anything appended or prepended */
    uint8_t *q = malloc(len + 1);
    memcpy(q, p, len);
    q[len] = 0;
    assert_bad(check(q, len + 1, NULL), "not a zip archive");
    q[0] = 'X';
    memcpy(q + 1, p, len);
    assert_bad(check(q, len + 1, NULL), "does not end at the end record");
    free(q);
    free(p);
}

static void test_crc_and_headers(void **state)
{
    (void)state;
    zw_t w;
    zw_init(&w);
    zw_add(&w, "a", "some bytes", ZOPT(.method = 8, .crc_xor = 1));
    assert_bad(check_writer(&w, NULL), "CRC-32");
    zw_init(&w);
    zw_add(&w, "a", "some bytes", ZOPT(.method = 0, .crc_xor = 0x80000000));
    assert_bad(check_writer(&w, NULL), "CRC-32");
    zw_init(&w);
    zw_add(&w, "a", "abc", ZOPT(.method = 8, .bare = true));
    assert_bad(check_writer(&w, NULL), "entry \"a\": deflate data ends early");
    zw_init(&w);
    zw_add(&w, "index.py", "x", ZOPT(.local_name = "../evil.py"));
    assert_bad(check_writer(&w, NULL), "local header names another file");
    zw_init(&w);
    zw_add(&w, "a", "x", ZOPT(.local_off = 1000));
    assert_bad(check_writer(&w, NULL), "no local header at offset 1000");
    /* flipped bytes in a deflate stream */
    size_t len;
    uint8_t *p = fixture("py_basic.zip", &len);
    p[40] ^= 0xff; /* inside index.py's deflate data */
    int rc = check(p, len, NULL);
    assert_int_equal(rc, KYOKA_EPARSE);
    assert_string_equal(err, LAMBDA_ZIP_MSG_BAD);
    free(p);
}

static void test_methods_and_encryption(void **state)
{
    (void)state;
    zw_t w;
    zw_init(&w);
    zw_add(&w, "a", "x", ZOPT(.flags = 1));
    assert_bad(check_writer(&w, NULL), "entry \"a\" is encrypted");
    zw_init(&w);
    zw_add(&w, "a", "x", ZOPT(.declared_method = 99));
    assert_bad(check_writer(&w, NULL), "encrypted");
    zw_init(&w);
    zw_add(&w, "a", "x", ZOPT(.declared_method = 12));
    assert_bad(check_writer(&w, NULL), "compression method 12 (bzip2); only stored and deflated are supported");
    zw_init(&w);
    zw_add(&w, "a", "x", ZOPT(.declared_method = 14));
    assert_bad(check_writer(&w, NULL), "(LZMA)");
}

static void test_has_file(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = fixture("py_basic.zip", &len);
    uint32_t mode = 0;
    assert_true(lambda_zip_has_file(p, len, "bootstrap", &mode));
    assert_int_equal(mode, S_IFREG | 0755);
    assert_true(lambda_zip_has_file(p, len, "index.py", &mode));
    assert_int_equal(mode, S_IFREG | 0644);
    assert_true(lambda_zip_has_file(p, len, "bin/tool", &mode));
    assert_int_equal(mode, S_IFREG | 0744);
    assert_true(lambda_zip_has_file(p, len, "link_to_index", &mode));
    assert_int_equal(mode, S_IFLNK | 0777);
    assert_true(lambda_zip_has_file(p, len, "lib/python/pkg/__init__.py", NULL));
    mode = 1;
    assert_false(lambda_zip_has_file(p, len, "bin", &mode));
    assert_false(lambda_zip_has_file(p, len, "bin/", &mode));
    assert_false(lambda_zip_has_file(p, len, "lib/python", &mode));
    assert_false(lambda_zip_has_file(p, len, "index", &mode));
    assert_false(lambda_zip_has_file(p, len, "./bootstrap", &mode));
    assert_false(lambda_zip_has_file(p, len, "", &mode));
    assert_int_equal(mode, 1); /* untouched when not found */
    assert_false(lambda_zip_has_file(p, len - 1, "bootstrap", &mode));
    assert_false(lambda_zip_has_file("not a zip", 9, "bootstrap", &mode));
    assert_false(lambda_zip_has_file(NULL, 0, "bootstrap", &mode));
    free(p);
}

static void test_refused_extract_writes_nothing(void **state)
{
    (void)state;
    static const char *const evil[] = {"evil_slip.zip", "evil_abs.zip",      "evil_link.zip",  "evil_link_chain.zip",
                                       "evil_bomb.zip", "evil_under_link.zip", "py_empty.zip",      "evil_overlap.zip"};
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(evil); i++) {
        size_t len;
        uint8_t *p = fixture(evil[i], &len);
        char *d = tmpdir_make();
        int rc = lambda_zip_extract(p, len, d, NULL, false, &sum, err, sizeof err);
        assert_true(rc == KYOKA_EPARSE || rc == KYOKA_ELIMIT);
        assert_int_equal(dir_entries(d), 0);
        tmpdir_free(d);
        free(p);
    }
    /* a CRC error in the last entry: found by the check, before any write */
    zw_t w;
    zw_init(&w);
    zw_add(&w, "a/first.txt", "fine", ZOPT());
    zw_add(&w, "z/last.txt", "spoiled", ZOPT(.crc_xor = 4));
    size_t len;
    uint8_t *p = zw_finish(&w, &len);
    char *d = tmpdir_make();
    assert_int_equal(lambda_zip_extract(p, len, d, NULL, true, &sum, err, sizeof err), KYOKA_EPARSE);
    assert_string_equal(err, LAMBDA_ZIP_MSG_BAD);
    assert_int_equal(dir_entries(d), 0);
    tmpdir_free(d);
    free(p);
}

static void test_extract_destination(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = fixture("py_stream.zip", &len);
    char *d = tmpdir_make();
    char path[1024];
    snprintf(path, sizeof path, "%s/already-here", d);
    FILE *f = fopen(path, "w");
    fclose(f);
    assert_int_equal(lambda_zip_extract(p, len, d, NULL, false, &sum, err, sizeof err), KYOKA_EINVAL);
    assert_non_null(strstr(err, "is not an empty directory"));
    assert_int_equal(dir_entries(d), 1);
    snprintf(path, sizeof path, "%s/missing", d);
    assert_int_equal(lambda_zip_extract(p, len, path, NULL, false, &sum, err, sizeof err), KYOKA_EINVAL);
    assert_non_null(strstr(err, "No such file or directory"));
    tmpdir_free(d);
    free(p);
}

/* A file system failure part way (here a file size limit, so that it
 * happens after some files are written) leaves the directory empty again. */
static void test_extract_failure_undoes(void **state)
{
    (void)state;
    size_t blen = 100000;
    char *big = calloc(1, blen);
    zw_t w;
    zw_init(&w);
    zw_add(&w, "a/b/one.txt", "1", ZOPT());
    zw_addn(&w, "a/c/two.bin", 11, big, blen, ZOPT(.method = 8));
    zw_add(&w, "l", "a/b", ZOPT(.mode = S_IFLNK | 0777));
    size_t len;
    uint8_t *p = zw_finish(&w, &len);
    char *d = tmpdir_make();
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 50000;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = lambda_zip_extract(p, len, d, NULL, true, &sum, err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(rc, KYOKA_EIO);
    assert_string_equal(err, "Could not extract the code: write \"a/c/two.bin\": File too large");
    assert_string_equal(sum.detail, err);
    assert_int_equal(dir_entries(d), 0);
    tmpdir_free(d);
    free(p);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_python_archive_checks),
        cmocka_unit_test(test_python_archive_extracts),
        cmocka_unit_test(test_python_data_descriptors),
        cmocka_unit_test(test_python_zip64),
        cmocka_unit_test(test_python_malicious_archives),
        cmocka_unit_test(test_empty_and_not_a_zip),
        cmocka_unit_test(test_stored_and_deflated),
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_zip64_end_records),
        cmocka_unit_test(test_writer_data_descriptor_and_comment),
        cmocka_unit_test(test_symlinks_inside),
        cmocka_unit_test(test_symlinks_escaping),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_zip_bombs),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_crc_and_headers),
        cmocka_unit_test(test_methods_and_encryption),
        cmocka_unit_test(test_has_file),
        cmocka_unit_test(test_refused_extract_writes_nothing),
        cmocka_unit_test(test_extract_destination),
        cmocka_unit_test(test_extract_failure_undoes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
