/*
 * stream.c — scanning input that arrives in chunks.
 *
 * A stream buffers decoded text and runs the window engine (engine.c) over
 * it whenever enough has arrived: each window owns a stretch and sees
 * `margin` bytes on both sides, so a value cut between two writes, or its
 * context words, are seen whole.  Memory stays bounded: after a window,
 * everything more than `margin` bytes before the next owned stretch is
 * dropped.  ql_scan of a GB18030 or UTF-16 buffer runs through here too,
 * since decoding needs the offset map a stream keeps.
 */
#include <string.h>

#include "internal.h"

#define QL__STREAM_STEP (512u << 10)   /* scan when this much is new */
#define QL__SNIFF       (64u << 10)    /* AUTO looks at this much first */

struct ql_stream {
    ql_scanner  *scanner;
    ql__scan_ctx ctx;
    ql_encoding  encoding;
    int          identity;    /* UTF-8 without BOM: no decoding, no map */
    int          detecting;   /* AUTO: gathering the sample ql_scan would look at */
    ql__vec      head;
    ql__decoder  decoder;
    ql__vec      buf;         /* decoded text */
    ql__vec      map;         /* source offset per decoded byte (not identity) */
    uint64_t     base;        /* decoded offset of buf[0] */
    uint64_t     own_from;    /* next stretch to own */
    ql_position  cursor;      /* line/column at base */
    int          finished;
    ql_status    failed;
    uint64_t     settled;     /* source offset: no finding starts before it */
};

ql_encoding ql__stream_encoding(const ql_stream *s)
{
    return s->encoding;
}

uint64_t ql__stream_settled(const ql_stream *s)
{
    return s->settled;
}

void ql__stream_set_relaxed(ql_stream *s, int relaxed)
{
    s->ctx.relaxed = relaxed;
}

ql_status ql_stream_open(ql_scanner *scanner, const ql_scan_options *options,
                         ql_finding_cb callback, void *user, ql_stream **out)
{
    if (!scanner || !out)
        return QL_EINVAL;
    *out = NULL;
    ql_stream *s = ql__calloc(&scanner->allocator, 1, sizeof *s);
    if (!s)
        return QL_ENOMEM;
    s->scanner = scanner;
    ql__scan_ctx_init(&s->ctx, scanner, options, callback, user);
    s->encoding = options ? options->encoding : QL_ENCODING_AUTO;
    s->detecting = s->encoding == QL_ENCODING_AUTO;
    ql__vec_init(&s->buf, 1, (size_t)64 << 20);
    ql__vec_init(&s->map, sizeof(uint64_t), (size_t)64 << 20);
    ql__vec_init(&s->head, 1, QL__SNIFF + 1);
    ql_position_init(&s->cursor);
    if (!s->detecting) {
        s->identity = s->encoding == QL_ENCODING_UTF8;
        ql__decoder_init(&s->decoder, scanner->rules, s->encoding);
    }
    *out = s;
    return QL_OK;
}

void ql_stream_close(ql_stream *s)
{
    if (!s)
        return;
    ql_allocator a = s->scanner->allocator;
    ql__vec_free(&a, &s->buf);
    ql__vec_free(&a, &s->map);
    ql__vec_free(&a, &s->head);
    ql__free(&a, s);
}

/* Runs one window owning [own_from, own_to). */
static ql_status run_window(ql_stream *s, uint64_t own_to, int at_end)
{
    const ql_rules *rules = s->scanner->rules;
    const ql_allocator *a = &s->scanner->allocator;
    uint64_t end = s->base + s->buf.count;
    uint64_t ws = s->own_from > rules->margin ? s->own_from - rules->margin : 0;
    if (ws < s->base)
        ws = s->base;
    /* Line and column: move the cursor to the window's start. */
    ql_position cur = s->cursor;
    cur.offset -= s->base;
    ql_locate(&cur, s->buf.items, s->buf.count, ws - s->base);
    ql_position wcur = cur;
    wcur.offset = ws;

    if (end == ws)
        return QL_OK;   /* nothing buffered: no window to run */
    ql__window w;
    memset(&w, 0, sizeof w);
    w.data = (const uint8_t *)s->buf.items + (ws - s->base);
    w.length = (size_t)(end - ws);
    w.base = ws;
    w.at_start = ws == 0;
    w.at_end = at_end;
    w.own_from = s->own_from;
    w.own_to = own_to;
    w.cursor = &wcur;
    /* Room for the matcher's padding after the buffered text. */
    ql_status pst = ql__vec_reserve(a, &s->buf, s->buf.count + QL__PAD);
    if (pst != QL_OK)
        return pst;
    w.data = (const uint8_t *)s->buf.items + (ws - s->base);
    w.padded = 1;
    if (!s->identity) {
        /* One more entry: where the next source byte is. */
        uint64_t next = s->decoder.offset - s->decoder.carry_length;
        ql_status st = ql__vec_push(a, &s->map, &next);
        if (st != QL_OK)
            return st;
        w.map = (const uint64_t *)s->map.items + (ws - s->base);
    }
    ql_status st = ql__scan_window(&s->ctx, &w);
    if (!s->identity)
        s->map.count--;
    if (st != QL_OK)
        return st;
    s->own_from = own_to;
    /* Every later finding's trigger lies after own_to, so it starts after
     * own_to - max_span: the bytes before are settled. */
    uint64_t settled_dec = at_end ? end : (own_to > rules->max_span ? own_to - rules->max_span : 0);
    if (settled_dec < s->base)
        settled_dec = s->base;
    if (s->identity)
        s->settled = settled_dec;
    else if (settled_dec - s->base < s->map.count)
        s->settled = ((const uint64_t *)s->map.items)[settled_dec - s->base];
    else
        s->settled = s->decoder.offset - s->decoder.carry_length;

    /* Drop what no later window can need. */
    uint64_t keep_from = own_to > rules->margin ? own_to - rules->margin : 0;
    if (keep_from > s->base) {
        size_t drop = (size_t)(keep_from - s->base);
        ql_position c = s->cursor;
        c.offset -= s->base;
        ql_locate(&c, s->buf.items, s->buf.count, drop);
        s->cursor.line = c.line;
        s->cursor.column = c.column;
        s->cursor.offset = keep_from;
        memmove(s->buf.items, (uint8_t *)s->buf.items + drop, s->buf.count - drop);
        s->buf.count -= drop;
        if (!s->identity) {
            memmove(s->map.items, (uint64_t *)s->map.items + drop,
                    (s->map.count - drop) * sizeof(uint64_t));
            s->map.count -= drop;
        }
        s->base = keep_from;
    }
    return QL_OK;
}

