/*
 * Unit tests for the candidate pairs of encoded records (src/link/hub.c): the blocking
 * report computed by hand on a tiny case (first-key rule, repeated keys, list filters,
 * oversized blocks), every pair against brute force on random records (all pairs that
 * share a key of a comparable block, pass the list filter and reach min_score, with
 * exactly rp_dice's value), for every popcount kernel, several thresholds, rule masks and
 * thread counts; cancellation, every documented error and an allocation-failure sweep.
 */
#include "link/link_int.h"
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>
#include <rapporteur/link.h>

#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

/* ==== a tiny case by hand ==== */

/*
 * Four records, lists 0 0 1 1, identical filters (every Dice is 1):
 *   record 0: (1, rule 0), (2, rule 3)
 *   record 1: (1, rule 0) twice (a repeated key counts once)
 *   record 2: (1, rule 0), (2, rule 3), (3, rule 3)
 *   record 3: (3, rule 3), (4, rule 3), (1, rule 2) (same key value, another rule: its
 *             own block)
 * Blocks in key order: (1,r0) = {0,1,2}; (1,r2) = {3}; (2,r3) = {0,2}; (3,r3) = {2,3};
 * (4,r3) = {3}.
 * Both filters: rule 0: 1 key, pairs 0-1, 0-2, 1-2 = 3, all first. Rule 2: 1 key, no
 * pair. Rule 3: 3 keys, pairs 0-2 (not first: they met in (1,r0)) and 2-3 (first) =
 * 2 pairs, 1 first. Candidates 4.
 */
typedef struct tiny {
    uint64_t clks[4 * 2];
    uint16_t list[4];
    size_t key_off[5];
    uint64_t keys[9];
    uint8_t rule[9];
    rp_link_input in;
} tiny;

static void tiny_init(tiny *t)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < 8; i++)
        t->clks[i] = 0x00ff00ff00ff00ffull;
    const uint16_t list[] = {0, 0, 1, 1};
    const size_t off[] = {0, 2, 4, 7, 9};
    const uint64_t keys[] = {1, 2, 1, 1, 1, 2, 3, 3, 4};
    const uint8_t rule[] = {0, 3, 0, 0, 0, 3, 3, 3, 3};
    memcpy(t->list, list, sizeof list);
    memcpy(t->key_off, off, sizeof off);
    memcpy(t->keys, keys, sizeof keys);
    memcpy(t->rule, rule, sizeof rule);
    t->in = (rp_link_input){4, 2, t->clks, t->list, t->key_off, t->keys, t->rule};
}

/* Record 3 becomes (4, rule 3), (1, rule 2): key value 1 under another rule. */
static void tiny_with_other_rule(tiny *t)
{
    t->keys[7] = 4;
    t->rule[7] = 3;
    t->keys[8] = 1;
    t->rule[8] = 2;
}

static void hub_report__tiny_case_by_hand(void **state)
{
    (void)state;
    tiny t;
    tiny_init(&t);
    tiny_with_other_rule(&t);
    rp_error err = RP_ERROR_INIT;
    rp_link_opts o = RP_LINK_OPTS_INIT;
    rp_link_edge *e = NULL;
    size_t ne = 0;
    rp_block_report rep;
    assert_rp_ok(rp_link_candidates(&t.in, &o, &e, &ne, &rep, &err), &err);
    /*
     * Record 2 holds (1,r0), (2,r3), (3,r3) and record 3 (4,r3), (1,r2). Blocks: (1,r0) =
     * {0,1,2}; (1,r2) = {3}; (2,r3) = {0,2}; (3,r3) = {2}; (4,r3) = {3}. Rule 0: 3 pairs,
     * all first; rule 2: 1 key, no pair; rule 3: 3 keys, 1 pair (0-2), not first.
     */
    assert_int_equal(rep.rule[0].keys, 1);
    assert_int_equal(rep.rule[0].pairs, 3);
    assert_int_equal(rep.rule[0].first_pairs, 3);
    assert_int_equal(rep.rule[2].keys, 1);
    assert_int_equal(rep.rule[2].pairs, 0);
    assert_int_equal(rep.rule[3].keys, 3);
    assert_int_equal(rep.rule[3].pairs, 1); /* 0-2 in (2,r3) */
    assert_int_equal(rep.rule[3].first_pairs, 0);
    assert_int_equal(rep.candidates, 3);
    assert_int_equal(rep.kept, 3);
    assert_int_equal(ne, 3);
    /* all Dice 1: sorted by (a, b) */
    assert_int_equal(e[0].a, 0);
    assert_int_equal(e[0].b, 1);
    assert_int_equal(e[1].a, 0);
    assert_int_equal(e[1].b, 2);
    assert_int_equal(e[2].a, 1);
    assert_int_equal(e[2].b, 2);
    assert_close(e[0].score, 1.0, 0, 0);
    assert_true(rep.peak_bytes > 0);
    rp_free(e);
}

