/*
 * Queues: naming, lookup by URL or ARN, the per-queue message structures
 * (ready list, timed heap, arrival list), and the queue operations
 * (CreateQueue, GetQueueUrl, ListQueues, DeleteQueue, Get/SetQueueAttributes,
 * PurgeQueue, tags, ListDeadLetterSourceQueues).
 *
 * A queue is identified on the wire by its URL, endpoint/account/name, and
 * in policies by its ARN arn:aws:sqs:region:account:name. Clients send URLs
 * in many host forms (localhost, 127.0.0.1, sqs.<region>.localhost.localstack.cloud,
 * the real https://sqs.<region>.amazonaws.com), so only the path's last
 * two segments count, and the region is the one the request is signed for,
 * as with AWS, where each region has its own endpoint.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

/* ==== resource internals ==== */

void sqs__err_no_queue(svc_call_t *c)
{
    /* The query API kept its historic wording; the JSON API dropped the
     * "wsdl" part. */
    svc_error(c, "QueueDoesNotExist", 0, "%s",
              c->proto == PROTO_JSON ? "The specified queue does not exist."
                                     : "The specified queue does not exist for this wsdl version.");
}

static const char *caller_account(svc_call_t *c)
{
    return c->cred && c->cred->account_id ? c->cred->account_id : c->ctx->account_id;
}

void sqs__url_parse(svc_call_t *c, const char *url, const char **account, const char **name)
{
    const char *p = url ? url : "";
    const char *scheme = strstr(p, "://");
    if (scheme) {
        p = scheme + 3;
        const char *slash = strchr(p, '/');
        p = slash ? slash : "";
    }
    size_t len = strcspn(p, "?#");
    /* The last two non-empty path segments. */
    const char *seg[2] = {NULL, NULL};
    size_t seglen[2] = {0, 0};
    size_t i = 0;
    while (i < len) {
        while (i < len && p[i] == '/')
            i++;
        size_t start = i;
        while (i < len && p[i] != '/')
            i++;
        if (i > start) {
            seg[0] = seg[1];
            seglen[0] = seglen[1];
            seg[1] = p + start;
            seglen[1] = i - start;
        }
    }
    *name = seg[1] ? arena_strndup(c->arena, seg[1], seglen[1]) : "";
    *account = seg[0] ? arena_strndup(c->arena, seg[0], seglen[0]) : caller_account(c);
}

const char *sqs__call_region(const svc_call_t *c) { return c->region ? c->region : c->ctx->region; }

sqs_queue_t *sqs__queue_lookup(sqs_state_t *st, const char *region, const char *account, const char *name)
{
    char key[256];
    int n = snprintf(key, sizeof key, "%s/%s/%s", region, account, name);
    if (n < 0 || (size_t)n >= sizeof key)
        return NULL;
    sqs_snode_t *node = sqs__smap_get(&st->queues, key, (size_t)n);
    return node ? container_of(node, sqs_queue_t, node) : NULL;
}

sqs_queue_t *sqs__queue_get_or_fail(svc_call_t *c)
{
    const char *account, *name;
    sqs__url_parse(c, svc_in_str(c, "QueueUrl"), &account, &name);
    sqs_queue_t *q = sqs__queue_lookup(c->state, sqs__call_region(c), account, name);
    if (!q)
        sqs__err_no_queue(c);
    return q;
}

sqs_queue_t *sqs__queue_by_arn(sqs_state_t *st, const char *arn)
{
    iam_arn_t a;
    if (!arn || iam_arn_parse(strv_from(arn), &a) != 0 || !strv_eq_cstr(a.service, "sqs"))
        return NULL;
    char region[64], account[64], name[128];
    if (a.region.len >= sizeof region || a.account.len >= sizeof account || a.resource.len >= sizeof name)
        return NULL;
    memcpy(region, a.region.p, a.region.len);
    region[a.region.len] = '\0';
    memcpy(account, a.account.p, a.account.len);
    account[a.account.len] = '\0';
    memcpy(name, a.resource.p, a.resource.len);
    name[a.resource.len] = '\0';
    return sqs__queue_lookup(st, region, account, name);
}

