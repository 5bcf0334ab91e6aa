/*
 * Unit tests of the server's accounts, sessions, rate limiting, audit trail and router
 * (src/serve/auth.c, routes.c), on a temporary store and without a socket: the router is
 * driven with rp_serve__request values, so the role matrix covers every route of the
 * table for every role, and CSRF and origin checks are provoked.
 */
#include "rp_test.h"
#include "serve/serve_int.h"
#include "store/store_int.h"

typedef struct fixture {
    char dir[256];
    char path[300];
    rp_store *st;
} fixture;

static const char good_pw[] = "a long enough password";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    rp_test_tmpdir(f->dir, sizeof(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_store_open(&f->st, f->path, RP_STORE_CREATE, &err), &err);
    assert_rp_ok(rp_serve__ensure_schema(f->st, &err), &err);
    assert_rp_ok(rp_serve__ensure_schema(f->st, &err), &err); /* idempotent */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rp_store_close(f->st);
    rp_test_rmtree(f->dir);
    free(f);
    return 0;
}

static long long count_rows(rp_store *st, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    long long n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/* ==== accounts ==== */

static int count_user(const rp_serve_user *u, void *payload)
{
    (void)u;
    (*(int *)payload)++;
    return 0;
}

static void serve_user_add__validates(void **state)
{
    fixture *f = *state;
    rp_error err = RP_ERROR_INIT;
    size_t n = strlen(good_pw);

    static const struct {
        const char *name;
        const char *agency;
        const char *pw;
        rp_role role;
        int rc;
    } cases[] = {
        {"ann", NULL, good_pw, RP_ROLE_ANALYST, RP_OK},
        {"ann", NULL, good_pw, RP_ROLE_ANALYST, RP_EINVAL}, /* taken */
        {"", NULL, good_pw, RP_ROLE_ANALYST, RP_EINVAL},
        {"a b", NULL, good_pw, RP_ROLE_ANALYST, RP_EINVAL},
        {"x<script>", NULL, good_pw, RP_ROLE_ANALYST, RP_EINVAL},
        {"pub", NULL, good_pw, RP_ROLE_PUBLIC, RP_EINVAL},
        {"sub", "", good_pw, RP_ROLE_SUBMITTER, RP_EINVAL},
        {"sub", "POLICE", good_pw, RP_ROLE_SUBMITTER, RP_OK},
        {"short", NULL, "123456789", RP_ROLE_PARTNER, RP_EINVAL},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        size_t len = cases[i].pw == good_pw ? n : strlen(cases[i].pw);
        int rc = rp_serve_user_add(f->st, cases[i].name, cases[i].role, cases[i].agency,
                                   cases[i].pw, len, "test", &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, expected %d (%s)", i, rc, cases[i].rc, err.msg);
    }
    /* A NUL inside the password is refused, the password never appears in the message. */
    assert_rp_status(
        rp_serve_user_add(f->st, "nul", RP_ROLE_ANALYST, NULL, "abcde\0fghijk", 12, "test", &err),
        RP_EINVAL, &err);
    int users = 0;
    assert_rp_ok(rp_serve_user_list(f->st, count_user, &users, &err), &err);
    assert_int_equal(users, 2);
    /* Hashes are Argon2id strings, never the password. */
    assert_int_equal(count_rows(f->st, "SELECT count(*) FROM serve_users WHERE pwhash LIKE "
                                       "'$argon2id$%'"),
                     2);
    assert_int_equal(count_rows(f->st, "SELECT count(*) FROM serve_users WHERE instr(pwhash, "
                                       "'enough') > 0"),
                     0);
    assert_int_equal(count_rows(f->st, "SELECT count(*) FROM serve_audit WHERE action = "
                                       "'user.add'"),
                     2);
}

static void serve_verify_password__right_wrong_unknown(void **state)
{
    fixture *f = *state;
    rp_error err = RP_ERROR_INIT;
    long long id = 0;
    assert_rp_ok(rp_serve_user_add(f->st, "bob", RP_ROLE_COORDINATOR, NULL, good_pw,
                                   strlen(good_pw), "test", &err),
                 &err);
    assert_rp_ok(rp_serve__verify_password(&id, NULL, f->st, "bob", good_pw, strlen(good_pw), &err),
                 &err);
    assert_true(id > 0);
    assert_rp_status(rp_serve__verify_password(&id, NULL, f->st, "bob", "wrong password", 14, &err),
                     RP_EPERM, &err);
    assert_rp_status(
        rp_serve__verify_password(&id, NULL, f->st, "nobody", good_pw, strlen(good_pw), &err),
        RP_EPERM, &err);
    /* The same message either way: names cannot be probed. */
    assert_string_equal(err.msg, "wrong user name or password");
    static const char new_pw[] = "another long password";
    assert_rp_ok(rp_serve_user_passwd(f->st, "bob", new_pw, strlen(new_pw), "test", &err), &err);
    assert_rp_status(
        rp_serve__verify_password(&id, NULL, f->st, "bob", good_pw, strlen(good_pw), &err),
        RP_EPERM, &err);
    assert_rp_ok(rp_serve__verify_password(&id, NULL, f->st, "bob", new_pw, strlen(new_pw), &err),
                 &err);
    assert_rp_status(rp_serve_user_passwd(f->st, "nobody", new_pw, strlen(new_pw), "test", &err),
                     RP_ENOTFOUND, &err);
}

/* ==== sessions ==== */

static void serve_session__lifecycle(void **state)
{
    fixture *f = *state;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_serve_user_add(f->st, "cat", RP_ROLE_PARTNER, NULL, good_pw, strlen(good_pw),
                                   "test", &err),
                 &err);
    long long uid = 0;
    assert_rp_ok(
        rp_serve__verify_password(&uid, NULL, f->st, "cat", good_pw, strlen(good_pw), &err), &err);
    rp_serve__session s;
    char token[RP_SERVE_TOKEN_TEXT + 1];
    time_t now = 1700000000;
    assert_rp_ok(rp_serve__session_start(&s, token, f->st, uid, now, 600, &err), &err);
    assert_true(rp_serve__token_shape_ok(token));
    assert_true(rp_serve__token_shape_ok(s.csrf));
    assert_string_not_equal(token, s.csrf);
    assert_int_equal(s.role, RP_ROLE_PARTNER);
    assert_string_equal(s.user, "cat");
    /* Only the hash of the token is stored. */
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM serve_sessions WHERE token_hash = '%s'",
             token);
    assert_int_equal(count_rows(f->st, sql), 0);
    rp_serve__session s2;
    assert_rp_ok(rp_serve__session_find(&s2, f->st, token, now + 10, 600, &err), &err);
    assert_string_equal(s2.csrf, s.csrf);
    /* Activity moves the expiry (after a minute); idleness ends the session. */
    assert_rp_ok(rp_serve__session_find(&s2, f->st, token, now + 500, 600, &err), &err);
    assert_int_equal(s2.expires_at, now + 500 + 600);
    assert_rp_ok(rp_serve__session_find(&s2, f->st, token, now + 1000, 600, &err), &err);
    assert_int_equal(s2.expires_at, now + 1000 + 600);
    assert_rp_status(rp_serve__session_find(&s2, f->st, token, now + 1000 + 600, 600, &err),
                     RP_ENOTFOUND, &err);
    /* A session found expired is deleted at once. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM serve_sessions WHERE token_hash = '%s'",
             s2.token_hash);
    assert_int_equal(count_rows(f->st, sql), 0);
    /* Bad tokens. */
    char other[RP_SERVE_TOKEN_TEXT + 1];
    rp_serve__token_new(other);
    assert_rp_status(rp_serve__session_find(&s2, f->st, other, now, 600, &err), RP_ENOTFOUND, &err);
    assert_rp_status(rp_serve__session_find(&s2, f->st, "short", now, 600, &err), RP_ENOTFOUND,
                     &err);
    /* Logging out ends it; a new password ends them all. */
    assert_rp_ok(rp_serve__session_start(&s, token, f->st, uid, now, 600, &err), &err);
    assert_rp_ok(rp_serve__session_end(f->st, s.token_hash, &err), &err);
    assert_rp_status(rp_serve__session_find(&s2, f->st, token, now + 1, 600, &err), RP_ENOTFOUND,
                     &err);
    assert_rp_ok(rp_serve__session_start(&s, token, f->st, uid, now, 600, &err), &err);
    assert_rp_ok(rp_serve_user_passwd(f->st, "cat", good_pw, strlen(good_pw), "test", &err), &err);
    assert_rp_status(rp_serve__session_find(&s2, f->st, token, now + 1, 600, &err), RP_ENOTFOUND,
                     &err);
}

