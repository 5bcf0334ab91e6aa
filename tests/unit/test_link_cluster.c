/*
 * Unit tests for the clustering of scored pairs into persons (src/link/cluster.c):
 * hand-computed chains under the cohesion guard, the list guard with and without a
 * direct within-list link, the size limit, connected components when every guard is off
 * (against a breadth-first search on random graphs), person numbering, independence of
 * the edge order, every documented error and an allocation-failure sweep.
 */
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/link.h>

#include <stdlib.h>
#include <string.h>

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

static void cluster(const rp_link_edge *e,
                    size_t ne,
                    size_t n,
                    const uint16_t *list,
                    const rp_cluster_opts *o,
                    uint32_t *person,
                    rp_cluster_stats *st)
{
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_link_cluster(e, ne, n, list, o, person, st, &err), &err);
}

static void assert_persons(const uint32_t *got, const uint32_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (got[i] != want[i])
            fail_msg("record %zu: person %u, expected %u", i, got[i], want[i]);
    }
}

/*
 * A - B - C, A and C not linked. AB (0.95) merges {A},{B}: 1 link of 1 pair. BC (0.90)
 * joins {A,B} and {C}: 2 record pairs (A-C, B-C), 1 link (B-C), cohesion 1/2 = 0.5.
 * So min_cohesion 0.5 merges (0.5 is not below 0.5), 0.6 refuses.
 */
static void link_cluster__chain_of_three_by_hand(void **state)
{
    (void)state;
    const rp_link_edge e[] = {{1, 2, 0.90}, {0, 1, 0.95}};
    uint32_t p[3];
    rp_cluster_stats st;
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    cluster(e, 2, 3, NULL, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0}, 3);
    assert_int_equal(st.links, 2);
    assert_int_equal(st.merges, 2);
    assert_int_equal(st.refused_cohesion, 0);
    assert_int_equal(st.persons, 1);
    assert_int_equal(st.largest, 3);

    o.min_cohesion = 0.6;
    cluster(e, 2, 3, NULL, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 1}, 3);
    assert_int_equal(st.merges, 1);
    assert_int_equal(st.refused_cohesion, 1);
    assert_int_equal(st.persons, 2);
    assert_int_equal(st.largest, 2);
}

/*
 * A - B - C - D with AB 0.95, BC 0.90, CD 0.85: AB merges (1/1), BC merges (1/2 = 0.5),
 * CD joins {A,B,C} and {D}: 3 pairs, 1 link, 1/3 < 0.5: refused. With cohesion 0 every
 * link merges (connected components).
 */
static void link_cluster__chain_of_four_by_hand(void **state)
{
    (void)state;
    const rp_link_edge e[] = {{2, 3, 0.85}, {0, 1, 0.95}, {1, 2, 0.90}};
    uint32_t p[4];
    rp_cluster_stats st;
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    cluster(e, 3, 4, NULL, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0, 1}, 4);
    assert_int_equal(st.merges, 2);
    assert_int_equal(st.refused_cohesion, 1);

    o.min_cohesion = 0.0;
    cluster(e, 3, 4, NULL, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0, 0}, 4);
    assert_int_equal(st.merges, 3);
    assert_int_equal(st.refused_cohesion, 0);

    /*
     * Add the link B-D (0.80): CD now sees 2 links (C-D, B-D) of 3 pairs = 0.667 and
     * merges; the later B-D finds them in one group.
     */
    const rp_link_edge e2[] = {{2, 3, 0.85}, {0, 1, 0.95}, {1, 2, 0.90}, {3, 1, 0.80}};
    o.min_cohesion = 0.5;
    cluster(e2, 4, 4, NULL, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0, 0}, 4);
    assert_int_equal(st.links, 4);
    assert_int_equal(st.merges, 3);
}

/*
 * Lists: A and C on list 0, B on list 1. A-B and B-C are links, A-C is not: joining
 * {A,B} with {C} would put two records of list 0 in one person without a direct link:
 * the list guard refuses (whatever the cohesion: 1/2 passes 0.5). With A-C linked
 * directly (a within-list duplicate the comparison saw) the merge is allowed.
 */
