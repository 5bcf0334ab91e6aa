/*
 * rapporteur: multiple systems estimation (MSE).
 * Capture histories of people across K lists, Poisson log-linear models of the 2^K - 1
 * observable cells, existence checks, model selection and intervals for the hidden total.
 */
#ifndef RAPPORTEUR_MSE_H
#define RAPPORTEUR_MSE_H

#include <rapporteur/common.h>
#include <rapporteur/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most lists a capture table may have (2^15 - 1 observable cells). */
#define RP_MSE_MAX_LISTS 15
/** Most interaction terms one model may hold (two-way terms of 15 lists need 105). */
#define RP_MSE_MAX_TERMS 256
/** Longest list name, bytes including the terminating NUL. */
#define RP_MSE_NAME_MAX 64

/* ==== capture tables ==== */

/**
 * Capture histories aggregated to cell counts.
 *
 * Cell @c counts[w] is the number of people whose capture history is the bit pattern w:
 * bit i set means "on list i" (list 0 is the lowest bit). There are 2^n_lists cells;
 * counts[0] (on no list, the dark figure) is always 0. Counts are non-negative people;
 * they are doubles because bootstrap replicates and merged tables reuse the type.
 */
typedef struct rp_capture_table {
    size_t n_lists;                                     /* K, 2..RP_MSE_MAX_LISTS */
    char list_names[RP_MSE_MAX_LISTS][RP_MSE_NAME_MAX]; /* column labels, NUL-terminated */
    double *counts;                                     /* 2^K cells, owned */
} rp_capture_table;

/**
 * Create an all-zero capture table.
 *
 * @param[out] out      new table; free with rp_capture_table_free(); NULL on failure.
 * @param[in]  n_lists  K, 2 <= K <= RP_MSE_MAX_LISTS.
 * @param[in]  names    K list names (copied), each shorter than RP_MSE_NAME_MAX.
 * @param[out] err      details on failure; may be NULL.
 * @return RP_OK; RP_EINVAL (K out of range, name too long or repeated); RP_ENOMEM.
 */
RP_API int rp_capture_table_new(rp_capture_table **out,
                                size_t n_lists,
                                const char *const *names,
                                rp_error *err);

/** A deep copy of @p tab, or NULL on OOM. */
RP_API rp_capture_table *rp_capture_table_dup(const rp_capture_table *tab);

/** Free @p tab. NULL-safe. */
RP_API void rp_capture_table_free(rp_capture_table *tab);

/** Number of people observed: the sum of all cells (people). */
RP_API double rp_capture_table_observed(const rp_capture_table *tab);

/** Index of the list called @p name, or -1 if there is none. */
RP_API int rp_capture_table_find_list(const rp_capture_table *tab, const char *name);

/**
 * Merge lists into one: a person is on the merged list when on any of its parts.
 *
 * @param[out] out   new table with K - (parts - 1) lists; the merged list takes the place
 *                   of the first part and the concatenated name ("PF+NCA" gives "PFNCA").
 * @param[in]  tab   source table (borrowed).
 * @param[in]  spec  list names joined by '+', at least two, all distinct and present.
 * @param[out] err   details on failure; may be NULL.
 * @return RP_OK; RP_EINVAL (unknown list, fewer than two parts, result under 2 lists);
 *         RP_ENOMEM.
 * @see    UKdat_5 and Ned_5 (Silverman 2020) are merges of this kind.
 */
RP_API int rp_capture_table_merge(rp_capture_table **out,
                                  const rp_capture_table *tab,
                                  const char *spec,
                                  rp_error *err);

/**
 * Keep only some lists, in the order given. People on none of the kept lists leave the
 * table (they become part of the dark figure of the smaller system).
 *
 * @param[out] out      new table; NULL on failure.
 * @param[in]  names    names of the lists to keep, at least two, distinct.
 * @param[out] dropped  people who are on none of the kept lists; may be NULL.
 * @return RP_OK; RP_EINVAL (unknown or repeated name, fewer than two); RP_ENOMEM.
 */
RP_API int rp_capture_table_select(rp_capture_table **out,
                                   const rp_capture_table *tab,
                                   const char *const *names,
                                   size_t n_names,
                                   double *dropped,
                                   rp_error *err);

/** How a capture-history CSV is laid out. */
typedef enum rp_capture_form {
    RP_CAPTURE_FORM_AUTO = 0,   /* aggregated if there is a `count` column, else person */
    RP_CAPTURE_FORM_AGGREGATED, /* 0/1 list columns plus `count` (people per pattern) */
    RP_CAPTURE_FORM_PERSON      /* one row per person, 0/1 list columns, no `count` */
} rp_capture_form;

