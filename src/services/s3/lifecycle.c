/*
 * Lifecycle expiration on kyoka's clock
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lifecycle-mgmt.html):
 * Put/Get/DeleteBucketLifecycleConfiguration, and the sweep that applies
 * the rules' Expiration (Days or Date), NoncurrentVersionExpiration and
 * AbortIncompleteMultipartUpload actions to the objects their filter
 * selects (Prefix, one Tag, or And of a prefix and tags).
 *
 * "Amazon S3 calculates the time by adding the number of days specified in
 * the rule to the object creation time and rounding the resulting time to
 * the next day midnight UTC" (lifecycle-expire-general-considerations.html):
 * an object put at 2024-01-01T10:00Z with Days 1 expires at
 * 2024-01-03T00:00Z. Expiring a current object in a versioned bucket
 * inserts a delete marker, as a DELETE does.
 *
 * The sweep runs on the service's deadline queue once a minute of server
 * clock, and at once when the clock is moved forward (so a test that
 * advances the clock sees the result in its next request). Each sweep
 * expires at most S3_LIFECYCLE_BATCH objects and re-arms at once when there
 * were more, so one large expiry never stalls the loop.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

#define S3_LIFECYCLE_BATCH 1000
#define S3_LIFECYCLE_PERIOD_MS (60 * 1000)
#define S3_MAX_LIFECYCLE_RULES 1000
#define DAY_MS (86400LL * 1000)

/* ==== resource internals ==== */

/* Creation + days, rounded up to the next midnight UTC. */
static int64_t due_after(int64_t created_ms, int64_t days)
{
    int64_t t = created_ms + days * DAY_MS;
    return (t + DAY_MS - 1) / DAY_MS * DAY_MS;
}

/* The rule's filter: prefix and the tags an object must carry. */
typedef struct rule_filter {
    const char *prefix;
    json_t *tags; /* array of {Key, Value}, borrowed; NULL: none */
    json_t *one;  /* a single Tag, borrowed */
} rule_filter_t;

static void filter_of(json_t *rule, rule_filter_t *f)
{
    json_t *flt = json_object_get(rule, "Filter");
    json_t *and = json_object_get(flt, "And");
    f->prefix = json_string_value(json_object_get(rule, "Prefix"));
    if (!f->prefix)
        f->prefix = json_string_value(json_object_get(flt, "Prefix"));
    if (!f->prefix)
        f->prefix = json_string_value(json_object_get(and, "Prefix"));
    if (!f->prefix)
        f->prefix = "";
    f->one = json_object_get(flt, "Tag");
    f->tags = json_object_get(and, "Tags");
}

static bool tag_present(json_t *have, json_t *want)
{
    const char *k = json_string_value(json_object_get(want, "Key"));
    const char *v = json_string_value(json_object_get(want, "Value"));
    size_t i;
    json_t *t;
    json_array_foreach(have, i, t)
    {
        const char *hk = json_string_value(json_object_get(t, "Key"));
        const char *hv = json_string_value(json_object_get(t, "Value"));
        if (k && v && hk && hv && strcmp(k, hk) == 0 && strcmp(v, hv) == 0)
            return true;
    }
    return false;
}

static bool tags_match(const rule_filter_t *f, const char *tags_text)
{
    if (!f->one && !json_array_size(f->tags))
        return true;
    json_t *have = tags_text ? json_loads(tags_text, 0, NULL) : NULL;
    bool ok = true;
    if (f->one)
        ok = tag_present(have, f->one);
    size_t i;
    json_t *t;
    json_array_foreach(f->tags, i, t) ok = ok && tag_present(have, t);
    json_decref(have);
    return ok;
}

typedef struct victim {
    char *key;
    int64_t seq;
    bool noncurrent;
} victim_t;

