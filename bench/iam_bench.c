/*
 * iam_bench: how fast kyoka decides, on a realistic scenario set.
 *
 * Reads bench/iam_scenarios.json (shared with bench/iam_peer_bench.mjs, which
 * runs the same set through @cloud-copilot/iam-simulate): Lambda execution
 * roles with AWS managed and inline policies and a permissions boundary, a
 * power user, a caller from another account, service principals and
 * anonymous callers, against queue, bucket and function policies with
 * conditions. Every policy is compiled once, as the server compiles a policy
 * when it is stored; every scenario's request and policy set is built once;
 * then only iam_evaluate runs in the timed loops.
 *
 * Before timing, each scenario's decision is checked against its "expect",
 * and each AWS managed policy's document in the file against kyoka's built-in
 * copy, so the figures are for the right answers.
 *
 * Three figures: the fast path (no explanation), with an explanation (what
 * the server asks for), and with the explanation recorded in the decision
 * log (what the server does for every request); then the ratio of the last
 * to the first (mean ns per decision; the budget is 2x) and the time to
 * build an explanation on demand from the log (the budget is 1 ms). For each, samples of a few
 * thousand decisions of one scenario are timed; decisions_per_s is all
 * decisions over all time, median_ns the median sample's time per decision.
 *
 *   iam_bench [scenarios.json] [seconds per figure, default 1]
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/limits.h"
#include "iam/iam.h"
#include "protocol/protocol.h"
#include "principal_arn.h"

#include "core/banned.h"

#define MAX_POLICIES 64
#define MAX_SCENARIOS 64
#define MAX_IDENTITY 8
#define MAX_CONTEXT 24
#define BATCH 2000 /* decisions per timed sample */

typedef struct named {
    const char *name;
    iam_policy_t *policy;
} named_t;

typedef struct scenario {
    const char *name;
    const char *expect;
    iam_named_policy_t identity[MAX_IDENTITY];
    iam_named_policy_t boundary, resource;
    iam_policy_set_t set;
    iam_principal_t pr;
    char role_arn[256], username[128];
    iam_ctx_value_t ctx[MAX_CONTEXT];
    const char *ctx_values[MAX_CONTEXT];
    size_t nctx;
    iam_request_t req;
} scenario_t;

static named_t policies[MAX_POLICIES];
static size_t npolicies;
static scenario_t scenarios[MAX_SCENARIOS];
static size_t nscenarios;

