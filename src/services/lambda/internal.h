/* Shared inside the Lambda service: functions, versions, aliases, layers,
 * code storage and persistence. */
#ifndef KYOKA_SVC_LAMBDA_INTERNAL_H
#define KYOKA_SVC_LAMBDA_INTERNAL_H

#include "lambda.h"
#include "services/iam/iam_svc.h"
#include "services/service.h"

#include <jansson.h>

typedef struct lambda_state lambda_state_t;
typedef struct lambda_fn lambda_fn_t;
typedef struct lambda_version lambda_version_t;
typedef struct lambda_alias lambda_alias_t;
typedef struct lambda_layer lambda_layer_t;
typedef struct lambda_async lambda_async_t;
typedef struct lambda_esm lambda_esm_t;
typedef struct lambda_hot lambda_hot_t;

/* One version of a function ($LATEST is versions[0]). config is the
 * FunctionConfiguration exactly as AWS returns it; generation changes with
 * every change of code or configuration, so environments started from an
 * older one are never reused. */
struct lambda_version {
    char *version;
    json_t *config;
    uint64_t generation;
    json_t *provisioned; /* ProvisionedConcurrencyConfig, or NULL */
    char *hot_dir;       /* code served from this host directory (hot
                            reload, real path), or NULL: code/<sha>/ */
};

/* An alias: AliasConfiguration as AWS returns it. */
struct lambda_alias {
    char *name;
    json_t *config;
    json_t *provisioned;
};

/* A resource-based policy of one qualifier ("" for the function itself). */
typedef struct lambda_policy {
    char *qualifier;
    json_t *doc;          /* {"Version","Id","Statement":[...]} */
    iam_policy_t *compiled;
    char *revision;       /* RevisionId of the policy */
} lambda_policy_t;

struct lambda_fn {
    char *region;
    char *name;
    char *arn;            /* unqualified */
    lambda_version_t **versions;
    size_t nversions;
    int64_t last_version; /* highest number published (numbers never reused) */
    lambda_alias_t **aliases;
    size_t naliases;
    lambda_policy_t *policies;
    size_t npolicies;
    int reserved;         /* ReservedConcurrentExecutions, -1 unset */
    json_t *tags;         /* object */
    json_t *event_configs; /* qualifier ("$LATEST", a version, an alias) ->
                              FunctionEventInvokeConfig as AWS returns it */
    /* The execution role's current session (not persisted: sessions are,
     * by the IAM service, but these are just the cache of one). */
    char *role_arn, *akid, *secret, *token;
    int64_t creds_expire_ms;
    int debug_port;       /* `kyoka lambda debug`: environments start under a
                             debugger on this port; 0 off (not persisted) */
    lambda_fn_t *next;
};

struct lambda_layer {
    char *region;
    char *name;
    int64_t version;
    json_t *info;         /* GetLayerVersion's response without Content.Location */
    char *code_sha_hex;
    lambda_policy_t policy; /* qualifier unused */
    char *hot_dir;        /* served from this host directory, or NULL */
    lambda_layer_t *next;
};

struct lambda_state {
    kyoka_ctx_t *ctx;
    store_t *store;
    char *code_root;      /* <data>/lambda: code/<sha>/, zips/<sha>.zip, opt/<key>/ */
    bool code_root_temp;  /* made for --ephemeral: removed at exit */
    lambda_fn_t *fns;
    lambda_layer_t *layers;
    lambda_invoker_t invoker;
    bool has_invoker;
    int account_concurrency;
    uint64_t next_generation;
    lambda_async_t *async;
    lambda_esm_t *esms;   /* event source mappings, newest first */
    lambda_hot_t *hot;    /* watched directories (hotreload.c) */
    char **hot_roots;     /* --hot-reload-roots (real paths); none: any */
    size_t nhot_roots;
    size_t nhot_layers;   /* layers served from a directory */
    bool stopping;
    json_t *urls;         /* function URLs by url id (function_url.c) */
};

/* ==== names (function.c) ==== */

/* A function reference as a request gives it: a name, a partial ARN
 * (123456789012:function:name) or an ARN, each optionally with
 * ":qualifier", plus the separate Qualifier parameter. */
typedef struct lambda_ref {
    const char *region, *account, *name, *qualifier; /* arena strings; qualifier NULL when none */
} lambda_ref_t;

/* Parse FunctionName (+ Qualifier). On a malformed value sets AWS's error
 * and returns false. */
