/*
 * CORS (https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html):
 * Put/Get/DeleteBucketCors, and the answers browsers get: the OPTIONS
 * preflight (s3_cors_preflight, called by the front door before any
 * authentication, as a preflight carries no credentials) and the headers
 * of an actual request that sends Origin (s3_cors_actual).
 *
 * Rules are evaluated in order; the first whose AllowedOrigins match the
 * Origin (one '*' wildcard each), whose AllowedMethods hold the method, and,
 * for a preflight, whose AllowedHeaders cover every header named in
 * Access-Control-Request-Headers, answers.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/banned.h"

#define S3_MAX_CORS_RULES 100
#define S3_MAX_CORS_BYTES (64 * 1024)

/* ==== resource internals ==== */

/* A pattern with at most one '*' against s (case-sensitive for origins,
 * insensitive for header names). */
static bool wild_match(const char *pat, const char *s, bool nocase)
{
    const char *star = strchr(pat, '*');
    int (*cmp)(const char *, const char *, size_t) = nocase ? strncasecmp : strncmp;
    if (!star)
        return nocase ? strcasecmp(pat, s) == 0 : strcmp(pat, s) == 0;
    size_t pre = (size_t)(star - pat), post = strlen(star + 1), n = strlen(s);
    return n >= pre + post && cmp(pat, s, pre) == 0 && cmp(star + 1, s + n - post, post) == 0;
}

static bool any_match(json_t *arr, const char *s, bool nocase)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_string_value(v) && wild_match(json_string_value(v), s, nocase)) return true;
    return false;
}

static char *join(arena_t *a, json_t *arr)
{
    buf_t b;
    buf_init(&b, 1 << 16);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (i)
            buf_appends(&b, ", ");
        buf_appends(&b, json_string_value(v) ? json_string_value(v) : "");
    }
    char *s = arena_strndup(a, b.data, b.len);
    buf_destroy(&b);
    return s;
}

/* Every comma-separated header in req is covered by the rule. */
static bool headers_allowed(json_t *allowed, const char *req, arena_t *a)
{
    if (!req || !*req)
        return true;
    char *copy = arena_strdup(a, req);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t n = strlen(tok);
        while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
            tok[--n] = '\0';
        if (n && !any_match(allowed, tok, true))
            return false;
    }
    return true;
}

static json_t *rules_of(s3_state_t *st, arena_t *a, const char *bucket, bool *exists)
{
    s3_bucket_t b;
    *exists = bucket && s3__bucket_lookup(st, a, bucket, &b);
    if (!*exists || !b.cors)
        return NULL;
    return json_loads(b.cors, 0, NULL);
}

static void answer_rule(arena_t *a, json_t *r, const char *origin, s3_cors_answer_t *out)
{
    bool star = any_match(json_object_get(r, "AllowedOrigins"), "*", false) &&
                json_array_size(json_object_get(r, "AllowedOrigins")) == 1 &&
                strcmp(json_string_value(json_array_get(json_object_get(r, "AllowedOrigins"), 0)), "*") == 0;
    out->status = 200;
    out->allow_origin = star ? "*" : arena_strdup(a, origin);
    out->credentials = !star;
    out->allow_methods = join(a, json_object_get(r, "AllowedMethods"));
    if (json_array_size(json_object_get(r, "ExposeHeaders")))
        out->expose_headers = join(a, json_object_get(r, "ExposeHeaders"));
    json_t *age = json_object_get(r, "MaxAgeSeconds");
    if (json_is_integer(age))
        out->max_age = arena_sprintf(a, "%lld", (long long)json_integer_value(age));
    out->vary = true;
}

void s3_cors_preflight(void *state, arena_t *a, const char *bucket, const char *origin, const char *method,
                       const char *req_headers, s3_cors_answer_t *out)
{
    s3_state_t *st = state;
    memset(out, 0, sizeof *out);
    if (!origin || !*origin || !method || !*method) {
        out->status = 400;
        out->code = "BadRequest";
        out->message = "Insufficient information. Origin request header needed.";
        return;
    }
    bool exists;
    json_t *rules = rules_of(st, a, bucket, &exists);
    if (!exists) {
        out->status = 404;
        out->code = "NoSuchBucket";
        out->message = "The specified bucket does not exist";
        return;
    }
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        if (!any_match(json_object_get(r, "AllowedOrigins"), origin, false) ||
            !any_match(json_object_get(r, "AllowedMethods"), method, false) ||
            !headers_allowed(json_object_get(r, "AllowedHeaders"), req_headers, a))
            continue;
        answer_rule(a, r, origin, out);
        if (req_headers && *req_headers)
            out->allow_headers = arena_strdup(a, req_headers);
        json_decref(rules);
        return;
    }
    json_decref(rules);
    out->status = 403;
    out->code = "AccessForbidden";
    out->message = rules ? "CORSResponse: This CORS request is not allowed. This is usually because the evalution of "
                           "Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
                           "are not whitelisted by the resource's CORS spec."
                         : "CORSResponse: CORS is not enabled for this bucket.";
}

