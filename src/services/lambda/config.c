/*
 * Function configuration: checking and applying what CreateFunction and
 * UpdateFunctionConfiguration carry, the execution role rules, the view
 * AWS returns, and the run spec the runtime starts environments from.
 *
 * Messages are AWS's own where AWS documents or returns them
 * (https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html,
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
 */
#include "internal.h"

#include "pipes/pipes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* The runtimes kyoka runs, all with the system's interpreters. */
static const char *const runnable[] = {
    "python3.9", "python3.10", "python3.11", "python3.12", "python3.13", "python3.14", "nodejs18.x",
    "nodejs20.x", "nodejs22.x", "nodejs24.x", "provided.al2", "provided.al2023", "provided", NULL,
};
/* Deprecated: AWS refuses to create or update functions on these. */
static const char *const deprecated[] = {
    "python2.7", "python3.6", "python3.7", "python3.8", "nodejs", "nodejs4.3", "nodejs4.3-edge", "nodejs6.10",
    "nodejs8.10", "nodejs10.x", "nodejs12.x", "nodejs14.x", "nodejs16.x", "dotnetcore1.0", "dotnetcore2.0",
    "dotnetcore2.1", "dotnetcore3.1", "ruby2.5", "ruby2.7", "java8", "go1.x", NULL,
};

/* Keys AWS sets itself and refuses in Environment.Variables. */
static const char *const reserved_keys[] = {
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static bool is_provided(const char *runtime) { return runtime && strncmp(runtime, "provided", 8) == 0; }

static bool check_runtime(svc_call_t *c, const char *runtime)
{
    if (in_list(runnable, runtime))
        return true;
    if (in_list(deprecated, runtime)) {
        /* AWS names the newest runtime of the same language. */
        const char *now = strncmp(runtime, "python", 6) == 0 ? "python3.13"
                          : strncmp(runtime, "nodejs", 6) == 0 ? "nodejs22.x"
                          : strncmp(runtime, "dotnet", 6) == 0 ? "dotnet8"
                          : strncmp(runtime, "ruby", 4) == 0   ? "ruby3.3"
                          : strncmp(runtime, "java", 4) == 0   ? "java21"
                                                               : "provided.al2023";
        svc_error(c, "InvalidParameterValueException", 400,
                  "The runtime parameter of %s is no longer supported for creating or updating AWS Lambda "
                  "functions. We recommend you use the new runtime (%s) while creating or updating functions.",
                  runtime, now);
        return false;
    }
    svc_error(c, "InvalidParameterValueException", 400,
              "kyoka cannot run the %s runtime: it runs python3.9 to python3.14, nodejs18.x to nodejs24.x, "
              "provided.al2 and provided.al2023 (see docs/coverage.md).",
              runtime);
    return false;
}

static bool check_environment(svc_call_t *c, json_t *vars)
{
    if (!vars)
        return true;
    if (!json_is_object(vars)) {
        svc_error(c, "InvalidParameterValueException", 400, "Environment variables must be a map of strings.");
        return false;
    }
    const char *k;
    json_t *v;
    buf_t used;
    buf_init(&used, 1 << 16);
    json_object_foreach(vars, k, v)
    {
        if (in_list(reserved_keys, k))
            buf_appendf(&used, "%s%s", used.len ? ", " : "", k);
    }
    if (used.len) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "Lambda was unable to configure your environment variables because the environment variables "
                  "you have provided contains reserved keys that are currently not supported for modification. "
                  "Reserved keys used in this request: %s",
                  used.data);
        buf_destroy(&used);
        return false;
    }
    buf_destroy(&used);
    json_object_foreach(vars, k, v)
    {
        bool ok = (k[0] >= 'a' && k[0] <= 'z') || (k[0] >= 'A' && k[0] <= 'Z');
        for (const char *p = k + 1; ok && *p; p++)
            ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_';
        if (!ok || strlen(k) < 2 || !json_is_string(v)) {
            svc_error(c, "ValidationException", 400,
                      "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: "
                      "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: "
                      "[a-zA-Z]([a-zA-Z0-9_])+]");
            return false;
        }
    }
    /* AWS measures the variables as their JSON text, and quotes it. */
    char *text = proto_json_dumps(vars, JSON_COMPACT);
    size_t n = text ? strlen(text) : 0;
    if (n > KYOKA_LAMBDA_MAX_ENV_BYTES) {
        svc_error_long(c, "InvalidParameterValueException", 400,
                       arena_sprintf(c->arena,
                                     "Lambda was unable to configure your environment variables because the "
                                     "environment variables you have provided exceeded the 4KB limit. String "
                                     "measured: %s",
                                     text));
        free(text);
        return false;
    }
    free(text);
    return true;
}

