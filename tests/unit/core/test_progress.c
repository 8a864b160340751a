/*
 * Progress bar: the line and the redraw rule at fixed times (expected lines
 * computed by hand), and the terminal check with a pseudo-terminal.
 */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "keel/progress.h"
#include "core/progress_internal.h"

static kl_progress at(const char *label, uint64_t total, uint64_t done)
{
    kl_progress p = {0};
    p.label = label;
    p.total = total;
    p.done = done;
    p.t_start = 100.0;
    p.t_last_draw = 100.0;
    return p;
}

static void assert_line(const kl_progress *p, double now, const char *expect)
{
    char buf[200];
    size_t len = kl__progress_format(p, now, buf, sizeof buf);
    assert_string_equal(buf, expect);
    assert_int_equal(len, strlen(expect));
}

static void test_progress_line_shows_bar_percent_rate_and_eta(void **state)
{
    (void)state;
    /* 450 of 1000 in 10 s: 45/s, 550 left is 12.2 s; 10.8 of 24 cells filled. */
    kl_progress p = at("reading", 1000, 450);
    assert_line(&p, 110.0, "reading [##########--------------]  45%  45/s  ETA 0:12");
}

static void test_progress_percent_is_exact_integer_division(void **state)
{
    (void)state;
    /* 29/100 is 28.999... in doubles; the bar shows 6.96 -> 6 cells. */
    kl_progress p = at("x", 100, 29);
    assert_line(&p, 101.0, "x [######------------------]  29%  29/s  ETA 0:02");
}

static void test_progress_rate_uses_suffixes_and_eta_rounds(void **state)
{
    (void)state;
    /* 2.6M in 2 s is 1.3M/s; 7.4M left takes 5.69 s, shown as 0:06. */
    kl_progress p = at("load", 10000000, 2600000);
    assert_line(&p, 102.0, "load [######------------------]  26%  1.3M/s  ETA 0:06");
    /* 999.7/s rounds into the next unit rather than showing "1000". */
    kl_progress q = at("q", 100000, 9997);
    assert_line(&q, 110.0, "q [##----------------------]   9%  1.0k/s  ETA 1:30");
}

static void test_progress_unknown_total_shows_count_rate_and_elapsed(void **state)
{
    (void)state;
    kl_progress p = at("rows", 0, 12345);
    assert_line(&p, 105.0, "rows 12.3k  2.5k/s  0:05");
    kl_progress q = at("rows", 0, 9997);
    assert_line(&q, 100.5, "rows 10.0k  20.0k/s  0:01");
}

static void test_progress_nothing_done_has_no_eta(void **state)
{
    (void)state;
    kl_progress p = at("a", 10, 0);
    assert_line(&p, 100.0, "a [------------------------]   0%  0.0/s  ETA --:--");
}

static void test_progress_complete_shows_elapsed_time(void **state)
{
    (void)state;
    /* 3725 s is 1 h 2 min 5 s; 1000/3725 = 0.27/s. */
    kl_progress p = at("fit", 1000, 1000);
    assert_line(&p, 3825.0, "fit [########################] 100%  0.3/s  in 1:02:05");
    kl_progress over = at("fit", 1000, 1200);
    assert_line(&over, 110.0, "fit [########################] 100%  120/s  in 0:10");
}

static void test_progress_eta_beyond_99_hours_is_capped(void **state)
{
    (void)state;
    kl_progress p = at("slow", 1000000000, 1);
    assert_line(&p, 110.0, "slow [------------------------]   0%  0.1/s  ETA >99h");
}

static void test_progress_long_label_is_cut_on_a_character_boundary(void **state)
{
    (void)state;
    char ascii[41];
    memset(ascii, 'l', 40);
    ascii[40] = '\0';
    kl_progress p = at(ascii, 0, 1);
    assert_line(&p, 101.0, "llllllllllllllllllllllllllllllll 1.0  1.0/s  0:01");

    /* "a" then 20 two-byte e-acutes: byte 32 is inside a character, so 31 bytes show. */
    char utf8[64] = "a";
    for (int i = 0; i < 20; i++)
        memcpy(utf8 + 1 + 2 * i, "\xc3\xa9", 3);
    kl_progress q = at(utf8, 0, 1);
    char expect[64] = "a";
    for (int i = 0; i < 15; i++)
        memcpy(expect + 1 + 2 * i, "\xc3\xa9", 3);
    size_t el = strlen(expect);
    assert_int_equal(el, 31);
    snprintf(expect + el, sizeof expect - el, " 1.0  1.0/s  0:01");
    assert_line(&q, 101.0, expect);
}

