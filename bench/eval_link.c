/*
 * eval_link: linkage quality on every benchmark data set of data/linkage (issue 6,
 * `make eval-link`). Not a timed benchmark and never run by ctest; run from the repo root.
 *
 * 1. anonlink's pre-encoded CLKs (data/linkage/anonlink_clks: 3,313 and 3,266 CLKs of
 *    1024 bits, 1,445 true pairs): every pair with Dice >= 0.5 by rp_link_dice_pairs,
 *    1:1 by rp_link_greedy_1to1 at each threshold 0.50..0.95. Target: F1 >= 0.9865 at
 *    Dice 0.8 (anonlink's own result on these files).
 * 2. Clear text with Fellegi-Sunter (rp_fs_link, include/rapporteur/fs.h) on FEBRL 1-4,
 *    RLdata500/10000, splink fake_1000 and historical_50k, blocklib alice/bob and clkhash
 *    dirty_1000_50: one comparison spec per data shape (data/linkage/specs/), names
 *    normalised with rp_normalise_name, u from random pairs, EM on the pattern table.
 *    Decisions are unsupervised: a pair is a link when its match weight is >= 0 (FS
 *    posterior >= 0.5); no threshold is tuned on the truth. Reported: blocking (pairs
 *    per rule, pairs completeness), EM (iterations, lambda, warnings), pairwise precision,
 *    recall and F1 at weight 0, then after clustering (rp_link_cluster, weight 0) for
 *    de-duplication sets or a greedy 1:1 for two-file sets, and, as an ORACLE line that
 *    reads the truth, the best pairwise F1 over all weight thresholds.
 */
#include "bench_util.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>
#include <rapporteur/fs.h>
#include <rapporteur/link.h>

#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/common_int.h"
/* clang-format on */

#define DEFAULT_DATA "data/linkage/anonlink_clks"
#define WORDS        ((size_t)16) /* 1024 bits */
#define CLK_BYTES    (WORDS * 8)
#define KEEP_MIN     0.5
#define GOAL_F1      0.9865 /* anonlink's result, given to 4 decimals */
#define GOAL_AT      0.8
#define PATH_MAX_LEN 4096

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode standard base64 @p s into exactly CLK_BYTES bytes; false on anything else. */
static bool b64_clk(const char *s, unsigned char *out)
{
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '=' && *s != '\r' && *s != '\n'; s++) {
        int v = b64_value((unsigned char)*s);
        if (v < 0)
            return false;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == CLK_BYTES)
                return false;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n == CLK_BYTES;
}

/* Read "row,clk_base64" lines into *out (n filters of WORDS words); rows must be 0..n-1. */
static bool read_clks(const char *path, uint64_t **out, size_t *n_out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "eval_link: cannot open %s (run from the repository root)\n", path);
        return false;
    }
    char *line = NULL;
    size_t cap = 0, n = 0, alloc = 0, lineno = 0;
    uint64_t *v = NULL;
    bool ok = true;
    while (getline(&line, &cap, f) >= 0) {
        if (++lineno == 1)
            continue; /* header */
        char *comma = strchr(line, ',');
        unsigned char bytes[CLK_BYTES];
        if (!comma || strtoul(line, NULL, 10) != n || !b64_clk(comma + 1, bytes)) {
            fprintf(stderr, "eval_link: %s:%zu: bad row\n", path, lineno);
            ok = false;
            break;
        }
        if (n == alloc) {
            alloc = alloc ? 2 * alloc : 1024;
            uint64_t *nv = rp_reallocarray(v, alloc * WORDS, sizeof *nv);
            if (!nv) {
                ok = false;
                break;
            }
            v = nv;
        }
        for (size_t w = 0; w < WORDS; w++) {
            uint64_t x = 0;
            for (unsigned b = 0; b < 8; b++)
                x |= (uint64_t)bytes[8 * w + b] << (8u * b);
            v[n * WORDS + w] = x;
        }
        n++;
    }
    free(line);
    fclose(f);
    if (!ok) {
        rp_free(v);
        return false;
    }
    *out = v;
    *n_out = n;
    return true;
}

