/*
 * Fellegi–Sunter scoring of encoded candidate pairs at the hub (include/rapporteur/link.h,
 * rp_link_fs): the comparison vector of a pair is the Dice of the CLKs in levels and, per
 * keyed blocking rule, agree / disagree / null on its keys; u comes from random pairs, m
 * from one EM session per rule (the engine and the session helper of fs_em.c, as the
 * clear-text linkage of fs.c uses them), and the candidates are enumerated twice by the
 * blocking of hub.c (rp_link__candidates_visit): once to count patterns, once to score.
 *
 * Why the rules as comparisons: the CLK mixes the names and the birth date, so a
 * namesake born on another day has the Dice of a typo'd copy; the keys separate the two
 * (family name sound + year, given name sound + month and day, both name sounds), and EM
 * learns how often a true pair disagrees on each, while random pairs say how rarely a
 * non-match agrees. A pattern is at most 8 x 3^4 = 648 cells, so each thread counts into
 * a dense table and the scoring pass looks the weight up: no hashing per pair.
 */
#include "link/fs_int.h"
#include "link/link_int.h"

#include <rapporteur/common.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>
#include <rapporteur/fs.h>
#include <rapporteur/link.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"
/* clang-format on */

#define N_RULE_CMP    4 /* keyed rules compared: family_year, given_date, names, document */
#define N_DICE_LEVELS (RP_LINK_FS_DICE_THRESHOLDS + 2) /* null, thresholds, else */
#define N_RULE_LEVELS 3                                /* null, agree, disagree */
#define N_PATTERNS    (N_DICE_LEVELS * 81)             /* 8 x 3^4 */
#define SESSION_OTHER N_RULE_CMP
#define LEVEL_AGREE   1u
#define LEVEL_ELSE    (N_DICE_LEVELS - 1)
#define U_MAX_TRIES   50   /* random draws per wanted pair before giving up */
#define M_INIT_DECAY  0.25 /* starting m of level l+1 relative to level l */
#define M_INIT_AGREE  0.9  /* starting m of "agree" on a keyed rule */

/* The Dice levels, descending: level l (1-based) is Dice >= dice_thr[l - 1]. */
static const double dice_thr[RP_LINK_FS_DICE_THRESHOLDS] = {0.95, 0.90, 0.85, 0.80, 0.75, 0.70};

/* The blocking rule (rp_enc_block_rule) of each keyed comparison 1 .. 4. */
static const unsigned rule_of_cmp[N_RULE_CMP] = {RP_BLOCK_FAMILY_PHONETIC_YEAR,
                                                 RP_BLOCK_GIVEN_PHONETIC_DATE,
                                                 RP_BLOCK_NAMES_PHONETIC, RP_BLOCK_DOCUMENT};

static const char *const cmp_names[RP_LINK_FS_COMPARISONS] = {"dice", "family_year", "given_date",
                                                              "names", "document"};

static const char *const session_names[RP_LINK_FS_SESSIONS] = {"family_year", "given_date", "names",
                                                               "document", "other"};

typedef struct fs_ctx {
    const rp_link_input *in;
    uint32_t *pop;  /* n popcounts */
    uint32_t *koff; /* n * N_RULE_CMP + 1: record i, rule r: kv[koff[4i + r] .. koff[4i + r + 1]) */
    uint64_t *kv;
    size_t n_threads;
    uint64_t (*count)[N_PATTERNS]; /* per thread: training pairs by pattern */
    double weight[N_PATTERNS];     /* scoring pass */
    double keep;
    double ucnt[RP_LINK_FS_COMPARISONS][RP_FS_MAX_LEVELS]; /* levels among random pairs */
} fs_ctx;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *rp_link_fs_comparison_name(size_t k)
{
    return k < RP_LINK_FS_COMPARISONS ? cmp_names[k] : NULL;
}

