/*
 * gateway_text.c — the LLM gateway's text machinery, free of HTTP: the
 * per-request placeholder map, restoring placeholders in whole texts and in
 * streams, finding base64 and hex blocks that hide instructions, and
 * splitting server-sent events.
 *
 * The streaming restorer is the part that matters for time-to-first-token:
 * a model's answer arrives in small deltas and a placeholder may be cut
 * anywhere (`<cn_mob` | `ile_phone_1>`).  The restorer emits every byte at
 * once except a suffix that is still a proper prefix of one of the
 * request's own placeholders, so at most one placeholder's length minus
 * one is ever held back, never the answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

/* ------------------------------------------------------------ buffers */

void gw_buf_init(gw_buf *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

int gw_buf_put(gw_buf *b, const void *data, size_t length)
{
    if (b->failed)
        return -1;
    if (length == 0)
        return 0;
    if (length > b->max - b->length || b->length > b->max) {
        b->failed = 1;
        return -1;
    }
    if (b->length + length + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->length + length + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return -1;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->length, data, length);
    b->length += length;
    b->data[b->length] = '\0';
    return 0;
}

void gw_buf_consume(gw_buf *b, size_t length)
{
    if (length >= b->length) {
        b->length = 0;
    } else {
        memmove(b->data, b->data + length, b->length - length);
        b->length -= length;
    }
    if (b->data)
        b->data[b->length] = '\0';
}

void gw_buf_free(gw_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------ placeholders */

static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

const gw_value *gw_map_add(gw_map *map, const char *type, const char *folded, size_t folded_length,
                           const char *original, size_t original_length)
{
    unsigned last = 0;
    for (size_t i = 0; i < map->count; i++) {
        gw_value *v = &map->values[i];
        if (strcmp(v->type, type) != 0)
            continue;
        if (v->folded_length == folded_length && memcmp(v->folded, folded, folded_length) == 0)
            return v;
        if (v->number > last)
            last = v->number;
    }
    if (map->count == map->cap) {
        size_t cap = map->cap ? map->cap * 2 : 8;
        gw_value *n = realloc(map->values, cap * sizeof *n);
        if (!n)
            return NULL;
        map->values = n;
        map->cap = cap;
    }
    gw_value *v = &map->values[map->count];
    memset(v, 0, sizeof *v);
    size_t tn = strlen(type);
    char *ph = malloc(tn + 16);
    v->type = dup_bytes(type, tn);
    v->folded = dup_bytes(folded, folded_length);
    v->original = dup_bytes(original, original_length);
    if (!ph || !v->type || !v->folded || !v->original) {
        free(ph);
        free(v->type);
        free(v->folded);
        free(v->original);
        return NULL;
    }
    v->number = last + 1;
    v->placeholder_length = (size_t)snprintf(ph, tn + 16, "<%s_%u>", type, v->number);
    v->placeholder = ph;
    v->folded_length = folded_length;
    v->original_length = original_length;
    map->count++;
    return v;
}

int gw_map_know(gw_map *map, const char *folded, size_t length)
{
    if (gw_map_known(map, folded, length))
        return 0;
    if (map->known_count == map->known_cap) {
        size_t cap = map->known_cap ? map->known_cap * 2 : 8;
        char **k = realloc(map->known, cap * sizeof *k);
        if (!k)
            return -1;
        map->known = k;
        size_t *l = realloc(map->known_length, cap * sizeof *l);
        if (!l)
            return -1;
        map->known_length = l;
        map->known_cap = cap;
    }
    if (!(map->known[map->known_count] = dup_bytes(folded, length)))
        return -1;
    map->known_length[map->known_count++] = length;
    return 0;
}

int gw_map_known(const gw_map *map, const char *folded, size_t length)
{
    for (size_t i = 0; i < map->known_count; i++)
        if (map->known_length[i] == length && memcmp(map->known[i], folded, length) == 0)
            return 1;
    return 0;
}

void gw_map_free(gw_map *map)
{
    for (size_t i = 0; i < map->count; i++) {
        gw_value *v = &map->values[i];
        free(v->type);
        free(v->placeholder);
        /* The originals are the caller's personal data: wiped, not just freed. */
        if (v->original)
            memset(v->original, 0, v->original_length);
        free(v->original);
        if (v->folded)
            memset(v->folded, 0, v->folded_length);
        free(v->folded);
    }
    for (size_t i = 0; i < map->known_count; i++) {
        memset(map->known[i], 0, map->known_length[i]);
        free(map->known[i]);
    }
    free(map->values);
    free(map->known);
    free(map->known_length);
    memset(map, 0, sizeof *map);
}

/* At `p` (a '<'), with `n` bytes left: 1 and *value if a whole placeholder
 * starts here, 2 if the rest is a proper prefix of one, 0 otherwise. */
static int placeholder_at(const gw_map *map, const char *p, size_t n, const gw_value **value)
{
    int prefix = 0;
    for (size_t i = 0; i < map->count; i++) {
        const gw_value *v = &map->values[i];
        if (n >= v->placeholder_length) {
            if (memcmp(p, v->placeholder, v->placeholder_length) == 0) {
                *value = v;
                return 1;
            }
        } else if (!prefix && memcmp(p, v->placeholder, n) == 0) {
            prefix = 1;
        }
    }
    return prefix ? 2 : 0;
}

/* Emits text[0..length) with placeholders restored; returns how many bytes
 * were consumed (all but a held-back suffix unless `final`). */
static size_t restore_run(const gw_map *map, const char *text, size_t length, int final,
                          gw_buf *out, size_t *restored)
{
    size_t i = 0;
    while (i < length) {
        const char *lt = map->count ? memchr(text + i, '<', length - i) : NULL;
        size_t upto = lt ? (size_t)(lt - text) : length;
        gw_buf_put(out, text + i, upto - i);
        i = upto;
        if (!lt)
            break;
        const gw_value *v = NULL;
        int kind = placeholder_at(map, text + i, length - i, &v);
        if (kind == 1) {
            gw_buf_put(out, v->original, v->original_length);
            i += v->placeholder_length;
            if (restored)
                (*restored)++;
        } else if (kind == 2 && !final) {
            return i;
        } else {
            gw_buf_put(out, "<", 1);
            i++;
        }
    }
    return length;
}

int gw_restore_all(const gw_map *map, const char *text, size_t length, gw_buf *out,
                   size_t *restored)
{
    restore_run(map, text, length, 1, out, restored);
    return out->failed ? -1 : 0;
}

void gw_restorer_init(gw_restorer *r)
{
    /* Only a placeholder's prefix is ever pending, but a delta may be long. */
    gw_buf_init(&r->pending, (size_t)64 << 20);
}

int gw_restorer_feed(gw_restorer *r, const gw_map *map, const char *text, size_t length,
                     int final, gw_buf *out, size_t *restored)
{
    if (r->pending.length == 0) {
        /* The common case: nothing held back, work on the delta itself. */
        size_t used = restore_run(map, text, length, final, out, restored);
        if (used < length && gw_buf_put(&r->pending, text + used, length - used) != 0)
            return -1;
        return out->failed ? -1 : 0;
    }
    if (gw_buf_put(&r->pending, text, length) != 0)
        return -1;
    size_t used = restore_run(map, r->pending.data, r->pending.length, final, out, restored);
    gw_buf_consume(&r->pending, used);
    return out->failed ? -1 : 0;
}

void gw_restorer_free(gw_restorer *r)
{
    gw_buf_free(&r->pending);
}

/* ------------------------------------------------------------ encoded payloads */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Mostly text: valid UTF-8, at least 85% of it printable or whitespace,
 * and some letters.  Images and compressed data fail at once. */
static int looks_like_text(const unsigned char *p, size_t n)
{
    size_t good = 0, letters = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if (c >= 0x20 || c == '\n' || c == '\r' || c == '\t')
                good++;
            if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
                letters++;
            i++;
            continue;
        }
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        if (!len || i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
        good += len;
        letters += len;
        i += len;
    }
    return n > 0 && good * 100 >= n * 85 && letters * 4 >= n;
}

#define DECODED_MAX 65536

size_t gw_decoded_blocks(const char *text, size_t length,
                         void (*found)(const char *decoded, size_t length, void *user), void *user)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned char *buf = NULL;
    size_t count = 0;
    size_t i = 0;
    while (i < length) {
        if (b64_value(s[i]) < 0 && s[i] != '=') {
            i++;
            continue;
        }
        size_t start = i;
        while (i < length && b64_value(s[i]) >= 0)
            i++;
        size_t end = i;
        while (i < length && s[i] == '=' && i - end < 2)
            i++;
        size_t run = end - start;
        if (run < 20)
            continue;
        if (!buf && !(buf = malloc(DECODED_MAX)))
            break;
        int all_hex = 1;
        for (size_t k = start; k < end && all_hex; k++)
            all_hex = hex_value(s[k]) >= 0;
        size_t n = 0;
        if (all_hex && run >= 32) {
            for (size_t k = start; k + 1 < end && n < DECODED_MAX; k += 2)
                buf[n++] = (unsigned char)(hex_value(s[k]) << 4 | hex_value(s[k + 1]));
        } else if (!all_hex) {
            uint32_t acc = 0;
            int bits = 0;
            for (size_t k = start; k < end && n < DECODED_MAX; k++) {
                acc = acc << 6 | (uint32_t)b64_value(s[k]);
                bits += 6;
                if (bits >= 8) {
                    bits -= 8;
                    buf[n++] = (unsigned char)(acc >> bits);
                    acc &= (1u << bits) - 1;
                }
            }
        }
        if (n >= 12 && looks_like_text(buf, n)) {
            found((const char *)buf, n, user);
            count++;
        }
    }
    free(buf);
    return count;
}

