/*
 * bench_encode: records per second per core of `rapporteur encode` (read the agency CSV,
 * map, normalise and transliterate the names, encode CLKs and blocking keys, write the
 * submission) on about 1,000,000 simulated agency records, against clkhash's measured
 * rate on this machine class (peers-linkage.md §4: 5,000 FEBRL records in 0.41 s on one
 * core, about 12,000 records/s), with the goal of at least 20 times that. The records
 * come from `rapporteur simulate` (four agencies, names from nine locales in native
 * script and romanised); the binary is run as users run it, one process per agency
 * file, one thread each, and its CPU time is measured (getrusage of the children).
 */
#include "bench_util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"
/* clang-format on */

extern char **environ;

#define PEER_RATE      12195.0 /* clkhash: 5,000 records in 0.41 s, one core */
#define GOAL_FACTOR    20.0
#define DEFAULT_PEOPLE 1250000

static const char scenario_fmt[] =
    "{\"name\": \"bench-encode\", \"seed\": 1,\n"
    " \"population\": {\"size\": %zu, \"years\": [2020, 2024],\n"
    "  \"citizenship\": {\"GB\": 0.25, \"UA\": 0.15, \"RO\": 0.15, \"VN\": 0.1, \"NG\": 0.1,\n"
    "   \"CN\": 0.05, \"SY\": 0.05, \"PL\": 0.1, \"MD\": 0.05},\n"
    "  \"country_of_exploitation\": \"GB\"},\n"
    " \"lists\": [\n"
    "  {\"code\": \"POLICE\", \"p\": 0.25, \"duplicates\": 0.02, \"layout\": \"police\"},\n"
    "  {\"code\": \"NGO\", \"p\": 0.2, \"duplicates\": 0.05, \"layout\": \"ngo\", \"script\": "
    "\"native\"},\n"
    "  {\"code\": \"INSPECT\", \"p\": 0.15, \"layout\": \"inspectorate\"},\n"
    "  {\"code\": \"BORDER\", \"p\": 0.2, \"duplicates\": 0.03, \"layout\": \"border_guard\"}]}\n";

static const char *const lists[] = {"POLICE", "NGO", "INSPECT", "BORDER"};

/* Run argv; returns the exit status or -1. */
static int spawn(char *const argv[])
{
    pid_t pid;
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        return -1;
    }
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        return -1;
    }
    int st = 0;
    if (waitpid(pid, &st, 0) < 0) {
        return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double children_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    static char buf[1 << 16];
    long n = 0;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        for (size_t i = 0; i < got; i++) {
            n += buf[i] == '\n';
        }
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    size_t people = DEFAULT_PEOPLE;
    bool json = false;
    static const struct option opts[] = {{"people", required_argument, NULL, 'n'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'n') {
            if (!bench_opt_count(&people, optarg, 100, "bench_encode", "--people")) {
                return 2;
            }
        } else if (c == 'j') {
            json = true;
        } else {
            printf("usage: bench_encode [--people N] [--json]\n"
                   "Simulates N people (default %d, about 1,000,000 records) and times\n"
                   "'rapporteur encode' on every agency file.\n",
                   DEFAULT_PEOPLE);
            return c == 'h' ? 0 : 2;
        }
    }
    /* the rapporteur binary next to bench/ in the build folder */
    char bin[4096];
    snprintf(bin, sizeof bin, "%s", argv[0]);
    char *slash = strrchr(bin, '/');
    if (slash == NULL) {
        fprintf(stderr, "bench_encode: run me by path (make bench does)\n");
        return 2;
    }
    *slash = '\0';
    if (strlen(bin) + 16 >= sizeof bin) {
        return 2;
    }
    memcpy(slash, "/../rapporteur", 15);
    const char *tmpd = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/rp-bench-enc.XXXXXX", tmpd && tmpd[0] ? tmpd : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("bench_encode: mkdtemp");
        return 1;
    }
    char scen[4200], sim[4200], key[4200];
    snprintf(scen, sizeof scen, "%s/scenario.json", dir);
    snprintf(sim, sizeof sim, "%s/sim", dir);
    snprintf(key, sizeof key, "%s/secret.key", dir);
    FILE *f = fopen(scen, "w");
    if (f == NULL) {
        return 1;
    }
    fprintf(f, scenario_fmt, people);
    fclose(f);
    int status = 0;
    /* argv strings must be writable (posix_spawn takes char *const[]) */
    char a_sim[] = "simulate", a_config[] = "--config", a_out[] = "--out", a_quiet[] = "--quiet";
    char a_keygen[] = "keygen", a_secret[] = "--secret", a_encode[] = "encode";
    char a_mapping[] = "--mapping";
    char *sim_argv[] = {bin, a_sim, a_config, scen, a_out, sim, a_quiet, NULL};
    char *key_argv[] = {bin, a_keygen, a_secret, key, a_quiet, NULL};
    if (spawn(sim_argv) != 0 || spawn(key_argv) != 0) {
        fprintf(stderr, "bench_encode: simulate or keygen failed (is %s built?)\n", bin);
        bench_remove_tree(dir);
        return 1;
    }
    double records = 0, cpu = 0, wall = 0;
    for (size_t i = 0; i < sizeof lists / sizeof *lists && status == 0; i++) {
        char csv[4400], map[4400], out[4400];
        snprintf(csv, sizeof csv, "%s/%s.csv", sim, lists[i]);
        snprintf(map, sizeof map, "%s/%s.mapping.json", sim, lists[i]);
        snprintf(out, sizeof out, "%s/%s.sub", dir, lists[i]);
        char *enc_argv[] = {bin, a_encode, csv, a_mapping, map, a_secret,
                            key, a_out,    out, a_quiet,   NULL};
        records += (double)(count_lines(csv) - 1);
        double c0 = children_cpu();
        double t0 = bench_clock_seconds(CLOCK_MONOTONIC);
        int rc = spawn(enc_argv);
        wall += bench_clock_seconds(CLOCK_MONOTONIC) - t0;
        cpu += children_cpu() - c0;
        if (rc != 0) {
            fprintf(stderr, "bench_encode: encode %s exited %d\n", lists[i], rc);
            status = 1;
        }
    }
    bench_remove_tree(dir);
    if (status != 0) {
        return status;
    }
    double rate = records / cpu;
    bool goal = rate >= GOAL_FACTOR * PEER_RATE;
    if (json) {
        json_t *o = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:b}", "bench", "encode", "records",
                              records, "cpu_s", cpu, "wall_s", wall, "records_per_cpu_s", rate,
                              "ratio_to_clkhash", rate / PEER_RATE, "goal_met", goal);
        char *s = json_dumps(o, JSON_INDENT(2));
        puts(s);
        free(s);
        json_decref(o);
    } else {
        bench_machine m;
        bench_machine_describe(&m);
        bench_machine_print(&m);
        printf("encode: %.0f simulated agency records in 4 files (read, map, normalise,\n"
               "        transliterate, CLK + blocking keys, write), one process per file\n",
               records);
        printf("  rapporteur encode   %8.2f s CPU (%.2f s wall)   %9.0f records/s per core\n", cpu,
               wall, rate);
        printf("  clkhash (peer)                              %9.0f records/s per core\n",
               PEER_RATE);
        printf("  ratio %.1fx; goal >= %.0fx: %s\n", rate / PEER_RATE, GOAL_FACTOR,
               goal ? "met" : "NOT met");
    }
    return 0;
}
