"""kyoka's python and node Lambda bootstraps against a fake Runtime API.

Each test writes handler code into a temporary LAMBDA_TASK_ROOT, starts a
bootstrap as a subprocess with the environment Lambda sets, feeds it
invocations through an in-process Runtime API (2018-06-01) and asserts the
exact requests it makes: paths, headers and bodies, plus what it prints.

Stdlib only. Run by hand with
    python3 tests/integration/45-lambda-runtimes/test_bootstraps.py
"""
import http.server
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
PY_BOOTSTRAP_DIR = os.path.join(REPO, "src", "runtime", "bootstrap", "python")
NODE_BOOTSTRAP_DIR = os.path.join(REPO, "src", "runtime", "bootstrap", "node")
PY_BOOTSTRAP = os.path.join(PY_BOOTSTRAP_DIR, "bootstrap.py")
NODE_BOOTSTRAP = os.path.join(NODE_BOOTSTRAP_DIR, "bootstrap.cjs")
NODE = shutil.which("node")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with boto3 1.26 / botocore 1.29
ARN = "arn:aws:lambda:us-east-1:000000000000:function:fn"
TIMEOUT = 10

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"  # a log timestamp


class FakeRuntimeAPI:
    """The Runtime API side of Lambda: /next blocks on a queue of invocations;
    every POST is recorded and handed to whoever waits for it."""

    def __init__(self, chunked=False, drop=None):
        # chunked: send /next bodies chunked. drop: end the connection after
        # each POST, announced ("header": Connection: close) or not ("silent").
        self.invocations = queue.Queue()
        self.posts = queue.Queue()
        self.next_calls = 0
        self.connections = set()       # client (host, port) of every request
        self.post_connections = set()  # ... of every POST
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API

            def log_message(self, *args):
                pass

            def do_GET(self):
                api.connections.add(self.client_address)
                if self.path != "/2018-06-01/runtime/invocation/next":
                    return self.reply(404, b'{"message":"not found"}')
                api.next_calls += 1
                try:
                    inv = api.invocations.get(timeout=TIMEOUT * 3)
                except queue.Empty:
                    return self.reply(500, b"{}")
                body, headers = inv
                self.reply(200, body, headers, chunked=chunked)

            def do_POST(self):
                api.connections.add(self.client_address)
                api.post_connections.add(self.client_address)
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                headers = {"Connection": "close"} if drop == "header" else {}
                self.reply(202, b'{"status":"OK"}', headers)
                self.close_connection = drop is not None
                api.posts.put((self.path, dict(self.headers), body))

            def reply(self, status, body, headers=(), chunked=False):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    half = len(body) // 2
                    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                                    for part in (body[:half], body[half:]) if part) + b"0\r\n\r\n"
                else:
                    self.send_header("Content-Length", str(len(body)))
                for k, v in dict(headers).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a killed bootstrap resets its connection: expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.address = "127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def push(self, event, request_id, deadline_ms=None, trace_id=None, extra=None):
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline_ms or int(time.time() * 1000) + 60000),
            "Lambda-Runtime-Invoked-Function-Arn": ARN,
        }
        if trace_id:
            headers["Lambda-Runtime-Trace-Id"] = trace_id
        headers.update(extra or {})
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        self.invocations.put((body, headers))

    def wait_post(self, timeout=TIMEOUT):
        try:
            return self.posts.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the bootstrap posted nothing within %ss" % timeout)


class Function:
    """A bootstrap process serving one function from a temporary task root."""

    def __init__(self, case, lang, handler, files, env=None, api=None, links=None):
        self.case = case
        self.root = tempfile.mkdtemp(prefix="kyoka-bootstrap-")
        case.addCleanup(shutil.rmtree, self.root, True)
        for name, text in files.items():
            path = os.path.join(self.root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(textwrap.dedent(text))
        for name, target in (links or {}).items():  # symlinks: name -> target
            os.symlink(target, os.path.join(self.root, name))
        self.api = FakeRuntimeAPI(**(api or {}))
        case.addCleanup(self.api.close)
        environ = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": self.root,
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]abc",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_SESSION_TOKEN": "token",
            "TZ": ":UTC",
        }
        if lang == "python":
            environ.update(LAMBDA_RUNTIME_DIR=PY_BOOTSTRAP_DIR, PYTHONPATH=PY_BOOTSTRAP_DIR,
                           AWS_EXECUTION_ENV="AWS_Lambda_python3.12", PYTHONDONTWRITEBYTECODE="1")
            argv = [sys.executable, PY_BOOTSTRAP]
        else:
            environ.update(LAMBDA_RUNTIME_DIR=NODE_BOOTSTRAP_DIR,
                           AWS_EXECUTION_ENV="AWS_Lambda_nodejs20.x")
            argv = [NODE, NODE_BOOTSTRAP]
        # "{root}" in a value stands for the task root, known only now.
        environ.update({k: v.replace("{root}", self.root) for k, v in (env or {}).items()})
        self.proc = subprocess.Popen(argv, env=environ, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=self.root)
        case.addCleanup(self.kill)
        self._out = []
        self._err = []
        self._readers = [threading.Thread(target=self._drain, args=(s, b), daemon=True)
                         for s, b in ((self.proc.stdout, self._out), (self.proc.stderr, self._err))]
        for t in self._readers:
            t.start()

    @staticmethod
    def _drain(stream, sink):
        for chunk in iter(lambda: stream.read1(65536), b""):
            sink.append(chunk)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for t in self._readers:
            t.join(TIMEOUT)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def invoke(self, event, request_id="req-1", **kw):
        """One invocation; returns (path, headers, body) of what came back."""
        self.api.push(event, request_id, **kw)
        return self.api.wait_post()

    def wait_exit(self):
        try:
            return self.proc.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError("the bootstrap did not exit")

    def stdout(self):
        """Everything printed, once the process is gone."""
        self.kill()
        return b"".join(self._out).decode()

    def stderr(self):
        self.kill()
        return b"".join(self._err).decode()


