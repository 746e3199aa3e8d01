/*
 * Lambda code zips: a small ZIP reader over zlib's raw inflate, written from
 * the PKWARE APPNOTE (sections 4.3 and 4.4: records; 4.5.3: ZIP64 extra).
 *
 * The archive is already in memory, so the reader works on offsets into it
 * and never copies names. A check runs in passes, cheapest first, and the
 * first failure ends it:
 *
 *   1. the end of central directory record (and the ZIP64 one, when its
 *      locator is there), which must end the archive exactly and say where
 *      the central directory is: it must end where they begin;
 *   2. each central directory record: method, encryption, sizes, name rules,
 *      file type from the unix mode; declared sizes against the limits;
 *   3. each local header: inside the archive, before the central directory,
 *      agreeing with its central record, and no two entries' byte ranges
 *      (header, data, data descriptor) overlapping, which is what defeats
 *      the overlapping-entries kind of zip bomb;
 *   4. names sorted: no duplicates, and nothing under a file or a symlink of
 *      the archive, so extraction never goes through a link it made;
 *   5. every entry inflated into a fixed buffer: exactly its declared size
 *      and its CRC-32; symlink targets are kept (they are small and capped);
 *   6. every symlink resolved the way the kernel would, through the
 *      archive's other symlinks, without ever climbing above the root.
 *
 * Extraction repeats the check, then makes directories, files and finally
 * symlinks with *at() calls on directory descriptors opened with O_NOFOLLOW.
 * Nothing here recurses: loops with explicit bounds only.
 */
#include "services/lambda/codezip.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZLIB_CONST /* next_in points into the caller's const archive */
#include <zlib.h>

#include "core/banned.h"

/* ==== format constants (APPNOTE 4.3) ==== */

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_DESCRIPTOR 0x08074b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u

#define LOCAL_LEN 30
#define CENTRAL_LEN 46
#define EOCD_LEN 22
#define EOCD64_LEN 56
#define LOCATOR64_LEN 20

#define FLAG_ENCRYPTED 0x0001u
#define FLAG_DESCRIPTOR 0x0008u
#define FLAG_STRONG_ENCRYPTION 0x0040u
#define FLAG_MASKED_HEADERS 0x2000u /* central directory encryption */

#define METHOD_STORED 0
#define METHOD_DEFLATED 8
#define METHOD_AES 99 /* WinZip AES: always encrypted */

#define EXTRA_ZIP64 0x0001u
#define HOST_UNIX 3
#define HOST_DARWIN 19

/* Symlink targets of one archive are held in memory for resolution; real
 * packages (node_modules/.bin, Python venvs) have a few KiB of them. */
#define LINK_BYTES_MAX (1024 * 1024)
/* Symlinks followed while resolving one, as Linux's MAXSYMLINKS. */
#define LINK_HOPS_MAX 40
/* Path components visited while resolving all the archive's symlinks (each
 * a binary search over the names): a node_modules with 20000 .bin links
 * takes about 100000; the budget keeps crafted chains of long links to a
 * second or so. */
#define LINK_STEPS_MAX (1u << 20)
/* A resolved path may be longer than any one name, but not without bound. */
#define LINK_RESOLVED_MAX (3 * (LAMBDA_ZIP_MAX_PATH + 1))

#define INFLATE_CHUNK (64 * 1024)

enum { KIND_FILE, KIND_DIR, KIND_LINK };

/* One central directory record, checked. Names are views into the archive. */
typedef struct zent {
    const uint8_t *name; /* without the trailing '/' of a directory */
    uint32_t name_len;
    uint32_t raw_name_len; /* as stored, for comparing with the local header */
    uint8_t kind;          /* KIND_* */
    bool made;             /* extraction created it (for undoing a failure) */
    uint16_t method;
    uint16_t flags;
    uint16_t perm;      /* permission bits on disk */
    uint32_t crc;
    uint64_t csize;     /* compressed bytes */
    uint64_t usize;     /* bytes once inflated */
    uint64_t local_off; /* local header */
    uint64_t data_off;  /* first compressed byte */
    uint64_t end;       /* one past the entry's last byte, data descriptor included */
    uint32_t link_off;  /* symlinks: the target, in the scan's link buffer */
} zent_t;

typedef struct zctx {
    const uint8_t *p;
    uint64_t len;
    lambda_zip_limits_t lim;
    lambda_zip_summary_t *sum; /* never NULL */
    char *err;
    size_t errcap;
} zctx_t;

typedef struct zscan {
    zent_t *ents;    /* n, in central directory order */
    zent_t **byname; /* n, sorted by name */
    uint32_t n;
    uint64_t cd_off; /* where the central directory starts: entries end before */
    buf_t links;     /* symlink targets, back to back */
    z_stream zs;
    bool zs_ready;
    uint8_t *out; /* INFLATE_CHUNK bytes */
} zscan_t;

/* ==== small helpers ==== */

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (unsigned)p[1] << 8); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* Is [off, off + n) inside [0, limit)? Written so that nothing overflows. */
static inline bool fits(uint64_t off, uint64_t n, uint64_t limit) { return off <= limit && n <= limit - off; }

/* A name made printable and short for kyoka's log. */
static const char *loggable(const uint8_t *s, size_t n, char out[72])
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < 64; i++)
        out[o++] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' ? (char)s[i] : '?';
    if (o < n)
        out[o++] = '~';
    out[o] = '\0';
    return out;
}

/* Copy msg into out[cap], cut short if need be, always terminated. */
static void copy_out(char *out, size_t cap, const char *msg)
{
    if (!out || cap == 0)
        return;
    size_t n = strlen(msg);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
}

static void put_err(zctx_t *z, const char *msg) { copy_out(z->err, z->errcap, msg); }

/* Record a refusal: Lambda's message for the client, kyoka's detail for the
 * log. Returns rc so callers can `return refuse(...)`. */
