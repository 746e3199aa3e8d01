"""S3 beyond the object store, through boto3 and the AWS CLI v2: event
notifications (validated against the destination's policy, delivered to a
function and to a queue in AWS's record format), versioning (ids, delete
markers, the null version, ListObjectVersions, the version actions'
authorization), UploadPartCopy with ranges, CORS with preflight answers,
and lifecycle expiration on an advanced server clock."""
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import botocore.exceptions

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "50-lambda"))
import harness  # noqa: E402
from harness import ACCOUNT, REGION, KyokaTestCase  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from test_s3 import cli_v2  # noqa: E402

PY_SINK = """\
import json
def handler(event, context):
    print("GOT " + json.dumps(event, sort_keys=True))
"""


def err(cm):
    return cm.exception.response["Error"]["Code"], cm.exception.response["ResponseMetadata"]["HTTPStatusCode"]


def make_function(kyoka, name="thumbs"):
    from lambdatest import py_zip
    lam, iam = kyoka.client("lambda"), kyoka.client("iam")
    iam.create_role(RoleName=name + "-role", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    iam.attach_role_policy(RoleName=name + "-role",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    arn = lam.create_function(FunctionName=name, Runtime="python3.12", Handler="index.handler",
                              Role="arn:aws:iam::%s:role/%s-role" % (ACCOUNT, name),
                              Code={"ZipFile": py_zip(PY_SINK)})["FunctionArn"]
    for _ in range(100):
        if lam.get_function(FunctionName=name)["Configuration"]["State"] == "Active":
            break
        time.sleep(0.1)
    return arn


def queue_policy(queue_arn, bucket):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::%s" % bucket}}}]})


class Notifications(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.s3 = self.kyoka.client("s3")
        self.sqs = self.kyoka.client("sqs")
        self.s3.create_bucket(Bucket="uploads")

    def make_queue(self, name="events", allow=True):
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        if allow:
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, "uploads")})
        return url, arn

    def receive(self, url, n=1, timeout=10):
        got = []
        deadline = time.time() + timeout
        while len(got) < n and time.time() < deadline:
            r = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for m in r.get("Messages", []):
                got.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return got

    def test_queue_refused_without_policy_then_delivered(self):
        url, arn = self.make_queue(allow=False)
        conf = {"QueueConfigurations": [{"Id": "q", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]}
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration=conf)
        e = cm.exception.response["Error"]
        self.assertEqual(e["Code"], "InvalidArgument")
        self.assertEqual(e["Message"], "Unable to validate the following destination configurations")
        self.assertEqual(e["ArgumentName1"], arn)
        self.assertEqual(e["ArgumentValue1"],
                         "Permissions on the destination queue do not allow S3 to publish notifications from this "
                         "bucket")
        # Nothing was saved.
        self.assertNotIn("QueueConfigurations", self.s3.get_bucket_notification_configuration(Bucket="uploads"))
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, "uploads")})
        conf["QueueConfigurations"][0]["Filter"] = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"},
                                                                             {"Name": "suffix", "Value": ".jpg"}]}}
        self.s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration=conf)
        got = self.s3.get_bucket_notification_configuration(Bucket="uploads")["QueueConfigurations"]
        self.assertEqual(got[0]["QueueArn"], arn)
        self.assertEqual(got[0]["Events"], ["s3:ObjectCreated:*"])
        self.assertEqual(got[0]["Filter"]["Key"]["FilterRules"],
                         [{"Name": "Prefix", "Value": "in/"}, {"Name": "Suffix", "Value": ".jpg"}])
        test_event = self.receive(url)[0]
        self.assertEqual((test_event["Service"], test_event["Event"], test_event["Bucket"]),
                         ("Amazon S3", "s3:TestEvent", "uploads"))
        self.s3.put_object(Bucket="uploads", Key="other/x.jpg", Body=b"no")       # prefix does not match
        self.s3.put_object(Bucket="uploads", Key="in/x.png", Body=b"no")          # suffix does not match
        body = b"a picture"
        self.s3.put_object(Bucket="uploads", Key="in/my cat.jpg", Body=body)
        msgs = self.receive(url, n=1)
        self.assertEqual(len(msgs), 1, msgs)
        rec = msgs[0]["Records"][0]
        self.assertEqual(rec["eventVersion"], "2.1")
        self.assertEqual(rec["eventSource"], "aws:s3")
        self.assertEqual(rec["awsRegion"], REGION)
        self.assertEqual(rec["eventName"], "ObjectCreated:Put")
        self.assertIn("principalId", rec["userIdentity"])
        self.assertIn("sourceIPAddress", rec["requestParameters"])
        self.assertIn("x-amz-request-id", rec["responseElements"])
        self.assertTrue(rec["eventTime"].endswith("Z"))
        s3 = rec["s3"]
        self.assertEqual(s3["s3SchemaVersion"], "1.0")
        self.assertEqual(s3["configurationId"], "q")
        self.assertEqual(s3["bucket"]["name"], "uploads")
        self.assertEqual(s3["bucket"]["arn"], "arn:aws:s3:::uploads")
        self.assertEqual(s3["bucket"]["ownerIdentity"]["principalId"], ACCOUNT)
        self.assertEqual(s3["object"]["key"], "in/my+cat.jpg")
        self.assertEqual(s3["object"]["size"], len(body))
        self.assertEqual(s3["object"]["eTag"], hashlib.md5(body).hexdigest())
        self.assertIn("sequencer", s3["object"])
        self.assertNotIn("versionId", s3["object"])
        self.assertEqual(self.receive(url, timeout=1.5), [])

    def test_eventbridge_object_created(self):
        events = self.kyoka.client("events")
        url, arn = self.make_queue("from-bus", allow=False)
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                                    "Action": "sqs:SendMessage", "Resource": arn}]})})
        events.put_rule(Name="uploads", EventPattern=json.dumps({
            "source": ["aws.s3"], "detail-type": ["Object Created"], "detail": {"bucket": {"name": ["uploads"]}}}))
        events.put_targets(Rule="uploads", Targets=[{"Id": "q", "Arn": arn}])
        self.s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
            "EventBridgeConfiguration": {}})
        self.s3.put_object(Bucket="uploads", Key="a b.txt", Body=b"hello")
        [ev] = self.receive(url)
        self.assertEqual(ev["source"], "aws.s3")
        self.assertEqual(ev["detail-type"], "Object Created")
        self.assertEqual(ev["detail"]["bucket"]["name"], "uploads")
        self.assertEqual(ev["detail"]["object"]["key"], "a b.txt")
        self.assertEqual(ev["detail"]["object"]["size"], 5)

    def test_removed_events_and_copy(self):
        url, arn = self.make_queue()
        self.s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectRemoved:*", "s3:ObjectCreated:Copy"]}]})
        self.receive(url)  # the test event
        self.s3.put_object(Bucket="uploads", Key="a", Body=b"1")
        self.s3.copy_object(Bucket="uploads", Key="b", CopySource="uploads/a")
        self.s3.delete_object(Bucket="uploads", Key="a")
        names = sorted(m["Records"][0]["eventName"] for m in self.receive(url, n=2))
        self.assertEqual(names, ["ObjectCreated:Copy", "ObjectRemoved:Delete"])
        # Versioned: a delete makes a marker.
        self.s3.put_bucket_versioning(Bucket="uploads", VersioningConfiguration={"Status": "Enabled"})
        self.s3.delete_object(Bucket="uploads", Key="b")
        rec = self.receive(url)[0]["Records"][0]
        self.assertEqual(rec["eventName"], "ObjectRemoved:DeleteMarkerCreated")
        self.assertIn("versionId", rec["s3"]["object"])

    def test_overlap_and_bad_rules(self):
        _, arn = self.make_queue()
        q = lambda events, rules=None: dict(  # noqa: E731
            {"QueueArn": arn, "Events": events}, **({"Filter": {"Key": {"FilterRules": rules}}} if rules else {}))
        cases = [
            ([q(["s3:ObjectCreated:*"]), q(["s3:ObjectCreated:Put"])],
             "Configurations overlap. Configurations on the same bucket cannot share a common event type."),
            ([q(["s3:ObjectCreated:Put"], [{"Name": "prefix", "Value": "a/"}]),
              q(["s3:ObjectCreated:Put"], [{"Name": "prefix", "Value": "a/b"}])],
             "Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes "
             "are overlapping for the same event type."),
            ([q(["s3:ObjectCreated:Put"], [{"Name": "other", "Value": "a/"}])],
             "filter rule name must be either prefix or suffix"),
        ]
        for confs, message in cases:
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                self.s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
                    "QueueConfigurations": confs})
            self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidArgument")
            self.assertEqual(cm.exception.response["Error"]["Message"], message)
        # Disjoint filters, or different events, do not overlap.
        self.s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={
            "QueueConfigurations": [q(["s3:ObjectCreated:Put"], [{"Name": "prefix", "Value": "a/"}]),
                                    q(["s3:ObjectCreated:Put"], [{"Name": "prefix", "Value": "b/"}]),
                                    q(["s3:ObjectRemoved:*"])]})
        self.assertEqual(len(self.s3.get_bucket_notification_configuration(
            Bucket="uploads")["QueueConfigurations"]), 3)
        # An empty configuration turns notifications off.
        self.s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration={})
        self.assertNotIn("QueueConfigurations", self.s3.get_bucket_notification_configuration(Bucket="uploads"))

    def test_function_needs_its_resource_policy(self):
        fn = make_function(self.kyoka)
        lam = self.kyoka.client("lambda")
        conf = {"LambdaFunctionConfigurations": [{"Id": "thumbs", "LambdaFunctionArn": fn,
                                                  "Events": ["s3:ObjectCreated:*"]}]}
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration=conf)
        e = cm.exception.response["Error"]
        self.assertEqual((e["Code"], e["Message"]),
                         ("InvalidArgument", "Unable to validate the following destination configurations"))
        self.assertEqual(e["ArgumentName1"], fn)
        self.assertEqual(e["ArgumentValue1"], "Not authorized to invoke function [%s]" % fn)
        # A permission for another bucket does not do either.
        lam.add_permission(FunctionName="thumbs", StatementId="other", Action="lambda:InvokeFunction",
                           Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::another-bucket")
        with self.assertRaises(botocore.exceptions.ClientError):
            self.s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration=conf)
        # The AWS CLI v2, as the user's notes set it up.
        cli = cli_v2(self.kyoka)
        r = cli("lambda", "add-permission", "--function-name", "thumbs", "--statement-id", "s3",
                "--action", "lambda:InvokeFunction", "--principal", "s3.amazonaws.com",
                "--source-arn", "arn:aws:s3:::uploads", "--source-account", ACCOUNT)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = cli("s3api", "put-bucket-notification-configuration", "--bucket", "uploads",
                "--notification-configuration", json.dumps(conf))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.s3.put_object(Bucket="uploads", Key="photos/cat.jpg", Body=b"meow")
        logs = self.kyoka.client("logs")
        doc = None
        deadline = time.time() + 20
        while time.time() < deadline and doc is None:
            try:
                for ev in logs.filter_log_events(logGroupName="/aws/lambda/thumbs", filterPattern='"GOT "')["events"]:
                    doc = json.loads(ev["message"].split("GOT ", 1)[1])
            except botocore.exceptions.ClientError:
                pass
            time.sleep(0.3)
        self.assertIsNotNone(doc, "the function was not invoked: " + self.kyoka.read_log()[-2000:])
        rec = doc["Records"][0]
        self.assertEqual(rec["eventName"], "ObjectCreated:Put")
        self.assertEqual(rec["s3"]["object"]["key"], "photos/cat.jpg")
        self.assertEqual(rec["s3"]["configurationId"], "thumbs")
        self.assertEqual(rec["s3"]["object"]["size"], 4)


