/*
 * Unit tests of the common module (src/common): the counting allocator and its fault
 * injection, rp_error setting and formatting, strict number parsing, the string buffer
 * and string vector, file reading and the GSL error bridge.
 */
#include "common/common_int.h"
#include "rp_test.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_log.h>
#include <limits.h>

/* ==== allocator ==== */

static void common_alloc__counts_live_allocations(void **state)
{
    (void)state;
    long base = rp_alloc_live();
    void *a = rp_malloc(10);
    void *b = rp_calloc(3, 4);
    char *c = rp_strdup("abc");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(rp_alloc_live(), base + 3);
    void *d = rp_realloc(NULL, 5); /* realloc of NULL is a new block */
    assert_non_null(d);
    assert_int_equal(rp_alloc_live(), base + 4);
    a = rp_realloc(a, 1000); /* resizing is not */
    assert_non_null(a);
    assert_int_equal(rp_alloc_live(), base + 4);
    rp_free(a);
    rp_free(b);
    rp_free(c);
    rp_free(d);
    rp_free(NULL);
    assert_int_equal(rp_alloc_live(), base);
}

static void common_alloc__fail_after_fails_nth_and_later(void **state)
{
    (void)state;
    long base = rp_alloc_live();
    rp_alloc_fail_after(3);
    void *a = rp_malloc(8);
    void *b = rp_malloc(8);
    void *c = rp_malloc(8);
    void *d = rp_calloc(1, 8);
    char *e = rp_strdup("x");
    rp_alloc_fail_after(0);
    void *f = rp_malloc(8);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_null(d);
    assert_null(e);
    assert_non_null(f);
    rp_free(a);
    rp_free(b);
    rp_free(f);
    assert_int_equal(rp_alloc_live(), base);
}

static void common_alloc__realloc_failure_keeps_block(void **state)
{
    (void)state;
    char *p = rp_malloc(4);
    assert_non_null(p);
    memcpy(p, "abc", 4);
    rp_alloc_fail_after(1);
    char *q = rp_realloc(p, 4096);
    rp_alloc_fail_after(0);
    assert_null(q);
    assert_string_equal(p, "abc");
    rp_free(p);
}

static void common_alloc__array_allocators_reject_overflow(void **state)
{
    (void)state;
    long base = rp_alloc_live();
    assert_null(rp_calloc(SIZE_MAX / 2, 3));
    assert_null(rp_reallocarray(NULL, SIZE_MAX / 8 + 1, 16));
    void *p = rp_reallocarray(NULL, 4, sizeof(double));
    assert_non_null(p);
    rp_free(p);
    assert_int_equal(rp_alloc_live(), base);
}

static void common_alloc__zero_size_is_not_failure(void **state)
{
    (void)state;
    void *a = rp_malloc(0);
    void *b = rp_calloc(0, 8);
    void *c = rp_reallocarray(NULL, 0, 8);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    rp_free(a);
    rp_free(b);
    rp_free(c);
}

static void common_strndup__copies_prefix(void **state)
{
    (void)state;
    char *a = rp_x_strndup("abcdef", 3);
    char *b = rp_x_strndup("ab", 10);
    assert_string_equal(a, "abc");
    assert_string_equal(b, "ab");
    rp_free(a);
    rp_free(b);
}

/* ==== errors ==== */

static void common_error__set_records_code_func_and_message(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_error_set(&err, RP_EINVAL, "stratum '%s' has %d lists", "2013", 1);
    assert_int_equal(rc, RP_EINVAL);
    assert_int_equal(err.code, RP_EINVAL);
    assert_string_equal(err.msg, "stratum '2013' has 1 lists");
    assert_string_equal(err.func, __func__);
    assert_string_equal(err.path, "");
    assert_int_equal(err.line, 0);
    rp_error_clear(&err);
    assert_int_equal(err.code, RP_OK);
    assert_string_equal(err.msg, "");
    assert_null(err.func);
}

