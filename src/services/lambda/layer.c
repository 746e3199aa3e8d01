/*
 * Layers: versioned zips that functions mount, merged in order, at /opt
 * (https://docs.aws.amazon.com/lambda/latest/dg/chapter-layers.html).
 * A layer version is immutable; its number is never reused. Its policy
 * (Add/RemoveLayerVersionPermission) says which accounts may use it.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static bool layer_name_of(svc_call_t *c, const char *given, const char **name)
{
    /* LayerName is a name or a layer ARN (arn:aws:lambda:r:a:layer:name). */
    if (given && strncmp(given, "arn:", 4) == 0) {
        const char *p = strstr(given, ":layer:");
        if (!p) {
            svc_error(c, "ValidationException", 400, "1 validation error detected: Value '%s' at 'layerName' failed "
                                                     "to satisfy constraint: Member must satisfy regular expression pattern: "
                                                     "(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+",
                      given);
            return false;
        }
        *name = p + 7;
        return true;
    }
    *name = given;
    return true;
}

static lambda_layer_t *layer_lookup(lambda_state_t *st, const char *region, const char *name, int64_t version)
{
    for (lambda_layer_t *l = st->layers; l; l = l->next)
        if (l->version == version && strcmp(l->name, name) == 0 && strcmp(l->region, region) == 0)
            return l;
    return NULL;
}

static int64_t layer_last(lambda_state_t *st, const char *region, const char *name)
{
    int64_t v = 0;
    for (lambda_layer_t *l = st->layers; l; l = l->next)
        if (strcmp(l->name, name) == 0 && strcmp(l->region, region) == 0 && l->version > v)
            v = l->version;
    return v;
}

lambda_layer_t *lambda__layer_by_arn(lambda_state_t *st, const char *arn)
{
    for (lambda_layer_t *l = st->layers; l && arn; l = l->next) {
        const char *la = json_string_value(json_object_get(l->info, "LayerVersionArn"));
        if (la && strcmp(la, arn) == 0)
            return l;
    }
    return NULL;
}

static json_t *layer_view(svc_call_t *c, lambda_layer_t *l)
{
    json_t *o = json_deep_copy(l->info);
    json_t *content = json_object_get(o, "Content");
    if (l->hot_dir)
        return o; /* served from a directory: no zip to download */
    json_object_set_new(content, "Location",
                        json_string(arena_sprintf(c->arena, "%s/_kyoka/lambda/code/%s.zip", c->ctx->endpoint,
                                                  l->code_sha_hex)));
    return o;
}

typedef struct publish_ctx {
    char *name;
} publish_ctx_t;

static void on_layer_code(svc_call_t *c, int status, const lambda_code_t *code, void *ctx)
{
    lambda_state_t *st = c->state;
    publish_ctx_t *pc = ctx;
    if (status != 0 || svc_failed(c)) {
        svc_call_finish(c);
        return;
    }
    const char *region = lambda__call_region(c);
    /* Numbers are never reused, even after the newest version is deleted. */
    int64_t version = lambda__layer_last(st, region, pc->name) + 1;
    lambda__layer_set_last(st, region, pc->name, version);
    lambda_layer_t *l = xcalloc(1, sizeof *l);
    l->region = xstrdup(region);
    l->name = xstrdup(pc->name);
    l->version = version;
    l->code_sha_hex = xstrdup(code->sha_hex);
    l->hot_dir = code->hot_dir ? xstrdup(code->hot_dir) : NULL;
    char ts[32];
    lambda__timestamp(ts);
    const char *layer_arn = arena_sprintf(c->arena, "arn:aws:lambda:%s:%s:layer:%s", region, c->ctx->account_id, pc->name);
    l->info = json_pack("{s:{s:s,s:I},s:s,s:s,s:s,s:s,s:I}", "Content", "CodeSha256", code->sha_b64, "CodeSize",
                        (json_int_t)code->size, "LayerArn", layer_arn, "LayerVersionArn",
                        arena_sprintf(c->arena, "%s:%lld", layer_arn, (long long)version), "Description",
                        svc_in_str(c, "Description") ? svc_in_str(c, "Description") : "", "CreatedDate", ts, "Version",
                        (json_int_t)version);
    static const char *const copied[] = {"CompatibleRuntimes", "LicenseInfo", "CompatibleArchitectures", NULL};
    for (const char *const *k = copied; *k; k++)
        if (svc_in(c, *k))
            json_object_set(l->info, *k, svc_in(c, *k));
    l->next = st->layers;
    st->layers = l;
    lambda__layer_save(st, l);
    lambda__hot_sync(st);
    c->output = layer_view(c, l);
    svc_call_finish(c);
}

