#!/bin/sh
# Builds the libFuzzer targets: fuzz/fuzz_NAME.c -> $OUT/fuzz_NAME.
#
#     sh fuzz/build.sh [OUT]          # default OUT: /tmp/qinglang-fuzz
#
# libFuzzer needs the library itself instrumented for coverage
# (-fsanitize=fuzzer-no-link), which only clang does: build-asan/ (gcc)
# would link but leave the fuzzer blind inside lib/.  So the library is
# compiled here with clang, ASan and UBSan, straight from lib/*.c plus the
# embedded rule packs (scripts/embed-rules.cmake), without the project's
# -Werror (clang warns about things gcc does not; that is not the
# fuzzer's business).  Needs clang (Debian's clang-14 ships libFuzzer),
# cmake (for the rule embedding) and the library's pkg-config packages.
#
# EXTRA_CFLAGS is added to every compilation; fuzz/README.md shows how to
# keep fuzzing past a known, still open UBSan report with it.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-/tmp/qinglang-fuzz}
case $OUT in /*) ;; *) OUT=$PWD/$OUT ;; esac
CC=${CC:-clang}
JOBS=${JOBS:-2}
mkdir -p "$OUT/obj"

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Wno-unused-parameter $SAN ${EXTRA_CFLAGS:-}"
LIBS="$(pkg-config --libs libhs libpcre2-8 yaml-0.1 libcrypto sqlite3 libutf8proc) -lpthread -lm -lstdc++"

# The built-in rule packs, as the CMake build embeds them.
files=""
for rule_file in "$ROOT"/rules/*.yaml; do      # the shell sorts the glob
    files="$files${files:+|}$rule_file"
done
cmake -DOUT="$OUT/obj/rules_builtin.c" "-DFILES=$files" -P "$ROOT/scripts/embed-rules.cmake"
# The moderation lexicons and the gateway's rules, and the moderation
# engine's character tables (OpenCC, Unihan), as CMakeLists.txt makes them.
for pack in lexicon gateway; do
    files=""
    for f in "$ROOT"/rules/${pack}s/*.yaml "$ROOT"/rules/$pack/*.yaml; do
        [ -f "$f" ] && files="$files${files:+|}$f"
    done
    cmake -DOUT="$OUT/obj/${pack}_builtin.c" "-DFILES=$files" -DNAME=ql__$pack \
        -P "$ROOT/scripts/embed-rules.cmake"
done
[ -f "$OUT/obj/moderate_tables.c" ] ||
    python3 "$ROOT/scripts/gen-moderate-tables.py" "$(command -v opencc)" "$OUT/obj/moderate_tables.c"

# The library, instrumented for coverage.  Objects are rebuilt when their
# source is newer (a header change: delete $OUT/obj).
objects=""
pids=""
for src in "$ROOT"/lib/*.c "$OUT/obj/rules_builtin.c" "$OUT/obj/lexicon_builtin.c" \
           "$OUT/obj/gateway_builtin.c" "$OUT/obj/moderate_tables.c"; do
    name=$(basename "$src" .c)
    obj="$OUT/obj/$name.o"
    objects="$objects $obj"
    if [ ! -f "$obj" ] || [ -n "$(find "$src" -newer "$obj")" ]; then
        # shellcheck disable=SC2086  # flags split on purpose
        $CC $CFLAGS -fsanitize=fuzzer-no-link -I"$ROOT/include" -I"$ROOT/lib" \
            $(pkg-config --cflags libutf8proc) -c "$src" -o "$obj" &
        pids="$pids $!"
        # At most $JOBS compilers at once.
        # shellcheck disable=SC2086  # one word per pid
        set -- $pids
        if [ $# -ge "$JOBS" ]; then
            wait "$1" || exit 1
            shift
            pids="$*"
        fi
    fi
done
for pid in $pids; do
    wait "$pid" || exit 1
done
# The built-in moderation model, trained as the CMake build trains it:
# tools/model-gen linked with the library and no model, on the data
# scripts/model-data.py gathers.
rm -f "$OUT/libqinglang-fuzz.a"
# shellcheck disable=SC2086
ar rcs "$OUT/libqinglang-fuzz.a" $objects
if [ ! -f "$OUT/obj/model_builtin.o" ] || [ -n "$(find "$ROOT/data/moderate" "$ROOT/lib" -newer "$OUT/obj/model_builtin.o")" ]; then
    python3 "$ROOT/scripts/model-data.py" --root "$ROOT" "$OUT/obj/model-train.tsv"
    # shellcheck disable=SC2086
    $CC $CFLAGS -I"$ROOT/include" "$ROOT/tools/model-gen.c" "$ROOT/tools/model-none.c" \
        "$OUT/libqinglang-fuzz.a" $LIBS -o "$OUT/obj/model-gen"
    bits=$(sed -n 's/^set(QL_MODEL_BITS \([0-9]*\))/\1/p' "$ROOT/CMakeLists.txt")
    epochs=$(sed -n 's/^set(QL_MODEL_EPOCHS \([0-9]*\))/\1/p' "$ROOT/CMakeLists.txt")
    threshold=$(sed -n 's/^set(QL_MODEL_THRESHOLD \([0-9.]*\))/\1/p' "$ROOT/CMakeLists.txt")
    "$OUT/obj/model-gen" "$bits" "$epochs" "$threshold" "$OUT/obj/model_builtin.c" "$OUT/obj/model-train.tsv"
    $CC $CFLAGS -c "$OUT/obj/model_builtin.c" -o "$OUT/obj/model_builtin.o"
fi
# shellcheck disable=SC2086
ar rcs "$OUT/libqinglang-fuzz.a" "$OUT/obj/model_builtin.o"

for target in "$ROOT"/fuzz/fuzz_*.c; do
    name=$(basename "$target" .c)
    # shellcheck disable=SC2086
    $CC $CFLAGS -fsanitize=fuzzer -I"$ROOT/include" "$target" \
        "$OUT/libqinglang-fuzz.a" $LIBS -o "$OUT/$name"
    echo "built $OUT/$name"
done
