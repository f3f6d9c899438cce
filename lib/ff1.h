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

/* Creates an FF1 context.  Returns NULL on a bad key length or no memory. */
ql__ff1 *ql__ff1_new(ql__ff1_cipher cipher, const uint8_t *key, size_t key_len);
void     ql__ff1_free(ql__ff1 *ctx);

/* Encrypts (encrypt = 1) or decrypts (0) n numerals in[0..n) of base
 * radix into out[0..n) (may alias in).  tweak may be NULL when tweak_len
 * is 0.  Returns 0 on success, -1 on bad arguments (radix outside 2..62,
 * n below the minimum length for radix or above 256, a numeral >= radix)
 * or a cipher failure. */
int ql__ff1_crypt(const ql__ff1 *ctx, int encrypt, unsigned radix,
                  const uint8_t *tweak, size_t tweak_len,
                  const uint8_t *in, uint8_t *out, size_t n);

/* Minimum numeral count for radix (radix^n >= 1 000 000). */
size_t ql__ff1_min_length(unsigned radix);

#endif
