/*
 * Pattern matching for the policy language: Action globs, Resource ARNs
 * matched segment by segment, and policy-variable templates.
 *
 * Wildcards are carried as a mark array beside the text instead of being
 * recognised in it, because ${*} and ${?} must produce a literal '*' or '?'
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html,
 * "Special characters"). Expansion of variables happens per request into a
 * caller-provided stack buffer capped at IAM__EXPAND_MAX; nothing here
 * allocates except the compile-time functions, which use the policy arena.
 */
#include "iam/internal.h"

#include <ctype.h>
#include <string.h>

#include "core/banned.h"

static inline int fold_c(int c, bool fold) { return fold ? tolower((unsigned char)c) : (unsigned char)c; }

/* ---- globs ---- */

void iam__glob_init(arena_t *a, iam__glob_t *g, const char *s, const uint8_t *wild, size_t len, bool fold)
{
    char *text = arena_alloc(a, len + 1);
    for (size_t i = 0; i < len; i++)
        text[i] = (char)fold_c(s[i], fold);
    text[len] = '\0';
    g->s = text;
    g->len = (uint32_t)len;
    g->wild = NULL;

    size_t nwild = 0, last_wild = 0;
    for (size_t i = 0; wild && i < len; i++) {
        if (wild[i] != IAM__LIT) {
            nwild++;
            last_wild = i;
        }
    }
    if (nwild == 0) {
        g->kind = IAM__PAT_EXACT;
        return;
    }
    uint8_t *marks = arena_alloc(a, len);
    memcpy(marks, wild, len);
    g->wild = marks;
    if (len == 1 && wild[0] == IAM__STAR)
        g->kind = IAM__PAT_ANY;
    else if (nwild == 1 && last_wild == len - 1 && wild[len - 1] == IAM__STAR)
        g->kind = IAM__PAT_PREFIX;
    else
        g->kind = IAM__PAT_GLOB;
}

static bool chars_eq(const char *p, const char *s, size_t n, bool fold)
{
    if (!fold)
        return memcmp(p, s, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)p[i]) != tolower((unsigned char)s[i]))
            return false;
    return true;
}

/* Iterative glob with single-star backtracking: O(len(p) * len(s)) in the
 * worst case, constant stack, which matters because patterns come from
 * policy authors and subjects from requests. */
bool iam__wild_match(const char *p, const uint8_t *wild, size_t plen, const char *s, size_t slen, bool fold)
{
    size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
    while (si < slen) {
        if (pi < plen) {
            uint8_t w = wild ? wild[pi] : IAM__LIT;
            if (w == IAM__STAR) {
                star_p = pi++;
                star_s = si;
                continue;
            }
            if (w == IAM__QMARK || fold_c(p[pi], fold) == fold_c(s[si], fold)) {
                pi++;
                si++;
                continue;
            }
        }
        if (star_p == SIZE_MAX)
            return false;
        pi = star_p + 1;
        si = ++star_s;
    }
    while (pi < plen && wild && wild[pi] == IAM__STAR)
        pi++;
    return pi == plen;
}

bool iam__glob_match(const iam__glob_t *g, const char *s, size_t len, bool fold)
{
    switch (g->kind) {
    case IAM__PAT_ANY:
        return true;
    case IAM__PAT_EXACT:
        return len == g->len && chars_eq(g->s, s, len, fold);
    case IAM__PAT_PREFIX:
        return len >= g->len - 1 && chars_eq(g->s, s, g->len - 1, fold);
    default:
        return iam__wild_match(g->s, g->wild, g->len, s, len, fold);
    }
}

/* ---- templates ---- */