/** Options for rp_capture_read_csv(). Initialise with RP_CAPTURE_READ_OPTS_INIT. */
typedef struct rp_capture_read_opts {
    unsigned version;
    rp_capture_form form;
    const char *const *lists; /* lists to keep after merging, in order; NULL = all */
    size_t n_lists;
    const char *const *merges; /* merge specs "A+B", applied before `lists` */
    size_t n_merges;
    const char *const *by; /* stratum column names; their values label the strata */
    size_t n_by;
} rp_capture_read_opts;

#define RP_CAPTURE_READ_OPTS_VERSION 1
/* clang-format off */
#define RP_CAPTURE_READ_OPTS_INIT \
    {RP_CAPTURE_READ_OPTS_VERSION, RP_CAPTURE_FORM_AUTO, NULL, 0, NULL, 0, NULL, 0}

/* clang-format on */

/**
 * Capture histories read from one file: the pooled table and, with strata, one table per
 * stratum. All tables share the same lists.
 */
typedef struct rp_capture_set {
    rp_capture_table *total; /* all rows pooled; owned */
    size_t n_strata;         /* 0 when no stratum columns were given */
    rp_capture_table **strata;
    char **stratum_labels; /* "year=2013" or "year=2013,sex=F"; owned */
    rp_capture_form form;  /* the form that was read */
    size_t n_rows;         /* data rows read */
    char **notes;          /* informational notes (e.g. a repeated pattern was summed) */
    size_t n_notes;
} rp_capture_set;

/**
 * Read capture histories from a CSV file (RFC 4180, comma-separated, UTF-8 with or
 * without BOM, header row).
 *
 * @param[out] out   new set; free with rp_capture_set_free(); NULL on failure.
 * @param[in]  path  file to read.
 * @param[in]  opts  NULL for defaults.
 * @param[out] err   on failure err->path, line and column locate the problem.
 * @return RP_OK; RP_EIO (cannot read); RP_EPARSE (not UTF-8, binary, ragged row, bad
 *         quoting); RP_EDATA (missing or repeated `count`, value not 0/1, negative or
 *         non-integer count, all-zero pattern, fewer than 2 or more than 15 lists, no
 *         data rows); RP_EINVAL (bad options); RP_ENOMEM.
 */
RP_API int rp_capture_read_csv(rp_capture_set **out,
                               const char *path,
                               const rp_capture_read_opts *opts,
                               rp_error *err);

/** As rp_capture_read_csv() on an in-memory buffer; @p name labels error positions. */
RP_API int rp_capture_parse_csv(rp_capture_set **out,
                                const char *data,
                                size_t len,
                                const char *name,
                                const rp_capture_read_opts *opts,
                                rp_error *err);

/** Free @p set and everything it owns. NULL-safe. */
RP_API void rp_capture_set_free(rp_capture_set *set);

/* ==== log-linear models ==== */

/**
 * A hierarchical log-linear model: main effects for every list (always present) plus
 * interaction terms. Each term is a bit mask of two or more lists. Models built by the
 * library are closed (every subset of a term of size >= 2 is a term) and sorted by order,
 * then by mask; rp_mse_model_close() establishes both.
 */
typedef struct rp_mse_model {
    size_t n_terms;
    uint32_t terms[RP_MSE_MAX_TERMS];
} rp_mse_model;

/** Make @p model hierarchical (add all sub-terms) and canonical (sorted, unique).
 *  @return RP_OK; RP_EINVAL if the closure needs more than RP_MSE_MAX_TERMS terms. */
RP_API int rp_mse_model_close(rp_mse_model *model, rp_error *err);

/**
 * Parse a model formula against the lists of @p tab.
 *
 * Accepted forms: R style "LA*NG + PF*NCA" or "LA:NG, PF:NCA" (a term "A*B*C" or "A:B:C"
 * is the three-way term), the bracket notation of MultipleSystemsEstimation "[12,25]"
 * (list numbers 1-9 in column order; with ten or more lists the numbers of a term are
 * separated by dots, "[1.10,2.3]"), and "main", "main effects" or "" for main effects
 * only. The result is closed with rp_mse_model_close().
 *
 * @return RP_OK; RP_EPARSE (syntax, with err->column); RP_EINVAL (unknown list, a term of
 *         one list, the K-way term, too many terms).
 */
RP_API int
rp_mse_model_parse(rp_mse_model *out, const rp_capture_table *tab, const char *spec, rp_error *err);

