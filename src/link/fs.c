/*
 * Clear-text linkage driver (include/rapporteur/fs.h: rp_fs_link): u from random pairs,
 * two streamed blocking passes, EM on the pattern table in between.
 *
 * Blocking. Each rule gives each record one 64-bit key (a hash of its transformed parts;
 * 0 when a part is missing). A pass takes the rules in order; for rule r it sorts the
 * (key, record) pairs and walks each block of equal keys. A pair of a block is emitted
 * only if no earlier rule r' < r gives both records the same key: r' generated it
 * already. So the union of the rules is enumerated with each pair once, from the keys
 * alone, without a set of pairs (the price: a 2^-64 chance per pair that a hash
 * collision of an earlier rule hides it). Blocks above max_block records are skipped
 * and reported; their records lose that rule's key, so a later rule may still pair them.
 *
 * Pass 1 compares every candidate and counts its comparison pattern in a hash table;
 * EM then runs on that table (fs_em.c). Pass 2 regenerates the same pairs, scores them
 * with the fitted weights plus the term-frequency adjustments, and keeps those above
 * keep_weight. Memory: the keys (8 bytes per record and rule), one sort buffer (16 bytes
 * per record), term frequencies (8 bytes per record and TF comparison), the pattern
 * table, and the kept edges; never a list of all candidate pairs.
 *
 * Threads. The random pairs for u come in chunks of U_CHUNK pairs, each drawn from its
 * own seed (the options' seed and the chunk number), and the blocks of a rule in chunks
 * of about equal work; threads take chunks from an atomic counter, each into its own
 * counts, pattern table and edges. Counts are whole numbers (exact in a double at any
 * order), EM sees the patterns sorted by code, and the kept edges are sorted by
 * (weight, a, b), so the result does not depend on the thread count. Keys of oversized
 * blocks are cleared on the calling thread before a rule's blocks are handed out.
 */
#include "link/fs_int.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/fs.h>
#include <rapporteur/link.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/common_int.h"
/* clang-format on */

#define KEY_TEXT_MAX    1024 /* bytes of one rule's key text before hashing */
#define U_MAX_ATTEMPTS  50   /* random draws per wanted pair before giving up */
#define M_INIT_DECAY    0.25 /* starting m of level l+1 relative to level l */
#define LAMBDA_INIT_MAX 0.5
#define RULE_SHIFT      48    /* bits of the rule in a training key: 12 comparisons x 4 */
#define U_CHUNK         65536 /* random pairs for u per chunk (one seed each) */
#define CHUNKS_PER_JOB  8     /* chunks per thread of a rule's blocks, for balance */
#define MAX_THREADS     256

typedef struct entry {
    uint64_t key;
    uint32_t rec;
} entry;

/* A pattern table: open addressing; code 0 is a valid pattern, so slots keep a flag. */
typedef struct ptab {
    uint64_t *code; /* masked pattern | rule << RULE_SHIFT */
    double *count;  /* pairs of the rule (training) */
    double *first;  /* of them, pairs the rule generated first */
    bool *used;
    size_t cap, n;
} ptab;

/* Counts of u: pairs by level of each comparison. */
typedef struct ucount {
    double cnt[RP_FS_MAX_COMPARISONS][RP_FS_MAX_LEVELS];
    size_t pairs;
} ucount;

struct ctx;

/* What one thread gathers: its counts, pattern table, kept edges. */
typedef struct worker {
    struct ctx *c;
    ptab pt;
    ucount u;
    rp_link_edge *edges;
    size_t n_edges, cap_edges;
    size_t pairs[RP_FS_MAX_RULES], first[RP_FS_MAX_RULES], true_pairs[RP_FS_MAX_RULES];
    size_t candidates, true_candidates;
    double det_pairs;
    bool oom;
} worker;

/* A chunk handler: chunk @p k of the current phase, into @p w. */
typedef void (*chunk_fn)(worker *w, size_t k);

typedef struct ctx {
    const rp_fs_spec *spec;
    const rp_fs_data *data;
    const uint64_t *truth;
    rp_fs_opts o;
    rp_fs_result *res;
    rp_error *err;
    size_t colmap[2 * RP_FS_MAX_COMPARISONS + RP_FS_MAX_RULES * RP_FS_MAX_RULE_PART];
    uint64_t *keys; /* n_rules * n */
    double *tf;     /* n_comp * n: frequency of the record's value (TF comparisons) */
    entry *idx;
    /* code points of every (record, spec column), decoded once */
    size_t n_cols;
    uint32_t *cp_pool;
    size_t *cp_off;
    uint8_t *cp_len;
    ptab pt;                             /* pass 1's patterns, merged over the workers */
    uint64_t rule_mask[RP_FS_MAX_RULES]; /* levels kept in the rule's training session */
    double det_pairs;                    /* candidates agreeing exactly on prior.agree */
    /* pass 2 */
    int pass;
    double w[RP_FS_MAX_COMPARISONS][RP_FS_MAX_LEVELS];
    double base;
    size_t bytes;
    /* threads: the workers, and the chunks of the phase being run */
    worker *wk;
    size_t n_workers;
    size_t rule;          /* the rule whose blocks are compared */
    size_t *blk;          /* 2 per block: start and end in idx */
    size_t n_blk;         /* blocks of the rule */
    size_t *chunk;        /* n_chunks + 1: block (or u chunk) boundaries */
    size_t n_chunks;      /* of the phase */
    size_t u_quota;       /* random pairs for u wanted in all (0: every pair) */
    size_t progress_base; /* progress steps of the phases before this one */
    size_t progress_total;
    chunk_fn fn;
    atomic_size_t next_chunk;
    atomic_size_t done_chunks;
    atomic_bool cancel;
} ctx;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *val(const ctx *c, size_t i, unsigned col)
{
    const char *v = c->data->values[i * c->data->n_columns + c->colmap[col]];
    return v ? v : "";
}

