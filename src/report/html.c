/*
 * The HTML report: one self-contained file an office can publish as it is. Charts are
 * inline SVG (with <title> and <desc>), tables are real <table>s with <caption> and
 * <th scope>, suppressed cells show the mark with a visually hidden "not published" for
 * screen readers, and the page works on a phone (viewport, tables that scroll on their
 * own). No script, no external resource: a style sheet in <head> and nothing else.
 * Every string from outside (titles, labels, notes, sources) is escaped.
 */
#include "common/common_int.h"
#include "report/publish_int.h"

#include <rapporteur/chart.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char style_sheet[] =
    "body{font-family:\"DejaVu Sans\",system-ui,sans-serif;color:#222;background:#fff;"
    "line-height:1.5;margin:0 auto;max-width:70rem;padding:1rem}\n"
    "h1{font-size:1.7rem;line-height:1.25}h2{font-size:1.3rem;margin-top:2.5rem;"
    "border-top:1px solid #ccc;padding-top:1rem}\n"
    "figure{margin:1rem 0}figure svg{width:100%;height:auto;max-width:720pt}\n"
    "figcaption{font-size:.9rem;color:#555}\n"
    ".table-wrap{overflow-x:auto;margin:1rem 0}\n"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.95rem}\n"
    "caption{text-align:left;font-weight:bold;padding:.3rem 0}\n"
    "th,td{padding:.25rem .5rem;border-bottom:1px solid #ddd}\n"
    "td{text-align:right}th[scope=row]{text-align:left;font-weight:normal}\n"
    "thead th{text-align:right;border-bottom:2px solid #222;vertical-align:bottom;"
    "white-space:nowrap}\n"
    "thead th:first-child{text-align:left}\n"
    ".total,.total th{font-weight:bold}tr.total th,tr.total td{border-top:2px solid #222}\n"
    ".sup{color:#555;font-weight:bold}\n"
    ".vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);"
    "white-space:nowrap}\n"
    ".notes,.legend{font-size:.9rem;color:#444}\n"
    "footer{margin-top:3rem;font-size:.85rem;color:#555;border-top:1px solid #ccc}\n"
    "@media (max-width:40rem){body{padding:.5rem}th,td{padding:.2rem .35rem}"
    "h1{font-size:1.4rem}}\n";

/* Append @p s escaped for HTML text and attribute values. */
static void esc(rp_x_buf *b, const char *s)
{
    rp_x_buf_put_html(b, s);
}

/* <tag>escaped text</tag> on its own line. */
static void element(rp_x_buf *b, const char *tag, const char *text)
{
    rp_x_buf_printf(b, "<%s>", tag);
    esc(b, text);
    rp_x_buf_printf(b, "</%s>\n", tag);
}

static void suppressed_cell(rp_x_buf *b, const char *cls)
{
    rp_x_buf_printf(
        b, "<td class=\"sup%s\">" RP_PUBLISH_MARK "<span class=\"vh\"> (not published)</span></td>",
        cls);
}

/* One data cell: the published value, or the mark. */
static void value_cell(rp_x_buf *b, const rp_table *t, size_t cell, bool total)
{
    char num[64];
    if (rp_publish__suppressed(t, cell)) {
        suppressed_cell(b, total ? " total" : "");
        return;
    }
    rp_x_buf_printf(b, "<td%s>%s</td>", total ? " class=\"total\"" : "",
                    rp_publish__fmt_count(num, sizeof(num), t->value[cell]));
}

/* Share in percent (CTDC's denominator: units with information on the field), shown for
 * one-dimensional tables; empty where rp_table_shares() gives none. */
static void share_cell(rp_x_buf *b, const double *shares, size_t cell, bool total)
{
    if (isnan(shares[cell])) {
        rp_x_buf_puts(b, "<td></td>");
        return;
    }
    rp_x_buf_printf(b, "<td%s>%.1f</td>", total ? " class=\"total\"" : "", 100.0 * shares[cell]);
}

