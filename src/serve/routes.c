/*
 * The router: the route table (the single source of what each role may reach, walked
 * by the role-matrix test too) and rp_serve__dispatch(), which turns a request into a
 * response: path check, route match, session, role, origin and CSRF checks, body
 * decoding with limits, then the handler. Handlers never see a request that failed a
 * check.
 */
#include "serve/serve_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <strings.h>
#include <sys/socket.h>

/* Role masks of the routes. */
#define P         RP_ROLE_BIT(RP_ROLE_PUBLIC)
#define S         RP_ROLE_BIT(RP_ROLE_SUBMITTER)
#define T         RP_ROLE_BIT(RP_ROLE_PARTNER)
#define C         RP_ROLE_BIT(RP_ROLE_COORDINATOR)
#define A         RP_ROLE_BIT(RP_ROLE_ANALYST)
#define D         RP_ROLE_BIT(RP_ROLE_ADMINISTRATOR)
#define LOGGED_IN (S | T | C | A | D)

static const rp_serve_route routes[] = {
    /* pages */
    {"GET", "/", A | C | D, false, false, "overview: latest estimate with interval, trends"},
    {"GET", "/login", P, false, false, "log-in form"},
    {"POST", "/login", P, false, false, "log in (form; CSRF by a pre-login cookie)"},
    {"POST", "/logout", LOGGED_IN, false, true, "log out"},
    {"GET", "/public", P, false, false, "public statistics (disclosure-controlled tables)"},
    {"GET", "/healthz", P, false, false, "liveness check (text)"},
    {"GET", "/submissions", S | A | D, false, false, "submissions and the upload form"},
    {"POST", "/submissions", S | A | D, false, true, "upload a sealed submission"},
    {"GET", "/submissions/{id}", S | A | D, false, false, "a submission's validation report"},
    {"GET", "/linkage", A | D, false, false, "linkage runs"},
    {"GET", "/linkage/{id}", A | D, false, false, "clerical review of a run's uncertain pairs"},
    {"POST", "/linkage/{id}/review", A | D, false, true, "accept or reject a pair"},
    {"GET", "/recs", T | C | A | D, false, false, "recommendations (filter)"},
    {"GET", "/recs/{id}", T | C | A | D, false, false, "a recommendation, its history"},
    {"POST", "/recs/{id}/status", C | A | D, false, true, "change a recommendation's status"},
    {"POST", "/recs/{id}/evidence", T | C | A | D, false, true, "add evidence (progress report)"},
    {"GET", "/scorecards", T | C | A | D, false, false, "implementation scorecards"},
    {"GET", "/admin/users", D, false, false, "accounts"},
    {"POST", "/admin/users", D, false, true, "add an account"},
    {"GET", "/admin/audit", D, false, false, "audit trail"},
    /* JSON API */
    {"POST", "/api/v1/login", P, true, false, "log in (JSON body; returns the CSRF token)"},
    {"POST", "/api/v1/logout", LOGGED_IN, true, true, "log out"},
    {"GET", "/api/v1/session", LOGGED_IN, true, false, "who is logged in, CSRF token"},
    {"GET", "/api/v1/overview", A | C | D, true, false, "latest estimate, lists, trends"},
    {"GET", "/api/v1/public", P, true, false, "public disclosure-controlled tables"},
    {"GET", "/api/v1/submissions", S | A | D, true, false, "submissions"},
    {"POST", "/api/v1/submissions", S | A | D, true, true, "upload a sealed submission"},
    {"GET", "/api/v1/submissions/{id}", S | A | D, true, false, "validation report, quarantine"},
    {"GET", "/api/v1/linkage/runs", A | D, true, false, "linkage runs"},
    {"GET", "/api/v1/linkage/runs/{id}", A | D, true, false, "a run and its review pairs"},
    {"POST", "/api/v1/linkage/runs/{id}/review", A | D, true, true, "decide a pair"},
    {"GET", "/api/v1/recs", T | C | A | D, true, false, "recommendations (filters)"},
    {"GET", "/api/v1/recs/{id}", T | C | A | D, true, false, "a recommendation"},
    {"POST", "/api/v1/recs/{id}/status", C | A | D, true, true, "change status"},
    {"POST", "/api/v1/recs/{id}/evidence", T | C | A | D, true, true, "add evidence"},
    {"GET", "/api/v1/scorecards", T | C | A | D, true, false, "scorecards"},
    {"GET", "/api/v1/users", D, true, false, "accounts"},
    {"POST", "/api/v1/users", D, true, true, "add an account"},
    {"GET", "/api/v1/audit", D, true, false, "audit trail"},
};

