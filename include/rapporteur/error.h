/*
 * rapporteur: status codes and the caller-owned error record.
 * Every fallible function returns RP_OK or a negative rp_status and, when given an
 * rp_error, fills it with a message that never contains personal data.
 */
#ifndef RAPPORTEUR_ERROR_H
#define RAPPORTEUR_ERROR_H

#include <rapporteur/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Status codes: 0 is success, failures are negative. */
typedef enum rp_status {
    RP_OK = 0,
    RP_ENOMEM = -1,
    RP_EINVAL = -2,
    RP_EIO = -3,
    RP_EPARSE = -4,
    RP_EDATA = -5, /* violates the data standard */
    RP_ESQL = -6,
    RP_ENOTFOUND = -7,
    RP_ENOCONV = -8, /* iterative method did not converge */
    RP_EDOM = -9,    /* mathematically undefined (e.g. estimate does not exist) */
    RP_EPERM = -10,
    RP_ECANCELED = -11,
    RP_EINTERNAL = -12
} rp_status;

/** Error details. Caller-owned; a fixed buffer so that OOM can still be reported. */
typedef struct rp_error {
    rp_status code;
    int sys_code;      /* errno, SQLite extended rc, GSL or GLPK code; 0 if none */
    const char *func;  /* __func__ of the setter */
    char path[256];    /* input file, "" if n/a */
    long line, column; /* 1-based input position, 0 if n/a */
    char msg[512];     /* lower-case, no final period, never personal data */
} rp_error;

/** Static initialiser for a cleared rp_error. */
/* clang-format off */
#define RP_ERROR_INIT {RP_OK, 0, NULL, "", 0, 0, ""}
/* clang-format on */

/**
 * Record an error. Safe with @p err == NULL.
 * @return @p code, so callers can write `return rp_error_set(err, RP_EINVAL, ...)`.
 */
RP_API int rp_error_set_(rp_error *err, rp_status code, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** Record an error at an input position (@p path line @p line, column @p col; 0 = n/a). */
RP_API int rp_error_set_at_(rp_error *err,
                            rp_status code,
                            const char *func,
                            const char *path,
                            long line,
                            long col,
                            const char *fmt,
                            ...) __attribute__((format(printf, 7, 8)));

#define rp_error_set(err, code, ...) rp_error_set_((err), (code), __func__, __VA_ARGS__)
#define rp_error_set_at(err, code, path, line, col, ...) \
    rp_error_set_at_((err), (code), __func__, (path), (line), (col), __VA_ARGS__)

/** Reset @p err to the cleared state. NULL-safe. */
RP_API void rp_error_clear(rp_error *err);

/**
 * Format @p err as "path:line:column: msg" (parts that are n/a are left out) into @p buf.
 * @return @p buf.
 */
RP_API const char *rp_error_format(const rp_error *err, char *buf, size_t size);

/** A short English name for @p code ("out of memory", "parse error", ...). */
RP_API const char *rp_status_str(int code);

#ifdef __cplusplus
}
#endif

#endif
