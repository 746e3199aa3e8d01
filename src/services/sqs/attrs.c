/*
 * Queue attributes: parsing, validating and showing them.
 *
 * CreateQueue and SetQueueAttributes apply a map of attribute name ->
 * string onto a copy of the queue's settings; the copy replaces the live
 * settings only when every attribute was valid, so a bad request changes
 * nothing. Ranges and errors follow the CreateQueue / SetQueueAttributes
 * API reference
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html):
 * an out-of-range value is InvalidAttributeValue "Invalid value for the
 * parameter X.", a name SQS does not know (or may not set) is
 * InvalidAttributeName "Unknown Attribute X.".
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/banned.h"

const char *const sqs__attr_names[] = {
    "All", "Policy", "VisibilityTimeout", "MaximumMessageSize", "MessageRetentionPeriod",
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "CreatedTimestamp",
    "LastModifiedTimestamp", "QueueArn", "ApproximateNumberOfMessagesDelayed", "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "FifoQueue", "ContentBasedDeduplication", "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds", "DeduplicationScope", "FifoThroughputLimit", "RedriveAllowPolicy",
    "SqsManagedSseEnabled", NULL,
};

/* ==== settings lifecycle ==== */

void sqs__settings_defaults(sqs_settings_t *s, bool fifo)
{
    *s = (sqs_settings_t){
        .visibility_timeout = 30,
        .delay_seconds = 0,
        .max_message_size = KYOKA_SQS_MAX_MESSAGE_BYTES,
        .retention = SQS_DEFAULT_RETENTION_S,
        .wait_time = 0,
        .kms_reuse = 300,
        .fifo = fifo,
        .sse = true,
    };
}

static void free_sources(sqs_settings_t *s)
{
    for (size_t i = 0; i < s->nallow_sources; i++)
        free(s->allow_sources[i]);
    free(s->allow_sources);
    s->allow_sources = NULL;
    s->nallow_sources = 0;
}

void sqs__settings_destroy(sqs_settings_t *s)
{
    free(s->kms_key);
    free(s->policy);
    iam_policy_free(s->policy_c);
    free(s->redrive);
    free(s->redrive_target);
    free(s->redrive_allow);
    free_sources(s);
    memset(s, 0, sizeof *s);
}

static char *dup_or_null(const char *p) { return p ? xstrdup(p) : NULL; }

void sqs__settings_copy(sqs_settings_t *dst, const sqs_settings_t *src)
{
    *dst = *src;
    dst->kms_key = dup_or_null(src->kms_key);
    dst->policy = dup_or_null(src->policy);
    dst->policy_c = src->policy_c ? iam_policy_ref(src->policy_c) : NULL;
    dst->redrive = dup_or_null(src->redrive);
    dst->redrive_target = dup_or_null(src->redrive_target);
    dst->redrive_allow = dup_or_null(src->redrive_allow);
    dst->allow_sources = NULL;
    dst->nallow_sources = 0;
    if (src->nallow_sources) {
        dst->allow_sources = xcalloc(src->nallow_sources, sizeof *dst->allow_sources);
        for (size_t i = 0; i < src->nallow_sources; i++)
            dst->allow_sources[i] = xstrdup(src->allow_sources[i]);
        dst->nallow_sources = src->nallow_sources;
    }
}

/* ==== parsing helpers ==== */

static bool parse_int(const char *v, long long lo, long long hi, int *out)
{
    if (!v || !*v)
        return false;
    const char *p = v;
    if (*p == '+' || *p == '-')
        p++;
    if (!*p)
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    errno = 0;
    long long x = strtoll(v, NULL, 10);
    if (errno || x < lo || x > hi)
        return false;
    *out = (int)x;
    return true;
}

static bool parse_bool(const char *v, bool *out)
{
    if (v && strcasecmp(v, "true") == 0) {
        *out = true;
        return true;
    }
    if (v && strcasecmp(v, "false") == 0) {
        *out = false;
        return true;
    }
    return false;
}