/* Index of the year labelled @p label in @p tr, or SIZE_MAX. */
static size_t trend_year(const rp_trend *tr, const char *label)
{
    long y = 0;
    if (tr == NULL || label == NULL || rp_x_parse_long(label, 1, 65535, &y) != RP_OK)
        return SIZE_MAX;
    for (size_t i = 0; i < tr->n_years; i++) {
        if (tr->years[i] == (int)y)
            return i;
    }
    return SIZE_MAX;
}

/* The annual change of row category @p i (a year) of a 1-D year table: two cells. */
static void change_cells(rp_x_buf *b, const rp_table *t, const rp_trend *tr, size_t i)
{
    char num[64];
    size_t k = i < t->dims[0].n_cats ? trend_year(tr, t->dims[0].cats[i]) : SIZE_MAX;
    if (k == SIZE_MAX || isnan(tr->change[k])) {
        rp_x_buf_puts(b, "<td></td><td></td>");
        return;
    }
    const char *sign = tr->change[k] > 0 ? "+" : "";
    rp_x_buf_printf(b, "<td>%s%s</td>", sign,
                    rp_publish__fmt_count(num, sizeof(num), tr->change[k]));
    if (isnan(tr->change_pct[k]))
        rp_x_buf_puts(b, "<td></td>");
    else
        rp_x_buf_printf(b, "<td>%s</td>", rp_publish__fmt_pct(num, sizeof(num), tr->change_pct[k]));
}

/* The header row: the row dimensions' names, then the column categories. */
static void table_head(rp_x_buf *b, const rp_table *t, const rp_publish_grid *g, bool change)
{
    char label[256];
    rp_x_buf_puts(b, "<thead><tr><th scope=\"col\">");
    for (size_t d = 0; d < g->row_dims; d++) {
        if (d > 0)
            rp_x_buf_puts(b, ", ");
        esc(b, rp_chart_field_label(t->dims[d].field));
    }
    rp_x_buf_puts(b, "</th>");
    if (g->one_dim) {
        rp_x_buf_printf(b, "<th scope=\"col\">Number of %s</th><th scope=\"col\">Share (%%)</th>",
                        t->unit != NULL ? t->unit : "persons");
        if (change)
            rp_x_buf_puts(b, "<th scope=\"col\">Change on the year before</th>"
                             "<th scope=\"col\">Change (%)</th>");
    } else {
        size_t cd = t->n_dims - 1;
        for (size_t j = 0; j < g->n_cols; j++) {
            rp_x_buf_puts(b, "<th scope=\"col\">");
            esc(b, rp_publish__dim_label(label, sizeof(label), t, cd, j));
            rp_x_buf_puts(b, "</th>");
        }
    }
    rp_x_buf_puts(b, "</tr></thead>\n");
}

/* The label of row @p idx (the row dimensions' categories joined with ", "). */
static void row_label(rp_x_buf *b, const rp_table *t, const rp_publish_grid *g, const size_t *idx)
{
    char label[256];
    bool all_total = true;
    for (size_t d = 0; d < g->row_dims; d++)
        all_total = all_total && idx[d] == t->dims[d].n_cats;
    if (all_total || g->row_dims == 0) {
        rp_x_buf_puts(b, "Total");
        return;
    }
    for (size_t d = 0; d < g->row_dims; d++) {
        if (d > 0)
            rp_x_buf_puts(b, ", ");
        esc(b, rp_publish__dim_label(label, sizeof(label), t, d, idx[d]));
    }
}

static bool row_is_total(const rp_table *t, const rp_publish_grid *g, const size_t *idx)
{
    for (size_t d = 0; d < g->row_dims; d++) {
        if (idx[d] == t->dims[d].n_cats)
            return true;
    }
    return false;
}

