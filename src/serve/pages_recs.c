/*
 * The pages of the recommendation tracker (list with filters, one recommendation with
 * its history, status and evidence forms), the scorecards, and the public statistics
 * (disclosure-controlled tables only: suppressed cells show as "x" and no true count of
 * a suppressed cell is in the model the page is made from).
 */
#include "serve/serve_int.h"

#include <math.h>

/* "partially_implemented" -> "partially implemented" */
static void label(rp_x_buf *b, const char *code)
{
    for (const char *p = code; *p != '\0'; p++) {
        char s[2] = {*p, '\0'};
        if (s[0] == '_')
            s[0] = ' ';
        rp_serve__esc(b, s);
    }
}

/* ==== the list ==== */

static void filter_form(rp_serve__ctx *ctx, const json_t *m)
{
    rp_x_buf *b = &ctx->res->body;
    const json_t *f = json_object_get(m, "filter");
    rp_x_buf_puts(b, "<form method=\"get\" action=\"/recs\" class=\"stack\" "
                     "aria-label=\"Filter recommendations\">"
                     "<label for=\"f-state\">State</label><input id=\"f-state\" name=\"state\" "
                     "maxlength=\"8\" value=\"");
    rp_serve__esc(b, rp_serve__jstr(f, "state"));
    rp_x_buf_puts(b, "\"><label for=\"f-theme\">Theme</label><input id=\"f-theme\" "
                     "name=\"theme\" maxlength=\"31\" value=\"");
    rp_serve__esc(b, rp_serve__jstr(f, "theme"));
    rp_x_buf_puts(b, "\"><label for=\"f-status\">Status</label><select id=\"f-status\" "
                     "name=\"status\"><option value=\"\">any</option>");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(m, "statuses"), i, s)
    {
        const char *code = json_string_value(s);
        rp_x_buf_puts(b, "<option value=\"");
        rp_serve__esc(b, code);
        rp_x_buf_printf(b, "\"%s>",
                        strcmp(code, rp_serve__jstr(f, "status")) == 0 ? " selected" : "");
        label(b, code);
        rp_x_buf_puts(b, "</option>");
    }
    rp_x_buf_puts(b, "</select><button type=\"submit\">Filter</button></form>");
}

int rp_serve__page_recs(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_recs(&m, ctx, err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf *b = &ctx->res->body;
    rp_serve__page_begin(ctx, "Recommendations");
    filter_form(ctx, m);
    const json_t *recs = json_object_get(m, "recommendations");
    rp_x_buf_printf(b,
                    "<div class=\"scroll\"><table><caption>%zu recommendations</caption>"
                    "<thead><tr><th scope=\"col\">Reference</th><th scope=\"col\">Strength"
                    "</th><th scope=\"col\">Themes</th><th scope=\"col\">Due</th>"
                    "<th scope=\"col\">Status</th><th scope=\"col\">Text</th></tr></thead>"
                    "<tbody>",
                    json_array_size(recs));
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        rp_x_buf_printf(b, "<tr><td><a href=\"/recs/%lld\">", (long long)rp_serve__jnum(r, "id"));
        rp_serve__esc(b, rp_serve__jstr(r, "ref"));
        rp_x_buf_puts(b, "</a></td>");
        rp_serve__td_text(b, rp_serve__jstr(r, "strength"));
        rp_serve__td_text(b, rp_serve__jstr(r, "themes"));
        rp_serve__td_text(b, rp_serve__jstr(r, "due_date"));
        rp_x_buf_puts(b, "<td>");
        label(b, rp_serve__jstr(r, "status"));
        rp_x_buf_puts(b, "</td>");
        rp_serve__td_text(b, rp_serve__jstr(r, "text"));
        rp_x_buf_puts(b, "</tr>");
    }
    rp_x_buf_puts(b, "</tbody></table></div>");
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}

/* ==== one recommendation ==== */