static void bad_value(svc_call_t *c, const char *name)
{
    svc_error(c, "InvalidAttributeValue", 400, "Invalid value for the parameter %s.", name);
}

static void unknown_name(svc_call_t *c, const char *name)
{
    svc_error(c, "InvalidAttributeName", 400, "Unknown Attribute %s.", name);
}

static bool is_known(const char *name)
{
    for (size_t i = 0; sqs__attr_names[i]; i++)
        if (strcmp(sqs__attr_names[i], name) == 0)
            return true;
    return false;
}

/* arn:aws:sqs:<region>:<account>:<name> */
static bool parse_queue_arn(const char *arn, iam_arn_t *out)
{
    if (iam_arn_parse(strv_from(arn), out) != 0)
        return false;
    return strv_eq_cstr(out->service, "sqs") && out->region.len && out->account.len && out->resource.len;
}

/* ==== RedrivePolicy / RedriveAllowPolicy ==== */

static int apply_redrive(svc_call_t *c, sqs_settings_t *s, const char *text, const char *self_arn)
{
    if (!*text) {
        free(s->redrive);
        free(s->redrive_target);
        s->redrive = s->redrive_target = NULL;
        s->max_receive = 0;
        return 0;
    }
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        svc_error(c, "InvalidParameterValue", 400,
                  "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.");
        return -1;
    }
    json_t *mrc = json_object_get(j, "maxReceiveCount");
    json_t *dlq = json_object_get(j, "deadLetterTargetArn");
    int rc = -1;
    if (!mrc) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory "
                  "attribute: maxReceiveCount.", text);
        goto out;
    }
    if (!dlq) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory "
                  "attribute: deadLetterTargetArn.", text);
        goto out;
    }
    if (json_object_size(j) > 2) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter RedrivePolicy is invalid. Reason: Only following attributes are supported: "
                  "[maxReceiveCount, deadLetterTargetArn].", text);
        goto out;
    }
    int count = 0;
    bool count_ok = false;
    if (json_is_integer(mrc)) {
        json_int_t x = json_integer_value(mrc);
        count_ok = x >= 1 && x <= SQS_MAX_RECEIVE_COUNT;
        count = (int)x;
    } else if (json_is_string(mrc)) {
        count_ok = parse_int(json_string_value(mrc), 1, SQS_MAX_RECEIVE_COUNT, &count);
    }
    if (!count_ok) {
        char *shown = proto_json_dumps(mrc, JSON_ENCODE_ANY);
        const char *sv = json_is_string(mrc) ? json_string_value(mrc) : shown ? shown : "";
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: %s, valid "
                  "values are from 1 to 1000 both inclusive.", text, sv);
        free(shown);
        goto out;
    }
    iam_arn_t arn;
    const char *target = json_string_value(dlq);
    if (!target || !parse_queue_arn(target, &arn)) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for deadLetterTargetArn.", text);
        goto out;
    }
    sqs_queue_t *tq = sqs__queue_by_arn(c->state, target);
    if (!tq) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist.", text);
        goto out;
    }
    iam_arn_t self;
    if (self_arn && iam_arn_parse(strv_from(self_arn), &self) == 0 && !strv_eq(self.account, arn.account)) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter target owner should be same as "
                  "the source.", text);
        goto out;
    }
    if (tq->set.fifo != s->fifo) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue "
                  "as the source..", text);
        goto out;
    }
    if (self_arn && !sqs__redrive_allowed(c, tq, self_arn, text))
        goto out;
    free(s->redrive);
    free(s->redrive_target);
    s->redrive_target = xstrdup(target);
    s->max_receive = count;
    json_t *norm = json_pack("{s:s,s:i}", "deadLetterTargetArn", target, "maxReceiveCount", count);
    s->redrive = proto_json_dumps(norm, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(norm);
    rc = 0;
out:
    json_decref(j);
    return rc;
}

