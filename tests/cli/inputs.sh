#!/bin/sh
# shellcheck disable=SC2086  # $COMMON, $SCAN, $FILES, $VALUES split on purpose
# Robustness of `qinglang scan` on awkward inputs: empty and invalid UTF-8
# files, NUL bytes (binary files skipped with a note), a 64 MiB single line,
# GB18030 and UTF-16 input (offsets in bytes of the input as read, columns
# in characters), forced --encoding, standard input, directory recursion
# with --exclude, and one large file split across threads giving the same
# output as one thread.
#
# Environment (set by CTest): QINGLANG = the binary.
set -eu

: "${QINGLANG:?QINGLANG must name the qinglang binary}"
case $QINGLANG in /*) ;; *) QINGLANG=$PWD/$QINGLANG ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qinglang-inputs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$tmp"

say() { echo "inputs.sh: $*"; }
fail() {
    echo "inputs.sh: FAIL: $*" >&2
    exit 1
}

# run NAME ARGS...: stdout in NAME.out, stderr in NAME.err, status in $rc;
# a status above 2 (a signal, an abort) fails at once.
run() {
    name=$1
    shift
    rc=0
    "$QINGLANG" "$@" >"$name.out" 2>"$name.err" || rc=$?
    if [ "$rc" -gt 2 ] || grep -q -e 'runtime error:' -e 'Sanitizer' "$name.err"; then
        fail "$name: qinglang $* exited with status $rc (crash?); stderr: $(head -c 600 "$name.err")"
    fi
}

expect_rc() {
    [ "$rc" -eq "$2" ] || fail "$1: exit status $rc, expected $2; stderr: $(head -c 400 "$1.err")"
}

# check_spans JSONL FILE ENCODING VALUE...: the findings in JSONL are
# exactly one per VALUE, in order, each spanning the bytes of VALUE encoded
# in ENCODING at its first occurrence in FILE (after the previous one), with
# line and column counted in characters of the decoded text.
check_spans() {
    python3 - "$@" <<'EOF'
import codecs, json, sys
jsonl, path, enc = sys.argv[1:4]
values = sys.argv[4:]
data = open(path, "rb").read()
found = [json.loads(l) for l in open(jsonl, encoding="utf-8")]
errs = []
if len(found) != len(values):
    errs.append("%d findings, expected %d: %r" % (len(found), len(values),
                [(f["type"], f["start"]) for f in found]))
bom = 0
for b in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
    if enc.startswith("utf-16") and data.startswith(b):
        bom = 2
text_enc = {"utf-16": "utf-16-le"}.get(enc, enc)
pos = bom
for f, v in zip(found, values):
    vb = v.encode(text_enc)
    start = data.index(vb, pos)
    # UTF-16: a match must sit on a code-unit boundary
    while text_enc.startswith("utf-16") and (start - bom) % 2:
        start = data.index(vb, start + 1)
    end = start + len(vb)
    pos = end
    before = data[bom:start].decode(text_enc)
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    want = {"start": start, "end": end, "line": line, "column": column}
    got = {k: f.get(k) for k in want}
    if got != want:
        errs.append("%s %r: got %r, expected %r" % (f.get("type"), v, got, want))
    if "value" in f and f["value"] != v:
        errs.append("%s: value %r, expected %r" % (f.get("type"), f["value"], v))
for e in errs:
    print("inputs.sh: FAIL: %s: %s" % (path, e), file=sys.stderr)
sys.exit(1 if errs else 0)
EOF
}

SCAN="scan --today 2026-11-25 --color never"

# ------------------------------------------------------------------ empty
say "empty file: exit 0, no output"
: >empty.txt
for fmt in text jsonl; do
    run empty $SCAN --format $fmt empty.txt
    expect_rc empty 0
    [ ! -s empty.out ] || fail "empty file, --format $fmt: printed $(head -c 200 empty.out)"
    [ ! -s empty.err ] || fail "empty file, --format $fmt: stderr $(head -c 200 empty.err)"
done

# ------------------------------------------------------------ invalid UTF-8
say "files of only invalid UTF-8 bytes: no crash, nothing found, in every encoding"
printf '\377\376\200\201\300\301\365\370\377\375\376\377\300' >invalid-bom.txt
printf '\200\201\300\301\365\370\377\375\376\377\300\355\240\200\364\220\200\200' >invalid.txt
python3 -c '
import random, sys
r = random.Random(7)
sys.stdout.buffer.write(bytes(r.choice(range(0x80, 0x100)) for _ in range(300000)))' >invalid-big.txt
for f in invalid-bom.txt invalid.txt invalid-big.txt; do
    for enc in auto utf-8 gb18030 utf-16le utf-16be; do
        run invalid $SCAN --format jsonl --encoding $enc "$f"
        expect_rc invalid 0
        [ ! -s invalid.out ] || fail "$f --encoding $enc: found $(head -c 300 invalid.out)"
    done
done

say "values between invalid bytes keep exact offsets"
printf '\200\201\300 11010519491231002X \377\n\365 13800138000 \377\376\n' >between.txt
run between $SCAN --format jsonl between.txt
expect_rc between 1
python3 - between.out <<'EOF' || fail "offsets between invalid bytes are wrong (see above)"
import json, sys
got = [(f["type"], f["start"], f["end"], f["line"]) for f in map(json.loads, open(sys.argv[1]))]
want = [("cn_resident_id", 4, 22, 1), ("cn_mobile_phone", 27, 38, 2)]
if got != want:
    print("inputs.sh: FAIL: between.txt: got %r, expected %r" % (got, want), file=sys.stderr)
    sys.exit(1)
EOF

# ------------------------------------------------------------------- NUL
say "NUL in the first 8 KiB: file skipped as binary with a note; the rest of the directory scanned"
mkdir -p nul
printf 'abc\000def 13800138000\n' >nul/a-binary.dat
python3 -c '
import sys
sys.stdout.buffer.write("手机13800138000\n".encode() + b"x" * 9000 + b"\0\0 AKIAIOSFODNN7EXAMPLE \0 zhangsan@example.com\n")' >nul/b-late-nul.txt
printf '联系人手机：13912345678\n' >nul/c-text.txt
run nul $SCAN --format jsonl nul
expect_rc nul 1
grep -q 'nul/a-binary\.dat: binary file, skipped' nul.err ||
    fail "no 'binary file, skipped' note for nul/a-binary.dat; stderr: $(cat nul.err)"
if grep -q 'a-binary' nul.out; then fail "the binary file's content was reported"; fi
if grep -q -e 'b-late-nul' -e 'c-text' nul.err; then fail "a text file was reported as binary: $(cat nul.err)"; fi
grep '"path":"nul/b-late-nul.txt"' nul.out >late.jsonl || true
check_spans late.jsonl nul/b-late-nul.txt utf-8 13800138000 AKIAIOSFODNN7EXAMPLE zhangsan@example.com ||
    fail "NUL after the first 8 KiB: findings wrong"
grep '"path":"nul/c-text.txt"' nul.out >ctext.jsonl || true
check_spans ctext.jsonl nul/c-text.txt utf-8 13912345678 || fail "nul/c-text.txt not scanned"
run nul1 $SCAN nul/a-binary.dat
expect_rc nul1 0
grep -q 'binary file, skipped' nul1.err || fail "no binary note when the binary file is named"

# -------------------------------------------------------- 64 MiB one line
say "a 64 MiB single line with a resident ID at the very end: exact offset (-j 1 and -j 2)"
python3 -c '
import sys
n = 64 << 20
tail = b" 11010519491231002X"
sys.stdout.buffer.write(b"a" * (n - len(tail)) + tail)' >long-line.txt
for j in 1 2; do
    run long $SCAN --format jsonl -j $j long-line.txt
    expect_rc long 1
    want='"start":67108846,"end":67108864,"line":1,"column":67108847,'
    [ "$(wc -l <long.out)" -eq 1 ] || fail "64 MiB line, -j $j: $(wc -l <long.out) findings, expected 1"
    grep -q "\"type\":\"cn_resident_id\".*$want" long.out ||
        fail "64 MiB line, -j $j: got $(cut -c1-300 long.out), expected $want"
done
rm -f long-line.txt

# ---------------------------------------------------------------- GB18030
say "GB18030 input: offsets in GB18030 bytes, columns in characters"
# A line with 4-byte GB18030 characters (U+3400, U+20000) before the values.
cat >text.txt <<'EOF'
第一行：普通文字，没有数据。
客户㐀𠀀的身份证号码是11010519491231002X，联系电话13800138000。
邮箱：lisi@example.cn
EOF
python3 -c '
import sys
t = open("text.txt", encoding="utf-8").read()
open("gb.txt", "wb").write(t.encode("gb18030"))
open("u16le.txt", "wb").write(b"\xff\xfe" + t.encode("utf-16-le"))
open("u16be.txt", "wb").write(b"\xfe\xff" + t.encode("utf-16-be"))
open("u16le-nobom.txt", "wb").write(t.encode("utf-16-le"))
assert t.encode("gb18030").count(bytes.fromhex("8139ee39")) == 1  # U+3400 as 4 bytes'
VALUES="11010519491231002X 13800138000 lisi@example.cn"
run utf8 $SCAN --format jsonl --reveal text.txt
expect_rc utf8 1
check_spans utf8.out text.txt utf-8 $VALUES || fail "UTF-8 reference scan wrong"
run gb $SCAN --format jsonl --reveal gb.txt
expect_rc gb 1
check_spans gb.out gb.txt gb18030 $VALUES || fail "GB18030 offsets wrong"

# same_as_utf8 NAME: findings equal the UTF-8 reference except path/start/end.
same_as_utf8() {
    python3 - utf8.out "$1.out" <<'EOF' || fail "$1: findings differ from the UTF-8 text's (see above)"
import json, sys
strip = lambda f: {k: v for k, v in f.items() if k not in ("path", "start", "end")}
a = [strip(json.loads(l)) for l in open(sys.argv[1])]
b = [strip(json.loads(l)) for l in open(sys.argv[2])]
if a != b:
    print("inputs.sh: FAIL: %r\n  vs UTF-8 %r" % (b, a), file=sys.stderr)
    sys.exit(1)
EOF
}
same_as_utf8 gb

say "UTF-16LE and UTF-16BE with BOM: offsets in UTF-16 bytes (BOM included)"
run u16le $SCAN --format jsonl --reveal u16le.txt
expect_rc u16le 1
check_spans u16le.out u16le.txt utf-16-le $VALUES || fail "UTF-16LE offsets wrong"
same_as_utf8 u16le
run u16be $SCAN --format jsonl --reveal u16be.txt
expect_rc u16be 1
check_spans u16be.out u16be.txt utf-16-be $VALUES || fail "UTF-16BE offsets wrong"
same_as_utf8 u16be

say "--encoding gb18030 forced on bytes that are also valid UTF-8"
# e5 80 81 e5 81 80 is three GBK characters (鍊佸亐) and two UTF-8 ones (倁偀).
printf '\345\200\201\345\201\200 13800138000\n' >ambiguous.txt
python3 -c '
b = open("ambiguous.txt", "rb").read()[:6]
assert len(b.decode("gb18030")) == 3 and len(b.decode("utf-8")) == 2'
run amb_auto $SCAN --format jsonl ambiguous.txt
expect_rc amb_auto 1
check_spans amb_auto.out ambiguous.txt utf-8 13800138000 || fail "auto (UTF-8) reading of ambiguous.txt wrong"
grep -q '"column":4,' amb_auto.out || fail "auto: expected column 4 (UTF-8 reading): $(cat amb_auto.out)"
run amb_gb $SCAN --format jsonl --encoding gb18030 ambiguous.txt
expect_rc amb_gb 1
check_spans amb_gb.out ambiguous.txt gb18030 13800138000 || fail "--encoding gb18030 not applied"
grep -q '"column":5,' amb_gb.out || fail "--encoding gb18030: expected column 5: $(cat amb_gb.out)"
run gb_forced $SCAN --format jsonl --reveal --encoding gb18030 gb.txt
cmp -s gb.out gb_forced.out || fail "--encoding gb18030 on gb.txt differs from auto-detection"

# ------------------------------------------------------------------ stdin
say "standard input via '-' and via a pipe with no path"
run file_ref $SCAN --format jsonl text.txt
sed 's/"path":"text.txt"/"path":"-"/' file_ref.out >stdin.expected
rc=0
"$QINGLANG" $SCAN --format jsonl - <text.txt >stdin_dash.out 2>stdin_dash.err || rc=$?
expect_rc stdin_dash 1
cmp -s stdin.expected stdin_dash.out || fail "'-' from a file: output differs from scanning text.txt"
rc=0
# shellcheck disable=SC2002  # a pipe, not a redirected file, on purpose
cat text.txt | "$QINGLANG" $SCAN --format jsonl >stdin_pipe.out 2>stdin_pipe.err || rc=$?
expect_rc stdin_pipe 1
cmp -s stdin.expected stdin_pipe.out || fail "pipe with no path: output differs from scanning text.txt"
rc=0
"$QINGLANG" $SCAN --format jsonl --reveal - <gb.txt >stdin_gb.out 2>stdin_gb.err || rc=$?
expect_rc stdin_gb 1
sed 's/"path":"gb.txt"/"path":"-"/' gb.out | cmp -s - stdin_gb.out || fail "GB18030 on stdin differs from gb.txt"
rc=0
"$QINGLANG" $SCAN - </dev/null >stdin_empty.out 2>stdin_empty.err || rc=$?
expect_rc stdin_empty 0
[ ! -s stdin_empty.out ] || fail "empty stdin printed output"

# -------------------------------------------------------------- recursion
say "directory recursion in name order, --exclude '*.log' drops those files"
mkdir -p tree/sub/deep tree/logs
printf '手机 13800138000\n' >tree/a.txt
printf '身份证 11010519491231002X\n' >tree/sub/deep/b.txt
printf 'mail zhangsan@example.com\n' >tree/sub/app.log
printf 'mail lisi@example.cn\n' >tree/logs/c.log
printf 'key AKIAIOSFODNN7EXAMPLE\n' >tree/sub/z.txt
run tree_all $SCAN --format jsonl tree
expect_rc tree_all 1
run tree_ex $SCAN --format jsonl --exclude '*.log' tree
expect_rc tree_ex 1
python3 - tree_all.out tree_ex.out <<'EOF' || fail "directory recursion / --exclude wrong (see above)"
import json, sys
paths = lambda p: [(f["path"], f["type"]) for f in map(json.loads, open(p))]
want_all = [("tree/a.txt", "cn_mobile_phone"), ("tree/logs/c.log", "email"),
            ("tree/sub/app.log", "email"), ("tree/sub/deep/b.txt", "cn_resident_id"),
            ("tree/sub/z.txt", "aws_access_key_id")]
want_ex = [p for p in want_all if not p[0].endswith(".log")]
bad = 0
for name, got, want in (("without --exclude", paths(sys.argv[1]), want_all),
                        ("with --exclude '*.log'", paths(sys.argv[2]), want_ex)):
    if got != want:
        print("inputs.sh: FAIL: %s: %r, expected %r" % (name, got, want), file=sys.stderr)
        bad = 1
sys.exit(bad)
EOF
if grep -q -e 'example\.cn' -e 'zhangsan' tree_ex.out; then fail "an excluded file's finding was reported"; fi
run tree_ex2 $SCAN --format jsonl --exclude logs --exclude 'tree/sub/z.*' tree
grep -q 'tree/logs' tree_ex2.out && fail "--exclude logs did not skip the directory"
grep -q 'tree/sub/z.txt' tree_ex2.out && fail "--exclude 'tree/sub/z.*' did not match the path"
grep -q 'tree/sub/app.log' tree_ex2.out || fail "--exclude logs skipped too much"

# ------------------------------------------------ one large file, -j 1 vs -j 2
say "a 40 MiB file: -j 1 and -j 2 (file split across threads) give identical jsonl"
python3 - big.txt big.expected <<'EOF'
import json, sys
SIZE = 40 << 20
filler = "普通的一行文字，没有任何敏感信息，只是为了填充长度而写的句子。\n" * 12
# Where a split into 2..16 even pieces would cut, a value straddles the cut.
cuts = sorted({SIZE * p // k for k in range(2, 17) for p in range(1, k)})
out = bytearray()
expect = []
line = 1

def emit(text):
    global line
    out.extend(text.encode())
    line += text.count("\n")

def entity(prefix, value, typ, suffix="\n"):
    global line
    emit(prefix)
    col = len(out[out.rfind(b"\n") + 1:].decode()) + 1
    start = len(out)
    emit(value)
    expect.append((typ, start, len(out), line, col))
    emit(suffix)

n = 0
ci = 0
while len(out) < SIZE - 4096:
    if ci < len(cuts) and len(out) + 3000 > cuts[ci]:
        # pad with ASCII so the ID's 9th byte sits on the cut
        pad = cuts[ci] - len(out) - len("身份证 ".encode()) - 9
        if pad >= 2:
            emit("x" * (pad - 1) + "\n")
            entity("身份证 ", "11010519491231002X", "cn_resident_id")
        ci += 1
        continue
    n += 1
    entity("第%d条：身份证 " % n, "11010519491231002X", "cn_resident_id", "，")
    entity("手机 ", "13800138000", "cn_mobile_phone", "，")
    entity("邮箱 ", "zhangsan@example.com", "email", "。\n")
    emit(filler)
emit("y" * (SIZE - len(out) - 1) + "\n")
assert len(out) == SIZE
open(sys.argv[1], "wb").write(out)
with open(sys.argv[2], "w") as f:
    for e in expect:
        f.write("%s %d %d %d %d\n" % e)
EOF
run big1 $SCAN --format jsonl -j 1 big.txt
expect_rc big1 1
run big2 $SCAN --format jsonl -j 2 big.txt
expect_rc big2 1
cmp -s big1.out big2.out || {
    diff big1.out big2.out | head -5 >&2
    fail "-j 1 and -j 2 outputs differ on a 40 MiB file"
}
python3 - big1.out big.expected <<'EOF' || fail "40 MiB file: findings wrong (see above)"
import json, sys
got = []
for l in open(sys.argv[1], encoding="utf-8"):
    f = json.loads(l)
    got.append("%s %d %d %d %d" % (f["type"], f["start"], f["end"], f["line"], f["column"]))
want = open(sys.argv[2]).read().split("\n")[:-1]
if got != want:
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    print("inputs.sh: FAIL: %d findings, expected %d; missing %r; unexpected %r"
          % (len(got), len(want), missing, extra), file=sys.stderr)
    sys.exit(1)
EOF
rm -f big.txt big1.out big2.out

# Last, as the check most likely to fail: with the encoding given, NUL
# bytes are UTF-16 code units, not a sign of a binary file.
say "--encoding utf-16le forced on a UTF-16LE file without BOM"
run u16forced $SCAN --format jsonl --reveal --encoding utf-16le u16le-nobom.txt
if grep -q 'binary file' u16forced.err; then
    fail "--encoding utf-16le: u16le-nobom.txt skipped as binary although the encoding was given: $(cat u16forced.err)"
fi
expect_rc u16forced 1
check_spans u16forced.out u16le-nobom.txt utf-16-le $VALUES || fail "forced UTF-16LE offsets wrong"

say "all input checks passed"
