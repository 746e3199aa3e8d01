/*
 * Buckets: create (name rules, LocationConstraint), head, list, delete,
 * location, tagging, policy, versioning.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

/* https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html:
 * 3 to 63 characters of a-z, 0-9, '.', '-'; begins and ends with a letter
 * or digit; no "..", no IP address form; not xn--, sthree-, amzn-s3-demo-
 * prefixes nor -s3alias, --ol-s3, .mrap, --x-s3 suffixes. */
bool s3__bucket_name_ok(svc_call_t *c, const char *name)
{
    size_t n = strlen(name);
    bool ok = n >= 3 && n <= 63;
    for (size_t i = 0; ok && i < n; i++) {
        char ch = name[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-';
    }
    if (ok) {
        char f = name[0], l = name[n - 1];
        ok = ((f >= 'a' && f <= 'z') || (f >= '0' && f <= '9')) && ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9'));
    }
    if (ok && strstr(name, ".."))
        ok = false;
    if (ok) {
        int a, b, cc, d;
        char tail;
        if (sscanf(name, "%d.%d.%d.%d%c", &a, &b, &cc, &d, &tail) == 4)
            ok = false;
    }
    static const char *const prefixes[] = {"xn--", "sthree-", "amzn-s3-demo-"};
    static const char *const suffixes[] = {"-s3alias", "--ol-s3", ".mrap", "--x-s3"};
    for (size_t i = 0; ok && i < KYOKA_ARRAY_LEN(prefixes); i++)
        ok = strncmp(name, prefixes[i], strlen(prefixes[i])) != 0;
    for (size_t i = 0; ok && i < KYOKA_ARRAY_LEN(suffixes); i++) {
        size_t k = strlen(suffixes[i]);
        ok = !(n > k && strcmp(name + n - k, suffixes[i]) == 0);
    }
    if (!ok)
        svc_error(c, "InvalidBucketName", 400, "The specified bucket is not valid.");
    return ok;
}

char *s3__tags_encode(svc_call_t *c, json_t *tagset, size_t max)
{
    if (!json_is_array(tagset)) {
        svc_error(c, "MalformedXML", 400,
                  "The XML you provided was not well-formed or did not validate against our published schema");
        return NULL;
    }
    if (json_array_size(tagset) > max) {
        svc_error(c, max == S3_MAX_TAGS ? "BadRequest" : "InvalidTag", 400,
                  max == S3_MAX_TAGS ? "Object tags cannot be greater than 10" : "Bucket tag count cannot be greater than 50");
        return NULL;
    }
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tagset, i, t) {
        const char *k = json_string_value(json_object_get(t, "Key"));
        const char *v = json_string_value(json_object_get(t, "Value"));
        if (!k || !v || !*k || strlen(k) > S3_MAX_TAG_KEY || strlen(v) > S3_MAX_TAG_VALUE) {
            svc_error(c, "InvalidTag", 400, "The TagKey you have provided is invalid");
            json_decref(out);
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(out, j), "Key")), k) == 0) {
                svc_error(c, "InvalidTag", 400, "Cannot provide multiple Tags with the same key");
                json_decref(out);
                return NULL;
            }
        json_array_append_new(out, json_pack("{s:s,s:s}", "Key", k, "Value", v));
    }
    char *s = proto_json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return s;
}

