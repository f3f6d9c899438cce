/*
 * engine.c — from bytes to findings, one window at a time.
 *
 * Everything the engine decides about a candidate depends only on the bytes
 * within `max_span` of where its expression matched (plus context words
 * within 64 bytes).  That locality is what makes the results independent of
 * how input is cut: a window carries `margin` (3 * max_span + context)
 * bytes of surroundings on each side of the stretch it "owns", and reports
 * exactly the candidates whose trigger (the end Vectorscan reported) falls
 * in that stretch.  A whole buffer, a stream in chunks cut anywhere, and a
 * file split across threads all reduce to the same windows.
 *
 * Per window:
 *   1. one Vectorscan pass collects (expression, end) triggers; an internal
 *      expression notices full-width letters and digits;
 *   2. if it did, the window is folded (full-width ASCII -> ASCII, with an
 *      offset map) and scanned again, so １３８… is found as 138…;
 *   3. each trigger is checked: end boundary, span (validator, fixed width
 *      or PCRE2 backwards), validator, context words, allow-list;
 *   4. overlapping candidates of one type keep the longest (then the
 *      earliest); the same span found as two types keeps the more
 *      confident;
 *   5. owned, confident-enough survivors are reported in order of start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "internal.h"

typedef ql__trigger trigger;

/* --------------------------------------------------------------- dates */

ql__ymd ql__today_utc(void)
{
    time_t now = time(NULL);
    struct tm tm;
    if (!gmtime_r(&now, &tm))
        return 20000101;
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

void ql_scan_options_init(ql_scan_options *o)
{
    memset(o, 0, sizeof *o);
    o->encoding = QL_ENCODING_AUTO;
    o->today = 0;
    o->min_confidence = -1.0;
}

void ql__scan_ctx_init(ql__scan_ctx *ctx, ql_scanner *s, const ql_scan_options *o,
                       ql_finding_cb cb, void *user)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->scanner = s;
    ctx->today = o && o->today ? o->today : ql__today_utc();
    ctx->min_confidence = o ? o->min_confidence : -1.0;
    ctx->window = o ? o->window : 0;
    ctx->callback = cb;
    ctx->user = user;
}

/* ------------------------------------------------------------- scanner */

ql_status ql_scanner_create(const ql_rules *rules, const ql_allocator *allocator,
                            ql_scanner **out)
{
    if (!rules || !out)
        return QL_EINVAL;
    *out = NULL;
    ql_scanner *s = ql__calloc(allocator, 1, sizeof *s);
    if (!s)
        return QL_ENOMEM;
    if (allocator)
        s->allocator = *allocator;
    s->rules = rules;
    ql__vec_init(&s->triggers, sizeof(trigger), QL__MAX_TRIGGERS);
    ql__vec_init(&s->cands, sizeof(ql__cand), QL__MAX_TRIGGERS);
    ql__vec_init(&s->order, sizeof(size_t), QL__MAX_TRIGGERS);
    ql__vec_init(&s->wide, 1, SIZE_MAX);
    ql__vec_init(&s->folds, sizeof(uint64_t), SIZE_MAX);
    if (rules->db && hs_alloc_scratch(rules->db, &s->scratch) != HS_SUCCESS) {
        ql__free(allocator, s);
        return QL_ENOMEM;
    }
    s->match_data = pcre2_match_data_create(64, NULL);
    if (!s->match_data) {
        hs_free_scratch(s->scratch);
        ql__free(allocator, s);
        return QL_ENOMEM;
    }
    *out = s;
    return QL_OK;
}

void ql_scanner_destroy(ql_scanner *s)
{
    if (!s)
        return;
    ql_allocator a = s->allocator;
    hs_free_scratch(s->scratch);
    pcre2_match_data_free(s->match_data);
    ql__vec_free(&a, &s->triggers);
    ql__vec_free(&a, &s->cands);
    ql__vec_free(&a, &s->order);
    ql__vec_free(&a, &s->wide);
    ql__vec_free(&a, &s->folds);
    ql__free(&a, s);
}

/* ------------------------------------------------------------ matching */

