#!/usr/bin/env python3
"""gen.py -- synthetic precision/recall corpus for qinglang.

    gen.py SEED OUTDIR [-n N] [--quiet]
    gen.py --selftest

Writes N documents (default 300) into OUTDIR as NNNN.txt, each with a
ground truth NNNN.truth.jsonl: one {"type", "start", "end"} object per
line, start/end being BYTE offsets into NNNN.txt as written (after
encoding) with the span conventions of docs/types.md.  A truth line may
carry "optional": true: an entity an engine may report or not (an IPv4
host inside a url_with_credentials, the "password@host" inside one);
score.py neither counts it as missed nor counts a finding on it as false.

The documents are written the way people write: chat transcripts, forms,
notices and e-mails in Chinese and English, support tickets, application
logs, CSV exports, JSON, SQL dumps, YAML and .env files.  They mix every
built-in type (full-width digits, unusual separators, grouped card
numbers, +86 / 0086 / (+86) prefixes, bracketed and compact HK IDs,
context-gated types next to their labels) with look-alikes that must not
be reported (wrong check digits, impossible or future birth dates, IDs
and phones inside longer digit runs, Luhn failures, 12-digit phone-likes,
bad IPs, dotted runs, order numbers, timestamps, amounts, versions, UUIDs,
hashes, MAC addresses ...).  Most files are UTF-8; about 10% are GB18030
and about 3% UTF-16LE with a BOM.

Every document is audited before it is written (audit()): a small
reference matcher looks for everything an engine following docs/types.md
could report and checks it against the truth, and checks that every truth
entity is findable (with its context close by when the type needs one and
no context word near a look-alike that must stay unreported).  A document
that fails is regenerated, so the corpus is consistent by construction.

Span conventions where docs/types.md leaves a choice (the corpus never
puts a value where another reading would be as good):

  cn_mobile_phone        the prefix (+86, 0086, (+86), +86-) and a single
                         space after it are in the span
  cn_landline_phone      "(" of a bracketed area code and the extension
                         (-123, 转123, " ext 123") are in the span
  cn_address             after the label's colon (or from the province)
                         through the LAST 号/室/栋/单元/楼 of the address,
                         which is always followed by punctuation or space
  person_name            surname + 1-2 characters, always followed by
                         punctuation, space or ASCII
  password_assignment    the value only, without quotes, always followed by
                         whitespace, a quote or the end of the line; keys
                         used: password/passwd/pwd (also as DB_PASSWORD=,
                         JSON "password": "...", SQL password = '...'),
                         密码 (also 登录密码), 口令
  private_key            first "-" of the BEGIN line to the last "-" of the
                         END line (YAML indentation inside included)
  url_with_credentials   scheme through host and port; the path is not in it
  context                a gated value's label ends at most 24 UTF-8 bytes
                         before it; a gated look-alike has no context word
                         within 200 bytes before or 100 after
  glued values           no value (or look-alike) touches ASCII letters, and
                         no digit run inside a longer token is reportable

Python 3 standard library only; deterministic for a given SEED and N.
"""

import argparse
import base64
import datetime
import ipaddress
import json
import os
import random
import re
import signal
import sys

TODAY = datetime.date(2026, 11, 25)   # score.py passes --today 2026-11-25

# --------------------------------------------------------------------------
# Check algorithms (the standards' own), used to build valid values and to
# make sure look-alikes really are invalid.
# --------------------------------------------------------------------------

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
PROVINCES = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37,
             41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65,
             71, 81, 82, 83)


def id_check_char(d17):
    return ID_CHECK[sum(int(c) * w for c, w in zip(d17, ID_WEIGHTS)) % 11]


def date_ok(y, m, d):
    try:
        datetime.date(y, m, d)
        return True
    except ValueError:
        return False


def id18_valid(s, today=TODAY):
    if len(s) != 18 or not s[:17].isdigit() or s[17] not in "0123456789Xx":
        return False
    if int(s[:2]) not in PROVINCES:
        return False
    y, m, d = int(s[6:10]), int(s[10:12]), int(s[12:14])
    if not date_ok(y, m, d):
        return False
    b = datetime.date(y, m, d)
    if b > today or b < datetime.date(1900, 1, 1):
        return False
    return id_check_char(s[:17]) == s[17].upper()


def id15_valid(s, today=TODAY):
    if len(s) != 15 or not s.isdigit() or int(s[:2]) not in PROVINCES:
        return False
    return date_ok(1900 + int(s[6:8]), int(s[8:10]), int(s[10:12]))


def luhn_ok(d):
    if len(d) < 2 or not d.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(d)):
        v = int(c)
        if i % 2:
            v *= 2
            if v > 9:
                v -= 9
        total += v
    return total % 10 == 0


def luhn_complete(body):
    for c in "0123456789":
        if luhn_ok(body + c):
            return body + c
    raise AssertionError(body)


def card_prefix_ok(d):
    """Issuer prefixes of docs/types.md (34/37 accepted at any length, to
    keep look-alikes clear of anything an engine could call a card)."""
    if d[:2] in ("62", "35", "34", "37", "65") or d[0] == "4":
        return True
    if d[:4] == "6011" or 51 <= int(d[:2]) <= 55:
        return True
    return 2221 <= int(d[:4]) <= 2720


def card_valid(d):
    return 15 <= len(d) <= 19 and d.isdigit() and card_prefix_ok(d) and luhn_ok(d)


USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def org_value(c):
    return int(c) if c.isdigit() else ord(c) - 55      # A=10 .. Z=35


def org_check_char(s8):
    c = 11 - sum(org_value(ch) * w for ch, w in zip(s8, ORG_WEIGHTS)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check_char(s17):
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(s17, USCC_WEIGHTS))
    return USCC_CHARS[(31 - total % 31) % 31]


def uscc_valid(s):
    if len(s) != 18 or any(c not in USCC_CHARS for c in s):
        return False
    if not s[2:8].isdigit() or int(s[2:4]) not in PROVINCES:
        return False
    if org_check_char(s[8:16]) != s[16]:
        return False
    return uscc_check_char(s[:17]) == s[17]


def hk_value(c):
    return 36 if c == " " else int(c) if c.isdigit() else ord(c) - 55


def hk_check_char(letters, digits6):
    s = (" " + letters)[-2:] + digits6
    total = sum(hk_value(c) * w for c, w in zip(s, range(9, 1, -1)))
    c = (11 - total % 11) % 11
    return "A" if c == 10 else str(c)


def hkid_valid(compact):
    m = re.fullmatch(r"([A-Z]{1,2})(\d{6})([0-9A])", compact)
    return bool(m) and hk_check_char(m.group(1), m.group(2)) == m.group(3)


TW_LETTERS = dict(zip("ABCDEFGHJKLMNPQRSTUVXYWZIO",
                      list(range(10, 18)) + list(range(18, 36))))
TW_WEIGHTS = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)


def tw_sum(s):
    n = TW_LETTERS[s[0]]
    digits = [n // 10, n % 10] + [int(c) for c in s[1:]]
    return sum(a * b for a, b in zip(digits, TW_WEIGHTS))


def twid_valid(s):
    return bool(re.fullmatch(r"[A-Z][12]\d{8}", s)) and tw_sum(s) % 10 == 0


def tw_complete(s9):
    for c in "0123456789":
        if tw_sum(s9 + c) % 10 == 0:
            return s9 + c
    raise AssertionError(s9)


def ipv4_valid(s):
    parts = s.split(".")
    return (len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and
            int(p) <= 255 and (p == "0" or p[0] != "0") for p in parts))


def ipv6_valid(s):
    if s.count(":") < 2 or "." in s:
        return False
    try:
        ipaddress.IPv6Address(s)
        return True
    except ValueError:
        return False


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_valid(tok):
    parts = tok.split(".")
    if len(parts) != 3 or not all(parts):
        return False
    for p in parts[:2]:
        try:
            json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
        except (ValueError, UnicodeDecodeError):
            return False
    return True


FW = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}
UNFW = {c + 0xFEE0: c for c in range(0x21, 0x7F)}
UNFW[0x3000] = 0x20


def fullwidth(s):
    return s.translate(FW)


# --------------------------------------------------------------------------
# Values.  A generator returns V: its text and the entities inside it as
# (start, end, type, optional) in characters relative to the text.
# --------------------------------------------------------------------------

class V:
    __slots__ = ("text", "ents")

    def __init__(self, text, ents=()):
        self.text = text
        self.ents = list(ents)


def E(text, typ):
    return V(text, [(0, len(text), typ, False)])


def rdigits(rng, n, first="0123456789"):
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def ralnum(rng, n, alphabet=ALNUM):
    return "".join(rng.choice(alphabet) for _ in range(n))


PHONE_PREFIXES = ("130 131 132 133 134 135 136 137 138 139 145 147 150 151 "
                  "152 153 155 156 157 158 159 166 170 171 173 175 176 177 "
                  "178 180 181 182 183 184 185 186 187 188 189 191 193 195 "
                  "196 198 199").split()


def phone_digits(rng):
    return rng.choice(PHONE_PREFIXES) + rdigits(rng, 8)


def g_phone(rng):
    d = phone_digits(rng)
    a, b, c = d[:3], d[3:7], d[7:]
    r = rng.random()
    if r < 0.40:
        t = d
    elif r < 0.50:
        t = f"{a} {b} {c}"
    elif r < 0.60:
        t = f"{a}-{b}-{c}"
    elif r < 0.65:
        t = f"{a}.{b}.{c}"
    elif r < 0.71:
        t = "+86" + d
    elif r < 0.77:
        t = "+86 " + rng.choice((d, f"{a} {b} {c}"))
    elif r < 0.81:
        t = f"+86-{a}-{b}-{c}"
    elif r < 0.85:
        t = "0086 " + d
    elif r < 0.89:
        t = "(+86)" + d
    else:
        t = fullwidth(d)
    return E(t, "cn_mobile_phone")


def g_phone_plain(rng):
    return E(phone_digits(rng), "cn_mobile_phone")


def g_phone_fw(rng):
    return E(fullwidth(phone_digits(rng)), "cn_mobile_phone")


# Area codes whose 3rd-4th digits (the city) are below 11, so a resident ID
# can never double as a USCC (whose 3rd-4th characters are a province).
ID_AREAS = ("110101 110105 110108 120101 130102 140105 210102 220102 230103 "
            "310101 310104 310115 320102 320506 330106 330212 340104 350203 "
            "360102 370202 370102 410105 420106 430104 440106 440305 440304 "
            "450103 460105 500103 510107 520102 530102 610113 620102 630102 "
            "640104 650102").split()


def rand_date(rng, y0, y1):
    a = datetime.date(y0, 1, 1).toordinal()
    b = datetime.date(y1, 12, 31).toordinal()
    return datetime.date.fromordinal(rng.randint(a, b))


