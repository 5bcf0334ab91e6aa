/*
 * bench_simulate: wall time of `rapporteur simulate` (rp_sim_run) on a population that
 * yields about 1,000,000 agency records (the "seconds, not minutes"), against the
 * physical floor of copying the bytes it wrote (read and write every output file once,
 * in the same folder). Reports records per second, the ratio to the floor and whether
 * the goal (at most 10 s for 1,000,000 records) holds. `make bench` runs it from the
 * repository root; bench/README.md holds results.
 */
#include "bench_util.h"
#include "sim/sim_int.h"

#include <rapporteur/rapporteur.h>
#include <rapporteur/sim.h>

#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"
/* clang-format on */

#define GOAL_SECONDS_PER_MILLION 10.0
#define DEFAULT_PEOPLE           1250000 /* about 1,000,000 records with the lists below */
#define DEFAULT_REPS             3

/*
 * Four agencies of a national scenario: capture probabilities 0.25/0.2/0.15/0.2 with
 * person effects and list dependence, 2-5% duplicates, every recording error at its
 * default rate, names from nine locales (Cyrillic, Latin, Vietnamese, Chinese, Arabic).
 */
static const char scenario_fmt[] =
    "{\"name\": \"bench\", \"seed\": 1,"
    " \"population\": {\"size\": %zu, \"years\": [2020, 2024],"
    "  \"citizenship\": {\"GB\": 0.25, \"UA\": 0.15, \"RO\": 0.15, \"VN\": 0.1, \"NG\": 0.1,"
    "   \"CN\": 0.05, \"SY\": 0.05, \"PL\": 0.1, \"MD\": 0.05},"
    "  \"country_of_exploitation\": \"GB\"},"
    " \"lists\": ["
    "  {\"code\": \"POLICE\", \"p\": 0.25, \"duplicates\": 0.02, \"layout\": \"police\","
    "   \"effects\": {\"exploitation=sexual\": 0.4, \"minor\": 0.3}},"
    "  {\"code\": \"NGO\", \"p\": 0.2, \"duplicates\": 0.05, \"layout\": \"ngo\","
    "   \"script\": \"native\", \"effects\": {\"sex=female\": 0.5}},"
    "  {\"code\": \"INSPECT\", \"p\": 0.15, \"layout\": \"inspectorate\","
    "   \"effects\": {\"exploitation=forced_labour\": 1.0}},"
    "  {\"code\": \"BORDER\", \"p\": 0.2, \"duplicates\": 0.03, \"layout\": \"border_guard\"}],"
    " \"dependence\": [{\"lists\": [\"POLICE\", \"NGO\"], \"log_odds_ratio\": 0.6},"
    "  {\"lists\": [\"NGO\", \"INSPECT\"], \"log_odds_ratio\": -0.4}]}";

typedef struct args {
    size_t people;
    size_t reps;
    bool json;
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_simulate [--people N] [--reps R] [--json]\n"
            "\n"
            "Times rp_sim_run on a four-list national scenario of N people (default %d,\n"
            "about 1,000,000 records) R times (default %d; the median is reported), and\n"
            "the copy of the files it wrote (the floor).\n",
            DEFAULT_PEOPLE, DEFAULT_REPS);
}

static int parse_args(args *a, int argc, char **argv)
{
    static const struct option opts[] = {{"people", required_argument, NULL, 'n'},
                                         {"reps", required_argument, NULL, 'r'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    a->people = DEFAULT_PEOPLE;
    a->reps = DEFAULT_REPS;
    a->json = false;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!bench_opt_count(&a->people, optarg, 100, "bench_simulate", "--people")) {
                return 2;
            }
            break;
        case 'r':
            if (!bench_opt_count(&a->reps, optarg, 1, "bench_simulate", "--reps")) {
                return 2;
            }
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    return -1;
}

/* Copy every file of @p dir to "<file>.copy" and back out: bytes copied, or 0. */
static double copy_floor(const char *dir, double *seconds)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return 0;
    }
    static char buf[1 << 20];
    double bytes = 0;
    double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
    struct dirent *e;
    char src[8704], dst[8704];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".copy")) {
            continue;
        }
        snprintf(src, sizeof src, "%s/%s", dir, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s.copy", dir, e->d_name);
        FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
        if (in && out) {
            size_t n;
            while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
                fwrite(buf, 1, n, out);
                bytes += (double)n;
            }
        }
        if (in) {
            fclose(in);
        }
        if (out) {
            fclose(out);
        }
    }
    *seconds = bench_clock_seconds(CLOCK_MONOTONIC) - t0;
    closedir(d);
    return bytes;
}