/* Apply one bucket's rules; returns how many versions went (at most budget). */
static int sweep_bucket(s3_state_t *st, arena_t *a, const s3_bucket_t *b, int budget)
{
    json_t *rules = b->lifecycle ? json_loads(b->lifecycle, 0, NULL) : NULL;
    int64_t now = kyoka_clock_now_ms();
    int done = 0;
    size_t ri;
    json_t *rule;
    json_array_foreach(rules, ri, rule)
    {
        const char *status = json_string_value(json_object_get(rule, "Status"));
        if (!status || strcmp(status, "Enabled") != 0 || done >= budget)
            continue;
        rule_filter_t f;
        filter_of(rule, &f);
        json_t *exp = json_object_get(rule, "Expiration");
        json_t *days = json_object_get(exp, "Days"), *date = json_object_get(exp, "Date");
        int64_t date_ms = json_is_number(date) ? (int64_t)(json_number_value(date) * 1000) : -1;
        /* Collect first, then change: the statements below reuse the
         * store's cached ones. */
        victim_t *vs = arena_alloc(a, (size_t)(budget - done) * sizeof *vs);
        int nv = 0;
        if (json_is_integer(days) || date_ms >= 0) {
            sqlite3_stmt *q = store_stmt(st->store, "SELECT key, modified_ms, tags FROM s3_objects WHERE bucket = ?1 "
                                                    "AND substr(key, 1, length(?2)) = ?2 ORDER BY key");
            sqlite3_bind_text(q, 1, b->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, f.prefix, -1, SQLITE_STATIC);
            while (nv < budget - done && sqlite3_step(q) == SQLITE_ROW) {
                int64_t m = sqlite3_column_int64(q, 1);
                bool due = json_is_integer(days) ? due_after(m, json_integer_value(days)) <= now : date_ms <= now;
                if (!due || !tags_match(&f, (const char *)sqlite3_column_text(q, 2)))
                    continue;
                vs[nv++] = (victim_t){arena_strdup(a, (const char *)sqlite3_column_text(q, 0)), 0, false};
            }
            sqlite3_reset(q);
        }
        json_t *nde = json_object_get(json_object_get(rule, "NoncurrentVersionExpiration"), "NoncurrentDays");
        if (json_is_integer(nde) && nv < budget - done) {
            /* A version is noncurrent since its successor was made: the
             * successor's modified time. */
            sqlite3_stmt *q = store_stmt(
                st->store,
                "SELECT v.key, v.seq, (SELECT min(modified_ms) FROM (SELECT modified_ms, seq FROM s3_versions w WHERE "
                "w.bucket = v.bucket AND w.key = v.key AND w.seq > v.seq UNION ALL SELECT modified_ms, seq FROM "
                "s3_objects o WHERE o.bucket = v.bucket AND o.key = v.key AND o.seq > v.seq)) FROM s3_versions v "
                "WHERE v.bucket = ?1 AND v.marker = 0 AND substr(v.key, 1, length(?2)) = ?2");
            sqlite3_bind_text(q, 1, b->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, f.prefix, -1, SQLITE_STATIC);
            while (nv < budget - done && sqlite3_step(q) == SQLITE_ROW) {
                if (sqlite3_column_type(q, 2) == SQLITE_NULL)
                    continue;
                if (due_after(sqlite3_column_int64(q, 2), json_integer_value(nde)) > now)
                    continue;
                vs[nv++] = (victim_t){arena_strdup(a, (const char *)sqlite3_column_text(q, 0)),
                                      sqlite3_column_int64(q, 1), true};
            }
            sqlite3_reset(q);
        }
        for (int i = 0; i < nv; i++) {
            s3_object_t o = {.key = vs[i].key};
            if (vs[i].noncurrent) {
                sqlite3_stmt *q = store_stmt(st->store, "SELECT version_id, file FROM s3_versions WHERE bucket = ? AND "
                                                        "key = ? AND seq = ?");
                sqlite3_bind_text(q, 1, b->name, -1, SQLITE_STATIC);
                sqlite3_bind_text(q, 2, vs[i].key, -1, SQLITE_STATIC);
                sqlite3_bind_int64(q, 3, vs[i].seq);
                const char *vid = NULL;
                if (sqlite3_step(q) == SQLITE_ROW)
                    vid = sqlite3_column_text(q, 0) ? arena_strdup(a, (const char *)sqlite3_column_text(q, 0)) : "null";
                sqlite3_reset(q);
                bool was_marker;
                if (vid && s3__version_delete(st, b->name, vs[i].key, vid, &was_marker)) {
                    o.version_id = strcmp(vid, "null") == 0 ? NULL : vid;
                    o.seq = s3__seq_next(st);
                    s3__notify(st, NULL, b, "LifecycleExpiration:Delete", &o);
                    done++;
                }
                continue;
            }
            bool marker = false;
            char mv[S3_VERSION_ID_LEN + 1];
            if (!s3__object_delete(st, b, vs[i].key, &marker, mv))
                continue;
            o.version_id = marker && mv[0] ? arena_strdup(a, mv) : NULL;
            o.seq = marker ? st->seq : s3__seq_next(st);
            s3__notify(st, NULL, b, marker ? "LifecycleExpiration:DeleteMarkerCreated" : "LifecycleExpiration:Delete",
                       &o);
            done++;
        }
        /* Incomplete multipart uploads older than the rule allows. */
        json_t *abort_days =
            json_object_get(json_object_get(rule, "AbortIncompleteMultipartUpload"), "DaysAfterInitiation");
        if (json_is_integer(abort_days)) {
            sqlite3_stmt *q = store_stmt(st->store, "SELECT id, created_ms FROM s3_uploads WHERE bucket = ?1 AND "
                                                    "substr(key, 1, length(?2)) = ?2");
            sqlite3_bind_text(q, 1, b->name, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, f.prefix, -1, SQLITE_STATIC);
            const char *ids[64];
            int ni = 0;
            while (ni < 64 && sqlite3_step(q) == SQLITE_ROW)
                if (due_after(sqlite3_column_int64(q, 1), json_integer_value(abort_days)) <= now)
                    ids[ni++] = arena_strdup(a, (const char *)sqlite3_column_text(q, 0));
            sqlite3_reset(q);
            for (int i = 0; i < ni; i++) {
                q = store_stmt(st->store, "SELECT file FROM s3_parts WHERE upload_id = ?");
                sqlite3_bind_text(q, 1, ids[i], -1, SQLITE_STATIC);
                while (sqlite3_step(q) == SQLITE_ROW)
                    s3__file_unlink_later(st, (const char *)sqlite3_column_text(q, 0));
                sqlite3_reset(q);
                store_write_begin(st->store);
                q = store_stmt(st->store, "DELETE FROM s3_parts WHERE upload_id = ?");
                sqlite3_bind_text(q, 1, ids[i], -1, SQLITE_STATIC);
                sqlite3_step(q);
                sqlite3_reset(q);
                q = store_stmt(st->store, "DELETE FROM s3_uploads WHERE id = ?");
                sqlite3_bind_text(q, 1, ids[i], -1, SQLITE_STATIC);
                sqlite3_step(q);
                sqlite3_reset(q);
            }
        }
    }
    json_decref(rules);
    return done;
}