static int refuse(zctx_t *z, int rc, const char *aws_msg, const char *fmt, ...) KYOKA_PRINTF(4, 5);
static int refuse(zctx_t *z, int rc, const char *aws_msg, const char *fmt, ...)
{
    put_err(z, aws_msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(z->sum->detail, sizeof z->sum->detail, fmt, ap);
    va_end(ap);
    return rc;
}

#define BAD(z, ...) refuse((z), KYOKA_EPARSE, LAMBDA_ZIP_MSG_BAD, __VA_ARGS__)

/* Lambda names the limit in its message. */
static int refuse_size(zctx_t *z, const zent_t *at)
{
    char msg[96], show[72];
    unsigned long long max = (unsigned long long)z->lim.max_unzipped_bytes;
    snprintf(msg, sizeof msg, "Unzipped size must be smaller than %llu bytes", max);
    return refuse(z, KYOKA_ELIMIT, msg, "entries inflate to %llu bytes or more (at \"%s\")", max,
                  loggable(at->name, at->name_len, show));
}

static const char *method_name(unsigned m)
{
    switch (m) {
    case 1: return "Shrink";
    case 6: return "Implode";
    case 9: return "Deflate64";
    case 12: return "bzip2";
    case 14: return "LZMA";
    case 93: return "Zstandard";
    case 95: return "XZ";
    case 98: return "PPMd";
    default: return "unknown";
    }
}

static int name_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int on_cmp_name(const void *x, const void *y)
{
    const zent_t *a = *(const zent_t *const *)x, *b = *(const zent_t *const *)y;
    return name_cmp(a->name, a->name_len, b->name, b->name_len);
}

static int on_cmp_offset(const void *x, const void *y)
{
    const zent_t *a = *(const zent_t *const *)x, *b = *(const zent_t *const *)y;
    return a->local_off < b->local_off ? -1 : a->local_off > b->local_off;
}

/* First index in s->byname whose name is >= key. */
static uint32_t lower_bound(const zscan_t *s, const uint8_t *key, size_t klen)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const zent_t *e = s->byname[mid];
        if (name_cmp(e->name, e->name_len, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const zent_t *lookup(const zscan_t *s, const uint8_t *key, size_t klen)
{
    uint32_t i = lower_bound(s, key, klen);
    if (i < s->n && name_cmp(s->byname[i]->name, s->byname[i]->name_len, key, klen) == 0)
        return s->byname[i];
    return NULL;
}

/* zlib allocates through kyoka's wrappers, so it cannot fail half way. */
static voidpf on_zalloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return xcalloc(items, size);
}
static void on_zfree(voidpf opaque, voidpf p)
{
    (void)opaque;
    free(p);
}

/* ==== pass 1: end of central directory ==== */

typedef struct zdir {
    uint64_t count;
    uint64_t cd_off;
    uint64_t cd_end; /* where the ZIP64 or classic end record starts */
} zdir_t;

static int find_directory(zctx_t *z, zdir_t *d)
{
    const uint8_t *p = z->p;
    if (z->len < EOCD_LEN)
        return BAD(z, "%llu bytes is too short to be a zip archive", (unsigned long long)z->len);
    /* The record ends the archive: its comment (at most 65535 bytes) must run
     * exactly to the last byte. Scanning from the end, the first signature
     * whose comment length fits is the one; a signature inside a comment
     * would need a comment length that fits too. */
    uint64_t lowest = z->len - EOCD_LEN > 0xffff ? z->len - EOCD_LEN - 0xffff : 0;
    uint64_t eocd = UINT64_MAX;
    for (uint64_t pos = z->len - EOCD_LEN;; pos--) {
        if (rd32(p + pos) == SIG_EOCD && pos + EOCD_LEN + rd16(p + pos + 20) == z->len) {
            eocd = pos;
            break;
        }
        if (pos == lowest)
            break;
    }
    if (eocd == UINT64_MAX)
        return BAD(z, "no end of central directory record: not a zip archive");
    const uint8_t *e = p + eocd;
    uint32_t disk = rd16(e + 4), cd_disk = rd16(e + 6);
    uint64_t n_disk = rd16(e + 8), n = rd16(e + 10), cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    uint64_t cd_end = eocd;

    if (eocd >= LOCATOR64_LEN && rd32(p + eocd - LOCATOR64_LEN) == SIG_LOCATOR64) {
        const uint8_t *loc = p + eocd - LOCATOR64_LEN;
        uint64_t rec = rd64(loc + 8), loc_off = eocd - LOCATOR64_LEN;
        uint32_t disks = rd32(loc + 16);
        if (rd32(loc + 4) != 0 || disks > 1)
            return BAD(z, "ZIP64 locator names another disk: spanned archives are not supported");
        if (!fits(rec, EOCD64_LEN, loc_off) || rd32(p + rec) != SIG_EOCD64)
            return BAD(z, "ZIP64 locator points at no ZIP64 end record");
        const uint8_t *r = p + rec;
        uint64_t rec_size = rd64(r + 4);
        /* The record (12 bytes of signature and size, then rec_size bytes)
         * runs up to the locator. */
        if (rec_size < EOCD64_LEN - 12 || rec_size != loc_off - rec - 12)
            return BAD(z, "ZIP64 end record size %llu does not reach its locator", (unsigned long long)rec_size);
        uint64_t n64_disk = rd64(r + 24), n64 = rd64(r + 32), size64 = rd64(r + 40), off64 = rd64(r + 48);
        if (rd32(r + 16) != 0 || rd32(r + 20) != 0)
            return BAD(z, "ZIP64 end record names another disk: spanned archives are not supported");
        /* Each classic field either says "see ZIP64" or agrees with it. */
        if ((n != 0xffff && n != n64) || (n_disk != 0xffff && n_disk != n64_disk) ||
            (cd_size != 0xffffffff && cd_size != size64) || (cd_off != 0xffffffff && cd_off != off64))
            return BAD(z, "end records disagree with the ZIP64 end record");
        if ((disk != 0xffff && disk != 0) || (cd_disk != 0xffff && cd_disk != 0))
            return BAD(z, "end record names another disk: spanned archives are not supported");
        n = n64, n_disk = n64_disk, cd_size = size64, cd_off = off64;
        cd_end = rec;
    } else if (disk != 0 || cd_disk != 0) {
        return BAD(z, "end record names another disk: spanned archives are not supported");
    }
    if (n_disk != n)
        return BAD(z, "end record counts %llu entries on this disk of %llu", (unsigned long long)n_disk,
                   (unsigned long long)n);
    /* Strict: the central directory ends where the end records begin, so
     * there is no room for anything unaccounted for, and nothing was
     * prepended to shift the offsets. */
    if (cd_off > cd_end || cd_size != cd_end - cd_off)
        return BAD(z, "central directory (offset %llu, %llu bytes) does not end at the end record (offset %llu)",
                   (unsigned long long)cd_off, (unsigned long long)cd_size, (unsigned long long)cd_end);
    if (n == 0)
        return refuse(z, KYOKA_EPARSE, LAMBDA_ZIP_MSG_EMPTY, "the archive has no entries");
    if (n > z->lim.max_entries)
        return refuse(z, KYOKA_ELIMIT, LAMBDA_ZIP_MSG_BAD, "%llu entries, more than the limit of %u",
                      (unsigned long long)n, z->lim.max_entries);
    if (n > cd_size / CENTRAL_LEN)
        return BAD(z, "%llu entries cannot fit in a central directory of %llu bytes", (unsigned long long)n,
                   (unsigned long long)cd_size);
    d->count = n;
    d->cd_off = cd_off;
    d->cd_end = cd_end;
    return 0;
}

/* ==== pass 2: central directory records ==== */

/* The ZIP64 extended information among the extra fields [x, x + xlen), or
 * NULL. Returns -1 if the extra fields do not parse. A tail of under 4 bytes
 * is tolerated: some aligners pad with zeros. */
static int find_zip64(const uint8_t *x, size_t xlen, const uint8_t **data, size_t *dlen)
{
    *data = NULL;
    *dlen = 0;
    size_t i = 0;
    while (xlen - i >= 4) {
        unsigned tag = rd16(x + i), sz = rd16(x + i + 2);
        if (sz > xlen - i - 4)
            return -1;
        if (tag == EXTRA_ZIP64) {
            if (*data)
                return -1;
            *data = x + i + 4;
            *dlen = sz;
        }
        i += 4 + sz;
    }
    return 0;
}

/* Replace the fields that hold the ZIP64 sentinel with their values from
 * the ZIP64 extra, which holds exactly those, in this order (APPNOTE
 * 4.5.3). Any pointer may be NULL when the header has no such field. */
static int apply_zip64(const uint8_t *x, size_t xlen, uint64_t *usize, uint64_t *csize, uint64_t *off, uint32_t *disk)
{
    const uint8_t *d;
    size_t dlen, at = 0;
    if (find_zip64(x, xlen, &d, &dlen) < 0)
        return -1;
    uint64_t *const fields[3] = {usize, csize, off};
    for (int i = 0; i < 3; i++) {
        if (!fields[i] || *fields[i] != 0xffffffffu)
            continue;
        if (!d || dlen - at < 8)
            return -1;
        *fields[i] = rd64(d + at);
        at += 8;
    }
    if (disk && *disk == 0xffff) {
        if (!d || dlen - at < 4)
            return -1;
        *disk = rd32(d + at);
    }
    return 0;
}

/* Name rules: relative, '/'-separated, no empty, "." or ".." component, no
 * backslash (Windows separators would turn into odd names here, and a name
 * unzip tools treat as a path elsewhere), no NUL, within Linux's lengths.
 * A trailing '/' marks a directory and is dropped from the view. */
static int check_name(zctx_t *z, const uint8_t *name, size_t len, bool *dir)
{
    char show[72];
    *dir = len > 0 && name[len - 1] == '/';
    if (*dir)
        len--;
    if (len == 0)
        return BAD(z, *dir ? "an entry is named \"/\"" : "an entry has an empty name");
    if (name[0] == '/')
        return BAD(z, "entry \"%s\" has an absolute path", loggable(name, len, show));
    if (len > LAMBDA_ZIP_MAX_PATH)
        return BAD(z, "entry \"%s\" has a name of %zu bytes, more than %d", loggable(name, len, show), len,
                   LAMBDA_ZIP_MAX_PATH);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] == '\0')
            return BAD(z, "entry \"%s\" has a NUL byte in its name", loggable(name, len, show));
        if (i < len && name[i] == '\\')
            return BAD(z, "entry \"%s\" has a backslash in its name", loggable(name, len, show));
        if (i < len && name[i] != '/')
            continue;
        size_t clen = i - start;
        const uint8_t *c = name + start;
        if (clen == 0)
            return BAD(z, "entry \"%s\" has an empty path component", loggable(name, len, show));
        if ((clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
            return BAD(z, "entry \"%s\" has a \".\" or \"..\" path component", loggable(name, len, show));
        if (clen > LAMBDA_ZIP_MAX_COMPONENT)
            return BAD(z, "entry \"%s\" has a path component of %zu bytes", loggable(name, len, show), clen);
        start = i + 1;
    }
    return 0;
}

/* Parse and check the central record at *off (below cd_end) into e, and
 * move *off past it. */
static int read_central(zctx_t *z, uint64_t *off, uint64_t cd_end, zent_t *e)
{
    const uint8_t *p = z->p;
    char show[72];
    if (!fits(*off, CENTRAL_LEN, cd_end) || rd32(p + *off) != SIG_CENTRAL)
        return BAD(z, "no central directory record at offset %llu", (unsigned long long)*off);
    const uint8_t *h = p + *off;
    unsigned made_by = rd16(h + 4), flags = rd16(h + 8), method = rd16(h + 10);
    size_t nlen = rd16(h + 28), xlen = rd16(h + 30), clen = rd16(h + 32);
    uint32_t disk = rd16(h + 34), ext = rd32(h + 38);
    uint64_t csize = rd32(h + 20), usize = rd32(h + 24), loff = rd32(h + 42);
    if (!fits(*off, CENTRAL_LEN + nlen + xlen + clen, cd_end))
        return BAD(z, "central directory record at offset %llu runs past the directory", (unsigned long long)*off);
    const uint8_t *name = h + CENTRAL_LEN;
    if (apply_zip64(name + nlen, xlen, &usize, &csize, &loff, &disk) < 0)
        return BAD(z, "entry \"%s\" has malformed extra fields", loggable(name, nlen, show));
    if ((flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS)) || method == METHOD_AES)
        return BAD(z, "entry \"%s\" is encrypted", loggable(name, nlen, show));
    if (method != METHOD_STORED && method != METHOD_DEFLATED)
        return BAD(z, "entry \"%s\" uses compression method %u (%s); only stored and deflated are supported",
                   loggable(name, nlen, show), method, method_name(method));
    if (disk != 0)
        return BAD(z, "entry \"%s\" is on another disk: spanned archives are not supported",
                   loggable(name, nlen, show));
    if (method == METHOD_STORED && csize != usize)
        return BAD(z, "stored entry \"%s\" has %llu compressed bytes for %llu", loggable(name, nlen, show),
                   (unsigned long long)csize, (unsigned long long)usize);
    bool dir;
    int rc = check_name(z, name, nlen, &dir);
    if (rc)
        return rc;

    /* The unix mode sits in the high half of the external attributes when
     * the archive was made on unix (Info-ZIP, Python, Go and Java all do
     * so); other hosts leave DOS attributes there. */
    unsigned host = made_by >> 8;
    uint32_t mode = host == HOST_UNIX || host == HOST_DARWIN ? ext >> 16 : 0;
    uint32_t type = mode & S_IFMT;
    memset(e, 0, sizeof *e);
    if (dir || type == S_IFDIR) {
        e->kind = KIND_DIR;
        e->perm = 0755;
        if (usize != 0)
            return BAD(z, "directory \"%s\" has %llu bytes of data", loggable(name, nlen, show),
                       (unsigned long long)usize);
    } else if (type == S_IFLNK) {
        e->kind = KIND_LINK;
        e->perm = 0777;
        if (usize == 0 || usize > LAMBDA_ZIP_MAX_PATH)
            return BAD(z, "symlink \"%s\" has a target of %llu bytes", loggable(name, nlen, show),
                       (unsigned long long)usize);
    } else if (type == 0 || type == S_IFREG) {
        /* Lambda needs code readable by all (its runtime user is not the
         * file's owner); the execute bits are the archive's. */
        e->kind = KIND_FILE;
        e->perm = (uint16_t)(0644 | (mode & 0111));
    } else {
        return BAD(z, "entry \"%s\" is a device, FIFO or socket (mode %06o)", loggable(name, nlen, show), mode);
    }
    e->name = name;
    e->name_len = (uint32_t)(dir ? nlen - 1 : nlen);
    e->raw_name_len = (uint32_t)nlen;
    e->method = (uint16_t)method;
    e->flags = (uint16_t)flags;
    e->crc = rd32(h + 16);
    e->csize = csize;
    e->usize = usize;
    e->local_off = loff;
    *off += CENTRAL_LEN + nlen + xlen + clen;
    return 0;
}

