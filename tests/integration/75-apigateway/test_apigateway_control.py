"""API Gateway REST APIs, the control plane, through boto3 and the AWS CLI:
APIs, the resource tree (path parts, {param}, greedy {proxy+}), methods,
integrations and their responses, deployments and stages, API keys, usage
plans and their keys, tags, GetExport; AWS's error codes and messages for
bad input (and that bad input changes nothing); and the state surviving a
kill -9 restart.
"""
import json
import os
import sys
import unittest

import botocore.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from harness import ACCOUNT, REGION, KyokaServer, KyokaTestCase, main  # noqa: E402


class ControlPlane(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.agw = self.kyoka.client("apigateway")

    def err(self, code, fn, *args, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception.response["Error"]["Message"]

    def api(self, name="pets"):
        api = self.agw.create_rest_api(name=name, description="d")
        root = [r for r in self.agw.get_resources(restApiId=api["id"])["items"] if r["path"] == "/"][0]
        return api["id"], root["id"]

    def mock_method(self, api, res, verb="GET"):
        self.agw.put_method(restApiId=api, resourceId=res, httpMethod=verb, authorizationType="NONE")
        self.agw.put_integration(restApiId=api, resourceId=res, httpMethod=verb, type="MOCK",
                                 requestTemplates={"application/json": '{"statusCode": 200}'})
        self.agw.put_method_response(restApiId=api, resourceId=res, httpMethod=verb, statusCode="200")
        self.agw.put_integration_response(restApiId=api, resourceId=res, httpMethod=verb, statusCode="200",
                                          responseTemplates={"application/json": '{"ok": true}'})

    # ---- REST APIs ----

    def test_rest_api_lifecycle(self):
        api = self.agw.create_rest_api(name="pets", description="Pet store", tags={"team": "a"},
                                       endpointConfiguration={"types": ["REGIONAL"]})
        self.assertEqual(len(api["id"]), 10)
        self.assertEqual(api["name"], "pets")
        self.assertEqual(api["description"], "Pet store")
        self.assertEqual(api["endpointConfiguration"]["types"], ["REGIONAL"])
        self.assertEqual(api["tags"], {"team": "a"})
        self.assertIn("createdDate", api)
        got = self.agw.get_rest_api(restApiId=api["id"])
        self.assertEqual(got["name"], "pets")
        self.assertEqual([a["id"] for a in self.agw.get_rest_apis()["items"]], [api["id"]])
        upd = self.agw.update_rest_api(restApiId=api["id"], patchOperations=[
            {"op": "replace", "path": "/name", "value": "cats"},
            {"op": "replace", "path": "/description", "value": "Cat store"}])
        self.assertEqual((upd["name"], upd["description"]), ("cats", "Cat store"))
        self.agw.delete_rest_api(restApiId=api["id"])
        self.assertEqual(self.agw.get_rest_apis()["items"], [])

    def test_rest_api_errors(self):
        msg = self.err("NotFoundException", self.agw.get_rest_api, restApiId="nosuchapi0")
        self.assertEqual(msg, "Invalid API identifier specified %s:nosuchapi0" % ACCOUNT)
        self.err("NotFoundException", self.agw.delete_rest_api, restApiId="nosuchapi0")
        self.err("BadRequestException", self.agw.create_rest_api, name="")
        self.assertEqual(self.agw.get_rest_apis()["items"], [])

    # ---- resources ----

    def test_resource_tree(self):
        api, root = self.api()
        users = self.agw.create_resource(restApiId=api, parentId=root, pathPart="users")
        self.assertEqual((users["path"], users["pathPart"], users["parentId"]), ("/users", "users", root))
        user = self.agw.create_resource(restApiId=api, parentId=users["id"], pathPart="{id}")
        self.assertEqual(user["path"], "/users/{id}")
        proxy = self.agw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")
        self.assertEqual(proxy["path"], "/{proxy+}")
        paths = sorted(r["path"] for r in self.agw.get_resources(restApiId=api)["items"])
        self.assertEqual(paths, ["/", "/users", "/users/{id}", "/{proxy+}"])
        self.assertEqual(self.agw.get_resource(restApiId=api, resourceId=user["id"])["path"], "/users/{id}")
        # Deleting a resource takes its children with it.
        self.agw.delete_resource(restApiId=api, resourceId=users["id"])
        paths = sorted(r["path"] for r in self.agw.get_resources(restApiId=api)["items"])
        self.assertEqual(paths, ["/", "/{proxy+}"])

    def test_resource_errors(self):
        api, root = self.api()
        users = self.agw.create_resource(restApiId=api, parentId=root, pathPart="users")
        msg = self.err("ConflictException", self.agw.create_resource, restApiId=api, parentId=root,
                       pathPart="users")
        self.assertEqual(msg, "Another resource with the same parent already has this name: users")
        msg = self.err("NotFoundException", self.agw.get_resource, restApiId=api, resourceId="nosuch")
        self.assertEqual(msg, "Invalid Resource identifier specified")
        self.err("NotFoundException", self.agw.create_resource, restApiId=api, parentId="nosuch", pathPart="x")
        self.agw.create_resource(restApiId=api, parentId=users["id"], pathPart="{id}")
        self.err("BadRequestException", self.agw.create_resource, restApiId=api, parentId=users["id"],
                 pathPart="{name}")
        self.err("BadRequestException", self.agw.delete_resource, restApiId=api, resourceId=root)
        self.assertEqual(len(self.agw.get_resources(restApiId=api)["items"]), 3)

    # ---- methods, integrations, responses ----

    def test_method_integration_responses(self):
        api, root = self.api()
        res = self.agw.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
        m = self.agw.put_method(restApiId=api, resourceId=res, httpMethod="POST", authorizationType="NONE",
                                apiKeyRequired=True, requestParameters={"method.request.querystring.q": False})
        self.assertEqual((m["httpMethod"], m["authorizationType"], m["apiKeyRequired"]), ("POST", "NONE", True))
        i = self.agw.put_integration(restApiId=api, resourceId=res, httpMethod="POST", type="MOCK",
                                     requestTemplates={"application/json": '{"statusCode": 201}'},
                                     passthroughBehavior="WHEN_NO_TEMPLATES")
        self.assertEqual(i["type"], "MOCK")
        self.assertEqual(i["requestTemplates"], {"application/json": '{"statusCode": 201}'})
        mr = self.agw.put_method_response(restApiId=api, resourceId=res, httpMethod="POST", statusCode="201",
                                          responseParameters={"method.response.header.X-Id": False})
        self.assertEqual(mr["statusCode"], "201")
        ir = self.agw.put_integration_response(restApiId=api, resourceId=res, httpMethod="POST", statusCode="201",
                                               selectionPattern="", responseTemplates={"application/json": "{}"})
        self.assertEqual(ir["statusCode"], "201")
        got = self.agw.get_method(restApiId=api, resourceId=res, httpMethod="POST")
        self.assertEqual(got["methodIntegration"]["type"], "MOCK")
        self.assertIn("201", got["methodResponses"])
        self.assertIn("201", got["methodIntegration"]["integrationResponses"])
        self.assertEqual(self.agw.get_integration_response(restApiId=api, resourceId=res, httpMethod="POST",
                                                           statusCode="201")["responseTemplates"],
                         {"application/json": "{}"})
        # The resource lists its methods.
        r = self.agw.get_resource(restApiId=api, resourceId=res)
        self.assertIn("POST", r["resourceMethods"])
        self.agw.delete_method(restApiId=api, resourceId=res, httpMethod="POST")
        self.err("NotFoundException", self.agw.get_method, restApiId=api, resourceId=res, httpMethod="POST")

    def test_lambda_integration(self):
        api, root = self.api()
        fn = "arn:aws:lambda:%s:%s:function:f" % (REGION, ACCOUNT)
        uri = "arn:aws:apigateway:%s:lambda:path/2015-03-31/functions/%s/invocations" % (REGION, fn)
        self.agw.put_method(restApiId=api, resourceId=root, httpMethod="ANY", authorizationType="NONE")
        i = self.agw.put_integration(restApiId=api, resourceId=root, httpMethod="ANY", type="AWS_PROXY",
                                     integrationHttpMethod="POST", uri=uri)
        self.assertEqual((i["type"], i["uri"], i["httpMethod"]), ("AWS_PROXY", uri, "POST"))
        self.assertEqual(i["timeoutInMillis"], 29000)
        msg = self.err("BadRequestException", self.agw.put_integration, restApiId=api, resourceId=root,
                       httpMethod="ANY", type="AWS_PROXY", uri=uri)
        self.assertEqual(msg, "Enumeration value for HttpMethod must be non-empty")

    def test_method_errors(self):
        api, root = self.api()
        msg = self.err("NotFoundException", self.agw.get_method, restApiId=api, resourceId=root, httpMethod="GET")
        self.assertEqual(msg, "Invalid Method identifier specified")
        self.err("NotFoundException", self.agw.put_integration, restApiId=api, resourceId=root, httpMethod="GET",
                 type="MOCK")
        self.agw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        msg = self.err("ConflictException", self.agw.put_method, restApiId=api, resourceId=root, httpMethod="GET",
                       authorizationType="NONE")
        self.assertEqual(msg, "Method already exists for this resource")
        msg = self.err("NotFoundException", self.agw.get_integration, restApiId=api, resourceId=root,
                       httpMethod="GET")
        self.assertEqual(msg, "No integration defined for method")
        # An enum outside the model is the front door's ValidationException, as
        # AWS answers it (aws-sdk-ruby issue 1036 shows the service's reply).
        self.err("ValidationException", self.agw.put_integration, restApiId=api, resourceId=root,
                 httpMethod="GET", type="BOGUS")
        self.err("BadRequestException", self.agw.put_method, restApiId=api, resourceId=root, httpMethod="FETCH",
                 authorizationType="NONE")
        msg = self.err("NotFoundException", self.agw.get_method_response, restApiId=api, resourceId=root,
                       httpMethod="GET", statusCode="200")
        self.assertEqual(msg, "Invalid Response status code specified")

    # ---- deployments and stages ----

    def test_deployments_and_stages(self):
        api, root = self.api()
        msg = self.err("BadRequestException", self.agw.create_deployment, restApiId=api, stageName="dev")
        self.assertEqual(msg, "The REST API doesn't contain any methods")
        self.mock_method(api, root)
        dep = self.agw.create_deployment(restApiId=api, stageName="dev", description="first",
                                         variables={"v": "1"})
        self.assertIn("id", dep)
        st = self.agw.get_stage(restApiId=api, stageName="dev")
        self.assertEqual((st["stageName"], st["deploymentId"], st["variables"]), ("dev", dep["id"], {"v": "1"}))
        st2 = self.agw.create_stage(restApiId=api, stageName="prod", deploymentId=dep["id"], variables={"a": "b"})
        self.assertEqual(st2["deploymentId"], dep["id"])
        names = sorted(s["stageName"] for s in self.agw.get_stages(restApiId=api)["item"])
        self.assertEqual(names, ["dev", "prod"])
        msg = self.err("ConflictException", self.agw.create_stage, restApiId=api, stageName="prod",
                       deploymentId=dep["id"])
        self.assertEqual(msg, "Stage already exists")
        upd = self.agw.update_stage(restApiId=api, stageName="prod", patchOperations=[
            {"op": "replace", "path": "/variables/a", "value": "c"}])
        self.assertEqual(upd["variables"], {"a": "c"})
        msg = self.err("NotFoundException", self.agw.get_stage, restApiId=api, stageName="nosuch")
        self.assertEqual(msg, "Invalid stage identifier specified")
        self.err("NotFoundException", self.agw.create_stage, restApiId=api, stageName="x", deploymentId="nosuch")
        deps = self.agw.get_deployments(restApiId=api)["items"]
        self.assertEqual([d["id"] for d in deps], [dep["id"]])
        self.err("BadRequestException", self.agw.delete_deployment, restApiId=api, deploymentId=dep["id"])
        self.agw.delete_stage(restApiId=api, stageName="prod")
        self.agw.delete_stage(restApiId=api, stageName="dev")
        self.agw.delete_deployment(restApiId=api, deploymentId=dep["id"])
        self.assertEqual(self.agw.get_deployments(restApiId=api)["items"], [])

    # ---- API keys, usage plans, tags ----

    def test_api_keys_and_usage_plans(self):
        api, root = self.api()
        self.mock_method(api, root)
        self.agw.create_deployment(restApiId=api, stageName="dev")
        key = self.agw.create_api_key(name="k1", enabled=True, value="abcdefghijklmnopqrstuvwxyz")
        self.assertEqual((key["name"], key["enabled"], key["value"]), ("k1", True, "abcdefghijklmnopqrstuvwxyz"))
        got = self.agw.get_api_key(apiKey=key["id"])
        self.assertNotIn("value", got)
        self.assertEqual(self.agw.get_api_key(apiKey=key["id"], includeValue=True)["value"],
                         "abcdefghijklmnopqrstuvwxyz")
        msg = self.err("BadRequestException", self.agw.create_api_key, name="short", value="short")
        self.assertEqual(msg, "API Key value should be at least 20 characters")
        msg = self.err("NotFoundException", self.agw.get_api_key, apiKey="nosuch")
        self.assertEqual(msg, "Invalid API Key identifier specified")
        plan = self.agw.create_usage_plan(name="gold", apiStages=[{"apiId": api, "stage": "dev"}],
                                          throttle={"rateLimit": 10.0, "burstLimit": 5},
                                          quota={"limit": 100, "period": "DAY"})
        self.assertEqual(plan["apiStages"], [{"apiId": api, "stage": "dev"}])
        self.assertEqual(plan["quota"]["period"], "DAY")
        self.err("NotFoundException", self.agw.create_usage_plan, name="x",
                 apiStages=[{"apiId": api, "stage": "nosuch"}])
        pk = self.agw.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        self.assertEqual((pk["id"], pk["type"], pk["name"]), (key["id"], "API_KEY", "k1"))
        self.assertEqual([k["id"] for k in self.agw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]],
                         [key["id"]])
        msg = self.err("NotFoundException", self.agw.get_usage_plan, usagePlanId="nosuch")
        self.assertEqual(msg, "Invalid Usage Plan ID specified")
        self.agw.delete_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"])
        self.assertEqual(self.agw.get_usage_plan_keys(usagePlanId=plan["id"])["items"], [])
        self.agw.delete_usage_plan(usagePlanId=plan["id"])
        self.agw.delete_api_key(apiKey=key["id"])
        self.assertEqual(self.agw.get_api_keys()["items"], [])

    def test_tags(self):
        api, _ = self.api()
        arn = "arn:aws:apigateway:%s::/restapis/%s" % (REGION, api)
        self.agw.tag_resource(resourceArn=arn, tags={"a": "1", "b": "2"})
        self.assertEqual(self.agw.get_tags(resourceArn=arn)["tags"], {"a": "1", "b": "2"})
        self.agw.untag_resource(resourceArn=arn, tagKeys=["a"])
        self.assertEqual(self.agw.get_tags(resourceArn=arn)["tags"], {"b": "2"})
        self.assertEqual(self.agw.get_rest_api(restApiId=api)["tags"], {"b": "2"})

    def test_export(self):
        api, root = self.api()
        res = self.agw.create_resource(restApiId=api, parentId=root, pathPart="{id}")["id"]
        self.mock_method(api, res)
        self.agw.create_deployment(restApiId=api, stageName="dev")
        for kind, key in (("oas30", "openapi"), ("swagger", "swagger")):
            out = self.agw.get_export(restApiId=api, stageName="dev", exportType=kind,
                                      accepts="application/json")
            doc = json.loads(out["body"].read())
            self.assertIn(key, doc)
            self.assertIn("/{id}", doc["paths"])
            self.assertIn("get", doc["paths"]["/{id}"])
        self.err("NotFoundException", self.agw.get_export, restApiId=api, stageName="nosuch", exportType="oas30")

    def test_cli(self):
        out = self.kyoka.aws_cli("apigateway", "create-rest-api", "--name", "cli-api")
        self.assertEqual(out.returncode, 0, out.stderr)
        api = json.loads(out.stdout)["id"]
        out = self.kyoka.aws_cli("apigateway", "get-resources", "--rest-api-id", api)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual([r["path"] for r in json.loads(out.stdout)["items"]], ["/"])
        out = self.kyoka.aws_cli("apigateway", "get-rest-api", "--rest-api-id", "nosuchapi0")
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("NotFoundException", out.stderr)


class Durability(unittest.TestCase):
    def test_kill9_keeps_everything(self):
        srv = KyokaServer().start()
        try:
            agw = srv.client("apigateway")
            api = agw.create_rest_api(name="durable")["id"]
            root = agw.get_resources(restApiId=api)["items"][0]["id"]
            res = agw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
            agw.put_method(restApiId=api, resourceId=res, httpMethod="ANY", authorizationType="NONE")
            agw.put_integration(restApiId=api, resourceId=res, httpMethod="ANY", type="MOCK")
            dep = agw.create_deployment(restApiId=api, stageName="dev")["id"]
            key = agw.create_api_key(name="k", enabled=True)["id"]
            plan = agw.create_usage_plan(name="p", apiStages=[{"apiId": api, "stage": "dev"}])["id"]
            agw.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
            srv.kill9()
            srv.start()
            agw = srv.client("apigateway")
            self.assertEqual(agw.get_rest_api(restApiId=api)["name"], "durable")
            self.assertEqual(agw.get_resource(restApiId=api, resourceId=res)["path"], "/{proxy+}")
            self.assertEqual(agw.get_integration(restApiId=api, resourceId=res, httpMethod="ANY")["type"], "MOCK")
            self.assertEqual(agw.get_stage(restApiId=api, stageName="dev")["deploymentId"], dep)
            self.assertEqual(agw.get_api_key(apiKey=key)["name"], "k")
            self.assertEqual([k["id"] for k in agw.get_usage_plan_keys(usagePlanId=plan)["items"]], [key])
        finally:
            srv.cleanup()


if __name__ == "__main__":
    main()
