#!/bin/sh
# bench/server.sh BUILD_DIR — `qinglang serve` under wrk: POST /v1/scan with
# 1 KB Chinese messages containing PII, client and server on this machine
# (docs/bench-server.md says what the numbers mean).
#
#   1. Installs wrk (Debian package) when it is missing.
#   2. Writes a temporary config, an API key and QL_BENCH_BODIES (default 6)
#      different 1 KB messages (UTF-8 text of exactly 1024 bytes: names,
#      resident IDs, mobiles, bank cards, e-mails, addresses, IPs in
#      customer-service prose), one JSON body a line.
#   3. For each server thread count in QL_BENCH_SERVER_THREADS (default
#      "1 2"): starts BUILD_DIR/qinglang serve on 127.0.0.1:0 (the port is
#      read from its stderr), and for each connection count in
#      QL_BENCH_CONNS (default "16 32 64") runs wrk -t QL_BENCH_WRK_THREADS
#      (default 1) --latency for QL_BENCH_WARMUP seconds (default 2,
#      discarded) and then QL_BENCH_SECONDS (default 10) with bench/server.lua.
#   4. Prints requests/s, p50/p90/p99/p99.9 latency and the non-2xx count of
#      each run and the best run; the server is killed whatever happens.
#
# QL_BENCH_ACCESS_LOG=file (default) writes the access log to a file in the
# temporary directory, as a deployment would; =null sends it to /dev/null.
#
# Exit status: 0; 1 if a run had a non-2xx answer or a socket error; 2 if
# the benchmark could not run.
set -u

