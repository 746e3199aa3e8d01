/*
 * Event notifications
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventNotifications.html):
 * the configuration (Put/GetBucketNotificationConfiguration) and the
 * deliveries it asks for.
 *
 * A configuration is checked as S3 checks it before it is saved: known
 * event types, prefix/suffix filter rules, no two configurations sharing an
 * event type whose filters overlap (notification-how-to-filtering.html), and
 * unless x-amz-skip-destination-validation says otherwise, that S3 may write
 * to every destination: ctx->decide as s3.amazonaws.com with aws:SourceArn
 * the bucket and aws:SourceAccount the owner, against the function's
 * resource policy (lambda:InvokeFunction) or the queue's policy
 * (sqs:SendMessage). A refusal names each destination in ArgumentNameN /
 * ArgumentValueN, as S3's InvalidArgument does. Queues then get the
 * s3:TestEvent.
 *
 * Deliveries never come before the change that caused them is durable:
 * s3__notify builds the records during the handler and hands them to
 * store_when_durable; a failed commit (the client got a 500) drops them.
 * Then each goes through pipes as the service principal: an asynchronous
 * Invoke (the function's resource policy decides again, as on AWS, and a
 * denial lands in the decision log), a SendMessage (the queue policy
 * decides), or, with EventBridgeConfiguration, PutEvents of AWS's "Object
 * Created" / "Object Deleted" events on the default bus (ev-events.html).
 */
#include "internal.h"

#include "pipes/pipes.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/banned.h"

#define S3_PRINCIPAL "s3.amazonaws.com"
#define S3_MAX_NOTIFICATION_ID 255

/* ==== resource internals ==== */

/* The event types S3 publishes, as a configuration names them
 * (notification-how-to-event-types-and-destinations.html). */
static const char *const known_events[] = {
    "s3:ReducedRedundancyLostObject",
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationNotTracked",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectAcl:Put",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
};

/* The three kinds of destination configuration, by their members. */
static const struct {
    const char *list, *arn;
    pipes_dest_kind_t kind;
} kinds[] = {
    {"TopicConfigurations", "TopicArn", PIPES_DEST_SNS},
    {"QueueConfigurations", "QueueArn", PIPES_DEST_SQS},
    {"LambdaFunctionConfigurations", "LambdaFunctionArn", PIPES_DEST_LAMBDA},
};

/* One configuration, read from the stored (or given) tree. */
typedef struct conf {
    json_t *j; /* borrowed */
    const char *id, *arn;
    pipes_dest_kind_t kind;
    json_t *events;              /* array of strings */
    const char *prefix, *suffix; /* "" when absent */
    bool filtered;
} conf_t;

static void conf_read(json_t *j, pipes_dest_kind_t kind, const char *arn_member, conf_t *cf)
{
    memset(cf, 0, sizeof *cf);
    cf->j = j;
    cf->kind = kind;
    cf->id = json_string_value(json_object_get(j, "Id"));
    cf->arn = json_string_value(json_object_get(j, arn_member));
    cf->events = json_object_get(j, "Events");
    cf->prefix = cf->suffix = "";
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(json_object_get(json_object_get(j, "Filter"), "Key"), "FilterRules"), i, r)
    {
        const char *n = json_string_value(json_object_get(r, "Name"));
        const char *v = json_string_value(json_object_get(r, "Value"));
        if (!n || !v)
            continue;
        cf->filtered = true;
        if (strcasecmp(n, "prefix") == 0)
            cf->prefix = v;
        else if (strcasecmp(n, "suffix") == 0)
            cf->suffix = v;
    }
}

/* Whether the configured event type (with "s3:", maybe a wildcard)
 * covers the event name (without "s3:"). */
static bool event_covers(const char *pattern, const char *name)
{
    if (strncmp(pattern, "s3:", 3) != 0)
        return false;
    pattern += 3;
    size_t n = strlen(pattern);
    if (n && pattern[n - 1] == '*')
        return strncmp(pattern, name, n - 1) == 0;
    return strcmp(pattern, name) == 0;
}

/* Two configured event types share events when equal or when one is a
 * wildcard covering the other. */
static bool events_overlap(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    if (strcmp(a, b) == 0)
        return true;
    if (na && a[na - 1] == '*' && strncmp(a, b, na - 1) == 0)
        return true;
    return nb && b[nb - 1] == '*' && strncmp(a, b, nb - 1) == 0;
}

