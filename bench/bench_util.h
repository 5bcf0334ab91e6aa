/*
 * Helpers shared by the benchmarks (bench/bench_<topic>.c): clocks, medians, option
 * counts, the description of the machine that every report starts with, and JSON
 * numbers. CMakeLists.txt compiles bench_util.c into each benchmark executable.
 */
#ifndef RP_BENCH_UTIL_H
#define RP_BENCH_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Seconds on clock @p id (CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID); NaN on failure. */
double bench_clock_seconds(clockid_t id);

/** Median of v[0..n-1], n >= 1 (sorts v). */
double bench_median(double *v, size_t n);

/** Parse a decimal count of at most 10^9 (digits only); false when @p s is not one. */
bool bench_parse_count(size_t *out, const char *s);

/**
 * The value of option @p opt of program @p prog: a count of at least @p min. On a bad
 * value prints "prog: opt expects a positive integer" (or "a non-negative integer", or
 * "an integer of at least MIN") on stderr and returns false.
 */
bool bench_opt_count(size_t *out, const char *arg, size_t min, const char *prog, const char *opt);

/** The machine a benchmark ran on, as its report gives it. */
typedef struct bench_machine {
    char cpu[128];     /* model name from /proc/cpuinfo, or "unknown CPU" */
    long cores;        /* online */
    char compiler[96]; /* "gcc 12.2.0", "clang ..." */
    char date[32];     /* UTC, ISO 8601 */
    char load[64];     /* the three load averages of /proc/loadavg, or "" */
    bool assertions;   /* built without NDEBUG */
} bench_machine;

/** Fill @p m for this machine, build and moment. */
void bench_machine_describe(bench_machine *m);

/** Print the "machine" and "build" lines of a report header on stdout. */
void bench_machine_print(const bench_machine *m);

/**
 * Remove the folder @p dir and everything in it (sub-folders too; symbolic links are
 * removed, never followed). Quietly does what it can: for benchmarks' scratch folders.
 */
/**
 * Record pairs inside runs of equal values of @p v (n (n - 1) / 2 per run of n), for
 * pairwise linkage quality: with v = person << 32 | entity, the pairs put in one person
 * that are true. Sorts @p v in place.
 */
size_t bench_run_pairs(uint64_t *v, size_t n);

void bench_remove_tree(const char *dir);

/** A JSON number, or null for NaN and infinities (JSON has neither). */
json_t *bench_json_number(double x);

#endif