static void hub_report__first_key_and_filters_by_hand(void **state)
{
    (void)state;
    tiny t;
    tiny_init(&t);
    /* record 3: (3,r3), (4,r3); record 2: (1,r0), (2,r3), (3,r3) */
    const size_t off[] = {0, 2, 4, 7, 9};
    const uint64_t keys[] = {1, 2, 1, 1, 1, 2, 3, 3, 4};
    const uint8_t rule[] = {0, 3, 0, 0, 0, 3, 3, 3, 3};
    memcpy(t.key_off, off, sizeof off);
    memcpy(t.keys, keys, sizeof keys);
    memcpy(t.rule, rule, sizeof rule);
    rp_error err = RP_ERROR_INIT;
    rp_link_opts o = RP_LINK_OPTS_INIT;
    rp_link_edge *e = NULL;
    size_t ne = 0;
    rp_block_report rep;

    /* both filters: as in the comment of struct tiny */
    assert_rp_ok(rp_link_candidates(&t.in, &o, &e, &ne, &rep, &err), &err);
    assert_int_equal(rep.rule[0].pairs, 3);
    assert_int_equal(rep.rule[0].first_pairs, 3);
    assert_int_equal(rep.rule[3].keys, 3);
    assert_int_equal(rep.rule[3].pairs, 2);
    assert_int_equal(rep.rule[3].first_pairs, 1);
    assert_int_equal(rep.candidates, 4);
    assert_int_equal(ne, 4);
    rp_free(e);

    /*
     * Across lists only (0-1 and 2-3 are within lists 0 and 1): rule 0: 0-2, 1-2, both
     * first; rule 3: 0-2 (not first).
     */
    o.within_list = false;
    assert_rp_ok(rp_link_candidates(&t.in, &o, &e, &ne, &rep, &err), &err);
    assert_int_equal(rep.rule[0].pairs, 2);
    assert_int_equal(rep.rule[0].first_pairs, 2);
    assert_int_equal(rep.rule[3].pairs, 1);
    assert_int_equal(rep.rule[3].first_pairs, 0);
    assert_int_equal(rep.candidates, 2);
    rp_free(e);

    /* within lists only: 0-1 in rule 0, 2-3 in rule 3 */
    o.within_list = true;
    o.across_lists = false;
    assert_rp_ok(rp_link_candidates(&t.in, &o, &e, &ne, &rep, &err), &err);
    assert_int_equal(rep.candidates, 2);
    assert_int_equal(ne, 2);
    assert_int_equal(e[0].a, 0);
    assert_int_equal(e[0].b, 1);
    assert_int_equal(e[1].a, 2);
    assert_int_equal(e[1].b, 3);
    rp_free(e);

    /*
     * max_block 2: (1,r0) with 3 records is oversized (1 block, 3 records) and not
     * compared; 0-2 is then first in (2,r3).
     */
    o = (rp_link_opts)RP_LINK_OPTS_INIT;
    o.max_block = 2;
    assert_rp_ok(rp_link_candidates(&t.in, &o, &e, &ne, &rep, &err), &err);
    assert_int_equal(rep.rule[0].oversized, 1);
    assert_int_equal(rep.rule[0].oversized_recs, 3);
    assert_int_equal(rep.rule[0].pairs, 0);
    assert_int_equal(rep.rule[3].pairs, 2);
    assert_int_equal(rep.rule[3].first_pairs, 2);
    assert_int_equal(rep.candidates, 2);
    rp_free(e);

    /* rule 3 only: 0-2 and 2-3 */
    o = (rp_link_opts)RP_LINK_OPTS_INIT;
    o.rules = 1u << 3;
    assert_rp_ok(rp_link_candidates(&t.in, &o, &e, &ne, &rep, &err), &err);
    assert_int_equal(rep.rule[0].keys, 0);
    assert_int_equal(rep.rule[3].first_pairs, 2);
    assert_int_equal(ne, 2);
    rp_free(e);

    /* a min_score no pair reaches: compared, none kept */
    t.clks[2] = 0xff00ff00ff00ff00ull; /* record 1 shares no bit with the others */
    t.clks[3] = 0xff00ff00ff00ff00ull;
    o = (rp_link_opts)RP_LINK_OPTS_INIT;
    o.min_score = 0.5;
    assert_rp_ok(rp_link_candidates(&t.in, &o, &e, &ne, &rep, &err), &err);
    assert_int_equal(rep.candidates, 4);
    assert_int_equal(ne, 2); /* 0-2 and 2-3; 0-1 and 1-2 have Dice 0 */
    rp_free(e);
}

