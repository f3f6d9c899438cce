# Shape of FPE output: `qinglang redact --operator fpe`.
#
#   python3 fpe.py ORIG ENC FINDINGS.jsonl
#
# FINDINGS.jsonl is `qinglang scan --format jsonl` of ORIG (which holds only
# types with an FPE shape, in ASCII).  For each finding, the encrypted value
# sits at the same offsets of ENC and must: differ from the original; have
# its length and every separator (non-alphanumeric character) in place; keep
# its class of characters for digit-only types; and per type keep what
# lib/redact.c says it keeps (an ID's 6-digit region, a mobile's 3-digit
# network prefix, a card's 6-digit issuer prefix, a landline's area code,
# an e-mail's domain) and still pass its check (GB 11643 MOD 11-2, Luhn,
# HKID, Taiwan ID).  Prints one line per problem, exits 1 if any.
import codecs
import json
import re
import sys


def codec_of(data):
    if data.startswith(codecs.BOM_UTF16_LE):
        return "utf-16-le"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def mod11_2_ok(s):
    if not re.fullmatch(r"\d{17}[\dXx]", s):
        return False
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * k for c, k in zip(s, w)) % 11] == s[17].upper()


def luhn_ok(s):
    d = [int(c) for c in s if c.isdigit()]
    total = 0
    for i, x in enumerate(reversed(d)):
        if i % 2:
            x *= 2
            if x > 9:
                x -= 9
        total += x
    return total % 10 == 0


def hkid_ok(s):
    m = re.fullmatch(r"([A-Z]{1,2})(\d{6})\(?([0-9A])\)?", s)
    if not m:
        return False
    letters = m.group(1).rjust(2)
    vals = [36 if c == " " else ord(c) - 55 for c in letters] + [int(c) for c in m.group(2)]
    total = sum(v * k for v, k in zip(vals, [9, 8, 7, 6, 5, 4, 3, 2]))
    check = 10 if m.group(3) == "A" else int(m.group(3))
    return (total + check) % 11 == 0


TW = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
              [10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, 22, 35, 23, 24, 25, 26,
               27, 28, 29, 32, 30, 31, 33]))


def twid_ok(s):
    if not re.fullmatch(r"[A-Z][12]\d{8}", s):
        return False
    n = TW[s[0]]
    total = n // 10 + (n % 10) * 9
    total += sum(int(c) * k for c, k in zip(s[1:9], [8, 7, 6, 5, 4, 3, 2, 1]))
    return (total + int(s[9])) % 10 == 0


MOBILE_PREFIX = re.compile(r"^(?:\(\+86\)|\+86|0086|86)?[ -]?")


def check(orig, enc, findings):
    errs = []
    if len(orig) != len(enc):
        return ["output is %d bytes, input %d: FPE must keep every value's length"
                % (len(enc), len(orig))]
    codec = codec_of(orig)
    for f in findings:
        t = f["type"]
        v = orig[f["start"]:f["end"]].decode(codec)
        w = enc[f["start"]:f["end"]].decode(codec, "replace")
        where = "%s %s (at %d)" % (t, f["masked"], f["start"])
        if w == v:
            errs.append("%s: unchanged by fpe" % where)
            continue
        if len(w) != len(v) or any((a.isalnum() and a.isascii()) != (b.isalnum() and b.isascii())
                                   or (not a.isalnum() and a != b) for a, b in zip(v, w)):
            errs.append("%s: separators or length not kept: %r" % (where, w))
            continue
        if t in ("cn_resident_id",):
            if w[:6] != v[:6]:
                errs.append("%s: region code changed: %r" % (where, w[:6]))
            if not mod11_2_ok(w):
                errs.append("%s: encrypted ID %r fails the MOD 11-2 check" % (where, w))
        elif t == "bank_card":
            dv, dw = re.sub(r"\D", "", v), re.sub(r"\D", "", w)
            if dw[:6] != dv[:6]:
                errs.append("%s: issuer prefix changed: %r" % (where, w))
            if not luhn_ok(w):
                errs.append("%s: encrypted card %r fails the Luhn check" % (where, w))
        elif t == "cn_mobile_phone":
            pv, pw = MOBILE_PREFIX.match(v).group(0), MOBILE_PREFIX.match(w).group(0)
            nv, nw = re.sub(r"\D", "", v[len(pv):]), re.sub(r"\D", "", w[len(pw):])
            if pv != pw or nw[:3] != nv[:3] or not re.fullmatch(r"1[3-9]\d{9}", nw):
                errs.append("%s: %r is not a mobile number with the same country code and "
                            "network prefix (%s %s...)" % (where, w, pv.strip(), nv[:3]))
        elif t == "cn_landline_phone":
            av = re.match(r"\(?0\d{2,3}", v).group(0)
            if not w.startswith(av):
                errs.append("%s: area code changed: %r" % (where, w))
        elif t == "hk_id":
            if not hkid_ok(w):
                errs.append("%s: encrypted HKID %r fails its check" % (where, w))
        elif t == "tw_id":
            if w[:2] != v[:2] or not twid_ok(w):
                errs.append("%s: encrypted Taiwan ID %r fails its check or changed its "
                            "letter/sex digit" % (where, w))
        elif t == "email":
            if w.split("@", 1)[1:] != v.split("@", 1)[1:]:
                errs.append("%s: domain changed: %r" % (where, w))
        if t in ("cn_resident_id", "cn_mobile_phone", "cn_landline_phone", "bank_card",
                 "cn_passport", "cn_hk_macau_permit", "cn_taiwan_permit",
                 "cn_home_return_permit", "hk_id", "macau_id", "tw_id"):
            # the check character (last) may move between a digit and X / A
            if any(a.isdigit() != b.isdigit() for a, b in zip(v[:-2], w[:-2])):
                errs.append("%s: a digit became a letter or the reverse: %r" % (where, w))
    return errs


def main():
    orig = open(sys.argv[1], "rb").read()
    enc = open(sys.argv[2], "rb").read()
    findings = [json.loads(l) for l in open(sys.argv[3], encoding="utf-8") if l.strip()]
    errs = check(orig, enc, findings)
    for e in errs:
        print("%s: %s" % (sys.argv[1], e))
    print("fpe.py: %d value(s) checked, %d problem(s)" % (len(findings), len(errs)))
    sys.exit(1 if errs else 0)


main()
