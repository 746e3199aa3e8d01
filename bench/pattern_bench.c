/* Event-pattern matching speed (src/pattern): ns per event for a set of
 * 10, 1,000 and 10,000 patterns of the shapes EventBridge rules usually
 * have, against the naive way (one single-pattern set per pattern, each
 * asked in turn) as the baseline.
 *
 * Patterns: {"source":["app.K"],"detail-type":["<one of 8 types>"],
 * "detail":{"status":[two of 5],"amount":[{"numeric":[">",N]}]}}, with a
 * quarter of them using a prefix on detail.region or an anything-but on
 * detail.status instead, and sources spread over N/4 applications, so
 * several rules share a source as they do on a real bus. Events have the
 * shape of PutEvents entries with a dozen fields, one in five with an
 * array of line items.
 *
 *   pattern_bench [--json] [--seconds S]
 */
#include "pattern/pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static const char *const TYPES[] = {"Order Placed",    "Order Paid",     "Order Shipped", "Order Cancelled",
                                    "Payment Failed",  "Refund Issued",  "Item Viewed",   "Cart Updated"};
static const char *const STATUS[] = {"created", "paid", "shipped", "cancelled", "failed"};
static const char *const REGIONS[] = {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1"};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void make_pattern(char *out, size_t cap, uint32_t nsources)
{
    uint32_t src = rnd(nsources);
    const char *type = TYPES[rnd(8)];
    uint32_t s1 = rnd(5), s2 = (s1 + 1 + rnd(4)) % 5;
    switch (rnd(4)) {
    case 0:
        snprintf(out, cap,
                 "{\"source\":[\"app.%u\"],\"detail-type\":[\"%s\"],\"detail\":{\"region\":[{\"prefix\":\"%.3s\"}],"
                 "\"amount\":[{\"numeric\":[\">=\",%u,\"<\",%u]}]}}",
                 src, type, REGIONS[rnd(5)], rnd(500), 500 + rnd(500));
        break;
    case 1:
        snprintf(out, cap,
                 "{\"source\":[\"app.%u\"],\"detail-type\":[\"%s\"],\"detail\":{\"status\":[{\"anything-but\":[\"%s\",\"%s\"]}]}}",
                 src, type, STATUS[s1], STATUS[s2]);
        break;
    default:
        snprintf(out, cap,
                 "{\"source\":[\"app.%u\"],\"detail-type\":[\"%s\"],\"detail\":{\"status\":[\"%s\",\"%s\"],"
                 "\"amount\":[{\"numeric\":[\">\",%u]}]}}",
                 src, type, STATUS[s1], STATUS[s2], rnd(1000));
        break;
    }
}

static json_t *make_event(uint32_t nsources)
{
    char text[2048];
    int n = snprintf(text, sizeof text,
                     "{\"version\":\"0\",\"id\":\"6a7e8feb-b491-4cf7-a9f1-bf3703467718\",\"detail-type\":\"%s\","
                     "\"source\":\"app.%u\",\"account\":\"111122223333\",\"time\":\"2024-12-22T18:43:48Z\","
                     "\"region\":\"us-east-1\",\"resources\":[\"arn:aws:app:us-east-1:111122223333:order/%u\"],"
                     "\"detail\":{\"orderId\":\"o-%u\",\"status\":\"%s\",\"amount\":%u.%02u,\"region\":\"%s\","
                     "\"customer\":{\"id\":\"c-%u\",\"tier\":\"gold\"}",
                     TYPES[rnd(8)], rnd(nsources), rnd(100000), rnd(100000), STATUS[rnd(5)], rnd(1000), rnd(100),
                     REGIONS[rnd(5)], rnd(10000));
    if (rnd(5) == 0)
        n += snprintf(text + n, sizeof text - (size_t)n,
                      ",\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-7\",\"qty\":1},{\"sku\":\"C-3\",\"qty\":5}]");
    snprintf(text + n, sizeof text - (size_t)n, "}}");
    json_t *ev = json_loads(text, 0, NULL);
    if (!ev) {
        fprintf(stderr, "pattern_bench: bad event %s\n", text);
        exit(1);
    }
    return ev;
}

typedef struct {
    double set_ns, naive_ns, matches;
} result_t;

/* Distinct events cycled through. A bus matches an event right after
 * parsing it, while its tree is in cache; 128 trees (~150 KB) stay in L2
 * as one fresh event would, where thousands would measure cache misses on
 * the event rather than matching. */
#define NEVENTS 128

static result_t run(uint32_t npatterns, double seconds)
{
    uint32_t nsources = npatterns / 4 ? npatterns / 4 : 1;
    pattern_set_t *set = pattern_set_new();
    pattern_set_t **one = malloc(npatterns * sizeof *one);
    char text[1024], err[256];
    for (uint32_t i = 0; i < npatterns; i++) {
        make_pattern(text, sizeof text, nsources);
        one[i] = pattern_set_new();
        if (pattern_set_add(set, text, strlen(text), i, err, sizeof err) != 0 ||
            (!getenv("PATTERN_BENCH_SET_ONLY") && pattern_set_add(one[i], text, strlen(text), i, err, sizeof err) != 0)) {
            fprintf(stderr, "pattern_bench: %s: %s\n", text, err);
            exit(1);
        }
    }
    json_t *events[NEVENTS];
    for (int i = 0; i < NEVENTS; i++)
        events[i] = make_event(nsources);
    uint32_t ids[64];
    result_t r = {0};

    /* The compiled set. */
    size_t total = 0, iters = 0;
    double t0 = now_ns(), t1;
    do {
        for (int i = 0; i < NEVENTS; i++)
            total += pattern_set_match(set, events[i], ids, 64);
        iters += NEVENTS;
        t1 = now_ns();
    } while (t1 - t0 < seconds * 1e9);
    r.set_ns = (t1 - t0) / (double)iters;
    r.matches = (double)total / (double)iters;

    /* The naive loop: every pattern on its own. */
    if (getenv("PATTERN_BENCH_SET_ONLY")) {
        r.naive_ns = 0;
        goto done;
    }
    size_t naive_total = 0;
    iters = 0;
    t0 = now_ns();
    do {
        for (int i = 0; i < NEVENTS; i++) {
            for (uint32_t p = 0; p < npatterns; p++)
                naive_total += pattern_set_match(one[p], events[i], ids, 1);
            iters++;
            if (npatterns >= 1000 && (iters & 15) == 0 && now_ns() - t0 > seconds * 1e9)
                break;
        }
        t1 = now_ns();
    } while (t1 - t0 < seconds * 1e9);
    r.naive_ns = (t1 - t0) / (double)iters;
    if (iters % NEVENTS == 0 && (double)naive_total / (double)iters != r.matches) {
        fprintf(stderr, "pattern_bench: set and naive loop disagree (%g vs %g matches/event)\n", r.matches,
                (double)naive_total / (double)iters);
        exit(1);
    }
done:
    for (int i = 0; i < NEVENTS; i++)
        json_decref(events[i]);
    for (uint32_t i = 0; i < npatterns; i++)
        pattern_set_free(one[i]);
    free(one);
    pattern_set_free(set);
    return r;
}

int main(int argc, char **argv)
{
    bool json = false;
    double seconds = 1.0;
    uint32_t only = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = (uint32_t)atoi(argv[++i]); /* one size, set only: for profiling */
    }
    if (only) {
        setenv("PATTERN_BENCH_SET_ONLY", "1", 1);
        result_t r = run(only, seconds);
        printf("%u patterns: %.1f ns/event\n", only, r.set_ns);
        return 0;
    }
    const uint32_t sizes[] = {10, 1000, 10000};
    result_t res[3];
    for (int i = 0; i < 3; i++)
        res[i] = run(sizes[i], seconds);
    if (json) {
        printf("{");
        for (int i = 0; i < 3; i++)
            printf("%s\"%u\":{\"set_ns_per_event\":%.1f,\"naive_ns_per_event\":%.1f,\"matches_per_event\":%.3f}",
                   i ? "," : "", sizes[i], res[i].set_ns, res[i].naive_ns, res[i].matches);
        printf(",\"growth_10_to_10000\":%.2f}\n", res[2].set_ns / res[0].set_ns);
        return 0;
    }
    printf("%10s %14s %16s %10s %12s\n", "patterns", "set ns/event", "naive ns/event", "naive/set", "matches/ev");
    for (int i = 0; i < 3; i++)
        printf("%10u %14.1f %16.1f %10.1f %12.3f\n", sizes[i], res[i].set_ns, res[i].naive_ns,
               res[i].naive_ns / res[i].set_ns, res[i].matches);
    printf("growth from 10 to 10,000 patterns: x%.2f\n", res[2].set_ns / res[0].set_ns);
    return 0;
}
