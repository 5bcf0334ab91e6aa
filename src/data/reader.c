/*
 * rp_reader: one row reader over CSV, SPSS and Stata inputs. Chooses the format (given,
 * or by magic bytes then extension), checks the options and forwards every call to the
 * CSV backend (reader_csv.c) or the ReadStat backend (reader_stat.c).
 */
#include "common/common_int.h"
#include "data/data_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct rp_reader {
    rp_input_format format;
    rp_data__csv *csv;   /* when format is CSV */
    rp_data__stat *stat; /* when format is SAV or DTA */
};

/* Bytes of the start of a file that rp_data__detect_format() looks at. */
#define HEAD_BYTES 16

/* Is @p c the ASCII letter @p lower_c, in either case? */
static bool same_letter(char c, char lower_c)
{
    return c == lower_c || (lower_c >= 'a' && lower_c <= 'z' && c == lower_c - ('a' - 'A'));
}

/* Does @p path end in @p ext (lower case, with the dot), in any case? */
static bool has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path);
    size_t k = strlen(ext);
    if (n < k) {
        return false;
    }
    for (size_t i = 0; i < k; i++) {
        if (!same_letter(path[n - k + i], ext[i])) {
            return false;
        }
    }
    return true;
}

rp_input_format rp_data__detect_format(const unsigned char *head, size_t n, const char *path)
{
    if (n >= 4 && (memcmp(head, "$FL2", 4) == 0 || memcmp(head, "$FL3", 4) == 0)) {
        return RP_INPUT_SAV;
    }
    if (n >= 11 && memcmp(head, "<stata_dta>", 11) == 0) {
        return RP_INPUT_DTA;
    }
    /*
     * Stata releases 104..115 start with the release byte, the byte order (1 = MSF,
     * 2 = LSF) and the file type 1: control bytes no text file starts with.
     */
    if (n >= 4 && head[0] >= 104 && head[0] <= 115 && (head[1] == 1 || head[1] == 2) &&
        head[2] == 1) {
        return RP_INPUT_DTA;
    }
    if (path != NULL) {
        if (has_ext(path, ".sav") || has_ext(path, ".zsav")) {
            return RP_INPUT_SAV;
        }
        if (has_ext(path, ".dta")) {
            return RP_INPUT_DTA;
        }
    }
    return RP_INPUT_CSV;
}

/* The first bytes of @p path; a file that cannot be opened is left to the backend. */
static size_t read_head(const char *path, unsigned char *head, size_t size)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        return 0;
    }
    size_t n = fread(head, 1, size, fp);
    fclose(fp);
    return n;
}

static int check_opts(const rp_reader_opts *o, rp_error *err)
{
    if (o->version != RP_READER_OPTS_VERSION) {
        return rp_error_set(err, RP_EINVAL, "unsupported reader options version %u", o->version);
    }
    if (o->format != RP_INPUT_AUTO && o->format != RP_INPUT_CSV && o->format != RP_INPUT_SAV &&
        o->format != RP_INPUT_DTA) {
        return rp_error_set(err, RP_EINVAL, "unknown input format %d", (int)o->format);
    }
    return RP_OK;
}

/*
 * What both entry points do once their arguments are checked: check @p opts (NULL for
 * the defaults), settle the format (CSV for memory input; else as given, or detected
 * from the file), and open the backend on the file @p path, or on the @p len bytes at
 * @p mem when it is not NULL (then @p path only names the input).
 */
static int reader_new(rp_reader **out,
                      const char *path,
                      const void *mem,
                      size_t len,
                      const rp_reader_opts *opts,
                      rp_error *err)
{
    static const rp_reader_opts defaults = RP_READER_OPTS_INIT;
    rp_reader *r = NULL;
    if (opts == NULL) {
        opts = &defaults;
    }
    int rc = check_opts(opts, err);
    if (rc != RP_OK) {
        return rc;
    }
    rp_input_format format = mem != NULL ? RP_INPUT_CSV : opts->format;
    if (format == RP_INPUT_AUTO) {
        unsigned char head[HEAD_BYTES];
        size_t n = read_head(path, head, sizeof(head));
        format = rp_data__detect_format(head, n, path);
    }
    r = rp_calloc(1, sizeof(*r));
    if (r == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    r->format = format;
    if (format == RP_INPUT_CSV) {
        rc = rp_data__csv_open(&r->csv, path, mem, len, 0, opts, err);
    } else {
        rc = rp_data__stat_open(&r->stat, path, format, opts, err);
    }
    if (rc != RP_OK) {
        goto out;
    }
    *out = r;
    r = NULL;
out:
    rp_reader_free(r);
    return rc;
}

int rp_reader_open(rp_reader **out, const char *path, const rp_reader_opts *opts, rp_error *err)
{
    if (out == NULL || path == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output or path given");
    }
    *out = NULL;
    return reader_new(out, path, NULL, 0, opts, err);
}

int rp_data__reader_open_mem(rp_reader **out,
                             const void *data,
                             size_t len,
                             const char *name,
                             const rp_reader_opts *opts,
                             rp_error *err)
{
    if (out == NULL || (data == NULL && len > 0)) {
        return rp_error_set(err, RP_EINVAL, "no output or data given");
    }
    *out = NULL;
    return reader_new(out, name != NULL ? name : "", data != NULL ? data : "", len, opts, err);
}

size_t rp_reader_columns(const rp_reader *r, const char *const **names)
{
    static const char *const none[] = {NULL};
    if (r == NULL) {
        *names = none;
        return 0;
    }
    if (r->csv != NULL) {
        return rp_data__csv_columns(r->csv, names);
    }
    return rp_data__stat_columns(r->stat, names);
}

int rp_reader_next(
    rp_reader *r, const char *const **fields, size_t *n_fields, long *line, rp_error *err)
{
    if (r == NULL || fields == NULL || n_fields == NULL || line == NULL) {
        return rp_error_set(err, RP_EINVAL, "no reader or outputs given");
    }
    if (r->csv != NULL) {
        return rp_data__csv_next(r->csv, fields, n_fields, line, err);
    }
    return rp_data__stat_next(r->stat, fields, n_fields, line, err);
}

double rp_reader_progress(const rp_reader *r)
{
    if (r == NULL) {
        return 0.0;
    }
    if (r->csv != NULL) {
        return rp_data__csv_progress(r->csv);
    }
    return rp_data__stat_progress(r->stat);
}

rp_input_format rp_reader_format(const rp_reader *r)
{
    return r != NULL ? r->format : RP_INPUT_AUTO;
}

void rp_reader_free(rp_reader *r)
{
    if (r == NULL) {
        return;
    }
    rp_data__csv_free(r->csv);
    rp_data__stat_free(r->stat);
    rp_free(r);
}
