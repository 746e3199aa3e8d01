/*
 * Dead-letter queue redrive: StartMessageMoveTask, ListMessageMoveTasks,
 * CancelMessageMoveTask
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html).
 *
 * A task moves the messages that were receivable in a dead-letter queue
 * when it started, to DestinationArn or back to each message's original
 * source queue (its DeadLetterQueueSourceArn). It runs on the loop from
 * the deadline queue, moving at most SQS_MOVE_BATCH messages per wakeup,
 * or at MaxNumberOfMessagesPerSecond on the server clock when given. Tasks
 * are kept in the store, so a running task resumes after a restart.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

static const char *const status_names[] = {"RUNNING", "COMPLETED", "CANCELLED", "FAILED"};

/* ==== resource internals ==== */

void sqs__task_free(sqs_task_t *t)
{
    if (!t)
        return;
    dq_remove(&t->st->dq, &t->tick);
    free(t->handle);
    free(t->source_arn);
    free(t->dest_arn);
    free(t->failure);
    free(t);
}

static void task_end(sqs_task_t *t, sqs_task_status_t status, const char *failure)
{
    t->status = status;
    if (failure) {
        free(t->failure);
        t->failure = xstrdup(failure);
    }
    dq_remove(&t->st->dq, &t->tick);
    sqs__persist_task(t);
}

/* The next receivable message of q in delivery order, or NULL. */
static sqs_msg_t *next_ready(sqs_queue_t *q)
{
    if (!q->set.fifo)
        return sqs_list_empty(&q->ready) ? NULL : container_of(q->ready.next, sqs_msg_t, link);
    if (sqs_list_empty(&q->ready_groups))
        return NULL;
    sqs_group_t *g = container_of(q->ready_groups.next, sqs_group_t, ready_link);
    return container_of(g->msgs.next, sqs_msg_t, link);
}

static void on_tick(dq_entry_t *e)
{
    sqs_task_t *t = container_of(e, sqs_task_t, tick);
    sqs_state_t *st = t->st;
    if (t->status != SQS_TASK_RUNNING)
        return;
    sqs_queue_t *src = sqs__queue_by_arn(st, t->source_arn);
    if (!src) {
        task_end(t, SQS_TASK_FAILED, "AWS.SimpleQueueService.NonExistentQueue");
        return;
    }
    int64_t now = kyoka_clock_now_ms();
    sqs__queue_promote(src, now);
    int64_t budget = SQS_MOVE_BATCH;
    if (t->rate) {
        int64_t allowed = (now - t->started_ms) * t->rate / 1000 + 1 - t->moved;
        if (allowed < budget)
            budget = allowed;
    }
    while (budget-- > 0 && t->moved < t->to_move) {
        sqs_msg_t *m = next_ready(src);
        if (!m)
            break;
        sqs_queue_t *dst = NULL;
        if (t->dest_arn) {
            dst = sqs__queue_by_arn(st, t->dest_arn);
        } else if (m->dlq_src) {
            dst = sqs__queue_by_arn(st, m->dlq_src);
        } else {
            task_end(t, SQS_TASK_FAILED, "CouldNotDetermineMessageSource");
            return;
        }
        if (!dst) {
            task_end(t, SQS_TASK_FAILED, "AWS.SimpleQueueService.NonExistentQueue");
            return;
        }
        if (dst->set.fifo && !m->group_id) {
            task_end(t, SQS_TASK_FAILED, "InvalidParameterValue");
            return;
        }
        sqs__msg_move(m, dst, NULL, now);
        t->moved++;
    }
    if (t->moved >= t->to_move || !next_ready(src)) {
        task_end(t, SQS_TASK_COMPLETED, NULL);
        return;
    }
    sqs__persist_task(t);
    int64_t next = t->rate ? t->started_ms + (t->moved * 1000 + t->rate - 1) / t->rate : now;
    dq_add(&st->dq, &t->tick, next);
}

void sqs__task_resume(sqs_task_t *t)
{
    t->tick.cb = on_tick;
    dq_add(&t->st->dq, &t->tick, kyoka_clock_now_ms());
}

void sqs__tasks_queue_gone(sqs_state_t *st, const sqs_queue_t *q)
{
    for (sqs_link_t *l = st->tasks.next; l != &st->tasks; l = l->next) {
        sqs_task_t *t = container_of(l, sqs_task_t, link);
        if (t->status != SQS_TASK_RUNNING)
            continue;
        if (strcmp(t->source_arn, q->arn) == 0 || (t->dest_arn && strcmp(t->dest_arn, q->arn) == 0))
            task_end(t, SQS_TASK_FAILED, "AWS.SimpleQueueService.NonExistentQueue");
    }
}

