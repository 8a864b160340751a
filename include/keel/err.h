/*
 * keel errors: one struct, filled by every call that can fail.
 *
 * Ownership: a kl_err lives on the caller's stack; its buffers are fixed-size,
 * so filling it never allocates and works when memory has run out.
 *
 * A fallible call returns 0 on success or a negative KL_E* code, and fills the
 * caller's kl_err with that code, a message meant for a person (lowercase, no
 * final period, what failed first) and a context naming where the bad input
 * is ("data.csv:17:4", or a key such as "sla[0].metric").
 */
#ifndef KEEL_ERR_H
#define KEEL_ERR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Stable error codes. A retired code keeps its number; new codes go at the end. */
enum kl_errcode {
    KL_OK = 0,
    KL_EINVAL = -1,       /* invalid argument or usage */
    KL_ENOMEM = -2,       /* out of memory */
    KL_EIO = -3,          /* a file or system call failed */
    KL_EPARSE = -4,       /* malformed input (CSV, YAML, JSON, model file) */
    KL_ENOTFOUND = -5,    /* a file, column, key or id does not exist */
    KL_ECORRUPT = -6,     /* stored data failed its integrity check */
    KL_ECHECK = -7,       /* a check failed: SLA missed, constraint violated */
    KL_EUNSUPPORTED = -8, /* valid input that keel does not handle */
    KL_ERANGE = -9,       /* a value or size is out of range */
    KL_EEXIST = -10,      /* something that must be new already exists */
};

#define KL_ERR_MSG_MAX 512
#define KL_ERR_CTX_MAX 256

typedef struct kl_err {
    int code;                 /* a KL_E* code, 0 when nothing failed */
    char msg[KL_ERR_MSG_MAX]; /* for a person; truncated, never overflowed */
    char ctx[KL_ERR_CTX_MAX]; /* where: "file:line:column" or a key; may be empty */
} kl_err;

/* Name of a code ("invalid argument", ...); never NULL. */
const char *kl_strerror(int code);

/*
 * Fill err (which may be NULL) with code and a printf-style message, clear the
 * context, and return code, so a failing call can end with
 * `return kl_err_set(err, KL_EPARSE, "cannot parse '%s'", s);`.
 */
int kl_err_set(kl_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Set err's context with a printf-style format; returns err->code (or 0 if err is NULL). */
int kl_err_ctx(kl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reset err to "no error". */
void kl_err_clear(kl_err *err);

/*
 * Write "<msg> (<ctx>)", or "<msg>" when there is no context, into buf of size
 * n (always NUL-terminated when n > 0). Returns buf.
 */
char *kl_err_format(const kl_err *err, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
