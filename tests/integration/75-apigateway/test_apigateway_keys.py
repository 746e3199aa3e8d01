"""API Gateway REST APIs: API keys required on a method and usage plans on
the data plane, through plain HTTP with boto3 setup: no key, an unknown
key, a disabled key or a key in no plan for the stage give 403
{"message":"Forbidden"}; the plan's throttle gives 429 {"message":"Too
Many Requests"} and its quota 429 {"message":"Limit Exceeded"}, renewed
when the period turns (on an advanced server clock).
"""
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from harness import KyokaTestCase, main  # noqa: E402

KEY = "k" * 24


class ApiKeys(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.agw = self.kyoka.client("apigateway")
        self.api = self.agw.create_rest_api(name="keys")["id"]
        root = self.agw.get_resources(restApiId=self.api)["items"][0]["id"]
        self.agw.put_method(restApiId=self.api, resourceId=root, httpMethod="GET", authorizationType="NONE",
                            apiKeyRequired=True)
        self.agw.put_integration(restApiId=self.api, resourceId=root, httpMethod="GET", type="MOCK",
                                 requestTemplates={"application/json": '{"statusCode": 200}'})
        self.agw.put_method_response(restApiId=self.api, resourceId=root, httpMethod="GET", statusCode="200")
        self.agw.put_integration_response(restApiId=self.api, resourceId=root, httpMethod="GET", statusCode="200",
                                          responseTemplates={"application/json": '{"ok": true}'})
        self.agw.create_deployment(restApiId=self.api, stageName="dev")
        self.agw.create_deployment(restApiId=self.api, stageName="other")
        self.key = self.agw.create_api_key(name="k", enabled=True, value=KEY)["id"]

    def plan(self, **kw):
        plan = self.agw.create_usage_plan(name="p", apiStages=[{"apiId": self.api, "stage": "dev"}], **kw)["id"]
        self.agw.create_usage_plan_key(usagePlanId=plan, keyId=self.key, keyType="API_KEY")
        return plan

    def get(self, stage="dev", key=KEY):
        conn = http.client.HTTPConnection("127.0.0.1", self.kyoka.port, timeout=10)
        headers = {"Host": "%s.execute-api.localhost.localstack.cloud" % self.api}
        if key:
            headers["x-api-key"] = key
        conn.request("GET", "/%s/" % stage, headers=headers)
        r = conn.getresponse()
        out = (r.status, json.loads(r.read()))
        conn.close()
        return out

    def test_forbidden_without_a_usable_key(self):
        forbidden = (403, {"message": "Forbidden"})
        self.assertEqual(self.get(), forbidden)  # the key is in no plan yet
        self.plan()
        self.assertEqual(self.get(), (200, {"ok": True}))
        self.assertEqual(self.get(key=None), forbidden)
        self.assertEqual(self.get(key="x" * 30), forbidden)
        self.assertEqual(self.get(stage="other"), forbidden)  # the plan does not serve that stage
        self.agw.update_api_key(apiKey=self.key, patchOperations=[
            {"op": "replace", "path": "/enabled", "value": "false"}])
        self.assertEqual(self.get(), forbidden)

    def test_throttle(self):
        self.plan(throttle={"rateLimit": 0.001, "burstLimit": 2})
        self.assertEqual(self.get()[0], 200)
        self.assertEqual(self.get()[0], 200)
        self.assertEqual(self.get(), (429, {"message": "Too Many Requests"}))

    def test_quota_renews_with_the_period(self):
        self.plan(quota={"limit": 2, "period": "DAY"})
        self.assertEqual(self.get()[0], 200)
        self.assertEqual(self.get()[0], 200)
        self.assertEqual(self.get(), (429, {"message": "Limit Exceeded"}))
        self.kyoka.advance(86400)
        self.assertEqual(self.get()[0], 200)


if __name__ == "__main__":
    main()
