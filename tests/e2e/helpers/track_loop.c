/*
 * keel_track_loop: a small tracked run through the library, for the store
 * tests until `keel train` exists (tests/storecli.cmake builds it).
 *
 *     keel_track_loop DIR [-n VALUES] [-k KEYS] [--name NAME] [--parent ID]
 *                     [--snapshot ID] [--param KEY=VALUE]... [--tag KEY=VALUE]...
 *                     [--artifact FILE] [--status finished|failed|killed]
 *
 * Starts a run in DIR's store, logs the parameters and tags, then VALUES
 * values of each of KEYS metrics (m0, m1, ...; value of step i is i * 0.5 +
 * key index), stores FILE as an object and logs it as artifact "file", ends
 * the run and prints its id. Exit 0, or 3 with the error on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/store.h"
#include "keel/track.h"

static int fail(const kl_err *err)
{
    fprintf(stderr, "keel_track_loop: %s (%s)\n", err->msg, err->ctx);
    return 3;
}

static int kv(const char *arg, char *key, size_t n, const char **value)
{
    const char *eq = strchr(arg, '=');
    if (!eq || (size_t)(eq - arg) >= n)
        return -1;
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    *value = eq + 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: keel_track_loop DIR [options]\n");
        return 2;
    }
    long values = 1000, keys = 1;
    kl_run_opts ro = {0};
    const char *artifact = NULL, *status = "finished";
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "keel_track_loop: option %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "-n") == 0)
            values = strtol(v, NULL, 10);
        else if (strcmp(a, "-k") == 0)
            keys = strtol(v, NULL, 10);
        else if (strcmp(a, "--name") == 0)
            ro.name = v;
        else if (strcmp(a, "--parent") == 0)
            ro.parent = v;
        else if (strcmp(a, "--snapshot") == 0)
            ro.snapshot = v;
        else if (strcmp(a, "--artifact") == 0)
            artifact = v;
        else if (strcmp(a, "--status") == 0)
            status = v;
        else if (strcmp(a, "--param") != 0 && strcmp(a, "--tag") != 0) {
            fprintf(stderr, "keel_track_loop: unknown option %s\n", a);
            return 2;
        }
    }
    kl_err err = {0};
    kl_store *s = NULL;
    kl_run *r = NULL;
    if (kl_store_open(argv[1], NULL, &s, &err) < 0)
        return fail(&err);
    ro.seed = 42;
    ro.has_seed = 1;
    if (kl_run_start(s, &ro, &r, &err) < 0)
        return fail(&err);
    for (int i = 2; i + 1 < argc; i += 2) {
        char key[256];
        const char *value;
        int is_param = strcmp(argv[i], "--param") == 0, is_tag = strcmp(argv[i], "--tag") == 0;
        if (!is_param && !is_tag)
            continue;
        if (kv(argv[i + 1], key, sizeof key, &value) < 0) {
            fprintf(stderr, "keel_track_loop: %s takes KEY=VALUE\n", argv[i]);
            return 2;
        }
        if ((is_param ? kl_run_log_param(r, key, value, &err) : kl_run_set_tag(r, key, value, &err)) <
            0)
            return fail(&err);
    }
    for (long i = 0; i < values; i++)
        for (long k = 0; k < keys; k++) {
            char key[32];
            snprintf(key, sizeof key, "m%ld", k);
            if (kl_run_log_metric(r, key, (double)i * 0.5 + (double)k, i, &err) < 0)
                return fail(&err);
        }
    if (artifact) {
        FILE *f = fopen(artifact, "rb");
        char id[KL_ID_LEN];
        if (!f) {
            fprintf(stderr, "keel_track_loop: cannot open %s\n", artifact);
            return 3;
        }
        int rc = kl_store_put_file(s, f, id, &err);
        fclose(f);
        if (rc < 0 || kl_run_log_artifact(r, "file", id, "report", &err) < 0)
            return fail(&err);
    }
    enum kl_run_status st = strcmp(status, "failed") == 0   ? KL_RUN_STATUS_FAILED
                            : strcmp(status, "killed") == 0 ? KL_RUN_STATUS_KILLED
                                                            : KL_RUN_STATUS_FINISHED;
    char id[KL_ID_LEN];
    snprintf(id, sizeof id, "%s", kl_run_id(r));
    if (kl_run_end(r, st, &err) < 0)
        return fail(&err);
    kl_store_close(s);
    printf("%s\n", id);
    return 0;
}