class Versioning(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.s3 = self.kyoka.client("s3")
        self.s3.create_bucket(Bucket="vers")

    def test_versions_markers_and_null(self):
        s3 = self.s3
        self.assertNotIn("Status", s3.get_bucket_versioning(Bucket="vers"))
        s3.put_object(Bucket="vers", Key="k", Body=b"v0")  # the null version
        s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(s3.get_bucket_versioning(Bucket="vers")["Status"], "Enabled")
        v1 = s3.put_object(Bucket="vers", Key="k", Body=b"v1")["VersionId"]
        v2 = s3.put_object(Bucket="vers", Key="k", Body=b"v2")["VersionId"]
        self.assertNotEqual(v1, v2)
        self.assertEqual(s3.get_object(Bucket="vers", Key="k")["Body"].read(), b"v2")
        self.assertEqual(s3.get_object(Bucket="vers", Key="k", VersionId=v1)["Body"].read(), b"v1")
        self.assertEqual(s3.get_object(Bucket="vers", Key="k", VersionId="null")["Body"].read(), b"v0")
        self.assertEqual(s3.head_object(Bucket="vers", Key="k", VersionId=v2)["VersionId"], v2)
        d = s3.delete_object(Bucket="vers", Key="k")
        self.assertTrue(d["DeleteMarker"])
        marker = d["VersionId"]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.get_object(Bucket="vers", Key="k")
        self.assertEqual(err(cm), ("NoSuchKey", 404))
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPHeaders"].get("x-amz-delete-marker"), "true")
        self.assertNotIn("Contents", s3.list_objects_v2(Bucket="vers"))
        lv = s3.list_object_versions(Bucket="vers")
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in lv["Versions"]],
                         [(v2, False), (v1, False), ("null", False)])
        self.assertEqual([(m["VersionId"], m["IsLatest"]) for m in lv["DeleteMarkers"]], [(marker, True)])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.delete_bucket(Bucket="vers")
        self.assertEqual(err(cm), ("BucketNotEmpty", 409))
        # Removing the marker brings v2 back.
        d = s3.delete_object(Bucket="vers", Key="k", VersionId=marker)
        self.assertTrue(d["DeleteMarker"])
        self.assertEqual(s3.get_object(Bucket="vers", Key="k")["Body"].read(), b"v2")
        s3.delete_object(Bucket="vers", Key="k", VersionId=v2)
        self.assertEqual(s3.get_object(Bucket="vers", Key="k")["Body"].read(), b"v1")
        # Suspended: new writes are the null version, replacing it.
        s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Suspended"})
        r = s3.put_object(Bucket="vers", Key="k", Body=b"n2")
        self.assertEqual(r["VersionId"], "null")
        ids = [v["VersionId"] for v in s3.list_object_versions(Bucket="vers")["Versions"]]
        self.assertEqual(ids, ["null", v1])
        self.assertEqual(s3.get_object(Bucket="vers", Key="k", VersionId="null")["Body"].read(), b"n2")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.get_object(Bucket="vers", Key="k", VersionId="A" * 32)
        self.assertEqual(err(cm), ("NoSuchVersion", 404))
        # Batch delete of versions.
        r = s3.delete_objects(Bucket="vers", Delete={"Objects": [{"Key": "k", "VersionId": "null"},
                                                                  {"Key": "k", "VersionId": v1}]})
        self.assertEqual(sorted(x["VersionId"] for x in r["Deleted"]), sorted(["null", v1]))
        self.assertNotIn("Versions", s3.list_object_versions(Bucket="vers"))
        s3.delete_bucket(Bucket="vers")

    def test_pages_and_prefixes(self):
        s3 = self.s3
        s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
        want = []
        for k in ("a/1", "a/2", "b"):
            for i in range(3):
                want.append((k, s3.put_object(Bucket="vers", Key=k, Body=b"%d" % i)["VersionId"]))
        want = sorted(want, key=lambda kv: kv[0])  # newest first within a key
        seen = []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket="vers",
                                                                       PaginationConfig={"PageSize": 2}):
            seen += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
        self.assertEqual([k for k, _ in seen], [k for k, _ in want])
        self.assertEqual(len(set(seen)), 9)
        for k in ("a/1", "a/2", "b"):
            ids = [v for kk, v in seen if kk == k]
            self.assertEqual(ids, list(reversed([v for kk, v in sorted(want, key=lambda kv: kv[0]) if kk == k])))
        r = s3.list_object_versions(Bucket="vers", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a/"])
        self.assertEqual({v["Key"] for v in r["Versions"]}, {"b"})

    def test_version_actions_are_authorized(self):
        s3 = self.s3
        iam = self.kyoka.client("iam")
        s3.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
        v1 = s3.put_object(Bucket="vers", Key="k", Body=b"1")["VersionId"]
        s3.put_object(Bucket="vers", Key="k", Body=b"2")
        iam.create_user(UserName="reader")
        iam.put_user_policy(UserName="reader", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject"],
                                                    "Resource": "arn:aws:s3:::vers/*"}]}))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        reader = self.kyoka.client("s3", access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
        self.assertEqual(reader.get_object(Bucket="vers", Key="k")["Body"].read(), b"2")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            reader.get_object(Bucket="vers", Key="k", VersionId=v1)
        self.assertEqual(err(cm), ("AccessDenied", 403))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            reader.delete_object(Bucket="vers", Key="k", VersionId=v1)
        self.assertEqual(err(cm), ("AccessDenied", 403))
        r = reader.delete_objects(Bucket="vers", Delete={"Objects": [{"Key": "k", "VersionId": v1}]})
        self.assertEqual(r["Errors"][0]["Code"], "AccessDenied")
        iam.put_user_policy(UserName="reader", PolicyName="p2", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                    "Action": ["s3:GetObjectVersion", "s3:DeleteObjectVersion"],
                                                    "Resource": "arn:aws:s3:::vers/*"}]}))
        self.assertEqual(reader.get_object(Bucket="vers", Key="k", VersionId=v1)["Body"].read(), b"1")
        reader.delete_object(Bucket="vers", Key="k", VersionId=v1)
        self.assertEqual(len(s3.list_object_versions(Bucket="vers")["Versions"]), 1)

    def test_cli_versioning(self):
        cli = cli_v2(self.kyoka)
        r = cli("s3api", "put-bucket-versioning", "--bucket", "vers", "--versioning-configuration", "Status=Enabled")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.s3.put_object(Bucket="vers", Key="k", Body=b"1")
        self.s3.put_object(Bucket="vers", Key="k", Body=b"2")
        r = cli("s3api", "list-object-versions", "--bucket", "vers")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(json.loads(r.stdout)["Versions"]), 2)


