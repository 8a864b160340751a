/*
 * The model file: writing and reading the layout documented at the top of
 * include/keel/model.h (and in docs/FORMATS.md).
 *
 * Invariants: the writer emits only what the model holds (no time, host,
 * path or run id), fields in a fixed order, so equal models give equal
 * bytes. The reader trusts nothing: it checks the magic and version first
 * (so a newer file says "newer", not "corrupt"), then the checksum over the
 * whole file, then reads every field through a bounds-checked kl_rbuf and
 * validates it (counts against the bytes left, parameters through the same
 * validation as kl_model_fit), and requires the file to end exactly at the
 * checksum. A file that fails any check is KL_ECORRUPT, never a crash.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keel/hash.h"
#include "keel/model.h"

#include "models/model_internal.h"

#include "core/common.h"

#define MAX_STR 65536
#define MAX_CLASSES 100000u
#define MAX_META 4096u

int kl_model_save_buffer(const kl_model *m, uint8_t **buf, size_t *len, kl_err *err)
{
    kl_wbuf w;
    uint8_t *pb = NULL, sum[32];
    size_t pl = 0;
    int rc = kl_pipeline_save(m->pipe, &pb, &pl, err);
    if (rc < 0)
        return rc;
    kl_wbuf_init(&w);
    kl_wbuf_bytes(&w, KL_MODEL_MAGIC, 8);
    kl_wbuf_u32(&w, KL_MODEL_FORMAT_VERSION);
    kl_wbuf_str(&w, m->algo->name);
    kl_wbuf_u32(&w, (uint32_t)m->task);
    kl_wbuf_str(&w, m->target);
    kl_wbuf_u32(&w, (uint32_t)m->n_classes);
    for (size_t k = 0; k < m->n_classes; k++)
        kl_wbuf_str(&w, m->classes[k]);
    kl_wbuf_u32(&w, (uint32_t)m->algo->n_params);
    for (size_t i = 0; i < m->algo->n_params; i++) {
        kl_wbuf_str(&w, m->algo->params[i].name);
        kl_wbuf_str(&w, m->ptext[i]);
    }
    kl_wbuf_u32(&w, (uint32_t)m->n_meta);
    for (size_t i = 0; i < m->n_meta; i++) {
        kl_wbuf_str(&w, m->meta_key[i]);
        kl_wbuf_str(&w, m->meta_val[i]);
    }
    kl_wbuf_bytes(&w, m->schema, 32);
    kl_wbuf_u64(&w, pl);
    kl_wbuf_bytes(&w, pb, pl);
    free(pb);
    size_t at = w.len;
    kl_wbuf_u64(&w, 0); /* payload length, patched below */
    rc = m->algo->save(m->state, &w);
    if (rc == 0 && w.ok) {
        uint64_t payload = w.len - at - 8;
        for (int i = 0; i < 8; i++)
            w.data[at + (size_t)i] = (uint8_t)(payload >> (8 * i));
        if (kl_sha256(w.data, w.len, sum) < 0)
            w.ok = 0;
        kl_wbuf_bytes(&w, sum, 32);
    }
    if (rc < 0 || !w.ok) {
        kl_wbuf_release(&w);
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    }
    *buf = w.data;
    *len = w.len;
    return 0;
}

static int corrupt(kl_err *err, const char *what)
{
    return kl_err_set(err, KL_ECORRUPT, "model file is corrupt: %s", what);
}