/* The handler of each route, in the same order. */
static const rp_serve__handler handlers[] = {
    rp_serve__page_overview,     rp_serve__page_login,       rp_serve__post_login,
    rp_serve__post_logout,       rp_serve__page_public,      rp_serve__page_health,
    rp_serve__page_submissions,  rp_serve__post_submission,  rp_serve__page_submission,
    rp_serve__page_linkage,      rp_serve__page_link_run,    rp_serve__post_link_review,
    rp_serve__page_recs,         rp_serve__page_rec,         rp_serve__post_rec_status,
    rp_serve__post_rec_evidence, rp_serve__page_scorecards,  rp_serve__page_users,
    rp_serve__post_user,         rp_serve__page_audit,       rp_serve__api_login,
    rp_serve__api_logout,        rp_serve__api_session,      rp_serve__api_overview,
    rp_serve__api_public,        rp_serve__api_submissions,  rp_serve__api_upload,
    rp_serve__api_submission,    rp_serve__api_link_runs,    rp_serve__api_link_run,
    rp_serve__api_link_review,   rp_serve__api_recs,         rp_serve__api_rec,
    rp_serve__api_rec_status,    rp_serve__api_rec_evidence, rp_serve__api_scorecards,
    rp_serve__api_users,         rp_serve__api_user_add,     rp_serve__api_audit,
};

_Static_assert(RP_ARRAY_LEN(routes) == RP_ARRAY_LEN(handlers), "one handler per route");

const rp_serve_route *rp_serve_routes(size_t *n)
{
    *n = RP_ARRAY_LEN(routes);
    return routes;
}

const char *rp_serve__cookie_name(bool tls)
{
    return tls ? "__Host-rp_session" : "rp_session";
}

/* Routes whose body is a submission file: spooled to disk, held to max_upload. */
static bool is_upload(const char *method, const char *path)
{
    return strcmp(method, "POST") == 0 &&
           (strcmp(path, "/submissions") == 0 || strcmp(path, "/api/v1/submissions") == 0);
}

void rp_serve__changed(rp_server *srv)
{
    pthread_mutex_lock(&srv->gen_lock);
    srv->generation++;
    pthread_mutex_unlock(&srv->gen_lock);
}

/* ==== checks ==== */

static bool is_api_path(const char *path)
{
    return strncmp(path, "/api/", 5) == 0;
}

/* The route for method and path; *other_method when the path exists with another. */
static size_t
find_route(const char *method, const char *path, long long *ids, size_t *n_ids, bool *other_method)
{
    *other_method = false;
    bool head = strcmp(method, "HEAD") == 0;
    for (size_t i = 0; i < RP_ARRAY_LEN(routes); i++) {
        if (!rp_serve__route_match(routes[i].pattern, path, ids, n_ids))
            continue;
        if (strcmp(routes[i].method, method) == 0 || (head && strcmp(routes[i].method, "GET") == 0))
            return i;
        *other_method = true;
    }
    return RP_ARRAY_LEN(routes);
}

/* The logged-in session of the request's cookie, if any. */
static void find_session(rp_serve__ctx *ctx)
{
    memset(&ctx->sess, 0, sizeof(ctx->sess));
    ctx->sess.role = RP_ROLE_PUBLIC;
    const char *token =
        rp_serve__param_get(&ctx->req->cookies, rp_serve__cookie_name(ctx->req->tls));
    if (token == NULL)
        return;
    rp_serve__session s;
    if (rp_serve__session_find(&s, ctx->st, token, time(NULL), ctx->srv->opts.session_seconds,
                               NULL) == RP_OK)
        ctx->sess = s;
}

/*
 * A browser's Origin on a change must be this server: the public URL's origin when the
 * server stands behind a proxy (--public-url), scheme://Host otherwise. Requests without
 * an Origin (curl, older browsers on same-origin POSTs) pass: the CSRF token and
 * SameSite=Strict cookies are the main defence.
 */