static bool starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }
static bool ends(const char *s, const char *x)
{
    size_t n = strlen(s), k = strlen(x);
    return k <= n && strcmp(s + n - k, x) == 0;
}

/* notification-how-to-filtering.html: configurations conflict when they
 * share an event type and a key could match both filters, that is when
 * one prefix starts the other and one suffix ends the other (an absent
 * rule matches every key). */
static bool confs_overlap(const conf_t *a, const conf_t *b)
{
    bool shared = false;
    size_t i, k;
    json_t *x, *y;
    json_array_foreach(a->events, i, x) json_array_foreach(b->events, k, y) shared |=
        events_overlap(json_string_value(x), json_string_value(y));
    if (!shared)
        return false;
    bool prefixes = starts(a->prefix, b->prefix) || starts(b->prefix, a->prefix);
    bool suffixes = ends(a->suffix, b->suffix) || ends(b->suffix, a->suffix);
    return prefixes && suffixes;
}

/* Key names in event records are URL-encoded as a form value, '/' kept
 * (notification-content-structure.html: "The s3 key provides information
 * about the bucket and object involved in the event. The object key name
 * value is URL encoded."). */
static char *key_encode(arena_t *a, const char *k)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(k);
    char *o = arena_alloc(a, 3 * n + 1), *q = o;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)k[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-_.*/", ch)) {
            *q++ = (char)ch;
        } else if (ch == ' ') {
            *q++ = '+';
        } else {
            *q++ = '%';
            *q++ = hex[ch >> 4];
            *q++ = hex[ch & 15];
        }
    }
    *q = '\0';
    return o;
}

/* ---- deliveries, released once durable ---- */

typedef struct delivery {
    struct delivery *next;
    pipes_dest_kind_t kind; /* SQS, LAMBDA or EVENTS */
    char *arn;
    char *doc;
} delivery_t;

typedef struct notify_job {
    kyoka_ctx_t *ctx;
    char *source_arn; /* the bucket's ARN: aws:SourceArn */
    char *region;
    delivery_t *head, **tail;
} notify_job_t;

static notify_job_t *job_create(kyoka_ctx_t *ctx, const char *bucket, const char *region)
{
    notify_job_t *j = xcalloc(1, sizeof *j);
    j->ctx = ctx;
    j->source_arn = xasprintf("arn:aws:s3:::%s", bucket);
    j->region = xstrdup(region ? region : ctx->region);
    j->tail = &j->head;
    return j;
}

static void job_add(notify_job_t *j, pipes_dest_kind_t kind, const char *arn, json_t *doc)
{
    delivery_t *d = xcalloc(1, sizeof *d);
    d->kind = kind;
    d->arn = xstrdup(arn);
    d->doc = proto_json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    *j->tail = d;
    j->tail = &d->next;
}

static void job_free(notify_job_t *j)
{
    while (j->head) {
        delivery_t *d = j->head;
        j->head = d->next;
        free(d->arn);
        free(d->doc);
        free(d);
    }
    free(j->source_arn);
    free(j->region);
    free(j);
}

static void on_delivered(void *data, const svc_call_t *c)
{
    (void)data;
    if (c->error.code)
        log_warn("s3: a notification to %s failed: %s: %s (decision %s)",
                 c->resource_arn ? c->resource_arn : "its destination", c->error.code, aws_error_text(&c->error),
                 c->decision_id ? c->decision_id : "-");
}

static void on_job_durable(void *data, int status)
{
    notify_job_t *j = data;
    kyoka_ctx_t *ctx = j->ctx;
    if (status != 0) {
        /* The change was not acknowledged: nothing happened to notify of. */
        job_free(j);
        return;
    }
    svc_caller_t who = {
        .service_principal = S3_PRINCIPAL,
        .source_arn = j->source_arn,
        .source_account = ctx->account_id,
        .region = j->region,
    };
    for (delivery_t *d = j->head; d; d = d->next) {
        size_t len = strlen(d->doc);
        if (d->kind == PIPES_DEST_LAMBDA) {
            pipes_lambda_invoke(ctx, &who, d->arn, d->doc, len, true, on_delivered, NULL);
        } else if (d->kind == PIPES_DEST_SQS) {
            pipes_sqs_send(ctx, &who, d->arn, d->doc, len, NULL, on_delivered, NULL);
        } else if (d->kind == PIPES_DEST_EVENTS) {
            json_t *in = json_loads(d->doc, 0, NULL);
            if (in)
                ctx->call(ctx, &who, "events", "PutEvents", in, on_delivered, NULL);
        }
    }
    job_free(j);
}

