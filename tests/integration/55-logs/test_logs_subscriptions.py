"""CloudWatch Logs subscription filters through boto3: Put (create, update in
place, at most two a group), Describe (prefix, limit, nextToken, ASCII
order), Delete, AWS's errors and messages, the destinations kyoka does not
serve, persistence across kill -9, DeleteLogGroup and reset; and, when the
server delivers (a sink is registered), the Lambda event a subscribed
function receives.
"""
import base64
import gzip
import json
import os
import sys
import time
import unittest

import botocore.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "50-lambda"))
from harness import ACCOUNT, REGION, KyokaServer, KyokaTestCase, main  # noqa: E402

FN = "arn:aws:lambda:%s:%s:function:sink" % (REGION, ACCOUNT)

PY_SINK = """\
import base64, gzip, json
def handler(event, context):
    doc = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    print("GOT " + json.dumps(doc, sort_keys=True))
"""


def make_sink(kyoka):
    """The destination function, which CloudWatch Logs may invoke: the
    server checks that before it accepts a filter, as AWS does."""
    from lambdatest import py_zip
    lam, iam = kyoka.client("lambda"), kyoka.client("iam")
    iam.create_role(RoleName="sink-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    iam.attach_role_policy(RoleName="sink-role",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    lam.create_function(FunctionName="sink", Runtime="python3.12", Handler="index.handler",
                        Role="arn:aws:iam::%s:role/sink-role" % ACCOUNT, Code={"ZipFile": py_zip(PY_SINK)})
    for _ in range(100):
        if lam.get_function(FunctionName="sink")["Configuration"]["State"] == "Active":
            break
        time.sleep(0.1)
    lam.create_alias(FunctionName="sink", Name="live", FunctionVersion="$LATEST")
    for q in (None, "live"):
        kw = {"Qualifier": q} if q else {}
        lam.add_permission(FunctionName="sink", StatementId="logs", Action="lambda:InvokeFunction",
                           Principal="logs.amazonaws.com", **kw)


