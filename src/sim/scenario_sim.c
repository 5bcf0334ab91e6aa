/*
 * The scenario simulator behind `rapporteur simulate` (include/rapporteur/sim.h,
 * rp_sim_run): a hidden population with known truth, the agency lists that record it,
 * their files, mappings and the truth. Schema and model: docs/scenarios.md.
 *
 * Capture model. Person i on list k has main effect
 *     eta_ik = logit(p_k) + sum of the list's effects that person i has,
 * and capture history h (bit k = on list k) with probability proportional to
 *     exp( sum_{k in h} eta_ik + sum_{terms t subset of h} lambda_t ),
 * over all 2^K histories, the empty one included: within one covariate profile this is
 * exactly the log-linear model of rp_sim_capture_scenario (person heterogeneity comes
 * from the profiles, list dependence from the terms). Histories are drawn from the
 * exact distribution of each profile (memoised per distinct eta vector).
 *
 * Three independent random streams (seeded from the one seed) keep the parts apart:
 * the population, the capture histories and the records. Changing an error rate leaves
 * the population and who is on which list as they were.
 */
#include "common/common_int.h"
#include "data/data_int.h"
#include "sim/sim_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/sim.h>

#include <errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_gamma.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unistd.h>

/* ==== error kinds recorded in truth.csv and summary.json ==== */

enum {
    E_TYPO_GIVEN = 0,
    E_TYPO_FAMILY,
    E_TRANSLIT,
    E_ORDER_SWAP,
    E_DAY_MONTH_SWAP,
    E_WRONG_BIRTH_YEAR,
    E_MISSING_BIRTH_DATE,
    E_MISSING_GIVEN,
    E_MISSING_SEX,
    E_MISSING_CITIZENSHIP,
    E_PATRONYMIC_DROPPED,
    E_MASCULINE_SURNAME,
    E_COUNT
};

static const char *const error_names[E_COUNT] = {
    "typo_given",     "typo_family",         "translit",           "order_swap",
    "day_month_swap", "wrong_birth_year",    "missing_birth_date", "missing_given",
    "missing_sex",    "missing_citizenship", "patronymic_dropped", "masculine_surname"};

/* ==== people and records ==== */

typedef struct person {
    rp_sim_name name;
    uint32_t id; /* 1..N */
    uint32_t expl;
    uint32_t sectors;
    uint16_t nat;     /* index of pop.nationalities */
    uint16_t loc;     /* index in the names object */
    uint16_t country; /* index of pop.countries */
    uint16_t hist;    /* capture history, bit k = lists[k] */
    int16_t year;     /* identification date */
    uint8_t month, day;
    int16_t by; /* birth date */
    uint8_t bm, bd;
    uint8_t sex; /* rp_sex */
    uint8_t age; /* at identification */
    char doc[12];
} person;

typedef struct record {
    uint32_t person; /* index into the captured people */
    uint32_t key;    /* random tie-break of the order in the agency's file */
    int16_t year;    /* registration date */
    uint8_t month, day;
    uint8_t dup;        /* 1: the second record of a within-list duplicate */
    uint8_t identified; /* 1 identified, 0 presumed */
} record;

typedef struct list_records {
    record *items;
    size_t n, cap;
} list_records;

/* Cumulative weights of one rp_sim_wvec. */
typedef struct cumw {
    double *c;
    size_t n;
} cumw;

/* A memoised capture distribution of one covariate profile. */
typedef struct profile {
    double *eta; /* K main effects (key) */
    double *cdf; /* 2^K cumulative probabilities */
    double count;
    uint64_t hash;
} profile;

typedef struct run {
    const rp_sim_scenario *sc;
    size_t K;
    size_t n_cells;
    rp_sim_names *names;
    rp_sim_translit *tr;
    gsl_rng *rpop, *rcap, *rrec;
    /* weights */
    cumw countries, expl, sectors, nat;
    cumw *nat_loc;       /* per nationality: its locales */
    cumw *nat_expl;      /* per nationality: exploitation override (n == 0: none) */
    size_t *nat_loc_idx; /* [nat * RP_SIM_LOCALES_MAX + j]: names index */
    uint32_t *expl_bits; /* bit of pop.exploitation items */
    uint32_t **nat_expl_bits;
    uint32_t *sector_bits;
    /* per loaded locale (names index): its name, romanisation systems, script; per list
       the system it writes the locale with (NULL: as written) */
#define LOCALES_MAX 64
    const char *loc_name[LOCALES_MAX];
    const char *const *sys_ids[LOCALES_MAX];
    size_t n_sys[LOCALES_MAX];
    bool latin[LOCALES_MAX];
    const char *usual[RP_SIM_LISTS_MAX][LOCALES_MAX];
    const char **nat_a3;     /* alpha-3 of each nationality */
    const char **country_a3; /* alpha-3 of each country of exploitation */
    /* capture model */
    double logit_p[RP_SIM_LISTS_MAX];
    double age_scale; /* adult_scale(pop.adult_age_mean) */
    profile *prof;    /* open addressing, cap_prof slots */
    size_t cap_prof, n_prof, max_prof;
    double *scratch;  /* 2^K */
    double *expected; /* 2^K expected cell counts */
    double exp_list[RP_SIM_LISTS_MAX], var_list[RP_SIM_LISTS_MAX];
    double realised[1u << RP_SIM_LISTS_MAX];
    /* captured people and records */
    person *people;
    size_t n_people, cap_people;
    list_records recs[RP_SIM_LISTS_MAX];
    /* error accounting */
    uint64_t eligible[RP_SIM_LISTS_MAX][E_COUNT];
    uint64_t applied[RP_SIM_LISTS_MAX][E_COUNT];
    uint64_t dups[RP_SIM_LISTS_MAX];
    /* output */
    char *stage;
    const rp_sim_run_opts *opts;
    rp_error *err;
} run;

/* ==== small helpers ==== */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static gsl_rng *stream(uint64_t seed, uint64_t which)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r == NULL) {
        return NULL;
    }
    uint64_t x = seed ^ (which * 0xD1B54A32D192ED03ull);
    uint64_t s = splitmix64(&x);
    gsl_rng_set(r, (unsigned long)(s ^ (s >> 32)) & 0xFFFFFFFFul);
    return r;
}

static int cumw_make(cumw *out, const rp_sim_wvec *v)
{
    out->n = v->n;
    out->c = NULL;
    if (v->n == 0) {
        return RP_OK;
    }
    out->c = rp_malloc(v->n * sizeof *out->c);
    if (out->c == NULL) {
        return RP_ENOMEM;
    }
    double s = 0.0;
    for (size_t i = 0; i < v->n; i++) {
        s += v->items[i].w;
        out->c[i] = s;
    }
    for (size_t i = 0; i < v->n; i++) {
        out->c[i] /= s;
    }
    return RP_OK;
}

