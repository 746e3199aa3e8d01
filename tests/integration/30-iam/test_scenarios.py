"""The issue's end-to-end scenarios: roles assumed through STS acting on SQS,
with identity policies, AWS managed policies and queue (resource) policies
deciding together the way AWS's evaluation logic does.

These need the SQS service (queue policies via the Policy attribute); on a
kyoka without SQS they are skipped, and they run as soon as SQS is served.
"""
import json
import unittest

import botocore.exceptions

from harness import ACCOUNT, KyokaTestCase, main

ROOT_ARN = "arn:aws:iam::%s:root" % ACCOUNT
LAMBDA_BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
REGION = "us-east-1"


def lambda_trust():
    # Lambda may assume the role; so may the account (the test acts as the
    # function by assuming it itself).
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "sts:AssumeRole"}]})


def queue_arn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


def role_arn(name):
    return "arn:aws:iam::%s:role/%s" % (ACCOUNT, name)


class ScenarioTest(KyokaTestCase):
    def setUp(self):
        super().setUp()
        # The scenarios need queue policies; a kyoka without SQS must fail
        # them, not skip them.
        _, health = self.kyoka.admin("GET", "/_kyoka/health")
        self.assertIn("sqs", health["services"])
        self.iam = self.kyoka.client("iam")
        self.sts = self.kyoka.client("sts")
        self.sqs = self.kyoka.client("sqs")

    def make_role(self, name, inline=None):
        self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=lambda_trust())
        self.iam.attach_role_policy(RoleName=name, PolicyArn=LAMBDA_BASIC)
        if inline:
            self.iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))

    def as_role(self, name, session="fn"):
        creds = self.sts.assume_role(RoleArn=role_arn(name), RoleSessionName=session)["Credentials"]
        return self.kyoka.client("sqs", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                                session_token=creds["SessionToken"])

    def make_queue(self, name, policy=None):
        attrs = {"Policy": json.dumps(policy)} if policy else {}
        return self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]

    def assertDenied(self, ctx, message=None):
        err = ctx.exception.response["Error"]
        self.assertEqual(err["Code"], "AccessDenied", err)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        if message is not None:
            self.assertEqual(err["Message"], message)

    def test_execution_role_sends_to_its_queue_only(self):
        mine = self.make_queue("orders")
        other = self.make_queue("payments")
        self.assertEqual(self.sqs.get_queue_attributes(QueueUrl=mine, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
                         queue_arn("orders"))
        self.make_role("fn-exec", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn("orders")}]})
        sqs = self.as_role("fn-exec")
        self.assertIn("MessageId", sqs.send_message(QueueUrl=mine, MessageBody="hello"))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sqs.send_message(QueueUrl=other, MessageBody="nope")
        self.assertDenied(cm, "User: arn:aws:sts::%s:assumed-role/fn-exec/fn is not authorized to perform: "
                              "sqs:SendMessage on resource: %s because no identity-based policy allows the "
                              "sqs:SendMessage action" % (ACCOUNT, queue_arn("payments")))
        # The one message sent is there; the refused one is not anywhere.
        got = self.sqs.receive_message(QueueUrl=mine, WaitTimeSeconds=0).get("Messages", [])
        self.assertEqual([m["Body"] for m in got], ["hello"])
        self.assertEqual(self.sqs.receive_message(QueueUrl=other, WaitTimeSeconds=0).get("Messages", []), [])

    def test_queue_policy_naming_the_role_allows(self):
        self.make_role("logs-only")
        url = self.make_queue("inbox", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": role_arn("logs-only")}, "Action": "sqs:SendMessage",
             "Resource": queue_arn("inbox")}]})
        sqs = self.as_role("logs-only")
        self.assertIn("MessageId", sqs.send_message(QueueUrl=url, MessageBody="via queue policy"))
        # The grant is for SendMessage only.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sqs.receive_message(QueueUrl=url)
        self.assertDenied(cm)

    def test_explicit_deny_in_role_beats_queue_policy(self):
        self.make_role("denied", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"}]})
        url = self.make_queue("guarded", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": role_arn("denied")}, "Action": "sqs:SendMessage",
             "Resource": queue_arn("guarded")}]})
        sqs = self.as_role("denied")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sqs.send_message(QueueUrl=url, MessageBody="x")
        self.assertDenied(cm, "User: arn:aws:sts::%s:assumed-role/denied/fn is not authorized to perform: "
                              "sqs:SendMessage on resource: %s with an explicit deny in an identity-based policy"
                              % (ACCOUNT, queue_arn("guarded")))

    def test_queue_policy_naming_another_principal_does_not_help(self):
        self.make_role("bystander")
        self.make_role("someone-else")
        url = self.make_queue("private", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": role_arn("someone-else")}, "Action": "sqs:SendMessage",
             "Resource": queue_arn("private")}]})
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.as_role("bystander").send_message(QueueUrl=url, MessageBody="x")
        self.assertDenied(cm)
        self.assertIn("MessageId", self.as_role("someone-else").send_message(QueueUrl=url, MessageBody="ok"))


if __name__ == "__main__":
    main()
