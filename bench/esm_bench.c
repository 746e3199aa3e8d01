/*
 * esm_bench: queue -> function -> queue through an event source mapping.
 *
 *   esm_bench http://127.0.0.1:PORT IN_QUEUE_URL OUT_QUEUE_URL N [--senders S] [--receivers R]
 *             [--interval-ms MS]
 *
 * --interval-ms paces the senders (one message per call, MS apart) to show
 * the delay when the mapping is not backlogged.
 *
 * Senders put N messages on IN (SendMessageBatch of 10, SQS's JSON protocol,
 * signed), each body the CLOCK_MONOTONIC time it was sent; the function
 * (bench/lambda_bootstrap.c built as lambda_relay_bootstrap) sends every
 * body on to OUT; receivers long-poll OUT, delete, and take each message's
 * delay as arrival time minus the time in its body. Prints messages per
 * second from the first send to the last arrival, and p50/p99/max delay.
 * Everything runs on one machine, so the monotonic clock is shared.
 */
#include "aws_json_client.h"

#include "core/core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
    const char *endpoint, *in_url, *out_url;
    long n;
    int senders, receivers;
    int interval_ms;
} O = {.senders = 4, .receivers = 4};

static uint64_t *g_delay;
static long g_received;
static long g_next_batch;
static uint64_t g_first_send, g_last_arrival;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static volatile int g_stop;
static long g_errors;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void client(aws_json_client_t *c)
{
    memset(c, 0, sizeof *c);
    c->service = "sqs";
    c->access_key = "test";
    c->secret_key = "test";
    if (aws_json_client_open(c, O.endpoint) != 0) {
        fprintf(stderr, "esm_bench: cannot connect to %s\n", O.endpoint);
        exit(1);
    }
}

