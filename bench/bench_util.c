/*
 * Helpers shared by the benchmarks: clocks, medians, option counts, the machine
 * description and JSON numbers (bench_util.h).
 */
#include "bench_util.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* clang-format off: banned.h must stay last, since it redefines banned libc names */
#include "common/banned.h"

/* clang-format on */

/* ==== clocks and statistics ==== */

double bench_clock_seconds(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return NAN;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

bool bench_parse_count(size_t *out, const char *s)
{
    char *end = NULL;
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > 1000000000ull)
        return false;
    *out = (size_t)v;
    return true;
}

bool bench_opt_count(size_t *out, const char *arg, size_t min, const char *prog, const char *opt)
{
    size_t v = 0;
    if (bench_parse_count(&v, arg) && v >= min) {
        *out = v;
        return true;
    }
    if (min == 0)
        fprintf(stderr, "%s: %s expects a non-negative integer\n", prog, opt);
    else if (min == 1)
        fprintf(stderr, "%s: %s expects a positive integer\n", prog, opt);
    else
        fprintf(stderr, "%s: %s expects an integer of at least %zu\n", prog, opt, min);
    return false;
}

/* ==== the machine ==== */

/* Copy the value of the first "key : value" line of @p path whose key is @p key. */
static void read_keyed_line(char *out, size_t size, const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    size_t klen = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) != 0)
            continue;
        const char *v = strchr(line, ':');
        if (!v)
            continue;
        v++;
        while (*v == ' ' || *v == '\t')
            v++;
        snprintf(out, size, "%.*s", (int)strcspn(v, "\n"), v);
        break;
    }
    fclose(f);
}

void bench_machine_describe(bench_machine *m)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->cpu, sizeof(m->cpu), "unknown CPU");
    read_keyed_line(m->cpu, sizeof(m->cpu), "/proc/cpuinfo", "model name");
    m->cores = sysconf(_SC_NPROCESSORS_ONLN);
#if defined(__clang__)
    snprintf(m->compiler, sizeof(m->compiler), "clang %s", __clang_version__);
#elif defined(__GNUC__)
    snprintf(m->compiler, sizeof(m->compiler), "gcc %s", __VERSION__);
#else
    snprintf(m->compiler, sizeof(m->compiler), "unknown compiler");
#endif
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(m->date, sizeof(m->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        /* "0.52 0.58 0.59 1/467 12345": keep the three load averages as written */
        char line[128];
        if (fgets(line, sizeof(line), f)) {
            size_t end = 0;
            for (int field = 0; field < 3 && line[end]; field++) {
                end += strspn(line + end, " ");
                end += strcspn(line + end, " \n");
            }
            snprintf(m->load, sizeof(m->load), "%.*s", (int)end, line);
        }
        fclose(f);
    }
#ifdef NDEBUG
    m->assertions = false;
#else
    m->assertions = true;
#endif
}

void bench_machine_print(const bench_machine *m)
{
    printf("machine    %s, %ld cores online; load average %s\n", m->cpu, m->cores,
           m->load[0] ? m->load : "unknown");
    printf("build      %s, %s; %s\n", m->compiler,
           m->assertions ? "assertions ON (not a Release build)" : "assertions off", m->date);
}

/* ==== scratch folders ==== */

void bench_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    struct dirent *e;
    char p[8704];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        int n = snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof p)
            continue;
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            bench_remove_tree(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* ==== JSON ==== */

json_t *bench_json_number(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static int u64_cmp(const void *x, const void *y)
{
    uint64_t p = *(const uint64_t *)x;
    uint64_t q = *(const uint64_t *)y;
    return (p > q) - (p < q);
}

size_t bench_run_pairs(uint64_t *v, size_t n)
{
    qsort(v, n, sizeof *v, u64_cmp);
    size_t pairs = 0;
    for (size_t s = 0; s < n;) {
        size_t e = s + 1;
        while (e < n && v[e] == v[s])
            e++;
        pairs += (e - s) * (e - s - 1) / 2;
        s = e;
    }
    return pairs;
}
