/*
 * rapporteur CLI: `rapporteur link`, the hub-side linkage of encoded records. Loads the
 * CLKs and keyed blocking keys of every encoded record in the store, finds candidate
 * pairs (rp_link_candidates), clusters them into persons at a Dice threshold
 * (rp_link_cluster), writes the clerical-review band, saves the run so that `rapporteur
 * estimate --store` counts persons, and shows how the estimate moves with the threshold
 * (linkage sensitivity). Clerical-review verdicts (--decisions, and those made in the
 * browser) are honoured as must-link and cannot-link constraints. With --clear it hands
 * over to cmd_link_clear (Fellegi–Sunter on clear-text files). The sensitivity table,
 * progress and the verdict files are shared with it in link_common.c.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */
#include "link_common.h"

#include <rapporteur/fs.h>
#include <rapporteur/link.h>
#include <rapporteur/mse.h>
#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_NAME "link"

/*
 * Defaults chosen on simulated scenarios, never on FEBRL4 (docs/linkage.md, "Choosing
 * the defaults"): the Dice threshold for a link, and the lower end of the clerical-review
 * band.
 */
#define DEFAULT_THRESHOLD 0.8
#define DEFAULT_REVIEW    0.7
/*
 * --method fs: match weights in bits; weight 0 is posterior 0.5 (docs/linkage.md,
 * "Scoring by Fellegi–Sunter"); the review band is the 5 bits below it, and the
 * sensitivity table runs from -8 to 8 bits.
 */
/* dice stays the default: fs did not win on the simulated scenarios and bench_link
   (docs/linkage.md, "Scoring by Fellegi–Sunter") */
#define DEFAULT_METHOD_FS false
#define FS_THRESHOLD      0.0
#define FS_REVIEW         (-5.0)
#define FS_SENS_FROM      (-8.0)
#define FS_SENS_TO        8.0
#define FS_SENS_STEP      2.0
#define FS_WEIGHT_MAX     1000.0 /* |weight| accepted on the command line */
/*
 * Above this many records the LSH rule is left out unless --rules names it: its bands of
 * 16 sampled bits have at most 65,536 values each, so its blocks grow with the input and
 * its pairs with its square (docs/linkage.md, "Scale").
 */
#define LSH_MAX_RECORDS 200000
#define RULE_LSH        3

/* The rule names of submissions (docs/encoding.md), by rp_enc_block_rule. */
static const char *const rule_names[] = {"family_year", "given_date", "names", "lsh", "document"};
#define N_RULE_NAMES (sizeof(rule_names) / sizeof(rule_names[0]))

enum {
    OPT_STORE = RP_CLI_OPT_FIRST,
    OPT_THRESHOLD,
    OPT_REVIEW,
    OPT_REVIEW_FILE,
    OPT_COHESION,
    OPT_NO_LIST_GUARD,
    OPT_RULES,
    OPT_MAX_BLOCK,
    OPT_WITHIN,
    OPT_ACROSS,
    OPT_SENSITIVITY,
    OPT_THREADS,
    OPT_METHOD,
    OPT_MUTUAL,
    OPT_NO_MUTUAL,
    OPT_DECISIONS,
    OPT_REVIEWER,
    OPT_ONE_TO_ONE,
    OPT_EXHAUSTIVE
};