def make_id18(rng, area=None, birth=None, lower_x=True):
    while True:
        ar = area or rng.choice(ID_AREAS)
        bd = birth or rand_date(rng, 1950, 2020)
        d17 = ar + bd.strftime("%Y%m%d") + rdigits(rng, 3)
        s = d17 + id_check_char(d17)
        if card_valid(s) or uscc_valid(s):
            continue
        if lower_x and s.endswith("X") and rng.random() < 0.3:
            s = s[:-1] + "x"
        return s


def g_id18(rng):
    return E(make_id18(rng), "cn_resident_id")


def g_id18_fw(rng):
    return E(fullwidth(make_id18(rng, lower_x=False)), "cn_resident_id")


def g_id15(rng):
    while True:
        ar = rng.choice([a for a in ID_AREAS if a[:2] not in ("34", "37")])
        s = ar + rand_date(rng, 1940, 1999).strftime("%y%m%d") + rdigits(rng, 3)
        if not card_valid(s):
            return E(s, "cn_resident_id")


def n_id_badcheck(rng):
    while True:
        s = make_id18(rng, lower_x=False)
        bad = rng.choice([c for c in "0123456789X" if c != s[17]])
        t = s[:17] + bad
        if not (card_valid(t) or uscc_valid(t) or id18_valid(t)):
            return V(t)


def _id_with(rng, ymd, area=None):
    while True:
        d17 = (area or rng.choice(ID_AREAS)) + ymd + rdigits(rng, 3)
        t = d17 + id_check_char(d17)
        if not (card_valid(t) or uscc_valid(t) or id18_valid(t)):
            return V(t)


def n_id_baddate(rng):
    y = rng.randint(1960, 2005)
    if y % 4 == 0:
        y += 1
    md = rng.choice(["0230", "0231", "0229", "1131", "0431", "1301", "0010", "0632"])
    return _id_with(rng, "%04d%s" % (y, md))


def n_id_future(rng):
    d = rand_date(rng, 2027, 2039) if rng.random() < 0.7 else \
        datetime.date(2026, 12, rng.randint(1, 31))
    return _id_with(rng, d.strftime("%Y%m%d"))


def n_id_badprov(rng):
    ar = rng.choice(["00", "19", "29", "77", "88", "99", "40", "90"]) + rdigits(rng, 4)
    return _id_with(rng, rand_date(rng, 1960, 2005).strftime("%Y%m%d"), ar)


def n_id_in_run(rng):
    while True:
        s = make_id18(rng, lower_x=False)
        if s.endswith("X"):
            continue
        t = rng.choice(["8", "9", "0"]) + s + (rdigits(rng, 1) if rng.random() < 0.5 else "")
        if not card_valid(t):
            return V(t)


def n_phone_in_run(rng):
    return V(rng.choice(["9", "7", "8"]) + phone_digits(rng) + rdigits(rng, rng.choice([2, 3])))


def n_phone12(rng):
    return V(phone_digits(rng) + rdigits(rng, 1))


def n_phone_badprefix(rng):
    return V(rng.choice(["10", "11", "12"]) + rdigits(rng, 9))


UNIONPAY_BINS = ("622202 622848 621700 622588 621483 622609 623668 621226 "
                 "622700 625965").split()


def make_card(rng):
    while True:
        kind = rng.choice(["up16", "up19", "up19", "up16", "visa", "visa",
                           "mc", "mc2", "amex", "jcb", "disc"])
        if kind == "up16":
            body = rng.choice(UNIONPAY_BINS) + rdigits(rng, 9)
        elif kind == "up19":
            body = rng.choice(UNIONPAY_BINS) + rdigits(rng, 12)
        elif kind == "visa":
            body = "4" + rdigits(rng, 14)
        elif kind == "mc":
            body = str(rng.randint(51, 55)) + rdigits(rng, 13)
        elif kind == "mc2":
            body = str(rng.randint(2221, 2720)) + rdigits(rng, 11)
        elif kind == "amex":
            body = rng.choice(["34", "37"]) + rdigits(rng, 12)
        elif kind == "jcb":
            body = str(rng.randint(3528, 3589)) + rdigits(rng, 11)
        else:
            body = rng.choice(["6011", "65" + rdigits(rng, 2)]) + rdigits(rng, 11)
        d = luhn_complete(body)
        if id18_valid(d) or id15_valid(d) or uscc_valid(d):
            continue
        return d


def group4(d, sep):
    return sep.join(d[i:i + 4] for i in range(0, len(d), 4))


def g_card(rng):
    d = make_card(rng)
    r = rng.random()
    if len(d) == 15 or r < 0.5:
        t = d
    elif r < 0.8:
        t = group4(d, " ")
    else:
        t = group4(d, "-")
    return E(t, "bank_card")


def g_card_plain(rng):
    return E(make_card(rng), "bank_card")


def n_card_luhn(rng):
    while True:
        d = make_card(rng)
        d = d[:-1] + str((int(d[-1]) + rng.randint(1, 9)) % 10)
        if not (card_valid(d) or id18_valid(d) or id15_valid(d) or uscc_valid(d)):
            return V(group4(d, " ") if rng.random() < 0.3 and len(d) > 15 else d)


LANDLINE_AREAS = ("010 020 021 022 023 024 025 027 028 029 0311 0351 0371 "
                  "0431 0451 0512 0531 0532 0551 0571 0574 0591 0592 0731 "
                  "0755 0757 0769 0871 0898 0931").split()


def landline_parts(rng):
    area = rng.choice(LANDLINE_AREAS)
    n = 8 if len(area) == 3 or rng.random() < 0.7 else 7
    return area, rdigits(rng, n, "2345678")


def g_landline(rng):
    area, num = landline_parts(rng)
    r = rng.random()
    if r < 0.45:
        t = f"{area}-{num}"
    elif r < 0.70:
        t = f"({area}){num}"
    elif r < 0.85 and len(num) == 8:
        t = f"{area} {num[:4]} {num[4:]}"
    else:
        t = f"{area} {num}"
    if rng.random() < 0.25:
        t += rng.choice(["-", "转", " ext "]) + rdigits(rng, rng.choice([3, 4]), "123456789")
    return E(t, "cn_landline_phone")


def g_landline_bare(rng):
    area, num = landline_parts(rng)
    return E(area + num, "cn_landline_phone")


def make_uscc(rng):
    while True:
        head = rng.choice(["91", "91", "91", "92", "93", "12", "52", "53"])
        admin = rng.choice(ID_AREAS)
        if rng.random() < 0.4:
            body = "MA" + "".join(rng.choice(USCC_CHARS) for _ in range(6))
        else:
            body = rdigits(rng, 8)
        org = body + org_check_char(body)
        if org[-1] not in USCC_CHARS:
            continue
        s17 = head + admin + org
        s = s17 + uscc_check_char(s17)
        if id18_valid(s) or card_valid(s):
            continue
        return s


def g_uscc(rng):
    return E(make_uscc(rng), "cn_uscc")


def n_uscc_bad(rng):
    while True:
        s = make_uscc(rng)
        t = s[:17] + rng.choice([c for c in USCC_CHARS if c != s[17]])
        if not (uscc_valid(t) or id18_valid(t) or card_valid(t)):
            return V(t)


LETTERS_NO_IO = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def _not_hk(s):
    return not hkid_valid(s)


def g_passport(rng):
    while True:
        r = rng.random()
        if r < 0.5:
            s = "E" + rdigits(rng, 8)
        elif r < 0.8:
            s = "E" + rng.choice(LETTERS_NO_IO) + rdigits(rng, 7)
        else:
            s = "G" + rdigits(rng, 8)
        if _not_hk(s):
            return E(s, "cn_passport")


def g_hkmo_permit(rng):
    while True:
        s = "C" + (rdigits(rng, 8) if rng.random() < 0.6 else
                   rng.choice(LETTERS_NO_IO) + rdigits(rng, 7))
        if _not_hk(s):
            return E(s, "cn_hk_macau_permit")


def g_tw_permit(rng):
    return E("L" + rdigits(rng, 8), "cn_taiwan_permit")


def g_home_permit(rng):
    s = rng.choice("HM") + rdigits(rng, 8, "123456789")
    if rng.random() < 0.25:
        s += "%02d" % rng.randint(0, 9)
    return E(s, "cn_home_return_permit")


HK_FIRST = "ACDEGHKPRVYZ"


def make_hkid(rng):
    letters = rng.choice(HK_FIRST) if rng.random() < 0.85 else \
        rng.choice("WXY") + rng.choice("ABCDEFGH")
    digits = rdigits(rng, 6)
    return letters, digits, hk_check_char(letters, digits)


def g_hkid(rng):
    l, d, c = make_hkid(rng)
    return E(f"{l}{d}({c})", "hk_id")


def g_hkid_compact(rng):
    l, d, c = make_hkid(rng)
    return E(l + d + c, "hk_id")


def n_hk_badcheck(rng):
    l, d, c = make_hkid(rng)
    return V(f"{l}{d}({rng.choice([x for x in '0123456789A' if x != c])})")


def n_hk_compact(rng):
    l, d, c = make_hkid(rng)
    return V(l + d + c)


def g_macau_id(rng):
    return E(rng.choice("157") + rdigits(rng, 6) + "(%d)" % rng.randint(0, 9), "macau_id")


def make_twid(rng):
    return tw_complete(rng.choice("ABCDEFGHJKLMNPQRTUVXYWZ") + rng.choice("12") + rdigits(rng, 7))


def g_tw_id(rng):
    return E(make_twid(rng), "tw_id")


def n_tw_bad(rng):
    s = make_twid(rng)
    return V(s[:-1] + str((int(s[-1]) + rng.randint(1, 9)) % 10))


PLATE_PROV = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"


def make_plate(rng):
    p = rng.choice(PLATE_PROV) + rng.choice(LETTERS_NO_IO)
    r = rng.random()
    if r < 0.65:
        tail = list(rdigits(rng, 5))
        for _ in range(rng.choice([0, 0, 1, 2])):
            tail[rng.randrange(5)] = rng.choice(LETTERS_NO_IO)
        tail = "".join(tail)
    elif r < 0.85:
        tail = rng.choice("DF") + rng.choice(LETTERS_NO_IO + "0123456789") + rdigits(rng, 4)
    else:
        tail = rdigits(rng, 5) + rng.choice("DF")
    return p, tail


def g_plate(rng):
    p, tail = make_plate(rng)
    sep = rng.choice(["", "", "·", " "])
    return E(p + sep + tail, "cn_license_plate")


def g_plate_plain(rng):
    p, tail = make_plate(rng)
    return E(p + tail, "cn_license_plate")


def n_plate_short(rng):
    return V(rng.choice(PLATE_PROV) + rng.choice(LETTERS_NO_IO) + rdigits(rng, 4))


SURNAMES = ("张 王 李 赵 刘 陈 杨 黄 周 吴 徐 孙 马 朱 胡 郭 何 林 罗 高 郑 梁 谢 "
            "宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 潘 蒋 蔡 余 杜 叶 程 魏 吕 丁 沈 "
            "姚 卢 姜 崔 钟 谭 陆 汪 范 石 廖 贾 夏 付 方 邹 孟 熊 秦 邱 尹 薛 段 "
            "雷 侯 史 陶 黎 贺 顾 毛 郝 龚 邵 钱 严 武 戴 孔 汤").split()
