/*
 * Internals of src/link/ shared with the unit tests: the choice of the popcount kernel
 * of rp_link_dice_pairs, so that every kernel this CPU has is checked against brute
 * force, not only the one chosen at run time.
 */
#ifndef RP_LINK_INT_H
#define RP_LINK_INT_H

#include <stdbool.h>

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

#endif