class SubscriptionCase(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.kyoka.client("logs")
        self.raw = self.kyoka.client("logs", parameter_validation=False)
        self.logs.create_log_group(logGroupName="/app/g")
        make_sink(self.kyoka)

    def err(self, fn, code, message=None, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kw)
        e = cm.exception.response["Error"]
        self.assertEqual(e["Code"], code, e)
        if message is not None:
            self.assertEqual(e["Message"], message)
        return e["Message"]

    def put(self, name, pattern="", dest=FN, group="/app/g", **kw):
        return self.logs.put_subscription_filter(logGroupName=group, filterName=name, filterPattern=pattern,
                                                 destinationArn=dest, **kw)

    def describe(self, group="/app/g", **kw):
        return self.logs.describe_subscription_filters(logGroupName=group, **kw)


class TestSubscriptionFilters(SubscriptionCase):
    def test_put_describe_update_delete(self):
        before = int(time.time() * 1000) - 5000
        self.put("b-errors", "ERROR", distribution="Random")
        self.put("a-all", "", roleArn="arn:aws:iam::%s:role/r" % ACCOUNT)
        got = self.describe()["subscriptionFilters"]
        self.assertEqual([f["filterName"] for f in got], ["a-all", "b-errors"])  # ASCII order
        a, b = got
        self.assertEqual(a["logGroupName"], "/app/g")
        self.assertEqual(a["filterPattern"], "")
        self.assertEqual(a["destinationArn"], FN)
        self.assertEqual(a["roleArn"], "arn:aws:iam::%s:role/r" % ACCOUNT)
        self.assertEqual(a["distribution"], "ByLogStream")  # the default
        self.assertEqual(b["distribution"], "Random")
        self.assertNotIn("roleArn", b)
        self.assertGreaterEqual(b["creationTime"], before)
        # The same name updates in place, even at the limit.
        self.put("b-errors", "WARN", dest=FN + ":live")
        got = self.describe()["subscriptionFilters"]
        self.assertEqual(len(got), 2)
        self.assertEqual(got[1]["filterPattern"], "WARN")
        self.assertEqual(got[1]["destinationArn"], FN + ":live")
        self.assertEqual(got[1]["distribution"], "ByLogStream")
        self.logs.delete_subscription_filter(logGroupName="/app/g", filterName="a-all")
        self.assertEqual([f["filterName"] for f in self.describe()["subscriptionFilters"]], ["b-errors"])

    def test_at_most_two_a_group(self):
        self.put("one")
        self.put("two")
        self.err(self.put, "LimitExceededException", "Resource limit exceeded.", name="three")
        self.assertEqual(len(self.describe()["subscriptionFilters"]), 2)
        # Another group has its own two.
        self.logs.create_log_group(logGroupName="/app/h")
        self.put("three", group="/app/h")

    def test_prefix_limit_and_token(self):
        self.put("alpha")
        self.put("beta")
        self.assertEqual([f["filterName"] for f in self.describe(filterNamePrefix="b")["subscriptionFilters"]],
                         ["beta"])
        self.assertEqual(self.describe(filterNamePrefix="z")["subscriptionFilters"], [])
        page = self.describe(limit=1)
        self.assertEqual([f["filterName"] for f in page["subscriptionFilters"]], ["alpha"])
        page2 = self.describe(limit=1, nextToken=page["nextToken"])
        self.assertEqual([f["filterName"] for f in page2["subscriptionFilters"]], ["beta"])
        self.assertNotIn("nextToken", page2)
        self.assertNotIn("nextToken", self.describe())
        self.err(self.raw.describe_subscription_filters, "InvalidParameterException",
                 "The specified nextToken is invalid.", logGroupName="/app/g", nextToken="nonsense")
        self.err(self.raw.describe_subscription_filters, "InvalidParameterException",
                 "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: "
                 "Member must have value less than or equal to 50", logGroupName="/app/g", limit=51)

    def test_errors(self):
        self.err(self.put, "ResourceNotFoundException", "The specified log group does not exist.",
                 name="f", group="/nope")
        self.err(self.describe, "ResourceNotFoundException", "The specified log group does not exist.",
                 group="/nope")
        self.err(self.logs.delete_subscription_filter, "ResourceNotFoundException",
                 "The specified log group does not exist.", logGroupName="/nope", filterName="f")
        self.err(self.logs.delete_subscription_filter, "ResourceNotFoundException",
                 "The specified subscription filter does not exist.", logGroupName="/app/g", filterName="f")
        # The pattern goes through the filter pattern parser, with its message.
        msg = self.err(self.put, "InvalidParameterException", None, name="f", pattern='{ $.a = }')
        self.assertIn("Invalid", msg)
        self.err(self.raw.put_subscription_filter, "InvalidParameterException",
                 "1 validation error detected: Value 'Sideways' at 'distribution' failed to satisfy constraint: "
                 "Member must satisfy enum value set: [Random, ByLogStream]",
                 logGroupName="/app/g", filterName="f", filterPattern="", destinationArn=FN,
                 distribution="Sideways")
        self.err(self.raw.put_subscription_filter, "InvalidParameterException",
                 "1 validation error detected: Value 'a:b' at 'filterName' failed to satisfy constraint: "
                 "Member must satisfy regular expression pattern: [^:*]*",
                 logGroupName="/app/g", filterName="a:b", filterPattern="", destinationArn=FN)
        # Bad input changes nothing.
        self.assertEqual(self.describe()["subscriptionFilters"], [])

    def test_destinations_kyoka_does_not_serve(self):
        for arn, what in [("arn:aws:kinesis:%s:%s:stream/s" % (REGION, ACCOUNT), "Kinesis Data Streams"),
                          ("arn:aws:firehose:%s:%s:deliverystream/d" % (REGION, ACCOUNT), "Firehose"),
                          ("arn:aws:logs:%s:%s:destination:d" % (REGION, ACCOUNT), "CloudWatch Logs destinations")]:
            msg = self.err(self.put, "InvalidParameterException", None, name="f", dest=arn)
            self.assertIn(what, msg)
            self.assertIn("Lambda function ARN", msg)
        for arn in ["not-an-arn", "arn:aws:lambda:%s:%s:layer:x" % (REGION, ACCOUNT),
                    "arn:aws:lambda:%s:%s:function:" % (REGION, ACCOUNT),
                    "arn:aws:lambda:%s:%s:function:a:b:c" % (REGION, ACCOUNT)]:
            self.err(self.put, "InvalidParameterException", None, name="f", dest=arn)
        self.assertEqual(self.describe()["subscriptionFilters"], [])

    def test_delete_log_group_and_reset_remove_filters(self):
        self.put("f")
        self.logs.delete_log_group(logGroupName="/app/g")
        self.logs.create_log_group(logGroupName="/app/g")
        self.assertEqual(self.describe()["subscriptionFilters"], [])
        self.put("f")
        self.kyoka.reset()
        self.logs.create_log_group(logGroupName="/app/g")
        self.assertEqual(self.describe()["subscriptionFilters"], [])

    def test_aws_cli(self):
        r = self.kyoka.aws_cli("logs", "put-subscription-filter", "--log-group-name", "/app/g", "--filter-name",
                               "cli", "--filter-pattern", "ERROR", "--destination-arn", FN)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.kyoka.aws_cli("logs", "describe-subscription-filters", "--log-group-name", "/app/g")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["subscriptionFilters"][0]["filterName"], "cli")


