/*
 * Private helpers shared by every rapporteur module (curl's curlx_ idea): the rp_x_
 * functions here may also be used by cli/, which otherwise sees only the public API.
 * Contents: invariant macros, safe string copies, a growable string buffer, a vector of
 * owned strings, strict number parsing, file reading and the GSL error bridge.
 * Including this header also bans unsafe libc functions (banned.h), so include it after
 * any system header that is not already included below.
 */
#ifndef RP_COMMON_INT_H
#define RP_COMMON_INT_H

#include <rapporteur/common.h>
#include <rapporteur/error.h>

/*
 * Every libc header that declares a banned function is included before banned.h, so
 * a later #include of it is a no-op instead of a clash with the banning macros.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* Last, after every system header: */
#include "common/banned.h"

/* ==== invariants ==== */

/**
 * Report a broken internal invariant and abort. The only abort() in the library (git
 * BUG()); never use it for bad input, which is an RP_EINVAL or RP_EDATA error instead.
 */
#define RP_BUG(msg) rp_x_bug_(__FILE__, __LINE__, __func__, (msg))

/** Implementation of RP_BUG(); prints "rapporteur: BUG: file:line: func: msg". */
_Noreturn void rp_x_bug_(const char *file, int line, const char *func, const char *msg);

/*
 * Defensive branches that should be dead (SQLite ALWAYS/NEVER):
 *
 *     if (RP_NEVER(n_cells == 0))
 *         return rp_error_set(err, RP_EINTERNAL, "empty design");
 *
 * In builds with assertions (the default; NDEBUG unset) a condition that does not hold
 * is a bug and aborts through RP_BUG(), so tests and fuzzers notice. With NDEBUG the
 * macros are just the condition, and the defensive branch handles the impossible case.
 */
#ifndef NDEBUG
#    define RP_ALWAYS(x) ((x) ? true : (RP_BUG("RP_ALWAYS condition does not hold"), false))
#    define RP_NEVER(x)  ((x) ? (RP_BUG("RP_NEVER condition holds"), true) : false)
#else
#    define RP_ALWAYS(x) (!!(x))
#    define RP_NEVER(x)  (!!(x))
#endif

/** Number of elements of a true array (not a pointer). */
#define RP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ==== strings ==== */

/**
 * Copy the string @p src into @p dst of @p size bytes, truncating if needed; @p dst is
 * always NUL-terminated when @p size > 0 (BSD strlcpy, the replacement for the banned
 * strcpy/strncpy).
 *
 * @return strlen(src); a result >= @p size means the copy was truncated.
 */
size_t rp_x_strlcpy(char *dst, const char *src, size_t size);

/**
 * A NUL-terminated copy of the first @p n bytes of @p s (fewer if @p s ends earlier),
 * made with rp_malloc(); free with rp_free().
 *
 * @return the copy, or NULL on OOM.
 */
char *rp_x_strndup(const char *s, size_t n);

/**
 * Length (1 to 4) of the well-formed UTF-8 character at @p s, of which @p avail bytes
 * (at least 1) may be read, or 0 when there is none there: a stray continuation byte,
 * an overlong form, a surrogate, a code point over U+10FFFF, or a sequence cut short.
 */
size_t rp_x_utf8_char_len(const unsigned char *s, size_t avail);

/**
 * Offset of the first byte of s[0..len) that is not part of well-formed UTF-8 (as
 * rp_x_utf8_char_len() judges it), or @p len when all of it is. ASCII runs are skipped
 * eight bytes at a time.
 */
size_t rp_x_utf8_check(const unsigned char *s, size_t len);

/* ==== rp_x_buf: growable string buffer ==== */

/*
 * A string that grows as text is appended (Redis sds, curl dynbuf), always
 * NUL-terminated once anything was appended. Embed it and start it with RP_X_BUF_INIT:
 *
 *     rp_x_buf b = RP_X_BUF_INIT;
 *     rp_x_buf_puts(&b, "lists: ");
 *     for (size_t i = 0; i < k; i++)
 *         rp_x_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
 *     if (rp_x_buf_oom(&b)) { rc = rp_error_set(err, RP_ENOMEM, "out of memory"); goto out; }
 *     use(rp_x_buf_cstr(&b));
 *   out:
 *     rp_x_buf_release(&b);
 *
 * Failure is sticky: after one append runs out of memory every later append fails
 * too and the text stays as it was before the failure, so a sequence of appends can be
 * checked once at the end with rp_x_buf_oom(). Every append also returns RP_OK or
 * RP_ENOMEM for callers that check each step. The functions take no rp_error: the only
 * failure is RP_ENOMEM, which the caller reports.
 */
