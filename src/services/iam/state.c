/*
 * The IAM service's state: sorted collections, ids and secrets, lookups,
 * tags, input validation in AWS's words, pagination, and the service's
 * create/free/reset.
 *
 * Validation: IAM checks member constraints from its model (name patterns,
 * lengths, ranges) and reports every failure in one ValidationError,
 * "2 validation errors detected: Value 'x y' at 'roleName' failed to satisfy
 * constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+;
 * Value ...". The protocol layer checks only types and required members, so
 * the operation handlers check the rest here.
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/banned.h"

const iam_kind_info_t iam__kinds[IAM_ENT_NKINDS] = {
    [IAM_ENT_ROLE] = {.arn_type = "role", .title = "Role", .plural = "Roles", .param = "RoleName",
                      .id_member = "RoleId", .field = "roleName", .id_prefix = "AROA",
                      .max_name = 64, .max_existing_name = 64, .inline_max = KYOKA_IAM_MAX_ROLE_INLINE_BYTES,
                      .quota_attached = "PoliciesPerRole", .source_type = "role", .has_boundary = true,
                      .has_tags = true, /* API_DeleteRole.html: */
                      .delete_blockers = {IAM_HOLDS_ATTACHED, IAM_HOLDS_INLINE, IAM_HOLDS_LINKS},
                      .links_conflict = "Cannot delete entity, must remove roles from instance profile first.",
                      .create_check = iam__role_create_check, .create_fill = iam__role_create_fill},
    [IAM_ENT_USER] = {.arn_type = "user", .title = "User", .plural = "Users", .param = "UserName",
                      .id_member = "UserId", .field = "userName", .id_prefix = "AIDA",
                      .max_name = 64, .max_existing_name = 128, .inline_max = KYOKA_IAM_MAX_USER_INLINE_BYTES,
                      .quota_attached = "PoliciesPerUser", .source_type = "user", .has_boundary = true,
                      .has_tags = true, /* API_DeleteUser.html: */
                      .delete_blockers = {IAM_HOLDS_ACCESS_KEYS, IAM_HOLDS_INLINE, IAM_HOLDS_ATTACHED, IAM_HOLDS_LINKS},
                      .links_conflict = "Cannot delete entity, must remove user from all groups first."},
    [IAM_ENT_GROUP] = {.arn_type = "group", .title = "Group", .plural = "Groups", .param = "GroupName",
                       .id_member = "GroupId", .field = "groupName", .id_prefix = "AGPA",
                       .max_name = 128, .max_existing_name = 128, .inline_max = IAM_GROUP_INLINE_MAX_BYTES,
                       .quota_attached = "PoliciesPerGroup", .source_type = "group",
                       /* API_DeleteGroup.html: */
                       .delete_blockers = {IAM_HOLDS_LINKS, IAM_HOLDS_ATTACHED, IAM_HOLDS_INLINE},
                       .links_conflict = "Cannot delete entity, must remove users from group first."},
    [IAM_ENT_INSTANCE_PROFILE] = {.arn_type = "instance-profile", .title = "InstanceProfile",
                                  .plural = "InstanceProfiles", .param = "InstanceProfileName",
                                  .id_member = "InstanceProfileId", .field = "instanceProfileName",
                                  .id_prefix = "AIPA", .max_name = 128, .max_existing_name = 128,
                                  .has_tags = true, .delete_blockers = {IAM_HOLDS_LINKS},
                                  /* API_DeleteInstanceProfile.html: the role goes first. */
                                  .links_conflict = "Cannot delete entity, must remove roles from instance profile first.",
                                  .exists_fmt = "Instance Profile %s already exists.",
                                  .missing_fmt = "Instance Profile %s cannot be found."},
};

/* ==== sorted vectors ==== */

ssize_t iam__bisect(const void *list, size_t n, iam_key_at_fn key_at, const char *key, size_t *at)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(key_at(list, mid), key);
        if (cmp == 0) {
            if (at)
                *at = mid;
            return (ssize_t)mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (at)
        *at = lo;
    return -1;
}

/* What iam__vec_find searches: a vector and the key of its items. */
typedef struct vec_keys {
    const iam_vec_t *v;
    iam_key_fn keyfn;
} vec_keys_t;

static const char *vec_key_at(const void *list, size_t i)
{
    const vec_keys_t *k = list;
    return k->keyfn(k->v->v[i]);
}

ssize_t iam__vec_find(const iam_vec_t *v, const char *key, iam_key_fn keyfn, size_t *at)
{
    vec_keys_t k = {v, keyfn};
    return iam__bisect(&k, v->n, vec_key_at, key, at);
}

