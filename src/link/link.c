/*
 * Dice candidate search over CLKs with a popcount window, and anonlink's greedy 1:1
 * solver (include/rapporteur/link.h).
 *
 * The build does not assume the POPCNT instruction (no -mpopcnt), so, as rp_dice in
 * src/encode/clk.c does, the row scan is compiled several times on x86 and one copy is
 * chosen at run time with __builtin_cpu_supports: AVX-512 VPOPCNTQ (filters of a
 * multiple of 8 words; with AVX-512 VBMI/VBMI2 it takes 8 rows of B at a time), POPCNT,
 * and a SWAR popcount. Per pair the scan does only the AND popcount and one integer
 * compare against need[|a|+|b|] (the least |a&b| that reaches the threshold, from the
 * same floating-point expression as rp_dice); the Dice itself is computed for the pairs
 * kept.
 */
#include "link/link_int.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/link.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#    include <immintrin.h>
#endif

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"

/* clang-format on */

/* ==== popcount ==== */

static inline unsigned popcount_swar(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

/* The Dice of a pair from its counts, in exactly rp_dice's expression. */
static double dice_of(uint64_t both, uint64_t total)
{
    return total ? 2.0 * (double)both / (double)total : 0.0;
}

/* The largest popcount bound 2 min(ca,cb)/(ca+cb) in the same expression as the Dice. */
static double dice_bound(size_t ca, size_t cb)
{
    return dice_of(ca < cb ? ca : cb, (uint64_t)ca + cb);
}

/* ==== scan ==== */

typedef struct pair_vec {
    rp_link_pair *v;
    size_t n, cap;
    bool oom;
} pair_vec;

/* Kept out of line: the scan loop stays small, and a push is rare at useful thresholds. */
static __attribute__((noinline)) void
pair_push(pair_vec *pv, uint32_t a, uint32_t b, uint64_t both, uint64_t total)
{
    double dice = dice_of(both, total);
    if (pv->oom)
        return;
    if (pv->n == pv->cap) {
        size_t cap = pv->cap ? 2 * pv->cap : 256;
        rp_link_pair *v = rp_reallocarray(pv->v, cap, sizeof *v);
        if (!v) {
            pv->oom = true;
            return;
        }
        pv->v = v;
        pv->cap = cap;
    }
    pv->v[pv->n].a = a;
    pv->v[pv->n].b = b;
    pv->v[pv->n].dice = dice;
    pv->n++;
}

/* Shared, read-only state of one search. */
typedef struct scan_ctx {
    const uint64_t *fa;
    const uint64_t *fb_sorted; /* B in popcount order */
    const uint32_t *b_index;   /* sorted position -> original index in B */
    const uint32_t *cnt_a;
    const uint32_t *cnt_b_sorted;
    const size_t *win_lo;    /* per popcount of a: first sorted position of B to compare */
    const size_t *win_hi;    /* one past the last */
    const uint32_t *need;    /* per |a|+|b|: least |a&b| whose Dice reaches the threshold */
    const uint32_t *need_lo; /* per |a|+|b| = t: min of need[t..] (a bound for sorted B) */
    size_t words;
    size_t n_b;
    double threshold;
} scan_ctx;

typedef struct scan_job {
    const scan_ctx *ctx;
    size_t from, to; /* rows of A */
    pair_vec out;
} scan_job;

static inline __attribute__((always_inline)) uint64_t pop(uint64_t y, int hw)
{
    return hw ? (uint64_t)__builtin_popcountll(y) : popcount_swar(y);
}

/* popcount(a & b) over w words, four independent sums (unrolled fully when w is 16). */
static inline __attribute__((always_inline)) uint64_t
and_count(const uint64_t *a, const uint64_t *b, size_t w, int hw)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t x = 0;
#pragma GCC unroll 4
    for (; x + 4 <= w; x += 4) {
        s0 += pop(a[x] & b[x], hw);
        s1 += pop(a[x + 1] & b[x + 1], hw);
        s2 += pop(a[x + 2] & b[x + 2], hw);
        s3 += pop(a[x + 3] & b[x + 3], hw);
    }
    for (; x < w; x++)
        s0 += pop(a[x] & b[x], hw);
    return s0 + s1 + s2 + s3;
}

