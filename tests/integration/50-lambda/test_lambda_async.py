"""Asynchronous invocation through boto3 and the AWS CLI: the durable event
queue, retries on kyoka's clock, event age, destinations (SQS, Lambda), the
dead-letter queue, the event invoke configuration API, and the execution
role's permission to deliver. Retry delays are never slept through: the
tests advance the server clock."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

import harness  # noqa: E402
from harness import ACCOUNT, REGION  # noqa: E402
from lambdatest import LambdaTestCase, py_zip, TRUST_LAMBDA  # noqa: E402

FAIL = """\
def handler(event, context):
    raise ValueError("bad order %s" % event.get("order"))
"""

ECHO = """\
def handler(event, context):
    return {"seen": event}
"""

# Prints the event it gets, for the Lambda destination.
PRINT = """\
import json
def handler(event, context):
    print("RECORD " + json.dumps(event))
    return "ok"
"""


class AsyncCase(LambdaTestCase):
    def setUp(self):
        super().setUp()
        self.sqs = self.kyoka.client("sqs")
        self.logs = self.kyoka.client("logs")

    def queue(self, name):
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = "arn:aws:sqs:%s:%s:%s" % (REGION, ACCOUNT, name)
        return url, arn

    def receive(self, url, n=1, timeout=30):
        """n messages from url (long polling), as received."""
        got = []
        deadline = time.time() + timeout
        while len(got) < n and time.time() < deadline:
            out = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           MessageAttributeNames=["All"])
            for m in out.get("Messages", []):
                got.append(m)
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def assert_empty(self, url, wait=1):
        out = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait)
        self.assertEqual(out.get("Messages", []), [])

    def starts(self, name, request_id):
        """How many times the function started request_id (its START lines)."""
        try:
            out = self.logs.filter_log_events(logGroupName="/aws/lambda/" + name,
                                              filterPattern='"START RequestId: %s"' % request_id)
        except self.logs.exceptions.ResourceNotFoundException:
            return 0
        return len(out["events"])

    def wait_starts(self, name, request_id, n, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.starts(name, request_id) >= n:
                return
            time.sleep(0.05)
        self.fail("%s never started %s %d times (saw %d)" % (name, request_id, n, self.starts(name, request_id)))

    def invoke_event(self, name, event, **kw):
        out = self.lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event).encode(), **kw)
        self.assertEqual(out["StatusCode"], 202)
        return out["ResponseMetadata"]["RequestId"]


class TestEventInvokeConfigApi(AsyncCase):
    def raw_put_config(self, name, body):
        """PUT .../event-invoke-config signed by botocore but not checked by it."""
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        import urllib.error
        import urllib.request
        url = "%s/2019-09-25/functions/%s/event-invoke-config" % (self.kyoka.endpoint, name)
        req = botocore.awsrequest.AWSRequest(method="PUT", url=url, data=json.dumps(body),
                                             headers={"Content-Type": "application/json"})
        botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "lambda", REGION).add_auth(req)
        r = urllib.request.Request(url, data=req.body, method="PUT", headers=dict(req.headers))
        try:
            with urllib.request.urlopen(r) as resp:
                return resp.status, json.load(resp)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def test_put_get_update_list_delete(self):
        self.create("f", code=py_zip(ECHO))
        self.lam.publish_version(FunctionName="f")
        _, dest = self.queue("dest")
        out = self.lam.put_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=1,
                                                        MaximumEventAgeInSeconds=3600)
        self.assertEqual(out["FunctionArn"], "arn:aws:lambda:%s:%s:function:f:$LATEST" % (REGION, ACCOUNT))
        self.assertEqual(out["MaximumRetryAttempts"], 1)
        self.assertEqual(out["MaximumEventAgeInSeconds"], 3600)
        self.assertEqual(out["DestinationConfig"], {"OnSuccess": {}, "OnFailure": {}})
        self.assertIn("LastModified", out)

        up = self.lam.update_function_event_invoke_config(
            FunctionName="f", DestinationConfig={"OnFailure": {"Destination": dest}})
        self.assertEqual(up["MaximumRetryAttempts"], 1, "update keeps what it is not given")
        self.assertEqual(up["DestinationConfig"]["OnFailure"], {"Destination": dest})

        got = self.lam.get_function_event_invoke_config(FunctionName="f")
        self.assertEqual(got["DestinationConfig"]["OnFailure"], {"Destination": dest})

        # Put replaces the whole configuration.
        put = self.lam.put_function_event_invoke_config(FunctionName="f", Qualifier="1", MaximumRetryAttempts=0)
        self.assertEqual(put["FunctionArn"].rsplit(":", 1)[1], "1")
        listed = self.lam.list_function_event_invoke_configs(FunctionName="f")["FunctionEventInvokeConfigs"]
        self.assertEqual(sorted(c["FunctionArn"].rsplit(":", 1)[1] for c in listed), ["$LATEST", "1"])
        page = self.lam.list_function_event_invoke_configs(FunctionName="f", MaxItems=1)
        self.assertEqual(len(page["FunctionEventInvokeConfigs"]), 1)
        self.assertIn("NextMarker", page)

        self.lam.delete_function_event_invoke_config(FunctionName="f")
        with self.assertRaises(self.lam.exceptions.ResourceNotFoundException) as e:
            self.lam.get_function_event_invoke_config(FunctionName="f")
        self.assertIn("doesn't have an EventInvokeConfig", str(e.exception))
        # The configuration survives a restart of nothing: it is in the function.
        self.assertEqual(self.lam.get_function_event_invoke_config(FunctionName="f", Qualifier="1")
                         ["MaximumRetryAttempts"], 0)

    def test_bad_input_changes_nothing(self):
        self.create("f", code=py_zip(ECHO))
        # boto3 checks the ranges itself; a client that does not (the raw
        # REST call) meets kyoka's own check.
        for body, member in (({"MaximumRetryAttempts": 3}, "maximumRetryAttempts"),
                             ({"MaximumEventAgeInSeconds": 30}, "maximumEventAgeInSeconds")):
            status, err = self.raw_put_config("f", body)
            self.assertEqual(status, 400)
            self.assertIn(member, err["message"])
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as e:
            self.lam.put_function_event_invoke_config(
                FunctionName="f", DestinationConfig={"OnSuccess": {"Destination": "arn:aws:dynamodb:%s:%s:table/t"
                                                                   % (REGION, ACCOUNT)}})
        self.assertIn("is invalid", str(e.exception))
        with self.assertRaises(self.lam.exceptions.ResourceNotFoundException):
            self.lam.put_function_event_invoke_config(FunctionName="f", Qualifier="nope", MaximumRetryAttempts=1)
        with self.assertRaises(self.lam.exceptions.ResourceNotFoundException):
            self.lam.update_function_event_invoke_config(FunctionName="f", MaximumRetryAttempts=1)
        with self.assertRaises(self.lam.exceptions.ResourceNotFoundException):
            self.lam.put_function_event_invoke_config(FunctionName="missing", MaximumRetryAttempts=1)
        self.assertEqual(self.lam.list_function_event_invoke_configs(FunctionName="f")
                         ["FunctionEventInvokeConfigs"], [])

    def test_destination_needs_the_role_permission(self):
        role = self.make_role("no-sqs", policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]})
        self.create("f", code=py_zip(ECHO), Role=role)
        _, dest = self.queue("dest")
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as e:
            self.lam.put_function_event_invoke_config(
                FunctionName="f", DestinationConfig={"OnFailure": {"Destination": dest}})
        self.assertIn("does not have permissions to call SendMessage on SQS", str(e.exception))
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as e:
            self.lam.update_function_configuration(FunctionName="f", DeadLetterConfig={"TargetArn": dest})
        self.assertIn("does not have permissions to call SendMessage on SQS", str(e.exception))
        self.assertNotIn("DeadLetterConfig", self.lam.get_function_configuration(FunctionName="f"))
        # A queue policy that allows the role is enough, as on AWS.
        url, _ = self.queue("dest")
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": role},
                                                    "Action": "sqs:SendMessage", "Resource": dest}]})})
        self.lam.put_function_event_invoke_config(FunctionName="f", DestinationConfig={"OnFailure": {"Destination": dest}})

    def test_function_cannot_be_its_own_destination(self):
        arn = self.create("f", code=py_zip(ECHO))["FunctionArn"]
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException):
            self.lam.put_function_event_invoke_config(FunctionName="f", DestinationConfig={
                "OnSuccess": {"Destination": arn}})


class TestAsyncRuns(AsyncCase):
    def test_success_record_to_sqs(self):
        self.create("f", code=py_zip(ECHO))
        url, dest = self.queue("ok")
        self.lam.put_function_event_invoke_config(FunctionName="f",
                                                  DestinationConfig={"OnSuccess": {"Destination": dest}})
        rid = self.invoke_event("f", {"order": 7})
        [m] = self.receive(url)
        rec = json.loads(m["Body"])
        self.assertEqual(rec["version"], "1.0")
        self.assertRegex(rec["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(rec["requestContext"], {
            "requestId": rid, "functionArn": "arn:aws:lambda:%s:%s:function:f:$LATEST" % (REGION, ACCOUNT),
            "condition": "Success", "approximateInvokeCount": 1})
        self.assertEqual(rec["requestPayload"], {"order": 7})
        self.assertEqual(rec["responseContext"], {"statusCode": 200, "executedVersion": "$LATEST"})
        self.assertEqual(rec["responsePayload"], {"seen": {"order": 7}})
        # The message is the role's: SenderId is the role session.
        out = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        self.assertEqual(out.get("Messages", []), [])

    def test_retries_on_the_server_clock_then_failure_record(self):
        self.create("fail", code=py_zip(FAIL))
        url, dest = self.queue("failed")
        self.lam.put_function_event_invoke_config(FunctionName="fail",
                                                  DestinationConfig={"OnFailure": {"Destination": dest}})
        rid = self.invoke_event("fail", {"order": 1})
        self.wait_starts("fail", rid, 1)
        self.assert_empty(url)
        time.sleep(0.5)
        self.assertEqual(self.starts("fail", rid), 1, "the retry waits a minute of server time")
        # Real seconds pass too while the test runs: the steps leave room.
        self.kyoka.advance(45)
        time.sleep(0.5)
        self.assertEqual(self.starts("fail", rid), 1)
        self.kyoka.advance(16)
        self.wait_starts("fail", rid, 2)
        time.sleep(0.3)
        self.kyoka.advance(100)
        time.sleep(0.5)
        self.assertEqual(self.starts("fail", rid), 2, "the third attempt waits two minutes")
        self.kyoka.advance(21)
        self.wait_starts("fail", rid, 3)
        [m] = self.receive(url)
        rec = json.loads(m["Body"])
        self.assertEqual(rec["requestContext"]["condition"], "RetriesExhausted")
        self.assertEqual(rec["requestContext"]["approximateInvokeCount"], 3)
        self.assertEqual(rec["requestContext"]["requestId"], rid)
        self.assertEqual(rec["responseContext"]["functionError"], "Unhandled")
        self.assertEqual(rec["responsePayload"]["errorType"], "ValueError")
        self.assertEqual(rec["responsePayload"]["errorMessage"], "bad order 1")
        self.kyoka.advance(600)
        time.sleep(0.3)
        self.assertEqual(self.starts("fail", rid), 3, "no fourth attempt")

    def test_zero_retries(self):
        self.create("fail", code=py_zip(FAIL))
        url, dest = self.queue("failed")
        self.lam.put_function_event_invoke_config(FunctionName="fail", MaximumRetryAttempts=0,
                                                  DestinationConfig={"OnFailure": {"Destination": dest}})
        rid = self.invoke_event("fail", {"order": 2})
        [m] = self.receive(url)
        rec = json.loads(m["Body"])
        self.assertEqual(rec["requestContext"]["approximateInvokeCount"], 1)
        self.assertEqual(rec["requestContext"]["condition"], "RetriesExhausted")
        self.assertEqual(self.starts("fail", rid), 1)

    def test_event_age_exceeded(self):
        self.create("fail", code=py_zip(FAIL))
        url, dest = self.queue("failed")
        self.lam.put_function_event_invoke_config(FunctionName="fail", MaximumEventAgeInSeconds=60,
                                                  DestinationConfig={"OnFailure": {"Destination": dest}})
        rid = self.invoke_event("fail", {"order": 3})
        self.wait_starts("fail", rid, 1)
        self.kyoka.advance(61)  # the retry is due, and the event is older than 60 s
        [m] = self.receive(url)
        rec = json.loads(m["Body"])
        self.assertEqual(rec["requestContext"]["condition"], "EventAgeExceeded")
        self.assertEqual(rec["requestPayload"], {"order": 3})
        self.assertEqual(self.starts("fail", rid), 1, "an expired event does not run again")

    def test_dead_letter_queue(self):
        url, dlq = self.queue("dlq")
        self.create("fail", code=py_zip(FAIL), DeadLetterConfig={"TargetArn": dlq})
        self.assertEqual(self.lam.get_function_configuration(FunctionName="fail")["DeadLetterConfig"],
                         {"TargetArn": dlq})
        self.lam.put_function_event_invoke_config(FunctionName="fail", MaximumRetryAttempts=0)
        rid = self.invoke_event("fail", {"order": 4})
        [m] = self.receive(url)
        self.assertEqual(json.loads(m["Body"]), {"order": 4}, "the DLQ gets the event as it was sent")
        attrs = m["MessageAttributes"]
        self.assertEqual(attrs["RequestID"], {"DataType": "String", "StringValue": rid})
        self.assertEqual(attrs["ErrorCode"], {"DataType": "Number", "StringValue": "200"})
        self.assertEqual(attrs["ErrorMessage"]["StringValue"], "bad order 4")

    def test_lambda_destination(self):
        self.create("printer", code=py_zip(PRINT))
        target = self.lam.get_function_configuration(FunctionName="printer")["FunctionArn"]
        self.create("f", code=py_zip(ECHO))
        self.lam.put_function_event_invoke_config(FunctionName="f",
                                                  DestinationConfig={"OnSuccess": {"Destination": target}})
        rid = self.invoke_event("f", {"order": 5})
        deadline = time.time() + 30
        records = []
        while time.time() < deadline and not records:
            try:
                out = self.logs.filter_log_events(logGroupName="/aws/lambda/printer", filterPattern="RECORD")
                records = [json.loads(e["message"].split("RECORD ", 1)[1]) for e in out["events"]]
            except self.logs.exceptions.ResourceNotFoundException:
                pass
            time.sleep(0.1)
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0]["requestContext"]["requestId"], rid)
        self.assertEqual(records[0]["responsePayload"], {"seen": {"order": 5}})

    def test_eventbridge_destination(self):
        events = self.kyoka.client("events")
        url, qarn = self.queue("from-bus")
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                                    "Action": "sqs:SendMessage", "Resource": qarn}]})})
        events.put_rule(Name="results", EventPattern=json.dumps({
            "source": ["lambda"], "detail-type": ["Lambda Function Invocation Result - Success"]}))
        events.put_targets(Rule="results", Targets=[{"Id": "q", "Arn": qarn}])
        self.create("f", code=py_zip(ECHO))
        bus = "arn:aws:events:%s:%s:event-bus/default" % (REGION, ACCOUNT)
        self.lam.put_function_event_invoke_config(FunctionName="f",
                                                  DestinationConfig={"OnSuccess": {"Destination": bus}})
        rid = self.invoke_event("f", {"order": 10})
        [m] = self.receive(url)
        ev = json.loads(m["Body"])
        self.assertEqual(ev["source"], "lambda")
        self.assertEqual(ev["detail-type"], "Lambda Function Invocation Result - Success")
        self.assertEqual(ev["detail"]["requestContext"]["requestId"], rid)
        self.assertEqual(ev["detail"]["responsePayload"], {"seen": {"order": 10}})
        self.assertIn(bus, ev["resources"])

    def test_record_lost_when_the_role_loses_permission(self):
        self.create("f", code=py_zip(ECHO))
        url, dest = self.queue("ok")
        self.lam.put_function_event_invoke_config(FunctionName="f",
                                                  DestinationConfig={"OnSuccess": {"Destination": dest}})
        self.iam.put_role_policy(RoleName=self.role_name, PolicyName="deny-sqs", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"}]}))
        rid = self.invoke_event("f", {"order": 6})
        self.wait_starts("f", rid, 1)
        self.assert_empty(url, wait=2)
        deadline = time.time() + 10
        while "could not deliver" not in self.kyoka.read_log() and time.time() < deadline:
            time.sleep(0.1)
        self.assertIn("could not deliver to %s" % dest, self.kyoka.read_log())

    def test_reserved_concurrency_zero_goes_straight_to_failure(self):
        self.create("f", code=py_zip(ECHO))
        url, dest = self.queue("failed")
        self.lam.put_function_event_invoke_config(FunctionName="f",
                                                  DestinationConfig={"OnFailure": {"Destination": dest}})
        self.lam.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=0)
        rid = self.invoke_event("f", {"order": 8})
        [m] = self.receive(url)
        self.assertEqual(json.loads(m["Body"])["requestContext"]["requestId"], rid)
        self.assertEqual(self.starts("f", rid), 0)

    def test_events_wait_for_concurrency(self):
        slow = """\
