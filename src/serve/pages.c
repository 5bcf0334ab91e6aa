/*
 * The server's HTML pages for logging in and out, the overview, submissions, linkage
 * review, accounts and the audit trail. Each page renders the JSON model the API
 * returns for the same data (model.c); every value is escaped with rp_serve__esc.
 */
#include "serve/serve_int.h"

#include <limits.h>
#include <math.h>
#include <strings.h>

/* ==== log in and out ==== */

/* Pre-login cookie: the login form's CSRF token is compared with it (double submit). */
static const char *login_cookie(bool tls)
{
    return tls ? "__Host-rp_login" : "rp_login";
}

void rp_serve__set_cookie(rp_serve__ctx *ctx, const char *name, const char *value, long max_age)
{
    rp_x_strvec_pushf(&ctx->res->cookies, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s",
                      name, value, max_age, ctx->req->tls ? "; Secure" : "");
}

/* The page to go to after logging in: a local path from ?next=, or the role's home. */
static const char *home_of(rp_role role)
{
    switch (role) {
    case RP_ROLE_SUBMITTER:
        return "/submissions";
    case RP_ROLE_PARTNER:
        return "/recs";
    case RP_ROLE_PUBLIC:
        return "/public";
    default:
        return "/";
    }
}

static void login_form(rp_serve__ctx *ctx, const char *next, const char *error)
{
    char token[RP_SERVE_TOKEN_TEXT + 1];
    rp_serve__token_new(token);
    rp_serve__set_cookie(ctx, login_cookie(ctx->req->tls), token, 600);
    rp_x_buf *b = &ctx->res->body;
    rp_serve__page_begin(ctx, "Log in");
    if (error != NULL)
        rp_serve__message(b, "bad", error);
    rp_x_buf_puts(b, "<form class=\"stack\" method=\"post\" action=\"/login\">"
                     "<input type=\"hidden\" name=\"csrf\" value=\"");
    rp_serve__esc(b, token);
    rp_x_buf_puts(b, "\"><input type=\"hidden\" name=\"next\" value=\"");
    rp_serve__esc(b, next != NULL ? next : "");
    rp_x_buf_puts(b, "\"><label for=\"user\">User name</label>"
                     "<input id=\"user\" name=\"user\" autocomplete=\"username\" required "
                     "maxlength=\"63\">"
                     "<label for=\"password\">Password</label>"
                     "<input id=\"password\" name=\"password\" type=\"password\" "
                     "autocomplete=\"current-password\" required>"
                     "<button type=\"submit\">Log in</button></form>"
                     "<p class=\"muted\">The <a href=\"/public\">public statistics</a> need no "
                     "account.</p>");
}

int rp_serve__page_login(rp_serve__ctx *ctx, rp_error *err)
{
    login_form(ctx, rp_serve__param_get(&ctx->req->query, "next"), NULL);
    return rp_serve__page_finish(ctx, err);
}

/* A ?next= target is followed only when it is a local page path. */
static bool safe_next(const char *next)
{
    return next != NULL && next[0] == '/' && next[1] != '/' && rp_serve__path_ok(next) &&
           strlen(next) < 200;
}

/*
 * Shared by the form and the API: rate limits, password check, session. On success
 * *token holds the new session's token and ctx->sess the session; @p status is set
 * to the HTTP status of a refusal (401, 429) with @p err saying why.
 *
 * The policy (docs/serve.md, "Log-in rate limits"):
 *  - per name: login_max_user failures of one user name within login_window, from any
 *    address, throttle that name (429, even with the right password) until the window
 *    ends. Names that are not accounts are counted too, so that the answers do not tell
 *    which names exist; accounts' counters are kept from eviction.
 *  - per address (IPv6 per /64; behind --trust-proxy the forwarded one): past
 *    login_max_ip failures within the window, further failures from it are answered 429
 *    rather than 401, and audited once per window, but the password is still checked:
 *    a correct log-in of an account is never refused for its address, so one flood
 *    (or a shared NAT or proxy address) cannot lock the office's users out.
 *  - the audit trail keeps a failed name only when it is an account (what is typed in
 *    the name field may be a password), and one throttled entry per name or address
 *    and window.
 */
