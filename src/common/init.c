/*
 * One-time library initialisation and the GSL error bridge. GSL's default handler
 * aborts the process; ours records the error of the calling thread instead, and the
 * GSL wrappers turn that record into an rp_error (STYLE.md section 3, item 6).
 */
#include "common/common_int.h"

#include <glpk.h>
#include <gsl/gsl_errno.h>
#include <pthread.h>
#include <sodium.h>

/* The last GSL error on this thread; has_error says whether it is set. */
static _Thread_local rp_x_gsl_error last_gsl;
static _Thread_local bool has_gsl_error;

/*
 * Installed by rp_init(). GSL calls it before returning an error status (GSL_ERROR),
 * with fixed-text reasons, so nothing personal is copied. GSL_CONTINUE is a status
 * of iterative solvers rather than an error and never arrives here.
 */
static void gsl_handler(const char *reason, const char *file, int line, int gsl_errno)
{
    last_gsl.gsl_errno = gsl_errno;
    last_gsl.line = line;
    rp_x_strlcpy(last_gsl.reason, reason ? reason : "", sizeof(last_gsl.reason));
    rp_x_strlcpy(last_gsl.file, file ? file : "", sizeof(last_gsl.file));
    has_gsl_error = true;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_process(void)
{
    gsl_set_error_handler(gsl_handler);
    glp_term_out(GLP_OFF);
    /* libsodium (hashing, keys, sealing): idempotent and thread-safe. It fails (-1) only
       without a usable random source; the encoding functions call it again and report. */
    int sodium_status = sodium_init();
    (void)sodium_status;
}

void rp_init(void)
{
    if (pthread_once(&init_once, init_process) != 0)
        RP_BUG("pthread_once failed");
}

bool rp_x_gsl_last(rp_x_gsl_error *out)
{
    if (out) {
        if (has_gsl_error)
            *out = last_gsl;
        else
            memset(out, 0, sizeof(*out));
    }
    return has_gsl_error;
}

void rp_x_gsl_clear(void)
{
    has_gsl_error = false;
    memset(&last_gsl, 0, sizeof(last_gsl));
}

int rp_x_gsl_error_set_(
    rp_error *err, rp_status code, int gsl_status, const char *func, const char *what)
{
    const char *reason = has_gsl_error ? last_gsl.reason : gsl_strerror(gsl_status);
    rp_error_set_(err, code, func, "%s: %s", what ? what : "gsl", reason);
    rp_x_error_sys(err, gsl_status);
    return code;
}
