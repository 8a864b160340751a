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

/*
 * A sink gets each message that passes the level, formatted, without a
 * trailing newline, at most 1023 bytes (longer ones are cut and end in
 * "..."). It may be called from any thread, concurrently.
 */
typedef void (*kl_log_sink)(void *ud, enum kl_log_level level, const char *msg);

/* Set the level; it then wins over KEEL_LOG. A value outside the enum is ignored. */
void kl_log_set_level(enum kl_log_level level);
/* The level: the last kl_log_set_level, else KEEL_LOG read at first use, else warning. */
enum kl_log_level kl_log_get_level(void);
/* Install a sink with its user data (NULL restores the stderr sink). */
void kl_log_set_sink(kl_log_sink sink, void *ud);
/* Parse "debug", "info", "warning", "error", "off" (any case); returns -1 when unknown. */
int kl_log_level_parse(const char *s);
/* Log a printf-style message at level (debug..error); never allocates. */
void kl_log(enum kl_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
