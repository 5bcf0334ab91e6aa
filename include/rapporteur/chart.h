/*
 * rapporteur: the published outputs of a report (issue 7). Charts drawn with cairo to
 * SVG, PNG and PDF (src/report/chart.c), readable labels for the standard's codes
 * (src/report/labels.c), the Excel workbook (src/report/xlsx.c) and one self-contained
 * HTML report with the charts inline (src/report/html.c). All of them read count tables
 * (<rapporteur/report.h>) and never show a suppressed cell's value.
 */
#ifndef RAPPORTEUR_CHART_H
#define RAPPORTEUR_CHART_H

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/report.h>

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== labels ==== */

/**
 * A reader's label for category @p code of field @p f: "Forced labour" for
 * "forced_labour", "Moldova" for citizenship "MD", "18–20" for age band "18-20",
 * "Not recorded" for "", "Unknown" for "unknown"; any other code as it is.
 *
 * @param[out] buf   receives the label, NUL-terminated UTF-8 (truncated to @p size).
 * @return @p buf.
 */
RP_API const char *rp_chart_cat_label(char *buf, size_t size, rp_field f, const char *code);

/** A reader's name of field @p f ("Year of registration", "Form of exploitation"). */
RP_API const char *rp_chart_field_label(rp_field f);

/* ==== charts ==== */

/** What a chart shows. */
typedef enum rp_chart_kind {
    RP_CHART_COLUMNS = 0, /* vertical bars in table order (trends by year) */
    RP_CHART_BARS,        /* horizontal bars, largest first (forms, citizenship top N) */
    RP_CHART_ESTIMATE     /* per stratum: observed count (bar) and estimate with interval */
} rp_chart_kind;

/** File format of a rendered chart. */
typedef enum rp_chart_format { RP_CHART_SVG = 0, RP_CHART_PNG, RP_CHART_PDF } rp_chart_format;

/** Options of a chart; RP_CHART_OPTS_INIT gives the defaults. Strings are copied. */
typedef struct rp_chart_opts {
    const char *title;       /* NULL: the table's title */
    const char *x_label;     /* category axis; NULL: the field's label */
    const char *value_label; /* value axis; NULL: "Number of " + the table's unit */
    const char *source;      /* source note under the chart; NULL: none */
    size_t top_n;            /* RP_CHART_BARS: most bars shown (largest first); 0: all */
    bool show_missing;       /* also draw "Not recorded" and "Unknown" categories */
    double ci_level;         /* RP_CHART_ESTIMATE: level of the intervals, for the legend */
    double width;            /* points; 0: 720 */
    double height;           /* points; 0: 405 (RP_CHART_BARS: grows with the bars) */
    double png_scale;        /* PNG pixels per point; 0: 1.5 */
} rp_chart_opts;

#define RP_CHART_OPTS_INIT                                    \
    {                                                         \
        NULL, NULL, NULL, NULL, 0, false, 0.95, 0.0, 0.0, 0.0 \
    }

/** One stratum of an estimate chart. */
typedef struct rp_chart_estimate_row {
    const char *label;        /* stratum, e.g. "2013" or "All" */
    double observed;          /* persons seen on at least one list */
    bool observed_suppressed; /* drawn as a gap with a mark, never as zero */
    double estimate;          /* estimated total; NaN when not estimable */
    double lo, hi;            /* interval at ci_level; hi may be +inf (unbounded) */
} rp_chart_estimate_row;

/** A chart ready to render (opaque; owns copies of its labels and values). */
typedef struct rp_chart rp_chart;

/**
 * A chart of one dimension of a table, the other dimensions taken at their margin.
 * Suppressed cells (RP_CELL_PRIMARY, RP_CELL_SECONDARY) are drawn as gaps marked "x",
 * never as zero, and sort after every published bar; published values are the table's
 * value[] (rounded or noisy where the table says so), never count[].
 *
 * @param[out] out   new chart; free with rp_chart_free(); NULL on failure.
 * @param[in]  t     the table (borrowed, not retained).
 * @param[in]  dim   the dimension drawn, < t->n_dims.
 * @param[in]  kind  RP_CHART_COLUMNS or RP_CHART_BARS.
 * @param[in]  opts  NULL for defaults.
 * @param[out] err   details on failure; may be NULL.
 * @return RP_OK; RP_EINVAL (dim out of range, kind RP_CHART_ESTIMATE, bad size);
 *         RP_ENOMEM.
 * @test   tests/unit/test_report_chart.c
 */
RP_API int rp_chart_from_table(rp_chart **out,
                               const rp_table *t,
                               size_t dim,
                               rp_chart_kind kind,
                               const rp_chart_opts *opts,
                               rp_error *err);

/**
 * A chart of multiple systems estimates beside the observed counts: per stratum a bar
 * for the observed count and a point with an error bar for the estimate and its
 * interval (an arrow where the interval has no upper bound).
 *
 * @param[out] out     new chart; free with rp_chart_free(); NULL on failure.
 * @param[in]  rows    n_rows strata (borrowed); 1 <= n_rows.
 * @param[in]  opts    NULL for defaults; opts->title should be given.
 * @param[out] err     details on failure; may be NULL.
 * @return RP_OK; RP_EINVAL (no rows, negative count, lo > estimate or estimate > hi);
 *         RP_ENOMEM.
 */
