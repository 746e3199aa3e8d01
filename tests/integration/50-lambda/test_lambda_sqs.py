"""SQS and Lambda together, through boto3: a function writing to a queue
under its execution role (role policy, queue policy, explicit deny), and a
queue triggering a function through an event source mapping (the API and
its errors, the SQS event, batches, partial failures, FIFO, filters, the
DLQ after maxReceiveCount on an advanced clock, restart)."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import harness  # noqa: E402
from harness import ACCOUNT, REGION  # noqa: E402
from lambdatest import LambdaTestCase, py_zip  # noqa: E402

SEND = """\
import boto3, os
def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=event["body"])
    return "sent"
"""

# Records what it was given into a queue of its own, so the test can read
# every batch; fails the records whose body asks for it.
RECORDER = """\
import boto3, json, os
sqs = boto3.client("sqs")
def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["SEEN_URL"], MessageBody=json.dumps(event))
    mode = os.environ.get("MODE", "")
    failed = [r["messageId"] for r in event["Records"] if "fail" in r["body"]]
    if mode == "raise" and failed:
        raise RuntimeError("poison")
    if mode == "partial":
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
    if mode == "bad-partial" and failed:
        return {"batchItemFailures": [{"itemIdentifier": ""}]}
    return {}
"""

SQS_READ = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                                   "sqs:SendMessage", "logs:*"], "Resource": "*"}]}


def qarn(name):
    return "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)


class SqsLambdaCase(LambdaTestCase):
    def setUp(self):
        super().setUp()
        self.sqs = self.kyoka.client("sqs")

    def queue(self, name, **attrs):
        return self.sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]

    def drain(self, url, n, timeout=30):
        got = []
        deadline = time.time() + timeout
        while len(got) < n and time.time() < deadline:
            out = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in out.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def wait_state(self, uuid, state, timeout=10):
        deadline = time.time() + timeout
        while True:
            cfg = self.lam.get_event_source_mapping(UUID=uuid)
            if cfg["State"] == state:
                return cfg
            if time.time() > deadline:
                self.fail("mapping %s stayed %s, not %s" % (uuid, cfg["State"], state))
            time.sleep(0.05)

    def recorder(self, name="rec", mode="", role=None, **kw):
        seen = self.queue(name + "-seen")
        env = {"SEEN_URL": seen, "MODE": mode}
        self.create(name, code=py_zip(RECORDER), Timeout=10, Environment={"Variables": env},
                    **({"Role": role} if role else {}), **kw)
        return seen

    def batches(self, seen_url, n_records, timeout=30):
        """The events the recorder saw until n_records records in all."""
        events, count = [], 0
        deadline = time.time() + timeout
        while count < n_records and time.time() < deadline:
            for m in self.drain(seen_url, 1, timeout=2):
                e = json.loads(m["Body"])
                events.append(e)
                count += len(e["Records"])
        return events


class TestFunctionWritesToQueue(SqsLambdaCase):
    role_name = "writer"

    def writer(self, policy, queue_policy=None):
        url = self.queue("out")
        if queue_policy:
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(queue_policy)})
        role = self.make_role("w-role", policy=policy)
        self.create("w", code=py_zip(SEND), Role=role, Timeout=10, Environment={"Variables": {"QUEUE_URL": url}})
        return url, role

    def test_allowed_by_the_role(self):
        url, role = self.writer({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": qarn("out")}]})
        out, body = self.invoke("w", {"body": "hello"})
        self.assertNotIn("FunctionError", out, body)
        [m] = self.drain(url, 1)
        self.assertEqual(m["Body"], "hello")
        status, recent = self.kyoka.admin("GET", "/_kyoka/iam/decisions?limit=20")
        sends = [d for d in recent["decisions"] if d["action"] == "sqs:SendMessage"]
        self.assertTrue(sends)
        self.assertEqual(sends[0]["principal"], "arn:aws:sts::%s:assumed-role/w-role/w" % ACCOUNT)
        self.assertEqual(sends[0]["decision"], "allowed")

    def test_allowed_by_the_queue_policy(self):
        role_arn = "arn:aws:iam::%s:role/w-role" % ACCOUNT
        url, _ = self.writer({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]},
            queue_policy={"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "sqs:SendMessage",
                 "Resource": qarn("out")}]})
        out, body = self.invoke("w", {"body": "via queue policy"})
        self.assertNotIn("FunctionError", out, body)
        self.assertEqual(self.drain(url, 1)[0]["Body"], "via queue policy")

    def test_denied_without_either(self):
        url, _ = self.writer({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]})
        out, body = self.invoke("w", {"body": "nope"})
        self.assertEqual(out.get("FunctionError"), "Unhandled")
        self.assertIn("AccessDenied", json.dumps(body))
        self.assertEqual(self.drain(url, 1, timeout=1), [])

    def test_explicit_deny_in_the_queue_policy_wins(self):
        role_arn = "arn:aws:iam::%s:role/w-role" % ACCOUNT
        url, _ = self.writer({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]},
            queue_policy={"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Principal": {"AWS": role_arn}, "Action": "sqs:SendMessage",
                 "Resource": qarn("out")}]})
        out, body = self.invoke("w", {"body": "denied"})
        self.assertEqual(out.get("FunctionError"), "Unhandled")
        self.assertIn("explicit deny in a resource-based policy", json.dumps(body))


class TestEventSourceMappingApi(SqsLambdaCase):
    def test_create_get_list_update_delete(self):
        self.queue("src")
        self.recorder()
        out = self.lam.create_event_source_mapping(EventSourceArn=qarn("src"), FunctionName="rec", BatchSize=5)
        self.assertEqual(out["ResponseMetadata"]["HTTPStatusCode"], 202)
        self.assertEqual(out["State"], "Creating")
        self.assertEqual(out["BatchSize"], 5)
        self.assertEqual(out["MaximumBatchingWindowInSeconds"], 0)
        self.assertEqual(out["EventSourceArn"], qarn("src"))
        self.assertEqual(out["FunctionArn"], "arn:aws:lambda:%s:%s:function:rec" % (REGION, ACCOUNT))
        self.assertEqual(out["StateTransitionReason"], "USER_INITIATED")
        self.assertEqual(out["LastProcessingResult"], "No records processed")
        uuid = out["UUID"]
        self.wait_state(uuid, "Enabled")
        self.assertEqual([m["UUID"] for m in self.lam.list_event_source_mappings(FunctionName="rec")
                          ["EventSourceMappings"]], [uuid])
        self.assertEqual([m["UUID"] for m in self.lam.list_event_source_mappings(EventSourceArn=qarn("src"))
                          ["EventSourceMappings"]], [uuid])
        self.assertEqual(self.lam.list_event_source_mappings(EventSourceArn=qarn("other"))
                         ["EventSourceMappings"], [])
        # (ScalingConfig is newer than Debian's botocore: lambda.test.mjs covers it.)
        up = self.lam.update_event_source_mapping(UUID=uuid, Enabled=False, BatchSize=20,
                                                  MaximumBatchingWindowInSeconds=1)
        self.assertEqual(up["State"], "Disabling")
        self.assertEqual(up["BatchSize"], 20)
        cfg = self.wait_state(uuid, "Disabled")
        self.assertEqual(cfg["MaximumBatchingWindowInSeconds"], 1)
        self.lam.update_event_source_mapping(UUID=uuid, Enabled=True)
        self.wait_state(uuid, "Enabled")
        gone = self.lam.delete_event_source_mapping(UUID=uuid)
        self.assertEqual(gone["State"], "Deleting")
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                self.lam.get_event_source_mapping(UUID=uuid)
            except self.lam.exceptions.ResourceNotFoundException:
                break
            time.sleep(0.05)
        else:
            self.fail("the mapping was never deleted")

    def test_bad_input(self):
        self.queue("src")
        self.queue("src.fifo", FifoQueue="true")
        self.recorder()
        cases = [
            (dict(EventSourceArn=qarn("src"), FunctionName="rec", BatchSize=11),
             "InvalidParameterValueException", "Maximum batch window in seconds must be greater than 0"),
            (dict(EventSourceArn=qarn("missing"), FunctionName="rec"),
             "InvalidParameterValueException", "The specified queue does not exist"),
            (dict(EventSourceArn=qarn("src"), FunctionName="nope"), "ResourceNotFoundException", ""),
            (dict(EventSourceArn=qarn("src.fifo"), FunctionName="rec", MaximumBatchingWindowInSeconds=1),
             "InvalidParameterValueException", "FIFO"),
            (dict(EventSourceArn=qarn("src"), FunctionName="rec",
                  FilterCriteria={"Filters": [{"Pattern": '{"body": "not an array"}'}]}),
             "InvalidParameterValueException", "Invalid filter pattern definition."),
            (dict(EventSourceArn="arn:aws:s3:::bucket", FunctionName="rec"),
             "InvalidParameterValueException", "Unrecognized event source"),
        ]
        for kw, code, msg in cases:
            with self.assertRaises(self.lam.exceptions.ClientError) as e:
                self.lam.create_event_source_mapping(**kw)
            self.assertEqual(e.exception.response["Error"]["Code"], code, kw)
            self.assertIn(msg, e.exception.response["Error"]["Message"], kw)
        self.assertEqual(self.lam.list_event_source_mappings()["EventSourceMappings"], [])
        first = self.lam.create_event_source_mapping(EventSourceArn=qarn("src"), FunctionName="rec")
        with self.assertRaises(self.lam.exceptions.ResourceConflictException) as e:
            self.lam.create_event_source_mapping(EventSourceArn=qarn("src"), FunctionName="rec")
        self.assertIn(first["UUID"], str(e.exception))
        with self.assertRaises(self.lam.exceptions.ResourceNotFoundException):
            self.lam.get_event_source_mapping(UUID="00000000-0000-0000-0000-000000000000")

    def test_role_without_queue_permissions(self):
        self.queue("src")
        role = self.make_role("no-read", policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "logs:*"], "Resource": "*"}]})
        self.create("f", Role=role)
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as e:
            self.lam.create_event_source_mapping(EventSourceArn=qarn("src"), FunctionName="f")
        self.assertIn("The function execution role does not have permissions to call DeleteMessage on SQS",
                      str(e.exception))


class TestQueueTriggersFunction(SqsLambdaCase):
    role_name = "sqs-exec"

    def setUp(self):
        super().setUp()
        self.iam.put_role_policy(RoleName=self.role_name, PolicyName="sqs", PolicyDocument=json.dumps(SQS_READ))

    def mapping(self, source, fn="rec", **kw):
        uuid = self.lam.create_event_source_mapping(EventSourceArn=qarn(source), FunctionName=fn, **kw)["UUID"]
        self.wait_state(uuid, "Enabled")
        return uuid

    def test_the_event_is_aws_sqs_event(self):
        src = self.queue("src")
        seen = self.recorder()
        self.mapping("src")
        self.sqs.send_message(QueueUrl=src, MessageBody='{"order": 1}', MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "new"}})
        [event] = self.batches(seen, 1)
        [r] = event["Records"]
        self.assertEqual(r["body"], '{"order": 1}')
        self.assertEqual(r["eventSource"], "aws:sqs")
        self.assertEqual(r["eventSourceARN"], qarn("src"))
        self.assertEqual(r["awsRegion"], REGION)
        self.assertEqual(r["attributes"]["ApproximateReceiveCount"], "1")
        for k in ("SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"):
            self.assertIn(k, r["attributes"])
        self.assertEqual(r["messageAttributes"]["kind"], {
            "stringValue": "new", "stringListValues": [], "binaryListValues": [], "dataType": "String"})
        self.assertEqual(len(r["md5OfBody"]), 32)
        self.assertTrue(r["receiptHandle"])
        self.assertTrue(r["messageId"])
        # Success deletes: nothing is left in the queue.
        time.sleep(0.5)
        attrs = self.sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["ApproximateNumberOfMessages"], "0")
        self.assertEqual(attrs["ApproximateNumberOfMessagesNotVisible"], "0")
        cfg = self.lam.list_event_source_mappings(FunctionName="rec")["EventSourceMappings"][0]
        self.assertEqual(cfg["LastProcessingResult"], "OK")

    def test_batches_up_to_batch_size(self):
        src = self.queue("src")
        seen = self.recorder()
        for i in range(25):
            self.sqs.send_message(QueueUrl=src, MessageBody="m%d" % i)
        self.mapping("src", BatchSize=10)
        events = self.batches(seen, 25)
        self.assertEqual(sum(len(e["Records"]) for e in events), 25)
        self.assertTrue(all(len(e["Records"]) <= 10 for e in events))
        self.assertEqual(sorted(r["body"] for e in events for r in e["Records"]), sorted("m%d" % i for i in range(25)))

    def test_poison_message_reaches_the_dlq_after_max_receive_count(self):
        dlq = self.queue("dlq")
        src = self.queue("src", VisibilityTimeout=30, RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": qarn("dlq"), "maxReceiveCount": "2"}))
        seen = self.recorder(mode="raise")
        self.mapping("src", BatchSize=1)
        self.sqs.send_message(QueueUrl=src, MessageBody="fail me")
        self.assertEqual(len(self.batches(seen, 1)), 1)
        self.assertEqual(self.drain(dlq, 1, timeout=1), [])
        self.kyoka.advance(31)  # visible again: the second receive
        self.assertEqual(len(self.batches(seen, 1)), 1)
        self.kyoka.advance(31)  # past maxReceiveCount: SQS moves it to the DLQ
        [m] = self.drain(dlq, 1, timeout=30)
        self.assertEqual(m["Body"], "fail me")
        cfg = self.lam.list_event_source_mappings(FunctionName="rec")["EventSourceMappings"][0]
        self.assertEqual(cfg["LastProcessingResult"], "PROBLEM: Function call failed")

    def test_partial_batch_failures(self):
        src = self.queue("src", VisibilityTimeout=30)
        seen = self.recorder(mode="partial")
        for b in ("ok-1", "fail-2", "ok-3"):
            self.sqs.send_message(QueueUrl=src, MessageBody=b)
        self.mapping("src", BatchSize=10, MaximumBatchingWindowInSeconds=1,
                     FunctionResponseTypes=["ReportBatchItemFailures"])
        events = self.batches(seen, 3)
        self.assertEqual(sorted(r["body"] for e in events for r in e["Records"]), ["fail-2", "ok-1", "ok-3"])
        time.sleep(0.5)
        self.kyoka.advance(31)
        again = self.batches(seen, 1)
        self.assertEqual([r["body"] for e in again for r in e["Records"]], ["fail-2"])

    def test_bad_partial_answer_fails_the_whole_batch(self):
        src = self.queue("src", VisibilityTimeout=30)
        seen = self.recorder(mode="bad-partial")
        for b in ("ok-1", "fail-2"):
            self.sqs.send_message(QueueUrl=src, MessageBody=b)
        self.mapping("src", BatchSize=10, MaximumBatchingWindowInSeconds=1,
                     FunctionResponseTypes=["ReportBatchItemFailures"])
        self.batches(seen, 2)
        time.sleep(0.5)
        self.kyoka.advance(31)
        again = self.batches(seen, 2)
        self.assertEqual(sorted(r["body"] for e in again for r in e["Records"]), ["fail-2", "ok-1"])

    def test_fifo_group_stops_at_its_first_failure(self):
        src = self.queue("src.fifo", FifoQueue="true", ContentBasedDeduplication="true", VisibilityTimeout=30)
        seen = self.recorder(mode="partial")
        for g, b in (("a", "a1"), ("a", "fail-a2"), ("a", "a3"), ("b", "b1"), ("b", "b2")):
            self.sqs.send_message(QueueUrl=src, MessageBody=b, MessageGroupId=g)
        self.mapping("src.fifo", BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
        events = self.batches(seen, 5)
        order = {}
        for e in events:
            for r in e["Records"]:
                order.setdefault(r["attributes"]["MessageGroupId"], []).append(r["body"])
                self.assertIn("SequenceNumber", r["attributes"])
        self.assertEqual(order["a"], ["a1", "fail-a2", "a3"])
        self.assertEqual(order["b"], ["b1", "b2"])
        time.sleep(0.5)
        self.kyoka.advance(31)
        again = self.batches(seen, 2)
        self.assertEqual([r["body"] for e in again for r in e["Records"]], ["fail-a2", "a3"])

    def test_filters_drop_and_delete_what_does_not_match(self):
        src = self.queue("src")
        seen = self.recorder()
        self.mapping("src", FilterCriteria={"Filters": [
            {"Pattern": json.dumps({"body": {"kind": ["order"], "amount": [{"numeric": [">", 10]}]}})},
            {"Pattern": json.dumps({"body": [{"prefix": "plain-"}]})}]})
        for b in (json.dumps({"kind": "order", "amount": 50}), json.dumps({"kind": "order", "amount": 5}),
                  json.dumps({"kind": "refund", "amount": 50}), "plain-text", "other text"):
            self.sqs.send_message(QueueUrl=src, MessageBody=b)
        events = self.batches(seen, 2)
        got = sorted(r["body"] for e in events for r in e["Records"])
        self.assertEqual(got, sorted([json.dumps({"kind": "order", "amount": 50}), "plain-text"]))
        time.sleep(1)
        attrs = self.sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["All"])["Attributes"]
        self.assertEqual((attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]),
                         ("0", "0"), "filtered messages are deleted, as on AWS")

    def test_filter_operators(self):
        src = self.queue("src")
        seen = self.recorder()
        self.mapping("src", FilterCriteria={"Filters": [
            {"Pattern": json.dumps({"body": {"file": [{"suffix": ".png"}]}})},
            {"Pattern": json.dumps({"body": {"state": [{"anything-but": ["ok", "done"]}], "id": [{"exists": True}]}})},
            {"Pattern": json.dumps({"body": {"path": [{"wildcard": "img/*/thumb"}]}})},
            {"Pattern": json.dumps({"body": {"user": [{"equals-ignore-case": "ANNA"}]}})},
            {"Pattern": json.dumps({"$or": [{"body": {"n": [{"numeric": ["<", 0]}]}},
                                            {"attributes": {"ApproximateReceiveCount": ["9"]}}]})},
        ]})
        wanted = [{"file": "a.png"}, {"state": "failed", "id": 1}, {"path": "img/x/thumb"}, {"user": "anna"},
                  {"n": -3}]
        unwanted = [{"file": "a.jpg"}, {"state": "ok", "id": 1}, {"state": "failed"}, {"path": "img/x/full"},
                    {"user": "bob"}, {"n": 3}]
        for b in unwanted + wanted:
            self.sqs.send_message(QueueUrl=src, MessageBody=json.dumps(b))
        events = self.batches(seen, len(wanted))
        got = sorted(r["body"] for e in events for r in e["Records"])
        self.assertEqual(got, sorted(json.dumps(b) for b in wanted))
        self.assertEqual(self.drain(seen, 1, timeout=1), [], "nothing else reaches the function")

    def test_disable_and_enable_lose_nothing(self):
        src = self.queue("src")
        seen = self.recorder()
        uuid = self.mapping("src")
        self.sqs.send_message(QueueUrl=src, MessageBody="before")
        self.assertEqual(len(self.batches(seen, 1)), 1)
        self.lam.update_event_source_mapping(UUID=uuid, Enabled=False)
        self.wait_state(uuid, "Disabled")
        time.sleep(0.5)
        for i in range(5):
            self.sqs.send_message(QueueUrl=src, MessageBody="while-%d" % i)
        time.sleep(1)
        self.assertEqual(self.drain(seen, 1, timeout=1), [], "a disabled mapping reads nothing")
        self.lam.update_event_source_mapping(UUID=uuid, Enabled=True)
        events = self.batches(seen, 5, timeout=60)
        self.assertEqual(sorted(r["body"] for e in events for r in e["Records"]),
                         ["while-%d" % i for i in range(5)])

    def test_scaling_up_under_a_backlog(self):
        slow = """\