static void history_table(rp_x_buf *b, const json_t *hist)
{
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>Status history</caption><thead><tr>"
                     "<th scope=\"col\">Date</th><th scope=\"col\">Status</th><th scope=\"col\">"
                     "By</th><th scope=\"col\">Note</th><th scope=\"col\">Evidence</th></tr>"
                     "</thead><tbody>");
    size_t i;
    json_t *h;
    json_array_foreach(hist, i, h)
    {
        rp_x_buf_puts(b, "<tr>");
        rp_serve__td_text(b, rp_serve__jstr(h, "date"));
        rp_x_buf_puts(b, "<td>");
        label(b, rp_serve__jstr(h, "status"));
        rp_x_buf_puts(b, "</td>");
        rp_serve__td_text(b, rp_serve__jstr(h, "author"));
        rp_serve__td_text(b, rp_serve__jstr(h, "note"));
        rp_x_buf_puts(b, "<td>");
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(h, "evidence"), k, e)
        {
            if (k > 0)
                rp_x_buf_puts(b, "<br>");
            rp_serve__esc(b, json_string_value(e));
        }
        rp_x_buf_puts(b, "</td></tr>");
    }
    rp_x_buf_puts(b, "</tbody></table></div>");
}

static void progress_list(rp_x_buf *b, const json_t *prog)
{
    if (json_array_size(prog) == 0)
        return;
    rp_x_buf_puts(b, "<h2>Progress reports</h2><ul>");
    size_t i;
    json_t *p;
    json_array_foreach(prog, i, p)
    {
        rp_x_buf_puts(b, "<li>");
        rp_serve__esc(b, rp_serve__jstr(p, "date"));
        rp_x_buf_puts(b, " &mdash; ");
        rp_serve__esc(b, rp_serve__jstr(p, "author"));
        rp_x_buf_puts(b, ": ");
        rp_serve__esc(b, rp_serve__jstr(p, "note"));
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(p, "evidence"), k, e)
        {
            rp_x_buf_puts(b, " [");
            rp_serve__esc(b, json_string_value(e));
            rp_x_buf_puts(b, "]");
        }
        rp_x_buf_puts(b, "</li>");
    }
    rp_x_buf_puts(b, "</ul>");
}

static void status_form(rp_serve__ctx *ctx, const json_t *m, long long id)
{
    rp_x_buf *b = &ctx->res->body;
    rp_x_buf_printf(b,
                    "<h2>Change the status</h2><form class=\"stack\" method=\"post\" "
                    "action=\"/recs/%lld/status\">",
                    id);
    rp_serve__csrf_input(ctx);
    rp_x_buf_puts(b, "<label for=\"status\">New status</label><select id=\"status\" "
                     "name=\"status\">");
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(m, "statuses"), i, s)
    {
        const char *code = json_string_value(s);
        rp_x_buf_puts(b, "<option value=\"");
        rp_serve__esc(b, code);
        rp_x_buf_printf(b, "\"%s>",
                        strcmp(code, rp_serve__jstr(m, "status")) == 0 ? " selected" : "");
        label(b, code);
        rp_x_buf_puts(b, "</option>");
    }
    rp_x_buf_puts(b, "</select><label for=\"note\">Note (needed to reopen or step back)</label>"
                     "<textarea id=\"note\" name=\"note\" rows=\"2\" maxlength=\"2000\">"
                     "</textarea><button type=\"submit\">Save status</button></form>");
}

static void evidence_form(rp_serve__ctx *ctx, long long id)
{
    rp_x_buf *b = &ctx->res->body;
    rp_x_buf_printf(b,
                    "<h2>Add evidence</h2><form class=\"stack\" method=\"post\" "
                    "action=\"/recs/%lld/evidence\">",
                    id);
    rp_serve__csrf_input(ctx);
    rp_x_buf_puts(b, "<label for=\"ev-note\">What was done</label><textarea id=\"ev-note\" "
                     "name=\"note\" rows=\"3\" maxlength=\"4000\"></textarea>"
                     "<label for=\"ev-link\">Link or document reference</label>"
                     "<input id=\"ev-link\" name=\"link\" maxlength=\"500\">"
                     "<button type=\"submit\">Add evidence</button></form>");
}

