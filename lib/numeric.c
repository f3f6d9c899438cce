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

static ql_status hexcolon_at(const ql__numeric_index *ix, const ql_allocator *a,
                             const uint8_t *d, size_t n, size_t i, size_t *done,
                             ql__vec *triggers);

/* 64-bit masks of the ASCII digits and of the colons in d[0..64): one
 * pass serves both prefilters. */
static uint64_t digit_mask64(const uint8_t *d, uint64_t *colons)
{
#ifdef __SSE2__
    const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
    const __m128i colon = _mm_set1_epi8(':');
    uint64_t m = 0, c = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(d + 16 * k));
        __m128i y = _mm_and_si128(_mm_cmpgt_epi8(x, lo), _mm_cmplt_epi8(x, hi));
        m |= (uint64_t)(uint16_t)_mm_movemask_epi8(y) << (16 * k);
        c |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, colon)) << (16 * k);
    }
    *colons = c;
    return m;
#else
    uint64_t m = 0, c = 0;
    for (int k = 0; k < 64; k++) {
        m |= (uint64_t)is_digit(d[k]) << k;
        c |= (uint64_t)(d[k] == ':') << k;
    }
    *colons = c;
    return m;
#endif
}

/* Does the text between two digit runs mark an extension (-, #, 转, ext)? */
static int extension_gap(const uint8_t *d, size_t from, size_t to)
{
    while (from < to && d[from] == ' ')
        from++;
    while (to > from && d[to - 1] == ' ')
        to--;
    size_t n = to - from;
    if (n == 1)
        return d[from] == '-' || d[from] == '#';
    if (n == 3 && memcmp(d + from, "转", 3) == 0)
        return 1;
    return (n == 3 || n == 4) && (d[from] | 0x20) == 'e' && (d[from + 1] | 0x20) == 'x' &&
           (d[from + 2] | 0x20) == 't' && (n == 3 || d[from + 3] == '.');
}

/* Can a card number start here?  The issuer prefixes of docs/types.md,
 * read through group separators: 2221-2720, 34/35/37, 4, 51-55, 62,
 * 6011, 644-649, 65, 9558/9559.  Dates and order numbers (2024...) fail. */
static int card_lead(const uint8_t *d, size_t n)
{
    int v[4], k = 0;
    for (size_t i = 0; i < n && k < 4; i++) {
        if (is_digit(d[i]))
            v[k++] = d[i] - '0';
        else if (!is_sep(d[i]))
            break;
    }
    if (k < 4)
        return 0;
    int two = v[0] * 10 + v[1], four = two * 100 + v[2] * 10 + v[3];
    return (four >= 2221 && four <= 2720) || two == 34 || two == 35 || two == 37 ||
           v[0] == 4 || (two >= 51 && two <= 55) || two == 62 || four == 6011 ||
           (four >= 6440 && four <= 6499) || two == 65 || four == 9558 || four == 9559;
}

typedef struct run_state {
    size_t token, token_start, prev_end, prev_len, last_alnum_end;
    int    dots;            /* dotted runs of <= 3 digits so far (IPv4) */
} run_state;

/* Decides which expressions can end at the digit run d[start..end). */
static ql_status digit_run(const ql__numeric_index *ix, const ql_allocator *a,
                           const uint8_t *d, size_t n, size_t start, size_t end,
                           run_state *rs, ql__vec *triggers)
{
    ql_status st;
#define TRY(expr)                       \
    do {                                \
        if ((st = (expr)) != QL_OK)     \
            return st;                  \
    } while (0)
    size_t len = end - start;
    size_t gap = rs->prev_end == (size_t)-1 ? (size_t)-1 : start - rs->prev_end;
    int before = start ? d[start - 1] : -1;
    int joined = start >= 2 && gap == 1 && is_sep(before);
    size_t before_len = rs->prev_len;
    size_t before_token = rs->token, before_token_start = rs->token_start;
    rs->token = joined ? rs->token + len : len;
    if (!joined)
        rs->token_start = start;
    rs->dots = joined && before == '.' && len <= 3 && rs->dots >= 1 ? rs->dots + 1
             : (len <= 3 ? 1 : 0);
    rs->prev_end = end;
    rs->prev_len = len;
    size_t token = rs->token, token_start = rs->token_start;
    int lead = d[token_start];

    /* Each span-finding validator only where its shape can end. */
    if (len == 11 || len == 13 || len == 15 || (len == 4 && joined && token >= 11))
        TRY(push_validator(ix, a, triggers, QL__V_CN_MOBILE, end));
    if (((len >= 15 && len <= 19) || (joined && token >= 15 && (len <= 5 || len == 13 || len == 12))) &&
        card_lead(d + token_start, n - token_start))
        TRY(push_validator(ix, a, triggers, QL__V_BANK_CARD, end));
    if ((len >= 10 && len <= 12 && d[start] == '0') ||
        ((len == 7 || len == 8) &&
         ((joined && (before_len == 3 || before_len == 4) && lead == '0' && token == len + before_len) ||
          before == ')' || (before == ' ' && start >= 2 && d[start - 2] == ')'))) ||
        (len == 4 && joined && token >= 10 && lead == '0') ||
        (len <= 6 && gap <= 7 && extension_gap(d, start - gap, start) &&
         (before_len == 7 || before_len == 8 ||
          (before_len == 4 && (before_token == 7 || before_token == 8 ||
                               (before_token >= 10 && d[before_token_start] == '0'))))))
        TRY(push_validator(ix, a, triggers, QL__V_CN_LANDLINE, end));
    if (rs->dots == 4)
        TRY(push_validator(ix, a, triggers, QL__V_IPV4, end));
    if ((len == 6 || len == 7) && is_upper(before)) {
        TRY(push_validator(ix, a, triggers, QL__V_HK_ID, end));
        if (end < n && d[end] == 'A')
            TRY(push_validator(ix, a, triggers, QL__V_HK_ID, end + 1));
        if (end + 3 <= n && d[end] == '(' && d[end + 2] == ')')
            TRY(push_validator(ix, a, triggers, QL__V_HK_ID, end + 3));
    }
    if (len < 6)
        return QL_OK;
    /* The letters-and-digits run around these digits decides the
     * fixed-width expressions that can end here. */
    size_t p = start, q = end;
    while (p > 0 && start - p < QL__NUMERIC_MAX_WIDTH && is_alnum(d[p - 1]))
        p--;
    while (q < n && q - end < QL__NUMERIC_MAX_WIDTH && is_alnum(d[q]))
        q++;
    if (q == rs->last_alnum_end)
        return QL_OK;       /* a second digit run of the same word */
    rs->last_alnum_end = q;
    TRY(push_width(ix, a, triggers, q - p, q));
    if (q + 3 <= n && d[q] == '(' && is_alnum(d[q + 1]) && d[q + 2] == ')')
        TRY(push_width(ix, a, triggers, q - p + 3, q + 3));
#undef TRY
    return QL_OK;
}

