/*
 * Capture-history simulation with known truth (include/rapporteur/sim.h): exact cell
 * probabilities of a log-linear scenario (a mixture over latent classes), and draws of
 * the full 2^K table of a population of N people by multinomial sampling.
 */
#include "common/common_int.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>
#include <rapporteur/sim.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdint.h>

/* Check everything but N; n_cells is the length the caller's array must have. */
static int check_scenario(const rp_sim_capture_scenario *sc, size_t n_cells, rp_error *err)
{
    if (sc == NULL) {
        return rp_error_set(err, RP_EINVAL, "no scenario given");
    }
    if (sc->version != RP_SIM_CAPTURE_SCENARIO_VERSION) {
        return rp_error_set(err, RP_EINVAL, "scenario version %u is not %d", sc->version,
                            RP_SIM_CAPTURE_SCENARIO_VERSION);
    }
    if (sc->n_lists < 2 || sc->n_lists > RP_MSE_MAX_LISTS) {
        return rp_error_set(err, RP_EINVAL, "a scenario needs 2 to %d lists, not %zu",
                            RP_MSE_MAX_LISTS, sc->n_lists);
    }
    size_t need = (size_t)1 << sc->n_lists;
    if (n_cells < need) {
        return rp_error_set(err, RP_EINVAL, "%zu lists need %zu cells, not %zu", sc->n_lists, need,
                            n_cells);
    }
    for (size_t i = 0; i < sc->n_lists; i++) {
        if (!(sc->p[i] > 0.0 && sc->p[i] < 1.0)) {
            return rp_error_set(err, RP_EINVAL,
                                "capture probability of list %zu is %g, not in (0,1)", i + 1,
                                sc->p[i]);
        }
    }
    if (sc->n_terms > RP_SIM_MAX_TERMS) {
        return rp_error_set(err, RP_EINVAL, "%zu interaction terms, at most %d", sc->n_terms,
                            RP_SIM_MAX_TERMS);
    }
    for (size_t t = 0; t < sc->n_terms; t++) {
        uint32_t m = sc->terms[t].lists;
        if ((m >> sc->n_lists) != 0 || (m & (m - 1)) == 0) {
            return rp_error_set(err, RP_EINVAL,
                                "interaction term %zu (mask %#x) does not name two or more "
                                "of the %zu lists",
                                t + 1, (unsigned)m, sc->n_lists);
        }
        if (!isfinite(sc->terms[t].lambda)) {
            return rp_error_set(err, RP_EINVAL, "interaction term %zu is not finite", t + 1);
        }
    }
    if (sc->n_classes > RP_SIM_MAX_CLASSES) {
        return rp_error_set(err, RP_EINVAL, "%zu latent classes, at most %d", sc->n_classes,
                            RP_SIM_MAX_CLASSES);
    }
    if (sc->n_classes > 1) {
        double sum = 0.0;
        for (size_t c = 0; c < sc->n_classes; c++) {
            if (!(sc->share[c] >= 0.0) || !isfinite(sc->shift[c])) {
                return rp_error_set(err, RP_EINVAL,
                                    "class %zu has a negative share or a non-finite shift", c + 1);
            }
            sum += sc->share[c];
        }
        if (fabs(sum - 1.0) > 1e-9) {
            return rp_error_set(err, RP_EINVAL, "class shares sum to %g, not 1", sum);
        }
    }
    return RP_OK;
}

/*
 * Cell probabilities of one class: log weights, then normalised with the largest
 * subtracted first (log-sum-exp), so large coefficients cannot overflow.
 */
static void class_probs(double *prob, const rp_sim_capture_scenario *sc, double shift)
{
    size_t n_cells = (size_t)1 << sc->n_lists;
    double top = -HUGE_VAL;
    for (size_t w = 0; w < n_cells; w++) {
        double lw = 0.0;
        for (size_t i = 0; i < sc->n_lists; i++) {
            if (((w >> i) & 1U) != 0) {
                lw += log(sc->p[i] / (1.0 - sc->p[i])) + shift;
            }
        }
        for (size_t t = 0; t < sc->n_terms; t++) {
            if ((w & sc->terms[t].lists) == sc->terms[t].lists) {
                lw += sc->terms[t].lambda;
            }
        }
        prob[w] = lw;
        if (lw > top) {
            top = lw;
        }
    }
    double sum = 0.0;
    for (size_t w = 0; w < n_cells; w++) {
        prob[w] = exp(prob[w] - top);
        sum += prob[w];
    }
    for (size_t w = 0; w < n_cells; w++) {
        prob[w] /= sum;
    }
}