typedef struct match_state {
    ql_scanner *s;
    ql_status   status;
    uint64_t    limit;      /* matches ending in the padding are dropped */
} match_state;

static int on_match(unsigned id, unsigned long long from, unsigned long long to,
                    unsigned flags, void *user)
{
    match_state *m = user;
    ql_scanner *s = m->s;
    if (to > m->limit)
        return 0;
    trigger t = {id, 0, to};
    ql_status st = ql__vec_push(&s->allocator, &s->triggers, &t);
    if (st != QL_OK) {
        m->status = st;
        return 1;
    }
    return 0;
}

/* Vectorscan 5.4.9 (Debian 12) misses matches in the last vector of a
 * buffer on AVX-512 machines, depending on the buffer's address (fixed
 * upstream in 2026, vectorscan PR #378: nvermicelli's tail masking).  A
 * window that owns matches near its end is therefore scanned with
 * QL__PAD bytes of '\n' after it; matches ending there are dropped.  Other
 * windows never own anything within `margin` of their end. */
static ql_status run_matcher(ql_scanner *s, const uint8_t *data, size_t length, int padded)
{
    match_state m = {s, QL_OK, length};
    s->triggers.count = 0;
    if (s->rules->db) {
        size_t scan_length = padded ? length + QL__PAD : length;
        hs_error_t err = hs_scan(s->rules->db, (const char *)data, (unsigned)scan_length, 0,
                                 s->scratch, on_match, &m);
        if (m.status != QL_OK)
            return m.status;
        if (err != HS_SUCCESS && err != HS_SCAN_TERMINATED)
            return QL_EINTERNAL;
    }
    if (s->rules->numeric.any)
        return ql__numeric_scan(s->rules, &s->allocator, data, length, &s->triggers);
    return QL_OK;
}

/* Full-width folding: U+FF01..U+FF5E -> ASCII for the characters a value
 * can hold or be written with (letters, digits, + - . @ _ and the brackets
 * of （０２１）), and the ideographic space U+3000 -> ' ' (１３３　０５７１).
 * Other punctuation (，：。) is left alone: it is never part of a value. */
int ql__foldable(const uint8_t *p, size_t avail, uint8_t *ascii)
{
    if (avail >= 3 && p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) {
        *ascii = ' ';       /* U+3000, the ideographic space IMEs type */
        return 1;
    }
    if (avail < 3 || p[0] != 0xEF)
        return 0;
    unsigned cp;
    if (p[1] == 0xBC && p[2] >= 0x80 && p[2] <= 0xBF)
        cp = 0xFF00 + (p[2] - 0x80);
    else if (p[1] == 0xBD && p[2] >= 0x80 && p[2] <= 0x9E)
        cp = 0xFF40 + (p[2] - 0x80);
    else
        return 0;
    unsigned ch = cp - 0xFF00 + 0x20;
    if ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
        ch == '+' || ch == '-' || ch == '.' || ch == '@' || ch == '_' || ch == '(' ||
        ch == ')') {
        *ascii = (uint8_t)ch;
        return 1;
    }
    return 0;
}

/* Offset of the first foldable character at or after `from`, or length.
 * Chinese text has 0xEF lead bytes everywhere (，：（） are U+FF0C...), so
 * the SSE2 path looks at the lead and the second byte together and only
 * then checks the third. */
static size_t next_foldable(const uint8_t *data, size_t length, size_t from)
{
    size_t i = from;
#ifdef __SSE2__
    /* All three bytes at once: EF BC 88 89 8B 8D 8E 90-99 A0-BA BF, or
     * EF BD 81-9A, or E3 80 80.  Third bytes compared signed after ^0x80. */
    const __m128i e3 = _mm_set1_epi8((char)0xE3);
    const __m128i x80 = _mm_set1_epi8((char)0x80);
    const __m128i ef = _mm_set1_epi8((char)0xEF);
    const __m128i bc = _mm_set1_epi8((char)0xBC);
    const __m128i bd = _mm_set1_epi8((char)0xBD);
    const __m128i flip = _mm_set1_epi8((char)0x80);
#define QL__IN(x, lo, hi) _mm_and_si128(_mm_cmpgt_epi8((x), _mm_set1_epi8((char)((lo) - 1))), \
                                        _mm_cmplt_epi8((x), _mm_set1_epi8((char)((hi) + 1))))
