/*
 * Functions: names and lookups, then the operation handlers for creating,
 * reading, listing, updating and deleting them.
 *
 * A function is kept in memory with its versions ($LATEST first), aliases,
 * resource policies and tags, and persisted as one row (persist.c) every
 * time it changes, inside the request's savepoint; code is stored on disk
 * first (code.c), so a function row never names code that is not there.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/banned.h"

/* ==== resource internals ==== */

const char *lambda__call_region(svc_call_t *c) { return c->region ? c->region : c->ctx->region; }

const char *lambda__call_account(svc_call_t *c)
{
    return c->cred && c->cred->account_id ? c->cred->account_id : c->ctx->account_id;
}

void lambda__timestamp(char out[32])
{
    int64_t ms = kyoka_clock_now_ms();
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    memcpy(out, tmp, 31);
    out[31] = '\0';
}

void lambda__revision(char out[37]) { kyoka_uuid(out); }

static bool name_chars_ok(const char *s, size_t n, bool dots)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_' || (dots && ch == '.')))
            return false;
    }
    return true;
}

static bool qualifier_ok(const char *q)
{
    if (strcmp(q, "$LATEST") == 0)
        return true;
    return name_chars_ok(q, strlen(q), false);
}

static void bad_name(svc_call_t *c, const char *value)
{
    svc_error(c, "ValidationException", 400,
              "1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must "
              "satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?"
              "(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
              value);
}

/* Split by ':' into at most 8 parts. */
static size_t split_colons(char *s, char **parts, size_t max)
{
    size_t n = 0;
    parts[n++] = s;
    for (char *p = s; *p && n < max; p++) {
        if (*p == ':') {
            *p = '\0';
            parts[n++] = p + 1;
        }
    }
    return n;
}

bool lambda__ref_parse(svc_call_t *c, const char *function_name, const char *qualifier, lambda_ref_t *out)
{
    memset(out, 0, sizeof *out);
    out->region = lambda__call_region(c);
    out->account = lambda__call_account(c);
    if (!function_name || !*function_name) {
        bad_name(c, function_name ? function_name : "");
        return false;
    }
    char *s = arena_strdup(c->arena, function_name);
    char *p[8];
    size_t n = split_colons(s, p, 8);
    const char *name = NULL, *q = NULL;
    if (n >= 6 && strcmp(p[0], "arn") == 0) {
        /* arn:aws:lambda:region:account:function:name[:qualifier] */
        if (n < 7 || n > 8 || strcmp(p[2], "lambda") != 0 || strcmp(p[5], "function") != 0) {
            bad_name(c, function_name);
            return false;
        }
        out->region = p[3];
        out->account = p[4];
        name = p[6];
        q = n == 8 ? p[7] : NULL;
    } else if (n >= 3 && strcmp(p[1], "function") == 0) {
        /* account:function:name[:qualifier] */
        if (n > 4) {
            bad_name(c, function_name);
            return false;
        }
        out->account = p[0];
        name = p[2];
        q = n == 4 ? p[3] : NULL;
    } else if (n <= 2) {
        name = p[0];
        q = n == 2 ? p[1] : NULL;
    } else {
        bad_name(c, function_name);
        return false;
    }
    if (!name_chars_ok(name, strlen(name), false) || strlen(name) > 64 || (q && !qualifier_ok(q))) {
        bad_name(c, function_name);
        return false;
    }
    if (qualifier && *qualifier) {
        if (q && strcmp(q, qualifier) != 0) {
            svc_error(c, "InvalidParameterValueException", 400,
                      "The derived qualifier from the function name does not match the specified qualifier.");
            return false;
        }
        if (!qualifier_ok(qualifier)) {
            svc_error(c, "ValidationException", 400,
                      "1 validation error detected: Value '%s' at 'qualifier' failed to satisfy constraint: Member "
                      "must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
                      qualifier);
            return false;
        }
        q = qualifier;
    }
    out->name = name;
    out->qualifier = q;
    return true;
}