static void link_cluster__list_guard_by_hand(void **state)
{
    (void)state;
    const uint16_t list[] = {0, 1, 0};
    const rp_link_edge e[] = {{0, 1, 0.95}, {1, 2, 0.90}};
    uint32_t p[3];
    rp_cluster_stats st;
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    cluster(e, 2, 3, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 1}, 3);
    assert_int_equal(st.refused_list, 1);
    assert_int_equal(st.refused_cohesion, 0);

    /* guard off: the chain merges (cohesion 0.5) */
    o.list_guard = false;
    cluster(e, 2, 3, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0}, 3);
    assert_int_equal(st.refused_list, 0);
    /* no list array: no guard either */
    o.list_guard = true;
    cluster(e, 2, 3, NULL, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0}, 3);

    /* a direct within-list link A-C lets the groups merge */
    const rp_link_edge e2[] = {{0, 1, 0.95}, {1, 2, 0.90}, {2, 0, 0.85}};
    cluster(e2, 3, 3, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0}, 3);
    assert_int_equal(st.merges, 2);
    assert_int_equal(st.refused_list, 0);

    /*
     * Guard with cohesion 0: {A,B} (lists 0,1) and {C,D} (lists 0,2), linked by B-C only.
     * Same-list pairs between the groups: A-C (list 0), not linked: refused.
     */
    const uint16_t list4[] = {0, 1, 0, 2};
    const rp_link_edge e3[] = {{0, 1, 0.95}, {2, 3, 0.93}, {1, 2, 0.90}};
    uint32_t p4[4];
    o.min_cohesion = 0.0;
    cluster(e3, 3, 4, list4, &o, p4, &st);
    assert_persons(p4, (const uint32_t[]){0, 0, 1, 1}, 4);
    assert_int_equal(st.refused_list, 1);
}

static void link_cluster__max_size_and_threshold(void **state)
{
    (void)state;
    const rp_link_edge e[] = {{0, 1, 0.95}, {1, 2, 0.90}, {3, 4, 0.70}};
    uint32_t p[5];
    rp_cluster_stats st;
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    o.max_size = 2;
    cluster(e, 3, 5, NULL, &o, p, &st);
    /* 3-4 is below the threshold 0.8: not a link */
    assert_persons(p, (const uint32_t[]){0, 0, 1, 2, 3}, 5);
    assert_int_equal(st.links, 2);
    assert_int_equal(st.refused_size, 1);
    assert_int_equal(st.persons, 4);

    o.max_size = 0;
    o.threshold = 0.7; /* equality is a link */
    cluster(e, 3, 5, NULL, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0, 1, 1}, 5);
    assert_int_equal(st.links, 3);

    /* scores may be match weights: negative thresholds are fine */
    const rp_link_edge w[] = {{0, 1, -1.5}, {2, 3, -3.0}};
    o.threshold = -2.0;
    cluster(w, 2, 5, NULL, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 1, 2, 3}, 5);
}

/* Persons are numbered by their lowest record. */
static void link_cluster__numbering_by_lowest_record(void **state)
{
    (void)state;
    const rp_link_edge e[] = {{4, 3, 0.9}, {2, 1, 0.9}, {5, 0, 0.99}};
    uint32_t p[6];
    rp_cluster_stats st;
    cluster(e, 3, 6, NULL, NULL, p, &st);
    assert_persons(p, (const uint32_t[]){0, 1, 1, 2, 2, 0}, 6);
    assert_int_equal(st.persons, 3);
    /* no edges at all: every record its own person */
    cluster(NULL, 0, 6, NULL, NULL, p, &st);
    assert_persons(p, (const uint32_t[]){0, 1, 2, 3, 4, 5}, 6);
    assert_int_equal(st.persons, 6);
    assert_int_equal(st.largest, 1);
    cluster(NULL, 0, 0, NULL, NULL, NULL, &st);
    assert_int_equal(st.persons, 0);
}

