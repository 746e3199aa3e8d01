"""API Gateway REST APIs with AWS_PROXY integrations to Lambda, through
plain HTTP with boto3/awscli setup: the payload format 1.0 event checked
field by field, the function's answer mapped back (statusCode, headers,
multiValueHeaders, base64 bodies), AWS's 502 for a function error or a
malformed answer, and the function's resource policy deciding (no
permission: 500; `aws lambda add-permission --principal
apigateway.amazonaws.com --source-arn ...` opens it).
"""
import base64
import http.client
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "50-lambda"))
from harness import ACCOUNT, REGION, main  # noqa: E402
from lambdatest import LambdaTestCase, py_zip  # noqa: E402

ECHO = """\
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"X-One": "1"}, "multiValueHeaders": {"X-Two": ["a", "b"]},
            "body": json.dumps(event)}
"""

SHAPES = """\
import base64
def handler(event, context):
    kind = (event.get("queryStringParameters") or {}).get("kind")
    if kind == "binary":
        return {"statusCode": 201, "headers": {"Content-Type": "application/octet-stream"},
                "body": base64.b64encode(b"\\x00\\x01\\xff").decode(), "isBase64Encoded": True}
    if kind == "bad":
        return {"body": "no status"}
    if kind == "raise":
        raise RuntimeError("boom")
    if kind == "slow":
        import time
        time.sleep(1.5)
    return {"statusCode": 418, "body": "teapot"}
"""


