/*
 * Test helpers for the models tests: read a CSV from data/, read the
 * "key value" reference files under tests/fixtures/models/, compare numbers.
 */
#ifndef KEEL_TESTS_MODELS_FIXTURE_H
#define KEEL_TESTS_MODELS_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/csv.h"
#include "keel/frame.h"

static inline kl_frame *fx_csv(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", KEEL_SOURCE_DIR, rel);
    kl_frame *f = NULL;
    kl_err err = {0};
    if (kl_csv_read_file(path, NULL, &f, NULL, &err) != 0) {
        fprintf(stderr, "cannot read %s: %s\n", path, err.msg);
        abort();
    }
    return f;
}

/* Value of key in the fixture file; aborts when missing (a broken fixture). */
static inline double fx_value(const char *file, const char *key)
{
    char path[1024], line[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/models/%s", KEEL_SOURCE_DIR, file);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "cannot open %s\n", path);
        abort();
    }
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, fp)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
            fclose(fp);
            return strtod(line + kl + 1, NULL);
        }
    }
    fclose(fp);
    fprintf(stderr, "no key %s in %s\n", key, path);
    abort();
}

/* |got - want| <= rel * |want|, or |got| <= rel * scale when want is 0. */
static inline int fx_close(double got, double want, double rel, double scale)
{
    if (want == 0)
        return fabs(got) <= rel * scale;
    return fabs(got - want) <= rel * fabs(want);
}

#endif
