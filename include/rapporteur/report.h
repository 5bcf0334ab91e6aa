/*
 * rapporteur: patterns and trends, published safely (issue 7). Count tables of the data
 * standard's fields with margins (src/report/table.c), trends by year with a Poisson
 * trend (src/report/trend.c), MSE estimates per stratum (src/report/estimates.c),
 * statistical disclosure control (src/report/sdc.c: threshold rule, secondary cell
 * suppression with an LP audit on GLPK, rounding; src/report/dp.c: differentially
 * private counts and the privacy budget), and the outputs (src/report/table_out.c: CSV
 * and JSON; charts, workbook and HTML elsewhere). docs/report.md states every rule.
 */
#ifndef RAPPORTEUR_REPORT_H
#define RAPPORTEUR_REPORT_H

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>
#include <rapporteur/store.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
    RP_CELL_NOISY,     /* published with differentially private noise */
    RP_CELL_STRUCTURAL /* cannot hold anyone (a state outside the region): 0, known to all,
                          never suppressed, rounded or noised */
} rp_cell_status;

/*
 * Dimensions that are not fields of the data standard, for pooled data
 * (rp_report_data_pool()): the state whose store a unit comes from (categories are the
 * states' codes), and the state's region (categories are the regions' names). A table with
 * both has a cell for every (region, state) pair; the pairs of a state outside the region
 * are RP_CELL_STRUCTURAL, so the table carries the hierarchy state-in-region and its audit
 * sees that a region's total is the sum of its states.
 */
#define RP_TABLE_FIELD_STATE  ((rp_field)RP_FIELD_COUNT)
#define RP_TABLE_FIELD_REGION ((rp_field)(RP_FIELD_COUNT + 1))

/**
 * Machine name of a table dimension's field: the standard's field name ("sex"), or
 * "state" / "region" for the pseudo-fields; "?" for anything else. Static string.
 */
RP_API const char *rp_table_field_name(rp_field f);