json_t *s3__tags_from_query(svc_call_t *c, const char *q)
{
    form_param_t *ps;
    int n = form_parse(c->arena, strv_from(q), &ps, 64);
    if (n < 0) {
        svc_error(c, "InvalidArgument", 400, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.");
        return NULL;
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *k = json_stringn(ps[i].key.p, ps[i].key.len), *v = json_stringn(ps[i].value.p, ps[i].value.len);
        if (!k || !v) {
            json_decref(k);
            json_decref(v);
            json_decref(arr);
            svc_error(c, "InvalidArgument", 400, "The header 'x-amz-tagging' shall be encoded as UTF-8");
            return NULL;
        }
        json_array_append_new(arr, json_pack("{s:o,s:o}", "Key", k, "Value", v));
    }
    return arr;
}

/* ==== operation handlers ==== */

int s3_create_bucket(svc_call_t *c)
{
    s3_state_t *st = c->state;
    const char *name = svc_in_str(c, "Bucket");
    if (!s3__bucket_name_ok(c, name))
        return 0;
    const char *region = c->region ? c->region : c->ctx->region;
    const char *lc = json_string_value(json_object_get(svc_in(c, "CreateBucketConfiguration"), "LocationConstraint"));
    /* https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html:
     * us-east-1 takes no constraint; elsewhere the constraint must name
     * the region the request was sent to. */
    if (lc && *lc) {
        if (strcmp(lc, "us-east-1") == 0 && strcmp(region, "us-east-1") == 0) {
            svc_error(c, "InvalidLocationConstraint", 400, "The specified location-constraint is not valid");
            return 0;
        }
        if (strcmp(lc, region) != 0 && !(strcmp(lc, "EU") == 0 && strcmp(region, "eu-west-1") == 0)) {
            svc_error(c, "IllegalLocationConstraintException", 400,
                      "The %s location constraint is incompatible for the region specific endpoint this request was "
                      "sent to.",
                      lc);
            return 0;
        }
    } else if (strcmp(region, "us-east-1") != 0) {
        svc_error(c, "IllegalLocationConstraintException", 400,
                  "The unspecified location constraint is incompatible for the region specific endpoint this request "
                  "was sent to.");
        return 0;
    }
    const char *acl = svc_in_str(c, "ACL");
    if (acl && strcmp(acl, "private") != 0 && strcmp(acl, "bucket-owner-full-control") != 0) {
        /* ACLs are disabled on new buckets (BucketOwnerEnforced) since April 2023. */
        svc_error(c, "InvalidBucketAclWithObjectOwnership", 400,
                  "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
        return 0;
    }
    s3_bucket_t b;
    if (s3__bucket_lookup(st, c->arena, name, &b)) {
        /* In us-east-1 re-creating your own bucket answers 200. */
        if (strcmp(b.region, "us-east-1") == 0 && strcmp(region, "us-east-1") == 0)
            goto ok;
        svc_error(c, "BucketAlreadyOwnedByYou", 409,
                  "Your previous request to create the named bucket succeeded and you already own it.");
        return 0;
    }
    store_write_begin(st->store);
    sqlite3_stmt *q = store_stmt(st->store, "INSERT INTO s3_buckets (name, region, created_ms) VALUES (?, ?, ?)");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, region, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, kyoka_clock_now_ms());
    sqlite3_step(q);
    sqlite3_reset(q);
ok:
    json_object_set_new(svc_output(c), "Location", json_string(arena_sprintf(c->arena, "/%s", name)));
    return 0;
}

int s3_head_bucket(svc_call_t *c)
{
    s3_bucket_t *b = s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket"));
    if (b)
        svc_output(c);
    return 0;
}

int s3_list_buckets(svc_call_t *c)
{
    s3_state_t *st = c->state;
    json_t *arr = json_array();
    sqlite3_stmt *q = store_stmt(st->store, "SELECT name, created_ms, region FROM s3_buckets ORDER BY name");
    while (sqlite3_step(q) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:s,s:f,s:s}", "Name", (const char *)sqlite3_column_text(q, 0),
                                             "CreationDate", (double)sqlite3_column_int64(q, 1) / 1000.0,
                                             "BucketRegion", (const char *)sqlite3_column_text(q, 2)));
    sqlite3_reset(q);
    json_t *out = svc_output(c);
    json_object_set_new(out, "Buckets", arr);
    json_object_set_new(out, "Owner", json_pack("{s:s,s:s}", "ID", c->ctx->account_id, "DisplayName", "kyoka"));
    return 0;
}

