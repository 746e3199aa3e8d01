/*
 * Notifications for stream pollers (kinesis_listen in kinesis.h).
 *
 * What a put writes is collected per store batch (one job per batch: the
 * shards that got records, the shard changes and deletions); the job asks
 * the store to call back when that batch is durable and only then tells the
 * listeners, so a poller never sees a record that a crash could still take
 * away, and never runs inside the request that wrote it.
 *
 * A job can outlive the service state (shutdown): the state disowns its
 * jobs when freed, and a disowned job just frees itself.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/banned.h"

typedef struct notify_ev {
    kinesis_event_t ev;
    uint32_t gid; /* KINESIS_EV_RECORDS */
    char *arn;    /* the others */
} notify_ev_t;

typedef struct kinesis_notify_job {
    kinesis_t *k; /* NULL once disowned */
    struct kinesis_notify_job *prev, *next;
    notify_ev_t *evs;
    size_t n, cap;
} notify_job_t;

static void on_job_durable(void *data, int status);

static notify_job_t *open_job(kinesis_t *k)
{
    uint64_t batch = store_commits(k->store) + 1;
    if (k->job && k->job_batch == batch)
        return k->job;
    notify_job_t *j = xcalloc(1, sizeof *j);
    j->k = k;
    j->next = k->jobs;
    if (j->next)
        j->next->prev = j;
    k->jobs = j;
    k->job = j;
    k->job_batch = batch;
    store_when_durable(k->store, on_job_durable, j);
    return j;
}

static void job_add(notify_job_t *j, notify_ev_t ev)
{
    if (j->n == j->cap) {
        j->cap = j->cap ? j->cap * 2 : 8;
        j->evs = xrealloc(j->evs, j->cap * sizeof *j->evs);
    }
    j->evs[j->n++] = ev;
}

void kinesis__notify_records(kinesis_shard_t *sh)
{
    kinesis_t *k = sh->s->st;
    if (!k->listeners)
        return;
    notify_job_t *j = open_job(k);
    if (sh->notify_batch == k->job_batch)
        return;
    sh->notify_batch = k->job_batch;
    job_add(j, (notify_ev_t){KINESIS_EV_RECORDS, sh->gid, NULL});
}

void kinesis__notify_event(kinesis_t *k, const char *arn, kinesis_event_t ev)
{
    if (!k->listeners)
        return;
    store_write_begin(k->store); /* a batch to follow, even when nothing else was written */
    job_add(open_job(k), (notify_ev_t){ev, 0, xstrdup(arn)});
}

static void job_free(notify_job_t *j)
{
    for (size_t i = 0; i < j->n; i++)
        free(j->evs[i].arn);
    free(j->evs);
    free(j);
}

static void job_unlink(notify_job_t *j)
{
    kinesis_t *k = j->k;
    if (j->prev)
        j->prev->next = j->next;
    else if (k)
        k->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    if (k && k->job == j)
        k->job = NULL;
    j->prev = j->next = NULL;
}

static void tell(kinesis_t *k, kinesis_event_t ev, const char *arn, const char *shard_id)
{
    for (kinesis_listener_t *l = k->listeners, *next; l; l = next) {
        next = l->next;
        if (strcmp(l->arn, arn) == 0)
            l->fn(l->data, ev, arn, shard_id);
    }
}

static void on_job_durable(void *data, int status)
{
    notify_job_t *j = data;
    kinesis_t *k = j->k;
    job_unlink(j);
    if (k && status == 0 && !k->closing) {
        for (size_t i = 0; i < j->n; i++) {
            notify_ev_t *e = &j->evs[i];
            if (e->ev == KINESIS_EV_RECORDS) {
                kinesis_shard_t *sh = e->gid < k->ngid ? k->by_gid[e->gid] : NULL;
                if (sh)
                    tell(k, e->ev, sh->s->arn, sh->id);
            } else {
                tell(k, e->ev, e->arn, NULL);
            }
        }
    }
    job_free(j);
}

void kinesis__notify_disown(kinesis_t *k)
{
    while (k->jobs) {
        notify_job_t *j = k->jobs;
        job_unlink(j);
        j->k = NULL;
    }
    k->job = NULL;
}

kinesis_listener_t *kinesis_listen(kinesis_t *k, const char *stream_arn, kinesis_listen_fn fn, void *data)
{
    kinesis_listener_t *l = xcalloc(1, sizeof *l);
    l->k = k;
    l->arn = xstrdup(stream_arn);
    l->fn = fn;
    l->data = data;
    l->next = k->listeners;
    if (l->next)
        l->next->prev = l;
    k->listeners = l;
    return l;
}

void kinesis_unlisten(kinesis_listener_t *l)
{
    if (!l)
        return;
    if (l->prev)
        l->prev->next = l->next;
    else if (l->k)
        l->k->listeners = l->next;
    if (l->next)
        l->next->prev = l->prev;
    free(l->arn);
    free(l);
}