/* Layers given by version ARN; stored with their size and digest. */
static bool apply_layers(svc_call_t *c, json_t *cfg, json_t *arns)
{
    lambda_state_t *st = c->state;
    if (!json_is_array(arns))
        return true;
    if (json_array_size(arns) > 5) {
        svc_error(c, "InvalidParameterValueException", 400, "Cannot reference more than 5 layers.");
        return false;
    }
    json_t *out = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(arns, i, a)
    {
        const char *arn = json_string_value(a);
        lambda_layer_t *found = NULL;
        for (lambda_layer_t *l = st->layers; l && arn; l = l->next) {
            const char *la = json_string_value(json_object_get(l->info, "LayerVersionArn"));
            if (la && strcmp(la, arn) == 0)
                found = l;
        }
        if (!found) {
            svc_error(c, "InvalidParameterValueException", 400, "Layer version %s does not exist.",
                      arn ? arn : "");
            json_decref(out);
            return false;
        }
        json_t *content = json_object_get(found->info, "Content");
        json_array_append_new(out, json_pack("{s:s,s:O,s:s}", "Arn", arn, "CodeSize",
                                             json_object_get(content, "CodeSize"), "_CodeShaHex",
                                             found->code_sha_hex));
    }
    json_object_set_new(cfg, "Layers", out);
    return true;
}

static bool apply_logging(svc_call_t *c, json_t *cfg, json_t *lc, const char *name)
{
    json_t *cur = json_object_get(cfg, "LoggingConfig");
    if (!cur) {
        cur = json_pack("{s:s,s:s}", "LogFormat", "Text", "LogGroup", arena_sprintf(c->arena, "/aws/lambda/%s", name));
        json_object_set_new(cfg, "LoggingConfig", cur);
    }
    if (!json_is_object(lc))
        return true;
    const char *fmt = json_string_value(json_object_get(lc, "LogFormat"));
    if (fmt)
        json_object_set_new(cur, "LogFormat", json_string(fmt));
    const char *group = json_string_value(json_object_get(lc, "LogGroup"));
    if (group)
        json_object_set_new(cur, "LogGroup", json_string(group));
    const char *app = json_string_value(json_object_get(lc, "ApplicationLogLevel"));
    const char *sys = json_string_value(json_object_get(lc, "SystemLogLevel"));
    const char *now_fmt = json_string_value(json_object_get(cur, "LogFormat"));
    if ((app || sys) && now_fmt && strcmp(now_fmt, "JSON") != 0) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "To set ApplicationLogLevel or SystemLogLevel, you must set LogFormat to JSON.");
        return false;
    }
    if (app)
        json_object_set_new(cur, "ApplicationLogLevel", json_string(app));
    if (sys)
        json_object_set_new(cur, "SystemLogLevel", json_string(sys));
    if (now_fmt && strcmp(now_fmt, "JSON") == 0) {
        if (!json_object_get(cur, "ApplicationLogLevel"))
            json_object_set_new(cur, "ApplicationLogLevel", json_string("INFO"));
        if (!json_object_get(cur, "SystemLogLevel"))
            json_object_set_new(cur, "SystemLogLevel", json_string("INFO"));
    } else {
        json_object_del(cur, "ApplicationLogLevel");
        json_object_del(cur, "SystemLogLevel");
    }
    return true;
}

static void set_default(json_t *cfg, const char *key, json_t *value)
{
    if (!json_object_get(cfg, key))
        json_object_set_new(cfg, key, value);
    else
        json_decref(value);
}

