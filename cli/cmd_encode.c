/*
 * rapporteur CLI: `rapporteur encode`, the agency-side step of privacy-preserving
 * linkage. Reads an agency file through its mapping (case attributes and the mapping's
 * "identifiers"), normalises and encodes the identifiers into keyed Bloom filters and
 * blocking keys (include/rapporteur/encode.h), and writes a submission that holds no
 * name, birth date, document number or case reference: pseudonymous ids, encodings,
 * blocking keys and the case attributes of the data standard.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */
#include "common/common_int.h"
#include "encode/encode_int.h"
#include "encode/submission_int.h"

#include <rapporteur/data.h>
#include <rapporteur/encode.h>
#include <rapporteur/rapporteur.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CMD_NAME "encode"

#ifndef RP_DATADIR
#    define RP_DATADIR "data"
#endif

enum {
    OPT_MAPPING = RP_CLI_OPT_FIRST,
    OPT_SECRET,
    OPT_OUT,
    OPT_SCHEMA,
    OPT_EQUIV,
    OPT_ENCODING,
    OPT_DELIMITER,
    OPT_STRICT_DATES
};

static const struct option longopts[] = {RP_CLI_COMMON_LONGOPTS,
                                         {"mapping", required_argument, NULL, OPT_MAPPING},
                                         {"secret", required_argument, NULL, OPT_SECRET},
                                         {"out", required_argument, NULL, OPT_OUT},
                                         {"schema", required_argument, NULL, OPT_SCHEMA},
                                         {"equivalents", required_argument, NULL, OPT_EQUIV},
                                         {"encoding", required_argument, NULL, OPT_ENCODING},
                                         {"delimiter", required_argument, NULL, OPT_DELIMITER},
                                         {"strict-dates", no_argument, NULL, OPT_STRICT_DATES},
                                         {NULL, 0, NULL, 0}};

typedef struct args {
    const char *mapping;
    const char *secret;
    const char *out;
    const char *schema;
    const char *equiv;
    bool strict_dates;
    rp_reader_opts reader;
} args;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur encode FILE --mapping MAP.json --secret KEY --out SUBMISSION\n"
            "                         [--schema SCHEMA.json] [--strict-dates]\n"
            "                         [--equivalents FILE] [--encoding ENC] [--delimiter C]\n"
            "                         [--json] [--quiet]\n"
            "\n"
            "Encode an agency file for privacy-preserving linkage, on the agency's machine.\n"
            "The mapping's \"identifiers\" (names, birth date, document, address) are\n"
            "normalised (names transliterated to one canonical Latin form) and encoded into\n"
            "keyed Bloom filters (CLKs) and keyed blocking keys with the linkage secret;\n"
            "the submission holds only those, a pseudonymous id per record and the case\n"
            "attributes of the data standard: no name, birth date, document number, address\n"
            "or case reference (docs/encoding.md).\n"
            "Rows that break the data standard are set aside and reported by line and\n"
            "column (never by value); the others are encoded. A row without a name needs a\n"
            "document number of at least 5 letters or digits, or a complete birth date and\n"
            "an address with letters; else it is set aside. A birth date with the shape of\n"
            "its format but a month or day out of range keeps its valid leading parts (the\n"
            "year, or the year and month) with a warning; one of no format's shape is set\n"
            "aside. An address too long is cut at a word boundary, with a warning.\n"
            "\n"
            "Options:\n"
            "  --mapping MAP.json   the agency's mapping, with its \"identifiers\"\n"
            "  --secret KEY         the linkage secret ('rapporteur keygen --secret'; mode 0600)\n"
            "  --out FILE           the submission (JSON Lines, mode 0600; then 'rapporteur\n"
            "                       seal' it to the hub)\n"
            "  --schema FILE        encoding schema (JSON; default: the defaults of\n"
            "                       docs/encoding.md). The schema used is in the submission.\n"
            "  --equivalents FILE   name-equivalence table (default %s/names/equivalents.csv)\n"
            "  --encoding ENC       CSV encoding, an iconv name (default UTF-8)\n"
            "  --delimiter C        CSV delimiter: one character or 'tab' (default: detected)\n"
            "  --strict-dates       set aside rows whose birth date cannot be read in full\n"
            "                       (default: keep its valid parts, with a warning)\n"
            "  --json               print {\"read\", \"encoded\", \"set_aside\", \"warnings\",\n"
            "                       \"dates_read_in_part\", \"addresses_cut\",\n"
            "                       \"format_warning\", \"out\", \"key_id\", \"bits\"}\n"
            "  -q, --quiet          no summary and no progress bar\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 every row encoded (warnings or not), 1 runtime error, 2 usage,\n"
            "3 rows set aside (the rest encoded), 4 I/O or a key file that group or others\n"
            "can read, 65 unusable input file, mapping or schema.\n",
            RP_DATADIR);
}

