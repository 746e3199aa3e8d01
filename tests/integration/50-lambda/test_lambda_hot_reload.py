"""Functions and layers served live from a directory (hot reload), and a
debugger attached to a function.

Code {S3Bucket: hot-reload, S3Key: /abs/dir} mounts the directory read-only
at /var/task (a layer: /opt); an edit on disk (a plain write, an editor's
rename-over save, a new module in a new subdirectory, a deleted file) is
seen by the next invocation, and no environment restarts without an edit.
Driven through boto3 and the AWS CLI; environments are counted through
GET /_kyoka/lambda and `kyoka lambda ls --json`.

Run by hand with
    KYOKA_BIN=build/kyoka PYTHONPATH=tests/integration \
        python3 tests/integration/50-lambda/test_lambda_hot_reload.py -v
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from lambdatest import LambdaTestCase, py_zip  # noqa: E402

# An environment's identity: a token made when the code is loaded (pids
# repeat: each sandbox has its own PID namespace).
PY_HANDLER = """\
import os, uuid
TOKEN = uuid.uuid4().hex
VALUE = "v1"
def handler(event, context):
    try:
        from pkg.sub import extra
        more = extra.VALUE
    except ImportError:
        more = "missing"
    return {"value": VALUE, "extra": more, "pid": TOKEN, "task": os.environ["LAMBDA_TASK_ROOT"]}
"""

NODE_HANDLER = """\
const TOKEN = require("crypto").randomUUID();
const VALUE = "v1";
exports.handler = async () => {
  let more = "missing";
  try { more = require("./lib/deep/extra.js").VALUE; } catch (e) {}
  return { value: VALUE, extra: more, pid: TOKEN };
};
"""

LAYER_USER = """\
def handler(event, context):
    import shared
    return {"shared": shared.VALUE}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def has_system_debugpy():
    return subprocess.run(["/usr/bin/python3", "-c", "import debugpy"], capture_output=True).returncode == 0


def dap_send(sock, message):
    body = json.dumps(message).encode()
    sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def dap_read_response(sock, command):
    """The response to command, skipping events (output, initialized)."""
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                raise AssertionError("the debug adapter closed the connection: %r" % buf)
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")][0].split(b":")[1])
        while len(buf) < length:
            chunk = sock.recv(4096)
            if not chunk:
                raise AssertionError("the debug adapter closed the connection mid-message")
            buf += chunk
        message, buf = json.loads(buf[:length]), buf[length:]
        if message.get("type") == "response" and message.get("command") == command:
            return message


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def save_by_rename(path, text):
    """What vim (backupcopy=no), IntelliJ and most editors do: write a
    temporary file beside it and rename it over the original."""
    tmp = path + ".tmp-save"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def tree_size(root):
    total = 0
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x not in ("__pycache__", ".git")]
        total += sum(os.lstat(os.path.join(d, f)).st_size for f in files)
    return total


