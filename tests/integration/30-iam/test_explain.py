"""Ask kyoka why: every authorization decision has an id, returned in the
x-kyoka-decision-id header of the request it decided; `kyoka iam explain ID`
and GET /_kyoka/iam/decisions show the principal, action, resource, the
policies considered and the statements that decided."""
import json
import os
import subprocess

import botocore.exceptions

from harness import KYOKA_BIN, KyokaTestCase, main

ALLOW_SQS_LIST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "ListOnly", "Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"},
    {"Sid": "NoCreate", "Effect": "Deny", "Action": "sqs:CreateQueue", "Resource": "*"}]})


class Explain(KyokaTestCase):
    def user_client(self, service):
        iam = self.kyoka.client("iam")
        iam.create_user(UserName="ann")
        iam.put_user_policy(UserName="ann", PolicyName="sqs", PolicyDocument=ALLOW_SQS_LIST)
        key = iam.create_access_key(UserName="ann")["AccessKey"]
        return self.kyoka.client(service, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])

    def explain(self, decision_id):
        env = dict(os.environ, KYOKA_ENDPOINT=self.kyoka.endpoint)
        r = subprocess.run([KYOKA_BIN, "iam", "explain", decision_id, "--json"], env=env, capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_explicit_deny_is_explained(self):
        sqs = self.user_client("sqs")
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            sqs.create_queue(QueueName="nope")
        resp = e.exception.response
        self.assertEqual(resp["Error"]["Code"], "AccessDenied")
        self.assertIn("User: arn:aws:iam::000000000000:user/ann is not authorized to perform: sqs:CreateQueue",
                      resp["Error"]["Message"])
        self.assertIn("explicit deny", resp["Error"]["Message"])
        decision_id = resp["ResponseMetadata"]["HTTPHeaders"]["x-kyoka-decision-id"]
        d = self.explain(decision_id)
        self.assertEqual(d["id"], decision_id)
        self.assertEqual(d["decision"], "explicitDeny")
        self.assertEqual(d["action"], "sqs:CreateQueue")
        self.assertEqual(d["principal"], "arn:aws:iam::000000000000:user/ann")
        text = json.dumps(d)
        self.assertIn("NoCreate", text)   # the statement that decided, by Sid
        self.assertIn({"policy": "inline:ann/sqs", "kind": "identity"}, d["considered"])
        self.assertTrue(d["reason"])

    def test_allowed_and_implicit_deny_are_listed(self):
        sqs = self.user_client("sqs")
        ok = sqs.list_queues()
        allowed_id = ok["ResponseMetadata"]["HTTPHeaders"]["x-kyoka-decision-id"]
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            sqs.get_queue_url(QueueName="x")
        denied_id = e.exception.response["ResponseMetadata"]["HTTPHeaders"]["x-kyoka-decision-id"]
        self.assertIn("because no identity-based policy allows the sqs:GetQueueUrl action",
                      e.exception.response["Error"]["Message"])
        self.assertEqual(self.explain(allowed_id)["decision"], "allowed")
        denied = self.explain(denied_id)
        self.assertEqual(denied["decision"], "implicitDeny")
        # No statement matched, yet the explanation names the policy it read.
        self.assertEqual(denied["policies"], [])
        self.assertEqual(denied["considered"], [{"policy": "inline:ann/sqs", "kind": "identity"}])
        status, recent = self.kyoka.admin("GET", "/_kyoka/iam/decisions?limit=10")
        self.assertEqual(status, 200)
        ids = [d["id"] for d in recent["decisions"]]
        self.assertIn(allowed_id, ids)
        self.assertIn(denied_id, ids)
        self.assertLess(ids.index(denied_id), ids.index(allowed_id))  # newest first

    def test_unknown_decision(self):
        env = dict(os.environ, KYOKA_ENDPOINT=self.kyoka.endpoint)
        r = subprocess.run([KYOKA_BIN, "iam", "explain", "d-ffffffffffff"], env=env, capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no such decision", r.stderr)


if __name__ == "__main__":
    main()
