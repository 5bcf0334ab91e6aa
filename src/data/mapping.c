/*
 * Mapping files (rp_mapping_*): JSON documents that say how one agency's columns and
 * codes become case records of the standard: which column feeds which field, value
 * recodes, missing and unknown codes, date formats, multi-valued columns and groups of
 * 0/1 flag columns, and which columns hold personal identifiers (read only on the agency
 * side, never into a record). The format is documented in docs/data-standard.md
 * ("Mapping files"); data/mappings/ctdc.json is the shipped example.
 */
#include "data/data_int.h"

#include <rapporteur/data.h>

#include <jansson.h>
#include <limits.h>
#include <sodium.h>

/*
 * Reading order: the in-memory mapping (structs), loading it from JSON (every check a
 * mapping must pass happens here, so that a mapping that loads can only produce row
 * issues, never errors), binding it to an input header, and applying it to rows.
 *
 * A value goes through the same steps everywhere (rows, flag columns, parts of a
 * multi-valued column), in this order:
 *
 *   1. trimmed of ASCII white space; empty means MISSING;
 *   2. the field's own "missing" and "unknown" lists;
 *   3. the field's "recode" table;
 *   4. the mapping's global "missing" and "unknown" lists; for country fields a global
 *      code that is itself a country code ("NA", Namibia) is skipped, so only a list on
 *      the field itself can make a country code mean "missing";
 *   5. the value read as a value of the standard (a code, a country, a number, a date).
 *
 * Each step that matches yields a "target": a state (MISSING, UNKNOWN, KNOWN) and the
 * value in the form of the field's type. Recode targets and constant values are
 * converted once, at load time.
 */

/* ==== the mapping in memory ==== */

/* Largest mapping file accepted by rp_mapping_load(), bytes. */
#define MAPPING_MAX_BYTES (16u << 20)

/* Largest token read as a code, a country or a number (longer ones cannot be any). */
#define TOKEN_MAX 128

/* Where a field's value comes from. */
typedef enum source {
    SRC_NONE = 0, /* not mapped: the field stays missing */
    SRC_COLUMN,   /* one input column */
    SRC_VALUE,    /* a constant for every row */
    SRC_FLAGS     /* a group of 0/1 columns, one or more codes each (CODES fields) */
} source;

/* A value converted to a field's type, with its state. */
typedef struct target {
    rp_state state;
    unsigned code;             /* CODE: enum value; CODES: bit mask */
    long number;               /* INT */
    char text[RP_DATA_ID_MAX]; /* TEXT: the text; COUNTRY: alpha-2; DATE: ISO 8601 */
} target;

/* One entry of a recode table: input value (trimmed) -> converted target. */
typedef struct recode {
    char *key;
    target to;
} recode;

/* One flag column of a SRC_FLAGS field. */
typedef struct flag {
    char *column;  /* input column name */
    size_t index;  /* 0-based input column, set by rp_mapping_bind() */
    uint32_t bits; /* codes set when the flag is 1; may be 0 (column only gives a state) */
} flag;

/* How one field of the standard is filled. */
typedef struct field_map {
    source src;
    const rp_field_info *info; /* the field (never NULL once src != SRC_NONE) */
    char *column;              /* SRC_COLUMN: input column name */
    size_t index;              /* SRC_COLUMN: 0-based input column, set by bind */
    target constant;           /* SRC_VALUE */
    recode *recodes;
    size_t n_recodes;
    rp_x_strvec missing; /* the field's own missing codes (trimmed) */
    rp_x_strvec unknown; /* the field's own unknown codes */
    rp_x_strvec truthy;  /* SRC_FLAGS: values meaning "set" (default "1") */
    rp_x_strvec falsy;   /* SRC_FLAGS: values meaning "recorded as not set" ("0") */
    rp_x_strvec formats; /* DATE: accepted formats, tried in order */
    bool case_insensitive;
    uint32_t unknown_bit; /* CODES: the bit of the code "unknown" if the field has one */
    char *split;          /* CODES with a column: separator of the values, or NULL */
    flag *flags;
    size_t n_flags;
} field_map;

/*
 * Where one personal identifier comes from. Identifiers are read one at a time by
 * rp_mapping_ident_read() for the agency-side encoding; rp_mapping_apply() never looks
 * at them, so no identifier can reach a record, an issue or the hub.
 */
typedef struct ident_map {
    char *column;        /* the first input column (columns.items[0], borrowed); NULL when
                            the identifier is not mapped */
    rp_x_strvec columns; /* every input column, in order: one for "column", one or more for
                            "columns" (their values joined with a space) */
    size_t index[RP_MAPPING_IDENT_COLUMNS_MAX]; /* 0-based input columns, set by bind */
    rp_x_strvec missing;                        /* the entry's own missing codes (trimmed) */
    rp_x_strvec formats; /* RP_IDENT_BIRTH_DATE: accepted formats, tried in order */
} ident_map;

struct rp_mapping {
    char *name;
    char *description;
    rp_x_strvec missing; /* global missing codes */
    rp_x_strvec unknown; /* global unknown codes */
    field_map fields[RP_FIELD_COUNT];
    ident_map idents[RP_IDENT_COUNT];
    bool full_name_family_first; /* "order": "family_first" of the full_name entry */
    bool bound;
    size_t n_columns; /* header width given to rp_mapping_bind() */
};

/* Formats tried for a date field with no "format": ISO 8601, full or year-month. */
static const char *const default_date_formats[] = {"%Y-%m-%d", "%Y-%m"};

/* Formats tried for a birth date with no "format": ISO 8601, full, year-month or year. */
static const char *const default_birth_formats[] = {"%Y-%m-%d", "%Y-%m", "%Y"};

/* Years a birth date may have (inclusive). */
#define BIRTH_YEAR_MIN 1900
#define BIRTH_YEAR_MAX 2100

/* The keys of the "identifiers" object, in rp_ident order. */
static const char *const ident_names[RP_IDENT_COUNT] = {
    "given_name", "family_name",     "patronymic", "full_name",
    "birth_date", "document_number", "address"};

/* English month names for %b (abbreviations and full names, any case). */
static const char *const month_names[12] = {"january",   "february", "march",    "april",
                                            "may",       "june",     "july",     "august",
                                            "september", "october",  "november", "december"};

static void field_map_release(field_map *fm)
{
    rp_free(fm->column);
    for (size_t i = 0; i < fm->n_recodes; i++)
        rp_free(fm->recodes[i].key);
    rp_free(fm->recodes);
    rp_x_strvec_release(&fm->missing);
    rp_x_strvec_release(&fm->unknown);
    rp_x_strvec_release(&fm->truthy);
    rp_x_strvec_release(&fm->falsy);
    rp_x_strvec_release(&fm->formats);
    rp_free(fm->split);
    for (size_t i = 0; i < fm->n_flags; i++)
        rp_free(fm->flags[i].column);
    rp_free(fm->flags);
    memset(fm, 0, sizeof(*fm));
}

void rp_mapping_free(rp_mapping *m)
{
    if (!m)
        return;
    rp_free(m->name);
    rp_free(m->description);
    rp_x_strvec_release(&m->missing);
    rp_x_strvec_release(&m->unknown);
    for (size_t f = 0; f < RP_FIELD_COUNT; f++)
        field_map_release(&m->fields[f]);
    for (size_t i = 0; i < RP_IDENT_COUNT; i++) {
        rp_x_strvec_release(&m->idents[i].columns);
        rp_x_strvec_release(&m->idents[i].missing);
        rp_x_strvec_release(&m->idents[i].formats);
    }
    rp_free(m);
}

const char *rp_mapping_name(const rp_mapping *m)
{
    return m ? m->name : NULL;
}

/* ==== tokens: trimmed views of input values ==== */

