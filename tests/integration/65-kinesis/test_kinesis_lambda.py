"""Kinesis streams triggering functions through event source mappings, via
boto3: AWS's Kinesis event, the execution role's read permission, ordering
per partition key under ParallelizationFactor, bisection isolating a poison
record and its OnFailure record, record age on an advanced clock, and
checkpoints across kill -9."""
import base64
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "50-lambda"))

import harness  # noqa: E402
from harness import ACCOUNT, REGION  # noqa: E402
from lambdatest import LambdaTestCase, py_zip  # noqa: E402

# Sends every batch it processed successfully to SEEN; fails a batch that
# holds a record whose data is "poison" (or every batch with MODE=fail).
WORKER = """\
import base64, json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    datas = [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]
    if os.environ.get("MODE") == "fail" or "poison" in datas:
        raise RuntimeError("cannot process")
    sqs.send_message(QueueUrl=os.environ["SEEN_URL"], MessageBody=json.dumps(event))
"""

STREAM = "arn:aws:kinesis:%s:%s:stream/%%s" % (REGION, ACCOUNT)


class KinesisLambdaCase(LambdaTestCase):
    def setUp(self):
        super().setUp()
        self.k = self.kyoka.client("kinesis")
        self.sqs = self.kyoka.client("sqs")

    def stream(self, name, shards=1):
        self.k.create_stream(StreamName=name, ShardCount=shards)
        deadline = time.time() + 10
        while self.k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
            if time.time() > deadline:
                self.fail("stream never became ACTIVE")
            time.sleep(0.05)
        return STREAM % name

    def worker(self, mode=""):
        seen = self.sqs.create_queue(QueueName="seen")["QueueUrl"]
        self.create("worker", code=py_zip(WORKER), Timeout=10,
                    Environment={"Variables": {"SEEN_URL": seen, "MODE": mode}})
        return seen

    def mapping(self, arn, **kw):
        kw.setdefault("StartingPosition", "TRIM_HORIZON")
        uuid = self.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="worker", **kw)["UUID"]
        deadline = time.time() + 10
        while self.lam.get_event_source_mapping(UUID=uuid)["State"] != "Enabled":
            if time.time() > deadline:
                self.fail("mapping never became Enabled")
            time.sleep(0.05)
        return uuid

    def processed(self, seen, n, timeout=30):
        """Records of successful invocations, in the order of the events."""
        out, deadline = [], time.time() + timeout
        while len(out) < n and time.time() < deadline:
            got = self.sqs.receive_message(QueueUrl=seen, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in got.get("Messages", []):
                out.extend(json.loads(m["Body"])["Records"])
                self.sqs.delete_message(QueueUrl=seen, ReceiptHandle=m["ReceiptHandle"])
        return out

    @staticmethod
    def data(r):
        return base64.b64decode(r["kinesis"]["data"]).decode()


class TestStreamMappings(KinesisLambdaCase):
    def test_the_event_is_aws_kinesis_event(self):
        arn = self.stream("s")
        seen = self.worker()
        out = self.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="worker",
                                                   StartingPosition="TRIM_HORIZON", BatchSize=50)
        self.assertEqual(out["State"], "Creating")
        self.assertEqual(out["StartingPosition"], "TRIM_HORIZON")
        self.assertEqual(out["ParallelizationFactor"], 1)
        self.assertEqual(out["MaximumRetryAttempts"], -1)
        self.assertEqual(out["MaximumRecordAgeInSeconds"], -1)
        self.assertFalse(out["BisectBatchOnFunctionError"])
        put = self.k.put_record(StreamName="s", Data=b'{"n": 1}', PartitionKey="k1")
        [r] = self.processed(seen, 1)
        self.assertEqual(r["eventSource"], "aws:kinesis")
        self.assertEqual(r["eventVersion"], "1.0")
        self.assertEqual(r["eventName"], "aws:kinesis:record")
        self.assertEqual(r["eventSourceARN"], arn)
        self.assertEqual(r["awsRegion"], REGION)
        self.assertEqual(r["invokeIdentityArn"], self.role_arn)
        self.assertEqual(r["eventID"], "%s:%s" % (put["ShardId"], put["SequenceNumber"]))
        self.assertEqual(r["kinesis"]["kinesisSchemaVersion"], "1.0")
        self.assertEqual(r["kinesis"]["partitionKey"], "k1")
        self.assertEqual(r["kinesis"]["sequenceNumber"], put["SequenceNumber"])
        self.assertEqual(self.data(r), '{"n": 1}')
        self.assertIsInstance(r["kinesis"]["approximateArrivalTimestamp"], float)

    def test_role_must_read_the_stream(self):
        arn = self.stream("s")
        role = self.make_role("no-kinesis", policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]})
        self.create("worker", Role=role)
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as e:
            self.lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="worker",
                                                 StartingPosition="LATEST")
        self.assertIn("Cannot access stream %s" % arn, str(e.exception))
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as e:
            self.lam.create_event_source_mapping(EventSourceArn=STREAM % "missing", FunctionName="worker",
                                                 StartingPosition="LATEST")
        self.assertIn("Stream not found", str(e.exception))
        self.assertEqual(self.lam.list_event_source_mappings()["EventSourceMappings"], [])

    def test_order_per_partition_key_with_parallelization(self):
        arn = self.stream("s", shards=2)
        seen = self.worker()
        self.mapping(arn, BatchSize=10, ParallelizationFactor=10)
        sent = {}
        for i in range(120):
            key = "key-%d" % (i % 6)
            sent.setdefault(key, []).append(str(i))
        entries = [{"Data": str(i).encode(), "PartitionKey": "key-%d" % (i % 6)} for i in range(120)]
        for chunk in range(0, 120, 40):
            self.assertEqual(self.k.put_records(StreamName="s", Records=entries[chunk:chunk + 40])["FailedRecordCount"],
                             0)
        got = {}
        for r in self.processed(seen, 120):
            got.setdefault(r["kinesis"]["partitionKey"], []).append(self.data(r))
        self.assertEqual(got, sent, "every key's records in the order they were put")

    def test_bisection_isolates_the_poison_record(self):
        arn = self.stream("s")
        seen = self.worker()
        failed = self.sqs.create_queue(QueueName="failed")["QueueUrl"]
        fail_arn = "arn:aws:sqs:%s:%s:failed" % (REGION, ACCOUNT)
        entries = [{"Data": d.encode(), "PartitionKey": "p"} for d in ("a", "b", "c", "poison", "e", "f", "g", "h")]
        self.k.put_records(StreamName="s", Records=entries)
        self.mapping(arn, BatchSize=8, BisectBatchOnFunctionError=True, MaximumRetryAttempts=3,
                     DestinationConfig={"OnFailure": {"Destination": fail_arn}})
        done = [self.data(r) for r in self.processed(seen, 7)]
        self.assertEqual(sorted(done), ["a", "b", "c", "e", "f", "g", "h"])
        got = self.sqs.receive_message(QueueUrl=failed, WaitTimeSeconds=20).get("Messages", [])
        self.assertEqual(len(got), 1)
        rec = json.loads(got[0]["Body"])
        info = rec["KinesisBatchInfo"]
        self.assertEqual(info["batchSize"], 1, "the poison record alone")
        self.assertEqual(info["streamArn"], arn)
        self.assertEqual(info["startSequenceNumber"], info["endSequenceNumber"])
        self.assertEqual(rec["requestContext"]["condition"], "RetryAttemptsExhausted")
        self.assertEqual(rec["responseContext"]["functionError"], "Unhandled")

    def test_record_age_on_an_advanced_clock(self):
        arn = self.stream("s")
        self.worker(mode="fail")
        failed = self.sqs.create_queue(QueueName="failed")["QueueUrl"]
        fail_arn = "arn:aws:sqs:%s:%s:failed" % (REGION, ACCOUNT)
        self.k.put_record(StreamName="s", Data=b"x", PartitionKey="p")
        self.mapping(arn, MaximumRecordAgeInSeconds=60, DestinationConfig={"OnFailure": {"Destination": fail_arn}})
        time.sleep(1)
        self.assertEqual(self.sqs.receive_message(QueueUrl=failed, WaitTimeSeconds=1).get("Messages", []), [],
                         "retried while younger than 60 s")
        self.kyoka.advance(61)
        got = self.sqs.receive_message(QueueUrl=failed, WaitTimeSeconds=20).get("Messages", [])
        self.assertEqual(len(got), 1)
        self.assertEqual(json.loads(got[0]["Body"])["requestContext"]["condition"], "RecordAgeExceeded")


class TestStreamCheckpoints(KinesisLambdaCase):
    ephemeral = False

    def test_kill9_then_resume_from_the_checkpoint(self):
        arn = self.stream("s")
        seen = self.worker()
        self.mapping(arn, BatchSize=5)
        self.k.put_records(StreamName="s", Records=[{"Data": ("a%d" % i).encode(), "PartitionKey": "p"}
                                                    for i in range(20)])
        first = [self.data(r) for r in self.processed(seen, 20)]
        self.kyoka.kill9()
        self.kyoka.start()
        self.k = self.kyoka.client("kinesis")
        self.sqs = self.kyoka.client("sqs")
        self.k.put_records(StreamName="s", Records=[{"Data": ("b%d" % i).encode(), "PartitionKey": "p"}
                                                    for i in range(10)])
        after = [self.data(r) for r in self.processed(seen, 10)]
        # At least once: what ran before the kill may run again, but nothing
        # after the checkpoint is skipped and the b records come in order.
        self.assertEqual(first, ["a%d" % i for i in range(20)])
        self.assertEqual([d for d in after if d.startswith("b")], ["b%d" % i for i in range(10)])


if __name__ == "__main__":
    harness.main()
