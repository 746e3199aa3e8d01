"""Shared pieces of kyoka's Lambda integration tests: code zips built in
memory, execution roles made through IAM, and a test case base with the
helpers every Lambda test file uses.

Nothing here talks to kyoka except through real clients (boto3, urllib for
the admin endpoints and for presigned-looking Code.Location URLs).
"""
import base64
import hashlib
import io
import json
import textwrap
import time
import urllib.request
import zipfile

import harness
from harness import ACCOUNT, REGION

TRUST_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
TRUST_EC2 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}
ADMIN_POLICY = {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def make_zip(files, modes=None):
    """A zip of {name: str|bytes}. modes: {name: 0o755} for executables
    (stored as Unix permissions in external_attr, as `zip` does)."""
    modes = modes or {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = modes.get(name, 0o644)
            info.external_attr = (0o100000 | mode) << 16
            if isinstance(content, str):
                content = textwrap.dedent(content).encode()
            z.writestr(info, content)
    return buf.getvalue()


def py_zip(code, name="index.py", extra=None):
    files = {name: code}
    files.update(extra or {})
    return make_zip(files)


def node_zip(code, name="index.js", extra=None):
    files = {name: code}
    files.update(extra or {})
    return make_zip(files)


def bootstrap_zip(script, extra=None):
    files = {"bootstrap": script}
    files.update(extra or {})
    return make_zip(files, modes={"bootstrap": 0o755})


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# A provided.al2023 bootstrap in /bin/sh + curl: echoes the event back, with
# the version the environment runs. Fast enough for a thousand invokes.
SH_ECHO_BOOTSTRAP = """\
#!/bin/sh
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation"
while true; do
  HDRS=$(mktemp)
  EVENT=$(curl -sS -D "$HDRS" "$API/next")
  ID=$(grep -i '^lambda-runtime-aws-request-id:' "$HDRS" | tr -d '\\r' | cut -d' ' -f2)
  rm -f "$HDRS"
  echo "handled $ID"
  curl -sS -o /dev/null -X POST "$API/$ID/response" \\
    -d "{\\"version\\":\\"$AWS_LAMBDA_FUNCTION_VERSION\\",\\"event\\":$EVENT}"
done
"""

PY_ECHO = """\
import json, os
def handler(event, context):
    return {"event": event, "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"]}
"""


class LambdaTestCase(harness.KyokaTestCase):
    """A KyokaTestCase with a Lambda client, an execution role made once per
    test (reset wipes IAM too) and helpers to create functions."""

    role_name = "lambda-exec"

    def setUp(self):
        super().setUp()
        self.lam = self.kyoka.client("lambda")
        self.iam = self.kyoka.client("iam")
        self.role_arn = self.make_role(self.role_name)

    def make_role(self, name, trust=TRUST_LAMBDA, policy=ADMIN_POLICY):
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        if policy is not None:
            self.iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps(policy))
        return arn

    def create(self, name, code=None, runtime="python3.12", handler="index.handler", wait=True, **kw):
        if code is None:
            code = py_zip(PY_ECHO)
        kw.setdefault("Role", self.role_arn)
        out = self.lam.create_function(FunctionName=name, Runtime=runtime, Handler=handler,
                                       Code={"ZipFile": code}, **kw)
        if wait:
            self.wait_active(name)
        return out

    def create_provided(self, name, script=SH_ECHO_BOOTSTRAP, wait=True, **kw):
        kw.setdefault("Role", self.role_arn)
        out = self.lam.create_function(FunctionName=name, Runtime="provided.al2023", Handler="unused",
                                       Code={"ZipFile": bootstrap_zip(script)}, **kw)
        if wait:
            self.wait_active(name)
        return out

    def wait_active(self, name, qualifier=None, timeout=30):
        kw = {"Qualifier": qualifier} if qualifier else {}
        deadline = time.time() + timeout
        while True:
            cfg = self.lam.get_function_configuration(FunctionName=name, **kw)
            if cfg["State"] == "Active" and cfg.get("LastUpdateStatus", "Successful") == "Successful":
                return cfg
            if cfg["State"] == "Failed" or cfg.get("LastUpdateStatus") == "Failed":
                raise AssertionError("function %s failed: %s" % (name, cfg))
            if time.time() > deadline:
                raise AssertionError("function %s never became Active: %s" % (name, cfg))
            time.sleep(0.05)

    def invoke(self, name, event=None, client=None, **kw):
        """Invoke and decode: returns (response, parsed payload or raw bytes)."""
        payload = json.dumps(event if event is not None else {}).encode()
        out = (client or self.lam).invoke(FunctionName=name, Payload=payload, **kw)
        body = out["Payload"].read()
        try:
            return out, json.loads(body) if body else None
        except ValueError:
            return out, body

    def assertClientError(self, ctx, code, message=None, status=None):
        err = ctx.exception.response["Error"]
        self.assertEqual(err["Code"], code, ctx.exception.response)
        if message is not None:
            self.assertEqual(err["Message"], message)
        if status is not None:
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return ctx.exception.response

    def environments(self, function=None):
        status, body = self.kyoka.admin("GET", "/_kyoka/lambda")
        self.assertEqual(status, 200, body)
        envs = body["environments"] if isinstance(body, dict) else body
        if function is not None:
            envs = [e for e in envs if e.get("function") == function]
        return envs

    def user_client(self, service, user, policy):
        """A client for a new IAM user with one inline policy."""
        self.iam.create_user(UserName=user)
        if policy is not None:
            self.iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = self.iam.create_access_key(UserName=user)["AccessKey"]
        return self.kyoka.client(service, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])


def fn_arn(name, qualifier=None, region=REGION):
    arn = "arn:aws:lambda:%s:%s:function:%s" % (region, ACCOUNT, name)
    return arn + ":" + qualifier if qualifier else arn


def http_get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.read()
