/*
 * decode.c — GB18030 and UTF-16 to UTF-8, keeping every byte's origin.
 *
 * Rules and validators work on UTF-8.  Chinese files are still often
 * GB18030 (or its subsets GBK / GB2312), and Windows tools write UTF-16.
 * Decoding is incremental (a character cut between two chunks is carried
 * over) and records, for each UTF-8 byte produced, the offset of the source
 * character it came from, so every finding names bytes of the input as
 * given.  Invalid sequences become U+FFFD, one per bad byte: nothing is
 * dropped and decoding never fails.
 *
 * Why hand-written: glibc's iconv converts GB18030 correctly but reports
 * neither per-character offsets nor a way to go on after a bad byte
 * without a call per character.  We use iconv once, when a rule set is
 * built, to fill the two-byte and four-byte BMP tables (about 63 000 code
 * points, 125 KiB), so the mapping itself is glibc's, and decode with a
 * table lookup per character.  Four-byte codes above the BMP are the
 * arithmetic range GB18030 defines (0x90308130 = U+10000).
 */
#include <iconv.h>
#include <string.h>

#include "internal.h"

#define GB2_COUNT (126u * 191u)   /* lead 0x81..0xFE, trail 0x40..0xFE */
#define GB4_BMP   39420u          /* 0x81308130 .. 0x8431A439 */

ql_status ql__gb18030_tables(ql_rules *r)
{
    const ql_allocator *a = &r->allocator;
    r->gb2 = ql__calloc(a, GB2_COUNT, sizeof *r->gb2);
    r->gb4 = ql__calloc(a, GB4_BMP, sizeof *r->gb4);
    if (!r->gb2 || !r->gb4)
        return QL_ENOMEM;
    iconv_t cd = iconv_open("UTF-16LE", "GB18030");
    if (cd == (iconv_t)-1)
        return QL_OK;   /* no converter: GB18030 input decodes to U+FFFD */
    for (unsigned lead = 0x81; lead <= 0xFE; lead++) {
        for (unsigned trail = 0x40; trail <= 0xFE; trail++) {
            if (trail == 0x7F)
                continue;
            char in[2] = {(char)lead, (char)trail};
            unsigned char outb[8];
            char *ip = in, *op = (char *)outb;
            size_t il = 2, ol = sizeof outb;
            iconv(cd, NULL, NULL, NULL, NULL);
            if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && ol == sizeof outb - 2)
                r->gb2[(lead - 0x81) * 191 + (trail - 0x40)] = (uint16_t)(outb[0] | outb[1] << 8);
        }
    }
    for (unsigned i = 0; i < GB4_BMP; i++) {
        unsigned v = i;
        char in[4];
        in[3] = (char)(0x30 + v % 10); v /= 10;
        in[2] = (char)(0x81 + v % 126); v /= 126;
        in[1] = (char)(0x30 + v % 10); v /= 10;
        in[0] = (char)(0x81 + v);
        unsigned char outb[8];
        char *ip = in, *op = (char *)outb;
        size_t il = 4, ol = sizeof outb;
        iconv(cd, NULL, NULL, NULL, NULL);
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && ol == sizeof outb - 2)
            r->gb4[i] = (uint16_t)(outb[0] | outb[1] << 8);
    }
    iconv_close(cd);
    return QL_OK;
}

/* ---------------------------------------------------------------- UTF-8 */

static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t b = p[0];
    if (b < 0x80)
        return 1;
    size_t len;
    uint32_t min;
    if (b >= 0xC2 && b <= 0xDF) { len = 2; min = 0x80; }
    else if ((b & 0xF0) == 0xE0) { len = 3; min = 0x800; }
    else if (b >= 0xF0 && b <= 0xF4) { len = 4; min = 0x10000; }
    else return 0;
    if (n < len)
        return (size_t)-1;   /* truncated */
    uint32_t cp = b & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

size_t ql__utf8_first_invalid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t l = utf8_seq(p + i, n - i);
        if (l == 0 || l == (size_t)-1)
            return i;
        i += l;
    }
    return n;
}

