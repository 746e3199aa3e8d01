/*
 * Lambda: the operation table and the service's lifecycle.
 *
 * Each row names the operation, its handler, the IAM action it is
 * authorized as and how to build the resource ARN from the request
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html):
 * function operations act on the function ARN, qualified when the request
 * names a version or alias, so a policy on ...:function:f:prod is what an
 * Invoke of f:prod needs. The ARN is built without requiring the function
 * to exist, so authorization comes first and the handler then answers
 * ResourceNotFoundException.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/banned.h"

/* ==== ARN builders ==== */

static int arn_function(svc_call_t *c, const char **arn)
{
    lambda_ref_t r;
    if (!lambda__ref_parse(c, svc_in_str(c, "FunctionName"), svc_in_str(c, "Qualifier"), &r))
        return -1;
    *arn = lambda__ref_arn(c, &r);
    return 0;
}

/* Operations that never take a qualifier act on the unqualified ARN. */
static int arn_function_unqualified(svc_call_t *c, const char **arn)
{
    lambda_ref_t r;
    if (!lambda__ref_parse(c, svc_in_str(c, "FunctionName"), NULL, &r))
        return -1;
    r.qualifier = NULL;
    *arn = lambda__ref_arn(c, &r);
    return 0;
}

static int arn_alias(svc_call_t *c, const char **arn)
{
    lambda_ref_t r;
    if (!lambda__ref_parse(c, svc_in_str(c, "FunctionName"), NULL, &r))
        return -1;
    const char *name = svc_in_str(c, "Name");
    *arn = name ? arena_sprintf(c->arena, "%s:%s", lambda__ref_arn(c, &r), name) : lambda__ref_arn(c, &r);
    return 0;
}

static int arn_resource(svc_call_t *c, const char **arn)
{
    const char *a = svc_in_str(c, "Resource");
    *arn = a && *a ? a : "*";
    return 0;
}

static int arn_layer(svc_call_t *c, const char **arn)
{
    const char *n = svc_in_str(c, "LayerName");
    if (n && strncmp(n, "arn:", 4) == 0) {
        *arn = n;
    } else {
        *arn = arena_sprintf(c->arena, "arn:aws:lambda:%s:%s:layer:%s", lambda__call_region(c),
                             lambda__call_account(c), n ? n : "");
    }
    return 0;
}

static int arn_layer_version(svc_call_t *c, const char **arn)
{
    const char *base;
    arn_layer(c, &base);
    *arn = arena_sprintf(c->arena, "%s:%lld", base, (long long)json_integer_value(svc_in(c, "VersionNumber")));
    return 0;
}

static int arn_layer_by_arn(svc_call_t *c, const char **arn)
{
    const char *a = svc_in_str(c, "Arn");
    *arn = a && *a ? a : "*";
    return 0;
}

/* Event source mapping operations act on the mapping's ARN. */
static int arn_esm(svc_call_t *c, const char **arn)
{
    const char *uuid = svc_in_str(c, "UUID");
    *arn = arena_sprintf(c->arena, "arn:aws:lambda:%s:%s:event-source-mapping:%s", lambda__call_region(c),
                         lambda__call_account(c), uuid ? uuid : "");
    return 0;
}

/* ==== the operation table ==== */

