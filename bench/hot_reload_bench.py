#!/usr/bin/python3
"""Hot reload bench: how soon an edit on disk is seen, and what serving
code from a directory costs a warm invoke.

    hot_reload_bench.py http://127.0.0.1:PORT BUILD_DIR SERVER_PID [SECONDS]

1. Write to visible: a python3.12 function served from a directory
   (S3Bucket hot-reload) returns a value from its module; the bench writes
   a new value and invokes at once, and times from just before the write to
   the answer that carries the new value (target: under 50 ms). That time
   holds a new environment's start, so the same function's cold start
   (UpdateFunctionConfiguration, then the first invoke) is printed beside it:
   the difference is what the watcher costs.
2. Warm invokes: the C bootstrap (bench/lambda_bootstrap) from a zip and
   the same bootstrap served from a directory, timed by bench/lambda_load
   (target: the directory within 10% of the zip).
"""
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

import boto3
import botocore.config

URL, BUILD, PID = sys.argv[1], sys.argv[2], sys.argv[3]
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 5
RUNS = 25

kw = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
          config=botocore.config.Config(retries={"max_attempts": 0}, read_timeout=60))
iam = boto3.client("iam", **kw)
lam = boto3.client("lambda", **kw)

HANDLER = 'VALUE = %d\ndef handler(event, context):\n    return {"value": VALUE}\n'


def load(fn, *args):
    out = subprocess.run([os.path.join(BUILD, "lambda_load"), URL, fn] + list(args), capture_output=True, text=True)
    if out.returncode != 0:
        return "failed: " + out.stderr.strip()
    return out.stdout.strip()


def field(line, name):
    """A figure of a lambda_load line: 'p50=123us' -> 123.0."""
    for part in line.replace(",", " ").split():
        if part.startswith(name + "="):
            v = part.split("=", 1)[1]
            for unit in ("us", "/s"):
                v = v.replace(unit, "")
            try:
                return float(v)
            except ValueError:
                return None
    return None


def env_ids(fn):
    with urllib.request.urlopen(URL + "/_kyoka/lambda", timeout=10) as r:
        return {e["id"] for e in json.load(r)["environments"] if e["function"] == fn and e["state"] != "dead"}


def value(fn):
    return json.loads(lam.invoke(FunctionName=fn)["Payload"].read())["value"]


def main():
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    try:
        role = iam.create_role(RoleName="hot-bench", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName="hot-bench")["Role"]["Arn"]
    work = tempfile.mkdtemp(prefix="kyoka-hot-bench-")
    os.chmod(work, 0o755)
    try:
        run(role, work)
    finally:
        shutil.rmtree(work, True)


def run(role, work):
    print("-- 12. hot reload: an edit on disk to the first invocation that sees it; warm invokes from a directory")
    src = os.path.join(work, "py")
    os.mkdir(src)
    os.chmod(src, 0o755)
    index = os.path.join(src, "index.py")
    with open(index, "w") as f:
        f.write(HANDLER % 0)
    lam.create_function(FunctionName="hot-bench-py", Role=role, Runtime="python3.12", Handler="index.handler",
                        Code={"S3Bucket": "hot-reload", "S3Key": src})
    value("hot-bench-py")
    visible = []
    for i in range(1, RUNS + 1):
        time.sleep(0.1)  # the old environment's end is not part of the figure
        t = time.perf_counter()
        with open(index, "w") as f:
            f.write(HANDLER % i)
        while value("hot-bench-py") != i:
            pass
        visible.append((time.perf_counter() - t) * 1000)
    cold = []
    for i in range(RUNS):
        lam.update_function_configuration(FunctionName="hot-bench-py", Environment={"Variables": {"RUN": str(i)}})
        time.sleep(0.1)
        t = time.perf_counter()
        value("hot-bench-py")
        cold.append((time.perf_counter() - t) * 1000)
    print("kyoka: python write to visible: median %.1f ms, p90 %.1f ms (%d edits); the same function's cold start "
          "(new configuration, first invoke): median %.1f ms; target under 50 ms"
          % (statistics.median(visible), sorted(visible)[int(len(visible) * 0.9) - 1], RUNS,
             statistics.median(cold)))

    with open(os.path.join(BUILD, "lambda_bootstrap"), "rb") as f:
        boot = f.read()
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, boot)
    lam.create_function(FunctionName="hot-bench-zip", Role=role, Runtime="provided.al2023", Handler="bench",
                        Code={"ZipFile": b.getvalue()})
    cdir = os.path.join(work, "c")
    os.mkdir(cdir)
    os.chmod(cdir, 0o755)
    shutil.copy(os.path.join(BUILD, "lambda_bootstrap"), os.path.join(cdir, "bootstrap"))
    os.chmod(os.path.join(cdir, "bootstrap"), 0o755)
    lam.create_function(FunctionName="hot-bench-dir", Role=role, Runtime="provided.al2023", Handler="bench",
                        Code={"S3Bucket": "hot-reload", "S3Key": cdir})
    # The same edit-to-answer time with the C bootstrap: no interpreter to
    # start, so this is kyoka's own part (seeing the edit, retiring, a new
    # environment). Each answer is checked to come from a new environment.
    provided = []
    with open(os.path.join(cdir, "touched.txt"), "w") as f:
        f.write("0")
    lam.invoke(FunctionName="hot-bench-dir")
    for i in range(1, RUNS + 1):
        time.sleep(0.1)
        before = env_ids("hot-bench-dir")
        t = time.perf_counter()
        with open(os.path.join(cdir, "touched.txt"), "w") as f:
            f.write(str(i))
        lam.invoke(FunctionName="hot-bench-dir")
        ms = (time.perf_counter() - t) * 1000
        if env_ids("hot-bench-dir") - before:
            provided.append(ms)
    if provided:
        print("kyoka: provided (C bootstrap) write to an answer from a new environment: median %.1f ms, p90 %.1f ms "
              "(%d of %d edits seen by the next invocation); target under 50 ms"
              % (statistics.median(provided), sorted(provided)[max(int(len(provided) * 0.9) - 1, 0)],
                 len(provided), RUNS))
    results = {}
    for name in ("hot-bench-zip", "hot-bench-dir", "hot-bench-zip", "hot-bench-dir"):
        load(name, "--once")
        line = load(name, "--duration", str(SECONDS / 2), "--server-pid", PID)
        results.setdefault(name, []).append(line)
    for name, label in (("hot-bench-zip", "zip      "), ("hot-bench-dir", "directory")):
        print("kyoka: provided warm, 1 client, %s: %s" % (label, results[name][-1]))
    p50 = {n: statistics.median([field(x, "p50") or 0 for x in results[n]]) for n in results}
    rate = {n: statistics.median([field(x, "rate") or 0 for x in results[n]]) for n in results}
    if p50["hot-bench-zip"]:
        print("kyoka: directory vs zip warm p50: %+.1f%% (target within 10%%)%s"
              % ((p50["hot-bench-dir"] / p50["hot-bench-zip"] - 1) * 100,
                 "; invokes/s %+.1f%%" % ((rate["hot-bench-dir"] / rate["hot-bench-zip"] - 1) * 100)
                 if rate["hot-bench-zip"] else ""))
    for fn in ("hot-bench-py", "hot-bench-zip", "hot-bench-dir"):
        lam.delete_function(FunctionName=fn)


if __name__ == "__main__":
    main()