static void job_release(s3_state_t *st, notify_job_t *j)
{
    if (!j->head) {
        job_free(j);
        return;
    }
    store_when_durable(st->store, on_job_durable, j);
}

/* ---- records ---- */

static void iso_now(char out[64]) { kyoka_time_iso8601(kyoka_clock_now_ms(), out, true); }

static const char *principal_id(svc_call_t *c, arena_t *a)
{
    if (!c || !c->cred)
        return S3_PRINCIPAL;
    if (c->principal.is_root || !c->cred->user_id)
        return c->cred->account_id ? c->cred->account_id : c->ctx->account_id;
    return arena_sprintf(a, "AWS:%s", c->cred->user_id);
}

static json_t *record_for(s3_state_t *st, svc_call_t *c, arena_t *a, const s3_bucket_t *b, const char *event,
                          const char *config_id, const s3_object_t *o)
{
    char ts[64], seq[32], id2[64];
    iso_now(ts);
    snprintf(seq, sizeof seq, "%016llX", (unsigned long long)o->seq);
    unsigned char raw[33];
    kyoka_random(raw, sizeof raw);
    s3_b64(raw, sizeof raw, id2);
    json_t *obj = json_pack("{s:s}", "key", key_encode(a, o->key));
    if (strncmp(event, "ObjectCreated:", 14) == 0) {
        json_object_set_new(obj, "size", json_integer((json_int_t)o->size));
        /* The eTag is the ETag without its quotes. */
        const char *e = o->etag ? o->etag : "";
        size_t el = strlen(e);
        json_object_set_new(obj, "eTag", el >= 2 && e[0] == '"' ? json_stringn(e + 1, el - 2) : json_string(e));
    }
    if (b->versioning && o->version_id)
        json_object_set_new(obj, "versionId", json_string(o->version_id));
    else if (b->versioning)
        json_object_set_new(obj, "versionId", json_string("null"));
    json_object_set_new(obj, "sequencer", json_string(seq));
    const char *ip = c && c->req && c->req->remote_addr[0] ? c->req->remote_addr : "127.0.0.1";
    json_t *rec = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:{s:s},s:{s:s},s:{s:s,s:s},s:{s:s,s:s,s:{s:s,s:{s:s},s:s},s:o}}", "eventVersion", "2.1",
        "eventSource", "aws:s3", "awsRegion", b->region, "eventTime", ts, "eventName", event, "userIdentity",
        "principalId", principal_id(c, a), "requestParameters", "sourceIPAddress", ip, "responseElements",
        "x-amz-request-id", c ? c->request_id : "lifecycle", "x-amz-id-2", id2, "s3", "s3SchemaVersion", "1.0",
        "configurationId", config_id ? config_id : "", "bucket", "name", b->name, "ownerIdentity", "principalId",
        st->ctx->account_id, "arn", arena_sprintf(a, "arn:aws:s3:::%s", b->name), "object", obj);
    return json_pack("{s:[o]}", "Records", rec);
}

/* AWS's EventBridge shapes (ev-events.html): "Object Created",
 * "Object Deleted", "Object Tags Added", "Object Tags Deleted". */