class HotReloadBase(LambdaTestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.make_dir("kyoka-hot-")

    def make_dir(self, prefix):
        d = tempfile.mkdtemp(prefix=prefix)
        # Functions run as the sandbox user (uid 993): the tree must be
        # readable by others, as a checkout normally is.
        os.chmod(d, 0o755)
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def create_hot(self, name, path, runtime="python3.12", handler="index.handler", **kw):
        kw.setdefault("Role", self.role_arn)
        out = self.lam.create_function(FunctionName=name, Runtime=runtime, Handler=handler,
                                       Code={"S3Bucket": "hot-reload", "S3Key": path}, **kw)
        self.wait_active(name)
        return out

    def env_ids(self, name):
        return sorted(e["id"] for e in self.environments(name) if e["state"] != "dead")

    def call(self, name, event=None, **kw):
        out, body = self.invoke(name, event, **kw)
        self.assertNotIn("FunctionError", out, body)
        return body

    def wait_sha_change(self, name, old, timeout=10):
        """CodeSha256 is recomputed on the thread pool after a change."""
        deadline = time.time() + timeout
        while True:
            cfg = self.lam.get_function(FunctionName=name)["Configuration"]
            if cfg["CodeSha256"] != old:
                return cfg
            if time.time() > deadline:
                raise AssertionError("CodeSha256 of %s never changed from %s" % (name, old))
            time.sleep(0.02)

    def kyoka_cli(self, *args):
        return subprocess.run([harness.KYOKA_BIN] + list(args) + ["--endpoint", self.kyoka.endpoint],
                              capture_output=True, text=True, timeout=30)


class HotReload(HotReloadBase):
    def test_python_edits_seen_by_next_invocation(self):
        index = os.path.join(self.dir, "index.py")
        write(index, PY_HANDLER)
        created = self.create_hot("hotpy", self.dir)
        self.assertEqual(created["CodeSize"], tree_size(self.dir))

        first = self.call("hotpy")
        self.assertEqual((first["value"], first["extra"], first["task"]), ("v1", "missing", "/var/task"))
        envs = self.env_ids("hotpy")
        self.assertEqual(len(envs), 1)

        # Unchanged tree: the warm environment serves every invocation.
        for _ in range(20):
            self.assertEqual(self.call("hotpy")["pid"], first["pid"])
        self.assertEqual(self.env_ids("hotpy"), envs)

        sha = self.lam.get_function(FunctionName="hotpy")["Configuration"]["CodeSha256"]

        # A plain write.
        write(index, PY_HANDLER.replace('"v1"', '"v2"'))
        second = self.call("hotpy")
        self.assertEqual(second["value"], "v2")
        self.assertNotEqual(self.env_ids("hotpy"), envs)
        envs = self.env_ids("hotpy")
        self.assertEqual(len(envs), 1)
        sha = self.wait_sha_change("hotpy", sha)["CodeSha256"]

        # An editor's save: a new file renamed over the old one.
        save_by_rename(index, PY_HANDLER.replace('"v1"', '"v3"'))
        self.assertEqual(self.call("hotpy")["value"], "v3")
        sha = self.wait_sha_change("hotpy", sha)["CodeSha256"]

        # A new module in new subdirectories, the handler untouched.
        write(os.path.join(self.dir, "pkg", "sub", "extra.py"), 'VALUE = "from a new directory"\n')
        self.assertEqual(self.call("hotpy")["extra"], "from a new directory")
        sha = self.wait_sha_change("hotpy", sha)["CodeSha256"]

        # An edit inside the new subdirectory: its watch is there.
        write(os.path.join(self.dir, "pkg", "sub", "extra.py"), 'VALUE = "edited in place"\n')
        self.assertEqual(self.call("hotpy")["extra"], "edited in place")
        sha = self.wait_sha_change("hotpy", sha)["CodeSha256"]

        # A deleted file.
        os.unlink(os.path.join(self.dir, "pkg", "sub", "extra.py"))
        self.assertEqual(self.call("hotpy")["extra"], "missing")
        cfg = self.wait_sha_change("hotpy", sha)

        # AWS-shaped: the tree's size, no Location (nothing to download).
        got = self.lam.get_function(FunctionName="hotpy")
        self.assertEqual(got["Configuration"]["CodeSize"], tree_size(self.dir))
        self.assertNotIn("Location", got["Code"])
        self.assertEqual(cfg["CodeSha256"], got["Configuration"]["CodeSha256"])

        # Again quiet: one environment however often it is invoked.
        envs = self.env_ids("hotpy")
        pid = self.call("hotpy")["pid"]
        for _ in range(50):
            self.assertEqual(self.call("hotpy")["pid"], pid)
        self.assertEqual(self.env_ids("hotpy"), envs)

    def test_thousand_invokes_one_environment(self):
        write(os.path.join(self.dir, "index.py"), PY_HANDLER)
        self.create_hot("quiet", self.dir)
        pids = {self.call("quiet")["pid"] for _ in range(1000)}
        self.assertEqual(len(pids), 1)
        self.assertEqual(len(self.env_ids("quiet")), 1)
        # Files nobody's code reads (caches, editors' swap files) are no change.
        write(os.path.join(self.dir, "__pycache__", "index.cpython-312.pyc"), "x")
        write(os.path.join(self.dir, ".index.py.swp"), "x")
        self.assertEqual(self.call("quiet")["pid"], pids.pop())

    def test_same_content_sha_is_stable(self):
        write(os.path.join(self.dir, "index.py"), PY_HANDLER)
        a = self.create_hot("sha-a", self.dir)
        b = self.create_hot("sha-b", self.dir)
        self.assertEqual(a["CodeSha256"], b["CodeSha256"])
        other = self.make_dir("kyoka-hot-other-")
        write(os.path.join(other, "index.py"), PY_HANDLER)
        c = self.create_hot("sha-c", other)
        self.assertEqual(a["CodeSha256"], c["CodeSha256"], "the digest covers paths and contents only")
        write(os.path.join(other, "index.py"), PY_HANDLER + "\n")
        self.assertNotEqual(self.wait_sha_change("sha-c", c["CodeSha256"])["CodeSha256"], a["CodeSha256"])

    def test_node_edits_through_the_cli(self):
        index = os.path.join(self.dir, "index.js")
        write(index, NODE_HANDLER)
        r = self.kyoka.aws_cli("lambda", "create-function", "--function-name", "hotnode", "--runtime",
                               "nodejs20.x", "--handler", "index.handler", "--role", self.role_arn, "--code",
                               "S3Bucket=hot-reload,S3Key=%s" % self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_active("hotnode")
        first = self.call("hotnode")
        self.assertEqual((first["value"], first["extra"]), ("v1", "missing"))
        for _ in range(10):
            self.assertEqual(self.call("hotnode")["pid"], first["pid"])

        write(index, NODE_HANDLER.replace('"v1"', '"v2"'))
        self.assertEqual(self.call("hotnode")["value"], "v2")
        save_by_rename(index, NODE_HANDLER.replace('"v1"', '"v3"'))
        self.assertEqual(self.call("hotnode")["value"], "v3")
        write(os.path.join(self.dir, "lib", "deep", "extra.js"), 'exports.VALUE = "deep";\n')
        self.assertEqual(self.call("hotnode")["extra"], "deep")
        os.unlink(os.path.join(self.dir, "lib", "deep", "extra.js"))
        self.assertEqual(self.call("hotnode")["extra"], "missing")
        pid = self.call("hotnode")["pid"]
        for _ in range(10):
            self.assertEqual(self.call("hotnode")["pid"], pid)

        # `kyoka lambda ls` names the source.
        ls = self.kyoka_cli("lambda", "ls", "--json")
        self.assertEqual(ls.returncode, 0, ls.stderr)
        fn = [f for f in json.loads(ls.stdout)["functions"] if f["name"] == "hotnode"][0]
        self.assertEqual(fn["hot_reload"]["dir"], os.path.realpath(self.dir))
        self.assertEqual(fn["hot_reload"]["watching"], "inotify")
        text = self.kyoka_cli("lambda", "ls")
        self.assertIn("hot reload from %s" % os.path.realpath(self.dir), text.stdout)

    def test_update_function_code_between_zip_and_directory(self):
        self.create("switch", code=py_zip('def handler(e, c):\n    return {"value": "zip"}\n'))
        self.assertEqual(self.call("switch")["value"], "zip")
        write(os.path.join(self.dir, "index.py"), PY_HANDLER)
        r = self.kyoka.aws_cli("lambda", "update-function-code", "--function-name", "switch", "--s3-bucket",
                               "hot-reload", "--s3-key", self.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["CodeSize"], tree_size(self.dir))
        self.wait_active("switch")
        self.assertEqual(self.call("switch")["value"], "v1")
        write(os.path.join(self.dir, "index.py"), PY_HANDLER.replace('"v1"', '"v2"'))
        self.assertEqual(self.call("switch")["value"], "v2")
        # Back to a zip: the directory is no longer watched or mounted.
        self.lam.update_function_code(FunctionName="switch",
                                      ZipFile=py_zip('def handler(e, c):\n    return {"value": "zip again"}\n'))
        self.wait_active("switch")
        self.assertEqual(self.call("switch")["value"], "zip again")
        self.assertIn("Location", self.lam.get_function(FunctionName="switch")["Code"])
        write(os.path.join(self.dir, "index.py"), PY_HANDLER.replace('"v1"', '"v3"'))
        self.assertEqual(self.call("switch")["value"], "zip again")

    def test_published_version_is_served_from_the_directory(self):
        write(os.path.join(self.dir, "index.py"), PY_HANDLER)
        self.create_hot("pub", self.dir)
        v = self.lam.publish_version(FunctionName="pub")
        self.assertNotIn("_HotReload", json.dumps(v))
        self.assertEqual(self.call("pub", Qualifier=v["Version"])["value"], "v1")
        write(os.path.join(self.dir, "index.py"), PY_HANDLER.replace('"v1"', '"v2"'))
        self.assertEqual(self.call("pub", Qualifier=v["Version"])["value"], "v2")

    def test_layer_served_from_a_directory(self):
        layer_dir = self.make_dir("kyoka-hot-layer-")
        write(os.path.join(layer_dir, "python", "shared.py"), 'VALUE = "layer v1"\n')
        layer = self.lam.publish_layer_version(LayerName="live",
                                               Content={"S3Bucket": "hot-reload", "S3Key": layer_dir},
                                               CompatibleRuntimes=["python3.12"])
        self.assertNotIn("Location", layer["Content"])
        self.assertEqual(layer["Content"]["CodeSize"], tree_size(layer_dir))
        self.create("uses-layer", code=py_zip(LAYER_USER), Layers=[layer["LayerVersionArn"]])
        first = self.invoke("uses-layer")[1]
        self.assertEqual(first, {"shared": "layer v1"})
        envs = self.env_ids("uses-layer")
        write(os.path.join(layer_dir, "python", "shared.py"), 'VALUE = "layer v2"\n')
        self.assertEqual(self.invoke("uses-layer")[1], {"shared": "layer v2"})
        self.assertNotEqual(self.env_ids("uses-layer"), envs)
        envs = self.env_ids("uses-layer")
        for _ in range(10):
            self.assertEqual(self.invoke("uses-layer")[1], {"shared": "layer v2"})
        self.assertEqual(self.env_ids("uses-layer"), envs)
        got = self.lam.get_layer_version(LayerName="live", VersionNumber=layer["Version"])
        deadline = time.time() + 10
        while got["Content"]["CodeSha256"] == layer["Content"]["CodeSha256"] and time.time() < deadline:
            time.sleep(0.02)
            got = self.lam.get_layer_version(LayerName="live", VersionNumber=layer["Version"])
        self.assertNotEqual(got["Content"]["CodeSha256"], layer["Content"]["CodeSha256"])

    def test_layer_rules(self):
        write(os.path.join(self.dir, "index.py"), PY_HANDLER)
        # A layer served from the function's own directory would shadow it.
        same = self.lam.publish_layer_version(LayerName="same",
                                              Content={"S3Bucket": "hot-reload", "S3Key": self.dir})
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as ctx:
            self.create_hot("shadowed", self.dir, Layers=[same["LayerVersionArn"]])
        self.assertIn("overlaps the function's code directory", str(ctx.exception))
        self.assertEqual(self.lam.list_functions()["Functions"], [])
        # A live layer is mounted as it is: it must be the function's only one.
        other_dir = self.make_dir("kyoka-hot-layer2-")
        live = self.lam.publish_layer_version(LayerName="live2",
                                              Content={"S3Bucket": "hot-reload", "S3Key": other_dir})
        zipped = self.lam.publish_layer_version(LayerName="zipped",
                                                Content={"ZipFile": py_zip("X = 1\n", name="python/x.py")})
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as ctx:
            self.create("two-layers", Layers=[zipped["LayerVersionArn"], live["LayerVersionArn"]])
        self.assertIn("only as its one layer", str(ctx.exception))
        self.assertEqual(self.lam.list_functions()["Functions"], [])

    def test_refused_paths(self):
        missing = os.path.join(self.dir, "nope")
        a_file = os.path.join(self.dir, "file.txt")
        write(a_file, "x")
        cases = [(missing, "No such file or directory"), (a_file, "not a directory"),
                 ("relative/dir", "absolute path")]
        if os.geteuid() == 0:
            closed = self.make_dir("kyoka-hot-closed-")
            os.chmod(closed, 0o700)
            cases.append((closed, "not readable by the user functions run as"))
        for path, why in cases:
            with self.subTest(path=path):
                with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as ctx:
                    self.create_hot("refused", path)
                msg = ctx.exception.response["Error"]["Message"]
                self.assertIn(path, msg)
                self.assertIn(why, msg)
                # The same through the CLI: exit status and AWS's message.
                r = self.kyoka.aws_cli("lambda", "create-function", "--function-name", "refused", "--runtime",
                                       "python3.12", "--handler", "index.handler", "--role", self.role_arn,
                                       "--code", "S3Bucket=hot-reload,S3Key=%s" % path)
                self.assertNotEqual(r.returncode, 0)
                self.assertIn("InvalidParameterValueException", r.stderr)
                self.assertIn(path, r.stderr)
        self.assertEqual(self.lam.list_functions()["Functions"], [])
        # UpdateFunctionCode and PublishLayerVersion check the same way and
        # change nothing.
        self.create("keeps-zip")
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException):
            self.lam.update_function_code(FunctionName="keeps-zip", S3Bucket="hot-reload", S3Key=missing)
        self.assertIn("Location", self.lam.get_function(FunctionName="keeps-zip")["Code"])
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException):
            self.lam.publish_layer_version(LayerName="bad", Content={"S3Bucket": "hot-reload", "S3Key": missing})
        self.assertEqual(self.lam.list_layers()["Layers"], [])

    def test_debug_node_inspector(self):
        write(os.path.join(self.dir, "index.js"),
              'const TOKEN = require("crypto").randomUUID();\n'
              'exports.handler = async (e) => { await new Promise(r => setTimeout(r, e.sleep || 0));'
              ' return { pid: TOKEN, argv: process.execArgv }; };\n')
        self.create_hot("dbg", self.dir, runtime="nodejs20.x", Timeout=1)
        normal = self.call("dbg")
        port = free_port()
        r = self.kyoka_cli("lambda", "debug", "dbg", "--port", str(port))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--inspect=127.0.0.1:%d" % port, r.stdout)
        self.assertIn("--off", r.stdout)
        debugged = self.call("dbg")
        self.assertNotEqual(debugged["pid"], normal["pid"])
        self.assertIn("--inspect=127.0.0.1:%d" % port, debugged["argv"])
        with urllib.request.urlopen("http://127.0.0.1:%d/json" % port, timeout=5) as resp:
            targets = json.load(resp)
        self.assertTrue(targets and targets[0]["webSocketDebuggerUrl"].startswith("ws://127.0.0.1:%d/" % port),
                        targets)
        # The timeout (1 s) is lifted while debugging.
        self.assertIn("pid", self.call("dbg", {"sleep": 1500}))
        ls = json.loads(self.kyoka_cli("lambda", "ls", "--json").stdout)
        self.assertEqual([f["debug_port"] for f in ls["functions"] if f["name"] == "dbg"], [port])

        r = self.kyoka_cli("lambda", "debug", "dbg", "--off")
        self.assertEqual(r.returncode, 0, r.stderr)
        back = self.call("dbg")
        self.assertEqual(back["argv"], [])
        out, body = self.invoke("dbg", {"sleep": 1500})
        self.assertEqual(out.get("FunctionError"), "Unhandled", body)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                urllib.request.urlopen("http://127.0.0.1:%d/json" % port, timeout=1).close()
            except OSError:
                break
            time.sleep(0.05)
        else:
            self.fail("the debugged environment was never retired")

    def test_debug_python_pdb_over_a_socket(self):
        # pdb is the fallback when debugpy cannot be imported: a package of
        # the function's own that fails to import hides the system's.
        write(os.path.join(self.dir, "debugpy", "__init__.py"), "raise ImportError('hidden by the test')\n")
        write(os.path.join(self.dir, "index.py"),
              "def handler(event, context):\n"
              "    answer = 41\n"
              "    if event.get('stop'):\n"
              "        breakpoint()\n"
              "    return {'answer': answer + 1}\n")
        self.create_hot("dbgpy", self.dir, Timeout=1)
        port = free_port()
        r = self.kyoka_cli("lambda", "debug", "dbgpy", "--port", str(port))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nc 127.0.0.1 %d" % port, r.stdout)
        self.assertEqual(self.call("dbgpy")["answer"], 42)
        result = {}
        t = threading.Thread(target=lambda: result.update(body=self.invoke("dbgpy", {"stop": True})[1]))
        t.start()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            f = s.makefile("rw", buffering=1)
            seen = ""
            while "(Pdb)" not in seen:
                chunk = s.recv(4096).decode()
                self.assertTrue(chunk, "pdb closed the connection: %r" % seen)
                seen += chunk
            time.sleep(1.5)  # past the function's 1 s timeout: lifted
            f.write("answer = 99\n")
            f.write("c\n")
            f.flush()
            t.join(20)
        self.assertFalse(t.is_alive())
        self.assertEqual(result["body"]["answer"], 100)
        self.assertEqual(self.kyoka_cli("lambda", "debug", "dbgpy", "--off").returncode, 0)
        self.assertEqual(self.call("dbgpy")["answer"], 42)

    @unittest.skipUnless(has_system_debugpy(), "python3-debugpy is not installed (scripts/install-deps.sh test installs it)")
    def test_debug_python_debugpy(self):
        write(os.path.join(self.dir, "index.py"),
              "import sys\n"
              "def handler(event, context):\n"
              "    import time\n"
              "    time.sleep(event.get('sleep', 0))\n"
              "    return {'debugpy': 'debugpy' in sys.modules}\n")
        self.create_hot("dbgdap", self.dir, Timeout=1)
        self.assertEqual(self.call("dbgdap"), {"debugpy": False})
        port = free_port()
        r = self.kyoka_cli("lambda", "debug", "dbgdap", "--port", str(port))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("debugpy", r.stdout)
        self.assertIn('"port": %d' % port, r.stdout)
        self.assertEqual(self.call("dbgdap"), {"debugpy": True})
        # An IDE's first words in the Debug Adapter Protocol: the adapter
        # listening on the printed port answers them.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            dap_send(s, {"seq": 1, "type": "request", "command": "initialize",
                         "arguments": {"adapterID": "kyoka-test", "clientID": "kyoka-test"}})
            reply = dap_read_response(s, "initialize")
            self.assertTrue(reply["success"], reply)
            self.assertIn("supportsConfigurationDoneRequest", reply["body"])
        # The timeout (1 s) is lifted while debugging.
        self.assertEqual(self.call("dbgdap", {"sleep": 1.5}), {"debugpy": True})
        self.assertEqual(self.kyoka_cli("lambda", "debug", "dbgdap", "--off").returncode, 0)
        self.assertEqual(self.call("dbgdap"), {"debugpy": False})
        out, body = self.invoke("dbgdap", {"sleep": 1.5})
        self.assertEqual(out.get("FunctionError"), "Unhandled", body)
        # The debugged environment, and the adapter debugpy started in its
        # sandbox, are gone.
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                break
            time.sleep(0.05)
        else:
            self.fail("debugpy's adapter still listens after --off")

    def test_debug_refusals(self):
        self.create_provided("prov")
        r = self.kyoka_cli("lambda", "debug", "prov")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("python and node", r.stderr)
        r = self.kyoka_cli("lambda", "debug", "nosuch")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("no function nosuch", r.stderr)


