#!/usr/bin/python3
"""Generate src/protocol/models_gen.c from botocore service models.

Debian's python3-botocore ships every AWS service model; it is kyoka's
protocol truth. This script flattens the shapes and operations of the
services kyoka serves into static C tables, applying overlays in
tools/models/<service>-overlay.json for what Debian's copy predates.

An overlay may carry:
  metadata     merged into the model's metadata
  operations   added or replaced whole
  shapes       added or replaced whole (restate a shape to replace its enum)
  add_members  {shape: {member: definition}} merged into existing structures
  kyoka        kyoka's own per-service facts that no botocore model states:
               parse_error, validation_error (see model_service_t)

Member traits the tables leave out: jsonvalue (no Lambda member has it; the
REST codec would pass such a member as a plain string), idempotencyToken
(clients fill it in), box and documentation.

Run: /usr/bin/python3 tools/gen_models.py > src/protocol/models_gen.c
"""
import json
import os
import sys

BOTO = "/usr/lib/python3/dist-packages/botocore/data"
HERE = os.path.dirname(os.path.abspath(__file__))

# kyoka name -> (botocore folder, api version)
SERVICES = [
    ("sts", "sts", "2011-06-15"),
    ("iam", "iam", "2010-05-08"),
    ("sqs", "sqs", "2012-11-05"),
    ("lambda", "lambda", "2015-03-31"),
    ("logs", "logs", "2014-03-28"),
    ("events", "events", "2015-10-07"),
    ("scheduler", "scheduler", "2021-06-30"),
    ("kinesis", "kinesis", "2013-12-02"),
    ("s3", "s3", "2006-03-01"),
    ("apigateway", "apigateway", "2015-07-09"),
    ("apigatewayv2", "apigatewayv2", "2018-11-29"),
]

TYPES = {
    "structure": "SHAPE_STRUCTURE", "list": "SHAPE_LIST", "map": "SHAPE_MAP",
    "string": "SHAPE_STRING", "integer": "SHAPE_INTEGER", "long": "SHAPE_LONG",
    "boolean": "SHAPE_BOOLEAN", "timestamp": "SHAPE_TIMESTAMP", "blob": "SHAPE_BLOB",
    "double": "SHAPE_DOUBLE", "float": "SHAPE_FLOAT",
}

PROTOCOLS = {"query": "PROTO_QUERY", "json": "PROTO_JSON", "rest-json": "PROTO_REST_JSON",
             "rest-xml": "PROTO_REST_XML"}

LOCATIONS = {None: "LOC_BODY", "uri": "LOC_URI", "querystring": "LOC_QUERYSTRING",
             "header": "LOC_HEADER", "headers": "LOC_HEADERS", "statusCode": "LOC_STATUS_CODE"}

TS_FORMATS = {None: "TSF_DEFAULT", "iso8601": "TSF_ISO8601", "unixTimestamp": "TSF_EPOCH",
              "rfc822": "TSF_RFC822"}

# Services whose validation checks the model's regex patterns. Only these get
# patterns in the tables: the query and JSON validators never read them.
PATTERN_PROTOCOLS = ("rest-json",)


def cstr(s):
    """A C string literal for s: bytes outside printable ASCII as octal
    escapes, and '?' escaped after '?' so that no trigraph forms (C11 reads
    them)."""
    if s is None:
        return "NULL"
    out = []
    prev = ""
    for ch in s:
        if ch in "\\\"":
            out.append("\\" + ch)
        elif ch == "?" and prev == "?":
            out.append("\\?")
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.extend("\\%03o" % b for b in ch.encode("utf-8"))
        prev = ch
    return '"' + "".join(out) + '"'


def cbool(b):
    return "true" if b else "false"


