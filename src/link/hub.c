/*
 * Candidate pairs of encoded records at the hub (include/rapporteur/link.h,
 * rp_link_candidates): records that share a keyed blocking key are compared with the
 * Dice coefficient on their CLKs, each distinct pair once, without a global set of
 * pairs, on several threads.
 *
 * Steps:
 *
 *  1. Index. One entry (key, rule, record) per blocking key of a chosen rule, sorted by
 *     key with an LSD radix sort (16-bit digits; stable, so records stay in ascending
 *     order within a key). A run of equal keys whose rules differ (a 64-bit collision
 *     across rules; never seen in practice) is sorted by rule in place. A block is a run
 *     of equal (key, rule); a record listed twice in one block counts once.
 *  2. Blocks. Singletons never pair and blocks of more than max_block records are
 *     skipped (counted in the report). The others are "comparable" and numbered in sort
 *     order; each record gets the list of comparable blocks it is in, which is ascending
 *     because the blocks are met in order, and each entry its position in that list.
 *  3. First key. A pair found in several blocks is compared only in the first of them:
 *     in block k it is compared exactly when the two records' block lists have no
 *     common element before k, a merge of two short sorted prefixes (it needs no memory
 *     beyond the lists, so no pair is ever stored that is not kept). Because the lists
 *     hold comparable blocks only, a pair whose first shared key is oversized is still
 *     compared in the next one.
 *  4. Compare. The popcount bound (need[|a|+|b|] > min(|a|,|b|)) settles most pairs that
 *     cannot reach min_score; the rest get the AND popcount of the kernel that
 *     rp_link_dice_pairs uses (AVX-512, POPCNT or SWAR, chosen at run time), and a pair
 *     is kept when |a&b| >= need[|a|+|b|], which is exactly rp_dice() >= min_score.
 *  5. Threads. The comparable blocks are cut into chunks of about equal work (pairs);
 *     threads take chunks from an atomic counter, each into its own edge vector, and the
 *     edges are sorted by (score descending, a, b) at the end, so the output and the
 *     report do not depend on the number of threads or on scheduling. The calling thread
 *     works too and reports progress between its chunks.
 *
 * Memory: 16 bytes per entry (twice while sorting), 4 bytes per entry of a comparable
 * block for the block lists, 8 bytes per record, 16 bytes per kept edge: the report
 * gives the peak. Sources: blocking on keyed phonetic keys and bit-sampling LSH bands
 * (Karapiperis & Verykios 2015, "An LSH-based blocking approach with a homomorphic
 * matching technique for privacy-preserving record linkage", IEEE TKDE 27(4)).
 */
#include "link/link_int.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/link.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"

/* clang-format on */

/* Chunks of work per thread (load balance against the cost of a chunk switch). */
#define CHUNKS_PER_THREAD 64
#define RADIX_BUCKETS     65536
#define RADIX_DIGITS      4

typedef struct hub_entry {
    uint64_t key;
    uint32_t rec;
    uint8_t rule;
    uint8_t dup;  /* 1: the record is already in this block (a repeated key) */
    uint16_t pos; /* index of this block in the record's block list */
} hub_entry;

typedef struct hub_block {
    size_t start; /* first entry */
    size_t len;   /* entries (repeated records included) */
    uint32_t m;   /* distinct records */
    uint8_t rule;
} hub_block;

/* Working memory, with the bytes held now and at most (rp_block_report.peak_bytes). */
typedef struct hub_mem {
    size_t now, peak;
} hub_mem;

static void *mem_get(hub_mem *m, size_t n, size_t size)
{
    void *p = rp_reallocarray(NULL, n ? n : 1, size);
    if (p) {
        m->now += (n ? n : 1) * size;
        if (m->now > m->peak)
            m->peak = m->now;
    }
    return p;
}

