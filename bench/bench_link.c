/*
 * bench_link: linking two lists of 1,000,000 encoded records end to end at the hub
 * (issue 6): candidate pairs by keyed blocking keys (rp_link_candidates) and clustering
 * into persons (rp_link_cluster), timed and with the peak memory, against the goal of
 * under 60 s and under 4 GB on 2 cores; and the Dice comparisons per second of the
 * candidate search.
 *
 * Data: synthetic people with names drawn from generated vocabularies (100,000 family
 * names, 8,000 given names, Zipf–Mandelbrot frequencies so that common names make
 * large blocks), birth dates 1950-2009, sex and a document number for 70 %. List A holds
 * n people; list B holds noisy copies of the first n/2 of them (a typo in a name with
 * probability 0.25 each, day and month swapped 0.05, a year off by one 0.05, document
 * lost 0.2, given and family names swapped 0.02) and n/2 new people. Every record is
 * encoded with rp_encoder_encode (default schema, fixed secret) on the worker threads;
 * encoding is timed separately and is not part of the linkage time.
 */
#include "bench_util.h"

#include <rapporteur/common.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>
#include <rapporteur/link.h>

#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"
/* clang-format on */

#define DEFAULT_N      1000000
#define N_FAMILY       100000
#define N_GIVEN        8000
#define FAMILY_OFFSET  60.0 /* Zipf-Mandelbrot offsets: the top family name is ~0.4 % */
#define GIVEN_OFFSET   15.0
#define NAME_MAX_LEN   24
#define GOAL_SECONDS   60.0
#define GOAL_BYTES     4e9
#define DEFAULT_THRESH 0.8
#define DEFAULT_REVIEW 0.7

static const char FIXED_SECRET_HEX[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";

typedef struct bench_args {
    size_t n;
    unsigned rules; /* rp_link_opts.rules: 0 = all */
    unsigned threads;
    double threshold, review;
    uint64_t seed;
    bool json;
} bench_args;

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

/* ==== people ==== */

/* Name number k of a vocabulary: 4 to 9 letters, consonants and vowels alternating. */
static void make_name(char *out, uint64_t k, uint64_t salt)
{
    static const char cons[] = "bcdfghjklmnprstvwz";
    static const char vow[] = "aeiouy";
    uint64_t h = (k + 1) * 0x9e3779b97f4a7c15ull ^ salt;
    size_t len = 4;
    for (size_t o = 0; o < NAME_MAX_LEN - 1; o++) {
        h ^= h >> 31;
        h *= 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
        if (o == 0)
            len = 4 + (size_t)(h % 6);
        if (o >= len)
            break;
        bool vowel = (o + (size_t)(k & 1)) % 2 == 1;
        const char *letters = vowel ? vow : cons;
        out[o] = letters[(h >> 8) % (vowel ? 6u : 18u)];
        out[o + 1] = '\0';
    }
}

/* Cumulative Zipf-Mandelbrot weights 1/(i + offset) over n names. */
static double *zipf_cdf(size_t n, double offset)
{
    double *c = rp_calloc(n, sizeof *c);
    if (!c)
        return NULL;
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        acc += 1.0 / ((double)i + offset);
        c[i] = acc;
    }
    for (size_t i = 0; i < n; i++)
        c[i] /= acc;
    return c;
}