void iam__vec_insert(iam_vec_t *v, size_t at, void *item)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->v = xrealloc(v->v, v->cap * sizeof *v->v);
    }
    memmove(v->v + at + 1, v->v + at, (v->n - at) * sizeof *v->v);
    v->v[at] = item;
    v->n++;
}

void iam__vec_remove(iam_vec_t *v, size_t at)
{
    memmove(v->v + at, v->v + at + 1, (v->n - at - 1) * sizeof *v->v);
    v->n--;
}

const char *iam__ent_key(const void *e) { return ((const iam_entity_t *)e)->lname; }
const char *iam__policy_key(const void *p) { return ((const iam_mpolicy_t *)p)->arn; }
const char *iam__session_key(const void *s) { return ((const iam_session_t *)s)->akid; }

/* ==== ids and secrets ==== */

char *iam__lower(const char *s)
{
    char *r = xstrdup(s);
    for (char *p = r; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return r;
}

void iam__gen_id(char *out, const char *prefix, size_t n)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t pl = strlen(prefix);
    memcpy(out, prefix, pl);
    unsigned char rnd[64];
    if (n > sizeof rnd)
        n = sizeof rnd;
    kyoka_random(rnd, n);
    /* Taking each byte modulo 36 favours the first few letters slightly;
     * ids only need to be unique, not uniform. */
    for (size_t i = 0; i < n; i++)
        out[pl + i] = alphabet[rnd[i] % 36];
    out[pl + n] = '\0';
}

void iam__gen_secret(char out[41])
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char rnd[40];
    kyoka_random(rnd, sizeof rnd);
    for (size_t i = 0; i < 40; i++)
        out[i] = alphabet[rnd[i] & 63];
    out[40] = '\0';
}

char *iam__gen_token(void)
{
    /* Real tokens are a few hundred characters of base64 with no structure
     * a client may rely on; 264 random bytes give 352 characters. */
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char rnd[264];
    kyoka_random(rnd, sizeof rnd);
    size_t n = sizeof rnd / 3 * 4;
    char *t = xmalloc(16 + n + 1);
    memcpy(t, "IQoJb3JpZ2luX2Vj", 16); /* the constant prefix real tokens carry */
    for (size_t i = 0, j = 16; i < sizeof rnd; i += 3) {
        uint32_t w = (uint32_t)rnd[i] << 16 | (uint32_t)rnd[i + 1] << 8 | rnd[i + 2];
        t[j++] = alphabet[(w >> 18) & 63];
        t[j++] = alphabet[(w >> 12) & 63];
        t[j++] = alphabet[(w >> 6) & 63];
        t[j++] = alphabet[w & 63];
    }
    t[16 + n] = '\0';
    return t;
}

/* ==== lookups ==== */

iam_entity_t *iam__ent_lookup(iam_state_t *st, iam_ent_kind_t kind, const char *name)
{
    if (!st || !name)
        return NULL;
    /* IAM names are unique without regard to case
     * (reference_iam-quotas.html#reference_iam-quotas-names). */
    char key[256];
    size_t n = strlen(name);
    if (n >= sizeof key)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        key[i] = (char)tolower((unsigned char)name[i]);
    ssize_t i = iam__vec_find(&st->ents[kind], key, iam__ent_key, NULL);
    return i < 0 ? NULL : st->ents[kind].v[i];
}

iam_entity_t *iam__ent_get_or_fail(svc_call_t *c, iam_ent_kind_t kind, const char *name)
{
    iam_entity_t *e = iam__ent_lookup(c->state, kind, name);
    if (!e && iam__kinds[kind].missing_fmt)
        svc_error(c, "NoSuchEntityException", 0, iam__kinds[kind].missing_fmt, name ? name : "");
    else if (!e)
        svc_error(c, "NoSuchEntityException", 0, "The %s with name %s cannot be found.", iam__kinds[kind].arn_type,
                  name ? name : "");
    return e;
}

iam_mpolicy_t *iam__policy_lookup(iam_state_t *st, const char *arn)
{
    if (!st || !arn)
        return NULL;
    ssize_t i = iam__vec_find(&st->policies, arn, iam__policy_key, NULL);
    return i < 0 ? NULL : st->policies.v[i];
}

