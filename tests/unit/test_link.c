/*
 * Unit tests for the Dice candidate search and the greedy 1:1 solver (src/link/link.c):
 * the kernel against brute force with rp_dice on random filters at several thresholds
 * and densities (same pairs, same Dice values, same order), every popcount kernel this
 * CPU has (the 8-row AVX-512 one at several lengths, group tails and full filters), the
 * popcount window at equality and on empty filters, thread-count independence, and
 * solver hand cases.
 */
#include "link/link_int.h"
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>
#include <rapporteur/link.h>

#include <stdlib.h>
#include <string.h>

#define WORDS ((size_t)16)

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

/* xorshift64* */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static double unif(uint64_t *s)
{
    return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

/* n filters of nw words; each with its own density in [dlo, dhi]. */
static uint64_t *random_filters_w(size_t n, size_t nw, double dlo, double dhi, uint64_t *s)
{
    uint64_t *f = rp_calloc(n * nw, sizeof *f);
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        double d = dlo + (dhi - dlo) * unif(s);
        for (size_t bit = 0; bit < nw * 64; bit++) {
            if (unif(s) < d)
                f[i * nw + bit / 64] |= 1ull << (bit % 64);
        }
    }
    return f;
}

static uint64_t *random_filters(size_t n, double dlo, double dhi, uint64_t *s)
{
    return random_filters_w(n, WORDS, dlo, dhi, s);
}

/*
 * B of n filters of nw words: the first half noisy copies of A (n_a >= n / 2 filters;
 * each bit flipped with probability q), then random.
 */
static uint64_t *noisy_copies_w(const uint64_t *fa, size_t n, size_t nw, double q, uint64_t *s)
{
    uint64_t *f = random_filters_w(n, nw, 0.05, 0.6, s);
    for (size_t i = 0; i < n / 2; i++) {
        for (size_t bit = 0; bit < nw * 64; bit++) {
            uint64_t m = 1ull << (bit % 64);
            uint64_t v = fa[i * nw + bit / 64] & m;
            if (unif(s) < q)
                v ^= m;
            f[i * nw + bit / 64] = (f[i * nw + bit / 64] & ~m) | v;
        }
    }
    return f;
}

static uint64_t *noisy_copies(const uint64_t *fa, size_t n, double q, uint64_t *s)
{
    return noisy_copies_w(fa, n, WORDS, q, s);
}

static int cmp_pairs(const void *x, const void *y)
{
    const rp_link_pair *p = x;
    const rp_link_pair *q = y;
    if (p->dice != q->dice)
        return p->dice > q->dice ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : (p->b > q->b);
}

/* Brute force with rp_dice, sorted as the kernel sorts. */
static rp_link_pair *brute_w(const uint64_t *fa,
                             size_t n_a,
                             const uint64_t *fb,
                             size_t n_b,
                             size_t nw,
                             double thr,
                             size_t *n)
{
    rp_link_pair *v = rp_calloc(n_a * n_b + 1, sizeof *v);
    assert_non_null(v);
    *n = 0;
    for (size_t i = 0; i < n_a; i++) {
        for (size_t j = 0; j < n_b; j++) {
            double d = rp_dice(fa + i * nw, fb + j * nw, nw);
            if (d >= thr) {
                v[*n].a = (uint32_t)i;
                v[*n].b = (uint32_t)j;
                v[*n].dice = d;
                (*n)++;
            }
        }
    }
    qsort(v, *n, sizeof *v, cmp_pairs);
    return v;
}

static void assert_same(const rp_link_pair *x, size_t nx, const rp_link_pair *y, size_t ny)
{
    assert_int_equal(nx, ny);
    for (size_t k = 0; k < nx; k++) {
        assert_int_equal(x[k].a, y[k].a);
        assert_int_equal(x[k].b, y[k].b);
        assert_true(x[k].dice == y[k].dice);
    }
}