bool lambda__config_apply(svc_call_t *c, json_t *cfg, bool creating)
{
    const char *name = json_string_value(json_object_get(cfg, "FunctionName"));
    const char *runtime = svc_in_str(c, "Runtime");
    const char *handler = svc_in_str(c, "Handler");
    if (runtime && !check_runtime(c, runtime))
        return false;
    const char *eff_runtime = runtime ? runtime : json_string_value(json_object_get(cfg, "Runtime"));
    const char *eff_handler = handler ? handler : json_string_value(json_object_get(cfg, "Handler"));
    if (creating && (!eff_runtime || (!eff_handler && !is_provided(eff_runtime)))) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "Runtime and Handler are mandatory parameters for functions created with deployment packages.");
        return false;
    }
    json_t *timeout = svc_in(c, "Timeout");
    if (timeout && json_integer_value(timeout) > 900) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value '%lld' at 'timeout' failed to satisfy constraint: Member must "
                  "have value less than or equal to 900",
                  (long long)json_integer_value(timeout));
        return false;
    }
    json_t *env = svc_in(c, "Environment");
    json_t *vars = json_object_get(env, "Variables");
    if (!check_environment(c, vars))
        return false;
    json_t *arch = svc_in(c, "Architectures");
    if (arch && json_array_size(arch) != 1) {
        svc_error(c, "ValidationException", 400,
                  "1 validation error detected: Value at 'architectures' failed to satisfy constraint: Member must "
                  "have length less than or equal to 1");
        return false;
    }
    if (!apply_layers(c, cfg, svc_in(c, "Layers")))
        return false;
    if (!apply_logging(c, cfg, svc_in(c, "LoggingConfig"), name))
        return false;

    static const char *const copied[] = {"Runtime", "Role", "Handler", "Description", "Timeout", "MemorySize",
                                         "DeadLetterConfig", "KMSKeyArn", "TracingConfig", "EphemeralStorage",
                                         "Architectures", "VpcConfig", "FileSystemConfigs", "SnapStart", NULL};
    for (const char *const *k = copied; *k; k++) {
        json_t *v = svc_in(c, *k);
        if (v)
            json_object_set(cfg, *k, v);
    }
    if (env) {
        json_t *e = json_object();
        if (json_object_size(vars))
            json_object_set(e, "Variables", vars);
        json_object_set_new(cfg, "Environment", e);
    }
    if (creating) {
        char ts[32], rev[37];
        lambda__timestamp(ts);
        lambda__revision(rev);
        set_default(cfg, "Description", json_string(""));
        set_default(cfg, "Timeout", json_integer(3));
        set_default(cfg, "MemorySize", json_integer(128));
        set_default(cfg, "Version", json_string("$LATEST"));
        set_default(cfg, "TracingConfig", json_pack("{s:s}", "Mode", "PassThrough"));
        set_default(cfg, "PackageType", json_string("Zip"));
        set_default(cfg, "Architectures", json_pack("[s]", "x86_64"));
        set_default(cfg, "EphemeralStorage", json_pack("{s:i}", "Size", 512));
        set_default(cfg, "SnapStart", json_pack("{s:s,s:s}", "ApplyOn", "None", "OptimizationStatus", "Off"));
        set_default(cfg, "State", json_string("Active"));
        set_default(cfg, "LastUpdateStatus", json_string("Successful"));
        json_object_set_new(cfg, "LastModified", json_string(ts));
        json_object_set_new(cfg, "RevisionId", json_string(rev));
    }
    const char *rt = json_string_value(json_object_get(cfg, "Runtime"));
    if (rt && !json_object_get(cfg, "RuntimeVersionConfig")) {
        char hex[65];
        auth_sha256_hex(rt, strlen(rt), hex);
        json_object_set_new(cfg, "RuntimeVersionConfig",
                            json_pack("{s:s}", "RuntimeVersionArn",
                                      arena_sprintf(c->arena, "arn:aws:lambda:%s::runtime:%.64s",
                                                    lambda__call_region(c), hex)));
    }
    return true;
}

/* ==== the execution role ==== */

bool lambda__role_check(svc_call_t *c, const char *role_arn)
{
    if (!role_arn)
        return true;
    static const char *const passed[] = {"lambda.amazonaws.com"};
    iam_ctx_value_t ctxv = {"iam:PassedToService", passed, 1};
    if (c->ctx->authorize(c, "iam:PassRole", role_arn, &ctxv, 1) != IAM_ALLOW)
        return false;
    iam_svc_role_t role;
    bool trusted = false;
    if (iam_svc_role_lookup(c->ctx->iam_state, role_arn, &role) && role.trust) {
        iam_principal_t svc = {.arn = "lambda.amazonaws.com", .service = "lambda.amazonaws.com",
                               .type = "AWS", .account = c->ctx->account_id};
        iam_named_policy_t trust = {arena_sprintf(c->arena, "trust:%s", role_arn), role.trust};
        iam_policy_set_t set = {.resource = &trust};
        iam_request_t r = {.action = "sts:AssumeRole", .resource = role_arn, .resource_account = c->ctx->account_id,
                           .principal = &svc, .region = lambda__call_region(c), .now_ms = kyoka_clock_now_ms()};
        iam_explain_t ex;
        trusted = iam_evaluate(&r, &set, &ex) == IAM_ALLOW;
        iam_decision_log_add(&r, &ex);
    }
    if (!trusted) {
        svc_error(c, "InvalidParameterValueException", 400, "The role defined for the function cannot be assumed by Lambda.");
        return false;
    }
    return true;
}