static const struct option longopts[] = {
    RP_CLI_COMMON_LONGOPTS,
    {"store", required_argument, NULL, OPT_STORE},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"review", required_argument, NULL, OPT_REVIEW},
    {"review-file", required_argument, NULL, OPT_REVIEW_FILE},
    {"cohesion", required_argument, NULL, OPT_COHESION},
    {"no-list-guard", no_argument, NULL, OPT_NO_LIST_GUARD},
    {"rules", required_argument, NULL, OPT_RULES},
    {"max-block", required_argument, NULL, OPT_MAX_BLOCK},
    {"within-list", no_argument, NULL, OPT_WITHIN},
    {"across-lists-only", no_argument, NULL, OPT_ACROSS},
    {"sensitivity", required_argument, NULL, OPT_SENSITIVITY},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"method", required_argument, NULL, OPT_METHOD},
    {"mutual-best", required_argument, NULL, OPT_MUTUAL},
    {"no-mutual-best", no_argument, NULL, OPT_NO_MUTUAL},
    {"decisions", required_argument, NULL, OPT_DECISIONS},
    {"reviewer", required_argument, NULL, OPT_REVIEWER},
    {"one-to-one", no_argument, NULL, OPT_ONE_TO_ONE},
    {"exhaustive-max", required_argument, NULL, OPT_EXHAUSTIVE},
    {NULL, 0, NULL, 0}};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur link [--store DB] [options]\n"
            "   or: rapporteur link --clear FILE... (clear-text Fellegi-Sunter; see\n"
            "       'rapporteur link --clear --help')\n"
            "\n"
            "Link the encoded records in the store (imported with 'rapporteur import\n"
            "--submission') into persons: records that share a keyed blocking key are\n"
            "compared (every pair with --one-to-one or --exhaustive-max), scored by the\n"
            "Dice of their CLKs (--method dice) or by their Fellegi-Sunter match weight\n"
            "(--method fs: the Dice in levels and agreement on each keyed blocking rule,\n"
            "m by EM, u from random pairs); pairs at or above the threshold are links,\n"
            "and links are clustered into persons with guards against chaining. Every\n"
            "record then has a person, so that 'rapporteur estimate --store DB' counts\n"
            "people, not records; each run replaces the persons of the last one. Pairs\n"
            "in the review band [--review, --threshold) go to a clerical-review file.\n"
            "The linkage sensitivity table shows how the estimate moves with the\n"
            "threshold.\n"
            "\n"
            "Options:\n"
            "  --store FILE         the store (default %s)\n"
            "  --method M           dice (default) or fs\n"
            "  --threshold T        score at or above which a pair is a link: match weight\n"
            "                       in bits for fs (default %.0f, posterior 0.5), Dice for\n"
            "                       dice (default %.2f)\n"
            "  --review LOW         lower end of the clerical-review band (default %.0f\n"
            "                       bits for fs, %.2f for dice)\n"
            "  --review-file FILE   write the review band as CSV (store record numbers,\n"
            "                       lists and Dice; no identifiers exist at the hub)\n"
            "  --decisions FILE     a review file with its decision column filled in\n"
            "                       (match / non-match, 1 / 0, yes / no): the verdicts are\n"
            "                       recorded in the store, and this and every later run\n"
            "                       honours them (accepted: one person whatever the score;\n"
            "                       rejected: never one person), as it honours verdicts\n"
            "                       made on 'rapporteur serve''s review page\n"
            "  --reviewer NAME      who made the verdicts (default: $USER)\n"
            "  --cohesion C         two groups merge only when at least this share of\n"
            "                       their record pairs are links (default 0.5; 0 gives\n"
            "                       connected components)\n"
            "  --no-list-guard      allow two records of one list in one person without a\n"
            "                       direct link between them\n"
            "  --mutual-best LOW    below the threshold, down to LOW, a pair of records of\n"
            "                       two lists is a link when each is the other's strictly\n"
            "                       best match on that list (default off; 0.70 suits\n"
            "                       two lists that each hold a person once and mostly\n"
            "                       overlap, docs/linkage.md)\n"
            "  --no-mutual-best     links only at or above the threshold\n",
            RP_STORE_DEFAULT_PATH, FS_THRESHOLD, DEFAULT_THRESHOLD, FS_REVIEW, DEFAULT_REVIEW);
    fprintf(f,
            "  --one-to-one         for two lists that each hold a person at most once and\n"
            "                       mostly overlap: pairs across lists only\n"
            "                       (--across-lists-only), every pair compared when at\n"
            "                       most %zu (--exhaustive-max; --method fs always\n"
            "                       blocks), and mutual best\n"
            "                       matches down to the review band's lower end\n"
            "                       (--mutual-best LOW); wrong where most people are on\n"
            "                       one list only, as in most multiple systems estimations\n"
            "  --exhaustive-max N   compare every pair without blocking when the lists\n"
            "                       allow at most N pairs (default 0: always block;\n"
            "                       --method dice only)\n"
            "  --rules R1,R2        blocking rules to use: family_year, given_date, names,\n"
            "                       lsh, document (default: all)\n"
            "  --max-block N        skip blocks of more than N records (default 10000;\n"
            "                       0 = no limit); the report counts them\n"
            "  --within-list        only pair records of one list (de-duplication)\n"
            "  --across-lists-only  only pair records of different lists\n"
            "  --sensitivity FROM:TO:STEP\n"
            "                       thresholds of the sensitivity table (default\n"
            "                       -8:8:2 for fs, 0.70:0.95:0.05 for dice)\n"
            "  --threads N          worker threads (default: one per CPU)\n"
            "  --json               print one JSON object on stdout\n"
            "  -q, --quiet          no report and no progress bar\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 ok, 2 usage, 4 I/O or store error, 65 no encoded records or a\n"
            "bad decisions file.\n",
            RP_LINK_EXHAUSTIVE_DEFAULT);
}

/* ==== arguments ==== */

typedef struct link_args {
    rp_cli_common common;
    const char *store;
    const char *review_file;
    const char *decisions;
    const char *reviewer;
    double threshold, review;
    double sens_from, sens_to, sens_step;
    rp_cluster_opts cluster;
    rp_link_opts link;
    bool within_only, across_only;
    bool rules_given;
    bool lsh_dropped;  /* LSH left out for size (LSH_MAX_RECORDS) */
    bool fs;           /* --method fs */
    bool mutual_given; /* --mutual-best or --no-mutual-best */
    bool one_to_one;   /* --one-to-one */
    bool exhaustive_given;
    bool threshold_given, review_given, sens_given;
} link_args;

