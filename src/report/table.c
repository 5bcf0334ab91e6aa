/*
 * Count tables with margins from the store: the units (persons after linkage, or
 * records) are read once into compact rows (rp_report_data), then any cross-tabulation
 * of one to four fields is counted from them, with CTDC's denominator rule for the
 * multi-valued fields, and shares computed from the published values.
 */
#include "report/report_int.h"

#include <math.h>

/* ==== tables: memory and indexing ==== */

void rp_table_free(rp_table *t)
{
    if (t == NULL) {
        return;
    }
    rp_free(t->title);
    rp_free(t->unit);
    for (size_t d = 0; d < t->n_dims && d < RP_TABLE_MAX_DIMS; d++) {
        rp_x_strv_free(t->dims[d].cats, t->dims[d].n_cats);
        rp_free(t->dims[d].present);
    }
    rp_free(t->count);
    rp_free(t->value);
    rp_free(t->status);
    rp_x_strv_free(t->notes, t->n_notes);
    rp_free(t);
}

size_t rp_table_cell(const rp_table *t, const size_t *idx)
{
    size_t c = 0;
    for (size_t d = 0; d < t->n_dims; d++) {
        c += idx[d] * t->stride[d];
    }
    return c;
}

void rp_table_index(size_t *idx, const rp_table *t, size_t cell)
{
    for (size_t d = 0; d < t->n_dims; d++) {
        idx[d] = cell / t->stride[d];
        cell %= t->stride[d];
    }
}

bool rp_report__field_multi(rp_field f)
{
    return f == RP_FIELD_EXPLOITATION || f == RP_FIELD_SEXUAL_TYPES ||
           f == RP_FIELD_LABOUR_SECTORS || f == RP_FIELD_MEANS_OF_CONTROL ||
           f == RP_FIELD_RECRUITER_RELATION;
}

bool rp_report__field_pseudo(rp_field f)
{
    return f == RP_TABLE_FIELD_STATE || f == RP_TABLE_FIELD_REGION;
}

const char *rp_table_field_name(rp_field f)
{
    if (f == RP_TABLE_FIELD_STATE) {
        return "state";
    }
    if (f == RP_TABLE_FIELD_REGION) {
        return "region";
    }
    const rp_field_info *fi = rp_field_info_get(f);
    return fi != NULL ? fi->name : "?";
}

bool rp_table_dim_additive(const rp_table *t, size_t d)
{
    return d < t->n_dims && !rp_report__field_multi(t->dims[d].field);
}

bool rp_table_cat_known(const rp_table *t, size_t d, size_t i)
{
    if (d >= t->n_dims || i >= t->dims[d].n_cats) {
        return false;
    }
    const char *c = t->dims[d].cats[i];
    return c != NULL && c[0] != '\0' && strcmp(c, "unknown") != 0 &&
           strcmp(c, "not_specified") != 0;
}

int rp_report__table_alloc(rp_table **out, const rp_table_dim *dims, size_t n_dims, rp_error *err)
{
    *out = NULL;
    if (n_dims == 0 || n_dims > RP_TABLE_MAX_DIMS) {
        rp_error_set(err, RP_EINVAL, "a table has 1 to %d dimensions", RP_TABLE_MAX_DIMS);
        return RP_EINVAL;
    }
    rp_table *t = rp_calloc(1, sizeof(*t));
    if (t == NULL) {
        rp_error_set(err, RP_ENOMEM, "out of memory");
        return RP_ENOMEM;
    }
    t->n_dims = n_dims;
    t->additive = true;
    size_t n = 1;
    for (size_t d = n_dims; d-- > 0;) {
        t->dims[d].field = dims[d].field;
        t->dims[d].n_cats = dims[d].n_cats;
        t->stride[d] = n;
        n *= dims[d].n_cats + 1;
        if (rp_report__field_multi(dims[d].field)) {
            t->additive = false;
        }
    }
    t->n_cells = n;
    bool ok = true;
    for (size_t d = 0; d < n_dims; d++) {
        /* an array of pointers: NOLINTNEXTLINE(bugprone-sizeof-expression) */
        t->dims[d].cats = rp_calloc(dims[d].n_cats + 1, sizeof(*t->dims[d].cats));
        ok = ok && t->dims[d].cats != NULL;
        t->dims[d].present = rp_calloc(dims[d].n_cats + 1, sizeof(*t->dims[d].present));
        ok = ok && t->dims[d].present != NULL;
        if (t->dims[d].present != NULL && dims[d].present != NULL) {
            memcpy(t->dims[d].present, dims[d].present,
                   dims[d].n_cats * sizeof(*t->dims[d].present));
        }
    }
    t->count = rp_calloc(n, sizeof(*t->count));
    t->value = rp_calloc(n, sizeof(*t->value));
    t->status = rp_calloc(n, sizeof(*t->status));
    if (!ok || t->count == NULL || t->value == NULL || t->status == NULL) {
        rp_table_free(t);
        rp_error_set(err, RP_ENOMEM, "out of memory");
        return RP_ENOMEM;
    }
    *out = t;
    return RP_OK;
}

