/*
 * Helpers for rapporteur's cmocka unit tests (STYLE.md section 7): assert_close for
 * doubles, assert_rp_ok / assert_rp_status for status codes with the error message,
 * RP_TRY, the allocation-failure sweep, and fixture paths and temporary directories.
 * Include it instead of <cmocka.h>; everything here is static inline.
 */
#ifndef RP_TEST_H
#define RP_TEST_H

#include <rapporteur/common.h>
#include <rapporteur/error.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* After the headers it needs (stdarg, stddef, setjmp, stdint): */
#include <cmocka.h>

/* ==== doubles ==== */

/*
 * True when |actual - expected| <= atol + rtol * |expected| (numpy isclose, GSL
 * gsl_test_rel). Two NaNs are close (an expected "undefined"), as are equal infinities.
 */
static inline bool rp_test_is_close(double actual, double expected, double rtol, double atol)
{
    if (isnan(expected) || isnan(actual))
        return isnan(expected) && isnan(actual);
    if (isinf(expected) || isinf(actual))
        return actual == expected;
    return fabs(actual - expected) <= atol + rtol * fabs(expected);
}

static inline void rp_test_assert_close_(double actual,
                                         double expected,
                                         double rtol,
                                         double atol,
                                         const char *expr,
                                         const char *file,
                                         int line)
{
    if (rp_test_is_close(actual, expected, rtol, atol))
        return;
    print_error("%s = %.17g, expected %.17g (difference %.3g, relative %.3g; rtol %g, "
                "atol %g)\n",
                expr, actual, expected, actual - expected,
                expected != 0 ? fabs(actual - expected) / fabs(expected) : HUGE_VAL, rtol, atol);
    _fail(file, line);
}

/**
 * Assert that the double @p actual is within @p atol + @p rtol * |@p expected| of
 * @p expected; on failure print both values and the difference.
 */