/* The recommendation page, with an optional message. */
static int rec_page(rp_serve__ctx *ctx, const char *note, bool bad, rp_error *err)
{
    long long id = ctx->ids[0];
    json_t *m = NULL;
    int rc = rp_serve__model_rec(&m, ctx, id, err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf *b = &ctx->res->body;
    char title[128];
    snprintf(title, sizeof(title), "Recommendation %s", rp_serve__jstr(m, "ref"));
    rp_serve__page_begin(ctx, title);
    if (note != NULL)
        rp_serve__message(b, bad ? "bad" : "ok", note);
    rp_x_buf_puts(b, "<blockquote>");
    rp_serve__esc(b, rp_serve__jstr(m, "text"));
    rp_x_buf_puts(b, "</blockquote><div class=\"scroll\"><table><tbody>");
    static const char *const rows[][2] = {
        {"state", "State"},       {"source", "Source"}, {"paragraph", "Paragraph"},
        {"strength", "Strength"}, {"due_date", "Due"},  {"status_date", "Status since"}};
    for (size_t i = 0; i < RP_ARRAY_LEN(rows); i++) {
        rp_x_buf_printf(b, "<tr><th scope=\"row\">%s</th>", rows[i][1]);
        rp_serve__td_text(b, rp_serve__jstr(m, rows[i][0]));
        rp_x_buf_puts(b, "</tr>");
    }
    rp_x_buf_puts(b, "<tr><th scope=\"row\">Status</th><td id=\"status-now\"><strong>");
    label(b, rp_serve__jstr(m, "status"));
    rp_x_buf_puts(b, "</strong></td></tr></tbody></table></div>");
    history_table(b, json_object_get(m, "history"));
    progress_list(b, json_object_get(m, "progress"));
    char path[64];
    snprintf(path, sizeof(path), "/recs/%lld/status", id);
    if (rp_serve__may(ctx->sess.role, "POST", path))
        status_form(ctx, m, id);
    snprintf(path, sizeof(path), "/recs/%lld/evidence", id);
    if (rp_serve__may(ctx->sess.role, "POST", path))
        evidence_form(ctx, id);
    rp_x_buf_puts(b, "<p><a href=\"/recs\">All recommendations</a></p>");
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}

int rp_serve__page_rec(rp_serve__ctx *ctx, rp_error *err)
{
    const char *done = rp_serve__param_get(&ctx->req->query, "done");
    return rec_page(ctx, done != NULL ? "Saved." : NULL, false, err);
}

/* After a change: redirect, or the page again with the refusal (422/400). */
static int after_change(rp_serve__ctx *ctx, int rc, rp_error *cerr, rp_error *err)
{
    if (rc == RP_EDATA || rc == RP_EINVAL) {
        ctx->res->status = rc == RP_EDATA ? 422 : 400;
        return rec_page(ctx, cerr->msg, true, err);
    }
    if (rc != RP_OK) {
        *err = *cerr;
        return rc;
    }
    char loc[64];
    snprintf(loc, sizeof(loc), "/recs/%lld?done=1", ctx->ids[0]);
    rp_serve__redirect(ctx, loc);
    return RP_OK;
}

int rp_serve__post_rec_status(rp_serve__ctx *ctx, rp_error *err)
{
    rp_error cerr = RP_ERROR_INIT;
    int rc = rp_serve__rec_set_status(ctx, ctx->ids[0], rp_serve__param_get(&ctx->form, "status"),
                                      rp_serve__param_get(&ctx->form, "note"), &cerr);
    return after_change(ctx, rc, &cerr, err);
}

int rp_serve__post_rec_evidence(rp_serve__ctx *ctx, rp_error *err)
{
    rp_error cerr = RP_ERROR_INIT;
    int rc = rp_serve__rec_add_evidence(ctx, ctx->ids[0], rp_serve__param_get(&ctx->form, "note"),
                                        rp_serve__param_get(&ctx->form, "link"), &cerr);
    return after_change(ctx, rc, &cerr, err);
}

/* ==== scorecards ==== */

static void score_table(rp_x_buf *b, const json_t *rows, const char *key, const char *caption)
{
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>");
    rp_serve__esc(b, caption);
    rp_x_buf_puts(b, "</caption><thead><tr><th scope=\"col\"></th><th scope=\"col\" class=\"n\">"
                     "Total</th><th scope=\"col\" class=\"n\">Implemented</th><th scope=\"col\" "
                     "class=\"n\">Share implemented</th><th scope=\"col\" class=\"n\">Overdue"
                     "</th><th scope=\"col\" class=\"n\">Repeated, not acted on</th></tr></thead>"
                     "<tbody>");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        const json_t *k = json_object_get(r, key);
        rp_x_buf_puts(b, "<tr><th scope=\"row\">");
        if (json_is_integer(k))
            rp_x_buf_printf(b, "%lld", (long long)json_integer_value(k));
        else
            rp_serve__esc(b, json_string_value(k));
        rp_x_buf_puts(b, "</th>");
        rp_serve__td_num(b, rp_serve__jnum(r, "total"));
        rp_serve__td_num(b, rp_serve__jnum(json_object_get(r, "by_status"), "implemented"));
        double sh = rp_serve__jnum(r, "share_implemented");
        if (isfinite(sh))
            rp_x_buf_printf(b, "<td class=\"n\">%.0f%%</td>", sh * 100);
        else
            rp_x_buf_puts(b, "<td class=\"n\">&ndash;</td>");
        rp_serve__td_num(b, rp_serve__jnum(r, "overdue"));
        rp_serve__td_num(b, rp_serve__jnum(r, "repeated_not_acted"));
        rp_x_buf_puts(b, "</tr>");
    }
    rp_x_buf_puts(b, "</tbody></table></div>");
}

