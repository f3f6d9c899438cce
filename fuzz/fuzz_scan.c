/*
 * fuzz_scan.c — the scanner over arbitrary bytes.
 *
 * Input surface: the text being scanned (files, standard input, the
 * service's request bodies), in any encoding.  The input is scanned whole
 * with the built-in rules as AUTO, GB18030 and UTF-16LE; each finding must
 * be well formed (a span inside the input, strings present, line and
 * column 1-based, confidence within 0..1).  Then the same bytes go through
 * a stream cut in two at a position taken from the first two bytes, with a
 * stream window chosen by the third byte (so the stream scans in several
 * batches), and the findings must equal ql_scan's as (type, start, end):
 * the header promises identical findings whatever the cut and whatever the
 * window.  For UTF-8 input, ql_scan_range over the two pieces [0, cut) and
 * [cut, size) must also add up to ql_scan's findings, and a whole-buffer
 * scan with the small window must too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qinglang.h"
#include "fuzz.h"

typedef struct span {
    char     type[48];
    uint64_t start, end;
} span;

typedef struct span_list {
    span  *items;
    size_t count, capacity;
    size_t input_size;       /* for the well-formedness checks */
    int    located;          /* line and column are filled in (not scan_range) */
} span_list;

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_scan: broken promise: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static int collect(const ql_finding *f, void *user)
{
    span_list *l = user;
    if (!f->type || !f->rule_id || !f->category || !f->masked)
        broken("finding with a NULL string", f->type);
    if (f->start >= f->end || f->end > l->input_size)
        broken("finding span outside the input", f->type);
    if (l->located && (f->line < 1 || f->column < 1))
        broken("finding with line or column 0", f->type);
    if (!(f->confidence >= 0.0 && f->confidence <= 1.0))
        broken("confidence outside 0..1", f->type);
    if (f->attribute_count > QL_MAX_ATTRIBUTES)
        broken("too many attributes", f->type);
    if (f->value_length && !f->value)
        broken("value length without a value", f->type);
    /* Touch every byte the finding hands out, so that ASan sees an
     * over-read of the value, the mask or an attribute at once. */
    volatile unsigned sum = 0;
    for (size_t i = 0; i < f->value_length; i++)
        sum += f->value[i];
    sum += (unsigned)strlen(f->masked) + (unsigned)strlen(f->rule_id) +
           (unsigned)strlen(f->category);
    for (size_t i = 0; i < f->attribute_count; i++) {
        if (!f->attributes[i].key || !f->attributes[i].value)
            broken("attribute with a NULL string", f->type);
        sum += (unsigned)strlen(f->attributes[i].key) + (unsigned)strlen(f->attributes[i].value);
    }
    (void)sum;

    if (l->count == l->capacity) {
        size_t capacity = l->capacity ? l->capacity * 2 : 16;
        span *items = realloc(l->items, capacity * sizeof *items);
        if (!items)
            abort();
        l->items = items;
        l->capacity = capacity;
    }
    span *s = &l->items[l->count++];
    snprintf(s->type, sizeof s->type, "%s", f->type);
    s->start = f->start;
    s->end = f->end;
    return 0;
}

static int compare_spans(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->type, y->type);
}

static void reset(span_list *l, size_t input_size, int located)
{
    l->count = 0;
    l->input_size = input_size;
    l->located = located;
}

/* Prints both lists and aborts if they differ (after sorting: a stream
 * orders findings within each batch only). */
static void expect_same(span_list *expected, span_list *got, const char *what, size_t cut,
                        size_t window, ql_encoding encoding)
{
    if (expected->count)
        qsort(expected->items, expected->count, sizeof *expected->items, compare_spans);
    if (got->count)
        qsort(got->items, got->count, sizeof *got->items, compare_spans);
    int same = expected->count == got->count;
    for (size_t i = 0; same && i < expected->count; i++)
        same = compare_spans(&expected->items[i], &got->items[i]) == 0;
    if (same)
        return;
    fprintf(stderr, "fuzz_scan: %s differs from ql_scan (encoding %d, cut %zu, window %zu)\n",
            what, (int)encoding, cut, window);
    for (size_t i = 0; i < expected->count; i++)
        fprintf(stderr, "  ql_scan: %s [%llu, %llu)\n", expected->items[i].type,
                (unsigned long long)expected->items[i].start,
                (unsigned long long)expected->items[i].end);
    for (size_t i = 0; i < got->count; i++)
        fprintf(stderr, "  %s: %s [%llu, %llu)\n", what, got->items[i].type,
                (unsigned long long)got->items[i].start, (unsigned long long)got->items[i].end);
    broken("findings depend on the cut or the window", what);
}

