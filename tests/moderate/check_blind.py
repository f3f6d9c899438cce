#!/usr/bin/env python3
"""Validate a blind held-out moderation set (format only; does not run the engine).

    python3 tests/moderate/check_blind.py tests/moderate/blind2   # or blind3, blind4

The sets from blind2 on share this format (tests/moderate/blind/ has an
older one and its own check.py): ids X-001..X-280 in order (X a letter,
one per set), 40 lines per category, allowed form names (or '+'
combinations), >= 8 distinct forms per category, text length 8-80 code
points, a light sanity check that each evasion form is actually present in
the text, invisible code points written as \\uXXXX escapes, and line
counts / duplicates for benign.txt and news-about-harm.txt.
"""
import collections
import json
import os
import re
import sys

HERE = None   # the set's directory (main)
CATEGORIES = {
    "harmful.cyber_violence", "harmful.gambling", "harmful.fraud", "harmful.porn",
    "harmful.illegal_lending", "harmful.drugs", "minors.inducement",
}
FIELDS = {"id", "category", "form", "text"}
FORMS = {
    "plain", "spaces", "punctuation", "zero-width", "bidi", "combining", "emoji",
    "homoglyph", "fullwidth", "styled", "traditional", "leet", "pinyin",
    "initials", "repeat",
}
PER_CATEGORY = 40
TOTAL = PER_CATEGORY * len(CATEGORIES)
MIN_FORMS_PER_CATEGORY = 8
MIN_LEN, MAX_LEN = 8, 80
EXPECTED_LINES = {"benign.txt": 700, "news-about-harm.txt": 60}

