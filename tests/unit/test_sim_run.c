/*
 * Unit tests for the scenario simulator's generator (src/sim/scenario_sim.c, rp_sim_run):
 * byte-identical files from one seed, streams kept apart (errors do not move the
 * population), realised capture probabilities, heterogeneity and list dependence
 * against closed forms within sampling error, recording errors against their rates
 * and, record by record, against the true birth dates, duplicates, the truth files'
 * consistency, and the output folder rules.
 */
#include "rp_test.h"
#include "sim/sim_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/sim.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char names_dir[4096];

static int setup(void **state)
{
    (void)state;
    rp_init();
    char fx[2048];
    rp_test_fixture(fx, sizeof fx, "");
    snprintf(names_dir, sizeof names_dir, "%s/../../data/names", fx);
    return 0;
}

/* ==== helpers ==== */

static rp_sim_scenario *parse(const char *json)
{
    rp_sim_scenario *sc = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim__scenario_parse(&sc, json, strlen(json), "test.json", &err), &err);
    return sc;
}

/* Run @p sc into a fresh folder under @p dir named @p name; returns the summary. */
static json_t *run_into(const rp_sim_scenario *sc,
                        const char *dir,
                        const char *name,
                        uint64_t seed,
                        char *out,
                        size_t out_size)
{
    int w = snprintf(out, out_size, "%s/%s", dir, name);
    assert_true(w > 0 && (size_t)w < out_size);
    rp_sim_run_opts o = RP_SIM_RUN_OPTS_INIT;
    o.names_dir = names_dir;
    o.out_dir = out;
    o.seed = seed;
    o.seed_set = true;
    char *sum = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_sim_run(sc, &o, &sum, &err), &err);
    json_error_t je;
    json_t *j = json_loads(sum, 0, &je);
    assert_non_null(j);
    rp_free(sum);
    return j;
}

static char *slurp(const char *dir, const char *file, size_t *len)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    char *s = rp_test_slurp(p, len);
    assert_non_null(s);
    return s;
}