int ql__utf8_valid(const uint8_t *p, size_t n, int allow_truncated)
{
    size_t i = 0;
    while (i < n) {
        /* ASCII runs eight bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        size_t l = utf8_seq(p + i, n - i);
        if (l == (size_t)-1)
            return allow_truncated;
        if (l == 0)
            return 0;
        i += l;
    }
    return 1;
}

ql_encoding ql__detect_encoding(const uint8_t *p, size_t n, size_t *bom)
{
    *bom = 0;
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
        *bom = 3;
        return QL_ENCODING_UTF8;
    }
    if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
        *bom = 2;
        return QL_ENCODING_UTF16LE;
    }
    if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
        *bom = 2;
        return QL_ENCODING_UTF16BE;
    }
    /* A sample decides: valid UTF-8 in the first 64 KiB means UTF-8 (odd
     * bytes later are scanned as they are).  Otherwise GB18030 if most of
     * the non-ASCII bytes form GB18030 characters; binary stays UTF-8. */
    size_t sample = n < 65536 ? n : 65536;
    if (ql__utf8_valid(p, sample, sample < n))
        return QL_ENCODING_UTF8;
    size_t good = 0, bad = 0;
    for (size_t i = 0; i < sample;) {
        uint8_t b = p[i];
        if (b < 0x80) {
            if (b == 0)
                bad++;
            i++;
        } else if (b >= 0x81 && b <= 0xFE && i + 1 < sample &&
                   ((p[i + 1] >= 0x40 && p[i + 1] <= 0xFE && p[i + 1] != 0x7F))) {
            good++;
            i += 2;
        } else if (b >= 0x81 && b <= 0xFE && i + 3 < sample && p[i + 1] >= 0x30 &&
                   p[i + 1] <= 0x39 && p[i + 2] >= 0x81 && p[i + 2] <= 0xFE &&
                   p[i + 3] >= 0x30 && p[i + 3] <= 0x39) {
            good++;
            i += 4;
        } else {
            bad++;
            i++;
        }
    }
    return good > 0 && bad * 20 <= good ? QL_ENCODING_GB18030 : QL_ENCODING_UTF8;
}

/* -------------------------------------------------------------- decoder */

void ql__decoder_init(ql__decoder *d, const ql_rules *rules, ql_encoding encoding)
{
    memset(d, 0, sizeof *d);
    d->rules = rules;
    d->encoding = encoding;
}

static ql_status emit(const ql_allocator *a, ql__vec *out, ql__vec *map,
                      uint32_t cp, uint64_t src)
{
    uint8_t buf[4];
    size_t n;
    if (cp < 0x80) {
        buf[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        buf[0] = (uint8_t)(0xC0 | cp >> 6);
        buf[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        buf[0] = (uint8_t)(0xE0 | cp >> 12);
        buf[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        buf[0] = (uint8_t)(0xF0 | cp >> 18);
        buf[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        buf[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        buf[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    ql_status st = ql__vec_reserve(a, out, out->count + n);
    if (st == QL_OK)
        st = ql__vec_reserve(a, map, map->count + n);
    if (st != QL_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        ((uint8_t *)out->items)[out->count++] = buf[i];
        ((uint64_t *)map->items)[map->count++] = src;
    }
    return QL_OK;
}

/* Decodes one character at p (n bytes available).  Returns the bytes it
 * used, 0 if more input is needed; *cp is U+FFFD for an invalid byte. */
static size_t decode_one(const ql__decoder *d, const uint8_t *p, size_t n, int final,
                         uint32_t *cp)
{
    switch (d->encoding) {
    case QL_ENCODING_GB18030: {
        uint8_t b = p[0];
        if (b < 0x80) { *cp = b; return 1; }
        if (b == 0x80 || b == 0xFF) { *cp = 0xFFFD; return 1; }
        if (n < 2) { if (final) { *cp = 0xFFFD; return 1; } return 0; }
        uint8_t b2 = p[1];
        if (b2 >= 0x40 && b2 <= 0xFE && b2 != 0x7F) {
            uint16_t u = d->rules->gb2[(b - 0x81) * 191 + (b2 - 0x40)];
            *cp = u ? u : 0xFFFD;
            return 2;
        }
        if (b2 >= 0x30 && b2 <= 0x39) {
            if (n < 4) { if (final) { *cp = 0xFFFD; return 1; } return 0; }
            uint8_t b3 = p[2], b4 = p[3];
            if (b3 < 0x81 || b3 > 0xFE || b4 < 0x30 || b4 > 0x39) { *cp = 0xFFFD; return 1; }
            uint32_t lin = (((uint32_t)(b - 0x81) * 10 + (b2 - 0x30)) * 126 + (b3 - 0x81)) * 10 + (b4 - 0x30);
            if (lin < GB4_BMP) {
                uint16_t u = d->rules->gb4[lin];
                *cp = u ? u : 0xFFFD;
            } else {
                uint32_t base = ((0x90u - 0x81) * 10 * 126 * 10);  /* 0x90308130 */
                *cp = lin >= base && lin - base < 0x100000 ? 0x10000 + (lin - base) : 0xFFFD;
            }
            return 4;
        }
        *cp = 0xFFFD;
        return 1;
    }
    case QL_ENCODING_UTF16LE:
    case QL_ENCODING_UTF16BE: {
        int le = d->encoding == QL_ENCODING_UTF16LE;
        if (n < 2) { if (final) { *cp = 0xFFFD; return 1; } return 0; }
        uint32_t u = le ? (uint32_t)(p[0] | p[1] << 8) : (uint32_t)(p[0] << 8 | p[1]);
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (n < 4) { if (final) { *cp = 0xFFFD; return 2; } return 0; }
            uint32_t l = le ? (uint32_t)(p[2] | p[3] << 8) : (uint32_t)(p[2] << 8 | p[3]);
            if (l >= 0xDC00 && l <= 0xDFFF) {
                *cp = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
                return 4;
            }
            *cp = 0xFFFD;
            return 2;
        }
        *cp = (u >= 0xDC00 && u <= 0xDFFF) ? 0xFFFD : u;
        return 2;
    }
    default: {
        size_t l = utf8_seq(p, n);
        if (l == (size_t)-1) {
            if (!final)
                return 0;
            *cp = 0xFFFD;
            return 1;
        }
        if (l == 0) {
            *cp = 0xFFFD;
            return 1;
        }
        /* Valid UTF-8 is passed through as it is. */
        uint32_t v = p[0] & (l == 1 ? 0x7F : 0x7F >> l);
        for (size_t i = 1; i < l; i++)
            v = v << 6 | (p[i] & 0x3F);
        *cp = v;
        return l;
    }
    }
}

ql_status ql__decode(ql__decoder *d, const ql_allocator *a, const uint8_t *data,
                     size_t length, int final, ql__vec *out, ql__vec *map)
{
    ql_status st;
    /* First finish a character carried from the previous chunk. */
    while (d->carry_length && (length || final)) {
        uint8_t tmp[8];
        size_t take = length < 4 - d->carry_length ? length : 4 - d->carry_length;
        memcpy(tmp, d->carry, d->carry_length);
        if (take)
            memcpy(tmp + d->carry_length, data, take);
        size_t have = d->carry_length + take;
        uint32_t cp;
        size_t used = decode_one(d, tmp, have, final && take == length, &cp);
        if (used == 0) {
            if (take)
                memcpy(d->carry + d->carry_length, data, take);
            d->carry_length += take;
            d->offset += take;   /* the carried bytes are consumed input too */
            return QL_OK;
        }
        uint64_t src = d->offset - d->carry_length;
        if ((st = emit(a, out, map, cp, src)) != QL_OK)
            return st;
        if (used >= d->carry_length) {
            size_t from_data = used - d->carry_length;
            if (from_data)
                data += from_data;
            length -= from_data;
            d->offset += from_data;
            d->carry_length = 0;
        } else {
            memmove(d->carry, d->carry + used, d->carry_length - used);
            d->carry_length -= used;
        }
    }
    size_t i = 0;
    while (i < length) {
        uint32_t cp;
        size_t used = decode_one(d, data + i, length - i, final, &cp);
        if (used == 0) {
            d->carry_length = length - i;
            memcpy(d->carry, data + i, d->carry_length);
            d->offset += length;
            return QL_OK;
        }
        if ((st = emit(a, out, map, cp, d->offset + i)) != QL_OK)
            return st;
        i += used;
    }
    d->offset += length;
    return QL_OK;
}

ql_encoding ql_detect_encoding(const uint8_t *data, size_t length, size_t *bom_length)
{
    size_t bom = 0;
    ql_encoding e = data ? ql__detect_encoding(data, length, &bom) : QL_ENCODING_UTF8;
    if (bom_length)
        *bom_length = bom;
    return e;
}
