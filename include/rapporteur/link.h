/*
 * Privacy-preserving record linkage over CLKs (issue 6, first slice): the Dice kernel
 * that finds every pair of filters at or above a similarity threshold, and anonlink's
 * greedy 1:1 solver.
 *
 * Sources: the Sørensen–Dice coefficient on Bloom filters, 2|A&B| / (|A| + |B|), as in
 * Schnell, Bachteler & Reiher (2009), "Privacy-preserving record linkage using Bloom
 * filters", BMC Medical Informatics and Decision Making 9:41; the candidate search and
 * the greedy solver follow anonlink (data61/anonlink, Apache-2.0:
 * anonlink/similarities/dice.cpp, anonlink/solving/_multiparty_solving.py), see
 * docs peers-linkage.md §2.2.
 *
 * Filters are arrays of uint64_t words, as rp_encode produces them (include
 * <rapporteur/encode.h>; 1024 bits = 16 words by default): record i of a set of n
 * filters of W words each occupies words [i*W, (i+1)*W) of one contiguous array.
 */
#ifndef RAPPORTEUR_LINK_H
#define RAPPORTEUR_LINK_H

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h> /* rp_progress_fn */

#include <math.h> /* NAN in RP_CLUSTER_OPTS_INIT */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A candidate pair: record @c a of set A, record @c b of set B, and their Dice. */
typedef struct rp_link_pair {
    uint32_t a;
    uint32_t b;
    double dice; /* exactly the value rp_dice() gives for the two filters */
} rp_link_pair;

/** The longest filter rp_link_dice_pairs() takes, in 64-bit words (4,194,304 bits). */
#define RP_LINK_MAX_WORDS 65536u

/** rp_link_dice_pairs() flag: compare every pair (no popcount bound), for benchmarks. */
#define RP_LINK_NO_PRUNE 0x1u

/**
 * Every pair (i in A, j in B) whose Dice coefficient is at least @p threshold.
 *
 * Popcounts are computed once per filter. B is sorted by popcount, and for a filter of
 * A with popcount |a| only the filters of B whose popcount |b| satisfies the bound
 * Dice <= 2 min(|a|,|b|) / (|a|+|b|) >= threshold are compared (one contiguous window
 * of the sorted B). The bound is evaluated in the same floating-point expression as the
 * Dice itself, so the pruning never drops a qualifying pair, also at equality. Two empty
 * filters have Dice 0 (as rp_dice). The AND popcount uses the POPCNT instruction when
 * the CPU has it (chosen at run time), a portable popcount otherwise.
 *
 * @param fa         n_a filters of @p words words each (may be NULL when n_a is 0)
 * @param fb         n_b filters of @p words words each (may be NULL when n_b is 0)
 * @param n_a,n_b    at most UINT32_MAX each
 * @param words      words per filter, 1 to RP_LINK_MAX_WORDS
 * @param threshold  in [0, 1]
 * @param threads    worker threads; 0 or 1 runs on the calling thread; set A is split
 *                   into contiguous ranges. The output does not depend on it.
 * @param flags      0 or RP_LINK_NO_PRUNE
 * @param out        set to an array of *n_out pairs (NULL when none), sorted by Dice
 *                   descending, ties by (a, b) ascending; the caller frees it with
 *                   rp_free()
 * @param n_out      number of pairs
 *
 * Memory: O(n_b * words) words for the sorted copy of B, plus the output, which grows
 * as needed: 16 bytes per qualifying pair, at most n_a * n_b pairs (a low threshold on
 * large sets can ask for a lot; the bound is the caller's to choose).
 *
 * @return RP_OK; RP_EINVAL (bad argument), RP_ENOMEM, RP_EINTERNAL (a thread could not
 *         be started). On error *out is NULL and *n_out 0.
 */
RP_API int rp_link_dice_pairs(const uint64_t *fa,
                              size_t n_a,
                              const uint64_t *fb,
                              size_t n_b,
                              size_t words,
                              double threshold,
                              unsigned threads,
                              unsigned flags,
                              rp_link_pair **out,
                              size_t *n_out,
                              rp_error *err);