const char *lambda__ref_arn(svc_call_t *c, const lambda_ref_t *r)
{
    if (r->qualifier)
        return arena_sprintf(c->arena, "arn:aws:lambda:%s:%s:function:%s:%s", r->region, r->account, r->name,
                             r->qualifier);
    return arena_sprintf(c->arena, "arn:aws:lambda:%s:%s:function:%s", r->region, r->account, r->name);
}

lambda_fn_t *lambda__fn_lookup(lambda_state_t *st, const char *region, const char *name)
{
    for (lambda_fn_t *f = st->fns; f; f = f->next)
        if (strcmp(f->name, name) == 0 && strcmp(f->region, region) == 0)
            return f;
    return NULL;
}

lambda_fn_t *lambda__fn_get_or_fail(svc_call_t *c, const lambda_ref_t *r)
{
    lambda_state_t *st = c->state;
    lambda_fn_t *fn = strcmp(r->account, c->ctx->account_id) == 0 ? lambda__fn_lookup(st, r->region, r->name) : NULL;
    if (!fn)
        svc_error(c, "ResourceNotFoundException", 404, "Function not found: arn:aws:lambda:%s:%s:function:%s",
                  r->region, r->account, r->name);
    return fn;
}

lambda_fn_t *lambda__fn_from_input(svc_call_t *c, bool with_qualifier, lambda_ref_t *r)
{
    if (!lambda__ref_parse(c, svc_in_str(c, "FunctionName"), with_qualifier ? svc_in_str(c, "Qualifier") : NULL, r))
        return NULL;
    return lambda__fn_get_or_fail(c, r);
}

bool lambda__revision_check(svc_call_t *c, json_t *cfg, const char *given)
{
    if (!given || !*given)
        return true;
    const char *have = json_string_value(json_object_get(cfg, "RevisionId"));
    if (have && strcmp(have, given) == 0)
        return true;
    svc_error(c, "PreconditionFailedException", 412,
              "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to "
              "retrieve the latest Revision Id");
    return false;
}

lambda_version_t *lambda__version_lookup(lambda_fn_t *fn, const char *version)
{
    for (size_t i = 0; i < fn->nversions; i++)
        if (strcmp(fn->versions[i]->version, version) == 0)
            return fn->versions[i];
    return NULL;
}

lambda_alias_t *lambda__alias_lookup(lambda_fn_t *fn, const char *name)
{
    for (size_t i = 0; i < fn->naliases; i++)
        if (strcmp(fn->aliases[i]->name, name) == 0)
            return fn->aliases[i];
    return NULL;
}