/* Every kernel; check_against_brute_w runs each one this CPU has. */
static const rp_link__kernel kernels[] = {RP_LINK__KERNEL_AUTO, RP_LINK__KERNEL_SWAR,
                                          RP_LINK__KERNEL_POPCNT, RP_LINK__KERNEL_AVX512,
                                          RP_LINK__KERNEL_AVX512_X8};

/* The kernel with every kernel this CPU has against brute force, filters of nw words. */
static void check_against_brute_w(const uint64_t *fa,
                                  size_t n_a,
                                  const uint64_t *fb,
                                  size_t n_b,
                                  size_t nw,
                                  double thr,
                                  unsigned flags)
{
    rp_error err = RP_ERROR_INIT;
    size_t n_want = 0;
    rp_link_pair *want = brute_w(fa, n_a, fb, n_b, nw, thr, &n_want);
    for (size_t k = 0; k < sizeof kernels / sizeof kernels[0]; k++) {
        if (!rp_link__kernel_available(kernels[k]))
            continue;
        rp_link__force_kernel(kernels[k]);
        rp_link_pair *got = NULL;
        size_t n_got = 0;
        int rc = rp_link_dice_pairs(fa, n_a, fb, n_b, nw, thr, 1, flags, &got, &n_got, &err);
        rp_link__force_kernel(RP_LINK__KERNEL_AUTO);
        assert_int_equal(rc, RP_OK);
        assert_same(got, n_got, want, n_want);
        rp_free(got);
    }
    rp_free(want);
}

static void check_against_brute(
    const uint64_t *fa, size_t n_a, const uint64_t *fb, size_t n_b, double thr, unsigned flags)
{
    check_against_brute_w(fa, n_a, fb, n_b, WORDS, thr, flags);
}

/* Set bits [from, to) of filter f. */
static void set_bits(uint64_t *f, size_t from, size_t to)
{
    for (size_t bit = from; bit < to; bit++)
        f[bit / 64] |= 1ull << (bit % 64);
}

/* ==== tests ==== */

static void link_dice__matches_brute_force(void **state)
{
    (void)state;
    static const double thr[] = {0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
    static const double dens[][2] = {{0.05, 0.2}, {0.3, 0.6}, {0.01, 0.9}};
    uint64_t s = 42;
    for (size_t d = 0; d < sizeof dens / sizeof dens[0]; d++) {
        size_t n_a = 120, n_b = 100;
        uint64_t *fa = random_filters(n_a, dens[d][0], dens[d][1], &s);
        uint64_t *fb = noisy_copies(fa, n_b, 0.05, &s);
        for (size_t t = 0; t < sizeof thr / sizeof thr[0]; t++) {
            check_against_brute(fa, n_a, fb, n_b, thr[t], 0);
            check_against_brute(fa, n_a, fb, n_b, thr[t], RP_LINK_NO_PRUNE);
        }
        rp_free(fa);
        rp_free(fb);
    }
}

/* Filters of 5 and 8 words: the first nw words of 16-word random filters. */
static void link_dice__other_lengths(void **state)
{
    (void)state;
    uint64_t s = 5;
    size_t n = 80;
    uint64_t *fa = random_filters(n, 0.1, 0.6, &s);
    uint64_t *fb = noisy_copies(fa, n, 0.05, &s);
    static const size_t lens[] = {1, 5, 8};
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        size_t nw = lens[l];
        uint64_t *ga = rp_calloc(n * nw, sizeof *ga);
        uint64_t *gb = rp_calloc(n * nw, sizeof *gb);
        assert_non_null(ga);
        assert_non_null(gb);
        for (size_t i = 0; i < n; i++) {
            memcpy(ga + i * nw, fa + i * WORDS, nw * sizeof *ga);
            memcpy(gb + i * nw, fb + i * WORDS, nw * sizeof *gb);
        }
        check_against_brute_w(ga, n, gb, n, nw, 0.5, 0);
        check_against_brute_w(ga, n, gb, n, nw, 0.75, 0);
        rp_free(ga);
        rp_free(gb);
    }
    rp_free(fa);
    rp_free(fb);
}

