/*
 * The kyoka command: `kyoka serve` and the subcommands for what AWS has no API
 * for locally (`kyoka clock advance N`, `kyoka iam explain ID`). Flag parsing
 * lives here and nowhere else.
 */
#include "protocol/protocol.h"
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kyoka serve [--host H] [--port N] [--data-dir DIR | --ephemeral] [--auth sigv4|open]\n"
            "                  [--account-id ID] [--region R] [--access-key K --secret-key S]\n"
            "                  [--log-format text|json] [--quiet] [--port-file PATH]\n"
            "                  [--lambda-concurrency N] [--lambda-idle-seconds N] [--sandbox auto|bwrap|none]\n"
            "                  [--node-sdk-dir DIR] [--kinesis-limits aws|off] [--hot-reload-roots DIR[,DIR]]\n"
            "       kyoka clock advance SECONDS [--endpoint URL]\n"
            "       kyoka clock show [--endpoint URL]\n"
            "       kyoka iam explain DECISION_ID|last [--json] [--endpoint URL]\n"
            "       kyoka iam decisions [--denied] [--principal P] [--action A] [--last N] [--follow] [--json]\n"
            "       kyoka lambda ls [--json] [--endpoint URL]\n"
            "       kyoka lambda debug NAME [--port N] [--off] [--endpoint URL]\n"
            "       kyoka logs tail NAME [--follow] [--since 10m] [--filter-pattern P] [--endpoint URL]\n"
            "       kyoka version\n");
}

/* `kyoka serve --help`: every flag, its default and what it does. Keep in
 * step with cmd_serve and kyoka_config_defaults. */
static void serve_help(FILE *f)
{
    fprintf(f,
            "usage: kyoka serve [flags]\n"
            "\n"
            "Serve AWS APIs on one port until SIGINT/SIGTERM.\n"
            "\n"
            "  --host H                  address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)\n"
            "  --port N                  port (default 4566; 0 picks a free port)\n"
            "  --data-dir DIR            where state is kept across restarts (default ./.kyoka); locked while\n"
            "                            a server uses it, so a second server on it fails at once\n"
            "  --ephemeral               keep everything in memory, no data directory (default: off)\n"
            "  --auth sigv4|open         sigv4 checks every signature (default); open accepts any key as root\n"
            "  --account-id ID           the 12-digit account id (default 000000000000)\n"
            "  --region R                the region (default us-east-1)\n"
            "  --access-key K            the root user's access key id (default test)\n"
            "  --secret-key S            the root user's secret key (default test)\n"
            "  --log-format text|json    request log and info lines as text (default) or JSON\n"
            "  --quiet                   no request log lines (default: one line per request on stderr)\n"
            "  --port-file PATH          write the port here once listening (default: none; for tests)\n"
            "  --lambda-concurrency N    the account's concurrent executions (default 1000, as AWS)\n"
            "  --lambda-idle-seconds N   stop idle execution environments after N seconds (default 300)\n"
            "  --sandbox auto|bwrap|none how functions are isolated (default auto: bubblewrap when usable)\n"
            "  --node-sdk-dir DIR        the @aws-sdk clients node functions get (default: the build's)\n"
            "  --kinesis-limits aws|off  enforce Kinesis's per-shard write limits (default off)\n"
            "  --hot-reload-roots D[,D]  directories function code may be served from (default: anywhere)\n"
            "  --help, -h                this text\n");
}