/* ==== brute force on random records ==== */

/* xorshift64* */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

typedef struct rand_set {
    rp_link_input in;
    uint64_t *clks;
    uint16_t *list;
    size_t *off;
    uint64_t *keys;
    uint8_t *rule;
} rand_set;

/*
 * n records on 3 lists, each a noisy copy of one of n/3 persons (so that Dice values
 * spread from about 0.3 to 1), with 0..7 keys drawn from a small space (values 0..29,
 * rules 0..4), so that blocks overlap, keys repeat within a record and one value occurs
 * under several rules.
 */
static void rand_set_make(rand_set *r, size_t n, size_t words, uint64_t *s)
{
    size_t np = n / 3 + 1;
    uint64_t *base = rp_calloc(np * words, sizeof *base);
    r->clks = rp_calloc(n * words, sizeof *r->clks);
    r->list = rp_calloc(n, sizeof *r->list);
    r->off = rp_calloc(n + 1, sizeof *r->off);
    r->keys = rp_calloc(n * 8, sizeof *r->keys);
    r->rule = rp_calloc(n * 8, sizeof *r->rule);
    assert_non_null(base);
    assert_non_null(r->clks);
    assert_non_null(r->list);
    assert_non_null(r->off);
    assert_non_null(r->keys);
    assert_non_null(r->rule);
    for (size_t i = 0; i < np * words; i++) {
        uint64_t x = rnd(s);
        base[i] = x & rnd(s); /* about a quarter of the bits */
    }
    for (size_t i = 0; i < n; i++) {
        size_t p = rnd(s) % np;
        for (size_t w = 0; w < words; w++) {
            /* each bit flipped with probability 1/16, or 1/32 for three records in four */
            uint64_t noise = rnd(s);
            for (int k = 0; k < ((i % 4) ? 4 : 3); k++)
                noise &= rnd(s);
            r->clks[i * words + w] = base[p * words + w] ^ noise;
        }
        if (i % 17 == 0)
            memset(r->clks + i * words, 0, words * sizeof *r->clks); /* empty filters */
        r->list[i] = (uint16_t)(rnd(s) % 3);
        size_t nk = rnd(s) % 8;
        r->off[i + 1] = r->off[i] + nk;
        for (size_t k = r->off[i]; k < r->off[i + 1]; k++) {
            r->keys[k] = rnd(s) % 30;
            r->rule[k] = (uint8_t)(rnd(s) % 5);
        }
    }
    rp_free(base);
    r->in = (rp_link_input){n, words, r->clks, r->list, r->off, r->keys, r->rule};
}

static void rand_set_free(rand_set *r)
{
    rp_free(r->clks);
    rp_free(r->list);
    rp_free(r->off);
    rp_free(r->keys);
    rp_free(r->rule);
}

static bool has_key(const rand_set *r, size_t i, uint64_t key, uint8_t rule)
{
    for (size_t k = r->off[i]; k < r->off[i + 1]; k++) {
        if (r->keys[k] == key && r->rule[k] == rule)
            return true;
    }
    return false;
}

/* Distinct records holding (key, rule). */
static size_t block_size(const rand_set *r, uint64_t key, uint8_t rule)
{
    size_t m = 0;
    for (size_t i = 0; i < r->in.n; i++)
        m += has_key(r, i, key, rule);
    return m;
}

static int edge_cmp(const void *x, const void *y)
{
    const rp_link_edge *p = x;
    const rp_link_edge *q = y;
    if (p->score != q->score)
        return p->score > q->score ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : (p->b > q->b);
}

