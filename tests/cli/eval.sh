#!/bin/sh
# Precision/recall gate: generates the synthetic corpus of tests/eval/gen.py
# with a fixed seed and requires precision and recall of at least 0.99 from
# `qinglang scan` (tests/eval/score.py prints the per-type tables and the
# false positives / negatives with their context).
#
# Environment (set by CTest): QINGLANG = the binary, QL_SOURCE_DIR = the
# source tree.
set -u

: "${QINGLANG:?QINGLANG must name the qinglang binary}"
: "${QL_SOURCE_DIR:?QL_SOURCE_DIR must name the source tree}"

SEED=20261125
DOCS=300

if ! command -v python3 >/dev/null 2>&1; then
    echo "eval.sh: python3 is required" >&2
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qinglang-eval.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

python3 "$QL_SOURCE_DIR/tests/eval/gen.py" -n "$DOCS" --quiet "$SEED" "$tmp/corpus" || {
    echo "eval.sh: corpus generation failed" >&2
    exit 1
}

python3 "$QL_SOURCE_DIR/tests/eval/score.py" --qinglang "$QINGLANG" --dir "$tmp/corpus" \
    --min-precision 0.99 --min-recall 0.99
status=$?
exit "$status"