rp_table *rp_table_dup(const rp_table *t)
{
    rp_table *c = NULL;
    if (t == NULL || rp_report__table_alloc(&c, t->dims, t->n_dims, NULL) != RP_OK) {
        return NULL;
    }
    bool ok = true;
    c->title = t->title != NULL ? rp_strdup(t->title) : NULL;
    c->unit = t->unit != NULL ? rp_strdup(t->unit) : NULL;
    ok = (t->title == NULL || c->title != NULL) && (t->unit == NULL || c->unit != NULL);
    for (size_t d = 0; d < t->n_dims && ok; d++) {
        for (size_t i = 0; i < t->dims[d].n_cats && ok; i++) {
            c->dims[d].cats[i] = rp_strdup(t->dims[d].cats[i]);
            ok = c->dims[d].cats[i] != NULL;
        }
    }
    for (size_t i = 0; i < t->n_notes && ok; i++) {
        ok = rp_table_add_note(c, "%s", t->notes[i]) == RP_OK;
    }
    if (!ok) {
        rp_table_free(c);
        return NULL;
    }
    memcpy(c->count, t->count, t->n_cells * sizeof(*c->count));
    memcpy(c->value, t->value, t->n_cells * sizeof(*c->value));
    memcpy(c->status, t->status, t->n_cells * sizeof(*c->status));
    c->additive = t->additive;
    return c;
}

int rp_table_add_note(rp_table *t, const char *fmt, ...)
{
    rp_x_buf b = RP_X_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    rp_x_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *s = rp_x_buf_detach(&b);
    if (s == NULL) {
        return RP_ENOMEM;
    }
    /* grow by one (notes are few); keep a NULL terminator as rp_x_strvec does */
    char **v = rp_reallocarray(t->notes, t->n_notes + 2, sizeof(*v));
    if (v == NULL) {
        rp_free(s);
        return RP_ENOMEM;
    }
    t->notes = v;
    v[t->n_notes++] = s;
    v[t->n_notes] = NULL;
    return RP_OK;
}

/* ==== units ==== */

uint16_t rp_report__country_code(const char *cc, rp_state state)
{
    if (state == RP_STATE_UNKNOWN) {
        return 1;
    }
    if (state != RP_STATE_KNOWN || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z') {
        return 0;
    }
    return (uint16_t)(2 + 26 * (cc[0] - 'A') + (cc[1] - 'A'));
}

static int16_t clamp_age(int age)
{
    return (int16_t)(age < 0 ? -1 : (age > 32000 ? 32000 : age));
}

/*
 * The codes of a multi-valued field that carry no information on it ("not_specified",
 * "unknown"), @p vague, count only for a unit that has no other code of the field: a
 * person recorded in agriculture and "not specified" has information on the sector. So
 * the uninformative category holds exactly the units without information that still
 * have the field recorded, disjoint from every other category, and the share
 * denominator (the total less that category) is the number of units with information,
 * computed from published values alone (CTDC's denominator rule).
 */
static uint32_t informative(uint32_t codes, uint32_t vague)
{
    return (codes & ~vague) != 0 ? codes & ~vague : codes;
}

static void unit_of(rp_report__unit *u, const rp_case_record *rec, uint16_t list)
{
    memset(u, 0, sizeof(*u));
    u->multi[RP_REPORT__M_EXPLOITATION] = rec->exploitation;
    u->multi[RP_REPORT__M_SEXUAL_TYPES] = rec->sexual_types;
    u->multi[RP_REPORT__M_LABOUR_SECTORS] =
        informative(rec->labour_sectors, RP_SECTOR_NOT_SPECIFIED);
    u->multi[RP_REPORT__M_MEANS_OF_CONTROL] =
        informative(rec->means_of_control, RP_CONTROL_NOT_SPECIFIED);
    u->multi[RP_REPORT__M_RECRUITER_RELATION] =
        informative(rec->recruiter_relation, RP_RECRUITER_UNKNOWN);
    u->year = (uint16_t)(rec->registration_year > 0 && rec->registration_year < 65536
                             ? rec->registration_year
                             : 0);
    u->citizenship = rp_report__country_code(rec->citizenship, rec->citizenship_state);
    u->coe =
        rp_report__country_code(rec->country_of_exploitation, rec->country_of_exploitation_state);
    u->list = list;
    u->age = clamp_age(rec->age);
    u->id_status = (uint8_t)rec->id_status;
    u->sex = (uint8_t)rec->sex;
    u->age_band = (uint8_t)rec->age_band;
    u->majority = (uint8_t)rec->majority_at_exploitation;
}

/* State of loading: the data, the person being read, the lists seen so far. */
typedef struct load_state {
    rp_report_data *d;
    char person[RP_DATA_ID_MAX];
    bool have_person;
} load_state;

