#!/usr/bin/python3
"""Lambda bench: cold starts, warm invokes and idle memory, with the peer
(npm lambda-local, which runs a node handler in-process) from the same run.

    lambda_bench.py http://127.0.0.1:PORT BUILD_DIR SERVER_PID [SECONDS]

Functions are created with boto3 (Debian's python3-boto3); invokes are
timed by bench/lambda_load (C, keep-alive, SigV4-signed), so that client
overhead stays out of the figures. Three functions, one per family:
  provided  bench/lambda_bootstrap, a C bootstrap (measures kyoka itself)
  python    a python3.12 handler returning its event
  node      a nodejs20.x handler returning its event
Cold start: the first invoke after an UpdateFunctionConfiguration (a new
configuration, so a new environment), repeated; the interpreters' own
start-up (python3 -c pass, node -e 0) is printed beside it.
Logging: the server CPU a warm invoke costs when the function prints one
line (which kyoka reads, frames and writes to CloudWatch Logs) against the
same function printing nothing, both under a role whose logs are kept.
"""
import io
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import zipfile

import boto3
import botocore.config

URL, BUILD, PID = sys.argv[1], sys.argv[2], sys.argv[3]
SECONDS = float(sys.argv[4]) if len(sys.argv) > 4 else 5
HERE = os.path.dirname(os.path.abspath(__file__))
COLD_RUNS = 15
ROUNDS = 5  # of the logging comparison

kw = dict(endpoint_url=URL, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
          config=botocore.config.Config(retries={"max_attempts": 0}, read_timeout=60))
iam = boto3.client("iam", **kw)
lam = boto3.client("lambda", **kw)


def zipped(files):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            z.writestr(info, data)
    return b.getvalue()


def load(fn, *args):
    out = subprocess.run([os.path.join(BUILD, "lambda_load"), URL, fn] + list(args), capture_output=True, text=True)
    if out.returncode != 0:
        return "failed: " + out.stderr.strip()
    return out.stdout.strip()


def cold_ms(fn):
    samples = []
    for i in range(COLD_RUNS):
        lam.update_function_configuration(FunctionName=fn, Environment={"Variables": {"RUN": str(i)}})
        # The old environment is being ended now (kill, cgroup, files): let
        # it go first, so the figure is the new environment's start alone.
        time.sleep(0.1)
        us = load(fn, "--once")
        if us.startswith("failed"):
            return us
        samples.append(float(us) / 1000)
    return "median %.1f ms, min %.1f ms (%d runs)" % (statistics.median(samples), min(samples), COLD_RUNS)


