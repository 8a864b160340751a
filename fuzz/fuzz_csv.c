/*
 * Fuzz target for the CSV reader and writer. Each input is read with one
 * thread and again with two threads and tiny chunks (so chunk boundaries fall
 * inside quoted fields and rows); both reads must agree, in success or in the
 * exact error; the same holds in skip mode. A frame read successfully is written back and read again, and
 * must hash the same. Any disagreement aborts, so the fuzzer reports it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/csv.h"
#include "keel/frame.h"
#include "data/csv_internal.h"

static void die(const char *what)
{
    fprintf(stderr, "fuzz_csv: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    kl_frame *a = NULL, *b = NULL, *c = NULL;
    kl_err ea = {0}, eb = {0};
    kl_csv_read_opts o1 = {.threads = 1};
    kl__csv_set_chunk_bytes(0);
    int ra = kl_csv_read_buffer(buf, size, "fuzz.csv", &o1, &a, NULL, &ea);

    kl_csv_read_opts o2 = {.threads = 2};
    kl__csv_set_chunk_bytes(1 + size % 13);
    int rb = kl_csv_read_buffer(buf, size, "fuzz.csv", &o2, &b, NULL, &eb);
    kl__csv_set_chunk_bytes(0);
    if (ra != rb)
        die("result depends on chunking");

    /* Skip mode: the same frame and counts whatever the chunking. */
    kl_frame *sa = NULL, *sb = NULL;
    kl_csv_report pa, pb;
    kl_err sea = {0}, seb = {0};
    kl_csv_read_opts s1 = {.threads = 1, .on_bad_rows = KL_CSV_BAD_ROWS_SKIP};
    kl_csv_read_opts s2 = {.threads = 2, .on_bad_rows = KL_CSV_BAD_ROWS_SKIP};
    int rsa = kl_csv_read_buffer(buf, size, "fuzz.csv", &s1, &sa, &pa, &sea);
    kl__csv_set_chunk_bytes(1 + size % 7);
    int rsb = kl_csv_read_buffer(buf, size, "fuzz.csv", &s2, &sb, &pb, &seb);
    kl__csv_set_chunk_bytes(0);
    if (rsa != rsb || (rsa == 0 && (pa.bad_rows != pb.bad_rows || pa.rows != pb.rows)))
        die("skip mode depends on chunking");
    if (rsa == 0) {
        uint8_t h1[32], h2[32];
        kl_frame_hash(sa, h1);
        kl_frame_hash(sb, h2);
        if (memcmp(h1, h2, 32) != 0)
            die("skip-mode frame depends on chunking");
    }
    kl_frame_free(sa);
    kl_frame_free(sb);
    kl_csv_report_release(&pa);
    kl_csv_report_release(&pb);
    if (ra != 0) {
        if (strcmp(ea.msg, eb.msg) != 0 || strcmp(ea.ctx, eb.ctx) != 0)
            die("error depends on chunking");
        return 0;
    }
    uint8_t ha[32], hb[32], hc[32];
    kl_frame_hash(a, ha);
    kl_frame_hash(b, hb);
    if (memcmp(ha, hb, 32) != 0)
        die("frame depends on chunking");

    char *out = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&out, &len);
    if (!fp)
        die("open_memstream");
    kl_err ew = {0};
    int rw = kl_csv_write_stream(a, fp, NULL, &ew);
    fclose(fp);
    if (rw == 0) {
        kl_err ec = {0};
        kl_csv_read_opts o3 = {.threads = 1, .delimiter = ','};
        if (kl_csv_read_buffer(out, len, "rt.csv", &o3, &c, NULL, &ec) != 0) {
            fprintf(stderr, "read back: %s (%s)\n", ec.msg, ec.ctx);
            die("written CSV does not read back");
        }
        kl_frame_hash(c, hc);
        if (memcmp(ha, hc, 32) != 0)
            die("round trip changed the frame");
    }
    free(out);
    kl_frame_free(a);
    kl_frame_free(b);
    kl_frame_free(c);
    return 0;
}