/* ==== pass 3: local headers and byte ranges ==== */

/* Length of the data descriptor of e at `at`, or 0 if there is none that
 * matches. Writers differ on the optional signature and on 4- or 8-byte
 * sizes, so each form is tried; the CRC and both sizes must match the
 * central record. */
static uint64_t descriptor_len(const zctx_t *z, uint64_t at, uint64_t limit, const zent_t *e)
{
    for (int sig = 1; sig >= 0; sig--) {
        for (int wide = 0; wide <= 1; wide++) {
            uint64_t need = (sig ? 4 : 0) + 4 + (wide ? 16 : 8);
            if (!fits(at, need, limit))
                continue;
            const uint8_t *d = z->p + at;
            if (sig && rd32(d) != SIG_DESCRIPTOR)
                continue;
            d += sig ? 4 : 0;
            uint64_t cs = wide ? rd64(d + 4) : rd32(d + 4);
            uint64_t us = wide ? rd64(d + 12) : rd32(d + 8);
            if (rd32(d) == e->crc && cs == e->csize && us == e->usize)
                return need;
        }
    }
    return 0;
}

static int read_local(zctx_t *z, uint64_t cd_off, zent_t *e)
{
    const uint8_t *p = z->p;
    char show[72];
    loggable(e->name, e->name_len, show);
    if (!fits(e->local_off, LOCAL_LEN, cd_off) || rd32(p + e->local_off) != SIG_LOCAL)
        return BAD(z, "entry \"%s\": no local header at offset %llu", show, (unsigned long long)e->local_off);
    const uint8_t *h = p + e->local_off;
    unsigned flags = rd16(h + 6), method = rd16(h + 8);
    size_t nlen = rd16(h + 26), xlen = rd16(h + 28);
    if (!fits(e->local_off, LOCAL_LEN + nlen + xlen, cd_off))
        return BAD(z, "entry \"%s\": local header runs into the central directory", show);
    if (nlen != e->raw_name_len || memcmp(h + LOCAL_LEN, e->name, nlen) != 0)
        return BAD(z, "entry \"%s\": local header names another file", show);
    if (method != e->method || ((flags ^ e->flags) & (FLAG_ENCRYPTED | FLAG_DESCRIPTOR)))
        return BAD(z, "entry \"%s\": local header disagrees with the central directory on method or flags", show);
    e->data_off = e->local_off + LOCAL_LEN + nlen + xlen;
    if (!fits(e->data_off, e->csize, cd_off))
        return BAD(z, "entry \"%s\": %llu bytes of data run into the central directory", show,
                   (unsigned long long)e->csize);
    uint64_t data_end = e->data_off + e->csize;
    if (flags & FLAG_DESCRIPTOR) {
        /* Sizes and CRC follow the data; the local ones may be zeros. */
        uint64_t dd = descriptor_len(z, data_end, cd_off, e);
        if (dd == 0)
            return BAD(z, "entry \"%s\": no data descriptor matching the central directory", show);
        e->end = data_end + dd;
        return 0;
    }
    uint64_t cs = rd32(h + 18), us = rd32(h + 22);
    if (apply_zip64(h + LOCAL_LEN + nlen, xlen, &us, &cs, NULL, NULL) < 0)
        return BAD(z, "entry \"%s\": malformed extra fields in its local header", show);
    if (rd32(h + 14) != e->crc || cs != e->csize || us != e->usize)
        return BAD(z, "entry \"%s\": local header disagrees with the central directory on CRC or sizes", show);
    e->end = data_end;
    return 0;
}

