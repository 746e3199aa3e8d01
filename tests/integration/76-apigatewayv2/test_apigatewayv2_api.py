"""API Gateway HTTP APIs control plane through boto3 and the AWS CLI:
APIs (quick create included), routes and their key validation,
integrations, stages with auto-deploy, deployments, CORS, tags, IAM
authorization as apigateway:{VERB} on the management ARN, and the state
surviving kill -9.
"""
import json
import os
import sys

import botocore.exceptions

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from harness import ACCOUNT, REGION, KyokaServer, KyokaTestCase, main  # noqa: E402

FN_ARN = "arn:aws:lambda:%s:%s:function:echo" % (REGION, ACCOUNT)


class ApiCase(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.gw = self.kyoka.client("apigatewayv2")

    def assertError(self, code, fn, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception

    def test_create_get_list_update_delete(self):
        api = self.gw.create_api(Name="one", ProtocolType="HTTP", Description="d", Tags={"k": "v"})
        self.assertEqual(len(api["ApiId"]), 10)
        self.assertEqual(api["ApiEndpoint"], "https://%s.execute-api.%s.amazonaws.com" % (api["ApiId"], REGION))
        self.assertEqual(api["RouteSelectionExpression"], "$request.method $request.path")
        self.assertEqual(api["ApiKeySelectionExpression"], "$request.header.x-api-key")
        self.assertEqual(api["Tags"], {"k": "v"})
        got = self.gw.get_api(ApiId=api["ApiId"])
        self.assertEqual(got["Name"], "one")
        self.assertIn("CreatedDate", got)
        items = self.gw.get_apis()["Items"]
        self.assertEqual([a["ApiId"] for a in items], [api["ApiId"]])
        up = self.gw.update_api(ApiId=api["ApiId"], Name="two",
                                CorsConfiguration={"AllowOrigins": ["https://a.example"], "MaxAge": 60})
        self.assertEqual(up["Name"], "two")
        self.assertEqual(up["CorsConfiguration"]["AllowOrigins"], ["https://a.example"])
        self.gw.delete_cors_configuration(ApiId=api["ApiId"])
        self.assertNotIn("CorsConfiguration", self.gw.get_api(ApiId=api["ApiId"]))
        self.gw.delete_api(ApiId=api["ApiId"])
        e = self.assertError("NotFoundException", self.gw.get_api, ApiId=api["ApiId"])
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.assertEqual(self.gw.get_apis()["Items"], [])

    def test_websocket_and_bad_protocol_refused(self):
        self.assertError("BadRequestException", self.gw.create_api, Name="x", ProtocolType="SOAP")
        self.assertEqual(self.gw.get_apis()["Items"], [])

    def test_quick_create(self):
        api = self.gw.create_api(Name="quick", ProtocolType="HTTP", Target=FN_ARN)
        integ = self.gw.get_integrations(ApiId=api["ApiId"])["Items"]
        self.assertEqual(len(integ), 1)
        self.assertEqual(integ[0]["IntegrationType"], "AWS_PROXY")
        self.assertEqual(integ[0]["IntegrationUri"], FN_ARN)
        self.assertEqual(integ[0]["PayloadFormatVersion"], "2.0")
        self.assertTrue(integ[0]["ApiGatewayManaged"])
        routes = self.gw.get_routes(ApiId=api["ApiId"])["Items"]
        self.assertEqual([r["RouteKey"] for r in routes], ["$default"])
        self.assertEqual(routes[0]["Target"], "integrations/" + integ[0]["IntegrationId"])
        stages = self.gw.get_stages(ApiId=api["ApiId"])["Items"]
        self.assertEqual([s["StageName"] for s in stages], ["$default"])
        self.assertTrue(stages[0]["AutoDeploy"])
        self.assertIn("DeploymentId", stages[0])
        dep = self.gw.get_deployment(ApiId=api["ApiId"], DeploymentId=stages[0]["DeploymentId"])
        self.assertTrue(dep["AutoDeployed"])
        self.assertEqual(dep["DeploymentStatus"], "DEPLOYED")

    def test_quick_create_with_route_key(self):
        api = self.gw.create_api(Name="quick", ProtocolType="HTTP", Target=FN_ARN, RouteKey="GET /items/{id}")
        routes = self.gw.get_routes(ApiId=api["ApiId"])["Items"]
        self.assertEqual([r["RouteKey"] for r in routes], ["GET /items/{id}"])

    def test_route_keys(self):
        api_id = self.gw.create_api(Name="r", ProtocolType="HTTP")["ApiId"]
        for key in ["GET /items/{id}", "ANY /{proxy+}", "$default", "POST /", "DELETE /a/{b}/c/{rest+}"]:
            r = self.gw.create_route(ApiId=api_id, RouteKey=key)
            self.assertEqual(r["RouteKey"], key)
            self.assertEqual(len(r["RouteId"]), 7)
            self.assertEqual(r["AuthorizationType"], "NONE")
        for key in ["GET items", "FETCH /x", "GET /{proxy+}/more", "GET /a//b", "GET /a{b}", "$other", "GET"]:
            e = self.assertError("BadRequestException", self.gw.create_route, ApiId=api_id, RouteKey=key)
            self.assertIn(key, e.response["Error"]["Message"])
        self.assertError("ConflictException", self.gw.create_route, ApiId=api_id, RouteKey="GET /items/{id}")
        self.assertEqual(len(self.gw.get_routes(ApiId=api_id)["Items"]), 5)
        self.assertError("NotFoundException", self.gw.create_route, ApiId="nope", RouteKey="GET /x")

    def test_route_update_delete_and_targets(self):
        api_id = self.gw.create_api(Name="r", ProtocolType="HTTP")["ApiId"]
        i = self.gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=FN_ARN,
                                       PayloadFormatVersion="2.0")
        r = self.gw.create_route(ApiId=api_id, RouteKey="GET /a", Target="integrations/" + i["IntegrationId"])
        self.assertError("BadRequestException", self.gw.create_route, ApiId=api_id, RouteKey="GET /b",
                         Target="integrations/zzzzzzz")
        up = self.gw.update_route(ApiId=api_id, RouteId=r["RouteId"], RouteKey="GET /b")
        self.assertEqual(up["RouteKey"], "GET /b")
        self.assertEqual(up["Target"], "integrations/" + i["IntegrationId"])
        # An integration a route targets cannot go.
        self.assertError("ConflictException", self.gw.delete_integration, ApiId=api_id,
                         IntegrationId=i["IntegrationId"])
        self.gw.delete_route(ApiId=api_id, RouteId=r["RouteId"])
        self.assertError("NotFoundException", self.gw.get_route, ApiId=api_id, RouteId=r["RouteId"])
        self.gw.delete_integration(ApiId=api_id, IntegrationId=i["IntegrationId"])

    def test_integrations(self):
        api_id = self.gw.create_api(Name="i", ProtocolType="HTTP")["ApiId"]
        i = self.gw.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=FN_ARN + ":live",
                                       PayloadFormatVersion="1.0")
        self.assertEqual(i["PayloadFormatVersion"], "1.0")
        self.assertEqual(i["TimeoutInMillis"], 30000)
        self.assertEqual(i["ConnectionType"], "INTERNET")
        h = self.gw.create_integration(ApiId=api_id, IntegrationType="HTTP_PROXY", IntegrationMethod="GET",
                                       IntegrationUri="https://example.com/{proxy}", PayloadFormatVersion="1.0")
        self.assertEqual(h["IntegrationMethod"], "GET")
        self.assertError("BadRequestException", self.gw.create_integration, ApiId=api_id,
                         IntegrationType="AWS_PROXY", IntegrationUri=FN_ARN, PayloadFormatVersion="3.0")
        self.assertError("BadRequestException", self.gw.create_integration, ApiId=api_id,
                         IntegrationType="HTTP_PROXY", IntegrationUri="https://x", PayloadFormatVersion="2.0")
        self.assertError("BadRequestException", self.gw.create_integration, ApiId=api_id,
                         IntegrationType="AWS_PROXY", IntegrationUri=FN_ARN, PayloadFormatVersion="2.0",
                         TimeoutInMillis=40000)
        up = self.gw.update_integration(ApiId=api_id, IntegrationId=i["IntegrationId"], PayloadFormatVersion="2.0")
        self.assertEqual(up["PayloadFormatVersion"], "2.0")
        self.assertError("BadRequestException", self.gw.update_integration, ApiId=api_id,
                         IntegrationId=i["IntegrationId"], PayloadFormatVersion="9.9")
        got = self.gw.get_integration(ApiId=api_id, IntegrationId=i["IntegrationId"])
        self.assertEqual(got["PayloadFormatVersion"], "2.0")
        self.assertEqual(len(self.gw.get_integrations(ApiId=api_id)["Items"]), 2)

    def test_stages_and_deployments(self):
        api_id = self.gw.create_api(Name="s", ProtocolType="HTTP")["ApiId"]
        self.assertError("BadRequestException", self.gw.create_deployment, ApiId=api_id)
        self.gw.create_route(ApiId=api_id, RouteKey="GET /a")
        st = self.gw.create_stage(ApiId=api_id, StageName="prod", StageVariables={"color": "blue"})
        self.assertEqual(st["StageVariables"], {"color": "blue"})
        self.assertFalse(st["AutoDeploy"])
        self.assertNotIn("DeploymentId", st)
        self.assertError("ConflictException", self.gw.create_stage, ApiId=api_id, StageName="prod")
        d = self.gw.create_deployment(ApiId=api_id, StageName="prod", Description="first")
        self.assertEqual(d["DeploymentStatus"], "DEPLOYED")
        self.assertFalse(d["AutoDeployed"])
        self.assertEqual(self.gw.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"], d["DeploymentId"])
        # Auto-deploy: a route change deploys again.
        auto = self.gw.create_stage(ApiId=api_id, StageName="dev", AutoDeploy=True)
        first = auto["DeploymentId"]
        self.gw.create_route(ApiId=api_id, RouteKey="GET /b")
        second = self.gw.get_stage(ApiId=api_id, StageName="dev")["DeploymentId"]
        self.assertNotEqual(first, second)
        self.assertEqual(self.gw.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"], d["DeploymentId"])
        self.assertError("BadRequestException", self.gw.create_deployment, ApiId=api_id, StageName="dev")
        up = self.gw.update_stage(ApiId=api_id, StageName="prod", StageVariables={"color": "red"})
        self.assertEqual(up["StageVariables"], {"color": "red"})
        self.assertError("BadRequestException", self.gw.update_stage, ApiId=api_id, StageName="prod",
                         DeploymentId="nope00")
        self.gw.delete_stage(ApiId=api_id, StageName="dev")
        self.assertEqual([s["StageName"] for s in self.gw.get_stages(ApiId=api_id)["Items"]], ["prod"])

    def test_tags(self):
        api_id = self.gw.create_api(Name="t", ProtocolType="HTTP")["ApiId"]
        arn = "arn:aws:apigateway:%s::/apis/%s" % (REGION, api_id)
        self.gw.tag_resource(ResourceArn=arn, Tags={"a": "1", "b": "2"})
        self.assertEqual(self.gw.get_tags(ResourceArn=arn)["Tags"], {"a": "1", "b": "2"})
        self.gw.untag_resource(ResourceArn=arn, TagKeys=["a"])
        self.assertEqual(self.gw.get_tags(ResourceArn=arn)["Tags"], {"b": "2"})
        self.assertEqual(self.gw.get_api(ApiId=api_id)["Tags"], {"b": "2"})
        self.assertError("NotFoundException", self.gw.get_tags,
                         ResourceArn="arn:aws:apigateway:%s::/apis/nope" % REGION)

    def test_unimplemented_operation(self):
        api_id = self.gw.create_api(Name="u", ProtocolType="HTTP")["ApiId"]
        e = self.assertError("NotImplemented", self.gw.get_models, ApiId=api_id)
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], 501)

    def test_cli(self):
        out = self.kyoka.aws_cli("apigatewayv2", "create-api", "--name", "cli", "--protocol-type", "HTTP",
                                 "--target", FN_ARN, check=True)
        api = json.loads(out.stdout)
        out = self.kyoka.aws_cli("apigatewayv2", "get-routes", "--api-id", api["ApiId"], check=True)
        self.assertEqual(json.loads(out.stdout)["Items"][0]["RouteKey"], "$default")
        bad = self.kyoka.aws_cli("apigatewayv2", "create-route", "--api-id", api["ApiId"], "--route-key", "GET x")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("BadRequestException", bad.stderr)