static size_t cumw_draw(const cumw *w, gsl_rng *r)
{
    double u = gsl_rng_uniform(r);
    size_t lo = 0, hi = w->n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (u < w->c[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

static bool chance(gsl_rng *r, double p)
{
    return p > 0.0 && gsl_rng_uniform(r) < p;
}

static int days_in_month(int y, int m)
{
    return rp_data__days_in_month(y, m);
}

/* Add @p days (>= 0) to a date. */
static void date_add(int *y, int *m, int *d, int days)
{
    while (days > 0) {
        int left = days_in_month(*y, *m) - *d;
        if (days <= left) {
            *d += days;
            return;
        }
        days -= left + 1;
        *d = 1;
        if (++*m > 12) {
            *m = 1;
            ++*y;
        }
    }
}

static int cmp_date(int y1, int m1, int d1, int y2, int m2, int d2)
{
    if (y1 != y2) {
        return y1 < y2 ? -1 : 1;
    }
    if (m1 != m2) {
        return m1 < m2 ? -1 : 1;
    }
    return d1 < d2 ? -1 : (d1 > d2);
}

/* Whole years between a birth date and a later date. */
static int age_at(int by, int bm, int bd, int y, int m, int d)
{
    int a = y - by;
    if (m < bm || (m == bm && d < bd)) {
        a--;
    }
    return a;
}

/* ==== the capture model ==== */

static double effects_sum(const run *R, size_t k, const person *p)
{
    const rp_sim_list *l = &R->sc->lists[k];
    double s = R->logit_p[k];
    const rp_sim_population *pop = &R->sc->pop;
    for (size_t e = 0; e < l->n_effects; e++) {
        const rp_sim_effect *ef = &l->effects[e];
        bool has = false;
        switch (ef->attr) {
        case RP_SIM_ATTR_SEX:
            has = p->sex == ef->value;
            break;
        case RP_SIM_ATTR_MINOR:
            has = p->age < 18;
            break;
        case RP_SIM_ATTR_EXPLOITATION:
            has = (p->expl & ef->value) != 0;
            break;
        case RP_SIM_ATTR_SECTOR:
            has = (p->sectors & ef->value) != 0;
            break;
        case RP_SIM_ATTR_CITIZENSHIP:
            has = memcmp(pop->nationalities[p->nat].country, ef->country, 2) == 0;
            break;
        case RP_SIM_ATTR_COUNTRY:
            has = memcmp(pop->countries.items[p->country].code, ef->country, 2) == 0;
            break;
        case RP_SIM_ATTR_YEAR:
            has = (unsigned)p->year == ef->value;
            break;
        }
        if (has) {
            s += ef->beta;
        }
    }
    return s;
}

/* Normalised cell probabilities (into @p prob) of main effects @p eta. */
static void cell_probs(const run *R, const double *eta, double *prob)
{
    size_t n = R->n_cells;
    double mx = -INFINITY;
    for (size_t h = 0; h < n; h++) {
        double s = 0.0;
        for (size_t k = 0; k < R->K; k++) {
            if (h & ((size_t)1 << k)) {
                s += eta[k];
            }
        }
        for (size_t t = 0; t < R->sc->n_terms; t++) {
            uint32_t m = R->sc->terms[t].lists;
            if ((h & m) == m) {
                s += R->sc->terms[t].lambda;
            }
        }
        prob[h] = s;
        if (s > mx) {
            mx = s;
        }
    }
    double z = 0.0;
    for (size_t h = 0; h < n; h++) {
        prob[h] = exp(prob[h] - mx);
        z += prob[h];
    }
    for (size_t h = 0; h < n; h++) {
        prob[h] /= z;
    }
}

/* Sample a history from the cumulative distribution @p cdf. */
static unsigned draw_cell(const double *cdf, size_t n, gsl_rng *r)
{
    double u = gsl_rng_uniform(r);
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (u < cdf[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return (unsigned)lo;
}

/*
 * The capture history of person @p p: from the profile memo when there is room, else
 * computed directly. Adds the person's cell probabilities to R->expected.
 */
static int capture(run *R, const person *p, unsigned *hist)
{
    double eta[RP_SIM_LISTS_MAX] = {0};
    for (size_t k = 0; k < R->K; k++) {
        eta[k] = effects_sum(R, k, p);
    }
    uint64_t h = rp_x_hash64(0, eta, R->K * sizeof(double));
    size_t mask = R->cap_prof - 1;
    size_t i = (size_t)h & mask;
    while (R->prof[i].eta != NULL) {
        if (R->prof[i].hash == h && memcmp(R->prof[i].eta, eta, R->K * sizeof(double)) == 0) {
            R->prof[i].count += 1.0;
            *hist = draw_cell(R->prof[i].cdf, R->n_cells, R->rcap);
            return RP_OK;
        }
        i = (i + 1) & mask;
    }
    if (R->n_prof < R->max_prof) {
        profile *pr = &R->prof[i];
        pr->eta = rp_malloc(R->K * sizeof(double));
        pr->cdf = rp_malloc(R->n_cells * sizeof(double));
        if (pr->eta == NULL || pr->cdf == NULL) {
            rp_free(pr->eta);
            rp_free(pr->cdf);
            pr->eta = NULL;
            pr->cdf = NULL;
            return RP_ENOMEM;
        }
        memcpy(pr->eta, eta, R->K * sizeof(double));
        pr->hash = h;
        pr->count = 1.0;
        cell_probs(R, eta, pr->cdf);
        for (size_t c = 1; c < R->n_cells; c++) {
            pr->cdf[c] += pr->cdf[c - 1];
        }
        pr->cdf[R->n_cells - 1] = 1.0;
        R->n_prof++;
        *hist = draw_cell(pr->cdf, R->n_cells, R->rcap);
        return RP_OK;
    }
    /* Memo full: this person's distribution directly. */
    cell_probs(R, eta, R->scratch);
    double marg[RP_SIM_LISTS_MAX] = {0};
    for (size_t c = 0; c < R->n_cells; c++) {
        for (size_t k = 0; k < R->K; k++) {
            if (c & ((size_t)1 << k)) {
                marg[k] += R->scratch[c];
            }
        }
    }
    for (size_t k = 0; k < R->K; k++) {
        R->var_list[k] += marg[k] * (1.0 - marg[k]);
    }
    for (size_t c = 0; c < R->n_cells; c++) {
        R->expected[c] += R->scratch[c];
        if (c > 0) {
            R->scratch[c] += R->scratch[c - 1];
        }
    }
    R->scratch[R->n_cells - 1] = 1.0;
    *hist = draw_cell(R->scratch, R->n_cells, R->rcap);
    return RP_OK;
}

/* Fold the memoised profiles into the expected cell counts and list moments. */
static void expected_finish(run *R)
{
    for (size_t i = 0; i < R->cap_prof; i++) {
        profile *pr = &R->prof[i];
        if (pr->eta == NULL) {
            continue;
        }
        double prev = 0.0;
        for (size_t c = 0; c < R->n_cells; c++) {
            double q = pr->cdf[c] - prev;
            prev = pr->cdf[c];
            R->expected[c] += pr->count * q;
        }
        double marg[RP_SIM_LISTS_MAX] = {0};
        prev = 0.0;
        for (size_t c = 0; c < R->n_cells; c++) {
            double q = pr->cdf[c] - prev;
            prev = pr->cdf[c];
            for (size_t k = 0; k < R->K; k++) {
                if (c & ((size_t)1 << k)) {
                    marg[k] += q;
                }
            }
        }
        for (size_t k = 0; k < R->K; k++) {
            R->var_list[k] += pr->count * marg[k] * (1.0 - marg[k]);
        }
    }
    for (size_t c = 0; c < R->n_cells; c++) {
        for (size_t k = 0; k < R->K; k++) {
            if (c & ((size_t)1 << k)) {
                R->exp_list[k] += R->expected[c];
            }
        }
    }
}

/* ==== the population ==== */

#define AGE_SHAPE 1.2
#define AGE_TAIL  68.0 /* 18 + 68 = 86: ages over 85 are drawn again */

/*
 * The Gamma scale that gives adults (18 + floor(G), G ~ Gamma(AGE_SHAPE, scale) drawn
 * again above 85) the mean age @p mean: the mean of G truncated at c is
 * k s P(k+1, c/s) / P(k, c/s) (P the regularised lower incomplete gamma function), and
 * the floor takes about half a year off. Solved by bisection (the mean rises with s).
 */
static double adult_scale(double mean)
{
    double lo = 0.01, hi = 200.0;
    for (int it = 0; it < 100; it++) {
        double s = 0.5 * (lo + hi);
        double m = 17.5 + AGE_SHAPE * s * gsl_sf_gamma_inc_P(AGE_SHAPE + 1.0, AGE_TAIL / s) /
                              gsl_sf_gamma_inc_P(AGE_SHAPE, AGE_TAIL / s);
        if (m < mean) {
            lo = s;
        } else {
            hi = s;
        }
    }
    return 0.5 * (lo + hi);
}

static unsigned bit_of_code(rp_field f, const char *code)
{
    unsigned v = 0;
    if (rp_code_parse(&v, f, code) != RP_OK) {
        return 0;
    }
    return v;
}

static void draw_person(run *R, uint32_t id, person *p)
{
    const rp_sim_population *pop = &R->sc->pop;
    gsl_rng *r = R->rpop;
    memset(p, 0, sizeof *p);
    p->id = id;
    size_t nat = cumw_draw(&R->nat, r);
    const rp_sim_nationality *na = &pop->nationalities[nat];
    p->nat = (uint16_t)nat;
    size_t lj = cumw_draw(&R->nat_loc[nat], r);
    p->loc = (uint16_t)R->nat_loc_idx[nat * RP_SIM_LOCALES_MAX + lj];
    double fem = na->female_share >= 0.0 ? na->female_share : pop->female_share;
    p->sex = (uint8_t)(gsl_rng_uniform(r) < fem ? RP_SEX_FEMALE : RP_SEX_MALE);
    double minor = na->minor_share >= 0.0 ? na->minor_share : pop->minor_share;
    int age;
    if (gsl_rng_uniform(r) < minor) {
        age = 8 + (int)gsl_rng_uniform_int(r, 10); /* 8..17 */
    } else {
        /* 18 + Gamma(shape 1.2): most adult victims are young, with a long tail; the
           whole years (floor) have mean adult_age_mean; ages over 85 are drawn again, and
           R->age_scale allows for that (adult_scale()) */
        do {
            age = 18 + (int)floor(gsl_ran_gamma(r, AGE_SHAPE, R->age_scale));
        } while (age > 85);
    }
    p->age = (uint8_t)age;
    /* Identification date: uniform over the years. */
    unsigned long span = (unsigned long)pop->year_last - (unsigned long)pop->year_first + 1ul;
    int y = pop->year_first + (int)gsl_rng_uniform_int(r, span);
    int m = 1, d = 1;
    int doy = (int)gsl_rng_uniform_int(r, rp_data__is_leap_year(y) ? 366 : 365);
    date_add(&y, &m, &d, doy);
    p->year = (int16_t)y;
    p->month = (uint8_t)m;
    p->day = (uint8_t)d;
    /* Birth date: age whole years and up to a year before the identification date. */
    int by = y - age - 1, bm = m, bd = d;
    if (bm == 2 && bd == 29 && !rp_data__is_leap_year(by)) {
        bd = 28;
    }
    int back = 1 + (int)gsl_rng_uniform_int(r, 365);
    date_add(&by, &bm, &bd, 365 - back + 1);
    if (age_at(by, bm, bd, y, m, d) != age) { /* leap-year edge: pull back one day */
        by = y - age;
        bm = m;
        bd = d > 1 ? d - 1 : 1;
    }
    p->by = (int16_t)by;
    p->bm = (uint8_t)bm;
    p->bd = (uint8_t)bd;
    p->age = (uint8_t)age_at(by, bm, bd, y, m, d);
    /* Forms of exploitation and labour sectors. */
    const cumw *ew = R->nat_expl[nat].n ? &R->nat_expl[nat] : &R->expl;
    const uint32_t *eb = R->nat_expl[nat].n ? R->nat_expl_bits[nat] : R->expl_bits;
    size_t f1 = cumw_draw(ew, r);
    p->expl = eb[f1];
    if (ew->n > 1 && chance(r, pop->second_form)) {
        size_t f2;
        do {
            f2 = cumw_draw(ew, r);
        } while (f2 == f1);
        p->expl |= eb[f2];
    }
    if ((p->expl & RP_EXPL_FORCED_LABOUR) && R->sectors.n) {
        p->sectors = R->sector_bits[cumw_draw(&R->sectors, r)];
    }
    p->country = (uint16_t)cumw_draw(&R->countries, r);
    if (chance(r, pop->document_share)) {
        static const char letters[] = "ABCEHKMPTX";
        p->doc[0] = letters[gsl_rng_uniform_int(r, 10)];
        p->doc[1] = letters[gsl_rng_uniform_int(r, 10)];
        unsigned long num = gsl_rng_uniform_int(r, 10000000ul);
        snprintf(p->doc + 2, sizeof p->doc - 2, "%07lu", num);
    }
    rp_sim__names_draw(R->names, p->loc, (rp_sex)p->sex, pop->middle_name, r, &p->name);
}

static int push_record(list_records *lr, const record *rec)
{
    if (lr->n == lr->cap &&
        rp_x_grow(&lr->items, &lr->cap, lr->n + 1, sizeof *lr->items) != RP_OK) {
        return RP_ENOMEM;
    }
    lr->items[lr->n++] = *rec;
    return RP_OK;
}

/* The records of captured person @p pi (index into R->people) on the lists of @p hist. */
static int make_records(run *R, uint32_t pi, unsigned hist)
{
    const person *p = &R->people[pi];
    for (size_t k = 0; k < R->K; k++) {
        if (!(hist & (1u << k))) {
            continue;
        }
        const rp_sim_list *l = &R->sc->lists[k];
        record rec;
        memset(&rec, 0, sizeof rec);
        rec.person = pi;
        int y = p->year, m = p->month, d = p->day;
        /* Registered within 60 days of identification, in the same year. */
        int y2 = y, m2 = m, d2 = d;
        date_add(&y2, &m2, &d2, (int)gsl_rng_uniform_int(R->rcap, 61));
        if (y2 == y) {
            m = m2;
            d = d2;
        }
        rec.year = (int16_t)y;
        rec.month = (uint8_t)m;
        rec.day = (uint8_t)d;
        rec.key = (uint32_t)gsl_rng_get(R->rcap);
        rec.identified = (uint8_t)(gsl_rng_uniform(R->rcap) < l->identified);
        if (push_record(&R->recs[k], &rec) != RP_OK) {
            return RP_ENOMEM;
        }
        if (chance(R->rcap, l->duplicates)) {
            /* A second record of the same person, registered later in the year. */
            int y3 = y, m3 = m, d3 = d;
            date_add(&y3, &m3, &d3, 1 + (int)gsl_rng_uniform_int(R->rcap, 200));
            if (y3 == y) {
                rec.month = (uint8_t)m3;
                rec.day = (uint8_t)d3;
            }
            rec.dup = 1;
            rec.key = (uint32_t)gsl_rng_get(R->rcap);
            rec.identified = (uint8_t)(gsl_rng_uniform(R->rcap) < l->identified);
            if (push_record(&R->recs[k], &rec) != RP_OK) {
                return RP_ENOMEM;
            }
            R->dups[k]++;
        }
    }
    return RP_OK;
}

/* ==== text ==== */

/* Decode UTF-8 into code points; returns the count (at most cap). */
static size_t utf8_decode(const char *s, uint32_t *cp, size_t cap)
{
    size_t n = 0;
    const unsigned char *u = (const unsigned char *)s;
    while (*u && n < cap) {
        uint32_t c;
        size_t len;
        if (*u < 0x80) {
            c = *u;
            len = 1;
        } else if ((*u & 0xE0) == 0xC0) {
            c = *u & 0x1Fu;
            len = 2;
        } else if ((*u & 0xF0) == 0xE0) {
            c = *u & 0x0Fu;
            len = 3;
        } else {
            c = *u & 0x07u;
            len = 4;
        }
        size_t i = 1;
        for (; i < len && (u[i] & 0xC0) == 0x80; i++) {
            c = (c << 6) | (u[i] & 0x3Fu);
        }
        u += i;
        cp[n++] = c;
    }
    return n;
}

static int utf8_encode(rp_x_buf *b, const uint32_t *cp, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cp[i];
        char o[4];
        size_t len;
        if (c < 0x80) {
            o[0] = (char)c;
            len = 1;
        } else if (c < 0x800) {
            o[0] = (char)(0xC0 | (c >> 6));
            o[1] = (char)(0x80 | (c & 0x3F));
            len = 2;
        } else if (c < 0x10000) {
            o[0] = (char)(0xE0 | (c >> 12));
            o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            o[2] = (char)(0x80 | (c & 0x3F));
            len = 3;
        } else {
            o[0] = (char)(0xF0 | (c >> 18));
            o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
            o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
            o[3] = (char)(0x80 | (c & 0x3F));
            len = 4;
        }
        if (rp_x_buf_append(b, o, len) != RP_OK) {
            return RP_ENOMEM;
        }
    }
    return RP_OK;
}

/* QWERTY neighbours of the lower-case ASCII letters, for substitution typos. */
static const char *const qwerty[26] = {
    "qwsz",   "vghn",  "xdfv", "serfcx", "wsdr", "drtgvc", "ftyhbv", "gyujnb", "ujko",
    "huikmn", "jiolm", "kop",  "njk",    "bhjm", "iklp",   "ol",     "wa",     "edft",
    "awedxz", "rfgy",  "yhji", "cfgb",   "qase", "zsdc",   "tghu",   "asx"};

static bool is_letter(uint32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0xC0;
}

/* Case pattern of a word: 0 lower, 1 Title, 2 UPPER, 3 other (left as typed). */
static int word_case(const uint32_t *w, size_t n)
{
    size_t up = 0, letters = 0;
    for (size_t i = 0; i < n; i++) {
        if (u_isalpha((UChar32)w[i])) {
            letters++;
            up += u_isupper((UChar32)w[i]) != 0;
        }
    }
    if (up == 0) {
        return 0;
    }
    if (up == letters && letters > 1) {
        return 2;
    }
    if (up == 1 && u_isupper((UChar32)w[0])) {
        return 1;
    }
    return 3;
}

/*
 * Give each word of the edited name @p cp (@p m code points) the case pattern of the
 * same word of the original @p orig: "Anna" with a swap gives "Nana", never "nAna";
 * "Trường Phúc" with a deletion gives "Trườg Phúc".
 */
static void keep_case(const uint32_t *orig, size_t n, uint32_t *cp, size_t m)
{
    size_t oi = 0, ci = 0;
    while (oi < n && ci < m) {
        size_t os = oi, cs = ci;
        while (oi < n && orig[oi] != ' ' && orig[oi] != '-') {
            oi++;
        }
        while (ci < m && cp[ci] != ' ' && cp[ci] != '-') {
            ci++;
        }
        int pattern = word_case(orig + os, oi - os);
        for (size_t i = cs; i < ci && pattern != 3; i++) {
            bool up = pattern == 2 || (pattern == 1 && i == cs);
            cp[i] = (uint32_t)(up ? u_toupper((UChar32)cp[i]) : u_tolower((UChar32)cp[i]));
        }
        oi++; /* past the separator */
        ci++;
    }
}

/*
 * One keying error in @p in: a letter deleted, doubled, replaced (by a QWERTY neighbour
 * for ASCII letters, else by another letter of the same name) or two neighbours swapped.
 * Writes the result to @p out; returns true when it differs from the input.
 */
static bool typo(const char *in, rp_x_buf *out, gsl_rng *r)
{
    uint32_t cp[128];
    size_t n = utf8_decode(in, cp, 128);
    rp_x_buf_reset(out);
    if (n < 2) {
        rp_x_buf_puts(out, in);
        return false;
    }
    uint32_t orig[128];
    memcpy(orig, cp, n * sizeof *cp);
    size_t m;
    for (int attempt = 0; attempt < 4; attempt++) {
        memcpy(cp, orig, n * sizeof *cp);
        m = n;
        size_t pos = gsl_rng_uniform_int(r, n);
        if (!is_letter(cp[pos])) {
            continue;
        }
        switch (gsl_rng_uniform_int(r, 4)) {
        case 0: /* delete */
            memmove(cp + pos, cp + pos + 1, (n - pos - 1) * sizeof *cp);
            m = n - 1;
            break;
        case 1: /* double */
            if (n < 127) {
                memmove(cp + pos + 1, cp + pos, (n - pos) * sizeof *cp);
                m = n + 1;
            }
            break;
        case 2: { /* substitute */
            uint32_t c = cp[pos];
            uint32_t lc = (c >= 'A' && c <= 'Z') ? c + 32 : c;
            if (lc >= 'a' && lc <= 'z') {
                const char *nb = qwerty[lc - 'a'];
                uint32_t s = (uint32_t)nb[gsl_rng_uniform_int(r, strlen(nb))];
                cp[pos] = (c >= 'A' && c <= 'Z') ? s - 32 : s;
            } else {
                /* another letter of the same name (never a space or hyphen) */
                for (int t = 0; t < 8; t++) {
                    uint32_t o = orig[gsl_rng_uniform_int(r, n)];
                    if (is_letter(o)) {
                        cp[pos] = o;
                        break;
                    }
                }
            }
            break;
        }
        default: /* transpose with the next letter */
            if (pos + 1 < n && is_letter(cp[pos + 1])) {
                uint32_t t = cp[pos];
                cp[pos] = cp[pos + 1];
                cp[pos + 1] = t;
            }
            break;
        }
        keep_case(orig, n, cp, m);
        if (m != n || memcmp(cp, orig, n * sizeof *cp) != 0) {
            utf8_encode(out, cp, m);
            return true;
        }
    }
    rp_x_buf_puts(out, in);
    return false;
}

/* Upper-case @p in (UTF-8) with ICU's full case mapping (Turkish rules for tr, az). */
static int upper(const char *in, const char *locale, rp_x_buf *out)
{
    UChar src[256], dst[512];
    int32_t ns = 0, nd;
    UErrorCode st = U_ZERO_ERROR;
    u_strFromUTF8(src, 256, &ns, in, -1, &st);
    if (U_FAILURE(st)) {
        return rp_x_buf_puts(out, in);
    }
    const char *icu_loc = (strcmp(locale, "tr") == 0 || strcmp(locale, "az") == 0) ? locale : "";
    nd = u_strToUpper(dst, 512, src, ns, icu_loc, &st);
    if (U_FAILURE(st)) {
        return rp_x_buf_puts(out, in);
    }
    char tmp[1024];
    int32_t nt = 0;
    u_strToUTF8(tmp, (int32_t)sizeof tmp, &nt, dst, nd, &st);
    if (U_FAILURE(st)) {
        return rp_x_buf_puts(out, in);
    }
    return rp_x_buf_append(out, tmp, (size_t)nt);
}

/* Write @p s as a CSV field (quoted when it holds the delimiter, a quote or a newline). */
static void csv_field(rp_x_buf *b, const char *s, char delim)
{
    bool q = false;
    for (const char *c = s; *c; c++) {
        if (*c == delim || *c == '"' || *c == '\n' || *c == '\r') {
            q = true;
            break;
        }
    }
    size_t n = strlen(s);
    if (n > 0 && (s[0] == ' ' || s[n - 1] == ' ')) {
        q = true;
    }
    if (!q) {
        rp_x_buf_puts(b, s);
        return;
    }
    rp_x_buf_putc(b, '"');
    for (const char *c = s; *c; c++) {
        if (*c == '"') {
            rp_x_buf_putc(b, '"');
        }
        rp_x_buf_putc(b, *c);
    }
    rp_x_buf_putc(b, '"');
}

/* @p v in decimal, zero-padded to @p width digits, at @p out; returns the length. */
static size_t put_num(char *out, unsigned long v, int width)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 && n < 20);
    while (n < width && n < 20) {
        t[n++] = '0';
    }
    for (int i = 0; i < n; i++) {
        out[i] = t[n - 1 - i];
    }
    return (size_t)n;
}

/* Append @p v zero-padded to @p width digits. */
static void buf_num(rp_x_buf *b, unsigned long v, int width)
{
    char t[24];
    rp_x_buf_append(b, t, put_num(t, v, width));
}

/* Append the ISO date YYYY-MM-DD. */
static void buf_date(rp_x_buf *b, int y, int m, int d)
{
    char t[16];
    size_t n = put_num(t, (unsigned long)y, 4);
    t[n++] = '-';
    n += put_num(t + n, (unsigned long)m, 2);
    t[n++] = '-';
    n += put_num(t + n, (unsigned long)d, 2);
    rp_x_buf_append(b, t, n);
}

/* A date with a layout format (%Y %m %d %% and literals). */
static void fmt_date(char *out, size_t size, const char *fmt, int y, int m, int d)
{
    size_t o = 0;
    for (const char *f = fmt; *f && o + 5 < size; f++) {
        if (*f != '%' || f[1] == '\0') {
            out[o++] = *f;
            continue;
        }
        f++;
        switch (*f) {
        case 'Y':
            o += put_num(out + o, (unsigned long)y, 4);
            break;
        case 'm':
            o += put_num(out + o, (unsigned long)m, 2);
            break;
        case 'd':
            o += put_num(out + o, (unsigned long)d, 2);
            break;
        default:
            out[o++] = *f;
            break;
        }
    }
    out[o < size ? o : size - 1] = '\0';
}

/* ==== one agency record ==== */

/* Alpha-3 of an alpha-2 code, from the standard's country table. */
static const char *alpha3_of(const char *a2)
{
    size_t n = rp_data__country_count();
    for (size_t i = 0; i < n; i++) {
        const char *x2, *x3;
        rp_data__country_at(i, &x2, &x3);
        if (x2[0] == a2[0] && x2[1] == a2[1]) {
            return x3;
        }
    }
    return a2;
}

typedef struct render {
    rp_x_buf row, truth;
    rp_x_buf given, family, patr, tmp, full;
} render;

/* Romanise (or not) one name part as list @p l writes it. */
static int name_part(run *R, const char *locale, const char *system, const char *in, rp_x_buf *out)
{
    rp_x_buf_reset(out);
    if (in == NULL || in[0] == '\0') {
        return RP_OK;
    }
    if (system == NULL) {
        return rp_x_buf_puts(out, in);
    }
    const char *s = NULL;
    int rc = rp_sim__translit(R->tr, locale, system, in, &s, R->err);
    if (rc != RP_OK) {
        return rc;
    }
    return rp_x_buf_puts(out, s);
}

/* Whether systems @p a and @p b write some part of name @p nm differently. */
static int name_differs(
    run *R, const char *locale, const char *a, const char *b, const rp_sim_name *nm, bool *differs)
{
    const char *parts[5];
    size_t n = 0;
    for (size_t i = 0; i < nm->n_given; i++) {
        parts[n++] = nm->given[i];
    }
    for (size_t i = 0; i < nm->n_family && n < 5; i++) {
        parts[n++] = nm->family[i];
    }
    *differs = false;
    for (size_t i = 0; i < n && !*differs; i++) {
        const char *x = NULL, *y = NULL;
        int rc = rp_sim__translit(R->tr, locale, a, parts[i], &x, R->err);
        if (rc == RP_OK) {
            rc = rp_sim__translit(R->tr, locale, b, parts[i], &y, R->err);
        }
        if (rc != RP_OK) {
            return rc;
        }
        *differs = strcmp(x, y) != 0;
    }
    return RP_OK;
}

/* The romanisation system list @p l uses for @p locale (NULL: as written). */
static const char *usual_system(const rp_sim_list *l, const char *locale)
{
    bool latin = rp_sim__locale_latin(locale);
    if (l->native_script && !latin) {
        return NULL;
    }
    for (size_t i = 0; i < l->romanisation.n; i++) {
        if (strcmp(l->romanisation.items[i].code, locale) == 0) {
            return l->romanisation_sys[i];
        }
    }
    const char *const *ids = NULL;
    size_t n = rp_sim__translit_systems(locale, &ids);
    return n ? ids[0] : NULL;
}

static void add_col(render *rd, const rp_sim_layout *ly, bool *first, const char *v)
{
    if (!*first) {
        rp_x_buf_putc(&rd->row, ly->delimiter);
    }
    *first = false;
    csv_field(&rd->row, v, ly->delimiter);
}

/* One record being rendered: the list, the person and the decisions drawn so far. */
typedef struct rctx {
    run *R;
    render *rd;
    size_t k;
    const rp_sim_layout *ly;
    const rp_sim_errors *er;
    const person *p;
    gsl_rng *r;
    const char *locale;
    bool has[RP_SIM_COL_COUNT];
    bool names_any;
    uint32_t errs; /* bit e: error e applied */
    /* decisions */
    bool given_missing, masc, bd_missing, sex_missing, cit_missing;
    const char *patr;
    const char *sys;
    char birth[24];
} rctx;

/* Count a record that could have error @p e; draw it with @p rate. @return applied. */
static bool draw_err(rctx *c, int e, double rate)
{
    c->R->eligible[c->k][e]++;
    if (!chance(c->r, rate)) {
        return false;
    }
    c->R->applied[c->k][e]++;
    c->errs |= 1u << e;
    return true;
}

/* Step 1: which name parts are recorded, and in which form. */
static void decide_name_parts(rctx *c)
{
    const person *p = c->p;
    bool has_patr_col = c->has[RP_SIM_COL_PATRONYMIC] || c->has[RP_SIM_COL_FULL_NAME];
    if (c->names_any && (c->has[RP_SIM_COL_GIVEN] || c->has[RP_SIM_COL_FULL_NAME])) {
        c->given_missing = draw_err(c, E_MISSING_GIVEN, c->er->missing_given);
    }
    c->patr = p->name.patronymic;
    if (c->patr != NULL && has_patr_col &&
        draw_err(c, E_PATRONYMIC_DROPPED, c->er->patronymic_dropped)) {
        c->patr = NULL;
    }
    if (p->sex == RP_SEX_FEMALE && c->names_any) {
        bool differs = false;
        for (size_t i = 0; i < p->name.n_family; i++) {
            differs |= p->name.family_masc[i] != NULL &&
                       strcmp(p->name.family_masc[i], p->name.family[i]) != 0;
        }
        if (differs) {
            c->masc = draw_err(c, E_MASCULINE_SURNAME, c->er->masculine_surname);
        }
    }
}

/* Step 2: the script and romanisation system the name is written in. */
static int choose_system(rctx *c)
{
    run *R = c->R;
    const person *p = c->p;
    c->sys = R->usual[c->k][p->loc];
    if (!c->names_any) {
        return RP_OK;
    }
    const char *const *ids = R->sys_ids[p->loc];
    size_t ns = R->n_sys[p->loc];
    if (c->sys == NULL && !R->latin[p->loc] && ns > 0) {
        /* a native-script list: the variant is a romanised record */
        if (draw_err(c, E_TRANSLIT, c->er->translit)) {
            c->sys = ids[gsl_rng_uniform_int(c->r, ns)];
        }
        return RP_OK;
    }
    if (c->sys == NULL || ns < 2) {
        return RP_OK;
    }
    /* eligible when another system writes this name differently (a Latin name without
       marks reads the same in "native" and "ascii") */
    const char *alt[16];
    size_t n_alt = 0;
    for (size_t i = 0; i < ns && n_alt < 16; i++) {
        if (strcmp(ids[i], c->sys) == 0) {
            continue;
        }
        bool differs = false;
        int rc = name_differs(R, c->locale, c->sys, ids[i], &p->name, &differs);
        if (rc != RP_OK) {
            return rc;
        }
        if (differs) {
            alt[n_alt++] = ids[i];
        }
    }
    if (n_alt > 0 && draw_err(c, E_TRANSLIT, c->er->translit)) {
        c->sys = alt[gsl_rng_uniform_int(c->r, n_alt)];
    }
    return RP_OK;
}

/* Write the @p n parts (borrowed) as romanised by the chosen system, space-separated. */
static int join_parts(rctx *c, rp_x_buf *out, const char *const *parts, size_t n)
{
    rp_x_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        int rc = name_part(c->R, c->locale, c->sys, parts[i], &c->rd->tmp);
        if (rc != RP_OK) {
            return rc;
        }
        if (i > 0) {
            rp_x_buf_putc(out, ' ');
        }
        rp_x_buf_puts(out, rp_x_buf_cstr(&c->rd->tmp));
    }
    return RP_OK;
}

/* A keying error in @p b with the list's typo rate (error @p e). */
static void maybe_typo(rctx *c, rp_x_buf *b, int e)
{
    if (rp_x_buf_cstr(b)[0] == '\0') {
        return;
    }
    c->R->eligible[c->k][e]++;
    if (chance(c->r, c->er->typo) && typo(rp_x_buf_cstr(b), &c->rd->tmp, c->r)) {
        rp_x_buf_reset(b);
        rp_x_buf_puts(b, rp_x_buf_cstr(&c->rd->tmp));
        c->R->applied[c->k][e]++;
        c->errs |= 1u << e;
    }
}

/* Steps 3 and 4: the name parts as written, keying errors, capitals, the order. */
static int build_names(rctx *c)
{
    render *rd = c->rd;
    const person *p = c->p;
    rp_x_buf_reset(&rd->given);
    rp_x_buf_reset(&rd->family);
    rp_x_buf_reset(&rd->patr);
    if (!c->names_any) {
        return RP_OK;
    }
    int rc = RP_OK;
    if (!c->given_missing) {
        rc = join_parts(c, &rd->given, p->name.given, p->name.n_given);
    }
    if (rc == RP_OK) {
        rc = join_parts(c, &rd->family, c->masc ? p->name.family_masc : p->name.family,
                        p->name.n_family);
    }
    if (rc == RP_OK && c->patr != NULL) {
        rc = join_parts(c, &rd->patr, &c->patr, 1);
    }
    if (rc != RP_OK) {
        return rc;
    }
    maybe_typo(c, &rd->given, E_TYPO_GIVEN);
    maybe_typo(c, &rd->family, E_TYPO_FAMILY);
    if (c->ly->family_upper && rp_x_buf_cstr(&rd->family)[0]) {
        rp_x_buf_reset(&rd->tmp);
        upper(rp_x_buf_cstr(&rd->family), c->locale, &rd->tmp);
        rp_x_buf_reset(&rd->family);
        rp_x_buf_puts(&rd->family, rp_x_buf_cstr(&rd->tmp));
    }
    if (rp_x_buf_cstr(&rd->given)[0] && draw_err(c, E_ORDER_SWAP, c->er->order_swap)) {
        rp_x_buf t = rd->given;
        rd->given = rd->family;
        rd->family = t;
    }
    if (rp_x_buf_oom(&rd->given) || rp_x_buf_oom(&rd->family) || rp_x_buf_oom(&rd->patr)) {
        return rp_error_set(c->R->err, RP_ENOMEM, "out of memory");
    }
    return RP_OK;
}

/* Steps 5 and 6: birth date, sex and citizenship. */
static void decide_birth_and_codes(rctx *c)
{
    const person *p = c->p;
    c->bd_missing = !c->has[RP_SIM_COL_BIRTH_DATE];
    if (c->has[RP_SIM_COL_BIRTH_DATE]) {
        c->bd_missing = draw_err(c, E_MISSING_BIRTH_DATE, c->er->missing_birth_date);
    }
    if (!c->bd_missing) {
        int by = p->by, bm = p->bm, bd = p->bd;
        if (draw_err(c, E_WRONG_BIRTH_YEAR, c->er->wrong_birth_year)) {
            by += gsl_rng_uniform(c->r) < 0.5 ? -1 : 1;
            if (bm == 2 && bd == 29 && !rp_data__is_leap_year(by)) {
                bd = 28;
            }
        }
        const char *f = c->ly->birth_date_format;
        if (strstr(f, "%d") && strstr(f, "%m") && bd <= 12 && bd != bm &&
            draw_err(c, E_DAY_MONTH_SWAP, c->er->day_month_swap)) {
            int t = bd;
            bd = bm;
            bm = t;
        }
        fmt_date(c->birth, sizeof c->birth, f, by, bm, bd);
    }
    if (c->has[RP_SIM_COL_SEX]) {
        c->sex_missing = draw_err(c, E_MISSING_SEX, c->er->missing_sex);
    }
    if (c->has[RP_SIM_COL_CITIZENSHIP]) {
        c->cit_missing = draw_err(c, E_MISSING_CITIZENSHIP, c->er->missing_citizenship);
    }
}

/* The full-name column: given [patronymic] family, or family given [patronymic]. */
static const char *full_name(rctx *c)
{
    render *rd = c->rd;
    rp_x_buf_reset(&rd->full);
    const char *g = rp_x_buf_cstr(&rd->given), *f = rp_x_buf_cstr(&rd->family),
               *pa = rp_x_buf_cstr(&rd->patr);
    const char *parts[3] = {g, pa, f};
    if (c->ly->full_name_family_first) {
        parts[0] = f;
        parts[1] = g;
        parts[2] = pa;
    }
    for (size_t i = 0; i < 3; i++) {
        if (parts[i][0] == '\0') {
            continue;
        }
        if (rd->full.len > 0) {
            rp_x_buf_putc(&rd->full, ' ');
        }
        rp_x_buf_puts(&rd->full, parts[i]);
    }
    return rp_x_buf_cstr(&rd->full);
}

/* A multi-valued column (forms of exploitation or labour sectors) in the agency's codes. */
static const char *codes_text(rctx *c, bool expl)
{
    const rp_sim_layout *ly = c->ly;
    uint32_t bits = expl ? c->p->expl : c->p->sectors;
    const char(*codes)[RP_SIM_CODE_MAX] = expl ? ly->expl_codes : ly->sector_codes;
    unsigned nb = expl ? RP_SIM_EXPL_COUNT : RP_SIM_SECTOR_COUNT;
    rp_x_buf *t = &c->rd->tmp;
    rp_x_buf_reset(t);
    for (unsigned b = 0; b < nb; b++) {
        if (bits & (1u << b)) {
            if (t->len > 0) {
                rp_x_buf_puts(t, ly->multi_sep);
            }
            rp_x_buf_puts(t, codes[b]);
        }
    }
    return rp_x_buf_cstr(t);
}

/* The value of column @p col of the record (borrowed; "" = missing). */
static const char *
column_value(rctx *c, rp_sim_col col, size_t num, const record *rec, char *buf, size_t size)
{
    const rp_sim_layout *ly = c->ly;
    const person *p = c->p;
    const rp_sim_population *pop = &c->R->sc->pop;
    switch (col) {
    case RP_SIM_COL_CASE_ID: {
        size_t pl = rp_x_strlcpy(buf, ly->case_prefix, size);
        buf[pl + put_num(buf + pl, num, 6)] = '\0';
        return buf;
    }
    case RP_SIM_COL_REG_DATE:
        fmt_date(buf, size, ly->date_format, rec->year, rec->month, rec->day);
        return buf;
    case RP_SIM_COL_REG_YEAR:
        buf[put_num(buf, (unsigned long)rec->year, 1)] = '\0';
        return buf;
    case RP_SIM_COL_STATUS:
        return ly->status_codes[rec->identified ? 1 : 0];
    case RP_SIM_COL_FAMILY:
        return rp_x_buf_cstr(&c->rd->family);
    case RP_SIM_COL_GIVEN:
        return rp_x_buf_cstr(&c->rd->given);
    case RP_SIM_COL_PATRONYMIC:
        return rp_x_buf_cstr(&c->rd->patr);
    case RP_SIM_COL_FULL_NAME:
        return full_name(c);
    case RP_SIM_COL_BIRTH_DATE:
        return c->bd_missing ? "" : c->birth;
    case RP_SIM_COL_SEX:
        return c->sex_missing ? "" : ly->sex_codes[p->sex == RP_SEX_FEMALE ? 0 : 1];
    case RP_SIM_COL_AGE: {
        int a = age_at(p->by, p->bm, p->bd, rec->year, rec->month, rec->day);
        buf[put_num(buf, (unsigned long)a, 1)] = '\0';
        return buf;
    }
    case RP_SIM_COL_CITIZENSHIP:
        if (c->cit_missing) {
            return "";
        }
        return ly->country_alpha3 ? c->R->nat_a3[p->nat] : pop->nationalities[p->nat].country;
    case RP_SIM_COL_COUNTRY:
        return ly->country_alpha3 ? c->R->country_a3[p->country]
                                  : pop->countries.items[p->country].code;
    case RP_SIM_COL_EXPLOITATION:
        return codes_text(c, true);
    case RP_SIM_COL_SECTOR:
        return codes_text(c, false);
    case RP_SIM_COL_DOCUMENT:
        return p->doc;
    case RP_SIM_COL_COUNT:
        break;
    }
    return "";
}

/* truth.csv: list,case_id,person_id,duplicate,errors */
static void truth_row(rctx *c, size_t num, const record *rec)
{
    rp_x_buf *t = &c->rd->truth;
    rp_x_buf_reset(t);
    rp_x_buf_puts(t, c->R->sc->lists[c->k].code);
    rp_x_buf_putc(t, ',');
    rp_x_buf_puts(t, c->ly->case_prefix);
    buf_num(t, num, 6);
    rp_x_buf_puts(t, ",P");
    buf_num(t, c->p->id, 7);
    rp_x_buf_puts(t, rec->dup ? ",1," : ",0,");
    bool any = false;
    for (int e = 0; e < E_COUNT; e++) {
        if (c->errs & (1u << e)) {
            if (any) {
                rp_x_buf_putc(t, ';');
            }
            rp_x_buf_puts(t, error_names[e]);
            any = true;
        }
    }
    rp_x_buf_putc(t, '\n');
}

/* Render record @p rec of list @p k (case number @p num) into rd->row and rd->truth. */
static int render_record(run *R, render *rd, size_t k, size_t num, const record *rec)
{
    rctx c;
    memset(&c, 0, sizeof c);
    c.R = R;
    c.rd = rd;
    c.k = k;
    c.ly = &R->sc->lists[k].layout;
    c.er = &R->sc->lists[k].errors;
    c.p = &R->people[rec->person];
    c.r = R->rrec;
    c.locale = R->loc_name[c.p->loc];
    for (int col = 0; col < RP_SIM_COL_COUNT; col++) {
        c.has[col] = c.ly->columns[col][0] != '\0';
    }
    c.names_any =
        c.has[RP_SIM_COL_GIVEN] || c.has[RP_SIM_COL_FAMILY] || c.has[RP_SIM_COL_FULL_NAME];
    decide_name_parts(&c);
    int rc = choose_system(&c);
    if (rc == RP_OK) {
        rc = build_names(&c);
    }
    if (rc != RP_OK) {
        return rc;
    }
    decide_birth_and_codes(&c);
    /* the row, column by column in the layout's order */
    rp_x_buf_reset(&rd->row);
    bool first = true;
    char buf[64];
    for (int col = 0; col < RP_SIM_COL_COUNT; col++) {
        if (c.has[col]) {
            const char *v = column_value(&c, (rp_sim_col)col, num, rec, buf, sizeof buf);
            add_col(rd, c.ly, &first, v[0] ? v : c.ly->missing);
        }
    }
    rp_x_buf_putc(&rd->row, '\n');
    truth_row(&c, num, rec);
    if (rp_x_buf_oom(&rd->row) || rp_x_buf_oom(&rd->truth)) {
        return rp_error_set(R->err, RP_ENOMEM, "out of memory");
    }
    return RP_OK;
}

/* ==== files ==== */

static int open_out(run *R, FILE **f, const char *name)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", R->stage, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        return rp_error_set(R->err, RP_EINVAL, "output path too long");
    }
    *f = fopen(path, "wb");
    if (*f == NULL) {
        int e = errno;
        rp_error_set_at(R->err, RP_EIO, path, 0, 0, "cannot create: %s", strerror(e));
        rp_x_error_sys(R->err, e);
        return RP_EIO;
    }
    setvbuf(*f, NULL, _IOFBF, 1u << 16);
    return RP_OK;
}