static int parse_rules(unsigned *mask, const char *v)
{
    rp_cli_strv sv = {NULL, 0};
    int st = -1;
    if (rp_cli_strv_split(&sv, v, ',', NULL) != RP_OK || sv.n == 0) {
        st = rp_cli_usage_error(CMD_NAME, "--rules: expected rule names separated by commas");
        goto out;
    }
    *mask = 0;
    for (size_t i = 0; i < sv.n; i++) {
        size_t r = 0;
        while (r < N_RULE_NAMES && strcmp(sv.v[i], rule_names[r]) != 0)
            r++;
        if (r == N_RULE_NAMES) {
            st = rp_cli_usage_error(CMD_NAME,
                                    "--rules: unknown rule '%s' (family_year, given_date, "
                                    "names, lsh, document)",
                                    sv.v[i]);
            goto out;
        }
        *mask |= 1u << r;
    }
out:
    rp_cli_strv_clear(&sv);
    return st;
}

static bool parse_unit(double *out, const char *v)
{
    return rp_cli_parse_double(out, v) && *out >= 0.0 && *out <= 1.0;
}

static int parse_sensitivity(link_args *a, const char *v)
{
    a->sens_given = true;
    return rp_cli_link_parse_range(&a->sens_from, &a->sens_to, &a->sens_step, CMD_NAME, v);
}

/* One link option (an rp_cli_opt_fn). */
static int apply_opt(int opt, const char *v, const char *name, void *payload)
{
    link_args *a = payload;
    switch (opt) {
    case OPT_STORE:
        a->store = v;
        break;
    case OPT_THRESHOLD:
    case OPT_REVIEW: {
        double x = 0;
        if (!rp_cli_parse_double(&x, v) || !(fabs(x) <= FS_WEIGHT_MAX))
            return rp_cli_usage_error(CMD_NAME, "%s: expected a number", name);
        if (opt == OPT_THRESHOLD) {
            a->threshold = x;
            a->threshold_given = true;
        } else {
            a->review = x;
            a->review_given = true;
        }
        break;
    }
    case OPT_COHESION: {
        double x = 0;
        if (!parse_unit(&x, v))
            return rp_cli_usage_error(CMD_NAME, "%s: expected a number in [0, 1]", name);
        a->cluster.min_cohesion = x;
        break;
    }
    case OPT_MUTUAL: {
        double x = 0;
        if (!rp_cli_parse_double(&x, v) || !(fabs(x) <= FS_WEIGHT_MAX))
            return rp_cli_usage_error(CMD_NAME, "%s: expected a number", name);
        a->cluster.mutual_low = x;
        a->mutual_given = true;
        break;
    }
    case OPT_NO_MUTUAL:
        a->cluster.mutual_low = NAN;
        a->mutual_given = true;
        break;
    case OPT_METHOD:
        if (strcmp(v, "fs") != 0 && strcmp(v, "dice") != 0)
            return rp_cli_usage_error(CMD_NAME, "--method: expected fs or dice");
        a->fs = strcmp(v, "fs") == 0;
        break;
    case OPT_REVIEW_FILE:
        a->review_file = v;
        break;
    case OPT_DECISIONS:
        a->decisions = v;
        break;
    case OPT_REVIEWER:
        a->reviewer = v;
        break;
    case OPT_NO_LIST_GUARD:
        a->cluster.list_guard = false;
        break;
    case OPT_RULES:
        a->rules_given = true;
        return parse_rules(&a->link.rules, v);
    case OPT_MAX_BLOCK:
        if (!rp_cli_parse_size(&a->link.max_block, v))
            return rp_cli_usage_error(CMD_NAME, "--max-block: expected a count");
        break;
    case OPT_WITHIN:
        a->within_only = true;
        break;
    case OPT_ACROSS:
        a->across_only = true;
        break;
    case OPT_ONE_TO_ONE:
        a->one_to_one = true;
        a->across_only = true;
        break;
    case OPT_EXHAUSTIVE:
        if (!rp_cli_parse_size(&a->link.exhaustive_max, v))
            return rp_cli_usage_error(CMD_NAME, "--exhaustive-max: expected a count of pairs");
        a->exhaustive_given = true;
        break;
    case OPT_SENSITIVITY:
        return parse_sensitivity(a, v);
    case OPT_THREADS: {
        int t = 0;
        if (!rp_cli_parse_int(&t, v, 1, 256))
            return rp_cli_usage_error(CMD_NAME, "--threads: expected 1 to 256");
        a->link.threads = (unsigned)t;
        break;
    }
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
    return -1;
}

/* The defaults of the method, and the range checks that depend on it (Dice in [0, 1]). */
static int method_defaults(link_args *a)
{
    if (a->fs) {
        if (!a->threshold_given)
            a->threshold = FS_THRESHOLD;
        if (!a->review_given)
            a->review = fmin(FS_REVIEW, a->threshold);
        if (!a->sens_given) {
            a->sens_from = FS_SENS_FROM;
            a->sens_to = FS_SENS_TO;
            a->sens_step = FS_SENS_STEP;
        }
        return -1;
    }
    if (!(a->threshold >= 0.0 && a->threshold <= 1.0) || !(a->review >= 0.0 && a->review <= 1.0))
        return rp_cli_usage_error(CMD_NAME, "--threshold, --review: expected a Dice in [0, 1]");
    if (!(a->sens_from >= 0.0 && a->sens_to <= 1.0))
        return rp_cli_usage_error(CMD_NAME, "--sensitivity: Dice thresholds in [0, 1]");
    return -1;
}

static int parse_args(link_args *a, int argc, char **argv)
{
    int st = rp_cli_parse_opts(&a->common, CMD_NAME, argc, argv, longopts, usage, apply_opt, a);
    if (st != -1)
        return st;
    st = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (st != -1)
        return st;
    if (a->within_only && a->across_only)
        return rp_cli_usage_error(CMD_NAME, "--within-list and %s exclude each other",
                                  a->one_to_one ? "--one-to-one" : "--across-lists-only");
    st = method_defaults(a);
    if (st != -1)
        return st;
    if (a->review > a->threshold)
        return rp_cli_usage_error(CMD_NAME, "--review %.3g is above --threshold %.3g", a->review,
                                  a->threshold);
    a->link.within_list = !a->across_only;
    a->link.across_lists = !a->within_only;
    a->cluster.threshold = a->threshold;
    if (a->one_to_one && !a->mutual_given)
        a->cluster.mutual_low = a->review;
    if (a->one_to_one && !a->exhaustive_given && !a->fs)
        a->link.exhaustive_max = RP_LINK_EXHAUSTIVE_DEFAULT; /* fs trains on blocks */
    if (a->fs && a->link.exhaustive_max > 0)
        return rp_cli_usage_error(CMD_NAME, "--exhaustive-max: --method fs always blocks "
                                            "(its EM trains on the blocks)");
    /* candidates down to the lowest score any output needs */
    a->link.min_score = fmin(a->review, fmin(a->threshold, a->sens_from));
    if (!isnan(a->cluster.mutual_low))
        a->link.min_score = fmin(a->link.min_score, a->cluster.mutual_low);
    return -1;
}

/* ==== the run ==== */

typedef struct link_run {
    link_args a;
    rp_store *st;
    rp_encoded_set *set;
    rp_link_edge *edges;
    size_t n_edges;
    rp_block_report rep;
    uint32_t *person;
    rp_cluster_stats cstats;
    size_t n_review;
    long long run_id;
    rp_cli_sens_row *sens;
    size_t n_sens;
    rp_link_fs_result *fs;          /* --method fs: the model (its edges moved to edges) */
    size_t n_recorded;              /* verdicts recorded from --decisions */
    rp_cluster_pair *must, *cannot; /* verdicts in force, as constraints (a->cluster) */
    rp_error err;
} link_run;

static void run_release(link_run *r)
{
    rp_link_fs_result_free(r->fs);
    rp_free(r->sens);
    rp_free(r->must);
    rp_free(r->cannot);
    rp_free(r->person);
    rp_free(r->edges);
    rp_encoded_set_free(r->set);
    rp_store_close(r->st);
}

/* Re-cluster at each threshold of the range and estimate (link_common.c). */
static int run_sensitivity(link_run *r)
{
    const char *names[RP_MSE_MAX_LISTS];
    size_t n_lists = r->set->n_lists <= RP_MSE_MAX_LISTS ? r->set->n_lists : 0;
    for (size_t l = 0; l < n_lists; l++)
        names[l] = r->set->lists[l];
    rp_cli_sens_input in = {r->edges,     r->n_edges,     r->set->n,      r->set->list,
                            names,        n_lists,        r->a.cluster,   r->a.sens_from,
                            r->a.sens_to, r->a.sens_step, r->a.threshold, !r->a.fs};
    return rp_cli_link_sensitivity(&r->sens, &r->n_sens, &in, &r->err);
}

/* Is store record @p row one of the set's, on list @p list (a review file's check)? */
static bool record_in_set(long long row, const char *list, void *payload)
{
    const rp_encoded_set *set = payload;
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->case_row[mid] < row)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < set->n && set->case_row[lo] == row && strcmp(set->lists[set->list[lo]], list) == 0;
}