class LambdaProxy(LambdaTestCase):
    def setUp(self):
        super().setUp()
        self.agw = self.kyoka.client("apigateway")

    def call(self, api, stage, target, method="GET", body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.kyoka.port, timeout=30)
        hdrs = {"Host": "%s.execute-api.localhost.localstack.cloud:%d" % (api, self.kyoka.port)}
        hdrs.update(headers or {})
        conn.request(method, "/%s%s" % (stage, target), body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        out = (r.status, r.getheaders(), data)
        conn.close()
        return out

    def proxy_api(self, fn_arn, part="{proxy+}"):
        api = self.agw.create_rest_api(name="lam")["id"]
        root = self.agw.get_resources(restApiId=api)["items"][0]["id"]
        res = self.agw.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
        res = self.agw.create_resource(restApiId=api, parentId=res, pathPart=part)["id"]
        uri = "arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations" % (REGION, fn_arn)
        self.agw.put_method(restApiId=api, resourceId=res, httpMethod="ANY", authorizationType="NONE")
        self.agw.put_integration(restApiId=api, resourceId=res, httpMethod="ANY", type="AWS_PROXY",
                                 integrationHttpMethod="POST", uri=uri)
        self.agw.create_deployment(restApiId=api, stageName="dev", variables={"color": "red"})
        return api

    def allow(self, name, api, qualifier=None):
        kw = {"Qualifier": qualifier} if qualifier else {}
        self.lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                                Principal="apigateway.amazonaws.com",
                                SourceArn="arn:aws:execute-api:%s:%s:%s/*/*/*" % (REGION, ACCOUNT, api), **kw)

    def test_event_field_by_field(self):
        fn = self.create("echo", code=py_zip(ECHO))["FunctionArn"]
        api = self.proxy_api(fn)
        self.allow("echo", api)
        status, hdrs, body = self.call(api, "dev", "/items/a/b%20c?x=1&y=2&y=3", method="POST", body=b'{"k": 1}',
                                       headers={"Content-Type": "application/json", "User-Agent": "probe/2",
                                                "X-Multi": "m1"})
        self.assertEqual(status, 200, body)
        self.assertEqual([v for k, v in hdrs if k == "X-One"], ["1"])
        self.assertEqual([v for k, v in hdrs if k == "X-Two"], ["a", "b"])
        ev = json.loads(body)
        self.assertEqual(ev["resource"], "/items/{proxy+}")
        self.assertEqual(ev["path"], "/items/a/b%20c")
        self.assertEqual(ev["httpMethod"], "POST")
        self.assertEqual(ev["headers"]["User-Agent"], "probe/2")
        self.assertEqual(ev["multiValueHeaders"]["X-Multi"], ["m1"])
        self.assertEqual(ev["queryStringParameters"], {"x": "1", "y": "3"})
        self.assertEqual(ev["multiValueQueryStringParameters"], {"x": ["1"], "y": ["2", "3"]})
        self.assertEqual(ev["pathParameters"], {"proxy": "a/b c"})
        self.assertEqual(ev["stageVariables"], {"color": "red"})
        self.assertEqual(ev["body"], '{"k": 1}')
        self.assertIs(ev["isBase64Encoded"], False)
        rc = ev["requestContext"]
        self.assertEqual((rc["accountId"], rc["apiId"], rc["stage"], rc["httpMethod"]), (ACCOUNT, api, "dev", "POST"))
        self.assertEqual(rc["resourcePath"], "/items/{proxy+}")
        self.assertEqual(rc["path"], "/dev/items/a/b%20c")
        self.assertEqual(rc["protocol"], "HTTP/1.1")
        self.assertEqual(rc["identity"]["sourceIp"], "127.0.0.1")
        self.assertEqual(rc["identity"]["userAgent"], "probe/2")
        self.assertIsNone(rc["identity"]["accessKey"])
        self.assertEqual(len(rc["requestId"]), 36)
        self.assertIsInstance(rc["requestTimeEpoch"], int)
        self.assertRegex(rc["requestTime"], r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$")
        self.assertIn("resourceId", rc)
        # No query, no body: nulls, as AWS sends them.
        status, _, body = self.call(api, "dev", "/items/z")
        ev = json.loads(body)
        self.assertIsNone(ev["queryStringParameters"])
        self.assertIsNone(ev["multiValueQueryStringParameters"])
        self.assertIsNone(ev["body"])

    def test_answers_mapped_and_errors(self):
        fn = self.create("shapes", code=py_zip(SHAPES))["FunctionArn"]
        api = self.proxy_api(fn)
        self.allow("shapes", api)
        status, hdrs, body = self.call(api, "dev", "/items/x?kind=binary")
        self.assertEqual((status, body), (201, b"\x00\x01\xff"))
        self.assertEqual(dict(hdrs)["Content-Type"], "application/octet-stream")
        status, _, body = self.call(api, "dev", "/items/x")
        self.assertEqual((status, body), (418, b"teapot"))
        for kind in ("bad", "raise"):
            status, _, body = self.call(api, "dev", "/items/x?kind=" + kind)
            self.assertEqual((status, json.loads(body)), (502, {"message": "Internal server error"}), kind)

    def test_integration_timeout_is_504(self):
        fn = self.create("slow", code=py_zip(SHAPES), Timeout=10)["FunctionArn"]
        api = self.proxy_api(fn)
        self.allow("slow", api)
        res = [r for r in self.agw.get_resources(restApiId=api)["items"] if r["path"] == "/items/{proxy+}"][0]
        self.agw.update_integration(restApiId=api, resourceId=res["id"], httpMethod="ANY", patchOperations=[
            {"op": "replace", "path": "/timeoutInMillis", "value": "500"}])
        self.agw.create_deployment(restApiId=api, stageName="dev")
        status, _, body = self.call(api, "dev", "/items/x?kind=slow")
        self.assertEqual((status, json.loads(body)), (504, {"message": "Endpoint request timed out"}))
        # The late answer is dropped; the API keeps serving.
        time.sleep(1.5)
        status, _, body = self.call(api, "dev", "/items/x")
        self.assertEqual((status, body), (418, b"teapot"))

    def test_resource_policy_decides(self):
        fn = self.create("locked", code=py_zip(ECHO))["FunctionArn"]
        api = self.proxy_api(fn)
        status, _, body = self.call(api, "dev", "/items/x")
        self.assertEqual((status, json.loads(body)), (500, {"message": "Internal server error"}))
        # A permission for another API does not open it.
        self.lam.add_permission(FunctionName="locked", StatementId="other", Action="lambda:InvokeFunction",
                                Principal="apigateway.amazonaws.com",
                                SourceArn="arn:aws:execute-api:%s:%s:otherapi00/*/*/*" % (REGION, ACCOUNT))
        status, _, _ = self.call(api, "dev", "/items/x")
        self.assertEqual(status, 500)
        out = self.kyoka.aws_cli("lambda", "add-permission", "--function-name", "locked", "--statement-id", "cli",
                                 "--action", "lambda:InvokeFunction", "--principal", "apigateway.amazonaws.com",
                                 "--source-arn", "arn:aws:execute-api:%s:%s:%s/*/*/*" % (REGION, ACCOUNT, api))
        self.assertEqual(out.returncode, 0, out.stderr)
        status, _, _ = self.call(api, "dev", "/items/x")
        self.assertEqual(status, 200)

    def test_alias_arn(self):
        self.create("aliased", code=py_zip(ECHO))
        ver = self.lam.publish_version(FunctionName="aliased")["Version"]
        alias = self.lam.create_alias(FunctionName="aliased", Name="live", FunctionVersion=ver)["AliasArn"]
        api = self.proxy_api(alias, part="{id}")
        self.allow("aliased", api, qualifier="live")
        status, _, body = self.call(api, "dev", "/items/7")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["pathParameters"], {"id": "7"})


if __name__ == "__main__":
    main()