static bool same_file(const char *a, const char *b, const char *file)
{
    size_t la, lb;
    char *x = slurp(a, file, &la), *y = slurp(b, file, &lb);
    bool same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* Split one CSV line (no quotes in the simulator's truth files) at commas, in place. */
static size_t split(char *line, char **f, size_t max)
{
    size_t n = 0;
    f[n++] = line;
    for (char *c = line; *c && n < max; c++) {
        if (*c == ',') {
            *c = '\0';
            f[n++] = c + 1;
        }
    }
    return n;
}

static double logistic(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static double logit(double p)
{
    return log(p / (1.0 - p));
}

/* |x - n p| within @p z binomial sds. */
static void assert_binomial(double x, double n, double p, double z)
{
    double sd = sqrt(n * p * (1.0 - p));
    if (fabs(x - n * p) > z * sd + 1e-9) {
        fail_msg("observed %.0f of %.0f, expected %.2f (p=%.4f, sd %.2f)", x, n, n * p, p, sd);
    }
}

#define BASE_POPULATION                                                                      \
    "\"population\": {\"size\": %d, \"years\": [2021, 2023],"                                \
    " \"citizenship\": {\"UA\": 0.3, \"RO\": 0.2, \"VN\": 0.15, \"GB\": 0.2, \"CZ\": 0.15}," \
    " \"country_of_exploitation\": \"GB\"}"

/* ==== tests ==== */

static void sim_run__same_seed_same_files(void **state)
{
    (void)state;
    char json[4096], pop[512];
    snprintf(pop, sizeof pop, BASE_POPULATION, 3000);
    snprintf(json, sizeof json,
             "{\"name\": \"t\", %s, \"lists\": ["
             "{\"code\": \"POLICE\", \"p\": 0.3, \"layout\": \"police\", \"duplicates\": 0.05},"
             "{\"code\": \"NGO\", \"p\": 0.25, \"layout\": \"ngo\", \"script\": \"native\"},"
             "{\"code\": \"INSP\", \"p\": 0.2, \"layout\": \"inspectorate\","
             " \"effects\": {\"exploitation=forced_labour\": 1.5}}],"
             " \"dependence\": [{\"lists\": [\"POLICE\", \"NGO\"], \"log_odds_ratio\": 0.5}]}",
             pop);
    rp_sim_scenario *sc = parse(json);
    char tmp[2048], a[4096], b[4096], c[4096];
    rp_test_tmpdir(tmp, sizeof tmp);
    json_decref(run_into(sc, tmp, "a", 7, a, sizeof a));
    json_decref(run_into(sc, tmp, "b", 7, b, sizeof b));
    json_decref(run_into(sc, tmp, "c", 8, c, sizeof c));
    static const char *const files[] = {
        "POLICE.csv",       "NGO.csv",           "INSP.csv",    "POLICE.mapping.json",
        "NGO.mapping.json", "INSP.mapping.json", "truth.csv",   "persons.csv",
        "captures.csv",     "scenario.json",     "summary.json"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if (!same_file(a, b, files[i])) {
            fail_msg("%s differs between two runs with seed 7", files[i]);
        }
    }
    assert_false(same_file(a, c, "persons.csv"));
    assert_false(same_file(a, c, "POLICE.csv"));
    rp_test_rmtree(tmp);
    rp_sim_scenario_free(sc);
}

static void sim_run__errors_do_not_move_the_population(void **state)
{
    (void)state;
    char j1[4096], j2[4096], pop[512];
    snprintf(pop, sizeof pop, BASE_POPULATION, 2000);
#define TWO_LISTS                                                                             \
    "\"lists\": [{\"code\": \"A\", \"p\": 0.3%s}, {\"code\": \"B\", \"p\": 0.3, \"layout\": " \
    "\"ngo\"%s}]}"
    char l1[512], l2[512];
    snprintf(l1, sizeof l1, TWO_LISTS, "", "");
    snprintf(l2, sizeof l2, TWO_LISTS, ", \"errors\": \"none\"", ", \"errors\": {\"typo\": 0.5}");
    snprintf(j1, sizeof j1, "{\"name\": \"t\", %s, %s", pop, l1);
    snprintf(j2, sizeof j2, "{\"name\": \"t\", %s, %s", pop, l2);
    rp_sim_scenario *s1 = parse(j1), *s2 = parse(j2);
    char tmp[2048], a[4096], b[4096];
    rp_test_tmpdir(tmp, sizeof tmp);
    json_decref(run_into(s1, tmp, "a", 11, a, sizeof a));
    json_decref(run_into(s2, tmp, "b", 11, b, sizeof b));
    assert_true(same_file(a, b, "persons.csv"));
    assert_true(same_file(a, b, "captures.csv"));
    assert_false(same_file(a, b, "B.csv"));
    rp_test_rmtree(tmp);
    rp_sim_scenario_free(s1);
    rp_sim_scenario_free(s2);
}

/* Cells of captures.csv (K lists, history bit k = column k) into @p cells. */
static void read_captures(const char *dir, size_t K, double *cells)
{
    size_t len;
    char *s = slurp(dir, "captures.csv", &len);
    char *save = NULL;
    char *line = strtok_r(s, "\n", &save); /* header */
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *f[20];
        size_t n = split(line, f, 20);
        assert_int_equal(n, K + 1);
        unsigned h = 0;
        for (size_t k = 0; k < K; k++) {
            if (f[k][0] == '1') {
                h |= 1u << k;
            }
        }
        cells[h] = strtod(f[K], NULL);
    }
    free(s);
}

static void sim_run__capture_and_dependence_match_the_model(void **state)
{
    (void)state;
    /* Three lists, A and B positively dependent (log odds ratio 0.7), C independent. */
    const int N = 40000;
    char json[4096], pop[512];
    snprintf(pop, sizeof pop, BASE_POPULATION, N);
    snprintf(json, sizeof json,
             "{\"name\": \"t\", %s, \"lists\": ["
             "{\"code\": \"A\", \"p\": 0.2, \"errors\": \"none\"},"
             "{\"code\": \"B\", \"p\": 0.3, \"errors\": \"none\", \"layout\": \"ngo\"},"
             "{\"code\": \"C\", \"p\": 0.15, \"errors\": \"none\", \"layout\": \"hotline\"}],"
             " \"dependence\": [{\"lists\": [\"A\", \"B\"], \"log_odds_ratio\": 0.7}]}",
             pop);
    rp_sim_scenario *sc = parse(json);
    char tmp[2048], a[4096];
    rp_test_tmpdir(tmp, sizeof tmp);
    json_t *sum = run_into(sc, tmp, "a", 3, a, sizeof a);
    double cells[8] = {0};
    read_captures(a, 3, cells);
    double obs = 0;
    for (int h = 1; h < 8; h++) {
        obs += cells[h];
    }
    cells[0] = N - obs;
    /* closed form: A,B cells 1 : eA : eB : eA eB e^0.7; C independent with p 0.15 */
    double eA = 0.2 / 0.8, eB = 0.3 / 0.7, l = exp(0.7);
    double z = 1 + eA + eB + eA * eB * l;
    double pA = (eA + eA * eB * l) / z, pB = (eB + eA * eB * l) / z;
    double onA = 0, onB = 0, onC = 0;
    for (int h = 0; h < 8; h++) {
        onA += (h & 1) ? cells[h] : 0;
        onB += (h & 2) ? cells[h] : 0;
        onC += (h & 4) ? cells[h] : 0;
    }
    assert_binomial(onA, N, pA, 4.0);
    assert_binomial(onB, N, pB, 4.0);
    assert_binomial(onC, N, 0.15, 4.0);
    /* log odds ratios with their Woolf standard errors */
    double t[2][2] = {{0, 0}, {0, 0}}, u[2][2] = {{0, 0}, {0, 0}};
    for (int h = 0; h < 8; h++) {
        t[h & 1][(h >> 1) & 1] += cells[h];
        u[h & 1][(h >> 2) & 1] += cells[h];
    }
    double lor = log(t[1][1] * t[0][0] / (t[0][1] * t[1][0]));
    double se = sqrt(1 / t[1][1] + 1 / t[0][0] + 1 / t[0][1] + 1 / t[1][0]);
    assert_true(fabs(lor - 0.7) < 4 * se);
    double lor2 = log(u[1][1] * u[0][0] / (u[0][1] * u[1][0]));
    double se2 = sqrt(1 / u[1][1] + 1 / u[0][0] + 1 / u[0][1] + 1 / u[1][0]);
    assert_true(fabs(lor2) < 4 * se2);
    /* the summary's expectations are the closed forms */
    json_t *lists = json_object_get(sum, "lists");
    assert_close(json_real_value(json_object_get(json_array_get(lists, 0), "expected_people")),
                 N * pA, 1e-9, 1e-6);
    assert_close(json_real_value(json_object_get(json_array_get(lists, 2), "expected_people")),
                 N * 0.15, 1e-9, 1e-6);
    assert_close(json_real_value(json_object_get(json_array_get(json_object_get(sum, "pairs"), 0),
                                                 "expected_odds_ratio")),
                 l, 1e-9, 0);
    json_decref(sum);
    rp_test_rmtree(tmp);
    rp_sim_scenario_free(sc);
}

static void sim_run__heterogeneity_by_person(void **state)
{
    (void)state;
    const int N = 30000;
    char json[4096], pop[512];
    snprintf(pop, sizeof pop, BASE_POPULATION, N);
    snprintf(json, sizeof json,
             "{\"name\": \"t\", %s, \"lists\": ["
             "{\"code\": \"A\", \"p\": 0.3, \"effects\": {\"sex=male\": -1.0}},"
             "{\"code\": \"B\", \"p\": 0.2, \"effects\": {\"minor\": 1.0,"
             " \"citizenship=VN\": 0.5}, \"layout\": \"ngo\"}]}",
             pop);
    rp_sim_scenario *sc = parse(json);
    char tmp[2048], a[4096];
    rp_test_tmpdir(tmp, sizeof tmp);
    json_decref(run_into(sc, tmp, "a", 5, a, sizeof a));
    size_t len;
    char *s = slurp(a, "persons.csv", &len);
    /* persons.csv: person_id,sex,birth_date,age,citizenship,locale,given,family,patronymic,
       document,country,identification_date,exploitation,labour_sectors,capture_history;
       names are never quoted for these locales (no commas) */
    double n[2][2][2] = {{{0}}}, onA[2] = {0}, nA[2] = {0};
    char *save = NULL;
    char *line = strtok_r(s, "\n", &save);
    int rows = 0;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *f[20];
        size_t nf = split(line, f, 20);
        assert_int_equal(nf, 15);
        rows++;
        int male = strcmp(f[1], "male") == 0;
        int minor = strtol(f[3], NULL, 10) < 18;
        int vn = strcmp(f[4], "VN") == 0;
        nA[male] += 1;
        onA[male] += f[14][0] == '1';
        n[minor][vn][0] += 1;
        n[minor][vn][1] += f[14][1] == '1';
    }
    free(s);
    assert_int_equal(rows, N);
    assert_binomial(onA[0], nA[0], 0.3, 4.0);
    assert_binomial(onA[1], nA[1], logistic(logit(0.3) - 1.0), 4.0);
    for (int m = 0; m < 2; m++) {
        for (int v = 0; v < 2; v++) {
            double p = logistic(logit(0.2) + m * 1.0 + v * 0.5);
            assert_true(n[m][v][0] > 50);
            assert_binomial(n[m][v][1], n[m][v][0], p, 4.0);
        }
    }
    rp_test_rmtree(tmp);
    rp_sim_scenario_free(sc);
}

/* Column index of @p name in header line @p hdr split by @p delim; -1 if absent. */
static int column_of(char *const *f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i], name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static void sim_run__recording_errors(void **state)
{
    (void)state;
    const int N = 20000;
    char json[8192], pop[512];
    snprintf(pop, sizeof pop, BASE_POPULATION, N);
    const char *errs = "\"errors\": {\"typo\": 0.1, \"translit\": 0.2, \"order_swap\": 0.05,"
                       " \"day_month_swap\": 0.1, \"wrong_birth_year\": 0.05,"
                       " \"missing_birth_date\": 0.05, \"missing_given\": 0.03,"
                       " \"missing_sex\": 0.03, \"missing_citizenship\": 0.03,"
                       " \"patronymic_dropped\": 0.5, \"masculine_surname\": 0.3}";
    snprintf(json, sizeof json,
             "{\"name\": \"t\", %s, \"lists\": ["
             "{\"code\": \"POLICE\", \"p\": 0.5, \"duplicates\": 0.1, %s},"
             "{\"code\": \"NGO\", \"p\": 0.5, \"layout\": \"ngo\", \"script\": \"native\", %s}]}",
             pop, errs, errs);
    rp_sim_scenario *sc = parse(json);
    char tmp[2048], a[4096];
    rp_test_tmpdir(tmp, sizeof tmp);
    json_t *sum = run_into(sc, tmp, "a", 9, a, sizeof a);
    /* 1. every error type at its rate among the records it can happen to */
    size_t li;
    json_t *l;
    json_array_foreach(json_object_get(sum, "lists"), li, l)
    {
        const char *key;
        json_t *e;
        json_object_foreach(json_object_get(l, "errors"), key, e)
        {
            double rate = json_real_value(json_object_get(e, "rate"));
            double elig = (double)json_integer_value(json_object_get(e, "eligible"));
            double appl = (double)json_integer_value(json_object_get(e, "applied"));
            bool no_column = strcmp(key, "patronymic_dropped") == 0 && li == 0;
            if (no_column) { /* the police layout has no patronymic column */
                assert_true(elig == 0 && appl == 0);
                continue;
            }
            if (elig < 200) {
                fail_msg("%s: only %.0f records could have error %s",
                         json_string_value(json_object_get(l, "code")), elig, key);
            }
            assert_binomial(appl, elig, rate, 4.0);
        }
        double people = (double)json_integer_value(json_object_get(l, "people"));
        double dups = (double)json_integer_value(json_object_get(l, "duplicates"));
        double recs = (double)json_integer_value(json_object_get(l, "records"));
        assert_true(recs == people + dups);
        if (li == 0) {
            assert_binomial(dups, people, 0.1, 4.0);
        } else {
            assert_true(dups == 0);
        }
    }
    /* 2. record by record: the police file's birth dates against the true ones */
    size_t len;
    char *persons = slurp(a, "persons.csv", &len);
    char(*birth)[11] = calloc((size_t)N + 1, sizeof *birth);
    assert_non_null(birth);
    char *save = NULL;
    char *line = strtok_r(persons, "\n", &save);
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *f[20];
        split(line, f, 20);
        long id = strtol(f[0] + 1, NULL, 10);
        assert_true(id >= 1 && id <= N);
        snprintf(birth[id], sizeof birth[id], "%s", f[2]);
    }
    free(persons);
    char *truth = slurp(a, "truth.csv", &len);
    char *police = slurp(a, "POLICE.csv", &len);
    char *ts = NULL, *ps = NULL;
    char *tl = strtok_r(truth, "\n", &ts);
    char *pl = strtok_r(police, "\n", &ps);
    char *hf[20];
    size_t nh = split(pl, hf, 20);
    int c_case = column_of(hf, nh, "CaseRef"), c_dob = column_of(hf, nh, "DOB");
    int c_sex = column_of(hf, nh, "Gender"), c_nat = column_of(hf, nh, "Nationality");
    assert_true(c_case >= 0 && c_dob >= 0 && c_sex >= 0 && c_nat >= 0);
    long checked = 0, swaps = 0, years = 0, missing = 0;
    while ((pl = strtok_r(NULL, "\n", &ps)) != NULL) {
        tl = strtok_r(NULL, "\n", &ts);
        assert_non_null(tl);
        char *f[20], *t[6];
        size_t nf = split(pl, f, 20);
        assert_int_equal(nf, nh);
        size_t nt = split(tl, t, 6);
        assert_int_equal(nt, 5);
        assert_string_equal(t[0], "POLICE");
        assert_string_equal(t[1], f[c_case]);
        long id = strtol(t[2] + 1, NULL, 10);
        const char *tb = birth[id]; /* YYYY-MM-DD */
        const char *w = f[c_dob];   /* DD/MM/YYYY or empty */
        bool f_swap = strstr(t[4], "day_month_swap") != NULL;
        bool f_year = strstr(t[4], "wrong_birth_year") != NULL;
        bool f_miss = strstr(t[4], "missing_birth_date") != NULL;
        /* a field flagged missing is empty in the file, and only then */
        assert_int_equal(strstr(t[4], "missing_sex") != NULL, f[c_sex][0] == '\0');
        assert_int_equal(strstr(t[4], "missing_citizenship") != NULL, f[c_nat][0] == '\0');
        if (f_miss) {
            assert_string_equal(w, "");
            missing++;
            continue;
        }
        assert_int_equal(strlen(w), 10);
        int wd = (int)strtol(w, NULL, 10), wm = (int)strtol(w + 3, NULL, 10),
            wy = (int)strtol(w + 6, NULL, 10);
        int ty = (int)strtol(tb, NULL, 10), tm = (int)strtol(tb + 5, NULL, 10),
            td = (int)strtol(tb + 8, NULL, 10);
        if (f_year) {
            assert_int_equal(abs(wy - ty), 1);
            years++;
        } else {
            assert_int_equal(wy, ty);
        }
        if (f_swap) {
            assert_true(td != tm && td <= 12);
            assert_int_equal(wd, tm);
            assert_int_equal(wm, td);
            swaps++;
        } else if (!(tm == 2 && td == 29 && f_year)) {
            assert_int_equal(wd, td);
            assert_int_equal(wm, tm);
        }
        checked++;
    }
    assert_true(checked > 5000);
    assert_true(swaps > 50 && years > 50 && missing > 50);
    json_t *pe = json_object_get(json_array_get(json_object_get(sum, "lists"), 0), "errors");
    assert_int_equal(swaps, json_integer_value(
                                json_object_get(json_object_get(pe, "day_month_swap"), "applied")));
    assert_int_equal(years, json_integer_value(json_object_get(
                                json_object_get(pe, "wrong_birth_year"), "applied")));
    free(truth);
    free(police);
    free(birth);
    json_decref(sum);
    rp_test_rmtree(tmp);
    rp_sim_scenario_free(sc);
}