/*
 * Clerical review: record the verdicts of --decisions, then read every verdict in force
 * (the store's log and the review page's) into must-link and cannot-link constraints.
 */
static int apply_verdicts(link_run *r)
{
    rp_link_review *rev = NULL;
    size_t n_rev = 0;
    int rc = RP_OK;
    if (r->a.decisions) {
        rc = rp_cli_link_read_verdicts(&rev, &n_rev, r->a.decisions, r->st, record_in_set, r->set,
                                       &r->err);
        if (rc == RP_OK)
            rc = rp_store_link_decide(r->st, rev, n_rev, rp_cli_link_reviewer(r->a.reviewer),
                                      "file", &r->err);
        if (rc == RP_OK)
            r->n_recorded = n_rev;
        rp_free(rev);
        rev = NULL;
    }
    if (rc == RP_OK)
        rc = rp_store_link_decisions(&rev, &n_rev, r->st, &r->err);
    if (rc == RP_OK)
        rc = rp_cli_link_constraints(&r->must, &r->a.cluster.n_must_link, &r->cannot,
                                     &r->a.cluster.n_cannot_link, rev, n_rev, r->set->case_row,
                                     r->set->n, &r->err);
    r->a.cluster.must_link = r->must;
    r->a.cluster.cannot_link = r->cannot;
    rp_free(rev);
    return rc;
}