static json_t *eventbridge_entry(svc_call_t *c, arena_t *a, const s3_bucket_t *b, const char *event,
                                 const s3_object_t *o)
{
    const char *dtype = NULL, *reason = NULL;
    if (strncmp(event, "ObjectCreated:", 14) == 0) {
        dtype = "Object Created";
        const char *how = event + 14;
        reason = strcmp(how, "Put") == 0    ? "PutObject"
                 : strcmp(how, "Copy") == 0 ? "CopyObject"
                 : strcmp(how, "Post") == 0 ? "POST Object"
                                            : "CompleteMultipartUpload";
    } else if (strncmp(event, "ObjectRemoved:", 14) == 0 || strncmp(event, "LifecycleExpiration:", 20) == 0) {
        dtype = "Object Deleted";
        reason = strncmp(event, "Lifecycle", 9) == 0 ? "Lifecycle Expiration" : "DeleteObject";
    } else if (strcmp(event, "ObjectTagging:Put") == 0) {
        dtype = "Object Tags Added";
    } else if (strcmp(event, "ObjectTagging:Delete") == 0) {
        dtype = "Object Tags Deleted";
    } else {
        return NULL;
    }
    char seq[32];
    snprintf(seq, sizeof seq, "%016llX", (unsigned long long)o->seq);
    json_t *obj = json_pack("{s:s}", "key", o->key);
    if (strcmp(dtype, "Object Created") == 0) {
        json_object_set_new(obj, "size", json_integer((json_int_t)o->size));
        const char *e = o->etag ? o->etag : "";
        size_t el = strlen(e);
        json_object_set_new(obj, "etag", el >= 2 && e[0] == '"' ? json_stringn(e + 1, el - 2) : json_string(e));
    }
    if (o->version_id)
        json_object_set_new(obj, "version-id", json_string(o->version_id));
    json_object_set_new(obj, "sequencer", json_string(seq));
    json_t *detail =
        json_pack("{s:s,s:{s:s},s:o,s:s,s:s,s:s}", "version", "0", "bucket", "name", b->name, "object", obj,
                  "request-id", c ? c->request_id : "lifecycle", "requester",
                  c && c->cred && c->cred->account_id ? c->cred->account_id : S3_PRINCIPAL, "source-ip-address",
                  c && c->req && c->req->remote_addr[0] ? c->req->remote_addr : "127.0.0.1");
    if (reason)
        json_object_set_new(detail, "reason", json_string(reason));
    if (strcmp(dtype, "Object Deleted") == 0)
        json_object_set_new(
            detail, "deletion-type",
            json_string(strstr(event, "DeleteMarkerCreated") ? "Delete Marker Created" : "Permanently Deleted"));
    char *text = proto_json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(detail);
    json_t *entry = json_pack("{s:s,s:s,s:s,s:[s],s:s}", "Source", "aws.s3", "DetailType", dtype, "Detail", text,
                              "Resources", arena_sprintf(a, "arn:aws:s3:::%s", b->name), "EventBusName", "default");
    free(text);
    return json_pack("{s:[o]}", "Entries", entry);
}

void s3__notify(s3_state_t *st, svc_call_t *c, const s3_bucket_t *b, const char *event, const s3_object_t *o)
{
    if (!b->notification)
        return;
    json_t *nc = json_loads(b->notification, 0, NULL);
    if (!nc)
        return;
    arena_t a;
    arena_init(&a);
    notify_job_t *j = job_create(st->ctx, b->name, b->region);
    for (size_t k = 0; k < KYOKA_ARRAY_LEN(kinds); k++) {
        if (kinds[k].kind == PIPES_DEST_SNS)
            continue; /* kyoka serves no SNS; such configurations were refused */
        size_t i;
        json_t *cj;
        json_array_foreach(json_object_get(nc, kinds[k].list), i, cj)
        {
            conf_t cf;
            conf_read(cj, kinds[k].kind, kinds[k].arn, &cf);
            bool covered = false;
            size_t e;
            json_t *ev;
            json_array_foreach(cf.events, e, ev) covered |= event_covers(json_string_value(ev), event);
            if (!covered || !cf.arn || !starts(o->key, cf.prefix) || !ends(o->key, cf.suffix))
                continue;
            json_t *doc = record_for(st, c, &a, b, event, cf.id, o);
            job_add(j, cf.kind, cf.arn, doc);
            json_decref(doc);
        }
    }
    if (json_object_get(nc, "EventBridgeConfiguration")) {
        if (st->ctx->service_state && st->ctx->service_state(st->ctx, "events")) {
            json_t *in = eventbridge_entry(c, &a, b, event, o);
            if (in) {
                job_add(j, PIPES_DEST_EVENTS, "default", in);
                json_decref(in);
            }
        } else {
            log_info("s3: bucket %s sends its events to EventBridge, which this kyoka does not serve: %s of %s "
                     "skipped",
                     b->name, event, o->key);
        }
    }
    json_decref(nc);
    arena_destroy(&a);
    job_release(st, j);
}

/* ==== operation handlers ==== */

static bool known_event(const char *e)
{
    for (size_t i = 0; e && i < KYOKA_ARRAY_LEN(known_events); i++)
        if (strcmp(known_events[i], e) == 0)
            return true;
    return false;
}

/* Check one configuration and give it a normalized copy in out (Id
 * generated when absent, rule names as S3 returns them). */
