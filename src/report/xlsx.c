/*
 * The Excel workbook of a report (libxlsxwriter): one formatted sheet per table with the
 * header row frozen, margins in bold, thousands separators and "x" (right-aligned) in
 * place of every suppressed value with the legend under the table; a sheet of
 * estimates; and a Notes sheet with sources, method, the mark and each table's notes.
 * Values are written as numbers so that readers can compute with them; suppressed cells
 * are text, so a sum over a column never silently counts them as zero.
 */
#include "common/common_int.h"
#include "report/publish_int.h"

#include <rapporteur/chart.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <xlsxwriter.h>

#define SHEET_NAME_MAX  31 /* Excel's limit, in characters; we keep to bytes */
#define HEAD_ROW        3  /* header row of a table sheet (0-based) */
#define LABEL_WIDTH_MAX 48.0
#define VALUE_WIDTH     13.0

typedef struct formats {
    lxw_format *title, *unit, *head, *head_left, *label, *label_total;
    lxw_format *num, *num_total, *pct, *mark, *mark_total, *note, *wrap, *section;
} formats;

static lxw_format *fmt_new(lxw_workbook *wb, bool bold, const char *num_format)
{
    lxw_format *f = workbook_add_format(wb);
    if (f == NULL)
        return NULL;
    if (bold)
        format_set_bold(f);
    if (num_format != NULL)
        format_set_num_format(f, num_format);
    return f;
}

static bool formats_make(formats *fm, lxw_workbook *wb)
{
    fm->title = fmt_new(wb, true, NULL);
    fm->unit = fmt_new(wb, false, NULL);
    fm->head = fmt_new(wb, true, NULL);
    fm->head_left = fmt_new(wb, true, NULL);
    fm->label = fmt_new(wb, false, NULL);
    fm->label_total = fmt_new(wb, true, NULL);
    fm->num = fmt_new(wb, false, "#,##0");
    fm->num_total = fmt_new(wb, true, "#,##0");
    fm->pct = fmt_new(wb, false, "#,##0.0");
    fm->mark = fmt_new(wb, true, NULL);
    fm->mark_total = fmt_new(wb, true, NULL);
    fm->note = fmt_new(wb, false, NULL);
    fm->wrap = fmt_new(wb, false, NULL);
    fm->section = fmt_new(wb, true, NULL);
    if (fm->title == NULL || fm->unit == NULL || fm->head == NULL || fm->head_left == NULL ||
        fm->label == NULL || fm->label_total == NULL || fm->num == NULL || fm->num_total == NULL ||
        fm->pct == NULL || fm->mark == NULL || fm->mark_total == NULL || fm->note == NULL ||
        fm->wrap == NULL || fm->section == NULL)
        return false;
    format_set_font_size(fm->title, 13);
    format_set_italic(fm->unit);
    format_set_bottom(fm->head, LXW_BORDER_MEDIUM);
    format_set_align(fm->head, LXW_ALIGN_RIGHT);
    format_set_text_wrap(fm->head);
    format_set_bottom(fm->head_left, LXW_BORDER_MEDIUM);
    format_set_align(fm->mark, LXW_ALIGN_RIGHT);
    format_set_font_color(fm->mark, 0x595959);
    format_set_align(fm->mark_total, LXW_ALIGN_RIGHT);
    format_set_font_color(fm->mark_total, 0x595959);
    format_set_font_color(fm->note, 0x404040);
    format_set_text_wrap(fm->wrap);
    format_set_align(fm->wrap, LXW_ALIGN_VERTICAL_TOP);
    format_set_font_size(fm->section, 12);
    return true;
}

/* Bytes of @p s to keep so that at most @p max bytes remain, cut at a UTF-8 boundary. */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/*
 * A valid, unused sheet name from @p want: the characters Excel refuses ([]:*?/\)
 * become spaces, the name is cut to 31 bytes at a character boundary, and " (2)", " (3)"
 * ... is appended while the name is taken.
 */
static void sheet_name(char *out, size_t size, lxw_workbook *wb, const char *want)
{
    char base[4 * SHEET_NAME_MAX];
    rp_x_strlcpy(base, want != NULL && want[0] != '\0' ? want : "Table", sizeof(base));
    for (char *p = base; *p != '\0'; p++) {
        if (strchr("[]:*?/\\", *p) != NULL)
            *p = ' ';
    }
    if (base[0] == '\'')
        base[0] = ' ';
    base[utf8_cut(base, SHEET_NAME_MAX)] = '\0';
    rp_x_strlcpy(out, base, size);
    for (int n = 2; workbook_get_worksheet_by_name(wb, out) != NULL && n < 1000; n++) {
        char suffix[16];
        snprintf(suffix, sizeof(suffix), " (%d)", n);
        size_t keep = utf8_cut(base, SHEET_NAME_MAX - strlen(suffix));
        snprintf(out, size, "%.*s%s", (int)keep, base, suffix);
    }
}