COMPOUND = "欧阳 司马 上官 诸葛 东方 皇甫 慕容 令狐 司徒 夏侯".split()
GIVEN = ("三 四 五 六 七 伟 芳 娜 敏 静 磊 洋 艳 勇 军 杰 娟 涛 明 超 丽 强 平 刚 "
         "小明 小红 小刚 小芳 秀英 桂英 建华 晓东 海燕 子涵 梓萱 浩然 一诺 "
         "志强 建国 丽娟 文博 雨桐 思远 嘉怡 某某").split()


def make_name(rng):
    s = rng.choice(COMPOUND) if rng.random() < 0.08 else rng.choice(SURNAMES)
    g = rng.choice(GIVEN)
    if s in COMPOUND and len(g) > 1 and rng.random() < 0.5:
        g = g[0]
    return s + g


def g_name(rng):
    return E(make_name(rng), "person_name")


def g_name_plain(rng):
    return V(make_name(rng))


PROV_PLACES = (
    ("北京市", ("朝阳区", "海淀区", "东城区", "西城区", "丰台区")),
    ("上海市", ("浦东新区", "徐汇区", "静安区", "闵行区")),
    ("天津市", ("和平区", "南开区")),
    ("重庆市", ("渝中区", "江北区")),
    ("广东省", ("深圳市南山区", "深圳市福田区", "广州市天河区", "东莞市")),
    ("浙江省", ("杭州市西湖区", "杭州市滨江区", "宁波市鄞州区")),
    ("江苏省", ("南京市鼓楼区", "苏州市工业园区")),
    ("四川省", ("成都市武侯区", "成都市高新区")),
    ("湖北省", ("武汉市洪山区", "武汉市江汉区")),
    ("山东省", ("青岛市市南区", "济南市历下区")),
    ("福建省", ("厦门市思明区", "福州市鼓楼区")),
    ("陕西省", ("西安市雁塔区",)),
    ("湖南省", ("长沙市岳麓区",)),
    ("河南省", ("郑州市金水区",)),
    ("辽宁省", ("沈阳市和平区", "大连市中山区")),
)
ROADS = ("建国路 中山路 人民路 解放路 科技园南路 文三路 学院路 长江路 滨江大道 "
         "天府大道 创业路 新华路 光明街 和平街 花园路 青年路 幸福里").split()


def make_address(rng, province=True):
    prov, places = rng.choice(PROV_PLACES)
    place = rng.choice(places)
    s = (prov if province else "") + place + rng.choice(ROADS) + "%d号" % rng.randint(1, 999)
    r = rng.random()
    if r < 0.25:
        s += "%d栋%d单元%d室" % (rng.randint(1, 30), rng.randint(1, 6), rng.randint(101, 2808))
    elif r < 0.45:
        s += "%d号楼%d单元%d室" % (rng.randint(1, 20), rng.randint(1, 4), rng.randint(101, 1808))
    elif r < 0.60:
        s += "%s座%d室" % (rng.choice("ABCD"), rng.randint(101, 3208))
    elif r < 0.75:
        s += "%d楼" % rng.randint(2, 30)
    return s


def g_address_prov(rng):
    return E(make_address(rng, True), "cn_address")


def g_address_any(rng):
    return E(make_address(rng, rng.random() < 0.6), "cn_address")


def g_mrn(rng):
    r = rng.random()
    if r < 0.3:
        s = "ZY" + str(rng.randint(2018, 2025)) + rdigits(rng, 6)
    elif r < 0.55:
        s = "MZ" + rdigits(rng, 8, "123456789")
    elif r < 0.8:
        s = str(rng.randint(2015, 2025)) + rdigits(rng, 6)
    else:
        s = rdigits(rng, 7, "3456789")
    return E(s, "medical_record_no")


def n_mrn_short(rng):
    return V(rng.choice(["A", "MZ", ""]) + rdigits(rng, 3))


EMAIL_USERS = ("zhang.san li.si wangwu_88 zhaoliu lisi1990 chen.xiaoming "
               "service hr-team finance ops.alert huang_wei sun.li liu.yang "
               "kf zhou.jie test.user").split()
EMAIL_DOMAINS = ("example.com example.org example.net mail.example.com "
                 "corp.example.com shop.example.org mx.example.net").split()


def g_email(rng):
    u = rng.choice(EMAIL_USERS)
    if rng.random() < 0.2:
        u += "+" + rng.choice(["shop", "bill", "news"])
    return E(u + "@" + rng.choice(EMAIL_DOMAINS), "email")


def make_ipv4(rng):
    r = rng.random()
    if r < 0.35:
        return "10.%d.%d.%d" % (rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254))
    if r < 0.6:
        return "192.168.%d.%d" % (rng.randint(0, 255), rng.randint(1, 254))
    if r < 0.75:
        return "172.%d.%d.%d" % (rng.randint(16, 31), rng.randint(0, 255), rng.randint(1, 254))
    return "%s.%d" % (rng.choice(["203.0.113", "198.51.100", "192.0.2"]), rng.randint(1, 254))


def g_ipv4(rng):
    return E(make_ipv4(rng), "ipv4")


def g_ipv6(rng):
    r = rng.random()
    if r < 0.5:
        groups = ["2001", "db8"] + ["%x" % rng.randint(0, 0xffff) for _ in range(6)]
        for i in rng.sample(range(2, 8), rng.randint(0, 3)):
            groups[i] = "0"
        a = ipaddress.IPv6Address(":".join(groups))
        t = a.compressed if rng.random() < 0.8 else a.exploded
    elif r < 0.8:
        t = "fe80::%x:%x:%x:%x" % tuple(rng.randint(1, 0xffff) for _ in range(4))
    else:
        t = "2001:db8:%x::%x" % (rng.randint(1, 0xffff), rng.randint(1, 0xffff))
    return E(t, "ipv6")


def make_password(rng):
    r = rng.random()
    word = rng.choice(["S3cr3t", "Qinglang", "P4ssw0rd", "Summer", "hunter", "Admin",
                       "Zx", "Winter", "Dragon", "Welcome", "Abc", "Passw0rd"])
    tail = rdigits(rng, rng.randint(2, 5))
    sym = rng.choice(["!", "#", "$", "%", "&", "*", "_", "", ""])
    if r < 0.5:
        return word + sym + tail
    if r < 0.8:
        return word + tail + sym
    return ralnum(rng, rng.randint(10, 16)) + sym


def g_password(rng):
    return E(make_password(rng), "password_assignment")


def n_pass_short(rng):
    return V(rdigits(rng, rng.choice([1, 2, 3])))


def g_url_cred(rng):
    scheme = rng.choice(["mysql", "postgres", "postgresql", "redis", "mongodb",
                         "amqp", "ftp", "https", "smtp"])
    user = rng.choice(["app", "admin", "root", "deploy", "svc_order", "guest", "report"])
    pw = make_password(rng)
    use_ip = rng.random() < 0.5
    host = make_ipv4(rng) if use_ip else rng.choice(
        ["db-master.internal", "db.example.com", "mq.example.net",
         "redis-01.prod.example.com", "pg.example.org", "ftp.example.com"])
    port = {"mysql": 3306, "postgres": 5432, "postgresql": 5432, "redis": 6379,
            "mongodb": 27017, "amqp": 5672, "ftp": 21, "https": 443, "smtp": 587}[scheme]
    t = f"{scheme}://{user}:{pw}@{host}"
    hs = len(t) - len(host)
    if rng.random() < 0.7:
        t += f":{port}"
    ents = [(0, len(t), "url_with_credentials", False)]
    if use_ip:
        ents.append((hs, hs + len(host), "ipv4", True))
    elif re.search(r"\.[a-z]{2,}$", host):
        ents.append((hs - 1 - len(pw), hs + len(host), "email", True))
    return V(t, ents)