static bool origin_ok(const rp_server *srv, const rp_serve__request *req)
{
    if (req->origin == NULL)
        return true;
    if (srv->public_origin[0] != '\0')
        return strcasecmp(req->origin, srv->public_origin) == 0;
    if (req->host == NULL)
        return false;
    const char *scheme = req->tls ? "https://" : "http://";
    size_t sl = strlen(scheme);
    return strncmp(req->origin, scheme, sl) == 0 && strcmp(req->origin + sl, req->host) == 0;
}

/* Decode the body by its type: form, multipart or JSON. */
static int decode_body(rp_serve__ctx *ctx, rp_error *err)
{
    const rp_serve__request *req = ctx->req;
    if (req->body_len == 0 || strcmp(req->method, "POST") != 0)
        return RP_OK;
    if (rp_serve__media_type_is(req->content_type, "application/x-www-form-urlencoded"))
        return rp_serve__parse_urlencoded(&ctx->form, req->body, req->body_len, RP_SERVE_MAX_FIELDS,
                                          err);
    if (rp_serve__media_type_is(req->content_type, "multipart/form-data"))
        return rp_serve__parse_multipart(&ctx->parts, req->content_type, req->body, req->body_len,
                                         RP_SERVE_MAX_FIELDS, err);
    if (rp_serve__media_type_is(req->content_type, "application/json")) {
        json_error_t jerr;
        ctx->json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(ctx->json))
            return rp_error_set(err, RP_EPARSE, "the body is not a JSON object");
        return RP_OK;
    }
    if (rp_serve__media_type_is(req->content_type, "application/octet-stream"))
        return RP_OK; /* a raw upload, read by its handler */
    return rp_error_set(err, RP_EPARSE, "unsupported content type");
}

/* The CSRF token sent with a change (form field, multipart field or header) is the session's. */
static bool csrf_ok(const rp_serve__ctx *ctx)
{
    const char *want = ctx->sess.csrf;
    size_t n = strlen(want);
    if (n == 0)
        return false;
    const char *t = rp_serve__param_get(&ctx->form, "csrf");
    if (t != NULL)
        return rp_serve__secret_eq(t, want);
    const rp_serve__part *p = rp_serve__part_get(&ctx->parts, "csrf");
    if (p != NULL)
        return p->len == n && sodium_memcmp(p->data, want, n) == 0;
    return rp_serve__secret_eq(ctx->req->csrf_header, want);
}

/* HTTP status for a handler's failure. */
static unsigned status_of(int rc)
{
    switch (rc) {
    case RP_EINVAL:
    case RP_EPARSE:
        return 400;
    case RP_EDATA:
        return 422;
    case RP_EPERM:
        return 403;
    case RP_ENOTFOUND:
        return 404;
    default:
        return 500;
    }
}

/* Answer a refused request: 401 sends browsers to the log-in page. */
static void refuse(rp_serve__ctx *ctx, unsigned status, const char *msg)
{
    if (status == 401 && !is_api_path(ctx->req->path) && strcmp(ctx->req->method, "GET") == 0) {
        char loc[RP_SERVE_MAX_PATH + 16];
        /* The path passed rp_serve__path_ok: it needs no escaping beyond what the login
         * page does when it reads it back. */
        snprintf(loc, sizeof(loc), "/login?next=%s", ctx->req->path);
        rp_serve__redirect(ctx, loc);
        return;
    }
    rp_serve__error_page(ctx, status, msg);
}

/* Every check that comes before the handler. Returns 0 when the handler may run. */
static unsigned precheck(rp_serve__ctx *ctx, const char **msg)
{
    const rp_serve_route *r = ctx->route;
    uint32_t bit = RP_ROLE_BIT(ctx->sess.role);
    if ((r->roles & RP_ROLE_BIT(RP_ROLE_PUBLIC)) == 0 && (r->roles & bit) == 0) {
        *msg =
            ctx->sess.role == RP_ROLE_PUBLIC ? "log in first" : "your role may not use this page";
        return ctx->sess.role == RP_ROLE_PUBLIC ? 401 : 403;
    }
    if (strcmp(r->method, "POST") == 0 && !origin_ok(ctx->srv, ctx->req)) {
        *msg = "cross-origin request refused";
        return 403;
    }
    return 0;
}