/* ==== pass 5: inflating ==== */

/* Where inflated bytes go: NULL for a check, else a sink (a file). */
typedef int (*sink_fn)(void *ctx, const uint8_t *p, size_t n);

/* Inflate e completely, to exactly its declared size and CRC, handing the
 * bytes to sink (may be NULL). A sink error is returned as is. */
static int inflate_entry(zctx_t *z, zscan_t *s, const zent_t *e, sink_fn sink, void *sctx)
{
    char show[72];
    const uint8_t *src = z->p + e->data_off;
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t got = 0;
    int rc;
    if (e->method == METHOD_STORED) {
        while (got < e->usize) {
            size_t n = e->usize - got > INFLATE_CHUNK ? INFLATE_CHUNK : (size_t)(e->usize - got);
            crc = crc32(crc, src + got, (uInt)n);
            if (sink && (rc = sink(sctx, src + got, n)) != 0)
                return rc;
            got += n;
        }
    } else if (e->csize == 0 && e->usize == 0) {
        /* Not a valid deflate stream, but some writers store an empty file
         * so; there is nothing to inflate. */
    } else {
        z_stream *zs = &s->zs;
        if (inflateReset(zs) != Z_OK)
            return BAD(z, "inflate could not start");
        uint64_t fed = 0;
        for (;;) {
            if (zs->avail_in == 0 && fed < e->csize) {
                uint64_t n = e->csize - fed > (1u << 30) ? (1u << 30) : e->csize - fed;
                zs->next_in = src + fed;
                zs->avail_in = (uInt)n;
                fed += n;
            }
            zs->next_out = s->out;
            zs->avail_out = INFLATE_CHUNK;
            int zr = inflate(zs, Z_NO_FLUSH);
            size_t made = INFLATE_CHUNK - zs->avail_out;
            /* Held to the declared size, so a size lie costs no more than
             * the lie itself: the declared sizes passed the limits. */
            if (made > e->usize - got)
                return BAD(z, "entry \"%s\" inflates past its declared %llu bytes",
                           loggable(e->name, e->name_len, show), (unsigned long long)e->usize);
            if (made) {
                crc = crc32(crc, s->out, (uInt)made);
                if (sink && (rc = sink(sctx, s->out, made)) != 0)
                    return rc;
                got += made;
            }
            if (zr == Z_STREAM_END)
                break;
            if (zr == Z_BUF_ERROR && zs->avail_in == 0 && fed == e->csize)
                return BAD(z, "entry \"%s\": deflate data ends early", loggable(e->name, e->name_len, show));
            if (zr != Z_OK && zr != Z_BUF_ERROR)
                return BAD(z, "entry \"%s\": corrupt deflate data (%s)", loggable(e->name, e->name_len, show),
                           zs->msg ? zs->msg : "inflate error");
        }
        if (zs->avail_in != 0 || fed != e->csize)
            return BAD(z, "entry \"%s\": bytes left over after its deflate data", loggable(e->name, e->name_len, show));
    }
    if (got != e->usize)
        return BAD(z, "entry \"%s\" inflates to %llu bytes, not the declared %llu", loggable(e->name, e->name_len, show),
                   (unsigned long long)got, (unsigned long long)e->usize);
    if ((uint32_t)crc != e->crc)
        return BAD(z, "entry \"%s\": CRC-32 %08x does not match the declared %08x",
                   loggable(e->name, e->name_len, show), (unsigned)crc, (unsigned)e->crc);
    return 0;
}

