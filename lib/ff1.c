/*
 * ff1.c — NIST SP 800-38G Rev. 1 FF1 (Algorithms 7 and 8) over OpenSSL.
 *
 * CIPH_K is one block of AES-128/192/256 or SM4 in ECB mode with padding
 * off, through one EVP_CIPHER_CTX that ql__ff1_new keys once; the PRF is
 * CBC-MAC with a zero IV, chained here block by block (X xor block, then
 * CIPH), exactly as the standard writes it.  A call allocates nothing.
 *
 * Big numbers.  FF1 needs NUM_radix of up to 128 numerals (half of 256),
 * NUM of d <= 100 bytes, and (x ± y) mod radix^m.  Rather than OpenSSL's
 * BIGNUM (a heap object per value, and an allocation per call), the
 * numbers live in stack byte arrays, base 256, big-endian (the byte order
 * the standard uses for [x]^b and NUM), and only two operations are
 * needed:
 *   - multiply-add by a small value (numerals -> bytes, for Q), and
 *   - divmod by a small value (bytes -> the low m numerals of y).
 * The modular add/subtract is then done numeral by numeral in base radix
 * with a carry or borrow that is dropped at the top: the low m base-radix
 * digits of y *are* y mod radix^m, so no full-width add, subtract or
 * modulo is ever needed.  Both loops work radix^k at a time (the largest
 * power that fits in 32 bits) to cut the passes over the bytes by k.
 *
 * Not constant-time: the bignum loops, numeral checks and table lookups
 * branch on data.  FF1 here masks identifiers for display and test data;
 * it is not meant to resist a local timing attacker.
 *
 * Thread use: the EVP context is state that ql__ff1_crypt writes, so one
 * ql__ff1 serves one thread at a time (give each thread its own, or lock).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ff1.h"

#define BLOCK        16u
#define MIN_RADIX    2u
#define MAX_RADIX    62u
#define MAX_N        256u
#define MAX_HALF     (MAX_N - MAX_N / 2)        /* v for n = 256 */
/* b for v = 128 at radix 62 is 96; d = 4*ceil(b/4)+4 = 100.  Sized with
 * room so an off-by-one in the arithmetic cannot overrun. */
#define MAX_B        104u
#define MAX_D        (4u * ((MAX_B + 3u) / 4u) + 4u)
#define MAX_S_BLOCKS ((MAX_D + BLOCK - 1u) / BLOCK)
/* The tail of Q after its whole blocks of T||pad: < 16 bytes of that
 * prefix, [i], and NUM_radix(B) in b bytes, rounded up to blocks. */
#define MAX_TAIL     (((BLOCK - 1u) + 1u + MAX_B + BLOCK - 1u) / BLOCK * BLOCK)

struct ql__ff1 {
    /* Keyed once for encryption in ECB with padding off; FF1 only ever
     * runs CIPH forward, for decryption too. */
    EVP_CIPHER_CTX *evp;
};

/* ------------------------------------------------------------- cipher */

static const EVP_CIPHER *pick_cipher(ql__ff1_cipher cipher, size_t key_len)
{
    switch (cipher) {
    case QL__FF1_AES:
        if (key_len == 16) return EVP_aes_128_ecb();
        if (key_len == 24) return EVP_aes_192_ecb();
        if (key_len == 32) return EVP_aes_256_ecb();
        return NULL;
    case QL__FF1_SM4:
#ifndef OPENSSL_NO_SM4
        /* In OpenSSL 3 this is a legacy handle; whether a provider really
         * has SM4 is found out by EVP_EncryptInit_ex, which fails if not. */
        if (key_len == 16) return EVP_sm4_ecb();
#endif
        return NULL;
    }
    return NULL;
}

