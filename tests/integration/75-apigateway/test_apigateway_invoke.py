"""API Gateway REST APIs, the data plane, through plain HTTP at both invoke
URL forms (the execute-api host and /restapis/{id}/{stage}/_user_request_/),
set up with boto3: route matching on the stage's deployment snapshot
(literal over {param} over greedy {proxy+}, ANY), AWS's 403 Missing
Authentication Token for unknown stages, paths and methods, and MOCK
integrations whose request template selects the integration response and
whose response template renders $context, $stageVariables and $input.
"""
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from harness import ACCOUNT, KyokaTestCase, main  # noqa: E402


class Invoke(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.agw = self.kyoka.client("apigateway")

    def call(self, api, stage, path, method="GET", body=None, headers=None, host_form=True):
        conn = http.client.HTTPConnection("127.0.0.1", self.kyoka.port, timeout=10)
        hdrs = dict(headers or {})
        if host_form:
            hdrs["Host"] = "%s.execute-api.localhost.localstack.cloud:%d" % (api, self.kyoka.port)
            target = "/%s%s" % (stage, path)
        else:
            target = "/restapis/%s/%s/_user_request_%s" % (api, stage, path)
        conn.request(method, target, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def mock(self, api, res, verb, request='{"statusCode": 200}', responses=None):
        self.agw.put_method(restApiId=api, resourceId=res, httpMethod=verb, authorizationType="NONE")
        self.agw.put_integration(restApiId=api, resourceId=res, httpMethod=verb, type="MOCK",
                                 requestTemplates={"application/json": request})
        for code, (pattern, tpl, params) in (responses or {"200": (None, '{"r": "%s"}' % verb, {})}).items():
            self.agw.put_method_response(restApiId=api, resourceId=res, httpMethod=verb, statusCode=code)
            kw = {"selectionPattern": pattern} if pattern is not None else {}
            self.agw.put_integration_response(restApiId=api, resourceId=res, httpMethod=verb, statusCode=code,
                                              responseTemplates={"application/json": tpl},
                                              responseParameters=params, **kw)

    def tree(self):
        api = self.agw.create_rest_api(name="routes")["id"]
        root = self.agw.get_resources(restApiId=api)["items"][0]["id"]
        users = self.agw.create_resource(restApiId=api, parentId=root, pathPart="users")["id"]
        user = self.agw.create_resource(restApiId=api, parentId=users, pathPart="{id}")["id"]
        me = self.agw.create_resource(restApiId=api, parentId=users, pathPart="me")["id"]
        proxy = self.agw.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
        self.mock(api, root, "GET", responses={"200": (None, '{"r": "root"}', {})})
        self.mock(api, users, "GET", responses={"200": (None, '{"r": "users"}', {})})
        self.mock(api, user, "GET", responses={"200": (None, '{"r": "user", "id": "$input.params(\'id\')"}', {})})
        self.mock(api, me, "GET", responses={"200": (None, '{"r": "me"}', {})})
        self.mock(api, proxy, "ANY", responses={
            "200": (None, '{"r": "proxy", "p": "$input.params(\'proxy\')", "m": "$context.httpMethod"}', {})})
        self.agw.create_deployment(restApiId=api, stageName="dev")
        return api

    def test_routing(self):
        api = self.tree()
        cases = [("GET", "/", {"r": "root"}), ("GET", "/users", {"r": "users"}),
                 ("GET", "/users/me", {"r": "me"}), ("GET", "/users/42", {"r": "user", "id": "42"}),
                 ("GET", "/users/a%20b", {"r": "user", "id": "a b"}),
                 ("GET", "/users/42/posts/7", {"r": "proxy", "p": "users/42/posts/7", "m": "GET"}),
                 ("DELETE", "/users", {"r": "proxy", "p": "users", "m": "DELETE"}),
                 ("POST", "/other", {"r": "proxy", "p": "other", "m": "POST"})]
        for host_form in (True, False):
            for method, path, want in cases:
                status, hdrs, body = self.call(api, "dev", path, method=method, host_form=host_form)
                self.assertEqual(status, 200, (method, path, body))
                self.assertEqual(json.loads(body), want, (method, path))
                self.assertEqual(hdrs["content-type"], "application/json")

    def test_missing_authentication_token(self):
        api = self.agw.create_rest_api(name="small")["id"]
        root = self.agw.get_resources(restApiId=api)["items"][0]["id"]
        items = self.agw.create_resource(restApiId=api, parentId=root, pathPart="items")["id"]
        self.mock(api, items, "GET")
        self.agw.create_deployment(restApiId=api, stageName="dev")
        # Added after the deployment: not served until the next one.
        self.mock(api, items, "POST")
        for stage, path, method in (("nosuch", "/items", "GET"), ("dev", "/nothing", "GET"),
                                    ("dev", "/items", "POST"), ("dev", "/", "GET"), ("dev", "/items/x", "GET")):
            status, hdrs, body = self.call(api, stage, path, method=method)
            self.assertEqual(status, 403, (stage, path, method))
            self.assertEqual(json.loads(body), {"message": "Missing Authentication Token"})
        self.agw.create_deployment(restApiId=api, stageName="dev")
        status, _, body = self.call(api, "dev", "/items", method="POST")
        self.assertEqual((status, json.loads(body)), (200, {"r": "POST"}))

    def test_mock_selects_integration_response(self):
        api = self.agw.create_rest_api(name="mock")["id"]
        root = self.agw.get_resources(restApiId=api)["items"][0]["id"]
        res = self.agw.create_resource(restApiId=api, parentId=root, pathPart="things")["id"]
        self.mock(api, res, "GET", request='{"statusCode": $input.params(\'code\')}', responses={
            "200": (None, '{"ok": true, "stage": "$context.stage", "v": "$stageVariables.color"}',
                    {"method.response.header.X-Kind": "'fine'"}),
            "404": ("404", '{"missing": "$context.resourcePath"}', {}),
            "500": ("5\\d\\d", '{"broken": true}', {})})
        self.agw.create_deployment(restApiId=api, stageName="prod", variables={"color": "blue"})
        status, hdrs, body = self.call(api, "prod", "/things?code=200")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"ok": True, "stage": "prod", "v": "blue"})
        self.assertEqual(hdrs["x-kind"], "fine")
        status, _, body = self.call(api, "prod", "/things?code=404")
        self.assertEqual((status, json.loads(body)), (404, {"missing": "/things"}))
        status, _, body = self.call(api, "prod", "/things?code=503")
        self.assertEqual((status, json.loads(body)), (500, {"broken": True}))
        # No statusCode at all: AWS's configuration-error 500.
        status, _, body = self.call(api, "prod", "/things")
        self.assertEqual((status, json.loads(body)), (500, {"message": "Internal server error"}))

    def test_templates_read_the_body_and_context(self):
        api = self.agw.create_rest_api(name="tpl")["id"]
        root = self.agw.get_resources(restApiId=api)["items"][0]["id"]
        self.agw.put_method(restApiId=api, resourceId=root, httpMethod="POST", authorizationType="NONE")
        # MOCK's integration output is empty, so the request is echoed
        # through the request template's context, which the response
        # template cannot see: check the request side by its status.
        self.agw.put_integration(restApiId=api, resourceId=root, httpMethod="POST", type="MOCK",
                                 requestTemplates={"application/json":
                                                   '## pick the status from the body\n'
                                                   '{"statusCode": $input.json(\'$.want\')}'})
        for code in ("201", "400"):
            self.agw.put_method_response(restApiId=api, resourceId=root, httpMethod="POST", statusCode=code)
        self.agw.put_integration_response(restApiId=api, resourceId=root, httpMethod="POST", statusCode="201",
                                          responseTemplates={"application/json":
                                                             '{"id": "$context.requestId", "acct": '
                                                             '"$context.accountId", "api": "$context.apiId", '
                                                             '"ua": "$context.identity.userAgent"}'})
        self.agw.put_integration_response(restApiId=api, resourceId=root, httpMethod="POST", statusCode="400",
                                          selectionPattern="4\\d\\d", responseTemplates={"application/json": "{}"})
        self.agw.create_deployment(restApiId=api, stageName="dev")
        status, _, body = self.call(api, "dev", "/", method="POST", body=json.dumps({"want": 201}),
                                    headers={"Content-Type": "application/json", "User-Agent": "probe/1"})
        self.assertEqual(status, 201, body)
        doc = json.loads(body)
        self.assertEqual((doc["acct"], doc["api"], doc["ua"]), (ACCOUNT, api, "probe/1"))
        self.assertEqual(len(doc["id"]), 36)
        status, _, _ = self.call(api, "dev", "/", method="POST", body=json.dumps({"want": 404}),
                                 headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)

    def test_set_and_if_pick_the_status(self):
        api = self.agw.create_rest_api(name="vtl")["id"]
        root = self.agw.get_resources(restApiId=api)["items"][0]["id"]
        self.mock(api, root, "GET", request=(
            "#set($code = $input.params('code'))\n"
            "#if($code == 'missing')#set($s = 404)#elseif(!$code)#set($s = 200)#else#set($s = 500)#end"
            '{"statusCode": $s}'), responses={"200": (None, '{"ok": 1}', {}), "404": ("404", '{"ok": 0}', {}),
                                               "500": ("5\\d\\d", '{"ok": -1}', {})})
        self.agw.create_deployment(restApiId=api, stageName="dev")
        self.assertEqual(self.call(api, "dev", "/")[0], 200)
        self.assertEqual(self.call(api, "dev", "/?code=missing")[0], 404)
        self.assertEqual(self.call(api, "dev", "/?code=other")[0], 500)

    def test_unsupported_template_directive_is_a_500(self):
        api = self.agw.create_rest_api(name="vtl")["id"]
        root = self.agw.get_resources(restApiId=api)["items"][0]["id"]
        self.mock(api, root, "GET", request='#macro(x)#end{"statusCode": 200}')
        self.agw.create_deployment(restApiId=api, stageName="dev")
        status, _, body = self.call(api, "dev", "/")
        self.assertEqual((status, json.loads(body)), (500, {"message": "Internal server error"}))


if __name__ == "__main__":
    main()
