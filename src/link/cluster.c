/*
 * Clustering of scored record pairs into persons (include/rapporteur/link.h,
 * rp_link_cluster): a greedy merge by score over a union-find, with three guards
 * against chaining, so that one person becomes one capture history.
 *
 * The links (edges at or above the threshold) are taken best first. A link whose two
 * records are already in one group does nothing; otherwise the two groups G and H merge
 * unless a guard refuses, checked in this order:
 *
 *  1. size:     |G| + |H| > max_size;
 *  2. list:     two records of one list, one in G and one in H, that are not linked to
 *               each other directly (the within-list duplicate rule: lists that each
 *               record a person once must not be chained together through other lists);
 *  3. cohesion: fewer than min_cohesion of the |G| |H| record pairs between G and H are
 *               links (anonlink's probabilistic multi-party solver merges on a share of
 *               pairs seen; we count every link at the threshold, so the share does not
 *               depend on the order in which links arrive).
 *
 * With min_cohesion 0, no list guard and no size limit this is connected components at
 * the threshold (Splink's cluster_pairwise_predictions_at_threshold).
 *
 * Mutual best matches: below the threshold, down to mutual_low, an edge between two
 * lists is a link too when each of its records has no better (or equal) edge towards
 * the other's list: the pair that a 1:1 assignment of the two lists would make (the
 * greedy solver of anonlink accepts a pair exactly when neither record has a better
 * one left). It recovers true pairs that errors pushed below the threshold while
 * namesakes, who have a better partner or tie, stay apart.
 *
 * Clerical-review constraints: must-link pairs come first among the links (score
 * +infinity in the adjacency's eyes, then the edges best first), and their merges skip the size,
 * list and cohesion guards (a reviewer's verdict outranks the heuristics). Cannot-link pairs are
 * dropped from the links, and every merge (forced or not) is refused when a cannot-link pair would
 * end inside the merged group: a CSR adjacency of the cannot-links is walked from the smaller
 * group's members, as for cohesion. Edges that are also must- or cannot-link pairs are found by
 * binary search in the sorted pair keys (a << 32 | b, a < b).
 *
 * Data structures: the links in a CSR adjacency (sorted neighbour lists, which also
 * find repeated pairs), parent/size arrays with union by size and path halving, and a
 * circular list of members per group (next[]), so that a merge splices two lists in
 * O(1) and a guard walks the members of a group. The cohesion check walks the smaller
 * group's neighbour lists (links between the groups are exactly the neighbours in the
 * other group); the list guard also counts the same-list record pairs between the
 * groups with a per-list histogram of the larger group. Deterministic: links are sorted
 * by (score descending, a, b) with a < b, so the result depends only on the edge set.
 */
#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/link.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"

/* clang-format on */

#define N_LIST_VALUES 65536u /* list indices are uint16_t */

typedef struct cl_state {
    size_t n;
    const uint16_t *list;
    const rp_cluster_opts *opts;
    rp_link_edge *links; /* a < b, sorted best first */
    size_t n_links;
    size_t *off; /* n + 1: CSR offsets of the link adjacency */
    uint32_t *nbr;
    uint32_t *parent;
    uint32_t *size;
    uint32_t *next;     /* circular member list of each group */
    uint32_t *list_cnt; /* N_LIST_VALUES, zero between uses */
    uint64_t *must;     /* sorted distinct keys of the must-link pairs */
    size_t n_must;
    uint64_t *cannot; /* sorted distinct keys of the cannot-link pairs */
    size_t n_cannot;
    size_t *c_off; /* n + 1: CSR offsets of the cannot-link adjacency (NULL when none) */
    uint32_t *c_nbr;
} cl_state;

static void cl_release(cl_state *s)
{
    rp_free(s->links);
    rp_free(s->off);
    rp_free(s->nbr);
    rp_free(s->parent);
    rp_free(s->size);
    rp_free(s->next);
    rp_free(s->list_cnt);
    rp_free(s->must);
    rp_free(s->cannot);
    rp_free(s->c_off);
    rp_free(s->c_nbr);
}