/* ==== views ==== */

static json_t *strip_private(json_t *o)
{
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(o, tmp, k, v)
    {
        if (k[0] == '_')
            json_object_del(o, k);
        else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) if (json_is_object(e)) strip_private(e);
        }
    }
    return o;
}

json_t *lambda__config_view(lambda_state_t *st, const lambda_fn_t *fn, const lambda_version_t *v)
{
    (void)st;
    (void)fn;
    return strip_private(json_deep_copy(v->config));
}

int lambda__unreserved(lambda_state_t *st)
{
    int sum = 0;
    for (lambda_fn_t *f = st->fns; f; f = f->next)
        if (f->reserved > 0)
            sum += f->reserved;
    return st->account_concurrency - sum;
}

/* ==== the run spec ==== */

/* The timeout of a function while a debugger may be attached (12 hours). */
#define LAMBDA_DEBUG_TIMEOUT_S (12 * 3600)

/* A session of the execution role, renewed when it has less than this left. */
#define LAMBDA_SESSION_S 3600
#define LAMBDA_SESSION_RENEW_MS (15 * 60 * 1000)

bool lambda__role_session(svc_call_t *c, lambda_fn_t *fn, const char *role)
{
    int64_t now = kyoka_clock_now_ms();
    if (fn->akid && fn->role_arn && strcmp(fn->role_arn, role) == 0 && fn->creds_expire_ms - now > LAMBDA_SESSION_RENEW_MS)
        return true;
    iam_svc_session_req_t req = {
        .kind = IAM_SVC_SESSION_ROLE,
        .role_arn = role,
        .session_name = fn->name,
        .duration_s = LAMBDA_SESSION_S,
    };
    iam_svc_session_out_t out;
    aws_error_t saved = c->error;
    if (iam_svc_session_create(c->ctx->iam_state, c, &req, &out) != 0) {
        /* The role was deleted (or its trust changed) after the function
         * was created: AWS fails the invocation the same way. */
        c->error = saved;
        svc_error(c, "InvalidParameterValueException", 400, "The role defined for the function cannot be assumed by Lambda.");
        return false;
    }
    free(fn->akid);
    free(fn->secret);
    free(fn->token);
    free(fn->role_arn);
    fn->akid = xstrdup(out.access_key_id);
    fn->secret = xstrdup(out.secret_access_key);
    fn->token = xstrdup(out.session_token);
    fn->role_arn = xstrdup(role);
    fn->creds_expire_ms = out.expires_ms;
    return true;
}

static lambda_log_level_t log_level(const char *name)
{
    static const char *const names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return (lambda_log_level_t)(LAMBDA_LOG_TRACE + i);
    return LAMBDA_LOG_UNSET;
}