#define M SVC_OP_MUTATING
static const svc_op_t lambda_ops[] = {
    {"AddLayerVersionPermission", lambda_add_layer_version_permission, "lambda:AddLayerVersionPermission", arn_layer_version, M},
    {"AddPermission", lambda_add_permission, "lambda:AddPermission", arn_function, M},
    {"CreateAlias", lambda_create_alias, "lambda:CreateAlias", arn_function_unqualified, M},
    {"CreateEventSourceMapping", lambda_create_event_source_mapping, "lambda:CreateEventSourceMapping", NULL, M},
    {"CreateFunction", lambda_create_function, "lambda:CreateFunction", arn_function_unqualified, M},
    {"DeleteAlias", lambda_delete_alias, "lambda:DeleteAlias", arn_alias, M},
    {"DeleteEventSourceMapping", lambda_delete_event_source_mapping, "lambda:DeleteEventSourceMapping", arn_esm, M},
    {"DeleteFunction", lambda_delete_function, "lambda:DeleteFunction", arn_function, M},
    {"DeleteFunctionEventInvokeConfig", lambda_delete_function_event_invoke_config, "lambda:DeleteFunctionEventInvokeConfig", arn_function, M},
    {"DeleteFunctionConcurrency", lambda_delete_function_concurrency, "lambda:DeleteFunctionConcurrency", arn_function_unqualified, M},
    {"DeleteLayerVersion", lambda_delete_layer_version, "lambda:DeleteLayerVersion", arn_layer_version, M},
    {"DeleteProvisionedConcurrencyConfig", lambda_delete_provisioned_concurrency_config, "lambda:DeleteProvisionedConcurrencyConfig", arn_function, M},
    {"GetAccountSettings", lambda_get_account_settings, "lambda:GetAccountSettings", NULL, 0},
    {"GetAlias", lambda_get_alias, "lambda:GetAlias", arn_alias, 0},
    {"GetEventSourceMapping", lambda_get_event_source_mapping, "lambda:GetEventSourceMapping", arn_esm, 0},
    {"GetFunction", lambda_get_function, "lambda:GetFunction", arn_function, 0},
    {"GetFunctionConcurrency", lambda_get_function_concurrency, "lambda:GetFunctionConcurrency", arn_function_unqualified, 0},
    {"GetFunctionEventInvokeConfig", lambda_get_function_event_invoke_config, "lambda:GetFunctionEventInvokeConfig", arn_function, 0},
    {"GetFunctionConfiguration", lambda_get_function_configuration, "lambda:GetFunctionConfiguration", arn_function, 0},
    {"GetLayerVersion", lambda_get_layer_version, "lambda:GetLayerVersion", arn_layer_version, 0},
    {"GetLayerVersionByArn", lambda_get_layer_version_by_arn, "lambda:GetLayerVersion", arn_layer_by_arn, 0},
    {"GetLayerVersionPolicy", lambda_get_layer_version_policy, "lambda:GetLayerVersionPolicy", arn_layer_version, 0},
    {"GetPolicy", lambda_get_policy, "lambda:GetPolicy", arn_function, 0},
    {"GetProvisionedConcurrencyConfig", lambda_get_provisioned_concurrency_config, "lambda:GetProvisionedConcurrencyConfig", arn_function, 0},
    {"CreateFunctionUrlConfig", lambda_create_function_url_config, "lambda:CreateFunctionUrlConfig", arn_function, M},
    {"DeleteFunctionUrlConfig", lambda_delete_function_url_config, "lambda:DeleteFunctionUrlConfig", arn_function, M},
    {"GetFunctionUrlConfig", lambda_get_function_url_config, "lambda:GetFunctionUrlConfig", arn_function, 0},
    {"ListFunctionUrlConfigs", lambda_list_function_url_configs, "lambda:ListFunctionUrlConfigs", arn_function_unqualified, 0},
    {"UpdateFunctionUrlConfig", lambda_update_function_url_config, "lambda:UpdateFunctionUrlConfig", arn_function, M},
    {"Invoke", lambda_invoke, "lambda:InvokeFunction", arn_function, 0},
    {"ListAliases", lambda_list_aliases, "lambda:ListAliases", arn_function_unqualified, 0},
    {"ListEventSourceMappings", lambda_list_event_source_mappings, "lambda:ListEventSourceMappings", NULL, 0},
    {"ListFunctionEventInvokeConfigs", lambda_list_function_event_invoke_configs, "lambda:ListFunctionEventInvokeConfigs", arn_function_unqualified, 0},
    {"ListFunctions", lambda_list_functions, "lambda:ListFunctions", NULL, 0},
    {"ListLayerVersions", lambda_list_layer_versions, "lambda:ListLayerVersions", NULL, 0},
    {"ListLayers", lambda_list_layers, "lambda:ListLayers", NULL, 0},
    {"ListProvisionedConcurrencyConfigs", lambda_list_provisioned_concurrency_configs, "lambda:ListProvisionedConcurrencyConfigs", arn_function_unqualified, 0},
    {"ListTags", lambda_list_tags, "lambda:ListTags", arn_resource, 0},
    {"ListVersionsByFunction", lambda_list_versions_by_function, "lambda:ListVersionsByFunction", arn_function_unqualified, 0},
    {"PublishLayerVersion", lambda_publish_layer_version, "lambda:PublishLayerVersion", arn_layer, M},
    {"PublishVersion", lambda_publish_version, "lambda:PublishVersion", arn_function_unqualified, M},
    {"PutFunctionConcurrency", lambda_put_function_concurrency, "lambda:PutFunctionConcurrency", arn_function_unqualified, M},
    {"PutFunctionEventInvokeConfig", lambda_put_function_event_invoke_config, "lambda:PutFunctionEventInvokeConfig", arn_function, M},
    {"PutProvisionedConcurrencyConfig", lambda_put_provisioned_concurrency_config, "lambda:PutProvisionedConcurrencyConfig", arn_function, M},
    {"RemoveLayerVersionPermission", lambda_remove_layer_version_permission, "lambda:RemoveLayerVersionPermission", arn_layer_version, M},
    {"RemovePermission", lambda_remove_permission, "lambda:RemovePermission", arn_function, M},
    {"TagResource", lambda_tag_resource, "lambda:TagResource", arn_resource, M},
    {"UntagResource", lambda_untag_resource, "lambda:UntagResource", arn_resource, M},
    {"UpdateAlias", lambda_update_alias, "lambda:UpdateAlias", arn_alias, M},
    {"UpdateEventSourceMapping", lambda_update_event_source_mapping, "lambda:UpdateEventSourceMapping", arn_esm, M},
    {"UpdateFunctionEventInvokeConfig", lambda_update_function_event_invoke_config, "lambda:UpdateFunctionEventInvokeConfig", arn_function, M},
    {"UpdateFunctionCode", lambda_update_function_code, "lambda:UpdateFunctionCode", arn_function_unqualified, M},
    {"UpdateFunctionConfiguration", lambda_update_function_configuration, "lambda:UpdateFunctionConfiguration", arn_function_unqualified, M},
};
#undef M