import time
def handler(event, context):
    time.sleep(0.2)
    return event["n"]
"""
        self.create("slow", code=py_zip(slow))
        self.lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=1)
        url, dest = self.queue("ok")
        self.lam.put_function_event_invoke_config(FunctionName="slow",
                                                  DestinationConfig={"OnSuccess": {"Destination": dest}})
        for n in range(5):
            self.invoke_event("slow", {"n": n})
        got = self.receive(url, n=5, timeout=60)
        self.assertEqual(sorted(json.loads(m["Body"])["responsePayload"] for m in got), [0, 1, 2, 3, 4])

    def test_aws_cli_event_invoke(self):
        self.create("f", code=py_zip(ECHO))
        url, dest = self.queue("ok")
        r = self.kyoka.aws_cli("lambda", "put-function-event-invoke-config", "--function-name", "f",
                               "--destination-config", json.dumps({"OnSuccess": {"Destination": dest}}))
        self.assertEqual(r.returncode, 0, r.stderr)
        out_path = os.path.join(self.kyoka.data_dir, "out.json")
        r = self.kyoka.aws_cli("lambda", "invoke", "--function-name", "f", "--invocation-type", "Event",
                               "--payload", '{"cli": true}', out_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["StatusCode"], 202)
        [m] = self.receive(url)
        self.assertEqual(json.loads(m["Body"])["requestPayload"], {"cli": True})

    def test_payload_limits_and_bad_json(self):
        self.create("f", code=py_zip(ECHO))
        with self.assertRaises(self.lam.exceptions.InvalidRequestContentException):
            self.lam.invoke(FunctionName="f", InvocationType="Event", Payload=b"{not json")
        with self.assertRaises(self.lam.exceptions.ClientError) as e:
            self.lam.invoke(FunctionName="f", InvocationType="Event", Payload=b'"' + b"x" * (1024 * 1024) + b'"')
        self.assertIn("RequestEntityTooLargeException", str(e.exception))
        with self.assertRaises(self.lam.exceptions.ResourceNotFoundException):
            self.lam.invoke(FunctionName="nope", InvocationType="Event", Payload=b"{}")


class TestAsyncDurability(AsyncCase):
    """Events accepted with 202 survive kill -9 and all run after restart."""
    ephemeral = False

    def test_kill9_with_events_queued(self):
        slow = """\