char *sqs__queue_url(svc_call_t *c, const sqs_queue_t *q)
{
    return arena_sprintf(c->arena, "%s/%s/%s", c->ctx->endpoint, q->account, q->name);
}

/* Queue names: 1 to 80 of [A-Za-z0-9_-]; a FIFO queue's name ends in
 * ".fifo", which counts toward the 80
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html). */
bool sqs__valid_queue_name(const char *name, bool fifo)
{
    size_t n = strlen(name);
    if (n == 0 || n > KYOKA_SQS_MAX_QUEUE_NAME)
        return false;
    size_t base = n;
    if (fifo) {
        if (n <= 5 || strcmp(name + n - 5, ".fifo") != 0)
            return false;
        base = n - 5;
    }
    for (size_t i = 0; i < base; i++) {
        char ch = name[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
              ch == '_'))
            return false;
    }
    return true;
}

sqs_queue_t *sqs__queue_new(sqs_state_t *st, uint64_t id, const char *account, const char *name, const char *region,
                            sqs_settings_t *set)
{
    sqs_queue_t *q = xcalloc(1, sizeof *q);
    q->st = st;
    q->id = id;
    q->account = xstrdup(account);
    q->name = xstrdup(name);
    q->region = xstrdup(region);
    size_t kl = strlen(region) + 1 + strlen(account) + 1 + strlen(name);
    q->key = xmalloc(kl + 1);
    snprintf(q->key, kl + 1, "%s/%s/%s", region, account, name);
    size_t al = strlen(region) + strlen(account) + strlen(name) + 16;
    q->arn = xmalloc(al);
    snprintf(q->arn, al, "arn:aws:sqs:%s:%s:%s", region, account, name);
    q->set = *set;
    memset(set, 0, sizeof *set);
    q->tags = json_object();
    sqs_list_init(&q->ready);
    sqs_list_init(&q->all);
    sqs_list_init(&q->ready_groups);
    sqs_list_init(&q->dedup_order);
    sqs_list_init(&q->attempt_order);
    sqs_list_init(&q->waiters);
    q->due.cb = NULL; /* set by wait.c when armed */
    q->node.key = q->key;
    q->node.klen = kl;
    sqs__smap_put(&st->queues, &q->node);
    return q;
}

/* Free a queue and its messages (memory only). */
void sqs__queue_free(sqs_queue_t *q)
{
    if (!q)
        return;
    sqs_state_t *st = q->st;
    while (!sqs_list_empty(&q->all)) {
        sqs_msg_t *m = container_of(q->all.next, sqs_msg_t, all);
        sqs__msg_unplace(m);
        sqs__msg_unindex(st, m);
        sqs__msg_free(st, m);
    }
    dq_remove(&st->dq, &q->due);
    if (sqs_linked(&q->kick_link))
        sqs_list_unlink(&q->kick_link);
    sqs__dedup_clear(q, false);
    sqs__attempts_clear(q);
    sqs__smap_free(&q->groups);
    sqs__smap_free(&q->dedup);
    free(q->heap);
    sqs__settings_destroy(&q->set);
    json_decref(q->tags);
    free(q->key);
    free(q->account);
    free(q->name);
    free(q->region);
    free(q->arn);
    free(q);
}

/* ---- the timed heap: delayed and in-flight messages by visible_at ---- */

static void heap_set(sqs_queue_t *q, size_t i, sqs_msg_t *m)
{
    q->heap[i] = m;
    m->heap_idx = i;
}

static void heap_up(sqs_queue_t *q, size_t i)
{
    sqs_msg_t *m = q->heap[i];
    while (i > 1 && m->visible_at < q->heap[i / 2]->visible_at) {
        heap_set(q, i, q->heap[i / 2]);
        i /= 2;
    }
    heap_set(q, i, m);
}

