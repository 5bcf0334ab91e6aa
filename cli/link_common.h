/*
 * rapporteur CLI: the parts `rapporteur link` (encoded records, cmd_link.c) and
 * `rapporteur link --clear` (clear text, cmd_link_clear.c) share: the linkage sensitivity
 * table, progress with interruption by a signal, the reviewer's name, and clerical-review
 * files read back as verdicts (docs/linkage.md, "Clerical review feedback").
 */
#ifndef RP_CLI_LINK_COMMON_H
#define RP_CLI_LINK_COMMON_H

#include "cli_util.h"

#include <rapporteur/error.h>
#include <rapporteur/link.h>
#include <rapporteur/store.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== linkage sensitivity ==== */

/** Most thresholds in one --sensitivity range. */
#define RP_CLI_LINK_MAX_SENSITIVITY 41

/** One row of the sensitivity table. */
typedef struct rp_cli_sens_row {
    double threshold;
    size_t persons;
    double observed, estimate, lower, upper;
    bool estimated;
    char note[sizeof(((rp_error *)NULL)->msg)]; /* why there is no estimate */
} rp_cli_sens_row;

/** What the sensitivity table clusters and counts (all borrowed). */
typedef struct rp_cli_sens_input {
    const rp_link_edge *edges;
    size_t n_edges;
    size_t n;             /* records */
    const uint16_t *list; /* n list indices */
    const char *const *list_names;
    size_t n_lists;
    rp_cluster_opts cluster; /* the run's options; the threshold is set per row */
    double from, to, step;   /* the range */
    double chosen;           /* the run's threshold: always a row */
    bool unit;               /* Dice: thresholds above 1 become 1 */
} rp_cli_sens_input;

/**
 * Re-cluster the edges at each threshold of the range (and at the chosen one), build the
 * capture table of the persons and estimate with rp_mse_estimate (stepwise log-linear
 * MSE, profile-likelihood interval). A failed estimate becomes the row's note.
 * @param rows  *n_rows rows; rp_free()
 * @return RP_OK; RP_EINVAL (from rp_link_cluster); RP_ENOMEM.
 */
int rp_cli_link_sensitivity(rp_cli_sens_row **rows,
                            size_t *n_rows,
                            const rp_cli_sens_input *in,
                            rp_error *err);

/** The rows as a JSON array of {threshold, persons, observed, estimate, lower, upper[, note]}. */
json_t *rp_cli_link_sensitivity_json(const rp_cli_sens_row *rows, size_t n);

/** The table as text on stdout, the chosen threshold's row marked. */
void rp_cli_link_sensitivity_print(const rp_cli_sens_row *rows, size_t n, double chosen);

/**
 * Parse --sensitivity FROM:TO:STEP of command @p cmd. @return -1 when good, else
 * RP_EXIT_USAGE (the message printed).
 */
int rp_cli_link_parse_range(
    double *from, double *to, double *step, const char *cmd, const char *value);

/* ==== progress and interruption ==== */

/** Catch SIGINT and SIGTERM (@p on), or restore the defaults; clears the flag when on. */
void rp_cli_link_catch_signals(bool on);

/** Whether SIGINT or SIGTERM arrived since rp_cli_link_catch_signals(true). */
bool rp_cli_link_interrupted(void);

/** An rp_progress_fn: rp_cli_progress() on @p payload; cancels after a signal. */
int rp_cli_link_progress(size_t done, size_t total, void *payload);

/** One thread per CPU, at most 256. */
unsigned rp_cli_link_default_threads(void);

/* ==== clerical review ==== */

/** --reviewer: the value, else $USER, else $LOGNAME, else "unknown". */
const char *rp_cli_link_reviewer(const char *given);

/**
 * Is record @p row (cases.id) of list @p list one of the run's records? For review files
 * that name records by their store numbers.
 */
typedef bool (*rp_cli_record_check)(long long row, const char *list, void *payload);

/**
 * Read a reviewed clerical-review file: the CSV a run wrote, with the reviewer's
 * `decision` column filled in: match / non-match (also 1 / 0, yes / no, accept / reject;
 * any case); an empty cell is a pair not reviewed. Records are named either by store
 * record numbers (columns list_a, record_a, list_b, record_b: checked with @p check) or
 * by list and case reference (list_a, case_a, list_b, case_b: looked up in @p st).
 * @param out  *n_out verdicts (RP_LINK_ACCEPTED or RP_LINK_REJECTED, run_id 0); rp_free()
 * @return RP_OK; RP_EIO; RP_EPARSE (not a review file: missing columns, bad CSV);
 *         RP_EDATA (a bad decision, record number, or a record not in the store or not
 *         in the run: err has the file, line and column, never a value); RP_ESQL;
 *         RP_ENOMEM.
 */
int rp_cli_link_read_verdicts(rp_link_review **out,
                              size_t *n_out,
                              const char *path,
                              rp_store *st,
                              rp_cli_record_check check,
                              void *payload,
                              rp_error *err);

/**
 * The verdicts in force among the run's records, as clustering constraints: record i of
 * the run is cases.id @p row[i] (any order, each once); verdicts naming other records
 * are left out. Both arrays are new (rp_free()), NULL when empty, sorted by (a, b) with
 * a < b.
 * @return RP_OK; RP_ENOMEM.
 */
int rp_cli_link_constraints(rp_cluster_pair **must,
                            size_t *n_must,
                            rp_cluster_pair **cannot,
                            size_t *n_cannot,
                            const rp_link_review *rev,
                            size_t n_rev,
                            const long long *row,
                            size_t n,
                            rp_error *err);

/**
 * The decision to save with a scored pair: RP_LINK_ACCEPTED or RP_LINK_REJECTED when
 * @p co's constraints (sorted as rp_cli_link_constraints() makes them) name it, else
 * @p otherwise.
 */
uint8_t
rp_cli_link_pair_decision(const rp_cluster_opts *co, uint32_t a, uint32_t b, uint8_t otherwise);

#endif