/* https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html */
static int apply_redrive_allow(svc_call_t *c, sqs_settings_t *s, const char *text)
{
    static const char unsupported[] = "Invalid value for the parameter RedriveAllowPolicy. Reason: Amazon SQS can't "
                                      "create the redrive allow policy, as it’s in an unsupported format.";
    if (!*text) {
        free(s->redrive_allow);
        s->redrive_allow = NULL;
        s->allow_perm = SQS_REDRIVE_ALLOW_ALL;
        free_sources(s);
        return 0;
    }
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    int rc = -1;
    if (!json_is_object(j)) {
        svc_error(c, "InvalidAttributeValue", 400, "%s", unsupported);
        goto out;
    }
    const char *perm = json_string_value(json_object_get(j, "redrivePermission"));
    json_t *srcs = json_object_get(j, "sourceQueueArns");
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        if (strcmp(k, "redrivePermission") != 0 && strcmp(k, "sourceQueueArns") != 0) {
            svc_error(c, "InvalidAttributeValue", 400, "%s", unsupported);
            goto out;
        }
    }
    sqs_redrive_perm_t p;
    if (perm && strcmp(perm, "allowAll") == 0)
        p = SQS_REDRIVE_ALLOW_ALL;
    else if (perm && strcmp(perm, "denyAll") == 0)
        p = SQS_REDRIVE_DENY_ALL;
    else if (perm && strcmp(perm, "byQueue") == 0)
        p = SQS_REDRIVE_BY_QUEUE;
    else {
        svc_error(c, "InvalidAttributeValue", 400, "%s", unsupported);
        goto out;
    }
    if (srcs) {
        size_t i;
        json_t *a;
        if (!json_is_array(srcs)) {
            svc_error(c, "InvalidAttributeValue", 400, "%s", unsupported);
            goto out;
        }
        json_array_foreach(srcs, i, a) {
            if (!json_is_string(a)) {
                svc_error(c, "InvalidAttributeValue", 400, "%s", unsupported);
                goto out;
            }
        }
        if (p != SQS_REDRIVE_BY_QUEUE) {
            svc_error(c, "InvalidParameterValue", 400,
                      "Value %s for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't create the redrive "
                      "allow policy. To specify one or more source queue ARNs, you must set redrivePermission to byQueue.",
                      text);
            goto out;
        }
        if (json_array_size(srcs) > SQS_MAX_REDRIVE_SOURCES) {
            svc_error(c, "InvalidParameterValue", 400,
                      "Value %s for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't create the redrive "
                      "allow policy. The maximum number of source queue ARNs you can specify is 10.", text);
            goto out;
        }
    }
    if (p == SQS_REDRIVE_BY_QUEUE && json_array_size(srcs) == 0) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't create the redrive "
                  "allow policy. When you specify the byQueue permission type, you must also specify one or more "
                  "sourceQueueArns values.", text);
        goto out;
    }
    free(s->redrive_allow);
    free_sources(s);
    s->allow_perm = p;
    size_t n = json_array_size(srcs);
    if (n) {
        s->allow_sources = xcalloc(n, sizeof *s->allow_sources);
        for (size_t i = 0; i < n; i++)
            s->allow_sources[i] = xstrdup(json_string_value(json_array_get(srcs, i)));
        s->nallow_sources = n;
    }
    json_t *norm = json_pack("{s:s}", "redrivePermission", perm);
    if (n)
        json_object_set(norm, "sourceQueueArns", srcs);
    s->redrive_allow = proto_json_dumps(norm, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(norm);
    rc = 0;
out:
    json_decref(j);
    return rc;
}

/* ==== apply ==== */