static void heap_down(sqs_queue_t *q, size_t i)
{
    sqs_msg_t *m = q->heap[i];
    for (;;) {
        size_t ch = 2 * i;
        if (ch > q->heap_n)
            break;
        if (ch + 1 <= q->heap_n && q->heap[ch + 1]->visible_at < q->heap[ch]->visible_at)
            ch++;
        if (q->heap[ch]->visible_at >= m->visible_at)
            break;
        heap_set(q, i, q->heap[ch]);
        i = ch;
    }
    heap_set(q, i, m);
}

void sqs__heap_push(sqs_queue_t *q, sqs_msg_t *m)
{
    if (q->heap_n + 2 > q->heap_cap) {
        q->heap_cap = q->heap_cap ? q->heap_cap * 2 : 64;
        q->heap = xrealloc(q->heap, q->heap_cap * sizeof *q->heap);
    }
    q->heap_n++;
    heap_set(q, q->heap_n, m);
    heap_up(q, q->heap_n);
}

void sqs__heap_remove(sqs_queue_t *q, sqs_msg_t *m)
{
    size_t i = m->heap_idx;
    if (!i)
        return;
    sqs_msg_t *last = q->heap[q->heap_n];
    q->heap_n--;
    m->heap_idx = 0;
    if (i <= q->heap_n && last != m) {
        heap_set(q, i, last);
        heap_up(q, i);
        heap_down(q, last->heap_idx);
    }
}

void sqs__heap_update(sqs_queue_t *q, sqs_msg_t *m)
{
    if (!m->heap_idx)
        return;
    heap_up(q, m->heap_idx);
    heap_down(q, m->heap_idx);
}

int64_t sqs__heap_min(const sqs_queue_t *q) { return q->heap_n ? q->heap[1]->visible_at : INT64_MAX; }

void sqs__queue_promote(sqs_queue_t *q, int64_t now)
{
    bool any = false;
    while (q->heap_n && q->heap[1]->visible_at <= now) {
        sqs_msg_t *m = q->heap[1];
        sqs__heap_remove(q, m);
        if (m->state == SQS_INFLIGHT)
            q->n_inflight--;
        else
            q->n_delayed--;
        m->state = SQS_READY;
        q->n_ready++;
        if (q->set.fifo)
            sqs__group_update(q, m->group);
        else
            sqs_list_push(&q->ready, &m->link);
        any = true;
    }
    if (any)
        sqs__kick(q);
}

/* Messages older than the retention period go
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-basic-architecture.html).
 * The arrival list is in enqueue order, so this looks at its head only. */
void sqs__queue_expire(sqs_queue_t *q, int64_t now)
{
    int64_t limit = (int64_t)q->set.retention * 1000;
    while (!sqs_list_empty(&q->all)) {
        sqs_msg_t *m = container_of(q->all.next, sqs_msg_t, all);
        if (m->sent_ms + limit > now)
            break;
        sqs__msg_delete(m);
    }
}

/* Remove every message of q (store rows too). */
static void queue_drop_messages(sqs_queue_t *q)
{
    while (!sqs_list_empty(&q->all)) {
        sqs_msg_t *m = container_of(q->all.next, sqs_msg_t, all);
        sqs__msg_delete(m);
    }
}

static void deleted_forget_expired(sqs_state_t *st, int64_t now)
{
    for (size_t i = 0; i < st->deleted.nb; i++) {
        sqs_snode_t **p = &st->deleted.b[i];
        while (*p) {
            sqs_deleted_t *d = container_of(*p, sqs_deleted_t, node);
            if (d->deleted_ms + SQS_DELETED_RECENTLY_MS <= now) {
                *p = d->node.next;
                st->deleted.n--;
                free(d);
            } else {
                p = &(*p)->next;
            }
        }
    }
}