static int on_sink_link(void *ctx, const uint8_t *p, size_t n) { return buf_append(ctx, p, n); }

/* ==== pass 6: symlinks ==== */

/* Resolve symlink l as the kernel would, following the archive's other
 * symlinks (the entries checked so far guarantee none lies under another),
 * and refuse it if it ever climbs above the root. Components that do not
 * exist in the archive are taken literally; that is stricter than the
 * kernel, which would stop there. *steps is the budget shared by all. */
static int resolve_link(zctx_t *z, const zscan_t *s, const zent_t *l, uint32_t *steps)
{
    char show[72];
    loggable(l->name, l->name_len, show);
    char res[LINK_RESOLVED_MAX];
    size_t rlen = 0;
    for (size_t i = l->name_len; i > 0; i--) {
        if (l->name[i - 1] == '/') {
            rlen = i - 1;
            break;
        }
    }
    memcpy(res, l->name, rlen);
    struct pending {
        const char *p;
        size_t len;
    } todo[LINK_HOPS_MAX + 1];
    int top = 0, hops = 0;
    todo[0].p = s->links.data + l->link_off;
    todo[0].len = l->usize;
    while (top >= 0) {
        struct pending *t = &todo[top];
        if (t->len == 0) {
            top--;
            continue;
        }
        const char *c = t->p, *slash = memchr(c, '/', t->len);
        size_t clen = slash ? (size_t)(slash - c) : t->len;
        t->p += slash ? clen + 1 : clen;
        t->len -= slash ? clen + 1 : clen;
        if (*steps == 0)
            return refuse(z, KYOKA_ELIMIT, LAMBDA_ZIP_MSG_BAD, "symlinks too costly to resolve (at \"%s\")", show);
        --*steps;
        if (clen == 0 || (clen == 1 && c[0] == '.'))
            continue;
        if (clen == 2 && c[0] == '.' && c[1] == '.') {
            if (rlen == 0)
                return BAD(z, "symlink \"%s\" points outside the archive", show);
            while (rlen > 0 && res[rlen - 1] != '/')
                rlen--;
            if (rlen > 0)
                rlen--;
            continue;
        }
        size_t before = rlen;
        if (rlen + 1 + clen > sizeof res)
            return BAD(z, "symlink \"%s\" resolves to too long a path", show);
        if (rlen)
            res[rlen++] = '/';
        memcpy(res + rlen, c, clen);
        rlen += clen;
        const zent_t *hit = lookup(s, (const uint8_t *)res, rlen);
        if (hit && hit->kind == KIND_LINK) {
            if (++hops > LINK_HOPS_MAX)
                return BAD(z, "symlink \"%s\" goes through more than %d symlinks (a loop?)", show, LINK_HOPS_MAX);
            rlen = before; /* a link's target is relative to its directory */
            todo[++top] = (struct pending){s->links.data + hit->link_off, hit->usize};
        }
    }
    return 0;
}

/* ==== the check, all passes ==== */

static void scan_init(zctx_t *z, zscan_t *s, const void *zip, size_t len, const lambda_zip_limits_t *lim,
                      lambda_zip_summary_t *out, lambda_zip_summary_t *spare, char *err, size_t errcap)
{
    memset(z, 0, sizeof *z);
    memset(s, 0, sizeof *s);
    z->p = zip;
    z->len = zip ? len : 0;
    if (lim)
        z->lim = *lim;
    else
        lambda_zip_limits_default(&z->lim);
    z->sum = out ? out : spare;
    memset(z->sum, 0, sizeof *z->sum);
    z->err = err;
    z->errcap = errcap;
    if (err && errcap)
        err[0] = '\0';
    buf_init(&s->links, LINK_BYTES_MAX);
}

static void scan_destroy(zscan_t *s)
{
    free(s->ents);
    free(s->byname);
    free(s->out);
    buf_destroy(&s->links);
    if (s->zs_ready)
        inflateEnd(&s->zs);
}

