/*
 * `kyoka iam ...`: ask a running server why a request was allowed or
 * denied.
 *
 *   kyoka iam explain ID|last [--json]     one decision, explained for a person
 *   kyoka iam decisions [--denied] [--principal P] [--action A] [--last N]
 *                       [--follow] [--json]
 *
 * The server builds the explanation (GET /_kyoka/iam/decisions/ID); this
 * file only turns its JSON into text: the request as IAM saw it, every
 * policy and statement with what happened to it, the deciding rule, and the
 * statement to add. --json prints the server's JSON unchanged.
 */
#include "core/core.h"
#include "protocol/protocol.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/banned.h"

int kyoka_cli__admin_call(const char *endpoint, const char *method, const char *path, json_t **out);
int kyoka_cli_iam(int argc, char **argv);

static void iam_usage(FILE *f)
{
    fprintf(f,
            "usage: kyoka iam explain ID|last [--json] [--endpoint URL]\n"
            "       kyoka iam decisions [--denied] [--principal P] [--action A] [--last N] [--follow] [--json]\n"
            "                           [--endpoint URL]\n"
            "\n"
            "  explain ID      why the request with that x-kyoka-decision-id was allowed or denied: the request\n"
            "                  as IAM saw it, every statement of every policy that took part and what happened to\n"
            "                  it, the rule that decided, and for a denial the statement to add (verified)\n"
            "  explain last    the same for the latest denial\n"
            "  decisions       recent decisions, newest first, one line each: time, id, principal, action,\n"
            "                  resource, verdict\n"
            "    --denied          denials only\n"
            "    --principal P     principals whose ARN contains P (e.g. user/alice, role/app)\n"
            "    --action A        actions matching A; * and ? as in a policy (sqs:*, s3:Get*)\n"
            "    --last N          at most N decisions (1 to 4096; default 20)\n"
            "    --follow          keep printing new decisions as they happen (Ctrl-C stops)\n"
            "  --json          print the server's JSON\n"
            "  --endpoint URL  the server (default $KYOKA_ENDPOINT, else http://127.0.0.1:4566)\n");
}

/* ---- small helpers ---- */

static const char *js(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static void print_json(json_t *j)
{
    char *s = proto_json_dumps(j, JSON_INDENT(2));
    if (s) {
        printf("%s\n", s);
        free(s);
    }
}

/* Percent-encode a query value. */
static void url_encode(buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~')
            buf_appendc(b, (char)c);
        else
            buf_appendf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

/* Print text indented, each line prefixed. */
static void indented(const char *prefix, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        printf("%s%.*s\n", prefix, (int)n, p);
        if (!nl)
            break;
        p = nl + 1;
    }
}

static char *compact(json_t *j) { return j ? proto_json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL; }

/* ---- explain, for a person ---- */

static void print_request(json_t *d, json_t *x)
{
    json_t *rq = json_object_get(x, "request"), *pr = json_object_get(rq, "principal");
    printf("Request (as IAM saw it)\n");
    printf("  principal  %s\n", js(pr, "arn")[0] ? js(pr, "arn") : js(pr, "service"));
    if (json_is_true(json_object_get(pr, "anonymous"))) {
        printf("             anonymous (unsigned request)\n");
    } else {
        printf("             type %s, account %s", js(pr, "type"), js(pr, "account"));
        if (js(pr, "role")[0])
            printf(", role %s (session %s)", js(pr, "role"), js(pr, "session"));
        if (json_is_true(json_object_get(pr, "root")))
            printf(", the account root user");
        printf("\n");
    }
    printf("  action     %s\n", js(rq, "action"));
    printf("  resource   %s", js(rq, "resource"));
    if (js(rq, "resourceAccount")[0])
        printf("  (account %s%s)", js(rq, "resourceAccount"),
               json_is_true(json_object_get(rq, "crossAccount")) ? ", cross-account" : "");
    printf("\n  context\n");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(rq, "context"), k, v) {
        char *s = json_is_string(v) ? NULL : compact(v);
        printf("    %-34s %s\n", k, s ? s : json_string_value(v));
        free(s);
    }
    json_t *missing = json_object_get(d, "missingContext");
    if (json_array_size(missing)) {
        printf("  keys the policies asked for that the request did not carry:");
        size_t i;
        json_array_foreach(missing, i, v) printf(" %s", json_string_value(v));
        printf("\n");
    }
}

