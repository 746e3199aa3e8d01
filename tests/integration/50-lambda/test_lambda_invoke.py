"""Lambda invocation through boto3: every runtime kyoka offers, what a
function sees (event, context, environment, its role's credentials), how
failures come back (handler errors, import errors, timeouts, exits, out of
memory, payload limits), invocation types, concurrency and throttling,
weighted aliases, warm reuse, the sandbox, and survival of a kill -9.

Function code is written inline and zipped in memory. Time-driven rules
move the server clock; the only real sleeps are function timeouts
(Timeout=1) and the few seconds a slow function must be busy.

Run by hand with
    KYOKA_BIN=build-it/kyoka PYTHONPATH=tests/integration \
        python3 tests/integration/50-lambda/test_lambda_invoke.py -v
"""
import base64
import errno
import json
import math
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import botocore.exceptions  # noqa: E402

import harness  # noqa: E402
from harness import ACCOUNT, REGION  # noqa: E402
from lambdatest import (LambdaTestCase, PY_ECHO, SH_ECHO_BOOTSTRAP, bootstrap_zip, fn_arn, http_get,  # noqa: E402
                        make_zip, node_zip, py_zip)

ClientError = botocore.exceptions.ClientError
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

# A python function that tells which environment ran it: a value made once
# per process, and a count of the invocations that process served.
PY_WHOAMI = """\
import os, uuid
ENV_ID = uuid.uuid4().hex
COUNT = 0
def handler(event, context):
    global COUNT
    COUNT += 1
    return {"env": ENV_ID, "count": COUNT, "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"]}
"""

PY_SLEEP = """\
import time, uuid
ENV_ID = uuid.uuid4().hex
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"env": ENV_ID}
"""


