/*
 * `kyoka logs tail NAME [--follow] [--since 10m] [--filter-pattern P]`: the
 * events of a log group, printed like `aws logs tail`:
 *
 *   2024-05-01T12:00:00.123000+00:00 STREAM MESSAGE
 *
 * with the timestamp green and the stream cyan when stdout is a terminal
 * and NO_COLOR is unset. NAME is a log group when it starts with '/' or a
 * group of that name exists, else a Lambda function's group
 * /aws/lambda/NAME.
 *
 * Design: it is an ordinary CloudWatch Logs client. Each page is a SigV4-
 * signed FilterLogEvents call (kyoka's own signer) on a fresh connection,
 * so it works with IAM on and needs no admin endpoint; the keys come from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default test/test, kyoka's
 * root), the region from --region, AWS_REGION or AWS_DEFAULT_REGION.
 * --follow polls every second from the newest timestamp seen and prints
 * each event once: the ids already printed for that newest millisecond
 * are remembered, as events that share it come back on the next poll.
 * SIGINT ends it with status 0.
 */
#include "auth/auth.h"
#include "core/core.h"
#include "protocol/protocol.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/banned.h"

#define TAIL_MAX_RESPONSE (8 << 20) /* a FilterLogEvents page is at most 1 MB of events */
#define TAIL_POLL_MS 1000
#define TAIL_MAX_SEEN 10000         /* ids remembered for the newest millisecond */

int kyoka_cli__parse_endpoint(const char *ep, char *host, size_t hostcap, char *port, size_t portcap);

typedef struct tail {
    const char *endpoint;
    char host[256], port[16], hostport[300];
    const char *akid, *secret, *token, *region;
    bool color;
} tail_t;

static volatile sig_atomic_t stop_requested;

static void on_sigint(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* ==== one signed call ==== */

/* POST one JSON 1.1 call; *out is the parsed body (any status). Returns
 * the HTTP status, or -1 when the server cannot be reached. */
static int logs_call(const tail_t *t, const char *target, json_t *in, json_t **out)
{
    *out = NULL;
    char *body = proto_json_dumps(in, JSON_COMPACT);
    size_t blen = strlen(body);
    char amz_date[17], hash[65], tgt[128];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    auth_sha256_hex(body, blen, hash);
    snprintf(tgt, sizeof tgt, "Logs_20140328.%s", target);
    auth_header_t hs[5] = {
        {STRV_LIT("Host"), strv_from(t->hostport)},
        {STRV_LIT("Content-Type"), STRV_LIT("application/x-amz-json-1.1")},
        {STRV_LIT("X-Amz-Date"), strv_from(amz_date)},
        {STRV_LIT("X-Amz-Target"), strv_from(tgt)},
        {STRV_LIT("X-Amz-Security-Token"), strv_from(t->token ? t->token : "")},
    };
    auth_request_t req = {STRV_LIT("POST"), STRV_LIT("/"), STRV_LIT(""), hs, t->token ? 5 : 4, {body, blen}, true, 0};
    buf_t authz, msg;
    buf_init(&authz, 4096);
    buf_init(&msg, 1 << 20);
    int status = -1;
    if (auth_sigv4_sign(&req, t->akid, t->secret, amz_date, t->region, "logs", hash, &authz) != 0) {
        fprintf(stderr, "kyoka: cannot sign the request (check the region and keys)\n");
        goto done;
    }
    (void)buf_appendf(&msg,
                      "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Date: %s\r\n"
                      "X-Amz-Target: %s\r\nAuthorization: %s\r\nContent-Length: %zu\r\nConnection: close\r\n",
                      t->hostport, amz_date, tgt, authz.data, blen);
    if (t->token)
        (void)buf_appendf(&msg, "X-Amz-Security-Token: %s\r\n", t->token);
    (void)buf_appends(&msg, "\r\n");
    (void)buf_append(&msg, body, blen);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(t->port))};
    if (strcmp(t->host, "localhost") == 0)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    else if (inet_pton(AF_INET, t->host, &addr.sin_addr) != 1) {
        fprintf(stderr, "kyoka: %s is not an IPv4 address or localhost; use e.g. http://127.0.0.1:4566\n", t->host);
        goto done;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, "kyoka: no kyoka server at %s; start one with `kyoka serve` or pass --endpoint\n",
                t->endpoint);
        if (fd >= 0)
            close(fd);
        goto done;
    }
    size_t off = 0;
    while (off < msg.len) {
        ssize_t w = write(fd, msg.data + off, msg.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    buf_t resp;
    buf_init(&resp, TAIL_MAX_RESPONSE);
    char chunk[65536];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || buf_append(&resp, chunk, (size_t)r) != 0)
            break;
    }
    close(fd);
    const char *sep = strstr(resp.data, "\r\n\r\n");
    if (sscanf(resp.data, "HTTP/1.1 %d", &status) != 1 || !sep) {
        fprintf(stderr, "kyoka: the server at %s sent no HTTP response\n", t->endpoint);
        status = -1;
    } else {
        json_error_t e;
        *out = json_loads(sep + 4, 0, &e);
    }
    buf_destroy(&resp);
