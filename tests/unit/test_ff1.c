/*
 * test_ff1.c — FF1 format-preserving encryption (lib/ff1.c) held to NIST's
 * published samples, to other published vectors, and to its own inverse.
 *
 * Three kinds of expected value appear here, each marked where it is used:
 *
 *   published (NIST)  FF1 Samples 1-9 of NIST's "FF1samples.pdf" (CSRC
 *                     examples page for SP 800-38G).  The PDF itself was
 *                     not reachable from here; the values were taken from
 *                     two implementations' test files that transcribe it,
 *                     which agree digit for digit:
 *                       capitalone/fpe          ff1/ff1_test.go
 *                       bcgit/bc-java           prov/src/test/java/org/
 *                         bouncycastle/jcajce/provider/test/SP80038GTest.java
 *                     Samples 1-3 also match the values in the task brief.
 *   published (BC)    Bouncy Castle's own FF1 vectors from the same Java
 *                     file (ff1_alphabet_1_tests / _2_tests): not NIST's,
 *                     but independent of this code, and they reach tweaks
 *                     of 12 and 16 bytes and inputs of 21-31 numerals.
 *   generated         Computed for this file by a separate FF1 written
 *                     from the standard's text in Python (integers for
 *                     NUM/STR, pyca/cryptography for AES and SM4; listed
 *                     in docs/ff1.md), which first reproduced all nine
 *                     NIST samples and the five BC vectors.  They cover
 *                     what no published vector does: n = 256, d > 16 (so
 *                     S needs CIPH(R xor [j]) blocks), tweaks that span
 *                     several Q blocks, radix 2, 26 and 62 — and SM4, for
 *                     which no FF1 vectors have been published at all.
 *
 * Generated values catch regressions and a shared misreading only if the
 * misreading is not in both implementations; the NIST samples are the
 * authority.  Every vector is checked both ways and in place (out == in).
 * The remaining tests are properties: decryption inverts encryption for
 * random inputs, the tweak matters, and bad arguments are refused without
 * touching the output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ff1.h"

/* The numeral alphabet every vector source uses: 0-9, a-z, A-Z. */
static const char ALPHABET[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

#define K128 "2B7E151628AED2A6ABF7158809CF4F3C"
#define K192 K128 "EF4359D8D580AA4F"
#define K256 K192 "7F036D6F04FC6A94"
#define T10  "39383736353433323130"
#define T11  "3737373770717273373737"
/* Generated-vector tweaks: 37 bytes 10..34 (three Q blocks, a partial
 * one), 16 bytes C0..CF (one exact block), 15 bytes A0..AE. */
#define T37  "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334"
#define T16  "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
#define T15  "a0a1a2a3a4a5a6a7a8a9aaabacadae"

/* Generated plaintexts: numeral i is (7*i + 3) mod radix, or i mod 2. */
#define PAT62_256 \
    "3ahovCJQX4bipwDKRY5cjqxELSZ6dkryFMT07elszGNU18fmtAHOV29gnuBIPW" \
    "3ahovCJQX4bipwDKRY5cjqxELSZ6dkryFMT07elszGNU18fmtAHOV29gnuBIPW" \
    "3ahovCJQX4bipwDKRY5cjqxELSZ6dkryFMT07elszGNU18fmtAHOV29gnuBIPW" \
    "3ahovCJQX4bipwDKRY5cjqxELSZ6dkryFMT07elszGNU18fmtAHOV29gnuBIPW" \
    "3ahovCJQ"

typedef struct vector {
    const char    *name;
    ql__ff1_cipher cipher;
    const char    *key_hex;
    unsigned       radix;
    const char    *tweak_hex;
    const char    *pt;
    const char    *ct;
} vector;

/* published (NIST): FF1 Samples 1-9, sources above. */
static const vector nist[] = {
    {"NIST FF1 Sample 1 (AES-128)", QL__FF1_AES, K128, 10, "",  "0123456789", "2433477484"},
    {"NIST FF1 Sample 2 (AES-128)", QL__FF1_AES, K128, 10, T10, "0123456789", "6124200773"},
    {"NIST FF1 Sample 3 (AES-128)", QL__FF1_AES, K128, 36, T11, "0123456789abcdefghi", "a9tv40mll9kdu509eum"},
    {"NIST FF1 Sample 4 (AES-192)", QL__FF1_AES, K192, 10, "",  "0123456789", "2830668132"},
    {"NIST FF1 Sample 5 (AES-192)", QL__FF1_AES, K192, 10, T10, "0123456789", "2496655549"},
    {"NIST FF1 Sample 6 (AES-192)", QL__FF1_AES, K192, 36, T11, "0123456789abcdefghi", "xbj3kv35jrawxv32ysr"},
    {"NIST FF1 Sample 7 (AES-256)", QL__FF1_AES, K256, 10, "",  "0123456789", "6657667009"},
    {"NIST FF1 Sample 8 (AES-256)", QL__FF1_AES, K256, 10, T10, "0123456789", "1001623463"},
    {"NIST FF1 Sample 9 (AES-256)", QL__FF1_AES, K256, 36, T11, "0123456789abcdefghi", "xs8a0azh2avyalyzuwd"},
};

/* published (BC): bcgit/bc-java SP80038GTest.java, ff1_alphabet_1_tests
 * (radix 62) and ff1_alphabet_2_tests (radix 10), rows chosen for their
 * tweak and input lengths. */
static const vector bc[] = {
    {"BC radix 62, 16-byte tweak", QL__FF1_AES, "9324AA7DE3741E56CF645E2637E35A1D", 62,
     "2F51E5D59488D510AEA456CD417718E3", "ZyYCiDJ0ioosItgaxXRq9yhW", "khcC1Ke64gP1war6Q9zu9SJG"},
    {"BC radix 62, 12-byte tweak", QL__FF1_AES, "658DBE84FFFD3FB0B467BD494716A389", 62,
     "E7BCC93E147CD87C6ABD875F", "M5qNoOKl9wtHOZcUGuKGl", "fWFLuaTkrIcS7SKamjnif"},
    {"BC radix 10, minimum length", QL__FF1_AES, "B76C5A89AA2251C6EC54637DBD664B51", 10,
     "", "941511", "732619"},
    {"BC radix 10, 31 numerals", QL__FF1_AES, "4FB391936BBC92B86DAC47A47D2CAEC9", 10,
     "8FBC94F4B2C99A8259D38F5BAC64BE52", "1232039186865318286011911779189",
     "4592871033297781572090499660092"},
    {"BC radix 10, 3-byte tweak", QL__FF1_AES, "24320B4097F1AA595B924647713CA4AC", 10,
     "1A93FD", "37270593298489037293320078931", "37543918372406027841182838238"},
};

/* generated: the Python reference of docs/ff1.md. */
static const vector generated[] = {
    {"gen AES-256 radix 62 n=256 t=37", QL__FF1_AES, K256, 62, T37, PAT62_256,
     "IxGcIQPWlUFCrZ6k2TFDSUM0352i8TbiHXDHS0l7aBRpRXXJVoKbdRrdy7pCc3Lu"
     "qCMEsJCjZm7qSqEGeEbLUHyxg6SAtxM2aBp1uWXGn1M1k6l8IR0Pq0dPtrbYgAIk"
     "A1CNBUcMUYjY92oBPopRPQJZwad8dH3x28PG9PU8cdj6BmHQpTHiYo3xLd7OnJrO"
     "NddkA2WvHOfCyXsJyBrq1sMsrjbNs4W2WiPIKDmenPzIk5yoI4olirGcxQswbglS"},
    {"gen AES-128 radix 10 n=64 t=16", QL__FF1_AES, K128, 10, T16,
     "3074185296307418529630741852963074185296307418529630741852963074",
     "2207369307062768256499862786230833202568345343470639982992482534"},
    {"gen AES-128 radix 2 n=256 t=0", QL__FF1_AES, K128, 2, "",
     "0101010101010101010101010101010101010101010101010101010101010101"
     "0101010101010101010101010101010101010101010101010101010101010101"
     "0101010101010101010101010101010101010101010101010101010101010101"
     "0101010101010101010101010101010101010101010101010101010101010101",
     "0001111111111001010001010011000000101101100001001011101101100110"
     "0001001010000010100111111100000111011101011011001000011101010010"
     "0110011100100110011001111000010000010011110001010000011011010000"
     "0111011001000010100101000101010010110000100110100001001000101110"},
    {"gen AES-192 radix 26 n=100 t=15", QL__FF1_AES, K192, 26, T15,
     "3aho5cj07el29gn4bip6dk18fm3aho5cj07el29gn4bip6dk18fm"
     "3aho5cj07el29gn4bip6dk18fm3aho5cj07el29gn4bip6dk",
     "edin3g6dn91cbc4gg7c12586i06gm93ga87l2a63gi526nle80"
     "78f4nkaiabk84m0k6k1jfihh2h7n683mehikb0iadpo9hfb2f2"},
    {"gen AES-192 radix 36 n=255 t=11", QL__FF1_AES, K192, 36, T11,
     "3ahov29gnu18fmt07elsz6dkry5cjqx4bipw3ahov29gnu18fmt07elsz6dkry5c"
     "jqx4bipw3ahov29gnu18fmt07elsz6dkry5cjqx4bipw3ahov29gnu18fmt07els"
     "z6dkry5cjqx4bipw3ahov29gnu18fmt07elsz6dkry5cjqx4bipw3ahov29gnu18"
     "fmt07elsz6dkry5cjqx4bipw3ahov29gnu18fmt07elsz6dkry5cjqx4bipw3ah",
     "33e9e9bj4mzazp34usi1npe4nedle1wgvx3zfgmtjwc0klmyutc14notk01qu78t"
     "03c1cczj2azu9emyrn3x95ra2mvy5sy0b8qmftn6tagyeiv2ja9xbznbbvgnzv5v"
     "8nxvx919lb67gmvs7gypoxziy4zj99cbfabsvoptdehn58sdpkh1sc1p1iyk0e62"
     "lx1r2tsc5f3nfaa8pwclugj66zgd6vugrlx6hv9qi3c4ulhrae0zn3xlfkq00uw"},
    {"gen AES-128 radix 62 n=4 (minimum)", QL__FF1_AES, K128, 62, "", "3aho", "04Ju"},
};

/* generated, SM4: no published FF1-SM4 vectors exist (NIST's samples are
 * AES only, and GB/T 32907 defines SM4, not FF1).  Same plaintexts and
 * tweaks as NIST Samples 1 and 3, under SM4 with the AES-128 sample key. */
static const vector sm4[] = {
    {"gen SM4 radix 10 (Sample 1 inputs)", QL__FF1_SM4, K128, 10, "", "0123456789", "0496670108"},
    {"gen SM4 radix 36 (Sample 3 inputs)", QL__FF1_SM4, K128, 36, T11,
     "0123456789abcdefghi", "ddrem2888btdrjs0jn9"},
    {"gen SM4 radix 62 n=256 t=37", QL__FF1_SM4, K128, 62, T37, PAT62_256,
     "PvfM5eOTMSL5sfnCoY4jmNle5oSnln5f3TXKdyW9YcvjSJiJRo5t8h5YxCm8rLuu"
     "ifimN8ZY0v2wEAEPiUaXkI2kpeIK3AhjxEW9FZWuplwUj2kyeugCP8jhrTwW3Y3y"
     "FJS2UrTBGhMMMXixq6ZgBLoGSHf8CDLi2cPm9yNEzGp1zVEctalQmv5AWvms2oaX"
     "u2wF7xcPoi0YcMGOrBUOODi3ObdUWdPf9m3I0B4w1KQ0QjZskga8nG1keHoVGxnD"},
};

/* ---- helpers ------------------------------------------------------------ */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + (size_t)j];
            unsigned d = (c >= '0' && c <= '9') ? (unsigned)(c - '0')
                       : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                       : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10) : 99u;
            assert_true(d < 16);
            v = v * 16 + d;
        }
        out[i] = (uint8_t)v;
    }
    return n;
}