static int apply(int opt, const char *value, const char *name, void *payload)
{
    args *a = payload;
    switch (opt) {
    case OPT_MAPPING:
        a->mapping = value;
        return -1;
    case OPT_SECRET:
        a->secret = value;
        return -1;
    case OPT_OUT:
        a->out = value;
        return -1;
    case OPT_SCHEMA:
        a->schema = value;
        return -1;
    case OPT_EQUIV:
        a->equiv = value;
        return -1;
    case OPT_ENCODING:
        a->reader.encoding = value;
        return -1;
    case OPT_STRICT_DATES:
        a->strict_dates = true;
        return -1;
    case OPT_DELIMITER:
        if (strcmp(value, "tab") == 0)
            a->reader.delimiter = '\t';
        else if (strlen(value) == 1)
            a->reader.delimiter = value[0];
        else
            return rp_cli_usage_error(CMD_NAME, "%s: expected one character or 'tab'", name);
        return -1;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

/* 16 lower-case hex digits (as rp_encoder_pseudonym() writes them) as a number. */
static uint64_t hex16(const char *s)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
}

/* The first 16 hex digits of a pseudonym as a number: the record's BLIP seed, stable
   for one record whatever the order of the file. */
static uint64_t seed_of(const char *pseudo)
{
    return hex16(pseudo);
}

/* A pseudonym as its 128 bits (the first half is its seed_of()); 0, 0: a free slot. */
typedef struct seen_slot {
    uint64_t hi, lo;
} seen_slot;

/* Read identifier @p id of a row into @p out ("" when not mapped or missing). */
static int ident(const rp_mapping *m,
                 rp_ident id,
                 const char *const *row,
                 size_t n,
                 char *out,
                 size_t size,
                 rp_error *err)
{
    out[0] = '\0';
    if (rp_mapping_ident_column(m, id) == NULL)
        return RP_OK;
    return rp_mapping_ident_read(m, id, row, n, out, size, err);
}

/* Bytes of one identifier buffer; the row's buffers live in one guarded allocation. */
#define ID_BYTES ((size_t)RP_NAME_MAX)

/* The guarded buffer: names raw and normalised (6), document, address raw and
   normalised. */
#define BUF_BYTES (9 * ID_BYTES)

/* A row without a name needs a document number of at least this many canonical letters
   and digits: the bar of the document blocking key (RP_BLOCK_DOCUMENT, src/encode/
   blocking.c), under which numbers are too short to tell people apart. */
#define NAMELESS_DOC_MIN_CHARS 5

/* The summary warning that the birth date "format" may be wrong: more than this percent
   of the rows read, and at least this many rows, had a birth date read in part. */
#define SUSPECT_FORMAT_PERCENT  1
#define SUSPECT_FORMAT_MIN_ROWS 10
/* rows set aside for an unreadable birth date: a wrong format fails most rows, while
   damaged dates under --strict-dates are a few percent (1.3% of FEBRL4's b.csv) */
#define SUSPECT_UNREADABLE_PERCENT 10

/* Everything one `encode` run holds. */
typedef struct job {
    args a;
    const char *in;
    rp_cli_common common;
    rp_error err;
    rp_encoder *enc;
    rp_normaliser *norm;
    rp_mapping *map;
    rp_reader *rd;
    rp_sub_writer *w;
    uint64_t *clk, *fields;
    char *buf; /* sodium_malloc'd, BUF_BYTES: the raw and normalised identifiers of a row */
    char birth[16];
    rp_issue_list issues;
    rp_cli_progress_state ps;
    bool family_first;
    long n_read, n_encoded, n_aside;
    long n_warnings;           /* warnings printed, all on rows encoded */
    long n_dates_partial;      /* of them: birth dates read in part */
    long n_dates_unreadable;   /* rows set aside for a birth date that fits no format */
    bool row_date_unreadable;  /* the current row's birth date fits no format */
    long n_addr_cut;           /* of them: addresses cut to fit */
    char why[400];             /* why a row is set aside, when it is built here */
    char list[RP_DATA_ID_MAX]; /* the list code of the submission (its first record's) */
    seen_slot *seen;           /* pseudonyms written so far: open addressing, 2^k slots */
    size_t n_seen, cap_seen;
    bool seen_zero; /* the pseudonym of 32 zeros, which has no slot, was written */
} job;

/*
 * Remember @p pseudo, whose seed_of() is @p seed; false when it was written before (a
 * repeated case reference). Pseudonyms are kept as their 128 bits: two are equal exactly
 * when their 32 lower-case hex digits are. 16 bytes a slot, since the probe of a large
 * table misses the cache once a row.
 */
static int seen_add(job *j, const char *pseudo, uint64_t seed, bool *fresh)
{
    seen_slot s = {seed, hex16(pseudo + 16)};
    if (s.hi == 0 && s.lo == 0) {
        *fresh = !j->seen_zero;
        j->seen_zero = true;
        return RP_OK;
    }
    if (2 * (j->n_seen + 1) > j->cap_seen) {
        size_t cap = j->cap_seen ? 2 * j->cap_seen : 1024;
        seen_slot *t = rp_calloc(cap, sizeof *t);
        if (t == NULL)
            return RP_ENOMEM;
        for (size_t i = 0; i < j->cap_seen; i++) {
            if (j->seen[i].hi == 0 && j->seen[i].lo == 0)
                continue;
            size_t h = (size_t)j->seen[i].hi & (cap - 1);
            while (t[h].hi != 0 || t[h].lo != 0)
                h = (h + 1) & (cap - 1);
            t[h] = j->seen[i];
        }
        rp_free(j->seen);
        j->seen = t;
        j->cap_seen = cap;
    }
    size_t h = (size_t)seed & (j->cap_seen - 1);
    while (j->seen[h].hi != 0 || j->seen[h].lo != 0) {
        if (j->seen[h].hi == s.hi && j->seen[h].lo == s.lo) {
            *fresh = false;
            return RP_OK;
        }
        h = (h + 1) & (j->cap_seen - 1);
    }
    j->seen[h] = s;
    j->n_seen++;
    *fresh = true;
    return RP_OK;
}

/* The schema: the defaults, or --schema FILE. RP_OK or a status with j->err set. */
static int load_schema(job *j, rp_enc_schema *schema)
{
    rp_enc_schema_default(schema);
    if (j->a.schema == NULL)
        return RP_OK;
    char *text = NULL;
    size_t len = 0;
    int rc = rp_x_read_file(&text, &len, j->a.schema, (size_t)1 << 20, &j->err);
    if (rc == RP_OK) {
        rc = rp_enc_schema_parse(schema, text, len, &j->err);
        if (rc != RP_OK && j->err.path[0] == '\0')
            snprintf(j->err.path, sizeof j->err.path, "%s", j->a.schema);
    }
    rp_free(text);
    return rc;
}

/* Keys, encoder, normaliser, mapping, reader and writer. */
static int open_all(job *j)
{
    rp_enc_schema schema;
    int rc = load_schema(j, &schema);
    if (rc != RP_OK)
        return rc;
    rp_secret *secret = NULL;
    rc = rp_secret_load(&secret, j->a.secret, &j->err);
    if (rc == RP_OK)
        rc = rp_encoder_new(&j->enc, &schema, secret, &j->err);
    rp_secret_free(secret); /* the encoder keeps only derived keys */
    if (rc != RP_OK)
        return rc;
    char equiv[4096];
    if (j->a.equiv == NULL) {
        const char *env = getenv("RAPPORTEUR_DATA");
        snprintf(equiv, sizeof equiv, "%s/names/equivalents.csv",
                 env != NULL && env[0] ? env : RP_DATADIR);
        j->a.equiv = equiv;
    }
    rc = rp_normaliser_new(&j->norm, j->a.equiv, &j->err);
    j->a.equiv = NULL; /* was borrowed from this frame */
    if (rc == RP_OK)
        rc = rp_mapping_load(&j->map, j->a.mapping, &j->err);
    if (rc != RP_OK)
        return rc;
    bool any = false;
    for (int i = 0; i < RP_IDENT_COUNT; i++)
        any = any || rp_mapping_ident_column(j->map, (rp_ident)i) != NULL;
    if (!any)
        return rp_error_set_at(&j->err, RP_EDATA, j->a.mapping, 0, 0,
                               "the mapping names no identifier under \"identifiers\": "
                               "nothing to encode");
    rc = rp_reader_open(&j->rd, j->in, &j->a.reader, &j->err);
    if (rc != RP_OK)
        return rc;
    const char *const *cols = NULL;
    size_t n_cols = rp_reader_columns(j->rd, &cols);
    rc = rp_mapping_bind(j->map, cols, n_cols, &j->err);
    if (rc != RP_OK) {
        if (j->err.path[0] == '\0')
            snprintf(j->err.path, sizeof j->err.path, "%s", j->in);
        return rc;
    }
    j->family_first = rp_mapping_full_name_family_first(j->map);
    const rp_enc_schema *used = rp_encoder_schema(j->enc);
    size_t words = rp_enc_schema_bits(used) / 64;
    j->clk = rp_calloc(words * (1 + RP_ENC_FIELD_COUNT), sizeof *j->clk);
    j->buf = sodium_malloc(BUF_BYTES);
    if (j->clk == NULL || j->buf == NULL)
        return rp_error_set(&j->err, RP_ENOMEM, "out of memory");
    j->fields = used->field_filters ? j->clk + words : NULL;
    return RP_OK; /* the writer opens at the first record, which gives the list code */
}

/* The names of one row, raw then normalised, into j->buf. */
static int read_names(job *j, const char *const *row, size_t nf, const char *lang, rp_error *ierr)
{
    char *g_raw = j->buf, *f_raw = j->buf + ID_BYTES, *p_raw = j->buf + 2 * ID_BYTES;
    char *g = j->buf + 3 * ID_BYTES, *f = j->buf + 4 * ID_BYTES, *pa = j->buf + 5 * ID_BYTES;
    int rc;
    if (rp_mapping_ident_column(j->map, RP_IDENT_FULL_NAME) != NULL) {
        rc = ident(j->map, RP_IDENT_FULL_NAME, row, nf, g_raw, ID_BYTES, ierr);
        if (rc == RP_OK)
            rc = rp_normalise_full_name(j->norm, g_raw, j->family_first, lang, g, ID_BYTES, f,
                                        ID_BYTES, ierr);
    } else {
        rc = ident(j->map, RP_IDENT_GIVEN_NAME, row, nf, g_raw, ID_BYTES, ierr);
        if (rc == RP_OK)
            rc = ident(j->map, RP_IDENT_FAMILY_NAME, row, nf, f_raw, ID_BYTES, ierr);
        if (rc == RP_OK)
            rc = rp_normalise_name(j->norm, g_raw, lang, g, ID_BYTES, ierr);
        if (rc == RP_OK)
            rc = rp_normalise_name(j->norm, f_raw, lang, f, ID_BYTES, ierr);
    }
    if (rc == RP_OK)
        rc = ident(j->map, RP_IDENT_PATRONYMIC, row, nf, p_raw, ID_BYTES, ierr);
    if (rc == RP_OK)
        rc = rp_normalise_name(j->norm, p_raw, lang, pa, ID_BYTES, ierr);
    return rc;
}

/*
 * The birth date of a row into j->birth: read in full or set aside (--strict-dates), or
 * its readable leading parts kept with *@p warning filled (see
 * rp_mapping_ident_read_partial).
 */
static int read_birth(job *j, const char *const *row, size_t nf, rp_issue *warning, rp_error *ierr)
{
    if (j->a.strict_dates)
        return ident(j->map, RP_IDENT_BIRTH_DATE, row, nf, j->birth, sizeof j->birth, ierr);
    return rp_mapping_ident_read_partial(j->map, RP_IDENT_BIRTH_DATE, row, nf, j->birth,
                                         sizeof j->birth, warning, ierr);
}

/* The number of canonical letters and digits of document number @p doc (0 when it
   cannot be read: it is then no help in telling people apart). */
static size_t document_chars(const char *doc)
{
    if (doc[0] == '\0')
        return 0;
    char canon[RP_ENC_DOC_MAX];
    size_t n_chars = 0;
    rp_error scratch;
    rp_error_clear(&scratch);
    if (rp_encode__document_canon(doc, canon, &n_chars, &scratch) != RP_OK)
        n_chars = 0;
    sodium_memzero(canon, sizeof canon);
    return n_chars;
}

/* True when the normalised address @p addr has a letter (not only house numbers and
   postcodes, which many people share). */
static bool has_letter(const char *addr)
{
    for (const char *c = addr; *c; c++)
        if (*c >= 'a' && *c <= 'z')
            return true;
    return false;
}

/*
 * True when a row can be encoded: it has a given or family name, or, without one,
 * enough else to tell
 * one person from another: a document number of at least NAMELESS_DOC_MIN_CHARS letters
 * and digits, or two of a complete birth date, such a document number and an address
 * with letters. A birth year alone, a house number alone or an address alone would give
 * two different people the same encoding (Dice 1.0), a false link that biases the
 * estimate down. Else false, with the reason in j->why (what is missing, never a value).
 */
static bool enough_to_encode(job *j, const rp_enc_identifiers *id)
{
    /* a patronymic alone is shared by too many (every Ivanovna) to count as a name */
    if (id->given[0] || id->family[0])
        return true;
    bool doc = document_chars(id->document) >= NAMELESS_DOC_MIN_CHARS;
    bool date = id->birth.year && id->birth.month && id->birth.day;
    bool addr = has_letter(id->address);
    if (doc || (int)date + (int)doc + (int)addr >= 2)
        return true;
    char doc_text[64];
    snprintf(doc_text, sizeof doc_text, "a document number of at least %d letters or digits",
             NAMELESS_DOC_MIN_CHARS);
    const char *missing[3] = {doc_text, "", ""};
    size_t n = 1;
    if (!date)
        missing[n++] = "a complete birth date (year, month and day)";
    if (!addr)
        missing[n++] = "an address with letters";
    char list[200]; /* n is 2 or 3: a document number alone would do */
    if (n == 2)
        snprintf(list, sizeof list, "%s and %s", missing[0], missing[1]);
    else
        snprintf(list, sizeof list, "%s, %s and %s", missing[0], missing[1], missing[2]);
    snprintf(j->why, sizeof j->why,
             "no given or family name, and too little else to tell people apart: missing %s (a "
             "row without a name needs such a document number, or a complete birth date and "
             "an address with letters)",
             list);
    return false;
}

/* The address warning of a row whose normalised address was too long: words cut. */
static void address_cut_warning(rp_issue *warning)
{
    memset(warning, 0, sizeof *warning); /* column 0: the row's, not a column's */
    snprintf(warning->column_name, sizeof warning->column_name, "%s",
             rp_ident_name(RP_IDENT_ADDRESS));
    snprintf(warning->rule, sizeof warning->rule, "length");
    snprintf(warning->message, sizeof warning->message,
             "the normalised address is longer than %zu bytes: cut at a word boundary",
             ID_BYTES - 1);
}

/*
 * The address of a row, raw then normalised, into j->buf. A raw address too long for its
 * buffer is cut at a word boundary (rp_mapping_ident_read_partial); one whose normalised
 * form would be too long (transliteration and NFKC lengthen some text) loses its last
 * words until it fits. Either fills *@p warning.
 */
static int
read_address(job *j, const char *const *row, size_t nf, rp_issue *warning, rp_error *ierr)
{
    char *raw = j->buf + 7 * ID_BYTES, *addr = j->buf + 8 * ID_BYTES;
    raw[0] = '\0';
    int rc = RP_OK;
    if (rp_mapping_ident_column(j->map, RP_IDENT_ADDRESS) != NULL)
        rc = rp_mapping_ident_read_partial(j->map, RP_IDENT_ADDRESS, row, nf, raw, ID_BYTES,
                                           warning, ierr);
    bool v1 = rp_encoder_schema(j->enc)->normalise_version < 2;
    for (bool again = rc == RP_OK; again;) {
        /* an address is in the place's language, not the person's: no lang. It keeps its
           house number and postcode, except under a schema of normalise_version 1, whose
           encodings dropped them (and must still match) */
        if (v1)
            rc = rp_normalise_name(j->norm, raw, NULL, addr, ID_BYTES, ierr);
        else
            rc = rp_normalise_address(j->norm, raw, NULL, addr, ID_BYTES, ierr);
        /* RP_EINVAL on valid UTF-8: the normalised form does not fit; drop the last word */
        size_t len = strlen(raw);
        again = rc == RP_EINVAL && rp_x_utf8_check((const unsigned char *)raw, len) == len;
        if (!again)
            break;
        size_t cut = len;
        while (cut > 0 && raw[cut - 1] != ' ')
            cut--;
        while (cut > 0 && raw[cut - 1] == ' ')
            cut--;
        sodium_memzero(raw + cut, len - cut);
        if (cut == 0) /* one word, too long however normalised */
            break;
        if (warning->rule[0] == '\0')
            address_cut_warning(warning);
        rp_error_clear(ierr);
    }
    return rc;
}

/*
 * The identifiers of one valid row into @p id (pointing into j->buf). RP_OK; RP_EDATA
 * when the row must be set aside, with *@p why the reason to report (it names the
 * column, never the value); RP_ENOMEM with j->err set. @p date_warning and
 * @p addr_warning are cleared, then set for a birth date read in part and an address
 * cut to fit. Prints nothing.
 */
static int read_identifiers(job *j,
                            const char *const *row,
                            size_t nf,
                            const rp_case_record *rec,
                            rp_enc_identifiers *id,
                            rp_issue *date_warning,
                            rp_issue *addr_warning,
                            rp_error *ierr,
                            const char **why)
{
    *why = NULL;
    date_warning->rule[0] = '\0';
    addr_warning->rule[0] = '\0';
    const char *lang = rec->citizenship_state == RP_STATE_KNOWN
                           ? rp_enc_lang_of_citizenship(rec->citizenship)
                           : NULL;
    char *doc = j->buf + 6 * ID_BYTES;
    int rc = read_names(j, row, nf, lang, ierr);
    j->row_date_unreadable = false;
    if (rc == RP_OK) {
        rc = read_birth(j, row, nf, date_warning, ierr);
        j->row_date_unreadable = rc == RP_EDATA;
    }
    if (rc == RP_OK)
        rc = rp_birth_date_parse(&id->birth, j->birth);
    if (rc == RP_OK)
        rc = ident(j->map, RP_IDENT_DOCUMENT_NUMBER, row, nf, doc, ID_BYTES, ierr);
    if (rc == RP_OK)
        rc = read_address(j, row, nf, addr_warning, ierr);
    if (rc == RP_ENOMEM) {
        j->err = *ierr;
        return rc;
    }
    if (rc != RP_OK) {
        *why = ierr->msg[0] ? ierr->msg : "unreadable identifier";
        return RP_EDATA;
    }
    id->given = j->buf + 3 * ID_BYTES;
    id->family = j->buf + 4 * ID_BYTES;
    id->patronymic = j->buf + 5 * ID_BYTES;
    id->document = doc;
    id->address = j->buf + 8 * ID_BYTES;
    id->sex = rec->sex;
    id->lang = lang;
    if (!enough_to_encode(j, id)) {
        *why = j->why;
        return RP_EDATA;
    }
    return RP_OK;
}

/* Print warning @p w of the row at @p line, when there is one, and count it. */
static void warn_row(job *j, const rp_issue *w, long line)
{
    if (w->rule[0] == '\0')
        return;
    /* names the column and what was expected, never the value */
    if (w->column > 0)
        fprintf(stderr, "rapporteur: %s:%ld:%ld: warning: %s: %s\n", j->in, line, w->column,
                w->column_name, w->message);
    else
        fprintf(stderr, "rapporteur: %s:%ld: warning: %s: %s\n", j->in, line, w->column_name,
                w->message);
    j->n_warnings++;
}

/* One row: validate, read the identifiers, encode, write. RP_OK, RP_EDATA (set aside). */
static int encode_row(job *j, const char *const *row, size_t nf, long line)
{
    rp_case_record rec;
    rp_issue_list_clear(&j->issues);
    int rc = rp_mapping_apply(&rec, &j->issues, j->map, row, nf, line, &j->err);
    if (rc == RP_ENOMEM)
        return rc;
    if (rc != RP_OK) {
        for (size_t i = 0; i < j->issues.n; i++)
            fprintf(stderr, "rapporteur: %s:%ld:%ld: set aside: %s: %s (%s)\n", j->in,
                    j->issues.v[i].line, j->issues.v[i].column, j->issues.v[i].column_name,
                    j->issues.v[i].message, j->issues.v[i].rule);
        return RP_EDATA;
    }
    /* one submission holds one list */
    if (j->list[0] == '\0') {
        snprintf(j->list, sizeof j->list, "%s", rec.list);
        rc = rp_sub_writer_open(&j->w, j->a.out, j->list, rp_encoder_schema(j->enc), &j->err);
        if (rc != RP_OK)
            return rc == RP_EINVAL ? RP_EPARSE : rc;
    } else if (strcmp(j->list, rec.list) != 0) {
        fprintf(stderr,
                "rapporteur: %s:%ld: set aside: the row is on another list than the first row "
                "(one submission holds one list: split the file)\n",
                j->in, line);
        return RP_EDATA;
    }
    /* The pseudonym: a keyed hash of the case reference, or of the line when the agency
       gives none; a case reference seen before is set aside, as import does, so that
       every record has its own pseudonym (and its own BLIP noise). */
    char ref[RP_DATA_ID_MAX + 24];
    if (rec.case_id[0] != '\0')
        rp_x_strlcpy(ref, rec.case_id, sizeof ref);
    else
        snprintf(ref, sizeof ref, "\x01line:%ld", line);
    char pseudo[33];
    rp_encoder_pseudonym(j->enc, rec.list, ref, pseudo);
    uint64_t seed = seed_of(pseudo);
    bool fresh = true;
    rc = seen_add(j, pseudo, seed, &fresh);
    if (rc != RP_OK)
        return rp_error_set(&j->err, RP_ENOMEM, "out of memory");
    if (!fresh) {
        fprintf(stderr,
                "rapporteur: %s:%ld: set aside: the case reference repeats an earlier row's "
                "(duplicate)\n",
                j->in, line);
        return RP_EDATA;
    }
    rp_enc_identifiers id;
    memset(&id, 0, sizeof id);
    rp_error ierr; /* cleared field by field: RP_ERROR_INIT copies its 800 bytes every row */
    rp_error_clear(&ierr);
    const char *why = NULL;
    rp_issue date_warning, addr_warning;
    rc = read_identifiers(j, row, nf, &rec, &id, &date_warning, &addr_warning, &ierr, &why);
    if (rc == RP_EDATA) { /* the message names the column, never the value */
        fprintf(stderr, "rapporteur: %s:%ld: set aside: %s\n", j->in, line, why);
        j->n_dates_unreadable += j->row_date_unreadable;
    }
    if (rc == RP_OK) {
        rp_enc_blocking bk;
        rc = rp_encoder_encode(j->enc, &id, seed, j->clk, j->fields, &bk, &j->err);
        /* the case reference is replaced by the pseudonym */
        rec.case_id[0] = '\0';
        rec.person_id[0] = '\0';
        /* rp_mapping_apply() validated rec: the writer need not do it again */
        if (rc == RP_OK)
            rc = rp_encode__sub_writer_add_valid(j->w, pseudo, j->clk, j->fields, &bk, &rec,
                                                 &j->err);
    }
    /* warnings only for rows encoded: a row set aside has its own message */
    if (rc == RP_OK) {
        j->n_dates_partial += date_warning.rule[0] != '\0';
        j->n_addr_cut += addr_warning.rule[0] != '\0';
        warn_row(j, &date_warning, line);
        warn_row(j, &addr_warning, line);
    }
    sodium_memzero(j->buf, BUF_BYTES);
    sodium_memzero(j->birth, sizeof j->birth);
    return rc;
}

/* Every row of the input. */
static int encode_rows(job *j)
{
    for (;;) {
        const char *const *row = NULL;
        size_t nf = 0;
        long line = 0;
        int got = rp_reader_next(j->rd, &row, &nf, &line, &j->err);
        if (got <= 0)
            return got;
        j->n_read++;
        if ((j->n_read & 1023) == 0)
            rp_cli_progress((size_t)(rp_reader_progress(j->rd) * 1000.0), 1000, &j->ps);
        int rc = encode_row(j, row, nf, line);
        if (rc == RP_EDATA) {
            j->n_aside++;
            continue;
        }
        if (rc != RP_OK)
            return rc;
        j->n_encoded++;
    }
}

/* True when @p n rows of @p read are "many": more than @p percent percent and at least
   SUSPECT_FORMAT_MIN_ROWS. */
static bool suspect_count(long n, long read, long percent)
{
    return n >= SUSPECT_FORMAT_MIN_ROWS && n * 100 > read * percent;
}

/*
 * The summary warning that the birth date "format" of the mapping may be wrong, into
 * @p buf: when more than SUSPECT_FORMAT_PERCENT percent of the rows had a birth date
 * read in part, or more than SUSPECT_UNREADABLE_PERCENT percent were set aside for a
 * birth date that could not be read (at least SUSPECT_FORMAT_MIN_ROWS rows either way). @return
 * false (and "") when there is none.
 */
static bool suspect_format(const job *j, char *buf, size_t size)
{
    buf[0] = '\0';
    const char *col = rp_mapping_ident_column(j->map, RP_IDENT_BIRTH_DATE);
    const char *hint = "so many suggest that the mapping's birth_date \"format\" is not the "
                       "file's; check it against a few rows of the file before sending the "
                       "submission";
    if (suspect_count(j->n_dates_partial, j->n_read, SUSPECT_FORMAT_PERCENT)) {
        snprintf(
            buf, size, "%ld of %ld rows (%.1f%%) have a birth date read in part (column '%s'): %s",
            j->n_dates_partial, j->n_read, 100.0 * (double)j->n_dates_partial / (double)j->n_read,
            col != NULL ? col : "", hint);
        return true;
    }
    if (suspect_count(j->n_dates_unreadable, j->n_read, SUSPECT_UNREADABLE_PERCENT)) {
        snprintf(buf, size,
                 "%ld of %ld rows (%.1f%%) were set aside for a birth date that could not be read "
                 "(column '%s'): %s",
                 j->n_dates_unreadable, j->n_read,
                 100.0 * (double)j->n_dates_unreadable / (double)j->n_read, col != NULL ? col : "",
                 hint);
        return true;
    }
    return false;
}

static int report(job *j)
{
    const rp_enc_schema *used = rp_encoder_schema(j->enc);
    int status = j->n_aside > 0 ? RP_EXIT_VALIDATION : RP_EXIT_OK;
    char suspect[512];
    bool has_suspect = suspect_format(j, suspect, sizeof suspect);
    /* on stderr under --json too, after the row warnings it sums up */
    if (has_suspect)
        fprintf(stderr, "rapporteur: %s: WARNING: %s\n", j->in, suspect);
    if (j->common.json) {
        json_t *root = json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:s, s:s, s:i}", "read", (json_int_t)j->n_read,
            "encoded", (json_int_t)j->n_encoded, "set_aside", (json_int_t)j->n_aside, "warnings",
            (json_int_t)j->n_warnings, "dates_read_in_part", (json_int_t)j->n_dates_partial,
            "addresses_cut", (json_int_t)j->n_addr_cut, "format_warning",
            has_suspect ? json_string(suspect) : json_null(), "out", j->a.out, "key_id",
            used->key_id, "bits", (int)rp_enc_schema_bits(used));
        if (root == NULL || rp_cli_json_print(root, &j->err) != RP_OK)
            status = RP_EXIT_IO;
        json_decref(root);
    } else if (!j->common.quiet) {
        printf("Encoded %ld of %ld records into %s (%u-bit CLKs, key id %s)", j->n_encoded,
               j->n_read, j->a.out, rp_enc_schema_bits(used), used->key_id);
        if (j->n_aside > 0)
            printf("; %ld set aside (see the messages above)", j->n_aside);
        if (j->n_dates_partial > 0)
            printf("; %ld %s read in part", j->n_dates_partial,
                   j->n_dates_partial == 1 ? "birth date" : "birth dates");
        if (j->n_addr_cut > 0)
            printf("; %ld %s cut to fit", j->n_addr_cut,
                   j->n_addr_cut == 1 ? "address" : "addresses");
        if (j->n_warnings > 0)
            printf(" (see the warnings above)");
        printf("\n");
    }
    return status;
}

