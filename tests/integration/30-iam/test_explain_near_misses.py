"""`kyoka iam explain` for a person: for each kind of near miss the
explanation names the statement and the reason it did not match, and the
statement it proposes, once added where it says, makes the same request
succeed. Driven through boto3 and the AWS CLI; explanations read through
the kyoka CLI (--json, and the text form)."""
import json
import os
import subprocess

import botocore.exceptions

from harness import ACCOUNT, KYOKA_BIN, KyokaTestCase, main

QUEUE_ARN = "arn:aws:sqs:us-east-1:%s:orders" % ACCOUNT


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class NearMisses(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.iam = self.kyoka.client("iam")
        self.url = self.kyoka.client("sqs").create_queue(QueueName="orders")["QueueUrl"]

    def kyoka_cli(self, *args, check=True):
        env = dict(os.environ, KYOKA_ENDPOINT=self.kyoka.endpoint)
        r = subprocess.run([KYOKA_BIN] + list(args), env=env, capture_output=True, text=True, timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def explain(self, decision_id):
        return json.loads(self.kyoka_cli("iam", "explain", decision_id, "--json").stdout)

    def user(self, name, doc=None, boundary=None):
        self.iam.create_user(UserName=name)
        if doc:
            self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc)
        if boundary:
            self.iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=boundary)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def denied(self, fn):
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            fn()
        self.assertIn(e.exception.response["Error"]["Code"], ("AccessDenied", "AccessDeniedException"))
        return e.exception.response["ResponseMetadata"]["HTTPHeaders"]["x-kyoka-decision-id"]

    def statement(self, x, sid):
        for p in x["policies"]:
            for s in p["statements"]:
                if s["sid"] == sid:
                    return p, s
        self.fail("no statement %s in %s" % (sid, json.dumps(x, indent=1)))

    def fix(self, x, where):
        for f in x.get("toAllow", []):
            if f["where"] == where:
                self.assertTrue(f["verified"], f)
                return f
        self.fail("no %s proposal in %s" % (where, json.dumps(x.get("toAllow"), indent=1)))

    def send(self, sqs):
        return sqs.send_message(QueueUrl=self.url, MessageBody="x")

    # ---- identity-policy near misses, each fixed with put-user-policy ----

    def check_identity_miss(self, name, stmt, element, reason_parts, expect_operator=None):
        ak, sk = self.user(name, policy(stmt))
        sqs = self.kyoka.client("sqs", access_key=ak, secret_key=sk)
        d = self.explain(self.denied(lambda: self.send(sqs)))
        x = d["explanation"]
        _, s = self.statement(x, stmt["Sid"])
        self.assertEqual(s["result"], "noMatch")
        self.assertEqual(s["failed"]["element"], element, s)
        for part in reason_parts:
            self.assertIn(part, s["failed"]["reason"])
        if expect_operator:
            self.assertEqual(s["failed"]["operator"], expect_operator)
        self.assertIn("text", s)  # quoted as written
        f = self.fix(x, "identity")
        self.assertEqual(f["target"], "user/" + name)
        # Add the proposal through the AWS CLI, as a user would paste it.
        r = self.kyoka.aws_cli("iam", "put-user-policy", "--user-name", name, "--policy-name", "kyoka-fix",
                               "--policy-document", policy(f["statement"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.send(sqs)

    def test_action(self):
        self.check_identity_miss("a1", {"Sid": "Recv", "Effect": "Allow", "Action": ["sqs:ReceiveMessage"],
                                        "Resource": "*"}, "Action", ["does not include sqs:SendMessage"])

    def test_not_action(self):
        self.check_identity_miss("a2", {"Sid": "AllBut", "Effect": "Allow", "NotAction": "sqs:Send*",
                                        "Resource": "*"}, "NotAction", ["covers sqs:SendMessage"])

    def test_resource(self):
        self.check_identity_miss("r1", {"Sid": "Jobs", "Effect": "Allow", "Action": "sqs:SendMessage",
                                        "Resource": "arn:aws:sqs:us-east-1:%s:jobs-*" % ACCOUNT},
                                 "Resource", ["jobs-*", "does not match " + QUEUE_ARN])

    def test_not_resource(self):
        self.check_identity_miss("r2", {"Sid": "NotOrders", "Effect": "Allow", "Action": "sqs:SendMessage",
                                        "NotResource": QUEUE_ARN}, "NotResource", ["covers " + QUEUE_ARN])

    def test_condition_families(self):
        cases = [
            ("c1", "StringEquals", {"aws:username": "someone-else"}, ["wanted \"someone-else\"", "got \"c1\""]),
            ("c2", "NumericLessThan", {"aws:EpochTime": "1"}, ["wanted \"1\"", "got"]),
            ("c3", "DateLessThan", {"aws:CurrentTime": "2001-01-01T00:00:00Z"}, ["wanted \"2001-01-01T00:00:00Z\""]),
            ("c4", "Bool", {"aws:SecureTransport": "true"}, ["wanted \"true\"", "got \"false\""]),
            ("c5", "IpAddress", {"aws:SourceIp": "10.0.0.0/8"}, ["wanted \"10.0.0.0/8\"", "got \"127.0.0.1\""]),
            ("c6", "ArnLike", {"aws:PrincipalArn": "arn:aws:iam::*:user/nobody"}, ["user/nobody", "user/c6"]),
            ("c7", "Null", {"aws:PrincipalTag/team": "false"}, ["the key is absent"]),
        ]
        for name, op, cond, parts in cases:
            with self.subTest(op=op):
                self.check_identity_miss(name, {"Sid": "Cond", "Effect": "Allow", "Action": "sqs:SendMessage",
                                                "Resource": "*", "Condition": {op: cond}},
                                         "Condition", [op] + parts, expect_operator=op)

    def test_missing_key(self):
        ak, sk = self.user("m1", policy({"Sid": "FromRule", "Effect": "Allow", "Action": "sqs:SendMessage",
                                         "Resource": "*", "Condition": {"ArnEquals": {
                                             "aws:SourceArn": "arn:aws:events:us-east-1:%s:rule/a" % ACCOUNT}}}))
        sqs = self.kyoka.client("sqs", access_key=ak, secret_key=sk)
        d = self.explain(self.denied(lambda: self.send(sqs)))
        _, s = self.statement(d["explanation"], "FromRule")
        self.assertIn("absent from the request", s["failed"]["reason"])
        self.assertTrue(s["conditions"][0]["missingKey"])
        self.assertIn("aws:SourceArn", d["missingContext"])

    # ---- the other policy kinds ----

    def test_principal_in_resource_policy(self):
        self.kyoka.client("sqs").set_queue_attributes(QueueUrl=self.url, Attributes={"Policy": policy(
            {"Sid": "Alice", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:user/alice" % ACCOUNT},
             "Action": "sqs:SendMessage", "Resource": QUEUE_ARN})})
        ak, sk = self.user("bob")
        sqs = self.kyoka.client("sqs", access_key=ak, secret_key=sk)
        d = self.explain(self.denied(lambda: self.send(sqs)))
        p, s = self.statement(d["explanation"], "Alice")
        self.assertEqual(p["kind"], "resource")
        self.assertEqual(s["failed"]["element"], "Principal")
        self.assertIn("user/alice", s["failed"]["reason"])
        self.assertIn("user/bob", s["failed"]["reason"])
        f = self.fix(d["explanation"], "identity")
        self.iam.put_user_policy(UserName="bob", PolicyName="fix", PolicyDocument=policy(f["statement"]))
        self.send(sqs)

    def test_boundary(self):
        arn = self.iam.create_policy(PolicyName="cap", PolicyDocument=policy(
            {"Sid": "LogsOnly", "Effect": "Allow", "Action": "logs:*", "Resource": "*"}))["Policy"]["Arn"]
        ak, sk = self.user("b1", policy({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}), boundary=arn)
        sqs = self.kyoka.client("sqs", access_key=ak, secret_key=sk)
        d = self.explain(self.denied(lambda: self.send(sqs)))
        x = d["explanation"]
        p, s = self.statement(x, "LogsOnly")
        self.assertEqual(p["kind"], "boundary")
        self.assertEqual(s["failed"]["element"], "Action")
        self.assertIn("boundary", x["rule"])
        f = self.fix(x, "boundary")
        self.assertEqual(f["target"], arn)
        self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(f["document"]), SetAsDefault=True)
        self.send(sqs)

    def test_session_policy(self):
        ak, sk = self.user("caller", policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}))
        self.iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                "AWS": "arn:aws:iam::%s:user/caller" % ACCOUNT}, "Action": "sts:AssumeRole"}]}))
        self.iam.put_role_policy(RoleName="app", PolicyName="all", PolicyDocument=policy(
            {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}))
        sts = self.kyoka.client("sts", access_key=ak, secret_key=sk)
        role = "arn:aws:iam::%s:role/app" % ACCOUNT
        creds = sts.assume_role(RoleArn=role, RoleSessionName="w1", Policy=policy(
            {"Sid": "S3Only", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}))["Credentials"]
        sqs = self.kyoka.client("sqs", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                                session_token=creds["SessionToken"])
        d = self.explain(self.denied(lambda: self.send(sqs)))
        x = d["explanation"]
        who = x["request"]["principal"]
        self.assertEqual(who["role"], role)
        self.assertEqual(who["session"], "w1")
        p, s = self.statement(x, "S3Only")
        self.assertEqual(p["kind"], "session")
        f = self.fix(x, "session")
        creds = sts.assume_role(RoleArn=role, RoleSessionName="w2", Policy=policy(f["statement"]))["Credentials"]
        sqs = self.kyoka.client("sqs", access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                                session_token=creds["SessionToken"])
        self.send(sqs)

    def test_trust_policy(self):
        ak, sk = self.user("t1", policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}))
        self.iam.create_role(RoleName="locked", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Sid": "Other", "Effect": "Allow", "Principal": {
                "AWS": "arn:aws:iam::%s:user/other" % ACCOUNT}, "Action": "sts:AssumeRole"}]}))
        sts = self.kyoka.client("sts", access_key=ak, secret_key=sk)
        role = "arn:aws:iam::%s:role/locked" % ACCOUNT
        d = self.explain(self.denied(lambda: sts.assume_role(RoleArn=role, RoleSessionName="s1")))
        x = d["explanation"]
        _, s = self.statement(x, "Other")
        self.assertEqual(s["failed"]["element"], "Principal")
        f = self.fix(x, "trust")
        self.iam.update_assume_role_policy(RoleName="locked", PolicyDocument=json.dumps(f["document"]))
        self.assertIn("Credentials", sts.assume_role(RoleArn=role, RoleSessionName="s1"))

    def test_explicit_deny_names_the_statement(self):
        ak, sk = self.user("d1", policy({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                                        {"Sid": "NoSend", "Effect": "Deny", "Action": "sqs:SendMessage",
                                         "Resource": "*"}))
        sqs = self.kyoka.client("sqs", access_key=ak, secret_key=sk)
        did = self.denied(lambda: self.send(sqs))
        x = self.explain(did)["explanation"]
        self.assertEqual(x["decision"], "explicitDeny")
        self.assertEqual(x["denyingStatements"][0]["sid"], "NoSend")
        self.assertIn("Explicit deny wins", x["rule"])
        self.assertNotIn("toAllow", x)
        text = self.kyoka_cli("iam", "explain", "last").stdout
        self.assertIn("Denied by", text)
        self.assertIn('Sid "NoSend"', text)
        self.assertIn(did, text)

    # ---- listing, filters, the request log ----

    def test_decisions_and_log_line(self):
        ak, sk = self.user("l1", policy({"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}))
        sqs = self.kyoka.client("sqs", access_key=ak, secret_key=sk)
        sqs.list_queues()
        did = self.denied(lambda: self.send(sqs))
        out = self.kyoka_cli("iam", "decisions", "--denied", "--principal", "user/l1", "--last", "5").stdout
        lines = out.strip().splitlines()
        self.assertEqual(len(lines), 1, out)
        self.assertIn(did, lines[0])
        self.assertIn("sqs:SendMessage", lines[0])
        self.assertIn(QUEUE_ARN, lines[0])
        out = self.kyoka_cli("iam", "decisions", "--action", "sqs:List*", "--principal", "user/l1").stdout
        self.assertIn("sqs:ListQueues", out)
        self.assertNotIn("sqs:SendMessage", out)
        for bad in (["--last", "0"], ["--last", "x"], ["--bogus"], ["--action"]):
            r = self.kyoka_cli("iam", "decisions", *bad, check=False)
            self.assertNotEqual(r.returncode, 0, bad)
            self.assertTrue(r.stderr.strip())
        self.assertEqual(self.kyoka_cli("iam", "--help").returncode, 0)
        # The denial's request log line carries its id (lines are flushed per loop turn).
        self.kyoka.admin("GET", "/_kyoka/health")
        self.assertIn("decision=" + did, self.kyoka.read_log())

    def test_follow(self):
        env = dict(os.environ, KYOKA_ENDPOINT=self.kyoka.endpoint)
        p = subprocess.Popen([KYOKA_BIN, "iam", "decisions", "--follow", "--last", "1"], env=env,
                             stdout=subprocess.PIPE, text=True)
        try:
            import time
            time.sleep(0.5)
            self.kyoka.client("sqs").get_queue_attributes(QueueUrl=self.url)
            time.sleep(1.0)
        finally:
            p.send_signal(2)
            out, _ = p.communicate(timeout=5)
        self.assertIn("sqs:GetQueueAttributes", out)


if __name__ == "__main__":
    main()
