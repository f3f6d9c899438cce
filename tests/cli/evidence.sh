#!/bin/sh
# shellcheck disable=SC2086  # $LOG and $KEY split on purpose
# `qinglang evidence`: keys (mode 600, never overwritten, refused when
# others can read them), init, add (files, stdin, lines, batches, --scan,
# encrypted content), get, sth, prove, consistency, verify, export and
# verify-package; every receipt, proof and package checked again by the
# independent verifier tests/evidence/verify.py (RFC 9162 + openssl); and
# tampering: one byte flipped in a stored entry, its content, a leaf node,
# an inner node, a signature or a root makes verify fail (exit 1) naming
# the entry, in both verifiers.  Abuse reports with a reporter and a note:
# their commitments recomputed in Python from docs/evidence.md, the clear
# values nowhere in the log, its outputs or packages, get --decrypt giving
# them back, verify.py report checking them, a changed ciphertext named.
#
# Environment (set by CTest): QINGLANG = the binary, QL_SOURCE_DIR = the
# source tree.
set -eu

: "${QINGLANG:?QINGLANG must name the qinglang binary}"
: "${QL_SOURCE_DIR:?QL_SOURCE_DIR must name the source tree}"
case $QINGLANG in /*) ;; *) QINGLANG=$PWD/$QINGLANG ;; esac
case $QL_SOURCE_DIR in /*) ;; *) QL_SOURCE_DIR=$PWD/$QL_SOURCE_DIR ;; esac
VERIFY="python3 $QL_SOURCE_DIR/tests/evidence/verify.py"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qinglang-evidence.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$tmp"

say() { echo "evidence.sh: $*"; }
fail() {
    echo "evidence.sh: FAIL: $*" >&2
    exit 1
}

# run NAME ARGS...: qinglang's stdout in NAME.out, stderr in NAME.err,
# status in $rc; a status above 2 or a sanitizer report fails at once.
LIMIT=60
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
    [ "$rc" -eq "$2" ] || fail "$1: exit status $rc, expected $2; stdout: $(head -c 300 "$1.out"); stderr: $(head -c 400 "$1.err")"
}

expect_in() {
    grep -q -e "$2" "$1" || fail "$1 does not say '$2': $(head -c 600 "$1")"
}

mode_of() { stat -c %a "$1"; }

# ------------------------------------------------------------------ keys
say "keygen: signing and content keys, mode 600, never overwritten"
run kg evidence keygen sign.pem
expect_rc kg 0
run kgc evidence keygen --content content.key
expect_rc kgc 0
[ "$(mode_of sign.pem)" = 600 ] || fail "sign.pem has mode $(mode_of sign.pem)"
[ "$(mode_of content.key)" = 600 ] || fail "content.key has mode $(mode_of content.key)"
grep -q 'BEGIN PUBLIC KEY' sign.pem.pub || fail "sign.pem.pub is not a public key"
cp sign.pem before.pem
run kg2 evidence keygen sign.pem
expect_rc kg2 2
cmp -s sign.pem before.pem || fail "keygen overwrote sign.pem"
run kg3 evidence keygen other.pem
expect_rc kg3 0

say "a key file others can read is refused"
cp sign.pem exposed.pem
chmod 644 exposed.pem
run exposed evidence init --log never.db --key exposed.pem
expect_rc exposed 2
expect_in exposed.err 'readable by every user'
[ ! -e never.db ] || fail "init created a log with a refused key"

LOG="--log ev.db"
KEY="--key sign.pem"

# ------------------------------------------------------------- appending
say "init, then add: a file with --scan and encrypted content, stdin, lines in batches"
run init evidence init $LOG $KEY
expect_rc init 0
run init2 evidence init $LOG $KEY
expect_rc init2 2
printf '客户 张三 手机 13800138000，身份证 11010519491231002X\n' > report.txt
run add1 evidence add $LOG $KEY --content-key content.key --scan --tenant acme \
    --url https://example.cn/t/1 report.txt
expect_rc add1 0
printf 'abuse report from stdin\n' | "$QINGLANG" evidence add $LOG $KEY --kind abuse_report - \
    > add2.out 2> add2.err || fail "add from stdin: $(cat add2.err)"
printf 'line %s\n' 1 2 3 4 5 6 7 > lines.txt
run add3 evidence add $LOG $KEY --content-key content.key --lines --batch 3 --kind scan_receipt lines.txt
expect_rc add3 0
cat add1.out add2.out add3.out > receipts.jsonl
[ "$(wc -l < receipts.jsonl)" -eq 9 ] || fail "expected 9 receipts, got $(wc -l < receipts.jsonl)"
# Batches of 3, 3 and 1 lines: three commits, three heads.
[ "$(grep -c '"size":5,' add3.out)" -eq 3 ] && [ "$(grep -c '"size":8,' add3.out)" -eq 3 ] \
    && [ "$(grep -c '"size":9,' add3.out)" -eq 1 ] || fail "add --batch 3 did not group the commits: $(cat add3.out)"
$VERIFY receipts receipts.jsonl --public-key sign.pem.pub --log ev.db > v.out 2>&1 \
    || fail "verify.py rejects the receipts: $(cat v.out)"

run bad_kind evidence add $LOG $KEY --kind gossip report.txt
expect_rc bad_kind 2
run nokey evidence add $LOG report.txt
expect_rc nokey 2
expect_in nokey.err 'signing key'
run otherkey evidence add $LOG --key other.pem report.txt
expect_rc otherkey 2
expect_in otherkey.err "not this log's key"

# ---------------------------------------------------------------- reading
say "get: the canonical entry, and the content back with the content key"
run get0 evidence get $LOG 0
expect_rc get0 0
expect_in get0.out '"kind":"finding_report"'
expect_in get0.out '"masked":"138\*\*\*\*8000"'
expect_in get0.out '"tenant":"acme"'
expect_in get0.out '"cipher":"aes-256-gcm"'
if grep -q 13800138000 get0.out; then fail "the entry shows the raw phone number"; fi
if grep -q 13800138000 ev.db; then fail "the log file holds the raw phone number"; fi
run getc evidence get $LOG --content-key content.key --content 0
expect_rc getc 0
cmp -s getc.out report.txt || fail "get --content did not give the content back"
run getnokey evidence get $LOG --content 0
expect_rc getnokey 2
run getnone evidence get $LOG --content-key content.key --content 1
expect_rc getnone 2
run getpast evidence get $LOG 9
expect_rc getpast 2

say "sth, prove, consistency: checked by verify.py"
run sth evidence sth $LOG
expect_rc sth 0
expect_in sth.out '"size":9,'
run prove evidence prove $LOG --stats 0 1 2 3 4 5 6 7 8
expect_rc prove 0
run prove_old evidence prove $LOG --size 5 0 1 2 3 4
expect_rc prove_old 0
cat prove.out prove_old.out > proofs.jsonl
$VERIFY receipts proofs.jsonl --public-key sign.pem.pub --log ev.db > v.out 2>&1 \
    || fail "verify.py rejects the proofs: $(cat v.out)"
run prove_nohead evidence prove $LOG --size 4 0
expect_rc prove_nohead 2
: > consistency.jsonl
for a in 0 1 2 5 8 9; do
    for b in 1 2 5 8 9; do
        [ "$a" -le "$b" ] || continue
        run cons evidence consistency $LOG "$a" "$b"
        expect_rc cons 0
        cat cons.out >> consistency.jsonl
    done
done
$VERIFY consistency consistency.jsonl --public-key sign.pem.pub > v.out 2>&1 \
    || fail "verify.py rejects the consistency proofs: $(cat v.out)"

say "verify: the whole log, by qinglang and by verify.py"
run verify evidence verify $LOG --public-key sign.pem.pub --content-key content.key
expect_rc verify 0
expect_in verify.out '^OK: 9 entries'
$VERIFY log ev.db --public-key sign.pem.pub > v.out 2>&1 || fail "verify.py rejects the log: $(cat v.out)"
run verify_other evidence verify $LOG --public-key other.pem.pub
expect_rc verify_other 1
expect_in verify_other.out 'not the trusted one'

# --------------------------------------------------------------- packages
say "export and verify-package, offline, by qinglang and by verify.py"
run export evidence export $LOG 0 -o pkg0.json
expect_rc export 0
run export_again evidence export $LOG 0 -o pkg0.json
expect_rc export_again 2
run export_old evidence export $LOG 4 --size 5 -o pkg4.json
expect_rc export_old 0
mv ev.db ev.db.away   # offline: the log is not needed
for p in pkg0.json pkg4.json; do
    run vp evidence verify-package --public-key sign.pem.pub --content-key content.key "$p"
    expect_rc vp 0
    $VERIFY package "$p" --public-key sign.pem.pub > v.out 2>&1 \
        || fail "verify.py rejects $p: $(cat v.out)"
done
mv ev.db.away ev.db
sed 's/138\*\*\*\*8000/139****8000/' pkg0.json > forged.json
run vp_forged evidence verify-package --public-key sign.pem.pub forged.json
expect_rc vp_forged 1
expect_in vp_forged.out 'entry 0'
if $VERIFY package forged.json --public-key sign.pem.pub > v.out 2>&1; then
    fail "verify.py accepts a forged package"
fi
run vp_other evidence verify-package --public-key other.pem.pub pkg0.json
expect_rc vp_other 1
run vp_garbage evidence verify-package report.txt
expect_rc vp_garbage 1

# -------------------------------------------------------------- tampering
# flip TABLE COLUMN WHERE OFFSET: a copy of the log with one byte of one
# stored value inverted, in tampered.db.
flip() {
    rm -f tampered.db tampered.db-wal tampered.db-shm
    cp ev.db tampered.db
    python3 - tampered.db "$1" "$2" "$3" "$4" <<'PY' || fail "cannot alter tampered.db"
import sqlite3, sys
db, table, column, where, offset = sys.argv[1:]
conn = sqlite3.connect(db)
value = bytearray(conn.execute("SELECT %s FROM %s WHERE %s" % (column, table, where)).fetchone()[0])
value[int(offset)] ^= 0xff
conn.execute("UPDATE %s SET %s = ? WHERE %s" % (table, column, where), (bytes(value),))
conn.commit()
PY
}

# tampered NAME WORDS: verify fails (1) and says WORDS; verify.py fails too.
tampered() {
    run "$1" evidence verify --log tampered.db --content-key content.key
    expect_rc "$1" 1
    expect_in "$1.out" "$2"
    if $VERIFY log tampered.db --public-key sign.pem.pub > v.out 2>&1; then
        fail "$1: verify.py accepts the altered log"
    fi
}

say "tampering: one flipped byte anywhere fails verify and names the entry"
flip entries entry "id = 3" 40
tampered t_entry 'entry 3[:]'
flip entries entry "id = 8" 2
tampered t_entry_last 'entry 8[:]'
flip entries content "id = 5" 20
tampered t_content 'entry 5: the encrypted content'
flip nodes hash "id = 6" 31
tampered t_leaf 'entry 6: its leaf hash'
flip nodes hash "id = (2 << 56) | 1" 0
tampered t_inner 'entries 4\.\.7'
flip heads signature "size = 5" 10
tampered t_sig 'tree head of size 5 (entries up to 4): the signature'
flip heads root "size = 8" 0
tampered t_root 'tree head of size 8 (entries up to 7): its root'
flip meta value "key = 'public_key'" 40
tampered t_key 'signature does not verify'

# ---------------------------------------------------------------- reports
say "abuse reports: reporter and note as commitments, encrypted with the content key"
REPORTER='reporter-7f3a@example.org'
NOTE='此帖涉嫌诈骗, "note-91c2"'
printf '%s\n' "$REPORTER" > reporter.txt
printf '%s\n' "$NOTE" > note.txt
run rinit evidence init --log rep.db $KEY
expect_rc rinit 0
run radd0 evidence add --log rep.db $KEY --kind abuse_report --reporter-file reporter.txt \
    --note-file note.txt report.txt
expect_rc radd0 0
run radd1 evidence add --log rep.db $KEY --content-key content.key --kind abuse_report \
    --reporter "$REPORTER" --note "$NOTE" --url https://forum.example/t/1 report.txt
expect_rc radd1 0
run radd2 evidence add --log rep.db $KEY --content-key content.key --no-content \
    --kind abuse_report --reporter-file reporter.txt report.txt
expect_rc radd2 0
for i in 0 1 2; do
    run "rget$i" evidence get --log rep.db "$i"
    expect_rc "rget$i" 0
done
# The commitments, recomputed here from docs/evidence.md ("Reports"):
# exact values, not just their presence.
python3 - "$REPORTER" "$NOTE" content.key rget0.out rget1.out rget2.out <<'PY' || fail "the report entries are not what docs/evidence.md says"
import base64, hashlib, hmac, json, sys
reporter, note, key_file = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]
key = bytes.fromhex(open(key_file).read().strip())
key_id = hashlib.sha256(b"qinglang-content-key-id-v1" + key).digest()[:8].hex()
def check(path, content_key, fields):
    entry = json.loads(open(path, "rb").read())
    report = entry["report"]
    assert entry["version"] == 2 and entry["kind"] == "abuse_report", entry
    assert sorted(report) == sorted(list(fields) + ["salt"] + (["key_id"] if content_key else [])), report
    salt = bytes.fromhex(report["salt"])
    assert len(salt) == 16
    opening = hmac.new(content_key or b"", b"qinglang-report-opening-v2" + salt, hashlib.sha256).digest()
    for name, value in fields.items():
        want = hmac.new(opening, name.encode() + b"\0" + value, hashlib.sha256).hexdigest()
        assert report[name]["hmac_sha256"] == want, (path, name)
        if content_key:
            assert report["key_id"] == key_id
            blob = base64.b64decode(report[name]["ciphertext"], validate=True)
            assert len(blob) == 12 + len(value) + 16, (path, name)
        else:
            assert list(report[name]) == ["hmac_sha256"]
check("rget0.out", None, {"note": note, "reporter": reporter})
check("rget1.out", key, {"note": note, "reporter": reporter})
check("rget2.out", key, {"reporter": reporter})
assert "content" not in json.loads(open("rget2.out", "rb").read())
PY
# The clear values appear nowhere: not in the log (or its WAL), not in any
# output or message.
for f in rep.db* radd0.out radd0.err radd1.out radd1.err rget0.out rget1.out rget2.out; do
    if grep -qF -e "$REPORTER" -e 'note-91c2' "$f"; then fail "$f holds the reporter or the note in clear"; fi
done
run rdec1 evidence get --log rep.db --content-key content.key --decrypt 1
expect_rc rdec1 0
python3 - "$REPORTER" "$NOTE" rdec1.out rget1.out <<'PY' || fail "get --decrypt did not give the reporter and note back: $(cat rdec1.out)"
import json, sys
out = json.loads(open(sys.argv[3], "rb").read())
assert out["reporter"] == sys.argv[1] and out["note"] == sys.argv[2], out
assert out["entry"] == json.loads(open(sys.argv[4], "rb").read()) and out["index"] == 1
assert sorted(out) == ["entry", "index", "leaf_hash", "note", "reporter"]
PY
run rdec2 evidence get --log rep.db --content-key content.key --decrypt 2
expect_rc rdec2 0
expect_in rdec2.out "\"reporter\":\"$REPORTER\"}\$"
run rdec0 evidence get --log rep.db --content-key content.key --decrypt 0
expect_rc rdec0 2
expect_in rdec0.err 'only commitments'
run rdecnokey evidence get --log rep.db --decrypt 1
expect_rc rdecnokey 2
run rcontent2 evidence get --log rep.db --content-key content.key --content 2
expect_rc rcontent2 2
expect_in rcontent2.err 'holds no content'
# Whoever holds a value (and, for a report made with a content key, the
# opening key) shows it was recorded, with the independent verifier.
$VERIFY report rget0.out --reporter-file reporter.txt --note-file note.txt > v.out 2>&1 \
    || fail "verify.py report (no content key): $(cat v.out)"
$VERIFY report rdec1.out --reporter-file reporter.txt --note-file note.txt \
    --content-key content.key > v.out 2>&1 || fail "verify.py report (content key): $(cat v.out)"
opening=$(sed -n 's/^opening key: //p' v.out)
$VERIFY report rget1.out --note-file note.txt --opening-key "$opening" > v.out 2>&1 \
    || fail "verify.py report (opening key): $(cat v.out)"
if $VERIFY report rget1.out --note-file reporter.txt --opening-key "$opening" > v.out 2>&1; then
    fail "verify.py report accepts the wrong note"
fi
run rverify evidence verify --log rep.db --public-key sign.pem.pub --content-key content.key
expect_rc rverify 0
expect_in rverify.out '^OK: 3 entries'
$VERIFY log rep.db --public-key sign.pem.pub > v.out 2>&1 || fail "verify.py rejects rep.db: $(cat v.out)"
run rexport evidence export --log rep.db 1 -o rpkg1.json
expect_rc rexport 0
if grep -qF -e "$REPORTER" -e 'note-91c2' rpkg1.json; then fail "the package holds the reporter or the note"; fi
run rvp evidence verify-package --public-key sign.pem.pub --content-key content.key rpkg1.json
expect_rc rvp 0
$VERIFY package rpkg1.json --public-key sign.pem.pub > v.out 2>&1 || fail "verify.py rejects rpkg1.json: $(cat v.out)"
$VERIFY report rpkg1.json --reporter-file reporter.txt --content-key content.key > v.out 2>&1 \
    || fail "verify.py report (package): $(cat v.out)"

say "reports: refused options; a changed ciphertext fails verify, naming the entry"
run rkind evidence add --log rep.db $KEY --reporter x report.txt
expect_rc rkind 2
expect_in rkind.err 'go with --kind abuse_report'
run rboth evidence add --log rep.db $KEY --kind abuse_report --note x --note-file note.txt report.txt
expect_rc rboth 2
expect_in rboth.err 'give one of them'
printf 'bad \377 note' > badnote.txt
run rutf8 evidence add --log rep.db $KEY --kind abuse_report --note-file badnote.txt report.txt
expect_rc rutf8 2
expect_in rutf8.err 'the note is not valid UTF-8'
run rsize evidence sth --log rep.db
expect_in rsize.out '"size":3,'
rm -f tampered.db tampered.db-wal tampered.db-shm
cp rep.db tampered.db
python3 - tampered.db <<'PY' || fail "cannot alter tampered.db"
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
entry = bytearray(conn.execute("SELECT entry FROM entries WHERE id = 1").fetchone()[0])
at = entry.index(b'"note":{"ciphertext":"') + 30
entry[at] = ord("A") if entry[at] != ord("A") else ord("B")
conn.execute("UPDATE entries SET entry = ? WHERE id = 1", (bytes(entry),))
conn.commit()
PY
tampered t_report "entry 1: its report's note does not decrypt"

say "ok"
