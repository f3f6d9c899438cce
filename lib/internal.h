/*
 * internal.h — the structures shared by the library's modules.
 *
 * Nothing here is API.  Names are `ql__` (libuv's convention for internal
 * non-static symbols).  The pieces:
 *
 *   rulefile.c   YAML text -> ql__rule_spec list, with diagnostics
 *   compiler.c   specs -> ql_rules: one Vectorscan database, PCRE2 helpers
 *   validators.c per-type span finding and checks (uses checks.c)
 *   engine.c     windows: triggers -> candidates -> suppression -> findings
 *   stream.c     chunked input over the same window engine
 *   decode.c     GB18030 / UTF-16 -> UTF-8 with an offset map
 *   mask.c       display masks
 */
#ifndef QL_INTERNAL_H
#define QL_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <hs/hs.h>

#include "qinglang.h"
#include "checks.h"

/* ------------------------------------------------------------- memory */

void *ql__malloc(const ql_allocator *a, size_t size);
void *ql__calloc(const ql_allocator *a, size_t count, size_t size);
void *ql__realloc(const ql_allocator *a, void *ptr, size_t size);
void  ql__free(const ql_allocator *a, void *ptr);
char *ql__strndup(const ql_allocator *a, const char *s, size_t n);
char *ql__strdup(const ql_allocator *a, const char *s);

/* A growable array with a hard cap (curl's dynbuf): pushing past `cap`
 * elements fails with QL_ELIMIT instead of growing without bound. */
typedef struct ql__vec {
    void  *items;
    size_t count, alloc, cap, item_size;
} ql__vec;

void      ql__vec_init(ql__vec *v, size_t item_size, size_t cap);
ql_status ql__vec_push(const ql_allocator *a, ql__vec *v, const void *item);
ql_status ql__vec_reserve(const ql_allocator *a, ql__vec *v, size_t count);
void      ql__vec_free(const ql_allocator *a, ql__vec *v);
#define QL__VEC_AT(v, type, i) (((type *)(v)->items)[i])

/* ------------------------------------------------------------- limits */

/* No span is longer than this; it bounds how far any decision looks. */
#define QL__MAX_SPAN        8192u
/* Context words are looked for this many bytes before a value (half as
 * many after) unless a rule sets its own `window`, at most QL__MAX_CONTEXT. */
#define QL__CONTEXT_BEFORE  64u
#define QL__MAX_CONTEXT     1024u
/* Bytes of padding the matcher scans after a window's end (engine.c). */
#define QL__PAD 128u
/* Negative context words must stand right before the value (订单号：). */
#define QL__NEGATIVE_BEFORE 12u
/* Rules, expressions and words per rule set. */
#define QL__MAX_RULES       100000u
#define QL__MAX_WORDS       4096u
/* Candidates kept per window before QL_ELIMIT. */
#define QL__MAX_TRIGGERS    (1u << 26)

/* ---------------------------------------------------------- validators */

typedef enum ql__boundary {
    QL__BOUNDARY_NONE = 0,
    QL__BOUNDARY_DIGIT,    /* no ASCII digit on either side */
    QL__BOUNDARY_ALNUM,    /* no ASCII letter or digit */
    QL__BOUNDARY_WORD,     /* no letter, digit or underscore */
    QL__BOUNDARY_TOKEN,    /* no letter, digit, _ - . + / = */
    QL__BOUNDARY_NONSPACE  /* value ends at space, quote, comma, semicolon */
} ql__boundary;

typedef enum ql__validator_id {
    QL__V_NONE = 0,
    QL__V_CN_RESIDENT_ID,
    QL__V_CN_RESIDENT_ID15,
    QL__V_CN_MOBILE,
    QL__V_CN_LANDLINE,
    QL__V_BANK_CARD,
    QL__V_CN_USCC,
    QL__V_HK_ID,
    QL__V_TW_ID,
    QL__V_MACAU_ID,
    QL__V_CN_PLATE,
    QL__V_PERSON_NAME,
    QL__V_CN_ADDRESS,
    QL__V_EMAIL,
    QL__V_IPV4,
    QL__V_IPV6,
    QL__V_PRIVATE_KEY,
    QL__V_PASSWORD,
    QL__V_JWT,
    QL__V_COUNT
} ql__validator_id;

