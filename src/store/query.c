/*
 * Read-only questions to the store: the submissions with their provenance and counts,
 * the lists with their numbers of records, the quarantined rows with every reason, and
 * counts of stored records by the values of one field of the standard.
 */
#include "store/store_int.h"

#include <stdlib.h>

/* The caller's callback asked to stop. */
static int stopped(rp_error *err)
{
    return rp_error_set(err, RP_ECANCELED, "stopped by the caller");
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    rp_x_strlcpy(dst, t != NULL ? (const char *)t : "", size);
}

/*
 * The loop of the listing queries below: step @p stmt to the end, handing each row to
 * @p row, which fills the caller's record and calls the caller's callback with it. A
 * non-zero return from @p row stops with RP_ECANCELED; a failed step is RP_ESQL with
 * @p what ("cannot read the lists"). Finalizes @p stmt in every case.
 */
static int each_row(rp_store *st,
                    sqlite3_stmt *stmt,
                    int (*row)(sqlite3_stmt *stmt, void *payload),
                    void *payload,
                    const char *what,
                    rp_error *err)
{
    int rc = RP_OK;
    int s = SQLITE_ROW;
    while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (row(stmt, payload) != 0) {
            rc = stopped(err);
            goto out;
        }
    }
    if (s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, what);
    }
out:
    sqlite3_finalize(stmt);
    return rc;
}

/* ==== submissions and lists ==== */

typedef struct submissions_call {
    int (*fn)(const rp_submission *s, void *payload);
    void *payload;
} submissions_call;

static int submission_row(sqlite3_stmt *stmt, void *payload)
{
    const submissions_call *call = payload;
    rp_submission sub;
    memset(&sub, 0, sizeof(sub));
    sub.id = sqlite3_column_int64(stmt, 0);
    copy_text(sub.agency, sizeof(sub.agency), stmt, 1);
    copy_text(sub.list, sizeof(sub.list), stmt, 2);
    copy_text(sub.file_name, sizeof(sub.file_name), stmt, 3);
    copy_text(sub.sha256, sizeof(sub.sha256), stmt, 4);
    copy_text(sub.mapping, sizeof(sub.mapping), stmt, 5);
    copy_text(sub.imported_at, sizeof(sub.imported_at), stmt, 6);
    sub.read = sqlite3_column_int64(stmt, 7);
    sub.stored = sqlite3_column_int64(stmt, 8);
    sub.quarantined = sqlite3_column_int64(stmt, 9);
    return call->fn(&sub, call->payload);
}

int rp_store_submissions(rp_store *st,
                         int (*fn)(const rp_submission *s, void *payload),
                         void *payload,
                         rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    if (st == NULL || fn == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store or callback given");
    }
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT id, agency, list, file_name, sha256, mapping, imported_at,"
                               " rows_read, rows_stored, rows_quarantined FROM submissions"
                               " ORDER BY id",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    submissions_call call = {fn, payload};
    return each_row(st, stmt, submission_row, &call, "cannot read the submissions", err);
}

typedef struct lists_call {
    int (*fn)(const char *list, long long records, void *payload);
    void *payload;
} lists_call;

static int list_row(sqlite3_stmt *stmt, void *payload)
{
    const lists_call *call = payload;
    char list[RP_DATA_ID_MAX];
    copy_text(list, sizeof(list), stmt, 0);
    return call->fn(list, sqlite3_column_int64(stmt, 1), call->payload);
}

int rp_store_lists(rp_store *st,
                   int (*fn)(const char *list, long long records, void *payload),
                   void *payload,
                   rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    if (st == NULL || fn == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store or callback given");
    }
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT list, count(*) FROM cases GROUP BY list ORDER BY list", err);
    if (rc != RP_OK) {
        return rc;
    }
    lists_call call = {fn, payload};
    return each_row(st, stmt, list_row, &call, "cannot read the lists", err);
}

/* ==== quarantine ==== */

typedef struct quarantine_call {
    int (*fn)(const rp_quarantine_entry *q, void *payload);
    void *payload;
} quarantine_call;