static rp_fs__value value_at(const ctx *c, size_t i, unsigned col)
{
    size_t at = i * c->n_cols + col;
    return (rp_fs__value){val(c, i, col), c->cp_pool + c->cp_off[at], c->cp_len[at]};
}

static uint16_t list_of(const ctx *c, size_t i)
{
    return c->data->list ? c->data->list[i] : 0;
}

static bool pair_allowed(const ctx *c, size_t a, size_t b)
{
    bool same = list_of(c, a) == list_of(c, b);
    return same ? c->o.within_list : c->o.across_lists;
}

/* ==== set-up ==== */

static int bind_columns(ctx *c)
{
    const char *const *names = NULL;
    size_t n = rp_fs_spec_columns(c->spec, &names);
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < c->data->n_columns && strcmp(c->data->columns[j], names[i]) != 0)
            j++;
        if (j == c->data->n_columns)
            return rp_error_set(c->err, RP_EINVAL, "the spec's column '%s' is not in the data",
                                names[i]);
        c->colmap[i] = j;
    }
    return RP_OK;
}

/* Decode every value of the spec's columns once (the comparators work on code points). */
static int decode_all(ctx *c)
{
    size_t n = c->data->n, total = 0;
    c->n_cols = c->spec->n_columns;
    size_t cells = n * c->n_cols;
    c->cp_off = rp_reallocarray(NULL, cells ? cells : 1, sizeof *c->cp_off);
    c->cp_len = rp_reallocarray(NULL, cells ? cells : 1, sizeof *c->cp_len);
    if (c->cp_off == NULL || c->cp_len == NULL)
        return rp_error_set(c->err, RP_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        for (unsigned col = 0; col < c->n_cols; col++) {
            size_t len = strlen(val(c, i, col)); /* code points <= bytes */
            c->cp_off[i * c->n_cols + col] = total;
            total += len < RP_FS_MAX_CHARS ? len : RP_FS_MAX_CHARS;
        }
    }
    c->cp_pool = rp_reallocarray(NULL, total ? total : 1, sizeof *c->cp_pool);
    if (c->cp_pool == NULL)
        return rp_error_set(c->err, RP_ENOMEM, "out of memory");
    c->bytes += total * sizeof *c->cp_pool + cells * (sizeof *c->cp_off + sizeof *c->cp_len);
    for (size_t i = 0; i < n; i++) {
        for (unsigned col = 0; col < c->n_cols; col++) {
            size_t at = i * c->n_cols + col;
            c->cp_len[at] =
                (uint8_t)rp_fs__decode(val(c, i, col), c->cp_pool + c->cp_off[at], RP_FS_MAX_CHARS);
        }
    }
    return RP_OK;
}

static uint64_t rule_key(const ctx *c, const rp_fs__rule *r, size_t i)
{
    char text[KEY_TEXT_MAX];
    size_t len = 0;
    for (size_t p = 0; p < r->n_parts; p++) {
        char part[256];
        size_t pl = rp_fs__transform(&r->part[p], val(c, i, r->part[p].col), part, sizeof part);
        if (pl == 0 || len + pl + 1 > sizeof text)
            return 0;
        memcpy(text + len, part, pl);
        len += pl;
        text[len++] = '\x1f';
    }
    return rp_x_hash64(0x9e3779b97f4a7c15ull, text, len);
}

static int make_keys(ctx *c)
{
    size_t n = c->data->n, nr = c->spec->n_rules;
    c->keys = rp_reallocarray(NULL, n * nr > 0 ? n * nr : 1, sizeof *c->keys);
    c->idx = rp_reallocarray(NULL, n > 0 ? n : 1, sizeof *c->idx);
    if (c->keys == NULL || c->idx == NULL)
        return rp_error_set(c->err, RP_ENOMEM, "out of memory");
    c->bytes += n * nr * sizeof *c->keys + n * sizeof *c->idx;
    for (size_t r = 0; r < nr; r++)
        for (size_t i = 0; i < n; i++)
            c->keys[r * n + i] = rule_key(c, &c->spec->rule[r], i);
    return RP_OK;
}

/* Value frequencies of the TF comparisons: a hash table of first records and counts. */
static int tf_column(ctx *c, size_t k, uint32_t *slot, uint32_t *count, size_t cap)
{
    size_t n = c->data->n;
    unsigned col = c->spec->comp[k].col;
    size_t nonmissing = 0;
    memset(slot, 0xff, cap * sizeof *slot);
    for (size_t i = 0; i < n; i++) {
        const char *v = val(c, i, col);
        if (v[0] == '\0')
            continue;
        nonmissing++;
        size_t h = (size_t)rp_x_hash64(k, v, strlen(v)) & (cap - 1);
        while (slot[h] != UINT32_MAX && strcmp(val(c, slot[h], col), v) != 0)
            h = (h + 1) & (cap - 1);
        if (slot[h] == UINT32_MAX) {
            slot[h] = (uint32_t)i;
            count[h] = 0;
        }
        count[h]++;
    }
    double *f = c->tf + k * n;
    for (size_t i = 0; i < n; i++) {
        const char *v = val(c, i, col);
        f[i] = 0;
        if (v[0] == '\0')
            continue;
        size_t h = (size_t)rp_x_hash64(k, v, strlen(v)) & (cap - 1);
        while (strcmp(val(c, slot[h], col), v) != 0)
            h = (h + 1) & (cap - 1);
        f[i] = (double)count[h] / (double)nonmissing;
    }
    return RP_OK;
}

