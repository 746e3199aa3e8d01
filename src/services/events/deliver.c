/*
 * Delivering to targets, dead-letter queues, scheduled rules.
 *
 * Every delivery is a real call of the target's service through ctx->call
 * (src/pipes), so the target's own policy decides, as on AWS
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html):
 *   Lambda function  Invoke (InvocationType Event) as events.amazonaws.com
 *                    with aws:SourceArn = the rule and aws:SourceAccount:
 *                    the function's resource policy decides; Lambda's own
 *                    asynchronous retries and destinations then apply.
 *   SQS queue        SendMessage as events.amazonaws.com with the same
 *                    keys: the queue policy decides. A FIFO queue gets
 *                    SqsParameters.MessageGroupId, and the row id as
 *                    MessageDeduplicationId so a redelivery after a restart
 *                    is deduplicated.
 *   event bus        with RoleArn: the role is assumed as
 *                    events.amazonaws.com (its trust policy must allow it)
 *                    and PutEvents is called with its session, so the
 *                    role's policy and the bus policy decide; without
 *                    RoleArn, a bus of the same account receives the event
 *                    as is (the rule's owner owns both), another account's
 *                    through PutEvents as events.amazonaws.com (its bus
 *                    policy decides).
 *   Kinesis stream   the target's RoleArn is assumed as events.amazonaws.com
 *                    and PutRecord is called with its session (the role
 *                    must allow kinesis:PutRecord); the partition key is the
 *                    value at KinesisParameters.PartitionKeyPath in the
 *                    event, else the event's id (eb KinesisParameters).
 *   log group        CloudWatch Logs in kyoka has no resource policies
 *                    (PutResourcePolicy is not served), so the event is
 *                    appended directly (services/logs/logs.h), to a stream
 *                    named after the rule, when the group exists.
 * A denied call, or a target that does not exist, is not retried: "for
 * errors that result from missing permissions to a target, or a target
 * resource that no longer exists ... EventBridge sends these events
 * directly to the DLQ" (eb-rule-dlq). Throttling and internal errors are
 * retried by the queue's RetryPolicy. The DLQ message is written as
 * events.amazonaws.com with aws:SourceArn = the rule (the DLQ's queue
 * policy must allow it), with the attributes RULE_ARN, TARGET_ARN,
 * ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS and, when retries ran out,
 * EXHAUSTED_RETRY_CONDITION.
 */
#include "events.h"
#include "internal.h"

#include "pipes/pipes.h"
#include "services/iam/iam_svc.h"
#include "services/logs/logs.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== role sessions of a service principal ==== */

#define ROLE_SESSION_S 3600
#define ROLE_RENEW_MS (15 * 60 * 1000)

typedef struct role_entry {
    char *arn;
    char *akid;
    int64_t expires_ms;
    struct role_entry *next;
} role_entry_t;

struct events_roles {
    char *principal;
    role_entry_t *head;
};

events_roles_t *events_roles_new(const char *service_principal)
{
    events_roles_t *r = xcalloc(1, sizeof *r);
    r->principal = xstrdup(service_principal);
    return r;
}

void events_roles_clear(events_roles_t *r)
{
    while (r && r->head) {
        role_entry_t *e = r->head;
        r->head = e->next;
        free(e->arn);
        free(e->akid);
        free(e);
    }
}

void events_roles_free(events_roles_t *r)
{
    if (!r)
        return;
    events_roles_clear(r);
    free(r->principal);
    free(r);
}

