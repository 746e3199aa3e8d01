/* The services this binary serves, in routing order. */
#include "internal.h"

extern const svc_def_t iam_service;
extern const svc_def_t sts_service;
extern const svc_def_t sqs_service;
extern const svc_def_t lambda_service;
extern const svc_def_t logs_service;
extern const svc_def_t s3_service;
extern const svc_def_t kinesis_service;
extern const svc_def_t events_service;
extern const svc_def_t scheduler_service;
extern const svc_def_t apigateway_service;
extern const svc_def_t apigatewayv2_service;

const svc_def_t *const kyoka_service_defs[] = {
    &iam_service,
    &sts_service,
    &sqs_service,
    &lambda_service,
    &logs_service,
    &s3_service,
    &kinesis_service,
    &events_service,
    &scheduler_service,
    &apigateway_service,
    &apigatewayv2_service,
    NULL,
};