iam_entity_t *iam__ent_by_arn(iam_state_t *st, const char *arn, iam_ent_kind_t *kind_out)
{
    iam_arn_t a;
    if (!arn || iam_arn_parse(strv_from(arn), &a) != 0 || !strv_eq_cstr(a.service, "iam") ||
        !strv_eq_cstr(a.account, st->account))
        return NULL;
    for (int k = 0; k < IAM_ENT_NPRINCIPALS; k++) {
        const char *t = iam__kinds[k].arn_type;
        size_t tl = strlen(t);
        if (a.resource.len > tl + 1 && memcmp(a.resource.p, t, tl) == 0 && a.resource.p[tl] == '/') {
            const char *slash = a.resource.p + a.resource.len;
            while (slash > a.resource.p && slash[-1] != '/')
                slash--;
            char name[256];
            size_t nl = (size_t)(a.resource.p + a.resource.len - slash);
            if (nl == 0 || nl >= sizeof name)
                return NULL;
            memcpy(name, slash, nl);
            name[nl] = '\0';
            iam_entity_t *e = iam__ent_lookup(st, (iam_ent_kind_t)k, name);
            /* The path is part of the ARN: the ARN must be this entity's. */
            if (!e || strcmp(e->arn, arn) != 0)
                return NULL;
            if (kind_out)
                *kind_out = (iam_ent_kind_t)k;
            return e;
        }
    }
    return NULL;
}

char *iam__arn_for(iam_state_t *st, iam_ent_kind_t kind, const char *path, const char *name)
{
    buf_t b;
    buf_init(&b, 4096);
    buf_appendf(&b, "arn:aws:iam::%s:%s%s%s", st->account, iam__kinds[kind].arn_type, path ? path : "/", name);
    return buf_detach(&b, NULL);
}

iam_entity_t *iam__caller_user(svc_call_t *c)
{
    const auth_cred_t *cred = c->cred;
    if (!cred || cred->type != AUTH_PRINCIPAL_USER || !cred->principal_arn)
        return NULL;
    const char *slash = strrchr(cred->principal_arn, '/');
    return slash ? iam__ent_lookup(c->state, IAM_ENT_USER, slash + 1) : NULL;
}

/* ==== freeing ==== */

void iam__tags_clear(iam_tagv_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->keys[i]);
        free(t->values[i]);
    }
    free(t->keys);
    free(t->values);
    *t = (iam_tagv_t){0};
}

void iam__entity_free(iam_entity_t *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->ninl; i++) {
        free(e->inl[i].name);
        iam_policy_free(e->inl[i].policy);
    }
    free(e->inl);
    free(e->att);
    for (size_t i = 0; i < e->nkeys; i++)
        free(e->keys[i].secret);
    free(e->links);
    iam_policy_free(e->trust);
    iam__tags_clear(&e->tags);
    free(e->name);
    free(e->lname);
    free(e->id);
    free(e->path);
    free(e->arn);
    free(e->description);
    free(e);
}

void iam__mpolicy_free(iam_mpolicy_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nversions; i++)
        iam_policy_free(p->versions[i].policy);
    iam__tags_clear(&p->tags);
    free(p->arn);
    free(p->name);
    free(p->lname);
    free(p->path);
    free(p->id);
    free(p->description);
    free(p);
}

void iam__session_free(iam_session_t *s)
{
    if (!s)
        return;
    free(s->secret);
    free(s->token);
    free(s->arn);
    free(s->user_id);
    free(s->role_arn);
    free(s->role_id);
    free(s->role_name);
    free(s->session_name);
    free(s->user_name);
    free(s->source_identity);
    free(s->policy_text);
    iam_policy_free(s->policy);
    for (size_t i = 0; i < s->narns; i++) {
        free(s->policy_arns[i]);
        iam_policy_free(s->arn_policies[i]);
    }
    free(s->policy_arns);
    free(s->arn_policies);
    iam__tags_clear(&s->tags);
    free(s);
}

/* ==== tags ==== */

void iam__tags_set(iam_tagv_t *t, const char *key, const char *value)
{
    /* Tag keys are case-insensitive in IAM: setting "env" replaces "Env". */
    for (size_t i = 0; i < t->n; i++) {
        if (strcasecmp(t->keys[i], key) == 0) {
            free(t->keys[i]);
            free(t->values[i]);
            t->keys[i] = xstrdup(key);
            t->values[i] = xstrdup(value ? value : "");
            return;
        }
    }
    t->keys = xrealloc(t->keys, (t->n + 1) * sizeof *t->keys);
    t->values = xrealloc(t->values, (t->n + 1) * sizeof *t->values);
    t->keys[t->n] = xstrdup(key);
    t->values[t->n] = xstrdup(value ? value : "");
    t->n++;
}

