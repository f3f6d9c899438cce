#!/bin/sh
# bench/moderate.sh BUILD_DIR — the moderation engine against mint-filter
# (docs/bench.md, "Moderation").
#
#   1. Uses bench/corpus/corpus.txt (made by bench/run.sh; made here the
#      same way when missing) and writes lexicons of 1,000, 20,000 and
#      100,000 words with bench/gen-lexicon.py (plain word lists), plus a
#      hit-heavy 20,000-word one (HITS=heavy).
#   2. Installs mint-filter 4.0.3 from npm into bench/mint/node_modules
#      (package-lock.json pins it) when missing.
#   3. Runs BUILD_DIR/modbench (the engine alone, one thread, all
#      normalisations on, one message per line, best of QL_BENCH_RUNS,
#      default 3) on each lexicon; `qinglang scan --moderate --lines` (the
#      whole command, output to /dev/null) on the 20,000-word lexicon; and
#      mint-filter on the 20,000-word lexicons, same text, one message per
#      line.
#   4. Prints MB/s (10^6 bytes), the ratios, and the bars: >= 10x
#      mint-filter and >= 200 MB/s at 20,000 words (goal 500), and 1,000 ->
#      100,000 words within 2x.
set -u
if [ $# -ne 1 ]; then
    echo "usage: sh bench/moderate.sh BUILD_DIR" >&2
    exit 2
fi
case $1 in
    /*) build=$1 ;;
    *) build=$(pwd)/$1 ;;
esac
cd "$(dirname "$0")/.." || exit 2
corpus=bench/corpus/corpus.txt
runs=${QL_BENCH_RUNS:-3}
size_mb=${QL_BENCH_MB:-64}
die() {
    echo "bench: $*" >&2
    exit 2
}
[ -x "$build/modbench" ] || die "$build/modbench not found; build first (make build)"
if [ ! -f "$corpus" ]; then
    mkdir -p bench/corpus || exit 2
    echo "bench: generating $corpus ($size_mb MiB) ..." >&2
    "$build/bench-gen" "$corpus" "$size_mb" >/dev/null || die "bench-gen failed"
fi
bytes=$(wc -c <"$corpus" | tr -d ' ')
work=$(mktemp -d "${TMPDIR:-/tmp}/qlmod.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT

for n in 1000 20000 100000; do
    python3 bench/gen-lexicon.py "$n" "$corpus" "$work/lex$n.txt" || die "gen-lexicon failed"
done
HITS=heavy python3 bench/gen-lexicon.py 20000 "$corpus" "$work/heavy20000.txt" || die "gen-lexicon failed"

have_mint=1
if [ ! -d bench/mint/node_modules/mint-filter ]; then
    if command -v npm >/dev/null 2>&1; then
        echo "bench: npm ci (mint-filter 4.0.3) ..." >&2
        (cd bench/mint && npm ci --no-audit --no-fund >/dev/null 2>&1) || have_mint=0
    else
        have_mint=0
    fi
fi
[ "$have_mint" = 1 ] || echo "bench: mint-filter could not be installed (no npm or registry); skipping it" >&2

field() {   # field KEY LINE
    echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

echo "moderation: $(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}') MB corpus, one message per line, one thread, best of $runs"
printf '%-44s %10s %9s %9s %10s\n' "engine" "MB/s" "hits" "flagged" "compile_s"
for n in 1000 20000 100000; do
    out=$("$build/modbench" "$work/lex$n.txt" "$corpus" "$runs") || die "modbench failed"
    eval "mb$n=$(field mb_s "$out")"
    printf '%-44s %10s %9s %9s %10s\n' "qinglang engine, $n words" "$(field mb_s "$out")" \
        "$(field hits "$out")" "$(field flagged "$out")" "$(field compile_s "$out")"
done
out=$(MODBENCH_MODEL=1 "$build/modbench" "$work/lex20000.txt" "$corpus" "$runs") || die "modbench failed"
mbmodel=$(field mb_s "$out")
printf '%-44s %10s %9s %9s %10s\n' "qinglang engine + model, 20000 words" "$mbmodel" \
    "$(field hits "$out")" "$(field flagged "$out")" "$(field compile_s "$out")"
out=$("$build/modbench" "$work/heavy20000.txt" "$corpus" "$runs") || die "modbench failed"
mbheavy=$(field mb_s "$out")
printf '%-44s %10s %9s %9s %10s\n' "qinglang engine, 20000 words, hit-heavy" "$mbheavy" \
    "$(field hits "$out")" "$(field flagged "$out")" "$(field compile_s "$out")"

best=
i=0
while [ $i -lt "$runs" ]; do
    t0=$(date +%s.%N)
    "$build/qinglang" scan --moderate --lines --no-doxxing --no-builtin-lexicons --no-model \
        --lexicon "$work/lex20000.txt" --format jsonl "$corpus" >/dev/null 2>&1
    rc=$?
    t1=$(date +%s.%N)
    [ $rc -le 1 ] || die "qinglang scan --moderate exited with $rc"
    t=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", b-a}')
    if [ -z "$best" ] || awk -v t="$t" -v b="$best" 'BEGIN{exit !(t<b)}'; then best=$t; fi
    i=$((i + 1))
done
mbcli=$(awk -v b="$bytes" -v t="$best" 'BEGIN{printf "%.1f", b/t/1e6}')
printf '%-44s %10s\n' "qinglang scan --moderate --lines --no-model (20000)" "$mbcli"

mint=
if [ "$have_mint" = 1 ]; then
    out=$(node bench/mint/mint-bench.js "$work/lex20000.txt" "$corpus" "$runs") || die "mint-filter failed"
    mint=$(field mb_s "$out")
    printf '%-44s %10s %9s %9s %10s\n' "mint-filter 4.0.3, 20000 words" "$mint" \
        "$(field hits "$out")" "$(field flagged "$out")" "$(field compile_s "$out")"
    out=$(node bench/mint/mint-bench.js "$work/heavy20000.txt" "$corpus" "$runs") || die "mint-filter failed"
    mintheavy=$(field mb_s "$out")
    printf '%-44s %10s %9s %9s %10s\n' "mint-filter 4.0.3, 20000 words, hit-heavy" "$mintheavy" \
        "$(field hits "$out")" "$(field flagged "$out")" "$(field compile_s "$out")"
fi

# The same small cases through both: a keyword ending inside a longer
# partial match, and evasions mint-filter does not normalise.
if [ "$have_mint" = 1 ]; then
    echo
    echo "same cases (words: 大傻瓜蛋, 傻瓜, 傻逼):"
    for t in '大傻瓜x' '傻​逼' '傻傻逼' 'ＳＨＡＢＩ' '傻，逼'; do
        m=$(cd bench/mint && node -e 'const {Mint}=require("mint-filter");
            const r=new Mint(["大傻瓜蛋","傻瓜","傻逼"]).filter(process.argv[1],{replace:false});
            console.log(r.words.join(",")||"-")' "$t")
        q=$(printf '大傻瓜蛋\n傻瓜\n傻逼\n' >"$work/small.txt"; printf '%s' "$t" |
            "$build/qinglang" scan --moderate --no-doxxing --no-builtin-lexicons \
            --lexicon "$work/small.txt" --list-severity high --format jsonl - |
            python3 -c 'import json,sys; r=json.load(sys.stdin); print(",".join(h["word"] for h in r["hits"]) or "-")')
        printf '  %-10s mint-filter: %-8s qinglang: %s\n' "$t" "$m" "$q"
    done
fi

echo
awk -v a="$mb20000" -v c="$mbcli" -v m="$mint" -v h="$mbheavy" -v mh="${mintheavy:-}" \
    -v s="$mb1000" -v l="$mb100000" -v mm="$mbmodel" 'BEGIN {
    if (m != "") {
        printf "ratio to mint-filter, 20000 words: engine %.1fx, command %.1fx (bar >= 10x)\n", a/m, c/m
        if (mh != "") printf "ratio to mint-filter, hit-heavy: %.1fx\n", h/mh
    }
    printf "20000 words: %.0f MB/s (bar >= 200, goal >= 500); with the model %.0f MB/s\n", a, mm
    printf "1000 -> 100000 words: %.0f -> %.0f MB/s, %.2fx slower (bar <= 2x)\n", s, l, s/l
}'
