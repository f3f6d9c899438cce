/*
 * numeric.c — the digit-run prefilter for numeric identifiers.
 *
 * Why not Vectorscan for these: IDs, phones, cards, credit codes, passports
 * and permits are runs of digits with a few letters, and the text we scan
 * is full of digits that are none of them (order numbers, timestamps,
 * amounts).  Measured on the benchmark corpus, a single class pattern such
 * as \d{7} runs at about 1.7 GB/s in Vectorscan, and the eighteen numeric
 * patterns together at about 250 MB/s (docs/engine.md).  Here one SSE2 pass
 * skips 16 bytes at a time where there is no ASCII digit (most of Chinese
 * prose), and each digit run that could end an identifier becomes a
 * trigger for only the expressions that can end there:
 *
 *   - a run of 6+ digits, or one that continues a token of 6+ digits (runs
 *     joined by single spaces, hyphens or dots, as in 138 0013 8000), or
 *     a dotted run of 4+ digits (an IPv4 address);
 *   - at the run's end: every expression whose validator finds its own
 *     span (phones, cards, HK IDs, IPv4);
 *   - at the end of the letters-and-digits run around it: the fixed-width
 *     expressions of exactly that width (an 18-character ID, a 9-character
 *     passport), and of that width + 3 after a bracketed check "(3)".
 *
 * The triggers then go through the same checks as Vectorscan's (engine.c),
 * and fixed-width ones are confirmed with the rule's own regex, so the
 * rule file stays the definition of what matches.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "internal.h"

static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alnum(int c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
static int is_sep(int c) { return c == ' ' || c == '-' || c == '.'; }

static size_t next_digit(const uint8_t *d, size_t n, size_t i)
{
#ifdef __SSE2__
    const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(d + i));
        __m128i m = _mm_and_si128(_mm_cmpgt_epi8(x, lo), _mm_cmplt_epi8(x, hi));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#endif
    while (i < n && !is_digit(d[i]))
        i++;
    return i;
}

static ql_status push(const ql_allocator *a, ql__vec *v, uint32_t expr, uint64_t end)
{
    ql__trigger t = {expr, 0, end};
    return ql__vec_push(a, v, &t);
}

static ql_status push_width(const ql__numeric_index *ix, const ql_allocator *a,
                            ql__vec *v, size_t width, uint64_t end)
{
    if (width > QL__NUMERIC_MAX_WIDTH)
        return QL_OK;
    for (size_t k = 0; k < ix->by_width_count[width]; k++) {
        ql_status st = push(a, v, ix->by_width[width][k], end);
        if (st != QL_OK)
            return st;
    }
    return QL_OK;
}

static ql_status push_validator(const ql__numeric_index *ix, const ql_allocator *a,
                                ql__vec *v, ql__validator_id id, uint64_t end)
{
    for (size_t k = 0; k < ix->spanning_count[id]; k++) {
        ql_status st = push(a, v, ix->spanning[id][k], end);
        if (st != QL_OK)
            return st;
    }
    return QL_OK;
}

static int is_upper(int c) { return c >= 'A' && c <= 'Z'; }

static ql_status hexcolon_scan(const ql__numeric_index *ix, const ql_allocator *a,
                               const uint8_t *d, size_t n, ql__vec *triggers);

ql_status ql__numeric_scan(const ql_rules *rules, const ql_allocator *a,
                           const uint8_t *d, size_t n, ql__vec *triggers)
{
    const ql__numeric_index *ix = &rules->numeric;
    if (ix->hexcolon) {
        ql_status hs = hexcolon_scan(ix, a, d, n, triggers);
        if (hs != QL_OK)
            return hs;
    }
    size_t token = 0, prev_end = (size_t)-1, last_alnum_end = (size_t)-1;
    size_t prev_len = 0, token_start = 0;
    ql_status st = QL_OK;
#define TRY(expr)                       \
    do {                                \
        if ((st = (expr)) != QL_OK)     \
            return st;                  \
    } while (0)
    for (size_t i = next_digit(d, n, 0); i < n; i = next_digit(d, n, i)) {
        size_t start = i;
        while (i < n && is_digit(d[i]))
            i++;
        size_t len = i - start;
        size_t gap = prev_end == (size_t)-1 ? (size_t)-1 : start - prev_end;
        int joined = start >= 2 && gap == 1 && is_sep(d[start - 1]);
        size_t before_len = prev_len;
        token = joined ? token + len : len;
        if (!joined)
            token_start = start;
        prev_end = i;
        prev_len = len;
        int before = start ? d[start - 1] : -1;

        /* Each span-finding validator only where its shape can end. */
        if (len == 11 || len == 13 || len == 15 || (len == 4 && joined && token >= 11))
            TRY(push_validator(ix, a, triggers, QL__V_CN_MOBILE, i));
        if ((len >= 15 && len <= 19) || (joined && token >= 15 && (len <= 5 || len == 13 || len == 12)))
            TRY(push_validator(ix, a, triggers, QL__V_BANK_CARD, i));
        if ((len >= 10 && len <= 12 && d[start] == '0') ||
            ((len == 7 || len == 8) && (before == '-' || before == ' ' || before == ')')) ||
            (len <= 6 && gap <= 6 && before_len >= 4 && before_len <= 8) ||
            (len == 4 && joined && token >= 10 && d[token_start] == '0'))
            TRY(push_validator(ix, a, triggers, QL__V_CN_LANDLINE, i));
        if (before == '.' && token >= 4 && len <= 3)
            TRY(push_validator(ix, a, triggers, QL__V_IPV4, i));
        if ((len == 6 || len == 7) && start > 0 && is_upper(before)) {
            TRY(push_validator(ix, a, triggers, QL__V_HK_ID, i));
            if (i < n && d[i] == 'A')
                TRY(push_validator(ix, a, triggers, QL__V_HK_ID, i + 1));
            if (i + 3 <= n && d[i] == '(' && d[i + 2] == ')')
                TRY(push_validator(ix, a, triggers, QL__V_HK_ID, i + 3));
        }
        if (len < 6)
            continue;
        /* The letters-and-digits run around these digits decides the
         * fixed-width expressions that can end here. */
        size_t p = start, q = i;
        while (p > 0 && start - p < QL__NUMERIC_MAX_WIDTH && is_alnum(d[p - 1]))
            p--;
        while (q < n && q - i < QL__NUMERIC_MAX_WIDTH && is_alnum(d[q]))
            q++;
        if (q == last_alnum_end)
            continue;       /* a second digit run of the same word */
        last_alnum_end = q;
        TRY(push_width(ix, a, triggers, q - p, q));
        if (q + 3 <= n && d[q] == '(' && is_alnum(d[q + 1]) && d[q + 2] == ')')
            TRY(push_width(ix, a, triggers, q - p + 3, q + 3));
    }
