#!/usr/bin/env python3
"""score.py -- precision/recall of `qinglang scan` on a corpus from gen.py.

    score.py --qinglang PATH --dir OUTDIR [--min-precision 0.99]
             [--min-recall 0.99] [--json] [--today 2026-11-25]
             [--findings FILE] [--max-list 20]

Runs `PATH scan --format jsonl --today 2026-11-25 OUTDIR` (exit 0 or 1 is
a completed scan, anything else an error) and matches the findings with
the ground truth NNNN.truth.jsonl of every NNNN.txt:

  * a finding is correct when a truth entity of the same type overlaps it
    (byte spans [start, end)); "exact" counts those with the very same span;
  * a truth entity is found when a finding of its type overlaps it;
  * a truth line with "optional": true is neither required nor wrong: a
    finding that overlaps only optional entities is left out of precision.

Prints per-type and overall precision / recall / F1, then up to --max-list
false positives and false negatives with the text around them (nothing is
masked: the corpus is synthetic).  With --findings FILE the JSONL findings
are read from FILE (or - for stdin) instead of running the scanner.

Exit status: 0 when precision >= --min-precision and recall >= --min-recall
(both 0.99 by default), 1 when below, 2 on an error (the scanner failed,
printed something that is not JSONL, or the corpus is missing).
"""

import argparse
import glob
import json
import os
import subprocess
import sys


def die(msg):
    print("score.py: " + msg, file=sys.stderr)
    sys.exit(2)


def load_truth(outdir):
    docs = {}
    for txt in sorted(glob.glob(os.path.join(outdir, "*.txt"))):
        name = os.path.basename(txt)
        tpath = txt[:-4] + ".truth.jsonl"
        if not os.path.exists(tpath):
            die("%s has no ground truth %s" % (txt, tpath))
        ents = []
        with open(tpath, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                    ents.append((r["type"], int(r["start"]), int(r["end"]), bool(r.get("optional"))))
                except (ValueError, KeyError, TypeError) as e:
                    die("%s:%d: bad truth line: %s" % (tpath, n, e))
        docs[name] = ents
    if not docs:
        die("no *.txt documents in %s (run gen.py SEED %s first)" % (outdir, outdir))
    return docs


def run_scanner(qinglang, outdir, today):
    cmd = [qinglang, "scan", "--format", "jsonl", "--today", today, outdir]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1800)
    except OSError as e:
        die("cannot run %s: %s" % (qinglang, e))
    except subprocess.TimeoutExpired:
        die("%s timed out" % " ".join(cmd))
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode not in (0, 1):
        sys.stderr.write(err[-4000:])
        die("%s exited with status %d" % (" ".join(cmd), p.returncode))
    if err.strip():
        lines = err.strip().splitlines()
        sys.stderr.write("score.py: scanner stderr (%d lines):\n" % len(lines))
        sys.stderr.write("".join("  " + l + "\n" for l in lines[:10]))
    return p.stdout.decode("utf-8", "replace"), p.returncode


def parse_findings(text, source):
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            out.append((r["path"], r["type"], int(r["start"]), int(r["end"])))
        except (ValueError, KeyError, TypeError) as e:
            die("%s line %d is not a JSONL finding (%s): %.200s" % (source, n, e, line))
    return out


def overlaps(s1, e1, s2, e2):
    return s1 < e2 and s2 < max(e1, s1 + 1)


class Snippets:
    """Text around a byte span, decoded the way the scanner should have."""

    def __init__(self, outdir):
        self.outdir = outdir
        self.cache = {}

    def data(self, name):
        if name not in self.cache:
            try:
                with open(os.path.join(self.outdir, name), "rb") as f:
                    b = f.read()
            except OSError:
                b = b""
            if b[:2] == b"\xff\xfe":
                enc = "utf-16-le"
            elif b[:2] == b"\xfe\xff":
                enc = "utf-16-be"
            else:
                try:
                    b.decode("utf-8")
                    enc = "utf-8"
                except UnicodeDecodeError:
                    enc = "gb18030"
            self.cache[name] = (b, enc)
        return self.cache[name]

    def around(self, name, start, end, width=36):
        b, enc = self.data(name)
        bom = 2 if enc.startswith("utf-16") else 0
        start, end = max(bom, start), max(bom, end)
        before = b[bom:start].decode(enc, "replace")
        value = b[start:end].decode(enc, "replace")
        after = b[end:].decode(enc, "replace")
        line = before.count("\n") + 1

        def esc(s):
            return s.replace("\r", "\\r").replace("\n", "\u23ce").replace("\t", "\\t")
        left = before[-width:]
        right = after[:width]
        return line, "%s%s[[%s]]%s%s" % ("..." if len(before) > width else "", esc(left),
                                          esc(value), esc(right), "..." if len(after) > width else "")


def score(docs, findings):
    by_doc = {}
    foreign = 0
    for path, typ, s, e in findings:
        name = os.path.basename(path)
        if name.endswith(".truth.jsonl"):
            foreign += 1
            continue
        by_doc.setdefault(name, []).append((typ, s, e))
    types = {}

    def T(t):
        return types.setdefault(t, {"truth": 0, "found": 0, "exact": 0, "findings": 0,
                                    "correct": 0, "false": 0, "optional": 0})
    fps, fns = [], []
    for name in sorted(set(docs) | set(by_doc)):
        truth = docs.get(name)
        fs = by_doc.get(name, [])
        if truth is None:            # a file the corpus does not know
            for typ, s, e in fs:
                T(typ)["findings"] += 1
                T(typ)["false"] += 1
                fps.append((name, typ, s, e))
            continue
        for typ, s, e in fs:
            st = T(typ)
            hit = [t for t in truth if t[0] == typ and overlaps(s, e, t[1], t[2])]
            if any(not t[3] for t in hit):
                st["findings"] += 1
                st["correct"] += 1
            elif hit:
                st["optional"] += 1
            else:
                st["findings"] += 1
                st["false"] += 1
                fps.append((name, typ, s, e))
        for typ, s, e, opt in truth:
            if opt:
                continue
            st = T(typ)
            st["truth"] += 1
            same = [f for f in fs if f[0] == typ]
            if any(overlaps(f[1], f[2], s, e) for f in same):
                st["found"] += 1
                if any(f[1] == s and f[2] == e for f in same):
                    st["exact"] += 1
            else:
                fns.append((name, typ, s, e))
    return types, fps, fns, foreign