int cmd_encode(int argc, char **argv)
{
    job j;
    memset(&j, 0, sizeof j);
    j.a.reader = (rp_reader_opts)RP_READER_OPTS_INIT;
    j.err = (rp_error)RP_ERROR_INIT;
    j.issues = (rp_issue_list)RP_ISSUE_LIST_INIT;
    int status = rp_cli_parse_opts(&j.common, CMD_NAME, argc, argv, longopts, usage, apply, &j.a);
    if (status != -1)
        return status;
    if (optind != argc - 1)
        return rp_cli_usage_error(CMD_NAME, "expected one input FILE");
    if (j.a.mapping == NULL || j.a.secret == NULL || j.a.out == NULL)
        return rp_cli_usage_error(CMD_NAME, "--mapping, --secret and --out are required");
    j.in = argv[optind];
    struct stat sb;
    if (lstat(j.a.out, &sb) == 0) {
        /* never overwrite: the output could be the input, a key file, or last year's
           submission */
        rp_error xerr = RP_ERROR_INIT;
        rp_error_set_at(&xerr, RP_EIO, j.a.out, 0, 0,
                        "already exists; remove it or choose another --out");
        return rp_cli_report(&xerr, j.common.json);
    }
    j.ps =
        (rp_cli_progress_state){.enabled = rp_cli_progress_wanted(j.common.quiet || j.common.json),
                                .label = "encode",
                                .last_percent = -1,
                                .drawn = false};
    int rc = open_all(&j);
    if (rc == RP_OK)
        rc = encode_rows(&j);
    rp_cli_progress_end(&j.ps);
    if (rc == RP_OK && j.w == NULL) {
        rc = rp_error_set_at(&j.err, RP_EDATA, j.in, 0, 0, "no record could be encoded");
    }
    if (rc == RP_OK) {
        rc = rp_sub_writer_close(j.w, &j.err);
        j.w = NULL;
    }
    if (rc == RP_OK) {
        status = report(&j);
    } else {
        status = rp_cli_report(&j.err, j.common.json);
        /* a file, mapping or schema that cannot be used is bad input data */
        if (rc == RP_EPARSE || rc == RP_EDATA || (rc == RP_EINVAL && j.w == NULL && j.enc == NULL))
            status = RP_EXIT_DATAERR;
    }
    rp_sub_writer_abort(j.w);
    rp_free(j.seen);
    if (j.buf != NULL)
        sodium_free(j.buf);
    rp_free(j.clk);
    rp_issue_list_release(&j.issues);
    rp_reader_free(j.rd);
    rp_mapping_free(j.map);
    rp_normaliser_free(j.norm);
    rp_encoder_free(j.enc);
    return status;
}
