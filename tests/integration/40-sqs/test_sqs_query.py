"""SQS over the query protocol (form in, XML out) with Debian's boto3 and
awscli: every queue and message operation, the FIFO and dead-letter rules,
long polling, and AWS's exact error codes and messages.

Time never passes by sleeping: visibility timeouts, delays, retention and
the deduplication window move with the server clock (/_kyoka/clock/advance).
Only long polling is measured in real time, because "returns as soon as a
message arrives" is a real-time promise.
"""
import atexit
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import threading
import time

import boto3
import botocore.config
import botocore.exceptions
import botocore.session

from harness import ACCESS_KEY, ACCOUNT, REGION, SECRET_KEY, KyokaTestCase, main

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "tools")

ClientError = botocore.exceptions.ClientError




def md5(b):
    return hashlib.md5(b if isinstance(b, bytes) else b.encode()).hexdigest()


def attrs_md5(attrs):
    """The MD5OfMessageAttributes algorithm, written independently of kyoka."""
    h = hashlib.md5()
    for name in sorted(attrs):
        a = attrs[name]
        for part in (name.encode(), a["DataType"].encode()):
            h.update(struct.pack(">I", len(part)) + part)
        if "StringValue" in a:
            v = a["StringValue"].encode()
            h.update(b"\x01" + struct.pack(">I", len(v)) + v)
        else:
            v = a["BinaryValue"]
            h.update(b"\x02" + struct.pack(">I", len(v)) + v)
    return h.hexdigest()


_MODEL_DIR = None


def current_model_dir():
    """Debian's botocore predates the move-task operations and
    MessageSystemAttributeNames; give boto3 kyoka's model (Debian's plus the
    overlay, still the query protocol) so those go over the query API too."""
    global _MODEL_DIR
    if _MODEL_DIR is None:
        sys.path.insert(0, TOOLS)
        import gen_models
        model = gen_models.load("sqs", "2012-11-05")
        _MODEL_DIR = tempfile.mkdtemp(prefix="kyoka-sqs-model-")
        atexit.register(shutil.rmtree, _MODEL_DIR, True)
        os.makedirs(os.path.join(_MODEL_DIR, "sqs", "2012-11-05"))
        with open(os.path.join(_MODEL_DIR, "sqs", "2012-11-05", "service-2.json"), "w") as f:
            json.dump(model, f)
    return _MODEL_DIR