/* Every qualifying pair by brute force, sorted as rp_link_candidates sorts. */
static rp_link_edge *brute_force(const rand_set *r, const rp_link_opts *o, size_t *n_out)
{
    size_t n = r->in.n;
    size_t words = r->in.words;
    bool comparable[30][5];
    for (uint64_t k = 0; k < 30; k++) {
        for (uint8_t u = 0; u < 5; u++) {
            size_t m = block_size(r, k, u);
            bool rule_on = !o->rules || (o->rules & (1u << u));
            comparable[k][u] = rule_on && m >= 2 && !(o->max_block && m > o->max_block);
        }
    }
    rp_link_edge *v = rp_calloc(n * n / 2 + 1, sizeof *v);
    assert_non_null(v);
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            bool same = r->list[i] == r->list[j];
            if (same ? !o->within_list : !o->across_lists)
                continue;
            bool share = false;
            for (size_t k = r->off[i]; k < r->off[i + 1] && !share; k++)
                share = comparable[r->keys[k]][r->rule[k]] && has_key(r, j, r->keys[k], r->rule[k]);
            if (!share)
                continue;
            double d = rp_dice(r->clks + i * words, r->clks + j * words, words);
            if (d >= o->min_score) {
                rp_link_edge e = {(uint32_t)i, (uint32_t)j, d};
                v[nv++] = e;
            }
        }
    }
    qsort(v, nv, sizeof *v, edge_cmp);
    *n_out = nv;
    return v;
}

static void
assert_same_edges(const rp_link_edge *got, size_t n_got, const rp_link_edge *want, size_t n_want)
{
    assert_int_equal(n_got, n_want);
    for (size_t k = 0; k < n_got; k++) {
        if (got[k].a != want[k].a || got[k].b != want[k].b || got[k].score != want[k].score)
            fail_msg("edge %zu: (%u, %u, %.17g), expected (%u, %u, %.17g)", k, got[k].a, got[k].b,
                     got[k].score, want[k].a, want[k].b, want[k].score);
    }
}

static void hub_candidates__match_brute_force(void **state)
{
    (void)state;
    uint64_t s = 20261129;

    static const struct {
        size_t words;
        double min_score;
        size_t max_block;
        unsigned rules;
        bool within, across;
    } cases[] = {
        {16, 0.0, 0, 0, true, true},     {16, 0.5, 0, 0, true, true},
        {16, 0.8, 0, 0, true, true},     {16, 0.6, 0, 0x9u, true, true},
        {16, 0.5, 12, 0, true, true},    {16, 0.5, 0, 0, false, true},
        {16, 0.5, 0, 0, true, false},    {3, 0.5, 0, 0, true, true},
        {3, 0.7, 15, 0x3u, false, true}, {8, 1.0, 0, 0, true, true},
    };

    const rp_link__kernel kernels[] = {RP_LINK__KERNEL_AUTO, RP_LINK__KERNEL_SWAR,
                                       RP_LINK__KERNEL_POPCNT, RP_LINK__KERNEL_AVX512};
    for (size_t c = 0; c < N_OF(cases); c++) {
        rand_set r;
        rand_set_make(&r, 240, cases[c].words, &s);
        rp_link_opts o = RP_LINK_OPTS_INIT;
        o.min_score = cases[c].min_score;
        o.rules = cases[c].rules;
        o.max_block = cases[c].max_block;
        o.within_list = cases[c].within;
        o.across_lists = cases[c].across;
        size_t nw = 0;
        rp_link_edge *want = brute_force(&r, &o, &nw);
        if (cases[c].min_score < 0.9 && !(nw > 5))
            fail_msg("case %zu: only %zu qualifying pairs", c, nw);
        rp_block_report rep1;
        memset(&rep1, 0, sizeof rep1);
        for (size_t k = 0; k < N_OF(kernels); k++) {
            if (!rp_link__kernel_available(kernels[k]))
                continue;
            rp_link__force_kernel(kernels[k]);
            for (unsigned threads = 1; threads <= 3; threads++) {
                o.threads = threads;
                rp_error err = RP_ERROR_INIT;
                rp_link_edge *e = NULL;
                size_t ne = 0;
                rp_block_report rep;
                assert_rp_ok(rp_link_candidates(&r.in, &o, &e, &ne, &rep, &err), &err);
                assert_same_edges(e, ne, want, nw);
                assert_int_equal(rep.kept, nw);
                if (k == 0 && threads == 1) {
                    rep1 = rep;
                } else {
                    /* the counts do not depend on the kernel or the threads */
                    assert_memory_equal(rep.rule, rep1.rule, sizeof rep.rule);
                    assert_int_equal(rep.candidates, rep1.candidates);
                }
                rp_free(e);
            }
        }
        rp_link__force_kernel(RP_LINK__KERNEL_AUTO);
        /* each distinct pair compared once: candidates <= pairs, == distinct sharing pairs */
        size_t pairs = 0;
        for (unsigned u = 0; u < RP_LINK_MAX_RULES; u++) {
            pairs += rep1.rule[u].pairs;
            assert_true(rep1.rule[u].first_pairs <= rep1.rule[u].pairs);
        }
        assert_true(rep1.candidates <= pairs);
        rp_link_opts all = o;
        all.min_score = 0.0;
        size_t n_all = 0;
        rp_link_edge *every = brute_force(&r, &all, &n_all);
        assert_int_equal(rep1.candidates, n_all);
        rp_free(every);
        rp_free(want);
        rand_set_free(&r);
    }
}