void rp_serve__dispatch(rp_server *srv,
                        rp_store *st,
                        const rp_serve__request *req,
                        rp_serve__response *res)
{
    rp_serve__ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.srv = srv;
    ctx.st = st;
    ctx.req = req;
    ctx.res = res;
    ctx.sess.role = RP_ROLE_PUBLIC;
    rp_error err = RP_ERROR_INIT;
    const char *msg = NULL;
    bool other = false;
    size_t i = RP_ARRAY_LEN(routes);

    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
        strcmp(req->method, "POST") != 0) {
        rp_serve__error_page(&ctx, 405, "method not allowed");
        goto out;
    }
    if (!rp_serve__path_ok(req->path)) {
        rp_serve__error_page(&ctx, 400, "bad request path");
        goto out;
    }
    i = find_route(req->method, req->path, ctx.ids, &ctx.n_ids, &other);
    if (i == RP_ARRAY_LEN(routes)) {
        rp_serve__error_page(&ctx, other ? 405 : 404, other ? "method not allowed" : "not found");
        goto out;
    }
    ctx.route = &routes[i];
    res->route = ctx.route->pattern;
    find_session(&ctx);
    unsigned status = precheck(&ctx, &msg);
    if (status != 0) {
        refuse(&ctx, status, msg);
        goto out;
    }
    if (decode_body(&ctx, &err) != RP_OK) {
        rp_serve__error_page(&ctx, 400, err.msg);
        goto out;
    }
    if (ctx.route->changes && !csrf_ok(&ctx)) {
        rp_serve__error_page(&ctx, 403, "missing or wrong CSRF token");
        goto out;
    }
    int rc = handlers[i](&ctx, &err);
    if (rc != RP_OK) {
        unsigned st_code = status_of(rc);
        rp_x_buf_reset(&res->body);
        rp_serve__error_page(&ctx, st_code, st_code == 500 ? "internal error" : err.msg);
        if (st_code == 500 && srv->opts.log_fd >= 0) {
            /* One line whatever the message holds (it may quote a file name). */
            for (char *c = err.msg; *c != '\0'; c++) {
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                    *c = '?';
            }
            dprintf(srv->opts.log_fd, "rapporteur serve: %s %s: %s\n", req->method,
                    ctx.route->pattern, err.msg);
        }
    }
out:
    rp_serve__params_release(&ctx.form);
    rp_serve__parts_release(&ctx.parts);
    json_decref(ctx.json);
}

/* ==== before the body ==== */

void rp_serve__answer_error(rp_server *srv,
                            const rp_serve__request *req,
                            rp_serve__response *res,
                            unsigned status,
                            const char *msg)
{
    rp_serve__ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.srv = srv;
    ctx.req = req;
    ctx.res = res;
    ctx.sess.role = RP_ROLE_PUBLIC;
    rp_serve__error_page(&ctx, status, msg);
    res->close = true;
}

/* Split a Host value into its host and port (0 when none); false when malformed. */
static bool split_host(char *name, size_t size, unsigned *port, const char *host)
{
    const char *colon = NULL;
    const char *start = host;
    size_t n = 0;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return false;
        start = host + 1;
        n = (size_t)(close - start);
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strchr(host, ':');
        n = colon != NULL ? (size_t)(colon - host) : strlen(host);
        if (colon != NULL && strchr(colon + 1, ':') != NULL)
            return false;
    }
    if (n == 0 || n >= size)
        return false;
    memcpy(name, start, n);
    name[n] = '\0';
    *port = 0;
    if (colon != NULL) {
        long p = 0;
        if (rp_x_parse_long(colon + 1, 1, 65535, &p) != 0)
            return false;
        *port = (unsigned)p;
    }
    return true;
}

static int ip_of(unsigned char bin[16], const char *s)
{
    if (inet_pton(AF_INET, s, bin) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, s, bin) == 1)
        return AF_INET6;
    return 0;
}

