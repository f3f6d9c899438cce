#!/usr/bin/env python3
"""Data checks for the moderation lexicons and test corpora.

    python3 tests/moderate/check_data.py            # the checks CI runs
    python3 tests/moderate/check_data.py --strict   # + a reference matcher
    python3 tests/moderate/check_data.py --scan FILE  # print reference hits

Default checks (must pass in CI):
  * rules/lexicons/*.yaml: the format the engine parses (ids, categories,
    severities, pinyin modes, roles, co-occurrence rules), words simplified
    and lower case, no duplicates, every allow phrase containing a word of
    its rule;
  * tests/moderate/evasion.jsonl and tests/moderate/heldout/evasion.jsonl:
    every line parses, has the fields of its kind, every hit's `text`
    occurs (the `nth` time) in the line, hits are in order of position, and
    every hit normalises to a word of its category's lexicon (or to the
    pinyin / initials of one, or contains every term of one of the
    category's co-occurrence rules); identifiers in doxxing lines are
    valid (GB 11643 check digit, mobile prefix, Luhn);
  * the benign files exist with one non-empty message per line and the
    required number of lines.

--strict also runs a small reference implementation of the matching
semantics in README.md (normalisation, noise gaps, repeats, pinyin,
whole-word Latin, allow lists, co-occurrence) and requires that it finds
exactly the expected hits on every evasion line and nothing on the benign
news/chat lines. It is an approximation of lib/moderate.c written for the
data, not the engine's specification: when the two disagree, read
README.md.

Needs python3, OpenCC's `opencc` command (traditional -> simplified) and
Unihan_Readings.txt(.bz2) from Debian's unicode-data (pinyin); both are
installed by scripts/install-deps.sh.
"""

import bz2
import glob
import itertools
import json
import os
import re
import subprocess
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
LEXDIR = os.path.join(ROOT, "rules", "lexicons")

CATEGORIES = {
    "cyber_violence": "harmful.cyber_violence",
    "doxxing": "harmful.doxxing",
    "gambling": "harmful.gambling",
    "fraud": "harmful.fraud",
    "porn": "harmful.porn",
    "illegal_lending": "harmful.illegal_lending",
    "drugs": "harmful.drugs",
    "minors": "minors.inducement",
}
SEVERITIES = {"low", "medium", "high", "critical", "signal"}
PINYIN_MODES = {"none", "full", "initials"}
ROLES = {"exposure", "self"}
FORMS = {
    "case", "zero-width", "bidi", "combining", "emoji", "fullwidth",
    "traditional", "styled", "lookalike", "leet", "space", "punct",
    "repeat", "pinyin", "initials", "combo", "cooccur", "allow-trap",
    "pinyin-trap", "gap-trap", "doxxing", "doxxing-neg", "self-disclosure",
    "plain",
}
DOXXING_FORMS = {"doxxing", "doxxing-neg", "self-disclosure"}
DECISIONS = {"block", "review", "pass"}
MAX_GAP = 8

errors = []


def err(where, msg):
    errors.append("%s: %s" % (where, msg))


# --------------------------------------------------------------- YAML ----