static bool conf_check(svc_call_t *c, json_t *j, size_t kind, json_t *out)
{
    const char *arn = json_string_value(json_object_get(j, kinds[kind].arn));
    const char *id = json_string_value(json_object_get(j, "Id"));
    json_t *events = json_object_get(j, "Events");
    if (id && strlen(id) > S3_MAX_NOTIFICATION_ID) {
        svc_error(c, "InvalidArgument", 400, "ID length exceeded allowed limit of %d", S3_MAX_NOTIFICATION_ID);
        return false;
    }
    pipes_dest_t d;
    if (!arn || pipes_dest_parse(arn, &d) != kinds[kind].kind) {
        svc_error(c, "InvalidArgument", 400, "The ARN is not well formed");
        return false;
    }
    if (json_array_size(events) == 0) {
        svc_error(c, "InvalidArgument", 400, "A notification configuration must name at least one event");
        return false;
    }
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) if (!known_event(json_string_value(e)))
    {
        svc_error(c, "InvalidArgument", 400, "The event is not supported for notifications");
        return false;
    }
    json_t *n = json_pack("{s:s,s:s,s:O}", "Id", "", kinds[kind].arn, arn, "Events", events);
    if (id && *id) {
        json_object_set_new(n, "Id", json_string(id));
    } else {
        /* S3 names an unnamed configuration itself. */
        char uid[37];
        kyoka_uuid(uid);
        json_object_set_new(n, "Id", json_string(uid));
    }
    json_t *rules = json_object_get(json_object_get(json_object_get(j, "Filter"), "Key"), "FilterRules");
    if (json_array_size(rules)) {
        json_t *nr = json_array();
        bool prefix = false, suffix = false;
        json_t *r;
        json_array_foreach(rules, i, r)
        {
            const char *name = json_string_value(json_object_get(r, "Name"));
            const char *value = json_string_value(json_object_get(r, "Value"));
            bool is_prefix = name && strcasecmp(name, "prefix") == 0;
            bool is_suffix = name && strcasecmp(name, "suffix") == 0;
            if (!is_prefix && !is_suffix) {
                svc_error(c, "InvalidArgument", 400, "filter rule name must be either prefix or suffix");
                goto fail;
            }
            if ((is_prefix && prefix) || (is_suffix && suffix)) {
                svc_error(c, "InvalidArgument", 400, "Cannot specify more than one %s rule in a filter.",
                          is_prefix ? "prefix" : "suffix");
                goto fail;
            }
            if (value && strlen(value) > S3_MAX_KEY_BYTES) {
                svc_error(c, "InvalidArgument", 400, "The filter rule value is too long");
                goto fail;
            }
            prefix |= is_prefix;
            suffix |= is_suffix;
            json_array_append_new(
                nr, json_pack("{s:s,s:s}", "Name", is_prefix ? "Prefix" : "Suffix", "Value", value ? value : ""));
            continue;
        fail:
            json_decref(nr);
            json_decref(n);
            return false;
        }
        json_object_set_new(n, "Filter", json_pack("{s:{s:o}}", "Key", "FilterRules", nr));
    }
    json_t *list = json_object_get(out, kinds[kind].list);
    if (!list) {
        list = json_array();
        json_object_set_new(out, kinds[kind].list, list);
    }
    json_array_append_new(list, n);
    return true;
}

/* Queues get the test message once the configuration is saved. */
static void send_test_events(s3_state_t *st, svc_call_t *c, const char *bucket, const char *region, json_t *nc)
{
    notify_job_t *j = job_create(st->ctx, bucket, region);
    char ts[64], id2[64];
    iso_now(ts);
    unsigned char raw[33];
    kyoka_random(raw, sizeof raw);
    s3_b64(raw, sizeof raw, id2);
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(nc, "QueueConfigurations"), i, q)
    {
        json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Service", "Amazon S3", "Event", "s3:TestEvent", "Time",
                                ts, "Bucket", bucket, "RequestId", c->request_id, "HostId", id2);
        job_add(j, PIPES_DEST_SQS, json_string_value(json_object_get(q, "QueueArn")), doc);
        json_decref(doc);
    }
    job_release(st, j);
}