/* ---- pagination tokens: the base64 of the last name returned ---- */

static int cmp_queue_names(const void *a, const void *b)
{
    return strcmp((*(sqs_queue_t *const *)a)->name, (*(sqs_queue_t *const *)b)->name);
}

/* Page through a sorted array of queues into output member `member`. */
static int page_queues(svc_call_t *c, sqs_queue_t **qs, size_t n, const char *member)
{
    long long max = 0;
    bool has_max = sqs_in_int(c, c->input, "MaxResults", &max);
    if (has_max && (max < 1 || max > SQS_MAX_LIST_RESULTS)) {
        svc_error(c, "InvalidParameterValue", 400,
                  "Value %lld for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and "
                  "1000.", max);
        return -1;
    }
    const char *token = svc_in_str(c, "NextToken");
    size_t start = 0;
    if (token && *token) {
        unsigned char *raw = NULL;
        ssize_t rn = base64_decode(c->arena, strv_from(token), &raw);
        if (rn <= 0 || (size_t)rn > 200) {
            svc_error(c, "InvalidParameterValue", 400, "Invalid NextToken value.");
            return -1;
        }
        char *after = arena_strndup(c->arena, (const char *)raw, (size_t)rn);
        while (start < n && strcmp(qs[start]->name, after) <= 0)
            start++;
    }
    size_t limit = has_max ? (size_t)max : SQS_MAX_LIST_RESULTS;
    json_t *urls = json_array();
    size_t i = start;
    for (; i < n && json_array_size(urls) < limit; i++)
        json_array_append_new(urls, json_string(sqs__queue_url(c, qs[i])));
    json_t *out = svc_output(c);
    if (json_array_size(urls) || strcmp(member, "queueUrls") == 0)
        json_object_set_new(out, member, urls);
    else
        json_decref(urls);
    /* AWS returns a NextToken only when MaxResults was given. */
    if (has_max && i < n) {
        const char *last = qs[i - 1]->name;
        json_object_set_new(out, "NextToken", json_string(base64_encode(c->arena, last, strlen(last))));
    }
    return 0;
}

/* ==== operation handlers ==== */

