/*
 * Capture histories from the store: one person per distinct person_id, seen on the
 * lists whose records carry it, counted into capture tables (pooled and per stratum) in
 * the shape rp_capture_read_csv() gives, so that estimation runs on stored records.
 */
#include "store/store_int.h"

#include <rapporteur/mse.h>

/* One stratum being counted: its label and 2^K cells. */
typedef struct cap_stratum {
    char *label;
    double *counts;
} cap_stratum;

typedef struct cap_state {
    size_t n_lists;
    size_t n_cells;
    char names[RP_MSE_MAX_LISTS][RP_MSE_NAME_MAX];
    cap_stratum *strata; /* sorted by label */
    size_t n_strata, cap_strata;
    double *total;
} cap_state;

static void cap_release(cap_state *c)
{
    for (size_t i = 0; i < c->n_strata; i++) {
        rp_free(c->strata[i].label);
        rp_free(c->strata[i].counts);
    }
    rp_free(c->strata);
    rp_free(c->total);
}

/* Index of list @p name among the (sorted) lists, or -1. */
static int list_index(const cap_state *c, const char *name)
{
    size_t lo = 0, hi = c->n_lists;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->names[mid], name);
        if (cmp == 0) {
            return (int)mid;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

/* The cells of the stratum labelled @p label, inserted (zero) when new. */
static int find_stratum(cap_state *c, const char *label, double **cells)
{
    size_t lo = 0, hi = c->n_strata;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->strata[mid].label, label);
        if (cmp == 0) {
            *cells = c->strata[mid].counts;
            return RP_OK;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (c->n_strata == c->cap_strata) {
        size_t cap = c->cap_strata > 0 ? 2 * c->cap_strata : 16;
        cap_stratum *v = rp_reallocarray(c->strata, cap, sizeof(*v));
        if (v == NULL) {
            return RP_ENOMEM;
        }
        c->strata = v;
        c->cap_strata = cap;
    }
    cap_stratum s = {rp_strdup(label), rp_calloc(c->n_cells, sizeof(double))};
    if (s.label == NULL || s.counts == NULL) {
        rp_free(s.label);
        rp_free(s.counts);
        return RP_ENOMEM;
    }
    memmove(c->strata + lo + 1, c->strata + lo, (c->n_strata - lo) * sizeof(*c->strata));
    c->strata[lo] = s;
    c->n_strata++;
    *cells = s.counts;
    return RP_OK;
}

/* Read the distinct lists of linked records, in code order, into @p c. */
static int read_lists(cap_state *c, rp_store *st, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT DISTINCT list FROM cases WHERE person_id <> ''"
                               " ORDER BY list",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    size_t n = 0;
    int s = SQLITE_ROW;
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n < RP_MSE_MAX_LISTS) {
            const unsigned char *t = sqlite3_column_text(stmt, 0);
            rp_x_strlcpy(c->names[n], t != NULL ? (const char *)t : "", RP_MSE_NAME_MAX);
        }
        n++;
    }
    if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot read the lists");
        goto out;
    }
    if (n == 0) {
        rc = rp_error_set(err, RP_EDATA,
                          "no stored record has a person id: capture histories need the "
                          "same person recognised on several lists (map a shared person "
                          "identifier to 'person_id', or link the lists first)");
        goto out;
    }
    if (n < 2 || n > RP_MSE_MAX_LISTS) {
        rc = rp_error_set(err, RP_EDATA,
                          "linked records come from %zu lists; capture histories need 2 to %d", n,
                          RP_MSE_MAX_LISTS);
        goto out;
    }
    c->n_lists = n;
    c->n_cells = (size_t)1 << n;
out:
    sqlite3_finalize(stmt);
    return rc;
}