int s3_put_bucket_notification_configuration(svc_call_t *c)
{
    s3_state_t *st = c->state;
    const char *name = svc_in_str(c, "Bucket");
    s3_bucket_t *b = s3__bucket_get_or_fail(c, name);
    if (!b)
        return 0;
    json_t *nc = svc_in(c, "NotificationConfiguration");
    json_t *out = json_object();
    conf_t confs[64];
    size_t n = 0;
    for (size_t k = 0; k < KYOKA_ARRAY_LEN(kinds); k++) {
        size_t i;
        json_t *cj;
        json_array_foreach(json_object_get(nc, kinds[k].list), i, cj)
        {
            if (!conf_check(c, cj, k, out))
                goto done;
        }
    }
    /* Every configuration against every other one. */
    for (size_t k = 0; k < KYOKA_ARRAY_LEN(kinds); k++) {
        size_t i;
        json_t *cj;
        json_array_foreach(json_object_get(out, kinds[k].list), i, cj)
        {
            if (n == KYOKA_ARRAY_LEN(confs)) {
                svc_error(c, "InvalidArgument", 400, "Too many notification configurations");
                goto done;
            }
            conf_read(cj, kinds[k].kind, kinds[k].arn, &confs[n++]);
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++) {
            if (!confs_overlap(&confs[i], &confs[k]))
                continue;
            if (!confs[i].filtered && !confs[k].filtered)
                svc_error(
                    c, "InvalidArgument", 400,
                    "Configurations overlap. Configurations on the same bucket cannot share a common event type.");
            else
                svc_error(c, "InvalidArgument", 400,
                          "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the "
                          "prefixes are overlapping for the same event type.");
            goto done;
        }
    /* May S3 write to each destination? */
    const char *skip = svc_in_str(c, "SkipDestinationValidation");
    json_t *skipj = svc_in(c, "SkipDestinationValidation");
    bool skipping = json_is_true(skipj) || (skip && strcasecmp(skip, "true") == 0);
    if (!skipping) {
        const char *bucket_arn = arena_sprintf(c->arena, "arn:aws:s3:::%s", name);
        svc_caller_t who = {
            .service_principal = S3_PRINCIPAL,
            .source_arn = bucket_arn,
            .source_account = c->ctx->account_id,
            .region = b->region,
        };
        json_t *details = json_object();
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            const char *why = NULL;
            pipes_dest_t d;
            pipes_dest_parse(confs[i].arn, &d);
            const char *decision = NULL;
            if (confs[i].kind == PIPES_DEST_SNS || !pipes_dest_served(c->ctx, &d)) {
                why = confs[i].kind == PIPES_DEST_SNS ? "The destination topic does not exist"
                      : confs[i].kind == PIPES_DEST_SQS
                          ? "The destination queue does not exist"
                          : arena_sprintf(c->arena, "Not authorized to invoke function [%s]", confs[i].arn);
            } else if (c->ctx->decide(c->ctx, &who, d.service, d.action, confs[i].arn, &decision) != IAM_ALLOW) {
                why = confs[i].kind == PIPES_DEST_SQS
                          ? "Permissions on the destination queue do not allow S3 to publish notifications from this "
                            "bucket"
                          : arena_sprintf(c->arena, "Not authorized to invoke function [%s]", confs[i].arn);
                log_info("s3: %s may not write to %s for %s (decision %s)", S3_PRINCIPAL, confs[i].arn, bucket_arn,
                         decision ? decision : "-");
                if (decision && !c->decision_id)
                    c->decision_id = arena_strdup(c->arena, decision);
            }
            if (!why)
                continue;
            bad++;
            char an[32], av[32];
            snprintf(an, sizeof an, "ArgumentName%d", bad);
            snprintf(av, sizeof av, "ArgumentValue%d", bad);
            json_object_set_new(details, an, json_string(confs[i].arn));
            json_object_set_new(details, av, json_string(why));
        }
        if (bad) {
            svc_error(c, "InvalidArgument", 400, "Unable to validate the following destination configurations");
            /* The error's extra elements travel as the output (rendered by
             * the REST-XML error encoder). */
            json_decref(c->output);
            c->output = details;
            goto done;
        }
        json_decref(details);
    }
    bool empty = json_object_size(out) == 0 && !json_object_get(nc, "EventBridgeConfiguration");
    if (json_object_get(nc, "EventBridgeConfiguration"))
        json_object_set_new(out, "EventBridgeConfiguration", json_object());
    char *text = empty ? NULL : proto_json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    s3__bucket_set(st, name, "UPDATE s3_buckets SET notification = ? WHERE name = ?", text);
    free(text);
    if (!skipping)
        send_test_events(st, c, name, b->region, out);
    svc_output(c);
done:
    json_decref(out);
    return 0;
}

int s3_get_bucket_notification_configuration(svc_call_t *c)
{
    s3_bucket_t *b = s3__bucket_get_or_fail(c, svc_in_str(c, "Bucket"));
    if (!b)
        return 0;
    json_t *nc = b->notification ? json_loads(b->notification, 0, NULL) : NULL;
    json_decref(c->output);
    c->output = nc ? nc : json_object();
    return 0;
}