int sqs_create_queue(svc_call_t *c)
{
    sqs_state_t *st = c->state;
    const char *name = svc_in_str(c, "QueueName");
    json_t *attrs = svc_in(c, "Attributes");
    json_t *tags = svc_in(c, "tags");
    bool fifo = false;
    const char *fv = json_string_value(json_object_get(attrs, "FifoQueue"));
    if (fv) {
        if (strcmp(fv, "true") == 0 || strcmp(fv, "TRUE") == 0 || strcmp(fv, "True") == 0) {
            fifo = true;
        } else if (strcmp(fv, "false") != 0 && strcmp(fv, "FALSE") != 0 && strcmp(fv, "False") != 0) {
            svc_error(c, "InvalidAttributeValue", 400, "Invalid value for the parameter FifoQueue.");
            return 0;
        }
    }
    if (!sqs__valid_queue_name(name, fifo)) {
        if (fifo)
            svc_error(c, "InvalidParameterValue", 400,
                      "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must "
                      "end with .fifo suffix and be 1 to 80 in length");
        else
            svc_error(c, "InvalidParameterValue", 400,
                      "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length");
        return 0;
    }
    const char *account = caller_account(c);
    int64_t now = kyoka_clock_now_ms();
    sqs_queue_t *q = sqs__queue_lookup(st, sqs__call_region(c), account, name);
    if (q) {
        /* Same name: fine when every attribute given equals the queue's
         * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html). */
        if (json_object_size(attrs)) {
            sqs_settings_t tmp;
            sqs__settings_copy(&tmp, &q->set);
            int rc = sqs__settings_apply(c, &tmp, attrs, true, q->arn);
            const char *k;
            json_t *v;
            if (rc == 0) {
                json_object_foreach(attrs, k, v) {
                    const char *cur, *want;
                    if (strcmp(k, "FifoQueue") == 0) {
                        cur = q->set.fifo ? "true" : "false";
                        want = fifo ? "true" : "false";
                    } else {
                        cur = sqs__settings_value(c->arena, &q->set, k);
                        want = sqs__settings_value(c->arena, &tmp, k);
                    }
                    if ((cur == NULL) != (want == NULL) || (cur && strcmp(cur, want) != 0)) {
                        svc_error(c, "QueueNameExists", 0,
                                  "A queue already exists with the same name and a different value for attribute %s", k);
                        break;
                    }
                }
            }
            sqs__settings_destroy(&tmp);
            if (svc_failed(c))
                return 0;
        }
        json_object_set_new(svc_output(c), "QueueUrl", json_string(sqs__queue_url(c, q)));
        return 0;
    }
    deleted_forget_expired(st, now);
    char key[256];
    int kl = snprintf(key, sizeof key, "%s/%s/%s", sqs__call_region(c), account, name);
    if (kl > 0 && (size_t)kl < sizeof key && sqs__smap_get(&st->deleted, key, (size_t)kl)) {
        svc_error(c, "QueueDeletedRecently", 0,
                  "You must wait 60 seconds after deleting a queue before you can create another with the same name.");
        return 0;
    }
    if (json_object_size(tags) > SQS_MAX_TAGS) {
        svc_error(c, "InvalidParameterValue", 400, "Too many tags added for queue %s.", name);
        return 0;
    }
    const char *region = sqs__call_region(c);
    char *arn = arena_sprintf(c->arena, "arn:aws:sqs:%s:%s:%s", region, account, name);
    sqs_settings_t set;
    sqs__settings_defaults(&set, fifo);
    if (attrs && sqs__settings_apply(c, &set, attrs, true, arn) != 0) {
        sqs__settings_destroy(&set);
        return 0;
    }
    q = sqs__queue_new(st, st->next_queue_id++, account, name, region, &set);
    q->created_ms = q->modified_ms = now;
    if (json_is_object(tags))
        json_object_update(q->tags, tags);
    sqs__queue_persist(q);
    json_object_set_new(svc_output(c), "QueueUrl", json_string(sqs__queue_url(c, q)));
    return 0;
}

int sqs_get_queue_url(svc_call_t *c)
{
    const char *owner = svc_in_str(c, "QueueOwnerAWSAccountId");
    sqs_queue_t *q = sqs__queue_lookup(c->state, sqs__call_region(c), owner && *owner ? owner : caller_account(c),
                                       svc_in_str(c, "QueueName"));
    if (!q) {
        sqs__err_no_queue(c);
        return 0;
    }
    json_object_set_new(svc_output(c), "QueueUrl", json_string(sqs__queue_url(c, q)));
    return 0;
}

int sqs_list_queues(svc_call_t *c)
{
    sqs_state_t *st = c->state;
    const char *prefix = svc_in_str(c, "QueueNamePrefix");
    const char *account = caller_account(c), *region = sqs__call_region(c);
    size_t pl = prefix ? strlen(prefix) : 0;
    sqs_queue_t **qs = arena_alloc(c->arena, (st->queues.n ? st->queues.n : 1) * sizeof *qs);
    size_t n = 0, b = 0;
    for (sqs_snode_t *node = NULL; (node = sqs__smap_next(&st->queues, &b, node));) {
        sqs_queue_t *q = container_of(node, sqs_queue_t, node);
        if (strcmp(q->account, account) == 0 && strcmp(q->region, region) == 0 &&
            (!pl || strncmp(q->name, prefix, pl) == 0))
            qs[n++] = q;
    }
    qsort(qs, n, sizeof *qs, cmp_queue_names);
    page_queues(c, qs, n, "QueueUrls");
    return 0;
}

