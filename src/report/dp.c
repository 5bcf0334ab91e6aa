/*
 * Differentially private counts: discrete Laplace noise (the geometric mechanism of
 * Ghosh, Roughgarden & Sundararajan 2009; pure epsilon-DP) and discrete Gaussian noise
 * (Canonne, Kamath & Steinke 2020; rho-zCDP), drawn from libsodium's randombytes, and
 * their application to a table with the sensitivity that its structure implies.
 */
#include "report/publish_int.h"
#include "report/report_int.h"

#include <math.h>
#include <sodium.h>

double rp_report__uniform(void)
{
    uint64_t r = 0;
    randombytes_buf(&r, sizeof(r));
    /* 53 random bits, shifted half a step off 0: in (0, 1) */
    return ((double)(r >> 11) + 0.5) * 0x1.0p-53;
}

/* Geometric on {0, 1, ...}: P(G = g) = (1 - p) p^g, by inversion. */
static long long geometric(double log_p)
{
    double g = floor(log(rp_report__uniform()) / log_p);
    return g < 9e18 ? (long long)g : (long long)9e18;
}

long long rp_dp_laplace(double scale)
{
    /* the difference of two independent geometrics with p = exp(-1/scale) has
     * P(Z = z) = (1 - p)/(1 + p) p^|z| */
    double log_p = -1.0 / scale;
    long long g1 = geometric(log_p);
    long long g2 = geometric(log_p);
    return g1 - g2;
}

double rp_dp_laplace_variance(double scale)
{
    double p = exp(-1.0 / scale);
    return 2.0 * p / ((1.0 - p) * (1.0 - p));
}

long long rp_dp_gaussian(double sigma2)
{
    /* CKS 2020, Algorithm 3: Y from discrete Laplace with scale t = floor(sigma) + 1,
     * kept with probability exp(-(|Y| - sigma^2/t)^2 / (2 sigma^2)) */
    double sigma = sqrt(sigma2);
    double t = floor(sigma) + 1.0;
    for (;;) {
        long long y = rp_dp_laplace(t);
        double a = fabs((double)y) - sigma2 / t;
        if (rp_report__uniform() < exp(-a * a / (2.0 * sigma2))) {
            return y;
        }
    }
}

double rp_dp_gaussian_variance(double sigma2)
{
    if (sigma2 > 1e8) {
        return sigma2; /* the sum equals sigma2 to double precision */
    }
    long m = (long)ceil(40.0 * sqrt(sigma2)) + 10;
    long double num = 0, den = 1; /* z = 0 */
    for (long i = 1; i <= m; i++) {
        long double z = (long double)i;
        long double w = expl(-(z * z) / (2.0L * sigma2));
        num += 2.0L * z * z * w;
        den += 2.0L * w;
    }
    return (double)(num / den);
}

/* ==== tables ==== */

static bool interior(const rp_table *t, size_t c)
{
    for (size_t d = 0; d < t->n_dims; d++) {
        if (t->stride[d] > 0 && (c / t->stride[d]) % (t->dims[d].n_cats + 1) == t->dims[d].n_cats) {
            return false;
        }
    }
    return true;
}

static double draw(const rp_sdc_opts *o, double l1, double l2)
{
    if (o->method == RP_SDC_DP_LAPLACE) {
        return (double)rp_dp_laplace(l1 / o->epsilon);
    }
    return (double)rp_dp_gaussian(l2 * l2 / (2.0 * o->rho));
}

/* Additive: noise on the interior (one person is in one interior cell), totals summed. */
static void noise_additive(rp_table *t, const rp_sdc_opts *o)
{
    size_t idx[RP_TABLE_MAX_DIMS];
    size_t n_sub = (size_t)1 << t->n_dims;
    for (size_t c = 0; c < t->n_cells; c++) {
        t->value[c] = 0;
    }
    for (size_t c = 0; c < t->n_cells; c++) {
        if (!interior(t, c) || t->status[c] == RP_CELL_STRUCTURAL) {
            continue;
        }
        double v = t->count[c] + draw(o, 1.0, 1.0);
        v = v > 0 ? v : 0;
        rp_table_index(idx, t, c);
        for (size_t mask = 0; mask < n_sub; mask++) {
            size_t m = 0;
            for (size_t d = 0; d < t->n_dims; d++) {
                m += ((mask >> d) & 1u ? t->dims[d].n_cats : idx[d]) * t->stride[d];
            }
            t->value[m] += v;
        }
    }
}

int rp_report__dp_apply(rp_table *t, const rp_sdc_opts *o, rp_sdc_report *rep, rp_error *err)
{
    if (sodium_init() < 0) {
        return rp_error_set(err, RP_EINTERNAL, "libsodium cannot start");
    }
    /* cells one person can change by 1: its category (or categories) or the margin in
     * every dimension */
    double touched = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
        touched *= rp_table_dim_additive(t, d) ? 2.0 : (double)t->dims[d].n_cats + 1.0;
    }
    double l1 = t->additive ? 1.0 : touched, l2 = t->additive ? 1.0 : sqrt(touched);
    if (t->additive) {
        noise_additive(t, o);
    } else {
        for (size_t c = 0; c < t->n_cells; c++) {
            double v = t->status[c] == RP_CELL_STRUCTURAL ? 0 : t->count[c] + draw(o, l1, l2);
            t->value[c] = v > 0 ? v : 0;
        }
    }
    for (size_t c = 0; c < t->n_cells; c++) {
        if (t->status[c] != RP_CELL_STRUCTURAL) {
            t->status[c] = RP_CELL_NOISY;
            rep->n_noisy++;
        }
    }
    /* numbers in decimal form, never "1e+03": epsilon and rho as given (6 digits), the
     * sensitivities and noise sd to 3 */
    char budget[48], sens[48], sd[48];
    bool laplace = o->method == RP_SDC_DP_LAPLACE;
    rp_publish__fmt_num(budget, sizeof(budget), laplace ? o->epsilon : o->rho, 6);
    rp_publish__fmt_num(sens, sizeof(sens), laplace ? l1 : l2, 3);
    rp_publish__fmt_num(sd, sizeof(sd),
                        laplace ? sqrt(rp_dp_laplace_variance(l1 / o->epsilon))
                                : sqrt(l2 * l2 / (2.0 * o->rho)),
                        3);
    const char *sums = t->additive ? "; totals are sums of the noisy cells" : "";
    int rc = laplace ? rp_table_add_note(t,
                                         "differentially private counts: discrete Laplace noise, "
                                         "epsilon = %s for this table (pure DP; sensitivity %s, "
                                         "noise sd %s); negative counts set to 0%s",
                                         budget, sens, sd, sums)
                     : rp_table_add_note(t,
                                         "differentially private counts: discrete Gaussian noise, "
                                         "rho = %s (zero-concentrated DP; L2 sensitivity %s, "
                                         "noise sd %s); negative counts set to 0%s",
                                         budget, sens, sd, sums);
    return rc == RP_OK ? RP_OK : rp_error_set(err, RP_ENOMEM, "out of memory");
}