/* One data cell: a number, or the mark as text. */
static void write_cell(lxw_worksheet *ws,
                       lxw_row_t row,
                       lxw_col_t col,
                       const rp_table *t,
                       size_t cell,
                       bool total,
                       const formats *fm)
{
    if (rp_publish__suppressed(t, cell))
        worksheet_write_string(ws, row, col, RP_PUBLISH_MARK, total ? fm->mark_total : fm->mark);
    else
        worksheet_write_number(ws, row, col, round(t->value[cell]),
                               total ? fm->num_total : fm->num);
}

/* Header row; @return the widest label written in column 0, in characters (about). */
static double
write_head(lxw_worksheet *ws, const rp_table *t, const rp_publish_grid *g, const formats *fm)
{
    char label[256];
    char corner[256] = "";
    for (size_t d = 0; d < g->row_dims; d++) {
        size_t len = strlen(corner);
        snprintf(corner + len, sizeof(corner) - len, "%s%s", d > 0 ? ", " : "",
                 rp_chart_field_label(t->dims[d].field));
    }
    worksheet_write_string(ws, HEAD_ROW, 0, corner, fm->head_left);
    if (g->one_dim) {
        snprintf(label, sizeof(label), "Number of %s", t->unit != NULL ? t->unit : "persons");
        worksheet_write_string(ws, HEAD_ROW, 1, label, fm->head);
        worksheet_write_string(ws, HEAD_ROW, 2, "Share (%)", fm->head);
    } else {
        for (size_t j = 0; j < g->n_cols; j++) {
            rp_publish__dim_label(label, sizeof(label), t, t->n_dims - 1, j);
            worksheet_write_string(ws, HEAD_ROW, (lxw_col_t)(j + 1), label, fm->head);
        }
    }
    return (double)strlen(corner);
}

/* Row label of grid row @p idx into @p buf. @return whether it is a margin row. */
static bool
row_label(char *buf, size_t size, const rp_table *t, const rp_publish_grid *g, const size_t *idx)
{
    char label[256];
    bool total = false;
    bool all_total = true;
    buf[0] = '\0';
    for (size_t d = 0; d < g->row_dims; d++) {
        total = total || idx[d] == t->dims[d].n_cats;
        all_total = all_total && idx[d] == t->dims[d].n_cats;
    }
    if (all_total || g->row_dims == 0) {
        rp_x_strlcpy(buf, "Total", size);
        return true;
    }
    for (size_t d = 0; d < g->row_dims; d++) {
        size_t len = strlen(buf);
        snprintf(buf + len, size - len, "%s%s", d > 0 ? ", " : "",
                 rp_publish__dim_label(label, sizeof(label), t, d, idx[d]));
    }
    return total;
}

/* The body; @return the next free row. */
static lxw_row_t write_body(lxw_worksheet *ws,
                            const rp_table *t,
                            const rp_publish_grid *g,
                            const double *shares,
                            const formats *fm,
                            double *label_w)
{
    char label[512];
    size_t idx[RP_TABLE_MAX_DIMS] = {0};
    lxw_row_t row = HEAD_ROW + 1;
    for (size_t r = 0; r < g->n_rows; r++, row++) {
        rp_publish__grid_cell(t, g, r, 0, idx);
        bool total_row = row_label(label, sizeof(label), t, g, idx);
        double w = (double)strlen(label);
        *label_w = w > *label_w ? w : *label_w;
        worksheet_write_string(ws, row, 0, label, total_row ? fm->label_total : fm->label);
        for (size_t c = 0; c < g->n_cols; c++) {
            size_t cell = rp_publish__grid_cell(t, g, r, c, idx);
            bool total_col = !g->one_dim && c + 1 == g->n_cols;
            write_cell(ws, row, (lxw_col_t)(c + 1), t, cell, total_row || total_col, fm);
            if (shares != NULL && !isnan(shares[cell]))
                worksheet_write_number(ws, row, 2, 100.0 * shares[cell], fm->pct);
        }
    }
    return row;
}

