/*
 * fuzz_rules.c — the rule file compiler.
 *
 * Input surface: a user's rule file (`qinglang scan --rules FILE`, `rules
 * check`), YAML or a plain list of keywords (docs/rules.md).  The input is
 * given to ql_compiler_add_rules on a fresh compiler (without the
 * built-ins, which would cost most of the time of every run).  Every
 * diagnostic must carry a file name and a message.  When the file is
 * accepted, the rules are compiled, each rule's introspection must be
 * complete, and a fixed text is scanned with them, once whole and once as
 * a stream cut in two with a small window: the findings must agree.  When
 * the file is refused, the header promises that the compiler stays usable
 * and keeps nothing from it: a known good rule file added afterwards must
 * compile to exactly its one rule.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qinglang.h"
#include "fuzz.h"

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_rules: broken promise: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

/* A text with something for many kinds of rule: CJK labels, digit runs,
 * words, punctuation, full-width digits, a line per kind. */
static const char text[] =
    "姓名：张三 身份证号 11010519491231002X 手机 13800138000\n"
    "EMP-123456 机密 绝密 staff id 42 employee_no=E-0001\n"
    "卡号 6222 0212 3456 7890 123 邮箱 zhang.san@example.com\n"
    "key=AKIAIOSFODNN7EXAMPLE token ghp_123456789012345678901234567890abcdef\n"
    "地址：北京市朝阳区建国路88号院3号楼 电话 010-62345678 １３８００１３８０００\n"
    "abc ABC aBc 0123456789 !@#$%^&*()_+-=[]{};':\",./<>? \t tab\r\n"
    "示例 example 10.0.0.1 2001:db8::1 -----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";

static const char good_rule[] =
    "version: 1\n"
    "rules:\n"
    "  - id: fuzz.after_failure\n"
    "    type: fuzz_after_failure\n"
    "    regex: 'EMP-\\d{6}'\n";

typedef struct span_list {
    uint64_t items[256][2];
    char     types[256][48];
    size_t   count;          /* may exceed 256: only the first 256 are kept */
} span_list;

static int collect(const ql_finding *f, void *user)
{
    span_list *l = user;
    if (!f->type || !f->rule_id || !f->masked || f->start >= f->end || f->end > sizeof text - 1)
        broken("malformed finding", f->type);
    volatile size_t touch = strlen(f->masked);
    for (size_t i = 0; i < f->value_length; i++)
        touch += f->value[i];
    (void)touch;
    if (l->count < 256) {
        l->items[l->count][0] = f->start;
        l->items[l->count][1] = f->end;
        snprintf(l->types[l->count], sizeof l->types[0], "%s", f->type);
    }
    l->count++;
    return 0;
}

static int compare_lines(const void *a, const void *b)
{
    /* Sorting a permutation index would be kinder; a canonical string per
     * finding is simpler and the lists are short. */
    return strcmp(a, b);
}

/* Turns a list into sorted "start end type" lines for comparison. */
static size_t canonical(const span_list *l, char lines[][80])
{
    size_t n = l->count < 256 ? l->count : 256;
    for (size_t i = 0; i < n; i++)
        snprintf(lines[i], 80, "%08llu %08llu %s", (unsigned long long)l->items[i][0],
                 (unsigned long long)l->items[i][1], l->types[i]);
    qsort(lines, n, 80, compare_lines);
    return n;
}

static void check_diagnostics(const ql_compiler *compiler)
{
    size_t count = ql_compiler_diagnostic_count(compiler);
    for (size_t i = 0; i < count; i++) {
        const ql_diagnostic *d = ql_compiler_diagnostic(compiler, i);
        if (!d || !d->message || !d->file)
            broken("a diagnostic without a message or a file", NULL);
        volatile size_t touch = strlen(d->message) + strlen(d->file);
        (void)touch;
    }
}

