/*
 * test_redact.c — policies, operators and the redact stream.
 *
 * Exact replacements per operator; the same output whatever the chunking
 * (every two-chunk cut, small pieces, small windows); GB18030 and UTF-16
 * written back in their own encoding with every other byte unchanged; FPE
 * encrypt -> decrypt round trips; policy file errors with their line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qinglang.h"

static ql_rules *g_rules;
static const uint8_t g_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static int setup(void **state)
{
    ql_compiler *c;
    (void)state;
    assert_int_equal(ql_compiler_create(NULL, &c), QL_OK);
    assert_int_equal(ql_compiler_add_builtin(c), QL_OK);
    assert_int_equal(ql_compiler_compile(c, &g_rules), QL_OK);
    ql_compiler_destroy(c);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ql_rules_destroy(g_rules);
    return 0;
}

typedef struct outbuf {
    uint8_t *data;
    size_t   n, cap;
} outbuf;

static int collect(const uint8_t *p, size_t n, void *user)
{
    outbuf *o = user;
    if (o->n + n + 1 > o->cap) {
        o->cap = (o->n + n + 1) * 2;
        o->data = realloc(o->data, o->cap);
        assert_non_null(o->data);
    }
    memcpy(o->data + o->n, p, n);
    o->n += n;
    o->data[o->n] = '\0';
    return 0;
}

/* Redacts `in` with `policy`, written in pieces cut at `cut` (or in
 * `piece`-byte pieces when cut is (size_t)-1), windows of `window`. */
static outbuf redact(const ql_policy *policy, const uint8_t *in, size_t n, size_t cut,
                     size_t piece, size_t window, int decrypt, ql_encoding enc)
{
    ql_scanner *s;
    ql_redactor *r;
    ql_redact_stream *rs;
    outbuf o = {0};
    ql_scan_options opts;
    ql_scan_options_init(&opts);
    opts.today = 20261125;
    opts.window = window;
    opts.encoding = enc;
    assert_int_equal(ql_scanner_create(g_rules, NULL, &s), QL_OK);
    assert_int_equal(ql_redactor_create(policy, g_key, sizeof g_key, &r), QL_OK);
    assert_int_equal(ql_redact_open(s, r, &opts, decrypt, collect, &o, NULL, NULL, &rs), QL_OK);
    if (cut != (size_t)-1) {
        assert_int_equal(ql_redact_write(rs, in, cut), QL_OK);
        assert_int_equal(ql_redact_write(rs, in + cut, n - cut), QL_OK);
    } else {
        for (size_t at = 0; at < n; at += piece) {
            size_t len = n - at < piece ? n - at : piece;
            assert_int_equal(ql_redact_write(rs, in + at, len), QL_OK);
        }
    }
    assert_int_equal(ql_redact_finish(rs), QL_OK);
    ql_redact_close(rs);
    ql_redactor_destroy(r);
    ql_scanner_destroy(s);
    if (!o.data) {
        o.data = calloc(1, 1);
        assert_non_null(o.data);
    }
    return o;
}

static ql_policy *policy_with(ql_operator op)
{
    ql_policy *p;
    assert_int_equal(ql_policy_create(&p), QL_OK);
    assert_int_equal(ql_policy_set(p, "*", op), QL_OK);
    return p;
}

static const char text[] =
    "客户姓名：张三，身份证号11010519491231002X，手机 +86 138 0013 8000，"
    "卡号 4242 4242 4242 4242。邮箱 zhang.san@qq.com\n"
    "香港身份证 A123456(3)；护照号码：E12345678；电话 010-62345678。\n";

static void expect_text(ql_operator op, const char *want)
{
    ql_policy *p = policy_with(op);
    outbuf o = redact(p, (const uint8_t *)text, strlen(text), (size_t)-1, 1 << 20, 0, 0,
                      QL_ENCODING_AUTO);
    assert_string_equal((const char *)o.data, want);
    free(o.data);
    ql_policy_destroy(p);
}