int s3__lifecycle_sweep(s3_state_t *st)
{
    arena_t a;
    arena_init(&a);
    const char **names = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *q = store_stmt(st->store, "SELECT name FROM s3_buckets WHERE lifecycle IS NOT NULL ORDER BY name");
    while (sqlite3_step(q) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            const char **nn = arena_alloc(&a, cap * sizeof *nn);
            if (n)
                memcpy(nn, names, n * sizeof *nn);
            names = nn;
        }
        names[n++] = arena_strdup(&a, (const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_reset(q);
    int done = 0;
    for (size_t i = 0; i < n && done < S3_LIFECYCLE_BATCH; i++) {
        s3_bucket_t b;
        if (s3__bucket_lookup(st, &a, names[i], &b))
            done += sweep_bucket(st, &a, &b, S3_LIFECYCLE_BATCH - done);
    }
    arena_destroy(&a);
    if (done)
        log_info("s3: lifecycle expired %d object version%s", done, done == 1 ? "" : "s");
    return done;
}

static void on_lifecycle_due(dq_entry_t *e)
{
    s3_state_t *st = container_of(e, s3_state_t, lifecycle_due);
    int done = s3__lifecycle_sweep(st);
    /* A full batch: more may be due, go on next turn. */
    dq_add(&st->dq, &st->lifecycle_due,
           kyoka_clock_now_ms() + (done >= S3_LIFECYCLE_BATCH ? 0 : S3_LIFECYCLE_PERIOD_MS));
}

void s3__lifecycle_start(s3_state_t *st)
{
    st->lifecycle_due.cb = on_lifecycle_due;
    dq_add(&st->dq, &st->lifecycle_due, kyoka_clock_now_ms() + S3_LIFECYCLE_PERIOD_MS);
}

void s3__lifecycle_clock_moved(void *state)
{
    s3_state_t *st = state;
    if (s3__lifecycle_sweep(st) >= S3_LIFECYCLE_BATCH)
        dq_add(&st->dq, &st->lifecycle_due, kyoka_clock_now_ms());
}

/* ==== operation handlers ==== */

static void malformed(svc_call_t *c)
{
    svc_error(c, "MalformedXML", 400,
              "The XML you provided was not well-formed or did not validate against our published schema");
}

int s3_put_bucket_lifecycle_configuration(svc_call_t *c)
{
    const char *name = svc_in_str(c, "Bucket");
    if (!s3__bucket_get_or_fail(c, name))
        return 0;
    json_t *rules = json_object_get(svc_in(c, "LifecycleConfiguration"), "Rules");
    if (!json_is_array(rules) || json_array_size(rules) == 0 || json_array_size(rules) > S3_MAX_LIFECYCLE_RULES) {
        malformed(c);
        return 0;
    }
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        const char *status = json_string_value(json_object_get(r, "Status"));
        const char *id = json_string_value(json_object_get(r, "ID"));
        if (!status || (strcmp(status, "Enabled") != 0 && strcmp(status, "Disabled") != 0)) {
            malformed(c);
            return 0;
        }
        if (id && strlen(id) > 255) {
            svc_error(c, "InvalidArgument", 400, "ID length should not exceed allowed limit of 255");
            return 0;
        }
        for (size_t k = 0; id && k < i; k++) {
            const char *other = json_string_value(json_object_get(json_array_get(rules, k), "ID"));
            if (other && strcmp(other, id) == 0) {
                svc_error(c, "InvalidArgument", 400, "Rule ID must be unique. Found same ID for more than one rule");
                return 0;
            }
        }
        json_t *exp = json_object_get(r, "Expiration");
        json_t *days = json_object_get(exp, "Days");
        if (days && (!json_is_integer(days) || json_integer_value(days) <= 0)) {
            svc_error(c, "InvalidArgument", 400, "'Days' for Expiration action must be a positive integer");
            return 0;
        }
        if (days && json_object_get(exp, "Date")) {
            malformed(c);
            return 0;
        }
        json_t *nd = json_object_get(json_object_get(r, "NoncurrentVersionExpiration"), "NoncurrentDays");
        if (nd && (!json_is_integer(nd) || json_integer_value(nd) <= 0)) {
            svc_error(c, "InvalidArgument", 400,
                      "'NoncurrentDays' in NoncurrentVersionExpiration action must be "
                      "nonnegative");
            return 0;
        }
        if (!exp && !json_object_get(r, "NoncurrentVersionExpiration") &&
            !json_object_get(r, "AbortIncompleteMultipartUpload") && !json_object_get(r, "Transitions") &&
            !json_object_get(r, "NoncurrentVersionTransitions")) {
            svc_error(c, "InvalidRequest", 400, "At least one action needs to be specified in a rule");
            return 0;
        }
    }
    /* Rules without an ID get one, as S3 gives them. */
    json_t *copy = json_deep_copy(rules);
    json_array_foreach(copy, i, r) if (!json_object_get(r, "ID"))
    {
        char uid[37];
        kyoka_uuid(uid);
        json_object_set_new(r, "ID", json_string(uid));
    }
    char *text = proto_json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(copy);
    s3__bucket_set(c->state, name, "UPDATE s3_buckets SET lifecycle = ? WHERE name = ?", text);
    free(text);
    svc_output(c);
    return 0;
}

int s3_get_bucket_lifecycle_configuration(svc_call_t *c)
{
    s3_bucket_t *b = s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket"));
    if (!b)
        return 0;
    json_t *rules = b->lifecycle ? json_loads(b->lifecycle, 0, NULL) : NULL;
    if (!rules) {
        svc_error(c, "NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist");
        return 0;
    }
    json_object_set_new(svc_output(c), "Rules", rules);
    return 0;
}

int s3_delete_bucket_lifecycle(svc_call_t *c)
{
    const char *name = svc_in_str(c, "Bucket");
    if (!s3__bucket_get_or_fail(c, name))
        return 0;
    s3__bucket_set(c->state, name, "UPDATE s3_buckets SET lifecycle = ? WHERE name = ?", NULL);
    svc_output(c);
    return 0;
}