static void scan_text(const ql_rules *rules, size_t cut, size_t window)
{
    static span_list whole, streamed;
    static char whole_lines[256][80], streamed_lines[256][80];
    ql_scanner *scanner = NULL;
    ql_stream *stream = NULL;
    if (ql_scanner_create(rules, NULL, &scanner) != QL_OK)
        broken("ql_scanner_create failed", NULL);
    ql_scan_options options;
    ql_scan_options_init(&options);
    options.today = QL_FUZZ_TODAY;
    const uint8_t *bytes = (const uint8_t *)text;
    size_t size = sizeof text - 1;

    whole.count = 0;
    ql_status status = ql_scan(scanner, bytes, size, &options, collect, &whole);
    if (status != QL_OK)
        broken("ql_scan with accepted rules failed", ql_status_message(status));

    streamed.count = 0;
    options.window = window;
    status = ql_stream_open(scanner, &options, collect, &streamed, &stream);
    if (status == QL_OK)
        status = ql_stream_write(stream, bytes, cut);
    if (status == QL_OK)
        status = ql_stream_write(stream, bytes + cut, size - cut);
    if (status == QL_OK)
        status = ql_stream_finish(stream);
    ql_stream_close(stream);
    if (status != QL_OK)
        broken("a stream with accepted rules failed", ql_status_message(status));

    size_t n = canonical(&whole, whole_lines);
    size_t m = canonical(&streamed, streamed_lines);
    if (whole.count != streamed.count || n != m || memcmp(whole_lines, streamed_lines, n * 80)) {
        fprintf(stderr, "fuzz_rules: cut %zu, window %zu\n", cut, window);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "  ql_scan: %s\n", whole_lines[i]);
        for (size_t i = 0; i < m; i++)
            fprintf(stderr, "  stream:  %s\n", streamed_lines[i]);
        broken("the stream's findings differ from ql_scan's", NULL);
    }
    ql_scanner_destroy(scanner);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ql_compiler *compiler = NULL;
    ql_rules *rules = NULL;
    if (ql_compiler_create(NULL, &compiler) != QL_OK)
        broken("ql_compiler_create failed", NULL);

    ql_status status = ql_compiler_add_rules(compiler, "fuzz.yaml", data, size);
    check_diagnostics(compiler);
    if (status == QL_OK) {
        status = ql_compiler_compile(compiler, &rules);
        check_diagnostics(compiler);
        if (status == QL_OK) {
            for (size_t i = 0; i < ql_rules_count(rules); i++) {
                ql_rule_info info;
                if (ql_rules_info(rules, i, &info) != QL_OK || !info.id || !info.type ||
                    !info.category || !info.source)
                    broken("incomplete rule introspection", NULL);
            }
            /* A cut and a window from the input's own bytes, so that the
             * fuzzer can steer them too. */
            unsigned hash = 2166136261u;
            for (size_t i = 0; i < size; i++)
                hash = (hash ^ data[i]) * 16777619u;
            size_t cut = hash % (sizeof text);
            size_t window = 16 + (hash >> 16) % 200;
            scan_text(rules, cut, window);
        } else if (status != QL_ERULE && status != QL_EREGEX && status != QL_ELIMIT) {
            broken("ql_compiler_compile failed unexpectedly", ql_status_message(status));
        }
    } else if (status == QL_ERULE || status == QL_EREGEX || status == QL_ELIMIT) {
        /* Refused: the compiler must be as good as new. */
        size_t before = ql_compiler_diagnostic_count(compiler);
        status = ql_compiler_add_rules(compiler, "good.yaml", (const uint8_t *)good_rule,
                                       sizeof good_rule - 1);
        if (status != QL_OK)
            broken("a good rule file is refused after a bad one", ql_status_message(status));
        status = ql_compiler_compile(compiler, &rules);
        if (status != QL_OK) {
            for (size_t i = before; i < ql_compiler_diagnostic_count(compiler); i++)
                fprintf(stderr, "  %s\n", ql_compiler_diagnostic(compiler, i)->message);
            broken("rules from a refused file were kept (compile fails)",
                   ql_status_message(status));
        }
        if (ql_rules_count(rules) != 1)
            broken("rules from a refused file were kept (more than one rule)", NULL);
    } else {
        broken("ql_compiler_add_rules failed unexpectedly", ql_status_message(status));
    }
    ql_rules_destroy(rules);
    ql_compiler_destroy(compiler);
    return 0;
}
