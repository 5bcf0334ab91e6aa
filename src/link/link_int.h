/*
 * Internals of src/link/ shared with the unit tests: the choice of the popcount kernel
 * of rp_link_dice_pairs, so that every kernel this CPU has is checked against brute
 * force, not only the one chosen at run time.
 */
#ifndef RP_LINK_INT_H
#define RP_LINK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rp_link__kernel {
    RP_LINK__KERNEL_AUTO = 0, /* the fastest this CPU has (the default) */
    RP_LINK__KERNEL_SWAR,     /* portable popcount (Hacker's Delight 5-1) */
    RP_LINK__KERNEL_POPCNT,   /* __builtin_popcountll, POPCNT on x86 */
    RP_LINK__KERNEL_AVX512    /* AVX-512 VPOPCNTQ; filters of a multiple of 8 words */
} rp_link__kernel;

/** Whether kernel @p k can run on this CPU (AUTO always can). */
bool rp_link__kernel_available(rp_link__kernel k);

/**
 * Force kernel @p k for later calls (tests only; not thread-safe). A kernel the CPU
 * lacks, or AVX512 on filters whose words are not a multiple of 8, falls back to AUTO.
 */
void rp_link__force_kernel(rp_link__kernel k);

/* ==== kernels shared with src/link/hub.c (defined in src/link/link.c) ==== */

/** popcount(a & b) over @p words 64-bit words. */
typedef uint64_t (*rp_link__and_count_fn)(const uint64_t *a, const uint64_t *b, size_t words);

/**
 * The AND-popcount kernel rp_link_dice_pairs() uses for filters of @p words words: the
 * forced one (rp_link__force_kernel) when it can run, else AVX-512, POPCNT or SWAR.
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

#endif
