"""HTTP API invoke URLs through plain HTTP: route selection, the payload
2.0 event field by field (a function that returns its event), the
response mapping and its 2.0 shortcut, 404 and 500 bodies, the 500 of a
missing permission, CORS preflights, the 10 MB limit, and serving after
kill -9.
"""
import json
import os
import sys
import urllib.error

import botocore.exceptions
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "50-lambda"))
from harness import ACCOUNT, REGION, main  # noqa: E402
from lambdatest import LambdaTestCase, fn_arn, py_zip  # noqa: E402

ECHO = """\
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(event)}
"""

# The function answers what the request's "x-answer" header holds (JSON).
ANSWER = """\
import json, base64
def handler(event, context):
    a = event["headers"].get("x-answer")
    if a == "raise":
        raise ValueError("boom")
    if a == "bytes":
        return {"statusCode": 201, "isBase64Encoded": True, "body": base64.b64encode(b"\\x00\\x01\\xff").decode(),
                "headers": {"content-type": "application/octet-stream", "x-n": 7},
                "cookies": ["a=1; Path=/", "b=2"]}
    return json.loads(a)
"""


def http(method, url, body=None, headers=None, sign=None):
    """url names the invoke host; the test machine resolves no wildcard
    DNS, so the request goes to 127.0.0.1 with that Host header. sign:
    (access key, secret) to sign for execute-api."""
    parts = urllib.parse.urlsplit(url)
    headers = dict(headers or {})
    headers["Host"] = parts.netloc
    if sign:
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(*sign), "execute-api", REGION).add_auth(req)
        headers = dict(req.headers.items())
    target = "http://127.0.0.1:%s%s" % (parts.port, url[len(parts.scheme) + 3 + len(parts.netloc):])
    req = urllib.request.Request(target, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.headers.get_all("Set-Cookie") or [], r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.headers.get_all("Set-Cookie") or [], e.read()


class InvokeCase(LambdaTestCase):
    def setUp(self):
        super().setUp()
        self.gw = self.kyoka.client("apigatewayv2")
        self.port = self.kyoka.endpoint.rsplit(":", 1)[1]

    def url(self, api_id, path):
        return "http://%s.execute-api.localhost.localstack.cloud:%s%s" % (api_id, self.port, path)

    def function(self, name, code, allow=True, source="*"):
        self.create(name, code=py_zip(code))
        if allow:
            self.lam.add_permission(FunctionName=name, StatementId="apigw", Action="lambda:InvokeFunction",
                                    Principal="apigateway.amazonaws.com",
                                    SourceArn="arn:aws:execute-api:%s:%s:%s" % (REGION, ACCOUNT, source))
        return fn_arn(name)

    def api(self, fn, route_keys, stage="$default", variables=None, cors=None):
        kw = {"CorsConfiguration": cors} if cors else {}
        api_id = self.gw.create_api(Name="a", ProtocolType="HTTP", **kw)["ApiId"]
        i = self.gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=fn,
                                       PayloadFormatVersion="2.0")["IntegrationId"]
        ids = {}
        for k in route_keys:
            ids[k] = self.gw.create_route(ApiId=api_id, RouteKey=k, Target="integrations/" + i)["RouteId"]
        self.gw.create_stage(ApiId=api_id, StageName=stage, AutoDeploy=True, StageVariables=variables or {})
        return api_id

    def test_event_v2_field_by_field(self):
        fn = self.function("echo", ECHO)
        api_id = self.api(fn, ["GET /items/{id}"], stage="prod", variables={"color": "blue"})
        status, headers, _, body = http("GET", self.url(api_id, "/prod/items/42?a=1&b=x%20y&a=2"), headers={
            "X-Multi": "one", "Cookie": "c1=v1; c2=v2", "User-Agent": "kyoka-test"})
        self.assertEqual(status, 200, body)
        ev = json.loads(body)
        self.assertEqual(ev["version"], "2.0")
        self.assertEqual(ev["routeKey"], "GET /items/{id}")
        self.assertEqual(ev["rawPath"], "/prod/items/42")
        self.assertEqual(ev["rawQueryString"], "a=1&b=x%20y&a=2")
        self.assertEqual(ev["cookies"], ["c1=v1", "c2=v2"])
        self.assertNotIn("cookie", ev["headers"])
        self.assertEqual(ev["headers"]["x-multi"], "one")
        self.assertEqual(ev["headers"]["user-agent"], "kyoka-test")
        self.assertEqual(ev["queryStringParameters"], {"a": "1,2", "b": "x y"})
        self.assertEqual(ev["pathParameters"], {"id": "42"})
        self.assertEqual(ev["stageVariables"], {"color": "blue"})
        self.assertFalse(ev["isBase64Encoded"])
        self.assertNotIn("body", ev)
        rc = ev["requestContext"]
        self.assertEqual(rc["accountId"], ACCOUNT)
        self.assertEqual(rc["apiId"], api_id)
        self.assertEqual(rc["domainName"], "%s.execute-api.localhost.localstack.cloud" % api_id)
        self.assertEqual(rc["domainPrefix"], api_id)
        self.assertEqual(rc["http"], {"method": "GET", "path": "/prod/items/42", "protocol": "HTTP/1.1",
                                      "sourceIp": "127.0.0.1", "userAgent": "kyoka-test"})
        self.assertEqual(rc["routeKey"], "GET /items/{id}")
        self.assertEqual(rc["stage"], "prod")
        self.assertRegex(rc["time"], r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000$")
        self.assertIsInstance(rc["timeEpoch"], int)
        self.assertTrue(rc["requestId"])
        self.assertEqual(headers.get("apigw-requestid"), rc["requestId"])

    def test_bodies_text_and_binary(self):
        fn = self.function("echo", ECHO)
        api_id = self.api(fn, ["POST /up"])
        _, _, _, body = http("POST", self.url(api_id, "/up"), body=b'{"x":1}',
                             headers={"Content-Type": "application/json"})
        ev = json.loads(body)
        self.assertEqual(ev["body"], '{"x":1}')
        self.assertFalse(ev["isBase64Encoded"])
        self.assertEqual(ev["requestContext"]["stage"], "$default")
        self.assertEqual(ev["rawPath"], "/up")
        _, _, _, body = http("POST", self.url(api_id, "/up"), body=b"\x00\xff",
                             headers={"Content-Type": "application/octet-stream"})
        ev = json.loads(body)
        self.assertEqual(ev["body"], "AP8=")
        self.assertTrue(ev["isBase64Encoded"])

    def test_route_selection(self):
        fn = self.function("echo", ECHO)
        keys = ["GET /items/{id}", "GET /items/special", "ANY /items/{id}", "ANY /{proxy+}", "$default",
                "GET /a/{b}/c"]
        api_id = self.api(fn, keys)

        def route(method, path):
            status, _, _, body = http(method, self.url(api_id, path))
            self.assertEqual(status, 200, (method, path, body))
            ev = json.loads(body)
            return ev["routeKey"], ev.get("pathParameters")

        self.assertEqual(route("GET", "/items/special"), ("GET /items/special", None))
        self.assertEqual(route("GET", "/items/7"), ("GET /items/{id}", {"id": "7"}))
        self.assertEqual(route("DELETE", "/items/7"), ("ANY /items/{id}", {"id": "7"}))
        self.assertEqual(route("GET", "/x/y/z"), ("ANY /{proxy+}", {"proxy": "x/y/z"}))
        self.assertEqual(route("GET", "/a/1/c"), ("GET /a/{b}/c", {"b": "1"}))
        self.assertEqual(route("GET", "/"), ("$default", None))

    def test_not_found(self):
        fn = self.function("echo", ECHO)
        api_id = self.api(fn, ["GET /only"])
        status, headers, _, body = http("GET", self.url(api_id, "/other"))
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body), {"message": "Not Found"})
        status, _, _, body = http("POST", self.url(api_id, "/only"))
        self.assertEqual(status, 404)

    def test_response_mapping(self):
        fn = self.function("answer", ANSWER)
        api_id = self.api(fn, ["ANY /r"])

        def ask(answer):
            return http("GET", self.url(api_id, "/r"), headers={"x-answer": answer})

        status, headers, cookies, body = ask("bytes")
        self.assertEqual(status, 201)
        self.assertEqual(body, b"\x00\x01\xff")
        self.assertEqual(headers["content-type"], "application/octet-stream")
        self.assertEqual(headers["x-n"], "7")
        self.assertEqual(cookies, ["a=1; Path=/", "b=2"])
        status, headers, _, body = ask(json.dumps({"statusCode": 418, "body": "teapot"}))
        self.assertEqual((status, body), (418, b"teapot"))
        # The 2.0 shortcut: no statusCode, or a bare value, is a 200 JSON body.
        status, headers, _, body = ask(json.dumps({"hello": "world"}))
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/json")
        self.assertEqual(json.loads(body), {"hello": "world"})
        status, _, _, body = ask(json.dumps("just a string"))
        self.assertEqual((status, json.loads(body)), (200, "just a string"))
        status, _, _, body = ask("42")
        self.assertEqual((status, body), (200, b"42"))
        # A function error, a malformed statusCode: 500.
        status, _, _, body = ask("raise")
        self.assertEqual((status, json.loads(body)), (500, {"message": "Internal Server Error"}))
        status, _, _, body = ask(json.dumps({"statusCode": "abc"}))
        self.assertEqual((status, json.loads(body)), (500, {"message": "Internal Server Error"}))

    def test_missing_permission(self):
        fn = self.function("nopolicy", ECHO, allow=False)
        api_id = self.api(fn, ["GET /x"])
        status, _, _, body = http("GET", self.url(api_id, "/x"))
        self.assertEqual(status, 500)
        self.assertEqual(json.loads(body), {"message": "Internal Server Error"})
        self.assertIn("AccessDenied", self.kyoka.read_log().split("could not invoke")[-1].splitlines()[0])
        # A permission for another source ARN does not help either.
        fn2 = self.function("other", ECHO, source="otherapi/*")
        api2 = self.api(fn2, ["GET /x"])
        self.assertEqual(http("GET", self.url(api2, "/x"))[0], 500)
        # A permission scoped to the route's own source ARN works.
        fn3 = self.function("scoped", ECHO, allow=False)
        api3 = self.api(fn3, ["GET /x"])
        self.lam.add_permission(FunctionName="scoped", StatementId="s", Action="lambda:InvokeFunction",
                                Principal="apigateway.amazonaws.com",
                                SourceArn="arn:aws:execute-api:%s:%s:%s/*/GET/x" % (REGION, ACCOUNT, api3))
        self.assertEqual(http("GET", self.url(api3, "/x"))[0], 200)

    def test_payload_1_0_not_yet(self):
        fn = self.function("echo", ECHO)
        api_id = self.gw.create_api(Name="v1", ProtocolType="HTTP")["ApiId"]
        i = self.gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=fn,
                                       PayloadFormatVersion="1.0")["IntegrationId"]
        self.gw.create_route(ApiId=api_id, RouteKey="GET /x", Target="integrations/" + i)
        self.gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        status, _, _, body = http("GET", self.url(api_id, "/x"))
        self.assertEqual((status, json.loads(body)), (500, {"message": "Internal Server Error"}))

    def test_quick_create_and_cors(self):
        fn = self.function("echo", ECHO)
        api_id = self.gw.create_api(Name="q", ProtocolType="HTTP", Target=fn, CorsConfiguration={
            "AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["x-a"],
            "MaxAge": 300, "ExposeHeaders": ["x-e"]})["ApiId"]
        status, headers, _, body = http("OPTIONS", self.url(api_id, "/any/path"), headers={
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
        self.assertEqual(status, 204)
        self.assertEqual(headers["Access-Control-Allow-Origin"], "https://app.example")
        self.assertEqual(headers["Access-Control-Allow-Methods"], "GET,POST")
        self.assertEqual(headers["Access-Control-Allow-Headers"], "x-a")
        self.assertEqual(headers["Access-Control-Max-Age"], "300")
        status, headers, _, body = http("GET", self.url(api_id, "/any/path"), headers={"Origin": "https://app.example"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["routeKey"], "$default")
        self.assertEqual(headers["Access-Control-Allow-Origin"], "https://app.example")
        self.assertEqual(headers["Access-Control-Expose-Headers"], "x-e")
        status, headers, _, _ = http("GET", self.url(api_id, "/p"), headers={"Origin": "https://evil.example"})
        self.assertNotIn("Access-Control-Allow-Origin", headers)

    def test_body_over_10mb_refused(self):
        fn = self.function("answer", ANSWER)
        api_id = self.api(fn, ["POST /big"])
        status, _, _, body = http("POST", self.url(api_id, "/big"), body=b"x" * (10 * 1024 * 1024 + 1),
                                  headers={"Content-Type": "text/plain", "x-answer": "raise"})
        self.assertEqual(status, 413)
        self.assertNotIn("boom", self.kyoka.read_log())

    def test_integration_timeout(self):
        self.create("slow", code=py_zip("import time\ndef handler(e, c):\n    time.sleep(3)\n    return 1\n"),
                    Timeout=10)
        self.lam.add_permission(FunctionName="slow", StatementId="apigw", Action="lambda:InvokeFunction",
                                Principal="apigateway.amazonaws.com")
        api_id = self.gw.create_api(Name="t", ProtocolType="HTTP")["ApiId"]
        i = self.gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=fn_arn("slow"),
                                       PayloadFormatVersion="2.0", TimeoutInMillis=1000)["IntegrationId"]
        self.gw.create_route(ApiId=api_id, RouteKey="GET /slow", Target="integrations/" + i)
        self.gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        status, _, _, body = http("GET", self.url(api_id, "/slow"))
        self.assertEqual((status, json.loads(body)), (504, {"message": "Gateway Timeout"}))

    def test_aws_iam_route(self):
        fn = self.function("echo", ECHO)
        api_id = self.gw.create_api(Name="iam", ProtocolType="HTTP")["ApiId"]
        i = self.gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=fn,
                                       PayloadFormatVersion="2.0")["IntegrationId"]
        self.gw.create_route(ApiId=api_id, RouteKey="GET /secure", Target="integrations/" + i,
                             AuthorizationType="AWS_IAM")
        self.gw.create_stage(ApiId=api_id, StageName="prod", AutoDeploy=True)
        url = self.url(api_id, "/prod/secure")
        status, _, _, body = http("GET", url)
        self.assertEqual((status, json.loads(body)), (403, {"message": "Forbidden"}))
        self.assertEqual(http("GET", url, sign=("test", "test"))[0], 200)
        self.iam.create_user(UserName="u")
        key = self.iam.create_access_key(UserName="u")["AccessKey"]
        creds = (key["AccessKeyId"], key["SecretAccessKey"])
        status, _, _, body = http("GET", url, sign=creds)
        self.assertEqual(status, 403)
        self.assertIn("execute-api:Invoke", json.loads(body)["message"])
        self.iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:%s:%s:%s/prod/GET/secure" % (REGION, ACCOUNT, api_id)}]}))
        self.assertEqual(http("GET", url, sign=creds)[0], 200)

    def test_jwt_route_is_not_served_unauthenticated(self):
        fn = self.function("echo", ECHO)
        api_id = self.gw.create_api(Name="jwt", ProtocolType="HTTP")["ApiId"]
        i = self.gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=fn,
                                       PayloadFormatVersion="2.0")["IntegrationId"]
        az = self.gw.create_authorizer(ApiId=api_id, Name="j", AuthorizerType="JWT",
                                       IdentitySource=["$request.header.Authorization"],
                                       JwtConfiguration={"Issuer": "https://issuer.example",
                                                         "Audience": ["x"]})["AuthorizerId"]
        self.gw.create_route(ApiId=api_id, RouteKey="GET /j", Target="integrations/" + i, AuthorizationType="JWT",
                             AuthorizerId=az)
        self.gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        self.assertEqual(http("GET", self.url(api_id, "/j"))[0], 500)

    def test_lambda_request_authorizer(self):
        fn = self.function("echo", ECHO)
        self.create("authz", code=py_zip(
            "def handler(e, c):\n"
            "    ok = e['identitySource'] == ['letmein'] and e['type'] == 'REQUEST'\n"
            "    return {'isAuthorized': ok, 'context': {'who': 'tester', 'arn': e['routeArn']}}\n"))
        api_id = self.gw.create_api(Name="auth", ProtocolType="HTTP")["ApiId"]
        az = self.gw.create_authorizer(ApiId=api_id, Name="a", AuthorizerType="REQUEST",
                                       AuthorizerUri=fn_arn("authz"), AuthorizerPayloadFormatVersion="2.0",
                                       EnableSimpleResponses=True,
                                       IdentitySource=["$request.header.Authorization"])["AuthorizerId"]
        self.assertEqual(self.gw.get_authorizer(ApiId=api_id, AuthorizerId=az)["Name"], "a")
        with self.assertRaises(botocore.exceptions.ClientError):
            self.gw.create_route(ApiId=api_id, RouteKey="GET /bad", AuthorizationType="CUSTOM", AuthorizerId="nope")
        i = self.gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=fn,
                                       PayloadFormatVersion="2.0")["IntegrationId"]
        self.gw.create_route(ApiId=api_id, RouteKey="GET /p", Target="integrations/" + i,
                             AuthorizationType="CUSTOM", AuthorizerId=az)
        self.gw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        url = self.url(api_id, "/p")
        status, _, _, body = http("GET", url)
        self.assertEqual((status, json.loads(body)), (401, {"message": "Unauthorized"}))
        # The authorizer function lacks API Gateway's permission: 500.
        status, _, _, body = http("GET", url, headers={"Authorization": "letmein"})
        self.assertEqual((status, json.loads(body)), (500, {"message": "Internal Server Error"}))
        self.lam.add_permission(FunctionName="authz", StatementId="apigw", Action="lambda:InvokeFunction",
                                Principal="apigateway.amazonaws.com",
                                SourceArn="arn:aws:execute-api:%s:%s:%s/authorizers/%s" % (REGION, ACCOUNT, api_id,
                                                                                          az))
        status, _, _, body = http("GET", url, headers={"Authorization": "wrong"})
        self.assertEqual((status, json.loads(body)), (403, {"message": "Forbidden"}))
        status, _, _, body = http("GET", url, headers={"Authorization": "letmein"})
        self.assertEqual(status, 200, body)
        lam = json.loads(body)["requestContext"]["authorizer"]["lambda"]
        self.assertEqual(lam["who"], "tester")
        self.assertEqual(lam["arn"], "arn:aws:execute-api:%s:%s:%s/$default/GET/p" % (REGION, ACCOUNT, api_id))


class DurableInvokeCase(InvokeCase.__bases__[0]):
    ephemeral = False

    def test_serves_after_kill9(self):
        gw = self.kyoka.client("apigatewayv2")
        self.create("echo", code=py_zip(ECHO))
        self.lam.add_permission(FunctionName="echo", StatementId="apigw", Action="lambda:InvokeFunction",
                                Principal="apigateway.amazonaws.com")
        api_id = gw.create_api(Name="q", ProtocolType="HTTP", Target=fn_arn("echo"),
                               RouteKey="GET /k/{v}")["ApiId"]
        self.kyoka.kill9()
        self.kyoka.start()
        port = self.kyoka.endpoint.rsplit(":", 1)[1]
        status, _, _, body = http("GET", "http://%s.execute-api.localhost.localstack.cloud:%s/k/9" % (api_id, port))
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["pathParameters"], {"v": "9"})


if __name__ == "__main__":
    main()