def load(folder, version):
    with open(os.path.join(BOTO, folder, version, "service-2.json")) as f:
        model = json.load(f)
    overlay = os.path.join(HERE, "models", folder + "-overlay.json")
    model["kyoka"] = {}
    if os.path.exists(overlay):
        with open(overlay) as f:
            ov = json.load(f)
        model["metadata"].update(ov.get("metadata", {}))
        model["operations"].update(ov.get("operations", {}))
        model["shapes"].update(ov.get("shapes", {}))
        for shape, members in ov.get("add_members", {}).items():
            model["shapes"][shape]["members"].update(members)
        model["kyoka"] = ov.get("kyoka", {})
    return model


def json_walk_shapes(shapes):
    """Names of the shapes whose JSON form differs from the canonical tree
    somewhere inside: a body member renamed by locationName, or a timestamp
    with an explicit non-epoch format. Computed as a fixed point, so
    recursive shapes are fine."""
    def own(s):
        if s["type"] == "structure":
            for mn, m in s.get("members", {}).items():
                wire = m.get("locationName") or shapes[m["shape"]].get("locationName") or mn
                if "location" not in m and wire != mn:
                    return True
        return False

    def member_refs(s):
        if s["type"] == "structure":
            return list(s.get("members", {}).values())
        if s["type"] == "list":
            return [s["member"]]
        if s["type"] == "map":
            return [s["value"]]
        return []

    def ts_member(m):
        t = shapes[m["shape"]]
        fmt = m.get("timestampFormat") or t.get("timestampFormat")
        return t["type"] == "timestamp" and fmt not in (None, "unixTimestamp")

    walk = {n for n, s in shapes.items() if own(s) or any(ts_member(m) for m in member_refs(s))}
    changed = True
    while changed:
        changed = False
        for n, s in shapes.items():
            if n not in walk and any(m["shape"] in walk for m in member_refs(s)):
                walk.add(n)
                changed = True
    return walk


