/*
 * Fuzz target for the keel.yaml parser. Any input must load or fail with an
 * error, never crash; and a spec that loads must survive the round trip:
 * written as YAML it loads again, and writing that gives the same bytes.
 * JSON output is produced too, so the writer's paths are fuzzed as well.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *write_yaml(const kl_spec *s, size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    if (!fp)
        abort();
    kl_err err = {0};
    if (kl_spec_write_yaml(s, fp, &err) != 0) {
        fprintf(stderr, "fuzz_spec: write_yaml failed: %s\n", err.msg);
        abort();
    }
    fclose(fp);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kl_spec *s = NULL;
    kl_err err = {0};
    if (kl_spec_load_buffer((const char *)data, size, "fuzz.yaml", &s, &err) != 0) {
        if (s || !err.msg[0])
            abort(); /* a failure must leave no spec and say why */
        return 0;
    }
    size_t len1, len2;
    char *y1 = write_yaml(s, &len1);
    kl_spec *again = NULL;
    if (kl_spec_load_buffer(y1, len1, "fuzz-out.yaml", &again, &err) != 0) {
        fprintf(stderr, "fuzz_spec: written spec does not load: %s (%s)\n%s", err.msg, err.ctx, y1);
        abort();
    }
    char *y2 = write_yaml(again, &len2);
    if (len1 != len2 || memcmp(y1, y2, len1)) {
        fprintf(stderr, "fuzz_spec: round trip changed the spec:\n%s---\n%s", y1, y2);
        abort();
    }
    char *json = NULL;
    size_t jlen;
    FILE *fp = open_memstream(&json, &jlen);
    if (!fp || kl_spec_write_json(s, fp, &err) != 0)
        abort();
    fclose(fp);
    free(json);
    free(y1);
    free(y2);
    kl_spec_free(again);
    kl_spec_free(s);
    return 0;
}