static void to_numerals(const char *s, unsigned radix, uint8_t *out)
{
    for (size_t i = 0; s[i]; i++) {
        const char *p = memchr(ALPHABET, s[i], radix);
        assert_non_null(p);
        out[i] = (uint8_t)(p - ALPHABET);
    }
}

static void to_text(const uint8_t *x, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ALPHABET[x[i]];
    out[n] = '\0';
}

/* splitmix64: a fixed seed, so a failure reproduces. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static ql__ff1 *new_from_hex(ql__ff1_cipher c, const char *key_hex)
{
    uint8_t key[32];
    size_t klen = unhex(key_hex, key, sizeof key);
    return ql__ff1_new(c, key, klen);
}

/* ---- vectors -------------------------------------------------------------- */

/* One vector, state = the vector: encrypt, decrypt, and both in place. */
static void test_vector(void **state)
{
    const vector *v = *state;
    uint8_t tweak[64], pt[256], ct[256], buf[256];
    char text[257];
    size_t t = unhex(v->tweak_hex, tweak, sizeof tweak);
    size_t n = strlen(v->pt);
    assert_int_equal(n, strlen(v->ct));
    to_numerals(v->pt, v->radix, pt);
    to_numerals(v->ct, v->radix, ct);

    ql__ff1 *ctx = new_from_hex(v->cipher, v->key_hex);
    if (!ctx && v->cipher == QL__FF1_SM4)
        skip();   /* an OpenSSL built without SM4: ql__ff1_new says so */
    assert_non_null(ctx);

    assert_int_equal(ql__ff1_crypt(ctx, 1, v->radix, tweak, t, pt, buf, n), 0);
    to_text(buf, n, text);
    assert_string_equal(text, v->ct);

    assert_int_equal(ql__ff1_crypt(ctx, 0, v->radix, tweak, t, ct, buf, n), 0);
    to_text(buf, n, text);
    assert_string_equal(text, v->pt);

    /* out may alias in. */
    memcpy(buf, pt, n);
    assert_int_equal(ql__ff1_crypt(ctx, 1, v->radix, tweak, t, buf, buf, n), 0);
    assert_memory_equal(buf, ct, n);
    assert_int_equal(ql__ff1_crypt(ctx, 0, v->radix, tweak, t, buf, buf, n), 0);
    assert_memory_equal(buf, pt, n);

    ql__ff1_free(ctx);
}