#define QL__EQ(x, v) _mm_cmpeq_epi8((x), _mm_set1_epi8((char)(v)))
    while (i + 18 <= length) {
        __m128i a = _mm_loadu_si128((const __m128i *)(data + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(data + i + 1));
        __m128i c = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(data + i + 2)), flip);
        __m128i lead = _mm_cmpeq_epi8(a, ef);
        __m128i in_bc = _mm_or_si128(
            _mm_or_si128(QL__IN(c, 0x10, 0x19), QL__IN(c, 0x20, 0x3A)),
            _mm_or_si128(_mm_or_si128(QL__IN(c, 0x08, 0x09), QL__EQ(c, 0x0B)),
                         _mm_or_si128(QL__IN(c, 0x0D, 0x0E), QL__EQ(c, 0x3F))));
        __m128i hit = _mm_or_si128(_mm_and_si128(_mm_cmpeq_epi8(b, bc), in_bc),
                                   _mm_and_si128(_mm_cmpeq_epi8(b, bd), QL__IN(c, 0x01, 0x1A)));
        __m128i space = _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(a, e3), _mm_cmpeq_epi8(b, x80)),
                                      QL__EQ(c, 0x00));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_and_si128(lead, hit), space));
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#undef QL__IN
#undef QL__EQ
#endif
    for (; i < length; i++) {
        uint8_t ascii;
        if ((data[i] == 0xEF || data[i] == 0xE3) && ql__foldable(data + i, length - i, &ascii))
            return i;
    }
    return length;
}

/* Builds the folded view of data[0..length) into s->wide and records the
 * view offset of every folded character in s->folds (ascending), so a view
 * offset maps back with a binary search: each fold before it shrank the
 * text by two bytes. */
static ql_status build_wide(ql_scanner *s, const uint8_t *data, size_t length, size_t first)
{
    const ql_allocator *a = &s->allocator;
    ql_status st = ql__vec_reserve(a, &s->wide, length + QL__PAD);
    if (st != QL_OK)
        return st;
    s->folds.count = 0;
    uint8_t *out = s->wide.items;
    size_t j = 0, i = 0, k = first;
    while (k < length) {
        memcpy(out + j, data + i, k - i);
        j += k - i;
        uint8_t ascii = 0;
        ql__foldable(data + k, length - k, &ascii);
        uint64_t at = j;
        if ((st = ql__vec_push(a, &s->folds, &at)) != QL_OK)
            return st;
        out[j++] = ascii;
        i = k + 3;
        k = next_foldable(data, length, i);
    }
    memcpy(out + j, data + i, length - i);
    j += length - i;
    s->wide.count = j;
    memset(out + j, '\n', QL__PAD);
    return QL_OK;
}

/* Maps an offset in the scanned view to the window's offset. */
static uint64_t view_to_window(const ql_scanner *s, int folded, uint64_t off)
{
    if (!folded)
        return off;
    const uint64_t *f = s->folds.items;
    size_t lo = 0, hi = s->folds.count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return off + 2 * lo;
}

/* ------------------------------------------------------------- checking */

static int ascii_lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

static int contains_word(const uint8_t *hay, size_t n, const char *w, size_t wl)
{
    if (wl == 0 || wl > n)
        return 0;
    /* Case matters only for ASCII letters; most context words are Chinese. */
    int letters = 0;
    for (size_t k = 0; k < wl && !letters; k++)
        letters = ((unsigned char)w[k] | 0x20) >= 'a' && ((unsigned char)w[k] | 0x20) <= 'z';
    if (!letters)
        return memmem(hay, n, w, wl) != NULL;
    int first = ascii_lower((unsigned char)w[0]);
    for (size_t i = 0; i + wl <= n; i++) {
        if (ascii_lower(hay[i]) != first)
            continue;
        size_t k = 1;
        while (k < wl && ascii_lower(hay[i + k]) == ascii_lower((unsigned char)w[k]))
            k++;
        if (k == wl)
            return 1;
    }
    return 0;
}

