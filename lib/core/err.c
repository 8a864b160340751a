/*
 * Error reporting. The buffers in kl_err are fixed-size and vsnprintf writes
 * into them directly, so reporting an error never allocates: a failed malloc
 * can still be described to the user.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keel/err.h"
#include "core/common.h"

const char *kl_strerror(int code)
{
    switch (code) {
    case KL_OK: return "success";
    case KL_EINVAL: return "invalid argument";
    case KL_ENOMEM: return "out of memory";
    case KL_EIO: return "input/output error";
    case KL_EPARSE: return "malformed input";
    case KL_ENOTFOUND: return "not found";
    case KL_ECORRUPT: return "corrupt data";
    case KL_ECHECK: return "check failed";
    case KL_EUNSUPPORTED: return "unsupported";
    case KL_ERANGE: return "out of range";
    case KL_EEXIST: return "already exists";
    default: return "unknown error";
    }
}

int kl_err_set(kl_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->ctx[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int kl_err_ctx(kl_err *err, const char *fmt, ...)
{
    if (!err)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->ctx, sizeof err->ctx, fmt, ap);
    va_end(ap);
    return err->code;
}

void kl_err_clear(kl_err *err)
{
    if (!err)
        return;
    err->code = 0;
    err->msg[0] = '\0';
    err->ctx[0] = '\0';
}

char *kl_err_format(const kl_err *err, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    const char *msg = err->msg[0] ? err->msg : kl_strerror(err->code);
    if (err->ctx[0])
        snprintf(buf, n, "%s (%s)", msg, err->ctx);
    else
        snprintf(buf, n, "%s", msg);
    return buf;
}