/* xorshift64* */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Random graph without repeated pairs: n records, about m edges with random scores. */
static rp_link_edge *random_edges(size_t n, size_t m, size_t *n_out, uint64_t *s)
{
    rp_link_edge *e = rp_calloc(m, sizeof *e);
    bool *seen = rp_calloc(n * n, sizeof *seen);
    assert_non_null(e);
    assert_non_null(seen);
    size_t k = 0;
    for (size_t t = 0; t < m; t++) {
        uint32_t a = (uint32_t)(rnd(s) % n);
        uint32_t b = (uint32_t)(rnd(s) % n);
        if (a == b || seen[a * n + b])
            continue;
        seen[a * n + b] = seen[b * n + a] = true;
        e[k].a = a;
        e[k].b = b;
        e[k].score = (double)(rnd(s) % 1000) / 1000.0;
        k++;
    }
    rp_free(seen);
    *n_out = k;
    return e;
}

/* With every guard off the persons are the connected components of the links. */
static void link_cluster__components_match_search(void **state)
{
    (void)state;
    uint64_t s = 42;
    const size_t n = 300;
    for (int round = 0; round < 20; round++) {
        size_t ne = 0;
        rp_link_edge *e = random_edges(n, 150 + 20 * (size_t)round, &ne, &s);
        rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
        o.min_cohesion = 0.0;
        o.list_guard = false;
        o.threshold = 0.5;
        uint32_t *p = rp_calloc(n, sizeof *p);
        uint32_t *want = rp_calloc(n, sizeof *want);
        uint32_t *queue = rp_calloc(n, sizeof *queue);
        assert_non_null(p);
        assert_non_null(want);
        assert_non_null(queue);
        rp_cluster_stats st;
        cluster(e, ne, n, NULL, &o, p, &st);
        /* breadth-first search from each unlabelled record, in record order */
        for (size_t i = 0; i < n; i++)
            want[i] = UINT32_MAX;
        uint32_t next = 0;
        for (size_t i = 0; i < n; i++) {
            if (want[i] != UINT32_MAX)
                continue;
            size_t head = 0, tail = 0;
            queue[tail++] = (uint32_t)i;
            want[i] = next;
            while (head < tail) {
                uint32_t x = queue[head++];
                for (size_t k = 0; k < ne; k++) {
                    if (!(e[k].score >= 0.5))
                        continue;
                    uint32_t y = e[k].a == x ? e[k].b : (e[k].b == x ? e[k].a : UINT32_MAX);
                    if (y != UINT32_MAX && want[y] == UINT32_MAX) {
                        want[y] = next;
                        queue[tail++] = y;
                    }
                }
            }
            next++;
        }
        assert_persons(p, want, n);
        assert_int_equal(st.persons, next);
        rp_free(queue);
        rp_free(want);
        rp_free(p);
        rp_free(e);
    }
}

/* The result depends on the edge set only: shuffled and flipped edges give the same. */
static void link_cluster__edge_order_does_not_matter(void **state)
{
    (void)state;
    uint64_t s = 7;
    const size_t n = 200;
    size_t ne = 0;
    rp_link_edge *e = random_edges(n, 600, &ne, &s);
    /* many ties, so that the (a, b) tie-break matters */
    for (size_t k = 0; k < ne; k++)
        e[k].score = (double)(rnd(&s) % 5) / 4.0;
    uint16_t *list = rp_calloc(n, sizeof *list);
    assert_non_null(list);
    for (size_t i = 0; i < n; i++)
        list[i] = (uint16_t)(rnd(&s) % 4);
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    o.threshold = 0.5;
    o.min_cohesion = 0.3;
    uint32_t *p1 = rp_calloc(n, sizeof *p1);
    uint32_t *p2 = rp_calloc(n, sizeof *p2);
    assert_non_null(p1);
    assert_non_null(p2);
    rp_cluster_stats st1, st2;
    cluster(e, ne, n, list, &o, p1, &st1);
    for (size_t k = ne; k > 1; k--) {
        size_t j = rnd(&s) % k;
        rp_link_edge t = e[k - 1];
        e[k - 1] = e[j];
        e[j] = t;
        if (rnd(&s) & 1) {
            uint32_t x = e[j].a;
            e[j].a = e[j].b;
            e[j].b = x;
        }
    }
    cluster(e, ne, n, list, &o, p2, &st2);
    assert_persons(p2, p1, n);
    assert_memory_equal(&st1, &st2, sizeof st1);
    /* the guards did something on this graph */
    assert_true(st1.refused_list + st1.refused_cohesion > 0);
    assert_true(st1.merges > 0);
    rp_free(p1);
    rp_free(p2);
    rp_free(list);
    rp_free(e);
}