/* The annual change of a 1-D year table beside its values (columns D and E). */
static void
write_changes(lxw_worksheet *ws, const rp_table *t, const rp_trend *tr, const formats *fm)
{
    worksheet_write_string(ws, HEAD_ROW, 3, "Change on the year before", fm->head);
    worksheet_write_string(ws, HEAD_ROW, 4, "Change (%)", fm->head);
    for (size_t i = 0; i < t->dims[0].n_cats; i++) {
        long y = 0;
        if (rp_x_parse_long(t->dims[0].cats[i], 1, 65535, &y) != RP_OK)
            continue;
        for (size_t k = 0; k < tr->n_years; k++) {
            if (tr->years[k] != (int)y)
                continue;
            lxw_row_t row = (lxw_row_t)(HEAD_ROW + 1 + i);
            if (!isnan(tr->change[k]))
                worksheet_write_number(ws, row, 3, tr->change[k], fm->num);
            if (!isnan(tr->change_pct[k]))
                worksheet_write_number(ws, row, 4, tr->change_pct[k], fm->pct);
        }
    }
}

/* The trends under a table: one row per label. @return the next free row. */
static lxw_row_t
write_trends(lxw_worksheet *ws, lxw_row_t row, const rp_report_section *s, const formats *fm)
{
    char text[400];
    if (s->n_trends == 0)
        return row;
    row++;
    worksheet_write_string(ws, row++, 0, "Trend (average annual change, %)", fm->section);
    static const char *const heads[] = {"", "Average annual change (%)", "Lower bound (%)",
                                        "Upper bound (%)", "Years fitted"};
    for (lxw_col_t c = 0; c < 5; c++)
        worksheet_write_string(ws, row, c, heads[c], c == 0 ? fm->head_left : fm->head);
    row++;
    for (size_t i = 0; i < s->n_trends; i++, row++) {
        const rp_trend *tr = s->trends[i];
        worksheet_write_string(ws, row, 0, s->trend_labels[i], fm->label);
        if (tr == NULL) {
            worksheet_write_string(ws, row, 1, "too few published years", fm->note);
            continue;
        }
        worksheet_write_number(ws, row, 1, tr->pct_change, fm->pct);
        worksheet_write_number(ws, row, 2, tr->pct_lower, fm->pct);
        worksheet_write_number(ws, row, 3, tr->pct_upper, fm->pct);
        worksheet_write_number(ws, row, 4, (double)tr->n_fitted, fm->num);
    }
    const rp_trend *first = NULL;
    for (size_t i = 0; i < s->n_trends && first == NULL; i++)
        first = s->trends[i];
    if (first != NULL) {
        worksheet_write_string(ws, row++, 0,
                               "Fitted to the published counts only (years not published are "
                               "left out); intervals as stated below.",
                               fm->note);
    }
    for (size_t i = 0; i < s->n_trends; i++) {
        if (s->trends[i] == NULL)
            continue;
        char line[480];
        snprintf(line, sizeof(line), "%s: %s", s->trend_labels[i],
                 rp_trend_describe(text, sizeof(text), s->trends[i]));
        worksheet_write_string(ws, row++, 0, line, fm->note);
    }
    return row;
}

static void
write_table_notes(lxw_worksheet *ws, lxw_row_t row, const rp_table *t, const formats *fm)
{
    bool sup = false;
    for (size_t i = 0; i < t->n_cells && !sup; i++)
        sup = rp_publish__suppressed(t, i);
    row++;
    /* the table's own notes say what was done; ours only when it has none */
    if (sup && t->n_notes == 0)
        worksheet_write_string(ws, row++, 0, RP_PUBLISH_MARK_LEGEND, fm->note);
    if (!t->additive && t->n_notes == 0)
        worksheet_write_string(ws, row++, 0,
                               "A person can be counted in more than one category; the total "
                               "counts persons with information on the field.",
                               fm->note);
    for (size_t i = 0; i < t->n_notes; i++)
        worksheet_write_string(ws, row++, 0, t->notes[i], fm->note);
}

