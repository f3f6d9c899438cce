#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets into DIR/NAME/.

The seeds are where a campaign starts: pieces of examples/ (at most 4 KiB
each), the built-in rule packs, and inputs made to hit the engine's tricky
paths (invalid UTF-8, GB18030, UTF-16 with and without a BOM, full-width
digits, long digit runs, PEM blocks, deep YAML nesting, huge numbers).
fuzz/corpus/NAME/ is what a campaign keeps after `-merge=1` (fuzz/README.md);
re-run this script to start over from the seeds, or to add new ones:

    python3 fuzz/make-seeds.py /tmp/seeds     # DIR, default /tmp/qinglang-seeds
    sh fuzz/build.sh /tmp/qinglang-fuzz
    /tmp/qinglang-fuzz/fuzz_scan -merge=1 fuzz/corpus/scan /tmp/seeds/scan

fuzz_scan and fuzz_redact take their cut positions from the input's first
bytes, so every seed of theirs is written twice: as it is, and behind a
five-byte header that cuts it in the middle.
"""
import hashlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/qinglang-seeds"
MAX = 4096

def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()

def pieces(data, size=MAX):
    """Cuts data at line ends into pieces of at most `size` bytes."""
    out, start = [], 0
    while start < len(data):
        end = min(start + size, len(data))
        if end < len(data):
            nl = data.rfind(b"\n", start, end)
            if nl > start:
                end = nl + 1
        out.append(data[start:end])
        start = end
    return out

def write(target, data):
    directory = os.path.join(OUT, target)
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)

# ---------------------------------------------------------------- texts
TEXT = [
    "客户张三的身份证号是11010519491231002X，手机＋８６ １３８ ００１３ ８０００，"
    "卡号 4242 4242 4242 4242，邮箱 zhang.san@qq.com，地址：北京市朝阳区建国路88号院3号楼2单元501室。\n",
    "key=AKIAIOSFODNN7EXAMPLE token ghp_123456789012345678901234567890abcdef\n"
    "from 10.227.113.240 via 2001:db8::8a2e:370:7334; 电话 010-62345678转801\n",
    "订单 2024031513800138000 金额 ¥1,380.00 时间 2024-03-15 10:30:45.123\n"
    "香港身份证 A123456(3) 护照 E12345678 统一社会信用代码 91350100M000100Y43\n",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
    "收件人：欧阳明月 password=\"hunter22\" 住院号：ZY20240315001\n",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n",  # no END line
    "-----BEGIN PRIVATE KEY-----\n-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    "身份证：１１０１０５１９４９１２３１００２Ｘ 手机：１３９１２３４５６７８\n",
    "台湾 A123456789 澳门 1234567(8) 车牌 京A12345 粤B D12345 回乡证 H12345678\n",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n",
    "mail: a@b.cn icon@2x.png x.y+z@sub.example.com.cn @@@ a@ @b.com\n",
    "ip 0.0.0.0 255.255.255.255 256.1.1.1 01.2.3.4 1.2.3.4.5 ::1 fe80::1%eth0 ::ffff:10.0.0.1\n",
    "姓名：张三性别：男 联系人：李四 电话：13800138000 地址：上海市浦东新区世纪大道100号\n",
    "password: ${DB_PASSWORD} password=changeme passwd=****** pwd=\"s3cr3t!x\"\n",
    "61 2222 0000 1111 2222 333 6222021234567890123 622202123456789012 4111111111111111\n",
    "landline (0755)8888-9999 +86-10-12345678 0086 138 0013 8000 (+86)13800138000\n",
]

def tricky():
    out = [t.encode() for t in TEXT]
    # Long digit runs: a valid ID inside a longer run is not an ID.
    out.append(b"1" * 3000)
    out.append(("11010519491231002X" * 200).encode())
    out.append(b"13800138000" * 300)
    out.append(("0123456789" * 400)[:4000].encode())
    out.append("１２３４５６７８９０".encode() * 100)
    out.append(b"6222 " * 800)
    # Invalid UTF-8: stray continuations, overlong forms, surrogates, cut sequences.
    out.append(b"\x80\xbf\xc0\xaf\xe0\x80\xaf\xed\xa0\x80\xf4\x90\x80\x80 13800138000 \xe4\xb8")
    out.append(b"\xff\xfe\xfd" + "手机13800138000".encode() + b"\xe6\x89")
    out.append("身份证".encode()[:-1] + b"11010519491231002X")
    # GB18030: two- and four-byte forms, the example chat, cut mid-character.
    gb = TEXT[0].encode("gb18030")
    out.append(gb)
    out.append(gb[:-1])
    out.append("€ 𠀀 姓名：张三 手机 13800138000".encode("gb18030"))
    out.append(b"\x81\x30\x81\x30\x84\x31\xa4\x39\x81\x30" + "13800138000".encode("gb18030"))
    out.append(b"\x81" * 50 + b"13800138000")
    # UTF-16 with and without a BOM, both byte orders, an odd length.
    for text in (TEXT[0], TEXT[6], TEXT[2]):
        out.append(b"\xff\xfe" + text.encode("utf-16-le"))
        out.append(text.encode("utf-16-le"))
        out.append(b"\xfe\xff" + text.encode("utf-16-be"))
        out.append(text.encode("utf-16-be"))
    out.append(b"\xff\xfe" + TEXT[0].encode("utf-16-le") + b"\x00")
    out.append(b"\xff\xfe" + b"\x00\xd8\x31\x00" + "13800138000".encode("utf-16-le"))  # lone surrogate
    out.append(b"\xef\xbb\xbf" + TEXT[1].encode())
    # Line endings, NULs, control characters.
    out.append(TEXT[0].replace("\n", "\r\n").encode() * 3)
    out.append(b"\x00".join(t.encode() for t in TEXT[:4]))
    out.append(b"\r" * 100 + "手机 13800138000".encode())
    return out

def with_cut(data):
    """A header whose first bytes cut the rest in the middle."""
    n = len(data) + 5
    cut = (n // 2) % (n + 1)
    return bytes([cut & 0xFF, cut >> 8 & 0xFF, 3, cut & 0xFF, 1]) + data

def text_seeds():
    out = []
    for path in ("examples/app.log", "examples/customers.csv", "examples/config.yaml",
                 "examples/chat-gb18030.txt", "examples/README.md"):
        out += pieces(read(path))
    out += tricky()
    return out

# ---------------------------------------------------------------- rules
RULES = [
    """version: 1
