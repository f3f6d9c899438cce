#!/bin/sh
# `qinglang scan --moderate` (docs/moderate.md; cli/moderate.c, lib/moderate.c):
#
#  1. the data is well-formed (tests/moderate/check_data.py);
#  2. the evasion corpus (tests/moderate/evasion.jsonl): every line exactly
#     right (every expected span, nothing else, the decision);
#  3. ordinary news and chat (tests/moderate/benign/): at most 1 % of lines
#     flagged; the held-out split (tests/moderate/heldout/) at the issue's
#     bars: detection >= 0.95, false positives <= 1 %;
#  4. exact output bytes of the text and JSONL formats on a small input,
#     per line and per file; identifiers masked without --reveal;
#  5. exit status 0 (all pass), 1 (review or block), 2 (missing file,
#     broken lexicon with FILE:LINE:COL, unknown option);
#  6. plain word lists with their category and severity;
#  7. a word cut by the 1 MiB read boundary is found at its exact offset;
#     a 64 MiB line with a word at its end; invalid UTF-8 and NUL bytes;
#  8. the moderation lexicons do not change `qinglang scan` (no harmful
#     words among PII findings);
#  9. POST /v1/moderate in `qinglang serve`: exact result, a lexicon from
#     the config, masked identifiers, nothing in the access log, a broken
#     lexicon refused on SIGHUP while the old one goes on serving.
#
# Every check runs; failures are counted and the script exits 1 if any.
# Environment (set by CTest): QINGLANG, QL_SOURCE_DIR.
set -u
ql=${QINGLANG:?set QINGLANG to the qinglang binary}
src=${QL_SOURCE_DIR:?set QL_SOURCE_DIR to the source tree}
T=$(mktemp -d "${TMPDIR:-/tmp}/ql-moderate.XXXXXX")
trap 'rm -rf "$T"' EXIT
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

expect_rc() {   # expect_rc WANT GOT WHAT
    [ "$1" = "$2" ] || fail "$3: exit status $2, want $1"
}

# 1. data checks
python3 "$src/tests/moderate/check_data.py" >"$T/check.out" 2>&1 || {
    cat "$T/check.out" >&2
    fail "tests/moderate/check_data.py"
}

# 2-3. corpus scores
python3 "$src/tests/moderate/score.py" --qinglang "$ql" --exact --verbose \
    --evasion "$src/tests/moderate/evasion.jsonl" \
    --benign "$src/tests/moderate/benign/news.txt" \
    --benign "$src/tests/moderate/benign/chat.txt" --max-fp 0.01 >"$T/score.out" 2>&1 ||
    fail "evasion corpus or benign text: $(cat "$T/score.out")"
cat "$T/score.out"
if [ -f "$src/tests/moderate/heldout/evasion.jsonl" ] && [ -f "$src/tests/moderate/heldout/benign.txt" ]; then
    python3 "$src/tests/moderate/score.py" --qinglang "$ql" --min-detection 0.95 --max-fp 0.01 \
        --evasion "$src/tests/moderate/heldout/evasion.jsonl" \
        --benign "$src/tests/moderate/heldout/benign.txt" >"$T/heldout.out" 2>&1 ||
        fail "held-out split below the bars: $(cat "$T/heldout.out")"
    cat "$T/heldout.out"
fi