static void sim_run__ages_follow_the_configuration(void **state)
{
    (void)state;
    /* minors 8..17 uniformly; adults' whole years with mean adult_age_mean */
    const int N = 40000;
    char json[2048];
    snprintf(json, sizeof json,
             "{\"name\": \"t\", \"population\": {\"size\": %d, \"minor_share\": 0.25,"
             " \"adult_age_mean\": 34, \"citizenship\": {\"GB\": 1},"
             " \"country_of_exploitation\": \"GB\"},"
             " \"lists\": [{\"code\": \"A\", \"p\": 0.1}, {\"code\": \"B\", \"p\": 0.1}]}",
             N);
    rp_sim_scenario *sc = parse(json);
    char tmp[2048], a[4096];
    rp_test_tmpdir(tmp, sizeof tmp);
    json_decref(run_into(sc, tmp, "a", 21, a, sizeof a));
    size_t len;
    char *s = slurp(a, "persons.csv", &len);
    double minors = 0, adults = 0, sum = 0, sum2 = 0;
    double by_age[18] = {0};
    char *save = NULL;
    char *line = strtok_r(s, "\n", &save);
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *f[20];
        split(line, f, 20);
        long age = strtol(f[3], NULL, 10);
        assert_true(age >= 8 && age <= 85);
        if (age < 18) {
            minors++;
            by_age[age]++;
        } else {
            adults++;
            sum += (double)age;
            sum2 += (double)age * (double)age;
        }
    }
    free(s);
    assert_binomial(minors, N, 0.25, 4.0);
    for (int y = 8; y < 18; y++) {
        assert_binomial(by_age[y], minors, 0.1, 4.0);
    }
    double mean = sum / adults, sd = sqrt(sum2 / adults - mean * mean);
    if (fabs(mean - 34.0) > 4.0 * sd / sqrt(adults)) {
        fail_msg("adult mean age %.3f, configured 34 (se %.3f)", mean, sd / sqrt(adults));
    }
    rp_test_rmtree(tmp);
    rp_sim_scenario_free(sc);
}