int sqs__settings_apply(svc_call_t *c, sqs_settings_t *s, json_t *attrs, bool creating, const char *self_arn)
{
    const char *name;
    json_t *jv;
    /* Names first, so an unknown attribute is reported whatever else is wrong. */
    json_object_foreach(attrs, name, jv) {
        if (!is_known(name) || strcmp(name, "All") == 0) {
            unknown_name(c, name);
            return -1;
        }
        if (!json_is_string(jv)) {
            bad_value(c, name);
            return -1;
        }
    }
#define ATTR(n) json_string_value(json_object_get(attrs, n))
    const char *v;
    /* Read-only attributes cannot be set. */
    static const char *const read_only[] = {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                            "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp",
                                            "LastModifiedTimestamp", "QueueArn", NULL};
    for (size_t i = 0; read_only[i]; i++) {
        if (ATTR(read_only[i])) {
            unknown_name(c, read_only[i]);
            return -1;
        }
    }
    if ((v = ATTR("FifoQueue"))) {
        bool f;
        if (!parse_bool(v, &f)) {
            bad_value(c, "FifoQueue");
            return -1;
        }
        if (!creating && !s->fifo) {
            unknown_name(c, "FifoQueue");
            return -1;
        }
        if (f != s->fifo) {
            svc_error(c, "InvalidAttributeValue", 400,
                      "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.");
            return -1;
        }
    }
    static const struct {
        const char *name;
        long long lo, hi;
        size_t off;
    } ints[] = {
        {"VisibilityTimeout", 0, SQS_MAX_VISIBILITY_S, offsetof(sqs_settings_t, visibility_timeout)},
        {"DelaySeconds", 0, SQS_MAX_DELAY_S, offsetof(sqs_settings_t, delay_seconds)},
        {"MaximumMessageSize", SQS_MIN_MESSAGE_SIZE, KYOKA_SQS_MAX_MESSAGE_BYTES, offsetof(sqs_settings_t, max_message_size)},
        {"MessageRetentionPeriod", SQS_MIN_RETENTION_S, SQS_MAX_RETENTION_S, offsetof(sqs_settings_t, retention)},
        {"ReceiveMessageWaitTimeSeconds", 0, SQS_MAX_WAIT_S, offsetof(sqs_settings_t, wait_time)},
        {"KmsDataKeyReusePeriodSeconds", 60, 86400, offsetof(sqs_settings_t, kms_reuse)},
    };
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(ints); i++) {
        if ((v = ATTR(ints[i].name)) && !parse_int(v, ints[i].lo, ints[i].hi, (int *)((char *)s + ints[i].off))) {
            bad_value(c, ints[i].name);
            return -1;
        }
    }
    /* FIFO-only attributes. */
    static const char *const fifo_only[] = {"DeduplicationScope", "FifoThroughputLimit", NULL};
    for (size_t i = 0; fifo_only[i]; i++) {
        if (ATTR(fifo_only[i]) && !s->fifo) {
            svc_error(c, "InvalidAttributeName", 400, "You can specify the %s only when FifoQueue is set to true.",
                      fifo_only[i]);
            return -1;
        }
    }
    if ((v = ATTR("ContentBasedDeduplication"))) {
        if (!s->fifo) {
            unknown_name(c, "ContentBasedDeduplication");
            return -1;
        }
        if (!parse_bool(v, &s->content_dedup)) {
            bad_value(c, "ContentBasedDeduplication");
            return -1;
        }
    }
    if ((v = ATTR("DeduplicationScope"))) {
        if (strcmp(v, "messageGroup") == 0)
            s->dedup_per_group = true;
        else if (strcmp(v, "queue") == 0)
            s->dedup_per_group = false;
        else {
            bad_value(c, "DeduplicationScope");
            return -1;
        }
    }
    if ((v = ATTR("FifoThroughputLimit"))) {
        if (strcmp(v, "perMessageGroupId") == 0)
            s->throughput_per_group = true;
        else if (strcmp(v, "perQueue") == 0)
            s->throughput_per_group = false;
        else {
            bad_value(c, "FifoThroughputLimit");
            return -1;
        }
    }
    /* Server-side encryption: KMS or SQS-managed, never both
     * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-server-side-encryption.html). */
    const char *kms = ATTR("KmsMasterKeyId");
    const char *sse = ATTR("SqsManagedSseEnabled");
    bool sse_on = false;
    if (sse && !parse_bool(sse, &sse_on)) {
        bad_value(c, "SqsManagedSseEnabled");
        return -1;
    }
    if (kms && *kms && sse && sse_on) {
        svc_error(c, "InvalidAttributeName", 400,
                  "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or "
                  "SQS SSE.");
        return -1;
    }
    if (kms) {
        free(s->kms_key);
        s->kms_key = *kms ? xstrdup(kms) : NULL;
        if (s->kms_key)
            s->sse = false;
    }
    if (sse) {
        s->sse = sse_on;
        if (sse_on) {
            free(s->kms_key);
            s->kms_key = NULL;
        }
    }
    if ((v = ATTR("Policy")) && sqs__policy_set(c, s, v) != 0)
        return -1;
    if ((v = ATTR("RedriveAllowPolicy")) && apply_redrive_allow(c, s, v) != 0)
        return -1;
    if ((v = ATTR("RedrivePolicy")) && apply_redrive(c, s, v, self_arn) != 0)
        return -1;