class HotReloadRoots(HotReloadBase):
    """--hot-reload-roots limits what may be mounted, after symlinks."""

    root = tempfile.mkdtemp(prefix="kyoka-hot-root-")
    extra_args = ("--hot-reload-roots", root)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.root, True)

    def test_roots(self):
        inside = os.path.join(self.root, "fn")
        write(os.path.join(inside, "index.py"), PY_HANDLER)
        os.chmod(self.root, 0o755)
        os.chmod(inside, 0o755)
        self.create_hot("inside", inside)
        self.assertEqual(self.call("inside")["value"], "v1")

        write(os.path.join(self.dir, "index.py"), PY_HANDLER)
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as ctx:
            self.create_hot("outside", self.dir)
        self.assertIn(self.dir, str(ctx.exception))
        self.assertIn("--hot-reload-roots", str(ctx.exception))

        # A symlink inside the root that points outside it is refused too.
        link = os.path.join(self.root, "escape")
        os.symlink(self.dir, link)
        self.addCleanup(os.unlink, link)
        with self.assertRaises(self.lam.exceptions.InvalidParameterValueException) as ctx:
            self.create_hot("escape", link)
        msg = ctx.exception.response["Error"]["Message"]
        self.assertIn(link, msg)
        self.assertIn("resolves to %s" % os.path.realpath(self.dir), msg)
        self.assertEqual([f["FunctionName"] for f in self.lam.list_functions()["Functions"]], ["inside"])

    def test_bad_root_refuses_to_start(self):
        server = harness.KyokaServer(ephemeral=True, extra_args=["--hot-reload-roots", "/no/such/dir"])
        try:
            with self.assertRaises(RuntimeError) as ctx:
                server.start()
            self.assertIn("/no/such/dir", str(ctx.exception))
        finally:
            server.cleanup()