static int bad_flag(const char *msg, const char *arg)
{
    fprintf(stderr, "kyoka: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "run `kyoka serve --help` for the flags\n");
    return 2;
}

static bool all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int cmd_serve(int argc, char **argv)
{
    kyoka_config_t cfg;
    kyoka_config_defaults(&cfg);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE() \
    if (!v)          \
        return bad_flag("missing value for", a);
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            serve_help(stdout);
            return 0;
        } else if (strcmp(a, "--port") == 0) {
            NEED_VALUE();
            char *end;
            long p = strtol(v, &end, 10);
            if (*end || p < 0 || p > 65535)
                return bad_flag("--port needs a number from 0 to 65535, got", v);
            cfg.port = (int)p;
            i++;
        } else if (strcmp(a, "--host") == 0) {
            NEED_VALUE();
            cfg.host = v;
            i++;
        } else if (strcmp(a, "--data-dir") == 0) {
            NEED_VALUE();
            cfg.data_dir = v;
            i++;
        } else if (strcmp(a, "--ephemeral") == 0) {
            cfg.data_dir = NULL;
        } else if (strcmp(a, "--auth") == 0) {
            NEED_VALUE();
            if (strcmp(v, "open") == 0)
                cfg.auth_open = true;
            else if (strcmp(v, "sigv4") == 0)
                cfg.auth_open = false;
            else
                return bad_flag("--auth must be sigv4 or open, got", v);
            i++;
        } else if (strcmp(a, "--account-id") == 0) {
            NEED_VALUE();
            if (!all_digits(v, 12))
                return bad_flag("--account-id must be 12 digits, got", v);
            cfg.account_id = v;
            i++;
        } else if (strcmp(a, "--region") == 0) {
            NEED_VALUE();
            cfg.region = v;
            i++;
        } else if (strcmp(a, "--access-key") == 0) {
            NEED_VALUE();
            cfg.access_key = v;
            i++;
        } else if (strcmp(a, "--secret-key") == 0) {
            NEED_VALUE();
            cfg.secret_key = v;
            i++;
        } else if (strcmp(a, "--log-format") == 0) {
            NEED_VALUE();
            if (strcmp(v, "json") == 0)
                cfg.log_json = true;
            else if (strcmp(v, "text") == 0)
                cfg.log_json = false;
            else
                return bad_flag("--log-format must be text or json, got", v);
            i++;
        } else if (strcmp(a, "--quiet") == 0) {
            cfg.log_requests = false;
        } else if (strcmp(a, "--lambda-concurrency") == 0 || strcmp(a, "--lambda-idle-seconds") == 0) {
            NEED_VALUE();
            char *end;
            long n = strtol(v, &end, 10);
            bool conc = strcmp(a, "--lambda-concurrency") == 0;
            if (*end || n < (conc ? 1 : 0) || n > 1000000)
                return bad_flag(conc ? "--lambda-concurrency needs a number from 1, got"
                                     : "--lambda-idle-seconds needs a number of seconds, got",
                                v);
            if (conc)
                cfg.lambda_concurrency = (int)n;
            else
                cfg.lambda_idle_s = (int)n;
            i++;
        } else if (strcmp(a, "--sandbox") == 0) {
            NEED_VALUE();
            if (strcmp(v, "auto") != 0 && strcmp(v, "bwrap") != 0 && strcmp(v, "none") != 0)
                return bad_flag("--sandbox must be auto, bwrap or none, got", v);
            cfg.sandbox = v;
            i++;
        } else if (strcmp(a, "--kinesis-limits") == 0) {
            NEED_VALUE();
            if (strcmp(v, "aws") != 0 && strcmp(v, "off") != 0)
                return bad_flag("--kinesis-limits must be aws or off, got", v);
            cfg.kinesis_aws_limits = strcmp(v, "aws") == 0;
            i++;
        } else if (strcmp(a, "--hot-reload-roots") == 0) {
            NEED_VALUE();
            cfg.hot_reload_roots = v;
            i++;
        } else if (strcmp(a, "--node-sdk-dir") == 0) {
            NEED_VALUE();
            cfg.node_sdk_dir = v;
            i++;
        } else if (strcmp(a, "--port-file") == 0) {
            NEED_VALUE();
            cfg.port_file = v;
            i++;
        } else {
            return bad_flag("unknown flag", a);
        }
#undef NEED_VALUE
    }
    return kyoka_server_run(&cfg);
}

int kyoka_cli_admin(int argc, char **argv); /* admin_client.c */
int kyoka_cli_logs(int argc, char **argv);  /* logs_tail.c */
int kyoka_cli_iam(int argc, char **argv);   /* iam_cmd.c */

int main(int argc, char **argv)
{
    proto_json_use_small_alloc();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 2, argv + 2);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("kyoka %s\n", KYOKA_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "clock") == 0 || strcmp(argv[1], "lambda") == 0)
        return kyoka_cli_admin(argc - 1, argv + 1);
    if (strcmp(argv[1], "logs") == 0)
        return kyoka_cli_logs(argc - 1, argv + 1);
    if (strcmp(argv[1], "iam") == 0)
        return kyoka_cli_iam(argc - 1, argv + 1);
    fprintf(stderr, "kyoka: unknown command %s\n", argv[1]);
    usage(stderr);
    return 2;
}