bool lambda__ref_parse(svc_call_t *c, const char *function_name, const char *qualifier, lambda_ref_t *out);
/* The ARN the call acts on: function, or function:qualifier. */
const char *lambda__ref_arn(svc_call_t *c, const lambda_ref_t *r);

lambda_fn_t *lambda__fn_lookup(lambda_state_t *st, const char *region, const char *name);
/* Look up with ResourceNotFoundException set when missing. */
lambda_fn_t *lambda__fn_get_or_fail(svc_call_t *c, const lambda_ref_t *r);
/* FunctionName (and Qualifier when with_qualifier) from the input, looked
 * up: NULL with the error set when malformed or missing. */
lambda_fn_t *lambda__fn_from_input(svc_call_t *c, bool with_qualifier, lambda_ref_t *r);
/* RevisionId given (may be NULL) against cfg's: PreconditionFailedException
 * and false when they differ. */
bool lambda__revision_check(svc_call_t *c, json_t *cfg, const char *given);
lambda_version_t *lambda__version_lookup(lambda_fn_t *fn, const char *version);
lambda_alias_t *lambda__alias_lookup(lambda_fn_t *fn, const char *name);
/* The version a qualifier names (alias: its primary version), or NULL with
 * ResourceNotFoundException. */
lambda_version_t *lambda__resolve_or_fail(svc_call_t *c, lambda_fn_t *fn, const char *qualifier);
void lambda__fn_free(lambda_fn_t *fn);
void lambda__version_free(lambda_version_t *v);
void lambda__alias_free(lambda_alias_t *a);

/* "2024-01-02T03:04:05.678+0000", as Lambda writes LastModified. */
void lambda__timestamp(char out[32]);
/* A new RevisionId (uuid). */
void lambda__revision(char out[37]);
const char *lambda__call_region(svc_call_t *c);
const char *lambda__call_account(svc_call_t *c);

/* The pool key of a version: environments of older generations are never
 * handed new invocations. */
char *lambda__pool_key(arena_t *a, const lambda_fn_t *fn, const lambda_version_t *v);
char *lambda__pool_prefix(arena_t *a, const lambda_fn_t *fn);
/* Tell the runtime a function's environments are stale. */
void lambda__retire(lambda_state_t *st, svc_call_t *c, const lambda_fn_t *fn);

/* ==== code (code.c) ==== */

typedef struct lambda_code {
    char sha_b64[48];     /* CodeSha256 as AWS reports it */
    char sha_hex[65];
    int64_t size;         /* CodeSize: the zip's bytes (a directory's: its files') */
    const char *hot_dir;  /* served from this directory (hot reload), else NULL */
} lambda_code_t;

/* Decode ZipFile (base64), check it, and store it content-addressed:
 * zips/<sha>.zip and code/<sha>/ extracted, both fsynced, on the thread
 * pool; check_only (DryRun) stores nothing. done runs on the loop with
 * ctx and 0, or with an error that it has already set on the call. A
 * missing handler file or bootstrap is not refused here: as on AWS, a layer
 * may supply it, and the invoke reports Runtime.ImportModuleError. */
typedef void (*lambda_code_done_fn)(svc_call_t *c, int status, const lambda_code_t *code, void *ctx);
int lambda__code_ingest(lambda_state_t *st, svc_call_t *c, const char *zip_b64, bool check_only,
                        lambda_code_done_fn done, void *ctx);
/* Paths of stored code. */
char *lambda__code_dir(arena_t *a, lambda_state_t *st, const char *sha_hex);
char *lambda__code_zip(arena_t *a, lambda_state_t *st, const char *sha_hex);
/* The merged /opt of a list of layer version ARNs, made on first use, or
 * NULL when there are none. */
const char *lambda__opt_dir(lambda_state_t *st, arena_t *a, json_t *layers);

/* ==== code served from a host directory (hotreload.c) ==== */

/* Is this S3Bucket the marker of code served from a directory ("hot-reload",
 * or the older "__local__")? */
bool lambda__hot_bucket(const char *bucket);
/* Check key (S3Key) names a directory kyoka may mount: absolute, there, a
 * directory, readable (by the sandbox user too), inside --hot-reload-roots
 * after symlinks are resolved. Returns its real path (arena) or NULL with
 * InvalidParameterValueException naming the path. what: "S3Key". */
const char *lambda__hot_path_or_fail(svc_call_t *c, const char *key, const char *what);
/* Digest and size of the tree under dir on the thread pool; done as with
 * lambda__code_ingest, code->hot_dir set. */