static void table_body(rp_x_buf *b,
                       const rp_table *t,
                       const rp_publish_grid *g,
                       const double *shares,
                       const rp_trend *change)
{
    size_t idx[RP_TABLE_MAX_DIMS] = {0};
    rp_x_buf_puts(b, "<tbody>\n");
    for (size_t r = 0; r < g->n_rows; r++) {
        rp_publish__grid_cell(t, g, r, 0, idx);
        bool total_row = row_is_total(t, g, idx);
        rp_x_buf_printf(b, "<tr%s><th scope=\"row\">", total_row ? " class=\"total\"" : "");
        row_label(b, t, g, idx);
        rp_x_buf_puts(b, "</th>");
        for (size_t c = 0; c < g->n_cols; c++) {
            size_t cell = rp_publish__grid_cell(t, g, r, c, idx);
            bool total_col = !g->one_dim && c + 1 == g->n_cols;
            value_cell(b, t, cell, total_row || total_col);
            if (shares != NULL)
                share_cell(b, shares, cell, total_row);
            if (change != NULL)
                change_cells(b, t, change, idx[0]);
        }
        rp_x_buf_puts(b, "</tr>\n");
    }
    rp_x_buf_puts(b, "</tbody>\n");
}

static bool table_has_suppressed(const rp_table *t)
{
    for (size_t i = 0; i < t->n_cells; i++) {
        if (rp_publish__suppressed(t, i))
            return true;
    }
    return false;
}

static int
table_html(rp_x_buf *b, const rp_table *t, const rp_trend *change, const char *id, rp_error *err)
{
    rp_publish_grid g;
    double *shares = NULL;
    if (rp_publish__grid(&g, t) != RP_OK)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    if (g.one_dim && t->n_dims == 1) {
        shares = rp_calloc(t->n_cells, sizeof(*shares));
        int rc = shares != NULL ? rp_table_shares(shares, t, 0, err)
                                : rp_error_set(err, RP_ENOMEM, "out of memory");
        if (rc != RP_OK) {
            rp_free(shares);
            rp_publish__grid_release(&g);
            return rc;
        }
    }
    rp_x_buf_printf(b,
                    "<div class=\"table-wrap\" role=\"region\" aria-labelledby=\"%s-cap\" "
                    "tabindex=\"0\">\n<table>\n<caption id=\"%s-cap\">",
                    id, id);
    esc(b, t->title);
    rp_x_buf_printf(b, " (number of %s)</caption>\n", t->unit != NULL ? t->unit : "persons");
    bool with_change = change != NULL && g.one_dim && t->n_dims == 1 &&
                       t->dims[0].field == RP_FIELD_REGISTRATION_YEAR;
    table_head(b, t, &g, with_change);
    table_body(b, t, &g, shares, with_change ? change : NULL);
    rp_free(shares);
    rp_publish__grid_release(&g);
    rp_x_buf_puts(b, "</table>\n</div>\n");
    bool sup = table_has_suppressed(t);
    if (t->n_notes == 0 && !sup && t->additive)
        return RP_OK;
    rp_x_buf_puts(b, "<ul class=\"notes\">\n");
    /* the table's own notes say what was done; ours only when it has none */
    if (sup && t->n_notes == 0)
        element(b, "li", RP_PUBLISH_MARK_LEGEND);
    if (!t->additive && t->n_notes == 0)
        element(b, "li",
                "A person can be counted in more than one category, so the categories add up "
                "to more than the total; the total counts persons with information on the "
                "field.");
    for (size_t i = 0; i < t->n_notes; i++)
        element(b, "li", t->notes[i]);
    rp_x_buf_puts(b, "</ul>\n");
    return RP_OK;
}

/* The chart as an inline SVG in a <figure>. */
static int figure_html(rp_x_buf *b, const rp_chart *c, const char *id, rp_error *err)
{
    char *svg = NULL;
    size_t len = 0;
    int rc = rp_chart_render(&svg, &len, c, RP_CHART_SVG, id, err);
    if (rc != RP_OK)
        return rc;
    rp_x_buf_puts(b, "<figure>\n");
    rp_x_buf_append(b, svg, len);
    rp_x_buf_puts(b, "\n<figcaption>Chart: ");
    esc(b, rp_chart_title(c));
    rp_x_buf_puts(b, ". The values drawn are in the table below.</figcaption>\n</figure>\n");
    rp_free(svg);
    return RP_OK;
}

