#!/bin/sh
# shellcheck disable=SC2086  # $COMMON, $SCAN, $FILES, $VALUES split on purpose
# `qinglang rules list` and `rules check`, and custom rule files in `scan`:
# every built-in type of docs/types.md is listed (text and JSON); a good
# custom file checks OK; hostile and broken files (YAML errors, unknown
# keys, missing ids, bad or anchored regexes, unknown validators, bad
# numbers, duplicates, garbage, empty, invalid UTF-8, deep nesting, alias
# bombs) exit 2 with `FILE:LINE:COL: error: ...` at the right place; a
# keyword rule finds its words with exact offsets.
#
# Environment (set by CTest): QINGLANG = the binary, QL_SOURCE_DIR = the
# source tree.
set -eu

: "${QINGLANG:?QINGLANG must name the qinglang binary}"
: "${QL_SOURCE_DIR:?QL_SOURCE_DIR must name the source tree}"
case $QINGLANG in /*) ;; *) QINGLANG=$PWD/$QINGLANG ;; esac
case $QL_SOURCE_DIR in /*) ;; *) QL_SOURCE_DIR=$PWD/$QL_SOURCE_DIR ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qinglang-rules.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$tmp"

say() { echo "rules.sh: $*"; }
fail() {
    echo "rules.sh: FAIL: $*" >&2
    exit 1
}

# run NAME ARGS...: stdout in NAME.out, stderr in NAME.err, status in $rc;
# a status above 2 or a sanitizer report fails at once, and so does a run
# longer than $LIMIT seconds (rule files are small: reading one is quick).
LIMIT=30
run() {
    name=$1
    shift
    rc=0
    timeout "$LIMIT" "$QINGLANG" "$@" >"$name.out" 2>"$name.err" || rc=$?
    if [ "$rc" -eq 124 ]; then
        fail "$name: qinglang $* took more than $LIMIT s (killed)"
    fi
    if [ "$rc" -gt 2 ] || grep -q -e 'runtime error:' -e 'Sanitizer' "$name.err"; then
        fail "$name: qinglang $* exited with status $rc (crash?); stderr: $(head -c 600 "$name.err")"
    fi
}

expect_rc() {
    [ "$rc" -eq "$2" ] || fail "$1: exit status $rc, expected $2; stderr: $(head -c 400 "$1.err")"
}

# ------------------------------------------------------------ rules list
say "rules list prints every built-in type of docs/types.md"
run list rules list
expect_rc list 0
run listj rules list --format json
expect_rc listj 0
python3 - "$QL_SOURCE_DIR/docs/types.md" list.out listj.out <<'EOF' || fail "rules list is incomplete or malformed (see above)"
import json, re, sys
doc, text, js = sys.argv[1:]
types = re.findall(r"^\| `([a-z0-9_]+)` \|", open(doc, encoding="utf-8").read(), re.M)
errs = []
if len(types) < 25:
    errs.append("only %d types parsed from docs/types.md" % len(types))
rows = [l.split() for l in open(text, encoding="utf-8") if l.strip()]
text_ids = [r[0] for r in rows]
text_types = {r[1] for r in rows}
try:
    lst = json.load(open(js, encoding="utf-8"))
except ValueError as e:
    lst = []
    errs.append("rules list --format json is not JSON: %s" % e)
if not isinstance(lst, list):
    errs.append("rules list --format json is not a list")
    lst = []
for r in lst:
    if sorted(r) != ["category", "description", "id", "severity", "type"]:
        errs.append("json entry keys %r" % sorted(r))
    if r.get("severity") not in ("info", "low", "medium", "high", "critical"):
        errs.append("%s: severity %r" % (r.get("id"), r.get("severity")))
json_ids = [r.get("id") for r in lst]
json_types = {r.get("type") for r in lst}
for t in types:
    if t not in text_types:
        errs.append("type %s missing from `rules list`" % t)
    if t not in json_types:
        errs.append("type %s missing from `rules list --format json`" % t)
if json_ids != text_ids:
    errs.append("text and json list different ids (%d vs %d)" % (len(text_ids), len(json_ids)))
if len(set(json_ids)) != len(json_ids):
    errs.append("duplicate ids in the list")
for must in ("builtin.cn_resident_id", "builtin.cn_mobile_phone", "builtin.bank_card",
             "builtin.email", "builtin.aws_access_key_id", "builtin.github_token",
             "builtin.private_key", "builtin.person_name"):
    if must not in json_ids:
        errs.append("id %s not listed" % must)
for e in errs:
    print("rules.sh: FAIL:", e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF

# ----------------------------------------------------------- a good file
cat >good.yaml <<'EOF'
# 自定义规则：密级标志与工号
version: 1
rules:
  - id: custom.secret_word
    type: secret_word
    category: custom.classified
    severity: high
    description: 密级标志
    keywords: [机密, 绝密]
    confidence: 0.9
  - id: custom.employee_id
    type: employee_id
    severity: low
    regex: 'EMP-[0-9]{6}'
    boundary: word
EOF
printf 'rules:\n  - id: one.rule\n    type: one_rule\n    regex: "ONE-[0-9]{4}"\n' >one.yaml

say "rules check on good files: 'N rules OK', exit 0"
run check_good rules check good.yaml
expect_rc check_good 0
[ "$(cat check_good.out)" = "good.yaml: 2 rules OK" ] || fail "rules check good.yaml printed: $(cat check_good.out)"
[ ! -s check_good.err ] || fail "rules check good.yaml wrote to stderr: $(cat check_good.err)"
run check_one rules check one.yaml good.yaml
expect_rc check_one 0
[ "$(sed -n 1p check_one.out)" = "one.yaml: 1 rule OK" ] || fail "rules check one.yaml printed: $(cat check_one.out)"

say "rules list with custom files"
run list_custom rules list --no-builtin --rules good.yaml --format json
expect_rc list_custom 0
python3 - list_custom.out <<'EOF' || fail "rules list --no-builtin --rules good.yaml is wrong"
import json, sys
got = [(r["id"], r["type"], r["category"], r["severity"]) for r in json.load(open(sys.argv[1]))]
want = [("custom.secret_word", "secret_word", "custom.classified", "high"),
        ("custom.employee_id", "employee_id", "custom", "low")]
if got != want:
    print("rules.sh: FAIL: %r, expected %r" % (got, want), file=sys.stderr)
    sys.exit(1)
EOF
run list_both rules list --rules good.yaml
if ! grep -q '^custom\.employee_id ' list_both.out || ! grep -q '^builtin\.email ' list_both.out; then
    fail "rules list --rules good.yaml does not list both built-in and custom rules"
fi

# ------------------------------------------------------ broken / hostile
# Each file below starts with the same valid header (lines 1-6), so each
# error sits after a valid rule, at the line given with it.
HEADER='# 自定义规则
version: 1
rules:
  - id: custom.ok
    type: ok_word
    keywords: [fine]'
mk() { # mk FILE LINE...: header, then the lines
    f=$1
    shift
    { echo "$HEADER"; printf '%s\n' "$@"; } >"$f"
}
mk yaml-syntax.yaml '  - id: bad' '    type: a: b' '    keywords: [x]'
mk unknown-key.yaml '  - id: bad' '    type: bad' '    keywords: [x]' '    colour: red'
mk missing-id.yaml '  - type: bad' '    keywords: [x]'
mk bad-regex.yaml '  - id: bad' '    type: bad' "    regex: 'ID-(ab[0-9]+'"
mk anchored.yaml '  - id: bad' '    type: bad' "    regex: '^ID-[0-9]+'"
mk validator.yaml '  - id: bad' '    type: bad' "    regex: 'ID-[0-9]+'" '    validator: luhnish'
mk confidence.yaml '  - id: bad' '    type: bad' "    regex: 'ID-[0-9]+'" '    confidence: 2.0'
mk duplicate.yaml '  - id: custom.ok' '    type: other' "    regex: 'ID-[0-9]+'"
mk empty-regex.yaml '  - id: bad' '    type: bad' "    regex: 'a*'"
mk flag.yaml '  - id: bad' '    type: bad' "    regex: 'abc'" '    flags: [caseless, multiline]'
: >empty.yaml
mk invalid-utf8.yaml '  - id: bad' '    type: bad'
printf '    keywords: [\377\376\200]\n' >>invalid-utf8.yaml
# 5 MB of garbage: random bytes, and random YAML punctuation (fixed seeds).
python3 -c '
import random, sys
r = random.Random(11)
raw = r.randbytes(5000000)
sys.stdout.buffer.write(raw)
alphabet = b"abc: -[]{}\n\"\x27#&*!|>%@,?"
table = bytes(alphabet[i % len(alphabet)] for i in range(256))
open("garbage-text.yaml", "wb").write(raw.translate(table))' >garbage-binary.yaml
python3 -c '
n = 1000
print("rules:\n  - id: deep\n    type: deep\n    keywords: " + "[" * n + "x" + "]" * n)' >deep.yaml
# 5 MB of '[': libyaml's flow-level bookkeeping is quadratic in the depth
# (100 KB of '[' took 15 s, 5 MB would take hours), so a hostile file must
# be refused before it reaches the parser.
head -c 5000000 /dev/zero | tr '\0' '[' >garbage-brackets.yaml
cat >alias-bomb.yaml <<'EOF'
rules:
  - id: bomb
    type: bomb
    keywords: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
    context: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    allow: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    negative_context: [*c, *c, *c, *c, *c, *c, *c, *c, *c]
EOF
printf -- '- a\n- b\n' >not-mapping.yaml
mkdir dir.yaml

say "unreadable rule files: exit 2 with a message"
for f in dir.yaml no-such-file.yaml; do
    run check rules check "$f"
    expect_rc check 2
    grep -q -F "$f" check.err || fail "rules check $f: stderr does not name the file: $(cat check.err)"
done

say "rules check with a good and a bad file: the good one OK, the bad one reported, exit 2"
run mixed rules check good.yaml duplicate.yaml
expect_rc mixed 2
grep -q '^good\.yaml: 2 rules OK$' mixed.out || fail "good.yaml not reported OK: $(cat mixed.out)"
grep -q '^duplicate\.yaml:7:5: error: ' mixed.err || fail "duplicate.yaml not reported: $(cat mixed.err)"

# --------------------------------------------------- keyword rule in a scan
say "a keyword rule finds 机密 and 绝密 with exact offsets (--no-builtin)"
printf '%s\n' '本文件为机密材料，手机13800138000。' '第二行：绝密！不是机密的机密' \
    '工号 EMP-123456，不是 EMP-1234567 或 XEMP-654321。' >doc.txt
run kw scan --today 2026-11-25 --rules good.yaml --no-builtin --format jsonl --reveal doc.txt
expect_rc kw 1
python3 - kw.out doc.txt <<'EOF' || fail "keyword findings wrong (see above)"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
data = open(sys.argv[2], "rb").read()
want = []
pos = 0
for word, typ, rule in (("机密", "secret_word", "custom.secret_word"),
                        ("绝密", "secret_word", "custom.secret_word"),
                        ("机密", "secret_word", "custom.secret_word"),
                        ("机密", "secret_word", "custom.secret_word"),
                        ("EMP-123456", "employee_id", "custom.employee_id")):
    b = word.encode()
    # the next occurrence of either keyword, in file order
    start = data.index(b, pos)
    pos = start + len(b)
    before = data[:start].decode()
    line = before.count("\n") + 1
    col = len(before) - (before.rfind("\n") + 1) + 1
    want.append({"type": typ, "rule": rule, "start": start, "end": pos, "line": line,
                 "column": col, "value": word})
# hand-computed anchors for the first two (UTF-8: 3 bytes per Chinese character)
assert want[0]["start"] == 12 and want[1]["start"] == 47 + 1 + 12, want[:2]
errs = []
if len(got) != len(want):
    errs.append("%d findings, expected %d: %r" % (len(got), len(want), [(f["value"], f["start"]) for f in got]))
for g, w in zip(got, want):
    sub = {k: g.get(k) for k in w}
    if sub != w:
        errs.append("got %r, expected %r" % (sub, w))
    if g.get("category") != ("custom.classified" if w["type"] == "secret_word" else "custom"):
        errs.append("%s: category %r" % (w["type"], g.get("category")))
for e in errs:
    print("rules.sh: FAIL:", e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF
if grep -q cn_mobile_phone kw.out; then fail "--no-builtin still reported a built-in type"; fi

say "custom rules add to the built-in ones without --no-builtin"
run kw_all scan --today 2026-11-25 --rules good.yaml --format jsonl doc.txt
expect_rc kw_all 1
grep -q '"type":"cn_mobile_phone".*"start":33,"end":44,' kw_all.out || fail "built-in phone missing: $(cat kw_all.out)"
[ "$(grep -c '"rule":"custom.secret_word"' kw_all.out)" -eq 4 ] || fail "custom keyword findings missing with built-ins"

say "without raw values: the keyword's mask, not the word, is printed"
run kw_text scan --rules good.yaml --no-builtin --color never doc.txt
expect_rc kw_text 1
if grep -q -e '机密' -e '绝密' -e 'EMP-123456' kw_text.out kw_text.err; then
    fail "a keyword or employee id was printed without --reveal: $(cat kw_text.out)"
fi
[ "$(sed -n 1p kw_text.out)" = "doc.txt:1:5: secret_word high **" ] ||
    fail "first text line: '$(sed -n 1p kw_text.out)', expected 'doc.txt:1:5: secret_word high **'"

say "--no-builtin without rule files: exit 2"
run none scan --no-builtin doc.txt
expect_rc none 2
[ -s none.err ] || fail "no message for a scan without rules"

# Last, as the cases most likely to fail.
say "broken and hostile rule files: exit 2, 'FILE:LINE:COL: error: ...' at the right line"
# FILE SECONDS LINE COL MESSAGE-PART (LINE/COL '-' = any, but at least 1)
while read -r f limit line col msg; do
    LIMIT=$limit
    run check rules check "$f"
    expect_rc check 2
    [ ! -s check.out ] || fail "$f: rules check printed on stdout: $(head -c 200 check.out)"
    first=$(head -n 1 check.err)
    case $first in
    "$f":[1-9]*:[1-9]*": error: "*) ;;
    *) fail "$f: first diagnostic is not '$f:LINE:COL: error: ...' with LINE, COL >= 1: '$first'" ;;
    esac
    gl=$(echo "$first" | cut -d: -f2)
    gc=$(echo "$first" | cut -d: -f3)
    case $gl$gc in *[!0-9]*) fail "$f: line/column not numbers: '$first'" ;; esac
    if [ "$gl" -lt 1 ] || [ "$gc" -lt 1 ]; then fail "$f: line/column below 1: '$first'"; fi
    [ "$line" = - ] || [ "$gl" = "$line" ] || fail "$f: error at line $gl, expected line $line: '$first'"
    [ "$col" = - ] || [ "$gc" = "$col" ] || fail "$f: error at column $gc, expected column $col: '$first'"
    [ "$msg" = - ] || echo "$first" | grep -q -F -- "$msg" || fail "$f: message lacks '$msg': '$first'"
    # the same file in a scan: exit 2, the same diagnostic, nothing scanned
    run scan scan --rules "$f" --format jsonl good.yaml
    expect_rc scan 2
    [ ! -s scan.out ] || fail "scan --rules $f printed findings"
    grep -q -F -- "$first" scan.err || fail "scan --rules $f: diagnostic differs: $(head -n 1 scan.err)"
done <<'EOF'
yaml-syntax.yaml 20 8 12 YAML
unknown-key.yaml 20 10 5 colour
missing-id.yaml 20 7 5 no id
bad-regex.yaml 20 9 - regex
anchored.yaml 20 9 12 anchor
validator.yaml 20 10 16 luhnish
confidence.yaml 20 10 17 confidence
duplicate.yaml 20 7 5 duplicate
empty-regex.yaml 20 9 12 empty
flag.yaml 20 10 12 multiline
empty.yaml 20 1 1 empty
not-mapping.yaml 20 1 1 mapping
garbage-text.yaml 20 - - YAML
deep.yaml 20 - - -
alias-bomb.yaml 20 - - -
garbage-brackets.yaml 5 - - -
invalid-utf8.yaml 20 - - UTF-8
garbage-binary.yaml 20 - - UTF-8
EOF

LIMIT=30

say "all rule checks passed"