/* Name in rule files <-> id.  Unknown names give QL__V_COUNT. */
ql__validator_id ql__validator_lookup(const char *name);
const char      *ql__validator_name(ql__validator_id id);

typedef enum ql__mask_style {
    QL__MASK_CHARS = 0,  /* keep head and tail characters, '*' between */
    QL__MASK_MOBILE,     /* the middle 4 of the last 11 digits */
    QL__MASK_EMAIL,      /* first character of the local part, ***, @domain */
    QL__MASK_NAME,       /* surname kept (compound surnames too) */
    QL__MASK_ADDRESS,    /* kept up to the district */
    QL__MASK_FULL,       /* ******** */
    QL__MASK_PEM         /* [RSA PRIVATE KEY, N bytes masked] */
} ql__mask_style;

/* ---------------------------------------------------------------- rules */

/* Where a rule's candidates come from: Vectorscan (the default), the
 * digit-run scanner, or the hex-and-colon scanner (numeric.c). */
typedef enum ql__prefilter {
    QL__PREFILTER_MATCHER = 0,
    QL__PREFILTER_NUMERIC,
    QL__PREFILTER_HEXCOLON
} ql__prefilter;

typedef struct ql__wordlist {
    char  **words;
    size_t *lengths;
    size_t  count;
} ql__wordlist;

typedef struct ql__rule {
    char *id, *type, *category, *description, *source;
    ql_severity severity;
    double confidence;        /* base confidence of a valid value */
    double min_confidence;    /* findings below are dropped */
    double context_boost;     /* added when a context word is near */
    unsigned context_window;  /* bytes before the value searched (after: half) */
    double negative_penalty;  /* subtracted when a negative word is near */
    ql__validator_id validator;
    ql__boundary boundary;
    ql__wordlist context;
    ql__wordlist negative;
    ql__wordlist allow;       /* exact values never reported */
    ql__mask_style mask_style;
    int mask_head, mask_tail;
    int prefilter;            /* enum ql__prefilter: where candidates come from */
    uint32_t first_expr, expr_count;   /* its expressions, contiguous */
    pcre2_code *value_re;     /* `value:` matched anchored after the trigger */
    int value_group;          /* its (?<value>...) group, 0 if none */
    int span_whole;           /* `span: whole`: from the trigger's start */
} ql__rule;

/* One Vectorscan expression of a rule. */
typedef struct ql__expr {
    uint32_t rule;            /* index into rules */
    uint32_t min_width;
    uint32_t max_width;       /* capped at QL__MAX_SPAN */
    int      fixed;           /* min_width == max_width */
    int      literal;         /* from a keyword list: span = max_width */
    pcre2_code *start_re;     /* (?:R)\z for finding the start; NULL if fixed */
    int      value_group;     /* capture group number of (?<value>...), 0 if none */
    int      numeric;         /* triggered by a prefilter scanner, not Vectorscan */
} ql__expr;

/* The numeric prefilter (numeric.c): expressions of rules marked
 * `prefilter: numeric`, by how they are tried at a digit run. */
#define QL__NUMERIC_MAX_WIDTH 64
typedef struct ql__numeric_index {
    uint32_t *by_width[QL__NUMERIC_MAX_WIDTH + 1];  /* fixed-width exprs */
    size_t    by_width_count[QL__NUMERIC_MAX_WIDTH + 1];
    /* rules whose validator finds its own span, by validator: the first
     * expression of each (one trigger per rule; all its regexes confirm) */
    uint32_t *spanning[QL__V_COUNT];
    size_t    spanning_count[QL__V_COUNT];
    int       hexcolon;        /* some rule uses the hex-and-colon scanner */
    int       any;
} ql__numeric_index;

