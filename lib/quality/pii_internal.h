/*
 * Shared between the lib/quality/pii*.c files only.
 */
#ifndef KEEL_QUALITY_PII_INTERNAL_H
#define KEEL_QUALITY_PII_INTERNAL_H

#include <stdint.h>

/* A day (days since 1970-01-01) that can be a birth date: 1900-01-01 to today (UTC). */
int kl__pii_birth_days_ok(int64_t days);

/* The score kl_pii_scan gives a time value in a column whose name says "date of birth". */
#define KL__PII_DOB_SCORE 0.85

#endif