static int near_word(const ql__wordlist *wl, const uint8_t *v, size_t vlen,
                     uint64_t start, uint64_t end, size_t before, size_t after)
{
    if (!wl->count)
        return 0;
    size_t b0 = start > before ? (size_t)start - before : 0;
    size_t a1 = end + after < vlen ? (size_t)end + after : vlen;
    for (size_t i = 0; i < wl->count; i++) {
        if (contains_word(v + b0, (size_t)start - b0, wl->words[i], wl->lengths[i]) ||
            contains_word(v + end, a1 - (size_t)end, wl->words[i], wl->lengths[i]))
            return 1;
    }
    return 0;
}

int ql__self_spanning(ql__validator_id v)
{
    switch (v) {
    case QL__V_CN_MOBILE:
    case QL__V_CN_LANDLINE:
    case QL__V_BANK_CARD:
    case QL__V_HK_ID:
    case QL__V_EMAIL:
    case QL__V_IPV4:
    case QL__V_IPV6:
    case QL__V_PRIVATE_KEY:
        return 1;
    default:
        return 0;
    }
}

static int evaluate(ql__scan_ctx *ctx, const ql__vctx *base, const trigger *t,
                    ql__cand *c)
{
    ql_scanner *s = ctx->scanner;
    const ql_rules *rules = s->rules;
    const ql__expr *e = &rules->exprs[t->expr];
    const ql__rule *r = &rules->rules[e->rule];
    const uint8_t *v = base->data;
    size_t vlen = base->length;
    uint64_t end = t->end;

    memset(c, 0, offsetof(ql__cand, attr_buf));
    c->trigger = end;
    c->rule = e->rule;
    c->expr = t->expr;
    c->confidence = r->confidence;

    ql__vctx vc = *base;
    vc.rule = r;
    vc.expr = e;

    if (r->validator && ql__self_spanning(r->validator)) {
        if (!ql__validate(&vc, c, 0))
            return 0;
        if (e->numeric) {
            /* Found by a prefilter: one of the rule's own regexes must
             * match the span exactly, so the rule file stays the
             * definition of what is reported. */
            int ok = 0;
            for (uint32_t k = r->first_expr; k < r->first_expr + r->expr_count && !ok; k++)
                ok = pcre2_match(rules->exprs[k].start_re, v, (size_t)c->end, (size_t)c->start,
                                 PCRE2_ANCHORED, s->match_data, NULL) >= 0;
            if (!ok)
                return 0;
        }
    } else {
        /* Cheapest test first: a value must not run on past its end. */
        if (r->boundary != QL__BOUNDARY_NONE && !r->value_re &&
            !ql__boundary_ok(r->boundary, v, vlen, (size_t)end, 1))
            return 0;
        int checked = 0;
        if (e->fixed && !e->value_group) {
            if (end < e->max_width)
                return 0;
            c->start = end - e->max_width;
            c->end = end;
            if (e->numeric) {
                /* The digit-run scanner only guessed: run the (cheap)
                 * check first, then confirm the rule's own regex. */
                if (r->validator && !ql__validate(&vc, c, 1))
                    return 0;
                checked = 1;
                if (pcre2_match(e->start_re, v, (size_t)end, (size_t)c->start, PCRE2_ANCHORED,
                                s->match_data, NULL) < 0)
                    return 0;
            }
        } else {
            size_t from = end > e->max_width ? (size_t)(end - e->max_width) : 0;
            int rc = pcre2_match(e->start_re, v, (size_t)end, from, 0, s->match_data, NULL);
            if (rc < 0)
                return 0;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->match_data);
            if (e->value_group) {
                if (rc <= e->value_group || ov[2 * e->value_group] == PCRE2_UNSET)
                    return 0;
                c->start = ov[2 * e->value_group];
                c->end = ov[2 * e->value_group + 1];
            } else {
                c->start = ov[0];
                c->end = ov[1];
            }
        }
        if (r->value_re) {
            /* The value follows the trigger (a label, a key name). */
            size_t limit = end + QL__MAX_SPAN < vlen ? (size_t)end + QL__MAX_SPAN : vlen;
            /* value_re is compiled anchored; PCRE2_ANCHORED at match time
             * would turn the JIT off (pcre2jit(3)) for the same result. */
            int rc = pcre2_match(r->value_re, v, limit, (size_t)end, 0, s->match_data, NULL);
            if (rc < 0)
                return 0;
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->match_data);
            uint64_t trigger_start = c->start;
            if (r->value_group && rc > r->value_group && ov[2 * r->value_group] != PCRE2_UNSET) {
                c->start = ov[2 * r->value_group];
                c->end = ov[2 * r->value_group + 1];
            } else {
                c->start = ov[0];
                c->end = ov[1];
            }
            if (r->span_whole)
                c->start = trigger_start;
            if (r->boundary != QL__BOUNDARY_NONE &&
                !ql__boundary_ok(r->boundary, v, vlen, (size_t)c->end, 1))
                return 0;
        }
        if (c->end <= c->start)
            return 0;
        if (r->boundary != QL__BOUNDARY_NONE && !e->value_group && !r->value_re &&
            !ql__boundary_ok(r->boundary, v, vlen, (size_t)c->start, 0))
            return 0;
        if (r->validator && !checked && !ql__validate(&vc, c, 1))
            return 0;
    }
    if (c->end <= c->start)
        return 0;

    if (near_word(&r->context, v, vlen, c->start, c->end, r->context_window, r->context_window / 2))
        c->confidence += r->context_boost;
    if (r->negative.count) {
        /* Negative words count only on the value's own line. */
        size_t from = c->start > QL__NEGATIVE_BEFORE ? (size_t)c->start - QL__NEGATIVE_BEFORE : 0;
        const uint8_t *nl = from < c->start ? memrchr(v + from, '\n', (size_t)c->start - from) : NULL;
        size_t reach = nl ? (size_t)(v + c->start - (nl + 1)) : (size_t)c->start - from;
        if (near_word(&r->negative, v, vlen, c->start, c->end, reach, 0))
            c->confidence -= r->negative_penalty;
    }
    if (c->confidence > 1.0)
        c->confidence = 1.0;
    if (c->confidence < 0.0)
        c->confidence = 0.0;

    for (size_t i = 0; i < r->allow.count; i++)
        if (r->allow.lengths[i] == c->end - c->start &&
            memcmp(r->allow.words[i], v + c->start, r->allow.lengths[i]) == 0)
            return 0;
    return 1;
}

