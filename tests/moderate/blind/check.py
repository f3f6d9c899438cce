#!/usr/bin/env python3
"""Validate the blind held-out moderation set (format only; does not run the engine)."""
import collections
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CATEGORIES = {
    "harmful.cyber_violence", "harmful.gambling", "harmful.fraud", "harmful.porn",
    "harmful.illegal_lending", "harmful.drugs", "minors.inducement",
}
FIELDS = {"id", "category", "form", "text"}


def main():
    errors = []
    ids = set()
    by_cat = collections.Counter()
    by_form = collections.Counter()
    path = os.path.join(HERE, "evasion.jsonl")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        print(f"evasion.jsonl: not UTF-8: {e}")
        return 1
    for n, line in enumerate(text.split("\n"), 1):
        if line == "" and n == len(text.split("\n")):
            continue  # trailing newline
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"evasion.jsonl:{n}: invalid JSON: {e}")
            continue
        if not isinstance(obj, dict) or set(obj) != FIELDS:
            errors.append(f"evasion.jsonl:{n}: fields must be exactly {sorted(FIELDS)}")
            continue
        if not all(isinstance(obj[k], str) and obj[k].strip() for k in FIELDS):
            errors.append(f"evasion.jsonl:{n}: all fields must be non-empty strings")
        if obj["category"] not in CATEGORIES:
            errors.append(f"evasion.jsonl:{n}: unknown category {obj['category']!r}")
        if obj["id"] in ids:
            errors.append(f"evasion.jsonl:{n}: duplicate id {obj['id']!r}")
        ids.add(obj["id"])
        by_cat[obj["category"]] += 1
        by_form[obj["form"]] += 1

    for name in ("benign.txt", "news-about-harm.txt"):
        p = os.path.join(HERE, name)
        with open(p, "rb") as f:
            raw = f.read()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            errors.append(f"{name}: not UTF-8: {e}")
            continue
        lines = body.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for n, line in enumerate(lines, 1):
            if not line.strip():
                errors.append(f"{name}:{n}: empty line")
            if "\r" in line:
                errors.append(f"{name}:{n}: carriage return")
        dup = [l for l, c in collections.Counter(lines).items() if c > 1]
        for d in dup:
            errors.append(f"{name}: duplicate line {d!r}")
        print(f"{name}: {len(lines)} lines")

    print(f"evasion.jsonl: {sum(by_cat.values())} lines")
    for c in sorted(by_cat):
        print(f"  {c}: {by_cat[c]}")
    plain = by_form.get("plain", 0)
    total = sum(by_form.values()) or 1
    print(f"  forms: plain {plain} ({100 * plain / total:.0f}%), evasive {total - plain}")
    for fm, c in by_form.most_common():
        print(f"    {fm}: {c}")
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"{len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
