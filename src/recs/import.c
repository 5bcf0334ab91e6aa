/*
 * Imports of recommendations, each one transaction (nothing is kept on any error):
 * CSV (one recommendation a row, through the data module's reader), JSON (the whole
 * model, the form the JSON export writes) and the plain text of a report's list of
 * recommendations (text.c's parser). docs/recs.md describes the three formats.
 */
#include "recs/recs_int.h"

#include <rapporteur/data.h>

#include <math.h>

/* A link whose target is resolved once every row is in. */
typedef struct pending_link {
    long long from;
    char to[RP_RECS_REF_MAX];
    rp_rec_link_kind kind;
    long line;      /* CSV: the row's line; JSON: 0 */
    char where[96]; /* JSON: the link's path; CSV: "" */
} pending_link;

typedef struct importer {
    rp_store *st;
    const rp_recs_import_opts *opts;
    const char *path;
    rp_recs_import_report *rep;
    rp_error *err;
    char today[11];
    pending_link *links;
    size_t n_links, cap_links;
} importer;

static int nomem(rp_error *err)
{
    return rp_error_set(err, RP_ENOMEM, "out of memory");
}

/* Put @p path and @p line on the error already in @p err (keeping its message). */
static int at_line(rp_error *err, const char *path, long line, long col)
{
    if (err != NULL) {
        rp_x_strlcpy(err->path, path, sizeof(err->path));
        err->line = line;
        err->column = col;
        return err->code;
    }
    return RP_EDATA;
}

/*
 * Put the JSON path @p where before the message of failure @p rc (which it returns, also
 * when @p err is NULL). A reference the store does not know is a fault of the file, not
 * of the command line: RP_ENOTFOUND becomes RP_EDATA.
 */
static int at_path(importer *im, int rc, const char *where)
{
    if (rc == RP_OK) {
        return rc;
    }
    if (rc == RP_ENOTFOUND) {
        rc = RP_EDATA;
        if (im->err != NULL) {
            im->err->code = RP_EDATA;
        }
    }
    if (im->err != NULL) {
        rp_x_error_prefix(im->err, "%s", where);
    }
    return rc;
}

/* An author named in the file (history, progress): RP_EDATA with its path when invalid. */
static int check_file_author(importer *im, const char *author, const char *where)
{
    if (rp_recs__check_author(author, NULL) != RP_OK) {
        return rp_error_set(im->err, RP_EDATA, "%s.author: expected 1-200 bytes of UTF-8", where);
    }
    return RP_OK;
}

static int queue_link(importer *im,
                      long long from,
                      const char *to,
                      rp_rec_link_kind kind,
                      long line,
                      const char *where)
{
    if (strlen(to) >= RP_RECS_REF_MAX) {
        return rp_error_set(im->err, RP_EDATA,
                            "link target: expected a reference of at most 63 "
                            "bytes");
    }
    if (rp_x_grow(&im->links, &im->cap_links, im->n_links + 1, sizeof(*im->links)) != RP_OK) {
        return nomem(im->err);
    }
    pending_link *l = &im->links[im->n_links++];
    l->from = from;
    rp_x_strlcpy(l->to, to, sizeof(l->to));
    l->kind = kind;
    l->line = line;
    rp_x_strlcpy(l->where, where != NULL ? where : "", sizeof(l->where));
    return RP_OK;
}

static int resolve_links(importer *im)
{
    int rc = RP_OK;
    for (size_t i = 0; i < im->n_links && rc == RP_OK; i++) {
        const pending_link *l = &im->links[i];
        long long to = 0;
        rc = rp_recs__find(&to, im->st, false, l->to, im->err);
        if (rc == RP_OK) {
            rc = rp_recs__link_txn(im->st, l->from, to, l->kind, im->opts->author, im->err);
        }
        if (rc != RP_OK) {
            rc = at_path(im, rc, l->where[0] != '\0' ? l->where : "link target");
        }
        if (rc == RP_OK) {
            im->rep->links++;
        } else if (l->line > 0) {
            at_line(im->err, im->path, l->line, 0);
        }
    }
    return rc;
}

/*
 * Bring new recommendation @p id from not_started to @p status as an import does when
 * only the current status is known: one history entry dated @p date, two (in_progress,
 * then implemented) for implemented, each noted "imported".
 */
static int import_status(importer *im, long long id, rp_rec_status status, const char *date)
{
    if (status == RP_REC_NOT_STARTED) {
        return RP_OK;
    }
    rp_recs_change chg = RP_RECS_CHANGE_INIT;
    chg.author = im->opts->author;
    chg.date = date;
    chg.note = "imported";
    int rc = RP_OK;
    if (status == RP_REC_IMPLEMENTED) {
        rc = rp_recs__set_status_txn(im->st, id, RP_REC_IN_PROGRESS, &chg, NULL, im->err);
        im->rep->statuses++;
    }
    if (rc == RP_OK) {
        rc = rp_recs__set_status_txn(im->st, id, status, &chg, NULL, im->err);
        im->rep->statuses++;
    }
    return rc;
}

/* ==== CSV ==== */

enum {
    COL_REF = 0,
    COL_STATE,
    COL_SOURCE,
    COL_ROUND,
    COL_PARAGRAPH,
    COL_STRENGTH,
    COL_THEMES,
    COL_BODIES,
    COL_DUE_DATE,
    COL_TEXT,
    COL_STATUS,
    COL_STATUS_DATE,
    COL_REPEATS,
    COL_FOLLOWS_UP,
    COL_COUNT
};