def emit_service(out, kname, model):
    shapes = model["shapes"]
    md = model["metadata"]
    names = sorted(shapes)
    index = {n: i for i, n in enumerate(names)}
    p = "m_" + kname
    with_patterns = md["protocol"] in PATTERN_PROTOCOLS
    walk = json_walk_shapes(shapes) if md["protocol"] == "rest-json" else set()

    def member_row(mn, m, required, flattened):
        # botocore merges the target shape's own serialization into the
        # member: a map declaring locationName "Tag" serializes as Tag.N.Key
        # even when the member names none.
        target = shapes[m["shape"]]
        loc = m.get("locationName") or target.get("locationName")
        tsf = m.get("timestampFormat") or target.get("timestampFormat")
        return "    {%s, %s, %d, %s, %s, %s, %s},\n" % (
            cstr(mn), cstr(loc), index[m["shape"]], cbool(required), cbool(flattened),
            LOCATIONS[m.get("location")], TS_FORMATS[tsf])

    for n in names:
        s = shapes[n]
        t = s["type"]
        rows = []
        if t == "structure":
            req = set(s.get("required", []))
            for mn, m in s.get("members", {}).items():
                rows.append(member_row(mn, m, mn in req, m.get("flattened", False)))
        elif t == "list":
            rows.append(member_row("member", s["member"], False, False))
        elif t == "map":
            rows.append(member_row("key", s["key"], False, False))
            rows.append(member_row("value", s["value"], False, False))
        if rows:
            out.write("static const model_member_t %s_mem_%d[] = {\n" % (p, index[n]))
            out.write("".join(rows))
            out.write("};\n")
        if s.get("enum"):
            out.write("static const char *const %s_enum_%d[] = {%s, NULL};\n" % (
                p, index[n], ", ".join(cstr(e) for e in s["enum"])))
    out.write("static const model_shape_t %s_shapes[] = {\n" % p)
    for n in names:
        s = shapes[n]
        i = index[n]
        has_members = s["type"] in ("structure", "list", "map") and (
            s["type"] != "structure" or s.get("members"))
        err = s.get("error", {}) if s.get("exception") else None
        nmem = len(s.get("members", {})) if s["type"] == "structure" else (
            1 if s["type"] == "list" else 2 if s["type"] == "map" else 0)
        payload, payload_raw = -1, False
        if s["type"] == "structure" and "payload" in s:
            member_names = list(s["members"])
            payload = member_names.index(s["payload"])
            payload_raw = shapes[s["members"][s["payload"]]["shape"]]["type"] in ("blob", "string")
        out.write("    {%s, %s, %s, %s, %d, %s, %s, %dLL, %dLL, %s, %s, %d, %s,\n"
                  "     %s, %s, %d, %s, %s},\n" % (
                      cstr(n), TYPES[s["type"]], cbool(s.get("flattened")),
                      "%s_mem_%d" % (p, i) if has_members else "NULL", nmem,
                      cbool("min" in s), cbool("max" in s),
                      int(s.get("min", 0)), int(s.get("max", 0)),
                      "%s_enum_%d" % (p, i) if s.get("enum") else "NULL",
                      cstr(err.get("code")) if err is not None and err.get("code") and err.get("code") != n else "NULL",
                      (err.get("httpStatusCode", 400) if err is not None else 0),
                      cbool(err is not None and err.get("senderFault", err.get("httpStatusCode", 400) < 500)),
                      cstr(s.get("pattern") if with_patterns else None), cbool(s.get("sensitive")),
                      payload, cbool(payload_raw), cbool(n in walk)))
    out.write("};\n")
    ops = sorted(model["operations"])
    out.write("static const model_op_t %s_ops[] = {\n" % p)
    for o in ops:
        op = model["operations"][o]
        inp = index[op["input"]["shape"]] if "input" in op else -1
        outp = index[op["output"]["shape"]] if "output" in op else -1
        rw = op.get("output", {}).get("resultWrapper")
        http = op.get("http", {})
        out.write("    {%s, %d, %d, %s, %s, %s, %d},\n" % (
            cstr(o), inp, outp, cstr(rw), cstr(http.get("method")), cstr(http.get("requestUri")),
            http.get("responseCode", 200)))
    out.write("};\n")
    sid = md.get("serviceId", kname).lower().replace(" ", "")
    kyoka = model["kyoka"]
    rest = md["protocol"] == "rest-json"
    out.write("static const model_service_t %s_service = {\n" % p)
    out.write("    %s, %s, %s, %s, %s, %s, %s, %s, %s,\n" % (
        cstr(kname), cstr(md["protocol"]), cstr(md["apiVersion"]), cstr(md.get("targetPrefix")),
        cstr(md.get("jsonVersion")), cstr(md.get("xmlNamespace")),
        cstr(md.get("signingName", md.get("endpointPrefix"))),
        cstr("com.amazonaws.%s#" % sid), cbool("awsQueryCompatible" in md)))
    out.write("    %s_shapes, %d, %s_ops, %d,\n" % (p, len(names), p, len(ops)))
    # rest-json services without an overlay answer Smithy's generic codes.
    out.write("    %s, %s, %s,\n};\n\n" % (
        PROTOCOLS[md["protocol"]],
        cstr(kyoka.get("parse_error", "SerializationException") if rest else None),
        cstr(kyoka.get("validation_error", "ValidationException") if rest else None)))


def main():
    out = sys.stdout
    out.write("/* Generated by tools/gen_models.py from Debian's botocore models and\n"
              " * the overlays in tools/models. Do not edit: run `make models`. */\n")
    out.write('#include "protocol/protocol.h"\n\n')
    for kname, folder, version in SERVICES:
        emit_service(out, kname, load(folder, version))
    out.write("const model_service_t *const model_services[] = {\n")
    for kname, _, _ in SERVICES:
        out.write("    &m_%s_service,\n" % kname)
    out.write("    NULL,\n};\n")


if __name__ == "__main__":
    main()