class HotReloadDurable(unittest.TestCase):
    """The source is part of the function: a restart resumes watching."""

    def test_restart_resumes_watching(self):
        import boto3  # noqa: F401 (harness clients)
        data = tempfile.mkdtemp(prefix="kyoka-hot-durable-")
        code = tempfile.mkdtemp(prefix="kyoka-hot-code-")
        os.chmod(code, 0o755)
        self.addCleanup(shutil.rmtree, data, True)
        self.addCleanup(shutil.rmtree, code, True)
        write(os.path.join(code, "index.py"), PY_HANDLER)
        server = harness.KyokaServer(data_dir=data).start()
        try:
            case = LambdaTestCase()
            case.kyoka = server
            lam, iam = server.client("lambda"), server.client("iam")
            case.lam, case.iam = lam, iam
            role = case.make_role("durable-role")
            lam.create_function(FunctionName="durable", Runtime="python3.12", Handler="index.handler", Role=role,
                                Code={"S3Bucket": "hot-reload", "S3Key": code})
            case.wait_active("durable")
            self.assertEqual(json.loads(lam.invoke(FunctionName="durable")["Payload"].read())["value"], "v1")
            self.assertEqual(server.stop(), 0, server.read_log())
            server.start()
            lam = server.client("lambda")
            self.assertEqual(json.loads(lam.invoke(FunctionName="durable")["Payload"].read())["value"], "v1")
            write(os.path.join(code, "index.py"), PY_HANDLER.replace('"v1"', '"after restart"'))
            self.assertEqual(json.loads(lam.invoke(FunctionName="durable")["Payload"].read())["value"],
                             "after restart")
            self.assertNotIn("Location", lam.get_function(FunctionName="durable")["Code"])
        finally:
            server.cleanup()