RP_API int rp_chart_from_estimates(rp_chart **out,
                                   const rp_chart_estimate_row *rows,
                                   size_t n_rows,
                                   const rp_chart_opts *opts,
                                   rp_error *err);

/**
 * Draw the fitted line of trend @p tr over a column chart of years (RP_CHART_COLUMNS,
 * from a table's registration_year dimension): each bar whose label is a year of @p tr
 * gets the trend's fitted mean, joined by a line, with a legend entry and the trend in
 * the text alternative. @p tr is fitted to published values only, so the line reveals
 * nothing the bars do not.
 * @return RP_OK; RP_EINVAL (not a column chart, no year of the trend among the bars);
 *         RP_ENOMEM.
 */
RP_API int rp_chart_add_trend(rp_chart *c, const rp_trend *tr, rp_error *err);

/** Title of @p c (borrowed from it). */
RP_API const char *rp_chart_title(const rp_chart *c);

/**
 * Text alternative of @p c (borrowed from it): the kind of chart, its axes and every
 * value drawn, for screen readers (the SVG's <desc>) and for tests.
 */
RP_API const char *rp_chart_desc(const rp_chart *c);

/**
 * Render @p c in memory. SVG output carries <title> and <desc> (the text alternative)
 * and role="img"; with @p id_prefix non-NULL the XML declaration is left out and every
 * id is prefixed, so several charts can be inlined in one HTML page.
 *
 * @param[out] data_out  new buffer (rp_free()), NUL-terminated after @p len_out bytes.
 * @param[out] len_out   bytes.
 * @param[in]  id_prefix SVG only: prefix of ids ([A-Za-z0-9_-]) or NULL.
 * @return RP_OK; RP_EINVAL (bad format or prefix); RP_EINTERNAL (cairo failed);
 *         RP_ENOMEM.
 */
RP_API int rp_chart_render(char **data_out,
                           size_t *len_out,
                           const rp_chart *c,
                           rp_chart_format fmt,
                           const char *id_prefix,
                           rp_error *err);

/**
 * Render @p c to the file @p path (created or replaced; not atomic: write into a
 * temporary directory and rename it for that).
 * @return as rp_chart_render(); RP_EIO when the file cannot be written.
 */
RP_API int rp_chart_write(const rp_chart *c, rp_chart_format fmt, const char *path, rp_error *err);

/** Free @p c (NULL is fine). */
RP_API void rp_chart_free(rp_chart *c);

/* ==== the report document: HTML and Excel ==== */

/**
 * One section of a report: a table, the chart drawn from it, a short introduction and
 * the trends by year fitted to the table's published values (one per row of the table
 * for a table by state and year; one for a table by year alone, whose rows then also
 * show the annual change).
 */
typedef struct rp_report_section {
    const rp_table *table;           /* borrowed */
    const rp_chart *chart;           /* NULL: no chart */
    const char *text;                /* a paragraph before the table; NULL: none */
    const char *sheet;               /* Excel sheet name (<= 31 bytes); NULL: from the title */
    const rp_trend *const *trends;   /* n_trends (entries may be NULL: no trend); borrowed */
    const char *const *trend_labels; /* n_trends labels ("All", "Poland") */
    size_t n_trends;
} rp_report_section;

/** Everything one report shows; every pointer is borrowed. */
typedef struct rp_report_doc {
    const char *title;   /* "Trafficking in human beings: patterns and trends" */
    const char *lang;    /* BCP 47 language of the texts; NULL: "en" */
    const char *summary; /* a paragraph under the title; NULL: none */
    const rp_report_section *sections;
    size_t n_sections;
    const rp_chart_estimate_row *estimates; /* NULL when there is no estimate */
    size_t n_estimates;
    const rp_chart *estimate_chart; /* may be NULL */
    const char *estimate_text;      /* paragraph of the estimate section */
    const rp_trend *estimate_trend; /* trend of the yearly estimates; NULL: none */
    double ci_level;                /* of the estimates' intervals */
    const char *const *sources;     /* n_sources lines */
    size_t n_sources;
    const char *const *method; /* n_method paragraphs (counting, suppression, rounding) */
    size_t n_method;
    const char *generated; /* "rapporteur 0.1.0", shown in the footer; may be NULL */
} rp_report_doc;

/**
 * Write @p doc as one self-contained HTML file: inline SVG charts, tables with <caption>
 * and <th scope>, suppressed cells shown as "x" with the legend, the estimate section,
 * method and sources; no scripts, no external resources; every string escaped.
 * @return RP_OK; RP_EINVAL (no title); RP_EINTERNAL (a chart failed); RP_EIO; RP_ENOMEM.
 * @test   tests/unit/test_report_chart.c, tests/cli/report.sh (rendered by Chromium)
 */
RP_API int rp_report_html_write(const rp_report_doc *doc, const char *path, rp_error *err);

/**
 * Write @p doc as an Excel workbook (libxlsxwriter): one formatted sheet per table
 * (header row, bold margins, "x" for suppressed cells with the legend, thousands
 * separators, column widths, frozen panes), a sheet of estimates when there are any, and
 * a Notes sheet (sources, method, suppression marks, each table's notes).
 * @return RP_OK; RP_EINVAL (no title); RP_EIO (libxlsxwriter failed); RP_ENOMEM.
 */
RP_API int rp_report_xlsx_write(const rp_report_doc *doc, const char *path, rp_error *err);

#ifdef __cplusplus
}
#endif

#endif
