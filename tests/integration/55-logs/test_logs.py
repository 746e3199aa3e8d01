"""CloudWatch Logs through Debian's boto3 and the AWS CLI: every operation
kyoka serves (groups, streams, events, the filter pattern language,
retention on the server clock, tags, IAM on log-group and log-stream ARNs),
AWS's exact error codes and messages, "bad input changes nothing", and
kill -9 durability of acknowledged PutLogEvents.
"""
import json
import os
import shutil
import subprocess
import time
import unittest
import urllib.request

import botocore.config
import botocore.exceptions

from harness import ACCOUNT, REGION, KyokaServer, KyokaTestCase, main

DAY_MS = 86400 * 1000


def server_now(kyoka):
    with urllib.request.urlopen(kyoka.endpoint + "/_kyoka/clock", timeout=5) as r:
        return json.load(r)["epochMillis"]


class LogsCase(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.kyoka.client("logs")
        # Without client-side validation, to reach the server's own checks.
        self.raw = self.kyoka.client("logs", parameter_validation=False)

    def err(self, fn, code, message=None, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kw)
        e = cm.exception.response["Error"]
        self.assertEqual(e["Code"], code, e)
        if message is not None:
            self.assertEqual(e["Message"], message)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        return e["Message"]

    def group(self, name="/app/g", stream="s1"):
        self.logs.create_log_group(logGroupName=name)
        if stream:
            self.logs.create_log_stream(logGroupName=name, logStreamName=stream)

    def put(self, msgs, group="/app/g", stream="s1", start=None, step=1):
        now = server_now(self.kyoka) if start is None else start
        events = [{"timestamp": now + i * step, "message": m} for i, m in enumerate(msgs)]
        return self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

    def raw_body(self, method, op, **kw):
        """The response body as sent (Debian's botocore predates some members)."""
        seen = {}

        def grab(http_response, **_):
            seen["body"] = http_response.content
        self.logs.meta.events.register("after-call.logs.%s" % op, grab)
        try:
            getattr(self.logs, method)(**kw)
        finally:
            self.logs.meta.events.unregister("after-call.logs.%s" % op, grab)
        return json.loads(seen["body"])


class TestLogGroups(LogsCase):
    def test_create_describe_delete(self):
        self.logs.create_log_group(logGroupName="/aws/lambda/fn", tags={"team": "a"})
        g = self.logs.describe_log_groups()["logGroups"]
        self.assertEqual(len(g), 1)
        g = g[0]
        self.assertEqual(g["logGroupName"], "/aws/lambda/fn")
        self.assertEqual(g["arn"], "arn:aws:logs:%s:%s:log-group:/aws/lambda/fn:*" % (REGION, ACCOUNT))
        self.assertEqual(g["metricFilterCount"], 0)
        self.assertEqual(g["storedBytes"], 0)
        self.assertNotIn("retentionInDays", g)
        self.assertLess(abs(g["creationTime"] - server_now(self.kyoka)), 60000)
        raw = self.raw_body("describe_log_groups", "DescribeLogGroups")["logGroups"][0]
        self.assertEqual(raw["logGroupArn"], "arn:aws:logs:%s:%s:log-group:/aws/lambda/fn" % (REGION, ACCOUNT))
        self.assertEqual(raw["logGroupClass"], "STANDARD")
        self.err(self.logs.create_log_group, "ResourceAlreadyExistsException",
                 "The specified log group already exists", logGroupName="/aws/lambda/fn")
        self.logs.delete_log_group(logGroupName="/aws/lambda/fn")
        self.assertEqual(self.logs.describe_log_groups()["logGroups"], [])
        self.err(self.logs.delete_log_group, "ResourceNotFoundException", "The specified log group does not exist.",
                 logGroupName="/aws/lambda/fn")

    def test_group_names(self):
        self.err(self.logs.create_log_group, "InvalidParameterException",
                 "1 validation error detected: Value 'a:b' at 'logGroupName' failed to satisfy constraint: "
                 "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+", logGroupName="a:b")
        long = "x" * 513
        self.err(self.logs.create_log_group, "InvalidParameterException",
                 "1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: "
                 "Member must have length less than or equal to 512" % long, logGroupName=long)
        self.err(self.raw.create_log_group, "InvalidParameterException",
                 "2 validation errors detected: Value '' at 'logGroupName' failed to satisfy constraint: "
                 "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+; Value '' at 'logGroupName' "
                 "failed to satisfy constraint: Member must have length greater than or equal to 1",
                 logGroupName="")
        self.err(self.logs.create_log_group, "InvalidParameterException",
                 "Log groups starting with AWS/ are reserved for AWS.", logGroupName="aws/mine")
        # Every allowed character, and the longest name.
        for name in ("a.b-c_d/e#F9", "y" * 512):
            self.logs.create_log_group(logGroupName=name)
        # Bad input changed nothing.
        names = [g["logGroupName"] for g in self.logs.describe_log_groups()["logGroups"]]
        self.assertEqual(names, ["a.b-c_d/e#F9", "y" * 512])

    def test_describe_paging_prefix_pattern(self):
        names = ["/a/1", "/a/2", "/a/3", "/b/1", "/b/2", "Foo", "aws-FooBar", "foo", "GroupFoo"]
        for n in names:
            self.logs.create_log_group(logGroupName=n)
        seen, token, pages = [], None, 0
        while True:
            kw = {"limit": 4}
            if token:
                kw["nextToken"] = token
            r = self.logs.describe_log_groups(**kw)
            seen += [g["logGroupName"] for g in r["logGroups"]]
            pages += 1
            token = r.get("nextToken")
            if not token:
                break
        self.assertEqual(seen, sorted(names))  # ASCII order
        self.assertEqual(pages, 3)
        r = self.logs.describe_log_groups(logGroupNamePrefix="/a/")
        self.assertEqual([g["logGroupName"] for g in r["logGroups"]], ["/a/1", "/a/2", "/a/3"])
        r = self.logs.describe_log_groups(logGroupNamePrefix="/a/", limit=2)
        self.assertEqual(len(r["logGroups"]), 2)
        r = self.logs.describe_log_groups(logGroupNamePrefix="/a/", nextToken=r["nextToken"])
        self.assertEqual([g["logGroupName"] for g in r["logGroups"]], ["/a/3"])
        self.assertNotIn("nextToken", r)
        # A case-sensitive substring (the API reference's own example).
        r = self.logs.describe_log_groups(logGroupNamePattern="Foo")
        self.assertEqual([g["logGroupName"] for g in r["logGroups"]], ["Foo", "GroupFoo", "aws-FooBar"])
        self.err(self.logs.describe_log_groups, "InvalidParameterException",
                 "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.",
                 logGroupNamePrefix="/a", logGroupNamePattern="a")
        self.err(self.logs.describe_log_groups, "InvalidParameterException",
                 "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: "
                 "Member must have value less than or equal to 50", limit=51)
        self.err(self.raw.describe_log_groups, "InvalidParameterException",
                 "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
                 "Member must have value greater than or equal to 1", limit=0)
        self.err(self.logs.describe_log_groups, "InvalidParameterException", nextToken="garbage")

    def test_groups_are_regional(self):
        self.logs.create_log_group(logGroupName="/r")
        west = self.kyoka.client("logs", region="eu-west-1")
        self.assertEqual(west.describe_log_groups()["logGroups"], [])
        west.create_log_group(logGroupName="/r")
        g = west.describe_log_groups()["logGroups"][0]
        self.assertEqual(g["arn"], "arn:aws:logs:eu-west-1:%s:log-group:/r:*" % ACCOUNT)
        west.delete_log_group(logGroupName="/r")
        self.assertEqual(len(self.logs.describe_log_groups()["logGroups"]), 1)

    def test_retention_policy(self):
        self.group()
        for bad in (2, 0, 4000):
            self.err(self.logs.put_retention_policy, "InvalidParameterException",
                     "1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: "
                     "Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, "
                     "545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]" % bad,
                     logGroupName="/app/g", retentionInDays=bad)
        self.assertNotIn("retentionInDays", self.logs.describe_log_groups()["logGroups"][0])
        for days in (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                     3288, 3653):
            self.logs.put_retention_policy(logGroupName="/app/g", retentionInDays=days)
            self.assertEqual(self.logs.describe_log_groups()["logGroups"][0]["retentionInDays"], days)
        self.logs.delete_retention_policy(logGroupName="/app/g")
        self.assertNotIn("retentionInDays", self.logs.describe_log_groups()["logGroups"][0])
        self.err(self.logs.put_retention_policy, "ResourceNotFoundException",
                 "The specified log group does not exist.", logGroupName="/nope", retentionInDays=1)
        self.err(self.logs.delete_retention_policy, "ResourceNotFoundException",
                 "The specified log group does not exist.", logGroupName="/nope")

    def test_retention_on_the_server_clock(self):
        self.group()
        now = server_now(self.kyoka)
        old = now - 2 * DAY_MS
        self.logs.put_log_events(logGroupName="/app/g", logStreamName="s1",
                                 logEvents=[{"timestamp": old, "message": "two days old"}])
        self.put(["fresh"])
        self.logs.put_retention_policy(logGroupName="/app/g", retentionInDays=1)
        # Older than the retention: gone from reads at once.
        ev = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1", startFromHead=True)["events"]
        self.assertEqual([e["message"] for e in ev], ["fresh"])
        # A put of events older than the retention reports them expired.
        r = self.logs.put_log_events(logGroupName="/app/g", logStreamName="s1",
                                     logEvents=[{"timestamp": old, "message": "x"},
                                                {"timestamp": now, "message": "y"}])
        self.assertEqual(r["rejectedLogEventsInfo"], {"expiredLogEventEndIndex": 1})
        # The clock moves two days: everything is past the retention.
        self.assertEqual(self.kyoka.advance(2 * 86400)[0], 200)
        self.assertEqual(self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1")["events"], [])
        self.assertEqual(self.logs.filter_log_events(logGroupName="/app/g")["events"], [])
        # The sweep deletes them and the group's bytes go to zero.
        deadline = time.time() + 10
        while time.time() < deadline and self.logs.describe_log_groups()["logGroups"][0]["storedBytes"]:
            self.kyoka.advance(61)
            time.sleep(0.1)
        self.assertEqual(self.logs.describe_log_groups()["logGroups"][0]["storedBytes"], 0)
        # Without a retention policy, events never expire.
        self.logs.delete_retention_policy(logGroupName="/app/g")
        self.put(["kept"])
        self.kyoka.advance(30 * 86400)
        ev = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1")["events"]
        self.assertEqual([e["message"] for e in ev], ["kept"])


class TestTags(LogsCase):
    def test_tag_resource(self):
        self.logs.create_log_group(logGroupName="/t", tags={"a": "1"})
        arn = "arn:aws:logs:%s:%s:log-group:/t" % (REGION, ACCOUNT)
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn)["tags"], {"a": "1"})
        self.logs.tag_resource(resourceArn=arn, tags={"b": "2", "a": "x"})
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn)["tags"], {"a": "x", "b": "2"})
        self.logs.untag_resource(resourceArn=arn, tagKeys=["a", "missing"])
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn)["tags"], {"b": "2"})
        # The ":*" form DescribeLogGroups returns works too.
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn + ":*")["tags"], {"b": "2"})
        self.err(self.logs.list_tags_for_resource, "ResourceNotFoundException",
                 "The specified log group does not exist.",
                 resourceArn="arn:aws:logs:%s:%s:log-group:/none" % (REGION, ACCOUNT))
        self.err(self.logs.tag_resource, "ResourceNotFoundException", "The specified log group does not exist.",
                 resourceArn="arn:aws:logs:eu-west-1:%s:log-group:/t" % ACCOUNT, tags={"c": "3"})
        many = {"k%d" % i: "v" for i in range(50)}
        self.err(self.logs.tag_resource, "TooManyTagsException", "A resource can have no more than 50 tags.",
                 resourceArn=arn, tags=many)
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn)["tags"], {"b": "2"})
        msg = self.err(self.logs.tag_resource, "InvalidParameterException", resourceArn=arn, tags={"bad!": "v"})
        self.assertIn("Map keys must satisfy constraint", msg)
        self.assertEqual(self.logs.list_tags_for_resource(resourceArn=arn)["tags"], {"b": "2"})

    def test_tag_log_group(self):
        self.logs.create_log_group(logGroupName="/t")
        self.logs.tag_log_group(logGroupName="/t", tags={"x": "1", "y": "2"})
        self.assertEqual(self.logs.list_tags_log_group(logGroupName="/t")["tags"], {"x": "1", "y": "2"})
        self.logs.untag_log_group(logGroupName="/t", tags=["x"])
        self.assertEqual(self.logs.list_tags_log_group(logGroupName="/t")["tags"], {"y": "2"})
        self.err(self.logs.list_tags_log_group, "ResourceNotFoundException",
                 "The specified log group does not exist.", logGroupName="/u")
        self.err(self.logs.tag_log_group, "ResourceNotFoundException", "The specified log group does not exist.",
                 logGroupName="/u", tags={"a": "b"})