/*
 * The 8-row kernel (AVX512_X8, and every other kernel with it): one 16-word chunk, two
 * (2048 bits), a lone 8-word chunk, both; sets of B that leave 1 to 7 rows in the last
 * group of 8 (the rows past B are padding); and thresholds equal to the Dice of a pair
 * in the set, so that pairs sit exactly at the threshold.
 */
static void link_dice__x8_lengths_and_tails(void **state)
{
    (void)state;
    uint64_t s = 17;
    static const size_t lens[] = {8, 16, 24, 32, 40};
    static const size_t n_bs[] = {1, 7, 9, 15, 46};
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        size_t nw = lens[l], n_a = 23;
        uint64_t *fa = random_filters_w(n_a, nw, 0.1, 0.6, &s);
        for (size_t b = 0; b < sizeof n_bs / sizeof n_bs[0]; b++) {
            size_t n_b = n_bs[b];
            uint64_t *fb = noisy_copies_w(fa, n_b, nw, 0.05, &s);
            double at = rp_dice(fa, fb, nw); /* a0 and its noisy copy b0 */
            double thr[] = {0.0, 0.45, 0.7, at, rp_dice(fa + nw, fb + (n_b - 1) * nw, nw)};
            for (size_t t = 0; t < sizeof thr / sizeof thr[0]; t++) {
                check_against_brute_w(fa, n_a, fb, n_b, nw, thr[t], 0);
                check_against_brute_w(fa, n_a, fb, n_b, nw, thr[t], RP_LINK_NO_PRUNE);
            }
            rp_free(fb);
        }
        rp_free(fa);
    }
}

/*
 * Full filters put 64 + 64 = 128 in every lane of one 16-word chunk, the most a byte of
 * the 8-row kernel's accumulator has to hold; at 32 words, two such chunks (|a&b| =
 * 2048). Around a full filter, B has copies with one bit less or more, so that |b|, and
 * with it need[|a|+|b|], changes inside a group of 8, and at threshold 1 need[] is not
 * monotone (no odd total reaches 1).
 */
static void link_dice__x8_full_filters(void **state)
{
    (void)state;
    static const size_t lens[] = {8, 16, 32};
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
        size_t nw = lens[l], n = 12;
        uint64_t *fa = rp_calloc(n * nw, sizeof *fa);
        uint64_t *fb = rp_calloc(n * nw, sizeof *fb);
        assert_non_null(fa);
        assert_non_null(fb);
        for (size_t i = 0; i < n; i++) {
            set_bits(fa + i * nw, 0, nw * 64 - i);     /* |a_i| = bits - i */
            set_bits(fb + i * nw, i % 3, nw * 64 - i); /* |b_i| = bits - i - i % 3 */
        }
        static const double thr[] = {1.0, 0.999, 0.99, 0.5, 0.0};
        for (size_t t = 0; t < sizeof thr / sizeof thr[0]; t++) {
            check_against_brute_w(fa, n, fb, n, nw, thr[t], 0);
            check_against_brute_w(fa, n, fb, n, nw, thr[t], RP_LINK_NO_PRUNE);
        }
        rp_error err = RP_ERROR_INIT;
        rp_link_pair *got = NULL;
        size_t n_got = 0;
        assert_int_equal(rp_link_dice_pairs(fa, n, fb, n, nw, 1.0, 1, 0, &got, &n_got, &err),
                         RP_OK);
        assert_int_equal(n_got, 4); /* a_i = b_i for i = 0, 3, 6, 9 */
        for (size_t k = 0; k < n_got; k++) {
            assert_true(got[k].dice == 1.0);
            assert_int_equal(got[k].a, 3 * k);
            assert_int_equal(got[k].b, 3 * k);
        }
        rp_free(got);
        rp_free(fa);
        rp_free(fb);
    }
}

