#!/usr/bin/python3
"""Asynchronous invocation bench: durable event invokes accepted per second
(each 202 follows the commit of its event, group-committed) and completed
per second by a provided function in C, with the server's CPU per event.

    lambda_async_bench.py http://127.0.0.1:PORT BUILD_DIR SERVER_PID [SECONDS] [MOTO_URL]

The load is bench/lambda_load --event (C, keep-alive, SigV4). Completion is
read from GET /_kyoka/lambda ("async": accepted, completed, queued, ...).
The peer: moto's server, when given, is asked the same (it runs functions
in Docker; without Docker it cannot, and the bench says so).
"""
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
import zipfile

import boto3
import botocore.config

URL, BUILD, PID = sys.argv[1], sys.argv[2], int(sys.argv[3])
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 5
MOTO = sys.argv[5] if len(sys.argv) > 5 else None
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def client(service, url):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=botocore.config.Config(retries={"max_attempts": 0}, read_timeout=60))


def bootstrap_zip():
    with open(os.path.join(BUILD, "lambda_bootstrap"), "rb") as f:
        boot = f.read()
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        z.writestr(info, boot)
    return b.getvalue()


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def async_stats():
    with urllib.request.urlopen(URL + "/_kyoka/lambda", timeout=10) as r:
        return json.load(r)["async"]


def wait_active(lam, name):
    for _ in range(600):
        if lam.get_function_configuration(FunctionName=name)["State"] == "Active":
            return
        time.sleep(0.05)
    raise RuntimeError("function never became active")


def kyoka_async():
    iam, lam = client("iam", URL), client("lambda", URL)
    role = iam.create_role(RoleName="async-bench", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    lam.create_function(FunctionName="async-bench", Role=role, Runtime="provided.al2023", Handler="bench",
                        Code={"ZipFile": bootstrap_zip()}, MemorySize=128)
    wait_active(lam, "async-bench")
    lam.invoke(FunctionName="async-bench", Payload=b"{}")  # one warm environment to start from
    before = async_stats()
    cpu0, t0 = cpu_seconds(PID), time.time()
    out = subprocess.run([os.path.join(BUILD, "lambda_load"), URL, "async-bench", "--event", "--concurrency", "16",
                          "--duration", str(SECONDS), "--payload", '{"n":1}'], capture_output=True, text=True)
    if out.returncode != 0:
        print("kyoka: async load failed: " + out.stderr.strip())
        return
    accepted_line = out.stdout.strip()
    after_load = async_stats()
    accepted = after_load["accepted"] - before["accepted"]
    t_load = time.time() - t0
    deadline = time.time() + 300
    last_print = time.time()
    while True:
        st = async_stats()
        done = st["completed"] - before["completed"]
        if done >= accepted or time.time() > deadline:
            break
        if time.time() - last_print > 5:
            print("  ... %d of %d events completed" % (done, accepted), flush=True)
            last_print = time.time()
        time.sleep(0.02)
    t_all = time.time() - t0
    cpu = cpu_seconds(PID) - cpu0
    print("kyoka accepted (16 clients, durable 202): %s" % accepted_line)
    print("kyoka accepted: %d events in %.1f s = %.0f/s; completed: %d in %.1f s = %.0f/s; "
          "server CPU %.1f us/event (accept + run + finish); failed %d" % (
              accepted, t_load, accepted / t_load, done, t_all, done / t_all, cpu / max(done, 1) * 1e6,
              st["failed"] - before["failed"]))


def moto_async():
    if not MOTO:
        print("moto (peer): not running in this bench")
        return
    try:
        iam, lam = client("iam", MOTO), client("lambda", MOTO)
        role = iam.create_role(RoleName="async-bench", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        lam.create_function(FunctionName="async-bench", Role=role, Runtime="provided.al2023", Handler="bench",
                            Code={"ZipFile": bootstrap_zip()})
        t0 = time.time()
        n = 0
        while time.time() - t0 < min(SECONDS, 3):
            lam.invoke(FunctionName="async-bench", InvocationType="Event", Payload=b"{}")
            n += 1
        print("moto (peer) accepted: %.0f/s (1 client; moto runs the function in Docker, or not at all)" %
              (n / (time.time() - t0)))
    except Exception as e:  # the peer's failure is reported, not fatal
        print("moto (peer): cannot invoke asynchronously here: %s" % str(e).splitlines()[0][:200])


print("-- 7. Lambda asynchronous invocation (provided.al2023, C bootstrap)")
kyoka_async()
moto_async()
