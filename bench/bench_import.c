/*
 * bench_import: wall and CPU time of a validated import into the store (rp_store_import:
 * read, map, validate, store or quarantine, one transaction) against the floor of
 * `sqlite3 DB ".import --csv FILE t"` on the same generated agency CSV (1,000,000 rows
 * by default), and their ratio against the goal of at most 3x. `make bench` runs it from
 * the repository root; bench/README.md explains the method and holds results.
 */
#include "bench_util.h"

#include <rapporteur/rapporteur.h>
#include <rapporteur/store.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"
/* clang-format on */

extern char **environ;

/* The goal of the issue: our import takes at most this many times the sqlite3 floor. */
#define GOAL_RATIO 3.0

#define DEFAULT_ROWS 1000000
#define DEFAULT_REPS 3
#define DEFAULT_SEED 20261129u

/* One row in this many carries a broken rule (age 130 or an impossible date). */
#define BAD_ROW_EVERY 97

/* ==== command line ==== */

typedef struct bench_args {
    size_t rows;
    size_t reps;
    const char *dir; /* NULL: a new directory under $TMPDIR */
    bool keep;
    bool json;
    bool strict;
} bench_args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_import [options]\n"
            "\n"
            "Generate an agency CSV of N rows (13 columns: case and person references, a\n"
            "date d.m.Y, year, sex, age, nationality as alpha-3, country of exploitation,\n"
            "forms of exploitation split on ';', three means-of-control flags, status;\n"
            "one row in %d breaks a rule) and its mapping, then time\n"
            "  ours:   rp_store_import() into a new store (WAL, one transaction), and\n"
            "  floor:  sqlite3 DB \".import --csv FILE t\" into a new database,\n"
            "and report the ratio ours / floor against the goal of at most %.0fx. Times\n"
            "are the median of the repetitions (wall = CLOCK_MONOTONIC; ours also CPU).\n"
            "Without the sqlite3 shell on PATH the floor is skipped and said so.\n"
            "\n"
            "Options:\n"
            "  --rows N         rows to generate (default %d)\n"
            "  --reps N         timed repetitions of each side (default %d)\n"
            "  --dir DIR        work in DIR (default: a new directory under $TMPDIR or /tmp)\n"
            "  --keep           keep the generated files and databases\n"
            "  --strict         exit 1 when the ratio is above the goal\n"
            "  --json           print one JSON object on stdout instead of the report\n"
            "  -h, --help       show this help\n"
            "\n"
            "Exit status: 0 ok (whatever the ratio, unless --strict), 1 a step failed or\n"
            "--strict found a shortfall, 2 usage.\n",
            BAD_ROW_EVERY, GOAL_RATIO, DEFAULT_ROWS, DEFAULT_REPS);
}

