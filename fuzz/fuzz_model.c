/*
 * Fuzz target for the model file loader. Any input must load or fail with an
 * error, never crash. Each input is tried twice: as given (which mostly
 * tests the magic, version and checksum gates) and "resealed", its last 32
 * bytes replaced by the SHA-256 of the rest, so that mutations reach the
 * field parser behind the checksum. A model that loads must describe
 * itself, and save -> load -> save must give the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keel/hash.h"
#include "keel/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void try_load(const uint8_t *data, size_t size)
{
    kl_model *m = NULL;
    kl_err err = {0};
    if (kl_model_load_buffer(data, size, &m, &err) != 0) {
        if (m || !err.msg[0])
            abort(); /* a failure must leave no model and say why */
        return;
    }
    json_t *d = kl_model_describe(m);
    if (!d)
        abort();
    json_decref(d);
    uint8_t *b1, *b2;
    size_t l1, l2;
    kl_model *r = NULL;
    if (kl_model_save_buffer(m, &b1, &l1, &err) != 0 ||
        kl_model_load_buffer(b1, l1, &r, &err) != 0 || kl_model_save_buffer(r, &b2, &l2, &err) != 0)
        abort();
    if (l1 != l2 || memcmp(b1, b2, l1) != 0)
        abort();
    free(b1);
    free(b2);
    kl_model_free(r);
    kl_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_load(data, size);
    if (size >= 44) {
        uint8_t *c = malloc(size);
        if (!c)
            return 0;
        memcpy(c, data, size);
        if (kl_sha256(c, size - 32, c + size - 32) == 0)
            try_load(c, size);
        free(c);
    }
    return 0;
}