static const char *const csv_columns[COL_COUNT] = {
    "ref",    "state",    "source", "round",  "paragraph",   "strength", "themes",
    "bodies", "due_date", "text",   "status", "status_date", "repeats",  "follows_up"};

/* Map the header to column indices (-1 = absent); unknown or repeated names refused. */
static int csv_header(importer *im, const char *const *names, size_t n, int idx[COL_COUNT])
{
    for (int c = 0; c < COL_COUNT; c++) {
        idx[c] = -1;
    }
    for (size_t i = 0; i < n; i++) {
        int found = -1;
        for (int c = 0; c < COL_COUNT; c++) {
            if (strcmp(names[i], csv_columns[c]) == 0) {
                found = c;
            }
        }
        if (found < 0 || idx[found] >= 0) {
            return rp_error_set_at(im->err, RP_EDATA, im->path, 1, (long)i + 1,
                                   found < 0 ? "unknown column (see docs/recs.md for the columns)"
                                             : "column named twice");
        }
        idx[found] = (int)i;
    }
    if (idx[COL_TEXT] < 0) {
        return rp_error_set_at(im->err, RP_EDATA, im->path, 1, 0, "no column 'text'");
    }
    if ((idx[COL_STATE] < 0 && (im->opts->state == NULL || im->opts->state[0] == '\0')) ||
        (idx[COL_SOURCE] < 0 && (im->opts->source == NULL || im->opts->source[0] == '\0'))) {
        return rp_error_set_at(im->err, RP_EDATA, im->path, 1, 0,
                               "no column 'state' or 'source', and no default given");
    }
    return RP_OK;
}

/* Field @p c of the row, or @p dflt when the column is absent or the cell empty. */
static const char *cell(const char *const *f, const int idx[COL_COUNT], int c, const char *dflt)
{
    if (idx[c] < 0 || f[idx[c]][0] == '\0') {
        return dflt;
    }
    return f[idx[c]];
}

static int
csv_enum(int *out, rp_recs_vocab vocab, const char *s, int dflt, const char *field, rp_error *err)
{
    *out = dflt;
    if (s == NULL || s[0] == '\0') {
        return RP_OK;
    }
    if (rp_recs_parse(out, vocab, s) != RP_OK) {
        return rp_error_set(err, RP_EDATA, "field '%s': unknown value", field);
    }
    return RP_OK;
}

/* A row's status_date: a day, not after today, and only with a status. */
static int csv_status_date(importer *im, const char *date, const char *status)
{
    if (date == NULL) {
        return RP_OK;
    }
    if (status == NULL) {
        return rp_error_set(im->err, RP_EDATA,
                            "field 'status_date': given without a 'status' to date");
    }
    if (!rp_recs__date_ok(date) || strcmp(date, im->today) > 0) {
        return rp_error_set(im->err, RP_EDATA,
                            "field 'status_date': expected a date YYYY-MM-DD, not after today");
    }
    return RP_OK;
}

/* Queue the links of one cell (refs separated by ';'). */
static int
csv_links(importer *im, long long from, const char *refs, rp_rec_link_kind kind, long line)
{
    const char *p = refs;
    while (p != NULL && *p != '\0') {
        while (*p == ' ' || *p == ';') {
            p++;
        }
        const char *e = p;
        while (*e != '\0' && *e != ';') {
            e++;
        }
        const char *t = e;
        while (t > p && t[-1] == ' ') {
            t--;
        }
        if (t > p) {
            char ref[RP_RECS_REF_MAX];
            if ((size_t)(t - p) >= sizeof(ref)) {
                return rp_error_set(im->err, RP_EDATA, "link target: reference too long");
            }
            memcpy(ref, p, (size_t)(t - p));
            ref[t - p] = '\0';
            int rc = queue_link(im, from, ref, kind, line, NULL);
            if (rc != RP_OK) {
                return rc;
            }
        }
        p = e;
    }
    return RP_OK;
}

static int csv_row(importer *im,
                   const char *const *f,
                   size_t n,
                   const int idx[COL_COUNT],
                   size_t n_cols,
                   long line)
{
    if (n != n_cols) {
        return rp_error_set_at(im->err, RP_EDATA, im->path, line, 0,
                               "row has %zu fields, the header %zu", n, n_cols);
    }
    rp_rec rec = RP_REC_INIT;
    rec.ref = cell(f, idx, COL_REF, "");
    rec.state = cell(f, idx, COL_STATE, im->opts->state);
    rec.source = cell(f, idx, COL_SOURCE, im->opts->source);
    rec.paragraph = cell(f, idx, COL_PARAGRAPH, "");
    rec.text = cell(f, idx, COL_TEXT, "");
    rec.themes = cell(f, idx, COL_THEMES, "");
    rec.bodies = cell(f, idx, COL_BODIES, "");
    rec.due_date = cell(f, idx, COL_DUE_DATE, im->opts->due_date);
    rec.round = im->opts->round;
    long round = 0;
    const char *rs = cell(f, idx, COL_ROUND, NULL);
    int rc = RP_OK;
    if (rs != NULL && rp_x_parse_long(rs, 0, RP_RECS_ROUND_MAX, &round) != 0) {
        rc = rp_error_set(im->err, RP_EDATA, "field 'round': expected 0 to 9");
    }
    rec.round = rs != NULL ? (int)round : rec.round;
    int strength = 0;
    int status = 0;
    if (rc == RP_OK) {
        rc = csv_enum(&strength, RP_RECS_V_STRENGTH, cell(f, idx, COL_STRENGTH, NULL), 0,
                      "strength", im->err);
    }
    if (rc == RP_OK) {
        rc = csv_enum(&status, RP_RECS_V_STATUS, cell(f, idx, COL_STATUS, NULL), 0, "status",
                      im->err);
    }
    rec.strength = (rp_rec_strength)strength;
    const char *status_date = cell(f, idx, COL_STATUS_DATE, NULL);
    if (rc == RP_OK) {
        rc = csv_status_date(im, status_date, cell(f, idx, COL_STATUS, NULL));
    }
    /* "not_started since D" (as the CSV export writes it) dates the creation. */
    const char *created =
        status == RP_REC_NOT_STARTED && status_date != NULL ? status_date : im->today;
    long long id = 0;
    if (rc == RP_OK) {
        rc = rp_recs__add_txn(&id, im->st, &rec, im->opts->author, created, NULL, im->err);
    }
    if (rc == RP_OK) {
        im->rep->recs++;
        rc = import_status(im, id, (rp_rec_status)status,
                           status_date != NULL ? status_date : im->today);
    }
    if (rc == RP_OK) {
        rc = csv_links(im, id, cell(f, idx, COL_REPEATS, ""), RP_REC_REPEATS, line);
    }
    if (rc == RP_OK) {
        rc = csv_links(im, id, cell(f, idx, COL_FOLLOWS_UP, ""), RP_REC_FOLLOWS_UP, line);
    }
    return rc != RP_OK && im->err != NULL && im->err->line == 0
               ? at_line(im->err, im->path, line, 0)
               : rc;
}