class SqsCase(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.sqs = self.current_client()

    def current_client(self, **cfg):
        session = botocore.session.get_session()
        session.get_component("data_loader").search_paths.insert(0, current_model_dir())
        return boto3.Session(botocore_session=session).client(
            "sqs", endpoint_url=self.kyoka.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY, config=botocore.config.Config(retries={"max_attempts": 0}, **cfg))

    def assertError(self, fn, code, message=None, status=None):
        with self.assertRaises(ClientError) as cm:
            fn()
        err = cm.exception.response["Error"]
        self.assertEqual(err["Code"], code, err)
        if message is not None:
            self.assertEqual(err["Message"], message)
        if status is not None:
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
        return cm.exception

    def queue(self, name="q", **attrs):
        return self.sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attrs.items()})["QueueUrl"]

    def fifo(self, name="f.fifo", **attrs):
        attrs["FifoQueue"] = "true"
        return self.queue(name, **attrs)

    def arn(self, url):
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def attrs(self, url, *names):
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"]).get("Attributes", {})

    def receive(self, url, **kw):
        return self.sqs.receive_message(QueueUrl=url, **kw).get("Messages", [])

    def user_client(self, iam, name):
        """An SQS client (kyoka's model, so every operation exists) signing
        as a new IAM user with no policies."""
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        session = botocore.session.get_session()
        session.get_component("data_loader").search_paths.insert(0, current_model_dir())
        return boto3.Session(botocore_session=session).client(
            "sqs", endpoint_url=self.kyoka.endpoint, region_name=REGION, aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"], config=botocore.config.Config(retries={"max_attempts": 0}))

    def bodies(self, url, **kw):
        return [m["Body"] for m in self.receive(url, **kw)]


class Queues(SqsCase):
    def test_queues_are_regional(self):
        # The same name in two regions is two queues; a request reaches the
        # queues of the region it is signed for.
        east = self.queue("orders")
        west_client = self.kyoka.client("sqs", region="eu-west-1")
        west = west_client.create_queue(QueueName="orders")["QueueUrl"]
        arn = lambda cl, url: cl.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.assertEqual(arn(self.sqs, east), "arn:aws:sqs:%s:%s:orders" % (REGION, ACCOUNT))
        self.assertEqual(arn(west_client, west), "arn:aws:sqs:eu-west-1:%s:orders" % ACCOUNT)
        self.sqs.send_message(QueueUrl=east, MessageBody="to the east")
        west_client.send_message(QueueUrl=west, MessageBody="to the west")
        self.assertEqual(self.bodies(east), ["to the east"])
        self.assertEqual([m["Body"] for m in west_client.receive_message(QueueUrl=west).get("Messages", [])],
                         ["to the west"])
        self.assertEqual(west_client.list_queues()["QueueUrls"], [west])
        self.assertEqual(self.sqs.list_queues()["QueueUrls"], [east])
        west_client.delete_queue(QueueUrl=west)
        self.assertError(lambda: west_client.get_queue_url(QueueName="orders"),
                         "AWS.SimpleQueueService.NonExistentQueue")
        self.assertEqual(self.sqs.get_queue_url(QueueName="orders")["QueueUrl"], east)
        # Deleted in one region, so only that region waits 60 s to reuse the name.
        self.assertError(lambda: west_client.create_queue(QueueName="orders"),
                         "AWS.SimpleQueueService.QueueDeletedRecently")
        self.kyoka.client("sqs", region="ap-northeast-1").create_queue(QueueName="orders")

    def test_create_get_list_delete(self):
        url = self.queue("orders")
        self.assertEqual(url, "%s/%s/orders" % (self.kyoka.endpoint.replace("127.0.0.1", "localhost"), ACCOUNT))
        self.assertEqual(self.sqs.get_queue_url(QueueName="orders")["QueueUrl"], url)
        self.assertEqual(self.sqs.get_queue_url(QueueName="orders", QueueOwnerAWSAccountId=ACCOUNT)["QueueUrl"], url)
        self.queue("orders-dlq")
        self.queue("billing")
        self.assertEqual(sorted(self.sqs.list_queues()["QueueUrls"]), sorted([
            url, url + "-dlq", url.replace("orders", "billing")]))
        self.assertEqual(len(self.sqs.list_queues(QueueNamePrefix="ord")["QueueUrls"]), 2)
        self.assertNotIn("QueueUrls", self.sqs.list_queues(QueueNamePrefix="zzz"))
        self.assertEqual(self.arn(url), "arn:aws:sqs:us-east-1:%s:orders" % ACCOUNT)
        self.sqs.delete_queue(QueueUrl=url)
        self.assertError(lambda: self.sqs.get_queue_url(QueueName="orders"),
                         "AWS.SimpleQueueService.NonExistentQueue",
                         "The specified queue does not exist for this wsdl version.", 400)
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x"),
                         "AWS.SimpleQueueService.NonExistentQueue")
        # The name stays reserved for 60 seconds after DeleteQueue.
        self.assertError(lambda: self.queue("orders"), "AWS.SimpleQueueService.QueueDeletedRecently",
                         "You must wait 60 seconds after deleting a queue before you can create another with the "
                         "same name.")
        self.kyoka.advance(61)
        self.assertEqual(self.queue("orders"), url)

    def test_list_queues_pagination(self):
        urls = [self.queue("p%02d" % i) for i in range(7)]
        seen, token = [], None
        while True:
            kw = {"MaxResults": 3}
            if token:
                kw["NextToken"] = token
            page = self.sqs.list_queues(**kw)
            self.assertLessEqual(len(page["QueueUrls"]), 3)
            seen += page["QueueUrls"]
            token = page.get("NextToken")
            if not token:
                break
        self.assertEqual(seen, urls)
        self.assertNotIn("NextToken", self.sqs.list_queues())
        self.assertError(lambda: self.sqs.list_queues(MaxResults=1001), "InvalidParameterValue",
                         "Value 1001 for parameter MaxResults is invalid. Reason: MaxResults must be an integer "
                         "between 1 and 1000.")

    def test_queue_url_in_any_host_form(self):
        url = self.queue("forms")
        port = self.kyoka.port
        for form in ["http://127.0.0.1:%d/%s/forms" % (port, ACCOUNT),
                     "http://sqs.us-east-1.localhost.localstack.cloud:4566/%s/forms" % ACCOUNT,
                     "https://sqs.us-east-1.amazonaws.com/%s/forms" % ACCOUNT,
                     "http://localhost:4566/queue/us-east-1/%s/forms" % ACCOUNT,
                     "forms"]:
            self.sqs.send_message(QueueUrl=form, MessageBody=form)
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"], "5")

    def test_create_queue_is_idempotent_only_with_same_attributes(self):
        url = self.queue("idem", DelaySeconds=1, ReceiveMessageWaitTimeSeconds=1)
        self.assertEqual(self.queue("idem"), url)
        self.assertEqual(self.queue("idem", DelaySeconds=1), url)
        self.assertError(lambda: self.queue("idem", DelaySeconds=2, ReceiveMessageWaitTimeSeconds=1),
                         "QueueAlreadyExists",
                         "A queue already exists with the same name and a different value for attribute DelaySeconds",
                         400)
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "2"})
        self.assertEqual(self.queue("idem", DelaySeconds=2), url)
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        self.assertEqual(self.queue("idem"), url)

    def test_queue_names(self):
        std = "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        fifo = ("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must "
                "end with .fifo suffix and be 1 to 80 in length")
        for bad in ["has space", "a" * 81, "dots.in.name", "slash/y", "std.fifo"]:
            self.assertError(lambda: self.queue(bad), "InvalidParameterValue", std)
        self.assertError(lambda: self.fifo("nosuffix"), "InvalidParameterValue", fifo)
        self.assertError(lambda: self.fifo("a" * 76 + ".fifo"), "InvalidParameterValue", fifo)
        self.queue("a" * 80)
        self.fifo("b" * 75 + ".fifo")
        self.queue("Mixed_Case-1")

    def test_default_attributes(self):
        a = self.attrs(self.queue("defaults"))
        self.assertEqual(a["VisibilityTimeout"], "30")
        self.assertEqual(a["MaximumMessageSize"], "1048576")
        self.assertEqual(a["MessageRetentionPeriod"], "345600")
        self.assertEqual(a["DelaySeconds"], "0")
        self.assertEqual(a["ReceiveMessageWaitTimeSeconds"], "0")
        self.assertEqual(a["SqsManagedSseEnabled"], "true")
        for k in ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                  "ApproximateNumberOfMessagesDelayed"]:
            self.assertEqual(a[k], "0")
        self.assertAlmostEqual(int(a["CreatedTimestamp"]), time.time(), delta=120)
        self.assertNotIn("FifoQueue", a)
        self.assertNotIn("Policy", a)
        f = self.attrs(self.fifo())
        self.assertEqual((f["FifoQueue"], f["ContentBasedDeduplication"], f["DeduplicationScope"],
                          f["FifoThroughputLimit"]), ("true", "false", "queue", "perQueue"))
        self.assertEqual(self.sqs.get_queue_attributes(QueueUrl=self.queue("defaults")).get("Attributes"), None)

    def test_attribute_ranges(self):
        url = self.queue("ranges")
        bad = {"VisibilityTimeout": ["-1", "43201", "abc", "1.5"], "DelaySeconds": ["901"],
               "MaximumMessageSize": ["1023", "1048577"], "MessageRetentionPeriod": ["59", "1209601"],
               "ReceiveMessageWaitTimeSeconds": ["21"], "KmsDataKeyReusePeriodSeconds": ["59", "86401"],
               "SqsManagedSseEnabled": ["maybe"]}
        for name, values in bad.items():
            for v in values:
                self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes={name: v}),
                                 "InvalidAttributeValue", "Invalid value for the parameter %s." % name)
                self.assertError(lambda: self.queue("other", **{name: v}), "InvalidAttributeValue",
                                 "Invalid value for the parameter %s." % name)
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={
            "VisibilityTimeout": "43200", "DelaySeconds": "900", "MaximumMessageSize": "1024",
            "MessageRetentionPeriod": "60", "ReceiveMessageWaitTimeSeconds": "20"})
        a = self.attrs(url)
        self.assertEqual((a["VisibilityTimeout"], a["DelaySeconds"], a["MaximumMessageSize"],
                          a["MessageRetentionPeriod"], a["ReceiveMessageWaitTimeSeconds"]),
                         ("43200", "900", "1024", "60", "20"))
        self.assertNotIn("other", json.dumps(self.sqs.list_queues()))

    def test_attribute_names(self):
        url = self.queue("names")
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Foo": "1"}),
                         "InvalidAttributeName", "Unknown Attribute Foo.")
        self.assertError(lambda: self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Foobar"]),
                         "InvalidAttributeName", "Unknown Attribute Foobar.")
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"QueueArn": "x"}),
                         "InvalidAttributeName", "Unknown Attribute QueueArn.")
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=url,
                                                               Attributes={"FifoThroughputLimit": "perQueue"}),
                         "InvalidAttributeName", "You can specify the FifoThroughputLimit only when FifoQueue is set "
                                                 "to true.")
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes={
            "KmsMasterKeyId": "alias/k", "SqsManagedSseEnabled": "true"}), "InvalidAttributeName",
            "You can use one type of server-side encryption (SSE) at one time. You can either enable KMS SSE or SQS "
            "SSE.")
        f = self.fifo()
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=f, Attributes={"FifoQueue": "false"}),
                         "InvalidAttributeValue",
                         "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.")
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=f, Attributes={"DeduplicationScope": "x"}),
                         "InvalidAttributeValue", "Invalid value for the parameter DeduplicationScope.")
        self.sqs.set_queue_attributes(QueueUrl=f, Attributes={"DeduplicationScope": "messageGroup",
                                                              "FifoThroughputLimit": "perMessageGroupId"})
        self.assertEqual(self.attrs(f, "FifoThroughputLimit")["FifoThroughputLimit"], "perMessageGroupId")
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": "alias/k",
                                                                "KmsDataKeyReusePeriodSeconds": "600"})
        a = self.attrs(url, "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled")
        self.assertEqual(a, {"KmsMasterKeyId": "alias/k", "KmsDataKeyReusePeriodSeconds": "600",
                             "SqsManagedSseEnabled": "false"})

    def test_bad_set_changes_nothing(self):
        url = self.queue("atomic", VisibilityTimeout=10)
        before = self.attrs(url)
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes={
            "VisibilityTimeout": "20", "DelaySeconds": "5", "MessageRetentionPeriod": "1"}), "InvalidAttributeValue")
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes={
            "VisibilityTimeout": "20", "Policy": "{not json"}), "InvalidAttributeValue",
            "Invalid value for the parameter Policy.")
        self.assertEqual(self.attrs(url), before)

    def test_tags(self):
        url = self.sqs.create_queue(QueueName="tagged", tags={"team": "a", "env": "dev"})["QueueUrl"]
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "a", "env": "dev"})
        self.sqs.tag_queue(QueueUrl=url, Tags={"team": "b", "cost": ""})
        self.sqs.untag_queue(QueueUrl=url, TagKeys=["env", "missing"])
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "b", "cost": ""})
        self.sqs.untag_queue(QueueUrl=url, TagKeys=["team", "cost"])
        self.assertNotIn("Tags", self.sqs.list_queue_tags(QueueUrl=url))
        self.assertError(lambda: self.sqs.tag_queue(QueueUrl=url, Tags={"t%d" % i: "v" for i in range(51)}),
                         "InvalidParameterValue", "Too many tags added for queue tagged.")

    def test_purge(self):
        url = self.queue("purge")
        for i in range(5):
            self.sqs.send_message(QueueUrl=url, MessageBody="m%d" % i, DelaySeconds=i)
        self.receive(url)
        self.sqs.purge_queue(QueueUrl=url)
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                    "ApproximateNumberOfMessagesDelayed"),
                         {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0",
                          "ApproximateNumberOfMessagesDelayed": "0"})
        self.assertError(lambda: self.sqs.purge_queue(QueueUrl=url), "AWS.SimpleQueueService.PurgeQueueInProgress",
                         "Only one PurgeQueue operation on purge is allowed every 60 seconds.", 403)
        self.kyoka.advance(60)
        self.assertEqual(self.receive(url), [])
        self.sqs.purge_queue(QueueUrl=url)

    def test_purge_keeps_the_deduplication_window(self):
        url = self.fifo("purged.fifo")
        first = self.sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g",
                                      MessageDeduplicationId="d1")
        self.sqs.purge_queue(QueueUrl=url)
        # Within 5 minutes of the first send the id is still a duplicate.
        again = self.sqs.send_message(QueueUrl=url, MessageBody="once", MessageGroupId="g",
                                      MessageDeduplicationId="d1")
        self.assertEqual(again["MessageId"], first["MessageId"])
        self.assertEqual(self.receive(url), [])
        self.kyoka.advance(301)
        self.sqs.send_message(QueueUrl=url, MessageBody="later", MessageGroupId="g", MessageDeduplicationId="d1")
        self.assertEqual(self.bodies(url), ["later"])

    def test_awscli(self):
        r = self.kyoka.aws_cli("sqs", "create-queue", "--queue-name", "cli")
        self.assertEqual(r.returncode, 0, r.stderr)
        url = json.loads(r.stdout)["QueueUrl"]
        r = self.kyoka.aws_cli("sqs", "send-message", "--queue-url", url, "--message-body", "from cli",
                              "--message-attributes", '{"k":{"DataType":"String","StringValue":"v"}}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["MD5OfMessageBody"], md5("from cli"))
        r = self.kyoka.aws_cli("sqs", "receive-message", "--queue-url", url, "--message-attribute-names", "All")
        self.assertEqual(r.returncode, 0, r.stderr)
        msg = json.loads(r.stdout)["Messages"][0]
        self.assertEqual(msg["Body"], "from cli")
        self.assertEqual(msg["MessageAttributes"]["k"]["StringValue"], "v")
        r = self.kyoka.aws_cli("sqs", "get-queue-url", "--queue-name", "nope")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("NonExistentQueue", r.stderr)


class Messages(SqsCase):
    def test_send_receive_delete_and_digests(self):
        url = self.queue()
        attrs = {"Hello": {"DataType": "String", "StringValue": "World"},
                 "n": {"DataType": "Number", "StringValue": "1234567890123456789012"},
                 "Num.custom": {"DataType": "Number.bigint", "StringValue": "-1.5e10"},
                 "bin": {"DataType": "Binary", "BinaryValue": b"\x00\xff\x10"},
                 "Str.x": {"DataType": "String.custom", "StringValue": "ünïcødé"}}
        trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        sent = self.sqs.send_message(QueueUrl=url, MessageBody="hello ünïcødé \U0001F600", MessageAttributes=attrs,
                                     MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String",
                                                                                 "StringValue": trace}})
        self.assertEqual(sent["MD5OfMessageBody"], md5("hello ünïcødé \U0001F600"))
        self.assertEqual(sent["MD5OfMessageAttributes"], attrs_md5(attrs))
        # AWS's published digest for this trace header.
        self.assertEqual(sent["MD5OfMessageSystemAttributes"], "5ae4d5d7636402d80f4eb6d213245a88")
        msgs = self.receive(url, AttributeNames=["All"], MessageAttributeNames=["All"])
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m["MessageId"], sent["MessageId"])
        self.assertEqual(m["Body"], "hello ünïcødé \U0001F600")
        self.assertEqual(m["MessageAttributes"], attrs)
        self.assertEqual(m["MD5OfMessageAttributes"], attrs_md5(attrs))
        a = m["Attributes"]
        self.assertEqual(a["SenderId"], ACCOUNT)
        self.assertEqual(a["ApproximateReceiveCount"], "1")
        self.assertEqual(a["AWSTraceHeader"], trace)
        self.assertAlmostEqual(int(a["SentTimestamp"]) / 1000, time.time(), delta=120)
        self.assertGreaterEqual(int(a["ApproximateFirstReceiveTimestamp"]), int(a["SentTimestamp"]))
        self.assertNotIn("SequenceNumber", a)
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        # Deleting again is fine; the queue is empty.
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.kyoka.advance(31)
        self.assertEqual(self.receive(url), [])

    def test_xray_header_traces_every_message_it_sends(self):
        url = self.queue()
        header = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"

        def add_trace(request, **kwargs):
            request.headers["X-Amzn-Trace-Id"] = header
        self.sqs.meta.events.register("before-sign.sqs.*", add_trace)
        one = self.sqs.send_message(QueueUrl=url, MessageBody="one")
        # A header-borne trace is no system attribute of the request: no digest.
        self.assertNotIn("MD5OfMessageSystemAttributes", one)
        self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "two"},
            # The system attribute wins over the header.
            {"Id": "b", "MessageBody": "three", "MessageSystemAttributes": {
                "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=own"}}}])
        self.sqs.meta.events.unregister("before-sign.sqs.*", add_trace)
        self.sqs.send_message(QueueUrl=url, MessageBody="four")
        traces = {}
        for _ in range(4):
            for m in self.receive(url, AttributeNames=["AWSTraceHeader"]):
                traces[m["Body"]] = m.get("Attributes", {}).get("AWSTraceHeader")
        self.assertEqual(traces, {"one": header, "two": header, "three": "Root=own", "four": None})

    def test_known_digests(self):
        url = self.queue()
        # Digests AWS answers for these inputs (from recorded AWS responses).
        r = self.sqs.send_message(QueueUrl=url, MessageBody="Test Message",
                                  MessageAttributes={"Hello": {"DataType": "String", "StringValue": "World"}},
                                  MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String",
                                                                              "StringValue": "some-trace-id"}})
        self.assertEqual((r["MD5OfMessageBody"], r["MD5OfMessageAttributes"], r["MD5OfMessageSystemAttributes"]),
                         ("d1d4180b7e411c4be86b00fb2ee103eb", "7db7fb1ba7f41366a8ea5eb18220b26d",
                          "fdce4f2818803f2f73becc09a54792c0"))
        r = self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={
            "UserId": {"DataType": "Number.bigint", "StringValue": "1234567890123456789012"}})
        self.assertEqual(r["MD5OfMessageAttributes"], "797ab158d73dcb5242dedc4412c8e855")
        self.assertNotIn("MD5OfMessageSystemAttributes", r)

    def test_message_attribute_name_filters(self):
        url = self.queue(VisibilityTimeout=0)
        attrs = {"Help.Me": {"DataType": "String", "StringValue": "Me"},
                 "Hello": {"DataType": "String", "StringValue": "There"},
                 "General": {"DataType": "String", "StringValue": "Kenobi"}}
        sent = self.sqs.send_message(QueueUrl=url, MessageBody="msg", MessageAttributes=attrs)
        self.assertEqual(sent["MD5OfMessageAttributes"], "4c360f3fdafd970e05fae2f149d997f5")

        def got(names):
            m = self.receive(url, MessageAttributeNames=names)[0]
            return m.get("MessageAttributes", {}), m.get("MD5OfMessageAttributes")

        self.assertEqual(got([]), ({}, None))
        for everything in (["All"], [".*"], ["*"]):
            self.assertEqual(got(everything), (attrs, "4c360f3fdafd970e05fae2f149d997f5"))
        sel = {k: attrs[k] for k in ("Hello", "General")}
        self.assertEqual(got(["Hello", "General"]), (sel, "fca026605781cb4126a1e9044df24232"))
        self.assertEqual(got(["Foo", "Hello"]), ({"Hello": attrs["Hello"]}, "a311262e065454b75da111d535b8dacd"))
        self.assertEqual(got(["Hel.*"]), ({k: attrs[k] for k in ("Hello", "Help.Me")},
                                          "83fee93c1bcd8b9a5a923ffacdc636c7"))
        self.assertEqual(got(["Foo", "Help"]), ({}, None))

    def test_system_attribute_selection(self):
        url = self.queue(VisibilityTimeout=0)
        self.sqs.send_message(QueueUrl=url, MessageBody="msg")
        m = self.receive(url, AttributeNames=["SenderId", "SequenceNumber"])[0]
        self.assertEqual(m["Attributes"], {"SenderId": ACCOUNT})
        m = self.receive(url, MessageSystemAttributeNames=["ApproximateReceiveCount"])[0]
        self.assertEqual(m["Attributes"], {"ApproximateReceiveCount": "2"})
        self.assertNotIn("Attributes", self.receive(url)[0])

    def test_visibility_timeout_and_receipt_handles(self):
        url = self.queue(VisibilityTimeout=30)
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        first = self.receive(url)[0]
        self.assertEqual(self.receive(url), [])
        a = self.attrs(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        self.assertEqual(a, {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "1"})
        self.kyoka.advance(29)
        self.assertEqual(self.receive(url), [])
        self.kyoka.advance(2)
        second = self.receive(url, AttributeNames=["ApproximateReceiveCount"], VisibilityTimeout=100)[0]
        self.assertEqual(second["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertNotEqual(first["ReceiptHandle"], second["ReceiptHandle"])
        # The older handle no longer changes visibility...
        old = first["ReceiptHandle"]
        self.assertError(lambda: self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=old,
                                                                    VisibilityTimeout=0),
                         "InvalidParameterValue",
                         "Value %s for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not "
                         "available for visibility timeout change." % old)
        # ...but on a standard queue it still deletes the message.
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=old)
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessagesNotVisible"),
                         {"ApproximateNumberOfMessagesNotVisible": "0"})
        self.kyoka.advance(101)
        self.assertEqual(self.receive(url), [])

    def test_change_message_visibility(self):
        url = self.queue()
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        rh = self.receive(url)[0]["ReceiptHandle"]
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=rh, VisibilityTimeout=100)
        self.kyoka.advance(60)
        self.assertEqual(self.receive(url), [])
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=rh, VisibilityTimeout=0)
        rh2 = self.receive(url)[0]["ReceiptHandle"]
        self.assertError(lambda: self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="garbage",
                                                                    VisibilityTimeout=1),
                         "ReceiptHandleIsInvalid", 'The input receipt handle "garbage" is not a valid receipt handle.')
        self.assertError(lambda: self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=rh2,
                                                                    VisibilityTimeout=43201),
                         "InvalidParameterValue", "Value 43201 for parameter VisibilityTimeout is invalid. Reason: Must "
                                                  "be between 0 and 43200, if provided.")
        # At most 12 hours from the receive.
        self.kyoka.advance(20)
        self.assertError(lambda: self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=rh2,
                                                                    VisibilityTimeout=43190),
                         "InvalidParameterValue", "Value 43190 for parameter VisibilityTimeout is invalid. Reason: Total "
                                                  "VisibilityTimeout for the message is beyond the limit [43200 "
                                                  "seconds].")
        # Once the visibility has run out, a change through that handle is
        # answered 200 and changes nothing: the message stays visible.
        self.kyoka.advance(11)
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=rh2, VisibilityTimeout=10)
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        self.assertEqual(attrs["Attributes"], {"ApproximateNumberOfMessages": "1",
                                               "ApproximateNumberOfMessagesNotVisible": "0"})
        # A handle from another queue is not valid here, and is told apart
        # from text that was never a handle.
        other = self.queue("other")
        self.assertError(lambda: self.sqs.delete_message(QueueUrl=other, ReceiptHandle=rh2),
                         "ReceiptHandleIsInvalid", 'The receipt handle "%s" is not valid for this queue.' % rh2)
        self.assertError(lambda: self.sqs.change_message_visibility(QueueUrl=other, ReceiptHandle=rh2,
                                                                    VisibilityTimeout=5),
                         "ReceiptHandleIsInvalid", 'The receipt handle "%s" is not valid for this queue.' % rh2)
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=rh2)
        self.assertError(lambda: self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=rh2,
                                                                    VisibilityTimeout=1),
                         "InvalidParameterValue")

    def test_delays(self):
        url = self.queue(DelaySeconds=10)
        self.sqs.send_message(QueueUrl=url, MessageBody="queue-delay")
        self.sqs.send_message(QueueUrl=url, MessageBody="now", DelaySeconds=0)
        self.sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=900)
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"),
                         {"ApproximateNumberOfMessages": "1", "ApproximateNumberOfMessagesDelayed": "2"})
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=10, VisibilityTimeout=1000), ["now"])
        self.kyoka.advance(10)
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=10, VisibilityTimeout=1000), ["queue-delay"])
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"),
                         {"ApproximateNumberOfMessagesNotVisible": "2", "ApproximateNumberOfMessagesDelayed": "1"})
        self.kyoka.advance(890)
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=10), ["later"])
        for d in (-1, 901):
            self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=d),
                             "InvalidParameterValue", "Value %d for parameter DelaySeconds is invalid. Reason: "
                                                      "DelaySeconds must be >= 0 and <= 900." % d)

    def test_retention(self):
        url = self.queue(MessageRetentionPeriod=60)
        self.sqs.send_message(QueueUrl=url, MessageBody="old")
        self.kyoka.advance(30)
        self.sqs.send_message(QueueUrl=url, MessageBody="new")
        self.kyoka.advance(31)
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "1"})
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=10), ["new"])

    def test_receive_parameters(self):
        url = self.queue()
        for i in range(15):
            self.sqs.send_message(QueueUrl=url, MessageBody=str(i))
        self.assertEqual(len(self.receive(url, MaxNumberOfMessages=10)), 10)
        self.assertEqual(len(self.receive(url, MaxNumberOfMessages=10)), 5)
        self.assertError(lambda: self.receive(url, MaxNumberOfMessages=11), "InvalidParameterValue",
                         "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if "
                         "provided.")
        self.assertError(lambda: self.receive(url, MaxNumberOfMessages=0), "InvalidParameterValue")
        self.assertError(lambda: self.receive(url, WaitTimeSeconds=21), "InvalidParameterValue",
                         "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if "
                         "provided.")
        self.assertError(lambda: self.receive(url, VisibilityTimeout=-1), "InvalidParameterValue",
                         "Value -1 for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if "
                         "provided.")

    def test_receive_with_zero_visibility(self):
        url = self.queue()
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        self.assertEqual(len(self.receive(url, VisibilityTimeout=0)), 1)
        self.assertEqual(len(self.receive(url)), 1)
        self.assertEqual(self.receive(url), [])

    def test_message_validation(self):
        url = self.queue(MaximumMessageSize=1024)
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody=""), "MissingParameter",
                         "The request must contain the parameter MessageBody.")
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="bad \x01 char"),
                         "InvalidMessageContents",
                         "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | "
                         "#xE000 to #xFFFD | #x10000 to #x10FFFF")
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="\uffff"), "InvalidMessageContents")
        self.sqs.send_message(QueueUrl=url, MessageBody="a" * 1024)
        too_long = "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="a" * 1025), "InvalidParameterValue",
                         too_long)
        # Attributes count: name + type + value.
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="a" * 1011, MessageAttributes={
            "k": {"DataType": "String", "StringValue": "xxxxxxx"}}), "InvalidParameterValue", too_long)
        self.sqs.send_message(QueueUrl=url, MessageBody="a" * 1011, MessageAttributes={
            "k": {"DataType": "String", "StringValue": "xxxxxx"}})
        many = {"a%d" % i: {"DataType": "String", "StringValue": "v"} for i in range(11)}
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=many),
                         "InvalidParameterValue", "Number of message attributes [11] exceeds the allowed maximum [10].")
        cases = [
            ({"AWS.x": {"DataType": "String", "StringValue": "v"}},
             "You can't use message attribute names beginning with 'AWS.' or 'Amazon'. These strings are reserved "
             "for internal use."),
            ({"amazon.x": {"DataType": "String", "StringValue": "v"}},
             "You can't use message attribute names beginning with 'AWS.' or 'Amazon'. These strings are reserved "
             "for internal use."),
            ({"bad!name": {"DataType": "String", "StringValue": "v"}},
             "Message (user) attributes name can only contain upper and lower score characters, digits, periods, "
             "hyphens and underscores. "),
            ({"x": {"DataType": "Float", "StringValue": "1"}},
             "The type of message (user) attribute 'x' is invalid. You must use only the following supported type "
             "prefixes: Binary, Number, String."),
            ({"x": {"DataType": "Number", "StringValue": "one"}},
             "Can't cast the value of message (user) attribute 'x' to a number."),
            ({"x": {"DataType": "String", "StringValue": ""}},
             "Message (user) attribute 'x' must contain a non-empty value of type 'String'."),
            ({"L" * 256: {"DataType": "String", "StringValue": "v"}},
             "Message (user) attribute name must be shorter than 256 bytes."),
            ({"x": {"DataType": "String." + "t" * 250, "StringValue": "v"}},
             "Message (user) attribute type must be shorter than 256 bytes."),
        ]
        for attrs, message in cases:
            self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attrs),
                             "InvalidParameterValue", message)
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d"),
                         "InvalidParameterValue",
                         "The request include parameter MessageDeduplicationId which is not valid for this queue type")
        # A batch holds each entry to the queue's MaximumMessageSize too.
        r = self.sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "fits", "MessageBody": "a" * 1024},
                                                               {"Id": "big", "MessageBody": "a" * 1025}])
        self.assertEqual([e["Id"] for e in r["Successful"]], ["fits"])
        self.assertEqual(r["Failed"], [{"Id": "big", "SenderFault": True, "Code": "InvalidParameterValue",
                                        "Message": too_long}])
        # Nothing of the above was enqueued but the three that fit.
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "3"})

    def test_standard_queue_accepts_message_group_id(self):
        url = self.queue()
        self.sqs.send_message(QueueUrl=url, MessageBody="fair", MessageGroupId="tenant-1")
        m = self.receive(url, MessageSystemAttributeNames=["All"])[0]
        self.assertEqual(m["Attributes"]["MessageGroupId"], "tenant-1")

    def test_batches(self):
        url = self.queue()
        r = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "one"},
            {"Id": "b", "MessageBody": "two", "DelaySeconds": 5,
             "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
            {"Id": "c", "MessageBody": "bad \x02"},
            {"Id": "d", "MessageBody": "x", "DelaySeconds": 1000}])
        self.assertEqual(sorted(e["Id"] for e in r["Successful"]), ["a", "b"])
        ok = {e["Id"]: e for e in r["Successful"]}
        self.assertEqual(ok["a"]["MD5OfMessageBody"], md5("one"))
        self.assertEqual(ok["b"]["MD5OfMessageAttributes"], attrs_md5({"k": {"DataType": "String",
                                                                              "StringValue": "v"}}))
        failed = {e["Id"]: e for e in r["Failed"]}
        self.assertEqual(failed["c"]["Code"], "InvalidMessageContents")
        self.assertTrue(failed["c"]["SenderFault"])
        self.assertEqual(failed["d"]["Code"], "InvalidParameterValue")
        self.assertEqual(failed["d"]["Message"], "Value 1000 for parameter DelaySeconds is invalid. Reason: "
                                                 "DelaySeconds must be >= 0 and <= 900.")
        self.kyoka.advance(5)
        msgs = self.receive(url, MaxNumberOfMessages=10)
        self.assertEqual(sorted(m["Body"] for m in msgs), ["one", "two"])
        r = self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "x", "ReceiptHandle": msgs[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "y", "ReceiptHandle": "nonsense", "VisibilityTimeout": 0}])
        self.assertEqual([e["Id"] for e in r["Successful"]], ["x"])
        self.assertEqual(r["Failed"], [{"Id": "y", "SenderFault": True, "Code": "ReceiptHandleIsInvalid",
                                        "Message": 'The input receipt handle "nonsense" is not a valid receipt '
                                                   'handle.'}])
        msgs = self.receive(url, MaxNumberOfMessages=10) + [msgs[1]]
        r = self.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "m%d" % i, "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)] + [
            {"Id": "fake", "ReceiptHandle": "fake-receipt-handle"}])
        self.assertEqual(len(r["Successful"]), 2)
        self.assertEqual(r["Failed"][0]["Message"],
                         'The input receipt handle "fake-receipt-handle" is not a valid receipt handle.')
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"),
                         {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"})

    def test_batch_errors(self):
        url = self.queue()
        entries = [{"Id": "m%d" % i, "MessageBody": "b"} for i in range(11)]
        self.assertError(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=entries),
                         "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                         "Maximum number of entries per request are 10. You have sent 11.")
        self.assertError(lambda: self.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "m%d" % i, "ReceiptHandle": "x"} for i in range(20)]),
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            "Maximum number of entries per request are 10. You have sent 20.")
        for bad in ["", "x" * 81, "invalid:id"]:
            self.assertError(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": bad, "MessageBody": "b"}]), "AWS.SimpleQueueService.InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at "
                "most 80 letters long.")
        self.assertError(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "same", "MessageBody": "1"}, {"Id": "same", "MessageBody": "2"}]),
            "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id same repeated.")
        big = "a" * (512 * 1024)
        self.assertError(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "1", "MessageBody": big}, {"Id": "2", "MessageBody": big + "b"}]),
            "AWS.SimpleQueueService.BatchRequestTooLong",
            "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.")
        # None of the failed batches enqueued anything.
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "0"})

    def test_empty_batches(self):
        url = self.queue()
        self.sqs.send_message(QueueUrl=url, MessageBody="stays")
        calls = {
            "SendMessageBatchRequestEntry": self.sqs.send_message_batch,
            "DeleteMessageBatchRequestEntry": self.sqs.delete_message_batch,
            "ChangeMessageVisibilityBatchRequestEntry": self.sqs.change_message_visibility_batch,
        }
        for entry, call in calls.items():
            # botocore sends an empty list over query as a bare "Entries=".
            self.assertError(lambda: call(QueueUrl=url, Entries=[]), "AWS.SimpleQueueService.EmptyBatchRequest",
                             "There should be at least one %s in the request." % entry, 400)
            # No entry parameter at all is the same empty batch to AWS
            # (https://github.com/aws/aws-sdk-php/issues/630).
            self.assertError(lambda: call(QueueUrl=url), "AWS.SimpleQueueService.EmptyBatchRequest",
                             "There should be at least one %s in the request." % entry, 400)
        self.assertEqual(self.bodies(url), ["stays"])

    def test_long_poll_returns_when_a_message_arrives(self):
        url = self.queue()
        result = {}

        poller = self.kyoka.client("sqs")

        def poll():
            t0 = time.time()
            result["msgs"] = poller.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
            result["took"] = time.time() - t0

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.5)
        # The parked poll does not block other requests.
        t0 = time.time()
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "0"})
        self.assertLess(time.time() - t0, 1.0)
        self.sqs.send_message(QueueUrl=url, MessageBody="wake")
        t.join(15)
        self.assertEqual([m["Body"] for m in result["msgs"]], ["wake"])
        self.assertLess(result["took"], 3.0)

    def test_long_poll_uses_queue_default_and_times_out(self):
        url = self.queue(ReceiveMessageWaitTimeSeconds=1)
        t0 = time.time()
        self.assertEqual(self.receive(url), [])
        self.assertGreaterEqual(time.time() - t0, 0.9)
        t0 = time.time()
        self.assertEqual(self.receive(url, WaitTimeSeconds=0), [])
        self.assertLess(time.time() - t0, 0.5)

    def test_long_poll_wakes_on_visibility_expiry_and_delay(self):
        url = self.queue()
        self.sqs.send_message(QueueUrl=url, MessageBody="inflight")
        self.assertEqual(len(self.receive(url)), 1)
        self.sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=300)
        got = []

        c = self.kyoka.client("sqs")

        def poll():
            msgs = c.receive_message(QueueUrl=url, WaitTimeSeconds=15, MaxNumberOfMessages=10).get("Messages", [])
            got.extend(m["Body"] for m in msgs)
            for m in msgs:
                c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

        t = threading.Thread(target=poll)
        t0 = time.time()
        t.start()
        time.sleep(0.5)
        self.kyoka.advance(31)
        t.join(20)
        self.assertEqual(got, ["inflight"])
        self.assertLess(time.time() - t0, 5)
        t = threading.Thread(target=poll)
        got.clear()
        t.start()
        time.sleep(0.5)
        self.kyoka.advance(300)
        t.join(20)
        self.assertEqual(got, ["delayed"])

    def test_many_parked_polls_and_disconnects(self):
        url = self.queue()
        results = []

        def poll(c):
            results.append(len(c.receive_message(QueueUrl=url, WaitTimeSeconds=8).get("Messages", [])))

        threads = [threading.Thread(target=poll, args=(self.kyoka.client("sqs", read_timeout=30),)) for _ in range(8)]
        for t in threads:
            t.start()
        # A client that gives up mid-poll (read timeout) must not break the others.
        quitter = self.kyoka.client("sqs", read_timeout=1)
        with self.assertRaises(Exception):
            quitter.receive_message(QueueUrl=url, WaitTimeSeconds=10)
        time.sleep(0.3)
        for i in range(8):
            self.sqs.send_message(QueueUrl=url, MessageBody=str(i))
        for t in threads:
            t.join(20)
        self.assertEqual(sum(results), 8)


