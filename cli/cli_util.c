/*
 * rapporteur CLI: shared helpers. Everything here is glue: option values, the mapping
 * from rp_status to exit status, the terminal-only progress bar and JSON output written
 * atomically (temporary file in the target's directory, then rename(2)).
 */
#include "cli_util.h"

#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/common.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool rp_cli_common_opt(rp_cli_common *c, int opt)
{
    switch (opt) {
    case RP_CLI_OPT_HELP:
        c->help = true;
        return true;
    case RP_CLI_OPT_QUIET:
        c->quiet = true;
        return true;
    case RP_CLI_OPT_JSON:
        c->json = true;
        return true;
    default:
        return false;
    }
}

int rp_cli_parse_opts(rp_cli_common *c,
                      const char *cmd,
                      int argc,
                      char **argv,
                      const struct option *longopts,
                      void (*usage)(FILE *f),
                      rp_cli_opt_fn apply,
                      void *payload)
{
    int opt = 0;
    int idx = -1;
    optind = 1;
    opterr = 0;
    while ((idx = -1, opt = getopt_long(argc, argv, ":hq", longopts, &idx)) != -1) {
        if (rp_cli_common_opt(c, opt))
            continue;
        if (opt == ':')
            return rp_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        /* the option as written: "--name" (its value may have been the next argument) */
        char name[64];
        if (idx >= 0)
            snprintf(name, sizeof(name), "--%s", longopts[idx].name);
        else
            snprintf(name, sizeof(name), "%s", argv[optind - 1]);
        int st = apply(opt, optarg, name, payload);
        if (st == RP_CLI_OPT_UNKNOWN)
            return rp_cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
        if (st != -1)
            return st;
    }
    if (c->help) {
        usage(stdout);
        return RP_EXIT_OK;
    }
    return -1;
}

int rp_cli_no_operands(const char *cmd, int argc, char **argv)
{
    if (optind < argc)
        return rp_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    return -1;
}

int rp_cli_exit_code(int rc)
{
    switch (rc) {
    case RP_OK:
        return RP_EXIT_OK;
    case RP_EPARSE:
    case RP_EDATA:
        return RP_EXIT_DATAERR;
    case RP_EINVAL:
        return RP_EXIT_USAGE;
    case RP_EIO:
    case RP_ESQL:
    case RP_ENOTFOUND:
    case RP_EPERM:
        return RP_EXIT_IO;
    default:
        return RP_EXIT_RUNTIME;
    }
}

int rp_cli_report(const rp_error *err, bool json)
{
    char buf[1024];
    rp_error_format(err, buf, sizeof(buf));
    if (buf[0] == '\0')
        snprintf(buf, sizeof(buf), "%s", rp_status_str(err->code));
    fprintf(stderr, "rapporteur: %s\n", buf);
    if (json) {
        json_t *o = json_pack("{s:{s:s, s:s, s:s, s:s?, s:I, s:I}}", "error", "code",
                              rp_status_str(err->code), "message", err->msg, "text", buf, "path",
                              err->path[0] ? err->path : NULL, "line", (json_int_t)err->line,
                              "column", (json_int_t)err->column);
        if (o != NULL) {
            rp_cli_json_print(o, NULL);
            json_decref(o);
        }
    }
    return rp_cli_exit_code(err->code);
}

int rp_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rapporteur: %s: ", cmd);
    vfprintf(stderr, fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized): va_start above */
    fprintf(stderr, "\n(see 'rapporteur %s --help')\n", cmd);
    va_end(ap);
    return RP_EXIT_USAGE;
}

/* ==== numbers ==== */

bool rp_cli_parse_u64(uint64_t *out, const char *s)
{
    if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = (uint64_t)v;
    return true;
}

bool rp_cli_parse_size(size_t *out, const char *s)
{
    uint64_t v = 0;
    if (!rp_cli_parse_u64(&v, s) || v > SIZE_MAX)
        return false;
    *out = (size_t)v;
    return true;
}

