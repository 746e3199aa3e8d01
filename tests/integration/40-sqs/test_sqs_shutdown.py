"""Graceful shutdown with parked long polls: SIGTERM answers a waiting
ReceiveMessage at once (with no messages) and the server exits 0, instead
of holding shutdown for the rest of the 20-second wait."""
import threading
import time
import unittest

from harness import KyokaServer, main


class ShutdownWithLongPoll(unittest.TestCase):
    def test_sigterm_answers_parked_receive(self):
        kyoka = KyokaServer(ephemeral=True).start()
        try:
            sqs = kyoka.client("sqs")
            url = sqs.create_queue(QueueName="waiting")["QueueUrl"]
            result = {}

            def poll():
                result["out"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)
                result["at"] = time.monotonic()

            t = threading.Thread(target=poll)
            t.start()
            time.sleep(0.5)  # let the receive park
            stopped_at = time.monotonic()
            rc = kyoka.stop()
            t.join(10)
            self.assertFalse(t.is_alive(), "the long poll was not answered on shutdown")
            self.assertEqual(rc, 0, kyoka.read_log())
            self.assertNotIn("Messages", result["out"])
            self.assertLess(result["at"] - stopped_at, 5)
        finally:
            kyoka.cleanup()


if __name__ == "__main__":
    main()