int rp_serve__login(char token[RP_SERVE_TOKEN_TEXT + 1],
                    unsigned *status,
                    rp_serve__ctx *ctx,
                    const char *user,
                    const char *password,
                    rp_error *err)
{
    rp_server *srv = ctx->srv;
    time_t now = time(NULL);
    bool name_ok = rp_serve__user_name_ok(user);
    char ukey[RP_USER_NAME_MAX + 4];
    char ikey[80];
    snprintf(ukey, sizeof(ukey), "u:%.63s", name_ok ? user : "");
    rp_serve__client_key(ikey, sizeof(ikey), ctx->req->client);
    unsigned ra_u = 0;
    unsigned ra_i = 0;
    bool first_u = false;
    bool first_i = false;
    bool ib = rp_serve__rl_blocked(srv->rl, ikey, now, srv->opts.login_max_ip,
                                   srv->opts.login_window, &ra_i, NULL);
    if (name_ok && rp_serve__rl_blocked(srv->rl, ukey, now, srv->opts.login_max_user,
                                        srv->opts.login_window, &ra_u, &first_u)) {
        *status = 429;
        ctx->res->retry_after = ra_u;
        /* One entry per name and window; none while the address is throttled (its own
         * entry covers it). */
        if (first_u && !ib)
            rp_serve__audit(ctx->st, rp_serve__user_exists(ctx->st, user) ? user : "",
                            "login.throttled", ctx->req->client, NULL, NULL);
        return rp_error_set(err, RP_EPERM, "too many failed log-ins: try again later");
    }
    long long uid = 0;
    bool account = false;
    int rc = name_ok ? rp_serve__verify_password(&uid, &account, ctx->st, user, password,
                                                 password != NULL ? strlen(password) : 0, err)
                     : rp_error_set(err, RP_EPERM, "wrong user name or password");
    if (rc == RP_EPERM) {
        if (name_ok)
            rp_serve__rl_fail(srv->rl, ukey, now, srv->opts.login_window, account);
        ib = rp_serve__rl_blocked(srv->rl, ikey, now, srv->opts.login_max_ip,
                                  srv->opts.login_window, &ra_i, &first_i);
        rp_serve__rl_fail(srv->rl, ikey, now, srv->opts.login_window, false);
        if (ib) {
            *status = 429;
            ctx->res->retry_after = ra_i;
            if (first_i)
                rp_serve__audit(ctx->st, "", "login.throttled", ctx->req->client,
                                "{\"by\": \"address\"}", NULL);
            return rp_error_set(err, RP_EPERM, "too many failed log-ins: try again later");
        }
        rp_serve__audit(ctx->st, account ? user : "", "login.failed", ctx->req->client,
                        account ? NULL : "{\"account\": \"unknown\"}", NULL);
        *status = 401;
        return rc;
    }
    if (rc != RP_OK)
        return rc;
    rp_serve__rl_reset(srv->rl, ukey);
    rc = rp_serve__session_start(&ctx->sess, token, ctx->st, uid, now, srv->opts.session_seconds,
                                 err);
    if (rc == RP_OK)
        rc = rp_serve__audit(ctx->st, user, "login", ctx->req->client, NULL, err);
    if (rc == RP_OK)
        rp_serve__set_cookie(ctx, rp_serve__cookie_name(ctx->req->tls), token, 12L * 3600);
    return rc;
}

int rp_serve__post_login(rp_serve__ctx *ctx, rp_error *err)
{
    const char *sent = rp_serve__param_get(&ctx->form, "csrf");
    const char *cookie = rp_serve__param_get(&ctx->req->cookies, login_cookie(ctx->req->tls));
    const char *next = rp_serve__param_get(&ctx->form, "next");
    if (!rp_serve__token_shape_ok(sent) || !rp_serve__secret_eq(sent, cookie)) {
        ctx->res->status = 403;
        login_form(ctx, next, "The form has expired: please log in again.");
        return rp_serve__page_finish(ctx, err);
    }
    char token[RP_SERVE_TOKEN_TEXT + 1];
    unsigned status = 0;
    rp_error lerr = RP_ERROR_INIT;
    int rc = rp_serve__login(token, &status, ctx, rp_serve__param_get(&ctx->form, "user"),
                             rp_serve__param_get(&ctx->form, "password"), &lerr);
    if (status != 0) {
        ctx->res->status = status;
        login_form(ctx, next, lerr.msg);
        return rp_serve__page_finish(ctx, err);
    }
    if (rc != RP_OK) {
        *err = lerr;
        return rc;
    }
    rp_serve__set_cookie(ctx, login_cookie(ctx->req->tls), "", 0);
    rp_serve__redirect(ctx, safe_next(next) ? next : home_of(ctx->sess.role));
    return RP_OK;
}

int rp_serve__post_logout(rp_serve__ctx *ctx, rp_error *err)
{
    int rc = rp_serve__session_end(ctx->st, ctx->sess.token_hash, err);
    if (rc == RP_OK)
        rc = rp_serve__audit(ctx->st, ctx->sess.user, "logout", "", NULL, err);
    rp_serve__set_cookie(ctx, rp_serve__cookie_name(ctx->req->tls), "", 0);
    rp_serve__redirect(ctx, "/public");
    return rc;
}

int rp_serve__page_health(rp_serve__ctx *ctx, rp_error *err)
{
    (void)err;
    rp_x_buf_puts(&ctx->res->body, "ok\n");
    return RP_OK;
}

/* ==== overview ==== */

static void interval_text(rp_x_buf *b, const json_t *e)
{
    double lo = rp_serve__jnum(e, "lower");
    double hi = rp_serve__jnum(e, "upper");
    double level = rp_serve__jnum(e, "level");
    if (!isfinite(lo) || !isfinite(hi))
        return;
    rp_x_buf_printf(b, "%.0f%% interval ", isfinite(level) ? level * 100 : 95.0);
    rp_serve__num(b, round(lo));
    rp_x_buf_puts(b, "&ndash;");
    rp_serve__num(b, round(hi));
}