class Copies(KyokaTestCase):
    def test_upload_part_copy_with_ranges(self):
        s3 = self.kyoka.client("s3")
        s3.create_bucket(Bucket="mpc")
        src = os.urandom(6 * 1024 * 1024 + 100)
        s3.put_object(Bucket="mpc", Key="src", Body=src)
        uid = s3.create_multipart_upload(Bucket="mpc", Key="dst")["UploadId"]
        cut = 5 * 1024 * 1024
        p1 = s3.upload_part_copy(Bucket="mpc", Key="dst", UploadId=uid, PartNumber=1, CopySource="mpc/src",
                                 CopySourceRange="bytes=0-%d" % (cut - 1))["CopyPartResult"]["ETag"]
        self.assertEqual(p1, '"%s"' % hashlib.md5(src[:cut]).hexdigest())
        p2 = s3.upload_part_copy(Bucket="mpc", Key="dst", UploadId=uid, PartNumber=2, CopySource="mpc/src",
                                 CopySourceRange="bytes=%d-%d" % (cut, len(src) - 1))["CopyPartResult"]["ETag"]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.upload_part_copy(Bucket="mpc", Key="dst", UploadId=uid, PartNumber=3, CopySource="mpc/src",
                                CopySourceRange="bytes=0-%d" % len(src))
        self.assertEqual(err(cm)[0], "InvalidArgument")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.upload_part_copy(Bucket="mpc", Key="dst", UploadId=uid, PartNumber=3, CopySource="mpc/src",
                                CopySourceRange="bytes=9-1")
        self.assertEqual(err(cm)[0], "InvalidArgument")
        s3.complete_multipart_upload(Bucket="mpc", Key="dst", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": p1}, {"PartNumber": 2, "ETag": p2}]})
        self.assertEqual(s3.get_object(Bucket="mpc", Key="dst")["Body"].read(), src)


class Cors(KyokaTestCase):
    def preflight(self, path, origin, method, headers=None):
        h = {"Origin": origin, "Access-Control-Request-Method": method}
        if headers:
            h["Access-Control-Request-Headers"] = headers
        req = urllib.request.Request(self.kyoka.endpoint + path, method="OPTIONS", headers=h)
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers)

    def test_rules_and_preflight(self):
        s3 = self.kyoka.client("s3")
        s3.create_bucket(Bucket="web")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.get_bucket_cors(Bucket="web")
        self.assertEqual(err(cm), ("NoSuchCORSConfiguration", 404))
        self.assertEqual(self.preflight("/web/x", "https://app.example.com", "PUT")[0], 403)
        rules = [{"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["PUT", "GET"],
                  "AllowedHeaders": ["content-type", "x-amz-*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 300},
                 {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]
        s3.put_bucket_cors(Bucket="web", CORSConfiguration={"CORSRules": rules})
        got = s3.get_bucket_cors(Bucket="web")["CORSRules"]
        self.assertEqual(got[0]["AllowedOrigins"], ["https://*.example.com"])
        self.assertEqual(got[0]["MaxAgeSeconds"], 300)
        status, h = self.preflight("/web/photo.jpg", "https://app.example.com", "PUT", "Content-Type, X-Amz-Date")
        self.assertEqual(status, 200)
        self.assertEqual(h["Access-Control-Allow-Origin"], "https://app.example.com")
        self.assertEqual(h["Access-Control-Allow-Methods"], "PUT, GET")
        self.assertEqual(h["Access-Control-Allow-Headers"], "Content-Type, X-Amz-Date")
        self.assertEqual(h["Access-Control-Expose-Headers"], "ETag")
        self.assertEqual(h["Access-Control-Max-Age"], "300")
        self.assertEqual(h["Access-Control-Allow-Credentials"], "true")
        # A header no rule allows, a method only the wildcard rule lacks.
        self.assertEqual(self.preflight("/web/p", "https://app.example.com", "PUT", "x-other")[0], 403)
        self.assertEqual(self.preflight("/web/p", "https://elsewhere.org", "PUT")[0], 403)
        status, h = self.preflight("/web/p", "https://elsewhere.org", "GET")
        self.assertEqual((status, h["Access-Control-Allow-Origin"]), (200, "*"))
        self.assertEqual(self.preflight("/nobucket/p", "https://a.example.com", "GET")[0], 404)
        # An actual request with Origin gets the headers too.
        s3.put_object(Bucket="web", Key="p", Body=b"x")
        url = self.kyoka.client("s3", signature_version="s3v4").generate_presigned_url(
            "get_object", Params={"Bucket": "web", "Key": "p"})
        req = urllib.request.Request(url, headers={"Origin": "https://app.example.com"})
        with urllib.request.urlopen(req) as r:
            self.assertEqual(r.headers["Access-Control-Allow-Origin"], "https://app.example.com")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.put_bucket_cors(Bucket="web", CORSConfiguration={"CORSRules": [
                {"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]})
        self.assertEqual(err(cm)[0], "InvalidRequest")
        s3.delete_bucket_cors(Bucket="web")
        self.assertEqual(self.preflight("/web/p", "https://elsewhere.org", "GET")[0], 403)


class Lifecycle(KyokaTestCase):
    def test_expiry_on_the_advanced_clock(self):
        s3 = self.kyoka.client("s3")
        sqs = self.kyoka.client("sqs")
        s3.create_bucket(Bucket="life")
        url = sqs.create_queue(QueueName="life-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": queue_policy(arn, "life")})
        s3.put_bucket_notification_configuration(Bucket="life", NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn, "Events": ["s3:LifecycleExpiration:*"]}]})
        s3.put_bucket_lifecycle_configuration(Bucket="life", LifecycleConfiguration={"Rules": [
            {"ID": "tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 1}},
            {"ID": "tagged", "Status": "Enabled", "Filter": {"Tag": {"Key": "ttl", "Value": "short"}},
             "Expiration": {"Days": 3}},
            {"ID": "off", "Status": "Disabled", "Filter": {"Prefix": "keep/"}, "Expiration": {"Days": 1}}]})
        rules = s3.get_bucket_lifecycle_configuration(Bucket="life")["Rules"]
        self.assertEqual([r["ID"] for r in rules], ["tmp", "tagged", "off"])
        for k in ("tmp/a", "tmp/b", "keep/c", "other"):
            s3.put_object(Bucket="life", Key=k, Body=b"x")
        s3.put_object(Bucket="life", Key="tagged", Body=b"x", Tagging="ttl=short")
        keys = lambda: [o["Key"] for o in s3.list_objects_v2(Bucket="life").get("Contents", [])]  # noqa: E731
        self.kyoka.advance(3600)
        self.assertEqual(len(keys()), 5)
        self.kyoka.advance(2 * 86400)
        self.assertEqual(keys(), ["keep/c", "other", "tagged"])
        self.kyoka.advance(2 * 86400)
        self.assertEqual(keys(), ["keep/c", "other"])
        names = []
        deadline = time.time() + 10
        while len(names) < 3 and time.time() < deadline:
            for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                doc = json.loads(m["Body"])
                if "Records" in doc:  # not the s3:TestEvent
                    names.append(doc["Records"][0]["eventName"])
        self.assertEqual(names, ["LifecycleExpiration:Delete"] * 3)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.put_bucket_lifecycle_configuration(Bucket="life", LifecycleConfiguration={"Rules": [
                {"ID": "bad", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 0}}]})
        self.assertEqual(err(cm)[0], "InvalidArgument")
        s3.delete_bucket_lifecycle(Bucket="life")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.get_bucket_lifecycle_configuration(Bucket="life")
        self.assertEqual(err(cm), ("NoSuchLifecycleConfiguration", 404))


if __name__ == "__main__":
    harness.main()
