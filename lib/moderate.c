/*
 * moderate.c — harmful-content lexicons over a normalised view of the
 * text, doxxing, and a pass / review / block decision per message.
 *
 * The pieces (docs/moderate.md has the whole story):
 *
 *   fold table   every BMP code point -> its folded form (NFKC + case fold
 *                through utf8proc, marks dropped, Cyrillic/Greek
 *                look-alikes, OpenCC traditional -> simplified) and a
 *                class: noise, word character, digit.
 *   view         the message as a sequence of *runs*: maximal repeats of
 *                one folded character, noise skipped between them (up to
 *                QL__MOD_MAX_GAP noise characters; more breaks the view).
 *                Each run keeps the original bytes it came from, so a hit
 *                reports the original span.
 *   index        every lexicon word, compiled into runs the same way, is
 *                indexed by its last runs (two for Chinese, six for Latin
 *                endings, fewer for shorter words); small filters that
 *                stay in cache (end characters, a Bloom filter of the
 *                last two characters, one of Latin endings) and a bitmap
 *                in front of the hash table reject most positions.  Words are checked backwards from
 *                the run that just closed, so every word ending there is
 *                found, whatever partial matches overlap it.
 *   finish       allow-list phrases, containment, co-occurrence, doxxing
 *                (lexicon exposure words + the PII engine's findings), the
 *                scores and the decision.
 *
 * Input arrives whole or in chunks cut anywhere: the state between chunks
 * is the open run, the ring of recent runs and at most three bytes of an
 * unfinished UTF-8 sequence, so the hits are the same.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>
#include <yaml.h>

#include "builtin.h"
#include "internal.h"
#include "moderate.h"
#include "modmodel.h"

#define QL__MOD_MAX_GAP    8u      /* noise characters allowed inside a word */
#define QL__MOD_MAX_REV    512u    /* characters of right-to-left overrides also viewed reversed */
#define QL__MOD_RING       64u     /* runs remembered; a word has fewer */
#define QL__MOD_MAX_RUNS   48u     /* runs in one word */
#define QL__MOD_MAX_WORD   256u    /* bytes in one word */
#define QL__MOD_MAX_WORDS  4000000u
#define QL__MOD_MAX_PARTS  8u      /* words of one co-occurrence rule */
#define QL__MOD_MAX_HITS   (1u << 24)

/* The classes (C_NOISE, C_CJK, ...) and FOLD_CP / FOLD_CLASS are in
 * moderate.h: the model (modmodel.c) folds text the same way. */

static uint32_t        g_fold[0x10000];
/* Chinese characters that fold to themselves (all but the traditional
 * ones), a bit each: 3.4 KB that stay in L1 where the 84 KB of g_fold
 * they stand for would miss (docs/bench.md, "Moderation"). */
#define CJK_PLAIN_LO 0x3400u
#define CJK_PLAIN_HI 0xA000u
static uint64_t        g_cjk_plain[(CJK_PLAIN_HI - CJK_PLAIN_LO) / 64];
static pthread_once_t  g_fold_once = PTHREAD_ONCE_INIT;

/* Look-alikes of Latin letters that NFKC leaves alone, by the code point
 * before case folding (capital Greek Eta looks like H, small eta like n):
 * Greek, Cyrillic and Armenian letters, IPA letters, the small capitals
 * of "fancy text" generators (ꜱʜɪᴛ), and the letters of Cherokee, Lisu,
 * Coptic, Canadian syllabics, Tifinagh and runes that Unicode's
 * confusables (UTS #39) give a Latin letter for (Ꮯasino).  Small eta
 * and Cyrillic pe are n (роrп, ηude); mu stays Greek, the unit prefix is
 * everywhere in technical text. */
static const ql__cp_pair lookalikes[] = {
    {0x0131, 'i'}, {0x0251, 'a'}, {0x0261, 'g'}, {0x0262, 'g'}, {0x0269, 'i'},
    {0x026A, 'i'}, {0x0274, 'n'}, {0x0280, 'r'}, {0x028F, 'y'}, {0x0299, 'b'},
    {0x029C, 'h'}, {0x029F, 'l'}, {0x037F, 'j'}, {0x0391, 'a'}, {0x0392, 'b'},
    {0x0395, 'e'}, {0x0396, 'z'}, {0x0397, 'h'}, {0x0399, 'i'}, {0x039A, 'k'},
    {0x039C, 'm'}, {0x039D, 'n'}, {0x039F, 'o'}, {0x03A1, 'p'}, {0x03A4, 't'},
    {0x03A5, 'y'}, {0x03A7, 'x'}, {0x03B1, 'a'}, {0x03B3, 'y'}, {0x03B5, 'e'},
    {0x03B7, 'n'}, {0x03B9, 'i'}, {0x03BA, 'k'}, {0x03BD, 'v'}, {0x03BF, 'o'},
    {0x03C1, 'p'}, {0x03C4, 't'}, {0x03C5, 'u'}, {0x03C7, 'x'}, {0x03C9, 'w'},
    {0x03F2, 'c'}, {0x03F3, 'j'}, {0x03F9, 'c'}, {0x0405, 's'}, {0x0406, 'i'},
    {0x0408, 'j'}, {0x0410, 'a'}, {0x0412, 'b'}, {0x0415, 'e'}, {0x041A, 'k'},
    {0x041C, 'm'}, {0x041D, 'h'}, {0x041E, 'o'}, {0x0420, 'p'}, {0x0421, 'c'},
    {0x0422, 't'}, {0x0423, 'y'}, {0x0425, 'x'}, {0x0430, 'a'}, {0x0435, 'e'},
    {0x043A, 'k'}, {0x043E, 'o'}, {0x043F, 'n'}, {0x0440, 'p'}, {0x0441, 'c'},
    {0x0443, 'y'}, {0x0445, 'x'}, {0x0455, 's'}, {0x0456, 'i'}, {0x0458, 'j'},
    {0x04AE, 'y'}, {0x04AF, 'y'}, {0x04BB, 'h'}, {0x04C0, 'i'}, {0x04CF, 'i'},
    {0x0500, 'd'}, {0x0501, 'd'}, {0x051A, 'q'}, {0x051B, 'q'}, {0x051C, 'w'},
    {0x051D, 'w'}, {0x0566, 'q'}, {0x0570, 'h'}, {0x0578, 'n'}, {0x057D, 'u'},
    {0x0581, 'g'}, {0x0585, 'o'}, {0x13A0, 'd'}, {0x13A1, 'r'}, {0x13A2, 't'},
    {0x13A5, 'i'}, {0x13A9, 'y'}, {0x13AA, 'a'}, {0x13AB, 'j'}, {0x13AC, 'e'},
    {0x13B3, 'w'}, {0x13B7, 'm'}, {0x13BB, 'h'}, {0x13BD, 'y'}, {0x13C0, 'g'},
    {0x13C2, 'h'}, {0x13C3, 'z'}, {0x13CF, 'b'}, {0x13D2, 'r'}, {0x13D4, 'w'},
    {0x13D5, 's'}, {0x13D9, 'v'}, {0x13DA, 's'}, {0x13DE, 'l'}, {0x13DF, 'c'},
    {0x13E2, 'p'}, {0x13E6, 'k'}, {0x13E7, 'd'}, {0x13F3, 'g'}, {0x13F4, 'b'},
    {0x142F, 'v'}, {0x144C, 'u'}, {0x146D, 'p'}, {0x146F, 'd'}, {0x1472, 'b'},
    {0x148D, 'j'}, {0x14AA, 'l'}, {0x157C, 'h'}, {0x1587, 'r'}, {0x15AF, 'b'},
    {0x15B4, 'f'}, {0x15C5, 'a'}, {0x15DE, 'd'}, {0x15EA, 'd'}, {0x15F0, 'm'},
    {0x15F7, 'b'}, {0x16B7, 'x'}, {0x16D5, 'k'}, {0x16D6, 'm'}, {0x1D00, 'a'},
    {0x1D04, 'c'}, {0x1D05, 'd'}, {0x1D07, 'e'}, {0x1D0A, 'j'}, {0x1D0B, 'k'},
    {0x1D0D, 'm'}, {0x1D0F, 'o'}, {0x1D18, 'p'}, {0x1D1B, 't'}, {0x1D1C, 'u'},
    {0x1D20, 'v'}, {0x1D21, 'w'}, {0x1D22, 'z'}, {0x2C82, 'b'}, {0x2C8E, 'h'},
    {0x2C92, 'l'}, {0x2C93, 'i'}, {0x2C94, 'k'}, {0x2C98, 'm'}, {0x2C9A, 'n'},
    {0x2C9E, 'o'}, {0x2C9F, 'o'}, {0x2CA2, 'p'}, {0x2CA3, 'p'}, {0x2CA4, 'c'},
    {0x2CA5, 'c'}, {0x2CA6, 't'}, {0x2CA8, 'y'}, {0x2CA9, 'y'}, {0x2CAC, 'x'},
    {0x2D38, 'v'}, {0x2D39, 'e'}, {0x2D54, 'o'}, {0x2D55, 'q'}, {0x2D5D, 'x'},
    {0xA4D0, 'b'}, {0xA4D1, 'p'}, {0xA4D2, 'd'}, {0xA4D3, 'd'}, {0xA4D4, 't'},
    {0xA4D6, 'g'}, {0xA4D7, 'k'}, {0xA4D9, 'j'}, {0xA4DA, 'c'}, {0xA4DC, 'z'},
    {0xA4DD, 'f'}, {0xA4DF, 'm'}, {0xA4E0, 'n'}, {0xA4E1, 'l'}, {0xA4E2, 's'},
    {0xA4E3, 'r'}, {0xA4E6, 'v'}, {0xA4E7, 'h'}, {0xA4EA, 'w'}, {0xA4EB, 'x'},
    {0xA4EC, 'y'}, {0xA4EE, 'a'}, {0xA4F0, 'e'}, {0xA4F2, 'l'}, {0xA4F3, 'o'},
    {0xA4F4, 'u'}, {0xA730, 'f'}, {0xA731, 's'}, {0xA7AF, 'q'}, {0xAB75, 'i'},
    {0xAB81, 'r'}, {0xAB83, 'w'}, {0xAB93, 'z'}, {0xABA9, 'v'}, {0xABAA, 's'},
    {0xABAF, 'c'},
};

static uint32_t pair_lookup(const ql__cp_pair *t, size_t n, uint32_t cp, int *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t[mid].from < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && t[lo].from == cp) {
        *found = 1;
        return t[lo].to;
    }
    *found = 0;
    return 0;
}

static int is_noise_category(utf8proc_category_t c)
{
    switch (c) {
    case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: case UTF8PROC_CATEGORY_SM: case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK: case UTF8PROC_CATEGORY_SO: case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CS: case UTF8PROC_CATEGORY_CO:
        return 1;
    default:
        return 0;
    }
}

static int is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3134F);
}

/* Whether a symbol is a styled letter or digit (ⓢ, 🄰): its compatibility
 * decomposition is one letter or digit. */
static int compat_letter(uint32_t cp)
{
    utf8proc_int32_t buf[4];
    int last = 0;
    utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, buf, 4,
                                                 UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE, &last);
    if (n < 1 || n > 4 || (n == 1 && buf[0] == (utf8proc_int32_t)cp))
        return 0;
    int letters = 0;
    for (utf8proc_ssize_t i = 0; i < n; i++) {
        utf8proc_category_t c = utf8proc_category(buf[i]);
        if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_ND)
            letters++;
        else if (!is_noise_category(c))
            return 0;
    }
    return letters == 1;
}

/* Enclosed letters Unicode gives no decomposition: negative circled and
 * squared capitals (🅐, 🅰), regional indicators (🇦). */
static uint32_t enclosed_letter(uint32_t cp)
{
    if (cp >= 0x1F150 && cp <= 0x1F169)
        return 'a' + (cp - 0x1F150);
    if (cp >= 0x1F170 && cp <= 0x1F189)
        return 'a' + (cp - 0x1F170);
    if (cp >= 0x1F1E6 && cp <= 0x1F1FF)
        return 'a' + (cp - 0x1F1E6);
    return 0;
}

/* The folded form and class of one code point (the table is made of it;
 * code points above the BMP come here directly). */
static uint32_t fold_compute(uint32_t cp)
{
    /* Invisible letters: Hangul fillers, braille blank. */
    if (cp == 0x115F || cp == 0x1160 || cp == 0x3164 || cp == 0xFFA0 || cp == 0x2800 ||
        (cp >= 0xE0000 && cp <= 0xE0FFF))
        return cp | (uint32_t)C_NOISE << 24;
    if (cp == '@' || cp == '$')
        return cp | (uint32_t)(C_NOISE | C_LEET) << 24;
    if (cp == '_' || cp == '\'' || cp == 0x2019)   /* tmd_id, Let's, it’s */
        return cp | (uint32_t)(C_NOISE | C_UNDERSCORE) << 24;
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return cp | (uint32_t)C_NOISE << 24;
    if (enclosed_letter(cp))
        return enclosed_letter(cp) | (uint32_t)C_WORD << 24;
    utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)cp);
    /* Number glyphs (① ⑴ ⒈ ²) are decoration to a lexicon: as digits they
     * would glue a bullet to the word after it ("①sb"). */
    if (cat == UTF8PROC_CATEGORY_NO)
        return cp | (uint32_t)C_NOISE << 24;
    if (is_noise_category(cat) && !(cat == UTF8PROC_CATEGORY_SO && compat_letter(cp))) {
        static const uint32_t clause[] = {',', '.', ';', ':', '?', '!', '\n', '\r', 0x3001,
                                          0x3002, 0xFF0C, 0xFF0E, 0xFF1A, 0xFF1B, 0xFF1F,
                                          0xFF01, 0xFF61, 0xFF64, 0x2029, 0x2028};
        unsigned cls = C_NOISE;
        for (size_t i = 0; i < sizeof clause / sizeof *clause; i++)
            if (clause[i] == cp)
                cls |= C_CLAUSE;
        return cp | (uint32_t)cls << 24;
    }

    int found;
    uint32_t f = pair_lookup(lookalikes, sizeof lookalikes / sizeof *lookalikes, cp, &found);
    if (!found) {
        utf8proc_int32_t buf[18];
        int last = 0;
        utf8proc_ssize_t n = utf8proc_decompose_char((utf8proc_int32_t)cp, buf, 18,
                                 UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK |
                                 UTF8PROC_DECOMPOSE, &last);
        f = cp;
        if (n >= 1 && n <= 18) {
            /* Keep the one character that is not noise: "⑴" -> "1",
             * "⒈" -> "1", "é" -> "e"; more than one (ligatures, "㈱")
             * keeps the character as it is. */
            uint32_t keep = 0;
            int kept = 0;
            for (utf8proc_ssize_t i = 0; i < n; i++) {
                if (is_noise_category(utf8proc_category(buf[i])))
                    continue;
                keep = (uint32_t)buf[i];
                kept++;
            }
            if (kept == 1)
                f = keep;
        }
        /* A look-alike again after folding (a styled Cyrillic letter). */
        uint32_t g = pair_lookup(lookalikes, sizeof lookalikes / sizeof *lookalikes, f, &found);
        if (found)
            f = g;
    }
    if (f >= 'A' && f <= 'Z')
        f += 'a' - 'A';
    uint32_t s = pair_lookup(ql__t2s, ql__t2s_count, f, &found);
    if (found)
        f = s;
    unsigned cls = 0;
    if ((f >= 'a' && f <= 'z') || (f >= '0' && f <= '9'))
        cls |= C_WORD;
    if (f >= '0' && f <= '9')
        cls |= C_DIGIT;
    if (is_cjk(f))
        cls |= C_CJK;
    return (f & 0x1FFFFFu) | (uint32_t)cls << 24;
}

static void fold_init(void)
{
    for (uint32_t cp = 0; cp < 0x10000; cp++)
        g_fold[cp] = fold_compute(cp);
    for (uint32_t cp = CJK_PLAIN_LO; cp < CJK_PLAIN_HI; cp++)
        if (g_fold[cp] == (cp | ((uint32_t)C_CJK << 24)))
            g_cjk_plain[(cp - CJK_PLAIN_LO) >> 6] |= 1ull << ((cp - CJK_PLAIN_LO) & 63);
}

static inline uint32_t fold(uint32_t cp)
{
    return cp < 0x10000 ? g_fold[cp] : fold_compute(cp);
}

/* The key class: letters as leet spelling sees them (sh1t, a55), i and l
 * together.  Matching checks the exact characters afterwards. */
static inline uint32_t keyclass(uint32_t cp)
{
    if (cp < 128) {
        static const char leet[128] = {
            ['0'] = 'o', ['1'] = 'i', ['3'] = 'e', ['4'] = 'a', ['5'] = 's',
            ['7'] = 't', ['8'] = 'b', ['@'] = 'a', ['$'] = 's', ['l'] = 'i',
        };
        if (leet[cp])
            return (uint32_t)leet[cp];
    }
    return cp;
}