/* Number of records without a person id. */
static int count_unlinked(long long *out, rp_store *st, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st, "SELECT count(*) FROM cases WHERE person_id = ''", err);
    if (rc != RP_OK) {
        return rc;
    }
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot count the unlinked records");
    } else {
        *out = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* The stratum label of @p rec: "f1=v1,f2=v2" over the fields @p fields. */
static int make_label(rp_x_buf *label,
                      const rp_case_record *rec,
                      const rp_field *fields,
                      const char *const *by,
                      size_t n_by)
{
    rp_x_buf_reset(label);
    for (size_t j = 0; j < n_by; j++) {
        rp_x_buf_printf(label, "%s%s=", j > 0 ? "," : "", by[j]);
        rp_store__field_text(label, rec, fields[j]);
    }
    rp_x_buf_puts(label, "");
    return rp_x_buf_oom(label) ? RP_ENOMEM : RP_OK;
}

/* Add one finished person (capture pattern @p w, stratum @p label) to the counts. */
static int add_person(cap_state *c, unsigned w, const char *label, bool stratified)
{
    c->total[w] += 1.0;
    if (!stratified) {
        return RP_OK;
    }
    double *cells = NULL;
    int rc = find_stratum(c, label, &cells);
    if (rc == RP_OK) {
        cells[w] += 1.0;
    }
    return rc;
}

/* A capture table over the lists of @p c holding @p counts. */
static int
new_table(rp_capture_table **out, const cap_state *c, const double *counts, rp_error *err)
{
    const char *names[RP_MSE_MAX_LISTS];
    for (size_t i = 0; i < c->n_lists; i++) {
        names[i] = c->names[i];
    }
    int rc = rp_capture_table_new(out, c->n_lists, names, err);
    if (rc == RP_OK) {
        memcpy((*out)->counts, counts, c->n_cells * sizeof(*counts));
    }
    return rc;
}

/* Resolve the stratum field names @p by into @p fields. RP_OK or RP_EINVAL. */
static int parse_by(rp_field *fields, const char *const *by, size_t n_by, rp_error *err)
{
    for (size_t j = 0; j < n_by; j++) {
        if (by[j] == NULL || rp_field_lookup(&fields[j], by[j]) != RP_OK) {
            return rp_error_set(err, RP_EINVAL, "unknown field '%s'", by[j] != NULL ? by[j] : "");
        }
        if (fields[j] == RP_FIELD_LIST || fields[j] == RP_FIELD_CASE_ID ||
            fields[j] == RP_FIELD_PERSON_ID) {
            return rp_error_set(err, RP_EINVAL, "cannot stratify by field '%s'", by[j]);
        }
        for (size_t k = 0; k < j; k++) {
            if (fields[k] == fields[j]) {
                return rp_error_set(err, RP_EINVAL, "stratum field '%s' is given twice", by[j]);
            }
        }
    }
    return RP_OK;
}

/*
 * Walk the linked records person by person and count each person once, in the cell of
 * the lists that recorded them. Within a person the earliest registration year comes
 * first (a missing year last; ties by row id), so the first record of each person
 * gives the person's stratum. *n_records counts the records read.
 */
static int count_persons(cap_state *c,
                         size_t *n_records,
                         rp_store *st,
                         const rp_field *fields,
                         const char *const *by,
                         size_t n_by,
                         rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    rp_x_buf label = RP_X_BUF_INIT;
    char person[RP_DATA_ID_MAX] = "";
    unsigned pattern = 0;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT " RP_STORE_CASE_COLUMNS " FROM cases WHERE person_id <> ''"
                               " ORDER BY person_id, registration_year = 0, registration_year, id",
                               err);
    int s = SQLITE_ROW;
    *n_records = 0;
    while (rc == RP_OK && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        rp_case_record rec;
        rp_store__row_record(&rec, stmt, 0);
        (*n_records)++;
        if (strcmp(rec.person_id, person) != 0) {
            if (pattern != 0) {
                rc = add_person(c, pattern, rp_x_buf_cstr(&label), n_by > 0);
            }
            rp_x_strlcpy(person, rec.person_id, sizeof(person));
            pattern = 0;
            if (rc == RP_OK && n_by > 0) {
                rc = make_label(&label, &rec, fields, by, n_by);
            }
            if (rc != RP_OK) {
                rc = rp_error_set(err, RP_ENOMEM, "out of memory");
                break;
            }
        }
        int li = list_index(c, rec.list);
        if (RP_NEVER(li < 0)) {
            rc = rp_error_set(err, RP_EINTERNAL, "list of a linked record not found");
            break;
        }
        pattern |= 1u << (unsigned)li;
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot read the linked records");
    }
    if (rc == RP_OK && pattern != 0 &&
        add_person(c, pattern, rp_x_buf_cstr(&label), n_by > 0) != RP_OK) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    rp_x_buf_release(&label);
    sqlite3_finalize(stmt);
    return rc;
}

