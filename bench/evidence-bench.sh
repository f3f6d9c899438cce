#!/bin/sh
# bench/evidence-bench.sh [BUILD_DIR] — how fast the evidence log appends
# and proves (docs/evidence.md, "Performance", says what each number means).
#
#   1. durable appends: one entry per transaction (each commit synced to
#      disk, and signed), receipts with and without inclusion proofs;
#   2. group commit: `add --batch 1000`, one sync and one signature per
#      thousand entries;
#   3. a 1,000,000-entry log built with `add --batch 10000`, then 10,000
#      inclusion proofs of random entries and 1,000 consistency proofs
#      between random signed heads (time per proof, measured in-process by
#      `prove --stats` / `consistency --stats`), the file's size, and, with
#      QL_EVIDENCE_VERIFY=1, a full `verify`.
#
# Sizes: QL_EVIDENCE_DURABLE (2000), QL_EVIDENCE_BATCHED (200000),
# QL_EVIDENCE_BIG (1000000).  Logs go to a temporary directory under
# $TMPDIR (the disk being measured), removed afterwards.
set -eu

build=${1:-build}
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
ql=$build/qinglang
[ -x "$ql" ] || { echo "evidence-bench: build first ($ql is missing)" >&2; exit 2; }
durable=${QL_EVIDENCE_DURABLE:-2000}
batched=${QL_EVIDENCE_BATCHED:-200000}
big=${QL_EVIDENCE_BIG:-1000000}

dir=$(mktemp -d "${TMPDIR:-/tmp}/qinglang-evidence-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

"$ql" evidence keygen sign.pem 2>/dev/null
new_log() { rm -f "$1" "$1-wal" "$1-shm"; "$ql" evidence init --log "$1" --key sign.pem 2>/dev/null; }

echo "evidence-bench: $(nproc) cores, logs in $dir ($(df -P . | awk 'NR == 2 { print $1 }'))"

new_log d.db
t0=$(now)
seq 1 "$durable" | "$ql" evidence add --log d.db --key sign.pem --lines --no-proof - > /dev/null
t1=$(now)
seq 1 "$durable" | "$ql" evidence add --log d.db --key sign.pem --lines - > /dev/null
t2=$(now)
echo "durable appends (one commit + fsync + signature each): $(rate "$durable" "$t0" "$t1")/s;" \
     "with the inclusion proof in each receipt: $(rate "$durable" "$t1" "$t2")/s"

new_log b.db
t0=$(now)
seq 1 "$batched" | "$ql" evidence add --log b.db --key sign.pem --lines --batch 1000 --no-proof - > /dev/null
t1=$(now)
echo "group commit (--batch 1000): $(rate "$batched" "$t0" "$t1") appends/s"

new_log big.db
t0=$(now)
seq 1 "$big" | "$ql" evidence add --log big.db --key sign.pem --lines --batch 10000 --no-proof - > /dev/null
t1=$(now)
echo "built a log of $big entries in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s" \
     "($(rate "$big" "$t0" "$t1") appends/s), $(du -m big.db | cut -f1) MB"
shuf -i 0-$((big - 1)) -n 10000 | "$ql" evidence prove --log big.db --stats - 2>&1 > /dev/null \
    | sed 's/^qinglang: /inclusion: /'
# Heads exist at every multiple of 10000 (one per commit) and at the end.
heads=$((big / 10000))
awk -v n="$heads" -v seed="$$" 'BEGIN { srand(seed); for (i = 0; i < 1000; i++) {
        a = int(rand() * n) + 1; b = int(rand() * n) + 1;
        if (a > b) { t = a; a = b; b = t } print a * 10000, b * 10000 } }' \
    | "$ql" evidence consistency --log big.db --stats - 2>&1 > /dev/null \
    | sed 's/^qinglang: /consistency: /'
if [ "${QL_EVIDENCE_VERIFY:-0}" = 1 ]; then
    "$ql" evidence verify --log big.db
fi
