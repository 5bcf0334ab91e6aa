/*
 * Private declarations of the MSE module: the workspace, the reduced design of a model
 * (cells and parameters left once terms at minus infinity are removed), the internal fit
 * used by the profile likelihood, and the model catalogue used by searches.
 */
#ifndef RP_MSE_INT_H
#define RP_MSE_INT_H

#include <rapporteur/mse.h>

#include <glpk.h>
#include <stdint.h>

/*
 * Numerical constants of the module. They are named here, with their reason, rather than
 * written as literals inside the algorithms.
 *
 * RP_MSE_LP_TOL: the existence LP is solved on counts scaled to a mean of 1 per cell; an
 * optimum s* at or below this is taken as 0 (the extended MLE does not exist). GLPK's
 * own primal feasibility tolerance is 1e-7 on the same scale, so anything smaller is noise.
 *
 * RP_MSE_RANK_TOL: a pivot of the pivoted Cholesky factor of the Gram matrix A'A
 * (integer entries, at most 2^K) below this fraction of the largest pivot counts as 0.
 */
#define RP_MSE_LP_TOL   1e-7
#define RP_MSE_RANK_TOL 1e-9

/*
 * Existence certificate from a converged fit (fit.c, certify): the relative correction
 * that makes the margins exact must stay below RP_MSE_CERT_MAX_CORR in every cell (in
 * exact arithmetic any value below 1 proves existence; 0.5 leaves a wide margin for
 * rounding in the solve), and no fitted cell may be below RP_MSE_CERT_MIN_MU times the
 * mean cell, which bounds the condition number of A'WA (about 1e9 times the largest
 * ratio of cells) so that the correction is computed to many digits. Borderline cases go
 * to the LP; tests/unit/test_mse.c checks that both agree on every catalogue model.
 */
#define RP_MSE_CERT_MIN_MU   1e-9
#define RP_MSE_CERT_MAX_CORR 0.5

/* Largest number of parameters: intercept + 15 main effects + RP_MSE_MAX_TERMS. */
#define RP_MSE_MAX_PARAMS (1 + RP_MSE_MAX_LISTS + RP_MSE_MAX_TERMS)

/*
 * The reduced design of one model on one table. Parameter j has mask pmask[j] (0 for
 * the intercept, one bit for a main effect, a term otherwise); cell c (pattern cells[c])
 * has a 1 in column j iff pmask[j] is a subset of cells[c]. For every cell, the indices
 * of its non-zero columns are stored contiguously: cols[cstart[c] .. cstart[c+1]), built
 * only when the LP needs them; fits use subset/superset sums over patterns instead.
 */
typedef struct rp_mse_design {
    size_t n_cells;
    size_t n_params;     /* active parameters (finite) */
    size_t n_params_all; /* including terms at minus infinity (for AIC/BIC) */
    size_t n_infinite;
    uint32_t infinite[RP_MSE_MAX_TERMS];
    uint32_t pmask[RP_MSE_MAX_PARAMS];
    uint32_t *cells; /* n_cells patterns */
    size_t *cstart;  /* n_cells + 1 */
    uint16_t *cols;  /* column indices, cstart[n_cells] of them */
    bool have_cols;  /* cstart/cols describe the current design (built lazily) */
} rp_mse_design;

/*
 * Existence verdicts depend only on the model and on which cells are zero (the support
 * of the table), not on the counts: the smallest face of the marginal cone containing
 * t = A'y is the one spanned by the positive cells (Fienberg & Rinaldo 2012, sec. 3).
 * For up to 6 lists both fit in 64-bit masks (bit w of `model` set when term w is in the
 * model, bit w of `support` when cell w is positive), so verdicts are cached exactly.
 * Bootstrap replicates share most supports, which saves most LPs.
 */
#define RP_MSE_EXIST_CACHE 4096 /* entries, a power of two */

typedef struct rp_mse_exist_entry {
    uint64_t model, support;
    int verdict; /* rp_mse_existence + 1; 0 = empty slot */
} rp_mse_exist_entry;

struct rp_mse_workspace {
    rp_mse_exist_entry *cache; /* RP_MSE_EXIST_CACHE entries, NULL when K > 6 */
    size_t n_lists;
    size_t n_all; /* 2^K */
    rp_mse_design d;
    size_t cols_cap;
    double *y, *mu, *eta, *z; /* per cell of the design, n_all each */
    double *ylogy;            /* y log y per cell (0 for y = 0) */
    double *w_last;           /* the weights (mu) of the last IRLS step */
    double *beta, *beta_old;  /* RP_MSE_MAX_PARAMS */
    double *xtwx;             /* RP_MSE_MAX_PARAMS^2 */
    double *rhs;
    bool certified;   /* the last converged IRLS fit certified that the MLE exists */
    bool use_mustart; /* start IRLS from the last fit's values (searches) */
    bool have_mustart;
    double *mustart;         /* n_all fitted values by pattern, from the last fit */
    double *full_a, *full_b; /* n_all scratch for the subset/superset transforms */
    size_t *perm;            /* RP_MSE_MAX_PARAMS, the rank test's pivots */
    glp_prob *lp;
    int *lp_ia, *lp_ja;
    double *lp_ar;
    size_t lp_cap;
};