class Python(LambdaTestCase):
    def test_event_context_and_request_id(self):
        self.create("ctx", code=py_zip("""\
            import json
            def handler(event, context):
                print("got", json.dumps(event))
                return {"event": event, "function_name": context.function_name,
                        "function_version": context.function_version,
                        "memory_limit_in_mb": context.memory_limit_in_mb,
                        "invoked_function_arn": context.invoked_function_arn,
                        "aws_request_id": context.aws_request_id,
                        "log_group_name": context.log_group_name, "log_stream_name": context.log_stream_name,
                        "remaining": context.get_remaining_time_in_millis()}
            """), MemorySize=256, Timeout=5)
        out, body = self.invoke("ctx", {"hello": ["world", 1]})
        self.assertEqual(out["StatusCode"], 200)
        self.assertNotIn("FunctionError", out)
        self.assertEqual(out["ExecutedVersion"], "$LATEST")
        headers = out["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(headers["x-amz-executed-version"], "$LATEST")
        self.assertEqual(body["event"], {"hello": ["world", 1]})
        self.assertEqual(body["function_name"], "ctx")
        self.assertEqual(body["function_version"], "$LATEST")
        self.assertEqual(str(body["memory_limit_in_mb"]), "256")
        self.assertEqual(body["invoked_function_arn"], fn_arn("ctx"))
        self.assertRegex(body["aws_request_id"], UUID_RE)
        # The request id of the Invoke call is the function's request id.
        self.assertEqual(body["aws_request_id"], headers["x-amzn-requestid"])
        self.assertEqual(body["log_group_name"], "/aws/lambda/ctx")
        self.assertRegex(body["log_stream_name"], r"^\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}$")
        self.assertGreater(body["remaining"], 0)
        self.assertLessEqual(body["remaining"], 5000)
        # Invoked through a qualified ARN, the context names that ARN.
        self.lam.publish_version(FunctionName="ctx")
        self.lam.create_alias(FunctionName="ctx", Name="live", FunctionVersion="1")
        out, body = self.invoke(fn_arn("ctx", "live"))
        self.assertEqual(body["invoked_function_arn"], fn_arn("ctx", "live"))
        self.assertEqual(body["function_version"], "1")
        self.assertEqual(out["ExecutedVersion"], "1")

    def test_context_memory_limit_is_a_string_as_in_the_runtime_interface_client(self):
        # AWS's Python runtime (awslambdaric's LambdaContext) reads it from
        # AWS_LAMBDA_FUNCTION_MEMORY_SIZE, so it is a str.
        self.create("memtype", code=py_zip("def handler(e, c):\n    return type(c.memory_limit_in_mb).__name__\n"))
        self.assertEqual(self.invoke("memtype")[1], "str")

    def test_client_context_reaches_the_handler(self):
        self.create("cc", code=py_zip("""\
            def handler(event, context):
                cc = context.client_context
                return {"custom": cc.custom, "env": cc.env, "installation_id": cc.client.installation_id}
            """))
        doc = {"custom": {"tenant": "t-1"}, "env": {"platform": "test"}, "client": {"installation_id": "inst-9"}}
        body = self.invoke("cc", ClientContext=base64.b64encode(json.dumps(doc).encode()).decode())[1]
        self.assertEqual(body, {"custom": {"tenant": "t-1"}, "env": {"platform": "test"}, "installation_id": "inst-9"})

    def test_boto3_inside_runs_as_the_execution_role(self):
        self.create("whoami", code=py_zip("""\
            import boto3
            def handler(event, context):
                return boto3.client("sts").get_caller_identity()
            """), Timeout=10)
        body = self.invoke("whoami")[1]
        self.assertEqual(body["Arn"], "arn:aws:sts::%s:assumed-role/%s/whoami" % (ACCOUNT, self.role_name))
        self.assertEqual(body["Account"], ACCOUNT)

    def test_environment_variables(self):
        self.create("env", code=py_zip("""\
            import os
            def handler(event, context):
                return {k: os.environ.get(k) for k in event}
            """), Environment={"Variables": {"MY_SETTING": "on", "OTHER_ONE": "x=y,z"}})
        keys = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                "AWS_REGION", "AWS_DEFAULT_REGION", "LAMBDA_TASK_ROOT", "_HANDLER", "AWS_EXECUTION_ENV",
                "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN", "TZ", "MY_SETTING",
                "OTHER_ONE"]
        body = self.invoke("env", keys)[1]
        self.assertEqual(body["AWS_LAMBDA_FUNCTION_NAME"], "env")
        self.assertEqual(body["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST")
        self.assertEqual(body["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128")
        self.assertEqual(body["AWS_REGION"], REGION)
        self.assertEqual(body["AWS_DEFAULT_REGION"], REGION)
        self.assertEqual(body["LAMBDA_TASK_ROOT"], "/var/task")
        self.assertEqual(body["_HANDLER"], "index.handler")
        self.assertEqual(body["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.12")
        self.assertEqual(body["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/env")
        self.assertTrue(body["AWS_ACCESS_KEY_ID"].startswith("ASIA"), body["AWS_ACCESS_KEY_ID"])
        self.assertTrue(body["AWS_SESSION_TOKEN"])
        self.assertEqual(body["TZ"], ":UTC")
        self.assertEqual(body["MY_SETTING"], "on")
        self.assertEqual(body["OTHER_ONE"], "x=y,z")

    def test_handler_errors_come_back_as_unhandled_function_errors(self):
        self.create("raises", code=py_zip("""\
            def handler(event, context):
                raise ValueError("boom: " + event["why"])
            """))
        out, body = self.invoke("raises", {"why": "bad input"})
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(out["ResponseMetadata"]["HTTPHeaders"]["x-amz-function-error"], "Unhandled")
        self.assertEqual(body["errorType"], "ValueError")
        self.assertEqual(body["errorMessage"], "boom: bad input")
        self.assertIsInstance(body["stackTrace"], list)
        self.assertIn('File "/var/task/index.py", line 2, in handler', body["stackTrace"][0])
        # The environment survives a handled error: the next invoke is fine.
        self.lam.update_function_code(FunctionName="raises", ZipFile=py_zip(PY_ECHO))
        self.wait_active("raises")
        self.assertEqual(self.invoke("raises", {"ok": 1})[1]["event"], {"ok": 1})

    def test_import_syntax_and_handler_errors(self):
        self.create("imports", code=py_zip("import no_such_module\ndef handler(e, c):\n    return 1\n"))
        out, body = self.invoke("imports")
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(body["errorType"], "Runtime.ImportModuleError")
        self.assertEqual(body["errorMessage"], "Unable to import module 'index': No module named 'no_such_module'")
        self.create("nohandler", code=py_zip("def other(e, c):\n    return 1\n"), handler="index.missing")
        out, body = self.invoke("nohandler")
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(body["errorType"], "Runtime.HandlerNotFound")
        self.assertEqual(body["errorMessage"], "Handler 'missing' missing on module 'index'")
        self.create("nomodule", code=py_zip(PY_ECHO), handler="other.handler")
        body = self.invoke("nomodule")[1]
        self.assertEqual(body["errorType"], "Runtime.ImportModuleError")
        self.assertEqual(body["errorMessage"], "Unable to import module 'other': No module named 'other'")
        self.create("syntax", code=py_zip("def handler(e, c)\n    return 1\n"))
        body = self.invoke("syntax")[1]
        self.assertEqual(body["errorType"], "Runtime.UserCodeSyntaxError")
        self.assertTrue(body["errorMessage"].startswith("Syntax error in module 'index': "), body["errorMessage"])

    def test_log_tail_has_the_platform_lines_and_what_the_function_printed(self):
        self.create("tail", code=py_zip("""\
            def handler(event, context):
                print("line from the handler", event["n"])
                return "done"
            """))
        out, body = self.invoke("tail", {"n": 42}, LogType="Tail")
        self.assertEqual(body, "done")
        log = base64.b64decode(out["LogResult"]).decode()
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        lines = log.splitlines()
        # START opens the invocation (a cold start may put INIT lines first).
        start = lines.index("START RequestId: %s Version: $LATEST" % rid)
        printed = [i for i, l in enumerate(lines) if "line from the handler 42" in l]
        self.assertTrue(printed and printed[0] > start, log)
        self.assertIn("END RequestId: %s" % rid, lines[printed[0]:])
        report = [l for l in lines if l.startswith("REPORT RequestId: %s\t" % rid)]
        self.assertEqual(len(report), 1, log)
        self.assertIn("\tDuration: ", report[0])
        self.assertIn("\tBilled Duration: ", report[0])
        self.assertIn("\tMemory Size: 128 MB\t", report[0])
        self.assertIn("\tMax Memory Used: ", report[0])
        # Without LogType there is no log in the answer.
        out, _ = self.invoke("tail", {"n": 1})
        self.assertNotIn("LogResult", out)
        # The tail is the last 4 KB of the log.
        self.lam.update_function_code(FunctionName="tail", ZipFile=py_zip("""\
            def handler(event, context):
                for i in range(2000):
                    print("noise line %04d" % i)
                return "loud"
            """))
        self.wait_active("tail")
        out, _ = self.invoke("tail", LogType="Tail")
        log = base64.b64decode(out["LogResult"])
        self.assertLessEqual(len(log), 4096)
        self.assertIn(b"REPORT RequestId:", log)
        self.assertNotIn(b"noise line 0000", log)

    def test_response_over_6mb_is_a_function_error(self):
        # Lambda's answer when a function returns more than the
        # synchronous payload quota. Timeout is 3 s: 10 s is plenty.
        self.create("huge", code=py_zip("def handler(e, c):\n    return 'x' * (7 * 1024 * 1024)\n"),
                    MemorySize=512)
        out, body = self.invoke("huge", client=self.kyoka.client("lambda", read_timeout=10))
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(body["errorType"], "Function.ResponseSizeTooLarge")
        self.assertTrue(body["errorMessage"].startswith("Response payload size exceeded maximum allowed payload size"),
                        body["errorMessage"])


class Node(LambdaTestCase):
    def test_async_and_callback_handlers_and_context(self):
        self.create("nasync", runtime="nodejs20.x", code=make_node_async())
        out, body = self.invoke("nasync", {"a": [1, 2]})
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(body["event"], {"a": [1, 2]})
        self.assertEqual(body["functionName"], "nasync")
        self.assertEqual(body["memoryLimitInMB"], "128")
        self.assertEqual(body["invokedFunctionArn"], fn_arn("nasync"))
        self.assertEqual(body["awsRequestId"], out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])
        self.assertGreater(body["remaining"], 0)
        self.assertEqual(body["execEnv"], "AWS_Lambda_nodejs20.x")
        self.create("ncb", runtime="nodejs18.x", code=node_zip("""\
            exports.handler = (event, context, callback) => {
              setTimeout(() => callback(null, { viaCallback: true, got: event.x }), 10);
            };
            """))
        self.assertEqual(self.invoke("ncb", {"x": "y"})[1], {"viaCallback": True, "got": "y"})

    def test_errors(self):
        self.create("nthrow", runtime="nodejs22.x", code=node_zip("""\
            exports.handler = async (event) => { throw new TypeError('node says ' + event.why); };
            """))
        out, body = self.invoke("nthrow", {"why": "no"})
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(body["errorType"], "TypeError")
        self.assertEqual(body["errorMessage"], "node says no")
        self.assertEqual(body["trace"][0], "TypeError: node says no")
        self.create("ncberr", runtime="nodejs20.x", code=node_zip("""\
            exports.handler = (event, context, callback) => { callback(new Error('via callback')); };
            """))
        out, body = self.invoke("ncberr")
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(body["errorType"], "Error")
        self.assertEqual(body["errorMessage"], "via callback")
        self.create("nmissing", runtime="nodejs20.x", code=node_zip("exports.other = async () => 1;\n"),
                    handler="index.nothere")
        body = self.invoke("nmissing")[1]
        self.assertEqual(body["errorType"], "Runtime.HandlerNotFound")
        self.assertEqual(body["errorMessage"], "index.nothere is undefined or not exported")
        self.create("nimport", runtime="nodejs20.x", code=node_zip("require('no-such-package');\n"
                                                                    "exports.handler = async () => 1;\n"))
        body = self.invoke("nimport")[1]
        self.assertEqual(body["errorType"], "Runtime.ImportModuleError")
        self.assertTrue(body["errorMessage"].startswith("Error: Cannot find module 'no-such-package'"),
                        body["errorMessage"])

    def test_sdk_v3_inside_runs_as_the_execution_role_with_import_and_require(self):
        self.create("nesm", runtime="nodejs20.x", Timeout=10, code=node_zip("""\
            import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
            export const handler = async () => (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn;
            """, name="index.mjs"))
        self.create("ncjs", runtime="nodejs20.x", Timeout=10, code=node_zip("""\
            const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
            exports.handler = async () => (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn;
            """))
        for name in ("nesm", "ncjs"):
            out, body = self.invoke(name)
            self.assertNotIn("FunctionError", out, body)
            self.assertEqual(body, "arn:aws:sts::%s:assumed-role/%s/%s" % (ACCOUNT, self.role_name, name))


def make_node_async():
    return node_zip("""\
        export const handler = async (event, context) => ({
          event, functionName: context.functionName, memoryLimitInMB: context.memoryLimitInMB,
          invokedFunctionArn: context.invokedFunctionArn, awsRequestId: context.awsRequestId,
          remaining: context.getRemainingTimeInMillis(), execEnv: process.env.AWS_EXECUTION_ENV,
        });
        """, name="index.mjs")


class Runtimes(LambdaTestCase):
    def test_every_offered_runtime_runs(self):
        python = ["python3.9", "python3.10", "python3.11", "python3.12", "python3.13"]
        node = ["nodejs18.x", "nodejs20.x", "nodejs22.x"]
        provided = ["provided.al2", "provided.al2023"]
        py_code = py_zip("import os\ndef handler(e, c):\n    return os.environ.get('AWS_EXECUTION_ENV')\n")
        node_code = node_zip("exports.handler = async () => process.env.AWS_EXECUTION_ENV;\n")
        names = {}
        for rt in python + node + provided:
            name = "rt-" + rt.replace(".", "-")
            names[rt] = name
            if rt in python:
                self.create(name, runtime=rt, code=py_code, wait=False)
            elif rt in node:
                self.create(name, runtime=rt, code=node_code, wait=False)
            else:
                self.lam.create_function(FunctionName=name, Runtime=rt, Handler="x", Role=self.role_arn,
                                         Code={"ZipFile": bootstrap_zip(SH_ECHO_BOOTSTRAP)})
        for rt, name in names.items():
            self.wait_active(name)
            out, body = self.invoke(name, {"rt": rt})
            self.assertNotIn("FunctionError", out, (rt, body))
            if rt in provided:
                self.assertEqual(body["event"], {"rt": rt})
            else:
                self.assertEqual(body, "AWS_Lambda_" + rt)

    def test_provided_bootstrap_speaks_the_runtime_api(self):
        self.create_provided("custom")
        out, body = self.invoke("custom", {"deep": {"x": [1, 2, 3]}}, LogType="Tail")
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(body, {"version": "$LATEST", "event": {"deep": {"x": [1, 2, 3]}}})
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        log = base64.b64decode(out["LogResult"]).decode()
        self.assertIn("handled " + rid, log)
        # A bootstrap that reports an error through /error.
        self.create_provided("custom-err", script="""\
            #!/bin/sh
            API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation"
            while true; do
              HDRS=$(mktemp)
              curl -sS -D "$HDRS" -o /dev/null "$API/next"
              ID=$(grep -i '^lambda-runtime-aws-request-id:' "$HDRS" | tr -d '\\r' | cut -d' ' -f2)
              curl -sS -o /dev/null -X POST "$API/$ID/error" -H 'Lambda-Runtime-Function-Error-Type: Custom.Bad' \\
                -d '{"errorType":"Custom.Bad","errorMessage":"from the bootstrap"}'
            done
            """)
        out, body = self.invoke("custom-err")
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(body, {"errorType": "Custom.Bad", "errorMessage": "from the bootstrap"})


class Failures(LambdaTestCase):
    def test_timeout_ends_the_invocation_and_the_next_starts_fresh(self):
        self.create("slow", code=py_zip(PY_SLEEP), Timeout=1)
        first_env = self.invoke("slow")[1]["env"]
        start = time.time()
        out, body = self.invoke("slow", {"sleep": 3})
        elapsed = time.time() - start
        # Ended before its 3 s sleep could finish (not a speed bound: any
        # answer under 3 s means the environment was cut off at Timeout).
        self.assertLess(elapsed, 3.0)
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertIn("Task timed out after 1.00 seconds", body["errorMessage"])
        out, body = self.invoke("slow")
        self.assertNotIn("FunctionError", out, body)
        self.assertNotEqual(body["env"], first_env)

    def test_exit_is_a_runtime_exit_error_and_the_next_invoke_starts_fresh(self):
        self.create("quits", code=py_zip("""\
            import sys, uuid
            ENV_ID = uuid.uuid4().hex
            def handler(event, context):
                if event.get("exit"):
                    sys.exit(3)
                return ENV_ID
            """))
        first = self.invoke("quits")[1]
        out, body = self.invoke("quits", {"exit": True})
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(body, {"errorType": "Runtime.ExitError",
                                "errorMessage": "RequestId: %s Error: Runtime exited with error: exit status 3" % rid})
        out, body = self.invoke("quits")
        self.assertNotIn("FunctionError", out)
        self.assertNotEqual(body, first)

    def test_memory_limit_is_enforced(self):
        self.create("hungry", MemorySize=128, Timeout=10, code=py_zip("""\
            def handler(event, context):
                block = bytearray(event["mb"] * 1024 * 1024)
                for i in range(0, len(block), 4096):
                    block[i] = 1
                return len(block)
            """))
        out, body = self.invoke("hungry", {"mb": 16})
        self.assertEqual(body, 16 * 1024 * 1024)
        out, body = self.invoke("hungry", {"mb": 400})
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(body["errorType"], "Runtime.OutOfMemory")
        self.assertEqual(body["errorMessage"], "RequestId: %s Error: Runtime exited with error: signal: killed" % rid)
        self.assertEqual(self.invoke("hungry", {"mb": 1})[1], 1024 * 1024)

    def test_request_payload_over_6mb_is_refused(self):
        self.create("big", code=py_zip(PY_ECHO))
        payload = b'"' + b"x" * (6 * 1024 * 1024) + b'"'
        with self.assertRaises(ClientError) as ctx:
            self.lam.invoke(FunctionName="big", Payload=payload)
        self.assertClientError(ctx, "RequestEntityTooLargeException",
                               "Request must be smaller than 6291456 bytes for the InvokeFunction operation", 413)
        self.assertEqual(self.environments("big"), [])
        # Just under the limit goes through.
        ok = b'"' + b"x" * (6 * 1024 * 1024 - 200) + b'"'
        out = self.lam.invoke(FunctionName="big", Payload=ok)
        self.assertEqual(out["StatusCode"], 200)

    def test_asynchronous_payload_over_1mb_is_refused(self):
        # The asynchronous quota is 1 MB since AWS raised it from 256 KB.
        self.create("bigasync", code=py_zip(PY_ECHO))
        payload = b'"' + b"x" * (1024 * 1024) + b'"'
        with self.assertRaises(ClientError) as ctx:
            self.lam.invoke(FunctionName="bigasync", Payload=payload, InvocationType="Event")
        self.assertClientError(ctx, "RequestEntityTooLargeException", status=413)

    def test_payload_that_is_not_json_is_refused(self):
        self.create("notjson", code=py_zip(PY_ECHO))
        with self.assertRaises(ClientError) as ctx:
            self.lam.invoke(FunctionName="notjson", Payload=b"{not json")
        resp = self.assertClientError(ctx, "InvalidRequestContentException", status=400)
        self.assertTrue(resp["Error"]["Message"].startswith(
            "Could not parse request body into json: Could not parse payload into json:"), resp["Error"]["Message"])


class InvocationTypes(LambdaTestCase):
    def test_event_answers_202_and_the_function_runs(self):
        sqs = self.kyoka.client("sqs")
        url = sqs.create_queue(QueueName="side-effects")["QueueUrl"]
        self.create("async", Timeout=10, Environment={"Variables": {"QUEUE_URL": url}}, code=py_zip("""\
            import boto3, json, os
            def handler(event, context):
                boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"],
                                                 MessageBody=json.dumps({"event": event,
                                                                         "id": context.aws_request_id}))
                return "ignored"
            """))
        out = self.lam.invoke(FunctionName="async", InvocationType="Event", Payload=b'{"order": 7}')
        self.assertEqual(out["StatusCode"], 202)
        self.assertEqual(out["Payload"].read(), b"")
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=15).get("Messages", [])
        self.assertEqual(len(msgs), 1)
        self.assertEqual(json.loads(msgs[0]["Body"]), {"event": {"order": 7}, "id": rid})
        # An asynchronous payload may be up to 1 MB (raised from 256 KB).
        big = {"blob": "y" * (600 * 1024)}
        out = self.lam.invoke(FunctionName="async", InvocationType="Event", Payload=json.dumps(big).encode())
        self.assertEqual(out["StatusCode"], 202)
        msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=15).get("Messages", [])
        self.assertEqual(json.loads(msgs[0]["Body"])["event"], big)

    def test_async_errors_are_retried_twice_after_one_and_two_minutes(self):
        # Lambda retries an asynchronous invocation that fails twice, one
        # minute and then two minutes later
        # (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
        sqs = self.kyoka.client("sqs")
        url = sqs.create_queue(QueueName="attempts")["QueueUrl"]
        self.create("flaky", Timeout=10, Environment={"Variables": {"QUEUE_URL": url}}, code=py_zip("""\
            import boto3, os
            def handler(event, context):
                boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=context.aws_request_id)
                raise RuntimeError("always fails")
            """))
        rid = self.lam.invoke(FunctionName="flaky", InvocationType="Event",
                              Payload=b"{}")["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]

        def attempts(wait):
            got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait, MaxNumberOfMessages=10).get("Messages", [])
            for m in got:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return [m["Body"] for m in got]

        self.assertEqual(attempts(10), [rid])
        self.assertEqual(attempts(1), [])
        self.kyoka.advance(61)
        self.assertEqual(attempts(10), [rid])
        self.kyoka.advance(61)
        self.assertEqual(attempts(1), [])
        self.kyoka.advance(61)
        self.assertEqual(attempts(10), [rid])
        self.kyoka.advance(600)
        self.assertEqual(attempts(1), [])

    def test_dry_run_answers_204_and_runs_nothing(self):
        self.create("dry", code=py_zip(PY_ECHO))
        out = self.lam.invoke(FunctionName="dry", InvocationType="DryRun", Payload=b"{}")
        self.assertEqual(out["StatusCode"], 204)
        self.assertEqual(out["Payload"].read(), b"")
        self.assertEqual(self.environments("dry"), [])
        with self.assertRaises(ClientError) as ctx:
            self.lam.invoke(FunctionName="dry-missing", InvocationType="DryRun", Payload=b"{}")
        self.assertClientError(ctx, "ResourceNotFoundException", status=404)


class Concurrency(LambdaTestCase):
    def test_reserved_zero_throttles_every_invoke(self):
        self.create("zero")
        self.lam.put_function_concurrency(FunctionName="zero", ReservedConcurrentExecutions=0)
        with self.assertRaises(ClientError) as ctx:
            self.invoke("zero")
        resp = self.assertClientError(ctx, "TooManyRequestsException", "Rate Exceeded.", 429)
        self.assertEqual(resp["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded")
        self.assertEqual(self.environments("zero"), [])
        self.lam.delete_function_concurrency(FunctionName="zero")
        self.assertEqual(self.invoke("zero", {"now": "ok"})[1]["event"], {"now": "ok"})

    def test_reserved_one_throttles_the_second_concurrent_invoke(self):
        self.create("one", code=py_zip(PY_SLEEP), Timeout=10)
        self.lam.put_function_concurrency(FunctionName="one", ReservedConcurrentExecutions=1)
        self.invoke("one")  # warm: the slow call below is all invoke, no init
        results = {}

        def slow():
            results["slow"] = self.invoke("one", {"sleep": 2}, client=self.kyoka.client("lambda"))

        t = threading.Thread(target=slow)
        t.start()
        deadline = time.time() + 5
        while not [e for e in self.environments("one") if e["state"] == "busy"] and time.time() < deadline:
            time.sleep(0.02)
        with self.assertRaises(ClientError) as ctx:
            self.invoke("one")
        resp = self.assertClientError(ctx, "TooManyRequestsException", "Rate Exceeded.", 429)
        self.assertEqual(resp["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded")
        t.join()
        self.assertEqual(results["slow"][0]["StatusCode"], 200)
        self.assertEqual(len(self.environments("one")), 1)
        self.invoke("one")

    def test_unreserved_functions_run_concurrently_in_separate_environments(self):
        self.create("many", code=py_zip(PY_SLEEP), Timeout=10)
        results = []
        lock = threading.Lock()

        def call():
            out, body = self.invoke("many", {"sleep": 1}, client=self.kyoka.client("lambda"))
            with lock:
                results.append((out["StatusCode"], body["env"]))

        threads = [threading.Thread(target=call) for _ in range(3)]
        start = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Three 1 s sleeps one after another take 3 s or more.
        self.assertLess(time.time() - start, 3.0)
        self.assertEqual(sorted(r[0] for r in results), [200, 200, 200])
        self.assertEqual(len({r[1] for r in results}), 3)
        self.assertEqual(len(self.environments("many")), 3)


class AliasesAndReuse(LambdaTestCase):
    def test_weighted_alias_splits_invocations(self):
        self.create("split", code=py_zip(PY_WHOAMI))
        self.lam.publish_version(FunctionName="split")
        self.lam.update_function_configuration(FunctionName="split", Description="two")
        self.wait_active("split")
        self.lam.publish_version(FunctionName="split")
        self.lam.create_alias(FunctionName="split", Name="canary", FunctionVersion="1",
                              RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}})
        n, p = 1000, 0.3
        counts = {"1": 0, "2": 0}
        for _ in range(n):
            out, body = self.invoke("split", Qualifier="canary")
            executed = out["ExecutedVersion"]
            self.assertEqual(body["version"], executed)
            counts[executed] += 1
        sigma = math.sqrt(n * p * (1 - p))
        self.assertLess(abs(counts["2"] - n * p), 4 * sigma, counts)
        self.assertEqual(counts["1"] + counts["2"], n)

    def wait_idle(self, name):
        deadline = time.time() + 10
        while time.time() < deadline:
            envs = self.environments(name)
            if envs and all(e["state"] == "idle" for e in envs):
                return envs
            time.sleep(0.01)
        raise AssertionError("environments of %s never idle: %s" % (name, self.environments(name)))

    def test_warm_environment_is_reused(self):
        self.create("warm", code=py_zip(PY_WHOAMI))
        first = self.invoke("warm")[1]
        self.wait_idle("warm")
        second = self.invoke("warm")[1]
        self.assertEqual(second["env"], first["env"])
        self.assertEqual((first["count"], second["count"]), (1, 2))
        envs = self.environments("warm")
        self.assertEqual(len(envs), 1)
        self.assertEqual(envs[0]["version"], "$LATEST")
        self.assertFalse(envs[0]["provisioned"])
        # New code: a new environment.
        self.wait_idle("warm")
        self.lam.update_function_code(FunctionName="warm", ZipFile=py_zip(PY_WHOAMI + "\n# v2\n"))
        self.wait_active("warm")
        third = self.invoke("warm")[1]
        self.assertNotEqual(third["env"], first["env"])
        self.assertEqual(third["count"], 1)


    def test_back_to_back_invokes_of_one_caller_use_one_environment(self):
        # One caller invoking in sequence never has more than one request in
        # flight: one environment serves them all. Ten functions, five calls
        # each, so a race that loses half the time cannot pass by luck.
        for k in range(10):
            name = "seq-%d" % k
            self.create(name, code=py_zip(PY_WHOAMI))
            envs = {self.invoke(name)[1]["env"] for _ in range(5)}
            self.assertEqual(len(envs), 1, name)
            self.assertEqual(len(self.environments(name)), 1, name)


class Sandbox(LambdaTestCase):
    # Not ephemeral: the code then lives under the data directory, which
    # the functions must not see.
    ephemeral = False
    # Runs each {key: [operation, path]} of the event; answers {"ok": result}
    # or {"errno": n} per key.
    PROBE = """\
        import os
        def write(path):
            with open(path, "w") as f:
                f.write("x")
            return True
        def read(path):
            with open(path) as f:
                return f.read()
        def kill0(pid):
            os.kill(int(pid), 0)
            return True
        OPS = {"listdir": lambda p: sorted(os.listdir(p)), "write": write, "read": read, "kill0": kill0}
        def handler(event, context):
            out = {}
            for key, (op, path) in event.items():
                try:
                    out[key] = {"ok": OPS[op](path)}
                except OSError as e:
                    out[key] = {"errno": e.errno}
            return out
        """

    def test_filesystem_and_processes_are_private(self):
        data = self.kyoka.data_dir
        self.create("spy", code=py_zip(self.PROBE, extra={"mine.txt": "mine"}))
        self.create("victim", code=py_zip(PY_ECHO, extra={"secret.txt": "victim's"}))
        self.invoke("victim")
        victim_envs = self.environments("victim")
        code_dirs = []
        for root, dirs, files in os.walk(data):
            if "secret.txt" in files:
                code_dirs.append(root)
        self.assertTrue(code_dirs, "the victim's code is somewhere under the data directory")
        body = self.invoke("spy", {
            "data": ["listdir", data],
            "victim_code": ["read", os.path.join(code_dirs[0], "secret.txt")],
            "task": ["listdir", "/var/task"],
            "task_write": ["write", "/var/task/new.txt"],
            "tmp_write": ["write", "/tmp/spy.txt"],
            "kyoka": ["kill0", str(self.kyoka.proc.pid)],
            "victim_proc": ["kill0", str(victim_envs[0]["pid"])],
        })[1]
        self.assertEqual(body["data"], {"errno": errno.ENOENT})
        self.assertEqual(body["victim_code"], {"errno": errno.ENOENT})
        self.assertEqual(body["task"], {"ok": ["index.py", "mine.txt"]})
        self.assertEqual(body["task_write"], {"errno": errno.EROFS})
        self.assertEqual(body["tmp_write"], {"ok": True})
        self.assertEqual(body["kyoka"], {"errno": errno.ESRCH})
        self.assertEqual(body["victim_proc"], {"errno": errno.ESRCH})

    def test_function_runs_unprivileged(self):
        # Lambda runs function code as a non-root user, whatever the image.
        self.create("priv", code=py_zip("""\
            import os
            def handler(event, context):
                caps = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff:")][0]
                try:
                    open("/etc/shadow").read()
                    shadow = "readable"
                except OSError as e:
                    shadow = e.errno
                return {"uid": os.getuid(), "caps": caps, "shadow": shadow}
            """))
        body = self.invoke("priv")[1]
        self.assertNotEqual(body["uid"], 0)
        self.assertEqual(int(body["caps"], 16), 0)
        self.assertIn(body["shadow"], (errno.EACCES, errno.ENOENT))

    TMP_FILLER = """\
        import errno
        def handler(event, context):
            written = 0
            try:
                with open("/tmp/fill", "wb") as f:
                    chunk = b"x" * (1024 * 1024)
                    while written < event["mb"]:
                        f.write(chunk)
                        f.flush()
                        written += 1
            except OSError as e:
                return {"written_mb": written, "errno": e.errno}
            return {"written_mb": written}
        """

    def test_tmp_is_as_large_as_ephemeral_storage(self):
        # EphemeralStorage 512 (the default): /tmp fills at 512 MB.
        self.create("fill", code=py_zip(self.TMP_FILLER), MemorySize=1024, Timeout=20)
        body = self.invoke("fill", {"mb": 600})[1]
        self.assertEqual(body.get("errno"), errno.ENOSPC, body)
        self.assertGreater(body["written_mb"], 400)
        self.assertLessEqual(body["written_mb"], 512)

    @unittest.expectedFailure  # kyoka's /tmp is a tmpfs charged to the memory limit (see report)
    def test_tmp_does_not_count_against_memory(self):
        # /tmp is ephemeral storage, separate from MemorySize: a 128 MB
        # function may keep 200 MB there.
        self.create("fill-small", code=py_zip(self.TMP_FILLER), MemorySize=128, Timeout=20)
        out, body = self.invoke("fill-small", {"mb": 200})
        self.assertNotIn("FunctionError", out, body)
        self.assertEqual(body, {"written_mb": 200})

    def test_tmp_is_private_to_each_environment(self):
        self.create("tmpfs", Timeout=10, code=py_zip("""\
            import os, time, uuid
            ENV_ID = uuid.uuid4().hex
            def handler(event, context):
                seen = sorted(os.listdir("/tmp"))
                with open("/tmp/" + ENV_ID, "w") as f:
                    f.write("x")
                time.sleep(event.get("sleep", 0))
                return {"env": ENV_ID, "seen": seen, "after": sorted(os.listdir("/tmp"))}
            """))
        results = []

        def call():
            results.append(self.invoke("tmpfs", {"sleep": 1}, client=self.kyoka.client("lambda"))[1])

        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len({r["env"] for r in results}), 2)
        for r in results:
            self.assertEqual(r["seen"], [])
            self.assertEqual(r["after"], [r["env"]])
        # Within one environment /tmp persists between invocations.
        again = self.invoke("tmpfs")[1]
        self.assertIn(again["env"], {r["env"] for r in results})
        self.assertEqual(again["seen"], [again["env"]])
        # Another function's environments never see it.
        self.create("other-tmp", code=py_zip("import os\ndef handler(e, c):\n    return sorted(os.listdir('/tmp'))\n"))
        self.assertEqual(self.invoke("other-tmp")[1], [])


RIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ric", "node_modules", "aws-lambda-ric")


def ric_zip(handler_source):
    """A provided.al2023 package whose bootstrap is AWS's Node.js Runtime
    Interface Client (npm aws-lambda-ric, installed by ric/package.json):
    the files it loads at run time, the handler, and a bootstrap exec'ing it."""
    files = {"bootstrap": "#!/bin/sh\nexec /usr/bin/node /var/task/node_modules/aws-lambda-ric/index.mjs\n",
             "index.mjs": handler_source}
    for name in ("index.mjs", "package.json", "rapid-client.node"):
        with open(os.path.join(RIC_DIR, name), "rb") as f:
            files["node_modules/aws-lambda-ric/" + name] = f.read()
    return make_zip(files, modes={"bootstrap": 0o755, "node_modules/aws-lambda-ric/rapid-client.node": 0o755})


class RuntimeInterfaceClient(LambdaTestCase):
    """AWS's own runtime client as a custom runtime: kyoka's Runtime API as
    the official client expects it (next, response, error, headers)."""

    def setUp(self):
        super().setUp()
        # scripts/install-deps.sh test installs it: missing means a broken
        # set-up, which must fail, not pass quietly.
        self.assertTrue(os.path.exists(os.path.join(RIC_DIR, "rapid-client.node")),
                        "aws-lambda-ric is not installed: run scripts/install-deps.sh test")

    def test_official_node_runtime_interface_client_serves_invocations(self):
        self.lam.create_function(
            FunctionName="ric", Runtime="provided.al2023", Handler="index.handler", Role=self.role_arn,
            Timeout=5, Code={"ZipFile": ric_zip("""\
                export const handler = async (event, context) => {
                  console.log('ric got', JSON.stringify(event));
                  if (event.fail) throw new Error('ric boom');
                  return { event, requestId: context.awsRequestId, functionName: context.functionName,
                           memory: context.memoryLimitInMB, arn: context.invokedFunctionArn,
                           remaining: context.getRemainingTimeInMillis() };
                };
                """)})
        self.wait_active("ric")
        out, body = self.invoke("ric", {"x": [1, 2]}, LogType="Tail")
        self.assertNotIn("FunctionError", out, body)
        rid = out["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
        self.assertEqual(body["event"], {"x": [1, 2]})
        self.assertEqual(body["requestId"], rid)
        self.assertEqual(body["functionName"], "ric")
        self.assertEqual(body["memory"], "128")
        self.assertEqual(body["arn"], fn_arn("ric"))
        self.assertGreater(body["remaining"], 0)
        self.assertLessEqual(body["remaining"], 5000)
        log = base64.b64decode(out["LogResult"]).decode()
        # The client's own log format: time, request id, level, message.
        self.assertRegex(log, r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t%s\tINFO\tric got {\"x\":\[1,2\]}" % rid)
        out, body = self.invoke("ric", {"fail": True})
        self.assertEqual(out["FunctionError"], "Unhandled")
        self.assertEqual(body["errorType"], "Error")
        self.assertEqual(body["errorMessage"], "ric boom")
        self.assertEqual(body["trace"][0], "Error: ric boom")
        self.assertEqual(self.invoke("ric", {"again": 1})[1]["event"], {"again": 1})


class Durability(LambdaTestCase):
    ephemeral = False

    def test_everything_survives_kill_9_and_invokes_after_restart(self):
        sha = self.create("durable", code=py_zip(PY_WHOAMI))["CodeSha256"]
        self.lam.publish_version(FunctionName="durable")
        self.lam.create_alias(FunctionName="durable", Name="live", FunctionVersion="1")
        self.lam.add_permission(FunctionName="durable", StatementId="s3", Action="lambda:InvokeFunction",
                                Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::bucket")
        self.lam.put_function_concurrency(FunctionName="durable", ReservedConcurrentExecutions=5)
        self.lam.tag_resource(Resource=fn_arn("durable"), Tags={"keep": "me"})
        self.invoke("durable", Qualifier="live")
        pids = [e["pid"] for e in self.environments("durable")]
        self.assertTrue(pids)
        policy = self.lam.get_policy(FunctionName="durable")["Policy"]
        self.kyoka.kill9()
        # The environments die with kyoka.
        deadline = time.time() + 10
        while any(pid_alive(p) for p in pids) and time.time() < deadline:
            time.sleep(0.05)
        self.assertFalse([p for p in pids if pid_alive(p)], "function processes outlived kyoka")
        self.kyoka.start()
        lam = self.kyoka.client("lambda")
        cfg = lam.get_function_configuration(FunctionName="durable")
        self.assertEqual(cfg["CodeSha256"], sha)
        self.assertEqual(cfg["State"], "Active")
        self.assertEqual([v["Version"] for v in lam.list_versions_by_function(FunctionName="durable")["Versions"]],
                         ["$LATEST", "1"])
        self.assertEqual(lam.get_alias(FunctionName="durable", Name="live")["FunctionVersion"], "1")
        self.assertEqual(json.loads(lam.get_policy(FunctionName="durable")["Policy"]), json.loads(policy))
        self.assertEqual(lam.get_function_concurrency(FunctionName="durable")["ReservedConcurrentExecutions"], 5)
        self.assertEqual(lam.list_tags(Resource=fn_arn("durable"))["Tags"], {"keep": "me"})
        out, body = self.invoke("durable", {"after": "restart"}, client=lam, Qualifier="live")
        self.assertEqual(out["StatusCode"], 200)
        self.assertEqual(body["version"], "1")
        self.assertEqual(body["count"], 1)
        self.assertEqual(self.invoke("durable", client=lam)[1]["version"], "$LATEST")
        status, _ = http_get(lam.get_function(FunctionName="durable")["Code"]["Location"])
        self.assertEqual(status, 200)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
    return True


if __name__ == "__main__":
    harness.main()
