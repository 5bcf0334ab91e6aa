/*
 * rapporteur: simulation with known truth. Capture histories of a population of known
 * size N across K lists, drawn from a log-linear model (optionally a mixture of latent
 * classes), for coverage studies of the MSE estimators and for tests.
 */
#ifndef RAPPORTEUR_SIM_H
#define RAPPORTEUR_SIM_H

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most interaction terms one capture scenario may hold. */
#define RP_SIM_MAX_TERMS 64
/** Most latent classes of person heterogeneity. */
#define RP_SIM_MAX_CLASSES 8

/** One log-linear interaction term of a capture scenario. */
typedef struct rp_sim_term {
    uint32_t lists; /* bit mask of two or more lists (list 0 is the lowest bit) */
    double lambda;  /* log-linear coefficient; for a two-list term of a model with no
                       other term on those lists, the log of their conditional odds ratio */
} rp_sim_term;

/**
 * A capture scenario with known truth.
 *
 * Cell model. Person class c (c = 0 when there is no heterogeneity) has capture history
 * w (2^K cells, cell 0 = on no list) with probability proportional to
 *
 *     exp( sum_{i in w} (logit(p[i]) + shift[c])  +  sum_{terms t subset of w} lambda_t ).
 *
 * Within a class this is exactly the Poisson/multinomial log-linear model of the MSE
 * estimators (rp_mse_fit_model()) with main effects logit(p[i]) + shift[c] and the
 * given interaction terms, applied to all 2^K cells including the unobserved one. With
 * no terms the lists are independent and p[i] is the probability of being on list i;
 * with terms, p[i] is the probability of being on list i for someone on no other list
 * (logit(p[i]) is then a conditional log-odds, as a log-linear main effect is). With
 * one class the scenario lies in the log-linear model family whose terms are those
 * given (and their sub-terms); several classes with different shifts give a
 * heterogeneous population (a mixture) that no log-linear model of the observed
 * table represents exactly, for misspecification studies.
 *
 * Initialise with RP_SIM_CAPTURE_SCENARIO_INIT and fill n, n_lists, p (and terms,
 * classes as wanted).
 */
typedef struct rp_sim_capture_scenario {
    unsigned version;
    uint64_t n;                 /* N, true population (people), 1..UINT32_MAX */
    size_t n_lists;             /* K, 2..RP_MSE_MAX_LISTS */
    double p[RP_MSE_MAX_LISTS]; /* base capture probability of each list, in (0,1) */
    const char *const *names;   /* K list names; NULL for "L1", "L2", ... */
    size_t n_terms;             /* interaction terms in use */
    rp_sim_term terms[RP_SIM_MAX_TERMS];
    size_t n_classes;                 /* latent classes; 0 or 1 = homogeneous */
    double share[RP_SIM_MAX_CLASSES]; /* share of the population in each class, sum 1 */
    double shift[RP_SIM_MAX_CLASSES]; /* added to every list's logit in that class */
} rp_sim_capture_scenario;

#define RP_SIM_CAPTURE_SCENARIO_VERSION 1
/* clang-format off */
#define RP_SIM_CAPTURE_SCENARIO_INIT {RP_SIM_CAPTURE_SCENARIO_VERSION, 0, 0, {0}, NULL, 0, \
                                      {{0, 0.0}}, 0, {0}, {0}}

/* clang-format on */

/**
 * Exact cell probabilities of a scenario: the mixture over classes of the log-linear
 * cell distributions described at rp_sim_capture_scenario.
 *
 * @param[out] prob     2^K probabilities (cell 0 = on no list), summing to 1.
 * @param[in]  n_cells  length of @p prob, at least 2^K.
 * @param[in]  sc       the scenario (its n is not used).
 * @param[out] err      details on failure; may be NULL.
 * @return RP_OK; RP_EINVAL (K out of range, p not in (0,1), bad term, bad classes,
 *         @p n_cells too small).
 */
RP_API int rp_sim_capture_probs(double *prob,
                                size_t n_cells,
                                const rp_sim_capture_scenario *sc,
                                rp_error *err);

/**
 * Draw the full 2^K table of a population of sc->n people, cell 0 (the dark figure)
 * included: class sizes are one multinomial draw over the shares, and each class's
 * people one multinomial draw over its cells (GSL gsl_ran_multinomial). The counts sum
 * to sc->n exactly.
 *
 * @param[out] counts   2^K cell counts (people).
 * @param[in]  n_cells  length of @p counts, at least 2^K.
 * @param[in]  seed     seed of the GSL MT19937 generator made for this call (its two
 *                      32-bit halves are folded together); same seed, same table.
 * @return RP_OK; RP_EINVAL (as rp_sim_capture_probs(), or N = 0 or over UINT32_MAX);
 *         RP_ENOMEM.
 * @note   No global state: thread-safe. Deterministic for a given seed and GSL version.
 */