static bool is_number(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

lambda_version_t *lambda__resolve_or_fail(svc_call_t *c, lambda_fn_t *fn, const char *qualifier)
{
    if (!qualifier || strcmp(qualifier, "$LATEST") == 0)
        return fn->versions[0];
    if (is_number(qualifier)) {
        lambda_version_t *v = lambda__version_lookup(fn, qualifier);
        if (!v)
            svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s:%s", fn->arn, qualifier);
        return v;
    }
    lambda_alias_t *a = lambda__alias_lookup(fn, qualifier);
    if (!a) {
        svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s:%s", fn->arn, qualifier);
        return NULL;
    }
    const char *ver = json_string_value(json_object_get(a->config, "FunctionVersion"));
    lambda_version_t *v = ver ? lambda__version_lookup(fn, ver) : NULL;
    if (!v)
        svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s:%s", fn->arn, qualifier);
    return v;
}

void lambda__version_free(lambda_version_t *v)
{
    if (!v)
        return;
    free(v->version);
    json_decref(v->config);
    json_decref(v->provisioned);
    free(v->hot_dir);
    free(v);
}

void lambda__alias_free(lambda_alias_t *a)
{
    if (!a)
        return;
    free(a->name);
    json_decref(a->config);
    json_decref(a->provisioned);
    free(a);
}

void lambda__fn_free(lambda_fn_t *fn)
{
    if (!fn)
        return;
    for (size_t i = 0; i < fn->nversions; i++)
        lambda__version_free(fn->versions[i]);
    free(fn->versions);
    for (size_t i = 0; i < fn->naliases; i++)
        lambda__alias_free(fn->aliases[i]);
    free(fn->aliases);
    for (size_t i = 0; i < fn->npolicies; i++)
        lambda__policy_free(&fn->policies[i]);
    free(fn->policies);
    json_decref(fn->tags);
    json_decref(fn->event_configs);
    free(fn->region);
    free(fn->name);
    free(fn->arn);
    free(fn->role_arn);
    free(fn->akid);
    free(fn->secret);
    free(fn->token);
    free(fn);
}

char *lambda__pool_prefix(arena_t *a, const lambda_fn_t *fn) { return arena_sprintf(a, "%s/%s/", fn->region, fn->name); }

char *lambda__pool_key(arena_t *a, const lambda_fn_t *fn, const lambda_version_t *v)
{
    return arena_sprintf(a, "%s/%s/%s#%llu", fn->region, fn->name, v->version, (unsigned long long)v->generation);
}

void lambda__retire(lambda_state_t *st, svc_call_t *c, const lambda_fn_t *fn)
{
    if (st->has_invoker && st->invoker.retire)
        st->invoker.retire(st->invoker.rt, lambda__pool_prefix(c->arena, fn));
}

static void fn_unlink(lambda_state_t *st, lambda_fn_t *fn)
{
    for (lambda_fn_t **pp = &st->fns; *pp; pp = &(*pp)->next) {
        if (*pp == fn) {
            *pp = fn->next;
            return;
        }
    }
}

/* ==== handlers ==== */

typedef struct create_ctx {
    json_t *config;   /* the new $LATEST configuration */
    bool publish;
} create_ctx_t;

json_t *lambda__publish(lambda_fn_t *fn, lambda_version_t *latest, const char *description);
#define publish_copy lambda__publish

static void set_code_fields(json_t *cfg, const lambda_code_t *code)
{
    json_object_set_new(cfg, "CodeSha256", json_string(code->sha_b64));
    json_object_set_new(cfg, "CodeSize", json_integer(code->size));
    json_object_set_new(cfg, "_CodeShaHex", json_string(code->sha_hex));
}

static void set_hot_dir(lambda_version_t *v, const lambda_code_t *code)
{
    free(v->hot_dir);
    v->hot_dir = code->hot_dir ? xstrdup(code->hot_dir) : NULL;
}

/* Code is a zip (ZipFile) or a directory on the host (S3Bucket hot-reload,
 * S3Key the directory): *zip or *dir is set. Anything else is refused with
 * AWS's error (false). */
static bool code_source(svc_call_t *c, json_t *code, const char **zip, const char **dir)
{
    *zip = json_string_value(json_object_get(code, "ZipFile"));
    *dir = NULL;
    const char *bucket = json_string_value(json_object_get(code, "S3Bucket"));
    if (!*zip && lambda__hot_bucket(bucket)) {
        *dir = lambda__hot_path_or_fail(c, json_string_value(json_object_get(code, "S3Key")), "S3Key");
        return *dir != NULL;
    }
    if (!*zip && bucket) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified "
                  "bucket does not exist");
        return false;
    }
    if (!*zip && json_object_get(code, "ImageUri")) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "kyoka runs functions from .zip archives only: ImageUri needs PackageType Image, which kyoka "
                  "does not have (see docs/coverage.md).");
        return false;
    }
    if (!*zip) {
        svc_error(c, "InvalidParameterValueException", 400, "Please provide a source for function code.");
        return false;
    }
    return true;
}

/* Start processing the code code_source found; KYOKA_EAGAIN (done will
 * run) or 0 with the error set. */
static int code_start(svc_call_t *c, const char *zip, const char *dir, bool check_only, lambda_code_done_fn done,
                      void *ctx)
{
    lambda_state_t *st = c->state;
    int rc = dir ? lambda__hot_ingest(st, c, dir, done, ctx) : lambda__code_ingest(st, c, zip, check_only, done, ctx);
    return rc == 0 ? KYOKA_EAGAIN : 0;
}