static int cancel_at_once(size_t done, size_t total, void *payload)
{
    (void)done;
    (void)total;
    (*(int *)payload)++;
    return 1;
}

static int count_calls(size_t done, size_t total, void *payload)
{
    assert_true(done <= total);
    (*(int *)payload)++;
    return 0;
}

static void hub_candidates__progress_and_cancel(void **state)
{
    (void)state;
    uint64_t s = 99;
    rand_set r;
    rand_set_make(&r, 200, 16, &s);
    rp_error err = RP_ERROR_INIT;
    rp_link_opts o = RP_LINK_OPTS_INIT;
    int calls = 0;
    o.progress = count_calls;
    o.payload = &calls;
    o.threads = 2;
    rp_link_edge *e = NULL;
    size_t ne = 0;
    assert_rp_ok(rp_link_candidates(&r.in, &o, &e, &ne, NULL, &err), &err);
    assert_true(calls > 0);
    rp_free(e);
    calls = 0;
    o.progress = cancel_at_once;
    assert_rp_status(rp_link_candidates(&r.in, &o, &e, &ne, NULL, &err), RP_ECANCELED, &err);
    assert_null(e);
    assert_int_equal(ne, 0);
    assert_int_equal(calls, 1);
    rand_set_free(&r);
}

static void hub_candidates__rejects_bad_input(void **state)
{
    (void)state;
    tiny t;
    tiny_init(&t);
    rp_error err = RP_ERROR_INIT;
    rp_link_edge *e = NULL;
    size_t ne = 0;
    rp_link_opts o = RP_LINK_OPTS_INIT;
    o.version = 7;
    assert_rp_status(rp_link_candidates(&t.in, &o, &e, &ne, NULL, &err), RP_EINVAL, &err);
    o = (rp_link_opts)RP_LINK_OPTS_INIT;
    o.min_score = 1.5;
    assert_rp_status(rp_link_candidates(&t.in, &o, &e, &ne, NULL, &err), RP_EINVAL, &err);
    o = (rp_link_opts)RP_LINK_OPTS_INIT;
    o.within_list = o.across_lists = false;
    assert_rp_status(rp_link_candidates(&t.in, &o, &e, &ne, NULL, &err), RP_EINVAL, &err);
    o = (rp_link_opts)RP_LINK_OPTS_INIT;
    o.rules = 1u << RP_LINK_MAX_RULES;
    assert_rp_status(rp_link_candidates(&t.in, &o, &e, &ne, NULL, &err), RP_EINVAL, &err);
    assert_rp_status(rp_link_candidates(&t.in, NULL, NULL, &ne, NULL, &err), RP_EINVAL, &err);
    t.in.words = 0;
    assert_rp_status(rp_link_candidates(&t.in, NULL, &e, &ne, NULL, &err), RP_EINVAL, &err);
    tiny_init(&t);
    t.key_off[2] = 1; /* decreasing: 2 then 1 */
    assert_rp_status(rp_link_candidates(&t.in, NULL, &e, &ne, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "record 1"));
    tiny_init(&t);
    t.rule[3] = RP_LINK_MAX_RULES;
    assert_rp_status(rp_link_candidates(&t.in, NULL, &e, &ne, NULL, &err), RP_EINVAL, &err);
    tiny_init(&t);
    t.in.clks = NULL;
    assert_rp_status(rp_link_candidates(&t.in, NULL, &e, &ne, NULL, &err), RP_EINVAL, &err);
    /* no records, no keys: fine, nothing out */
    rp_link_input none = {0, 16, NULL, NULL, NULL, NULL, NULL};
    rp_block_report rep;
    assert_rp_ok(rp_link_candidates(&none, NULL, &e, &ne, &rep, &err), &err);
    assert_null(e);
    assert_int_equal(ne, 0);
    assert_int_equal(rep.candidates, 0);
}