def _scalar(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    return v


def _strip_comment(line):
    out, q = [], None
    for i, c in enumerate(line):
        if q:
            if c == q:
                q = None
        elif c in "'\"":
            q = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            break
        out.append(c)
    return "".join(out).rstrip()


def mini_yaml(text):
    """The subset the lexicons use, for machines without PyYAML."""
    doc, rules, rule, key = {}, None, None, None
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line.strip():
            continue
        ind = len(line) - len(line.lstrip())
        s = line.strip()
        if ind == 0:
            k, _, v = s.partition(":")
            if k == "rules":
                rules = doc["rules"] = []
            else:
                doc[k] = _scalar(v)
        elif s.startswith("- ") and ind <= 2:
            rule = {}
            rules.append(rule)
            s = s[2:]
            k, _, v = s.partition(":")
            rule[k.strip()] = _scalar(v)
        elif s.startswith("- "):
            rule[key].append(_scalar(s[2:]))
        else:
            k, _, v = s.partition(":")
            k, v = k.strip(), v.strip()
            key = k
            if v.startswith("["):
                rule[k] = [_scalar(x) for x in v.strip("[]").split(",") if x.strip()]
            elif v == "":
                rule[k] = []
            else:
                rule[k] = _scalar(v)
    return doc


def _yaml_module():
    """PyYAML: this python's, or Debian's python3-yaml (scripts/install-deps.sh
    installs it) when this python is another one (pyenv)."""
    try:
        import yaml  # noqa
        return yaml
    except ImportError:
        pass
    for d in glob.glob("/usr/lib/python3/dist-packages"):
        if d not in sys.path:
            sys.path.append(d)
            try:
                import yaml  # noqa
                return yaml
            except ImportError:
                sys.path.remove(d)
    return None


def load_yaml(path):
    text = open(path, encoding="utf-8").read()
    yaml = _yaml_module()
    if yaml is not None:
        return yaml.safe_load(text)
    if re.search(r"(^|[\s\[,:])[&*][A-Za-z_]", text, re.M):
        sys.exit("check_data.py: %s uses YAML anchors; install python3-yaml "
                 "(scripts/install-deps.sh does)" % path)
    return mini_yaml(text)


# ------------------------------------------------ traditional, pinyin ----

_T2S = {}


def t2s_prime(chars):
    chars = sorted(set(c for c in chars if c not in _T2S and ord(c) >= 0x2E80))
    if not chars:
        return
    try:
        out = subprocess.run(["opencc", "-c", "t2s.json"], input="\n".join(chars) + "\n",
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit("check_data: needs OpenCC's opencc command (apt-get install opencc): %s" % e)
    lines = out.split("\n")
    for c, s in zip(chars, lines):
        _T2S[c] = s if len(s) == 1 else c


def t2s(c):
    return _T2S.get(c, c)


_PINYIN = None


def pinyin_table():
    global _PINYIN
    if _PINYIN is not None:
        return _PINYIN
    _PINYIN = {}
    for p in ("/usr/share/unicode/Unihan_Readings.txt.bz2", "/usr/share/unicode/Unihan_Readings.txt",
              "/usr/share/unicode-data/Unihan_Readings.txt"):
        if os.path.exists(p):
            f = bz2.open(p, "rt", encoding="utf-8") if p.endswith(".bz2") else open(p, encoding="utf-8")
            for line in f:
                if "\tkMandarin\t" not in line:
                    continue
                cp, _, val = line.rstrip("\n").split("\t")
                out = []
                for ch in unicodedata.normalize("NFD", val.split()[0]):
                    if ch == "\u0308":
                        out[-1] = "v"
                    elif unicodedata.category(ch) != "Mn":
                        out.append(ch)
                r = "".join(out)
                _PINYIN[chr(int(cp[2:], 16))] = r.lower()
            return _PINYIN
    sys.exit("check_data: needs Unihan_Readings.txt (apt-get install unicode-data)")


def is_cjk(c):
    o = ord(c)
    return 0x3400 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x3FFFF


_ENGLISH = None


def english_guard():
    """Ordinary English words a generated pinyin form must not be: lower
    case dictionary words of six letters or fewer, or made of pinyin
    syllables (as scripts/gen-moderate-tables.py builds them)."""
    global _ENGLISH
    if _ENGLISH is not None:
        return _ENGLISH
    _ENGLISH = set()
    try:
        raw = [w.strip() for w in open("/usr/share/dict/words", encoding="utf-8")]
    except OSError:
        return _ENGLISH
    syl = set(pinyin_table().values())

    def segmentable(w):
        ok = [True] + [False] * len(w)
        for i in range(1, len(w) + 1):
            for j in range(max(0, i - 6), i):
                if ok[j] and w[j:i] in syl:
                    ok[i] = True
                    break
        return ok[len(w)]

    for w in raw:
        if w.lower() != w or len(w) < 2 or not w.isascii() or not w.isalpha():
            continue
        if len(w) <= 6 or segmentable(w):
            _ENGLISH.add(w)
    return _ENGLISH


def word_pinyin(word):
    """(full, initials) toneless pinyin of a word of two or more Chinese
    characters (noise ignored), or None."""
    tab = pinyin_table()
    syl = []
    for c in word:
        f, cls = fold_char(c)
        if cls == NOISE:
            continue
        if cls != CJK or f not in tab:
            return None
        syl.append(tab[f])
    if len(syl) < 2:
        return None
    return "".join(syl), "".join(x[0] for x in syl), " ".join(syl)


# ---------------------------------------------------- normalisation ----

# Look-alikes of Latin letters that NFKC leaves alone, by the code point
# before case folding (the engine's table).
LOOKALIKE = {  # lib/moderate.c's lookalikes[]
    0x0131: "i", 0x0251: "a", 0x0261: "g", 0x0262: "g", 0x0269: "i", 0x026A: "i",
    0x0274: "n", 0x0280: "r", 0x028F: "y", 0x0299: "b", 0x029C: "h", 0x029F: "l",
    0x037F: "j", 0x0391: "a", 0x0392: "b", 0x0395: "e", 0x0396: "z", 0x0397: "h",
    0x0399: "i", 0x039A: "k", 0x039C: "m", 0x039D: "n", 0x039F: "o", 0x03A1: "p",
    0x03A4: "t", 0x03A5: "y", 0x03A7: "x", 0x03B1: "a", 0x03B3: "y", 0x03B5: "e",
    0x03B7: "n", 0x03B9: "i", 0x03BA: "k", 0x03BD: "v", 0x03BF: "o", 0x03C1: "p",
    0x03C4: "t", 0x03C5: "u", 0x03C7: "x", 0x03C9: "w", 0x03F2: "c", 0x03F3: "j",
    0x03F9: "c", 0x0405: "s", 0x0406: "i", 0x0408: "j", 0x0410: "a", 0x0412: "b",
    0x0415: "e", 0x041A: "k", 0x041C: "m", 0x041D: "h", 0x041E: "o", 0x0420: "p",
    0x0421: "c", 0x0422: "t", 0x0423: "y", 0x0425: "x", 0x0430: "a", 0x0435: "e",
    0x043A: "k", 0x043E: "o", 0x043F: "n", 0x0440: "p", 0x0441: "c", 0x0443: "y",
    0x0445: "x", 0x0455: "s", 0x0456: "i", 0x0458: "j", 0x04AE: "y", 0x04AF: "y",
    0x04BB: "h", 0x04C0: "i", 0x04CF: "i", 0x0500: "d", 0x0501: "d", 0x051A: "q",
    0x051B: "q", 0x051C: "w", 0x051D: "w", 0x0566: "q", 0x0570: "h", 0x0578: "n",
    0x057D: "u", 0x0581: "g", 0x0585: "o", 0x13A0: "d", 0x13A1: "r", 0x13A2: "t",
    0x13A5: "i", 0x13A9: "y", 0x13AA: "a", 0x13AB: "j", 0x13AC: "e", 0x13B3: "w",
    0x13B7: "m", 0x13BB: "h", 0x13BD: "y", 0x13C0: "g", 0x13C2: "h", 0x13C3: "z",
    0x13CF: "b", 0x13D2: "r", 0x13D4: "w", 0x13D5: "s", 0x13D9: "v", 0x13DA: "s",
    0x13DE: "l", 0x13DF: "c", 0x13E2: "p", 0x13E6: "k", 0x13E7: "d", 0x13F3: "g",
    0x13F4: "b", 0x142F: "v", 0x144C: "u", 0x146D: "p", 0x146F: "d", 0x1472: "b",
    0x148D: "j", 0x14AA: "l", 0x157C: "h", 0x1587: "r", 0x15AF: "b", 0x15B4: "f",
    0x15C5: "a", 0x15DE: "d", 0x15EA: "d", 0x15F0: "m", 0x15F7: "b", 0x16B7: "x",
    0x16D5: "k", 0x16D6: "m", 0x1D00: "a", 0x1D04: "c", 0x1D05: "d", 0x1D07: "e",
    0x1D0A: "j", 0x1D0B: "k", 0x1D0D: "m", 0x1D0F: "o", 0x1D18: "p", 0x1D1B: "t",
    0x1D1C: "u", 0x1D20: "v", 0x1D21: "w", 0x1D22: "z", 0x2C82: "b", 0x2C8E: "h",
    0x2C92: "l", 0x2C93: "i", 0x2C94: "k", 0x2C98: "m", 0x2C9A: "n", 0x2C9E: "o",
    0x2C9F: "o", 0x2CA2: "p", 0x2CA3: "p", 0x2CA4: "c", 0x2CA5: "c", 0x2CA6: "t",
    0x2CA8: "y", 0x2CA9: "y", 0x2CAC: "x", 0x2D38: "v", 0x2D39: "e", 0x2D54: "o",
    0x2D55: "q", 0x2D5D: "x", 0xA4D0: "b", 0xA4D1: "p", 0xA4D2: "d", 0xA4D3: "d",
    0xA4D4: "t", 0xA4D6: "g", 0xA4D7: "k", 0xA4D9: "j", 0xA4DA: "c", 0xA4DC: "z",
    0xA4DD: "f", 0xA4DF: "m", 0xA4E0: "n", 0xA4E1: "l", 0xA4E2: "s", 0xA4E3: "r",
    0xA4E6: "v", 0xA4E7: "h", 0xA4EA: "w", 0xA4EB: "x", 0xA4EC: "y", 0xA4EE: "a",
    0xA4F0: "e", 0xA4F2: "l", 0xA4F3: "o", 0xA4F4: "u", 0xA730: "f", 0xA731: "s",
    0xA7AF: "q", 0xAB75: "i", 0xAB81: "r", 0xAB83: "w", 0xAB93: "z", 0xABA9: "v",
    0xABAA: "s", 0xABAF: "c",
}
LEET = {"0": "o", "1": "il", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t", "8": "b"}
NOISE_CATS = {"Zs", "Zl", "Zp", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk",
              "So", "Cc", "Cf", "Mn", "Me", "Cs", "Co"}

NOISE, WORD, CJK, OTHER, LEETSYM, UNDERSCORE = "noise", "word", "cjk", "other", "leet", "underscore"


def fold_char(c):
    """(folded character, class) of one original character."""
    cp = ord(c)
    if cp in (0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800) or 0xE0000 <= cp <= 0xE0FFF:
        return c, NOISE
    if c in "@$":
        return c, LEETSYM
    if c == "_":
        return c, UNDERSCORE
    if 0x1F150 <= cp <= 0x1F169:
        return chr(ord("a") + cp - 0x1F150), WORD
    if 0x1F170 <= cp <= 0x1F189:
        return chr(ord("a") + cp - 0x1F170), WORD
    if 0x1F1E6 <= cp <= 0x1F1FF:
        return chr(ord("a") + cp - 0x1F1E6), WORD
    cat = unicodedata.category(c)
    if cat in NOISE_CATS:
        styled = False
        if cat == "So":
            d = unicodedata.normalize("NFKD", c)
            letters = [x for x in d if unicodedata.category(x) in ("Lu", "Ll", "Nd")]
            others = [x for x in d if unicodedata.category(x) not in ("Lu", "Ll", "Nd")
                      and unicodedata.category(x) not in NOISE_CATS]
            styled = d != c and len(letters) == 1 and not others
        if not styled:
            return c, NOISE
    f = LOOKALIKE.get(cp)
    if f is None:
        d = unicodedata.normalize("NFKD", c)
        d = "".join(x for x in d if not unicodedata.combining(x))
        d = d.casefold() if len(d) else d
        keep = [x for x in d if unicodedata.category(x) not in NOISE_CATS]
        f = keep[0] if len(keep) == 1 else c.lower()
        if ord(f) in LOOKALIKE:
            f = LOOKALIKE[ord(f)]
    f = f.lower()
    f = t2s(f)
    if f.isascii() and f.isalnum():
        return f, WORD
    if is_cjk(f):
        return f, CJK
    return f, OTHER


def is_latin(c):
    return c.isascii() and c.isalnum()


def char_matches(t, w):
    return t == w or w in LEET.get(t, "")


class Run:
    __slots__ = ("cp", "count", "start", "end", "seq", "before_word", "after_word", "after_set",
                 "noisy", "head_end", "head_count", "head_after", "tail_start", "tail_count",
                 "tail_before")


class Stream:
    """The message as the engine views it: runs of one folded character,
    noise skipped (a gap of more than MAX_GAP noise characters breaks the
    view), each run keeping its original span (code-point offsets)."""

    def __init__(self, text):
        self.text = text
        self.runs = []      # Run
        self.breaks = []    # seq numbers where the view was broken
        run = None
        gap = 0
        prev_word = False
        broken = False
        for i, c in enumerate(text):
            f, cls = fold_char(c)
            if cls in (NOISE, LEETSYM, UNDERSCORE):
                if cls == LEETSYM and run is not None and gap == 0 and prev_word:
                    cls = WORD
                else:
                    joins = cls == UNDERSCORE
                    if run is not None and not run.after_set:
                        run.after_set, run.after_word = True, joins
                    prev_word = joins
                    gap += 1
                    if gap > MAX_GAP and not broken:
                        if run is not None:
                            self._close(run)
                            run = None
                        self.breaks.append(len(self.runs))
                        broken = True
                    continue
            word = cls == WORD
            if run is not None and run.cp == f:
                if gap:
                    # the run goes on across noise: remember its first and
                    # last noise-free segments (see find())
                    if not run.noisy:
                        run.noisy = True
                        run.head_end, run.head_count = run.end, run.count
                        run.head_after = run.after_word
                    run.tail_start, run.tail_count, run.tail_before = i, 0, prev_word
                run.count += 1
                run.tail_count += 1
                run.end = i + 1
                run.after_set = False
                gap = 0
                prev_word = word
                continue
            if run is not None:
                if not run.after_set:
                    run.after_set, run.after_word = True, word
                self._close(run)
            run = Run()
            run.cp, run.count, run.start, run.end = f, 1, i, i + 1
            run.before_word, run.after_word, run.after_set = prev_word, False, False
            run.noisy, run.tail_count = False, 1
            gap = 0
            broken = False
            prev_word = word
        if run is not None:
            self._close(run)

    def _close(self, run):
        run.seq = len(self.runs)
        self.runs.append(run)

    def spaces_ok(self, s, n, start, end, cuts):
        """Whitespace inside a Latin match: only between single letters
        ("s h i t") or where the word itself has a space or a syllable
        boundary ("fuck off", "sha bi"); "let's hit" holds no "shit"."""
        text = self.text
        if not any(text[i].isspace() for i in range(start, end)):
            return True
        chunks = re.split(r"\s+", text[start:end])
        if all(sum(1 for c in ch if fold_char(c)[1] not in (NOISE, UNDERSCORE)) <= 1 for ch in chunks):
            return True
        runs = self.runs
        for i in range(start, end):
            if not text[i].isspace():
                continue
            k = next((k for k in range(1, n) if runs[s + k - 1].end <= i < runs[s + k].start), None)
            if k is None or k not in cuts:
                return False
        return True

    def find(self, wruns, latin_first, latin_last, cuts=frozenset()):
        """All matches of a compiled word: (start, end, seq_first, seq_last)."""
        res = []
        n = len(wruns)
        runs = self.runs
        if n == 0:
            return res
        for s in range(len(runs) - n + 1):
            if any(s < b <= s + n - 1 for b in self.breaks):
                continue
            ok = True
            for j in range(n):
                t, (wc, wn) = runs[s + j], wruns[j]
                if t.count < wn or not char_matches(t.cp, wc):
                    ok = False
                    break
            if not ok:
                continue
            first, last = runs[s], runs[s + n - 1]
            start, end = first.start, last.end
            if (latin_first or latin_last) and not any(
                    runs[s + j].cp.isalpha() for j in range(n)):
                continue    # digits alone are a number, not leet ("5.8", "58")
            if latin_first and first.before_word:
                # A run that goes on across noise ("this shit": s, space,
                # s) may start the word at its last noise-free segment.
                if not (first.noisy and not first.tail_before and first.tail_count >= wruns[0][1]):
                    continue
                start = first.tail_start
            if latin_last and last.after_word:
                if not (last.noisy and not last.head_after and last.head_count >= wruns[-1][1]):
                    continue
                end = last.head_end
            if start >= end:
                continue
            if (latin_first or latin_last) and not self.spaces_ok(s, n, start, end, cuts):
                continue
            res.append((start, end, first.seq, last.seq))
        return res


def compile_word(w):
    """A word's runs [(char, count)], folded like the text, and whether it
    needs a word boundary before / after."""
    out = []
    cuts = set()
    first_cls = last_cls = None
    for c in w:
        f, cls = fold_char(c)
        if cls in (NOISE, UNDERSCORE):
            if c.isspace() and out:
                cuts.add(len(out))
            continue
        if cls == LEETSYM:
            if not (out and last_cls == WORD):
                continue
            cls = WORD
        if out and out[-1][0] == f:
            out[-1][1] += 1
            continue
        out.append([f, 1])
        if first_cls is None:
            first_cls = cls
        last_cls = cls
    return [tuple(x) for x in out], first_cls == WORD, last_cls == WORD, frozenset(cuts)


def norm_hit(text):
    """A hit's text as a key: folded characters, repeats collapsed, leet
    read as letters."""
    out = []
    for r in Stream(text).runs:
        c = r.cp
        if c in LEET and any(x.isalpha() for x in text if x.isascii()):
            c = LEET[c][0]
        out.append(c)
    return "".join(out)


def norm_word(w):
    return "".join(c for c, _ in compile_word(w)[0])


# ---------------------------------------------------------- lexicons ----

class Rule:
    pass


def load_lexicons():
    rules = []
    ids = set()
    files = sorted(glob.glob(os.path.join(LEXDIR, "*.yaml")))
    names = {os.path.basename(f)[:-5] for f in files}
    for short in CATEGORIES:
        if short not in names:
            err("rules/lexicons", "missing %s.yaml" % short)
    allchars = []
    docs = []
    for f in files:
        where = os.path.relpath(f, ROOT)
        stem = os.path.basename(f)[:-5]
        # One file per category, or more: <category>_<part>.yaml
        short = max((c for c in CATEGORIES if stem == c or stem.startswith(c + "_")),
                    key=len, default=None)
        if short is None:
            err(where, "unknown lexicon file (files are named after a category, "
                "<category>.yaml or <category>_<part>.yaml: %s)" % ", ".join(CATEGORIES))
            continue
        try:
            doc = load_yaml(f)
        except Exception as e:  # noqa
            err(where, "YAML: %s" % e)
            continue
        docs.append((f, where, short, doc))
        for r in doc.get("rules") or []:
            for k in ("words", "allow", "all"):
                for w in r.get(k) or []:
                    for x in (w if isinstance(w, list) else [w]):
                        allchars.extend(str(x))
    t2s_prime(allchars)
    for f, where, short, doc in docs:
        if doc.get("version") != 1:
            err(where, "version must be 1")
        if not isinstance(doc.get("rules"), list) or not doc["rules"]:
            err(where, "rules must be a non-empty list")
            continue
        for r in doc["rules"]:
            rid = r.get("id", "?")
            w = "%s: %s" % (where, rid)
            known = {"id", "category", "severity", "description", "pinyin", "words", "allow", "all", "within", "role"}
            for k in r:
                if k not in known:
                    err(w, "unknown key %r" % k)
            if not re.fullmatch(r"lex\.%s[a-z0-9_]*\.[a-z0-9_.]+" % re.escape(short), str(rid)):
                err(w, "id must be lex.%s.<name> (or lex.%s<part>.<name>) with [a-z0-9_.]"
                    % (short, short))
            if rid in ids:
                err(w, "duplicate id")
            ids.add(rid)
            if r.get("category") != CATEGORIES[short]:
                err(w, "category must be %s" % CATEGORIES[short])
            sev = r.get("severity")
            if sev not in SEVERITIES:
                err(w, "severity must be one of %s" % sorted(SEVERITIES))
            if not r.get("description"):
                err(w, "description missing")
            role = r.get("role")
            if role is not None:
                if role not in ROLES or short != "doxxing" or sev != "signal":
                    err(w, "role (exposure|self) only in doxxing rules of severity signal")
            pin = r.get("pinyin", "full")
            if pin not in PINYIN_MODES:
                err(w, "pinyin must be none|full|initials")
            words, allw = r.get("words"), r.get("all")
            if (words is None) == (allw is None):
                err(w, "needs exactly one of words: or all:")
                continue
            rule = Rule()
            rule.id, rule.category, rule.severity, rule.role = rid, CATEGORIES[short], sev, role
            rule.pinyin = pin
            rule.words, rule.all, rule.within = [], [], None
            rule.allow = [str(a) for a in (r.get("allow") or [])]
            if allw is not None:
                if not isinstance(allw, list) or len(allw) < 2:
                    err(w, "all: needs at least two terms")
                    allw = []
                within = r.get("within")
                if not isinstance(within, int) or not 1 <= within <= 500:
                    err(w, "within: an integer 1..500 is required with all:")
                rule.within = within
                # a part is a word or a list of alternatives
                rule.all = [[str(a) for a in x] if isinstance(x, list) else [str(x)] for x in allw]
                for x in rule.all:
                    if not x:
                        err(w, "all: an empty list of alternatives")
            else:
                if not isinstance(words, list) or not words:
                    err(w, "words: must be a non-empty list")
                    words = []
                if r.get("within") is not None:
                    err(w, "within: only with all:")
                rule.words = [str(x) for x in words]
            # Duplicates within the words; a part's alternatives may
            # repeat one (harmless), but a word in two parts would let one
            # occurrence stand for both.
            part_of = {}
            for pi, alts in enumerate(rule.all):
                for a in alts:
                    if part_of.setdefault(a, pi) != pi:
                        err(w, "word %r is in two parts (one occurrence would stand for both)" % a)
            for gi, group in enumerate([rule.words] + rule.all):
                seen = set() if gi == 0 else None
                for x in group:
                    if not isinstance(x, str) or not x.strip():
                        err(w, "empty word")
                        continue
                    if x != x.strip():
                        err(w, "word %r has surrounding spaces" % x)
                    if x != x.lower():
                        err(w, "word %r must be lower case" % x)
                    if unicodedata.normalize("NFKC", x) != x:
                        err(w, "word %r is not NFKC (full-width or styled form?)" % x)
                    if "".join(t2s(c) for c in x) != x:
                        err(w, "word %r is not simplified Chinese" % x)
                    if seen is not None:
                        if x in seen:
                            err(w, "duplicate word %r" % x)
                        seen.add(x)
                    if not norm_word(x):
                        err(w, "word %r is all noise" % x)
            # An allow phrase suppresses the rule's hits (words or
            # co-occurrence parts, any spelling) inside it: it must hold one.
            spellings = set()
            for x in rule.words + [a for alts in rule.all for a in alts]:
                spellings.add(x)
                py = word_pinyin(x) if rule.pinyin in ("full", "initials") else None
                if py:
                    spellings.add(py[0])
                    if rule.pinyin == "initials":
                        spellings.add(py[1])
            for a in rule.allow:
                na = norm_word(a)
                if not any(x in a or norm_word(x) in na for x in spellings):
                    err(w, "allow phrase %r contains none of the rule's words" % a)
                if a != a.lower() or "".join(t2s(c) for c in a) != a:
                    err(w, "allow phrase %r must be simplified, lower case" % a)
            rules.append(rule)
    return rules


# ---------------------------------------------- reference matcher ----

def word_forms(word, pinyin_mode):
    """The spellings of one word the engine matches: the word itself, and
    its pinyin / initials where the rule asks and they are no English word."""
    out = [word]
    if pinyin_mode in ("full", "initials"):
        py = word_pinyin(word)
        if py:
            eng = english_guard()
            if py[0] not in eng:
                out.append(py[2])       # syllables spaced: "sha bi" also matches
            if pinyin_mode == "initials" and py[1] not in eng:
                out.append(py[1])
    return out


def compiled(rule, cache):
    if rule.id not in cache:
        words = [compile_word(f) for w in rule.words for f in word_forms(w, rule.pinyin)]
        allows = [compile_word(a) for a in rule.allow]
        parts = [[compile_word(f) for t in alts for f in word_forms(t, rule.pinyin)]
                 for alts in rule.all]
        cache[rule.id] = (words, allows, parts)
    return cache[rule.id]


def scan(rules, text, cache):
    """Reference hits: [(category, start, end, severity, rule id)], spans in
    code points of text."""
    st = Stream(text)
    terms = []   # (seq_first, seq_last, start, end, rule)
    out = []
    for r in rules:
        if r.severity == "signal" or r.role:
            continue
        words, allows, parts = compiled(r, cache)
        if r.words:
            allow_spans = [m for a in allows for m in st.find(*a)]
            for w in words:
                for a, b, sf, sl in st.find(*w):
                    if any(x[2] <= sf and sl <= x[3] for x in allow_spans):
                        continue
                    terms.append((sf, sl, a, b, r))
        else:
            allow_spans = [m for a in allows for m in st.find(*a)]
            occ = []  # (seq_first, seq_last, start, end, part)
            for pi, forms in enumerate(parts):
                for f in forms:
                    occ.extend(m[2:] + m[:2] + (pi,) for m in st.find(*f)
                               if not any(x[2] <= m[2] and m[3] <= x[3] for x in allow_spans))
            occ.sort(key=lambda o: (o[0], -o[1]))
            have = {}
            lo = 0
            for i, o in enumerate(occ):
                have[o[4]] = have.get(o[4], 0) + 1
                while lo < i and o[1] - occ[lo][0] + 1 > r.within:
                    have[occ[lo][4]] -= 1
                    if not have[occ[lo][4]]:
                        del have[occ[lo][4]]
                    lo += 1
                if len(have) == len(parts):
                    win = occ[lo:i + 1]
                    out.append((r.category, min(x[2] for x in win), max(x[3] for x in win), r.severity, r.id))
                    break
    # containment: of term hits of one category, the longest
    terms.sort(key=lambda h: (h[0], -h[1]))
    dropped = set()
    sevrank = {"low": 1, "medium": 2, "high": 3, "critical": 4}
    for i, h in enumerate(terms):
        if i in dropped:
            continue
        for j in range(i + 1, len(terms)):
            g = terms[j]
            if g[0] > h[1]:
                break
            if j in dropped or g[4].category != h[4].category:
                continue
            if g[1] <= h[1]:
                if (g[0], g[1]) == (h[0], h[1]) and sevrank.get(g[4].severity, 0) > sevrank.get(h[4].severity, 0):
                    dropped.add(i)
                    break
                dropped.add(j)
    seen = set()
    for i, h in enumerate(terms):
        if i in dropped:
            continue
        key = (h[4].category, h[2], h[3])
        if key in seen:
            continue
        seen.add(key)
        out.append((h[4].category, h[2], h[3], h[4].severity, h[4].id))
    out.sort(key=lambda h: (h[1], h[2], h[0]))
    return out


# ---------------------------------------------------- identifiers ----

ID_W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_ok(s):
    s = s.upper()
    if not re.fullmatch(r"\d{17}[\dX]", s):
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], ID_W))
    return "10X98765432"[total % 11] == s[17]