#undef ATTR
    return 0;
}

/* ==== showing ==== */

const char *sqs__settings_value(arena_t *a, const sqs_settings_t *s, const char *name)
{
    if (strcmp(name, "VisibilityTimeout") == 0)
        return arena_sprintf(a, "%d", s->visibility_timeout);
    if (strcmp(name, "DelaySeconds") == 0)
        return arena_sprintf(a, "%d", s->delay_seconds);
    if (strcmp(name, "MaximumMessageSize") == 0)
        return arena_sprintf(a, "%d", s->max_message_size);
    if (strcmp(name, "MessageRetentionPeriod") == 0)
        return arena_sprintf(a, "%d", s->retention);
    if (strcmp(name, "ReceiveMessageWaitTimeSeconds") == 0)
        return arena_sprintf(a, "%d", s->wait_time);
    if (strcmp(name, "SqsManagedSseEnabled") == 0)
        return s->sse ? "true" : "false";
    if (strcmp(name, "KmsMasterKeyId") == 0)
        return s->kms_key;
    if (strcmp(name, "KmsDataKeyReusePeriodSeconds") == 0)
        return s->kms_key ? arena_sprintf(a, "%d", s->kms_reuse) : NULL;
    if (strcmp(name, "Policy") == 0)
        return s->policy;
    if (strcmp(name, "RedrivePolicy") == 0)
        return s->redrive;
    if (strcmp(name, "RedriveAllowPolicy") == 0)
        return s->redrive_allow;
    if (!s->fifo)
        return NULL;
    if (strcmp(name, "FifoQueue") == 0)
        return "true";
    if (strcmp(name, "ContentBasedDeduplication") == 0)
        return s->content_dedup ? "true" : "false";
    if (strcmp(name, "DeduplicationScope") == 0)
        return s->dedup_per_group ? "messageGroup" : "queue";
    if (strcmp(name, "FifoThroughputLimit") == 0)
        return s->throughput_per_group ? "perMessageGroupId" : "perQueue";
    return NULL;
}

static const char *const settable[] = {
    "VisibilityTimeout", "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds", "SqsManagedSseEnabled", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
    "Policy", "RedrivePolicy", "RedriveAllowPolicy", "ContentBasedDeduplication", "DeduplicationScope",
    "FifoThroughputLimit", NULL,
};

json_t *sqs__settings_json(const sqs_settings_t *s)
{
    arena_t a;
    arena_init(&a);
    json_t *o = json_object();
    for (size_t i = 0; settable[i]; i++) {
        const char *v = sqs__settings_value(&a, s, settable[i]);
        if (v)
            json_object_set_new(o, settable[i], json_string(v));
    }
    arena_destroy(&a);
    return o;
}

/* Restore stored settings. The values were valid when stored; anything
 * unreadable keeps its default rather than failing the start. */
