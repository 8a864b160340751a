/*
 * Fuzz target for the PII value detectors: arbitrary bytes as a cell or as
 * free text, with every context hint. Matches must lie inside the input and
 * not overlap out of order; the validators must accept or refuse any bytes
 * without reading past them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "keel/pii.h"
#include "core/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    kl_pii_match m[64];
    for (unsigned hint = 0; hint < 4; hint++) {
        unsigned h = hint == 0 ? 0u : hint == 1 ? ~0u : (1u << (size % 16));
        size_t n = kl_pii_find(s, size, h, m, 64);
        for (size_t i = 0; i < n && i < 64; i++)
            if (m[i].start >= m[i].end || m[i].end > size || m[i].score < 0 || m[i].score > 1 ||
                (i > 0 && m[i].start < m[i - 1].end))
                abort();
    }
    (void)kl_pii_luhn_ok(s, size);
    (void)kl_pii_card_ok(s, size);
    (void)kl_pii_iban_ok(s, size);
    (void)kl_pii_ssn_ok(s, size);
    (void)kl_pii_ipv4_ok(s, size);
    (void)kl_pii_ipv6_ok(s, size);
    (void)kl_pii_email_ok(s, size);
    return 0;
}