static int close_out(run *R, FILE *f, const char *name)
{
    if (ferror(f) | fclose(f)) {
        return rp_error_set_at(R->err, RP_EIO, name, 0, 0, "write failed");
    }
    return RP_OK;
}

static int write_text(run *R, const char *name, const char *text)
{
    FILE *f = NULL;
    int rc = open_out(R, &f, name);
    if (rc != RP_OK) {
        return rc;
    }
    fputs(text, f);
    return close_out(R, f, name);
}

static int cmp_record(const void *a, const void *b)
{
    const record *x = a, *y = b;
    int c = cmp_date(x->year, x->month, x->day, y->year, y->month, y->day);
    if (c != 0) {
        return c;
    }
    return (x->key > y->key) - (x->key < y->key);
}

static int write_list(run *R, size_t k, render *rd, FILE *truth)
{
    const rp_sim_list *l = &R->sc->lists[k];
    const rp_sim_layout *ly = &l->layout;
    char name[RP_DATA_ID_MAX + 32];
    snprintf(name, sizeof name, "%s.csv", l->code);
    FILE *f = NULL;
    int rc = open_out(R, &f, name);
    if (rc != RP_OK) {
        return rc;
    }
    /* header */
    rp_x_buf_reset(&rd->row);
    bool first = true;
    for (int c = 0; c < RP_SIM_COL_COUNT; c++) {
        if (ly->columns[c][0]) {
            add_col(rd, ly, &first, ly->columns[c]);
        }
    }
    rp_x_buf_putc(&rd->row, '\n');
    fwrite(rp_x_buf_cstr(&rd->row), 1, rd->row.len, f);
    list_records *lr = &R->recs[k];
    qsort(lr->items, lr->n, sizeof *lr->items, cmp_record);
    for (size_t i = 0; i < lr->n && rc == RP_OK; i++) {
        rc = render_record(R, rd, k, i + 1, &lr->items[i]);
        if (rc == RP_OK) {
            fwrite(rp_x_buf_cstr(&rd->row), 1, rd->row.len, f);
            fwrite(rp_x_buf_cstr(&rd->truth), 1, rd->truth.len, truth);
        }
    }
    int rc2 = close_out(R, f, name);
    if (rc != RP_OK) {
        return rc;
    }
    if (rc2 != RP_OK) {
        return rc2;
    }
    char *mapping = rp_sim__mapping_json(l);
    if (mapping == NULL) {
        return rp_error_set(R->err, RP_ENOMEM, "out of memory");
    }
    snprintf(name, sizeof name, "%s.mapping.json", l->code);
    rc = write_text(R, name, mapping);
    rp_free(mapping);
    return rc;
}