/*
 * Build the reduced design of @p model on @p tab into ws->d. When @p with_zero is true
 * the unobserved cell (pattern 0) is included as a cell as well (profile likelihood).
 */
int rp_mse__design_build(rp_mse_workspace *ws,
                         const rp_capture_table *tab,
                         const rp_mse_model *model,
                         bool with_zero,
                         rp_error *err);

/*
 * Fit the design in ws->d to counts ws->y by IRLS. On entry, if @p warm is true,
 * ws->beta holds starting values. On success ws->beta, ws->mu hold the fit and
 * *loglik_kernel = sum y log mu - mu; *se0 (may be NULL) the intercept's standard error.
 */
int rp_mse__irls(rp_mse_workspace *ws,
                 const rp_mse_fit_opts *opts,
                 bool warm,
                 double *deviance,
                 double *se0,
                 int *iterations,
                 rp_error *err);

/* Set the count of cell c of the design (keeps y log y in step). */
void rp_mse__set_count(rp_mse_workspace *ws, size_t c, double y);

/* Fit the design in ws->d (counts ws->y) and summarise it as an rp_mse_fit. */
int rp_mse__fit_design(rp_mse_fit *out,
                       const rp_capture_table *tab,
                       const rp_mse_fit_opts *opts,
                       rp_mse_workspace *ws,
                       rp_error *err);

/*
 * Existence check and fit in one pass, for searches: rank test, IRLS, and the LP only
 * when the fit does not certify existence. On RP_OK, *fit is valid iff *verdict is
 * RP_MSE_EXISTS. Returns the fit's error (RP_ENOCONV, RP_EDOM) when the MLE exists but
 * IRLS failed. Verdicts are cached as rp_mse_check_existence() caches them.
 */
int rp_mse__check_fit(rp_mse_existence *verdict,
                      rp_mse_fit *fit,
                      const rp_capture_table *tab,
                      const rp_mse_model *model,
                      const rp_mse_fit_opts *opts,
                      rp_mse_workspace *ws,
                      rp_error *err);

/* Existence verdict for the design currently in ws->d with counts ws->y. */
int rp_mse__existence_of_design(rp_mse_existence *out, rp_mse_workspace *ws, rp_error *err);

/* Sum of tab cells containing every list of @p term (the term's margin). */
double rp_mse__margin(const rp_capture_table *tab, uint32_t term);

/*
 * Most models a catalogue may hold: twice the 32,768 two-way models of 6 lists, about
 * 68 MB. Six lists with three-way terms would need hundreds of millions.
 */
#define RP_MSE_MAX_CATALOGUE 65536

/* A growable list of models (the catalogue of a search). */
typedef struct rp_mse_model_list {
    rp_mse_model *v;
    size_t n, cap;
} rp_mse_model_list;

/* All hierarchical models on n_lists lists with terms of order 2..max_order. */
int rp_mse__catalogue(rp_mse_model_list *out, size_t n_lists, int max_order, rp_error *err);
void rp_mse__model_list_release(rp_mse_model_list *l);

/* Default highest order of the catalogue for K lists (MultipleSystemsEstimation). */
int rp_mse__default_max_order(size_t n_lists);

/*
 * Model selection as a bootstrap replicate runs it: @p selp is the selector of
 * estimate.c (searches restricted to the ntop best models). *estimate is N.
 */
int rp_mse__select(double *estimate, void *selp, const rp_capture_table *tab, rp_error *err);

/*
 * A copy of selector @p selp for another thread: shares the options and the catalogue
 * (read-only), owns a new workspace and scratch. Free with rp_mse__selector_free().
 */
int rp_mse__selector_clone(void **out, const void *selp, size_t n_lists, rp_error *err);
void rp_mse__selector_free(void *clone);

/* The BCa bootstrap of res->estimate (bootstrap.c); fills res->bca_*, boot_median, notes. */
int rp_mse__bootstrap(rp_mse_result *res, void *selp, const rp_capture_table *tab, rp_error *err);

/* Profile-likelihood interval for N under @p model (interval.c); *n_max is its maximiser. */
int rp_mse__profile_interval(double *lower,
                             double *upper,
                             double *n_max,
                             const rp_capture_table *tab,
                             const rp_mse_model *model,
                             double ci_level,
                             const rp_mse_fit_opts *fopts,
                             rp_mse_workspace *ws,
                             rp_error *err);

/* Append a printf-formatted note to res->notes. RP_OK or RP_ENOMEM. */
int rp_mse__note(rp_mse_result *res, rp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Number of set bits. */
static inline int rp_mse__popcount(uint32_t x)
{
    return __builtin_popcount(x);
}

#endif