void sqs__settings_load(sqs_settings_t *s, json_t *attrs, bool fifo)
{
    (void)fifo;
    if (!json_is_object(attrs))
        return;
#define ATTR(n) json_string_value(json_object_get(attrs, n))
    const char *v;
    int x;
    if ((v = ATTR("VisibilityTimeout")) && parse_int(v, 0, SQS_MAX_VISIBILITY_S, &x))
        s->visibility_timeout = x;
    if ((v = ATTR("DelaySeconds")) && parse_int(v, 0, SQS_MAX_DELAY_S, &x))
        s->delay_seconds = x;
    if ((v = ATTR("MaximumMessageSize")) && parse_int(v, SQS_MIN_MESSAGE_SIZE, KYOKA_SQS_MAX_MESSAGE_BYTES, &x))
        s->max_message_size = x;
    if ((v = ATTR("MessageRetentionPeriod")) && parse_int(v, SQS_MIN_RETENTION_S, SQS_MAX_RETENTION_S, &x))
        s->retention = x;
    if ((v = ATTR("ReceiveMessageWaitTimeSeconds")) && parse_int(v, 0, SQS_MAX_WAIT_S, &x))
        s->wait_time = x;
    if ((v = ATTR("KmsDataKeyReusePeriodSeconds")) && parse_int(v, 60, 86400, &x))
        s->kms_reuse = x;
    if ((v = ATTR("SqsManagedSseEnabled")))
        parse_bool(v, &s->sse);
    if ((v = ATTR("KmsMasterKeyId")))
        s->kms_key = xstrdup(v);
    if ((v = ATTR("ContentBasedDeduplication")))
        parse_bool(v, &s->content_dedup);
    if ((v = ATTR("DeduplicationScope")))
        s->dedup_per_group = strcmp(v, "messageGroup") == 0;
    if ((v = ATTR("FifoThroughputLimit")))
        s->throughput_per_group = strcmp(v, "perMessageGroupId") == 0;
    if ((v = ATTR("Policy"))) {
        char err[256];
        bool over = false;
        s->policy = xstrdup(v);
        s->policy_c = iam_policy_parse(v, strlen(v), IAM_POLICY_RESOURCE, KYOKA_RESOURCE_POLICY_MAX_BYTES, err,
                                       sizeof err, &over);
        if (!s->policy_c)
            log_warn("sqs: stored queue policy no longer compiles (%s); it is ignored for authorization", err);
    }
    if ((v = ATTR("RedrivePolicy"))) {
        json_t *j = json_loads(v, 0, NULL);
        const char *t = json_string_value(json_object_get(j, "deadLetterTargetArn"));
        json_t *m = json_object_get(j, "maxReceiveCount");
        if (t && json_is_integer(m)) {
            s->redrive = xstrdup(v);
            s->redrive_target = xstrdup(t);
            s->max_receive = (int)json_integer_value(m);
        }
        json_decref(j);
    }
    if ((v = ATTR("RedriveAllowPolicy"))) {
        json_t *j = json_loads(v, 0, NULL);
        const char *p = json_string_value(json_object_get(j, "redrivePermission"));
        if (p) {
            s->redrive_allow = xstrdup(v);
            s->allow_perm = strcmp(p, "denyAll") == 0    ? SQS_REDRIVE_DENY_ALL
                            : strcmp(p, "byQueue") == 0 ? SQS_REDRIVE_BY_QUEUE
                                                        : SQS_REDRIVE_ALLOW_ALL;
            json_t *srcs = json_object_get(j, "sourceQueueArns");
            size_t n = json_array_size(srcs);
            if (n) {
                s->allow_sources = xcalloc(n, sizeof *s->allow_sources);
                for (size_t i = 0; i < n; i++) {
                    const char *a = json_string_value(json_array_get(srcs, i));
                    s->allow_sources[i] = xstrdup(a ? a : "");
                }
                s->nallow_sources = n;
            }
        }
        json_decref(j);
    }
#undef ATTR
}