/* One persons.csv row. */
static void person_row(const run *R, rp_x_buf *b, rp_x_buf *g, const person *p, unsigned hist)
{
    const rp_sim_population *pop = &R->sc->pop;
    const rp_sim_nationality *na = &pop->nationalities[p->nat];
    const char *loc = R->loc_name[p->loc];
    rp_x_buf_reset(b);
    rp_x_buf_putc(b, 'P');
    buf_num(b, p->id, 7);
    rp_x_buf_puts(b, p->sex == RP_SEX_FEMALE ? ",female," : ",male,");
    buf_date(b, p->by, p->bm, p->bd);
    rp_x_buf_putc(b, ',');
    buf_num(b, p->age, 1);
    rp_x_buf_putc(b, ',');
    rp_x_buf_puts(b, na->country);
    rp_x_buf_putc(b, ',');
    rp_x_buf_puts(b, loc);
    rp_x_buf_putc(b, ',');
    /* names hold no comma, quote or newline (csv_field would quote them) */
    rp_x_buf_reset(g);
    for (size_t i = 0; i < p->name.n_given; i++) {
        if (i) {
            rp_x_buf_putc(g, ' ');
        }
        rp_x_buf_puts(g, p->name.given[i]);
    }
    csv_field(b, rp_x_buf_cstr(g), ',');
    rp_x_buf_putc(b, ',');
    rp_x_buf_reset(g);
    for (size_t i = 0; i < p->name.n_family; i++) {
        if (i) {
            rp_x_buf_putc(g, ' ');
        }
        rp_x_buf_puts(g, p->name.family[i]);
    }
    csv_field(b, rp_x_buf_cstr(g), ',');
    rp_x_buf_putc(b, ',');
    csv_field(b, p->name.patronymic ? p->name.patronymic : "", ',');
    rp_x_buf_putc(b, ',');
    rp_x_buf_puts(b, p->doc);
    rp_x_buf_putc(b, ',');
    rp_x_buf_puts(b, pop->countries.items[p->country].code);
    rp_x_buf_putc(b, ',');
    buf_date(b, p->year, p->month, p->day);
    rp_x_buf_putc(b, ',');
    bool any = false;
    for (unsigned i = 0; i < RP_SIM_EXPL_COUNT; i++) {
        if (p->expl & (1u << i)) {
            if (any) {
                rp_x_buf_putc(b, ';');
            }
            rp_x_buf_puts(b, rp_code_name(RP_FIELD_EXPLOITATION, i));
            any = true;
        }
    }
    rp_x_buf_putc(b, ',');
    any = false;
    for (unsigned i = 0; i < RP_SIM_SECTOR_COUNT; i++) {
        if (p->sectors & (1u << i)) {
            if (any) {
                rp_x_buf_putc(b, ';');
            }
            rp_x_buf_puts(b, rp_code_name(RP_FIELD_LABOUR_SECTORS, i));
            any = true;
        }
    }
    rp_x_buf_putc(b, ',');
    for (size_t k = 0; k < R->K; k++) {
        rp_x_buf_putc(b, (hist >> k) & 1u ? '1' : '0');
    }
    rp_x_buf_putc(b, '\n');
}