static ql_rules *g_rules;
static ql_scanner *g_scanner;

static void init_once(void)
{
    if (g_scanner)
        return;
    ql_compiler *compiler = NULL;
    if (ql_compiler_create(NULL, &compiler) != QL_OK || ql_compiler_add_builtin(compiler) != QL_OK ||
        ql_compiler_compile(compiler, &g_rules) != QL_OK)
        broken("the built-in rules do not compile", NULL);
    ql_compiler_destroy(compiler);
    if (ql_scanner_create(g_rules, NULL, &g_scanner) != QL_OK)
        broken("ql_scanner_create failed", NULL);
}

/* The statuses a scan of arbitrary bytes may end with: success, or bytes
 * that do not decode in a forced encoding. */
static void expect_scan_status(ql_status status, const char *what)
{
    if (status != QL_OK && status != QL_EENCODING)
        broken(what, ql_status_message(status));
}

/* Streams `data` in two writes cut at `cut`; returns the first non-OK
 * status (the stream is finished and closed either way). */
static ql_status stream_cut(const uint8_t *data, size_t size, size_t cut,
                            const ql_scan_options *options, span_list *out)
{
    ql_stream *stream = NULL;
    ql_status status = ql_stream_open(g_scanner, options, collect, out, &stream);
    if (status != QL_OK)
        goto out;
    status = ql_stream_write(stream, data, cut);
    if (status != QL_OK)
        goto out;
    status = ql_stream_write(stream, data + cut, size - cut);
    if (status != QL_OK)
        goto out;
    status = ql_stream_finish(stream);
out:
    ql_stream_close(stream);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static span_list whole, other;
    static const ql_encoding encodings[] = {QL_ENCODING_AUTO, QL_ENCODING_GB18030,
                                            QL_ENCODING_UTF16LE};
    static const size_t windows[] = {0, 17, 100, 1000, 4096, 16384};

    init_once();
    size_t cut = size >= 2 ? ((size_t)data[0] | (size_t)data[1] << 8) % (size + 1) : size / 2;
    size_t window = size >= 3 ? windows[data[2] % (sizeof windows / sizeof windows[0])] : 0;
    /* A 17-byte window over 64 KiB means thousands of batches, each with
     * its look-back: correct but too slow to fuzz with. */
    if (window && window < 1000 && size > 4096)
        window = 1000;

    for (size_t e = 0; e < sizeof encodings / sizeof encodings[0]; e++) {
        ql_scan_options options;
        ql_scan_options_init(&options);
        options.encoding = encodings[e];
        options.today = QL_FUZZ_TODAY;

        reset(&whole, size, 1);
        ql_status whole_status = ql_scan(g_scanner, data, size, &options, collect, &whole);
        expect_scan_status(whole_status, "ql_scan failed");

        ql_scan_options streamed = options;
        streamed.window = window;
        reset(&other, size, 1);
        ql_status stream_status = stream_cut(data, size, cut, &streamed, &other);
        expect_scan_status(stream_status, "the stream failed");
        if (whole_status != stream_status) {
            fprintf(stderr, "fuzz_scan: ql_scan says \"%s\", the stream \"%s\" (encoding %d)\n",
                    ql_status_message(whole_status), ql_status_message(stream_status),
                    (int)encodings[e]);
            broken("the stream and ql_scan disagree on the status", NULL);
        }
        if (whole_status != QL_OK)
            continue;
        expect_same(&whole, &other, "the stream", cut, window, encodings[e]);

        if (encodings[e] != QL_ENCODING_AUTO)
            continue;
        if (window) {
            ql_scan_options windowed = options;
            windowed.window = window;
            reset(&other, size, 1);
            expect_scan_status(ql_scan(g_scanner, data, size, &windowed, collect, &other),
                               "ql_scan with a small window failed");
            expect_same(&whole, &other, "ql_scan with a small window", 0, window, encodings[e]);
        }
        size_t bom = 0;
        if (ql_detect_encoding(data, size, &bom) == QL_ENCODING_UTF8 && bom == 0) {
            reset(&other, size, 0);
            ql_status status = ql_scan_range(g_scanner, data, size, 0, cut, &options, collect, &other);
            if (status == QL_OK)
                status = ql_scan_range(g_scanner, data, size, cut, size, &options, collect, &other);
            if (status != QL_OK)
                broken("ql_scan_range failed", ql_status_message(status));
            expect_same(&whole, &other, "ql_scan_range in two pieces", cut, 0, encodings[e]);
        }
    }
    return 0;
}