static int import_csv(importer *im)
{
    rp_reader_opts ro = RP_READER_OPTS_INIT;
    ro.format = RP_INPUT_CSV;
    rp_reader *r = NULL;
    int rc = rp_reader_open(&r, im->path, &ro, im->err);
    if (rc != RP_OK) {
        return rc;
    }
    const char *const *names = NULL;
    size_t n_cols = rp_reader_columns(r, &names);
    int idx[COL_COUNT];
    rc = csv_header(im, names, n_cols, idx);
    while (rc == RP_OK) {
        const char *const *f = NULL;
        size_t n = 0;
        long line = 0;
        int got = rp_reader_next(r, &f, &n, &line, im->err);
        if (got <= 0) {
            rc = got;
            break;
        }
        rc = csv_row(im, f, n, idx, n_cols, line);
    }
    rp_reader_free(r);
    return rc;
}

/* ==== plain text ==== */

static int import_text(importer *im)
{
    char *data = NULL;
    size_t len = 0;
    rp_recs_text *t = NULL;
    char state[3] = "";
    if (im->opts->state == NULL || !rp_recs__state_ok(state, im->opts->state) ||
        !rp_recs__code_ok(im->opts->source)) {
        return rp_error_set(im->err, RP_EINVAL,
                            "a text import needs the state and the source of the report");
    }
    int rc = rp_x_read_file(&data, &len, im->path, (size_t)64 << 20, im->err);
    if (rc == RP_OK) {
        rc = rp_recs_text_parse(&t, data, len, im->path, im->err);
    }
    for (size_t i = 0; rc == RP_OK && i < t->n_items; i++) {
        const rp_recs_text_item *it = &t->items[i];
        char ref[RP_RECS_REF_MAX * 2];
        if (it->n_seq > 1) {
            snprintf(ref, sizeof(ref), "%s/%s/%d/%s#%d", state, im->opts->source, im->opts->round,
                     it->paragraph, it->seq);
        } else {
            snprintf(ref, sizeof(ref), "%s/%s/%d/%s", state, im->opts->source, im->opts->round,
                     it->paragraph);
        }
        rp_rec rec = RP_REC_INIT;
        rec.ref = ref;
        rec.state = state;
        rec.source = im->opts->source;
        rec.round = im->opts->round;
        rec.paragraph = it->paragraph;
        rec.text = it->text;
        rec.strength = it->strength;
        rec.due_date = im->opts->due_date;
        rc = rp_recs__add_txn(NULL, im->st, &rec, im->opts->author, im->today, NULL, im->err);
        if (rc != RP_OK) {
            rc = at_line(im->err, im->path, it->line, 0);
        } else {
            im->rep->recs++;
        }
    }
    if (rc == RP_OK) {
        im->rep->skipped_lines = t->skipped_lines;
        im->rep->out_of_order = t->out_of_order;
        im->rep->first_out_of_order = t->first_out_of_order;
    }
    rp_recs_text_free(t);
    rp_free(data);
    return rc;
}

/* ==== JSON ==== */

/* Refuse keys of @p o not in the NULL-terminated @p keys. */
static int check_keys(const json_t *o, const char *const *keys, const char *where, rp_error *err)
{
    const char *k = NULL;
    json_t *v = NULL;
    json_object_foreach((json_t *)o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; keys[i] != NULL && !ok; i++) {
            ok = strcmp(k, keys[i]) == 0;
        }
        if (!ok) {
            char key[64];
            size_t n = 0;
            for (; k[n] != '\0' && n + 1 < sizeof(key); n++) {
                unsigned char c = (unsigned char)k[n];
                key[n] = k[n];
                if (c < 0x20 || c >= 0x7f) {
                    key[n] = '?';
                }
            }
            key[n] = '\0';
            return rp_error_set(err, RP_EDATA, "%s: unknown key '%s'", where, key);
        }
    }
    return RP_OK;
}