static void mem_put(hub_mem *m, void *p, size_t n, size_t size)
{
    if (!p)
        return;
    rp_free(p);
    m->now -= (n ? n : 1) * size;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ==== arguments ==== */

int rp_link__check_input(const rp_link_input *in, const rp_link_opts *o, rp_error *err)
{
    if (o->version != RP_LINK_OPTS_VERSION)
        return rp_error_set(err, RP_EINVAL, "link options version %u, expected %u", o->version,
                            (unsigned)RP_LINK_OPTS_VERSION);
    if (!(o->min_score >= 0.0 && o->min_score <= 1.0))
        return rp_error_set(err, RP_EINVAL, "min_score must be in [0, 1]");
    if (!o->within_list && !o->across_lists)
        return rp_error_set(err, RP_EINVAL, "neither within_list nor across_lists is set");
    if (o->rules >> RP_LINK_MAX_RULES)
        return rp_error_set(err, RP_EINVAL, "rule mask 0x%x names a rule above %u", o->rules,
                            (unsigned)RP_LINK_MAX_RULES - 1);
    if (in->words == 0 || in->words > RP_LINK_MAX_WORDS)
        return rp_error_set(err, RP_EINVAL, "filter length must be 1 to %u words",
                            (unsigned)RP_LINK_MAX_WORDS);
    if (in->n > UINT32_MAX)
        return rp_error_set(err, RP_EINVAL, "too many records (at most %u)", UINT32_MAX);
    if (in->n == 0)
        return RP_OK;
    if (!in->clks || !in->list || !in->key_off)
        return rp_error_set(err, RP_EINVAL, "missing filters, lists or key offsets");
    if (in->words > SIZE_MAX / sizeof(uint64_t) / in->n)
        return rp_error_set(err, RP_EINVAL, "filter set too large");
    if (in->key_off[0] != 0)
        return rp_error_set(err, RP_EINVAL, "key offsets must start at 0");
    for (size_t i = 0; i < in->n; i++) {
        if (in->key_off[i + 1] < in->key_off[i])
            return rp_error_set(err, RP_EINVAL, "key offsets decrease at record %zu", i);
        if (in->key_off[i + 1] - in->key_off[i] > UINT16_MAX)
            return rp_error_set(err, RP_EINVAL, "record %zu has more than %u blocking keys", i,
                                (unsigned)UINT16_MAX);
    }
    size_t n_keys = in->key_off[in->n];
    if (n_keys && (!in->keys || !in->key_rule))
        return rp_error_set(err, RP_EINVAL, "missing blocking keys or rules");
    for (size_t k = 0; k < n_keys; k++) {
        if (in->key_rule[k] >= RP_LINK_MAX_RULES)
            return rp_error_set(err, RP_EINVAL, "blocking key %zu has rule %u (at most %u)", k,
                                (unsigned)in->key_rule[k], (unsigned)RP_LINK_MAX_RULES - 1);
    }
    return RP_OK;
}

/* ==== step 1: the sorted index ==== */

static unsigned key_digit(uint64_t key, unsigned d)
{
    return (unsigned)(key >> (16u * d)) & 0xffffu;
}

/* Stable LSD radix sort of @p v by key, 16 bits a pass; passes whose digit is constant skip. */
static int sort_entries(hub_entry *v, size_t n, hub_mem *mem)
{
    size_t(*cnt)[RADIX_BUCKETS] = mem_get(mem, RADIX_DIGITS, sizeof *cnt);
    hub_entry *tmp = mem_get(mem, n, sizeof *tmp);
    int rc = RP_OK;
    if (!cnt || !tmp) {
        rc = RP_ENOMEM;
        goto out;
    }
    memset(cnt, 0, RADIX_DIGITS * sizeof *cnt);
    for (size_t i = 0; i < n; i++) {
        for (unsigned d = 0; d < RADIX_DIGITS; d++)
            cnt[d][key_digit(v[i].key, d)]++;
    }
    hub_entry *src = v;
    hub_entry *dst = tmp;
    for (unsigned d = 0; d < RADIX_DIGITS; d++) {
        if (cnt[d][key_digit(src[0].key, d)] == n)
            continue;
        size_t sum = 0;
        for (size_t k = 0; k < RADIX_BUCKETS; k++) {
            size_t c = cnt[d][k];
            cnt[d][k] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[d][key_digit(src[i].key, d)]++] = src[i];
        hub_entry *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
out:
    mem_put(mem, tmp, n, sizeof *tmp);
    mem_put(mem, cnt, RADIX_DIGITS, sizeof *cnt);
    return rc;
}

/* Within a run of equal keys, order by rule, stably (insertion sort; runs are short). */
static void sort_run_by_rule(hub_entry *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        hub_entry e = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1].rule > e.rule) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = e;
    }
}

static int
build_index(hub_entry **out, size_t *n_out, const rp_link_input *in, unsigned rules, hub_mem *mem)
{
    size_t n = 0;
    for (size_t k = 0; k < (in->n ? in->key_off[in->n] : 0); k++) {
        if (rules & (1u << in->key_rule[k]))
            n++;
    }
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return RP_OK;
    hub_entry *v = mem_get(mem, n, sizeof *v);
    if (!v)
        return RP_ENOMEM;
    size_t at = 0;
    for (size_t i = 0; i < in->n; i++) {
        for (size_t k = in->key_off[i]; k < in->key_off[i + 1]; k++) {
            if (!(rules & (1u << in->key_rule[k])))
                continue;
            hub_entry e = {in->keys[k], (uint32_t)i, in->key_rule[k], 0, 0};
            v[at++] = e;
        }
    }
    if (sort_entries(v, n, mem) != RP_OK) {
        mem_put(mem, v, n, sizeof *v);
        return RP_ENOMEM;
    }
    /* runs of equal keys with several rules (a cross-rule collision): order by rule */
    for (size_t s = 0; s < n;) {
        size_t e = s + 1;
        bool mixed = false;
        while (e < n && v[e].key == v[s].key) {
            mixed |= v[e].rule != v[s].rule;
            e++;
        }
        if (mixed)
            sort_run_by_rule(v + s, e - s);
        s = e;
    }
    *out = v;
    *n_out = n;
    return RP_OK;
}

