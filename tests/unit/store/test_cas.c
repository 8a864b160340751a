/*
 * The object store: round trips of small and multi-megabyte objects, ids that
 * equal the published SHA-256 test vectors (FIPS 180-2 "abc", the empty
 * string), and damage of every kind (flipped bytes, truncation, trailing
 * bytes, a file under the wrong name) reported as KL_ECORRUPT and never
 * returned as data.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "keel/hash.h"
#include "keel/store.h"

static const char abc_sha256[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char empty_sha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

typedef struct fx {
    char dir[64];
    kl_store *s;
} fx;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/keel-cas-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    kl_err err = {0};
    /* Objects do not depend on the metadata backend; use the default SQLite. */
    unsetenv("KEEL_STORE");
    if (kl_store_open(f->dir, NULL, &f->s, &err) < 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    kl_store_close(f->s);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void obj_path(fx *f, const char *id, char *buf, size_t n)
{
    kl_err err = {0};
    assert_int_equal(kl_store_object_path(f->s, id, buf, n, &err), 0);
}

/* Path of object id, made writable so a test can damage it. */
static void obj_path_rw(fx *f, const char *id, char *buf, size_t n)
{
    obj_path(f, id, buf, n);
    assert_int_equal(chmod(buf, 0644), 0);
}

static int count_cb(const char *id, uint64_t size, void *ud)
{
    (void)id;
    (void)size;
    (*(int *)ud)++;
    return 0;
}

static int object_count(fx *f)
{
    int n = 0;
    kl_err err = {0};
    assert_int_equal(kl_store_object_each(f->s, count_cb, &n, &err), 0);
    return n;
}

static int tmp_count(fx *f)
{
    char path[256];
    snprintf(path, sizeof path, "%s/.keel/objects/tmp", f->dir);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static void test_cas_id_is_published_sha256_of_abc(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    char id[KL_ID_LEN];
    assert_int_equal(kl_store_put(f->s, "abc", 3, id, &err), 0);
    assert_string_equal(id, abc_sha256);
    assert_true(kl_store_has(f->s, abc_sha256));
    void *data;
    size_t n;
    assert_int_equal(kl_store_get(f->s, id, 0, &data, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(data, "abc", 3);
    free(data);
    char path[512];
    obj_path(f, id, path, sizeof path);
    char want[512];
    snprintf(want, sizeof want, "%s/.keel/objects/ba/%s", f->dir, abc_sha256 + 2);
    assert_string_equal(path, want);
}

static void test_cas_empty_object_round_trips(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    char id[KL_ID_LEN];
    assert_int_equal(kl_store_put(f->s, "", 0, id, &err), 0);
    assert_string_equal(id, empty_sha256);
    void *data;
    size_t n = 99;
    assert_int_equal(kl_store_get(f->s, id, 0, &data, &n, &err), 0);
    assert_int_equal(n, 0);
    free(data);
}

static void test_cas_header_holds_magic_version_and_size(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    char id[KL_ID_LEN];
    assert_int_equal(kl_store_put(f->s, "abc", 3, id, &err), 0);
    char path[512];
    obj_path(f, id, path, sizeof path);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char h[20];
    assert_int_equal(fread(h, 1, sizeof h, fp), sizeof h);
    fclose(fp);
    assert_memory_equal(h, "KLOB", 4);
    assert_int_equal(h[4], 1);
    assert_int_equal(h[5], 1);
    assert_int_equal(h[8], 3);
    for (int i = 9; i < 16; i++)
        assert_int_equal(h[i], 0);
    /* A zstd frame starts with its magic number 0xFD2FB528, little-endian. */
    assert_int_equal(h[16], 0x28);
    assert_int_equal(h[17], 0xb5);
    assert_int_equal(h[18], 0x2f);
    assert_int_equal(h[19], 0xfd);
}

/* Deterministic bytes that compress somewhat (repeats) but not trivially. */
static void gen(uint8_t *p, size_t n, uint64_t *x)
{
    for (size_t i = 0; i < n; i++) {
        *x = *x * 6364136223846793005u + 1442695040888963407u;
        p[i] = (uint8_t)((*x >> 60) + 'a');
    }
}

static void test_cas_multi_megabyte_object_streams_both_ways(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    enum { TOTAL = 9 * 1024 * 1024 + 17 };
    uint8_t *chunk = malloc(100003);
    kl_sha256_ctx h;
    assert_int_equal(kl_sha256_init(&h), 0);
    kl_store_writer *w;
    assert_int_equal(kl_store_put_begin(f->s, &w, &err), 0);
    uint64_t x = 42;
    size_t done = 0;
    while (done < TOTAL) {
        size_t n = TOTAL - done < 100003 ? TOTAL - done : 100003;
        gen(chunk, n, &x);
        kl_sha256_update(&h, chunk, n);
        assert_int_equal(kl_store_put_write(w, chunk, n, &err), 0);
        done += n;
    }
    uint8_t digest[KL_SHA256_LEN];
    char want[KL_ID_LEN], id[KL_ID_LEN];
    kl_sha256_final(&h, digest);
    kl_hex(digest, KL_SHA256_LEN, want);
    assert_int_equal(kl_store_put_commit(w, id, &err), 0);
    assert_string_equal(id, want);

    /* The stored file is compressed: smaller than the data. */
    char path[512];
    obj_path(f, id, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size < TOTAL);
    assert_int_equal(st.st_mode & 0777, 0444);

    kl_store_reader *r;
    assert_int_equal(kl_store_get_open(f->s, id, &r, &err), 0);
    assert_int_equal(kl_store_get_size(r), TOTAL);
    uint8_t *expect = malloc(65536);
    uint8_t *buf = malloc(65536);
    x = 42;
    size_t seen = 0, got;
    for (;;) {
        assert_int_equal(kl_store_get_read(r, buf, 65536, &got, &err), 0);
        if (got == 0)
            break;
        gen(expect, got, &x);
        assert_memory_equal(buf, expect, got);
        seen += got;
    }
    assert_int_equal(seen, TOTAL);
    kl_store_get_close(r);
    assert_int_equal(kl_store_verify(f->s, id, &err), 0);
    free(chunk);
    free(expect);
    free(buf);
}

/* Reading a byte at a time drains zstd's internal buffer across many calls. */
static void test_cas_one_byte_reads_return_every_byte(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    enum { N = 300000 };
    uint8_t *data = malloc(N);
    uint64_t x = 5;
    gen(data, N, &x);
    char id[KL_ID_LEN];
    assert_int_equal(kl_store_put(f->s, data, N, id, &err), 0);
    kl_store_reader *r;
    assert_int_equal(kl_store_get_open(f->s, id, &r, &err), 0);
    size_t off = 0, got;
    uint8_t b;
    for (;;) {
        assert_int_equal(kl_store_get_read(r, &b, 1, &got, &err), 0);
        if (got == 0)
            break;
        assert_true(off < N);
        assert_int_equal(b, data[off]);
        off++;
    }
    assert_int_equal(off, N);
    kl_store_get_close(r);
    free(data);
}

static void test_cas_put_fd_matches_put_of_same_bytes(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    char path[256];
    snprintf(path, sizeof path, "%s/input.bin", f->dir);
    uint8_t data[300000];
    uint64_t x = 7;
    gen(data, sizeof data, &x);
    FILE *fp = fopen(path, "wb");
    fwrite(data, 1, sizeof data, fp);
    fclose(fp);
    char id1[KL_ID_LEN], id2[KL_ID_LEN], id3[KL_ID_LEN];
    int fd = open(path, O_RDONLY);
    assert_int_equal(kl_store_put_fd(f->s, fd, id1, &err), 0);
    close(fd);
    fp = fopen(path, "rb");
    assert_int_equal(kl_store_put_file(f->s, fp, id2, &err), 0);
    fclose(fp);
    assert_int_equal(kl_store_put(f->s, data, sizeof data, id3, &err), 0);
    assert_string_equal(id1, id2);
    assert_string_equal(id1, id3);
    assert_int_equal(object_count(f), 1);
    assert_int_equal(tmp_count(f), 0);
}

static void test_cas_put_of_existing_object_leaves_file_alone(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    char id[KL_ID_LEN], id2[KL_ID_LEN];
    assert_int_equal(kl_store_put(f->s, "hello", 5, id, &err), 0);
    char path[512];
    obj_path(f, id, path, sizeof path);
    struct stat a, b;
    assert_int_equal(stat(path, &a), 0);
    assert_int_equal(kl_store_put(f->s, "hello", 5, id2, &err), 0);
    kl_store_writer *w;
    assert_int_equal(kl_store_put_begin(f->s, &w, &err), 0);
    assert_int_equal(kl_store_put_write(w, "hel", 3, &err), 0);
    assert_int_equal(kl_store_put_write(w, "lo", 2, &err), 0);
    assert_int_equal(kl_store_put_commit(w, id2, &err), 0);
    assert_string_equal(id, id2);
    assert_int_equal(stat(path, &b), 0);
    assert_int_equal(a.st_ino, b.st_ino);
    assert_int_equal(object_count(f), 1);
    assert_int_equal(tmp_count(f), 0);
}

static void test_cas_temp_files_are_never_listed_as_objects(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    kl_store_writer *w;
    assert_int_equal(kl_store_put_begin(f->s, &w, &err), 0);
    assert_int_equal(kl_store_put_write(w, "partial", 7, &err), 0);
    assert_int_equal(tmp_count(f), 1);
    assert_int_equal(object_count(f), 0);
    kl_store_put_abort(w);
    assert_int_equal(tmp_count(f), 0);
    /* An orphan left by a crashed writer, and stray names, stay invisible. */
    char path[512];
    snprintf(path, sizeof path, "%s/.keel/objects/tmp/obj-crashed", f->dir);
    FILE *fp = fopen(path, "w");
    fputs("junk", fp);
    fclose(fp);
    snprintf(path, sizeof path, "%s/.keel/objects/ab", f->dir);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/.keel/objects/ab/not-an-object", f->dir);
    fp = fopen(path, "w");
    fclose(fp);
    assert_int_equal(object_count(f), 0);
    char id[KL_ID_LEN];
    assert_int_equal(kl_store_put(f->s, "x", 1, id, &err), 0);
    assert_int_equal(object_count(f), 1);
}

static void test_cas_tmp_sweep_removes_only_old_files(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    char old_path[256], new_path[256];
    snprintf(old_path, sizeof old_path, "%s/.keel/objects/tmp/obj-old", f->dir);
    snprintf(new_path, sizeof new_path, "%s/.keel/objects/tmp/obj-new", f->dir);
    fclose(fopen(old_path, "w"));
    fclose(fopen(new_path, "w"));
    struct timespec times[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
    assert_int_equal(utimensat(AT_FDCWD, old_path, times, 0), 0);
    kl_store_writer *w; /* a live writer's file is new too */
    assert_int_equal(kl_store_put_begin(f->s, &w, &err), 0);
    uint64_t removed = 99;
    assert_int_equal(kl_store_tmp_sweep(f->s, 3600, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(access(old_path, F_OK), -1);
    assert_int_equal(access(new_path, F_OK), 0);
    assert_int_equal(tmp_count(f), 2);
    char id[KL_ID_LEN];
    assert_int_equal(kl_store_put_write(w, "abc", 3, &err), 0);
    assert_int_equal(kl_store_put_commit(w, id, &err), 0);
    assert_string_equal(id, abc_sha256);
    assert_int_equal(kl_store_tmp_sweep(f->s, 0, &removed, &err), 0);
    assert_int_equal(removed, 1);
    assert_int_equal(tmp_count(f), 0);
}

/* Rewrite byte off of object id's file with f(byte). */
static void damage(fx *f, const char *id, long off, int xor_mask)
{
    char path[512];
    obj_path_rw(f, id, path, sizeof path);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    if (off < 0) {
        fseek(fp, 0, SEEK_END);
        off += ftell(fp);
    }
    fseek(fp, off, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, off, SEEK_SET);
    fputc(c ^ xor_mask, fp);
    fclose(fp);
}

static void put_text(fx *f, char id[KL_ID_LEN], size_t n)
{
    kl_err err = {0};
    uint8_t *data = malloc(n);
    uint64_t x = n;
    gen(data, n, &x);
    assert_int_equal(kl_store_put(f->s, data, n, id, &err), 0);
    free(data);
}

static void expect_corrupt(fx *f, const char *id)
{
    kl_err err = {0};
    void *data = (void *)1;
    size_t n = 1;
    assert_int_equal(kl_store_get(f->s, id, 0, &data, &n, &err), KL_ECORRUPT);
    assert_null(data);
    assert_int_equal(n, 0);
    assert_int_equal(err.code, KL_ECORRUPT);
    assert_non_null(strstr(err.msg, "corrupt"));
    assert_int_equal(kl_store_verify(f->s, id, &err), KL_ECORRUPT);
}

static void test_cas_flipped_payload_byte_is_corrupt(void **state)
{
    fx *f = *state;
    char id[KL_ID_LEN];
    put_text(f, id, 50000);
    damage(f, id, -5, 0x01);
    expect_corrupt(f, id);
}

static void test_cas_flipped_size_byte_is_corrupt(void **state)
{
    fx *f = *state;
    char id[KL_ID_LEN];
    put_text(f, id, 1000);
    damage(f, id, 8, 0x01);
    expect_corrupt(f, id);
}

static void test_cas_bad_magic_is_corrupt(void **state)
{
    fx *f = *state;
    char id[KL_ID_LEN];
    put_text(f, id, 100);
    damage(f, id, 0, 0x20);
    expect_corrupt(f, id);
}

static void test_cas_truncated_object_is_corrupt(void **state)
{
    fx *f = *state;
    char id[KL_ID_LEN], path[512];
    put_text(f, id, 200000);
    obj_path_rw(f, id, path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 2), 0);
    expect_corrupt(f, id);
    assert_int_equal(truncate(path, 10), 0);
    expect_corrupt(f, id);
    assert_int_equal(truncate(path, 0), 0);
    expect_corrupt(f, id);
}

static void test_cas_trailing_bytes_are_corrupt(void **state)
{
    fx *f = *state;
    char id[KL_ID_LEN], path[512];
    put_text(f, id, 1000);
    obj_path_rw(f, id, path, sizeof path);
    FILE *fp = fopen(path, "ab");
    fputs("tail", fp);
    fclose(fp);
    expect_corrupt(f, id);
}

static void test_cas_valid_file_under_wrong_name_is_corrupt(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    char a[KL_ID_LEN], b[KL_ID_LEN], pa[512], pb[512];
    assert_int_equal(kl_store_put(f->s, "first", 5, a, &err), 0);
    assert_int_equal(kl_store_put(f->s, "other", 5, b, &err), 0);
    obj_path(f, a, pa, sizeof pa);
    obj_path(f, b, pb, sizeof pb);
    assert_int_equal(rename(pa, pb), 0);
    expect_corrupt(f, b);
}

static void test_cas_streaming_read_reports_corruption_on_final_call(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    char a[KL_ID_LEN], b[KL_ID_LEN], pa[512], pb[512];
    put_text(f, a, 100000);
    put_text(f, b, 100001);
    obj_path(f, a, pa, sizeof pa);
    obj_path(f, b, pb, sizeof pb);
    /* b's file now holds a's bytes (one byte fewer than b): well-formed data, wrong hash. */
    assert_int_equal(rename(pa, pb), 0);
    kl_store_reader *r;
    assert_int_equal(kl_store_get_open(f->s, b, &r, &err), 0);
    char buf[4096];
    size_t got, total = 0;
    int rc;
    while ((rc = kl_store_get_read(r, buf, sizeof buf, &got, &err)) == 0 && got > 0)
        total += got;
    assert_int_equal(rc, KL_ECORRUPT);
    assert_int_equal(total, 100000);
    kl_store_get_close(r);
}

static void test_cas_missing_object_and_bad_ids(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    void *data;
    size_t n;
    assert_false(kl_store_has(f->s, abc_sha256));
    assert_int_equal(kl_store_get(f->s, abc_sha256, 0, &data, &n, &err), KL_ENOTFOUND);
    char path[512];
    assert_int_equal(kl_store_object_path(f->s, "ABC", path, sizeof path, &err), KL_EINVAL);
    assert_int_equal(kl_store_object_path(
                         f->s, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015aD",
                         path, sizeof path, &err),
                     KL_EINVAL);
    assert_int_equal(kl_store_object_path(f->s, abc_sha256, path, 10, &err), KL_ERANGE);
    assert_false(kl_store_has(f->s, "../../etc/passwd"));
}

static void test_cas_size_limit_refuses_large_object(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    char id[KL_ID_LEN];
    put_text(f, id, 5000);
    void *data;
    size_t n;
    assert_int_equal(kl_store_get(f->s, id, 4999, &data, &n, &err), KL_ERANGE);
    assert_int_equal(kl_store_get(f->s, id, 5000, &data, &n, &err), 0);
    assert_int_equal(n, 5000);
    free(data);
}

/*
 * A full disk, simulated with RLIMIT_FSIZE (writes past the limit fail with
 * EFBIG, as they fail with ENOSPC on a full file system): the put fails with
 * KL_EIO and a message naming the system error, and leaves neither an object
 * nor a temporary file behind.
 */
static void test_cas_failed_write_leaves_nothing_behind(void **state)
{
    fx *f = *state;
    kl_err err = {0};
    enum { N = 2 * 1024 * 1024 };
    uint8_t *data = malloc(N);
    uint64_t x = 99;
    for (size_t i = 0; i < N; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        data[i] = (uint8_t)(x >> 56); /* incompressible */
    }
    struct rlimit old, small;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small = old;
    small.rlim_cur = 256 * 1024;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    char id[KL_ID_LEN];
    int rc = kl_store_put(f->s, data, N, id, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, KL_EIO);
    assert_non_null(strstr(err.msg, "cannot write an object: File too large"));
    assert_string_equal(id, "");
    assert_int_equal(object_count(f), 0);
    assert_int_equal(tmp_count(f), 0);
    /* The store still works once there is room again. */
    assert_int_equal(kl_store_put(f->s, data, N, id, &err), 0);
    assert_int_equal(kl_store_verify(f->s, id, &err), 0);
    free(data);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_cas_id_is_published_sha256_of_abc),
        T(test_cas_empty_object_round_trips),
        T(test_cas_header_holds_magic_version_and_size),
        T(test_cas_multi_megabyte_object_streams_both_ways),
        T(test_cas_one_byte_reads_return_every_byte),
        T(test_cas_put_fd_matches_put_of_same_bytes),
        T(test_cas_put_of_existing_object_leaves_file_alone),
        T(test_cas_temp_files_are_never_listed_as_objects),
        T(test_cas_tmp_sweep_removes_only_old_files),
        T(test_cas_flipped_payload_byte_is_corrupt),
        T(test_cas_flipped_size_byte_is_corrupt),
        T(test_cas_bad_magic_is_corrupt),
        T(test_cas_truncated_object_is_corrupt),
        T(test_cas_trailing_bytes_are_corrupt),
        T(test_cas_valid_file_under_wrong_name_is_corrupt),
        T(test_cas_streaming_read_reports_corruption_on_final_call),
        T(test_cas_missing_object_and_bad_ids),
        T(test_cas_size_limit_refuses_large_object),
        T(test_cas_failed_write_leaves_nothing_behind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
