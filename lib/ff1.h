/*
 * ff1.h — NIST SP 800-38G FF1 format-preserving encryption.
 *
 * FF1 encrypts a string of numerals in base `radix` (2..62) to another
 * string of the same length and radix, under a key and an optional tweak.
 * The block cipher is AES-128/192/256 (by key length 16/24/32) or SM4
 * (16-byte key, GB/T 32907) for users who must use the Chinese national
 * algorithms; both come from OpenSSL's libcrypto (EVP, ECB on one block as
 * the CIPH function of the standard).
 *
 * Numerals are values 0..radix-1 (not characters): the caller maps its
 * alphabet.  Length limits follow SP 800-38G Rev. 1: radix^n >= 1 000 000
 * (minimum length) and n <= 2^32 (we cap at 256 numerals).
 *
 * A context is keyed once and holds one OpenSSL cipher context that every
 * call writes to, so it may be used by one thread at a time (one context
 * per thread, or a lock).  The code is not constant-time.  Algorithm,
 * limits and test vectors: docs/ff1.md.
 */
#ifndef QL_FF1_H
#define QL_FF1_H

#include <stddef.h>
#include <stdint.h>

typedef enum ql__ff1_cipher {
    QL__FF1_AES = 0,   /* key of 16, 24 or 32 bytes */
    QL__FF1_SM4        /* key of 16 bytes */
} ql__ff1_cipher;

typedef struct ql__ff1 ql__ff1;   /* opaque: holds the expanded key */

/* Creates an FF1 context.  Returns NULL on a bad key length, a NULL key,
 * an unknown cipher, no memory, or (SM4) an OpenSSL without SM4.  The
 * key bytes are not kept; the expanded key is wiped by ql__ff1_free. */
ql__ff1 *ql__ff1_new(ql__ff1_cipher cipher, const uint8_t *key, size_t key_len);
void     ql__ff1_free(ql__ff1 *ctx);

/* Encrypts (encrypt != 0) or decrypts (0) n numerals in[0..n) of base
 * radix into out[0..n) (may alias in).  tweak may be NULL when tweak_len
 * is 0; any tweak length up to 2^32 - 1 bytes is accepted.  Returns 0 on
 * success, -1 on bad arguments (NULL ctx/in/out, radix outside 2..62,
 * n below the minimum length for radix or above 256, a numeral >= radix,
 * a NULL tweak with a length) or a cipher failure; out is written only on
 * success.  Allocates nothing. */
int ql__ff1_crypt(const ql__ff1 *ctx, int encrypt, unsigned radix,
                  const uint8_t *tweak, size_t tweak_len,
                  const uint8_t *in, uint8_t *out, size_t n);

/* Minimum numeral count for radix (the smallest n with radix^n >=
 * 1 000 000: 20 for radix 2, 6 for 10, 4 for 36 and 62); 0 for a radix
 * outside 2..62, which no length makes valid. */
size_t ql__ff1_min_length(unsigned radix);

#endif