static void die(const char *fmt, ...) KYOKA_PRINTF(1, 2) __attribute__((noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "iam_bench: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const iam_policy_t *policy_lookup(const char *name)
{
    for (size_t i = 0; name && i < npolicies; i++)
        if (strcmp(policies[i].name, name) == 0)
            return policies[i].policy;
    die("no policy named %s", name ? name : "(none)");
    return NULL;
}

/* An AWS managed policy in the file must be the document kyoka ships. */
static void check_managed(const char *arn, json_t *doc)
{
    const char *builtin = iam_managed_policy_document(arn);
    if (!builtin)
        die("kyoka has no AWS managed policy %s", arn);
    json_t *mine = json_loads(builtin, 0, NULL);
    bool same = mine && json_equal(mine, doc);
    json_decref(mine);
    if (!same)
        die("%s in the scenario file differs from kyoka's built-in document", arn);
}

static void load_policies(json_t *obj)
{
    const char *name;
    json_t *doc;
    json_object_foreach(obj, name, doc) {
        if (npolicies == MAX_POLICIES)
            die("more than %d policies", MAX_POLICIES);
        if (strncmp(name, "arn:aws:iam::aws:policy/", 24) == 0)
            check_managed(name, doc);
        bool resource = strncmp(name, "resource:", 9) == 0;
        char *text = proto_json_dumps(doc, JSON_COMPACT);
        char err[256];
        bool over = false;
        iam_policy_t *p = iam_policy_parse(text, strlen(text), resource ? IAM_POLICY_RESOURCE : IAM_POLICY_IDENTITY,
                                           KYOKA_RESOURCE_POLICY_MAX_BYTES, err, sizeof err, &over);
        free(text);
        if (!p)
            die("policy %s does not parse: %s", name, err);
        policies[npolicies++] = (named_t){name, p};
    }
}


static void add_context(scenario_t *s, json_t *ctx)
{
    const char *key;
    json_t *v;
    json_object_foreach(ctx, key, v) {
        if (s->nctx == MAX_CONTEXT || !json_is_string(v))
            die("scenario %s: context values must be strings, at most %d keys", s->name, MAX_CONTEXT);
        s->ctx_values[s->nctx] = json_string_value(v);
        s->ctx[s->nctx] = (iam_ctx_value_t){key, &s->ctx_values[s->nctx], 1};
        s->nctx++;
    }
}

static const char *ctx_first(const scenario_t *s, const char *key)
{
    for (size_t i = 0; i < s->nctx; i++)
        if (strcasecmp(s->ctx[i].key, key) == 0)
            return s->ctx_values[i];
    return NULL;
}

static void load_scenarios(json_t *root)
{
    json_t *principals = json_object_get(root, "principals");
    const char *default_account = json_string_value(json_object_get(root, "resourceAccount"));
    size_t i;
    json_t *js;
    json_array_foreach(json_object_get(root, "scenarios"), i, js) {
        if (nscenarios == MAX_SCENARIOS)
            die("more than %d scenarios", MAX_SCENARIOS);
        scenario_t *s = &scenarios[nscenarios++];
        s->name = json_string_value(json_object_get(js, "name"));
        s->expect = json_string_value(json_object_get(js, "expect"));
        json_t *who = json_object_get(principals, json_string_value(json_object_get(js, "as")));
        if (!s->name || !s->expect || !who)
            die("scenario %s lacks name, expect or a known \"as\"", s->name ? s->name : "?");

        size_t k, n = 0;
        json_t *pn;
        json_array_foreach(json_object_get(who, "identity"), k, pn) {
            if (n == MAX_IDENTITY)
                die("scenario %s: more than %d identity policies", s->name, MAX_IDENTITY);
            s->identity[n] = (iam_named_policy_t){json_string_value(pn), policy_lookup(json_string_value(pn))};
            n++;
        }
        s->set.identity = s->identity;
        s->set.nidentity = n;
        const char *b = json_string_value(json_object_get(who, "boundary"));
        if (b) {
            s->boundary = (iam_named_policy_t){b, policy_lookup(b)};
            s->set.boundary = &s->boundary;
        }
        const char *rp = json_string_value(json_object_get(js, "resourcePolicy"));
        if (rp) {
            s->resource = (iam_named_policy_t){rp, policy_lookup(rp)};
            s->set.resource = &s->resource;
        }

        add_context(s, json_object_get(who, "context"));
        add_context(s, json_object_get(js, "context"));
        const char *arn = json_string_value(json_object_get(who, "principal"));
        if (arn)
            principal_from_arn(&s->pr, arn, json_string_value(json_object_get(who, "principalAccount")),
                               s->username, sizeof s->username, s->role_arn, sizeof s->role_arn);
        const char *ra = json_string_value(json_object_get(js, "resourceAccount"));
        const char *secure = ctx_first(s, "aws:SecureTransport");
        s->req = (iam_request_t){
            .action = json_string_value(json_object_get(js, "action")),
            .resource = json_string_value(json_object_get(js, "resource")),
            .resource_account = ra ? ra : default_account,
            .principal = arn ? &s->pr : NULL,
            .context = s->ctx,
            .ncontext = s->nctx,
            .source_ip = ctx_first(s, "aws:SourceIp"),
            .secure_transport = secure && strcmp(secure, "true") == 0,
            .region = ctx_first(s, "aws:RequestedRegion"),
            .now_ms = 1700000000000LL,
        };
    }
}

/* ---- timing ---- */

typedef enum { MODE_FAST, MODE_EXPLAIN, MODE_LOG } bench_mode_t;

static volatile unsigned sink; /* keeps decisions observable */

static double run_batch(const scenario_t *s, bench_mode_t mode)
{
    iam_explain_t ex;
    uint64_t t0 = now_ns();
    for (int i = 0; i < BATCH; i++) {
        if (mode == MODE_FAST) {
            sink += iam_evaluate(&s->req, &s->set, NULL);
        } else {
            sink += iam_evaluate(&s->req, &s->set, &ex);
            if (mode == MODE_LOG)
                sink += (unsigned)(iam_decision_log_add(&s->req, &ex) != NULL);
        }
    }
    return (double)(now_ns() - t0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double measure(const char *label, bench_mode_t mode, double seconds)
{
    size_t cap = 4096, n = 0;
    double *samples = malloc(cap * sizeof *samples);
    double total_ns = 0;
    uint64_t decisions = 0;
    for (size_t i = 0; i < nscenarios; i++) /* warm up */
        (void)run_batch(&scenarios[i], mode);
    uint64_t deadline = now_ns() + (uint64_t)(seconds * 1e9);
    while (now_ns() < deadline) {
        for (size_t i = 0; i < nscenarios; i++) {
            double ns = run_batch(&scenarios[i], mode);
            if (n == cap) {
                cap *= 2;
                samples = realloc(samples, cap * sizeof *samples);
                if (!samples)
                    abort();
            }
            samples[n++] = ns / BATCH;
            total_ns += ns;
            decisions += BATCH;
        }
    }
    qsort(samples, n, sizeof *samples, cmp_double);
    printf("%s: decisions_per_s=%.0f median_ns=%.0f p99_ns=%.0f (%zu scenarios, %llu decisions)\n", label,
           (double)decisions / (total_ns / 1e9), samples[n / 2], samples[n * 99 / 100], nscenarios,
           (unsigned long long)decisions);
    free(samples);
    return total_ns / (double)decisions;
}

/* The explanation a person asks for (`kyoka iam explain ID`): built on
 * demand from the decision log by replaying the recorded request against
 * the referenced policies, tracing every statement and verifying the
 * proposed fix. Timed per scenario; the figure is the slowest scenario's
 * mean, which must stay under 1 ms. */
static void measure_explain(void)
{
    double worst = 0, sum = 0;
    const char *worst_name = "";
    enum { REPS = 50 };
    for (size_t i = 0; i < nscenarios; i++) {
        iam_explain_t ex;
        iam_evaluate(&scenarios[i].req, &scenarios[i].set, &ex);
        char id[32];
        snprintf(id, sizeof id, "%s", iam_decision_log_add(&scenarios[i].req, &ex));
        uint64_t t0 = now_ns();
        for (int k = 0; k < REPS; k++) {
            const char *why;
            json_t *j = iam_decision_log_explain(id, &why);
            if (!j)
                die("scenario %s: no explanation: %s", scenarios[i].name, why);
            if (json_object_get(j, "replayIncomplete"))
                die("scenario %s: the replay did not reach the recorded decision", scenarios[i].name);
            json_decref(j);
        }
        double us = (double)(now_ns() - t0) / REPS / 1e3;
        sum += us;
        if (us > worst) {
            worst = us;
            worst_name = scenarios[i].name;
        }
    }
    printf("kyoka explain on demand: mean_us=%.1f max_us=%.1f (slowest: %s; budget 1000 us)\n", sum / (double)nscenarios,
           worst, worst_name);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "bench/iam_scenarios.json";
    double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    if (seconds <= 0)
        seconds = 1.0;
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        die("cannot read %s: %s", path, je.text);
    load_policies(json_object_get(root, "policies"));
    load_scenarios(root);

    int wrong = 0;
    for (size_t i = 0; i < nscenarios; i++) {
        const char *got = iam_decision_name(iam_evaluate(&scenarios[i].req, &scenarios[i].set, NULL));
        if (strcmp(got, scenarios[i].expect) != 0) {
            fprintf(stderr, "iam_bench: scenario \"%s\": kyoka says %s, expected %s\n", scenarios[i].name, got,
                    scenarios[i].expect);
            wrong++;
        }
    }
    if (wrong)
        return 1;

    if (getenv("IAM_BENCH_VERBOSE")) {
        for (size_t i = 0; i < nscenarios; i++)
            printf("  %8.0f ns  %s\n", run_batch(&scenarios[i], MODE_FAST) / BATCH, scenarios[i].name);
    }
    double fast = measure("kyoka", MODE_FAST, seconds);
    measure("kyoka (with explanation)", MODE_EXPLAIN, seconds);
    double logged = measure("kyoka (explanation + decision log, as the server does)", MODE_LOG, seconds);
    /* The request path's budget: recording stays within 2x of deciding. */
    printf("kyoka decision log overhead: log_on_ns=%.0f eval_only_ns=%.0f ratio=%.2f (budget 2.00)\n", logged, fast,
           logged / fast);
    measure_explain();

    iam_decision_log_clear();
    for (size_t i = 0; i < npolicies; i++)
        iam_policy_free(policies[i].policy);
    json_decref(root);
    return sink == 0xffffffffu; /* never: only to use sink */
}