/* ==== outputs ==== */

static int write_review(FILE *f, const char *path, void *payload, rp_error *err)
{
    const link_run *r = payload;
    fprintf(f, "score,list_a,record_a,list_b,record_b,linked,decision\n");
    for (size_t k = 0; k < r->n_edges; k++) {
        const rp_link_edge *e = &r->edges[k];
        if (e->score >= r->a.threshold || e->score < r->a.review)
            continue;
        fprintf(f, "%.6f,", e->score);
        rp_cli_csv_cell(f, r->set->lists[r->set->list[e->a]]);
        fprintf(f, ",%lld,", r->set->case_row[e->a]);
        rp_cli_csv_cell(f, r->set->lists[r->set->list[e->b]]);
        bool one = r->person && r->person[e->a] == r->person[e->b];
        /* a verdict in force is shown, so that the file can go back as --decisions */
        uint8_t d = rp_cli_link_pair_decision(&r->a.cluster, e->a, e->b, RP_LINK_REVIEW);
        fprintf(f, ",%lld,%d,%s\n", r->set->case_row[e->b], one ? 1 : 0,
                d == RP_LINK_ACCEPTED   ? "match"
                : d == RP_LINK_REJECTED ? "non-match"
                                        : "");
    }
    if (ferror(f))
        return rp_error_set(err, RP_EIO, "cannot write '%s'", path);
    return RP_OK;
}

static json_t *blocking_json(const rp_block_report *rep)
{
    json_t *rules = json_array();
    for (size_t u = 0; rules && u < RP_LINK_MAX_RULES; u++) {
        if (rep->rule[u].keys == 0)
            continue;
        json_array_append_new(
            rules, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "rule",
                             u < N_RULE_NAMES ? rule_names[u] : "other", "keys",
                             (json_int_t)rep->rule[u].keys, "pairs", (json_int_t)rep->rule[u].pairs,
                             "first_pairs", (json_int_t)rep->rule[u].first_pairs,
                             "oversized_blocks", (json_int_t)rep->rule[u].oversized,
                             "oversized_records", (json_int_t)rep->rule[u].oversized_recs));
    }
    return json_pack("{s:o, s:b, s:I, s:I, s:I, s:o}", "rules", rules, "exhaustive",
                     rep->exhaustive, "candidates", (json_int_t)rep->candidates, "kept",
                     (json_int_t)rep->kept, "peak_bytes", (json_int_t)rep->peak_bytes, "seconds",
                     rp_cli_json_number(rep->seconds));
}

static json_t *clusters_json(const rp_cluster_stats *c)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "links",
                     (json_int_t)c->links, "mutual_best_links", (json_int_t)c->mutual, "merges",
                     (json_int_t)c->merges, "refused_cohesion", (json_int_t)c->refused_cohesion,
                     "refused_list", (json_int_t)c->refused_list, "refused_size",
                     (json_int_t)c->refused_size, "refused_cannot_link",
                     (json_int_t)c->refused_cannot, "must_links", (json_int_t)c->must, "persons",
                     (json_int_t)c->persons, "largest", (json_int_t)c->largest);
}

static json_t *sensitivity_json(const link_run *r)
{
    return rp_cli_link_sensitivity_json(r->sens, r->n_sens);
}

/* The clerical-review verdicts: recorded by this run, and in force among its records. */
static json_t *verdicts_json(const link_run *r)
{
    return json_pack("{s:s?, s:I, s:I, s:I}", "decisions_file", r->a.decisions, "recorded",
                     (json_int_t)r->n_recorded, "accepted", (json_int_t)r->a.cluster.n_must_link,
                     "rejected", (json_int_t)r->a.cluster.n_cannot_link);
}

static json_t *params_json(const link_args *a)
{
    json_t *rules = json_array();
    for (size_t u = 0; rules && u < N_RULE_NAMES; u++) {
        if (!a->link.rules || (a->link.rules & (1u << u)))
            json_array_append_new(rules, json_string(rule_names[u]));
    }
    return json_pack(
        "{s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:I, s:b, s:b, s:o, s:b, s:I}", "method",
        a->fs ? "fs" : "dice", "threshold", rp_cli_json_number(a->threshold), "review",
        rp_cli_json_number(a->review), "mutual_best", rp_cli_json_number(a->cluster.mutual_low),
        "cohesion", rp_cli_json_number(a->cluster.min_cohesion), "list_guard",
        a->cluster.list_guard, "rules", rules, "max_block", (json_int_t)a->link.max_block,
        "within_list", a->link.within_list, "across_lists", a->link.across_lists, "min_score",
        rp_cli_json_number(a->link.min_score), "one_to_one", a->one_to_one, "exhaustive_max",
        (json_int_t)a->link.exhaustive_max);
}