/* ==== the resource policy the server consults ==== */

static const iam_policy_t *lambda_resource_policy(void *state, const char *arn, const char **owner)
{
    lambda_state_t *st = state;
    /* arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] */
    if (!arn || strncmp(arn, "arn:aws:lambda:", 15) != 0)
        return NULL;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", arn + 15);
    char *region = buf, *account = strchr(region, ':');
    if (!account)
        return NULL;
    *account++ = '\0';
    char *kind = strchr(account, ':');
    if (!kind)
        return NULL;
    *kind++ = '\0';
    if (strncmp(kind, "function:", 9) != 0)
        return NULL;
    char *name = kind + 9, *qual = strchr(name, ':');
    if (qual)
        *qual++ = '\0';
    lambda_fn_t *fn = lambda__fn_lookup(st, region, name);
    if (!fn || strcmp(account, st->ctx->account_id) != 0)
        return NULL;
    lambda_policy_t *p = lambda__policy_lookup(fn, qual);
    *owner = st->ctx->account_id;
    return p ? p->compiled : NULL;
}

/* ==== lifecycle ==== */

void lambda_set_invoker(void *state, const lambda_invoker_t *inv)
{
    lambda_state_t *st = state;
    if (!st)
        return;
    st->invoker = *inv;
    st->has_invoker = true;
    lambda__async_start(st);
    lambda__esm_start(st);
}

const char *lambda_code_root(void *state)
{
    lambda_state_t *st = state;
    return st ? st->code_root : NULL;
}

json_t *lambda_functions_summary(void *state)
{
    lambda_state_t *st = state;
    json_t *a = json_array();
    for (lambda_fn_t *f = st ? st->fns : NULL; f; f = f->next) {
        json_t *cfg = f->versions[0]->config;
        json_t *o = json_pack("{s:s,s:s,s:O,s:O,s:I}", "name", f->name, "region", f->region, "runtime",
                              json_object_get(cfg, "Runtime"), "memory", json_object_get(cfg, "MemorySize"),
                              "versions", (json_int_t)(f->nversions - 1));
        if (f->reserved >= 0)
            json_object_set_new(o, "reserved", json_integer(f->reserved));
        if (f->versions[0]->hot_dir)
            json_object_set_new(o, "hot_reload", lambda__hot_describe(st, f->versions[0]->hot_dir));
        if (f->debug_port)
            json_object_set_new(o, "debug_port", json_integer(f->debug_port));
        json_array_append_new(a, o);
    }
    return a;
}