const auth_cred_t *events_roles_cred(events_roles_t *r, kyoka_ctx_t *ctx, const char *role_arn, const char *region,
                                     const char **decision_id, const char **why)
{
    *decision_id = NULL;
    *why = NULL;
    int64_t now = kyoka_clock_now_ms();
    role_entry_t *e = r->head;
    while (e && strcmp(e->arn, role_arn) != 0)
        e = e->next;
    if (e && e->expires_ms - now > ROLE_RENEW_MS) {
        const auth_cred_t *cred = auth_store_lookup(ctx->creds, strv_from(e->akid));
        if (cred)
            return cred;
    }
    /* The trust policy must let the service principal assume the role, as
     * STS would decide AssumeRole for it. */
    iam_svc_role_t role;
    if (!iam_svc_role_lookup(ctx->iam_state, role_arn, &role) || !role.trust) {
        *why = "the role does not exist";
        return NULL;
    }
    iam_principal_t svc = {.arn = r->principal, .service = r->principal, .type = "AWS", .account = ctx->account_id};
    arena_t a;
    arena_init(&a);
    iam_named_policy_t trust = {arena_sprintf(&a, "trust:%s", role_arn), role.trust};
    iam_policy_set_t set = {.resource = &trust};
    iam_request_t req = {.action = "sts:AssumeRole", .resource = role_arn, .resource_account = ctx->account_id,
                         .principal = &svc, .region = region, .now_ms = now};
    iam_explain_t ex;
    bool trusted = iam_evaluate(&req, &set, &ex) == IAM_ALLOW;
    *decision_id = iam_decision_log_add(&req, &ex);
    if (!trusted) {
        arena_destroy(&a);
        *why = "the role's trust policy does not allow the service to assume it";
        return NULL;
    }
    svc_call_t c = {.ctx = ctx, .arena = &a, .region = region, .internal = true};
    iam_svc_session_req_t sreq = {
        .kind = IAM_SVC_SESSION_ROLE,
        .role_arn = role_arn,
        .session_name = r->principal,
        .duration_s = ROLE_SESSION_S,
    };
    iam_svc_session_out_t out;
    int rc = iam_svc_session_create(ctx->iam_state, &c, &sreq, &out);
    arena_destroy(&a);
    if (rc != 0) {
        *why = "the role could not be assumed";
        return NULL;
    }
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->arn = xstrdup(role_arn);
        e->next = r->head;
        r->head = e;
    }
    free(e->akid);
    e->akid = xstrdup(out.access_key_id);
    e->expires_ms = out.expires_ms;
    return auth_store_lookup(ctx->creds, strv_from(e->akid));
}

/* ==== sending ==== */

static events_roles_t *roles_of(events_state_t *st);

static const char *target_arn(const evq_item_t *it)
{
    return json_string_value(json_object_get(it->target_j, "Arn"));
}

/* The account of an ARN (arena). */
static const char *arn_account(arena_t *a, const char *arn)
{
    iam_arn_t p;
    if (!arn || iam_arn_parse(strv_from(arn), &p) != 0)
        return "";
    return arena_strndup(a, p.account.p, p.account.len);
}

/* What an answer means for the queue. */
static evq_outcome_t classify(const aws_error_t *e, const char **code)
{
    const char *c = e->code;
    if (strcmp(c, "AccessDenied") == 0 || strcmp(c, "AccessDeniedException") == 0) {
        *code = "NO_PERMISSIONS";
        return EVQ_FAIL;
    }
    if (strstr(c, "NotFound") || strstr(c, "NonExistent") || strcmp(c, "QueueDoesNotExist") == 0 ||
        strcmp(c, "NotImplemented") == 0) {
        *code = "NO_RESOURCE";
        return EVQ_FAIL;
    }
    if (e->status == 429 || strstr(c, "Throttl") || strstr(c, "TooManyRequests")) {
        *code = "THROTTLING";
        return EVQ_RETRY;
    }
    if (e->status >= 500) {
        *code = "INTERNAL_ERROR";
        return EVQ_RETRY;
    }
    *code = "INVALID_PARAMETER";
    return EVQ_FAIL;
}

static void on_sent(void *data, const svc_call_t *c)
{
    evq_item_t *it = data;
    if (!c->error.code) {
        evq_done(it, EVQ_OK, NULL, NULL);
        return;
    }
    const char *code;
    evq_outcome_t o = classify(&c->error, &code);
    log_info("events: %s could not deliver to %s: %s: %s (decision %s)", it->owner, target_arn(it), c->error.code,
             aws_error_text(&c->error), c->decision_id ? c->decision_id : "-");
    char msg[1100];
    snprintf(msg, sizeof msg, "%s: %s", c->error.code, aws_error_text(&c->error));
    evq_done(it, o, code, msg);
}

/* A FIFO queue's SendMessage, which pipes_sqs_send has no members for. */
static void send_fifo(events_state_t *st, const svc_caller_t *who, evq_item_t *it, const char *arn)
{
    pipes_dest_t d;
    pipes_dest_parse(arn, &d);
    const char *name = strrchr(arn, ':');
    char url[512], dedup[32];
    snprintf(url, sizeof url, "%s/%s/%s", st->ctx->endpoint, d.account, name ? name + 1 : "");
    snprintf(dedup, sizeof dedup, "evq-%lld", (long long)it->id);
    const char *group =
        json_string_value(json_object_get(json_object_get(it->target_j, "SqsParameters"), "MessageGroupId"));
    json_t *in = json_pack("{s:s,s:s%,s:s}", "QueueUrl", url, "MessageBody", it->payload, it->len,
                           "MessageDeduplicationId", dedup);
    if (group)
        json_object_set_new(in, "MessageGroupId", json_string(group));
    svc_caller_t at = *who;
    at.region = d.region[0] ? d.region : who->region;
    st->ctx->call(st->ctx, &at, "sqs", "SendMessage", in, on_sent, it);
}