static void on_create_code(svc_call_t *c, int status, const lambda_code_t *code, void *ctx)
{
    lambda_state_t *st = c->state;
    create_ctx_t *cc = ctx;
    if (status != 0 || svc_failed(c)) {
        json_decref(cc->config);
        svc_call_finish(c);
        return;
    }
    const char *name = json_string_value(json_object_get(cc->config, "FunctionName"));
    const char *region = lambda__call_region(c);
    /* Someone may have created it while the code was processed. */
    if (lambda__fn_lookup(st, region, name)) {
        svc_error(c, "ResourceConflictException", 409, "Function already exist: %s", name);
        json_decref(cc->config);
        svc_call_finish(c);
        return;
    }
    set_code_fields(cc->config, code);
    if (!lambda__hot_layers_check(c, code->hot_dir, json_object_get(cc->config, "Layers"))) {
        json_decref(cc->config);
        svc_call_finish(c);
        return;
    }
    lambda_fn_t *fn = xcalloc(1, sizeof *fn);
    fn->region = xstrdup(region);
    fn->name = xstrdup(name);
    fn->arn = xstrdup(json_string_value(json_object_get(cc->config, "FunctionArn")));
    fn->reserved = -1;
    json_t *tags = svc_in(c, "Tags");
    fn->tags = json_is_object(tags) ? json_deep_copy(tags) : json_object();
    fn->event_configs = json_object();
    lambda_version_t *v = xcalloc(1, sizeof *v);
    v->version = xstrdup("$LATEST");
    v->config = cc->config;
    v->generation = ++st->next_generation;
    set_hot_dir(v, code);
    fn->versions = xcalloc(1, sizeof *fn->versions);
    fn->versions[0] = v;
    fn->nversions = 1;
    fn->next = st->fns;
    st->fns = fn;
    json_t *out_cfg;
    if (cc->publish) {
        out_cfg = publish_copy(fn, v, NULL);
    } else {
        out_cfg = lambda__config_view(st, fn, v);
    }
    /* AWS answers CreateFunction while the function is still being set up. */
    json_object_set_new(out_cfg, "State", json_string("Pending"));
    json_object_set_new(out_cfg, "StateReason", json_string("The function is being created."));
    json_object_set_new(out_cfg, "StateReasonCode", json_string("Creating"));
    lambda__fn_save(st, fn);
    lambda__hot_sync(st);
    c->output = out_cfg;
    svc_call_finish(c);
}

int lambda_create_function(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    const char *name = svc_in_str(c, "FunctionName");
    lambda_ref_t r;
    if (!lambda__ref_parse(c, name, NULL, &r))
        return 0;
    if (r.qualifier || strchr(name, ':')) {
        if (r.qualifier) {
            svc_error(c, "InvalidParameterValueException", 400,
                      "Function name cannot contain a qualifier when creating a function.");
            return 0;
        }
    }
    const char *pt = svc_in_str(c, "PackageType");
    if (pt && strcmp(pt, "Image") == 0) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "kyoka runs functions from .zip archives only: PackageType Image needs a container image "
                  "registry and runtime, which kyoka does not have (see docs/coverage.md).");
        return 0;
    }
    if (lambda__fn_lookup(st, r.region, r.name)) {
        svc_error(c, "ResourceConflictException", 409, "Function already exist: %s", r.name);
        return 0;
    }
    const char *zip, *dir;
    if (!code_source(c, svc_in(c, "Code"), &zip, &dir))
        return 0;
    json_t *cfg = json_object();
    json_object_set_new(cfg, "FunctionName", json_string(r.name));
    json_object_set_new(cfg, "FunctionArn", json_string(lambda__ref_arn(c, &(lambda_ref_t){r.region, c->ctx->account_id, r.name, NULL})));
    if (!lambda__config_apply(c, cfg, true)) {
        json_decref(cfg);
        return 0;
    }
    if (!lambda__role_check(c, json_string_value(json_object_get(cfg, "Role"))) ||
        !lambda__dlq_check(c, cfg, r.name, r.region)) {
        json_decref(cfg);
        return 0;
    }
    create_ctx_t *cc = arena_calloc(c->arena, sizeof *cc);
    cc->config = cfg;
    cc->publish = json_is_true(svc_in(c, "Publish"));
    int rc = code_start(c, zip, dir, false, on_create_code, cc);
    if (rc != KYOKA_EAGAIN)
        json_decref(cfg);
    return rc;
}