#define assert_close(actual, expected, rtol, atol) \
    rp_test_assert_close_((actual), (expected), (rtol), (atol), #actual, __FILE__, __LINE__)

/* ==== status codes ==== */

static inline void rp_test_assert_status_(
    int rc, int expected, const rp_error *err, const char *expr, const char *file, int line)
{
    if (rc == expected && (!err || rc == RP_OK || err->code == rc))
        return;
    char buf[1024];
    print_error("%s returned %d (%s), expected %d (%s)\n", expr, rc, rp_status_str(rc), expected,
                rp_status_str(expected));
    if (err && rc != RP_OK)
        print_error("  error (code %d, set by %s): %s\n", (int)err->code,
                    err->func ? err->func : "?", rp_error_format(err, buf, sizeof(buf)));
    if (err && rc != RP_OK && err->code != rc)
        print_error("  err->code %d does not match the return value\n", (int)err->code);
    _fail(file, line);
}

/** Assert that @p rc is RP_OK; otherwise print the code and @p errp's message
 *  (@p errp is a `rp_error *` and may be NULL). */
#define assert_rp_ok(rc, errp) rp_test_assert_status_((rc), RP_OK, (errp), #rc, __FILE__, __LINE__)

/** Assert that @p rc is @p expected and, unless @p errp is NULL, that errp->code agrees. */
#define assert_rp_status(rc, expected, errp) \
    rp_test_assert_status_((rc), (expected), (errp), #rc, __FILE__, __LINE__)

/** Test code only (STYLE.md section 3): fail the test unless @p expr returns RP_OK. */
#define RP_TRY(expr) assert_rp_ok((expr), NULL)

/* ==== allocation-failure sweep ==== */

/**
 * Run @p run with the N-th allocation failing, for N = 1, 2, ... until it succeeds
 * (SQLite fault simulation, libssh nalloc). Every failing run must return RP_ENOMEM and
 * leave no allocation live; the successful run's results are freed by @p undo (may be
 * NULL), after which nothing may be live either. Gives up after @p max_n runs.
 *
 * @return the number of allocations the successful run made.
 */
static inline unsigned long rp_test_alloc_sweep_(int (*run)(void *payload),
                                                 void (*undo)(void *payload),
                                                 void *payload,
                                                 unsigned long max_n,
                                                 const char *file,
                                                 int line)
{
    long baseline = rp_alloc_live();
    for (unsigned long n = 1; n <= max_n; n++) {
        rp_alloc_fail_after(n);
        int rc = run(payload);
        rp_alloc_fail_after(0);
        if (rc == RP_OK) {
            if (undo)
                undo(payload);
            if (rp_alloc_live() != baseline) {
                print_error("alloc sweep: %ld allocations leaked after success at N=%lu\n",
                            rp_alloc_live() - baseline, n);
                _fail(file, line);
            }
            return n - 1;
        }
        if (rc != RP_ENOMEM) {
            print_error("alloc sweep: failing allocation %lu gave %d (%s), not RP_ENOMEM\n", n, rc,
                        rp_status_str(rc));
            _fail(file, line);
        }
        if (rp_alloc_live() != baseline) {
            print_error("alloc sweep: %ld allocations leaked when allocation %lu failed\n",
                        rp_alloc_live() - baseline, n);
            _fail(file, line);
        }
    }
    print_error("alloc sweep: still failing after %lu allocations\n", max_n);
    _fail(file, line);
    return max_n;
}

#define rp_test_alloc_sweep(run, undo, payload, max_n) \
    rp_test_alloc_sweep_((run), (undo), (payload), (max_n), __FILE__, __LINE__)

/* ==== fixtures ==== */

/**
 * Write the path of fixture @p rel ("mse/UKdat.csv") into @p buf: under $RP_TEST_DATA
 * as set by CTest, else the tests/fixtures directory this binary was built from.
 * Fails the test if the path does not fit. @return @p buf.
 */
static inline const char *rp_test_fixture(char *buf, size_t size, const char *rel)
{
    const char *dir = getenv("RP_TEST_DATA");
#ifdef RP_TEST_DATA_DEFAULT
    if (!dir || !*dir)
        dir = RP_TEST_DATA_DEFAULT;
#endif
    if (!dir || !*dir)
        dir = "tests/fixtures";
    int n = snprintf(buf, size, "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= size)
        fail_msg("fixture path too long for '%s'", rel);
    return buf;
}

/**
 * Write the path of @p rel ("data/ctdc/x.csv") in the source tree into @p buf: under
 * $RP_SRC as set by CTest, else two levels above the fixtures directory. Fails the test
 * if the path does not fit. @return @p buf.
 */
static inline const char *rp_test_source_file(char *buf, size_t size, const char *rel)
{
    const char *src = getenv("RP_SRC");
    char fx[512];
    int n = 0;
    if (src != NULL && *src != '\0') {
        n = snprintf(buf, size, "%s/%s", src, rel);
    } else {
        rp_test_fixture(fx, sizeof(fx), "..");
        n = snprintf(buf, size, "%s/../%s", fx, rel);
    }
    if (n < 0 || (size_t)n >= size)
        fail_msg("path too long for '%s'", rel);
    return buf;
}

/**
 * Read a whole file (fixture or golden output) into memory made with malloc(), with
 * a NUL after the last byte. Fails the test when it cannot be read.
 * @param[out] len_out  bytes read; may be NULL.
 */
static inline char *rp_test_slurp(const char *path, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fail_msg("cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096;
    size_t len = 0;
    char *data = malloc(cap);
    assert_non_null(data);
    for (;;) {
        size_t n = fread(data + len, 1, cap - len - 1, f);
        if (n == 0)
            break;
        len += n;
        if (len + 1 == cap) {
            cap *= 2;
            char *bigger = realloc(data, cap);
            assert_non_null(bigger);
            data = bigger;
        }
    }
    assert_false(ferror(f));
    fclose(f);
    data[len] = '\0';
    if (len_out)
        *len_out = len;
    return data;
}

/* ==== temporary directories ==== */

/**
 * Create a new empty directory under $TMPDIR (or /tmp) and write its path into @p buf.
 * Remove it with rp_test_rmtree(). Fails the test on error. @return @p buf.
 */
static inline const char *rp_test_tmpdir(char *buf, size_t size)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    int n = snprintf(buf, size, "%s/rp-test-XXXXXX", base);
    if (n < 0 || (size_t)n >= size)
        fail_msg("temporary directory path too long");
    if (!mkdtemp(buf))
        fail_msg("mkdtemp failed: %s", strerror(errno));
    return buf;
}

/** Remove @p path and, for a directory, everything below it. Missing paths are fine. */
static inline void rp_test_rmtree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char child[4096];
                int n = snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
                if (n > 0 && (size_t)n < sizeof(child))
                    rp_test_rmtree(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

#endif