static json_t *probs_json(const double *p, unsigned n_levels)
{
    json_t *a = json_array();
    for (unsigned l = 1; a && l < n_levels; l++)
        json_array_append_new(a, rp_cli_json_number(p[l]));
    return a;
}

/* The Fellegi–Sunter model: m, u, lambda per comparison and session, and the warnings. */
static json_t *fs_json(const rp_link_fs_result *f)
{
    json_t *cmp = json_array();
    for (size_t k = 0; cmp && k < f->params.n_comparisons; k++)
        json_array_append_new(cmp,
                              json_pack("{s:s, s:o, s:o}", "name", rp_link_fs_comparison_name(k),
                                        "m", probs_json(f->params.m[k], f->params.n_levels[k]), "u",
                                        probs_json(f->params.u[k], f->params.n_levels[k])));
    json_t *ses = json_array();
    for (size_t s = 0; ses && s < RP_LINK_FS_SESSIONS; s++) {
        const rp_fs_params *p = &f->session_params[s];
        json_t *o =
            json_pack("{s:s, s:o, s:o, s:b, s:I}", "name", rp_link_fs_session_name(s), "pairs",
                      rp_cli_json_number(f->session_pairs[s]), "lambda",
                      rp_cli_json_number(f->session_lambda[s]), "fallback", f->session_fallback[s],
                      "iterations", (json_int_t)f->session[s].iterations);
        if (o && !f->session_fallback[s] && p->n_comparisons > 0)
            json_object_set_new(o, "dice_m_u",
                                json_pack("{s:o, s:o}", "m", probs_json(p->m[0], p->n_levels[0]),
                                          "u", probs_json(p->u[0], p->n_levels[0])));
        json_array_append_new(ses, o);
    }
    json_t *warn = json_array();
    for (unsigned w = 1; warn && w <= RP_FS_WARN_FEW_PAIRS; w <<= 1) {
        if (f->em.warnings & w)
            json_array_append_new(warn, json_string(rp_fs_warning_text(w)));
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o}", "lambda",
                     rp_cli_json_number(f->params.lambda), "expected_matches",
                     rp_cli_json_number(f->expected_matches), "train_share",
                     rp_cli_json_number(f->train_share), "comparisons", cmp, "sessions", ses,
                     "u_pairs", (json_int_t)f->u_pairs, "warnings", warn, "seconds",
                     json_pack("{s:o, s:o, s:o, s:o}", "u", rp_cli_json_number(f->seconds_u),
                               "train", rp_cli_json_number(f->seconds_train), "em",
                               rp_cli_json_number(f->seconds_em), "score",
                               rp_cli_json_number(f->seconds_score)),
                     "train_candidates", rp_cli_json_number((double)f->train.candidates));
}

static json_t *result_json(const link_run *r)
{
    json_t *lists = json_array();
    for (size_t l = 0; lists && l < r->set->n_lists; l++)
        json_array_append_new(lists, json_string(r->set->lists[l]));
    json_t *root = json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:I, s:s?, s:o}", "store", r->a.store,
                             "records", (json_int_t)r->set->n, "lists", lists, "params",
                             params_json(&r->a), "blocking", blocking_json(&r->rep), "clusters",
                             clusters_json(&r->cstats), "review_pairs", (json_int_t)r->n_review,
                             "review_file", r->a.review_file, "sensitivity", sensitivity_json(r));
    if (root && r->run_id > 0)
        json_object_set_new(root, "run_id", json_integer(r->run_id));
    if (root)
        json_object_set_new(root, "verdicts", verdicts_json(r));
    if (root && r->fs)
        json_object_set_new(root, "fs", fs_json(r->fs));
    if (root && r->a.lsh_dropped)
        json_object_set_new(root, "notes",
                            json_pack("[s]", "lsh blocking left out above 200000 records "
                                             "(name it in --rules to use it)"));
    return root;
}

