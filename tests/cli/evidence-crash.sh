#!/bin/sh
# Crash safety of `qinglang evidence add`: a process appending entries one
# commit at a time (and, every other round, in batches of 7) is killed
# with SIGKILL at a random moment, 50 times over the same log (the moment
# is drawn as a number of receipts seen plus a random delay, so it falls
# anywhere in a commit, whatever the disk's speed).  After each
# kill the log must verify (every entry, node and signed tree head), and
# every entry whose receipt had been printed must be in it with the leaf
# hash the receipt names: a receipt is printed only after its commit is
# durable.  At the end, every signed head a receipt showed must be a
# prefix of the final log (consistency proofs, checked by verify.py).
#
# Environment (set by CTest): QINGLANG = the binary, QL_SOURCE_DIR = the
# source tree.  ROUNDS (default 50) changes the number of kills.
set -eu

: "${QINGLANG:?QINGLANG must name the qinglang binary}"
: "${QL_SOURCE_DIR:?QL_SOURCE_DIR must name the source tree}"
case $QINGLANG in /*) ;; *) QINGLANG=$PWD/$QINGLANG ;; esac
case $QL_SOURCE_DIR in /*) ;; *) QL_SOURCE_DIR=$PWD/$QL_SOURCE_DIR ;; esac
VERIFY="python3 $QL_SOURCE_DIR/tests/evidence/verify.py"
ROUNDS=${ROUNDS:-50}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qinglang-evidence-crash.XXXXXX")
pid=
trap '[ -z "$pid" ] || kill -9 "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$tmp"

say() { echo "evidence-crash.sh: $*"; }
fail() {
    echo "evidence-crash.sh: FAIL: $*" >&2
    exit 1
}

"$QINGLANG" evidence keygen sign.pem 2>/dev/null || fail "keygen"
"$QINGLANG" evidence keygen --content content.key 2>/dev/null || fail "keygen --content"
"$QINGLANG" evidence init --log ev.db --key sign.pem 2>/dev/null || fail "init"
seq 1 200000 | sed 's/^/abuse report, contact 138001380/' > input.txt

say "$ROUNDS rounds: append in a loop, kill -9 at a random moment, verify, check the receipts"
total=0
round=1
while [ "$round" -le "$ROUNDS" ]; do
    batch=1
    [ $((round % 2)) -eq 0 ] && batch=7
    "$QINGLANG" evidence add --log ev.db --key sign.pem --content-key content.key \
        --lines --batch "$batch" --kind abuse_report input.txt > "receipts.$round" 2> add.err &
    pid=$!
    # The moment: after a random number of receipts (0 to 60, so the log
    # stays small enough to verify 50 times), plus a random 0-20 ms; a
    # tenth of the rounds are killed 0-60 ms after the start instead,
    # while the process opens (and recovers) the log.
    set -- $(awk -v seed="$round$$" 'BEGIN { srand(seed); r = rand();
        printf "%d %.3f\n", r < 0.1 ? 0 : 1 + int(rand() * 60), r < 0.1 ? rand() * 0.06 : rand() * 0.02 }')
    want=$1 delay=$2
    while [ "$want" -gt 0 ] && [ "$(grep -c '' "receipts.$round")" -lt "$want" ]; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.005
    done
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || fail "round $round: the appending process ended before the kill: $(cat add.err)"
    wait "$pid" 2>/dev/null || true
    pid=
    if grep -q -e 'runtime error:' -e 'Sanitizer' add.err; then
        fail "round $round: add crashed on its own: $(head -c 600 add.err)"
    fi
    rc=0
    "$QINGLANG" evidence verify --log ev.db > verify.out 2> verify.err || rc=$?
    [ "$rc" -eq 0 ] || fail "round $round (killed after $want receipts + $delay s): the log does not verify: $(head -c 600 verify.out) $(head -c 300 verify.err)"
    $VERIFY present "receipts.$round" ev.db > present.out 2>&1 \
        || fail "round $round: a receipted entry is missing: $(head -c 600 present.out)"
    n=$(grep -c '' "receipts.$round" || true)
    total=$((total + n))
    round=$((round + 1))
done
size=$("$QINGLANG" evidence sth --log ev.db | sed 's/.*"size":\([0-9]*\).*/\1/')
say "$total receipts printed, $size entries in the log"
[ "$total" -ge "$ROUNDS" ] || fail "too few receipts ($total) to have tested anything"
[ "$size" -ge "$total" ] || fail "the log has $size entries but $total receipts were printed"

say "every receipted tree head is a prefix of the final log"
: > heads.txt
for f in receipts.*; do
    # The last complete receipt of each round carries the round's last head.
    grep '' "$f" | tail -n 1 | sed -n 's/.*"tree_head":{[^}]*"size":\([0-9]*\),.*/\1/p' >> heads.txt
done
sort -n -u heads.txt | awk -v last="$size" '{ print $1, last }' \
    | "$QINGLANG" evidence consistency --log ev.db - > consistency.jsonl \
    || fail "consistency proofs"
$VERIFY consistency consistency.jsonl --public-key sign.pem.pub > v.out 2>&1 \
    || fail "verify.py rejects a consistency proof: $(head -c 600 v.out)"
$VERIFY log ev.db --public-key sign.pem.pub --signatures 20 > v.out 2>&1 \
    || fail "verify.py rejects the log: $(head -c 600 v.out)"
say "ok"
