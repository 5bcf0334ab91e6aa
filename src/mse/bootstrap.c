/*
 * The BCa bootstrap with model selection redone in every replicate (Silverman, Chan &
 * Vincent 2024; SparseMSE estimatepopulation; MultipleSystemsEstimation bootstrapcal):
 * multinomial resampling of the observed cells, a delete-one jackknife over distinct
 * patterns for the acceleration, and type-8 quantiles. Replicates run on worker threads;
 * replicate b draws from its own generator seeded from (seed, b), so the result does not
 * depend on the number of threads.
 */
#include "common/common_int.h"
#include "mse/mse_int.h"

#include <glpk.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

/* Largest number of worker threads (more gain nothing on the tables MSE sees). */
#define RP_MSE_BOOT_MAX_THREADS 64

/* Options of the selector (its first member is the opts pointer). */
static const rp_mse_opts *opts_of(const void *selp)
{
    return *(const rp_mse_opts *const *)selp;
}

/* R's quantile(type = 8) of sorted x[0..n-1]: median-unbiased (Hyndman & Fan 1996). */
static double quantile8(const double *x, size_t n, double p)
{
    double h = ((double)n + 1.0 / 3.0) * p + 1.0 / 3.0;
    double fl = floor(h);
    if (fl < 1.0)
        return x[0];
    if (fl >= (double)n)
        return x[n - 1];
    size_t j = (size_t)fl;
    return x[j - 1] + (h - fl) * (x[j] - x[j - 1]);
}

/* splitmix64: the seed of replicate b's generator, from the user's seed. */
static unsigned long replicate_seed(uint64_t seed, uint64_t b)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (b + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (unsigned long)(z ^ (z >> 31));
}

/* Work shared by the threads: units 0..B-1 are replicates, B.. are jackknife cells. */
typedef struct boot_shared {
    const rp_capture_table *tab;
    const void *selp;
    size_t B;
    size_t n_cells;
    const size_t *jcells; /* observed cells with a positive count (jackknife units) */
    size_t n_jack;
    double *reps; /* B estimates, NaN when the replicate had no admissible model */
    double *jack; /* n_jack estimates, NaN likewise */
    atomic_size_t next;
    atomic_size_t done;
    atomic_int stop; /* set on failure or cancellation */
} boot_shared;

/* One thread's state (small members last, to keep padding down). */
typedef struct boot_worker {
    boot_shared *sh;
    void *sel; /* own selector (clone); NULL for the calling thread's original */
    rp_error err;
    pthread_t thread;
    int rc;
    bool started;
} boot_worker;

static int run_unit(boot_worker *w,
                    void *sel,
                    rp_capture_table *rep,
                    unsigned int *draw,
                    const double *prob,
                    gsl_rng *rng,
                    size_t u)
{
    boot_shared *sh = w->sh;
    size_t n_all = (size_t)1 << sh->tab->n_lists;
    double *slot = NULL;
    if (u < sh->B) {
        gsl_rng_set(rng, replicate_seed(opts_of(sh->selp)->seed, u));
        double n = rp_capture_table_observed(sh->tab);
        gsl_ran_multinomial(rng, sh->n_cells, (unsigned int)n, prob, draw);
        for (size_t c = 0; c < sh->n_cells; c++)
            rep->counts[c + 1] = (double)draw[c];
        slot = &sh->reps[u];
    } else {
        size_t j = u - sh->B;
        memcpy(rep->counts, sh->tab->counts, n_all * sizeof(double));
        rep->counts[sh->jcells[j] + 1] -= 1.0;
        slot = &sh->jack[j];
    }
    double est = NAN;
    rp_error uerr = RP_ERROR_INIT;
    int rc = rp_mse__select(&est, sel, rep, &uerr);
    if (rc == RP_ENOMEM || rc == RP_ECANCELED || rc == RP_EINTERNAL) {
        w->err = uerr;
        return rc;
    }
    *slot = (rc == RP_OK && isfinite(est)) ? est : NAN;
    return RP_OK;
}