/* Whether text character `t` may stand for word character `w`. */
static inline int char_matches(uint32_t t, uint32_t w)
{
    if (t == w)
        return 1;
    switch (t) {
    case '0': return w == 'o';
    case '1': return w == 'i' || w == 'l';
    case '3': return w == 'e';
    case '4': case '@': return w == 'a';
    case '5': case '$': return w == 's';
    case '7': return w == 't';
    case '8': return w == 'b';
    default: return 0;
    }
}

/* ------------------------------------------------------------- UTF-8 */

/* Decodes one character at p (n bytes available).  Returns its length, or
 * 0 when the sequence is cut by the end of the buffer (more may come), or
 * -1 for an invalid byte (one byte is consumed as noise). */
static inline int utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    int len;
    uint32_t c, min;
    if (b >= 0xC2 && b <= 0xDF) { len = 2; c = b & 0x1F; min = 0x80; }
    else if (b >= 0xE0 && b <= 0xEF) { len = 3; c = b & 0x0F; min = 0x800; }
    else if (b >= 0xF0 && b <= 0xF4) { len = 4; c = b & 0x07; min = 0x10000; }
    else return -1;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return 0;
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *cp = c;
    return len;
}

/* ------------------------------------------------------------ lexicon */

typedef enum role {
    ROLE_TERM = 0,    /* scores by itself */
    ROLE_EXPOSURE,    /* doxxing: exposure / mobilisation word */
    ROLE_SELF,        /* doxxing: self-disclosure */
} role;

typedef enum wkind {
    W_TERM = 0,       /* a word of a rule */
    W_ALLOW,          /* an allow-list phrase of a rule */
    W_PART            /* a word of a co-occurrence rule */
} wkind;

typedef enum wform {
    F_TEXT = 0,
    F_PINYIN,
    F_INITIALS
} wform;

static const char *const form_names[] = {"text", "pinyin", "initials"};

typedef struct mrule {
    char       *id;
    char       *category;
    char       *description;
    char       *source;
    ql_severity severity;
    int         signal;        /* severity: signal (weight 0 alone) */
    role        role;
    int         pinyin;        /* 0 none, 1 full, 2 full + initials */
    uint32_t    within;        /* co-occurrence: characters; 0 = not one */
    unsigned    parts;
    int         has_allow;
    unsigned    category_index;
} mrule;

typedef struct mrun {
    uint32_t cp;
    uint32_t count;
    uint32_t gap;              /* the word has a space or other noise before this run */
} mrun;

typedef struct mword {
    uint32_t rule;
    uint32_t run_off;
    uint32_t text_off;         /* display string in the string pool */
    uint16_t nruns;
    uint8_t  kind;             /* wkind */
    uint8_t  form;             /* wform */
    uint8_t  part;             /* co-occurrence part */
    uint8_t  latin_first;      /* needs a word boundary before */
    uint8_t  latin_last;       /* needs a word boundary after */
} mword;

typedef struct mthreshold {
    char  *category;           /* NULL = the default */
    double review, block;
} mthreshold;

/* A word as added, before compiling. */
typedef struct srcword {
    uint32_t rule;
    uint32_t text_off;
    uint8_t  kind;
    uint8_t  part;
} srcword;

struct ql_lexicon_compiler {
    ql_allocator allocator;
    ql__vec      rules;        /* mrule */
    ql__vec      words;        /* srcword */
    ql__vec      pool;         /* char: NUL-terminated strings */
    ql__vec      thresholds;   /* mthreshold */
    ql__vec      diags;        /* ql_diagnostic */
    ql__vec      diag_strings; /* char *, owned */
    int          builtin_added;
    char        *list_category;
    ql_severity  list_severity;
};

typedef struct bucket {
    uint64_t key;
    uint32_t begin, count;
} bucket;

/* A word of a bucket, with the key class of its run just before the key
 * (SIG_NONE: the key is the whole word), so that most words of a bucket
 * are rejected against the ring without touching the word tables. */
typedef struct bid {
    uint32_t word;
    uint32_t sig;
} bid;

#define SIG_NONE UINT32_MAX

struct ql_lexicon {
    ql_allocator allocator;
    mrule     *rules;
    size_t     rule_count;
    mword     *words;
    size_t     word_count;
    mrun      *runs;
    size_t     run_count;
    char      *pool;
    size_t     pool_size;
    bid       *ids;            /* word ids grouped by key */
    bucket    *table;
    uint64_t   table_mask;
    int        table_shift;
    uint64_t  *bitmap;
    uint64_t   bitmap_mask;    /* in bits */
    char     **categories;
    size_t     category_count;
    double    *review, *block; /* per category */
    size_t     term_words;     /* words and phrases as written */
    unsigned   key_lengths;    /* bit k: some word's key has k runs */
    /* Bit per BMP key class: some one-run word is it (end1), some longer
     * word ends with it (endn).  8 KiB each, in L1: most characters end
     * no word, and are passed over without hashing. */
    uint64_t   end1[1024];
    uint64_t   endn[1024];
    /* The same kind of filter of the last two runs (two-run words) or
     * last three (longer words) of the words that may end in a Latin
     * letter or digit: a Latin word of the text that ends no word (most
     * of them: numbers, hex, English) costs a load, not its keys and
     * lookups. */
    uint64_t  *endl;
    unsigned   endl_bits;      /* log2 of the number of 64-bit words */
    /* For words whose key is their last two characters (c1 c0: all
     * words ending in Chinese): a blocked Bloom filter of the pairs, two
     * bits in one 64-bit word a pair, 16 to 32 bits a word.  It is small
     * (64 KiB for 20,000 words) so it stays in L2 where one line per
     * character (442 KiB) missed; most characters of the text end no
     * pair of the lexicon and stop here. */
    uint64_t  *pairs;
    unsigned   pair_bits;      /* log2 of the number of 64-bit words */
};

static inline uint64_t pair_hash(uint32_t c1, uint32_t c0)
{
    return (((uint64_t)c1 << 21) | c0) * 0x9E3779B97F4A7C15ull;
}

static inline uint64_t pair_mask(uint64_t h)
{
    return (1ull << ((h >> 20) & 63)) | (1ull << ((h >> 26) & 63));
}

static inline int pair_maybe(const uint64_t *pairs, unsigned bits, uint32_t c1, uint32_t c0)
{
    uint64_t h = pair_hash(c1, c0), want = pair_mask(h);
    return (pairs[h >> (64 - bits)] & want) == want;
}

static inline uint64_t endl_hash(uint32_t c0, uint32_t c1, uint32_t c2, unsigned three)
{
    return ((((uint64_t)c2 << 42) | ((uint64_t)c1 << 21) | c0) ^ ((uint64_t)three << 63)) *
           0xC2B2AE3D27D4EB4Full;
}

static inline int endl_maybe(const uint64_t *endl, unsigned bits, uint32_t c0, uint32_t c1,
                             uint32_t c2, unsigned three)
{
    uint64_t h = endl_hash(c0, c1, c2, three), want = pair_mask(h);
    return (endl[h >> (64 - bits)] & want) == want;
}

static inline int ends_word(const uint64_t *bits, uint32_t kc)
{
    return kc >= 0x10000 || (bits[kc >> 6] >> (kc & 63)) & 1;
}

static void diag_add(ql_lexicon_compiler *c, const char *file, unsigned line, unsigned col,
                     const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg ? arg : "");
    char *m = ql__strdup(&c->allocator, msg);
    char *f = ql__strdup(&c->allocator, file ? file : "<lexicon>");
    if (!m || !f) {
        ql__free(&c->allocator, m);
        ql__free(&c->allocator, f);
        return;
    }
    if (ql__vec_push(&c->allocator, &c->diag_strings, &m) != QL_OK) {
        ql__free(&c->allocator, m);
        ql__free(&c->allocator, f);
        return;
    }
    if (ql__vec_push(&c->allocator, &c->diag_strings, &f) != QL_OK) {
        ql__free(&c->allocator, f);
        return;
    }
    ql_diagnostic d = {f, line, col, m};
    (void)ql__vec_push(&c->allocator, &c->diags, &d);
}

ql_status ql_lexicon_compiler_create(const ql_allocator *allocator, ql_lexicon_compiler **out)
{
    if (!out)
        return QL_EINVAL;
    *out = NULL;
    ql_allocator a = {0};
    if (allocator)
        a = *allocator;
    ql_lexicon_compiler *c = ql__calloc(&a, 1, sizeof *c);
    if (!c)
        return QL_ENOMEM;
    c->allocator = a;
    ql__vec_init(&c->rules, sizeof(mrule), QL__MAX_RULES);
    ql__vec_init(&c->words, sizeof(srcword), QL__MOD_MAX_WORDS);
    ql__vec_init(&c->pool, 1, (size_t)1 << 30);
    ql__vec_init(&c->thresholds, sizeof(mthreshold), 4096);
    ql__vec_init(&c->diags, sizeof(ql_diagnostic), 1000);
    ql__vec_init(&c->diag_strings, sizeof(char *), 2000);
    c->list_severity = QL_SEVERITY_MEDIUM;
    pthread_once(&g_fold_once, fold_init);
    *out = c;
    return QL_OK;
}

static void rule_free(const ql_allocator *a, mrule *r)
{
    ql__free(a, r->id);
    ql__free(a, r->category);
    ql__free(a, r->description);
    ql__free(a, r->source);
}

void ql_lexicon_compiler_destroy(ql_lexicon_compiler *c)
{
    if (!c)
        return;
    const ql_allocator *a = &c->allocator;
    for (size_t i = 0; i < c->rules.count; i++)
        rule_free(a, &QL__VEC_AT(&c->rules, mrule, i));
    for (size_t i = 0; i < c->thresholds.count; i++)
        ql__free(a, QL__VEC_AT(&c->thresholds, mthreshold, i).category);
    for (size_t i = 0; i < c->diag_strings.count; i++)
        ql__free(a, QL__VEC_AT(&c->diag_strings, char *, i));
    ql__vec_free(a, &c->rules);
    ql__vec_free(a, &c->words);
    ql__vec_free(a, &c->pool);
    ql__vec_free(a, &c->thresholds);
    ql__vec_free(a, &c->diags);
    ql__vec_free(a, &c->diag_strings);
    ql__free(a, c->list_category);
    ql__free(a, c);
}

size_t ql_lexicon_compiler_diagnostic_count(const ql_lexicon_compiler *c)
{
    return c ? c->diags.count : 0;
}

const ql_diagnostic *ql_lexicon_compiler_diagnostic(const ql_lexicon_compiler *c, size_t i)
{
    if (!c || i >= c->diags.count)
        return NULL;
    return &QL__VEC_AT(&c->diags, ql_diagnostic, i);
}

static ql_status pool_add(ql_lexicon_compiler *c, const char *s, size_t n, uint32_t *off)
{
    if (c->pool.count + n + 1 > UINT32_MAX)
        return QL_ELIMIT;
    *off = (uint32_t)c->pool.count;
    ql_status st = ql__vec_reserve(&c->allocator, &c->pool, c->pool.count + n + 1);
    if (st != QL_OK)
        return st;
    memcpy((char *)c->pool.items + c->pool.count, s, n);
    ((char *)c->pool.items)[c->pool.count + n] = '\0';
    c->pool.count += n + 1;
    return QL_OK;
}

static const char *const category_names[] = {
    "harmful.cyber_violence", "harmful.doxxing", "harmful.gambling", "harmful.fraud",
    "harmful.porn", "harmful.illegal_lending", "harmful.drugs", "minors.inducement",
};

/* A category is a dotted lower-case name: the eight built-in ones or any
 * a user defines (custom.xxx). */
static int valid_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '.' || ch == '-'))
            return 0;
    }
    return 1;
}

static int severity_from(const char *s, ql_severity *out, int *signal)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    *signal = 0;
    if (strcmp(s, "signal") == 0) {
        *out = QL_SEVERITY_INFO;
        *signal = 1;
        return 1;
    }
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (ql_severity)i;
            return 1;
        }
    return 0;
}

/* FNV-1a of a string and a small integer: the key of the maps below. */
static uint64_t str_hash(const char *str, uint32_t extra)
{
    uint64_t h = 0xCBF29CE484222325ull ^ extra;
    for (const unsigned char *q = (const unsigned char *)str; *q; q++)
        h = (h ^ *q) * 0x100000001B3ull;
    return h ? h : 1;
}

/* ------------------------------------------------------- YAML parsing */

typedef struct yctx {
    ql_lexicon_compiler *c;
    const char *file;
    yaml_document_t *doc;
    int errors;
    int oom;
} yctx;

static void yerr(yctx *y, const yaml_node_t *n, const char *fmt, const char *arg)
{
    y->errors++;
    diag_add(y->c, y->file, n ? (unsigned)n->start_mark.line + 1 : 0,
             n ? (unsigned)n->start_mark.column + 1 : 0, fmt, arg);
}

static const char *yscalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static char *ydup(yctx *y, const yaml_node_t *n, const char *what)
{
    const char *s = yscalar(n);
    if (!s) {
        yerr(y, n, "%s must be a string", what);
        return NULL;
    }
    char *d = ql__strdup(&y->c->allocator, s);
    if (!d)
        y->oom = 1;
    return d;
}

static int check_word(yctx *y, const yaml_node_t *n, const char *s, size_t len)
{
    if (len == 0 || len > QL__MOD_MAX_WORD) {
        yerr(y, n, "a word must be 1 to 256 bytes%s", "");
        return 0;
    }
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int l = utf8_next((const uint8_t *)s + i, len - i, &cp);
        if (l <= 0) {
            yerr(y, n, "a word is not valid UTF-8%s", "");
            return 0;
        }
        i += (size_t)l;
    }
    return 1;
}

static void add_word(yctx *y, const yaml_node_t *n, uint32_t rule, wkind kind, unsigned part)
{
    const char *s = yscalar(n);
    if (!s) {
        yerr(y, n, "every word must be a string%s", "");
        return;
    }
    size_t len = n->data.scalar.length;
    if (!check_word(y, n, s, len))
        return;
    srcword w = {rule, 0, (uint8_t)kind, (uint8_t)part};
    ql_status st = pool_add(y->c, s, len, &w.text_off);
    if (st == QL_OK)
        st = ql__vec_push(&y->c->allocator, &y->c->words, &w);
    if (st == QL_ELIMIT)
        yerr(y, n, "too many words (the limit is 4,000,000)%s", "");
    else if (st != QL_OK)
        y->oom = 1;
}

static void add_word_list(yctx *y, yaml_node_t *n, uint32_t rule, wkind kind, const char *what)
{
    if (n->type == YAML_SCALAR_NODE) {
        add_word(y, n, rule, kind, 0);
        return;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        yerr(y, n, "%s must be a list of words", what);
        return;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         it < n->data.sequence.items.top && !y->oom; it++)
        add_word(y, yaml_document_get_node(y->doc, *it), rule, kind, 0);
}