/* Move the counts of @p c into a new capture set. */
static int
build_set(rp_capture_set **out, cap_state *c, size_t n_records, long long n_unlinked, rp_error *err)
{
    rp_x_strvec notes = RP_X_STRVEC_INIT;
    int rc = RP_OK;
    rp_capture_set *set = rp_calloc(1, sizeof(*set));
    if (set == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    set->form = RP_CAPTURE_FORM_PERSON;
    set->n_rows = n_records;
    rc = new_table(&set->total, c, c->total, err);
    if (rc != RP_OK) {
        goto out;
    }
    if (c->n_strata > 0) {
        /* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
        set->strata = rp_calloc(c->n_strata, sizeof(*set->strata));
        set->stratum_labels = rp_calloc(c->n_strata, sizeof(*set->stratum_labels));
        if (set->strata == NULL || set->stratum_labels == NULL) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < c->n_strata; i++) {
        rc = new_table(&set->strata[i], c, c->strata[i].counts, err);
        if (rc != RP_OK) {
            goto out;
        }
        set->stratum_labels[i] = c->strata[i].label;
        c->strata[i].label = NULL;
        set->n_strata = i + 1;
    }
    if (n_unlinked > 0 && rp_x_strvec_pushf(&notes, "%lld records without a person id left out",
                                            n_unlinked) != RP_OK) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    set->notes = rp_x_strvec_detach(&notes, &set->n_notes);
    *out = set;
    set = NULL;
out:
    rp_x_strvec_release(&notes);
    rp_capture_set_free(set);
    return rc;
}

int rp_store_capture_set(rp_capture_set **out,
                         long long *unlinked,
                         rp_store *st,
                         const char *const *by,
                         size_t n_by,
                         rp_error *err)
{
    cap_state c;
    rp_field *fields = NULL;
    bool in_txn = false;
    int rc = RP_OK;

    memset(&c, 0, sizeof(c));
    if (out == NULL) {
        return rp_error_set(err, RP_EINVAL, "no output given");
    }
    *out = NULL;
    if (st == NULL || (n_by > 0 && by == NULL)) {
        return rp_error_set(err, RP_EINVAL, "no store or strata given");
    }
    if (n_by > 0) {
        fields = rp_calloc(n_by, sizeof(*fields));
        if (fields == NULL) {
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        }
    }
    rc = parse_by(fields, by, n_by, err);
    if (rc != RP_OK) {
        goto out;
    }

    /* One read transaction: every query below sees the same snapshot of the store. */
    rc = rp_store__exec(st, "BEGIN", "cannot start reading the store", err);
    if (rc != RP_OK) {
        goto out;
    }
    in_txn = true;
    long long n_unlinked = 0;
    size_t n_records = 0;
    rc = count_unlinked(&n_unlinked, st, err);
    if (rc == RP_OK) {
        rc = read_lists(&c, st, err);
    }
    if (rc == RP_OK) {
        c.total = rp_calloc(c.n_cells, sizeof(*c.total));
        if (c.total == NULL) {
            rp_error_set(err, RP_ENOMEM, "out of memory");
            rc = RP_ENOMEM;
        }
    }
    if (rc == RP_OK) {
        rc = count_persons(&c, &n_records, st, fields, by, n_by, err);
    }
    if (rc == RP_OK) {
        rc = build_set(out, &c, n_records, n_unlinked, err);
    }
    if (rc == RP_OK && unlinked != NULL) {
        *unlinked = n_unlinked;
    }
out:
    rp_free(fields);
    cap_release(&c);
    if (in_txn) {
        /* A read transaction: ending it cannot lose anything. */
        sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    }
    return rc;
}
