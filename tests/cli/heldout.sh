#!/bin/sh
# Precision and recall on the hand-written documents in tests/cases/heldout
# (written independently of tests/eval/gen.py's templates): >= 0.99 each.
set -eu
: "${QINGLANG:?}" "${QL_SOURCE_DIR:?}"
echo "heldout: scoring $QL_SOURCE_DIR/tests/cases/heldout"
exec python3 "$QL_SOURCE_DIR/tests/eval/score.py" --qinglang "$QINGLANG" \
    --dir "$QL_SOURCE_DIR/tests/cases/heldout" --min-precision 0.99 --min-recall 0.99
