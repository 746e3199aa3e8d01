"""Foundation: kyoka serves STS GetCallerIdentity over SigV4 to real clients,
answers authentication failures exactly as AWS does, exposes the admin
endpoints, and starts, stops and fails at start the way the README says."""
import json
import os
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

import botocore.exceptions

from harness import KYOKA_BIN, KyokaServer, KyokaTestCase, main


class GetCallerIdentity(KyokaTestCase):
    def test_awscli_root_identity(self):
        r = self.kyoka.aws_cli("sts", "get-caller-identity")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["Account"], "000000000000")
        self.assertEqual(out["Arn"], "arn:aws:iam::000000000000:root")

    def test_awscli_wrong_secret(self):
        r = self.kyoka.aws_cli("sts", "get-caller-identity", secret_key="wrong")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("SignatureDoesNotMatch", r.stderr)

    def test_awscli_unknown_key(self):
        r = self.kyoka.aws_cli("sts", "get-caller-identity", access_key="AKIAUNKNOWNKEY000000")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("InvalidClientTokenId", r.stderr)
        self.assertIn("The security token included in the request is invalid", r.stderr)

    def test_boto3_identity_and_errors(self):
        ident = self.kyoka.client("sts").get_caller_identity()
        self.assertEqual(ident["Account"], "000000000000")
        self.assertEqual(ident["UserId"], "000000000000")
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.kyoka.client("sts", secret_key="nope").get_caller_identity()
        self.assertEqual(e.exception.response["Error"]["Code"], "SignatureDoesNotMatch")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertTrue(e.exception.response["ResponseMetadata"]["RequestId"])
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.kyoka.client("sts", access_key="AKIAUNKNOWNKEY000000").get_caller_identity()
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidClientTokenId")

    def test_unsigned_request_is_missing_token(self):
        req = urllib.request.Request(self.kyoka.endpoint + "/", data=b"Action=GetCallerIdentity&Version=2011-06-15",
                                     method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        body = e.exception.read().decode()
        self.assertEqual(e.exception.code, 403)
        self.assertIn("<Code>MissingAuthenticationToken</Code>", body)
        self.assertIn("<Message>Request is missing Authentication Token</Message>", body)

    def signed_post(self, body, minutes_ago=0):
        """Sign a query request as botocore does, optionally with a clock
        that runs minutes behind, and send it; returns (status, body)."""
        import datetime
        import unittest.mock
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        req = botocore.awsrequest.AWSRequest(method="POST", url=self.kyoka.endpoint + "/", data=body,
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        then = datetime.datetime.utcnow() - datetime.timedelta(minutes=minutes_ago)
        with unittest.mock.patch("botocore.auth.datetime") as fake:
            fake.datetime.utcnow.return_value = then
            botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "sts",
                                    "us-east-1").add_auth(req)
        p = req.prepare()
        r = urllib.request.Request(p.url, data=p.body.encode(), method="POST", headers=dict(p.headers))
        try:
            with urllib.request.urlopen(r) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def test_clock_skew_rejected(self):
        # A client whose clock is 20 minutes behind is outside the 15-minute window.
        status, body = self.signed_post("Action=GetCallerIdentity&Version=2011-06-15", minutes_ago=20)
        self.assertEqual(status, 403)
        self.assertIn("<Code>SignatureDoesNotMatch</Code>", body)
        self.assertRegex(body, r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z "
                               r"\(\d{8}T\d{6}Z - 15 min\.\)")
        status, _ = self.signed_post("Action=GetCallerIdentity&Version=2011-06-15", minutes_ago=10)
        self.assertEqual(status, 200)

    def test_advancing_server_clock_keeps_signatures_valid(self):
        # Tests move the server clock to expire visibility timeouts and
        # credentials; requests signed with the real time must still pass.
        self.kyoka.advance(6 * 3600)
        self.assertEqual(self.kyoka.client("sts").get_caller_identity()["Account"], "000000000000")

    def test_unknown_action(self):
        status, body = self.signed_post("Action=FlyToTheMoon&Version=2011-06-15")
        self.assertEqual(status, 400)
        self.assertIn("<Code>InvalidAction</Code>", body)
        self.assertIn("The action FlyToTheMoon is not valid for this web service.", body)


class Routing(KyokaTestCase):
    """Requests reach the right service in its own protocol whichever way the
    client addresses it on the one port; what is not built answers
    NotImplemented there."""

    def test_s3_path_style(self):
        # S3 is served; an operation kyoka has not built answers AWS's
        # NotImplemented in S3's XML.
        self.assertEqual(self.kyoka.client("s3").list_buckets()["Buckets"], [])
        self.kyoka.client("s3").create_bucket(Bucket="routing")
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.kyoka.client("s3").get_bucket_website(Bucket="routing")
        self.assertEqual(e.exception.response["Error"]["Code"], "NotImplemented")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 501)

    def test_s3_virtual_host_unsigned(self):
        # An unsigned request by virtual host reaches S3 and is refused as
        # anonymous, in S3's XML.
        for host in ("photos.localhost:4566", "photos.s3.localhost.localstack.cloud:4566"):
            req = urllib.request.Request(self.kyoka.endpoint + "/key.txt", headers={"Host": host})
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(req)
            self.assertEqual(e.exception.code, 403)
            self.assertIn("<Code>AccessDenied</Code>", e.exception.read().decode())

    def test_lambda_operation_not_built_yet(self):
        # Lambda is served; an operation of its model that kyoka has not
        # built answers AWS's NotImplemented in Lambda's REST-JSON shape.
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.kyoka.client("lambda").list_code_signing_configs()
        self.assertEqual(e.exception.response["Error"]["Code"], "NotImplemented")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 501)
        self.assertIn("ListCodeSigningConfigs", e.exception.response["Error"]["Message"])

    def test_lambda_paths_unsigned(self):
        req = urllib.request.Request(self.kyoka.endpoint + "/2015-03-31/functions/")
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        self.assertEqual(e.exception.code, 403)
        self.assertEqual(e.exception.headers["x-amzn-ErrorType"], "MissingAuthenticationTokenException")