/* ==== step 2: blocks and the records' block lists ==== */

typedef struct hub_index {
    hub_entry *ent;
    size_t n_ent;
    hub_block *blocks; /* comparable blocks, in sort order */
    size_t n_blocks;
    uint32_t max_m;  /* largest comparable block */
    size_t *roff;    /* n + 1: each record's block list in blist */
    uint32_t *blist; /* comparable block numbers, ascending per record */
    size_t n_blist;
    size_t total_work; /* sum over comparable blocks of m (m - 1) / 2 */
} hub_index;

static bool same_block(const hub_entry *x, const hub_entry *y)
{
    return x->key == y->key && x->rule == y->rule;
}

/*
 * Walk the blocks once: count keys and oversized blocks per rule, mark repeated records,
 * count comparable blocks and each record's share of them.
 */
static void scan_blocks(hub_index *ix,
                        const rp_link_opts *o,
                        size_t *rcount,
                        rp_block_report *rep,
                        size_t *n_comparable)
{
    size_t nb = 0;
    for (size_t s = 0; s < ix->n_ent;) {
        size_t e = s + 1;
        uint32_t m = 1;
        while (e < ix->n_ent && same_block(&ix->ent[e], &ix->ent[s])) {
            /* records ascend within a block: a repeat follows its first entry */
            ix->ent[e].dup = ix->ent[e].rec == ix->ent[e - 1].rec;
            m += !ix->ent[e].dup;
            e++;
        }
        unsigned r = ix->ent[s].rule;
        rep->rule[r].keys++;
        if (o->max_block && m > o->max_block) {
            rep->rule[r].oversized++;
            rep->rule[r].oversized_recs += m;
        } else if (m >= 2) {
            nb++;
            for (size_t k = s; k < e; k++)
                rcount[ix->ent[k].rec] += !ix->ent[k].dup;
        }
        s = e;
    }
    *n_comparable = nb;
}

static int
build_blocks(hub_index *ix, size_t n_rec, const rp_link_opts *o, rp_block_report *rep, hub_mem *mem)
{
    int rc = RP_ENOMEM;
    uint16_t *fill = NULL;
    ix->roff = mem_get(mem, n_rec + 1, sizeof *ix->roff);
    if (!ix->roff)
        goto out;
    memset(ix->roff, 0, (n_rec + 1) * sizeof *ix->roff);
    size_t nb = 0;
    scan_blocks(ix, o, ix->roff + 1, rep, &nb);
    for (size_t i = 0; i < n_rec; i++)
        ix->roff[i + 1] += ix->roff[i];
    ix->n_blist = ix->roff[n_rec];
    ix->blist = mem_get(mem, ix->n_blist, sizeof *ix->blist);
    ix->blocks = mem_get(mem, nb, sizeof *ix->blocks);
    fill = mem_get(mem, n_rec, sizeof *fill);
    if (!ix->blist || !ix->blocks || !fill)
        goto out;
    memset(fill, 0, n_rec * sizeof *fill);
    /* second walk: append each comparable block to its records' lists, in order */
    size_t b = 0;
    for (size_t s = 0; s < ix->n_ent;) {
        size_t e = s + 1;
        uint32_t m = 1;
        while (e < ix->n_ent && same_block(&ix->ent[e], &ix->ent[s]))
            m += !ix->ent[e++].dup;
        if (m >= 2 && !(o->max_block && m > o->max_block)) {
            for (size_t k = s; k < e; k++) {
                hub_entry *en = &ix->ent[k];
                if (en->dup)
                    continue;
                en->pos = fill[en->rec]++;
                ix->blist[ix->roff[en->rec] + en->pos] = (uint32_t)b;
            }
            hub_block blk = {s, e - s, m, ix->ent[s].rule};
            ix->blocks[b++] = blk;
            if (m > ix->max_m)
                ix->max_m = m;
            ix->total_work += (size_t)m * (m - 1) / 2;
        }
        s = e;
    }
    ix->n_blocks = b;
    rc = RP_OK;
out:
    mem_put(mem, fill, n_rec, sizeof *fill);
    return rc;
}

/* ==== step 3 and 4: comparing the pairs of a block ==== */

/* Whether the sorted lists a[0..na) and b[0..nb) have an element in common. */
static bool lists_meet(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    size_t x = 0, y = 0;
    while (x < na && y < nb) {
        uint32_t u = a[x];
        uint32_t v = b[y];
        if (u == v)
            return true;
        x += u < v;
        y += v < u;
    }
    return false;
}

typedef struct edge_vec {
    rp_link_edge *v;
    size_t n, cap;
    bool oom;
} edge_vec;