/* ---- properties ------------------------------------------------------------- */

/* Random round trips for one cipher/key over radix 2, 10, 26, 36 and 62,
 * every length from the minimum to 64 and 256, with tweaks of 0 bytes,
 * less than a block, one block, a block and a bit, and several blocks. */
static void round_trips(ql__ff1 *ctx, uint64_t seed)
{
    static const unsigned radixes[] = {2, 10, 26, 36, 62};
    static const size_t tweak_lens[] = {0, 1, 7, 15, 16, 17, 40};
    uint8_t pt[256], ct[256], back[256], tweak[40];

    for (size_t r = 0; r < sizeof radixes / sizeof radixes[0]; r++) {
        unsigned radix = radixes[r];
        size_t min = ql__ff1_min_length(radix);
        for (size_t n = min; n <= 256; n = (n == 64) ? 256 : n + 1) {
            size_t t = tweak_lens[n % (sizeof tweak_lens / sizeof tweak_lens[0])];
            for (size_t i = 0; i < n; i++)
                pt[i] = (uint8_t)(next_rand(&seed) % radix);
            for (size_t i = 0; i < t; i++)
                tweak[i] = (uint8_t)next_rand(&seed);

            assert_int_equal(ql__ff1_crypt(ctx, 1, radix, tweak, t, pt, ct, n), 0);
            for (size_t i = 0; i < n; i++)
                assert_true(ct[i] < radix);
            /* radix^n >= 10^6, so equality would be a one-in-a-million
             * accident; with this fixed seed it does not happen. */
            assert_memory_not_equal(ct, pt, n);
            assert_int_equal(ql__ff1_crypt(ctx, 0, radix, tweak, t, ct, back, n), 0);
            assert_memory_equal(back, pt, n);
        }
    }
}