done:
    buf_destroy(&msg);
    buf_destroy(&authz);
    free(body);
    return status;
}

/* AWS's error as "Code: message" on stderr. */
static void print_error(json_t *j, int status)
{
    const char *type = json_string_value(json_object_get(j, "__type"));
    const char *m = json_string_value(json_object_get(j, "message"));
    if (!m)
        m = json_string_value(json_object_get(j, "Message"));
    if (type && strchr(type, '#'))
        type = strchr(type, '#') + 1;
    fprintf(stderr, "kyoka: %s: %s\n", type ? type : "error", m ? m : "(no message)");
    (void)status;
}

static bool is_not_found(json_t *j)
{
    const char *type = json_string_value(json_object_get(j, "__type"));
    return type && strstr(type, "ResourceNotFoundException");
}

/* ==== printing ==== */

static void print_event(const tail_t *t, json_t *e)
{
    int64_t ts = json_integer_value(json_object_get(e, "timestamp"));
    const char *stream = json_string_value(json_object_get(e, "logStreamName"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    size_t mlen = msg ? strlen(msg) : 0;
    /* As aws logs tail: trailing blanks go, one newline ends the line. */
    while (mlen && (msg[mlen - 1] == '\n' || msg[mlen - 1] == '\r' || msg[mlen - 1] == ' ' || msg[mlen - 1] == '\t'))
        mlen--;
    time_t secs = (time_t)(ts >= 0 ? ts / 1000 : (ts - 999) / 1000);
    int micros = (int)((ts - (int64_t)secs * 1000) * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char when[48];
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    if (t->color)
        printf("\033[32m%s.%06d+00:00\033[0m \033[36m%s\033[0m %.*s\n", when, micros, stream ? stream : "", (int)mlen,
               msg ? msg : "");
    else
        printf("%s.%06d+00:00 %s %.*s\n", when, micros, stream ? stream : "", (int)mlen, msg ? msg : "");
}

/* ==== arguments ==== */

/* "10m" (s, m, h, d, w) in ms; -1 when unreadable. */
static int64_t parse_since(const char *s)
{
    char *end;
    long long n = strtoll(s, &end, 10);
    if (end == s || n < 0 || n > 100000000)
        return -1;
    int64_t unit = 0;
    if (strcmp(end, "s") == 0)
        unit = 1000;
    else if (strcmp(end, "m") == 0)
        unit = 60000;
    else if (strcmp(end, "h") == 0)
        unit = 3600000;
    else if (strcmp(end, "d") == 0)
        unit = 86400000;
    else if (strcmp(end, "w") == 0)
        unit = 7 * 86400000LL;
    return unit ? (int64_t)n * unit : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: kyoka logs tail NAME [--follow] [--since 10m] [--filter-pattern PATTERN]\n"
                    "                       [--region R] [--endpoint URL]\n"
                    "NAME is a log group (/app/x) or a Lambda function name (its /aws/lambda/NAME group)\n");
    return 2;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ==== the loop ==== */

typedef struct seen {
    int64_t ts;       /* the newest timestamp printed */
    char **ids;       /* ids printed at ts */
    size_t n;
} seen_t;

static bool seen_has(const seen_t *s, int64_t ts, const char *id)
{
    if (ts != s->ts)
        return false;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return true;
    return false;
}

static void seen_clear(seen_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->ids[i]);
    s->n = 0;
}

static void seen_add(seen_t *s, int64_t ts, const char *id)
{
    if (ts > s->ts) {
        seen_clear(s);
        s->ts = ts;
    }
    if (ts == s->ts && s->n < TAIL_MAX_SEEN) {
        s->ids = xrealloc(s->ids, (s->n + 1) * sizeof *s->ids);
        s->ids[s->n++] = xstrdup(id);
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (!stop_requested && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int kyoka_cli_logs(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "tail") != 0)
        return usage();
    tail_t t = {0};
    t.endpoint = getenv("KYOKA_ENDPOINT") ? getenv("KYOKA_ENDPOINT") : "http://127.0.0.1:4566";
    t.akid = getenv("AWS_ACCESS_KEY_ID") ? getenv("AWS_ACCESS_KEY_ID") : "test";
    t.secret = getenv("AWS_SECRET_ACCESS_KEY") ? getenv("AWS_SECRET_ACCESS_KEY") : "test";
    t.token = getenv("AWS_SESSION_TOKEN") && *getenv("AWS_SESSION_TOKEN") ? getenv("AWS_SESSION_TOKEN") : NULL;
    t.region = getenv("AWS_REGION") ? getenv("AWS_REGION")
               : getenv("AWS_DEFAULT_REGION") ? getenv("AWS_DEFAULT_REGION")
                                              : "us-east-1";
    const char *name = NULL, *pattern = NULL;
    bool follow = false;
    int64_t since = 10 * 60000; /* aws logs tail's default: the last ten minutes */
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0) {
            follow = true;
        } else if (strcmp(a, "--since") == 0 && has_value) {
            since = parse_since(argv[++i]);
            if (since < 0) {
                fprintf(stderr, "kyoka: --since takes a number and a unit (s, m, h, d, w), e.g. 10m; got %s\n",
                        argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--filter-pattern") == 0 && has_value) {
            pattern = argv[++i];
        } else if (strcmp(a, "--endpoint") == 0 && has_value) {
            t.endpoint = argv[++i];
        } else if (strcmp(a, "--region") == 0 && has_value) {
            t.region = argv[++i];
        } else if (a[0] == '-' || name) {
            fprintf(stderr, "kyoka: logs tail: unexpected %s\n", a);
            return usage();
        } else {
            name = a;
        }
    }
    if (!name)
        return usage();
    if (kyoka_cli__parse_endpoint(t.endpoint, t.host, sizeof t.host, t.port, sizeof t.port) != 0) {
        fprintf(stderr, "kyoka: cannot read endpoint %s; use http://HOST:PORT\n", t.endpoint);
        return 2;
    }
    snprintf(t.hostport, sizeof t.hostport, "%s:%s", t.host, t.port);
    const char *nc = getenv("NO_COLOR");
    t.color = isatty(STDOUT_FILENO) && !(nc && *nc);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Which group: as given when it starts with '/' or exists, else the
     * function's. */
    char group[600];
    snprintf(group, sizeof group, "%s", name);
    int64_t start = wall_ms() - since;
    json_t *out = NULL;
    if (name[0] != '/') {
        json_t *probe = json_pack("{s:s,s:i}", "logGroupName", name, "limit", 1);
        int st = logs_call(&t, "FilterLogEvents", probe, &out);
        json_decref(probe);
        if (st < 0)
            return 1;
        if (st != 200 && is_not_found(out))
            snprintf(group, sizeof group, "/aws/lambda/%s", name);
        json_decref(out);
        out = NULL;
    }

    seen_t seen = {INT64_MIN, NULL, 0};
    char *token = NULL;
    int rc = 0;
    while (!stop_requested) {
        json_t *in = json_pack("{s:s,s:I,s:b}", "logGroupName", group, "startTime", (json_int_t)start, "interleaved", 1);
        if (pattern)
            json_object_set_new(in, "filterPattern", json_string(pattern));
        if (token)
            json_object_set_new(in, "nextToken", json_string(token));
        int st = logs_call(&t, "FilterLogEvents", in, &out);
        json_decref(in);
        if (st != 200) {
            if (st > 0)
                print_error(out, st);
            json_decref(out);
            rc = 1;
            break;
        }
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(out, "events"), i, e)
        {
            int64_t ts = json_integer_value(json_object_get(e, "timestamp"));
            const char *id = json_string_value(json_object_get(e, "eventId"));
            if (!id || seen_has(&seen, ts, id) || ts < seen.ts)
                continue;
            print_event(&t, e);
            seen_add(&seen, ts, id);
        }
        fflush(stdout);
        free(token);
        token = NULL;
        const char *next = json_string_value(json_object_get(out, "nextToken"));
        if (next)
            token = xstrdup(next);
        json_decref(out);
        out = NULL;
        if (token)
            continue;
        if (!follow)
            break;
        /* From the newest millisecond printed: events that share it and
         * arrive later are found again, and the ids skip the old ones. */
        if (seen.ts != INT64_MIN)
            start = seen.ts;
        sleep_ms(TAIL_POLL_MS);
    }
    free(token);
    seen_clear(&seen);
    free(seen.ids);
    return rc;
}