/* ==== set-up and summary ==== */

/* Load the name lists of every locale the population uses. */
static int setup_names(run *R)
{
    const rp_sim_population *pop = &R->sc->pop;
    rp_x_strvec locs;
    memset(&locs, 0, sizeof locs);
    for (size_t i = 0; i < pop->n_nationalities; i++) {
        for (size_t j = 0; j < pop->nationalities[i].n_locales; j++) {
            const char *lc = pop->nationalities[i].locales[j];
            bool seen = false;
            for (size_t q = 0; q < locs.n; q++) {
                seen |= strcmp(locs.items[q], lc) == 0;
            }
            if (!seen && rp_x_strvec_push(&locs, lc) != RP_OK) {
                rp_x_strvec_release(&locs);
                return rp_error_set(R->err, RP_ENOMEM, "out of memory");
            }
        }
    }
    int rc = rp_sim__names_load(&R->names, R->opts->names_dir, (const char *const *)locs.items,
                                locs.n, R->err);
    rp_x_strvec_release(&locs);
    return rc;
}

/* The codes of a weighted vector of exploitation forms or sectors as RP_* bits. */
static uint32_t *code_bits(const rp_sim_wvec *v, rp_field f)
{
    uint32_t *bits = rp_calloc(v->n + 1, sizeof *bits);
    for (size_t i = 0; bits != NULL && i < v->n; i++) {
        bits[i] = bit_of_code(f, v->items[i].code);
    }
    return bits;
}