def luhn_ok(s):
    total = 0
    for i, c in enumerate(reversed(s)):
        d = int(c)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def check_identifiers(where, text):
    flat = unicodedata.normalize("NFKC", text)
    for m in re.finditer(r"(?<![\dA-Za-z])(\d{17}[\dXx])(?![\dA-Za-z])", flat):
        if not id_ok(m.group(1)):
            err(where, "resident ID %s fails the GB 11643 check" % m.group(1))
    for m in re.finditer(r"(?<!\d)(\d{16}|\d{19})(?!\d)", flat):
        if not luhn_ok(m.group(1)):
            err(where, "card number %s fails Luhn" % m.group(1))
    for m in re.finditer(r"(?<![\d])(1\d{10})(?![\d])", flat):
        if m.group(1)[1] not in "3456789":
            err(where, "mobile %s has an invalid prefix" % m.group(1))


# ---------------------------------------------------------- corpora ----

def nth_index(text, sub, nth):
    pos = -1
    for _ in range(nth):
        pos = text.find(sub, pos + 1)
        if pos < 0:
            return -1
    return pos


def category_forms(rules):
    """category -> (compiled words and pinyin forms, co-occurrence parts)."""
    forms = {}
    for r in rules:
        if r.severity == "signal" or r.role:
            continue
        ws, co = forms.setdefault(r.category, ([], []))
        if r.words:
            for w in r.words:
                for f in word_forms(w, r.pinyin):
                    ws.append(compile_word(f))
        else:
            co.append([[compile_word(f) for t in alts for f in word_forms(t, r.pinyin)]
                       for alts in r.all])
    return forms


