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

/* Character classes of the folded view (lib/moderate.c fold_compute). */
enum {
    C_NOISE = 1,   /* skipped between the characters of a word */
    C_WORD  = 2,   /* Latin letter or digit after folding: whole-word rules */
    C_DIGIT = 4,
    C_LEET  = 8,   /* '@' and '$': noise, or a letter right after letters */
    C_CJK   = 16,
    C_UNDERSCORE = 32, /* noise, but joins words ("tmd_id" is one word) */
    C_CLAUSE = 64      /* noise that ends a clause: ，。；：？！、 and line breaks */
};

#define FOLD_CP(e)    ((e) & 0x1FFFFFu)
#define FOLD_CLASS(e) ((e) >> 24)

/* The fold table of the BMP, filled on first use, and the entry of any
 * code point (above the BMP computed); lib/moderate.c. */
const uint32_t *ql__fold_table(void);
uint32_t        ql__fold_entry(uint32_t cp);

/* For tests: the folded form of one character, whether it is noise. */
uint32_t ql__moderate_fold(uint32_t cp, int *noise);

#endif
