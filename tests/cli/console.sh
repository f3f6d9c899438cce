#!/bin/sh
# The web console (GET / of `qinglang serve`) end to end in headless
# Chromium: starts the server on a free port with one key and runs
# tests/server/console/test.mjs (playwright-core) against it.  Screenshots
# go to $QL_BUILD_DIR/console-artifacts/.
#
# Debian's chromium and npm's playwright-core are installed when missing.
# When apt or npm say such a package does not exist, the test is skipped
# with a message; any other failure to install fails the test.  The server
# is killed whatever happens (trap).
set -eu
: "${QINGLANG:?}" "${QL_SOURCE_DIR:?}" "${QL_BUILD_DIR:?}"
here="$QL_SOURCE_DIR/tests/server/console"
artifacts="$QL_BUILD_DIR/console-artifacts"
dir=$(mktemp -d)
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

skip() {
    echo "console.sh: skipped: $*"
    exit 0
}

if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
apt_updated=""
# apt_install PACKAGE...: 0 installed, 3 no such package, else fails the test.
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$apt_updated" ]; then
        $SUDO apt-get update -qq >"$dir/apt.log" 2>&1 || { cat "$dir/apt.log" >&2; exit 1; }
        apt_updated=1
    fi
    if $SUDO apt-get install -y -qq --no-install-recommends "$@" >"$dir/apt.log" 2>&1; then
        return 0
    fi
    if grep -q 'Unable to locate package\|has no installation candidate' "$dir/apt.log"; then
        cat "$dir/apt.log"
        return 3
    fi
    echo "console.sh: apt-get install $* failed:" >&2
    cat "$dir/apt.log" >&2
    exit 1
}

if [ ! -x /usr/bin/chromium ]; then
    echo "console.sh: installing chromium"
    apt_install chromium || skip "Debian has no chromium package here"
fi
# Fonts for the screenshots' Chinese and emoji; the assertions do not need
# them, so failing to install them only says so.
for font in fonts-noto-cjk fonts-noto-color-emoji; do
    if ! dpkg-query -W -f='${Status}' "$font" 2>/dev/null | grep -q "install ok installed"; then
        (apt_install "$font") || echo "console.sh: no $font; some characters may show as boxes in the screenshots"
    fi
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "console.sh: installing nodejs and npm"
    apt_install nodejs npm || skip "Debian has no nodejs/npm package here"
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
    echo "console.sh: npm install (playwright-core)"
    if ! (cd "$here" && npm install --no-audit --no-fund) >"$dir/npm.log" 2>&1; then
        if grep -q 'E404\|404 Not Found' "$dir/npm.log"; then
            cat "$dir/npm.log"
            skip "npm has no playwright-core at the pinned version"
        fi
        echo "console.sh: npm install failed:" >&2
        cat "$dir/npm.log" >&2
        exit 1
    fi
fi

"$QINGLANG" keys add console --keys "$dir/keys" > "$dir/console.apikey"
cat > "$dir/config.yaml" <<'YAML'
listen: 127.0.0.1:8080
threads: 2
timeout: 10
keys: keys
access_log: access.log
YAML

started=$(date +%s)
: > "$dir/stderr"
"$QINGLANG" serve --config "$dir/config.yaml" --listen 127.0.0.1:0 2> "$dir/stderr" &
pid=$!
i=0
while ! grep -q '^listening on ' "$dir/stderr"; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "console.sh: the server did not start" >&2
        cat "$dir/stderr" >&2
        exit 1
    fi
    sleep 0.1
done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/stderr")
echo "console.sh: server pid $pid on port $port"

rm -rf "$artifacts"
mkdir -p "$artifacts" "$dir/profile"
QL_CONSOLE_URL="http://127.0.0.1:$port" QL_CONSOLE_KEY=$(cat "$dir/console.apikey") \
QL_CONSOLE_PROFILE="$dir/profile" QL_CONSOLE_ARTIFACTS="$artifacts" \
    node "$here/test.mjs"

# The access log has paths and counts, never the text or the key.
if grep -q '13800138000\|11010519491231002X\|qlk_' "$dir/access.log"; then
    echo "console.sh: a value or the key reached the access log" >&2
    exit 1
fi
grep -q '"path":"/","status":200' "$dir/access.log" || { echo "console.sh: GET / not logged" >&2; exit 1; }

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
if grep -q 'ERROR: \(Leak\|Address\)Sanitizer\|runtime error' "$dir/stderr"; then
    echo "console.sh: sanitizer report:" >&2
    cat "$dir/stderr" >&2
    exit 1
fi
[ "$status" = 0 ] || { echo "console.sh: server exited $status" >&2; cat "$dir/stderr" >&2; exit 1; }
echo "console.sh: ok in $(($(date +%s) - started)) s (after installs); screenshots in $artifacts"