/* Does candidate b win over overlapping candidate a of the same type? */
static int beats(const ql__cand *b, const ql__cand *a)
{
    uint64_t lb = b->end - b->start, la = a->end - a->start;
    if (lb != la)
        return lb > la;
    if (b->start != a->start)
        return b->start < a->start;
    if (b->confidence != a->confidence)
        return b->confidence > a->confidence;
    if (b->rule != a->rule)
        return b->rule < a->rule;
    if (b->expr != a->expr)
        return b->expr < a->expr;
    return b->trigger < a->trigger;
}

static int cmp_start(const void *pa, const void *pb, void *arg)
{
    const ql__cand *c = arg;
    const ql__cand *a = &c[*(const size_t *)pa], *b = &c[*(const size_t *)pb];
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    if (a->rule != b->rule)
        return a->rule < b->rule ? -1 : 1;
    return a->trigger < b->trigger ? -1 : a->trigger > b->trigger;
}

static void suppress(const ql_rules *rules, ql__cand *c, const size_t *order, size_t n)
{
    for (size_t x = 0; x < n; x++) {
        ql__cand *a = &c[order[x]];
        for (size_t y = x + 1; y < n; y++) {
            ql__cand *b = &c[order[y]];
            if (b->start >= a->end)
                break;
            const char *ta = rules->rules[a->rule].type, *tb = rules->rules[b->rule].type;
            int same_type = ta == tb || strcmp(ta, tb) == 0;
            int same_span = a->start == b->start && a->end == b->end;
            if (!same_type && !same_span)
                continue;
            if (beats(b, a))
                a->suppressed = 1;
            else
                b->suppressed = 1;
        }
    }
}

