"""IAM and STS through boto3: entities, policies, access keys, role sessions,
the simulator, enforcement on IAM itself, and durability.

Each assertion names the exact AWS error code and message, so a change in
behaviour fails here rather than in a user's deploy script.
"""
import datetime
import json
import re
import shutil
import time
import unittest

import botocore.exceptions

from harness import ACCOUNT, KyokaServer, KyokaTestCase, main

ROOT_ARN = "arn:aws:iam::%s:root" % ACCOUNT
LAMBDA_BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def trust(principal, condition=None, action="sts:AssumeRole"):
    st = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def deny(action, resource="*"):
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def role_arn(name, path="/"):
    return "arn:aws:iam::%s:role%s%s" % (ACCOUNT, path, name)


def user_arn(name, path="/"):
    return "arn:aws:iam::%s:user%s%s" % (ACCOUNT, path, name)


class IamCase(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.iam = self.kyoka.client("iam")
        self.sts = self.kyoka.client("sts")

    def assertError(self, ctx, code, message=None, status=None):
        err = ctx.exception.response["Error"]
        self.assertEqual(err["Code"], code, err)
        if message is not None:
            self.assertEqual(err["Message"], message)
        if status is not None:
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)

    def make_user(self, name, inline=None, path="/"):
        """A user with an access key; returns (iam client, sts client, key)."""
        self.iam.create_user(UserName=name, Path=path)
        if inline:
            self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=inline)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return (self.kyoka.client("iam", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"]),
                self.kyoka.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"]), key)

    def session_clients(self, creds, service="sts"):
        return self.kyoka.client(service, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                                session_token=creds["SessionToken"])


class RoleTest(IamCase):
    def test_create_get_list_delete(self):
        doc = trust({"Service": "lambda.amazonaws.com"})
        r = self.iam.create_role(RoleName="app", AssumeRolePolicyDocument=doc, Description="the app",
                                 Tags=[{"Key": "team", "Value": "a"}])["Role"]
        self.assertRegex(r["RoleId"], r"^AROA[A-Z0-9]{17}$")
        self.assertEqual(r["Arn"], role_arn("app"))
        self.assertEqual(r["Path"], "/")
        self.assertEqual(r["MaxSessionDuration"], 3600)
        self.assertIsInstance(r["CreateDate"], datetime.datetime)
        self.assertEqual(r["Tags"], [{"Key": "team", "Value": "a"}])

        got = self.iam.get_role(RoleName="app")["Role"]
        self.assertEqual(got["RoleId"], r["RoleId"])
        self.assertEqual(got["AssumeRolePolicyDocument"], json.loads(doc))
        self.assertEqual(got["Description"], "the app")

        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_role(RoleName="app", AssumeRolePolicyDocument=doc)
        self.assertError(cm, "EntityAlreadyExists", "Role with name app already exists.", 409)
        # Names are unique without regard to case.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_role(RoleName="APP", AssumeRolePolicyDocument=doc)
        self.assertError(cm, "EntityAlreadyExists", "Role with name APP already exists.")

        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.get_role(RoleName="nope")
        self.assertError(cm, "NoSuchEntity", "The role with name nope cannot be found.", 404)

        self.iam.delete_role(RoleName="app")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.get_role(RoleName="app")
        self.assertError(cm, "NoSuchEntity")

    def test_list_roles_path_prefix_and_pagination(self):
        doc = trust({"Service": "lambda.amazonaws.com"})
        for i in range(5):
            self.iam.create_role(RoleName="r%d" % i, AssumeRolePolicyDocument=doc)
        self.iam.create_role(RoleName="svc", Path="/service/", AssumeRolePolicyDocument=doc)
        page = self.iam.list_roles(MaxItems=2)
        self.assertTrue(page["IsTruncated"])
        names = [r["RoleName"] for r in page["Roles"]]
        while page["IsTruncated"]:
            page = self.iam.list_roles(MaxItems=2, Marker=page["Marker"])
            names += [r["RoleName"] for r in page["Roles"]]
        self.assertEqual(sorted(names), ["r0", "r1", "r2", "r3", "r4", "svc"])
        self.assertEqual(len(names), 6)
        only = self.iam.list_roles(PathPrefix="/service/")["Roles"]
        self.assertEqual([r["Arn"] for r in only], [role_arn("svc", "/service/")])
        paginated = [r["RoleName"] for p in self.iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 4})
                     for r in p["Roles"]]
        self.assertEqual(len(paginated), 6)

    def test_update_role_and_trust(self):
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        self.iam.update_role(RoleName="r", MaxSessionDuration=7200, Description="longer")
        r = self.iam.get_role(RoleName="r")["Role"]
        self.assertEqual(r["MaxSessionDuration"], 7200)
        self.assertEqual(r["Description"], "longer")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.update_role(RoleName="r", MaxSessionDuration=50000)
        self.assertError(cm, "ValidationError",
                         "1 validation error detected: Value '50000' at 'maxSessionDuration' failed to satisfy "
                         "constraint: Member must have value less than or equal to 43200")
        new = trust({"Service": "ec2.amazonaws.com"})
        self.iam.update_assume_role_policy(RoleName="r", PolicyDocument=new)
        self.assertEqual(self.iam.get_role(RoleName="r")["Role"]["AssumeRolePolicyDocument"], json.loads(new))

    def test_name_validation(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_role(RoleName="x y", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        self.assertError(cm, "ValidationError",
                         "1 validation error detected: Value 'x y' at 'roleName' failed to satisfy constraint: "
                         "Member must satisfy regular expression pattern: [\\w+=,.@-]+", 400)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_role(RoleName="a" * 65, AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        self.assertError(cm, "ValidationError",
                         "1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: "
                         "Member must have length less than or equal to 64" % ("a" * 65))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_user(UserName="bad name", Path="nopath")
        self.assertError(cm, "ValidationError")
        self.assertTrue(cm.exception.response["Error"]["Message"].startswith("2 validation errors detected: "))
        self.assertEqual(self.iam.list_roles()["Roles"], [])
        self.assertEqual(self.iam.list_users()["Users"], [])

    def test_malformed_policies_store_nothing(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_role(RoleName="r", AssumeRolePolicyDocument="{not json")
        self.assertError(cm, "MalformedPolicyDocument", "Syntax errors in policy.", 400)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ROOT_ARN},
                                                        "Action": "sts:AssumeRole", "Resource": "*"}]}))
        self.assertError(cm, "MalformedPolicyDocument", "Has prohibited field Resource")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.get_role(RoleName="r")
        self.assertError(cm, "NoSuchEntity")

        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*",
                                                        "Resource": "*"}]}))
        self.assertError(cm, "MalformedPolicyDocument", "Policy document should not specify a principal.")
        self.assertEqual(self.iam.list_role_policies(RoleName="r")["PolicyNames"], [])

        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_policy(PolicyName="bad", PolicyDocument=json.dumps({"Statement": [{"Effect": "Maybe"}]}))
        self.assertError(cm, "MalformedPolicyDocument")
        self.assertEqual(self.iam.list_policies(Scope="Local")["Policies"], [])

        self.iam.create_policy(PolicyName="good", PolicyDocument=policy(allow("s3:GetObject")))
        arn = "arn:aws:iam::%s:policy/good" % ACCOUNT
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_policy_version(PolicyArn=arn, PolicyDocument="[]", SetAsDefault=True)
        self.assertError(cm, "MalformedPolicyDocument")
        versions = self.iam.list_policy_versions(PolicyArn=arn)["Versions"]
        self.assertEqual([(v["VersionId"], v["IsDefaultVersion"]) for v in versions], [("v1", True)])

    def test_size_limits(self):
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        self.iam.create_user(UserName="u")

        def big(n):
            return policy(allow(["s3:GetObject"], ["arn:aws:s3:::%s/*" % ("b%05d" % i) for i in range(n)]))

        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument=big(600))
        self.assertError(cm, "LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role r", 409)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=big(120))
        self.assertError(cm, "LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user u")
        # The quota is the sum of a user's inline policies.
        self.iam.put_user_policy(UserName="u", PolicyName="a", PolicyDocument=big(60))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.put_user_policy(UserName="u", PolicyName="b", PolicyDocument=big(60))
        self.assertError(cm, "LimitExceeded", "Maximum policy size of 2048 bytes exceeded for user u")
        self.assertEqual(self.iam.list_user_policies(UserName="u")["PolicyNames"], ["a"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_policy(PolicyName="big", PolicyDocument=big(400))
        self.assertError(cm, "LimitExceeded", "Cannot exceed quota for PolicySize: 6144")
        principals = ["arn:aws:iam::%012d:root" % i for i in range(80)]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.update_assume_role_policy(RoleName="r", PolicyDocument=trust({"AWS": principals}))
        self.assertError(cm, "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048")


class PolicyTest(IamCase):
    def test_versions(self):
        p = self.iam.create_policy(PolicyName="pol", Path="/team/", Description="d",
                                   PolicyDocument=policy(allow("s3:GetObject")))["Policy"]
        arn = "arn:aws:iam::%s:policy/team/pol" % ACCOUNT
        self.assertEqual(p["Arn"], arn)
        self.assertRegex(p["PolicyId"], r"^ANPA[A-Z0-9]{17}$")
        self.assertEqual(p["DefaultVersionId"], "v1")
        self.assertEqual(p["AttachmentCount"], 0)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_policy(PolicyName="pol", PolicyDocument=policy(allow("s3:GetObject")))
        self.assertError(cm, "EntityAlreadyExists",
                         "A policy called pol already exists. Duplicate names are not allowed.", 409)
        for i in range(2, 6):
            v = self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy(allow("s3:Get%d" % i)),
                                               SetAsDefault=(i == 3))["PolicyVersion"]
            self.assertEqual(v["VersionId"], "v%d" % i)
            self.assertEqual(v["IsDefaultVersion"], i == 3)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy(allow("s3:Get6")))
        self.assertError(cm, "LimitExceeded",
                         "A managed policy can have up to 5 versions. Before you create a new version, you must "
                         "delete an existing version.", 409)
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"], "v3")
        doc = self.iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]
        self.assertEqual(doc["Document"], json.loads(policy(allow("s3:Get3"))))
        self.assertTrue(doc["IsDefaultVersion"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
        self.assertError(cm, "DeleteConflict", "Cannot delete the default version of a policy.", 409)
        self.iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
        v = self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy(allow("s3:Get6")))["PolicyVersion"]
        self.assertEqual(v["VersionId"], "v6")  # ids are never reused
        self.iam.set_default_policy_version(PolicyArn=arn, VersionId="v6")
        listed = self.iam.list_policy_versions(PolicyArn=arn)["Versions"]
        self.assertEqual(sorted(x["VersionId"] for x in listed), ["v1", "v3", "v4", "v5", "v6"])
        self.assertEqual([x["VersionId"] for x in listed if x["IsDefaultVersion"]], ["v6"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.get_policy_version(PolicyArn=arn, VersionId="v2")
        self.assertError(cm, "NoSuchEntity", "Policy %s version v2 does not exist or is not attachable." % arn, 404)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.get_policy(PolicyArn="arn:aws:iam::%s:policy/none" % ACCOUNT)
        self.assertError(cm, "NoSuchEntity", "Policy arn:aws:iam::%s:policy/none was not found." % ACCOUNT)

    def test_delete_policy_conflicts(self):
        arn = self.iam.create_policy(PolicyName="pol", PolicyDocument=policy(allow("s3:*")))["Policy"]["Arn"]
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        self.iam.attach_role_policy(RoleName="r", PolicyArn=arn)
        self.assertEqual(self.iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"], 1)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.delete_policy(PolicyArn=arn)
        self.assertError(cm, "DeleteConflict", "Cannot delete a policy attached to entities.", 409)
        ents = self.iam.list_entities_for_policy(PolicyArn=arn)
        self.assertEqual([r["RoleName"] for r in ents["PolicyRoles"]], ["r"])
        self.iam.detach_role_policy(RoleName="r", PolicyArn=arn)
        self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy(allow("s3:Get*")))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.delete_policy(PolicyArn=arn)
        self.assertError(cm, "DeleteConflict")
        self.iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
        self.iam.delete_policy(PolicyArn=arn)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.get_policy(PolicyArn=arn)
        self.assertError(cm, "NoSuchEntity")

    def test_aws_managed_policies(self):
        p = self.iam.get_policy(PolicyArn=LAMBDA_BASIC)["Policy"]
        self.assertEqual(p["PolicyName"], "AWSLambdaBasicExecutionRole")
        self.assertEqual(p["Path"], "/service-role/")
        v = self.iam.get_policy_version(PolicyArn=LAMBDA_BASIC, VersionId=p["DefaultVersionId"])["PolicyVersion"]
        actions = [a for st in v["Document"]["Statement"] for a in
                   (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])]
        self.assertIn("logs:CreateLogGroup", actions)
        self.assertIn("logs:PutLogEvents", actions)
        # Every AWS managed policy is listed, so they take several pages.
        aws = [x["Arn"] for pg in self.iam.get_paginator("list_policies").paginate(Scope="AWS")
               for x in pg["Policies"]]
        self.assertIn(LAMBDA_BASIC, aws)
        self.assertIn(ADMIN, aws)
        self.assertNotIn(LAMBDA_BASIC, [x["Arn"] for x in self.iam.list_policies(Scope="Local")["Policies"]])
        self.iam.create_role(RoleName="fn", AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"}))
        self.iam.attach_role_policy(RoleName="fn", PolicyArn=LAMBDA_BASIC)
        attached = self.iam.list_attached_role_policies(RoleName="fn")["AttachedPolicies"]
        self.assertEqual(attached, [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": LAMBDA_BASIC}])
        only = [x["Arn"] for x in self.iam.list_policies(Scope="AWS", OnlyAttached=True)["Policies"]]
        self.assertEqual(only, [LAMBDA_BASIC])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.attach_role_policy(RoleName="fn", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")
        self.assertError(cm, "NoSuchEntity",
                         "Policy arn:aws:iam::aws:policy/NoSuchPolicy does not exist or is not attachable.", 404)

    def test_inline_and_attached_delete_conflicts(self):
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        self.iam.attach_role_policy(RoleName="r", PolicyArn=LAMBDA_BASIC)
        self.iam.put_role_policy(RoleName="r", PolicyName="inl", PolicyDocument=policy(allow("sqs:SendMessage")))
        self.assertEqual(self.iam.get_role_policy(RoleName="r", PolicyName="inl")["PolicyDocument"],
                         json.loads(policy(allow("sqs:SendMessage"))))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.delete_role(RoleName="r")
        self.assertError(cm, "DeleteConflict", "Cannot delete entity, must detach all policies first.", 409)
        self.iam.detach_role_policy(RoleName="r", PolicyArn=LAMBDA_BASIC)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.detach_role_policy(RoleName="r", PolicyArn=LAMBDA_BASIC)
        self.assertError(cm, "NoSuchEntity", "Policy %s was not found." % LAMBDA_BASIC)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.delete_role(RoleName="r")
        self.assertError(cm, "DeleteConflict", "Cannot delete entity, must delete policies first.")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.get_role_policy(RoleName="r", PolicyName="other")
        self.assertError(cm, "NoSuchEntity", "The role policy with name other cannot be found.")
        self.iam.delete_role_policy(RoleName="r", PolicyName="inl")
        self.iam.delete_role(RoleName="r")

    def test_attach_quota(self):
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        for i in range(10):
            arn = self.iam.create_policy(PolicyName="p%d" % i, PolicyDocument=policy(allow("s3:Get%d" % i)))["Policy"]["Arn"]
            self.iam.attach_role_policy(RoleName="r", PolicyArn=arn)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.attach_role_policy(RoleName="r", PolicyArn=LAMBDA_BASIC)
        self.assertError(cm, "LimitExceeded", "Cannot exceed quota for PoliciesPerRole: 10", 409)

    def test_boundaries_and_tags(self):
        self.iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}),
                             PermissionsBoundary=LAMBDA_BASIC)
        self.assertEqual(self.iam.get_role(RoleName="r")["Role"]["PermissionsBoundary"],
                         {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": LAMBDA_BASIC})
        self.assertEqual(self.iam.get_policy(PolicyArn=LAMBDA_BASIC)["Policy"]["PermissionsBoundaryUsageCount"], 1)
        self.iam.put_role_permissions_boundary(RoleName="r", PermissionsBoundary=ADMIN)
        self.assertEqual(self.iam.get_role(RoleName="r")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"], ADMIN)
        self.iam.delete_role_permissions_boundary(RoleName="r")
        self.assertNotIn("PermissionsBoundary", self.iam.get_role(RoleName="r")["Role"])
        missing = "arn:aws:iam::%s:policy/none" % ACCOUNT
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_user(UserName="u", PermissionsBoundary=missing)
        self.assertError(cm, "NoSuchEntity", "Scope ARN: %s does not exist or is not attachable." % missing)
        self.iam.create_user(UserName="u", Tags=[{"Key": "env", "Value": "dev"}])
        self.iam.put_user_permissions_boundary(UserName="u", PermissionsBoundary=LAMBDA_BASIC)
        self.assertEqual(self.iam.get_user(UserName="u")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"],
                         LAMBDA_BASIC)
        self.iam.delete_user_permissions_boundary(UserName="u")

        self.iam.tag_role(RoleName="r", Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
        self.iam.tag_role(RoleName="r", Tags=[{"Key": "A", "Value": "3"}])  # keys are case-insensitive
        self.assertEqual(self.iam.list_role_tags(RoleName="r")["Tags"],
                         [{"Key": "A", "Value": "3"}, {"Key": "b", "Value": "2"}])
        self.iam.untag_role(RoleName="r", TagKeys=["b"])
        self.assertEqual(self.iam.list_role_tags(RoleName="r")["Tags"], [{"Key": "A", "Value": "3"}])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.tag_user(UserName="u", Tags=[{"Key": "x", "Value": "1"}, {"Key": "X", "Value": "2"}])
        self.assertError(cm, "InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
        self.iam.tag_user(UserName="u", Tags=[{"Key": "x", "Value": "1"}])
        self.iam.untag_user(UserName="u", TagKeys=["env"])
        self.assertEqual(self.iam.list_user_tags(UserName="u")["Tags"], [{"Key": "x", "Value": "1"}])

    def test_groups(self):
        self.iam.create_group(GroupName="devs")
        self.iam.create_user(UserName="u")
        self.iam.add_user_to_group(GroupName="devs", UserName="u")
        self.iam.put_group_policy(GroupName="devs", PolicyName="gp", PolicyDocument=policy(allow("s3:*")))
        self.iam.attach_group_policy(GroupName="devs", PolicyArn=LAMBDA_BASIC)
        g = self.iam.get_group(GroupName="devs")
        self.assertRegex(g["Group"]["GroupId"], r"^AGPA[A-Z0-9]{17}$")
        self.assertEqual([u["UserName"] for u in g["Users"]], ["u"])
        self.assertEqual([x["GroupName"] for x in self.iam.list_groups_for_user(UserName="u")["Groups"]], ["devs"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.delete_group(GroupName="devs")
        self.assertError(cm, "DeleteConflict", "Cannot delete entity, must remove users from group first.")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.delete_user(UserName="u")
        self.assertError(cm, "DeleteConflict")
        self.iam.remove_user_from_group(GroupName="devs", UserName="u")
        self.iam.detach_group_policy(GroupName="devs", PolicyArn=LAMBDA_BASIC)
        self.iam.delete_group_policy(GroupName="devs", PolicyName="gp")
        self.iam.delete_group(GroupName="devs")


class AccessKeyTest(IamCase):
    def test_keys_authenticate_and_deactivate(self):
        self.iam.create_user(UserName="alice", Path="/eng/")
        u = self.iam.get_user(UserName="alice")["User"]
        self.assertRegex(u["UserId"], r"^AIDA[A-Z0-9]{17}$")
        self.assertEqual(u["Arn"], user_arn("alice", "/eng/"))
        key = self.iam.create_access_key(UserName="alice")["AccessKey"]
        self.assertRegex(key["AccessKeyId"], r"^AKIA[A-Z0-9]{16}$")
        self.assertEqual(len(key["SecretAccessKey"]), 40)
        self.assertEqual(key["Status"], "Active")
        sts = self.kyoka.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        me = sts.get_caller_identity()
        self.assertEqual(me["Arn"], user_arn("alice", "/eng/"))
        self.assertEqual(me["UserId"], u["UserId"])
        self.assertEqual(me["Account"], ACCOUNT)

        self.iam.update_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"], Status="Inactive")
        self.assertEqual(self.iam.list_access_keys(UserName="alice")["AccessKeyMetadata"][0]["Status"], "Inactive")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.get_caller_identity()
        self.assertError(cm, "InvalidClientTokenId", status=403)
        self.iam.update_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"], Status="Active")
        self.assertEqual(sts.get_caller_identity()["Arn"], user_arn("alice", "/eng/"))

        self.iam.create_access_key(UserName="alice")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_access_key(UserName="alice")
        self.assertError(cm, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.delete_user(UserName="alice")
        self.assertError(cm, "DeleteConflict", "Cannot delete entity, must delete access keys first.", 409)

        self.iam.delete_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.get_caller_identity()
        self.assertError(cm, "InvalidClientTokenId", status=403)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.delete_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"])
        self.assertError(cm, "NoSuchEntity", "The Access Key with id %s cannot be found." % key["AccessKeyId"])

    def test_get_user_without_name_is_the_caller(self):
        iam, _, key = self.make_user("bob", inline=policy(allow(["iam:GetUser", "iam:ListAccessKeys"])))
        self.assertEqual(iam.get_user()["User"]["UserName"], "bob")
        self.assertEqual([k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]], [key["AccessKeyId"]])

    def test_reset_removes_users_and_keys(self):
        _, sts, _ = self.make_user("carol")
        self.assertEqual(self.kyoka.reset()[0], 200)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.get_caller_identity()
        self.assertError(cm, "InvalidClientTokenId")
        self.assertEqual(self.iam.list_users()["Users"], [])


class EnforcementTest(IamCase):
    def test_user_without_policies_is_denied_on_iam(self):
        iam, _, _ = self.make_user("bob")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.create_role(RoleName="R", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        self.assertError(cm, "AccessDenied",
                         "User: %s is not authorized to perform: iam:CreateRole on resource: %s because no "
                         "identity-based policy allows the iam:CreateRole action" % (user_arn("bob"), role_arn("R")),
                         403)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.get_role(RoleName="R")
        self.assertError(cm, "NoSuchEntity")

    def test_policy_scoped_to_path_and_boundary(self):
        doc = policy(allow("iam:CreateRole", "arn:aws:iam::%s:role/apps/*" % ACCOUNT), allow("iam:ListRoles"))
        iam, _, _ = self.make_user("dev", inline=doc)
        iam.create_role(RoleName="ok", Path="/apps/", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.create_role(RoleName="no", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        self.assertError(cm, "AccessDenied")
        self.assertEqual([r["RoleName"] for r in iam.list_roles()["Roles"]], ["ok"])
        # A boundary that does not allow iam:ListRoles takes it away.
        self.iam.put_user_permissions_boundary(UserName="dev", PermissionsBoundary=LAMBDA_BASIC)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.list_roles()
        self.assertError(cm, "AccessDenied")
        # An explicit deny in a group policy wins over the user's allow.
        self.iam.delete_user_permissions_boundary(UserName="dev")
        self.iam.create_group(GroupName="locked")
        self.iam.put_group_policy(GroupName="locked", PolicyName="d", PolicyDocument=policy(deny("iam:ListRoles")))
        self.iam.add_user_to_group(GroupName="locked", UserName="dev")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.list_roles()
        self.assertError(cm, "AccessDenied")
        self.assertIn("explicit deny", cm.exception.response["Error"]["Message"])


class AssumeRoleTest(IamCase):
    def test_trust_naming_the_user_grants_alone(self):
        _, sts, _ = self.make_user("alice")
        self.iam.create_role(RoleName="R", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}))
        before = datetime.datetime.now(datetime.timezone.utc)
        out = sts.assume_role(RoleArn=role_arn("R"), RoleSessionName="s1")
        creds = out["Credentials"]
        self.assertRegex(creds["AccessKeyId"], r"^ASIA[A-Z0-9]{16}$")
        self.assertEqual(len(creds["SecretAccessKey"]), 40)
        self.assertGreater(len(creds["SessionToken"]), 100)
        delta = (creds["Expiration"] - before).total_seconds()
        self.assertTrue(3590 <= delta <= 3610, delta)
        role_id = self.iam.get_role(RoleName="R")["Role"]["RoleId"]
        self.assertEqual(out["AssumedRoleUser"], {"AssumedRoleId": role_id + ":s1",
                                                  "Arn": "arn:aws:sts::%s:assumed-role/R/s1" % ACCOUNT})
        me = self.session_clients(creds).get_caller_identity()
        self.assertEqual(me["Arn"], "arn:aws:sts::%s:assumed-role/R/s1" % ACCOUNT)
        self.assertEqual(me["UserId"], role_id + ":s1")
        self.assertEqual(me["Account"], ACCOUNT)

    def test_trust_naming_the_account_needs_identity_policy(self):
        _, sts, _ = self.make_user("alice")
        self.iam.create_role(RoleName="R", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.assume_role(RoleArn=role_arn("R"), RoleSessionName="s1")
        self.assertError(cm, "AccessDenied",
                         "User: %s is not authorized to perform: sts:AssumeRole on resource: %s"
                         % (user_arn("alice"), role_arn("R")), 403)
        self.iam.put_user_policy(UserName="alice", PolicyName="assume",
                                 PolicyDocument=policy(allow("sts:AssumeRole", role_arn("R"))))
        self.assertIn("Credentials", sts.assume_role(RoleArn=role_arn("R"), RoleSessionName="s1"))
        # The decision is logged and explained.
        status, recent = self.kyoka.admin("GET", "/_kyoka/iam/decisions?limit=5")
        self.assertEqual(status, 200)
        mine = [d for d in recent["decisions"] if d["action"] == "sts:AssumeRole" and d["resource"] == role_arn("R")]
        self.assertEqual([d["decision"] for d in mine[:2]], ["allowed", "implicitDeny"])

    def test_denials(self):
        _, sts, _ = self.make_user("alice", inline=policy(allow("sts:AssumeRole")))
        # Trust naming another account.
        self.iam.create_role(RoleName="other", AssumeRolePolicyDocument=trust({"AWS": "arn:aws:iam::111122223333:root"}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.assume_role(RoleArn=role_arn("other"), RoleSessionName="s1")
        self.assertError(cm, "AccessDenied",
                         "User: %s is not authorized to perform: sts:AssumeRole on resource: %s"
                         % (user_arn("alice"), role_arn("other")))
        # A role that does not exist.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.assume_role(RoleArn=role_arn("ghost"), RoleSessionName="s1")
        self.assertError(cm, "AccessDenied")
        # ExternalId condition.
        self.iam.create_role(RoleName="ext", AssumeRolePolicyDocument=trust(
            {"AWS": user_arn("alice")}, {"StringEquals": {"sts:ExternalId": "secret-123"}}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.assume_role(RoleArn=role_arn("ext"), RoleSessionName="s1")
        self.assertError(cm, "AccessDenied")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.assume_role(RoleArn=role_arn("ext"), RoleSessionName="s1", ExternalId="wrong-id")
        self.assertError(cm, "AccessDenied")
        self.assertIn("Credentials", sts.assume_role(RoleArn=role_arn("ext"), RoleSessionName="s1",
                                                     ExternalId="secret-123"))
        # An explicit deny in the caller's policy wins even over a trust
        # policy that names the caller.
        self.iam.put_user_policy(UserName="alice", PolicyName="no", PolicyDocument=policy(
            deny("sts:AssumeRole", role_arn("ext"))))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.assume_role(RoleArn=role_arn("ext"), RoleSessionName="s1", ExternalId="secret-123")
        self.assertError(cm, "AccessDenied")

    def test_validation_and_durations(self):
        self.iam.create_role(RoleName="R", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sts.assume_role(RoleArn=role_arn("R"), RoleSessionName="bad name")
        self.assertError(cm, "ValidationError",
                         "1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy "
                         "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*", 400)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sts.assume_role(RoleArn=role_arn("R"), RoleSessionName="s1", DurationSeconds=7200)
        self.assertError(cm, "ValidationError",
                         "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400)
        self.iam.update_role(RoleName="R", MaxSessionDuration=7200)
        creds = self.sts.assume_role(RoleArn=role_arn("R"), RoleSessionName="s1", DurationSeconds=7200)["Credentials"]
        left = (creds["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        self.assertTrue(7190 <= left <= 7210, left)
        # Role chaining: a session assuming a role is capped at one hour.
        self.iam.update_assume_role_policy(RoleName="R", PolicyDocument=trust(
            {"AWS": [ROOT_ARN, role_arn("R")]}))
        chained = self.session_clients(creds)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            chained.assume_role(RoleArn=role_arn("R"), RoleSessionName="c1", DurationSeconds=7200)
        self.assertError(cm, "ValidationError",
                         "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role "
                         "chaining.")

    def test_session_policies_and_tags(self):
        self.iam.create_role(RoleName="admin", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}, action=[
            "sts:AssumeRole", "sts:TagSession"]))
        self.iam.attach_role_policy(RoleName="admin", PolicyArn=ADMIN)
        out = self.sts.assume_role(RoleArn=role_arn("admin"), RoleSessionName="narrow",
                                   Policy=policy(allow("iam:ListRoles")),
                                   Tags=[{"Key": "project", "Value": "kyoka"}])
        self.assertGreater(out["PackedPolicySize"], 0)
        iam = self.session_clients(out["Credentials"], "iam")
        self.assertIn("Roles", iam.list_roles())
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.list_users()
        self.assertError(cm, "AccessDenied")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sts.assume_role(RoleArn=role_arn("admin"), RoleSessionName="x1", Policy="{bad")
        self.assertError(cm, "MalformedPolicyDocument")
        # Without sts:TagSession in the trust policy, tags are refused.
        self.iam.create_role(RoleName="plain", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sts.assume_role(RoleArn=role_arn("plain"), RoleSessionName="x1", Tags=[{"Key": "a", "Value": "b"}])
        self.assertError(cm, "AccessDenied",
                         "User: %s is not authorized to perform: sts:TagSession on resource: %s"
                         % (ROOT_ARN, role_arn("plain")))

    def test_principal_tags_from_role_and_session(self):
        self.iam.create_role(RoleName="tagged", Tags=[{"Key": "team", "Value": "blue"}],
                             AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}, action=["sts:AssumeRole", "sts:TagSession"]))
        self.iam.put_role_policy(RoleName="tagged", PolicyName="p", PolicyDocument=policy({
            "Effect": "Allow", "Action": "iam:GetRole", "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue", "aws:PrincipalTag/project": "kyoka"}}}))
        with_tag = self.sts.assume_role(RoleArn=role_arn("tagged"), RoleSessionName="t1",
                                        Tags=[{"Key": "project", "Value": "kyoka"}])["Credentials"]
        self.assertEqual(self.session_clients(with_tag, "iam").get_role(RoleName="tagged")["Role"]["RoleName"], "tagged")
        without = self.sts.assume_role(RoleArn=role_arn("tagged"), RoleSessionName="t2")["Credentials"]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.session_clients(without, "iam").get_role(RoleName="tagged")
        self.assertError(cm, "AccessDenied")
        # Session tags override role tags with the same key.
        override = self.sts.assume_role(RoleArn=role_arn("tagged"), RoleSessionName="t3", Tags=[
            {"Key": "project", "Value": "kyoka"}, {"Key": "team", "Value": "red"}])["Credentials"]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.session_clients(override, "iam").get_role(RoleName="tagged")
        self.assertError(cm, "AccessDenied")

    def test_role_session_permissions(self):
        self.iam.create_role(RoleName="reader", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        self.iam.put_role_policy(RoleName="reader", PolicyName="p", PolicyDocument=policy(allow("iam:GetRole")))
        creds = self.sts.assume_role(RoleArn=role_arn("reader"), RoleSessionName="s1")["Credentials"]
        iam = self.session_clients(creds, "iam")
        self.assertEqual(iam.get_role(RoleName="reader")["Role"]["RoleName"], "reader")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.delete_role_policy(RoleName="reader", PolicyName="p")
        self.assertError(cm, "AccessDenied",
                         "User: arn:aws:sts::%s:assumed-role/reader/s1 is not authorized to perform: "
                         "iam:DeleteRolePolicy on resource: %s because no identity-based policy allows the "
                         "iam:DeleteRolePolicy action" % (ACCOUNT, role_arn("reader")))

    def test_get_session_token(self):
        _, sts, _ = self.make_user("alice")
        creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
        self.assertRegex(creds["AccessKeyId"], r"^ASIA[A-Z0-9]{16}$")
        session = self.session_clients(creds)
        me = session.get_caller_identity()
        self.assertEqual(me["Arn"], user_arn("alice"))
        self.assertRegex(me["UserId"], r"^AIDA")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            session.get_session_token()
        self.assertError(cm, "AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
        root = self.sts.get_session_token()["Credentials"]
        left = (root["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        self.assertLessEqual(left, 3610)  # root sessions last at most an hour
        self.assertEqual(self.session_clients(root).get_caller_identity()["Arn"], ROOT_ARN)


class SessionExpiryTest(IamCase):
    """Moves the server clock, so it runs on a server of its own."""

    def test_session_expires(self):
        self.iam.create_role(RoleName="R", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}))
        creds = self.sts.assume_role(RoleArn=role_arn("R"), RoleSessionName="s1")["Credentials"]
        session = self.session_clients(creds)
        self.assertIn("assumed-role/R/s", session.get_caller_identity()["Arn"])
        status, _ = self.kyoka.advance(3601)
        self.assertEqual(status, 200)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            session.get_caller_identity()
        self.assertError(cm, "ExpiredToken", status=403)


class SimulateTest(IamCase):
    DOC = ('{\n'
           '  "Version": "2012-10-17",\n'
           '  "Statement": [\n'
           '    {\n'
           '      "Sid": "Read",\n'
           '      "Effect": "Allow",\n'
           '      "Action": ["s3:GetObject", "s3:DeleteObject"],\n'
           '      "Resource": "arn:aws:s3:::bucket/*"\n'
           '    },\n'
           '    {\n'
           '      "Sid": "NoDelete",\n'
           '      "Effect": "Deny",\n'
           '      "Action": "s3:DeleteObject",\n'
           '      "Resource": "*"\n'
           '    }\n'
           '  ]\n'
           '}')

    def test_simulate_principal_policy(self):
        self.iam.create_user(UserName="sim")
        self.iam.put_user_policy(UserName="sim", PolicyName="rw", PolicyDocument=self.DOC)
        out = self.iam.simulate_principal_policy(
            PolicySourceArn=user_arn("sim"), ActionNames=["s3:GetObject", "s3:DeleteObject", "s3:PutObject"],
            ResourceArns=["arn:aws:s3:::bucket/key"])
        self.assertFalse(out["IsTruncated"])
        res = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
        self.assertEqual(res["s3:GetObject"]["EvalDecision"], "allowed")
        self.assertEqual(res["s3:DeleteObject"]["EvalDecision"], "explicitDeny")
        self.assertEqual(res["s3:PutObject"]["EvalDecision"], "implicitDeny")
        self.assertEqual(res["s3:GetObject"]["EvalResourceName"], "arn:aws:s3:::bucket/key")
        self.assertEqual(res["s3:GetObject"]["MatchedStatements"], [{
            "SourcePolicyId": "rw", "SourcePolicyType": "user",
            "StartPosition": {"Line": 4, "Column": 5}, "EndPosition": {"Line": 9, "Column": 5}}])
        deny_st = res["s3:DeleteObject"]["MatchedStatements"]
        self.assertEqual(deny_st, [{"SourcePolicyId": "rw", "SourcePolicyType": "user",
                                    "StartPosition": {"Line": 10, "Column": 5}, "EndPosition": {"Line": 15, "Column": 5}}])
        self.assertEqual(res["s3:PutObject"]["MatchedStatements"], [])
        self.assertEqual(res["s3:GetObject"]["ResourceSpecificResults"][0]["EvalResourceDecision"], "allowed")

        # Policies attached through a group and AWS managed ones count too.
        self.iam.create_group(GroupName="g")
        self.iam.add_user_to_group(GroupName="g", UserName="sim")
        self.iam.attach_group_policy(GroupName="g", PolicyArn=LAMBDA_BASIC)
        out = self.iam.simulate_principal_policy(PolicySourceArn=user_arn("sim"), ActionNames=["logs:PutLogEvents"])
        r = out["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(r["EvalResourceName"], "*")
        self.assertEqual([(m["SourcePolicyId"], m["SourcePolicyType"]) for m in r["MatchedStatements"]],
                         [("AWSLambdaBasicExecutionRole", "aws-managed")])

        # A boundary passed in limits the user.
        out = self.iam.simulate_principal_policy(
            PolicySourceArn=user_arn("sim"), ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::bucket/k"],
            PermissionsBoundaryPolicyInputList=[policy(allow("sqs:*"))])
        r = out["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "implicitDeny")
        self.assertEqual(r["PermissionsBoundaryDecisionDetail"], {"AllowedByPermissionsBoundary": False})

        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.simulate_principal_policy(PolicySourceArn=user_arn("nobody"), ActionNames=["s3:GetObject"])
        self.assertError(cm, "NoSuchEntity")

    def test_simulate_custom_policy(self):
        doc = policy({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
                      "Condition": {"StringLike": {"s3:prefix": "home/${aws:username}/*"},
                                    "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})
        out = self.iam.simulate_custom_policy(PolicyInputList=[doc], ActionNames=["s3:ListBucket"],
                                              ResourceArns=["arn:aws:s3:::b"])
        r = out["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "implicitDeny")
        self.assertEqual(sorted(r["MissingContextValues"]), ["aws:SourceIp", "aws:username", "s3:prefix"])
        out = self.iam.simulate_custom_policy(
            PolicyInputList=[doc], ActionNames=["s3:ListBucket"], ResourceArns=["arn:aws:s3:::b"],
            ContextEntries=[
                {"ContextKeyName": "aws:username", "ContextKeyValues": ["ann"], "ContextKeyType": "string"},
                {"ContextKeyName": "s3:prefix", "ContextKeyValues": ["home/ann/docs"], "ContextKeyType": "string"},
                {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"}])
        r = out["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(r["MissingContextValues"], [])
        self.assertEqual(r["MatchedStatements"][0]["SourcePolicyId"], "PolicyInputList.1")
        self.assertEqual(r["MatchedStatements"][0]["SourcePolicyType"], "IAM Policy")

        # A resource policy naming the caller grants on its own.
        rp = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": user_arn("x")}, "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:us-east-1:%s:q" % ACCOUNT}]})
        out = self.iam.simulate_custom_policy(
            PolicyInputList=[policy(allow("s3:GetObject"))], ActionNames=["sqs:SendMessage"],
            ResourceArns=["arn:aws:sqs:us-east-1:%s:q" % ACCOUNT], ResourcePolicy=rp, CallerArn=user_arn("x"))
        r = out["EvaluationResults"][0]
        self.assertEqual(r["EvalDecision"], "allowed")
        self.assertEqual(r["MatchedStatements"][0]["SourcePolicyType"], "resource")

        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.simulate_custom_policy(PolicyInputList=["{nope"], ActionNames=["s3:GetObject"])
        self.assertError(cm, "MalformedPolicyDocument")


class DurabilityTest(unittest.TestCase):
    def test_state_survives_restart(self):
        first = KyokaServer(ephemeral=False).start()
        try:
            iam = first.client("iam")
            sts = first.client("sts")
            iam.create_role(RoleName="keep", Path="/p/", AssumeRolePolicyDocument=trust({"AWS": ROOT_ARN}),
                            Tags=[{"Key": "k", "Value": "v"}], PermissionsBoundary=ADMIN)
            iam.put_role_policy(RoleName="keep", PolicyName="inl", PolicyDocument=policy(allow("iam:GetRole")))
            iam.attach_role_policy(RoleName="keep", PolicyArn=LAMBDA_BASIC)
            parn = iam.create_policy(PolicyName="cust", PolicyDocument=policy(allow("s3:Get*")))["Policy"]["Arn"]
            iam.create_policy_version(PolicyArn=parn, PolicyDocument=policy(allow("s3:List*")), SetAsDefault=True)
            iam.create_user(UserName="u")
            iam.attach_user_policy(UserName="u", PolicyArn=parn)
            iam.create_group(GroupName="g")
            iam.add_user_to_group(GroupName="g", UserName="u")
            key = iam.create_access_key(UserName="u")["AccessKey"]
            iam.create_access_key(UserName="u")
            second_key = [k for k in iam.list_access_keys(UserName="u")["AccessKeyMetadata"]
                          if k["AccessKeyId"] != key["AccessKeyId"]][0]["AccessKeyId"]
            iam.update_access_key(UserName="u", AccessKeyId=second_key, Status="Inactive")
            role_id = iam.get_role(RoleName="keep")["Role"]["RoleId"]
            creds = sts.assume_role(RoleArn=role_arn("keep", "/p/"), RoleSessionName="s1")["Credentials"]
            self.assertEqual(first.stop(), 0)

            second = KyokaServer(ephemeral=False, data_dir=first.data_dir).start()
            try:
                iam = second.client("iam")
                r = iam.get_role(RoleName="keep")["Role"]
                self.assertEqual(r["RoleId"], role_id)
                self.assertEqual(r["Arn"], role_arn("keep", "/p/"))
                self.assertEqual(r["Tags"], [{"Key": "k", "Value": "v"}])
                self.assertEqual(r["PermissionsBoundary"]["PermissionsBoundaryArn"], ADMIN)
                self.assertEqual(iam.list_role_policies(RoleName="keep")["PolicyNames"], ["inl"])
                self.assertEqual([p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="keep")["AttachedPolicies"]],
                                 [LAMBDA_BASIC])
                p = iam.get_policy(PolicyArn=parn)["Policy"]
                self.assertEqual((p["DefaultVersionId"], p["AttachmentCount"]), ("v2", 1))
                self.assertEqual(iam.get_policy(PolicyArn=LAMBDA_BASIC)["Policy"]["AttachmentCount"], 1)
                self.assertEqual([g["GroupName"] for g in iam.list_groups_for_user(UserName="u")["Groups"]], ["g"])
                # The user's keys still authenticate (and the inactive one still does not).
                ust = second.client("sts", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
                self.assertEqual(ust.get_caller_identity()["Arn"], user_arn("u"))
                statuses = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName="u")["AccessKeyMetadata"]}
                self.assertEqual(statuses, {key["AccessKeyId"]: "Active", second_key: "Inactive"})
                # The role session survives until it expires.
                sess = second.client("iam", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                                     session_token=creds["SessionToken"])
                self.assertEqual(sess.get_role(RoleName="keep")["Role"]["RoleId"], role_id)
                self.assertEqual(second.stop(), 0)
            finally:
                second.cleanup()
        finally:
            first.cleanup()
            shutil.rmtree(first.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