/* A byte range of an input value (not NUL-terminated). */
typedef struct tok {
    const char *p;
    size_t n;
} tok;

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static tok tok_trim(const char *p, size_t n)
{
    while (n > 0 && is_space(p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_space(p[n - 1]))
        n--;
    tok t = {p, n};
    return t;
}

static char ascii_lower(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    return c;
}

/* Does @p t equal the string @p s (ASCII case folded when @p ci)? */
static bool tok_eq(tok t, const char *s, bool ci)
{
    /* the first byte turns most candidates away before strlen (one call per code and
       list entry, several per field of every row) */
    if (t.n == 0)
        return s[0] == '\0';
    if (ci ? ascii_lower(t.p[0]) != ascii_lower(s[0]) : t.p[0] != s[0])
        return false;
    size_t n = strlen(s);
    if (n != t.n)
        return false;
    if (!ci)
        return memcmp(t.p, s, n) == 0;
    for (size_t i = 0; i < n; i++) {
        if (ascii_lower(t.p[i]) != ascii_lower(s[i]))
            return false;
    }
    return true;
}

static bool in_list(const rp_x_strvec *v, tok t, bool ci)
{
    for (size_t i = 0; i < v->n; i++) {
        if (tok_eq(t, v->items[i], ci))
            return true;
    }
    return false;
}

/* Copy @p t into @p buf (NUL-terminated), lower-cased when @p lower. False if too long. */
static bool tok_copy(char *buf, size_t size, tok t, bool lower)
{
    if (t.n >= size)
        return false;
    for (size_t i = 0; i < t.n; i++)
        buf[i] = t.p[i];
    for (size_t i = 0; lower && i < t.n; i++)
        buf[i] = ascii_lower(buf[i]);
    buf[t.n] = '\0';
    return true;
}

/*
 * The year of @p date, which starts "YYYY" when parse_date_with() wrote it, as
 * rp_x_parse_long() reads its first four bytes, in [@p min, @p max]. Four digits are read
 * here (once per row); anything else goes to rp_x_parse_long().
 */
static bool year_of(const char *date, long min, long max, long *out)
{
    bool four = true;
    long y = 0;
    for (int i = 0; i < 4 && four; i++) {
        four = date[i] >= '0' && date[i] <= '9';
        y = 10 * y + (date[i] - '0');
    }
    if (!four) {
        char year[5];
        rp_x_strlcpy(year, date, sizeof(year));
        if (rp_x_parse_long(year, min, max, &y) != 0)
            return false;
    } else if (y < min || y > max) {
        return false;
    }
    *out = y;
    return true;
}

/* ==== converting one value to a field's type ==== */

/* Why a value could not be converted: the issue's rule and what was expected. */
typedef struct problem {
    const char *rule;
    bool hide_value; /* identifiers are never copied into issues */
    char message[sizeof(((rp_issue *)NULL)->message)];
} problem;

static bool fail(problem *pb, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(problem *pb, const char *rule, const char *fmt, ...)
{
    pb->rule = rule;
    pb->hide_value = false;
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(pb->message, sizeof(pb->message), fmt, ap) < 0)
        pb->message[0] = '\0';
    va_end(ap);
    return false;
}

/*
 * A whole number, optionally written with a zero fraction ("34.0", as SPSS and Stata
 * exports print numeric columns), in [@p min, @p max].
 */
static bool parse_whole(tok t, long min, long max, long *out)
{
    char buf[TOKEN_MAX];
    if (!tok_copy(buf, sizeof(buf), t, false))
        return false;
    char *dot = strchr(buf, '.');
    if (dot) {
        if (dot == buf || dot[1] == '\0')
            return false;
        for (const char *q = dot + 1; *q; q++) {
            if (*q != '0')
                return false;
        }
        *dot = '\0';
    }
    return rp_x_parse_long(buf, min, max, out) == 0;
}

/* Read 1..@p max_digits digits (exactly @p max_digits when @p exact) at *@p s. */
static bool read_digits(const char **s, const char *end, int max_digits, bool exact, long *out)
{
    long v = 0;
    int k = 0;
    while (*s < end && k < max_digits && **s >= '0' && **s <= '9') {
        v = v * 10 + (**s - '0');
        (*s)++;
        k++;
    }
    *out = v;
    return exact ? k == max_digits : k > 0;
}

/* Read an English month name or its 3-letter abbreviation, any case. */
static bool read_month_name(const char **s, const char *end, long *out)
{
    for (int i = 0; i < 12; i++) {
        const char *name = month_names[i];
        size_t full = strlen(name);
        size_t avail = (size_t)(end - *s);
        for (size_t n = full;; n = 3) {
            if (n <= avail) {
                tok t = {*s, n};
                char prefix[16];
                memcpy(prefix, name, n);
                prefix[n] = '\0';
                /* the name must not be followed by more letters ("Mayday") */
                char next = '\0';
                if (n < avail)
                    next = ascii_lower((*s)[n]);
                bool word_end = !(next >= 'a' && next <= 'z');
                if (tok_eq(t, prefix, true) && word_end) {
                    *s += n;
                    *out = i + 1;
                    return true;
                }
            }
            if (n == 3)
                break;
        }
    }
    return false;
}

/* The parts of a date as one format reads them, before any range check. */
typedef struct date_parts {
    long y, mo, d;
    bool has_month, has_day;
} date_parts;

/*
 * Read @p t with one strptime-like format: %Y (4 digits), %m (1-2 digits), %d (1-2
 * digits), %b (English month name or abbreviation), %% and literal characters. The
 * format was checked at load (check_date_format), so it has %Y, and a day only with a
 * month; a date field's formats always have a month, a birth date's may lack it.
 * @return true when @p t has the shape of the format (every character read), whatever
 *         the ranges of the parts, which are in *@p p.
 */
static bool date_shape(tok t, const char *fmt, date_parts *p)
{
    const char *s = t.p;
    const char *end = t.p + t.n;
    memset(p, 0, sizeof(*p));
    for (const char *f = fmt; *f; f++) {
        if (*f != '%' || f[1] == '%') {
            if (*f == '%')
                f++;
            if (s >= end || *s != *f)
                return false;
            s++;
            continue;
        }
        f++;
        bool ok = false;
        switch (*f) {
        case 'Y':
            ok = read_digits(&s, end, 4, true, &p->y);
            break;
        case 'm':
            ok = read_digits(&s, end, 2, false, &p->mo);
            p->has_month = true;
            break;
        case 'd':
            ok = read_digits(&s, end, 2, false, &p->d);
            p->has_day = true;
            break;
        case 'b':
            ok = read_month_name(&s, end, &p->mo);
            p->has_month = true;
            break;
        default:
            ok = false;
            break;
        }
        if (!ok)
            return false;
    }
    return s == end;
}

/*
 * How many leading parts of @p p are in range: 0 (the year is below 1), 1 (the year;
 * the month is out of 1..12), 2 (year and month; the day is not a day of that month) or
 * 3; a part the format does not have counts as in range.
 */
static int date_parts_valid(const date_parts *p)
{
    if (p->y < 1)
        return 0;
    if (p->has_month && (p->mo < 1 || p->mo > 12))
        return 1;
    if (p->has_day && (p->d < 1 || p->d > rp_data__days_in_month((int)p->y, (int)p->mo)))
        return 2;
    return 3;
}

/* The first @p n_parts (1..3) parts of @p p as "YYYY[-MM[-DD]]" into @p out. */
static void date_write(const date_parts *p, int n_parts, char out[11])
{
    /* y has 4 digits, mo and d 1..31: written by hand */
    long parts[3] = {p->y, p->mo, p->d};
    int widths[3] = {4, 2, 2};
    size_t k = 0;
    for (int i = 0; i < n_parts; i++) {
        if (i > 0)
            out[k++] = '-';
        for (int w = widths[i] - 1; w >= 0; w--) {
            out[k + (size_t)w] = (char)('0' + parts[i] % 10);
            parts[i] /= 10;
        }
        k += (size_t)widths[i];
    }
    out[k] = '\0';
}

/* The number of parts format reading @p p gives: 3 with a day, 2 with a month, else 1. */
static int date_n_parts(const date_parts *p)
{
    return p->has_day ? 3 : p->has_month ? 2 : 1;
}

/*
 * Parse @p t with one format (see date_shape): a real calendar date of the format's
 * parts. @return true with "YYYY-MM-DD", "YYYY-MM" or "YYYY" (as the format has) in
 * @p out.
 */
static bool parse_date_with(tok t, const char *fmt, char out[11])
{
    date_parts p;
    bool ok = date_shape(t, fmt, &p) && date_parts_valid(&p) == 3;
    if (ok)
        date_write(&p, date_n_parts(&p), out);
    sodium_memzero(&p, sizeof(p)); /* a birth date's parts are personal data */
    return ok;
}

/* A date's formats: @p formats of the mapping, or @p dflt (@p n_dflt of them) if none. */
typedef struct date_formats {
    const char *const *v;
    size_t n;
} date_formats;

static date_formats formats_or(const rp_x_strvec *formats, const char *const *dflt, size_t n_dflt)
{
    date_formats f = {dflt, n_dflt};
    if (formats->n) {
        f.v = (const char *const *)formats->items;
        f.n = formats->n;
    }
    return f;
}

/* Parse @p t with the first of @p f that reads it, into @p out (see parse_date_with). */
static bool parse_date_any(tok t, date_formats f, char out[11])
{
    for (size_t i = 0; i < f.n; i++) {
        if (parse_date_with(t, f.v[i], out))
            return true;
    }
    return false;
}

/* The expected-format hint of a date: its formats joined by " or ". */
static void date_hint(date_formats f, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    const char *const *v = f.v;
    size_t n = f.n;
    for (size_t i = 0; i < n && used < size; i++) {
        int k = snprintf(buf + used, size - used, "%s%s", i ? " or " : "", v[i]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
}

/*
 * Step 5: read @p t (non-empty, trimmed) as a value of the standard for field @p fm.
 * @return true with *@p out set; false with @p pb saying why.
 */
static bool convert_standard(const field_map *fm, tok t, target *out, problem *pb)
{
    const rp_field_info *info = fm->info;
    char buf[TOKEN_MAX];
    memset(out, 0, sizeof(*out));
    out->state = RP_STATE_KNOWN;
    switch (info->type) {
    case RP_FTYPE_TEXT:
        if (!tok_copy(out->text, sizeof(out->text), t, false)) {
            fail(pb, "range", "expected at most %d bytes for '%s'", RP_DATA_ID_MAX - 1, info->name);
            pb->hide_value = true;
            return false;
        }
        return true;
    case RP_FTYPE_INT: {
        /* 0 and -1 mean "missing" in the record, so the smallest year is 1, age 0 */
        long min = info->field == RP_FIELD_AGE ? 0 : 1;
        if (!parse_whole(t, min, INT_MAX, &out->number))
            return fail(pb, "range", "expected a whole number >= %ld for '%s'", min, info->name);
        return true;
    }
    case RP_FTYPE_DATE: {
        date_formats f =
            formats_or(&fm->formats, default_date_formats, RP_ARRAY_LEN(default_date_formats));
        if (parse_date_any(t, f, out->text))
            return true;
        char hint[120];
        date_hint(f, hint, sizeof(hint));
        return fail(pb, "date", "expected a calendar date as %s for '%s'", hint, info->name);
    }
    case RP_FTYPE_CODE:
    case RP_FTYPE_CODES: {
        unsigned v = 0;
        if (tok_copy(buf, sizeof(buf), t, fm->case_insensitive) &&
            rp_code_parse(&v, info->field, buf) == RP_OK) {
            out->code = v;
            return true;
        }
        if (tok_eq(t, "unknown", fm->case_insensitive)) {
            out->state = RP_STATE_UNKNOWN;
            return true;
        }
        return fail(pb, "code", "expected a code of '%s' or a value the mapping recodes",
                    info->name);
    }
    case RP_FTYPE_COUNTRY:
        if (tok_copy(buf, sizeof(buf), t, false) && rp_country_normalise(out->text, buf) == RP_OK)
            return true;
        if (tok_eq(t, "unknown", fm->case_insensitive)) {
            out->state = RP_STATE_UNKNOWN;
            return true;
        }
        return fail(pb, "country", "expected an ISO 3166-1 alpha-2 or alpha-3 code for '%s'",
                    info->name);
    }
    return fail(pb, "code", "field '%s' has an unsupported type", info->name);
}

/* Is @p s a country code (so that a global missing code never hides Namibia "NA")? */
static bool is_country_code(const char *s)
{
    char cc[3];
    return rp_country_normalise(cc, s) == RP_OK;
}

/* Does a global list of @p m contain @p t, for field @p fm? (step 4) */
static bool in_global_list(const rp_x_strvec *v, const field_map *fm, tok t)
{
    for (size_t i = 0; i < v->n; i++) {
        if (!tok_eq(t, v->items[i], fm->case_insensitive))
            continue;
        if (fm->info->type == RP_FTYPE_COUNTRY && is_country_code(v->items[i]))
            continue;
        return true;
    }
    return false;
}

/*
 * A multi-valued field whose code list has "unknown" (recruiter_relation) records
 * "recorded as unknown" as that code, so that it survives next to other codes
 * ("Family/Relative; Unknown"); other fields keep the UNKNOWN state.
 */
static bool settle_unknown(const field_map *fm, target *t)
{
    if (t->state == RP_STATE_UNKNOWN && fm->unknown_bit != 0) {
        t->state = RP_STATE_KNOWN;
        t->code = fm->unknown_bit;
    }
    return true;
}

/* Steps 1-5 for one value @p t of a column-fed field. */
static bool convert_token(const rp_mapping *m, const field_map *fm, tok t, target *out, problem *pb)
{
    bool ci = fm->case_insensitive;
    t = tok_trim(t.p, t.n);
    memset(out, 0, sizeof(*out));
    if (t.n == 0 || in_list(&fm->missing, t, ci))
        return true; /* out->state is RP_STATE_MISSING */
    if (in_list(&fm->unknown, t, ci)) {
        out->state = RP_STATE_UNKNOWN;
        return settle_unknown(fm, out);
    }
    for (size_t i = 0; i < fm->n_recodes; i++) {
        if (tok_eq(t, fm->recodes[i].key, ci)) {
            *out = fm->recodes[i].to;
            return settle_unknown(fm, out);
        }
    }
    if (in_global_list(&m->missing, fm, t))
        return true;
    if (in_global_list(&m->unknown, fm, t)) {
        out->state = RP_STATE_UNKNOWN;
        return settle_unknown(fm, out);
    }
    return convert_standard(fm, t, out, pb) && settle_unknown(fm, out);
}

/* ==== storing targets in the record ==== */

/* What apply() keeps about a row besides the record itself. */
typedef struct row_state {
    bool age_unknown; /* age recorded as unknown: the band becomes unknown too */
} row_state;

/* Merge @p b into the accumulated multi-valued target @p a (KNOWN beats UNKNOWN). */
static void merge_codes(target *a, const target *b)
{
    if (b->state == RP_STATE_KNOWN) {
        a->code |= b->code;
        a->state = RP_STATE_KNOWN;
    } else if (b->state == RP_STATE_UNKNOWN && a->state == RP_STATE_MISSING) {
        a->state = RP_STATE_UNKNOWN;
    }
}

/* The enum value a CODE target stands for (MISSING = 0 and UNKNOWN = 1 in every enum). */
static unsigned code_value(const target *t)
{
    if (t->state == RP_STATE_KNOWN)
        return t->code;
    return t->state == RP_STATE_UNKNOWN ? 1u : 0u;
}

static void store_codes(uint32_t *bits, rp_state *state, const target *t)
{
    *bits |= (uint32_t)t->code;
    if (state)
        *state = t->state;
}

static void store_country(char cc[3], rp_state *state, const target *t)
{
    *state = t->state;
    if (t->state == RP_STATE_KNOWN)
        rp_x_strlcpy(cc, t->text, 3);
}

/* Put @p t into the field @p f of @p rec. */
static void store(rp_case_record *rec, row_state *rs, rp_field f, const target *t)
{
    bool known = t->state == RP_STATE_KNOWN;
    switch (f) {
    case RP_FIELD_LIST:
        if (known)
            rp_x_strlcpy(rec->list, t->text, sizeof(rec->list));
        break;
    case RP_FIELD_CASE_ID:
        if (known)
            rp_x_strlcpy(rec->case_id, t->text, sizeof(rec->case_id));
        break;
    case RP_FIELD_PERSON_ID:
        if (known)
            rp_x_strlcpy(rec->person_id, t->text, sizeof(rec->person_id));
        break;
    case RP_FIELD_REGISTRATION_YEAR:
        if (known)
            rec->registration_year = (int)t->number;
        break;
    case RP_FIELD_REGISTRATION_DATE:
        if (known)
            rp_x_strlcpy(rec->registration_date, t->text, sizeof(rec->registration_date));
        break;
    case RP_FIELD_ID_STATUS:
        rec->id_status = (rp_id_status)code_value(t);
        break;
    case RP_FIELD_SEX:
        rec->sex = (rp_sex)code_value(t);
        break;
    case RP_FIELD_AGE:
        if (known)
            rec->age = (int)t->number;
        rs->age_unknown = t->state == RP_STATE_UNKNOWN;
        break;
    case RP_FIELD_AGE_BAND:
        rec->age_band = (rp_age_band)code_value(t);
        break;
    case RP_FIELD_MAJORITY_AT_EXPLOITATION:
        rec->majority_at_exploitation = (rp_majority)code_value(t);
        break;
    case RP_FIELD_CITIZENSHIP:
        store_country(rec->citizenship, &rec->citizenship_state, t);
        break;
    case RP_FIELD_COUNTRY_OF_EXPLOITATION:
        store_country(rec->country_of_exploitation, &rec->country_of_exploitation_state, t);
        break;
    case RP_FIELD_EXPLOITATION:
        store_codes(&rec->exploitation, &rec->exploitation_state, t);
        break;
    case RP_FIELD_SEXUAL_TYPES:
        store_codes(&rec->sexual_types, NULL, t);
        break;
    case RP_FIELD_LABOUR_SECTORS:
        store_codes(&rec->labour_sectors, NULL, t);
        break;
    case RP_FIELD_MEANS_OF_CONTROL:
        store_codes(&rec->means_of_control, &rec->means_of_control_state, t);
        break;
    case RP_FIELD_RECRUITER_RELATION:
        store_codes(&rec->recruiter_relation, &rec->recruiter_relation_state, t);
        break;
    case RP_FIELD_COUNT:
        break;
    }
}

/* ==== loading ==== */

/* What the JSON walk needs everywhere: the mapping's label for errors and err. */
typedef struct loader {
    const char *name;
    rp_error *err;
} loader;

static int bad(const loader *ld, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report a mapping that breaks a rule: "<name>: <path>: <what>" as RP_EDATA. */
static int bad(const loader *ld, const char *path, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    if (vsnprintf(what, sizeof(what), fmt, ap) < 0)
        what[0] = '\0';
    va_end(ap);
    return rp_error_set_at(ld->err, RP_EDATA, ld->name, 0, 0, "%s: %s", path, what);
}

static int oom(const loader *ld)
{
    return rp_error_set(ld->err, RP_ENOMEM, "out of memory loading mapping '%s'", ld->name);
}

/* "@p a.@p b" (or just @p b when @p a is "") into @p buf (truncated if needed: paths only label
 * messages). */
static const char *join_path(char *buf, size_t size, const char *a, const char *b)
{
    if (snprintf(buf, size, "%s%s%s", a, a[0] ? "." : "", b) < 0)
        buf[0] = '\0';
    return buf;
}

/* A copy of the string @p s trimmed of white space (rp_malloc), or NULL on OOM. */
static char *dup_trimmed(const char *s)
{
    tok t = tok_trim(s, strlen(s));
    return rp_x_strndup(t.p, t.n);
}

/* Parse an array of strings (trimmed) into @p v. */
static int parse_strings(const loader *ld, rp_x_strvec *v, json_t *j, const char *path)
{
    if (!json_is_array(j))
        return bad(ld, path, "expected an array of strings");
    size_t i;
    json_t *el;
    json_array_foreach(j, i, el)
    {
        if (!json_is_string(el))
            return bad(ld, path, "element %zu is not a string", i);
        char *s = dup_trimmed(json_string_value(el));
        if (!s || rp_x_strvec_push_take(v, s) != RP_OK)
            return oom(ld);
    }
    return RP_OK;
}

/*
 * Check a date format: only %Y %m %d %b %% and literal characters; %Y once, exactly one
 * month (%m or %b), %d at most once. A @p partial format (birth dates) may also lack the
 * day, or the month and the day: "%m.%Y", "%Y".
 */
static int check_date_format(const loader *ld, const char *fmt, bool partial, const char *path)
{
    int n_year = 0, n_month = 0, n_day = 0;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%')
            continue;
        f++;
        switch (*f) {
        case 'Y':
            n_year++;
            break;
        case 'm':
        case 'b':
            n_month++;
            break;
        case 'd':
            n_day++;
            break;
        case '%':
            break;
        case '\0':
            return bad(ld, path, "'%s' ends with a lone '%%'", fmt);
        default:
            return bad(ld, path, "'%%%c' in '%s' is not supported (use %%Y, %%m, %%d, %%b)", *f,
                       fmt);
        }
    }
    if (partial && (n_year != 1 || n_month > 1 || n_day > n_month))
        return bad(ld, path,
                   "'%s' needs %%Y once, at most one month (%%m or %%b) and a %%d only with "
                   "a month",
                   fmt);
    if (!partial && (n_year != 1 || n_month != 1 || n_day > 1))
        return bad(ld, path, "'%s' needs %%Y once, one month (%%m or %%b) and at most one %%d",
                   fmt);
    return RP_OK;
}

/*
 * Convert a recode target or a constant of field @p fm at load time: a JSON null means
 * missing; for multi-valued fields an array gives several codes. Strings are read as
 * values of the standard (step 5).
 */
static int
parse_target(const loader *ld, const field_map *fm, json_t *j, target *out, const char *path)
{
    memset(out, 0, sizeof(*out));
    if (json_is_null(j))
        return RP_OK;
    const rp_field_info *info = fm->info;
    problem pb;
    if (json_is_array(j) && info->type == RP_FTYPE_CODES) {
        size_t i;
        json_t *el;
        json_array_foreach(j, i, el)
        {
            target one;
            int rc = parse_target(ld, fm, el, &one, path);
            if (rc != RP_OK)
                return rc;
            merge_codes(out, &one);
        }
        return RP_OK;
    }
    if (!json_is_string(j))
        return bad(ld, path, "expected a string%s or null",
                   info->type == RP_FTYPE_CODES ? ", an array of strings" : "");
    const char *s = json_string_value(j);
    tok t = tok_trim(s, strlen(s));
    if (t.n == 0)
        return RP_OK;
    /* targets are standard values: matched exactly, never case-folded */
    field_map exact = *fm;
    exact.case_insensitive = false;
    if (convert_standard(&exact, t, out, &pb))
        return RP_OK;
    if (info->type == RP_FTYPE_CODE || info->type == RP_FTYPE_CODES)
        return bad(ld, path, "'%s' is not a code of '%s'", s, info->name);
    if (info->type == RP_FTYPE_COUNTRY)
        return bad(ld, path, "'%s' is not an ISO 3166-1 country code", s);
    return bad(ld, path, "'%s' is not a valid value of '%s'", s, info->name);
}

static int parse_recode(const loader *ld, field_map *fm, json_t *j, const char *path)
{
    rp_field_type type = fm->info->type;
    if (type == RP_FTYPE_INT || type == RP_FTYPE_DATE)
        return bad(ld, path, "'%s' takes no recode (use \"missing\" and \"unknown\")",
                   fm->info->name);
    if (!json_is_object(j))
        return bad(ld, path, "expected an object of value: code");
    size_t n = json_object_size(j);
    if (n == 0)
        return RP_OK;
    fm->recodes = rp_calloc(n, sizeof(*fm->recodes));
    if (!fm->recodes)
        return oom(ld);
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val)
    {
        char sub[300];
        join_path(sub, sizeof(sub), path, key);
        recode *r = &fm->recodes[fm->n_recodes];
        int rc = parse_target(ld, fm, val, &r->to, sub);
        if (rc != RP_OK)
            return rc;
        r->key = dup_trimmed(key);
        if (!r->key)
            return oom(ld);
        fm->n_recodes++;
        if (r->key[0] == '\0')
            return bad(ld, sub, "empty values are always missing and cannot be recoded");
        /* keys equal after trimming (or case folding) would make the recode ambiguous */
        tok t = {r->key, strlen(r->key)};
        for (size_t i = 0; i + 1 < fm->n_recodes; i++) {
            if (tok_eq(t, fm->recodes[i].key, fm->case_insensitive))
                return bad(ld, sub, "'%s' is recoded twice", r->key);
        }
    }
    return RP_OK;
}

static int parse_flags(const loader *ld, field_map *fm, json_t *j, const char *path)
{
    if (!json_is_object(j) || json_object_size(j) == 0)
        return bad(ld, path, "expected an object of column: code(s)");
    fm->flags = rp_calloc(json_object_size(j), sizeof(*fm->flags));
    if (!fm->flags)
        return oom(ld);
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val)
    {
        char sub[300];
        join_path(sub, sizeof(sub), path, key);
        flag *fl = &fm->flags[fm->n_flags];
        target t;
        if (!json_is_string(val) && !json_is_array(val))
            return bad(ld, sub, "expected a code or an array of codes");
        int rc = parse_target(ld, fm, val, &t, sub);
        if (rc != RP_OK)
            return rc;
        if (t.state == RP_STATE_UNKNOWN)
            return bad(ld, sub, "a flag sets codes; 'unknown' is not a code of '%s'",
                       fm->info->name);
        fl->column = dup_trimmed(key);
        if (!fl->column)
            return oom(ld);
        fm->n_flags++;
        fl->bits = (uint32_t)t.code;
    }
    return RP_OK;
}

/* Fail on a key of object @p j that is not in @p keys (a typing mistake must not pass). */
static int
check_keys(const loader *ld, json_t *j, const char *const *keys, size_t n_keys, const char *path)
{
    const char *key;
    json_t *val;
    json_object_foreach(j, key, val)
    {
        bool known = false;
        for (size_t i = 0; i < n_keys; i++)
            known = known || strcmp(key, keys[i]) == 0;
        if (!known) {
            char sub[300];
            return bad(ld, join_path(sub, sizeof(sub), path, key), "unknown key");
        }
    }
    return RP_OK;
}

/* The optional string list @p key of field object @p j into @p v. */
static int
parse_field_list(const loader *ld, rp_x_strvec *v, json_t *j, const char *key, const char *path)
{
    json_t *lst = json_object_get(j, key);
    if (!lst)
        return RP_OK;
    char sub[300];
    return parse_strings(ld, v, lst, join_path(sub, sizeof(sub), path, key));
}

/*
 * "format" at @p sub: one date format or an array of them into @p v, each checked
 * (@p partial: formats of a birth date, see check_date_format).
 */
static int
parse_format_list(const loader *ld, rp_x_strvec *v, json_t *fmt, bool partial, const char *sub)
{
    int rc = RP_OK;
    if (json_is_string(fmt)) {
        if (rp_x_strvec_push(v, json_string_value(fmt)) != RP_OK)
            return oom(ld);
    } else {
        rc = parse_strings(ld, v, fmt, sub);
        if (rc != RP_OK)
            return rc;
        if (v->n == 0)
            return bad(ld, sub, "expected at least one format");
    }
    for (size_t i = 0; rc == RP_OK && i < v->n; i++)
        rc = check_date_format(ld, v->items[i], partial, sub);
    return rc;
}

/* "format" of a field: only date fields take one. */
static int parse_formats(const loader *ld, field_map *fm, json_t *fmt, const char *path)
{
    char sub[300];
    join_path(sub, sizeof(sub), path, "format");
    if (fm->info->type != RP_FTYPE_DATE)
        return bad(ld, sub, "only date fields take a format");
    return parse_format_list(ld, &fm->formats, fmt, false, sub);
}

/* "split": the separator of a multi-valued column. */
static int
parse_split(const loader *ld, field_map *fm, json_t *split, bool column, const char *path)
{
    char sub[300];
    join_path(sub, sizeof(sub), path, "split");
    if (!column || fm->info->type != RP_FTYPE_CODES)
        return bad(ld, sub, "only a column of a multi-valued field can be split");
    if (!json_is_string(split) || json_string_value(split)[0] == '\0')
        return bad(ld, sub, "expected a non-empty separator string");
    fm->split = rp_strdup(json_string_value(split));
    return fm->split ? RP_OK : oom(ld);
}

/* "true" / "false" of a flag group: given, or the default "1" / "0". */
static int parse_flag_values(const loader *ld,
                             rp_x_strvec *v,
                             json_t *j,
                             const char *key,
                             const char *dflt,
                             const char *path)
{
    json_t *lst = json_object_get(j, key);
    if (!lst)
        return rp_x_strvec_push(v, dflt) == RP_OK ? RP_OK : oom(ld);
    char sub[300];
    join_path(sub, sizeof(sub), path, key);
    int rc = parse_strings(ld, v, lst, sub);
    if (rc == RP_OK && v->n == 0)
        rc = bad(ld, sub, "expected at least one value");
    return rc;
}

/* The source of a field: "column", "value" or "flags" (exactly one is present). */
static int parse_source(const loader *ld, field_map *fm, json_t *j, const char *path)
{
    char sub[300];
    json_t *column = json_object_get(j, "column");
    json_t *value = json_object_get(j, "value");
    json_t *flags = json_object_get(j, "flags");
    int rc = RP_OK;
    if (column) {
        join_path(sub, sizeof(sub), path, "column");
        if (!json_is_string(column))
            return bad(ld, sub, "expected a column name");
        fm->column = dup_trimmed(json_string_value(column));
        if (!fm->column)
            return oom(ld);
        if (fm->column[0] == '\0')
            return bad(ld, sub, "expected a column name");
        fm->src = SRC_COLUMN;
    } else if (value) {
        join_path(sub, sizeof(sub), path, "value");
        if (!json_is_string(value))
            return bad(ld, sub, "expected a string");
        rc = parse_target(ld, fm, value, &fm->constant, sub);
        fm->src = SRC_VALUE;
    } else if (flags) {
        join_path(sub, sizeof(sub), path, "flags");
        if (fm->info->type != RP_FTYPE_CODES)
            return bad(ld, sub, "only multi-valued fields take flag columns");
        rc = parse_flags(ld, fm, flags, sub);
        if (rc == RP_OK)
            rc = parse_flag_values(ld, &fm->truthy, j, "true", "1", path);
        if (rc == RP_OK)
            rc = parse_flag_values(ld, &fm->falsy, j, "false", "0", path);
        fm->src = SRC_FLAGS;
    }
    return rc;
}

/* The keys a field object may have. */
static const char *const field_keys[] = {
    "column",           "value", "flags",  "recode", "missing", "unknown",
    "case_insensitive", "split", "format", "true",   "false",   "comment"};

/*
 * Parse the field object @p j into @p fm (whose info is set). The options come first,
 * since the recode checks its keys with case_insensitive and the constant of a date
 * field is read with its formats.
 */
static int parse_field(const loader *ld, field_map *fm, json_t *j, const char *path)
{
    char sub[300];
    const rp_field_info *info = fm->info;
    if (!json_is_object(j))
        return bad(ld, path, "expected an object");
    int rc = check_keys(ld, j, field_keys, RP_ARRAY_LEN(field_keys), path);
    if (rc != RP_OK)
        return rc;
    unsigned bit = 0;
    if (info->type == RP_FTYPE_CODES && rp_code_parse(&bit, info->field, "unknown") == RP_OK)
        fm->unknown_bit = (uint32_t)bit;

    bool column = json_object_get(j, "column") != NULL;
    bool flags = json_object_get(j, "flags") != NULL;
    int n_sources = (int)column + (int)flags + (json_object_get(j, "value") != NULL);
    if (n_sources != 1)
        return bad(ld, path, "needs exactly one of \"column\", \"value\" and \"flags\"");
    if (!flags && (json_object_get(j, "true") || json_object_get(j, "false")))
        return bad(ld, path, "\"true\" and \"false\" go with \"flags\"");
    if (!column && json_object_get(j, "recode"))
        return bad(ld, path, "\"recode\" needs a \"column\"");

    json_t *ci = json_object_get(j, "case_insensitive");
    if (ci && !json_is_boolean(ci))
        return bad(ld, path, "\"case_insensitive\" must be true or false");
    fm->case_insensitive = json_is_true(ci); /* false when absent */

    rc = parse_field_list(ld, &fm->missing, j, "missing", path);
    if (rc == RP_OK)
        rc = parse_field_list(ld, &fm->unknown, j, "unknown", path);
    json_t *opt = json_object_get(j, "format");
    if (rc == RP_OK && opt)
        rc = parse_formats(ld, fm, opt, path);
    opt = json_object_get(j, "recode");
    if (rc == RP_OK && opt)
        rc = parse_recode(ld, fm, opt, join_path(sub, sizeof(sub), path, "recode"));
    opt = json_object_get(j, "split");
    if (rc == RP_OK && opt)
        rc = parse_split(ld, fm, opt, column, path);
    if (rc == RP_OK)
        rc = parse_source(ld, fm, j, path);
    return rc;
}

/* The "list" and "fields" of the top level. */
static int parse_fields(const loader *ld, rp_mapping *m, json_t *root)
{
    json_t *fields = json_object_get(root, "fields");
    if (!json_is_object(fields))
        return bad(ld, "fields", "expected an object of field: source");

    int rc = RP_OK;
    json_t *list = json_object_get(root, "list");
    if (list) {
        field_map *fm = &m->fields[RP_FIELD_LIST];
        fm->info = rp_field_info_get(RP_FIELD_LIST);
        if (!RP_ALWAYS(fm->info != NULL))
            return rp_error_set(ld->err, RP_EINTERNAL, "no description of field 'list'");
        rc = parse_field(ld, fm, list, "list");
        if (rc != RP_OK)
            return rc;
    }

    const char *key;
    json_t *val;
    json_object_foreach(fields, key, val)
    {
        char path[300];
        join_path(path, sizeof(path), "fields", key);
        rp_field f = RP_FIELD_COUNT;
        if (rp_field_lookup(&f, key) != RP_OK)
            return bad(ld, path, "unknown field (the fields are listed in docs/data-standard.md)");
        field_map *fm = &m->fields[f];
        if (fm->src != SRC_NONE)
            return bad(ld, path, "field is given twice (here and at the top level)");
        fm->info = rp_field_info_get(f);
        if (!RP_ALWAYS(fm->info != NULL))
            return rp_error_set(ld->err, RP_EINTERNAL, "no description of field '%s'", key);
        rc = parse_field(ld, fm, val, path);
        if (rc != RP_OK)
            return rc;
    }
    if (m->fields[RP_FIELD_LIST].src == SRC_NONE)
        return bad(ld, "list",
                   "required: the list (data source) code, as "
                   "{\"value\": \"CODE\"} or {\"column\": \"NAME\"}");
    return RP_OK;
}

/* ==== loading: personal identifiers ==== */

/* The keys an identifier entry may have ("format" and "order" only where they apply). */
static const char *const ident_keys[] = {"column", "columns", "missing",
                                         "format", "order",   "comment"};

/* The field fed by input column @p column (as a column or a flag column); NULL if none. */
static const rp_field_info *field_of_column(const rp_mapping *m, const char *column)
{
    for (size_t f = 0; f < RP_FIELD_COUNT; f++) {
        const field_map *fm = &m->fields[f];
        if (fm->src == SRC_COLUMN && strcmp(fm->column, column) == 0)
            return fm->info;
        for (size_t i = 0; fm->src == SRC_FLAGS && i < fm->n_flags; i++) {
            if (strcmp(fm->flags[i].column, column) == 0)
                return fm->info;
        }
    }
    return NULL;
}

/*
 * "order" of the full_name entry: "given_first" (default) or "family_first". The
 * encoding step needs it to split a full name into given and family name.
 */
static int parse_name_order(const loader *ld, rp_mapping *m, json_t *order, const char *sub)
{
    const char *o = json_is_string(order) ? json_string_value(order) : "";
    if (strcmp(o, "family_first") == 0)
        m->full_name_family_first = true;
    else if (strcmp(o, "given_first") != 0)
        return bad(ld, sub, "expected \"given_first\" or \"family_first\"");
    return RP_OK;
}

/*
 * Check input column @p col, the @p nth of identifier @p id's entry (JSON path @p sub):
 * it may feed no field, be no column of an earlier identifier, and not repeat an earlier
 * column of the same entry.
 */
static int
check_ident_column(const loader *ld, const rp_mapping *m, rp_ident id, size_t nth, const char *sub)
{
    const char *col = m->idents[id].columns.items[nth];
    if (col[0] == '\0')
        return bad(ld, sub, "expected a column name");
    const rp_field_info *info = field_of_column(m, col);
    if (info)
        return bad(ld, sub,
                   "column '%s' also feeds field '%s' (an identifier column feeds no field)", col,
                   info->name);
    for (size_t k = 0; k < (size_t)id; k++) {
        const rp_x_strvec *other = &m->idents[k].columns;
        for (size_t c = 0; c < other->n; c++) {
            if (strcmp(other->items[c], col) == 0)
                return bad(ld, sub, "column '%s' is also the column of identifier '%s'", col,
                           ident_names[k]);
        }
    }
    for (size_t c = 0; c < nth; c++) {
        if (strcmp(m->idents[id].columns.items[c], col) == 0)
            return bad(ld, sub, "column '%s' is named twice", col);
    }
    return RP_OK;
}

/* Add the column name @p el (a JSON string, at path @p sub) as the @p nth column of
   identifier @p id and check it (check_ident_column). */
static int add_ident_column(
    const loader *ld, rp_mapping *m, rp_ident id, json_t *el, size_t nth, const char *sub)
{
    if (!json_is_string(el))
        return bad(ld, sub, "expected a column name");
    char *c = dup_trimmed(json_string_value(el));
    if (!c || rp_x_strvec_push_take(&m->idents[id].columns, c) != RP_OK)
        return oom(ld);
    return check_ident_column(ld, m, id, nth, sub);
}

/*
 * The input columns of entry @p j: "column": NAME, or "columns": [NAME, ...] (1 to
 * RP_MAPPING_IDENT_COLUMNS_MAX names, whose values are joined in order with a space; not
 * for birth_date, which is read with a date format from one column).
 */
static int
parse_ident_columns(const loader *ld, rp_mapping *m, rp_ident id, json_t *j, const char *path)
{
    json_t *one = json_object_get(j, "column");
    json_t *many = json_object_get(j, "columns");
    char sub[300];
    if (one && many)
        return bad(ld, path, "takes \"column\" or \"columns\", not both");
    if (!one && !many)
        return bad(ld, path,
                   "needs a \"column\" (or \"columns\": [NAME, ...], whose values are joined "
                   "with a space)");
    if (one) {
        join_path(sub, sizeof(sub), path, "column");
        return add_ident_column(ld, m, id, one, 0, sub);
    }
    join_path(sub, sizeof(sub), path, "columns");
    if (id == RP_IDENT_BIRTH_DATE)
        return bad(ld, sub,
                   "birth_date is read from one \"column\" with its \"format\" (a date is not "
                   "joined from several columns)");
    size_t n = json_is_array(many) ? json_array_size(many) : 0;
    if (n == 0 || n > RP_MAPPING_IDENT_COLUMNS_MAX)
        return bad(ld, sub, "expected an array of 1 to %d column names",
                   RP_MAPPING_IDENT_COLUMNS_MAX);
    for (size_t i = 0; i < n; i++) {
        /* the element's path, counted from 1 as a person counts: "...columns[2]" */
        char el_path[320];
        if (snprintf(el_path, sizeof(el_path), "%s[%zu]", sub, i + 1) < 0)
            el_path[0] = '\0';
        int rc = add_ident_column(ld, m, id, json_array_get(many, i), i, el_path);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/*
 * One entry @p j of "identifiers", for identifier @p id. Entries are parsed after the
 * fields and in rp_ident order, so that a column shared with a field or an earlier
 * identifier is reported here.
 */
static int parse_ident(const loader *ld, rp_mapping *m, rp_ident id, json_t *j, const char *path)
{
    char sub[300];
    ident_map *im = &m->idents[id];
    if (!json_is_object(j))
        return bad(ld, path, "expected an object with a \"column\" or \"columns\"");
    int rc = check_keys(ld, j, ident_keys, RP_ARRAY_LEN(ident_keys), path);
    if (rc != RP_OK)
        return rc;
    rc = parse_ident_columns(ld, m, id, j, path);
    if (rc != RP_OK)
        return rc;
    im->column = im->columns.items[0];

    rc = parse_field_list(ld, &im->missing, j, "missing", path);
    json_t *opt = json_object_get(j, "format");
    if (rc == RP_OK && opt) {
        join_path(sub, sizeof(sub), path, "format");
        if (id != RP_IDENT_BIRTH_DATE)
            return bad(ld, sub, "only birth_date takes a format");
        rc = parse_format_list(ld, &im->formats, opt, true, sub);
    }
    opt = json_object_get(j, "order");
    if (rc == RP_OK && opt) {
        join_path(sub, sizeof(sub), path, "order");
        if (id != RP_IDENT_FULL_NAME)
            return bad(ld, sub, "only full_name takes an order");
        rc = parse_name_order(ld, m, opt, sub);
    }
    return rc;
}

/* The optional top-level "identifiers": identifier name -> entry, and a "comment". */
static int parse_identifiers(const loader *ld, rp_mapping *m, json_t *root)
{
    json_t *ids = json_object_get(root, "identifiers");
    if (!ids)
        return RP_OK;
    if (!json_is_object(ids))
        return bad(ld, "identifiers", "expected an object of identifier: {\"column\": NAME}");
    const char *key;
    json_t *val;
    json_object_foreach(ids, key, val)
    {
        bool known = strcmp(key, "comment") == 0;
        for (size_t i = 0; i < RP_IDENT_COUNT; i++)
            known = known || strcmp(key, ident_names[i]) == 0;
        if (!known) {
            char sub[300];
            return bad(ld, join_path(sub, sizeof(sub), "identifiers", key),
                       "unknown identifier (the identifiers are given_name, family_name, "
                       "patronymic, full_name, birth_date, document_number and address)");
        }
    }
    /* a full name holds the given and the family name: both ways at once would disagree */
    if (json_object_get(ids, "full_name") &&
        (json_object_get(ids, "given_name") || json_object_get(ids, "family_name")))
        return bad(ld, "identifiers.full_name",
                   "a full name excludes \"given_name\" and \"family_name\" (map either the "
                   "full name or its parts)");
    for (size_t i = 0; i < RP_IDENT_COUNT; i++) {
        json_t *entry = json_object_get(ids, ident_names[i]);
        if (!entry)
            continue;
        char path[300];
        join_path(path, sizeof(path), "identifiers", ident_names[i]);
        int rc = parse_ident(ld, m, (rp_ident)i, entry, path);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* ==== loading: the top level ==== */

static int parse_root(const loader *ld, rp_mapping *m, json_t *root)
{
    static const char *const root_keys[] = {"name",    "description", "version",
                                            "missing", "unknown",     "list",
                                            "fields",  "identifiers", "comment"};
    if (!json_is_object(root))
        return bad(ld, "(top level)", "expected an object");
    int rc = check_keys(ld, root, root_keys, RP_ARRAY_LEN(root_keys), "");
    if (rc != RP_OK)
        return rc;

    json_t *name = json_object_get(root, "name");
    if (!json_is_string(name) || json_string_value(name)[0] == '\0')
        return bad(ld, "name", "expected a non-empty string");
    m->name = rp_strdup(json_string_value(name));
    if (!m->name)
        return oom(ld);

    json_t *desc = json_object_get(root, "description");
    if (desc && !json_is_string(desc))
        return bad(ld, "description", "expected a string");
    if (desc) {
        m->description = rp_strdup(json_string_value(desc));
        if (!m->description)
            return oom(ld);
    }

    json_t *version = json_object_get(root, "version");
    if (version && (!json_is_integer(version) || json_integer_value(version) != 1))
        return bad(ld, "version", "expected 1 (the only version of the format)");

    rc = parse_field_list(ld, &m->missing, root, "missing", "");
    if (rc == RP_OK)
        rc = parse_field_list(ld, &m->unknown, root, "unknown", "");
    if (rc == RP_OK)
        rc = parse_fields(ld, m, root);
    if (rc == RP_OK)
        rc = parse_identifiers(ld, m, root);
    return rc;
}

int rp_mapping_parse(
    rp_mapping **out, const char *json, size_t len, const char *name, rp_error *err)
{
    int rc = RP_OK;
    rp_mapping *m = NULL;
    json_t *root = NULL;
    if (out)
        *out = NULL;
    if (!out || (!json && len > 0))
        return rp_error_set(err, RP_EINVAL, "rp_mapping_parse: NULL argument");
    loader ld = {name && *name ? name : "mapping", err};

    json_error_t jerr;
    root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            rc = oom(&ld);
        else
            rc = rp_error_set_at(err, RP_EPARSE, ld.name, jerr.line, jerr.column,
                                 "invalid JSON%s%s", jerr.text[0] ? ": " : "", jerr.text);
        goto out;
    }
    m = rp_calloc(1, sizeof(*m));
    if (!m) {
        rc = oom(&ld);
        goto out;
    }
    rc = parse_root(&ld, m, root);
out:
    json_decref(root);
    if (rc != RP_OK)
        rp_mapping_free(m);
    else
        *out = m;
    return rc;
}

int rp_mapping_load(rp_mapping **out, const char *path, rp_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    if (out)
        *out = NULL;
    if (!out || !path)
        return rp_error_set(err, RP_EINVAL, "rp_mapping_load: NULL argument");
    int rc = rp_x_read_file(&buf, &len, path, MAPPING_MAX_BYTES, err);
    if (rc == RP_OK)
        rc = rp_mapping_parse(out, buf, len, path, err);
    rp_free(buf);
    return rc;
}

/* ==== binding to a header ==== */

/*
 * Find column @p name in the header; RP_EDATA when absent or ambiguous. @p kind and
 * @p what say what the column feeds ("field", "sex"; "identifier", "birth_date").
 */
static int find_column(size_t *out,
                       const rp_mapping *m,
                       const char *const *columns,
                       size_t n_columns,
                       const char *name,
                       const char *kind,
                       const char *what,
                       rp_error *err)
{
    bool found = false;
    for (size_t i = 0; i < n_columns; i++) {
        const char *c = columns[i] ? columns[i] : "";
        tok t = tok_trim(c, strlen(c));
        if (!tok_eq(t, name, false))
            continue;
        if (found)
            return rp_error_set_at(err, RP_EDATA, "", 1, (long)(i + 1),
                                   "mapping '%s': column '%s' (%s '%s') appears twice in the "
                                   "input header (columns %zu and %zu)",
                                   m->name, name, kind, what, *out + 1, i + 1);
        *out = i;
        found = true;
    }
    if (!found)
        return rp_error_set_at(err, RP_EDATA, "", 1, 0,
                               "mapping '%s': column '%s' (%s '%s') is not in the input header",
                               m->name, name, kind, what);
    return RP_OK;
}

int rp_mapping_bind(rp_mapping *m, const char *const *columns, size_t n_columns, rp_error *err)
{
    if (!m || (!columns && n_columns > 0))
        return rp_error_set(err, RP_EINVAL, "rp_mapping_bind: NULL argument");
    m->bound = false;
    for (size_t f = 0; f < RP_FIELD_COUNT; f++) {
        field_map *fm = &m->fields[f];
        int rc = RP_OK;
        if (fm->src == SRC_COLUMN)
            rc = find_column(&fm->index, m, columns, n_columns, fm->column, "field", fm->info->name,
                             err);
        for (size_t i = 0; rc == RP_OK && fm->src == SRC_FLAGS && i < fm->n_flags; i++)
            rc = find_column(&fm->flags[i].index, m, columns, n_columns, fm->flags[i].column,
                             "field", fm->info->name, err);
        if (rc != RP_OK)
            return rc;
    }
    for (size_t i = 0; i < RP_IDENT_COUNT; i++) {
        ident_map *im = &m->idents[i];
        for (size_t c = 0; c < im->columns.n; c++) {
            int rc = find_column(&im->index[c], m, columns, n_columns, im->columns.items[c],
                                 "identifier", ident_names[i], err);
            if (rc != RP_OK)
                return rc;
        }
    }
    m->n_columns = n_columns;
    m->bound = true;
    return RP_OK;
}

/* ==== applying to a row ==== */

/*
 * Push one issue at input column @p index (0-based; SIZE_MAX for none). The value is
 * handed over longer than rp_issue.value holds, so that rp_data__issue_add() cuts it
 * at a whole UTF-8 character.
 */
static int push_issue(rp_issue_list *issues,
                      long line,
                      size_t index,
                      const char *column_name,
                      tok value,
                      const problem *pb,
                      rp_error *err)
{
    char v[2 * sizeof(((rp_issue *)NULL)->value)];
    size_t n = value.n < sizeof(v) - 1 ? value.n : sizeof(v) - 1;
    memcpy(v, value.p, n);
    v[n] = '\0';
    long column = index == SIZE_MAX ? 0 : (long)index + 1;
    if (rp_data__issue_add(issues, line, column, column_name, pb->hide_value ? NULL : v, pb->rule,
                           "%s", pb->message) != RP_OK)
        return rp_error_set(err, RP_ENOMEM, "out of memory recording an issue");
    return RP_OK;
}

/* A field fed by one column: plain, or split into several values. */
static int apply_column(rp_case_record *rec,
                        row_state *rs,
                        rp_issue_list *issues,
                        const rp_mapping *m,
                        const field_map *fm,
                        const char *raw,
                        long line,
                        rp_error *err)
{
    target acc, t;
    problem pb;
    memset(&acc, 0, sizeof(acc));
    tok whole = {raw, strlen(raw)};
    if (!fm->split) {
        if (!convert_token(m, fm, whole, &t, &pb))
            return push_issue(issues, line, fm->index, fm->column, tok_trim(raw, whole.n), &pb,
                              err);
        store(rec, rs, fm->info->field, &t);
        return RP_OK;
    }
    size_t sep = strlen(fm->split);
    const char *p = raw;
    const char *end = raw + whole.n;
    while (p <= end) {
        const char *q = strstr(p, fm->split);
        if (!q)
            q = end;
        tok part = {p, (size_t)(q - p)};
        if (!convert_token(m, fm, part, &t, &pb)) {
            int rc =
                push_issue(issues, line, fm->index, fm->column, tok_trim(part.p, part.n), &pb, err);
            if (rc != RP_OK)
                return rc;
        } else {
            merge_codes(&acc, &t);
        }
        p = q + sep;
    }
    store(rec, rs, fm->info->field, &acc);
    return RP_OK;
}

/* Read one flag column value: set (1), recorded not set (0), missing or unknown. */
static bool convert_flag(
    const rp_mapping *m, const field_map *fm, const flag *fl, tok t, target *out, problem *pb)
{
    bool ci = fm->case_insensitive;
    t = tok_trim(t.p, t.n);
    memset(out, 0, sizeof(*out));
    if (t.n == 0 || in_list(&fm->missing, t, ci))
        return true;
    if (in_list(&fm->unknown, t, ci)) {
        out->state = RP_STATE_UNKNOWN;
        return settle_unknown(fm, out);
    }
    if (in_list(&fm->truthy, t, ci)) {
        out->state = RP_STATE_KNOWN;
        out->code = fl->bits;
        return true;
    }
    if (in_list(&fm->falsy, t, ci)) {
        out->state = RP_STATE_KNOWN;
        return true;
    }
    if (in_global_list(&m->missing, fm, t))
        return true;
    if (in_global_list(&m->unknown, fm, t)) {
        out->state = RP_STATE_UNKNOWN;
        return settle_unknown(fm, out);
    }
    return fail(pb, "code", "expected %s (set), %s (not set) or empty for a flag of '%s'",
                fm->truthy.items[0], fm->falsy.n ? fm->falsy.items[0] : "0", fm->info->name);
}

/*
 * A group of flag columns. CTDC's denominator rule: the group is KNOWN when any of its
 * flags was recorded (1 or 0), UNKNOWN when the only recorded answers were unknown
 * codes, and MISSING when every flag is empty.
 */
static int apply_flags(rp_case_record *rec,
                       row_state *rs,
                       rp_issue_list *issues,
                       const rp_mapping *m,
                       const field_map *fm,
                       const char *const *fields,
                       long line,
                       rp_error *err)
{
    target acc, t;
    problem pb;
    memset(&acc, 0, sizeof(acc));
    for (size_t i = 0; i < fm->n_flags; i++) {
        const flag *fl = &fm->flags[i];
        const char *raw = fields[fl->index] ? fields[fl->index] : "";
        tok v = {raw, strlen(raw)};
        if (convert_flag(m, fm, fl, v, &t, &pb)) {
            merge_codes(&acc, &t);
            continue;
        }
        int rc = push_issue(issues, line, fl->index, fl->column, tok_trim(v.p, v.n), &pb, err);
        if (rc != RP_OK)
            return rc;
    }
    store(rec, rs, fm->info->field, &acc);
    return RP_OK;
}

/*
 * Issues from rp_case_record_validate() name a field of the standard; when that field
 * came from one input column, point the issue at the column instead.
 */
static void locate_issue(const rp_mapping *m, rp_issue *is)
{
    if (is->column != 0)
        return;
    rp_field f = RP_FIELD_COUNT;
    if (is->column_name[0] == '\0' || rp_field_lookup(&f, is->column_name) != RP_OK)
        return;
    const field_map *fm = &m->fields[f];
    if (fm->src != SRC_COLUMN)
        return;
    is->column = (long)fm->index + 1;
    rp_x_strlcpy(is->column_name, fm->column, sizeof(is->column_name));
}

int rp_mapping_apply(rp_case_record *rec,
                     rp_issue_list *issues,
                     const rp_mapping *m,
                     const char *const *fields,
                     size_t n_fields,
                     long line,
                     rp_error *err)
{
    if (!rec || !issues || !m || (!fields && n_fields > 0))
        return rp_error_set(err, RP_EINVAL, "rp_mapping_apply: NULL argument");
    rp_case_record_init(rec);
    if (!m->bound)
        return rp_error_set(err, RP_EINVAL, "mapping '%s' is not bound to a header", m->name);
    size_t before = issues->n;

    if (n_fields != m->n_columns) {
        problem pb;
        fail(&pb, "ragged", "expected %zu fields as in the header, found %zu", m->n_columns,
             n_fields);
        tok none = {"", 0};
        int rc = push_issue(issues, line, SIZE_MAX, "", none, &pb, err);
        return rc != RP_OK ? rc : RP_EDATA;
    }

    /* no fields at all (an empty header): only constants, and no column is read */
    static const char *const no_fields[1] = {""};
    if (!fields)
        fields = no_fields;
    row_state rs = {false};
    for (size_t f = 0; f < RP_FIELD_COUNT; f++) {
        const field_map *fm = &m->fields[f];
        int rc = RP_OK;
        switch (fm->src) {
        case SRC_NONE:
            break;
        case SRC_VALUE:
            store(rec, &rs, fm->info->field, &fm->constant);
            break;
        case SRC_COLUMN:
            rc = apply_column(rec, &rs, issues, m, fm, fields[fm->index] ? fields[fm->index] : "",
                              line, err);
            break;
        case SRC_FLAGS:
            rc = apply_flags(rec, &rs, issues, m, fm, fields, line, err);
            break;
        }
        if (rc != RP_OK)
            return rc;
    }

    /* derived values: the band from the age, the year from the date */
    if (rec->age >= 0 && rec->age_band == RP_AGE_BAND_MISSING)
        rec->age_band = rp_age_band_of(rec->age);
    else if (rs.age_unknown && rec->age_band == RP_AGE_BAND_MISSING)
        rec->age_band = RP_AGE_BAND_UNKNOWN;
    if (rec->registration_year == 0 && rec->registration_date[0] != '\0') {
        long y = 0;
        if (year_of(rec->registration_date, 1, 9999, &y))
            rec->registration_year = (int)y;
    }

    size_t validated_from = issues->n;
    int rc = rp_case_record_validate(rec, line, issues, err);
    if (rc != RP_OK && rc != RP_EDATA)
        return rc;
    for (size_t i = validated_from; i < issues->n; i++)
        locate_issue(m, &issues->v[i]);
    return issues->n > before ? RP_EDATA : RP_OK;
}

/* ==== reading personal identifiers (agency side) ==== */

/*
 * The encoding step reads identifiers one row at a time through the bound mapping, with
 * the same trimming and missing codes as fields, and nothing else: no recode, no case
 * folding. Values are personal data, so no message ever shows one, and a birth date
 * parsed on the stack is wiped before returning.
 */

const char *rp_ident_name(rp_ident id)
{
    if ((unsigned)id >= (unsigned)RP_IDENT_COUNT)
        return NULL;
    return ident_names[id];
}

const char *rp_mapping_ident_column(const rp_mapping *m, rp_ident id)
{
    if (!m || (unsigned)id >= (unsigned)RP_IDENT_COUNT)
        return NULL;
    return m->idents[id].column;
}

bool rp_mapping_full_name_family_first(const rp_mapping *m)
{
    return m && m->idents[RP_IDENT_FULL_NAME].column && m->full_name_family_first;
}

/* Is the year of @p date ("YYYY..." as parse_date_with() writes it) a plausible birth year? */
static bool birth_year_ok(const char *date)
{
    long y = 0;
    return year_of(date, BIRTH_YEAR_MIN, BIRTH_YEAR_MAX, &y);
}

/*
 * The columns of @p im for a message: "column 'a'", or "columns 'a', 'b' and 'c'
 * (joined)" for an entry with "columns" (cut short when the names are long).
 */
static void ident_columns_text(const ident_map *im, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t c = 0; c < im->columns.n && used < size; c++) {
        const char *sep = c == 0                  ? (im->columns.n > 1 ? "columns " : "column ")
                          : c + 1 < im->columns.n ? ", "
                                                  : " and ";
        int k = snprintf(buf + used, size - used, "%s'%s'", sep, im->columns.items[c]);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (im->columns.n > 1 && used < size && snprintf(buf + used, size - used, " (joined)") < 0)
        buf[used] = '\0';
}

/* RP_EINVAL for a value of identifier @p id that does not fit in @p out_size bytes. */
static int
too_small(const rp_mapping *m, const ident_map *im, rp_ident id, size_t out_size, rp_error *err)
{
    char cols[300];
    ident_columns_text(im, cols, sizeof(cols));
    return rp_error_set(err, RP_EINVAL,
                        "mapping '%s': %s (identifier '%s'): the value does not fit in %zu bytes",
                        m->name, cols, ident_names[id], out_size);
}

/* Is @p t (trimmed) a missing value of identifier @p im: empty, or in its own or the
   mapping's global missing or unknown codes? */
static bool ident_missing(const rp_mapping *m, const ident_map *im, tok t)
{
    return t.n == 0 || in_list(&im->missing, t, false) || in_list(&m->missing, t, false) ||
           in_list(&m->unknown, t, false);
}

/*
 * Cut the text @p out[0..@p k), the leading bytes of a longer text whose next byte is
 * @p next, at a word boundary: after its last whole word, or, when it is one word, after
 * its last whole UTF-8 character. Trailing white space goes too; the bytes dropped are
 * wiped, and the text ends with a NUL.
 */
static void cut_at_word(char *out, size_t k, char next)
{
    size_t n = k;
    if (!is_space(next)) {
        size_t w = n;
        while (w > 0 && !is_space(out[w - 1]))
            w--;
        if (w > 0) {
            n = w;
        } else if (((unsigned char)next & 0xC0u) == 0x80u) {
            /* inside a character: drop its leading bytes too */
            while (n > 0 && ((unsigned char)out[n - 1] & 0xC0u) == 0x80u)
                n--;
            if (n > 0)
                n--;
        }
    }
    while (n > 0 && is_space(out[n - 1]))
        n--;
    sodium_memzero(out + n, k - n);
    out[n] = '\0';
}

/*
 * The text of identifier @p id from its columns in @p row: each value trimmed, missing
 * ones left out, the rest joined with one space. RP_OK; RP_EINVAL when it does not fit,
 * unless @p warning is not NULL and @p id is RP_IDENT_ADDRESS: then the text is cut at a
 * word boundary (cut_at_word) to fit, and *@p warning says so.
 */
static int ident_text(const rp_mapping *m,
                      rp_ident id,
                      const char *const *row,
                      char *out,
                      size_t out_size,
                      rp_issue *warning,
                      rp_error *err)
{
    const ident_map *im = &m->idents[id];
    size_t k = 0;
    for (size_t c = 0; c < im->columns.n; c++) {
        const char *raw = row[im->index[c]] ? row[im->index[c]] : "";
        tok t = tok_trim(raw, strlen(raw));
        if (ident_missing(m, im, t))
            continue;
        if (k + (k > 0) + t.n < out_size) {
            if (k > 0)
                out[k++] = ' ';
            memcpy(out + k, t.p, t.n);
            k += t.n;
            continue;
        }
        if (!warning || id != RP_IDENT_ADDRESS) {
            sodium_memzero(out, k);
            out[0] = '\0';
            return too_small(m, im, id, out_size, err);
        }
        /* an address is long free text: its first words are worth more than nothing */
        char next = ' '; /* the byte after the cut: the separator when out is full */
        if (k == 0 || k + 1 < out_size) {
            if (k > 0)
                out[k++] = ' ';
            size_t take = out_size - 1 - k; /* < t.n, as the value does not fit */
            memcpy(out + k, t.p, take);
            k += take;
            next = t.p[take];
        }
        cut_at_word(out, k, next);
        char cols[120];
        ident_columns_text(im, cols, sizeof(cols));
        memset(warning, 0, sizeof(*warning));
        warning->column = (long)im->index[0] + 1;
        rp_x_strlcpy(warning->column_name, im->column, sizeof(warning->column_name));
        rp_x_strlcpy(warning->rule, "length", sizeof(warning->rule));
        if (snprintf(warning->message, sizeof(warning->message),
                     "the address (%s) is longer than %zu bytes: cut at a word boundary", cols,
                     out_size - 1) < 0)
            warning->message[0] = '\0';
        return RP_OK;
    }
    out[k] = '\0';
    return RP_OK;
}

/*
 * The leading parts of a birth date @p t that no format reads in full, into @p date:
 * the first format whose shape @p t has (every character read) and whose year is in
 * BIRTH_YEAR_MIN..BIRTH_YEAR_MAX gives the year (its month is out of 1..12) or the year
 * and the month (its day is not a day of that month). @return the parts kept, 1 or 2; 0
 * when no format has the shape of @p t with such a year: nothing can be salvaged, and a
 * value of no format's shape is more likely a wrong format than a damaged date.
 */
static int birth_date_salvage(tok t, date_formats f, char date[11])
{
    date[0] = '\0';
    int kept = 0;
    for (size_t i = 0; i < f.n && kept == 0; i++) {
        date_parts p;
        if (date_shape(t, f.v[i], &p) && p.y >= BIRTH_YEAR_MIN && p.y <= BIRTH_YEAR_MAX) {
            kept = date_parts_valid(&p);
            if (kept > date_n_parts(&p))
                kept = date_n_parts(&p);
            if (kept > 0)
                date_write(&p, kept, date);
        }
        sodium_memzero(&p, sizeof(p));
    }
    return kept;
}

/*
 * The birth date @p t (trimmed, not missing) into @p out. A value no format reads in
 * full fails with RP_EDATA, unless @p warning is not NULL and the value has a format's
 * shape with a year in range: then its valid leading parts are kept (see
 * birth_date_salvage) and *@p warning says what was expected and what was kept.
 */
static int read_birth_date(
    const rp_mapping *m, tok t, char *out, size_t out_size, rp_issue *warning, rp_error *err)
{
    const ident_map *im = &m->idents[RP_IDENT_BIRTH_DATE];
    int rc = RP_OK;
    char date[11];
    date_formats f =
        formats_or(&im->formats, default_birth_formats, RP_ARRAY_LEN(default_birth_formats));
    if (!parse_date_any(t, f, date) || !birth_year_ok(date)) {
        int kept = warning ? birth_date_salvage(t, f, date) : 0;
        char hint[120];
        date_hint(f, hint, sizeof(hint));
        if (kept == 0) {
            rc = rp_error_set_at(err, RP_EDATA, "", 0, (long)im->index[0] + 1,
                                 "mapping '%s': column '%s' (identifier 'birth_date'): expected "
                                 "a calendar date as %s with a year in %d..%d",
                                 m->name, im->column, hint, BIRTH_YEAR_MIN, BIRTH_YEAR_MAX);
            date[0] = '\0';
        } else {
            memset(warning, 0, sizeof(*warning));
            warning->column = (long)im->index[0] + 1;
            rp_x_strlcpy(warning->column_name, im->column, sizeof(warning->column_name));
            rp_x_strlcpy(warning->rule, "date", sizeof(warning->rule));
            if (snprintf(warning->message, sizeof(warning->message),
                         "expected a birth date as %s with a year in %d..%d; %s", hint,
                         BIRTH_YEAR_MIN, BIRTH_YEAR_MAX,
                         kept == 1 ? "kept the year only" : "kept the year and month only") < 0)
                warning->message[0] = '\0';
        }
    }
    if (rc == RP_OK && strlen(date) >= out_size)
        rc = too_small(m, im, RP_IDENT_BIRTH_DATE, out_size, err);
    else if (rc == RP_OK)
        rp_x_strlcpy(out, date, out_size);
    sodium_memzero(date, sizeof(date));
    return rc;
}

/* rp_mapping_ident_read() and rp_mapping_ident_read_partial() (@p warning not NULL). */
static int ident_read(const rp_mapping *m,
                      rp_ident id,
                      const char *const *row,
                      size_t n_fields,
                      char *out,
                      size_t out_size,
                      rp_issue *warning,
                      rp_error *err)
{
    if (out && out_size > 0)
        out[0] = '\0';
    if (warning)
        memset(warning, 0, sizeof(*warning));
    if (!m || !out || out_size == 0 || (!row && n_fields > 0))
        return rp_error_set(err, RP_EINVAL, "rp_mapping_ident_read: NULL argument");
    if ((unsigned)id >= (unsigned)RP_IDENT_COUNT)
        return rp_error_set(err, RP_EINVAL, "rp_mapping_ident_read: identifier %d out of range",
                            (int)id);
    if (!m->bound)
        return rp_error_set(err, RP_EINVAL, "mapping '%s' is not bound to a header", m->name);
    if (n_fields != m->n_columns)
        return rp_error_set(err, RP_EDATA,
                            "mapping '%s': expected %zu fields as in the header, found %zu",
                            m->name, m->n_columns, n_fields);
    const ident_map *im = &m->idents[id];
    if (!im->column)
        return RP_OK;
    /* bind found the columns in the header, and the row is as wide as the header */
    bool in_range = row != NULL && im->columns.n > 0;
    for (size_t c = 0; in_range && c < im->columns.n; c++)
        in_range = im->index[c] < n_fields;
    if (!RP_ALWAYS(in_range) || !row)
        return rp_error_set(err, RP_EINTERNAL, "mapping '%s': identifier column out of range",
                            m->name);
    if (id != RP_IDENT_BIRTH_DATE)
        return ident_text(m, id, row, out, out_size, warning, err);
    const char *raw = row[im->index[0]] ? row[im->index[0]] : "";
    tok t = tok_trim(raw, strlen(raw));
    if (ident_missing(m, im, t))
        return RP_OK;
    return read_birth_date(m, t, out, out_size, warning, err);
}

int rp_mapping_ident_read(const rp_mapping *m,
                          rp_ident id,
                          const char *const *row,
                          size_t n_fields,
                          char *out,
                          size_t out_size,
                          rp_error *err)
{
    return ident_read(m, id, row, n_fields, out, out_size, NULL, err);
}

int rp_mapping_ident_read_partial(const rp_mapping *m,
                                  rp_ident id,
                                  const char *const *row,
                                  size_t n_fields,
                                  char *out,
                                  size_t out_size,
                                  rp_issue *warning,
                                  rp_error *err)
{
    if (!warning) {
        if (out && out_size > 0)
            out[0] = '\0';
        return rp_error_set(err, RP_EINVAL, "rp_mapping_ident_read_partial: NULL argument");
    }
    return ident_read(m, id, row, n_fields, out, out_size, warning, err);
}

size_t rp_mapping_ident_columns(const rp_mapping *m, rp_ident id, const char *const **names)
{
    if (names)
        *names = NULL;
    if (!m || (unsigned)id >= (unsigned)RP_IDENT_COUNT || !m->idents[id].column)
        return 0;
    if (names)
        *names = (const char *const *)m->idents[id].columns.items;
    return m->idents[id].columns.n;
}
