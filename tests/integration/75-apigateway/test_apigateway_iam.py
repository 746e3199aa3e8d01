"""API Gateway REST APIs: methods with AWS_IAM authorization, through
SigV4-signed plain HTTP (botocore's signer, service execute-api): unsigned
requests get 403 Missing Authentication Token, a bad signature 403, a
caller without execute-api:Invoke on the method's ARN AWS's 403
{"Message": "User: ... is not authorized ..."}, an allowed one the
integration's answer.
"""
import json
import os
import sys
import urllib.error
import urllib.request

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from harness import ACCOUNT, REGION, KyokaTestCase, main  # noqa: E402


class IamAuth(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.agw = self.kyoka.client("apigateway")
        self.iam = self.kyoka.client("iam")
        self.api = self.agw.create_rest_api(name="iam")["id"]
        root = self.agw.get_resources(restApiId=self.api)["items"][0]["id"]
        res = self.agw.create_resource(restApiId=self.api, parentId=root, pathPart="secret")["id"]
        self.agw.put_method(restApiId=self.api, resourceId=res, httpMethod="GET", authorizationType="AWS_IAM")
        self.agw.put_integration(restApiId=self.api, resourceId=res, httpMethod="GET", type="MOCK",
                                 requestTemplates={"application/json": '{"statusCode": 200}'})
        self.agw.put_method_response(restApiId=self.api, resourceId=res, httpMethod="GET", statusCode="200")
        self.agw.put_integration_response(restApiId=self.api, resourceId=res, httpMethod="GET", statusCode="200",
                                          responseTemplates={"application/json": '{"ok": true}'})
        self.agw.create_deployment(restApiId=self.api, stageName="dev")
        self.url = "%s/restapis/%s/dev/_user_request_/secret" % (self.kyoka.endpoint, self.api)
        self.method_arn = "arn:aws:execute-api:%s:%s:%s/dev/GET/secret" % (REGION, ACCOUNT, self.api)

    def user(self, name, allow):
        self.iam.create_user(UserName=name)
        if allow:
            self.iam.put_user_policy(UserName=name, PolicyName="invoke", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
                                                        "Resource": "arn:aws:execute-api:*:*:%s/*/GET/*" % self.api}]}))
        k = self.iam.create_access_key(UserName=name)["AccessKey"]
        return Credentials(k["AccessKeyId"], k["SecretAccessKey"])

    def get(self, creds=None, tamper=False):
        req = AWSRequest(method="GET", url=self.url)
        if creds:
            SigV4Auth(creds, "execute-api", REGION).add_auth(req)
        headers = dict(req.headers)
        if tamper:
            headers["Authorization"] = headers["Authorization"][:-4] + "0000"
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url, headers=headers), timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def test_unsigned_and_bad_signatures(self):
        self.assertEqual(self.get(), (403, {"message": "Missing Authentication Token"}))
        status, body = self.get(self.user("alice", True), tamper=True)
        self.assertEqual(status, 403)
        self.assertIn("signature", body["message"].lower())

    def test_policy_decides(self):
        self.assertEqual(self.get(self.user("alice", True)), (200, {"ok": True}))
        status, body = self.get(self.user("bob", False))
        self.assertEqual(status, 403)
        self.assertEqual(list(body), ["Message"])
        self.assertTrue(body["Message"].startswith(
            "User: arn:aws:iam::%s:user/bob is not authorized to perform: execute-api:Invoke on resource: %s"
            % (ACCOUNT, self.method_arn)), body)


if __name__ == "__main__":
    main()