static void *worker_main(void *vp)
{
    boot_worker *w = vp;
    boot_shared *sh = w->sh;
    void *sel = w->sel ? w->sel : (void *)sh->selp;
    rp_capture_table *rep = rp_capture_table_dup(sh->tab);
    unsigned int *draw = rp_calloc(sh->n_cells, sizeof(unsigned int));
    double *prob = rp_calloc(sh->n_cells, sizeof(double));
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (w->sel)
        glp_term_out(GLP_OFF); /* GLPK's settings are per thread */
    if (!rep || !draw || !prob || !rng) {
        w->rc = rp_error_set(&w->err, RP_ENOMEM, "out of memory for the bootstrap");
        atomic_store(&sh->stop, 1);
        goto out;
    }
    for (size_t c = 0; c < sh->n_cells; c++)
        prob[c] = sh->tab->counts[c + 1];
    size_t total = sh->B + sh->n_jack;
    const rp_mse_opts *o = opts_of(sh->selp);
    for (;;) {
        if (atomic_load(&sh->stop))
            break;
        size_t u = atomic_fetch_add(&sh->next, 1);
        if (u >= total)
            break;
        int rc = run_unit(w, sel, rep, draw, prob, rng, u);
        if (rc != RP_OK) {
            w->rc = rc;
            atomic_store(&sh->stop, 1);
            break;
        }
        size_t d = atomic_fetch_add(&sh->done, 1) + 1;
        /* only the calling thread reports progress (callbacks need not be thread-safe) */
        if (!w->sel && o->progress && o->progress(d, total, o->payload) != 0) {
            w->rc = rp_error_set(&w->err, RP_ECANCELED, "bootstrap cancelled");
            atomic_store(&sh->stop, 1);
            break;
        }
    }
out:
    gsl_rng_free(rng);
    rp_capture_table_free(rep);
    rp_free(draw);
    rp_free(prob);
    if (w->sel) {
        rp_mse__selector_free(w->sel);
        w->sel = NULL;
        glp_free_env(); /* the thread's GLPK environment, now unused */
    }
    return NULL;
}

static size_t thread_count(const rp_mse_opts *o, size_t units)
{
    size_t t = o->n_threads;
    if (t == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        t = n > 0 ? (size_t)n : 1;
    }
    if (t > RP_MSE_BOOT_MAX_THREADS)
        t = RP_MSE_BOOT_MAX_THREADS;
    if (t > units)
        t = units;
    return t ? t : 1;
}

/* Run every unit on n threads: the calling thread is worker 0 with the original selector. */
static int run_all(boot_shared *sh, size_t n, rp_error *err)
{
    boot_worker workers[RP_MSE_BOOT_MAX_THREADS];
    memset(workers, 0, sizeof(workers));
    int rc = RP_OK;
    for (size_t i = 0; i < n; i++) {
        workers[i].sh = sh;
        workers[i].err = (rp_error)RP_ERROR_INIT;
    }
    for (size_t i = 1; i < n; i++) {
        rc = rp_mse__selector_clone(&workers[i].sel, sh->selp, sh->tab->n_lists, err);
        if (rc != RP_OK)
            break;
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            rp_mse__selector_free(workers[i].sel);
            workers[i].sel = NULL;
            break; /* fewer threads: the others take up the work */
        }
        workers[i].started = true;
    }
    if (rc != RP_OK)
        atomic_store(&sh->stop, 1);
    else
        worker_main(&workers[0]);
    for (size_t i = 1; i < n; i++) {
        if (workers[i].started)
            pthread_join(workers[i].thread, NULL);
        else
            rp_mse__selector_free(workers[i].sel);
    }
    if (rc != RP_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if (workers[i].rc != RP_OK) {
            if (err)
                *err = workers[i].err;
            return workers[i].rc;
        }
    }
    return RP_OK;
}