#undef TRY
    return QL_OK;
}

/* ------------------------------------------------------------ hexcolon */

static int is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int v6_char(int c)
{
    return is_hex(c) || c == ':' || c == '.';
}

static size_t next_colon(const uint8_t *d, size_t n, size_t i)
{
#ifdef __SSE2__
    const __m128i colon = _mm_set1_epi8(':');
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(d + i));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, colon));
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#endif
    const uint8_t *p = i < n ? memchr(d + i, ':', n - i) : NULL;
    return p ? (size_t)(p - d) : n;
}

/* IPv6 addresses: every maximal run of hex digits, colons and dots that
 * holds two colons is a candidate ending where the run ends (a trailing
 * dot, as at the end of a sentence, is not part of it). */
static ql_status hexcolon_scan(const ql__numeric_index *ix, const ql_allocator *a,
                               const uint8_t *d, size_t n, ql__vec *triggers)
{
    size_t done = 0;
    for (size_t i = next_colon(d, n, 0); i < n; i = next_colon(d, n, i + 1)) {
        if (i < done)
            continue;
        size_t p = i, q = i + 1;
        while (p > 0 && i - p < 48 && v6_char(d[p - 1]))
            p--;
        while (q < n && q - i < 48 && v6_char(d[q]))
            q++;
        done = q;
        size_t colons = 0;
        for (size_t k = p; k < q && colons < 2; k++)
            colons += d[k] == ':';
        while (q > i + 1 && d[q - 1] == '.')
            q--;
        if (colons < 2)
            continue;
        ql_status st = push_validator(ix, a, triggers, QL__V_IPV6, q);
        if (st != QL_OK)
            return st;
    }
    return QL_OK;
}

ql_status ql__numeric_index_build(ql_rules *r)
{
    const ql_allocator *a = &r->allocator;
    ql__numeric_index *ix = &r->numeric;
    size_t counts[QL__NUMERIC_MAX_WIDTH + 1] = {0};
    size_t spanning[QL__V_COUNT] = {0};
    for (size_t i = 0; i < r->expr_count; i++) {
        const ql__expr *e = &r->exprs[i];
        if (!e->numeric)
            continue;
        const ql__rule *ru = &r->rules[e->rule];
        if (ql__self_spanning(ru->validator)) {
            if (ru->first_expr == i)
                spanning[ru->validator]++;
        }
        else if (e->fixed && e->max_width <= QL__NUMERIC_MAX_WIDTH)
            counts[e->max_width]++;
    }
    for (size_t w = 0; w <= QL__NUMERIC_MAX_WIDTH; w++) {
        if (!counts[w])
            continue;
        ix->by_width[w] = ql__calloc(a, counts[w], sizeof(uint32_t));
        if (!ix->by_width[w])
            return QL_ENOMEM;
    }
    for (size_t v = 0; v < QL__V_COUNT; v++)
        if (spanning[v] && !(ix->spanning[v] = ql__calloc(a, spanning[v], sizeof(uint32_t))))
            return QL_ENOMEM;
    for (size_t i = 0; i < r->expr_count; i++) {
        const ql__expr *e = &r->exprs[i];
        if (!e->numeric)
            continue;
        ix->any = 1;
        const ql__rule *ru = &r->rules[e->rule];
        ql__validator_id v = ru->validator;
        if (ru->prefilter == QL__PREFILTER_HEXCOLON)
            ix->hexcolon = 1;
        if (ql__self_spanning(v)) {
            if (ru->first_expr == i)
                ix->spanning[v][ix->spanning_count[v]++] = (uint32_t)i;
        }
        else if (e->fixed && e->max_width <= QL__NUMERIC_MAX_WIDTH)
            ix->by_width[e->max_width][ix->by_width_count[e->max_width]++] = (uint32_t)i;
    }
    return QL_OK;
}

void ql__numeric_index_free(ql_rules *r)
{
    const ql_allocator *a = &r->allocator;
    for (size_t w = 0; w <= QL__NUMERIC_MAX_WIDTH; w++)
        ql__free(a, r->numeric.by_width[w]);
    for (size_t v = 0; v < QL__V_COUNT; v++)
        ql__free(a, r->numeric.spanning[v]);
    memset(&r->numeric, 0, sizeof r->numeric);
}
