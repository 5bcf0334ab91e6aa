/*
 * Clear-text record linkage with the Fellegi–Sunter model (issue 6): string and date
 * comparators, multi-level comparisons configured by a JSON spec, streamed blocking by
 * several rules, EM on the table of comparison patterns, match weights and posteriors.
 * For offices that may lawfully link in clear; the encoded path is <rapporteur/link.h>.
 *
 * Sources: Fellegi & Sunter (1969), "A theory for record linkage", JASA 64:1183–1210;
 * Winkler (1990), "String comparator metrics and enhanced decision rules in the
 * Fellegi-Sunter model of record linkage", Proc. Section on Survey Research Methods, ASA;
 * Enamorado, Fifield & Imai (2019), "Using a probabilistic model to assist merging of
 * large-scale administrative records", APSR 113(2):353–371 (fastLink: EM on counts of
 * agreement patterns, missing values at random); Splink's documentation (comparison
 * levels, term-frequency adjustment, u from random pairs, the match-rate prior).
 * docs/fellegi-sunter.md explains the method and the guards.
 */
#ifndef RAPPORTEUR_FS_H
#define RAPPORTEUR_FS_H

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h> /* rp_progress_fn */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== string and date comparators (src/link/compare.c) ==== */

/**
 * Longest value the comparators look at, in code points; a longer value is compared on
 * its first RP_FS_MAX_CHARS code points.
 */
#define RP_FS_MAX_CHARS 128

/**
 * Jaro similarity of two UTF-8 strings, over code points (Jaro 1989; matching window
 * floor(max(|a|,|b|)/2) - 1). Two empty strings give 1, one empty string 0. Bytes that
 * are not well-formed UTF-8 count as one code point each (U+FFFD).
 * @return a value in [0, 1].
 */
RP_API double rp_fs_jaro(const char *a, const char *b);

/**
 * Jaro-Winkler similarity (Winkler 1990): jaro + l * 0.1 * (1 - jaro), l the common
 * prefix length in code points capped at 4, applied only when jaro > 0.7 (Winkler's
 * boost threshold, as jellyfish and Splink do). MARTHA/MARHTA gives 0.961.
 * @return a value in [0, 1].
 */
RP_API double rp_fs_jaro_winkler(const char *a, const char *b);

/**
 * Damerau-Levenshtein distance in its optimal-string-alignment form (restricted edit
 * distance: insertions, deletions, substitutions and transpositions of two adjacent
 * code points, no substring edited twice), over code points. CA/ABC gives 3 (the
 * unrestricted distance would be 2).
 */
RP_API unsigned rp_fs_damerau_levenshtein(const char *a, const char *b);

/**
 * American Soundex code (Knuth, TAOCP vol. 3; the US Census rules, H and W transparent)
 * of the ASCII letters of @p s into @p out (5 bytes): "" when @p s has no ASCII letter.
 */
RP_API void rp_fs_soundex(const char *s, char out[5]);

/**
 * A date for the date comparison: "YYYYMMDD", "YYYY-MM-DD", "YYYY/MM/DD", "DD/MM/YYYY"
 * or "DD.MM.YYYY" into a day number (days since 1970-01-01 of the proleptic Gregorian
 * calendar) and its parts.
 * @return true for a calendar date (years 1..9999), false otherwise.
 */
RP_API bool rp_fs_date_parse(const char *s, long *day, int *y, int *m, int *d);

/* ==== comparison spec (src/link/fs_spec.c) ==== */

/** Most comparisons of a spec. */
#define RP_FS_MAX_COMPARISONS 12
/** Most levels of a comparison, the null level (index 0) included. */
#define RP_FS_MAX_LEVELS 10
/** Most blocking rules of a spec, and most parts of one rule. */
#define RP_FS_MAX_RULES     8
#define RP_FS_MAX_RULE_PART 4

/** How a comparison compares its column. */
typedef enum rp_fs_kind {
    RP_FS_EXACT = 0,           /* exact / else */
    RP_FS_JARO_WINKLER,        /* exact / [reversed] / JW >= t1 / JW >= t2 ... / else */
    RP_FS_JARO,                /* as JARO_WINKLER with the plain Jaro similarity */
    RP_FS_DAMERAU_LEVENSHTEIN, /* exact / [reversed] / DL <= t1 / DL <= t2 ... / else */
    RP_FS_DATE                 /* exact / [day-month swap] / [edits] / |days| <= t... / else */
} rp_fs_kind;