import time
def handler(event, context):
    time.sleep(0.3)
    return event["n"]
"""
        self.create("slow", code=py_zip(slow))
        self.lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=1)
        url, dest = self.queue("ok")
        self.lam.put_function_event_invoke_config(FunctionName="slow",
                                                  DestinationConfig={"OnSuccess": {"Destination": dest}})
        rids = [self.invoke_event("slow", {"n": n}) for n in range(12)]
        self.kyoka.kill9()
        self.kyoka.start()
        self.sqs = self.kyoka.client("sqs")
        got = self.receive(url, n=12, timeout=90)
        seen = {json.loads(m["Body"])["requestContext"]["requestId"] for m in got}
        # At least once: every accepted event ran (some twice, if they were
        # running at the kill).
        self.assertEqual(seen & set(rids), set(rids))

    def test_retry_delay_survives_restart(self):
        self.create("fail", code=py_zip(FAIL))
        url, dest = self.queue("failed")
        self.lam.put_function_event_invoke_config(FunctionName="fail", MaximumRetryAttempts=1,
                                                  DestinationConfig={"OnFailure": {"Destination": dest}})
        rid = self.invoke_event("fail", {"order": 9})
        self.wait_starts("fail", rid, 1)
        time.sleep(0.3)  # the retry's row update commits with the next batch
        self.kyoka.kill9()
        self.kyoka.start()
        self.sqs = self.kyoka.client("sqs")
        self.logs = self.kyoka.client("logs")
        self.assert_empty(url)
        self.kyoka.advance(61)
        [m] = self.receive(url)
        rec = json.loads(m["Body"])
        self.assertEqual(rec["requestContext"]["requestId"], rid)
        self.assertEqual(rec["requestContext"]["approximateInvokeCount"], 2)


if __name__ == "__main__":
    harness.main()