int sqs_delete_queue(svc_call_t *c)
{
    sqs_state_t *st = c->state;
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    int64_t now = kyoka_clock_now_ms();
    sqs__waiters_flush(q);
    sqs__tasks_queue_gone(st, q);
    queue_drop_messages(q);
    sqs__dedup_clear(q, true);
    sqs__write_begin(st);
    sqlite3_stmt *s = store_stmt(st->store, "DELETE FROM sqs_queues WHERE id=?");
    sqlite3_bind_int64(s, 1, (sqlite3_int64)q->id);
    sqs__step(st, s);
    /* The name stays taken for 60 seconds
     * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteQueue.html). */
    deleted_forget_expired(st, now);
    sqs_snode_t *old = sqs__smap_get(&st->deleted, q->key, strlen(q->key));
    if (old) {
        sqs__smap_del(&st->deleted, old);
        free(container_of(old, sqs_deleted_t, node));
    }
    size_t kl = strlen(q->key);
    sqs_deleted_t *d = xcalloc(1, sizeof *d + kl + 1);
    memcpy(d->key, q->key, kl);
    d->node.key = d->key;
    d->node.klen = kl;
    d->deleted_ms = now;
    sqs__smap_put(&st->deleted, &d->node);
    sqs__persist_deleted(st, q->key, now);
    sqs__smap_del(&st->queues, &q->node);
    sqs__queue_free(q);
    return 0;
}

static const char *computed_value(svc_call_t *c, sqs_queue_t *q, const char *name)
{
    if (strcmp(name, "ApproximateNumberOfMessages") == 0)
        return arena_sprintf(c->arena, "%zu", q->n_ready);
    if (strcmp(name, "ApproximateNumberOfMessagesNotVisible") == 0)
        return arena_sprintf(c->arena, "%zu", q->n_inflight);
    if (strcmp(name, "ApproximateNumberOfMessagesDelayed") == 0)
        return arena_sprintf(c->arena, "%zu", q->n_delayed);
    if (strcmp(name, "CreatedTimestamp") == 0)
        return arena_sprintf(c->arena, "%" PRId64, q->created_ms / 1000);
    if (strcmp(name, "LastModifiedTimestamp") == 0)
        return arena_sprintf(c->arena, "%" PRId64, q->modified_ms / 1000);
    if (strcmp(name, "QueueArn") == 0)
        return q->arn;
    return sqs__settings_value(c->arena, &q->set, name);
}

