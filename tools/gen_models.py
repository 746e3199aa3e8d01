#!/usr/bin/python3
"""Generate src/protocol/models_gen.c from botocore service models.

Debian's python3-botocore ships every AWS service model; it is kyoka's
protocol truth. This script flattens the shapes and operations of the
services kyoka serves into static C tables, applying overlays in
tools/models/<service>-overlay.json for what Debian's copy predates.

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
]

TYPES = {
    "structure": "SHAPE_STRUCTURE", "list": "SHAPE_LIST", "map": "SHAPE_MAP",
    "string": "SHAPE_STRING", "integer": "SHAPE_INTEGER", "long": "SHAPE_LONG",
    "boolean": "SHAPE_BOOLEAN", "timestamp": "SHAPE_TIMESTAMP", "blob": "SHAPE_BLOB",
    "double": "SHAPE_DOUBLE", "float": "SHAPE_FLOAT",
}


def cstr(s):
    if s is None:
        return "NULL"
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def load(folder, version):
    with open(os.path.join(BOTO, folder, version, "service-2.json")) as f:
        model = json.load(f)
    overlay = os.path.join(HERE, "models", folder + "-overlay.json")
    if os.path.exists(overlay):
        with open(overlay) as f:
            ov = json.load(f)
        model["metadata"].update(ov.get("metadata", {}))
        model["operations"].update(ov.get("operations", {}))
        model["shapes"].update(ov.get("shapes", {}))
        for shape, members in ov.get("add_members", {}).items():
            model["shapes"][shape]["members"].update(members)
    return model


def emit_service(out, kname, model):
    shapes = model["shapes"]
    names = sorted(shapes)
    index = {n: i for i, n in enumerate(names)}
    p = "m_" + kname
    for n in names:
        s = shapes[n]
        t = s["type"]
        members = []
        if t == "structure":
            req = set(s.get("required", []))
            for mn, m in s.get("members", {}).items():
                # botocore merges the target shape's own serialization into
                # the member: a map declaring locationName "Tag" serializes
                # as Tag.N.Key even when the member names none.
                loc = m.get("locationName") or shapes[m["shape"]].get("locationName")
                members.append((mn, loc, index[m["shape"]], mn in req,
                                m.get("flattened", False)))
        elif t == "list":
            m = s["member"]
            members.append(("member", m.get("locationName"), index[m["shape"]], False, False))
        elif t == "map":
            k, v = s["key"], s["value"]
            members.append(("key", k.get("locationName"), index[k["shape"]], False, False))
            members.append(("value", v.get("locationName"), index[v["shape"]], False, False))
        if members:
            out.write("static const model_member_t %s_mem_%d[] = {\n" % (p, index[n]))
            for mn, loc, si, r, fl in members:
                out.write("    {%s, %s, %d, %s, %s},\n" % (cstr(mn), cstr(loc), si,
                          "true" if r else "false", "true" if fl else "false"))
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
        out.write("    {%s, %s, %s, %s, %d, %s, %s, %dLL, %dLL, %s, %s, %d, %s},\n" % (
            cstr(n), TYPES[s["type"]], "true" if s.get("flattened") else "false",
            "%s_mem_%d" % (p, i) if has_members else "NULL", nmem,
            "true" if "min" in s else "false", "true" if "max" in s else "false",
            int(s.get("min", 0)), int(s.get("max", 0)),
            "%s_enum_%d" % (p, i) if s.get("enum") else "NULL",
            cstr(err.get("code")) if err is not None and err.get("code") and err.get("code") != n else "NULL",
            (err.get("httpStatusCode", 400) if err is not None else 0),
            "true" if (err is not None and err.get("senderFault", err.get("httpStatusCode", 400) < 500)) else "false"))
    out.write("};\n")
    ops = sorted(model["operations"])
    out.write("static const model_op_t %s_ops[] = {\n" % p)
    for o in ops:
        op = model["operations"][o]
        inp = index[op["input"]["shape"]] if "input" in op else -1
        outp = index[op["output"]["shape"]] if "output" in op else -1
        rw = op.get("output", {}).get("resultWrapper")
        http = op.get("http", {})
        out.write("    {%s, %d, %d, %s, %s, %s},\n" % (cstr(o), inp, outp, cstr(rw),
                  cstr(http.get("method")), cstr(http.get("requestUri"))))
    out.write("};\n")
    md = model["metadata"]
    sid = md.get("serviceId", kname).lower().replace(" ", "")
    out.write("static const model_service_t %s_service = {\n" % p)
    out.write("    %s, %s, %s, %s, %s, %s, %s, %s, %s,\n" % (
        cstr(kname), cstr(md["protocol"]), cstr(md["apiVersion"]), cstr(md.get("targetPrefix")),
        cstr(md.get("jsonVersion")), cstr(md.get("xmlNamespace")),
        cstr(md.get("signingName", md.get("endpointPrefix"))),
        cstr("com.amazonaws.%s#" % sid), "true" if "awsQueryCompatible" in md else "false"))
    out.write("    %s_shapes, %d, %s_ops, %d,\n};\n\n" % (p, len(names), p, len(ops)))


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
