"""Function logs in CloudWatch Logs, written under the execution role.

As on AWS (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html):
each environment writes its stream YYYY/MM/DD/[$LATEST]<id> in /aws/lambda/NAME
(or LoggingConfig.LogGroup), one event per line it prints, framed by START,
END and REPORT; a role without logs:CreateLogGroup / CreateLogStream /
PutLogEvents (no AWSLambdaBasicExecutionRole) loses its logs, and the
decision log says why.
"""
import json
import re
import time
import unittest
import urllib.request

from lambdatest import LambdaTestCase, py_zip
from harness import main

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

PY_LOGS = """\
import logging
def handler(event, context):
    print("hello", event["n"])
    logging.getLogger().warning("two\\nlines")
    if event.get("fail"):
        raise ValueError("boom")
    return "ok"
"""


class FunctionLogs(LambdaTestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.kyoka.client("logs")

    def with_basic_role(self):
        arn = self.make_role("basic", policy=None)
        self.iam.attach_role_policy(RoleName="basic", PolicyArn=BASIC)
        return arn

    def events(self, group, want, timeout=10):
        """Every event of the group's streams once at least `want` arrived."""
        deadline = time.time() + timeout
        while True:
            out = []
            try:
                for s in self.logs.describe_log_streams(logGroupName=group)["logStreams"]:
                    out += [(s["logStreamName"], e["message"]) for e in self.logs.get_log_events(
                        logGroupName=group, logStreamName=s["logStreamName"], startFromHead=True)["events"]]
            except self.logs.exceptions.ResourceNotFoundException:
                pass
            if len(out) >= want or time.time() > deadline:
                return out
            time.sleep(0.05)

    def test_output_reaches_the_functions_group_under_the_basic_execution_role(self):
        self.create("talks", code=py_zip(PY_LOGS), Role=self.with_basic_role())
        out, _ = self.invoke("talks", {"n": 1})
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        got = self.events("/aws/lambda/talks", 5)
        streams = {s for s, _ in got}
        self.assertEqual(len(streams), 1)
        self.assertRegex(streams.pop(), r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
        messages = [m for _, m in got]
        self.assertEqual(messages[0], "START RequestId: %s Version: $LATEST" % rid)
        self.assertEqual(messages[1], "hello 1")
        # A logging record with a newline stays one event, as AWS's runtime
        # writes it, with its newline back.
        self.assertRegex(messages[2], r"^\[WARNING\]\t\S+Z\t%s\ttwo\nlines$" % rid)
        self.assertEqual(messages[3], "END RequestId: %s" % rid)
        self.assertRegex(messages[4], r"^REPORT RequestId: %s\tDuration: [0-9.]+ ms\tBilled Duration: \d+ ms\t"
                                      r"Memory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: [0-9.]+ ms\t$" % rid)
        # The next invoke of the same environment: no Init Duration again.
        self.invoke("talks", {"n": 2})
        report = [m for _, m in self.events("/aws/lambda/talks", 10) if m.startswith("REPORT")]
        self.assertEqual(len(report), 2)
        self.assertNotIn("Init Duration", report[1])

    def test_a_role_without_logs_permissions_loses_its_logs_and_the_decision_log_says_why(self):
        # A role that may do nothing at all: no AWSLambdaBasicExecutionRole.
        self.create("mute", code=py_zip(PY_LOGS), Role=self.make_role("bare", policy=None))
        out, body = self.invoke("mute", {"n": 1})
        self.assertEqual(body, "ok")
        time.sleep(0.5)
        groups = [g["logGroupName"] for g in self.logs.describe_log_groups()["logGroups"]]
        self.assertNotIn("/aws/lambda/mute", groups)
        status, recent = self.kyoka.admin("GET", "/_kyoka/iam/decisions?limit=50")
        self.assertEqual(status, 200)
        denials = [d for d in recent["decisions"] if d.get("action") == "logs:CreateLogGroup"]
        self.assertTrue(denials, recent)
        self.assertIn("assumed-role/bare/mute", json.dumps(denials[0]))

    def test_logging_config_log_group_is_where_logs_go(self):
        role = self.with_basic_role()
        self.create("custom", code=py_zip(PY_LOGS), Role=role)
        # Debian's botocore predates LoggingConfig: the member is added to the
        # request body just before it is signed.
        def add_logging_config(request, **kw):
            body = json.loads(request.body or b"{}")
            body["LoggingConfig"] = {"LogGroup": "/team/custom"}
            request.data = json.dumps(body).encode()
            request.headers["Content-Length"] = str(len(request.data))
        self.lam.meta.events.register("before-sign.lambda.UpdateFunctionConfiguration", add_logging_config)
        self.lam.update_function_configuration(FunctionName="custom", Description="moved")
        self.invoke("custom", {"n": 3})
        messages = [m for _, m in self.events("/team/custom", 5)]
        self.assertIn("hello 3", messages)

    def test_a_failed_invoke_logs_its_error_and_a_timeout_its_message(self):
        role = self.with_basic_role()
        self.create("fails", code=py_zip(PY_LOGS), Role=role)
        self.invoke("fails", {"n": 1, "fail": True})
        messages = [m for _, m in self.events("/aws/lambda/fails", 5)]
        self.assertTrue(any("ValueError" in m and "boom" in m for m in messages), messages)
        self.create("slow", code=py_zip("import time\ndef handler(e, c):\n    time.sleep(3)\n"), Role=role,
                    Timeout=1)
        out, _ = self.invoke("slow", {})
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        messages = [m for _, m in self.events("/aws/lambda/slow", 3)]
        self.assertIn("RequestId: %s Error: Task timed out after 1.00 seconds" % rid, messages)


if __name__ == "__main__":
    main()