/**
 * anonlink's greedy 1:1 solver: walk @p pairs in order (which must be by Dice
 * descending, as rp_link_dice_pairs() returns them) and accept a pair when neither of
 * its records is matched yet.
 *
 * @param match_a  n_a entries, set to the matched record of B or -1
 * @param match_b  n_b entries, set to the matched record of A or -1 (may be NULL)
 * @param n_matched set to the number of accepted pairs (may be NULL)
 * @return RP_OK; RP_EINVAL when a pair names a record out of range or the Dice values
 *         are not in descending order (match arrays are then unspecified).
 */
RP_API int rp_link_greedy_1to1(const rp_link_pair *pairs,
                               size_t n_pairs,
                               size_t n_a,
                               size_t n_b,
                               int64_t *match_a,
                               int64_t *match_b,
                               size_t *n_matched,
                               rp_error *err);

/* ==== scored edges and clustering into persons (src/link/cluster.c) ==== */

/**
 * A scored record pair for clustering: records @c a and @c b index one numbering of all
 * records (every list together), and @c score is a Dice coefficient or a Fellegi–Sunter
 * match weight (higher = more alike).
 */
typedef struct rp_link_edge {
    uint32_t a;
    uint32_t b;
    double score;
} rp_link_edge;

/** Two records of a clustering constraint (rp_cluster_opts.must_link, .cannot_link). */
typedef struct rp_cluster_pair {
    uint32_t a;
    uint32_t b;
} rp_cluster_pair;

/** Options of rp_link_cluster(). Initialise with RP_CLUSTER_OPTS_INIT. */
typedef struct rp_cluster_opts {
    unsigned version;
    double threshold; /* edges with score >= threshold are links; the rest are ignored */
    /*
     * Anti-chaining (docs/linkage.md): two groups merge only when at least this share of
     * the record pairs between them are links (anonlink's probabilistic multi-party greedy
     * solver's merge threshold); 0 merges on any link (connected components, Splink's
     * clustering). In [0, 1]; default 0.5.
     */
    double min_cohesion;
    /*
     * Two records of one list end in one person only when they are linked directly (a
     * within-list duplicate the comparison saw), never through other lists' records.
     */
    bool list_guard;
    size_t max_size; /* most records per person; 0 = no limit */
    /*
     * Mutual best matches (docs/linkage.md, "Mutual best matches"): an edge with
     * mutual_low <= score < threshold between records of two different lists is also a
     * link when it is the strictly best edge of each of its records towards the other's
     * list (the pair a 1:1 assignment between the two lists would choose: anonlink's
     * greedy solver accepts exactly such pairs). Needs @c list; mutual_low >= threshold
     * or NaN turns it off. Default off (NaN): on the simulated scenarios, where most
     * people are on one list only, it links records to their best namesake and lowers
     * precision (docs/linkage.md); for two lists that each hold a person once and
     * overlap mostly (a 1:1 linkage such as FEBRL4), 0.70 recovers pairs pushed below
     * the threshold by recording errors.
     */
    double mutual_low;
    /*
     * Clerical-review verdicts (docs/linkage.md, "Clerical review feedback"), borrowed,
     * in any order, each pair in either orientation, repeats allowed; a pair in both
     * arrays is RP_EINVAL. A must-link pair is a link whatever its score (or whether it
     * is an edge at all): must-links are taken before every other link, and such a merge
     * is refused only by a cannot-link, never by max_size, list_guard or min_cohesion (a
     * reviewer said the two records are one person). A cannot-link pair is never a link,
     * and no merge (must-links and mutual best matches included) may put its two records
     * in one person.
     */
    const rp_cluster_pair *must_link;
    size_t n_must_link;
    const rp_cluster_pair *cannot_link;
    size_t n_cannot_link;
} rp_cluster_opts;