typedef struct rp_x_buf {
    char *data; /* NUL-terminated text, or NULL while nothing is allocated; owned */
    size_t len; /* bytes of text, not counting the NUL */
    size_t cap; /* bytes allocated at data */
    bool oom;   /* an append failed; later appends fail too */
} rp_x_buf;

/** Static initialiser for an empty rp_x_buf. */
/* clang-format off */
#define RP_X_BUF_INIT {NULL, 0, 0, false}
/* clang-format on */

/** Make @p b empty without freeing anything (for a buffer not yet holding memory). */
void rp_x_buf_init(rp_x_buf *b);

/**
 * Make sure @p extra more bytes (plus the NUL) fit without reallocating.
 * @return RP_OK; RP_ENOMEM (size overflow or OOM; sets the sticky flag).
 */
int rp_x_buf_grow(rp_x_buf *b, size_t extra);

/** Append @p len bytes of @p data (which may contain NULs). @return RP_OK; RP_ENOMEM. */
int rp_x_buf_append(rp_x_buf *b, const void *data, size_t len);

/** Append the string @p s. @return RP_OK; RP_ENOMEM. */
int rp_x_buf_puts(rp_x_buf *b, const char *s);

/** Append the byte @p c. @return RP_OK; RP_ENOMEM. */
int rp_x_buf_putc(rp_x_buf *b, char c);

/**
 * Append @p s (NULL = nothing) escaped for HTML and XML text and attribute values:
 * & < > " ' as entities, control characters other than tab and newline as U+FFFD (XML
 * 1.0 forbids them). Used by the report's HTML and SVG, the scorecards and the server.
 * @return RP_OK; RP_ENOMEM (sticky in @p b).
 */
int rp_x_buf_put_html(rp_x_buf *b, const char *s);