static void link_cluster__rejects_bad_input(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    uint32_t p[3];
    const rp_link_edge out_of_range[] = {{0, 3, 0.9}};
    assert_rp_status(rp_link_cluster(out_of_range, 1, 3, NULL, NULL, p, NULL, &err), RP_EINVAL,
                     &err);
    assert_non_null(strstr(err.msg, "out of range"));
    const rp_link_edge self[] = {{1, 1, 0.9}};
    assert_rp_status(rp_link_cluster(self, 1, 3, NULL, NULL, p, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "itself"));
    const rp_link_edge twice[] = {{0, 1, 0.9}, {1, 0, 0.95}};
    assert_rp_status(rp_link_cluster(twice, 2, 3, NULL, NULL, p, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "twice"));
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    o.min_cohesion = 1.5;
    assert_rp_status(rp_link_cluster(NULL, 0, 3, NULL, &o, p, NULL, &err), RP_EINVAL, &err);
    o = (rp_cluster_opts)RP_CLUSTER_OPTS_INIT;
    o.threshold = NAN;
    assert_rp_status(rp_link_cluster(NULL, 0, 3, NULL, &o, p, NULL, &err), RP_EINVAL, &err);
    o = (rp_cluster_opts)RP_CLUSTER_OPTS_INIT;
    o.version = 99;
    assert_rp_status(rp_link_cluster(NULL, 0, 3, NULL, &o, p, NULL, &err), RP_EINVAL, &err);
    assert_rp_status(rp_link_cluster(NULL, 0, 3, NULL, NULL, NULL, NULL, &err), RP_EINVAL, &err);
    assert_rp_status(rp_link_cluster(NULL, 2, 3, NULL, NULL, p, NULL, &err), RP_EINVAL, &err);
}

/*
 * Must-link and cannot-link by hand. Records 0..4; lists 0, 1, 0, 1, 2. Edges at the
 * default threshold 0.8: 0-1 0.95, 1-2 0.90 (the list guard refuses 2: 0 and 2 are on
 * list 0 without a direct link), 3-4 0.60 (below the threshold).
 *   no constraints: {0, 1}, {2}, {3}, {4};
 *   must-link 3-4 (an accepted band pair): a link whatever its score: {3, 4};
 *   must-link 0-2 (two records of list 0 the reviewer says are one person): it merges
 *     {0, 1} and {2} without a direct link between 1 and 2 being needed (must-links skip
 *     the list and cohesion guards), and 1-2 then joins nothing new: {0, 1, 2};
 *   cannot-link 0-1 (a rejected match pair): never a link, so 1-2 is the best link
 *     and merges {1, 2}; 0 stays alone;
 *   cannot-link 0-2 with must-link 0-1 and 1-2 chained by must-links: the second
 *     must-link would put 0 and 2 in one person and is refused (refused_cannot 1).
 */
