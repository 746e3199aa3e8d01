/* Fuzz S3's Range and conditional header parsers (services/s3/range.c).
 * The first 8 bytes are the object's size; the rest is split at the first
 * '\n' into a Range value and an If-Match / If-None-Match list.
 * Invariants: a satisfiable range lies inside the object, first <= last. */
#include "services/s3/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t objsize = 0;
    memcpy(&objsize, data, 8);
    objsize %= (uint64_t)1 << 40;
    const char *p = (const char *)data + 8;
    size_t n = size - 8;
    const char *nl = memchr(p, '\n', n);
    size_t rl = nl ? (size_t)(nl - p) : n;
    uint64_t first = 0, last = 0;
    if (s3_range_parse((strv_t){p, rl}, objsize, &first, &last) == S3_RANGE_OK)
        if (first > last || last >= objsize)
            abort();
    if (nl) {
        char *list = strndup(nl + 1, n - rl - 1);
        (void)s3_cond_eval(list, NULL, -1, -1, "\"abc\"", 5);
        (void)s3_cond_eval(NULL, list, 3, 7, "\"abc\"", 5);
        free(list);
    }
    return 0;
}