const char *rp_link_fs_session_name(size_t s)
{
    return s < RP_LINK_FS_SESSIONS ? session_names[s] : NULL;
}

/* ==== the comparison vector ==== */

static unsigned dice_level(double dice)
{
    for (unsigned t = 0; t < RP_LINK_FS_DICE_THRESHOLDS; t++) {
        if (dice >= dice_thr[t])
            return t + 1;
    }
    return LEVEL_ELSE;
}

/* Agree (a key in common), disagree (keys on both sides, none in common) or null. */
static unsigned rule_level(const fs_ctx *c, size_t a, size_t b, unsigned r)
{
    const uint64_t *ka = c->kv + c->koff[a * N_RULE_CMP + r];
    const uint64_t *kb = c->kv + c->koff[b * N_RULE_CMP + r];
    size_t na = c->koff[a * N_RULE_CMP + r + 1] - c->koff[a * N_RULE_CMP + r];
    size_t nb = c->koff[b * N_RULE_CMP + r + 1] - c->koff[b * N_RULE_CMP + r];
    if (na == 0 || nb == 0)
        return 0;
    for (size_t i = 0; i < na; i++) {
        for (size_t j = 0; j < nb; j++) {
            if (ka[i] == kb[j])
                return LEVEL_AGREE;
        }
    }
    return 2;
}

/* Dense index of the pair's pattern: dice + 8 (r0 + 3 (r1 + 3 (r2 + 3 r3))). */
static unsigned pattern_index(const fs_ctx *c, uint32_t a, uint32_t b, double dice)
{
    unsigned idx = c->pop[a] == 0 || c->pop[b] == 0 ? 0 : dice_level(dice);
    unsigned mult = N_DICE_LEVELS;
    for (unsigned r = 0; r < N_RULE_CMP; r++) {
        idx += mult * rule_level(c, a, b, r);
        mult *= N_RULE_LEVELS;
    }
    return idx;
}

/* The rp_fs_patterns code (4 bits per comparison) of a dense index. */
static uint64_t index_code(unsigned idx)
{
    uint64_t code = idx % N_DICE_LEVELS;
    idx /= N_DICE_LEVELS;
    for (unsigned r = 0; r < N_RULE_CMP; r++) {
        code |= (uint64_t)(idx % N_RULE_LEVELS) << (4u * (r + 1));
        idx /= N_RULE_LEVELS;
    }
    return code;
}

static bool
visit_count(void *payload, unsigned thread, uint32_t a, uint32_t b, double dice, double *score)
{
    fs_ctx *c = payload;
    *score = 0.0;
    c->count[thread][pattern_index(c, a, b, dice)]++;
    return false;
}

static bool
visit_score(void *payload, unsigned thread, uint32_t a, uint32_t b, double dice, double *score)
{
    const fs_ctx *c = payload;
    (void)thread;
    *score = c->weight[pattern_index(c, a, b, dice)];
    return *score >= c->keep;
}

/* ==== set-up ==== */

/* The keys of the compared rules, grouped by record and rule. */
static int index_keys(fs_ctx *c, rp_error *err)
{
    const rp_link_input *in = c->in;
    size_t n = in->n;
    size_t total = 0;
    for (size_t k = 0; n > 0 && k < in->key_off[n]; k++) {
        for (unsigned r = 0; r < N_RULE_CMP; r++)
            total += in->key_rule[k] == rule_of_cmp[r];
    }
    if (total > UINT32_MAX)
        return rp_error_set(err, RP_EINVAL, "too many blocking keys (at most %u)", UINT32_MAX);
    c->koff = rp_reallocarray(NULL, n * N_RULE_CMP + 1, sizeof *c->koff);
    c->kv = rp_reallocarray(NULL, total ? total : 1, sizeof *c->kv);
    c->pop = rp_reallocarray(NULL, n ? n : 1, sizeof *c->pop);
    if (!c->koff || !c->kv || !c->pop)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    uint32_t at = 0;
    for (size_t i = 0; i < n; i++) {
        for (unsigned r = 0; r < N_RULE_CMP; r++) {
            c->koff[i * N_RULE_CMP + r] = at;
            for (size_t k = in->key_off[i]; k < in->key_off[i + 1]; k++) {
                if (in->key_rule[k] == rule_of_cmp[r])
                    c->kv[at++] = in->keys[k];
            }
        }
        c->pop[i] = rp_link__popcount(in->clks + i * in->words, in->words);
    }
    c->koff[n * N_RULE_CMP] = at;
    return RP_OK;
}