static void test_round_trip_aes(void **state)
{
    static const char *keys[] = {K128, K192, K256};
    for (size_t i = 0; i < 3; i++) {
        ql__ff1 *ctx = new_from_hex(QL__FF1_AES, keys[i]);
        assert_non_null(ctx);
        round_trips(ctx, 0xF1F1u + i);
        ql__ff1_free(ctx);
    }
}

/* SM4: no published vectors (see sm4[] above), so the round trip and the
 * generated vectors are what there is; it must also differ from AES. */
static void test_round_trip_sm4(void **state)
{
    ql__ff1 *sm = new_from_hex(QL__FF1_SM4, K128);
    if (!sm)
        skip();
    ql__ff1 *aes = new_from_hex(QL__FF1_AES, K128);
    assert_non_null(aes);
    round_trips(sm, 0x5A4u);

    uint8_t pt[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, a[10], s[10];
    assert_int_equal(ql__ff1_crypt(aes, 1, 10, NULL, 0, pt, a, 10), 0);
    assert_int_equal(ql__ff1_crypt(sm, 1, 10, NULL, 0, pt, s, 10), 0);
    assert_memory_not_equal(a, s, 10);
    ql__ff1_free(sm);
    ql__ff1_free(aes);
}

/* The tweak is an input to every round: changing one bit of it, or only
 * its length (P holds t, Q pads by it), changes the ciphertext, and the
 * wrong tweak does not decrypt. */
static void test_tweak_changes_output(void **state)
{
    ql__ff1 *ctx = new_from_hex(QL__FF1_AES, K128);
    assert_non_null(ctx);
    static const uint8_t pt[11] = {1, 3, 8, 0, 0, 1, 3, 8, 0, 0, 0};
    uint8_t tw[8][17];
    static const size_t tlen[8] = {0, 1, 1, 2, 16, 16, 17, 17};
    memset(tw, 0, sizeof tw);
    tw[2][0] = 1;          /* [1] vs [0] */
    tw[5][15] = 0x80;      /* one bit in a full block */
    tw[7][16] = 1;         /* one bit in the second Q block */

    uint8_t ct[8][11];
    for (int i = 0; i < 8; i++)
        assert_int_equal(ql__ff1_crypt(ctx, 1, 10, tw[i], tlen[i], pt, ct[i], 11), 0);
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++)
            assert_memory_not_equal(ct[i], ct[j], 11);

    /* NULL with length 0 is the empty tweak. */
    uint8_t e[11], back[11];
    assert_int_equal(ql__ff1_crypt(ctx, 1, 10, NULL, 0, pt, e, 11), 0);
    assert_memory_equal(e, ct[0], 11);

    assert_int_equal(ql__ff1_crypt(ctx, 0, 10, tw[1], tlen[1], ct[2], back, 11), 0);
    assert_memory_not_equal(back, pt, 11);
    ql__ff1_free(ctx);
}