/* Returns -1 to go on, or an exit status. */
static int parse_args(bench_args *a, int argc, char **argv)
{
    enum { OPT_ROWS = 256, OPT_REPS, OPT_DIR, OPT_KEEP, OPT_STRICT, OPT_JSON };
    static const struct option longopts[] = {{"rows", required_argument, NULL, OPT_ROWS},
                                             {"reps", required_argument, NULL, OPT_REPS},
                                             {"dir", required_argument, NULL, OPT_DIR},
                                             {"keep", no_argument, NULL, OPT_KEEP},
                                             {"strict", no_argument, NULL, OPT_STRICT},
                                             {"json", no_argument, NULL, OPT_JSON},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    for (;;) {
        int opt = getopt_long(argc, argv, "h", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case OPT_ROWS:
            if (!bench_opt_count(&a->rows, optarg, 1, "bench_import", "--rows"))
                return 2;
            break;
        case OPT_REPS:
            if (!bench_opt_count(&a->reps, optarg, 1, "bench_import", "--reps"))
                return 2;
            break;
        case OPT_DIR:
            a->dir = optarg;
            break;
        case OPT_KEEP:
            a->keep = true;
            break;
        case OPT_STRICT:
            a->strict = true;
            break;
        case OPT_JSON:
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
    if (optind < argc) {
        fprintf(stderr, "bench_import: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

/* ==== the sqlite3 shell ==== */

/*
 * Run argv (argv[0] looked up on PATH) with stderr to /dev/null and the first line of its
 * stdout in @p line (may be NULL: stdout to /dev/null). @return its exit status, or -1
 * when it could not be started or did not exit normally.
 */
static int spawn_wait(char *const argv[], char *line, size_t size)
{
    posix_spawn_file_actions_t fa;
    pid_t pid = 0;
    int status = 0;
    int fds[2] = {-1, -1};
    if (line != NULL) {
        line[0] = '\0';
        if (pipe(fds) != 0)
            return -1;
    }
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    if (line != NULL) {
        posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        posix_spawn_file_actions_addclose(&fa, fds[1]);
    } else {
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    }
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (line != NULL) {
        close(fds[1]);
        FILE *f = rc == 0 ? fdopen(fds[0], "r") : NULL;
        if (f != NULL) {
            if (fgets(line, (int)size, f) == NULL)
                line[0] = '\0';
            line[strcspn(line, "\n")] = '\0';
            /* drain the rest so that the child never blocks on a full pipe */
            char sink[4096];
            while (fread(sink, 1, sizeof(sink), f) > 0) {
            }
            fclose(f);
        } else {
            close(fds[0]);
        }
    }
    if (rc != 0)
        return -1;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* First line printed by `sqlite3 --version` (version, date), or "" without the shell. */
static void sqlite3_shell_version(char *out, size_t size)
{
    char line[256];
    char name[] = "sqlite3", opt[] = "--version";
    char *argv[] = {name, opt, NULL};
    out[0] = '\0';
    if (spawn_wait(argv, line, sizeof(line)) != 0)
        return;
    /* "3.40.1 2022-12-28 14:03:47 df5c253c..." : keep version and date */
    size_t end = 0;
    for (int field = 0; field < 2 && line[end]; field++) {
        end += strspn(line + end, " ");
        end += strcspn(line + end, " ");
    }
    snprintf(out, size, "%.*s", (int)end, line);
}

/* ==== the generated agency file ==== */

/* splitmix64 (Steele, Lea & Flood 2014): a seeded generator; rand() is banned. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t pick(uint64_t *state, size_t n)
{
    return (size_t)(next_random(state) % n);
}

static const char *const nationalities[] = {"UKR", "NGA", "ROU", "BGR", "VNM", "CHN",
                                            "ALB", "MDA", "PHL", "IND", "BRA", "NAM",
                                            "ERI", "SYR", "POL", "DEU", "-99", "Unknown"};
static const char *const countries[] = {"DE", "NL", "GB", "IT", "ES", "FR", "BE",
                                        "AT", "PL", "CZ", "US", "NA", "",   "Unknown"};
static const char *const forms[] = {"sex", "labour", "sex;labour", "begging", "criminal",
                                    "sex", "labour", "domestic",   "",        "marriage"};
static const char *const sexes[] = {"F", "F", "F", "M", "M", "X", "U", ""};
static const char *const statuses[] = {"identified", "presumed", "presumed", ""};

/* The mapping of the generated file (format: docs/data-standard.md). */
static const char mapping_json[] =
    "{\n"
    "  \"name\": \"bench-agency\",\n"
    "  \"version\": 1,\n"
    "  \"description\": \"bench_import: generated police file\",\n"
    "  \"missing\": [\"-99\"],\n"
    "  \"unknown\": [\"Unknown\", \"U\"],\n"
    "  \"list\": {\"value\": \"POL\"},\n"
    "  \"fields\": {\n"
    "    \"case_id\": {\"column\": \"case_ref\"},\n"
    "    \"person_id\": {\"column\": \"person_ref\"},\n"
    "    \"registration_date\": {\"column\": \"reg_date\", \"format\": \"%d.%m.%Y\"},\n"
    "    \"registration_year\": {\"column\": \"year\"},\n"
    "    \"id_status\": {\"column\": \"status\"},\n"
    "    \"sex\": {\"column\": \"sex\", \"recode\": {\"F\": \"female\", \"M\": \"male\","
    " \"X\": \"other\"}},\n"
    "    \"age\": {\"column\": \"age\"},\n"
    "    \"citizenship\": {\"column\": \"nationality\"},\n"
    "    \"country_of_exploitation\": {\"column\": \"country_exploited\"},\n"
    "    \"exploitation\": {\"column\": \"forms\", \"split\": \";\", \"recode\": {\"sex\": "
    "\"sexual\", \"labour\": \"forced_labour\", \"begging\": \"forced_begging\", \"criminal\": "
    "\"forced_criminality\", \"domestic\": \"domestic_servitude\", \"marriage\": "
    "\"forced_marriage\"}},\n"
    "    \"means_of_control\": {\"flags\": {\"ctl_threats\": \"threats\", \"ctl_debt\": "
    "\"debt_bondage\", \"ctl_documents\": \"withholds_documents\"}}\n"
    "  }\n"
    "}\n";

static int write_mapping(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t n = sizeof(mapping_json) - 1;
    bool ok = fwrite(mapping_json, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Write @p rows rows; @p n_bad gets the number of rows that break a rule. */
static int write_csv(const char *path, size_t rows, size_t *n_bad)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    static char buf[1 << 20];
    setvbuf(f, buf, _IOFBF, sizeof(buf));
    uint64_t state = DEFAULT_SEED;
    *n_bad = 0;
    fprintf(f, "case_ref,person_ref,reg_date,year,sex,age,nationality,country_exploited,"
               "forms,ctl_threats,ctl_debt,ctl_documents,status\n");
    for (size_t i = 0; i < rows; i++) {
        int year = 2010 + (int)pick(&state, 14);
        int month = 1 + (int)pick(&state, 12);
        int day = 1 + (int)pick(&state, 28);
        int age = pick(&state, 10) == 0 ? -99 : 12 + (int)pick(&state, 50);
        bool bad = i % BAD_ROW_EVERY == BAD_ROW_EVERY - 1;
        if (bad) {
            (*n_bad)++;
            if (i % 2 == 0)
                age = 130;
            else
                month = 2, day = 30; /* 30 February */
        }
        char person[32] = "";
        if (pick(&state, 3) != 0)
            snprintf(person, sizeof(person), "H%08zu", pick(&state, rows));
        fprintf(f, "POL-%09zu,%s,%02d.%02d.%d,%d,%s,%d,%s,%s,%s,%d,%d,%d,%s\n", i + 1, person, day,
                month, year, year, sexes[pick(&state, 8)], age, nationalities[pick(&state, 18)],
                countries[pick(&state, 14)], forms[pick(&state, 10)], (int)pick(&state, 2),
                (int)pick(&state, 2), (int)pick(&state, 2), statuses[pick(&state, 4)]);
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* ==== the two sides ==== */

typedef struct side {
    bool ran;
    double wall_s, wall_min_s, cpu_s; /* medians (cpu: ours only) */
    long long rows;                   /* rows the side ended with */
    char msg[600];                    /* why it did not run */
} side;

static void remove_store(const char *db)
{
    char p[1200];
    unlink(db);
    snprintf(p, sizeof(p), "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", db);
    unlink(p);
    snprintf(p, sizeof(p), "%s-journal", db);
    unlink(p);
}

static int run_ours(side *s,
                    const char *dir,
                    const char *csv,
                    const char *map_path,
                    size_t reps,
                    long long *stored,
                    long long *quarantined)
{
    double *wall = rp_calloc(reps, sizeof(double)), *cpu = rp_calloc(reps, sizeof(double));
    rp_mapping *map = NULL;
    rp_error err = RP_ERROR_INIT;
    int rc = -1;
    if (!wall || !cpu) {
        snprintf(s->msg, sizeof(s->msg), "out of memory");
        goto out;
    }
    if (rp_mapping_load(&map, map_path, &err) != RP_OK) {
        snprintf(s->msg, sizeof(s->msg), "mapping: %s", err.msg);
        goto out;
    }
    char db[1100];
    snprintf(db, sizeof(db), "%s/ours.db", dir);
    for (size_t r = 0; r < reps; r++) {
        rp_store *st = NULL;
        remove_store(db);
        if (rp_store_open(&st, db, RP_STORE_CREATE, &err) != RP_OK) {
            snprintf(s->msg, sizeof(s->msg), "store: %s", err.msg);
            goto out;
        }
        rp_import_opts opts = RP_IMPORT_OPTS_INIT;
        opts.agency = "bench";
        rp_import_report rep;
        memset(&rep, 0, sizeof(rep));
        double w0 = bench_clock_seconds(CLOCK_MONOTONIC),
               c0 = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        int irc = rp_store_import(&rep, st, csv, map, &opts, &err);
        cpu[r] = bench_clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
        wall[r] = bench_clock_seconds(CLOCK_MONOTONIC) - w0;
        rp_store_close(st);
        if (irc != RP_OK) {
            char where[1024];
            snprintf(s->msg, sizeof(s->msg), "import: %s",
                     rp_error_format(&err, where, sizeof(where)));
            goto out;
        }
        s->rows = rep.read;
        *stored = rep.stored;
        *quarantined = rep.quarantined;
    }
    s->ran = true;
    s->wall_s = bench_median(wall, reps);
    s->wall_min_s = wall[0];
    s->cpu_s = bench_median(cpu, reps);
    rc = 0;
out:
    rp_mapping_free(map);
    rp_free(wall);
    rp_free(cpu);
    return rc;
}

/* Rows in table t of @p db, by the sqlite3 shell; -1 on failure. */
static long long count_rows(const char *db)
{
    char line[64];
    char name[] = "sqlite3", sql[] = "SELECT count(*) FROM t";
    char db_arg[1100];
    snprintf(db_arg, sizeof(db_arg), "%s", db);
    char *argv[] = {name, db_arg, sql, NULL};
    if (spawn_wait(argv, line, sizeof(line)) != 0)
        return -1;
    char *end = NULL;
    long long v = strtoll(line, &end, 10);
    return end != line ? v : -1;
}

static int run_floor(side *s, const char *dir, const char *csv, size_t reps, bool have_shell)
{
    if (!have_shell) {
        snprintf(s->msg, sizeof(s->msg), "skipped: no sqlite3 shell on PATH");
        return 0;
    }
    double *wall = rp_calloc(reps, sizeof(double));
    if (!wall) {
        snprintf(s->msg, sizeof(s->msg), "out of memory");
        return -1;
    }
    char db[1100], import[1200];
    snprintf(db, sizeof(db), "%s/floor.db", dir);
    snprintf(import, sizeof(import), ".import --csv \"%s\" t", csv);
    char sqlite3_name[] = "sqlite3";
    char *argv[] = {sqlite3_name, db, import, NULL};
    for (size_t r = 0; r < reps; r++) {
        remove_store(db);
        double w0 = bench_clock_seconds(CLOCK_MONOTONIC);
        int st = spawn_wait(argv, NULL, 0);
        wall[r] = bench_clock_seconds(CLOCK_MONOTONIC) - w0;
        if (st != 0) {
            snprintf(s->msg, sizeof(s->msg), "sqlite3 .import failed (exit %d)", st);
            rp_free(wall);
            return -1;
        }
    }
    s->rows = count_rows(db);
    s->ran = true;
    s->wall_s = bench_median(wall, reps);
    s->wall_min_s = wall[0];
    s->cpu_s = NAN;
    rp_free(wall);
    return 0;
}

/* ==== main ==== */

static json_t *side_json(const side *s)
{
    return json_pack("{s:b, s:o, s:o, s:o, s:I, s:s}", "ran", s->ran, "wall_s",
                     bench_json_number(s->wall_s), "wall_min_s", bench_json_number(s->wall_min_s),
                     "cpu_s", bench_json_number(s->cpu_s), "rows", (json_int_t)s->rows, "note",
                     s->msg);
}

/* Everything one run of the bench knows, for the report functions below. */
typedef struct bench_run {
    bench_args a;
    bench_machine m;
    char sqlite3_shell[96]; /* `sqlite3 --version`, "" when absent */
    char dir[1024];
    char csv[1100], map_path[1100];
    size_t n_bad;
    double gen_s;
    long long csv_bytes;
    side ours, floor;
    long long stored, quarantined;
    double ratio;
    bool below;
} bench_run;

/* The work directory and the generated input. @return 0 or -1 (message printed). */
static int prepare_input(bench_run *r)
{
    if (r->a.dir) {
        snprintf(r->dir, sizeof(r->dir), "%s", r->a.dir);
        if (mkdir(r->dir, 0700) != 0 && errno != EEXIST) {
            fprintf(stderr, "bench_import: cannot create '%s': %s\n", r->dir, strerror(errno));
            return -1;
        }
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(r->dir, sizeof(r->dir), "%s/rp-bench-import.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(r->dir)) {
            fprintf(stderr, "bench_import: cannot create a directory: %s\n", strerror(errno));
            return -1;
        }
    }
    snprintf(r->csv, sizeof(r->csv), "%s/agency.csv", r->dir);
    snprintf(r->map_path, sizeof(r->map_path), "%s/agency.json", r->dir);
    double g0 = bench_clock_seconds(CLOCK_MONOTONIC);
    if (write_csv(r->csv, r->a.rows, &r->n_bad) != 0 || write_mapping(r->map_path) != 0) {
        fprintf(stderr, "bench_import: cannot write the input in '%s': %s\n", r->dir,
                strerror(errno));
        return -1;
    }
    r->gen_s = bench_clock_seconds(CLOCK_MONOTONIC) - g0;
    struct stat sb;
    r->csv_bytes = stat(r->csv, &sb) == 0 ? (long long)sb.st_size : -1;
    return 0;
}

static void print_header(const bench_run *r)
{
    printf("bench_import: validated import against sqlite3 .import (rapporteur %s)\n",
           RP_VERSION_STRING);
    bench_machine_print(&r->m);
    printf("floor      %s\n",
           r->sqlite3_shell[0] ? r->sqlite3_shell : "sqlite3 shell not found: skipped");
    printf("input      %zu rows, %.1f MB, %zu rows breaking a rule; generated in %.2f s (%s)\n",
           r->a.rows, (double)r->csv_bytes / 1e6, r->n_bad, r->gen_s, r->dir);
    printf("method     median wall time of %zu repetitions, each into a new database\n", r->a.reps);
    fflush(stdout);
}

static void print_results(const bench_run *r)
{
    const side *o = &r->ours, *f = &r->floor;
    if (o->ran)
        printf("ours       rp_store_import: %.2f s wall (median; fastest %.2f), %.2f s CPU; "
               "%.0f rows/s; read %lld = stored %lld + quarantined %lld\n",
               o->wall_s, o->wall_min_s, o->cpu_s, (double)o->rows / o->wall_s, o->rows, r->stored,
               r->quarantined);
    if (o->msg[0])
        printf("ours       FAILED: %s\n", o->msg);
    if (f->ran)
        printf("floor      sqlite3 .import --csv: %.2f s wall (median; fastest %.2f); %lld rows "
               "in t\n",
               f->wall_s, f->wall_min_s, f->rows);
    else
        printf("floor      %s\n", f->msg);
    if (isfinite(r->ratio))
        printf("ratio      %.2fx the floor   %s (goal at most %.0fx)\n", r->ratio,
               r->below ? "BELOW-GOAL" : "PASS", GOAL_RATIO);
    else
        printf("ratio      not available\n");
}

/* Print the JSON report. @return 0 or -1. */
static int print_json(const bench_run *r)
{
    const bench_machine *m = &r->m;
    const char *verdict = !isfinite(r->ratio) ? "NO-FLOOR" : (r->below ? "BELOW-GOAL" : "PASS");
    json_t *root = json_pack(
        "{s:s, s:{s:s, s:I, s:s, s:s, s:s, s:b, s:s}, s:{s:I, s:I, s:I, s:o}, s:I, s:o, s:o, "
        "s:I, s:I, s:o, s:f, s:s}",
        "bench", "import", "machine", "cpu", m->cpu, "cores", (json_int_t)m->cores, "compiler",
        m->compiler, "date", m->date, "load", m->load, "assertions", m->assertions, "sqlite3_shell",
        r->sqlite3_shell, "input", "rows", (json_int_t)r->a.rows, "bytes", (json_int_t)r->csv_bytes,
        "bad_rows", (json_int_t)r->n_bad, "generate_s", bench_json_number(r->gen_s), "reps",
        (json_int_t)r->a.reps, "ours", side_json(&r->ours), "floor", side_json(&r->floor), "stored",
        (json_int_t)r->stored, "quarantined", (json_int_t)r->quarantined, "ratio",
        bench_json_number(r->ratio), "goal_ratio", GOAL_RATIO, "verdict", verdict);
    int rc =
        root && json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) == 0 ? 0 : -1;
    putchar('\n');
    json_decref(root);
    if (rc != 0)
        fprintf(stderr, "bench_import: cannot write the JSON report\n");
    return rc;
}

/* Remove what the run created, unless --keep. */
static void cleanup(const bench_run *r)
{
    char p[1100];
    if (r->a.keep)
        return;
    remove_store(r->csv);
    unlink(r->map_path);
    snprintf(p, sizeof(p), "%s/ours.db", r->dir);
    remove_store(p);
    snprintf(p, sizeof(p), "%s/floor.db", r->dir);
    remove_store(p);
    if (!r->a.dir)
        rmdir(r->dir);
}

int main(int argc, char **argv)
{
    static bench_run r;
    r.a = (bench_args){DEFAULT_ROWS, DEFAULT_REPS, NULL, false, false, false};
    int st = parse_args(&r.a, argc, argv);
    if (st >= 0)
        return st;
    rp_init();
    bench_machine_describe(&r.m);
    sqlite3_shell_version(r.sqlite3_shell, sizeof(r.sqlite3_shell));
    if (prepare_input(&r) != 0)
        return 1;
    if (!r.a.json)
        print_header(&r);

    bool failed = false;
    if (run_ours(&r.ours, r.dir, r.csv, r.map_path, r.a.reps, &r.stored, &r.quarantined) != 0)
        failed = true;
    if (run_floor(&r.floor, r.dir, r.csv, r.a.reps, r.sqlite3_shell[0] != '\0') != 0)
        failed = true;
    r.ratio = r.ours.ran && r.floor.ran ? r.ours.wall_s / r.floor.wall_s : NAN;
    r.below = isfinite(r.ratio) && r.ratio > GOAL_RATIO;
    if (r.ours.ran &&
        (r.ours.rows != (long long)r.a.rows || r.stored + r.quarantined != r.ours.rows ||
         r.quarantined != (long long)r.n_bad)) {
        snprintf(r.ours.msg, sizeof(r.ours.msg),
                 "counts do not reconcile: read %lld, stored %lld, quarantined %lld "
                 "(expected %zu read, %zu quarantined)",
                 r.ours.rows, r.stored, r.quarantined, r.a.rows, r.n_bad);
        failed = true;
    }
    if (r.a.json) {
        if (print_json(&r) != 0)
            failed = true;
    } else {
        print_results(&r);
    }
    cleanup(&r);
    if (failed)
        return 1;
    return r.a.strict && r.below ? 1 : 0;
}