static inline __attribute__((always_inline)) void scan_rows(const scan_ctx *c,
                                                            size_t from,
                                                            size_t to,
                                                            size_t k0,
                                                            size_t k1,
                                                            pair_vec *out,
                                                            int hw,
                                                            size_t w)
{
    /* locals, so that the stores of pair_push do not force reloads */
    const uint64_t *const fa = c->fa;
    const uint64_t *const fb = c->fb_sorted;
    const uint32_t *const cnt_b = c->cnt_b_sorted;
    const uint32_t *const need = c->need;
    for (size_t i = from; i < to; i++) {
        const uint64_t *a = fa + i * w;
        const uint32_t ca = c->cnt_a[i];
        const size_t lo = c->win_lo[ca] > k0 ? c->win_lo[ca] : k0;
        const size_t hi = c->win_hi[ca] < k1 ? c->win_hi[ca] : k1;
        for (size_t k = lo; k < hi; k++) {
            uint64_t both = and_count(a, fb + k * w, w, hw);
            uint32_t total = ca + cnt_b[k];
            if (both >= need[total])
                pair_push(out, (uint32_t)i, c->b_index[k], both, total);
        }
    }
}

static void
scan_rows_swar(const scan_ctx *c, size_t from, size_t to, size_t k0, size_t k1, pair_vec *out)
{
    scan_rows(c, from, to, k0, k1, out, 0, c->words);
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#    define RP_LINK_X86      1
#    define RP_POPCNT_TARGET __attribute__((target("popcnt")))
#    define RP_AVX512_TARGET __attribute__((target("avx512f,avx512vpopcntdq")))

/* popcount(a & b) over w words (a multiple of 8) with AVX-512 VPOPCNTQ. */
static inline __attribute__((always_inline)) RP_AVX512_TARGET uint64_t
and_count_avx512(const uint64_t *a, const uint64_t *b, size_t w)
{
    __m512i acc = _mm512_setzero_si512();
    for (size_t x = 0; x < w; x += 8) {
        __m512i va = _mm512_loadu_si512((const void *)(a + x));
        __m512i vb = _mm512_loadu_si512((const void *)(b + x));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(va, vb)));
    }
    return (uint64_t)_mm512_reduce_add_epi64(acc);
}

static inline __attribute__((always_inline)) RP_AVX512_TARGET void scan_rows_avx512_w(
    const scan_ctx *c, size_t from, size_t to, size_t k0, size_t k1, pair_vec *out, size_t w)
{
    const uint64_t *const fa = c->fa;
    const uint64_t *const fb = c->fb_sorted;
    const uint32_t *const cnt_b = c->cnt_b_sorted;
    const uint32_t *const need = c->need;
    for (size_t i = from; i < to; i++) {
        const uint64_t *a = fa + i * w;
        const uint32_t ca = c->cnt_a[i];
        const size_t lo = c->win_lo[ca] > k0 ? c->win_lo[ca] : k0;
        const size_t hi = c->win_hi[ca] < k1 ? c->win_hi[ca] : k1;
        for (size_t k = lo; k < hi; k++) {
            uint64_t both = and_count_avx512(a, fb + k * w, w);
            uint32_t total = ca + cnt_b[k];
            if (both >= need[total])
                pair_push(out, (uint32_t)i, c->b_index[k], both, total);
        }
    }
}

RP_AVX512_TARGET static void
scan_rows_avx512(const scan_ctx *c, size_t from, size_t to, size_t k0, size_t k1, pair_vec *out)
{
    if (c->words == 16)
        scan_rows_avx512_w(c, from, to, k0, k1, out, 16);
    else
        scan_rows_avx512_w(c, from, to, k0, k1, out, c->words);
}

/*
 * The 8-row kernel (AVX512_X8). Per pair the AVX-512 kernel above spends more on the
 * horizontal sum of the 8 lane counts (two extracts, a shuffle, three adds and a move to
 * a general register) than on the AND and VPOPCNTQ themselves. Here one row a of A meets
 * 8 consecutive rows b_0..b_7 of B and the 8 lane-count vectors are reduced together:
 *
 *   p_j = VPOPCNTQ(a[0..7] & b_j[0..7]) + VPOPCNTQ(a[8..15] & b_j[8..15])
 *
 * has 8 lanes of at most 128, so each fits a byte. VPSHRDQ shifts p_j into the top byte
 * of an accumulator as it shifts the earlier ones down, so after 8 rows byte l*8+j of
 * the accumulator is lane l of p_j. One VPERMB transposes that 8x8 byte matrix (byte
 * j*8+l), and VPSADBW against zero sums the 8 bytes of each qword: qword j is then
 * |a & b_j|, at most 1024. Filters longer than 16 words go in chunks of 16 (two vectors,
 * lane sums at most 128), whose 8 sums are added. The 8 sums are compared at once with
 * need_lo[|a| + |b_0|], a lower bound of need[|a| + |b_j|] since B is in popcount order;
 * the rare hits are checked exactly against need[] and pushed. So per pair: 2 VPANDQ (with
 * the load), 2 VPOPCNTQ, 1 VPADDQ and 1 VPSHRDQ, and 1/8 of a VPERMB, VPSADBW, VPCMPUQ.
 * VPOPCNTQ on 512 bits issues on one port, so 2 cycles per 1024-bit pair is the floor
 * (bench/README.md).
 *
 * A group may run past the window (and past the last row of B: prep_build pads B with 7
 * zero rows); the lanes past it are masked off before the compare.
 */
