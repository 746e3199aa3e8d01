/* Fuzz the Lambda code-zip reader on untrusted archives: the check, the
 * file lookup, and, for archives the check accepts, a real extraction into
 * a scratch directory.
 *
 * Invariants trapped on: the check is deterministic; an archive it accepts
 * extracts without error into an empty directory, with the same summary;
 * an archive it refuses leaves the directory empty; and nothing ever lands
 * beside the destination (the scratch root holds only "d").
 *
 * Mutated entry data (symlink targets above all) would nearly always fail
 * its CRC-32 and stop there, so each input runs twice: as it is, and with
 * the CRCs recomputed by a deliberately naive reader below, which lets the
 * later passes (symlink resolution, extraction) see the mutations. */
#include <dirent.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "services/lambda/codezip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];
static char dest[96];

static int on_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

static int entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        __builtin_trap();
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* A scratch root with an empty "d" in it, made for each input and removed
 * after it, so nothing outlives a run however the fuzzer exits. */
static void scratch_make(void)
{
    snprintf(root, sizeof root, "/tmp/kyoka-fuzz-zip-XXXXXX");
    if (!mkdtemp(root))
        __builtin_trap();
    snprintf(dest, sizeof dest, "%s/d", root);
    if (mkdir(dest, 0755) != 0)
        __builtin_trap();
}

static void scratch_remove(void) { nftw(root, on_rm, 16, FTW_DEPTH | FTW_PHYS); }

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }
static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* CRC-32 of an entry's data as stored (0) or raw-inflated (8), at most
 * 16 MiB of output; 0 when it cannot be read. */
static uint32_t data_crc(const uint8_t *p, size_t n, unsigned method)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    if (method == 0)
        return (uint32_t)crc32(crc, p, (uInt)n);
    if (method != 8)
        return 0;
    z_stream zs = {0};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
        return 0;
    static uint8_t out[65536];
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    for (int rounds = 0; rounds < 256; rounds++) {
        zs.next_out = out;
        zs.avail_out = sizeof out;
        int zr = inflate(&zs, Z_NO_FLUSH);
        crc = crc32(crc, out, (uInt)(sizeof out - zs.avail_out));
        if (zr != Z_OK)
            break;
    }
    inflateEnd(&zs);
    return (uint32_t)crc;
}

/* Rewrite the CRCs of q (central, local, and a signed data descriptor)
 * to match the data. Classic records only; ZIP64 sizes are left alone. */
static void fix_crcs(uint8_t *q, size_t n)
{
    if (n < 22)
        return;
    size_t eocd = n - 22;
    while (eocd > 0 && rd32(q + eocd) != 0x06054b50)
        eocd--;
    if (rd32(q + eocd) != 0x06054b50)
        return;
    size_t off = rd32(q + eocd + 16), count = rd16(q + eocd + 10);
    for (size_t i = 0; i < count && off <= n && n - off >= 46 && rd32(q + off) == 0x02014b50; i++) {
        uint8_t *c = q + off;
        unsigned method = rd16(c + 10), flags = rd16(c + 8);
        size_t csize = rd32(c + 20), loff = rd32(c + 42);
        off += 46 + rd16(c + 28) + rd16(c + 30) + rd16(c + 32);
        if (loff > n || n - loff < 30 || rd32(q + loff) != 0x04034b50)
            continue;
        size_t data = loff + 30 + rd16(q + loff + 26) + rd16(q + loff + 28);
        if (data > n || csize > n - data)
            continue;
        uint32_t crc = data_crc(q + data, csize, method);
        wr32(c + 16, crc);
        wr32(q + loff + 14, (flags & 8) ? 0 : crc);
        if ((flags & 8) && n - (data + csize) >= 8 && rd32(q + data + csize) == 0x08074b50)
            wr32(q + data + csize + 4, crc);
    }
}

static void run_one(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    run_one(data, size);
    uint8_t *q = malloc(size ? size : 1);
    memcpy(q, data, size);
    fix_crcs(q, size);
    if (memcmp(q, data, size) != 0)
        run_one(q, size);
    free(q);
    return 0;
}

static void run_one(const uint8_t *data, size_t size)
{
    /* Small limits keep each run fast; the code paths are the same. */
    lambda_zip_limits_t lim;
    lambda_zip_limits_default(&lim);
    lim.max_unzipped_bytes = 8u << 20;
    lim.max_entries = 2000;
    lambda_zip_summary_t a, b;
    char err[160];
    int rc = lambda_zip_check(data, size, &lim, &a, err, sizeof err);
    if (rc != 0 && (err[0] == '\0' || a.detail[0] == '\0'))
        __builtin_trap(); /* every refusal says why */
    if (lambda_zip_check(data, size, &lim, &b, NULL, 0) != rc)
        __builtin_trap();
    uint32_t mode;
    bool has = lambda_zip_has_file(data, size, "bootstrap", &mode);
    if (has && !S_ISREG(mode) && !S_ISLNK(mode))
        __builtin_trap();

    scratch_make();
    int xrc = lambda_zip_extract(data, size, dest, &lim, false, &b, err, sizeof err);
    if (xrc != rc)
        __builtin_trap(); /* accepted archives extract; refused ones are refused again */
    if (rc == 0 && (a.entries != b.entries || a.unzipped_bytes != b.unzipped_bytes))
        __builtin_trap();
    if (rc != 0 && entries_in(dest) != 0)
        __builtin_trap();
    if (entries_in(root) != 1)
        __builtin_trap(); /* something escaped the destination */
    if (rc == 0 && has) {
        char path[160];
        snprintf(path, sizeof path, "%s/bootstrap", dest);
        struct stat st;
        if (lstat(path, &st) != 0 || st.st_mode != mode)
            __builtin_trap(); /* has_file reports the mode on disk */
    }
    scratch_remove();
}
