/*
 * Internals of the clear-text Fellegi–Sunter linkage (src/link/compare.c, fs_spec.c,
 * fs_em.c, fs.c): the parsed comparison spec, UTF-8 decoding for the comparators, the
 * level of a pair on one comparison, and the blocking transforms. Shared with the unit
 * tests and the fuzz target.
 */
#ifndef RP_FS_INT_H
#define RP_FS_INT_H

#include <rapporteur/fs.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most thresholds of one comparison. */
#define RP_FS__MAX_THRESHOLDS 6

/** Blocking transforms of one rule part. */
typedef enum rp_fs__transform_kind {
    RP_FS__TR_EXACT = 0,
    RP_FS__TR_FIRST, /* first n code points */
    RP_FS__TR_LAST,  /* last n code points */
    RP_FS__TR_SOUNDEX,
    RP_FS__TR_YEAR /* year of a date (rp_fs_date_parse), else the first 4 characters */
} rp_fs__transform_kind;

typedef struct rp_fs__part {
    unsigned col; /* index into the spec's columns */
    rp_fs__transform_kind kind;
    unsigned n; /* FIRST, LAST: code points */
} rp_fs__part;

typedef struct rp_fs__rule {
    size_t n_parts;
    rp_fs__part part[RP_FS_MAX_RULE_PART];
} rp_fs__rule;

typedef struct rp_fs__comparison {
    char name[64];
    unsigned col;
    int rev_col; /* column of "reversed_with", or -1 */
    rp_fs_kind kind;
    size_t n_thr;
    double thr[RP_FS__MAX_THRESHOLDS]; /* JW/Jaro: descending; DL, days: ascending */
    bool tf;
    bool dm_swap;
    unsigned max_edits; /* DATE: an edit level for date strings within this many edits */
    unsigned n_levels;  /* the null level included */
    rp_fs_level_kind level[RP_FS_MAX_LEVELS];
    bool has_m, has_u; /* fixed m and u, given for levels 1 .. n_levels-1 */
    double m[RP_FS_MAX_LEVELS], u[RP_FS_MAX_LEVELS];
} rp_fs__comparison;

struct rp_fs_spec {
    size_t n_columns;
    char **columns; /* owned */
    size_t n_comp;
    rp_fs__comparison comp[RP_FS_MAX_COMPARISONS];
    size_t n_rules;
    rp_fs__rule rule[RP_FS_MAX_RULES];
    /* the match rate of two random records: given, or from a deterministic rule (exact
       agreement on the comparisons of prior_agree) and a guess of its recall (Splink) */
    double prior_lambda;  /* > 0: given */
    uint32_t prior_agree; /* bit per comparison that must agree exactly */
    double prior_recall;  /* share of true pairs the deterministic rule finds */
};

/* ==== comparators ==== */

/**
 * Decode UTF-8 @p s into at most @p cap code points (ill-formed bytes become U+FFFD one
 * byte each). @return the number of code points written.
 */
size_t rp_fs__decode(const char *s, uint32_t *out, size_t cap);

/** Jaro and Jaro-Winkler on decoded strings. */
double rp_fs__jaro_cp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb);
double rp_fs__jw_cp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb);

/** Optimal-string-alignment distance on decoded strings, stopping early above @p max
 *  (then any value > max is returned). */
unsigned rp_fs__osa_cp(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, unsigned max);

/** A value with its code points (decoded once per record, not once per pair). */
typedef struct rp_fs__value {
    const char *s;
    const uint32_t *cp;
    size_t n;
} rp_fs__value;

/** As rp_fs__level() on decoded values. */
unsigned rp_fs__level_v(const rp_fs__comparison *c,
                        const rp_fs__value *a,
                        const rp_fs__value *b,
                        const char *ra,
                        const char *rb);

/**
 * Level of the pair (@p a, @p b) on comparison @p c: 0 (null) when either is missing.
 * @p ra, @p rb are the two records' values of the reversed_with column (may be NULL).
 */
unsigned rp_fs__level(
    const rp_fs__comparison *c, const char *a, const char *b, const char *ra, const char *rb);

/**
 * Blocking key text of one rule part of value @p v into @p out (@p size bytes).
 * @return the length; 0 (and "" in @p out) when the value gives no key (missing, no
 *         letters for Soundex) or @p size is under 16.
 */
size_t rp_fs__transform(const rp_fs__part *p, const char *v, char *out, size_t size);

/** Fill c->level[] from kind, thresholds and options; false when over RP_FS_MAX_LEVELS. */
bool rp_fs__comparison_levels(rp_fs__comparison *c);

/* ==== training sessions, shared by fs.c and hub_fs.c (defined in fs_em.c) ==== */

/** Starting match rate of a training session. */
#define RP_FS__LAMBDA_INIT 0.1

/** Sums over the training sessions of one fit. */
typedef struct rp_fs__pool {
    double m[RP_FS_MAX_COMPARISONS][RP_FS_MAX_LEVELS];
    double weight[RP_FS_MAX_COMPARISONS]; /* expected matches of the sessions pooled */
    double expected;                      /* matches among the candidates (first pairs) */
    rp_fs_em_info all; /* iterations (most), converged (all), loglik (sum), NOCONV */
} rp_fs__pool;

/** An empty pool (converged true, the rest 0). */
void rp_fs__pool_init(rp_fs__pool *pool);

/**
 * One blocking rule's training session (Splink's EM per blocking rule): EM on @p t (the
 * levels outside @p mask already nulled by the caller) from @p start with lambda
 * RP_FS__LAMBDA_INIT and no lambda prior; the posterior of each pattern times @p first
 * (pairs of that pattern the rule generated first, or NULL for none) adds to
 * pool->expected; the session's m, weighted by its expected matches, adds to the pooled
 * m of the comparisons in @p mask, unless the session warns of too few pairs or a
 * collapse (lambda low or high). @p info, @p lambda and @p fitted (may be NULL) get the
 * session's own result. The fixed flags of @p start hold (u fixed: Splink's design;
 * u free: u of the non-matches among the rule's own pairs, as hub_fs.c fits it).
 */
int rp_fs__session(const rp_fs_params *start,
                   const rp_fs_patterns *t,
                   const double *first,
                   uint64_t mask,
                   const rp_fs_em_opts *eo,
                   rp_fs__pool *pool,
                   rp_fs_em_info *info,
                   double *lambda,
                   rp_fs_params *fitted,
                   rp_error *err);

/**
 * The pooled m into @p p (fixed m left alone; a comparison no session informed keeps
 * its m and sets RP_FS_WARN_FEW_PAIRS in em->warnings); then lambda = @p lambda clamped
 * to [1/(4 all + 4), 1 - that], and the warnings after pooling: m <= u on level 1,
 * fewer than one expected match, expected matches above lambda_max of @p candidates.
 */
void rp_fs__pool_finish(rp_fs_params *p,
                        const rp_fs__pool *pool,
                        double lambda,
                        double all_pairs,
                        double candidates,
                        double lambda_max,
                        rp_fs_em_info *em);

/** SplitMix64 step (Steele, Lea & Flood 2014): the seeded generator of the u samples. */
uint64_t rp_fs__splitmix(uint64_t *state);

/** A uniform index in [0, @p n) from @p state. */
size_t rp_fs__uniform(uint64_t *state, size_t n);

/**
 * u of one comparison from the counts of its levels among random pairs (@p cnt[l],
 * l = 1 .. n_levels - 1), with add-one smoothing: a level never seen among random pairs
 * is not impossible.
 */
void rp_fs__u_from_counts(double *u, const double *cnt, unsigned n_levels);

#endif
