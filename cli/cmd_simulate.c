/*
 * rapporteur CLI: `rapporteur simulate --config FILE --out DIR [--seed N]`, a hidden
 * population with known truth and the agency files that would record it
 * (include/rapporteur/sim.h, rp_sim_run; the scenario schema is docs/scenarios.md).
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/sim.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_NAME "simulate"

#ifndef RP_DATADIR
#    define RP_DATADIR "data"
#endif

enum { OPT_CONFIG = RP_CLI_OPT_FIRST, OPT_OUT, OPT_SEED, OPT_NAMES };

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"config", required_argument, NULL, OPT_CONFIG},
                                         {"out", required_argument, NULL, OPT_OUT},
                                         {"seed", required_argument, NULL, OPT_SEED},
                                         {"names", required_argument, NULL, OPT_NAMES},
                                         {NULL, 0, NULL, 0}};

typedef struct args {
    const char *config;
    const char *out;
    const char *names;
    uint64_t seed;
    bool seed_set;
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur simulate --config FILE --out DIR [--seed N] [--names DIR] [--json]\n"
            "\n"
            "Simulate a scenario with known truth: a hidden population of victims (citizenship,\n"
            "sex, age, birth date, names in native script, forms of exploitation and labour\n"
            "sectors, years), the agencies' lists that record some of them (capture probabilities\n"
            "that differ by person and list dependence), within-list duplicates and recording\n"
            "errors (typos, other transliterations, swapped names, day/month swaps, wrong birth\n"
            "years, missing fields). The people are made up; no real data is used.\n"
            "\n"
            "Writes into DIR (which must not exist or be empty; nothing is left on failure):\n"
            "  <LIST>.csv            each agency's file in its own layout and codes\n"
            "  <LIST>.mapping.json   the mapping that imports it ('rapporteur import')\n"
            "  truth.csv             list, case_id, person_id, duplicate, errors of every record\n"
            "  persons.csv           the whole population with its true capture histories\n"
            "  captures.csv          true capture histories for 'rapporteur estimate'\n"
            "  scenario.json         the scenario with every default and the seed used\n"
            "  summary.json          configured against realised capture and error rates\n"
            "\n"
            "Options:\n"
            "  --config FILE        scenario file (JSON; docs/scenarios.md; examples in\n"
            "                       data/scenarios/)\n"
            "  --out DIR            output folder\n"
            "  --seed N             random seed (default: the scenario's \"seed\"); the same\n"
            "                       scenario and seed give byte-identical files\n"
            "  --names DIR          name lists (default $RAPPORTEUR_DATA/names, else\n"
            "                       %s/names)\n"
            "  --json               print the summary as JSON\n"
            "  -q, --quiet          no summary and no progress bar\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 ok, 1 runtime error, 2 usage (also: DIR is not empty), 4 I/O\n"
            "(cannot read the names or write DIR), 65 a scenario that is not JSON or breaks\n"
            "the schema (the message gives the JSON path), or a name list that does not parse.\n",
            RP_DATADIR);
}

static int apply(int opt, const char *value, const char *name, void *payload)
{
    args *a = payload;
    switch (opt) {
    case OPT_CONFIG:
        a->config = value;
        return -1;
    case OPT_OUT:
        a->out = value;
        return -1;
    case OPT_NAMES:
        a->names = value;
        return -1;
    case OPT_SEED:
        if (!rp_cli_parse_u64(&a->seed, value) || a->seed > (1ull << 53))
            return rp_cli_usage_error(CMD_NAME, "%s: expected an integer 0..2^53, not '%s'", name,
                                      value);
        a->seed_set = true;
        return -1;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

static void on_progress(void *ctx, double fraction)
{
    rp_cli_progress((size_t)(fraction * 1000.0), 1000, ctx);
}

/* Print the human summary of summary.json. */
static void print_summary(const char *summary, const char *out)
{
    json_error_t je;
    json_t *s = json_loads(summary, 0, &je);
    if (s == NULL)
        return;
    printf("Simulated %s: %lld people, %lld of them on at least one list (seed %lld)\n",
           json_string_value(json_object_get(s, "scenario")),
           (long long)json_integer_value(json_object_get(s, "population")),
           (long long)json_integer_value(json_object_get(s, "observed")),
           (long long)json_integer_value(json_object_get(s, "seed")));
    printf("  %-14s %8s %8s %10s %9s\n", "list", "people", "records", "duplicates", "expected");
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(s, "lists"), i, l)
    {
        printf("  %-14s %8lld %8lld %10lld %9.1f\n", json_string_value(json_object_get(l, "code")),
               (long long)json_integer_value(json_object_get(l, "people")),
               (long long)json_integer_value(json_object_get(l, "records")),
               (long long)json_integer_value(json_object_get(l, "duplicates")),
               json_real_value(json_object_get(l, "expected_people")));
    }
    printf("Files in %s: one CSV and mapping per list, truth.csv, persons.csv, captures.csv\n"
           "Estimate on the true capture histories: rapporteur estimate %s/captures.csv\n",
           out, out);
    json_decref(s);
}

int cmd_simulate(int argc, char **argv)
{
    rp_cli_common common = {false, false, false};
    args a;
    memset(&a, 0, sizeof a);
    int status = rp_cli_parse_opts(&common, CMD_NAME, argc, argv, longopts, usage, apply, &a);
    if (status == -1)
        status = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (status != -1)
        return status;
    if (a.config == NULL)
        return rp_cli_usage_error(CMD_NAME, "--config FILE is required");
    if (a.out == NULL || a.out[0] == '\0')
        return rp_cli_usage_error(CMD_NAME, "--out DIR is required");

    char names[4096];
    if (a.names == NULL) {
        const char *env = getenv("RAPPORTEUR_DATA");
        snprintf(names, sizeof names, "%s/names", env != NULL && env[0] ? env : RP_DATADIR);
        a.names = names;
    }
    rp_error err = RP_ERROR_INIT;
    rp_sim_scenario *sc = NULL;
    char *summary = NULL;
    int rc = rp_sim_scenario_load(&sc, a.config, &err);
    if (rc != RP_OK) {
        status = rp_cli_report(&err, common.json);
        if (rc == RP_EINVAL) /* the scenario breaks the schema: bad input data */
            status = RP_EXIT_DATAERR;
        goto out;
    }
    rp_cli_progress_state ps = {.enabled = rp_cli_progress_wanted(common.quiet || common.json),
                                .label = "simulate",
                                .last_percent = -1,
                                .drawn = false};
    rp_sim_run_opts opts = RP_SIM_RUN_OPTS_INIT;
    opts.names_dir = a.names;
    opts.out_dir = a.out;
    opts.seed = a.seed;
    opts.seed_set = a.seed_set;
    opts.progress = on_progress;
    opts.progress_ctx = &ps;
    rc = rp_sim_run(sc, &opts, &summary, &err);
    rp_cli_progress_end(&ps);
    if (rc != RP_OK) {
        status = rp_cli_report(&err, common.json);
        goto out;
    }
    status = RP_EXIT_OK;
    if (common.json) {
        fputs(summary, stdout);
    } else if (!common.quiet) {
        print_summary(summary, a.out);
    }
out:
    rp_free(summary);
    rp_sim_scenario_free(sc);
    return status;
}