static void link_cluster__must_and_cannot_link_by_hand(void **state)
{
    (void)state;
    const uint16_t list[] = {0, 1, 0, 1, 2};
    const rp_link_edge e[] = {{0, 1, 0.95}, {1, 2, 0.90}, {3, 4, 0.60}};
    uint32_t p[5];
    rp_cluster_stats st;
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    cluster(e, 3, 5, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 1, 2, 3}, 5);
    assert_int_equal(st.refused_list, 1);

    const rp_cluster_pair must34[] = {{4, 3}};
    o.must_link = must34;
    o.n_must_link = 1;
    cluster(e, 3, 5, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 1, 2, 2}, 5);
    assert_int_equal(st.must, 1);
    assert_int_equal(st.links, 3);

    const rp_cluster_pair must02[] = {{0, 2}, {2, 0}}; /* a repeat counts once */
    o.must_link = must02;
    o.n_must_link = 2;
    cluster(e, 3, 5, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0, 1, 2}, 5);
    assert_int_equal(st.must, 1);
    assert_int_equal(st.refused_list, 0);
    assert_int_equal(st.largest, 3);

    const rp_cluster_pair cannot01[] = {{1, 0}};
    o.must_link = NULL;
    o.n_must_link = 0;
    o.cannot_link = cannot01;
    o.n_cannot_link = 1;
    cluster(e, 3, 5, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 1, 1, 2, 3}, 5);
    assert_int_equal(st.links, 1); /* 0-1 is no longer a link */
    assert_int_equal(st.refused_list, 0);

    const rp_cluster_pair must_chain[] = {{0, 1}, {1, 2}};
    const rp_cluster_pair cannot02[] = {{2, 0}};
    o.must_link = must_chain;
    o.n_must_link = 2;
    o.cannot_link = cannot02;
    o.n_cannot_link = 1;
    cluster(e, 3, 5, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 1, 2, 3}, 5);
    assert_int_equal(st.refused_cannot, 1);
    assert_int_equal(st.merges, 1);
}

/*
 * A cannot-link holds across groups, not just between its two records: in the chain
 * 0-1 (0.95), 1-2 (0.90), 2-3 (0.85), with 0 and 3 rejected, every merge that would put
 * 0 and 3 in one person is refused, whatever the guards: with cohesion 0 and no list
 * guard (connected components) the chain stops at {0, 1, 2} and 3 stays alone. The
 * cannot-link also binds mutual best matches: 4-5 (0.75, lists 0 and 1, each the other's
 * only partner) is a mutual best link unless rejected.
 */
static void link_cluster__cannot_link_across_groups(void **state)
{
    (void)state;
    const uint16_t list[] = {0, 1, 2, 3, 0, 1};
    const rp_link_edge e[] = {{0, 1, 0.95}, {1, 2, 0.90}, {2, 3, 0.85}, {4, 5, 0.75}};
    uint32_t p[6];
    rp_cluster_stats st;
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    o.min_cohesion = 0.0;
    o.list_guard = false;
    o.mutual_low = 0.7;
    cluster(e, 4, 6, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0, 0, 1, 1}, 6);
    const rp_cluster_pair no[] = {{3, 0}, {4, 5}};
    o.cannot_link = no;
    o.n_cannot_link = 2;
    cluster(e, 4, 6, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 0, 1, 2, 3}, 6);
    assert_int_equal(st.refused_cannot, 1);
    assert_int_equal(st.mutual, 0);
}

static void link_cluster__rejects_bad_constraints(void **state)
{
    (void)state;
    rp_error err = RP_ERROR_INIT;
    uint32_t p[3];
    const rp_link_edge e[] = {{0, 1, 0.9}};
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    const rp_cluster_pair both[] = {{0, 1}};
    const rp_cluster_pair flipped[] = {{1, 0}};
    o.must_link = both;
    o.n_must_link = 1;
    o.cannot_link = flipped;
    o.n_cannot_link = 1;
    assert_rp_status(rp_link_cluster(e, 1, 3, NULL, &o, p, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "both a must-link and a cannot-link"));
    const rp_cluster_pair far[] = {{0, 3}};
    o.cannot_link = far;
    assert_rp_status(rp_link_cluster(e, 1, 3, NULL, &o, p, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "cannot-link pair 0 names a record out of range"));
    const rp_cluster_pair self[] = {{2, 2}};
    o.cannot_link = NULL;
    o.n_cannot_link = 0;
    o.must_link = self;
    assert_rp_status(rp_link_cluster(e, 1, 3, NULL, &o, p, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "itself"));
    o.must_link = NULL;
    assert_rp_status(rp_link_cluster(e, 1, 3, NULL, &o, p, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "missing"));
}

typedef struct sweep_ctx {
    uint32_t p[6];
} sweep_ctx;