static bool pair_allowed(const rp_link_opts *o, const rp_link_input *in, size_t a, size_t b)
{
    return in->list[a] == in->list[b] ? o->within_list : o->across_lists;
}

/* Record pairs the list options allow: the denominator of the match rate. */
static double allowed_pairs(const rp_link_input *in, const rp_link_opts *o)
{
    double within = 0;
    size_t *per = rp_calloc(65536, sizeof *per);
    double all = 0.5 * (double)in->n * (double)(in->n > 0 ? in->n - 1 : 0);
    if (per == NULL)
        return all;
    for (size_t i = 0; i < in->n; i++)
        per[in->list[i]]++;
    for (size_t l = 0; l < 65536; l++)
        within += 0.5 * (double)per[l] * (double)(per[l] > 0 ? per[l] - 1 : 0);
    rp_free(per);
    return (o->within_list ? within : 0.0) + (o->across_lists ? all - within : 0.0);
}

/* u from random allowed pairs (every pair when there are few), add-one smoothing. */
static int estimate_u(fs_ctx *c, const rp_link_fs_opts *o, rp_link_fs_result *res, rp_error *err)
{
    const rp_link_input *in = c->in;
    size_t n = in->n;
    double(*cnt)[RP_FS_MAX_LEVELS] = c->ucnt;
    rp_link__and_count_fn and_count = rp_link__and_count_kernel(in->words);
    memset(c->ucnt, 0, sizeof c->ucnt);
    size_t pairs = 0;
    double all = 0.5 * (double)n * (double)(n > 0 ? n - 1 : 0);
    bool every = all <= (double)o->u_pairs;
    uint64_t s = o->seed;
    size_t tries = every ? 0 : U_MAX_TRIES * o->u_pairs;
    size_t a = 0, b = 0;
    for (size_t t = 0;; t++) {
        if (every) {
            if (++b >= n) {
                a++;
                b = a + 1;
            }
            if (a + 1 >= n)
                break;
        } else {
            if (t >= tries || pairs >= o->u_pairs)
                break;
            a = rp_fs__uniform(&s, n);
            b = rp_fs__uniform(&s, n);
            if (a == b)
                continue;
        }
        if (!pair_allowed(&o->link, in, a, b))
            continue;
        uint64_t both = and_count(in->clks + a * in->words, in->clks + b * in->words, in->words);
        double dice = rp_link__dice_of(both, (uint64_t)c->pop[a] + c->pop[b]);
        uint64_t code = index_code(pattern_index(c, (uint32_t)a, (uint32_t)b, dice));
        for (size_t k = 0; k < RP_LINK_FS_COMPARISONS; k++)
            cnt[k][RP_FS_LEVEL(code, k)] += 1.0;
        pairs++;
    }
    res->u_pairs = pairs;
    if (pairs == 0)
        return rp_error_set(err, RP_EINVAL,
                            "no pair of records is allowed by the list options (within or "
                            "across lists)");
    for (size_t k = 0; k < RP_LINK_FS_COMPARISONS; k++)
        rp_fs__u_from_counts(res->params.u[k], cnt[k], res->params.n_levels[k]);
    return RP_OK;
}