/* ground_truth.csv into truth[i] = j (or -1), n_true pairs. */
static bool read_truth(const char *path, size_t n_a, size_t n_b, int64_t *truth, size_t *n_true)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "eval_link: cannot open %s\n", path);
        return false;
    }
    for (size_t i = 0; i < n_a; i++)
        truth[i] = -1;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    bool ok = true;
    *n_true = 0;
    while (getline(&line, &cap, f) >= 0) {
        if (++lineno == 1)
            continue;
        char *end = NULL;
        unsigned long a = strtoul(line, &end, 10);
        unsigned long b = *end == ',' ? strtoul(end + 1, NULL, 10) : n_b;
        if (a >= n_a || b >= n_b || truth[a] >= 0) {
            fprintf(stderr, "eval_link: %s:%zu: bad pair\n", path, lineno);
            ok = false;
            break;
        }
        truth[a] = (int64_t)b;
        (*n_true)++;
    }
    free(line);
    fclose(f);
    return ok;
}

typedef struct row {
    double thr, p, r, f1;
    size_t cand, matched, tp;
} row;

static row evaluate(const rp_link_pair *pairs,
                    size_t n_pairs,
                    size_t n_a,
                    size_t n_b,
                    const int64_t *truth,
                    size_t n_true,
                    int64_t *match,
                    double thr)
{
    row r = {thr, 0, 0, 0, 0, 0, 0};
    size_t k = 0;
    while (k < n_pairs && pairs[k].dice >= thr)
        k++;
    r.cand = k;
    rp_error err = RP_ERROR_INIT;
    if (rp_link_greedy_1to1(pairs, k, n_a, n_b, match, NULL, &r.matched, &err) != RP_OK)
        return r;
    for (size_t i = 0; i < n_a; i++)
        r.tp += match[i] >= 0 && match[i] == truth[i];
    r.p = r.matched ? (double)r.tp / (double)r.matched : 0.0;
    r.r = n_true ? (double)r.tp / (double)n_true : 0.0;
    r.f1 = r.p + r.r > 0 ? 2 * r.p * r.r / (r.p + r.r) : 0.0;
    return r;
}

/* ==== summary table ==== */

#define MAX_SETS 16

typedef struct summary {
    const char *name, *task;
    size_t records;
    double p, r, f1, final_f1, oracle_f1, seconds;
    char warn[64];
} summary;

static summary sums[MAX_SETS];
static size_t n_sums;

static void summary_add(const char *name,
                        const char *task,
                        size_t records,
                        double p,
                        double r,
                        double f1,
                        double final_f1,
                        double oracle_f1,
                        double seconds,
                        const char *warn)
{
    if (n_sums == MAX_SETS)
        return;
    summary *x = &sums[n_sums++];
    *x = (summary){name, task, records, p, r, f1, final_f1, oracle_f1, seconds, ""};
    snprintf(x->warn, sizeof x->warn, "%s", warn);
}

/* ==== anonlink's CLKs ==== */