int lambda_get_function_configuration(svc_call_t *c)
{
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, true, &r);
    lambda_version_t *v = fn ? lambda__resolve_or_fail(c, fn, r.qualifier) : NULL;
    if (!v)
        return 0;
    c->output = lambda__config_view(c->state, fn, v);
    return 0;
}

int lambda_get_function(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, true, &r);
    lambda_version_t *v = fn ? lambda__resolve_or_fail(c, fn, r.qualifier) : NULL;
    if (!v)
        return 0;
    json_t *out = svc_output(c);
    json_object_set_new(out, "Configuration", lambda__config_view(st, fn, v));
    const char *hex = json_string_value(json_object_get(v->config, "_CodeShaHex"));
    if (v->hot_dir)
        /* Served from a directory: there is no zip to download. */
        json_object_set_new(out, "Code", json_pack("{s:s}", "RepositoryType", "S3"));
    else
        json_object_set_new(out, "Code",
                            json_pack("{s:s,s:s}", "RepositoryType", "S3", "Location",
                                      arena_sprintf(c->arena, "%s/_kyoka/lambda/code/%s.zip", c->ctx->endpoint,
                                                    hex ? hex : "")));
    if (json_object_size(fn->tags))
        json_object_set(out, "Tags", fn->tags);
    if (fn->reserved >= 0)
        json_object_set_new(out, "Concurrency", json_pack("{s:i}", "ReservedConcurrentExecutions", fn->reserved));
    return 0;
}

/* ListFunctions pages with an opaque Marker: here the position in the
 * (name-ordered) list, as text. */
static int cmp_fn(const void *a, const void *b)
{
    const lambda_fn_t *x = *(lambda_fn_t *const *)a, *y = *(lambda_fn_t *const *)b;
    return strcmp(x->name, y->name);
}

int lambda_list_functions(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    const char *region = lambda__call_region(c);
    size_t n = 0;
    for (lambda_fn_t *f = st->fns; f; f = f->next)
        if (strcmp(f->region, region) == 0)
            n++;
    lambda_fn_t **v = arena_alloc(c->arena, (n ? n : 1) * sizeof *v);
    n = 0;
    for (lambda_fn_t *f = st->fns; f; f = f->next)
        if (strcmp(f->region, region) == 0)
            v[n++] = f;
    qsort(v, n, sizeof *v, cmp_fn);
    json_t *jmax = svc_in(c, "MaxItems");
    size_t max = json_is_integer(jmax) ? (size_t)json_integer_value(jmax) : 50;
    if (max > 50)
        max = 50;
    const char *marker = svc_in_str(c, "Marker");
    size_t start = 0;
    if (marker && *marker) {
        char *end;
        unsigned long long m = strtoull(marker, &end, 10);
        if (*end || m > n) {
            svc_error(c, "InvalidParameterValueException", 400, "Invalid marker: %s", marker);
            return 0;
        }
        start = (size_t)m;
    }
    const char *fv = svc_in_str(c, "FunctionVersion");
    bool all = fv && strcmp(fv, "ALL") == 0;
    json_t *list = json_array();
    size_t i = start, items = 0;
    for (; i < n && items < max; i++, items++) {
        lambda_fn_t *f = v[i];
        if (all)
            for (size_t k = 0; k < f->nversions; k++)
                json_array_append_new(list, lambda__config_view(st, f, f->versions[k]));
        else
            json_array_append_new(list, lambda__config_view(st, f, f->versions[0]));
    }
    json_t *out = svc_output(c);
    json_object_set_new(out, "Functions", list);
    if (i < n)
        json_object_set_new(out, "NextMarker", json_string(arena_sprintf(c->arena, "%zu", i)));
    return 0;
}

typedef struct update_code_ctx {
    lambda_fn_t *fn;
    bool publish, dry_run;
    char *revision;
} update_code_ctx_t;