/* A trend as a sentence. */
static void trend_sentence(rp_x_buf *b, const char *label, const rp_trend *tr)
{
    char text[400];
    rp_x_buf_puts(b, "<p class=\"trend\"><strong>");
    esc(b, label);
    rp_x_buf_puts(b, ":</strong> ");
    esc(b, rp_trend_describe(text, sizeof(text), tr));
    rp_x_buf_puts(b, ".</p>\n");
}

/* The trends of a section: one sentence, or a table of one row per label. */
static void trends_html(rp_x_buf *b, const rp_report_section *s, const char *id)
{
    char p1[80], p2[80], p3[80];
    size_t n = 0;
    for (size_t i = 0; i < s->n_trends; i++)
        n += s->trends[i] != NULL ? 1 : 0;
    if (n == 0)
        return;
    rp_x_buf_puts(b, "<h3>Trend</h3>\n");
    if (s->n_trends == 1) {
        trend_sentence(b, s->trend_labels[0], s->trends[0]);
    } else {
        rp_x_buf_printf(b,
                        "<div class=\"table-wrap\" role=\"region\" aria-labelledby=\"%s-tr\" "
                        "tabindex=\"0\">\n<table>\n<caption id=\"%s-tr\">Average annual change "
                        "(Poisson log-linear trend of the published counts)</caption>\n"
                        "<thead><tr><th scope=\"col\"></th><th scope=\"col\">Average annual "
                        "change (%%)</th><th scope=\"col\">Lower bound (%%)</th>"
                        "<th scope=\"col\">Upper bound (%%)</th><th scope=\"col\">Years "
                        "fitted</th></tr></thead>\n<tbody>\n",
                        id, id);
        for (size_t i = 0; i < s->n_trends; i++) {
            const rp_trend *tr = s->trends[i];
            rp_x_buf_puts(b, "<tr><th scope=\"row\">");
            esc(b, s->trend_labels[i]);
            rp_x_buf_puts(b, "</th>");
            if (tr == NULL)
                rp_x_buf_puts(b, "<td colspan=\"4\">too few published years</td></tr>\n");
            else
                rp_x_buf_printf(b, "<td>%s</td><td>%s</td><td>%s</td><td>%zu</td></tr>\n",
                                rp_publish__fmt_pct(p1, sizeof(p1), tr->pct_change),
                                rp_publish__fmt_pct(p2, sizeof(p2), tr->pct_lower),
                                rp_publish__fmt_pct(p3, sizeof(p3), tr->pct_upper), tr->n_fitted);
        }
        rp_x_buf_puts(b, "</tbody>\n</table>\n</div>\n");
    }
    element(b, "p",
            "The trend is fitted to the published counts only: a year that is not published "
            "is left out of the fit, so the trend tells nothing the table does not. Intervals "
            "are 95% intervals of the average annual change (profile likelihood); where the "
            "counts vary more from year to year than chance alone would make them, the "
            "interval is widened to match (quasi-Poisson).");
}

static int section_html(rp_x_buf *b, const rp_report_section *s, size_t i, rp_error *err)
{
    char id[32];
    snprintf(id, sizeof(id), "s%zu", i + 1);
    rp_x_buf_printf(b, "<section aria-labelledby=\"%s-h\">\n<h2 id=\"%s-h\">", id, id);
    esc(b, s->table->title);
    rp_x_buf_puts(b, "</h2>\n");
    if (s->text != NULL)
        element(b, "p", s->text);
    if (s->chart != NULL) {
        char cid[40];
        snprintf(cid, sizeof(cid), "%s-chart", id);
        int rc = figure_html(b, s->chart, cid, err);
        if (rc != RP_OK)
            return rc;
    }
    const rp_trend *change = s->n_trends == 1 ? s->trends[0] : NULL;
    int rc = table_html(b, s->table, change, id, err);
    if (rc == RP_OK)
        trends_html(b, s, id);
    rp_x_buf_puts(b, "</section>\n");
    return rc;
}

