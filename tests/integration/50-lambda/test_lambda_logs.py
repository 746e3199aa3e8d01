"""Function logs in CloudWatch Logs, written under the execution role.

As on AWS (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html):
each environment writes its stream YYYY/MM/DD/[$LATEST]<id> in /aws/lambda/NAME
(or LoggingConfig.LogGroup), one event per line it prints, framed by START,
END and REPORT; a role without logs:CreateLogGroup / CreateLogStream /
PutLogEvents (no AWSLambdaBasicExecutionRole) loses its logs, and the
decision log says why.

LoggingConfig (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html):
with LogFormat JSON the system lines are Telemetry API records
({"time","type":"platform.report","record":{...}}) filtered by
SystemLogLevel, and the runtimes' own logging writes JSON records filtered by
ApplicationLogLevel; print() output stays as printed.
"""
import base64
import json
import re
import time
import unittest
import urllib.request

from lambdatest import LambdaTestCase, node_zip, py_zip
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


ISO_MS = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"

PY_LEVELS = """\
import logging
def handler(event, context):
    logging.getLogger("app").debug("dbg")
    logging.getLogger("app").info("inf")
    logging.getLogger("app").warning("wrn")
    print("printed")
    if event.get("fail"):
        raise ValueError("boom")
    if event.get("sleep"):
        import time
        time.sleep(event["sleep"])
    return "ok"
"""