void lambda_set_account_concurrency(void *state, int n)
{
    lambda_state_t *st = state;
    if (st)
        st->account_concurrency = n;
}

static int mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static void *lambda_create(kyoka_ctx_t *ctx, char *err, size_t errcap)
{
    lambda_state_t *st = xcalloc(1, sizeof *st);
    st->ctx = ctx;
    st->store = ctx->store;
    st->account_concurrency = 1000;
    if (ctx->data_dir) {
        st->code_root = xasprintf("%s/lambda", ctx->data_dir);
    } else {
        char tmpl[] = "/tmp/kyoka-lambda-XXXXXX";
        if (!mkdtemp(tmpl)) {
            snprintf(err, errcap, "cannot create a directory for function code: %s", strerror(errno));
            free(st);
            return NULL;
        }
        st->code_root = xstrdup(tmpl);
        st->code_root_temp = true;
    }
    if (mkdir_p(st->code_root) != 0) {
        snprintf(err, errcap, "cannot create %s: %s", st->code_root, strerror(errno));
        free(st->code_root);
        free(st);
        return NULL;
    }
    if (lambda__store_migrate(st, err, errcap) != 0 || lambda__store_load(st, err, errcap) != 0 ||
        lambda__async_create(st, err, errcap) != 0 || lambda__esm_create(st, err, errcap) != 0 ||
        lambda__url_init(st, err, errcap) != 0) {
        free(st->code_root);
        free(st);
        return NULL;
    }
    lambda__hot_sync(st); /* resume watching what functions are served from */
    return st;
}

static void free_all(lambda_state_t *st)
{
    while (st->fns) {
        lambda_fn_t *f = st->fns;
        st->fns = f->next;
        lambda__fn_free(f);
    }
    while (st->layers) {
        lambda_layer_t *l = st->layers;
        st->layers = l->next;
        lambda__policy_free(&l->policy);
        json_decref(l->info);
        free(l->region);
        free(l->name);
        free(l->code_sha_hex);
        free(l->hot_dir);
        free(l);
    }
}

static void lambda_free(void *state)
{
    lambda_state_t *st = state;
    if (!st)
        return;
    lambda__esm_drop_all(st, false);
    lambda__async_free(st);
    lambda__hot_stop(st);
    lambda__url_free(st);
    free_all(st);
    for (size_t i = 0; i < st->nhot_roots; i++)
        free(st->hot_roots[i]);
    free(st->hot_roots);
    if (st->code_root_temp)
        kyoka_remove_tree(st->code_root);
    free(st->code_root);
    free(st);
}

static void lambda_reset(void *state)
{
    lambda_state_t *st = state;
    if (st->has_invoker && st->invoker.retire)
        st->invoker.retire(st->invoker.rt, "");
    lambda__async_reset(st);
    lambda__esm_drop_all(st, true);
    lambda__store_wipe(st);
    lambda__url_reset(st);
    free_all(st);
    lambda__hot_sync(st);
}

static void lambda_stopping(void *state)
{
    lambda_state_t *st = state;
    st->stopping = true;
    lambda__async_stop(st);
    lambda__esm_stop(st);
    lambda__hot_stop(st);
}

static void lambda_clock_moved(void *state) { lambda__async_kick(state); }

const svc_def_t lambda_service = {
    .name = "lambda",
    .ops = lambda_ops,
    .nops = KYOKA_ARRAY_LEN(lambda_ops),
    .create = lambda_create,
    .free = lambda_free,
    .reset = lambda_reset,
    .stopping = lambda_stopping,
    .clock_moved = lambda_clock_moved,
    .resource_policy = lambda_resource_policy,
    .http_claim = lambda__url_claim,
    .http_serve = lambda__url_serve,
};