/** Formatting styles for rp_mse_model_format(). */
typedef enum rp_mse_model_style {
    RP_MSE_STYLE_NAMES = 0, /* every interaction term: "LA:NG, PF:NCA"; "main effects" */
    RP_MSE_STYLE_BRACKETS   /* maximal terms with list numbers: "[123,14,34]"; "[]" */
} rp_mse_model_style;

/** Write @p model as text into @p buf (truncated to @p size). @return @p buf. */
RP_API const char *rp_mse_model_format(const rp_mse_model *model,
                                       const rp_capture_table *tab,
                                       rp_mse_model_style style,
                                       char *buf,
                                       size_t size);

/** Write one term as "LA:NG" into @p buf. @return @p buf. */
RP_API const char *
rp_mse_term_format(uint32_t term, const rp_capture_table *tab, char *buf, size_t size);

/* ==== fitting ==== */

/** Outcome of the existence and identifiability check. */
typedef enum rp_mse_existence {
    RP_MSE_EXISTS = 0,          /* the (extended) MLE exists and the dark figure is identified */
    RP_MSE_NO_MLE = 1,          /* LP optimum s* <= 0: the MLE does not exist */
    RP_MSE_NOT_IDENTIFIABLE = 2 /* design of the reduced table is rank deficient */
} rp_mse_existence;

/** Human-readable reason for an rp_mse_existence value. */
RP_API const char *rp_mse_existence_str(rp_mse_existence e);

/** Opaque scratch space for fits, checks and searches on tables of one size. */
typedef struct rp_mse_workspace rp_mse_workspace;

/**
 * Allocate scratch space for models on @p n_lists lists.
 * @return RP_OK; RP_EINVAL (n_lists out of range); RP_ENOMEM.
 * @note One workspace per thread; it holds the GLPK problem used by the existence check.
 */
RP_API int rp_mse_workspace_new(rp_mse_workspace **out, size_t n_lists, rp_error *err);

/** Free @p ws. NULL-safe. */
RP_API void rp_mse_workspace_free(rp_mse_workspace *ws);

/** Largest number of terms at minus infinity listed in an rp_mse_fit. */
#define RP_MSE_MAX_INFINITE 32

/** A fitted Poisson log-linear model. Units: people, unless said otherwise. */
typedef struct rp_mse_fit {
    double observed;    /* n, people on at least one list */
    double dark;        /* exp(intercept): fitted count of the unobserved cell */
    double estimate;    /* N = observed + dark */
    double log_dark_se; /* standard error of the intercept (log scale) */
    double deviance;    /* 2 sum y log(y/mu) - (y - mu) over observable cells */
    double loglik;      /* Poisson log-likelihood incl. -lgamma(y + 1) */
    double aic;         /* -2 loglik + 2 n_params */
    double bic;         /* -2 loglik + log(observed) n_params */
    size_t n_params;    /* intercept + main effects + terms, incl. those at -infinity */
    size_t n_cells;     /* observable cells kept in the fit (2^K - 1 less removed ones) */
    size_t df;          /* residual df as glm: n_cells - finite parameters */
    size_t n_infinite;  /* terms whose margin is 0: parameter at minus infinity */
    uint32_t infinite[RP_MSE_MAX_INFINITE]; /* the first of them */
    int iterations;                         /* IRLS iterations used */
} rp_mse_fit;

/**
 * Check that the maximum likelihood estimate of @p model on @p tab exists and that the
 * dark figure is identifiable.
 *
 * Terms with a zero margin (no person on all their lists) are at minus infinity: their
 * cells are removed, as SparseMSE does. On the reduced table with design A (rows: cells,
 * columns: parameters) and sufficient statistics t = A'y, the LP "maximise s subject to
 * A'x = t, x_w >= s" is solved with GLPK; the MLE exists iff s* > 0 (Fienberg & Rinaldo
 * 2012, as corrected by Chan, Silverman & Vincent 2021). Identifiability is full column
 * rank of A (rank-revealing QR, GSL).
 *
 * @param[out] out  the verdict.
 * @return RP_OK (whatever the verdict); RP_EINVAL; RP_EINTERNAL (LP solver failure).
 */
RP_API int rp_mse_check_existence(rp_mse_existence *out,
                                  const rp_capture_table *tab,
                                  const rp_mse_model *model,
                                  rp_mse_workspace *ws,
                                  rp_error *err);

