#!/usr/bin/env python3
"""Gathers the moderation model's training data into one TSV.

    model-data.py OUT.tsv INPUT...
    model-data.py --root SOURCE_DIR OUT.tsv [INPUT...]

With --root, the inputs are the project's training data: data/moderate/*
and the moderation test sets that are development sets by now
(tests/moderate/evasion.jsonl, benign/, heldout/, blind/ .. blind4/) —
never tests/moderate/blind5/, the held-out set the model is measured on.
The CMake build and fuzz/build.sh both call it this way, adding one
megabyte of bench/gen.c's machine text (logs, JSON, CSV, prose with
identifiers) as ordinary text: without it the model read numbers and log
fields as fraud and gambling.

Each INPUT is
  *.jsonl  one {"category", "text"[, "form"]} a line (the evasion test
           corpus's trap forms are ordinary text: benign);
  *.tsv    one "category<TAB>text" a line;
  *.txt    ordinary text, one message a line (benign).
Writes "category<TAB>text" lines (tabs and line breaks inside a text become
spaces; a text given twice is kept once, a harmful label over a benign
one), the input for tools/model-gen and `qinglang model train`.
docs/moderate.md "Model" lists the inputs and what is never trained on.
"""
import json
import os
import sys

TRAPS = {"allow-trap", "pinyin-trap", "gap-trap", "doxxing-neg", "self-disclosure"}


DEV_SETS = ["benign", "heldout", "blind", "blind2", "blind3", "blind4"]


def project_inputs(root):
    import glob
    files = []
    for pat in ["data/moderate/*.tsv", "data/moderate/*.jsonl", "data/moderate/*.txt"]:
        files += glob.glob(os.path.join(root, pat))
    for name in DEV_SETS:
        for pat in ["*.jsonl", "*.txt"]:
            files += glob.glob(os.path.join(root, "tests/moderate", name, pat))
    files.sort()
    files.append(os.path.join(root, "tests/moderate/evasion.jsonl"))
    return files


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "--root":
        out, inputs = sys.argv[3], project_inputs(sys.argv[2]) + sys.argv[4:]
    elif len(sys.argv) >= 3 and not sys.argv[1].startswith("-"):
        out, inputs = sys.argv[1], sys.argv[2:]
    else:
        sys.exit(__doc__)
    label = {}
    order = []

    def add(cat, text):
        text = " ".join(text.replace("\t", " ").splitlines()).strip()
        if not text:
            return
        if text not in label:
            order.append(text)
            label[text] = cat
        elif label[text] == "benign" and cat != "benign":
            label[text] = cat

    for path in inputs:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                if path.endswith(".jsonl"):
                    o = json.loads(line)
                    if o.get("form") in TRAPS or "category" not in o:
                        add("benign", o["text"])
                    else:
                        add(o["category"], o["text"])
                elif path.endswith(".tsv"):
                    cat, sep, text = line.partition("\t")
                    if not sep:
                        sys.exit("%s:%d: no tab" % (path, n))
                    add(cat, text)
                else:
                    add("benign", line)
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for text in order:
            f.write("%s\t%s\n" % (label[text], text))
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