#    define RP_X8_TARGET \
        __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,avx512vpopcntdq")))

/* VPERMB indices: byte j*8+l of the result is byte l*8+j of the accumulator */
static const uint8_t x8_transpose[64] = {
    0,  8,  16, 24, 32, 40, 48, 56, 1,  9,  17, 25, 33, 41, 49, 57, 2,  10, 18, 26, 34, 42,
    50, 58, 3,  11, 19, 27, 35, 43, 51, 59, 4,  12, 20, 28, 36, 44, 52, 60, 5,  13, 21, 29,
    37, 45, 53, 61, 6,  14, 22, 30, 38, 46, 54, 62, 7,  15, 23, 31, 39, 47, 55, 63};

/* |a & b_j| for the 8 rows b_j = b + j w, in qword j (w a multiple of 8). */
static inline __attribute__((always_inline)) RP_X8_TARGET __m512i and_count_x8(const uint64_t *a,
                                                                               const uint64_t *b,
                                                                               size_t w,
                                                                               __m512i transpose)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i sums = zero;
    for (size_t x = 0; x < w; x += 16) {
        __m512i acc = zero;
        __m512i a0 = _mm512_loadu_si512((const void *)(a + x));
        if (w - x >= 16) {
            __m512i a1 = _mm512_loadu_si512((const void *)(a + x + 8));
#    pragma GCC unroll 8
            for (size_t j = 0; j < 8; j++) {
                const uint64_t *bj = b + j * w + x;
                __m512i p0 =
                    _mm512_popcnt_epi64(_mm512_and_si512(a0, _mm512_loadu_si512((const void *)bj)));
                __m512i p1 = _mm512_popcnt_epi64(
                    _mm512_and_si512(a1, _mm512_loadu_si512((const void *)(bj + 8))));
                acc = _mm512_shrdi_epi64(acc, _mm512_add_epi64(p0, p1), 8);
            }
        } else {
#    pragma GCC unroll 8
            for (size_t j = 0; j < 8; j++) {
                const uint64_t *bj = b + j * w + x;
                __m512i p0 =
                    _mm512_popcnt_epi64(_mm512_and_si512(a0, _mm512_loadu_si512((const void *)bj)));
                acc = _mm512_shrdi_epi64(acc, p0, 8);
            }
        }
        sums =
            _mm512_add_epi64(sums, _mm512_sad_epu8(_mm512_permutexvar_epi8(transpose, acc), zero));
    }
    return sums;
}

/* The exact test and push of the rows k + j of B whose bit j is set in @p hits. */
static __attribute__((noinline)) void push_hits(const scan_ctx *c,
                                                pair_vec *out,
                                                size_t i,
                                                uint32_t ca,
                                                size_t k,
                                                unsigned hits,
                                                const uint64_t *both)
{
    while (hits) {
        unsigned j = (unsigned)__builtin_ctz(hits);
        hits &= hits - 1;
        uint32_t total = ca + c->cnt_b_sorted[k + j];
        if (both[j] >= c->need[total])
            pair_push(out, (uint32_t)i, c->b_index[k + j], both[j], total);
    }
}

static inline __attribute__((always_inline)) RP_X8_TARGET void scan_rows_x8_w(
    const scan_ctx *c, size_t from, size_t to, size_t k0, size_t k1, pair_vec *out, size_t w)
{
    const uint64_t *const fa = c->fa;
    const uint64_t *const fb = c->fb_sorted;
    const uint32_t *const cnt_b = c->cnt_b_sorted;
    const uint32_t *const need_lo = c->need_lo;
    const __m512i transpose = _mm512_loadu_si512((const void *)x8_transpose);
    for (size_t i = from; i < to; i++) {
        const uint64_t *a = fa + i * w;
        const uint32_t ca = c->cnt_a[i];
        const size_t lo = c->win_lo[ca] > k0 ? c->win_lo[ca] : k0;
        const size_t hi = c->win_hi[ca] < k1 ? c->win_hi[ca] : k1;
        for (size_t k = lo; k < hi; k += 8) {
            __m512i both = and_count_x8(a, fb + k * w, w, transpose);
            __mmask8 valid = hi - k >= 8 ? (__mmask8)0xff : (__mmask8)((1u << (hi - k)) - 1);
            __m512i bound = _mm512_set1_epi64((long long)need_lo[ca + cnt_b[k]]);
            __mmask8 hits = _mm512_mask_cmpge_epu64_mask(valid, both, bound);
            if (hits) {
                uint64_t v[8];
                _mm512_storeu_si512((void *)v, both);
                push_hits(c, out, i, ca, k, hits, v);
            }
        }
    }
}

