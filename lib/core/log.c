/*
 * Logging with levels, through a sink the program may replace.
 *
 * The level is read from KEEL_LOG the first time anything asks for it (not at
 * load time, so a program may set the variable first); an explicit
 * kl_log_set_level wins over the environment. Messages are formatted into a
 * stack buffer and the default sink writes each line with one write(2), so
 * lines from different threads never interleave and logging never allocates.
 * A message longer than the buffer is cut and ends in "...".
 *
 * Invariants: g_level is -1 until first use, then a kl_log_level; the sink
 * and its user data change together under g_sink_lock, so a thread never
 * calls a new sink with the old sink's data.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "keel/log.h"
#include "core/common.h"

#define LOG_MSG_MAX 1024

static atomic_int g_level = -1;
static pthread_mutex_t g_sink_lock = PTHREAD_MUTEX_INITIALIZER;
static kl_log_sink g_sink;
static void *g_sink_ud;

static const char *const level_names[] = {"debug", "info", "warning", "error", "off"};

int kl_log_level_parse(const char *s)
{
    if (!s)
        return -1;
    for (size_t i = 0; i < KL_ARRAY_LEN(level_names); i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return (int)i;
    return -1;
}

enum kl_log_level kl_log_get_level(void)
{
    int level = atomic_load(&g_level);
    if (level < 0) {
        int from_env = kl_log_level_parse(getenv("KEEL_LOG"));
        int unset = -1;
        atomic_compare_exchange_strong(&g_level, &unset,
                                       from_env >= 0 ? from_env : KL_LOG_LEVEL_WARNING);
        level = atomic_load(&g_level);
    }
    return (enum kl_log_level)level;
}

void kl_log_set_level(enum kl_log_level level)
{
    if ((int)level < KL_LOG_LEVEL_DEBUG || level > KL_LOG_LEVEL_OFF)
        return;
    atomic_store(&g_level, (int)level);
}

void kl_log_set_sink(kl_log_sink sink, void *ud)
{
    pthread_mutex_lock(&g_sink_lock);
    g_sink = sink;
    g_sink_ud = sink ? ud : NULL;
    pthread_mutex_unlock(&g_sink_lock);
}

static void write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += w;
        n -= (size_t)w;
    }
}

static void stderr_sink(enum kl_log_level level, const char *msg)
{
    char line[LOG_MSG_MAX + 32];
    int n = snprintf(line, sizeof line, "keel: %s: %s\n", level_names[level], msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    write_all(STDERR_FILENO, line, (size_t)n);
}

void kl_log(enum kl_log_level level, const char *fmt, ...)
{
    if ((int)level < KL_LOG_LEVEL_DEBUG || level >= KL_LOG_LEVEL_OFF || level < kl_log_get_level())
        return;
    char msg[LOG_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof msg)
        memcpy(msg + sizeof msg - 4, "...", 4);

    pthread_mutex_lock(&g_sink_lock);
    kl_log_sink sink = g_sink;
    void *ud = g_sink_ud;
    pthread_mutex_unlock(&g_sink_lock);
    if (sink)
        sink(ud, level, msg);
    else
        stderr_sink(level, msg);
}