/* String member @p key of @p o: @p dflt when absent or null; RP_EDATA when not a string. */
static int get_str(const char **out,
                   const json_t *o,
                   const char *key,
                   const char *dflt,
                   const char *where,
                   rp_error *err)
{
    json_t *v = json_object_get(o, key);
    *out = dflt;
    if (v == NULL || json_is_null(v)) {
        return RP_OK;
    }
    if (!json_is_string(v)) {
        return rp_error_set(err, RP_EDATA, "%s.%s: expected a string", where, key);
    }
    *out = json_string_value(v);
    return RP_OK;
}

static int get_enum(int *out,
                    const json_t *o,
                    const char *key,
                    rp_recs_vocab vocab,
                    int dflt,
                    const char *where,
                    rp_error *err)
{
    const char *s = NULL;
    int rc = get_str(&s, o, key, NULL, where, err);
    *out = dflt;
    if (rc == RP_OK && s != NULL && rp_recs_parse(out, vocab, s) != RP_OK) {
        rc = rp_error_set(err, RP_EDATA, "%s.%s: unknown value", where, key);
    }
    return rc;
}

static int get_num(double *out, const json_t *o, const char *key, const char *where, rp_error *err)
{
    json_t *v = json_object_get(o, key);
    *out = NAN;
    if (v == NULL || json_is_null(v)) {
        return RP_OK;
    }
    if (!json_is_number(v)) {
        return rp_error_set(err, RP_EDATA, "%s.%s: expected a number", where, key);
    }
    *out = json_number_value(v);
    return RP_OK;
}

/* Array member @p key (an empty array when absent). */
static int get_arr(json_t **out, const json_t *o, const char *key, const char *where, rp_error *err)
{
    json_t *v = json_object_get(o, key);
    *out = v;
    if (v == NULL || json_is_null(v)) {
        *out = NULL;
        return RP_OK;
    }
    if (!json_is_array(v)) {
        return rp_error_set(err, RP_EDATA, "%s.%s: expected an array", where, key);
    }
    return RP_OK;
}

/* An array of strings as one ';'-joined string in @p b. */
static int
join_codes(rp_x_buf *b, const json_t *o, const char *key, const char *where, rp_error *err)
{
    json_t *a = NULL;
    int rc = get_arr(&a, o, key, where, err);
    rp_x_buf_reset(b);
    rp_x_buf_puts(b, "");
    for (size_t i = 0; rc == RP_OK && i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_string(v)) {
            return rp_error_set(err, RP_EDATA, "%s.%s[%zu]: expected a string", where, key, i);
        }
        rp_x_buf_printf(b, "%s%s", i > 0 ? ";" : "", json_string_value(v));
    }
    return rc == RP_OK && rp_x_buf_oom(b) ? nomem(err) : rc;
}

static int
evidence_of(const char ***out, size_t *n, const json_t *o, const char *where, rp_error *err)
{
    json_t *a = NULL;
    *out = NULL;
    *n = 0;
    int rc = get_arr(&a, o, "evidence", where, err);
    size_t k = json_array_size(a);
    if (rc != RP_OK || k == 0) {
        return rc;
    }
    const char **v = rp_calloc(k, sizeof(*v));
    if (v == NULL) {
        return nomem(err);
    }
    for (size_t i = 0; i < k; i++) {
        v[i] = json_string_value(json_array_get(a, i));
        if (v[i] == NULL) {
            rp_free((void *)v);
            return rp_error_set(err, RP_EDATA, "%s.evidence[%zu]: expected a string", where, i);
        }
    }
    *out = v;
    *n = k;
    return RP_OK;
}

/* One progress report (object @p p) on the owner given by the three ids. */
static int json_progress(importer *im,
                         const json_t *p,
                         long long rec,
                         long long action,
                         long long indicator,
                         const char *where)
{
    static const char *const keys[] = {"date", "author", "value", "note", "evidence", NULL};
    rp_recs_change chg = RP_RECS_CHANGE_INIT;
    double value = NAN;
    const char **ev = NULL;
    if (!json_is_object(p)) {
        return rp_error_set(im->err, RP_EDATA, "%s: expected an object", where);
    }
    int rc = check_keys(p, keys, where, im->err);
    if (rc == RP_OK) {
        rc = get_str(&chg.date, p, "date", NULL, where, im->err);
    }
    if (rc == RP_OK) {
        rc = get_str(&chg.author, p, "author", im->opts->author, where, im->err);
    }
    if (rc == RP_OK) {
        rc = get_str(&chg.note, p, "note", NULL, where, im->err);
    }
    if (rc == RP_OK) {
        rc = get_num(&value, p, "value", where, im->err);
    }
    if (rc == RP_OK) {
        rc = evidence_of(&ev, &chg.n_evidence, p, where, im->err);
        chg.evidence = ev;
    }
    if (rc == RP_OK) {
        rc = check_file_author(im, chg.author, where);
    }
    if (rc == RP_OK) {
        rc = rp_recs__add_progress_txn(NULL, im->st, rec, action, indicator, value, &chg,
                                       im->opts->author, im->err);
        rc = at_path(im, rc, where);
    }
    if (rc == RP_OK) {
        im->rep->progress++;
    }
    rp_free((void *)ev);
    return rc;
}

/* The progress array @p key of @p o. */
static int json_progress_list(importer *im,
                              const json_t *o,
                              long long rec,
                              long long action,
                              long long indicator,
                              const char *where)
{
    json_t *a = NULL;
    int rc = get_arr(&a, o, "progress", where, im->err);
    for (size_t i = 0; rc == RP_OK && i < json_array_size(a); i++) {
        char w[160];
        snprintf(w, sizeof(w), "%s.progress[%zu]", where, i);
        rc = json_progress(im, json_array_get(a, i), rec, action, indicator, w);
    }
    return rc;
}