/* Copies for 1024 and 2048 bits (the word loop unrolled), and any multiple of 8 words. */
RP_X8_TARGET static void
scan_rows_x8(const scan_ctx *c, size_t from, size_t to, size_t k0, size_t k1, pair_vec *out)
{
    if (c->words == 16)
        scan_rows_x8_w(c, from, to, k0, k1, out, 16);
    else if (c->words == 32)
        scan_rows_x8_w(c, from, to, k0, k1, out, 32);
    else
        scan_rows_x8_w(c, from, to, k0, k1, out, c->words);
}
#else
#    define RP_POPCNT_TARGET
#endif

/* 1024-bit filters (the default) get a copy with the word loop unrolled. */
RP_POPCNT_TARGET static void
scan_rows_popcnt(const scan_ctx *c, size_t from, size_t to, size_t k0, size_t k1, pair_vec *out)
{
    if (c->words == 16)
        scan_rows(c, from, to, k0, k1, out, 1, 16);
    else
        scan_rows(c, from, to, k0, k1, out, 1, c->words);
}

/* ==== kernels for the block comparisons of src/link/hub.c (link_int.h) ==== */

static uint64_t and_count_swar_fn(const uint64_t *a, const uint64_t *b, size_t w)
{
    return and_count(a, b, w, 0);
}

RP_POPCNT_TARGET static uint64_t and_count_popcnt_fn(const uint64_t *a, const uint64_t *b, size_t w)
{
    if (w == 16)
        return and_count(a, b, 16, 1);
    return and_count(a, b, w, 1);
}

#ifdef RP_LINK_X86
RP_AVX512_TARGET static uint64_t and_count_avx512_fn(const uint64_t *a, const uint64_t *b, size_t w)
{
    return and_count_avx512(a, b, w);
}
#endif

static rp_link__kernel forced_kernel = RP_LINK__KERNEL_AUTO;

bool rp_link__kernel_available(rp_link__kernel k)
{
    switch (k) {
    case RP_LINK__KERNEL_AUTO:
    case RP_LINK__KERNEL_SWAR:
        return true;
    case RP_LINK__KERNEL_POPCNT:
#ifdef RP_LINK_X86
        return __builtin_cpu_supports("popcnt");
#else
        return true;
#endif
    case RP_LINK__KERNEL_AVX512:
#ifdef RP_LINK_X86
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
#else
        return false;
#endif
    case RP_LINK__KERNEL_AVX512_X8:
#ifdef RP_LINK_X86
        return rp_link__kernel_available(RP_LINK__KERNEL_AVX512) &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") &&
               __builtin_cpu_supports("avx512vbmi2");
#else
        return false;
#endif
    }
    return false;
}

void rp_link__force_kernel(rp_link__kernel k)
{
    forced_kernel = k;
}

/* The kernel for filters of @p words words: the forced one if it can run, else the best. */
static rp_link__kernel pick_kernel(size_t words)
{
    rp_link__kernel k = forced_kernel;
    bool wide = k == RP_LINK__KERNEL_AVX512 || k == RP_LINK__KERNEL_AVX512_X8;
    if (k != RP_LINK__KERNEL_AUTO && rp_link__kernel_available(k) && (!wide || words % 8 == 0))
        return k;
    if (words % 8 == 0 && rp_link__kernel_available(RP_LINK__KERNEL_AVX512_X8))
        return RP_LINK__KERNEL_AVX512_X8;
    if (words % 8 == 0 && rp_link__kernel_available(RP_LINK__KERNEL_AVX512))
        return RP_LINK__KERNEL_AVX512;
    if (rp_link__kernel_available(RP_LINK__KERNEL_POPCNT))
        return RP_LINK__KERNEL_POPCNT;
    return RP_LINK__KERNEL_SWAR;
}

rp_link__and_count_fn rp_link__and_count_kernel(size_t words)
{
    switch (pick_kernel(words)) {
#ifdef RP_LINK_X86
    case RP_LINK__KERNEL_AVX512:
    case RP_LINK__KERNEL_AVX512_X8:
        return and_count_avx512_fn;
#endif
    case RP_LINK__KERNEL_POPCNT:
        return and_count_popcnt_fn;
    default:
        return and_count_swar_fn;
    }
}

