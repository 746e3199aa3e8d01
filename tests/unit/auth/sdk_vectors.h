/*
 * Requests captured from real SDKs, used as data by test_sigv4.c.
 *
 * botocore 1.43.11: clients for sqs, dynamodb, lambda, s3 and sts pointed at
 * https://localhost:4566 with the key AKIDEXAMPLE /
 * wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY and the signing clock frozen at
 * 2015-08-30T12:36:00Z; each request was taken from the before-send event
 * (botocore adds Host when it sends, so it is appended here). The sts vector
 * carries the session token "SESSIONTOKEN/abc+==". Presigned URLs come from
 * generate_presigned_url with signature_version s3v4.
 *
 * @smithy/signature-v4 (the JS SDK v3 signer): the same key and clock, paths
 * encoded as the v3 serializers encode them, S3 with uriEscapePath false,
 * S3 presigning with an unsigned, unhoisted x-amz-content-sha256:
 * UNSIGNED-PAYLOAD as @aws-sdk/s3-request-presigner does. (The PUT
 * presigned with a token comes out identical to botocore's.) The STS URL
 * is presigned the same way, with UNSIGNED-PAYLOAD, as some signers do for
 * other services.
 *
 * Regenerating needs only those clients; the values are the test's truth.
 */
#ifndef KYOKA_TEST_SDK_VECTORS_H
#define KYOKA_TEST_SDK_VECTORS_H

#include "test_auth.h"