int lambda_publish_layer_version(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    const char *name;
    if (!layer_name_of(c, svc_in_str(c, "LayerName"), &name))
        return 0;
    json_t *content = svc_in(c, "Content");
    const char *zip = json_string_value(json_object_get(content, "ZipFile"));
    publish_ctx_t *pc = arena_calloc(c->arena, sizeof *pc);
    pc->name = arena_strdup(c->arena, name);
    if (!zip && lambda__hot_bucket(json_string_value(json_object_get(content, "S3Bucket")))) {
        /* A layer served from a directory, mounted at /opt as it is. */
        const char *dir = lambda__hot_path_or_fail(c, json_string_value(json_object_get(content, "S3Key")), "S3Key");
        if (!dir || lambda__hot_ingest(st, c, dir, on_layer_code, pc) != 0)
            return 0;
        return KYOKA_EAGAIN;
    }
    if (!zip) {
        if (json_object_get(content, "S3Bucket"))
            svc_error(c, "InvalidParameterValueException", 400,
                      "Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified "
                      "bucket does not exist");
        else
            svc_error(c, "InvalidParameterValueException", 400, "Please provide a source for the layer content.");
        return 0;
    }
    if (lambda__code_ingest(st, c, zip, false, on_layer_code, pc) != 0)
        return 0;
    return KYOKA_EAGAIN;
}

static lambda_layer_t *layer_get_or_fail(svc_call_t *c)
{
    const char *name;
    if (!layer_name_of(c, svc_in_str(c, "LayerName"), &name))
        return NULL;
    int64_t v = json_integer_value(svc_in(c, "VersionNumber"));
    lambda_layer_t *l = layer_lookup(c->state, lambda__call_region(c), name, v);
    if (!l)
        svc_error(c, "ResourceNotFoundException", 404, "The resource you requested does not exist.");
    return l;
}

int lambda_get_layer_version(svc_call_t *c)
{
    lambda_layer_t *l = layer_get_or_fail(c);
    if (l)
        c->output = layer_view(c, l);
    return 0;
}

int lambda_get_layer_version_by_arn(svc_call_t *c)
{
    lambda_layer_t *l = lambda__layer_by_arn(c->state, svc_in_str(c, "Arn"));
    if (l) {
        c->output = layer_view(c, l);
        return 0;
    }
    svc_error(c, "ResourceNotFoundException", 404, "The resource you requested does not exist.");
    return 0;
}

/* No filter, or the filter's value is in the layer's list. */
static bool listed(lambda_layer_t *l, const char *list, const char *want)
{
    if (!want)
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(l->info, list), i, v) if (strcmp(json_string_value(v), want) == 0) return true;
    return false;
}

static bool compatible(lambda_layer_t *l, const char *runtime, const char *arch)
{
    return listed(l, "CompatibleRuntimes", runtime) && listed(l, "CompatibleArchitectures", arch);
}

int lambda_list_layer_versions(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    const char *name;
    if (!layer_name_of(c, svc_in_str(c, "LayerName"), &name))
        return 0;
    const char *region = lambda__call_region(c);
    json_t *list = json_array();
    for (int64_t v = layer_last(st, region, name); v >= 1; v--) {
        lambda_layer_t *l = layer_lookup(st, region, name, v);
        if (l && compatible(l, svc_in_str(c, "CompatibleRuntime"), svc_in_str(c, "CompatibleArchitecture"))) {
            json_t *o = json_deep_copy(l->info);
            json_t *content = json_object_get(o, "Content");
            json_incref(content);
            json_object_del(o, "Content");
            json_object_del(o, "LayerArn");
            json_decref(content);
            json_array_append_new(list, o);
        }
    }
    json_object_set_new(svc_output(c), "LayerVersions", list);
    return 0;
}

