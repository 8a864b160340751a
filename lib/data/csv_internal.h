/*
 * Shared between the CSV reader's files (csv_tokenize.c, csv_read.c) and their
 * tests: the tokenizer's per-chunk output, chunk splitting, delimiter
 * detection, and a test hook that forces tiny chunks so chunk boundaries fall
 * everywhere.
 *
 * A chunk is a byte range [begin, end) of the input that starts at a row
 * start. Its tokenizer output is one uint32 per field: the offset (relative
 * to begin) of the byte that ended the field (a delimiter, '\n', or end of
 * input). Field k of a chunk starts one byte after field k-1 ends, except at
 * the first field of a row that follows a skipped row or a blank line: those
 * row starts are listed in gaps[]. That keeps the index at 4 bytes a field.
 */
#ifndef KEEL_DATA_CSV_INTERNAL_H
#define KEEL_DATA_CSV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Why a chunk stopped (or, for row errors under skip, why a row was dropped). */
enum kl__csv_fault {
    KL__CSV_OK = 0,
    KL__CSV_RAGGED,       /* a row with the wrong number of fields */
    KL__CSV_UNTERMINATED, /* a quoted field runs to the end of the input */
    KL__CSV_QUOTE_INSIDE, /* a quote inside an unquoted field */
    KL__CSV_AFTER_QUOTE,  /* text after a closing quote */
    KL__CSV_UTF8,         /* an invalid UTF-8 sequence */
    KL__CSV_NUL,          /* a NUL byte */
    KL__CSV_NOMEM,
    KL__CSV_TOO_LONG,     /* a chunk or row over 4 GiB */
    KL__CSV_MISCOUNT,     /* more rows than counted beforehand: a bug of ours */
};

typedef struct kl__csv_gap {
    size_t row;     /* chunk-relative row index */
    uint32_t start; /* chunk-relative offset of that row's first byte */
} kl__csv_gap;

typedef struct kl__csv_chunk {
    size_t begin, end; /* byte range in the input */
    uint32_t *ends;    /* n_rows * n_cols field ends (chunk-relative) */
    size_t n_ends, cap_ends;
    size_t n_rows;
    kl__csv_gap *gaps;
    size_t n_gaps, cap_gaps;
    size_t stop; /* chunk-relative offset just past the last row read */

    size_t bad_rows;      /* rows dropped under skip mode */
    size_t first_bad_pos; /* absolute offset of the first dropped row; SIZE_MAX when none */

    enum kl__csv_fault fault; /* the error that stopped the chunk; KL__CSV_OK when none */
    size_t fault_pos;         /* absolute offset of the offending byte */
    size_t fault_fields;      /* RAGGED: the number of fields the row had */
    uint8_t fault_byte;       /* UTF8: the first byte of the bad sequence */
} kl__csv_chunk;

typedef struct kl__csv_tok {
    const uint8_t *buf; /* the whole input (after the BOM) */
    size_t len;
    uint8_t delim;
    size_t n_cols;    /* 0: take the count of the first row (header) */
    int skip_bad;     /* drop ragged rows and rows with NUL or invalid UTF-8 */
    size_t row_limit; /* 0: no limit; else stop after this many rows */
    size_t fields_hint; /* expected fields per chunk byte * 1024, to size ends[] */
} kl__csv_tok;

/*
 * Tokenize c->begin..c->end. Returns 0, or -1 when c->fault holds a fault that
 * stops reading. When tok->n_cols is 0 it is set from the first row. The
 * buffers c->ends and c->gaps are reused when present (grown when needed).
 */
int kl__csv_tokenize(kl__csv_tok *tok, kl__csv_chunk *c);
void kl__csv_chunk_release(kl__csv_chunk *c);

/*
 * Rows that tokenizing b[0..n) (a chunk starting at a row start, with even
 * quote parity) keeps when no row is bad: row-ending newlines outside quotes,
 * plus a last row without a newline, less blank lines when skip_blank (tables
 * of two or more columns). Runs at memchr-like speed on quote-free text.
 */
size_t kl__csv_count_rows(const uint8_t *b, size_t n, int skip_blank);

/*
 * Cut buf[start..len) into chunks of about chunk_bytes at row starts, aware
 * of quotes: a boundary is the byte after the first '\n' at or past the raw
 * cut where the count of '"' since start is even. Returns a malloc'd array of
 * *n_chunks + 1 boundaries (first start, last len), NULL when out of memory.
 */
size_t *kl__csv_split(const uint8_t *buf, size_t len, size_t start, size_t chunk_bytes,
                      int threads, size_t *n_chunks);

/* The delimiter of the first rows (docs/FORMATS.md, "Delimiter detection"). */
uint8_t kl__csv_detect_delimiter(const uint8_t *buf, size_t len);

/* Length of the valid UTF-8 sequence at p (2..4), or 0 when it is invalid. */
size_t kl__utf8_seq(const uint8_t *p, size_t avail);

/* Test hook: chunk size in bytes for the next reads (0 restores the default). */
void kl__csv_set_chunk_bytes(size_t n);
size_t kl__csv_chunk_bytes(void);

#endif