static void common_error__null_err_is_safe(void **state)
{
    (void)state;
    assert_int_equal(rp_error_set(NULL, RP_ENOMEM, "x"), RP_ENOMEM);
    assert_int_equal(rp_error_set_at(NULL, RP_EPARSE, "f.csv", 1, 2, "x"), RP_EPARSE);
    rp_error_clear(NULL);
    rp_x_error_sys(NULL, 5);
    assert_int_equal(rp_x_error_prefix(NULL, "ctx"), RP_OK);
}

static void common_error__set_at_records_position(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    err.sys_code = 99;
    int rc =
        rp_error_set_at(&err, RP_EDATA, "cases.csv", 12, 4, "field '%s' expected integer", "age");
    assert_int_equal(rc, RP_EDATA);
    assert_string_equal(err.path, "cases.csv");
    assert_int_equal(err.line, 12);
    assert_int_equal(err.column, 4);
    assert_int_equal(err.sys_code, 0); /* setting clears what was there */
    rp_x_error_sys(&err, 2);
    assert_int_equal(err.sys_code, 2);
}

static void common_error__long_message_and_path_truncate(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    char big[2000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rp_error_set_at(&err, RP_EIO, big, 1, 1, "%s", big);
    assert_int_equal(strlen(err.path), sizeof(err.path) - 1);
    assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
    char out[64];
    rp_error_format(&err, out, sizeof(out));
    assert_int_equal(strlen(out), sizeof(out) - 1);
}

static void common_error__prefix_adds_context(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    assert_int_equal(rp_x_error_prefix(&err, "ignored"), RP_OK);
    assert_string_equal(err.msg, "");
    rp_error_set_at(&err, RP_EPARSE, "m.txt", 0, 7, "unexpected '+'");
    assert_int_equal(rp_x_error_prefix(&err, "model %d", 2), RP_EPARSE);
    assert_string_equal(err.msg, "model 2: unexpected '+'");
    assert_int_equal(err.column, 7);
}

static void common_error_format__positions(void **state)
{
    (void)state;

    static const struct {
        const char *path;
        long line, col;
        const char *msg;
        rp_status code;
        const char *want;
    } cases[] = {
        {"cases.csv", 12, 4, "field 'age' expected integer 0..120", RP_EDATA,
         "cases.csv:12:4: field 'age' expected integer 0..120"},
        {"cases.csv", 12, 0, "ragged row", RP_EPARSE, "cases.csv:12: ragged row"},
        {"cases.csv", 0, 0, "cannot open file", RP_EIO, "cases.csv: cannot open file"},
        {"", 3, 9, "bad", RP_EPARSE, "line 3, column 9: bad"},
        {"", 3, 0, "bad", RP_EPARSE, "line 3: bad"},
        {"", 0, 5, "unknown list 'XY'", RP_EINVAL, "column 5: unknown list 'XY'"},
        {"", 0, 0, "plain", RP_EINVAL, "plain"},
        {"", 0, 0, "", RP_ENOMEM, "out of memory"},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        rp_error err = RP_ERROR_INIT;
        if (cases[i].msg[0])
            rp_error_set_at(&err, cases[i].code, cases[i].path, cases[i].line, cases[i].col, "%s",
                            cases[i].msg);
        else
            err.code = cases[i].code;
        char buf[256];
        assert_ptr_equal(rp_error_format(&err, buf, sizeof(buf)), buf);
        assert_string_equal(buf, cases[i].want);
    }
    char buf[8] = "x";
    assert_string_equal(rp_error_format(NULL, buf, sizeof(buf)), "");
    assert_null(rp_error_format(NULL, NULL, 0));
}

static void common_status_str__names_every_code(void **state)
{
    (void)state;

    static const struct {
        int code;
        const char *want;
    } cases[] = {
        {RP_OK, "success"},
        {RP_ENOMEM, "out of memory"},
        {RP_EINVAL, "invalid argument"},
        {RP_EIO, "input/output error"},
        {RP_EPARSE, "parse error"},
        {RP_EDATA, "data violates the data standard"},
        {RP_ESQL, "database error"},
        {RP_ENOTFOUND, "not found"},
        {RP_ENOCONV, "did not converge"},
        {RP_EDOM, "mathematically undefined"},
        {RP_EPERM, "permission denied"},
        {RP_ECANCELED, "canceled"},
        {RP_EINTERNAL, "internal error"},
        {-13, "unknown error"},
        {1, "unknown error"},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++)
        assert_string_equal(rp_status_str(cases[i].code), cases[i].want);
}

/* ==== parsing ==== */

static void common_parse_long__table(void **state)
{
    (void)state;

    static const struct {
        const char *s;
        long min, max;
        int rc;
        long want;
    } cases[] = {
        {"0", 0, 10, 0, 0},
        {"10", 0, 10, 0, 10},
        {"11", 0, 10, -1, 0},
        {"-1", 0, 10, -1, 0},
        {"-1", -5, 10, 0, -1},
        {"+7", 0, 10, 0, 7},
        {"007", 0, 10, 0, 7},
        {"9223372036854775807", 0, LONG_MAX, 0, LONG_MAX},
        {"9223372036854775808", 0, LONG_MAX, -1, 0},
        {"-9223372036854775808", LONG_MIN, 0, 0, LONG_MIN},
        {"-9223372036854775809", LONG_MIN, 0, -1, 0},
        {"", 0, 10, -1, 0},
        {"-", 0, 10, -1, 0},
        {"+", 0, 10, -1, 0},
        {" 1", 0, 10, -1, 0},
        {"1 ", 0, 10, -1, 0},
        {"1x", 0, 10, -1, 0},
        {"0x1", 0, 10, -1, 0},
        {"1.0", 0, 10, -1, 0},
        {"1e2", 0, 1000, -1, 0},
        {"--1", -10, 10, -1, 0},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        long v = 12345;
        int rc = rp_x_parse_long(cases[i].s, cases[i].min, cases[i].max, &v);
        if (rc != cases[i].rc)
            fail_msg("parse_long(\"%s\") returned %d, expected %d", cases[i].s, rc, cases[i].rc);
        assert_int_equal(v, cases[i].rc == 0 ? cases[i].want : 12345);
    }
    long v = 3;
    assert_int_equal(rp_x_parse_long(NULL, 0, 10, &v), -1);
    assert_int_equal(v, 3);
}

static void common_parse_double__table(void **state)
{
    (void)state;

    static const struct {
        const char *s;
        int rc;
        double want;
    } cases[] = {
        {"0", 0, 0.0},        {"1", 0, 1.0},
        {"-0.5", 0, -0.5},    {"+2.25", 0, 2.25},
        {".5", 0, 0.5},       {"2.", 0, 2.0},
        {"1e-3", 0, 1e-3},    {"6.02214076E23", 0, 6.02214076e23},
        {"1e+2", 0, 100.0},   {"0.1", 0, 0.1},
        {"1e309", -1, 0},     {"1e-400", -1, 0},
        {"", -1, 0},          {".", -1, 0},
        {"-", -1, 0},         {"e5", -1, 0},
        {"1e", -1, 0},        {"1e+", -1, 0},
        {"1.2.3", -1, 0},     {" 1", -1, 0},
        {"1 ", -1, 0},        {"inf", -1, 0},
        {"-Infinity", -1, 0}, {"nan", -1, 0},
        {"0x1p3", -1, 0},     {"1,5", -1, 0},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        double v = -777.0;
        int rc = rp_x_parse_double(cases[i].s, -HUGE_VAL, HUGE_VAL, &v);
        if (rc != cases[i].rc)
            fail_msg("parse_double(\"%s\") returned %d, expected %d", cases[i].s, rc, cases[i].rc);
        if (rc == 0)
            assert_close(v, cases[i].want, 1e-15, 0.0);
        else
            assert_close(v, -777.0, 0.0, 0.0);
    }
    double v = 0.0;
    assert_int_equal(rp_x_parse_double("0.95", 0.0, 1.0, &v), 0);
    assert_close(v, 0.95, 1e-15, 0.0);
    assert_int_equal(rp_x_parse_double("1.5", 0.0, 1.0, &v), -1);
    assert_int_equal(rp_x_parse_double("-0.1", 0.0, 1.0, &v), -1);
    assert_int_equal(rp_x_parse_double(NULL, 0.0, 1.0, &v), -1);
}

/* ==== strings ==== */

static void common_strlcpy__truncates_and_terminates(void **state)
{
    (void)state;
    char buf[4];
    assert_int_equal(rp_x_strlcpy(buf, "ab", sizeof(buf)), 2);
    assert_string_equal(buf, "ab");
    assert_int_equal(rp_x_strlcpy(buf, "abcdef", sizeof(buf)), 6);
    assert_string_equal(buf, "abc");
    buf[0] = 'z';
    assert_int_equal(rp_x_strlcpy(buf, "q", 0), 1);
    assert_int_equal(buf[0], 'z');
}

static void common_buf__appends_and_grows(void **state)
{
    (void)state;
    rp_x_buf b = RP_X_BUF_INIT;
    assert_string_equal(rp_x_buf_cstr(&b), "");
    RP_TRY(rp_x_buf_puts(&b, "lists:"));
    RP_TRY(rp_x_buf_putc(&b, ' '));
    RP_TRY(rp_x_buf_printf(&b, "%d of %s", 5, "UKdat"));
    assert_string_equal(rp_x_buf_cstr(&b), "lists: 5 of UKdat");
    /* Longer than the internal stack buffer and the first capacity. */
    char big[1001];
    memset(big, 'q', 1000);
    big[1000] = '\0';
    RP_TRY(rp_x_buf_printf(&b, "[%s]", big));
    assert_int_equal(b.len, strlen("lists: 5 of UKdat") + 1002);
    assert_int_equal(rp_x_buf_cstr(&b)[b.len - 1], ']');
    assert_int_equal(rp_x_buf_cstr(&b)[b.len], '\0');
    RP_TRY(rp_x_buf_append(&b, "\0z", 2));
    assert_int_equal(b.len, strlen("lists: 5 of UKdat") + 1004);
    rp_x_buf_reset(&b);
    assert_string_equal(rp_x_buf_cstr(&b), "");
    RP_TRY(rp_x_buf_puts(&b, "again"));
    char *text = rp_x_buf_detach(&b);
    assert_string_equal(text, "again");
    assert_null(b.data);
    rp_free(text);
    text = rp_x_buf_detach(&b); /* empty buffer detaches as "" */
    assert_string_equal(text, "");
    rp_free(text);
    rp_x_buf_release(&b);
    rp_x_buf_release(NULL);
}

static void common_buf__failure_is_sticky(void **state)
{
    (void)state;
    long base = rp_alloc_live();
    rp_x_buf b = RP_X_BUF_INIT;
    RP_TRY(rp_x_buf_puts(&b, "kept"));
    rp_alloc_fail_after(1);
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(rp_x_buf_puts(&b, big), RP_ENOMEM);
    rp_alloc_fail_after(0);
    assert_true(rp_x_buf_oom(&b));
    assert_int_equal(rp_x_buf_puts(&b, "more"), RP_ENOMEM);
    assert_int_equal(rp_x_buf_printf(&b, "%d", 1), RP_ENOMEM);
    assert_string_equal(rp_x_buf_cstr(&b), "kept");
    assert_null(rp_x_buf_detach(&b)); /* releases */
    assert_int_equal(rp_alloc_live(), base);
}

struct strvec_case {
    rp_x_strvec v;
};

static int strvec_build(void *payload)
{
    struct strvec_case *c = payload;
    rp_x_strvec v = RP_X_STRVEC_INIT;
    int rc = RP_OK;
    for (int i = 0; i < 20; i++) {
        rc = rp_x_strvec_pushf(&v, "note %d", i);
        if (rc != RP_OK)
            goto out;
    }
    rc = rp_x_strvec_push(&v, "last");
    if (rc != RP_OK)
        goto out;
    c->v = v;
    v = (rp_x_strvec)RP_X_STRVEC_INIT;
out:
    rp_x_strvec_release(&v);
    return rc;
}

static void strvec_undo(void *payload)
{
    struct strvec_case *c = payload;
    rp_x_strvec_release(&c->v);
}

static void common_strvec__push_and_detach(void **state)
{
    (void)state;
    struct strvec_case c = {RP_X_STRVEC_INIT};
    RP_TRY(strvec_build(&c));
    assert_int_equal(c.v.n, 21);
    assert_string_equal(c.v.items[0], "note 0");
    assert_string_equal(c.v.items[19], "note 19");
    assert_string_equal(c.v.items[20], "last");
    assert_null(c.v.items[21]);
    size_t n = 0;
    char **items = rp_x_strvec_detach(&c.v, &n);
    assert_int_equal(n, 21);
    assert_null(c.v.items);
    assert_int_equal(c.v.n, 0);
    rp_x_strv_free(items, n);
    assert_null(rp_x_strvec_detach(&c.v, &n));
    assert_int_equal(n, 0);
    rp_x_strv_free(NULL, 0);
    rp_x_strvec_release(NULL);
}

static void common_strvec__alloc_sweep(void **state)
{
    (void)state;
    struct strvec_case c = {RP_X_STRVEC_INIT};
    unsigned long n = rp_test_alloc_sweep(strvec_build, strvec_undo, &c, 1000);
    assert_true(n > 20);
}

static void common_strvec__push_take_frees_on_failure(void **state)
{
    (void)state;
    long base = rp_alloc_live();
    rp_x_strvec v = RP_X_STRVEC_INIT;
    char *s = rp_strdup("owned");
    assert_non_null(s);
    rp_alloc_fail_after(1);
    assert_int_equal(rp_x_strvec_push_take(&v, s), RP_ENOMEM);
    rp_alloc_fail_after(0);
    assert_int_equal(v.n, 0);
    assert_int_equal(rp_alloc_live(), base);
}

/* ==== files ==== */

static void common_read_file__reads_whole_file(void **state)
{
    (void)state;
    char dir[512];
    char path[600];
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/data.bin", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 20000; i++)
        fputc('a' + i % 26, f);
    fputc('\0', f);
    fclose(f);

    rp_error err = RP_ERROR_INIT;
    char *data = NULL;
    size_t len = 0;
    assert_rp_ok(rp_x_read_file(&data, &len, path, 0, &err), &err);
    assert_int_equal(len, 20001);
    assert_int_equal(data[19999], 'a' + 19999 % 26);
    assert_int_equal(data[len], '\0');
    rp_free(data);

    int rc = rp_x_read_file(&data, &len, path, 100, &err);
    assert_rp_status(rc, RP_EIO, &err);
    assert_null(data);
    assert_string_equal(err.path, path);
    assert_non_null(strstr(err.msg, "larger than"));

    rp_test_rmtree(dir);
    rc = rp_x_read_file(&data, &len, path, 0, &err);
    assert_rp_status(rc, RP_EIO, &err);
    assert_int_equal(err.sys_code, ENOENT);
    assert_null(data);
}

struct read_case {
    const char *path;
    char *data;
};

static int read_run(void *payload)
{
    struct read_case *c = payload;
    size_t len = 0;
    return rp_x_read_file(&c->data, &len, c->path, 0, NULL);
}

static void read_undo(void *payload)
{
    struct read_case *c = payload;
    rp_free(c->data);
    c->data = NULL;
}

static void common_read_file__alloc_sweep(void **state)
{
    (void)state;
    char dir[512];
    char path[600];
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/f.txt", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 50000; i++)
        fputc('0' + i % 10, f);
    fclose(f);
    struct read_case c = {path, NULL};
    rp_test_alloc_sweep(read_run, read_undo, &c, 100);
    rp_test_rmtree(dir);
}

/* ==== GSL bridge ==== */

static void common_gsl__handler_records_instead_of_abort(void **state)
{
    (void)state;
    rp_init();
    rp_init(); /* idempotent */
    rp_x_gsl_clear();
    assert_false(rp_x_gsl_last(NULL));

    gsl_sf_result r;
    int status = gsl_sf_log_e(-1.0, &r); /* log of a negative number: GSL_EDOM */
    assert_int_equal(status, GSL_EDOM);
    rp_x_gsl_error last;
    assert_true(rp_x_gsl_last(&last));
    assert_int_equal(last.gsl_errno, GSL_EDOM);
    assert_true(last.line > 0);
    assert_true(strlen(last.reason) > 0);

    rp_error err = RP_ERROR_INIT;
    int rc = rp_x_gsl_error_set(&err, RP_EDOM, status, "log of dark figure");
    assert_rp_status(rc, RP_EDOM, &err);
    assert_int_equal(err.sys_code, GSL_EDOM);
    assert_non_null(strstr(err.msg, "log of dark figure: "));
    assert_non_null(strstr(err.msg, last.reason));

    rp_x_gsl_clear();
    assert_false(rp_x_gsl_last(&last));
    assert_int_equal(last.gsl_errno, 0);
    rc = rp_x_gsl_error_set(&err, RP_ENOCONV, GSL_EMAXITER, NULL);
    assert_int_equal(rc, RP_ENOCONV);
    assert_int_equal(err.sys_code, GSL_EMAXITER);
    assert_non_null(strstr(err.msg, gsl_strerror(GSL_EMAXITER)));
}

/* ==== invariants ==== */

static void common_always_never__pass_through_when_true(void **state)
{
    (void)state;
    int x = 3;
    assert_true(RP_ALWAYS(x == 3));
    assert_false(RP_NEVER(x == 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(common_alloc__counts_live_allocations),
        cmocka_unit_test(common_alloc__fail_after_fails_nth_and_later),
        cmocka_unit_test(common_alloc__realloc_failure_keeps_block),
        cmocka_unit_test(common_alloc__array_allocators_reject_overflow),
        cmocka_unit_test(common_alloc__zero_size_is_not_failure),
        cmocka_unit_test(common_strndup__copies_prefix),
        cmocka_unit_test(common_error__set_records_code_func_and_message),
        cmocka_unit_test(common_error__null_err_is_safe),
        cmocka_unit_test(common_error__set_at_records_position),
        cmocka_unit_test(common_error__long_message_and_path_truncate),
        cmocka_unit_test(common_error__prefix_adds_context),
        cmocka_unit_test(common_error_format__positions),
        cmocka_unit_test(common_status_str__names_every_code),
        cmocka_unit_test(common_parse_long__table),
        cmocka_unit_test(common_parse_double__table),
        cmocka_unit_test(common_strlcpy__truncates_and_terminates),
        cmocka_unit_test(common_buf__appends_and_grows),
        cmocka_unit_test(common_buf__failure_is_sticky),
        cmocka_unit_test(common_strvec__push_and_detach),
        cmocka_unit_test(common_strvec__alloc_sweep),
        cmocka_unit_test(common_strvec__push_take_frees_on_failure),
        cmocka_unit_test(common_read_file__reads_whole_file),
        cmocka_unit_test(common_read_file__alloc_sweep),
        cmocka_unit_test(common_gsl__handler_records_instead_of_abort),
        cmocka_unit_test(common_always_never__pass_through_when_true),
    };
    return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
