/*
 * EM for the Fellegi–Sunter model on a table of comparison patterns (fastLink's trick,
 * Enamorado, Fifield & Imai 2019): the pairs enter only through the count of each
 * distinct pattern, so an iteration costs O(patterns x comparisons) whatever the number
 * of pairs. A null level (a value missing on either side) contributes a factor 1 under
 * both classes, which is the missing-at-random treatment of fastLink.
 *
 * The E-step works with log likelihoods so that products of many small m and u do not
 * underflow. The M-step adds the Beta prior of lambda as pseudo-pairs (a matches and b
 * non-matches) and keeps every probability at least prob_floor. Degenerate fits are
 * never hidden: the caller gets a warning bit for m <= u on an exact level, a match rate
 * that collapses to "no match" or "nearly all match", non-convergence, and too few pairs.
 */
#include "link/fs_int.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/fs.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/common_int.h"
/* clang-format on */

/* Pairs per free parameter below which the fit is reported as unreliable. */
#define MIN_PAIRS_PER_PARAM 10.0

static int check_input(const rp_fs_params *p, const rp_fs_patterns *t, rp_error *err)
{
    if (p->n_comparisons == 0 || p->n_comparisons > RP_FS_MAX_COMPARISONS)
        return rp_error_set(err, RP_EINVAL, "em: 1 to %d comparisons", RP_FS_MAX_COMPARISONS);
    for (size_t k = 0; k < p->n_comparisons; k++) {
        if (p->n_levels[k] < 2 || p->n_levels[k] > RP_FS_MAX_LEVELS)
            return rp_error_set(err, RP_EINVAL, "em: comparison %zu: 2 to %d levels", k,
                                RP_FS_MAX_LEVELS);
        for (unsigned l = 1; l < p->n_levels[k]; l++)
            if (!(p->m[k][l] > 0) || !(p->u[k][l] > 0))
                return rp_error_set(err, RP_EINVAL,
                                    "em: comparison %zu level %u: m and u must be positive", k, l);
    }
    if (!(p->lambda > 0 && p->lambda < 1))
        return rp_error_set(err, RP_EINVAL, "em: lambda must be in (0, 1)");
    for (size_t i = 0; i < t->n; i++) {
        if (!(t->count[i] > 0))
            return rp_error_set(err, RP_EINVAL, "em: pattern %zu has a count <= 0", i);
        for (size_t k = 0; k < RP_FS_MAX_COMPARISONS; k++) {
            unsigned l = RP_FS_LEVEL(t->code[i], k);
            if ((k < p->n_comparisons && l >= p->n_levels[k]) || (k >= p->n_comparisons && l != 0))
                return rp_error_set(err, RP_EINVAL, "em: pattern %zu: level out of range", i);
        }
    }
    return RP_OK;
}

/* Floor and renormalise the non-null levels of one row of probabilities. */
static void floor_row(double *row, unsigned n_levels, double floor_p)
{
    double sum = 0;
    for (unsigned l = 1; l < n_levels; l++) {
        if (!(row[l] >= floor_p))
            row[l] = floor_p;
        sum += row[l];
    }
    for (unsigned l = 1; l < n_levels; l++)
        row[l] /= sum;
}

/* Sufficient statistics of one E-step. */
typedef struct stats {
    long double mk[RP_FS_MAX_COMPARISONS][RP_FS_MAX_LEVELS];
    long double uk[RP_FS_MAX_COMPARISONS][RP_FS_MAX_LEVELS];
    long double matches, pairs, loglik;
} stats;