class Fifo(SqsCase):
    def test_required_parameters(self):
        url = self.fifo()
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d"),
                         "MissingParameter", "The request must contain the parameter MessageGroupId.")
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g"),
                         "InvalidParameterValue", "The queue should either have ContentBasedDeduplication enabled or "
                                                  "MessageDeduplicationId provided explicitly")
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g",
                                                       MessageDeduplicationId="d", DelaySeconds=5),
                         "InvalidParameterValue", "Value 5 for parameter DelaySeconds is invalid. Reason: The request "
                                                  "include parameter that is not valid for this queue type.")
        self.assertError(lambda: self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g g",
                                                       MessageDeduplicationId="d"), "InvalidParameterValue",
                         "Value g g for parameter MessageGroupId is invalid. Reason: MessageGroupId can only include "
                         "alphanumeric and punctuation characters. 1 to 128 in length.")
        self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d",
                              DelaySeconds=0)
        self.assertError(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "1", "MessageBody": "a", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
            {"Id": "2", "MessageBody": "b", "MessageDeduplicationId": "2"}]), "InvalidParameterValue",
            "The request must contain the parameter MessageGroupId.")
        self.assertError(lambda: self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "1", "MessageBody": "a", "MessageGroupId": "g"}]), "InvalidParameterValue",
            "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided "
            "explicitly")
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "1"})

    def test_sequence_numbers_and_dedup(self):
        url = self.fifo()
        r1 = self.sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g", MessageDeduplicationId="d")
        r2 = self.sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="g", MessageDeduplicationId="d")
        r3 = self.sqs.send_message(QueueUrl=url, MessageBody="third", MessageGroupId="g", MessageDeduplicationId="e")
        self.assertEqual(len(r1["SequenceNumber"]), 20)
        self.assertEqual((r2["MessageId"], r2["SequenceNumber"]), (r1["MessageId"], r1["SequenceNumber"]))
        self.assertEqual(r2["MD5OfMessageBody"], md5("other"))
        self.assertLess(int(r1["SequenceNumber"]), int(r3["SequenceNumber"]))
        msgs = self.receive(url, MaxNumberOfMessages=10, AttributeNames=["All"])
        self.assertEqual([m["Body"] for m in msgs], ["first", "third"])
        a = msgs[0]["Attributes"]
        self.assertEqual((a["MessageGroupId"], a["MessageDeduplicationId"], a["SequenceNumber"]),
                         ("g", "d", r1["SequenceNumber"]))
        for m in msgs:
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        # Still a duplicate after the delete, until the 5-minute window ends.
        self.sqs.send_message(QueueUrl=url, MessageBody="again", MessageGroupId="g", MessageDeduplicationId="d")
        self.assertEqual(self.receive(url), [])
        self.kyoka.advance(301)
        r4 = self.sqs.send_message(QueueUrl=url, MessageBody="again", MessageGroupId="g", MessageDeduplicationId="d")
        self.assertNotEqual(r4["MessageId"], r1["MessageId"])
        self.assertEqual(self.bodies(url), ["again"])

    def test_content_based_dedup_and_scope(self):
        url = self.fifo(ContentBasedDeduplication="true")
        a = self.sqs.send_message(QueueUrl=url, MessageBody='{"foo": "bar"}', MessageGroupId="g1")
        b = self.sqs.send_message(QueueUrl=url, MessageBody='{"foo": "bar"}', MessageGroupId="g2")
        self.assertEqual(a["MessageId"], b["MessageId"])
        m = self.receive(url, AttributeNames=["MessageDeduplicationId"])[0]
        self.assertEqual(m["Attributes"]["MessageDeduplicationId"], hashlib.sha256(b'{"foo": "bar"}').hexdigest())
        scoped = self.fifo("scoped.fifo", ContentBasedDeduplication="true", DeduplicationScope="messageGroup")
        a = self.sqs.send_message(QueueUrl=scoped, MessageBody="same", MessageGroupId="g1")
        b = self.sqs.send_message(QueueUrl=scoped, MessageBody="same", MessageGroupId="g2")
        c = self.sqs.send_message(QueueUrl=scoped, MessageBody="same", MessageGroupId="g2")
        self.assertNotEqual(a["MessageId"], b["MessageId"])
        self.assertEqual(b["MessageId"], c["MessageId"])

    def test_group_ordering(self):
        url = self.fifo(ContentBasedDeduplication="true")
        for body, g in [("g1-m1", "1"), ("g2-m1", "2"), ("g1-m2", "1"), ("g1-m3", "1")]:
            self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=g)
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=10), ["g1-m1", "g1-m2", "g1-m3", "g2-m1"])

    def test_in_flight_group_blocks_until_delete_or_expiry(self):
        url = self.fifo(ContentBasedDeduplication="true", VisibilityTimeout=30)
        for body, g in [("g1-m1", "1"), ("g1-m2", "1"), ("g1-m3", "1"), ("g1-m4", "1"), ("g2-m1", "2"),
                        ("g3-m1", "3")]:
            self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=g)
        first = self.receive(url, MaxNumberOfMessages=2)
        self.assertEqual([m["Body"] for m in first], ["g1-m1", "g1-m2"])
        self.assertEqual(self.bodies(url), ["g2-m1"])
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "3"})
        # Deleting one of two in-flight messages keeps the group locked.
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=10), ["g3-m1"])
        # Terminating the visibility of the other makes the group visible again, in order.
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"],
                                           VisibilityTimeout=0)
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=10), ["g1-m2", "g1-m3", "g1-m4"])
        self.kyoka.advance(31)
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=10, VisibilityTimeout=0),
                         ["g2-m1", "g3-m1", "g1-m2", "g1-m3", "g1-m4"])

    def test_zero_visibility_receive_order(self):
        # The order AWS returns for this sequence (a recorded AWS test).
        url = self.fifo(ContentBasedDeduplication="true")
        for body, g in [("g1-m1", "1"), ("g2-m1", "2"), ("g2-m2", "2"), ("g3-m1", "3"), ("g1-m2", "1")]:
            self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=g)
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=3, VisibilityTimeout=0), ["g1-m1", "g1-m2", "g2-m1"])
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=10, VisibilityTimeout=0),
                         ["g3-m1", "g1-m1", "g1-m2", "g2-m1", "g2-m2"])

    def test_expired_receipt_handle_cannot_delete(self):
        url = self.fifo(ContentBasedDeduplication="true", VisibilityTimeout=10)
        self.sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g")
        rh = self.receive(url)[0]["ReceiptHandle"]
        self.kyoka.advance(11)
        self.assertError(lambda: self.sqs.delete_message(QueueUrl=url, ReceiptHandle=rh), "InvalidParameterValue",
                         "Value %s for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired." % rh)
        rh2 = self.receive(url)[0]["ReceiptHandle"]
        self.assertError(lambda: self.sqs.delete_message(QueueUrl=url, ReceiptHandle=rh), "InvalidParameterValue")
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=rh2)

    def test_receive_request_attempt_id_retries_a_lost_receive(self):
        # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
        url = self.fifo(ContentBasedDeduplication="true", VisibilityTimeout=30)
        for body, g in [("a1", "a"), ("a2", "a"), ("b1", "b")]:
            self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=g)

        def got(attempt, **kw):
            if attempt:
                kw["ReceiveRequestAttemptId"] = attempt
            return [(m["Body"], m["ReceiptHandle"], m["Attributes"]["ApproximateReceiveCount"])
                    for m in self.receive(url, AttributeNames=["ApproximateReceiveCount"], **kw)]

        first = got("try-1", MaxNumberOfMessages=2)
        self.assertEqual([b for b, _, _ in first], ["a1", "a2"])
        # The answer was lost: the same id gets the same messages and receipt
        # handles although they are in flight, and counts no new receive.
        self.assertEqual(got("try-1", MaxNumberOfMessages=2), first)
        self.assertEqual(got("try-1"), first)
        # Another id is another receive.
        [(body, rh, _)] = got("try-2", MaxNumberOfMessages=10)
        self.assertEqual(body, "b1")
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=rh)
        # A retry starts the visibility timeout over...
        self.kyoka.advance(20)
        self.assertEqual(got("try-1"), first)
        self.kyoka.advance(20)
        self.assertEqual(got(None, MaxNumberOfMessages=10), [])
        # ...and still answers after it ended, while nobody else received them.
        self.kyoka.advance(11)
        self.assertEqual(got("try-1"), first)
        self.assertEqual(got(None, MaxNumberOfMessages=10), [])
        # The handles it returned are the live ones.
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0][1])
        not_retryable = ("Value %s for parameter ReceiveRequestAttemptId is invalid. Reason: The "
                         "receiveRequestAttemptId is not valid anymore since the receive call is not retryable.")
        # A message of the receive was deleted: no more retries.
        self.assertError(lambda: got("try-1"), "InvalidParameterValue", not_retryable % "try-1", 400)
        # Nor after its visibility was changed...
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[1][1], VisibilityTimeout=0)
        [(body, rh, count)] = got("try-3")
        self.assertEqual((body, count), ("a2", "2"))
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=rh, VisibilityTimeout=60)
        self.assertError(lambda: got("try-3"), "InvalidParameterValue", not_retryable % "try-3")
        # ...or once someone else received it after its visibility timeout.
        self.kyoka.advance(61)
        self.assertEqual([(b, c) for b, _, c in got("try-4", VisibilityTimeout=10)], [("a2", "3")])
        self.kyoka.advance(11)
        self.assertEqual([(b, c) for b, _, c in got(None)], [("a2", "4")])
        self.assertError(lambda: got("try-4"), "InvalidParameterValue", not_retryable % "try-4")
        # Five minutes after the receive the id is forgotten: a new receive.
        self.kyoka.advance(301)
        [(body, rh, count)] = got("try-4")
        self.assertEqual((body, count), ("a2", "5"))
        self.assertEqual(got("try-4"), [(body, rh, count)])
        # An empty answer is not remembered: the retry receives afresh.
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=rh)
        self.assertEqual(got("empty"), [])
        self.sqs.send_message(QueueUrl=url, MessageBody="late", MessageGroupId="a")
        self.assertEqual([b for b, _, _ in got("empty")], ["late"])
        # The id's own rules.
        for bad in ["has space", "x" * 129, "caf\u00e9"]:
            self.assertError(lambda: got(bad), "InvalidParameterValue",
                             "Value %s for parameter ReceiveRequestAttemptId is invalid. Reason: "
                             "ReceiveRequestAttemptId can only include alphanumeric and punctuation characters. 1 to "
                             "128 in length." % bad)

    def test_receive_request_attempt_id_with_long_polling_and_on_standard_queues(self):
        url = self.fifo(ContentBasedDeduplication="true")
        result = {}
        poller = self.kyoka.client("sqs")

        def poll():
            result["msgs"] = poller.receive_message(QueueUrl=url, WaitTimeSeconds=10,
                                                    ReceiveRequestAttemptId="lp")["Messages"]

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.3)
        self.sqs.send_message(QueueUrl=url, MessageBody="woke", MessageGroupId="g")
        t.join(15)
        # The receive a long poll made when the message came is remembered too.
        again = self.receive(url, ReceiveRequestAttemptId="lp", WaitTimeSeconds=10)
        self.assertEqual([(m["Body"], m["ReceiptHandle"]) for m in again],
                         [(m["Body"], m["ReceiptHandle"]) for m in result["msgs"]])
        # Standard queues accept the parameter and ignore it.
        std = self.queue("std")
        self.sqs.send_message(QueueUrl=std, MessageBody="one")
        self.sqs.send_message(QueueUrl=std, MessageBody="two")
        self.assertEqual(self.bodies(std, ReceiveRequestAttemptId="same"), ["one"])
        self.assertEqual(self.bodies(std, ReceiveRequestAttemptId="same"), ["two"])

    def test_queue_delay_applies(self):
        url = self.fifo(ContentBasedDeduplication="true", DelaySeconds=5)
        for i in range(3):
            self.sqs.send_message(QueueUrl=url, MessageBody="m%d" % i, MessageGroupId="g")
        self.assertEqual(self.receive(url), [])
        self.kyoka.advance(5)
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=3), ["m0", "m1", "m2"])

    def test_concurrent_consumers_keep_group_order(self):
        url = self.fifo(ContentBasedDeduplication="true", VisibilityTimeout=60)
        groups, per_group = 6, 20
        for i in range(per_group):
            self.sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": "g%d" % g, "MessageBody": "%d:%d" % (g, i), "MessageGroupId": str(g)} for g in range(groups)])
        seen = {g: [] for g in range(groups)}
        lock = threading.Lock()
        errors = []

        def consume(c):
            try:
                idle = 0
                while idle < 3:
                    msgs = c.receive_message(QueueUrl=url, MaxNumberOfMessages=3, WaitTimeSeconds=1).get(
                        "Messages", [])
                    if not msgs:
                        idle += 1
                        continue
                    idle = 0
                    with lock:
                        for m in msgs:
                            g, i = map(int, m["Body"].split(":"))
                            seen[g].append(i)
                    for m in msgs:
                        c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        # boto3 clients are made on this thread: creating them is not thread-safe.
        threads = [threading.Thread(target=consume, args=(self.kyoka.client("sqs"),)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        for g in range(groups):
            self.assertEqual(seen[g], list(range(per_group)), "group %d out of order" % g)


class DeadLetters(SqsCase):
    def redrive(self, dlq_url, count):
        return json.dumps({"deadLetterTargetArn": self.arn(dlq_url), "maxReceiveCount": count})

    def test_redrive_policy_validation(self):
        dlq = self.queue("dlq")
        src = self.queue("src")

        def bad(policy, message):
            self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": policy}),
                             "InvalidParameterValue", message)

        p = json.dumps({"deadLetterTargetArn": "dummy", "maxReceiveCount": 42})
        bad(p, "Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for deadLetterTargetArn." % p)
        p = json.dumps({"maxReceiveCount": 5})
        bad(p, "Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory "
               "attribute: deadLetterTargetArn." % p)
        p = json.dumps({"deadLetterTargetArn": self.arn(dlq)})
        bad(p, "Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy does not contain mandatory "
               "attribute: maxReceiveCount." % p)
        p = json.dumps({"deadLetterTargetArn": self.arn(dlq), "maxReceiveCount": 1001})
        bad(p, "Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: 1001, "
               "valid values are from 1 to 1000 both inclusive." % p)
        p = json.dumps({"deadLetterTargetArn": "arn:aws:sqs:us-east-1:%s:missing" % ACCOUNT, "maxReceiveCount": 1})
        bad(p, "Value %s for parameter RedrivePolicy is invalid. Reason: Dead letter target does not exist." % p)
        fdlq = self.fifo("fdlq.fifo")
        p = json.dumps({"deadLetterTargetArn": self.arn(fdlq), "maxReceiveCount": 1})
        bad(p, "Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue "
               "as the source.." % p)
        bad("not json", "Invalid value for the parameter RedrivePolicy. Reason: Redrive policy is not a valid JSON map.")
        self.sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": json.dumps({
            "deadLetterTargetArn": self.arn(dlq), "maxReceiveCount": "7"})})
        self.assertEqual(json.loads(self.attrs(src, "RedrivePolicy")["RedrivePolicy"]),
                         {"deadLetterTargetArn": self.arn(dlq), "maxReceiveCount": 7})
        self.sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": ""})
        self.assertEqual(self.attrs(src, "RedrivePolicy"), {})

    def test_redrive_allow_policy(self):
        dlq = self.queue("dlq", RedriveAllowPolicy=json.dumps({"redrivePermission": "denyAll"}))
        src = self.queue("src")
        refused = ("Value %s for parameter RedrivePolicy is invalid. Reason: The dead-letter queue's "
                   "RedriveAllowPolicy does not allow %s to use it as a dead-letter queue."
                   % (self.redrive(dlq, 3), self.arn(src)))
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=src, Attributes={
            "RedrivePolicy": self.redrive(dlq, 3)}), "InvalidParameterValue", refused, 400)
        allowed = self.queue("allowed")
        self.sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps({
            "redrivePermission": "byQueue", "sourceQueueArns": [self.arn(allowed)]})})
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=src, Attributes={
            "RedrivePolicy": self.redrive(dlq, 3)}), "InvalidParameterValue", refused)
        # The same rule when the source is created with its RedrivePolicy.
        self.assertError(lambda: self.queue("src2", RedrivePolicy=self.redrive(dlq, 3)), "InvalidParameterValue")
        self.assertNotIn("src2", json.dumps(self.sqs.list_queues()))
        self.sqs.set_queue_attributes(QueueUrl=allowed, Attributes={"RedrivePolicy": self.redrive(dlq, 3)})
        p = json.dumps({"redrivePermission": "byQueue"})
        self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": p}),
                         "InvalidParameterValue",
                         "Value %s for parameter RedriveAllowPolicy is invalid. Reason: Amazon SQS can't create the "
                         "redrive allow policy. When you specify the byQueue permission type, you must also specify one "
                         "or more sourceQueueArns values." % p)

    def test_messages_move_to_dlq_after_max_receives(self):
        dlq = self.queue("dlq")
        src = self.queue("src", VisibilityTimeout=0)
        self.sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": self.redrive(dlq, 2)})
        sent = self.sqs.send_message(QueueUrl=src, MessageBody="poison", MessageAttributes={
            "k": {"DataType": "String", "StringValue": "v"}})
        self.assertEqual(len(self.receive(src)), 1)
        self.assertEqual(len(self.receive(src)), 1)
        self.assertEqual(self.receive(src), [])
        m = self.receive(dlq, AttributeNames=["All"], MessageAttributeNames=["All"])[0]
        self.assertEqual((m["MessageId"], m["Body"]), (sent["MessageId"], "poison"))
        self.assertEqual(m["MessageAttributes"], {"k": {"DataType": "String", "StringValue": "v"}})
        self.assertEqual(m["Attributes"]["DeadLetterQueueSourceArn"], self.arn(src))
        self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], "1")
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"], [src])
        # An empty list has no elements in the query protocol's XML.
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=src).get("queueUrls", []), [])

    def test_fifo_dlq(self):
        dlq = self.fifo("dlq.fifo", ContentBasedDeduplication="true")
        src = self.fifo("src.fifo", ContentBasedDeduplication="true", VisibilityTimeout=0)
        self.sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": self.redrive(dlq, 1)})
        self.sqs.send_message(QueueUrl=src, MessageBody="a", MessageGroupId="g")
        self.sqs.send_message(QueueUrl=src, MessageBody="b", MessageGroupId="g")
        self.assertEqual(self.bodies(src), ["a"])
        self.assertEqual(self.bodies(src), ["b"])
        self.assertEqual(self.bodies(dlq, MaxNumberOfMessages=10, AttributeNames=["MessageGroupId"]), ["a"])

    def test_move_task_back_to_source(self):
        dlq = self.queue("dlq")
        src = self.queue("src", VisibilityTimeout=0)
        self.sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": self.redrive(dlq, 1)})
        for i in range(25):
            self.sqs.send_message(QueueUrl=src, MessageBody="m%d" % i)
        for _ in range(5):
            self.receive(src, MaxNumberOfMessages=10)
        while self.receive(src, MaxNumberOfMessages=10):
            pass
        self.assertEqual(self.attrs(dlq, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "25"})
        self.assertError(lambda: self.sqs.start_message_move_task(SourceArn=self.arn(src)), "InvalidParameterValue",
                         "Source queue must be configured as a Dead Letter Queue.")
        self.assertError(lambda: self.sqs.start_message_move_task(SourceArn="arn:aws:sqs:us-east-1:%s:nope" % ACCOUNT),
                         "ResourceNotFoundException",
                         "The resource that you specified for the SourceArn parameter doesn't exist.", 404)
        self.assertError(lambda: self.sqs.start_message_move_task(SourceArn="not-an-arn"), "InvalidParameterValue",
                         "You must use this format to specify the SourceArn: "
                         "arn:<partition>:<service>:<region>:<account-id>:<resource-id>")
        handle = self.sqs.start_message_move_task(SourceArn=self.arn(dlq))["TaskHandle"]
        deadline = time.time() + 10
        while time.time() < deadline:
            tasks = self.sqs.list_message_move_tasks(SourceArn=self.arn(dlq))["Results"]
            if tasks[0]["Status"] != "RUNNING":
                break
            time.sleep(0.05)
        t = tasks[0]
        self.assertEqual((t["Status"], t["ApproximateNumberOfMessagesMoved"], t["ApproximateNumberOfMessagesToMove"],
                          t["SourceArn"]), ("COMPLETED", 25, 25, self.arn(dlq)))
        self.assertNotIn("TaskHandle", t)
        self.assertEqual(self.attrs(dlq, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "0"})
        self.assertEqual(self.attrs(src, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "25"})
        self.assertError(lambda: self.sqs.cancel_message_move_task(TaskHandle="bogus"), "InvalidParameterValue",
                         "Value for parameter TaskHandle is invalid.")
        self.assertError(lambda: self.sqs.cancel_message_move_task(TaskHandle=handle), "InvalidParameterValue",
                         "Value %s for parameter TaskHandle is invalid. Reason: Only a task in the RUNNING state can "
                         "be cancelled." % handle)

    def test_move_task_with_destination_rate_and_cancel(self):
        dlq = self.queue("dlq")
        src = self.queue("src", VisibilityTimeout=0)
        dest = self.queue("dest")
        self.sqs.set_queue_attributes(QueueUrl=src, Attributes={"RedrivePolicy": self.redrive(dlq, 1)})
        for i in range(10):
            self.sqs.send_message(QueueUrl=dlq, MessageBody="m%d" % i)
        self.assertError(lambda: self.sqs.start_message_move_task(
            SourceArn=self.arn(dlq), DestinationArn="arn:aws:sqs:us-east-1:%s:nope" % ACCOUNT),
            "ResourceNotFoundException", "The resource that you specified for the DestinationArn parameter doesn't "
                                         "exist.")
        handle = self.sqs.start_message_move_task(SourceArn=self.arn(dlq), DestinationArn=self.arn(dest),
                                                  MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
        self.assertError(lambda: self.sqs.start_message_move_task(SourceArn=self.arn(dlq)), "InvalidParameterValue",
                         "There is already a task running. Only one active task is allowed for a source queue arn at a "
                         "given time.")
        self.kyoka.advance(2)
        time.sleep(0.3)
        t = self.sqs.list_message_move_tasks(SourceArn=self.arn(dlq), MaxResults=10)["Results"][0]
        self.assertEqual((t["Status"], t["TaskHandle"], t["MaxNumberOfMessagesPerSecond"]), ("RUNNING", handle, 1))
        moved = self.sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
        self.assertEqual(moved, 3)
        t = self.sqs.list_message_move_tasks(SourceArn=self.arn(dlq))["Results"][0]
        self.assertEqual((t["Status"], t["ApproximateNumberOfMessagesMoved"]), ("CANCELLED", 3))
        self.assertEqual(self.attrs(dest, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "3"})
        self.assertEqual(self.attrs(dlq, "ApproximateNumberOfMessages"), {"ApproximateNumberOfMessages": "7"})


class Policies(SqsCase):
    def test_add_and_remove_permission(self):
        url = self.queue("shared")
        arn = self.arn(url)
        self.sqs.add_permission(QueueUrl=url, Label="crossaccountpermission", AWSAccountIds=[ACCOUNT, "668614515564"],
                                Actions=["ReceiveMessage"])
        policy = json.loads(self.attrs(url, "Policy")["Policy"])
        self.assertEqual(policy, {
            "Version": "2008-10-17", "Id": arn + "/SQSDefaultPolicy",
            "Statement": [{"Sid": "crossaccountpermission", "Effect": "Allow",
                           "Principal": {"AWS": ["arn:aws:iam::%s:root" % ACCOUNT, "arn:aws:iam::668614515564:root"]},
                           "Action": "SQS:ReceiveMessage", "Resource": arn}]})
        self.assertError(lambda: self.sqs.add_permission(QueueUrl=url, Label="crossaccountpermission",
                                                         AWSAccountIds=[ACCOUNT], Actions=["SendMessage"]),
                         "InvalidParameterValue",
                         "Value crossaccountpermission for parameter Label is invalid. Reason: Already exists.")
        self.assertError(lambda: self.sqs.add_permission(QueueUrl=url, Label="x", AWSAccountIds=[ACCOUNT],
                                                         Actions=["CreateQueue"]), "InvalidParameterValue",
                         "Value SQS:CreateQueue for parameter ActionName is invalid. Reason: Please refer to the "
                         "appropriate WSDL for a list of valid actions. ")
        self.assertError(lambda: self.sqs.add_permission(QueueUrl=url, Label="x", AWSAccountIds=[ACCOUNT],
                                                         Actions=["SendMessage"] * 8), "OverLimit",
                         "8 Actions were found, maximum allowed is 7.", 403)
        self.sqs.add_permission(QueueUrl=url, Label="second", AWSAccountIds=[ACCOUNT],
                                Actions=["SendMessage", "DeleteMessage"])
        self.sqs.remove_permission(QueueUrl=url, Label="crossaccountpermission")
        policy = json.loads(self.attrs(url, "Policy")["Policy"])
        self.assertEqual([s["Sid"] for s in policy["Statement"]], ["second"])
        self.assertEqual(policy["Statement"][0]["Action"], ["SQS:SendMessage", "SQS:DeleteMessage"])
        self.sqs.remove_permission(QueueUrl=url, Label="second")
        self.assertEqual(self.attrs(url, "Policy"), {})
        self.assertError(lambda: self.sqs.remove_permission(QueueUrl=url, Label="second"), "InvalidParameterValue",
                         "Value second for parameter Label is invalid. Reason: can't find label.")

    def test_policy_attribute(self):
        url = self.queue("pol")
        arn = self.arn(url)
        doc = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sqs:SendMessage", "Resource": arn}]})
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": doc})
        self.assertEqual(json.loads(self.attrs(url, "Policy")["Policy"]), json.loads(doc))
        for bad in ["{", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                                             "Action": "sqs:*", "Resource": arn}]})]:
            self.assertError(lambda: self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": bad}),
                             "InvalidAttributeValue", "Invalid value for the parameter Policy.")
        self.assertEqual(json.loads(self.attrs(url, "Policy")["Policy"]), json.loads(doc))
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
        self.assertEqual(self.attrs(url, "Policy"), {})

    def test_queue_policy_grants_and_denies_an_iam_user(self):
        iam = self.kyoka.client("iam")
        alice = self.user_client(iam, "alice")
        url = self.queue("guarded")
        arn = self.arn(url)
        user_arn = "arn:aws:iam::%s:user/alice" % ACCOUNT
        err = self.assertError(lambda: alice.send_message(QueueUrl=url, MessageBody="hi"), "AccessDenied", status=403)
        self.assertIn("sqs:SendMessage", err.response["Error"]["Message"])
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": ["sqs:SendMessage",
                                                                               "sqs:ReceiveMessage"],
                 "Resource": arn}]})})
        alice.send_message(QueueUrl=url, MessageBody="hi")
        # Batches authorize as the single-message action.
        alice.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "batch"}])
        m = alice.receive_message(QueueUrl=url, AttributeNames=["SenderId"])["Messages"][0]
        self.assertEqual(m["Attributes"]["SenderId"], iam.get_user(UserName="alice")["User"]["UserId"])
        self.assertError(lambda: alice.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"]),
                         "AccessDenied")
        self.assertError(lambda: alice.list_queues(), "AccessDenied")
        # An explicit deny in the queue policy wins over the identity's allow.
        iam.put_user_policy(UserName="alice", PolicyName="all-sqs", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
        alice.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        self.sqs.add_permission(QueueUrl=url, Label="unused", AWSAccountIds=[ACCOUNT], Actions=["GetQueueUrl"])
        pol = json.loads(self.attrs(url, "Policy")["Policy"])
        pol["Statement"].append({"Effect": "Deny", "Principal": {"AWS": user_arn}, "Action": "sqs:PurgeQueue",
                                 "Resource": arn})
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(pol)})
        self.assertError(lambda: alice.purge_queue(QueueUrl=url), "AccessDenied")
        alice.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])

    def test_identity_deny_beats_queue_policy_allow(self):
        # An explicit deny anywhere wins: here in the identity's policy,
        # against the queue policy's allow.
        iam = self.kyoka.client("iam")
        bob = self.user_client(iam, "bob")
        url = self.queue("open")
        arn = self.arn(url)
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*",
                                                    "Resource": arn}]})})
        bob.send_message(QueueUrl=url, MessageBody="allowed by the queue policy")
        iam.put_user_policy(UserName="bob", PolicyName="no-send", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": "*"}]}))
        self.assertError(lambda: bob.send_message(QueueUrl=url, MessageBody="x"), "AccessDenied",
                         "User: arn:aws:iam::%s:user/bob is not authorized to perform: sqs:SendMessage on resource: "
                         "%s with an explicit deny in an identity-based policy" % (ACCOUNT, arn), 403)
        self.assertError(lambda: bob.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}]),
                         "AccessDenied")
        self.assertEqual(self.bodies(url, MaxNumberOfMessages=10), ["allowed by the queue policy"])

    def test_every_operation_is_authorized_with_its_action_and_queue_arn(self):
        nobody = self.user_client(self.kyoka.client("iam"), "nobody")
        dlq = self.queue("dlq")
        url = self.queue("src")
        arn, dlq_arn = self.arn(url), self.arn(dlq)
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps({
            "deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})
        handle = self.sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
        self.sqs.send_message(QueueUrl=url, MessageBody="m")
        rh = self.receive(url)[0]["ReceiptHandle"]
        other = "arn:aws:sqs:%s:%s:new" % (REGION, ACCOUNT)
        calls = [
            ("AddPermission", arn, lambda: nobody.add_permission(QueueUrl=url, Label="l", AWSAccountIds=[ACCOUNT],
                                                                  Actions=["SendMessage"])),
            ("CancelMessageMoveTask", dlq_arn, lambda: nobody.cancel_message_move_task(TaskHandle=handle)),
            ("ChangeMessageVisibility", arn, lambda: nobody.change_message_visibility(
                QueueUrl=url, ReceiptHandle=rh, VisibilityTimeout=0)),
            ("ChangeMessageVisibility", arn, lambda: nobody.change_message_visibility_batch(
                QueueUrl=url, Entries=[{"Id": "1", "ReceiptHandle": rh, "VisibilityTimeout": 0}])),
            ("CreateQueue", other, lambda: nobody.create_queue(QueueName="new")),
            ("DeleteMessage", arn, lambda: nobody.delete_message(QueueUrl=url, ReceiptHandle=rh)),
            ("DeleteMessage", arn, lambda: nobody.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": "1", "ReceiptHandle": rh}])),
            ("DeleteQueue", arn, lambda: nobody.delete_queue(QueueUrl=url)),
            ("GetQueueAttributes", arn, lambda: nobody.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])),
            ("GetQueueUrl", arn, lambda: nobody.get_queue_url(QueueName="src")),
            ("ListDeadLetterSourceQueues", dlq_arn, lambda: nobody.list_dead_letter_source_queues(QueueUrl=dlq)),
            ("ListMessageMoveTasks", dlq_arn, lambda: nobody.list_message_move_tasks(SourceArn=dlq_arn)),
            ("ListQueueTags", arn, lambda: nobody.list_queue_tags(QueueUrl=url)),
            ("ListQueues", "*", lambda: nobody.list_queues()),
            ("PurgeQueue", arn, lambda: nobody.purge_queue(QueueUrl=url)),
            ("ReceiveMessage", arn, lambda: nobody.receive_message(QueueUrl=url)),
            ("RemovePermission", arn, lambda: nobody.remove_permission(QueueUrl=url, Label="l")),
            ("SendMessage", arn, lambda: nobody.send_message(QueueUrl=url, MessageBody="x")),
            ("SendMessage", arn, lambda: nobody.send_message_batch(QueueUrl=url, Entries=[
                {"Id": "1", "MessageBody": "x"}])),
            ("SetQueueAttributes", arn, lambda: nobody.set_queue_attributes(QueueUrl=url,
                                                                            Attributes={"DelaySeconds": "1"})),
            ("StartMessageMoveTask", dlq_arn, lambda: nobody.start_message_move_task(SourceArn=dlq_arn)),
            ("TagQueue", arn, lambda: nobody.tag_queue(QueueUrl=url, Tags={"k": "v"})),
            ("UntagQueue", arn, lambda: nobody.untag_queue(QueueUrl=url, TagKeys=["k"])),
        ]
        self.assertEqual(len(calls), 23)  # every operation of the model
        for action, resource, call in calls:
            with self.subTest(action=action):
                self.assertError(call, "AccessDenied",
                                 "User: arn:aws:iam::%s:user/nobody is not authorized to perform: sqs:%s on resource: "
                                 "%s because no identity-based policy allows the sqs:%s action"
                                 % (ACCOUNT, action, resource, action), 403)
        # None of them changed anything.
        self.assertEqual(self.attrs(url, "ApproximateNumberOfMessagesNotVisible", "DelaySeconds"),
                         {"ApproximateNumberOfMessagesNotVisible": "1", "DelaySeconds": "0"})
        self.assertEqual(len(self.sqs.list_queues()["QueueUrls"]), 2)


if __name__ == "__main__":
    main()