def hit_is_lexical(text, ws, co):
    """Whether a hit's text, read as the engine reads it, is one whole word
    or pinyin form of the category, or holds every part of one of its
    co-occurrence rules."""
    st = Stream(text)
    for w in ws:
        for a, b, _, _ in st.find(*w):
            if a == 0 and b == len(text):
                return True
    for parts in co:
        if all(any(st.find(*f) for f in forms) for forms in parts):
            return True
    return False


def check_evasion(path, rules, ids, strict, cache):
    where0 = os.path.relpath(path, ROOT)
    if not os.path.exists(path):
        err(where0, "missing")
        return 0
    lines = open(path, encoding="utf-8").read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    objs = []
    chars = []
    for n, line in enumerate(lines, 1):
        where = "%s:%d" % (where0, n)
        try:
            o = json.loads(line)
        except ValueError as e:
            err(where, "JSON: %s" % e)
            continue
        if not isinstance(o, dict):
            err(where, "not an object")
            continue
        objs.append((where, o))
        chars.extend(str(o.get("text", "")))
    t2s_prime(chars)
    forms = category_forms(rules)
    cats = set(CATEGORIES.values())
    for where, o in objs:
        for k in o:
            if k not in ("id", "form", "text", "hits", "categories", "decision", "note"):
                err(where, "unknown key %r" % k)
        oid, form, text = o.get("id"), o.get("form"), o.get("text")
        if not isinstance(oid, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", oid or ""):
            err(where, "id must be [a-z0-9-]+")
        elif oid in ids:
            err(where, "duplicate id %s" % oid)
        ids.add(oid)
        where = "%s (%s)" % (where, oid)
        if form not in FORMS:
            err(where, "unknown form %r" % form)
        if not isinstance(text, str) or not text:
            err(where, "text missing")
            continue
        dec = o.get("decision")
        if dec is not None and dec not in DECISIONS:
            err(where, "decision must be block|review|pass")
        if form in DOXXING_FORMS:
            c = o.get("categories")
            if not isinstance(c, list) or any(x not in cats for x in c):
                err(where, "doxxing lines need categories: [...] of known categories")
            if dec is None:
                err(where, "doxxing lines need a decision")
            if form == "doxxing" and (c != ["harmful.doxxing"] or dec != "block"):
                err(where, "doxxing lines: categories [harmful.doxxing], decision block")
            if form != "doxxing" and "harmful.doxxing" in (c or []):
                err(where, "%s lines must not expect harmful.doxxing" % form)
            check_identifiers(where, text)
            continue
        hits = o.get("hits")
        if not isinstance(hits, list):
            err(where, "hits: [...] required")
            continue
        if "categories" in o:
            c = o["categories"]
            if sorted(set(c)) != sorted(set(h.get("category") for h in hits if isinstance(h, dict))):
                err(where, "categories disagree with hits")
        last = -1
        spans = []
        for h in hits:
            if not isinstance(h, dict) or h.get("category") not in cats or not isinstance(h.get("text"), str) or not h.get("text"):
                err(where, "hit needs a known category and a non-empty text: %r" % (h,))
                continue
            for k in h:
                if k not in ("category", "text", "nth"):
                    err(where, "unknown hit key %r" % k)
            nth = h.get("nth", 1)
            if not isinstance(nth, int) or nth < 1:
                err(where, "nth must be a positive integer")
                continue
            pos = nth_index(text, h["text"], nth)
            if pos < 0:
                err(where, "hit text %r does not occur %d time(s)" % (h["text"], nth))
                continue
            if nth == 1 and text.count(h["text"]) > 1 and "nth" not in h:
                pass  # first occurrence is meant; fine
            if pos < last:
                err(where, "hits are not in order of position")
            last = pos
            spans.append((h["category"], pos, pos + len(h["text"])))
            ws, co = forms.get(h["category"], ([], []))
            if not hit_is_lexical(h["text"], ws, co):
                err(where, "hit %r (normalised %r) is no word, pinyin form or co-occurrence of %s"
                    % (h["text"], norm_hit(h["text"]), h["category"]))
        if dec is not None and not hits and dec != "pass":
            err(where, "no hits but decision %s" % dec)
        if strict:
            got = [(c, a, b) for c, a, b, _, _ in scan(rules, text, cache)]
            if sorted(got) != sorted(spans):
                err(where, "reference matcher: expected %s, found %s" % (
                    [(c, text[a:b]) for c, a, b in spans], [(c, text[a:b]) for c, a, b in got]))
            elif dec is not None:
                sev = {r.id: r.severity for r in rules}
                found = scan(rules, text, cache)
                want = "pass"
                if any(s in ("high", "critical") for _, _, _, s, _ in found):
                    want = "block"
                elif any(s == "medium" for _, _, _, s, _ in found):
                    want = "review"
                elif found:
                    want = None  # low: not specified
                if want is not None and want != dec:
                    err(where, "decision %s, but the hits' severities say %s" % (dec, want))
    return len(objs)


def check_benign(path, minimum, rules, strict, cache, must_be_clean=True):
    where0 = os.path.relpath(path, ROOT)
    if not os.path.exists(path):
        err(where0, "missing")
        return 0
    lines = open(path, encoding="utf-8").read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    t2s_prime("".join(lines))
    seen = {}
    for n, line in enumerate(lines, 1):
        where = "%s:%d" % (where0, n)
        if not line.strip():
            err(where, "empty line")
        if line in seen:
            err(where, "duplicate of line %d" % seen[line])
        seen.setdefault(line, n)
        if strict and must_be_clean:
            for c, a, b, s, rid in scan(rules, line, cache):
                err(where, "benign line hits %s %r (%s)" % (c, line[a:b], rid))
    if len(lines) < minimum:
        err(where0, "%d lines, at least %d required" % (len(lines), minimum))
    return len(lines)


def main():
    args = sys.argv[1:]
    strict = "--strict" in args
    rules = load_lexicons()
    cache = {}
    if "--scan" in args:
        path = args[args.index("--scan") + 1]
        lines = open(path, encoding="utf-8").read().splitlines()
        t2s_prime("".join(lines))
        for n, line in enumerate(lines, 1):
            for c, a, b, s, rid in scan(rules, line, cache):
                print("%s:%d: %s %s %r  | %s" % (path, n, c, s, line[a:b], line))
        return 0
    ids = set()
    counts = {}
    counts["evasion"] = check_evasion(os.path.join(HERE, "evasion.jsonl"), rules, ids, strict, cache)
    counts["heldout/evasion"] = check_evasion(os.path.join(HERE, "heldout", "evasion.jsonl"), rules, ids, strict, cache)
    counts["news"] = check_benign(os.path.join(HERE, "benign", "news.txt"), 500, rules, strict, cache)
    counts["chat"] = check_benign(os.path.join(HERE, "benign", "chat.txt"), 500, rules, strict, cache)
    counts["news-about-harm"] = check_benign(os.path.join(HERE, "benign", "news-about-harm.txt"), 20, rules,
                                             strict, cache, must_be_clean=False)
    counts["heldout/benign"] = check_benign(os.path.join(HERE, "heldout", "benign.txt"), 300, rules, strict, cache)
    nwords = sum(len(r.words) for r in rules)
    for e in errors:
        print("check_data: " + e)
    print("check_data: %d rules, %d words; %s" % (len(rules), nwords,
                                                   ", ".join("%s %d" % kv for kv in counts.items())))
    print("check_data: %s" % ("FAILED, %d errors" % len(errors) if errors else "OK"))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
