#!/usr/bin/env python3
"""Scores `qinglang scan --moderate` on the moderation test data.

    score.py --qinglang BIN [--evasion FILE]... [--benign FILE]...
             [--min-detection X] [--max-fp X] [--exact] [--verbose]

Evasion files (tests/moderate/README.md): every case is written to a file
of its own and moderated as one message; expected hits are compared by
(category, start, end) in bytes, exactly.  Reported:
  - detection: expected hits found exactly / expected hits (on lines with
    a `form` other than the traps), and messages that must be flagged that
    are (review or block);
  - precision: reported word/co-occurrence hits that were expected;
  - decisions: lines whose `decision` matches;
  - per form: lines fully right (every hit, nothing extra, decision).
Benign files: one message per line (--lines); a false positive is a line
decided review or block.

--exact fails unless every evasion line is fully right; --min-detection
and --max-fp fail below / above the given rates.  Exit 0 when all asked
checks pass, 1 otherwise, 2 on usage or run errors.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

TRAP_FORMS = {"allow-trap", "pinyin-trap", "gap-trap", "doxxing-neg", "self-disclosure"}


def expected_spans(case):
    text = case["text"].encode("utf-8")
    spans = []
    for h in case.get("hits", []):
        needle = h["text"].encode("utf-8")
        nth = h.get("nth", 1)
        pos = -1
        for _ in range(nth):
            pos = text.find(needle, pos + 1)
            if pos < 0:
                raise ValueError("%s: '%s' not in text" % (case["id"], h["text"]))
        spans.append((h["category"], pos, pos + len(needle)))
    return spans


def run(qinglang, args):
    p = subprocess.run([qinglang, "scan", "--moderate", "--format", "jsonl"] + args,
                       capture_output=True)
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stderr.decode("utf-8", "replace"))
        sys.exit("score.py: qinglang exited with %d" % p.returncode)
    return [json.loads(l) for l in p.stdout.decode("utf-8").splitlines() if l.strip()]


def score_evasion(qinglang, path, verbose, extra):
    cases = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    with tempfile.TemporaryDirectory() as d:
        names = []
        for i, c in enumerate(cases):
            name = os.path.join(d, "%05d.txt" % i)
            with open(name, "wb") as f:
                f.write(c["text"].encode("utf-8"))
            names.append(name)
        results = {r["path"]: r for r in run(qinglang, extra + [d])}
    st = defaultdict(int)
    per_form = defaultdict(lambda: [0, 0])
    failures = []
    for c, name in zip(cases, names):
        r = results.get(name)
        if r is None or "error" in r:
            sys.exit("score.py: no result for %s" % c["id"])
        got = {(h["category"], h["start"], h["end"]) for h in r["hits"]
               if h["kind"] in ("word", "cooccurrence")}
        ok = True
        if c["form"] in ("doxxing", "doxxing-neg", "self-disclosure"):
            flagged = sorted(s for s, v in r["scores"].items()
                             if v >= 0.5 and s == "harmful.doxxing")
            want = sorted(c.get("categories", []))
            if want:
                st["flag_expected"] += 1
                st["flag_found"] += flagged == want
            else:
                st["trap_lines"] += 1
                st["trap_flagged"] += bool(flagged)
            ok = flagged == want
        else:
            want = set(expected_spans(c))
            found = want & got
            st["expected"] += len(want)
            st["found"] += len(found)
            st["reported"] += len(got)
            st["reported_ok"] += len(got & want)
            if c["form"] not in TRAP_FORMS:
                st["evaded_lines"] += 1
                st["evaded_lines_detected"] += bool(found) or not want
            else:
                st["trap_lines"] += 1
                st["trap_flagged"] += bool(got - want)
            ok = got == want
        if "decision" in c:
            st["decisions"] += 1
            if r["decision"] == c["decision"]:
                st["decisions_ok"] += 1
            else:
                ok = False
        per_form[c["form"]][0] += 1
        per_form[c["form"]][1] += ok
        if not ok:
            failures.append((c, r))
    if verbose:
        for c, r in failures:
            hits = [(h["category"], h["start"], h["end"], h.get("text", h.get("masked")), h["form"])
                    for h in r["hits"]]
            print("FAIL %s [%s] %s\n     want %s decision %s\n     got  %s decision %s"
                  % (c["id"], c["form"], json.dumps(c["text"], ensure_ascii=False),
                     c.get("hits", c.get("categories")), c.get("decision"), hits,
                     r["decision"]))
    return st, per_form, len(failures), len(cases)


def score_blind(qinglang, path, verbose, extra):
    """Blind lines: {"id","category","form","text"}; detected when the
    message is flagged (review or block) for its category."""
    cases = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    with tempfile.TemporaryDirectory() as d:
        names = []
        for i, c in enumerate(cases):
            name = os.path.join(d, "%05d.txt" % i)
            with open(name, "wb") as f:
                f.write(c["text"].encode("utf-8"))
            names.append(name)
        results = {r["path"]: r for r in run(qinglang, extra + [d])}
    by = defaultdict(lambda: [0, 0, 0])
    for c, name in zip(cases, names):
        r = results[name]
        flagged = r["decision"] != "pass" and any(
            k == c["category"] and v >= 0.5 for k, v in r["scores"].items())
        hit = any(h["category"] == c["category"] for h in r["hits"])
        for key in (c["category"], "form:" + c["form"], "all"):
            by[key][0] += 1
            by[key][1] += flagged
            by[key][2] += hit
        if verbose and not flagged:
            print("MISS %s [%s %s] %s -> %s %s" % (c["id"], c["category"], c["form"],
                  json.dumps(c["text"], ensure_ascii=False), r["decision"],
                  [(h["category"], h["word"]) for h in r["hits"]]))
    return by


def score_benign(qinglang, path, verbose, extra):
    results = run(qinglang, extra + ["--lines", path])
    lines = [l for l in open(path, encoding="utf-8").read().split("\n")]
    n = flagged = 0
    for r in results:
        if r.get("line") is None:
            continue
        text = lines[r["line"] - 1] if r["line"] - 1 < len(lines) else ""
        if not text.strip():
            continue
        n += 1
        if r["decision"] != "pass":
            flagged += 1
            if verbose:
                print("FP %s:%d %s %s" % (path, r["line"], r["decision"],
                      [(h["word"], h.get("text")) for h in r["hits"]]))
    return n, flagged


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinglang", required=True)
    ap.add_argument("--evasion", action="append", default=[])
    ap.add_argument("--benign", action="append", default=[])
    ap.add_argument("--blind", action="append", default=[],
                    help="lines with category/form/text: flagged-for-its-category rate")
    ap.add_argument("--min-detection", type=float)
    ap.add_argument("--max-fp", type=float)
    ap.add_argument("--exact", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--arg", action="append", default=[],
                    help="extra argument for qinglang (repeatable)")
    a = ap.parse_args()
    failed = False
    for path in a.evasion:
        st, per_form, nfail, ncases = score_evasion(a.qinglang, path, a.verbose, a.arg)
        det = st["found"] / st["expected"] if st["expected"] else 1.0
        prec = st["reported_ok"] / st["reported"] if st["reported"] else 1.0
        lines_det = (st["evaded_lines_detected"] + st["flag_found"]) / max(1, st["evaded_lines"] + st["flag_expected"])
        print("%s: %d lines, %d fully right; hits: detection %.4f (%d/%d), precision %.4f (%d/%d); "
              "evaded lines detected %.4f; traps flagged %d/%d; decisions %d/%d"
              % (path, ncases, ncases - nfail, det, st["found"], st["expected"], prec,
                 st["reported_ok"], st["reported"], lines_det, st["trap_flagged"],
                 st["trap_lines"], st["decisions_ok"], st["decisions"]))
        print("  per form: " + ", ".join("%s %d/%d" % (f, v[1], v[0])
                                         for f, v in sorted(per_form.items())))
        if a.exact and nfail:
            failed = True
        if a.min_detection is not None and (det < a.min_detection or lines_det < a.min_detection):
            failed = True
    for path in a.blind:
        by = score_blind(a.qinglang, path, a.verbose, a.arg)
        n, f, h = by["all"]
        print("%s: %d lines, flagged for their category %.4f (%d), any hit of it %.4f"
              % (path, n, f / n, f, h / n))
        for key in sorted(by):
            if key != "all":
                print("  %-28s %3d lines, flagged %.3f, hit %.3f"
                      % (key, by[key][0], by[key][1] / by[key][0], by[key][2] / by[key][0]))
        if a.min_detection is not None and f / n < a.min_detection:
            failed = True
    for path in a.benign:
        n, flagged = score_benign(a.qinglang, path, a.verbose, a.arg)
        rate = flagged / n if n else 0.0
        print("%s: %d lines, %d flagged: false-positive rate %.4f" % (path, n, flagged, rate))
        if a.max_fp is not None and rate > a.max_fp:
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