static void *sender(void *arg)
{
    (void)arg;
    aws_json_client_t c;
    client(&c);
    char body[4096];
    long per = O.interval_ms ? 1 : 10;
    long batches = (O.n + per - 1) / per;
    for (;;) {
        long b = __atomic_fetch_add(&g_next_batch, 1, __ATOMIC_RELAXED);
        if (b >= batches)
            break;
        if (O.interval_ms) {
            struct timespec ts = {O.interval_ms / 1000, (long)(O.interval_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        uint64_t t = now_ns();
        pthread_mutex_lock(&g_mu);
        if (!g_first_send || t < g_first_send)
            g_first_send = t;
        pthread_mutex_unlock(&g_mu);
        int n = snprintf(body, sizeof body, "{\"QueueUrl\":\"%s\",\"Entries\":[", O.in_url);
        for (long i = 0; i < per && b * per + i < O.n; i++)
            n += snprintf(body + n, sizeof body - (size_t)n, "%s{\"Id\":\"%ld\",\"MessageBody\":\"%llu\"}",
                          i ? "," : "", i, (unsigned long long)now_ns());
        n += snprintf(body + n, sizeof body - (size_t)n, "]}");
        if (aws_json_call(&c, "AmazonSQS.SendMessageBatch", body, (size_t)n) != 200)
            __atomic_add_fetch(&g_errors, 1, __ATOMIC_RELAXED);
    }
    aws_json_client_close(&c);
    return NULL;
}

/* The next "key":"value" after p, value copied into out. */
static const char *next_field(const char *p, const char *key, char *out, size_t cap)
{
    const char *k = strstr(p, key);
    if (!k)
        return NULL;
    k += strlen(key);
    const char *e = strchr(k, '"');
    if (!e || (size_t)(e - k) >= cap)
        return NULL;
    memcpy(out, k, (size_t)(e - k));
    out[e - k] = '\0';
    return e;
}

static void *receiver(void *arg)
{
    (void)arg;
    aws_json_client_t c;
    client(&c);
    char req[1024], del[16384], handle[1024], bodyv[64];
    int rn = snprintf(req, sizeof req,
                      "{\"QueueUrl\":\"%s\",\"MaxNumberOfMessages\":10,\"WaitTimeSeconds\":1}", O.out_url);
    while (!g_stop) {
        if (aws_json_call(&c, "AmazonSQS.ReceiveMessage", req, (size_t)rn) != 200) {
            __atomic_add_fetch(&g_errors, 1, __ATOMIC_RELAXED);
            continue;
        }
        uint64_t arrival = now_ns();
        int dn = snprintf(del, sizeof del, "{\"QueueUrl\":\"%s\",\"Entries\":[", O.out_url);
        int k = 0;
        const char *p = c.body;
        uint64_t delays[10];
        while (k < 10 && (p = next_field(p, "\"ReceiptHandle\":\"", handle, sizeof handle))) {
            const char *q = next_field(p, "\"Body\":\"", bodyv, sizeof bodyv);
            if (!q)
                break;
            delays[k] = arrival - strtoull(bodyv, NULL, 10);
            dn += snprintf(del + dn, sizeof del - (size_t)dn, "%s{\"Id\":\"%d\",\"ReceiptHandle\":\"%s\"}",
                           k ? "," : "", k, handle);
            k++;
            p = q;
        }
        if (!k)
            continue;
        dn += snprintf(del + dn, sizeof del - (size_t)dn, "]}");
        aws_json_call(&c, "AmazonSQS.DeleteMessageBatch", del, (size_t)dn);
        pthread_mutex_lock(&g_mu);
        for (int i = 0; i < k && g_received < O.n; i++)
            g_delay[g_received++] = delays[i];
        if (arrival > g_last_arrival)
            g_last_arrival = arrival;
        if (g_received >= O.n)
            g_stop = 1;
        pthread_mutex_unlock(&g_mu);
    }
    aws_json_client_close(&c);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: esm_bench ENDPOINT IN_QUEUE_URL OUT_QUEUE_URL N [--senders S] [--receivers R]\n");
        return 2;
    }
    O.endpoint = argv[1];
    O.in_url = argv[2];
    O.out_url = argv[3];
    O.n = atol(argv[4]);
    for (int i = 5; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--senders") == 0)
            O.senders = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--receivers") == 0)
            O.receivers = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--interval-ms") == 0)
            O.interval_ms = atoi(argv[i + 1]);
    }
    if (O.n < 1 || O.senders < 1 || O.senders > 64 || O.receivers < 1 || O.receivers > 64)
        return 2;
    g_delay = calloc((size_t)O.n, sizeof *g_delay);
    pthread_t r[64], s[64];
    for (int i = 0; i < O.receivers; i++)
        pthread_create(&r[i], NULL, receiver, NULL);
    for (int i = 0; i < O.senders; i++)
        pthread_create(&s[i], NULL, sender, NULL);
    for (int i = 0; i < O.senders; i++)
        pthread_join(s[i], NULL);
    /* Progress while the function drains the queue; give up after 120 s. */
    uint64_t deadline = now_ns() + 120ull * 1000000000ull, last = now_ns();
    while (!g_stop && now_ns() < deadline) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (now_ns() - last > 5ull * 1000000000ull) {
            fprintf(stderr, "  ... %ld of %ld messages arrived\n", __atomic_load_n(&g_received, __ATOMIC_RELAXED),
                    O.n);
            last = now_ns();
        }
    }
    g_stop = 1;
    for (int i = 0; i < O.receivers; i++)
        pthread_join(r[i], NULL);
    long got = g_received;
    if (!got) {
        printf("no message arrived (errors %ld)\n", g_errors);
        return 1;
    }
    qsort(g_delay, (size_t)got, sizeof *g_delay, cmp_u64);
    double secs = (double)(g_last_arrival - g_first_send) / 1e9;
    printf("%ld of %ld messages in %.2f s = %.0f msg/s; delay p50 %.2f ms, p99 %.2f ms, max %.2f ms; errors %ld\n",
           got, O.n, secs, (double)got / secs, (double)g_delay[got / 2] / 1e6,
           (double)g_delay[(size_t)((double)got * 0.99)] / 1e6, (double)g_delay[got - 1] / 1e6, g_errors);
    free(g_delay);
    return got == O.n ? 0 : 1;
}