static void test_progress_format_truncates_into_small_buffer(void **state)
{
    (void)state;
    kl_progress p = at("reading", 1000, 450);
    char buf[10];
    size_t len = kl__progress_format(&p, 110.0, buf, sizeof buf);
    assert_int_equal(len, strlen("reading [##########--------------]  45%  45/s  ETA 0:12"));
    assert_string_equal(buf, "reading [");
}

static void test_progress_redraws_at_most_ten_times_a_second(void **state)
{
    (void)state;
    kl_progress p = at("x", 10, 1);
    assert_false(kl__progress_due(&p, 100.0));
    assert_false(kl__progress_due(&p, 100.05));
    assert_true(kl__progress_due(&p, 100.25));
    p.t_last_draw = 100.25;
    assert_false(kl__progress_due(&p, 100.3));
    assert_true(kl__progress_due(&p, 101.0));
}

static void test_progress_is_silent_when_stderr_is_not_a_terminal(void **state)
{
    (void)state;
    char path[] = "/tmp/keel_test_progress_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    unsetenv("KEEL_PROGRESS");
    kl_progress p;
    kl_progress_start(&p, "job", 10);
    int enabled = p.enabled;
    p.t_last_draw = p.t_start - 1; /* a redraw would be due */
    kl_progress_update(&p, 5);
    kl_progress_finish(&p);
    dup2(saved, STDERR_FILENO);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(path);
    assert_int_equal(enabled, 0);
    assert_int_equal(p.done, 5);
    assert_int_equal(size, 0);
}

static size_t read_pty(int master, char *buf, size_t n)
{
    size_t got = 0;
    struct pollfd pfd = {master, POLLIN, 0};
    while (got + 1 < n && poll(&pfd, 1, 200) > 0) {
        ssize_t r = read(master, buf + got, n - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    buf[got] = '\0';
    return got;
}

static void test_progress_draws_on_a_terminal_unless_disabled(void **state)
{
    (void)state;
    int master, slave;
    if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
        skip();
    struct termios tio;
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    int saved = dup(STDERR_FILENO);
    dup2(slave, STDERR_FILENO);

    unsetenv("KEEL_PROGRESS");
    kl_progress p;
    kl_progress_start(&p, "job", 10);
    int enabled = p.enabled;
    p.t_last_draw = p.t_start - 1;
    kl_progress_update(&p, 5);
    int drawn = p.drawn;
    kl_progress_finish(&p);

    setenv("KEEL_PROGRESS", "0", 1);
    kl_progress q;
    kl_progress_start(&q, "off", 10);
    int q_enabled = q.enabled;
    q.t_last_draw = q.t_start - 1;
    kl_progress_update(&q, 5);
    kl_progress_finish(&q);
    unsetenv("KEEL_PROGRESS");

    dup2(saved, STDERR_FILENO);
    close(saved);
    close(slave);
    char out[1024];
    read_pty(master, out, sizeof out);
    close(master);

    assert_int_equal(enabled, 1);
    assert_int_equal(drawn, 1);
    assert_int_equal(q_enabled, 0);
    /* Two draws of "\r<line>\033[K" (the update and the final state), then a newline. */
    assert_memory_equal(out, "\rjob [############------------]  50%", 36);
    const char *second = strstr(out + 1, "\rjob [");
    assert_non_null(second);
    assert_non_null(strstr(out, "\033[K\rjob"));
    size_t len = strlen(out);
    assert_string_equal(out + len - 4, "\033[K\n");
    assert_null(strstr(out, "off"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_line_shows_bar_percent_rate_and_eta),
        cmocka_unit_test(test_progress_percent_is_exact_integer_division),
        cmocka_unit_test(test_progress_rate_uses_suffixes_and_eta_rounds),
        cmocka_unit_test(test_progress_unknown_total_shows_count_rate_and_elapsed),
        cmocka_unit_test(test_progress_nothing_done_has_no_eta),
        cmocka_unit_test(test_progress_complete_shows_elapsed_time),
        cmocka_unit_test(test_progress_eta_beyond_99_hours_is_capped),
        cmocka_unit_test(test_progress_long_label_is_cut_on_a_character_boundary),
        cmocka_unit_test(test_progress_format_truncates_into_small_buffer),
        cmocka_unit_test(test_progress_redraws_at_most_ten_times_a_second),
        cmocka_unit_test(test_progress_is_silent_when_stderr_is_not_a_terminal),
        cmocka_unit_test(test_progress_draws_on_a_terminal_unless_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