#define RP_CLUSTER_OPTS_VERSION 2
/* clang-format off */
#define RP_CLUSTER_OPTS_INIT {RP_CLUSTER_OPTS_VERSION, 0.8, 0.5, true, 0, NAN, NULL, 0, NULL, 0}

/* clang-format on */

/** What rp_link_cluster() did. */
typedef struct rp_cluster_stats {
    size_t links;            /* links: edges at or above the threshold, and mutual bests */
    size_t mutual;           /* of which mutual best matches below the threshold */
    size_t merges;           /* links that joined two groups */
    size_t refused_cohesion; /* merges refused by min_cohesion */
    size_t refused_list;     /* merges refused by list_guard */
    size_t refused_size;     /* merges refused by max_size */
    size_t persons;          /* groups at the end, singletons included */
    size_t largest;          /* records in the largest group */
    size_t must;             /* of the links, distinct must-link pairs (opts.must_link) */
    size_t refused_cannot;   /* merges refused by a cannot-link pair (opts.cannot_link) */
} rp_cluster_stats;

/**
 * Cluster records into persons: edges are taken in order of score (descending, ties by
 * (a, b)); a link whose two records are in different groups merges the groups when the
 * guards allow it. Deterministic: the result depends only on the edge multiset.
 *
 * @param edges     n_edges edges, any order (not modified); a and b < n_records, a != b;
 *                  a pair may appear once only among the links ((a, b) and (b, a) are
 *                  one pair; edges below the threshold are not checked for repeats)
 * @param list      n_records list indices (for list_guard), or NULL (guard off)
 * @param person    out: n_records person numbers 0..persons-1, numbered in order of each
 *                  person's lowest record
 * @param stats     may be NULL
 * @return RP_OK; RP_EINVAL (bad option, record out of range, self pair, repeated pair,
 *         a pair both must-link and cannot-link); RP_ENOMEM.
 * @note   Must-links come first and are refused only by a cannot-link. Other merges are
 *         refused, in this order, by a cannot-link pair between the two groups,
 *         max_size, list_guard (two records of one list not linked directly) and
 *         min_cohesion (links < min_cohesion x |G| |H| over every link at the threshold;
 *         must-links count as links, cannot-link edges do not). docs/linkage.md.
 * @test   tests/unit/test_link_cluster.c
 */
RP_API int rp_link_cluster(const rp_link_edge *edges,
                           size_t n_edges,
                           size_t n_records,
                           const uint16_t *list,
                           const rp_cluster_opts *opts,
                           uint32_t *person,
                           rp_cluster_stats *stats,
                           rp_error *err);

/* ==== candidate pairs of encoded records by their keyed blocking keys (src/link/hub.c) ==== */

/**
 * Encoded records of one or more lists, in one numbering (as rp_store_encoded_load()
 * gives them, or built by a caller): record i has the CLK clks[i*words .. (i+1)*words),
 * list index list[i] and the blocking keys keys[key_off[i] .. key_off[i+1]) with their
 * rules key_rule[...] (rp_enc_block_rule of <rapporteur/encode.h>).
 */
typedef struct rp_link_input {
    size_t n;
    size_t words;
    const uint64_t *clks;
    const uint16_t *list;
    const size_t *key_off; /* n + 1 entries */
    const uint64_t *keys;
    const uint8_t *key_rule;
} rp_link_input;

/** Most blocking rules counted in a blocking report. */
#define RP_LINK_MAX_RULES 8