static void serve_ratelimit__window(void **state)
{
    (void)state;
    rp_serve__ratelimit *rl = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_serve__rl_new(&rl, &err), &err);
    unsigned ra = 0;
    time_t t = 1000;
    for (int i = 0; i < 3; i++) {
        assert_false(rp_serve__rl_blocked(rl, "u:x", t, 3, 60, &ra, NULL));
        rp_serve__rl_fail(rl, "u:x", t, 60, false);
    }
    assert_true(rp_serve__rl_blocked(rl, "u:x", t + 10, 3, 60, &ra, NULL));
    assert_int_equal(ra, 50);
    assert_false(rp_serve__rl_blocked(rl, "u:y", t + 10, 3, 60, &ra, NULL));
    assert_false(rp_serve__rl_blocked(rl, "u:x", t + 60, 3, 60, &ra, NULL));
    rp_serve__rl_fail(rl, "u:x", t + 61, 60, false); /* a new window */
    assert_false(rp_serve__rl_blocked(rl, "u:x", t + 62, 3, 60, &ra, NULL));
    for (int i = 0; i < 3; i++)
        rp_serve__rl_fail(rl, "u:x", t + 62, 60, false);
    assert_true(rp_serve__rl_blocked(rl, "u:x", t + 62, 3, 60, &ra, NULL));
    rp_serve__rl_reset(rl, "u:x");
    assert_false(rp_serve__rl_blocked(rl, "u:x", t + 62, 3, 60, &ra, NULL));
    /* Many keys: the table never grows and keeps working. */
    char key[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "i:10.0.%d.%d", i / 256, i % 256);
        rp_serve__rl_fail(rl, key, t, 60, false);
    }
    for (int i = 0; i < 3; i++)
        rp_serve__rl_fail(rl, "u:z", t, 60, false);
    assert_true(rp_serve__rl_blocked(rl, "u:z", t, 3, 60, &ra, NULL));
    rp_serve__rl_free(rl);
}