static void print_statement(json_t *s)
{
    char head[512];
    const char *sid = js(s, "sid");
    json_t *start = json_object_get(s, "start");
    snprintf(head, sizeof head, "[%lld]%s%s%s %s, line %lld", (long long)json_integer_value(json_object_get(s, "index")),
             sid[0] ? " Sid \"" : "", sid, sid[0] ? "\"" : "", js(s, "effect"),
             (long long)json_integer_value(json_object_get(start, "line")));
    json_t *f = json_object_get(s, "failed");
    if (strcmp(js(s, "result"), "matched") == 0) {
        const char *grant = js(s, "grant");
        printf("    %s: MATCHED%s%s%s\n", head, grant[0] ? " (grant to the caller: " : "", grant,
               grant[0] ? ")" : "");
    } else if (!json_is_true(json_object_get(s, "relevant"))) {
        printf("    %s: not for this action: %s\n", head, js(f, "reason"));
        return;
    } else {
        json_t *at = json_object_get(f, "at");
        printf("    %s: no match at %s", head, js(f, "element"));
        if (at)
            printf(" (line %lld, column %lld)", (long long)json_integer_value(json_object_get(at, "line")),
                   (long long)json_integer_value(json_object_get(at, "column")));
        printf("\n      %s\n", js(f, "reason"));
    }
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(s, "conditions"), i, c) {
        printf("      condition %s %s: %s\n", js(c, "operator"), js(c, "key"),
               json_is_true(json_object_get(c, "result")) ? "holds" : "fails");
    }
    if (js(s, "text")[0])
        indented("      | ", js(s, "text"));
}

static void print_explanation(json_t *d)
{
    json_t *x = json_object_get(d, "explanation");
    printf("Decision %s: %s at %s", js(d, "id"), js(d, "decision"), js(d, "time"));
    if (js(d, "serverTime")[0])
        printf(" (server clock %s)", js(d, "serverTime"));
    printf("\n\n");
    print_request(d, x);
    printf("\nPolicies that took part\n");
    size_t i, k;
    json_t *p, *s;
    if (!json_array_size(json_object_get(x, "policies")))
        printf("  none: the caller has no policy that applies to this request\n");
    json_array_foreach(json_object_get(x, "policies"), i, p) {
        printf("  %s policy %s%s\n", js(p, "kind"), js(p, "policy"),
               strcmp(js(p, "document"), "trust") == 0 ? " (role trust policy)" : "");
        json_array_foreach(json_object_get(p, "statements"), k, s) print_statement(s);
    }
    printf("\nWhat decided\n  %s\n  Rule: %s\n", js(x, "reason"), js(x, "rule"));
    json_t *deny = json_object_get(x, "denyingStatements");
    if (json_array_size(deny)) {
        printf("\nDenied by\n");
        json_array_foreach(deny, i, s) {
            printf("  statement [%lld]%s%s%s of %s policy %s, line %lld\n",
                   (long long)json_integer_value(json_object_get(s, "statement")), js(s, "sid")[0] ? " Sid \"" : "",
                   js(s, "sid"), js(s, "sid")[0] ? "\"" : "", js(s, "kind"), js(s, "policy"),
                   (long long)json_integer_value(json_object_get(json_object_get(s, "start"), "line")));
            if (js(s, "text")[0])
                indented("    | ", js(s, "text"));
        }
    }
    json_t *fixes = json_object_get(x, "toAllow");
    if (json_array_size(fixes)) {
        printf("\nTo allow it, add%s\n", json_array_size(fixes) > 1 ? " all of these" : "");
        json_array_foreach(fixes, i, s) {
            const char *where = js(s, "where");
            const char *what = strcmp(where, "identity") == 0   ? "an identity-based policy of"
                               : strcmp(where, "boundary") == 0 ? "the permissions boundary"
                               : strcmp(where, "session") == 0  ? "a session policy for"
                               : strcmp(where, "trust") == 0    ? "the trust policy of"
                                                                : "the resource-based policy of";
            printf("  %zu. to %s %s\n     %s\n", i + 1, what, js(s, "target"), js(s, "how"));
            char *st = proto_json_dumps(json_object_get(s, "statement"), JSON_INDENT(2));
            if (st)
                indented("     ", st);
            free(st);
        }
        printf("  %s\n", json_is_true(json_object_get(json_array_get(fixes, 0), "verified"))
                             ? "(verified: kyoka evaluated the same request with this added, and it is allowed)"
                             : "(not verified: with this added the request would still be denied; see the "
                               "statements above)");
    }
    if (js(x, "fix")[0])
        printf("\n%s\n", js(x, "fix"));
    if (json_is_true(json_object_get(d, "replayIncomplete")))
        printf("\nnote: the log kept only part of this request (very large, or over 32 policies); the "
               "explanation may be incomplete\n");
}