static int list_index(rp_report_data *d, const char *list, uint16_t *out)
{
    for (size_t i = 0; i < d->n_lists; i++) {
        if (strcmp(d->lists[i], list) == 0) {
            *out = (uint16_t)i;
            return RP_OK;
        }
    }
    if (d->n_lists >= UINT16_MAX) {
        return RP_EINVAL;
    }
    char **v = rp_reallocarray(d->lists, d->n_lists + 1, sizeof(*v));
    if (v == NULL) {
        return RP_ENOMEM;
    }
    d->lists = v;
    v[d->n_lists] = rp_strdup(list);
    if (v[d->n_lists] == NULL) {
        return RP_ENOMEM;
    }
    *out = (uint16_t)d->n_lists++;
    return RP_OK;
}

static int add_unit(rp_report_data *d, const rp_case_record *rec, rp_error *err)
{
    if (d->n == d->cap) {
        size_t cap = d->cap > 0 ? 2 * d->cap : 1024;
        rp_report__unit *v = rp_reallocarray(d->units, cap, sizeof(*v));
        if (v == NULL) {
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        }
        d->units = v;
        d->cap = cap;
    }
    uint16_t li = 0;
    int rc = list_index(d, rec->list, &li);
    if (rc != RP_OK) {
        return rp_error_set(err, rc, rc == RP_ENOMEM ? "out of memory" : "too many lists");
    }
    unit_of(&d->units[d->n++], rec, li);
    return RP_OK;
}