static int quarantine_row(sqlite3_stmt *stmt, void *payload)
{
    const quarantine_call *call = payload;
    rp_quarantine_entry q;
    memset(&q, 0, sizeof(q));
    q.submission_id = sqlite3_column_int64(stmt, 0);
    copy_text(q.file_name, sizeof(q.file_name), stmt, 1);
    q.issue.line = (long)sqlite3_column_int64(stmt, 2);
    q.issue.column = (long)sqlite3_column_int64(stmt, 3);
    copy_text(q.issue.column_name, sizeof(q.issue.column_name), stmt, 4);
    copy_text(q.issue.value, sizeof(q.issue.value), stmt, 5);
    copy_text(q.issue.rule, sizeof(q.issue.rule), stmt, 6);
    copy_text(q.issue.message, sizeof(q.issue.message), stmt, 7);
    return call->fn(&q, call->payload);
}

int rp_store_quarantine(rp_store *st,
                        long long submission_id,
                        int (*fn)(const rp_quarantine_entry *q, void *payload),
                        void *payload,
                        rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    if (st == NULL || fn == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store or callback given");
    }
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT q.submission_id, s.file_name, r.line, r.col, r.column_name,"
                               " r.value, r.rule, r.message"
                               " FROM quarantine_reasons AS r"
                               " JOIN quarantine AS q ON q.id = r.quarantine_id"
                               " JOIN submissions AS s ON s.id = q.submission_id"
                               " WHERE ?1 = 0 OR q.submission_id = ?1"
                               " ORDER BY q.submission_id, q.line, q.id, r.id",
                               err);
    if (rc != RP_OK) {
        return rc;
    }
    if (sqlite3_bind_int64(stmt, 1, submission_id) != SQLITE_OK) {
        rc = rp_store__sql_error(err, st->db, "cannot read the quarantine");
        sqlite3_finalize(stmt);
        return rc;
    }
    quarantine_call call = {fn, payload};
    return each_row(st, stmt, quarantine_row, &call, "cannot read the quarantine", err);
}

/* ==== counts by field ==== */

/*
 * For each field, a constant query grouping the stored records by the raw columns the
 * field is made of: (value, state, count). The raw groups are turned into text with the
 * export's rules, then groups with the same text are added up (for multi-valued fields
 * each code of a group counts once).
 */
static const char *const stats_sql[RP_FIELD_COUNT] = {
    [RP_FIELD_LIST] = "SELECT list, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_CASE_ID] = "SELECT case_id, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_PERSON_ID] = "SELECT person_id, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_REGISTRATION_YEAR] = "SELECT registration_year, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_REGISTRATION_DATE] = "SELECT registration_date, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_ID_STATUS] = "SELECT id_status, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_SEX] = "SELECT sex, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_AGE] = "SELECT age, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_AGE_BAND] = "SELECT age_band, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_MAJORITY_AT_EXPLOITATION] = "SELECT majority, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_CITIZENSHIP] =
        "SELECT citizenship, citizenship_state, count(*) FROM cases GROUP BY 1, 2",
    [RP_FIELD_COUNTRY_OF_EXPLOITATION] =
        "SELECT country_of_exploitation, coe_state, count(*) FROM cases GROUP BY 1, 2",
    [RP_FIELD_EXPLOITATION] =
        "SELECT exploitation, exploitation_state, count(*) FROM cases GROUP BY 1, 2",
    [RP_FIELD_SEXUAL_TYPES] = "SELECT sexual_types, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_LABOUR_SECTORS] = "SELECT labour_sectors, 0, count(*) FROM cases GROUP BY 1",
    [RP_FIELD_MEANS_OF_CONTROL] =
        "SELECT means_of_control, moc_state, count(*) FROM cases GROUP BY 1, 2",
    [RP_FIELD_RECRUITER_RELATION] =
        "SELECT recruiter_relation, rr_state, count(*) FROM cases GROUP BY 1, 2",
};