/* ---- decisions ---- */

static void print_line(json_t *d)
{
    printf("%s  %s  %-9s %s  %s  %s\n", js(d, "time"), js(d, "id"),
           strcmp(js(d, "decision"), "allowed") == 0 ? "ALLOW" : strcmp(js(d, "decision"), "explicitDeny") == 0
                                                                    ? "DENY"
                                                                    : "DENY(imp)",
           js(d, "principal"), js(d, "action"), js(d, "resource"));
}

static volatile sig_atomic_t stop;
static void on_sigint(int sig)
{
    (void)sig;
    stop = 1;
}

/* Only what can go in a URL path unescaped; the server says whether it is
 * a decision id (malformed, from an earlier run, aged out, never issued). */
static bool path_safe(const char *id)
{
    for (const char *c = id; *c; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '-'))
            return false;
    return id[0] && strlen(id) < 64;
}

static int cmd_decisions(const char *endpoint, bool denied, const char *principal, const char *action, long last,
                         bool follow, bool as_json)
{
    buf_t q;
    buf_init(&q, 8192);
    buf_appendf(&q, "/_kyoka/iam/decisions?summary=1&limit=%ld", last);
    if (denied)
        buf_appends(&q, "&denied=1");
    if (principal) {
        buf_appends(&q, "&principal=");
        url_encode(&q, principal);
    }
    if (action) {
        buf_appends(&q, "&action=");
        url_encode(&q, action);
    }
    json_t *j = NULL;
    int rc = kyoka_cli__admin_call(endpoint, "GET", q.data, &j);
    if (rc != 0) {
        json_decref(j);
        buf_destroy(&q);
        return rc;
    }
    json_t *list = json_object_get(j, "decisions");
    size_t n = json_array_size(list);
    if (as_json && !follow) {
        print_json(list);
    } else {
        /* Oldest first on screen, so the newest is next to the prompt. */
        for (size_t i = n; i-- > 0;) {
            if (as_json) {
                char *s = compact(json_array_get(list, i));
                printf("%s\n", s ? s : "");
                free(s);
            } else {
                print_line(json_array_get(list, i));
            }
        }
        if (!n && !follow)
            printf("no decisions%s\n", denied || principal || action ? " match the filters" : " yet");
    }
    fflush(stdout);
    char latest[64];
    snprintf(latest, sizeof latest, "%s", js(j, "latest"));
    json_decref(j);
    signal(SIGINT, on_sigint);
    while (follow && !stop) {
        struct timespec ts = {0, 300 * 1000 * 1000};
        nanosleep(&ts, NULL);
        size_t base = q.len;
        if (latest[0]) {
            buf_appends(&q, "&after=");
            buf_appends(&q, latest);
        }
        j = NULL;
        rc = kyoka_cli__admin_call(endpoint, "GET", q.data, &j);
        q.len = base;
        q.data[base] = '\0';
        if (rc != 0) {
            json_decref(j);
            return rc;
        }
        list = json_object_get(j, "decisions");
        for (size_t i = json_array_size(list); i-- > 0;) {
            if (as_json) {
                char *s = compact(json_array_get(list, i));
                printf("%s\n", s ? s : "");
                free(s);
            } else {
                print_line(json_array_get(list, i));
            }
        }
        if (js(j, "latest")[0])
            snprintf(latest, sizeof latest, "%s", js(j, "latest"));
        fflush(stdout);
        json_decref(j);
    }
    buf_destroy(&q);
    return 0;
}