ql_status ql__scan_window(ql__scan_ctx *ctx, const ql__window *w)
{
    ql_scanner *s = ctx->scanner;
    const ql_rules *rules = s->rules;
    const ql_allocator *a = &s->allocator;
    ql_status st;

    if (w->length == 0 || w->own_to <= w->own_from)
        return QL_OK;
    if (w->length > 0xFFFFFFFFu)
        return QL_ELIMIT;
    const uint8_t *view = w->data;
    size_t vlen = w->length;
    size_t first = next_foldable(w->data, w->length, 0);
    int folded = first < w->length;
    int near_end = w->base + w->length - w->own_to < rules->margin;
    int padded = folded || (near_end && w->padded);
    if (folded || (near_end && !w->padded)) {
        /* Folding copies; so does padding a buffer we do not own (the
         * caller keeps such windows small, see scan_utf8). */
        st = build_wide(s, w->data, w->length, folded ? first : w->length);
        if (st != QL_OK)
            return st;
        view = s->wide.items;
        vlen = s->wide.count;
        padded = 1;
    } else if (padded) {
        memset((uint8_t *)w->data + w->length, '\n', QL__PAD);
    }
    st = run_matcher(s, view, vlen, padded);
    if (st != QL_OK)
        return st;
    if (s->triggers.count == 0)
        return QL_OK;

    ql__vctx base;
    memset(&base, 0, sizeof base);
    base.data = view;
    base.length = vlen;
    base.at_start = w->at_start;
    base.at_end = w->at_end;
    base.today = ctx->today;
    base.relaxed = ctx->relaxed;

    /* Only triggers near the owned stretch can matter to it. */
    uint64_t lo = w->own_from > w->base + rules->margin ? w->own_from - w->base - rules->margin : 0;
    uint64_t hi = w->own_to - w->base + rules->margin;

    s->cands.count = 0;
    const trigger *trig = s->triggers.items;
    for (size_t i = 0; i < s->triggers.count; i++) {
        uint64_t at = view_to_window(s, folded, trig[i].end);
        if (at < lo || at > hi)
            continue;
        ql__cand c;
        if (!evaluate(ctx, &base, &trig[i], &c))
            continue;
        st = ql__vec_push(a, &s->cands, &c);
        if (st != QL_OK)
            return st;
    }
    size_t n = s->cands.count;
    if (n == 0)
        return QL_OK;
    st = ql__vec_reserve(a, &s->order, n);
    if (st != QL_OK)
        return st;
    size_t *order = s->order.items;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    ql__cand *cands = s->cands.items;
    qsort_r(order, n, sizeof *order, cmp_start, cands);
    suppress(rules, cands, order, n);

    ql_position cur;
    if (w->cursor) {
        cur = *w->cursor;
        cur.offset = 0;
    }
    char masked[512];
    for (size_t k = 0; k < n && !ctx->stopped; k++) {
        ql__cand *c = &cands[order[k]];
        if (c->suppressed)
            continue;
        const ql__rule *r = &rules->rules[c->rule];
        double threshold = ctx->min_confidence >= 0 ? ctx->min_confidence : r->min_confidence;
        if (c->confidence + 1e-9 < threshold)
            continue;
        uint64_t t_dec = w->base + view_to_window(s, folded, c->trigger);
        if (t_dec <= w->own_from || t_dec > w->own_to)
            continue;
        uint64_t ws = view_to_window(s, folded, c->start);
        uint64_t we = view_to_window(s, folded, c->end);
        ql_finding f;
        memset(&f, 0, sizeof f);
        f.rule_id = r->id;
        f.type = r->type;
        f.category = r->category;
        f.severity = r->severity;
        f.confidence = c->confidence;
        f.start = w->map ? w->map[ws] : w->base + ws;
        f.end = w->map ? w->map[we] : w->base + we;
        if (w->cursor) {
            ql_locate(&cur, w->data, w->length, ws);
            f.line = cur.line;
            f.column = cur.column;
        }
        f.value = view + c->start;
        f.value_length = (size_t)(c->end - c->start);
        ql__mask(r->mask_style, r->mask_head, r->mask_tail, f.value, f.value_length,
                 masked, sizeof masked);
        f.masked = masked;
        f.attribute_count = c->attribute_count;
        for (size_t i = 0; i < c->attribute_count; i++) {
            f.attributes[i].key = c->attr_keys[i];
            f.attributes[i].value = c->attr_buf + c->attr_offsets[i];
        }
        if (ctx->callback && ctx->callback(&f, ctx->user))
            ctx->stopped = 1;
    }
    return ctx->stopped ? QL_EABORTED : QL_OK;
}

