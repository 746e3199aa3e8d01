/* EventBridge end to end: PutEvents entries per second accepted, and
 * delivered to an SQS queue target, on a bus holding R rules (one that
 * matches, R-1 on other sources and detail types, as on a shared bus), so
 * the per-event cost of matching shows as R grows from 10 to 10,000.
 *
 *   events_bench ENDPOINT [--rules R] [--events E] [--threads T] [--json]
 *
 * Each thread has its own keep-alive connection and sends PutEvents of 10
 * entries. "accepted" is E over the time to the last 200; "delivered" is E
 * over the time until the queue holds E messages (ApproximateNumberOfMessages).
 * The same calls run against moto (run.sh). The pure matcher's cost is
 * bench/pattern_bench's.
 */
#include "aws_json_client.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *endpoint;
static int nevents = 20000, nthreads = 4;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void client(aws_json_client_t *c, const char *service, const char *version)
{
    memset(c, 0, sizeof *c);
    c->region = "us-east-1";
    c->service = service;
    c->json_version = version;
    c->access_key = "test";
    c->secret_key = "test";
    if (aws_json_client_open(c, endpoint) != 0) {
        fprintf(stderr, "events_bench: cannot connect to %s\n", endpoint);
        exit(1);
    }
}

static int call(aws_json_client_t *c, const char *target, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int call(aws_json_client_t *c, const char *target, const char *fmt, ...)
{
    char body[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    return aws_json_call(c, target, body, (size_t)n);
}

static void *sender(void *arg)
{
    int share = *(int *)arg;
    aws_json_client_t c;
    client(&c, "events", "1.1");
    char body[4096];
    for (int sent = 0; sent < share; sent += 10) {
        size_t n = (size_t)snprintf(body, sizeof body, "{\"Entries\":[");
        for (int i = 0; i < 10; i++)
            n += (size_t)snprintf(body + n, sizeof body - n,
                                  "%s{\"Source\":\"bench.orders\",\"DetailType\":\"Order Placed\",\"Detail\":"
                                  "\"{\\\"order\\\":%d,\\\"amount\\\":%d,\\\"region\\\":\\\"eu-west-1\\\"}\"}",
                                  i ? "," : "", sent + i, (sent + i) % 500);
        n += (size_t)snprintf(body + n, sizeof body - n, "]}");
        int st = aws_json_call(&c, "AWSEvents.PutEvents", body, n);
        if (st != 200) {
            fprintf(stderr, "events_bench: PutEvents answered %d: %.200s\n", st, c.body ? c.body : "");
            exit(1);
        }
    }
    aws_json_client_close(&c);
    return NULL;
}

static long queue_depth(aws_json_client_t *q, const char *url)
{
    if (call(q, "AmazonSQS.GetQueueAttributes", "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"ApproximateNumberOfMessages\"]}",
             url) != 200)
        return -1;
    const char *p = q->body ? strstr(q->body, "\"ApproximateNumberOfMessages\"") : NULL;
    p = p ? strchr(p + 29, '"') : NULL;
    return p ? atol(p + 1) : -1;
}

int main(int argc, char **argv)
{
    int nrules = 10;
    bool json = false;
    if (argc < 2) {
        fprintf(stderr, "usage: events_bench ENDPOINT [--rules R] [--events E] [--threads T] [--json]\n");
        return 2;
    }
    endpoint = argv[1];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            nrules = atoi(argv[++i]);
        else if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
            nevents = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            nthreads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
    }
    nevents -= nevents % (10 * nthreads);
    aws_json_client_t ev, q;
    client(&ev, "events", "1.1");
    client(&q, "sqs", "1.0");
    char qname[64], url[256];
    snprintf(qname, sizeof qname, "eb-bench-%d", nrules);
    if (call(&q, "AmazonSQS.CreateQueue", "{\"QueueName\":\"%s\"}", qname) != 200) {
        fprintf(stderr, "events_bench: CreateQueue failed: %.200s\n", q.body);
        return 1;
    }
    /* "QueueUrl": "..." (with or without a space, as peers write it) */
    const char *u = q.body ? strstr(q.body, "\"QueueUrl\"") : NULL;
    u = u ? strchr(u + 10, '"') : NULL;
    if (!u) {
        fprintf(stderr, "events_bench: no QueueUrl in %.200s\n", q.body ? q.body : "");
        return 1;
    }
    snprintf(url, sizeof url, "%.*s", (int)strcspn(u + 1, "\""), u + 1);
    char arn[128];
    snprintf(arn, sizeof arn, "arn:aws:sqs:us-east-1:000000000000:%s", qname);
    call(&q, "AmazonSQS.SetQueueAttributes",
         "{\"QueueUrl\":\"%s\",\"Attributes\":{\"Policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[{"
         "\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":{\\\"Service\\\":\\\"events.amazonaws.com\\\"},\\\"Action\\\":"
         "\\\"sqs:SendMessage\\\",\\\"Resource\\\":\\\"%s\\\"}]}\"}}",
         url, arn);
    double t0 = now_s();
    for (int i = 1; i < nrules; i++)
        if (call(&ev, "AWSEvents.PutRule",
                 "{\"Name\":\"other-%d\",\"EventPattern\":\"{\\\"source\\\":[\\\"app.%d\\\"],\\\"detail-type\\\":["
                 "\\\"Type %d\\\"],\\\"detail\\\":{\\\"amount\\\":[{\\\"numeric\\\":[\\\">\\\",%d]}]}}\"}",
                 i, i % 2500, i % 8, i % 100) != 200) {
            fprintf(stderr, "events_bench: PutRule failed: %.200s\n", ev.body);
            return 1;
        }
    call(&ev, "AWSEvents.PutRule",
         "{\"Name\":\"match\",\"EventPattern\":\"{\\\"source\\\":[\\\"bench.orders\\\"],\\\"detail\\\":{\\\"amount\\\":"
         "[{\\\"numeric\\\":[\\\">=\\\",0]}]}}\"}");
    call(&ev, "AWSEvents.PutTargets", "{\"Rule\":\"match\",\"Targets\":[{\"Id\":\"q\",\"Arn\":\"%s\"}]}", arn);
    double setup = now_s() - t0;

    pthread_t th[64];
    int share = nevents / nthreads;
    double start = now_s();
    for (int i = 0; i < nthreads && i < 64; i++)
        pthread_create(&th[i], NULL, sender, &share);
    for (int i = 0; i < nthreads && i < 64; i++)
        pthread_join(th[i], NULL);
    double accepted = now_s() - start;
    long depth = 0;
    double deadline = now_s() + 120;
    while ((depth = queue_depth(&q, url)) < nevents && now_s() < deadline)
        usleep(2000);
    double delivered = now_s() - start;

    /* Clean up so the next run starts from an empty bus. */
    call(&ev, "AWSEvents.RemoveTargets", "{\"Rule\":\"match\",\"Ids\":[\"q\"]}");
    call(&ev, "AWSEvents.DeleteRule", "{\"Name\":\"match\"}");
    for (int i = 1; i < nrules; i++)
        call(&ev, "AWSEvents.DeleteRule", "{\"Name\":\"other-%d\"}", i);
    call(&q, "AmazonSQS.DeleteQueue", "{\"QueueUrl\":\"%s\"}", url);
    aws_json_client_close(&ev);
    aws_json_client_close(&q);
    if (json)
        printf("{\"rules\":%d,\"events\":%d,\"accepted_per_s\":%.0f,\"delivered_per_s\":%.0f,\"delivered\":%ld,"
               "\"us_per_event\":%.2f,\"setup_s\":%.2f}\n",
               nrules, nevents, nevents / accepted, depth >= nevents ? nevents / delivered : 0.0, depth,
               accepted * 1e6 / nevents, setup);
    else
        printf("rules=%d events=%d accepted=%.0f/s delivered=%.0f/s (%ld in queue) %.2f us/event (setup %.1fs)\n",
               nrules, nevents, nevents / accepted, depth >= nevents ? nevents / delivered : 0.0, depth,
               accepted * 1e6 / nevents, setup);
    return depth >= nevents ? 0 : 1;
}