bool lambda__run_spec(lambda_state_t *st, svc_call_t *c, lambda_fn_t *fn, lambda_version_t *v, lambda_run_spec_t *spec)
{
    json_t *cfg = v->config;
    const char *role = json_string_value(json_object_get(cfg, "Role"));
    if (role && !lambda__role_session(c, fn, role))
        return false;
    /* Before the pool key: a change on disk not yet applied moves the
     * generation now, so this invocation already sees it. */
    const char *notice = v->hot_dir || st->nhot_layers ? lambda__hot_before_invoke(st, fn, v) : NULL;
    memset(spec, 0, sizeof *spec);
    spec->pool_key = lambda__pool_key(c->arena, fn, v);
    spec->function_name = fn->name;
    spec->function_arn = fn->arn;
    spec->version = v->version;
    spec->region = fn->region;
    spec->runtime = json_string_value(json_object_get(cfg, "Runtime"));
    spec->handler = json_string_value(json_object_get(cfg, "Handler"));
    spec->code_dir = v->hot_dir ? v->hot_dir
                                : lambda__code_dir(c->arena, st, json_string_value(json_object_get(cfg, "_CodeShaHex")));
    json_t *layers = json_object_get(cfg, "Layers");
    spec->opt_dir = lambda__hot_opt_dir(st, layers);
    if (!spec->opt_dir)
        spec->opt_dir = lambda__opt_dir(st, c->arena, layers);
    spec->notice = notice;
    spec->memory_mb = (int)json_integer_value(json_object_get(cfg, "MemorySize"));
    spec->timeout_s = (int)json_integer_value(json_object_get(cfg, "Timeout"));
    if (fn->debug_port) {
        /* A breakpoint must not end the invocation. */
        spec->debug_port = fn->debug_port;
        spec->timeout_s = LAMBDA_DEBUG_TIMEOUT_S;
    }
    spec->ephemeral_mb = (int)json_integer_value(json_object_get(json_object_get(cfg, "EphemeralStorage"), "Size"));
    json_t *vars = json_object_get(json_object_get(cfg, "Environment"), "Variables");
    spec->nenv = json_object_size(vars);
    const char **env = arena_alloc(c->arena, (spec->nenv + 1) * sizeof *env);
    size_t i = 0;
    const char *k;
    json_t *val;
    json_object_foreach(vars, k, val) env[i++] = arena_sprintf(c->arena, "%s=%s", k, json_string_value(val));
    spec->env = env;
    json_t *lc = json_object_get(cfg, "LoggingConfig");
    spec->log_group = json_string_value(json_object_get(lc, "LogGroup"));
    spec->log_format = json_string_value(json_object_get(lc, "LogFormat"));
    spec->app_log_level = log_level(json_string_value(json_object_get(lc, "ApplicationLogLevel")));
    spec->sys_log_level = log_level(json_string_value(json_object_get(lc, "SystemLogLevel")));
    spec->access_key_id = fn->akid;
    spec->secret_access_key = fn->secret;
    spec->session_token = fn->token;
    spec->creds_expire_ms = fn->creds_expire_ms;
    spec->reserved = fn->reserved;
    spec->unreserved_limit = lambda__unreserved(st);
    spec->concurrency_key = arena_sprintf(c->arena, "%s/%s", fn->region, fn->name);
    return true;
}

bool lambda__role_may(svc_call_t *c, lambda_fn_t *fn, const char *role, const char *action, const char *api,
                      const char *resource, const char *what, const char *subject)
{
    if (!role || !lambda__role_session(c, fn, role))
        return false;
    const auth_cred_t *cred = auth_store_lookup(c->ctx->creds, strv_from(fn->akid));
    pipes_dest_t d;
    pipes_dest_parse(resource, &d);
    svc_caller_t who = {.cred = cred, .region = d.region[0] ? d.region : fn->region};
    const char *id = NULL;
    if (cred && c->ctx->decide &&
        c->ctx->decide(c->ctx, &who, d.service ? d.service : "", action, resource, &id) == IAM_ALLOW)
        return true;
    svc_error(c, "InvalidParameterValueException", 400,
              "%s does not have permissions to call %s on %s", subject, api, what);
    return false;
}

bool lambda__dlq_check(svc_call_t *c, json_t *cfg, const char *name, const char *region)
{
    const char *arn = json_string_value(json_object_get(json_object_get(cfg, "DeadLetterConfig"), "TargetArn"));
    if (!arn || !*arn)
        return true;
    pipes_dest_t d;
    pipes_dest_kind_t k = pipes_dest_parse(arn, &d);
    if (k != PIPES_DEST_SQS && k != PIPES_DEST_SNS) {
        svc_error(c, "InvalidParameterValueException", 400,
                  "The DeadLetterConfig TargetArn %s is invalid: it must be an SQS queue or an SNS topic.", arn);
        return false;
    }
    /* The role's session as the function will have it; a new function has
     * no state yet, so a stand-in holds the session for the check. */
    lambda_fn_t probe = {.name = (char *)name, .region = (char *)region};
    bool ok = lambda__role_may(c, &probe, json_string_value(json_object_get(cfg, "Role")), d.action, d.api, arn,
                               k == PIPES_DEST_SQS ? "SQS" : "SNS", "The provided execution role");
    free(probe.akid);
    free(probe.secret);
    free(probe.token);
    free(probe.role_arn);
    return ok;
}
