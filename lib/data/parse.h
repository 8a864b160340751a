/*
 * Field parsers shared by the CSV reader, type inference and the writer:
 * numbers (correctly rounded, equal to glibc strtod), booleans and the date
 * and time forms of docs/FORMATS.md. All take a field as (pointer, length),
 * need no NUL terminator, never allocate and never read past s[n-1]. All are
 * thread-safe and independent of the process locale.
 */
#ifndef KEEL_DATA_PARSE_H
#define KEEL_DATA_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse s[0..n) as a decimal number: optional ASCII spaces around it, an
 * optional sign, digits with an optional fraction (".5" and "5." allowed), an
 * optional exponent; also "inf", "infinity" (any case, signed). The whole
 * field must be consumed. On success returns 1, stores the double in *out
 * (bit-identical to strtod's correctly rounded result for the same text) and
 * sets *is_int to 1 when the text has integer syntax (no '.', no exponent,
 * not inf) and the value the text spells is at most 2^53 in magnitude
 * ("-0" is an integer; "9007199254740993" is not, although it rounds to
 * 2^53). Returns 0 when the text is not a number: "", ".", "e5", "1e",
 * "0x10", "nan" (NaN is a missing token, decided elsewhere), "1,5", "--1",
 * spaces inside. Fields of any length are exact; more than 19 significant
 * digits or rare hard cases take a slower path (still no allocation).
 */
int kl__parse_number(const char *s, size_t n, double *out, int *is_int);

/*
 * Parse a boolean: true/false, yes/no, in lower, upper or title case
 * ("true", "TRUE", "True"). Returns 1 and *out (0 or 1), or 0.
 */
int kl__parse_bool(const char *s, size_t n, uint8_t *out);

/*
 * Date and time forms, as bits, so inference can intersect the forms every
 * value of a column could have (an ambiguous 03/04/2020 is both DMY and MDY).
 */
enum kl__time_form {
    KL__TF_DATE_ISO = 1u << 0,       /* 2020-03-04 */
    KL__TF_DATETIME_ISO = 1u << 1,   /* 2020-03-04T05:06[:07[.fff]][Z|+hh:mm|-hh:mm], T or space */
    KL__TF_YEAR_MONTH = 1u << 2,     /* 1949-01 (first day of the month) */
    KL__TF_QUARTER = 1u << 3,        /* 1974Q1 or 1974-Q1 (first day of the quarter) */
    KL__TF_DATE_YMD_SLASH = 1u << 4, /* 2020/03/04 */
    KL__TF_DATE_DMY = 1u << 5,       /* 04/03/2020 (also with '.' or '-') */
    KL__TF_DATE_MDY = 1u << 6,       /* 03/04/2020 */
    KL__TF_DATETIME_DMY = 1u << 7,   /* 04/03/2020 05:06[:07] */
    KL__TF_DATETIME_MDY = 1u << 8,   /* 03/04/2020 05:06[:07] */
    KL__TF_DATE_COMPACT = 1u << 9,   /* 20200304: only when forced by an override, never inferred */
};

/*
 * Every form s[0..n) is a valid value of (a bitmask; 0 when none), never
 * KL__TF_DATE_COMPACT. Ranges are checked: year 0001-9999 (4 digits), month
 * 1-12, day within the month (leap years), hour 0-23, minute and second 0-59,
 * quarter 1-4. DMY/MDY take '/', '.' or '-' (the same twice) and 1 or 2
 * digit day and month; ISO dates need 2 digits. Surrounding ASCII spaces are
 * allowed, as for numbers.
 */
unsigned kl__time_forms(const char *s, size_t n);

/*
 * Parse s as the single form given; 1 and *us (microseconds since the epoch,
 * UTC) or 0. Times take HH:MM[:SS[.f]] with 1 to 9 fraction digits, those
 * past the sixth dropped (toward the start of the second); an ISO offset
 * (Z, +hh:mm, -hhmm) is subtracted to give UTC, and a result outside years
 * 0001-9999 is rejected. Forms without an offset are taken as UTC.
 */
int kl__time_parse(const char *s, size_t n, unsigned form, int64_t *us);

/* The format string recorded in the schema for a form ("%Y-%m-%d", "%YQ%q", ...); NULL if none. */
const char *kl__time_form_format(unsigned form);
/* The form a recorded format string names, or 0 when unknown. */
unsigned kl__time_form_from_format(const char *format);
/* Whether the form holds a time of day (a DATETIME) rather than a date only. */
int kl__time_form_has_time(unsigned form);

/*
 * Write us in form into buf of size n, NUL-terminated, so that kl__time_parse
 * reads it back to exactly us: DMY/MDY with '/' and 2-digit fields, ISO
 * datetimes in UTC without an offset, seconds always and a fraction (up to 6
 * digits, trailing zeros dropped) only when not zero. Returns the length
 * written, or 0 when it does not fit, the form is unknown, or the form cannot
 * hold us (a time of day in a date form, a day other than the first of the
 * month or quarter for YEAR_MONTH or QUARTER, a year outside 0001-9999).
 */
size_t kl__time_format(int64_t us, unsigned form, char *buf, size_t n);

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
int64_t kl__days_from_civil(int64_t y, unsigned m, unsigned d);
void kl__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/*
 * Shortest text that reads back (with strtod) to exactly v: tries %.15g, %.16g
 * then %.17g. Writes into buf (size n >= 32), returns the length. NaN is "",
 * infinities "inf" and "-inf"; integral values keep integer syntax ("3"), so a
 * writer that needs float syntax adds ".0" itself.
 */
size_t kl__format_double(double v, char *buf, size_t n);

#endif