bool rp_cli_parse_int(int *out, const char *s, int min, int max)
{
    if (s == NULL || *s == '\0')
        return false;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

bool rp_cli_parse_double(double *out, const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* ==== string vectors ==== */

int rp_cli_strv_push(rp_cli_strv *sv, const char *s, size_t len, rp_error *err)
{
    char **v = rp_reallocarray(sv->v, sv->n + 1, sizeof(*v));
    if (v == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    sv->v = v;
    char *copy = rp_malloc(len + 1);
    if (copy == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    memcpy(copy, s, len);
    copy[len] = '\0';
    sv->v[sv->n++] = copy;
    return RP_OK;
}

int rp_cli_strv_split(rp_cli_strv *sv, const char *s, char sep, rp_error *err)
{
    const char *p = s;
    while (*p != '\0') {
        const char *q = strchr(p, sep);
        size_t len = q != NULL ? (size_t)(q - p) : strlen(p);
        /* trim blanks so that "A, B" works */
        const char *a = p;
        size_t n = len;
        while (n > 0 && (*a == ' ' || *a == '\t')) {
            a++;
            n--;
        }
        while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t'))
            n--;
        if (n > 0) {
            int rc = rp_cli_strv_push(sv, a, n, err);
            if (rc != RP_OK)
                return rc;
        }
        if (q == NULL)
            break;
        p = q + 1;
    }
    return RP_OK;
}

void rp_cli_strv_clear(rp_cli_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        rp_free(sv->v[i]);
    rp_free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

/* ==== progress ==== */

bool rp_cli_progress_wanted(bool quiet)
{
    return !quiet && isatty(STDERR_FILENO) == 1;
}

int rp_cli_progress(size_t done, size_t total, void *payload)
{
    rp_cli_progress_state *st = payload;
    if (st == NULL || !st->enabled || total == 0)
        return 0;
    int pct = (int)((done * 100) / total);
    if (pct == st->last_percent)
        return 0;
    st->last_percent = pct;

    enum { WIDTH = 30 };

    int fill = pct * WIDTH / 100;
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r%-12.12s [%s] %3d%%", st->label != NULL ? st->label : "", bar, pct);
    fflush(stderr);
    st->drawn = true;
    return 0;
}

void rp_cli_progress_end(rp_cli_progress_state *st)
{
    if (st != NULL && st->drawn) {
        fprintf(stderr, "\r%60s\r", "");
        fflush(stderr);
        st->drawn = false;
    }
    if (st != NULL)
        st->last_percent = -1;
}

/* ==== JSON ==== */

json_t *rp_cli_json_number(double x)
{
    if (!isfinite(x))
        return json_null();
    return json_real(x);
}

json_t *rp_cli_json_count(double x)
{
    /* 2^53: beyond it not every whole number is a double */
    const double exact_limit = 9007199254740992.0;
    if (isfinite(x) && fabs(x) < exact_limit && x == floor(x))
        return json_integer((json_int_t)x);
    return rp_cli_json_number(x);
}

int rp_cli_json_print(const json_t *root, rp_error *err)
{
    if (json_dumpf(root, stdout, RP_CLI_JSON_FLAGS) != 0 || fputc('\n', stdout) == EOF ||
        fflush(stdout) != 0)
        return rp_error_set(err, RP_EIO, "cannot write to standard output");
    return RP_OK;
}

/*
 * The temporary file is ".<name>.XXXXXX" beside the target, so that rename(2) stays
 * within one file system and is atomic. mkstemp() creates it 0600; unless it holds
 * record-level data it gets the mode a plain fopen() would have given (0666 less the
 * umask) before it is renamed. Record-level files stay 0600, like the store.
 */
int rp_cli_write_atomic(
    const char *path, bool record_level, rp_cli_write_fn write, void *payload, rp_error *err)
{
    int rc = RP_OK;
    char *tmp = NULL;
    int fd = -1;
    FILE *f = NULL;
    bool created = false;

    const char *slash = strrchr(path, '/');
    size_t dir_len = slash != NULL ? (size_t)(slash - path) + 1 : 0;
    const char *base = path + dir_len;
    if (*base == '\0') {
        rc = rp_error_set(err, RP_EINVAL, "output path '%s' names a directory", path);
        goto out;
    }
    size_t tmp_len = strlen(path) + sizeof("/.") + sizeof(".XXXXXX");
    tmp = rp_malloc(tmp_len);
    if (tmp == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(tmp, tmp_len, "%.*s.%s.XXXXXX", (int)dir_len, path, base);
    fd = mkstemp(tmp);
    if (fd < 0) {
        rc = rp_error_set(err, RP_EIO, "cannot create a file beside '%s': %s", path,
                          strerror(errno));
        goto out;
    }
    created = true;
    mode_t mask = umask(0);
    umask(mask);
    if (!record_level && fchmod(fd, (mode_t)0666 & ~mask) != 0) {
        rc = rp_error_set(err, RP_EIO, "cannot set the mode of '%s': %s", tmp, strerror(errno));
        goto out;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        rc = rp_error_set(err, RP_EIO, "cannot open '%s': %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    rc = write(f, path, payload, err);
    if (rc != RP_OK)
        goto out;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = rp_error_set(err, RP_EIO, "cannot write '%s': %s", path, strerror(errno));
        goto out;
    }
    int crc = fclose(f);
    f = NULL;
    if (crc != 0 || rename(tmp, path) != 0) {
        rc = rp_error_set(err, RP_EIO, "cannot write '%s': %s", path, strerror(errno));
        goto out;
    }
out:
    if (f != NULL)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (rc != RP_OK && created)
        unlink(tmp);
    rp_free(tmp);
    return rc;
}

typedef struct json_output {
    const json_t *root;
} json_output;

static int write_json(FILE *f, const char *path, void *payload, rp_error *err)
{
    const json_output *o = payload;
    if (json_dumpf(o->root, f, RP_CLI_JSON_FLAGS) != 0 || fputc('\n', f) == EOF)
        return rp_error_set(err, RP_EIO, "cannot write '%s': %s", path, strerror(errno));
    return RP_OK;
}

int rp_cli_json_write_atomic(const json_t *root, const char *path, rp_error *err)
{
    json_output o = {root};
    return rp_cli_write_atomic(path, false, write_json, &o, err);
}