static int scan(zctx_t *z, zscan_t *s)
{
    char show[72];
    if (z->len == 0)
        return refuse(z, KYOKA_EPARSE, LAMBDA_ZIP_MSG_EMPTY, "the upload is empty");
    zdir_t d;
    int rc = find_directory(z, &d);
    if (rc)
        return rc;
    s->n = (uint32_t)d.count;
    s->cd_off = d.cd_off;
    s->ents = xcalloc(s->n, sizeof *s->ents);
    s->byname = xmalloc(s->n * sizeof *s->byname);

    /* Pass 2, with the declared sizes against the limits before any work. */
    uint64_t off = d.cd_off, declared = 0, link_bytes = 0;
    lambda_zip_summary_t *sum = z->sum;
    for (uint32_t i = 0; i < s->n; i++) {
        zent_t *e = &s->ents[i];
        if ((rc = read_central(z, &off, d.cd_end, e)) != 0)
            return rc;
        s->byname[i] = e;
        if (declared >= z->lim.max_unzipped_bytes || e->usize >= z->lim.max_unzipped_bytes - declared)
            return refuse_size(z, e);
        declared += e->usize;
        uint64_t ratio = z->lim.max_ratio;
        if (ratio && e->usize > z->lim.ratio_floor_bytes && e->csize < UINT64_MAX / ratio &&
            e->usize > ratio * e->csize)
            return refuse(z, KYOKA_ELIMIT, LAMBDA_ZIP_MSG_BAD,
                          "entry \"%s\" inflates %llu bytes from %llu, more than %u times (a zip bomb?)",
                          loggable(e->name, e->name_len, show), (unsigned long long)e->usize,
                          (unsigned long long)e->csize, z->lim.max_ratio);
        if (e->kind == KIND_LINK && (link_bytes += e->usize) > LINK_BYTES_MAX)
            return refuse(z, KYOKA_ELIMIT, LAMBDA_ZIP_MSG_BAD, "symlink targets take more than %d bytes",
                          LINK_BYTES_MAX);
        sum->files += e->kind == KIND_FILE;
        sum->dirs += e->kind == KIND_DIR;
        sum->symlinks += e->kind == KIND_LINK;
    }
    if (off != d.cd_end)
        return BAD(z, "%llu bytes after the last central directory record", (unsigned long long)(d.cd_end - off));

    /* Pass 3: byte ranges, in archive order, must not overlap. */
    for (uint32_t i = 0; i < s->n; i++)
        if ((rc = read_local(z, d.cd_off, &s->ents[i])) != 0)
            return rc;
    qsort(s->byname, s->n, sizeof *s->byname, on_cmp_offset);
    for (uint32_t i = 1; i < s->n; i++) {
        const zent_t *a = s->byname[i - 1], *b = s->byname[i];
        char show2[72];
        if (b->local_off < a->end)
            return BAD(z, "entries \"%s\" and \"%s\" overlap in the archive", loggable(a->name, a->name_len, show),
                       loggable(b->name, b->name_len, show2));
    }

    /* Pass 4: names. A name under a file or a symlink of the archive would
     * be written through it (or fail), so "x" and "x/y" cannot both be. */
    qsort(s->byname, s->n, sizeof *s->byname, on_cmp_name);
    uint8_t key[LAMBDA_ZIP_MAX_PATH + 2];
    for (uint32_t i = 0; i < s->n; i++) {
        const zent_t *e = s->byname[i];
        if (i > 0 && name_cmp(s->byname[i - 1]->name, s->byname[i - 1]->name_len, e->name, e->name_len) == 0)
            return BAD(z, "entry \"%s\" appears twice", loggable(e->name, e->name_len, show));
        if (e->kind == KIND_DIR)
            continue;
        memcpy(key, e->name, e->name_len);
        key[e->name_len] = '/';
        uint32_t j = lower_bound(s, key, e->name_len + 1);
        if (j < s->n && s->byname[j]->name_len > e->name_len && memcmp(s->byname[j]->name, key, e->name_len + 1) == 0)
            return BAD(z, "entry \"%s\" is a %s, and other entries are inside it", loggable(e->name, e->name_len, show),
                       e->kind == KIND_LINK ? "symlink" : "file");
    }

    /* Pass 5: inflate everything, in archive order. */
    s->out = xmalloc(INFLATE_CHUNK);
    s->zs.zalloc = on_zalloc;
    s->zs.zfree = on_zfree;
    if (inflateInit2(&s->zs, -MAX_WBITS) != Z_OK)
        return BAD(z, "inflate could not start");
    s->zs_ready = true;
    for (uint32_t i = 0; i < s->n; i++) {
        zent_t *e = &s->ents[i];
        bool link = e->kind == KIND_LINK;
        e->link_off = (uint32_t)s->links.len;
        if ((rc = inflate_entry(z, s, e, link ? on_sink_link : NULL, &s->links)) != 0)
            return rc == KYOKA_ELIMIT ? BAD(z, "symlink targets too large") : rc;
        /* Inflation is held to the declared sizes, which passed the limit;
         * the count of bytes actually produced is checked all the same. */
        sum->unzipped_bytes += e->usize;
        if (sum->unzipped_bytes >= z->lim.max_unzipped_bytes)
            return refuse_size(z, e);
        if (!link)
            continue;
        const char *t = s->links.data + e->link_off;
        loggable(e->name, e->name_len, show);
        if (t[0] == '/')
            return BAD(z, "symlink \"%s\" has an absolute target", show);
        if (memchr(t, '\0', e->usize) || memchr(t, '\\', e->usize))
            return BAD(z, "symlink \"%s\" has a NUL or a backslash in its target", show);
    }
    /* Pass 6: every symlink stays inside. */
    uint32_t steps = LINK_STEPS_MAX;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->ents[i].kind == KIND_LINK && (rc = resolve_link(z, s, &s->ents[i], &steps)) != 0)
            return rc;
    sum->entries = s->n;
    return 0;
}

void lambda_zip_limits_default(lambda_zip_limits_t *l)
{
    l->max_unzipped_bytes = LAMBDA_ZIP_MAX_UNZIPPED_BYTES;
    l->max_entries = LAMBDA_ZIP_MAX_ENTRIES;
    l->max_ratio = LAMBDA_ZIP_MAX_RATIO;
    l->ratio_floor_bytes = LAMBDA_ZIP_RATIO_FLOOR_BYTES;
}