/* ------------------------------------------------------------ SSE */

size_t gw_sse_event(const char *data, size_t length, size_t *body_length)
{
    /* Events end with a blank line: "\n\n", "\r\n\r\n" or "\r\r". */
    for (size_t i = 0; i + 1 < length; i++) {
        if (data[i] == '\n' && data[i + 1] == '\n') {
            *body_length = i;
            return i + 2;
        }
        if (data[i] == '\r' && data[i + 1] == '\n' && i + 3 < length && data[i + 2] == '\r' &&
            data[i + 3] == '\n') {
            *body_length = i;
            return i + 4;
        }
        if (data[i] == '\r' && data[i + 1] == '\r') {
            *body_length = i;
            return i + 2;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ fast JSON loading */

/* jansson reads a document a character at a time through a callback: about
 * 80 MB/s, 0.4 ms for a 32 KB prompt, the largest part of the gateway's
 * own time on large requests.  Nearly all of a prompt's bytes are in a few
 * long strings, so those are taken out first: a tight loop finds each
 * string value longer than LONG_STRING bytes, checks and decodes it (UTF-8
 * validated strictly, escapes as RFC 8259 has them); jansson parses what
 * is left, where each long string stands as a short token; the tokens are
 * then replaced by the decoded strings (json_stringn_nocheck: already
 * validated).  Anything unusual (a bad escape, a lone surrogate, \u0000,
 * invalid UTF-8, a syntax error) falls back to jansson on the whole text,
 * which then gives its own error and position. */

#define LONG_STRING 256

typedef struct long_strings {
    char  **values;
    size_t *lengths;
    size_t  count, cap;
    char    tag[24];          /* "\x01ql" + 16 hex digits of this call */
    size_t  tag_length;
} long_strings;

static int hexval4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value((unsigned char)p[i]);
        if (h < 0)
            return -1;
        v = v << 4 | (unsigned)h;
    }
    *out = v;
    return 0;
}

static void put_utf8(gw_buf *b, unsigned cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    gw_buf_put(b, u, n);
}

/* The length of a valid UTF-8 sequence at p (strict: no overlongs, no
 * surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

/* Decodes the string body s[0..n) (between its quotes) into out; -1 on
 * anything jansson would refuse. */
static int decode_string(const char *s, size_t n, gw_buf *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = utf8_sequence(p + i, n - i);
            if (!k)
                return -1;
            i += k;
            continue;
        }
        if (c != '\\' || i + 1 >= n)
            return -1;          /* a control character, or a cut escape */
        gw_buf_put(out, s + run, i - run);
        char e = s[i + 1];
        unsigned cp;
        switch (e) {
        case '"': case '\\': case '/':
            gw_buf_put(out, &e, 1);
            i += 2;
            break;
        case 'b': gw_buf_put(out, "\b", 1); i += 2; break;
        case 'f': gw_buf_put(out, "\f", 1); i += 2; break;
        case 'n': gw_buf_put(out, "\n", 1); i += 2; break;
        case 'r': gw_buf_put(out, "\r", 1); i += 2; break;
        case 't': gw_buf_put(out, "\t", 1); i += 2; break;
        case 'u':
            if (i + 6 > n || hexval4(s + i + 2, &cp) != 0 || cp == 0)
                return -1;
            i += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u' || hexval4(s + i + 2, &lo) != 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return -1;
            }
            put_utf8(out, cp);
            break;
        default:
            return -1;
        }
        run = i;
    }
    gw_buf_put(out, s + run, n - run);
    return out->failed ? -1 : 0;
}