/* Put the raw group (columns 0 and 1 of @p stmt) of field @p f into @p rec. */
static void group_record(rp_case_record *rec, rp_field f, sqlite3_stmt *stmt)
{
    rp_case_record_init(rec);
    int i = sqlite3_column_int(stmt, 0);
    uint32_t mask = (uint32_t)sqlite3_column_int64(stmt, 0);
    rp_state state = (rp_state)sqlite3_column_int(stmt, 1);
    switch (f) {
    case RP_FIELD_LIST:
        copy_text(rec->list, sizeof(rec->list), stmt, 0);
        break;
    case RP_FIELD_CASE_ID:
        copy_text(rec->case_id, sizeof(rec->case_id), stmt, 0);
        break;
    case RP_FIELD_PERSON_ID:
        copy_text(rec->person_id, sizeof(rec->person_id), stmt, 0);
        break;
    case RP_FIELD_REGISTRATION_YEAR:
        rec->registration_year = i;
        break;
    case RP_FIELD_REGISTRATION_DATE:
        copy_text(rec->registration_date, sizeof(rec->registration_date), stmt, 0);
        break;
    case RP_FIELD_ID_STATUS:
        rec->id_status = (rp_id_status)i;
        break;
    case RP_FIELD_SEX:
        rec->sex = (rp_sex)i;
        break;
    case RP_FIELD_AGE:
        rec->age = i;
        break;
    case RP_FIELD_AGE_BAND:
        rec->age_band = (rp_age_band)i;
        break;
    case RP_FIELD_MAJORITY_AT_EXPLOITATION:
        rec->majority_at_exploitation = (rp_majority)i;
        break;
    case RP_FIELD_CITIZENSHIP:
        copy_text(rec->citizenship, sizeof(rec->citizenship), stmt, 0);
        rec->citizenship_state = state;
        break;
    case RP_FIELD_COUNTRY_OF_EXPLOITATION:
        copy_text(rec->country_of_exploitation, sizeof(rec->country_of_exploitation), stmt, 0);
        rec->country_of_exploitation_state = state;
        break;
    case RP_FIELD_EXPLOITATION:
        rec->exploitation = mask;
        rec->exploitation_state = state;
        break;
    case RP_FIELD_SEXUAL_TYPES:
        rec->sexual_types = mask;
        break;
    case RP_FIELD_LABOUR_SECTORS:
        rec->labour_sectors = mask;
        break;
    case RP_FIELD_MEANS_OF_CONTROL:
        rec->means_of_control = mask;
        rec->means_of_control_state = state;
        break;
    case RP_FIELD_RECRUITER_RELATION:
        rec->recruiter_relation = mask;
        rec->recruiter_relation_state = state;
        break;
    case RP_FIELD_COUNT:
    default:
        break;
    }
}

/* One value and its count; key orders numbers by value and codes in code order. */
typedef struct stat_entry {
    char *value;
    long long count;
    long long key;
} stat_entry;

typedef struct stat_list {
    stat_entry *v;
    size_t n, cap;
    bool numeric;
} stat_list;

