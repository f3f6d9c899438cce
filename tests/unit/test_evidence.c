/*
 * test_evidence.c — the evidence log: the Merkle tree against the RFC 6962
 * reference tree's published values, every proof of every pair of sizes up
 * to 64 against a straightforward recomputation, canonical entries byte for
 * byte, batches, content encryption, key handling, tampering with each
 * kind of stored row, and evidence packages.
 *
 * The known answers are the eight-leaf reference tree that the Certificate
 * Transparency implementations test against: google/certificate-transparency
 * cpp/merkletree/merkle_tree_test.cc (kInputs, kSHA256Roots, kSHA256Paths,
 * kSHA256Proofs) and transparency-dev/merkle proof/verify_test.go (the same
 * values, plus the 6 -> 7 consistency proof).  Their leaf numbers are
 * 1-based; ours are 0-based.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qinglang.h"
#include "evidence.h"

#define H QL_EVIDENCE_HASH_SIZE

static char g_dir[256];
static char g_key[300], g_pub[300], g_key2[300], g_pub2[300], g_ckey[300], g_ckey2[300];
static int g_serial;

static void path_in_dir(char *out, size_t size, const char *name)
{
    if (snprintf(out, size, "%s/%s", g_dir, name) >= (int)size)
        abort();
}

static int setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/qinglang-evidence.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g_dir))
        return -1;
    path_in_dir(g_key, sizeof g_key, "sign.pem");
    path_in_dir(g_pub, sizeof g_pub, "sign.pub");
    path_in_dir(g_key2, sizeof g_key2, "other.pem");
    path_in_dir(g_pub2, sizeof g_pub2, "other.pub");
    path_in_dir(g_ckey, sizeof g_ckey, "content.key");
    path_in_dir(g_ckey2, sizeof g_ckey2, "content2.key");
    char error[300];
    if (ql_evidence_keygen(g_key, g_pub, error, sizeof error) != QL_OK ||
        ql_evidence_keygen(g_key2, g_pub2, error, sizeof error) != QL_OK ||
        ql_evidence_content_keygen(g_ckey, error, sizeof error) != QL_OK ||
        ql_evidence_content_keygen(g_ckey2, error, sizeof error) != QL_OK) {
        fprintf(stderr, "keygen: %s\n", error);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", g_dir);
    return system(command) == 0 ? 0 : -1;
}

/* A new empty log, opened for appending (with the content key when asked). */
static ql_evidence_log *new_log(char *path, size_t size, int content)
{
    char error[300];
    char name[64];
    ql_evidence_log *log;
    ql_evidence_options o;
    memset(&o, 0, sizeof o);
    o.signing_key_file = g_key;
    o.content_key_file = content ? g_ckey : NULL;
    snprintf(name, sizeof name, "log%d.db", g_serial++);
    path_in_dir(path, size, name);
    ql_status st = ql_evidence_log_create(path, &o, error, sizeof error);
    if (st != QL_OK)
        fprintf(stderr, "create: %s\n", error);
    assert_int_equal(st, QL_OK);
    st = ql_evidence_log_open(path, &o, &log, error, sizeof error);
    if (st != QL_OK)
        fprintf(stderr, "open: %s\n", error);
    assert_int_equal(st, QL_OK);
    return log;
}