static int make_tf(ctx *c)
{
    size_t n = c->data->n, cap = 16;
    bool any = false;
    for (size_t k = 0; k < c->spec->n_comp; k++)
        any = any || c->spec->comp[k].tf;
    if (!any || n == 0)
        return RP_OK;
    while (cap < 2 * n)
        cap *= 2;
    c->tf = rp_reallocarray(NULL, n * c->spec->n_comp, sizeof *c->tf);
    uint32_t *slot = rp_reallocarray(NULL, cap, sizeof *slot);
    uint32_t *count = rp_reallocarray(NULL, cap, sizeof *count);
    int rc = RP_OK;
    if (c->tf == NULL || slot == NULL || count == NULL) {
        rc = rp_error_set(c->err, RP_ENOMEM, "out of memory");
        goto out;
    }
    c->bytes += n * c->spec->n_comp * sizeof *c->tf;
    for (size_t k = 0; k < c->spec->n_comp && rc == RP_OK; k++)
        if (c->spec->comp[k].tf)
            rc = tf_column(c, k, slot, count, cap);
out:
    rp_free(slot);
    rp_free(count);
    return rc;
}

/* ==== comparison patterns ==== */

static uint64_t pattern(const ctx *c, size_t a, size_t b)
{
    uint64_t code = 0;
    for (size_t k = 0; k < c->spec->n_comp; k++) {
        const rp_fs__comparison *cmp = &c->spec->comp[k];
        const char *ra = NULL, *rb = NULL;
        if (cmp->rev_col >= 0) {
            ra = val(c, a, (unsigned)cmp->rev_col);
            rb = val(c, b, (unsigned)cmp->rev_col);
        }
        rp_fs__value va = value_at(c, a, cmp->col), vb = value_at(c, b, cmp->col);
        unsigned l = rp_fs__level_v(cmp, &va, &vb, ra, rb);
        code |= (uint64_t)l << (4u * k);
    }
    return code;
}

static void pt_free(ptab *t)
{
    rp_free(t->code);
    rp_free(t->count);
    rp_free(t->first);
    rp_free(t->used);
    memset(t, 0, sizeof *t);
}

static int pt_grow(ptab *t)
{
    size_t cap = t->cap ? 2 * t->cap : 1024;
    ptab g = {rp_calloc(cap, sizeof(uint64_t)),
              rp_calloc(cap, sizeof(double)),
              rp_calloc(cap, sizeof(double)),
              rp_calloc(cap, sizeof(bool)),
              cap,
              t->n};
    if (g.code == NULL || g.count == NULL || g.first == NULL || g.used == NULL) {
        pt_free(&g);
        return RP_ENOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->used[i])
            continue;
        size_t h = (size_t)rp_x_hash64(1, &t->code[i], sizeof(uint64_t)) & (cap - 1);
        while (g.used[h])
            h = (h + 1) & (cap - 1);
        g.used[h] = true;
        g.code[h] = t->code[i];
        g.count[h] = t->count[i];
        g.first[h] = t->first[i];
    }
    pt_free(t);
    *t = g;
    return RP_OK;
}

/* Add @p count pairs of pattern @p code, @p first of them generated first. */
static int pt_add(ptab *t, uint64_t code, double count, double first)
{
    if (2 * (t->n + 1) > t->cap && pt_grow(t) != RP_OK)
        return RP_ENOMEM;
    size_t h = (size_t)rp_x_hash64(1, &code, sizeof code) & (t->cap - 1);
    while (t->used[h] && t->code[h] != code)
        h = (h + 1) & (t->cap - 1);
    if (!t->used[h]) {
        t->used[h] = true;
        t->code[h] = code;
        t->n++;
    }
    t->count[h] += count;
    t->first[h] += first;
    return RP_OK;
}

/* Pass 2: the match weight of a pair with its term-frequency adjustments. */
static double pair_weight(const ctx *c, uint64_t code, size_t a)
{
    double w = c->base;
    for (size_t k = 0; k < c->spec->n_comp; k++) {
        unsigned l = RP_FS_LEVEL(code, k);
        w += c->w[k][l];
        if (l == 1 && c->spec->comp[k].tf && c->tf != NULL)
            w +=
                rp_fs_tf_adjustment(c->res->params.u[k][1], c->tf[k * c->data->n + a], c->o.tf_min);
    }
    return w;
}

static int keep_edge(worker *w, size_t a, size_t b, double weight)
{
    if (w->n_edges == w->cap_edges &&
        rp_x_grow(&w->edges, &w->cap_edges, w->n_edges + 1, sizeof *w->edges) != RP_OK)
        return RP_ENOMEM;
    w->edges[w->n_edges++] = (rp_link_edge){(uint32_t)a, (uint32_t)b, weight};
    return RP_OK;
}

/*
 * Pass 1: the pair enters the training session of every rule that generates it (its
 * first rule r and any later rule whose key the two records share), with the levels of
 * that rule's own columns set to null: within a rule's pairs, agreement on the blocked
 * columns is given, not evidence (Splink trains m by EM per blocking rule this way).
 */
