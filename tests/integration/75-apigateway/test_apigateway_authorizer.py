"""API Gateway REST APIs: Lambda TOKEN and REQUEST authorizers on CUSTOM
methods, through plain HTTP with boto3 setup: the authorizer's event, its
policy deciding (Allow: the integration runs and sees
$context.authorizer; Deny: 403 with an explicit deny; "Unauthorized"
raised or no token: 401), and the authorizer function's own resource
policy (no permission for apigateway.amazonaws.com: 500).
"""
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "50-lambda"))
from harness import ACCOUNT, REGION, main  # noqa: E402
from lambdatest import LambdaTestCase, py_zip  # noqa: E402

AUTHORIZER = """\
def handler(event, context):
    if event["type"] == "TOKEN":
        token = event["authorizationToken"]
    else:
        token = (event.get("queryStringParameters") or {}).get("token", "")
        assert event["httpMethod"] == "GET" and event["resource"] == "/pets", event
    if token == "bad":
        raise Exception("Unauthorized")
    effect = "Allow" if token.startswith("allow") else "Deny"
    return {"principalId": "user-" + token,
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
            "context": {"tier": "gold", "type": event["type"]}}
"""


class Authorizers(LambdaTestCase):
    def setUp(self):
        super().setUp()
        self.agw = self.kyoka.client("apigateway")
        self.fn = self.create("authz", code=py_zip(AUTHORIZER))["FunctionArn"]

    def api(self, kind):
        api = self.agw.create_rest_api(name="authz")["id"]
        root = self.agw.get_resources(restApiId=api)["items"][0]["id"]
        res = self.agw.create_resource(restApiId=api, parentId=root, pathPart="pets")["id"]
        uri = "arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations" % (REGION, self.fn)
        kw = ({"identitySource": "method.request.header.Authorization", "identityValidationExpression": "^[a-z]+$"}
              if kind == "TOKEN" else {"identitySource": "method.request.querystring.token"})
        auth = self.agw.create_authorizer(restApiId=api, name="a", type=kind, authorizerUri=uri, **kw)["id"]
        self.agw.put_method(restApiId=api, resourceId=res, httpMethod="GET", authorizationType="CUSTOM",
                            authorizerId=auth)
        self.agw.put_integration(restApiId=api, resourceId=res, httpMethod="GET", type="MOCK",
                                 requestTemplates={"application/json": '{"statusCode": 200}'})
        self.agw.put_method_response(restApiId=api, resourceId=res, httpMethod="GET", statusCode="200")
        self.agw.put_integration_response(restApiId=api, resourceId=res, httpMethod="GET", statusCode="200",
                                          responseTemplates={"application/json":
                                                             '{"p": "$context.authorizer.principalId", '
                                                             '"tier": "$context.authorizer.tier"}'})
        self.agw.create_deployment(restApiId=api, stageName="dev")
        return api, auth

    def allow(self, api):
        self.lam.add_permission(FunctionName="authz", StatementId="agw", Action="lambda:InvokeFunction",
                                Principal="apigateway.amazonaws.com",
                                SourceArn="arn:aws:execute-api:%s:%s:%s/authorizers/*" % (REGION, ACCOUNT, api))

    def get(self, api, target="/pets", token=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.kyoka.port, timeout=30)
        headers = {"Host": "%s.execute-api.localhost.localstack.cloud" % api}
        if token is not None:
            headers["Authorization"] = token
        conn.request("GET", "/dev" + target, headers=headers)
        r = conn.getresponse()
        out = (r.status, json.loads(r.read()))
        conn.close()
        return out

    def test_token_authorizer(self):
        api, _ = self.api("TOKEN")
        self.allow(api)
        self.assertEqual(self.get(api, token="allowme"), (200, {"p": "user-allowme", "tier": "gold"}))
        self.assertEqual(self.get(api, token="nope"),
                         (403, {"Message": "User is not authorized to access this resource with an explicit deny"}))
        self.assertEqual(self.get(api, token="bad"), (401, {"message": "Unauthorized"}))
        self.assertEqual(self.get(api), (401, {"message": "Unauthorized"}))
        self.assertEqual(self.get(api, token="NOT-VALID"), (401, {"message": "Unauthorized"}))

    def test_request_authorizer(self):
        api, _ = self.api("REQUEST")
        self.allow(api)
        self.assertEqual(self.get(api, "/pets?token=allowq"), (200, {"p": "user-allowq", "tier": "gold"}))
        self.assertEqual(self.get(api, "/pets?token=x")[0], 403)
        # A missing identity source is refused before the function runs.
        self.assertEqual(self.get(api, "/pets"), (401, {"message": "Unauthorized"}))
        self.assertEqual(self.get(api, "/pets?token="), (401, {"message": "Unauthorized"}))

    def test_proxy_event_carries_the_authorizer(self):
        echo = self.create("echo", code=py_zip(
            "import json\ndef handler(event, context):\n"
            "    return {'statusCode': 200, 'body': json.dumps(event['requestContext']['authorizer'])}\n"))
        api, auth = self.api("TOKEN")
        self.allow(api)
        root = [r for r in self.agw.get_resources(restApiId=api)["items"] if r["path"] == "/"][0]["id"]
        uri = "arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations" % (REGION, echo["FunctionArn"])
        self.agw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="CUSTOM",
                            authorizerId=auth)
        self.agw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="AWS_PROXY",
                                 integrationHttpMethod="POST", uri=uri)
        self.lam.add_permission(FunctionName="echo", StatementId="agw", Action="lambda:InvokeFunction",
                                Principal="apigateway.amazonaws.com",
                                SourceArn="arn:aws:execute-api:%s:%s:%s/*/*/*" % (REGION, ACCOUNT, api))
        self.agw.create_deployment(restApiId=api, stageName="dev")
        status, body = self.get(api, "/", token="allowp")
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"principalId": "user-allowp", "tier": "gold", "type": "TOKEN"})

    def test_authorizer_needs_its_permission(self):
        api, _ = self.api("TOKEN")
        self.assertEqual(self.get(api, token="allowme"), (500, {"message": "Internal server error"}))


if __name__ == "__main__":
    main()