int lambda_zip_check(const void *zip, size_t len, const lambda_zip_limits_t *lim, lambda_zip_summary_t *out, char *err,
                     size_t errcap)
{
    zctx_t z;
    zscan_t s;
    lambda_zip_summary_t spare;
    scan_init(&z, &s, zip, len, lim, out, &spare, err, errcap);
    int rc = scan(&z, &s);
    scan_destroy(&s);
    if (rc == 0)
        z.sum->detail[0] = '\0';
    return rc;
}

bool lambda_zip_has_file(const void *zip, size_t len, const char *path, uint32_t *mode_out)
{
    zctx_t z;
    zscan_t s;
    lambda_zip_summary_t spare;
    scan_init(&z, &s, zip, len, NULL, NULL, &spare, NULL, 0);
    z.lim.max_entries = UINT32_MAX; /* only finding, not judging */
    bool found = false;
    zdir_t d;
    size_t plen = path ? strlen(path) : 0;
    if (plen > 0 && z.len > 0 && find_directory(&z, &d) == 0) {
        uint64_t off = d.cd_off;
        for (uint64_t i = 0; i < d.count && !found; i++) {
            zent_t e;
            if (read_central(&z, &off, d.cd_end, &e) != 0)
                break;
            if (e.kind != KIND_DIR && e.raw_name_len == plen && memcmp(e.name, path, plen) == 0) {
                found = true;
                if (mode_out)
                    *mode_out = (e.kind == KIND_LINK ? S_IFLNK : S_IFREG) | e.perm;
            }
        }
    }
    scan_destroy(&s);
    return found;
}

/* ==== extraction ==== */

/* Directory descriptors for extraction. Every directory is opened one
 * component at a time with O_NOFOLLOW, so a symlink anywhere on the way
 * (none should be: the check saw to that) fails instead of being followed.
 * The last directory opened is kept, as consecutive entries in name order
 * mostly share it or lie below it; a path below it is opened from it. */
typedef struct dwalk {
    int root;
    int fd; /* the cached directory, or -1 */
    const uint8_t *path;
    size_t len;
} dwalk_t;

static void dwalk_drop(dwalk_t *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->len = 0;
}

/* The directory path[0..len) below the root ("" is the root), or -1 with
 * errno. The descriptor belongs to the walker until its next call. */
static int dwalk_open(dwalk_t *w, const uint8_t *path, size_t len)
{
    if (len == 0)
        return w->root;
    if (w->fd >= 0 && w->len == len && memcmp(w->path, path, len) == 0)
        return w->fd;
    int cur = w->root;
    size_t start = 0;
    if (w->fd >= 0 && w->len < len && path[w->len] == '/' && memcmp(w->path, path, w->len) == 0) {
        cur = w->fd; /* now ours, closed below like any step */
        start = w->len + 1;
        w->fd = -1;
        w->len = 0;
    } else {
        dwalk_drop(w);
    }
    char comp[LAMBDA_ZIP_MAX_COMPONENT + 1];
    for (size_t i = start; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        memcpy(comp, path + start, i - start);
        comp[i - start] = '\0';
        int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        if (cur != w->root)
            close(cur);
        if (next < 0) {
            errno = saved;
            return -1;
        }
        cur = next;
        start = i + 1;
    }
    w->fd = cur;
    w->path = path;
    w->len = len;
    return cur;
}

/* Split name into its directory (length *dlen) and its last component,
 * copied NUL-terminated into base. */
static void split_name(const uint8_t *name, size_t len, size_t *dlen, char base[LAMBDA_ZIP_MAX_COMPONENT + 1])
{
    size_t i = len;
    while (i > 0 && name[i - 1] != '/')
        i--;
    *dlen = i > 0 ? i - 1 : 0;
    memcpy(base, name + i, len - i);
    base[len - i] = '\0';
}

/* A directory to make: every prefix of every name, and directory entries. */
typedef struct dirname {
    const uint8_t *p;
    size_t len;
    bool made;
} dirname_t;

static int on_cmp_dirname(const void *x, const void *y)
{
    const dirname_t *a = x, *b = y;
    return name_cmp(a->p, a->len, b->p, b->len);
}

typedef struct xctx {
    zctx_t *z;
    zscan_t *s;
    dwalk_t w;
    dirname_t *dirs;
    size_t ndirs;
    bool durable;
} xctx_t;

static int io_fail(xctx_t *x, const char *what, const uint8_t *name, size_t len, int errnum)
{
    char show[72], ebuf[128];
    const char *why = strerror_r(errnum, ebuf, sizeof ebuf);
    char msg[256];
    snprintf(msg, sizeof msg, "Could not extract the code: %s \"%s\": %s", what, loggable(name, len, show), why);
    put_err(x->z, msg);
    copy_out(x->z->sum->detail, sizeof x->z->sum->detail, msg);
    return KYOKA_EIO;
}

typedef struct fsink {
    int fd;
    int errnum; /* set when a write failed */
} fsink_t;

static int on_sink_fd(void *ctx, const uint8_t *p, size_t n)
{
    fsink_t *f = ctx;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            f->errnum = w < 0 ? errno : ENOSPC;
            return KYOKA_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int collect_dirs(xctx_t *x)
{
    zscan_t *s = x->s;
    size_t cap = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        const zent_t *e = &s->ents[i];
        cap += e->kind == KIND_DIR;
        for (uint32_t k = 0; k < e->name_len; k++)
            cap += e->name[k] == '/';
    }
    x->dirs = xcalloc(cap ? cap : 1, sizeof *x->dirs);
    size_t n = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        const zent_t *e = &s->ents[i];
        if (e->kind == KIND_DIR)
            x->dirs[n++] = (dirname_t){e->name, e->name_len, false};
        for (uint32_t k = 0; k < e->name_len; k++)
            if (e->name[k] == '/')
                x->dirs[n++] = (dirname_t){e->name, k, false};
    }
    /* Sorted, a directory comes before everything inside it. */
    qsort(x->dirs, n, sizeof *x->dirs, on_cmp_dirname);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || on_cmp_dirname(&x->dirs[u - 1], &x->dirs[i]) != 0)
            x->dirs[u++] = x->dirs[i];
    x->ndirs = u;
    return 0;
}