static int eval_clks(const char *dir, size_t threads)
{
    int status = 1;
    uint64_t *fa = NULL, *fb = NULL;
    int64_t *truth = NULL, *match = NULL;
    rp_link_pair *pairs = NULL;
    size_t n_a = 0, n_b = 0, n_true = 0, n_pairs = 0;
    char path[PATH_MAX_LEN];

    snprintf(path, sizeof path, "%s/clks1.csv", dir);
    if (!read_clks(path, &fa, &n_a))
        goto out;
    snprintf(path, sizeof path, "%s/clks2.csv", dir);
    if (!read_clks(path, &fb, &n_b))
        goto out;
    truth = rp_calloc(n_a ? n_a : 1, sizeof *truth);
    match = rp_calloc(n_a ? n_a : 1, sizeof *match);
    if (!truth || !match)
        goto out;
    snprintf(path, sizeof path, "%s/ground_truth.csv", dir);
    if (!read_truth(path, n_a, n_b, truth, &n_true))
        goto out;

    rp_error err = RP_ERROR_INIT;
    double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
    if (rp_link_dice_pairs(fa, n_a, fb, n_b, WORDS, KEEP_MIN, (unsigned)threads, 0, &pairs,
                           &n_pairs, &err) != RP_OK) {
        fprintf(stderr, "eval_link: %s\n", err.msg);
        goto out;
    }
    double t1 = bench_clock_seconds(CLOCK_MONOTONIC);

    printf("== anonlink CLKs (%s), Dice + greedy 1:1\n", dir);
    printf("records: %zu x %zu (1024-bit CLKs), true pairs: %zu\n", n_a, n_b, n_true);
    printf("candidates with Dice >= %.2f: %zu of %zu pairs, search %.3f s (%zu thread%s)\n\n",
           KEEP_MIN, n_pairs, n_a * n_b, t1 - t0, threads, threads == 1 ? "" : "s");
    printf("%9s %10s %8s %8s %9s %9s %9s\n", "threshold", "candidates", "matched", "true",
           "precision", "recall", "F1");
    row best = {0, 0, 0, -1, 0, 0, 0};
    row goal = best;
    for (int k = 50; k <= 95; k += 5) {
        row r = evaluate(pairs, n_pairs, n_a, n_b, truth, n_true, match, k / 100.0);
        printf("%9.2f %10zu %8zu %8zu %9.4f %9.4f %9.4f\n", r.thr, r.cand, r.matched, r.tp, r.p,
               r.r, r.f1);
        if (r.f1 > best.f1)
            best = r;
        if (k == 80)
            goal = r;
    }
    double t2 = bench_clock_seconds(CLOCK_MONOTONIC);
    printf("\nORACLE best F1 %.4f at Dice %.2f (anonlink: 0.9865 at 0.80); solve of 10 "
           "thresholds %.3f s\n",
           best.f1, best.thr, t2 - t1);
    /* the target is given to 4 decimals: met when F1 rounds to at least it */
    bool met = goal.f1 >= GOAL_F1 - 0.00005;
    printf("at Dice %.2f: P %.6f R %.6f F1 %.6f (%zu true of %zu matched, %zu true pairs)\n"
           "issue target F1 >= %.4f (anonlink's own result, 4 decimals): %s\n\n",
           GOAL_AT, goal.p, goal.r, goal.f1, goal.tp, goal.matched, n_true, GOAL_F1,
           met ? "met" : "NOT met");
    summary_add("anonlink_clks", "link", n_a + n_b, goal.p, goal.r, goal.f1, goal.f1, best.f1,
                t2 - t0, "");
    status = 0;
out:
    rp_free(fa);
    rp_free(fb);
    rp_free(truth);
    rp_free(match);
    rp_free(pairs);
    return status;
}

/* ==== clear text: the data sets ==== */

typedef struct dataset {
    const char *name;     /* folder under the root */
    const char *files[2]; /* one file: de-duplication; two: linkage of the two */
    const char *truth;    /* true-entity column */
    const char *spec;     /* comparison spec under <root>/specs */
    const char *names[4]; /* name columns, normalised by rp_normalise_name; the others are
                             trimmed and lower-cased (ASCII) */
} dataset;

static const dataset sets[] = {
    {"febrl1",
     {"records.csv", NULL},
     "entity_id",
     "febrl.json",
     {"given_name", "surname", "address_1", "suburb"}},
    {"febrl2",
     {"records.csv", NULL},
     "entity_id",
     "febrl.json",
     {"given_name", "surname", "address_1", "suburb"}},
    {"febrl3",
     {"records.csv", NULL},
     "entity_id",
     "febrl.json",
     {"given_name", "surname", "address_1", "suburb"}},
    {"febrl4",
     {"a.csv", "b.csv"},
     "entity_id",
     "febrl.json",
     {"given_name", "surname", "address_1", "suburb"}},
    {"rldata500",
     {"records.csv", NULL},
     "entity_id",
     "rldata.json",
     {"fname_c1", "fname_c2", "lname_c1", "lname_c2"}},
    {"rldata10000",
     {"records.csv", NULL},
     "entity_id",
     "rldata.json",
     {"fname_c1", "fname_c2", "lname_c1", "lname_c2"}},
    {"splink_fake_1000",
     {"records.csv", NULL},
     "cluster",
     "splink_fake.json",
     {"first_name", "surname", "city"}},
    {"splink_historical_50k",
     {"records.csv", NULL},
     "cluster",
     "splink_historical.json",
     {"first_name", "surname", "birth_place", "occupation"}},
    {"blocklib_alice_bob",
     {"alice.csv", "bob.csv"},
     "recid",
     "blocklib.json",
     {"givenname", "surname", "suburb"}},
    {"clkhash_dirty_1000_50",
     {"party1.csv", "party2.csv"},
     "rec_id",
     "febrl.json",
     {"given_name", "surname", "address_1", "suburb"}},
};

