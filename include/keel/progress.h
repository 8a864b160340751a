/*
 * A progress bar for long work: drawn on stderr only when stderr is a
 * terminal, redrawn at most 10 times a second, with the rate and an ETA.
 * Calls from a single thread; a parallel loop reports through one thread.
 */
#ifndef KEEL_PROGRESS_H
#define KEEL_PROGRESS_H

#include <stdint.h>

typedef struct kl_progress {
    const char *label;  /* borrowed; must outlive the bar */
    uint64_t total;     /* 0 when unknown: shows a count and rate only */
    uint64_t done;
    double t_start;     /* monotonic seconds */
    double t_last_draw;
    int enabled;        /* 1 when stderr is a terminal and KEEL_PROGRESS != 0 */
    int drawn;
} kl_progress;

/*
 * Start a bar: reads the clock, checks isatty(2) and KEEL_PROGRESS. Nothing is
 * drawn before 0.1 s have passed, so quick work leaves no trace. The line
 * reads "<label> [####----]  37%  1.2k/s  ETA 0:42" (with a total) or
 * "<label> 12.3k  4.5k/s  0:07" (count, rate, elapsed; total 0).
 */
void kl_progress_start(kl_progress *p, const char *label, uint64_t total);
/* Record that done units are finished; redraws when 0.1 s passed since the last draw. */
void kl_progress_update(kl_progress *p, uint64_t done);
/* Draw the final state and end the line (if anything was drawn). */
void kl_progress_finish(kl_progress *p);
/* Monotonic clock in seconds. */
double kl_now(void);

#endif