/* A short session is refreshed often enough to stay alive while it is used. */
static void serve_session__short_sessions_refresh(void **state)
{
    fixture *f = *state;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_serve_user_add(f->st, "dan", RP_ROLE_ANALYST, NULL, good_pw, strlen(good_pw),
                                   "test", &err),
                 &err);
    long long uid = 0;
    assert_rp_ok(
        rp_serve__verify_password(&uid, NULL, f->st, "dan", good_pw, strlen(good_pw), &err), &err);
    rp_serve__session s;
    char token[RP_SERVE_TOKEN_TEXT + 1];
    time_t now = 1700000000;
    assert_rp_ok(rp_serve__session_start(&s, token, f->st, uid, now, 60, &err), &err);
    /* Used every 10 s, a 60 s session never ends (it used to be refreshed once a minute
     * only, so it expired while in use). */
    for (time_t t = now + 10; t <= now + 300; t += 10) {
        assert_rp_ok(rp_serve__session_find(&s, f->st, token, t, 60, &err), &err);
        assert_true(s.expires_at >= (long long)t + 50);
    }
}

/* Accounts' counters survive a flood of other keys; the first refusal is marked once. */
static void serve_ratelimit__keep_and_first(void **state)
{
    (void)state;
    rp_serve__ratelimit *rl = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_serve__rl_new(&rl, &err), &err);
    unsigned ra = 0;
    bool first = false;
    time_t t = 5000;
    for (int i = 0; i < 3; i++)
        rp_serve__rl_fail(rl, "u:alice", t, 600, true);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "u:junk%d", i);
        rp_serve__rl_fail(rl, key, t + 1, 600, false);
    }
    assert_true(rp_serve__rl_blocked(rl, "u:alice", t + 2, 3, 600, &ra, &first));
    assert_true(first);
    assert_true(rp_serve__rl_blocked(rl, "u:alice", t + 3, 3, 600, &ra, &first));
    assert_false(first);
    assert_true(rp_serve__rl_blocked(rl, "u:alice", t + 3, 3, 600, &ra, NULL));
    /* A new window reports again. */
    for (int i = 0; i < 3; i++)
        rp_serve__rl_fail(rl, "u:alice", t + 700, 600, true);
    assert_true(rp_serve__rl_blocked(rl, "u:alice", t + 701, 3, 600, &ra, &first));
    assert_true(first);
    rp_serve__rl_free(rl);
}

