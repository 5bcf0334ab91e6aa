/*
 * bench_dice: Dice comparisons per second per core of rp_link_dice_pairs (issue 6) on
 * random 1024-bit filters, single thread, with and without the popcount-window pruning,
 * at thresholds 0.7 and 0.5, against anonlink's README figure of about 125-139 million
 * comparisons/s at threshold 0.7 (2.5-66 million/s at 0.5, where its solver dominates;
 * hardware not stated; peers-linkage.md §1.1). A "comparison" is one pair of the full
 * n_a x n_b product, whether or not the window let the kernel skip it, as anonlink counts
 * them; the time includes the popcounts, the sort of B and the sort of the output.
 *
 * Filters: n_a random filters, each with its own density drawn uniformly from
 * [0.2, 0.5] (popcount about 205-512 of 1024); B holds n_b filters of which the first
 * 10 % are noisy copies of A (5 % of the bits flipped) and the rest are random like A.
 * Real CLKs are denser and narrower (anonlink's: popcount 346-639, median 525, so that
 * 98 % of their pairs reach Dice 0.5): random filters that dense would put most of the
 * 400 million pairs in the output at 0.5, hence the sparser, wider range here. With real
 * CLKs the popcount window prunes almost nothing at 0.7 (it needs min/max < 0.54).
 *
 * With AVX-512 VPOPCNTDQ it also times the practical popcount limit: a bare loop of
 * VPANDQ + VPOPCNTQ + VPADDQ (accumulated per lane, never reduced or compared) of 64 rows
 * of A against 128 filters of B (16 KiB, in the L1 cache), the same instructions per
 * pair as the kernel minus its reduction and compare.
 */
#include "bench_util.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/link.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#    include <immintrin.h>
#    define BENCH_X86 1
#endif

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"
/* clang-format on */

#define WORDS      ((size_t)16)
#define DEFAULT_N  20000
#define DEFAULT_R  3
#define PEER_LO_07 125e6
#define PEER_HI_07 139e6

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* A random word whose bits are each set with probability about d (8-bit resolution). */
static uint64_t rnd_word(uint64_t *s, unsigned d256)
{
    uint64_t w = 0;
    for (unsigned bit = 0; bit < 64; bit += 8) {
        uint64_t r = rnd(s);
        for (unsigned k = 0; k < 8; k++)
            w |= (uint64_t)(((r >> (8 * k)) & 0xffu) < d256) << (bit + k);
    }
    return w;
}

static void fill(uint64_t *f, size_t n, uint64_t *s)
{
    for (size_t i = 0; i < n; i++) {
        unsigned d256 = 51 + (unsigned)(rnd(s) % 78); /* 0.2 .. 0.5 */
        for (size_t w = 0; w < WORDS; w++)
            f[i * WORDS + w] = rnd_word(s, d256);
    }
}

/* Share of the n x n pairs inside the popcount window of rp_link_dice_pairs at @p thr. */
static double window_share(const uint64_t *fa, const uint64_t *fb, size_t n, double thr)
{
    static double ha[WORDS * 64 + 1], hb[WORDS * 64 + 1];
    for (size_t c = 0; c <= WORDS * 64; c++)
        ha[c] = hb[c] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t ca = 0, cb = 0;
        for (size_t w = 0; w < WORDS; w++) {
            ca += (size_t)__builtin_popcountll(fa[i * WORDS + w]);
            cb += (size_t)__builtin_popcountll(fb[i * WORDS + w]);
        }
        ha[ca]++;
        hb[cb]++;
    }
    double in = 0;
    for (size_t ca = 0; ca <= WORDS * 64; ca++) {
        for (size_t cb = 0; ha[ca] > 0 && cb <= WORDS * 64; cb++) {
            size_t lo = ca < cb ? ca : cb;
            double bound = ca + cb ? 2.0 * (double)lo / (double)(ca + cb) : 0.0;
            if (bound >= thr)
                in += ha[ca] * hb[cb];
        }
    }
    return in / ((double)n * (double)n);
}

#ifdef BENCH_X86
#    define LIMIT_A      64
#    define LIMIT_B      128
#    define LIMIT_PASSES 2000

static volatile uint64_t limit_sink;

/* Pairs per second of the bare AND + popcount loop; 0 without AVX-512 VPOPCNTDQ. */
__attribute__((target("avx512f,avx512vpopcntdq"))) static double
limit_avx512(const uint64_t *fa, const uint64_t *fb, size_t reps)
{
    double best = 0;
    uint64_t sink = 0;
    for (size_t r = 0; r < reps; r++) {
        __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
        double c0 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        for (size_t pass = 0; pass < LIMIT_PASSES; pass++) {
            for (size_t i = 0; i < LIMIT_A; i++) {
                __m512i a0 = _mm512_loadu_si512((const void *)(fa + i * WORDS));
                __m512i a1 = _mm512_loadu_si512((const void *)(fa + i * WORDS + 8));
                /* opaque to the optimiser: each pass is computed, not multiplied out */
                __asm__ volatile("" : "+v"(a0), "+v"(a1));
                for (size_t k = 0; k < LIMIT_B; k += 2) {
                    const uint64_t *b = fb + k * WORDS;
                    s0 = _mm512_add_epi64(s0, _mm512_popcnt_epi64(_mm512_and_si512(
                                                  a0, _mm512_loadu_si512((const void *)b))));
                    s1 = _mm512_add_epi64(s1, _mm512_popcnt_epi64(_mm512_and_si512(
                                                  a1, _mm512_loadu_si512((const void *)(b + 8)))));
                    s2 = _mm512_add_epi64(s2, _mm512_popcnt_epi64(_mm512_and_si512(
                                                  a0, _mm512_loadu_si512((const void *)(b + 16)))));
                    s3 = _mm512_add_epi64(s3, _mm512_popcnt_epi64(_mm512_and_si512(
                                                  a1, _mm512_loadu_si512((const void *)(b + 24)))));
                }
            }
        }
        double sec = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
        sink += (uint64_t)_mm512_reduce_add_epi64(
            _mm512_add_epi64(_mm512_add_epi64(s0, s1), _mm512_add_epi64(s2, s3)));
        double rate = (double)LIMIT_PASSES * LIMIT_A * LIMIT_B / sec;
        if (rate > best)
            best = rate;
    }
    limit_sink = sink; /* keeps the sums, and so the loop, alive */
    return best;
}

