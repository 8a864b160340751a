/*
 * CSV reader and writer (RFC 4180) with type inference.
 *
 * Ownership: kl_csv_read_* return a new frame the caller frees; a
 * kl_csv_report is overwritten by every read (success or failure: warnings
 * may be there either way) and released by the caller with
 * kl_csv_report_release. Options are borrowed.
 *
 * The reader memory-maps the file, splits it at row boundaries (quote-aware)
 * and parses the pieces on all threads; the resulting frame does not depend
 * on the thread count. Inference rules (versioned as KL_CSV_INFER_VERSION) are
 * written down in docs/FORMATS.md.
 */
#ifndef KEEL_CSV_H
#define KEEL_CSV_H

#include <stddef.h>
#include <stdio.h>

#include "keel/err.h"
#include "keel/frame.h"

/* Version of the type-inference rules; bump it whenever a rule changes. */
#define KL_CSV_INFER_VERSION 1

enum kl_csv_bad_rows {
    KL_CSV_BAD_ROWS_ERROR = 0, /* the first bad row is an error (default) */
    KL_CSV_BAD_ROWS_SKIP = 1,  /* bad rows are skipped and counted in the report */
};

/* A type forced on a column (keel.yaml data.columns). */
typedef struct kl_csv_override {
    const char *column;
    enum kl_type type;
    const char *time_format; /* for DATE/DATETIME: a strftime-like format, or NULL to detect */
} kl_csv_override;

typedef struct kl_csv_read_opts {
    char delimiter;                       /* 0: detect among , ; TAB | */
    int no_header;                        /* 1: first row is data; columns are named c1, c2, ... */
    const char *const *missing_tokens;    /* NULL: "", NA, N/A, null, NaN, None */
    size_t n_missing_tokens;
    enum kl_csv_bad_rows on_bad_rows;
    const kl_csv_override *overrides;
    size_t n_overrides;
    size_t max_categories;   /* 0: the documented default cardinality threshold */
    int threads;             /* 0: kl_threads() */
    const char *display_name; /* name used in error contexts; NULL: the path */
    size_t max_rows;         /* 0: all rows; else stop after this many data rows (the
                                rest of the file is not read, nor checked) */
} kl_csv_read_opts;

#define KL_CSV_MAX_WARNINGS 64

typedef struct kl_csv_report {
    size_t rows;       /* data rows in the frame */
    size_t bad_rows;   /* rows skipped under KL_CSV_BAD_ROWS_SKIP */
    size_t first_bad_line; /* line of the first skipped row, 0 when none */
    size_t bytes;      /* size of the input */
    char delimiter;    /* the delimiter used */
    size_t n_warnings; /* warnings[0..n_warnings) (at most KL_CSV_MAX_WARNINGS kept) */
    size_t n_warnings_total;
    char **warnings;   /* e.g. duplicate header names, ambiguous dates */
} kl_csv_report;

void kl_csv_report_release(kl_csv_report *r);

/*
 * Read path into a new frame (*out). Returns 0, or a negative code with err
 * naming file:line:column and the reason: KL_EIO when the file cannot be read,
 * KL_EPARSE for malformed CSV (ragged row, unterminated quote, invalid UTF-8,
 * NUL byte, empty file, header only), KL_ENOTFOUND for an override naming no
 * column, KL_EPARSE when a value does not fit an overridden type.
 * report may be NULL.
 */
int kl_csv_read_file(const char *path, const kl_csv_read_opts *opts, kl_frame **out,
                     kl_csv_report *report, kl_err *err);
/* The same on bytes in memory (borrowed); name is used in error contexts. */
int kl_csv_read_buffer(const char *buf, size_t len, const char *name,
                       const kl_csv_read_opts *opts, kl_frame **out, kl_csv_report *report,
                       kl_err *err);

typedef struct kl_csv_write_opts {
    char delimiter; /* 0: ',' */
    int crlf;       /* 1: CRLF line ends */
} kl_csv_write_opts;

/*
 * Write f as CSV with a header row. Fields are quoted when they hold the
 * delimiter, a quote, CR or LF, when they would read back as a missing token,
 * and when they are empty strings (a missing value is an empty unquoted
 * field). Numbers are written in the shortest form that reads back to the same
 * double. Reading the output with the same options gives the same frame.
 * opts may be NULL.
 */
int kl_csv_write_stream(const kl_frame *f, FILE *fp, const kl_csv_write_opts *opts,
                        kl_err *err);
/* Writes to path.tmp then renames it over path. */
int kl_csv_write_file(const kl_frame *f, const char *path, const kl_csv_write_opts *opts,
                      kl_err *err);

#endif