static void unhex(const char *text, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(text), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(text + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void assert_hash(const uint8_t *got, const char *want_hex)
{
    uint8_t want[H];
    unhex(want_hex, want, H);
    if (memcmp(got, want, H) != 0) {
        char text[2 * H + 1];
        for (int i = 0; i < H; i++)
            snprintf(text + 2 * i, 3, "%02x", got[i]);
        fail_msg("hash %s, expected %s", text, want_hex);
    }
}

static void append_raw(ql_evidence_log *log, const uint8_t *leaf, size_t n)
{
    const uint8_t *leaves[1] = {leaf};
    size_t lengths[1] = {n};
    ql_evidence_tree_head head;
    assert_int_equal(ql__evidence_append_raw(log, leaves, lengths, 1, &head), QL_OK);
}

/* ------------------------------------------------- the reference tree */

static const char *const kat_inputs[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"};

static const char *const kat_roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

static const char kat_empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

typedef struct kat_proof {
    uint64_t a, b;          /* inclusion: leaf index, size; consistency: size1, size2 */
    size_t length;
    const char *hashes[3];
} kat_proof;

static const kat_proof kat_paths[] = {
    {0, 1, 0, {NULL}},
    {0, 8, 3, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8, 3, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5, 3, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static const kat_proof kat_consistency[] = {
    {1, 1, 0, {NULL}},
    {1, 8, 3, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6, 8, 3, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 5, 2, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6, 7, 3, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static ql_evidence_log *kat_log(void)
{
    char path[300];
    ql_evidence_log *log = new_log(path, sizeof path, 0);
    for (int i = 0; i < 8; i++) {
        uint8_t leaf[16];
        size_t n = strlen(kat_inputs[i]) / 2;
        unhex(kat_inputs[i], leaf, n);
        append_raw(log, leaf, n);
    }
    return log;
}

static void test_kat_roots(void **state)
{
    (void)state;
    char path[300];
    uint8_t root[H];
    ql_evidence_tree_head head;
    ql_evidence_log *log = new_log(path, sizeof path, 0);
    assert_int_equal(ql_evidence_root(log, 0, root), QL_OK);
    assert_hash(root, kat_empty);
    assert_int_equal(ql_evidence_tree_head_get(log, 0, &head), QL_OK);
    assert_hash(head.root, kat_empty);
    /* Leaf by leaf: each commit's signed head carries the reference root,
     * and every earlier root stays computable from the stored nodes. */
    for (int i = 0; i < 8; i++) {
        uint8_t leaf[16];
        size_t n = strlen(kat_inputs[i]) / 2;
        unhex(kat_inputs[i], leaf, n);
        append_raw(log, leaf, n);
        assert_int_equal(ql_evidence_tree_head_get(log, (uint64_t)i + 1, &head), QL_OK);
        assert_hash(head.root, kat_roots[i]);
        for (int j = 0; j <= i; j++) {
            assert_int_equal(ql_evidence_root(log, (uint64_t)j + 1, root), QL_OK);
            assert_hash(root, kat_roots[j]);
        }
    }
    assert_int_equal(ql_evidence_root(log, 9, root), QL_EINVAL);
    ql_evidence_log_close(log);

    /* All eight in one batch give the same tree. */
    log = new_log(path, sizeof path, 0);
    const uint8_t *leaves[8];
    size_t lengths[8];
    uint8_t data[8][16];
    for (int i = 0; i < 8; i++) {
        lengths[i] = strlen(kat_inputs[i]) / 2;
        unhex(kat_inputs[i], data[i], lengths[i]);
        leaves[i] = data[i];
    }
    assert_int_equal(ql__evidence_append_raw(log, leaves, lengths, 3, &head), QL_OK);
    assert_hash(head.root, kat_roots[2]);
    assert_int_equal(ql__evidence_append_raw(log, leaves + 3, lengths + 3, 5, &head), QL_OK);
    assert_hash(head.root, kat_roots[7]);
    ql_evidence_log_close(log);
}

static void test_kat_proofs(void **state)
{
    (void)state;
    ql_evidence_log *log = kat_log();
    ql_evidence_proof proof;
    uint8_t leaf[16], leaf_hash[H], root[H], root2[H];
    for (size_t i = 0; i < sizeof kat_paths / sizeof *kat_paths; i++) {
        const kat_proof *k = &kat_paths[i];
        assert_int_equal(ql_evidence_inclusion_proof(log, k->a, k->b, &proof), QL_OK);
        assert_int_equal(proof.length, k->length);
        for (size_t j = 0; j < k->length; j++)
            assert_hash(proof.hashes[j], k->hashes[j]);
        size_t n = strlen(kat_inputs[k->a]) / 2;
        unhex(kat_inputs[k->a], leaf, n);
        ql_evidence_leaf_hash(leaf, n, leaf_hash);
        unhex(kat_roots[k->b - 1], root, H);
        assert_int_equal(ql_evidence_verify_inclusion(k->a, k->b, leaf_hash, &proof, root), QL_OK);
    }
    for (size_t i = 0; i < sizeof kat_consistency / sizeof *kat_consistency; i++) {
        const kat_proof *k = &kat_consistency[i];
        assert_int_equal(ql_evidence_consistency_proof(log, k->a, k->b, &proof), QL_OK);
        assert_int_equal(proof.length, k->length);
        for (size_t j = 0; j < k->length; j++)
            assert_hash(proof.hashes[j], k->hashes[j]);
        unhex(kat_roots[k->a - 1], root, H);
        unhex(kat_roots[k->b - 1], root2, H);
        assert_int_equal(ql_evidence_verify_consistency(k->a, k->b, root, root2, &proof), QL_OK);
    }
    ql_evidence_log_close(log);
}

/* transparency-dev's edge cases for the verifiers. */
static void test_verifier_edges(void **state)
{
    (void)state;
    ql_evidence_proof empty = {0};
    uint8_t some[H], empty_root[H];
    memset(some, 0xab, H);
    unhex(kat_empty, empty_root, H);
    assert_int_equal(ql_evidence_verify_inclusion(0, 0, some, &empty, empty_root), QL_EVERIFY);
    assert_int_equal(ql_evidence_verify_inclusion(1, 1, some, &empty, some), QL_EVERIFY);
    assert_int_equal(ql_evidence_verify_inclusion(0, 1, some, &empty, some), QL_OK);
    assert_int_equal(ql_evidence_verify_inclusion(0, 1, some, &empty, empty_root), QL_EVERIFY);
    assert_int_equal(ql_evidence_verify_consistency(0, 0, some, some, &empty), QL_OK);
    assert_int_equal(ql_evidence_verify_consistency(1, 1, some, some, &empty), QL_OK);
    assert_int_equal(ql_evidence_verify_consistency(1, 1, some, empty_root, &empty), QL_EVERIFY);
    assert_int_equal(ql_evidence_verify_consistency(1, 0, some, some, &empty), QL_EVERIFY);
    assert_int_equal(ql_evidence_verify_consistency(2, 1, some, some, &empty), QL_EVERIFY);
    assert_int_equal(ql_evidence_verify_consistency(1, 2, some, some, &empty), QL_EVERIFY);
    ql_evidence_proof one = {1, {{0}}};
    memcpy(one.hashes[0], empty_root, H);
    assert_int_equal(ql_evidence_verify_consistency(0, 0, empty_root, empty_root, &one), QL_EVERIFY);
    assert_int_equal(ql_evidence_verify_consistency(1, 1, empty_root, empty_root, &one), QL_EVERIFY);
}

/* --------------------------------------- every pair of sizes up to 64 */

#define PAIRS 64

static uint8_t g_leaves[PAIRS][H];   /* leaf hashes */

/* MTH, PATH and SUBPROOF exactly as RFC 9162 writes them, over leaf hashes. */
static void ref_mth(size_t begin, size_t end, uint8_t out[H])
{
    size_t n = end - begin;
    if (n == 1) {
        memcpy(out, g_leaves[begin], H);
        return;
    }
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t left[H], right[H];
    ref_mth(begin, begin + k, left);
    ref_mth(begin + k, end, right);
    ql_evidence_node_hash(left, right, out);
}

static void ref_path(size_t m, size_t begin, size_t end, ql_evidence_proof *p)
{
    size_t n = end - begin;
    if (n == 1)
        return;
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    if (m - begin < k) {
        ref_path(m, begin, begin + k, p);
        ref_mth(begin + k, end, p->hashes[p->length++]);
    } else {
        ref_path(m, begin + k, end, p);
        ref_mth(begin, begin + k, p->hashes[p->length++]);
    }
}

static void ref_subproof(size_t m, size_t begin, size_t end, int whole, ql_evidence_proof *p)
{
    if (m == end) {
        if (!whole)
            ref_mth(begin, end, p->hashes[p->length++]);
        return;
    }
    size_t k = 1;
    while (k * 2 < end - begin)
        k *= 2;
    if (m <= begin + k) {
        ref_subproof(m, begin, begin + k, whole, p);
        ref_mth(begin + k, end, p->hashes[p->length++]);
    } else {
        ref_subproof(m, begin + k, end, 0, p);
        ref_mth(begin, begin + k, p->hashes[p->length++]);
    }
}

static void assert_same_proof(const ql_evidence_proof *a, const ql_evidence_proof *b)
{
    assert_int_equal(a->length, b->length);
    assert_memory_equal(a->hashes, b->hashes, a->length * H);
}

static void test_all_pairs(void **state)
{
    (void)state;
    char path[300];
    ql_evidence_log *log = new_log(path, sizeof path, 0);
    for (size_t i = 0; i < PAIRS; i++) {
        uint8_t leaf[40];
        size_t n = i % 40;
        for (size_t j = 0; j < n; j++)
            leaf[j] = (uint8_t)(i * 31 + j);
        append_raw(log, leaf, n);
        ql_evidence_leaf_hash(leaf, n, g_leaves[i]);
    }
    ql_evidence_proof got, want;
    uint8_t root[PAIRS + 1][H];
    for (size_t n = 1; n <= PAIRS; n++) {
        uint8_t stored[H];
        ql_evidence_tree_head head;
        ref_mth(0, n, root[n]);
        assert_int_equal(ql_evidence_root(log, n, stored), QL_OK);
        assert_memory_equal(stored, root[n], H);
        assert_int_equal(ql_evidence_tree_head_get(log, n, &head), QL_OK);
        assert_memory_equal(head.root, root[n], H);
    }
    for (size_t n = 1; n <= PAIRS; n++) {
        for (size_t m = 0; m < n; m++) {
            want.length = 0;
            ref_path(m, 0, n, &want);
            assert_int_equal(ql_evidence_inclusion_proof(log, m, n, &got), QL_OK);
            assert_same_proof(&got, &want);
            assert_int_equal(ql_evidence_verify_inclusion(m, n, g_leaves[m], &got, root[n]), QL_OK);
            /* Wrong index, wrong leaf, altered proof: all fail.  (A wrong
             * size may not: a path has the same shape in trees of several
             * sizes, which is why the size comes from the signed head.) */
            if (m + 1 < n)
                assert_int_equal(ql_evidence_verify_inclusion(m + 1, n, g_leaves[m], &got, root[n]),
                                 QL_EVERIFY);
            assert_int_equal(ql_evidence_verify_inclusion(m, n, g_leaves[(m + 1) % PAIRS], &got,
                                                          root[n]),
                             n == 1 && PAIRS == 1 ? QL_OK : QL_EVERIFY);
            for (size_t j = 0; j < got.length; j++) {
                got.hashes[j][j % H] ^= 0x10;
                assert_int_equal(ql_evidence_verify_inclusion(m, n, g_leaves[m], &got, root[n]),
                                 QL_EVERIFY);
                got.hashes[j][j % H] ^= 0x10;
            }
        }
        for (size_t m = 0; m <= n; m++) {
            want.length = 0;
            if (m > 0 && m < n)
                ref_subproof(m, 0, n, 1, &want);
            assert_int_equal(ql_evidence_consistency_proof(log, m, n, &got), QL_OK);
            assert_same_proof(&got, &want);
            const uint8_t *first = m ? root[m] : root[n];
            assert_int_equal(ql_evidence_verify_consistency(m, n, first, root[n], &got), QL_OK);
            if (m == 0 || m == n)
                continue;
            assert_int_equal(ql_evidence_verify_consistency(m, n, root[n], root[m], &got),
                             QL_EVERIFY);
            if (m + 1 < n)
                assert_int_equal(ql_evidence_verify_consistency(m + 1, n, root[m], root[n], &got),
                                 QL_EVERIFY);
            for (size_t j = 0; j < got.length; j++) {
                got.hashes[j][0] ^= 0x10;
                assert_int_equal(ql_evidence_verify_consistency(m, n, root[m], root[n], &got),
                                 QL_EVERIFY);
                got.hashes[j][0] ^= 0x10;
            }
            got.length--;
            assert_int_equal(ql_evidence_verify_consistency(m, n, root[m], root[n], &got),
                             QL_EVERIFY);
        }
    }
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_EVERIFY);  /* raw leaves: not JSON */
    ql_evidence_log_close(log);
}

/* ------------------------------------------------------------ entries */

static void test_canonical_entry(void **state)
{
    (void)state;
    char path[300];
    ql_evidence_log *log = new_log(path, sizeof path, 0);
    ql_evidence_finding findings[2] = {
        {"cn_mobile_phone", "builtin.cn_mobile_phone", 10, 21, "138****8000"},
        {"person_name", NULL, 30, 36, "张*"},
    };
    const char content[] = "call 13800138000\n";
    ql_evidence_record r;
    memset(&r, 0, sizeof r);
    r.kind = QL_EVIDENCE_FINDING_REPORT;
    r.time_ms = 1764100000123u;
    r.source_path = "logs/a \"b\"\\c\n\x01\x7f.txt";
    r.tenant = "租户-1";
    r.ruleset_version = "builtin-0.1.0";
    r.findings = findings;
    r.finding_count = 2;
    r.content = (const uint8_t *)content;
    r.content_length = strlen(content);
    ql_evidence_receipt receipt;
    assert_int_equal(ql_evidence_append(log, &r, 1, 1, &receipt), QL_OK);
    assert_int_equal(receipt.index, 0);
    ql_evidence_entry e;
    assert_int_equal(ql_evidence_get(log, 0, 0, &e), QL_OK);
    const char want[] =
        "{\"content_length\":17,"
        "\"content_sha256\":\"d1a0a5d1e5a5ee7a0bd1c5ab3b1a7e1a04f7a1d1a1a1a1a1a1a1a1a1a1a1a1a1\","
        "\"findings\":[{\"end\":21,\"masked\":\"138****8000\",\"rule_id\":\"builtin.cn_mobile_phone\","
        "\"start\":10,\"type\":\"cn_mobile_phone\"},{\"end\":36,\"masked\":\"张*\",\"start\":30,"
        "\"type\":\"person_name\"}],\"kind\":\"finding_report\",\"ruleset_version\":\"builtin-0.1.0\","
        "\"source\":{\"path\":\"logs/a \\\"b\\\"\\\\c\\n\\u0001\x7f.txt\",\"tenant\":\"租户-1\"},"
        "\"time_ms\":1764100000123,\"version\":2}";
    /* The content hash comes from openssl rather than being typed in. */
    char expected[sizeof want + 64];
    char hex[2 * H + 1];
    {
        FILE *p;
        char command[400];
        char tmpfile[300];
        path_in_dir(tmpfile, sizeof tmpfile, "content.txt");
        FILE *f = fopen(tmpfile, "wb");
        assert_non_null(f);
        fputs(content, f);
        fclose(f);
        snprintf(command, sizeof command, "openssl dgst -sha256 -r '%s'", tmpfile);
        p = popen(command, "r");
        assert_non_null(p);
        assert_non_null(fgets(hex, sizeof hex, p));
        pclose(p);
    }
    const char *mark = strstr(want, "d1a0");
    size_t before = (size_t)(mark - want);
    memcpy(expected, want, before);
    memcpy(expected + before, hex, 2 * H);
    memcpy(expected + before + 2 * H, mark + 2 * H, sizeof want - before - 2 * H);
    assert_int_equal(e.entry_length, strlen(expected));
    assert_memory_equal(e.entry, expected, e.entry_length);
    assert_null(e.stored_content);
    uint8_t leaf[H];
    ql_evidence_leaf_hash((const uint8_t *)expected, strlen(expected), leaf);
    assert_memory_equal(leaf, receipt.leaf_hash, H);
    assert_memory_equal(leaf, e.leaf_hash, H);
    ql_evidence_entry_free(log, &e);

    /* Invalid UTF-8 and bad spans are refused, and nothing is appended. */
    uint64_t size;
    r.tenant = "\xff\xfe";
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_EINVAL);
    assert_non_null(strstr(ql_evidence_log_error(log), "UTF-8"));
    r.tenant = NULL;
    findings[0].start = 50;
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_EINVAL);
    findings[0].start = 10;
    r.kind = (ql_evidence_kind)7;
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_EINVAL);
    assert_int_equal(ql_evidence_size(log, &size), QL_OK);
    assert_int_equal(size, 1);
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_OK);
    ql_evidence_log_close(log);
}

static void fill_record(ql_evidence_record *r, const char *text, int store)
{
    memset(r, 0, sizeof *r);
    r->kind = QL_EVIDENCE_ABUSE_REPORT;
    r->source_url = "https://example.cn/post/1";
    r->content = (const uint8_t *)text;
    r->content_length = strlen(text);
    r->store_content = store;
}

static void test_batch_and_reopen(void **state)
{
    (void)state;
    char path[300], error[300];
    ql_evidence_log *log = new_log(path, sizeof path, 0);
    ql_evidence_record records[10];
    ql_evidence_receipt receipts[10];
    char texts[10][32];
    for (int i = 0; i < 10; i++) {
        snprintf(texts[i], sizeof texts[i], "report %d", i);
        fill_record(&records[i], texts[i], 0);
    }
    assert_int_equal(ql_evidence_append(log, records, 3, 1, receipts), QL_OK);
    assert_int_equal(ql_evidence_append(log, records + 3, 7, 1, receipts + 3), QL_OK);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(receipts[i].index, i);
        assert_int_equal(receipts[i].head.size, i < 3 ? 3 : 10);
        assert_int_equal(ql_evidence_verify_inclusion(receipts[i].index, receipts[i].head.size,
                                                      receipts[i].leaf_hash, &receipts[i].proof,
                                                      receipts[i].head.root),
                         QL_OK);
        assert_int_equal(ql_evidence_verify_tree_head(&receipts[i].head,
                                                      ql_evidence_public_key(log)),
                         QL_OK);
    }
    /* One transaction, one head: none for the sizes inside a batch. */
    ql_evidence_tree_head head;
    assert_int_equal(ql_evidence_tree_head_get(log, 5, &head), QL_EINVAL);
    ql_evidence_proof proof;
    assert_int_equal(ql_evidence_consistency_proof(log, 3, 10, &proof), QL_OK);
    assert_int_equal(ql_evidence_verify_consistency(3, 10, receipts[0].head.root,
                                                    receipts[9].head.root, &proof),
                     QL_OK);
    ql_evidence_log_close(log);

    /* Reopened, and a second handle on the same file: appends through
     * either continue the one tree. */
    ql_evidence_options o;
    memset(&o, 0, sizeof o);
    o.signing_key_file = g_key;
    ql_evidence_log *a, *b;
    assert_int_equal(ql_evidence_log_open(path, &o, &a, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_log_open(path, &o, &b, error, sizeof error), QL_OK);
    for (int i = 0; i < 6; i++) {
        ql_evidence_receipt r;
        assert_int_equal(ql_evidence_append(i % 2 ? a : b, &records[i], 1, 1, &r), QL_OK);
        assert_int_equal(r.index, 10 + (uint64_t)i);
        assert_int_equal(ql_evidence_verify_inclusion(r.index, r.head.size, r.leaf_hash, &r.proof,
                                                      r.head.root),
                         QL_OK);
    }
    assert_int_equal(ql_evidence_verify(a, NULL, NULL), QL_OK);
    ql_evidence_log_close(a);
    ql_evidence_log_close(b);

    /* Read-only: no key, no appends. */
    assert_int_equal(ql_evidence_log_open(path, NULL, &a, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_append(a, records, 1, 0, NULL), QL_ESTATE);
    assert_int_equal(ql_evidence_verify(a, NULL, NULL), QL_OK);
    ql_evidence_log_close(a);
    ql_evidence_log_close(NULL);
}

static void test_content(void **state)
{
    (void)state;
    char path[300], error[300];
    ql_evidence_log *log = new_log(path, sizeof path, 1);
    const char *secret = "身份证 110105199001011234, call 13800138000";
    ql_evidence_record r[2];
    fill_record(&r[0], secret, 1);
    fill_record(&r[1], secret, 0);
    assert_int_equal(ql_evidence_append(log, r, 2, 0, NULL), QL_OK);
    ql_evidence_entry e;
    assert_int_equal(ql_evidence_get(log, 0, 1, &e), QL_OK);
    assert_int_equal(e.content_length, strlen(secret));
    assert_memory_equal(e.content, secret, e.content_length);
    assert_int_equal(e.stored_content_length, strlen(secret) + 28);
    assert_null(memmem(e.stored_content, e.stored_content_length, "13800138000", 11));
    assert_non_null(strstr((const char *)e.entry, "\"cipher\":\"aes-256-gcm\""));
    assert_null(strstr((const char *)e.entry, "13800138000"));
    ql_evidence_entry_free(log, &e);
    assert_int_equal(ql_evidence_get(log, 1, 1, &e), QL_EINVAL);   /* hash only */
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_OK);
    ql_evidence_log_close(log);

    ql_evidence_options o;
    memset(&o, 0, sizeof o);
    assert_int_equal(ql_evidence_log_open(path, &o, &log, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_get(log, 0, 1, &e), QL_EKEY);
    assert_int_equal(ql_evidence_get(log, 0, 0, &e), QL_OK);
    assert_null(e.content);
    assert_non_null(e.stored_content);
    ql_evidence_entry_free(log, &e);
    ql_evidence_log_close(log);
    o.content_key_file = g_ckey2;
    assert_int_equal(ql_evidence_log_open(path, &o, &log, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_get(log, 0, 1, &e), QL_EVERIFY);
    ql_evidence_log_close(log);
}

static void test_keys(void **state)
{
    (void)state;
    char path[300], error[300], copy[300], command[700];
    ql_evidence_log *log = new_log(path, sizeof path, 0);
    ql_evidence_log_close(log);
    ql_evidence_options o;
    memset(&o, 0, sizeof o);

    /* Keys are never overwritten. */
    assert_int_equal(ql_evidence_keygen(g_key, g_pub, error, sizeof error), QL_EIO);
    assert_int_equal(ql_evidence_content_keygen(g_ckey, error, sizeof error), QL_EIO);
    struct stat st;
    assert_int_equal(stat(g_key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(g_ckey, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* A key others can read is refused, and the message says why. */
    path_in_dir(copy, sizeof copy, "exposed.pem");
    if (snprintf(command, sizeof command, "cp '%s' '%s' && chmod 644 '%s'", g_key, copy, copy) >=
        (int)sizeof command)
        abort();
    assert_int_equal(system(command), 0);
    o.signing_key_file = copy;
    assert_int_equal(ql_evidence_log_open(path, &o, &log, error, sizeof error), QL_EKEY);
    assert_non_null(strstr(error, "readable by every user"));
    char other_log[300];
    path_in_dir(other_log, sizeof other_log, "never.db");
    assert_int_equal(ql_evidence_log_create(other_log, &o, error, sizeof error), QL_EKEY);
    assert_int_equal(access(other_log, F_OK), -1);
    path_in_dir(copy, sizeof copy, "exposed.key");
    if (snprintf(command, sizeof command, "cp '%s' '%s' && chmod 604 '%s'", g_ckey, copy, copy) >=
        (int)sizeof command)
        abort();
    assert_int_equal(system(command), 0);
    o.signing_key_file = g_key;
    o.content_key_file = copy;
    assert_int_equal(ql_evidence_log_open(path, &o, &log, error, sizeof error), QL_EKEY);

    /* Another log's key neither appends nor verifies here. */
    o.content_key_file = NULL;
    o.signing_key_file = g_key2;
    assert_int_equal(ql_evidence_log_open(path, &o, &log, error, sizeof error), QL_EKEY);
    assert_non_null(strstr(error, "not this log's key"));
    o.signing_key_file = NULL;
    o.public_key_file = g_pub2;
    assert_int_equal(ql_evidence_log_open(path, &o, &log, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_EVERIFY);
    ql_evidence_log_close(log);
    o.public_key_file = g_pub;
    assert_int_equal(ql_evidence_log_open(path, &o, &log, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_OK);
    ql_evidence_log_close(log);

    /* An existing file is never taken over as a new log. */
    o.signing_key_file = g_key;
    assert_int_equal(ql_evidence_log_create(path, &o, error, sizeof error), QL_EIO);
}

/* ------------------------------------------------------------ tampering */

typedef struct problems {
    int64_t entries[64];
    char first[400];
    size_t count;
} problems;

static int collect_problem(const ql_evidence_problem *p, void *user)
{
    problems *ps = user;
    if (ps->count == 0)
        snprintf(ps->first, sizeof ps->first, "%s", p->message);
    if (ps->count < 64)
        ps->entries[ps->count] = p->entry;
    ps->count++;
    return 0;
}

static void run_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    char *message = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &message) != SQLITE_OK)
        fail_msg("%s: %s", sql, message);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_close(db);
}

/* A 20-entry log with content, altered by `sql`; verify must fail and name
 * `entry` first. */
static void tamper_case(const char *sql, int64_t entry, const char *words)
{
    char path[300], error[300];
    ql_evidence_log *log = new_log(path, sizeof path, 1);
    ql_evidence_record r[4];
    char texts[4][48];
    static const size_t batches[] = {1, 1, 2, 1, 3, 1, 4, 2, 3, 2};
    size_t done = 0;
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        for (size_t i = 0; i < batches[b]; i++) {
            snprintf(texts[i], sizeof texts[i], "entry %zu, phone 1380013800%zu", done + i, i);
            fill_record(&r[i], texts[i], 1);
            if ((done + i) % 2) {
                r[i].reporter = "reporter@example.org";
                r[i].note = "a note";
            }
        }
        assert_int_equal(ql_evidence_append(log, r, batches[b], 0, NULL), QL_OK);
        done += batches[b];
    }
    ql_evidence_log_close(log);
    ql_evidence_options o;
    memset(&o, 0, sizeof o);
    o.content_key_file = g_ckey;
    assert_int_equal(ql_evidence_log_open(path, &o, &log, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_OK);
    ql_evidence_log_close(log);

    run_sql(path, sql);
    problems ps;
    memset(&ps, 0, sizeof ps);
    assert_int_equal(ql_evidence_log_open(path, &o, &log, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_verify(log, collect_problem, &ps), QL_EVERIFY);
    ql_evidence_log_close(log);
    if (ps.count == 0 || ps.entries[0] != entry || !strstr(ps.first, words))
        fail_msg("after \"%s\": %zu problems, first about entry %lld: %s", sql, ps.count,
                 ps.count ? (long long)ps.entries[0] : -2LL, ps.first);
    /* One altered row is one problem (two for a head: root and signature,
     * three for a missing entry: it and the two heads past it), not one
     * per node above it. */
    assert_true(ps.count <= 3);
}

/* Changes the first hex digit of an entry's report salt. */
#define SALT_AT "instr(CAST(entry AS TEXT), '\"salt\":\"')"
#define SALT_FLIP                                                                              \
    "substr(CAST(entry AS TEXT), 1, " SALT_AT " + 7) || (CASE WHEN substr(CAST(entry AS TEXT), " \
    SALT_AT " + 8, 1) = '0' THEN '1' ELSE '0' END) || substr(CAST(entry AS TEXT), " SALT_AT " + 9)"

#define FLIP(column) \
    "(CASE WHEN substr(" column ", 1, 1) = X'00' THEN X'01' ELSE X'00' END || substr(" column ", 2))"

static void test_tamper(void **state)
{
    (void)state;
    /* The log has signed heads of sizes 1, 2, 4, 5, 8, 9, 13, 15, 18 and
     * 20; node keys are level << 56 | index.  FLIP changes a blob's first
     * byte, whatever it was. */
    tamper_case("UPDATE entries SET entry = CAST(replace(CAST(entry AS TEXT), 'abuse_report', "
                "'abuse_reporT') AS BLOB) WHERE id = 7", 7, "entry 7");
    tamper_case("UPDATE entries SET entry = CAST(replace(CAST(entry AS TEXT), '\"version\":2}', "
                "'\"version\":2 }') AS BLOB) WHERE id = 3", 3, "entry 3: not in canonical form");
    /* Reports (every odd entry has one): a changed salt makes the
     * decrypted values miss their commitments; a report in a version 1
     * entry, or a version 3 entry, is not the format. */
    tamper_case("UPDATE entries SET entry = CAST(" SALT_FLIP " AS BLOB) WHERE id = 9", 9,
                "entry 9: its report's decrypted note does not match its commitment");
    tamper_case("UPDATE entries SET entry = CAST(replace(CAST(entry AS TEXT), '\"version\":2}', "
                "'\"version\":1}') AS BLOB) WHERE id = 5", 5, "entry 5: a report in a version 1 entry");
    tamper_case("UPDATE entries SET entry = CAST(replace(CAST(entry AS TEXT), '\"version\":2}', "
                "'\"version\":3}') AS BLOB) WHERE id = 4", 4, "entry 4: not a version 1 to 2 entry");
    tamper_case("UPDATE entries SET content = " FLIP("content") " WHERE id = 12",
                12, "entry 12: the encrypted content");
    tamper_case("UPDATE nodes SET hash = " FLIP("hash") " WHERE id = 5", 5, "entry 5");
    tamper_case("UPDATE nodes SET hash = " FLIP("hash") " WHERE id = (2 << 56) | 1", 4,
                "entries 4..7");
    tamper_case("UPDATE heads SET signature = " FLIP("signature") " WHERE size = 9", 8,
                "tree head of size 9 (entries up to 8): the signature");
    tamper_case("UPDATE heads SET time_ms = time_ms + 1 WHERE size = 15", 14,
                "tree head of size 15 (entries up to 14): the signature");
    tamper_case("UPDATE heads SET root = " FLIP("root") " WHERE size = 2", 1,
                "tree head of size 2 (entries up to 1): its root");
    tamper_case("DELETE FROM entries WHERE id = 17", 17, "entry 17 is missing");
}

/* ------------------------------------------------------------- packages */

typedef struct outbuf {
    char  *data;
    size_t n;
} outbuf;

static int collect_bytes(const uint8_t *p, size_t n, void *user)
{
    outbuf *o = user;
    o->data = realloc(o->data, o->n + n + 1);
    assert_non_null(o->data);
    memcpy(o->data + o->n, p, n);
    o->n += n;
    o->data[o->n] = '\0';
    return 0;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *text = calloc(1, 4096);
    assert_non_null(text);
    size_t n = fread(text, 1, 4095, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void test_package(void **state)
{
    (void)state;
    char path[300];
    ql_evidence_log *log = new_log(path, sizeof path, 1);
    ql_evidence_record r[5];
    char texts[5][40];
    for (int i = 0; i < 5; i++) {
        snprintf(texts[i], sizeof texts[i], "abuse report %d", i);
        fill_record(&r[i], texts[i], i != 2);
        assert_int_equal(ql_evidence_append(log, &r[i], 1, 0, NULL), QL_OK);
    }
    uint8_t ckey[32];
    char *hex = read_text(g_ckey);
    hex[64] = '\0';
    unhex(hex, ckey, 32);
    free(hex);
    char *pub = read_text(g_pub), *pub2 = read_text(g_pub2);
    for (uint64_t index = 0; index < 5; index++) {
        outbuf o = {0};
        assert_int_equal(ql_evidence_export(log, index, UINT64_MAX, collect_bytes, &o), QL_OK);
        assert_int_equal(ql_evidence_verify_package((const uint8_t *)o.data, o.n, NULL, NULL, 0,
                                                    NULL, NULL),
                         QL_OK);
        assert_int_equal(ql_evidence_verify_package((const uint8_t *)o.data, o.n, pub, ckey, 32,
                                                    NULL, NULL),
                         QL_OK);
        assert_int_equal(ql_evidence_verify_package((const uint8_t *)o.data, o.n, pub2, NULL, 0,
                                                    NULL, NULL),
                         QL_EVERIFY);
        /* Any change to the entry breaks the proof. */
        char *kind = strstr(o.data, "abuse_report");
        assert_non_null(kind);
        kind[0] = 'A';
        problems ps;
        memset(&ps, 0, sizeof ps);
        assert_int_equal(ql_evidence_verify_package((const uint8_t *)o.data, o.n, NULL, NULL, 0,
                                                    collect_problem, &ps),
                         QL_EVERIFY);
        assert_int_equal(ps.entries[0], (int64_t)index);
        free(o.data);
        /* Against an older head too. */
        o.data = NULL;
        o.n = 0;
        assert_int_equal(ql_evidence_export(log, index, index + 1, collect_bytes, &o), QL_OK);
        assert_int_equal(ql_evidence_verify_package((const uint8_t *)o.data, o.n, pub, ckey, 32,
                                                    NULL, NULL),
                         QL_OK);
        if (index != 2) {
            char *content = strstr(o.data, "\"content\":\"");
            assert_non_null(content);
            content[12] = content[12] == 'A' ? 'B' : 'A';
            assert_int_equal(ql_evidence_verify_package((const uint8_t *)o.data, o.n, NULL, NULL,
                                                        0, NULL, NULL),
                             QL_EVERIFY);
        }
        free(o.data);
    }
    outbuf o = {0};
    assert_int_equal(ql_evidence_export(log, 5, UINT64_MAX, collect_bytes, &o), QL_EINVAL);
    assert_int_equal(ql_evidence_verify_package((const uint8_t *)"{}", 2, NULL, NULL, 0, NULL,
                                                NULL),
                     QL_EVERIFY);
    assert_int_equal(ql_evidence_verify_package((const uint8_t *)"{\"a\":1.5}", 9, NULL, NULL, 0,
                                                NULL, NULL),
                     QL_EVERIFY);
    free(o.data);
    free(pub);
    free(pub2);
    ql_evidence_log_close(log);
}

/* ------------------------------------------------------------- reports */

/* Nonces and salts counting up from g_next_random: entries byte for byte. */
static uint8_t g_next_random;

static int counting_random(uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = g_next_random++;
    return 0;
}

static const char report_reporter[] = "user-17@example.org";
static const char report_note[] = "垃圾广告, \"spam\"\n第二行";
static const char report_content[] = "联系 13800138000 找我";

/* The expected entries were computed independently, with Python's hmac,
 * hashlib and the cryptography package's AESGCM, from docs/evidence.md
 * ("Reports"), with the same counting nonces and salts and, for the
 * second, the content key 0x20, 0x21, ... 0x3f:
 * opening key bc60fbe7...4583e93 without the content key, 3d842c79...
 * 1daf3dbb with it. */
static const char report_entry_no_key[] =
    "{\"content_length\":25,\"content_sha256\":\"892e52b144a40c6cb9af892faca4d474a3fe726bc"
    "ac542053da52dfa345372b1\",\"findings\":[],\"kind\":\"abuse_report\",\"report\":{\"note\":{\""
    "hmac_sha256\":\"0d89fc63907aa1c88af6d5d75a026a9993180749591655406c073f5e0961e924\"}"
    ",\"reporter\":{\"hmac_sha256\":\"21d0d94617f6c11a7753d90e2daf6cc713b5e4fad78b8a43a665"
    "6802c9e50155\"},\"salt\":\"000102030405060708090a0b0c0d0e0f\"},\"source\":{\"tenant\":\"ac"
    "me\",\"url\":\"https://forum.example/t/1\"},\"time_ms\":1764100000123,\"version\":2}";

static const char report_entry_key[] =
    "{\"content\":{\"cipher\":\"aes-256-gcm\",\"ciphertext_sha256\":\"a527f48eb4451d359bd68d7e"
    "b8ad0ff0ed611c840c65af83937a5438e3fbd6f9\",\"key_id\":\"bb635e94824e87c7\"},\"content_"
    "length\":25,\"content_sha256\":\"892e52b144a40c6cb9af892faca4d474a3fe726bcac542053da"
    "52dfa345372b1\",\"findings\":[],\"kind\":\"abuse_report\",\"report\":{\"key_id\":\"bb635e948"
    "24e87c7\",\"note\":{\"ciphertext\":\"HB0eHyAhIiMkJSYnAoJcfBSPuLwJxbYrl5FLkCO3dQIYVwJ81"
    "k9YUQuGI6cYYdsiwfLaxyuF/1+FrA==\",\"hmac_sha256\":\"dccf49d72c87c354dfb68c3365d95697"
    "6c7cc54dc358eb161f1eb640600fdf1a\"},\"reporter\":{\"ciphertext\":\"KCkqKywtLi8wMTIzMax"
    "vgrv+ljDucm7VCl0zvjk7D1ll51pQthLqpE1D8kQ/H6s=\",\"hmac_sha256\":\"bbdd9dde05d310a2e6"
    "e9412aa839417c007d8759d439df1dcd38039c9025910d\"},\"salt\":\"0c0d0e0f101112131415161"
    "718191a1b\"},\"source\":{\"tenant\":\"acme\",\"url\":\"https://forum.example/t/1\"},\"time_m"
    "s\":1764100000123,\"version\":2}";

static void report_record(ql_evidence_record *r)
{
    memset(r, 0, sizeof *r);
    r->kind = QL_EVIDENCE_ABUSE_REPORT;
    r->time_ms = 1764100000123u;
    r->source_url = "https://forum.example/t/1";
    r->tenant = "acme";
    r->content = (const uint8_t *)report_content;
    r->content_length = strlen(report_content);
    r->store_content = 1;
    r->reporter = report_reporter;
    r->note = report_note;
}

/* Whether `needle` occurs anywhere in the file (the log, its WAL). */
static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t cap = 1 << 16, n = 0, got;
    char *data = malloc(cap);
    assert_non_null(data);
    while ((got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            data = realloc(data, cap);
            assert_non_null(data);
        }
    }
    fclose(f);
    int found = memmem(data, n, needle, strlen(needle)) != NULL;
    free(data);
    return found;
}

static void assert_not_in_log(const char *path, const char *value)
{
    char wal[310];
    snprintf(wal, sizeof wal, "%s-wal", path);
    assert_false(file_contains(path, value));
    assert_false(file_contains(wal, value));
}

static void test_report_entry(void **state)
{
    (void)state;
    char path[300], path2[300], fixed_key[300], error[300];
    int (*saved_random)(uint8_t *, size_t) = ql__evidence_random;
    ql_evidence_record r;
    ql_evidence_entry e;
    ql_evidence_receipt receipt;
    uint8_t leaf[H];

    /* Without a content key: the commitments only. */
    ql_evidence_log *log = new_log(path, sizeof path, 0);
    report_record(&r);
    ql__evidence_random = counting_random;
    g_next_random = 0;
    ql_status st = ql_evidence_append(log, &r, 1, 1, &receipt);
    ql__evidence_random = saved_random;
    assert_int_equal(st, QL_OK);
    assert_int_equal(ql_evidence_get(log, 0, 0, &e), QL_OK);
    assert_int_equal(e.entry_length, strlen(report_entry_no_key));
    assert_memory_equal(e.entry, report_entry_no_key, e.entry_length);
    assert_null(e.stored_content);
    ql_evidence_leaf_hash((const uint8_t *)report_entry_no_key, strlen(report_entry_no_key), leaf);
    assert_memory_equal(leaf, receipt.leaf_hash, H);
    ql_evidence_entry_free(log, &e);
    /* Nothing is held encrypted: nothing to decrypt. */
    assert_int_equal(ql_evidence_get(log, 0, 1, &e), QL_EINVAL);
    assert_non_null(strstr(ql_evidence_log_error(log), "only commitments"));
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_OK);

    /* Refused: a reporter or note outside an abuse report, invalid UTF-8,
     * too long; the messages never quote the value; nothing appended. */
    report_record(&r);
    r.kind = QL_EVIDENCE_SCAN_RECEIPT;
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_EINVAL);
    assert_non_null(strstr(ql_evidence_log_error(log), "only in an abuse_report"));
    report_record(&r);
    r.note = "bad \xff note";
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_EINVAL);
    assert_string_equal(ql_evidence_log_error(log), "the note is not valid UTF-8");
    char *long_value = malloc(QL_EVIDENCE_MAX_REPORT_FIELD + 2);
    assert_non_null(long_value);
    memset(long_value, 'a', QL_EVIDENCE_MAX_REPORT_FIELD + 1);
    long_value[QL_EVIDENCE_MAX_REPORT_FIELD + 1] = '\0';
    report_record(&r);
    r.reporter = long_value;
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_EINVAL);
    assert_string_equal(ql_evidence_log_error(log), "the reporter is longer than 65536 bytes");
    long_value[QL_EVIDENCE_MAX_REPORT_FIELD] = '\0';   /* exactly the limit */
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_OK);
    free(long_value);
    /* Either field alone. */
    report_record(&r);
    r.note = NULL;
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_OK);
    assert_int_equal(ql_evidence_get(log, 2, 0, &e), QL_OK);
    assert_non_null(strstr((const char *)e.entry, "\"report\":{\"reporter\":{\"hmac_sha256\":\""));
    assert_null(strstr((const char *)e.entry, "\"note\""));
    ql_evidence_entry_free(log, &e);
    uint64_t size;
    assert_int_equal(ql_evidence_size(log, &size), QL_OK);
    assert_int_equal(size, 3);
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_OK);
    ql_evidence_log_close(log);
    assert_not_in_log(path, report_reporter);
    assert_not_in_log(path, "第二行");

    /* With the content key 0x20..0x3f: encrypted as well, and the opening
     * key is keyed. */
    path_in_dir(fixed_key, sizeof fixed_key, "fixed.key");
    FILE *kf = fopen(fixed_key, "wx");
    assert_non_null(kf);
    assert_int_equal(chmod(fixed_key, 0600), 0);
    for (int i = 0x20; i < 0x40; i++)
        fprintf(kf, "%02x", i);
    fputc('\n', kf);
    fclose(kf);
    ql_evidence_options o;
    memset(&o, 0, sizeof o);
    o.signing_key_file = g_key;
    o.content_key_file = fixed_key;
    path_in_dir(path2, sizeof path2, "report-key.db");
    assert_int_equal(ql_evidence_log_create(path2, &o, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_log_open(path2, &o, &log, error, sizeof error), QL_OK);
    report_record(&r);
    ql__evidence_random = counting_random;
    g_next_random = 0;
    st = ql_evidence_append(log, &r, 1, 1, &receipt);
    ql__evidence_random = saved_random;
    assert_int_equal(st, QL_OK);
    assert_int_equal(ql_evidence_get(log, 0, 0, &e), QL_OK);
    assert_int_equal(e.entry_length, strlen(report_entry_key));
    assert_memory_equal(e.entry, report_entry_key, e.entry_length);
    assert_null(e.reporter);
    assert_null(e.note);
    ql_evidence_entry_free(log, &e);
    /* The decrypt round trip: content, reporter and note. */
    assert_int_equal(ql_evidence_get(log, 0, 1, &e), QL_OK);
    assert_string_equal(e.reporter, report_reporter);
    assert_string_equal(e.note, report_note);
    assert_int_equal(e.content_length, strlen(report_content));
    assert_memory_equal(e.content, report_content, e.content_length);
    ql_evidence_entry_free(log, &e);
    /* Without the content stored, the report is still encrypted. */
    report_record(&r);
    r.store_content = 0;
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_OK);
    assert_int_equal(ql_evidence_get(log, 1, 1, &e), QL_OK);
    assert_null(e.content);
    assert_string_equal(e.reporter, report_reporter);
    assert_string_equal(e.note, report_note);
    ql_evidence_entry_free(log, &e);
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_OK);

    /* The package verifies with and without the key. */
    outbuf package = {NULL, 0};
    assert_int_equal(ql_evidence_export(log, 0, UINT64_MAX, collect_bytes, &package), QL_OK);
    assert_null(strstr(package.data, report_reporter));
    uint8_t key[32], other[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x20 + i);
    assert_int_equal(ql_evidence_verify_package((const uint8_t *)package.data, package.n,
                                                ql_evidence_public_key(log), NULL, 0, NULL, NULL),
                     QL_OK);
    assert_int_equal(ql_evidence_verify_package((const uint8_t *)package.data, package.n,
                                                ql_evidence_public_key(log), key, 32, NULL, NULL),
                     QL_OK);
    problems ps;
    memset(&ps, 0, sizeof ps);
    assert_int_equal(ql_evidence_read_content_key(g_ckey2, other, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_verify_package((const uint8_t *)package.data, package.n,
                                                ql_evidence_public_key(log), other, 32,
                                                collect_problem, &ps),
                     QL_EVERIFY);
    assert_non_null(strstr(ps.first, "entry 0: the content was encrypted with another key"));
    free(package.data);
    ql_evidence_log_close(log);
    assert_not_in_log(path2, report_reporter);
    assert_not_in_log(path2, "第二行");

    /* Another content key cannot decrypt the report. */
    o.content_key_file = g_ckey2;
    o.signing_key_file = NULL;
    assert_int_equal(ql_evidence_log_open(path2, &o, &log, error, sizeof error), QL_OK);
    assert_int_equal(ql_evidence_get(log, 1, 1, &e), QL_EVERIFY);
    assert_non_null(strstr(ql_evidence_log_error(log),
                           "entry 1: its report was encrypted with another key"));
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_OK);   /* shape only */
    ql_evidence_log_close(log);
}