/* A different key gives a different ciphertext. */
static void test_key_changes_output(void **state)
{
    ql__ff1 *a = new_from_hex(QL__FF1_AES, K128);
    ql__ff1 *b = new_from_hex(QL__FF1_AES, "2B7E151628AED2A6ABF7158809CF4F3D");
    assert_non_null(a);
    assert_non_null(b);
    static const uint8_t pt[11] = {1, 3, 8, 0, 0, 1, 3, 8, 0, 0, 0};
    uint8_t x[11], y[11];
    assert_int_equal(ql__ff1_crypt(a, 1, 10, NULL, 0, pt, x, 11), 0);
    assert_int_equal(ql__ff1_crypt(b, 1, 10, NULL, 0, pt, y, 11), 0);
    assert_memory_not_equal(x, y, 11);
    ql__ff1_free(a);
    ql__ff1_free(b);
}

/* The smallest n with radix^n >= 1 000 000, for every radix; 0 outside
 * 2..62; and the boundary is the one ql__ff1_crypt enforces. */
static void test_min_length(void **state)
{
    assert_int_equal(ql__ff1_min_length(2), 20);
    assert_int_equal(ql__ff1_min_length(3), 13);
    assert_int_equal(ql__ff1_min_length(10), 6);
    assert_int_equal(ql__ff1_min_length(26), 5);
    assert_int_equal(ql__ff1_min_length(36), 4);
    assert_int_equal(ql__ff1_min_length(62), 4);
    assert_int_equal(ql__ff1_min_length(0), 0);
    assert_int_equal(ql__ff1_min_length(1), 0);
    assert_int_equal(ql__ff1_min_length(63), 0);

    ql__ff1 *ctx = new_from_hex(QL__FF1_AES, K128);
    assert_non_null(ctx);
    uint8_t in[256] = {0}, out[256];
    for (unsigned radix = 2; radix <= 62; radix++) {
        size_t m = ql__ff1_min_length(radix);
        uint64_t p = 1;
        for (size_t i = 0; i + 1 < m; i++)
            p *= radix;
        assert_true(p < 1000000u);
        assert_true(p * radix >= 1000000u);
        assert_int_equal(ql__ff1_crypt(ctx, 1, radix, NULL, 0, in, out, m), 0);
        assert_int_equal(ql__ff1_crypt(ctx, 1, radix, NULL, 0, in, out, m - 1), -1);
        assert_int_equal(ql__ff1_crypt(ctx, 1, radix, NULL, 0, in, out, 256), 0);
    }
    ql__ff1_free(ctx);
}