int lambda__hot_ingest(lambda_state_t *st, svc_call_t *c, const char *dir, lambda_code_done_fn done, void *ctx);
/* Watch every directory a version or layer is served from; stop watching
 * those nothing uses. Call after any change of functions or layers. */
void lambda__hot_sync(lambda_state_t *st);
/* Close every watch (stopping, freeing). */
void lambda__hot_stop(lambda_state_t *st);
/* Right before v runs: apply changes seen but not yet applied (the
 * debounce), or, over the watch limit, compare modification times. Returns
 * a notice for the function's log, or NULL. */
const char *lambda__hot_before_invoke(lambda_state_t *st, lambda_fn_t *fn, lambda_version_t *v);
/* The /opt of a function whose one layer is served from a directory, or NULL. */
const char *lambda__hot_opt_dir(lambda_state_t *st, json_t *layers);
/* A layer served from a directory must be the only one and must not
 * overlap the function's own directory (code_dir may be NULL). */
bool lambda__hot_layers_check(svc_call_t *c, const char *code_dir, json_t *layers);
/* {dir, watching, watches, entries} for `kyoka lambda ls` (new reference). */
json_t *lambda__hot_describe(lambda_state_t *st, const char *dir);
/* New generations for fn's versions (those served from dir; all when dir
 * is NULL), keeping equal generations equal, and their environments
 * retired. */
void lambda__bump_versions(lambda_state_t *st, lambda_fn_t *fn, const char *dir);
void lambda__retire_version(lambda_state_t *st, const lambda_fn_t *fn, const lambda_version_t *v);

/* A layer version by its ARN, or NULL (layer.c). */
lambda_layer_t *lambda__layer_by_arn(lambda_state_t *st, const char *arn);

/* Marker/MaxItems (at most 50) over n items: the page's start and size;
 * false with InvalidParameterValueException for a bad marker. */
bool lambda__page(svc_call_t *c, size_t n, size_t *start, size_t *max);

/* Publish $LATEST as the next version; returns its view (new ref). */
json_t *lambda__publish(lambda_fn_t *fn, lambda_version_t *latest, const char *description);

/* ==== configuration (config.c) ==== */

/* Check and apply the configuration members of CreateFunction or
 * UpdateFunctionConfiguration onto cfg. Sets AWS's error and returns false
 * on bad input (cfg may then be partly changed: callers work on a copy). */
bool lambda__config_apply(svc_call_t *c, json_t *cfg, bool creating);
/* The role must exist and trust lambda.amazonaws.com; the caller must be
 * allowed iam:PassRole on it. */
bool lambda__role_check(svc_call_t *c, const char *role_arn);
/* Build the run spec for a version (strings in the call's arena), with a
 * fresh session of the execution role. */
bool lambda__run_spec(lambda_state_t *st, svc_call_t *c, lambda_fn_t *fn, lambda_version_t *v,
                      lambda_run_spec_t *spec);
/* The FunctionConfiguration to return: config plus live fields. New ref. */
json_t *lambda__config_view(lambda_state_t *st, const lambda_fn_t *fn, const lambda_version_t *v);
int lambda__unreserved(lambda_state_t *st);

/* A current session of the execution role on fn (assumed or renewed as
 * lambda.amazonaws.com); false with AWS's error set on c. */
bool lambda__role_session(svc_call_t *c, lambda_fn_t *fn, const char *role);
/* May fn's execution role call action on resource (its identity policies
 * and the resource's policy)? Sets AWS's InvalidParameterValueException
 * "<subject> does not have permissions to call <api> on <what>" when not. */
bool lambda__role_may(svc_call_t *c, lambda_fn_t *fn, const char *role, const char *action, const char *api,
                      const char *resource, const char *what, const char *subject);

/* DeadLetterConfig.TargetArn of cfg (when set) is an SQS queue or SNS
 * topic that cfg's Role may write to. */
bool lambda__dlq_check(svc_call_t *c, json_t *cfg, const char *name, const char *region);

/* ==== asynchronous invocation (async.c) ==== */
int lambda__async_create(lambda_state_t *st, char *err, size_t errcap);
void lambda__async_start(lambda_state_t *st);
void lambda__async_stop(lambda_state_t *st);
void lambda__async_reset(lambda_state_t *st);
void lambda__async_free(lambda_state_t *st);
/* Queue an event (the row is written in the caller's batch, so the 202
 * waits for its commit). */