static void init_params(rp_fs_params *p)
{
    memset(p, 0, sizeof *p);
    p->n_comparisons = RP_LINK_FS_COMPARISONS;
    for (size_t k = 0; k < RP_LINK_FS_COMPARISONS; k++) {
        p->n_levels[k] = k == RP_LINK_FS_DICE ? N_DICE_LEVELS : N_RULE_LEVELS;
        p->u_fixed[k] = true; /* u from random pairs, never from EM */
    }
    double x = 1.0, sum = 0;
    for (unsigned l = 1; l < N_DICE_LEVELS; l++) {
        p->m[0][l] = x;
        sum += x;
        x *= M_INIT_DECAY;
    }
    for (unsigned l = 1; l < N_DICE_LEVELS; l++)
        p->m[0][l] /= sum;
    for (size_t k = 1; k < RP_LINK_FS_COMPARISONS; k++) {
        p->m[k][1] = M_INIT_AGREE;
        p->m[k][2] = 1.0 - M_INIT_AGREE;
    }
    p->lambda = RP_FS__LAMBDA_INIT;
}

/* ==== EM on the training counts ==== */

/* Training tables of the sessions, built from the dense counts (already scaled). */
typedef struct sessions {
    uint64_t code[RP_LINK_FS_SESSIONS][N_PATTERNS];
    double count[RP_LINK_FS_SESSIONS][N_PATTERNS];
    double first[RP_LINK_FS_SESSIONS][N_PATTERNS];
    size_t n[RP_LINK_FS_SESSIONS];
} sessions;

/*
 * A pair enters the session of every keyed rule it agrees on, with that rule's level
 * null; its first such rule (in the order family_year, given_date, names, document)
 * counts it for the expected matches. A pair that agrees on none (found by LSH alone)
 * goes to the "other" session.
 */
static void build_sessions(sessions *ss, const double *total, bool score_names)
{
    memset(ss->n, 0, sizeof ss->n);
    for (unsigned idx = 0; idx < N_PATTERNS; idx++) {
        if (!(total[idx] > 0))
            continue;
        uint64_t code = index_code(idx);
        if (!score_names)
            code &= ~((uint64_t)0xf << (4u * (RP_LINK_FS_NAMES)));
        bool first = true;
        unsigned lv[N_RULE_CMP];
        for (unsigned r = 0; r < N_RULE_CMP; r++)
            lv[r] = (unsigned)RP_FS_LEVEL(index_code(idx), r + 1);
        for (unsigned r = 0; r < N_RULE_CMP; r++) {
            if (lv[r] != LEVEL_AGREE)
                continue;
            size_t i = ss->n[r]++;
            ss->code[r][i] = code & ~((uint64_t)0xf << (4u * (r + 1)));
            ss->count[r][i] = total[idx];
            ss->first[r][i] = first ? total[idx] : 0.0;
            first = false;
        }
        if (first) {
            size_t i = ss->n[SESSION_OTHER]++;
            ss->code[SESSION_OTHER][i] = code;
            ss->count[SESSION_OTHER][i] = total[idx];
            ss->first[SESSION_OTHER][i] = total[idx];
        }
    }
}

/* Whether a session's fit can score its pairs: no warning of too few pairs or collapse,
   and the top Dice level more likely for matches than for non-matches. */
static bool session_usable(const rp_fs_em_info *info, const rp_fs_params *p)
{
    unsigned bad = RP_FS_WARN_FEW_PAIRS | RP_FS_WARN_LAMBDA_LOW | RP_FS_WARN_LAMBDA_HIGH;
    return !(info->warnings & bad) && p->m[RP_LINK_FS_DICE][1] > p->u[RP_LINK_FS_DICE][1];
}

/*
 * The "other" session: its pairs were selected for disagreeing on every keyed rule, so
 * only the Dice informs; EM fits u of the Dice and the match rate among them with the
 * pooled m of the Dice fixed.
 */