/** Options for IRLS. Initialise with RP_MSE_FIT_OPTS_INIT. */
typedef struct rp_mse_fit_opts {
    unsigned version;
    double tol;   /* relative change of deviance that ends IRLS (as R glm's epsilon) */
    int max_iter; /* IRLS iteration cap */
} rp_mse_fit_opts;

/* clang-format off */
#define RP_MSE_FIT_OPTS_INIT {1, 1e-10, 100}
/* clang-format on */

/**
 * Fit @p model to @p tab by iteratively reweighted least squares (Cholesky of X'WX,
 * GSL), with terms at minus infinity handled as in rp_mse_check_existence(). Does not
 * itself run the existence check.
 *
 * @param[out] out   the fit; untouched on failure.
 * @param[in]  ws    workspace for tab->n_lists; may be NULL (one is made and freed).
 * @param[in]  opts  NULL for defaults.
 * @return RP_OK; RP_EINVAL (model does not match the table); RP_ENOCONV (not converged
 *         within opts->max_iter, typically when the MLE does not exist); RP_EDOM
 *         (singular X'WX: not identifiable); RP_ENOMEM.
 * @see    Bishop, Fienberg & Holland (1975) ch. 6; R glm(family = poisson).
 */
RP_API int rp_mse_fit_model(rp_mse_fit *out,
                            const rp_capture_table *tab,
                            const rp_mse_model *model,
                            const rp_mse_fit_opts *opts,
                            rp_mse_workspace *ws,
                            rp_error *err);

/* ==== estimation ==== */

/** How the model is chosen. */
typedef enum rp_mse_method {
    RP_MSE_METHOD_STEPWISE = 0, /* SparseMSE forward stepwise on two-list effects */
    RP_MSE_METHOD_BIC,          /* best BIC over all admissible hierarchical models */
    RP_MSE_METHOD_AIC,          /* best AIC over the same catalogue */
    RP_MSE_METHOD_AVERAGE,      /* BIC- or AIC-weight average over the catalogue */
    RP_MSE_METHOD_FIXED         /* the model in opts->model */
} rp_mse_method;

/** "stepwise", "bic", "aic", "average", "fixed". */
RP_API const char *rp_mse_method_str(rp_mse_method m);
/** Parse a method name. @return RP_OK or RP_EINVAL. */
RP_API int rp_mse_method_parse(rp_mse_method *out, const char *s, rp_error *err);

/** Information criterion for averaging. */
typedef enum rp_mse_criterion { RP_MSE_CRITERION_BIC = 0, RP_MSE_CRITERION_AIC } rp_mse_criterion;

/** Progress report: @p done of @p total units; return nonzero to cancel. */
typedef int (*rp_progress_fn)(size_t done, size_t total, void *payload);

/** Options for rp_mse_estimate(). Initialise with RP_MSE_OPTS_INIT. */
typedef struct rp_mse_opts {
    unsigned version;
    rp_mse_method method;
    rp_mse_criterion criterion; /* weights for RP_MSE_METHOD_AVERAGE */
    int max_order;              /* highest interaction order searched; 0 = catalogue default */
    double pthresh;             /* stepwise threshold on the one-sided Poisson p-value */
    double ci_level;            /* confidence level in (0,1) */
    const rp_mse_model *model;  /* for RP_MSE_METHOD_FIXED (borrowed) */
    bool profile;               /* also compute the profile-likelihood interval */
    size_t n_boot;              /* BCa bootstrap replicates; 0 = none */
    uint64_t seed;              /* bootstrap seed */
    size_t ntop;                /* searches: best models kept for the bootstrap; 0 = default */
    size_t n_runners_up;        /* runner-up models reported */
    size_t max_excluded;        /* excluded models listed (all are counted) */
    rp_mse_fit_opts fit;
    rp_progress_fn progress; /* called from the calling thread only */
    void *payload;
    size_t n_threads; /* bootstrap worker threads; 0 = one per online CPU. Results do not
                         depend on it: replicate b draws from its own stream (seed, b). */
} rp_mse_opts;

#define RP_MSE_OPTS_VERSION 1
/* clang-format off */
#define RP_MSE_OPTS_INIT                                                                     \
    {RP_MSE_OPTS_VERSION, RP_MSE_METHOD_STEPWISE, RP_MSE_CRITERION_BIC, 0, 0.02, 0.95, NULL, \
     true, 0, 1234, 0, 5, 20, RP_MSE_FIT_OPTS_INIT, NULL, NULL, 0}

/* clang-format on */

