"""IAM instance profiles through boto3 and the AWS CLI: create, get, list,
delete, the one role a profile carries, tags, the DeleteConflicts that tie
roles and profiles together, authorization on the profile's ARN, and
durability across kill -9."""
import json

from harness import ACCOUNT, main
from iam_helpers import IamCase, RestartCase, allow, arn, policy


class InstanceProfileTest(IamCase):
    def test_create_get_list_delete(self):
        p = self.iam.create_instance_profile(InstanceProfileName="web", Path="/apps/",
                                             Tags=[{"Key": "team", "Value": "a"}])["InstanceProfile"]
        self.assertEqual(p["Arn"], arn("instance-profile", "web", "/apps/"))
        self.assertEqual((p["InstanceProfileName"], p["Path"], p["Roles"]), ("web", "/apps/", []))
        self.assertTrue(p["InstanceProfileId"].startswith("AIPA"), p)
        self.assertEqual(p["Tags"], [{"Key": "team", "Value": "a"}])
        got = self.iam.get_instance_profile(InstanceProfileName="WEB")["InstanceProfile"]
        self.assertEqual(got["InstanceProfileId"], p["InstanceProfileId"])
        self.iam.create_instance_profile(InstanceProfileName="batch")
        names = [x["InstanceProfileName"] for x in self.iam.list_instance_profiles()["InstanceProfiles"]]
        self.assertEqual(names, ["batch", "web"])
        names = [x["InstanceProfileName"]
                 for x in self.iam.list_instance_profiles(PathPrefix="/apps/")["InstanceProfiles"]]
        self.assertEqual(names, ["web"])
        page = self.iam.list_instance_profiles(MaxItems=1)
        self.assertTrue(page["IsTruncated"])
        rest = self.iam.list_instance_profiles(Marker=page["Marker"])["InstanceProfiles"]
        self.assertEqual([x["InstanceProfileName"] for x in rest], ["web"])
        self.iam.delete_instance_profile(InstanceProfileName="web")
        self.assertCallFails(self.iam.get_instance_profile, "NoSuchEntity", "Instance Profile web cannot be found.",
                             404, InstanceProfileName="web")
        self.assertCallFails(self.iam.delete_instance_profile, "NoSuchEntity",
                             "Instance Profile web cannot be found.", InstanceProfileName="web")

    def test_bad_input_changes_nothing(self):
        self.iam.create_instance_profile(InstanceProfileName="web")
        self.assertCallFails(self.iam.create_instance_profile, "EntityAlreadyExists",
                             "Instance Profile Web already exists.", 409, InstanceProfileName="Web")
        self.assertCallFails(self.iam.create_instance_profile, "ValidationError",
                             "1 validation error detected: Value 'a b' at 'instanceProfileName' failed to satisfy "
                             "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
                             400, InstanceProfileName="a b")
        self.assertCallFails(self.iam.create_instance_profile, "ValidationError",
                             "1 validation error detected: Value 'apps' at 'path' failed to satisfy constraint: "
                             "Member must satisfy regular expression pattern: "
                             "(\\u002F)|(\\u002F[\\u0021-\\u007F]+\\u002F)",
                             InstanceProfileName="other", Path="apps")
        names = [x["InstanceProfileName"] for x in self.iam.list_instance_profiles()["InstanceProfiles"]]
        self.assertEqual(names, ["web"])

    def test_one_role_and_delete_conflicts(self):
        self.make_role("app", path="/svc/")
        self.make_role("other")
        self.iam.create_instance_profile(InstanceProfileName="web")
        self.assertCallFails(self.iam.add_role_to_instance_profile, "NoSuchEntity",
                             "The role with name nope cannot be found.", InstanceProfileName="web", RoleName="nope")
        self.assertCallFails(self.iam.add_role_to_instance_profile, "NoSuchEntity",
                             "Instance Profile nope cannot be found.", InstanceProfileName="nope", RoleName="app")
        self.iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="app")
        self.assertCallFails(self.iam.add_role_to_instance_profile, "LimitExceeded",
                             "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1", 409,
                             InstanceProfileName="web", RoleName="other")
        roles = self.iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]["Roles"]
        self.assertEqual([(r["RoleName"], r["Arn"]) for r in roles], [("app", arn("role", "app", "/svc/"))])
        # SDKs decode the trust policy of the role inside the profile.
        self.assertEqual(roles[0]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
                         {"Service": "ec2.amazonaws.com"})
        listed = self.iam.list_instance_profiles_for_role(RoleName="app")["InstanceProfiles"]
        self.assertEqual([p["InstanceProfileName"] for p in listed], ["web"])
        self.assertEqual(self.iam.list_instance_profiles_for_role(RoleName="other")["InstanceProfiles"], [])
        self.assertCallFails(self.iam.list_instance_profiles_for_role, "NoSuchEntity",
                             "The role with name nope cannot be found.", RoleName="nope")
        msg = "Cannot delete entity, must remove roles from instance profile first."
        self.assertCallFails(self.iam.delete_role, "DeleteConflict", msg, 409, RoleName="app")
        self.assertCallFails(self.iam.delete_instance_profile, "DeleteConflict", msg, 409,
                             InstanceProfileName="web")
        self.assertCallFails(self.iam.remove_role_from_instance_profile, "NoSuchEntity",
                             "The role with name other cannot be found.", InstanceProfileName="web",
                             RoleName="other")
        self.iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="app")
        self.assertEqual(self.iam.list_instance_profiles_for_role(RoleName="app")["InstanceProfiles"], [])
        self.iam.delete_role(RoleName="app")
        self.iam.delete_instance_profile(InstanceProfileName="web")

    def test_tags(self):
        self.iam.create_instance_profile(InstanceProfileName="web")
        self.iam.tag_instance_profile(InstanceProfileName="web", Tags=[{"Key": "a", "Value": "1"},
                                                                       {"Key": "b", "Value": "2"}])
        self.iam.untag_instance_profile(InstanceProfileName="web", TagKeys=["a"])
        self.assertEqual(self.iam.list_instance_profile_tags(InstanceProfileName="web")["Tags"],
                         [{"Key": "b", "Value": "2"}])
        many = [{"Key": "k%d" % i, "Value": "v"} for i in range(50)]
        self.assertCallFails(self.iam.tag_instance_profile, "LimitExceeded",
                             "Cannot exceed quota for TagsPerInstanceProfile: 50", InstanceProfileName="web",
                             Tags=many)
        self.assertEqual(len(self.iam.list_instance_profile_tags(InstanceProfileName="web")["Tags"]), 1)
        self.assertCallFails(self.iam.list_instance_profile_tags, "NoSuchEntity",
                             "Instance Profile nope cannot be found.", InstanceProfileName="nope")

    def test_authorized_on_the_profile_arn(self):
        doc = policy(allow("iam:CreateInstanceProfile", arn("instance-profile", "*", "/ok/")))
        iam, _ = self.user_client("dev", inline=doc)
        iam.create_instance_profile(InstanceProfileName="mine", Path="/ok/")
        self.assertCallFails(iam.create_instance_profile, "AccessDenied",
                             "User: %s is not authorized to perform: iam:CreateInstanceProfile on resource: %s "
                             "because no identity-based policy allows the iam:CreateInstanceProfile action"
                             % (arn("user", "dev"), arn("instance-profile", "other")), 403,
                             InstanceProfileName="other")

    def test_cli(self):
        r = self.kyoka.aws_cli("iam", "create-instance-profile", "--instance-profile-name", "cli")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["InstanceProfile"]["Arn"], arn("instance-profile", "cli"))
        r = self.kyoka.aws_cli("iam", "get-instance-profile", "--instance-profile-name", "nope")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("An error occurred (NoSuchEntity) when calling the GetInstanceProfile operation: "
                      "Instance Profile nope cannot be found.", r.stderr)


class InstanceProfileRestartTest(RestartCase):
    def test_profiles_and_roles_survive_kill9(self):
        iam = self.first.client("iam")
        iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                    "Action": "sts:AssumeRole"}]}))
        pid = iam.create_instance_profile(InstanceProfileName="web", Path="/p/",
                                          Tags=[{"Key": "k", "Value": "v"}])["InstanceProfile"]["InstanceProfileId"]
        iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="app")
        iam = self.restart()
        p = iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]
        self.assertEqual((p["InstanceProfileId"], p["Path"]), (pid, "/p/"))
        self.assertEqual([r["RoleName"] for r in p["Roles"]], ["app"])
        self.assertEqual(p["Tags"], [{"Key": "k", "Value": "v"}])
        self.assertEqual([x["InstanceProfileName"]
                          for x in iam.list_instance_profiles_for_role(RoleName="app")["InstanceProfiles"]], ["web"])
        self.assertCallFails(iam.delete_role, "DeleteConflict",
                             "Cannot delete entity, must remove roles from instance profile first.", RoleName="app")


if __name__ == "__main__":
    main()
