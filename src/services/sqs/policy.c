/*
 * Queue policies: the Policy attribute (validated and compiled by the IAM
 * engine, then consulted by every authorization on the queue through the
 * service's resource_policy hook), AddPermission / RemovePermission which
 * edit it, and the RedriveAllowPolicy check made when a queue names
 * another as its dead-letter queue.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

int sqs__policy_set(svc_call_t *c, sqs_settings_t *s, const char *text)
{
    if (!*text) {
        free(s->policy);
        iam_policy_free(s->policy_c);
        s->policy = NULL;
        s->policy_c = NULL;
        return 0;
    }
    char err[512] = "";
    bool over = false;
    iam_policy_t *p = iam_policy_parse(text, strlen(text), IAM_POLICY_RESOURCE, KYOKA_RESOURCE_POLICY_MAX_BYTES, err,
                                       sizeof err, &over);
    if (!p) {
        /* AWS answers a malformed or oversized queue policy with this
         * one sentence; the engine's reason goes to the log. */
        log_debug("sqs: rejected queue policy: %s", err);
        svc_error(c, "InvalidAttributeValue", 400, "Invalid value for the parameter Policy.");
        return -1;
    }
    free(s->policy);
    iam_policy_free(s->policy_c);
    s->policy = xstrdup(text);
    s->policy_c = p;
    return 0;
}

bool sqs__redrive_allowed(svc_call_t *c, const sqs_queue_t *target, const char *source_arn, const char *policy_text)
{
    const sqs_settings_t *t = &target->set;
    bool ok = t->allow_perm == SQS_REDRIVE_ALLOW_ALL;
    if (t->allow_perm == SQS_REDRIVE_BY_QUEUE)
        for (size_t i = 0; i < t->nallow_sources && !ok; i++)
            ok = strcmp(t->allow_sources[i], source_arn) == 0;
    if (!ok)
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter RedrivePolicy is invalid. Reason: The dead-letter queue's RedriveAllowPolicy "
                  "does not allow %s to use it as a dead-letter queue.", policy_text, source_arn);
    return ok;
}

const iam_policy_t *sqs__resource_policy(void *state, const char *arn, const char **owner)
{
    sqs_queue_t *q = sqs__queue_by_arn(state, arn);
    if (!q)
        return NULL;
    *owner = q->account;
    return q->set.policy_c;
}

/* The actions AddPermission accepts
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_AddPermission.html). */
static const char *const permission_actions[] = {
    "*", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes",
    "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", NULL,
};

static bool label_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 80)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_'))
            return false;
    }
    return true;
}

/* Write doc as q's policy (NULL: remove it) through the same validation as
 * SetQueueAttributes. */
static int store_policy(svc_call_t *c, sqs_queue_t *q, json_t *doc)
{
    char *text = doc ? proto_json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    sqs_settings_t tmp;
    sqs__settings_copy(&tmp, &q->set);
    int rc = sqs__policy_set(c, &tmp, text ? text : "");
    free(text);
    if (rc != 0) {
        sqs__settings_destroy(&tmp);
        return -1;
    }
    sqs__settings_destroy(&q->set);
    q->set = tmp;
    sqs__queue_persist(q);
    return 0;
}

/* ==== operation handlers ==== */