int rp_serve__page_scorecards(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_scorecards(&m, ctx, err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf *b = &ctx->res->body;
    rp_serve__page_begin(ctx, "Scorecards");
    const json_t *all = json_object_get(m, "overall");
    rp_x_buf_puts(b, "<section class=\"cards\" aria-label=\"Overall\"><div class=\"card\"><h2>"
                     "Implemented</h2><p class=\"big\">");
    double sh = rp_serve__jnum(all, "share_implemented");
    if (isfinite(sh))
        rp_x_buf_printf(b, "%.0f%%", sh * 100);
    else
        rp_x_buf_puts(b, "&ndash;");
    rp_x_buf_puts(b, "</p><p class=\"muted\">of the recommendations still relevant, as of ");
    rp_serve__esc(b, rp_serve__jstr(m, "as_of"));
    rp_x_buf_puts(b, "</p></div><div class=\"card\"><h2>Overdue</h2><p class=\"big\">");
    rp_serve__num(b, rp_serve__jnum(all, "overdue"));
    rp_x_buf_puts(b, "</p></div><div class=\"card\"><h2>Repeated, not acted on</h2>"
                     "<p class=\"big\">");
    rp_serve__num(b, rp_serve__jnum(all, "repeated_not_acted"));
    rp_x_buf_puts(b, "</p></div></section>");
    static const char *const dims[][3] = {{"by_state", "state", "By state"},
                                          {"by_round", "round", "By evaluation round"},
                                          {"by_theme", "theme", "By theme"},
                                          {"by_strength", "strength", "By strength of wording"},
                                          {"by_body", "body", "By responsible body"}};
    for (size_t i = 0; i < RP_ARRAY_LEN(dims); i++)
        score_table(b, json_object_get(m, dims[i][0]), dims[i][1], dims[i][2]);
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}

/* ==== public statistics ==== */

/* The cell at @p index (n_dims indices) of a table's JSON, or NULL. */
static const json_t *cell_at(const json_t *cells, const size_t *index, size_t n_dims)
{
    size_t i;
    json_t *c;
    json_array_foreach(cells, i, c)
    {
        const json_t *ix = json_object_get(c, "index");
        bool same = json_array_size(ix) == n_dims;
        for (size_t d = 0; same && d < n_dims; d++)
            same = (size_t)json_integer_value(json_array_get(ix, d)) == index[d];
        if (same)
            return c;
    }
    return NULL;
}

static void cell_td(rp_x_buf *b, const json_t *c, const char *mark)
{
    const json_t *v = json_object_get(c, "value");
    if (json_is_number(v)) {
        rp_serve__td_num(b, json_number_value(v));
        return;
    }
    rp_x_buf_puts(b, "<td class=\"n\"><abbr title=\"suppressed (disclosure control)\">");
    rp_serve__esc(b, mark);
    rp_x_buf_puts(b, "</abbr></td>");
}

static const char *cell_label(const json_t *c, size_t d)
{
    const char *s = json_string_value(json_array_get(json_object_get(c, "labels"), d));
    return s != NULL ? s : "";
}

/* A one- or two-dimensional protected table: rows of dimension 0, columns of 1. */
static void public_table(rp_x_buf *b, const json_t *t)
{
    const json_t *dims = json_object_get(t, "dims");
    const json_t *cells = json_object_get(t, "cells");
    size_t nd = json_array_size(dims);
    if (nd < 1 || nd > 2)
        return;
    const char *mark = rp_serve__jstr(t, "suppressed_mark");
    size_t rows = json_array_size(json_object_get(json_array_get(dims, 0), "categories")) + 1;
    size_t cols =
        nd == 2 ? json_array_size(json_object_get(json_array_get(dims, 1), "categories")) + 1 : 1;
    rp_x_buf_puts(b, "<div class=\"scroll\"><table><caption>");
    rp_serve__esc(b, rp_serve__jstr(t, "title"));
    rp_x_buf_puts(b, "</caption><thead><tr><th scope=\"col\"></th>");
    for (size_t c = 0; c < cols; c++) {
        size_t idx[2] = {0, c};
        rp_x_buf_puts(b, "<th scope=\"col\" class=\"n\">");
        rp_serve__esc(b,
                      nd == 2 ? cell_label(cell_at(cells, idx, 2), 1) : rp_serve__jstr(t, "unit"));
        rp_x_buf_puts(b, "</th>");
    }
    rp_x_buf_puts(b, "</tr></thead><tbody>");
    for (size_t r = 0; r < rows; r++) {
        size_t idx[2] = {r, 0};
        rp_x_buf_puts(b, "<tr><th scope=\"row\">");
        rp_serve__esc(b, cell_label(cell_at(cells, idx, nd), 0));
        rp_x_buf_puts(b, "</th>");
        for (size_t c = 0; c < cols; c++) {
            idx[1] = c;
            cell_td(b, cell_at(cells, idx, nd), mark);
        }
        rp_x_buf_puts(b, "</tr>");
    }
    rp_x_buf_puts(b, "</tbody></table></div>");
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(t, "notes"), i, n)
    {
        rp_x_buf_puts(b, "<p class=\"muted\">");
        rp_serve__esc(b, json_string_value(n));
        rp_x_buf_puts(b, "</p>");
    }
}

int rp_serve__page_public(rp_serve__ctx *ctx, rp_error *err)
{
    json_t *m = NULL;
    int rc = rp_serve__model_public(&m, ctx, err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf *b = &ctx->res->body;
    rp_serve__page_begin(ctx, "Public statistics");
    rp_x_buf_puts(b, "<p>Identified victims of trafficking in human beings, counted as ");
    rp_serve__esc(b, rp_serve__jstr(m, "unit"));
    rp_x_buf_puts(b, ". Small numbers are suppressed (shown as <abbr title=\"suppressed\">x"
                     "</abbr>), together with enough other cells that they cannot be worked "
                     "out from the totals.</p>");
    const json_t *tables = json_object_get(m, "tables");
    size_t i;
    json_t *t;
    json_array_foreach(tables, i, t)
    {
        public_table(b, t);
    }
    if (json_array_size(tables) == 0)
        rp_x_buf_puts(b, "<p class=\"msg\">No statistics are published yet.</p>");
    json_decref(m);
    return rp_serve__page_finish(ctx, err);
}
