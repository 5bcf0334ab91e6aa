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

#ifdef __cplusplus
}
#endif

#endif