/*
 * The trend as an inline SVG: per year, a bar for the persons observed and the estimate
 * with its interval as a dot and whisker. role="img" with a title and a description; the
 * same numbers are in the table beside it.
 */
static void trend_svg(rp_x_buf *b, const json_t *trend)
{
    size_t n = json_array_size(trend);
    if (n == 0)
        return;
    double top = 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(trend, i);
        double v[] = {rp_serve__jnum(e, "observed"), rp_serve__jnum(e, "upper"),
                      rp_serve__jnum(e, "estimate")};
        for (size_t k = 0; k < 3; k++)
            top = isfinite(v[k]) && v[k] > top ? v[k] : top;
    }
    const double w = 640;
    const double h = 260;
    const double left = 50;
    const double bottom = 30;
    double step = (w - left - 10) / (double)n;
    rp_x_buf_printf(b,
                    "<svg viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-labelledby=\"trt trd\">"
                    "<title id=\"trt\">Persons observed and estimated total by year</title>"
                    "<desc id=\"trd\">Bars: persons on at least one list. Dots with lines: "
                    "estimated total with its interval. The table below has the numbers.</desc>"
                    "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#57606a\"/>"
                    "<text x=\"4\" y=\"14\" font-size=\"12\" fill=\"#57606a\">",
                    w, h, left, h - bottom, w - 10, h - bottom);
    rp_serve__num(b, round(top));
    rp_x_buf_puts(b, "</text>");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(trend, i);
        double x = left + step * (double)i + step * 0.15;
        double bw = step * 0.7;
        double obs = rp_serve__jnum(e, "observed");
        double scale = (h - bottom - 20) / top;
        if (isfinite(obs))
            rp_x_buf_printf(b,
                            "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                            "fill=\"#9ec5e8\"/>",
                            x, h - bottom - obs * scale, bw, obs * scale);
        double est = rp_serve__jnum(e, "estimate");
        double lo = rp_serve__jnum(e, "lower");
        double hi = rp_serve__jnum(e, "upper");
        double cx = x + bw / 2;
        if (isfinite(lo) && isfinite(hi))
            rp_x_buf_printf(b,
                            "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                            "stroke=\"#0a4f8c\" stroke-width=\"2\"/>",
                            cx, cx, h - bottom - lo * scale, h - bottom - hi * scale);
        if (isfinite(est))
            rp_x_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#0a4f8c\"/>", cx,
                            h - bottom - est * scale);
        rp_x_buf_printf(b,
                        "<text x=\"%.1f\" y=\"%.0f\" font-size=\"12\" text-anchor=\"middle\" "
                        "fill=\"#1b1f24\">",
                        cx, h - 10);
        rp_serve__esc(b, rp_serve__jstr(e, "year"));
        rp_x_buf_puts(b, "</text>");
    }
    rp_x_buf_puts(b, "</svg>");
}

static void trend_table(rp_x_buf *b, const json_t *trend)
{
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>Trend by registration year"
                     "</caption><thead><tr><th scope=\"col\">Year</th>"
                     "<th scope=\"col\" class=\"n\">Observed</th>"
                     "<th scope=\"col\" class=\"n\">Estimate</th>"
                     "<th scope=\"col\">Interval</th><th scope=\"col\">Note</th>"
                     "</tr></thead><tbody>");
    size_t i;
    json_t *e;
    json_array_foreach(trend, i, e)
    {
        rp_x_buf_puts(b, "<tr><th scope=\"row\">");
        rp_serve__esc(b, rp_serve__jstr(e, "year"));
        rp_x_buf_puts(b, "</th>");
        rp_serve__td_num(b, rp_serve__jnum(e, "observed"));
        rp_serve__td_num(b, round(rp_serve__jnum(e, "estimate")));
        rp_x_buf_puts(b, "<td>");
        interval_text(b, e);
        rp_x_buf_puts(b, "</td>");
        rp_serve__td_text(b, rp_serve__jstr(e, "refused"));
        rp_x_buf_puts(b, "</tr>");
    }
    rp_x_buf_puts(b, "</tbody></table></div>");
}

static void lists_table(rp_x_buf *b, const json_t *lists)
{
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>Lists (data sources)</caption>"
                     "<thead><tr><th scope=\"col\">List</th><th scope=\"col\" class=\"n\">"
                     "Records</th></tr></thead><tbody>");
    size_t i;
    json_t *e;
    json_array_foreach(lists, i, e)
    {
        rp_x_buf_puts(b, "<tr>");
        rp_serve__td_text(b, rp_serve__jstr(e, "list"));
        rp_serve__td_num(b, rp_serve__jnum(e, "records"));
        rp_x_buf_puts(b, "</tr>");
    }
    rp_x_buf_puts(b, "</tbody></table></div>");
}