static bool arn_ok(const char *arn)
{
    iam_arn_t a;
    return arn && iam_arn_parse(strv_from(arn), &a) == 0 && a.service.len && a.region.len && a.account.len &&
           a.resource.len;
}

/* Task handles carry the task id and the source ARN, as AWS's do. */
static char *handle_encode(arena_t *a, const char *id, const char *source)
{
    json_t *j = json_pack("{s:s,s:s}", "taskId", id, "sourceArn", source);
    char *txt = proto_json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(j);
    char *h = base64_encode(a, txt, strlen(txt));
    free(txt);
    return h;
}

bool sqs__handle_decode(arena_t *a, const char *handle, const char **id, const char **source)
{
    unsigned char *raw = NULL;
    ssize_t n = handle ? base64_decode(a, strv_from(handle), &raw) : -1;
    if (n <= 0)
        return false;
    json_t *j = json_loadb((const char *)raw, (size_t)n, 0, NULL);
    const char *i = json_string_value(json_object_get(j, "taskId"));
    const char *s = json_string_value(json_object_get(j, "sourceArn"));
    bool ok = i && s;
    if (ok) {
        *id = arena_strdup(a, i);
        *source = arena_strdup(a, s);
    }
    json_decref(j);
    return ok;
}

static json_t *task_json(const sqs_task_t *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "SourceArn", json_string(t->source_arn));
    if (t->dest_arn)
        json_object_set_new(o, "DestinationArn", json_string(t->dest_arn));
    json_object_set_new(o, "Status", json_string(status_names[t->status]));
    if (t->status == SQS_TASK_RUNNING)
        json_object_set_new(o, "TaskHandle", json_string(t->handle));
    json_object_set_new(o, "StartedTimestamp", json_integer(t->started_ms));
    if (t->rate)
        json_object_set_new(o, "MaxNumberOfMessagesPerSecond", json_integer(t->rate));
    json_object_set_new(o, "ApproximateNumberOfMessagesMoved", json_integer(t->moved));
    json_object_set_new(o, "ApproximateNumberOfMessagesToMove", json_integer(t->to_move));
    if (t->failure)
        json_object_set_new(o, "FailureReason", json_string(t->failure));
    return o;
}

/* ==== operation handlers ==== */

/* The queue SourceArn names, or NULL with the call's error set. */
static sqs_queue_t *source_queue_or_fail(svc_call_t *c, const char *src_arn)
{
    if (!arn_ok(src_arn)) {
        svc_error(c, "InvalidParameterValue", 400,
                  "You must use this format to specify the SourceArn: "
                  "arn:<partition>:<service>:<region>:<account-id>:<resource-id>");
        return NULL;
    }
    sqs_queue_t *src = sqs__queue_by_arn(c->state, src_arn);
    if (!src)
        svc_error(c, "ResourceNotFoundException", 0,
                  "The resource that you specified for the SourceArn parameter doesn't exist.");
    return src;
}