static void on_update_code(svc_call_t *c, int status, const lambda_code_t *code, void *ctx)
{
    lambda_state_t *st = c->state;
    update_code_ctx_t *u = ctx;
    if (status != 0 || svc_failed(c)) {
        svc_call_finish(c);
        return;
    }
    lambda_fn_t *fn = lambda__fn_lookup(st, lambda__call_region(c), svc_in_str(c, "_Name"));
    if (!fn || fn != u->fn) {
        svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s", svc_in_str(c, "_Arn"));
        svc_call_finish(c);
        return;
    }
    lambda_version_t *latest = fn->versions[0];
    if (u->dry_run) {
        json_t *view = lambda__config_view(st, fn, latest);
        json_object_set_new(view, "CodeSha256", json_string(code->sha_b64));
        json_object_set_new(view, "CodeSize", json_integer(code->size));
        c->output = view;
        svc_call_finish(c);
        return;
    }
    if (!lambda__hot_layers_check(c, code->hot_dir, json_object_get(latest->config, "Layers"))) {
        svc_call_finish(c);
        return;
    }
    set_code_fields(latest->config, code);
    set_hot_dir(latest, code);
    char ts[32], rev[37];
    lambda__timestamp(ts);
    lambda__revision(rev);
    json_object_set_new(latest->config, "LastModified", json_string(ts));
    json_object_set_new(latest->config, "RevisionId", json_string(rev));
    latest->generation = ++st->next_generation;
    lambda__retire(st, c, fn);
    json_t *out = u->publish ? publish_copy(fn, latest, NULL) : lambda__config_view(st, fn, latest);
    json_object_set_new(out, "LastUpdateStatus", json_string("InProgress"));
    json_object_set_new(out, "LastUpdateStatusReason", json_string("The function is being created."));
    json_object_set_new(out, "LastUpdateStatusReasonCode", json_string("Creating"));
    lambda__fn_save(st, fn);
    lambda__hot_sync(st);
    c->output = out;
    svc_call_finish(c);
}

int lambda_update_function_code(svc_call_t *c)
{
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    if (!fn)
        return 0;
    if (!lambda__revision_check(c, fn->versions[0]->config, svc_in_str(c, "RevisionId")))
        return 0;
    /* UpdateFunctionCode carries the code's members at the top level. */
    const char *zip, *dir;
    if (!code_source(c, c->input, &zip, &dir))
        return 0;
    update_code_ctx_t *u = arena_calloc(c->arena, sizeof *u);
    u->fn = fn;
    u->publish = json_is_true(svc_in(c, "Publish"));
    u->dry_run = json_is_true(svc_in(c, "DryRun"));
    json_object_set_new(c->input, "_Name", json_string(fn->name));
    json_object_set_new(c->input, "_Arn", json_string(fn->arn));
    return code_start(c, zip, dir, u->dry_run, on_update_code, u);
}

int lambda_update_function_configuration(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, false, &r);
    if (!fn)
        return 0;
    lambda_version_t *latest = fn->versions[0];
    if (!lambda__revision_check(c, latest->config, svc_in_str(c, "RevisionId")))
        return 0;
    json_t *cfg = json_deep_copy(latest->config);
    if (!lambda__config_apply(c, cfg, false)) {
        json_decref(cfg);
        return 0;
    }
    const char *role = svc_in_str(c, "Role");
    if (!lambda__hot_layers_check(c, latest->hot_dir, json_object_get(cfg, "Layers"))) {
        json_decref(cfg);
        return 0;
    }
    if ((role && !lambda__role_check(c, role)) ||
        (svc_in(c, "DeadLetterConfig") && !lambda__dlq_check(c, cfg, fn->name, fn->region))) {
        json_decref(cfg);
        return 0;
    }
    char ts[32], rev[37];
    lambda__timestamp(ts);
    lambda__revision(rev);
    json_object_set_new(cfg, "LastModified", json_string(ts));
    json_object_set_new(cfg, "RevisionId", json_string(rev));
    json_decref(latest->config);
    latest->config = cfg;
    latest->generation = ++st->next_generation;
    lambda__retire(st, c, fn);
    free(fn->akid);
    fn->akid = NULL; /* the role may have changed: a fresh session next time */
    lambda__fn_save(st, fn);
    json_t *out = lambda__config_view(st, fn, latest);
    json_object_set_new(out, "LastUpdateStatus", json_string("InProgress"));
    json_object_set_new(out, "LastUpdateStatusReason", json_string("The function is being created."));
    json_object_set_new(out, "LastUpdateStatusReasonCode", json_string("Creating"));
    c->output = out;
    return 0;
}

