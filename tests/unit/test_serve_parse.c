/*
 * Unit tests of the server's request parsing (src/serve/parse.c) and HTML escaping:
 * query strings and forms, cookies, multipart bodies, header parameters, path checks,
 * route patterns; each with the limits and the refusals, and an allocation sweep.
 */
#include "rp_test.h"
#include "serve/serve_int.h"

/* ==== urlencoded ==== */

static void serve_urlencoded__table(void **state)
{
    (void)state;

    static const struct {
        const char *in;
        int rc;
        size_t n;
        const char *name0, *value0;
    } cases[] = {
        {"", RP_OK, 0, NULL, NULL},
        {"a=1", RP_OK, 1, "a", "1"},
        {"a=1&b=2", RP_OK, 2, "a", "1"},
        {"&&a=x+y&&", RP_OK, 1, "a", "x y"},
        {"q=%C3%A9t%C3%A9", RP_OK, 1, "q", "\xC3\xA9t\xC3\xA9"},
        {"flag", RP_OK, 1, "flag", ""},
        {"k=a%3Db%26c", RP_OK, 1, "k", "a=b&c"},
        {"=v", RP_EPARSE, 0, NULL, NULL},
        {"a=%zz", RP_EPARSE, 0, NULL, NULL},
        {"a=%4", RP_EPARSE, 0, NULL, NULL},
        {"a=%", RP_EPARSE, 0, NULL, NULL},
        {"a=%00", RP_EPARSE, 0, NULL, NULL},
        {"a=%FF%FE", RP_EPARSE, 0, NULL, NULL},
        {"%41%42=%43", RP_OK, 1, "AB", "C"},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        rp_serve__params p = RP_SERVE__PARAMS_INIT;
        rp_error err = RP_ERROR_INIT;
        int rc = rp_serve__parse_urlencoded(&p, cases[i].in, strlen(cases[i].in), 8, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu '%s': rc %d, expected %d (%s)", i, cases[i].in, rc, cases[i].rc,
                     err.msg);
        assert_int_equal(p.n, cases[i].n);
        if (cases[i].name0 != NULL) {
            assert_string_equal(p.v[0].name, cases[i].name0);
            assert_string_equal(p.v[0].value, cases[i].value0);
            assert_string_equal(rp_serve__param_get(&p, cases[i].name0), cases[i].value0);
        }
        if (rc != RP_OK)
            assert_true(err.msg[0] != '\0');
        rp_serve__params_release(&p);
    }
}

static void serve_urlencoded__limits(void **state)
{
    (void)state;
    rp_serve__params p = RP_SERVE__PARAMS_INIT;
    rp_error err = RP_ERROR_INIT;
    const char *many = "a=1&b=2&c=3&d=4";
    assert_rp_status(rp_serve__parse_urlencoded(&p, many, strlen(many), 3, &err), RP_EDATA, &err);
    assert_int_equal(p.n, 0);
    assert_rp_ok(rp_serve__parse_urlencoded(&p, many, strlen(many), 4, &err), &err);
    assert_int_equal(p.n, 4);
    rp_serve__params_release(&p);
    char name[RP_SERVE_MAX_NAME + 8];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_rp_status(rp_serve__parse_urlencoded(&p, name, strlen(name), 4, &err), RP_EPARSE, &err);
    /* Bytes after the given length are not read (no NUL needed). */
    assert_rp_ok(rp_serve__parse_urlencoded(&p, "a=1&b=2", 3, 4, &err), &err);
    assert_int_equal(p.n, 1);
    rp_serve__params_release(&p);
}

static int sweep_urlencoded(void *payload)
{
    rp_serve__params *p = payload;
    static const char s[] = "alpha=1&beta=two+words&gamma=%C3%A9";
    return rp_serve__parse_urlencoded(p, s, sizeof(s) - 1, 16, NULL);
}

static void sweep_release(void *payload)
{
    rp_serve__params_release(payload);
}