static int
json_indicators(importer *im, const json_t *o, long long rec, long long action, const char *where)
{
    static const char *const keys[] = {"name",      "unit",     "baseline", "target",
                                       "frequency", "due_date", "progress", NULL};
    json_t *a = NULL;
    int rc = get_arr(&a, o, "indicators", where, im->err);
    for (size_t i = 0; rc == RP_OK && i < json_array_size(a); i++) {
        char w[128];
        snprintf(w, sizeof(w), "%s.indicators[%zu]", where, i);
        json_t *x = json_array_get(a, i);
        rp_recs_indicator ind = {rec, action, NULL, NULL, NAN, NAN, RP_RECS_FREQ_NONE, NULL};
        int freq = 0;
        rc = json_is_object(x) ? check_keys(x, keys, w, im->err)
                               : rp_error_set(im->err, RP_EDATA, "%s: expected an object", w);
        if (rc == RP_OK) {
            rc = get_str(&ind.name, x, "name", "", w, im->err);
        }
        if (rc == RP_OK) {
            rc = get_str(&ind.unit, x, "unit", "", w, im->err);
        }
        if (rc == RP_OK) {
            rc = get_str(&ind.due_date, x, "due_date", "", w, im->err);
        }
        if (rc == RP_OK) {
            rc = get_num(&ind.baseline, x, "baseline", w, im->err);
        }
        if (rc == RP_OK) {
            rc = get_num(&ind.target, x, "target", w, im->err);
        }
        if (rc == RP_OK) {
            rc = get_enum(&freq, x, "frequency", RP_RECS_V_FREQUENCY, 0, w, im->err);
        }
        ind.frequency = (rp_recs_frequency)freq;
        long long id = 0;
        if (rc == RP_OK) {
            rc = rp_recs__add_indicator_txn(&id, im->st, &ind, im->opts->author, im->err);
            rc = at_path(im, rc, w);
        }
        if (rc == RP_OK) {
            im->rep->indicators++;
            rc = json_progress_list(im, x, 0, 0, id, w);
        }
    }
    return rc;
}

/*
 * One entry @p h of a history being replayed on recommendation @p id, whose status is
 * *@p cur: the first entry may be the creation ("from": null, status not_started), every
 * other one must start from the status the one before it left ("from" = *@p cur) and is
 * replayed under the transition rule. *@p cur becomes the entry's status.
 */
static int
json_history_entry(importer *im, const json_t *h, size_t i, long long id, int *cur, const char *w)
{
    static const char *const keys[] = {"from", "status",   "date", "author",
                                       "note", "evidence", NULL};
    int from = -1;
    int to = -1;
    int rc = json_is_object(h) ? check_keys(h, keys, w, im->err)
                               : rp_error_set(im->err, RP_EDATA, "%s: expected an object", w);
    if (rc == RP_OK) {
        rc = get_enum(&from, h, "from", RP_RECS_V_STATUS, -1, w, im->err);
    }
    if (rc == RP_OK) {
        rc = get_enum(&to, h, "status", RP_RECS_V_STATUS, -1, w, im->err);
    }
    if (rc == RP_OK && to < 0) {
        rc = rp_error_set(im->err, RP_EDATA, "%s.status: required", w);
    }
    if (rc != RP_OK) {
        return rc;
    }
    if (from < 0) {
        if (i > 0) {
            return rp_error_set(im->err, RP_EDATA,
                                "%s.from: null only in the first entry (the creation)", w);
        }
        if (to != RP_REC_NOT_STARTED) {
            return rp_error_set(im->err, RP_EDATA,
                                "%s.status: the creation entry (\"from\": null) is 'not_started'",
                                w);
        }
        return RP_OK; /* already written by the insert */
    }
    if (from != *cur) {
        return rp_error_set(
            im->err, RP_EDATA, "%s.from: '%s' is not the status before this entry ('%s')", w,
            rp_recs_name(RP_RECS_V_STATUS, from), rp_recs_name(RP_RECS_V_STATUS, *cur));
    }
    rp_recs_change chg = RP_RECS_CHANGE_INIT;
    const char **ev = NULL;
    rc = get_str(&chg.date, h, "date", NULL, w, im->err);
    if (rc == RP_OK) {
        rc = get_str(&chg.author, h, "author", im->opts->author, w, im->err);
    }
    if (rc == RP_OK) {
        rc = check_file_author(im, chg.author, w);
    }
    if (rc == RP_OK) {
        rc = get_str(&chg.note, h, "note", NULL, w, im->err);
    }
    if (rc == RP_OK) {
        rc = evidence_of(&ev, &chg.n_evidence, h, w, im->err);
        chg.evidence = ev;
    }
    if (rc == RP_OK) {
        /* The history keeps the file's author; the audit trail names the importer. */
        rc =
            rp_recs__set_status_txn(im->st, id, (rp_rec_status)to, &chg, im->opts->author, im->err);
        rc = at_path(im, rc, w);
    }
    if (rc == RP_OK) {
        *cur = to;
        im->rep->statuses++;
    }
    rp_free((void *)ev);
    return rc;
}

/*
 * Replay the history of @p o on new recommendation @p id; *@p final gets the status it
 * ends in and *@p n_changes the number of changes replayed.
 */
static int json_history(
    importer *im, const json_t *o, long long id, int *final, size_t *n_changes, const char *where)
{
    json_t *a = NULL;
    int cur = RP_REC_NOT_STARTED;
    long long before = im->rep->statuses;
    int rc = get_arr(&a, o, "history", where, im->err);
    for (size_t i = 0; rc == RP_OK && i < json_array_size(a); i++) {
        char w[128];
        snprintf(w, sizeof(w), "%s.history[%zu]", where, i);
        rc = json_history_entry(im, json_array_get(a, i), i, id, &cur, w);
    }
    *final = cur;
    *n_changes = (size_t)(im->rep->statuses - before);
    return rc;
}

