/*
 * The rp_error record: setting it where a failure is detected, adding context on the
 * way up, formatting it as "path:line:column: message", and status names. Messages live
 * in the caller's fixed buffer, so an out-of-memory error can always be reported.
 */
#include "common/common_int.h"

/*
 * Fill the message of @p err from a format. vsnprintf truncates safely; a format error
 * (negative return) leaves a generic message rather than garbage.
 */
static void set_msg(rp_error *err, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void set_msg(rp_error *err, const char *fmt, va_list ap)
{
    if (vsnprintf(err->msg, sizeof(err->msg), fmt, ap) < 0)
        rp_x_strlcpy(err->msg, rp_status_str(err->code), sizeof(err->msg));
}

int rp_error_set_(rp_error *err, rp_status code, const char *func, const char *fmt, ...)
{
    if (!err)
        return code;
    rp_error_clear(err);
    err->code = code;
    err->func = func;
    va_list ap;
    va_start(ap, fmt);
    set_msg(err, fmt, ap);
    va_end(ap);
    return code;
}

int rp_error_set_at_(rp_error *err,
                     rp_status code,
                     const char *func,
                     const char *path,
                     long line,
                     long col,
                     const char *fmt,
                     ...)
{
    if (!err)
        return code;
    rp_error_clear(err);
    err->code = code;
    err->func = func;
    rp_x_strlcpy(err->path, path ? path : "", sizeof(err->path));
    err->line = line > 0 ? line : 0;
    err->column = col > 0 ? col : 0;
    va_list ap;
    va_start(ap, fmt);
    set_msg(err, fmt, ap);
    va_end(ap);
    return code;
}

void rp_error_clear(rp_error *err)
{
    if (!err)
        return;
    err->code = RP_OK;
    err->sys_code = 0;
    err->func = NULL;
    err->path[0] = '\0';
    err->line = 0;
    err->column = 0;
    err->msg[0] = '\0';
}

void rp_x_error_sys(rp_error *err, int sys_code)
{
    if (err)
        err->sys_code = sys_code;
}

int rp_x_error_prefix(rp_error *err, const char *fmt, ...)
{
    if (!err)
        return RP_OK;
    if (err->code == RP_OK)
        return RP_OK;
    char context[sizeof(err->msg)];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(context, sizeof(context), fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    /* Join "context: message", truncating a long chain; strlcpy keeps it terminated. */
    char joined[sizeof(err->msg)];
    size_t used = rp_x_strlcpy(joined, context, sizeof(joined));
    if (used < sizeof(joined))
        used += rp_x_strlcpy(joined + used, ": ", sizeof(joined) - used);
    if (used < sizeof(joined))
        rp_x_strlcpy(joined + used, err->msg, sizeof(joined) - used);
    rp_x_strlcpy(err->msg, joined, sizeof(err->msg));
    return err->code;
}

/*
 * Positions are written as a compiler would ("file:12:4: ...") when there is a path,
 * and spelt out when there is none (a model formula typed on the command line has only
 * a column).
 */
const char *rp_error_format(const rp_error *err, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    buf[0] = '\0';
    if (!err)
        return buf;

    const char *msg = err->msg[0] ? err->msg : rp_status_str(err->code);
    if (err->path[0] && err->line > 0 && err->column > 0)
        snprintf(buf, size, "%s:%ld:%ld: %s", err->path, err->line, err->column, msg);
    else if (err->path[0] && err->line > 0)
        snprintf(buf, size, "%s:%ld: %s", err->path, err->line, msg);
    else if (err->path[0])
        snprintf(buf, size, "%s: %s", err->path, msg);
    else if (err->line > 0 && err->column > 0)
        snprintf(buf, size, "line %ld, column %ld: %s", err->line, err->column, msg);
    else if (err->line > 0)
        snprintf(buf, size, "line %ld: %s", err->line, msg);
    else if (err->column > 0)
        snprintf(buf, size, "column %ld: %s", err->column, msg);
    else
        snprintf(buf, size, "%s", msg);
    return buf;
}

const char *rp_status_str(int code)
{
    switch (code) {
    case RP_OK:
        return "success";
    case RP_ENOMEM:
        return "out of memory";
    case RP_EINVAL:
        return "invalid argument";
    case RP_EIO:
        return "input/output error";
    case RP_EPARSE:
        return "parse error";
    case RP_EDATA:
        return "data violates the data standard";
    case RP_ESQL:
        return "database error";
    case RP_ENOTFOUND:
        return "not found";
    case RP_ENOCONV:
        return "did not converge";
    case RP_EDOM:
        return "mathematically undefined";
    case RP_EPERM:
        return "permission denied";
    case RP_ECANCELED:
        return "canceled";
    case RP_EINTERNAL:
        return "internal error";
    default:
        return "unknown error";
    }
}

_Noreturn void rp_x_bug_(const char *file, int line, const char *func, const char *msg)
{
    fprintf(stderr, "rapporteur: BUG: %s:%d: %s: %s\n", file, line, func, msg);
    fflush(stderr);
    abort();
}