ql__ff1 *ql__ff1_new(ql__ff1_cipher cipher, const uint8_t *key, size_t key_len)
{
    const EVP_CIPHER *c = pick_cipher(cipher, key_len);
    if (!c || !key)
        return NULL;
    ql__ff1 *ctx = malloc(sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->evp = EVP_CIPHER_CTX_new();
    if (!ctx->evp ||
        EVP_EncryptInit_ex(ctx->evp, c, NULL, key, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx->evp, 0) != 1 ||
        EVP_CIPHER_CTX_block_size(ctx->evp) != (int)BLOCK) {
        EVP_CIPHER_CTX_free(ctx->evp);
        free(ctx);
        return NULL;
    }
    return ctx;
}

void ql__ff1_free(ql__ff1 *ctx)
{
    if (!ctx)
        return;
    /* Freeing the context also wipes the key schedule it holds. */
    EVP_CIPHER_CTX_free(ctx->evp);
    free(ctx);
}

/* CIPH_K on len bytes (a multiple of 16) of independent ECB blocks. */
static int ciph(const ql__ff1 *ctx, const uint8_t *in, uint8_t *out, size_t len)
{
    int outl = 0;
    if (EVP_EncryptUpdate(ctx->evp, out, &outl, in, (int)len) != 1)
        return -1;
    return (size_t)outl == len ? 0 : -1;
}

/* One CBC-MAC step: y = CIPH(y xor blk). */
static int mac_block(const ql__ff1 *ctx, uint8_t y[BLOCK], const uint8_t *blk)
{
    uint8_t x[BLOCK];
    for (unsigned j = 0; j < BLOCK; j++)
        x[j] = y[j] ^ blk[j];
    return ciph(ctx, x, y, BLOCK);
}

/* ------------------------------------------------------------- bignum */

/* How many numerals go into one 32-bit step: the largest k with
 * radix^k <= 2^32 - 1, and that power.  Keeps the 64-bit intermediates
 * in mul_add/div_small below 2^41. */
static unsigned chunk_digits(unsigned radix, uint64_t *pow_out)
{
    uint64_t p = radix;
    unsigned k = 1;
    while (p * radix <= UINT32_MAX) {
        p *= radix;
        k++;
    }
    *pow_out = p;
    return k;
}

/* num[0..len) (big-endian) = num * mul + add.  The caller guarantees the
 * result fits, as FF1 does by sizing b from radix^v. */
static void mul_add(uint8_t *num, size_t len, uint64_t mul, uint64_t add)
{
    uint64_t carry = add;
    for (size_t j = len; j-- > 0;) {
        uint64_t t = (uint64_t)num[j] * mul + carry;
        num[j] = (uint8_t)t;
        carry = t >> 8;
    }
}

/* num[0..len) /= div in place; returns the remainder.  `*start` skips the
 * leading bytes already known to be zero, so repeated division shortens. */
static uint64_t div_small(uint8_t *num, size_t len, size_t *start, uint64_t div)
{
    uint64_t r = 0;
    for (size_t j = *start; j < len; j++) {
        r = (r << 8) | num[j];
        num[j] = (uint8_t)(r / div);
        r %= div;
    }
    while (*start < len && num[*start] == 0)
        (*start)++;
    return r;
}

/* [NUM_radix(x[0..m))]^b: the numerals as a b-byte big-endian integer. */
static void num_radix_bytes(const uint8_t *x, size_t m, unsigned radix,
                            unsigned k, uint8_t *out, size_t b)
{
    memset(out, 0, b);
    for (size_t i = 0; i < m;) {
        size_t take = m - i < k ? m - i : k;
        uint64_t mul = 1, val = 0;
        for (size_t j = 0; j < take; j++, i++) {
            mul *= radix;
            val = val * radix + x[i];
        }
        mul_add(out, b, mul, val);
    }
}

/* digits[0..m) = STR^m_radix(num mod radix^m): the low m base-radix
 * numerals of num, most significant first.  Destroys num. */
static void low_numerals(uint8_t *num, size_t len, unsigned radix, unsigned k,
                         uint64_t radix_k, uint8_t *digits, size_t m)
{
    size_t start = 0, pos = m;
    while (pos > 0) {
        size_t take = pos < k ? pos : k;
        uint64_t div = radix_k;
        if (take < k) {
            div = 1;
            for (size_t j = 0; j < take; j++)
                div *= radix;
        }
        uint64_t r = div_small(num, len, &start, div);
        for (size_t j = 0; j < take; j++) {
            digits[--pos] = (uint8_t)(r % radix);
            r /= radix;
        }
    }
}

/* b = ceil(ceil(v * log2(radix)) / 8), computed exactly as the byte length
 * of radix^v - 1 (whose bit length is ceil(v * log2(radix)) whether or
 * not radix^v is a power of two): floating log2 could be off by one at
 * the powers of two.  radix^v - 1 is NUM_radix of v numerals radix-1. */
static size_t byte_len_b(unsigned radix, unsigned k, size_t v)
{
    uint8_t top[MAX_HALF], p[MAX_B];
    memset(top, (int)(radix - 1), v);
    num_radix_bytes(top, v, radix, k, p, sizeof p);
    size_t lead = 0;
    while (lead < sizeof p && p[lead] == 0)
        lead++;
    return sizeof p - lead;
}

/* ------------------------------------------------------------- FF1 */

size_t ql__ff1_min_length(unsigned radix)
{
    if (radix < MIN_RADIX || radix > MAX_RADIX)
        return 0;
    uint64_t p = 1;
    size_t n = 0;
    while (p < 1000000u) {
        p *= radix;
        n++;
    }
    return n;
}

int ql__ff1_crypt(const ql__ff1 *ctx, int encrypt, unsigned radix,
                  const uint8_t *tweak, size_t tweak_len,
                  const uint8_t *in, uint8_t *out, size_t n)
{
    if (!ctx || !in || !out || (tweak_len && !tweak))
        return -1;
    if (radix < MIN_RADIX || radix > MAX_RADIX)
        return -1;
    if (n < ql__ff1_min_length(radix) || n > MAX_N)
        return -1;
    /* [t]^4 in P: the tweak length must fit in 32 bits. */
    if ((uint64_t)tweak_len > UINT32_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (in[i] >= radix)
            return -1;

    const size_t u = n / 2, v = n - u;
    uint64_t radix_k;
    const unsigned k = chunk_digits(radix, &radix_k);
    const size_t b = byte_len_b(radix, k, v);
    const size_t d = 4 * ((b + 3) / 4) + 4;
    const size_t t = tweak_len;

    /* A, B and the next half rotate through three buffers, so `in` is read
     * once up front and `out` written once at the end: they may alias,
     * and `out` is untouched on failure. */
    uint8_t half[3][MAX_HALF];
    uint8_t *A = half[0], *B = half[1], *C = half[2];
    memcpy(A, in, u);
    memcpy(B, in + u, v);
    size_t la = u, lb = v;      /* current lengths of A and B */

    uint8_t P[BLOCK] = {
        1, 2, 1,
        (uint8_t)(radix >> 16), (uint8_t)(radix >> 8), (uint8_t)radix,
        10, (uint8_t)(u % 256),
        (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n,
        (uint8_t)(t >> 24), (uint8_t)(t >> 16), (uint8_t)(t >> 8), (uint8_t)t,
    };

    /* Q = T || [0]^pad || [i] || [NUM_radix(B)]^b.  Everything before [i]
     * is the same in all ten rounds, so the CBC-MAC over P and the whole
     * blocks of T || [0]^pad is computed once (`pre`); each round only
     * chains the tail: the last partial block of that prefix, [i], and
     * the numeral bytes. */
    const size_t pad = (size_t)((16u - (t + b + 1) % 16u) % 16u);
    const size_t prefix = t + pad;
    const size_t whole = prefix / BLOCK;
    const size_t rest = prefix % BLOCK;
    const size_t tail_len = rest + 1 + b;   /* a multiple of 16 by pad */

    uint8_t pre[BLOCK] = {0};
    uint8_t tail[MAX_TAIL];
    uint8_t S[MAX_S_BLOCKS * BLOCK], Sx[MAX_S_BLOCKS * BLOCK];
    uint8_t y[MAX_D];
    int rc = -1;

    if (mac_block(ctx, pre, P) != 0)
        goto done;
    for (size_t blk = 0; blk < whole; blk++) {
        uint8_t x[BLOCK] = {0};
        size_t off = blk * BLOCK;
        if (off < t)
            memcpy(x, tweak + off, t - off < BLOCK ? t - off : BLOCK);
        if (mac_block(ctx, pre, x) != 0)
            goto done;
    }
    memset(tail, 0, rest);
    if (whole * BLOCK < t)
        memcpy(tail, tweak + whole * BLOCK, t - whole * BLOCK);

    const size_t s_blocks = (d + BLOCK - 1) / BLOCK;

    for (int r = 0; r < 10; r++) {
        /* Decryption runs the rounds backwards with the roles of A and B
         * swapped: Q is built from A, and C = B - y. */
        const int i = encrypt ? r : 9 - r;
        const uint8_t *qsrc = encrypt ? B : A;
        const size_t qlen = encrypt ? lb : la;
        const size_t m = (i % 2 == 0) ? u : v;

        tail[rest] = (uint8_t)i;
        num_radix_bytes(qsrc, qlen, radix, k, tail + rest + 1, b);

        /* R = PRF(P || Q). */
        uint8_t R[BLOCK];
        memcpy(R, pre, BLOCK);
        for (size_t off = 0; off < tail_len; off += BLOCK)
            if (mac_block(ctx, R, tail + off) != 0)
                goto done;

        /* S = R || CIPH(R xor [1]^16) || CIPH(R xor [2]^16) || ..., cut to
         * d bytes; the extra blocks are independent, so one ECB call. */
        memcpy(S, R, BLOCK);
        if (s_blocks > 1) {
            for (size_t j = 1; j < s_blocks; j++) {
                uint8_t *x = Sx + (j - 1) * BLOCK;
                memcpy(x, R, BLOCK);
                /* [j]^16: j < 256 here, so only the last byte changes. */
                x[BLOCK - 1] ^= (uint8_t)j;
            }
            if (ciph(ctx, Sx, S + BLOCK, (s_blocks - 1) * BLOCK) != 0)
                goto done;
        }
        memcpy(y, S, d);

        /* C = STR^m(y mod radix^m) then plus A (encrypt) or taken from B
         * (decrypt), numeral by numeral mod radix^m. */
        low_numerals(y, d, radix, k, radix_k, C, m);
        if (encrypt) {
            unsigned carry = 0;
            for (size_t j = m; j-- > 0;) {
                unsigned s = (unsigned)A[j] + C[j] + carry;
                carry = s >= radix;
                C[j] = (uint8_t)(carry ? s - radix : s);
            }
            uint8_t *old = A;
            A = B; la = lb;
            B = C; lb = m;
            C = old;
        } else {
            unsigned borrow = 0;
            for (size_t j = m; j-- > 0;) {
                unsigned sub = (unsigned)C[j] + borrow;
                borrow = B[j] < sub;
                C[j] = (uint8_t)(borrow ? B[j] + radix - sub : B[j] - sub);
            }
            uint8_t *old = B;
            B = A; lb = la;
            A = C; la = m;
            C = old;
        }
    }

    memcpy(out, A, la);
    memcpy(out + la, B, lb);
    rc = 0;

done:
    /* The halves and the round material are plaintext or derived from it. */
    OPENSSL_cleanse(half, sizeof half);
    OPENSSL_cleanse(tail, sizeof tail);
    OPENSSL_cleanse(S, sizeof S);
    OPENSSL_cleanse(Sx, sizeof Sx);
    OPENSSL_cleanse(y, sizeof y);
    return rc;
}