static void parse_lex_rule(yctx *y, yaml_node_t *n)
{
    ql_lexicon_compiler *c = y->c;
    const ql_allocator *a = &c->allocator;
    if (!n || n->type != YAML_MAPPING_NODE) {
        yerr(y, n, "a rule must be a mapping (id, category, words...)%s", "");
        return;
    }
    mrule r;
    memset(&r, 0, sizeof r);
    r.severity = QL_SEVERITY_MEDIUM;
    r.pinyin = 1;
    yaml_node_t *words = NULL, *allow = NULL, *all = NULL;
    int errors_before = y->errors;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        const char *ks = yscalar(k);
        const char *vs = yscalar(v);
        if (!ks) {
            yerr(y, k, "rule keys must be strings%s", "");
        } else if (strcmp(ks, "id") == 0) {
            ql__free(a, r.id);
            r.id = ydup(y, v, "id");
            if (r.id && !valid_name(r.id, 128))
                yerr(y, v, "id '%s' must be 1-128 of a-z 0-9 _ . -", r.id);
        } else if (strcmp(ks, "category") == 0) {
            ql__free(a, r.category);
            r.category = ydup(y, v, "category");
            if (r.category && !valid_name(r.category, 64))
                yerr(y, v, "category '%s' must be 1-64 of a-z 0-9 _ . -", r.category);
        } else if (strcmp(ks, "description") == 0) {
            ql__free(a, r.description);
            r.description = ydup(y, v, "description");
        } else if (strcmp(ks, "severity") == 0) {
            if (!vs || !severity_from(vs, &r.severity, &r.signal))
                yerr(y, v, "severity must be low, medium, high, critical or signal%s", "");
        } else if (strcmp(ks, "role") == 0) {
            if (vs && strcmp(vs, "exposure") == 0)
                r.role = ROLE_EXPOSURE;
            else if (vs && strcmp(vs, "self") == 0)
                r.role = ROLE_SELF;
            else if (vs && strcmp(vs, "term") == 0)
                r.role = ROLE_TERM;
            else
                yerr(y, v, "role must be term, exposure or self%s", "");
        } else if (strcmp(ks, "pinyin") == 0) {
            if (vs && strcmp(vs, "none") == 0)
                r.pinyin = 0;
            else if (vs && strcmp(vs, "full") == 0)
                r.pinyin = 1;
            else if (vs && strcmp(vs, "initials") == 0)
                r.pinyin = 2;
            else
                yerr(y, v, "pinyin must be none, full or initials%s", "");
        } else if (strcmp(ks, "within") == 0) {
            char *end = NULL;
            long w = vs ? strtol(vs, &end, 10) : -1;
            if (!vs || *end || w < 1 || w > 10000)
                yerr(y, v, "within must be a number of characters from 1 to 10000%s", "");
            else
                r.within = (uint32_t)w;
        } else if (strcmp(ks, "words") == 0) {
            words = v;
        } else if (strcmp(ks, "allow") == 0) {
            allow = v;
        } else if (strcmp(ks, "all") == 0) {
            all = v;
        } else {
            yerr(y, k, "unknown rule key '%s' (expected id, category, severity, description, "
                       "role, pinyin, words, allow, all, within)", ks);
        }
    }
    if (!r.id)
        yerr(y, n, "rule has no id%s", "");
    if (!r.category)
        yerr(y, n, "rule has no category%s", "");
    if (!words && !all)
        yerr(y, n, "rule has neither words nor all (a co-occurrence)%s", "");
    if (words && all)
        yerr(y, n, "a rule has words or all, not both%s", "");
    if (all && !r.within)
        r.within = 30;
    if (!all && r.within)
        yerr(y, n, "within needs all%s", "");
    if (all && r.role != ROLE_TERM)
        yerr(y, n, "a co-occurrence rule cannot have a doxxing role%s", "");
    for (size_t i = 0; r.id && i < c->rules.count; i++)
        if (strcmp(QL__VEC_AT(&c->rules, mrule, i).id, r.id) == 0) {
            yerr(y, n, "duplicate rule id '%s'", r.id);
            break;
        }
    if (y->errors != errors_before || y->oom) {
        rule_free(a, &r);
        return;
    }
    r.source = ql__strdup(a, y->file);
    if (!r.source) {
        rule_free(a, &r);
        y->oom = 1;
        return;
    }
    uint32_t idx = (uint32_t)c->rules.count;
    if (ql__vec_push(a, &c->rules, &r) != QL_OK) {
        rule_free(a, &r);
        y->oom = 1;
        return;
    }
    mrule *rr = &QL__VEC_AT(&c->rules, mrule, idx);
    if (words)
        add_word_list(y, words, idx, W_TERM, "words");
    if (allow) {
        rr->has_allow = 1;
        add_word_list(y, allow, idx, W_ALLOW, "allow");
    }
    if (all) {
        if (all->type != YAML_SEQUENCE_NODE ||
            all->data.sequence.items.top - all->data.sequence.items.start < 2 ||
            all->data.sequence.items.top - all->data.sequence.items.start > QL__MOD_MAX_PARTS) {
            yerr(y, all, "all must be a list of 2 to 8 words (or lists of alternatives)%s", "");
            return;
        }
        unsigned part = 0;
        for (yaml_node_item_t *it = all->data.sequence.items.start;
             it < all->data.sequence.items.top && !y->oom; it++, part++) {
            yaml_node_t *pn = yaml_document_get_node(y->doc, *it);
            if (pn->type == YAML_SEQUENCE_NODE) {
                /* A part may be a list of alternatives: [充值, 氪金]. */
                for (yaml_node_item_t *jt = pn->data.sequence.items.start;
                     jt < pn->data.sequence.items.top && !y->oom; jt++)
                    add_word(y, yaml_document_get_node(y->doc, *jt), idx, W_PART, part);
            } else {
                add_word(y, pn, idx, W_PART, part);
            }
        }
        rr = &QL__VEC_AT(&c->rules, mrule, idx);
        rr->parts = part;
    }
}

static void parse_thresholds(yctx *y, yaml_node_t *n)
{
    if (n->type != YAML_MAPPING_NODE) {
        yerr(y, n, "thresholds must be a mapping of category to {review, block}%s", "");
        return;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
        const char *ks = yscalar(k);
        if (!ks || (strcmp(ks, "default") != 0 && !valid_name(ks, 64))) {
            yerr(y, k, "thresholds: '%s' is not a category", ks ? ks : "?");
            continue;
        }
        double review = -1, block = -1;
        if (v->type != YAML_MAPPING_NODE) {
            yerr(y, v, "thresholds of %s must be {review: N, block: N}", ks);
            continue;
        }
        for (yaml_node_pair_t *q = v->data.mapping.pairs.start; q < v->data.mapping.pairs.top; q++) {
            const char *qk = yscalar(yaml_document_get_node(y->doc, q->key));
            yaml_node_t *qv = yaml_document_get_node(y->doc, q->value);
            const char *qs = yscalar(qv);
            char *end = NULL;
            double d = qs ? strtod(qs, &end) : NAN;
            if (!qs || end == qs || *end || !(d >= 0 && d <= 1)) {
                yerr(y, qv, "a threshold must be a number from 0 to 1%s", "");
                continue;
            }
            if (qk && strcmp(qk, "review") == 0)
                review = d;
            else if (qk && strcmp(qk, "block") == 0)
                block = d;
            else
                yerr(y, qv, "thresholds take review and block%s", "");
        }
        if (review < 0 || block < 0 || review > block) {
            yerr(y, v, "thresholds of %s need review <= block, both set", ks);
            continue;
        }
        if (ql_lexicon_compiler_threshold(y->c, strcmp(ks, "default") == 0 ? NULL : ks,
                                          review, block) != QL_OK)
            y->oom = 1;
    }
}

static void truncate_to(ql_lexicon_compiler *c, size_t rules, size_t words, size_t pool)
{
    while (c->rules.count > rules)
        rule_free(&c->allocator, &QL__VEC_AT(&c->rules, mrule, --c->rules.count));
    c->words.count = words;
    c->pool.count = pool;
}

