/*
 * The progress bar's pure parts, shared with its tests: whether a redraw is
 * due and what the line says, both at a given time, so they can be checked
 * with fixed clocks and no terminal.
 */
#ifndef KEEL_CORE_PROGRESS_INTERNAL_H
#define KEEL_CORE_PROGRESS_INTERNAL_H

#include <stddef.h>

#include "keel/progress.h"

/* Seconds between redraws: at most 10 a second. */
#define KL__PROGRESS_INTERVAL 0.1
/* Width of the bar between the brackets, and the longest label shown (in bytes). */
#define KL__PROGRESS_BAR 24
#define KL__PROGRESS_LABEL_MAX 32

/* 1 when at least KL__PROGRESS_INTERVAL seconds passed since p's last draw (or its start). */
int kl__progress_due(const kl_progress *p, double now);

/*
 * The visible text of p's line at time now, without the carriage return or
 * the erase-to-end-of-line code, into buf of size n (NUL-terminated when
 * n > 0). Returns the length it had (as snprintf does). With a total:
 *   "<label> [#########---------------]  37%  1.2k/s  ETA 0:42"
 * and once done reaches the total, "in <elapsed>" replaces the ETA. Without a
 * total: "<label> 12.3k  4.5k/s  0:07" (count, rate, elapsed).
 */
size_t kl__progress_format(const kl_progress *p, double now, char *buf, size_t n);

#endif