static double limit_rate(const uint64_t *fa, const uint64_t *fb, size_t n, size_t reps)
{
    if (n < LIMIT_A || n < LIMIT_B || !__builtin_cpu_supports("avx512f") ||
        !__builtin_cpu_supports("avx512vpopcntdq"))
        return 0;
    return limit_avx512(fa, fb, reps);
}
#else
static double limit_rate(const uint64_t *fa, const uint64_t *fb, size_t n, size_t reps)
{
    (void)fa;
    (void)fb;
    (void)n;
    (void)reps;
    return 0;
}
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_dice [--n N]\n"
            "  --n N   filters per side (default %d): N x N comparisons per run\n",
            DEFAULT_N);
}

static bool parse_args(int argc, char **argv, size_t *n, size_t *reps)
{
    static const struct option longopts[] = {{"n", required_argument, NULL, 'n'},
                                             {"reps", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    for (;;) {
        int opt = getopt_long(argc, argv, "h", longopts, NULL);
        if (opt == -1)
            break;
        if (opt == 'n') {
            if (!bench_opt_count(n, optarg, 1, "bench_dice", "--n"))
                return false;
        } else if (opt == 'r') {
            if (!bench_opt_count(reps, optarg, 1, "bench_dice", "--reps"))
                return false;
        } else if (opt == 'h') {
            usage(stdout);
            exit(0);
        } else {
            usage(stderr);
            return false;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return false;
    }
    return true;
}

int main(int argc, char **argv)
{
    size_t n = DEFAULT_N, reps = DEFAULT_R;
    if (!parse_args(argc, argv, &n, &reps))
        return 2;
    rp_init();
    bench_machine m;
    bench_machine_describe(&m);

    int status = 1;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    uint64_t *fa = rp_calloc(n * WORDS, sizeof *fa);
    uint64_t *fb = rp_calloc(n * WORDS, sizeof *fb);
    if (!fa || !fb) {
        fprintf(stderr, "bench_dice: out of memory\n");
        goto out;
    }
    fill(fa, n, &s);
    fill(fb, n, &s);
    for (size_t i = 0; i < n / 10; i++) {
        for (size_t w = 0; w < WORDS; w++)
            fb[i * WORDS + w] = fa[i * WORDS + w] ^ rnd_word(&s, 13); /* ~5 % flipped */
    }

    printf("bench_dice: Dice candidate search over 1024-bit filters (issue 6)\n");
    bench_machine_print(&m);
    printf("method     %zu x %zu filters, density U[0.2, 0.5], 10%% noisy copies; one thread;\n"
           "           CPU time (CLOCK_PROCESS_CPUTIME_ID) of one rp_link_dice_pairs call, median "
           "of %zu\n",
           n, n, reps);
    printf("peer       anonlink README: about 125-139 million comparisons/s at 0.7 "
           "(hardware not stated)\n\n");
    printf("%9s %8s %8s %10s %8s %16s %s\n", "threshold", "pruning", "window", "pairs", "CPU s",
           "comparisons/s", "vs anonlink at 0.7");
    static const double thr[] = {0.7, 0.5};
    double cpu[64];
    if (reps > sizeof cpu / sizeof cpu[0])
        reps = sizeof cpu / sizeof cpu[0];
    for (size_t t = 0; t < 2; t++) {
        double share = window_share(fa, fb, n, thr[t]);
        for (unsigned flags = 0; flags <= RP_LINK_NO_PRUNE; flags++) {
            size_t np = 0;
            for (size_t r = 0; r < reps; r++) {
                rp_error err = RP_ERROR_INIT;
                rp_link_pair *pairs = NULL;
                double c0 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
                int rc =
                    rp_link_dice_pairs(fa, n, fb, n, WORDS, thr[t], 1, flags, &pairs, &np, &err);
                cpu[r] = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
                rp_free(pairs);
                if (rc != RP_OK) {
                    fprintf(stderr, "bench_dice: %s\n", err.msg);
                    goto out;
                }
            }
            double sec = bench_median(cpu, reps);
            double rate = (double)n * (double)n / sec;
            printf("%9.2f %8s %7.1f%% %10zu %8.3f %14.1f M %.2f-%.2fx\n", thr[t],
                   flags ? "off" : "on", flags ? 100.0 : 100.0 * share, np, sec, rate / 1e6,
                   rate / PEER_HI_07, rate / PEER_LO_07);
        }
    }
    printf("\nwindow: share of the pairs whose popcounts can reach the threshold (compared)\n");
    double limit = limit_rate(fa, fb, n, 5 * reps);
    if (limit > 0)
        printf("limit:  bare VPANDQ + VPOPCNTQ + VPADDQ loop, B in L1 (best of %zu): %.1f M "
               "pairs/s\n",
               5 * reps, limit / 1e6);
    status = 0;
out:
    rp_free(fa);
    rp_free(fb);
    return status;
}