/* ==== the router ==== */

static void server_init(rp_server *srv)
{
    memset(srv, 0, sizeof(*srv));
    rp_serve_opts o = RP_SERVE_OPTS_INIT;
    srv->opts = o;
    rp_x_strlcpy(srv->bind, "127.0.0.1", sizeof(srv->bind));
    srv->opts.bind = srv->bind;
    srv->port = 8080;
    pthread_mutex_init(&srv->gen_lock, NULL);
    pthread_mutex_init(&srv->cache.lock, NULL);
    pthread_mutex_init(&srv->public_cache.lock, NULL);
    assert_rp_ok(rp_serve__rl_new(&srv->rl, NULL), NULL);
}

static void server_release(rp_server *srv)
{
    rp_serve__rl_free(srv->rl);
    json_decref(srv->cache.model);
    json_decref(srv->public_cache.model);
    pthread_mutex_destroy(&srv->gen_lock);
    pthread_mutex_destroy(&srv->cache.lock);
    pthread_mutex_destroy(&srv->public_cache.lock);
}

/* Location of the last answer (redirects). */
static char last_location[512];

/* One request; returns the status and leaves the body in @p body (caller releases). */
static unsigned request(rp_server *srv,
                        rp_store *st,
                        const char *method,
                        const char *path,
                        const char *cookie,
                        const char *csrf,
                        const char *origin,
                        rp_x_buf *body)
{
    rp_serve__request req;
    memset(&req, 0, sizeof(req));
    req.method = method;
    req.path = path;
    req.csrf_header = csrf;
    req.origin = origin;
    req.host = "127.0.0.1:8080";
    rp_x_strlcpy(req.client, "127.0.0.1", sizeof(req.client));
    if (cookie != NULL)
        assert_rp_ok(rp_serve__parse_cookies(&req.cookies, cookie, 8, NULL), NULL);
    rp_serve__response res;
    rp_serve__response_init(&res);
    rp_serve__dispatch(srv, st, &req, &res);
    unsigned status = res.status;
    rp_x_strlcpy(last_location, res.location, sizeof(last_location));
    rp_x_buf_reset(body);
    rp_x_buf_puts(body, rp_x_buf_cstr(&res.body));
    rp_serve__response_release(&res);
    rp_serve__params_release(&req.cookies);
    return status;
}