int s3_delete_bucket(svc_call_t *c)
{
    s3_state_t *st = c->state;
    const char *name = svc_in_str(c, "Bucket");
    if (!s3__bucket_get_or_fail(c, name))
        return 0;
    sqlite3_stmt *q = store_stmt(st->store, "SELECT 1 FROM s3_objects WHERE bucket = ? LIMIT 1");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    bool any = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_reset(q);
    for (int t = 0; t < 2 && !any; t++) {
        q = store_stmt(st->store, t == 0 ? "SELECT 1 FROM s3_uploads WHERE bucket = ? LIMIT 1"
                                         : "SELECT 1 FROM s3_versions WHERE bucket = ? LIMIT 1");
        sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
        any = sqlite3_step(q) == SQLITE_ROW;
        sqlite3_reset(q);
    }
    if (any) {
        svc_error(c, "BucketNotEmpty", 409, "The bucket you tried to delete is not empty");
        return 0;
    }
    store_write_begin(st->store);
    q = store_stmt(st->store, "DELETE FROM s3_buckets WHERE name = ?");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
    sqlite3_step(q);
    sqlite3_reset(q);
    s3__policy_cache_set(st, name, NULL);
    return 0;
}

int s3_get_bucket_location(svc_call_t *c)
{
    s3_bucket_t *b = s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket"));
    if (!b)
        return 0;
    /* us-east-1 buckets answer an empty LocationConstraint. */
    json_object_set_new(svc_output(c), "LocationConstraint",
                        json_string(strcmp(b->region, "us-east-1") == 0 ? "" : b->region));
    return 0;
}

int s3_put_bucket_tagging(svc_call_t *c)
{
    const char *name = svc_in_str(c, "Bucket");
    if (!s3__bucket_get_or_fail(c, name))
        return 0;
    char *tags = s3__tags_encode(c, json_object_get(svc_in(c, "Tagging"), "TagSet"), S3_MAX_BUCKET_TAGS);
    if (!tags)
        return 0;
    s3__bucket_set(c->state, name, "UPDATE s3_buckets SET tags = ? WHERE name = ?", tags);
    free(tags);
    return 0;
}

int s3_get_bucket_tagging(svc_call_t *c)
{
    s3_bucket_t *b = s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket"));
    if (!b)
        return 0;
    json_t *tags = b->tags ? json_loads(b->tags, 0, NULL) : NULL;
    if (!tags || json_array_size(tags) == 0) {
        json_decref(tags);
        svc_error(c, "NoSuchTagSet", 404, "The TagSet does not exist");
        return 0;
    }
    json_object_set_new(svc_output(c), "TagSet", tags);
    return 0;
}

int s3_delete_bucket_tagging(svc_call_t *c)
{
    const char *name = svc_in_str(c, "Bucket");
    if (s3__bucket_get_or_fail(c, name))
        s3__bucket_set(c->state, name, "UPDATE s3_buckets SET tags = ? WHERE name = ?", NULL);
    return 0;
}

/* https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html:
 * Enabled or Suspended; a bucket once versioned never returns to
 * unversioned. MFA delete is not something kyoka can check. */
int s3_put_bucket_versioning(svc_call_t *c)
{
    const char *name = svc_in_str(c, "Bucket");
    if (!s3__bucket_get_or_fail(c, name))
        return 0;
    json_t *vc = svc_in(c, "VersioningConfiguration");
    const char *status = json_string_value(json_object_get(vc, "Status"));
    const char *mfa = json_string_value(json_object_get(vc, "MFADelete"));
    if (!status || (strcmp(status, "Enabled") != 0 && strcmp(status, "Suspended") != 0)) {
        svc_error(c, "MalformedXML", 400,
                  "The XML you provided was not well-formed or did not validate against our published schema");
        return 0;
    }
    if (mfa && strcmp(mfa, "Enabled") == 0) {
        svc_error(c, "InvalidRequest", 400, "DevPay and Mfa are mutually exclusive authorization methods.");
        return 0;
    }
    s3__bucket_set(c->state, name, "UPDATE s3_buckets SET versioning = ? WHERE name = ?", status);
    return 0;
}

int s3_get_bucket_versioning(svc_call_t *c)
{
    s3_bucket_t *b = s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket"));
    if (b && b->versioning)
        json_object_set_new(svc_output(c), "Status", json_string(b->versioning));
    else if (b)
        svc_output(c);
    return 0;
}