static void test_operators(void **state)
{
    (void)state;
    expect_text(QL_OP_MASK,
                "客户姓名：张*，身份证号110105********002X，手机 +86 138 **** 8000，"
                "卡号 4242 **** **** 4242。邮箱 z***@qq.com\n"
                "香港身份证 A******(3)；护照号码：E*****678；电话 010-****5678。\n");
    expect_text(QL_OP_TAG,
                "客户姓名：[姓名]，身份证号[身份证号]，手机 [手机号]，"
                "卡号 [银行卡号]。邮箱 [邮箱]\n"
                "香港身份证 [香港身份证号]；护照号码：[护照号]；电话 [电话号码]。\n");
    expect_text(QL_OP_DROP, "客户姓名：，身份证号，手机 ，卡号 。邮箱 \n香港身份证 ；护照号码：；电话 。\n");
    expect_text(QL_OP_KEEP, text);
}

static void test_hash_and_numbered_tags(void **state)
{
    (void)state;
    const char *in = "手机13800138000，又是13800138000，另一个13900139000。";
    ql_policy *p = policy_with(QL_OP_HASH);
    outbuf a = redact(p, (const uint8_t *)in, strlen(in), (size_t)-1, 7, 0, 0, QL_ENCODING_AUTO);
    /* Same value, same pseudonym; another value, another. */
    const char *first = strstr((const char *)a.data, "<cn_mobile_phone:");
    assert_non_null(first);
    const char *second = strstr(first + 1, "<cn_mobile_phone:");
    const char *third = second ? strstr(second + 1, "<cn_mobile_phone:") : NULL;
    assert_non_null(third);
    assert_int_equal(memcmp(first, second, 34), 0);
    assert_int_not_equal(memcmp(first, third, 34), 0);
    assert_int_equal(first[33], '>');
    free(a.data);
    ql_policy_destroy(p);

    const char *yaml = "default: tag\ntag: {numbered: true, style: type}\n";
    char err[256];
    assert_int_equal(ql_policy_parse("p.yaml", (const uint8_t *)yaml, strlen(yaml), &p, err, sizeof err), QL_OK);
    outbuf t = redact(p, (const uint8_t *)in, strlen(in), (size_t)-1, 1 << 20, 0, 0, QL_ENCODING_AUTO);
    assert_string_equal((const char *)t.data,
                        "手机<cn_mobile_phone_1>，又是<cn_mobile_phone_1>，另一个<cn_mobile_phone_2>。");
    free(t.data);
    ql_policy_destroy(p);
}

static void test_policy_errors(void **state)
{
    (void)state;
    ql_policy *p = NULL;
    char err[256];
    const char *bad_op = "default: mask\ntypes:\n  cn_mobile_phone: scramble\n";
    assert_int_equal(ql_policy_parse("p.yaml", (const uint8_t *)bad_op, strlen(bad_op), &p, err, sizeof err), QL_ERULE);
    assert_null(p);
    assert_non_null(strstr(err, "p.yaml:3:20: unknown operator 'scramble'"));
    const char *bad_key = "default: mask\ncolour: red\n";
    assert_int_equal(ql_policy_parse("q.yaml", (const uint8_t *)bad_key, strlen(bad_key), &p, err, sizeof err), QL_ERULE);
    assert_non_null(strstr(err, "q.yaml:2:1: unknown key 'colour'"));
    const char *syntax = "default: [mask\n";
    assert_int_equal(ql_policy_parse("r.yaml", (const uint8_t *)syntax, strlen(syntax), &p, err, sizeof err), QL_ERULE);
    assert_non_null(strstr(err, "r.yaml:2:"));
    /* Category and prefix selectors; a type beats its category. */
    const char *ok = "default: keep\ncategories:\n  secret.*: drop\n  pii.contact: tag\ntypes:\n  email: mask\n";
    assert_int_equal(ql_policy_parse("s.yaml", (const uint8_t *)ok, strlen(ok), &p, err, sizeof err), QL_OK);
    const char *in = "mail a@b.com tel 13800138000 key AKIAIOSFODNN7EXAMPLE id 11010519491231002X";
    outbuf o = redact(p, (const uint8_t *)in, strlen(in), (size_t)-1, 1 << 20, 0, 0, QL_ENCODING_AUTO);
    assert_string_equal((const char *)o.data, "mail a***@b.com tel [手机号] key  id 11010519491231002X");
    free(o.data);
    ql_policy_destroy(p);
    /* A configurable mask: keep 3 and 2 of a mobile number. */
    const char *m = "types:\n  cn_mobile_phone: {operator: mask, head: 3, tail: 2}\n";
    assert_int_equal(ql_policy_parse("m.yaml", (const uint8_t *)m, strlen(m), &p, err, sizeof err), QL_OK);
    const char *tel = "tel 138-0013-8000.";
    o = redact(p, (const uint8_t *)tel, strlen(tel), (size_t)-1, 1 << 20, 0, 0, QL_ENCODING_AUTO);
    assert_string_equal((const char *)o.data, "tel 138-****-**00.");
    free(o.data);
    ql_policy_destroy(p);
    /* hash and fpe need a key. */
    ql_policy *h = policy_with(QL_OP_HASH);
    ql_redactor *r;
    assert_int_equal(ql_redactor_create(h, NULL, 0, &r), QL_EKEY);
    assert_int_equal(ql_redactor_create(h, g_key, 8, &r), QL_EKEY);
    ql_policy_destroy(h);
}

