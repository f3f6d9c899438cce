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