/* One nationality's locale weights, names indices and exploitation override. */
static int setup_nationality(run *R, size_t i)
{
    const rp_sim_nationality *na = &R->sc->pop.nationalities[i];
    rp_sim_wvec lv;
    rp_sim_weighted lw[RP_SIM_LOCALES_MAX];
    memset(lw, 0, sizeof lw);
    lv.items = lw;
    lv.n = na->n_locales;
    for (size_t j = 0; j < na->n_locales; j++) {
        lw[j].w = na->locale_w[j];
        size_t ix = rp_sim__names_index(R->names, na->locales[j]);
        if (ix == SIZE_MAX) {
            return rp_error_set(R->err, RP_EINTERNAL, "locale %s not loaded", na->locales[j]);
        }
        if (ix >= LOCALES_MAX) {
            return rp_error_set(R->err, RP_EINVAL, "more than %d name locales", LOCALES_MAX);
        }
        R->nat_loc_idx[i * RP_SIM_LOCALES_MAX + j] = ix;
        /* what each record of this locale needs, per list */
        R->loc_name[ix] = na->locales[j];
        R->n_sys[ix] = rp_sim__translit_systems(na->locales[j], &R->sys_ids[ix]);
        R->latin[ix] = rp_sim__locale_latin(na->locales[j]);
        for (size_t k = 0; k < R->K; k++) {
            R->usual[k][ix] = usual_system(&R->sc->lists[k], na->locales[j]);
        }
    }
    if (cumw_make(&R->nat_loc[i], &lv) != RP_OK ||
        cumw_make(&R->nat_expl[i], &na->exploitation) != RP_OK) {
        return rp_error_set(R->err, RP_ENOMEM, "out of memory");
    }
    if (na->exploitation.n) {
        R->nat_expl_bits[i] = code_bits(&na->exploitation, RP_FIELD_EXPLOITATION);
        if (R->nat_expl_bits[i] == NULL) {
            return rp_error_set(R->err, RP_ENOMEM, "out of memory");
        }
    }
    R->nat_a3[i] = alpha3_of(na->country);
    return RP_OK;
}