rules:
  - id: acme.employee_no
    type: employee_no
    category: pii.identity
    severity: medium
    description: ACME employee number
    regex: 'EMP-\\d{6}'
    keywords: [机密, 绝密]
    flags: [caseless]
    boundary: alnum
    confidence: 0.8
    min_confidence: 0.5
    context: {words: [工号, staff id], boost: 0.2}
    negative_context: {words: [示例, example], penalty: 0.4}
    allow: [EMP-000000]
    mask: {style: chars, head: 4, tail: 2}
""",
    """version: 1
rules:
  - id: x.label
    type: person_name
    regex: '(?:姓名|联系人)'
    value: '[:：\\s]*(?<value>[\\xE4-\\xE9][\\x80-\\xBF]{2}{2,3})'
    span: whole
    validator: person_name
""",
    """version: 1
rules:
  - id: x.num
    type: x_num
    prefilter: numeric
    regex: '\\d{6}(?:19|20)\\d{6}'
    validator: cn_resident_id
  - id: x.hex
    type: x_hex
    prefilter: hexcolon
    regex: '[0-9a-f:]{2,39}'
    validator: ipv6
""",
    """version: 1
rules:
  - id: x.multi
    type: x_multi
    regex: ['abc', 'a(?<value>b+)c', 'x{1,3}y']
    span: value
    validator: none
    boundary: token
    severity: critical
  - id: x.multi
    type: x_multi
    regex: 'dup'