/** One dimension of a table: a field and its categories, in display order. */
typedef struct rp_table_dim {
    rp_field field; /* a field of the standard, or RP_TABLE_FIELD_STATE / _REGION */
    size_t n_cats;
    char **cats; /* n_cats category labels (codes of the standard; "" = not recorded) */
    /* n_cats flags, 1 where the category is listed because the data hold it, so that
     * a reader knows its one-way margin is at least 1; 0 where it is filled in (a year
     * between the first and the last) or nothing is known. NULL when none is known;
     * rp_report_table_build() sets it, and the disclosure audit uses it */
    uint8_t *present;
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
 *
 * value[] is what may be published: it equals count[] until disclosure control changes
 * it, and is NaN where status says the cell is suppressed.
 */
typedef struct rp_table {
    char *title;
    char *unit; /* "persons" or "records" */
    size_t n_dims;
    rp_table_dim dims[RP_TABLE_MAX_DIMS];
    size_t stride[RP_TABLE_MAX_DIMS];
    size_t n_cells;
    double *count;   /* n_cells true counts (never published as such) */
    double *value;   /* n_cells published values (after rounding or noise; NaN suppressed) */
    uint8_t *status; /* n_cells rp_cell_status */
    bool additive;   /* interior cells sum to the margins */
    char **notes;    /* plain-language notes (suppression, rounding, budget) */
    size_t n_notes;
} rp_table;

/** Free @p t and everything it owns (NULL is fine). */
RP_API void rp_table_free(rp_table *t);

/** Index of cell @p idx (n_dims indices, each 0..n_cats, n_cats = the margin). */
RP_API size_t rp_table_cell(const rp_table *t, const size_t *idx);

/** The inverse of rp_table_cell(): the n_dims indices of cell @p cell into @p idx. */
RP_API void rp_table_index(size_t *idx, const rp_table *t, size_t cell);

/** True when dimension @p d is additive (a single-valued field). */
RP_API bool rp_table_dim_additive(const rp_table *t, size_t d);

/**
 * True when category @p i of dimension @p d carries information on the field, that is,
 * it is neither "" (not recorded), "unknown" (recorded as unknown) nor "not_specified"
 * (recorded, without saying which: labour sector, means of control). In a multi-valued
 * dimension a unit with a real code and "not_specified" or "unknown" counts in the real
 * category only (rp_report_table_build()), so those categories hold exactly the units
 * with no information and are disjoint from every other category.
 */
RP_API bool rp_table_cat_known(const rp_table *t, size_t d, size_t i);

/** A deep copy of @p t, or NULL on OOM. */
RP_API rp_table *rp_table_dup(const rp_table *t);

/**
 * Append a note to @p t (printf format). @return RP_OK; RP_ENOMEM.
 */
RP_API int rp_table_add_note(rp_table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Position meaning "keep this dimension" in rp_table_slice(). */
#define RP_TABLE_KEEP SIZE_MAX

/**
 * The sub-table of @p t with dimension d fixed at position at[d] (a category, or n_cats
 * for its total) wherever at[d] != RP_TABLE_KEEP; the kept dimensions stay in order. The
 * slice copies counts, published values, statuses, title, unit and notes: slicing a
 * protected table gives a protected table whose every value was published in @p t, so
 * views of one audited table (a pooled view, a view by state, a view by region) are
 * protected together by construction.
 *
 * @param[out] out  new table; free with rp_table_free(); NULL on failure.
 * @param[in]  at   t->n_dims positions; at least one RP_TABLE_KEEP.
 * @return RP_OK; RP_EINVAL (no dimension kept, a position out of range); RP_ENOMEM.
 * @test   tests/unit/test_report_regional.c
 */
RP_API int rp_table_slice(rp_table **out, const rp_table *t, const size_t *at, rp_error *err);

/** What tables count. */
typedef enum rp_report_unit {
    RP_REPORT_UNIT_AUTO = 0, /* persons when any record has a person id, else records */
    RP_REPORT_UNIT_PERSONS,  /* one per distinct person id (a record without one: itself) */
    RP_REPORT_UNIT_RECORDS   /* one per stored record */
} rp_report_unit;

/** Options for rp_report_data_load(). Initialise with RP_REPORT_DATA_OPTS_INIT. */
typedef struct rp_report_data_opts {
    unsigned version;
    rp_report_unit unit;
} rp_report_data_opts;

#define RP_REPORT_DATA_OPTS_VERSION 1
/* clang-format off */
#define RP_REPORT_DATA_OPTS_INIT {RP_REPORT_DATA_OPTS_VERSION, RP_REPORT_UNIT_AUTO}
/* clang-format on */

/**
 * The units of a report (persons or records) with the attributes that tables count,
 * read once so that many tables can be made from them (opaque).
 */
typedef struct rp_report_data rp_report_data;

/**
 * Read the units of @p st in one read transaction. Persons: one per distinct person_id,
 * with the attributes of their earliest-registered record (a missing year last, ties by
 * row id), as rp_store_capture_set() takes strata; a record without a person id is a
 * person of its own (counted in rp_report_data_unlinked()). Forms of exploitation,
 * sectors, types and means of control are those of that record too.
 *
 * @param[out] out   new data; free with rp_report_data_free(); NULL on failure.
 * @param[in]  opts  NULL for defaults (unit AUTO).
 * @return RP_OK; RP_EDATA (no stored record; unit PERSONS and no person id at all);
 *         RP_ESQL; RP_ENOMEM.
 */
RP_API int rp_report_data_load(rp_report_data **out,
                               rp_store *st,
                               const rp_report_data_opts *opts,
                               rp_error *err);

/**
 * As rp_report_data_load() from @p n records in memory (tests, benchmarks, pooled
 * submissions). Records are borrowed; nothing is retained.
 * @return RP_OK; RP_EDATA (n == 0); RP_EINVAL; RP_ENOMEM.
 */
RP_API int rp_report_data_from_records(rp_report_data **out,
                                       const rp_case_record *recs,
                                       size_t n,
                                       const rp_report_data_opts *opts,
                                       rp_error *err);

/**
 * Pool the units of several states into one data set whose tables can have the
 * pseudo-fields RP_TABLE_FIELD_STATE and RP_TABLE_FIELD_REGION. Unit i of part p is a
 * unit of state @p states[p] in region @p regions[p]; lists become "STATE/list" (the
 * lists of different states are different sources). Each part is counted as it was
 * loaded, and stores are not linked with each other: a person identified in two states
 * counts in each (tables say so in a note). States are sorted by code, regions by name.
 *
 * @param[out] out      new data; free with rp_report_data_free(); NULL on failure.
 * @param[in]  parts    n loaded data sets (borrowed), all of one unit (persons or records).
 * @param[in]  states   n distinct non-empty state codes (ISO 3166-1 alpha-2 as a rule).
 * @param[in]  regions  n non-empty region names (one state, one region).
 * @return RP_OK; RP_EINVAL (n == 0 or above 1000, a state repeated or empty, an empty
 *         region, parts of different units); RP_ENOMEM.
 * @test   tests/unit/test_report_regional.c
 */
RP_API int rp_report_data_pool(rp_report_data **out,
                               const rp_report_data *const *parts,
                               const char *const *states,
                               const char *const *regions,
                               size_t n,
                               rp_error *err);

/** Number of states of pooled data (0 when not pooled). */
RP_API size_t rp_report_data_states(const rp_report_data *d);

/** Free. NULL-safe. */
RP_API void rp_report_data_free(rp_report_data *d);

/** Number of units. */
RP_API size_t rp_report_data_count(const rp_report_data *d);

/** "persons" or "records" (static string). */
RP_API const char *rp_report_data_unit(const rp_report_data *d);

/** Persons made of a single record without a person id (0 when counting records). */
RP_API size_t rp_report_data_unlinked(const rp_report_data *d);

/** Options for rp_report_table_build(). Initialise with RP_TABLE_OPTS_INIT. */
typedef struct rp_table_opts {
    unsigned version;
    const char *title; /* NULL: "persons by sex and citizenship" */
    bool known_only;   /* CTDC's rule on every dimension: leave out units with "" or
                          "unknown" in a single-valued field (always so for multi-valued) */
    int year_min;      /* only units registered in year_min..year_max; 0 = no bound */
    int year_max;
    bool full_domain; /* list every category of each field's domain, held by the data or
                         not (filled in with present 0), so that the table's shape does not
                         depend on the data (differential privacy). CODE fields: every code
                         plus "unknown" and "" (not recorded); CODES fields: every code;
                         registration_year: every year of year_min..year_max, which must
                         both be set; list, state, region: every one loaded. age,
                         citizenship and country_of_exploitation have no fixed domain and
                         are refused (RP_EINVAL) */
} rp_table_opts;

#define RP_TABLE_OPTS_VERSION 2
/* clang-format off */
#define RP_TABLE_OPTS_INIT {RP_TABLE_OPTS_VERSION, NULL, false, 0, 0, false}
/* clang-format on */

/**
 * Cross-tabulate @p n_fields (1 to RP_TABLE_MAX_DIMS) distinct fields with margins.
 *
 * Categories are those present in the data, in code-list order (numbers ascending,
 * countries alphabetical), then "unknown", then "" (not recorded); a registration_year
 * dimension has every year between the first and the last present (zeros included), so
 * trends see the years with no one. Single-valued fields are additive: each unit is in
 * one category, "" and "unknown" included. Multi-valued fields (exploitation,
 * sexual_types, labour_sectors, means_of_control, recruiter_relation) follow CTDC's
 * denominator rule: a unit is counted in each of its categories, the margin counts the
 * units with at least one, and units with none are left out of the table (the number is
 * in a note); the table is then not additive. Every field but case_id, person_id and
 * registration_date can be a dimension (list included).
 *
 * With opts->full_domain the categories are the field's whole domain instead, whatever
 * the data hold (see rp_table_opts), so that adding or removing one unit never changes
 * the table's shape: needed before differentially private noise is added.
 *
 * value[] starts equal to count[], status all RP_CELL_PUBLISHED: apply
 * rp_sdc_protect() before publishing.
 *
 * @return RP_OK; RP_EINVAL (no field, too many, repeated, not tabulable, bad years;
 *         full_domain: a field with no fixed domain, or a year dimension without both
 *         year bounds); RP_ENOMEM.
 * @test   tests/unit/test_report_table.c
 */
RP_API int rp_report_table_build(rp_table **out,
                                 const rp_report_data *data,
                                 const rp_field *fields,
                                 size_t n_fields,
                                 const rp_table_opts *opts,
                                 rp_error *err);

/**
 * Shares of the published values along dimension @p d: out[c] = value[c] / denominator,
 * where the denominator is the value of the cell's margin along @p d less the cells of
 * the categories without information of @p d, "", "unknown" and "not_specified"
 * (rp_table_cat_known(); CTDC: only units with information on the field). In a
 * multi-valued dimension those categories hold only units with no other code, so the
 * difference is the units with information there too. Cells of those categories,
 * suppressed cells and cells whose denominator is suppressed or 0 get NaN; margin cells
 * get 1. Shares of a multi-valued dimension can sum to more than 1.
 * @param[out] out  t->n_cells shares.
 * @return RP_OK; RP_EINVAL (@p d out of range).
 */
RP_API int rp_table_shares(double *out, const rp_table *t, size_t d, rp_error *err);

/* ==== trends (src/report/trend.c) ==== */

/** Options for rp_trend_fit(). Initialise with RP_TREND_OPTS_INIT. */
typedef struct rp_trend_opts {
    unsigned version;
    double ci_level; /* in (0, 1) */
    double tol;      /* Newton: stop when the step in the slope is below tol */
    int max_iter;
    bool profile; /* also the profile-likelihood interval */
} rp_trend_opts;

#define RP_TREND_OPTS_VERSION 1
/* clang-format off */
#define RP_TREND_OPTS_INIT {RP_TREND_OPTS_VERSION, 0.95, 1e-12, 100, true}

/* clang-format on */

/** A trend by year. Arrays owned; free with rp_trend_free(). */
typedef struct rp_trend {
    size_t n_years;
    int *years;         /* n_years */
    double *counts;     /* the counts fitted (NaN: suppressed, left out of the fit) */
    double *change;     /* counts[i] - counts[i - 1]; NaN for the first and gaps */
    double *change_pct; /* 100 change / counts[i - 1]; NaN when that is 0 or NaN */
    size_t n_fitted;    /* years in the fit */
    double slope;       /* b of log mu = a + b (year - mean year) */
    double slope_se;    /* Wald SE from the observed information: the plain Poisson (or
                           weighted) one, the JSON's slope_se_poisson. The JSON's slope_se
                           is the SE that matches pct_*: with dispersion > 1 (quasi-Poisson)
                           this times sqrt(dispersion), else this (src/report/trend_out.c) */
    double rate_ratio;  /* exp(b): multiplicative change per year */
    double ci_level;
    double wald_lower, wald_upper;       /* exp(b -+ z se) */
    double profile_lower, profile_upper; /* profile likelihood; NaN if off or open */
    double deviance;                     /* residual deviance, df = n_fitted - 2 */
    double df;
    int iterations;
    char **notes;
    size_t n_notes;
    double *fitted; /* n_years: the fitted mean exp(a + b (year - mean year)) */
    bool weighted;  /* rp_trend_fit_estimates(): weighted log-linear, not Poisson */
    double pct_change, pct_lower, pct_upper; /* 100 (exp(b) - 1) and its interval: the
                                                profile one when there is one, else Wald;
                                                over-dispersed counts: quasi-Poisson */
    double dispersion; /* Pearson X^2 / df of the Poisson fit (1 when df = 0, and for
                          estimates). Above 1 the counts vary more than Poisson counts do,
                          and pct_lower / pct_upper are the quasi-Poisson interval: the
                          profile likelihood scaled by it (Wald scaled by its root when the
                          profile is off); wald_* and profile_* stay the plain Poisson ones */
} rp_trend;

/**
 * Fit the Poisson log-linear trend log E[y_t] = a + b (t - mean t) by maximum
 * likelihood (Newton on the profile log-likelihood of b; a is explicit given b), with
 * Wald and profile-likelihood intervals for exp(b), the annual changes, the fitted means
 * and the dispersion; the published interval (pct_*) is widened by the dispersion when
 * the counts are over-dispersed (quasi-Poisson, McCullagh & Nelder 1989 ch. 6). Years with
 * NaN counts are left out of the fit and their changes are NaN.
 * @return RP_OK; RP_EINVAL (fewer than 2 fitted years, negative count, bad level);
 *         RP_EDOM (all fitted counts 0: no trend); RP_ENOCONV; RP_ENOMEM.
 * @see    McCullagh & Nelder (1989) ch. 6; as R glm(y ~ year, family = poisson) and
 *         confint() (MASS profile).
 */
RP_API int rp_trend_fit(rp_trend **out,
                        const int *years,
                        const double *counts,
                        size_t n,
                        const rp_trend_opts *opts,
                        rp_error *err);

/**
 * The trend of a table's published values along its registration_year dimension @p d,
 * the other dimensions at positions @p at (n_dims entries, the one at @p d ignored;
 * NULL = every other dimension at its margin). The "" year category is left out;
 * suppressed cells are NaN (left out of the fit).
 * @return as rp_trend_fit(); RP_EINVAL (@p d is not a registration_year dimension).
 */
RP_API int rp_table_trend(rp_trend **out,
                          const rp_table *t,
                          size_t d,
                          const size_t *at,
                          const rp_trend_opts *opts,
                          rp_error *err);

/**
 * The trend of estimates by year (the MSE estimate of each year with its interval): the
 * weighted least-squares fit of log N_t = a + b (t - mean t) with weights 1 / se_t^2,
 * se_t = (log upper_t - log lower_t) / (2 z) for intervals at @p est_level (the
 * estimates of different years come from different capture tables, so they are
 * independent). Years with a NaN estimate, an unbounded or non-positive interval are
 * left out. The interval of exp(b) is Wald only; deviance is the weighted residual sum of
 * squares (chi-square on df = n_fitted - 2 when the model holds).
 * @return RP_OK; RP_EINVAL (fewer than 2 usable years, bad level); RP_ENOMEM.
 * @see    the inverse-variance weighted regression of meta-analysis (Borenstein et al.
 *         2009, meta-regression), applied to log estimates.
 */
RP_API int rp_trend_fit_estimates(rp_trend **out,
                                  const int *years,
                                  const double *estimate,
                                  const double *lower,
                                  const double *upper,
                                  size_t n,
                                  double est_level,
                                  const rp_trend_opts *opts,
                                  rp_error *err);

/**
 * A sentence on @p tr for readers: "average annual change +12.3% (95% CI 5.1% to 19.9%);
 * Poisson log-linear trend over 2012-2016 (5 years)", into @p buf (truncated to
 * @p size). @return @p buf.
 */
RP_API const char *rp_trend_describe(char *buf, size_t size, const rp_trend *tr);

/**
 * Write labelled trends as CSV: one row per (label, year) with the count, the annual
 * change and its %, the fitted mean; then one summary row per label (year "trend") with
 * the average annual change in % and its interval, the method and the years fitted.
 * Values are the published ones the trends were fitted to (NaN: "x").
 * @return RP_OK; RP_EINVAL; RP_EIO.
 */
RP_API int rp_trend_write_csv(
    FILE *f, const rp_trend *const *trends, const char *const *labels, size_t n, rp_error *err);

/** As rp_trend_write_csv() in JSON: an array of {label, method, years[], trend{}}. */
RP_API int rp_trend_write_json(
    FILE *f, const rp_trend *const *trends, const char *const *labels, size_t n, rp_error *err);

/** Free. NULL-safe. */
RP_API void rp_trend_free(rp_trend *tr);

/* ==== MSE estimates per stratum (src/report/estimates.c) ==== */

/** One stratum: the observed persons and the estimated total. */
typedef struct rp_report_estimate {
    char *label;     /* "sex=female"; "" for the pooled table */
    double observed; /* persons on at least one list */
    double estimate; /* N; NaN when not estimated */
    double lower;    /* interval on N: profile likelihood when available, else the
                        model-conditional one; NaN when not estimated */
    double upper;
    char model[256]; /* the chosen model (names), "" if none */
    int status;      /* RP_OK, or why there is no estimate (rp_status) */
    bool suppressed; /* observed below opts->min_observed: nothing published */
} rp_report_estimate;

/** Estimates by stratum. Owned; free with rp_report_estimates_free(). */
typedef struct rp_report_estimates {
    rp_report_estimate total; /* the pooled table */
    size_t n;
    rp_report_estimate *strata;
    double ci_level;
    char **notes;
    size_t n_notes;
} rp_report_estimates;

/** Options for rp_report_estimates(). Initialise with RP_REPORT_ESTIMATES_OPTS_INIT. */
typedef struct rp_report_estimates_opts {
    unsigned version;
    rp_mse_opts mse;     /* passed to rp_mse_estimate() for each table */
    double min_observed; /* strata with fewer observed persons get no estimate (the
                            threshold rule: use the report's k) */
} rp_report_estimates_opts;

#define RP_REPORT_ESTIMATES_OPTS_VERSION 1
/* clang-format off */
#define RP_REPORT_ESTIMATES_OPTS_INIT \
    {RP_REPORT_ESTIMATES_OPTS_VERSION, RP_MSE_OPTS_INIT, 5.0}
/* clang-format on */

/**
 * MSE estimates of the pooled capture histories of @p st and of each stratum by the
 * fields @p by (rp_store_capture_set(), then rp_mse_estimate() per table), beside the
 * observed counts. A stratum whose estimation fails keeps its observed count, NaN
 * estimates and the failure's code in status, with a note; that is not an error.
 * @return RP_OK; the errors of rp_store_capture_set(); RP_ENOMEM.
 */
RP_API int rp_report_estimates_run(rp_report_estimates **out,
                                   rp_store *st,
                                   const char *const *by,
                                   size_t n_by,
                                   const rp_report_estimates_opts *opts,
                                   rp_error *err);

/** As rp_report_estimates_run() on a capture set already made. */
RP_API int rp_report_estimates_of_set(rp_report_estimates **out,
                                      const rp_capture_set *set,
                                      const rp_report_estimates_opts *opts,
                                      rp_error *err);

/** Free. NULL-safe. */
RP_API void rp_report_estimates_free(rp_report_estimates *e);

/* ==== disclosure control (src/report/sdc.c, sdc_linked.c, sdc_pool.c, dp.c) ==== */

/** How a table is protected. */
typedef enum rp_sdc_method {
    RP_SDC_SUPPRESS = 0, /* threshold rule + secondary suppression, LP-audited */
    RP_SDC_ROUND,        /* every cell rounded to the nearest multiple of base */
    RP_SDC_KROUND,       /* CTDC k-synthetic / SDS: below k not shown, else down to k */
    RP_SDC_DP_LAPLACE,   /* discrete Laplace noise, pure epsilon-DP */
    RP_SDC_DP_GAUSSIAN,  /* discrete Gaussian noise, rho-zCDP */
    RP_SDC_NONE          /* publish as counted (internal use only) */
} rp_sdc_method;

/** Cost of suppressing a cell, which secondary suppression minimises greedily. */
typedef enum rp_sdc_cost {
    RP_SDC_COST_VALUE = 0, /* the count (tau-ARGUS's default for frequency tables) */
    RP_SDC_COST_LOG,       /* 1 + log(count): fewer large cells */
    RP_SDC_COST_UNIT       /* 1: fewest cells */
} rp_sdc_cost;

/** Options for rp_sdc_protect() and rp_sdc_audit(). Initialise with RP_SDC_OPTS_INIT. */
typedef struct rp_sdc_opts {
    unsigned version;
    rp_sdc_method method;
    double k;              /* threshold: cells with 0 < count < k are primary */
    bool zero_unsafe;      /* also cells of count 0 are primary (default: published) */
    bool zero_complements; /* cells of count 0 may be secondary suppressions */
    double protection_pct; /* required lower and upper protection, % of the cell value
                              (at least 1 person each way) */
    bool width_k;          /* the attacker's interval must also be at least k wide */
    rp_sdc_cost cost;
    size_t max_rounds; /* rounds of audit + complement choice before giving up */
    double base;       /* RP_SDC_ROUND: rounding base */
    double epsilon;    /* RP_SDC_DP_LAPLACE: epsilon of this release */
    double rho;        /* RP_SDC_DP_GAUSSIAN: rho (zCDP) of this release */
    double lp_tol;     /* slack in comparing LP bounds with protection levels */
} rp_sdc_opts;

#define RP_SDC_OPTS_VERSION 1
/* clang-format off */
#define RP_SDC_OPTS_INIT \
    {RP_SDC_OPTS_VERSION, RP_SDC_SUPPRESS, 5.0, false, false, 10.0, true, \
     RP_SDC_COST_VALUE, 10000, 5.0, 1.0, 0.5, 1e-6}

/* clang-format on */

/** What rp_sdc_protect() did. */
typedef struct rp_sdc_report {
    size_t n_primary;
    size_t n_secondary;
    size_t n_rounded;
    size_t n_noisy;
    size_t rounds;           /* audit rounds of secondary suppression */
    size_t lp_solves;        /* LPs solved by the audits */
    double suppressed_total; /* sum of the counts of the suppressed interior cells */
    bool audit_passed;       /* RP_SDC_SUPPRESS: the final audit protects every primary */
} rp_sdc_report;

/**
 * Protect @p t in place with @p opts->method: sets value[] (NaN where suppressed) and
 * status[], and appends notes that say what was done (k, protection, rounding base,
 * epsilon or rho and the sensitivity). Suppression marks the primary cells (every cell,
 * margins too, with 0 < count < k; zeros if zero_unsafe), then adds complementary
 * suppressions until rp_sdc_audit() finds every primary cell's feasibility interval at
 * least as wide as its protection interval (docs/report.md, "Secondary suppression").
 * Differential privacy draws from libsodium's randombytes; record the release in the
 * budget first with rp_report_budget_charge(). RP_CELL_STRUCTURAL cells stay as they
 * are (0, published, never complements). With RP_SDC_SUPPRESS, cells already marked
 * RP_CELL_SECONDARY (value still equal to count) are forced complements: kept suppressed,
 * e.g. so that a cell shared with another table is suppressed in both.
 *
 * @param[out] report  may be NULL.
 * @return RP_OK; RP_EINVAL (bad options, a table already protected); RP_EINTERNAL (LP
 *         solver failure); RP_ENOMEM.
 * @test   tests/unit/test_report_sdc.c
 */
RP_API int
rp_sdc_protect(rp_table *t, const rp_sdc_opts *opts, rp_sdc_report *report, rp_error *err);

/** What rp_sdc_protect_linked() did, over all its tables. */
typedef struct rp_sdc_linked_report {
    size_t n_tables;
    size_t n_common;          /* distinct cells shown by two tables or more (RP_SDC_SUPPRESS) */
    size_t rounds;            /* rounds of alignment and joint audit */
    size_t n_primary;         /* primary cells, summed over the tables (a common cell in each) */
    size_t n_secondary;       /* secondary suppressions, summed over the tables */
    size_t n_secondary_alone; /* ... as each table protected alone had them */
    size_t n_joint;           /* complements added because the joint audit failed */
    size_t lp_solves;         /* LPs solved by the joint audits */
    bool audit_passed;        /* the final joint audit protects every primary cell */
} rp_sdc_linked_report;

/**
 * Protect the tables of one report together (linked tables; src/report/sdc_linked.c), so
 * that no suppressed cell can be narrowed by combining what all of them publish.
 *
 * Common cells: two cells of the tables are one cell when they count the same units: the
 * same unit ("persons" or "records") and the same set of (field, category) over the
 * dimensions not at their margin, a single-valued dimension at its margin meaning "any",
 * a multi-valued one at its margin "with information on the field" (the units a table
 * with such a field keeps: rp_report_table_build()). Cell (year 2019) of the table by year
 * is cell (year 2019, sex total) of year x sex; cell (form total) of exploitation x sex is
 * the persons with a known form, not everyone, and is common with no cell of an additive
 * table. Their true counts must be equal: tables made with different filters (years,
 * known_only) or from different data are refused.
 *
 * With RP_SDC_SUPPRESS: each table is protected with rp_sdc_protect(); then every common
 * cell suppressed in one table becomes a forced complement of the others, which are
 * protected again from their unprotected copies, until no table changes; then one LP over
 * the relations of all the tables, with one variable per distinct suppressed cell (the
 * joint audit, rp_sdc_audit_linked()), checks every primary cell against its protection
 * interval (rp_sdc_protection(), as rp_sdc_audit()). For each that fails, the cheapest
 * published cell (opts->cost) on a line through it in any table becomes a forced
 * complement, and the loop goes on, until the joint audit passes. Suppressions only grow,
 * so it ends; opts->max_rounds bounds it. Each table gets a note that it was protected
 * jointly (tables, common cells, rounds). With one table this is rp_sdc_protect().
 *
 * Rounding, k-rounding and differential privacy need no linking (each cell is published,
 * changed on its own; nothing is hidden for a combination to reveal): each table is
 * protected with rp_sdc_protect() and nothing more.
 *
 * @param[out] report  may be NULL.
 * @param[in,out] tables  n unprotected tables, protected in place (a table's content is
 *                        replaced by a re-protected copy; the pointers stay valid).
 * @param[in]  opts    NULL for defaults, as rp_sdc_protect().
 * @param[out] err     details on failure; may be NULL.
 * @return RP_OK; RP_EINVAL (a NULL table, bad options, a table protected already, common
 *         cells of unequal counts); RP_EINTERNAL (LP failure, or not settled within
 *         opts->max_rounds rounds); RP_ENOMEM. On failure the tables are left protected
 *         in part and must not be published.
 * @note   Hundepool et al., Statistical Disclosure Control (Wiley 2012), ch. 4 (linked
 *         tables); tau-ARGUS manual, linked tables (its "modular" and "hypercube" methods
 *         protect linked tables by the same rule: a common cell has one status). The
 *         greedy choice does not minimise the total cost; the joint audit guarantees the
 *         protection.
 * @test   tests/unit/test_report_sdc_linked.c
 */
RP_API int rp_sdc_protect_linked(rp_sdc_linked_report *report,
                                 rp_table *const *tables,
                                 size_t n,
                                 const rp_sdc_opts *opts,
                                 rp_error *err);

/**
 * Protect the tables of a regional report together: rp_sdc_protect_linked() on tables
 * that all have the dimensions RP_TABLE_FIELD_REGION and RP_TABLE_FIELD_STATE
 * (rp_report_data_pool()), so that the totals of each state, each region and all states
 * they share (and any other common cell) are suppressed alike and one LP audits them
 * together. Views sliced from these tables (rp_table_slice()) are then safe together.
 *
 * @param[out] rounds_out  rounds of rp_sdc_protect_linked(); may be NULL.
 * @return RP_OK; RP_EINVAL (a table without region and state, bad options, protected
 *         already, common cells of unequal counts); RP_EINTERNAL (LP failure, or no
 *         settling); RP_ENOMEM.
 * @test   tests/unit/test_report_regional.c
 */
RP_API int rp_sdc_protect_pooled(
    size_t *rounds_out, rp_table *const *tables, size_t n, const rp_sdc_opts *opts, rp_error *err);

/** The attacker's interval for one suppressed cell, from the audit. */
typedef struct rp_sdc_interval {
    size_t table;      /* rp_sdc_audit_linked(): index of the table; 0 from rp_sdc_audit() */
    size_t cell;       /* index into the table */
    double value;      /* true count */
    double lower;      /* least value consistent with everything published */
    double upper;      /* largest (INFINITY when unbounded) */
    double need_lower; /* protection interval: lower must be <= need_lower ... */
    double need_upper; /* ... and upper >= need_upper ... */
    double need_width; /* ... and upper - lower >= need_width */
    bool primary;
    bool protected_; /* primary cells: the three conditions hold; secondary: true */
} rp_sdc_interval;

/**
 * The LP audit (tau-ARGUS's audit): for every suppressed cell, minimise and maximise it
 * subject to every relation of the table with the published cells fixed at their values
 * and the suppressed cells >= 0, or >= 1 for the one-way margin of a category that
 * rp_table_dim.present marks (a reader knows a listed category occurs), with the lower
 * protection then asked down to that 1 only (GLPK simplex). Relations: along an additive dimension,
 * each line of categories sums to its margin; along a multi-valued dimension each cell
 * is at most its margin and the line sums to at least the margin. Bounds are rounded
 * inwards to integers (counts are whole persons).
 *
 * @param[out] out    new array of one interval per suppressed cell, in cell order; free
 *                    with rp_free(); NULL when there is none.
 * @param[out] n_out  its length.
 * @param[out] passed true when every primary cell is protected; may be NULL.
 * @return RP_OK; RP_EINVAL; RP_EINTERNAL (LP solver failure); RP_ENOMEM.
 */
RP_API int rp_sdc_audit(rp_sdc_interval **out,
                        size_t *n_out,
                        bool *passed,
                        const rp_table *t,
                        const rp_sdc_opts *opts,
                        rp_error *err);

/**
 * The joint audit of linked tables: what an attacker who reads all @p n tables together
 * can learn of each suppressed cell. One LP over the relations of every table (as
 * rp_sdc_audit()), with one variable per distinct common cell (rp_sdc_protect_linked()
 * says which cells are one) that no table publishes, and every published value a
 * constant; a cell suppressed in one table but published in another is known exactly.
 * Each variable is minimised and maximised once (GLPK simplex); its interval is reported
 * for every suppressed cell of every table it stands for.
 *
 * @param[out] out     new array, one interval per suppressed cell of every table, by table
 *                     then cell (rp_sdc_interval.table says which); free with rp_free();
 *                     NULL when there is none.
 * @param[out] n_out   its length.
 * @param[out] passed  true when every primary cell is protected; may be NULL.
 * @param[in]  tables  n protected tables (borrowed).
 * @return RP_OK; RP_EINVAL (a NULL table, bad options, common cells of unequal counts);
 *         RP_EINTERNAL (LP solver failure); RP_ENOMEM.
 * @test   tests/unit/test_report_sdc_linked.c
 */
RP_API int rp_sdc_audit_linked(rp_sdc_interval **out,
                               size_t *n_out,
                               bool *passed,
                               const rp_table *const *tables,
                               size_t n,
                               const rp_sdc_opts *opts,
                               rp_error *err);

/** The protection interval rp_sdc_audit() requires of a primary cell of count @p x. */
RP_API void rp_sdc_protection(
    double *need_lower, double *need_upper, double *need_width, double x, const rp_sdc_opts *opts);

/** Noise mechanisms. */
typedef enum rp_dp_mechanism { RP_DP_LAPLACE = 0, RP_DP_GAUSSIAN } rp_dp_mechanism;

/**
 * One draw of discrete Laplace noise, P(Z = z) proportional to exp(-|z| / scale)
 * (the geometric mechanism of Ghosh, Roughgarden & Sundararajan 2009: scale =
 * sensitivity / epsilon), from libsodium's randombytes. @p scale > 0.
 */
RP_API long long rp_dp_laplace(double scale);

/**
 * One draw of discrete Gaussian noise, P(Z = z) proportional to exp(-z^2 / (2 sigma2)),
 * by Canonne, Kamath & Steinke (2020), Algorithm 3 (rejection from discrete Laplace),
 * from libsodium's randombytes. @p sigma2 > 0.
 */
RP_API long long rp_dp_gaussian(double sigma2);

/** Variance of rp_dp_laplace(scale): 2 p / (1 - p)^2, p = exp(-1 / scale). */
RP_API double rp_dp_laplace_variance(double scale);

/** Variance of rp_dp_gaussian(sigma2), summed over the support (slightly below sigma2). */
RP_API double rp_dp_gaussian_variance(double sigma2);

/* ==== the privacy budget (src/store/report_query.c) ==== */

/** Budget spent so far in a store. */
typedef struct rp_budget {
    size_t releases;
    double epsilon; /* sum of epsilon over pure-DP (Laplace) releases */
    double rho;     /* zCDP of everything: sum of rho plus epsilon^2 / 2 per Laplace
                       release (Bun & Steinke 2016, Prop. 1.4) */
} rp_budget;

/**
 * The budget spent by the releases recorded in @p st (the privacy_budget table; none
 * yet: zeros). @return RP_OK; RP_ESQL.
 */
RP_API int rp_report_budget_spent(rp_budget *out, rp_store *st, rp_error *err);

/**
 * Record one differentially private release of @p label before it is made, in one
 * transaction with the check: refused (nothing recorded) when the total would exceed
 * @p epsilon_cap (pure-DP releases; 0 = no cap) or @p rho_cap (zCDP of all; 0 = no
 * cap). Exactly one of @p epsilon and @p rho is positive (Laplace or Gaussian).
 * @param[out] after  the budget with this release; may be NULL.
 * @return RP_OK; RP_EPERM (over a cap, or the store is read-only); RP_EINVAL; RP_ESQL.
 */
RP_API int rp_report_budget_charge(rp_budget *after,
                                   rp_store *st,
                                   const char *label,
                                   double epsilon,
                                   double rho,
                                   double epsilon_cap,
                                   double rho_cap,
                                   rp_error *err);

/* ==== outputs (src/report/table_out.c) ==== */

/** CSV layouts. */
typedef enum rp_table_csv_layout {
    RP_TABLE_CSV_LONG = 0, /* one row per cell: the categories, value, status */
    RP_TABLE_CSV_WIDE      /* the last dimension across, the others down; then notes */
} rp_table_csv_layout;

/** Options for the writers. Initialise with RP_TABLE_WRITE_OPTS_INIT. */
typedef struct rp_table_write_opts {
    unsigned version;
    rp_table_csv_layout layout;
    const char *total_label;     /* label of margins; NULL = "Total" */
    const char *suppressed_mark; /* NULL = "x" */
    const char *not_recorded;    /* label of the "" category; NULL = "Not recorded" */
    int share_dim;               /* JSON/long CSV: also shares along this dim; -1 none */
} rp_table_write_opts;

#define RP_TABLE_WRITE_OPTS_VERSION 1
/* clang-format off */
#define RP_TABLE_WRITE_OPTS_INIT \
    {RP_TABLE_WRITE_OPTS_VERSION, RP_TABLE_CSV_LONG, NULL, NULL, NULL, -1}
/* clang-format on */

/**
 * Write the published values of @p t as CSV (RFC 4180, UTF-8): never the true counts of
 * suppressed cells, which appear as the suppressed mark ("x"); the status column of the
 * long layout says "published", "suppressed", "rounded" or "noisy"; the wide
 * layout ends with a blank row, a legend and the notes. Formula-like labels are
 * prefixed with ' (as the store export does). @return RP_OK; RP_EIO; RP_ENOMEM.
 */
RP_API int
rp_table_write_csv(FILE *f, const rp_table *t, const rp_table_write_opts *opts, rp_error *err);

/**
 * Write @p t as one JSON object: title, unit, additive, dims (field and categories),
 * cells (indices, labels, value or null, status, share if asked), notes.
 * @return RP_OK; RP_EIO; RP_ENOMEM.
 */
RP_API int
rp_table_write_json(FILE *f, const rp_table *t, const rp_table_write_opts *opts, rp_error *err);

/** As rp_table_write_json() into a new string (free with rp_free()). */
RP_API int
rp_table_json_string(char **out, const rp_table *t, const rp_table_write_opts *opts, rp_error *err);

/**
 * Name of a status as published: "published", "suppressed" (RP_CELL_PRIMARY and
 * RP_CELL_SECONDARY alike, so that no output says which hidden cell is the small one),
 * "rounded", "noisy", "structural".
 */
RP_API const char *rp_cell_status_str(rp_cell_status s);

/* ==== state tables: regions and pools (src/report/regions.c) ==== */

/**
 * A small CSV table keyed by its first column: the region table of a regional report
 * (data/regions/osce_regions.csv: ISO 3166-1 alpha-2 code, then one column per grouping)
 * or a pool file (state, store, region). Opaque.
 */
typedef struct rp_state_table rp_state_table;

/**
 * Parse @p len bytes of CSV (RFC 4180: a header row, comma-separated, fields may be
 * double-quoted; UTF-8; blank lines skipped) into a table. Every row has the header's
 * number of fields; keys (first column) are non-empty and distinct; header names are
 * distinct and non-empty.
 * @param[in] name  file name for messages ("regions.csv").
 * @return RP_OK; RP_EPARSE (with line and column: bad quoting, wrong field count, empty
 *         or repeated key or header, invalid UTF-8, no header); RP_ENOMEM.
 * @test   tests/unit/test_report_regional.c; fuzz/fuzz_state_table.c
 */
RP_API int rp_state_table_parse(
    rp_state_table **out, const char *data, size_t len, const char *name, rp_error *err);

/** As rp_state_table_parse() from the file @p path (at most 4 MiB). RP_EIO too. */
RP_API int rp_state_table_load(rp_state_table **out, const char *path, rp_error *err);

/** Free. NULL-safe. */
RP_API void rp_state_table_free(rp_state_table *st);

/** Rows (header excluded). */
RP_API size_t rp_state_table_rows(const rp_state_table *st);

/** Columns. */
RP_API size_t rp_state_table_columns(const rp_state_table *st);

/** Index of column @p name, or -1 when absent. */
RP_API int rp_state_table_column(const rp_state_table *st, const char *name);

/** Name of column @p col (NULL out of range). */
RP_API const char *rp_state_table_column_name(const rp_state_table *st, size_t col);

/** Cell (@p row, @p col), borrowed until the table is freed; NULL out of range. */
RP_API const char *rp_state_table_cell(const rp_state_table *st, size_t row, size_t col);

/** Row whose key (first column) is @p key, or -1. */
RP_API long rp_state_table_find(const rp_state_table *st, const char *key);

#ifdef __cplusplus
}
#endif

#endif