int sqs_start_message_move_task(svc_call_t *c)
{
    sqs_state_t *st = c->state;
    const char *src_arn = svc_in_str(c, "SourceArn");
    const char *dst_arn = svc_in_str(c, "DestinationArn");
    sqs_queue_t *src = source_queue_or_fail(c, src_arn);
    if (!src)
        return 0;
    bool is_dlq = false;
    size_t b = 0;
    for (sqs_snode_t *n = NULL; !is_dlq && (n = sqs__smap_next(&st->queues, &b, n));) {
        sqs_queue_t *q = container_of(n, sqs_queue_t, node);
        is_dlq = q->set.redrive_target && strcmp(q->set.redrive_target, src->arn) == 0;
    }
    if (!is_dlq) {
        svc_error(c, "InvalidParameterValue", 400, "Source queue must be configured as a Dead Letter Queue.");
        return 0;
    }
    sqs_queue_t *dst = NULL;
    if (dst_arn) {
        if (!arn_ok(dst_arn)) {
            svc_error(c, "InvalidParameterValue", 400,
                      "You must use this format to specify the DestinationArn: "
                      "arn:<partition>:<service>:<region>:<account-id>:<resource-id>");
            return 0;
        }
        dst = sqs__queue_by_arn(st, dst_arn);
        if (!dst) {
            svc_error(c, "ResourceNotFoundException", 0,
                      "The resource that you specified for the DestinationArn parameter doesn't exist.");
            return 0;
        }
    }
    long long rate = 0;
    if (sqs_in_int(c, c->input, "MaxNumberOfMessagesPerSecond", &rate) && (rate < 1 || rate > SQS_MAX_MOVE_RATE)) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %lld for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: You must enter a number "
                  "that's between 1 and 500.", rate);
        return 0;
    }
    for (sqs_link_t *l = st->tasks.next; l != &st->tasks; l = l->next) {
        sqs_task_t *t = container_of(l, sqs_task_t, link);
        if (t->status == SQS_TASK_RUNNING && strcmp(t->source_arn, src->arn) == 0) {
            svc_error(c, "InvalidParameterValue", 400,
                      "There is already a task running. Only one active task is allowed for a source queue arn at a "
                      "given time.");
            return 0;
        }
    }
    /* Moving messages reads and deletes them at the source and sends them
     * to the destination: the caller needs those permissions too
     * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html). */
    if (c->ctx->authorize(c, "sqs:ReceiveMessage", src->arn, NULL, 0) != IAM_ALLOW ||
        c->ctx->authorize(c, "sqs:DeleteMessage", src->arn, NULL, 0) != IAM_ALLOW ||
        c->ctx->authorize(c, "sqs:GetQueueAttributes", src->arn, NULL, 0) != IAM_ALLOW)
        return 0;
    if (dst && c->ctx->authorize(c, "sqs:SendMessage", dst->arn, NULL, 0) != IAM_ALLOW)
        return 0;
    int64_t now = kyoka_clock_now_ms();
    sqs__queue_promote(src, now);
    sqs_task_t *t = xcalloc(1, sizeof *t);
    t->st = st;
    kyoka_uuid(t->id);
    t->source_arn = xstrdup(src->arn);
    t->dest_arn = dst ? xstrdup(dst->arn) : NULL;
    t->rate = (int)rate;
    t->status = SQS_TASK_RUNNING;
    t->started_ms = now;
    t->to_move = (int64_t)src->n_ready;
    t->handle = xstrdup(handle_encode(c->arena, t->id, t->source_arn));
    sqs_list_push(&st->tasks, &t->link);
    sqs__persist_task(t);
    sqs__task_resume(t);
    json_object_set_new(svc_output(c), "TaskHandle", json_string(t->handle));
    return 0;
}

int sqs_list_message_move_tasks(svc_call_t *c)
{
    sqs_state_t *st = c->state;
    const char *src_arn = svc_in_str(c, "SourceArn");
    sqs_queue_t *src = source_queue_or_fail(c, src_arn);
    if (!src)
        return 0;
    long long max = 1;
    if (sqs_in_int(c, c->input, "MaxResults", &max) && (max < 1 || max > 10)) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %lld for parameter MaxResults is invalid. Reason: You must enter a number that's between 1 and "
                  "10.", max);
        return 0;
    }
    json_t *res = json_array();
    /* Most recent first. */
    for (sqs_link_t *l = st->tasks.prev; l != &st->tasks && json_array_size(res) < (size_t)max; l = l->prev) {
        sqs_task_t *t = container_of(l, sqs_task_t, link);
        if (strcmp(t->source_arn, src->arn) == 0)
            json_array_append_new(res, task_json(t));
    }
    json_object_set_new(svc_output(c), "Results", res);
    return 0;
}

int sqs_cancel_message_move_task(svc_call_t *c)
{
    sqs_state_t *st = c->state;
    const char *id, *src_arn;
    if (!sqs__handle_decode(c->arena, svc_in_str(c, "TaskHandle"), &id, &src_arn)) {
        svc_error(c, "InvalidParameterValue", 400, "Value for parameter TaskHandle is invalid.");
        return 0;
    }
    if (!sqs__queue_by_arn(st, src_arn)) {
        svc_error(c, "ResourceNotFoundException", 0,
                  "The resource that you specified for the SourceArn parameter doesn't exist.");
        return 0;
    }
    sqs_task_t *task = NULL;
    for (sqs_link_t *l = st->tasks.next; l != &st->tasks; l = l->next) {
        sqs_task_t *t = container_of(l, sqs_task_t, link);
        if (strcmp(t->id, id) == 0)
            task = t;
    }
    if (!task) {
        svc_error(c, "ResourceNotFoundException", 0, "Task does not exist.");
        return 0;
    }
    if (task->status != SQS_TASK_RUNNING) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %s for parameter TaskHandle is invalid. Reason: Only a task in the RUNNING state can be "
                  "cancelled.", task->handle);
        return 0;
    }
    task_end(task, SQS_TASK_CANCELLED, NULL);
    json_object_set_new(svc_output(c), "ApproximateNumberOfMessagesMoved", json_integer(task->moved));
    return 0;
}