typedef struct eval_opts {
    const char *root;
    const char *clk_dir;
    const char *only;
    const char *equiv;
    size_t threads;
    size_t u_pairs;
    bool verbose;
} eval_opts;

/* The records of one data set: values row-major over the spec's columns. */
typedef struct table {
    size_t n, n_cols;
    const char *const *cols;
    char **values;
    uint16_t *list;
    uint64_t *truth;
    size_t cap;
} table;

static void table_free(table *t)
{
    for (size_t i = 0; i < t->n * t->n_cols; i++)
        rp_free(t->values[i]);
    rp_free(t->values);
    rp_free(t->list);
    rp_free(t->truth);
}

static bool is_name(const dataset *ds, const char *col)
{
    for (size_t i = 0; i < RP_ARRAY_LEN(ds->names) && ds->names[i]; i++)
        if (strcmp(ds->names[i], col) == 0)
            return true;
    return false;
}

static bool table_grow(table *t)
{
    if (t->n < t->cap)
        return true;
    size_t cap = t->cap ? 2 * t->cap : 1024;
    char **v = rp_reallocarray(t->values, cap * t->n_cols, sizeof *v);
    if (v == NULL)
        return false;
    t->values = v;
    uint16_t *l = rp_reallocarray(t->list, cap, sizeof *l);
    if (l == NULL)
        return false;
    t->list = l;
    uint64_t *tr = rp_reallocarray(t->truth, cap, sizeof *tr);
    if (tr == NULL)
        return false;
    t->truth = tr;
    t->cap = cap;
    return true;
}

/* One value into the table: names normalised (rp_normalise_name), others trimmed and
   lower-cased. */