class HotReloadWatchLimit(HotReloadBase):
    """Past the inotify watch limit: said in the function's log, and the
    tree's modification times are compared before each invocation."""

    @classmethod
    def setUpClass(cls):
        os.environ["KYOKA_HOT_RELOAD_MAX_WATCHES"] = "2"
        try:
            super().setUpClass()
        finally:
            del os.environ["KYOKA_HOT_RELOAD_MAX_WATCHES"]

    def test_fallback_to_modification_times(self):
        write(os.path.join(self.dir, "index.py"), PY_HANDLER)
        for d in ("a", "b", "c"):
            write(os.path.join(self.dir, "pkg", d, "x.py"), "")
        self.create_hot("manydirs", self.dir)
        out, body = self.invoke("manydirs", LogType="Tail")
        import base64
        log = base64.b64decode(out["LogResult"]).decode()
        self.assertIn("falling back to comparing the tree's modification times", log)
        self.assertIn(os.path.realpath(self.dir), log)
        pid = body["pid"]
        for _ in range(10):
            self.assertEqual(self.call("manydirs")["pid"], pid)
        write(os.path.join(self.dir, "index.py"), PY_HANDLER.replace('"v1"', '"polled"'))
        self.assertEqual(self.call("manydirs")["value"], "polled")
        write(os.path.join(self.dir, "pkg", "sub", "extra.py"), 'VALUE = "deep"\n')
        self.assertEqual(self.call("manydirs")["extra"], "deep")
        ls = json.loads(self.kyoka_cli("lambda", "ls", "--json").stdout)
        self.assertEqual([f["hot_reload"]["watching"] for f in ls["functions"] if f["name"] == "manydirs"],
                         ["mtime-poll"])


if __name__ == "__main__":
    harness.main()