/* ==== every pair, without blocking (rp_link_opts.exhaustive_max) ==== */

/* Every allowed pair at or above min_score, keys or not, sorted as rp_link_candidates. */
static rp_link_edge *
all_pairs(const rand_set *r, const rp_link_opts *o, size_t *n_out, size_t *n_allowed)
{
    size_t n = r->in.n;
    rp_link_edge *v = rp_calloc(n * n / 2 + 1, sizeof *v);
    assert_non_null(v);
    size_t nv = 0;
    *n_allowed = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (r->list[i] == r->list[j] ? !o->within_list : !o->across_lists)
                continue;
            (*n_allowed)++;
            double d = rp_dice(r->clks + i * r->in.words, r->clks + j * r->in.words, r->in.words);
            if (d >= o->min_score)
                v[nv++] = (rp_link_edge){(uint32_t)i, (uint32_t)j, d};
        }
    }
    qsort(v, nv, sizeof *v, edge_cmp);
    *n_out = nv;
    return v;
}

static void hub_candidates__exhaustive_compares_every_allowed_pair(void **state)
{
    (void)state;
    uint64_t s = 424242;

    static const struct {
        size_t words;
        double min_score;
        bool within, across;
    } cases[] = {
        {16, 0.5, true, true},
        {16, 0.7, false, true},
        {16, 0.6, true, false},
        {3, 0.0, true, true},
    };

    for (size_t c = 0; c < N_OF(cases); c++) {
        rand_set r;
        rand_set_make(&r, 210, cases[c].words, &s);
        rp_link_opts o = RP_LINK_OPTS_INIT;
        o.exhaustive_max = RP_LINK_EXHAUSTIVE_DEFAULT;
        o.min_score = cases[c].min_score;
        o.within_list = cases[c].within;
        o.across_lists = cases[c].across;
        size_t nw = 0, allowed = 0;
        rp_link_edge *want = all_pairs(&r, &o, &nw, &allowed);
        for (unsigned threads = 1; threads <= 3; threads++) {
            o.threads = threads;
            rp_error err = RP_ERROR_INIT;
            rp_link_edge *e = NULL;
            size_t ne = 0;
            rp_block_report rep;
            assert_rp_ok(rp_link_candidates(&r.in, &o, &e, &ne, &rep, &err), &err);
            assert_true(rep.exhaustive);
            assert_int_equal(rep.candidates, allowed);
            assert_int_equal(rep.kept, nw);
            for (unsigned u = 0; u < RP_LINK_MAX_RULES; u++)
                assert_int_equal(rep.rule[u].pairs, 0);
            assert_same_edges(e, ne, want, nw);
            rp_free(e);
        }
        /* one pair more than the limit allows: blocked, and the blocked result is a subset */
        o.exhaustive_max = allowed - 1;
        rp_error err = RP_ERROR_INIT;
        rp_link_edge *e = NULL;
        size_t ne = 0;
        rp_block_report rep;
        assert_rp_ok(rp_link_candidates(&r.in, &o, &e, &ne, &rep, &err), &err);
        assert_false(rep.exhaustive);
        assert_true(rep.candidates < allowed);
        assert_true(ne < nw);
        rp_link_opts blocked = o;
        size_t nb = 0;
        rp_link_edge *bf = brute_force(&r, &blocked, &nb);
        assert_same_edges(e, ne, bf, nb);
        rp_free(bf);
        rp_free(e);
        /* exactly at the limit: every pair again */
        o.exhaustive_max = allowed;
        assert_rp_ok(rp_link_candidates(&r.in, &o, &e, &ne, &rep, &err), &err);
        assert_true(rep.exhaustive);
        assert_int_equal(ne, nw);
        rp_free(e);
        rp_free(want);
        rand_set_free(&r);
    }
}