static char *value_of(rp_normaliser *norm, const char *in, bool name)
{
    char out[RP_NAME_MAX];
    if (name && norm != NULL) {
        rp_error err = RP_ERROR_INIT;
        if (rp_normalise_name(norm, in, NULL, out, sizeof out, &err) == RP_OK)
            return rp_strdup(out);
    }
    while (*in == ' ')
        in++;
    size_t len = strlen(in);
    while (len > 0 && in[len - 1] == ' ')
        len--;
    char *v = rp_x_strndup(in, len);
    for (char *p = v; p != NULL && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return v;
}

/* Read one CSV file of a data set into @p t as list @p list. */
static bool
read_file(table *t, const dataset *ds, const char *path, uint16_t list, rp_normaliser *norm)
{
    rp_error err = RP_ERROR_INIT;
    rp_reader *rd = NULL;
    rp_reader_opts ro = RP_READER_OPTS_INIT;
    ro.format = RP_INPUT_CSV;
    ro.delimiter = ',';
    if (rp_reader_open(&rd, path, &ro, &err) != RP_OK) {
        fprintf(stderr, "eval_link: %s: %s\n", path, err.msg);
        return false;
    }
    const char *const *names = NULL;
    size_t nc = rp_reader_columns(rd, &names);
    size_t map[64];
    size_t truth_col = nc;
    bool ok = t->n_cols <= 64;
    for (size_t c = 0; ok && c < t->n_cols; c++) {
        map[c] = nc;
        for (size_t j = 0; j < nc; j++)
            if (strcmp(names[j], t->cols[c]) == 0)
                map[c] = j;
        ok = map[c] < nc;
    }
    for (size_t j = 0; j < nc; j++)
        if (strcmp(names[j], ds->truth) == 0)
            truth_col = j;
    if (!ok || truth_col == nc) {
        fprintf(stderr, "eval_link: %s: a column of the spec or '%s' is missing\n", path,
                ds->truth);
        rp_reader_free(rd);
        return false;
    }
    for (;;) {
        const char *const *f = NULL;
        size_t nf = 0;
        long line = 0;
        int got = rp_reader_next(rd, &f, &nf, &line, &err);
        if (got <= 0) {
            ok = got == 0;
            if (!ok)
                fprintf(stderr, "eval_link: %s:%ld: %s\n", path, err.line, err.msg);
            break;
        }
        if (nf != nc || !table_grow(t)) {
            ok = false;
            fprintf(stderr, "eval_link: %s:%ld: ragged row or out of memory\n", path, line);
            break;
        }
        for (size_t c = 0; c < t->n_cols; c++)
            t->values[t->n * t->n_cols + c] = value_of(norm, f[map[c]], is_name(ds, t->cols[c]));
        t->list[t->n] = list;
        t->truth[t->n] = rp_x_hash64(7, f[truth_col], strlen(f[truth_col]));
        t->n++;
    }
    rp_reader_free(rd);
    return ok;
}

/* ==== clear text: quality ==== */

typedef struct prf {
    double p, r, f1;
    size_t tp, predicted;
} prf;

static prf prf_of(size_t tp, size_t predicted, size_t truth)
{
    prf x = {0, 0, 0, tp, predicted};
    x.p = predicted ? (double)tp / (double)predicted : 0.0;
    x.r = truth ? (double)tp / (double)truth : 0.0;
    x.f1 = x.p + x.r > 0 ? 2 * x.p * x.r / (x.p + x.r) : 0.0;
    return x;
}

/* Pairwise quality of the edges with weight >= w (edges sorted by weight descending). */
static prf pairwise(const rp_fs_result *res, const table *t, double w, size_t true_pairs)
{
    size_t tp = 0, k = 0;
    for (; k < res->n_edges && res->edges[k].score >= w; k++)
        tp += t->truth[res->edges[k].a] == t->truth[res->edges[k].b];
    return prf_of(tp, k, true_pairs);
}

/* The best F1 over every threshold (ORACLE: reads the truth). */
static prf oracle(const rp_fs_result *res, const table *t, size_t true_pairs, double *at)
{
    prf best = {0, 0, -1, 0, 0};
    size_t tp = 0;
    for (size_t k = 0; k < res->n_edges; k++) {
        tp += t->truth[res->edges[k].a] == t->truth[res->edges[k].b];
        if (k + 1 < res->n_edges && res->edges[k + 1].score == res->edges[k].score)
            continue;
        prf x = prf_of(tp, k + 1, true_pairs);
        if (x.f1 > best.f1) {
            best = x;
            *at = res->edges[k].score;
        }
    }
    return best;
}

typedef struct trip {
    uint32_t person;
    uint16_t list;
    uint64_t truth;
} trip;

static int cmp_trip(const void *x, const void *y)
{
    const trip *a = x, *b = y;
    if (a->person != b->person)
        return a->person < b->person ? -1 : 1;
    if (a->truth != b->truth)
        return a->truth < b->truth ? -1 : 1;
    return (a->list > b->list) - (a->list < b->list);
}

/* Pairs of a run of equal keys: all, or only those across lists (runs sorted by list). */
static size_t run_pairs(const trip *v, size_t s, size_t e, bool across, bool same_truth)
{
    size_t all = (e - s) * (e - s - 1) / 2;
    if (!across)
        return all;
    size_t within = 0;
    for (size_t i = s, j = s; i < e; i = j) {
        j = i;
        while (j < e && v[j].list == v[i].list && (!same_truth || v[j].truth == v[i].truth))
            j++;
        within += (j - i) * (j - i - 1) / 2;
    }
    return all - within;
}

/* Pairwise quality of a partition into persons. */
static prf partition_quality(const uint32_t *person, const table *t, bool across, size_t true_pairs)
{
    trip *v = rp_reallocarray(NULL, t->n ? t->n : 1, sizeof *v);
    if (v == NULL)
        return prf_of(0, 0, 1);
    for (size_t i = 0; i < t->n; i++)
        v[i] = (trip){person[i], t->list[i], t->truth[i]};
    qsort(v, t->n, sizeof *v, cmp_trip);
    size_t predicted = 0, tp = 0;
    for (size_t s = 0, e = 0; s < t->n; s = e) {
        e = s;
        while (e < t->n && v[e].person == v[s].person)
            e++;
        /* by list inside each person for the predicted pairs: sort a copy by list */
        size_t all = (e - s) * (e - s - 1) / 2, within = 0;
        if (across) {
            uint32_t cnt[2] = {0, 0};
            for (size_t i = s; i < e; i++)
                cnt[v[i].list & 1u]++;
            within = (size_t)cnt[0] * (cnt[0] - (cnt[0] > 0)) / 2 +
                     (size_t)cnt[1] * (cnt[1] - (cnt[1] > 0)) / 2;
        }
        predicted += all - within;
        for (size_t i = s, j = s; i < e; i = j) {
            j = i;
            while (j < e && v[j].truth == v[i].truth)
                j++;
            tp += run_pairs(v, i, j, across, true);
        }
    }
    rp_free(v);
    return prf_of(tp, predicted, true_pairs);
}

/* Greedy 1:1 on the edges with weight >= 0 between list 0 and list 1 (two-file sets). */
static prf one_to_one(const rp_fs_result *res, const table *t, size_t true_pairs)
{
    bool *taken = rp_calloc(t->n ? t->n : 1, sizeof *taken);
    size_t tp = 0, k = 0;
    if (taken == NULL)
        return prf_of(0, 0, 1);
    for (size_t e = 0; e < res->n_edges && res->edges[e].score >= 0; e++) {
        uint32_t a = res->edges[e].a, b = res->edges[e].b;
        if (taken[a] || taken[b])
            continue;
        taken[a] = taken[b] = true;
        k++;
        tp += t->truth[a] == t->truth[b];
    }
    rp_free(taken);
    return prf_of(tp, k, true_pairs);
}

static void print_params(const rp_fs_spec *spec, const rp_fs_result *res)
{
    static const char *const lk[] = {"null",  "exact",   "reversed", "dm-swap",
                                     "edits", "similar", "else"};
    const rp_fs_params *p = &res->params;
    for (size_t k = 0; k < p->n_comparisons; k++) {
        printf("    %-16s", rp_fs_spec_comparison_name(spec, k));
        for (unsigned l = 1; l < p->n_levels[k]; l++)
            printf(" %s m=%.3g u=%.3g;", lk[rp_fs_spec_level_kind(spec, k, l)], p->m[k][l],
                   p->u[k][l]);
        printf("\n");
    }
}

static void warnings_text(unsigned w, char *out, size_t size)
{
    out[0] = '\0';
    static const char *const short_names[] = {"m<=u", "lambda-low", "lambda-high", "no-conv",
                                              "few-pairs"};
    for (unsigned b = 0; b < RP_ARRAY_LEN(short_names); b++) {
        if (w & (1u << b)) {
            size_t len = strlen(out);
            snprintf(out + len, size - len, "%s%s", len ? "," : "", short_names[b]);
        }
    }
}

static void report_set(const dataset *ds,
                       const rp_fs_spec *spec,
                       const rp_fs_result *res,
                       const table *t,
                       bool link,
                       const eval_opts *eo,
                       double seconds)
{
    size_t true_pairs = res->true_pairs;
    printf("records %zu (%s), true pairs %zu; candidates %zu, pairs completeness %.4f, "
           "patterns %zu\n",
           t->n, link ? "two files, linkage" : "one file, de-duplication", true_pairs,
           res->candidates, true_pairs ? (double)res->true_candidates / (double)true_pairs : 0.0,
           res->patterns);
    for (size_t r = 0; r < res->n_rules; r++)
        printf("  rule %zu: %zu pairs, %zu first, %zu true, %zu blocks, %zu oversized; EM session: "
               "%u it., lambda %.4f\n",
               r + 1, res->rule[r].pairs, res->rule[r].first_pairs, res->rule[r].true_pairs,
               res->rule[r].blocks, res->rule[r].oversized, res->session[r].iterations,
               res->session_lambda[r]);
    char warn[128];
    warnings_text(res->em.warnings, warn, sizeof warn);
    printf("EM: %u iterations, %s, lambda %.5g (%.1f expected matches), log-lik %.6g, "
           "warnings: %s\n",
           res->em.iterations, res->em.converged ? "converged" : "NOT converged",
           res->params.lambda, res->em.expected_matches, res->em.loglik, warn[0] ? warn : "none");
    for (unsigned b = 0; b < 5; b++)
        if (res->em.warnings & (1u << b))
            printf("  warning: %s\n", rp_fs_warning_text(1u << b));
    if (eo->verbose)
        print_params(spec, res);
    prf pw = pairwise(res, t, 0.0, true_pairs);
    printf("pairwise at weight 0 (posterior 0.5): P %.4f R %.4f F1 %.4f (%zu links, %zu true)\n",
           pw.p, pw.r, pw.f1, pw.predicted, pw.tp);
    prf fin = pw;
    if (link) {
        fin = one_to_one(res, t, true_pairs);
        printf("greedy 1:1 at weight 0:               P %.4f R %.4f F1 %.4f\n", fin.p, fin.r,
               fin.f1);
    } else {
        uint32_t *person = rp_calloc(t->n ? t->n : 1, sizeof *person);
        rp_cluster_opts co = RP_CLUSTER_OPTS_INIT;
        co.threshold = 0.0;
        rp_cluster_stats cs;
        rp_error err = RP_ERROR_INIT;
        if (person != NULL && rp_link_cluster(res->edges, res->n_edges, t->n, NULL, &co, person,
                                              &cs, &err) == RP_OK) {
            fin = partition_quality(person, t, false, true_pairs);
            printf("clustered at weight 0 (cohesion %.2f): P %.4f R %.4f F1 %.4f (%zu persons, "
                   "largest %zu)\n",
                   co.min_cohesion, fin.p, fin.r, fin.f1, cs.persons, cs.largest);
        } else {
            printf("clustering failed: %s\n", err.msg);
        }
        rp_free(person);
    }
    double at = 0;
    prf best = oracle(res, t, true_pairs, &at);
    printf("ORACLE (threshold chosen on the truth): best pairwise F1 %.4f at weight %.2f\n",
           best.f1, at);
    printf("time: %.3f s (u %.3f s, blocking + comparisons %.3f s, EM %.3f s), peak working "
           "memory %.1f MB, kept pairs %zu\n\n",
           seconds, res->seconds_u, res->seconds_block, res->seconds_em,
           (double)res->peak_bytes / 1e6, res->n_edges);
    summary_add(ds->name, link ? "link" : "dedup", t->n, pw.p, pw.r, pw.f1, fin.f1, best.f1,
                seconds, warn);
}

static int eval_set(const dataset *ds, const eval_opts *eo, rp_normaliser *norm)
{
    char path[PATH_MAX_LEN];
    rp_error err = RP_ERROR_INIT;
    rp_fs_spec *spec = NULL;
    rp_fs_result *res = NULL;
    table t;
    memset(&t, 0, sizeof t);
    int status = 1;
    snprintf(path, sizeof path, "%s/specs/%s", eo->root, ds->spec);
    if (rp_fs_spec_load(&spec, path, &err) != RP_OK) {
        fprintf(stderr, "eval_link: %s: %s\n", path, err.msg);
        goto out;
    }
    t.n_cols = rp_fs_spec_columns(spec, &t.cols);
    bool link = ds->files[1] != NULL;
    double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
    for (uint16_t f = 0; f < 2 && ds->files[f] != NULL; f++) {
        snprintf(path, sizeof path, "%s/%s/%s", eo->root, ds->name, ds->files[f]);
        if (!read_file(&t, ds, path, f, norm))
            goto out;
    }
    double t1 = bench_clock_seconds(CLOCK_MONOTONIC);
    rp_fs_data data = {t.n, t.n_cols, t.cols, (const char *const *)t.values, t.list};
    rp_fs_opts fo = RP_FS_OPTS_INIT;
    fo.within_list = !link;
    fo.across_lists = link;
    if (eo->u_pairs > 0)
        fo.u_pairs = eo->u_pairs;
    if (rp_fs_link(&res, spec, &data, t.truth, &fo, &err) != RP_OK) {
        fprintf(stderr, "eval_link: %s: %s\n", ds->name, err.msg);
        goto out;
    }
    double t2 = bench_clock_seconds(CLOCK_MONOTONIC);
    printf("== %s (spec %s; read and normalise %.3f s)\n", ds->name, ds->spec, t1 - t0);
    report_set(ds, spec, res, &t, link, eo, t2 - t1);
    status = 0;
out:
    rp_fs_result_free(res);
    rp_fs_spec_free(spec);
    table_free(&t);
    return status;
}

static void print_summary(void)
{
    printf("== summary: F1 at the unsupervised default (FS weight 0 = posterior 0.5; Dice 0.8 "
           "for CLKs)\n");
    printf("%-22s %-5s %7s %7s %7s %7s %9s %9s %8s  %s\n", "data set", "task", "records", "P", "R",
           "F1", "final F1", "ORACLE F1", "seconds", "EM warnings");
    for (size_t i = 0; i < n_sums; i++)
        printf("%-22s %-5s %7zu %7.4f %7.4f %7.4f %9.4f %9.4f %8.3f  %s\n", sums[i].name,
               sums[i].task, sums[i].records, sums[i].p, sums[i].r, sums[i].f1, sums[i].final_f1,
               sums[i].oracle_f1, sums[i].seconds, sums[i].warn[0] ? sums[i].warn : "none");
    printf("final F1: after greedy 1:1 (two-file sets) or clustering (de-duplication sets); "
           "ORACLE: best pairwise F1 over all thresholds, read on the truth (not a result)\n");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: eval_link [--root DIR] [--data DIR] [--only NAME] [--threads N]\n"
               "                 [--equivalents FILE] [--u-pairs N] [--verbose]\n"
               "  --root DIR          folder of the data sets and specs/ (default data/linkage)\n"
               "  --data DIR          folder with anonlink's clks1.csv, clks2.csv,\n"
               "                      ground_truth.csv (default " DEFAULT_DATA ")\n"
               "  --only NAME         one data set (anonlink_clks, febrl1, ..., a name of\n"
               "                      data/linkage)\n"
               "  --threads N         threads of the Dice search (default 1)\n"
               "  --equivalents FILE  name-equivalence table for rp_normalise_name (default none)\n"
               "  --u-pairs N         random pairs for u (default 1,000,000)\n"
               "  --verbose           print m and u of every level\n"
               "Exit status: 0 ok (whatever the F1), 1 error, 2 usage.\n");
}