static void edge_push(edge_vec *ev, uint32_t a, uint32_t b, double score)
{
    if (ev->oom)
        return;
    if (ev->n == ev->cap) {
        size_t cap = ev->cap ? 2 * ev->cap : 1024;
        rp_link_edge *v = rp_reallocarray(ev->v, cap, sizeof *v);
        if (!v) {
            ev->oom = true;
            return;
        }
        ev->v = v;
        ev->cap = cap;
    }
    rp_link_edge e = {a < b ? a : b, a < b ? b : a, score};
    ev->v[ev->n++] = e;
}

/* Shared, read-only state of one search. */
typedef struct hub_ctx {
    const rp_link_input *in;
    const rp_link_opts *opts;
    const hub_index *ix;
    const uint32_t *pop;  /* n: popcount of each CLK */
    const uint32_t *need; /* 2 bits + 1 */
    rp_link__and_count_fn and_count;
    const size_t *chunk; /* n_chunks + 1 block boundaries */
    size_t n_chunks;
    atomic_size_t next_chunk;
    atomic_size_t done_work;
    atomic_bool cancel;
    const rp_link__visit *visit; /* NULL: keep the pairs at or above min_score */
    uint64_t sample_below;       /* visit->sample as a bound on a block's hash */
} hub_ctx;

/*
 * One member of the block being compared. @c sig is a 256-bit signature of the blocks
 * before this one in the record's list (bit (b * GOLDEN) >> 56 for block b): two records
 * whose signatures share no bit share no earlier block, which settles most pairs
 * without the merge of their lists; a shared bit falls back to the exact merge.
 */
#define SIG_WORDS 4

typedef struct member {
    uint32_t rec;
    uint32_t pop;
    uint16_t list;
    uint16_t pos;
    const uint64_t *clk;
    const uint32_t *blist;
    uint64_t sig[SIG_WORDS];
} member;

static void prefix_signature(uint64_t *sig, const uint32_t *l, size_t n)
{
    for (size_t w = 0; w < SIG_WORDS; w++)
        sig[w] = 0;
    for (size_t k = 0; k < n; k++) {
        unsigned h = (unsigned)(((uint64_t)l[k] * 0x9e3779b97f4a7c15ull) >> 56);
        sig[h >> 6] |= 1ull << (h & 63u);
    }
}

/* Whether the two members met in an earlier comparable block. */
static bool met_before(const member *x, const member *y)
{
    if (!x->pos || !y->pos)
        return false;
    uint64_t any = 0;
    for (size_t w = 0; w < SIG_WORDS; w++)
        any |= x->sig[w] & y->sig[w];
    return any && lists_meet(x->blist, x->pos, y->blist, y->pos);
}

typedef struct hub_job {
    hub_ctx *ctx;
    unsigned thread; /* 0 = the calling thread */
    member *mem;     /* max_m */
    edge_vec out;
    size_t pairs[RP_LINK_MAX_RULES];
    size_t first[RP_LINK_MAX_RULES];
} hub_job;

/* A pair for the caller's visitor: its Dice, or -1 below min_score (popcount bound). */
static void
visit_pair(hub_job *job, const member *x, const member *y, uint32_t need, uint32_t total)
{
    const hub_ctx *c = job->ctx;
    double dice = -1.0;
    if (need <= (x->pop < y->pop ? x->pop : y->pop)) {
        uint64_t both = c->and_count(x->clk, y->clk, c->in->words);
        if (both >= need)
            dice = rp_link__dice_of(both, total);
    }
    double score = 0.0;
    if (c->visit->fn(c->visit->payload, job->thread, x->rec, y->rec, dice, &score))
        edge_push(&job->out, x->rec, y->rec, score);
}

/* Whether block @p blk is in the sample of the visitor (always without one). */
static bool block_sampled(const hub_ctx *c, const hub_block *blk)
{
    if (!c->visit || c->sample_below == UINT64_MAX)
        return true;
    uint64_t h = c->ix->ent[blk->start].key ^ (c->visit->seed + blk->rule);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return (h ^ (h >> 31)) < c->sample_below;
}

static void compare_block(hub_job *job, const hub_block *blk)
{
    const hub_ctx *c = job->ctx;
    const hub_index *ix = c->ix;
    const size_t words = c->in->words;
    const bool within = c->opts->within_list;
    const bool across = c->opts->across_lists;
    size_t m = 0;
    for (size_t k = blk->start; k < blk->start + blk->len; k++) {
        const hub_entry *e = &ix->ent[k];
        if (e->dup)
            continue;
        member *x = &job->mem[m++];
        x->rec = e->rec;
        x->pop = c->pop[e->rec];
        x->list = c->in->list[e->rec];
        x->pos = e->pos;
        x->clk = c->in->clks + (size_t)e->rec * words;
        x->blist = ix->blist + ix->roff[e->rec];
        prefix_signature(x->sig, x->blist, x->pos);
    }
    size_t pairs = 0, first = 0;
    for (size_t i = 0; i < m; i++) {
        const member *x = &job->mem[i];
        for (size_t j = i + 1; j < m; j++) {
            const member *y = &job->mem[j];
            if (x->list == y->list ? !within : !across)
                continue;
            pairs++;
            if (met_before(x, y))
                continue;
            first++;
            uint32_t total = x->pop + y->pop;
            uint32_t need = c->need[total];
            if (c->visit) {
                visit_pair(job, x, y, need, total);
                continue;
            }
            if (need > (x->pop < y->pop ? x->pop : y->pop))
                continue;
            uint64_t both = c->and_count(x->clk, y->clk, words);
            if (both >= need)
                edge_push(&job->out, x->rec, y->rec, rp_link__dice_of(both, total));
        }
    }
    job->pairs[blk->rule] += pairs;
    job->first[blk->rule] += first;
}