/** A model that was considered: fitted, or excluded with its reason. */
typedef struct rp_mse_candidate {
    rp_mse_model model;
    rp_mse_existence existence; /* RP_MSE_EXISTS for fitted models */
    rp_mse_fit fit;             /* valid when existence == RP_MSE_EXISTS */
    double criterion;           /* AIC or BIC as used for ranking; p-value for stepwise */
    double weight;              /* model-averaging weight, 0 if unused */
} rp_mse_candidate;

/** The outcome of an estimation on one capture table. */
typedef struct rp_mse_result {
    rp_mse_method method;
    rp_mse_model model; /* the chosen model (for averaging: the best-weighted one) */
    rp_mse_fit fit;     /* its fit */
    double estimate;    /* N: fit.estimate, or the weighted average */
    double estimate_se; /* SE of N: dark x SE(log dark) (delta method); for averages,
                           Buckland, Burnham & Augustin's (1997) unconditional SE */
    double ci_level;
    double ci_lower, ci_upper;           /* model-conditional normal interval on log dark
                                            (averages: log-normal from estimate_se) */
    double profile_lower, profile_upper; /* profile likelihood (Cormack 1992); NaN if off */
    double bca_lower, bca_upper;         /* BCa bootstrap; NaN if n_boot == 0 */
    double boot_median;                  /* median bootstrap estimate; NaN if none */
    size_t n_boot;
    double chapman, chapman_se; /* two lists only; NaN otherwise */
    double chao_lower_bound;    /* Chao (1987) lower bound from capture frequencies */
    size_t n_models;            /* models considered (fitted + excluded) */
    size_t n_excluded_total;    /* models refused by the existence check */
    rp_mse_candidate *ranked;   /* fitted models, best first (chosen model first) */
    size_t n_ranked;
    rp_mse_candidate *excluded; /* the first max_excluded refused models */
    size_t n_excluded;
    /*
     * The same data under the other selection rule, because model choice is the largest
     * uncertainty in MSE: the BIC search (up to 6 lists) when the method is stepwise, the
     * stepwise choice when the method is a search. has_alternative is false when not run.
     */
    bool has_alternative;
    rp_mse_method alternative_method;
    rp_mse_candidate alternative;
    char **notes; /* plain-language notes and warnings; owned */
    size_t n_notes;
} rp_mse_result;

/**
 * Estimate the total population from one capture table.
 *
 * @param[out] out  new result; free with rp_mse_result_free(); NULL on failure.
 * @param[in]  tab  capture table (borrowed).
 * @param[in]  opts NULL for defaults (stepwise, pthresh 0.02, 95%, profile interval).
 * @return RP_OK; RP_EINVAL (bad options, no people observed); RP_EDOM (no admissible
 *         model, or the fixed model fails the existence check: err->msg says why);
 *         RP_ENOCONV; RP_ECANCELED (progress callback); RP_ENOMEM.
 * @see    Chan, Silverman & Vincent (2021) JASA 116:1297; Silverman, Chan & Vincent
 *         (2024) Stat. Comput. 34:44; Cormack (1992) Biometrics 48:567.
 */
RP_API int rp_mse_estimate(rp_mse_result **out,
                           const rp_capture_table *tab,
                           const rp_mse_opts *opts,
                           rp_error *err);

/** Free @p res. NULL-safe. */
RP_API void rp_mse_result_free(rp_mse_result *res);

/**
 * Chapman's nearly unbiased two-list estimator and its standard error:
 * N = (n1 + 1)(n2 + 1)/(m + 1) - 1 (Chapman 1951; Seber 1982 eq. 3.7).
 * @return RP_OK; RP_EINVAL (negative counts, m > min(n1, n2)).
 */
RP_API int
rp_mse_chapman(double *n_out, double *se_out, double n1, double n2, double m, rp_error *err);

/**
 * Chao's (1987) lower bound for K lists, as Rcapture computes it:
 * n + (K - 1) f1^2 / (2 K f2), where f_k is the number of people on exactly k lists;
 * the bias-corrected n + (K - 1) f1 (f1 - 1) / (2 K (f2 + 1)) when f2 == 0.
 * @see Chao (1987) Biometrics 43:783; Rcapture closedp.bc.
 */
RP_API double rp_mse_chao_lower_bound(const rp_capture_table *tab);

/**
 * Sum of stratum estimates with an interval on the sum from each stratum's estimate_se
 * (strata independent), log-normal on the total dark figure.
 */
RP_API void rp_mse_strata_total(double *estimate,
                                double *lower,
                                double *upper,
                                const rp_mse_result *const *res,
                                size_t n,
                                double ci_level);

#ifdef __cplusplus
}
#endif

#endif