def prf(correct, findings, found, truth):
    p = correct / findings if findings else 1.0
    r = found / truth if truth else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def main(argv=None):
    ap = argparse.ArgumentParser(description="Precision/recall of qinglang on a gen.py corpus.")
    ap.add_argument("--qinglang", help="path of the qinglang binary")
    ap.add_argument("--dir", required=True, help="corpus directory written by gen.py")
    ap.add_argument("--min-precision", type=float, default=0.99)
    ap.add_argument("--min-recall", type=float, default=0.99)
    ap.add_argument("--json", action="store_true", help="print one JSON report instead of tables")
    ap.add_argument("--today", default="2026-11-25", help="passed to scan --today (the corpus assumes 2026-11-25)")
    ap.add_argument("--findings", help="read JSONL findings from FILE (- for stdin) instead of running the scanner")
    ap.add_argument("--max-list", type=int, default=20, help="false positives/negatives to list (default 20)")
    a = ap.parse_args(argv)
    if not a.qinglang and not a.findings:
        ap.error("--qinglang PATH (or --findings FILE) is required")
    if not os.path.isdir(a.dir):
        die("no such directory: %s" % a.dir)

    docs = load_truth(a.dir)
    if a.findings:
        text = sys.stdin.read() if a.findings == "-" else open(a.findings, encoding="utf-8").read()
        rc = None
    else:
        text, rc = run_scanner(a.qinglang, a.dir, a.today)
    findings = parse_findings(text, a.findings or "scanner output")
    types, fps, fns, foreign = score(docs, findings)

    tot = {k: sum(t[k] for t in types.values()) for k in
           ("truth", "found", "exact", "findings", "correct", "false", "optional")}
    p, r, f = prf(tot["correct"], tot["findings"], tot["found"], tot["truth"])
    ok = p >= a.min_precision and r >= a.min_recall
    if tot["truth"] == 0:
        die("the ground truth lists no entities")
    if rc == 0 and tot["truth"]:
        print("score.py: warning: the scanner exited 0 (nothing found) although the corpus has findings",
              file=sys.stderr)

    snip = Snippets(a.dir)

    def listing(items):
        out = []
        for name, typ, s, e in sorted(items)[:a.max_list]:
            line, ctx = snip.around(name, s, e)
            out.append({"file": name, "line": line, "type": typ, "start": s, "end": e, "context": ctx})
        return out

    fp_list, fn_list = listing(fps), listing(fns)
    if a.json:
        rep = {"documents": len(docs), "precision": p, "recall": r, "f1": f, "pass": ok,
               "thresholds": {"precision": a.min_precision, "recall": a.min_recall},
               "totals": tot, "types": {}, "false_positives": fp_list, "false_negatives": fn_list,
               "false_positive_count": len(fps), "false_negative_count": len(fns),
               "findings_in_truth_files": foreign}
        for t, st in sorted(types.items()):
            tp, tr, tf = prf(st["correct"], st["findings"], st["found"], st["truth"])
            rep["types"][t] = dict(st, precision=tp, recall=tr, f1=tf)
        print(json.dumps(rep, ensure_ascii=False, indent=2))
        return 0 if ok else 1

    hdr = "%-24s %6s %6s %6s %6s %6s %6s %7s %7s %7s" % (
        "type", "truth", "found", "exact", "finds", "FP", "FN", "prec", "recall", "F1")
    print(hdr)
    print("-" * len(hdr))
    for t, st in sorted(types.items()):
        tp, tr, tf = prf(st["correct"], st["findings"], st["found"], st["truth"])
        print("%-24s %6d %6d %6d %6d %6d %6d %7.4f %7.4f %7.4f" % (
            t, st["truth"], st["found"], st["exact"], st["findings"], st["false"],
            st["truth"] - st["found"], tp, tr, tf))
    print("-" * len(hdr))
    print("%-24s %6d %6d %6d %6d %6d %6d %7.4f %7.4f %7.4f" % (
        "overall", tot["truth"], tot["found"], tot["exact"], tot["findings"], tot["false"],
        tot["truth"] - tot["found"], p, r, f))
    print("\n%d documents; %d of %d entities found with the exact span (%.1f%%); "
          "%d findings on optional entities not counted" % (
              len(docs), tot["exact"], tot["truth"], 100.0 * tot["exact"] / tot["truth"], tot["optional"]))
    if foreign:
        print("note: %d findings in *.truth.jsonl files ignored" % foreign)
    for title, items, total in (("false positives", fp_list, len(fps)), ("false negatives", fn_list, len(fns))):
        if total:
            print("\n%s (%d%s):" % (title, total, ", first %d" % len(items) if total > len(items) else ""))
            for it in items:
                print("  %s:%d %s [%d,%d)  %s" % (it["file"], it["line"], it["type"], it["start"],
                                                  it["end"], it["context"]))
    print("\nprecision %.4f (min %.2f), recall %.4f (min %.2f): %s" % (
        p, a.min_precision, r, a.min_recall, "PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