/* Take chunks until none is left; the calling thread (@p report) also reports progress. */
static void run_chunks(hub_job *job, bool report)
{
    hub_ctx *c = job->ctx;
    for (;;) {
        if (atomic_load(&c->cancel))
            return;
        size_t k = atomic_fetch_add(&c->next_chunk, 1);
        if (k >= c->n_chunks)
            return;
        size_t work = 0;
        for (size_t b = c->chunk[k]; b < c->chunk[k + 1]; b++) {
            const hub_block *blk = &c->ix->blocks[b];
            if (block_sampled(c, blk))
                compare_block(job, blk);
            work += (size_t)blk->m * (blk->m - 1) / 2;
        }
        size_t done = atomic_fetch_add(&c->done_work, work) + work;
        if (report && c->opts->progress &&
            c->opts->progress(done, c->ix->total_work, c->opts->payload) != 0)
            atomic_store(&c->cancel, true);
    }
}

static void *job_thread(void *arg)
{
    run_chunks(arg, false);
    return NULL;
}

/* Cut the blocks into chunks of about total_work / n_chunks pairs each. */
static size_t make_chunks(size_t *chunk, size_t n_chunks, const hub_index *ix)
{
    size_t per = ix->total_work / n_chunks + 1;
    size_t k = 0, acc = 0;
    chunk[0] = 0;
    for (size_t b = 0; b < ix->n_blocks; b++) {
        acc += (size_t)ix->blocks[b].m * (ix->blocks[b].m - 1) / 2;
        if (acc >= per && k + 1 < n_chunks) {
            chunk[++k] = b + 1;
            acc = 0;
        }
    }
    chunk[++k] = ix->n_blocks;
    return k;
}

static int edge_cmp(const void *x, const void *y)
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

/* ==== the search ==== */

typedef struct hub_run {
    hub_mem mem;
    hub_index ix;
    uint32_t *pop;
    uint32_t *need;
    size_t n_need;
    size_t *chunk;
    size_t n_chunks_alloc;
    hub_job *jobs;
    size_t n_jobs;
} hub_run;

static void run_release(hub_run *r, size_t n_rec)
{
    if (r->jobs) {
        for (size_t t = 0; t < r->n_jobs; t++) {
            rp_free(r->jobs[t].out.v);
            mem_put(&r->mem, r->jobs[t].mem, r->ix.max_m, sizeof(member));
        }
        mem_put(&r->mem, r->jobs, r->n_jobs, sizeof *r->jobs);
    }
    mem_put(&r->mem, r->chunk, r->n_chunks_alloc + 1, sizeof *r->chunk);
    mem_put(&r->mem, r->need, r->n_need, sizeof *r->need);
    mem_put(&r->mem, r->pop, n_rec, sizeof *r->pop);
    mem_put(&r->mem, r->ix.blist, r->ix.n_blist, sizeof *r->ix.blist);
    mem_put(&r->mem, r->ix.blocks, r->ix.n_blocks, sizeof *r->ix.blocks);
    mem_put(&r->mem, r->ix.roff, n_rec + 1, sizeof *r->ix.roff);
    mem_put(&r->mem, r->ix.ent, r->ix.n_ent, sizeof *r->ix.ent);
    memset(&r->ix, 0, sizeof r->ix);
    r->jobs = NULL;
    r->chunk = NULL;
    r->need = NULL;
    r->pop = NULL;
}