if [ $# -ne 1 ]; then
    echo "usage: sh bench/server.sh BUILD_DIR" >&2
    exit 2
fi
case $1 in
    /*) build=$1 ;;
    *) build=$(pwd)/$1 ;;
esac
cd "$(dirname "$0")/.." || exit 2
src=$(pwd)

ql=$build/qinglang
server_threads=${QL_BENCH_SERVER_THREADS:-1 2}
conns=${QL_BENCH_CONNS:-16 32 64}
wrk_threads=${QL_BENCH_WRK_THREADS:-1}
seconds=${QL_BENCH_SECONDS:-10}
warmup=${QL_BENCH_WARMUP:-2}
nbodies=${QL_BENCH_BODIES:-6}
access=${QL_BENCH_ACCESS_LOG:-file}

die() {
    echo "bench-server: $*" >&2
    exit 2
}

[ -x "$ql" ] || die "$ql not found; build first (make build)"
command -v python3 >/dev/null 2>&1 || die "python3 not found; run: sh scripts/install-deps.sh"
if ! command -v wrk >/dev/null 2>&1; then
    echo "bench-server: installing wrk ..." >&2
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null && $SUDO apt-get install -y -qq wrk >/dev/null ||
        die "could not install wrk (apt-get install wrk)"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/qlbench-server.XXXXXX") || exit 2
pid=""
stop_server() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=""
    fi
}
cleanup() {
    stop_server
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- setup --
"$ql" keys add bench --keys "$dir/keys" >"$dir/apikey" || die "qinglang keys add failed"
key=$(cat "$dir/apikey")
python3 - "$nbodies" >"$dir/bodies.jsonl" <<'PY' || die "could not write the request bodies"
# One JSON body a line: {"text": T} with T exactly 1024 bytes of UTF-8,
# Chinese prose around realistic PII (check digits valid).
import json, sys
n = int(sys.argv[1])
people = [
    ("张伟", "11010519491231002X", "13800138000", "6222021234567890128", "zhangwei@example.com", "北京市朝阳区建国路88号院3号楼1201室", "10.12.3.45"),
    ("李娜", "440304198503151231", "13912345678", "6217000012345678907", "lina.sz@example.cn", "广东省深圳市福田区深南大道6008号", "192.168.10.21"),
    ("王芳", "310115199007074568", "18600001111", "6228480012345678903", "wangfang@example.org", "上海市浦东新区世纪大道100号45楼", "172.16.0.9"),
    ("刘洋", "510107197811203453", "15012348765", "6222021234567890128", "liuyang88@example.net", "四川省成都市武侯区人民南路四段12号", "10.0.8.200"),
]
templates = [
    "客服工单：客户{name}来电反映账户异常，身份证号：{id}，联系电话：{phone}，绑定银行卡号 {card}。"
    "客户表示近期收到多条可疑短信，要求核实最近三笔交易并冻结该卡。已告知客户通过官方渠道办理，"
    "邮箱 {mail} 将收到处理结果。住址：{addr}。登录来源IP {ip}，与常用地区不一致。",
    "投诉记录：{name}（身份证 {id}）称快递未按时送达，收件地址为{addr}，手机 {phone}。"
    "客户情绪较为激动，要求赔偿运费并提供书面说明。退款请打到尚未注销的银行卡{card}，"
    "回执请发送至电子邮箱：{mail}。系统日志显示该订单最后一次修改来自 {ip}。",
    "理赔申请：被保险人{name}，证件号码{id}，联系电话{phone}，开户银行卡号：{card}，"
    "通讯地址：{addr}，电子邮件 {mail}。申请人于上月在医院就诊，已提交发票与病历复印件，"
    "审核人员需在五个工作日内完成复核。提交终端地址 {ip}。",
]
filler = ("本记录仅供内部质检使用，请勿外传。处理人员应遵守公司数据安全规范，"
          "核实身份后方可办理相关业务，并在系统中完整记录沟通过程与处理结论。")
for i in range(n):
    name, pid, phone, card, mail, addr, ip = people[i % len(people)]
    t = templates[i % len(templates)].format(name=name, id=pid, phone=phone, card=card,
                                             mail=mail, addr=addr, ip=ip)
    k = 0
    while len((t + filler[k % len(filler)]).encode()) <= 1024:
        t += filler[k % len(filler)]
        k += 1
    t += " " * (1024 - len(t.encode()))
    assert len(t.encode()) == 1024
    print(json.dumps({"text": t}, ensure_ascii=False))
PY
bodybytes=$(head -n 1 "$dir/bodies.jsonl" | wc -c | tr -d ' ')

cores=$(nproc 2>/dev/null || echo 1)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)
case $access in
    null) logline="access_log: /dev/null" ;;
    *) logline="access_log: access.log" ;;
esac

# start_server THREADS: starts the server, sets pid and port.
start_server() {
    cat >"$dir/config.yaml" <<EOF
listen: 127.0.0.1:0
threads: $1
timeout: 30
keys: keys
$logline
max_body: 1048576
EOF
    : >"$dir/stderr"
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
    [ -n "$port" ] || die "no port in the server's stderr"
}

# run_wrk CONNS SECONDS: one wrk run; its ql-result line goes to stdout.
run_wrk() {
    QL_KEY=$key QL_BODIES=$dir/bodies.jsonl \
        wrk -t "$wrk_threads" -c "$1" -d "${2}s" --latency -s "$src/bench/server.lua" \
        "http://127.0.0.1:$port/v1/scan" 2>"$dir/wrk.err" | grep '^ql-result '
}

# field NAME LINE: the value of NAME=... in a ql-result line.
field() {
    echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2; exit }'
}
ms() {
    awk -v u="$1" 'BEGIN { printf "%.3f", u / 1000 }'
}

echo "bench-server: $cpu, $cores cores; wrk -t $wrk_threads, ${warmup}s warm-up + ${seconds}s per run" >&2
results=$dir/results
: >"$results"
status=0
for st in $server_threads; do
    start_server "$st"
    echo "bench-server: server threads=$st pid $pid port $port" >&2
    for c in $conns; do
        run_wrk "$c" "$warmup" >/dev/null
        line=$(run_wrk "$c" "$seconds")
        if [ -z "$line" ]; then
            cat "$dir/wrk.err" >&2
            die "wrk failed (server threads $st, connections $c)"
        fi
        bad=$(field non2xx "$line")
        errs=$(field errors "$line")
        if [ "$bad" != 0 ] || [ "$errs" != "0/0/0/0" ]; then
            status=1
            head -n 5 "$dir/wrk.err" >&2
        fi
        printf '%s %s %s\n' "$st" "$c" "$line" >>"$results"
        printf 'bench-server:   -c %-3s %9s req/s  p50 %s ms  p99 %s ms  non-2xx %s\n' "$c" \
            "$(field rps "$line")" "$(ms "$(field p50_us "$line")")" \
            "$(ms "$(field p99_us "$line")")" "$bad" >&2
    done
    stop_server
done

# ---------------------------------------------------------------- report --
{
    echo
    echo "qinglang serve benchmark: POST /v1/scan, $bodybytes-byte JSON bodies (1024-byte Chinese text with PII), $nbodies bodies rotated"
    printf '  machine  %s, %s cores; client (wrk -t %s) and server on the same machine\n' \
        "${cpu:-unknown CPU}" "$cores" "$wrk_threads"
    printf '  runs     %ss each after a %ss warm-up; access log: %s\n' "$seconds" "$warmup" "$access"
    echo
    printf '  %7s %5s %10s %9s %9s %9s %9s %9s %8s %s\n' "threads" "conns" "req/s" "p50 ms" \
        "p90 ms" "p99 ms" "p99.9 ms" "max ms" "non-2xx" "socket errors c/r/w/t"
    while read -r st c rest; do
        printf '  %7s %5s %10s %9s %9s %9s %9s %9s %8s %s\n' "$st" "$c" "$(field rps "$rest")" \
            "$(ms "$(field p50_us "$rest")")" "$(ms "$(field p90_us "$rest")")" \
            "$(ms "$(field p99_us "$rest")")" "$(ms "$(field p999_us "$rest")")" \
            "$(ms "$(field max_us "$rest")")" "$(field non2xx "$rest")" "$(field errors "$rest")"
    done <"$results"
    echo
    best=$(awk '{ for (i = 3; i <= NF; i++) if ($i ~ /^rps=/) { split($i, a, "="); if (a[2] + 0 > b) { b = a[2] + 0; l = $0 } } }
                END { print l }' "$results")
    bst=$(echo "$best" | awk '{ print $1 }'); bc=$(echo "$best" | awk '{ print $2 }')
    printf '  best: %s req/s with %s server thread(s) and %s connections (p50 %s ms, p99 %s ms)\n' \
        "$(field rps "$best")" "$bst" "$bc" "$(ms "$(field p50_us "$best")")" "$(ms "$(field p99_us "$best")")"
    awk -v r="$(field rps "$best")" -v p="$(field p99_us "$best")" 'BEGIN {
        printf "  goal: >= 20000 req/s and p99 <= 2 ms: %s req/s, %s p99\n",
            (r >= 20000 ? "met" : "NOT met"), (p <= 2000 ? "met" : "NOT met") }'
}
exit $status