/* The same output however the input is cut. */
static void test_cut_invariance(void **state)
{
    (void)state;
    const ql_operator ops[] = {QL_OP_MASK, QL_OP_TAG, QL_OP_FPE};
    size_t n = strlen(text);
    for (size_t k = 0; k < 3; k++) {
        ql_policy *p = policy_with(ops[k]);
        outbuf whole = redact(p, (const uint8_t *)text, n, (size_t)-1, 1 << 20, 0, 0, QL_ENCODING_AUTO);
        for (size_t cut = 0; cut <= n; cut++) {
            outbuf o = redact(p, (const uint8_t *)text, n, cut, 0, 0, 0, QL_ENCODING_AUTO);
            if (o.n != whole.n || memcmp(o.data, whole.data, o.n) != 0)
                fail_msg("operator %d, cut %zu: output differs", (int)ops[k], cut);
            free(o.data);
        }
        outbuf small = redact(p, (const uint8_t *)text, n, (size_t)-1, 3, 64, 0, QL_ENCODING_AUTO);
        assert_int_equal(small.n, whole.n);
        assert_memory_equal(small.data, whole.data, whole.n);
        free(small.data);
        free(whole.data);
        ql_policy_destroy(p);
    }
}

static void test_fpe_round_trip(void **state)
{
    (void)state;
    const char *in =
        "身份证号是11010519491231002X，手机：13800138000，+86 139-1234-5678，卡号 4242 4242 4242 4242，"
        "6200000000000005，邮箱 zhang.san@qq.com, 香港身份证 A123456(3), 台湾 A123456789 , "
        "护照号码：E12345678, 港澳通行证 C12345678, 澳门身份证 1234567(8), 电话 010-62345678 "
        "住院号：ZY20240315001 \n";
    size_t n = strlen(in);
    ql_policy *p = policy_with(QL_OP_FPE);
    outbuf enc = redact(p, (const uint8_t *)in, n, (size_t)-1, 1 << 20, 0, 0, QL_ENCODING_AUTO);
    /* Same length, nothing left in the clear. */
    assert_int_equal(enc.n, n);
    assert_null(strstr((const char *)enc.data, "13800138000"));
    assert_null(strstr((const char *)enc.data, "11010519491231002X"));
    assert_null(strstr((const char *)enc.data, "4242 4242 4242 4242"));
    assert_non_null(strstr((const char *)enc.data, "身份证号是110105"));   /* region kept */
    outbuf dec = redact(p, enc.data, enc.n, (size_t)-1, 1 << 20, 0, 1, QL_ENCODING_AUTO);
    assert_int_equal(dec.n, n);
    assert_memory_equal(dec.data, in, n);
    /* Decryption through a cut stream too. */
    for (size_t cut = 0; cut <= enc.n; cut += 7) {
        outbuf d2 = redact(p, enc.data, enc.n, cut, 0, 0, 1, QL_ENCODING_AUTO);
        assert_memory_equal(d2.data, in, n);
        free(d2.data);
    }
    free(enc.data);
    free(dec.data);
    ql_policy_destroy(p);
}

/* The national algorithms: HMAC-SM3 pseudonyms differ from HMAC-SHA-256
 * ones, and FF1 under SM4 round-trips. */