static void trim(const char **s, size_t *len)
{
    while (*len && isspace((unsigned char)**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* Parse the inside of ${...}: a key name, optionally ", 'default'". */
static bool parse_var(const char *in, size_t n, const char **name, size_t *namelen, const char **def,
                      size_t *deflen, bool *has_def)
{
    const char *comma = memchr(in, ',', n);
    *has_def = false;
    if (!comma) {
        *name = in;
        *namelen = n;
        trim(name, namelen);
        return *namelen > 0;
    }
    *name = in;
    *namelen = (size_t)(comma - in);
    trim(name, namelen);
    const char *d = comma + 1;
    size_t dn = n - (size_t)(d - in);
    trim(&d, &dn);
    if (*namelen == 0 || dn < 2 || d[0] != '\'' || d[dn - 1] != '\'')
        return false;
    *def = d + 1;
    *deflen = dn - 2;
    *has_def = true;
    return true;
}

void iam__tmpl_init(arena_t *a, iam__tmpl_t *t, const char *s, size_t len, bool vars, bool wildcards)
{
    /* Output text is never longer than the input, so one buffer of len
     * holds every text segment; segments point into it. */
    char *text = arena_alloc(a, len + 1);
    uint8_t *marks = arena_alloc(a, len + 1);
    size_t cap_segs = len / 2 + 2;
    iam__seg_t *segs = arena_calloc(a, cap_segs * sizeof *segs);
    size_t nsegs = 0, tlen = 0, seg_start = 0;
    bool any_var = false;

    for (size_t i = 0; i < len;) {
        if (vars && s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            const char *close = memchr(s + i + 2, '}', len - i - 2);
            if (close) {
                const char *in = s + i + 2;
                size_t n = (size_t)(close - in);
                size_t consumed = n + 3;
                if (n == 1 && (in[0] == '*' || in[0] == '?' || in[0] == '$')) {
                    /* ${*} ${?} ${$}: the literal character. */
                    text[tlen] = in[0];
                    marks[tlen++] = IAM__LIT;
                    i += consumed;
                    continue;
                }
                const char *name, *def = NULL;
                size_t namelen, deflen = 0;
                bool has_def;
                if (parse_var(in, n, &name, &namelen, &def, &deflen, &has_def)) {
                    if (tlen > seg_start) {
                        segs[nsegs++] = (iam__seg_t){.type = IAM__SEG_TEXT, .s = text + seg_start,
                                                     .wild = marks + seg_start,
                                                     .len = (uint32_t)(tlen - seg_start)};
                    }
                    segs[nsegs++] = (iam__seg_t){.type = IAM__SEG_VAR, .s = arena_strndup(a, name, namelen),
                                                 .len = (uint32_t)namelen, .has_default = has_def,
                                                 .def = has_def ? arena_strndup(a, def, deflen) : NULL,
                                                 .deflen = (uint32_t)deflen};
                    seg_start = tlen;
                    any_var = true;
                    i += consumed;
                    continue;
                }
            }
        }
        text[tlen] = s[i];
        marks[tlen++] = (wildcards && s[i] == '*') ? IAM__STAR : (wildcards && s[i] == '?') ? IAM__QMARK : IAM__LIT;
        i++;
    }
    text[tlen] = '\0';

    if (!any_var) {
        iam__glob_init(a, &t->g, text, marks, tlen, false);
        t->segs = NULL;
        t->nsegs = 0;
        return;
    }
    if (tlen > seg_start) {
        segs[nsegs++] = (iam__seg_t){.type = IAM__SEG_TEXT, .s = text + seg_start, .wild = marks + seg_start,
                                     .len = (uint32_t)(tlen - seg_start)};
    }
    memset(&t->g, 0, sizeof t->g);
    t->segs = segs;
    t->nsegs = (uint32_t)nsegs;
}

static bool append(iam__expanded_t *out, const char *s, const uint8_t *wild, size_t n)
{
    if (n > IAM__EXPAND_MAX - out->len)
        return false;
    memcpy(out->s + out->len, s, n);
    for (size_t i = 0; i < n; i++) {
        uint8_t w = wild ? wild[i] : IAM__LIT;
        out->wild[out->len + i] = w;
        out->has_wild |= w != IAM__LIT;
    }
    out->len += n;
    return true;
}

bool iam__tmpl_expand(iam__ectx_t *e, const iam__tmpl_t *t, iam__expanded_t *out)
{
    out->len = 0;
    out->has_wild = false;
    if (t->nsegs == 0)
        return append(out, t->g.s, t->g.wild, t->g.len);
    for (uint32_t i = 0; i < t->nsegs; i++) {
        const iam__seg_t *sg = &t->segs[i];
        if (sg->type == IAM__SEG_TEXT) {
            if (!append(out, sg->s, sg->wild, sg->len))
                return false;
            continue;
        }
        /* A variable's value is always literal text: a user name holding
         * '*' must not become a wildcard. */
        iam__ctx_lookup_t v;
        if (iam__ctx_get(e, sg->s, sg->len, &v) && v.n == 1) {
            if (!append(out, v.values[0], NULL, strlen(v.values[0])))
                return false;
        } else if (sg->has_default) {
            if (!append(out, sg->def, NULL, sg->deflen))
                return false;
        } else {
            /* "If AWS cannot resolve a variable, this might cause the
             * entire statement to be invalid" (reference_policies_variables):
             * the pattern holding it matches nothing. */
            iam__note_missing(e, sg->s);
            return false;
        }
    }
    return true;
}

bool iam__tmpl_match(iam__ectx_t *e, const iam__tmpl_t *t, const char *s, size_t len, bool fold)
{
    if (t->nsegs == 0)
        return iam__glob_match(&t->g, s, len, fold);
    iam__expanded_t x;
    if (!iam__tmpl_expand(e, t, &x))
        return false;
    return iam__wild_match(x.s, x.has_wild ? x.wild : NULL, x.len, s, len, fold);
}

/* ---- ARNs ---- */

int iam_arn_parse(strv_t s, iam_arn_t *out)
{
    strv_t part[6];
    size_t start = 0, n = 0;
    if (!s.p || !out)
        return KYOKA_EPARSE;
    for (size_t i = 0; i < s.len && n < 5; i++) {
        if (s.p[i] == ':') {
            part[n++] = (strv_t){s.p + start, i - start};
            start = i + 1;
        }
    }
    if (n != 5)
        return KYOKA_EPARSE;
    part[5] = (strv_t){s.p + start, s.len - start};
    if (!strv_eq_cstr(part[0], "arn") || part[1].len == 0 || part[2].len == 0 || part[5].len == 0)
        return KYOKA_EPARSE;
    out->partition = part[1];
    out->service = part[2];
    out->region = part[3];
    out->account = part[4];
    out->resource = part[5];
    return 0;
}

/* Split at the first five colons that are literal (not marked). Returns the
 * number of parts (1..6); the last part takes the rest. */
static size_t split6(const char *s, const uint8_t *wild, size_t len, size_t off[6], size_t plen[6])
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i < len && n < 5; i++) {
        if (s[i] == ':' && (!wild || wild[i] == IAM__LIT)) {
            off[n] = start;
            plen[n++] = i - start;
            start = i + 1;
        }
    }
    off[n] = start;
    plen[n++] = len - start;
    return n;
}

/* ArnLike/ArnEquals: "Each of the six colon-delimited components of the ARN
 * is checked separately and each can include multi-character match
 * wildcards" (reference_policies_elements_condition_operators.html#Conditions_ARN).
 * Missing trailing components of the pattern count as "*", the way IAM
 * normalises short resource ARNs. */
bool iam__arn_wild_match(const char *p, const uint8_t *wild, size_t plen, const char *s, size_t slen)
{
    size_t po[6], pl[6], so[6], sl[6];
    size_t pn = split6(p, wild, plen, po, pl);
    size_t sn = split6(s, NULL, slen, so, sl);
    if (sn != 6)
        return false;
    for (size_t i = 0; i < pn; i++) {
        if (!iam__wild_match(p + po[i], wild ? wild + po[i] : NULL, pl[i], s + so[i], sl[i], false))
            return false;
    }
    return true;
}

void iam__arnpat_init(arena_t *a, iam__arnpat_t *ap, const char *s, size_t len, bool vars)
{
    static const uint8_t star = IAM__STAR;
    memset(ap, 0, sizeof *ap);
    if (len == 1 && s[0] == '*') {
        ap->any = true;
        return;
    }
    size_t off[6], plen[6];
    size_t n = split6(s, NULL, len, off, plen);
    for (size_t i = 0; i < 4; i++) {
        size_t k = i + 1;
        if (k >= n) {
            iam__glob_init(a, &ap->part[i], "*", &star, 1, false);
            continue;
        }
        /* Variables are honored only in the resource part of the ARN
         * ("You can't use a variable to replace parts of the ARN before the
         * fifth colon", reference_policies_variables.html). */
        uint8_t *marks = arena_alloc(a, plen[k] + 1);
        for (size_t j = 0; j < plen[k]; j++) {
            char c = s[off[k] + j];
            marks[j] = c == '*' ? IAM__STAR : c == '?' ? IAM__QMARK : IAM__LIT;
        }
        iam__glob_init(a, &ap->part[i], s + off[k], marks, plen[k], false);
    }
    if (n < 6)
        iam__tmpl_init(a, &ap->res, "*", 1, false, true);
    else
        iam__tmpl_init(a, &ap->res, s + off[5], plen[5], vars, true);
}

bool iam__arnpat_match(iam__ectx_t *e, const iam__arnpat_t *ap, const char *resource)
{
    if (ap->any)
        return true;
    if (!resource)
        return false;
    size_t off[6], plen[6];
    size_t n = split6(resource, NULL, strlen(resource), off, plen);
    if (n != 6)
        return false;
    for (size_t i = 0; i < 4; i++) {
        if (!iam__glob_match(&ap->part[i], resource + off[i + 1], plen[i + 1], false))
            return false;
    }
    return iam__tmpl_match(e, &ap->res, resource + off[5], plen[5], false);
}
