/*
 * SHA-256 through OpenSSL's EVP interface. Every content id in keel (data
 * snapshots, frames, models, specs) is a SHA-256, so this must be both right
 * and fast: OpenSSL picks the SHA-NI or AVX2 code path for the machine.
 *
 * OpenSSL 3 looks the algorithm up in its provider tables on every
 * EVP_DigestInit_ex given EVP_sha256(), which takes locks and costs more than
 * hashing a short string. We fetch the algorithm once per process instead
 * and keep it for the life of the process.
 *
 * Invariant: a kl_sha256_ctx holds a live EVP_MD_CTX between a successful
 * kl_sha256_init and kl_sha256_final, and NULL otherwise.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "keel/err.h"
#include "keel/hash.h"
#include "core/common.h"

static pthread_once_t g_md_once = PTHREAD_ONCE_INIT;
static const EVP_MD *g_md;

static void md_fetch(void)
{
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_md = md ? md : EVP_sha256();
}

static const EVP_MD *md_sha256(void)
{
    pthread_once(&g_md_once, md_fetch);
    return g_md;
}

int kl_sha256_init(kl_sha256_ctx *h)
{
    h->ctx = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return KL_ENOMEM;
    if (EVP_DigestInit_ex(ctx, md_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return KL_ENOMEM;
    }
    h->ctx = ctx;
    return 0;
}

void kl_sha256_update(kl_sha256_ctx *h, const void *data, size_t n)
{
    KL_ASSERT(h->ctx);
    if (n == 0)
        return;
    /* SHA-256 updates only copy into the context; they cannot fail. */
    int ok = EVP_DigestUpdate(h->ctx, data, n);
    KL_ASSERT(ok == 1);
}

void kl_sha256_final(kl_sha256_ctx *h, uint8_t out[KL_SHA256_LEN])
{
    KL_ASSERT(h->ctx);
    unsigned int len = 0;
    int ok = EVP_DigestFinal_ex(h->ctx, out, &len);
    KL_ASSERT(ok == 1 && len == KL_SHA256_LEN);
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

int kl_sha256(const void *data, size_t n, uint8_t out[KL_SHA256_LEN])
{
    kl_sha256_ctx h;
    if (kl_sha256_init(&h) < 0) {
        memset(out, 0, KL_SHA256_LEN);
        return KL_ENOMEM;
    }
    kl_sha256_update(&h, data, n);
    kl_sha256_final(&h, out);
    return 0;
}

void kl_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    out[2 * n] = '\0';
}
