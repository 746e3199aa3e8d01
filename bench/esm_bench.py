#!/usr/bin/python3
"""Event source mapping bench: queue -> function -> queue.

    esm_bench.py http://127.0.0.1:PORT BUILD_DIR SERVER_PID [MESSAGES]

A provided.al2023 function in C (bench/lambda_bootstrap.c built as
lambda_relay_bootstrap) is mapped to queue IN with BatchSize 10 and sends
every record on to queue OUT; bench/esm_bench (C) sends MESSAGES (default
10,000) and times them to their arrival, then a paced run shows the delay
of a mapping that is not backlogged. The server's CPU per message comes from
/proc/PID/stat around the run. No peer here runs event source mappings
(moto's need Docker; lambda-local has none): the bench says so.
"""
import io
import json
import os
import subprocess
import sys
import time
import zipfile

import boto3
import botocore.config

URL, BUILD, PID = sys.argv[1], sys.argv[2], int(sys.argv[3])
N = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
kw = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
          config=botocore.config.Config(retries={"max_attempts": 0}, read_timeout=60))
iam, lam, sqs = boto3.client("iam", **kw), boto3.client("lambda", **kw), boto3.client("sqs", **kw)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def relay_zip():
    with open(os.path.join(BUILD, "lambda_relay_bootstrap"), "rb") as f:
        boot = f.read()
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        z.writestr(info, boot)
    return b.getvalue()


def setup(tag):
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="esm-bench-" + tag, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="esm-bench-" + tag, PolicyName="sqs", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
    src = sqs.create_queue(QueueName="esm-in-" + tag)["QueueUrl"]
    out = sqs.create_queue(QueueName="esm-out-" + tag)["QueueUrl"]
    name = "esm-relay-" + tag
    lam.create_function(FunctionName=name, Role=role, Runtime="provided.al2023", Handler="relay",
                        Code={"ZipFile": relay_zip()}, Environment={"Variables": {"OUT_QUEUE_URL": out}})
    for _ in range(600):
        if lam.get_function_configuration(FunctionName=name)["State"] == "Active":
            break
        time.sleep(0.05)
    uuid = lam.create_event_source_mapping(EventSourceArn="arn:aws:sqs:us-east-1:000000000000:esm-in-" + tag,
                                           FunctionName=name, BatchSize=10)["UUID"]
    for _ in range(600):
        if lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled":
            break
        time.sleep(0.05)
    return src, out


def run(tag, n, *extra):
    src, out = setup(tag)
    cpu0 = cpu_seconds(PID)
    r = subprocess.run([os.path.join(BUILD, "esm_bench"), URL, src, out, str(n)] + list(extra),
                       capture_output=True, text=True, timeout=300)
    cpu = cpu_seconds(PID) - cpu0
    line = r.stdout.strip() or r.stderr.strip()
    return "%s; server CPU %.1f us/message" % (line, cpu / n * 1e6)


print("-- 8. SQS -> Lambda -> SQS through an event source mapping (BatchSize 10, provided.al2023 in C)")
print("kyoka backlog, %d messages: %s" % (N, run("bulk", N)))
print("kyoka paced, 200 messages 10 ms apart: %s" % run("paced", 200, "--senders", "1", "--interval-ms", "10"))
print("peer: none of the peers here runs SQS event source mappings (moto's need Docker, lambda-local has none)")