/** Blocking report of rp_link_candidates(). */
typedef struct rp_block_report {
    struct {
        size_t keys;           /* distinct keys of the rule (singleton blocks included) */
        size_t pairs;          /* record pairs sharing a key of the rule, in blocks that
                                  were compared and allowed by the list filters */
        size_t first_pairs;    /* pairs this rule generated first (union counted once) */
        size_t oversized;      /* blocks above max_block, not compared */
        size_t oversized_recs; /* records in them */
    } rule[RP_LINK_MAX_RULES];

    size_t candidates; /* distinct candidate pairs compared: the sum of first_pairs (the
                          popcount bound settles some without the AND), or every allowed
                          pair when exhaustive */
    bool exhaustive;   /* every pair the list filters allow was compared, without blocking
                          (rp_link_opts.exhaustive_max); rule[] is then all zero */
    size_t kept;       /* pairs at or above min_score */
    size_t peak_bytes; /* the largest working memory held at once */
    double seconds;    /* wall time */
} rp_block_report;

/** Options of rp_link_candidates(). Initialise with RP_LINK_OPTS_INIT. */
typedef struct rp_link_opts {
    unsigned version;
    double min_score;        /* Dice below this is dropped; in [0, 1] */
    unsigned rules;          /* bit mask of rules used (1u << rule); 0 = every rule */
    size_t max_block;        /* blocks with more records are skipped and reported; 0 = no limit */
    bool within_list;        /* also pair records of one list (de-duplication) */
    bool across_lists;       /* pair records of different lists */
    unsigned threads;        /* 0 or 1 = calling thread; the result does not depend on it */
    rp_progress_fn progress; /* may be NULL */
    void *payload;
    /*
     * Compare every pair the list filters allow, without blocking, when there are at
     * most this many such pairs (and at most RP_LINK_EXHAUSTIVE_RECORDS records). 0 =
     * always block (the default). For a one-to-one linkage, where each record's partner
     * is chosen against its competitors, blocking only loses the true pairs that share no
     * key (anonlink compares all pairs; RP_LINK_EXHAUSTIVE_DEFAULT pairs take about 0.3 s
     * per core). Where links are decided by a threshold alone, sharing a key is evidence
     * too: on the simulated scenarios comparing every pair lowered precision
     * (docs/linkage.md). Used by rp_link_candidates() only; rp_link_fs() trains and
     * scores on blocked candidates.
     */
    size_t exhaustive_max;
} rp_link_opts;

/** rp_link_opts.exhaustive_max of `rapporteur link --one-to-one`: 100 million pairs. */
#define RP_LINK_EXHAUSTIVE_DEFAULT ((size_t)100000000)
/** Most records for which rp_link_candidates() compares all pairs. */
#define RP_LINK_EXHAUSTIVE_RECORDS ((size_t)1000000)

#define RP_LINK_OPTS_VERSION 2
/* clang-format off */
#define RP_LINK_OPTS_INIT \
    {RP_LINK_OPTS_VERSION, 0.5, 0u, 10000, true, true, 1u, NULL, NULL, 0}
/* clang-format on */

/**
 * Every distinct pair of records that share at least one blocking key (of the chosen
 * rules) and whose Dice is at least opts->min_score, streamed block by block (or, when
 * the list filters allow at most opts->exhaustive_max pairs, every allowed pair at or
 * above min_score, compared by rp_link_dice_pairs() list by list): a pair
 * found in several blocks is compared once (in the block of the first key the two
 * records share), and no list of all candidate pairs is ever built; memory is the sorted
 * key index plus the kept edges.
 * @param out  edges (a < b), sorted by score descending, ties by (a, b); rp_free()
 * @param report  may be NULL; filled also on failure (what was done so far)
 * @return RP_OK; RP_EINVAL; RP_ENOMEM; RP_ECANCELED (progress); RP_EINTERNAL (threads).
 * @note   Blocks of more than opts->max_block records are skipped; a pair whose first
 *         shared key is such a block is compared in its next shared block. The
 *         progress callback runs on the calling thread (done/total in record pairs of
 *         the blocks), at the start, between chunks and at the end. docs/linkage.md.
 * @test   tests/unit/test_link_hub.c
 */
RP_API int rp_link_candidates(const rp_link_input *in,
                              const rp_link_opts *opts,
                              rp_link_edge **out,
                              size_t *n_out,
                              rp_block_report *report,
                              rp_error *err);

