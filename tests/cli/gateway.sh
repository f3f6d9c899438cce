#!/bin/sh
# The LLM gateway (docs/gateway.md) end to end: the official `openai` npm
# client -> `qinglang serve`'s gateway -> a stub upstream the test starts
# (tests/gateway/e2e.mjs), then the injection corpus's detection and
# false-positive rates (tests/gateway/injection/score.mjs).
#
# npm's openai package (pinned in tests/gateway/package.json) is installed
# into tests/gateway/node_modules when missing; when npm says there is no
# such package the test is skipped with a message, any other failure to
# install fails it.
set -eu
: "${QINGLANG:?}" "${QL_SOURCE_DIR:?}"
here="$QL_SOURCE_DIR/tests/gateway"
log=$(mktemp)
trap 'rm -f "$log"' EXIT INT TERM

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "gateway.sh: skipped: no node/npm (see tests/cli/console.sh for installing them)"
    exit 0
fi
if [ ! -f "$here/node_modules/openai/package.json" ]; then
    echo "gateway.sh: npm ci (openai)"
    if ! (cd "$here" && npm ci --no-audit --no-fund) >"$log" 2>&1; then
        if grep -q 'E404\|404 Not Found' "$log"; then
            cat "$log"
            echo "gateway.sh: skipped: npm has no openai at the pinned version"
            exit 0
        fi
        echo "gateway.sh: npm ci failed:" >&2
        cat "$log" >&2
        exit 1
    fi
fi

node "$here/e2e.mjs"
node "$here/injection/score.mjs" --check
