#!/bin/sh
# shellcheck disable=SC2086  # $COMMON, $SCAN, $FILES, $VALUES split on purpose
# Golden output of `qinglang scan`: exact bytes of the text and JSON Lines
# formats (with and without --reveal) for small Chinese inputs written
# below, checked against tests/cli/golden/*.expected; the json and sarif
# formats are parsed and cross-checked against the JSON Lines findings; the
# spans are recomputed independently from the input bytes; raw values never
# leak without --reveal; and the exit codes of docs/scan.md.
#
# The expected files were generated once from the binary and then checked
# by hand against docs/types.md (the offsets are also recomputed by the
# Python check below).  After an intended output change, regenerate them
# with QL_UPDATE_GOLDEN=1 and review the diff line by line before keeping it.
#
# Environment (set by CTest): QINGLANG = the binary, QL_SOURCE_DIR = the
# source tree.
set -eu

: "${QINGLANG:?QINGLANG must name the qinglang binary}"
: "${QL_SOURCE_DIR:?QL_SOURCE_DIR must name the source tree}"
case $QINGLANG in /*) ;; *) QINGLANG=$PWD/$QINGLANG ;; esac
GOLDEN=$QL_SOURCE_DIR/tests/cli/golden
case $GOLDEN in /*) ;; *) GOLDEN=$PWD/$GOLDEN ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qinglang-golden.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "golden.sh: $*"; }
fail() {
    echo "golden.sh: FAIL: $*" >&2
    exit 1
}

# run NAME ARGS...: runs the binary in $tmp/in with stdout in $tmp/NAME.out,
# stderr in $tmp/NAME.err and the exit status in $rc.
run() {
    name=$1
    shift
    rc=0
    (cd "$tmp/in" && "$QINGLANG" "$@") >"$tmp/$name.out" 2>"$tmp/$name.err" || rc=$?
    if [ "$rc" -gt 2 ] || grep -q -e 'runtime error:' -e 'Sanitizer' "$tmp/$name.err"; then
        fail "$name: qinglang $* exited with status $rc (crash?); stderr: $(head -c 600 "$tmp/$name.err")"
    fi
}

expect_rc() {
    [ "$rc" -eq "$2" ] ||
        fail "$1: exit status $rc, expected $2; stderr: $(head -c 400 "$tmp/$1.err")"
}

# golden NAME FILE: stdout of run NAME must equal golden/FILE byte for byte.
golden() {
    if [ "${QL_UPDATE_GOLDEN:-}" = 1 ]; then
        cp "$tmp/$1.out" "$GOLDEN/$2"
        say "wrote $GOLDEN/$2 -- review it by hand"
        return 0
    fi
    [ -f "$GOLDEN/$2" ] || fail "missing golden file $GOLDEN/$2"
    if ! cmp -s "$GOLDEN/$2" "$tmp/$1.out"; then
        diff -u "$GOLDEN/$2" "$tmp/$1.out" >&2 || true
        fail "$1: output differs from tests/cli/golden/$2 (diff above)"
    fi
}

mkdir "$tmp/in"
# Inputs.  Every value here is synthetic: the resident IDs are the
# GB 11643-1999 example and a validid test vector, the card passes Luhn,
# the AWS key is AWS's documentation example.
printf '%s\n' \
    '客户张三的身份证号码是11010519491231002X，手机13800138000。' \
    '银行卡号 6222 0212 3456 7894 已冻结。' \
    '请发邮件至 zhangsan@example.com 联系。' \
    '儿子的身份证：11010120170210193X' >"$tmp/in/pii.txt"
printf '%s\n' \
    '# 部署配置' \
    'aws_key_id = AKIAIOSFODNN7EXAMPLE' \
    '令牌：ghp_0123456789abcdefghijABCDEFGHIJ012345' >"$tmp/in/secrets.txt"
printf '%s\n' '全角电话：１３８００１３８０００，请回电。' >"$tmp/in/fullwidth.txt"
printf '%s\n' '这里没有任何敏感信息，只有普通的文字。' >"$tmp/in/clean.txt"

FILES="pii.txt secrets.txt fullwidth.txt clean.txt"
COMMON="scan --today 2026-11-25 --color never"

# ------------------------------------------------------------ golden bytes
say "text and jsonl output match tests/cli/golden/*.expected byte for byte"
{
    run text $COMMON $FILES
    expect_rc text 1
    golden text scan.text.expected
    run jsonl $COMMON --format jsonl $FILES
    expect_rc jsonl 1
    golden jsonl scan.jsonl.expected
    run text_reveal $COMMON --reveal $FILES
    expect_rc text_reveal 1
    golden text_reveal scan-reveal.text.expected
    run jsonl_reveal $COMMON --format jsonl --reveal $FILES
    expect_rc jsonl_reveal 1
    golden jsonl_reveal scan-reveal.jsonl.expected
    for f in text jsonl text_reveal jsonl_reveal; do
        [ ! -s "$tmp/$f.err" ] || fail "$f: unexpected stderr: $(head -c 400 "$tmp/$f.err")"
    done
}

say "output is the same with -j 1 and -j 2, and --color auto is plain when piped"
{
    run jsonl_j1 $COMMON --format jsonl -j 1 $FILES
    cmp -s "$tmp/jsonl.out" "$tmp/jsonl_j1.out" || fail "jsonl output differs with -j 1"
    run jsonl_j2 $COMMON --format jsonl -j 2 $FILES
    cmp -s "$tmp/jsonl.out" "$tmp/jsonl_j2.out" || fail "jsonl output differs with -j 2"
    run text_auto scan --today 2026-11-25 $FILES
    cmp -s "$tmp/text.out" "$tmp/text_auto.out" || fail "--color auto to a pipe differs from --color never"
    run text_always scan --today 2026-11-25 --color always $FILES
    esc=$(printf '\033')
    grep -q "$esc\\[" "$tmp/text_always.out" || fail "--color always printed no colour escapes"
    if grep -q "$esc" "$tmp/text.out"; then fail "--color never printed escape sequences"; fi
}

# ------------------------------------------------ spans recomputed by hand
say "every span, line, column, mask and value agrees with the input bytes"
(cd "$tmp/in" && python3 - "$tmp/jsonl.out" "$tmp/jsonl_reveal.out") <<'EOF' || fail "span check failed (see above)"
import json, sys

def fold(s):  # full-width ASCII -> ASCII, as docs/types.md describes
    return "".join(chr(ord(c) - 0xFEE0) if 0xFF01 <= ord(c) <= 0xFF5E else c for c in s)

# (path, type, raw value as written in the file, masked, attributes)
expected = [
    ("pii.txt", "person_name", "张三", "张*", {}),
    ("pii.txt", "cn_resident_id", "11010519491231002X", "110105********002X",
     {"birth_date": "1949-12-31", "sex": "female", "minor": False}),
    ("pii.txt", "cn_mobile_phone", "13800138000", "138****8000", {}),
    ("pii.txt", "bank_card", "6222 0212 3456 7894", "6222 **** **** 7894", {}),
    ("pii.txt", "email", "zhangsan@example.com", "z***@example.com", {}),
    ("pii.txt", "cn_resident_id", "11010120170210193X", "110101********193X",
     {"birth_date": "2017-02-10", "sex": "male", "minor": True}),
    ("secrets.txt", "aws_access_key_id", "AKIAIOSFODNN7EXAMPLE", "AKIA" + "*" * 16, {}),
    ("secrets.txt", "github_token", "ghp_0123456789abcdefghijABCDEFGHIJ012345",
     "ghp_0" + "*" * 35, {}),
    ("fullwidth.txt", "cn_mobile_phone", "１３８００１３８０００", "138****8000", {}),
]
plain = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
reveal = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
errors = []
if len(plain) != len(expected):
    errors.append("%d findings, expected %d" % (len(plain), len(expected)))
search_from = {}
for i, (exp, got, rev) in enumerate(zip(expected, plain, reveal)):
    path, typ, raw, masked, attrs = exp
    data = open(path, "rb").read()
    rawb = raw.encode("utf-8")
    start = data.index(rawb, search_from.get(path, 0))
    search_from[path] = start + len(rawb)
    end = start + len(rawb)
    line = data[:start].count(b"\n") + 1
    column = len(data[data.rfind(b"\n", 0, start) + 1:start].decode("utf-8")) + 1
    want = {"path": path, "type": typ, "start": start, "end": end, "line": line,
            "column": column, "masked": masked, "attributes": attrs}
    for k, v in want.items():
        if got.get(k) != v:
            errors.append("finding %d (%s %s): %s is %r, expected %r" % (i, path, typ, k, got.get(k), v))
    if got.get("rule") != "builtin." + typ:
        errors.append("finding %d: rule %r" % (i, got.get("rule")))
    if "value" in got:
        errors.append("finding %d: value present without --reveal" % i)
    # --reveal adds exactly one field, "value": the raw value as UTF-8
    # (full-width text folded to ASCII, see include/qinglang.h).
    extra = {k: v for k, v in rev.items() if k != "value"}
    if extra != got:
        errors.append("finding %d: --reveal changed fields other than value" % i)
    if rev.get("value") != fold(raw):
        errors.append("finding %d: --reveal value %r, expected %r" % (i, rev.get("value"), fold(raw)))
    if list(rev.keys()).index("value") != list(rev.keys()).index("masked") + 1:
        errors.append("finding %d: value is not right after masked" % i)
for e in errors:
    print("golden.sh: FAIL:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

# ------------------------------------------------------------ json, sarif
say "--format json parses and holds the same findings as jsonl, errors empty"
run json $COMMON --format json $FILES
expect_rc json 1
python3 - "$tmp/json.out" "$tmp/jsonl.out" <<'EOF' || fail "json check failed (see above)"
import json, sys
doc = json.loads(open(sys.argv[1], encoding="utf-8").read())
lines = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
problems = []
if sorted(doc) != ["errors", "findings"]:
    problems.append("top-level keys %r" % sorted(doc))
if doc.get("findings") != lines:
    problems.append("findings differ from the jsonl output")
if doc.get("errors") != []:
    problems.append("errors %r, expected []" % doc.get("errors"))
for p in problems:
    print("golden.sh: FAIL: json:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF

say "--format sarif is SARIF 2.1.0 with one result per finding at the right place"
run sarif $COMMON --format sarif $FILES
expect_rc sarif 1
python3 - "$tmp/sarif.out" "$tmp/jsonl.out" <<'EOF' || fail "sarif check failed (see above)"
import json, sys
doc = json.loads(open(sys.argv[1], encoding="utf-8").read())
lines = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
p = []
if doc.get("version") != "2.1.0":
    p.append("version %r" % doc.get("version"))
runs = doc.get("runs", [])
if len(runs) != 1:
    p.append("%d runs, expected 1" % len(runs))
run = runs[0] if runs else {}
driver = run.get("tool", {}).get("driver", {})
if driver.get("name") != "qinglang":
    p.append("tool.driver.name %r" % driver.get("name"))
rule_ids = [r.get("id") for r in driver.get("rules", [])]
if len(set(rule_ids)) != len(rule_ids) or "builtin.cn_resident_id" not in rule_ids:
    p.append("tool.driver.rules ids not unique or incomplete")
results = run.get("results", [])
if len(results) != len(lines) or len(results) != 9:
    p.append("%d results, expected %d (jsonl) and 9" % (len(results), len(lines)))
level = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
for i, (r, f) in enumerate(zip(results, lines)):
    loc = r["locations"][0]["physicalLocation"]
    reg = loc["region"]
    want = [("ruleId", r.get("ruleId"), f["rule"]),
            ("uri", loc["artifactLocation"]["uri"], f["path"]),
            ("startLine", reg.get("startLine"), f["line"]),
            ("startColumn", reg.get("startColumn"), f["column"]),
            ("byteOffset", reg.get("byteOffset"), f["start"]),
            ("byteLength", reg.get("byteLength"), f["end"] - f["start"]),
            ("level", r.get("level"), level[f["severity"]])]
    for name, got, exp in want:
        if got != exp:
            p.append("result %d: %s is %r, expected %r" % (i, name, got, exp))
    if r.get("ruleId") not in rule_ids:
        p.append("result %d: ruleId %r not in tool.driver.rules" % (i, r.get("ruleId")))
    if f["masked"] not in r.get("message", {}).get("text", ""):
        p.append("result %d: message does not show the masked value" % i)
# spot-check the first finding in absolute terms too
r0 = results[1]["locations"][0]["physicalLocation"]["region"] if len(results) > 1 else {}
if (results[1].get("ruleId"), r0.get("startLine"), r0.get("byteOffset")) != ("builtin.cn_resident_id", 1, 33):
    p.append("result 1 is not the resident ID at line 1, byte 33")
for x in p:
    print("golden.sh: FAIL: sarif:", x, file=sys.stderr)
sys.exit(1 if p else 0)
EOF

# --------------------------------------------------------- no raw values
say "without --reveal no raw value appears on stdout or stderr, in any format"
RAW_VALUES='张三
11010519491231002X
13800138000
6222 0212 3456 7894
6222021234567894
zhangsan@example.com
zhangsan
11010120170210193X
AKIAIOSFODNN7EXAMPLE
IOSFODNN7EXAMPLE
ghp_0123456789abcdefghijABCDEFGHIJ012345
0123456789abcdefghij
１３８００１３８０００'
for fmt in text jsonl json sarif; do
    run leak_$fmt $COMMON --stats --format $fmt $FILES
    expect_rc leak_$fmt 1
    echo "$RAW_VALUES" | while IFS= read -r v; do
        for stream in out err; do
            if grep -F -q -- "$v" "$tmp/leak_$fmt.$stream"; then
                fail "raw value '$v' appears in std$stream of --format $fmt without --reveal"
            fi
        done
    done
done
say "with --reveal the raw values do appear"
for v in 11010519491231002X zhangsan@example.com AKIAIOSFODNN7EXAMPLE '6222 0212 3456 7894'; do
    grep -F -q -- "$v" "$tmp/text_reveal.out" || fail "--reveal text output lacks '$v'"
    grep -F -q -- "\"value\":\"$v\"" "$tmp/jsonl_reveal.out" || fail "--reveal jsonl lacks value '$v'"
done

# -------------------------------------------------------------- exit codes
say "exit 0 and no output when nothing is found"
run clean $COMMON clean.txt
expect_rc clean 0
[ ! -s "$tmp/clean.out" ] || fail "clean scan printed: $(head -c 200 "$tmp/clean.out")"
run clean_json $COMMON --format json clean.txt
expect_rc clean_json 0
[ "$(cat "$tmp/clean_json.out")" = '{"findings":[],"errors":[]}' ] ||
    fail "clean json output: $(head -c 200 "$tmp/clean_json.out")"

say "exit 1 with findings"
run found $COMMON pii.txt
expect_rc found 1

say "exit 2 for bad options, with a message and no findings"
for opts in '--format xml' '--bogus' '-j 0' '-j 257' '--threads abc' '--today 2026-13-01' \
    '--today yesterday' '--min-confidence 1.5' '--min-confidence x' \
    '--color sometimes' '--encoding latin1'; do
    run badopt $COMMON $opts pii.txt
    [ "$rc" -eq 2 ] || fail "'scan $opts' exited $rc, expected 2 (a bad option)"
    [ -s "$tmp/badopt.err" ] || fail "'scan $opts' printed no message on stderr"
    [ ! -s "$tmp/badopt.out" ] || fail "'scan $opts' printed on stdout: $(head -c 200 "$tmp/badopt.out")"
done
run badopt scan pii.txt --format
expect_rc badopt 2
run badcmd frobnicate
expect_rc badcmd 2

say "exit 2 for a missing file; the other files are still scanned and reported"
run missing $COMMON missing.txt $FILES
expect_rc missing 2
grep -q 'missing\.txt' "$tmp/missing.err" || fail "stderr does not name missing.txt: $(cat "$tmp/missing.err")"
if [ "${QL_UPDATE_GOLDEN:-}" != 1 ]; then
    cmp -s "$tmp/missing.out" "$GOLDEN/scan.text.expected" ||
        fail "with a missing file the other files' findings differ from scan.text.expected"
fi
run missing_json $COMMON --format json $FILES missing.txt
expect_rc missing_json 2
python3 - "$tmp/missing_json.out" <<'EOF' || fail "json output with a missing file is wrong (see above)"
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
ok = len(doc["findings"]) == 9 and len(doc["errors"]) == 1 and doc["errors"][0].startswith("missing.txt")
if not ok:
    print("golden.sh: FAIL: findings %d, errors %r" % (len(doc["findings"]), doc["errors"]), file=sys.stderr)
sys.exit(0 if ok else 1)
EOF

say "exit 2 for an unreadable rule file, before anything is scanned"
run norules $COMMON --rules no-such-rules.yaml pii.txt
expect_rc norules 2
grep -q 'no-such-rules\.yaml' "$tmp/norules.err" || fail "stderr does not name the rule file"
[ ! -s "$tmp/norules.out" ] || fail "findings printed although the rule file is unreadable"
mkdir "$tmp/in/rules-dir.yaml"
run dirrules $COMMON --rules rules-dir.yaml pii.txt
expect_rc dirrules 2
[ ! -s "$tmp/dirrules.out" ] || fail "findings printed although the rule file is a directory"
if [ "$(id -u)" != 0 ]; then
    printf 'rules: []\n' >"$tmp/in/secret-rules.yaml"
    chmod 000 "$tmp/in/secret-rules.yaml"
    run permrules $COMMON --rules secret-rules.yaml pii.txt
    expect_rc permrules 2
    printf 'x\n' >"$tmp/in/locked.txt"
    chmod 000 "$tmp/in/locked.txt"
    run locked $COMMON locked.txt pii.txt
    expect_rc locked 2
    grep -q 'locked\.txt' "$tmp/locked.err" || fail "stderr does not name locked.txt"
    grep -q '^pii\.txt:1:12: cn_resident_id' "$tmp/locked.out" || fail "pii.txt not scanned after an unreadable file"
else
    say "(running as root: permission-denied cases skipped)"
fi

# Last, as the check most likely to fail: a date that does not exist is a
# bad option too (the other --today checks are above).
say "exit 2 for --today with an impossible date"
for d in 2026-02-30 2026-04-31 2025-02-29; do
    run baddate $COMMON --today "$d" pii.txt
    [ "$rc" -eq 2 ] || fail "'scan --today $d' exited $rc, expected 2 (no such date)"
    [ -s "$tmp/baddate.err" ] || fail "'scan --today $d' printed no message"
done

say "all golden checks passed"