/* The population's weighted choices as cumulative weights and codes. */
static int setup_weights(run *R)
{
    const rp_sim_population *pop = &R->sc->pop;
    size_t n = pop->n_nationalities;
    rp_sim_wvec natv;
    natv.n = n;
    natv.items = rp_calloc(n, sizeof *natv.items);
    R->nat_loc = rp_calloc(n, sizeof *R->nat_loc);
    R->nat_expl = rp_calloc(n, sizeof *R->nat_expl);
    R->nat_expl_bits = rp_calloc(n, sizeof *R->nat_expl_bits);
    R->nat_loc_idx = rp_calloc(n * RP_SIM_LOCALES_MAX, sizeof *R->nat_loc_idx);
    R->nat_a3 = rp_calloc(n, sizeof *R->nat_a3);
    R->country_a3 = rp_calloc(pop->countries.n + 1, sizeof *R->country_a3);
    R->expl_bits = code_bits(&pop->exploitation, RP_FIELD_EXPLOITATION);
    R->sector_bits = code_bits(&pop->sectors, RP_FIELD_LABOUR_SECTORS);
    int rc = RP_OK;
    if (!natv.items || !R->nat_loc || !R->nat_expl || !R->nat_expl_bits || !R->nat_loc_idx ||
        !R->nat_a3 || !R->country_a3 || !R->expl_bits || !R->sector_bits) {
        rc = RP_ENOMEM;
    }
    for (size_t i = 0; rc == RP_OK && i < n; i++) {
        natv.items[i].w = pop->nationalities[i].share;
    }
    rc = rc ? rc : cumw_make(&R->nat, &natv);
    rp_free(natv.items);
    rc = rc ? rc : cumw_make(&R->countries, &pop->countries);
    rc = rc ? rc : cumw_make(&R->expl, &pop->exploitation);
    rc = rc ? rc : cumw_make(&R->sectors, &pop->sectors);
    if (rc != RP_OK) {
        return rp_error_set(R->err, RP_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < pop->countries.n; i++) {
        R->country_a3[i] = alpha3_of(pop->countries.items[i].code);
    }
    for (size_t i = 0; rc == RP_OK && i < n; i++) {
        rc = setup_nationality(R, i);
    }
    return rc;
}

/* The capture model's logits and the profile memo. */
static int setup_model(run *R)
{
    for (size_t k = 0; k < R->K; k++) {
        double p = R->sc->lists[k].p;
        R->logit_p[k] = log(p / (1.0 - p));
    }
    size_t budget = (size_t)64 << 20; /* bytes of memoised distributions */
    R->max_prof = budget / (R->n_cells * sizeof(double) + 64);
    if (R->max_prof > 65536) {
        R->max_prof = 65536;
    }
    if (R->max_prof < 1) {
        R->max_prof = 1;
    }
    R->cap_prof = 1;
    while (R->cap_prof < 2 * R->max_prof) {
        R->cap_prof <<= 1;
    }
    R->prof = rp_calloc(R->cap_prof, sizeof *R->prof);
    R->scratch = rp_calloc(R->n_cells, sizeof(double));
    R->expected = rp_calloc(R->n_cells, sizeof(double));
    if (!R->prof || !R->scratch || !R->expected) {
        return rp_error_set(R->err, RP_ENOMEM, "out of memory");
    }
    return RP_OK;
}

static int setup(run *R)
{
    const rp_sim_scenario *sc = R->sc;
    R->K = sc->n_lists;
    R->n_cells = (size_t)1 << R->K;
    int rc = setup_names(R);
    if (rc == RP_OK) {
        rc = rp_sim__translit_new(&R->tr, R->err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    uint64_t seed = R->opts->seed_set ? R->opts->seed : sc->seed;
    R->rpop = stream(seed, 1);
    R->rcap = stream(seed, 2);
    R->rrec = stream(seed, 3);
    if (!R->rpop || !R->rcap || !R->rrec) {
        return rp_error_set(R->err, RP_ENOMEM, "out of memory");
    }
    rc = setup_weights(R);
    if (rc != RP_OK) {
        return rc;
    }
    R->age_scale = adult_scale(sc->pop.adult_age_mean);
    return setup_model(R);
}

static void teardown(run *R)
{
    rp_sim__names_free(R->names);
    rp_sim__translit_free(R->tr);
    if (R->rpop) {
        gsl_rng_free(R->rpop);
    }
    if (R->rcap) {
        gsl_rng_free(R->rcap);
    }
    if (R->rrec) {
        gsl_rng_free(R->rrec);
    }
    rp_free(R->nat.c);
    rp_free(R->countries.c);
    rp_free(R->expl.c);
    rp_free(R->sectors.c);
    if (R->nat_loc) {
        for (size_t i = 0; i < R->sc->pop.n_nationalities; i++) {
            rp_free(R->nat_loc[i].c);
            rp_free(R->nat_expl[i].c);
            rp_free(R->nat_expl_bits[i]);
        }
    }
    rp_free(R->nat_loc);
    rp_free(R->nat_expl);
    rp_free(R->nat_expl_bits);
    rp_free(R->nat_loc_idx);
    rp_free(R->nat_a3);
    rp_free(R->country_a3);
    rp_free(R->expl_bits);
    rp_free(R->sector_bits);
    if (R->prof) {
        for (size_t i = 0; i < R->cap_prof; i++) {
            rp_free(R->prof[i].eta);
            rp_free(R->prof[i].cdf);
        }
    }
    rp_free(R->prof);
    rp_free(R->scratch);
    rp_free(R->expected);
    rp_free(R->people);
    for (size_t k = 0; k < RP_SIM_LISTS_MAX; k++) {
        rp_free(R->recs[k].items);
    }
}

/* Odds ratio of lists j and k from 2^K cell counts (NAN when a margin cell is 0). */
static double odds_ratio(const double *cells, size_t n_cells, size_t j, size_t k)
{
    double t[2][2] = {{0, 0}, {0, 0}};
    for (size_t c = 0; c < n_cells; c++) {
        t[(c >> j) & 1u][(c >> k) & 1u] += cells[c];
    }
    if (t[0][1] <= 0 || t[1][0] <= 0) {
        return NAN;
    }
    return t[1][1] * t[0][0] / (t[0][1] * t[1][0]);
}

static json_t *jnum(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static char *summary(const run *R, uint64_t seed)
{
    const rp_sim_scenario *sc = R->sc;
    json_t *o = json_object();
    json_object_set_new(o, "scenario", json_string(sc->name));
    json_object_set_new(o, "seed", json_integer((json_int_t)seed));
    json_object_set_new(o, "population", json_integer((json_int_t)sc->pop.size));
    double observed = 0;
    for (size_t c = 1; c < R->n_cells; c++) {
        observed += R->realised[c];
    }
    json_object_set_new(o, "observed", json_integer((json_int_t)observed));
    json_object_set_new(o, "expected_observed", json_real((double)sc->pop.size - R->expected[0]));
    json_t *lists = json_array();
    for (size_t k = 0; k < R->K; k++) {
        const rp_sim_list *l = &sc->lists[k];
        double people = 0;
        for (size_t c = 0; c < R->n_cells; c++) {
            if (c & ((size_t)1 << k)) {
                people += R->realised[c];
            }
        }
        json_t *e = json_object();
        json_object_set_new(e, "code", json_string(l->code));
        json_object_set_new(e, "p", json_real(l->p));
        json_object_set_new(e, "people", json_integer((json_int_t)people));
        json_object_set_new(e, "expected_people", json_real(R->exp_list[k]));
        json_object_set_new(e, "sd_people", json_real(sqrt(R->var_list[k])));
        json_object_set_new(e, "records", json_integer((json_int_t)R->recs[k].n));
        json_object_set_new(e, "duplicates", json_integer((json_int_t)R->dups[k]));
        json_object_set_new(e, "duplicate_rate", json_real(l->duplicates));
        json_t *errs = json_object();
        const double *rate = &l->errors.typo;
        for (int x = 0; x < E_COUNT; x++) {
            /* typo_given and typo_family share the rate "typo"; the rest follow the order
               of rp_sim_errors after it */
            static const int field_of[E_COUNT] = {0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
            json_t *v = json_object();
            json_object_set_new(v, "rate", json_real(rate[field_of[x]]));
            json_object_set_new(v, "eligible", json_integer((json_int_t)R->eligible[k][x]));
            json_object_set_new(v, "applied", json_integer((json_int_t)R->applied[k][x]));
            json_object_set_new(errs, error_names[x], v);
        }
        json_object_set_new(e, "errors", errs);
        json_array_append_new(lists, e);
    }
    json_object_set_new(o, "lists", lists);
    json_t *pairs = json_array();
    for (size_t j = 0; j < R->K; j++) {
        for (size_t k = j + 1; k < R->K; k++) {
            json_t *e = json_object();
            json_t *ls = json_array();
            json_array_append_new(ls, json_string(sc->lists[j].code));
            json_array_append_new(ls, json_string(sc->lists[k].code));
            json_object_set_new(e, "lists", ls);
            json_object_set_new(e, "expected_odds_ratio",
                                jnum(odds_ratio(R->expected, R->n_cells, j, k)));
            json_object_set_new(e, "odds_ratio", jnum(odds_ratio(R->realised, R->n_cells, j, k)));
            json_array_append_new(pairs, e);
        }
    }
    json_object_set_new(o, "pairs", pairs);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(o);
    if (s == NULL) {
        return NULL;
    }
    char *r = rp_malloc(strlen(s) + 2);
    if (r != NULL) {
        memcpy(r, s, strlen(s));
        r[strlen(s)] = '\n';
        r[strlen(s) + 1] = '\0';
    }
    free(s); /* NOLINT: Jansson's allocator */
    return r;
}

/* The population, streamed to persons.csv; the captured people and their records kept. */
static int draw_population(run *R, render *rd)
{
    FILE *fp = NULL;
    int rc = open_out(R, &fp, "persons.csv");
    if (rc != RP_OK) {
        return rc;
    }
    fputs("person_id,sex,birth_date,age,citizenship,locale,given_name,family_name,patronymic,"
          "document_number,country_of_exploitation,identification_date,exploitation,"
          "labour_sectors,capture_history\n",
          fp);
    const rp_sim_run_opts *opts = R->opts;
    uint64_t N = R->sc->pop.size;
    uint64_t step = N / 200 + 1;
    for (uint64_t i = 0; i < N && rc == RP_OK; i++) {
        person p;
        draw_person(R, (uint32_t)(i + 1), &p);
        unsigned hist = 0;
        rc = capture(R, &p, &hist);
        if (rc != RP_OK) {
            break;
        }
        p.hist = (uint16_t)hist;
        R->realised[hist] += 1.0;
        person_row(R, &rd->row, &rd->tmp, &p, hist);
        fwrite(rp_x_buf_cstr(&rd->row), 1, rd->row.len, fp);
        if (hist != 0) {
            if (R->n_people == R->cap_people &&
                rp_x_grow(&R->people, &R->cap_people, R->n_people + 1, sizeof *R->people) !=
                    RP_OK) {
                rc = RP_ENOMEM;
                break;
            }
            R->people[R->n_people] = p;
            rc = make_records(R, (uint32_t)R->n_people, hist);
            R->n_people++;
        }
        if (opts->progress && i % step == 0) {
            opts->progress(opts->progress_ctx, 0.6 * (double)i / (double)N);
        }
    }
    if (rc != RP_OK) {
        fclose(fp);
        return rp_error_set(R->err, RP_ENOMEM, "out of memory");
    }
    rc = close_out(R, fp, "persons.csv");
    if (rc == RP_OK) {
        expected_finish(R);
    }
    return rc;
}

/* captures.csv: the true capture histories, one row per observed history. */
static int write_captures(run *R, rp_x_buf *b)
{
    rp_x_buf_reset(b);
    for (size_t k = 0; k < R->K; k++) {
        rp_x_buf_puts(b, R->sc->lists[k].code);
        rp_x_buf_putc(b, ',');
    }
    rp_x_buf_puts(b, "count\n");
    for (size_t c = 1; c < R->n_cells; c++) {
        if (R->realised[c] > 0) {
            for (size_t k = 0; k < R->K; k++) {
                rp_x_buf_puts(b, (c >> k) & 1u ? "1," : "0,");
            }
            rp_x_buf_printf(b, "%.0f\n", R->realised[c]);
        }
    }
    if (rp_x_buf_oom(b)) {
        return rp_error_set(R->err, RP_ENOMEM, "out of memory");
    }
    return write_text(R, "captures.csv", rp_x_buf_cstr(b));
}

/* The agencies' files, their mappings, truth.csv and captures.csv. */
static int write_records(run *R, render *rd)
{
    FILE *ft = NULL;
    int rc = open_out(R, &ft, "truth.csv");
    if (rc != RP_OK) {
        return rc;
    }
    fputs("list,case_id,person_id,duplicate,errors\n", ft);
    for (size_t k = 0; k < R->K && rc == RP_OK; k++) {
        rc = write_list(R, k, rd, ft);
        if (R->opts->progress) {
            R->opts->progress(R->opts->progress_ctx, 0.6 + 0.4 * (double)(k + 1) / (double)R->K);
        }
    }
    if (rc != RP_OK) {
        fclose(ft);
        return rc;
    }
    rc = close_out(R, ft, "truth.csv");
    return rc == RP_OK ? write_captures(R, &rd->row) : rc;
}

/* ==== the output folder ==== */

static int dir_state(const char *path, bool *exists, bool *empty)
{
    rp_x_strvec names = RP_X_STRVEC_INIT;
    int rc = rp_x_dir_list(&names, path);
    bool absent = rc == RP_EIO && errno == ENOENT;
    *exists = rc == RP_OK;
    *empty = names.n == 0;
    rp_x_strvec_release(&names);
    return absent ? RP_OK : rc;
}

int rp_sim_run(const rp_sim_scenario *sc,
               const rp_sim_run_opts *opts,
               char **summary_json,
               rp_error *err)
{
    if (summary_json) {
        *summary_json = NULL;
    }
    if (sc == NULL || opts == NULL || opts->version != RP_SIM_RUN_OPTS_VERSION ||
        opts->names_dir == NULL || opts->out_dir == NULL || opts->out_dir[0] == '\0') {
        return rp_error_set(err, RP_EINVAL,
                            "rp_sim_run needs a scenario, a names folder and "
                            "an output folder");
    }
    if (sc->n_lists < 2 || sc->n_lists > RP_SIM_LISTS_MAX) {
        return rp_error_set(err, RP_EINVAL, "a scenario needs 2 to %d lists", RP_SIM_LISTS_MAX);
    }
    bool exists, empty;
    if (dir_state(opts->out_dir, &exists, &empty) != RP_OK) {
        int e = errno;
        rp_error_set_at(err, RP_EIO, opts->out_dir, 0, 0, "cannot read the output folder: %s",
                        strerror(e));
        return RP_EIO;
    }
    if (exists && !empty) {
        return rp_error_set_at(err, RP_EINVAL, opts->out_dir, 0, 0,
                               "output folder is not empty (give a new or empty folder)");
    }
    run R;
    memset(&R, 0, sizeof R);
    R.sc = sc;
    R.opts = opts;
    R.err = err;
    render rd;
    rp_x_buf_init(&rd.row);
    rp_x_buf_init(&rd.truth);
    rp_x_buf_init(&rd.given);
    rp_x_buf_init(&rd.family);
    rp_x_buf_init(&rd.patr);
    rp_x_buf_init(&rd.tmp);
    rp_x_buf_init(&rd.full);
    char *sum = NULL, *scj = NULL;
    uint64_t seed = opts->seed_set ? opts->seed : sc->seed;
    int rc = RP_OK;
    /* staging folder beside the output folder */
    size_t ol = strlen(opts->out_dir);
    R.stage = rp_malloc(ol + 16);
    if (R.stage == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    snprintf(R.stage, ol + 16, "%s.tmp-XXXXXX", opts->out_dir);
    while (ol > 1 && R.stage[ol - 1] == '/') { /* "out/" -> "out.tmp-..." */
        memmove(R.stage + ol - 1, R.stage + ol, strlen(R.stage + ol) + 1);
        ol--;
    }
    if (mkdtemp(R.stage) == NULL) {
        int e = errno;
        rp_error_set_at(err, RP_EIO, opts->out_dir, 0, 0, "cannot create a staging folder: %s",
                        strerror(e));
        rp_free(R.stage);
        return RP_EIO;
    }
    rc = setup(&R);
    if (rc != RP_OK) {
        goto out;
    }
    rc = draw_population(&R, &rd);
    if (rc != RP_OK) {
        goto out;
    }
    rc = write_records(&R, &rd);
    if (rc != RP_OK) {
        goto out;
    }
    {
        rp_sim_scenario copy = *sc;
        copy.seed = seed;
        scj = rp_sim__scenario_to_json(&copy);
    }
    sum = summary(&R, seed);
    if (scj == NULL || sum == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rc = write_text(&R, "scenario.json", scj);
    if (rc == RP_OK) {
        rc = write_text(&R, "summary.json", sum);
    }
    if (rc != RP_OK) {
        goto out;
    }
    /* into place */
    if (exists && rmdir(opts->out_dir) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, opts->out_dir, 0, 0, "cannot replace: %s", strerror(e));
        goto out;
    }
    if (rename(R.stage, opts->out_dir) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, opts->out_dir, 0, 0, "cannot create: %s", strerror(e));
        goto out;
    }
    chmod(opts->out_dir, 0755);
    R.stage[0] = '\0';
    if (opts->progress) {
        opts->progress(opts->progress_ctx, 1.0);
    }
    if (summary_json) {
        *summary_json = sum;
        sum = NULL;
    }
out:
    if (R.stage && R.stage[0]) {
        rp_x_remove_flat_dir(R.stage);
    }
    rp_free(R.stage);
    rp_free(sum);
    rp_free(scj);
    rp_x_buf_release(&rd.row);
    rp_x_buf_release(&rd.truth);
    rp_x_buf_release(&rd.given);
    rp_x_buf_release(&rd.family);
    rp_x_buf_release(&rd.patr);
    rp_x_buf_release(&rd.tmp);
    rp_x_buf_release(&rd.full);
    teardown(&R);
    return rc;
}