int kyoka_cli_iam(int argc, char **argv)
{
    const char *endpoint = getenv("KYOKA_ENDPOINT");
    if (!endpoint)
        endpoint = "http://127.0.0.1:4566";
    /* argv[0] is "iam". */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        iam_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1], *id = NULL, *principal = NULL, *action = NULL;
    bool as_json = false, denied = false, follow = false;
    long last = 20;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = strcmp(a, "--endpoint") == 0 || strcmp(a, "--principal") == 0 || strcmp(a, "--action") == 0 ||
                     strcmp(a, "--last") == 0;
        if (takes && !v) {
            fprintf(stderr, "kyoka: %s needs a value; see `kyoka iam --help`\n", a);
            return 2;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            iam_usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            as_json = true;
        } else if (strcmp(a, "--endpoint") == 0) {
            endpoint = argv[++i];
        } else if (strcmp(sub, "decisions") == 0 && strcmp(a, "--denied") == 0) {
            denied = true;
        } else if (strcmp(sub, "decisions") == 0 && strcmp(a, "--follow") == 0) {
            follow = true;
        } else if (strcmp(sub, "decisions") == 0 && strcmp(a, "--principal") == 0) {
            principal = argv[++i];
        } else if (strcmp(sub, "decisions") == 0 && strcmp(a, "--action") == 0) {
            action = argv[++i];
            if (!action[0] || strlen(action) > 256) {
                fprintf(stderr, "kyoka: --action needs an action or pattern such as sqs:SendMessage or sqs:*\n");
                return 2;
            }
        } else if (strcmp(sub, "decisions") == 0 && strcmp(a, "--last") == 0) {
            char *end;
            last = strtol(argv[++i], &end, 10);
            if (*end || last < 1 || last > 4096) {
                fprintf(stderr, "kyoka: --last needs a number from 1 to 4096, got %s\n", argv[i]);
                return 2;
            }
        } else if (strcmp(sub, "explain") == 0 && !id && a[0] != '-') {
            id = a;
        } else {
            fprintf(stderr, "kyoka: unknown argument %s for `kyoka iam %s`; see `kyoka iam --help`\n", a, sub);
            return 2;
        }
    }
    if (strcmp(sub, "decisions") == 0)
        return cmd_decisions(endpoint, denied, principal, action, last, follow, as_json);
    if (strcmp(sub, "explain") != 0) {
        fprintf(stderr, "kyoka: unknown command `kyoka iam %s`; see `kyoka iam --help`\n", sub);
        return 2;
    }
    if (!id) {
        fprintf(stderr, "kyoka: explain needs a decision id (the x-kyoka-decision-id response header) or `last`\n");
        return 2;
    }
    if (!path_safe(id)) {
        fprintf(stderr,
                "kyoka: no such decision: %s is not a decision id; ids look like d-1a2b3c4d-00002a (the "
                "x-kyoka-decision-id response header), or use `last` for the latest denial\n",
                id);
        return 1;
    }
    char path[128];
    snprintf(path, sizeof path, "/_kyoka/iam/decisions/%s", id);
    json_t *j = NULL;
    int rc = kyoka_cli__admin_call(endpoint, "GET", path, &j);
    if (rc == 0 && j) {
        if (as_json)
            print_json(j);
        else
            print_explanation(j);
    }
    json_decref(j);
    return rc;
}
