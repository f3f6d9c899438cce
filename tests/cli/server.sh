#!/bin/sh
# `qinglang serve` over real HTTP: starts the server on a free port and runs
# tests/server/test_server.py against it (endpoints, exact findings, error
# answers, limits, a slow client, reload under load, metrics, access log).
# Then a second server with an `evidence:` section runs
# tests/server/test_evidence_http.py (reports, receipts, proofs), with the
# first one still up for the "no evidence log" answers.
# The servers are killed whatever happens (trap).
set -eu
: "${QINGLANG:?}" "${QL_SOURCE_DIR:?}"
command -v curl >/dev/null || { echo "server.sh: curl is missing" >&2; exit 1; }
dir=$(mktemp -d)
pid=""
pid2=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    if [ -n "$pid2" ]; then kill "$pid2" 2>/dev/null || true; wait "$pid2" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"$QINGLANG" keys add acme --keys "$dir/keys" > "$dir/acme.apikey"
"$QINGLANG" keys add beta --keys "$dir/keys" > "$dir/beta.apikey"
"$QINGLANG" keys add slow --keys "$dir/keys" > "$dir/slow.apikey"
"$QINGLANG" keys add ops --keys "$dir/keys" > "$dir/ops.apikey"
"$QINGLANG" keys add gone --keys "$dir/keys" > "$dir/gone.apikey"
"$QINGLANG" keys revoke gone --keys "$dir/keys"
"$QINGLANG" keys list --keys "$dir/keys" > "$dir/keys.list"
printf '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n' > "$dir/acme.key"
chmod 600 "$dir/acme.key"
cat > "$dir/global.yaml" <<'YAML'
version: 1
rules:
  - id: global.ticket
    type: ticket_no
    category: custom
    severity: low
    regex: 'TKT-\d{6}'
    boundary: alnum
YAML
cat > "$dir/beta.yaml" <<'YAML'
version: 1
rules:
  - id: beta.project
    type: beta_project
    category: custom
    severity: high
    regex: 'BETA-PRJ-\d{4}'
    boundary: alnum
YAML
cat > "$dir/config.yaml" <<'YAML'
listen: 127.0.0.1:8080
threads: 4
timeout: 2
keys: keys
admins: [ops]
max_body: 65536
max_batch: 5
access_log: access.log
rules: [global.yaml]
tenants:
  acme:
    operator: mask
    key_file: acme.key
  beta:
    operator: tag
    rules: [beta.yaml]
    enabled: [beta_project, cn_mobile_phone]
  slow:
    rate: 0.5
    burst: 2
YAML

"$QINGLANG" serve --config "$dir/config.yaml" --listen 127.0.0.1:0 2> "$dir/stderr" &
pid=$!
i=0
while ! grep -q '^listening on ' "$dir/stderr"; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "server.sh: the server did not start" >&2
        cat "$dir/stderr" >&2
        exit 1
    fi
    sleep 0.1
done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/stderr")
echo "server.sh: server pid $pid on port $port"
python3 "$QL_SOURCE_DIR/tests/server/test_server.py" "$dir" "$port" "$pid"

# The evidence log: keys from `qinglang evidence keygen`, the log created
# by the server at its first start.
mkdir "$dir/ev"
"$QINGLANG" evidence keygen "$dir/ev/sign.key" 2>/dev/null
"$QINGLANG" evidence keygen --content "$dir/ev/content.key" 2>/dev/null
cat > "$dir/ev/config.yaml" <<'YAML'
threads: 4
keys: ../keys
admins: [ops]
access_log: access.log
tenants:
  acme:
    operator: mask
  beta:
    enabled: [cn_mobile_phone, cn_resident_id]
evidence:
  log: evidence.db
  key_file: sign.key
  content_key_file: content.key
YAML
"$QINGLANG" serve --config "$dir/ev/config.yaml" --listen 127.0.0.1:0 2> "$dir/ev/stderr" &
pid2=$!
i=0
while ! grep -q '^listening on ' "$dir/ev/stderr"; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$pid2" 2>/dev/null; then
        echo "server.sh: the evidence server did not start" >&2
        cat "$dir/ev/stderr" >&2
        exit 1
    fi
    sleep 0.1
done
port2=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/ev/stderr")
echo "server.sh: evidence server pid $pid2 on port $port2"
python3 "$QL_SOURCE_DIR/tests/server/test_evidence_http.py" "$dir" "$port2" "$port" "$QINGLANG"
kill -TERM "$pid2"
status=0
wait "$pid2" || status=$?
pid2=""
if grep -q 'ERROR: \(Leak\|Address\)Sanitizer\|runtime error' "$dir/ev/stderr"; then
    echo "server.sh: sanitizer report (evidence server):" >&2
    cat "$dir/ev/stderr" >&2
    exit 1
fi
[ "$status" = 0 ] || { echo "server.sh: the evidence server exited $status" >&2; cat "$dir/ev/stderr" >&2; exit 1; }

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
if grep -q 'ERROR: \(Leak\|Address\)Sanitizer\|runtime error' "$dir/stderr"; then
    echo "server.sh: sanitizer report:" >&2
    cat "$dir/stderr" >&2
    exit 1
fi
[ "$status" = 0 ] || { echo "server.sh: server exited $status" >&2; cat "$dir/stderr" >&2; exit 1; }
echo "server.sh: ok"