/** Append printf-formatted text. @return RP_OK; RP_ENOMEM; RP_EINVAL (bad format). */
int rp_x_buf_printf(rp_x_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** As rp_x_buf_printf() with a va_list (which it consumes). */
int rp_x_buf_vprintf(rp_x_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/** True when an append has failed since the buffer was started or reset. */
bool rp_x_buf_oom(const rp_x_buf *b);

/** The text so far; "" (a static string) when nothing was appended. Borrowed. */
const char *rp_x_buf_cstr(const rp_x_buf *b);

/** Forget the text (and the sticky failure) but keep the memory for reuse. */
void rp_x_buf_reset(rp_x_buf *b);

/**
 * Hand the text over to the caller, who frees it with rp_free(); @p b is left empty.
 * @return the text (an allocated "" when nothing was appended), or NULL when an append
 *         failed earlier or on OOM; @p b is released in every case.
 */
char *rp_x_buf_detach(rp_x_buf *b);

/** Free the memory of @p b and make it empty. NULL-safe. */
void rp_x_buf_release(rp_x_buf *b);

/* ==== rp_x_strvec: vector of owned strings ==== */

/*
 * A growing array of strings, each a private copy (for notes, labels, names):
 *
 *     rp_x_strvec notes = RP_X_STRVEC_INIT;
 *     if (rp_x_strvec_pushf(&notes, "list '%s' has no cases", name) != RP_OK) ...
 *     res->notes = rp_x_strvec_detach(&notes, &res->n_notes);   (never fails)
 *   ...
 *     rp_x_strv_free(res->notes, res->n_notes);
 *
 * While items is not NULL it is NULL-terminated: items[n] == NULL.
 */
typedef struct rp_x_strvec {
    char **items; /* n owned strings then NULL, or NULL while empty */
    size_t n;
    size_t cap; /* slots allocated, counting the NULL terminator */
} rp_x_strvec;

/** Static initialiser for an empty rp_x_strvec. */
/* clang-format off */
#define RP_X_STRVEC_INIT {NULL, 0, 0}
/* clang-format on */

/** Append a copy of @p s. @return RP_OK; RP_ENOMEM (@p v unchanged). */
int rp_x_strvec_push(rp_x_strvec *v, const char *s);

/** Append @p s itself. Takes ownership, also on failure (then @p s is freed).
 *  @return RP_OK; RP_ENOMEM. */
int rp_x_strvec_push_take(rp_x_strvec *v, char *s);

/** Append printf-formatted text. @return RP_OK; RP_ENOMEM; RP_EINVAL (bad format). */
int rp_x_strvec_pushf(rp_x_strvec *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Hand the array over: the caller owns it and frees it with rp_x_strv_free(). @p v is
 * left empty. Cannot fail.
 *
 * @param[out] n_out  number of strings; may be NULL.
 * @return the NULL-terminated array, or NULL when @p v was empty.
 */
char **rp_x_strvec_detach(rp_x_strvec *v, size_t *n_out);

/** Free every string and the array of @p v, leaving it empty. NULL-safe. */
void rp_x_strvec_release(rp_x_strvec *v);

/** Free an array of @p n strings as made by rp_x_strvec_detach(). NULL-safe. */
void rp_x_strv_free(char **items, size_t n);

/* ==== hashing for in-memory tables ==== */

/**
 * 64-bit FNV-1a of @p n bytes at @p p, with @p seed mixed into the offset basis (so one
 * table can hold keys of several kinds), finished by folding the high half into the low
 * one. Never 0, so tables may mark empty slots with 0. Not for anything an adversary
 * chooses keys for (no key): memo and set tables only.
 */
uint64_t rp_x_hash64(uint64_t seed, const void *p, size_t n);

/* ==== string and object arenas ==== */

/**
 * A bump allocator of linked blocks for many small objects freed together (name lists,
 * memo tables): allocations never move, so pointers into it stay valid until release.
 * Blocks are @c block bytes, or larger for one big allocation. Initialise with
 * RP_X_ARENA_INIT(block_bytes).
 */
typedef struct rp_x_arena_block rp_x_arena_block;

typedef struct rp_x_arena {
    rp_x_arena_block *head;
    size_t block; /* bytes of a new block */
} rp_x_arena;

/* clang-format off */
#define RP_X_ARENA_INIT(block_bytes) {NULL, (block_bytes)}
/* clang-format on */

/** @p size bytes aligned to @p align (a power of two). @return NULL on OOM. */
void *rp_x_arena_alloc(rp_x_arena *a, size_t size, size_t align);

/** A NUL-terminated copy of @p s[0..n). @return NULL on OOM. */
char *rp_x_arena_strndup(rp_x_arena *a, const char *s, size_t n);

/**
 * Free every block; with @p wipe, zero them first (sodium_memzero) because they held
 * personal data. The arena is left empty and usable. NULL-safe.
 */
void rp_x_arena_release(rp_x_arena *a, bool wipe);

/* ==== growable arrays ==== */

/**
 * Make room for @p need elements of @p size bytes in the array whose address is @p pp
 * (a `T **`, passed as void * so that any element type fits) and whose capacity, in
 * elements, is *@p cap. The capacity doubles from 16 until it holds @p need; the array
 * moves with rp_reallocarray(). Nothing changes when @p need <= *@p cap or on failure.
 *
 * @return RP_OK; RP_ENOMEM (size overflow or OOM; the array and *@p cap as they were).
 */
int rp_x_grow(void *pp, size_t *cap, size_t need, size_t size);

/* ==== numbers ==== */

/**
 * Parse a whole string as a base-10 integer in [@p min, @p max] (the replacement for
 * the banned atoi/atol). Accepts an optional sign then digits, nothing else: no
 * surrounding space, no "0x", no empty string.
 *
 * @return 0 and *out set; -1 (syntax or out of range) with *out untouched.
 */
int rp_x_parse_long(const char *s, long min, long max, long *out);

/**
 * Parse a whole string as a finite decimal number in [@p min, @p max] (replacing the
 * banned atof). Accepts an optional sign, digits with at most one '.', and an optional
 * exponent ("1", "-0.5", ".5", "2.", "1e-3"); rejects spaces, "inf", "nan", hex, and
 * values that overflow or underflow a double (ERANGE).
 *
 * @return 0 and *out set; -1 with *out untouched.
 */
int rp_x_parse_double(const char *s, double min, double max, double *out);

/* ==== files ==== */

/**
 * Read a whole file into memory.
 *
 * @param[out] out      the bytes plus a terminating NUL (not counted in *len_out),
 *                      free with rp_free(); NULL on failure.
 * @param[out] len_out  bytes read.
 * @param[in]  path     file to read; it appears in messages and err->path.
 * @param[in]  max_len  largest size accepted, bytes; 0 for no limit.
 * @param[out] err      details on failure (sys_code = errno); may be NULL.
 * @return RP_OK; RP_EIO (cannot open or read, or larger than @p max_len); RP_ENOMEM.
 */
int rp_x_read_file(char **out, size_t *len_out, const char *path, size_t max_len, rp_error *err);

/**
 * The names of the entries of directory @p dir, "." and ".." left out, in readdir order,
 * appended to @p out (strings owned by it).
 * @return RP_OK; RP_EIO when @p dir cannot be opened (errno as opendir left it: ENOENT
 *         when it does not exist); RP_ENOMEM.
 */
int rp_x_dir_list(rp_x_strvec *out, const char *dir);

/**
 * Remove the plain files of the flat directory @p dir (no subdirectories are descended
 * into), then the directory; best effort, for cleaning up after a failure.
 */
void rp_x_remove_flat_dir(const char *dir);

/* ==== errors ==== */

/** Set err->sys_code (errno, SQLite, GSL or GLPK code) after rp_error_set(). NULL-safe. */
void rp_x_error_sys(rp_error *err, int sys_code);

/**
 * Add context in front of an error message already set, as "context: old message"
 * (git "error: ..." chains). Keeps the code and position. NULL-safe; does nothing when
 * @p err holds no error.
 *
 * @return err->code (RP_OK when @p err is NULL), so callers can `return` it.
 */
int rp_x_error_prefix(rp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ==== GSL bridge ==== */

/*
 * rp_init() replaces GSL's aborting error handler with one that records the last GSL
 * error of the calling thread (reason, source file and line, gsl_errno). A wrapper
 * around a GSL call copies it into the caller's rp_error:
 *
 *     rp_x_gsl_clear();
 *     int status = gsl_linalg_cholesky_decomp1(m);
 *     if (status != GSL_SUCCESS) {
 *         rc = rp_x_gsl_error_set(err, RP_EDOM, status, "cholesky of X'WX");
 *         goto out;
 *     }
 *
 * Every library entry point that can reach GSL must have called rp_init() first (it is
 * cheap after the first call). GLPK note: glp_term_out() is per thread in Debian's GLPK,
 * so code using GLPK from another thread calls glp_term_out(GLP_OFF) there as well.
 */
typedef struct rp_x_gsl_error {
    int gsl_errno;    /* GSL_EDOM, GSL_ESING, ...; 0 if none recorded */
    int line;         /* line in the GSL source that raised it */
    char reason[256]; /* GSL's message (fixed text, never data) */
    char file[128];   /* GSL source file */
} rp_x_gsl_error;

/**
 * The last GSL error raised on this thread since rp_x_gsl_clear().
 * @param[out] out  a copy of it; may be NULL to just ask.
 * @return true if there is one (else *out is cleared).
 */
bool rp_x_gsl_last(rp_x_gsl_error *out);

/** Forget the last GSL error of this thread. */
void rp_x_gsl_clear(void);

/**
 * Record a failed GSL call in @p err as "@p what: reason" with code @p code and
 * sys_code = @p gsl_status. The reason is the one the handler recorded, or
 * gsl_strerror(@p gsl_status) when there is none. Use through rp_x_gsl_error_set().
 *
 * @return @p code.
 */
int rp_x_gsl_error_set_(
    rp_error *err, rp_status code, int gsl_status, const char *func, const char *what);

#define rp_x_gsl_error_set(err, code, gsl_status, what) \
    rp_x_gsl_error_set_((err), (code), (gsl_status), __func__, (what))

#endif
