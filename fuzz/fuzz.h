/*
 * fuzz.h — what every fuzz target and the replay driver share.
 *
 * Each fuzz/fuzz_NAME.c defines the libFuzzer entry point below and uses
 * only the public API (include/qinglang.h).  The same file links either
 * with libFuzzer (fuzz/build.sh) or with fuzz/replay.c, a plain main()
 * that feeds it the saved corpus as a regression test in `make test`.
 * A target reports a broken promise of the library with abort(), after a
 * line on stderr saying which promise: both drivers then stop with a
 * stack trace (ASan prints one on abort).
 */
#ifndef QL_FUZZ_H
#define QL_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The date every target scans "as of", so that findings never depend on
 * the day a crash is replayed (ID birth dates, `minor`). */
#define QL_FUZZ_TODAY 20250601

#endif