/** What a comparison level means (for reports and the TF adjustment). */
typedef enum rp_fs_level_kind {
    RP_FS_LEVEL_NULL = 0, /* a value missing on either side: no evidence (MAR) */
    RP_FS_LEVEL_EXACT,
    RP_FS_LEVEL_REVERSED, /* given and family name swapped (Splink's columns reversed) */
    RP_FS_LEVEL_SWAP,     /* day and month swapped */
    RP_FS_LEVEL_EDITS,    /* date strings within a few edits (typos in digits) */
    RP_FS_LEVEL_SIMILAR,  /* similarity or distance or day difference within threshold */
    RP_FS_LEVEL_ELSE
} rp_fs_level_kind;

/** A parsed comparison spec (opaque); see docs/fellegi-sunter.md for its JSON. */
typedef struct rp_fs_spec rp_fs_spec;

/**
 * Parse a comparison spec from JSON (format in docs/fellegi-sunter.md): "comparisons"
 * (name, column, kind, thresholds, tf, reversed_with, day_month_swap, max_edits,
 * fixed m and u), "blocking" (rules of "column:transform" parts; transforms exact,
 * firstN, lastN, soundex, year) and optional "prior" and "em" settings.
 * @param name  labels errors (a file name); may be NULL.
 * @return RP_OK; RP_EPARSE (not JSON: line and column); RP_EDATA (bad key or value: the
 *         message names it); RP_ENOMEM.
 */
RP_API int
rp_fs_spec_parse(rp_fs_spec **out, const char *json, size_t len, const char *name, rp_error *err);

/** As rp_fs_spec_parse() from a file (at most 1 MiB). Also RP_EIO. */
RP_API int rp_fs_spec_load(rp_fs_spec **out, const char *path, rp_error *err);

/** Free. NULL-safe. */
RP_API void rp_fs_spec_free(rp_fs_spec *spec);

/** Number of comparisons of @p spec. */
RP_API size_t rp_fs_spec_comparisons(const rp_fs_spec *spec);

/** Name of comparison @p k (borrowed from the spec), NULL when out of range. */
RP_API const char *rp_fs_spec_comparison_name(const rp_fs_spec *spec, size_t k);

/** Levels of comparison @p k, the null level included; 0 when out of range. */
RP_API unsigned rp_fs_spec_levels(const rp_fs_spec *spec, size_t k);

/** What level @p l of comparison @p k means. */
RP_API rp_fs_level_kind rp_fs_spec_level_kind(const rp_fs_spec *spec, size_t k, unsigned l);

/** The spec's input columns (borrowed; each named once), for the caller's table. */
RP_API size_t rp_fs_spec_columns(const rp_fs_spec *spec, const char *const **names);

/** The spec as canonical JSON (no personal data: names of columns and numbers). rp_free. */
RP_API char *rp_fs_spec_to_json(const rp_fs_spec *spec);

/* ==== EM on the table of comparison patterns (src/link/fs_em.c) ==== */

/**
 * Parameters of the model: for comparison k and level l (1 .. n_levels[k]-1; level 0
 * is the null level, never used) the probabilities m (level given a match) and u (level
 * given a non-match), each summing to 1 over the non-null levels, and the match rate
 * lambda among the compared pairs.
 */
typedef struct rp_fs_params {
    size_t n_comparisons;
    unsigned n_levels[RP_FS_MAX_COMPARISONS];
    double m[RP_FS_MAX_COMPARISONS][RP_FS_MAX_LEVELS];
    double u[RP_FS_MAX_COMPARISONS][RP_FS_MAX_LEVELS];
    bool m_fixed[RP_FS_MAX_COMPARISONS]; /* EM leaves m of this comparison as given */
    bool u_fixed[RP_FS_MAX_COMPARISONS]; /* EM leaves u as given (u from random pairs) */
    double lambda;
    bool lambda_fixed;
} rp_fs_params;

/** Level of comparison @p k in pattern code @p code (4 bits per comparison). */
#define RP_FS_LEVEL(code, k) ((unsigned)(((code) >> (4u * (unsigned)(k))) & 0xfu))

/** A table of comparison patterns: n distinct codes with their counts of pairs. */
typedef struct rp_fs_patterns {
    size_t n;
    const uint64_t *code; /* level of comparison k in bits 4k..4k+3 */
    const double *count;  /* pairs with this pattern (> 0) */
} rp_fs_patterns;

/** EM warnings (bit set). */
enum {
    RP_FS_WARN_M_LE_U = 1u << 0,      /* m <= u for an agreement level after EM */
    RP_FS_WARN_LAMBDA_LOW = 1u << 1,  /* fewer than one expected match among the pairs */
    RP_FS_WARN_LAMBDA_HIGH = 1u << 2, /* lambda above lambda_max: nearly all pairs matches */
    RP_FS_WARN_NOCONV = 1u << 3,      /* max_iter reached before tol */
    RP_FS_WARN_FEW_PAIRS = 1u << 4    /* too few pairs or patterns for the parameters */
};