class AuthzCase(KyokaTestCase):
    """A user's calls are authorized as apigateway:{VERB} on the
    management API's path ARN."""

    def test_user_policy(self):
        iam = self.kyoka.client("iam")
        iam.create_user(UserName="dev")
        key = iam.create_access_key(UserName="dev")["AccessKey"]
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["apigateway:POST", "apigateway:GET"],
             "Resource": "arn:aws:apigateway:%s::/apis*" % REGION},
            {"Effect": "Deny", "Action": "apigateway:DELETE", "Resource": "*"}]}
        iam.put_user_policy(UserName="dev", PolicyName="p", PolicyDocument=json.dumps(policy))
        gw = self.kyoka.client("apigatewayv2", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        api_id = gw.create_api(Name="a", ProtocolType="HTTP")["ApiId"]
        gw.get_api(ApiId=api_id)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            gw.delete_api(ApiId=api_id)
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            gw.update_api(ApiId=api_id, Name="b")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertEqual(self.kyoka.client("apigatewayv2").get_api(ApiId=api_id)["Name"], "a")


class DurableCase(KyokaTestCase):
    ephemeral = False

    def test_kill9_keeps_apis(self):
        gw = self.kyoka.client("apigatewayv2")
        api = gw.create_api(Name="keep", ProtocolType="HTTP", Target=FN_ARN, RouteKey="ANY /{proxy+}",
                            CorsConfiguration={"AllowOrigins": ["*"]})
        gw.create_stage(ApiId=api["ApiId"], StageName="prod", StageVariables={"v": "1"})
        self.kyoka.kill9()
        self.kyoka.start()
        gw = self.kyoka.client("apigatewayv2")
        got = gw.get_api(ApiId=api["ApiId"])
        self.assertEqual(got["Name"], "keep")
        self.assertEqual(got["CorsConfiguration"]["AllowOrigins"], ["*"])
        self.assertEqual([r["RouteKey"] for r in gw.get_routes(ApiId=api["ApiId"])["Items"]], ["ANY /{proxy+}"])
        self.assertEqual(gw.get_stage(ApiId=api["ApiId"], StageName="prod")["StageVariables"], {"v": "1"})
        self.assertEqual(len(gw.get_integrations(ApiId=api["ApiId"])["Items"]), 1)


if __name__ == "__main__":
    main()