class TestSubscriptionDurability(unittest.TestCase):
    def test_filters_survive_kill9(self):
        k = KyokaServer().start()
        try:
            logs = k.client("logs")
            logs.create_log_group(logGroupName="/d")
            make_sink(k)
            logs.put_subscription_filter(logGroupName="/d", filterName="keep", filterPattern="[a, b]",
                                         destinationArn=FN, distribution="Random")
            k.kill9()
            k.start()
            got = k.client("logs").describe_subscription_filters(logGroupName="/d")["subscriptionFilters"]
            self.assertEqual(len(got), 1)
            self.assertEqual(got[0]["filterName"], "keep")
            self.assertEqual(got[0]["filterPattern"], "[a, b]")
            self.assertEqual(got[0]["distribution"], "Random")
        finally:
            k.cleanup()


class TestDelivery(SubscriptionCase):
    """End to end: a subscribed function gets AWS's event. Needs the server
    to register a delivery sink; skipped (saying so) while it does not."""

    def test_a_subscribed_function_receives_matching_events(self):
        self.put("errors", "ERROR")
        self.logs.create_log_stream(logGroupName="/app/g", logStreamName="s1")
        now = int(time.time() * 1000)
        self.logs.put_log_events(logGroupName="/app/g", logStreamName="s1", logEvents=[
            {"timestamp": now, "message": "ERROR boom"}, {"timestamp": now + 1, "message": "INFO fine"}])
        doc = None
        deadline = time.time() + 15
        while time.time() < deadline and doc is None:
            try:
                for e in self.logs.filter_log_events(logGroupName="/aws/lambda/sink",
                                                     filterPattern='"GOT "')["events"]:
                    doc = json.loads(e["message"].split("GOT ", 1)[1])
            except botocore.exceptions.ClientError:
                pass
            time.sleep(0.3)
        if doc is None:
            self.skipTest("no delivery: the server registers no subscription sink yet")
        self.assertEqual(doc["messageType"], "DATA_MESSAGE")
        self.assertEqual(doc["owner"], ACCOUNT)
        self.assertEqual(doc["logGroup"], "/app/g")
        self.assertEqual(doc["logStream"], "s1")
        self.assertEqual(doc["subscriptionFilters"], ["errors"])
        self.assertEqual([e["message"] for e in doc["logEvents"]], ["ERROR boom"])
        ev = self.logs.filter_log_events(logGroupName="/app/g", filterPattern="ERROR")["events"][0]
        self.assertEqual(doc["logEvents"][0]["id"], ev["eventId"])
        self.assertEqual(doc["logEvents"][0]["timestamp"], now)


if __name__ == "__main__":
    # gzip and base64 are used by the function; imported here so a broken
    # python fails early.
    assert gzip and base64
    main()