/* More than 65,536 pairs: the output goes through the radix sort; many Dice ties. */
static void link_dice__large_output_sorted(void **state)
{
    (void)state;
    uint64_t s = 11;
    size_t n_a = 300, n_b = 260;
    uint64_t *fa = random_filters(n_a, 0.0, 0.05, &s);
    uint64_t *fb = noisy_copies(fa, n_b, 0.01, &s);
    check_against_brute(fa, n_a, fb, n_b, 0.0, 0);
    check_against_brute(fa, n_a, fb, n_b, 0.02, 0);
    rp_free(fa);
    rp_free(fb);
}

/* More than one block of A (64 rows) and several tiles of B (1,024 filters each). */
static void link_dice__crosses_tiles(void **state)
{
    (void)state;
    uint64_t s = 13;
    size_t n_a = 70, n_b = 2100;
    uint64_t *fa = random_filters(n_a, 0.1, 0.6, &s);
    uint64_t *fb = random_filters(n_b, 0.1, 0.6, &s);
    for (size_t i = 0; i < n_a; i++) /* copies of A spread over the tiles of B */
        memcpy(fb + (i * 29 % n_b) * WORDS, fa + i * WORDS, WORDS * sizeof *fb);
    check_against_brute(fa, n_a, fb, n_b, 0.3, 0);
    check_against_brute(fa, n_a, fb, n_b, 0.6, 0);
    rp_free(fa);
    rp_free(fb);
}

static void link_dice__threshold_equality_and_empty(void **state)
{
    (void)state;
    uint64_t fa[3 * WORDS] = {0};
    uint64_t fb[4 * WORDS] = {0};
    /* a0 = {0..3}; b0 = {0,1,4,5}: Dice 2*2/8 = 0.5 (not at the bound) */
    set_bits(fa, 0, 4);
    set_bits(fb, 0, 2);
    set_bits(fb, 4, 6);
    /* a1 = {100,101}; b1 = {100..105}: Dice 2*2/8 = 0.5, exactly the popcount bound */
    set_bits(fa + WORDS, 100, 102);
    set_bits(fb + WORDS, 100, 106);
    /* a2 empty, b2 empty; b3 = all bits */
    set_bits(fb + 3 * WORDS, 0, WORDS * 64);
    check_against_brute(fa, 3, fb, 4, 0.5, 0);
    check_against_brute(fa, 3, fb, 4, 0.0, 0);
    check_against_brute(fa, 3, fb, 4, 0.5000001, 0);

    rp_error err = RP_ERROR_INIT;
    rp_link_pair *got = NULL;
    size_t n = 0;
    assert_int_equal(rp_link_dice_pairs(fa, 3, fb, 4, WORDS, 0.5, 1, 0, &got, &n, &err), RP_OK);
    assert_int_equal(n, 2);
    assert_true(got[0].dice == 0.5 && got[1].dice == 0.5);
    assert_int_equal(got[0].a, 0);
    assert_int_equal(got[0].b, 0);
    assert_int_equal(got[1].a, 1);
    assert_int_equal(got[1].b, 1);
    rp_free(got);

    /* threshold 0: every pair, also two empty filters (Dice 0) */
    assert_int_equal(rp_link_dice_pairs(fa, 3, fb, 4, WORDS, 0.0, 1, 0, &got, &n, &err), RP_OK);
    assert_int_equal(n, 12);
    rp_free(got);
}