int rp_serve__page_overview(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_overview(&m, ctx, err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf *b = &ctx->res->body;
    rp_serve__page_begin(ctx, "Overview");
    const json_t *t = json_object_get(m, "total");
    rp_x_buf_puts(b, "<section class=\"cards\" aria-label=\"Latest estimate\">"
                     "<div class=\"card\"><h2>Estimated total</h2>");
    if (json_is_number(json_object_get(t, "estimate"))) {
        rp_x_buf_puts(b, "<p class=\"big\" id=\"estimate\">");
        rp_serve__num(b, round(rp_serve__jnum(t, "estimate")));
        rp_x_buf_puts(b, "</p><p>");
        interval_text(b, t);
        rp_x_buf_puts(b, " <span class=\"muted\">(");
        rp_serve__esc(b, rp_serve__jstr(t, "interval"));
        rp_x_buf_puts(b, ")</span></p><p class=\"muted\">Model: ");
        rp_serve__esc(b, rp_serve__jstr(t, "model"));
        rp_x_buf_puts(b, " (");
        rp_serve__esc(b, rp_serve__jstr(t, "method"));
        rp_x_buf_puts(b, ")</p>");
    } else {
        rp_x_buf_puts(b, "<p class=\"big\">&ndash;</p><p>No estimate: ");
        rp_serve__esc(b, rp_serve__jstr(t, "refused"));
        rp_x_buf_puts(b, "</p>");
    }
    rp_x_buf_puts(b, "</div><div class=\"card\"><h2>Persons observed</h2><p class=\"big\">");
    rp_serve__num(b, rp_serve__jnum(t, "observed"));
    rp_x_buf_puts(b, "</p><p class=\"muted\">on at least one list, after linkage</p>");
    double unlinked = rp_serve__jnum(m, "unlinked_records");
    if (isfinite(unlinked) && unlinked > 0) {
        rp_x_buf_puts(b, "<p>");
        rp_serve__num(b, unlinked);
        rp_x_buf_puts(b, " records are not linked yet and are left out.</p>");
    }
    rp_x_buf_puts(b, "</div></section>");
    const json_t *trend = json_object_get(m, "trend");
    if (json_array_size(trend) > 0) {
        rp_x_buf_puts(b, "<h2>Trend</h2>");
        trend_svg(b, trend);
        trend_table(b, trend);
    }
    rp_x_buf_puts(b, "<h2>Data</h2>");
    lists_table(b, json_object_get(m, "lists"));
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}

/* ==== submissions ==== */

static void upload_form(rp_serve__ctx *ctx, bool enabled)
{
    rp_x_buf *b = &ctx->res->body;
    rp_x_buf_puts(b, "<h2>Upload a sealed submission</h2>");
    if (!enabled) {
        rp_x_buf_puts(b, "<p class=\"msg\">Uploads are off: the server was started without "
                         "<code>--hub-key</code>.</p>");
        return;
    }
    rp_x_buf_puts(b, "<form class=\"stack\" method=\"post\" action=\"/submissions\" "
                     "enctype=\"multipart/form-data\">");
    rp_serve__csrf_input(ctx);
    rp_x_buf_puts(b, "<label for=\"file\">Submission file (made with <code>rapporteur encode"
                     "</code> and <code>rapporteur seal</code>)</label>"
                     "<input id=\"file\" name=\"file\" type=\"file\" required>"
                     "<button type=\"submit\">Upload</button></form>");
}

static void submissions_table(rp_x_buf *b, const json_t *subs)
{
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>Submissions, newest first</caption>"
                     "<thead><tr><th scope=\"col\">#</th><th scope=\"col\">Agency</th>"
                     "<th scope=\"col\">List</th><th scope=\"col\">File</th>"
                     "<th scope=\"col\">Imported (UTC)</th><th scope=\"col\" class=\"n\">Read"
                     "</th><th scope=\"col\" class=\"n\">Stored</th><th scope=\"col\" "
                     "class=\"n\">Quarantined</th></tr></thead><tbody>");
    size_t i;
    json_t *s;
    json_array_foreach(subs, i, s)
    {
        long long id = (long long)rp_serve__jnum(s, "id");
        rp_x_buf_printf(b, "<tr><td><a href=\"/submissions/%lld\">%lld</a></td>", id, id);
        rp_serve__td_text(b, rp_serve__jstr(s, "agency"));
        rp_serve__td_text(b, rp_serve__jstr(s, "list"));
        rp_serve__td_text(b, rp_serve__jstr(s, "file_name"));
        rp_serve__td_text(b, rp_serve__jstr(s, "imported_at"));
        rp_serve__td_num(b, rp_serve__jnum(s, "read"));
        rp_serve__td_num(b, rp_serve__jnum(s, "stored"));
        rp_serve__td_num(b, rp_serve__jnum(s, "quarantined"));
        rp_x_buf_puts(b, "</tr>");
    }
    if (json_array_size(subs) == 0)
        rp_x_buf_puts(b, "<tr><td colspan=\"8\">No submissions yet.</td></tr>");
    rp_x_buf_puts(b, "</tbody></table></div>");
}