/** Options of rp_fs_em(). Initialise with RP_FS_EM_OPTS_INIT. */
typedef struct rp_fs_em_opts {
    unsigned version;
    unsigned max_iter;   /* default 500 */
    double tol;          /* stop when no parameter moves more than this; default 1e-7 */
    double prob_floor;   /* every m and u at least this (no log of 0); default 1e-6 */
    double prior_lambda; /* Beta prior mean of lambda; used when prior_weight > 0 */
    double prior_weight; /* Beta prior strength, in pairs (a + b); 0 = no prior */
    double lambda_max;   /* lambda above this warns (collapse to "all match"); 0.95 */
} rp_fs_em_opts;

#define RP_FS_EM_OPTS_VERSION 1
/* clang-format off */
#define RP_FS_EM_OPTS_INIT {RP_FS_EM_OPTS_VERSION, 500u, 1e-7, 1e-6, 0.0, 0.0, 0.95}

/* clang-format on */

/** What rp_fs_em() did. */
typedef struct rp_fs_em_info {
    unsigned iterations;
    bool converged;
    double loglik;           /* observed-data log likelihood at the end (nats) */
    double pairs;            /* pairs in the table */
    double expected_matches; /* lambda * pairs */
    unsigned warnings;       /* RP_FS_WARN_* */
    /* for RP_FS_WARN_M_LE_U: a bit per comparison with an agreement level m <= u */
    uint32_t m_le_u_comparisons;
} rp_fs_em_info;

/**
 * Fit m, lambda (and u unless fixed) by EM on a pattern table (fastLink's trick: each
 * iteration costs O(patterns), not O(pairs)). Null levels contribute nothing to the
 * likelihood (missing at random). @p params holds the starting values and the fixed
 * flags on entry and the estimates on return; every m and u is kept >= prob_floor and
 * renormalised. Degenerate fits are reported in info->warnings, never hidden.
 * @param params  n_comparisons <= RP_FS_MAX_COMPARISONS, 2 <= n_levels <= RP_FS_MAX_LEVELS
 * @return RP_OK (warnings or not); RP_EINVAL (bad sizes, a level out of range in a code,
 *         a count <= 0, probabilities not positive).
 * @test   tests/unit/test_fs_em.c
 */
RP_API int rp_fs_em(rp_fs_params *params,
                    const rp_fs_patterns *patterns,
                    const rp_fs_em_opts *opts,
                    rp_fs_em_info *info,
                    rp_error *err);

/**
 * Match weight of a pattern: log2(lambda / (1 - lambda)) + sum over non-null levels of
 * log2(m / u) (Splink's match weight; the posterior is 2^w / (1 + 2^w)).
 */
RP_API double rp_fs_pattern_weight(const rp_fs_params *params, uint64_t code);

/**
 * Term-frequency adjustment of an exact match on a value of frequency @p freq (share of
 * records holding it), added to the match weight: log2(u_exact / max(freq, tf_min))
 * (Splink's term_frequency_adjustments with weight 1). Common values lose weight, rare
 * ones gain.
 */
RP_API double rp_fs_tf_adjustment(double u_exact, double freq, double tf_min);

/** One line of text for warning bit @p w (static). */
RP_API const char *rp_fs_warning_text(unsigned w);

/* ==== linking a table of records (src/link/fs.c) ==== */

/**
 * Records to link, in one numbering: record i has the value values[i * n_columns + c]
 * of column c (UTF-8, normalised by the caller; "" or NULL = missing) and the list
 * list[i]. Arrays are borrowed.
 */
typedef struct rp_fs_data {
    size_t n;
    size_t n_columns;
    const char *const *columns; /* names, matched against the spec's columns */
    const char *const *values;
    const uint16_t *list; /* NULL: every record on list 0 */
} rp_fs_data;