/* Another event bus: see the file comment. */
static void send_bus(events_state_t *st, const svc_caller_t *who, evq_item_t *it, const char *arn)
{
    pipes_dest_t d;
    pipes_dest_parse(arn, &d);
    const char *busname = strstr(arn, ":event-bus/") + 11;
    const char *role = json_string_value(json_object_get(it->target_j, "RoleArn"));
    json_t *ev = json_loadb(it->payload, it->len, 0, NULL);
    if (!json_is_object(ev)) {
        json_decref(ev);
        evq_done(it, EVQ_FAIL, "INVALID_JSON", "The event is not a JSON object");
        return;
    }
    if (!role && strcmp(d.account, st->ctx->account_id) == 0) {
        events_bus_t *b = events__bus_lookup(st, d.region, busname);
        if (!b) {
            json_decref(ev);
            evq_done(it, EVQ_FAIL, "NO_RESOURCE", "The target event bus does not exist");
            return;
        }
        events__route(st, b, ev, it->payload, it->len);
        json_decref(ev);
        evq_done(it, EVQ_OK, NULL, NULL);
        return;
    }
    svc_caller_t at = *who;
    at.region = d.region;
    if (role) {
        const char *decision, *why;
        const auth_cred_t *cred = events_roles_cred(roles_of(st), st->ctx, role, d.region, &decision, &why);
        if (!cred) {
            log_info("events: %s cannot assume %s: %s (decision %s)", it->owner, role, why, decision ? decision : "-");
            json_decref(ev);
            evq_done(it, EVQ_FAIL, "FAILED_TO_ASSUME_ROLE", why);
            return;
        }
        at = (svc_caller_t){.cred = cred, .region = d.region};
    }
    json_t *entry = json_pack("{s:O,s:O,s:O,s:s}", "Source", json_object_get(ev, "source"), "DetailType",
                              json_object_get(ev, "detail-type"), "Resources", json_object_get(ev, "resources"),
                              "EventBusName", arn);
    char *detail = proto_json_dumps(json_object_get(ev, "detail"), JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_object_set_new(entry, "Detail", json_string(detail ? detail : "{}"));
    free(detail);
    json_decref(ev);
    st->ctx->call(st->ctx, &at, "events", "PutEvents", json_pack("{s:[o]}", "Entries", entry), on_sent, it);
}

/* The partition key: the value at PartitionKeyPath in the event (a string
 * as is, anything else as its JSON), else the event's id. */
static char *partition_key(const evq_item_t *it, const json_t *ev)
{
    const char *path =
        json_string_value(json_object_get(json_object_get(it->target_j, "KinesisParameters"), "PartitionKeyPath"));
    const json_t *v = path ? events__path_get(ev, path) : json_object_get(ev, "id");
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (v && !json_is_null(v))
        return proto_json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    return NULL;
}

static void send_kinesis(events_state_t *st, evq_item_t *it, const char *arn)
{
    const char *role = json_string_value(json_object_get(it->target_j, "RoleArn"));
    iam_arn_t a;
    if (iam_arn_parse(strv_from(arn), &a) != 0 || !role) {
        evq_done(it, EVQ_FAIL, "INVALID_PARAMETER", "A Kinesis target needs a RoleArn");
        return;
    }
    char region[32];
    snprintf(region, sizeof region, "%.*s", (int)a.region.len, a.region.p);
    const char *decision, *why;
    const auth_cred_t *cred = events_roles_cred(roles_of(st), st->ctx, role, region, &decision, &why);
    if (!cred) {
        log_info("events: %s cannot assume %s: %s (decision %s)", it->owner, role, why, decision ? decision : "-");
        evq_done(it, EVQ_FAIL, "FAILED_TO_ASSUME_ROLE", why);
        return;
    }
    json_t *ev = json_loadb(it->event ? it->event : it->payload, it->event ? it->elen : it->len, 0, NULL);
    char *key = partition_key(it, ev);
    json_decref(ev);
    if (!key || !*key || strlen(key) > 256) {
        free(key);
        evq_done(it, EVQ_FAIL, "INVALID_PARAMETER", "The partition key path gives no key of 1 to 256 characters");
        return;
    }
    arena_t ar;
    arena_init(&ar);
    json_t *in = json_pack("{s:s,s:s,s:s}", "StreamARN", arn, "PartitionKey", key, "Data",
                           base64_encode(&ar, it->payload, it->len));
    arena_destroy(&ar);
    free(key);
    svc_caller_t who = {.cred = cred, .region = region};
    st->ctx->call(st->ctx, &who, "kinesis", "PutRecord", in, on_sent, it);
}

static void send_logs(events_state_t *st, evq_item_t *it, const char *arn)
{
    void *logs = st->ctx->service_state ? st->ctx->service_state(st->ctx, "logs") : NULL;
    iam_arn_t a;
    if (!logs || iam_arn_parse(strv_from(arn), &a) != 0) {
        evq_done(it, EVQ_FAIL, "NO_RESOURCE", "kyoka does not serve CloudWatch Logs");
        return;
    }
    arena_t ar;
    arena_init(&ar);
    strv_t res = a.resource;
    const char *group = arena_strndup(&ar, res.p + 10, res.len - 10);
    size_t gl = strlen(group);
    if (gl >= 2 && strcmp(group + gl - 2, ":*") == 0)
        ((char *)group)[gl - 2] = '\0';
    const char *region = arena_strndup(&ar, a.region.p, a.region.len);
    const char *account = arena_strndup(&ar, a.account.p, a.account.len);
    if (!logs_group_exists(logs, region, account, group)) {
        arena_destroy(&ar);
        evq_done(it, EVQ_FAIL, "NO_RESOURCE", "The log group does not exist");
        return;
    }
    const char *rule = strrchr(it->owner, '/');
    logs_event_t ev = {.timestamp_ms = kyoka_clock_now_ms(), .message = it->payload, .len = it->len};
    int rc = logs_put_events_internal(logs, region, account, group, rule ? rule + 1 : "events", &ev, 1, true);
    arena_destroy(&ar);
    evq_done(it, rc == 0 ? EVQ_OK : EVQ_FAIL, "INVALID_PARAMETER", "The log group refused the event");
}

static void on_send(void *data, evq_item_t *it)
{
    events_state_t *st = data;
    const char *arn = target_arn(it);
    pipes_dest_t d;
    arena_t a;
    arena_init(&a);
    svc_caller_t who = {
        .service_principal = EVENTS_PRINCIPAL,
        .source_arn = it->owner,
        .source_account = arn_account(&a, it->owner),
        .region = it->region,
    };
    pipes_dest_kind_t kind = pipes_dest_parse(arn, &d);
    if (kind == PIPES_DEST_LAMBDA) {
        pipes_lambda_invoke(st->ctx, &who, arn, it->payload, it->len, true, on_sent, it);
    } else if (kind == PIPES_DEST_SQS) {
        size_t n = strlen(arn);
        if (n > 5 && strcmp(arn + n - 5, ".fifo") == 0)
            send_fifo(st, &who, it, arn);
        else
            pipes_sqs_send(st->ctx, &who, arn, it->payload, it->len, NULL, on_sent, it);
    } else if (kind == PIPES_DEST_EVENTS) {
        send_bus(st, &who, it, arn);
    } else if (arn && strncmp(arn, "arn:aws:kinesis:", 16) == 0 && strstr(arn, ":stream/")) {
        send_kinesis(st, it, arn);
    } else if (arn && strncmp(arn, "arn:aws:logs:", 13) == 0 && strstr(arn, ":log-group:")) {
        send_logs(st, it, arn);
    } else {
        evq_done(it, EVQ_FAIL, "NO_RESOURCE", "kyoka does not serve this kind of target");
    }
    arena_destroy(&a);
}

/* ==== dead-letter queue ==== */

static void on_dlq_sent(void *data, const svc_call_t *c)
{
    evq_item_t *it = data;
    if (c->error.code)
        log_warn("events: the dead-letter queue of %s refused the event: %s: %s (decision %s)", it->owner,
                 c->error.code, aws_error_text(&c->error), c->decision_id ? c->decision_id : "-");
    evq_release(it);
}

static void add_attr(json_t *attrs, const char *name, const char *type, const char *value)
{
    json_object_set_new(attrs, name, json_pack("{s:s,s:s}", "DataType", type, "StringValue", value));
}

static void on_dead_letter(void *data, evq_item_t *it, const char *code, const char *message, const char *exhausted)
{
    events_state_t *st = data;
    const char *dlq = json_string_value(json_object_get(json_object_get(it->target_j, "DeadLetterConfig"), "Arn"));
    if (!dlq) {
        log_info("events: an event for %s of %s is dropped (%s)", target_arn(it), it->owner, code);
        evq_release(it);
        return;
    }
    json_t *attrs = json_object();
    add_attr(attrs, "RULE_ARN", "String", it->owner);
    add_attr(attrs, "TARGET_ARN", "String", target_arn(it));
    add_attr(attrs, "ERROR_CODE", "String", code);
    add_attr(attrs, "ERROR_MESSAGE", "String", message && *message ? message : code);
    char n[16];
    snprintf(n, sizeof n, "%d", it->attempts > 0 ? it->attempts - 1 : 0);
    add_attr(attrs, "RETRY_ATTEMPTS", "Number", n);
    if (exhausted)
        add_attr(attrs, "EXHAUSTED_RETRY_CONDITION", "String", exhausted);
    arena_t a;
    arena_init(&a);
    svc_caller_t who = {
        .service_principal = EVENTS_PRINCIPAL,
        .source_arn = it->owner,
        .source_account = arn_account(&a, it->owner),
        .region = it->region,
    };
    /* The DLQ receives the event itself, before any input shaping. */
    const char *body = it->event ? it->event : it->payload;
    size_t len = it->event ? it->elen : it->len;
    pipes_sqs_send(st->ctx, &who, dlq, body, len, attrs, on_dlq_sent, it);
    arena_destroy(&a);
}

const evq_consumer_t events__consumer = {.send = on_send, .dead_letter = on_dead_letter};

/* ==== scheduled rules ==== */

static events_roles_t *roles_of(events_state_t *st) { return st->roles; }

static void on_sched_timer(uv_timer_t *t) { events__sched_fire(t->data); }

void events__sched_arm(events_state_t *st)
{
    int64_t next = INT64_MAX;
    for (events_bus_t *b = st->buses; b; b = b->next)
        for (events_rule_t *r = b->rules; r; r = r->next)
            if (r->schedule && r->enabled && r->next_ms < next)
                next = r->next_ms;
    if (next == INT64_MAX) {
        uv_timer_stop(st->sched_timer);
        return;
    }
    int64_t now = kyoka_clock_now_ms();
    uv_timer_start(st->sched_timer, on_sched_timer, next > now ? (uint64_t)(next - now) : 0, 0);
}

/* The event a scheduled rule sends
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html). */
static void fire_once(events_state_t *st, events_rule_t *r, int64_t at_ms)
{
    char id[37], ts[64];
    kyoka_uuid(id);
    kyoka_time_iso8601(at_ms, ts, false);
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:{}}", "version", "0", "id", id, "detail-type",
                           "Scheduled Event", "source", "aws.events", "account", r->bus->account, "time", ts, "region",
                           r->bus->region, "resources", r->arn, "detail");
    char *text = proto_json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
    events__route_rule(st, r, ev, text, strlen(text));
    free(text);
    json_decref(ev);
}

void events__sched_fire(events_state_t *st)
{
    int64_t now = kyoka_clock_now_ms();
    bool more = false;
    for (events_bus_t *b = st->buses; b; b = b->next) {
        for (events_rule_t *r = b->rules; r; r = r->next) {
            if (!r->schedule || !r->enabled || r->next_ms > now)
                continue;
            /* Once per period that passed, each at its own time: a clock
             * moved an hour ahead fires rate(10 minutes) six times. */
            int fired = 0;
            while (r->next_ms <= now && fired < EVENTS_MAX_FIRES_PER_TURN) {
                fire_once(st, r, r->next_ms);
                fired++;
                r->next_ms = r->sched.kind == EVENTS_SCHED_RATE ? r->next_ms + r->sched.rate_ms
                                                                : events_sched_next(&r->sched, NULL, r->next_ms);
            }
            if (r->next_ms <= now)
                more = true;
            events__rule_persist(st, r);
        }
    }
    if (more)
        uv_timer_start(st->sched_timer, on_sched_timer, 0, 0);
    else
        events__sched_arm(st);
}
