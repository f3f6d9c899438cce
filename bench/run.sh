#!/bin/sh
# bench/run.sh BUILD_DIR — measures qinglang against ripgrep on the benchmark
# corpus (docs/bench.md says what each number means).
#
#   1. Makes bench/corpus/corpus.txt with BUILD_DIR/bench-gen when it is
#      missing, older than bench/gen.c, or of another size (QL_BENCH_MB,
#      default 64).  bench-gen's summary (entities planted per type) is kept
#      beside it in bench/corpus/planted.txt.
#   2. Times, best of QL_BENCH_RUNS (default 3) wall-clock runs each, output
#      to /dev/null:  wc -l;  rg on a literal that never occurs (the memchr
#      baseline);  rg with bench/rg-patterns.txt on one thread, counting
#      matching lines (-c) and every match (--count-matches);  qinglang
#      scan -j 1;  qinglang scan -j $(nproc).
#   3. Prints MB/s for each (MB = 10^6 bytes), the ratios, and the findings
#      qinglang reports per type against the entities planted.
#
# Exit status: 0, or the status of a command that failed (exit code > 1;
# qinglang's 1 means "findings reported", rg's 1 means "no match").
set -u

if [ $# -ne 1 ]; then
    echo "usage: sh bench/run.sh BUILD_DIR" >&2
    exit 2
fi
case $1 in
    /*) build=$1 ;;
    *) build=$(pwd)/$1 ;;
esac
cd "$(dirname "$0")/.." || exit 2

gen=$build/bench-gen
ql=$build/qinglang
dir=bench/corpus
corpus=$dir/corpus.txt
planted=$dir/planted.txt
patterns=bench/rg-patterns.txt
size_mb=${QL_BENCH_MB:-64}
runs=${QL_BENCH_RUNS:-3}
cores=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
absent='QINGLANG_NEVER_PRESENT_XYZ'

die() {
    echo "bench: $*" >&2
    exit 2
}

command -v rg >/dev/null 2>&1 || die "ripgrep (rg) not found; run: sh scripts/install-deps.sh"
command -v awk >/dev/null 2>&1 || die "awk not found"
[ -x "$ql" ] || die "$ql not found; build first (make build)"

# ---------------------------------------------------------------- corpus --
need_gen=0
if [ ! -f "$corpus" ] || [ ! -f "$planted" ]; then
    need_gen=1
elif [ -n "$(find bench/gen.c -newer "$corpus" 2>/dev/null)" ]; then
    need_gen=1
elif ! grep -q "^size_mb=$size_mb " "$planted"; then
    need_gen=1
fi
if [ "$need_gen" = 1 ]; then
    [ -x "$gen" ] || die "$gen not found; build first (make build)"
    mkdir -p "$dir" || exit 2
    echo "bench: generating $corpus ($size_mb MiB) ..." >&2
    summary=$("$gen" "$corpus" "$size_mb")
    rc=$?
    [ $rc -eq 0 ] || die "bench-gen failed (exit $rc)"
    printf 'size_mb=%s %s\n' "$size_mb" "$summary" >"$planted" || exit 2
fi
bytes=$(wc -c <"$corpus" | tr -d ' ')

# ---------------------------------------------------------------- timing --
# Wall-clock seconds as a decimal.  GNU date has %N; elsewhere python3.
case $(date +%N 2>/dev/null) in
    [0-9]*) have_ns=1 ;;
    *) have_ns=0 ;;
esac
if [ "$have_ns" = 1 ]; then
    now() { date +%s.%N; }
elif command -v python3 >/dev/null 2>&1; then
    now() { python3 -c 'import time; print("%.9f" % time.time())'; }
else
    die "need GNU date (+%N) or python3 for timing"
fi

errf=$(mktemp "${TMPDIR:-/tmp}/qlbench.XXXXXX") || exit 2
found=$(mktemp "${TMPDIR:-/tmp}/qlbench.XXXXXX") || exit 2
trap 'rm -f "$errf" "$found"' EXIT
trap 'exit 130' INT TERM

# best_of CMD...: runs CMD $runs times with stdout to /dev/null and sets
# BEST to the shortest wall-clock time in seconds.  A run that exits with a
# status above 1 stops the benchmark with that status.
best_of() {
    BEST=
    i=0
    while [ $i -lt "$runs" ]; do
        t0=$(now)
        "$@" >/dev/null 2>"$errf"
        rc=$?
        t1=$(now)
        if [ $rc -gt 1 ]; then
            echo "bench: command failed (exit $rc): $*" >&2
            cat "$errf" >&2
            exit $rc
        fi
        BEST=$(awk -v a="$t0" -v b="$t1" -v best="$BEST" \
            'BEGIN { d = b - a; if (best == "" || d < best + 0) best = d; printf "%.4f", best }')
        i=$((i + 1))
    done
}

# field NAME: the value of NAME=... in bench-gen's summary.
field() {
    tr ' ' '\n' <"$planted" | awk -F= -v k="$1" '$1 == k { print $2; exit }'
}

mbps() {
    awk -v n="$bytes" -v s="$1" 'BEGIN { if (s > 0) printf "%.1f", n / 1e6 / s; else print "inf" }'
}

# A one-rule file and an empty input time the command's start-up (rule
# compilation, Hyperscan's compiler) on its own.
empty_rules=$(mktemp); empty_file=$(mktemp)
trap 'rm -f "$empty_rules" "$empty_file"' EXIT
printf 'rules:\n  - id: b.x\n    type: x\n    keywords: [qinglangbench]\n' >"$empty_rules"

# Read the file once so the first timed run does not pay for the disk.
cat "$corpus" >/dev/null

echo "bench: timing, best of $runs runs each ..." >&2
best_of wc -l "$corpus";                                     t_wc=$BEST
best_of rg --no-config -j1 -c -F "$absent" "$corpus";        t_memchr=$BEST
best_of rg --no-config -j1 -c -f "$patterns" "$corpus";      t_rg=$BEST
best_of rg --no-config -j1 --count-matches -f "$patterns" "$corpus"; t_rgm=$BEST
best_of "$ql" scan -j 1 --format jsonl "$corpus";            t_ql1=$BEST
best_of "$ql" scan -j "$cores" --format jsonl "$corpus";     t_qln=$BEST
best_of "$ql" scan --no-builtin --rules "$empty_rules" "$empty_file"; t_start=$BEST
# The engine alone: rules compiled once, the corpus in memory, one thread.
engine=$("$build/scanbench" "$corpus" "$runs") || { echo "bench: scanbench failed" >&2; exit 2; }
t_eng=$(echo "$engine" | awk '{ print $1 }')
redact=$("$build/scanbench" "$corpus" "$runs" redact) || { echo "bench: scanbench redact failed" >&2; exit 2; }
t_red=$(echo "$redact" | awk '{ print $1 }')

# One more run, untimed, for the findings per type.
"$ql" scan -j "$cores" --format jsonl "$corpus" >"$found" 2>"$errf"
rc=$?
if [ $rc -gt 1 ]; then
    echo "bench: qinglang scan failed (exit $rc)" >&2
    cat "$errf" >&2
    exit $rc
fi
rg_lines=$(rg --no-config -j1 -c -f "$patterns" "$corpus" 2>/dev/null || echo 0)

# ---------------------------------------------------------------- report --
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
rgv=$(rg --version 2>/dev/null | head -n 1)
npat=$(grep -c . "$patterns")

{
    echo
    echo "qinglang benchmark"
    printf '  corpus   %s: %s bytes, %s lines\n' "$corpus" "$bytes" "$(field lines)"
    printf '           prose %s, logs %s, digit noise %s; %s entities planted\n' \
        "$(field prose)" "$(field logs)" "$(field noise)" "$(field entities)"
    printf '  machine  %s, %s cores; %s\n' "${cpu:-unknown CPU}" "$cores" "$rgv"
    echo
    printf '  %-52s %9s %9s\n' "measurement (best of $runs)" "seconds" "MB/s"
    printf '  %-52s %9s %9s\n' "wc -l" "$t_wc" "$(mbps "$t_wc")"
    printf '  %-52s %9s %9s\n' "rg -F absent literal (memchr baseline)" "$t_memchr" "$(mbps "$t_memchr")"
    printf '  %-52s %9s %9s\n' "rg -j1 -c -f rg-patterns.txt ($npat regexes, ASCII)" "$t_rg" "$(mbps "$t_rg")"
    printf '  %-52s %9s %9s\n' "rg -j1 --count-matches -f rg-patterns.txt" "$t_rgm" "$(mbps "$t_rgm")"
    printf '  %-52s %9s %9s\n' "qinglang scan -j 1 --format jsonl" "$t_ql1" "$(mbps "$t_ql1")"
    printf '  %-52s %9s %9s\n' "qinglang scan -j $cores --format jsonl" "$t_qln" "$(mbps "$t_qln")"
    printf '  %-52s %9s %9s\n' "engine alone, 1 thread (bench/scanbench.c)" "$t_eng" "$(mbps "$t_eng")"
    printf '  %-52s %9s %9s\n' "redact stream (mask all), 1 thread, engine alone" "$t_red" "$(mbps "$t_red")"
    printf '  %-52s %9s\n' "qinglang start-up with a one-rule file, empty input" "$t_start"
    echo
    awk -v c="$cores" -v q="$t_ql1" -v r="$t_rg" -v rm="$t_rgm" -v m="$t_memchr" -v qn="$t_qln" -v e="$t_eng" -v rd="$t_red" 'BEGIN {
        printf "  throughput ratios\n"
        printf "    %-42s %8.2fx\n", "qinglang -j 1 / rg -j1 -c", r / q
        printf "    %-42s %8.2fx\n", "qinglang -j 1 / rg -j1 --count-matches", rm / q
        printf "    %-42s %8.3fx\n", "qinglang -j 1 / memchr baseline", m / q
        printf "    %-42s %8.2fx\n", "qinglang -j " c " / qinglang -j 1", q / qn
        printf "    %-42s %8.2fx\n", "engine alone / rg -j1 -c", r / e
        printf "    %-42s %8.0f%%\n", "redact / scan (engine alone)", 100 * e / rd
    }'
    printf '  (rg -c counted %s matching lines)\n' "$rg_lines"
    echo
    # Findings per type from the JSONL against what bench-gen planted.
    awk '
        NR == FNR {
            for (i = 1; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] ~ /^(size_mb|bytes|lines|prose|logs|noise|entities)$/) continue
                planted[kv[1]] = kv[2]; order[++n] = kv[1]
            }
            next
        }
        match($0, /"type":"[^"]*"/) {
            t = substr($0, RSTART + 8, RLENGTH - 9)
            found[t]++
        }
        END {
            printf "  %-26s %9s %9s %8s\n", "type", "planted", "found", "found %"
            for (i = 1; i <= n; i++) {
                t = order[i]; p = planted[t] + 0; f = found[t] + 0
                tp += p; tf += f
                printf "  %-26s %9d %9d %7.1f%%\n", t, p, f, p ? 100 * f / p : 0
                seen[t] = 1
            }
            for (t in found) if (!(t in seen)) {
                printf "  %-26s %9d %9d %8s\n", t, 0, found[t], "-"
                tf += found[t]
            }
            printf "  %-26s %9d %9d %7.1f%%\n", "total", tp, tf, tp ? 100 * tf / tp : 0
        }' "$planted" "$found"
} | tee "$dir/last-run.txt"
exit 0
