/* Logging: level filtering, custom sinks, the stderr line format, and KEEL_LOG at first use. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "keel/log.h"
#include "keel/parallel.h"

struct capture {
    int calls;
    enum kl_log_level level;
    char msg[2048];
};

static void capture_sink(void *ud, enum kl_log_level level, const char *msg)
{
    struct capture *c = ud;
    c->calls++;
    c->level = level;
    snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static void test_log_sink_gets_formatted_messages_at_or_above_level(void **state)
{
    (void)state;
    struct capture c = {0};
    kl_log_set_sink(capture_sink, &c);
    kl_log_set_level(KL_LOG_LEVEL_INFO);
    kl_log(KL_LOG_LEVEL_DEBUG, "hidden %d", 1);
    assert_int_equal(c.calls, 0);
    kl_log(KL_LOG_LEVEL_INFO, "read %d rows from '%s'", 150, "iris.csv");
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.level, KL_LOG_LEVEL_INFO);
    assert_string_equal(c.msg, "read 150 rows from 'iris.csv'");
    kl_log(KL_LOG_LEVEL_ERROR, "boom");
    assert_int_equal(c.calls, 2);
    assert_int_equal(c.level, KL_LOG_LEVEL_ERROR);

    kl_log_set_level(KL_LOG_LEVEL_OFF);
    kl_log(KL_LOG_LEVEL_ERROR, "silenced");
    assert_int_equal(c.calls, 2);
    assert_int_equal(kl_log_get_level(), KL_LOG_LEVEL_OFF);
    kl_log_set_level((enum kl_log_level)17);
    assert_int_equal(kl_log_get_level(), KL_LOG_LEVEL_OFF);
    kl_log_set_sink(NULL, NULL);
}

static void test_log_long_message_is_cut_with_ellipsis(void **state)
{
    (void)state;
    struct capture c = {0};
    kl_log_set_sink(capture_sink, &c);
    kl_log_set_level(KL_LOG_LEVEL_DEBUG);
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    kl_log(KL_LOG_LEVEL_WARNING, "%s", big);
    assert_int_equal(c.calls, 1);
    assert_int_equal(strlen(c.msg), 1023);
    assert_string_equal(c.msg + 1020, "...");
    assert_int_equal(c.msg[1019], 'x');
    kl_log_set_sink(NULL, NULL);
}

static void test_log_default_sink_writes_prefixed_line_to_stderr(void **state)
{
    (void)state;
    char path[] = "/tmp/keel_test_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    kl_log_set_sink(NULL, NULL);
    kl_log_set_level(KL_LOG_LEVEL_WARNING);
    kl_log(KL_LOG_LEVEL_INFO, "not shown");
    kl_log(KL_LOG_LEVEL_WARNING, "column '%s' renamed", "x");
    kl_log(KL_LOG_LEVEL_ERROR, "cannot open");
    dup2(saved, STDERR_FILENO);
    close(saved);

    char buf[256] = {0};
    assert_true(pread(fd, buf, sizeof buf - 1, 0) >= 0);
    close(fd);
    unlink(path);
    assert_string_equal(buf, "keel: warning: column 'x' renamed\nkeel: error: cannot open\n");
}

static void test_log_level_parse_accepts_the_five_names(void **state)
{
    (void)state;
    assert_int_equal(kl_log_level_parse("debug"), KL_LOG_LEVEL_DEBUG);
    assert_int_equal(kl_log_level_parse("info"), KL_LOG_LEVEL_INFO);
    assert_int_equal(kl_log_level_parse("warning"), KL_LOG_LEVEL_WARNING);
    assert_int_equal(kl_log_level_parse("ERROR"), KL_LOG_LEVEL_ERROR);
    assert_int_equal(kl_log_level_parse("off"), KL_LOG_LEVEL_OFF);
    assert_int_equal(kl_log_level_parse("verbose"), -1);
    assert_int_equal(kl_log_level_parse(""), -1);
    assert_int_equal(kl_log_level_parse(NULL), -1);
}

static atomic_int g_thread_calls;

static void count_sink(void *ud, enum kl_log_level level, const char *msg)
{
    (void)ud;
    (void)level;
    if (strncmp(msg, "task ", 5) == 0)
        atomic_fetch_add(&g_thread_calls, 1);
}

static void log_task(void *ctx, size_t t)
{
    (void)ctx;
    kl_log(KL_LOG_LEVEL_WARNING, "task %zu", t);
}

static void test_log_from_many_threads_reaches_the_sink_once_each(void **state)
{
    (void)state;
    kl_log_set_sink(count_sink, NULL);
    kl_log_set_level(KL_LOG_LEVEL_DEBUG);
    kl_threads_set(2);
    kl_parallel_for(500, log_task, NULL);
    kl_threads_set(0);
    assert_int_equal(atomic_load(&g_thread_calls), 500);
    kl_log_set_sink(NULL, NULL);
}

/* Runs this test binary in a fresh process with KEEL_LOG set (NULL: unset); returns its level. */
static int level_in_child(const char *keel_log)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (keel_log)
            setenv("KEEL_LOG", keel_log, 1);
        else
            unsetenv("KEEL_LOG");
        execl("/proc/self/exe", "test_log", "--print-level", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_log_level_comes_from_keel_log_at_first_use(void **state)
{
    (void)state;
    assert_int_equal(level_in_child("debug"), KL_LOG_LEVEL_DEBUG);
    assert_int_equal(level_in_child("error"), KL_LOG_LEVEL_ERROR);
    assert_int_equal(level_in_child("off"), KL_LOG_LEVEL_OFF);
    assert_int_equal(level_in_child("nonsense"), KL_LOG_LEVEL_WARNING);
    assert_int_equal(level_in_child(NULL), KL_LOG_LEVEL_WARNING);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--print-level") == 0)
        return (int)kl_log_get_level();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_sink_gets_formatted_messages_at_or_above_level),
        cmocka_unit_test(test_log_long_message_is_cut_with_ellipsis),
        cmocka_unit_test(test_log_default_sink_writes_prefixed_line_to_stderr),
        cmocka_unit_test(test_log_level_parse_accepts_the_five_names),
        cmocka_unit_test(test_log_from_many_threads_reaches_the_sink_once_each),
        cmocka_unit_test(test_log_level_comes_from_keel_log_at_first_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