static void sim_run__output_folder_rules(void **state)
{
    (void)state;
    char json[2048], pop[512];
    snprintf(pop, sizeof pop, BASE_POPULATION, 100);
    snprintf(json, sizeof json,
             "{\"name\": \"t\", %s, \"lists\": [{\"code\": \"A\", \"p\": 0.3},"
             " {\"code\": \"B\", \"p\": 0.3}]}",
             pop);
    rp_sim_scenario *sc = parse(json);
    char tmp[2048], out[3072], keep[4096];
    rp_test_tmpdir(tmp, sizeof tmp);
    snprintf(out, sizeof out, "%s/full", tmp);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(keep, sizeof keep, "%s/keep.txt", out);
    FILE *f = fopen(keep, "w");
    assert_non_null(f);
    fputs("mine\n", f);
    fclose(f);
    rp_sim_run_opts o = RP_SIM_RUN_OPTS_INIT;
    o.names_dir = names_dir;
    o.out_dir = out;
    rp_error err = RP_ERROR_INIT;
    assert_rp_status(rp_sim_run(sc, &o, NULL, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "not empty"));
    /* a names folder that does not exist: an error, and nothing left behind */
    snprintf(out, sizeof out, "%s/new", tmp);
    o.out_dir = out;
    o.names_dir = "/nonexistent/names";
    rp_error_clear(&err);
    assert_true(rp_sim_run(sc, &o, NULL, &err) != RP_OK);
    assert_int_equal(access(out, F_OK), -1);
    /* an empty existing folder is fine */
    assert_int_equal(mkdir(out, 0755), 0);
    o.names_dir = names_dir;
    assert_rp_ok(rp_sim_run(sc, &o, NULL, &err), &err);
    char p[4096];
    snprintf(p, sizeof p, "%s/truth.csv", out);
    assert_int_equal(access(p, F_OK), 0);
    rp_test_rmtree(tmp);
    rp_sim_scenario_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sim_run__same_seed_same_files),
        cmocka_unit_test(sim_run__errors_do_not_move_the_population),
        cmocka_unit_test(sim_run__capture_and_dependence_match_the_model),
        cmocka_unit_test(sim_run__heterogeneity_by_person),
        cmocka_unit_test(sim_run__recording_errors),
        cmocka_unit_test(sim_run__ages_follow_the_configuration),
        cmocka_unit_test(sim_run__output_folder_rules),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