static int make_dirs(xctx_t *x)
{
    char base[LAMBDA_ZIP_MAX_COMPONENT + 1];
    for (size_t i = 0; i < x->ndirs; i++) {
        dirname_t *d = &x->dirs[i];
        size_t plen;
        split_name(d->p, d->len, &plen, base);
        int parent = dwalk_open(&x->w, d->p, plen);
        if (parent < 0)
            return io_fail(x, "open directory", d->p, plen, errno);
        if (mkdirat(parent, base, 0700) != 0)
            return io_fail(x, "mkdir", d->p, d->len, errno);
        d->made = true;
        /* Set the mode on the directory itself, past the umask. */
        int fd = openat(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            return io_fail(x, "open directory", d->p, d->len, errno);
        /* The new directory becomes the walker's: what comes next in name
         * order is most often inside it. */
        dwalk_drop(&x->w);
        x->w.fd = fd;
        x->w.path = d->p;
        x->w.len = d->len;
        if (fchmod(fd, 0755) != 0)
            return io_fail(x, "chmod", d->p, d->len, errno);
    }
    return 0;
}

static int make_file(xctx_t *x, zent_t *e, int parent, const char *base)
{
    int fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return io_fail(x, "create", e->name, e->name_len, errno);
    e->made = true;
    fsink_t sink = {fd, 0};
    int rc = inflate_entry(x->z, x->s, e, on_sink_fd, &sink);
    if (sink.errnum)
        rc = io_fail(x, "write", e->name, e->name_len, sink.errnum);
    else if (rc == 0 && fchmod(fd, e->perm) != 0)
        rc = io_fail(x, "chmod", e->name, e->name_len, errno);
    else if (rc == 0 && x->durable && fsync(fd) != 0)
        rc = io_fail(x, "fsync", e->name, e->name_len, errno);
    if (close(fd) != 0 && rc == 0)
        rc = io_fail(x, "close", e->name, e->name_len, errno);
    return rc;
}

static int make_entries(xctx_t *x, int kind)
{
    zscan_t *s = x->s;
    char base[LAMBDA_ZIP_MAX_COMPONENT + 1], target[LAMBDA_ZIP_MAX_PATH + 1];
    for (uint32_t i = 0; i < s->n; i++) {
        zent_t *e = s->byname[i];
        if (e->kind != kind)
            continue;
        size_t plen;
        split_name(e->name, e->name_len, &plen, base);
        int parent = dwalk_open(&x->w, e->name, plen);
        if (parent < 0)
            return io_fail(x, "open directory", e->name, plen, errno);
        int rc = 0;
        if (kind == KIND_FILE) {
            rc = make_file(x, e, parent, base);
        } else {
            memcpy(target, s->links.data + e->link_off, e->usize);
            target[e->usize] = '\0';
            if (symlinkat(target, parent, base) != 0)
                rc = io_fail(x, "symlink", e->name, e->name_len, errno);
            else
                e->made = true;
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int sync_dirs(xctx_t *x)
{
    for (size_t i = 0; i < x->ndirs; i++) {
        int fd = dwalk_open(&x->w, x->dirs[i].p, x->dirs[i].len);
        if (fd < 0 || fsync(fd) != 0)
            return io_fail(x, "fsync directory", x->dirs[i].p, x->dirs[i].len, errno);
    }
    if (fsync(x->w.root) != 0)
        return io_fail(x, "fsync directory", (const uint8_t *)".", 1, errno);
    return 0;
}

/* Best effort after a failure: remove what this extraction made, files and
 * links first, then directories deepest first (reverse name order). */
static void undo(xctx_t *x)
{
    char base[LAMBDA_ZIP_MAX_COMPONENT + 1];
    for (uint32_t i = 0; i < x->s->n; i++) {
        zent_t *e = x->s->byname[i];
        if (!e->made)
            continue;
        size_t plen;
        split_name(e->name, e->name_len, &plen, base);
        int parent = dwalk_open(&x->w, e->name, plen);
        if (parent >= 0)
            (void)unlinkat(parent, base, 0);
    }
    for (size_t i = x->ndirs; i > 0; i--) {
        dirname_t *d = &x->dirs[i - 1];
        if (!d->made)
            continue;
        size_t plen;
        split_name(d->p, d->len, &plen, base);
        dwalk_drop(&x->w); /* never hold the directory being removed */
        int parent = dwalk_open(&x->w, d->p, plen);
        if (parent >= 0)
            (void)unlinkat(parent, base, AT_REMOVEDIR);
    }
}

static int open_empty_dir(xctx_t *x, const char *dest)
{
    char ebuf[128], msg[256];
    int fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, sizeof msg, "Could not extract the code: %s: %s", dest, strerror_r(errno, ebuf, sizeof ebuf));
        put_err(x->z, msg);
        copy_out(x->z->sum->detail, sizeof x->z->sum->detail, msg);
        return -1;
    }
    int dfd = dup(fd);
    DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
    bool empty = dir != NULL;
    struct dirent *de;
    while (dir && (de = readdir(dir)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            empty = false;
    if (dir)
        closedir(dir);
    else if (dfd >= 0)
        close(dfd);
    if (!empty) {
        snprintf(msg, sizeof msg, "Could not extract the code: %s is not an empty directory", dest);
        put_err(x->z, msg);
        copy_out(x->z->sum->detail, sizeof x->z->sum->detail, msg);
        close(fd);
        return -1;
    }
    return fd;
}

int lambda_zip_extract(const void *zip, size_t len, const char *dest_dir, const lambda_zip_limits_t *lim, bool durable,
                       lambda_zip_summary_t *out, char *err, size_t errcap)
{
    zctx_t z;
    zscan_t s;
    lambda_zip_summary_t spare;
    scan_init(&z, &s, zip, len, lim, out, &spare, err, errcap);
    int rc = scan(&z, &s);
    if (rc) {
        scan_destroy(&s);
        return rc;
    }
    xctx_t x = {.z = &z, .s = &s, .durable = durable, .w = {.root = -1, .fd = -1}};
    x.w.root = open_empty_dir(&x, dest_dir);
    if (x.w.root < 0) {
        scan_destroy(&s);
        return KYOKA_EINVAL;
    }
    if ((rc = collect_dirs(&x)) == 0 && (rc = make_dirs(&x)) == 0 && (rc = make_entries(&x, KIND_FILE)) == 0 &&
        (rc = make_entries(&x, KIND_LINK)) == 0 && durable)
        rc = sync_dirs(&x);
    if (rc)
        undo(&x);
    else
        z.sum->detail[0] = '\0';
    dwalk_drop(&x.w);
    close(x.w.root);
    free(x.dirs);
    scan_destroy(&s);
    return rc;
}
