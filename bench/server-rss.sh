#!/bin/sh
# bench/server-rss.sh BUILD_DIR [REQUESTS] — the server's memory stays flat:
# sends REQUESTS (default 1000000) POST /v1/scan requests (the 1 KB Chinese
# messages of bench/server.sh) with wrk and bench/server.lua, samples the
# server's VmRSS (/proc/PID/status) every second, and compares the RSS after
# the warm-up (the first 10 % of the requests, 100,000 of a million) with the
# RSS at the end.
#
# Not part of `make test` (a million requests take a few minutes); run it by
# hand after a build:   sh bench/server-rss.sh build
# QL_RSS_THREADS (server threads, default 2), QL_RSS_CONNS (wrk connections,
# default 32), QL_RSS_MAX_GROWTH (percent, default 5).
#
# Exit status: 0 flat; 1 RSS grew by more than QL_RSS_MAX_GROWTH percent
# after the warm-up, or a request failed; 2 the check could not run.
set -u

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: sh bench/server-rss.sh BUILD_DIR [REQUESTS]" >&2
    exit 2
fi
case $1 in
    /*) build=$1 ;;
    *) build=$(pwd)/$1 ;;
esac
total=${2:-1000000}
cd "$(dirname "$0")/.." || exit 2
src=$(pwd)
ql=$build/qinglang
threads=${QL_RSS_THREADS:-2}
conns=${QL_RSS_CONNS:-32}
maxgrowth=${QL_RSS_MAX_GROWTH:-5}

die() {
    echo "server-rss: $*" >&2
    exit 2
}
[ -x "$ql" ] || die "$ql not found; build first (make build)"
command -v python3 >/dev/null 2>&1 || die "python3 not found"
if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq wrk >/dev/null ||
        die "could not install wrk (apt-get install wrk)"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/qlbench-rss.XXXXXX") || exit 2
pid=""
sampler=""
cleanup() {
    [ -n "$sampler" ] && kill "$sampler" 2>/dev/null
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$ql" keys add bench --keys "$dir/keys" >"$dir/apikey" || die "qinglang keys add failed"
key=$(cat "$dir/apikey")
# The same bodies as bench/server.sh: its generator, run on its own.
sed -n '/^python3 - "\$nbodies"/,/^PY$/p' "$src/bench/server.sh" | sed '1d;$d' >"$dir/gen.py"
python3 "$dir/gen.py" 6 >"$dir/bodies.jsonl" || die "could not write the request bodies"
cat >"$dir/config.yaml" <<EOF
listen: 127.0.0.1:0
threads: $threads
timeout: 30
keys: keys
access_log: /dev/null
EOF
"$ql" serve --config "$dir/config.yaml" --listen 127.0.0.1:0 2>"$dir/stderr" &
pid=$!
i=0
while ! grep -q '^listening on ' "$dir/stderr"; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
        cat "$dir/stderr" >&2
        die "the server did not start"
    fi
    sleep 0.1
done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/stderr")

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null; }

# One wrk run per phase, each wrk thread stopping itself at its share of N
# (QL_LIMIT, bench/server.lua); wrk only ends at -d or SIGINT, so SIGINT
# goes once both threads said "ql-limit" (wrk then prints its summary).
run_phase() {  # N
    per=$(( ($1 + 1) / 2 ))
    : >"$dir/wrk.err"
    QL_KEY=$key QL_BODIES=$dir/bodies.jsonl QL_LIMIT=$per \
        wrk -t 2 -c "$conns" -d 3600s -s "$src/bench/server.lua" \
        "http://127.0.0.1:$port/v1/scan" >"$dir/wrk.out" 2>"$dir/wrk.err" &
    wpid=$!
    while kill -0 "$wpid" 2>/dev/null && [ "$(grep -c '^ql-limit' "$dir/wrk.err")" -lt 2 ]; do
        sleep 0.2
    done
    kill -INT "$wpid" 2>/dev/null
    wait "$wpid"
    grep '^ql-result ' "$dir/wrk.out"
}

# The sampler: one line a second, seconds since start and VmRSS in kB.
(
    t=0
    while kill -0 "$pid" 2>/dev/null; do
        echo "$t $(rss)"
        sleep 1
        t=$((t + 1))
    done
) >"$dir/samples" &
sampler=$!

start_rss=$(rss)
warm=$((total / 10))
echo "server-rss: pid $pid, $threads threads; RSS at start ${start_rss} kB; warm-up: $warm requests" >&2
w=$(run_phase "$warm") || die "wrk failed: $(cat "$dir/wrk.err")"
warm_rss=$(rss)
echo "server-rss: after warm-up: RSS ${warm_rss} kB ($w)" >&2
r=$(run_phase $((total - warm))) || die "wrk failed: $(cat "$dir/wrk.err")"
end_rss=$(rss)
kill "$sampler" 2>/dev/null
sampler=""

sent=$(( $(echo "$w" | sed 's/.*requests=\([0-9]*\).*/\1/') + $(echo "$r" | sed 's/.*requests=\([0-9]*\).*/\1/') ))
bad=$(( $(echo "$w" | sed 's/.*non2xx=\([0-9]*\).*/\1/') + $(echo "$r" | sed 's/.*non2xx=\([0-9]*\).*/\1/') ))
peak=$(awk 'NF == 2 && $2 > m { m = $2 } END { print m + 0 }' "$dir/samples")
nsamples=$(wc -l <"$dir/samples" | tr -d ' ')
echo "server-rss: RSS samples (seconds kB), every 10th:" >&2
awk 'NR % 10 == 1' "$dir/samples" | tr '\n' ' ' | fold -w 100 >&2
echo >&2
growth=$(awk -v a="$warm_rss" -v b="$end_rss" 'BEGIN { printf "%.2f", (b - a) * 100 / a }')
printf 'server-rss: %s requests (%s non-2xx), %s samples; RSS start %s kB, after warm-up %s kB, end %s kB, peak %s kB; growth after warm-up %s %%\n' \
    "$sent" "$bad" "$nsamples" "$start_rss" "$warm_rss" "$end_rss" "$peak" "$growth"
if [ "$bad" != 0 ]; then
    echo "server-rss: FAIL: $bad non-2xx answers" >&2
    exit 1
fi
if awk -v g="$growth" -v m="$maxgrowth" 'BEGIN { exit !(g > m) }'; then
    echo "server-rss: FAIL: RSS grew by $growth % after the warm-up (limit $maxgrowth %)" >&2
    exit 1
fi
echo "server-rss: ok (limit $maxgrowth %)"