static const vec_req_t botocore_vectors[] = {
    {"sqs-send", "POST", "/", "", "{\"QueueUrl\": \"https://localhost:4566/000000000000/q\", \"MessageBody\": \"hello world & <x>\"}",
     {
      {"X-Amz-Target", "AmazonSQS.SendMessage"},
      {"Content-Type", "application/x-amz-json-1.0"},
      {"x-amzn-query-mode", "true"},
      {"User-Agent", "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,e,b,Z,D cfg/retry-mode#legacy"},
      {"X-Amz-Date", "20150830T123600Z"},
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-amzn-query-mode, Signature=3d48a1921146c0617857631cbb7603480c28a978b314d6ded11c4e64d24663d1"},
      {"Content-Length", "89"},
      {"Host", "localhost:4566"},
     }},
    {"ddb-get", "POST", "/", "", "{\"TableName\": \"t\", \"Key\": {\"k\": {\"S\": \"v\"}}}",
     {
      {"X-Amz-Target", "DynamoDB_20120810.GetItem"},
      {"Content-Type", "application/x-amz-json-1.0"},
      {"User-Agent", "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,e,b,Z,P,D cfg/retry-mode#legacy"},
      {"X-Amz-Date", "20150830T123600Z"},
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=c72ee529eceb974891e1f7a1b815c41c2b8da15b02449af9e490a2d00e068af9"},
      {"Content-Length", "44"},
      {"Host", "localhost:4566"},
     }},
    {"lambda-invoke-arn", "POST", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Amy-fn/invocations", "", "{}",
     {
      {"User-Agent", "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,e,b,Z,D cfg/retry-mode#legacy"},
      {"X-Amz-Date", "20150830T123600Z"},
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=1a281fd7d643a651a5bb4d3013d80a673a5d73c8adc1461a4f6f2ed77f03017e"},
      {"Content-Length", "2"},
      {"Host", "localhost:4566"},
     }},
    {"s3-get-weird", "GET", "/bkt/dir/a%20b%2Bc%21%28x%29%2A%27~%25.txt", "", "",
     {
      {"x-amz-checksum-mode", "ENABLED"},
      {"User-Agent", "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,e,b,Z,D cfg/retry-mode#legacy"},
      {"X-Amz-Date", "20150830T123600Z"},
      {"X-Amz-Content-SHA256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-checksum-mode;x-amz-content-sha256;x-amz-date, Signature=e70e27b7bba1ebf54e216584591d08307edd0230122388221eb9e9ae5b897c19"},
      {"Host", "localhost:4566"},
     }},
    {"s3-list", "GET", "/bkt", "list-type=2&prefix=a%20b%2F%C3%BC&delimiter=%2F&encoding-type=url", "",
     {
      {"User-Agent", "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,e,b,Z,D cfg/retry-mode#legacy"},
      {"X-Amz-Date", "20150830T123600Z"},
      {"X-Amz-Content-SHA256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=a5e25bb18d4800d7a29af473128b3348cb177d9cb2cf26c1f27b2247409fae32"},
      {"Host", "localhost:4566"},
     }},
    {"s3-put-small", "PUT", "/bkt/k", "", "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n",
     {
      {"User-Agent", "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,e,b,Z,U,D cfg/retry-mode#legacy"},
      {"Expect", "100-continue"},
      {"Transfer-Encoding", "chunked"},
      {"Content-Encoding", "aws-chunked"},
      {"X-Amz-Trailer", "x-amz-checksum-crc32"},
      {"X-Amz-Decoded-Content-Length", "5"},
      {"x-amz-sdk-checksum-algorithm", "CRC32"},
      {"X-Amz-Date", "20150830T123600Z"},
      {"X-Amz-Content-SHA256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"},
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-sdk-checksum-algorithm;x-amz-trailer, Signature=8a9d4ffe6686470af2111637b524e685b21000e10ac37bff7fb6076fc0b2714a"},
      {"Host", "localhost:4566"},
     }},
    {"sts-token", "POST", "/", "", "Action=GetCallerIdentity&Version=2011-06-15",
     {
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
      {"User-Agent", "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v769 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython m/N,e,b,Z,D cfg/retry-mode#legacy"},
      {"X-Amz-Date", "20150830T123600Z"},
      {"X-Amz-Security-Token", "SESSIONTOKEN/abc+=="},
      {"Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=73090ef83a7986da5d081d589664f6506e4dd43d20c03a3ed8f7ec11f219ae02"},
      {"Content-Length", "43"},
      {"Host", "localhost:4566"},
     }},
};
static const char *const botocore_presigned[] = {
    "/bkt/a%20b/c~d%2Be.txt", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=f5407fca5e0fb6f6c025b0a25c65d76a34919628e854e47697b63758b0992208",
    "/", "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Security-Token=SESSIONTOKEN%2Fabc%2B%3D%3D&X-Amz-Signature=63e4b228915cc700809482f42ff227a818ccffeb4e3af7351963bad384ebae68",
    "/bkt/up.bin", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=SESSIONTOKEN%2Fabc%2B%3D%3D&X-Amz-Signature=f988ae4831c0e9333486e72ba3d01c73458b376c45f0aa3c350cf14a0488ce44",
};
static const vec_req_t js_vectors[] = {
    {"js-s3-get-weird", "GET", "/bkt/dir/a%20b%2Bc%21%28x%29%2A%27~%25.txt", "x-id=GetObject", "",
     {
      {"host", "localhost:4566"},
      {"x-amz-date", "20150830T123600Z"},
      {"x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=18e03a4a2e1d3057cba6917086b91ff88d22ed3b007c1dd25f28ec229fefc723"},
     }},
    {"js-lambda-arn", "POST", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Amy-fn/invocations", "", "{}",
     {
      {"host", "localhost:4566"},
      {"content-type", "application/json"},
      {"x-amz-date", "20150830T123600Z"},
      {"authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/lambda/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=dadc252d13d0851e1d8c9dee21afbcdbc460453a08263521b33b2d77f6a12219"},
     }},
    {"js-sqs-token", "POST", "/", "", "{}",
     {
      {"host", "localhost:4566"},
      {"content-type", "application/x-amz-json-1.0"},
      {"x-amz-target", "AmazonSQS.ListQueues"},
      {"x-amz-date", "20150830T123600Z"},
      {"authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=8cb5cdc3d46e734e597a4f8fb13f3fb80ef2b37bcbd71656e17acf5ff5bc8778"},
     }},
    {"js-s3-presign", "GET", "/bkt/a%20b/c~d%2Be.txt", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=900&X-Amz-Signature=ff99ed9caa5fa1a45bb806358aea9906d9639179c425acb36a13593b40cf8e0a&X-Amz-SignedHeaders=host&response-content-type=text%2Fplain%3B%20charset%3Dutf-8", "",
     {
      {"host", "localhost:4566"},
     }},
    {"js-s3-presign-token", "PUT", "/bkt/up.bin", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=600&X-Amz-Security-Token=SESSIONTOKEN%2Fabc%2B%3D%3D&X-Amz-Signature=f988ae4831c0e9333486e72ba3d01c73458b376c45f0aa3c350cf14a0488ce44&X-Amz-SignedHeaders=host", "",
     {
      {"host", "localhost:4566"},
     }},
    {"js-sts-presign-unsigned", "GET", "/", "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-Signature=ed34fac1480853d71fe85d9da31bcbb4471ba6af24b0f6b322693ec276e71b62&X-Amz-SignedHeaders=host", "",
     {
      {"host", "localhost:4566"},
     }},
};

#endif