static void link_dice__threads_do_not_change_output(void **state)
{
    (void)state;
    uint64_t s = 7;
    size_t n_a = 301, n_b = 257;
    uint64_t *fa = random_filters(n_a, 0.1, 0.6, &s);
    uint64_t *fb = noisy_copies(fa, n_b, 0.08, &s);
    rp_error err = RP_ERROR_INIT;
    rp_link_pair *ref = NULL;
    size_t n_ref = 0;
    assert_int_equal(rp_link_dice_pairs(fa, n_a, fb, n_b, WORDS, 0.6, 1, 0, &ref, &n_ref, &err),
                     RP_OK);
    assert_true(n_ref > n_b / 2);
    static const unsigned th[] = {0, 2, 3, 8, 1000};
    for (size_t t = 0; t < sizeof th / sizeof th[0]; t++) {
        rp_link_pair *got = NULL;
        size_t n = 0;
        assert_int_equal(rp_link_dice_pairs(fa, n_a, fb, n_b, WORDS, 0.6, th[t], 0, &got, &n, &err),
                         RP_OK);
        assert_same(got, n, ref, n_ref);
        rp_free(got);
    }
    rp_free(ref);
    rp_free(fa);
    rp_free(fb);
}

static void link_dice__rejects_bad_arguments(void **state)
{
    (void)state;
    uint64_t f[WORDS] = {0};
    rp_error err = RP_ERROR_INIT;
    rp_link_pair *got = NULL;
    size_t n = 0;
    assert_int_equal(rp_link_dice_pairs(f, 1, f, 1, 0, 0.5, 1, 0, &got, &n, &err), RP_EINVAL);
    assert_int_equal(
        rp_link_dice_pairs(f, 1, f, 1, RP_LINK_MAX_WORDS + 1, 0.5, 1, 0, &got, &n, &err),
        RP_EINVAL);
    assert_int_equal(rp_link_dice_pairs(f, 1, f, 1, WORDS, 1.5, 1, 0, &got, &n, &err), RP_EINVAL);
    assert_int_equal(rp_link_dice_pairs(f, 1, f, 1, WORDS, -0.1, 1, 0, &got, &n, &err), RP_EINVAL);
    assert_int_equal(rp_link_dice_pairs(NULL, 1, f, 1, WORDS, 0.5, 1, 0, &got, &n, &err),
                     RP_EINVAL);
    assert_int_equal(rp_link_dice_pairs(f, 1, f, 1, WORDS, 0.5, 1, 0x8, &got, &n, &err), RP_EINVAL);
    assert_null(got);
    assert_int_equal(rp_link_dice_pairs(NULL, 0, f, 1, WORDS, 0.5, 1, 0, &got, &n, &err), RP_OK);
    assert_int_equal(n, 0);
    assert_null(got);
}

static void link_greedy__hand_cases(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    int64_t ma[3], mb[3];
    size_t n = 0;
    /* chain: a0-b0 wins, a1 falls back to b1, a2 loses b1 to a1 */
    const rp_link_pair chain[] = {{0, 0, 0.9}, {1, 0, 0.8}, {1, 1, 0.7}, {2, 1, 0.6}};
    assert_int_equal(rp_link_greedy_1to1(chain, 4, 3, 3, ma, mb, &n, &err), RP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ma[0], 0);
    assert_int_equal(ma[1], 1);
    assert_int_equal(ma[2], -1);
    assert_int_equal(mb[0], 0);
    assert_int_equal(mb[1], 1);
    assert_int_equal(mb[2], -1);
    /* ties: order (a, b) decides; a0-b0 taken, a0-b1 and a1-b0 blocked, a1-b1 accepted */
    const rp_link_pair ties[] = {{0, 0, 0.8}, {0, 1, 0.8}, {1, 0, 0.8}, {1, 1, 0.8}};
    assert_int_equal(rp_link_greedy_1to1(ties, 4, 2, 2, ma, NULL, &n, &err), RP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ma[0], 0);
    assert_int_equal(ma[1], 1);
    /* a greedy (not optimal) choice: a0-b0 at 0.9 blocks a0-b1 + a1-b0 (0.85 + 0.85) */
    const rp_link_pair greedy[] = {{0, 0, 0.9}, {0, 1, 0.85}, {1, 0, 0.85}};
    assert_int_equal(rp_link_greedy_1to1(greedy, 3, 2, 2, ma, mb, &n, &err), RP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ma[0], 0);
    assert_int_equal(ma[1], -1);
    assert_int_equal(mb[1], -1);
    /* no pairs */
    assert_int_equal(rp_link_greedy_1to1(NULL, 0, 2, 2, ma, mb, &n, &err), RP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ma[0], -1);
    /* unsorted, out of range */
    const rp_link_pair unsorted[] = {{0, 0, 0.5}, {1, 1, 0.6}};
    assert_int_equal(rp_link_greedy_1to1(unsorted, 2, 2, 2, ma, mb, &n, &err), RP_EINVAL);
    const rp_link_pair range[] = {{0, 2, 0.5}};
    assert_int_equal(rp_link_greedy_1to1(range, 1, 2, 2, ma, mb, &n, &err), RP_EINVAL);
}

