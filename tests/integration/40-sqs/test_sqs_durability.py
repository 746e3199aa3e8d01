"""SQS durability: kyoka acknowledges a change only once it is on disk, so a
kill -9 at any moment loses no acknowledged message and resurrects no
acknowledged delete; after a restart in-flight messages come back when
their visibility timeout ends, delayed ones when their delay does, and
queues keep their attributes, FIFO deduplication and dead-letter state.
"""
import json
import threading
import time
import unittest

import botocore.config
import botocore.exceptions

from harness import KyokaServer, main


def drain(sqs, url, vt=300):
    """Receive until the queue is empty; returns the messages received."""
    out = []
    empty = 0
    while empty < 2:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=vt,
                                   AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        if not msgs:
            empty += 1
            continue
        empty = 0
        out += msgs
    return out


class Durability(unittest.TestCase):
    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            if s.proc and s.proc.poll() is None:
                s.stop()
        if self.servers:
            self.servers[0].own_dir = True
            self.servers[0].cleanup()

    def start(self, data_dir=None):
        s = KyokaServer(ephemeral=False, data_dir=data_dir).start()
        self.servers.append(s)
        return s

    def restart(self, old):
        old.kill9()
        return self.start(data_dir=old.data_dir)

    def client(self, server, **cfg):
        cfg.setdefault("connect_timeout", 2)
        cfg.setdefault("read_timeout", 5)
        return server.client("sqs", **cfg)

    def test_kill9_under_send_load_loses_no_acknowledged_message(self):
        server = self.start()
        sqs = self.client(server)
        url = sqs.create_queue(QueueName="load")["QueueUrl"]
        acked, lock, stop = [], threading.Lock(), threading.Event()
        clients = [self.client(server) for _ in range(6)]

        def sender(n, c):
            i = 0
            while not stop.is_set():
                body = "t%d-%d" % (n, i)
                try:
                    if i % 3 == 0:
                        r = c.send_message_batch(QueueUrl=url, Entries=[
                            {"Id": "e%d" % k, "MessageBody": "%s-b%d" % (body, k)} for k in range(5)])
                        ok = [e for e in r["Successful"]]
                        with lock:
                            acked.extend("%s-b%s" % (body, e["Id"][1:]) for e in ok)
                    else:
                        c.send_message(QueueUrl=url, MessageBody=body)
                        with lock:
                            acked.append(body)
                except Exception:  # noqa: BLE001 - the server was killed mid-request
                    return
                i += 1

        threads = [threading.Thread(target=sender, args=(n, c)) for n, c in enumerate(clients)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        server.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        self.assertGreater(len(acked), 100, "the load generator did not get going")
        server = self.start(data_dir=server.data_dir)
        got = [m["Body"] for m in drain(self.client(server), url)]
        counts = {}
        for b in got:
            counts[b] = counts.get(b, 0) + 1
        missing = [b for b in acked if b not in counts]
        self.assertEqual(missing, [], "%d acknowledged messages lost (of %d)" % (len(missing), len(acked)))
        dups = [b for b, n in counts.items() if n > 1]
        self.assertEqual(dups, [])

    def test_kill9_under_delete_load_resurrects_no_deleted_message(self):
        server = self.start()
        sqs = self.client(server)
        url = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
        for i in range(60):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(k), "MessageBody": "m%d-%d" % (i, k)}
                                                          for k in range(10)])
        deleted, lock, stop = set(), threading.Lock(), threading.Event()

        def worker(c):
            while not stop.is_set():
                try:
                    msgs = c.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                    if not msgs:
                        return
                    r = c.delete_message_batch(QueueUrl=url, Entries=[
                        {"Id": str(k), "ReceiptHandle": m["ReceiptHandle"]} for k, m in enumerate(msgs)])
                    with lock:
                        for e in r["Successful"]:
                            deleted.add(msgs[int(e["Id"])]["Body"])
                except Exception:  # noqa: BLE001 - the server was killed mid-request
                    return

        threads = [threading.Thread(target=worker, args=(self.client(server),)) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.4)
        server.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        server = self.start(data_dir=server.data_dir)
        sqs = self.client(server)
        self.assertEqual(server.advance(31)[0], 200)  # every in-flight message is visible again
        got = [m["Body"] for m in drain(sqs, url)]
        self.assertEqual(sorted(set(got) & deleted), [], "deleted messages came back")
        self.assertEqual(len(got), len(set(got)))
        # A delete the server made durable but could not acknowledge before
        # the kill may be gone too: at most one batch per worker.
        self.assertLessEqual(len(got) + len(deleted), 600)
        self.assertGreaterEqual(len(got) + len(deleted), 600 - 4 * 10)

    def test_restart_keeps_visibility_delays_and_queue_state(self):
        server = self.start()
        sqs = self.client(server)
        dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        url = sqs.create_queue(QueueName="state", Attributes={
            "VisibilityTimeout": "60", "MessageRetentionPeriod": "3600",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})},
            tags={"team": "core"})["QueueUrl"]
        fifo = sqs.create_queue(QueueName="state.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        for i in range(10):
            sqs.send_message(QueueUrl=url, MessageBody="m%d" % i, MessageAttributes={
                "i": {"DataType": "Number", "StringValue": str(i)}})
        sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=120)
        first = sqs.send_message(QueueUrl=fifo, MessageBody="f1", MessageGroupId="g", MessageDeduplicationId="d1")
        inflight = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=6)["Messages"]
        for m in inflight[:3]:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        deleted = {m["Body"] for m in inflight[:3]}
        still = {m["Body"] for m in inflight[3:]}

        server = self.restart(server)
        sqs = self.client(server)
        a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual((a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"],
                          a["ApproximateNumberOfMessagesDelayed"]), ("4", "3", "1"))
        self.assertEqual((a["VisibilityTimeout"], a["MessageRetentionPeriod"]), ("60", "3600"))
        self.assertEqual(json.loads(a["RedrivePolicy"])["maxReceiveCount"], 2)
        self.assertEqual(sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "core"})
        # A duplicate within the 5-minute window is still a duplicate.
        dup = sqs.send_message(QueueUrl=fifo, MessageBody="f1 again", MessageGroupId="g", MessageDeduplicationId="d1")
        self.assertEqual((dup["MessageId"], dup["SequenceNumber"]), (first["MessageId"], first["SequenceNumber"]))
        later = sqs.send_message(QueueUrl=fifo, MessageBody="f2", MessageGroupId="g", MessageDeduplicationId="d2")
        self.assertGreater(int(later["SequenceNumber"]), int(first["SequenceNumber"]))

        visible = drain(sqs, url)
        self.assertEqual(sorted(m["Body"] for m in visible), sorted({"m%d" % i for i in range(10)} - deleted - still))
        for m in visible:
            self.assertEqual(m["MessageAttributes"]["i"]["StringValue"], m["Body"][1:])
        # In-flight messages come back when the visibility timeout they had ends.
        self.assertEqual(server.advance(61)[0], 200)
        back = drain(sqs, url)
        self.assertEqual(sorted(m["Body"] for m in back), sorted(still))
        self.assertTrue(all(m["Attributes"]["ApproximateReceiveCount"] == "2" for m in back))
        # The delayed message stays delayed until its delay ends.
        self.assertEqual(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])[
            "Attributes"]["ApproximateNumberOfMessagesDelayed"], "1")
        self.assertEqual(server.advance(301)[0], 200)
        # Received twice already (maxReceiveCount 2): the next receive moves them to the DLQ.
        self.assertEqual(sorted(m["Body"] for m in drain(sqs, url)),
                         sorted({m["Body"] for m in visible} | {"delayed"}))
        dead = drain(sqs, dlq)
        self.assertEqual(sorted(m["Body"] for m in dead), sorted(still))
        self.assertEqual(deleted & {m["Body"] for m in dead}, set())

    def test_receive_attempt_ids_do_not_survive_a_restart(self):
        server = self.start()
        sqs = self.client(server)
        url = sqs.create_queue(QueueName="attempts.fifo", Attributes={
            "FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "30"})["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g")
        first = sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a")["Messages"][0]
        again = sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a")["Messages"][0]
        self.assertEqual(again["ReceiptHandle"], first["ReceiptHandle"])
        server = self.restart(server)
        sqs = self.client(server)
        # Receive attempts are kept in memory only: after the restart a retry
        # is a new receive, and the message stays in flight until its
        # visibility timeout ends, as for a client without an attempt id.
        self.assertNotIn("Messages", sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a"))
        self.assertEqual(server.advance(31)[0], 200)
        m = sqs.receive_message(QueueUrl=url, ReceiveRequestAttemptId="a",
                                AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        self.assertEqual((m["Body"], m["Attributes"]["ApproximateReceiveCount"]), ("m", "2"))
        self.assertNotEqual(m["ReceiptHandle"], first["ReceiptHandle"])

    def test_restart_answers_parked_long_polls_and_keeps_receiving(self):
        server = self.start()
        sqs = self.client(server, read_timeout=30)
        url = sqs.create_queue(QueueName="poll")["QueueUrl"]
        errors = []

        def poll():
            try:
                sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
            except Exception as e:  # noqa: BLE001 - expected: the server goes away
                errors.append(e)

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.3)
        server = self.restart(server)
        t.join(30)
        self.assertEqual(len(errors), 1)
        sqs = self.client(server)
        sqs.send_message(QueueUrl=url, MessageBody="after")
        self.assertEqual(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]["Body"], "after")


if __name__ == "__main__":
    main()