static void long_strings_free(long_strings *ls)
{
    for (size_t i = 0; i < ls->count; i++)
        free(ls->values[i]);
    free(ls->values);
    free(ls->lengths);
}

/* Replaces tokens by their strings in the tree; -1 on OOM. */
static int put_back(json_t *v, const long_strings *ls)
{
    size_t i;
    const char *key;
    json_t *item;
    if (json_is_array(v)) {
        json_array_foreach(v, i, item) {
            if (json_is_string(item)) {
                const char *s = json_string_value(item);
                size_t n = json_string_length(item);
                if (n > ls->tag_length && memcmp(s, ls->tag, ls->tag_length) == 0) {
                    size_t k = strtoul(s + ls->tag_length, NULL, 10);
                    if (k >= ls->count ||
                        json_array_set_new(v, i, json_stringn_nocheck(ls->values[k], ls->lengths[k])) != 0)
                        return -1;
                }
            } else if (put_back(item, ls) != 0) {
                return -1;
            }
        }
    } else if (json_is_object(v)) {
        json_object_foreach(v, key, item) {
            if (json_is_string(item)) {
                const char *s = json_string_value(item);
                size_t n = json_string_length(item);
                if (n > ls->tag_length && memcmp(s, ls->tag, ls->tag_length) == 0) {
                    size_t k = strtoul(s + ls->tag_length, NULL, 10);
                    if (k >= ls->count ||
                        json_object_set_new(v, key, json_stringn_nocheck(ls->values[k], ls->lengths[k])) != 0)
                        return -1;
                }
            } else if (put_back(item, ls) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

static json_t *fast_load(const char *data, size_t length)
{
    const char *p = data;
    long_strings ls;
    gw_buf small;
    json_t *result = NULL;
    static _Atomic unsigned long long calls;
    memset(&ls, 0, sizeof ls);
    gw_buf_init(&small, length + 64);
    /* The tag is unique to this call (a counter and the buffer's address),
     * so no string a caller wrote can be taken for one. */
    unsigned long long id = ++calls ^ (unsigned long long)(uintptr_t)data;
    ls.tag_length = (size_t)snprintf(ls.tag, sizeof ls.tag, "\x01ql%016llx:", id);
    size_t i = 0, copied = 0;
    while (i < length) {
        const char *q = memchr(p + i, '"', length - i);
        if (!q)
            break;
        size_t start = (size_t)(q - p) + 1, j = start;
        /* The closing quote: the first one not escaped. */
        for (;;) {
            const char *e = memchr(p + j, '"', length - j);
            if (!e)
                goto fallback;
            size_t at = (size_t)(e - p), back = 0;
            while (at - back > start && p[at - back - 1] == '\\')
                back++;
            j = at + 1;
            if (back % 2 == 0)
                break;
        }
        size_t end = j - 1;     /* the closing quote */
        size_t after = j;
        while (after < length && (p[after] == ' ' || p[after] == '\t' || p[after] == '\n' || p[after] == '\r'))
            after++;
        if (end - start > LONG_STRING && (after >= length || p[after] != ':')) {
            gw_buf value;
            gw_buf_init(&value, end - start + 1);
            if (decode_string(p + start, end - start, &value) != 0) {
                gw_buf_free(&value);
                goto fallback;
            }
            if (ls.count == ls.cap) {
                size_t cap = ls.cap ? ls.cap * 2 : 8;
                char **nv = realloc(ls.values, cap * sizeof *nv);
                if (!nv) {
                    gw_buf_free(&value);
                    goto fallback;
                }
                ls.values = nv;
                size_t *nl = realloc(ls.lengths, cap * sizeof *nl);
                if (!nl) {
                    gw_buf_free(&value);
                    goto fallback;
                }
                ls.lengths = nl;
                ls.cap = cap;
            }
            ls.values[ls.count] = value.data ? value.data : calloc(1, 1);
            ls.lengths[ls.count] = value.length;
            char token[64];
            int tn = snprintf(token, sizeof token, "\\u0001ql%016llx:%zu", id, ls.count);
            ls.count++;
            gw_buf_put(&small, p + copied, start - copied);
            gw_buf_put(&small, token, (size_t)tn);
            copied = end;
        }
        i = j;
    }
    if (ls.count == 0)
        goto fallback;
    gw_buf_put(&small, p + copied, length - copied);
    if (small.failed)
        goto fallback;
    result = json_loadb(small.data, small.length, 0, NULL);
    if (!result || put_back(result, &ls) != 0) {
        json_decref(result);
        result = NULL;
        goto fallback;
    }
    long_strings_free(&ls);
    gw_buf_free(&small);
    return result;
fallback:
    long_strings_free(&ls);
    gw_buf_free(&small);
    return NULL;
}

json_t *gw_json_loadb(const char *data, size_t length, json_error_t *error)
{
    json_t *v = length > 4 * LONG_STRING ? fast_load(data, length) : NULL;
    return v ? v : json_loadb(data, length, 0, error);
}

/* ------------------------------------------------------------ fast JSON writing */

/* The same idea for writing: long strings are swapped for tokens, jansson
 * writes the small tree, and each token is replaced by its string escaped
 * by a tight loop (as jansson writes strings: UTF-8 as it is, `"`, `\` and
 * control characters escaped). */

typedef struct taken {
    json_t *holder;       /* object or array */
    const char *key;      /* object member (owned by the holder), or NULL */
    size_t index;
    json_t *value;        /* the long string, a reference held */
} taken;

typedef struct taken_list {
    taken *items;
    size_t count, cap;
    int failed;
} taken_list;

static void take_long(json_t *v, taken_list *t, const char *tag, size_t depth)
{
    size_t i;
    const char *key;
    json_t *item;
    if (depth > 64 || t->failed)
        return;
    if (json_is_array(v) || json_is_object(v)) {
        int is_array = json_is_array(v);
        size_t n = is_array ? json_array_size(v) : 0;
        void *iter = is_array ? NULL : json_object_iter(v);
        for (i = 0;; i++) {
            if (is_array) {
                if (i >= n)
                    break;
                item = json_array_get(v, i);
                key = NULL;
            } else {
                if (!iter)
                    break;
                key = json_object_iter_key(iter);
                item = json_object_iter_value(iter);
                iter = json_object_iter_next(v, iter);
            }
            if (json_is_string(item) && json_string_length(item) > LONG_STRING) {
                if (t->count == t->cap) {
                    size_t cap = t->cap ? t->cap * 2 : 8;
                    taken *nt = realloc(t->items, cap * sizeof *nt);
                    if (!nt) {
                        t->failed = 1;
                        return;
                    }
                    t->items = nt;
                    t->cap = cap;
                }
                char token[64];
                int tn = snprintf(token, sizeof token, "%s%zu", tag, t->count);
                json_t *tok = json_stringn(token, (size_t)tn);
                taken *tk = &t->items[t->count];
                tk->holder = v;
                tk->key = key;
                tk->index = i;
                tk->value = json_incref(item);
                if (!tok || (key ? json_object_set_new(v, key, tok) : json_array_set_new(v, i, tok)) != 0) {
                    json_decref(tk->value);
                    t->failed = 1;
                    return;
                }
                t->count++;
            } else {
                take_long(item, t, tag, depth + 1);
            }
        }
    }
}

static void give_back(taken_list *t)
{
    for (size_t i = t->count; i-- > 0;) {
        taken *tk = &t->items[i];
        if (tk->key)
            json_object_set_new(tk->holder, tk->key, tk->value);
        else
            json_array_set_new(tk->holder, tk->index, tk->value);
    }
    free(t->items);
}

static void escape_into(gw_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    gw_buf_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        gw_buf_put(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': gw_buf_put(b, "\\\"", 2); break;
        case '\\': gw_buf_put(b, "\\\\", 2); break;
        case '\b': gw_buf_put(b, "\\b", 2); break;
        case '\f': gw_buf_put(b, "\\f", 2); break;
        case '\n': gw_buf_put(b, "\\n", 2); break;
        case '\r': gw_buf_put(b, "\\r", 2); break;
        case '\t': gw_buf_put(b, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            gw_buf_put(b, u, 6);
        }
        }
    }
    gw_buf_put(b, s + run, n - run);
    gw_buf_put(b, "\"", 1);
}

char *gw_json_dumps(json_t *v, size_t *length)
{
    static _Atomic unsigned long long calls;
    char tag[32], written[40];
    taken_list t = {0};
    unsigned long long id = ++calls ^ (unsigned long long)(uintptr_t)v;
    snprintf(tag, sizeof tag, "\x01qw%016llx:", id);
    int wn = snprintf(written, sizeof written, "\"\\u0001qw%016llx:", id);
    take_long(v, &t, tag, 0);
    char *small = t.failed ? NULL : json_dumps(v, JSON_COMPACT);
    char *result = NULL;
    if (small && t.count) {
        gw_buf out;
        size_t n = strlen(small), at = 0, total = n;
        for (size_t i = 0; i < t.count; i++)
            total += json_string_length(t.items[i].value) * 2 + 2;
        gw_buf_init(&out, total * 3 + 64);
        for (;;) {
            const char *hit = memmem(small + at, n - at, written, (size_t)wn);
            if (!hit)
                break;
            size_t pos = (size_t)(hit - small);
            char *end = NULL;
            size_t k = strtoul(hit + wn, &end, 10);
            if (!end || *end != '"' || k >= t.count) {
                out.failed = 1;
                break;
            }
            gw_buf_put(&out, small + at, pos - at);
            escape_into(&out, json_string_value(t.items[k].value), json_string_length(t.items[k].value));
            at = (size_t)(end - small) + 1;
        }
        gw_buf_put(&out, small + at, n - at);
        free(small);
        small = NULL;
        if (!out.failed) {
            result = out.data;
            *length = out.length;
        } else {
            gw_buf_free(&out);
        }
    } else if (small) {
        result = small;
        *length = strlen(small);
        small = NULL;
    }
    free(small);
    give_back(&t);
    if (!result && !t.failed && t.count) {
        /* The splice failed (cannot happen with a tree jansson wrote):
         * write it the slow way. */
        result = json_dumps(v, JSON_COMPACT);
        *length = result ? strlen(result) : 0;
    }
    return result;
}

/* ------------------------------------------------------------ spaced-out words */

/* The length of the character at p if it is a letter, digit or CJK
 * ideograph ("a", "忽"), else 0. */
static size_t word_char(const unsigned char *p, size_t n)
{
    if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
        return 1;
    if (*p >= '0' && *p <= '9')
        return 1;
    if (*p >= 0xE4 && *p <= 0xE9 && n >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80)
        return 3;
    return 0;
}

int gw_collapse_spacing(const char *text, size_t length, gw_buf *out)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0, copied = 0;
    int changed = 0;
    while (i < length) {
        /* A run of single characters, each followed by spaces: "I G N O R E". */
        size_t k = word_char(p + i, length - i);
        if (!k || (i > 0 && p[i - 1] != ' ' && p[i - 1] != '\n')) {
            i++;
            continue;
        }
        size_t start = i, count = 0, j = i;
        for (;;) {
            size_t c = word_char(p + j, length - j);
            if (!c)
                break;
            size_t after = j + c;
            if (after < length && p[after] != ' ' && p[after] != '\n')
                break;            /* a longer word: not spaced out */
            count++;
            j = after;
            size_t spaces = 0;
            while (j + spaces < length && p[j + spaces] == ' ')
                spaces++;
            if (spaces == 0 || j + spaces >= length)
                break;
            j += spaces;
        }
        if (count < 4) {
            i = start + k;
            continue;
        }
        /* Rewrite the run: single spaces vanish, wider gaps are word breaks. */
        gw_buf_put(out, text + copied, start - copied);
        size_t end = start;
        for (size_t m = 0, q = start; m < count; m++) {
            size_t c = word_char(p + q, length - q);
            gw_buf_put(out, text + q, c);
            q += c;
            end = q;
            size_t spaces = 0;
            while (q + spaces < length && p[q + spaces] == ' ')
                spaces++;
            if (m + 1 < count) {
                if (spaces > 1)
                    gw_buf_put(out, " ", 1);
                q += spaces;
            }
        }
        copied = end;
        i = end;
        changed = 1;
    }
    if (changed)
        gw_buf_put(out, text + copied, length - copied);
    return changed && !out->failed;
}

/* ------------------------------------------------------------ evasions */

/* U+200B-U+200D, U+2060, U+FEFF, U+00AD: characters nobody sees, put
 * between letters so that words stop matching. */
static size_t invisible(const unsigned char *p, size_t n)
{
    if (n >= 3 && p[0] == 0xE2 && p[1] == 0x80 && p[2] >= 0x8B && p[2] <= 0x8D)
        return 3;
    if (n >= 3 && p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0xA0)
        return 3;
    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        return 3;
    if (n >= 2 && p[0] == 0xC2 && p[1] == 0xAD)
        return 2;
    return 0;
}

static char unleet(char c)
{
    switch (c) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '7': return 't';
    case '@': return 'a';
    case '$': return 's';
    default: return c;
    }
}

int gw_normalize_evasions(const char *text, size_t length, gw_buf *out)
{
    const unsigned char *p = (const unsigned char *)text;
    gw_buf step;
    int changed = 0;
    size_t copied = 0;
    gw_buf_init(&step, length + 16);
    /* Only what changes is written; the common text is copied in runs. */
    for (size_t i = 0; i < length;) {
        if (p[i] >= 0xC2) {
            size_t k = invisible(p + i, length - i);
            if (k) {
                gw_buf_put(&step, text + copied, i - copied);
                copied = i + k;
                changed = 1;
            }
            i += k ? k : 1;
            continue;
        }
        /* An ASCII word with letters and leet digits: "1gn0re" -> "ignore". */
        size_t j = i, letters = 0, leet = 0;
        while (j < length && (((p[j] | 0x20) >= 'a' && (p[j] | 0x20) <= 'z') || (p[j] >= '0' && p[j] <= '9') ||
                              p[j] == '@' || p[j] == '$')) {
            if (((p[j] | 0x20) >= 'a' && (p[j] | 0x20) <= 'z'))
                letters++;
            else if (unleet((char)p[j]) != (char)p[j])
                leet++;
            j++;
        }
        if (j == i) {
            i++;
            continue;
        }
        if (letters >= 2 && leet >= 1) {
            gw_buf_put(&step, text + copied, i - copied);
            for (size_t m = i; m < j; m++) {
                char c = unleet((char)p[m]);
                gw_buf_put(&step, &c, 1);
            }
            copied = j;
            changed = 1;
        }
        i = j;
    }
    if (changed)
        gw_buf_put(&step, text + copied, length - copied);
    const char *base = changed ? step.data : text;
    size_t base_length = changed ? step.length : length;
    if (gw_collapse_spacing(base ? base : "", base_length, out)) {
        changed = 1;
    } else if (changed) {
        gw_buf_put(out, base, base_length);
    }
    gw_buf_free(&step);
    return changed && !out->failed;
}