static int link_cmp(const void *x, const void *y)
{
    const rp_link_edge *p = x;
    const rp_link_edge *q = y;
    if (p->score != q->score)
        return p->score > q->score ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return 0;
}

static int u32_cmp(const void *x, const void *y)
{
    uint32_t p = *(const uint32_t *)x;
    uint32_t q = *(const uint32_t *)y;
    return (p > q) - (p < q);
}

static int check_opts(const rp_cluster_opts *o, rp_error *err)
{
    if (o->version != RP_CLUSTER_OPTS_VERSION)
        return rp_error_set(err, RP_EINVAL, "cluster options version %u, expected %u", o->version,
                            (unsigned)RP_CLUSTER_OPTS_VERSION);
    if (isnan(o->threshold))
        return rp_error_set(err, RP_EINVAL, "cluster threshold is not a number");
    if (!(o->min_cohesion >= 0.0 && o->min_cohesion <= 1.0))
        return rp_error_set(err, RP_EINVAL, "min_cohesion must be in [0, 1]");
    return RP_OK;
}

/* ==== clerical-review constraints ==== */

static uint32_t find_root(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static uint64_t pair_key(uint32_t a, uint32_t b)
{
    return a < b ? ((uint64_t)a << 32) | b : ((uint64_t)b << 32) | a;
}

static int u64_cmp(const void *x, const void *y)
{
    uint64_t p = *(const uint64_t *)x;
    uint64_t q = *(const uint64_t *)y;
    return (p > q) - (p < q);
}

static bool has_key(const uint64_t *keys, size_t n, uint64_t key)
{
    return n > 0 && bsearch(&key, keys, n, sizeof *keys, u64_cmp) != NULL;
}

/* The sorted distinct keys of @p n pairs into *@p out (*@p n_out of them). */
static int pair_keys(uint64_t **out,
                     size_t *n_out,
                     const rp_cluster_pair *pairs,
                     size_t n,
                     size_t n_records,
                     const char *what,
                     rp_error *err)
{
    *n_out = 0;
    if (n == 0)
        return RP_OK;
    if (!pairs)
        return rp_error_set(err, RP_EINVAL, "%s pairs missing", what);
    for (size_t k = 0; k < n; k++) {
        if (pairs[k].a >= n_records || pairs[k].b >= n_records)
            return rp_error_set(err, RP_EINVAL, "%s pair %zu names a record out of range", what, k);
        if (pairs[k].a == pairs[k].b)
            return rp_error_set(err, RP_EINVAL, "%s pair %zu pairs a record with itself", what, k);
    }
    uint64_t *keys = rp_reallocarray(NULL, n, sizeof *keys);
    if (!keys)
        return rp_error_set(err, RP_ENOMEM, "out of memory for %s pairs", what);
    for (size_t k = 0; k < n; k++)
        keys[k] = pair_key(pairs[k].a, pairs[k].b);
    qsort(keys, n, sizeof *keys, u64_cmp);
    size_t m = 0;
    for (size_t k = 0; k < n; k++) {
        if (m == 0 || keys[k] != keys[m - 1])
            keys[m++] = keys[k];
    }
    *out = keys;
    *n_out = m;
    return RP_OK;
}

/* The CSR adjacency of the cannot-link pairs (both directions). */
static int cannot_adjacency(cl_state *s, rp_error *err)
{
    s->c_off = rp_calloc(s->n + 1, sizeof *s->c_off);
    s->c_nbr = rp_reallocarray(NULL, 2 * s->n_cannot, sizeof *s->c_nbr);
    if (!s->c_off || !s->c_nbr)
        return rp_error_set(err, RP_ENOMEM, "out of memory for cannot-link pairs");
    for (size_t k = 0; k < s->n_cannot; k++) {
        s->c_off[(s->cannot[k] >> 32) + 1]++;
        s->c_off[(s->cannot[k] & UINT32_MAX) + 1]++;
    }
    for (size_t i = 0; i < s->n; i++)
        s->c_off[i + 1] += s->c_off[i];
    for (size_t k = 0; k < s->n_cannot; k++) {
        uint32_t a = (uint32_t)(s->cannot[k] >> 32);
        uint32_t b = (uint32_t)(s->cannot[k] & UINT32_MAX);
        s->c_nbr[s->c_off[a]++] = b;
        s->c_nbr[s->c_off[b]++] = a;
    }
    for (size_t i = s->n; i > 0; i--)
        s->c_off[i] = s->c_off[i - 1];
    s->c_off[0] = 0;
    return RP_OK;
}

/* Sorted keys of both kinds of constraint, no pair in both, the cannot-link adjacency. */
static int prepare_constraints(cl_state *s, rp_error *err)
{
    const rp_cluster_opts *o = s->opts;
    int rc = pair_keys(&s->must, &s->n_must, o->must_link, o->n_must_link, s->n, "must-link", err);
    if (rc == RP_OK)
        rc = pair_keys(&s->cannot, &s->n_cannot, o->cannot_link, o->n_cannot_link, s->n,
                       "cannot-link", err);
    for (size_t k = 0; rc == RP_OK && k < s->n_must; k++) {
        if (has_key(s->cannot, s->n_cannot, s->must[k]))
            rc = rp_error_set(err, RP_EINVAL,
                              "records %u and %u are both a must-link and a cannot-link pair",
                              (unsigned)(s->must[k] >> 32), (unsigned)(s->must[k] & UINT32_MAX));
    }
    if (rc == RP_OK && s->n_cannot > 0)
        rc = cannot_adjacency(s, err);
    return rc;
}

/* Is there a cannot-link pair between the groups @p small and @p big (roots)? */
static bool cannot_between(cl_state *s, uint32_t small, uint32_t big)
{
    if (!s->c_off)
        return false;
    uint32_t x = small;
    do {
        for (size_t k = s->c_off[x]; k < s->c_off[x + 1]; k++) {
            if (find_root(s->parent, s->c_nbr[k]) == big)
                return true;
        }
        x = s->next[x];
    } while (x != small);
    return false;
}

/* An edge that a constraint decides: a must-link (added apart) or a cannot-link. */
static bool constrained(const cl_state *s, const rp_link_edge *e)
{
    uint64_t key = pair_key(e->a, e->b);
    return has_key(s->must, s->n_must, key) || has_key(s->cannot, s->n_cannot, key);
}

/* ==== links ==== */

/* Is edge @p e in the mutual-best band [mutual_low, threshold) between two lists? */
static bool in_band(const cl_state *s, const rp_link_edge *e)
{
    const rp_cluster_opts *o = s->opts;
    return s->list && e->score >= o->mutual_low && e->score < o->threshold &&
           s->list[e->a] != s->list[e->b];
}

/* One end of a cross-list edge: its record, the other record's list, score, edge. */
typedef struct mb_end {
    uint32_t rec;
    uint16_t other_list;
    double score;
    size_t edge;
} mb_end;

/* By (record, other list), then score descending. */
static int mb_cmp(const void *x, const void *y)
{
    const mb_end *p = x;
    const mb_end *q = y;
    if (p->rec != q->rec)
        return p->rec < q->rec ? -1 : 1;
    if (p->other_list != q->other_list)
        return p->other_list < q->other_list ? -1 : 1;
    if (p->score != q->score)
        return p->score > q->score ? -1 : 1;
    return (p->edge > q->edge) - (p->edge < q->edge);
}

/*
 * Mark in @p mutual[k] the edges of the band that are the strictly best edge of both
 * their records towards the other record's list. Every cross-list edge at or above
 * mutual_low takes part in "best" (an edge above the threshold beats a band edge), so
 * each record's ends are sorted by (record, other list, score descending): the first
 * end of a group is the best, and it is strict when the second scores lower.
 */
static int mark_mutual(
    const cl_state *s, const rp_link_edge *edges, size_t n_edges, uint8_t *mutual, rp_error *err)
{
    size_t n_ends = 0;
    for (size_t k = 0; k < n_edges; k++) {
        const rp_link_edge *e = &edges[k];
        if (e->score >= s->opts->mutual_low && s->list[e->a] != s->list[e->b])
            n_ends += 2;
    }
    if (n_ends == 0)
        return RP_OK;
    mb_end *ends = rp_reallocarray(NULL, n_ends, sizeof *ends);
    uint8_t *best = rp_calloc(n_edges, 1); /* ends of edge k that are their group's best */
    if (!ends || !best) {
        rp_free(ends);
        rp_free(best);
        return rp_error_set(err, RP_ENOMEM, "out of memory for mutual best matches");
    }
    size_t m = 0;
    for (size_t k = 0; k < n_edges; k++) {
        const rp_link_edge *e = &edges[k];
        if (!(e->score >= s->opts->mutual_low && s->list[e->a] != s->list[e->b]))
            continue;
        ends[m++] = (mb_end){e->a, s->list[e->b], e->score, k};
        ends[m++] = (mb_end){e->b, s->list[e->a], e->score, k};
    }
    qsort(ends, n_ends, sizeof *ends, mb_cmp);
    for (size_t i = 0; i < n_ends;) {
        size_t j = i + 1;
        while (j < n_ends && ends[j].rec == ends[i].rec && ends[j].other_list == ends[i].other_list)
            j++;
        bool strict = j == i + 1 || ends[i + 1].score < ends[i].score;
        if (strict)
            best[ends[i].edge]++;
        i = j;
    }
    for (size_t k = 0; k < n_edges; k++)
        mutual[k] = best[k] == 2 && in_band(s, &edges[k]);
    rp_free(ends);
    rp_free(best);
    return RP_OK;
}

/*
 * Check every edge; copy the links (a < b): the edges at or above the threshold and the
 * mutual best matches of the band; sort them best first.
 */
static int collect_links(
    cl_state *s, const rp_link_edge *edges, size_t n_edges, size_t *n_mutual, rp_error *err)
{
    size_t n_links = 0;
    bool band = false;
    for (size_t k = 0; k < n_edges; k++) {
        const rp_link_edge *e = &edges[k];
        if (e->a >= s->n || e->b >= s->n)
            return rp_error_set(err, RP_EINVAL, "edge %zu names a record out of range", k);
        if (e->a == e->b)
            return rp_error_set(err, RP_EINVAL, "edge %zu pairs a record with itself", k);
        if (e->score >= s->opts->threshold)
            n_links++;
        band = band || in_band(s, e);
    }
    uint8_t *mutual = NULL;
    if (band) {
        mutual = rp_calloc(n_edges, 1);
        if (!mutual)
            return rp_error_set(err, RP_ENOMEM, "out of memory for mutual best matches");
        int rc = mark_mutual(s, edges, n_edges, mutual, err);
        if (rc != RP_OK) {
            rp_free(mutual);
            return rc;
        }
        for (size_t k = 0; k < n_edges; k++)
            *n_mutual += mutual[k];
    }
    n_links += *n_mutual + s->n_must;
    s->links = rp_reallocarray(NULL, n_links ? n_links : 1, sizeof *s->links);
    if (!s->links) {
        rp_free(mutual);
        return rp_error_set(err, RP_ENOMEM, "out of memory for links");
    }
    /* must-links first, in key order: links [0, n_must) are the forced ones */
    for (size_t k = 0; k < s->n_must; k++) {
        rp_link_edge l = {(uint32_t)(s->must[k] >> 32), (uint32_t)(s->must[k] & UINT32_MAX),
                          INFINITY};
        s->links[s->n_links++] = l;
    }
    *n_mutual = 0;
    for (size_t k = 0; k < n_edges; k++) {
        const rp_link_edge *e = &edges[k];
        bool above = e->score >= s->opts->threshold;
        if ((!above && !(mutual && mutual[k])) || constrained(s, e))
            continue;
        *n_mutual += !above;
        rp_link_edge l = {e->a < e->b ? e->a : e->b, e->a < e->b ? e->b : e->a, e->score};
        s->links[s->n_links++] = l;
    }
    rp_free(mutual);
    qsort(s->links + s->n_must, s->n_links - s->n_must, sizeof *s->links, link_cmp);
    return RP_OK;
}

/* The CSR adjacency of the links, each neighbour list sorted; a repeated pair fails. */
static int build_adjacency(cl_state *s, rp_error *err)
{
    s->off = rp_calloc(s->n + 1, sizeof *s->off);
    s->nbr = rp_reallocarray(NULL, s->n_links ? 2 * s->n_links : 1, sizeof *s->nbr);
    if (!s->off || !s->nbr)
        return rp_error_set(err, RP_ENOMEM, "out of memory for the link adjacency");
    for (size_t k = 0; k < s->n_links; k++) {
        s->off[s->links[k].a + 1]++;
        s->off[s->links[k].b + 1]++;
    }
    for (size_t i = 0; i < s->n; i++)
        s->off[i + 1] += s->off[i];
    /* fill with a moving cursor per record (off[i] advanced, then restored) */
    for (size_t k = 0; k < s->n_links; k++) {
        s->nbr[s->off[s->links[k].a]++] = s->links[k].b;
        s->nbr[s->off[s->links[k].b]++] = s->links[k].a;
    }
    for (size_t i = s->n; i > 0; i--)
        s->off[i] = s->off[i - 1];
    s->off[0] = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t lo = s->off[i];
        size_t deg = s->off[i + 1] - lo;
        if (deg > 1)
            qsort(s->nbr + lo, deg, sizeof *s->nbr, u32_cmp);
        for (size_t x = 1; x < deg; x++) {
            if (s->nbr[lo + x] == s->nbr[lo + x - 1])
                return rp_error_set(err, RP_EINVAL, "records %zu and %u are paired twice", i,
                                    (unsigned)s->nbr[lo + x]);
        }
    }
    return RP_OK;
}