static int other_session(
    rp_link_fs_result *res, sessions *ss, const rp_link_fs_opts *o, double *expected, rp_error *err)
{
    size_t s = SESSION_OTHER;
    res->session_fallback[s] = true;
    if (ss->n[s] == 0)
        return RP_OK;
    rp_fs_params p = res->params;
    p.n_comparisons = 1;
    p.m_fixed[RP_LINK_FS_DICE] = true;
    p.u_fixed[RP_LINK_FS_DICE] = false;
    p.lambda = RP_FS__LAMBDA_INIT;
    p.lambda_fixed = false;
    for (size_t i = 0; i < ss->n[s]; i++)
        ss->code[s][i] &= 0xfu;
    rp_fs_patterns t = {ss->n[s], ss->code[s], ss->count[s]};
    rp_fs_em_opts eo = o->em;
    eo.prior_weight = 0;
    int rc = rp_fs_em(&p, &t, &eo, &res->session[s], err);
    if (rc != RP_OK)
        return rc;
    res->session_lambda[s] = p.lambda;
    res->session_params[s] = p;
    res->session_fallback[s] = !session_usable(&res->session[s], &p);
    *expected += res->session[s].expected_matches;
    res->em.warnings |= res->session[s].warnings & RP_FS_WARN_NOCONV;
    return RP_OK;
}

/*
 * One EM session per keyed rule on the pairs that agree on it (the rule's level null),
 * with m, u and the match rate all free: u is then the share of each level among the
 * non-matches of the rule's own pairs (namesakes in the names rule), not among random
 * pairs, which never agree on a name and so cannot say that a namesake's Dice of 0.85
 * is ordinary. u from random pairs is the starting value, which keeps the classes in
 * place. m is pooled over the sessions for the fallback model and the report.
 */
static int keyed_sessions(rp_link_fs_result *res,
                          const sessions *ss,
                          const rp_link_fs_opts *o,
                          rp_fs__pool *pool,
                          rp_error *err)
{
    rp_fs_params start = res->params;
    for (size_t k = 0; k < RP_LINK_FS_COMPARISONS; k++)
        start.u_fixed[k] = true;
    for (unsigned r = 0; r < N_RULE_CMP; r++) {
        rp_fs_patterns t = {ss->n[r], ss->code[r], ss->count[r]};
        for (size_t i = 0; i < ss->n[r]; i++)
            res->session_pairs[r] += ss->count[r][i];
        res->session_fallback[r] = true;
        if (ss->n[r] == 0)
            continue;
        uint64_t mask = ~((uint64_t)0xf << (4u * (r + 1)));
        int rc = rp_fs__session(&start, &t, ss->first[r], mask, &o->em, pool, &res->session[r],
                                &res->session_lambda[r], &res->session_params[r], err);
        if (rc != RP_OK)
            return rc;
        res->session_fallback[r] = !session_usable(&res->session[r], &res->session_params[r]);
    }
    return RP_OK;
}

