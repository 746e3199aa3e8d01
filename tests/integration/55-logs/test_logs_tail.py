"""`kyoka logs tail` and the AWS CLI's own `aws logs tail` against kyoka.

kyoka logs tail NAME prints "TIMESTAMP STREAM MESSAGE" lines like aws logs
tail (no colours when piped), resolves a function name to /aws/lambda/NAME,
honours --since and --filter-pattern, and with --follow prints each new
event once and exits 0 on SIGINT.
"""
import os
import re
import signal
import subprocess
import time
import unittest

from harness import KYOKA_BIN, KyokaTestCase, main

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 (\S+) (.*)$")
AWS_V2 = "/usr/bin/aws"  # Debian's awscli is v2, which has `logs tail`


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03d000+00:00" % (ms % 1000)


class TailCase(KyokaTestCase):
    def setUp(self):
        super().setUp()
        self.logs = self.kyoka.client("logs")
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                        AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                        AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")
        self.env.pop("AWS_SESSION_TOKEN", None)
        self.env.pop("NO_COLOR", None)

    def group(self, name, streams=("s1",)):
        self.logs.create_log_group(logGroupName=name)
        for s in streams:
            self.logs.create_log_stream(logGroupName=name, logStreamName=s)

    def put(self, group, stream, msgs, ts=None):
        now = int(time.time() * 1000) if ts is None else ts
        self.logs.put_log_events(logGroupName=group, logStreamName=stream,
                                 logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(msgs)])
        return now

    def tail(self, *args):
        return subprocess.run([KYOKA_BIN, "logs", "tail"] + list(args) + ["--endpoint", self.kyoka.endpoint],
                              env=self.env, capture_output=True, text=True, timeout=60)


class TestKyokaLogsTail(TailCase):
    def test_function_name_and_plain_output(self):
        self.group("/aws/lambda/fn", ["2024/01/01/[$LATEST]abc", "other"])
        t0 = self.put("/aws/lambda/fn", "2024/01/01/[$LATEST]abc", ["START RequestId: 1", "hello\n"])
        self.put("/aws/lambda/fn", "other", ["from other"], ts=t0 + 5)
        r = self.tail("fn")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("\033[", r.stdout)  # piped: no colours
        self.assertEqual(r.stdout.splitlines(), [
            "%s 2024/01/01/[$LATEST]abc START RequestId: 1" % iso(t0),
            "%s 2024/01/01/[$LATEST]abc hello" % iso(t0 + 1),
            "%s other from other" % iso(t0 + 5),
        ])
        # The group's own name works too.
        self.assertEqual(self.tail("/aws/lambda/fn").stdout, r.stdout)

    def test_group_name_as_given_since_and_filter_pattern(self):
        self.group("plain")  # no leading '/', but it exists
        now = int(time.time() * 1000)
        self.put("plain", "s1", ["ERROR old"], ts=now - 3600 * 1000)
        self.put("plain", "s1", ["ERROR new", "INFO new"], ts=now)
        r = self.tail("plain")
        self.assertEqual([LINE.match(x).group(2) for x in r.stdout.splitlines()], ["ERROR new", "INFO new"])
        r = self.tail("plain", "--since", "2h")
        self.assertEqual(len(r.stdout.splitlines()), 3)
        r = self.tail("plain", "--since", "2h", "--filter-pattern", "ERROR")
        self.assertEqual([LINE.match(x).group(2) for x in r.stdout.splitlines()], ["ERROR old", "ERROR new"])

    def test_errors(self):
        r = self.tail("/nope")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ResourceNotFoundException: The specified log group does not exist.", r.stderr)
        r = self.tail("nofn")
        self.assertEqual(r.returncode, 1)
        r = self.tail("fn", "--since", "ten")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--since", r.stderr)

    def test_follow_prints_new_events_once_and_stops_on_sigint(self):
        self.group("/aws/lambda/f2")
        t0 = self.put("/aws/lambda/f2", "s1", ["before"])
        p = subprocess.Popen([KYOKA_BIN, "logs", "tail", "f2", "--follow", "--endpoint", self.kyoka.endpoint],
                             env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1.5)
            # Same millisecond as the newest printed event: must still show.
            self.put("/aws/lambda/f2", "s1", ["same ms"], ts=t0)
            self.put("/aws/lambda/f2", "s1", ["after 1", "after 2"], ts=t0 + 10)
            time.sleep(2.5)
        finally:
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        msgs = [LINE.match(x).group(2) for x in out.splitlines()]
        self.assertEqual(sorted(msgs), sorted(["before", "same ms", "after 1", "after 2"]))
        self.assertEqual(msgs[0], "before")


@unittest.skipUnless(os.path.exists(AWS_V2), "Debian's awscli (v2, with `logs tail`) is not installed")
class TestAwsLogsTail(TailCase):
    def aws(self, *args, timeout=60):
        return subprocess.run([AWS_V2, "--endpoint-url", self.kyoka.endpoint, "logs", "tail"] + list(args),
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def test_tail(self):
        self.group("/app/g", ["s1", "s2"])
        t0 = self.put("/app/g", "s1", ["one", "two"])
        self.put("/app/g", "s2", ["three"], ts=t0 + 2)
        r = self.aws("/app/g")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["%s s1 one" % iso(t0), "%s s1 two" % iso(t0 + 1),
                                                 "%s s2 three" % iso(t0 + 2)])
        # The same lines as kyoka's own tail.
        self.assertEqual(self.tail("/app/g").stdout, r.stdout)
        r = self.aws("/app/g", "--filter-pattern", "two")
        self.assertEqual(r.stdout.splitlines(), ["%s s1 two" % iso(t0 + 1)])

    def test_follow(self):
        self.group("/app/f")
        t0 = self.put("/app/f", "s1", ["first"])
        # --follow polls until interrupted: run it under a timeout.
        p = subprocess.Popen([AWS_V2, "--endpoint-url", self.kyoka.endpoint, "logs", "tail", "/app/f", "--follow"],
                             env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(2)
            self.put("/app/f", "s1", ["second"], ts=t0 + 1)
            time.sleep(7)  # the AWS CLI polls every 5 seconds
        finally:
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=10)
        self.assertEqual(out.splitlines(), ["%s s1 first" % iso(t0), "%s s1 second" % iso(t0 + 1)], err)


if __name__ == "__main__":
    main()