class Admin(KyokaTestCase):
    def test_health(self):
        status, h = self.kyoka.admin("GET", "/_kyoka/health")
        self.assertEqual(status, 200)
        self.assertEqual(h["status"], "ready")
        self.assertIn("sts", h["services"])
        self.assertIn("version", h)
        self.assertGreaterEqual(h["uptimeSeconds"], 0)

    def test_reset_returns_clock_to_real_time(self):
        self.kyoka.advance(7200)
        self.kyoka.reset()
        _, now = self.kyoka.admin("GET", "/_kyoka/clock")
        self.assertLess(abs(now["epochMillis"] - time.time() * 1000), 60000)

    def test_clock_advance(self):
        _, before = self.kyoka.admin("GET", "/_kyoka/clock")
        status, after = self.kyoka.advance(3600)
        self.assertEqual(status, 200)
        self.assertGreaterEqual(after["epochMillis"] - before["epochMillis"], 3600 * 1000)
        status, err = self.kyoka.advance("abc")
        self.assertEqual(status, 400)
        self.assertIn("seconds", err["message"])

    def test_cli_clock_advance(self):
        env = dict(os.environ, KYOKA_ENDPOINT=self.kyoka.endpoint)
        r = subprocess.run([KYOKA_BIN, "clock", "advance", "60"], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreaterEqual(json.loads(r.stdout)["offsetSeconds"], 60)

    def test_unknown_admin_path(self):
        status, err = self.kyoka.admin("GET", "/_kyoka/nothing")
        self.assertEqual(status, 404)


class HttpBehaviour(KyokaTestCase):
    def raw(self, data, read_until_close=True):
        s = socket.create_connection(("127.0.0.1", self.kyoka.port))
        s.sendall(data)
        s.settimeout(5)
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
                if not read_until_close:
                    break
        except socket.timeout:
            pass
        s.close()
        return b"".join(chunks)

    def test_pipelined_health_requests(self):
        req = b"GET /_kyoka/health HTTP/1.1\r\nHost: x\r\n\r\n"
        out = self.raw(req * 3 + b"GET /_kyoka/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(out.count(b"HTTP/1.1 200"), 4)

    def test_oversized_header(self):
        out = self.raw(b"GET /_kyoka/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431"), out[:100])


class StartUp(KyokaTestCase):
    def test_bad_flag_fails_with_hint(self):
        r = subprocess.run([KYOKA_BIN, "serve", "--prot", "1"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown flag: --prot", r.stderr)

    def test_unusable_data_dir(self):
        with tempfile.NamedTemporaryFile() as f:
            r = subprocess.run([KYOKA_BIN, "serve", "--port", "0", "--data-dir", f.name], capture_output=True,
                               text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a directory", r.stderr)
        self.assertIn("--data-dir", r.stderr)

    def test_port_in_use(self):
        r = subprocess.run([KYOKA_BIN, "serve", "--port", str(self.kyoka.port), "--ephemeral"], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--port", r.stderr)

    def test_banner_says_what_it_does(self):
        log = self.kyoka.read_log()
        self.assertIn("listening on http://127.0.0.1:%d" % self.kyoka.port, log)
        self.assertIn("data: ephemeral", log)
        self.assertIn("auth: sigv4", log)
        self.assertIn("account 000000000000", log)
        self.assertIn("region us-east-1", log)

    def test_request_log_line(self):
        self.kyoka.client("sts").get_caller_identity()
        time.sleep(0.1)
        self.assertRegex(self.kyoka.read_log(), r"sts GetCallerIdentity arn:aws:iam::000000000000:root 200 \d+us")


class OpenAuth(KyokaTestCase):
    extra_args = ("--auth", "open")

    def test_any_key_is_root(self):
        ident = self.kyoka.client("sts", access_key="whatever", secret_key="x").get_caller_identity()
        self.assertEqual(ident["Arn"], "arn:aws:iam::000000000000:root")


class Durable(KyokaTestCase):
    ephemeral = False

    def test_banner_names_data_dir_and_sigterm_exits_cleanly(self):
        self.assertIn("data: " + os.path.join(self.kyoka.data_dir, "state"), self.kyoka.read_log())
        self.assertTrue(os.path.exists(os.path.join(self.kyoka.data_dir, "state", "kyoka.db")))


class ClockSurvivesRestart(unittest.TestCase):
    """Deadlines stored by services are on the server clock, so the clock's
    offset must survive kill -9 like any acknowledged state."""

    def test_offset_survives_kill9(self):
        first = KyokaServer(ephemeral=False).start()
        try:
            status, adv = first.advance(3600)
            self.assertEqual(status, 200)
            first.kill9()
            second = KyokaServer(data_dir=first.data_dir).start()
            try:
                _, now = second.admin("GET", "/_kyoka/clock")
                self.assertGreaterEqual(now["offsetSeconds"], 3600)
                second.reset()
                _, now = second.admin("GET", "/_kyoka/clock")
                self.assertLess(now["offsetSeconds"], 1)
            finally:
                second.stop()
        finally:
            first.cleanup()


if __name__ == "__main__":
    main()
