"""Decision ids across a restart, the data directory lock with two servers,
and one answer (NotImplemented with the pointer to /_kyoka/health, in the
service's own protocol) for every botocore service kyoka does not serve."""
import glob
import os
import subprocess
import time
import unittest
import warnings

import boto3
import botocore.config
import botocore.exceptions
import botocore.session

from harness import KYOKA_BIN, KyokaServer, main

BOTOCORE_DATA = "/usr/lib/python3/dist-packages/botocore/data"


def explain(server, decision_id):
    env = dict(os.environ, KYOKA_ENDPOINT=server.endpoint)
    return subprocess.run([KYOKA_BIN, "iam", "explain", decision_id, "--json"], env=env, capture_output=True,
                          text=True, timeout=30)


class RestartAndLock(unittest.TestCase):
    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.server = KyokaServer().start()

    def tearDown(self):
        self.server.cleanup()

    def decision_id(self):
        r = self.server.client("sqs").list_queues()
        return r["ResponseMetadata"]["HTTPHeaders"]["x-kyoka-decision-id"]

    def test_ids_are_unique_across_a_restart(self):
        before = {self.decision_id() for _ in range(3)}
        self.server.stop()
        self.server.start()
        after = {self.decision_id() for _ in range(3)}
        self.assertFalse(before & after, (before, after))
        # An id from before the restart is named as such, not shown as another decision.
        r = explain(self.server, sorted(before)[0])
        self.assertEqual(r.returncode, 1)
        self.assertIn("earlier run", r.stderr)
        self.assertEqual(explain(self.server, sorted(after)[0]).returncode, 0)

    def test_aged_out(self):
        first = self.decision_id()
        sqs = self.server.client("sqs")
        # The log keeps 4096 decisions; a reset drops them but never reuses ids.
        self.server.reset()
        r = explain(self.server, first)
        self.assertEqual(r.returncode, 1)
        self.assertIn("aged out", r.stderr)
        sqs.list_queues()

    def test_second_server_on_the_same_data_dir_fails_at_once(self):
        state = os.path.join(self.server.data_dir, "state")
        before = sorted(os.listdir(state))
        t0 = time.time()
        r = subprocess.run([KYOKA_BIN, "serve", "--port", "0", "--data-dir", state], capture_output=True, text=True,
                           timeout=20)
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(r.returncode, 1)
        self.assertIn("in use by another kyoka server (pid %d)" % self.server.proc.pid, r.stderr)
        self.assertEqual(sorted(os.listdir(state)), before)  # nothing loaded or changed
        # The first server still serves; after it stops (even by kill -9) the directory is free.
        self.server.client("sqs").list_queues()
        self.server.kill9()
        self.server.start()
        self.server.client("sqs").list_queues()

    def test_read_only_data_dir(self):
        d = os.path.join(self.server.data_dir, "ro")
        os.mkdir(d, 0o555)
        if os.access(d, os.W_OK):
            self.skipTest("running as root: permissions are not enforced")
        r = subprocess.run([KYOKA_BIN, "serve", "--port", "0", "--data-dir", d], capture_output=True, text=True,
                           timeout=20)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--data-dir", r.stderr)

    def test_serve_help_lists_flags_with_defaults(self):
        r = subprocess.run([KYOKA_BIN, "serve", "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        for flag in ("--host", "--port", "--data-dir", "--ephemeral", "--auth", "--account-id", "--region",
                     "--access-key", "--secret-key", "--log-format", "--quiet", "--port-file",
                     "--lambda-concurrency", "--lambda-idle-seconds", "--sandbox", "--node-sdk-dir"):
            self.assertIn(flag, r.stdout)
        self.assertIn("default 4566", r.stdout)

    def test_health_uptime_in_milliseconds(self):
        status, h = self.server.admin("GET", "/_kyoka/health")
        self.assertEqual(status, 200)
        self.assertEqual(round(h["uptimeSeconds"], 3), h["uptimeSeconds"])
        self.assertLessEqual(len(repr(h["uptimeSeconds"]).split(".")[-1]), 3)


def first_operation(model):
    """A SigV4-signed operation botocore can serialise without inputs (no
    URI labels). Unsigned operations (sso, sso-oidc) carry no service name
    and are routed by their shape; see docs/iam.md."""
    for name in model.operation_names:
        op = model.operation_model(name)
        if op.auth_type == "none" or "smithy.api#noAuth" in (getattr(op, "auth", None) or []):
            continue
        uri = op.http.get("requestUri", "/")
        if "{" in uri:
            continue
        return name
    return None


class Unserved(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = KyokaServer(ephemeral=True, extra_args=["--quiet"]).start()
        _, health = cls.server.admin("GET", "/_kyoka/health")
        cls.served = set(health["services"])

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_every_botocore_service_answers_not_implemented(self):
        warnings.simplefilter("ignore", ResourceWarning)
        session = botocore.session.get_session()
        cfg = botocore.config.Config(retries={"max_attempts": 0}, parameter_validation=False,
                                     inject_host_prefix=False, connect_timeout=5, read_timeout=10)
        names = sorted(d for d in os.listdir(BOTOCORE_DATA) if glob.glob(os.path.join(BOTOCORE_DATA, d, "*",
                                                                                      "service-2.json*")))
        checked, problems = 0, []
        for name in names:
            try:
                client = session.create_client(name, endpoint_url=self.server.endpoint, region_name="us-east-1",
                                               aws_access_key_id="test", aws_secret_access_key="test", config=cfg)
            except Exception as e:  # noqa: BLE001 - a client botocore cannot build is not kyoka's answer
                continue
            meta = client.meta.service_model
            # SigV2 (sdb) and bearer-token (codecatalyst) clients send no SigV4
            # scope naming the service.
            if meta.signature_version in ("v2", "bearer"):
                continue
            signing = meta.signing_name or meta.endpoint_prefix
            if signing in self.served or meta.endpoint_prefix in self.served:
                continue
            op = first_operation(meta)
            if not op:
                continue
            method = getattr(client, botocore.xform_name(op))
            try:
                method()
                problems.append("%s.%s: succeeded" % (name, op))
            except botocore.exceptions.ClientError as e:
                err = e.response.get("Error", {})
                if err.get("Code") != "NotImplemented" or "/_kyoka/health" not in err.get("Message", ""):
                    problems.append("%s.%s (%s): %s %r" % (name, op, meta.protocol, e.response["ResponseMetadata"].get(
                        "HTTPStatusCode"), err))
                else:
                    checked += 1
            except Exception as e:  # noqa: BLE001 - e.g. endpoint discovery, event streams
                problems.append("%s.%s (%s): %s" % (name, op, meta.protocol, type(e).__name__))
            client.close()
        self.assertGreater(checked, 250)
        self.maxDiff = None
        self.assertEqual(problems, [])


if __name__ == "__main__":
    main()