class TestLogStreams(LogsCase):
    def test_create_describe_delete(self):
        self.logs.create_log_group(logGroupName="/s")
        for n in ("b", "a", "c/[$LATEST]x"):
            self.logs.create_log_stream(logGroupName="/s", logStreamName=n)
        self.err(self.logs.create_log_stream, "ResourceAlreadyExistsException",
                 "The specified log stream already exists", logGroupName="/s", logStreamName="a")
        self.err(self.logs.create_log_stream, "ResourceNotFoundException", "The specified log group does not exist.",
                 logGroupName="/none", logStreamName="a")
        for bad in ("a:b", "a*"):
            self.err(self.logs.create_log_stream, "InvalidParameterException",
                     "1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: "
                     "Member must satisfy regular expression pattern: [^:*]*" % bad,
                     logGroupName="/s", logStreamName=bad)
        r = self.logs.describe_log_streams(logGroupName="/s")["logStreams"]
        self.assertEqual([s["logStreamName"] for s in r], ["a", "b", "c/[$LATEST]x"])
        s = r[0]
        self.assertEqual(s["arn"], "arn:aws:logs:%s:%s:log-group:/s:log-stream:a" % (REGION, ACCOUNT))
        self.assertEqual(s["storedBytes"], 0)
        self.assertNotIn("firstEventTimestamp", s)
        self.logs.delete_log_stream(logGroupName="/s", logStreamName="b")
        self.err(self.logs.delete_log_stream, "ResourceNotFoundException", "The specified log stream does not exist.",
                 logGroupName="/s", logStreamName="b")
        r = self.logs.describe_log_streams(logGroupName="/s", descending=True)["logStreams"]
        self.assertEqual([s["logStreamName"] for s in r], ["c/[$LATEST]x", "a"])

    def test_order_prefix_paging(self):
        self.logs.create_log_group(logGroupName="/s")
        now = server_now(self.kyoka)
        for i, n in enumerate(["s3", "s1", "s2", "t1"]):
            self.logs.create_log_stream(logGroupName="/s", logStreamName=n)
            self.logs.put_log_events(logGroupName="/s", logStreamName=n,
                                     logEvents=[{"timestamp": now - 1000 + i, "message": n}])
        r = self.logs.describe_log_streams(logGroupName="/s", orderBy="LastEventTime")["logStreams"]
        self.assertEqual([s["logStreamName"] for s in r], ["s3", "s1", "s2", "t1"])
        r = self.logs.describe_log_streams(logGroupName="/s", orderBy="LastEventTime", descending=True)["logStreams"]
        self.assertEqual([s["logStreamName"] for s in r], ["t1", "s2", "s1", "s3"])
        s = r[0]
        self.assertEqual(s["firstEventTimestamp"], now - 997)
        self.assertEqual(s["lastEventTimestamp"], now - 997)
        self.assertIn("lastIngestionTime", s)
        self.assertIn("uploadSequenceToken", s)
        r = self.logs.describe_log_streams(logGroupName="/s", logStreamNamePrefix="s")["logStreams"]
        self.assertEqual([s["logStreamName"] for s in r], ["s1", "s2", "s3"])
        # Pages in both orders, both directions.
        for order, desc, want in (("LogStreamName", False, ["s1", "s2", "s3", "t1"]),
                                  ("LogStreamName", True, ["t1", "s3", "s2", "s1"]),
                                  ("LastEventTime", False, ["s3", "s1", "s2", "t1"]),
                                  ("LastEventTime", True, ["t1", "s2", "s1", "s3"])):
            seen, token = [], None
            while True:
                kw = dict(logGroupName="/s", orderBy=order, descending=desc, limit=3)
                if token:
                    kw["nextToken"] = token
                r = self.logs.describe_log_streams(**kw)
                seen += [s["logStreamName"] for s in r["logStreams"]]
                token = r.get("nextToken")
                if not token:
                    break
            self.assertEqual(seen, want, (order, desc))
        self.err(self.logs.describe_log_streams, "InvalidParameterException",
                 "Cannot order by LastEventTime with a logStreamNamePrefix.",
                 logGroupName="/s", orderBy="LastEventTime", logStreamNamePrefix="s")
        self.err(self.logs.describe_log_streams, "InvalidParameterException",
                 "1 validation error detected: Value '60' at 'limit' failed to satisfy constraint: "
                 "Member must have value less than or equal to 50", logGroupName="/s", limit=60)
        self.err(self.raw.describe_log_streams, "InvalidParameterException",
                 "1 validation error detected: Value 'Size' at 'orderBy' failed to satisfy constraint: "
                 "Member must satisfy enum value set: [LogStreamName, LastEventTime]",
                 logGroupName="/s", orderBy="Size")
        self.err(self.logs.describe_log_streams, "ResourceNotFoundException",
                 "The specified log group does not exist.", logGroupName="/none")
        # logGroupIdentifier: a name or an ARN, not both with logGroupName.
        arn = "arn:aws:logs:%s:%s:log-group:/s" % (REGION, ACCOUNT)
        for ident in ("/s", arn):
            r = self.raw.describe_log_streams(logGroupIdentifier=ident)["logStreams"]
            self.assertEqual(len(r), 4)
        # An identifier ARN may not end in "*" (the model's pattern).
        self.err(self.raw.describe_log_streams, "InvalidParameterException",
                 "1 validation error detected: Value '%s:*' at 'logGroupIdentifier' failed to satisfy constraint: "
                 "Member must satisfy regular expression pattern: [\\w#+=/:,.@-]*" % arn, logGroupIdentifier=arn + ":*")
        self.err(self.raw.describe_log_streams, "InvalidParameterException",
                 "LogGroup name and LogGroup ARN are mutually exclusive parameters.",
                 logGroupName="/s", logGroupIdentifier=arn)