RP_API int rp_sim_capture_cells(double *counts,
                                size_t n_cells,
                                const rp_sim_capture_scenario *sc,
                                uint64_t seed,
                                rp_error *err);

/**
 * Simulate the observed capture table of a scenario: rp_sim_capture_cells() with cell 0
 * (people on no list, the dark figure) set to 0, so the true dark figure is sc->n minus
 * rp_capture_table_observed().
 *
 * @param[out] out   new table; free with rp_capture_table_free(); NULL on failure.
 * @param[in]  sc    the scenario (borrowed).
 * @param[in]  seed  as rp_sim_capture_cells().
 * @param[out] err   details on failure; may be NULL.
 * @return RP_OK; RP_EINVAL (as rp_sim_capture_cells(), bad list names); RP_ENOMEM.
 * @see    Bishop, Fienberg & Holland (1975) ch. 6 (log-linear models of incomplete
 *         tables); Chan, Silverman & Vincent (2021) JASA 116:1297 (simulation design).
 * @test   tests/unit/test_sim.c: sim_capture__same_seed_same_table
 */
RP_API int rp_sim_capture(rp_capture_table **out,
                          const rp_sim_capture_scenario *sc,
                          uint64_t seed,
                          rp_error *err);

/* ==== scenarios: a population, its agencies' lists and their files ==== */

/** A scenario of `rapporteur simulate` (opaque); schema in docs/scenarios.md. */
typedef struct rp_sim_scenario rp_sim_scenario;

/**
 * Load a scenario file (JSON), filling every default.
 * @param[out] out   new scenario; free with rp_sim_scenario_free(); NULL on failure.
 * @return RP_OK; RP_EIO (cannot read @p path); RP_EPARSE (not JSON: line and column);
 *         RP_EINVAL (schema: the JSON path and what was expected); RP_ENOMEM.
 */
RP_API int rp_sim_scenario_load(rp_sim_scenario **out, const char *path, rp_error *err);

/** Free a scenario (NULL is fine). */
RP_API void rp_sim_scenario_free(rp_sim_scenario *sc);

/** Options of rp_sim_run(). Initialise with RP_SIM_RUN_OPTS_INIT. */
typedef struct rp_sim_run_opts {
    unsigned version;
    const char *names_dir; /* folder of <locale>.csv name lists (data/names) */
    const char *out_dir;   /* output folder: must not exist or be empty */
    uint64_t seed;         /* used when seed_set; else the scenario's seed */
    bool seed_set;
    void (*progress)(void *ctx, double fraction); /* may be NULL */
    void *progress_ctx;
} rp_sim_run_opts;

#define RP_SIM_RUN_OPTS_VERSION 1
/* clang-format off */
#define RP_SIM_RUN_OPTS_INIT {RP_SIM_RUN_OPTS_VERSION, NULL, NULL, 0, false, NULL, NULL}
/* clang-format on */

/**
 * Simulate a scenario: draw the population, each person's capture history from the
 * lists' capture model (person effects and list dependence), the agency records with
 * within-list duplicates and recording errors, and write into opts->out_dir:
 *   <LIST>.csv            one file per agency, in its layout and codes;
 *   <LIST>.mapping.json   the mapping file that imports it (docs/data-standard.md);
 *   truth.csv             list, case_id, person_id and the errors made in each record;
 *   persons.csv           every person of the population with true attributes and
 *                         capture history (simulated people: no real data);
 *   captures.csv          the true capture histories in `rapporteur estimate`'s format;
 *   scenario.json         the resolved scenario with the seed used;
 *   summary.json          configured against realised rates.
 * Files are written in a staging folder next to out_dir and moved into place at the
 * end: on failure nothing is left.
 *
 * @param[out] summary_json  the summary (as summary.json) when not NULL; rp_free it.
 * @return RP_OK; RP_EINVAL (bad options, out_dir not empty); RP_EIO; RP_EPARSE (names);
 *         RP_ENOMEM.
 * @note   Same scenario, seed and name lists: byte-identical files.
 */
RP_API int rp_sim_run(const rp_sim_scenario *sc,
                      const rp_sim_run_opts *opts,
                      char **summary_json,
                      rp_error *err);

#ifdef __cplusplus
}
#endif

#endif