typedef void (*scan_fn)(
    const scan_ctx *c, size_t from, size_t to, size_t k0, size_t k1, pair_vec *out);

/*
 * Rows [from, to) of A against all of B, in blocks of A_BLOCK rows against tiles of B of
 * about TILE_BYTES, so that a tile stays in the L2 cache while a block of A passes over
 * it (B is read from memory once per block instead of once per row). The 8-row kernel
 * is fast enough for the L2 to hold it back (128 bytes of B per pair, some 3 cycles), so
 * its tiles are TILE_BYTES_L1: with the block of A (8 KiB at 1024 bits) they stay in an L1
 * data cache of 32 KiB or more (48 KiB on Sapphire Rapids), and 16 KiB measured as fast
 * as 24 or 40 there (bench_dice); at least 8 filters, one group.
 */
#define A_BLOCK       64
#define TILE_BYTES    ((size_t)128 << 10)
#define TILE_BYTES_L1 ((size_t)16 << 10)

static void scan_range(const scan_ctx *c, size_t from, size_t to, pair_vec *out)
{
    scan_fn fn = scan_rows_swar;
    size_t tile_bytes = TILE_BYTES;
    size_t tile_min = 1;
    switch (pick_kernel(c->words)) {
#ifdef RP_LINK_X86
    case RP_LINK__KERNEL_AVX512:
        fn = scan_rows_avx512;
        break;
    case RP_LINK__KERNEL_AVX512_X8:
        fn = scan_rows_x8;
        tile_bytes = TILE_BYTES_L1;
        tile_min = 8;
        break;
#endif
    case RP_LINK__KERNEL_POPCNT:
        fn = scan_rows_popcnt;
        break;
    default:
        break;
    }
    size_t filter_bytes = c->words * sizeof(uint64_t);
    size_t tile = filter_bytes ? tile_bytes / filter_bytes : 1; /* words >= 1 (check_args) */
    if (tile < tile_min)
        tile = tile_min;
    for (size_t i0 = from; i0 < to; i0 += A_BLOCK) {
        size_t i1 = to - i0 < A_BLOCK ? to : i0 + A_BLOCK;
        for (size_t k0 = 0; k0 < c->n_b; k0 += tile)
            fn(c, i0, i1, k0, c->n_b - k0 < tile ? c->n_b : k0 + tile, out);
    }
}

static void *scan_thread(void *arg)
{
    scan_job *job = arg;
    scan_range(job->ctx, job->from, job->to, &job->out);
    return NULL;
}

/* ==== preparation ==== */

static uint32_t popcount_filter(const uint64_t *f, size_t words)
{
    uint32_t n = 0;
    for (size_t x = 0; x < words; x++)
        n += popcount_swar(f[x]);
    return n;
}

/*
 * Sort B by popcount (counting sort, stable), copy its filters into that order, and
 * compute, for each popcount ca of a filter of A, the window of sorted positions whose
 * popcount bound reaches the threshold (the bound is unimodal in cb with its peak at
 * cb = ca, so the qualifying popcounts form one interval).
 */
#define X8_PAD 7 /* zero rows after the last of B (the 8-row kernel reads up to 7 past) */

typedef struct prep {
    uint32_t *cnt_a, *cnt_b_sorted, *b_index;
    uint64_t *fb_sorted;
    size_t *start; /* bits + 2 entries: first sorted position of each popcount */
    size_t *win_lo, *win_hi;
    uint32_t *need;    /* 2 bits + 1 entries */
    uint32_t *need_lo; /* need_lo[t] = min(need[t..2 bits]) */
} prep;

static void prep_free(prep *p)
{
    rp_free(p->cnt_a);
    rp_free(p->cnt_b_sorted);
    rp_free(p->b_index);
    rp_free(p->fb_sorted);
    rp_free(p->start);
    rp_free(p->win_lo);
    rp_free(p->win_hi);
    rp_free(p->need);
    rp_free(p->need_lo);
}

/*
 * need[T] for T = |a|+|b| in 0..2 bits: the least |a&b| whose Dice reaches the
 * threshold, UINT32_MAX when none can (|a&b| <= T/2). The Dice is non-decreasing in
 * |a&b| for a fixed T (a correctly rounded division of exact integers), so
 * `both >= need[T]` is exactly `dice >= threshold`.
 */