ZW = set("\u200b\u200c\u200d\u2060\ufeff")
BIDI = set(chr(c) for c in list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A)))
INVISIBLE_RE = re.compile("[\u0300-\u036f\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
PUNCT = set(".*/|～￥-_、·#@~$!,;:+=^&%")


def _any(text, pred):
    return any(pred(c) for c in text)


def is_emoji(c):
    o = ord(c)
    return 0x1F300 <= o <= 0x1FAFF or 0x2600 <= o <= 0x27BF or 0x2B00 <= o <= 0x2BFF


def is_styled(c):
    o = ord(c)
    return 0x1D400 <= o <= 0x1D7FF or 0x24B6 <= o <= 0x24E9 or 0x1F130 <= o <= 0x1F189


def has_repeat(text):
    return any(a == b and not a.isspace() for a, b in zip(text, text[1:]))


FORM_CHECKS = {
    "spaces": lambda t: " " in t or "\u3000" in t,
    "punctuation": lambda t: _any(t, lambda c: c in PUNCT),
    "zero-width": lambda t: _any(t, lambda c: c in ZW),
    "bidi": lambda t: _any(t, lambda c: c in BIDI),
    "combining": lambda t: _any(t, lambda c: 0x300 <= ord(c) <= 0x36F),
    "emoji": lambda t: _any(t, is_emoji),
    "homoglyph": lambda t: _any(t, lambda c: 0x370 <= ord(c) <= 0x4FF),
    "fullwidth": lambda t: _any(t, lambda c: 0xFF01 <= ord(c) <= 0xFF5E),
    "styled": lambda t: _any(t, is_styled),
    "leet": lambda t: re.search(r"[A-Za-z][0-9@$]|[0-9@$][A-Za-z]", t) is not None,
    "pinyin": lambda t: re.search(r"[A-Za-z\u0400-\u04ff\U0001D400-\U0001D7FF]{4,}", t) is not None,
    "initials": lambda t: re.search(r"[A-Za-z\uff21-\uff5a]", t) is not None,
    "repeat": has_repeat,
    "plain": lambda t: not _any(t, lambda c: c in ZW or c in BIDI or 0x300 <= ord(c) <= 0x36F),
}


def main():
    errors = []
    ids = []
    by_cat = collections.Counter()
    by_form = collections.Counter()
    forms_by_cat = collections.defaultdict(collections.Counter)
    texts = set()
    path = os.path.join(HERE, "evasion.jsonl")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        print(f"evasion.jsonl: not UTF-8: {e}")
        return 1
    if not text.endswith("\n"):
        errors.append("evasion.jsonl: missing trailing newline")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            errors.append(f"evasion.jsonl:{n}: empty line")
            continue
        if "\r" in line:
            errors.append(f"evasion.jsonl:{n}: carriage return")
        if INVISIBLE_RE.search(line):
            errors.append(f"evasion.jsonl:{n}: invisible/combining code point not written as \\u escape")
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
            continue
        cat, form, t = obj["category"], obj["form"], obj["text"]
        if cat not in CATEGORIES:
            errors.append(f"evasion.jsonl:{n}: unknown category {cat!r}")
        parts = form.split("+")
        if any(p not in FORMS for p in parts) or len(set(parts)) != len(parts):
            errors.append(f"evasion.jsonl:{n}: bad form {form!r}")
        elif "plain" in parts and len(parts) > 1:
            errors.append(f"evasion.jsonl:{n}: 'plain' cannot be combined")
        else:
            visible = INVISIBLE_RE.sub("", t)
            for p in parts:
                probe = visible if p in ("leet", "pinyin", "initials", "repeat") else t
                if not FORM_CHECKS.get(p, lambda _t: True)(probe):
                    errors.append(f"evasion.jsonl:{n}: form {p!r} not visible in text {t!r}")
        if not (MIN_LEN <= len(t) <= MAX_LEN):
            errors.append(f"evasion.jsonl:{n}: text length {len(t)} outside {MIN_LEN}-{MAX_LEN}")
        if "\n" in t or "\r" in t:
            errors.append(f"evasion.jsonl:{n}: newline inside text")
        if t in texts:
            errors.append(f"evasion.jsonl:{n}: duplicate text")
        texts.add(t)
        ids.append(obj["id"])
        by_cat[cat] += 1
        by_form[form] += 1
        for p in parts:
            forms_by_cat[cat][p] += 1

    prefix = ids[0].split("-")[0] if ids and "-" in ids[0] else "?"
    expected_ids = [f"{prefix}-{i:03d}" for i in range(1, TOTAL + 1)]
    if len(set(ids)) != len(ids):
        dups = [i for i, c in collections.Counter(ids).items() if c > 1]
        errors.append(f"evasion.jsonl: duplicate ids {dups}")
    if ids != expected_ids:
        errors.append(f"evasion.jsonl: ids must be exactly {prefix}-001..{prefix}-{TOTAL:03d} in order")
    for c in sorted(CATEGORIES):
        if by_cat[c] != PER_CATEGORY:
            errors.append(f"evasion.jsonl: category {c} has {by_cat[c]} lines, expected {PER_CATEGORY}")
        nforms = len(forms_by_cat[c])
        if nforms < MIN_FORMS_PER_CATEGORY:
            errors.append(f"evasion.jsonl: category {c} uses {nforms} forms, need >= {MIN_FORMS_PER_CATEGORY}")

    other = {}
    for name in ("benign.txt", "news-about-harm.txt"):
        p = os.path.join(HERE, name)
        with open(p, "rb") as f:
            raw = f.read()
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            errors.append(f"{name}: not UTF-8: {e}")
            continue
        if body and not body.endswith("\n"):
            errors.append(f"{name}: missing trailing newline")
        lines = body.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for n, line in enumerate(lines, 1):
            if not line.strip():
                errors.append(f"{name}:{n}: empty line")
            if "\r" in line:
                errors.append(f"{name}:{n}: carriage return")
            if line != line.strip():
                errors.append(f"{name}:{n}: leading/trailing whitespace")
        dup = [l for l, c in collections.Counter(lines).items() if c > 1]
        for d in dup:
            errors.append(f"{name}: duplicate line {d!r}")
        if len(lines) != EXPECTED_LINES[name]:
            errors.append(f"{name}: {len(lines)} lines, expected {EXPECTED_LINES[name]}")
        other[name] = set(lines)
        print(f"{name}: {len(lines)} lines")
    if "benign.txt" in other:
        for a, b in (("evasion.jsonl", texts), ("news-about-harm.txt", other.get("news-about-harm.txt", set()))):
            for l in sorted(other["benign.txt"] & b):
                errors.append(f"benign.txt: line also in {a}: {l!r}")

    print(f"evasion.jsonl: {sum(by_cat.values())} lines")
    for c in sorted(by_cat):
        fc = forms_by_cat[c]
        print(f"  {c}: {by_cat[c]} lines, {len(fc)} forms: "
              + ", ".join(f"{k} {v}" for k, v in sorted(fc.items(), key=lambda kv: (-kv[1], kv[0]))))
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
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit("usage: check_blind.py SET_DIRECTORY")
    HERE = os.path.abspath(sys.argv[1])
    sys.exit(main())