static bool parse_args(int argc, char **argv, eval_opts *eo)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"root", required_argument, NULL, 'r'},
                                             {"only", required_argument, NULL, 'o'},
                                             {"equivalents", required_argument, NULL, 'e'},
                                             {"u-pairs", required_argument, NULL, 'u'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    for (;;) {
        int opt = getopt_long(argc, argv, "hv", longopts, NULL);
        if (opt == -1)
            break;
        if (opt == 'd') {
            eo->clk_dir = optarg;
        } else if (opt == 'r') {
            eo->root = optarg;
        } else if (opt == 'o') {
            eo->only = optarg;
        } else if (opt == 'e') {
            eo->equiv = optarg;
        } else if (opt == 'v') {
            eo->verbose = true;
        } else if (opt == 'u') {
            if (!bench_opt_count(&eo->u_pairs, optarg, 1, "eval_link", "--u-pairs"))
                return false;
        } else if (opt == 't') {
            if (!bench_opt_count(&eo->threads, optarg, 1, "eval_link", "--threads"))
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
    eval_opts eo = {"data/linkage", DEFAULT_DATA, NULL, NULL, 1, 0, false};
    if (!parse_args(argc, argv, &eo))
        return 2;
    rp_init();
    bench_machine m;
    bench_machine_describe(&m);
    printf("eval_link: linkage quality on data/linkage (issue 6)\n");
    bench_machine_print(&m);
    printf("\n");
    int status = 0;
    if (eo.only == NULL || strcmp(eo.only, "anonlink_clks") == 0)
        status |= eval_clks(eo.clk_dir, eo.threads);
    rp_normaliser *norm = NULL;
    rp_error err = RP_ERROR_INIT;
    if (rp_normaliser_new(&norm, eo.equiv, &err) != RP_OK) {
        fprintf(stderr, "eval_link: normaliser: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < RP_ARRAY_LEN(sets); i++)
        if (eo.only == NULL || strcmp(eo.only, sets[i].name) == 0)
            status |= eval_set(&sets[i], &eo, norm);
    rp_normaliser_free(norm);
    print_summary();
    return status;
}
