/*
 * Internals shared by the published outputs of a report (src/report/chart.c, labels.c,
 * countries.c, html.c, xlsx.c): country names, number formatting, the publication rule
 * for a cell, and a table's rows and columns as they are laid out on a page or sheet.
 */
#ifndef RP_REPORT_PUBLISH_INT_H
#define RP_REPORT_PUBLISH_INT_H

#include <rapporteur/chart.h>
#include <rapporteur/report.h>

#include <stdbool.h>
#include <stddef.h>

/** Mark shown in place of a suppressed value, in every output. */
#define RP_PUBLISH_MARK "x"

/** Legend of the mark, in every output. */
#define RP_PUBLISH_MARK_LEGEND                                                            \
    "x = not published: too few persons, or a cell withheld so that small counts cannot " \
    "be worked out from the totals"

/** English short name of ISO 3166-1 alpha-2 @p code, or NULL (src/report/countries.c). */
const char *rp_publish__country_name(const char *code);

/** True when cell @p i of @p t must not be shown (primary or secondary suppression). */
bool rp_publish__suppressed(const rp_table *t, size_t i);

/**
 * @p v as a whole number with thousands separators ("18,813"), rounded half away from
 * zero; "–" for NaN. @return @p buf.
 */
const char *rp_publish__fmt_count(char *buf, size_t size, double v);

/**
 * @p v for a sentence: a whole number as rp_publish__fmt_count ("1,000", never "1e+03"),
 * another with @p sig significant digits in decimal form, trailing zeros dropped ("0.5",
 * "0.00001", "2.83"); from 10^sig up rounded to a whole number with separators. For the
 * notes of a table (thresholds, rounding bases, epsilon, noise sd). @return @p buf.
 */
const char *rp_publish__fmt_num(char *buf, size_t size, double v, int sig);

/**
 * @p v as a signed percentage with one decimal and the thousands separators of
 * rp_publish__fmt_count ("+1,234.5", "-0.5", "+0.0"); as rp_publish__fmt_count for NaN,
 * infinities and |v| >= 1e15. @return @p buf.
 */
const char *rp_publish__fmt_pct(char *buf, size_t size, double v);

/**
 * Layout of a table on a page: the last dimension runs across (columns, with its margin
 * last), every other dimension down (rows, odometer order, margins last). A 1-D table is
 * one column of values. col_dim is the dimension across, or t->n_dims for a 1-D table.
 */
typedef struct rp_publish_grid {
    size_t n_rows, n_cols;
    size_t row_dims; /* dimensions down the page */
    bool one_dim;
    size_t *order; /* 1-D country tables: rows by name (rp_malloc), else NULL */
} rp_publish_grid;

/**
 * The grid of @p t. Countries (citizenship, country of exploitation) of a 1-D table are
 * listed by name, not by code, "Unknown" and "Not recorded" last.
 * @return RP_OK; RP_ENOMEM. Release with rp_publish__grid_release().
 */
int rp_publish__grid(rp_publish_grid *g, const rp_table *t);

/** Free what rp_publish__grid() allocated. */
void rp_publish__grid_release(rp_publish_grid *g);

/**
 * Cell index of grid position (@p row, @p col), and the per-dimension indices of the row
 * in @p idx (t->n_dims entries; the column dimension's entry set too).
 */
size_t rp_publish__grid_cell(
    const rp_table *t, const rp_publish_grid *g, size_t row, size_t col, size_t *idx);

/** Label of category @p i of dimension @p d of @p t ("Total" at the margin). */
const char *rp_publish__dim_label(char *buf, size_t size, const rp_table *t, size_t d, size_t i);

#endif