/* Queue the links of recommendation object @p o. */
static int json_links(importer *im, const json_t *o, long long id, const char *where)
{
    json_t *a = NULL;
    int rc = get_arr(&a, o, "links", where, im->err);
    for (size_t i = 0; rc == RP_OK && i < json_array_size(a); i++) {
        char w[128];
        snprintf(w, sizeof(w), "%s.links[%zu]", where, i);
        json_t *l = json_array_get(a, i);
        static const char *const keys[] = {"kind", "ref", NULL};
        const char *ref = NULL;
        int kind = 0;
        rc = json_is_object(l) ? check_keys(l, keys, w, im->err)
                               : rp_error_set(im->err, RP_EDATA, "%s: expected an object", w);
        if (rc == RP_OK) {
            rc = get_enum(&kind, l, "kind", RP_RECS_V_LINK, 0, w, im->err);
        }
        if (rc == RP_OK) {
            rc = get_str(&ref, l, "ref", "", w, im->err);
        }
        if (rc == RP_OK) {
            rc = queue_link(im, id, ref, (rp_rec_link_kind)kind, 0, w);
            rc = at_path(im, rc, w);
        }
    }
    return rc;
}

/*
 * The creation date and author of a recommendation object: its history's first entry
 * when that is the creation ("from": null), else today and the importer. A date that is
 * not a day, or after today, is refused.
 */
static int creation_of(
    importer *im, const json_t *o, const char **date, const char **author, const char *where)
{
    json_t *h = json_array_get(json_object_get(o, "history"), 0);
    *date = im->today;
    *author = im->opts->author;
    json_t *from = json_object_get(h, "from");
    if (h == NULL || (from != NULL && !json_is_null(from))) {
        return RP_OK; /* no creation entry: created today by the importer */
    }
    const char *d = json_string_value(json_object_get(h, "date"));
    const char *a = json_string_value(json_object_get(h, "author"));
    if (d != NULL && (!rp_recs__date_ok(d) || strcmp(d, im->today) > 0)) {
        return rp_error_set(im->err, RP_EDATA,
                            "%s.history[0].date: expected a date YYYY-MM-DD, not after today",
                            where);
    }
    *date = d != NULL ? d : *date;
    *author = a != NULL && a[0] != '\0' ? a : *author;
    char w[96];
    snprintf(w, sizeof(w), "%s.history[0]", where);
    return check_file_author(im, *author, w);
}

static int json_rec_fields(
    rp_rec *rec, const json_t *o, rp_x_buf *themes, rp_x_buf *bodies, const char *w, rp_error *err)
{
    static const char *const keys[] = {
        "ref",    "state",   "source",   "round",      "paragraph", "strength",
        "themes", "bodies",  "due_date", "text",       "status",    "status_date",
        "links",  "history", "progress", "indicators", NULL};
    int strength = 0;
    int rc = check_keys(o, keys, w, err);
    if (rc == RP_OK) {
        rc = get_str(&rec->ref, o, "ref", "", w, err);
    }
    if (rc == RP_OK) {
        rc = get_str(&rec->state, o, "state", "", w, err);
    }
    if (rc == RP_OK) {
        rc = get_str(&rec->source, o, "source", "", w, err);
    }
    if (rc == RP_OK) {
        rc = get_str(&rec->paragraph, o, "paragraph", "", w, err);
    }
    if (rc == RP_OK) {
        rc = get_str(&rec->text, o, "text", "", w, err);
    }
    if (rc == RP_OK) {
        rc = get_str(&rec->due_date, o, "due_date", "", w, err);
    }
    if (rc == RP_OK) {
        rc = get_enum(&strength, o, "strength", RP_RECS_V_STRENGTH, 0, w, err);
    }
    json_t *round = json_object_get(o, "round");
    if (rc == RP_OK && round != NULL && !json_is_integer(round)) {
        rc = rp_error_set(err, RP_EDATA, "%s.round: expected an integer", w);
    }
    rec->round = round != NULL ? (int)json_integer_value(round) : 0;
    if (rc == RP_OK &&
        (json_integer_value(round) < 0 || json_integer_value(round) > RP_RECS_ROUND_MAX)) {
        rc = rp_error_set(err, RP_EDATA, "%s.round: expected 0 to 9", w);
    }
    rec->strength = (rp_rec_strength)strength;
    if (rc == RP_OK) {
        rc = join_codes(themes, o, "themes", w, err);
    }
    if (rc == RP_OK) {
        rc = join_codes(bodies, o, "bodies", w, err);
    }
    rec->themes = rp_x_buf_cstr(themes);
    rec->bodies = rp_x_buf_cstr(bodies);
    return rc;
}

/*
 * The status of a recommendation object agrees with its history (@p final after
 * @p n_changes changes), or, when the history holds no change, is reached as a CSV
 * import would reach it (dated "status_date").
 */