int lambda__async_enqueue(lambda_state_t *st, lambda_fn_t *fn, const char *qualifier, const char *request_id,
                          const void *payload, size_t len);
/* Deadlines may be due (the clock moved). */
void lambda__async_kick(lambda_state_t *st);
/* Run fn (qualifier: a version, an alias or NULL) with payload for kyoka
 * itself (the event queue, event source mappings): no authorization, the
 * run spec built with the execution role's session. Returns 0 (done runs
 * later, *executed names the version), KYOKA_ELIMIT (throttled: *refusal
 * is AWS's Reason), KYOKA_EINVAL (the version or role is unusable) or
 * KYOKA_EIO, with *refusal saying why. */
int lambda__invoke_internal(lambda_state_t *st, lambda_fn_t *fn, const char *qualifier, const char *request_id,
                            const void *payload, size_t len, lambda_invoke_cb done, void *data, const char **executed,
                            const char **refusal);
/* An alias's version for one invocation (weighted routing). */
lambda_version_t *lambda__route_alias(svc_call_t *c, lambda_fn_t *fn, lambda_alias_t *a);

/* ==== event source mappings (esm.c) ==== */

typedef enum {
    ESM_CREATING,
    ESM_ENABLING,
    ESM_ENABLED,
    ESM_UPDATING,
    ESM_DISABLING,
    ESM_DISABLED,
    ESM_DELETING
} esm_state_t;

struct lambda_esm {
    lambda_state_t *st;
    char uuid[37];
    char *region, *fn_name, *qualifier; /* the target */
    char *source_arn;
    json_t *config;          /* stored members: BatchSize, FilterCriteria, ... */
    bool enabled;            /* what the user asked */
    esm_state_t state;
    bool fifo;
    int visibility_s;
    char *last_result;       /* LastProcessingResult */
    struct pattern_set *filters; /* NULL: every message */
    struct pipes_sqs_poller *poller;     /* SQS */
    struct pipes_kinesis_poller *kpoller; /* Kinesis (esm_stream.c) */
    bool stream;
    struct esm_stream *sx;   /* stream state (esm_stream.c) */
    uv_timer_t *settle;
    bool deleted;
    lambda_esm_t *next;
};

/* Shared by esm.c and esm_stream.c. */
void lambda__esm_set_result(lambda_esm_t *m, const char *r);
const auth_cred_t *lambda__esm_cred(void *esm);
void lambda__esm_poller_stopped(void *esm);
struct pattern_set;
bool lambda__esm_compile_filters(svc_call_t *c, json_t *fc, struct pattern_set **out);
/* Streams (esm_stream.c): create-time checks (the stream exists, the role
 * may read it and write the OnFailure destination), the poller, and the
 * checkpoints' table. */
bool lambda__esm_stream_check(svc_call_t *c, lambda_fn_t *fn, const char *source, json_t *cfg);
void lambda__esm_stream_start(lambda_esm_t *m);
void lambda__esm_stream_update(lambda_esm_t *m);
void lambda__esm_stream_stop(lambda_esm_t *m);
void lambda__esm_stream_free(lambda_esm_t *m);
void lambda__esm_stream_forget(lambda_esm_t *m); /* checkpoint rows */
int lambda__esm_stream_migrate(lambda_state_t *st, char *err, size_t errcap);

int lambda__esm_create(lambda_state_t *st, char *err, size_t errcap);
void lambda__esm_start(lambda_state_t *st);
void lambda__esm_stop(lambda_state_t *st);
void lambda__esm_drop_all(lambda_state_t *st, bool rows);
json_t *lambda__esm_summary(lambda_state_t *st);

/* ==== policies (policy.c) ==== */
lambda_policy_t *lambda__policy_lookup(lambda_fn_t *fn, const char *qualifier);
void lambda__policy_free(lambda_policy_t *p);
bool lambda__policy_compile(lambda_policy_t *p);
/* Statements by Sid in a policy document {"Statement": [...]}: the index
 * or -1; _new_or_fail sets ResourceConflictException when the Sid is taken;
 * _or_fail sets ResourceNotFoundException when it is not there (doc may be
 * NULL). */
ssize_t lambda__statement_index(json_t *doc, const char *sid);
bool lambda__statement_new_or_fail(svc_call_t *c, json_t *doc, const char *sid);
ssize_t lambda__statement_or_fail(svc_call_t *c, json_t *doc, const char *sid);