static ql_status add_yaml(ql_lexicon_compiler *c, const char *name, const uint8_t *text,
                          size_t length)
{
    size_t rules0 = c->rules.count, words0 = c->words.count, pool0 = c->pool.count;
    yctx y;
    memset(&y, 0, sizeof y);
    y.c = c;
    y.file = name ? name : "<lexicon>";
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return QL_ENOMEM;
    yaml_parser_set_input_string(&parser, text, length);
    if (!yaml_parser_load(&parser, &doc)) {
        diag_add(c, y.file, (unsigned)parser.problem_mark.line + 1,
                 (unsigned)parser.problem_mark.column + 1, "YAML: %s",
                 parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        return QL_ERULE;
    }
    y.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t *list = NULL;
    if (!root || root->type != YAML_MAPPING_NODE) {
        yerr(&y, root, "expected a mapping with a 'rules:' list%s", "");
    } else {
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
             p < root->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(&doc, p->key);
            yaml_node_t *v = yaml_document_get_node(&doc, p->value);
            const char *ks = yscalar(k);
            if (ks && strcmp(ks, "rules") == 0)
                list = v;
            else if (ks && strcmp(ks, "thresholds") == 0)
                parse_thresholds(&y, v);
            else if (!ks || strcmp(ks, "version") != 0)
                yerr(&y, k, "unknown top-level key '%s' (expected version, rules, thresholds)",
                     ks ? ks : "?");
        }
        if (!list)
            yerr(&y, root, "no 'rules:' list in the file%s", "");
        else if (list->type != YAML_SEQUENCE_NODE)
            yerr(&y, list, "'rules' must be a list%s", "");
        else
            for (yaml_node_item_t *it = list->data.sequence.items.start;
                 it < list->data.sequence.items.top && !y.oom; it++)
                parse_lex_rule(&y, yaml_document_get_node(&doc, *it));
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (y.errors || y.oom) {
        truncate_to(c, rules0, words0, pool0);
        return y.oom ? QL_ENOMEM : QL_ERULE;
    }
    return QL_OK;
}

/* A plain word list: one word a line, '#' starts a comment line; a line
 * may be "word<TAB>category" or "word<TAB>category<TAB>severity".  Each
 * distinct (category, severity) becomes one rule named after the file. */
static ql_status add_list(ql_lexicon_compiler *c, const char *name, const uint8_t *text,
                          size_t length)
{
    size_t rules0 = c->rules.count, words0 = c->words.count, pool0 = c->pool.count;
    const ql_allocator *a = &c->allocator;
    const char *file = name ? name : "<lexicon>";
    int errors = 0, oom = 0;
    size_t lineno = 0;
    struct { uint64_t key; uint32_t rule; } *map;
    const size_t map_cap = 8192;
    size_t map_used = 0;
    if (!(map = ql__calloc(a, map_cap, sizeof *map)))
        return QL_ENOMEM;
    for (size_t pos = 0; pos < length && !oom;) {
        size_t eol = pos;
        while (eol < length && text[eol] != '\n')
            eol++;
        lineno++;
        size_t s = pos, e = eol;
        pos = eol + 1;
        if (e > s && text[e - 1] == '\r')
            e--;
        if (lineno == 1 && e - s >= 3 && memcmp(text + s, "\xEF\xBB\xBF", 3) == 0)
            s += 3;
        while (s < e && (text[s] == ' ' || text[s] == '\t'))
            s++;
        if (s == e || text[s] == '#')
            continue;
        /* Fields split at tabs. */
        const uint8_t *f[3] = {text + s, NULL, NULL};
        size_t fl[3] = {0, 0, 0};
        int nf = 1;
        size_t start = s;
        for (size_t i = s; i <= e; i++) {
            if (i == e || text[i] == '\t') {
                if (nf <= 3)
                    fl[nf - 1] = i - start;
                if (i < e) {
                    nf++;
                    if (nf <= 3)
                        f[nf - 1] = text + i + 1;
                    start = i + 1;
                }
            }
        }
        while (fl[0] > 0 && f[0][fl[0] - 1] == ' ')
            fl[0]--;
        if (nf > 3) {
            diag_add(c, file, (unsigned)lineno, 1, "expected word[<TAB>category[<TAB>severity]]%s", "");
            errors++;
            continue;
        }
        char cat[80], sev[16];
        const char *category = c->list_category ? c->list_category : "custom.lexicon";
        ql_severity severity = c->list_severity;
        int signal = 0;
        if (nf >= 2) {
            if (fl[1] == 0 || fl[1] >= sizeof cat) {
                diag_add(c, file, (unsigned)lineno, 1, "bad category%s", "");
                errors++;
                continue;
            }
            memcpy(cat, f[1], fl[1]);
            cat[fl[1]] = '\0';
            if (!valid_name(cat, 64)) {
                diag_add(c, file, (unsigned)lineno, 1, "category '%s' must be of a-z 0-9 _ . -", cat);
                errors++;
                continue;
            }
            category = cat;
        }
        if (nf == 3) {
            if (fl[2] == 0 || fl[2] >= sizeof sev) {
                diag_add(c, file, (unsigned)lineno, 1, "bad severity%s", "");
                errors++;
                continue;
            }
            memcpy(sev, f[2], fl[2]);
            sev[fl[2]] = '\0';
            if (!severity_from(sev, &severity, &signal)) {
                diag_add(c, file, (unsigned)lineno, 1, "severity '%s' is not low, medium, high, critical or signal", sev);
                errors++;
                continue;
            }
        }
        int bad = fl[0] == 0 || fl[0] > QL__MOD_MAX_WORD;
        for (size_t i = 0; !bad && i < fl[0];) {
            uint32_t cp;
            int l = utf8_next(f[0] + i, fl[0] - i, &cp);
            if (l <= 0)
                bad = 1;
            else
                i += (size_t)l;
        }
        if (bad) {
            diag_add(c, file, (unsigned)lineno, 1, "a word must be 1 to 256 bytes of valid UTF-8%s", "");
            errors++;
            continue;
        }
        /* Find or make the rule for (category, severity) of this file:
         * a map, so a list of many categories stays linear. */
        uint32_t ridx = UINT32_MAX;
        uint64_t key = str_hash(category, (uint32_t)severity * 2u + (uint32_t)signal);
        size_t slot = (size_t)key & (map_cap - 1);
        while (map[slot].key) {
            if (map[slot].key == key) {
                mrule *r = &QL__VEC_AT(&c->rules, mrule, map[slot].rule);
                if (strcmp(r->category, category) == 0 && r->severity == severity &&
                    r->signal == signal) {
                    ridx = map[slot].rule;
                    break;
                }
            }
            slot = (slot + 1) & (map_cap - 1);
        }
        if (ridx == UINT32_MAX) {
            mrule r;
            memset(&r, 0, sizeof r);
            char id[256];
            snprintf(id, sizeof id, "list.%s.%s%s", category,
                     signal ? "signal" : ql_severity_name(severity), "");
            r.id = ql__strdup(a, id);
            r.category = ql__strdup(a, category);
            r.source = ql__strdup(a, file);
            r.severity = severity;
            r.signal = signal;
            r.pinyin = 1;
            if (!r.id || !r.category || !r.source) {
                rule_free(a, &r);
                oom = 1;
                break;
            }
            if (map_used * 2 >= map_cap) {
                diag_add(c, file, (unsigned)lineno, 1,
                         "too many categories and severities in one list (the limit is 4096)%s", "");
                rule_free(a, &r);
                errors++;
                break;
            }
            ridx = (uint32_t)c->rules.count;
            if (ql__vec_push(a, &c->rules, &r) != QL_OK) {
                rule_free(a, &r);
                oom = 1;
                break;
            }
            map[slot].key = key;
            map[slot].rule = ridx;
            map_used++;
        }
        srcword w = {ridx, 0, W_TERM, 0};
        ql_status st = pool_add(c, (const char *)f[0], fl[0], &w.text_off);
        if (st == QL_OK)
            st = ql__vec_push(a, &c->words, &w);
        if (st == QL_ELIMIT) {
            diag_add(c, file, (unsigned)lineno, 1, "too many words%s", "");
            errors++;
            break;
        } else if (st != QL_OK) {
            oom = 1;
        }
    }
    ql__free(a, map);
    if (errors || oom) {
        truncate_to(c, rules0, words0, pool0);
        return oom ? QL_ENOMEM : QL_ERULE;
    }
    return QL_OK;
}

ql_status ql_lexicon_compiler_add(ql_lexicon_compiler *c, const char *name,
                                  const uint8_t *text, size_t length)
{
    if (!c || (!text && length))
        return QL_EINVAL;
    /* YAML when the first meaningful line is a key of ours. */
    size_t i = 0;
    for (;;) {
        while (i < length && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
            i++;
        if (i < length && text[i] == '#') {
            while (i < length && text[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    static const char *const keys[] = {"version:", "rules:", "thresholds:", "---"};
    for (size_t k = 0; k < 4; k++) {
        size_t n = strlen(keys[k]);
        if (length - i >= n && memcmp(text + i, keys[k], n) == 0)
            return add_yaml(c, name, text, length);
    }
    return add_list(c, name, text, length);
}

ql_status ql_lexicon_compiler_add_builtin(ql_lexicon_compiler *c)
{
    if (!c)
        return QL_EINVAL;
    if (c->builtin_added)
        return QL_OK;
    for (size_t i = 0; i < ql__lexicon_pack_count; i++) {
        char name[160];
        snprintf(name, sizeof name, "builtin:%s", ql__lexicon_packs[i].name);
        ql_status st = ql_lexicon_compiler_add(c, name, ql__lexicon_packs[i].data,
                                               ql__lexicon_packs[i].size);
        if (st != QL_OK)
            return st;
    }
    c->builtin_added = 1;
    return QL_OK;
}

ql_status ql_lexicon_compiler_list_defaults(ql_lexicon_compiler *c, const char *category,
                                            ql_severity severity)
{
    if (!c || (category && !valid_name(category, 64)) || severity > QL_SEVERITY_CRITICAL)
        return QL_EINVAL;
    char *dup = NULL;
    if (category && !(dup = ql__strdup(&c->allocator, category)))
        return QL_ENOMEM;
    ql__free(&c->allocator, c->list_category);
    c->list_category = dup;
    c->list_severity = severity;
    return QL_OK;
}

ql_status ql_lexicon_compiler_threshold(ql_lexicon_compiler *c, const char *category,
                                        double review, double block)
{
    if (!c || !(review >= 0 && review <= block && block <= 1) ||
        (category && !valid_name(category, 64)))
        return QL_EINVAL;
    for (size_t i = 0; i < c->thresholds.count; i++) {
        mthreshold *t = &QL__VEC_AT(&c->thresholds, mthreshold, i);
        if ((!t->category && !category) || (t->category && category && strcmp(t->category, category) == 0)) {
            t->review = review;
            t->block = block;
            return QL_OK;
        }
    }
    mthreshold t = {NULL, review, block};
    if (category && !(t.category = ql__strdup(&c->allocator, category)))
        return QL_ENOMEM;
    if (ql__vec_push(&c->allocator, &c->thresholds, &t) != QL_OK) {
        ql__free(&c->allocator, t.category);
        return QL_ENOMEM;
    }
    return QL_OK;
}

/* ------------------------------------------------------------ compiling */

/* A word's runs, folded like the text.  Returns the number of runs (0 if
 * the word is all noise), -1 if too long. */
static int word_runs(const char *s, size_t n, mrun *out, int *latin_first, int *latin_last)
{
    /* The same decisions view_char makes on text, so that a word matches
     * its own spelling: noise skipped, repeats collapsed (also across
     * noise, except a Latin letter after noise when the run does not
     * start a word: "bad dog" is b a d d o g, as in text). */
    int nr = 0, noise = 0, prev_word = 0, run_before_word = 0;
    unsigned first_cls = 0, last_cls = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = utf8_next((const uint8_t *)s + i, n - i, &cp);
        if (l <= 0)
            return -1;
        i += (size_t)l;
        uint32_t e = fold(cp);
        unsigned cls = FOLD_CLASS(e);
        if (cls & C_NOISE) {
            /* '@' and '$' right after letters are letters as written. */
            if (!((cls & C_LEET) && nr > 0 && !noise && prev_word)) {
                noise = 1;
                prev_word = (cls & C_UNDERSCORE) != 0;
                continue;
            }
            cls = C_WORD;
        }
        int word = (cls & C_WORD) != 0;
        uint32_t f = FOLD_CP(e);
        if (nr > 0 && out[nr - 1].cp == f &&
            (!noise || !word || (!run_before_word && !(cls & C_DIGIT)))) {
            out[nr - 1].count++;
            noise = 0;
            prev_word = word;
            continue;
        }
        if (nr == (int)QL__MOD_MAX_RUNS)
            return -1;
        out[nr].cp = f;
        out[nr].count = 1;
        out[nr].gap = (uint32_t)(nr > 0 && noise);
        run_before_word = prev_word;
        if (nr == 0)
            first_cls = cls;
        last_cls = cls;
        nr++;
        noise = 0;
        prev_word = word;
    }
    *latin_first = (first_cls & C_WORD) != 0;
    *latin_last = (last_cls & C_WORD) != 0;
    return nr;
}

static const char *pinyin_of(uint32_t cp)
{
    int found;
    uint32_t off = pair_lookup(ql__pinyin, ql__pinyin_count, cp, &found);
    return found ? ql__pinyin_pool + off : NULL;
}

static int english_word(const char *w)
{
    size_t lo = 0, hi = ql__english_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ql__english[mid], w);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* The pinyin spellings of a Chinese word: full ("shabi") and, when
 * `initials`, the initials ("sb"; zh, ch, sh give z, c, s).  Returns 0 when
 * the word has a character that is not Chinese or has no reading. */
static int word_pinyin(const char *s, size_t n, char *full, size_t full_size,
                       char *init, size_t init_size)
{
    size_t fo = 0, io = 0;
    int chars = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = utf8_next((const uint8_t *)s + i, n - i, &cp);
        if (l <= 0)
            return 0;
        i += (size_t)l;
        uint32_t e = fold(cp);
        if (FOLD_CLASS(e) & C_NOISE)
            continue;
        const char *py = (FOLD_CLASS(e) & C_CJK) ? pinyin_of(FOLD_CP(e)) : NULL;
        if (!py)
            return 0;
        size_t pl = strlen(py);
        if (fo + pl + 1 > full_size || io + 2 > init_size)
            return 0;
        memcpy(full + fo, py, pl);
        fo += pl;
        init[io++] = py[0];
        chars++;
    }
    full[fo] = '\0';
    init[io] = '\0';
    return chars;
}

typedef struct keyed {
    uint64_t key;
    uint32_t word;
    uint32_t sig;
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->word < y->word ? -1 : x->word > y->word;
}

/* Words are indexed by their last runs: two for a word ending in a Chinese
 * character (bigrams of 3,500 common characters are many), six for one
 * ending in a Latin letter or digit (pinyin spellings share endings: a
 * four-letter key like "ding" would put hundreds of words in one bucket,
 * checked at every "loading" of a log), fewer when the word is shorter. */
#define QL__MOD_KEY_LATIN 6u
#define QL__MOD_KEY_CJK   2u

/* The key of k runs, c[0] the last: packed exactly where it fits (one and
 * two runs: all Chinese words), folded beyond; a collision only costs a
 * check. */
#define KEY_MASK60 ((1ull << 60) - 1)

static inline uint64_t key_pack(unsigned k, const uint32_t *c)
{
    switch (k) {
    case 1: return (1ull << 60) | c[0];
    case 2: return (2ull << 60) | ((uint64_t)c[1] << 21) | c[0];
    case 3: return (3ull << 60) | ((((uint64_t)c[2] << 42) | ((uint64_t)c[1] << 21) | c[0]) & KEY_MASK60);
    default: {
        uint64_t h = ((uint64_t)c[2] << 42) | ((uint64_t)c[1] << 21) | c[0];
        for (unsigned j = 3; j < k; j++)
            h = (h ^ c[j]) * 0x9E3779B97F4A7C15ull + j;
        return ((uint64_t)k << 60) | (h & KEY_MASK60);
    }
    }
}

static inline uint64_t key_of_word(const mrun *r, unsigned nr, unsigned k)
{
    uint32_t c[QL__MOD_KEY_LATIN] = {0};
    for (unsigned j = 0; j < k && j < QL__MOD_KEY_LATIN; j++)
        c[j] = keyclass(r[nr - 1 - j].cp);
    return key_pack(k, c);
}

static inline uint64_t key_hash(uint64_t k)
{
    return k * 0x9E3779B97F4A7C15ull;
}

static ql_status compiled_add(ql_lexicon *lx, ql__vec *words, ql__vec *runs, ql__vec *keys,
                              const mrun *r, int nr, mword w)
{
    const ql_allocator *a = &lx->allocator;
    if (runs->count + (size_t)nr > UINT32_MAX)
        return QL_ELIMIT;
    w.run_off = (uint32_t)runs->count;
    w.nruns = (uint16_t)nr;
    for (int i = 0; i < nr; i++) {
        ql_status st = ql__vec_push(a, runs, &r[i]);
        if (st != QL_OK)
            return st;
    }
    keyed k;
    k.word = (uint32_t)words->count;
    unsigned kl = w.latin_last ? QL__MOD_KEY_LATIN : QL__MOD_KEY_CJK;
    unsigned klen = (unsigned)nr < kl ? (unsigned)nr : kl;
    k.key = key_of_word(r, (unsigned)nr, klen);
    k.sig = (unsigned)nr > klen ? keyclass(r[nr - 1 - (int)klen].cp) : SIG_NONE;
    lx->key_lengths |= 1u << klen;
    uint32_t last = keyclass(r[nr - 1].cp);
    if (last < 0x10000)
        (nr == 1 ? lx->end1 : lx->endn)[last >> 6] |= 1ull << (last & 63);
    ql_status st = ql__vec_push(a, words, &w);
    if (st == QL_OK)
        st = ql__vec_push(a, keys, &k);
    return st;
}

void ql_lexicon_destroy(ql_lexicon *lx)
{
    if (!lx)
        return;
    ql_allocator a = lx->allocator;
    for (size_t i = 0; i < lx->rule_count; i++)
        rule_free(&a, &lx->rules[i]);
    for (size_t i = 0; i < lx->category_count; i++)
        ql__free(&a, lx->categories[i]);
    ql__free(&a, lx->rules);
    ql__free(&a, lx->words);
    ql__free(&a, lx->runs);
    ql__free(&a, lx->pool);
    ql__free(&a, lx->ids);
    ql__free(&a, lx->table);
    ql__free(&a, lx->bitmap);
    ql__free(&a, lx->pairs);
    ql__free(&a, lx->endl);
    ql__free(&a, lx->categories);
    ql__free(&a, lx->review);
    ql__free(&a, lx->block);
    ql__free(&a, lx);
}

static ql_status build_categories(ql_lexicon_compiler *c, ql_lexicon *lx)
{
    const ql_allocator *a = &lx->allocator;
    size_t max = lx->rule_count + sizeof category_names / sizeof *category_names;
    lx->categories = ql__calloc(a, max, sizeof *lx->categories);
    lx->review = ql__calloc(a, max, sizeof *lx->review);
    lx->block = ql__calloc(a, max, sizeof *lx->block);
    if (!lx->categories || !lx->review || !lx->block)
        return QL_ENOMEM;
    /* The built-in categories first, in their fixed order, then users'. */
    for (size_t i = 0; i < sizeof category_names / sizeof *category_names; i++) {
        if (!(lx->categories[lx->category_count] = ql__strdup(a, category_names[i])))
            return QL_ENOMEM;
        lx->category_count++;
    }
    /* category -> index through a map: rules and categories may be many */
    size_t cap = 16;
    while (cap < max * 2)
        cap <<= 1;
    struct { uint64_t key; uint32_t index; } *map = ql__calloc(a, cap, sizeof *map);
    if (!map)
        return QL_ENOMEM;
    for (size_t i = 0; i <= lx->rule_count; i++) {
        /* first the built-in names (i < their count), then every rule's */
        size_t nb = sizeof category_names / sizeof *category_names;
        const char *name = NULL;
        mrule *r = NULL;
        if (i == 0) {
            for (size_t b = 0; b < nb; b++) {
                uint64_t key = str_hash(category_names[b], 0);
                size_t slot = (size_t)key & (cap - 1);
                while (map[slot].key)
                    slot = (slot + 1) & (cap - 1);
                map[slot].key = key;
                map[slot].index = (uint32_t)b;
            }
        }
        if (i == lx->rule_count)
            break;
        r = &lx->rules[i];
        name = r->category;
        uint64_t key = str_hash(name, 0);
        size_t slot = (size_t)key & (cap - 1);
        size_t j = SIZE_MAX;
        while (map[slot].key) {
            if (map[slot].key == key && strcmp(lx->categories[map[slot].index], name) == 0) {
                j = map[slot].index;
                break;
            }
            slot = (slot + 1) & (cap - 1);
        }
        if (j == SIZE_MAX) {
            j = lx->category_count;
            if (!(lx->categories[j] = ql__strdup(a, name))) {
                ql__free(a, map);
                return QL_ENOMEM;
            }
            lx->category_count++;
            map[slot].key = key;
            map[slot].index = (uint32_t)j;
        }
        r->category_index = (unsigned)j;
    }
    ql__free(a, map);
    double dr = 0.5, db = 0.8;
    for (size_t i = 0; i < c->thresholds.count; i++) {
        mthreshold *t = &QL__VEC_AT(&c->thresholds, mthreshold, i);
        if (!t->category) {
            dr = t->review;
            db = t->block;
        }
    }
    for (size_t j = 0; j < lx->category_count; j++) {
        lx->review[j] = dr;
        lx->block[j] = db;
        for (size_t i = 0; i < c->thresholds.count; i++) {
            mthreshold *t = &QL__VEC_AT(&c->thresholds, mthreshold, i);
            if (t->category && strcmp(t->category, lx->categories[j]) == 0) {
                lx->review[j] = t->review;
                lx->block[j] = t->block;
            }
        }
    }
    return QL_OK;
}

/* A blocked Bloom filter of n keys, 16 bits or more a key, in whole
 * 64-bit words: 2^*bits of them. */
static uint64_t *filter_alloc(const ql_allocator *a, size_t n, unsigned *bits)
{
    unsigned b = 6;
    while (b < 26 && ((size_t)1 << b) * 64 < n * 16)
        b++;
    *bits = b;
    return ql__calloc(a, (size_t)1 << b, sizeof(uint64_t));
}

/* The pair filter (words ending in two characters that are not Latin)
 * and the Latin-end filter (words that may end in a Latin letter or
 * digit: all but those ending in a Chinese character), over the compiled
 * words. */
static ql_status build_filters(ql_lexicon *lx, const ql__vec *words, const ql__vec *runs)
{
    size_t npair = 0, nlatin = 0;
    for (size_t i = 0; i < words->count; i++) {
        const mword *w = &QL__VEC_AT(words, mword, i);
        const mrun *r = &QL__VEC_AT(runs, mrun, w->run_off);
        if (w->nruns >= 2 && !w->latin_last)
            npair++;
        if (w->nruns >= 2 && !(FOLD_CLASS(fold(r[w->nruns - 1].cp)) & C_CJK))
            nlatin++;
    }
    lx->pairs = filter_alloc(&lx->allocator, npair, &lx->pair_bits);
    lx->endl = filter_alloc(&lx->allocator, nlatin, &lx->endl_bits);
    if (!lx->pairs || !lx->endl)
        return QL_ENOMEM;
    for (size_t i = 0; i < words->count; i++) {
        const mword *w = &QL__VEC_AT(words, mword, i);
        const mrun *r = &QL__VEC_AT(runs, mrun, w->run_off);
        unsigned nr = w->nruns;
        if (nr < 2)
            continue;
        uint32_t c0 = keyclass(r[nr - 1].cp), c1 = keyclass(r[nr - 2].cp);
        if (!w->latin_last) {
            uint64_t h = pair_hash(c1, c0);
            lx->pairs[h >> (64 - lx->pair_bits)] |= pair_mask(h);
        }
        if (!(FOLD_CLASS(fold(r[nr - 1].cp)) & C_CJK)) {
            uint64_t h = endl_hash(c0, c1, nr >= 3 ? keyclass(r[nr - 3].cp) : 0, nr >= 3);
            lx->endl[h >> (64 - lx->endl_bits)] |= pair_mask(h);
        }
    }
    return QL_OK;
}

ql_status ql_lexicon_compile(ql_lexicon_compiler *c, ql_lexicon **out)
{
    if (!c || !out)
        return QL_EINVAL;
    *out = NULL;
    const ql_allocator *a = &c->allocator;
    ql_lexicon *lx = ql__calloc(a, 1, sizeof *lx);
    if (!lx)
        return QL_ENOMEM;
    lx->allocator = c->allocator;
    ql_status st = QL_ENOMEM;
    ql__vec words, runs, keys, pool;
    ql__vec_init(&words, sizeof(mword), (size_t)QL__MOD_MAX_WORDS * 4);
    ql__vec_init(&runs, sizeof(mrun), (size_t)1 << 28);
    ql__vec_init(&keys, sizeof(keyed), (size_t)QL__MOD_MAX_WORDS * 4);
    ql__vec_init(&pool, 1, (size_t)1 << 31);

    /* Rules move to the lexicon (their strings with them). */
    lx->rules = ql__calloc(a, c->rules.count ? c->rules.count : 1, sizeof *lx->rules);
    if (!lx->rules)
        goto fail;
    lx->rule_count = c->rules.count;
    for (size_t i = 0; i < lx->rule_count; i++) {
        mrule *src = &QL__VEC_AT(&c->rules, mrule, i);
        lx->rules[i] = *src;
        lx->rules[i].id = ql__strdup(a, src->id);
        lx->rules[i].category = ql__strdup(a, src->category);
        lx->rules[i].description = src->description ? ql__strdup(a, src->description) : NULL;
        lx->rules[i].source = ql__strdup(a, src->source);
        if (!lx->rules[i].id || !lx->rules[i].category || !lx->rules[i].source ||
            (src->description && !lx->rules[i].description))
            goto fail;
    }
    if ((st = build_categories(c, lx)) != QL_OK)
        goto fail;
    st = QL_ENOMEM;
    /* The string pool is copied whole; pinyin forms are appended. */
    if (ql__vec_reserve(a, &pool, c->pool.count + 1) != QL_OK)
        goto fail;
    if (c->pool.count)
        memcpy(pool.items, c->pool.items, c->pool.count);
    pool.count = c->pool.count;

    for (size_t i = 0; i < c->words.count; i++) {
        srcword *sw = &QL__VEC_AT(&c->words, srcword, i);
        const char *text = (const char *)c->pool.items + sw->text_off;
        size_t n = strlen(text);
        mrun r[QL__MOD_MAX_RUNS];
        int lf, ll;
        int nr = word_runs(text, n, r, &lf, &ll);
        if (nr <= 0) {
            /* A word of noise alone ("!!!") or longer than 48 runs can
             * never match; it was accepted by the parser, so say so. */
            diag_add(c, lx->rules[sw->rule].source, 0, 0,
                     nr == 0 ? "word '%s' is only punctuation or spaces; ignored"
                             : "word '%s' is too long (48 characters at most); ignored", text);
            continue;
        }
        mword w;
        memset(&w, 0, sizeof w);
        w.rule = sw->rule;
        w.text_off = sw->text_off;
        w.kind = sw->kind;
        w.part = sw->part;
        w.form = F_TEXT;
        w.latin_first = (uint8_t)lf;
        w.latin_last = (uint8_t)ll;
        if ((st = compiled_add(lx, &words, &runs, &keys, r, nr, w)) != QL_OK)
            goto fail;
        if (sw->kind != W_TERM && sw->kind != W_PART)
            continue;
        lx->term_words++;
        int pin = lx->rules[sw->rule].pinyin;
        if (!pin)
            continue;
        char full[QL__MOD_MAX_RUNS * 7], init[QL__MOD_MAX_RUNS + 1];
        int chars = word_pinyin(text, n, full, sizeof full, init, sizeof init);
        if (chars < 2)
            continue;   /* one character's pinyin is an ordinary syllable */
        const char *forms[2] = {full, pin == 2 ? init : NULL};
        for (int f = 0; f < 2; f++) {
            if (!forms[f] || english_word(forms[f]))
                continue;
            mrun pr[QL__MOD_MAX_RUNS];
            int plf, pll;
            int pnr = word_runs(forms[f], strlen(forms[f]), pr, &plf, &pll);
            if (pnr <= 0)
                continue;
            mword pw = w;
            pw.form = (uint8_t)(f == 0 ? F_PINYIN : F_INITIALS);
            pw.latin_first = 1;
            pw.latin_last = 1;
            /* The display string: the Chinese word (the hit is of it). */
            if ((st = compiled_add(lx, &words, &runs, &keys, pr, pnr, pw)) != QL_OK)
                goto fail;
        }
    }

    if ((st = build_filters(lx, &words, &runs)) != QL_OK)
        goto fail;

    /* Group word ids by key: a hash table of buckets over the sorted ids,
     * with a bitmap in front of it. */
    st = QL_ENOMEM;
    if (keys.count)
        qsort(keys.items, keys.count, sizeof(keyed), keyed_cmp);
    size_t distinct = 0;
    for (size_t i = 0; i < keys.count; i++)
        if (i == 0 || QL__VEC_AT(&keys, keyed, i).key != QL__VEC_AT(&keys, keyed, i - 1).key)
            distinct++;
    size_t cap = 16;
    while (cap < distinct * 2)
        cap <<= 1;
    size_t bits = 1u << 16;
    while (bits < distinct * 64 && bits < ((size_t)1 << 27))
        bits <<= 1;
    lx->ids = ql__malloc(a, (keys.count ? keys.count : 1) * sizeof *lx->ids);
    lx->table = ql__calloc(a, cap, sizeof *lx->table);
    lx->bitmap = ql__calloc(a, bits / 64, sizeof *lx->bitmap);
    if (!lx->ids || !lx->table || !lx->bitmap)
        goto fail;
    lx->table_mask = cap - 1;
    lx->bitmap_mask = bits - 1;
    for (size_t i = 0; i < cap; i++)
        lx->table[i].key = UINT64_MAX;
    for (size_t i = 0; i < keys.count;) {
        uint64_t k = QL__VEC_AT(&keys, keyed, i).key;
        size_t j = i;
        while (j < keys.count && QL__VEC_AT(&keys, keyed, j).key == k) {
            lx->ids[j].word = QL__VEC_AT(&keys, keyed, j).word;
            lx->ids[j].sig = QL__VEC_AT(&keys, keyed, j).sig;
            j++;
        }
        uint64_t h = key_hash(k);
        size_t slot = (h >> 24) & lx->table_mask;
        while (lx->table[slot].key != UINT64_MAX)
            slot = (slot + 1) & lx->table_mask;
        lx->table[slot].key = k;
        lx->table[slot].begin = (uint32_t)i;
        lx->table[slot].count = (uint32_t)(j - i);
        uint64_t b = (h >> 37) & lx->bitmap_mask;
        lx->bitmap[b >> 6] |= 1ull << (b & 63);
        i = j;
    }

    lx->word_count = words.count;
    lx->words = words.items;
    lx->run_count = runs.count;
    lx->runs = runs.items;
    lx->pool_size = pool.count;
    lx->pool = pool.items;
    ql__vec_free(a, &keys);
    *out = lx;
    return QL_OK;

fail:
    ql__vec_free(a, &words);
    ql__vec_free(a, &runs);
    ql__vec_free(a, &keys);
    ql__vec_free(a, &pool);
    ql_lexicon_destroy(lx);
    return st;
}

size_t ql_lexicon_word_count(const ql_lexicon *lx)
{
    return lx ? lx->term_words : 0;
}

size_t ql_lexicon_form_count(const ql_lexicon *lx)
{
    return lx ? lx->word_count : 0;
}

size_t ql_lexicon_rule_count(const ql_lexicon *lx)
{
    return lx ? lx->rule_count : 0;
}

/* The words keyed k, h = key_hash(k), or NULL, without the bitmap (for
 * keys a filter of its own has let through). */
static inline const bucket *probe(const ql_lexicon *lx, uint64_t k, uint64_t h)
{
    size_t slot = (h >> 24) & lx->table_mask;
    for (;;) {
        const bucket *bk = &lx->table[slot];
        if (bk->key == k)
            return bk;
        if (bk->key == UINT64_MAX)
            return NULL;
        slot = (slot + 1) & lx->table_mask;
    }
}

static inline const bucket *lookup(const ql_lexicon *lx, uint64_t k)
{
    uint64_t h = key_hash(k);
    uint64_t b = (h >> 37) & lx->bitmap_mask;
    if (!(lx->bitmap[b >> 6] & (1ull << (b & 63))))
        return NULL;
    return probe(lx, k, h);
}

/* ------------------------------------------------------------ moderator */

typedef struct vrun {
    uint64_t start, end;       /* original bytes */
    uint32_t cp;
    uint32_t kc;               /* keyclass(cp) */
    uint32_t count;
    union {                    /* one store sets them all in the fast paths */
        struct {
            uint8_t is_word;       /* a Latin letter or digit */
            uint8_t before_word;   /* the character before it is a word character */
            uint8_t after_word;    /* the character after it is one */
            uint8_t after_set;
            uint8_t inner_noise;   /* noise skipped inside the run (GAP_ bits) */
            uint8_t gap_before;    /* noise between it and the run before (GAP_ bits) */
            uint8_t before_cjk;    /* the character before it is Chinese */
            uint8_t after_cjk;     /* the character after it is Chinese */
        };
        uint64_t flags8;
    };
} vrun;

/* after_set's bits: set, and the character right after is a full stop. */
#define AFTER_SET 1u
#define AFTER_DOT 2u

static const vrun run_cjk_template = {.before_cjk = 1};
static const vrun run_alnum_template = {.is_word = 1, .before_word = 1};

#define GAP_NOISE  1u
#define GAP_CLAUSE 2u           /* ... with a clause's end among it */
#define GAP_SPACE  4u           /* ... with white space among it */
#define GAP_PCT    8u           /* ... ending with '%' (a format: %sB is no "sb") */

typedef struct aentry {
    uint32_t rule;
    uint64_t first, last;
    uint64_t reach;          /* the largest `last` of this rule's entries so far */
} aentry;

typedef struct mhit {
    uint32_t word;
    uint32_t flags;
    uint64_t start, end;
    uint64_t seq_first, seq_last;
} mhit;

#define HIT_NOISY 1u            /* noise skipped inside the span */
#define HIT_CLAUSE 4u           /* between Chinese text across a clause's end */
#define HIT_DROPPED 2u

typedef struct pii {
    char    *type;
    char    *masked;
    uint64_t start, end;
    double   confidence;
} pii;

struct ql_moderator {
    ql_allocator      allocator;
    const ql_lexicon *lx;
    const ql_model   *model;       /* NULL: none */
    double            model_threshold;
    ql__mm            mm;
    ql_scanner       *scanner;     /* PII, for doxxing; NULL without */
    ql_stream        *stream;
    int               open;
    /* UTF-8 between chunks */
    uint8_t           pend[4];
    size_t            npend;
    uint64_t          offset;      /* bytes consumed */
    /* the view */
    int               have_run;    /* ring[seq % RING] is the open run */
    vrun              ring[QL__MOD_RING];
    uint64_t          seq;         /* runs closed */
    uint64_t          break_seq;   /* runs before the last break */
    unsigned          gap;
    int               broken;
    int               prev_word;   /* the previous character is a word character */
    int               noise_since; /* noise since the run's last character (GAP_ bits) */
    int               prev_cjk;    /* the previous character is Chinese */
    /* A right-to-left override (U+202E) shows the characters after it,
     * up to its end (U+202C, another override or isolate, a line's end),
     * in reverse: U+202E 逼傻 U+202C reads 傻逼.  They are viewed as they come (an
     * override inserted inside a word is noise: 傻 U+202E 逼) and gathered
     * here, to be viewed again at the end of the message in the order a
     * reader sees them, each override apart (e == REV_END ends one). */
    int               rlo;
    unsigned          nrev;
    uint64_t          rev_seq;     /* the first run viewed reversed, or ~0 */
    struct {
        uint32_t e;
        uint64_t start, end;
    }                 rev[QL__MOD_MAX_REV];
    uint64_t          initials_seq; /* the last run of the latest initials hit, or ~0 */
    /* results */
    ql__vec           hits;        /* mhit */
    ql__vec           parts;       /* uint32_t: co-occurrence part hits, by rule */
    ql__vec           touched;     /* uint32_t: rules with part hits */
    ql__vec           group_end;   /* uint32_t: where each touched rule's hits end */
    uint32_t         *rule_counts; /* per rule, zero between messages */
    ql__vec           allows;      /* aentry: allow hits, by rule and start */
    ql__vec           pii;         /* pii */
    ql__vec           out_hits;    /* ql_hit */
    ql__vec           scores;      /* ql_category_score */
    ql__vec           strings;     /* char *, owned, per message */
    double           *cat_score;
    ql_moderation     result;
    ql_status         error;
};

static void clear_message(ql_moderator *m)
{
    const ql_allocator *a = &m->allocator;
    for (size_t i = 0; i < m->pii.count; i++) {
        ql__free(a, QL__VEC_AT(&m->pii, pii, i).type);
        ql__free(a, QL__VEC_AT(&m->pii, pii, i).masked);
    }
    for (size_t i = 0; i < m->strings.count; i++)
        ql__free(a, QL__VEC_AT(&m->strings, char *, i));
    m->pii.count = m->hits.count = m->out_hits.count = m->scores.count = 0;
    m->strings.count = 0;
    m->npend = 0;
    m->offset = 0;
    m->have_run = 0;
    m->seq = m->break_seq = 0;
    m->gap = 0;
    m->broken = 0;
    m->prev_word = 0;
    m->noise_since = 0;
    m->prev_cjk = 0;
    m->initials_seq = UINT64_MAX;
    m->rlo = 0;
    m->nrev = 0;
    m->rev_seq = UINT64_MAX;
    m->error = QL_OK;
    memset(&m->result, 0, sizeof m->result);
}

ql_status ql_moderator_create(const ql_lexicon *lexicon, const ql_rules *pii_rules,
                              const ql_allocator *allocator, ql_moderator **out)
{
    if (!lexicon || !out)
        return QL_EINVAL;
    *out = NULL;
    ql_allocator a = {0};
    if (allocator)
        a = *allocator;
    ql_moderator *m = ql__calloc(&a, 1, sizeof *m);
    if (!m)
        return QL_ENOMEM;
    m->allocator = a;
    m->lx = lexicon;
    ql__vec_init(&m->hits, sizeof(mhit), QL__MOD_MAX_HITS);
    ql__vec_init(&m->parts, sizeof(uint32_t), QL__MOD_MAX_HITS);
    ql__vec_init(&m->touched, sizeof(uint32_t), QL__MOD_MAX_HITS);
    ql__vec_init(&m->group_end, sizeof(uint32_t), QL__MOD_MAX_HITS);
    ql__vec_init(&m->allows, sizeof(aentry), QL__MOD_MAX_HITS);
    ql__vec_init(&m->pii, sizeof(pii), QL__MOD_MAX_HITS);
    ql__vec_init(&m->out_hits, sizeof(ql_hit), QL__MOD_MAX_HITS);
    ql__vec_init(&m->scores, sizeof(ql_category_score), 100000);
    ql__vec_init(&m->strings, sizeof(char *), QL__MOD_MAX_HITS);
    m->cat_score = ql__calloc(&a, lexicon->category_count + 1, sizeof *m->cat_score);
    m->rule_counts = ql__calloc(&a, lexicon->rule_count + 1, sizeof *m->rule_counts);
    if (!m->cat_score || !m->rule_counts) {
        ql__free(&a, m->cat_score);
        ql__free(&a, m->rule_counts);
        ql__free(&a, m);
        return QL_ENOMEM;
    }
    if (pii_rules) {
        ql_status st = ql_scanner_create(pii_rules, &a, &m->scanner);
        if (st != QL_OK) {
            ql__free(&a, m->cat_score);
            ql__free(&a, m->rule_counts);
            ql__free(&a, m);
            return st;
        }
    }
    *out = m;
    return QL_OK;
}

void ql_moderator_destroy(ql_moderator *m)
{
    if (!m)
        return;
    const ql_allocator a = m->allocator;
    if (m->stream)
        ql_stream_close(m->stream);
    clear_message(m);
    ql_scanner_destroy(m->scanner);
    ql__vec_free(&a, &m->hits);
    ql__vec_free(&a, &m->parts);
    ql__vec_free(&a, &m->touched);
    ql__vec_free(&a, &m->group_end);
    ql__free(&a, m->rule_counts);
    ql__vec_free(&a, &m->allows);
    ql__vec_free(&a, &m->pii);
    ql__vec_free(&a, &m->out_hits);
    ql__vec_free(&a, &m->scores);
    ql__vec_free(&a, &m->strings);
    ql__free(&a, m->cat_score);
    ql__free(&a, m);
}

static int pii_cb(const ql_finding *f, void *user)
{
    ql_moderator *m = user;
    const ql_allocator *a = &m->allocator;
    pii p;
    p.type = ql__strdup(a, f->type);
    p.masked = ql__strdup(a, f->masked ? f->masked : "");
    p.start = f->start;
    p.end = f->end;
    p.confidence = f->confidence;
    if (!p.type || !p.masked || ql__vec_push(a, &m->pii, &p) != QL_OK) {
        ql__free(a, p.type);
        ql__free(a, p.masked);
        m->error = QL_ENOMEM;
        return 1;
    }
    return 0;
}

ql_status ql_moderate_begin(ql_moderator *m)
{
    if (!m)
        return QL_EINVAL;
    if (m->stream) {
        ql_stream_close(m->stream);
        m->stream = NULL;
    }
    clear_message(m);
    ql__mm_begin(&m->mm, m->model);
    if (m->scanner) {
        ql_scan_options o;
        ql_scan_options_init(&o);
        o.encoding = QL_ENCODING_UTF8;
        ql_status st = ql_stream_open(m->scanner, &o, pii_cb, m, &m->stream);
        if (st != QL_OK)
            return st;
    }
    m->open = 1;
    return QL_OK;
}

static void record_hit(ql_moderator *m, uint32_t wi, const vrun *first, const vrun *last,
                       uint64_t seq_first, uint64_t seq_last, uint32_t flags)
{
    mhit h;
    h.word = wi;
    h.flags = flags;
    h.start = first->start;
    h.end = last->end;
    /* Viewed reversed (an override, at the end of the message), the runs
     * are not in the order of their bytes: the span is all of them. */
    for (uint64_t q = seq_first; seq_first >= m->rev_seq && q <= seq_last; q++) {
        const vrun *t = &m->ring[q % QL__MOD_RING];
        if (t->start < h.start)
            h.start = t->start;
        if (t->end > h.end)
            h.end = t->end;
    }
    h.seq_first = seq_first;
    h.seq_last = seq_last;
    if (ql__vec_push(&m->allocator, &m->hits, &h) != QL_OK && m->error == QL_OK)
        m->error = QL_ELIMIT;
}

/* Checks every word whose last run(s) key matches the run just closed. */
static void check_bucket(ql_moderator *m, const bucket *bk)
{
    const ql_lexicon *lx = m->lx;
    const vrun *last = &m->ring[(m->seq - 1) % QL__MOD_RING];
    uint64_t avail = m->seq - m->break_seq;
    /* the run before the key: words longer than it must have it */
    unsigned klen = (unsigned)(bk->key >> 60);
    uint32_t before = m->ring[(m->seq - 1 - klen) % QL__MOD_RING].kc;
    for (uint32_t i = 0; i < bk->count; i++) {
        const bid *b = &lx->ids[bk->begin + i];
        if (b->sig != SIG_NONE && (b->sig != before || avail <= klen))
            continue;
        uint32_t wi = b->word;
        const mword *w = &lx->words[wi];
        if (w->nruns > avail)
            continue;
        const mrun *r = lx->runs + w->run_off;
        int ok = 1, noisy = 0, leet = 0, plain = 0, clause = 0;
        const vrun *first = last;
        for (unsigned j = 0; j < w->nruns; j++) {
            const vrun *t = &m->ring[(m->seq - 1 - j) % QL__MOD_RING];
            const mrun *wr = &r[w->nruns - 1 - j];
            if (t->count < wr->count || !char_matches(t->cp, wr->cp)) {
                ok = 0;
                break;
            }
            /* Digits of a number in a word stand together: 7.14 or
             * 7,714 is no 714. */
            if (j + 1 < w->nruns && t->gap_before && wr->cp >= '0' && wr->cp <= '9' &&
                r[w->nruns - 2 - j].cp >= '0' && r[w->nruns - 2 - j].cp <= '9') {
                ok = 0;
                break;
            }
            if (t->cp != wr->cp)
                leet = 1;
            else if (t->cp >= 'a' && t->cp <= 'z')
                plain = 1;
            noisy |= t->inner_noise | (j + 1 < w->nruns ? t->gap_before : 0);
            if (j + 1 < w->nruns && (t->gap_before & GAP_CLAUSE) && !t->is_word &&
                !m->ring[(m->seq - 2 - j) % QL__MOD_RING].is_word)
                clause = 1;
            first = t;
        }
        /* A space the word does not have, between two pieces of two or
         * more letters, joins two words of the text ("the hero in" is no
         * heroin, "bet way" no betway); spaced single letters (s h i t)
         * are evasion, and pinyin may be spaced by syllable. */
        if (ok && w->form == F_TEXT && w->latin_last && w->nruns >= 4) {
            unsigned left = 0;
            for (unsigned k = 0; k < w->nruns && ok; k++) {
                const vrun *t = &m->ring[(m->seq - w->nruns + k) % QL__MOD_RING];
                if (k == 0 || t->gap_before) {
                    if (k > 0 && (t->gap_before & GAP_SPACE) && !r[k].gap && left >= 2 &&
                        t->is_word) {
                        /* the piece that starts here */
                        unsigned right = 1;
                        while (k + right < w->nruns &&
                               !m->ring[(m->seq - w->nruns + k + right) % QL__MOD_RING].gap_before)
                            right++;
                        if (right >= 2)
                            ok = 0;
                    }
                    left = 1;
                } else {
                    left++;
                }
            }
        }
        /* Leet is for words written with some letters (sh1t, a$$, sh4bi),
         * not for a number alone (58 is no "sb"), nor for initials (5b is
         * hexadecimal more often than an insult). */
        if (!ok || (leet && (!plain || w->form == F_INITIALS)))
            continue;
        if (w->latin_first && first->before_word)
            continue;
        /* Initials right after '%' are a format (%sB, %s B/s). */
        if (w->form == F_INITIALS && (first->gap_before & GAP_PCT))
            continue;
        /* Dotted initials with a full stop after them too are an
         * abbreviation or a name (S.B., J.R.R.), not an insult. */
        if (w->form == F_INITIALS && noisy && (last->after_set & AFTER_DOT))
            continue;
        /* Spaced-out initials ("s.b", "N M S L") inside a longer chain of
         * single letters are a dotted name (o.s.b.w.embedded), not an
         * insult. */
        if (w->form == F_INITIALS && noisy && m->seq - w->nruns > m->break_seq) {
            const vrun *p = &m->ring[(m->seq - w->nruns - 1) % QL__MOD_RING];
            if (p->is_word && p->count == 1 && !p->before_word && !p->after_word &&
                p->cp >= 'a' && p->cp <= 'z')
                continue;
        }
        if (w->latin_last && last->after_word)
            continue;
        /* A two-character word across a clause's end inside running
         * Chinese text (计划；其中 is no 划其) is likelier chance than
         * evasion: kept, lower.  Longer words do not meet by chance. */
        if (w->form == F_INITIALS)
            m->initials_seq = m->seq - 1;
        record_hit(m, wi, first, last, m->seq - w->nruns, m->seq - 1,
                   (noisy ? HIT_NOISY : 0) |
                   (clause && w->nruns == 2 && first->before_cjk && last->after_cjk
                        ? HIT_CLAUSE : 0));
    }
}

/* The open run is complete: it joins the view, and every word ending with
 * it is checked.  A run of a Latin letter or digit followed by another
 * word character ends no word (Latin words are whole words), which
 * spares the lookups inside Latin words and numbers. */
static inline __attribute__((always_inline)) void close_run(ql_moderator *m)
{
    m->have_run = 0;
    const vrun *v = &m->ring[m->seq % QL__MOD_RING];
    m->seq++;
    if (v->is_word && v->after_word)
        return;
    const ql_lexicon *lx = m->lx;
    if (v->is_word) {
        /* The end of a Latin word: most end no lexicon word (numbers,
         * hex, English).  Runs before the view's start or a break are
         * stale here, which only lets a filter pass that the lengths
         * below then exclude. */
        uint32_t c1 = m->ring[(m->seq - 2) % QL__MOD_RING].kc;
        uint32_t c2 = m->ring[(m->seq - 3) % QL__MOD_RING].kc;
        if (!ends_word(lx->end1, v->kc) && !endl_maybe(lx->endl, lx->endl_bits, v->kc, c1, 0, 0) &&
            !endl_maybe(lx->endl, lx->endl_bits, v->kc, c1, c2, 1))
            return;
    }
    uint64_t avail = m->seq - m->break_seq;
    unsigned kmax = v->is_word ? QL__MOD_KEY_LATIN : QL__MOD_KEY_CJK;
    if (avail < kmax)
        kmax = (unsigned)avail;
    unsigned lengths = lx->key_lengths;
    if (!ends_word(lx->end1, v->kc))
        lengths &= ~2u;
    if (!ends_word(lx->endn, v->kc))
        lengths &= 2u;
    if (!lengths)
        return;
    uint32_t c[QL__MOD_KEY_LATIN] = {v->kc};
    /* A word ending in a Latin letter keyed by fewer than six runs is
     * exactly those runs, so it starts at the first of them: no word
     * starts at a letter inside a word (Latin words are whole words).
     * Worked out without branches: which way they go is noise to the
     * branch predictor. */
    unsigned inner = 0;
    for (unsigned k = 2; k <= kmax; k++) {
        const vrun *r = &m->ring[(m->seq - k) % QL__MOD_RING];
        c[k - 1] = r->kc;
        inner |= (unsigned)(r->is_word & r->before_word) << k;
    }
    inner |= (unsigned)v->before_word << 1;
    if (v->is_word)
        lengths &= ~(inner & ((1u << QL__MOD_KEY_LATIN) - 1));
    lengths &= (2u << kmax) - 1;
    if (v->is_word) {
        if ((lengths & 4u) && !endl_maybe(lx->endl, lx->endl_bits, c[0], c[1], 0, 0))
            lengths &= ~4u;
        if ((lengths & ~7u) && !endl_maybe(lx->endl, lx->endl_bits, c[0], c[1], c[2], 1))
            lengths &= 7u;
    }
    while (lengths) {
        unsigned k = (unsigned)__builtin_ctz(lengths);
        lengths &= lengths - 1;
        if (k == 2 && !v->is_word && !pair_maybe(lx->pairs, lx->pair_bits, c[1], c[0]))
            continue;
        const bucket *bk = lookup(lx, key_pack(k, c));
        if (bk)
            check_bucket(m, bk);
    }
}

static inline __attribute__((always_inline)) void view_char(ql_moderator *m, uint32_t e, uint64_t start, uint64_t end)
{
    unsigned cls = FOLD_CLASS(e);
    uint32_t f = FOLD_CP(e);
    vrun *run = &m->ring[m->seq % QL__MOD_RING];
    if (cls & C_NOISE) {
        int joins = (cls & C_UNDERSCORE) != 0;
        if ((cls & C_LEET) && m->have_run && m->gap == 0 && m->prev_word) {
            cls = C_WORD;      /* sh@t, a$$: a letter after letters */
        } else {
            if (m->have_run && !run->after_set) {
                run->after_set = 1;
                run->after_word = (uint8_t)joins;
                run->after_cjk = 0;
                if (f == '.')
                    run->after_set |= AFTER_DOT;
            }
            m->prev_word = joins;
            m->prev_cjk = 0;
            m->gap++;
            m->noise_since |= (cls & C_CLAUSE) ? (int)(GAP_NOISE | GAP_CLAUSE) : (int)GAP_NOISE;
            if (f == '%')
                m->noise_since |= (int)GAP_PCT;
            else
                m->noise_since &= ~(int)GAP_PCT;
            if (f == ' ' || f == '\t' || f == 0x3000 || f == 0xA0)
                m->noise_since |= (int)GAP_SPACE;
            if (m->gap > QL__MOD_MAX_GAP && !m->broken) {
                if (m->have_run)
                    close_run(m);
                m->break_seq = m->seq;
                m->broken = 1;
            }
            return;
        }
    }
    int word = (cls & C_WORD) != 0;
    if (m->have_run) {
        /* A repeat collapses into the run, across noise too ("傻 傻逼",
         * "a s s"), except a Latin letter after noise when the run ends a
         * longer word: "is shit" is two words, not "i" + "ss" + "hit". */
        if (run->cp == f && (!m->noise_since || !word ||
                             (!run->before_word && !(cls & C_DIGIT)))) {
            run->count++;
            /* (viewed reversed, a repeat comes before the run's bytes) */
            if (end > run->end)
                run->end = end;
            if (start < run->start)
                run->start = start;
            run->after_set = 0;
            run->inner_noise |= (uint8_t)m->noise_since;
            m->gap = 0;
            m->noise_since = 0;
            m->prev_word = word;
            m->prev_cjk = (cls & C_CJK) != 0;
            return;
        }
        if (!run->after_set) {
            run->after_set = 1;
            run->after_word = (uint8_t)word;
            run->after_cjk = (cls & C_CJK) != 0;
        }
        close_run(m);
        run = &m->ring[m->seq % QL__MOD_RING];
        /* Initials followed, after a space, by a number are an acronym
         * with its number (SB 1047, TMD 3), not an insult.  Digits after
         * noise always come this way, so the next run is seen here. */
        if (m->initials_seq == m->seq - 1 && (cls & C_DIGIT) &&
            (m->noise_since & (int)GAP_SPACE) && !(m->noise_since & (int)GAP_CLAUSE)) {
            mhit *hh = m->hits.items;
            for (size_t k = m->hits.count; k > 0 && hh[k - 1].seq_last == m->initials_seq; k--)
                if (m->lx->words[hh[k - 1].word].form == F_INITIALS)
                    hh[k - 1].flags |= HIT_DROPPED;
        }
    }
    run->cp = f;
    run->kc = keyclass(f);
    run->is_word = (uint8_t)word;
    run->count = 1;
    run->start = start;
    run->end = end;
    run->before_word = (uint8_t)m->prev_word;
    run->after_word = 0;
    run->after_set = 0;
    run->inner_noise = 0;
    run->gap_before = (uint8_t)m->noise_since;
    run->before_cjk = (uint8_t)m->prev_cjk;
    run->after_cjk = 0;
    m->have_run = 1;
    m->gap = 0;
    m->broken = 0;
    m->noise_since = 0;
    m->prev_word = word;
    m->prev_cjk = (cls & C_CJK) != 0;
}

/* The common case of Chinese text, one loop with nothing to decide: a
 * three-byte character, Chinese after folding, after an open run of a
 * Chinese character, with no noise between.  Returns where it stopped;
 * the general path takes anything else (noise, repeats, other scripts). */
static inline size_t view_cjk(ql_moderator *m, const uint8_t *p, size_t i, size_t n,
                              uint64_t base)
{
    const ql_lexicon *lx = m->lx;
    const unsigned want1 = lx->key_lengths & 2u, want2 = lx->key_lengths & 4u;
    /* In locals: the stores to the ring below could alias them for all
     * the compiler knows, and it would load them again each time. */
    const uint64_t *const endn = lx->endn, *const end1 = lx->end1;
    const uint64_t *const pairs = lx->pairs;
    const unsigned pair_bits = lx->pair_bits;
    const uint64_t break_seq = m->break_seq;
    vrun *const ring = m->ring;
    uint64_t seq = m->seq;
    vrun *run = &ring[seq % QL__MOD_RING];
    unsigned gap = m->gap;
    int noise = m->noise_since, last_noise = -1;
    while (i + 2 < n) {
        uint8_t b0 = p[i], b1 = p[i + 1], b2 = p[i + 2];
        if (((b0 & 0xF0) ^ 0xE0) | ((b1 & 0xC0) ^ 0x80) | ((b2 & 0xC0) ^ 0x80))
            break;
        uint32_t cp = ((uint32_t)(b0 & 0x0F) << 12) | ((uint32_t)(b1 & 0x3F) << 6) | (b2 & 0x3F);
        uint32_t o = cp - CJK_PLAIN_LO, e;
        if (o < CJK_PLAIN_HI - CJK_PLAIN_LO && ((g_cjk_plain[o >> 6] >> (o & 63)) & 1))
            e = cp | ((uint32_t)C_CJK << 24);
        else
            e = g_fold[cp];
        uint32_t f = FOLD_CP(e);
        unsigned cls = FOLD_CLASS(e);
        if (cp < 0x800)
            break;
        if (cls & C_NOISE) {
            /* Chinese punctuation, within the gap allowed (a
             * right-to-left override goes the general way) */
            if ((cls & (C_LEET | C_UNDERSCORE)) || gap >= QL__MOD_MAX_GAP || cp == 0x202E)
                break;
            if (!run->after_set) {
                run->after_set = 1;
                run->after_word = 0;
                run->after_cjk = 0;
                if (f == '.')
                    run->after_set |= AFTER_DOT;
            }
            noise |= (cls & C_CLAUSE) ? (int)(GAP_NOISE | GAP_CLAUSE) : (int)GAP_NOISE;
            noise = f == '%' ? noise | (int)GAP_PCT : noise & ~(int)GAP_PCT;
            if (f == 0x3000)
                noise |= (int)GAP_SPACE;
            gap++;
            last_noise = 1;
            i += 3;
            continue;
        }
        if (cls != C_CJK || f == run->cp)
            break;
        /* close the open run (a Chinese character: no boundary rules) */
        if (!run->after_set) {
            run->after_set = 1;
            run->after_word = 0;
            run->after_cjk = 1;
        }
        uint32_t c0 = run->kc;
        seq++;
        if (want1 && ends_word(end1, c0)) {
            m->seq = seq;
            uint32_t c[2] = {c0, 0};
            const bucket *bk = lookup(lx, key_pack(1, c));
            if (bk)
                check_bucket(m, bk);
        }
        if (want2 && ends_word(endn, c0) && seq - break_seq >= 2) {
            uint32_t c1 = ring[(seq - 2) % QL__MOD_RING].kc;
            if (!pair_maybe(pairs, pair_bits, c1, c0))
                goto next;
            uint32_t c[2] = {c0, c1};
            uint64_t k = key_pack(2, c);
            const bucket *bk = probe(lx, k, key_hash(k));
            if (bk) {
                m->seq = seq;
                check_bucket(m, bk);
            }
        }
    next:
        /* open the next */
        run = &ring[seq % QL__MOD_RING];
        run->cp = f;
        run->kc = f;
        run->count = 1;
        run->start = base + i;
        run->end = base + i + 3;
        run->flags8 = run_cjk_template.flags8;
        if (noise) {
            run->before_cjk = 0;
            run->gap_before = (uint8_t)noise;
        }
        noise = 0;
        gap = 0;
        last_noise = 0;
        i += 3;
    }
    m->seq = seq;
    m->gap = gap;
    m->noise_since = noise;
    if (last_noise >= 0) {
        m->prev_cjk = !last_noise;
        m->prev_word = 0;
        m->broken = 0;
    }
    return i;
}

/* The common case of logs and numbers: ASCII letters and digits after a
 * run of one, no noise between.  Inside such a word no lexicon word can
 * end (Latin words are whole words), so runs close without lookups. */
static inline size_t view_alnum(ql_moderator *m, const uint8_t *p, size_t i, size_t n,
                                uint64_t base)
{
    uint64_t seq = m->seq;
    vrun *run = &m->ring[seq % QL__MOD_RING];
    while (i < n) {
        uint8_t b = p[i];
        uint32_t e = g_fold[b & 0x7F];
        if (b >= 0x80 || FOLD_CLASS(e) & C_NOISE)
            break;
        uint32_t f = FOLD_CP(e);
        if (f == run->cp) {
            run->count++;
            run->end = base + i + 1;
            i++;
            continue;
        }
        run->after_set = 1;
        run->after_word = 1;
        run->after_cjk = 0;
        seq++;
        run = &m->ring[seq % QL__MOD_RING];
        run->cp = f;
        run->kc = keyclass(f);
        run->count = 1;
        run->start = base + i;
        run->end = base + i + 1;
        run->flags8 = run_alnum_template.flags8;
        i++;
    }
    m->seq = seq;
    return i;
}

/* A stretch of ASCII noise (spaces, punctuation) at once: what view_char
 * does for each, done for all. */
static inline size_t view_ascii_noise(ql_moderator *m, const uint8_t *p, size_t i, size_t n)
{
    size_t j = i;
    unsigned clause = 0, space = 0;
    while (j < n && p[j] < 0x80) {
        unsigned cls = FOLD_CLASS(g_fold[p[j]]);
        if (!(cls & C_NOISE) || (cls & (C_LEET | C_UNDERSCORE)))
            break;
        clause |= cls & C_CLAUSE;
        if (p[j] == ' ' || p[j] == '\t')
            space = 1;
        j++;
    }
    if (j == i)
        return i;
    vrun *run = &m->ring[m->seq % QL__MOD_RING];
    if (m->have_run && !run->after_set) {
        run->after_set = 1;
        run->after_word = 0;
        run->after_cjk = 0;
        if (p[i] == '.')
            run->after_set |= AFTER_DOT;
    }
    m->prev_word = 0;
    m->prev_cjk = 0;
    m->noise_since |= clause ? (int)(GAP_NOISE | GAP_CLAUSE) : (int)GAP_NOISE;
    if (p[j - 1] == '%')
        m->noise_since |= (int)GAP_PCT;
    else
        m->noise_since &= ~(int)GAP_PCT;
    if (space)
        m->noise_since |= (int)GAP_SPACE;
    m->gap += (unsigned)(j - i);
    if (m->gap > QL__MOD_MAX_GAP && !m->broken) {
        if (m->have_run)
            close_run(m);
        m->break_seq = m->seq;
        m->broken = 1;
    }
    return j;
}

#define REV_END UINT32_MAX

/* A break in the view: no word is matched across it. */
static void view_break(ql_moderator *m)
{
    if (m->have_run) {
        vrun *run = &m->ring[m->seq % QL__MOD_RING];
        if (!run->after_set) {
            run->after_set = 1;
            run->after_word = 0;
            run->after_cjk = 0;
        }
        close_run(m);
    }
    m->break_seq = m->seq;
    m->broken = 1;
    m->gap = 0;
    m->noise_since = 0;
    m->prev_word = 0;
    m->prev_cjk = 0;
}

/* The overrides of the message again, each reversed, each apart. */
static void view_reversed(ql_moderator *m)
{
    unsigned end = 0;
    while (end < m->nrev) {
        unsigned begin = end;
        while (end < m->nrev && m->rev[end].e != REV_END)
            end++;
        if (end > begin) {
            view_break(m);
            if (m->rev_seq == UINT64_MAX)
                m->rev_seq = m->seq;
            for (unsigned i = end; i-- > begin;)
                view_char(m, m->rev[i].e, m->rev[i].start, m->rev[i].end);
        }
        end++;
    }
    if (m->nrev)
        view_break(m);
    m->nrev = 0;
}

static void rev_push(ql_moderator *m, uint32_t e, uint64_t start, uint64_t end)
{
    if (m->nrev < QL__MOD_MAX_REV) {
        m->rev[m->nrev].e = e;
        m->rev[m->nrev].start = start;
        m->rev[m->nrev].end = end;
        m->nrev++;
    }
}

static int ends_override(uint32_t cp)
{
    return cp == 0x202C || cp == 0x202A || cp == 0x202B || cp == 0x202D ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == '\n' || cp == '\r' || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x85;
}

/* One character of the general path, noting right-to-left overrides. */
static void view_cp(ql_moderator *m, uint32_t cp, uint32_t e, uint64_t start, uint64_t end)
{
    if (cp == 0x202E) {
        if (m->rlo)
            rev_push(m, REV_END, 0, 0);
        m->rlo = 1;
    } else if (m->rlo) {
        if (ends_override(cp)) {
            rev_push(m, REV_END, 0, 0);
            m->rlo = 0;
        } else {
            rev_push(m, e, start, end);
        }
    }
    view_char(m, e, start, end);
}

static void view_bytes(ql_moderator *m, const uint8_t *p, size_t n, uint64_t base)
{
    size_t i = 0;
    int rlo = m->rlo;   /* only the general path below changes it */
    while (i < n) {
        uint8_t b = p[i];
        if (rlo)
            goto general;
        if (b < 0x80 && (FOLD_CLASS(g_fold[b]) & C_NOISE)) {
            size_t j = view_ascii_noise(m, p, i, n);
            if (j != i) {
                i = j;
                continue;
            }
        }
        if (b < 0x80 && m->have_run && !m->noise_since &&
            m->ring[m->seq % QL__MOD_RING].is_word) {
            size_t j = view_alnum(m, p, i, n, base);
            if (j != i) {
                m->prev_word = 1;
                m->prev_cjk = 0;
                m->gap = 0;
                m->broken = 0;
                i = j;
                continue;
            }
        }
        /* (the open run must be Chinese: Hangul and other scripts above
         * U+3400 would pass for it, and the fast path marks what follows
         * as coming after Chinese) */
        if ((b & 0xF0) == 0xE0 && m->have_run && !m->broken &&
            m->ring[m->seq % QL__MOD_RING].kc >= 0x3400 &&
            m->ring[m->seq % QL__MOD_RING].kc < 0x10000 &&
            (FOLD_CLASS(g_fold[m->ring[m->seq % QL__MOD_RING].kc]) & C_CJK)) {
            size_t j = view_cjk(m, p, i, n, base);
            if (j != i) {
                i = j;
                continue;
            }
        }
    general:
        if (b < 0x80) {
            if (rlo) {
                view_cp(m, b, g_fold[b], base + i, base + i + 1);
                rlo = m->rlo;
            } else {
                view_char(m, g_fold[b], base + i, base + i + 1);
            }
            i++;
            continue;
        }
        uint32_t cp;
        int l;
        if ((b & 0xF0) == 0xE0 && i + 2 < n && (p[i + 1] & 0xC0) == 0x80 &&
            (p[i + 2] & 0xC0) == 0x80) {
            /* Three bytes: all of Chinese. */
            cp = ((uint32_t)(b & 0x0F) << 12) | ((uint32_t)(p[i + 1] & 0x3F) << 6) |
                 (p[i + 2] & 0x3F);
            l = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF) ? 3 : -1;
        } else {
            l = utf8_next(p + i, n - i, &cp);
        }
        if (l == 0) {
            /* Cut by the chunk's end: keep the bytes for the next one. */
            memcpy(m->pend, p + i, n - i);
            m->npend = n - i;
            return;
        }
        if (l < 0) {
            view_cp(m, 0xFFFD, g_fold[0xFFFD], base + i, base + i + 1);   /* noise */
            i++;
            rlo = m->rlo;
            continue;
        }
        view_cp(m, cp, fold(cp), base + i, base + i + (size_t)l);
        i += (size_t)l;
        rlo = m->rlo;
    }
}

ql_status ql_moderate_write(ql_moderator *m, const uint8_t *data, size_t length)
{
    if (!m || (!data && length))
        return QL_EINVAL;
    if (!m->open)
        return QL_ESTATE;
    if (m->error != QL_OK)
        return m->error;
    if (m->stream) {
        ql_status st = ql_stream_write(m->stream, data, length);
        if (st != QL_OK)
            return m->error != QL_OK ? m->error : st;
    }
    ql__mm_write(&m->mm, data, length, m->offset);
    size_t used = 0;
    if (m->npend) {
        /* Characters starting in the bytes the last chunk cut: decode
         * them from those bytes and the first of this chunk, as one
         * buffer would have (an invalid byte is one byte of noise, and the
         * bytes after it start again). */
        uint8_t tmp[8];
        size_t have = m->npend, k = length < 4 ? length : 4;
        memcpy(tmp, m->pend, have);
        if (k)
            memcpy(tmp + have, data, k);
        size_t total = have + k, pos = 0;
        uint64_t base = m->offset - m->npend;
        while (pos < have) {
            uint32_t cp;
            int l = utf8_next(tmp + pos, total - pos, &cp);
            if (l == 0) {
                /* still cut: all of this chunk is in tmp */
                memcpy(m->pend, tmp + pos, total - pos);
                m->npend = total - pos;
                m->offset += length;
                return m->error;
            }
            if (l < 0) {
                view_cp(m, 0xFFFD, g_fold[0xFFFD], base + pos, base + pos + 1);
                pos++;
            } else {
                view_cp(m, cp, fold(cp), base + pos, base + pos + (uint64_t)l);
                pos += (size_t)l;
            }
        }
        m->npend = 0;
        used = pos - have;
    }
    view_bytes(m, data + used, length - used, m->offset + used);
    m->offset += length;
    return m->error;
}

/* ------------------------------------------------------------- finish */

/* Messages have few hits: insertion sort below 64, qsort above. */
static void sort_small(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n >= 64) {
        qsort(base, n, size, cmp);
        return;
    }
    char *b = base;
    char tmp[sizeof(ql_hit) > sizeof(mhit) ? sizeof(ql_hit) : sizeof(mhit)];
    for (size_t i = 1; i < n; i++) {
        size_t j = i;
        memcpy(tmp, b + i * size, size);
        while (j > 0 && cmp(b + (j - 1) * size, tmp) > 0) {
            memcpy(b + j * size, b + (j - 1) * size, size);
            j--;
        }
        if (j != i)
            memcpy(b + j * size, tmp, size);
    }
}

static int hit_cmp(const void *a, const void *b)
{
    const ql_hit *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1;
    int c = strcmp(x->category, y->category);
    if (c)
        return c;
    return (x->kind > y->kind) - (x->kind < y->kind);
}

static double severity_weight(ql_severity s)
{
    switch (s) {
    case QL_SEVERITY_CRITICAL: return 1.0;
    case QL_SEVERITY_HIGH: return 0.85;
    case QL_SEVERITY_MEDIUM: return 0.55;
    case QL_SEVERITY_LOW: return 0.3;
    default: return 0.0;
    }
}

static char *keep_string(ql_moderator *m, const char *s)
{
    char *d = ql__strdup(&m->allocator, s);
    if (!d)
        return NULL;
    if (ql__vec_push(&m->allocator, &m->strings, &d) != QL_OK) {
        ql__free(&m->allocator, d);
        return NULL;
    }
    return d;
}

static ql_status emit(ql_moderator *m, ql_hit_kind kind, const mrule *r, ql_severity sev,
                      double confidence, const char *word, const char *form,
                      uint64_t start, uint64_t end, const char *masked)
{
    ql_hit h;
    memset(&h, 0, sizeof h);
    h.kind = kind;
    h.rule_id = r ? r->id : "moderate.doxxing";
    h.category = r ? r->category : "harmful.doxxing";
    h.severity = sev;
    h.confidence = confidence;
    h.word = word;
    h.form = form;
    h.start = start;
    h.end = end;
    h.masked = masked;
    return ql__vec_push(&m->allocator, &m->out_hits, &h);
}

static int mhit_first_cmp(const void *a, const void *b)
{
    const mhit *x = a, *y = b;
    if (x->seq_first != y->seq_first)
        return x->seq_first < y->seq_first ? -1 : 1;
    return x->seq_last > y->seq_last ? -1 : x->seq_last < y->seq_last;
}

/* Allow-list phrases: a hit of a rule lying inside an allow hit of the
 * same rule is dropped. */
static int aentry_cmp(const void *a, const void *b)
{
    const aentry *x = a, *y = b;
    if (x->rule != y->rule)
        return x->rule < y->rule ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Allow-list phrases: a hit of a rule lying inside an allow hit of the
 * same rule is dropped.  The allow hits are sorted by (rule, first) with
 * the farthest reach so far, so each hit is one binary search: a message
 * (or file) full of 操 and 体操 stays linear-logarithmic. */
static ql_status apply_allow(ql_moderator *m)
{
    const ql_lexicon *lx = m->lx;
    mhit *h = m->hits.items;
    size_t n = m->hits.count;
    m->allows.count = 0;
    for (size_t i = 0; i < n; i++) {
        const mword *w = &lx->words[h[i].word];
        if (w->kind != W_ALLOW)
            continue;
        aentry e = {w->rule, h[i].seq_first, h[i].seq_last, 0};
        if (ql__vec_push(&m->allocator, &m->allows, &e) != QL_OK)
            return QL_ENOMEM;
    }
    size_t na = m->allows.count;
    if (!na)
        return QL_OK;
    aentry *a = m->allows.items;
    qsort(a, na, sizeof *a, aentry_cmp);
    for (size_t k = 0; k < na; k++)
        a[k].reach = (k > 0 && a[k - 1].rule == a[k].rule && a[k - 1].reach > a[k].last)
                         ? a[k - 1].reach : a[k].last;
    for (size_t i = 0; i < n; i++) {
        const mword *w = &lx->words[h[i].word];
        if (w->kind == W_ALLOW || !lx->rules[w->rule].has_allow)
            continue;
        /* the last allow entry with (rule, first) <= (w->rule, h.first) */
        size_t lo = 0, hi = na;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (a[mid].rule < w->rule || (a[mid].rule == w->rule && a[mid].first <= h[i].seq_first))
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && a[lo - 1].rule == w->rule && a[lo - 1].reach >= h[i].seq_last)
            h[i].flags |= HIT_DROPPED;
    }
    return QL_OK;
}

static double form_confidence(const mword *w, uint32_t flags)
{
    double c = w->form == F_INITIALS ? 0.7 : w->form == F_PINYIN ? 0.85 : 1.0;
    if (flags & HIT_NOISY)
        c *= 0.95;
    if (flags & HIT_CLAUSE)
        c *= 0.6;
    return c;
}

static ql_status word_hits(ql_moderator *m)
{
    const ql_lexicon *lx = m->lx;
    mhit *h = m->hits.items;
    size_t n = m->hits.count;
    /* Hits come in the order their last run closed, and no word is
     * longer than 48 runs: sorted by first run, each moves back only
     * past the few that end in its span.  Insertion sort, linear here. */
    for (size_t i = 1; i < n; i++) {
        mhit x = h[i];
        size_t j = i;
        while (j > 0 && mhit_first_cmp(&h[j - 1], &x) > 0) {
            h[j] = h[j - 1];
            j--;
        }
        h[j] = x;
    }
    ql_status ast = apply_allow(m);
    if (ast != QL_OK)
        return ast;
    /* Containment: of hits of one category, keep the longest (大傻逼
     * over 傻逼); same span from several forms is one hit. */
    for (size_t i = 0; i < n; i++) {
        if (h[i].flags & HIT_DROPPED)
            continue;
        const mword *w = &lx->words[h[i].word];
        if (w->kind != W_TERM)
            continue;
        const mrule *r = &lx->rules[w->rule];
        if (r->role != ROLE_TERM)
            continue;
        for (size_t j = i + 1; j < n && h[j].seq_first <= h[i].seq_last; j++) {
            if (h[j].flags & HIT_DROPPED)
                continue;
            const mword *w2 = &lx->words[h[j].word];
            if (w2->kind != W_TERM || lx->rules[w2->rule].role != ROLE_TERM ||
                lx->rules[w2->rule].category_index != r->category_index)
                continue;
            if (h[j].seq_last <= h[i].seq_last) {
                /* j inside i: keep the stronger when the spans are equal */
                if (h[j].seq_first == h[i].seq_first && h[j].seq_last == h[i].seq_last &&
                    lx->rules[w2->rule].severity > r->severity) {
                    h[i].flags |= HIT_DROPPED;
                    break;
                }
                h[j].flags |= HIT_DROPPED;
            }
        }
    }
    /* Overrides viewed reversed at the end (view_reversed): a word found
     * there and one found in the logical order hold the same bytes;
     * containment by bytes, the logical one kept when they are equal. */
    for (size_t i = 0; m->rev_seq != UINT64_MAX && i < n; i++) {
        if ((h[i].flags & HIT_DROPPED) || h[i].seq_first < m->rev_seq)
            continue;
        const mword *w = &lx->words[h[i].word];
        if (w->kind != W_TERM || lx->rules[w->rule].role != ROLE_TERM)
            continue;
        for (size_t j = 0; j < n; j++) {
            const mword *w2 = &lx->words[h[j].word];
            if (j == i || (h[j].flags & HIT_DROPPED) || w2->kind != W_TERM ||
                lx->rules[w2->rule].role != ROLE_TERM ||
                lx->rules[w2->rule].category_index != lx->rules[w->rule].category_index)
                continue;
            int j_in_i = h[j].start >= h[i].start && h[j].end <= h[i].end;
            int i_in_j = h[i].start >= h[j].start && h[i].end <= h[j].end;
            if (i_in_j && (!j_in_i || h[j].seq_first < m->rev_seq)) {
                h[i].flags |= HIT_DROPPED;
                break;
            }
            if (j_in_i)
                h[j].flags |= HIT_DROPPED;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (h[i].flags & HIT_DROPPED)
            continue;
        const mword *w = &lx->words[h[i].word];
        if (w->kind != W_TERM)
            continue;
        const mrule *r = &lx->rules[w->rule];
        if (r->role != ROLE_TERM)
            continue;   /* doxxing words are reported by doxxing() */
        double conf = form_confidence(w, h[i].flags);
        ql_status st = emit(m, QL_HIT_WORD, r, r->severity, conf, lx->pool + w->text_off,
                            form_names[w->form], h[i].start, h[i].end, NULL);
        if (st != QL_OK)
            return st;
        if (!r->signal) {
            double *s = &m->cat_score[r->category_index];
            *s = 1 - (1 - *s) * (1 - severity_weight(r->severity) * conf);
        }
    }
    return QL_OK;
}

/* Co-occurrence: all parts of a rule within `within` characters of the
 * view.  One hit per rule and message, over the first window found. */
/* One co-occurrence rule over its own part hits `idx` (indices into the
 * message's hits, by seq_first): slide a window; when every part is in
 * it, one hit naming the words that met. */
/* A part hit inside a longer hit of another part of the same rule (臭 in
 * 臭虫, with parts [臭, ...] and [..., 臭虫]) is no occurrence of its own:
 * one word must not stand for two parts.  The hits come in order of
 * their first run, longer first: a hit that holds this one came before
 * it, so each part's furthest end so far (and the earliest start among
 * the hits that reach it) tells.  Removes those from idx, keeping the
 * order, and returns how many are left. */
static size_t drop_inner_parts(const ql_lexicon *lx, unsigned parts, const mhit *h, uint32_t *idx,
                               size_t n)
{
    uint64_t maxl[QL__MOD_MAX_PARTS], minf[QL__MOD_MAX_PARTS];
    int seen[QL__MOD_MAX_PARTS] = {0};
    for (unsigned p = 0; p < QL__MOD_MAX_PARTS; p++)
        maxl[p] = minf[p] = 0;
    size_t o = 0;
    for (size_t k = 0; k < n; k++) {
        const mhit *x = &h[idx[k]];
        unsigned px = lx->words[x->word].part;
        int inner = 0;
        for (unsigned p = 0; p < parts && !inner; p++)
            inner = p != px && seen[p] &&
                    (maxl[p] > x->seq_last || (maxl[p] == x->seq_last && minf[p] < x->seq_first));
        if (!seen[px] || x->seq_last > maxl[px]) {
            seen[px] = 1;
            maxl[px] = x->seq_last;
            minf[px] = x->seq_first;
        }
        if (!inner)
            idx[o++] = idx[k];
    }
    return o;
}

static ql_status cooccurrence_rule(ql_moderator *m, size_t ri, uint32_t *idx, size_t n)
{
    const ql_lexicon *lx = m->lx;
    const mrule *r = &lx->rules[ri];
    const mhit *h = m->hits.items;
    n = drop_inner_parts(lx, r->parts, h, idx, n);
    unsigned have[QL__MOD_MAX_PARTS] = {0};
    unsigned distinct = 0;
    size_t lo = 0;
    for (size_t i = 0; i < n; i++) {
        const mhit *hi = &h[idx[i]];
        if (have[lx->words[hi->word].part]++ == 0)
            distinct++;
        while (lo < i && hi->seq_last - h[idx[lo]].seq_first + 1 > r->within) {
            if (--have[lx->words[h[idx[lo]].word].part] == 0)
                distinct--;
            lo++;
        }
        if (distinct < r->parts)
            continue;
        uint64_t fs = UINT64_MAX, fe = 0;
        double conf = 1.0;
        const char *pw[QL__MOD_MAX_PARTS] = {0};
        for (size_t j = lo; j <= i; j++) {
            const mhit *hj = &h[idx[j]];
            const mword *jw = &lx->words[hj->word];
            if (hj->start < fs)
                fs = hj->start;
            if (hj->end > fe)
                fe = hj->end;
            double c = form_confidence(jw, hj->flags);
            if (c < conf)
                conf = c;
            if (!pw[jw->part])
                pw[jw->part] = lx->pool + jw->text_off;
        }
        /* The words that met, joined with '+' in the rule's order. */
        char buf[QL__MOD_MAX_PARTS * (QL__MOD_MAX_WORD + 1)];
        size_t bo = 0;
        for (unsigned p = 0; p < r->parts; p++) {
            size_t tl = pw[p] ? strlen(pw[p]) : 0;
            if (bo + tl + 2 < sizeof buf) {
                if (p)
                    buf[bo++] = '+';
                memcpy(buf + bo, pw[p] ? pw[p] : "", tl);
                bo += tl;
            }
        }
        buf[bo] = '\0';
        const char *word = keep_string(m, buf);
        if (!word)
            return QL_ENOMEM;
        ql_status st = emit(m, QL_HIT_COOCCURRENCE, r, r->severity, conf, word, "text", fs, fe, NULL);
        if (st != QL_OK)
            return st;
        double *sc = &m->cat_score[r->category_index];
        *sc = 1 - (1 - *sc) * (1 - severity_weight(r->severity) * conf);
        return QL_OK;
    }
    return QL_OK;
}

/* Co-occurrence: all parts of a rule within `within` characters of the
 * view, one hit per rule and message over the first window found.  The
 * part hits are grouped by rule first (a counting sort over the rules
 * that have some, keeping the hits' order), so each rule sees only its
 * own and a message full of one-character parts stays linear. */
static ql_status cooccurrence(ql_moderator *m)
{
    const ql_lexicon *lx = m->lx;
    const mhit *h = m->hits.items;
    size_t n = m->hits.count, np = 0;
    uint32_t *cnt = m->rule_counts;
    m->touched.count = 0;
    for (size_t i = 0; i < n; i++) {
        const mword *w = &lx->words[h[i].word];
        if (w->kind != W_PART || (h[i].flags & HIT_DROPPED))
            continue;
        if (cnt[w->rule]++ == 0 &&
            ql__vec_push(&m->allocator, &m->touched, &w->rule) != QL_OK) {
            /* the counts must be zero for the next message */
            cnt[w->rule] = 0;
            for (size_t k = 0; k < m->touched.count; k++)
                cnt[QL__VEC_AT(&m->touched, uint32_t, k)] = 0;
            return QL_ENOMEM;
        }
        np++;
    }
    if (!np)
        return QL_OK;
    uint32_t *rules = m->touched.items;
    size_t nr = m->touched.count;
    /* in rule order, so hits and scores come out the same every time */
    for (size_t a = 1; a < nr; a++) {
        uint32_t x = rules[a];
        size_t b = a;
        while (b > 0 && rules[b - 1] > x) {
            rules[b] = rules[b - 1];
            b--;
        }
        rules[b] = x;
    }
    if (ql__vec_reserve(&m->allocator, &m->parts, np) != QL_OK ||
        ql__vec_reserve(&m->allocator, &m->group_end, nr) != QL_OK) {
        for (size_t k = 0; k < nr; k++)
            cnt[rules[k]] = 0;
        return QL_ENOMEM;
    }
    uint32_t *ends = m->group_end.items;
    uint32_t off = 0;
    for (size_t k = 0; k < nr; k++) {
        uint32_t c = cnt[rules[k]];
        cnt[rules[k]] = off;          /* now: where the rule's next hit goes */
        off += c;
        ends[k] = off;
    }
    uint32_t *idx = m->parts.items;
    for (size_t i = 0; i < n; i++) {
        const mword *w = &lx->words[h[i].word];
        if (w->kind != W_PART || (h[i].flags & HIT_DROPPED))
            continue;
        idx[cnt[w->rule]++] = (uint32_t)i;
    }
    ql_status st = QL_OK;
    for (size_t k = 0; k < nr; k++) {
        uint32_t begin = k ? ends[k - 1] : 0;
        if (st == QL_OK && lx->rules[rules[k]].parts)
            st = cooccurrence_rule(m, rules[k], idx + begin, ends[k] - begin);
        cnt[rules[k]] = 0;
    }
    return st;
}

static int strong_identifier(const char *type)
{
    static const char *const strong[] = {
        "cn_resident_id", "cn_passport", "cn_hk_macau_permit", "cn_taiwan_permit",
        "cn_home_return_permit", "hk_id", "macau_id", "tw_id",
    };
    for (size_t i = 0; i < sizeof strong / sizeof *strong; i++)
        if (strcmp(type, strong[i]) == 0)
            return 1;
    return 0;
}

static int personal_identifier(const char *type)
{
    static const char *const personal[] = {
        "cn_mobile_phone", "cn_landline_phone", "bank_card", "person_name", "cn_address",
        "email", "cn_license_plate", "medical_record_no",
    };
    if (strong_identifier(type))
        return 1;
    for (size_t i = 0; i < sizeof personal / sizeof *personal; i++)
        if (strcmp(type, personal[i]) == 0)
            return 1;
    return 0;
}

/* Doxxing: identifiers of a person (from the PII engine) together with
 * exposure or mobilisation words.  Self-disclosure is reported low. */
static ql_status doxxing(ql_moderator *m)
{
    const ql_lexicon *lx = m->lx;
    size_t strong = 0, types = 0;
    const char *seen[32];
    for (size_t i = 0; i < m->pii.count; i++) {
        const pii *p = &QL__VEC_AT(&m->pii, pii, i);
        if (!personal_identifier(p->type))
            continue;
        if (strong_identifier(p->type))
            strong++;
        size_t k = 0;
        while (k < types && strcmp(seen[k], p->type) != 0)
            k++;
        if (k == types && types < 32)
            seen[types++] = p->type;
    }
    if (!types)
        return QL_OK;
    const mhit *h = m->hits.items;
    const mrule *exposure = NULL, *self = NULL;
    for (size_t i = 0; i < m->hits.count; i++) {
        if (h[i].flags & HIT_DROPPED)
            continue;
        const mword *w = &lx->words[h[i].word];
        if (w->kind != W_TERM)
            continue;
        const mrule *r = &lx->rules[w->rule];
        if (r->role == ROLE_EXPOSURE && !exposure)
            exposure = r;
        if (r->role == ROLE_SELF && !self)
            self = r;
    }
    if (!exposure && !self)
        return QL_OK;
    ql_hit_kind kind = exposure ? QL_HIT_DOXXING : QL_HIT_SELF_DISCLOSURE;
    ql_severity sev;
    double conf;
    if (exposure && (strong || types >= 2)) {
        sev = QL_SEVERITY_HIGH;
        conf = 0.95;
    } else if (exposure) {
        sev = QL_SEVERITY_HIGH;
        conf = 0.65;
    } else {
        sev = QL_SEVERITY_LOW;
        conf = 0.5;
    }
    size_t cat = 0;
    while (cat < lx->category_count && strcmp(lx->categories[cat], "harmful.doxxing") != 0)
        cat++;
    /* The words that expose, then each identifier (masked). */
    for (size_t i = 0; i < m->hits.count; i++) {
        if (h[i].flags & HIT_DROPPED)
            continue;
        const mword *w = &lx->words[h[i].word];
        const mrule *r = &lx->rules[w->rule];
        if (w->kind != W_TERM || r->role == ROLE_TERM ||
            (exposure && r->role != ROLE_EXPOSURE))
            continue;
        ql_status st = emit(m, kind, r, sev, conf * form_confidence(w, h[i].flags),
                            lx->pool + w->text_off, form_names[w->form], h[i].start, h[i].end,
                            NULL);
        if (st != QL_OK)
            return st;
    }
    for (size_t i = 0; i < m->pii.count; i++) {
        const pii *p = &QL__VEC_AT(&m->pii, pii, i);
        if (!personal_identifier(p->type))
            continue;
        ql_status st = emit(m, QL_HIT_IDENTIFIER, NULL, sev, conf, p->type, "pii", p->start,
                            p->end, p->masked);
        if (st != QL_OK)
            return st;
        ql_hit *last = &QL__VEC_AT(&m->out_hits, ql_hit, m->out_hits.count - 1);
        last->rule_id = exposure ? exposure->id : self->id;
        last->kind = QL_HIT_IDENTIFIER;
    }
    if (cat < lx->category_count) {
        double *s = &m->cat_score[cat];
        *s = 1 - (1 - *s) * (1 - severity_weight(sev) * conf);
    }
    return QL_OK;
}

ql_status ql_moderate_finish(ql_moderator *m, const ql_moderation **out)
{
    if (!m || !out)
        return QL_EINVAL;
    *out = NULL;
    if (!m->open)
        return QL_ESTATE;
    m->open = 0;
    if (m->npend) {
        /* A character cut by the end of input: noise. */
        view_cp(m, 0xFFFD, g_fold[0xFFFD], m->offset - m->npend, m->offset);
        m->npend = 0;
    }
    if (m->rlo)
        rev_push(m, REV_END, 0, 0);
    m->rlo = 0;
    view_reversed(m);
    if (m->have_run) {
        vrun *run = &m->ring[m->seq % QL__MOD_RING];
        if (!run->after_set) {
            run->after_set = 1;
            run->after_word = 0;
        }
        close_run(m);
    }
    if (m->stream) {
        ql_status st = ql_stream_finish(m->stream);
        ql_stream_close(m->stream);
        m->stream = NULL;
        if (st != QL_OK)
            return m->error != QL_OK ? m->error : st;
    }
    if (m->error != QL_OK)
        return m->error;
    const ql_lexicon *lx = m->lx;
    for (size_t i = 0; i < lx->category_count; i++)
        m->cat_score[i] = 0;
    ql_status st = word_hits(m);
    if (st == QL_OK)
        st = cooccurrence(m);
    if (st == QL_OK)
        st = doxxing(m);
    if (st != QL_OK)
        return st;
    ql__mm_finish(&m->mm);
    double margin = ql__mm_margin(&m->mm);
    double model_conf = 0;
    const char *model_cat = NULL;
    if (m->model && margin > m->model_threshold) {
        model_conf = round(10000 / (1 + exp(-margin))) / 10000;
        /* The model: review, never block (ql_moderator_set_model). */
        ql_hit h;
        memset(&h, 0, sizeof h);
        h.kind = QL_HIT_MODEL;
        h.rule_id = "model";
        h.category = model_cat = m->model->names[m->mm.best_class];
        h.severity = QL_SEVERITY_MEDIUM;
        h.confidence = model_conf;
        h.word = "model";
        h.form = "model";
        h.start = m->mm.best_start;
        h.end = m->mm.best_end;
        if (ql__vec_push(&m->allocator, &m->out_hits, &h) != QL_OK)
            return QL_ENOMEM;
    }
    sort_small(m->out_hits.items, m->out_hits.count, sizeof(ql_hit), hit_cmp);
    ql_decision overall = QL_DECISION_PASS;
    for (size_t i = 0; i < lx->category_count; i++) {
        double s = m->cat_score[i];
        if (s <= 0)
            continue;
        s = round(s * 10000) / 10000;
        ql_category_score cs;
        cs.category = lx->categories[i];
        cs.score = s;
        cs.decision = s >= lx->block[i] ? QL_DECISION_BLOCK
                    : s >= lx->review[i] ? QL_DECISION_REVIEW : QL_DECISION_PASS;
        if (cs.decision > overall)
            overall = cs.decision;
        if (ql__vec_push(&m->allocator, &m->scores, &cs) != QL_OK)
            return QL_ENOMEM;
    }
    if (model_cat) {
        ql_category_score *cs = m->scores.items;
        size_t i = 0;
        while (i < m->scores.count && strcmp(cs[i].category, model_cat) != 0)
            i++;
        if (i == m->scores.count) {
            ql_category_score ms;
            ms.category = model_cat;
            ms.score = model_conf;
            ms.decision = QL_DECISION_REVIEW;
            if (ql__vec_push(&m->allocator, &m->scores, &ms) != QL_OK)
                return QL_ENOMEM;
        } else if (cs[i].decision < QL_DECISION_REVIEW) {
            cs[i].decision = QL_DECISION_REVIEW;
        }
        if (overall < QL_DECISION_REVIEW)
            overall = QL_DECISION_REVIEW;
    }
    m->result.decision = overall;
    m->result.scores = m->scores.items;
    m->result.score_count = m->scores.count;
    m->result.hits = m->out_hits.items;
    m->result.hit_count = m->out_hits.count;
    m->result.length = m->offset;
    *out = &m->result;
    return QL_OK;
}

ql_status ql_moderator_set_model(ql_moderator *m, const ql_model *model, double threshold)
{
    if (!m || m->open)
        return m ? QL_ESTATE : QL_EINVAL;
    if (!isnan(threshold) && !(fabs(threshold) < 1e6))
        return QL_EINVAL;
    m->model = model;
    m->model_threshold = isnan(threshold) && model ? model->threshold : threshold;
    return QL_OK;
}

ql_status ql_moderate(ql_moderator *m, const uint8_t *data, size_t length,
                      const ql_moderation **out)
{
    if (!m || !out || (!data && length))
        return QL_EINVAL;
    ql_status st = ql_moderate_begin(m);
    if (st == QL_OK)
        st = ql_moderate_write(m, data, length);
    if (st == QL_OK)
        return ql_moderate_finish(m, out);
    m->open = 0;
    return st;
}

const char *ql_decision_name(ql_decision d)
{
    switch (d) {
    case QL_DECISION_PASS: return "pass";
    case QL_DECISION_REVIEW: return "review";
    case QL_DECISION_BLOCK: return "block";
    }
    return "?";
}

const char *ql_hit_kind_name(ql_hit_kind k)
{
    switch (k) {
    case QL_HIT_WORD: return "word";
    case QL_HIT_COOCCURRENCE: return "cooccurrence";
    case QL_HIT_DOXXING: return "doxxing";
    case QL_HIT_SELF_DISCLOSURE: return "self_disclosure";
    case QL_HIT_IDENTIFIER: return "identifier";
    case QL_HIT_MODEL: return "model";
    }
    return "?";
}

/* The folded entry (FOLD_CP | FOLD_CLASS << 24) of any code point, for
 * the model (modmodel.c); ql__fold_table() first. */
const uint32_t *ql__fold_table(void)
{
    pthread_once(&g_fold_once, fold_init);
    return g_fold;
}

uint32_t ql__fold_entry(uint32_t cp)
{
    return fold(cp);
}

/* For tests and docs: the folded form of one character and whether it is
 * noise. */
uint32_t ql__moderate_fold(uint32_t cp, int *noise)
{
    pthread_once(&g_fold_once, fold_init);
    uint32_t e = fold(cp);
    if (noise)
        *noise = (FOLD_CLASS(e) & C_NOISE) != 0;
    return FOLD_CP(e);
}
