#!/bin/sh
# The fuzzers' corpora as regression tests (SQLite's fuzzcheck): every file
# of fuzz/corpus/NAME/ goes through the fuzz target fuzz/fuzz_NAME.c, linked
# with fuzz/replay.c instead of libFuzzer, under the sanitizers of the
# build.  A target checks the library's promises itself (stream equals
# whole scan, redaction independent of the cut, diagnostics complete ...)
# and aborts when one is broken, so any failure here is a bug.
#
# fuzz/crashes/NAME-*.bin are the reproducers of bugs the fuzzers found.
# Each is replayed on its own: one that still fails is listed with a loud
# warning but does not fail this test (the bug is open, and known); one
# that passes is reported (fixed, or beyond this build's sanitizers), to
# be moved into fuzz/corpus/NAME/ once its bug is fixed.
#
# Environment (set by CTest): QL_SOURCE_DIR = the source tree,
# QL_BUILD_DIR = the build tree holding fuzz-replay-NAME.
set -eu

: "${QL_SOURCE_DIR:?QL_SOURCE_DIR must name the source tree}"
: "${QL_BUILD_DIR:?QL_BUILD_DIR must name the build tree}"
case $QL_SOURCE_DIR in /*) ;; *) QL_SOURCE_DIR=$PWD/$QL_SOURCE_DIR ;; esac
case $QL_BUILD_DIR in /*) ;; *) QL_BUILD_DIR=$PWD/$QL_BUILD_DIR ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/qinglang-fuzz-replay.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "fuzz-replay.sh: $*"; }
fail() {
    echo "fuzz-replay.sh: FAIL: $*" >&2
    exit 1
}

# The targets: every fuzz/fuzz_NAME.c.
TARGETS=""
for source in "$QL_SOURCE_DIR"/fuzz/fuzz_*.c; do
    [ -f "$source" ] || continue
    source=${source##*/fuzz_}
    TARGETS="$TARGETS ${source%.c}"
done
[ -n "$TARGETS" ] || fail "no fuzz/fuzz_*.c in $QL_SOURCE_DIR"
# One replay of a whole corpus under ASan takes a few seconds; a minute
# means something hangs.
LIMIT=60

# Until CMakeLists.txt builds the replay binaries there is nothing to run;
# once it does, a missing binary is an error.
if ! grep -q 'fuzz-replay-' "$QL_SOURCE_DIR/CMakeLists.txt"; then
    say "NOT RUN: CMakeLists.txt does not build fuzz-replay-NAME yet (fuzz/README.md)"
    exit 0
fi

# replay NAME OUT PATH...: runs fuzz-replay-NAME, stderr in OUT; returns
# non-zero on a failure (a non-zero status, or a sanitizer report).
replay() {
    binary=$QL_BUILD_DIR/fuzz-replay-$1
    out=$2
    shift 2
    rc=0
    timeout "$LIMIT" "$binary" "$@" >"$out" 2>&1 || rc=$?
    if [ "$rc" -eq 124 ]; then
        echo "(killed after $LIMIT s)" >>"$out"
    fi
    [ "$rc" -eq 0 ] && ! grep -q -e 'runtime error:' -e 'Sanitizer' "$out"
}

failures=0
for name in $TARGETS; do
    binary=$QL_BUILD_DIR/fuzz-replay-$name
    corpus=$QL_SOURCE_DIR/fuzz/corpus/$name
    [ -x "$binary" ] || fail "$binary is missing (build it: see fuzz/README.md)"
    [ -d "$corpus" ] || fail "$corpus is missing"
    count=$(find "$corpus" -type f | wc -l)
    [ "$count" -gt 0 ] || fail "$corpus is empty"
    if replay "$name" "$tmp/$name.err" -v "$corpus"; then
        say "$name: $count corpus files pass"
        continue
    fi
    # With -v the replay names each file before running it: the last name
    # is the culprit.  A leak is reported only at exit: -l checks after
    # every input and names the leaking ones.
    failures=$((failures + 1))
    if grep -q 'LeakSanitizer' "$tmp/$name.err"; then
        replay "$name" "$tmp/$name.err" -l "$corpus" || true
        culprit=$(sed -n 's/^replay: \(.*\) leaks (report above)$/\1/p' "$tmp/$name.err" |
                  head -n 1)
    else
        culprit=$(grep '^replay: .* bytes)$' "$tmp/$name.err" | tail -n 1 |
                  sed 's/^replay: \(.*\) ([0-9]* bytes)$/\1/')
    fi
    echo "fuzz-replay.sh: FAIL: $name: ${culprit#"$QL_SOURCE_DIR"/} (reproduce:" \
         "$binary $culprit):" >&2
    grep -v '^replay: .* bytes)$' "$tmp/$name.err" | head -c 3000 >&2
    echo >&2
    if [ -n "$culprit" ] && replay "$name" "$tmp/one.err" "$culprit"; then
        echo "fuzz-replay.sh: FAIL: $name: ... but it passes alone: state leaks from" \
             "one input to the next (itself a bug)" >&2
    fi
done

# Known bugs: loud, but not a failure of this test.
open_bugs=0
for file in "$QL_SOURCE_DIR"/fuzz/crashes/*; do
    [ -f "$file" ] || continue
    base=${file##*/}
    name=${base%%-*}
    case " $TARGETS " in
        *" $name "*) ;;
        *) continue ;;   # README.md and anything not named after a target
    esac
    if replay "$name" "$tmp/crash.err" "$file"; then
        # Fixed, or a check this build's sanitizers do not make (some
        # UBSan checks are clang's only): fuzz/crashes/README.md says.
        say "passes here: fuzz/crashes/$base (fixed? see fuzz/crashes/README.md;" \
            "once fixed, move it into fuzz/corpus/$name/)"
    else
        open_bugs=$((open_bugs + 1))
        echo "fuzz-replay.sh: WARNING: OPEN BUG: fuzz/crashes/$base still fails:" >&2
        if ! grep -m 3 -e 'runtime error' -e 'ERROR: ' -e 'broken promise' -e 'leak of' \
                  "$tmp/crash.err" >&2; then
            head -c 600 "$tmp/crash.err" >&2
            echo >&2
        fi
    fi
done
if [ "$open_bugs" -gt 0 ]; then
    echo "fuzz-replay.sh: WARNING: ************************************************" >&2
    echo "fuzz-replay.sh: WARNING: $open_bugs crash reproducer(s) in fuzz/crashes/ still fail" >&2
    echo "fuzz-replay.sh: WARNING: (fuzz/crashes/README.md describes each bug)" >&2
    echo "fuzz-replay.sh: WARNING: ************************************************" >&2
fi

[ "$failures" -eq 0 ] || fail "$failures corpus file(s) fail"
say "all corpora pass"