int sqs_add_permission(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    const char *label = svc_in_str(c, "Label");
    json_t *accounts = svc_in(c, "AWSAccountIds");
    json_t *actions = svc_in(c, "Actions");
    if (!label_ok(label)) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter Label is invalid. Reason: Can only include alphanumeric characters, hyphens, "
                  "or underscores. 1 to 80 in length.", label);
        return 0;
    }
    if (json_array_size(accounts) == 0) {
        svc_error(c, "MissingParameter", 400, "The request must contain the parameter AWSAccountIds.");
        return 0;
    }
    if (json_array_size(actions) == 0) {
        svc_error(c, "MissingParameter", 400, "The request must contain the parameter Actions.");
        return 0;
    }
    if (json_array_size(actions) > SQS_MAX_PERMISSION_ACTIONS) {
        svc_error(c, "OverLimit", 0, "%zu Actions were found, maximum allowed is %d.", json_array_size(actions),
                  SQS_MAX_PERMISSION_ACTIONS);
        return 0;
    }
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a) {
        const char *s = json_string_value(a);
        bool ok = false;
        for (size_t k = 0; s && permission_actions[k]; k++)
            ok |= strcmp(s, permission_actions[k]) == 0;
        if (!ok) {
            svc_error(c, "InvalidParameterValue", 400,
                      "Value SQS:%s for parameter ActionName is invalid. Reason: Please refer to the appropriate WSDL for "
                      "a list of valid actions. ", s ? s : "");
            return 0;
        }
    }
    json_array_foreach(accounts, i, a) {
        const char *s = json_string_value(a);
        size_t n = s ? strlen(s) : 0;
        bool ok = n == 12;
        for (size_t k = 0; ok && k < n; k++)
            ok = s[k] >= '0' && s[k] <= '9';
        if (!ok) {
            svc_error(c, "InvalidParameterValue", 400,
                      "Value %s for parameter PrincipalId is invalid. Reason: Unable to verify.", s ? s : "");
            return 0;
        }
    }
    json_t *doc = q->set.policy ? json_loads(q->set.policy, 0, NULL) : NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_pack("{s:s,s:s,s:[]}", "Version", "2008-10-17", "Id",
                        arena_sprintf(c->arena, "%s/SQSDefaultPolicy", q->arn), "Statement");
    }
    json_t *stmts = json_object_get(doc, "Statement");
    if (json_is_object(stmts)) {
        json_t *arr = json_array();
        json_array_append(arr, stmts);
        json_object_set_new(doc, "Statement", arr);
        stmts = arr;
    } else if (!json_is_array(stmts)) {
        stmts = json_array();
        json_object_set_new(doc, "Statement", stmts);
    }
    json_t *st;
    json_array_foreach(stmts, i, st) {
        const char *sid = json_string_value(json_object_get(st, "Sid"));
        if (sid && strcmp(sid, label) == 0) {
            svc_error(c, "InvalidParameterValue", 400,
                      "Value %s for parameter Label is invalid. Reason: Already exists.", label);
            json_decref(doc);
            return 0;
        }
    }
    /* The statement AWS writes: principals as account root ARNs, actions
     * as SQS:<Action>, a single value unwrapped from its list. */
    json_t *principals = json_array();
    json_array_foreach(accounts, i, a)
        json_array_append_new(principals, json_string(arena_sprintf(c->arena, "arn:aws:iam::%s:root",
                                                                    json_string_value(a))));
    json_t *acts = json_array();
    json_array_foreach(actions, i, a)
        json_array_append_new(acts, json_string(arena_sprintf(c->arena, "SQS:%s", json_string_value(a))));
    json_t *p = json_array_size(principals) == 1 ? json_incref(json_array_get(principals, 0)) : json_incref(principals);
    json_t *ac = json_array_size(acts) == 1 ? json_incref(json_array_get(acts, 0)) : json_incref(acts);
    json_decref(principals);
    json_decref(acts);
    json_array_append_new(stmts, json_pack("{s:s,s:s,s:{s:o},s:o,s:s}", "Sid", label, "Effect", "Allow", "Principal",
                                           "AWS", p, "Action", ac, "Resource", q->arn));
    store_policy(c, q, doc);
    json_decref(doc);
    return 0;
}

int sqs_remove_permission(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    const char *label = svc_in_str(c, "Label");
    json_t *doc = q->set.policy ? json_loads(q->set.policy, 0, NULL) : NULL;
    json_t *stmts = json_object_get(doc, "Statement");
    size_t i, found = (size_t)-1;
    json_t *st;
    if (json_is_object(stmts)) {
        json_t *arr = json_array();
        json_array_append(arr, stmts);
        json_object_set_new(doc, "Statement", arr);
        stmts = arr;
    }
    json_array_foreach(stmts, i, st) {
        const char *sid = json_string_value(json_object_get(st, "Sid"));
        if (sid && strcmp(sid, label) == 0)
            found = i;
    }
    if (found == (size_t)-1) {
        svc_error(c, "InvalidParameterValue", 400, "Value %s for parameter Label is invalid. Reason: can't find label.",
                  label);
        json_decref(doc);
        return 0;
    }
    json_array_remove(stmts, found);
    /* The last statement gone, the Policy attribute goes too. */
    store_policy(c, q, json_array_size(stmts) ? doc : NULL);
    json_decref(doc);
    return 0;
}