static void serve_urlencoded__alloc_failure_sweep(void **state)
{
    (void)state;
    rp_serve__params p = RP_SERVE__PARAMS_INIT;
    rp_test_alloc_sweep(sweep_urlencoded, sweep_release, &p, 100);
}

/* ==== cookies ==== */

static void serve_cookies__parse(void **state)
{
    (void)state;
    rp_serve__params p = RP_SERVE__PARAMS_INIT;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_serve__parse_cookies(&p, " a=1;b = x ; c=\"q v\";junk; =empty;d=", 16, &err),
                 &err);
    assert_int_equal(p.n, 4);
    assert_string_equal(rp_serve__param_get(&p, "a"), "1");
    assert_null(rp_serve__param_get(&p, "b")); /* "b " with a space is its name */
    assert_string_equal(rp_serve__param_get(&p, "c"), "q v");
    assert_string_equal(rp_serve__param_get(&p, "d"), "");
    rp_serve__params_release(&p);
    assert_rp_status(rp_serve__parse_cookies(&p, "a=1; b=2; c=3", 2, &err), RP_EDATA, &err);
    assert_int_equal(p.n, 0);
    assert_rp_ok(rp_serve__parse_cookies(&p, "", 2, &err), &err);
    assert_int_equal(p.n, 0);
}

/* ==== multipart ==== */

static void serve_multipart__two_parts(void **state)
{
    (void)state;
    static const char body[] = "--XyZ\r\n"
                               "Content-Disposition: form-data; name=\"csrf\"\r\n\r\n"
                               "token\r\n"
                               "--XyZ\r\n"
                               "Content-Disposition: form-data; name=\"file\"; "
                               "filename=\"C:\\\\up/../evil name.sealed\"\r\n"
                               "Content-Type: application/octet-stream\r\n\r\n"
                               "bin\r\n\0ary--XyZ-not\r\n"
                               "--XyZ--\r\n";
    rp_serve__parts parts = RP_SERVE__PARTS_INIT;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_serve__parse_multipart(&parts, "multipart/form-data; boundary=XyZ", body,
                                           sizeof(body) - 1, 8, &err),
                 &err);
    assert_int_equal(parts.n, 2);
    const rp_serve__part *c = rp_serve__part_get(&parts, "csrf");
    assert_non_null(c);
    assert_int_equal(c->len, 5);
    assert_memory_equal(c->data, "token", 5);
    assert_false(c->has_filename);
    const rp_serve__part *f = rp_serve__part_get(&parts, "file");
    assert_non_null(f);
    assert_true(f->has_filename);
    assert_string_equal(f->filename, "evil_name.sealed");
    assert_int_equal(f->len, 18);
    assert_memory_equal(f->data, "bin\r\n\0ary--XyZ-not", 18);
    rp_serve__parts_release(&parts);
}

