/*
 * eval_link: linkage quality of the Dice kernel and the greedy 1:1 solver on anonlink's
 * pre-encoded CLKs (issue 6, `make eval-link`). Reads data/linkage/anonlink_clks
 * (3,313 and 3,266 CLKs of 1024 bits in base64, 1,445 true pairs), finds every pair with
 * Dice >= 0.5 with rp_link_dice_pairs, matches 1:1 with rp_link_greedy_1to1 on the pairs
 * at or above each threshold 0.50..0.95, and reports precision, recall and F1 against
 * ground_truth.csv. Issue target: F1 >= 0.9865 at Dice 0.8 (anonlink's own result on
 * these files). Not a timed benchmark and never run by ctest. Run from the repo root.
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
#include <string.h>
#include <time.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"
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

static void usage(FILE *f)
{
    fprintf(f, "usage: eval_link [--data DIR] [--threads N]\n"
               "  --data DIR    folder with clks1.csv, clks2.csv, ground_truth.csv\n"
               "                (default " DEFAULT_DATA ")\n"
               "  --threads N   threads of the Dice search (default 1)\n"
               "Exit status: 0 ok (whatever the F1), 1 error, 2 usage.\n");
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

static bool parse_args(int argc, char **argv, const char **dir, size_t *threads)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"threads", required_argument, NULL, 't'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    for (;;) {
        int opt = getopt_long(argc, argv, "h", longopts, NULL);
        if (opt == -1)
            break;
        if (opt == 'd') {
            *dir = optarg;
        } else if (opt == 't') {
            if (!bench_opt_count(threads, optarg, 1, "eval_link", "--threads"))
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
    const char *dir = DEFAULT_DATA;
    size_t threads = 1;
    if (!parse_args(argc, argv, &dir, &threads))
        return 2;
    rp_init();
    bench_machine m;
    bench_machine_describe(&m);

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

    printf("eval_link: anonlink CLKs (%s), Dice + greedy 1:1 (issue 6)\n", dir);
    bench_machine_print(&m);
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
    printf("\nbest F1 %.4f at Dice %.2f (anonlink: 0.9865 at 0.80); solve of 10 thresholds "
           "%.3f s\n",
           best.f1, best.thr, t2 - t1);
    /* the target is given to 4 decimals: met when F1 rounds to at least it */
    bool met = goal.f1 >= GOAL_F1 - 0.00005;
    printf("at Dice %.2f: P %.6f R %.6f F1 %.6f (%zu true of %zu matched, %zu true pairs)\n"
           "issue target F1 >= %.4f (anonlink's own result, 4 decimals): %s\n",
           GOAL_AT, goal.p, goal.r, goal.f1, goal.tp, goal.matched, n_true, GOAL_F1,
           met ? "met" : "NOT met");
    status = 0;
out:
    rp_free(fa);
    rp_free(fb);
    rp_free(truth);
    rp_free(match);
    rp_free(pairs);
    return status;
}