/* E-step: posterior of each pattern, accumulated into @p s. */
static void e_step(const rp_fs_params *p, const rp_fs_patterns *t, stats *s)
{
    double lm[RP_FS_MAX_COMPARISONS][RP_FS_MAX_LEVELS];
    double lu[RP_FS_MAX_COMPARISONS][RP_FS_MAX_LEVELS];
    for (size_t k = 0; k < p->n_comparisons; k++) {
        lm[k][0] = lu[k][0] = 0.0;
        for (unsigned l = 1; l < p->n_levels[k]; l++) {
            lm[k][l] = log(p->m[k][l]);
            lu[k][l] = log(p->u[k][l]);
        }
    }
    memset(s, 0, sizeof *s);
    double l1 = log(p->lambda), l0 = log1p(-p->lambda);
    for (size_t i = 0; i < t->n; i++) {
        double a = l1, b = l0;
        for (size_t k = 0; k < p->n_comparisons; k++) {
            unsigned l = RP_FS_LEVEL(t->code[i], k);
            a += lm[k][l];
            b += lu[k][l];
        }
        double hi = a > b ? a : b;
        double lse = hi + log(exp(a - hi) + exp(b - hi));
        double g = exp(a - lse);
        double c = t->count[i];
        s->loglik += (long double)(c * lse);
        s->matches += (long double)(c * g);
        s->pairs += (long double)c;
        for (size_t k = 0; k < p->n_comparisons; k++) {
            unsigned l = RP_FS_LEVEL(t->code[i], k);
            s->mk[k][l] += (long double)(c * g);
            s->uk[k][l] += (long double)(c * (1.0 - g));
        }
    }
}

/* New row of probabilities from the counts of its levels; returns the largest change. */
static double m_row(double *row, const long double *cnt, unsigned n_levels, double floor_p)
{
    long double tot = 0;
    for (unsigned l = 1; l < n_levels; l++)
        tot += cnt[l];
    double old[RP_FS_MAX_LEVELS];
    memcpy(old, row, sizeof old);
    if (tot <= 0)
        return 0.0; /* no information: keep the row */
    for (unsigned l = 1; l < n_levels; l++)
        row[l] = (double)(cnt[l] / tot);
    floor_row(row, n_levels, floor_p);
    double delta = 0;
    for (unsigned l = 1; l < n_levels; l++)
        delta = fmax(delta, fabs(row[l] - old[l]));
    return delta;
}

static double m_step(rp_fs_params *p, const stats *s, const rp_fs_em_opts *o)
{
    double delta = 0;
    for (size_t k = 0; k < p->n_comparisons; k++) {
        if (!p->m_fixed[k])
            delta = fmax(delta, m_row(p->m[k], s->mk[k], p->n_levels[k], o->prob_floor));
        if (!p->u_fixed[k])
            delta = fmax(delta, m_row(p->u[k], s->uk[k], p->n_levels[k], o->prob_floor));
    }
    if (!p->lambda_fixed) {
        double a = o->prior_weight > 0 ? o->prior_lambda * o->prior_weight : 0.0;
        double b = o->prior_weight > 0 ? (1.0 - o->prior_lambda) * o->prior_weight : 0.0;
        double lam = (double)((s->matches + a) / (s->pairs + a + b));
        double lo = 1.0 / (4.0 * (double)s->pairs + 4.0);
        lam = fmin(fmax(lam, lo), 1.0 - lo);
        delta = fmax(delta, fabs(lam - p->lambda) / p->lambda);
        p->lambda = lam;
    }
    return delta;
}

static void
diagnose(const rp_fs_params *p, rp_fs_em_info *info, const rp_fs_em_opts *o, size_t n_patterns)
{
    for (size_t k = 0; k < p->n_comparisons; k++) {
        if (p->n_levels[k] > 2 && p->m[k][1] <= p->u[k][1]) {
            info->warnings |= RP_FS_WARN_M_LE_U;
            info->m_le_u_comparisons |= 1u << k;
        }
    }
    if (info->expected_matches < 1.0)
        info->warnings |= RP_FS_WARN_LAMBDA_LOW;
    if (p->lambda > o->lambda_max)
        info->warnings |= RP_FS_WARN_LAMBDA_HIGH;
    if (!info->converged)
        info->warnings |= RP_FS_WARN_NOCONV;
    double params = 1.0;
    for (size_t k = 0; k < p->n_comparisons; k++)
        params += 2.0 * (p->n_levels[k] - 2);
    if (info->pairs < MIN_PAIRS_PER_PARAM * params || n_patterns < 2)
        info->warnings |= RP_FS_WARN_FEW_PAIRS;
}