static void serve_multipart__refusals(void **state)
{
    (void)state;

    static const struct {
        const char *ct;
        const char *body;
        int rc;
    } cases[] = {
        {"text/plain", "--a\r\n", RP_EPARSE},
        {"multipart/form-data", "--a\r\n", RP_EPARSE},
        {"multipart/form-data; boundary=a", "no boundary here", RP_EPARSE},
        {"multipart/form-data; boundary=a",
         "--a\r\nContent-Disposition: form-data\r\n\r\nx\r\n--a--", RP_EPARSE},
        {"multipart/form-data; boundary=a", "--a\r\nX: y\r\n\r\nx\r\n--a--", RP_EPARSE},
        {"multipart/form-data; boundary=a",
         "--a\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nno end", RP_EPARSE},
        {"multipart/form-data; boundary=a", "--aXX", RP_EPARSE},
        {"multipart/form-data; boundary=a", "--a--", RP_OK},
        {"multipart/form-data; boundary=\"a b\"",
         "--a b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--a b--", RP_OK},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        rp_serve__parts parts = RP_SERVE__PARTS_INIT;
        rp_error err = RP_ERROR_INIT;
        int rc = rp_serve__parse_multipart(&parts, cases[i].ct, cases[i].body,
                                           strlen(cases[i].body), 8, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, expected %d (%s)", i, rc, cases[i].rc, err.msg);
        rp_serve__parts_release(&parts);
    }
    /* Too many parts. */
    rp_x_buf b = RP_X_BUF_INIT;
    for (int i = 0; i < 5; i++)
        rp_x_buf_printf(&b, "--a\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
    rp_x_buf_puts(&b, "--a--\r\n");
    rp_serve__parts parts = RP_SERVE__PARTS_INIT;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_serve__parse_multipart(&parts, "multipart/form-data; boundary=a",
                                               rp_x_buf_cstr(&b), b.len, 4, &err),
                     RP_EDATA, &err);
    assert_rp_ok(rp_serve__parse_multipart(&parts, "multipart/form-data; boundary=a",
                                           rp_x_buf_cstr(&b), b.len, 5, &err),
                 &err);
    assert_int_equal(parts.n, 5);
    rp_serve__parts_release(&parts);
    rp_x_buf_release(&b);
}

/* ==== headers, paths, routes ==== */

static void serve_header_param__values(void **state)
{
    (void)state;
    char out[16];
    assert_true(rp_serve__header_param(out, sizeof(out), "a/b; x=1; boundary=\"q;r\"", "boundary"));
    assert_string_equal(out, "q;r");
    assert_true(rp_serve__header_param(out, sizeof(out), "a/b;BOUNDARY=z", "boundary"));
    assert_string_equal(out, "z");
    assert_false(rp_serve__header_param(out, sizeof(out), "a/b", "boundary"));
    assert_false(rp_serve__header_param(out, sizeof(out), "a/b; boundary=", "boundary"));
    assert_false(rp_serve__header_param(out, 4, "a/b; boundary=toolong", "boundary"));
    assert_true(rp_serve__media_type_is("Application/JSON; charset=utf-8", "application/json"));
    assert_false(rp_serve__media_type_is("application/jsonx", "application/json"));
    assert_false(rp_serve__media_type_is(NULL, "application/json"));
}

static void serve_path_ok__traversal_refused(void **state)
{
    (void)state;

    static const struct {
        const char *path;
        bool ok;
    } cases[] = {
        {"/", true},
        {"/submissions/12", true},
        {"/api/v1/recs", true},
        {"", false},
        {"submissions", false},
        {"/../etc/passwd", false},
        {"/a/../b", false},
        {"/a/./b", false},
        {"/..", false},
        {"//etc", false},
        {"/a//b", false},
        {"/a/", false},
        {"/a\\..\\b", false},
        {"/a%2e%2e", false},
        {"/a\x01", false},
        {"/\xC3\x28", false},
        {"/...", true},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        if (rp_serve__path_ok(cases[i].path) != cases[i].ok)
            fail_msg("case %zu '%s': expected %s", i, cases[i].path,
                     cases[i].ok ? "accepted" : "refused");
    }
    char longp[RP_SERVE_MAX_PATH + 2];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_false(rp_serve__path_ok(longp));
}

static void serve_route_match__ids(void **state)
{
    (void)state;
    long long ids[RP_SERVE_MAX_IDS];
    size_t n = 0;
    assert_true(rp_serve__route_match("/linkage/{id}/review", "/linkage/42/review", ids, &n));
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 42);
    assert_false(rp_serve__route_match("/linkage/{id}", "/linkage/", ids, &n));
    assert_false(rp_serve__route_match("/linkage/{id}", "/linkage/4x", ids, &n));
    assert_false(rp_serve__route_match("/linkage/{id}", "/linkage/-4", ids, &n));
    assert_false(rp_serve__route_match("/linkage/{id}", "/linkage/1234567890123456789", ids, &n));
    assert_false(rp_serve__route_match("/", "/x", ids, &n));
    assert_true(rp_serve__route_match("/", "/", ids, &n));
    assert_int_equal(n, 0);
    /* Every route of the table has a method, a pattern that starts with '/' and roles. */
    size_t nr = 0;
    const rp_serve_route *r = rp_serve_routes(&nr);
    assert_true(nr > 20);
    for (size_t i = 0; i < nr; i++) {
        assert_true(strcmp(r[i].method, "GET") == 0 || strcmp(r[i].method, "POST") == 0);
        assert_int_equal(r[i].pattern[0], '/');
        assert_true(r[i].roles != 0);
        assert_true(r[i].api == (strncmp(r[i].pattern, "/api/v1/", 8) == 0));
        /* Changes are POSTs; GETs never change anything. */
        if (r[i].changes)
            assert_string_equal(r[i].method, "POST");
    }
}

