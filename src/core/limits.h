/*
 * Every size limit kyoka enforces, in one place, each with the AWS quota it
 * mirrors. Sizes that come from input are checked against these before any
 * allocation.
 */
#ifndef KYOKA_LIMITS_H
#define KYOKA_LIMITS_H

/* HTTP front end. AWS front ends reject request headers past ~16 KiB with 400;
 * we allow 64 KiB in total to leave room for large presigned URLs. */
#define KYOKA_HTTP_MAX_HEADER_BYTES (64 * 1024)
#define KYOKA_HTTP_MAX_HEADERS 100
#define KYOKA_HTTP_MAX_URL_BYTES (16 * 1024)
/* Buffered (non-streamed) request bodies. Query/JSON APIs: the largest is an
 * SQS SendMessageBatch of 10 x 1 MiB plus encoding overhead (form encoding can
 * triple the size), so 40 MiB; Lambda's CreateFunction carries a 50 MB zip as
 * base64 in JSON (4/3 of that, 67 MiB), so 72 MiB. */
#define KYOKA_HTTP_MAX_BODY_BYTES (72 * 1024 * 1024)
#define KYOKA_HTTP_HEADER_TIMEOUT_MS 10000 /* whole header must arrive in 10 s */
#define KYOKA_HTTP_IDLE_TIMEOUT_MS 60000   /* keep-alive idle connections */
#define KYOKA_HTTP_BODY_TIMEOUT_MS 60000   /* no body bytes for 60 s: give up */
#define KYOKA_HTTP_MAX_CONNECTIONS 4096

/* SigV4: requests more than 15 minutes off the server clock are rejected
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html). */
#define KYOKA_SIGV4_MAX_SKEW_MS (15 * 60 * 1000)
/* Presigned URLs expire in at most 7 days (X-Amz-Expires <= 604800). */
#define KYOKA_SIGV4_MAX_EXPIRES_S 604800

/* IAM policy document sizes (IAM and STS quotas page). */
#define KYOKA_IAM_MAX_MANAGED_POLICY_BYTES 6144
#define KYOKA_IAM_MAX_ROLE_INLINE_BYTES 10240
#define KYOKA_IAM_MAX_USER_INLINE_BYTES 2048
#define KYOKA_IAM_MAX_TRUST_POLICY_BYTES 2048
#define KYOKA_IAM_MAX_SESSION_POLICY_BYTES 2048
/* Resource policies: SQS queue policy 20 KiB (8192 chars in docs, we accept
 * up to 20480 bytes), S3 bucket policy 20 KiB, Lambda 20 KiB. */
#define KYOKA_RESOURCE_POLICY_MAX_BYTES 20480

/* SQS (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html):
 * message size up to 1 MiB (1,048,576 bytes), default MaximumMessageSize 1 MiB. */
#define KYOKA_SQS_MAX_MESSAGE_BYTES 1048576
#define KYOKA_SQS_MAX_BATCH_ENTRIES 10
#define KYOKA_SQS_MAX_QUEUE_NAME 80

/* Lambda (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
 * synchronous request and response payloads 6 MB each (6,291,456 bytes),
 * asynchronous events 1 MB (raised from 256 KB in 2025); a zip uploaded in the request 50 MB (the
 * base64 in CreateFunction's JSON is 4/3 of that); code and layers 250 MB
 * unzipped; environment variables 4 KB in all; init phase 10 s. */
#define KYOKA_LAMBDA_MAX_SYNC_PAYLOAD 6291456
#define KYOKA_LAMBDA_MAX_SYNC_RESPONSE 6291456
#define KYOKA_LAMBDA_MAX_ASYNC_PAYLOAD 1048576
#define KYOKA_LAMBDA_MAX_ZIP_BYTES (50 * 1024 * 1024)
#define KYOKA_LAMBDA_MAX_UNZIPPED_BYTES 262144000
#define KYOKA_LAMBDA_MAX_ENV_BYTES 4096
#define KYOKA_LAMBDA_INIT_TIMEOUT_MS 10000
/* LogType=Tail returns the last 4 KB of the invocation's log. */
#define KYOKA_LAMBDA_LOG_TAIL_BYTES 4096

/* API Gateway HTTP APIs: payload size 10 MB, not adjustable
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html). */
#define KYOKA_APIGW_V2_MAX_PAYLOAD (10 * 1024 * 1024)

#endif