int lambda_list_layers(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    const char *region = lambda__call_region(c);
    json_t *list = json_array();
    for (lambda_layer_t *l = st->layers; l; l = l->next) {
        if (strcmp(l->region, region) != 0 || l->version != layer_last(st, region, l->name))
            continue;
        if (!compatible(l, svc_in_str(c, "CompatibleRuntime"), svc_in_str(c, "CompatibleArchitecture")))
            continue;
        json_t *latest = json_deep_copy(l->info);
        json_object_del(latest, "Content");
        json_object_del(latest, "LayerArn");
        json_array_append_new(list, json_pack("{s:s,s:O,s:o}", "LayerName", l->name, "LayerArn",
                                              json_object_get(l->info, "LayerArn"), "LatestMatchingVersion", latest));
    }
    json_object_set_new(svc_output(c), "Layers", list);
    return 0;
}

int lambda_delete_layer_version(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    const char *name;
    if (!layer_name_of(c, svc_in_str(c, "LayerName"), &name))
        return 0;
    int64_t v = json_integer_value(svc_in(c, "VersionNumber"));
    for (lambda_layer_t **pp = &st->layers; *pp; pp = &(*pp)->next) {
        lambda_layer_t *l = *pp;
        if (l->version == v && strcmp(l->name, name) == 0 && strcmp(l->region, lambda__call_region(c)) == 0) {
            *pp = l->next;
            lambda__layer_delete_row(st, l);
            lambda__policy_free(&l->policy);
            json_decref(l->info);
            free(l->region);
            free(l->name);
            free(l->code_sha_hex);
            free(l->hot_dir);
            free(l);
            lambda__hot_sync(st);
            return 0;
        }
    }
    return 0; /* AWS answers 204 for a version that is not there */
}

int lambda_add_layer_version_permission(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_layer_t *l = layer_get_or_fail(c);
    if (!l)
        return 0;
    const char *sid = svc_in_str(c, "StatementId");
    const char *principal = svc_in_str(c, "Principal");
    if (!l->policy.doc)
        l->policy.doc = json_pack("{s:s,s:s,s:[]}", "Version", "2012-10-17", "Id", "default", "Statement");
    if (!lambda__statement_new_or_fail(c, l->policy.doc, sid))
        return 0;
    json_t *stmts = json_object_get(l->policy.doc, "Statement");
    json_t *stmt = json_pack("{s:s,s:s,s:o,s:s,s:O}", "Sid", sid, "Effect", "Allow", "Principal",
                             strcmp(principal, "*") == 0 ? json_string("*")
                                                         : json_pack("{s:s}", "AWS", arena_sprintf(c->arena, "arn:aws:iam::%s:root", principal)),
                             "Action", svc_in_str(c, "Action"), "Resource",
                             json_object_get(l->info, "LayerVersionArn"));
    const char *org = svc_in_str(c, "OrganizationId");
    if (org)
        json_object_set_new(stmt, "Condition", json_pack("{s:{s:s}}", "StringEquals", "aws:PrincipalOrgID", org));
    json_array_append(stmts, stmt);
    char rev[37];
    lambda__revision(rev);
    free(l->policy.revision);
    l->policy.revision = xstrdup(rev);
    lambda__layer_save(st, l);
    char *text = proto_json_dumps(stmt, JSON_COMPACT);
    json_t *out = svc_output(c);
    json_object_set_new(out, "Statement", json_string(text ? text : "{}"));
    json_object_set_new(out, "RevisionId", json_string(rev));
    free(text);
    json_decref(stmt);
    return 0;
}

int lambda_remove_layer_version_permission(svc_call_t *c)
{
    lambda_state_t *st = c->state;
    lambda_layer_t *l = layer_get_or_fail(c);
    if (!l)
        return 0;
    const char *sid = svc_in_str(c, "StatementId");
    ssize_t at = lambda__statement_or_fail(c, l->policy.doc, sid);
    if (at < 0)
        return 0;
    json_array_remove(json_object_get(l->policy.doc, "Statement"), (size_t)at);
    lambda__layer_save(st, l);
    return 0;
}

int lambda_get_layer_version_policy(svc_call_t *c)
{
    lambda_layer_t *l = layer_get_or_fail(c);
    if (!l)
        return 0;
    if (!l->policy.doc || json_array_size(json_object_get(l->policy.doc, "Statement")) == 0) {
        svc_error(c, "ResourceNotFoundException", 404, "No policy is associated with the given resource.");
        return 0;
    }
    char *text = proto_json_dumps(l->policy.doc, JSON_COMPACT);
    json_t *out = svc_output(c);
    json_object_set_new(out, "Policy", json_string(text ? text : "{}"));
    json_object_set_new(out, "RevisionId", json_string(l->policy.revision ? l->policy.revision : ""));
    free(text);
    return 0;
}
