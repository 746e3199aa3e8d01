/*
 * Lambda code zips: checking and extracting the ZIP archives that
 * CreateFunction, UpdateFunctionCode and PublishLayerVersion receive.
 *
 * The archive is untrusted. lambda_zip_check() reads all of it in memory,
 * writes nothing, and refuses anything it could not extract exactly and
 * safely: bad structure, out-of-bounds or overlapping records, names that
 * would leave the code directory (absolute, "..", backslashes, NUL), entries
 * that would be written through a symlink from the same archive, symlinks
 * that point outside it, sizes past the limits, and data whose CRC-32 does
 * not match once inflated. lambda_zip_extract() runs the same check first and
 * then writes the tree with openat() relative to directory descriptors,
 * never following a link, so a refused archive leaves nothing behind.
 *
 * Supported: stored (0) and deflated (8) entries, data descriptors, ZIP64
 * records and extra fields, directory entries, unix modes and symlinks in
 * the external attributes (as Info-ZIP and Python's zipfile write them).
 *
 * Thread: any. Nothing here touches shared state; extraction blocks on the
 * file system and belongs on libuv's thread pool.
 */
#ifndef KYOKA_LAMBDA_CODEZIP_H
#define KYOKA_LAMBDA_CODEZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
 * a deployment package is at most 250 MB unzipped, counting every layer too;
 * Lambda's message names the byte count, "Unzipped size must be smaller than
 * 262144000 bytes". AWS documents no entry-count or ratio quota: those two
 * are kyoka's own guards against zip bombs. */
#define LAMBDA_ZIP_MAX_UNZIPPED_BYTES 262144000ULL
#define LAMBDA_ZIP_MAX_ENTRIES 20000
#define LAMBDA_ZIP_MAX_RATIO 1000
#define LAMBDA_ZIP_RATIO_FLOOR_BYTES (1024 * 1024)
/* Linux path limits: PATH_MAX (4096, with its NUL) and NAME_MAX. */
#define LAMBDA_ZIP_MAX_PATH 4095
#define LAMBDA_ZIP_MAX_COMPONENT 255

/* Lambda's InvalidParameterValueException messages for bad code zips. */
#define LAMBDA_ZIP_MSG_BAD "Could not unzip uploaded file. Please check your file, then try to upload again."
#define LAMBDA_ZIP_MSG_EMPTY "Uploaded file must be a non-empty zip"
/* ... and "Unzipped size must be smaller than %llu bytes", with the limit. */

typedef struct lambda_zip_limits {
    uint64_t max_unzipped_bytes; /* file bytes plus symlink targets must stay below
                                    this; for a function with layers, pass what the
                                    layers leave of the 250 MB */
    uint32_t max_entries;        /* central directory records, directories included */
    uint32_t max_ratio;          /* refuse an entry inflating past this many times its
                                    compressed size ... */
    uint64_t ratio_floor_bytes;  /* ... once it has inflated past this many bytes
                                    (small files may compress very well) */
} lambda_zip_limits_t;

typedef struct lambda_zip_summary {
    uint32_t entries;        /* central directory records */
    uint32_t files;          /* regular files */
    uint32_t dirs;           /* directory entries (not directories only implied by names) */
    uint32_t symlinks;
    uint64_t unzipped_bytes; /* file contents plus symlink targets, as inflated */
    char detail[192];        /* on failure, kyoka's own account for its log (which
                                entry, what was wrong), and the counts above mean
                                nothing; "" on success */
} lambda_zip_summary_t;

/* Fills l with the AWS limits and kyoka's defaults above. */
void lambda_zip_limits_default(lambda_zip_limits_t *l);

/* Check the archive zip[0..len) completely without writing anything: its
 * structure, every name, every symlink target, the sizes against lim (NULL:
 * the defaults), and the CRC-32 of every entry by inflating it (streaming
 * through a 64 KiB buffer; besides that, memory is one small record per
 * entry and the symlink targets, at most 1 MiB).
 * Declared sizes are checked first and then held to: an entry inflating to
 * more or less than it declares is refused.
 *
 * Returns 0 and fills out (may be NULL). Otherwise returns KYOKA_EPARSE for
 * an archive that is malformed or holds something Lambda cannot take,
 * KYOKA_ELIMIT for one past the limits, and writes Lambda's message for the
 * InvalidParameterValueException into err (errcap bytes, always
 * NUL-terminated; err may be NULL) and kyoka's own detail into out->detail.
 * The archive is borrowed for the call. */
int lambda_zip_check(const void *zip, size_t len, const lambda_zip_limits_t *lim, lambda_zip_summary_t *out, char *err,
                     size_t errcap) KYOKA_WUR;

/* Is there a regular file or a symlink named exactly path ("bootstrap",
 * "src/index.mjs") in the archive? If so and mode_out is not NULL, sets it to
 * the mode the entry gets on disk: S_IFREG with the permissions
 * lambda_zip_extract() gives it, or S_IFLNK|0777. Directories do not count.
 * Safe on any input (a malformed archive has no files), but meant for one
 * that lambda_zip_check() accepted. */
bool lambda_zip_has_file(const void *zip, size_t len, const char *path, uint32_t *mode_out);

/* Check the archive as lambda_zip_check() does and, only if it passes,
 * extract it into dest_dir, which must exist and be empty (KYOKA_EINVAL
 * otherwise, before anything is written). Directories are made 0755; files
 * get 0644 plus the execute bits the archive gives them on unix (Lambda
 * needs code readable by all; bootstrap must stay executable); symlinks are
 * made as symlinks. Every file is created with openat(O_CREAT|O_EXCL|
 * O_NOFOLLOW) in a directory opened with O_NOFOLLOW from dest_dir down, and
 * symlinks come last, so nothing is written through a link. With durable,
 * every file and directory (dest_dir included) is fsynced before returning;
 * making dest_dir's own entry durable is the caller's.
 *
 * Returns 0 and fills out (may be NULL), or the check's errors, or
 * KYOKA_EIO when the file system fails (err then says what failed, in
 * kyoka's words, and whatever was written is removed again so dest_dir is
 * left empty). Blocking: run it on the thread pool. */
int lambda_zip_extract(const void *zip, size_t len, const char *dest_dir, const lambda_zip_limits_t *lim, bool durable,
                       lambda_zip_summary_t *out, char *err, size_t errcap) KYOKA_WUR;

#endif
