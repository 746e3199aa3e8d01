"""Shared by the test_iam_*.py files: a test case with an IAM client, error
assertions with exact codes and messages, a restart helper, and policy
builders. Not a test file itself (no test_ prefix)."""
import json
import unittest
import warnings

import botocore.exceptions

from harness import ACCOUNT, KyokaServer, KyokaTestCase

ROOT_ARN = "arn:aws:iam::%s:root" % ACCOUNT
ClientError = botocore.exceptions.ClientError


def trust(principal, action="sts:AssumeRole"):
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Principal": principal, "Action": action}]})


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def arn(kind, name, path="/"):
    return "arn:aws:iam::%s:%s%s%s" % (ACCOUNT, kind, path, name)


class ErrorAssertions:
    def assertError(self, ctx, code, message=None, status=None):
        err = ctx.exception.response["Error"]
        self.assertEqual(err["Code"], code, err)
        if message is not None:
            self.assertEqual(err["Message"], message)
        if status is not None:
            self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)

    def assertCallFails(self, fn, code, message=None, status=None, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(**kwargs)
        self.assertError(cm, code, message, status)
        return cm.exception


class IamCase(ErrorAssertions, KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.iam = self.kyoka.client("iam")

    def make_role(self, name, path="/", service="ec2.amazonaws.com"):
        return self.iam.create_role(RoleName=name, Path=path,
                                    AssumeRolePolicyDocument=trust({"Service": service}))["Role"]

    def user_client(self, name, inline=None, service="iam"):
        """A user with an access key (and an inline policy); its client."""
        self.iam.create_user(UserName=name)
        if inline:
            self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=inline)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return self.kyoka.client(service, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"]), key


class RestartCase(ErrorAssertions, unittest.TestCase):
    """Durability: state written on one server, which is killed with
    SIGKILL, read back by a second one on the same data directory."""

    def setUp(self):
        warnings.simplefilter("ignore", ResourceWarning)
        self.first = KyokaServer(ephemeral=False).start()
        self.second = None

    def tearDown(self):
        for s in (self.second, self.first):
            if s:
                s.stop()
        self.first.cleanup()

    def restart(self):
        self.first.kill9()
        self.second = KyokaServer(ephemeral=False, data_dir=self.first.data_dir).start()
        return self.second.client("iam")