/*
 * The links between groups @p small and @p big (roots), and among them those that join
 * two records of one list: walk the smaller group's members and their neighbours.
 */
static void
count_cross_links(cl_state *s, uint32_t small, uint32_t big, size_t *links, size_t *same)
{
    size_t l = 0, sl = 0;
    uint32_t x = small;
    do {
        for (size_t k = s->off[x]; k < s->off[x + 1]; k++) {
            uint32_t y = s->nbr[k];
            if (find_root(s->parent, y) != big)
                continue;
            l++;
            if (s->list && s->list[x] == s->list[y])
                sl++;
        }
        x = s->next[x];
    } while (x != small);
    *links = l;
    *same = sl;
}

/* Record pairs of one list between the groups @p small and @p big. */
static size_t count_same_list_pairs(cl_state *s, uint32_t small, uint32_t big)
{
    size_t pairs = 0;
    uint32_t y = big;
    do {
        s->list_cnt[s->list[y]]++;
        y = s->next[y];
    } while (y != big);
    uint32_t x = small;
    do {
        pairs += s->list_cnt[s->list[x]];
        x = s->next[x];
    } while (x != small);
    y = big;
    do {
        s->list_cnt[s->list[y]] = 0;
        y = s->next[y];
    } while (y != big);
    return pairs;
}