static int fit(rp_link_fs_result *res, const fs_ctx *c, const rp_link_fs_opts *o, rp_error *err)
{
    double total[N_PATTERNS];
    memset(total, 0, sizeof total);
    double candidates = 0;
    for (size_t t = 0; t < c->n_threads; t++) {
        for (unsigned i = 0; i < N_PATTERNS; i++)
            total[i] += (double)c->count[t][i] / res->train_share;
    }
    for (unsigned i = 0; i < N_PATTERNS; i++) {
        candidates += total[i];
        res->patterns += total[i] > 0;
    }
    sessions *ss = rp_malloc(sizeof *ss);
    rp_fs__pool *pool = rp_malloc(sizeof *pool);
    int rc = RP_OK;
    if (!ss || !pool) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    build_sessions(ss, total, o->score_names);
    rp_fs__pool_init(pool);
    rc = keyed_sessions(res, ss, o, pool, err);
    if (rc != RP_OK)
        goto out;
    for (size_t i = 0; i < ss->n[SESSION_OTHER]; i++)
        res->session_pairs[SESSION_OTHER] += ss->count[SESSION_OTHER][i];
    res->all_pairs = allowed_pairs(c->in, &o->link);
    res->em = pool->all;
    /* m first (lambda does not enter the pooled m), then the other session's matches */
    rp_fs__pool_finish(&res->params, pool, pool->expected / res->all_pairs, res->all_pairs,
                       candidates, o->em.lambda_max, &res->em);
    double expected = pool->expected;
    rc = other_session(res, ss, o, &expected, err);
    if (rc != RP_OK)
        goto out;
    /* the final match rate and its warnings, with the other session's matches */
    pool->expected = expected;
    res->em.warnings &= ~(unsigned)(RP_FS_WARN_LAMBDA_LOW | RP_FS_WARN_LAMBDA_HIGH);
    rp_fs__pool_finish(&res->params, pool, expected / res->all_pairs, res->all_pairs, candidates,
                       o->em.lambda_max, &res->em);
    res->expected_matches = expected;
    res->em.pairs = candidates;
    res->em.expected_matches = expected;
out:
    rp_free(ss);
    rp_free(pool);
    return rc;
}

/*
 * The weight of each pattern under the pooled model (m pooled, u from random pairs, the
 * match rate of two random allowed records); without score_names the names rule's level
 * is null, as in training.
 */
static double pattern_weight(const rp_link_fs_result *res, unsigned idx)
{
    uint64_t code = index_code(idx);
    if (!res->score_names)
        code &= ~((uint64_t)0xf << (4u * (RP_LINK_FS_NAMES)));
    return rp_fs_pattern_weight(&res->params, code);
}

/*
 * u without the matches among the random pairs: a share lambda of them are matches, and
 * where a level is rare among non-matches (Dice >= 0.95 when copies are exact) those
 * matches are most of its count, so u would be overstated by lambda x m (Winkler's
 * correction of the random-pair estimate). u_l = (share_l - lambda m_l) / (1 - lambda),
 * at least the add-one share of an unseen level, renormalised.
 */
static void correct_u(rp_fs_params *p, const fs_ctx *c)
{
    for (size_t k = 0; k < RP_LINK_FS_COMPARISONS; k++) {
        double tot = 0;
        for (unsigned l = 1; l < p->n_levels[k]; l++)
            tot += c->ucnt[k][l];
        double floor_u = 1.0 / (tot + (double)(p->n_levels[k] - 1));
        double sum = 0;
        for (unsigned l = 1; l < p->n_levels[k]; l++) {
            double share = tot > 0 ? c->ucnt[k][l] / tot : 0.0;
            double u = (share - p->lambda * p->m[k][l]) / (1.0 - p->lambda);
            p->u[k][l] = u > floor_u ? u : floor_u;
            sum += p->u[k][l];
        }
        for (unsigned l = 1; l < p->n_levels[k]; l++)
            p->u[k][l] /= sum;
    }
}

/* ==== the run ==== */

static int check_opts(const rp_link_fs_opts *o, rp_error *err)
{
    if (o->version != RP_LINK_FS_OPTS_VERSION)
        return rp_error_set(err, RP_EINVAL, "link fs options version %u, expected %u", o->version,
                            (unsigned)RP_LINK_FS_OPTS_VERSION);
    if (o->u_pairs == 0 || !(o->train_share >= 0.0 && o->train_share <= 1.0) ||
        isnan(o->keep_weight))
        return rp_error_set(err, RP_EINVAL,
                            "link fs: bad options (u_pairs, train_share or "
                            "keep_weight)");
    return RP_OK;
}

static double auto_share(size_t n)
{
    if (n <= RP_LINK_FS_TRAIN_RECORDS)
        return 1.0;
    double x = (double)RP_LINK_FS_TRAIN_RECORDS / (double)n;
    return x * x;
}