static int sweep_run(void *payload)
{
    sweep_ctx *c = payload;
    const uint16_t list[] = {0, 1, 0, 1, 2, 2};
    const rp_link_edge e[] = {{0, 1, 0.95}, {1, 2, 0.90}, {3, 4, 0.85}, {4, 5, 0.99}};
    const rp_cluster_pair must[] = {{2, 3}};
    const rp_cluster_pair cannot[] = {{0, 5}};
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    o.must_link = must;
    o.n_must_link = 1;
    o.cannot_link = cannot;
    o.n_cannot_link = 1;
    return rp_link_cluster(e, 4, 6, list, &o, c->p, NULL, NULL);
}

static void link_cluster__alloc_failure_sweep(void **state)
{
    (void)state;
    sweep_ctx c;
    unsigned long n = rp_test_alloc_sweep(sweep_run, NULL, &c, 100);
    assert_true(n >= 5);
}

/*
 * Mutual best matches, by hand. Records 0 (a0) and 3 (a1) are on list 0, 1 (b0) and 2
 * (b1) on list 1; 4 (c0) on list 0, 5 (d0) and 6 (d1) on list 1. Threshold 0.80, band
 * from 0.70:
 *   a0-b0 0.75: a0's best on list 1 is b0, b0's best on list 0 is a0: a link;
 *   a1-b0 0.74: b0 prefers a0: not a link; a1-b1 0.72: a1 prefers b0: not a link;
 *   c0-d0 0.76 and c0-d1 0.76: c0 has no strictly best partner on list 1: no link;
 *   b0-b1 0.78 (one list): never a mutual best.
 * Persons: {a0, b0}, {b1}, {a1}, {c0}, {d0}, {d1}. With the band off, all apart.
 */
static void link_cluster__mutual_best_by_hand(void **state)
{
    (void)state;
    const uint16_t list[] = {0, 1, 1, 0, 0, 1, 1};
    const rp_link_edge e[] = {{0, 1, 0.75}, {3, 1, 0.74}, {3, 2, 0.72},
                              {4, 5, 0.76}, {4, 6, 0.76}, {1, 2, 0.78}};
    uint32_t p[7];
    rp_cluster_stats st;
    rp_cluster_opts o = RP_CLUSTER_OPTS_INIT;
    cluster(e, 6, 7, list, &o, p, &st);
    assert_int_equal(st.links, 0);
    assert_int_equal(st.persons, 7);
    o.mutual_low = 0.70;
    cluster(e, 6, 7, list, &o, p, &st);
    assert_persons(p, (const uint32_t[]){0, 0, 1, 2, 3, 4, 5}, 7);
    assert_int_equal(st.links, 1);
    assert_int_equal(st.mutual, 1);
    /* an edge above the threshold beats the band: a0-b1 0.85 makes b1 a0's best */
    const rp_link_edge e2[] = {{0, 1, 0.75}, {0, 2, 0.85}};
    cluster(e2, 2, 7, list, &o, p, &st);
    assert_int_equal(st.mutual, 0);
    assert_int_equal(p[0], p[2]);
    assert_true(p[0] != p[1]);
    /* no list, no band */
    cluster(e, 6, 7, NULL, &o, p, &st);
    assert_int_equal(st.links, 0);
    /* a band above the threshold is empty */
    o.mutual_low = 0.9;
    cluster(e, 6, 7, list, &o, p, &st);
    assert_int_equal(st.links, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(link_cluster__chain_of_three_by_hand),
        cmocka_unit_test(link_cluster__chain_of_four_by_hand),
        cmocka_unit_test(link_cluster__list_guard_by_hand),
        cmocka_unit_test(link_cluster__max_size_and_threshold),
        cmocka_unit_test(link_cluster__numbering_by_lowest_record),
        cmocka_unit_test(link_cluster__mutual_best_by_hand),
        cmocka_unit_test(link_cluster__components_match_search),
        cmocka_unit_test(link_cluster__edge_order_does_not_matter),
        cmocka_unit_test(link_cluster__rejects_bad_input),
        cmocka_unit_test(link_cluster__must_and_cannot_link_by_hand),
        cmocka_unit_test(link_cluster__cannot_link_across_groups),
        cmocka_unit_test(link_cluster__rejects_bad_constraints),
        cmocka_unit_test(link_cluster__alloc_failure_sweep),
    };
    return cmocka_run_group_tests_name("link_cluster", tests, setup, NULL);
}