static int
write_table_sheet(lxw_workbook *wb, const rp_report_section *s, const formats *fm, rp_error *err)
{
    char name[64];
    char unit[128];
    const rp_table *t = s->table;
    sheet_name(name, sizeof(name), wb, s->sheet != NULL ? s->sheet : t->title);
    lxw_worksheet *ws = workbook_add_worksheet(wb, name);
    if (ws == NULL)
        return rp_error_set(err, RP_ENOMEM, "workbook: cannot add a sheet");
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
    worksheet_write_string(ws, 0, 0, t->title != NULL ? t->title : "", fm->title);
    snprintf(unit, sizeof(unit), "Number of %s", t->unit != NULL ? t->unit : "persons");
    worksheet_write_string(ws, 1, 0, unit, fm->unit);
    double label_w = write_head(ws, t, &g, fm);
    lxw_row_t row = write_body(ws, t, &g, shares, fm, &label_w);
    bool year_1d = g.one_dim && t->n_dims == 1 && t->dims[0].field == RP_FIELD_REGISTRATION_YEAR;
    if (year_1d && s->n_trends == 1 && s->trends[0] != NULL)
        write_changes(ws, t, s->trends[0], fm);
    rp_free(shares);
    rp_publish__grid_release(&g);
    row = write_trends(ws, row, s, fm);
    write_table_notes(ws, row, t, fm);
    label_w += 2.0;
    worksheet_set_column(ws, 0, 0, label_w > LABEL_WIDTH_MAX ? LABEL_WIDTH_MAX : label_w, NULL);
    lxw_col_t last = (lxw_col_t)(g.one_dim ? 2 : g.n_cols);
    worksheet_set_column(ws, 1, s->n_trends > 0 && last < 4 ? 4 : last, VALUE_WIDTH, NULL);
    worksheet_freeze_panes(ws, HEAD_ROW + 1, 1);
    return RP_OK;
}

static void write_estimate_row(lxw_worksheet *ws,
                               lxw_row_t row,
                               const rp_chart_estimate_row *r,
                               const formats *fm)
{
    worksheet_write_string(ws, row, 0, r->label, fm->label);
    if (r->observed_suppressed) { /* count, estimate and interval alike: nothing tells why */
        for (lxw_col_t col = 1; col <= 4; col++)
            worksheet_write_string(ws, row, col, RP_PUBLISH_MARK, fm->mark);
        return;
    }
    worksheet_write_number(ws, row, 1, round(r->observed), fm->num);
    if (isnan(r->estimate)) {
        worksheet_write_string(ws, row, 2, "not estimable", fm->note);
        return;
    }
    worksheet_write_number(ws, row, 2, round(r->estimate), fm->num);
    worksheet_write_number(ws, row, 3, round(r->lo), fm->num);
    if (isfinite(r->hi))
        worksheet_write_number(ws, row, 4, round(r->hi), fm->num);
    else
        worksheet_write_string(ws, row, 4, "no upper bound", fm->note);
}

static int
write_estimates(lxw_workbook *wb, const rp_report_doc *doc, const formats *fm, rp_error *err)
{
    char name[64];
    char caption[160];
    if (doc->estimates == NULL || doc->n_estimates == 0)
        return RP_OK;
    sheet_name(name, sizeof(name), wb, "Estimates");
    lxw_worksheet *ws = workbook_add_worksheet(wb, name);
    if (ws == NULL)
        return rp_error_set(err, RP_ENOMEM, "workbook: cannot add the estimates sheet");
    double pct = 100.0 * (doc->ci_level > 0.0 && doc->ci_level < 1.0 ? doc->ci_level : 0.95);
    snprintf(caption, sizeof(caption),
             "Observed and estimated number of persons, with %.0f%% intervals", pct);
    worksheet_write_string(ws, 0, 0, caption, fm->title);
    worksheet_write_string(ws, 1, 0, "Number of persons", fm->unit);
    static const char *const heads[] = {"Stratum", "Observed", "Estimated total", "Lower bound",
                                        "Upper bound"};
    for (lxw_col_t c = 0; c < 5; c++)
        worksheet_write_string(ws, HEAD_ROW, c, heads[c], c == 0 ? fm->head_left : fm->head);
    for (size_t i = 0; i < doc->n_estimates; i++)
        write_estimate_row(ws, (lxw_row_t)(HEAD_ROW + 1 + i), &doc->estimates[i], fm);
    lxw_row_t row = (lxw_row_t)(HEAD_ROW + 2 + doc->n_estimates);
    if (doc->estimate_text != NULL)
        worksheet_write_string(ws, row++, 0, doc->estimate_text, fm->note);
    if (doc->estimate_trend != NULL) {
        char text[400];
        char line[480];
        snprintf(line, sizeof(line), "Trend of the estimated total: %s",
                 rp_trend_describe(text, sizeof(text), doc->estimate_trend));
        worksheet_write_string(ws, row, 0, line, fm->note);
    }
    worksheet_set_column(ws, 0, 0, 24.0, NULL);
    worksheet_set_column(ws, 1, 4, 16.0, NULL);
    worksheet_freeze_panes(ws, HEAD_ROW + 1, 1);
    return RP_OK;
}