static void estimate_row_html(rp_x_buf *b, const rp_chart_estimate_row *r)
{
    char num[64];
    rp_x_buf_puts(b, "<tr><th scope=\"row\">");
    esc(b, r->label);
    rp_x_buf_puts(b, "</th>");
    if (r->observed_suppressed) { /* count, estimate and interval alike: nothing tells why */
        for (int i = 0; i < 4; i++)
            suppressed_cell(b, "");
        rp_x_buf_puts(b, "</tr>\n");
        return;
    }
    rp_x_buf_printf(b, "<td>%s</td>", rp_publish__fmt_count(num, sizeof(num), r->observed));
    if (isnan(r->estimate)) {
        rp_x_buf_puts(b, "<td colspan=\"3\">not estimable</td></tr>\n");
        return;
    }
    rp_x_buf_printf(b, "<td>%s</td>", rp_publish__fmt_count(num, sizeof(num), r->estimate));
    rp_x_buf_printf(b, "<td>%s</td>", rp_publish__fmt_count(num, sizeof(num), r->lo));
    if (isfinite(r->hi))
        rp_x_buf_printf(b, "<td>%s</td></tr>\n", rp_publish__fmt_count(num, sizeof(num), r->hi));
    else
        rp_x_buf_puts(b, "<td>no upper bound</td></tr>\n");
}

static int estimate_html(rp_x_buf *b, const rp_report_doc *doc, rp_error *err)
{
    if (doc->estimates == NULL || doc->n_estimates == 0)
        return RP_OK;
    double pct = 100.0 * (doc->ci_level > 0.0 && doc->ci_level < 1.0 ? doc->ci_level : 0.95);
    rp_x_buf_puts(b, "<section aria-labelledby=\"est-h\">\n<h2 id=\"est-h\">Estimated total, "
                     "seen and unseen</h2>\n");
    if (doc->estimate_text != NULL)
        element(b, "p", doc->estimate_text);
    if (doc->estimate_chart != NULL) {
        int rc = figure_html(b, doc->estimate_chart, "est-chart", err);
        if (rc != RP_OK)
            return rc;
    }
    rp_x_buf_printf(b,
                    "<div class=\"table-wrap\" role=\"region\" aria-labelledby=\"est-cap\" "
                    "tabindex=\"0\">\n<table>\n<caption id=\"est-cap\">Observed and estimated "
                    "number of persons, with %.0f%% intervals</caption>\n"
                    "<thead><tr><th scope=\"col\">Stratum</th><th scope=\"col\">Observed</th>"
                    "<th scope=\"col\">Estimated total</th><th scope=\"col\">Lower bound</th>"
                    "<th scope=\"col\">Upper bound</th></tr></thead>\n<tbody>\n",
                    pct);
    for (size_t i = 0; i < doc->n_estimates; i++)
        estimate_row_html(b, &doc->estimates[i]);
    rp_x_buf_puts(b, "</tbody>\n</table>\n</div>\n");
    if (doc->estimate_trend != NULL)
        trend_sentence(b, "Trend of the estimated total", doc->estimate_trend);
    rp_x_buf_puts(b, "</section>\n");
    return RP_OK;
}

static void contents_html(rp_x_buf *b, const rp_report_doc *doc)
{
    rp_x_buf_puts(b, "<nav aria-labelledby=\"toc-h\">\n<h2 id=\"toc-h\">Contents</h2>\n<ol>\n");
    for (size_t i = 0; i < doc->n_sections; i++) {
        rp_x_buf_printf(b, "<li><a href=\"#s%zu-h\">", i + 1);
        esc(b, doc->sections[i].table->title);
        rp_x_buf_puts(b, "</a></li>\n");
    }
    if (doc->estimates != NULL && doc->n_estimates > 0)
        rp_x_buf_puts(b, "<li><a href=\"#est-h\">Estimated total, seen and unseen</a></li>\n");
    rp_x_buf_puts(b, "<li><a href=\"#method-h\">Method</a></li>\n"
                     "<li><a href=\"#sources-h\">Sources</a></li>\n</ol>\n</nav>\n");
}