/* ==== persistence (persist.c) ==== */
int lambda__store_migrate(lambda_state_t *st, char *err, size_t errcap);
int lambda__store_load(lambda_state_t *st, char *err, size_t errcap);
void lambda__fn_save(lambda_state_t *st, const lambda_fn_t *fn);
void lambda__fn_delete_row(lambda_state_t *st, const lambda_fn_t *fn);
void lambda__layer_save(lambda_state_t *st, const lambda_layer_t *l);
void lambda__layer_delete_row(lambda_state_t *st, const lambda_layer_t *l);
void lambda__store_wipe(lambda_state_t *st);
/* The highest version number a layer name has had (0 for a new name). */
int64_t lambda__layer_last(lambda_state_t *st, const char *region, const char *name);
void lambda__layer_set_last(lambda_state_t *st, const char *region, const char *name, int64_t last);

/* ==== handlers ==== */
int lambda_create_function(svc_call_t *c);
int lambda_get_function(svc_call_t *c);
int lambda_get_function_configuration(svc_call_t *c);
int lambda_list_functions(svc_call_t *c);
int lambda_update_function_code(svc_call_t *c);
int lambda_update_function_configuration(svc_call_t *c);
int lambda_delete_function(svc_call_t *c);
int lambda_invoke(svc_call_t *c);
int lambda_add_permission(svc_call_t *c);
int lambda_remove_permission(svc_call_t *c);
int lambda_get_policy(svc_call_t *c);
int lambda_publish_version(svc_call_t *c);
int lambda_list_versions_by_function(svc_call_t *c);
int lambda_create_alias(svc_call_t *c);
int lambda_get_alias(svc_call_t *c);
int lambda_update_alias(svc_call_t *c);
int lambda_delete_alias(svc_call_t *c);
int lambda_list_aliases(svc_call_t *c);
int lambda_put_function_concurrency(svc_call_t *c);
int lambda_get_function_concurrency(svc_call_t *c);
int lambda_delete_function_concurrency(svc_call_t *c);
int lambda_put_provisioned_concurrency_config(svc_call_t *c);
int lambda_get_provisioned_concurrency_config(svc_call_t *c);
int lambda_delete_provisioned_concurrency_config(svc_call_t *c);
int lambda_list_provisioned_concurrency_configs(svc_call_t *c);
int lambda_get_account_settings(svc_call_t *c);
int lambda_tag_resource(svc_call_t *c);
int lambda_untag_resource(svc_call_t *c);
int lambda_list_tags(svc_call_t *c);
int lambda_publish_layer_version(svc_call_t *c);
int lambda_get_layer_version(svc_call_t *c);
int lambda_get_layer_version_by_arn(svc_call_t *c);
int lambda_list_layers(svc_call_t *c);
int lambda_list_layer_versions(svc_call_t *c);
int lambda_delete_layer_version(svc_call_t *c);
int lambda_add_layer_version_permission(svc_call_t *c);
int lambda_remove_layer_version_permission(svc_call_t *c);
int lambda_get_layer_version_policy(svc_call_t *c);
int lambda_put_function_event_invoke_config(svc_call_t *c);
int lambda_update_function_event_invoke_config(svc_call_t *c);
int lambda_get_function_event_invoke_config(svc_call_t *c);
int lambda_delete_function_event_invoke_config(svc_call_t *c);
int lambda_list_function_event_invoke_configs(svc_call_t *c);
int lambda_create_event_source_mapping(svc_call_t *c);
int lambda_get_event_source_mapping(svc_call_t *c);
int lambda_list_event_source_mappings(svc_call_t *c);
int lambda_update_event_source_mapping(svc_call_t *c);
int lambda_delete_event_source_mapping(svc_call_t *c);

/* ==== function URLs (function_url.c) ==== */
int lambda_create_function_url_config(svc_call_t *c);
int lambda_get_function_url_config(svc_call_t *c);
int lambda_update_function_url_config(svc_call_t *c);
int lambda_delete_function_url_config(svc_call_t *c);
int lambda_list_function_url_configs(svc_call_t *c);
int lambda__url_init(lambda_state_t *st, char *err, size_t errcap);
void lambda__url_free(lambda_state_t *st);
void lambda__url_reset(lambda_state_t *st);
bool lambda__url_claim(void *state, const http_request_t *req);
int lambda__url_serve(svc_call_t *c);

#endif
