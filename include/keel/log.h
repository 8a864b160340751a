/*
 * Logging with levels. The library never prints on its own: log lines go to a
 * sink the program installs. The default sink writes "keel: <level>: <msg>"
 * to stderr for messages at or above the current level (default: warning;
 * KEEL_LOG=debug|info|warning|error overrides it).
 */
#ifndef KEEL_LOG_H
#define KEEL_LOG_H

enum kl_log_level {
    KL_LOG_LEVEL_DEBUG = 0,
    KL_LOG_LEVEL_INFO = 1,
    KL_LOG_LEVEL_WARNING = 2,
    KL_LOG_LEVEL_ERROR = 3,
    KL_LOG_LEVEL_OFF = 4,
};

typedef void (*kl_log_sink)(void *ud, enum kl_log_level level, const char *msg);

void kl_log_set_level(enum kl_log_level level);
enum kl_log_level kl_log_get_level(void);
/* Install a sink (NULL restores the stderr sink). */
void kl_log_set_sink(kl_log_sink sink, void *ud);
/* Parse "debug", "info", "warning", "error", "off"; returns -1 when unknown. */
int kl_log_level_parse(const char *s);
void kl_log(enum kl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