static size_t n_classes_of(const rp_sim_capture_scenario *sc)
{
    return sc->n_classes > 1 ? sc->n_classes : 1;
}

int rp_sim_capture_probs(double *prob,
                         size_t n_cells,
                         const rp_sim_capture_scenario *sc,
                         rp_error *err)
{
    if (prob == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output array given");
    }
    int rc = check_scenario(sc, n_cells, err);
    if (rc != RP_OK) {
        return rc;
    }
    size_t cells = (size_t)1 << sc->n_lists;
    if (n_classes_of(sc) == 1) {
        class_probs(prob, sc, 0.0);
        return RP_OK;
    }
    /* the mixture needs one scratch row; the caller's array holds the running sum */
    double *row = rp_malloc(cells * sizeof(*row));
    if (row == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    for (size_t w = 0; w < cells; w++) {
        prob[w] = 0.0;
    }
    for (size_t c = 0; c < sc->n_classes; c++) {
        class_probs(row, sc, sc->shift[c]);
        for (size_t w = 0; w < cells; w++) {
            prob[w] += sc->share[c] * row[w];
        }
    }
    rp_free(row);
    return RP_OK;
}

int rp_sim_capture_cells(
    double *counts, size_t n_cells, const rp_sim_capture_scenario *sc, uint64_t seed, rp_error *err)
{
    int rc = RP_OK;
    double *prob = NULL;
    unsigned int *draw = NULL;
    gsl_rng *rng = NULL;

    if (counts == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output array given");
    }
    rc = check_scenario(sc, n_cells, err);
    if (rc != RP_OK) {
        return rc;
    }
    if (sc->n == 0 || sc->n > UINT32_MAX) {
        return rp_error_set(err, RP_EINVAL, "population size %llu is not in 1..%lu",
                            (unsigned long long)sc->n, (unsigned long)UINT32_MAX);
    }
    size_t cells = (size_t)1 << sc->n_lists;
    size_t n_classes = n_classes_of(sc);
    prob = rp_malloc(cells * sizeof(*prob));
    draw = rp_malloc(cells * sizeof(*draw));
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (prob == NULL || draw == NULL || rng == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    /* MT19937 takes a 32-bit seed: fold the high half in so every bit matters */
    gsl_rng_set(rng, (unsigned long)((seed ^ (seed >> 32)) & 0xffffffffULL));

    unsigned int class_n[RP_SIM_MAX_CLASSES] = {0};
    if (n_classes == 1) {
        class_n[0] = (unsigned int)sc->n;
    } else {
        gsl_ran_multinomial(rng, n_classes, (unsigned int)sc->n, sc->share, class_n);
    }
    for (size_t w = 0; w < cells; w++) {
        counts[w] = 0.0;
    }
    for (size_t c = 0; c < n_classes; c++) {
        if (class_n[c] == 0) {
            continue;
        }
        class_probs(prob, sc, n_classes == 1 ? 0.0 : sc->shift[c]);
        gsl_ran_multinomial(rng, cells, class_n[c], prob, draw);
        for (size_t w = 0; w < cells; w++) {
            counts[w] += (double)draw[w];
        }
    }

out:
    gsl_rng_free(rng);
    rp_free(draw);
    rp_free(prob);
    return rc;
}

int rp_sim_capture(rp_capture_table **out,
                   const rp_sim_capture_scenario *sc,
                   uint64_t seed,
                   rp_error *err)
{
    int rc = RP_OK;
    rp_capture_table *tab = NULL;
    char default_names[RP_MSE_MAX_LISTS][24]; /* "L" and a size_t */
    const char *name_ptrs[RP_MSE_MAX_LISTS];

    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output table given");
    }
    *out = NULL;
    rc = check_scenario(sc, (size_t)1 << RP_MSE_MAX_LISTS, err);
    if (rc != RP_OK) {
        return rc;
    }
    const char *const *names = sc->names;
    if (names == NULL) {
        for (size_t i = 0; i < sc->n_lists; i++) {
            snprintf(default_names[i], sizeof(default_names[i]), "L%zu", i + 1);
            name_ptrs[i] = default_names[i];
        }
        names = name_ptrs;
    }
    rc = rp_capture_table_new(&tab, sc->n_lists, names, err);
    if (rc != RP_OK) {
        goto out;
    }
    rc = rp_sim_capture_cells(tab->counts, (size_t)1 << sc->n_lists, sc, seed, err);
    if (rc != RP_OK) {
        goto out;
    }
    tab->counts[0] = 0.0;
    *out = tab;
    tab = NULL;

out:
    rp_capture_table_free(tab);
    return rc;
}
