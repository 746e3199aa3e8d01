/*
 * Log groups: naming, lookup by name, identifier or ARN, and the group
 * operations (CreateLogGroup, DeleteLogGroup, DescribeLogGroups,
 * Put/DeleteRetentionPolicy, TagResource/UntagResource/ListTagsForResource
 * and the older TagLogGroup/UntagLogGroup/ListTagsLogGroup).
 *
 * Groups are regional, as on AWS where each region has its own endpoint:
 * a call sees the groups of the region its request is signed for. The
 * state keeps every group in one array sorted by (region, account, name),
 * so DescribeLogGroups pages through a contiguous run of it in AWS's
 * "ASCII-sorted by log group name" order.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

const char *logs__call_region(const svc_call_t *c) { return c->region ? c->region : c->ctx->region; }

const char *logs__call_account(const svc_call_t *c)
{
    return c->cred && c->cred->account_id ? c->cred->account_id : c->ctx->account_id;
}

void logs__err_no_group(svc_call_t *c)
{
    svc_error(c, "ResourceNotFoundException", 400, "The specified log group does not exist.");
}

static int group_cmp(const logs_group_t *g, const char *region, const char *account, const char *name)
{
    int r = strcmp(g->region, region);
    if (r == 0)
        r = strcmp(g->account, account);
    if (r == 0)
        r = strcmp(g->name, name);
    return r;
}

size_t logs__group_pos(const logs_state_t *st, const char *region, const char *account, const char *name, bool *found)
{
    size_t lo = 0, hi = st->ngroups;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (group_cmp(st->groups[mid], region, account, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < st->ngroups && group_cmp(st->groups[lo], region, account, name) == 0;
    return lo;
}

logs_group_t *logs__group_lookup(logs_state_t *st, const char *region, const char *account, const char *name)
{
    bool found;
    size_t i = logs__group_pos(st, region, account, name, &found);
    return found ? st->groups[i] : NULL;
}

logs_group_t *logs__group_new(logs_state_t *st, uint64_t id, const char *region, const char *account,
                              const char *name, int64_t created_ms)
{
    bool found;
    size_t pos = logs__group_pos(st, region, account, name, &found);
    if (found) /* a duplicate row in the store: keep the first */
        return st->groups[pos];
    logs_group_t *g = xcalloc(1, sizeof *g);
    g->st = st;
    g->id = id;
    g->region = xstrdup(region);
    g->account = xstrdup(account);
    g->name = xstrdup(name);
    g->arn = xasprintf("arn:aws:logs:%s:%s:log-group:%s", region, account, name);
    g->created_ms = created_ms;
    g->klass = xstrdup("STANDARD");
    g->tags = json_object();
    if (st->ngroups == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        st->groups = xrealloc(st->groups, st->cap * sizeof *st->groups);
    }
    memmove(st->groups + pos + 1, st->groups + pos, (st->ngroups - pos) * sizeof *st->groups);
    st->groups[pos] = g;
    st->ngroups++;
    return g;
}

void logs__group_free(logs_group_t *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->nsubs; i++)
        logs__subscription_free(g->subs[i]);
    for (size_t i = 0; i < g->nstreams; i++)
        logs__stream_free(g->streams[i]);
    free(g->streams);
    json_decref(g->tags);
    free(g->region);
    free(g->account);
    free(g->name);
    free(g->arn);
    free(g->kms_key);
    free(g->klass);
    free(g);
}

void logs__group_remove(logs_group_t *g)
{
    logs_state_t *st = g->st;
    bool found;
    size_t pos = logs__group_pos(st, g->region, g->account, g->name, &found);
    if (found) {
        memmove(st->groups + pos, st->groups + pos + 1, (st->ngroups - pos - 1) * sizeof *st->groups);
        st->ngroups--;
    }
    logs__group_free(g);
}

/* Split arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*] into arena strings.
 * The name may not hold ':' (group names never do). */
static bool group_arn_parse(arena_t *a, const char *arn, const char **region, const char **account, const char **name)
{
    iam_arn_t p;
    if (!arn || iam_arn_parse(strv_from(arn), &p) != 0 || !strv_eq_cstr(p.service, "logs") ||
        !strv_starts_with(p.resource, "log-group:"))
        return false;
    strv_t rest = {p.resource.p + 10, p.resource.len - 10};
    if (rest.len >= 2 && memcmp(rest.p + rest.len - 2, ":*", 2) == 0)
        rest.len -= 2;
    if (rest.len == 0 || memchr(rest.p, ':', rest.len))
        return false;
    *region = arena_strndup(a, p.region.p, p.region.len);
    *account = arena_strndup(a, p.account.p, p.account.len);
    *name = arena_strndup(a, rest.p, rest.len);
    return true;
}

