/*
 * rapporteur: patterns and trends, published safely (issue 7). Count tables of the data
 * standard's fields with margins (src/report/table.c), statistical disclosure control
 * (src/report/sdc.c: threshold rule, secondary cell suppression with an LP audit on GLPK,
 * rounding, differentially private counts), and the outputs (src/report/out_*.c: CSV,
 * JSON, Excel workbook, cairo charts, one self-contained HTML report).
 */
#ifndef RAPPORTEUR_REPORT_H
#define RAPPORTEUR_REPORT_H

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== count tables (src/report/table.c) ==== */

/** Most dimensions of one table. */
#define RP_TABLE_MAX_DIMS 4

/** Publication status of a cell. */
typedef enum rp_cell_status {
    RP_CELL_PUBLISHED = 0,
    RP_CELL_PRIMARY,   /* below the threshold k (or another primary rule): suppressed */
    RP_CELL_SECONDARY, /* suppressed so that primary cells cannot be recomputed */
    RP_CELL_ROUNDED,   /* published rounded */
    RP_CELL_NOISY      /* published with differentially private noise */
} rp_cell_status;

/** One dimension of a table: a field and its categories, in display order. */
typedef struct rp_table_dim {
    rp_field field;
    size_t n_cats;
    char **cats; /* n_cats category labels (codes of the standard; "" = not recorded) */
} rp_table_dim;

/**
 * A count table with margins. Dimension d has n_cats + 1 positions: the categories,
 * then the total (margin) at index n_cats. Cells are stored row-major over all
 * dimensions with margins included: cell (i_0, ..., i_{D-1}) is at
 * sum_d i_d * stride[d], stride[D-1] = 1. n_cells = prod_d (n_cats_d + 1).
 *
 * Counts are of persons (or records when there is no linkage: unit says which). For a
 * multi-valued field (forms of exploitation, labour sectors) a person is counted in each
 * of their categories, so the interior does not sum to the margin; the margin counts
 * persons with information on the field (CTDC's denominator rule), and additive is
 * false.
 */
typedef struct rp_table {
    char *title;
    char *unit; /* "persons" or "records" */
    size_t n_dims;
    rp_table_dim dims[RP_TABLE_MAX_DIMS];
    size_t stride[RP_TABLE_MAX_DIMS];
    size_t n_cells;
    double *count;          /* n_cells true counts (never published as such) */
    double *value;          /* n_cells published values (after rounding or noise) */
    uint8_t *status;        /* n_cells rp_cell_status */
    bool additive;          /* interior cells sum to the margins */
    char **notes;           /* plain-language notes (suppression, rounding, budget) */
    size_t n_notes;
} rp_table;

/** Free @p t and everything it owns (NULL is fine). */
RP_API void rp_table_free(rp_table *t);

/** Index of cell @p idx (n_dims indices, each 0..n_cats, n_cats = the margin). */
RP_API size_t rp_table_cell(const rp_table *t, const size_t *idx);

#ifdef __cplusplus
}
#endif

#endif
