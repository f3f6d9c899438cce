# Bytes outside findings are unchanged by `qinglang redact`.
#
#   python3 spans.py OP FINDINGS.jsonl ORIG_ROOT OUT_ROOT [FILE...]
#
# FINDINGS.jsonl is `qinglang scan --format jsonl` of ORIG_ROOT (a file or a
# directory); OUT_ROOT is the redacted copy (a file, or a directory with the
# same relative paths).  FILE... are the relative paths to check (all files
# under ORIG_ROOT if none).  For each file, the original is cut at the
# findings' spans into S0 F1 S1 F2 ... Sn; the redacted file must be
# S0 R1 S1 R2 ... Sn, found by walking both files, where each R is what OP
# writes for the finding(s): mask -> the finding's `masked` text, drop ->
# nothing, hash -> <type:16 hex>, tag -> [label] (or <type>); R in the
# input's own encoding.  Overlapping findings (an IP inside a URL): the
# first-starting, longest one is replaced, as docs say.  Also: the output
# decodes without error in the input's encoding.  Prints one line per
# problem, exits 1 if any.
import codecs
import json
import os
import re
import sys


def codec_of(data):
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    if data.startswith(codecs.BOM_UTF16_BE):
        return "utf-16-be"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def expectation(op, group):
    if op == "drop":
        return ""
    if op == "mask":
        return "".join(f["masked"] for f in group)
    if op == "hash":
        return re.compile("".join("<%s:[0-9a-f]{16}>" % re.escape(f["type"]) for f in group))
    if op == "tag":
        return re.compile(r"(?:\[[^\[\]\s<>]+\]|<[a-z0-9_]+>){%d}" % len(group))
    return None


def check(op, orig, red, findings):
    errs = []
    codec = codec_of(orig)
    findings = sorted(findings, key=lambda f: (f["start"], -f["end"]))
    kept, at = [], 0
    for f in findings:
        if f["start"] >= at:
            kept.append(f)
            at = f["end"]
    groups = []
    for f in kept:
        if groups and groups[-1][-1]["end"] == f["start"]:
            groups[-1].append(f)
        else:
            groups.append([f])
    segs, pos = [], 0
    for g in groups:
        segs.append(orig[pos:g[0]["start"]])
        pos = g[-1]["end"]
    segs.append(orig[pos:])
    try:
        red.decode(codec)
    except UnicodeDecodeError as e:
        errs.append("output does not decode as %s: %s" % (codec, e))
    if not groups:
        if red != orig:
            errs.append("no findings, but the output differs from the input")
        return errs
    if not red.startswith(segs[0]):
        return errs + ["bytes before the first finding (at %d) changed" % groups[0][0]["start"]]
    cur = len(segs[0])
    for i, g in enumerate(groups):
        s = segs[i + 1]
        where = "%s at %d-%d" % ("+".join(f["type"] for f in g), g[0]["start"], g[-1]["end"])
        if i + 1 == len(groups):
            j = len(red) - len(s)
            if j < cur or red[j:] != s:
                errs.append("bytes after the last finding (%s) changed" % where)
                break
        else:
            j = red.find(s, cur)
            if j < 0:
                errs.append("bytes after %s not found in order in the output" % where)
                break
        r = red[cur:j]
        try:
            rt = r.decode(codec)
        except UnicodeDecodeError:
            errs.append("%s: replacement %r is not valid %s" % (where, r, codec))
            rt = None
        want = expectation(op, g)
        if rt is not None and want is not None:
            ok = rt == want if isinstance(want, str) else want.fullmatch(rt)
            if not ok:
                errs.append("%s: replacement %r, expected %r"
                            % (where, rt, want if isinstance(want, str) else want.pattern))
        cur = j + len(s)
    return errs


def main():
    op, jsonl, orig_root, out_root = sys.argv[1:5]
    rels = sys.argv[5:]
    by_path = {}
    for line in open(jsonl, encoding="utf-8"):
        if line.strip():
            f = json.loads(line)
            by_path.setdefault(os.path.normpath(f["path"]), []).append(f)
    if os.path.isdir(orig_root):
        if not rels:
            for d, _, names in os.walk(orig_root):
                for n in names:
                    rels.append(os.path.relpath(os.path.join(d, n), orig_root))
        pairs = [(os.path.join(orig_root, r), os.path.join(out_root, r)) for r in sorted(rels)]
    else:
        pairs = [(orig_root, out_root)]
    bad = 0
    for o, r in pairs:
        if not os.path.exists(r):
            print("%s: no output file %s" % (o, r))
            bad += 1
            continue
        errs = check(op, open(o, "rb").read(), open(r, "rb").read(),
                     by_path.get(os.path.normpath(o), []))
        for e in errs[:6]:
            print("%s (%s): %s" % (o, op, e))
        bad += len(errs)
    print("spans.py: %s: %d file(s) checked, %d problem(s)" % (op, len(pairs), bad))
    sys.exit(1 if bad else 0)


main()