ql_status ql__numeric_scan(const ql_rules *rules, const ql_allocator *a,
                           const uint8_t *d, size_t n, ql__vec *triggers)
{
    const ql__numeric_index *ix = &rules->numeric;
    ql_status st;
    size_t colon_done = 0;
    run_state rs = {0, 0, (size_t)-1, 0, (size_t)-1, 0};
    /* 64 bytes at a time: a digit mask, then run starts and ends by bit
     * arithmetic, so long stretches without digits (most Chinese prose)
     * and runs of digits cost a few instructions per 64 bytes. */
    uint64_t carry = 0;        /* was the previous block's last byte a digit? */
    size_t run_start = 0;
    for (size_t block = 0; block < n; block += 64) {
        uint64_t m, colons;
        if (block + 64 <= n) {
            m = digit_mask64(d + block, &colons);
        } else {
            uint8_t tail[64] = {0};
            memcpy(tail, d + block, n - block);
            m = digit_mask64(tail, &colons);
        }
        if (ix->hexcolon) {
            for (uint64_t c = colons; c; c &= c - 1) {
                size_t at = block + (size_t)__builtin_ctzll(c);
                if ((st = hexcolon_at(ix, a, d, n, at, &colon_done, triggers)) != QL_OK)
                    return st;
            }
        }
        uint64_t starts = m & ~((m << 1) | carry);
        uint64_t ends = ~m & ((m << 1) | carry);     /* first non-digit after a run */
        carry = m >> 63;
        uint64_t events = starts | ends;
        while (events) {
            unsigned bit = (unsigned)__builtin_ctzll(events);
            events &= events - 1;
            size_t at = block + bit;
            if (at > n)
                break;      /* past the zero padding of the last block */
            if (starts >> bit & 1) {
                run_start = at;
                continue;
            }
            /* Most runs are short numbers standing alone (years, clock
             * times, amounts): they end nothing, only the state moves. */
            size_t len = at - run_start;
            size_t gap = run_start - rs.prev_end;
            if (len < 4 && !(run_start > 0 && gap == 1 && is_sep(d[run_start - 1])) &&
                !(rs.prev_len >= 4 && rs.prev_len <= 8 && gap <= 7)) {
                rs.token = len;
                rs.token_start = run_start;
                rs.dots = 1;
                rs.prev_end = at;
                rs.prev_len = len;
                continue;
            }
            if ((st = digit_run(ix, a, d, n, run_start, at, &rs, triggers)) != QL_OK)
                return st;
        }
    }
    if (carry && (st = digit_run(ix, a, d, n, run_start, n, &rs, triggers)) != QL_OK)
        return st;
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


/* IPv6 addresses: every maximal run of hex digits, colons and dots that
 * holds two colons is a candidate ending where the run ends (a trailing
 * dot, as at the end of a sentence, is not part of it). */
/* The colon at d[i]: an IPv6 candidate if the run of hex digits, colons
 * and dots around it holds "::", seven colons, or six and a dotted tail.
 * *done is where that run ends (later colons inside it are skipped). */
static ql_status hexcolon_at(const ql__numeric_index *ix, const ql_allocator *a,
                             const uint8_t *d, size_t n, size_t i, size_t *done,
                             ql__vec *triggers)
{
    if (i < *done)
        return QL_OK;
    size_t p = i, q = i + 1;
    while (p > 0 && i - p < 48 && v6_char(d[p - 1]))
        p--;
    while (q < n && q - i < 48 && v6_char(d[q]))
        q++;
    *done = q;
    size_t colons = 0, dots = 0;
    int double_colon = 0;
    for (size_t k = p; k < q; k++) {
        colons += d[k] == ':';
        dots += d[k] == '.';
        double_colon |= d[k] == ':' && k + 1 < q && d[k + 1] == ':';
    }
    while (q > i + 1 && d[q - 1] == '.')
        q--;
    /* Clock times (10:30:45.123) are none of these. */
    if (!double_colon && colons < 7 && !(colons == 6 && dots))
        return QL_OK;
    return push_validator(ix, a, triggers, QL__V_IPV6, q);
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