def response_path(request_id):
    return "/2018-06-01/runtime/invocation/%s/response" % request_id


def error_path(request_id):
    return "/2018-06-01/runtime/invocation/%s/error" % request_id


INIT_ERROR_PATH = "/2018-06-01/runtime/init/error"


# ---- python -------------------------------------------------------------

class PythonBootstrapTest(unittest.TestCase):
    def function(self, code, handler="app.handler", files=None, env=None, api=None):
        files = dict(files or {})
        if code is not None:
            files["app.py"] = code
        return Function(self, "python", handler, files, env, api)

    def test_return_value_is_posted_as_json(self):
        fn = self.function("""
            def handler(event, context):
                return {"ok": True, "n": 1, "text": "h\\u00e9"}
        """)
        path, headers, body = fn.invoke({})
        self.assertEqual(path, response_path("req-1"))
        self.assertEqual(body, '{"ok": true, "n": 1, "text": "hé"}'.encode())
        self.assertNotIn("Lambda-Runtime-Function-Error-Type", headers)

    def test_none_is_null(self):
        fn = self.function("def handler(event, context):\n    return None\n")
        self.assertEqual(fn.invoke({})[2], b"null")

    def test_event_and_context(self):
        fn = self.function("""
            import os
            def handler(event, context):
                cc, ident = context.client_context, context.identity
                return {
                    "event": event,
                    "function_name": context.function_name,
                    "function_version": context.function_version,
                    "invoked_function_arn": context.invoked_function_arn,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "aws_request_id": context.aws_request_id,
                    "log_group_name": context.log_group_name,
                    "log_stream_name": context.log_stream_name,
                    "cognito": [ident.cognito_identity_id, ident.cognito_identity_pool_id],
                    "client": [cc.client.installation_id, cc.client.app_title,
                               cc.client.app_version_name, cc.client.app_version_code,
                               cc.client.app_package_name],
                    "custom": cc.custom,
                    "env": cc.env,
                    "remaining": context.get_remaining_time_in_millis(),
                    "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                }
        """)
        client_context = {"client": {"installation_id": "i", "app_title": "t", "app_version_name": "vn",
                                     "app_version_code": "vc", "app_package_name": "p"},
                          "custom": {"k": "v"}, "env": {"platform": "x"}}
        identity = {"cognitoIdentityId": "cid", "cognitoIdentityPoolId": "pool"}
        deadline = int(time.time() * 1000) + 30000
        event = {"a": [1, 2, {"b": None}], "s": "x"}
        path, _, body = fn.invoke(event, "req-ctx", deadline_ms=deadline, trace_id="Root=1-abc;Sampled=1",
                                  extra={"Lambda-Runtime-Client-Context": json.dumps(client_context),
                                         "Lambda-Runtime-Cognito-Identity": json.dumps(identity)})
        self.assertEqual(path, response_path("req-ctx"))
        got = json.loads(body)
        remaining = got.pop("remaining")
        self.assertTrue(20000 < remaining <= 30000, remaining)
        self.assertEqual(got, {
            "event": event, "function_name": "fn", "function_version": "$LATEST",
            "invoked_function_arn": ARN, "memory_limit_in_mb": "256", "aws_request_id": "req-ctx",
            "log_group_name": "/aws/lambda/fn", "log_stream_name": "2024/01/01/[$LATEST]abc",
            "cognito": ["cid", "pool"], "client": ["i", "t", "vn", "vc", "p"],
            "custom": {"k": "v"}, "env": {"platform": "x"}, "trace": "Root=1-abc;Sampled=1",
        })

    def test_context_without_optional_headers(self):
        fn = self.function("""
            import os
            def handler(event, context):
                return [context.client_context, context.identity.cognito_identity_id,
                        os.environ.get("_X_AMZN_TRACE_ID")]
        """)
        fn.invoke({}, "r1", trace_id="Root=1")
        self.assertEqual(fn.invoke({}, "r2")[2], b"[null, null, null]")

    def test_exception_posts_error_and_process_serves_on(self):
        fn = self.function("""
            def handler(event, context):
                if event.get("fail"):
                    raise ValueError("boom")
                return "fine"
        """)
        path, headers, body = fn.invoke({"fail": True}, "req-err")
        self.assertEqual(path, error_path("req-err"))
        self.assertEqual(headers["Lambda-Runtime-Function-Error-Type"], "ValueError")
        frame = '  File "%s/app.py", line 4, in handler\n    raise ValueError("boom")\n' % fn.root
        self.assertEqual(json.loads(body), {
            "errorMessage": "boom", "errorType": "ValueError", "requestId": "req-err",
            "stackTrace": [frame]})
        self.assertEqual(body, json.dumps(json.loads(body)).encode())  # json.dumps' own layout
        path, _, body = fn.invoke({}, "req-ok")
        self.assertEqual((path, body), (response_path("req-ok"), b'"fine"'))
        self.assertIn("[ERROR] ValueError: boom\rTraceback (most recent call last):\r"
                      '  File "%s/app.py", line 4, in handler\r    raise ValueError("boom")\n' % fn.root,
                      fn.stdout())

    def test_error_type_cannot_inject_headers(self):
        fn = self.function("""
            Odd = type("Odd\\r\\nX-Injected: 1", (Exception,), {})
            def handler(event, context):
                raise Odd("odd")
        """)
        path, headers, body = fn.invoke({}, "req-odd")
        self.assertEqual(headers["Lambda-Runtime-Function-Error-Type"], "Odd X-Injected: 1")
        self.assertNotIn("X-Injected", headers)
        self.assertEqual(json.loads(body)["errorType"], "Odd\r\nX-Injected: 1")

    def test_unserializable_result_is_marshal_error(self):
        fn = self.function("def handler(event, context):\n    return {1, 2}\n")
        path, headers, body = fn.invoke({}, "req-m")
        self.assertEqual(path, error_path("req-m"))
        self.assertEqual(headers["Lambda-Runtime-Function-Error-Type"], "Runtime.MarshalError")
        self.assertEqual(json.loads(body), {
            "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
            "errorType": "Runtime.MarshalError", "requestId": "req-m", "stackTrace": []})

    def assert_init_error(self, fn, error_type, message, trace=()):
        path, headers, body = fn.api.wait_post()
        self.assertEqual(path, INIT_ERROR_PATH)
        self.assertEqual(headers["Lambda-Runtime-Function-Error-Type"], error_type)
        self.assertEqual(json.loads(body), {"errorMessage": message, "errorType": error_type,
                                            "requestId": "", "stackTrace": list(trace)})
        self.assertNotEqual(fn.wait_exit(), 0)
        self.assertEqual(fn.api.next_calls, 0)
        return fn.stdout()

    def test_init_error_module_missing(self):
        fn = self.function(None, handler="app.handler")
        out = self.assert_init_error(fn, "Runtime.ImportModuleError",
                                     "Unable to import module 'app': No module named 'app'")
        self.assertEqual(out, "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': "
                              "No module named 'app'\rTraceback (most recent call last):\n")

    def test_init_error_dependency_missing(self):
        fn = self.function("import no_such_dependency\n")
        self.assert_init_error(fn, "Runtime.ImportModuleError",
                               "Unable to import module 'app': No module named 'no_such_dependency'")

    def test_init_error_handler_missing(self):
        fn = self.function("def handler(event, context):\n    pass\n", handler="app.nope")
        self.assert_init_error(fn, "Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'")

    def test_init_error_syntax(self):
        fn = self.function("def handler(event, context):\n    return (\n")
        path, headers, body = fn.api.wait_post()
        err = json.loads(body)
        self.assertEqual(path, INIT_ERROR_PATH)
        self.assertEqual(headers["Lambda-Runtime-Function-Error-Type"], "Runtime.UserCodeSyntaxError")
        self.assertEqual(err["errorType"], "Runtime.UserCodeSyntaxError")
        self.assertRegex(err["errorMessage"], r"^Syntax error in module 'app': .+ \(app\.py, line 2\)$")
        self.assertEqual(err["stackTrace"], ['  File "%s/app.py" Line 2\n        return (\n' % fn.root])
        self.assertNotEqual(fn.wait_exit(), 0)

    def test_init_error_malformed_handler(self):
        fn = self.function("", handler="handler")
        self.assert_init_error(fn, "Runtime.MalformedHandlerName",
                               "Bad handler 'handler': not enough values to unpack (expected 2, got 1)")

    def test_init_error_raised_by_module(self):
        fn = self.function("x = 1\nraise RuntimeError('no config')\n")
        path, headers, body = fn.api.wait_post()
        err = json.loads(body)
        self.assertEqual((path, headers["Lambda-Runtime-Function-Error-Type"]), (INIT_ERROR_PATH, "RuntimeError"))
        self.assertEqual((err["errorMessage"], err["errorType"], err["requestId"]),
                         ("no config", "RuntimeError", ""))
        self.assertEqual(err["stackTrace"][-1],
                         '  File "%s/app.py", line 2, in <module>\n    raise RuntimeError(\'no config\')\n' % fn.root)
        self.assertNotEqual(fn.wait_exit(), 0)

    def test_warm_reuse_keeps_state_and_connection(self):
        fn = self.function("""
            count = 0
            def handler(event, context):
                global count
                count += 1
                return count
        """)
        bodies = [fn.invoke({}, "r%d" % i)[2] for i in range(3)]
        self.assertEqual(bodies, [b"1", b"2", b"3"])
        self.assertEqual(len(fn.api.connections), 1)

    def test_nested_package_handlers(self):
        files = {"pkg/__init__.py": "", "pkg/sub/__init__.py": "",
                 "pkg/sub/mod.py": "def handler(e, c):\n    return __name__\n"}
        for handler in ("pkg/sub/mod.handler", "pkg.sub.mod.handler"):
            with self.subTest(handler=handler):
                fn = self.function(None, handler=handler, files=files)
                self.assertEqual(fn.invoke({})[2], b'"pkg.sub.mod"')

    def test_sys_path_order(self):
        fn = self.function("import sys\ndef handler(e, c):\n    return sys.path[:3]\n")
        version = "python%d.%d" % sys.version_info[:2]
        self.assertEqual(json.loads(fn.invoke({})[2]),
                         [fn.root, "/opt/python", "/opt/python/lib/%s/site-packages" % version])

    def test_text_log_format(self):
        fn = self.function("""
            import logging
            logging.basicConfig(level=logging.DEBUG, format="%(message)s")  # a no-op, as on AWS
            logger = logging.getLogger()
            logger.warning("at init")
            def handler(event, context):
                print("printed")
                logger.info("not shown: root stays at WARNING")
                logger.warning("two\\nlines")
                logging.getLogger("lib").error("from %s", "lib")
                return 1
        """)
        fn.invoke({}, "req-log")
        lines = fn.stdout().split("\n")
        self.assertEqual(len(lines), 5, lines)
        self.assertRegex(lines[0], r"^\[WARNING\]\t%s\t\tat init$" % TS)
        self.assertEqual(lines[1], "printed")
        self.assertRegex(lines[2], r"^\[WARNING\]\t%s\treq-log\ttwo\rlines$" % TS)
        self.assertRegex(lines[3], r"^\[ERROR\]\t%s\treq-log\tfrom lib$" % TS)
        self.assertEqual(lines[4], "")

    def test_json_log_format(self):
        fn = self.function("""
            import logging
            def handler(event, context):
                logging.getLogger("app").info("hello %s", "json", extra={"k": 1})
                logging.debug("below INFO")
                try:
                    1 / 0
                except ZeroDivisionError:
                    logging.exception("failed")
                print("plain")
                return 1
        """, env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
        fn.invoke({}, "req-json")
        lines = fn.stdout().splitlines()
        self.assertEqual(len(lines), 3, lines)
        first = json.loads(lines[0])
        self.assertRegex(first.pop("timestamp"), "^%s$" % TS)
        self.assertEqual(first, {"level": "INFO", "message": "hello json", "logger": "app",
                                 "requestId": "req-json", "k": 1})
        self.assertEqual(list(json.loads(lines[0])), ["timestamp", "level", "message", "logger", "requestId", "k"])
        second = json.loads(lines[1])
        self.assertEqual((second["level"], second["message"], second["logger"], second["errorType"],
                          second["errorMessage"]), ("ERROR", "failed", "root", "ZeroDivisionError", "division by zero"))
        self.assertIn("1 / 0", second["stackTrace"][0])
        self.assertEqual(lines[2], "plain")

    def test_json_log_of_a_failed_invoke(self):
        fn = self.function("def handler(event, context):\n    raise KeyError('n')\n",
                           env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
        _, _, body = fn.invoke({}, "req-f")
        line = json.loads(fn.stdout())
        self.assertRegex(line.pop("timestamp"), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(list(line), ["log_level", "errorMessage", "errorType", "requestId", "stackTrace"])
        self.assertEqual(line, {"log_level": "ERROR", **json.loads(body)})

    def test_json_log_level(self):
        fn = self.function("""
            import logging
            def handler(event, context):
                logging.info("hidden")
                logging.warning("shown")
        """, env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN"})
        fn.invoke({})
        self.assertEqual([json.loads(l)["message"] for l in fn.stdout().splitlines()], ["shown"])

    def test_sys_exit_ends_the_process(self):
        fn = self.function("import sys\ndef handler(e, c):\n    sys.exit(3)\n")
        fn.api.push({}, "req-exit")
        self.assertEqual(fn.wait_exit(), 3)
        self.assertTrue(fn.api.posts.empty())

    def test_bad_event_json_is_unmarshal_error(self):
        fn = self.function("def handler(e, c):\n    return 1\n")
        path, headers, body = fn.invoke(b"{not json", "req-u")
        self.assertEqual((path, headers["Lambda-Runtime-Function-Error-Type"]),
                         (error_path("req-u"), "Runtime.UnmarshalError"))
        self.assertTrue(json.loads(body)["errorMessage"].startswith("Unable to unmarshal input: "))

    def test_runtime_imports_stay_lean(self):
        # Cold start: the runtime itself loads none of these (their imports
        # cost more than the interpreter's start); a function that needs
        # one imports it. Compared with what the interpreter loads anyway.
        heavy = ["json", "logging", "re", "socket", "threading", "traceback"]
        probe = "import sys; print([m for m in %r if m in sys.modules])" % heavy
        env = {"PATH": os.environ.get("PATH", "/usr/bin"), "PYTHONPATH": PY_BOOTSTRAP_DIR}
        bare = json.loads(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                                         text=True, timeout=TIMEOUT).stdout.replace("'", '"'))
        fn = self.function("import sys\ndef handler(e, c):\n    return [m for m in %r if m in sys.modules]\n" % heavy)
        self.assertEqual(json.loads(fn.invoke({})[2]), bare)

    def test_logging_imported_late_is_configured(self):
        # Looking logging up imports nothing; the import in the handler is
        # the one that gets AWS's handler on the root logger.
        fn = self.function("""
            import importlib.util
            assert importlib.util.find_spec("logging") is not None
            def handler(event, context):
                import logging.handlers
                logging.getLogger("x").warning("late")
                return [type(h).__name__ for h in logging.getLogger().handlers]
        """)
        self.assertEqual(json.loads(fn.invoke({}, "req-late")[2]), ["_StdoutHandler"])
        self.assertRegex(fn.stdout(), r"^\[WARNING\]\t%s\treq-late\tlate\n$" % TS)

    def test_json_matches_the_json_module(self):
        fn = self.function("""
            def handler(event, context):
                if event == "circular":
                    x = []
                    x.append(x)
                    return x
                return [event, {1: 2.5, None: float("nan"), True: -float("inf")}, "\\u2028\\x00é", 10 ** 30]
        """)
        events = [b'\xef\xbb\xbf{"bom": 1}', '{"utf16": "é"}'.encode("utf-16"), b' \t\r\n[1, 2.50, 1e400] \n',
                  b'{"a": NaN, "b": -Infinity, "c": 123456789012345678901234567890}', b'"\\ud83d\\ude00 pair"',
                  b'{"k": 1, "k": 2}', b'"caf\xc3\xa9"', b'{"pad": "%s"}' % (b"x" * 1000000)]
        for i, event in enumerate(events):
            with self.subTest(event=event[:30]):
                path, _, body = fn.invoke(event, "r%d" % i)
                expected = [json.loads(event), {1: 2.5, None: float("nan"), True: -float("inf")},
                            "\u2028\x00é", 10 ** 30]
                self.assertEqual((path, body), (response_path("r%d" % i),
                                                json.dumps(expected, ensure_ascii=False).encode()))
        for i, event in enumerate([b"", b"[1,", b"{} x", b"\x00\x00\x00{"]):
            with self.subTest(event=event):
                try:
                    json.loads(event)
                except ValueError as e:
                    message = "Unable to unmarshal input: %s" % e
                _, _, body = fn.invoke(event, "u%d" % i)
                self.assertEqual(json.loads(body)["errorMessage"], message)
        _, headers, body = fn.invoke("circular", "c")
        self.assertEqual((headers["Lambda-Runtime-Function-Error-Type"], json.loads(body)["errorMessage"]),
                         ("Runtime.MarshalError", "Unable to marshal response: Circular reference detected"))

    def test_dropped_connections_and_chunked_bodies(self):
        code = "def handler(event, context):\n    return event\n"
        for drop in ("header", "silent"):
            with self.subTest(drop=drop):
                fn = self.function(code, api={"chunked": True, "drop": drop})
                for i in range(3):
                    self.assertEqual(fn.invoke({"i": i, "pad": "x" * 999}, "r%d" % i)[2],
                                     json.dumps({"i": i, "pad": "x" * 999}).encode())
                self.assertEqual(len(fn.api.post_connections), 3)  # one each


@unittest.skipUnless(os.path.exists(SYSTEM_PYTHON), "needs Debian's python3 with boto3")
class SitecustomizeTest(unittest.TestCase):
    """botocore 1.29 ignores AWS_ENDPOINT_URL*; sitecustomize.py teaches it."""

    def run_python(self, code, **env):
        environ = {"PATH": os.environ.get("PATH", "/usr/bin"), "PYTHONPATH": PY_BOOTSTRAP_DIR,
                   "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1",
                   "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", **env}
        out = subprocess.run([SYSTEM_PYTHON, "-c", code], env=environ, capture_output=True,
                             text=True, timeout=TIMEOUT * 3)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout.split()

    def setUp(self):
        probe = subprocess.run([SYSTEM_PYTHON, "-c", "import boto3"], capture_output=True)
        if probe.returncode != 0:
            self.skipTest("boto3 is not installed for %s" % SYSTEM_PYTHON)
        api = FakeRuntimeAPI()  # any live local port will do: only the URL is checked
        self.addCleanup(api.close)
        self.url = "http://" + api.address

    def test_global_and_service_endpoints(self):
        code = ("import boto3\n"
                "for s in ('sts', 'sqs', 'apigateway'): print(boto3.client(s).meta.endpoint_url)\n"
                "print(boto3.client('sts', endpoint_url='http://explicit:1').meta.endpoint_url)\n")
        self.assertEqual(self.run_python(code, AWS_ENDPOINT_URL=self.url),
                         [self.url, self.url, self.url, "http://explicit:1"])
        self.assertEqual(self.run_python(code, AWS_ENDPOINT_URL=self.url, AWS_ENDPOINT_URL_STS="http://sts:2",
                                         AWS_ENDPOINT_URL_API_GATEWAY="http://gw:3"),
                         ["http://sts:2", self.url, "http://gw:3", "http://explicit:1"])

    def test_nothing_configured_keeps_aws_endpoints(self):
        self.assertEqual(self.run_python("import boto3; print(boto3.client('sts').meta.endpoint_url)"),
                         ["https://sts.amazonaws.com"])

    def test_costs_nothing_without_botocore(self):
        self.assertEqual(self.run_python("import sys; print('botocore' in sys.modules)"), ["False"])


# ---- node ---------------------------------------------------------------

@unittest.skipUnless(NODE, "needs node")
class NodeBootstrapTest(unittest.TestCase):
    def function(self, code, handler="app.handler", name="app.mjs", files=None, env=None, api=None, links=None):
        files = dict(files or {})
        if code is not None:
            files[name] = code
        return Function(self, "node", handler, files, env, api, links)

    def test_async_return_value(self):
        fn = self.function("export const handler = async (event) => ({ ok: true, got: event.x, t: 'h\\u00e9' });")
        path, headers, body = fn.invoke({"x": 5})
        self.assertEqual(path, response_path("req-1"))
        self.assertEqual(body, '{"ok":true,"got":5,"t":"hé"}'.encode())
        self.assertNotIn("Lambda-Runtime-Function-Error-Type", headers)

    def test_undefined_is_null(self):
        fn = self.function("export const handler = async () => {};")
        self.assertEqual(fn.invoke({})[2], b"null")

    def test_event_and_context(self):
        fn = self.function("""
            export const handler = async (event, context) => ({
              event,
              functionName: context.functionName,
              functionVersion: context.functionVersion,
              invokedFunctionArn: context.invokedFunctionArn,
              memoryLimitInMB: context.memoryLimitInMB,
              awsRequestId: context.awsRequestId,
              logGroupName: context.logGroupName,
              logStreamName: context.logStreamName,
              identity: context.identity,
              clientContext: context.clientContext,
              callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
              remaining: context.getRemainingTimeInMillis(),
              trace: process.env._X_AMZN_TRACE_ID,
            });
        """)
        identity = {"cognitoIdentityId": "cid", "cognitoIdentityPoolId": "pool"}
        client_context = {"client": {"installation_id": "i"}, "custom": {"k": "v"}, "env": {"p": "x"}}
        event = {"a": [1, 2, {"b": None}]}
        path, _, body = fn.invoke(event, "req-ctx", deadline_ms=int(time.time() * 1000) + 30000,
                                  trace_id="Root=1-abc", extra={
                                      "Lambda-Runtime-Client-Context": json.dumps(client_context),
                                      "Lambda-Runtime-Cognito-Identity": json.dumps(identity)})
        self.assertEqual(path, response_path("req-ctx"))
        got = json.loads(body)
        self.assertTrue(20000 < got.pop("remaining") <= 30000)
        self.assertEqual(got, {
            "event": event, "functionName": "fn", "functionVersion": "$LATEST", "invokedFunctionArn": ARN,
            "memoryLimitInMB": "256", "awsRequestId": "req-ctx", "logGroupName": "/aws/lambda/fn",
            "logStreamName": "2024/01/01/[$LATEST]abc", "identity": identity, "clientContext": client_context,
            "callbackWaitsForEmptyEventLoop": True, "trace": "Root=1-abc"})

    def test_thrown_error(self):
        fn = self.function("""
            export const handler = async (event) => {
              if (event.fail) throw new TypeError('boom');
              return 'fine';
            };
        """)
        path, headers, body = fn.invoke({"fail": True}, "req-err")
        self.assertEqual(path, error_path("req-err"))
        self.assertEqual(headers["Lambda-Runtime-Function-Error-Type"], "TypeError")
        err = json.loads(body)
        self.assertEqual(list(err), ["errorType", "errorMessage", "trace"])
        self.assertEqual((err["errorType"], err["errorMessage"], err["trace"][0]), ("TypeError", "boom", "TypeError: boom"))
        self.assertTrue(err["trace"][1].startswith("    at handler (file://%s/app.mjs:3:" % fn.root), err["trace"])
        self.assertEqual(fn.invoke({}, "req-ok")[2], b'"fine"')
        log = [l for l in fn.stdout().splitlines() if "Invoke Error" in l][0]
        m = re.match(r"^(%s)\treq-err\tERROR\tInvoke Error \t(\{.*\})$" % TS, log)
        self.assertTrue(m, log)
        logged = json.loads(m.group(2))
        self.assertEqual((logged["errorType"], logged["errorMessage"], logged["stack"]), ("TypeError", "boom", err["trace"]))

    def test_error_type_cannot_inject_headers(self):
        fn = self.function("""
            export const handler = async () => {
              const e = new Error('odd');
              e.name = 'Odd\\r\\nX-Injected: 1';
              throw e;
            };
        """)
        path, headers, body = fn.invoke({}, "req-odd")
        self.assertEqual(headers["Lambda-Runtime-Function-Error-Type"], "Odd X-Injected: 1")
        self.assertNotIn("X-Injected", headers)
        self.assertEqual(json.loads(body)["errorType"], "Odd\r\nX-Injected: 1")

    def test_rejection_with_non_error(self):
        fn = self.function("export const handler = async () => { throw 'nope'; };")
        path, headers, body = fn.invoke({}, "req-s")
        self.assertEqual((path, headers["Lambda-Runtime-Function-Error-Type"]), (error_path("req-s"), "string"))
        self.assertEqual(body, b'{"errorType":"string","errorMessage":"nope","trace":[]}')

    def assert_init_error(self, fn, error_type, message):
        path, headers, body = fn.api.wait_post()
        self.assertEqual(path, INIT_ERROR_PATH)
        self.assertEqual(headers["Lambda-Runtime-Function-Error-Type"], error_type)
        err = json.loads(body)
        self.assertEqual((err["errorType"], err["errorMessage"]), (error_type, message))
        self.assertEqual(err["trace"][:message.count("\n") + 1], ("%s: %s" % (error_type, message)).split("\n"))
        self.assertNotEqual(fn.wait_exit(), 0)
        self.assertEqual(fn.api.next_calls, 0)
        return fn.stdout()

    def test_init_error_module_missing(self):
        fn = self.function(None, handler="app.handler")
        out = self.assert_init_error(fn, "Runtime.ImportModuleError",
                                     "Error: Cannot find module 'app'\nRequire stack:\n- %s" % NODE_BOOTSTRAP)
        self.assertRegex(out, r"^%s\tundefined\tERROR\tUncaught Exception \t\{\"errorType\":\"Runtime.ImportModuleError\"" % TS)

    def test_init_error_dependency_missing(self):
        fn = self.function("import 'no-such-dependency';\nexport const handler = async () => 1;")
        path, _, body = fn.api.wait_post()
        err = json.loads(body)
        self.assertEqual((path, err["errorType"]), (INIT_ERROR_PATH, "Runtime.ImportModuleError"))
        self.assertTrue(err["errorMessage"].startswith("Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'no-such-dependency'"),
                        err["errorMessage"])

    def test_init_error_handler_missing(self):
        fn = self.function("export const handler = async () => 1;", handler="app.nope")
        self.assert_init_error(fn, "Runtime.HandlerNotFound", "app.nope is undefined or not exported")

    def test_init_error_syntax(self):
        fn = self.function("export const handler = async () => 1 };", name="app.js",
                           files={"package.json": '{"type": "module"}'})
        path, headers, body = fn.api.wait_post()
        err = json.loads(body)
        self.assertEqual((path, headers["Lambda-Runtime-Function-Error-Type"]), (INIT_ERROR_PATH, "Runtime.UserCodeSyntaxError"))
        self.assertEqual(err["errorMessage"], "SyntaxError: Unexpected token '}'")
        self.assertNotEqual(fn.wait_exit(), 0)

    def test_init_error_malformed_handler(self):
        fn = self.function("export const handler = async () => 1;", handler="app")
        self.assert_init_error(fn, "Runtime.MalformedHandlerName", "Bad handler")

    def test_warm_reuse_keeps_state_and_connection(self):
        fn = self.function("let n = 0;\nexport const handler = async () => ++n;")
        self.assertEqual([fn.invoke({}, "r%d" % i)[2] for i in range(3)], [b"1", b"2", b"3"])
        self.assertEqual(len(fn.api.connections), 1)

    def test_commonjs_callback_waits_for_empty_event_loop(self):
        # The result is serialized when the loop drains: the timer's change shows.
        fn = self.function("""
            exports.handler = (event, context, callback) => {
              const result = { timerFired: false };
              setTimeout(() => { result.timerFired = true; }, 200);
              callback(null, result);
            };
        """, name="app.js")
        start = time.monotonic()
        self.assertEqual(fn.invoke({})[2], b'{"timerFired":true}')
        self.assertGreaterEqual(time.monotonic() - start, 0.2)

    def test_commonjs_handler_is_not_the_main_module(self):
        # As on AWS, whose entry is an ES module: the bootstrap is no require.main.
        fn = self.function("exports.handler = async () => [require.main === undefined, module.id];", name="app.js")
        self.assertEqual(json.loads(fn.invoke({})[2]), [True, os.path.join(fn.root, "app.js")])

    def test_callback_without_waiting_for_event_loop(self):
        # The timer outlives the wait for a post: an answer at all means no waiting.
        fn = self.function("""
            exports.handler = (event, context, callback) => {
              context.callbackWaitsForEmptyEventLoop = false;
              const result = { timerFired: false };
              setTimeout(() => { result.timerFired = true; }, 60000);
              callback(null, result);
            };
        """, name="app.cjs")
        self.assertEqual(fn.invoke({})[2], b'{"timerFired":false}')

    LEGACY = """
        exports.cb = (e, c, callback) => callback(new Error('cb failed'));
        exports.succeed = (e, c) => { setTimeout(() => {}, 60000); c.succeed({ via: 'succeed' }); };
        exports.fail = (e, c) => c.fail(new RangeError('failed'));
        exports.done = (e, c) => c.done(null, 'done');
        exports.sync = () => 'ignored';  // no promise, no callback: null once the loop drains
    """

    def test_callback_error_and_legacy_context_methods(self):
        for export, error_type, body in (("cb", "Error", None), ("succeed", None, b'{"via":"succeed"}'),
                                         ("fail", "RangeError", None), ("done", None, b'"done"'),
                                         ("sync", None, b"null")):
            with self.subTest(export=export):
                fn = self.function(self.LEGACY, handler="app." + export, name="app.js")
                path, headers, got = fn.invoke({}, "r")  # succeed() does not wait for its timer
                if error_type:
                    self.assertEqual((path, headers["Lambda-Runtime-Function-Error-Type"]), (error_path("r"), error_type))
                else:
                    self.assertEqual((path, got), (response_path("r"), body))

    def test_esm_top_level_await_and_nested_export(self):
        fn = self.function("""
            const config = await new Promise((r) => setTimeout(() => r('loaded'), 10));
            export const api = { v1: { handler: async () => config } };
        """, handler="src/app.api.v1.handler", name="src/app.mjs")
        self.assertEqual(fn.invoke({})[2], b'"loaded"')

    def test_bare_import_from_node_path(self):
        sdk = "layer/node_modules/@aws-sdk/client-fake/"
        files = {
            sdk + "package.json": '{"name": "@aws-sdk/client-fake", "main": "./dist-cjs/index.js"}',
            sdk + "dist-cjs/index.js": "exports.FakeClient = class { send() { return 'sent'; } };",
            "app.mjs": "import { FakeClient } from '@aws-sdk/client-fake';\n"
                       "export const handler = async () => new FakeClient().send();",
            "cjs.js": "const { FakeClient } = require('@aws-sdk/client-fake');\n"
                      "exports.handler = async () => new FakeClient().send();",
            "missing.mjs": "import 'no-such-package';\nexport const handler = async () => 1;",
        }
        env = {"NODE_PATH": "/nonexistent:{root}/layer/node_modules"}
        for handler in ("app.handler", "cjs.handler"):  # ESM through the hook, CommonJS natively
            with self.subTest(handler=handler):
                fn = self.function(None, handler=handler, files=files, env=env)
                self.assertEqual(fn.invoke({})[2], b'"sent"')
        # Nowhere to be found: Node's own ESM error, not require's (Node drops
        # the "[ERR_MODULE_NOT_FOUND]" from the name once it crossed the hook thread).
        fn = self.function(None, handler="missing.handler", files=files, env=env)
        err = json.loads(fn.api.wait_post()[2])
        self.assertEqual(err["errorType"], "Runtime.ImportModuleError")
        self.assertRegex(err["errorMessage"], r"^Error( \[ERR_MODULE_NOT_FOUND\])?: Cannot find package "
                                              r"'no-such-package' imported from %s/missing\.mjs$" % re.escape(fn.root))

    def test_node_path_that_esm_reaches_needs_no_hook(self):
        # kyoka's sandbox links /var/node_modules to the SDK on NODE_PATH, so
        # ESM finds it without the resolve hook and its loader thread (tens of
        # ms per cold start). Seen here as that thread, or its absence.
        files = {"sdk/node_modules/p/package.json": '{"name": "p", "main": "i.js"}',
                 "sdk/node_modules/p/i.js": "exports.x = 1;",
                 "task/app.mjs": "import fs from 'node:fs';\nimport { x } from 'p';\n"
                                 "export const handler = async () => [x, fs.readdirSync('/proc/self/task').length];"}
        threads = {}
        for case, links in (("linked", {"node_modules": "sdk/node_modules"}), ("not linked", None)):
            with self.subTest(case):
                fn = self.function(None, handler="task/app.handler", files=files, links=links,
                                   env={"NODE_PATH": "/nonexistent:{root}/sdk/node_modules:{root}/task"})
                x, threads[case] = json.loads(fn.invoke({})[2])
                self.assertEqual(x, 1)
        self.assertEqual(threads["linked"] + 1, threads["not linked"])

    def test_type_module_package_json(self):
        fn = self.function("export const handler = async () => import.meta.url.endsWith('/lib/app.js');",
                           handler="lib/app.handler", name="lib/app.js", files={"package.json": '{"type": "module"}'})
        self.assertEqual(fn.invoke({})[2], b"true")

    def test_text_log_format(self):
        fn = self.function("""
            console.log('at init');
            export const handler = async () => {
              console.log('two\\nlines', { x: 1 });
              console.info('info'); console.warn('warn'); console.error('error');
              console.debug('debug'); console.trace('trace');
              return 1;
            };
        """)
        fn.invoke({}, "req-log")
        lines = fn.stdout().split("\n")
        self.assertRegex(lines[0], r"^%s\tundefined\tINFO\tat init$" % TS)
        expected = [("INFO", "two\rlines { x: 1 }"), ("INFO", "info"), ("WARN", "warn"), ("ERROR", "error"),
                    ("DEBUG", "debug"), ("TRACE", "trace")]
        self.assertEqual(len(lines), len(expected) + 2, lines)
        for line, (level, message) in zip(lines[1:], expected):
            self.assertRegex(line, r"^%s\treq-log\t%s\t%s$" % (TS, level, re.escape(message)))

    def test_json_log_format(self):
        fn = self.function("""
            export const handler = async () => {
              console.info('hello %s', 'json');
              console.debug('below INFO is dropped');
              console.error(new Error('bad'));
              return 1;
            };
        """, env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
        fn.invoke({}, "req-json")
        lines = [json.loads(l) for l in fn.stdout().splitlines()]
        self.assertEqual(len(lines), 2, lines)
        self.assertRegex(lines[0].pop("timestamp"), "^%s$" % TS)
        self.assertEqual(lines[0], {"level": "INFO", "requestId": "req-json", "message": "hello json"})
        message = lines[1]["message"]
        self.assertEqual((lines[1]["level"], message["errorType"], message["errorMessage"], message["stackTrace"][0]),
                         ("ERROR", "Error", "bad", "Error: bad"))

    def test_uncaught_exception_fails_invoke_and_exits(self):
        fn = self.function("""
            export const handler = () => new Promise(() => {
              setTimeout(() => { throw new Error('async boom'); }, 10);
            });
        """)
        path, headers, body = fn.invoke({}, "req-u")
        self.assertEqual((path, headers["Lambda-Runtime-Function-Error-Type"]), (error_path("req-u"), "Error"))
        self.assertEqual(json.loads(body)["errorMessage"], "async boom")
        self.assertEqual(fn.wait_exit(), 129)
        self.assertIn("\treq-u\tERROR\tUncaught Exception \t{\"errorType\":\"Error\",\"errorMessage\":\"async boom\"", fn.stdout())

    def test_unhandled_rejection_fails_invoke_and_exits(self):
        fn = self.function("""
            export const handler = async () => {
              Promise.reject(new Error('lost'));
              return new Promise((r) => setTimeout(r, 1000));
            };
        """)
        path, headers, body = fn.invoke({}, "req-r")
        self.assertEqual((path, headers["Lambda-Runtime-Function-Error-Type"]),
                         (error_path("req-r"), "Runtime.UnhandledPromiseRejection"))
        err = json.loads(body)
        self.assertEqual((err["errorMessage"], err["trace"][0]),
                         ("Error: lost", "Runtime.UnhandledPromiseRejection: Error: lost"))
        self.assertEqual(fn.wait_exit(), 128)

    def test_dropped_connections_and_chunked_bodies(self):
        for drop in ("header", "silent"):
            with self.subTest(drop=drop):
                fn = self.function("export const handler = async (event) => event;",
                                   api={"chunked": True, "drop": drop})
                for i in range(3):
                    self.assertEqual(fn.invoke({"i": i, "pad": "é" * 999}, "r%d" % i)[2],
                                     json.dumps({"i": i, "pad": "é" * 999}, separators=(",", ":"),
                                                ensure_ascii=False).encode())
                self.assertEqual(len(fn.api.post_connections), 3)  # one each


if __name__ == "__main__":
    unittest.main()