/* The callback of the store walk: one unit per record, or per person. */
static int load_record(const rp_case_record *rec, void *payload, rp_error *err)
{
    load_state *ls = payload;
    rp_report_data *d = ls->d;
    if (d->persons) {
        if (rec->person_id[0] == '\0') {
            d->unlinked++;
        } else if (ls->have_person && strcmp(rec->person_id, ls->person) == 0) {
            return RP_OK; /* a later record of the same person */
        } else {
            rp_x_strlcpy(ls->person, rec->person_id, sizeof(ls->person));
            ls->have_person = true;
        }
    }
    return add_unit(d, rec, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the lists by code and renumber the units' lists to match. */
static int sort_lists(rp_report_data *d, rp_error *err)
{
    if (d->n_lists < 2) {
        return RP_OK;
    }
    char **sorted = rp_calloc(d->n_lists, sizeof(*sorted));
    uint16_t *map = rp_calloc(d->n_lists, sizeof(*map));
    if (sorted == NULL || map == NULL) {
        rp_free(sorted);
        rp_free(map);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    memcpy(sorted, d->lists, d->n_lists * sizeof(*sorted));
    qsort(sorted, d->n_lists, sizeof(*sorted), cmp_str);
    for (size_t i = 0; i < d->n_lists; i++) {
        for (size_t j = 0; j < d->n_lists; j++) {
            if (sorted[j] == d->lists[i]) {
                map[i] = (uint16_t)j;
            }
        }
    }
    for (size_t u = 0; u < d->n; u++) {
        d->units[u].list = map[d->units[u].list];
    }
    rp_free(d->lists);
    d->lists = sorted;
    rp_free(map);
    return RP_OK;
}

void rp_report_data_free(rp_report_data *d)
{
    if (d == NULL) {
        return;
    }
    rp_free(d->units);
    for (size_t i = 0; i < d->n_lists; i++) {
        rp_free(d->lists[i]);
    }
    rp_free(d->lists);
    rp_x_strv_free(d->states, d->n_states);
    rp_x_strv_free(d->regions, d->n_regions);
    rp_free(d->state_region);
    rp_free(d);
}

size_t rp_report_data_count(const rp_report_data *d)
{
    return d != NULL ? d->n : 0;
}

const char *rp_report_data_unit(const rp_report_data *d)
{
    return d != NULL && d->persons ? "persons" : "records";
}

size_t rp_report_data_unlinked(const rp_report_data *d)
{
    return d != NULL ? d->unlinked : 0;
}

static int check_data_opts(const rp_report_data_opts *opts, rp_error *err)
{
    if (opts != NULL && (opts->version != RP_REPORT_DATA_OPTS_VERSION ||
                         opts->unit < RP_REPORT_UNIT_AUTO || opts->unit > RP_REPORT_UNIT_RECORDS)) {
        return rp_error_set(err, RP_EINVAL, "bad report data options");
    }
    return RP_OK;
}

/* Finish loading: no units is an error; lists sorted. */
static int finish_load(rp_report_data **out, rp_report_data *d, rp_error *err)
{
    int rc = RP_OK;
    if (d->n == 0) {
        rc = rp_error_set(err, RP_EDATA, "no stored record to tabulate");
    } else {
        rc = sort_lists(d, err);
    }
    if (rc != RP_OK) {
        rp_report_data_free(d);
        return rc;
    }
    *out = d;
    return RP_OK;
}

int rp_report_data_load(rp_report_data **out,
                        rp_store *st,
                        const rp_report_data_opts *opts,
                        rp_error *err)
{
    bool any_person = false;
    if (out == NULL || st == NULL) {
        return rp_error_set(err, RP_EINVAL, "no store or output given");
    }
    *out = NULL;
    int rc = check_data_opts(opts, err);
    rp_report_unit unit = opts != NULL ? opts->unit : RP_REPORT_UNIT_AUTO;
    if (rc == RP_OK && unit != RP_REPORT_UNIT_RECORDS) {
        rc = rp_store__report_any_person(&any_person, st, err);
    }
    if (rc != RP_OK) {
        return rc;
    }
    if (unit == RP_REPORT_UNIT_PERSONS && !any_person) {
        return rp_error_set(err, RP_EDATA,
                            "no stored record has a person id: link the lists first, or count "
                            "records");
    }
    rp_report_data *d = rp_calloc(1, sizeof(*d));
    if (d == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    d->persons = unit == RP_REPORT_UNIT_PERSONS || (unit == RP_REPORT_UNIT_AUTO && any_person);
    load_state ls = {d, "", false};
    rc = rp_store__report_each(st, d->persons, load_record, &ls, err);
    if (rc != RP_OK) {
        rp_report_data_free(d);
        return rc;
    }
    return finish_load(out, d, err);
}

/* A record in the order persons are read: person id, earliest year first (missing
 * last), then input order. */
typedef struct rec_order {
    const rp_case_record *rec;
    size_t i;
} rec_order;

static int cmp_person_order(const void *a, const void *b)
{
    const rec_order *x = a, *y = b;
    int c = strcmp(x->rec->person_id, y->rec->person_id);
    if (c != 0) {
        return c;
    }
    int ry = x->rec->registration_year > 0 ? x->rec->registration_year : INT32_MAX;
    int sy = y->rec->registration_year > 0 ? y->rec->registration_year : INT32_MAX;
    if (ry != sy) {
        return ry < sy ? -1 : 1;
    }
    return x->i < y->i ? -1 : (x->i > y->i ? 1 : 0);
}

int rp_report_data_from_records(rp_report_data **out,
                                const rp_case_record *recs,
                                size_t n,
                                const rp_report_data_opts *opts,
                                rp_error *err)
{
    if (out == NULL || (recs == NULL && n > 0)) {
        return rp_error_set(err, RP_EINVAL, "no records or output given");
    }
    *out = NULL;
    int rc = check_data_opts(opts, err);
    if (rc != RP_OK) {
        return rc;
    }
    rp_report_unit unit = opts != NULL ? opts->unit : RP_REPORT_UNIT_AUTO;
    bool any_person = false;
    for (size_t i = 0; i < n && !any_person; i++) {
        any_person = recs[i].person_id[0] != '\0';
    }
    if (unit == RP_REPORT_UNIT_PERSONS && !any_person && n > 0) {
        return rp_error_set(err, RP_EDATA, "no record has a person id");
    }
    rp_report_data *d = rp_calloc(1, sizeof(*d));
    rec_order *order = rp_calloc(n > 0 ? n : 1, sizeof(*order));
    if (d == NULL || order == NULL) {
        rp_free(d);
        rp_free(order);
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    d->persons = unit == RP_REPORT_UNIT_PERSONS || (unit == RP_REPORT_UNIT_AUTO && any_person);
    for (size_t i = 0; i < n; i++) {
        order[i].rec = &recs[i];
        order[i].i = i;
    }
    if (d->persons) {
        qsort(order, n, sizeof(*order), cmp_person_order);
    }
    load_state ls = {d, "", false};
    for (size_t i = 0; i < n && rc == RP_OK; i++) {
        rc = load_record(order[i].rec, &ls, err);
    }
    rp_free(order);
    if (rc != RP_OK) {
        rp_report_data_free(d);
        return rc;
    }
    return finish_load(out, d, err);
}

/* ==== cross-tabulation ==== */

/* Raw values of a single-valued field fit in 16 bits; multi-valued fields have 32 bits. */
#define RAW_SPACE 65536u
#define NO_CAT    UINT32_MAX

/* One dimension being counted: raw value -> category, and back. */
typedef struct dim_plan {
    rp_field f;
    int multi;        /* index into unit.multi, or -1 */
    uint32_t *map;    /* RAW_SPACE (or 32) entries: category index or NO_CAT */
    uint32_t *raw;    /* category -> raw value */
    uint8_t *present; /* category -> 1 when held by the data, 0 when filled in */
    size_t n_cats;
} dim_plan;

static int multi_index(rp_field f)
{
    switch (f) {
    case RP_FIELD_EXPLOITATION:
        return RP_REPORT__M_EXPLOITATION;
    case RP_FIELD_SEXUAL_TYPES:
        return RP_REPORT__M_SEXUAL_TYPES;
    case RP_FIELD_LABOUR_SECTORS:
        return RP_REPORT__M_LABOUR_SECTORS;
    case RP_FIELD_MEANS_OF_CONTROL:
        return RP_REPORT__M_MEANS_OF_CONTROL;
    case RP_FIELD_RECRUITER_RELATION:
        return RP_REPORT__M_RECRUITER_RELATION;
    default:
        return -1;
    }
}

static bool tabulable(rp_field f, const rp_report_data *d)
{
    if (rp_report__field_pseudo(f)) {
        return d->n_states > 0;
    }
    return f >= RP_FIELD_LIST && f < RP_FIELD_COUNT && f != RP_FIELD_CASE_ID &&
           f != RP_FIELD_PERSON_ID && f != RP_FIELD_REGISTRATION_DATE;
}

/* The raw value of single-valued field @p f of @p u. */
static uint32_t unit_raw(const rp_report__unit *u, rp_field f)
{
    if (f == RP_TABLE_FIELD_STATE) {
        return u->state;
    }
    if (f == RP_TABLE_FIELD_REGION) {
        return u->region;
    }
    switch (f) {
    case RP_FIELD_LIST:
        return u->list;
    case RP_FIELD_REGISTRATION_YEAR:
        return u->year;
    case RP_FIELD_ID_STATUS:
        return u->id_status;
    case RP_FIELD_SEX:
        return u->sex;
    case RP_FIELD_AGE:
        return (uint32_t)(u->age + 1);
    case RP_FIELD_AGE_BAND:
        return u->age_band;
    case RP_FIELD_MAJORITY_AT_EXPLOITATION:
        return u->majority;
    case RP_FIELD_CITIZENSHIP:
        return u->citizenship;
    case RP_FIELD_COUNTRY_OF_EXPLOITATION:
        return u->coe;
    default:
        return 0;
    }
}

/* 0 known, 1 unknown, 2 not recorded: the order of categories after their values. */
static int raw_class(rp_field f, uint32_t raw)
{
    if (f == RP_FIELD_LIST || rp_report__field_pseudo(f)) {
        return 0;
    }
    if (raw == 0) {
        return 2;
    }
    if (raw == 1 && f != RP_FIELD_REGISTRATION_YEAR && f != RP_FIELD_AGE) {
        return 1;
    }
    return 0;
}

/* The label of raw value @p raw of dimension @p p (a new string, NULL on OOM). */
static char *raw_label(const dim_plan *p, uint32_t raw, const rp_report_data *d)
{
    char buf[32];
    const char *s = buf;
    if (p->f == RP_FIELD_LIST) {
        s = raw < d->n_lists ? d->lists[raw] : "";
    } else if (p->f == RP_TABLE_FIELD_STATE) {
        s = raw < d->n_states ? d->states[raw] : "";
    } else if (p->f == RP_TABLE_FIELD_REGION) {
        s = raw < d->n_regions ? d->regions[raw] : "";
    } else if (p->multi < 0 && raw_class(p->f, raw) == 2) {
        s = "";
    } else if (p->multi < 0 && raw_class(p->f, raw) == 1) {
        s = "unknown";
    } else if (p->f == RP_FIELD_REGISTRATION_YEAR) {
        snprintf(buf, sizeof(buf), "%u", (unsigned)raw);
    } else if (p->f == RP_FIELD_AGE) {
        snprintf(buf, sizeof(buf), "%u", (unsigned)(raw - 1));
    } else if (p->f == RP_FIELD_CITIZENSHIP || p->f == RP_FIELD_COUNTRY_OF_EXPLOITATION) {
        buf[0] = (char)('A' + (raw - 2) / 26);
        buf[1] = (char)('A' + (raw - 2) % 26);
        buf[2] = '\0';
    } else {
        s = rp_code_name(p->f, raw);
    }
    return rp_strdup(s != NULL ? s : "?");
}

/* Why a unit is left out of a table, if it is. */
typedef enum skip_reason { KEEP = 0, SKIP_YEAR, SKIP_MULTI, SKIP_UNKNOWN } skip_reason;

static skip_reason
unit_skip(const rp_report__unit *u, const dim_plan *plans, size_t n_dims, const rp_table_opts *o)
{
    if ((o->year_min > 0 && (u->year == 0 || u->year < o->year_min)) ||
        (o->year_max > 0 && (u->year == 0 || u->year > o->year_max))) {
        return SKIP_YEAR;
    }
    for (size_t d = 0; d < n_dims; d++) {
        if (plans[d].multi >= 0) {
            if (u->multi[plans[d].multi] == 0) {
                return SKIP_MULTI;
            }
        } else if (o->known_only && raw_class(plans[d].f, unit_raw(u, plans[d].f)) != 0) {
            return SKIP_UNKNOWN;
        }
    }
    return KEEP;
}

/* Mark the raw values present among the kept units in plans[d].map (1 = present). */
static void
mark_present(dim_plan *plans, size_t n_dims, const rp_report_data *d, const rp_table_opts *o)
{
    for (size_t u = 0; u < d->n; u++) {
        const rp_report__unit *un = &d->units[u];
        if (unit_skip(un, plans, n_dims, o) != KEEP) {
            continue;
        }
        for (size_t k = 0; k < n_dims; k++) {
            if (plans[k].multi >= 0) {
                uint32_t m = un->multi[plans[k].multi];
                for (unsigned b = 0; b < 32; b++) {
                    plans[k].map[b] |= (m >> b) & 1u;
                }
            } else {
                plans[k].map[unit_raw(un, plans[k].f)] = 1;
            }
        }
    }
}

/* Whether field @p f has a domain fixed in advance (full_domain); the year needs bounds. */
static bool domain_fixed(rp_field f)
{
    return f != RP_FIELD_AGE && f != RP_FIELD_CITIZENSHIP && f != RP_FIELD_COUNTRY_OF_EXPLOITATION;
}

/* full_domain: mark every raw value of the domain of @p p that the data do not hold as
 * filled in (2), so that the categories do not depend on the data. */
static void mark_domain(dim_plan *p, const rp_report_data *d, const rp_table_opts *o)
{
    uint32_t n = 0;
    uint32_t lo = 0;
    if (p->f == RP_FIELD_LIST) {
        n = (uint32_t)d->n_lists;
    } else if (p->f == RP_TABLE_FIELD_STATE) {
        n = (uint32_t)d->n_states;
    } else if (p->f == RP_TABLE_FIELD_REGION) {
        n = (uint32_t)d->n_regions;
    } else if (p->f == RP_FIELD_REGISTRATION_YEAR) {
        lo = (uint32_t)o->year_min;
        n = (uint32_t)o->year_max + 1;
    } else {
        const rp_field_info *fi = rp_field_info_get(p->f);
        while (fi != NULL && fi->codes != NULL && fi->codes[n] != NULL) {
            n++;
        }
    }
    uint32_t space = p->multi >= 0 ? 32 : RAW_SPACE;
    for (uint32_t r = lo; r < n && r < space; r++) {
        p->map[r] = p->map[r] != 0 ? p->map[r] : 2;
    }
}

/* Turn the presence marks of @p p into categories in display order. */
static int order_categories(dim_plan *p, rp_error *err)
{
    size_t space = p->multi >= 0 ? 32 : RAW_SPACE;
    if (p->f == RP_FIELD_REGISTRATION_YEAR) {
        /* every year between the first and the last present, zeros included */
        uint32_t lo = 0, hi = 0;
        for (uint32_t r = 1; r < RAW_SPACE; r++) {
            if (p->map[r] != 0) {
                lo = lo == 0 ? r : lo;
                hi = r;
            }
        }
        for (uint32_t r = lo; lo > 0 && r <= hi; r++) {
            p->map[r] = p->map[r] != 0 ? p->map[r] : 2; /* 2: a gap year, filled in */
        }
    }
    p->raw = rp_calloc(space, sizeof(*p->raw));
    p->present = rp_calloc(space, sizeof(*p->present));
    if (p->raw == NULL || p->present == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    size_t n = 0;
    for (int cls = 0; cls <= 2; cls++) {
        for (uint32_t r = 0; r < space; r++) {
            if (p->map[r] != 0 && (p->multi >= 0 ? cls == 0 : raw_class(p->f, r) == cls)) {
                p->present[n] = p->map[r] == 1 ? 1 : 0;
                p->raw[n++] = r;
            }
        }
    }
    for (uint32_t r = 0; r < space; r++) {
        p->map[r] = NO_CAT;
    }
    for (size_t i = 0; i < n; i++) {
        p->map[p->raw[i]] = (uint32_t)i;
    }
    p->n_cats = n;
    return RP_OK;
}

/* Add one unit to every cell it belongs to: each combination of one of its categories
 * or the margin, over all dimensions (an odometer over the positions). */
static void count_unit(rp_table *t, const rp_report__unit *u, const dim_plan *plans)
{
    uint32_t pos[RP_TABLE_MAX_DIMS][33];
    size_t n_pos[RP_TABLE_MAX_DIMS];
    size_t at[RP_TABLE_MAX_DIMS];
    for (size_t d = 0; d < t->n_dims; d++) {
        size_t n = 0;
        if (plans[d].multi >= 0) {
            uint32_t m = u->multi[plans[d].multi];
            for (unsigned b = 0; b < 32; b++) {
                if ((m >> b) & 1u) {
                    pos[d][n++] = plans[d].map[b];
                }
            }
        } else {
            pos[d][n++] = plans[d].map[unit_raw(u, plans[d].f)];
        }
        pos[d][n++] = (uint32_t)t->dims[d].n_cats; /* the margin */
        n_pos[d] = n;
        at[d] = 0;
    }
    for (;;) {
        size_t c = 0;
        for (size_t d = 0; d < t->n_dims; d++) {
            c += pos[d][at[d]] * t->stride[d];
        }
        t->count[c] += 1.0;
        size_t d = t->n_dims;
        while (d-- > 0) {
            if (++at[d] < n_pos[d]) {
                break;
            }
            at[d] = 0;
        }
        if (d == (size_t)-1) {
            return;
        }
    }
}

static int check_fields(const rp_field *fields,
                        size_t n,
                        const rp_table_opts *o,
                        const rp_report_data *d,
                        rp_error *err)
{
    if (n == 0 || n > RP_TABLE_MAX_DIMS || fields == NULL) {
        return rp_error_set(err, RP_EINVAL, "a table has 1 to %d fields", RP_TABLE_MAX_DIMS);
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = rp_table_field_name(fields[i]);
        if (!tabulable(fields[i], d)) {
            return rp_error_set(err, RP_EINVAL, "field '%s' cannot be tabulated%s", name,
                                rp_report__field_pseudo(fields[i]) ? " (the data are not pooled)"
                                                                   : "");
        }
        for (size_t j = 0; j < i; j++) {
            if (fields[j] == fields[i]) {
                return rp_error_set(err, RP_EINVAL, "field '%s' is given twice", name);
            }
        }
    }
    if (o->version != RP_TABLE_OPTS_VERSION || o->year_min < 0 || o->year_max < 0 ||
        o->year_max >= (int)RAW_SPACE ||
        (o->year_min > 0 && o->year_max > 0 && o->year_min > o->year_max)) {
        return rp_error_set(err, RP_EINVAL, "bad table options (version or years)");
    }
    for (size_t i = 0; i < n && o->full_domain; i++) {
        const char *name = rp_table_field_name(fields[i]);
        if (!domain_fixed(fields[i])) {
            return rp_error_set(err, RP_EINVAL,
                                "field '%s' cannot be tabulated under differential privacy: its "
                                "domain is not fixed",
                                name);
        }
        if (fields[i] == RP_FIELD_REGISTRATION_YEAR && (o->year_min == 0 || o->year_max == 0)) {
            return rp_error_set(err, RP_EINVAL,
                                "field '%s' needs both year bounds to list its whole domain", name);
        }
    }
    return RP_OK;
}

/* "persons by sex, age_band and citizenship" */
static char *default_title(const char *unit, const rp_field *fields, size_t n)
{
    rp_x_buf b = RP_X_BUF_INIT;
    rp_x_buf_printf(&b, "%s by ", unit);
    for (size_t i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : (i + 1 == n ? " and " : ", ");
        rp_x_buf_printf(&b, "%s%s", sep, rp_table_field_name(fields[i]));
    }
    return rp_x_buf_detach(&b);
}

/* Notes on the units left out; count[] is complete. */
static int add_skip_notes(rp_table *t,
                          const size_t *skipped,
                          const dim_plan *plans,
                          const rp_table_opts *o,
                          const rp_report_data *d)
{
    int rc = RP_OK;
    if (d->n_states > 1) {
        rc = rp_table_add_note(t,
                               "%zu states' data pooled; each state counts its own %s, so a "
                               "person identified in two states counts in each",
                               d->n_states, t->unit);
    }
    /*
     * The notes say what was left out, never how many: a count of the units left out is
     * the difference of two totals and would give away a total the table suppresses.
     */
    if (rc == RP_OK && d->persons && d->unlinked > 0) {
        rc = rp_table_add_note(t, "records without a person id are counted as one person each");
    }
    if (rc == RP_OK && skipped[SKIP_YEAR] > 0) {
        rc = rp_table_add_note(t,
                               "%s registered outside %d-%d (or in no recorded year) are left out",
                               t->unit, o->year_min, o->year_max);
    }
    for (size_t k = 0; k < t->n_dims && rc == RP_OK; k++) {
        if (plans[k].multi >= 0) {
            rp_field f = plans[k].f;
            const char *vague = f == RP_FIELD_RECRUITER_RELATION ? "unknown"
                                : f == RP_FIELD_LABOUR_SECTORS || f == RP_FIELD_MEANS_OF_CONTROL
                                    ? "not specified"
                                    : NULL;
            rc = vague == NULL
                     ? rp_table_add_note(t,
                                         "%s: a person is counted in each recorded category; the "
                                         "total counts those with information on the field "
                                         "(CTDC's denominator rule), so the categories do not "
                                         "add up to it",
                                         rp_field_info_get(f)->name)
                     : rp_table_add_note(t,
                                         "%s: a person is counted in each recorded category, so "
                                         "the categories do not add up to the total; \"%s\" "
                                         "counts those with no other category, and shares are "
                                         "of the total less them, the %s with information on "
                                         "the field (CTDC's denominator rule)",
                                         rp_field_info_get(f)->name, vague, t->unit);
        }
    }
    if (rc == RP_OK && skipped[SKIP_MULTI] > 0) {
        rc = rp_table_add_note(t, "%s with no information on a multi-valued field are left out",
                               t->unit);
    }
    if (rc == RP_OK && skipped[SKIP_UNKNOWN] > 0) {
        rc = rp_table_add_note(t, "%s with a field not recorded or unknown are left out", t->unit);
    }
    return rc;
}

/* Fill the table's labels, counts and published values from the plans. */
static int fill_table(rp_table *t,
                      const dim_plan *plans,
                      const rp_report_data *d,
                      const rp_table_opts *o,
                      rp_error *err)
{
    size_t skipped[4] = {0, 0, 0, 0};
    for (size_t k = 0; k < t->n_dims; k++) {
        for (size_t i = 0; i < plans[k].n_cats; i++) {
            t->dims[k].cats[i] = raw_label(&plans[k], plans[k].raw[i], d);
            if (t->dims[k].cats[i] == NULL) {
                return rp_error_set(err, RP_ENOMEM, "out of memory");
            }
        }
    }
    for (size_t u = 0; u < d->n; u++) {
        skip_reason why = unit_skip(&d->units[u], plans, t->n_dims, o);
        if (why != KEEP) {
            skipped[why]++;
        } else {
            count_unit(t, &d->units[u], plans);
        }
    }
    memcpy(t->value, t->count, t->n_cells * sizeof(*t->value));
    rp_report__mark_structural(t, d);
    if (add_skip_notes(t, skipped, plans, o, d) != RP_OK) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    return RP_OK;
}

int rp_report_table_build(rp_table **out,
                          const rp_report_data *data,
                          const rp_field *fields,
                          size_t n_fields,
                          const rp_table_opts *opts,
                          rp_error *err)
{
    const rp_table_opts defaults = RP_TABLE_OPTS_INIT;
    const rp_table_opts *o = opts != NULL ? opts : &defaults;
    dim_plan plans[RP_TABLE_MAX_DIMS];
    rp_table_dim dims[RP_TABLE_MAX_DIMS];
    rp_table *t = NULL;

    if (out == NULL || data == NULL) {
        return rp_error_set(err, RP_EINVAL, "no data or output given");
    }
    *out = NULL;
    int rc = check_fields(fields, n_fields, o, data, err);
    if (rc != RP_OK) {
        return rc;
    }
    memset(plans, 0, sizeof(plans));
    memset(dims, 0, sizeof(dims));
    for (size_t k = 0; k < n_fields && rc == RP_OK; k++) {
        plans[k].f = fields[k];
        plans[k].multi = multi_index(fields[k]);
        plans[k].map = rp_calloc(plans[k].multi >= 0 ? 32 : RAW_SPACE, sizeof(*plans[k].map));
        if (plans[k].map == NULL) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        }
    }
    if (rc == RP_OK) {
        mark_present(plans, n_fields, data, o);
        for (size_t k = 0; k < n_fields && o->full_domain; k++) {
            mark_domain(&plans[k], data, o);
        }
    }
    for (size_t k = 0; k < n_fields && rc == RP_OK; k++) {
        rc = order_categories(&plans[k], err);
        dims[k].field = fields[k];
        dims[k].n_cats = plans[k].n_cats;
        dims[k].present = plans[k].present;
    }
    if (rc == RP_OK) {
        rc = rp_report__table_alloc(&t, dims, n_fields, err);
    }
    if (rc == RP_OK) {
        t->unit = rp_strdup(rp_report_data_unit(data));
        t->title = o->title != NULL ? rp_strdup(o->title)
                                    : default_title(rp_report_data_unit(data), fields, n_fields);
        rc = t->unit == NULL || t->title == NULL ? rp_error_set(err, RP_ENOMEM, "out of memory")
                                                 : fill_table(t, plans, data, o, err);
    }
    for (size_t k = 0; k < n_fields; k++) {
        rp_free(plans[k].map);
        rp_free(plans[k].raw);
        rp_free(plans[k].present);
    }
    if (rc != RP_OK) {
        rp_table_free(t);
        return rc;
    }
    *out = t;
    return RP_OK;
}

/* ==== shares ==== */

int rp_table_shares(double *out, const rp_table *t, size_t d, rp_error *err)
{
    size_t idx[RP_TABLE_MAX_DIMS];
    if (out == NULL || t == NULL || d >= t->n_dims) {
        return rp_error_set(err, RP_EINVAL, "no such dimension");
    }
    const rp_table_dim *dim = &t->dims[d];
    for (size_t c = 0; c < t->n_cells; c++) {
        rp_table_index(idx, t, c);
        size_t i = idx[d];
        if (i == dim->n_cats) {
            out[c] = 1.0;
            continue;
        }
        out[c] = NAN;
        if (!rp_table_cat_known(t, d, i) || isnan(t->value[c])) {
            continue;
        }
        /*
         * denominator: the margin less the cells without information ("", "unknown",
         * "not_specified") of this line. In a multi-valued dimension those categories
         * hold only units with no other code (unit_of), so they are disjoint from the
         * others there too and the difference is the units with information.
         */
        size_t base = c - i * t->stride[d];
        double den = t->value[base + dim->n_cats * t->stride[d]];
        for (size_t j = 0; j < dim->n_cats; j++) {
            if (!rp_table_cat_known(t, d, j)) {
                den -= t->value[base + j * t->stride[d]];
            }
        }
        if (!isnan(den) && den > 0) {
            out[c] = t->value[c] / den;
        }
    }
    return RP_OK;
}
