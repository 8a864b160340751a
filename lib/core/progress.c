/*
 * A progress bar on stderr for long work: label, bar (or count when the total
 * is unknown), percent, rate and ETA.
 *
 * It draws only when stderr is a terminal and KEEL_PROGRESS is not "0", so
 * logs, pipes and tests never see it, and at most 10 times a second however
 * often kl_progress_update is called, so a hot loop may report every item: an
 * update that is not due costs one clock read. Each redraw is one write(2) of
 * "\r<line>\033[K" (erase what a longer previous line left behind). Work that
 * ends within the first tenth of a second draws nothing at all.
 *
 * The formatting and the redraw rule are pure functions of the state and a
 * time (progress_internal.h), tested with fixed clocks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keel/progress.h"
#include "core/progress_internal.h"
#include "core/common.h"

double kl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int kl__progress_due(const kl_progress *p, double now)
{
    return now - p->t_last_draw >= KL__PROGRESS_INTERVAL;
}

/* ---- formatting ---- */

/* A count or rate with a k/M/G/T suffix: "7", "2.5", "950", "12.3k", "1.2M". */
static void fmt_si(double v, char *buf, size_t n)
{
    static const char suffix[] = {'\0', 'k', 'M', 'G', 'T'};
    if (v < 0)
        v = 0;
    if (v < 9.95) {
        snprintf(buf, n, "%.1f", v);
        return;
    }
    if (v < 999.5) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    size_t i = 1;
    v /= 1000;
    while (v >= 999.95 && i + 1 < sizeof suffix) {
        v /= 1000;
        i++;
    }
    snprintf(buf, n, "%.1f%c", v, suffix[i]);
}

/* A duration as "m:ss" or "h:mm:ss", rounded to the second; ">99h" beyond that. */
static void fmt_duration(double t, char *buf, size_t n)
{
    if (!(t >= 0))
        t = 0;
    if (t >= 100.0 * 3600) {
        snprintf(buf, n, ">99h");
        return;
    }
    unsigned s = (unsigned)(t + 0.5);
    if (s >= 3600)
        snprintf(buf, n, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, n, "%u:%02u", s / 60, s % 60);
}

/* Length of label shown: at most KL__PROGRESS_LABEL_MAX bytes, not cutting a UTF-8 sequence. */
static int label_len(const char *label)
{
    size_t len = strlen(label);
    if (len <= KL__PROGRESS_LABEL_MAX)
        return (int)len;
    len = KL__PROGRESS_LABEL_MAX;
    while (len > 0 && ((unsigned char)label[len] & 0xc0) == 0x80)
        len--;
    return (int)len;
}

size_t kl__progress_format(const kl_progress *p, double now, char *buf, size_t n)
{
    const char *label = p->label ? p->label : "";
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char rate_s[16], count_s[16], time_s[16];
    fmt_si(rate, rate_s, sizeof rate_s);

    if (p->total == 0) {
        fmt_si((double)p->done, count_s, sizeof count_s);
        fmt_duration(elapsed, time_s, sizeof time_s);
        int len =
            snprintf(buf, n, "%.*s %s  %s/s  %s", label_len(label), label, count_s, rate_s, time_s);
        return len < 0 ? 0 : (size_t)len;
    }

    uint64_t done = p->done < p->total ? p->done : p->total;
    /* Integer arithmetic: 0.29 * 100 is 28.999... in doubles. */
    int filled = (int)((unsigned __int128)done * KL__PROGRESS_BAR / p->total);
    char bar[KL__PROGRESS_BAR + 1];
    for (int i = 0; i < KL__PROGRESS_BAR; i++)
        bar[i] = i < filled ? '#' : '-';
    bar[KL__PROGRESS_BAR] = '\0';
    int percent = (int)((unsigned __int128)done * 100 / p->total);

    const char *when;
    if (done >= p->total) {
        when = "in";
        fmt_duration(elapsed, time_s, sizeof time_s);
    } else if (rate > 0) {
        when = "ETA";
        fmt_duration((double)(p->total - done) / rate, time_s, sizeof time_s);
    } else {
        when = "ETA";
        snprintf(time_s, sizeof time_s, "--:--");
    }
    int len = snprintf(buf, n, "%.*s [%s] %3d%%  %s/s  %s %s", label_len(label), label, bar,
                       percent, rate_s, when, time_s);
    return len < 0 ? 0 : (size_t)len;
}

/* ---- drawing ---- */

static void draw(kl_progress *p, double now)
{
    char line[160];
    line[0] = '\r';
    size_t len = kl__progress_format(p, now, line + 1, sizeof line - 4);
    len = KL_MIN(len, sizeof line - 5);
    memcpy(line + 1 + len, "\033[K", 3);
    len += 4;
    const char *s = line;
    while (len > 0) {
        ssize_t w = write(STDERR_FILENO, s, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        s += w;
        len -= (size_t)w;
    }
    p->t_last_draw = now;
    p->drawn = 1;
}

void kl_progress_start(kl_progress *p, const char *label, uint64_t total)
{
    const char *env = getenv("KEEL_PROGRESS");
    p->label = label;
    p->total = total;
    p->done = 0;
    p->t_start = kl_now();
    p->t_last_draw = p->t_start;
    p->enabled = isatty(STDERR_FILENO) && !(env && strcmp(env, "0") == 0);
    p->drawn = 0;
}

void kl_progress_update(kl_progress *p, uint64_t done)
{
    p->done = done;
    if (!p->enabled)
        return;
    double now = kl_now();
    if (kl__progress_due(p, now))
        draw(p, now);
}

void kl_progress_finish(kl_progress *p)
{
    if (p->enabled && p->drawn) {
        draw(p, kl_now());
        ssize_t w;
        do
            w = write(STDERR_FILENO, "\n", 1);
        while (w < 0 && errno == EINTR);
    }
    p->enabled = 0;
}