/** Options of rp_fs_link(). Initialise with RP_FS_OPTS_INIT. */
typedef struct rp_fs_opts {
    unsigned version;
    bool within_list;   /* pair records of one list (de-duplication) */
    bool across_lists;  /* pair records of different lists */
    size_t max_block;   /* blocks with more records are skipped and reported; 0 = none */
    size_t u_pairs;     /* random pairs for u; default 1,000,000 */
    uint64_t seed;      /* of the random pairs */
    double keep_weight; /* pairs with a match weight below this are dropped; -10 */
    double tf_min;      /* least frequency in the TF adjustment; 1e-4 */
    rp_fs_em_opts em;
    /*
     * May be NULL. Called on the calling thread at the start, between the chunks of the
     * random pairs for u and of each blocking rule of both passes, and at the end: done
     * of total in steps of RP_FS_PROGRESS_STEPS per phase (u, then pass 1 and pass 2
     * rule by rule); a nonzero return cancels (RP_ECANCELED).
     */
    rp_progress_fn progress;
    void *payload;
    /*
     * Worker threads for the random pairs of u and the comparisons of both passes; 0 or
     * 1 = the calling thread. The result does not depend on it: the random pairs come in
     * fixed chunks with their own seeds, pattern counts are whole numbers, and the kept
     * edges are sorted.
     */
    unsigned threads;
} rp_fs_opts;

/** Progress steps of one phase of rp_fs_link() (rp_fs_opts.progress). */
#define RP_FS_PROGRESS_STEPS 1000u

#define RP_FS_OPTS_VERSION 2
/* clang-format off */
#define RP_FS_OPTS_INIT {RP_FS_OPTS_VERSION, true, true, 5000, 1000000, 42u, -10.0, 1e-4, \
                         RP_FS_EM_OPTS_INIT, NULL, NULL, 1u}

/* clang-format on */

/** Blocking report of one rule. */
typedef struct rp_fs_rule_report {
    size_t pairs;       /* pairs sharing the rule's key */
    size_t first_pairs; /* pairs this rule generated first (the union counts each once) */
    size_t true_pairs;  /* of first_pairs, true matches (when truth was given) */
    size_t blocks;      /* distinct keys with two or more records */
    size_t oversized;   /* blocks above max_block, not compared */
} rp_fs_rule_report;

/** Result of rp_fs_link(); free with rp_fs_result_free(). */
typedef struct rp_fs_result {
    rp_fs_params params; /* fitted m, u, lambda */
    rp_fs_em_info em;    /* EM over the sessions: iterations (most), warnings (all) */
    rp_fs_em_info session[RP_FS_MAX_RULES]; /* each blocking rule's training session */
    double session_lambda[RP_FS_MAX_RULES]; /* its match rate among the rule's pairs */
    size_t n_rules;
    rp_fs_rule_report rule[RP_FS_MAX_RULES];
    size_t candidates;          /* distinct pairs compared */
    size_t patterns;            /* distinct comparison patterns among them */
    size_t true_pairs;          /* all true pairs (truth given), within the paired lists */
    size_t true_candidates;     /* true pairs among the candidates (pairs completeness) */
    double lambda_rule;         /* prior mean of lambda from the spec's deterministic rule, or 0 */
    double all_pairs;           /* record pairs the list options allow */
    size_t n_edges;             /* kept pairs: weight >= keep_weight */
    struct rp_link_edge *edges; /* a < b, score = match weight; by weight descending */
    size_t peak_bytes;          /* largest working memory held at once (estimate) */
    double seconds_block;       /* both blocking passes with comparisons */
    double seconds_em;
    double seconds_u;
} rp_fs_result;

/**
 * Link the records of @p data with the comparisons and blocking rules of @p spec:
 * (1) u from opts->u_pairs random pairs; (2) a first streamed blocking pass that counts
 * the comparison patterns of the candidate pairs (each pair once, for the first rule
 * that generates it; no set of pairs is built); (3) EM on the pattern table, with the
 * spec's fixed m/u and its lambda prior; (4) a second pass that scores every candidate
 * (with term-frequency adjustments) and keeps those with weight >= opts->keep_weight.
 * Steps (1), (2) and (4) run on opts->threads threads; the result is the same for every
 * thread count (and the same seed).
 * @param truth  n entity ids (evaluation only: blocking recall), or NULL
 * @return RP_OK (look at out->em.warnings); RP_EINVAL (bad option; a spec column not in
 *         @p data); RP_ENOMEM; RP_ECANCELED (progress); RP_EINTERNAL (a thread could not
 *         start).
 * @test   tests/unit/test_fs_em.c
 */
RP_API int rp_fs_link(rp_fs_result **out,
                      const rp_fs_spec *spec,
                      const rp_fs_data *data,
                      const uint64_t *truth,
                      const rp_fs_opts *opts,
                      rp_error *err);

/** Free. NULL-safe. */
RP_API void rp_fs_result_free(rp_fs_result *res);

#ifdef __cplusplus
}
#endif

/*
 * rp_link_edge, and the encoded Fellegi–Sunter scoring that uses the types above: at the
 * end, so that link.h, which includes this header in its middle, finds them defined.
 */
#include <rapporteur/link.h>

#endif