/* A report's ciphertexts are bound to their fields: the note's moved into
 * the reporter's place (and back) does not decrypt, and verify names the
 * entry. */
static void test_report_fields_bound(void **state)
{
    (void)state;
    char path[300];
    ql_evidence_log *log = new_log(path, sizeof path, 1);
    ql_evidence_record r;
    ql_evidence_entry e;
    report_record(&r);
    r.store_content = 0;
    r.note = "the same length!!!!";   /* as long as the reporter */
    assert_int_equal(strlen(r.note), strlen(r.reporter));
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_OK);
    assert_int_equal(ql_evidence_get(log, 0, 0, &e), QL_OK);
    char *swapped = malloc(e.entry_length + 1);
    assert_non_null(swapped);
    memcpy(swapped, e.entry, e.entry_length + 1);
    static const char note_at[] = "\"note\":{\"ciphertext\":\"";
    static const char reporter_at[] = "\"reporter\":{\"ciphertext\":\"";
    char *note = strstr(swapped, note_at), *reporter = strstr(swapped, reporter_at);
    assert_non_null(note);
    assert_non_null(reporter);
    note += strlen(note_at);
    reporter += strlen(reporter_at);
    size_t n = (size_t)(strchr(note, '"') - note);
    assert_int_equal(n, (size_t)(strchr(reporter, '"') - reporter));
    char *held = malloc(n);
    assert_non_null(held);
    memcpy(held, note, n);
    memmove(note, reporter, n);
    memcpy(reporter, held, n);
    free(held);
    append_raw(log, (const uint8_t *)swapped, e.entry_length);
    ql_evidence_entry_free(log, &e);
    free(swapped);
    assert_int_equal(ql_evidence_get(log, 1, 1, &e), QL_EVERIFY);
    assert_non_null(strstr(ql_evidence_log_error(log),
                           "entry 1: its report's note does not decrypt with this key"));
    problems ps;
    memset(&ps, 0, sizeof ps);
    assert_int_equal(ql_evidence_verify(log, collect_problem, &ps), QL_EVERIFY);
    assert_int_equal(ps.count, 1);
    assert_int_equal(ps.entries[0], 1);
    assert_string_equal(ps.first, "entry 1: its report's note does not decrypt with this key "
                                  "(another key, or altered)");
    ql_evidence_log_close(log);
}