static int json_final_status(
    importer *im, const json_t *o, long long id, int final, size_t n_changes, const char *w)
{
    int status = -1;
    int rc = get_enum(&status, o, "status", RP_RECS_V_STATUS, -1, w, im->err);
    if (rc == RP_OK && status < 0 && json_object_get(o, "status_date") != NULL &&
        !json_is_null(json_object_get(o, "status_date"))) {
        return rp_error_set(im->err, RP_EDATA, "%s.status_date: given without a 'status' to date",
                            w);
    }
    if (rc != RP_OK || status < 0) {
        return rc;
    }
    if (n_changes == 0) {
        const char *date = NULL;
        rc = get_str(&date, o, "status_date", im->today, w, im->err);
        return rc == RP_OK ? at_path(im, import_status(im, id, (rp_rec_status)status, date), w)
                           : rc;
    }
    if (final != status) {
        return rp_error_set(im->err, RP_EDATA, "%s.status: does not match the last history entry",
                            w);
    }
    return RP_OK;
}

static int json_rec(importer *im, const json_t *o, size_t i)
{
    char w[64];
    snprintf(w, sizeof(w), "recommendations[%zu]", i);
    if (!json_is_object(o)) {
        return rp_error_set(im->err, RP_EDATA, "%s: expected an object", w);
    }
    rp_x_buf themes = RP_X_BUF_INIT;
    rp_x_buf bodies = RP_X_BUF_INIT;
    rp_rec rec = RP_REC_INIT;
    long long id = 0;
    int rc = json_rec_fields(&rec, o, &themes, &bodies, w, im->err);
    const char *created = im->today;
    const char *created_by = im->opts->author;
    if (rc == RP_OK) {
        rc = creation_of(im, o, &created, &created_by, w);
    }
    if (rc == RP_OK) {
        /* The audit trail names who ran the import; the history keeps the file's author. */
        rc = rp_recs__add_txn(&id, im->st, &rec, im->opts->author, created, created_by, im->err);
        rc = at_path(im, rc, w);
    }
    im->rep->recs += rc == RP_OK;
    int final = RP_REC_NOT_STARTED;
    size_t n_changes = 0;
    if (rc == RP_OK) {
        rc = json_history(im, o, id, &final, &n_changes, w);
    }
    if (rc == RP_OK) {
        rc = json_final_status(im, o, id, final, n_changes, w);
    }
    if (rc == RP_OK) {
        rc = json_links(im, o, id, w);
    }
    if (rc == RP_OK) {
        rc = json_progress_list(im, o, id, 0, 0, w);
    }
    if (rc == RP_OK) {
        rc = json_indicators(im, o, id, 0, w);
    }
    rp_x_buf_release(&themes);
    rp_x_buf_release(&bodies);
    return rc;
}

static int json_action(importer *im, const json_t *o, size_t i)
{
    static const char *const keys[] = {"ref",        "title",      "body",
                                       "start_date", "due_date",   "recommendations",
                                       "progress",   "indicators", NULL};
    char w[64];
    snprintf(w, sizeof(w), "actions[%zu]", i);
    rp_recs_action a = RP_RECS_ACTION_INIT;
    int rc = json_is_object(o) ? check_keys(o, keys, w, im->err)
                               : rp_error_set(im->err, RP_EDATA, "%s: expected an object", w);
    if (rc == RP_OK) {
        rc = get_str(&a.ref, o, "ref", "", w, im->err);
    }
    if (rc == RP_OK) {
        rc = get_str(&a.title, o, "title", "", w, im->err);
    }
    if (rc == RP_OK) {
        rc = get_str(&a.body, o, "body", "", w, im->err);
    }
    if (rc == RP_OK) {
        rc = get_str(&a.start_date, o, "start_date", "", w, im->err);
    }
    if (rc == RP_OK) {
        rc = get_str(&a.due_date, o, "due_date", "", w, im->err);
    }
    long long id = 0;
    if (rc == RP_OK) {
        rc = rp_recs__add_action_txn(&id, im->st, &a, NULL, 0, im->opts->author, im->err);
        rc = at_path(im, rc, w);
    }
    im->rep->actions += rc == RP_OK;
    json_t *recs = NULL;
    if (rc == RP_OK) {
        rc = get_arr(&recs, o, "recommendations", w, im->err);
    }
    for (size_t k = 0; rc == RP_OK && k < json_array_size(recs); k++) {
        const char *ref = json_string_value(json_array_get(recs, k));
        long long rec = 0;
        rc = ref == NULL ? rp_error_set(im->err, RP_EDATA, "expected a string")
                         : rp_recs__find(&rec, im->st, false, ref, im->err);
        if (rc == RP_OK) {
            rc = rp_recs__action_link_txn(im->st, id, rec, im->opts->author, im->err);
        }
        if (rc != RP_OK) {
            char wk[128];
            snprintf(wk, sizeof(wk), "%.64s.recommendations[%zu]", w, k);
            rc = at_path(im, rc, wk);
        }
    }
    if (rc == RP_OK) {
        rc = json_progress_list(im, o, 0, id, 0, w);
    }
    if (rc == RP_OK) {
        rc = json_indicators(im, o, 0, id, w);
    }
    return rc;
}