/* ==== Fellegi–Sunter scoring of encoded candidate pairs (src/link/hub_fs.c) ==== */

/*
 * The Dice of the CLK mixes the evidence of the names and of the birth date: two
 * namesakes born on other days reach Dice ~0.85, as a typo'd copy of one person does.
 * The blocking keys keep them apart (family name sound + birth year, given name sound +
 * month and day), so the hub scores each candidate pair with the Fellegi–Sunter model
 * on a comparison vector it can form without plaintext: the Dice in levels, and per
 * keyed blocking rule whether the two records share a key of it (agree), both have keys
 * of it but share none (disagree), or one has none (null). docs/linkage.md, "Scoring by
 * Fellegi–Sunter".
 *
 * Sources: Fellegi & Sunter (1969), JASA 64:1183–1210; EM on pattern counts as fastLink
 * (Enamorado, Fifield & Imai 2019, APSR 113(2)); m by EM per blocking rule with u from
 * random pairs as Splink (docs/topic_guides/training/training_rationale.md); the
 * engine is rp_fs_em (<rapporteur/fs.h>, docs/fellegi-sunter.md).
 */

#include <rapporteur/fs.h> /* rp_fs_params, rp_fs_em_info, rp_fs_em_opts */

/** Comparisons of rp_link_fs(), in the order of rp_link_fs_result.params. */
enum {
    RP_LINK_FS_DICE = 0,    /* levels: null (an empty CLK), >= 0.95, 0.90, 0.85, 0.80,
                               0.75, 0.70, else */
    RP_LINK_FS_FAMILY_YEAR, /* levels: null, agree, disagree (rule family_year) */
    RP_LINK_FS_GIVEN_DATE,  /* rule given_date */
    RP_LINK_FS_NAMES,       /* rule names */
    RP_LINK_FS_DOCUMENT,    /* rule document */
    RP_LINK_FS_COMPARISONS
};

/** Dice levels of RP_LINK_FS_DICE besides null and else. */
#define RP_LINK_FS_DICE_THRESHOLDS 6

/** Training sessions: one per keyed rule compared, and one for the other candidates. */
#define RP_LINK_FS_SESSIONS 5

/** Options of rp_link_fs(). Initialise with RP_LINK_FS_OPTS_INIT. */
typedef struct rp_link_fs_opts {
    unsigned version;
    rp_link_opts link;  /* rules, max_block, list filters, threads, progress; min_score is
                           ignored (the lowest Dice level is used) */
    size_t u_pairs;     /* random pairs for u; default 1,000,000 */
    uint64_t seed;      /* of the random pairs and of the training sample */
    double train_share; /* share of the blocks whose pairs train EM, in (0, 1]; 0 =
                           automatic: 1 up to RP_LINK_FS_TRAIN_RECORDS records, then
                           (RP_LINK_FS_TRAIN_RECORDS / n)^2 */
    double keep_weight; /* pairs with a match weight below this are dropped; -10 */
    /*
     * Score the names rule (default true). Given the Dice, agreement on both name sounds
     * repeats the name evidence the CLK holds; where namesakes are common (millions of
     * records) that double count links namesakes born on other days, and false leaves
     * the names rule as a blocking rule and training session only (docs/linkage.md).
     */
    bool score_names;
    /*
     * Take the matches out of the random-pair u (u = (share - lambda m) / (1 - lambda))
     * and fit once more (default false): needed where exact copies make the top Dice
     * level rarer among non-matches than lambda x m (blocklib's set).
     */
    bool correct_u;
    rp_fs_em_opts em;
} rp_link_fs_opts;

/** Records up to which every block trains EM when train_share is 0. */
#define RP_LINK_FS_TRAIN_RECORDS 300000

#define RP_LINK_FS_OPTS_VERSION 1
/* clang-format off */
#define RP_LINK_FS_OPTS_INIT {RP_LINK_FS_OPTS_VERSION, RP_LINK_OPTS_INIT, 1000000, 42u, 0.0, \
                              -10.0, true, false, RP_FS_EM_OPTS_INIT}