/* Entries written before reports held a reporter and a note (version 1)
 * are read, verified and packaged as before, beside version 2 ones. */
static void test_version_1_entries(void **state)
{
    (void)state;
    static const char v1[] =
        "{\"content_length\":0,\"content_sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934"
        "ca495991b7852b855\",\"findings\":[{\"end\":16,\"masked\":\"138****8000\",\"rule_id\":"
        "\"builtin.cn_mobile_phone\",\"start\":5,\"type\":\"cn_mobile_phone\"}],\"kind\":"
        "\"finding_report\",\"ruleset_version\":\"builtin-0.1.0\",\"source\":{\"path\":\"a.txt\"},"
        "\"time_ms\":1764100000123,\"version\":1}";
    char path[300];
    ql_evidence_log *log = new_log(path, sizeof path, 1);
    append_raw(log, (const uint8_t *)v1, strlen(v1));
    ql_evidence_record r;
    report_record(&r);
    assert_int_equal(ql_evidence_append(log, &r, 1, 0, NULL), QL_OK);
    append_raw(log, (const uint8_t *)v1, strlen(v1));
    assert_int_equal(ql_evidence_verify(log, NULL, NULL), QL_OK);
    ql_evidence_entry e;
    assert_int_equal(ql_evidence_get(log, 2, 0, &e), QL_OK);
    assert_int_equal(e.entry_length, strlen(v1));
    assert_memory_equal(e.entry, v1, e.entry_length);
    ql_evidence_entry_free(log, &e);
    outbuf package = {NULL, 0};
    assert_int_equal(ql_evidence_export(log, 0, UINT64_MAX, collect_bytes, &package), QL_OK);
    assert_int_equal(ql_evidence_verify_package((const uint8_t *)package.data, package.n,
                                                ql_evidence_public_key(log), NULL, 0, NULL, NULL),
                     QL_OK);
    free(package.data);
    ql_evidence_log_close(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kat_roots),
        cmocka_unit_test(test_kat_proofs),
        cmocka_unit_test(test_verifier_edges),
        cmocka_unit_test(test_all_pairs),
        cmocka_unit_test(test_canonical_entry),
        cmocka_unit_test(test_batch_and_reopen),
        cmocka_unit_test(test_content),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_package),
        cmocka_unit_test(test_report_entry),
        cmocka_unit_test(test_report_fields_bound),
        cmocka_unit_test(test_version_1_entries),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