static void serve_esc__every_special_character(void **state)
{
    (void)state;
    rp_x_buf b = RP_X_BUF_INIT;
    rp_serve__esc(&b, "<a href=\"x\" onclick='y'>&\x01</a>");
    assert_string_equal(rp_x_buf_cstr(&b), "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;"
                                           "\xEF\xBF\xBD&lt;/a&gt;");
    rp_x_buf_release(&b);
}

/* %00 and broken escapes leave a control byte that the checks refuse; NUL never cuts. */
static void serve_unescape__nul_and_bad_escapes_marked(void **state)
{
    (void)state;

    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        {"/public", "/public"},
        {"/a%20b%2Fc", "/a b/c"},
        {"/public%00", "/public\x01"
                       "00"},
        {"/x%00/../y", "/x\x01"
                       "00/../y"},
        {"100%", "100\x01"},
        {"%zz", "\x01zz"},
        {"%4", "\x01"
               "4"},
        {"%C3%A9", "\xC3\xA9"},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        char buf[64];
        rp_x_strlcpy(buf, cases[i].in, sizeof(buf));
        size_t n = rp_serve__unescape(buf);
        assert_int_equal(n, strlen(cases[i].out));
        assert_string_equal(buf, cases[i].out);
    }
    char path[64];
    rp_x_strlcpy(path, "/public%00.html", sizeof(path));
    rp_serve__unescape(path);
    assert_false(rp_serve__path_ok(path));
}

static void serve_scrub_message__drops_quoted_text(void **state)
{
    (void)state;
    char msg[200];
    rp_x_strlcpy(msg, "x.sub:1:12: invalid JSON: string or '}' expected near 'SECRET-42'",
                 sizeof(msg));
    rp_serve__scrub_message(msg);
    assert_string_equal(msg, "x.sub:1:12: invalid JSON: string or '}' expected");
    rp_x_strlcpy(msg, "unexpected token near '; rest", sizeof(msg));
    rp_serve__scrub_message(msg);
    assert_null(strstr(msg, "near"));
    rp_x_strlcpy(msg, "nothing to remove", sizeof(msg));
    rp_serve__scrub_message(msg);
    assert_string_equal(msg, "nothing to remove");
}

static void serve_forwarded_for__last_entry_only(void **state)
{
    (void)state;

    static const struct {
        const char *xff;
        const char *out; /* NULL: refused */
    } cases[] = {
        {"10.0.0.1", "10.0.0.1"},
        {"198.51.100.7, 10.0.0.1", "10.0.0.1"},
        {"10.0.0.1,  2001:DB8::1 ", "2001:db8::1"},
        {"10.0.0.1, unknown", NULL},
        {"10.0.0.1, ", NULL},
        {"", NULL},
        {"10.0.0.1 10.0.0.2", NULL},
        {"1.2.3.4\nx", NULL},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        char out[64] = "kept";
        bool ok = rp_serve__forwarded_for(out, sizeof(out), cases[i].xff);
        assert_int_equal(ok, cases[i].out != NULL);
        assert_string_equal(out, cases[i].out != NULL ? cases[i].out : "kept");
    }
    char out[64] = "kept";
    assert_false(rp_serve__forwarded_for(out, sizeof(out), NULL));
}