logs_group_t *logs__group_by_arn_or_fail(svc_call_t *c, const char *arn)
{
    const char *region, *account, *name;
    /* Groups are regional: an ARN of another region names nothing here. */
    if (!group_arn_parse(c->arena, arn, &region, &account, &name) || strcmp(region, logs__call_region(c)) != 0) {
        logs__err_no_group(c);
        return NULL;
    }
    logs_group_t *g = logs__group_lookup(c->state, region, account, name);
    if (!g)
        logs__err_no_group(c);
    return g;
}

logs_group_t *logs__group_get_or_fail(svc_call_t *c)
{
    const char *name = svc_in_str(c, "logGroupName");
    const char *ident = svc_in_str(c, "logGroupIdentifier");
    /* "If you specify values for both logGroupName and logGroupIdentifier,
     * the action returns an InvalidParameterException error." */
    if (name && ident) {
        svc_error(c, "InvalidParameterException", 400, "LogGroup name and LogGroup ARN are mutually exclusive parameters.");
        return NULL;
    }
    if (!name && !ident) {
        svc_error(c, "InvalidParameterException", 400,
                  "Should provide either logGroupName or logGroupIdentifier.");
        return NULL;
    }
    if (ident && strncmp(ident, "arn:", 4) == 0)
        return logs__group_by_arn_or_fail(c, ident);
    logs_group_t *g = logs__group_lookup(c->state, logs__call_region(c), logs__call_account(c), name ? name : ident);
    if (!g)
        logs__err_no_group(c);
    return g;
}

/* PutRetentionPolicy's allowed values
 * (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html). */
static const int retention_values[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                       365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

bool logs__valid_retention(long long days)
{
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(retention_values); i++)
        if (retention_values[i] == days)
            return true;
    return false;
}

/* Tag keys and values: [\p{L}\p{Z}\p{N}_.:/=+\-@], keys 1..128, values
 * 0..256, at most 50 a resource (TagKey / TagValue in the model). Bytes
 * past ASCII are taken as letters. */
static bool tag_chars_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!(*p >= 0x80 || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(" _.:/=+-@", *p)))
            return false;
    return true;
}

bool logs__tags_check(svc_call_t *c, json_t *tags, const char *member)
{
    if (!tags)
        return true;
    logs_check_t k;
    logs__check_init(&k, c);
    const char *key;
    json_t *v;
    json_object_foreach(tags, key, v) {
        const char *val = json_string_value(v);
        char *path = arena_sprintf(c->arena, "%s", member);
        if (strlen(key) > LOGS_MAX_TAG_KEY || !tag_chars_ok(key))
            logs__check_add(&k, path, key, strlen(key) > LOGS_MAX_TAG_KEY
                                               ? "Map keys must satisfy constraint: [Member must have length less than or equal to 128]"
                                               : "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+)$]");
        if (!val || strlen(val) > LOGS_MAX_TAG_VALUE || !tag_chars_ok(val))
            logs__check_add(&k, path, val, val && strlen(val) > LOGS_MAX_TAG_VALUE
                                               ? "Map value must satisfy constraint: [Member must have length less than or equal to 256]"
                                               : "Map value must satisfy constraint: [Member must satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$]");
    }
    if (json_object_size(tags) > LOGS_MAX_TAGS)
        logs__check_add(&k, member, NULL, "Member must have length less than or equal to 50");
    return logs__check_done(&k);
}

/* Apply tags onto g (a copy is checked against the 50-tag quota first). */
static bool tags_merge(svc_call_t *c, logs_group_t *g, json_t *tags)
{
    json_t *merged = json_copy(g->tags);
    json_object_update(merged, tags);
    if (json_object_size(merged) > LOGS_MAX_TAGS) {
        json_decref(merged);
        svc_error(c, "TooManyTagsException", 400, "A resource can have no more than 50 tags.");
        return false;
    }
    json_decref(g->tags);
    g->tags = merged;
    return true;
}

json_t *logs__group_describe(const logs_group_t *g)
{
    json_t *o = json_object();
    json_object_set_new(o, "logGroupName", json_string(g->name));
    json_object_set_new(o, "creationTime", json_integer(g->created_ms));
    if (g->retention_days)
        json_object_set_new(o, "retentionInDays", json_integer(g->retention_days));
    json_object_set_new(o, "metricFilterCount", json_integer(0));
    /* `arn` carries a trailing ":*" (it covers the group's streams);
     * logGroupArn is the group's own ARN. */
    char *arn = xasprintf("%s:*", g->arn);
    json_object_set_new(o, "arn", json_string(arn));
    free(arn);
    json_object_set_new(o, "storedBytes", json_integer(g->stored_bytes));
    if (g->kms_key)
        json_object_set_new(o, "kmsKeyId", json_string(g->kms_key));
    json_object_set_new(o, "logGroupClass", json_string(g->klass));
    json_object_set_new(o, "logGroupArn", json_string(g->arn));
    return o;
}