/* Save the run: every record's person, and the pairs at or above the review band. */
static int save_run(link_run *r)
{
    size_t n_pairs = 0;
    for (size_t k = 0; k < r->n_edges; k++)
        n_pairs += r->edges[k].score >= r->a.review;
    long long *pa = rp_calloc(n_pairs ? n_pairs : 1, sizeof *pa);
    long long *pb = rp_calloc(n_pairs ? n_pairs : 1, sizeof *pb);
    double *score = rp_calloc(n_pairs ? n_pairs : 1, sizeof *score);
    uint8_t *dec = rp_calloc(n_pairs ? n_pairs : 1, sizeof *dec);
    json_t *params = params_json(&r->a);
    json_t *report = json_pack("{s:o, s:o, s:o, s:o}", "blocking", blocking_json(&r->rep),
                               "clusters", clusters_json(&r->cstats), "sensitivity",
                               sensitivity_json(r), "verdicts", verdicts_json(r));
    if (report && r->fs)
        json_object_set_new(report, "fs", fs_json(r->fs));
    char *params_s = params ? json_dumps(params, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    char *report_s = report ? json_dumps(report, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    int rc = RP_OK;
    if (!pa || !pb || !score || !dec || !params_s || !report_s) {
        rc = rp_error_set(&r->err, RP_ENOMEM, "out of memory");
        goto out;
    }
    size_t at = 0;
    for (size_t k = 0; k < r->n_edges; k++) {
        const rp_link_edge *e = &r->edges[k];
        if (e->score < r->a.review)
            continue;
        pa[at] = r->set->case_row[e->a];
        pb[at] = r->set->case_row[e->b];
        score[at] = e->score;
        /* in the band: a match when the run made the two records one person; a verdict
           in force is saved as such */
        bool one = r->person && r->person[e->a] == r->person[e->b];
        dec[at] = rp_cli_link_pair_decision(&r->a.cluster, e->a, e->b,
                                            e->score >= r->a.threshold || one ? RP_LINK_MATCH
                                                                              : RP_LINK_REVIEW);
        at++;
    }
    rp_link_run run = {r->a.fs ? "fellegi-sunter" : "dice",
                       params_s,
                       report_s,
                       r->set->n,
                       r->set->case_row,
                       r->person,
                       n_pairs,
                       pa,
                       pb,
                       score,
                       dec};
    rc = rp_store_link_save(&r->run_id, r->st, &run, &r->err);
out:
    free(params_s); /* NOLINT: jansson allocates with malloc */
    free(report_s);
    json_decref(params);
    json_decref(report);
    rp_free(pa);
    rp_free(pb);
    rp_free(score);
    rp_free(dec);
    return rc;
}

static void print_fs(const rp_link_fs_result *f)
{
    printf("Fellegi-Sunter: lambda %.3g (%.0f expected matches among the candidates), m by EM "
           "per rule, u from %zu random pairs\n",
           f->params.lambda, f->expected_matches, f->u_pairs);
    for (size_t k = 0; k < f->params.n_comparisons; k++) {
        printf("  %-12s m", rp_link_fs_comparison_name(k));
        for (unsigned l = 1; l < f->params.n_levels[k]; l++)
            printf(" %.3f", f->params.m[k][l]);
        printf("  u");
        for (unsigned l = 1; l < f->params.n_levels[k]; l++)
            printf(" %.2g", f->params.u[k][l]);
        printf("\n");
    }
    for (unsigned w = 1; w <= RP_FS_WARN_FEW_PAIRS; w <<= 1) {
        if (f->em.warnings & w)
            printf("  warning: %s\n", rp_fs_warning_text(w));
    }
    printf("\n");
}

static void print_report(const link_run *r)
{
    const rp_block_report *rep = &r->rep;
    printf("Linked %zu encoded records on %zu lists (run %lld)\n\n", r->set->n, r->set->n_lists,
           r->run_id);
    if (r->a.lsh_dropped)
        printf("Note: LSH blocking left out above %d records (name it in --rules to use "
               "it)\n\n",
               LSH_MAX_RECORDS);
    if (rep->exhaustive)
        printf("Blocking        none needed: every pair the lists allow was compared (at most\n"
               "                --exhaustive-max %zu pairs)\n",
               r->a.link.exhaustive_max);
    else
        printf("Blocking        %12s %14s %14s %10s\n", "keys", "pairs", "first pairs",
               "oversized");
    for (size_t u = 0; u < RP_LINK_MAX_RULES; u++) {
        if (rep->rule[u].keys == 0)
            continue;
        printf("  %-13s %12zu %14zu %14zu %10zu\n", u < N_RULE_NAMES ? rule_names[u] : "other",
               rep->rule[u].keys, rep->rule[u].pairs, rep->rule[u].first_pairs,
               rep->rule[u].oversized);
    }
    const char *unit = r->a.fs ? "weight" : "Dice";
    printf("Candidates      %12zu compared, %zu at %s >= %.2f; %.2f s, peak %.1f MB\n\n",
           rep->candidates, rep->kept, unit, r->a.link.min_score, rep->seconds,
           (double)rep->peak_bytes / 1e6);
    if (r->fs)
        print_fs(r->fs);
    const rp_cluster_stats *c = &r->cstats;
    printf("Clusters at %s >= %.2f: %zu links, %zu merges; refused: %zu cohesion, %zu list,\n"
           "%zu size, %zu cannot-link; %zu persons, largest %zu records\n",
           unit, r->a.threshold, c->links, c->merges, c->refused_cohesion, c->refused_list,
           c->refused_size, c->refused_cannot, c->persons, c->largest);
    if (!isnan(r->a.cluster.mutual_low))
        printf("Mutual best matches in [%.2f, %.2f): %zu of the links\n", r->a.cluster.mutual_low,
               r->a.threshold, c->mutual);
    if (r->a.decisions || r->a.cluster.n_must_link || r->a.cluster.n_cannot_link)
        printf("Clerical review: %zu verdicts recorded%s%s; in force: %zu accepted, %zu rejected "
               "pairs\n",
               r->n_recorded, r->a.decisions ? " from " : "", r->a.decisions ? r->a.decisions : "",
               r->a.cluster.n_must_link, r->a.cluster.n_cannot_link);
    printf("Review band [%.2f, %.2f): %zu pairs%s%s\n\n", r->a.review, r->a.threshold, r->n_review,
           r->a.review_file ? " written to " : "", r->a.review_file ? r->a.review_file : "");
    rp_cli_link_sensitivity_print(r->sens, r->n_sens, r->a.threshold);
}

/* Candidates, clusters at the threshold, sensitivity, review file, saved run. */
static int link_body(link_run *r, rp_cli_progress_state *ps)
{
    rp_link_input in = {r->set->n,       r->set->words, r->set->clks,    r->set->list,
                        r->set->key_off, r->set->keys,  r->set->key_rule};
    if (!r->a.rules_given && r->set->n > LSH_MAX_RECORDS) {
        r->a.link.rules = ((1u << N_RULE_NAMES) - 1u) & ~(1u << RULE_LSH);
        r->a.lsh_dropped = true;
    }
    r->a.link.progress = rp_cli_link_progress;
    r->a.link.payload = ps;
    rp_cli_link_catch_signals(true);
    int rc = RP_OK;
    if (r->a.fs) {
        rp_link_fs_opts fo = RP_LINK_FS_OPTS_INIT;
        fo.link = r->a.link;
        fo.keep_weight = r->a.link.min_score;
        rc = rp_link_fs(&r->fs, &in, &fo, &r->err);
        if (rc == RP_OK) {
            r->edges = r->fs->edges;
            r->n_edges = r->fs->n_edges;
            r->fs->edges = NULL;
            r->rep = r->fs->report;
        }
    } else {
        rc = rp_link_candidates(&in, &r->a.link, &r->edges, &r->n_edges, &r->rep, &r->err);
    }
    rp_cli_link_catch_signals(false);
    rp_cli_progress_end(ps);
    if (rc == RP_ECANCELED && rp_cli_link_interrupted())
        rp_error_set(&r->err, RP_ECANCELED, "linkage interrupted; nothing was saved");
    if (rc != RP_OK)
        return rc;
    r->person = rp_calloc(r->set->n ? r->set->n : 1, sizeof *r->person);
    if (!r->person)
        return rp_error_set(&r->err, RP_ENOMEM, "out of memory");
    rc = rp_link_cluster(r->edges, r->n_edges, r->set->n, r->set->list, &r->a.cluster, r->person,
                         &r->cstats, &r->err);
    if (rc != RP_OK)
        return rc;
    for (size_t k = 0; k < r->n_edges; k++)
        r->n_review += r->edges[k].score >= r->a.review && r->edges[k].score < r->a.threshold;
    rc = run_sensitivity(r);
    if (rc == RP_OK && r->a.review_file)
        rc = rp_cli_write_atomic(r->a.review_file, true, write_review, r, &r->err);
    if (rc == RP_OK)
        rc = save_run(r);
    return rc;
}

static bool has_clear(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--clear") == 0)
            return true;
    }
    return false;
}

int cmd_link(int argc, char **argv)
{
    if (has_clear(argc, argv))
        return cmd_link_clear(argc, argv);
    link_run r;
    memset(&r, 0, sizeof r);
    r.err = (rp_error)RP_ERROR_INIT;
    r.a.store = RP_STORE_DEFAULT_PATH;
    r.a.fs = DEFAULT_METHOD_FS;
    r.a.threshold = DEFAULT_THRESHOLD;
    r.a.review = DEFAULT_REVIEW;
    r.a.sens_from = 0.70;
    r.a.sens_to = 0.95;
    r.a.sens_step = 0.05;
    r.a.cluster = (rp_cluster_opts)RP_CLUSTER_OPTS_INIT;
    r.a.link = (rp_link_opts)RP_LINK_OPTS_INIT;
    r.a.link.threads = rp_cli_link_default_threads();
    int status = parse_args(&r.a, argc, argv);
    if (status >= 0)
        return status;
    json_t *root = NULL;
    status = rp_cli_store_open(&r.st, r.a.store, 0, r.a.common.json);
    if (status >= 0)
        goto out;
    int rc = rp_store_encoded_load(&r.set, r.st, NULL, 0, &r.err);
    rp_cli_progress_state ps = {.enabled =
                                    rp_cli_progress_wanted(r.a.common.quiet || r.a.common.json),
                                .label = "linking",
                                .last_percent = -1};
    if (rc == RP_OK)
        rc = apply_verdicts(&r);
    if (rc == RP_OK)
        rc = link_body(&r, &ps);
    if (rc != RP_OK) {
        status = rp_cli_report(&r.err, r.a.common.json);
        if (rc == RP_EPARSE || (rc == RP_EDATA && r.a.decisions && r.set))
            status = RP_EXIT_DATAERR;
        goto out;
    }
    status = RP_EXIT_OK;
    if (r.a.common.json) {
        root = result_json(&r);
        if (root == NULL || rp_cli_json_print(root, &r.err) != RP_OK)
            status = RP_EXIT_IO;
    } else if (!r.a.common.quiet) {
        print_report(&r);
        if (fflush(stdout) != 0)
            status = RP_EXIT_IO;
    }
out:
    json_decref(root);
    run_release(&r);
    return status;
}