static size_t draw(const double *cdf, size_t n, uint64_t *s)
{
    double u = unif(s);
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct person {
    char given[NAME_MAX_LEN], family[NAME_MAX_LEN];
    char doc[12];
    rp_birth_date birth;
    rp_sex sex;
} person;

static void new_person(person *p, const double *cf, const double *cg, uint64_t *s)
{
    make_name(p->family, draw(cf, N_FAMILY, s), 0x51u);
    make_name(p->given, draw(cg, N_GIVEN, s), 0xa7u);
    p->birth.year = 1950 + (int)(rnd(s) % 60);
    p->birth.month = 1 + (int)(rnd(s) % 12);
    p->birth.day = 1 + (int)(rnd(s) % 28);
    p->sex = rnd(s) & 1 ? RP_SEX_FEMALE : RP_SEX_MALE;
    if (unif(s) < 0.7)
        snprintf(p->doc, sizeof p->doc, "AB%07u", (unsigned)(rnd(s) % 10000000u));
    else
        p->doc[0] = '\0';
}

static void typo(char *w, uint64_t *s)
{
    size_t n = strlen(w);
    if (n < 2)
        return;
    size_t at = rnd(s) % n;
    w[at] = (char)('a' + rnd(s) % 26);
}

/* A recording of @p p with the errors of list B. */
static void noisy_copy(person *q, const person *p, uint64_t *s)
{
    *q = *p;
    if (unif(s) < 0.25)
        typo(q->family, s);
    if (unif(s) < 0.25)
        typo(q->given, s);
    if (unif(s) < 0.05 && q->birth.day <= 12) {
        int t = q->birth.day;
        q->birth.day = q->birth.month;
        q->birth.month = t;
    }
    if (unif(s) < 0.05)
        q->birth.year += rnd(s) & 1 ? 1 : -1;
    if (unif(s) < 0.2)
        q->doc[0] = '\0';
    if (unif(s) < 0.02) {
        char t[NAME_MAX_LEN];
        memcpy(t, q->given, sizeof t);
        memcpy(q->given, q->family, sizeof t);
        memcpy(q->family, t, sizeof t);
    }
}

/* ==== encoding on threads ==== */

typedef struct enc_set {
    size_t n, words;
    const person *people;
    uint64_t *clks;
    rp_enc_blocking *blk; /* per record, compacted into keys afterwards */
    const rp_encoder *e;
} enc_set;

typedef struct enc_job {
    enc_set *set;
    size_t from, to;
    int rc;
} enc_job;

static void *enc_thread(void *arg)
{
    enc_job *j = arg;
    for (size_t i = j->from; i < j->to && j->rc == RP_OK; i++) {
        const person *p = &j->set->people[i];
        rp_enc_identifiers id = {p->given, p->family, "", p->birth, p->sex, p->doc, "", NULL};
        j->rc = rp_encoder_encode(j->set->e, &id, i, j->set->clks + i * j->set->words, NULL,
                                  &j->set->blk[i], NULL);
    }
    return NULL;
}

static int encode_all(enc_set *set, unsigned threads)
{
    enc_job jobs[64];
    pthread_t tid[64];
    unsigned nt = threads < 1 ? 1 : (threads > 64 ? 64 : threads);
    for (unsigned t = 0; t < nt; t++) {
        jobs[t] = (enc_job){set, set->n * t / nt, set->n * (t + 1) / nt, RP_OK};
        if (t > 0 && pthread_create(&tid[t], NULL, enc_thread, &jobs[t]) != 0)
            return RP_EINTERNAL;
    }
    enc_thread(&jobs[0]);
    int rc = jobs[0].rc;
    for (unsigned t = 1; t < nt; t++) {
        pthread_join(tid[t], NULL);
        if (jobs[t].rc != RP_OK)
            rc = jobs[t].rc;
    }
    return rc;
}

static int load_secret(rp_secret **out, rp_error *err)
{
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/rp-bench-link-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return rp_error_set(err, RP_EIO, "cannot create a temporary folder");
    char path[600];
    snprintf(path, sizeof(path), "%s/secret.key", dir);
    int rc = RP_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    size_t n = strlen(FIXED_SECRET_HEX);
    if (fd < 0 || write(fd, FIXED_SECRET_HEX, n) != (ssize_t)n)
        rc = rp_error_set(err, RP_EIO, "cannot write %s", path);
    if (fd >= 0)
        close(fd);
    if (rc == RP_OK)
        rc = rp_secret_load(out, path, err);
    unlink(path);
    rmdir(dir);
    return rc;
}

/* ==== quality ==== */

/* Pairwise precision and recall of the clusters against the true persons. */
static void quality(const uint32_t *cluster,
                    const uint32_t *truth,
                    size_t n,
                    double *prec,
                    double *rec,
                    size_t *tp_out)
{
    uint64_t *v = rp_calloc(n ? n : 1, sizeof *v);
    if (!v) {
        *prec = *rec = -1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (uint64_t)cluster[i] << 32 | truth[i];
    size_t tp = bench_run_pairs(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = cluster[i];
    size_t pred = bench_run_pairs(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] = truth[i];
    size_t all = bench_run_pairs(v, n);
    rp_free(v);
    *prec = pred ? (double)tp / (double)pred : 1.0;
    *rec = all ? (double)tp / (double)all : 1.0;
    *tp_out = tp;
}

static const char *const rule_names[] = {"family_year", "given_date", "names", "lsh", "document"};

/* "all", or rule names separated by commas. */
static bool parse_rules(unsigned *mask, const char *v)
{
    if (strcmp(v, "all") == 0) {
        *mask = 0;
        return true;
    }
    *mask = 0;
    while (*v) {
        size_t len = strcspn(v, ",");
        size_t r = 0;
        while (r < 5 && !(strlen(rule_names[r]) == len && strncmp(v, rule_names[r], len) == 0))
            r++;
        if (r == 5)
            return false;
        *mask |= 1u << r;
        v += len;
        if (*v == ',')
            v++;
    }
    return *mask != 0;
}

/* The same records scored by Fellegi–Sunter (rapporteur link --method fs). */
typedef struct fs_run {
    double seconds, cpu, prec, recall, f1, lambda, expected, train_share;
    size_t candidates, kept, persons, peak_bytes;
    unsigned warnings;
} fs_run;

static int run_fs(fs_run *f,
                  const rp_link_input *in,
                  const rp_link_opts *lo,
                  const uint32_t *truth,
                  rp_error *err)
{
    rp_link_fs_opts fo = RP_LINK_FS_OPTS_INIT;
    fo.link = *lo;
    const char *names = getenv("BENCH_LINK_FS_NAMES"); /* "0": score_names off */
    fo.score_names = !(names && strcmp(names, "0") == 0);
    fo.keep_weight = -5.0;
    rp_cluster_opts co = RP_CLUSTER_OPTS_INIT;
    co.threshold = 0.0;
    uint32_t *cluster = rp_calloc(in->n, sizeof *cluster);
    rp_link_fs_result *res = NULL;
    rp_cluster_stats cs;
    double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
    double c0 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    int rc = cluster ? rp_link_fs(&res, in, &fo, err) : RP_ENOMEM;
    if (rc == RP_OK)
        rc = rp_link_cluster(res->edges, res->n_edges, in->n, in->list, &co, cluster, &cs, err);
    f->seconds = bench_clock_seconds(CLOCK_MONOTONIC) - t0;
    f->cpu = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    if (rc == RP_OK) {
        size_t tp = 0;
        quality(cluster, truth, in->n, &f->prec, &f->recall, &tp);
        f->f1 = f->prec + f->recall > 0 ? 2 * f->prec * f->recall / (f->prec + f->recall) : 0;
        f->candidates = res->report.candidates;
        f->kept = res->n_edges;
        f->persons = cs.persons;
        f->peak_bytes = res->report.peak_bytes;
        f->lambda = res->params.lambda;
        f->expected = res->expected_matches;
        f->train_share = res->train_share;
        f->warnings = res->em.warnings;
    }
    rp_link_fs_result_free(res);
    rp_free(cluster);
    return rc;
}

/* ==== main ==== */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_link [--n N] [--threads T] [--threshold T] [--review R]\n"
            "                  [--rules all|R1,R2,...] [--seed S] [--json]\n"
            "\n"
            "Link two lists of N encoded synthetic records each (default %d) at the hub:\n"
            "candidate pairs by keyed blocking keys down to the review Dice (default\n"
            "%.2f), clustering at the threshold (default %.2f); time and peak memory\n"
            "against the goal (under %.0f s and %.0f GB on 2 cores), Dice comparisons\n"
            "per second, and pairwise precision and recall against the truth.\n"
            "--rules: blocking rules (family_year, given_date, names, lsh, document);\n"
            "default all but lsh, which does not scale to this size (docs/linkage.md).\n",
            DEFAULT_N, DEFAULT_REVIEW, DEFAULT_THRESH, GOAL_SECONDS, GOAL_BYTES / 1e9);
}

static int parse_args(bench_args *a, int argc, char **argv)
{
    enum { OPT_N = 256, OPT_THREADS, OPT_THRESHOLD, OPT_REVIEW, OPT_SEED, OPT_JSON, OPT_RULES };
    static const struct option longopts[] = {{"n", required_argument, NULL, OPT_N},
                                             {"threads", required_argument, NULL, OPT_THREADS},
                                             {"threshold", required_argument, NULL, OPT_THRESHOLD},
                                             {"review", required_argument, NULL, OPT_REVIEW},
                                             {"seed", required_argument, NULL, OPT_SEED},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"rules", required_argument, NULL, OPT_RULES},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    for (;;) {
        int opt = getopt_long(argc, argv, "h", longopts, NULL);
        if (opt == -1)
            break;
        size_t v = 0;
        switch (opt) {
        case OPT_N:
            if (!bench_opt_count(&a->n, optarg, 2, "bench_link", "--n"))
                return 2;
            break;
        case OPT_THREADS:
            if (!bench_opt_count(&v, optarg, 1, "bench_link", "--threads"))
                return 2;
            a->threads = (unsigned)v;
            break;
        case OPT_THRESHOLD:
        case OPT_REVIEW: {
            char *end = NULL;
            double x = strtod(optarg, &end);
            if (!end || *end || !(x >= 0.0 && x <= 1.0)) {
                fprintf(stderr, "bench_link: %s expects a number in [0, 1]\n",
                        opt == OPT_REVIEW ? "--review" : "--threshold");
                return 2;
            }
            *(opt == OPT_REVIEW ? &a->review : &a->threshold) = x;
            break;
        }
        case OPT_SEED:
            if (!bench_opt_count(&v, optarg, 0, "bench_link", "--seed"))
                return 2;
            a->seed = v;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        case OPT_RULES:
            if (!parse_rules(&a->rules, optarg)) {
                fprintf(stderr, "bench_link: --rules expects all or names of rules\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (a->review > a->threshold) {
        fprintf(stderr, "bench_link: --review above --threshold\n");
        return 2;
    }
    return -1;
}

typedef struct bench_data {
    size_t n; /* records in both lists */
    size_t words;
    person *people;
    uint32_t *truth;
    uint64_t *clks;
    uint16_t *list;
    size_t *key_off;
    uint64_t *keys;
    uint8_t *rule;
    double fill;
} bench_data;

static void data_free(bench_data *d)
{
    rp_free(d->people);
    rp_free(d->truth);
    rp_free(d->clks);
    rp_free(d->list);
    rp_free(d->key_off);
    rp_free(d->keys);
    rp_free(d->rule);
}

/* People of both lists and their truth, then every record encoded. */
static int make_data(bench_data *d, const bench_args *a, double *t_encode, rp_error *err)
{
    size_t n = a->n;
    d->n = 2 * n;
    d->people = rp_calloc(d->n, sizeof *d->people);
    d->truth = rp_calloc(d->n, sizeof *d->truth);
    d->list = rp_calloc(d->n, sizeof *d->list);
    d->key_off = rp_calloc(d->n + 1, sizeof *d->key_off);
    double *cf = zipf_cdf(N_FAMILY, FAMILY_OFFSET);
    double *cg = zipf_cdf(N_GIVEN, GIVEN_OFFSET);
    rp_secret *secret = NULL;
    rp_encoder *e = NULL;
    rp_enc_blocking *blk = NULL;
    int rc = RP_OK;
    if (!d->people || !d->truth || !d->list || !d->key_off || !cf || !cg) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory for the people");
        goto out;
    }
    uint64_t s = a->seed * 0x9e3779b97f4a7c15ull + 12345;
    for (size_t i = 0; i < n; i++) {
        new_person(&d->people[i], cf, cg, &s);
        d->truth[i] = (uint32_t)i;
    }
    for (size_t i = 0; i < n; i++) {
        person *q = &d->people[n + i];
        if (i < n / 2) {
            noisy_copy(q, &d->people[i], &s);
            d->truth[n + i] = (uint32_t)i;
        } else {
            new_person(q, cf, cg, &s);
            d->truth[n + i] = (uint32_t)(n + i);
        }
        d->list[n + i] = 1;
    }
    rp_enc_schema schema;
    rp_enc_schema_default(&schema);
    rc = load_secret(&secret, err);
    if (rc == RP_OK)
        rc = rp_encoder_new(&e, &schema, secret, err);
    if (rc != RP_OK)
        goto out;
    d->words = rp_enc_schema_bits(rp_encoder_schema(e)) / 64;
    d->clks = rp_calloc(d->n * d->words, sizeof *d->clks);
    blk = rp_calloc(d->n, sizeof *blk);
    if (!d->clks || !blk) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory for the encodings");
        goto out;
    }
    double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
    enc_set set = {d->n, d->words, d->people, d->clks, blk, e};
    rc = encode_all(&set, a->threads);
    *t_encode = bench_clock_seconds(CLOCK_MONOTONIC) - t0;
    if (rc != RP_OK) {
        rp_error_set(err, rc, "encoding failed");
        goto out;
    }
    for (size_t i = 0; i < d->n; i++)
        d->key_off[i + 1] = d->key_off[i] + blk[i].n;
    d->keys = rp_calloc(d->key_off[d->n] + 1, sizeof *d->keys);
    d->rule = rp_calloc(d->key_off[d->n] + 1, sizeof *d->rule);
    if (!d->keys || !d->rule) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory for the keys");
        goto out;
    }
    double bits = 0;
    for (size_t i = 0; i < d->n; i++) {
        memcpy(d->keys + d->key_off[i], blk[i].keys, blk[i].n * sizeof *d->keys);
        memcpy(d->rule + d->key_off[i], blk[i].rule, blk[i].n);
        for (size_t w = 0; w < d->words; w++)
            bits += (double)__builtin_popcountll(d->clks[i * d->words + w]);
    }
    d->fill = bits / (double)d->n / (double)(d->words * 64);
out:
    rp_free(blk);
    rp_encoder_free(e);
    rp_secret_free(secret);
    rp_free(cf);
    rp_free(cg);
    return rc;
}

int main(int argc, char **argv)
{
    bench_args a = {DEFAULT_N, ~(1u << 3) & 0x1fu, 2, DEFAULT_THRESH, DEFAULT_REVIEW, 1, false};
    int st = parse_args(&a, argc, argv);
    if (st >= 0)
        return st;
    rp_init();
    rp_error err = RP_ERROR_INIT;
    bench_data d;
    memset(&d, 0, sizeof d);
    double t_encode = 0;
    bench_machine m;
    bench_machine_describe(&m);
    if (!a.json) {
        printf("bench_link: two lists of %zu encoded records, %u threads, rules%s", a.n, a.threads,
               a.rules ? "" : " all");
        for (size_t u = 0; u < 5 && a.rules; u++)
            printf(" %s", a.rules & (1u << u) ? rule_names[u] : "");
        printf("\n");
        bench_machine_print(&m);
    }
    int rc = make_data(&d, &a, &t_encode, &err);
    if (rc != RP_OK) {
        fprintf(stderr, "bench_link: %s\n", err.msg);
        data_free(&d);
        return 1;
    }
    struct rusage ru0;
    getrusage(RUSAGE_SELF, &ru0);

    rp_link_input in = {d.n, d.words, d.clks, d.list, d.key_off, d.keys, d.rule};
    rp_link_opts lo = RP_LINK_OPTS_INIT;
    lo.min_score = a.review;
    lo.threads = a.threads;
    lo.rules = a.rules;
    rp_cluster_opts co = RP_CLUSTER_OPTS_INIT;
    co.threshold = a.threshold;
    rp_link_edge *edges = NULL;
    size_t n_edges = 0;
    rp_block_report rep;
    rp_cluster_stats cs;
    uint32_t *cluster = rp_calloc(d.n, sizeof *cluster);
    double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
    double c0 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
    rc = cluster ? rp_link_candidates(&in, &lo, &edges, &n_edges, &rep, &err) : RP_ENOMEM;
    double t1 = bench_clock_seconds(CLOCK_MONOTONIC);
    if (rc == RP_OK)
        rc = rp_link_cluster(edges, n_edges, d.n, d.list, &co, cluster, &cs, &err);
    double t2 = bench_clock_seconds(CLOCK_MONOTONIC);
    double cpu = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (rc != RP_OK) {
        fprintf(stderr, "bench_link: %s\n", err.msg);
        rp_free(edges);
        rp_free(cluster);
        data_free(&d);
        return 1;
    }
    double prec = 0, recall = 0;
    size_t tp = 0;
    quality(cluster, d.truth, d.n, &prec, &recall, &tp);
    rp_free(edges);
    edges = NULL;
    fs_run fr;
    memset(&fr, 0, sizeof fr);
    rc = run_fs(&fr, &in, &lo, d.truth, &err);
    if (rc != RP_OK) {
        fprintf(stderr, "bench_link: fs: %s\n", err.msg);
        rp_free(cluster);
        data_free(&d);
        return 1;
    }
    getrusage(RUSAGE_SELF, &ru);
    double f1 = prec + recall > 0 ? 2 * prec * recall / (prec + recall) : 0;
    double link_s = t2 - t0;
    double peak_rss = (double)ru.ru_maxrss * 1024.0;
    double input_bytes = (double)(d.n * d.words * 8 + d.key_off[d.n] * 9 + d.n * 10);
    double cmp_rate = (double)rep.candidates / (t1 - t0) / (double)a.threads;
    bool pass = link_s < GOAL_SECONDS && peak_rss < GOAL_BYTES;

    if (a.json) {
        json_t *o = json_object();
        json_object_set_new(o, "records", json_integer((json_int_t)d.n));
        json_object_set_new(o, "threads", json_integer(a.threads));
        json_object_set_new(o, "rules", json_integer(a.rules));
        json_object_set_new(o, "cpu", json_string(m.cpu));
        json_object_set_new(o, "encode_seconds", bench_json_number(t_encode));
        json_object_set_new(o, "candidates_seconds", bench_json_number(t1 - t0));
        json_object_set_new(o, "cluster_seconds", bench_json_number(t2 - t1));
        json_object_set_new(o, "link_seconds", bench_json_number(link_s));
        json_object_set_new(o, "link_cpu_seconds", bench_json_number(cpu));
        json_object_set_new(o, "peak_rss_bytes", bench_json_number(peak_rss));
        json_object_set_new(o, "rss_before_link_bytes",
                            bench_json_number((double)ru0.ru_maxrss * 1024.0));
        json_object_set_new(o, "input_bytes", bench_json_number(input_bytes));
        json_object_set_new(o, "link_peak_bytes", json_integer((json_int_t)rep.peak_bytes));
        json_object_set_new(o, "candidates", json_integer((json_int_t)rep.candidates));
        json_object_set_new(o, "kept", json_integer((json_int_t)rep.kept));
        json_object_set_new(o, "comparisons_per_second_per_core", bench_json_number(cmp_rate));
        json_object_set_new(o, "persons", json_integer((json_int_t)cs.persons));
        json_object_set_new(o, "precision", bench_json_number(prec));
        json_object_set_new(o, "recall", bench_json_number(recall));
        json_object_set_new(o, "f1", bench_json_number(f1));
        json_object_set_new(o, "pass", json_boolean(pass));
        json_t *jf = json_object();
        json_object_set_new(jf, "link_seconds", bench_json_number(fr.seconds));
        json_object_set_new(jf, "link_cpu_seconds", bench_json_number(fr.cpu));
        json_object_set_new(jf, "candidates", json_integer((json_int_t)fr.candidates));
        json_object_set_new(jf, "kept", json_integer((json_int_t)fr.kept));
        json_object_set_new(jf, "link_peak_bytes", json_integer((json_int_t)fr.peak_bytes));
        json_object_set_new(jf, "peak_rss_bytes_both_runs",
                            bench_json_number((double)ru.ru_maxrss * 1024.0));
        json_object_set_new(jf, "train_share", bench_json_number(fr.train_share));
        json_object_set_new(jf, "lambda", bench_json_number(fr.lambda));
        json_object_set_new(jf, "expected_matches", bench_json_number(fr.expected));
        json_object_set_new(jf, "warnings", json_integer(fr.warnings));
        json_object_set_new(jf, "persons", json_integer((json_int_t)fr.persons));
        json_object_set_new(jf, "precision", bench_json_number(fr.prec));
        json_object_set_new(jf, "recall", bench_json_number(fr.recall));
        json_object_set_new(jf, "f1", bench_json_number(fr.f1));
        json_object_set_new(o, "fs", jf);
        json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("\n");
        json_decref(o);
    } else {
        printf("records          %zu (2 lists), %zu true pairs, CLK fill %.3f\n", d.n, a.n / 2,
               d.fill);
        printf("encode           %.2f s (%.0f records/s, not part of the linkage)\n", t_encode,
               (double)d.n / t_encode);
        printf("blocking         %12s %14s %14s %10s\n", "keys", "pairs", "first pairs",
               "oversized");
        for (size_t u = 0; u < 5; u++)
            printf("  %-13s %12zu %14zu %14zu %10zu\n", rule_names[u], rep.rule[u].keys,
                   rep.rule[u].pairs, rep.rule[u].first_pairs, rep.rule[u].oversized);
        printf("candidates       %zu distinct pairs, %zu at Dice >= %.2f, %.2f s\n", rep.candidates,
               rep.kept, a.review, t1 - t0);
        printf("  rate           %.1f million candidate pairs/s per core\n", cmp_rate / 1e6);
        printf("cluster          %.2f s at Dice >= %.2f: %zu persons, %zu merges, refused "
               "%zu cohesion %zu list\n",
               t2 - t1, a.threshold, cs.persons, cs.merges, cs.refused_cohesion, cs.refused_list);
        printf("link total       %.2f s wall, %.2f s CPU (goal < %.0f s)\n", link_s, cpu,
               GOAL_SECONDS);
        printf("memory           peak RSS %.2f GB (goal < %.0f GB; inputs %.2f GB, "
               "linkage working memory %.2f GB)\n",
               peak_rss / 1e9, GOAL_BYTES / 1e9, input_bytes / 1e9, (double)rep.peak_bytes / 1e9);
        printf("quality          pairwise precision %.4f recall %.4f F1 %.4f\n", prec, recall, f1);
        printf("result           %s\n", pass ? "PASS" : "BELOW-GOAL");
        printf("fs               --method fs: %.2f s wall, %.2f s CPU; %zu candidates (training "
               "share %.3g), %zu kept at weight >= -5; working memory %.2f GB, peak RSS of both "
               "runs %.2f GB\n",
               fr.seconds, fr.cpu, fr.candidates, fr.train_share, fr.kept,
               (double)fr.peak_bytes / 1e9, (double)ru.ru_maxrss * 1024.0 / 1e9);
        printf("fs quality       lambda %.3g, %.0f expected matches, warnings 0x%x; %zu persons; "
               "pairwise precision %.4f recall %.4f F1 %.4f\n",
               fr.lambda, fr.expected, fr.warnings, fr.persons, fr.prec, fr.recall, fr.f1);
    }
    rp_free(edges);
    rp_free(cluster);
    data_free(&d);
    return 0;
}