NODE_LEVELS = """\
exports.handler = async (event) => {
  console.trace('trc');
  console.debug('dbg');
  console.log('plain %s', 'log');
  console.info('inf');
  console.warn('wrn');
  console.error('err');
  return 'ok';
};
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

    def create_logging(self, name, logging_config, **kw):
        """create_function with LoggingConfig, which Debian's botocore
        predates: the member goes into the body just before signing."""
        def add(request, **_):
            body = json.loads(request.body or b"{}")
            if body.get("FunctionName") == name:
                body["LoggingConfig"] = logging_config
                request.data = json.dumps(body).encode()
                request.headers["Content-Length"] = str(len(request.data))
        self.lam.meta.events.register("before-sign.lambda.CreateFunction", add)
        try:
            return self.create(name, **kw)
        finally:
            self.lam.meta.events.unregister("before-sign.lambda.CreateFunction", add)

    def records(self, group, want, timeout=10):
        """(system records parsed, every message) once `want` events arrived."""
        messages = [m for _, m in self.events(group, want, timeout)]
        system = []
        for m in messages:
            if m.startswith('{"time"'):
                system.append(json.loads(m))
        return system, messages

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


    # ---- LogFormat JSON: system records ----

    def test_json_format_writes_start_and_report_records_with_their_fields(self):
        self.create_logging("jsonsys", {"LogFormat": "JSON"}, code=py_zip(PY_LEVELS), Role=self.with_basic_role())
        cfg = self.lam.get_function_configuration(FunctionName="jsonsys")
        out, _ = self.invoke("jsonsys", {}, LogType="Tail")
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        system, messages = self.records("/aws/lambda/jsonsys", 5)
        # At INFO: platform.start and platform.report; the DEBUG ones
        # (initStart, initRuntimeDone, initReport, runtimeDone) are not written.
        self.assertEqual([r["type"] for r in system], ["platform.start", "platform.report"], messages)
        self.assertFalse([m for m in messages if m.startswith(("START", "END", "REPORT"))], messages)
        start, report = system
        self.assertEqual(list(start), ["time", "type", "record"])
        self.assertRegex(start["time"], ISO_MS)
        self.assertEqual(start["record"], {"requestId": rid, "functionArn": cfg["FunctionArn"], "version": "$LATEST"})
        self.assertRegex(report["time"], ISO_MS)
        self.assertEqual(report["record"]["requestId"], rid)
        self.assertEqual(report["record"]["status"], "success")
        metrics = report["record"]["metrics"]
        self.assertEqual(sorted(metrics), ["billedDurationMs", "durationMs", "initDurationMs", "maxMemoryUsedMB",
                                           "memorySizeMB"])
        self.assertEqual(metrics["memorySizeMB"], 128)
        self.assertIsInstance(metrics["billedDurationMs"], int)
        self.assertGreaterEqual(metrics["billedDurationMs"], metrics["durationMs"])
        self.assertGreater(metrics["initDurationMs"], 0)
        # The tail carries the same lines as the stream.
        tail = base64.b64decode(out["LogResult"]).decode().splitlines()
        self.assertEqual(json.loads(tail[0])["type"], "platform.start")
        self.assertEqual(json.loads(tail[0])["record"], start["record"])
        self.assertEqual(json.loads(tail[-1])["type"], "platform.report")
        self.assertIn("printed", tail)
        # A warm invoke: no initDurationMs; the records are found by a JSON
        # filter pattern as on CloudWatch Logs.
        self.invoke("jsonsys", {})
        self.events("/aws/lambda/jsonsys", 10)
        found = self.logs.filter_log_events(logGroupName="/aws/lambda/jsonsys",
                                            filterPattern='{ $.type = "platform.report" }')["events"]
        self.assertEqual(len(found), 2, found)
        self.assertNotIn("initDurationMs", json.loads(found[1]["message"])["record"]["metrics"])

    def test_json_format_failed_and_timed_out_invokes_report_their_status(self):
        role = self.with_basic_role()
        self.create_logging("jsonfail", {"LogFormat": "JSON"}, code=py_zip(PY_LEVELS), Role=role)
        self.invoke("jsonfail", {"fail": True})
        system, messages = self.records("/aws/lambda/jsonfail", 5)
        # Not a success: runtimeDone is WARN then, so it is written at INFO.
        self.assertEqual([r["type"] for r in system], ["platform.start", "platform.runtimeDone", "platform.report"],
                         messages)
        self.assertEqual(system[1]["record"]["status"], "error")
        self.assertEqual(system[1]["record"]["errorType"], "ValueError")
        self.assertEqual((system[2]["record"]["status"], system[2]["record"]["errorType"]), ("error", "ValueError"))
        self.create_logging("jsonslow", {"LogFormat": "JSON"}, code=py_zip(PY_LEVELS), Role=role, Timeout=1)
        out, body = self.invoke("jsonslow", {"sleep": 3})
        self.assertEqual(body["errorType"], "Sandbox.Timedout")
        system, messages = self.records("/aws/lambda/jsonslow", 5)
        self.assertEqual([r["type"] for r in system], ["platform.start", "platform.runtimeDone", "platform.report"],
                         messages)
        report = system[2]["record"]
        self.assertEqual(report["status"], "timeout")
        self.assertGreaterEqual(report["metrics"]["durationMs"], 1000)
        # The Text format's "Task timed out" line is the records' status here.
        self.assertFalse([m for m in messages if "Task timed out" in m], messages)

    def test_json_format_init_error_is_reported_as_init_records(self):
        self.create_logging("jsoninit", {"LogFormat": "JSON"}, code=py_zip("import nosuchmodule\n"),
                            Role=self.with_basic_role())
        _, body = self.invoke("jsoninit", {})
        self.assertEqual(body["errorType"], "Runtime.ImportModuleError")
        system, messages = self.records("/aws/lambda/jsoninit", 3)
        by_type = {r["type"]: r["record"] for r in system}
        self.assertEqual(sorted(by_type), ["platform.initReport", "platform.initRuntimeDone"], messages)
        for rec in by_type.values():
            self.assertEqual((rec["phase"], rec["initializationType"], rec["status"], rec["errorType"]),
                             ("init", "on-demand", "error", "Runtime.ImportModuleError"))
        self.assertGreater(by_type["platform.initReport"]["metrics"]["durationMs"], 0)

    def test_system_log_level_filters_platform_records(self):
        role = self.with_basic_role()
        self.create_logging("sysdebug", {"LogFormat": "JSON", "SystemLogLevel": "DEBUG"}, code=py_zip(PY_LEVELS),
                            Role=role)
        self.invoke("sysdebug", {})
        system, messages = self.records("/aws/lambda/sysdebug", 8)
        self.assertEqual([r["type"] for r in system],
                         ["platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.start",
                          "platform.runtimeDone", "platform.report"], messages)
        self.assertEqual(system[4]["record"]["status"], "success")
        self.assertEqual(system[4]["record"]["metrics"]["producedBytes"], len(b'"ok"'))
        # WARN: a success writes no system record at all, a failure does.
        self.create_logging("syswarn", {"LogFormat": "JSON", "SystemLogLevel": "WARN"}, code=py_zip(PY_LEVELS),
                            Role=role)
        self.invoke("syswarn", {})
        self.invoke("syswarn", {"fail": True})
        system, messages = self.records("/aws/lambda/syswarn", 6)
        self.assertEqual([(r["type"], r["record"]["status"]) for r in system],
                         [("platform.runtimeDone", "error"), ("platform.report", "error")], messages)

    # ---- application log levels ----

    def test_application_log_level_filters_python_logging_and_keeps_print(self):
        role = self.with_basic_role()
        self.create_logging("pywarn", {"LogFormat": "JSON", "ApplicationLogLevel": "WARN"}, code=py_zip(PY_LEVELS),
                            Role=role)
        out, _ = self.invoke("pywarn", {})
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        _, messages = self.records("/aws/lambda/pywarn", 4)
        app = [m for m in messages if not m.startswith('{"time"')]
        self.assertEqual(len(app), 2, messages)
        record = json.loads(app[0])
        self.assertEqual(list(record), ["timestamp", "level", "message", "logger", "requestId"])
        self.assertRegex(record.pop("timestamp"), ISO_MS)
        self.assertEqual(record, {"level": "WARNING", "message": "wrn", "logger": "app", "requestId": rid})
        self.assertEqual(app[1], "printed")
        # DEBUG lets the lower ones through.
        self.create_logging("pydebug", {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"}, code=py_zip(PY_LEVELS),
                            Role=role)
        self.invoke("pydebug", {})
        _, messages = self.records("/aws/lambda/pydebug", 6)
        levels = [json.loads(m)["level"] for m in messages if m.startswith('{"timestamp"')]
        self.assertEqual(levels, ["DEBUG", "INFO", "WARNING"], messages)

    def test_application_log_level_filters_node_console_methods(self):
        role = self.with_basic_role()
        self.create_logging("nodedebug", {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"},
                            code=node_zip(NODE_LEVELS), runtime="nodejs20.x", Role=role)
        out, _ = self.invoke("nodedebug", {})
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        _, messages = self.records("/aws/lambda/nodedebug", 7)
        app = [json.loads(m) for m in messages if not m.startswith('{"time"')]
        self.assertEqual([(r["level"], r["message"]) for r in app],
                         [("DEBUG", "dbg"), ("INFO", "plain log"), ("INFO", "inf"), ("WARN", "wrn"),
                          ("ERROR", "err")], messages)
        self.assertEqual(list(app[0]), ["timestamp", "level", "requestId", "message"])
        self.assertRegex(app[0]["timestamp"], ISO_MS)
        self.assertEqual({r["requestId"] for r in app}, {rid})
        self.create_logging("nodeerror", {"LogFormat": "JSON", "ApplicationLogLevel": "ERROR"},
                            code=node_zip(NODE_LEVELS), runtime="nodejs20.x", Role=role)
        self.invoke("nodeerror", {})
        _, messages = self.records("/aws/lambda/nodeerror", 3)
        app = [json.loads(m) for m in messages if not m.startswith('{"time"')]
        self.assertEqual([(r["level"], r["message"]) for r in app], [("ERROR", "err")], messages)

    def test_text_format_keeps_the_runtimes_text_lines(self):
        role = self.with_basic_role()
        self.create("nodetext", code=node_zip(NODE_LEVELS), runtime="nodejs20.x", Role=role)
        out, _ = self.invoke("nodetext", {})
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        messages = [m for _, m in self.events("/aws/lambda/nodetext", 9)]
        self.assertEqual(messages[0], "START RequestId: %s Version: $LATEST" % rid)
        # Text has no levels to filter: every console method is written.
        self.assertEqual(len(messages), 9, messages)
        for m, (level, text) in zip(messages[1:7], [("TRACE", "trc"), ("DEBUG", "dbg"), ("INFO", "plain log"),
                                                    ("INFO", "inf"), ("WARN", "wrn"), ("ERROR", "err")]):
            self.assertRegex(m, r"^\d{4}-\d\d-\d\dT[\d:.]+Z\t%s\t%s\t%s" % (rid, level, text))
        self.assertEqual(messages[7], "END RequestId: %s" % rid)
        self.assertTrue(messages[8].startswith("REPORT RequestId: %s\tDuration: " % rid), messages[8])
        self.create("pytext", code=py_zip(PY_LEVELS), Role=role)
        out, _ = self.invoke("pytext", {})
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        messages = [m for _, m in self.events("/aws/lambda/pytext", 6)]
        self.assertRegex(messages[1], r"^\[WARNING\]\t\S+Z\t%s\twrn$" % rid)
        self.assertEqual(messages[2], "printed")


if __name__ == "__main__":
    main()