# The blind sets (tests/moderate/blind .. blind5, each written by a helper
# who saw neither the lexicons, the engine nor the other sets).  blind ..
# blind4 each measured one round of work and then became development data
# (the model trains on them, scripts/model-data.py); blind5 is the held-out
# set the model is measured on (docs/moderate.md, "Measured").  Floors that
# catch a regression, not the issue's bar: with the model, and lexicons
# alone (--no-model).
for set in blind:0.95 blind2:0.95 blind3:0.95 blind4:0.95 blind5:0.93 \
           blind4:0.85:--no-model blind5:0.82:--no-model; do
    name=${set%%:*}
    rest=${set#*:}
    floor=${rest%%:*}
    arg=
    [ "$rest" != "$floor" ] && arg=--arg=${rest#*:}
    if [ -f "$src/tests/moderate/$name/check.py" ]; then
        python3 "$src/tests/moderate/$name/check.py" >"$T/$name-check.out" 2>&1 ||
            fail "tests/moderate/$name/check.py: $(cat "$T/$name-check.out")"
    else
        python3 "$src/tests/moderate/check_blind.py" "$src/tests/moderate/$name" \
            >"$T/$name-check.out" 2>&1 ||
            fail "check_blind.py $name: $(cat "$T/$name-check.out")"
    fi
    python3 "$src/tests/moderate/score.py" --qinglang "$ql" --min-detection "$floor" --max-fp 0.01 \
        --blind "$src/tests/moderate/$name/evasion.jsonl" $arg \
        --benign "$src/tests/moderate/$name/benign.txt" >"$T/$name.out" 2>&1 ||
        fail "$name $arg below its floors: $(cat "$T/$name.out")"
    echo "$name $arg:"
    grep -v '^  ' "$T/$name.out"
done

# 4. exact output
printf '%s\n' '今天天气不错' '你就是个傻​逼' '开盒 电话13800138000 身份证11010519491231002X' >"$T/in.txt"
"$ql" scan --moderate --lines "$T/in.txt" >"$T/out.txt" 2>"$T/err.txt"
expect_rc 1 $? "text per line"
cat >"$T/want.txt" <<EOF
$T/in.txt:1: pass
$T/in.txt:2: block harmful.cyber_violence=0.81
    word harmful.cyber_violence 傻逼 [31,40) "傻\u{200B}逼"
$T/in.txt:3: block harmful.doxxing=1.00
    cooccurrence harmful.doxxing 开盒+身份证 [41,75)
    word harmful.doxxing 开盒 [41,47) "开盒"
    doxxing harmful.doxxing 开盒 [41,47) "开盒"
    identifier harmful.doxxing cn_mobile_phone [54,65) 138****8000
    identifier harmful.doxxing cn_resident_id [75,93) 110105********002X
EOF
cmp -s "$T/want.txt" "$T/out.txt" || fail "text output: $(diff "$T/want.txt" "$T/out.txt")"
"$ql" scan --moderate --format jsonl "$T/in.txt" >"$T/out.jsonl" 2>"$T/err.txt"
expect_rc 1 $? "jsonl per file"
python3 - "$T/out.jsonl" "$T/in.txt" <<'EOF' || fail "jsonl per file"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(rows) == 1, rows
r = rows[0]
assert r["path"] == sys.argv[2] and "line" not in r, r
assert r["decision"] == "block", r
data = open(sys.argv[2], "rb").read()
words = [(h["kind"], h["word"], h["start"], h["end"]) for h in r["hits"]]
assert ("word", "傻逼", 31, 40) in words, words
for h in r["hits"]:
    span = data[h["start"]:h["end"]].decode("utf-8")
    if h["kind"] == "identifier":
        assert "value" not in h and h["masked"] in ("138****8000", "110105********002X"), h
    elif h["kind"] == "cooccurrence":
        assert "text" not in h, h     # its span holds the phone number
    else:
        assert h["text"] == span, (h, span)
ids = sorted(h["word"] for h in r["hits"] if h["kind"] == "identifier")
assert ids == ["cn_mobile_phone", "cn_resident_id"], ids
assert "13800138000" not in open(sys.argv[1], encoding="utf-8").read()
EOF
"$ql" scan --moderate --reveal --format jsonl "$T/in.txt" | grep -q '"value":"13800138000"' ||
    fail "--reveal shows the identifier"

# 5. exit status
printf '今天天气不错\n' | "$ql" scan --moderate --lines >/dev/null 2>&1
expect_rc 0 $? "all pass"
"$ql" scan --moderate "$T/missing.txt" >/dev/null 2>"$T/err.txt"
expect_rc 2 $? "missing file"
grep -q "missing.txt" "$T/err.txt" || fail "missing file not named"
printf 'version: 1\nrules:\n  - id: x\n    category: harmful.porn\n    severity: awful\n    words: [a]\n' >"$T/bad.yaml"
printf 'x\n' | "$ql" scan --moderate --lexicon "$T/bad.yaml" >/dev/null 2>"$T/err.txt"
expect_rc 2 $? "broken lexicon"
grep -q "bad.yaml:5:15: severity must be" "$T/err.txt" || fail "lexicon diagnostic: $(cat "$T/err.txt")"
"$ql" scan --moderate --bogus >/dev/null 2>&1
expect_rc 2 $? "unknown option"

# 6. plain word list
printf '# spam\n加微信\n免费领取\tharmful.fraud\tlow\n' >"$T/words.txt"
printf '快来免费领取\n加 微 信\n' | "$ql" scan --moderate --lines --no-builtin-lexicons \
    --list-category custom.spam --list-severity high --lexicon "$T/words.txt" >"$T/out.txt"
expect_rc 1 $? "word list"
# (low severity alone scores 0.3: below the default review threshold 0.5)
cat >"$T/want.txt" <<'EOF'
-:1: pass harmful.fraud=0.30
    word harmful.fraud 免费领取 [6,18) "免费领取"
-:2: block custom.spam=0.81
    word custom.spam 加微信 [19,30) "加 微 信"
EOF
cmp -s "$T/want.txt" "$T/out.txt" || fail "word list output: $(diff "$T/want.txt" "$T/out.txt")"

# 7. chunk boundaries, a huge line, bad bytes
python3 - "$T" <<'EOF'
import sys
d = sys.argv[1]
mib = 1 << 20
# 傻 starts 1 byte before the 1 MiB boundary: its bytes are cut 1 + 2
with open(d + "/cut.txt", "wb") as f:
    f.write(b"a" * (mib - 1) + " 傻逼 end".encode())
with open(d + "/huge.txt", "wb") as f:
    f.write(("天气不错" * (64 * mib // 12)).encode() + "赌博".encode())
with open(d + "/bad.bin", "wb") as f:
    f.write(b"\xff\xfe\x00\x00" + "傻".encode() + b"\x00\xc0" + "逼".encode() + b"\xe4\xb8")
EOF
"$ql" scan --moderate --format jsonl "$T/cut.txt" | python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())
hits = [(h["word"], h["start"], h["end"]) for h in r["hits"]]
assert hits == [("傻逼", 1048576, 1048582)], hits' || fail "word across the read boundary"
"$ql" scan --moderate --lines --format jsonl "$T/huge.txt" | python3 -c '
import json, sys
r = json.loads(sys.stdin.readline())
n = 64 * (1 << 20) // 12 * 12
hits = [(h["word"], h["start"], h["end"]) for h in r["hits"]]
assert r["line"] == 1 and hits == [("赌博", n, n + 6)], (r["line"], hits)' || fail "64 MiB line"
"$ql" scan --moderate --format jsonl "$T/bad.bin" >"$T/out.jsonl"
expect_rc 1 $? "invalid UTF-8"
grep -q '"word":"傻逼","form":"text","start":4,"end":12' "$T/out.jsonl" || fail "word across bad bytes: $(cat "$T/out.jsonl")"

# A file full of a word and its allow phrase (操 体操, 1,000,000 times):
# allow lists must stay linear-logarithmic (they were quadratic: about 15 minutes
# for this file).  The timeout only catches a hang; the check is the result.
python3 -c "import sys; open(sys.argv[1], 'w').write('操 体操 ' * 1000000)" "$T/allow.txt"
timeout 300 "$ql" scan --moderate --no-doxxing --format jsonl "$T/allow.txt" >"$T/allow.jsonl"
expect_rc 0 $? "a million allow phrases (操 alone is low severity: pass)"
python3 - "$T/allow.jsonl" <<'EOF' || fail "a million allow phrases: $(head -c 300 "$T/allow.jsonl")"
import json, sys
r = json.loads(open(sys.argv[1], encoding="utf-8").readline())
# the first 操 stands alone; every later one collapses into 体操's run
assert [(h["word"], h["start"], h["end"]) for h in r["hits"]] == [("操", 0, 3)], r["hits"][:5]
EOF

# An escape sequence inside a span (a lone lead byte, ESC) is shown as
# bytes, never sent to the terminal.
printf '傻\340\033[`逼\n' | "$ql" scan --moderate --lines - >"$T/esc.txt"
grep -qF 'word harmful.cyber_violence 傻逼 [0,10) "傻\xE0\u{001B}[`逼"' "$T/esc.txt" ||
    fail "escape in a span: $(od -c "$T/esc.txt" | head -5)"
if grep -q "$(printf '\033')" "$T/esc.txt"; then fail "an ESC byte reached the output"; fi

# 8. scan is unchanged by the lexicons
printf '你就是个傻逼 赌博 电话13800138000\n' >"$T/pii.txt"
"$ql" scan --format jsonl "$T/pii.txt" >"$T/scan.jsonl"
expect_rc 1 $? "plain scan"
[ "$(wc -l <"$T/scan.jsonl")" = 1 ] && grep -q '"type":"cn_mobile_phone"' "$T/scan.jsonl" ||
    fail "scan reports only the phone: $(cat "$T/scan.jsonl")"

# 9. POST /v1/moderate in the service: exact decision and spans, a user
#    lexicon from the config, identifiers masked, no values in the access
#    log, a broken lexicon refused on reload while the old one serves.
mkdir -p "$T/srv"
"$ql" keys add acme --keys "$T/srv/keys" >"$T/srv/acme.apikey"
printf '# spam\n加微信领红包\tharmful.fraud\thigh\n' >"$T/srv/spam.txt"
mkdir -p "$T/srv/ev"
"$ql" evidence keygen "$T/srv/ev/sign.key" 2>/dev/null
cat >"$T/srv/config.yaml" <<'YAML'
threads: 2
keys: keys
admins: [acme]
access_log: access.log
moderation:
  lexicons: [spam.txt]
evidence:
  log: ev/evidence.db
  key_file: ev/sign.key
YAML
"$ql" serve --config "$T/srv/config.yaml" --listen 127.0.0.1:0 2>"$T/srv/stderr" &
spid=$!
i=0
while ! grep -q '^listening on ' "$T/srv/stderr" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$spid" 2>/dev/null; then
        fail "the server did not start: $(cat "$T/srv/stderr")"
        break
    fi
    sleep 0.05
done
port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$T/srv/stderr" | head -1)
python3 - "$port" "$(cat "$T/srv/acme.apikey")" "$T/srv" "$ql" <<'EOF2' || fail "POST /v1/moderate"
import json, sys, urllib.request
port, key, d = sys.argv[1], sys.argv[2], sys.argv[3]
def post(path, body, status=200):
    req = urllib.request.Request("http://127.0.0.1:%s%s" % (port, path),
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": "Bearer " + key,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            got = r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        got = e.code, json.loads(e.read())
    assert got[0] == status, got
    return got[1]
r = post("/v1/moderate", {"text": "你就是个傻\u200b逼"})
assert r == {"decision": "block", "scores": {"harmful.cyber_violence": 0.8075},
             "hits": [{"kind": "word", "category": "harmful.cyber_violence",
                       "rule": "lex.cyber_violence.insult_initials", "severity": "high",
                       "confidence": 0.95, "word": "傻逼", "form": "text",
                       "start": 12, "end": 21}]}, r
r = post("/v1/moderate", {"text": "今天天气不错"})
assert r == {"decision": "pass", "scores": {}, "hits": []}, r
# wording no lexicon word names: the model (built-in), review, never block
r = post("/v1/moderate", {"text": "这种人建议原地 z s，活着纯纯浪费粮食"})
assert r["decision"] == "review" and [h["kind"] for h in r["hits"]] == ["model"], r
assert r["hits"][0]["category"] == "harmful.cyber_violence" and r["hits"][0]["start"] == 0, r
r = post("/v1/moderate", {"text": "快来 加 微 信 领 红 包"})
assert r["decision"] == "block" and r["hits"][0]["word"] == "加微信领红包", r
assert r["hits"][0]["rule"] == "list.harmful.fraud.high", r
r = post("/v1/moderate", {"text": "开盒 电话13800138000 身份证11010519491231002X"})
assert r["decision"] == "block", r
ids = [(h["word"], h["masked"]) for h in r["hits"] if h["kind"] == "identifier"]
assert ids == [("cn_mobile_phone", "138****8000"), ("cn_resident_id", "110105********002X")], ids
assert "13800138000" not in json.dumps(r)
# a receipt: the decision in the evidence log, the content only as its hash
r = post("/v1/moderate", {"text": "你就是个傻\u200b逼", "receipt": True})
assert r["decision"] == "block" and r["receipt"]["index"] == 0, r
import hashlib, subprocess
entry = json.loads(subprocess.run([sys.argv[4], "evidence", "get", "0", "--log", d + "/ev/evidence.db"],
                                  capture_output=True, check=True).stdout)
assert entry["kind"] == "scan_receipt", entry
assert entry["content_sha256"] == hashlib.sha256("你就是个傻\u200b逼".encode()).hexdigest(), entry
assert [(f["type"], f["start"], f["end"], f["masked"]) for f in entry["findings"]] == \
    [("harmful.cyber_violence", 12, 21, "傻逼")], entry["findings"]
assert "傻\u200b逼" not in json.dumps(entry, ensure_ascii=False)
r = post("/v1/moderate", {"texts": []}, 400)
assert r["error"]["code"] == "missing_field", r
log = open(d + "/access.log", encoding="utf-8").read()
assert "/v1/moderate" in log and "13800138000" not in log and "傻" not in log, log
EOF2
printf 'version: 1\nrules:\n  - id: x\n    category: a.b\n    severity: awful\n    words: [a]\n' >"$T/srv/spam.txt"
python3 - "$port" "$(cat "$T/srv/acme.apikey")" <<'EOF2' || fail "broken lexicon on reload, old lexicon kept"
import json, sys, urllib.request
def post(path, body):
    req = urllib.request.Request("http://127.0.0.1:%s%s" % (sys.argv[1], path),
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": "Bearer " + sys.argv[2],
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
st, r = post("/v1/admin/reload", {})
assert st == 500 and r["error"]["code"] == "reload_failed", (st, r)
d = r["error"]["diagnostics"][0]
assert d["file"].endswith("spam.txt") and d["line"] == 5 and d["column"] == 15, d
assert d["message"].startswith("severity must be"), d
st, r = post("/v1/moderate", {"text": "加微信领红包"})
assert st == 200 and r["decision"] == "block", (st, r)
EOF2
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null

if [ "$failures" -ne 0 ]; then
    echo "moderate.sh: $failures failure(s)" >&2
    exit 1
fi
echo "moderate.sh: all checks passed"