void s3_cors_actual(void *state, arena_t *a, const char *bucket, const char *origin, const char *method,
                    s3_cors_answer_t *out)
{
    s3_state_t *st = state;
    memset(out, 0, sizeof *out);
    bool exists;
    json_t *rules = origin ? rules_of(st, a, bucket, &exists) : NULL;
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        if (any_match(json_object_get(r, "AllowedOrigins"), origin, false) &&
            any_match(json_object_get(r, "AllowedMethods"), method, false)) {
            answer_rule(a, r, origin, out);
            break;
        }
    }
    json_decref(rules);
}

/* ==== operation handlers ==== */

int s3_put_bucket_cors(svc_call_t *c)
{
    const char *name = svc_in_str(c, "Bucket");
    if (!s3__bucket_get_or_fail(c, name))
        return 0;
    json_t *rules = json_object_get(svc_in(c, "CORSConfiguration"), "CORSRules");
    if (!json_is_array(rules) || json_array_size(rules) == 0 || json_array_size(rules) > S3_MAX_CORS_RULES) {
        svc_error(c, "MalformedXML", 400,
                  "The XML you provided was not well-formed or did not validate against our published schema");
        return 0;
    }
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        json_t *methods = json_object_get(r, "AllowedMethods"), *origins = json_object_get(r, "AllowedOrigins");
        if (json_array_size(methods) == 0 || json_array_size(origins) == 0) {
            svc_error(c, "MalformedXML", 400,
                      "The XML you provided was not well-formed or did not validate against our published schema");
            return 0;
        }
        size_t k;
        json_t *m;
        json_array_foreach(methods, k, m)
        {
            static const char *const ok[] = {"GET", "PUT", "HEAD", "POST", "DELETE"};
            const char *s = json_string_value(m);
            bool known = false;
            for (size_t x = 0; s && x < KYOKA_ARRAY_LEN(ok); x++)
                known |= strcmp(s, ok[x]) == 0;
            if (!known) {
                svc_error(c, "InvalidRequest", 400,
                          "Found unsupported HTTP method in CORS config. Unsupported method is %s", s ? s : "");
                return 0;
            }
        }
        json_array_foreach(origins, k, m)
        {
            const char *s = json_string_value(m);
            const char *star = s ? strchr(s, '*') : NULL;
            if (star && strchr(star + 1, '*')) {
                svc_error(c, "InvalidRequest", 400, "AllowedOrigin \"%s\" can not have more than one wildcard.", s);
                return 0;
            }
        }
    }
    char *text = proto_json_dumps(rules, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (strlen(text) > S3_MAX_CORS_BYTES) {
        free(text);
        svc_error(c, "InvalidRequest", 400, "The CORS configuration is larger than kyoka accepts (64 KB)");
        return 0;
    }
    s3__bucket_set(c->state, name, "UPDATE s3_buckets SET cors = ? WHERE name = ?", text);
    free(text);
    svc_output(c);
    return 0;
}

int s3_get_bucket_cors(svc_call_t *c)
{
    s3_bucket_t *b = s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket"));
    if (!b)
        return 0;
    json_t *rules = b->cors ? json_loads(b->cors, 0, NULL) : NULL;
    if (!rules) {
        svc_error(c, "NoSuchCORSConfiguration", 404, "The CORS configuration does not exist");
        return 0;
    }
    json_object_set_new(svc_output(c), "CORSRules", rules);
    return 0;
}

int s3_delete_bucket_cors(svc_call_t *c)
{
    const char *name = svc_in_str(c, "Bucket");
    if (!s3__bucket_get_or_fail(c, name))
        return 0;
    s3__bucket_set(c->state, name, "UPDATE s3_buckets SET cors = ? WHERE name = ?", NULL);
    svc_output(c);
    return 0;
}