static int run_fs(fs_ctx *c, const rp_link_fs_opts *o, rp_link_fs_result *res, rp_error *err)
{
    rp_link_opts lo = o->link;
    lo.min_score = dice_thr[RP_LINK_FS_DICE_THRESHOLDS - 1];
    c->n_threads = lo.threads > 1 ? lo.threads : 1;
    double t0 = now_seconds();
    int rc = index_keys(c, err);
    if (rc == RP_OK) {
        init_params(&res->params);
        rc = estimate_u(c, o, res, err);
    }
    double t1 = now_seconds();
    res->seconds_u = t1 - t0;
    if (rc != RP_OK)
        return rc;
    c->count = rp_calloc(c->n_threads, sizeof *c->count);
    if (!c->count)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    res->score_names = o->score_names;
    res->train_share = o->train_share > 0 ? o->train_share : auto_share(c->in->n);
    rp_link__visit v = {visit_count, c, res->train_share, o->seed};
    rp_link_edge *none = NULL;
    size_t n_none = 0;
    rc = rp_link__candidates_visit(c->in, &lo, &v, &none, &n_none, &res->train, err);
    rp_free(none);
    double t2 = now_seconds();
    res->seconds_train = t2 - t1;
    if (rc == RP_OK)
        rc = fit(res, c, o, err);
    if (rc == RP_OK && o->correct_u) {
        /* once more with u corrected for the matches among the random pairs */
        rp_fs_params first = res->params;
        init_params(&res->params);
        memcpy(res->params.u, first.u, sizeof first.u);
        correct_u(&first, c);
        memcpy(res->params.u, first.u, sizeof first.u);
        memset(res->session, 0, sizeof res->session);
        memset(res->session_pairs, 0, sizeof res->session_pairs);
        res->patterns = 0;
        rc = fit(res, c, o, err);
    }
    double t3 = now_seconds();
    res->seconds_em = t3 - t2;
    if (rc != RP_OK)
        return rc;
    for (unsigned i = 0; i < N_PATTERNS; i++)
        c->weight[i] = pattern_weight(res, i);
    c->keep = o->keep_weight;
    rp_link__visit s = {visit_score, c, 1.0, o->seed};
    rc = rp_link__candidates_visit(c->in, &lo, &s, &res->edges, &res->n_edges, &res->report, err);
    res->seconds_score = now_seconds() - t3;
    return rc;
}

int rp_link_fs(rp_link_fs_result **out,
               const rp_link_input *in,
               const rp_link_fs_opts *opts,
               rp_error *err)
{
    const rp_link_fs_opts defaults = RP_LINK_FS_OPTS_INIT;
    const rp_link_fs_opts *o = opts ? opts : &defaults;
    if (!out || !in)
        return rp_error_set(err, RP_EINVAL, "missing input or output");
    *out = NULL;
    int rc = check_opts(o, err);
    if (rc != RP_OK)
        return rc;
    /* the blocking's own checks, before anything is allocated */
    rp_link_opts lo = o->link;
    lo.min_score = dice_thr[RP_LINK_FS_DICE_THRESHOLDS - 1];
    rc = rp_link__check_input(in, &lo, err);
    if (rc != RP_OK)
        return rc;
    if (in->n < 2)
        return rp_error_set(err, RP_EINVAL, "fewer than two records to link");
    rp_link_fs_result *res = rp_calloc(1, sizeof *res);
    if (!res)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    fs_ctx c;
    memset(&c, 0, sizeof c);
    c.in = in;
    rc = run_fs(&c, o, res, err);
    rp_free(c.pop);
    rp_free(c.koff);
    rp_free(c.kv);
    rp_free(c.count);
    if (rc != RP_OK) {
        rp_link_fs_result_free(res);
        return rc;
    }
    *out = res;
    return RP_OK;
}

void rp_link_fs_result_free(rp_link_fs_result *res)
{
    if (!res)
        return;
    rp_free(res->edges);
    rp_free(res);
}