int lambda_delete_function(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_ref_t r;
    lambda_fn_t *fn = lambda__fn_from_input(c, true, &r);
    if (!fn)
        return 0;
    if (r.qualifier && strcmp(r.qualifier, "$LATEST") == 0) {
        svc_error(c, "InvalidParameterValueException", 400, "$LATEST version cannot be deleted without deleting the function.");
        return 0;
    }
    if (r.qualifier) {
        if (!is_number(r.qualifier)) {
            svc_error(c, "InvalidParameterValueException", 400,
                      "Deletion of aliases is not supported. Use DeleteAlias instead.");
            return 0;
        }
        lambda_version_t *v = lambda__version_lookup(fn, r.qualifier);
        if (!v) {
            svc_error(c, "ResourceNotFoundException", 404, "Function not found: %s:%s", fn->arn, r.qualifier);
            return 0;
        }
        for (size_t i = 0; i < fn->naliases; i++) {
            json_t *ac = fn->aliases[i]->config;
            const char *av = json_string_value(json_object_get(ac, "FunctionVersion"));
            json_t *w = json_object_get(json_object_get(ac, "RoutingConfig"), "AdditionalVersionWeights");
            if ((av && strcmp(av, v->version) == 0) || json_object_get(w, v->version)) {
                svc_error(c, "ResourceConflictException", 409,
                          "Unable to delete version because the following aliases reference it: [%s]",
                          fn->aliases[i]->name);
                return 0;
            }
        }
        for (size_t i = 1; i < fn->nversions; i++) {
            if (fn->versions[i] == v) {
                memmove(&fn->versions[i], &fn->versions[i + 1], (fn->nversions - i - 1) * sizeof *fn->versions);
                fn->nversions--;
                break;
            }
        }
        json_object_del(fn->event_configs, v->version);
        lambda__retire(st, c, fn);
        lambda__version_free(v);
        lambda__fn_save(st, fn);
        lambda__hot_sync(st);
        return 0;
    }
    lambda__retire(st, c, fn);
    lambda__fn_delete_row(st, fn);
    fn_unlink(st, fn);
    lambda__fn_free(fn);
    lambda__hot_sync(st);
    return 0;
}

/* ==== versions ==== */

/* Publish $LATEST as the next version number (or return the version that
 * already has this code and configuration, as AWS does). Returns the new
 * version's view. */
json_t *lambda__publish(lambda_fn_t *fn, lambda_version_t *latest, const char *description)
{
    lambda_version_t *v = xcalloc(1, sizeof *v);
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)++fn->last_version);
    v->version = xstrdup(num);
    v->config = json_deep_copy(latest->config);
    char arn[512], rev[37], ts[32];
    snprintf(arn, sizeof arn, "%s:%s", fn->arn, v->version);
    lambda__revision(rev);
    lambda__timestamp(ts);
    json_object_set_new(v->config, "FunctionArn", json_string(arn));
    json_object_set_new(v->config, "Version", json_string(v->version));
    json_object_set_new(v->config, "RevisionId", json_string(rev));
    json_object_set_new(v->config, "LastModified", json_string(ts));
    if (description)
        json_object_set_new(v->config, "Description", json_string(description));
    v->generation = latest->generation;
    /* A version of code served from a directory is served from it too, as
     * LocalStack does: publishing takes no copy. */
    v->hot_dir = latest->hot_dir ? xstrdup(latest->hot_dir) : NULL;
    fn->versions = xrealloc(fn->versions, (fn->nversions + 1) * sizeof *fn->versions);
    fn->versions[fn->nversions++] = v;
    return lambda__config_view(NULL, fn, v);
}