void iam__tags_remove(iam_tagv_t *t, const char *key)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcasecmp(t->keys[i], key) == 0) {
            free(t->keys[i]);
            free(t->values[i]);
            memmove(t->keys + i, t->keys + i + 1, (t->n - i - 1) * sizeof *t->keys);
            memmove(t->values + i, t->values + i + 1, (t->n - i - 1) * sizeof *t->values);
            t->n--;
            return;
        }
    }
}

json_t *iam__tags_json(const iam_tagv_t *t)
{
    json_t *a = json_array();
    for (size_t i = 0; i < t->n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s}", "Key", t->keys[i], "Value", t->values[i]));
    return a;
}

void iam__tags_from_json(iam_tagv_t *t, json_t *arr)
{
    size_t i;
    json_t *tag;
    json_array_foreach(arr, i, tag) {
        const char *k = json_string_value(json_object_get(tag, "Key"));
        const char *v = json_string_value(json_object_get(tag, "Value"));
        if (k)
            iam__tags_set(t, k, v ? v : "");
    }
}

/* ==== documents ==== */

const char *iam__urlencode(arena_t *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = arena_alloc(a, n * 3 + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out[j++] = (char)ch;
        } else {
            out[j++] = '%';
            out[j++] = hex[ch >> 4];
            out[j++] = hex[ch & 15];
        }
    }
    out[j] = '\0';
    return out;
}

size_t iam__policy_size(const char *doc)
{
    size_t n = 0;
    for (const char *p = doc; p && *p; p++)
        if (!isspace((unsigned char)*p))
            n++;
    return n;
}

iam_policy_t *iam__parse_or_fail(svc_call_t *c, const char *doc, iam_policy_kind_t kind, size_t max,
                                 const char *limit_msg)
{
    char err[512];
    bool over = false;
    iam_policy_t *p = iam_policy_parse(doc, doc ? strlen(doc) : 0, kind, max, err, sizeof err, &over);
    if (!p) {
        if (over)
            svc_error(c, "LimitExceededException", 0, "%s", limit_msg ? limit_msg : err);
        else
            svc_error(c, "MalformedPolicyDocumentException", 0, "%s", err[0] ? err : "Syntax errors in policy.");
    }
    return p;
}

int iam__store_failed(svc_call_t *c)
{
    svc_error(c, "ServiceFailureException", 500,
              "kyoka could not write IAM state to its store; nothing was changed, retry the request");
    return 0;
}

/* ==== validation ==== */

void iam__v_init(iam_vcheck_t *v, svc_call_t *c)
{
    v->c = c;
    v->n = 0;
    buf_init(&v->msg, 8192);
}

void iam__v_fail(iam_vcheck_t *v, const char *field, const char *value, const char *constraint)
{
    if (v->n++)
        buf_appends(&v->msg, "; ");
    buf_appendf(&v->msg, "Value '%s' at '%s' failed to satisfy constraint: %s", value ? value : "null", field,
                constraint);
}

void iam__v_len(iam_vcheck_t *v, const char *field, const char *value, size_t min, size_t max)
{
    if (!value)
        return;
    size_t n = strlen(value);
    char msg[96];
    if (n < min) {
        snprintf(msg, sizeof msg, "Member must have length greater than or equal to %zu", min);
        iam__v_fail(v, field, value, msg);
    } else if (n > max) {
        snprintf(msg, sizeof msg, "Member must have length less than or equal to %zu", max);
        iam__v_fail(v, field, value, msg);
    }
}

static bool is_name_char(unsigned char ch)
{
    /* Java's \w is [a-zA-Z_0-9]. */
    return isalnum(ch) || strchr("_+=,.@-", ch) != NULL;
}

void iam__v_name(iam_vcheck_t *v, const char *field, const char *value, size_t max)
{
    if (!value)
        return;
    bool ok = value[0] != '\0';
    for (const char *p = value; *p && ok; p++)
        ok = is_name_char((unsigned char)*p);
    if (!ok)
        iam__v_fail(v, field, value, "Member must satisfy regular expression pattern: [\\w+=,.@-]+");
    iam__v_len(v, field, value, 1, max);
}

void iam__v_path(iam_vcheck_t *v, const char *field, const char *value)
{
    if (!value)
        return;
    size_t n = strlen(value);
    bool ok = n >= 1 && value[0] == '/' && value[n - 1] == '/';
    for (size_t i = 0; i < n && ok; i++)
        ok = (unsigned char)value[i] >= 0x21 && (unsigned char)value[i] <= 0x7f;
    if (!ok)
        iam__v_fail(v, field, value,
                    "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007F]+\\u002F)");
    iam__v_len(v, field, value, 1, 512);
}