/* The submissions page, with an optional message about an upload. */
static int submissions_page(rp_serve__ctx *ctx, const char *bad, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_submissions(&m, ctx, err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf *b = &ctx->res->body;
    rp_serve__page_begin(ctx, "Submissions");
    if (bad != NULL)
        rp_serve__message(b, "bad", bad);
    if (ctx->sess.role == RP_ROLE_SUBMITTER) {
        rp_x_buf_puts(b, "<p>Submissions of agency <strong>");
        rp_serve__esc(b, ctx->sess.agency);
        rp_x_buf_puts(b, "</strong>.</p>");
    }
    upload_form(ctx, json_is_true(json_object_get(m, "uploads_enabled")));
    rp_x_buf_puts(b, "<h2>Received</h2>");
    submissions_table(b, json_object_get(m, "submissions"));
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}

int rp_serve__page_submissions(rp_serve__ctx *ctx, rp_error *err)
{
    return submissions_page(ctx, NULL, err);
}

int rp_serve__post_submission(rp_serve__ctx *ctx, rp_error *err)
{
    const rp_serve__part *f = rp_serve__part_get(&ctx->parts, "file");
    if (f == NULL || !f->has_filename) {
        ctx->res->status = 400;
        return submissions_page(ctx, "Choose a submission file to upload.", err);
    }
    json_t *r = NULL;
    rp_error uerr = RP_ERROR_INIT;
    int rc = rp_serve__upload(&r, ctx, f->filename, f->data, f->len, &uerr);
    if (rc == RP_EDATA || rc == RP_EINVAL || rc == RP_EPERM) {
        char msg[700];
        snprintf(msg, sizeof(msg), "The submission was not imported: %s", uerr.msg);
        ctx->res->status = rc == RP_EPERM ? 403 : 422;
        return submissions_page(ctx, msg, err);
    }
    if (rc != RP_OK) {
        *err = uerr;
        return rc;
    }
    double id = rp_serve__jnum(r, "submission_id");
    json_decref(r);
    if (!isfinite(id)) /* a duplicate of a submission this user may not see */
        return submissions_page(ctx, "This file was imported before.", err);
    char loc[64];
    snprintf(loc, sizeof(loc), "/submissions/%lld", (long long)id);
    rp_serve__redirect(ctx, loc);
    return RP_OK;
}

static void quarantine_table(rp_x_buf *b, const json_t *q)
{
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>Rows set aside, with every reason"
                     "</caption><thead><tr><th scope=\"col\" class=\"n\">Line</th>"
                     "<th scope=\"col\">Column</th><th scope=\"col\">Rule</th>"
                     "<th scope=\"col\">Value</th><th scope=\"col\">What was expected</th>"
                     "</tr></thead><tbody>");
    size_t i;
    json_t *e;
    json_array_foreach(q, i, e)
    {
        rp_x_buf_puts(b, "<tr>");
        rp_serve__td_num(b, rp_serve__jnum(e, "line"));
        rp_serve__td_text(b, rp_serve__jstr(e, "column_name"));
        rp_serve__td_text(b, rp_serve__jstr(e, "rule"));
        rp_serve__td_text(b, rp_serve__jstr(e, "value"));
        rp_serve__td_text(b, rp_serve__jstr(e, "message"));
        rp_x_buf_puts(b, "</tr>");
    }
    rp_x_buf_puts(b, "</tbody></table></div>");
}

int rp_serve__page_submission(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_submission(&m, ctx, ctx->ids[0], err);
    if (rc != RP_OK)
        return rc;
    const json_t *s = json_object_get(m, "submission");
    rp_x_buf *b = &ctx->res->body;
    char title[64];
    snprintf(title, sizeof(title), "Submission %lld", ctx->ids[0]);
    rp_serve__page_begin(ctx, title);
    double q = rp_serve__jnum(s, "quarantined");
    rp_serve__message(b, q > 0 ? "bad" : "ok",
                      q > 0 ? "Some rows were set aside: see the reasons below."
                            : "Every row passed validation and was stored.");
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>Validation report</caption><tbody>");
    static const char *const rows[][2] = {{"agency", "Agency"},
                                          {"list", "List"},
                                          {"file_name", "File"},
                                          {"imported_at", "Imported (UTC)"},
                                          {"sha256", "SHA-256"}};
    for (size_t i = 0; i < RP_ARRAY_LEN(rows); i++) {
        rp_x_buf_printf(b, "<tr><th scope=\"row\">%s</th>", rows[i][1]);
        rp_serve__td_text(b, rp_serve__jstr(s, rows[i][0]));
        rp_x_buf_puts(b, "</tr>");
    }
    static const char *const counts[][2] = {
        {"read", "Rows read"}, {"stored", "Stored"}, {"quarantined", "Quarantined"}};
    for (size_t i = 0; i < RP_ARRAY_LEN(counts); i++) {
        rp_x_buf_printf(b, "<tr><th scope=\"row\">%s</th>", counts[i][1]);
        rp_serve__td_num(b, rp_serve__jnum(s, counts[i][0]));
        rp_x_buf_puts(b, "</tr>");
    }
    rp_x_buf_puts(b, "</tbody></table></div>");
    if (q > 0) {
        rp_x_buf_puts(b, "<h2>Quarantine</h2>");
        quarantine_table(b, json_object_get(m, "quarantine"));
        if (json_is_true(json_object_get(m, "truncated")))
            rp_x_buf_puts(b, "<p class=\"muted\">Only the first 500 reasons are shown.</p>");
    }
    rp_x_buf_puts(b, "<p><a href=\"/submissions\">All submissions</a></p>");
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}

