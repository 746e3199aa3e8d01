/*
 * SQS: the operation table and the service's lifecycle.
 *
 * Every row names the AWS operation, its handler, the IAM action it is
 * authorized as (batch operations authorize as their single-message
 * action, as the Service Authorization Reference lists them:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsqs.html)
 * and how to build the queue ARN from the request. ARNs are built from the
 * QueueUrl without requiring the queue to exist, so authorization comes
 * first and the handler then reports QueueDoesNotExist.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== ARN builders ==== */


static int arn_from_url(svc_call_t *c, const char **arn)
{
    const char *account, *name;
    sqs__url_parse(c, svc_in_str(c, "QueueUrl"), &account, &name);
    *arn = arena_sprintf(c->arena, "arn:aws:sqs:%s:%s:%s", sqs__call_region(c), account, name);
    return 0;
}

static const char *caller_account(svc_call_t *c)
{
    return c->cred && c->cred->account_id ? c->cred->account_id : c->ctx->account_id;
}

static int arn_from_name(svc_call_t *c, const char **arn)
{
    const char *name = svc_in_str(c, "QueueName");
    const char *owner = svc_in_str(c, "QueueOwnerAWSAccountId");
    const char *account = owner && *owner ? owner : caller_account(c);
    *arn = arena_sprintf(c->arena, "arn:aws:sqs:%s:%s:%s", sqs__call_region(c), account,
                         name ? name : "");
    return 0;
}

static int arn_from_source(svc_call_t *c, const char **arn)
{
    const char *s = svc_in_str(c, "SourceArn");
    *arn = s && *s ? s : "*";
    return 0;
}

static int arn_from_task_handle(svc_call_t *c, const char **arn)
{
    const char *id, *source;
    *arn = sqs__handle_decode(c->arena, svc_in_str(c, "TaskHandle"), &id, &source) ? source : "*";
    return 0;
}

/* ==== the operation table ==== */

#define M SVC_OP_MUTATING
static const svc_op_t sqs_ops[] = {
    {"AddPermission", sqs_add_permission, "sqs:AddPermission", arn_from_url, M},
    {"CancelMessageMoveTask", sqs_cancel_message_move_task, "sqs:CancelMessageMoveTask", arn_from_task_handle, M},
    {"ChangeMessageVisibility", sqs_change_message_visibility, "sqs:ChangeMessageVisibility", arn_from_url, M},
    {"ChangeMessageVisibilityBatch", sqs_change_message_visibility_batch, "sqs:ChangeMessageVisibility", arn_from_url, M},
    {"CreateQueue", sqs_create_queue, "sqs:CreateQueue", arn_from_name, M},
    {"DeleteMessage", sqs_delete_message, "sqs:DeleteMessage", arn_from_url, M},
    {"DeleteMessageBatch", sqs_delete_message_batch, "sqs:DeleteMessage", arn_from_url, M},
    {"DeleteQueue", sqs_delete_queue, "sqs:DeleteQueue", arn_from_url, M},
    {"GetQueueAttributes", sqs_get_queue_attributes, "sqs:GetQueueAttributes", arn_from_url, 0},
    {"GetQueueUrl", sqs_get_queue_url, "sqs:GetQueueUrl", arn_from_name, 0},
    {"ListDeadLetterSourceQueues", sqs_list_dead_letter_source_queues, "sqs:ListDeadLetterSourceQueues", arn_from_url, 0},
    {"ListMessageMoveTasks", sqs_list_message_move_tasks, "sqs:ListMessageMoveTasks", arn_from_source, 0},
    {"ListQueueTags", sqs_list_queue_tags, "sqs:ListQueueTags", arn_from_url, 0},
    {"ListQueues", sqs_list_queues, "sqs:ListQueues", NULL, 0},
    {"PurgeQueue", sqs_purge_queue, "sqs:PurgeQueue", arn_from_url, M},
    {"ReceiveMessage", sqs_receive_message, "sqs:ReceiveMessage", arn_from_url, M},
    {"RemovePermission", sqs_remove_permission, "sqs:RemovePermission", arn_from_url, M},
    {"SendMessage", sqs_send_message, "sqs:SendMessage", arn_from_url, M},
    {"SendMessageBatch", sqs_send_message_batch, "sqs:SendMessage", arn_from_url, M},
    {"SetQueueAttributes", sqs_set_queue_attributes, "sqs:SetQueueAttributes", arn_from_url, M},
    {"StartMessageMoveTask", sqs_start_message_move_task, "sqs:StartMessageMoveTask", arn_from_source, M},
    {"TagQueue", sqs_tag_queue, "sqs:TagQueue", arn_from_url, M},
    {"UntagQueue", sqs_untag_queue, "sqs:UntagQueue", arn_from_url, M},
};
#undef M