""",
    "机密\n绝密\nconfidential\n内部资料\n",   # a plain keyword list
    "version: 1\nrules:\n  - id: a\n    type: b\n    regex: '^anchored$'\n",
    "version: 1\nrules:\n  - id: a\n    type: b\n    regex: '(?<=x)y(\\1)'\n",
    "version: 1\nrules:\n  - id: a\n    type: b\n    regex: 'x'\n    confidence: 1e999\n"
    "    min_confidence: -0.0\n",
    "version: 99999999999999999999999999\nrules: []\n",
    "version: 1\nrules:\n  - id: a\n    type: b\n    keywords: [" + ", ".join(str(i) for i in range(300)) + "]\n",
    "version: 1\nrules:\n  - &r {id: a, type: b, regex: x}\n  - *r\n  - *r\n",
    "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: &d [*c, *c]\ne: [*d, *d]\n",
    "[" * 200 + "]" * 200 + "\n",
    "{a: " * 150 + "1" + "}" * 150 + "\n",
    "version: 1\nrules:\n" + "".join(f"  - {{id: r{i}, type: t{i}, regex: 'k{i}w'}}\n" for i in range(60)),
    "version: 1\nrules:\n  - id: a\n    type: b\n    regex: '\\d+'\n    mask: {style: pem, head: 18446744073709551617, tail: -1}\n",
    "version: 1\nrules:\n  - id: a\n    type: b\n    regex: \"\\xff\"\n",
    "\ufeffversion: 1\nrules:\n  - id: é\n    type: 类型\n    regex: 'é'\n",
    "version: 1\nrules:\n  - id: a\n    type: b\n    regex: '(a|aa)*b'\n    context: {words: [], boost: 2}\n",
    "%YAML 1.1\n---\nversion: 1\n...\n---\nrules: []\n",
    "version: 1\nrules:\n  - id: a\n    type: b\n    regex: !!binary aGVsbG8=\n",
]

# ---------------------------------------------------------------- policies
POLICIES = [
    """default: mask
types:
  cn_resident_id: fpe
  person_name: {operator: tag, numbered: true}
  cn_mobile_phone: {operator: mask, head: 3, tail: 2}
categories:
  secret.*: drop
  pii.contact: hash
keep: [ipv4, ipv6]
tag: {style: label, numbered: false}
hash: {length: 16}
fpe: {check_digit: true}
algorithms: international
""",
    "default: fpe\nalgorithms: national\nfpe: {check_digit: false}\n",
    "default: tag\ntag: {style: type, numbered: true}\n",
    "default: hash\nhash: {length: 64}\n",
    "default: hash\nhash: {length: 8}\n",
    "default: drop\nkeep: [pii.contact, cn_mobile_phone]\n",
    "default: keep\ntypes: {bank_card: fpe, email: fpe, hk_id: fpe, tw_id: fpe, macau_id: fpe, "
    "cn_landline_phone: fpe, medical_record_no: fpe, cn_mobile_phone: fpe}\n",
    "types:\n  cn_mobile_phone: {operator: mask, head: 99999999999999999999, tail: -5}\n",
    "hash: {length: 65}\n",
    "default: nonsense\n",
    "types: [a, b]\n",
    "categories:\n  '*': tag\n  'secret.*': hash\n  '.*': drop\n",
    "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nd: [*c, *c]\n",
    "{types: " * 120 + "x" + "}" * 120 + "\n",
    "default: mask\ndefault: tag\n",
    "\xff\xfe not utf-8",
    "",
]

def main():
    texts = text_seeds()
    for data in texts:
        write("scan", data)
        write("scan", with_cut(data))
        write("redact", data)
        write("redact", with_cut(data))
    for path in sorted(os.listdir(os.path.join(ROOT, "rules"))):
        if path.endswith(".yaml"):
            for piece in pieces(read(os.path.join("rules", path)), 16384):
                write("rules", piece)
    for text in RULES:
        write("rules", text.encode("utf-8", "surrogateescape"))
    for text in POLICIES:
        write("policy", text.encode("latin-1") if text.startswith("\xff") else text.encode())
    for target in sorted(os.listdir(OUT)):
        files = os.listdir(os.path.join(OUT, target))
        size = sum(os.path.getsize(os.path.join(OUT, target, f)) for f in files)
        print(f"{target}: {len(files)} seeds, {size} bytes", file=sys.stderr)

main()