/* A concrete path for a route pattern ({id} -> 1). */
static void concrete(char *out, size_t size, const char *pattern)
{
    size_t n = 0;
    for (const char *p = pattern; *p != '\0' && n + 2 < size;) {
        if (strncmp(p, "{id}", 4) == 0) {
            out[n++] = '1';
            p += 4;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

/* The router's refusals: 401/403 with its message, or a browser sent to log in. */
static bool denied(unsigned status, const char *body)
{
    if (status == 303)
        return strncmp(last_location, "/login?next=", 12) == 0;
    return (status == 401 || status == 403) &&
           (strstr(body, "log in first") != NULL ||
            strstr(body, "your role may not use this page") != NULL);
}

static void serve_dispatch__role_matrix_over_every_route(void **state)
{
    fixture *f = *state;
    rp_error err = RP_ERROR_INIT;
    rp_server srv;
    server_init(&srv);
    char cookies[RP_ROLE_COUNT][96];
    char csrf[RP_ROLE_COUNT][RP_SERVE_TOKEN_TEXT + 1];
    memset(cookies, 0, sizeof(cookies));
    memset(csrf, 0, sizeof(csrf));
    for (unsigned r = RP_ROLE_SUBMITTER; r < RP_ROLE_COUNT; r++) {
        char name[32];
        snprintf(name, sizeof(name), "u-%s", rp_role_name((rp_role)r));
        assert_rp_ok(rp_serve_user_add(f->st, name, (rp_role)r, "POLICE", good_pw, strlen(good_pw),
                                       "test", &err),
                     &err);
        long long uid = 0;
        assert_rp_ok(
            rp_serve__verify_password(&uid, NULL, f->st, name, good_pw, strlen(good_pw), &err),
            &err);
        rp_serve__session s;
        char token[RP_SERVE_TOKEN_TEXT + 1];
        assert_rp_ok(rp_serve__session_start(&s, token, f->st, uid, time(NULL), 600, &err), &err);
        snprintf(cookies[r], sizeof(cookies[r]), "rp_session=%s", token);
        rp_x_strlcpy(csrf[r], s.csrf, sizeof(csrf[r]));
    }
    size_t n = 0;
    const rp_serve_route *routes = rp_serve_routes(&n);
    rp_x_buf body = RP_X_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char path[128];
        concrete(path, sizeof(path), routes[i].pattern);
        bool logout = strstr(routes[i].pattern, "logout") != NULL;
        for (unsigned r = RP_ROLE_PUBLIC; r < RP_ROLE_COUNT; r++) {
            if (logout && r != RP_ROLE_PUBLIC)
                continue; /* would end the session the other routes use: tried below */
            bool allowed =
                (routes[i].roles & (RP_ROLE_BIT(RP_ROLE_PUBLIC) | RP_ROLE_BIT((rp_role)r))) != 0;
            unsigned status = request(&srv, f->st, routes[i].method, path,
                                      r == RP_ROLE_PUBLIC ? NULL : cookies[r],
                                      r == RP_ROLE_PUBLIC ? NULL : csrf[r], NULL, &body);
            bool d = denied(status, rp_x_buf_cstr(&body));
            if (allowed == d)
                fail_msg("%s %s as %s: status %u, %s expected", routes[i].method, path,
                         rp_role_name((rp_role)r), status, allowed ? "access" : "refusal");
            assert_true(status < 500);
        }
    }
    /* CSRF: a change without the token, or with another session's, is refused. */
    unsigned st = request(&srv, f->st, "POST", "/api/v1/linkage/runs/1/review",
                          cookies[RP_ROLE_ANALYST], NULL, NULL, &body);
    assert_int_equal(st, 403);
    assert_non_null(strstr(rp_x_buf_cstr(&body), "CSRF"));
    st = request(&srv, f->st, "POST", "/api/v1/linkage/runs/1/review", cookies[RP_ROLE_ANALYST],
                 csrf[RP_ROLE_ADMINISTRATOR], NULL, &body);
    assert_int_equal(st, 403);
    /* Origin: another site's form is refused even with a token. */
    st = request(&srv, f->st, "POST", "/logout", cookies[RP_ROLE_ANALYST], csrf[RP_ROLE_ANALYST],
                 "http://evil.example", &body);
    assert_int_equal(st, 403);
    st = request(&srv, f->st, "POST", "/logout", cookies[RP_ROLE_ANALYST], csrf[RP_ROLE_ANALYST],
                 "http://127.0.0.1:8080", &body);
    assert_int_equal(st, 303);
    /* Paths and methods. */
    assert_int_equal(request(&srv, f->st, "GET", "/../etc/passwd", NULL, NULL, NULL, &body), 400);
    assert_int_equal(request(&srv, f->st, "GET", "/nothing", NULL, NULL, NULL, &body), 404);
    assert_int_equal(request(&srv, f->st, "DELETE", "/public", NULL, NULL, NULL, &body), 405);
    assert_int_equal(request(&srv, f->st, "POST", "/public", NULL, NULL, NULL, &body), 405);
    /* Changes through the router are audited with the user. */
    assert_true(count_rows(f->st, "SELECT count(*) FROM serve_audit WHERE action = 'logout' AND "
                                  "user = 'u-analyst'") >= 1);
    rp_x_buf_release(&body);
    server_release(&srv);
}

/* Host allow-list: the bound address and port, localhost on loopback, the public URL. */
static void serve_host_ok__allow_list(void **state)
{
    (void)state;
    rp_server srv;
    server_init(&srv);

    static const struct {
        const char *host;
        bool ok;
    } direct[] = {
        {"127.0.0.1:8080", true},    {"localhost:8080", true},
        {"LOCALHOST:8080", true},    {"127.0.0.1", false},
        {"127.0.0.2:8080", false},   {"evil.example:8080", false},
        {"evil.example", false},     {"127.0.0.1:8081", false},
        {"127.0.0.1:8080:1", false}, {"", false},
        {"[::1]:8080", false},       {"127.0.0.1:x", false},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(direct); i++)
        assert_int_equal(rp_serve__host_ok(&srv, direct[i].host), direct[i].ok);
    assert_false(rp_serve__host_ok(&srv, NULL));
    /* Bound everywhere: any IP literal with our port, never a name but localhost. */
    rp_x_strlcpy(srv.bind, "::", sizeof(srv.bind));
    assert_true(rp_serve__host_ok(&srv, "[2001:db8::5]:8080"));
    assert_true(rp_serve__host_ok(&srv, "192.0.2.4:8080"));
    assert_false(rp_serve__host_ok(&srv, "rebind.example:8080"));
    /* Behind a proxy: the public URL's host too. */
    rp_x_strlcpy(srv.bind, "127.0.0.1", sizeof(srv.bind));
    bool https = false;
    assert_rp_ok(rp_serve__parse_public_url(srv.public_origin, sizeof(srv.public_origin),
                                            srv.public_host, sizeof(srv.public_host), &https,
                                            "https://r.example", NULL),
                 NULL);
    assert_true(rp_serve__host_ok(&srv, "r.example"));
    assert_true(rp_serve__host_ok(&srv, "R.Example:443"));
    assert_false(rp_serve__host_ok(&srv, "r.example:8443"));
    assert_false(rp_serve__host_ok(&srv, "x.r.example"));
    assert_true(rp_serve__host_ok(&srv, "127.0.0.1:8080"));
    server_release(&srv);
}

/* What is decided before a body is read (rp_serve__admit). */
static void serve_admit__before_the_body(void **state)
{
    fixture *f = *state;
    rp_error err = RP_ERROR_INIT;
    rp_server srv;
    server_init(&srv);
    assert_rp_ok(rp_serve_user_add(f->st, "ana", RP_ROLE_ANALYST, NULL, good_pw, strlen(good_pw),
                                   "test", &err),
                 &err);
    assert_rp_ok(rp_serve_user_add(f->st, "pat", RP_ROLE_PARTNER, NULL, good_pw, strlen(good_pw),
                                   "test", &err),
                 &err);
    char cookie[2][128];
    char csrf[2][RP_SERVE_TOKEN_TEXT + 1];
    const char *names[2] = {"ana", "pat"};
    for (int i = 0; i < 2; i++) {
        long long uid = 0;
        assert_rp_ok(
            rp_serve__verify_password(&uid, NULL, f->st, names[i], good_pw, strlen(good_pw), &err),
            &err);
        rp_serve__session s;
        char token[RP_SERVE_TOKEN_TEXT + 1];
        assert_rp_ok(rp_serve__session_start(&s, token, f->st, uid, time(NULL), 600, &err), &err);
        snprintf(cookie[i], sizeof(cookie[i]), "rp_session=%s", token);
        rp_x_strlcpy(csrf[i], s.csrf, sizeof(csrf[i]));
    }

    static const struct {
        const char *method;
        const char *path;
        int who; /* -1 nobody, 0 analyst, 1 partner */
        bool bad_csrf;
        const char *host;
        unsigned status; /* 0: admitted */
        size_t limit;
        bool upload;
    } cases[] = {
        {"POST", "/api/v1/submissions", -1, false, NULL, 401, 0, false},
        {"POST", "/submissions", -1, false, NULL, 401, 0, false},
        {"POST", "/api/v1/login", -1, false, NULL, 0, RP_SERVE_ANON_BODY, false},
        {"POST", "/api/v1/submissions", 1, false, NULL, 403, 0, false},
        {"POST", "/api/v1/submissions", 0, true, NULL, 403, 0, false},
        {"POST", "/api/v1/submissions", 0, false, NULL, 0, 64u << 20, true},
        {"POST", "/api/v1/recs/1/evidence", 0, false, NULL, 0, 1u << 20, false},
        {"POST", "/api/v1/nothing", 0, false, NULL, 404, 0, false},
        {"GET", "/public", -1, false, NULL, 0, 0, false},
        {"GET", "/public", -1, false, "evil.example", 421, 0, false},
        {"GET", "/a/../b", -1, false, NULL, 400, 0, false},
        {"PUT", "/public", -1, false, NULL, 405, 0, false},
    };

    for (size_t i = 0; i < RP_ARRAY_LEN(cases); i++) {
        rp_serve__request req;
        memset(&req, 0, sizeof(req));
        req.method = cases[i].method;
        req.path = cases[i].path;
        req.host = cases[i].host != NULL ? cases[i].host : "127.0.0.1:8080";
        rp_x_strlcpy(req.client, "127.0.0.1", sizeof(req.client));
        if (cases[i].who >= 0) {
            assert_rp_ok(rp_serve__parse_cookies(&req.cookies, cookie[cases[i].who], 8, NULL),
                         NULL);
            req.csrf_header = cases[i].bad_csrf ? csrf[1] : csrf[cases[i].who];
        }
        rp_serve__response res;
        rp_serve__response_init(&res);
        rp_serve__admission adm = {99, true};
        bool ok = rp_serve__admit(&adm, &srv, f->st, &req, &res);
        assert_int_equal(ok, cases[i].status == 0);
        if (ok) {
            assert_int_equal(adm.limit, cases[i].limit);
            assert_int_equal(adm.upload, cases[i].upload);
        } else {
            assert_int_equal(res.status, cases[i].status);
            assert_true(res.close);
            if (strncmp(cases[i].path, "/api/", 5) == 0)
                assert_string_equal(res.content_type, "application/json");
        }
        rp_serve__response_release(&res);
        rp_serve__params_release(&req.cookies);
    }
    server_release(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(serve_user_add__validates, setup, teardown),
        cmocka_unit_test_setup_teardown(serve_verify_password__right_wrong_unknown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(serve_session__lifecycle, setup, teardown),
        cmocka_unit_test(serve_ratelimit__window),
        cmocka_unit_test(serve_ratelimit__keep_and_first),
        cmocka_unit_test_setup_teardown(serve_session__short_sessions_refresh, setup, teardown),
        cmocka_unit_test(serve_host_ok__allow_list),
        cmocka_unit_test_setup_teardown(serve_admit__before_the_body, setup, teardown),
        cmocka_unit_test_setup_teardown(serve_dispatch__role_matrix_over_every_route, setup,
                                        teardown),
    };
    rp_init();
    return cmocka_run_group_tests_name("serve_auth", tests, NULL, NULL);
}