/* ==== linkage ==== */

int rp_serve__page_linkage(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_link_runs(&m, ctx, err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf *b = &ctx->res->body;
    rp_serve__page_begin(ctx, "Linkage runs");
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>Runs of <code>rapporteur link"
                     "</code>, newest first</caption><thead><tr><th scope=\"col\">Run</th>"
                     "<th scope=\"col\">When (UTC)</th><th scope=\"col\">Method</th>"
                     "<th scope=\"col\" class=\"n\">Records</th><th scope=\"col\" class=\"n\">"
                     "Persons</th><th scope=\"col\" class=\"n\">Pairs</th><th scope=\"col\" "
                     "class=\"n\">To review</th><th scope=\"col\" class=\"n\">Reviewed</th>"
                     "</tr></thead><tbody>");
    const json_t *runs = json_object_get(m, "runs");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        long long id = (long long)rp_serve__jnum(r, "id");
        rp_x_buf_printf(b, "<tr><td><a href=\"/linkage/%lld\">Run %lld</a></td>", id, id);
        rp_serve__td_text(b, rp_serve__jstr(r, "created_at"));
        rp_serve__td_text(b, rp_serve__jstr(r, "method"));
        rp_serve__td_num(b, rp_serve__jnum(r, "records"));
        rp_serve__td_num(b, rp_serve__jnum(r, "persons"));
        rp_serve__td_num(b, rp_serve__jnum(r, "pairs"));
        rp_serve__td_num(b, rp_serve__jnum(r, "to_review"));
        rp_serve__td_num(b, rp_serve__jnum(r, "reviewed"));
        rp_x_buf_puts(b, "</tr>");
    }
    if (json_array_size(runs) == 0)
        rp_x_buf_puts(b, "<tr><td colspan=\"8\">No linkage runs yet.</td></tr>");
    rp_x_buf_puts(b, "</tbody></table></div>");
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}

static void record_cell(rp_x_buf *b, const json_t *r)
{
    rp_x_buf_puts(b, "<td>");
    rp_serve__esc(b, rp_serve__jstr(r, "list"));
    rp_x_buf_puts(b, " <span class=\"muted\">");
    rp_serve__esc(b, rp_serve__jstr(r, "case_id"));
    rp_x_buf_puts(b, "</span><br>");
    static const char *const keys[] = {"registration_year", "sex", "age_band", "citizenship",
                                       "exploitation"};
    for (size_t k = 0; k < RP_ARRAY_LEN(keys); k++) {
        if (k > 0)
            rp_x_buf_puts(b, " &middot; ");
        const char *v = rp_serve__jstr(r, keys[k]);
        rp_serve__esc(b, v[0] != '\0' ? v : "?");
    }
    rp_x_buf_puts(b, "</td>");
}

static void review_row(rp_serve__ctx *ctx, const json_t *p)
{
    rp_x_buf *b = &ctx->res->body;
    long long a = (long long)rp_serve__jnum(p, "a");
    long long bb = (long long)rp_serve__jnum(p, "b");
    rp_x_buf_printf(b, "<tr><td class=\"n\">%.3f</td>", rp_serve__jnum(p, "score"));
    record_cell(b, json_object_get(p, "record_a"));
    record_cell(b, json_object_get(p, "record_b"));
    rp_serve__td_text(b, rp_serve__jstr(p, "decision"));
    rp_x_buf_printf(b,
                    "<td><form method=\"post\" action=\"/linkage/%lld/review\" "
                    "class=\"inline\">",
                    ctx->ids[0]);
    rp_serve__csrf_input(ctx);
    rp_x_buf_printf(b,
                    "<input type=\"hidden\" name=\"a\" value=\"%lld\">"
                    "<input type=\"hidden\" name=\"b\" value=\"%lld\">"
                    "<button name=\"decision\" value=\"accept\" aria-label=\"Accept pair "
                    "%lld and %lld as one person\">Accept</button> "
                    "<button name=\"decision\" value=\"reject\" class=\"reject\" "
                    "aria-label=\"Reject pair %lld and %lld\">Reject</button></form></td></tr>",
                    a, bb, a, bb, a, bb);
}