def g_aws_key_id(rng):
    return E(rng.choice(["AKIA", "AKIA", "ASIA"]) + ralnum(rng, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"),
             "aws_access_key_id")


def g_aws_secret(rng):
    return E(ralnum(rng, 40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+"),
             "aws_secret_access_key")


def g_github(rng):
    if rng.random() < 0.15:
        return E("github_pat_" + ralnum(rng, 82, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"),
                 "github_token")
    return E(rng.choice(["ghp_", "ghp_", "ghp_", "gho_", "ghs_", "ghu_", "ghr_"]) + ralnum(rng, 36),
             "github_token")


def g_gitlab(rng):
    body = ralnum(rng, 1) + ralnum(rng, 18, ALNUM + "-_") + ralnum(rng, 1)
    return E("glpat-" + body, "gitlab_token")


def g_slack(rng):
    k = rng.choice(["xoxb", "xoxb", "xoxp", "xoxa", "xoxr", "xoxs"])
    t = "%s-%s-%s-%s" % (k, rdigits(rng, rng.choice([10, 12]), "123456789"),
                         rdigits(rng, 13, "123456789"), ralnum(rng, 24))
    return E(t, "slack_token")


def g_alibaba(rng):
    return E("LTAI" + ralnum(rng, rng.randint(16, 20)), "alibaba_access_key_id")


def g_tencent(rng):
    return E("AKID" + ralnum(rng, 32), "tencent_secret_id")


def make_jwt(rng):
    hdr = {"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}
    body = {"sub": str(rng.randint(10000, 99999999)),
            "name": rng.choice(["zhang.san", "li.si", "wang.wu", "test-user"]),
            "iat": rng.randint(1700000000, 1790000000)}
    if rng.random() < 0.5:
        body["role"] = rng.choice(["admin", "user", "ops"])
    if rng.random() < 0.5:
        body["exp"] = body["iat"] + 3600
    sig = b64url(bytes(rng.randrange(256) for _ in range(rng.choice([32, 32, 64]))))
    return "%s.%s.%s" % (b64url(json.dumps(hdr, separators=(",", ":")).encode()),
                         b64url(json.dumps(body, separators=(",", ":")).encode()), sig)


def g_jwt(rng):
    return E(make_jwt(rng), "jwt")


def make_pem(rng, lines, indent="", kind=None):
    kind = kind or rng.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
    raw = base64.b64encode(bytes(rng.randrange(256) for _ in range(48 * lines))).decode()
    body = [raw[i:i + 64] for i in range(0, len(raw), 64)]
    last = rng.randint(12, 60)
    if last in (40, 41, 42):
        last = 44
    body[-1] = body[-1][:last].rstrip("=") + "=="
    out = ["-----BEGIN %s-----" % kind] + body + ["-----END %s-----" % kind]
    return ("\n" + indent).join(out)


def g_private_key(rng):
    return E(make_pem(rng, rng.randint(8, 16)), "private_key")


def g_private_key_yaml(rng):
    return E(make_pem(rng, rng.randint(8, 16), "    "), "private_key")


# ---- look-alikes (never reported) ----------------------------------------

def n_order(rng):
    return V(rand_date(rng, 2022, 2025).strftime("%Y%m%d") + rdigits(rng, 12))


def n_ts(rng):
    d = rand_date(rng, 2022, 2025)
    return V(d.strftime("%Y%m%d") + "%02d%02d%02d" % (rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)))


def n_amount(rng):
    v = rng.choice([rng.randint(1, 99), rng.randint(100, 9999), rng.randint(10000, 999999)])
    c = rng.randint(0, 99)
    s = "{:,}".format(v) if rng.random() < 0.5 else str(v)
    return V("%s.%02d" % (s, c))


def n_amount_plain(rng):
    return V("%d.%02d" % (rng.randint(1, 99999), rng.randint(0, 99)))


def n_version(rng):
    r = rng.random()
    if r < 0.4:
        return V("v%d.%d.%d" % (rng.randint(0, 5), rng.randint(0, 30), rng.randint(0, 20)))
    if r < 0.8:
        return V("%d.%d.%d" % (rng.randint(0, 5), rng.randint(0, 30), rng.randint(0, 20)))
    return V("%d.%d.%d-rc.%d" % (rng.randint(0, 5), rng.randint(0, 30), rng.randint(0, 20), rng.randint(1, 5)))


def n_chrome(rng):
    return V("%d.0.%d.%d" % (rng.randint(100, 131), rng.randint(4000, 6999), rng.randint(1, 250)))


def n_uuid(rng):
    h = "%032x" % rng.getrandbits(128)
    return V("%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], rng.choice("89ab"), h[17:20], h[20:32]))


def _hex(rng, n):
    return V("".join(rng.choice("0123456789abcdef") for _ in range(n)))


def n_sha1(rng):
    return _hex(rng, 40)


def n_sha256(rng):
    return _hex(rng, 64)


def n_md5(rng):
    return _hex(rng, 32)


def n_gitshort(rng):
    return _hex(rng, 7)


def n_ip_256(rng):
    return V(rng.choice(["256.%d.%d.%d", "%d.%d.%d.256", "300.%d.%d.%d", "%d.999.%d.%d"]) %
             (rng.randint(1, 200), rng.randint(0, 255), rng.randint(1, 254)))


def n_ip_lead0(rng):
    return V(rng.choice(["192.168.0%d.%d", "10.0.00%d.%d", "010.%d.0.%d", "172.16.%d.0%d"]) %
             (rng.randint(1, 99), rng.randint(1, 99)))


def n_dotted(rng):
    return V(".".join(str(rng.randint(0, 255)) for _ in range(rng.choice([5, 6]))))


def n_oid(rng):
    return V("1.3.6.1.4.1.%d.%d.%d" % (rng.randint(2000, 40000), rng.randint(1, 20), rng.randint(1, 99)))


def n_mac(rng):
    sep = rng.choice([":", "-"])
    return V(sep.join("%02x" % rng.randrange(256) for _ in range(6)))


def n_time(rng):
    return V("%02d:%02d:%02d" % (rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)))


def n_code6(rng):
    return V(rdigits(rng, 6))


def n_imei(rng):
    return V(luhn_complete("86" + rdigits(rng, 12)))


def n_aws_bad(rng):
    body = list(ralnum(rng, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0189"))
    body[rng.randrange(16)] = rng.choice("0189")
    return V("AKIA" + "".join(body))


def n_ghp_short(rng):
    return V("ghp_" + ralnum(rng, rng.randint(8, 24)))


def n_jwt_bad(rng):
    return V(".".join(b64url(w.encode()) for w in
                      rng.sample(["hello", "world", "signature", "not-json", "qinglang", "token"], 3)))


def n_email_bad(rng):
    return V(rng.choice(["admin@localhost", "root@intranet", "@zhangsan", "lodash@4.17.21",
                         "deploy@build-01", "user@host"]))


def n_b64(rng):
    return V(base64.b64encode(bytes(rng.randrange(256) for _ in range(rng.randint(60, 150)))).decode())


def n_passport_noctx(rng):
    return V("E" + rdigits(rng, 8))


def n_ms(rng):
    return V(str(rng.randint(1, 3000)))


def n_int(rng):
    return V(str(rng.randint(1, 99999)))


def n_line(rng):
    return V(str(rng.randint(12, 880)))


def n_qq(rng):
    return V(rdigits(rng, rng.randint(8, 10), "123456789"))


def inner_runs_ok(text):
    """False when a digit run inside a value (not the whole value) could be
    reported on its own, e.g. the 17 digits before an ID's X passing Luhn,
    or a phone-like run inside a UUID: an engine may or may not see those
    as part of the longer token, so the corpus avoids them."""
    t = text.translate(UNFW)
    for m in re.finditer(r"\d+", t):
        r = m.group()
        if m.span() == (0, len(t)):
            continue
        if (card_valid(r) or (len(r) == 11 and r[1] in "3456789" and r[0] == "1") or
                (10 <= len(r) <= 12 and r[0] == "0") or id18_valid(r) or
                (len(r) == 17 and id18_valid(r + "X")) or (len(r) == 15 and id15_valid(r))):
            return False
    return True


def clean(fn):
    def wrapped(rng):
        for _ in range(100):
            v = fn(rng)
            if inner_runs_ok(v.text):
                return v
        raise RuntimeError("no clean value from %s" % fn.__name__)
    wrapped.__name__ = fn.__name__
    return wrapped


SLOTS = {k[2:]: v for k, v in globals().items() if k.startswith("g_") and callable(v)}
SLOTS.update({k: v for k, v in globals().items() if k.startswith("n_") and callable(v)})
SLOTS = {k: clean(v) for k, v in SLOTS.items()}
SLOTS["bank"] = lambda rng: V(rng.choice(["工商银行", "建设银行", "招商银行", "农业银行", "中国银行"]))
SLOTS["sex"] = lambda rng: V(rng.choice(["男", "女"]))
SLOTS["birth_cn"] = lambda rng: V(rand_date(rng, 1960, 2005).strftime("%Y年%m月%d日"))
SLOTS["date"] = lambda rng: V(rand_date(rng, 2023, 2025).isoformat())
SLOTS["thread"] = lambda rng: V(rng.choice(["main", "http-nio-8080-exec-%d" % rng.randint(1, 20),
                                            "pool-2-thread-%d" % rng.randint(1, 8), "scheduling-1",
                                            "kafka-consumer-%d" % rng.randint(0, 3)]))
SLOTS["lvl"] = lambda rng: V(rng.choice(["INFO ", "INFO ", "DEBUG", "WARN "]))

# --------------------------------------------------------------------------
# Templates.  {slot} is replaced by a generator's value; everything else is
# literal.  g_ slots are entities, n_ slots look-alikes.
# --------------------------------------------------------------------------

ZH_BUYER = [
    "你好，我刚下单了，手机号{phone}，麻烦帮我查一下物流",
    "收件人：{name}，电话：{phone}，地址：{address_any}。",
    "我的身份证号码是{id18}，实名认证一直失败",
    "身份证：{id18_fw}（手机上打的全角，不知道行不行）",
    "退款打到这张卡吧：{card}",
    "卡号 {card}，持卡人：{name}",
    "我换号了，新号码 {phone} 以后打这个",
    "发票抬头：青朗示例科技有限公司，税号：{uscc}",
    "我的护照号码：{passport}，下周出国要用",
    "港澳通行证：{hkmo_permit}，签注还有效吗",
    "往来台湾通行证：{tw_permit}",
    "回乡证：{home_permit}，港澳居民能办吗",
    "我是香港人，香港身份证 {hkid_compact}",
    "香港身份证：{hkid}",
    "澳门身份证 {macau_id} 可以用吗",
    "身分證字號：{tw_id}",
    "车牌{plate}，停在负二层",
    "邮箱：{email}，电子发票发这里就行",
    "订单号 {n_order} 怎么还没发货？",
    "下单时间 {n_ts}，付了 {n_amount} 元",
    "验证码 {n_code6} 收到了",
    "这个身份证号 {n_id_badcheck} 系统说校验不通过",
    "我填的 {n_id_baddate} 出生日期好像写错了",
    "银行卡 {n_card_luhn} 提示卡号有误",
    "不好意思，{n_phone12} 多打了一位",
    "家庭住址：{address_any}",
    "寄件人：{name}，{phone}",
    "紧急联系人：{name}（{phone}）",
    "密码：{password} 我已经改过了",
    "这是我同事的座机 {landline}",
    "办公电话{landline_bare}，工作日都在",
    "好的👌，谢谢！",
    "稍等，我查一下～",
    "麻烦核对一下：{phone_fw}",
    "我在{address_prov}，能送到吗",
    "运单号 {n_phone_in_run} 一直没更新",
    "QQ {n_qq}，加我细聊",
    "我的邮箱 {email} 收不到验证码",
    "卡号是 {card}（{bank}）",
    "车牌{n_plate_short}少了一位？我再看看",
    "香港身份证 {n_hk_badcheck} 提示校验位不对",
    "身分證字號 {n_tw_bad} 系統說檢查碼錯誤",
    "初始密码：{n_pass_short} 太短了吧",
]

ZH_AGENT = [
    "亲，已经帮您登记了哦",
    "您好，请提供一下下单手机号",
    "已为您修改收货手机号为 {phone}",
    "客户：{name}，已核实身份",
    "收货人：{name}；收货地址：{address_any}；联系电话：{phone}",
    "请勿在聊天中发送完整身份证号，已帮您隐藏",
    "您的工单号是 {n_order}，请留意短信",
    "退款 {n_amount} 元已原路退回，预计3个工作日到账",
    "系统显示绑定的卡号是 {card}，对吗？",
    "已发送到您的邮箱 {email}",
    "如需人工服务请拨打 {landline}",
    "您的车辆{plate}已登记入场",
    "核对一下：持卡人：{name}，卡号：{card}",
    "好的，稍后给您回电 {phone}",
    "您的账号绑定的是 {phone_fw} 对吗",
    "已收到您的回乡证 {home_permit}，审核中",
    "台湾通行证 {tw_permit} 已录入系统",
    "腾讯云子账号 SecretId：{tencent}，请勿转发",
]

ZH_NOTICE = [
    "近期发现有员工将用户资料上传至公共网盘，请立即删除。",
    "涉事文件中包含身份证号 {id18} 等敏感信息。",
    "泄露的数据库连接串为 {url_cred}/crm，已重置凭据。",
    "服务器 {ipv4} 已下线，新的 IPv6 {ipv6} 已启用。",
    "如有疑问请联系 {email} 或拨打 {landline}。",
    "联系人：{name}，手机 {phone}",
    "公司统一社会信用代码：{uscc}",
    "报销请提供银行卡号（如 {card}）及开户行。",
    "请勿在群聊中发送“密码：{password} ”这样的内容。",
    "GitHub 令牌 {github} 已被吊销。",
    "阿里云 AccessKey ID：{alibaba}",
    "腾讯云 SecretId：{tencent}",
    "AWS 访问密钥 ID：{aws_key_id}",
    "Slack 机器人令牌：{slack}",
    "GitLab 访问令牌：{gitlab}",
    "患者{name}，病历号：{mrn}，请于周三复诊。",
    "住院号 {mrn}，床位 12。",
    "就诊卡号：{mrn}",
    "门诊号：{n_mrn_short} 不完整，请补全。",
    "版本 {n_version} 修复了登录问题，构建 {n_gitshort}。",
    "校验值 sha256：{n_sha256}",
    "旧版身份证号 {id15} 需更换为18位。",
    "身份证号 {n_id_future} 的出生日期晚于今天，判定为无效。",
    "编码 {n_id_badprov} 的前两位不是有效行政区划。",
    "流水号 {n_id_in_run}",
    "号段 {n_phone_badprefix} 不是手机号。",
    "配置里的 {n_ip_256} 不合法，{n_ip_lead0} 含前导零。",
    "监控节点 {n_oid}",
    "设备 MAC {n_mac}",
    "请求 ID {n_uuid}",
    "令牌以 ghp_ 开头的都属于 GitHub 凭据，请勿外传。",
    "发货仓库位于{address_prov}，周末不发货。",
    "车辆{plate}已登记。",
    "持卡人：{name}，卡号：{card}",
    "座机号码 {landline} 已停用。",
    "登录口令: {password}\n",
    "AWS 密钥：aws_secret_access_key={aws_secret}",
    "护照 {passport} 将于明年到期。",
    "港澳居民来往内地通行证：{home_permit}",
    "访问令牌 {jwt} 已过期。",
    "私钥如下（已作废）：\n{private_key}",
    "寄件人：{name}，寄件人电话 {phone}",
    "往来台湾通行证：{tw_permit}，港澳通行证：{hkmo_permit}",
    "澳门身份证：{macau_id}",
    "金额合计 {n_amount} 元，发票号 {n_qq}。",
    "错误的卡号 {n_card_luhn} 已拦截。",
    "税号 {n_uscc_bad} 校验失败，请财务核对。",
]

EN_LINES = [
    "Hi team, you can reach me at {phone} or {email}.",
    "Please update my mobile number to {phone}, thanks!",
    "My resident ID number is {id18}.",
    "Card on file: {card}, exp 09/27.",
    "The refund to card {card} was processed yesterday.",
    "Our company's USCC is {uscc}.",
    "Passport No. {passport}, issued in 2019.",
    "Hong Kong ID {hkid} has been verified.",
    "HKID: {hkid_compact}",
    "Taiwan ID {tw_id} belongs to the applicant.",
    "Macau ID card: {macau_id}",
    "A car with plate {plate} was parked at the gate.",
    "Server {ipv4} responded with HTTP 503.",
    "Try [{ipv6}]:8443 if IPv4 fails.",
    "Client IP: {ipv4}, user agent Chrome/{n_chrome}.",
    "DATABASE_URL={url_cred}/orders",
    "Use password: {password} for the staging box.",
    "The AWS key {aws_key_id} was rotated yesterday.",
    "aws secret_access_key: {aws_secret}",
    "Token leaked in commit {n_sha1}: {github}",
    "Authorization: Bearer {jwt}",
    "Here's the deploy key, please keep it safe:\n{private_key}",
    "Order {n_order} placed at {n_ts}, total ${n_amount}.",
    "Version {n_version} fixes the login bug.",
    "Request id {n_uuid} failed.",
    "Card number {n_card_luhn} was rejected by the gateway.",
    "{n_phone_badprefix} is not a valid mobile number.",
    "OID {n_oid} is polled every minute.",
    "Bad listen address {n_ip_256} in config.",
    "Ship to {address_prov}, attn. 收件人：{name}",
    "Please call our office at {landline}.",
    "GitLab token: {gitlab}",
    "Slack bot token {slack} was posted in #general.",
    "Aliyun AccessKeyId={alibaba}",
    "Tencent Cloud SecretId = {tencent}",
    "Reach me on WeChat, same number as before: {phone}",
    "Mail to {email} bounced; {n_email_bad} is not a real address.",
    "We pinned lodash@4.17.21 and nginx/1.24.0 last week.",
    "Build digest sha256:{n_sha256}",
    "Reference number {n_id_in_run}, please quote it.",
    "My old 15-digit ID: {id15}",
    "Device MAC {n_mac}, IMEI {n_imei}.",
    "The old key {n_aws_bad} is malformed.",
    "Forgot password? Click the link to reset it.",
    "Tokens with the ghp_ prefix are classic GitHub tokens.",
    "Our hotline is {landline}.",
    "MRN: {mrn}",
    "Emergency contact 联系人：{name}, {phone}",
    "HK/Macau travel permit (港澳通行证) {hkmo_permit}.",
    "Home return permit (回乡证) {home_permit} expires next year.",
    "Wire the deposit to {card} (UnionPay).",
    "The ID {n_id_badcheck} failed the checksum.",
    "Login from {ipv6} at {n_time}.",
    "The string {n_jwt_bad} only looks like a token.",
    "Your verification code is {n_code6}.",
    "Invoice {n_passport_noctx} is attached.",
    "Serial number {n_hk_compact} on the back of the router.",
    "Taiwan permit (台湾通行证) {tw_permit} is on file.",
    "passport: {passport}",
    "The number {n_phone12} has one digit too many.",
    "We found {n_id_baddate} in the form; that date does not exist.",
    "Please don't send passwords by mail; password={password} was in your last message.",
    "IP {n_ip_lead0} has a leading zero and was ignored.",
    "I accidentally pasted this into the public channel:\n{private_key}\nPlease rotate it.",
    "Macau resident ID {macau_id} was scanned at the counter.",
    "SecretAccessKey: {aws_secret}",
    "Patient MRN {mrn} was admitted on Monday.",
    "Found a GitLab PAT in the wiki: {gitlab}",
    "Travel document: passport {passport}, HKID {hkid}.",
    "Mainland travel permit for HK/Macau residents (来往内地通行证): {home_permit}",
    "台湾通行证 {tw_permit}; the holder flies on Friday.",
    "The access token in the screenshot is {jwt}",
    "New peer address: {ipv6}",
    "Tencent SecretId {tencent} has been disabled.",
    "The README shows a truncated token {n_ghp_short}... which is harmless.",
]

LOG_LINES = [
    "{ts} {lvl} [{thread}] c.q.api.LoginController - login ok user={email} ip={ipv4}",
    "{ts} WARN  [{thread}] c.q.api.RateLimiter - too many requests from {ipv4} (limit 100/min)",
    "{ts} DEBUG [{thread}] c.q.http.AccessLog - GET /api/v1/users?phone={phone_plain}&channel=app 200 {n_ms}ms",
    "{ts} DEBUG [{thread}] c.q.http.Client - Authorization: Bearer {jwt}",
    "{ts} ERROR [{thread}] c.q.db.Pool - cannot connect to {url_cred}/orders: timeout",
    "{ts} INFO  [{thread}] c.q.aws.S3Uploader - using access key {aws_key_id}",
    "{ts} ERROR [{thread}] c.q.order.OrderService - order {n_order} failed: card {card_plain} declined",
    "{ts} ERROR [{thread}] c.q.order.OrderService - order {n_order} failed\n"
    "java.lang.IllegalStateException: payment declined for card {card_plain}\n"
    "\tat com.qinglang.order.OrderService.create(OrderService.java:{n_line})\n"
    "\tat com.qinglang.order.OrderController.submit(OrderController.java:{n_line})\n"
    "\tat org.springframework.aop.framework.ReflectiveMethodInvocation.proceed(ReflectiveMethodInvocation.java:{n_line})\n"
    "\t... 42 more",
    "{ts} INFO  [{thread}] c.q.trace - request_id={n_uuid} latency={n_ms}ms",
    "{ts} INFO  [{thread}] c.q.boot - starting qinglang-api {n_version} (git {n_gitshort})",
    "{ts} WARN  [{thread}] c.q.kyc.Verifier - 实名认证失败 id_card={n_id_badcheck}",
    "{ts} INFO  [{thread}] c.q.kyc.Verifier - 实名认证通过 id_card={id18}",
    "{ts} INFO  [{thread}] c.q.net.Peer - peer {ipv6} connected",
    "{ts} ERROR [{thread}] c.q.cfg.Loader - invalid listen address {n_ip_256}",
    "{ts} INFO  [{thread}] c.q.sms.Sender - sent code {n_code6} to {phone}",
    "{ts} DEBUG [{thread}] c.q.cfg.Loader - db password={password}",
    "{ts} INFO  [{thread}] c.q.pay.Notify - checksum sha256={n_sha256}",
    "{ts} INFO  [{thread}] c.q.cdn.Upload - uploaded avatar.png md5={n_md5} size={n_int}",
    "{ts} INFO  [{thread}] c.q.mail.Smtp - delivered to <{email}> ({n_ms}ms)",
    "{ts} ERROR [{thread}] app.handlers - unhandled exception\n"
    "Traceback (most recent call last):\n"
    "  File \"/srv/app/handlers.py\", line {n_line}, in post\n"
    "    user = load_user(request.args[\"phone\"])\n"
    "  File \"/srv/app/models.py\", line {n_line}, in load_user\n"
    "    return USERS[key]\n"
    "KeyError: '{n_uuid}'",
    "{ts} INFO  [{thread}] c.q.geo.Resolver - shipping address {address_prov}",
    "{ts} WARN  [{thread}] c.q.ci.Scanner - found token {github} in build output",
    "{ts} INFO  [{thread}] c.q.snmp.Walker - walk {n_oid} done",
    "{ts} DEBUG [{thread}] c.q.http.Proxy - X-Forwarded-For: {ipv4}, {ipv4}",
    "{ts} INFO  [{thread}] c.q.device.Registry - mac={n_mac} fw={n_version} imei={n_imei}",
    "{ts} INFO  [{thread}] c.q.router.Inventory - serial={n_hk_compact} model=AX3000",
    "{ts} WARN  [{thread}] c.q.auth.Login - POST /api/v1/login?user=zhang&password={password} 401",
    "{ts} INFO  [{thread}] c.q.cloud.Oss - using AccessKeyId {alibaba}",
    "{ts} INFO  [{thread}] c.q.cloud.Cos - SecretId {tencent} loaded",
    "{ts} WARN  [{thread}] c.q.notify.Slack - token {slack} revoked",
    "{ts} INFO  [{thread}] c.q.express.Track - waybill {n_phone_in_run} status=IN_TRANSIT",
    "{ts} DEBUG [{thread}] c.q.ua - Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/{n_chrome} Safari/537.36",
    "{ts} ERROR [{thread}] c.q.cfg.Loader - {n_dotted} is not an address",
    "{ts} INFO  [{thread}] c.q.member.Sync - mobile={phone} email={email}",
    "{ts} DEBUG [{thread}] c.q.aws.Credentials - aws_secret_access_key={aws_secret}",
    "{ts} INFO  [{thread}] c.q.his.Admission - 门诊号 {mrn} 挂号成功",
    "{ts} WARN  [{thread}] c.q.git.Hook - rejected push: glpat token {gitlab} in diff",
    "{ts} ERROR [{thread}] c.q.tls.Loader - bad key material:\n{private_key}",
]

FORM_LINES = [
    "姓名：{name}", "性别：{sex}", "出生日期：{birth_cn}", "身份证号：{id18}", "手机：{phone}",
    "邮箱：{email}", "家庭住址：{address_any}", "紧急联系人：{name}", "紧急联系电话：{phone}",
    "开户行：{bank}", "银行卡号：{card}", "护照号码：{passport}", "港澳通行证：{hkmo_permit}",
    "车牌号码：{plate}", "单位统一社会信用代码：{uscc}", "病历号：{mrn}", "办公电话：{landline}",
    "联系电话：{landline_bare}", "登录密码：{password}", "通讯地址：{address_any}",
    "持卡人：{name}", "患者：{name}", "住院号：{mrn}", "回乡证：{home_permit}",
    "QQ：{n_qq}", "提交时间：{n_ts}", "备注：无", "曾用名：（未填写）", "通讯地址：同上", "澳门身份证：{macau_id}", "台湾通行证：{tw_permit}",
    "就诊卡号：{mrn}", "门诊号：{mrn}", "证件类型：护照  证件号码：{passport}",
]

YAML_LINES = [
    "github_token: {github}", "gitlab_token: {gitlab}", "slack_token: {slack}",
    "alibaba_access_key_id: {alibaba}", "tencent_secret_id: {tencent}",
    "aws_access_key_id: {aws_key_id}", "aws_secret_access_key: {aws_secret}",
    "password: {password}", "password: \"{password}\"", "dsn: {url_cred}/app?sslmode=disable",
    "host: {ipv4}", "checksum: {n_sha256}", "instance_id: {n_uuid}", "version: {n_version}",
    "private_key: |\n  {private_key_yaml}", "ssh_deploy_key: |\n  {private_key_yaml}", "logo: data:image/png;base64,{n_b64}",
    "admin_email: {email}", "listen: \"[{ipv6}]:8443\"", "jwt_example: {jwt}",
    "support_phone: \"{phone_plain}\"", "timeout_ms: {n_ms}", "region: cn-hangzhou",
]

ENV_LINES = [
    "GITHUB_TOKEN={github}", "AWS_ACCESS_KEY_ID={aws_key_id}", "AWS_SECRET_ACCESS_KEY={aws_secret}",
    "DB_PASSWORD={password}", "REDIS_URL={url_cred}/0", "BUILD_SHA={n_sha1}",
    "SMTP_PASSWORD={password}", "ALIBABA_CLOUD_ACCESS_KEY_ID={alibaba}",
    "TENCENTCLOUD_SECRET_ID={tencent}", "GITLAB_TOKEN={gitlab}", "SLACK_BOT_TOKEN={slack}",
    "APP_VERSION={n_version}", "LISTEN_ADDR={ipv4}:8080", "ADMIN_EMAIL={email}", "LOG_LEVEL=info",
]

JSON_FIELDS = [
    ("name", "\"{name_plain}\""), ("mobile", "\"{phone_plain}\""), ("id_card", "\"{id18}\""),
    ("email", "\"{email}\""), ("address", "\"{address_prov}\""), ("card_no", "\"{card_plain}\""),
    ("password", "\"{password}\""), ("created_at", "\"{date}T{n_time}+08:00\""),
    ("trace_id", "\"{n_uuid}\""), ("ip", "\"{ipv4}\""), ("order_no", "\"{n_order}\""),
    ("amount", "{n_amount_plain}"), ("plate", "\"{plate_plain}\""), ("app_version", "\"{n_version}\""),
    ("company_uscc", "\"{uscc}\""), ("hk_id", "\"{hkid}\""), ("tw_id", "\"{tw_id}\""),
    ("bad_id", "\"{n_id_badcheck}\""), ("ts", "{n_ts}"), ("macau_id", "\"{macau_id}\""),
    ("SecretAccessKey", "\"{aws_secret}\""),
]

CSV_COLUMNS = [
    ("客户编号", "CUST-{n_int}"), ("姓名", "{name_plain}"), ("手机号", "{phone_plain}"),
    ("身份证号", "{id18}"), ("银行卡号", "{card_plain}"), ("收货地址", "{address_prov}"),
    ("邮箱", "{email}"), ("下单时间", "{n_ts}"), ("订单号", "{n_order}"), ("金额", "{n_amount_plain}"),
    ("IP", "{ipv4}"), ("车牌", "{plate_plain}"),
]
CSV_BAD = {"手机号": ["{n_phone12}", "{n_phone_badprefix}"],
           "身份证号": ["{n_id_badcheck}", "{n_id_baddate}", "{n_id_future}", "{n_id_badprov}"],
           "银行卡号": ["{n_card_luhn}"], "IP": ["{n_ip_256}", "{n_ip_lead0}"]}

SQL_LINES = [
    "INSERT INTO `member` (`id`, `real_name`, `mobile`, `id_no`, `email`, `reg_ip`) VALUES "
    "({n_int}, '{name_plain}', '{phone_plain}', '{id18}', '{email}', '{ipv4}');",
    "INSERT INTO `bank_card` (`member_id`, `card_no`, `holder`) VALUES ({n_int}, '{card_plain}', '{name_plain}');",
    "UPDATE `admin_user` SET password = '{password}' WHERE id = {n_int};",
    "INSERT INTO `orders` (`order_no`, `amount`, `created`) VALUES ('{n_order}', {n_amount_plain}, {n_ts});",
    "INSERT INTO `address` (`member_id`, `detail`) VALUES ({n_int}, '{address_prov}');",
    "-- dumped by qinglang-backup {n_version} from {ipv4}",
]

EMAIL_SUBJECTS = ["Re: account update", "Your refund", "Access request", "Incident follow-up",
                  "Shipping details", "Re: 报销材料", "Credentials for the new server"]
TICKET_TITLES = ["Cannot log in", "Refund not received", "Wrong shipping address",
                 "Please delete my data", "Leaked key in repo", "KYC failed"]
ZH_TITLES = ["关于加强数据安全管理的通知", "信息泄露事件通报", "系统变更说明", "复诊提醒", "报销流程说明"]

TEMPLATE_POOLS = {"zh_buyer": ZH_BUYER, "zh_agent": ZH_AGENT, "zh_notice": ZH_NOTICE,
                  "en": EN_LINES, "log": LOG_LINES, "form": FORM_LINES, "yaml": YAML_LINES,
                  "env": ENV_LINES, "sql": SQL_LINES}


def template_count():
    n = sum(len(p) for p in TEMPLATE_POOLS.values())
    return n + len(JSON_FIELDS) + len(CSV_COLUMNS)


# --------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------

SLOT_RE = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class Doc:
    def __init__(self):
        self.parts = []
        self.n = 0
        self.ents = []          # (start, end, type, optional) in characters

    def add(self, s):
        self.parts.append(s)
        self.n += len(s)

    def add_v(self, v):
        for s, e, t, o in v.ents:
            self.ents.append((self.n + s, self.n + e, t, o))
        self.add(v.text)

    def tpl(self, rng, template):
        pos = 0
        for m in SLOT_RE.finditer(template):
            self.add(template[pos:m.start()])
            self.add_v(SLOTS[m.group(1)](rng))
            pos = m.end()
        self.add(template[pos:])

    @property
    def text(self):
        return "".join(self.parts)


def doc_zh_chat(rng, d):
    clock = Clock(rng)
    d.add("客服会话记录  渠道：%s  日期：%s\n\n" % (rng.choice(["APP", "小程序", "网页"]),
                                              clock.t.date().isoformat()))
    buyer, agent = rng.sample(ZH_BUYER, 14), rng.sample(ZH_AGENT, 14)
    for i in range(rng.randint(6, 14)):
        who = "买家" if i % 2 == 0 or rng.random() < 0.3 else "客服"
        d.add("[%s] %s：" % (clock.tick(240).strftime("%H:%M:%S"), who))
        d.tpl(rng, (buyer if who == "买家" else agent).pop())
        d.add("\n")


def doc_zh_form(rng, d):
    d.add(rng.choice(["【个人信息登记表】", "【入职信息表】", "【会员实名登记】", "【就诊登记】"]) + "\n")
    for line in rng.sample(FORM_LINES, rng.randint(6, 12)):
        d.tpl(rng, line)
        d.add("\n")


def doc_zh_notice(rng, d):
    d.add(rng.choice(ZH_TITLES) + "\n\n各位同事：\n")
    for line in rng.sample(ZH_NOTICE, rng.randint(4, 9)):
        d.tpl(rng, line)
        d.add("" if d.parts[-1].endswith("。") and rng.random() < 0.4 else rng.choice(["\n", "\n\n"]))
    d.add("\n信息安全部\n")


def doc_en_email(rng, d):
    d.add("From: ")
    d.tpl(rng, "{email}")
    d.add("\nTo: ")
    d.tpl(rng, "{email}")
    when = datetime.datetime.combine(rand_date(rng, 2023, 2025), datetime.time(rng.randint(8, 22), rng.randint(0, 59)))
    d.add("\nSubject: %s\nDate: %s +0800\n\n%s\n\n" % (
        rng.choice(EMAIL_SUBJECTS), when.strftime("%a, %d %b %Y %H:%M:%S"), rng.choice(["Hi,", "Hello,", "Dear support,", "你好，"])))
    for line in rng.sample(EN_LINES, rng.randint(3, 8)):
        d.tpl(rng, line)
        d.add(rng.choice([" ", "\n", "\n\n"]))
    d.add("\n\nBest regards,\n")
    if rng.random() < 0.6:
        d.tpl(rng, "Mobile: {phone}\nTel: {landline}\n")


def doc_en_ticket(rng, d):
    d.add("Ticket #%d - %s\nStatus: open\nPriority: P%d\n\n" %
          (rng.randint(10000, 99999), rng.choice(TICKET_TITLES), rng.randint(1, 4)))
    for line in rng.sample(EN_LINES, rng.randint(3, 9)):
        d.add("> " if rng.random() < 0.2 else "")
        d.tpl(rng, line)
        d.add("\n")


class Clock:
    """Increasing timestamps for logs and chats."""

    def __init__(self, rng):
        self.rng = rng
        self.t = datetime.datetime.combine(rand_date(rng, 2023, 2025), datetime.time(rng.randint(7, 20)))

    def tick(self, most=90):
        self.t += datetime.timedelta(seconds=self.rng.randint(0, most), milliseconds=self.rng.randint(0, 999))
        return self.t


def doc_log(rng, d):
    clock = Clock(rng)
    for _ in range(rng.randint(10, 28)):
        t = clock.tick()
        d.tpl(rng, rng.choice(LOG_LINES).replace("{ts}", t.strftime("%Y-%m-%d %H:%M:%S.") +
                                                  "%03d" % (t.microsecond // 1000)))
        d.add("\n")


def doc_csv(rng, d):
    keep = {"姓名": 1, "手机号": 1, "车牌": 0.2, "IP": 0.3}
    cols = [c for c in CSV_COLUMNS if rng.random() < keep.get(c[0], 0.55)]
    d.add(",".join(c[0] for c in cols) + "\n")
    for _ in range(rng.randint(4, 12)):
        cells = []
        for name, tpl in cols:
            if name in CSV_BAD and rng.random() < 0.2:
                tpl = rng.choice(CSV_BAD[name])
            cells.append(tpl)
        d.tpl(rng, ",".join(cells))
        d.add("\n")


def doc_json(rng, d):
    pretty = rng.random() < 0.5
    recs = rng.randint(1, 4)
    d.add("[\n" if recs > 1 else "")
    for r in range(recs):
        fields = rng.sample(JSON_FIELDS, rng.randint(4, 9))
        ind = "  " if recs > 1 else ""
        if pretty:
            body = ",\n".join(ind + '  "%s": %s' % f for f in fields)
            d.tpl(rng, ind + "{\n" + body + "\n" + ind + "}")
        else:
            d.tpl(rng, ind + "{" + ", ".join('"%s": %s' % f for f in fields) + "}")
        d.add(",\n" if r < recs - 1 else "\n")
    d.add("]\n" if recs > 1 else "")


def doc_config(rng, d):
    if rng.random() < 0.5:
        d.add("# service configuration\nservice:\n  name: order-api\n")
        for line in rng.sample(YAML_LINES, rng.randint(5, 10)):
            d.add("  ")
            d.tpl(rng, line.replace("\n  ", "\n    "))
            d.add("\n")
    else:
        d.add("# .env -- do not commit\n")
        for line in rng.sample(ENV_LINES, rng.randint(5, 10)):
            d.tpl(rng, line)
            d.add("\n")


def doc_sql(rng, d):
    d.add("-- MySQL dump 10.13\nSET NAMES utf8mb4;\n")
    for _ in range(rng.randint(3, 9)):
        d.tpl(rng, rng.choice(SQL_LINES))
        d.add("\n")


KINDS = [("zh_chat", doc_zh_chat, 20), ("zh_form", doc_zh_form, 10), ("zh_notice", doc_zh_notice, 10),
         ("en_email", doc_en_email, 11), ("en_ticket", doc_en_ticket, 10), ("log", doc_log, 14),
         ("csv", doc_csv, 8), ("json", doc_json, 7), ("config", doc_config, 6), ("sql", doc_sql, 4)]
ZH_KINDS = ("zh_chat", "zh_form", "zh_notice", "csv")

# --------------------------------------------------------------------------
# Audit: a reference matcher for everything docs/types.md could report.
# --------------------------------------------------------------------------

CTX = {   # type -> (words that must be close for a positive, words that must be far from a look-alike)
    "id15": (["身份证", "ID"], ["身份证", "身份證", "ID", "id"]),
    "landline": (["电话"], ["电话", "tel", "phone", "座机", "传真", "fax", "联系"]),
    "cn_passport": (["护照", "passport"], ["护照", "passport"]),
    "cn_hk_macau_permit": (["港澳通行证", "通行证"], ["通行证", "permit", "港澳", "回乡证"]),
    "cn_taiwan_permit": (["台湾通行证", "通行证"], ["通行证", "permit", "台湾", "回乡证"]),
    "cn_home_return_permit": (["回乡证", "来往内地通行证", "通行证"], ["通行证", "permit", "回乡证"]),
    "hk_compact": (["香港身份证", "HKID"], ["香港", "HKID", "Hong Kong", "身份證", "身份证", "HK"]),
    "aws_secret_access_key": (["aws_secret_access_key", "secret_access_key", "SecretAccessKey"],
                              ["secret"]),
}
NEAR_BEFORE, NEAR_AFTER = 24, 0        # UTF-8 bytes: positives' context must be this close
FAR_BEFORE, FAR_AFTER = 200, 100       # look-alikes: no context word within this

NAME_LABELS = ["姓名", "联系人", "收件人", "收货人", "患者", "寄件人", "客户", "持卡人"]
PROV_NAMES = ("北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 "
              "河南 湖北 湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 "
              "宁夏 新疆 香港 澳门").split()
ADDR_MARKS = ("单元", "号", "室", "栋", "楼")
BREAK = set(" \t\r\n,.;:!?()[]{}<>\"'|`=&/\\。、“”‘’《》【】「」…—～")
SURNAME_SET = set(SURNAMES) | set("白金叶万向江龙常吴郑黄")

R_DIGITS = re.compile(r"\d+")
R_PHONE_SEP = re.compile(r"(?<!\d)1[3-9]\d([ .-])\d{4}\1\d{4}(?!\d)")
R_PHONE_PFX = re.compile(r"(?:\+86[ -]?|0086[ -]|\(\+86\) ?)(1[3-9]\d{9})(?!\d)")
R_CARD_SEP = re.compile(r"(?<!\d)(?<!\d[ -])\d{4}([ -])\d{4}(?:\1\d{4}){2}(?:\1\d{1,4})?(?!\d)")
R_GROUPS = re.compile(r"(?<!\d)\d{1,4}(?:[ -]\d{1,4}){3,}(?!\d)")
R_LAND = [re.compile(p) for p in (
    r"\(0\d{2,3}\)\s?\d{7,8}(?!\d)",
    r"(?<![\d-])0\d{2,3}-\d{7,8}(?!\d)",
    r"(?<!\d)(?<!\d[ -])0\d{2,3} \d{4} \d{4}(?!\d)",
    r"(?<!\d)(?<!\d[ -])0\d{2,3} \d{7,8}(?!\d)")]
R_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d)")
R_IPV6 = re.compile(r"(?<![0-9A-Fa-f:])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(?![0-9A-Fa-f:])")
R_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
R_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:[^\s/@]+@[^\s/?#:]+(?::\d+)?")
NB = r"(?<![A-Za-z0-9])"
NA = r"(?![A-Za-z0-9])"
R_SIMPLE = [
    ("aws_access_key_id", re.compile(NB + r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}" + NA)),
    ("github_token", re.compile(r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})(?![A-Za-z0-9_])")),
    ("gitlab_token", re.compile(r"glpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])")),
    ("slack_token", re.compile(r"xox[bpars]-[0-9]+-[0-9A-Za-z-]+")),
    ("alibaba_access_key_id", re.compile(NB + r"LTAI[A-Za-z0-9]{12,20}" + NA)),
    ("tencent_secret_id", re.compile(NB + r"AKID[A-Za-z0-9]{32}" + NA)),
    ("private_key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)),
    ("url_with_credentials", R_URL),
    ("email", R_EMAIL),
    ("macau_id", re.compile(r"(?<![A-Za-z0-9])[157]\d{6}\(\d\)")),
]
R_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
R_TWID = re.compile(NB + r"[A-Z][12]\d{8}" + NA)
R_HK_BR = re.compile(NB + r"([A-Z]{1,2}\d{6})\(([0-9A])\)")
R_HK_CP = re.compile(NB + r"[A-Z]{1,2}\d{6}[0-9A]" + NA)
R_PERMITS = [
    ("cn_passport", re.compile(NB + r"(?:E\d{8}|E[A-HJ-NP-Z]\d{7}|G\d{8})" + NA)),
    ("cn_hk_macau_permit", re.compile(NB + r"(?:C\d{8}|C[A-HJ-NP-Z]\d{7})" + NA)),
    ("cn_taiwan_permit", re.compile(NB + r"L\d{8}" + NA)),
    ("cn_home_return_permit", re.compile(NB + r"[HM]\d{8}(?:\d{2})?" + NA)),
]
R_USCC = re.compile(NB + r"[0-9A-HJ-NP-RTUW-Y]{18}" + NA)
R_PLATE = re.compile("[" + PLATE_PROV + r"][A-Z][· ]?([A-Z0-9]{5,6})" + NA)
R_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])")
R_PASSWORD = re.compile(r"(?i)(?:password|passwd|pwd|密码|口令)[\"']?\s*[=:]\s*[\"']?([^\s\"']{4,})")
R_MRN = re.compile(r"(?:病历号|住院号|就诊卡号|门诊号|(?<![A-Za-z0-9])MRN)[:\s]*([A-Za-z0-9]{6,20})(?![A-Za-z0-9])")
R_NAME_LABEL = re.compile("(?:" + "|".join(NAME_LABELS) + r")[:\s]*")
R_ADDR_LABEL = re.compile(r"(?:地址|住址):\s*")


class Audit:
    def __init__(self, text, ents):
        self.text = text
        self.norm = text.translate(UNFW)
        self.ents = ents
        self.b = [0]
        for ch in text:
            o = ord(ch)
            self.b.append(self.b[-1] + (1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4))
        self.cands = []        # (s, e, type, reported, gray)
        self.problems = []
        self._occ = {}

    def occ(self, word):
        if word not in self._occ:
            flags = re.I if word.isascii() and word not in ("ID", "HK", "HKID") else 0
            self._occ[word] = [(m.start(), m.end()) for m in re.finditer(re.escape(word), self.norm, flags)]
        return self._occ[word]

    def ctx(self, s, e, words, before, after):
        for w in words:
            for os_, oe in self.occ(w):
                if oe <= s and self.b[s] - self.b[oe] <= before:
                    return True
                if os_ >= e and self.b[os_] - self.b[e] <= after:
                    return True
        return False

    def cand(self, s, e, typ, gate=None, glued=False):
        """A match an engine could report: `reported` when it would be
        (context close enough, if it needs one), `gray` when a look-alike
        has a context word close enough for an engine with a wider window
        or word list, `glued` when it touches letters (an engine may or may
        not see it as part of a longer run)."""
        gray = False
        if gate:
            near, far = CTX[gate]
            reported = self.ctx(s, e, near, NEAR_BEFORE, NEAR_AFTER)
            gray = self.ctx(s, e, far, FAR_BEFORE, FAR_AFTER)
        else:
            reported = True
        self.cands.append((s, e, typ, reported, gray, glued))

    def run(self):
        t = self.norm
        for m in R_DIGITS.finditer(t):
            s, e = m.span()
            d = m.group()
            after = t[e:e + 1]
            before = t[s - 1:s] if s else ""
            glued = bool(re.match(r"[A-Za-z]", before)) or bool(re.match(r"[A-Za-z]", after))
            L = len(d)
            if L == 17 and after in ("X", "x") and not re.match(r"[A-Za-z0-9]", t[e + 1:e + 2]):
                if id18_valid(d + after.upper()):
                    self.cand(s, e + 1, "cn_resident_id", glued=bool(re.match(r"[A-Za-z]", before)))
            if L == 18 and id18_valid(d):
                self.cand(s, e, "cn_resident_id", glued=glued)
            if L == 11 and re.match(r"1[3-9]", d):
                self.cand(s, e, "cn_mobile_phone", glued=glued)
            if L == 15 and id15_valid(d):
                self.cand(s, e, "cn_resident_id", gate="id15", glued=glued)
            if card_valid(d):
                self.cand(s, e, "bank_card", glued=glued)
            if 10 <= L <= 12 and d[0] == "0":
                self.cand(s, e, "cn_landline_phone", gate="landline", glued=glued)
        for m in R_PHONE_SEP.finditer(t):
            self.cand(m.start(), m.end(), "cn_mobile_phone")
        for m in R_PHONE_PFX.finditer(t):
            self.cand(m.start(), m.end(), "cn_mobile_phone")
        for m in R_CARD_SEP.finditer(t):
            if card_valid(re.sub(r"\D", "", m.group())):
                self.cand(m.start(), m.end(), "bank_card")
        for m in R_GROUPS.finditer(t):
            # a shorter run of whole groups that is a valid card (the first
            # four groups of a Luhn-failing 19-digit number, say): an engine
            # may or may not stop there
            groups = [(g.start(), g.end()) for g in re.finditer(r"\d+", m.group())]
            for i in range(len(groups)):
                for j in range(i, len(groups)):
                    if (i, j) == (0, len(groups) - 1):
                        continue
                    a, b = m.start() + groups[i][0], m.start() + groups[j][1]
                    d = re.sub(r"\D", "", t[a:b])
                    if 15 <= len(d) <= 19 and card_valid(d):
                        self.cand(a, b, "bank_card", glued=True)
        for r in R_LAND:
            for m in r.finditer(t):
                self.cand(m.start(), m.end(), "cn_landline_phone")
        for m in R_IPV4.finditer(t):
            if ipv4_valid(m.group()):
                self.cand(m.start(), m.end(), "ipv4")
        for m in R_IPV6.finditer(t):
            if ipv6_valid(m.group()):
                self.cand(m.start(), m.end(), "ipv6")
        for typ, r in R_SIMPLE:
            for m in r.finditer(t):
                self.cand(m.start(), m.end(), typ)
        for m in R_JWT.finditer(t):
            if jwt_valid(m.group()):
                self.cand(m.start(), m.end(), "jwt")
        for m in R_TWID.finditer(t):
            if twid_valid(m.group()):
                self.cand(m.start(), m.end(), "tw_id")
        for m in R_HK_BR.finditer(t):
            if hkid_valid(m.group(1) + m.group(2)):
                self.cand(m.start(), m.end(), "hk_id")
        for m in R_HK_CP.finditer(t):
            if hkid_valid(m.group()):
                self.cand(m.start(), m.end(), "hk_id", gate="hk_compact")
        for typ, r in R_PERMITS:
            for m in r.finditer(t):
                self.cand(m.start(), m.end(), typ, gate=typ)
        for m in R_USCC.finditer(t):
            if uscc_valid(m.group()):
                self.cand(m.start(), m.end(), "cn_uscc")
        for m in R_PLATE.finditer(t):
            tail = m.group(1)
            if len(tail) == 5 or tail[0] in "DF" or tail[-1] in "DF":
                self.cand(m.start(), m.end(), "cn_license_plate")
        for m in R_AWS_SECRET.finditer(t):
            self.cand(m.start(), m.end(), "aws_secret_access_key", gate="aws_secret_access_key")
        for m in R_PASSWORD.finditer(t):
            self.cand(m.start(1), m.end(1), "password_assignment")
        for m in R_MRN.finditer(t):
            self.cand(m.start(1), m.end(1), "medical_record_no")
        for m in R_NAME_LABEL.finditer(t):
            p = m.end()
            sur = t[p:p + 2] if t[p:p + 2] in COMPOUND else t[p:p + 1]
            if sur and (sur in SURNAME_SET or sur in COMPOUND):
                q = p + len(sur)
                while q < len(t) and q < p + len(sur) + 2 and "\u4e00" <= t[q] <= "\u9fff":
                    q += 1
                self.cand(p, q, "person_name", glued=(q == p + len(sur)))
        starts = [m.end() for m in R_ADDR_LABEL.finditer(t)]
        for pn in PROV_NAMES:
            starts += [m.start() for m in re.finditer(pn, t)]
        for p in starts:
            q = p
            while q < len(t) and t[q] not in BREAK:
                q += 1
            run = t[p:q]
            ends = [run.rfind(mk) + len(mk) for mk in ADDR_MARKS if mk in run]
            if ends:
                self.cand(p, p + max(ends), "cn_address")
        return self.check()

    def check(self):
        def overlap(a, b, c, d):
            return a < d and c < b
        for s, e, typ, reported, gray, glued in self.cands:
            truth = [x for x in self.ents if x[2] == typ and overlap(s, e, x[0], x[1])]
            if truth:
                if glued and not any(x[3] for x in truth):
                    self.problems.append("glued positive %s %r" % (typ, self.text[s:e]))
            elif reported or gray or glued:
                self.problems.append("unexpected %s %r (%s)" % (
                    typ, self.text[s:e], "reported" if reported else "gray" if gray else "glued"))
        for s, e, typ, opt in self.ents:
            if opt:
                continue
            if not any(c[2] == typ and c[3] and overlap(s, e, c[0], c[1]) for c in self.cands):
                self.problems.append("truth not findable %s %r" % (typ, self.text[s:e]))
        return self.problems


def audit(text, ents):
    return Audit(text, ents).run()


# --------------------------------------------------------------------------
# Encoding and output
# --------------------------------------------------------------------------

def encode(text, enc):
    if enc == "utf-16le":
        return b"\xff\xfe" + text.encode("utf-16-le")
    return text.encode(enc)


def byte_offsets(text, enc, positions):
    """Map character positions to byte offsets in the encoded file."""
    out = {}
    bom = 2 if enc == "utf-16le" else 0
    codec = "utf-16-le" if enc == "utf-16le" else enc
    for p in sorted(set(positions)):
        out[p] = bom + len(text[:p].encode(codec))
    return out


def truth_lines(text, ents, enc):
    offs = byte_offsets(text, enc, [p for e in ents for p in e[:2]])
    rows = []
    for s, e, t, o in sorted(ents, key=lambda x: (x[0], x[1], x[2])):
        row = {"type": t, "start": offs[s], "end": offs[e]}
        if o:
            row["optional"] = True
        rows.append(row)
    return rows


def make_document(seed, i):
    pick = random.Random("%s/%d/kind" % (seed, i))
    kind, fn = pick.choices([(k, f) for k, f, _ in KINDS], weights=[w for _, _, w in KINDS])[0]
    if i % 33 == 16:
        enc = "utf-16le"                      # ~3%
    elif kind in ZH_KINDS and pick.random() < 0.21:
        enc = "gb18030"                       # ~10% (zh kinds are ~half the corpus)
    else:
        enc = "utf-8"
    last = None
    for attempt in range(200):
        rng = random.Random("%s/%d/%d" % (seed, i, attempt))
        d = Doc()
        fn(rng, d)
        text = d.text
        problems = audit(text, d.ents)
        if enc == "gb18030" and not problems:
            try:
                encode(text, enc).decode("utf-8")
                problems = ["GB18030 bytes are valid UTF-8"]
            except UnicodeDecodeError:
                pass
        if not problems:
            return kind, enc, text, d.ents, attempt
        last = problems
    raise RuntimeError("document %d: could not generate a consistent document: %s" % (i, last))


def main(argv=None):
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)     # gen.py ... | head
    ap = argparse.ArgumentParser(description="Generate the qinglang precision/recall corpus.")
    ap.add_argument("seed", nargs="?")
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("-n", type=int, default=300, help="number of documents (default 300)")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--selftest", action="store_true", help="check the check algorithms and exit")
    a = ap.parse_args(argv)
    if a.selftest:
        selftest()
        print("gen.py: selftest ok")
        return 0
    if a.seed is None or a.outdir is None:
        ap.error("SEED and OUTDIR are required")
    os.makedirs(a.outdir, exist_ok=True)
    counts, encs, kinds, retries = {}, {}, {}, 0
    for i in range(1, a.n + 1):
        kind, enc, text, ents, attempts = make_document(a.seed, i)
        retries += attempts
        base = os.path.join(a.outdir, "%04d" % i)
        with open(base + ".txt", "wb") as f:
            f.write(encode(text, enc))
        rows = truth_lines(text, ents, enc)
        with open(base + ".truth.jsonl", "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
        for row in rows:
            if not row.get("optional"):
                counts[row["type"]] = counts.get(row["type"], 0) + 1
        encs[enc] = encs.get(enc, 0) + 1
        kinds[kind] = kinds.get(kind, 0) + 1
    if not a.quiet:
        print("gen.py: %d documents in %s (%s; %s), %d templates, %d regenerations" % (
            a.n, a.outdir, ", ".join("%s %d" % kv for kv in sorted(encs.items())),
            ", ".join("%s %d" % kv for kv in sorted(kinds.items())), template_count(), retries))
        for t in sorted(counts):
            print("  %-24s %5d" % (t, counts[t]))
        print("  %-24s %5d" % ("total", sum(counts.values())))
    return 0


def selftest():
    """Known vectors (published examples, and those of tests/unit)."""
    assert id_check_char("11010519491231002") == "X"
    assert id_check_char("44052418800101001") == "4"
    assert id18_valid("11010519491231002X") and id18_valid("360426199101010071")
    assert not id18_valid("110105202611260011") and id18_valid("110105202611250016")
    assert not id18_valid("110105199902300015") and not id18_valid("000105194912310024")
    assert id15_valid("110105491231002") and not id15_valid("110105990230001")
    assert luhn_ok("79927398713") and luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")
    assert luhn_ok("378282246310005") and luhn_ok("6205500000000000004")
    for c in ("M000100Y4", "600037341", "PDY00001X", "000000019", "000000107", "1234567Z9",
              "ABCDEFGH5", "000000000"):
        assert org_check_char(c[:8]) == c[8], c
    assert uscc_valid("91350100M000100Y43") and not uscc_valid("91350100M000100Y44")
    assert not uscc_valid("91110000600037341N")
    for c in ("A1234563", "E3649125", "D2887542", "C6686689", "A123458A", "A1234660",
              "AB1234569", "AB9876543", "WX1234569", "CA1823611", "G123456A", "A5555550",
              "UH4561237", "XY100004A", "XY1000090"):
        assert hkid_valid(c), c
    for c in ("AB9876542", "UH4561236", "C668668E", "A1234569", "A1234573", "A1243563"):
        assert not hkid_valid(c), c
    for c in ("A123456789", "M115187864", "Z256783650", "B222222228", "I198765437",
              "O298765430", "W111111113"):
        assert twid_valid(c), c
    assert not twid_valid("A123456788")
    assert ipv4_valid("192.168.1.1") and not ipv4_valid("192.168.01.1") and not ipv4_valid("256.1.1.1")
    assert ipv6_valid("2001:db8::1") and not ipv6_valid("10:30:45") and not ipv6_valid("00:1a:2b:3c:4d:5e")
    assert jwt_valid(make_jwt(random.Random(1))) and not jwt_valid("aGVsbG8.d29ybGQ.Zm9v")


if __name__ == "__main__":
    sys.exit(main())
