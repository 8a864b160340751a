/*
 * SHA-256 (OpenSSL libcrypto) behind a small streaming interface, and hex
 * helpers. Every content id in keel is a SHA-256.
 *
 * Ownership: a kl_sha256_ctx lives on the caller's stack; kl_sha256_init
 * allocates its OpenSSL context and kl_sha256_final releases it, so every
 * successful init must be followed by exactly one final.
 */
#ifndef KEEL_HASH_H
#define KEEL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define KL_SHA256_LEN 32
#define KL_SHA256_HEX_LEN 64

typedef struct kl_sha256_ctx {
    void *ctx; /* EVP_MD_CTX */
} kl_sha256_ctx;

/* Start a digest. Returns 0, or KL_ENOMEM (h is then left unusable). */
int kl_sha256_init(kl_sha256_ctx *h);
/* Add n bytes (n may be 0) to the digest. */
void kl_sha256_update(kl_sha256_ctx *h, const void *data, size_t n);
/* Writes the digest and releases h. */
void kl_sha256_final(kl_sha256_ctx *h, uint8_t out[KL_SHA256_LEN]);
/* One-shot digest of n bytes. Returns 0, or KL_ENOMEM (out is then zeroed). */
int kl_sha256(const void *data, size_t n, uint8_t out[KL_SHA256_LEN]);
/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void kl_hex(const uint8_t *bytes, size_t n, char *out);

#endif