static void serve_client_key__ipv6_by_64(void **state)
{
    (void)state;
    char a[80];
    char b[80];
    rp_serve__client_key(a, sizeof(a), "2001:db8:1:2:aaaa::1");
    rp_serve__client_key(b, sizeof(b), "2001:db8:1:2:bbbb::9");
    assert_string_equal(a, b);
    assert_string_equal(a, "i:2001:db8:1:2::/64");
    rp_serve__client_key(b, sizeof(b), "2001:db8:1:3::1");
    assert_string_not_equal(a, b);
    rp_serve__client_key(a, sizeof(a), "192.0.2.1");
    assert_string_equal(a, "i:192.0.2.1");
    rp_serve__client_key(a, sizeof(a), "::ffff:192.0.2.1");
    rp_serve__client_key(b, sizeof(b), "::ffff:192.0.2.2");
    assert_string_not_equal(a, b);
}

static void serve_public_url__parse(void **state)
{
    (void)state;

    static const struct {
        const char *url;
        const char *origin; /* NULL: refused */
        const char *host;
        bool https;
    } cases[] = {
        {"https://Rapporteur.Example", "https://rapporteur.example", "rapporteur.example", true},
        {"https://r.example:443/", "https://r.example", "r.example", true},
        {"https://r.example:8443", "https://r.example:8443", "r.example:8443", true},
        {"http://r.example:80", "http://r.example", "r.example", false},
        {"https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443", "[2001:db8::1]:8443", true},
        {"ftp://r.example", NULL, NULL, false},
        {"https://r.example/app", NULL, NULL, false},
        {"https://r.example?x", NULL, NULL, false},
        {"https://user@r.example", NULL, NULL, false},
        {"https://r.example:0", NULL, NULL, false},
        {"https://r.example:99999", NULL, NULL, false},
        {"https://", NULL, NULL, false},
        {"https://[zz]", NULL, NULL, false},
        {"r.example", NULL, NULL, false},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        char origin[300];
        char host[300];
        bool https = false;
        rp_error err = RP_ERROR_INIT;
        int rc = rp_serve__parse_public_url(origin, sizeof(origin), host, sizeof(host), &https,
                                            cases[i].url, &err);
        if (cases[i].origin == NULL) {
            assert_int_equal(rc, RP_EINVAL);
            continue;
        }
        assert_rp_ok(rc, &err);
        assert_string_equal(origin, cases[i].origin);
        assert_string_equal(host, cases[i].host);
        assert_int_equal(https, cases[i].https);
    }
}

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(serve_urlencoded__table),
        cmocka_unit_test(serve_urlencoded__limits),
        cmocka_unit_test(serve_urlencoded__alloc_failure_sweep),
        cmocka_unit_test(serve_cookies__parse),
        cmocka_unit_test(serve_multipart__two_parts),
        cmocka_unit_test(serve_multipart__refusals),
        cmocka_unit_test(serve_header_param__values),
        cmocka_unit_test(serve_path_ok__traversal_refused),
        cmocka_unit_test(serve_route_match__ids),
        cmocka_unit_test(serve_esc__every_special_character),
        cmocka_unit_test(serve_unescape__nul_and_bad_escapes_marked),
        cmocka_unit_test(serve_scrub_message__drops_quoted_text),
        cmocka_unit_test(serve_forwarded_for__last_entry_only),
        cmocka_unit_test(serve_client_key__ipv6_by_64),
        cmocka_unit_test(serve_public_url__parse),
    };
    return cmocka_run_group_tests_name("serve_parse", tests, setup, NULL);
}