/* ------------------------------------------------------------ block scan */

#define QL__BLOCK_WINDOW (16u << 20)

static ql_status scan_utf8(ql__scan_ctx *ctx, const uint8_t *data, size_t length,
                           uint64_t from, uint64_t to, int locate)
{
    const ql_rules *rules = ctx->scanner->rules;
    uint64_t step = ctx->window ? ctx->window : QL__BLOCK_WINDOW;
    ql_position cursor;
    ql_position_init(&cursor);
    for (uint64_t own = from; own < to;) {
        uint64_t own_end = to - own > step ? own + step : to;
        /* The last stretch of the input gets a window of its own, small
         * enough to copy for padding (see QL__PAD). */
        if (own_end == length && own_end - own > rules->margin)
            own_end = length - rules->margin;
        uint64_t ws = own > rules->margin ? own - rules->margin : 0;
        uint64_t we = own_end + rules->margin < length ? own_end + rules->margin : length;
        ql__window w;
        memset(&w, 0, sizeof w);
        w.data = data + ws;
        w.length = (size_t)(we - ws);
        w.base = ws;
        w.at_start = ws == 0;
        w.at_end = we == length;
        w.own_from = own;
        w.own_to = own_end;
        if (locate) {
            ql_locate(&cursor, data, length, ws);
            w.cursor = &cursor;
        }
        ql_status st = ql__scan_window(ctx, &w);
        if (st != QL_OK)
            return st;
        own = own_end;
    }
    return QL_OK;
}

ql_status ql_scan(ql_scanner *scanner, const uint8_t *data, size_t length,
                  const ql_scan_options *options, ql_finding_cb callback, void *user)
{
    if (!scanner || (!data && length))
        return QL_EINVAL;
    ql_scan_options defaults;
    if (!options) {
        ql_scan_options_init(&defaults);
        options = &defaults;
    }
    size_t bom = 0;
    ql_encoding enc = options->encoding;
    if (enc == QL_ENCODING_AUTO)
        enc = ql__detect_encoding(data, length, &bom);
    if (enc != QL_ENCODING_UTF8 || bom) {
        /* Decoding needs an offset map: the stream machinery has it. */
        ql_scan_options o = *options;
        o.encoding = enc;
        ql_stream *stream;
        ql_status st = ql_stream_open(scanner, &o, callback, user, &stream);
        if (st != QL_OK)
            return st;
        st = ql_stream_write(stream, data, length);
        if (st == QL_OK)
            st = ql_stream_finish(stream);
        ql_stream_close(stream);
        return st;
    }
    ql__scan_ctx ctx;
    ql__scan_ctx_init(&ctx, scanner, options, callback, user);
    return scan_utf8(&ctx, data, length, 0, length, 1);
}

ql_status ql_scan_range(ql_scanner *scanner, const uint8_t *data, size_t length,
                        uint64_t from, uint64_t to, const ql_scan_options *options,
                        ql_finding_cb callback, void *user)
{
    if (!scanner || (!data && length) || from > to || to > length)
        return QL_EINVAL;
    ql__scan_ctx ctx;
    ql__scan_ctx_init(&ctx, scanner, options, callback, user);
    return scan_utf8(&ctx, data, length, from, to, 0);
}