void iam__v_range(iam_vcheck_t *v, const char *field, json_t *value, int64_t min, int64_t max)
{
    if (!json_is_integer(value))
        return;
    int64_t x = json_integer_value(value);
    char msg[96], val[32];
    snprintf(val, sizeof val, "%lld", (long long)x);
    if (x < min) {
        snprintf(msg, sizeof msg, "Member must have value greater than or equal to %lld", (long long)min);
        iam__v_fail(v, field, val, msg);
    } else if (x > max) {
        snprintf(msg, sizeof msg, "Member must have value less than or equal to %lld", (long long)max);
        iam__v_fail(v, field, val, msg);
    }
}

static bool tag_chars_ok(const char *s)
{
    /* [\p{L}\p{Z}\p{N}_.:/=+\-@]: letters, spaces and digits of any script
     * (any byte >= 0x80 is taken as part of such a character) plus a few
     * symbols. */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!(isalnum(*p) || *p == ' ' || *p >= 0x80 || strchr("_.:/=+-@", *p)))
            return false;
    return true;
}

void iam__v_tags(iam_vcheck_t *v, json_t *tags)
{
    if (!tags)
        return;
    size_t n = json_array_size(tags);
    char field[64];
    if (n > IAM_MAX_TAGS) {
        iam__v_fail(v, "tags", "[...]", "Member must have length less than or equal to 50");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *t = json_array_get(tags, i);
        const char *k = json_string_value(json_object_get(t, "Key"));
        const char *val = json_string_value(json_object_get(t, "Value"));
        snprintf(field, sizeof field, "tags.%zu.member.key", i + 1);
        if (k && !tag_chars_ok(k))
            iam__v_fail(v, field, k,
                        "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+");
        iam__v_len(v, field, k, 1, 128);
        snprintf(field, sizeof field, "tags.%zu.member.value", i + 1);
        if (val && !tag_chars_ok(val))
            iam__v_fail(v, field, val,
                        "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*");
        iam__v_len(v, field, val, 0, 256);
    }
}

bool iam__v_done(iam_vcheck_t *v)
{
    bool ok = v->n == 0;
    if (!ok)
        svc_error(v->c, "ValidationError", 400, "%d validation error%s detected: %s", v->n, v->n == 1 ? "" : "s",
                  v->msg.data);
    buf_destroy(&v->msg);
    return ok;
}

/* ==== pagination ==== */

/* The page MaxItems and Marker ask for out of total items; false with
 * ValidationError when either is out of range. */
static bool page_bounds(svc_call_t *c, size_t total, size_t *start, size_t *count)
{
    json_t *mi = svc_in(c, "MaxItems");
    int64_t max = json_is_integer(mi) ? json_integer_value(mi) : 100;
    if (max < 1 || max > 1000) {
        iam_vcheck_t v;
        iam__v_init(&v, c);
        iam__v_range(&v, "maxItems", mi, 1, 1000);
        iam__v_done(&v);
        return false;
    }
    *start = 0;
    const char *marker = svc_in_str(c, "Marker");
    if (marker) {
        /* Markers are opaque to clients; ours is "kyoka:<index>". */
        char *end = NULL;
        unsigned long long idx = strncmp(marker, "kyoka:", 6) == 0 ? strtoull(marker + 6, &end, 10) : 0;
        if (!end || *end || idx > total) {
            svc_error(c, "ValidationError", 400, "Invalid Marker.");
            return false;
        }
        *start = (size_t)idx;
    }
    *count = total - *start < (size_t)max ? total - *start : (size_t)max;
    return true;
}

int iam__list_page(svc_call_t *c, const char *member, size_t total, iam_item_fn item, const void *items)
{
    size_t start, count;
    if (!page_bounds(c, total, &start, &count))
        return 0;
    json_t *out = svc_output(c);
    json_t *list = json_array();
    for (size_t i = start; i < start + count; i++)
        json_array_append_new(list, item(c, items, i));
    json_object_set_new(out, member, list);
    bool more = start + count < total;
    json_object_set_new(out, "IsTruncated", json_boolean(more));
    if (more) {
        char m[40];
        snprintf(m, sizeof m, "kyoka:%zu", start + count);
        json_object_set_new(out, "Marker", json_string(m));
    }
    return 0;
}
