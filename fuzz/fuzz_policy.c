/*
 * fuzz_policy.c — the redaction policy parser and the operators it sets.
 *
 * Input surface: a policy file (`qinglang redact --policy FILE`, YAML,
 * docs/redact.md).  The input is given to ql_policy_parse; a refusal must
 * come as QL_ERULE with a NUL-terminated, non-empty message that fits the
 * buffer.  An accepted policy gets a redactor with a fixed 32-byte key and
 * redacts a fixed text (every kind of value the operators treat
 * differently) through ql_redact_open/write/finish, twice with fresh
 * redactors and different cuts: the outputs must be identical.  The
 * output is then run back through the decrypt mode, which must succeed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qinglang.h"
#include "fuzz.h"

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_policy: broken promise: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static const uint8_t key[32] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

/* One of each kind of value: types with an FPE shape, types that fall
 * back to hash, the same value twice (numbered tags), full-width digits. */
static const char text[] =
    "客户张三的身份证号是11010519491231002X，手机＋８６ １３８ ００１３ ８０００，又是13800138000。\n"
    "卡号 4242 4242 4242 4242，邮箱 zhang.san@qq.com，地址：北京市朝阳区建国路88号院3号楼2单元501室。\n"
    "key=AKIAIOSFODNN7EXAMPLE token ghp_123456789012345678901234567890abcdef\n"
    "from 10.227.113.240 via 2001:db8::8a2e:370:7334; 电话 010-62345678转801\n"
    "香港身份证 A123456(3) 护照 E12345678 统一社会信用代码 91350100M000100Y43\n"
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
    "收件人：欧阳明月 password=\"hunter22\" 住院号：ZY20240315001 姓名：张三\n";

typedef struct output {
    uint8_t data[8192];
    size_t  length;
} output;

static int write_out(const uint8_t *data, size_t length, void *user)
{
    output *o = user;
    if (length > sizeof o->data - o->length)
        broken("redacted output far longer than the input", NULL);
    memcpy(o->data + o->length, data, length);
    o->length += length;
    return 0;
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

/* Redacts `in` with a fresh redactor, written in pieces of `piece` bytes. */
static void redact(const ql_policy *policy, const uint8_t *in, size_t size, size_t piece,
                   int decrypt, output *out)
{
    ql_redactor *redactor = NULL;
    ql_redact_stream *stream = NULL;
    ql_status status = ql_redactor_create(policy, key, sizeof key, &redactor);
    if (status != QL_OK)
        broken("ql_redactor_create refuses a parsed policy", ql_status_message(status));
    ql_scan_options options;
    ql_scan_options_init(&options);
    options.today = QL_FUZZ_TODAY;
    out->length = 0;
    status = ql_redact_open(g_scanner, redactor, &options, decrypt, write_out, out, NULL, NULL,
                            &stream);
    for (size_t at = 0; status == QL_OK && at < size; at += piece)
        status = ql_redact_write(stream, in + at, size - at < piece ? size - at : piece);
    if (status == QL_OK)
        status = ql_redact_finish(stream);
    ql_redact_close(stream);
    ql_redactor_destroy(redactor);
    if (status != QL_OK)
        broken("redaction with a parsed policy failed", ql_status_message(status));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static output first, second, restored;
    char error[256];
    ql_policy *policy = NULL;

    init_once();
    memset(error, 'x', sizeof error);
    ql_status status = ql_policy_parse("fuzz.yaml", data, size, &policy, error, sizeof error);
    if (status != QL_OK) {
        if (status != QL_ERULE && status != QL_ELIMIT)
            broken("ql_policy_parse failed unexpectedly", ql_status_message(status));
        if (!memchr(error, '\0', sizeof error))
            broken("the policy error message is not NUL-terminated", NULL);
        if (status == QL_ERULE && error[0] == '\0')
            broken("the policy error message is empty", NULL);
        if (policy)
            broken("a refused policy is handed back", NULL);
        return 0;
    }
    if (!policy)
        broken("ql_policy_parse says OK but hands back nothing", NULL);
    (void)ql_policy_needs_key(policy);

    const uint8_t *in = (const uint8_t *)text;
    size_t length = sizeof text - 1;
    size_t piece = 1 + (size ? data[size - 1] : 0) * 3;
    redact(policy, in, length, length, 0, &first);
    redact(policy, in, length, piece, 0, &second);
    if (first.length != second.length || memcmp(first.data, second.data, first.length)) {
        fprintf(stderr, "fuzz_policy: pieces of %zu bytes:\n%.*s\n---- whole:\n%.*s\n", piece,
                (int)second.length, (const char *)second.data, (int)first.length,
                (const char *)first.data);
        broken("redaction output depends on the cut", NULL);
    }
    redact(policy, first.data, first.length, piece, 1, &restored);
    ql_policy_destroy(policy);
    return 0;
}