/* Refused: radix outside 2..62, n outside min..256, a numeral >= radix,
 * NULL pointers, a NULL tweak with a length; on refusal `out` is left as
 * it was.  Wrong key lengths and unknown ciphers give no context. */
static void test_bad_arguments(void **state)
{
    uint8_t key[64] = {0};
    static const size_t bad_aes[] = {0, 1, 15, 17, 23, 25, 31, 33, 64};
    for (size_t i = 0; i < sizeof bad_aes / sizeof bad_aes[0]; i++)
        assert_null(ql__ff1_new(QL__FF1_AES, key, bad_aes[i]));
    static const size_t bad_sm4[] = {0, 15, 17, 24, 32};
    for (size_t i = 0; i < sizeof bad_sm4 / sizeof bad_sm4[0]; i++)
        assert_null(ql__ff1_new(QL__FF1_SM4, key, bad_sm4[i]));
    assert_null(ql__ff1_new(QL__FF1_AES, NULL, 16));
    assert_null(ql__ff1_new((ql__ff1_cipher)7, key, 16));
    ql__ff1_free(NULL);

    ql__ff1 *ctx = ql__ff1_new(QL__FF1_AES, key, 16);
    assert_non_null(ctx);
    uint8_t in[257], out[257], tw[1] = {0};
    memset(in, 1, sizeof in);
    memset(out, 0xEE, sizeof out);

    assert_int_equal(ql__ff1_crypt(ctx, 1, 0, NULL, 0, in, out, 20), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 1, 1, NULL, 0, in, out, 20), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 1, 63, NULL, 0, in, out, 20), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 1, 256, NULL, 0, in, out, 20), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 1, 10, NULL, 0, in, out, 5), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 1, 10, NULL, 0, in, out, 0), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 1, 10, NULL, 0, in, out, 257), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 0, 10, NULL, 0, in, out, 257), -1);
    assert_int_equal(ql__ff1_crypt(NULL, 1, 10, NULL, 0, in, out, 10), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 1, 10, NULL, 0, NULL, out, 10), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 1, 10, NULL, 0, in, NULL, 10), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 1, 10, NULL, 1, in, out, 10), -1);

    /* A numeral equal to the radix, at the end and at the start, and in
     * the other direction too. */
    in[9] = 10;
    assert_int_equal(ql__ff1_crypt(ctx, 1, 10, tw, 1, in, out, 10), -1);
    assert_int_equal(ql__ff1_crypt(ctx, 0, 10, tw, 1, in, out, 10), -1);
    in[9] = 1;
    in[0] = 255;
    assert_int_equal(ql__ff1_crypt(ctx, 1, 10, tw, 1, in, out, 10), -1);
    in[0] = 2;
    assert_int_equal(ql__ff1_crypt(ctx, 1, 2, tw, 1, in, out, 20), -1);

    for (size_t i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0xEE);
    ql__ff1_free(ctx);
}

/* cmocka_unit_test_prestate would name every one "test_vector"; spelt out,
 * each test carries its vector's name. */
#define VEC(arr, i)                                                       \
    { .name = arr[i].name, .test_func = test_vector, .setup_func = NULL, \
      .teardown_func = NULL, .initial_state = (void *)&arr[i] }

int main(void)
{
    /* One cmocka test per vector, so the report names each sample. */
    const struct CMUnitTest tests[] = {
        VEC(nist, 0), VEC(nist, 1), VEC(nist, 2),
        VEC(nist, 3), VEC(nist, 4), VEC(nist, 5),
        VEC(nist, 6), VEC(nist, 7), VEC(nist, 8),
        VEC(bc, 0), VEC(bc, 1), VEC(bc, 2), VEC(bc, 3), VEC(bc, 4),
        VEC(generated, 0), VEC(generated, 1), VEC(generated, 2),
        VEC(generated, 3), VEC(generated, 4), VEC(generated, 5),
        VEC(sm4, 0), VEC(sm4, 1), VEC(sm4, 2),
        cmocka_unit_test(test_round_trip_aes),
        cmocka_unit_test(test_round_trip_sm4),
        cmocka_unit_test(test_tweak_changes_output),
        cmocka_unit_test(test_key_changes_output),
        cmocka_unit_test(test_min_length),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