typedef enum verdict { MERGE, REFUSE_CANNOT, REFUSE_SIZE, REFUSE_LIST, REFUSE_COHESION } verdict;

/* May the link (@p forced: a must-link) merge groups @p ra and @p rb (roots)? */
static verdict judge(cl_state *s, uint32_t ra, uint32_t rb, bool forced)
{
    const rp_cluster_opts *o = s->opts;
    size_t sa = s->size[ra];
    size_t sb = s->size[rb];
    uint32_t small = sa <= sb ? ra : rb;
    uint32_t big = small == ra ? rb : ra;
    if (cannot_between(s, small, big))
        return REFUSE_CANNOT;
    if (forced)
        return MERGE;
    if (o->max_size && sa + sb > o->max_size)
        return REFUSE_SIZE;
    bool guard = o->list_guard && s->list;
    if (!guard && o->min_cohesion <= 0.0)
        return MERGE;
    size_t links = 0, same_links = 0;
    count_cross_links(s, small, big, &links, &same_links);
    if (guard && count_same_list_pairs(s, small, big) != same_links)
        return REFUSE_LIST;
    if ((double)links < o->min_cohesion * (double)sa * (double)sb)
        return REFUSE_COHESION;
    return MERGE;
}

static void merge(cl_state *s, uint32_t ra, uint32_t rb)
{
    if (s->size[ra] < s->size[rb]) {
        uint32_t t = ra;
        ra = rb;
        rb = t;
    }
    s->parent[rb] = ra;
    s->size[ra] += s->size[rb];
    uint32_t t = s->next[ra];
    s->next[ra] = s->next[rb];
    s->next[rb] = t;
}

