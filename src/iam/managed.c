/*
 * AWS managed policies: the ones Lambda, S3, SQS and CloudWatch Logs users
 * attach most, with the documents of their current default versions as
 * published in the AWS Managed Policy Reference
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/).
 * ReadOnlyAccess is left out: it is very large and changes weekly.
 *
 * When AWS publishes a new default version, update the document here and
 * the version noted beside it.
 */
#include "iam/internal.h"

#include <stdio.h>
#include <string.h>

#include "core/banned.h"

typedef struct managed {
    const char *name;
    const char *path;
    const char *description;
    const char *document;
} managed_t;

static const managed_t policies[] = {
    /* v1 */
    {"AWSLambdaBasicExecutionRole", "/service-role/", "Provides write permissions to CloudWatch Logs.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"logs:CreateLogGroup\",\n"
     "        \"logs:CreateLogStream\",\n"
     "        \"logs:PutLogEvents\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v1 */
    {"AWSLambdaSQSQueueExecutionRole", "/service-role/",
     "Provides receive message, delete message, and read attribute access to SQS queues, and write "
     "permissions to CloudWatch logs.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"sqs:ReceiveMessage\",\n"
     "        \"sqs:DeleteMessage\",\n"
     "        \"sqs:GetQueueAttributes\",\n"
     "        \"logs:CreateLogGroup\",\n"
     "        \"logs:CreateLogStream\",\n"
     "        \"logs:PutLogEvents\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v2 */
    {"AWSLambdaKinesisExecutionRole", "/service-role/",
     "Provides list and read access to Kinesis streams and write permissions to CloudWatch logs.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"kinesis:DescribeStream\",\n"
     "        \"kinesis:DescribeStreamSummary\",\n"
     "        \"kinesis:GetRecords\",\n"
     "        \"kinesis:GetShardIterator\",\n"
     "        \"kinesis:ListShards\",\n"
     "        \"kinesis:ListStreams\",\n"
     "        \"kinesis:SubscribeToShard\",\n"
     "        \"logs:CreateLogGroup\",\n"
     "        \"logs:CreateLogStream\",\n"
     "        \"logs:PutLogEvents\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v1 */
    {"AWSLambdaDynamoDBExecutionRole", "/service-role/",
     "Provides list and read access to DynamoDB streams and write permissions to CloudWatch logs.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"dynamodb:DescribeStream\",\n"
     "        \"dynamodb:GetRecords\",\n"
     "        \"dynamodb:GetShardIterator\",\n"
     "        \"dynamodb:ListStreams\",\n"
     "        \"logs:CreateLogGroup\",\n"
     "        \"logs:CreateLogStream\",\n"
     "        \"logs:PutLogEvents\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v1 */
    {"AWSLambdaRole", "/service-role/", "Default policy for AWS Lambda service role.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"lambda:InvokeFunction\"\n"
     "      ],\n"
     "      \"Resource\" : [\n"
     "        \"*\"\n"
     "      ]\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v1 */
    {"AWSLambdaExecute", "/", "Provides Put, Get access to S3 and full access to CloudWatch Logs.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"logs:*\"\n"
     "      ],\n"
     "      \"Resource\" : \"arn:aws:logs:*:*:*\"\n"
     "    },\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"s3:GetObject\",\n"
     "        \"s3:PutObject\"\n"
     "      ],\n"
     "      \"Resource\" : \"arn:aws:s3:::*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v2 */
    {"AmazonS3FullAccess", "/", "Provides full access to all buckets via the AWS Management Console.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"s3:*\",\n"
     "        \"s3-object-lambda:*\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v3 */
    {"AmazonS3ReadOnlyAccess", "/", "Provides read only access to all buckets via the AWS Management Console.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"s3:Get*\",\n"
     "        \"s3:List*\",\n"
     "        \"s3:Describe*\",\n"
     "        \"s3-object-lambda:Get*\",\n"
     "        \"s3-object-lambda:List*\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v1 */
    {"AmazonSQSFullAccess", "/", "Provides full access to Amazon SQS via the AWS Management Console.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Action\" : [\n"
     "        \"sqs:*\"\n"
     "      ],\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v4 */
    {"AmazonSQSReadOnlyAccess", "/", "Provides read only access to Amazon SQS via the AWS Management Console.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Sid\" : \"AmazonSQSReadOnlyAccess\",\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"sqs:GetQueueAttributes\",\n"
     "        \"sqs:GetQueueUrl\",\n"
     "        \"sqs:ListDeadLetterSourceQueues\",\n"
     "        \"sqs:ListQueues\",\n"
     "        \"sqs:ListMessageMoveTasks\",\n"
     "        \"sqs:ListQueueTags\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v3 */
    {"CloudWatchLogsFullAccess", "/", "Provides full access to CloudWatch Logs",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Sid\" : \"CloudWatchLogsFullAccess\",\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"logs:*\",\n"
     "        \"cloudwatch:GenerateQuery\",\n"
     "        \"cloudwatch:GenerateQueryResultsSummary\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v2 */
    {"AmazonSSMManagedInstanceCore", "/",
     "The policy for Amazon EC2 Role to enable AWS Systems Manager service core functionality.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"ssm:DescribeAssociation\",\n"
     "        \"ssm:GetDeployablePatchSnapshotForInstance\",\n"
     "        \"ssm:GetDocument\",\n"
     "        \"ssm:DescribeDocument\",\n"
     "        \"ssm:GetManifest\",\n"
     "        \"ssm:GetParameter\",\n"
     "        \"ssm:GetParameters\",\n"
     "        \"ssm:ListAssociations\",\n"
     "        \"ssm:ListInstanceAssociations\",\n"
     "        \"ssm:PutInventory\",\n"
     "        \"ssm:PutComplianceItems\",\n"
     "        \"ssm:PutConfigurePackageResult\",\n"
     "        \"ssm:UpdateAssociationStatus\",\n"
     "        \"ssm:UpdateInstanceAssociationStatus\",\n"
     "        \"ssm:UpdateInstanceInformation\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    },\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"ssmmessages:CreateControlChannel\",\n"
     "        \"ssmmessages:CreateDataChannel\",\n"
     "        \"ssmmessages:OpenControlChannel\",\n"
     "        \"ssmmessages:OpenDataChannel\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    },\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"ec2messages:AcknowledgeMessage\",\n"
     "        \"ec2messages:DeleteMessage\",\n"
     "        \"ec2messages:FailMessage\",\n"
     "        \"ec2messages:GetEndpoint\",\n"
     "        \"ec2messages:GetMessages\",\n"
     "        \"ec2messages:SendReply\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v12 */
    {"PowerUserAccess", "/",
     "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"NotAction\" : [\n"
     "        \"iam:*\",\n"
     "        \"organizations:*\",\n"
     "        \"account:*\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    },\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : [\n"
     "        \"account:GetAccountInformation\",\n"
     "        \"account:GetGovCloudAccountInformation\",\n"
     "        \"account:GetPrimaryEmail\",\n"
     "        \"account:ListRegions\",\n"
     "        \"iam:CreateServiceLinkedRole\",\n"
     "        \"iam:DeleteServiceLinkedRole\",\n"
     "        \"iam:ListRoles\",\n"
     "        \"organizations:DescribeEffectivePolicy\",\n"
     "        \"organizations:DescribeOrganization\"\n"
     "      ],\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
    /* v1 */
    {"AdministratorAccess", "/", "Provides full access to AWS services and resources.",
     "{\n"
     "  \"Version\" : \"2012-10-17\",\n"
     "  \"Statement\" : [\n"
     "    {\n"
     "      \"Effect\" : \"Allow\",\n"
     "      \"Action\" : \"*\",\n"
     "      \"Resource\" : \"*\"\n"
     "    }\n"
     "  ]\n"
     "}"},
};

/* ARNs are built once: arn:aws:iam::aws:policy<path><name>. */
static char arns[KYOKA_ARRAY_LEN(policies)][160];
static bool arns_ready;

static void build_arns(void)
{
    if (arns_ready)
        return;
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(policies); i++)
        snprintf(arns[i], sizeof arns[i], "arn:aws:iam::aws:policy%s%s", policies[i].path, policies[i].name);
    arns_ready = true;
}

const char *iam_managed_policy_document(const char *arn)
{
    if (!arn)
        return NULL;
    build_arns();
    for (size_t i = 0; i < KYOKA_ARRAY_LEN(policies); i++)
        if (strcmp(arns[i], arn) == 0)
            return policies[i].document;
    return NULL;
}

bool iam_managed_policy_at(size_t i, const char **arn, const char **name, const char **path,
                           const char **description, const char **document)
{
    if (i >= KYOKA_ARRAY_LEN(policies))
        return false;
    build_arns();
    if (arn)
        *arn = arns[i];
    if (name)
        *name = policies[i].name;
    if (path)
        *path = policies[i].path;
    if (description)
        *description = policies[i].description;
    if (document)
        *document = policies[i].document;
    return true;
}