/* sources, themes, bodies: add the codes the store lacks. */
static int json_codes(importer *im, const json_t *root, int table)
{
    static const char *const arrays[] = {"sources", "themes", "bodies"};
    static const char *const labels[] = {"title", "label", "name"};
    static const rp_recs_vocab kinds[] = {RP_RECS_V_SOURCE_KIND, RP_RECS_V_SOURCE_KIND,
                                          RP_RECS_V_BODY_KIND};
    json_t *a = NULL;
    int rc = get_arr(&a, root, arrays[table], "(top level)", im->err);
    for (size_t i = 0; rc == RP_OK && i < json_array_size(a); i++) {
        char w[64];
        snprintf(w, sizeof(w), "%s[%zu]", arrays[table], i);
        json_t *o = json_array_get(a, i);
        const char *keys[] = {"code", table == RP_RECS__THEMES ? "label" : "kind", labels[table],
                              NULL};
        const char *code = NULL;
        const char *label = NULL;
        int kind = 0;
        long long id = 0;
        rc = json_is_object(o) ? check_keys(o, keys, w, im->err)
                               : rp_error_set(im->err, RP_EDATA, "%s: expected an object", w);
        if (rc == RP_OK) {
            rc = get_str(&code, o, "code", "", w, im->err);
        }
        if (rc == RP_OK) {
            rc = get_str(&label, o, labels[table], "", w, im->err);
        }
        if (rc == RP_OK && table != RP_RECS__THEMES) {
            rc = get_enum(&kind, o, "kind", kinds[table],
                          table == RP_RECS__SOURCES ? RP_RECS_SRC_OTHER : RP_RECS_BODY_OTHER, w,
                          im->err);
        }
        if (rc == RP_OK) {
            rc = rp_recs__code_id(&id, im->st, table, code, im->err);
        }
        if (rc == RP_OK && id == 0) {
            rc = rp_recs__add_code_txn(im->st, table, code, kind, label, im->opts->author, im->err);
            rc = at_path(im, rc, w);
        }
    }
    return rc;
}

static int import_json(importer *im)
{
    static const char *const keys[] = {"format", "version",         "sources", "themes",
                                       "bodies", "recommendations", "actions", NULL};
    json_error_t jerr;
    json_t *root = json_load_file(im->path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return rp_error_set_at(im->err, RP_EPARSE, im->path, jerr.line > 0 ? jerr.line : 0,
                               jerr.column > 0 ? jerr.column : 0, "%s", jerr.text);
    }
    int rc = json_is_object(root)
                 ? check_keys(root, keys, "(top level)", im->err)
                 : rp_error_set(im->err, RP_EDATA, "expected an object at the top level");
    const char *format = NULL;
    if (rc == RP_OK) {
        rc = get_str(&format, root, "format", "rapporteur-recs", "(top level)", im->err);
    }
    if (rc == RP_OK && strcmp(format, "rapporteur-recs") != 0) {
        rc = rp_error_set(im->err, RP_EDATA, "format: expected \"rapporteur-recs\"");
    }
    json_t *version = json_object_get(root, "version");
    if (rc == RP_OK && version != NULL &&
        (!json_is_integer(version) || json_integer_value(version) != 1)) {
        rc =
            rp_error_set(im->err, RP_EDATA, "version: expected 1 (the version this program reads)");
    }
    for (int t = 0; t < 3 && rc == RP_OK; t++) {
        rc = json_codes(im, root, t);
    }
    json_t *a = NULL;
    if (rc == RP_OK) {
        rc = get_arr(&a, root, "recommendations", "(top level)", im->err);
    }
    for (size_t i = 0; rc == RP_OK && i < json_array_size(a); i++) {
        rc = json_rec(im, json_array_get(a, i), i);
    }
    if (rc == RP_OK) {
        rc = resolve_links(im);
    }
    if (rc == RP_OK) {
        rc = get_arr(&a, root, "actions", "(top level)", im->err);
    }
    for (size_t i = 0; rc == RP_OK && i < json_array_size(a); i++) {
        rc = json_action(im, json_array_get(a, i), i);
    }
    if (rc != RP_OK && im->err != NULL && im->err->path[0] == '\0') {
        rp_x_strlcpy(im->err->path, im->path, sizeof(im->err->path));
    }
    json_decref(root);
    return rc;
}

/* ==== entry point ==== */

/* The format of @p path by its extension. */
static rp_recs_format format_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot != NULL && (strcmp(dot, ".csv") == 0 || strcmp(dot, ".CSV") == 0)) {
        return RP_RECS_CSV;
    }
    if (dot != NULL && (strcmp(dot, ".json") == 0 || strcmp(dot, ".JSON") == 0)) {
        return RP_RECS_JSON;
    }
    return RP_RECS_TEXT;
}

int rp_recs_import(rp_recs_import_report *report,
                   rp_store *st,
                   const char *path,
                   const rp_recs_import_opts *opts,
                   rp_error *err)
{
    rp_recs_import_report rep;
    memset(&rep, 0, sizeof(rep));
    if (path == NULL || opts == NULL || opts->version != RP_RECS_IMPORT_OPTS_VERSION) {
        return rp_error_set(err, RP_EINVAL, "no file or no valid options given");
    }
    rp_recs_format fmt = opts->format == RP_RECS_AUTO ? format_of(path) : opts->format;
    if (fmt != RP_RECS_CSV && fmt != RP_RECS_JSON && fmt != RP_RECS_TEXT) {
        return rp_error_set(err, RP_EINVAL, "imports read CSV, JSON or text");
    }
    if (opts->round < 0 || opts->round > RP_RECS_ROUND_MAX) {
        return rp_error_set(err, RP_EINVAL, "round out of range (0 to 9)");
    }
    int rc = rp_recs__start_by(st, opts->author, err);
    if (rc != RP_OK) {
        return rc;
    }
    importer im = {st, opts, path, &rep, err, "", NULL, 0, 0};
    rp_recs__today(im.today);
    if (fmt == RP_RECS_CSV) {
        rc = import_csv(&im);
        if (rc == RP_OK) {
            rc = resolve_links(&im);
        }
    } else if (fmt == RP_RECS_JSON) {
        rc = import_json(&im);
    } else {
        rc = import_text(&im);
    }
    rp_free(im.links);
    rc = rp_recs__end(st, rc, err);
    if (rc == RP_OK && report != NULL) {
        *report = rep;
    }
    return rc;
}