int rp_serve__page_link_run(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_link_run(&m, ctx, ctx->ids[0], err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf *b = &ctx->res->body;
    const json_t *run = json_object_get(m, "run");
    char title[64];
    snprintf(title, sizeof(title), "Clerical review: run %lld", ctx->ids[0]);
    rp_serve__page_begin(ctx, title);
    rp_x_buf_puts(b, "<p>Method ");
    rp_serve__esc(b, rp_serve__jstr(run, "method"));
    rp_x_buf_puts(b, ", ");
    rp_serve__num(b, rp_serve__jnum(run, "records"));
    rp_x_buf_puts(b, " records, ");
    rp_serve__num(b, rp_serve__jnum(run, "pairs"));
    rp_x_buf_puts(b, " scored pairs. Pairs in the review band are shown first; a decision is "
                     "recorded and audited, and the next <code>rapporteur link</code> run "
                     "clusters with it.</p>");
    const char *done = rp_serve__param_get(&ctx->req->query, "done");
    if (done != NULL)
        rp_serve__message(b, "ok", "Decision recorded.");
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>Uncertain pairs</caption><thead>"
                     "<tr><th scope=\"col\" class=\"n\">Score</th><th scope=\"col\">Record A"
                     "</th><th scope=\"col\">Record B</th><th scope=\"col\">Decision</th>"
                     "<th scope=\"col\">Review</th></tr></thead><tbody>");
    const json_t *pairs = json_object_get(m, "review");
    size_t i;
    json_t *p;
    json_array_foreach(pairs, i, p)
    {
        review_row(ctx, p);
    }
    if (json_array_size(pairs) == 0)
        rp_x_buf_puts(b, "<tr><td colspan=\"5\">No pairs in the review band.</td></tr>");
    rp_x_buf_puts(b, "</tbody></table></div><p><a href=\"/linkage\">All runs</a></p>");
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}

/* A form field as a positive number. */
static bool form_id(long long *out, const rp_serve__params *form, const char *name)
{
    const char *v = rp_serve__param_get(form, name);
    long x = 0;
    if (v == NULL || rp_x_parse_long(v, 1, LONG_MAX, &x) != 0)
        return false;
    *out = x;
    return true;
}

int rp_serve__post_link_review(rp_serve__ctx *ctx, rp_error *err)
{
    long long a = 0;
    long long bb = 0;
    const char *d = rp_serve__param_get(&ctx->form, "decision");
    if (!form_id(&a, &ctx->form, "a") || !form_id(&bb, &ctx->form, "b") || d == NULL ||
        (strcmp(d, "accept") != 0 && strcmp(d, "reject") != 0))
        return rp_error_set(err, RP_EINVAL, "a review needs pair ids a, b and a decision");
    int rc = rp_serve__link_review(ctx, ctx->ids[0], a, bb, strcmp(d, "accept") == 0, err);
    if (rc != RP_OK)
        return rc;
    char loc[64];
    snprintf(loc, sizeof(loc), "/linkage/%lld?done=1", ctx->ids[0]);
    rp_serve__redirect(ctx, loc);
    return RP_OK;
}

/* ==== accounts and audit ==== */

static void user_form(rp_serve__ctx *ctx, const json_t *roles)
{
    rp_x_buf *b = &ctx->res->body;
    rp_x_buf_puts(b, "<h2>Add an account</h2><form class=\"stack\" method=\"post\" "
                     "action=\"/admin/users\">");
    rp_serve__csrf_input(ctx);
    rp_x_buf_puts(b, "<label for=\"name\">User name</label><input id=\"name\" name=\"name\" "
                     "required maxlength=\"63\" pattern=\"[A-Za-z0-9._@-]+\">"
                     "<label for=\"role\">Role</label><select id=\"role\" name=\"role\">");
    size_t i;
    json_t *r;
    json_array_foreach(roles, i, r)
    {
        rp_x_buf_puts(b, "<option>");
        rp_serve__esc(b, json_string_value(r));
        rp_x_buf_puts(b, "</option>");
    }
    rp_x_buf_puts(b, "</select><label for=\"agency\">Agency (submitters)</label>"
                     "<input id=\"agency\" name=\"agency\" maxlength=\"63\">"
                     "<label for=\"npw\">Password (at least 10 characters)</label>"
                     "<input id=\"npw\" name=\"password\" type=\"password\" minlength=\"10\" "
                     "autocomplete=\"new-password\" required>"
                     "<button type=\"submit\">Add</button></form>");
}

static int users_page(rp_serve__ctx *ctx, const char *note, bool bad, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_users(&m, ctx, err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf *b = &ctx->res->body;
    rp_serve__page_begin(ctx, "Users");
    if (note != NULL)
        rp_serve__message(b, bad ? "bad" : "ok", note);
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>Accounts</caption><thead><tr>"
                     "<th scope=\"col\">Name</th><th scope=\"col\">Role</th><th scope=\"col\">"
                     "Agency</th><th scope=\"col\">Created (UTC)</th><th scope=\"col\">State"
                     "</th></tr></thead><tbody>");
    size_t i;
    json_t *u;
    json_array_foreach(json_object_get(m, "users"), i, u)
    {
        rp_x_buf_puts(b, "<tr>");
        rp_serve__td_text(b, rp_serve__jstr(u, "name"));
        rp_serve__td_text(b, rp_serve__jstr(u, "role"));
        rp_serve__td_text(b, rp_serve__jstr(u, "agency"));
        rp_serve__td_text(b, rp_serve__jstr(u, "created_at"));
        rp_serve__td_text(b, json_is_true(json_object_get(u, "disabled")) ? "disabled" : "active");
        rp_x_buf_puts(b, "</tr>");
    }
    rp_x_buf_puts(b, "</tbody></table></div>");
    user_form(ctx, json_object_get(m, "roles"));
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}