int main(int argc, char **argv)
{
    args a;
    int st = parse_args(&a, argc, argv);
    if (st >= 0) {
        return st;
    }
    rp_init();
    char json[4096];
    snprintf(json, sizeof json, scenario_fmt, a.people);
    rp_sim_scenario *sc = NULL;
    rp_error err = RP_ERROR_INIT;
    if (rp_sim__scenario_parse(&sc, json, strlen(json), "bench", &err) != RP_OK) {
        char m[1024];
        fprintf(stderr, "bench_simulate: %s\n", rp_error_format(&err, m, sizeof m));
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    char base[4096], out[4200];
    snprintf(base, sizeof base, "%s/rp-bench-sim.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(base) == NULL) {
        perror("bench_simulate: mkdtemp");
        return 1;
    }
    double *wall = calloc(a.reps, sizeof *wall);
    double *floor_s = calloc(a.reps, sizeof *floor_s);
    double records = 0, bytes = 0;
    int status = 0;
    for (size_t r = 0; r < a.reps && status == 0; r++) {
        snprintf(out, sizeof out, "%s/run", base);
        rp_sim_run_opts o = RP_SIM_RUN_OPTS_INIT;
        o.names_dir = "data/names";
        o.out_dir = out;
        char *sum = NULL;
        double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
        int rc = rp_sim_run(sc, &o, &sum, &err);
        wall[r] = bench_clock_seconds(CLOCK_MONOTONIC) - t0;
        if (rc != RP_OK) {
            char m[1024];
            fprintf(stderr, "bench_simulate: %s\n", rp_error_format(&err, m, sizeof m));
            status = 1;
            break;
        }
        json_error_t je;
        json_t *s = json_loads(sum, 0, &je);
        records = 0;
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(s, "lists"), i, l)
        {
            records += (double)json_integer_value(json_object_get(l, "records"));
        }
        json_decref(s);
        rp_free(sum);
        bytes = copy_floor(out, &floor_s[r]);
        bench_remove_tree(out);
    }
    rmdir(base);
    if (status == 0) {
        double w = bench_median(wall, a.reps), f = bench_median(floor_s, a.reps);
        double per_million = w / (records / 1e6);
        bool goal = per_million <= GOAL_SECONDS_PER_MILLION;
        if (a.json) {
            json_t *o = json_pack("{s:s, s:I, s:f, s:f, s:o, s:o, s:o, s:b}", "bench", "simulate",
                                  (json_int_t)a.people, "records", records, "bytes", bytes,
                                  "wall_s", bench_json_number(w), "floor_s", bench_json_number(f),
                                  "ratio", bench_json_number(w / f), "goal_met", goal);
            char *s = json_dumps(o, JSON_INDENT(2));
            puts(s);
            free(s);
            json_decref(o);
        } else {
            bench_machine m;
            bench_machine_describe(&m);
            bench_machine_print(&m);
            printf("simulate: %zu people, %.0f agency records, %.1f MB written "
                   "(median of %zu runs)\n",
                   a.people, records, bytes / 1e6, a.reps);
            printf("  rp_sim_run          %8.2f s   %10.0f records/s\n", w, records / w);
            printf("  floor (copy files)  %8.2f s   ratio %.1fx\n", f, w / f);
            printf("  %.2f s per 1,000,000 records; goal <= %.0f s: %s\n", per_million,
                   GOAL_SECONDS_PER_MILLION, goal ? "met" : "NOT met");
        }
    }
    free(wall);
    free(floor_s);
    rp_sim_scenario_free(sc);
    return status;
}