def interpreter_ms(cmd):
    """The interpreter's own start, in an environment as bare as a
    function's (this shell's may carry costly variables such as
    NODE_EXTRA_CA_CERTS)."""
    samples = []
    for _ in range(7):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, env={"PATH": "/usr/bin:/bin", "LANG": "en_US.UTF-8"})
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def rss_mib(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return -1


def idle_rss(fn_args):
    """A fresh kyoka (durable), 100 functions, no invokes: its RSS."""
    import tempfile
    d = tempfile.mkdtemp(prefix="kyoka-bench-idle-")
    port_file = os.path.join(d, "port")
    proc = subprocess.Popen([os.path.join(BUILD, "kyoka"), "serve", "--port", "0", "--port-file", port_file,
                             "--data-dir", os.path.join(d, "data"), "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.01)
        url = "http://127.0.0.1:%s" % open(port_file).read().strip()
        c = dict(kw, endpoint_url=url)
        i2, l2 = boto3.client("iam", **c), boto3.client("lambda", **c)
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        role = i2.create_role(RoleName="idle", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        for i in range(100):
            l2.create_function(FunctionName="idle-%03d" % i, Role=role, **fn_args)
        time.sleep(0.5)
        return "%.1f MiB" % rss_mib(proc.pid)
    finally:
        proc.terminate()
        proc.wait()
        subprocess.run(["rm", "-rf", d])


# A provided.al2023 bootstrap in python: one keep-alive connection, the
# event echoed back, and with BENCH_LOG=1 one line printed per invoke. Both
# sides of the logging comparison run this same code, so what differs is the
# line alone.
LOG_BOOTSTRAP = b"""#!/usr/bin/python3 -S
import os, socket
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
log = os.environ.get("BENCH_LOG") == "1"
s = socket.create_connection((host, int(port)))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = s.makefile("rb")

def response():
    f.readline()
    rid, n = "", 0
    while True:
        line = f.readline()
        if line in (b"\\r\\n", b""):
            break
        k, _, v = line.decode().partition(":")
        k = k.lower()
        if k == "content-length":
            n = int(v)
        elif k == "lambda-runtime-aws-request-id":
            rid = v.strip()
    return rid, f.read(n)

while True:
    s.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\nHost: r\\r\\n\\r\\n")
    rid, body = response()
    if log:
        os.write(1, b"handled " + rid.encode() + b"\\n")
    s.sendall(("POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\\r\\nHost: r\\r\\n"
               "Content-Length: %d\\r\\n\\r\\n" % (rid, len(body))).encode() + body)
    response()
"""


def server_cpu(out):
    """The server_cpu figure of a lambda_load line, or None."""
    for part in out.split():
        if part.startswith("server_cpu="):
            return float(part[len("server_cpu="):-len("us/invoke")])
    return None


def loop_cpu_us():
    """CPU time of the server's loop thread (its main thread) so far: the
    pool's fsyncs, which vary run to run by more than a log line costs, are
    left out."""
    with open("/proc/%s/task/%s/stat" % (PID, PID)) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1e6 / os.sysconf("SC_CLK_TCK")


def invokes(out):
    for part in out.split():
        if part.startswith("invokes="):
            return int(part[len("invokes="):])
    return 0


def logging_cost(trust):
    """Server CPU per warm invoke, printing one line vs none."""
    role = iam.create_role(RoleName="bench-logs", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName="bench-logs",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    code = {"ZipFile": zipped({"bootstrap": (LOG_BOOTSTRAP, 0o755)})}
    for name, flag in (("quiet", "0"), ("logs", "1")):
        fn = "bench-log-" + name
        lam.create_function(FunctionName=fn, Role=role, Runtime="provided.al2023", Handler="bench", Code=code,
                            MemorySize=256, Timeout=30, Environment={"Variables": {"BENCH_LOG": flag}})
        load(fn, "--once")
    # The difference is small beside the whole invoke and the machine's
    # noise: alternate the two, and compare medians.
    samples = {"quiet": [], "logs": []}
    loop = {"quiet": [], "logs": []}
    for _ in range(ROUNDS):
        for name in samples:
            before = loop_cpu_us()
            out = load("bench-log-" + name, "--duration", str(SECONDS / 2), "--server-pid", PID)
            cpu, n = server_cpu(out), invokes(out)
            if cpu is None or not n:
                return "failed: " + out
            samples[name].append(cpu)
            loop[name].append((loop_cpu_us() - before) / n)
    med = {name: (statistics.median(samples[name]), statistics.median(loop[name])) for name in samples}
    return ("%.1f us/invoke printing one line, %.1f us printing none (medians of %d): logging costs %.1f us; "
            "loop thread alone %.1f vs %.1f us: %.1f us" % (
                med["logs"][0], med["quiet"][0], ROUNDS, med["logs"][0] - med["quiet"][0],
                med["logs"][1], med["quiet"][1], med["logs"][1] - med["quiet"][1]))


def main():
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName="bench-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    with open(os.path.join(BUILD, "lambda_bootstrap"), "rb") as f:
        boot = f.read()
    fns = {
        "provided": dict(Runtime="provided.al2023", Handler="bench", Code={"ZipFile": zipped({"bootstrap": (boot, 0o755)})}),
        "python": dict(Runtime="python3.12", Handler="app.handler",
                       Code={"ZipFile": zipped({"app.py": ("def handler(event, context):\n    return event\n", 0o644)})}),
        "node": dict(Runtime="nodejs20.x", Handler="index.handler",
                     Code={"ZipFile": zipped({"index.mjs": ("export const handler = async (event) => event;\n", 0o644)})}),
    }
    for name, args in fns.items():
        lam.create_function(FunctionName="bench-" + name, Role=role, MemorySize=256, Timeout=30, **args)

    print("-- 5. Lambda (durable store on; sandbox and memory limit as the banner says)")
    py_start = interpreter_ms(["/usr/bin/python3", "-c", "pass"])
    node_start = interpreter_ms(["/usr/bin/node", "-e", "0"])
    for name in fns:
        fn = "bench-" + name
        print("%-8s cold start (first invoke after a configuration change): %s" % (name, cold_ms(fn)))
        load(fn, "--once")
        print("%-8s warm, 1 client:   %s" % (name, load(fn, "--duration", str(SECONDS), "--server-pid", PID)))
        print("%-8s warm, 16 clients: %s" % (name, load(fn, "--duration", str(SECONDS), "--concurrency", "16",
                                                     "--server-pid", PID)))
    print("interpreters' own start-up: python3 %.1f ms, node %.1f ms" % (py_start, node_start))
    print("logging, provided (python bootstrap), warm, 1 client, server CPU: %s" % logging_cost(trust))

    print("idle RSS with 100 functions created, none warm: %s" % idle_rss(fns["python"]))

    peer = os.path.join(HERE, "lambda_local_peer.mjs")
    nm = os.path.join(HERE, "peers", "node_modules", "lambda-local")
    if os.path.isdir(nm):
        out = subprocess.run(["node", peer, str(SECONDS)], capture_output=True, text=True, cwd=HERE)
        print("lambda-local (peer, node handler in-process): " + (out.stdout.strip() or out.stderr.strip()))
    else:
        print("lambda-local (peer): absent (bench/peers/node_modules/lambda-local not installed)")


if __name__ == "__main__":
    main()
