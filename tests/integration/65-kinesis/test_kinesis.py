"""Kinesis Data Streams through boto3 and the AWS CLI against a real
`kyoka serve`: streams and their states, shards and resharding, puts and
reads with every iterator type, retention and iterator expiry on the server
clock, tags, consumers, stream ARNs, resource policies in authorization,
AWS's errors for bad input (which changes nothing), the per-shard limits
of --kinesis-limits aws, and kill -9 durability of acknowledged records.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import time
import unittest

import botocore.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from harness import ACCOUNT, KyokaServer, KyokaTestCase, main, use_model_overlays  # noqa: E402

# StreamARN parameters, StreamSummaries and the resource policy operations
# are newer than Debian's botocore: its clients get them from kyoka's overlay.
use_model_overlays("kinesis")

ARN = "arn:aws:kinesis:us-east-1:%s:stream/%%s" % ACCOUNT
MAX = 2 ** 128 - 1


def wait_active(k, name, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        if st == "ACTIVE":
            return
        time.sleep(0.05)
    raise AssertionError("stream %s never became ACTIVE" % name)


def read_all(k, name, shard_id, itype="TRIM_HORIZON", **kw):
    it = k.get_shard_iterator(StreamName=name, ShardId=shard_id, ShardIteratorType=itype, **kw)["ShardIterator"]
    out = []
    while it:
        r = k.get_records(ShardIterator=it)
        out += r["Records"]
        if not r["Records"]:
            break
        it = r.get("NextShardIterator")
    return out


class KinesisTest(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.k = self.kyoka.client("kinesis")

    def err(self, fn, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kw)
        return cm.exception.response["Error"]

    def make(self, name="s", shards=2):
        self.k.create_stream(StreamName=name, ShardCount=shards)
        wait_active(self.k, name)
        return name

    # ---- streams ----

    def test_create_describe_states(self):
        self.k.create_stream(StreamName="orders", ShardCount=3)
        d = self.k.describe_stream(StreamName="orders")["StreamDescription"]
        self.assertEqual(d["StreamStatus"], "CREATING")
        wait_active(self.k, "orders")
        d = self.k.describe_stream(StreamName="orders")["StreamDescription"]
        self.assertEqual(d["StreamARN"], ARN % "orders")
        self.assertEqual(d["RetentionPeriodHours"], 24)
        self.assertEqual(d["StreamModeDetails"], {"StreamMode": "PROVISIONED"})
        self.assertFalse(d["HasMoreShards"])
        ids = [s["ShardId"] for s in d["Shards"]]
        self.assertEqual(ids, ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        # AWS divides the 128-bit hash key space evenly.
        ranges = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
                  for s in d["Shards"]]
        step = 2 ** 128 // 3
        self.assertEqual(ranges, [(0, step - 1), (step, 2 * step - 1), (2 * step, MAX)])
        for s in d["Shards"]:
            self.assertEqual(len(s["SequenceNumberRange"]["StartingSequenceNumber"]), 56)
        summ = self.k.describe_stream_summary(StreamName="orders")["StreamDescriptionSummary"]
        self.assertEqual(summ["OpenShardCount"], 3)
        self.assertEqual(summ["ConsumerCount"], 0)
        e = self.err(self.k.create_stream, StreamName="orders", ShardCount=1)
        self.assertEqual(e["Code"], "ResourceInUseException")
        self.assertEqual(e["Message"], "Stream orders under account %s already exists." % ACCOUNT)

    def test_on_demand_has_four_shards(self):
        self.k.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
        wait_active(self.k, "od")
        d = self.k.describe_stream_summary(StreamName="od")["StreamDescriptionSummary"]
        self.assertEqual(d["StreamModeDetails"]["StreamMode"], "ON_DEMAND")
        self.assertEqual(d["OpenShardCount"], 4)
        starts = [int(s["HashKeyRange"]["StartingHashKey"]) for s in self.k.list_shards(StreamName="od")["Shards"]]
        self.assertEqual(starts, [0, 2 ** 126, 2 ** 127, 3 * 2 ** 126])

    def test_delete_states_and_consumers(self):
        self.make("gone", 1)
        arn = ARN % "gone"
        self.k.register_stream_consumer(StreamARN=arn, ConsumerName="c1")
        e = self.err(self.k.delete_stream, StreamName="gone")
        self.assertEqual(e["Code"], "ResourceInUseException")
        self.k.delete_stream(StreamName="gone", EnforceConsumerDeletion=True)
        d = self.k.describe_stream_summary(StreamName="gone")["StreamDescriptionSummary"]
        self.assertEqual(d["StreamStatus"], "DELETING")
        e = self.err(self.k.put_record, StreamName="gone", Data=b"x", PartitionKey="p")
        self.assertEqual(e["Code"], "ResourceNotFoundException")
        time.sleep(0.4)
        e = self.err(self.k.describe_stream, StreamName="gone")
        self.assertEqual(e["Code"], "ResourceNotFoundException")
        self.assertEqual(e["Message"], "Stream gone under account %s not found." % ACCOUNT)
        # The name is free again.
        self.make("gone", 1)

    def test_list_streams_pagination(self):
        for n in ["c", "a", "b", "d", "e"]:
            self.k.create_stream(StreamName=n, ShardCount=1)
        r = self.k.list_streams(Limit=2)
        self.assertEqual(r["StreamNames"], ["a", "b"])
        self.assertTrue(r["HasMoreStreams"])
        self.assertEqual([s["StreamARN"] for s in r["StreamSummaries"]], [ARN % "a", ARN % "b"])
        r2 = self.k.list_streams(Limit=2, NextToken=r["NextToken"])
        self.assertEqual(r2["StreamNames"], ["c", "d"])
        r3 = self.k.list_streams(ExclusiveStartStreamName="d")
        self.assertEqual(r3["StreamNames"], ["e"])
        self.assertFalse(r3["HasMoreStreams"])
        names = []
        for page in self.k.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 2}):
            names += page["StreamNames"]
        self.assertEqual(names, ["a", "b", "c", "d", "e"])

    def test_bad_names_and_counts_change_nothing(self):
        raw = self.kyoka.client("kinesis", parameter_validation=False)
        e = self.err(raw.create_stream, StreamName="bad name", ShardCount=1)
        self.assertEqual(e["Code"], "ValidationException")
        self.assertIn("Value 'bad name' at 'streamName' failed to satisfy constraint: Member must satisfy regular "
                      "expression pattern: [a-zA-Z0-9_.-]+", e["Message"])
        e = self.err(raw.create_stream, StreamName="x", ShardCount=0)
        self.assertEqual(e["Code"], "ValidationException")
        self.assertEqual(e["Message"], "1 validation error detected: Value '0' at 'shardCount' failed to satisfy "
                                       "constraint: Member must have value greater than or equal to 1")
        e = self.err(raw.create_stream, StreamName="x")
        self.assertEqual(e["Code"], "InvalidArgumentException")
        self.assertEqual(self.k.list_streams()["StreamNames"], [])

    # ---- records ----

    def test_put_hashes_by_md5_and_reads_in_order(self):
        self.make("r", 4)
        shards = self.k.list_shards(StreamName="r")["Shards"]
        seen = {}
        for i in range(40):
            pk = "key-%d" % i
            r = self.k.put_record(StreamName="r", Data=("v%d" % i).encode(), PartitionKey=pk)
            h = int(hashlib.md5(pk.encode()).hexdigest(), 16)
            want = [s["ShardId"] for s in shards if int(s["HashKeyRange"]["StartingHashKey"]) <= h <=
                    int(s["HashKeyRange"]["EndingHashKey"])][0]
            self.assertEqual(r["ShardId"], want)
            self.assertEqual(len(r["SequenceNumber"]), 56)
            seen.setdefault(want, []).append((r["SequenceNumber"], pk))
        for sid, recs in seen.items():
            got = read_all(self.k, "r", sid)
            self.assertEqual([(x["SequenceNumber"], x["PartitionKey"]) for x in got], recs)
            seqs = [int(x["SequenceNumber"]) for x in got]
            self.assertEqual(seqs, sorted(seqs))

    def test_explicit_hash_key_and_errors(self):
        self.make("e", 2)
        r = self.k.put_record(StreamName="e", Data=b"a", PartitionKey="p", ExplicitHashKey=str(MAX))
        self.assertEqual(r["ShardId"], "shardId-000000000001")
        r = self.k.put_record(StreamName="e", Data=b"a", PartitionKey="p", ExplicitHashKey="0",
                              SequenceNumberForOrdering=r["SequenceNumber"])
        self.assertEqual(r["ShardId"], "shardId-000000000000")
        e = self.err(self.k.put_record, StreamName="e", Data=b"a", PartitionKey="p", ExplicitHashKey=str(MAX + 1))
        self.assertEqual(e["Code"], "InvalidArgumentException")
        self.assertIn("ExplicitHashKey must be in the range: [0, 2^128-1]", e["Message"])
        raw = self.kyoka.client("kinesis", parameter_validation=False)
        e = self.err(raw.put_record, StreamName="e", Data=b"a", PartitionKey="k" * 257)
        self.assertEqual(e["Code"], "ValidationException")
        self.assertIn("at 'partitionKey' failed to satisfy constraint: Member must have length less than or equal "
                      "to 256", e["Message"])
        e = self.err(raw.put_record, StreamName="e", Data=b"x" * (1048576 + 1), PartitionKey="p")
        self.assertEqual(e["Code"], "ValidationException")
        self.assertIn("at 'data' failed to satisfy constraint: Member must have length less than or equal to "
                      "1048576", e["Message"])
        # A full 1 MiB record is fine.
        self.k.put_record(StreamName="e", Data=b"x" * 1048576, PartitionKey="p")
        e = self.err(self.k.put_record, StreamName="nope", Data=b"a", PartitionKey="p")
        self.assertEqual(e["Code"], "ResourceNotFoundException")

    def test_put_records_batches_and_limits(self):
        self.make("b", 3)
        recs = [{"Data": ("d%d" % i).encode(), "PartitionKey": "p%d" % i} for i in range(500)]
        r = self.k.put_records(StreamName="b", Records=recs)
        self.assertEqual(r["FailedRecordCount"], 0)
        self.assertEqual(len(r["Records"]), 500)
        total = sum(len(read_all(self.k, "b", s["ShardId"])) for s in self.k.list_shards(StreamName="b")["Shards"])
        self.assertEqual(total, 500)
        raw = self.kyoka.client("kinesis", parameter_validation=False)
        e = self.err(raw.put_records, StreamName="b", Records=recs + recs[:1])
        self.assertEqual(e["Code"], "ValidationException")
        self.assertIn("Member must have length less than or equal to 500", e["Message"])
        big = [{"Data": b"z" * 1048000, "PartitionKey": "p"} for _ in range(6)]
        e = self.err(self.k.put_records, StreamName="b", Records=big)
        self.assertEqual(e["Code"], "InvalidArgumentException")
        # One bad record refuses the whole call: nothing was written.
        bad = recs[:3] + [{"Data": b"x", "PartitionKey": ""}]
        e = self.err(raw.put_records, StreamName="b", Records=bad)
        self.assertEqual(e["Code"], "ValidationException")
        self.assertIn("records.4.member.partitionKey", e["Message"])
        total = sum(len(read_all(self.k, "b", s["ShardId"])) for s in self.k.list_shards(StreamName="b")["Shards"])
        self.assertEqual(total, 500)

    def test_iterator_types(self):
        self.make("it", 1)
        sid = "shardId-000000000000"
        seqs = [self.k.put_record(StreamName="it", Data=b"%d" % i, PartitionKey="p")["SequenceNumber"]
                for i in range(5)]
        self.assertEqual([x["Data"] for x in read_all(self.k, "it", sid)], [b"0", b"1", b"2", b"3", b"4"])
        got = read_all(self.k, "it", sid, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
        self.assertEqual([x["Data"] for x in got], [b"2", b"3", b"4"])
        got = read_all(self.k, "it", sid, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])
        self.assertEqual([x["Data"] for x in got], [b"3", b"4"])
        it = self.k.get_shard_iterator(StreamName="it", ShardId=sid, ShardIteratorType="LATEST")["ShardIterator"]
        r = self.k.get_records(ShardIterator=it)
        self.assertEqual(r["Records"], [])
        self.assertEqual(r["MillisBehindLatest"], 0)
        self.k.put_record(StreamName="it", Data=b"new", PartitionKey="p")
        r = self.k.get_records(ShardIterator=r["NextShardIterator"])
        self.assertEqual([x["Data"] for x in r["Records"]], [b"new"])
        # AT_TIMESTAMP: only records that arrived at or after it.
        self.kyoka.advance(10)
        ts = time.time() + 10 - 0.001
        self.k.put_record(StreamName="it", Data=b"later", PartitionKey="p")
        got = read_all(self.k, "it", sid, "AT_TIMESTAMP", Timestamp=ts)
        self.assertEqual([x["Data"] for x in got], [b"later"])
        # Limit and MillisBehindLatest.
        it = self.k.get_shard_iterator(StreamName="it", ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        r = self.k.get_records(ShardIterator=it, Limit=2)
        self.assertEqual(len(r["Records"]), 2)
        self.assertGreater(r["MillisBehindLatest"], 0)
        # Bad input.
        e = self.err(self.k.get_shard_iterator, StreamName="it", ShardId="shardId-000000000009",
                     ShardIteratorType="LATEST")
        self.assertEqual(e["Code"], "ResourceNotFoundException")
        e = self.err(self.k.get_shard_iterator, StreamName="it", ShardId=sid, ShardIteratorType="AT_SEQUENCE_NUMBER",
                     StartingSequenceNumber="49" + "1" * 54)
        self.assertEqual(e["Code"], "InvalidArgumentException")
        e = self.err(self.k.get_shard_iterator, StreamName="it", ShardId=sid, ShardIteratorType="AT_SEQUENCE_NUMBER")
        self.assertEqual(e["Code"], "InvalidArgumentException")
        e = self.err(self.k.get_records, ShardIterator="AAAAAAAAAAFbogus")
        self.assertEqual(e["Code"], "InvalidArgumentException")

    def test_iterator_expires_after_five_minutes(self):
        self.make("x", 1)
        it = self.k.get_shard_iterator(StreamName="x", ShardId="shardId-000000000000",
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        self.kyoka.advance(299)
        nxt = self.k.get_records(ShardIterator=it)["NextShardIterator"]
        self.kyoka.advance(2)
        e = self.err(self.k.get_records, ShardIterator=it)
        self.assertEqual(e["Code"], "ExpiredIteratorException")
        self.assertRegex(e["Message"], r"^Iterator expired\. The iterator was created at time \w{3} \w{3} \d\d "
                                       r"\d\d:\d\d:\d\d UTC \d{4} while right now it is .* which is further in the "
                                       r"future than the tolerated delay of 300000 milliseconds\.$")
        self.k.get_records(ShardIterator=nxt)  # issued later: still good

    def test_retention_on_the_server_clock(self):
        self.make("ret", 1)
        sid = "shardId-000000000000"
        self.k.put_record(StreamName="ret", Data=b"old", PartitionKey="p")
        self.kyoka.advance(23 * 3600)
        self.k.put_record(StreamName="ret", Data=b"new", PartitionKey="p")
        self.assertEqual([x["Data"] for x in read_all(self.k, "ret", sid)], [b"old", b"new"])
        self.kyoka.advance(3600 + 1)
        self.assertEqual([x["Data"] for x in read_all(self.k, "ret", sid)], [b"new"])
        e = self.err(self.k.increase_stream_retention_period, StreamName="ret", RetentionPeriodHours=10000)
        self.assertEqual(e["Code"], "InvalidArgumentException")
        self.assertIn("Maximum allowed retention period is 8760 hours", e["Message"])
        e = self.err(self.k.decrease_stream_retention_period, StreamName="ret", RetentionPeriodHours=48)
        self.assertEqual(e["Code"], "InvalidArgumentException")
        self.k.increase_stream_retention_period(StreamName="ret", RetentionPeriodHours=48)
        self.assertEqual(self.k.describe_stream_summary(StreamName="ret")["StreamDescriptionSummary"]
                         ["RetentionPeriodHours"], 48)
        e = self.err(self.k.decrease_stream_retention_period, StreamName="ret", RetentionPeriodHours=24)
        self.assertEqual(e["Code"], "ResourceInUseException")  # still UPDATING
        wait_active(self.k, "ret")
        self.kyoka.advance(30 * 3600)
        self.assertEqual([x["Data"] for x in read_all(self.k, "ret", sid)], [b"new"])
        self.k.decrease_stream_retention_period(StreamName="ret", RetentionPeriodHours=24)
        self.assertEqual(read_all(self.k, "ret", sid), [])

    # ---- resharding ----

    def test_split_and_merge_lineage(self):
        self.make("sp", 1)
        self.k.put_record(StreamName="sp", Data=b"before", PartitionKey="p")
        self.k.split_shard(StreamName="sp", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
        e = self.err(self.k.split_shard, StreamName="sp", ShardToSplit="shardId-000000000001",
                     NewStartingHashKey=str(2 ** 126))
        self.assertEqual(e["Code"], "ResourceInUseException")
        wait_active(self.k, "sp")
        shards = self.k.list_shards(StreamName="sp")["Shards"]
        self.assertEqual([s["ShardId"] for s in shards],
                         ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        self.assertIn("EndingSequenceNumber", shards[0]["SequenceNumberRange"])
        self.assertEqual(shards[1]["ParentShardId"], "shardId-000000000000")
        self.assertEqual(shards[2]["ParentShardId"], "shardId-000000000000")
        self.assertEqual(int(shards[1]["HashKeyRange"]["EndingHashKey"]), 2 ** 127 - 1)
        self.assertEqual(int(shards[2]["HashKeyRange"]["StartingHashKey"]), 2 ** 127)
        # Children's sequence numbers are greater than the parent's.
        r = self.k.put_record(StreamName="sp", Data=b"after", PartitionKey="p")
        self.assertGreater(int(r["SequenceNumber"]), int(shards[0]["SequenceNumberRange"]["EndingSequenceNumber"]))
        # Reading the closed parent to its end names its children.
        it = self.k.get_shard_iterator(StreamName="sp", ShardId="shardId-000000000000",
                                       ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        g = self.k.get_records(ShardIterator=it)
        self.assertEqual([x["Data"] for x in g["Records"]], [b"before"])
        self.assertNotIn("NextShardIterator", g)
        self.assertEqual(sorted(c["ShardId"] for c in g["ChildShards"]),
                         ["shardId-000000000001", "shardId-000000000002"])
        open_only = self.k.list_shards(StreamName="sp", ShardFilter={"Type": "AT_LATEST"})["Shards"]
        self.assertEqual([s["ShardId"] for s in open_only], ["shardId-000000000001", "shardId-000000000002"])
        e = self.err(self.k.merge_shards, StreamName="sp", ShardToMerge="shardId-000000000000",
                     AdjacentShardToMerge="shardId-000000000001")
        self.assertEqual(e["Code"], "InvalidArgumentException")
        self.k.merge_shards(StreamName="sp", ShardToMerge="shardId-000000000002",
                            AdjacentShardToMerge="shardId-000000000001")
        wait_active(self.k, "sp")
        last = self.k.list_shards(StreamName="sp")["Shards"][-1]
        self.assertEqual(last["ShardId"], "shardId-000000000003")
        self.assertEqual(last["ParentShardId"], "shardId-000000000002")
        self.assertEqual(last["AdjacentParentShardId"], "shardId-000000000001")
        self.assertEqual(last["HashKeyRange"], {"StartingHashKey": "0", "EndingHashKey": str(MAX)})

    def test_update_shard_count(self):
        self.make("u", 2)
        r = self.k.update_shard_count(StreamName="u", TargetShardCount=3, ScalingType="UNIFORM_SCALING")
        self.assertEqual((r["CurrentShardCount"], r["TargetShardCount"]), (2, 3))
        wait_active(self.k, "u")
        shards = self.k.list_shards(StreamName="u")["Shards"]
        open_ = [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
        step = 2 ** 128 // 3
        self.assertEqual(sorted(int(s["HashKeyRange"]["StartingHashKey"]) for s in open_), [0, step, 2 * step])
        by_id = {s["ShardId"]: s for s in shards}
        for s in shards:  # at most two parents each, and parents are listed first
            for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")):
                if p:
                    self.assertLess(p, s["ShardId"])
                    self.assertIn(p, by_id)
        e = self.err(self.k.update_shard_count, StreamName="u", TargetShardCount=7, ScalingType="UNIFORM_SCALING")
        self.assertEqual(e["Code"], "InvalidArgumentException")
        self.assertIn("cannot scale up over double", e["Message"])
        # Records still land on open shards only.
        for i in range(20):
            sid = self.k.put_record(StreamName="u", Data=b"x", PartitionKey="k%d" % i)["ShardId"]
            self.assertIn(sid, [s["ShardId"] for s in open_])

    def test_list_shards_paging(self):
        self.make("ls", 5)
        r = self.k.list_shards(StreamName="ls", MaxResults=2)
        self.assertEqual([s["ShardId"] for s in r["Shards"]], ["shardId-000000000000", "shardId-000000000001"])
        r2 = self.k.list_shards(NextToken=r["NextToken"], MaxResults=2)
        self.assertEqual([s["ShardId"] for s in r2["Shards"]], ["shardId-000000000002", "shardId-000000000003"])
        r3 = self.k.list_shards(StreamName="ls", ExclusiveStartShardId="shardId-000000000003")
        self.assertEqual([s["ShardId"] for s in r3["Shards"]], ["shardId-000000000004"])
        self.assertNotIn("NextToken", r3)
        r4 = self.k.list_shards(StreamName="ls", ShardFilter={"Type": "AFTER_SHARD_ID",
                                                               "ShardId": "shardId-000000000002"})
        self.assertEqual(len(r4["Shards"]), 2)
        e = self.err(self.k.list_shards, StreamName="ls", NextToken=r["NextToken"])
        self.assertEqual(e["Code"], "InvalidArgumentException")

    # ---- tags and consumers ----

    def test_tags(self):
        self.make("t", 1)
        self.k.add_tags_to_stream(StreamName="t", Tags={"b": "2", "a": "1", "c": "3"})
        r = self.k.list_tags_for_stream(StreamName="t", Limit=2)
        self.assertEqual(r["Tags"], [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        self.assertTrue(r["HasMoreTags"])
        r = self.k.list_tags_for_stream(StreamName="t", ExclusiveStartTagKey="b")
        self.assertEqual(r["Tags"], [{"Key": "c", "Value": "3"}])
        self.k.remove_tags_from_stream(StreamName="t", TagKeys=["a", "c"])
        self.assertEqual(self.k.list_tags_for_stream(StreamName="t")["Tags"], [{"Key": "b", "Value": "2"}])
        e = self.err(self.k.add_tags_to_stream, StreamName="t", Tags={"k%d" % i: "v" for i in range(50)})
        self.assertEqual(e["Code"], "InvalidArgumentException")
        self.assertEqual(len(self.k.list_tags_for_stream(StreamName="t")["Tags"]), 1)

    def test_consumers(self):
        self.make("c", 1)
        arn = ARN % "c"
        c = self.k.register_stream_consumer(StreamARN=arn, ConsumerName="app")["Consumer"]
        self.assertTrue(c["ConsumerARN"].startswith(arn + "/consumer/app:"))
        self.assertEqual(c["ConsumerStatus"], "CREATING")
        e = self.err(self.k.register_stream_consumer, StreamARN=arn, ConsumerName="app")
        self.assertEqual(e["Code"], "ResourceInUseException")
        time.sleep(0.3)
        d = self.k.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]
        self.assertEqual((d["ConsumerStatus"], d["StreamARN"]), ("ACTIVE", arn))
        d = self.k.describe_stream_consumer(StreamARN=arn, ConsumerName="app")["ConsumerDescription"]
        self.assertEqual(d["ConsumerARN"], c["ConsumerARN"])
        self.k.register_stream_consumer(StreamARN=arn, ConsumerName="app2")
        self.assertEqual([x["ConsumerName"] for x in self.k.list_stream_consumers(StreamARN=arn)["Consumers"]],
                         ["app", "app2"])
        self.k.deregister_stream_consumer(ConsumerARN=c["ConsumerARN"])
        e = self.err(self.k.describe_stream_consumer, ConsumerARN=c["ConsumerARN"])
        self.assertEqual(e["Code"], "ResourceNotFoundException")

    def cli(self, *args):
        """The AWS CLI v2 (/usr/bin/aws), whose blobs are base64 both ways."""
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
                   AWS_PAGER="", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        aws = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else "aws"
        return subprocess.run([aws, "--endpoint-url", self.kyoka.endpoint, "--output", "json"] + list(args),
                              env=env, capture_output=True, text=True, timeout=60)

    def test_aws_cli(self):
        out = self.cli("kinesis", "create-stream", "--stream-name", "cli", "--shard-count", "1")
        self.assertEqual(out.returncode, 0, out.stderr)
        wait_active(self.k, "cli")
        out = self.cli("kinesis", "put-record", "--stream-name", "cli", "--partition-key", "p",
                       "--cli-binary-format", "raw-in-base64-out", "--data", "from the cli")
        self.assertEqual(out.returncode, 0, out.stderr)
        seq = json.loads(out.stdout)["SequenceNumber"]
        out = self.cli("kinesis", "get-shard-iterator", "--stream-name", "cli", "--shard-id",
                       "shardId-000000000000", "--shard-iterator-type", "AT_SEQUENCE_NUMBER",
                       "--starting-sequence-number", seq)
        self.assertEqual(out.returncode, 0, out.stderr)
        it = json.loads(out.stdout)["ShardIterator"]
        out = self.cli("kinesis", "get-records", "--shard-iterator", it)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(base64.b64decode(json.loads(out.stdout)["Records"][0]["Data"]), b"from the cli")
        out = self.cli("kinesis", "list-shards", "--stream-name", "cli")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(len(json.loads(out.stdout)["Shards"]), 1)
        out = self.cli("kinesis", "describe-stream", "--stream-name", "missing")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("ResourceNotFoundException", out.stderr)


class KinesisArnAndPolicyTest(KyokaTestCase):
    """Stream ARNs in place of names and resource policies need the model
    members AWS added after botocore 1.29 (tools/models/kinesis-overlay.json)."""

    def setUp(self):
        super().setUp()
        self.k = self.kyoka.client("kinesis")
        try:
            self.k.get_resource_policy(ResourceARN=ARN % "probe")
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] == "UnknownOperationException":
                self.skipTest("the compiled model predates the Kinesis overlay: run `make models`")

    def test_stream_arn_everywhere(self):
        self.k.create_stream(StreamName="byarn", ShardCount=1)
        wait_active(self.k, "byarn")
        arn = ARN % "byarn"
        self.assertEqual(self.k.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"], "byarn")
        self.assertEqual(self.k.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]["StreamARN"], arn)
        r = self.k.put_record(StreamARN=arn, Data=b"a", PartitionKey="p")
        self.k.put_records(StreamARN=arn, Records=[{"Data": b"b", "PartitionKey": "p"}])
        it = self.k.get_shard_iterator(StreamARN=arn, ShardId=r["ShardId"], ShardIteratorType="TRIM_HORIZON")
        self.assertEqual([x["Data"] for x in self.k.get_records(ShardIterator=it["ShardIterator"],
                                                                StreamARN=arn)["Records"]], [b"a", b"b"])
        self.assertEqual(len(self.k.list_shards(StreamARN=arn)["Shards"]), 1)
        self.k.add_tags_to_stream(StreamARN=arn, Tags={"x": "1"})
        self.assertEqual(self.k.list_tags_for_stream(StreamARN=arn)["Tags"], [{"Key": "x", "Value": "1"}])
        self.k.tag_resource(ResourceARN=arn, Tags={"y": "2"})
        self.assertEqual(self.k.list_tags_for_resource(ResourceARN=arn)["Tags"],
                         [{"Key": "x", "Value": "1"}, {"Key": "y", "Value": "2"}])
        self.k.untag_resource(ResourceARN=arn, TagKeys=["x"])
        self.k.increase_stream_retention_period(StreamARN=arn, RetentionPeriodHours=25)
        wait_active(self.k, "byarn")
        self.k.update_shard_count(StreamARN=arn, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        wait_active(self.k, "byarn")
        self.k.delete_stream(StreamARN=arn)
        e = self.k.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]["StreamStatus"]
        self.assertEqual(e, "DELETING")

    def test_resource_policy_takes_part_in_authorization(self):
        iam = self.kyoka.client("iam")
        iam.create_user(UserName="producer")
        iam.put_user_policy(UserName="producer", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="producer")["AccessKey"]
        iam.create_user(UserName="reader")
        rkey = iam.create_access_key(UserName="reader")["AccessKey"]
        self.k.create_stream(StreamName="pol", ShardCount=1)
        wait_active(self.k, "pol")
        arn = ARN % "pol"
        user = self.kyoka.client("kinesis", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        reader = self.kyoka.client("kinesis", access_key=rkey["AccessKeyId"], secret_key=rkey["SecretAccessKey"])
        user.put_record(StreamName="pol", Data=b"ok", PartitionKey="p")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            reader.describe_stream_summary(StreamName="pol")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::%s:user/producer" % ACCOUNT},
             "Action": "kinesis:PutRecord", "Resource": arn},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:user/reader" % ACCOUNT},
             "Action": "kinesis:DescribeStreamSummary", "Resource": arn}]}
        self.k.put_resource_policy(ResourceARN=arn, Policy=json.dumps(policy))
        self.assertEqual(json.loads(self.k.get_resource_policy(ResourceARN=arn)["Policy"]), policy)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            user.put_record(StreamName="pol", Data=b"no", PartitionKey="p")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        reader.describe_stream_summary(StreamName="pol")  # granted by the stream's policy alone
        self.k.delete_resource_policy(ResourceARN=arn)
        user.put_record(StreamName="pol", Data=b"ok again", PartitionKey="p")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.k.put_resource_policy(ResourceARN=arn, Policy="{not json")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgumentException")


class KinesisLimitsTest(KyokaTestCase):
    extra_args = ("--kinesis-limits", "aws")

    def test_per_shard_write_limits(self):
        k = self.kyoka.client("kinesis")
        k.create_stream(StreamName="lim", ShardCount=1)
        wait_active(k, "lim")
        failed = 0
        ok = 0
        # 1,000 records a second a shard: three full batches within a second
        # must see failures, each one AWS's per-record error.
        t0 = time.time()
        for _ in range(3):
            r = k.put_records(StreamName="lim", Records=[{"Data": b"x", "PartitionKey": "p"}] * 500)
            failed += r["FailedRecordCount"]
            ok += 500 - r["FailedRecordCount"]
            for rec in r["Records"]:
                if "ErrorCode" in rec:
                    self.assertEqual(rec["ErrorCode"], "ProvisionedThroughputExceededException")
                    self.assertEqual(rec["ErrorMessage"], "Rate exceeded for shard shardId-000000000000 in stream "
                                                          "lim under account %s." % ACCOUNT)
        if time.time() - t0 < 0.9:
            self.assertGreater(failed, 0)
            self.assertLessEqual(ok, 2000)
        # 1 MiB a second: two 600 KB records in one second.
        self.kyoka.advance(2)
        k.put_record(StreamName="lim", Data=b"y" * 600000, PartitionKey="p")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            k.put_record(StreamName="lim", Data=b"y" * 600000, PartitionKey="p")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ProvisionedThroughputExceededException")


class KinesisDurabilityTest(unittest.TestCase):
    def test_acknowledged_records_survive_kill9(self):
        srv = KyokaServer().start()
        try:
            k = srv.client("kinesis")
            k.create_stream(StreamName="dur", ShardCount=2)
            wait_active(k, "dur")
            acked = []
            for b in range(20):
                r = k.put_records(StreamName="dur", Records=[{"Data": ("%d-%d" % (b, i)).encode(),
                                                               "PartitionKey": "pk%d" % i} for i in range(50)])
                acked += [(x["ShardId"], x["SequenceNumber"]) for x in r["Records"]]
            k.split_shard(StreamName="dur", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 126))
            r = k.put_record(StreamName="dur", Data=b"last", PartitionKey="zz")
            acked.append((r["ShardId"], r["SequenceNumber"]))
            srv.kill9()
            srv.start()
            k = srv.client("kinesis")
            shards = k.list_shards(StreamName="dur")["Shards"]
            self.assertEqual(len(shards), 4)
            got = []
            for s in shards:
                got += [(s["ShardId"], x["SequenceNumber"]) for x in read_all(k, "dur", s["ShardId"])]
            self.assertEqual(sorted(got), sorted(acked))
            # New records keep increasing after the restart.
            r = k.put_record(StreamName="dur", Data=b"after", PartitionKey="zz")
            self.assertGreater(int(r["SequenceNumber"]), int(acked[-1][1]))
        finally:
            srv.cleanup()


if __name__ == "__main__":
    main()