int sqs_get_queue_attributes(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    json_t *names = svc_in(c, "AttributeNames");
    size_t i;
    json_t *jn;
    bool all = false;
    json_array_foreach(names, i, jn) {
        const char *n = json_string_value(jn);
        bool known = false;
        for (size_t k = 0; n && sqs__attr_names[k]; k++)
            known |= strcmp(n, sqs__attr_names[k]) == 0;
        if (!known) {
            svc_error(c, "InvalidAttributeName", 400, "Unknown Attribute %s.", n ? n : "");
            return 0;
        }
        all |= strcmp(n, "All") == 0;
    }
    int64_t now = kyoka_clock_now_ms();
    sqs__queue_promote(q, now);
    sqs__queue_expire(q, now);
    json_t *out = json_object();
    if (all) {
        static const char *const order[] = {
            "QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp", "VisibilityTimeout",
            "MaximumMessageSize", "MessageRetentionPeriod", "DelaySeconds", "Policy", "ReceiveMessageWaitTimeSeconds",
            "RedrivePolicy", "RedriveAllowPolicy", "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope",
            "FifoThroughputLimit", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled", NULL};
        for (size_t k = 0; order[k]; k++) {
            const char *v = computed_value(c, q, order[k]);
            if (v)
                json_object_set_new(out, order[k], json_string(v));
        }
    } else {
        json_array_foreach(names, i, jn) {
            const char *n = json_string_value(jn);
            const char *v = computed_value(c, q, n);
            if (v)
                json_object_set_new(out, n, json_string(v));
        }
    }
    if (json_object_size(out))
        json_object_set_new(svc_output(c), "Attributes", out);
    else
        json_decref(out);
    return 0;
}

int sqs_set_queue_attributes(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    json_t *attrs = svc_in(c, "Attributes");
    sqs_settings_t tmp;
    sqs__settings_copy(&tmp, &q->set);
    if (sqs__settings_apply(c, &tmp, attrs, false, q->arn) != 0) {
        sqs__settings_destroy(&tmp);
        return 0;
    }
    sqs__settings_destroy(&q->set);
    q->set = tmp;
    q->modified_ms = kyoka_clock_now_ms();
    sqs__queue_persist(q);
    return 0;
}

int sqs_purge_queue(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    int64_t now = kyoka_clock_now_ms();
    /* https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_PurgeQueue.html */
    if (q->purged_ms && now - q->purged_ms < SQS_PURGE_INTERVAL_MS) {
        svc_error(c, "PurgeQueueInProgress", 0, "Only one PurgeQueue operation on %s is allowed every 60 seconds.",
                  q->name);
        return 0;
    }
    /* Purging deletes messages, and "Amazon SQS continues tracking the
     * deduplication ID even after the message has been received and
     * deleted" (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-key-terms.html):
     * the deduplication window outlives the purge. */
    queue_drop_messages(q);
    q->purged_ms = now;
    sqs__queue_persist(q);
    return 0;
}

int sqs_tag_queue(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    json_t *tags = svc_in(c, "Tags");
    json_t *merged = json_copy(q->tags);
    json_object_update(merged, tags);
    const char *k;
    json_t *v;
    json_object_foreach(tags, k, v) {
        size_t kl = strlen(k);
        if (kl == 0 || kl > 128 || json_string_length(v) > 256) {
            svc_error(c, "InvalidParameterValue", 400, "Tag keys must be between 1 and 128 characters, and tag values "
                                                       "at most 256 characters.");
            json_decref(merged);
            return 0;
        }
    }
    if (json_object_size(merged) > SQS_MAX_TAGS) {
        svc_error(c, "InvalidParameterValue", 400, "Too many tags added for queue %s.", q->name);
        json_decref(merged);
        return 0;
    }
    json_decref(q->tags);
    q->tags = merged;
    sqs__queue_persist(q);
    return 0;
}

int sqs_untag_queue(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    size_t i;
    json_t *k;
    json_array_foreach(svc_in(c, "TagKeys"), i, k) {
        if (json_is_string(k))
            json_object_del(q->tags, json_string_value(k));
    }
    sqs__queue_persist(q);
    return 0;
}

int sqs_list_queue_tags(svc_call_t *c)
{
    sqs_queue_t *q = sqs__queue_get_or_fail(c);
    if (!q)
        return 0;
    if (json_object_size(q->tags))
        json_object_set_new(svc_output(c), "Tags", json_copy(q->tags));
    return 0;
}

int sqs_list_dead_letter_source_queues(svc_call_t *c)
{
    sqs_state_t *st = c->state;
    sqs_queue_t *dlq = sqs__queue_get_or_fail(c);
    if (!dlq)
        return 0;
    sqs_queue_t **qs = arena_alloc(c->arena, (st->queues.n ? st->queues.n : 1) * sizeof *qs);
    size_t n = 0, b = 0;
    for (sqs_snode_t *node = NULL; (node = sqs__smap_next(&st->queues, &b, node));) {
        sqs_queue_t *q = container_of(node, sqs_queue_t, node);
        if (q->set.redrive_target && strcmp(q->set.redrive_target, dlq->arn) == 0)
            qs[n++] = q;
    }
    qsort(qs, n, sizeof *qs, cmp_queue_names);
    page_queues(c, qs, n, "queueUrls");
    return 0;
}