int rp_mse__bootstrap(rp_mse_result *res, void *selp, const rp_capture_table *tab, rp_error *err)
{
    const rp_mse_opts *o = opts_of(selp);
    size_t B = o->n_boot;
    size_t n_cells = ((size_t)1 << tab->n_lists) - 1;
    int rc = RP_OK;
    boot_shared sh;
    memset(&sh, 0, sizeof(sh));
    size_t *jcells = rp_calloc(n_cells, sizeof(size_t));
    double *reps = rp_calloc(B, sizeof(double));
    double *jack = rp_calloc(n_cells, sizeof(double));
    double *w = rp_calloc(n_cells, sizeof(double));
    if (!jcells || !reps || !jack || !w) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory for the bootstrap");
        goto out;
    }
    size_t n_jack = 0;
    for (size_t c = 0; c < n_cells; c++) {
        if (tab->counts[c + 1] > 0.0) {
            w[n_jack] = tab->counts[c + 1];
            jcells[n_jack++] = c;
        }
    }
    sh.tab = tab;
    sh.selp = selp;
    sh.B = B;
    sh.n_cells = n_cells;
    sh.jcells = jcells;
    sh.n_jack = n_jack;
    sh.reps = reps;
    sh.jack = jack;
    atomic_init(&sh.next, 0);
    atomic_init(&sh.done, 0);
    atomic_init(&sh.stop, 0);
    rc = run_all(&sh, thread_count(o, B + n_jack), err);
    if (rc != RP_OK)
        goto out;

    size_t kept = 0;
    for (size_t b = 0; b < B; b++) {
        if (!isnan(reps[b]))
            reps[kept++] = reps[b];
    }
    size_t failed = B - kept;
    if (kept < 2) {
        rc = rp_error_set(err, RP_EDOM,
                          "bootstrap: fewer than 2 replicates had an admissible model");
        goto out;
    }
    /* acceleration: a = sum c d^3 / (6 (sum c d^2)^(3/2)), d = weighted mean - jack */
    size_t jfail = 0;
    double a = 0.0;
    {
        double sw = 0.0, swj = 0.0;
        for (size_t j = 0; j < n_jack; j++) {
            if (isnan(jack[j])) {
                jfail++;
                continue;
            }
            sw += w[j];
            swj += w[j] * jack[j];
        }
        double mean = sw > 0.0 ? swj / sw : 0.0;
        double s2 = 0.0, s3 = 0.0;
        for (size_t j = 0; j < n_jack; j++) {
            if (isnan(jack[j]))
                continue;
            double d = mean - jack[j];
            s2 += w[j] * d * d;
            s3 += w[j] * d * d * d;
        }
        a = s2 > 0.0 ? s3 / (6.0 * pow(s2, 1.5)) : 0.0;
    }
    /* bias: z0 = Phi^-1(share of replicates strictly below the estimate) */
    size_t below = 0;
    for (size_t b = 0; b < kept; b++)
        below += reps[b] < res->estimate;
    double share = (double)below / (double)kept;
    gsl_sort(reps, 1, kept);
    double alpha = 0.5 * (1.0 - o->ci_level);
    if (share <= 0.0 || share >= 1.0) {
        /* every replicate on one side: BCa is undefined; report the percentile interval */
        res->bca_lower = quantile8(reps, kept, alpha);
        res->bca_upper = quantile8(reps, kept, 1.0 - alpha);
        rc = rp_mse__note(res, err,
                          "bootstrap: every replicate lies on one side of the estimate, so the "
                          "BCa bias correction is infinite; the interval shown is the plain "
                          "percentile interval");
        if (rc != RP_OK)
            goto out;
    } else {
        double z0 = gsl_cdf_ugaussian_Pinv(share);
        double zl = z0 + gsl_cdf_ugaussian_Pinv(alpha);
        double zu = z0 + gsl_cdf_ugaussian_Pinv(1.0 - alpha);
        double ql = gsl_cdf_ugaussian_P(z0 + zl / (1.0 - a * zl));
        double qu = gsl_cdf_ugaussian_P(z0 + zu / (1.0 - a * zu));
        res->bca_lower = quantile8(reps, kept, ql);
        res->bca_upper = quantile8(reps, kept, qu);
    }
    res->boot_median = quantile8(reps, kept, 0.5);
    res->n_boot = kept;
    if (failed > 0 || jfail > 0) {
        rc = rp_mse__note(res, err,
                          "bootstrap: %zu of %zu replicates and %zu of %zu jackknife fits had "
                          "no admissible model and were left out",
                          failed, B, jfail, n_jack);
        if (rc != RP_OK)
            goto out;
    }
out:
    rp_free(jcells);
    rp_free(reps);
    rp_free(jack);
    rp_free(w);
    return rc;
}