struct ql_rules {
    ql_allocator allocator;
    ql__rule *rules;
    size_t    rule_count;
    ql__expr *exprs;
    size_t    expr_count;
    hs_database_t *db;        /* NULL when every rule is numeric */
    ql__numeric_index numeric;
    uint32_t  max_span;       /* max over expressions and validators */
    uint32_t  margin;         /* bytes a window keeps on each side */
    /* GB18030 two- and four-byte BMP code points, built once per rule set. */
    uint16_t *gb2;            /* 126 * 191 entries */
    uint16_t *gb4;            /* 39420 entries (BMP part of the 4-byte range) */
};

/* ------------------------------------------------------------ candidates */

typedef struct ql__cand {
    uint64_t start, end;      /* in the window's view */
    uint64_t trigger;         /* the expression's end in the view */
    uint32_t rule, expr;
    double   confidence;
    int      suppressed;
    size_t   attribute_count;
    const char *attr_keys[QL_MAX_ATTRIBUTES];
    uint8_t  attr_offsets[QL_MAX_ATTRIBUTES];  /* values live in attr_buf */
    char     attr_buf[64];
} ql__cand;

/* What a validator sees. */
typedef struct ql__vctx {
    const uint8_t *data;      /* the window view */
    size_t         length;
    int            at_start;  /* data[0] is the true start of the input */
    int            at_end;    /* data[length] is the true end */
    ql__ymd        today;
    int            relaxed;   /* see ql__stream_set_relaxed */
    const ql__rule *rule;
    const ql__expr *expr;
} ql__vctx;

/* Checks the candidate ending at `trigger`; on success fills start, end,
 * confidence (starting from the rule's base) and attributes, and returns 1.
 * Fixed-width and PCRE2-found spans arrive with start/end already set
 * (`have_span` = 1); validators that find their own span ignore them. */
int ql__validate(const ql__vctx *ctx, ql__cand *cand, int have_span);

/* Boundary tests used by the engine and validators: 1 when the byte
 * before `pos` (side 0) or at `pos` (side 1) does not continue a value of
 * class `b`.  Offsets outside the data count as boundaries. */
int ql__boundary_ok(ql__boundary b, const uint8_t *data, size_t length,
                    size_t pos, int side);

/* ---------------------------------------------------------------- mask */

size_t ql__mask(ql__mask_style style, int head, int tail,
                const uint8_t *value, size_t length, char *out, size_t size);
/* Built-in defaults for a type name; returns 0 if the type is unknown. */
int ql__mask_defaults(const char *type, ql__mask_style *style, int *head, int *tail);
ql__mask_style ql__mask_style_lookup(const char *name, int *ok);

/* --------------------------------------------------------------- decode */

/* Converts input in `encoding` to UTF-8, incrementally.  Incomplete
 * sequences at the end of a chunk are carried to the next; invalid bytes
 * become U+FFFD.  Every output byte's source offset is recorded in `map`
 * (one entry per output byte, plus the caller's own final entry). */
typedef struct ql__decoder {
    ql_encoding encoding;
    const ql_rules *rules;
    uint8_t  carry[4];
    size_t   carry_length;
    uint64_t offset;          /* source offset of the next input byte */
} ql__decoder;

void ql__decoder_init(ql__decoder *d, const ql_rules *rules, ql_encoding encoding);
/* Appends the UTF-8 for data[0..length) to out/map (vecs of uint8_t and
 * uint64_t).  With `final`, flushes carried bytes as U+FFFD. */
ql_status ql__decode(ql__decoder *d, const ql_allocator *a,
                     const uint8_t *data, size_t length, int final,
                     ql__vec *out, ql__vec *map);
