"""Lambda function URLs: the five *FunctionUrlConfig operations through
boto3 and the AWS CLI, AuthType NONE (the resource policy must allow
lambda:InvokeFunctionUrl to "*" with lambda:FunctionUrlAuthType NONE, else
403 {"Message":"Forbidden"}), AuthType AWS_IAM (SigV4-signed for lambda,
authorized on the function), the payload 2.0 event and response mapping,
and the configuration surviving kill -9.
"""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "50-lambda"))
from harness import ACCOUNT, REGION, main  # noqa: E402
from lambdatest import LambdaTestCase, py_zip  # noqa: E402

ECHO = """\
import json
def handler(event, context):
    if event["headers"].get("x-shortcut"):
        return {"shortcut": True}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event),
            "cookies": ["s=1"]}
"""


def http(method, url, body=None, headers=None, sign=None):
    parts = urllib.parse.urlsplit(url)
    headers = dict(headers or {})
    headers["Host"] = parts.netloc
    if sign:
        req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(*sign), "lambda", REGION).add_auth(req)
        headers = dict(req.headers.items())
    target = "http://127.0.0.1:%s%s" % (parts.port, url[len(parts.scheme) + 3 + len(parts.netloc):])
    req = urllib.request.Request(target, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.headers.get_all("Set-Cookie") or [], r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.headers.get_all("Set-Cookie") or [], e.read()


def allow_public(lam, name, condition=True):
    kw = {"FunctionUrlAuthType": "NONE"} if condition else {}
    lam.add_permission(FunctionName=name, StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*", **kw)


class FunctionUrlCase(LambdaTestCase):
    def assertError(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)

    def test_config_operations(self):
        self.create("f", code=py_zip(ECHO))
        out = self.lam.create_function_url_config(FunctionName="f", AuthType="NONE",
                                                  Cors={"AllowOrigins": ["*"]})
        self.assertEqual(out["AuthType"], "NONE")
        self.assertEqual(out["FunctionArn"], "arn:aws:lambda:%s:%s:function:f" % (REGION, ACCOUNT))
        url_id = urllib.parse.urlsplit(out["FunctionUrl"]).hostname.split(".")[0]
        self.assertRegex(url_id, r"^[a-z0-9]{32}$")
        self.assertIn(".lambda-url.%s." % REGION, out["FunctionUrl"])
        self.assertEqual(out["Cors"], {"AllowOrigins": ["*"]})
        self.assertError("ResourceConflictException", self.lam.create_function_url_config, FunctionName="f",
                         AuthType="NONE")
        got = self.lam.get_function_url_config(FunctionName="f")
        self.assertEqual(got["FunctionUrl"], out["FunctionUrl"])
        self.assertIn("LastModifiedTime", got)
        up = self.lam.update_function_url_config(FunctionName="f", AuthType="AWS_IAM")
        self.assertEqual(up["AuthType"], "AWS_IAM")
        lst = self.lam.list_function_url_configs(FunctionName="f")["FunctionUrlConfigs"]
        self.assertEqual([u["AuthType"] for u in lst], ["AWS_IAM"])
        self.lam.delete_function_url_config(FunctionName="f")
        self.assertError("ResourceNotFoundException", self.lam.get_function_url_config, FunctionName="f")
        self.assertError("ResourceNotFoundException", self.lam.create_function_url_config, FunctionName="nope",
                         AuthType="NONE")
        self.assertError("ResourceNotFoundException", self.lam.create_function_url_config, FunctionName="f",
                         Qualifier="noalias", AuthType="NONE")

    def test_cli(self):
        self.create("f", code=py_zip(ECHO))
        out = self.kyoka.aws_cli("lambda", "create-function-url-config", "--function-name", "f", "--auth-type",
                                 "NONE", check=True)
        self.assertEqual(json.loads(out.stdout)["AuthType"], "NONE")

    def test_auth_none_needs_the_public_permission(self):
        self.create("f", code=py_zip(ECHO))
        url = self.lam.create_function_url_config(FunctionName="f", AuthType="NONE")["FunctionUrl"]
        status, _, _, body = http("GET", url + "x")
        self.assertEqual((status, json.loads(body)), (403, {"Message": "Forbidden"}))
        allow_public(self.lam, "f")
        status, _, cookies, body = http("GET", url + "a/b?q=1&q=2", headers={"Cookie": "c=1"})
        self.assertEqual(status, 200, body)
        self.assertEqual(cookies, ["s=1"])
        ev = json.loads(body)
        self.assertEqual(ev["version"], "2.0")
        self.assertEqual(ev["routeKey"], "$default")
        self.assertEqual(ev["rawPath"], "/a/b")
        self.assertEqual(ev["rawQueryString"], "q=1&q=2")
        self.assertEqual(ev["queryStringParameters"], {"q": "1,2"})
        self.assertEqual(ev["cookies"], ["c=1"])
        rc = ev["requestContext"]
        url_id = urllib.parse.urlsplit(url).hostname.split(".")[0]
        self.assertEqual(rc["apiId"], url_id)
        self.assertEqual(rc["domainPrefix"], url_id)
        self.assertEqual(rc["stage"], "$default")
        self.assertEqual(rc["http"]["path"], "/a/b")
        self.assertNotIn("authorizer", rc)
        status, headers, _, body = http("GET", url, headers={"x-shortcut": "1"})
        self.assertEqual((status, json.loads(body)), (200, {"shortcut": True}))
        self.assertEqual(headers["content-type"], "application/json")

    def test_auth_none_permission_without_the_condition_is_not_enough_for_iam(self):
        # A public statement conditioned on NONE does not open an AWS_IAM URL
        # to unsigned callers.
        self.create("f", code=py_zip(ECHO))
        url = self.lam.create_function_url_config(FunctionName="f", AuthType="AWS_IAM")["FunctionUrl"]
        allow_public(self.lam, "f")
        status, _, _, body = http("GET", url)
        self.assertEqual((status, json.loads(body)), (403, {"Message": "Forbidden"}))

    def test_auth_iam(self):
        self.create("f", code=py_zip(ECHO))
        url = self.lam.create_function_url_config(FunctionName="f", AuthType="AWS_IAM")["FunctionUrl"]
        # Root credentials, signed: allowed.
        status, _, _, body = http("POST", url + "p", body=b"hi", headers={"Content-Type": "text/plain"},
                                  sign=("test", "test"))
        self.assertEqual(status, 200, body)
        ev = json.loads(body)
        self.assertEqual(ev["body"], "hi")
        self.assertEqual(ev["requestContext"]["authorizer"]["iam"]["accountId"], ACCOUNT)
        self.assertEqual(ev["requestContext"]["authorizer"]["iam"]["userArn"], "arn:aws:iam::%s:root" % ACCOUNT)
        # Unsigned: forbidden.
        self.assertEqual(http("GET", url)[0], 403)
        # A user without lambda:InvokeFunctionUrl: forbidden; with it: allowed.
        self.iam.create_user(UserName="u")
        key = self.iam.create_access_key(UserName="u")["AccessKey"]
        creds = (key["AccessKeyId"], key["SecretAccessKey"])
        self.assertEqual(http("GET", url, sign=creds)[0], 403)
        self.iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunctionUrl",
                                                    "Resource": "*"}]}))
        status, _, _, body = http("GET", url, sign=creds)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["requestContext"]["authorizer"]["iam"]["userArn"],
                         "arn:aws:iam::%s:user/u" % ACCOUNT)

    def test_cors(self):
        self.create("f", code=py_zip(ECHO))
        url = self.lam.create_function_url_config(FunctionName="f", AuthType="AWS_IAM", Cors={
            "AllowOrigins": ["https://app.example"], "AllowMethods": ["GET"], "AllowHeaders": ["x-h"],
            "ExposeHeaders": ["x-e"], "MaxAge": 60, "AllowCredentials": True})["FunctionUrl"]
        # The preflight is answered unsigned, from the configuration.
        status, headers, _, _ = http("OPTIONS", url, headers={"Origin": "https://app.example",
                                                             "Access-Control-Request-Method": "GET"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["Access-Control-Allow-Origin"], "https://app.example")
        self.assertEqual(headers["Access-Control-Allow-Credentials"], "true")
        self.assertEqual(headers["Access-Control-Allow-Methods"], "GET")
        self.assertEqual(headers["Access-Control-Allow-Headers"], "x-h")
        self.assertEqual(headers["Access-Control-Max-Age"], "60")
        status, headers, _, _ = http("GET", url, headers={"Origin": "https://app.example"}, sign=("test", "test"))
        self.assertEqual(status, 200)
        self.assertEqual(headers["Access-Control-Allow-Origin"], "https://app.example")
        self.assertEqual(headers["Access-Control-Expose-Headers"], "x-e")
        status, headers, _, _ = http("GET", url, headers={"Origin": "https://other.example"}, sign=("test", "test"))
        self.assertNotIn("Access-Control-Allow-Origin", headers)


class DurableUrlCase(LambdaTestCase):
    ephemeral = False

    def test_kill9(self):
        self.create("f", code=py_zip(ECHO))
        url = self.lam.create_function_url_config(FunctionName="f", AuthType="NONE")["FunctionUrl"]
        allow_public(self.lam, "f")
        self.kyoka.kill9()
        self.kyoka.start()
        lam = self.kyoka.client("lambda")
        got = lam.get_function_url_config(FunctionName="f")
        url_id = urllib.parse.urlsplit(url).hostname.split(".")[0]
        self.assertIn(url_id, got["FunctionUrl"])
        port = self.kyoka.endpoint.rsplit(":", 1)[1]
        status, _, _, body = http("GET", "http://%s.lambda-url.%s.localhost.localstack.cloud:%s/" % (url_id, REGION,
                                                                                                     port))
        self.assertEqual(status, 200, body)


if __name__ == "__main__":
    main()