int rp_serve__page_users(rp_serve__ctx *ctx, rp_error *err)
{
    return users_page(ctx, NULL, false, err);
}

int rp_serve__post_user(rp_serve__ctx *ctx, rp_error *err)
{
    rp_role role = RP_ROLE_PUBLIC;
    rp_error uerr = RP_ERROR_INIT;
    const char *pw = rp_serve__param_get(&ctx->form, "password");
    int rc = rp_role_parse(&role, rp_serve__param_get(&ctx->form, "role"), &uerr);
    if (rc == RP_OK)
        rc = rp_serve_user_add(ctx->st, rp_serve__param_get(&ctx->form, "name"), role,
                               rp_serve__param_get(&ctx->form, "agency"), pw,
                               pw != NULL ? strlen(pw) : 0, ctx->sess.user, &uerr);
    if (rc == RP_EINVAL) {
        ctx->res->status = 400;
        return users_page(ctx, uerr.msg, true, err);
    }
    if (rc != RP_OK) {
        *err = uerr;
        return rc;
    }
    return users_page(ctx, "Account added.", false, err);
}

/* Append @p s percent-encoded for a query string (unreserved characters kept). */
static void url_param(rp_x_buf *b, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
            rp_x_buf_putc(b, (char)c);
        else
            rp_x_buf_printf(b, "%%%02X", c);
    }
}

static void audit_filter_form(rp_x_buf *b, const json_t *filter)
{
    rp_x_buf_puts(b, "<form class=\"stack\" method=\"get\" action=\"/admin/audit\">"
                     "<label for=\"fa\">Action (ends in a dot: all that start so, as "
                     "<code>login.</code>)</label><input id=\"fa\" name=\"action\" value=\"");
    rp_serve__esc(b, rp_serve__jstr(filter, "action"));
    rp_x_buf_puts(b, "\"><label for=\"fu\">User</label><input id=\"fu\" name=\"user\" value=\"");
    rp_serve__esc(b, rp_serve__jstr(filter, "user"));
    rp_x_buf_printf(b,
                    "\"><label><input type=\"checkbox\" name=\"kind\" value=\"changes\"%s> "
                    "Changes only (no log-ins)</label><button type=\"submit\">Show</button>"
                    "</form>",
                    strcmp(rp_serve__jstr(filter, "kind"), "changes") == 0 ? " checked" : "");
}

int rp_serve__page_audit(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_audit(&m, ctx, err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf *b = &ctx->res->body;
    const json_t *filter = json_object_get(m, "filter");
    rp_serve__page_begin(ctx, "Audit trail");
    audit_filter_form(b, filter);
    rp_x_buf_printf(b,
                    "<div class=\"scroll\"><table><caption>Changes and log-ins, newest first "
                    "(%.0f at most a page)</caption><thead><tr><th scope=\"col\">When "
                    "(UTC)</th><th scope=\"col\">User</th><th scope=\"col\">Action</th>"
                    "<th scope=\"col\">Object</th><th scope=\"col\">Details</th></tr></thead>"
                    "<tbody>",
                    rp_serve__jnum(filter, "limit"));
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(m, "audit"), i, e)
    {
        rp_x_buf_puts(b, "<tr>");
        rp_serve__td_text(b, rp_serve__jstr(e, "at"));
        rp_serve__td_text(b, rp_serve__jstr(e, "user"));
        rp_serve__td_text(b, rp_serve__jstr(e, "action"));
        rp_serve__td_text(b, rp_serve__jstr(e, "object"));
        char *d = json_dumps(json_object_get(e, "detail"), JSON_COMPACT);
        rp_serve__td_text(b, d != NULL ? d : "");
        free(d);
        rp_x_buf_puts(b, "</tr>");
    }
    rp_x_buf_puts(b, "</tbody></table></div>");
    double next = rp_serve__jnum(m, "next_before");
    if (isfinite(next)) {
        /* The link is built from escaped parameters, then escaped again as an attribute. */
        rp_x_buf link;
        rp_x_buf_init(&link);
        rp_x_buf_printf(&link, "/admin/audit?before=%.0f&limit=%.0f", next,
                        rp_serve__jnum(filter, "limit"));
        if (rp_serve__jstr(filter, "action")[0] != '\0') {
            rp_x_buf_puts(&link, "&action=");
            url_param(&link, rp_serve__jstr(filter, "action"));
        }
        if (rp_serve__jstr(filter, "user")[0] != '\0') {
            rp_x_buf_puts(&link, "&user=");
            url_param(&link, rp_serve__jstr(filter, "user"));
        }
        if (strcmp(rp_serve__jstr(filter, "kind"), "changes") == 0)
            rp_x_buf_puts(&link, "&kind=changes");
        rp_x_buf_puts(b, "<p><a href=\"");
        rp_serve__esc(b, rp_x_buf_cstr(&link));
        rp_x_buf_puts(b, "\">Older entries</a></p>");
        rp_x_buf_release(&link);
    }
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}
