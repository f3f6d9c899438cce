/*
 * fuzz_redact.c — the redaction stream over arbitrary bytes.
 *
 * Input surface: the text being redacted (`qinglang redact`, the service),
 * in any encoding.  The input is redacted with the default policy (mask
 * everything) and with FPE everywhere under a fixed key, each time through
 * ql_redact_open/write/finish with the input cut in two at a position
 * taken from the first two bytes, and again at a second position taken
 * from the next two with a stream window chosen by the fifth byte: the two
 * outputs must be identical (redaction is deterministic and independent
 * of the cut).  The sixth byte chooses the encoding: AUTO, or GB18030 or
 * UTF-16LE forced (AUTO gathers the first 64 KiB before it decodes, so
 * only a forced encoding lets the cuts reach the decoder).  With `keep`
 * everywhere the output must be the input byte for byte (everything that
 * is not a finding is copied as it is, and keep leaves findings as they
 * are).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qinglang.h"
#include "fuzz.h"

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_redact: broken promise: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static const uint8_t key[32] = {
    0x42, 0x13, 0x37, 0x00, 0xfe, 0xed, 0xfa, 0xce, 0xca, 0xfe, 0xba, 0xbe, 0xde, 0xad, 0xbe, 0xef,
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
};

typedef struct output {
    uint8_t *data;
    size_t   length, capacity;
} output;

static int write_out(const uint8_t *data, size_t length, void *user)
{
    output *o = user;
    if (length > o->capacity - o->length) {
        size_t capacity = o->capacity ? o->capacity : 4096;
        while (length > capacity - o->length)
            capacity *= 2;
        uint8_t *grown = realloc(o->data, capacity);
        if (!grown)
            abort();
        o->data = grown;
        o->capacity = capacity;
    }
    if (length)
        memcpy(o->data + o->length, data, length);
    o->length += length;
    return 0;
}

static ql_rules *g_rules;
static ql_scanner *g_scanner;
static ql_policy *g_policies[3];   /* mask, fpe, keep */

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
    if (ql_policy_create(&g_policies[0]) != QL_OK || ql_policy_create(&g_policies[1]) != QL_OK ||
        ql_policy_set(g_policies[1], "*", QL_OP_FPE) != QL_OK ||
        ql_policy_create(&g_policies[2]) != QL_OK ||
        ql_policy_set(g_policies[2], "*", QL_OP_KEEP) != QL_OK)
        broken("the policies cannot be made", NULL);
}

/* Redacts `data` cut at `cut`, with a fresh redactor (tags are numbered
 * per redactor), into `out`.  Returns the status of the first failing
 * call. */
static ql_status redact(const ql_policy *policy, const uint8_t *data, size_t size, size_t cut,
                        size_t window, ql_encoding encoding, output *out)
{
    ql_redactor *redactor = NULL;
    ql_redact_stream *stream = NULL;
    ql_status status = ql_redactor_create(policy, key, sizeof key, &redactor);
    if (status != QL_OK)
        broken("ql_redactor_create failed", ql_status_message(status));
    ql_scan_options options;
    ql_scan_options_init(&options);
    options.today = QL_FUZZ_TODAY;
    options.window = window;
    options.encoding = encoding;
    out->length = 0;
    status = ql_redact_open(g_scanner, redactor, &options, 0, write_out, out, NULL, NULL, &stream);
    if (status == QL_OK)
        status = ql_redact_write(stream, data, cut);
    if (status == QL_OK)
        status = ql_redact_write(stream, data + cut, size - cut);
    if (status == QL_OK)
        status = ql_redact_finish(stream);
    ql_redact_close(stream);
    ql_redactor_destroy(redactor);
    return status;
}

static void dump(const char *what, const output *o)
{
    fprintf(stderr, "---- %s (%zu bytes):\n", what, o->length);
    fwrite(o->data, 1, o->length, stderr);
    fputc('\n', stderr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static output first, second;
    static const size_t windows[] = {0, 1000, 4096};
    static const char *const names[] = {"mask", "fpe", "keep"};
    static const ql_encoding encodings[] = {QL_ENCODING_AUTO, QL_ENCODING_GB18030,
                                            QL_ENCODING_UTF16LE};

    init_once();
    size_t cut1 = size >= 2 ? ((size_t)data[0] | (size_t)data[1] << 8) % (size + 1) : 0;
    size_t cut2 = size >= 4 ? ((size_t)data[2] | (size_t)data[3] << 8) % (size + 1) : size;
    size_t window = size >= 5 ? windows[data[4] % 3] : 0;
    ql_encoding encoding = size >= 6 ? encodings[data[5] % 3] : QL_ENCODING_AUTO;

    for (size_t p = 0; p < 3; p++) {
        ql_status s1 = redact(g_policies[p], data, size, cut1, 0, encoding, &first);
        ql_status s2 = redact(g_policies[p], data, size, cut2, window, encoding, &second);
        if (s1 != s2) {
            fprintf(stderr, "fuzz_redact: %s: cut %zu gives \"%s\", cut %zu \"%s\"\n", names[p],
                    cut1, ql_status_message(s1), cut2, ql_status_message(s2));
            broken("the status depends on the cut", NULL);
        }
        if (s1 != QL_OK && s1 != QL_EENCODING)
            broken("redaction failed", ql_status_message(s1));
        if (s1 != QL_OK)
            continue;
        if (first.length != second.length ||
            (first.length && memcmp(first.data, second.data, first.length))) {
            fprintf(stderr, "fuzz_redact: %s: cut %zu vs cut %zu (window %zu, encoding %d)\n",
                    names[p], cut1, cut2, window, (int)encoding);
            dump("first", &first);
            dump("second", &second);
            broken("redaction output depends on the cut", names[p]);
        }
        if (p == 2 && (first.length != size || (size && memcmp(first.data, data, size)))) {
            size_t at = 0;
            while (at < size && at < first.length && first.data[at] == data[at])
                at++;
            fprintf(stderr, "fuzz_redact: keep: output differs from the input at byte %zu "
                            "(input %zu bytes, output %zu)\n", at, size, first.length);
            broken("keep changes the input", NULL);
        }
    }
    return 0;
}