int kl_model_load_buffer(const uint8_t *buf, size_t len, kl_model **out, kl_err *err)
{
    *out = NULL;
    if (len < 12 || memcmp(buf, KL_MODEL_MAGIC, 8) != 0)
        return kl_err_set(err, KL_ECORRUPT, "not a keel model file (bad magic)");
    uint32_t ver = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 | (uint32_t)buf[10] << 16 |
                   (uint32_t)buf[11] << 24;
    if (ver > KL_MODEL_FORMAT_VERSION)
        return kl_err_set(err, KL_EUNSUPPORTED,
                          "model file format version %u is newer than this keel reads (%u)", ver,
                          KL_MODEL_FORMAT_VERSION);
    if (ver == 0)
        return corrupt(err, "format version 0");
    if (len < 12 + 32)
        return corrupt(err, "truncated");
    uint8_t sum[32];
    if (kl_sha256(buf, len - 32, sum) < 0)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    if (memcmp(sum, buf + len - 32, 32) != 0)
        return kl_err_set(err, KL_ECORRUPT, "model file checksum mismatch (truncated or altered)");

    kl_rbuf r;
    kl_rbuf_init(&r, buf, len - 32);
    kl_rbuf_bytes(&r, 12);
    kl_model *m = calloc(1, sizeof *m);
    char *algo = NULL;
    char *keys[KL_MODEL_MAX_PARAMS] = {0}, *vals[KL_MODEL_MAX_PARAMS] = {0};
    uint32_t np = 0;
    int rc = 0;
    if (!m)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    algo = kl_rbuf_str(&r, MAX_STR);
    if (!r.ok) {
        rc = corrupt(err, "truncated header");
        goto done;
    }
    if (!(m->algo = kl_algo_find(algo))) {
        rc = kl_err_set(err, KL_EUNSUPPORTED,
                        "model file uses algorithm '%s', which this keel "
                        "does not have",
                        algo);
        goto done;
    }
    uint32_t task = kl_rbuf_u32(&r);
    m->task = (enum kl_task)task;
    m->target = kl_rbuf_str(&r, MAX_STR);
    uint32_t K = kl_rbuf_count(&r, MAX_CLASSES, 4);
    if (r.ok && task > KL_TASK_FORECAST) {
        rc = corrupt(err, "unknown task");
        goto done;
    }
    if (r.ok && ((task == KL_TASK_CLASSIFICATION) != (K >= 2) || K == 1)) {
        rc = corrupt(err, "class count does not fit the task");
        goto done;
    }
    if (r.ok && !(m->algo->tasks & (1u << task))) {
        rc = corrupt(err, "task the algorithm does not do");
        goto done;
    }
    if (r.ok && K && !(m->classes = calloc(K, sizeof(char *)))) {
        rc = kl_err_set(err, KL_ENOMEM, "out of memory");
        goto done;
    }
    for (uint32_t k = 0; r.ok && k < K; k++) {
        m->classes[k] = kl_rbuf_str(&r, MAX_STR);
        m->n_classes = k + 1;
    }
    np = kl_rbuf_count(&r, KL_MODEL_MAX_PARAMS, 8);
    for (uint32_t i = 0; r.ok && i < np; i++) {
        keys[i] = kl_rbuf_str(&r, MAX_STR);
        vals[i] = kl_rbuf_str(&r, MAX_STR);
    }
    if (!r.ok) {
        rc = corrupt(err, "truncated header");
        goto done;
    }
    /* the file must hold exactly the algorithm's parameters, in table order */
    if (np != m->algo->n_params) {
        rc = corrupt(err, "parameter list does not fit the algorithm");
        goto done;
    }
    kl_model_param params[KL_MODEL_MAX_PARAMS];
    for (uint32_t i = 0; i < np; i++) {
        if (strcmp(keys[i], m->algo->params[i].name) != 0) {
            rc = corrupt(err, "parameter list does not fit the algorithm");
            goto done;
        }
        params[i].key = keys[i];
        params[i].value = vals[i];
    }
    if ((rc = kl__params_resolve(m->algo, params, np, m->pv, m->ptext, err)) < 0) {
        rc = corrupt(err, "invalid parameter value");
        goto done;
    }
    uint32_t nm = kl_rbuf_count(&r, MAX_META, 8);
    for (uint32_t i = 0; r.ok && i < nm; i++) {
        char *k = kl_rbuf_str(&r, MAX_STR), *v = kl_rbuf_str(&r, MAX_STR);
        if (r.ok && ((m->n_meta && strcmp(m->meta_key[m->n_meta - 1], k) >= 0) ||
                     kl_model_set_meta(m, k, v, err) < 0))
            r.ok = 0;
        free(k);
        free(v);
    }
    const uint8_t *schema = kl_rbuf_bytes(&r, 32);
    if (schema)
        memcpy(m->schema, schema, 32);
    uint64_t pl = kl_rbuf_u64(&r);
    if (!r.ok || pl > r.len - r.pos) {
        rc = corrupt(err, "truncated or unsorted metadata, or bad pipeline length");
        goto done;
    }
    const uint8_t *pb = kl_rbuf_bytes(&r, (size_t)pl);
    if ((rc = kl_pipeline_load(pb, (size_t)pl, &m->pipe, err)) < 0)
        goto done;
    uint64_t al = kl_rbuf_u64(&r);
    if (!r.ok || al != r.len - r.pos) {
        rc = corrupt(err, "payload length does not match the file");
        goto done;
    }
    kl_rbuf pr;
    kl_rbuf_init(&pr, kl_rbuf_bytes(&r, (size_t)al), (size_t)al);
    kl_err lerr = {0};
    if ((rc = m->algo->load(&pr, m->pv, &m->state, &lerr)) < 0) {
        if (rc == KL_ENOMEM)
            kl_err_set(err, KL_ENOMEM, "out of memory");
        else
            corrupt(err, lerr.msg[0] ? lerr.msg : "bad payload");
        rc = err ? err->code : rc;
        if (!err)
            rc = KL_ECORRUPT;
        goto done;
    }
    if (!kl_rbuf_done(&pr)) {
        rc = corrupt(err, "payload has trailing bytes");
        goto done;
    }
    /* the payload must fit the pipeline and classes it is used with */
    size_t no, nf;
    const double *ic, *co;
    if (m->algo->linear_coef && m->algo->linear_coef(m->state, &no, &nf, &ic, &co) == 0 &&
        (nf != kl_pipeline_n_outputs(m->pipe) ||
         (task == KL_TASK_CLASSIFICATION ? no != (K == 2 ? 1 : K) : no != 1))) {
        rc = corrupt(err, "coefficients do not fit the pipeline or classes");
        goto done;
    }
done:
    free(algo);
    for (uint32_t i = 0; i < KL_MODEL_MAX_PARAMS; i++) {
        free(keys[i]);
        free(vals[i]);
    }
    if (rc < 0) {
        kl_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

int kl_model_save_file(const kl_model *m, const char *path, kl_err *err)
{
    uint8_t *buf;
    size_t len;
    int rc = kl_model_save_buffer(m, &buf, &len, err);
    if (rc < 0)
        return rc;
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        free(buf);
        kl_err_set(err, KL_EINVAL, "path too long");
        return kl_err_ctx(err, "%.200s", path);
    }
    FILE *fp = fopen(tmp, "wb");
    int ok = fp && fwrite(buf, 1, len, fp) == len;
    ok = fp && fflush(fp) == 0 && fsync(fileno(fp)) == 0 && ok;
    int e = errno;
    if (fp && fclose(fp) != 0)
        ok = 0;
    free(buf);
    if (!ok || rename(tmp, path) != 0) {
        e = ok ? errno : e;
        unlink(tmp);
        kl_err_set(err, KL_EIO, "cannot write model file: %s", strerror(e));
        return kl_err_ctx(err, "%s", path);
    }
    return 0;
}

int kl_model_load_file(const char *path, kl_model **out, kl_err *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        kl_err_set(err, errno == ENOENT ? KL_ENOTFOUND : KL_EIO, "cannot open model file: %s",
                   strerror(errno));
        return kl_err_ctx(err, "%s", path);
    }
    size_t cap = 1 << 16, len = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *nb = cap < ((size_t)1 << 40) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int rerr = ferror(fp);
    fclose(fp);
    if (!buf)
        return kl_err_set(err, KL_ENOMEM, "out of memory");
    if (rerr) {
        free(buf);
        kl_err_set(err, KL_EIO, "cannot read model file");
        return kl_err_ctx(err, "%s", path);
    }
    int rc = kl_model_load_buffer(buf, len, out, err);
    free(buf);
    if (rc < 0)
        kl_err_ctx(err, "%s", path);
    return rc;
}