static int train_add(worker *w, size_t r, size_t a, size_t b, uint64_t code)
{
    const ctx *c = w->c;
    size_t n = c->data->n;
    const rp_fs_spec *s = c->spec;
    if (s->prior_agree != 0) {
        bool all = true;
        for (size_t k = 0; k < s->n_comp; k++)
            if ((s->prior_agree >> k) & 1u)
                all = all && RP_FS_LEVEL(code, k) == 1;
        w->det_pairs += all ? 1.0 : 0.0;
    }
    for (size_t q = r; q < s->n_rules; q++) {
        uint64_t ka = c->keys[q * n + a];
        if (q != r && (ka == 0 || ka != c->keys[q * n + b]))
            continue;
        int rc = pt_add(&w->pt, (code & c->rule_mask[q]) | ((uint64_t)q << RULE_SHIFT), 1.0,
                        q == r ? 1.0 : 0.0);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

static int emit(worker *w, size_t r, size_t a, size_t b)
{
    const ctx *c = w->c;
    uint64_t code = pattern(c, a, b);
    if (c->pass == 1) {
        w->candidates++;
        w->first[r]++;
        if (c->truth != NULL && c->truth[a] == c->truth[b]) {
            w->true_pairs[r]++;
            w->true_candidates++;
        }
        return train_add(w, r, a, b, code);
    }
    double weight = pair_weight(c, code, a);
    return weight >= c->o.keep_weight ? keep_edge(w, a, b, weight) : RP_OK;
}

/* ==== blocking passes ==== */

static int cmp_entry(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->rec > b->rec) - (a->rec < b->rec);
}

static bool seen_before(const ctx *c, size_t r, size_t a, size_t b)
{
    size_t n = c->data->n;
    for (size_t q = 0; q < r; q++) {
        uint64_t ka = c->keys[q * n + a];
        if (ka != 0 && ka == c->keys[q * n + b])
            return true;
    }
    return false;
}

static int block_pairs(worker *w, size_t r, size_t s, size_t e)
{
    const ctx *c = w->c;
    for (size_t i = s; i < e; i++) {
        for (size_t j = i + 1; j < e; j++) {
            size_t a = c->idx[i].rec, b = c->idx[j].rec;
            if (!pair_allowed(c, a, b))
                continue;
            if (c->pass == 1)
                w->pairs[r]++;
            if (seen_before(c, r, a, b))
                continue;
            int rc = emit(w, r, a, b);
            if (rc != RP_OK)
                return rc;
        }
    }
    return RP_OK;
}

/* ==== threads ==== */

static void set_progress(ctx *c, size_t done_chunks)
{
    if (c->o.progress == NULL || atomic_load(&c->cancel))
        return;
    size_t step = c->n_chunks ? done_chunks * RP_FS_PROGRESS_STEPS / c->n_chunks : 0;
    if (c->o.progress(c->progress_base + step, c->progress_total, c->o.payload) != 0)
        atomic_store(&c->cancel, true);
}

/* Take chunks until none is left; the calling thread (@p report) reports progress. */
static void run_chunks(worker *w, bool report)
{
    ctx *c = w->c;
    for (;;) {
        if (atomic_load(&c->cancel))
            return;
        size_t k = atomic_fetch_add(&c->next_chunk, 1);
        if (k >= c->n_chunks)
            return;
        c->fn(w, k);
        if (w->oom) {
            atomic_store(&c->cancel, true);
            return;
        }
        size_t done = atomic_fetch_add(&c->done_chunks, 1) + 1;
        if (report)
            set_progress(c, done);
    }
}

static void *worker_thread(void *arg)
{
    run_chunks(arg, false);
    return NULL;
}

/* Run chunks 0 .. n_chunks - 1 of c->fn on the workers; RP_ECANCELED when cancelled. */
static int run_phase(ctx *c, chunk_fn fn, size_t n_chunks)
{
    pthread_t tid[MAX_THREADS];
    size_t started = 0;
    int rc = RP_OK;
    c->fn = fn;
    c->n_chunks = n_chunks;
    atomic_store(&c->next_chunk, 0);
    atomic_store(&c->done_chunks, 0);
    set_progress(c, 0);
    size_t jobs = c->n_workers < n_chunks ? c->n_workers : n_chunks;
    for (size_t t = 1; t < jobs; t++) {
        if (pthread_create(&tid[t], NULL, worker_thread, &c->wk[t]) != 0) {
            rc = rp_error_set(c->err, RP_EINTERNAL, "could not start a linkage thread");
            atomic_store(&c->cancel, true);
            break;
        }
        started = t;
    }
    if (rc == RP_OK)
        run_chunks(&c->wk[0], true);
    for (size_t t = 1; t <= started; t++)
        pthread_join(tid[t], NULL);
    for (size_t t = 0; t < c->n_workers && rc == RP_OK; t++) {
        if (c->wk[t].oom)
            rc = rp_error_set(c->err, RP_ENOMEM, "out of memory");
    }
    if (rc == RP_OK)
        set_progress(c, n_chunks);
    if (rc == RP_OK && atomic_load(&c->cancel))
        rc = rp_error_set(c->err, RP_ECANCELED, "linkage cancelled");
    c->progress_base += RP_FS_PROGRESS_STEPS;
    return rc;
}

/* ==== blocking passes ==== */

/* Chunk @p k of the current rule's blocks. */
static void rule_chunk(worker *w, size_t k)
{
    const ctx *c = w->c;
    for (size_t b = c->chunk[k]; b < c->chunk[k + 1] && !w->oom; b++) {
        if (block_pairs(w, c->rule, c->blk[2 * b], c->blk[2 * b + 1]) != RP_OK)
            w->oom = true;
    }
}

/*
 * The blocks of rule @p r (sorted; oversized ones cleared from the keys, on this
 * thread), then the blocks compared on the workers in chunks of about equal work.
 */
static int run_rule(ctx *c, size_t r)
{
    size_t n = c->data->n, m = 0, work = 0;
    uint64_t *keys = c->keys + r * n;
    for (size_t i = 0; i < n; i++)
        if (keys[i] != 0)
            c->idx[m++] = (entry){keys[i], (uint32_t)i};
    qsort(c->idx, m, sizeof *c->idx, cmp_entry);
    c->n_blk = 0;
    for (size_t s = 0, e = 0; s < m; s = e) {
        e = s + 1;
        while (e < m && c->idx[e].key == c->idx[s].key)
            e++;
        if (e - s < 2)
            continue;
        if (c->pass == 1)
            c->res->rule[r].blocks++;
        if (c->o.max_block > 0 && e - s > c->o.max_block) {
            /* skipped: its records lose this key, so later rules may still pair them */
            if (c->pass == 1)
                c->res->rule[r].oversized++;
            for (size_t t = s; t < e; t++)
                keys[c->idx[t].rec] = 0;
            continue;
        }
        c->blk[2 * c->n_blk] = s;
        c->blk[2 * c->n_blk + 1] = e;
        c->n_blk++;
        work += (e - s) * (e - s - 1) / 2;
    }
    /* chunks of about work / (CHUNKS_PER_JOB x workers) pairs */
    size_t want = (c->n_workers > 0 ? c->n_workers : 1) * CHUNKS_PER_JOB;
    size_t per = work / want + 1, k = 0, acc = 0;
    c->chunk[0] = 0;
    for (size_t b = 0; b < c->n_blk; b++) {
        size_t len = c->blk[2 * b + 1] - c->blk[2 * b];
        acc += len * (len - 1) / 2;
        if (acc >= per && k + 1 < want) {
            c->chunk[++k] = b + 1;
            acc = 0;
        }
    }
    if (c->chunk[k] != c->n_blk)
        c->chunk[++k] = c->n_blk;
    c->rule = r;
    return run_phase(c, rule_chunk, k);
}

/* Add the workers' counts of pass 1 into the result and their patterns into c->pt. */
static int gather_pass1(ctx *c)
{
    for (size_t t = 0; t < c->n_workers; t++) {
        worker *w = &c->wk[t];
        for (size_t r = 0; r < c->spec->n_rules; r++) {
            c->res->rule[r].pairs += w->pairs[r];
            c->res->rule[r].first_pairs += w->first[r];
            c->res->rule[r].true_pairs += w->true_pairs[r];
        }
        c->res->candidates += w->candidates;
        c->res->true_candidates += w->true_candidates;
        c->det_pairs += w->det_pairs;
        for (size_t i = 0; i < w->pt.cap; i++) {
            if (w->pt.used[i] && pt_add(&c->pt, w->pt.code[i], w->pt.count[i], w->pt.first[i]))
                return rp_error_set(c->err, RP_ENOMEM, "out of memory");
        }
        c->bytes += w->pt.cap * (sizeof(uint64_t) + 2 * sizeof(double) + sizeof(bool));
        pt_free(&w->pt);
    }
    return RP_OK;
}

/* Concatenate the workers' kept edges of pass 2 into the result. */
static int gather_pass2(ctx *c)
{
    rp_fs_result *res = c->res;
    size_t total = 0;
    for (size_t t = 0; t < c->n_workers; t++)
        total += c->wk[t].n_edges;
    res->edges = rp_reallocarray(NULL, total ? total : 1, sizeof *res->edges);
    if (res->edges == NULL)
        return rp_error_set(c->err, RP_ENOMEM, "out of memory");
    for (size_t t = 0; t < c->n_workers; t++) {
        worker *w = &c->wk[t];
        if (w->n_edges > 0)
            memcpy(res->edges + res->n_edges, w->edges, w->n_edges * sizeof *w->edges);
        res->n_edges += w->n_edges;
        rp_free(w->edges);
        w->edges = NULL;
        w->n_edges = w->cap_edges = 0;
    }
    c->bytes += 2 * total * sizeof *res->edges;
    return RP_OK;
}

static int run_pass(ctx *c, int pass)
{
    c->pass = pass;
    size_t nr = c->spec->n_rules;
    int rc = RP_OK;
    for (size_t r = 0; r < nr && rc == RP_OK; r++)
        rc = run_rule(c, r);
    if (rc == RP_OK)
        rc = pass == 1 ? gather_pass1(c) : gather_pass2(c);
    return rc;
}

/* ==== u from random pairs ==== */

static void u_add(const ctx *c, ucount *u, size_t a, size_t b)
{
    uint64_t code = pattern(c, a, b);
    for (size_t k = 0; k < c->spec->n_comp; k++)
        u->cnt[k][RP_FS_LEVEL(code, k)] += 1.0;
    u->pairs++;
}

/* Chunk @p k of the random pairs: its own seed, its share of the pairs wanted. */
static void u_chunk_random(worker *w, size_t k)
{
    const ctx *c = w->c;
    size_t n = c->data->n;
    size_t quota = c->u_quota - k * U_CHUNK;
    quota = quota < U_CHUNK ? quota : U_CHUNK;
    uint64_t s = c->o.seed ^ (0xd1b54a32d192ed03ull * (uint64_t)(k + 1));
    size_t got = 0, tries = U_MAX_ATTEMPTS * quota;
    for (size_t t = 0; t < tries && got < quota; t++) {
        size_t a = rp_fs__uniform(&s, n), b = rp_fs__uniform(&s, n);
        if (a != b && pair_allowed(c, a, b)) {
            u_add(c, &w->u, a, b);
            got++;
        }
    }
}

/* Chunk @p k of every pair: the first records in [chunk[k], chunk[k + 1]). */
static void u_chunk_all(worker *w, size_t k)
{
    const ctx *c = w->c;
    size_t n = c->data->n;
    for (size_t a = c->chunk[k]; a < c->chunk[k + 1]; a++)
        for (size_t b = a + 1; b < n; b++)
            if (pair_allowed(c, a, b))
                u_add(c, &w->u, a, b);
}

/* The random pairs (or, when few, every pair) counted by level on the workers. */
static int u_sample(ctx *c, ucount *u)
{
    size_t n = c->data->n;
    double all = 0.5 * (double)n * (double)(n - 1);
    int rc = RP_OK;
    if (all <= (double)c->o.u_pairs) {
        /* few records: every pair, exactly; chunks of first records of equal work */
        size_t want = c->n_workers * CHUNKS_PER_JOB, k = 0;
        double per = all / (double)want, acc = 0;
        c->chunk[0] = 0;
        for (size_t a = 0; a < n; a++) {
            acc += (double)(n - 1 - a);
            if (acc >= per && k + 1 < want) {
                c->chunk[++k] = a + 1;
                acc = 0;
            }
        }
        if (c->chunk[k] != n)
            c->chunk[++k] = n;
        rc = run_phase(c, u_chunk_all, k);
    } else {
        c->u_quota = c->o.u_pairs;
        rc = run_phase(c, u_chunk_random, (c->o.u_pairs + U_CHUNK - 1) / U_CHUNK);
    }
    for (size_t t = 0; t < c->n_workers; t++) {
        const ucount *x = &c->wk[t].u;
        for (size_t k = 0; k < c->spec->n_comp; k++)
            for (size_t l = 0; l < RP_FS_MAX_LEVELS; l++)
                u->cnt[k][l] += x->cnt[k][l];
        u->pairs += x->pairs;
    }
    return rc;
}

static int estimate_u(ctx *c, rp_fs_params *p)
{
    ucount *u = rp_calloc(1, sizeof *u);
    if (u == NULL)
        return rp_error_set(c->err, RP_ENOMEM, "out of memory");
    int rc = u_sample(c, u);
    if (rc == RP_OK && u->pairs == 0)
        rc = rp_error_set(c->err, RP_EINVAL,
                          "no pair of records is allowed by the list options (within or across "
                          "lists)");
    for (size_t k = 0; k < c->spec->n_comp && rc == RP_OK; k++) {
        const rp_fs__comparison *cmp = &c->spec->comp[k];
        rp_fs__u_from_counts(p->u[k], u->cnt[k], cmp->n_levels);
        for (unsigned l = 1; cmp->has_u && l < cmp->n_levels; l++)
            p->u[k][l] = cmp->u[l];
    }
    rp_free(u);
    return rc;
}

/* ==== EM set-up ==== */

static void init_params(const ctx *c, rp_fs_params *p)
{
    const rp_fs_spec *s = c->spec;
    p->n_comparisons = s->n_comp;
    for (size_t k = 0; k < s->n_comp; k++) {
        const rp_fs__comparison *cmp = &s->comp[k];
        p->n_levels[k] = cmp->n_levels;
        double x = 1.0, sum = 0;
        for (unsigned l = 1; l < cmp->n_levels; l++) {
            p->m[k][l] = cmp->has_m ? cmp->m[l] : x;
            sum += p->m[k][l];
            x *= M_INIT_DECAY;
        }
        for (unsigned l = 1; l < cmp->n_levels; l++)
            p->m[k][l] /= sum;
        p->m_fixed[k] = cmp->has_m;
        p->u_fixed[k] = true; /* u from random pairs (or the spec), never from EM */
    }
}

/* Levels kept in each rule's training session: all but those of the rule's columns. */
static void make_masks(ctx *c)
{
    const rp_fs_spec *s = c->spec;
    for (size_t r = 0; r < s->n_rules; r++) {
        uint64_t mask = 0;
        for (size_t k = 0; k < s->n_comp; k++) {
            bool blocked = false;
            for (size_t p = 0; p < s->rule[r].n_parts; p++)
                blocked = blocked || s->rule[r].part[p].col == s->comp[k].col;
            if (!blocked)
                mask |= (uint64_t)0xf << (4u * k);
        }
        c->rule_mask[r] = mask;
    }
}

/* Record pairs the list options allow: the denominator of the match rate. */
static double allowed_pairs(const ctx *c)
{
    size_t n = c->data->n;
    double within = 0;
    size_t *per = rp_calloc(65536, sizeof *per);
    if (per == NULL)
        return 0.5 * (double)n * (double)(n - 1);
    for (size_t i = 0; i < n; i++)
        per[list_of(c, i)]++;
    for (size_t l = 0; l < 65536; l++)
        within += 0.5 * (double)per[l] * (double)(per[l] > 0 ? per[l] - 1 : 0);
    rp_free(per);
    double all = 0.5 * (double)n * (double)(n > 0 ? n - 1 : 0);
    return (c->o.within_list ? within : 0.0) + (c->o.across_lists ? all - within : 0.0);
}

/* One rule's session (rp_fs__session), recorded in the result. */
static int
session(ctx *c, size_t r, const rp_fs_patterns *t, const double *first, rp_fs__pool *pool)
{
    return rp_fs__session(&c->res->params, t, first, c->rule_mask[r], &c->o.em, pool,
                          &c->res->session[r], &c->res->session_lambda[r], NULL, c->err);
}

/*
 * Fit m by one EM session per blocking rule (u fixed from random pairs, the rule's own
 * columns null), pool each comparison's m over the sessions that saw it, weighted by
 * their expected matches; then the match rate of two random allowed records: from the
 * spec's prior, or the expected matches among the candidates over all allowed pairs.
 */
/* A pattern of one session: code, pairs, pairs generated first. */
typedef struct pat {
    uint64_t code;
    double count, first;
} pat;

static int cmp_pat(const void *x, const void *y)
{
    const pat *a = x, *b = y;
    return (a->code > b->code) - (a->code < b->code);
}

/*
 * Rule @p r's patterns out of the merged table, sorted by code: EM then sums them in an
 * order that does not depend on the hash table's history (hence on the threads).
 */
static size_t
session_patterns(const ctx *c, size_t r, pat *p, uint64_t *code, double *count, double *first)
{
    size_t n = 0;
    for (size_t i = 0; i < c->pt.cap; i++) {
        if (c->pt.used[i] && (c->pt.code[i] >> RULE_SHIFT) == r)
            p[n++] = (pat){c->pt.code[i] & (((uint64_t)1 << RULE_SHIFT) - 1), c->pt.count[i],
                           c->pt.first[i]};
    }
    qsort(p, n, sizeof *p, cmp_pat);
    for (size_t i = 0; i < n; i++) {
        code[i] = p[i].code;
        count[i] = p[i].count;
        first[i] = p[i].first;
    }
    return n;
}

static int fit(ctx *c)
{
    size_t cap = c->pt.n ? c->pt.n : 1;
    uint64_t *code = rp_reallocarray(NULL, cap, sizeof *code);
    double *count = rp_reallocarray(NULL, cap, sizeof *count);
    double *first = rp_reallocarray(NULL, cap, sizeof *first);
    pat *pats = rp_reallocarray(NULL, cap, sizeof *pats);
    rp_fs__pool *pool = rp_calloc(1, sizeof *pool);
    int rc = RP_OK;
    if (code == NULL || count == NULL || first == NULL || pats == NULL || pool == NULL) {
        rc = rp_error_set(c->err, RP_ENOMEM, "out of memory");
        goto out;
    }
    c->res->patterns = c->pt.n;
    rp_fs__pool_init(pool);
    for (size_t r = 0; r < c->spec->n_rules && rc == RP_OK; r++) {
        size_t n = session_patterns(c, r, pats, code, count, first);
        rp_fs_patterns t = {n, code, count};
        if (n > 0)
            rc = session(c, r, &t, first, pool);
    }
    if (rc != RP_OK)
        goto out;
    double all = allowed_pairs(c);
    c->res->all_pairs = all;
    c->res->em = pool->all;
    c->res->em.pairs = (double)c->res->candidates;
    c->res->em.expected_matches = pool->expected;
    const rp_fs_spec *s = c->spec;
    double lam = pool->expected / all;
    if (s->prior_lambda > 0)
        lam = s->prior_lambda;
    else if (s->prior_agree != 0)
        lam = c->det_pairs / s->prior_recall / all;
    c->res->lambda_rule = s->prior_lambda > 0 || s->prior_agree != 0 ? lam : 0.0;
    rp_fs__pool_finish(&c->res->params, pool, lam, all, (double)c->res->candidates,
                       c->o.em.lambda_max, &c->res->em);
out:
    rp_free(code);
    rp_free(count);
    rp_free(first);
    rp_free(pats);
    rp_free(pool);
    return rc;
}

static int cmp_edge(const void *x, const void *y)
{
    const rp_link_edge *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

static int count_true_pairs(ctx *c)
{
    size_t n = c->data->n;
    entry *e = rp_reallocarray(NULL, n ? n : 1, sizeof *e);
    if (e == NULL)
        return rp_error_set(c->err, RP_ENOMEM, "out of memory");
    /* sort by entity, then list; the list goes in the record field */
    for (size_t i = 0; i < n; i++)
        e[i] = (entry){c->truth[i], list_of(c, i)};
    qsort(e, n, sizeof *e, cmp_entry);
    size_t total = 0;
    for (size_t s = 0, t = 0; s < n; s = t) {
        size_t within = 0;
        t = s;
        while (t < n && e[t].key == e[s].key) {
            size_t u = t;
            while (t < n && e[t].key == e[s].key && e[t].rec == e[u].rec)
                t++;
            within += (t - u) * (t - u - 1) / 2;
        }
        size_t all = (t - s) * (t - s - 1) / 2;
        total += (c->o.within_list ? within : 0) + (c->o.across_lists ? all - within : 0);
    }
    c->res->true_pairs = total;
    rp_free(e);
    return RP_OK;
}

static int
check_opts(const rp_fs_spec *spec, const rp_fs_data *data, const rp_fs_opts *o, rp_error *err)
{
    if (spec == NULL || data == NULL || (data->n > 0 && data->values == NULL) ||
        (data->n_columns > 0 && data->columns == NULL))
        return rp_error_set(err, RP_EINVAL, "link: NULL argument");
    if (data->n > UINT32_MAX)
        return rp_error_set(err, RP_EINVAL, "link: at most 2^32 - 1 records");
    if (!o->within_list && !o->across_lists)
        return rp_error_set(err, RP_EINVAL, "link: neither within nor across lists");
    if (o->u_pairs == 0 || !(o->tf_min > 0 && o->tf_min <= 1) || isnan(o->keep_weight))
        return rp_error_set(err, RP_EINVAL, "link: bad options");
    if (o->threads > MAX_THREADS)
        return rp_error_set(err, RP_EINVAL, "link: at most %d threads", MAX_THREADS);
    return RP_OK;
}

/* The workers, the block and chunk arrays, the progress total. */
static int make_workers(ctx *c)
{
    size_t n = c->data->n;
    c->n_workers = c->o.threads > 1 ? c->o.threads : 1;
    c->wk = rp_calloc(c->n_workers, sizeof *c->wk);
    c->blk = rp_reallocarray(NULL, n + 2, sizeof *c->blk);
    c->chunk = rp_reallocarray(NULL, c->n_workers * CHUNKS_PER_JOB + 2, sizeof *c->chunk);
    if (c->wk == NULL || c->blk == NULL || c->chunk == NULL)
        return rp_error_set(c->err, RP_ENOMEM, "out of memory");
    for (size_t t = 0; t < c->n_workers; t++)
        c->wk[t].c = c;
    c->progress_total = RP_FS_PROGRESS_STEPS * (1 + 2 * c->spec->n_rules);
    atomic_init(&c->next_chunk, 0);
    atomic_init(&c->done_chunks, 0);
    atomic_init(&c->cancel, false);
    c->bytes += c->n_workers * sizeof *c->wk + (n + 2) * sizeof *c->blk;
    return RP_OK;
}

static int link_run(ctx *c)
{
    rp_fs_result *res = c->res;
    int rc = bind_columns(c);
    if (rc == RP_OK)
        rc = decode_all(c);
    if (rc == RP_OK)
        rc = make_keys(c);
    if (rc == RP_OK)
        rc = make_tf(c);
    if (rc == RP_OK && c->truth != NULL)
        rc = count_true_pairs(c);
    if (rc == RP_OK)
        rc = make_workers(c);
    if (rc != RP_OK)
        return rc;
    double t0 = now_seconds();
    init_params(c, &res->params);
    make_masks(c);
    rc = estimate_u(c, &res->params);
    double t1 = now_seconds();
    res->seconds_u = t1 - t0;
    if (rc == RP_OK)
        rc = run_pass(c, 1);
    double t2 = now_seconds();
    if (rc == RP_OK)
        rc = fit(c);
    double t3 = now_seconds();
    res->seconds_em = t3 - t2;
    if (rc != RP_OK)
        return rc;
    c->bytes += c->pt.cap * (sizeof(uint64_t) + 2 * sizeof(double) + sizeof(bool));
    const rp_fs_params *p = &res->params;
    c->base = log2(p->lambda) - log2(1.0 - p->lambda);
    for (size_t k = 0; k < p->n_comparisons; k++) {
        c->w[k][0] = 0.0;
        for (unsigned l = 1; l < p->n_levels[k]; l++)
            c->w[k][l] = log2(p->m[k][l]) - log2(p->u[k][l]);
    }
    rc = run_pass(c, 2);
    res->seconds_block = (t2 - t1) + (now_seconds() - t3);
    if (rc == RP_OK)
        qsort(res->edges, res->n_edges, sizeof *res->edges, cmp_edge);
    return rc;
}

int rp_fs_link(rp_fs_result **out,
               const rp_fs_spec *spec,
               const rp_fs_data *data,
               const uint64_t *truth,
               const rp_fs_opts *opts,
               rp_error *err)
{
    *out = NULL;
    rp_fs_opts o = RP_FS_OPTS_INIT;
    if (opts != NULL)
        o = *opts;
    int rc = check_opts(spec, data, &o, err);
    if (rc != RP_OK)
        return rc;
    ctx c;
    memset(&c, 0, sizeof c);
    c.spec = spec;
    c.data = data;
    c.truth = truth;
    c.o = o;
    c.err = err;
    c.res = rp_calloc(1, sizeof *c.res);
    if (c.res == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    c.res->n_rules = spec->n_rules;
    rc = link_run(&c);
    c.res->peak_bytes = c.bytes;
    rp_free(c.keys);
    rp_free(c.idx);
    rp_free(c.cp_pool);
    rp_free(c.cp_off);
    rp_free(c.cp_len);
    rp_free(c.tf);
    pt_free(&c.pt);
    for (size_t t = 0; t < c.n_workers; t++) {
        pt_free(&c.wk[t].pt);
        rp_free(c.wk[t].edges);
    }
    rp_free(c.wk);
    rp_free(c.blk);
    rp_free(c.chunk);
    if (rc != RP_OK) {
        rp_fs_result_free(c.res);
        return rc;
    }
    *out = c.res;
    return RP_OK;
}

void rp_fs_result_free(rp_fs_result *res)
{
    if (res == NULL)
        return;
    rp_free(res->edges);
    rp_free(res);
}