/* Whether the mark appears anywhere in the report: a suppressed cell of a table, or a
 * hidden row of the estimates. A rounded or noisy report has none, and no legend for it. */
static bool doc_has_mark(const rp_report_doc *doc)
{
    for (size_t i = 0; i < doc->n_sections; i++) {
        if (doc->sections[i].table != NULL && table_has_suppressed(doc->sections[i].table))
            return true;
    }
    for (size_t i = 0; doc->estimates != NULL && i < doc->n_estimates; i++) {
        if (doc->estimates[i].observed_suppressed)
            return true;
    }
    return false;
}

static void closing_html(rp_x_buf *b, const rp_report_doc *doc)
{
    rp_x_buf_puts(b, "<section aria-labelledby=\"method-h\">\n<h2 id=\"method-h\">Method</h2>\n");
    for (size_t i = 0; i < doc->n_method; i++)
        element(b, "p", doc->method[i]);
    if (doc_has_mark(doc)) {
        rp_x_buf_puts(b, "<p class=\"legend\">");
        esc(b, RP_PUBLISH_MARK_LEGEND);
        rp_x_buf_puts(b, ".</p>\n");
    }
    rp_x_buf_puts(b, "</section>\n");
    rp_x_buf_puts(b, "<section aria-labelledby=\"sources-h\">\n<h2 id=\"sources-h\">Sources</h2>\n"
                     "<ul>\n");
    for (size_t i = 0; i < doc->n_sources; i++)
        element(b, "li", doc->sources[i]);
    rp_x_buf_puts(b, "</ul>\n</section>\n</main>\n");
    if (doc->generated != NULL) {
        rp_x_buf_puts(b, "<footer><p>Produced with ");
        esc(b, doc->generated);
        rp_x_buf_puts(b, ".</p></footer>\n");
    }
    rp_x_buf_puts(b, "</body>\n</html>\n");
}

static int build_html(rp_x_buf *b, const rp_report_doc *doc, rp_error *err)
{
    rp_x_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"");
    esc(b, doc->lang != NULL ? doc->lang : "en");
    rp_x_buf_puts(b, "\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>");
    esc(b, doc->title);
    rp_x_buf_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n", style_sheet);
    element(b, "h1", doc->title);
    if (doc->summary != NULL)
        element(b, "p", doc->summary);
    rp_x_buf_puts(b, "</header>\n");
    contents_html(b, doc);
    rp_x_buf_puts(b, "<main>\n");
    for (size_t i = 0; i < doc->n_sections; i++) {
        int rc = section_html(b, &doc->sections[i], i, err);
        if (rc != RP_OK)
            return rc;
    }
    int rc = estimate_html(b, doc, err);
    if (rc != RP_OK)
        return rc;
    closing_html(b, doc);
    return rp_x_buf_oom(b) ? rp_error_set(err, RP_ENOMEM, "out of memory") : RP_OK;
}

int rp_report_html_write(const rp_report_doc *doc, const char *path, rp_error *err)
{
    if (doc == NULL || doc->title == NULL || path == NULL)
        return rp_error_set(err, RP_EINVAL, "html report: no title or path");
    for (size_t i = 0; i < doc->n_sections; i++) {
        if (doc->sections[i].table == NULL)
            return rp_error_set(err, RP_EINVAL, "html report: section %zu has no table", i + 1);
    }
    rp_x_buf b = RP_X_BUF_INIT;
    int rc = build_html(&b, doc, err);
    if (rc != RP_OK)
        goto out;
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        rc = rp_error_set(err, RP_EIO, "cannot create '%s'", path);
        goto out;
    }
    bool ok = fwrite(b.data, 1, b.len, f) == b.len;
    if (fclose(f) != 0 || !ok)
        rc = rp_error_set(err, RP_EIO, "cannot write '%s'", path);
out:
    rp_x_buf_release(&b);
    return rc;
}
