#!/bin/sh
# `qinglang redact --in-place` survives kill -9: the output is written to a
# temporary file next to the target, fsync'ed and renamed over it
# (cli/redact.c), so a kill at any moment leaves the old file or the new
# one, never a mix.
#
# A ~30 MB text with entities is redacted once to standard output (the
# expected new content); then 30 times: copy the original to work.txt,
# start `redact --in-place work.txt`, kill -9 it after a random delay,
# wait, and compare work.txt with the original and the expected output.
# The delay is random in 0-300 ms, or in 0 to 1.6 times one uninterrupted
# run when that is longer (so that some kills land after the rename),
# capped at 1.5 s (a sanitizer build is slow).  Counts of "old" and "new" endings
# are printed; any other content fails.  Temporary files left by a kill
# must be named .work.txt.qinglang-* (counted, then removed) and must not
# be the target itself; nothing else may appear in the directory.
#
# Environment (set by CTest): QINGLANG = the binary.
set -eu

: "${QINGLANG:?QINGLANG must name the qinglang binary}"
case $QINGLANG in /*) ;; *) QINGLANG=$PWD/$QINGLANG ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qinglang-crash.XXXXXX")
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$tmp"

QINGLANG_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
export QINGLANG_KEY
ITERATIONS=30

say() { echo "redact-crash.sh: $*"; }
fail() {
    echo "redact-crash.sh: FAIL: $*" >&2
    exit 1
}

say "writing a ~30 MB input with entities"
python3 - original.txt <<'EOF'
import random, sys
r = random.Random(30)
filler = "普通的一行文字，没有任何个人信息，订单已发货，请注意查收。\n"
parts, size, n = [], 0, 0
while size < 30 * 1000 * 1000:
    n += 1
    line = ("第%d条 客户姓名：张三丰，身份证号11010519491231002X，手机1%d%09d，"
            "邮箱 user%d@example.com，银行卡 4242 4242 4242 4242。\n"
            % (n, r.randint(3, 9), r.randint(0, 10**9 - 1), n)) + filler * r.randint(1, 6)
    b = line.encode()
    parts.append(b)
    size += len(b)
open(sys.argv[1], "wb").write(b"".join(parts))
EOF
mkdir work
rc=0
start=$(python3 -c 'import time; print(time.time())')
"$QINGLANG" redact original.txt >expected.txt 2>expected.err || rc=$?
dur_ms=$(python3 -c "import time; print(int((time.time() - $start) * 1000))")
[ "$rc" -eq 1 ] || fail "redact original.txt: exit status $rc, expected 1: $(head -c 300 expected.err)"
cmp -s original.txt expected.txt && fail "the redacted output equals the input"
say "input $(wc -c <original.txt) bytes, expected output $(wc -c <expected.txt) bytes; one run takes ${dur_ms} ms"

# The window for the random delay, in ms.
window=$(python3 -c "print(min(1500, max(300, int($dur_ms * 1.6))))")
delays=$(python3 -c "
import random
r = random.Random()
print(' '.join('%.3f' % (r.randint(0, $window) / 1000) for _ in range($ITERATIONS)))")
say "$ITERATIONS kill -9 runs, delays random in 0-$window ms"

old=0
new=0
leftover=0
i=0
# shellcheck disable=SC2086  # one word per delay
for delay in $delays; do
    i=$((i + 1))
    cp original.txt work/work.txt
    (cd work && exec "$QINGLANG" redact --in-place work.txt >/dev/null 2>&1) &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
    if cmp -s work/work.txt original.txt; then
        old=$((old + 1))
        ending=old
    elif cmp -s work/work.txt expected.txt; then
        new=$((new + 1))
        ending=new
    else
        fail "iteration $i (kill after ${delay} s): work.txt is neither the original nor the redacted file ($(wc -c <work/work.txt) bytes; original $(wc -c <original.txt), redacted $(wc -c <expected.txt))"
    fi
    # What else is in the directory: only temporary files of the right name.
    target_inode=$(stat -c %i work/work.txt)
    for f in work/* work/.[!.]* work/..?*; do
        [ -e "$f" ] || continue
        name=${f#work/}
        case $name in
        work.txt) ;;
        .work.txt.qinglang-*)
            leftover=$((leftover + 1))
            [ "$(stat -c %i "$f")" != "$target_inode" ] || fail "iteration $i: temporary file $name is the target itself"
            if [ "$ending" = new ] && cmp -s "$f" expected.txt; then
                fail "iteration $i: temporary $name left holding the complete output after the rename"
            fi
            rm -f "$f"
            ;;
        *) fail "iteration $i: unexpected file left in the directory: $name" ;;
        esac
    done
done
say "endings: $old old, $new new (of $ITERATIONS); temporary files left by kills: $leftover (all .work.txt.qinglang-*)"

say "an uninterrupted --in-place run leaves the expected file and no temporary file"
cp original.txt work/work.txt
rc=0
(cd work && "$QINGLANG" redact --in-place work.txt) >/dev/null 2>run.err || rc=$?
[ "$rc" -eq 1 ] || fail "--in-place: exit status $rc, expected 1: $(head -c 300 run.err)"
cmp -s work/work.txt expected.txt || fail "--in-place result differs from redacting to stdout"
extra=$(find work -mindepth 1 ! -name work.txt)
[ -z "$extra" ] || fail "--in-place left files behind: $extra"

say "all crash checks passed"
