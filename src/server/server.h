/*
 * server: kyoka's front door. Owns the loop, the store, the credential
 * store and every service; routes each HTTP request to a service and
 * operation, authenticates it, decodes it, authorizes it, runs the handler
 * and encodes the answer (dispatch.c). Also the /_kyoka/ admin endpoints
 * (admin.c) and the request log.
 */
#ifndef KYOKA_SERVER_H
#define KYOKA_SERVER_H

#include "core/core.h"

typedef struct kyoka_config {
    const char *host;       /* "127.0.0.1" */
    int port;               /* 4566; 0 = any free port */
    const char *data_dir;   /* NULL = ephemeral */
    bool auth_open;         /* accept any key as root */
    const char *account_id; /* "000000000000" */
    const char *region;     /* "us-east-1" */
    const char *access_key; /* root key id: "test" */
    const char *secret_key; /* root secret: "test" */
    bool log_json;
    bool log_requests;      /* one line per request */
    const char *port_file;  /* write the bound port here once listening (tests) */
    int lambda_concurrency; /* the account's concurrent executions (AWS default 1000) */
    int lambda_idle_s;      /* reap idle execution environments after this long */
    const char *sandbox;    /* "auto", "bwrap" or "none" */
    const char *node_sdk_dir; /* the @aws-sdk clients for node functions (default: the build's) */
    bool kinesis_aws_limits; /* --kinesis-limits aws: AWS's per-shard write limits */
    const char *hot_reload_roots; /* --hot-reload-roots DIR[,DIR]: where code served
                                     from a directory may live; NULL: anywhere */
} kyoka_config_t;

void kyoka_config_defaults(kyoka_config_t *cfg);

/* Start, serve until SIGINT/SIGTERM, shut down gracefully. Returns the
 * process exit status; start-up failures print what to do and return 1. */
int kyoka_server_run(const kyoka_config_t *cfg);

#endif