static int cl_init(cl_state *s, rp_error *err)
{
    s->parent = rp_reallocarray(NULL, s->n ? s->n : 1, sizeof *s->parent);
    s->size = rp_reallocarray(NULL, s->n ? s->n : 1, sizeof *s->size);
    s->next = rp_reallocarray(NULL, s->n ? s->n : 1, sizeof *s->next);
    if (s->opts->list_guard && s->list)
        s->list_cnt = rp_calloc(N_LIST_VALUES, sizeof *s->list_cnt);
    if (!s->parent || !s->size || !s->next || (s->opts->list_guard && s->list && !s->list_cnt))
        return rp_error_set(err, RP_ENOMEM, "out of memory for clustering");
    for (size_t i = 0; i < s->n; i++) {
        s->parent[i] = (uint32_t)i;
        s->size[i] = 1;
        s->next[i] = (uint32_t)i;
    }
    return RP_OK;
}

int rp_link_cluster(const rp_link_edge *edges,
                    size_t n_edges,
                    size_t n_records,
                    const uint16_t *list,
                    const rp_cluster_opts *opts,
                    uint32_t *person,
                    rp_cluster_stats *stats,
                    rp_error *err)
{
    const rp_cluster_opts defaults = RP_CLUSTER_OPTS_INIT;
    cl_state s = {.n = n_records, .list = list, .opts = opts ? opts : &defaults};
    rp_cluster_stats st = {0};
    int rc = check_opts(s.opts, err);
    if (rc != RP_OK)
        return rc;
    if ((n_edges && !edges) || (n_records && !person))
        return rp_error_set(err, RP_EINVAL, "missing edges or person array");
    if (n_records > UINT32_MAX)
        return rp_error_set(err, RP_EINVAL, "too many records (at most %u)", UINT32_MAX);
    rc = prepare_constraints(&s, err);
    if (rc == RP_OK)
        rc = collect_links(&s, edges, n_edges, &st.mutual, err);
    if (rc == RP_OK)
        rc = build_adjacency(&s, err);
    if (rc == RP_OK)
        rc = cl_init(&s, err);
    if (rc != RP_OK)
        goto out;

    st.links = s.n_links;
    st.must = s.n_must;
    for (size_t k = 0; k < s.n_links; k++) {
        uint32_t ra = find_root(s.parent, s.links[k].a);
        uint32_t rb = find_root(s.parent, s.links[k].b);
        if (ra == rb)
            continue;
        switch (judge(&s, ra, rb, k < s.n_must)) {
        case MERGE:
            merge(&s, ra, rb);
            st.merges++;
            break;
        case REFUSE_CANNOT:
            st.refused_cannot++;
            break;
        case REFUSE_SIZE:
            st.refused_size++;
            break;
        case REFUSE_LIST:
            st.refused_list++;
            break;
        case REFUSE_COHESION:
            st.refused_cohesion++;
            break;
        }
    }

    /* number persons by their lowest record: the first record met of each group */
    uint32_t *num = s.next; /* the member lists are no longer needed */
    for (size_t i = 0; i < n_records; i++)
        num[i] = UINT32_MAX;
    size_t count = 0;
    for (size_t i = 0; i < n_records; i++) {
        uint32_t r = find_root(s.parent, (uint32_t)i);
        if (num[r] == UINT32_MAX) {
            num[r] = (uint32_t)count++;
            if (s.size[r] > st.largest)
                st.largest = s.size[r];
        }
        person[i] = num[r];
    }
    st.persons = count;
    if (stats)
        *stats = st;
out:
    cl_release(&s);
    return rc;
}