/* Sniffs a buffer: BOM, valid UTF-8, else GB18030.  *bom_length is set to
 * the BOM's size (skipped by the decoder). */
ql_encoding ql__detect_encoding(const uint8_t *data, size_t length, size_t *bom_length);
/* 1 if data is valid UTF-8 (a sequence cut at the very end is accepted
 * when `allow_truncated`). */
int ql__utf8_valid(const uint8_t *data, size_t length, int allow_truncated);
/* Offset of the first byte that does not start a valid UTF-8 sequence. */
size_t ql__utf8_first_invalid(const uint8_t *data, size_t length);
ql_status ql__gb18030_tables(ql_rules *rules);

/* Full-width folding (engine.c): if p starts a character the folded view
 * replaces (full-width letters, digits, + - . @ _ ( ), U+3000), sets
 * *ascii and returns 1; the character is 3 bytes long. */
int ql__foldable(const uint8_t *p, size_t avail, uint8_t *ascii);

/* Validators that locate their value themselves from the trigger. */
int ql__self_spanning(ql__validator_id v);

/* The digit-run scanner: pushes (expression, end) triggers for the numeric
 * rules into `triggers` (a vec of ql__trigger). */
typedef struct ql__trigger {
    uint32_t expr;
    uint32_t pad;
    uint64_t end;
} ql__trigger;

ql_status ql__numeric_scan(const ql_rules *rules, const ql_allocator *a,
                           const uint8_t *data, size_t length, ql__vec *triggers);
ql_status ql__numeric_index_build(ql_rules *rules);
void      ql__numeric_index_free(ql_rules *rules);

/* ---------------------------------------------------------------- engine */

/* The window engine: scans view[0..length) (whose byte i is at offset
 * base + i of the decoded text, and at source offset map[i] if map is set,
 * else base + i), reports the findings whose trigger lies in
 * [own_from, own_to) (decoded-text offsets). */
typedef struct ql__window {
    const uint8_t  *data;
    size_t          length;
    uint64_t        base;      /* decoded offset of data[0] */
    const uint64_t *map;       /* source offsets, length + 1 entries, or NULL */
    int             at_start, at_end;
    int             padded;    /* data has QL__PAD writable bytes after length */
    uint64_t        own_from, own_to;
    ql_position    *cursor;    /* at base (or before); NULL: no line/column */
    const uint8_t  *cursor_data; /* the decoded text the cursor indexes */
    uint64_t        cursor_data_base;
} ql__window;

struct ql_scanner {
    ql_allocator allocator;
    const ql_rules *rules;
    hs_scratch_t *scratch;
    pcre2_match_data *match_data;
    ql__vec triggers;          /* (expr, end) pairs */
    ql__vec cands;
    ql__vec order;             /* indices into cands */
    ql__vec wide;              /* full-width folded view */
    ql__vec folds;             /* view offsets of folded characters */
};

typedef struct ql__scan_ctx {
    ql_scanner *scanner;
    ql__ymd today;
    double min_confidence;
    size_t window;
    int    relaxed;
    ql_finding_cb callback;
    void *user;
    int stopped;
} ql__scan_ctx;

ql_status ql__scan_window(ql__scan_ctx *ctx, const ql__window *w);

/* For the redact stream (redact.c): the encoding a stream settled on; the
 * source offset before which no finding can start any more; and relaxed
 * checks, which accept format-preserving-encrypted values (an ID whose
 * check digit holds but whose birth date is random) so they can be
 * decrypted. */
ql_encoding ql__stream_encoding(const ql_stream *stream);
uint64_t    ql__stream_settled(const ql_stream *stream);
void        ql__stream_set_relaxed(ql_stream *stream, int relaxed);
ql__ymd   ql__today_utc(void);
void      ql__scan_ctx_init(ql__scan_ctx *ctx, ql_scanner *s,
                            const ql_scan_options *o, ql_finding_cb cb, void *user);

#endif