/* clang-format on */

/** Result of rp_link_fs(); free with rp_link_fs_result_free(). */
typedef struct rp_link_fs_result {
    rp_fs_params params; /* m pooled over the sessions, u from random pairs, lambda of two
                            random allowed records: the fallback model, and the report */
    rp_fs_em_info em;    /* over the sessions; warnings after pooling */
    /* each session's own fit (report only: the pooled params score every pair);
       unusable: it warned (too few pairs, a collapse) or m <= u on the top Dice level,
       and its m was not pooled */
    rp_fs_params session_params[RP_LINK_FS_SESSIONS];
    bool session_fallback[RP_LINK_FS_SESSIONS];
    bool score_names;                           /* as the options said */
    rp_fs_em_info session[RP_LINK_FS_SESSIONS]; /* family_year, given_date, names,
                                                   document, other */
    double session_lambda[RP_LINK_FS_SESSIONS]; /* match rate among the session's pairs */
    double session_pairs[RP_LINK_FS_SESSIONS];  /* candidate pairs in it (estimated) */
    double expected_matches;                    /* among the candidates */
    double all_pairs;                           /* record pairs the list options allow */
    double train_share;                         /* share of the blocks that trained EM */
    size_t patterns;        /* distinct comparison patterns among the training pairs */
    size_t u_pairs;         /* random pairs drawn for u */
    rp_block_report train;  /* blocking report of the training pass */
    rp_block_report report; /* of the scoring pass: candidates, kept edges, memory */
    size_t n_edges;
    rp_link_edge *edges; /* a < b, score = match weight (bits); by weight descending */
    double seconds_u, seconds_train, seconds_em, seconds_score;
} rp_link_fs_result;

/**
 * Score the candidate pairs of encoded records by their Fellegi–Sunter match weight,
 * unsupervised: (1) u of every comparison from opts->u_pairs random pairs of records
 * the list options allow (add-one smoothing); (2) a training pass over the candidate
 * pairs (rp_link_candidates' blocks, each distinct pair once; a sample of the blocks
 * above RP_LINK_FS_TRAIN_RECORDS records) that counts comparison patterns; (3) one EM
 * session (rp_fs_em, u fixed) per keyed rule on the pairs that agree on it, with that
 * rule's comparison null, m pooled over the sessions by their expected matches; the
 * candidates that agree on no keyed rule (LSH only) give their expected matches by EM
 * on lambda alone; lambda = expected matches / allowed pairs; (4) a scoring pass that
 * keeps the pairs with weight >= keep_weight. Weight 0 is posterior 0.5.
 * @param out  the result (edges for rp_link_cluster with a weight threshold); NULL on
 *             failure
 * @return RP_OK (look at out->em.warnings); RP_EINVAL (as rp_link_candidates, or bad
 *         options); RP_ENOMEM; RP_ECANCELED (progress); RP_EINTERNAL (threads).
 * @note   Memory: rp_link_candidates' index, 4 bytes per record and keyed rule plus 8
 *         per key of the compared rules, a pattern table per thread (5 KB), the kept
 *         edges. Deterministic for a seed: the result does not depend on the threads.
 * @test   tests/unit/test_link_hub_fs.c
 */
RP_API int rp_link_fs(rp_link_fs_result **out,
                      const rp_link_input *in,
                      const rp_link_fs_opts *opts,
                      rp_error *err);

/** Free. NULL-safe. */
RP_API void rp_link_fs_result_free(rp_link_fs_result *res);

/** Name of comparison @p k ("dice", "family_year", ...), NULL when out of range. */
RP_API const char *rp_link_fs_comparison_name(size_t k);

/** Name of training session @p s ("family_year", ..., "other"), NULL out of range. */
RP_API const char *rp_link_fs_session_name(size_t s);

#ifdef __cplusplus
}
#endif

#endif
