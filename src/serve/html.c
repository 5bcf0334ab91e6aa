/*
 * HTML writing for the server's pages: escaping (every value from the store or the
 * request goes through rp_serve__esc), the page frame with its inline, responsive CSS
 * and the navigation a role may use, and the small answers every handler shares (JSON,
 * errors, redirects). No JavaScript anywhere: forms post and pages are rendered here.
 */
#include "serve/serve_int.h"

#include <math.h>

void rp_serve__response_init(rp_serve__response *res)
{
    memset(res, 0, sizeof(*res));
    res->status = 200;
    res->content_type = "text/plain; charset=utf-8";
    rp_x_buf_init(&res->body);
}

void rp_serve__response_release(rp_serve__response *res)
{
    rp_x_buf_release(&res->body);
    rp_x_strvec_release(&res->cookies);
}

void rp_serve__esc(rp_x_buf *b, const char *s)
{
    rp_x_buf_put_html(b, s);
}

void rp_serve__num(rp_x_buf *b, double x)
{
    if (!isfinite(x))
        rp_x_buf_puts(b, "&ndash;");
    else if (x == floor(x) && fabs(x) < 1e15)
        rp_x_buf_printf(b, "%.0f", x);
    else
        rp_x_buf_printf(b, "%.1f", x);
}

const char *rp_serve__jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

double rp_serve__jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

void rp_serve__td_text(rp_x_buf *b, const char *s)
{
    rp_x_buf_puts(b, "<td>");
    rp_serve__esc(b, s);
    rp_x_buf_puts(b, "</td>");
}

void rp_serve__td_num(rp_x_buf *b, double x)
{
    rp_x_buf_puts(b, "<td class=\"n\">");
    rp_serve__num(b, x);
    rp_x_buf_puts(b, "</td>");
}

void rp_serve__message(rp_x_buf *b, const char *cls, const char *text)
{
    rp_x_buf_printf(b, "<p class=\"msg %s\" role=\"%s\">", cls,
                    strcmp(cls, "bad") == 0 ? "alert" : "status");
    rp_serve__esc(b, text);
    rp_x_buf_puts(b, "</p>");
}

/* ==== the page frame ==== */

/*
 * One inline style sheet: readable type, a layout that stacks on a phone, tables that
 * scroll sideways rather than overflow, visible focus, and colours with enough contrast.
 */
static const char css[] =
    ":root{--fg:#1b1f24;--muted:#57606a;--bg:#fff;--line:#d0d7de;--accent:#0a4f8c;"
    "--warn:#8a4b00;--bad:#a40e26;--ok:#116329}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}"
    ".skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;"
    "padding:.5rem;z-index:2}"
    "header{background:var(--accent);color:#fff;padding:.5rem 1rem}"
    "header a{color:#fff}"
    "header .brand{font-weight:700;margin-right:1rem;text-decoration:none}"
    "nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}"
    "nav a[aria-current]{font-weight:700;text-decoration:underline 3px}"
    ".who{font-size:.9rem;display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}"
    ".who form{margin:0}"
    "main{max-width:72rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.25rem;margin-top:2rem}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem}"
    ".card{border:1px solid var(--line);border-radius:.5rem;padding:1rem}"
    ".big{font-size:2rem;font-weight:700;line-height:1.2}"
    ".muted{color:var(--muted)}"
    ".scroll{overflow-x:auto}"
    "table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}"
    "caption{text-align:left;font-weight:600;padding:.25rem 0}"
    "th,td{border-bottom:1px solid var(--line);padding:.35rem .5rem;text-align:left;"
    "vertical-align:top}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    "form.stack{display:grid;gap:.5rem;max-width:32rem}"
    "label{font-weight:600}"
    "input,select,textarea,button{font:inherit;padding:.4rem;border:1px solid #8c959f;"
    "border-radius:.25rem;max-width:100%}"
    "button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}"
    "button.reject{background:var(--bad);border-color:var(--bad)}"
    ":focus-visible{outline:3px solid #f0a000;outline-offset:2px}"
    ".msg{border-left:4px solid var(--accent);padding:.5rem 1rem;background:#f0f6fc}"
    ".msg.bad{border-color:var(--bad);background:#fff0f0}"
    ".msg.ok{border-color:var(--ok);background:#effff3}"
    ".inline{display:inline}"
    "svg{max-width:100%;height:auto}"
    "footer{max-width:72rem;margin:2rem auto;padding:0 1rem;color:var(--muted);font-size:.85rem}"
    "@media (max-width:40rem){header{padding:.5rem}main{padding:.5rem}.big{font-size:1.5rem}"
    "th,td{padding:.3rem}}";

/* Navigation entries; each shows only to roles its GET route admits. */
static const struct {
    const char *path;
    const char *label;
} nav[] = {
    {"/", "Overview"},
    {"/submissions", "Submissions"},
    {"/linkage", "Linkage"},
    {"/recs", "Recommendations"},
    {"/scorecards", "Scorecards"},
    {"/public", "Public statistics"},
    {"/admin/users", "Users"},
    {"/admin/audit", "Audit"},
};

bool rp_serve__may(rp_role role, const char *method, const char *path)
{
    size_t n = 0;
    const rp_serve_route *r = rp_serve_routes(&n);
    long long ids[RP_SERVE_MAX_IDS];
    size_t n_ids = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].method, method) == 0 &&
            rp_serve__route_match(r[i].pattern, path, ids, &n_ids))
            return (r[i].roles & (RP_ROLE_BIT(RP_ROLE_PUBLIC) | RP_ROLE_BIT(role))) != 0;
    }
    return false;
}