static lxw_row_t write_lines(lxw_worksheet *ws,
                             lxw_row_t row,
                             const char *heading,
                             const char *const *lines,
                             size_t n,
                             const formats *fm)
{
    worksheet_write_string(ws, row++, 0, heading, fm->section);
    for (size_t i = 0; i < n; i++)
        worksheet_write_string(ws, row++, 0, lines[i], fm->wrap);
    return row + 1;
}

static int write_notes(lxw_workbook *wb, const rp_report_doc *doc, const formats *fm, rp_error *err)
{
    char name[64];
    sheet_name(name, sizeof(name), wb, "Notes");
    lxw_worksheet *ws = workbook_add_worksheet(wb, name);
    if (ws == NULL)
        return rp_error_set(err, RP_ENOMEM, "workbook: cannot add the notes sheet");
    worksheet_write_string(ws, 0, 0, doc->title, fm->title);
    lxw_row_t row = 2;
    if (doc->summary != NULL) {
        worksheet_write_string(ws, row, 0, doc->summary, fm->wrap);
        row += 2;
    }
    row = write_lines(ws, row, "Sources", doc->sources, doc->n_sources, fm);
    row = write_lines(ws, row, "Method", doc->method, doc->n_method, fm);
    /* the mark's legend only where a mark is shown: a rounded or noisy report has none */
    bool marked = false;
    for (size_t i = 0; i < doc->n_sections && !marked; i++) {
        const rp_table *t = doc->sections[i].table;
        for (size_t c = 0; c < t->n_cells && !marked; c++)
            marked = rp_publish__suppressed(t, c);
    }
    for (size_t i = 0; doc->estimates != NULL && i < doc->n_estimates && !marked; i++)
        marked = doc->estimates[i].observed_suppressed;
    const char *mark[] = {RP_PUBLISH_MARK_LEGEND};
    if (marked)
        row = write_lines(ws, row, "Marks", mark, 1, fm);
    for (size_t i = 0; i < doc->n_sections; i++) {
        const rp_table *t = doc->sections[i].table;
        if (t->n_notes == 0)
            continue;
        row = write_lines(ws, row, t->title != NULL ? t->title : "Table",
                          (const char *const *)t->notes, t->n_notes, fm);
    }
    if (doc->generated != NULL)
        worksheet_write_string(ws, row, 0, doc->generated, fm->note);
    worksheet_set_column(ws, 0, 0, 110.0, NULL);
    return RP_OK;
}

int rp_report_xlsx_write(const rp_report_doc *doc, const char *path, rp_error *err)
{
    if (doc == NULL || doc->title == NULL || path == NULL)
        return rp_error_set(err, RP_EINVAL, "workbook: no title or path");
    for (size_t i = 0; i < doc->n_sections; i++) {
        if (doc->sections[i].table == NULL)
            return rp_error_set(err, RP_EINVAL, "workbook: section %zu has no table", i + 1);
    }
    lxw_workbook *wb = workbook_new(path);
    if (wb == NULL)
        return rp_error_set(err, RP_EIO, "cannot create workbook '%s'", path);
    formats fm;
    int rc = RP_OK;
    if (!formats_make(&fm, wb))
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    for (size_t i = 0; rc == RP_OK && i < doc->n_sections; i++)
        rc = write_table_sheet(wb, &doc->sections[i], &fm, err);
    if (rc == RP_OK)
        rc = write_estimates(wb, doc, &fm, err);
    if (rc == RP_OK)
        rc = write_notes(wb, doc, &fm, err);
    lxw_doc_properties props = {0};
    char title[256];
    char comments[] = RP_PUBLISH_MARK_LEGEND;
    rp_x_strlcpy(title, doc->title, sizeof(title));
    props.title = title;
    props.comments = comments;
    if (rc == RP_OK)
        workbook_set_properties(wb, &props);
    lxw_error le = workbook_close(wb); /* frees wb in every case */
    if (rc == RP_OK && le != LXW_NO_ERROR)
        rc = rp_error_set(err, RP_EIO, "cannot write workbook '%s': %s", path, lxw_strerror(le));
    return rc;
}