static void test_national_algorithms(void **state)
{
    (void)state;
    const char *in = "手机13800138000，身份证11010519491231002X，卡号4242424242424242。";
    size_t n = strlen(in);
    char err[256];
    ql_policy *intl = policy_with(QL_OP_HASH), *nat;
    const char *yaml = "default: hash\nalgorithms: national\n";
    assert_int_equal(ql_policy_parse("n.yaml", (const uint8_t *)yaml, strlen(yaml), &nat, err, sizeof err), QL_OK);
    outbuf a = redact(intl, (const uint8_t *)in, n, (size_t)-1, 1 << 20, 0, 0, QL_ENCODING_AUTO);
    outbuf b = redact(nat, (const uint8_t *)in, n, (size_t)-1, 1 << 20, 0, 0, QL_ENCODING_AUTO);
    assert_non_null(strstr((const char *)b.data, "<cn_mobile_phone:"));
    assert_string_not_equal((const char *)a.data, (const char *)b.data);
    free(a.data);
    free(b.data);
    ql_policy_destroy(intl);
    ql_policy_destroy(nat);
    const char *fy = "default: fpe\nalgorithms: national\n";
    assert_int_equal(ql_policy_parse("f.yaml", (const uint8_t *)fy, strlen(fy), &nat, err, sizeof err), QL_OK);
    ql_policy *aes = policy_with(QL_OP_FPE);
    outbuf e1 = redact(nat, (const uint8_t *)in, n, (size_t)-1, 1 << 20, 0, 0, QL_ENCODING_AUTO);
    outbuf e2 = redact(aes, (const uint8_t *)in, n, (size_t)-1, 1 << 20, 0, 0, QL_ENCODING_AUTO);
    assert_int_equal(e1.n, n);
    assert_memory_not_equal(e1.data, e2.data, n);
    outbuf d = redact(nat, e1.data, e1.n, (size_t)-1, 1 << 20, 0, 1, QL_ENCODING_AUTO);
    assert_memory_equal(d.data, in, n);
    free(e1.data);
    free(e2.data);
    free(d.data);
    ql_policy_destroy(nat);
    ql_policy_destroy(aes);
}

static uint8_t *convert(const char *to, const char *from_text, size_t *out_n)
{
    iconv_t cd = iconv_open(to, "UTF-8");
    assert_true(cd != (iconv_t)-1);
    size_t cap = strlen(from_text) * 4 + 16;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    char *in = (char *)from_text, *out = (char *)buf;
    size_t il = strlen(from_text), ol = cap;
    assert_true(iconv(cd, &in, &il, &out, &ol) != (size_t)-1);
    iconv_close(cd);
    *out_n = cap - ol;
    return buf;
}

/* GB18030 and UTF-16 in, the same encoding out: the output equals the
 * UTF-8 result converted, so every other byte is unchanged. */
static void test_encodings(void **state)
{
    (void)state;
    ql_policy *p = policy_with(QL_OP_TAG);
    outbuf utf8 = redact(p, (const uint8_t *)text, strlen(text), (size_t)-1, 1 << 20, 0, 0, QL_ENCODING_AUTO);
    const char *codecs[] = {"GB18030", "UTF-16LE"};
    const ql_encoding encs[] = {QL_ENCODING_AUTO, QL_ENCODING_UTF16LE};
    for (int k = 0; k < 2; k++) {
        size_t n, wn;
        uint8_t *in = convert(codecs[k], text, &n);
        uint8_t *want = convert(codecs[k], (const char *)utf8.data, &wn);
        for (size_t cut = 0; cut <= n; cut += 5) {
            outbuf o = redact(p, in, n, cut, 0, 0, 0, encs[k]);
            if (o.n != wn || memcmp(o.data, want, wn) != 0)
                fail_msg("%s cut %zu: output differs", codecs[k], cut);
            free(o.data);
        }
        free(in);
        free(want);
    }
    free(utf8.data);
    ql_policy_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_hash_and_numbered_tags),
        cmocka_unit_test(test_policy_errors),
        cmocka_unit_test(test_cut_invariance),
        cmocka_unit_test(test_fpe_round_trip),
        cmocka_unit_test(test_national_algorithms),
        cmocka_unit_test(test_encodings),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