static void prep_need(uint32_t *need, size_t bits, double threshold)
{
    for (size_t t = 0; t <= 2 * bits; t++) {
        size_t g = (size_t)(threshold * (double)t / 2.0);
        if (g > t / 2)
            g = t / 2;
        while (g > 0 && dice_of(g - 1, t) >= threshold)
            g--;
        while (g <= t / 2 && !(dice_of(g, t) >= threshold))
            g++;
        need[t] = g <= t / 2 ? (uint32_t)g : UINT32_MAX;
    }
}

void rp_link__need_table(uint32_t *need, size_t bits, double threshold)
{
    prep_need(need, bits, threshold);
}

uint32_t rp_link__popcount(const uint64_t *f, size_t words)
{
    return popcount_filter(f, words);
}

double rp_link__dice_of(uint64_t both, uint64_t total)
{
    return dice_of(both, total);
}

static void prep_windows(prep *p, size_t bits, double threshold, bool prune, size_t n_b)
{
    for (size_t ca = 0; ca <= bits; ca++) {
        if (!prune) {
            p->win_lo[ca] = 0;
            p->win_hi[ca] = n_b;
            continue;
        }
        size_t lo = 0;
        while (lo <= bits && !(dice_bound(ca, lo) >= threshold))
            lo++;
        size_t hi = lo;
        while (hi <= bits && dice_bound(ca, hi) >= threshold)
            hi++;
        /* popcounts [lo, hi) qualify */
        p->win_lo[ca] = p->start[lo];
        p->win_hi[ca] = p->start[hi];
    }
}

static int prep_build(prep *p,
                      const uint64_t *fa,
                      size_t n_a,
                      const uint64_t *fb,
                      size_t n_b,
                      size_t words,
                      double threshold,
                      bool prune)
{
    size_t bits = words * 64;
    p->cnt_a = rp_reallocarray(NULL, n_a ? n_a : 1, sizeof *p->cnt_a);
    p->cnt_b_sorted = rp_reallocarray(NULL, n_b ? n_b : 1, sizeof *p->cnt_b_sorted);
    p->b_index = rp_reallocarray(NULL, n_b ? n_b : 1, sizeof *p->b_index);
    /* 7 zero rows past the end for the 8-row kernel, whose last group may run past it */
    p->fb_sorted = rp_reallocarray(NULL, (n_b + X8_PAD) * words, sizeof *p->fb_sorted);
    p->start = rp_calloc(bits + 2, sizeof *p->start);
    p->win_lo = rp_reallocarray(NULL, bits + 1, sizeof *p->win_lo);
    p->win_hi = rp_reallocarray(NULL, bits + 1, sizeof *p->win_hi);
    p->need = rp_reallocarray(NULL, 2 * bits + 1, sizeof *p->need);
    p->need_lo = rp_reallocarray(NULL, 2 * bits + 1, sizeof *p->need_lo);
    if (!p->cnt_a || !p->cnt_b_sorted || !p->b_index || !p->fb_sorted || !p->start || !p->win_lo ||
        !p->win_hi || !p->need || !p->need_lo)
        return RP_ENOMEM;
    memset(p->fb_sorted + n_b * words, 0, X8_PAD * words * sizeof *p->fb_sorted);
    prep_need(p->need, bits, threshold);
    p->need_lo[2 * bits] = p->need[2 * bits];
    for (size_t t = 2 * bits; t-- > 0;)
        p->need_lo[t] = p->need[t] < p->need_lo[t + 1] ? p->need[t] : p->need_lo[t + 1];
    for (size_t i = 0; i < n_a; i++)
        p->cnt_a[i] = popcount_filter(fa + i * words, words);
    /* counting sort of B: start[c + 1] counts popcount c, then prefix sums */
    for (size_t j = 0; j < n_b; j++)
        p->start[popcount_filter(fb + j * words, words) + 1]++;
    for (size_t c = 1; c <= bits + 1; c++)
        p->start[c] += p->start[c - 1];
    size_t *next = rp_reallocarray(NULL, bits + 1, sizeof *next);
    if (!next)
        return RP_ENOMEM;
    memcpy(next, p->start, (bits + 1) * sizeof *next);
    for (size_t j = 0; j < n_b; j++) {
        uint32_t c = popcount_filter(fb + j * words, words);
        size_t k = next[c]++;
        p->b_index[k] = (uint32_t)j;
        p->cnt_b_sorted[k] = c;
        memcpy(p->fb_sorted + k * words, fb + j * words, words * sizeof *fb);
    }
    rp_free(next);
    prep_windows(p, bits, threshold, prune, n_b);
    return RP_OK;
}

/* ==== output ==== */

static int pair_cmp(const void *x, const void *y)
{
    const rp_link_pair *p = x;
    const rp_link_pair *q = y;
    if (p->dice != q->dice)
        return p->dice > q->dice ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return 0;
}