/* ==== operation handlers ==== */

int logs_create_log_group(svc_call_t *c)
{
    logs_state_t *st = c->state;
    const char *name = svc_in_str(c, "logGroupName");
    const char *klass = svc_in_str(c, "logGroupClass");
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", name, LOGS_NAME_GROUP, true);
    if (klass && strcmp(klass, "STANDARD") != 0 && strcmp(klass, "INFREQUENT_ACCESS") != 0 &&
        strcmp(klass, "DELIVERY") != 0)
        logs__check_add(&k, "logGroupClass", klass,
                        "Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]");
    if (!logs__check_done(&k) || !logs__tags_check(c, svc_in(c, "tags"), "tags"))
        return 0;
    /* Names under aws/ are AWS's own. */
    if (strncasecmp(name, "aws/", 4) == 0) {
        svc_error(c, "InvalidParameterException", 400, "Log groups starting with AWS/ are reserved for AWS.");
        return 0;
    }
    const char *region = logs__call_region(c), *account = logs__call_account(c);
    if (logs__group_lookup(st, region, account, name)) {
        svc_error(c, "ResourceAlreadyExistsException", 400, "The specified log group already exists");
        return 0;
    }
    logs_group_t *g = logs__group_new(st, st->next_group_id++, region, account, name, kyoka_clock_now_ms());
    const char *kms = svc_in_str(c, "kmsKeyId");
    if (kms && *kms)
        g->kms_key = xstrdup(kms);
    if (klass) {
        free(g->klass);
        g->klass = xstrdup(klass);
    }
    json_t *tags = svc_in(c, "tags");
    if (json_is_object(tags))
        json_object_update(g->tags, tags);
    logs__persist_group(g);
    return 0;
}

int logs_delete_log_group(svc_call_t *c)
{
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, true);
    if (!logs__check_done(&k))
        return 0;
    logs_group_t *g = logs__group_get_or_fail(c);
    if (!g)
        return 0;
    logs__persist_group_delete(g);
    logs__group_remove(g);
    return 0;
}

/* Page tokens name the last group returned; the next page starts after it.
 * Hex keeps any group name inside the token's pattern. */
static char *name_token(arena_t *a, const char *name)
{
    size_t n = strlen(name);
    char *t = arena_alloc(a, 2 * n + 3);
    t[0] = 'g';
    t[1] = '1';
    kyoka_hex((const unsigned char *)name, n, t + 2);
    return t;
}

static const char *name_from_token(arena_t *a, const char *tok)
{
    size_t n = strlen(tok);
    if (n < 2 || tok[0] != 'g' || tok[1] != '1' || (n - 2) % 2 != 0)
        return NULL;
    char *out = arena_alloc(a, (n - 2) / 2 + 1);
    for (size_t i = 2, j = 0; i < n; i += 2, j++) {
        int hi = kyoka_hexval(tok[i]), lo = kyoka_hexval(tok[i + 1]);
        if (hi < 0 || lo < 0)
            return NULL;
        out[j] = (char)(hi * 16 + lo);
        if (out[j] == '\0')
            return NULL;
    }
    out[(n - 2) / 2] = '\0';
    return out;
}

int logs_describe_log_groups(svc_call_t *c)
{
    logs_state_t *st = c->state;
    const char *prefix = svc_in_str(c, "logGroupNamePrefix");
    const char *pattern = svc_in_str(c, "logGroupNamePattern");
    const char *token = svc_in_str(c, "nextToken");
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupNamePrefix", prefix, LOGS_NAME_GROUP, false);
    logs__check_name(&k, "logGroupNamePattern", pattern, LOGS_NAME_GROUP_PATTERN, false);
    logs__check_int(&k, "limit", svc_in(c, "limit"), 1, LOGS_DESCRIBE_LIMIT);
    if (!logs__check_done(&k))
        return 0;
    if (prefix && pattern) {
        svc_error(c, "InvalidParameterException", 400,
                  "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.");
        return 0;
    }
    const char *klass = svc_in_str(c, "logGroupClass");
    long long limit = LOGS_DESCRIBE_LIMIT;
    logs_in_int(c, "limit", &limit);
    const char *after = NULL;
    if (token && !(after = name_from_token(c->arena, token))) {
        svc_error(c, "InvalidParameterException", 400, "The specified nextToken is not valid.");
        return 0;
    }
    const char *region = logs__call_region(c), *account = logs__call_account(c);
    bool found;
    size_t i = logs__group_pos(st, region, account, after ? after : (prefix ? prefix : ""), &found);
    if (after && found)
        i++;
    json_t *list = json_array();
    size_t plen = prefix ? strlen(prefix) : 0;
    const char *last = NULL;
    for (; i < st->ngroups; i++) {
        logs_group_t *g = st->groups[i];
        if (strcmp(g->region, region) != 0 || strcmp(g->account, account) != 0)
            break;
        if (prefix && strncmp(g->name, prefix, plen) != 0) {
            if (strcmp(g->name, prefix) > 0)
                break; /* sorted: no later name has the prefix */
            continue;
        }
        if (pattern && *pattern && !strstr(g->name, pattern))
            continue;
        if (klass && strcmp(g->klass, klass) != 0)
            continue;
        if ((long long)json_array_size(list) == limit) {
            json_object_set_new(svc_output(c), "nextToken", json_string(name_token(c->arena, last)));
            break;
        }
        json_array_append_new(list, logs__group_describe(g));
        last = g->name;
    }
    json_object_set_new(svc_output(c), "logGroups", list);
    return 0;
}