import json, os, time, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    time.sleep(0.5)
    sqs.send_message(QueueUrl=os.environ["SEEN_URL"], MessageBody=json.dumps(event))
"""
        src = self.queue("src")
        seen = self.queue("rec-seen")
        self.create("rec", code=py_zip(slow), Timeout=10, Environment={"Variables": {"SEEN_URL": seen}})
        for i in range(40):
            self.sqs.send_message(QueueUrl=src, MessageBody="m%d" % i)
        self.mapping("src", BatchSize=1)
        peak = 0
        deadline = time.time() + 30
        while time.time() < deadline:
            status, info = self.kyoka.admin("GET", "/_kyoka/lambda")
            busy = sum(1 for e in info["environments"] if e.get("function") == "rec" and e.get("state") == "busy")
            peak = max(peak, busy)
            if peak >= 3:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(peak, 3, "a backlog runs several environments at once")


class TestMappingSurvivesRestart(SqsLambdaCase):
    ephemeral = False
    role_name = "sqs-exec"

    def test_kill9_then_every_message_is_processed(self):
        self.iam.put_role_policy(RoleName=self.role_name, PolicyName="sqs", PolicyDocument=json.dumps(SQS_READ))
        src = self.queue("src", VisibilityTimeout=5)
        seen = self.recorder()
        uuid = self.lam.create_event_source_mapping(EventSourceArn=qarn("src"), FunctionName="rec")["UUID"]
        self.wait_state(uuid, "Enabled")
        for i in range(30):
            self.sqs.send_message(QueueUrl=src, MessageBody="m%d" % i)
        time.sleep(0.3)
        self.kyoka.kill9()
        self.kyoka.start()
        self.sqs = self.kyoka.client("sqs")
        self.lam = self.kyoka.client("lambda")
        self.assertEqual(self.lam.get_event_source_mapping(UUID=uuid)["State"], "Enabled")
        self.kyoka.advance(6)  # what was in flight at the kill is visible again
        bodies = set()
        deadline = time.time() + 60
        while len(bodies) < 30 and time.time() < deadline:
            for m in self.drain(seen, 1, timeout=2):
                bodies.update(r["body"] for r in json.loads(m["Body"])["Records"])
        self.assertEqual(bodies, {"m%d" % i for i in range(30)}, "at least once: none lost")


if __name__ == "__main__":
    harness.main()