/* True when @p path is the current page or a page below it. */
static bool is_current(const char *path, const char *here)
{
    if (strcmp(path, "/") == 0)
        return strcmp(here, "/") == 0;
    size_t n = strlen(path);
    return strncmp(here, path, n) == 0 && (here[n] == '\0' || here[n] == '/');
}

void rp_serve__csrf_input(rp_serve__ctx *ctx)
{
    rp_x_buf *b = &ctx->res->body;
    rp_x_buf_puts(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
    rp_serve__esc(b, ctx->sess.csrf);
    rp_x_buf_puts(b, "\">");
}

void rp_serve__page_begin(rp_serve__ctx *ctx, const char *title)
{
    rp_x_buf *b = &ctx->res->body;
    rp_x_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                     "<title>");
    rp_serve__esc(b, title);
    rp_x_buf_puts(b, " \xE2\x80\x93 rapporteur</title><style>");
    rp_x_buf_puts(b, css);
    rp_x_buf_puts(b, "</style></head><body>"
                     "<a class=\"skip\" href=\"#main\">Skip to content</a>"
                     "<header><nav aria-label=\"Main\"><ul>"
                     "<li><a class=\"brand\" href=\"/public\">rapporteur</a></li>");
    for (size_t i = 0; i < RP_ARRAY_LEN(nav); i++) {
        if (!rp_serve__may(ctx->sess.role, "GET", nav[i].path))
            continue;
        rp_x_buf_printf(b, "<li><a href=\"%s\"%s>%s</a></li>", nav[i].path,
                        is_current(nav[i].path, ctx->req->path) ? " aria-current=\"page\"" : "",
                        nav[i].label);
    }
    rp_x_buf_puts(b, "</ul></nav><div class=\"who\">");
    if (ctx->sess.role == RP_ROLE_PUBLIC) {
        rp_x_buf_puts(b, "<a href=\"/login\">Log in</a>");
    } else {
        rp_x_buf_puts(b, "<span>Logged in as <strong>");
        rp_serve__esc(b, ctx->sess.user);
        rp_x_buf_printf(b, "</strong> (%s)</span>", rp_role_name(ctx->sess.role));
        rp_x_buf_puts(b, "<form method=\"post\" action=\"/logout\" class=\"inline\">");
        rp_serve__csrf_input(ctx);
        rp_x_buf_puts(b, "<button type=\"submit\">Log out</button></form>");
    }
    rp_x_buf_puts(b, "</div></header><main id=\"main\"><h1>");
    rp_serve__esc(b, title);
    rp_x_buf_puts(b, "</h1>");
}

void rp_serve__page_end(rp_serve__ctx *ctx)
{
    rp_x_buf_puts(&ctx->res->body,
                  "</main><footer>rapporteur " RP_VERSION_STRING
                  " \xE2\x80\x94 statistics for national rapporteurs on trafficking in human "
                  "beings. Published figures pass disclosure control.</footer></body></html>\n");
    ctx->res->content_type = "text/html; charset=utf-8";
}

int rp_serve__page_finish(rp_serve__ctx *ctx, rp_error *err)
{
    rp_serve__page_end(ctx);
    if (rp_x_buf_oom(&ctx->res->body))
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    return RP_OK;
}

/* ==== small answers ==== */

int rp_serve__json(rp_serve__ctx *ctx, unsigned status, json_t *v, rp_error *err)
{
    if (v == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    char *text = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(v);
    if (text == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    rp_x_buf_reset(&ctx->res->body);
    rp_x_buf_puts(&ctx->res->body, text);
    rp_x_buf_putc(&ctx->res->body, '\n');
    free(text); /* made by Jansson's allocator */
    ctx->res->status = status;
    ctx->res->content_type = "application/json";
    if (rp_x_buf_oom(&ctx->res->body))
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    return RP_OK;
}

void rp_serve__error_page(rp_serve__ctx *ctx, unsigned status, const char *msg)
{
    rp_serve__response *res = ctx->res;
    rp_x_buf_reset(&res->body);
    res->status = status;
    bool api = ctx->route != NULL ? ctx->route->api : strncmp(ctx->req->path, "/api/", 5) == 0;
    if (api) {
        json_t *o = json_pack("{s:{s:i,s:s}}", "error", "status", (int)status, "message",
                              msg != NULL ? msg : "");
        if (rp_serve__json(ctx, status, o, NULL) != RP_OK) {
            res->content_type = "application/json";
            rp_x_buf_puts(&res->body, "{\"error\":{\"message\":\"out of memory\"}}\n");
        }
        res->status = status;
        return;
    }
    char title[32];
    snprintf(title, sizeof(title), "Error %u", status);
    rp_serve__page_begin(ctx, title);
    rp_serve__message(&res->body, "bad", msg);
    if (status == 401 || status == 403)
        rp_x_buf_puts(&res->body, "<p><a href=\"/login\">Log in</a> with another account, or go "
                                  "to the <a href=\"/public\">public statistics</a>.</p>");
    rp_serve__page_end(ctx);
}

void rp_serve__redirect(rp_serve__ctx *ctx, const char *location)
{
    rp_serve__response *res = ctx->res;
    res->status = 303;
    rp_x_strlcpy(res->location, location, sizeof(res->location));
    rp_x_buf_reset(&res->body);
    res->content_type = "text/plain; charset=utf-8";
    rp_x_buf_puts(&res->body, "see other\n");
}
