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
 * triple the size), so 40 MiB. */
#define KYOKA_HTTP_MAX_BODY_BYTES (40 * 1024 * 1024)
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

#endif
