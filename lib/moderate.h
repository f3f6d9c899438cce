/*
 * moderate.h — tables generated at build time for lib/moderate.c.
 *
 * scripts/gen-moderate-tables.py writes them from Debian's OpenCC and
 * Unihan data (docs/moderate.md says why these sources).
 */
#ifndef QL_MODERATE_H
#define QL_MODERATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ql__cp_pair {
    uint32_t from;
    uint32_t to;
} ql__cp_pair;

/* Traditional -> simplified, one character to one, sorted by `from`. */
extern const ql__cp_pair ql__t2s[];
extern const size_t      ql__t2s_count;

/* Toneless pinyin of a character (its first kMandarin reading): `to` is
 * an offset into ql__pinyin_pool (NUL-terminated strings). Sorted. */
extern const char        ql__pinyin_pool[];
extern const ql__cp_pair ql__pinyin[];
extern const size_t      ql__pinyin_count;

/* English words (sorted, lower case) that a generated pinyin form must not
 * be: the ones made only of pinyin syllables, and all of six letters or
 * fewer (initials). */
extern const char *const ql__english[];
extern const size_t      ql__english_count;

/* For tests: the folded form of one character, whether it is noise. */
uint32_t ql__moderate_fold(uint32_t cp, int *noise);

#endif