int rp_fs_em(rp_fs_params *params,
             const rp_fs_patterns *patterns,
             const rp_fs_em_opts *opts,
             rp_fs_em_info *info,
             rp_error *err)
{
    rp_fs_em_opts o = RP_FS_EM_OPTS_INIT;
    if (opts != NULL)
        o = *opts;
    rp_fs_em_info local;
    if (info == NULL)
        info = &local;
    memset(info, 0, sizeof *info);
    if (params == NULL || patterns == NULL ||
        (patterns->n > 0 && (!patterns->code || !patterns->count)))
        return rp_error_set(err, RP_EINVAL, "em: NULL argument");
    if (o.max_iter == 0 || !(o.tol > 0) || !(o.prob_floor > 0 && o.prob_floor < 0.01) ||
        !(o.prior_weight >= 0) || !(o.prior_lambda >= 0 && o.prior_lambda < 1) ||
        !(o.lambda_max > 0 && o.lambda_max <= 1))
        return rp_error_set(err, RP_EINVAL, "em: bad options");
    int rc = check_input(params, patterns, err);
    if (rc != RP_OK)
        return rc;
    for (size_t k = 0; k < params->n_comparisons; k++) {
        floor_row(params->m[k], params->n_levels[k], o.prob_floor);
        floor_row(params->u[k], params->n_levels[k], o.prob_floor);
    }
    stats *s = rp_malloc(sizeof *s);
    if (s == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    for (info->iterations = 0; info->iterations < o.max_iter && patterns->n > 0;) {
        e_step(params, patterns, s);
        double delta = m_step(params, s, &o);
        info->iterations++;
        if (delta < o.tol) {
            info->converged = true;
            break;
        }
    }
    if (patterns->n == 0)
        info->converged = true;
    e_step(params, patterns, s);
    info->loglik = (double)s->loglik;
    info->pairs = (double)s->pairs;
    info->expected_matches = params->lambda * info->pairs;
    diagnose(params, info, &o, patterns->n);
    rp_free(s);
    return RP_OK;
}

double rp_fs_pattern_weight(const rp_fs_params *params, uint64_t code)
{
    double w = log2(params->lambda) - log2(1.0 - params->lambda);
    for (size_t k = 0; k < params->n_comparisons; k++) {
        unsigned l = RP_FS_LEVEL(code, k);
        if (l != 0 && l < params->n_levels[k])
            w += log2(params->m[k][l]) - log2(params->u[k][l]);
    }
    return w;
}

double rp_fs_tf_adjustment(double u_exact, double freq, double tf_min)
{
    double f = freq > tf_min ? freq : tf_min;
    return log2(u_exact) - log2(f);
}

const char *rp_fs_warning_text(unsigned w)
{
    switch (w) {
    case RP_FS_WARN_M_LE_U:
        return "m <= u on the exact level of a comparison: the classes may have swapped or the "
               "field does not separate matches";
    case RP_FS_WARN_LAMBDA_LOW:
        return "fewer than one expected match among the compared pairs: EM collapsed to 'no "
               "match'";
    case RP_FS_WARN_LAMBDA_HIGH:
        return "the match rate is above lambda_max: EM collapsed towards 'everything matches'";
    case RP_FS_WARN_NOCONV:
        return "EM did not converge within max_iter";
    case RP_FS_WARN_FEW_PAIRS:
        return "too few compared pairs or patterns for the number of parameters";
    default:
        return "unknown warning";
    }
}

/* ==== training sessions (shared by fs.c and hub_fs.c) ==== */

void rp_fs__pool_init(rp_fs__pool *pool)
{
    memset(pool, 0, sizeof *pool);
    pool->all.converged = true;
}

int rp_fs__session(const rp_fs_params *start,
                   const rp_fs_patterns *t,
                   const double *first,
                   uint64_t mask,
                   const rp_fs_em_opts *eo,
                   rp_fs__pool *pool,
                   rp_fs_em_info *info,
                   double *lambda,
                   rp_fs_params *fitted,
                   rp_error *err)
{
    rp_fs_params p = *start;
    p.lambda = RP_FS__LAMBDA_INIT;
    p.lambda_fixed = false;
    rp_fs_em_opts o = *eo;
    o.prior_weight = 0;
    int rc = rp_fs_em(&p, t, &o, info, err);
    if (rc != RP_OK)
        return rc;
    rp_fs_em_info *all = &pool->all;
    all->iterations = info->iterations > all->iterations ? info->iterations : all->iterations;
    all->converged = all->converged && info->converged;
    all->loglik += info->loglik;
    all->warnings |= info->warnings & RP_FS_WARN_NOCONV;
    *lambda = p.lambda;
    if (fitted != NULL)
        *fitted = p;
    for (size_t i = 0; first != NULL && i < t->n; i++) {
        double w = rp_fs_pattern_weight(&p, t->code[i]);
        pool->expected += first[i] / (1.0 + exp2(-w));
    }
    /*
     * Sessions without enough pairs or matches, and sessions whose match rate passed
     * lambda_max, are left out of the pooled m: the latter are most often a collapse in
     * which non-matches that agree on fields correlated with the blocked ones (postcode
     * and suburb) join the match class.
     */
    if (info->warnings & (RP_FS_WARN_FEW_PAIRS | RP_FS_WARN_LAMBDA_LOW | RP_FS_WARN_LAMBDA_HIGH))
        return RP_OK;
    for (size_t k = 0; k < p.n_comparisons; k++) {
        if (((mask >> (4u * k)) & 0xfu) == 0)
            continue;
        for (unsigned l = 1; l < p.n_levels[k]; l++)
            pool->m[k][l] += info->expected_matches * p.m[k][l];
        pool->weight[k] += info->expected_matches;
    }
    return RP_OK;
}

void rp_fs__pool_finish(rp_fs_params *p,
                        const rp_fs__pool *pool,
                        double lambda,
                        double all_pairs,
                        double candidates,
                        double lambda_max,
                        rp_fs_em_info *em)
{
    for (size_t k = 0; k < p->n_comparisons; k++) {
        if (p->m_fixed[k])
            continue;
        if (pool->weight[k] <= 0) {
            em->warnings |= RP_FS_WARN_FEW_PAIRS; /* m stays at its starting guess */
            continue;
        }
        for (unsigned l = 1; l < p->n_levels[k]; l++)
            p->m[k][l] = pool->m[k][l] / pool->weight[k];
    }
    double lo = 1.0 / (4.0 * all_pairs + 4.0);
    p->lambda = fmin(fmax(lambda, lo), 1.0 - lo);
    for (size_t k = 0; k < p->n_comparisons; k++) {
        if (p->n_levels[k] > 2 && p->m[k][1] <= p->u[k][1]) {
            em->warnings |= RP_FS_WARN_M_LE_U;
            em->m_le_u_comparisons |= 1u << k;
        }
    }
    if (pool->expected < 1.0)
        em->warnings |= RP_FS_WARN_LAMBDA_LOW;
    if (pool->expected > lambda_max * candidates)
        em->warnings |= RP_FS_WARN_LAMBDA_HIGH;
}

uint64_t rp_fs__splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t rp_fs__uniform(uint64_t *state, size_t n)
{
    return (size_t)((double)(rp_fs__splitmix(state) >> 11) * 0x1p-53 * (double)n);
}

void rp_fs__u_from_counts(double *u, const double *cnt, unsigned n_levels)
{
    double tot = 0;
    for (unsigned l = 1; l < n_levels; l++)
        tot += cnt[l];
    for (unsigned l = 1; l < n_levels; l++)
        u[l] = (cnt[l] + 1.0) / (tot + (double)(n_levels - 1));
}