/*
 * Sort the pairs by Dice descending, then a, then b, in the order pair_cmp gives. Small
 * sets go to qsort; large ones (the low thresholds, where anonlink's solver dominates)
 * to an LSD radix sort with 16-bit digits: b, then a, then the bits of the Dice
 * complemented (a non-negative double orders as its bits). A digit that is the same in
 * every pair skips its pass. Costs a second array of n pairs while it runs.
 */
#define RADIX_MIN     ((size_t)1 << 16)
#define RADIX_DIGITS  8
#define RADIX_BUCKETS 65536

static unsigned pair_digit(const rp_link_pair *p, unsigned d)
{
    uint64_t k;
    if (d < 2) {
        k = p->b;
    } else if (d < 4) {
        k = p->a;
    } else {
        uint64_t bits;
        memcpy(&bits, &p->dice, sizeof bits);
        k = ~bits;
    }
    return (unsigned)(k >> (16u * (d < 4 ? d % 2 : d - 4))) & 0xffffu;
}

static int sort_pairs(rp_link_pair *v, size_t n)
{
    if (n < RADIX_MIN) {
        qsort(v, n, sizeof *v, pair_cmp);
        return RP_OK;
    }
    size_t(*cnt)[RADIX_BUCKETS] = rp_calloc(RADIX_DIGITS, sizeof *cnt);
    rp_link_pair *tmp = rp_reallocarray(NULL, n, sizeof *tmp);
    int rc = RP_OK;
    if (!cnt || !tmp) {
        rc = RP_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        for (unsigned d = 0; d < RADIX_DIGITS; d++)
            cnt[d][pair_digit(&v[i], d)]++;
    }
    rp_link_pair *src = v;
    rp_link_pair *dst = tmp;
    for (unsigned d = 0; d < RADIX_DIGITS; d++) {
        if (cnt[d][pair_digit(&src[0], d)] == n)
            continue;
        size_t sum = 0;
        for (size_t k = 0; k < RADIX_BUCKETS; k++) {
            size_t c = cnt[d][k];
            cnt[d][k] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[d][pair_digit(&src[i], d)]++] = src[i];
        rp_link_pair *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
out:
    rp_free(cnt);
    rp_free(tmp);
    return rc;
}

/* Run the scan on @p n_jobs threads (the calling thread when 1). */
static int run_jobs(scan_job *jobs, size_t n_jobs, rp_error *err)
{
    if (n_jobs == 1) {
        scan_thread(&jobs[0]);
        return RP_OK;
    }
    pthread_t *tid = rp_calloc(n_jobs, sizeof *tid);
    if (!tid)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    size_t started = 0;
    int rc = RP_OK;
    for (; started < n_jobs; started++) {
        if (pthread_create(&tid[started], NULL, scan_thread, &jobs[started]) != 0) {
            rc = rp_error_set(err, RP_EINTERNAL, "could not start a linkage thread");
            break;
        }
    }
    for (size_t t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    rp_free(tid);
    return rc;
}

/* Concatenate the job outputs into *out and sort them. */
static int gather(scan_job *jobs, size_t n_jobs, rp_link_pair **out, size_t *n_out, rp_error *err)
{
    size_t total = 0;
    for (size_t t = 0; t < n_jobs; t++) {
        if (jobs[t].out.oom)
            return rp_error_set(err, RP_ENOMEM, "out of memory for candidate pairs");
        total += jobs[t].out.n;
    }
    if (total == 0)
        return RP_OK;
    rp_link_pair *v;
    if (n_jobs == 1) {
        v = jobs[0].out.v;
        jobs[0].out.v = NULL;
    } else {
        v = rp_reallocarray(NULL, total, sizeof *v);
        if (!v)
            return rp_error_set(err, RP_ENOMEM, "out of memory for candidate pairs");
        size_t at = 0;
        for (size_t t = 0; t < n_jobs; t++) {
            if (jobs[t].out.n)
                memcpy(v + at, jobs[t].out.v, jobs[t].out.n * sizeof *v);
            at += jobs[t].out.n;
        }
    }
    if (sort_pairs(v, total) != RP_OK) {
        rp_free(v);
        return rp_error_set(err, RP_ENOMEM, "out of memory for candidate pairs");
    }
    *out = v;
    *n_out = total;
    return RP_OK;
}

static int check_args(const uint64_t *fa,
                      size_t n_a,
                      const uint64_t *fb,
                      size_t n_b,
                      size_t words,
                      double threshold,
                      unsigned flags,
                      rp_error *err)
{
    if (words == 0 || words > RP_LINK_MAX_WORDS)
        return rp_error_set(err, RP_EINVAL, "filter length must be 1 to %u words",
                            (unsigned)RP_LINK_MAX_WORDS);
    if ((n_a && !fa) || (n_b && !fb))
        return rp_error_set(err, RP_EINVAL, "missing filter array");
    if (n_a > UINT32_MAX || n_b > UINT32_MAX)
        return rp_error_set(err, RP_EINVAL, "too many filters (at most %u per set)", UINT32_MAX);
    if (n_b && words > SIZE_MAX / sizeof(uint64_t) / n_b)
        return rp_error_set(err, RP_EINVAL, "filter set too large");
    if (!(threshold >= 0.0 && threshold <= 1.0))
        return rp_error_set(err, RP_EINVAL, "dice threshold must be in [0, 1]");
    if (flags & ~RP_LINK_NO_PRUNE)
        return rp_error_set(err, RP_EINVAL, "unknown flags 0x%x", flags);
    return RP_OK;
}

int rp_link_dice_pairs(const uint64_t *fa,
                       size_t n_a,
                       const uint64_t *fb,
                       size_t n_b,
                       size_t words,
                       double threshold,
                       unsigned threads,
                       unsigned flags,
                       rp_link_pair **out,
                       size_t *n_out,
                       rp_error *err)
{
    if (!out || !n_out)
        return rp_error_set(err, RP_EINVAL, "missing output");
    *out = NULL;
    *n_out = 0;
    int rc = check_args(fa, n_a, fb, n_b, words, threshold, flags, err);
    if (rc != RP_OK)
        return rc;
    if (n_a == 0 || n_b == 0)
        return RP_OK;

    prep p = {0};
    scan_job *jobs = NULL;
    size_t n_jobs = threads > 1 ? threads : 1;
    if (n_jobs > n_a)
        n_jobs = n_a;
    rc = prep_build(&p, fa, n_a, fb, n_b, words, threshold, !(flags & RP_LINK_NO_PRUNE));
    if (rc != RP_OK) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    scan_ctx ctx = {fa,     p.fb_sorted, p.b_index, p.cnt_a, p.cnt_b_sorted, p.win_lo, p.win_hi,
                    p.need, p.need_lo,   words,     n_b,     threshold};
    jobs = rp_calloc(n_jobs, sizeof *jobs);
    if (!jobs) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t t = 0; t < n_jobs; t++) {
        jobs[t].ctx = &ctx;
        jobs[t].from = n_a * t / n_jobs;
        jobs[t].to = n_a * (t + 1) / n_jobs;
    }
    rc = run_jobs(jobs, n_jobs, err);
    if (rc == RP_OK)
        rc = gather(jobs, n_jobs, out, n_out, err);

out:
    if (jobs) {
        for (size_t t = 0; t < n_jobs; t++)
            rp_free(jobs[t].out.v);
        rp_free(jobs);
    }
    prep_free(&p);
    return rc;
}

/* ==== greedy 1:1 solver ==== */

int rp_link_greedy_1to1(const rp_link_pair *pairs,
                        size_t n_pairs,
                        size_t n_a,
                        size_t n_b,
                        int64_t *match_a,
                        int64_t *match_b,
                        size_t *n_matched,
                        rp_error *err)
{
    if ((n_pairs && !pairs) || (n_a && !match_a))
        return rp_error_set(err, RP_EINVAL, "missing pairs or match array");
    if (n_matched)
        *n_matched = 0;
    int rc = RP_OK;
    size_t matched = 0;
    int64_t *mb = match_b;
    int64_t *own_b = NULL;
    if (!mb && n_b) {
        own_b = rp_reallocarray(NULL, n_b, sizeof *own_b);
        if (!own_b)
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        mb = own_b;
    }
    for (size_t i = 0; i < n_a; i++)
        match_a[i] = -1;
    for (size_t j = 0; j < n_b; j++)
        mb[j] = -1;
    for (size_t k = 0; k < n_pairs; k++) {
        const rp_link_pair *p = &pairs[k];
        if (p->a >= n_a || p->b >= n_b) {
            rc = rp_error_set(err, RP_EINVAL, "pair %zu names a record out of range", k);
            goto out;
        }
        if (k > 0 && !(p->dice <= pairs[k - 1].dice)) {
            rc = rp_error_set(err, RP_EINVAL, "pairs not sorted by dice descending at %zu", k);
            goto out;
        }
        if (match_a[p->a] < 0 && mb[p->b] < 0) {
            match_a[p->a] = p->b;
            mb[p->b] = p->a;
            matched++;
        }
    }
    if (n_matched)
        *n_matched = matched;
out:
    rp_free(own_b);
    return rc;
}