static int stat_push(stat_list *l, const char *value, size_t len, long long count, long long key)
{
    if (l->n == l->cap) {
        size_t cap = l->cap > 0 ? 2 * l->cap : 32;
        stat_entry *v = rp_reallocarray(l->v, cap, sizeof(*v));
        if (v == NULL) {
            return RP_ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    char *copy = rp_x_strndup(value, len);
    if (copy == NULL) {
        return RP_ENOMEM;
    }
    l->v[l->n++] = (stat_entry){copy, count, key};
    return RP_OK;
}

static int cmp_text(const void *a, const void *b)
{
    const stat_entry *x = a, *y = b;
    return strcmp(x->value, y->value);
}

static int cmp_numeric(const void *a, const void *b)
{
    const stat_entry *x = a, *y = b;
    if (x->key != y->key) {
        return x->key < y->key ? -1 : 1;
    }
    return strcmp(x->value, y->value);
}

/*
 * Sort key of one code of a multi-valued field: "" (missing) first, then "unknown"
 * (recorded as unknown), then the codes in bit order. A code that is also a bit
 * ("unknown" of recruiter_relation) takes the bit's place, so equal texts stay
 * neighbours.
 */
static long long code_key(rp_field field, const char *code)
{
    unsigned bits = 0;
    if (code[0] == '\0') {
        return -2;
    }
    if (rp_code_parse(&bits, field, code) != RP_OK || bits == 0) {
        return -1;
    }
    long long bit = 0;
    while ((bits & 1u) == 0) {
        bits >>= 1;
        bit++;
    }
    return bit;
}

/* Add the group in the current row of @p stmt to @p l, by text (per code if @p multi). */
static int
collect_group(stat_list *l, rp_x_buf *text, rp_field field, bool multi, sqlite3_stmt *stmt)
{
    rp_case_record rec;
    group_record(&rec, field, stmt);
    long long count = sqlite3_column_int64(stmt, 2);
    rp_x_buf_reset(text);
    if (rp_store__field_text(text, &rec, field) != RP_OK) {
        return RP_ENOMEM;
    }
    const char *t = rp_x_buf_cstr(text);
    if (!multi) {
        /*
         * Numbers sort by value and codes in code-list order; missing comes first (the
         * year 0 and the age -1 both mean missing).
         */
        long long key = t[0] == '\0' ? -1 : sqlite3_column_int64(stmt, 0);
        return stat_push(l, t, strlen(t), count, key);
    }
    /* One entry per code of the group ("a;b" gives a and b). */
    for (const char *p = t;;) {
        const char *semi = strchr(p, ';');
        size_t n = semi != NULL ? (size_t)(semi - p) : strlen(p);
        int rc = stat_push(l, p, n, count, 0);
        if (rc != RP_OK) {
            return rc;
        }
        l->v[l->n - 1].key = code_key(field, l->v[l->n - 1].value);
        if (semi == NULL) {
            return RP_OK;
        }
        p = semi + 1;
    }
}

/* Sort @p l and call @p fn once per distinct value with the summed count. */
static int emit_counts(stat_list *l,
                       int (*fn)(const char *value, long long count, void *payload),
                       void *payload,
                       rp_error *err)
{
    if (l->n > 1) {
        qsort(l->v, l->n, sizeof(*l->v), l->numeric ? cmp_numeric : cmp_text);
    }
    for (size_t i = 0; i < l->n;) {
        long long total = 0;
        size_t j = i;
        while (j < l->n && strcmp(l->v[j].value, l->v[i].value) == 0) {
            total += l->v[j].count;
            j++;
        }
        if (fn(l->v[i].value, total, payload) != 0) {
            return stopped(err);
        }
        i = j;
    }
    return RP_OK;
}

int rp_store_stats(rp_store *st,
                   rp_field field,
                   int (*fn)(const char *value, long long count, void *payload),
                   void *payload,
                   rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    rp_x_buf text = RP_X_BUF_INIT;
    stat_list l = {NULL, 0, 0, false};

    if (st == NULL || fn == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store or callback given");
    }
    const rp_field_info *info = rp_field_info_get(field);
    if (info == NULL || (int)field < 0 || field >= RP_FIELD_COUNT) {
        return rp_error_set(err, RP_EINVAL, "unknown field %d", (int)field);
    }
    /* Text, dates and countries sort as text; numbers and codes by their key. */
    l.numeric =
        info->type == RP_FTYPE_INT || info->type == RP_FTYPE_CODE || info->type == RP_FTYPE_CODES;
    bool multi = info->type == RP_FTYPE_CODES;

    int rc = rp_store__prepare(&stmt, st, stats_sql[field], err);
    int s = SQLITE_ROW;
    while (rc == RP_OK && (s = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (collect_group(&l, &text, field, multi, stmt) != RP_OK) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        }
    }
    if (rc == RP_OK && s != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot count the records");
    }
    sqlite3_finalize(stmt);
    if (rc == RP_OK) {
        rc = emit_counts(&l, fn, payload, err);
    }
    for (size_t i = 0; i < l.n; i++) {
        rp_free(l.v[i].value);
    }
    rp_free(l.v);
    rp_x_buf_release(&text);
    return rc;
}