int logs_put_retention_policy(svc_call_t *c)
{
    long long days = 0;
    bool have = logs_in_int(c, "retentionInDays", &days);
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, true);
    if (have && !logs__valid_retention(days)) {
        char v[32];
        snprintf(v, sizeof v, "%lld", days);
        logs__check_add(&k, "retentionInDays", v,
                        "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, "
                        "545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]");
    }
    if (!logs__check_done(&k))
        return 0;
    logs_group_t *g = logs__group_get_or_fail(c);
    if (!g)
        return 0;
    g->retention_days = (int)days;
    logs__persist_group(g);
    /* Reads hide expired events at once; the sweep deletes them soon. */
    logs__sweep_arm(g->st, kyoka_clock_now_ms());
    return 0;
}

int logs_delete_retention_policy(svc_call_t *c)
{
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, true);
    if (!logs__check_done(&k))
        return 0;
    logs_group_t *g = logs__group_get_or_fail(c);
    if (!g)
        return 0;
    g->retention_days = 0;
    logs__persist_group(g);
    return 0;
}

/* ---- tags: TagResource & co. take the group's ARN ---- */

static logs_group_t *group_by_resource_arn(svc_call_t *c)
{
    const char *arn = svc_in_str(c, "resourceArn");
    logs_check_t k;
    logs__check_init(&k, c);
    if (arn && (strlen(arn) == 0 || strlen(arn) > 1011))
        logs__check_add(&k, "resourceArn", arn,
                        strlen(arn) ? "Member must have length less than or equal to 1011"
                                    : "Member must have length greater than or equal to 1");
    if (!logs__check_done(&k))
        return NULL;
    return logs__group_by_arn_or_fail(c, arn);
}

int logs_tag_resource(svc_call_t *c)
{
    json_t *tags = svc_in(c, "tags");
    if (!logs__tags_check(c, tags, "tags"))
        return 0;
    logs_group_t *g = group_by_resource_arn(c);
    if (!g || !tags_merge(c, g, tags))
        return 0;
    logs__persist_group(g);
    return 0;
}

static void untag(logs_group_t *g, json_t *keys)
{
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        if (json_is_string(k))
            json_object_del(g->tags, json_string_value(k));
    }
}

int logs_untag_resource(svc_call_t *c)
{
    logs_group_t *g = group_by_resource_arn(c);
    if (!g)
        return 0;
    untag(g, svc_in(c, "tagKeys"));
    logs__persist_group(g);
    return 0;
}

int logs_list_tags_for_resource(svc_call_t *c)
{
    logs_group_t *g = group_by_resource_arn(c);
    if (!g)
        return 0;
    json_object_set_new(svc_output(c), "tags", json_copy(g->tags));
    return 0;
}

/* The deprecated group-name forms of the same. */

static logs_group_t *group_by_name_checked(svc_call_t *c)
{
    logs_check_t k;
    logs__check_init(&k, c);
    logs__check_name(&k, "logGroupName", svc_in_str(c, "logGroupName"), LOGS_NAME_GROUP, true);
    if (!logs__check_done(&k))
        return NULL;
    return logs__group_get_or_fail(c);
}

int logs_tag_log_group(svc_call_t *c)
{
    json_t *tags = svc_in(c, "tags");
    if (!logs__tags_check(c, tags, "tags"))
        return 0;
    logs_group_t *g = group_by_name_checked(c);
    if (!g || !tags_merge(c, g, tags))
        return 0;
    logs__persist_group(g);
    return 0;
}

int logs_untag_log_group(svc_call_t *c)
{
    logs_group_t *g = group_by_name_checked(c);
    if (!g)
        return 0;
    untag(g, svc_in(c, "tags"));
    logs__persist_group(g);
    return 0;
}

int logs_list_tags_log_group(svc_call_t *c)
{
    logs_group_t *g = group_by_name_checked(c);
    if (!g)
        return 0;
    json_object_set_new(svc_output(c), "tags", json_copy(g->tags));
    return 0;
}