/* ---- bucket policies ---- */

void s3__policy_cache_set(s3_state_t *st, const char *bucket, iam_policy_t *p)
{
    for (s3_policy_t **pp = &st->policies; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->bucket, bucket) == 0) {
            s3_policy_t *e = *pp;
            iam_policy_free(e->policy);
            if (p) {
                e->policy = p;
            } else {
                *pp = e->next;
                free(e->bucket);
                free(e);
            }
            return;
        }
    }
    if (!p)
        return;
    s3_policy_t *e = xcalloc(1, sizeof *e);
    e->bucket = xstrdup(bucket);
    e->policy = p;
    e->next = st->policies;
    st->policies = e;
}

int s3__policies_load(s3_state_t *st)
{
    sqlite3_stmt *q = store_stmt(st->store, "SELECT name, policy FROM s3_buckets WHERE policy IS NOT NULL");
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *doc = (const char *)sqlite3_column_text(q, 1);
        char err[256];
        bool over;
        iam_policy_t *p = iam_policy_parse(doc, strlen(doc), IAM_POLICY_RESOURCE, KYOKA_RESOURCE_POLICY_MAX_BYTES, err,
                                           sizeof err, &over);
        if (p)
            s3__policy_cache_set(st, (const char *)sqlite3_column_text(q, 0), p);
    }
    sqlite3_reset(q);
    return 0;
}

void s3__policies_free(s3_state_t *st)
{
    while (st->policies) {
        s3_policy_t *e = st->policies;
        st->policies = e->next;
        iam_policy_free(e->policy);
        free(e->bucket);
        free(e);
    }
}

const iam_policy_t *s3__resource_policy(void *state, const char *arn, const char **owner)
{
    s3_state_t *st = state;
    if (strncmp(arn, "arn:aws:s3:::", 13) != 0)
        return NULL;
    const char *b = arn + 13;
    size_t n = strcspn(b, "/");
    for (s3_policy_t *e = st->policies; e; e = e->next)
        if (strlen(e->bucket) == n && memcmp(e->bucket, b, n) == 0) {
            *owner = st->ctx->account_id;
            return e->policy;
        }
    return NULL;
}

int s3_put_bucket_policy(svc_call_t *c)
{
    const char *name = svc_in_str(c, "Bucket");
    if (!s3__bucket_get_or_fail(c, name))
        return 0;
    const char *doc = svc_in_str(c, "Policy");
    if (!doc || !*doc) {
        svc_error(c, "MalformedPolicy", 400, "Policies must be valid JSON and the first byte must be '{'");
        return 0;
    }
    char err[512] = "";
    bool over = false;
    iam_policy_t *p = iam_policy_parse(doc, strlen(doc), IAM_POLICY_RESOURCE, KYOKA_RESOURCE_POLICY_MAX_BYTES, err,
                                       sizeof err, &over);
    if (!p) {
        if (over)
            svc_error(c, "PolicyTooLarge", 400, "Policy exceeds the maximum allowed document size.");
        else
            svc_error(c, "MalformedPolicy", 400, "%s", err[0] ? err : "Invalid policy syntax.");
        return 0;
    }
    s3__bucket_set(c->state, name, "UPDATE s3_buckets SET policy = ? WHERE name = ?", doc);
    s3__policy_cache_set(c->state, name, p);
    return 0;
}

int s3_get_bucket_policy(svc_call_t *c)
{
    s3_bucket_t *b = s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket"));
    if (!b)
        return 0;
    if (!b->policy) {
        svc_error(c, "NoSuchBucketPolicy", 404, "The bucket policy does not exist");
        return 0;
    }
    json_object_set_new(svc_output(c), "Policy", json_string(b->policy));
    return 0;
}

int s3_delete_bucket_policy(svc_call_t *c)
{
    const char *name = svc_in_str(c, "Bucket");
    if (!s3__bucket_get_or_fail(c, name))
        return 0;
    s3__bucket_set(c->state, name, "UPDATE s3_buckets SET policy = ? WHERE name = ?", NULL);
    s3__policy_cache_set(c->state, name, NULL);
    return 0;
}
