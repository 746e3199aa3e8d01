/*
 * AWS managed policies: lookup in the generated table (managed_gen.c, from
 * tools/gen_managed_policies.py) and inflation of their documents.
 *
 * The table is sorted by ARN, so a lookup is a bisection over read-only
 * data and start-up does no work at all here. Each default-version document
 * is deflated on its own against a preset dictionary shared by all of them;
 * it is inflated the first time someone reads or attaches that policy and
 * the text is kept, because callers (the IAM service, the compiled
 * policies) hold on to it. The cache is one pointer per policy, allocated
 * on first use.
 */
#include "iam/internal.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/banned.h"

static char **doc_cache; /* iam__managed_count entries, NULL until inflated */

size_t iam_managed_count(void) { return iam__managed_count; }

const iam_managed_t *iam_managed_at(size_t i) { return i < iam__managed_count ? &iam__managed_rows[i] : NULL; }

const iam_managed_t *iam_managed_lookup(const char *arn)
{
    if (!arn)
        return NULL;
    size_t lo = 0, hi = iam__managed_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(iam__managed_rows[mid].arn, arn);
        if (c == 0)
            return &iam__managed_rows[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const iam_managed_version_t *iam_managed_version(const iam_managed_t *m, size_t i)
{
    return m && i < m->nversions ? &iam__managed_versions[m->_versions_off + i] : NULL;
}

char *iam_managed_document_inflate(const iam_managed_t *m, size_t *len)
{
    if (!m)
        return NULL;
    char *out = xmalloc((size_t)m->_doc_len + 1);
    z_stream z = {0};
    if (inflateInit(&z) != Z_OK) {
        free(out);
        return NULL;
    }
    z.next_in = (Bytef *)(uintptr_t)(iam__managed_blob + m->_doc_off);
    z.avail_in = m->_doc_zlen;
    z.next_out = (Bytef *)out;
    z.avail_out = m->_doc_len;
    int rc = inflate(&z, Z_FINISH);
    if (rc == Z_NEED_DICT) {
        /* Every document was deflated against the shared dictionary. */
        rc = inflateSetDictionary(&z, (const Bytef *)iam__managed_dict, (uInt)iam__managed_dict_len);
        if (rc == Z_OK)
            rc = inflate(&z, Z_FINISH);
    }
    bool ok = rc == Z_STREAM_END && z.total_out == m->_doc_len;
    inflateEnd(&z);
    if (!ok) {
        free(out);
        return NULL;
    }
    out[m->_doc_len] = '\0';
    if (len)
        *len = m->_doc_len;
    return out;
}

const char *iam_managed_document(const iam_managed_t *m)
{
    if (!m)
        return NULL;
    size_t i = (size_t)(m - iam__managed_rows);
    if (!doc_cache)
        doc_cache = xcalloc(iam__managed_count, sizeof *doc_cache);
    if (!doc_cache[i])
        doc_cache[i] = iam_managed_document_inflate(m, NULL);
    return doc_cache[i];
}

const char *iam_managed_policy_document(const char *arn) { return iam_managed_document(iam_managed_lookup(arn)); }

bool iam_managed_policy_at(size_t i, const char **arn, const char **name, const char **path,
                           const char **description, const char **document)
{
    const iam_managed_t *m = iam_managed_at(i);
    if (!m)
        return false;
    if (arn)
        *arn = m->arn;
    if (name)
        *name = iam_managed_name(m);
    if (path)
        *path = m->path;
    if (description)
        *description = m->description;
    if (document)
        *document = iam_managed_document(m);
    return true;
}