/* The default blocks, however few the pairs. */
static void hub_candidates__default_blocks(void **state)
{
    (void)state;
    uint64_t s = 31;
    rand_set r;
    rand_set_make(&r, 60, 16, &s);
    rp_error err = RP_ERROR_INIT;
    rp_link_opts o = RP_LINK_OPTS_INIT;
    assert_int_equal(o.exhaustive_max, 0);
    rp_link_edge *e = NULL;
    size_t ne = 0;
    rp_block_report rep;
    assert_rp_ok(rp_link_candidates(&r.in, &o, &e, &ne, &rep, &err), &err);
    assert_false(rep.exhaustive);
    size_t nb = 0;
    rp_link_edge *bf = brute_force(&r, &o, &nb);
    assert_same_edges(e, ne, bf, nb);
    rp_free(bf);
    rp_free(e);
    rand_set_free(&r);
}

static void hub_candidates__exhaustive_progress_and_cancel(void **state)
{
    (void)state;
    uint64_t s = 7;
    rand_set r;
    rand_set_make(&r, 90, 16, &s);
    rp_error err = RP_ERROR_INIT;
    rp_link_opts o = RP_LINK_OPTS_INIT;
    o.exhaustive_max = RP_LINK_EXHAUSTIVE_DEFAULT;
    int calls = 0;
    o.progress = count_calls;
    o.payload = &calls;
    rp_link_edge *e = NULL;
    size_t ne = 0;
    rp_block_report rep;
    assert_rp_ok(rp_link_candidates(&r.in, &o, &e, &ne, &rep, &err), &err);
    assert_true(rep.exhaustive);
    /* the start, and after each allowed pair of lists (3 lists: 6 pairs of lists) */
    assert_int_equal(calls, 7);
    rp_free(e);
    calls = 0;
    o.progress = cancel_at_once;
    assert_rp_status(rp_link_candidates(&r.in, &o, &e, &ne, NULL, &err), RP_ECANCELED, &err);
    assert_null(e);
    assert_int_equal(ne, 0);
    assert_int_equal(calls, 1);
    rand_set_free(&r);
}

typedef struct sweep_ctx {
    rand_set r;
    rp_link_edge *e;
    bool exhaustive;
} sweep_ctx;

static int sweep_run(void *payload)
{
    sweep_ctx *c = payload;
    rp_link_opts o = RP_LINK_OPTS_INIT;
    o.exhaustive_max = c->exhaustive ? RP_LINK_EXHAUSTIVE_DEFAULT : 0;
    o.threads = 2;
    size_t ne = 0;
    return rp_link_candidates(&c->r.in, &o, &c->e, &ne, NULL, NULL);
}

static void sweep_undo(void *payload)
{
    sweep_ctx *c = payload;
    rp_free(c->e);
    c->e = NULL;
}

static void hub_candidates__alloc_failure_sweep(void **state)
{
    (void)state;
    uint64_t s = 5;
    sweep_ctx c = {.e = NULL};
    rand_set_make(&c.r, 60, 16, &s);
    unsigned long n = rp_test_alloc_sweep(sweep_run, sweep_undo, &c, 200);
    assert_true(n >= 8);
    c.exhaustive = true;
    n = rp_test_alloc_sweep(sweep_run, sweep_undo, &c, 200);
    assert_true(n >= 4);
    rand_set_free(&c.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hub_report__tiny_case_by_hand),
        cmocka_unit_test(hub_report__first_key_and_filters_by_hand),
        cmocka_unit_test(hub_candidates__match_brute_force),
        cmocka_unit_test(hub_candidates__progress_and_cancel),
        cmocka_unit_test(hub_candidates__rejects_bad_input),
        cmocka_unit_test(hub_candidates__exhaustive_compares_every_allowed_pair),
        cmocka_unit_test(hub_candidates__exhaustive_progress_and_cancel),
        cmocka_unit_test(hub_candidates__default_blocks),
        cmocka_unit_test(hub_candidates__alloc_failure_sweep),
    };
    return cmocka_run_group_tests_name("link_hub", tests, setup, NULL);
}