static ql_status append(ql_stream *s, const uint8_t *data, size_t length, int final)
{
    const ql_allocator *a = &s->scanner->allocator;
    ql_status st;
    if (s->identity) {
        st = ql__vec_reserve(a, &s->buf, s->buf.count + length);
        if (st != QL_OK)
            return st;
        if (length)
            memcpy((uint8_t *)s->buf.items + s->buf.count, data, length);
        s->buf.count += length;
        return QL_OK;
    }
    return ql__decode(&s->decoder, a, data, length, final, &s->buf, &s->map);
}

static ql_status feed(ql_stream *s, const uint8_t *data, size_t length)
{
    const ql_rules *rules = s->scanner->rules;
    while (length) {
        /* Take at most one step at a time so the buffer stays small. */
        size_t step = s->ctx.window ? s->ctx.window : QL__STREAM_STEP;
        size_t take = length < step ? length : step;
        ql_status st = append(s, data, take, 0);
        if (st != QL_OK)
            return st;
        data += take;
        length -= take;
        uint64_t end = s->base + s->buf.count;
        if (end > s->own_from + step + rules->margin) {
            st = run_window(s, end - rules->margin, 0);
            if (st != QL_OK)
                return st;
        }
    }
    return QL_OK;
}

/* AUTO decides as ql_scan does, from the first 64 KiB (and whether more
 * follows), so a stream and a whole buffer agree on GB18030 too. */
static ql_status start_decoding(ql_stream *s)
{
    size_t bom = 0;
    const uint8_t *h = s->head.items;
    ql_encoding enc = ql__detect_encoding(h, s->head.count, &bom);
    s->encoding = enc;
    s->identity = enc == QL_ENCODING_UTF8 && bom == 0;
    ql__decoder_init(&s->decoder, s->scanner->rules, enc);
    s->decoder.offset = bom;
    s->detecting = 0;
    /* The BOM is skipped; its bytes are still counted in source offsets. */
    ql_status st = s->head.count > bom ? feed(s, h + bom, s->head.count - bom) : QL_OK;
    ql__vec_free(&s->scanner->allocator, &s->head);
    return st;
}

ql_status ql_stream_write(ql_stream *s, const uint8_t *data, size_t length)
{
    if (!s || (!data && length))
        return QL_EINVAL;
    if (s->finished)
        return QL_ESTATE;
    if (s->failed)
        return s->failed;
    ql_status st = QL_OK;
    if (s->detecting) {
        const ql_allocator *a = &s->scanner->allocator;
        size_t take = QL__SNIFF + 1 - s->head.count;
        if (take > length)
            take = length;
        st = ql__vec_reserve(a, &s->head, s->head.count + take);
        if (st == QL_OK && take) {
            memcpy((uint8_t *)s->head.items + s->head.count, data, take);
            s->head.count += take;
            data += take;
            length -= take;
        }
        if (st == QL_OK && s->head.count > QL__SNIFF)
            st = start_decoding(s);
    }
    if (st == QL_OK && !s->detecting)
        st = feed(s, data, length);
    if (st != QL_OK)
        s->failed = st;
    return st;
}

ql_status ql_stream_finish(ql_stream *s)
{
    if (!s)
        return QL_EINVAL;
    if (s->finished)
        return QL_ESTATE;
    if (s->failed)
        return s->failed;
    ql_status st = QL_OK;
    if (s->detecting)
        st = start_decoding(s);
    if (st == QL_OK && !s->identity)
        st = append(s, NULL, 0, 1);
    if (st == QL_OK)
        st = run_window(s, s->base + s->buf.count, 1);
    s->finished = 1;
    if (st != QL_OK)
        s->failed = st;
    return st;
}