static void link_greedy__on_kernel_output(void **state)
{
    (void)state;
    uint64_t s = 99;
    size_t n = 200;
    uint64_t *fa = random_filters(n, 0.3, 0.5, &s);
    uint64_t *fb = noisy_copies(fa, n, 0.03, &s);
    rp_error err = RP_ERROR_INIT;
    rp_link_pair *p = NULL;
    size_t np = 0, nm = 0;
    assert_int_equal(rp_link_dice_pairs(fa, n, fb, n, WORDS, 0.8, 2, 0, &p, &np, &err), RP_OK);
    int64_t *ma = rp_calloc(n, sizeof *ma);
    assert_non_null(ma);
    assert_int_equal(rp_link_greedy_1to1(p, np, n, n, ma, NULL, &nm, &err), RP_OK);
    /* the noisy copies (first half of B) are found, the random half is not */
    for (size_t i = 0; i < n / 2; i++)
        assert_int_equal(ma[i], (int64_t)i);
    assert_int_equal(nm, n / 2);
    rp_free(ma);
    rp_free(p);
    rp_free(fa);
    rp_free(fb);
}

static int sweep_run(void *payload)
{
    rp_link_pair **p = payload;
    static uint64_t f[8 * WORDS];
    for (size_t i = 0; i < 8 * WORDS; i++)
        f[i] = 0x0f0f0f0f0f0f0f0full ^ (i * 0x9e3779b97f4a7c15ull);
    size_t n = 0;
    return rp_link_dice_pairs(f, 4, f + 4 * WORDS, 4, WORDS, 0.0, 2, 0, p, &n, NULL);
}

static void sweep_undo(void *payload)
{
    rp_link_pair **p = payload;
    rp_free(*p);
    *p = NULL;
}

static void link_dice__alloc_failure_sweep(void **state)
{
    (void)state;
    rp_link_pair *p = NULL;
    unsigned long n = rp_test_alloc_sweep(sweep_run, sweep_undo, &p, 100);
    assert_true(n >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(link_dice__matches_brute_force),
        cmocka_unit_test(link_dice__other_lengths),
        cmocka_unit_test(link_dice__x8_lengths_and_tails),
        cmocka_unit_test(link_dice__x8_full_filters),
        cmocka_unit_test(link_dice__large_output_sorted),
        cmocka_unit_test(link_dice__crosses_tiles),
        cmocka_unit_test(link_dice__threshold_equality_and_empty),
        cmocka_unit_test(link_dice__threads_do_not_change_output),
        cmocka_unit_test(link_dice__rejects_bad_arguments),
        cmocka_unit_test(link_greedy__hand_cases),
        cmocka_unit_test(link_greedy__on_kernel_output),
        cmocka_unit_test(link_dice__alloc_failure_sweep),
    };
    return cmocka_run_group_tests_name("link", tests, setup, NULL);
}
