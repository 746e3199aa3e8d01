#!/usr/bin/python3
"""Write a wrk Lua script that replays one SigV4-signed request.

The signature is made now, by botocore, exactly as a real client signs; the
server accepts it for 15 minutes (the clock-skew window), far longer than a
benchmark run. usage: sign_request.py URL SERVICE BODY OUT.lua"""
import sys

import botocore.auth
import botocore.awsrequest
import botocore.credentials

url, service, body, out = sys.argv[1:5]
req = botocore.awsrequest.AWSRequest(method="POST", url=url, data=body,
                                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), service, "us-east-1").add_auth(req)
p = req.prepare()


def lua(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


with open(out, "w") as f:
    f.write('wrk.method = "POST"\n')
    f.write("wrk.body = %s\n" % lua(body))
    for k, v in p.headers.items():
        f.write("wrk.headers[%s] = %s\n" % (lua(k), lua(v)))
    f.write('''
function done(summary, latency, requests)
  io.write(string.format("rps=%.0f p50_ms=%.3f p99_ms=%.3f errors=%d\\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("bench: unexpected status " .. status .. "\\n")
  end
end
''')