class TestPutGetEvents(LogsCase):
    def test_put_and_get(self):
        self.group()
        now = server_now(self.kyoka)
        r = self.put(["m%d" % i for i in range(10)], start=now - 100)
        self.assertEqual(len(r["nextSequenceToken"]), 56)
        self.assertNotIn("rejectedLogEventsInfo", r)
        # The sequence token is accepted and ignored, whatever it is.
        r2 = self.logs.put_log_events(logGroupName="/app/g", logStreamName="s1", sequenceToken="bogus",
                                      logEvents=[{"timestamp": now - 50, "message": "late"}])
        self.assertNotEqual(r2["nextSequenceToken"], r["nextSequenceToken"])
        ev = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1", startFromHead=True)
        msgs = [e["message"] for e in ev["events"]]
        # Stored in timestamp order, whatever the arrival order.
        self.assertEqual(msgs, ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "late"])
        e0 = ev["events"][0]
        self.assertEqual(e0["timestamp"], now - 100)
        self.assertGreaterEqual(e0["ingestionTime"], now)
        self.assertTrue(ev["nextForwardToken"].startswith("f/"))
        self.assertTrue(ev["nextBackwardToken"].startswith("b/"))
        self.assertEqual(len(ev["nextForwardToken"]), 58)
        # startFromHead false (the default): the latest events.
        ev = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1", limit=3)
        self.assertEqual([e["message"] for e in ev["events"]], ["m8", "m9", "late"])
        # Backward from there.
        ev = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1", limit=3,
                                      nextToken=ev["nextBackwardToken"])
        self.assertEqual([e["message"] for e in ev["events"]], ["m5", "m6", "m7"])
        # startTime inclusive, endTime exclusive.
        ev = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1", startFromHead=True,
                                      startTime=now - 98, endTime=now - 95)
        self.assertEqual([e["message"] for e in ev["events"]], ["m2", "m3", "m4"])
        self.err(self.logs.get_log_events, "ResourceNotFoundException", "The specified log stream does not exist.",
                 logGroupName="/app/g", logStreamName="nope")
        self.err(self.logs.get_log_events, "ResourceNotFoundException", "The specified log group does not exist.",
                 logGroupName="/nope", logStreamName="s1")
        self.err(self.logs.get_log_events, "InvalidParameterException",
                 "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: "
                 "Member must have value less than or equal to 10000",
                 logGroupName="/app/g", logStreamName="s1", limit=10001)
        self.err(self.logs.get_log_events, "InvalidParameterException", logGroupName="/app/g",
                 logStreamName="s1", nextToken="f/123")
        # The stream's metadata follows the puts.
        s = self.logs.describe_log_streams(logGroupName="/app/g")["logStreams"][0]
        self.assertEqual(s["firstEventTimestamp"], now - 100)
        self.assertEqual(s["lastEventTimestamp"], now - 50)
        self.assertEqual(self.logs.describe_log_groups()["logGroups"][0]["storedBytes"], 24)

    def test_forward_paging_ends_on_the_same_token(self):
        self.group()
        self.put(["e%d" % i for i in range(25)], start=server_now(self.kyoka) - 1000)
        seen, token, same = [], None, 0
        for _ in range(20):
            kw = dict(logGroupName="/app/g", logStreamName="s1", limit=10, startFromHead=True)
            if token:
                kw["nextToken"] = token
            r = self.logs.get_log_events(**kw)
            seen += [e["message"] for e in r["events"]]
            if r["nextForwardToken"] == token:
                same += 1
                self.assertEqual(r["events"], [])
                break
            token = r["nextForwardToken"]
        self.assertEqual(seen, ["e%d" % i for i in range(25)])
        self.assertEqual(same, 1)
        # New events after the end are picked up from the same token.
        self.put(["new"])
        r = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1", nextToken=token)
        self.assertEqual([e["message"] for e in r["events"]], ["new"])
        # Backward paging ends the same way.
        r = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1", limit=30)
        back = r["nextBackwardToken"]
        r = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1", nextToken=back)
        self.assertEqual(r["events"], [])
        self.assertEqual(r["nextBackwardToken"], back)

    def test_awscli_paginates_get_log_events(self):
        self.group()
        self.put(["p%d" % i for i in range(30)], start=server_now(self.kyoka) - 1000)
        r = self.kyoka.aws_cli("logs", "get-log-events", "--log-group-name", "/app/g", "--log-stream-name", "s1",
                               "--start-from-head", "--limit", "7")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([e["message"] for e in json.loads(r.stdout)["events"]], ["p%d" % i for i in range(7)])

    def test_rejections(self):
        self.group()
        now = server_now(self.kyoka)
        ev = [{"timestamp": now - 15 * DAY_MS, "message": "too old"},
              {"timestamp": now - 15 * DAY_MS + 1, "message": "too old 2"},
              {"timestamp": now - 1000, "message": "ok 1"},
              {"timestamp": now, "message": "ok 2"},
              {"timestamp": now + 3 * 3600 * 1000, "message": "too new"}]
        r = self.logs.put_log_events(logGroupName="/app/g", logStreamName="s1", logEvents=ev)
        self.assertEqual(r["rejectedLogEventsInfo"], {"tooOldLogEventEndIndex": 2, "tooNewLogEventStartIndex": 4})
        got = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1", startFromHead=True)["events"]
        self.assertEqual([e["message"] for e in got], ["ok 1", "ok 2"])
        # Out of order: the whole batch fails and nothing is stored.
        self.err(self.logs.put_log_events, "InvalidParameterException",
                 "Log events in a single PutLogEvents request must be in chronological order.",
                 logGroupName="/app/g", logStreamName="s1",
                 logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}])
        # Accepted events spanning more than a day.
        self.err(self.logs.put_log_events, "InvalidParameterException",
                 "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.",
                 logGroupName="/app/g", logStreamName="s1",
                 logEvents=[{"timestamp": now - DAY_MS - 1, "message": "a"}, {"timestamp": now, "message": "b"}])
        # Too large: 26 bytes an event count.
        big = "x" * (1048576 // 2 - 26)
        self.logs.put_log_events(logGroupName="/app/g", logStreamName="s1",
                                 logEvents=[{"timestamp": now, "message": big}, {"timestamp": now, "message": big}])
        self.err(self.logs.put_log_events, "InvalidParameterException",
                 "Upload too large: 1048577 bytes exceeds limit of 1048576", logGroupName="/app/g",
                 logStreamName="s1",
                 logEvents=[{"timestamp": now, "message": big}, {"timestamp": now, "message": big + "y"}])
        msg = self.err(self.logs.put_log_events, "InvalidParameterException",
                       logGroupName="/app/g", logStreamName="s1",
                       logEvents=[{"timestamp": now, "message": "m"}] * 10001)
        self.assertIn("Member must have length less than or equal to 10000", msg)
        self.err(self.raw.put_log_events, "InvalidParameterException",
                 "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: "
                 "Member must have length greater than or equal to 1",
                 logGroupName="/app/g", logStreamName="s1", logEvents=[])
        self.err(self.raw.put_log_events, "InvalidParameterException",
                 "1 validation error detected: Value '' at 'logEvents.2.member.message' failed to satisfy "
                 "constraint: Member must have length greater than or equal to 1",
                 logGroupName="/app/g", logStreamName="s1",
                 logEvents=[{"timestamp": now, "message": "a"}, {"timestamp": now, "message": ""}])
        self.err(self.logs.put_log_events, "ResourceNotFoundException", "The specified log stream does not exist.",
                 logGroupName="/app/g", logStreamName="none", logEvents=[{"timestamp": now, "message": "a"}])
        self.err(self.logs.put_log_events, "ResourceNotFoundException", "The specified log group does not exist.",
                 logGroupName="/none", logStreamName="s1", logEvents=[{"timestamp": now, "message": "a"}])
        # None of the failed batches left anything behind. (The two big
        # events fill a 1 MB response: read on with the token.)
        r = self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1", startFromHead=True)
        got = r["events"]
        self.assertEqual(len(got), 3)
        got += self.logs.get_log_events(logGroupName="/app/g", logStreamName="s1",
                                        nextToken=r["nextForwardToken"])["events"]
        self.assertEqual([e["message"][:4] for e in got], ["ok 1", "ok 2", "xxxx", "xxxx"])
        # 10,000 events in one batch are fine.
        r = self.logs.put_log_events(logGroupName="/app/g", logStreamName="s1",
                                     logEvents=[{"timestamp": now, "message": "n%d" % i} for i in range(10000)])
        self.assertNotIn("rejectedLogEventsInfo", r)


class TestFilterLogEvents(LogsCase):
    def seed(self):
        self.group("/f", "web-1")
        self.logs.create_log_stream(logGroupName="/f", logStreamName="web-2")
        self.logs.create_log_stream(logGroupName="/f", logStreamName="db")
        now = server_now(self.kyoka) - 10000
        self.now = now
        self.put(["GET /a 200", "ERROR disk full", '{"level":"ERROR","ms":150}'], "/f", "web-1", start=now, step=10)
        self.put(["GET /b 404", "WARN slow", '{"level":"INFO","ms":500}'], "/f", "web-2", start=now + 5, step=10)
        self.put(["ERROR deadlock", "10.0.0.1 - bob [x y] \"GET /i.html\" 404 2000"], "/f", "db", start=now + 1,
                 step=10)

    def msgs(self, **kw):
        return [e["message"] for e in self.logs.filter_log_events(logGroupName="/f", **kw)["events"]]

    def test_interleaved_and_patterns(self):
        self.seed()
        r = self.logs.filter_log_events(logGroupName="/f")
        self.assertEqual([e["message"] for e in r["events"]],
                         ["GET /a 200", "ERROR deadlock", "GET /b 404", "ERROR disk full",
                          "10.0.0.1 - bob [x y] \"GET /i.html\" 404 2000", "WARN slow",
                          '{"level":"ERROR","ms":150}', '{"level":"INFO","ms":500}'])
        self.assertEqual(r["searchedLogStreams"], [])
        e = r["events"][0]
        self.assertEqual(e["logStreamName"], "web-1")
        self.assertEqual(e["timestamp"], self.now)
        self.assertIn("ingestionTime", e)
        self.assertEqual(len(e["eventId"]), 56)
        self.assertEqual(len({x["eventId"] for x in r["events"]}), 8)
        self.assertEqual(self.msgs(filterPattern="ERROR"), ["ERROR deadlock", "ERROR disk full",
                                                            '{"level":"ERROR","ms":150}'])
        self.assertEqual(self.msgs(filterPattern="ERROR -disk -deadlock"), ['{"level":"ERROR","ms":150}'])
        self.assertEqual(self.msgs(filterPattern="?WARN ?404"), ["GET /b 404", "10.0.0.1 - bob [x y] \"GET /i.html\" 404 2000",
                                                                 "WARN slow"])
        self.assertEqual(self.msgs(filterPattern='"disk full"'), ["ERROR disk full"])
        self.assertEqual(self.msgs(filterPattern='{ $.level = "ERROR" && $.ms > 100 }'),
                         ['{"level":"ERROR","ms":150}'])
        self.assertEqual(self.msgs(filterPattern='{ $.ms >= 150 }'),
                         ['{"level":"ERROR","ms":150}', '{"level":"INFO","ms":500}'])
        self.assertEqual(self.msgs(filterPattern="[ip, user, name, ts, request = *html*, status = 4*, bytes > 1000]"),
                         ["10.0.0.1 - bob [x y] \"GET /i.html\" 404 2000"])
        self.assertEqual(self.msgs(filterPattern="[method, path, status = 404]"), ["GET /b 404"])
        self.assertEqual(self.msgs(filterPattern="%^GET /[ab] [0-9]{3}$%"), ["GET /a 200", "GET /b 404"])
        self.assertEqual(self.msgs(filterPattern="%dead|slow%"), ["ERROR deadlock", "WARN slow"])
        self.assertEqual(self.msgs(filterPattern="", logStreamNames=["db"]),
                         ["ERROR deadlock", "10.0.0.1 - bob [x y] \"GET /i.html\" 404 2000"])
        self.assertEqual(self.msgs(logStreamNamePrefix="web", filterPattern="GET"), ["GET /a 200", "GET /b 404"])
        # startTime and endTime are both inclusive here.
        self.assertEqual(self.msgs(startTime=self.now + 5, endTime=self.now + 11),
                         ["GET /b 404", "ERROR disk full", "10.0.0.1 - bob [x y] \"GET /i.html\" 404 2000"])
        # logGroupIdentifier instead of the name.
        arn = "arn:aws:logs:%s:%s:log-group:/f" % (REGION, ACCOUNT)
        r = self.raw.filter_log_events(logGroupIdentifier=arn, filterPattern="deadlock")
        self.assertEqual([e["message"] for e in r["events"]], ["ERROR deadlock"])

    def test_paging_and_errors(self):
        self.seed()
        seen, token, pages = [], None, 0
        while True:
            kw = dict(logGroupName="/f", limit=3)
            if token:
                kw["nextToken"] = token
            r = self.logs.filter_log_events(**kw)
            seen += [e["message"] for e in r["events"]]
            pages += 1
            token = r.get("nextToken")
            if not token:
                break
        self.assertEqual(len(seen), 8)
        self.assertEqual(pages, 3)
        self.assertEqual(seen, self.msgs())
        for bad, message in (("{ $.a = 1", "If a filter pattern starts with '{' it must end with '}'"),
                             ("[a, b", "If a filter pattern starts with '[' it must end with ']'"),
                             ("{ $.a > x }", "Invalid filter pattern"),
                             ("%(a)%", "Invalid filter pattern"),
                             ('""', "Invalid filter pattern: Invalid character(s) in term '\"\"'")):
            self.err(self.logs.filter_log_events, "InvalidParameterException", message, logGroupName="/f",
                     filterPattern=bad)
        self.err(self.logs.filter_log_events, "InvalidParameterException",
                 "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.",
                 logGroupName="/f", logStreamNames=["db"], logStreamNamePrefix="d")
        self.err(self.logs.filter_log_events, "ResourceNotFoundException", "The specified log group does not exist.",
                 logGroupName="/none")
        self.err(self.raw.filter_log_events, "InvalidParameterException",
                 "LogGroup name and LogGroup ARN are mutually exclusive parameters.", logGroupName="/f",
                 logGroupIdentifier="/f")
        self.err(self.raw.filter_log_events, "InvalidParameterException",
                 "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
                 "Member must have value greater than or equal to 1", logGroupName="/f", limit=0)
        self.err(self.logs.filter_log_events, "InvalidParameterException", logGroupName="/f", nextToken="zz")


class TestIamAndCli(LogsCase):
    def test_iam_on_group_and_stream_arns(self):
        iam = self.kyoka.client("iam")
        iam.create_user(UserName="writer")
        arn = "arn:aws:logs:%s:%s:log-group:/allowed" % (REGION, ACCOUNT)
        iam.put_user_policy(UserName="writer", PolicyName="logs", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents",
                                               "logs:GetLogEvents", "logs:FilterLogEvents"], "Resource": arn + ":*"},
                {"Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="writer")["AccessKey"]
        w = self.kyoka.client("logs", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        w.create_log_group(logGroupName="/allowed")
        w.create_log_stream(logGroupName="/allowed", logStreamName="s")
        now = server_now(self.kyoka)
        w.put_log_events(logGroupName="/allowed", logStreamName="s", logEvents=[{"timestamp": now, "message": "m"}])
        self.assertEqual(len(w.get_log_events(logGroupName="/allowed", logStreamName="s")["events"]), 1)
        self.assertEqual(len(w.filter_log_events(logGroupName="/allowed")["events"]), 1)
        self.assertEqual(len(w.describe_log_groups()["logGroups"]), 1)
        for fn, kw in ((w.create_log_group, {"logGroupName": "/other"}),
                       (w.delete_log_group, {"logGroupName": "/allowed"}),
                       (w.put_retention_policy, {"logGroupName": "/allowed", "retentionInDays": 1})):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                fn(**kw)
            self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        # Denied calls changed nothing.
        self.assertEqual([g["logGroupName"] for g in self.logs.describe_log_groups()["logGroups"]], ["/allowed"])

    def test_awscli(self):
        r = self.kyoka.aws_cli("logs", "create-log-group", "--log-group-name", "/cli")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.kyoka.aws_cli("logs", "create-log-stream", "--log-group-name", "/cli", "--log-stream-name", "s",
                           check=True)
        now = server_now(self.kyoka)
        r = self.kyoka.aws_cli("logs", "put-log-events", "--log-group-name", "/cli", "--log-stream-name", "s",
                               "--log-events", "timestamp=%d,message=hello-from-cli" % now)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.kyoka.aws_cli("logs", "filter-log-events", "--log-group-name", "/cli", "--filter-pattern", "hello")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([e["message"] for e in json.loads(r.stdout)["events"]], ["hello-from-cli"])
        r = self.kyoka.aws_cli("logs", "describe-log-groups")
        self.assertEqual(json.loads(r.stdout)["logGroups"][0]["logGroupName"], "/cli")
        r = self.kyoka.aws_cli("logs", "create-log-group", "--log-group-name", "/cli")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ResourceAlreadyExistsException", r.stderr)

    def test_aws_logs_tail(self):
        """`aws logs tail` exists in the AWS CLI v2 only (Debian's /usr/bin/aws
        is v2.9); it reads FilterLogEvents."""
        cli = None
        for cand in ("/usr/bin/aws", shutil.which("aws")):
            if cand and subprocess.run([cand, "logs", "tail", "help"], capture_output=True).returncode == 0:
                cli = cand
                break
        if not cli:
            self.skipTest("no AWS CLI with `logs tail` here")
        self.group("/tail", "s")
        now = server_now(self.kyoka)
        self.logs.put_log_events(logGroupName="/tail", logStreamName="s",
                                 logEvents=[{"timestamp": now - 2000 + i, "message": "line %d" % i}
                                            for i in range(5)])
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION=REGION,
                   AWS_PAGER="", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        r = subprocess.run([cli, "--endpoint-url", self.kyoka.endpoint, "logs", "tail", "/tail", "--since", "1h",
                            "--format", "short"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        self.assertEqual([ln.split(" ", 1)[1] for ln in lines], ["line %d" % i for i in range(5)])
        r = subprocess.run([cli, "--endpoint-url", self.kyoka.endpoint, "logs", "tail", "/tail", "--since", "1h",
                            "--filter-pattern", "?3 ?4"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len([ln for ln in r.stdout.splitlines() if ln.strip()]), 2)

    def test_unimplemented_operations(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.logs.describe_metric_filters()
        self.assertEqual(cm.exception.response["Error"]["Code"], "NotImplemented")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 501)


class TestDurability(unittest.TestCase):
    def test_kill9_keeps_acknowledged_events(self):
        server = KyokaServer().start()
        try:
            logs = server.client("logs")
            logs.create_log_group(logGroupName="/d", tags={"k": "v"})
            logs.put_retention_policy(logGroupName="/d", retentionInDays=7)
            logs.create_log_stream(logGroupName="/d", logStreamName="s")
            now = server_now(server)
            for b in range(5):
                logs.put_log_events(logGroupName="/d", logStreamName="s",
                                    logEvents=[{"timestamp": now - 5000 + b * 100 + i, "message": "b%d-%d" % (b, i)}
                                               for i in range(100)])
            before = logs.describe_log_streams(logGroupName="/d")["logStreams"][0]
            server.kill9()
            server.start()
            logs = server.client("logs")
            g = logs.describe_log_groups()["logGroups"][0]
            self.assertEqual(g["retentionInDays"], 7)
            self.assertGreater(g["storedBytes"], 0)
            self.assertEqual(logs.list_tags_log_group(logGroupName="/d")["tags"], {"k": "v"})
            after = logs.describe_log_streams(logGroupName="/d")["logStreams"][0]
            for k in ("firstEventTimestamp", "lastEventTimestamp", "lastIngestionTime", "creationTime"):
                self.assertEqual(after[k], before[k])
            got, token = [], None
            while True:
                kw = dict(logGroupName="/d", logStreamName="s", startFromHead=True)
                if token:
                    kw["nextToken"] = token
                r = logs.get_log_events(**kw)
                if not r["events"]:
                    break
                got += [e["message"] for e in r["events"]]
                token = r["nextForwardToken"]
            self.assertEqual(got, ["b%d-%d" % (b, i) for b in range(5) for i in range(100)])
            # Writing goes on after the restart without clashing with old events.
            logs.put_log_events(logGroupName="/d", logStreamName="s",
                                logEvents=[{"timestamp": now - 5000, "message": "after restart"}])
            r = logs.filter_log_events(logGroupName="/d", filterPattern='"after restart"')
            self.assertEqual(len(r["events"]), 1)
            ids = [e["eventId"] for e in logs.filter_log_events(logGroupName="/d")["events"]]
            self.assertEqual(len(ids), len(set(ids)))
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