/* ==== lifecycle ==== */

static void on_dq_closed(dq_t *dq)
{
    sqs_state_t *st = container_of(dq, sqs_state_t, dq);
    sqs__slab_destroy(&st->slab);
    free(st);
}

static void *sqs_create(kyoka_ctx_t *ctx, char *err, size_t errcap)
{
    sqs_state_t *st = xcalloc(1, sizeof *st);
    st->ctx = ctx;
    st->store = ctx->store;
    st->next_msg_id = 1;
    st->next_queue_id = 1;
    sqs__slab_init(&st->slab, ctx->loop);
    sqs_list_init(&st->tasks);
    sqs_list_init(&st->kicked);
    sqs_list_init(&st->watches);
    st->kick.cb = sqs__on_kick;
    st->mdctx = EVP_MD_CTX_new();
    st->md5 = EVP_MD_fetch(NULL, "MD5", NULL);
    st->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!st->mdctx || !st->md5 || !st->sha256) {
        snprintf(err, errcap, "OpenSSL has no MD5/SHA-256 (check the OpenSSL configuration)");
        goto fail;
    }
    dq_init(&st->dq, ctx->loop);
    if (sqs__store_migrate(st, err, errcap) != 0 || sqs__store_load(st, err, errcap) != 0) {
        sqs__state_clear(st);
        st->closing = true;
        EVP_MD_free(st->md5);
        EVP_MD_free(st->sha256);
        EVP_MD_CTX_free(st->mdctx);
        dq_close(&st->dq, on_dq_closed); /* frees st once the handles are closed */
        return NULL;
    }
    return st;
fail:
    EVP_MD_free(st->md5);
    EVP_MD_free(st->sha256);
    EVP_MD_CTX_free(st->mdctx);
    free(st);
    return NULL;
}

static void sqs_free(void *state)
{
    sqs_state_t *st = state;
    if (!st)
        return;
    sqs__state_clear(st);
    st->closing = true;
    sqs__watches_disown(st);
    EVP_MD_free(st->md5);
    EVP_MD_free(st->sha256);
    EVP_MD_CTX_free(st->mdctx);
    /* The state holds the dq's libuv handles: it is freed once they are
     * closed. */
    dq_close(&st->dq, on_dq_closed);
}

static void sqs_reset(void *state)
{
    sqs_state_t *st = state;
    sqs__state_clear(st);
    sqs__write_begin(st);
    if (store_exec(st->store, "DELETE FROM sqs_messages; DELETE FROM sqs_queues; DELETE FROM sqs_dedup;"
                              " DELETE FROM sqs_deleted; DELETE FROM sqs_tasks;") != 0)
        log_error("sqs: reset could not clear the store");
}

/* Shutdown: long polls answer with what they have instead of holding the
 * server for up to 20 seconds. */
static void sqs_stopping(void *state)
{
    sqs_state_t *st = state;
    size_t b = 0;
    for (sqs_snode_t *n = sqs__smap_next(&st->queues, &b, NULL); n;) {
        sqs_queue_t *q = container_of(n, sqs_queue_t, node);
        n = sqs__smap_next(&st->queues, &b, n);
        sqs__waiters_flush(q);
    }
}

const svc_def_t sqs_service = {
    .name = "sqs",
    .ops = sqs_ops,
    .nops = KYOKA_ARRAY_LEN(sqs_ops),
    .create = sqs_create,
    .free = sqs_free,
    .reset = sqs_reset,
    .stopping = sqs_stopping,
    .resource_policy = sqs__resource_policy,
};
