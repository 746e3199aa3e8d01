"""Integration harness: start a real `kyoka serve` on a free port and drive
it with real clients (boto3 and awscli from Debian).

Each KyokaServer gets its own temporary data directory (or runs ephemeral),
waits for /_kyoka/health, and can be killed with SIGKILL and restarted on the
same data directory for durability tests.

Environment: KYOKA_BIN is the kyoka binary (CTest sets it).
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request
import warnings

import boto3
import botocore.config

KYOKA_BIN = os.environ.get("KYOKA_BIN", os.path.join(os.path.dirname(__file__), "../../build/kyoka"))


def use_model_overlays(*services):
    """Let Debian's botocore (1.29) call what AWS added since, for these
    services: the botocore model merged with kyoka's overlay
    (tools/models/<service>-overlay.json, the same merge tools/gen_models.py
    compiles into kyoka) is written where botocore looks first
    (AWS_DATA_PATH). Call before the first client of those services. Opt-in
    per service: an overlay may also change a protocol (SQS's JSON), which a
    test of the other protocol must not get."""
    import sys
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    sys.path.insert(0, os.path.join(root, "tools"))
    import gen_models
    out = tempfile.mkdtemp(prefix="kyoka-models-")
    for kname, folder, version in gen_models.SERVICES:
        if kname not in services:
            continue
        model = gen_models.load(folder, version)
        model.pop("kyoka", None)
        os.makedirs(os.path.join(out, folder, version))
        with open(os.path.join(out, folder, version, "service-2.json"), "w") as f:
            json.dump(model, f)
    os.environ["AWS_DATA_PATH"] = out + (os.pathsep + os.environ["AWS_DATA_PATH"] if os.environ.get("AWS_DATA_PATH")
                                         else "")
    return out
ACCESS_KEY = "test"
SECRET_KEY = "test"
ACCOUNT = "000000000000"
REGION = "us-east-1"


class KyokaServer:
    def __init__(self, ephemeral=False, extra_args=(), data_dir=None):
        self.ephemeral = ephemeral
        self.extra_args = list(extra_args)
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="kyoka-it-")
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    def start(self):
        port_file = os.path.join(self.data_dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        args = [KYOKA_BIN, "serve", "--port", "0", "--port-file", port_file]
        if self.ephemeral:
            args.append("--ephemeral")
        else:
            args += ["--data-dir", os.path.join(self.data_dir, "state")]
        args += self.extra_args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kyoka exited at start: " + self.read_log())
            if os.path.exists(port_file):
                with open(port_file) as f:
                    content = f.read().strip()
                if content:
                    self.port = int(content)
                    break
            time.sleep(0.01)
        else:
            raise RuntimeError("kyoka did not start: " + self.read_log())
        self.wait_healthy()
        return self

    def wait_healthy(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.endpoint + "/_kyoka/health", timeout=2) as r:
                    if r.status == 200:
                        return json.load(r)
            except OSError:
                time.sleep(0.01)
        raise RuntimeError("kyoka never became healthy: " + self.read_log())

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    def admin(self, method, path):
        req = urllib.request.Request(self.endpoint + path, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def reset(self):
        return self.admin("POST", "/_kyoka/reset")

    def advance(self, seconds):
        return self.admin("POST", "/_kyoka/clock/advance?seconds=%s" % seconds)

    def client(self, service, access_key=ACCESS_KEY, secret_key=SECRET_KEY, session_token=None, region=REGION,
               **cfg):
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=region, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, aws_session_token=session_token,
            config=botocore.config.Config(retries={"max_attempts": 0}, **cfg))

    def aws_cli(self, *args, access_key=ACCESS_KEY, secret_key=SECRET_KEY, check=False):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key,
                   AWS_DEFAULT_REGION=REGION, AWS_PAGER="", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        env.pop("AWS_SESSION_TOKEN", None)
        return subprocess.run(["aws", "--endpoint-url", self.endpoint, "--output", "json"] + list(args),
                              env=env, capture_output=True, text=True, check=check, timeout=60)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            self.log.close()
            return rc
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)


class KyokaTestCase(unittest.TestCase):
    """One server per test class; reset between tests."""
    ephemeral = True
    extra_args = ()

    @classmethod
    def setUpClass(cls):
        cls.kyoka = KyokaServer(ephemeral=cls.ephemeral, extra_args=cls.extra_args).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.kyoka.stop()
        log = cls.kyoka.read_log()
        cls.kyoka.cleanup()
        # A clean shutdown exits 0; sanitizer reports (leaks) make it non-zero.
        if rc not in (0, None):
            raise AssertionError("kyoka exited with %s on SIGTERM:\n%s" % (rc, log))

    def setUp(self):
        # boto3 keeps pooled sockets open until collection; not our leak.
        warnings.simplefilter("ignore", ResourceWarning)
        status, _ = self.kyoka.reset()
        self.assertEqual(status, 200)


def main():
    unittest.main(verbosity=2)