/* Start n_jobs - 1 threads, work on the calling thread, join. */
static int run_jobs(hub_run *r, rp_error *err)
{
    pthread_t *tid = NULL;
    size_t started = 0;
    int rc = RP_OK;
    hub_ctx *c = r->jobs[0].ctx;
    /* progress from the calling thread: at the start, between its chunks, at the end */
    if (c->opts->progress && c->opts->progress(0, c->ix->total_work, c->opts->payload) != 0) {
        atomic_store(&c->cancel, true);
        return RP_OK;
    }
    if (r->n_jobs > 1) {
        tid = rp_calloc(r->n_jobs, sizeof *tid);
        if (!tid)
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        for (size_t t = 1; t < r->n_jobs; t++) {
            if (pthread_create(&tid[t], NULL, job_thread, &r->jobs[t]) != 0) {
                rc = rp_error_set(err, RP_EINTERNAL, "could not start a linkage thread");
                atomic_store(&c->cancel, true);
                break;
            }
            started = t;
        }
    }
    if (rc == RP_OK)
        run_chunks(&r->jobs[0], true);
    for (size_t t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    rp_free(tid);
    if (rc == RP_OK && !atomic_load(&c->cancel) && c->opts->progress &&
        c->opts->progress(atomic_load(&c->done_work), c->ix->total_work, c->opts->payload) != 0)
        atomic_store(&c->cancel, true);
    return rc;
}

/* Concatenate the jobs' edges and sort them; fill the pair counts of the report. */
static int
gather(hub_run *r, rp_link_edge **out, size_t *n_out, rp_block_report *rep, rp_error *err)
{
    size_t total = 0;
    for (size_t t = 0; t < r->n_jobs; t++) {
        if (r->jobs[t].out.oom)
            return rp_error_set(err, RP_ENOMEM, "out of memory for candidate pairs");
        total += r->jobs[t].out.n;
        for (unsigned k = 0; k < RP_LINK_MAX_RULES; k++) {
            rep->rule[k].pairs += r->jobs[t].pairs[k];
            rep->rule[k].first_pairs += r->jobs[t].first[k];
            rep->candidates += r->jobs[t].first[k];
        }
    }
    size_t held = 0;
    for (size_t t = 0; t < r->n_jobs; t++)
        held += r->jobs[t].out.cap * sizeof(rp_link_edge);
    if (r->mem.now + held > r->mem.peak)
        r->mem.peak = r->mem.now + held;
    if (total == 0)
        return RP_OK;
    rp_link_edge *v = NULL;
    if (r->n_jobs == 1 || total == r->jobs[0].out.n) {
        v = r->jobs[0].out.v;
        r->jobs[0].out.v = NULL;
    } else {
        v = rp_reallocarray(NULL, total, sizeof *v);
        if (!v)
            return rp_error_set(err, RP_ENOMEM, "out of memory for candidate pairs");
        if (r->mem.now + held + total * sizeof *v > r->mem.peak)
            r->mem.peak = r->mem.now + held + total * sizeof *v;
        size_t at = 0;
        for (size_t t = 0; t < r->n_jobs; t++) {
            if (r->jobs[t].out.n)
                memcpy(v + at, r->jobs[t].out.v, r->jobs[t].out.n * sizeof *v);
            at += r->jobs[t].out.n;
        }
    }
    qsort(v, total, sizeof *v, edge_cmp);
    *out = v;
    *n_out = total;
    rep->kept = total;
    return RP_OK;
}

static int prepare(hub_run *r, const rp_link_input *in, const rp_link_opts *o, rp_error *err)
{
    unsigned rules = o->rules ? o->rules : (1u << RP_LINK_MAX_RULES) - 1u;
    if (build_index(&r->ix.ent, &r->ix.n_ent, in, rules, &r->mem) != RP_OK)
        return rp_error_set(err, RP_ENOMEM, "out of memory for the blocking index");
    return RP_OK;
}

static int setup_jobs(hub_run *r, const rp_link_input *in, const rp_link_opts *o, hub_ctx *ctx)
{
    size_t bits = in->words * 64;
    r->pop = mem_get(&r->mem, in->n, sizeof *r->pop);
    r->n_need = 2 * bits + 1;
    r->need = mem_get(&r->mem, r->n_need, sizeof *r->need);
    r->n_jobs = o->threads > 1 ? o->threads : 1;
    r->n_chunks_alloc = r->n_jobs * CHUNKS_PER_THREAD;
    r->chunk = mem_get(&r->mem, r->n_chunks_alloc + 1, sizeof *r->chunk);
    r->jobs = mem_get(&r->mem, r->n_jobs, sizeof *r->jobs);
    if (!r->pop || !r->need || !r->chunk || !r->jobs)
        return RP_ENOMEM;
    memset(r->jobs, 0, r->n_jobs * sizeof *r->jobs);
    for (size_t t = 0; t < r->n_jobs; t++) {
        r->jobs[t].ctx = ctx;
        r->jobs[t].thread = (unsigned)t;
        r->jobs[t].mem = mem_get(&r->mem, r->ix.max_m, sizeof(member));
        if (!r->jobs[t].mem)
            return RP_ENOMEM;
    }
    for (size_t i = 0; i < in->n; i++)
        r->pop[i] = rp_link__popcount(in->clks + i * in->words, in->words);
    rp_link__need_table(r->need, bits, o->min_score);
    ctx->pop = r->pop;
    ctx->need = r->need;
    ctx->and_count = rp_link__and_count_kernel(in->words);
    ctx->chunk = r->chunk;
    ctx->n_chunks = make_chunks(r->chunk, r->n_chunks_alloc, &r->ix);
    return RP_OK;
}

/* ==== every allowed pair, without blocking ==== */

/* Pairs the list filters allow among records of @p n_of_list lists (at most
 * RP_LINK_EXHAUSTIVE_RECORDS records in all, so no product overflows). */
static size_t allowed_pairs(const size_t *n_of_list, size_t n_lists, const rp_link_opts *o)
{
    size_t total = 0, seen = 0;
    for (size_t l = 0; l < n_lists; l++) {
        size_t m = n_of_list[l];
        if (o->within_list && m > 1)
            total += m * (m - 1) / 2;
        if (o->across_lists)
            total += seen * m;
        seen += m;
    }
    return total;
}

typedef struct exh_list {
    uint32_t *rec;  /* records of the list, ascending */
    uint64_t *clks; /* their filters, contiguous */
    size_t n;
} exh_list;

/* Append the pairs of lists @p x and @p y (x == y: within one list, a < b) as edges. */
static int exh_pairs(edge_vec *ev,
                     const exh_list *x,
                     const exh_list *y,
                     const rp_link_input *in,
                     const rp_link_opts *o,
                     hub_mem *mem,
                     rp_error *err)
{
    rp_link_pair *p = NULL;
    size_t np = 0;
    int rc = rp_link_dice_pairs(x->clks, x->n, y->clks, y->n, in->words, o->min_score, o->threads,
                                0, &p, &np, err);
    if (rc != RP_OK)
        return rc;
    if (mem->now + np * sizeof *p + ev->cap * sizeof(rp_link_edge) > mem->peak)
        mem->peak = mem->now + np * sizeof *p + ev->cap * sizeof(rp_link_edge);
    for (size_t k = 0; k < np && !ev->oom; k++) {
        uint32_t a = x->rec[p[k].a], b = y->rec[p[k].b];
        if (x == y && p[k].a >= p[k].b)
            continue;
        edge_push(ev, a < b ? a : b, a < b ? b : a, p[k].dice);
    }
    rp_free(p);
    return ev->oom ? rp_error_set(err, RP_ENOMEM, "out of memory for candidate pairs") : RP_OK;
}

static void
exh_lists_free(exh_list *lists, const size_t *n_of, size_t n_lists, size_t words, hub_mem *mem)
{
    for (size_t l = 0; lists && l < n_lists; l++) {
        mem_put(mem, lists[l].clks, n_of[l] * words, sizeof *lists[l].clks);
        mem_put(mem, lists[l].rec, n_of[l], sizeof *lists[l].rec);
    }
    mem_put(mem, lists, n_lists, sizeof *lists);
}

/* The records of each list (n_of[l] of list l) with their filters copied together; NULL
 * when out of memory. */
static exh_list *
exh_lists(const rp_link_input *in, const size_t *n_of, size_t n_lists, hub_mem *mem)
{
    exh_list *lists = mem_get(mem, n_lists, sizeof *lists);
    if (!lists)
        return NULL;
    memset(lists, 0, n_lists * sizeof *lists);
    for (size_t l = 0; l < n_lists; l++) {
        lists[l].rec = mem_get(mem, n_of[l], sizeof *lists[l].rec);
        lists[l].clks = mem_get(mem, n_of[l] * in->words, sizeof *lists[l].clks);
        if (!lists[l].rec || !lists[l].clks) {
            exh_lists_free(lists, n_of, n_lists, in->words, mem);
            return NULL;
        }
    }
    for (size_t i = 0; i < in->n; i++) {
        exh_list *L = &lists[in->list[i]];
        L->rec[L->n] = (uint32_t)i;
        memcpy(L->clks + L->n * in->words, in->clks + i * in->words, in->words * sizeof *in->clks);
        L->n++;
    }
    return lists;
}

/* Every allowed pair of lists through exh_pairs(), with progress over @p all pairs. */
static int exh_run(edge_vec *ev,
                   const exh_list *lists,
                   size_t n_lists,
                   size_t all,
                   const rp_link_input *in,
                   const rp_link_opts *o,
                   hub_mem *mem,
                   rp_error *err)
{
    if (o->progress && o->progress(0, all, o->payload) != 0)
        return rp_error_set(err, RP_ECANCELED, "linkage cancelled");
    size_t done = 0;
    for (size_t x = 0; x < n_lists; x++) {
        for (size_t y = x; y < n_lists; y++) {
            if ((x == y ? !o->within_list : !o->across_lists) || !lists[x].n || !lists[y].n)
                continue;
            int rc = exh_pairs(ev, &lists[x], &lists[y], in, o, mem, err);
            if (rc != RP_OK)
                return rc;
            done += x == y ? lists[x].n * (lists[x].n - 1) / 2 : lists[x].n * lists[y].n;
            if (o->progress && o->progress(done, all, o->payload) != 0)
                return rp_error_set(err, RP_ECANCELED, "linkage cancelled");
        }
    }
    return RP_OK;
}

/*
 * rp_link_candidates() when every allowed pair is to be compared: the records of each
 * list copied together, rp_link_dice_pairs() on each allowed pair of lists (within one
 * list it compares every ordered pair, twice the work, and keeps a < b), edges sorted as
 * the blocked search sorts them. Returns 1 when the input is too large for it (nothing
 * done), else RP_OK or an error.
 */
static int exhaustive(const rp_link_input *in,
                      const rp_link_opts *o,
                      rp_link_edge **out,
                      size_t *n_out,
                      rp_block_report *rep,
                      hub_mem *mem,
                      rp_error *err)
{
    if (o->exhaustive_max == 0 || in->n > RP_LINK_EXHAUSTIVE_RECORDS || in->n < 2)
        return 1;
    size_t n_lists = 0;
    for (size_t i = 0; i < in->n; i++)
        n_lists = in->list[i] + 1u > n_lists ? in->list[i] + 1u : n_lists;
    size_t *n_of = mem_get(mem, n_lists, sizeof *n_of);
    if (!n_of)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    memset(n_of, 0, n_lists * sizeof *n_of);
    for (size_t i = 0; i < in->n; i++)
        n_of[in->list[i]]++;
    size_t all = allowed_pairs(n_of, n_lists, o);
    if (all > o->exhaustive_max) {
        mem_put(mem, n_of, n_lists, sizeof *n_of);
        return 1;
    }
    edge_vec ev = {0};
    int rc = RP_OK;
    exh_list *lists = exh_lists(in, n_of, n_lists, mem);
    if (!lists)
        rc = rp_error_set(err, RP_ENOMEM, "out of memory for the filters");
    else
        rc = exh_run(&ev, lists, n_lists, all, in, o, mem, err);
    if (rc == RP_OK) {
        if (ev.n)
            qsort(ev.v, ev.n, sizeof *ev.v, edge_cmp);
        *out = ev.v;
        *n_out = ev.n;
        ev.v = NULL;
        rep->exhaustive = true;
        rep->candidates = all;
        rep->kept = *n_out;
    }
    rp_free(ev.v);
    exh_lists_free(lists, n_of, n_lists, in->words, mem);
    mem_put(mem, n_of, n_lists, sizeof *n_of);
    return rc;
}

int rp_link_candidates(const rp_link_input *in,
                       const rp_link_opts *opts,
                       rp_link_edge **out,
                       size_t *n_out,
                       rp_block_report *report,
                       rp_error *err)
{
    return rp_link__candidates_visit(in, opts, NULL, out, n_out, report, err);
}

int rp_link__candidates_visit(const rp_link_input *in,
                              const rp_link_opts *opts,
                              const rp_link__visit *visit,
                              rp_link_edge **out,
                              size_t *n_out,
                              rp_block_report *report,
                              rp_error *err)
{
    const rp_link_opts defaults = RP_LINK_OPTS_INIT;
    const rp_link_opts *o = opts ? opts : &defaults;
    if (!in || !out || !n_out)
        return rp_error_set(err, RP_EINVAL, "missing input or output");
    *out = NULL;
    *n_out = 0;
    int rc = rp_link__check_input(in, o, err);
    if (rc != RP_OK)
        return rc;
    if (visit && (!visit->fn || !(visit->sample > 0.0 && visit->sample <= 1.0)))
        return rp_error_set(err, RP_EINVAL, "bad pair visitor");
    double t0 = now_seconds();
    rp_block_report rep;
    memset(&rep, 0, sizeof rep);
    hub_run r;
    memset(&r, 0, sizeof r);
    hub_ctx ctx = {.in = in, .opts = o, .ix = &r.ix, .visit = visit, .sample_below = UINT64_MAX};
    if (visit && visit->sample < 1.0)
        ctx.sample_below = (uint64_t)(visit->sample * 0x1p64);
    atomic_init(&ctx.next_chunk, 0);
    atomic_init(&ctx.done_work, 0);
    atomic_init(&ctx.cancel, false);

    if (!visit) {
        rc = exhaustive(in, o, out, n_out, &rep, &r.mem, err);
        if (rc != 1)
            goto out;
    }
    rc = prepare(&r, in, o, err);
    if (rc != RP_OK)
        goto out;
    if (build_blocks(&r.ix, in->n, o, &rep, &r.mem) != RP_OK) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory for the blocks");
        goto out;
    }
    if (setup_jobs(&r, in, o, &ctx) != RP_OK) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rc = run_jobs(&r, err);
    if (rc == RP_OK && atomic_load(&ctx.cancel))
        rc = rp_error_set(err, RP_ECANCELED, "linkage cancelled");
    if (rc == RP_OK)
        rc = gather(&r, out, n_out, &rep, err);
out:
    rep.peak_bytes = r.mem.peak;
    run_release(&r, in->n);
    rep.seconds = now_seconds() - t0;
    if (report)
        *report = rep;
    return rc;
}
