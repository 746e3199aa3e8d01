"""EventBridge and EventBridge Scheduler through boto3 and the AWS CLI:
buses, rules, targets and their errors; PutEvents' per-entry errors and
envelope; pattern operators (TestEventPattern and real delivery); input
shaping; queue, function and bus targets authorized by their resource
policies (a denied delivery goes to the DLQ with AWS's attributes);
scheduled rules counted on an advanced clock; Scheduler schedules under a
role that lacks, then gains, the permission; kill -9 with deliveries
pending.
"""
import json
import os
import sys
import time

import botocore.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "50-lambda"))
from harness import ACCOUNT, REGION, KyokaServer, KyokaTestCase, main  # noqa: E402

RULE_ARN = "arn:aws:events:%s:%s:rule/%%s" % (REGION, ACCOUNT)


def queue_policy(queue_arn, source_arn=None, principal="events.amazonaws.com"):
    stmt = {"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sqs:SendMessage",
            "Resource": queue_arn}
    if source_arn:
        stmt["Condition"] = {"ArnEquals": {"aws:SourceArn": source_arn}}
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})


class EventsCase(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.ev = self.kyoka.client("events")
        self.sqs = self.kyoka.client("sqs")

    # ---- helpers ----

    def queue(self, name, allow_rule=None, attrs=None):
        url = self.sqs.create_queue(QueueName=name, Attributes=attrs or {})["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        if allow_rule is not None:
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, allow_rule or None)})
        return url, arn

    def drain(self, url, want, timeout=10):
        got = []
        deadline = time.time() + timeout
        while len(got) < want and time.time() < deadline:
            out = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                           MessageAttributeNames=["All"])
            for m in out.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            if len(got) < want:
                time.sleep(0.05)
        return got

    def put(self, detail, source="app.orders", dtype="Order", **kw):
        entry = dict(Source=source, DetailType=dtype, Detail=json.dumps(detail), **kw)
        out = self.ev.put_events(Entries=[entry])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        return out["Entries"][0]["EventId"]

    def route(self, name, pattern, **target):
        """A rule on the default bus with one queue target it may write to."""
        rule = self.ev.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"]
        url, arn = self.queue("q-" + name, allow_rule=rule)
        t = dict(Id="t1", Arn=arn, **target)
        out = self.ev.put_targets(Rule=name, Targets=[t])
        self.assertEqual(out["FailedEntryCount"], 0, out)
        return url

    def error(self, fn, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kw)
        return cm.exception.response["Error"]

    # ---- buses ----

    def test_buses(self):
        names = [b["Name"] for b in self.ev.list_event_buses()["EventBuses"]]
        self.assertEqual(names, ["default"])
        arn = self.ev.create_event_bus(Name="orders")["EventBusArn"]
        self.assertEqual(arn, "arn:aws:events:%s:%s:event-bus/orders" % (REGION, ACCOUNT))
        e = self.error(self.ev.create_event_bus, Name="orders")
        self.assertEqual(e["Code"], "ResourceAlreadyExistsException")
        self.assertEqual(e["Message"], "Event bus orders already exists.")
        e = self.error(self.ev.describe_event_bus, Name="nope")
        self.assertEqual(e["Code"], "ResourceNotFoundException")
        self.assertEqual(e["Message"], "Event bus nope does not exist.")
        self.ev.put_permission(EventBusName="orders", Action="events:PutEvents", Principal="111122223333",
                               StatementId="partner")
        pol = json.loads(self.ev.describe_event_bus(Name="orders")["Policy"])
        self.assertEqual(pol["Statement"][0]["Principal"], {"AWS": "arn:aws:iam::111122223333:root"})
        self.assertEqual(pol["Statement"][0]["Resource"], arn)
        e = self.error(self.ev.remove_permission, EventBusName="orders", StatementId="other")
        self.assertEqual(e["Code"], "ResourceNotFoundException")
        self.ev.remove_permission(EventBusName="orders", StatementId="partner")
        self.assertNotIn("Policy", self.ev.describe_event_bus(Name="orders"))
        e = self.error(self.ev.delete_event_bus, Name="default")
        self.assertEqual(e["Code"], "ValidationException")
        self.ev.delete_event_bus(Name="orders")
        self.assertEqual([b["Name"] for b in self.ev.list_event_buses()["EventBuses"]], ["default"])

    # ---- rules and targets ----

    def test_rules_and_targets(self):
        e = self.error(self.ev.put_rule, Name="r")
        self.assertEqual(e["Code"], "ValidationException")
        self.assertEqual(e["Message"], "Parameter(s) EventPattern or ScheduleExpression must be specified.")
        e = self.error(self.ev.put_rule, Name="r", EventPattern='{"source": []}')
        self.assertEqual(e["Code"], "InvalidEventPatternException")
        self.assertTrue(e["Message"].startswith("Event pattern is not valid. Reason: "), e["Message"])
        e = self.error(self.ev.put_rule, Name="r", EventPattern="{not json")
        self.assertEqual(e["Code"], "InvalidEventPatternException")
        for bad in ("rate(1 minutes)", "rate(5 minute)", "cron(0 10 * * * *)", "cron(0 10 * * ?)", "every day"):
            e = self.error(self.ev.put_rule, Name="r", ScheduleExpression=bad)
            self.assertEqual((e["Code"], e["Message"]),
                             ("ValidationException", "Parameter ScheduleExpression is not valid."), bad)
        self.ev.create_event_bus(Name="custom")
        e = self.error(self.ev.put_rule, Name="r", EventBusName="custom", ScheduleExpression="rate(5 minutes)")
        self.assertEqual(e["Message"], "ScheduleExpression is supported only on the default event bus.")
        self.assertEqual(self.ev.list_rules()["Rules"], [])  # bad input changed nothing

        for i in range(7):
            self.ev.put_rule(Name="rule-%d" % i, EventPattern='{"source": ["a"]}', Description="d%d" % i)
        page = self.ev.list_rules(NamePrefix="rule-", Limit=3)
        self.assertEqual([r["Name"] for r in page["Rules"]], ["rule-0", "rule-1", "rule-2"])
        page2 = self.ev.list_rules(NamePrefix="rule-", Limit=3, NextToken=page["NextToken"])
        self.assertEqual([r["Name"] for r in page2["Rules"]], ["rule-3", "rule-4", "rule-5"])
        d = self.ev.describe_rule(Name="rule-1")
        self.assertEqual((d["Arn"], d["State"], d["EventBusName"]), (RULE_ARN % "rule-1", "ENABLED", "default"))
        custom = self.ev.put_rule(Name="x", EventBusName="custom", EventPattern='{"source": ["a"]}')["RuleArn"]
        self.assertEqual(custom, "arn:aws:events:%s:%s:rule/custom/x" % (REGION, ACCOUNT))
        e = self.error(self.ev.describe_rule, Name="missing")
        self.assertEqual(e["Message"], "Rule missing does not exist on EventBus default.")
        self.ev.disable_rule(Name="rule-1")
        self.assertEqual(self.ev.describe_rule(Name="rule-1")["State"], "DISABLED")

        q = "arn:aws:sqs:%s:%s:t" % (REGION, ACCOUNT)
        out = self.ev.put_targets(Rule="rule-1", Targets=[
            {"Id": "a", "Arn": q}, {"Id": "b", "Arn": q, "Input": "{not json"},
            {"Id": "c", "Arn": q, "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 60}}])
        self.assertEqual(out["FailedEntryCount"], 1)
        self.assertEqual(out["FailedEntries"][0]["TargetId"], "b")
        ids = [t["Id"] for t in self.ev.list_targets_by_rule(Rule="rule-1")["Targets"]]
        self.assertEqual(ids, ["a", "c"])
        e = self.error(self.ev.put_targets, Rule="rule-1", Targets=[{"Id": "t%d" % i, "Arn": q} for i in range(4)])
        self.assertEqual(e["Code"], "LimitExceededException")
        self.assertEqual(len(self.ev.list_targets_by_rule(Rule="rule-1")["Targets"]), 2)
        self.assertEqual(self.ev.list_rule_names_by_target(TargetArn=q)["RuleNames"], ["rule-1"])
        e = self.error(self.ev.delete_rule, Name="rule-1")
        self.assertEqual((e["Code"], e["Message"]), ("ValidationException", "Rule can't be deleted since it has targets."))
        self.ev.remove_targets(Rule="rule-1", Ids=["a", "c"])
        self.ev.delete_rule(Name="rule-1")
        self.assertNotIn("rule-1", [r["Name"] for r in self.ev.list_rules()["Rules"]])

        self.ev.tag_resource(ResourceARN=RULE_ARN % "rule-2", Tags=[{"Key": "team", "Value": "a"}])
        self.assertEqual(self.ev.list_tags_for_resource(ResourceARN=RULE_ARN % "rule-2")["Tags"],
                         [{"Key": "team", "Value": "a"}])
        self.ev.untag_resource(ResourceARN=RULE_ARN % "rule-2", TagKeys=["team"])
        self.assertEqual(self.ev.list_tags_for_resource(ResourceARN=RULE_ARN % "rule-2")["Tags"], [])

    # ---- PutEvents ----

    def test_put_events_entries(self):
        out = self.ev.put_events(Entries=[
            {"Source": "a", "DetailType": "t", "Detail": "{}"},
            {"DetailType": "t", "Detail": "{}"},
            {"Source": "a", "Detail": "{}"},
            {"Source": "a", "DetailType": "t", "Detail": "[1"},
            {"Source": "aws.ec2", "DetailType": "t", "Detail": "{}"},
            {"Source": "a", "DetailType": "t", "Detail": "{}", "EventBusName": "nope"},
        ])
        self.assertEqual(out["FailedEntryCount"], 5)
        e = out["Entries"]
        self.assertIn("EventId", e[0])
        self.assertEqual(e[1]["ErrorMessage"], "Parameter Source is not valid. Reason: Source is a required argument.")
        self.assertEqual(e[2]["ErrorMessage"],
                         "Parameter DetailType is not valid. Reason: DetailType is a required argument.")
        self.assertEqual(e[3]["ErrorMessage"], "Parameter Detail is not valid. Reason: Detail is malformed.")
        self.assertEqual(e[4]["ErrorCode"], "NotAuthorizedForSourceException")
        self.assertEqual(e[5]["ErrorMessage"], "Event bus nope does not exist.")
        err = self.error(self.ev.put_events, Entries=[{"Source": "a", "DetailType": "t", "Detail": "{}"}] * 11)
        self.assertEqual(err["Code"], "ValidationException")
        big = json.dumps({"x": "y" * (256 * 1024)})
        err = self.error(self.ev.put_events, Entries=[{"Source": "a", "DetailType": "t", "Detail": big}])
        self.assertEqual(err["Message"], "Total size of the entries in the request is over the limit.")

    def test_envelope_to_queue(self):
        url = self.route("orders", {"source": ["app.orders"]})
        eid = self.put({"id": 7}, Resources=["arn:aws:s3:::b"], Time=1700000000)
        self.put({"id": 8}, source="other")
        msgs = self.drain(url, 1)
        self.assertEqual(len(msgs), 1)
        ev = json.loads(msgs[0]["Body"])
        self.assertEqual(ev, {"version": "0", "id": eid, "detail-type": "Order", "source": "app.orders",
                              "account": ACCOUNT, "time": "2023-11-14T22:13:20Z", "region": REGION,
                              "resources": ["arn:aws:s3:::b"], "detail": {"id": 7}})
        self.assertEqual(self.drain(url, 1, timeout=0.5), [])

    # ---- patterns (AWS's documented examples) ----

    EVENT = {"id": "1", "account": "123456789012", "source": "aws.ec2", "time": "2017-12-22T18:43:48Z",
             "region": "us-west-1", "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
             "detail-type": "EC2 Instance State-change Notification",
             "detail": {"state": "terminated", "instance-id": "i-1234567890abcdef0", "c-count": 5, "d-count": 3,
                        "x-limit": 301.8, "source-ip": "10.0.0.123", "location": "eu-central-1",
                        "filename": "image.png", "name": "Alice"}}

    CASES = [
        ({"source": ["aws.ec2"]}, True),
        ({"source": ["aws.s3"]}, False),
        ({"detail": {"state": ["running", "terminated"]}}, True),
        ({"detail": {"location": [{"prefix": "eu-"}]}}, True),
        ({"detail": {"filename": [{"suffix": ".png"}]}}, True),
        ({"detail": {"state": [{"anything-but": "initializing"}]}}, True),
        ({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}, False),
        ({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}, False),
        ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, True),
        ({"detail": {"x-limit": [{"numeric": ["<", 300]}]}}, False),
        ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, True),
        ({"detail": {"missing": [{"exists": False}]}}, True),
        ({"detail": {"state": [{"exists": True}]}}, True),
        ({"detail": {"name": [{"equals-ignore-case": "alice"}]}}, True),
        ({"detail": {"filename": [{"wildcard": "*.png"}]}}, True),
        ({"detail": {"$or": [{"c-count": [{"numeric": [">", 10]}]}, {"d-count": [{"numeric": ["<", 5]}]}]}}, True),
        ({"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]}, True),
    ]

    def test_pattern_operators(self):
        for pattern, want in self.CASES:
            got = self.ev.test_event_pattern(EventPattern=json.dumps(pattern), Event=json.dumps(self.EVENT))
            self.assertEqual(got["Result"], want, pattern)
        e = self.error(self.ev.test_event_pattern, EventPattern='{"a": [{"numeric": [">"]}]}',
                       Event=json.dumps(self.EVENT))
        self.assertEqual(e["Code"], "InvalidEventPatternException")
        e = self.error(self.ev.test_event_pattern, EventPattern='{"source": ["a"]}', Event='{"source": "a"}')
        self.assertEqual(e["Message"], "Parameter Event is not valid.")

    def test_pattern_operators_delivered(self):
        # The same patterns on real rules: each queue gets exactly the
        # events its pattern matches.
        urls = []
        for i, (pattern, want) in enumerate(self.CASES):
            p = dict(pattern)
            p.pop("source", None)
            p["source"] = ["app.ec2"] if "source" not in pattern else ["app.ec2" if want else "app.s3"]
            urls.append((self.route("p%d" % i, p), want))
        ev = self.EVENT
        self.ev.put_events(Entries=[{"Source": "app.ec2", "DetailType": ev["detail-type"], "Resources": ev["resources"],
                                     "Detail": json.dumps(ev["detail"])}])
        time.sleep(0.5)
        for i, (url, want) in enumerate(urls):
            self.assertEqual(len(self.drain(url, 1, timeout=0.3 if not want else 5)), 1 if want else 0, self.CASES[i])

    # ---- input shaping ----

    def test_input_shaping(self):
        pattern = {"source": ["app.orders"]}
        u_input = self.route("in-const", pattern, Input='{"fixed": true}')
        u_path = self.route("in-path", pattern, InputPath="$.detail.order")
        u_json = self.route("in-json", pattern, InputTransformer={
            "InputPathsMap": {"id": "$.detail.order.id", "who": "$.detail.who", "n": "$.detail.n"},
            "InputTemplate": '{"order": <id>, "text": "<who> ordered <n> (\\"<id>\\")", "rule": <aws.events.rule-name>}'})
        u_text = self.route("in-text", pattern, InputTransformer={
            "InputPathsMap": {"who": "$.detail.who", "n": "$.detail.n"},
            "InputTemplate": "<who> ordered <n> on <aws.events.rule-arn>"})
        self.put({"order": {"id": "o-1", "lines": [1, 2]}, "who": "Ana", "n": 3})
        self.assertEqual(json.loads(self.drain(u_input, 1)[0]["Body"]), {"fixed": True})
        self.assertEqual(json.loads(self.drain(u_path, 1)[0]["Body"]), {"id": "o-1", "lines": [1, 2]})
        self.assertEqual(json.loads(self.drain(u_json, 1)[0]["Body"]),
                         {"order": "o-1", "text": 'Ana ordered 3 ("o-1")', "rule": "in-json"})
        self.assertEqual(self.drain(u_text, 1)[0]["Body"], "Ana ordered 3 on " + RULE_ARN % "in-text")
        # A template that is not JSON once filled is refused.
        out = self.ev.put_targets(Rule="in-text", Targets=[{"Id": "bad", "Arn": "arn:aws:sqs:us-east-1:1:q",
                                  "InputTransformer": {"InputPathsMap": {"a": "$.x"}, "InputTemplate": '{"a": <a'}}])
        self.assertEqual(out["FailedEntryCount"], 1)

    # ---- authorization, retries and the DLQ ----

    def test_queue_denied_goes_to_dlq(self):
        rule = self.ev.put_rule(Name="r", EventPattern='{"source": ["app.orders"]}')["RuleArn"]
        url, arn = self.queue("target")  # no policy: events.amazonaws.com may not send
        dlq_url, dlq = self.queue("dlq", allow_rule=rule)
        self.ev.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": arn, "DeadLetterConfig": {"Arn": dlq}}])
        eid = self.put({"n": 1})
        msgs = self.drain(dlq_url, 1)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(json.loads(msgs[0]["Body"])["id"], eid)
        attrs = {k: v["StringValue"] for k, v in msgs[0]["MessageAttributes"].items()}
        self.assertEqual(attrs["RULE_ARN"], rule)
        self.assertEqual(attrs["TARGET_ARN"], arn)
        self.assertEqual(attrs["ERROR_CODE"], "NO_PERMISSIONS")
        self.assertIn("sqs:SendMessage", attrs["ERROR_MESSAGE"])
        self.assertEqual(self.drain(url, 1, timeout=0.3), [])
        # The queue policy allows it now: delivered.
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, rule)})
        self.put({"n": 2})
        self.assertEqual(json.loads(self.drain(url, 1)[0]["Body"])["detail"], {"n": 2})
        # The decision log holds the denial of events.amazonaws.com.
        _, recent = self.kyoka.admin("GET", "/_kyoka/iam/decisions?limit=200")
        text = json.dumps(recent)
        self.assertIn("events.amazonaws.com", text)

    def test_lambda_target_needs_permission(self):
        from lambdatest import py_zip
        lam, iam, logs = self.kyoka.client("lambda"), self.kyoka.client("iam"), self.kyoka.client("logs")
        iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        iam.attach_role_policy(RoleName="fn",
                               PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
        code = "import json\ndef handler(event, context):\n    print('GOT ' + json.dumps(event))\n"
        fn = lam.create_function(FunctionName="sink", Runtime="python3.12", Handler="index.handler",
                                 Role="arn:aws:iam::%s:role/fn" % ACCOUNT, Code={"ZipFile": py_zip(code)})
        for _ in range(100):
            if lam.get_function(FunctionName="sink")["Configuration"]["State"] == "Active":
                break
            time.sleep(0.1)
        rule = self.ev.put_rule(Name="to-fn", EventPattern='{"source": ["app.orders"]}')["RuleArn"]
        dlq_url, dlq = self.queue("fn-dlq", allow_rule=rule)
        self.ev.put_targets(Rule="to-fn", Targets=[{"Id": "f", "Arn": fn["FunctionArn"],
                                                    "DeadLetterConfig": {"Arn": dlq}}])
        self.put({"n": 1})
        msgs = self.drain(dlq_url, 1)
        self.assertEqual(len(msgs), 1, "the denied invocation reaches the DLQ")
        self.assertEqual(msgs[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"], "NO_PERMISSIONS")
        lam.add_permission(FunctionName="sink", StatementId="events", Action="lambda:InvokeFunction",
                           Principal="events.amazonaws.com", SourceArn=rule)
        self.put({"n": 2})
        got = []
        deadline = time.time() + 30
        while not got and time.time() < deadline:
            try:
                out = logs.filter_log_events(logGroupName="/aws/lambda/sink", filterPattern="GOT")
                got = [json.loads(e["message"].split("GOT ", 1)[1]) for e in out["events"]]
            except logs.exceptions.ResourceNotFoundException:
                pass
            time.sleep(0.1)
        self.assertEqual([g["detail"] for g in got], [{"n": 2}])
        self.assertEqual(self.drain(dlq_url, 1, timeout=0.3), [])

    def test_kinesis_target_through_its_role(self):
        kin, iam = self.kyoka.client("kinesis"), self.kyoka.client("iam")
        kin.create_stream(StreamName="ev", ShardCount=1)
        for _ in range(100):
            if kin.describe_stream_summary(StreamName="ev")["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                break
            time.sleep(0.05)
        stream = kin.describe_stream_summary(StreamName="ev")["StreamDescriptionSummary"]["StreamARN"]
        role = iam.create_role(RoleName="to-kinesis", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        rule = self.ev.put_rule(Name="to-stream", EventPattern='{"source": ["app.orders"]}')["RuleArn"]
        # A stream target needs a role.
        out = self.ev.put_targets(Rule="to-stream", Targets=[{"Id": "k", "Arn": stream}])
        self.assertEqual(out["FailedEntryCount"], 1)
        self.assertIn("RoleArn is required", out["FailedEntries"][0]["ErrorMessage"])
        dlq_url, dlq = self.queue("k-dlq", allow_rule=rule)
        out = self.ev.put_targets(Rule="to-stream", Targets=[{
            "Id": "k", "Arn": stream, "RoleArn": role, "KinesisParameters": {"PartitionKeyPath": "$.detail.order"},
            "DeadLetterConfig": {"Arn": dlq}}])
        self.assertEqual(out["FailedEntryCount"], 0)
        # The role may not write yet: the event goes to the DLQ.
        self.put({"order": "o-1"})
        msgs = self.drain(dlq_url, 1)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(msgs[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"], "NO_PERMISSIONS")
        self.assertIn("kinesis:PutRecord", msgs[0]["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"])
        iam.put_role_policy(RoleName="to-kinesis", PolicyName="put", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kinesis:PutRecord",
                                                    "Resource": stream}]}))
        eid = self.put({"order": "o-2"})
        shard = kin.list_shards(StreamName="ev")["Shards"][0]["ShardId"]
        it = kin.get_shard_iterator(StreamName="ev", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records, deadline = [], time.time() + 10
        while not records and time.time() < deadline:
            got = kin.get_records(ShardIterator=it)
            records, it = got["Records"], got["NextShardIterator"]
            time.sleep(0.05)
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0]["PartitionKey"], "o-2")
        event = json.loads(records[0]["Data"])
        self.assertEqual((event["id"], event["detail"]), (eid, {"order": "o-2"}))

    def test_cross_bus(self):
        self.ev.create_event_bus(Name="downstream")
        bus_arn = "arn:aws:events:%s:%s:event-bus/downstream" % (REGION, ACCOUNT)
        self.ev.put_rule(Name="fwd", EventPattern='{"source": ["app.orders"]}')
        self.ev.put_targets(Rule="fwd", Targets=[{"Id": "bus", "Arn": bus_arn}])
        rule = self.ev.put_rule(Name="final", EventBusName="downstream",
                                EventPattern='{"detail-type": ["Order"]}')["RuleArn"]
        url, arn = self.queue("final", allow_rule=rule)
        self.ev.put_targets(Rule="final", EventBusName="downstream", Targets=[{"Id": "q", "Arn": arn}])
        eid = self.put({"n": 1})
        ev = json.loads(self.drain(url, 1)[0]["Body"])
        self.assertEqual((ev["id"], ev["detail"]), (eid, {"n": 1}))

    def test_fifo_queue_target(self):
        rule = self.ev.put_rule(Name="fifo", EventPattern='{"source": ["app.orders"]}')["RuleArn"]
        url, arn = self.queue("t.fifo", allow_rule=rule, attrs={"FifoQueue": "true"})
        self.ev.put_targets(Rule="fifo", Targets=[{"Id": "q", "Arn": arn, "SqsParameters": {"MessageGroupId": "g1"}}])
        self.put({"n": 1})
        self.put({"n": 2})
        msgs, deadline = [], time.time() + 10
        while len(msgs) < 2 and time.time() < deadline:
            out = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"],
                                           WaitTimeSeconds=1)
            for m in out.get("Messages", []):
                msgs.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual([json.loads(m["Body"])["detail"]["n"] for m in msgs], [1, 2])
        self.assertEqual(msgs[0]["Attributes"]["MessageGroupId"], "g1")

    # ---- schedules on the server clock ----

    def test_scheduled_rules_on_advanced_clock(self):
        rate = self.ev.put_rule(Name="every10", ScheduleExpression="rate(10 minutes)")["RuleArn"]
        url, arn = self.queue("ticks", allow_rule=rate)
        self.ev.put_targets(Rule="every10", Targets=[{"Id": "q", "Arn": arn}])
        cron = self.ev.put_rule(Name="quarter", ScheduleExpression="cron(0/15 * * * ? *)")["RuleArn"]
        curl, carn = self.queue("quarters", allow_rule=cron)
        self.ev.put_targets(Rule="quarter", Targets=[{"Id": "q", "Arn": carn}])
        self.kyoka.advance(3600)
        ticks = self.drain(url, 6)
        self.assertEqual(len(ticks), 6)
        self.assertEqual(self.drain(url, 1, timeout=0.5), [])
        ev = json.loads(ticks[0]["Body"])
        self.assertEqual((ev["source"], ev["detail-type"], ev["resources"], ev["detail"]),
                         ("aws.events", "Scheduled Event", [rate], {}))
        times = sorted(json.loads(m["Body"])["time"] for m in ticks)
        self.assertEqual(len(set(times)), 6)
        self.assertEqual(len(self.drain(curl, 4)), 4)
        self.assertEqual(self.drain(curl, 1, timeout=0.5), [])
        # Disabled: nothing more.
        self.ev.disable_rule(Name="every10")
        self.kyoka.advance(3600)
        self.assertEqual(self.drain(url, 1, timeout=0.5), [])

    def test_cli(self):
        r = self.kyoka.aws_cli("events", "put-rule", "--name", "cli", "--event-pattern", '{"source":["x"]}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["RuleArn"], RULE_ARN % "cli")
        r = self.kyoka.aws_cli("events", "test-event-pattern", "--event-pattern", '{"source":["x"]}', "--event",
                               json.dumps(dict(self.EVENT, source="x")))
        self.assertEqual(json.loads(r.stdout)["Result"], True, r.stderr)
        r = self.kyoka.aws_cli("scheduler", "list-schedule-groups")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([g["Name"] for g in json.loads(r.stdout)["ScheduleGroups"]], ["default"])


class SchedulerCase(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.sch = self.kyoka.client("scheduler")
        self.sqs = self.kyoka.client("sqs")
        self.iam = self.kyoka.client("iam")

    def role(self, name, service="scheduler.amazonaws.com"):
        return self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": service},
                                                    "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]

    def count(self, url, timeout=1.0):
        n, deadline = 0, time.time() + timeout
        bodies = []
        while time.time() < deadline:
            out = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            for m in out.get("Messages", []):
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            time.sleep(0.05)
        return bodies

    def test_groups_and_errors(self):
        self.assertEqual([g["Name"] for g in self.sch.list_schedule_groups()["ScheduleGroups"]], ["default"])
        arn = self.sch.create_schedule_group(Name="g1")["ScheduleGroupArn"]
        self.assertEqual(arn, "arn:aws:scheduler:%s:%s:schedule-group/g1" % (REGION, ACCOUNT))
        with self.assertRaises(self.sch.exceptions.ConflictException):
            self.sch.create_schedule_group(Name="g1")
        target = {"Arn": "arn:aws:sqs:%s:%s:q" % (REGION, ACCOUNT), "RoleArn": "arn:aws:iam::%s:role/r" % ACCOUNT}
        with self.assertRaises(self.sch.exceptions.ValidationException):
            self.sch.create_schedule(Name="s", ScheduleExpression="rate(1 minutes)", Target=target,
                                     FlexibleTimeWindow={"Mode": "OFF"})
        with self.assertRaises(self.sch.exceptions.ValidationException):
            self.sch.create_schedule(Name="s", ScheduleExpression="cron(0 9 * * ? *)", Target=target,
                                     ScheduleExpressionTimezone="Mars/Olympus", FlexibleTimeWindow={"Mode": "OFF"})
        with self.assertRaises(self.sch.exceptions.ResourceNotFoundException):
            self.sch.create_schedule(Name="s", GroupName="nope", ScheduleExpression="rate(5 minutes)", Target=target,
                                     FlexibleTimeWindow={"Mode": "OFF"})
        self.sch.create_schedule(Name="s", GroupName="g1", ScheduleExpression="cron(0 9 * * ? *)", Target=target,
                                 ScheduleExpressionTimezone="Europe/Berlin", FlexibleTimeWindow={"Mode": "OFF"})
        got = self.sch.get_schedule(Name="s", GroupName="g1")
        self.assertEqual((got["ScheduleExpressionTimezone"], got["State"], got["GroupName"]),
                         ("Europe/Berlin", "ENABLED", "g1"))
        with self.assertRaises(self.sch.exceptions.ConflictException):
            self.sch.create_schedule(Name="s", GroupName="g1", ScheduleExpression="rate(5 minutes)", Target=target,
                                     FlexibleTimeWindow={"Mode": "OFF"})
        self.assertEqual([s["Name"] for s in self.sch.list_schedules(GroupName="g1")["Schedules"]], ["s"])
        self.sch.delete_schedule_group(Name="g1")
        with self.assertRaises(self.sch.exceptions.ResourceNotFoundException):
            self.sch.get_schedule(Name="s", GroupName="g1")

    def test_group_tags(self):
        arn = self.sch.create_schedule_group(Name="tagged", Tags=[{"Key": "team", "Value": "a"}])["ScheduleGroupArn"]
        self.assertEqual(self.sch.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "team", "Value": "a"}])
        self.sch.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "ci"}])
        self.sch.untag_resource(ResourceArn=arn, TagKeys=["nope"])
        self.assertEqual(self.sch.list_tags_for_resource(ResourceArn=arn)["Tags"],
                         [{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "ci"}])
        # The AWS CLI sends the same calls.
        r = self.kyoka.aws_cli("scheduler", "untag-resource", "--resource-arn", arn, "--tag-keys", "team")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.sch.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "env", "Value": "ci"}])
        with self.assertRaises(self.sch.exceptions.ValidationException) as e:
            self.sch.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:x", "Value": "1"}])
        self.assertIn("reserved", str(e.exception))
        with self.assertRaises(self.sch.exceptions.ValidationException):
            self.sch.tag_resource(ResourceArn=arn, Tags=[{"Key": "k%d" % i, "Value": "v"} for i in range(200)])
        self.assertEqual(len(self.sch.list_tags_for_resource(ResourceArn=arn)["Tags"]), 1, "a refused call changed tags")
        gone = "arn:aws:scheduler:%s:%s:schedule-group/missing" % (REGION, ACCOUNT)
        with self.assertRaises(self.sch.exceptions.ResourceNotFoundException):
            self.sch.list_tags_for_resource(ResourceArn=gone)
        with self.assertRaises(self.sch.exceptions.ValidationException):
            self.sch.list_tags_for_resource(ResourceArn="arn:aws:scheduler:%s:%s:schedule/default/s" % (REGION, ACCOUNT))

    def test_role_lacks_then_gains_permission(self):
        url = self.sqs.create_queue(QueueName="sched")["QueueUrl"]
        qarn = "arn:aws:sqs:%s:%s:sched" % (REGION, ACCOUNT)
        role = self.role("sched-role")
        self.sch.create_schedule(Name="tick", ScheduleExpression="rate(1 minute)",
                                 FlexibleTimeWindow={"Mode": "OFF"},
                                 Target={"Arn": qarn, "RoleArn": role,
                                         "Input": '{"at": "<aws.scheduler.scheduled-time>"}'})
        self.kyoka.advance(60)
        self.assertEqual(self.count(url), [])
        _, recent = self.kyoka.admin("GET", "/_kyoka/iam/decisions?limit=50")
        self.assertIn("sched-role", json.dumps(recent))
        self.iam.put_role_policy(RoleName="sched-role", PolicyName="send", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage",
                                                    "Resource": qarn}]}))
        self.kyoka.advance(180)
        bodies = self.count(url, timeout=2)
        self.assertEqual(len(bodies), 3)
        self.assertTrue(json.loads(bodies[0])["at"].endswith("Z"))

    def test_untrusted_role_invokes_nothing(self):
        url = self.sqs.create_queue(QueueName="sched2")["QueueUrl"]
        qarn = "arn:aws:sqs:%s:%s:sched2" % (REGION, ACCOUNT)
        role = self.role("lambda-only", service="lambda.amazonaws.com")
        self.iam.put_role_policy(RoleName="lambda-only", PolicyName="send", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
        self.sch.create_schedule(Name="t", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
                                 Target={"Arn": qarn, "RoleArn": role})
        self.kyoka.advance(120)
        self.assertEqual(self.count(url), [])

    def test_cron_at_and_flexible_window(self):
        url = self.sqs.create_queue(QueueName="s3")["QueueUrl"]
        qarn = "arn:aws:sqs:%s:%s:s3" % (REGION, ACCOUNT)
        role = self.role("r3")
        self.iam.put_role_policy(RoleName="r3", PolicyName="send", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": qarn}]}))
        target = {"Arn": qarn, "RoleArn": role, "Input": "<aws.scheduler.schedule-arn>"}
        self.sch.create_schedule(Name="quarter", ScheduleExpression="cron(0/15 * * * ? *)",
                                 ScheduleExpressionTimezone="America/New_York",
                                 FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10}, Target=target)
        self.kyoka.advance(3600)
        bodies = self.count(url, timeout=2)
        # Four quarters in the hour; the one in the last 5 minutes waits
        # for its window's midpoint.
        self.assertIn(len(bodies), (3, 4))
        self.assertTrue(all(b.endswith(":schedule/default/quarter") for b in bodies))
        self.sch.delete_schedule(Name="quarter")
        # at(): once.
        now = time.time() + 3600 + 120
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        self.sch.create_schedule(Name="once", ScheduleExpression="at(%s)" % stamp,
                                 FlexibleTimeWindow={"Mode": "OFF"}, Target=target)
        self.kyoka.advance(600)
        self.assertEqual(len(self.count(url, timeout=2)), 1)
        self.kyoka.advance(600)
        self.assertEqual(self.count(url), [])


class DurabilityCase(KyokaTestCase):
    ephemeral = False

    def test_kill9_with_deliveries_pending(self):
        ev, sqs = self.kyoka.client("events"), self.kyoka.client("sqs")
        rule = ev.put_rule(Name="r", EventPattern='{"source": ["app"]}')["RuleArn"]
        url = sqs.create_queue(QueueName="durable")["QueueUrl"]
        arn = "arn:aws:sqs:%s:%s:durable" % (REGION, ACCOUNT)
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, rule)})
        ev.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
        ev.put_rule(Name="tick", ScheduleExpression="rate(10 minutes)")
        ids = set()
        for i in range(40):
            out = ev.put_events(Entries=[{"Source": "app", "DetailType": "t", "Detail": json.dumps({"i": i, "j": j})}
                                         for j in range(10)])
            ids.update(e["EventId"] for e in out["Entries"])
        self.kyoka.kill9()
        self.kyoka.start()
        sqs = self.kyoka.client("sqs")
        seen = set()
        deadline = time.time() + 20
        while len(seen) < len(ids) and time.time() < deadline:
            out = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            for m in out.get("Messages", []):
                seen.add(json.loads(m["Body"])["id"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual(ids - seen, set(), "events accepted before kill -9 were lost")
        # Rules and schedules survived too.
        ev = self.kyoka.client("events")
        self.assertEqual(sorted(r["Name"] for r in ev.list_rules()["Rules"]), ["r", "tick"])

    def test_schedule_group_tags_survive_kill9(self):
        sch = self.kyoka.client("scheduler")
        arn = sch.create_schedule_group(Name="kept", Tags=[{"Key": "a", "Value": "1"}])["ScheduleGroupArn"]
        sch.tag_resource(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}])
        self.kyoka.kill9()
        self.kyoka.start()
        sch = self.kyoka.client("scheduler")
        self.assertEqual(sch.list_tags_for_resource(ResourceArn=arn)["Tags"],
                         [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])


if __name__ == "__main__":
    main()
