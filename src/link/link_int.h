/*
 * Internals of src/link/ shared with the unit tests: the choice of the popcount kernel
 * of rp_link_dice_pairs, so that every kernel this CPU has is checked against brute
 * force, not only the one chosen at run time.
 */
#ifndef RP_LINK_INT_H
#define RP_LINK_INT_H

#include <rapporteur/error.h>
#include <rapporteur/link.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rp_link__kernel {
    RP_LINK__KERNEL_AUTO = 0, /* the fastest this CPU has (the default) */
    RP_LINK__KERNEL_SWAR,     /* portable popcount (Hacker's Delight 5-1) */
    RP_LINK__KERNEL_POPCNT,   /* __builtin_popcountll, POPCNT on x86 */
    RP_LINK__KERNEL_AVX512,   /* AVX-512 VPOPCNTQ; filters of a multiple of 8 words */
    RP_LINK__KERNEL_AVX512_X8 /* the same, one row of A against 8 rows of B at a time
                                 (also needs AVX-512 BW, VBMI and VBMI2); multiple of 8 words */
} rp_link__kernel;

/** Whether kernel @p k can run on this CPU (AUTO always can). */
bool rp_link__kernel_available(rp_link__kernel k);

/**
 * Force kernel @p k for later calls (tests only; not thread-safe). A kernel the CPU
 * lacks, or AVX512 / AVX512_X8 on filters whose words are not a multiple of 8, falls back
 * to AUTO. rp_link__and_count_kernel() gives the AVX512 kernel for AVX512_X8 (one pair).
 */
void rp_link__force_kernel(rp_link__kernel k);

/* ==== kernels shared with src/link/hub.c (defined in src/link/link.c) ==== */

/** popcount(a & b) over @p words 64-bit words. */
typedef uint64_t (*rp_link__and_count_fn)(const uint64_t *a, const uint64_t *b, size_t words);

/**
 * The AND-popcount kernel rp_link_dice_pairs() uses for filters of @p words words: the
 * forced one (rp_link__force_kernel) when it can run, else AVX-512, POPCNT or SWAR (a
 * single pair at a time: the 8-row AVX512_X8 scan is for rp_link_dice_pairs only).
 */
rp_link__and_count_fn rp_link__and_count_kernel(size_t words);

/**
 * need[t] for t = |a| + |b| in 0..2 bits: the least |a & b| whose Dice reaches
 * @p threshold (UINT32_MAX when none can), so that `both >= need[t]` is exactly
 * `rp_dice() >= threshold`, and `need[t] > min(|a|, |b|)` is the popcount bound.
 * @p need has 2 bits + 1 entries.
 */
void rp_link__need_table(uint32_t *need, size_t bits, double threshold);

/** Popcount of one filter of @p words words. */
uint32_t rp_link__popcount(const uint64_t *f, size_t words);

/** The Dice from the counts, in exactly rp_dice()'s expression (0 when total is 0). */
double rp_link__dice_of(uint64_t both, uint64_t total);

/* ==== candidate pairs with the caller's score (src/link/hub.c, used by hub_fs.c) ==== */

/**
 * Called for every distinct candidate pair (a < b not guaranteed) on worker @p thread
 * (0 .. opts->threads - 1; 0 is the calling thread): @p dice is the pair's Dice, or -1
 * when it is below opts->min_score (settled by the popcount bound or the AND count).
 * Return true to keep the pair as an edge with score *@p score.
 */
typedef bool (*rp_link__pair_fn)(
    void *payload, unsigned thread, uint32_t a, uint32_t b, double dice, double *score);

typedef struct rp_link__visit {
    rp_link__pair_fn fn;
    void *payload;
    double sample; /* share of the comparable blocks visited, in (0, 1]; 1 = every block */
    uint64_t seed; /* of the block sample */
} rp_link__visit;

/** The argument checks of rp_link_candidates() (RP_OK or RP_EINVAL with a message). */
int rp_link__check_input(const rp_link_input *in, const rp_link_opts *o, rp_error *err);

/**
 * rp_link_candidates() with a visitor in place of the Dice threshold (NULL: exactly
 * rp_link_candidates). With sample < 1 a block is visited when a hash of its key, rule
 * and seed falls below sample x 2^64, so that each distinct pair is visited with about
 * that probability (in its first shared block) and the result does not depend on the
 * threads. report->kept counts the kept edges.
 */
int rp_link__candidates_visit(const rp_link_input *in,
                              const rp_link_opts *opts,
                              const rp_link__visit *visit,
                              rp_link_edge **out,
                              size_t *n_out,
                              rp_block_report *report,
                              rp_error *err);

#endif