static bool is_wildcard(int af, const unsigned char *bin)
{
    static const unsigned char zero[16];
    return memcmp(bin, zero, af == AF_INET ? 4 : 16) == 0;
}

static bool is_loopback(int af, const unsigned char *bin)
{
    static const unsigned char lo6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return af == AF_INET ? bin[0] == 127 : memcmp(bin, lo6, 16) == 0;
}

bool rp_serve__host_ok(const rp_server *srv, const char *host)
{
    if (host == NULL || host[0] == '\0')
        return false;
    if (srv->public_host[0] != '\0') {
        /* the public host as browsers send it, or with its default port written out */
        if (strcasecmp(host, srv->public_host) == 0)
            return true;
        size_t pl = strlen(srv->public_host);
        const char *dflt = strncmp(srv->public_origin, "https:", 6) == 0 ? ":443" : ":80";
        if (strncasecmp(host, srv->public_host, pl) == 0 && strcmp(host + pl, dflt) == 0 &&
            strchr(srv->public_host + (srv->public_host[0] == '[' ? 1 : 0), ':') == NULL)
            return true;
    }
    char name[256];
    unsigned port = 0;
    if (!split_host(name, sizeof(name), &port, host))
        return false;
    if (port == 0)
        port = srv->tls ? 443 : 80;
    if (port != srv->port)
        return false;
    unsigned char bound[16];
    unsigned char asked[16];
    int baf = ip_of(bound, srv->bind);
    int haf = ip_of(asked, name);
    if (baf == 0)
        return false;
    if (haf == 0) /* a name: only localhost, when bound to loopback or everywhere */
        return strcasecmp(name, "localhost") == 0 &&
               (is_loopback(baf, bound) || is_wildcard(baf, bound));
    /* An IP literal cannot be rebound by DNS: any one on a wildcard bind, else ours. */
    if (is_wildcard(baf, bound))
        return true;
    return baf == haf && memcmp(bound, asked, baf == AF_INET ? 4 : 16) == 0;
}

bool rp_serve__admit(rp_serve__admission *adm,
                     rp_server *srv,
                     rp_store *st,
                     const rp_serve__request *req,
                     rp_serve__response *res)
{
    adm->limit = 0;
    adm->upload = false;
    bool post = strcmp(req->method, "POST") == 0;
    if (!post && strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        rp_serve__answer_error(srv, req, res, 405, "method not allowed");
        return false;
    }
    if (!rp_serve__host_ok(srv, req->host)) {
        rp_serve__answer_error(srv, req, res, 421, "this server does not answer for that host");
        return false;
    }
    if (!rp_serve__path_ok(req->path)) {
        rp_serve__answer_error(srv, req, res, 400, "bad request path");
        return false;
    }
    if (!post)
        return true; /* a GET has no body: dispatch does the rest */
    rp_serve__ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.srv = srv;
    ctx.st = st;
    ctx.req = req;
    ctx.res = res;
    ctx.sess.role = RP_ROLE_PUBLIC;
    bool other = false;
    size_t i = find_route(req->method, req->path, ctx.ids, &ctx.n_ids, &other);
    if (i == RP_ARRAY_LEN(routes)) {
        rp_serve__error_page(&ctx, other ? 405 : 404, other ? "method not allowed" : "not found");
        res->close = true;
        return false;
    }
    ctx.route = &routes[i];
    res->route = ctx.route->pattern;
    find_session(&ctx);
    const char *msg = NULL;
    unsigned status = precheck(&ctx, &msg);
    if (status == 0 && ctx.route->changes && req->csrf_header != NULL &&
        !rp_serve__secret_eq(req->csrf_header, ctx.sess.csrf)) {
        status = 403;
        msg = "missing or wrong CSRF token";
    }
    if (status != 0) {
        refuse(&ctx, status, msg);
        res->close = true;
        return false;
    }
    if (ctx.sess.role == RP_ROLE_PUBLIC) {
        adm->limit =
            RP_SERVE_ANON_BODY < srv->opts.max_body ? RP_SERVE_ANON_BODY : srv->opts.max_body;
    } else if (is_upload(req->method, req->path)) {
        adm->limit = srv->opts.max_upload;
        adm->upload = true;
    } else {
        adm->limit = srv->opts.max_body;
    }
    return true;
}
