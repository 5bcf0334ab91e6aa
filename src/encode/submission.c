/*
 * Submission files: what leaves an agency. JSON Lines: a header line (format, version,
 * list, writer, bits, encoding schema), one line per record (pseudonym, CLK, optional
 * field filters, keyed blocking keys, the non-identifying case attributes of the data
 * standard) and an end line {"end": N, "blake2b": ...} that lets a reader detect a
 * truncated or damaged file. docs/encoding.md, "Submission files and sealing", is the
 * specification; this file is its writer and its strict, streaming reader.
 */
#include "encode/encode_int.h"
#include "encode/submission_int.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>

/* ==== the format ==== */

#define SUB_FORMAT  "rapporteur-submission"
#define SUB_VERSION 1

/* Keys of the end line; a record has "id" instead of END_KEY. */
#define END_KEY "end"

/*
 * The end line's checksum: unkeyed BLAKE2b with a 32-byte digest (libsodium
 * crypto_generichash; `b2sum -l 256`), about three times as fast as SHA-256 here.
 */
#define DIGEST_KEY   "blake2b"
#define DIGEST_BYTES 32

#define PSEUDONYM_LEN 32

/* Names of the blocking rules, the prefix of every key in "blocks". */
static const char *const block_rule_names[RP_BLOCK_RULE_COUNT] = {"family_year", "given_date",
                                                                  "names", "lsh", "document"};

/*
 * The case attributes a submission carries: every field of the standard but list,
 * case_id and person_id (the list is in the header, the case id becomes the pseudonym,
 * a person id exists only after linkage).
 */
#define ATTR_FIRST RP_FIELD_REGISTRATION_YEAR
#define ATTR_LAST  RP_FIELD_RECRUITER_RELATION

static const char hex_digits[] = "0123456789abcdef";

/* True when @p s is exactly PSEUDONYM_LEN lower-case hex digits. */
static bool is_pseudonym(const char *s, size_t len)
{
    if (len != PSEUDONYM_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* True for a usable list code: 1..RP_DATA_ID_MAX-1 printable ASCII bytes. */
static bool is_list_code(const char *s)
{
    size_t len = strnlen(s, RP_DATA_ID_MAX);
    if (len == 0 || len == RP_DATA_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            return false;
    }
    return true;
}

/* True when @p key is @p name (NULL: no name, never equal). */
static bool name_is(const char *key, const char *name)
{
    return name != NULL && strcmp(key, name) == 0;
}

/* True when every field the schema uses has a JSON name (a bug otherwise). */
static bool used_fields_named(const rp_enc_schema *s)
{
    for (int f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        if (s->fields[f].used && RP_NEVER(rp_encode__field_name((rp_enc_field)f) == NULL))
            return false;
    }
    return true;
}

/* Characters of the base64 (standard alphabet, padded) of @p n bytes, without the NUL. */
static size_t b64_len(size_t n)
{
    return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) - 1;
}

/* ==== writer: JSON text by hand ==== */

/*
 * The writer builds every line itself, byte by byte, into a buffer sized once for the
 * longest possible line, instead of through Jansson or formatted output: a record then
 * costs little beyond its checksum. The text is what Jansson's compact output
 * (JSON_COMPACT | JSON_PRESERVE_ORDER) would be for the same values, which the unit
 * tests check.
 */

/* Append @p n bytes at @p src. */
static inline char *put_mem(char *p, const void *src, size_t n)
{
    memcpy(p, src, n);
    return p + n;
}

/* Append the text of the string literal @p lit. */
#define PUT_LIT(p, lit) put_mem((p), (lit), sizeof(lit) - 1)

/* Hex digits of the \\u00XX escapes: upper-case, as Jansson writes them. */
static const char hex_upper[] = "0123456789ABCDEF";

size_t rp_encode__json_quote(char *out, const char *s, size_t len)
{
    static const char short_escape[0x20] = {
        ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r'};
    char *p = out;
    *p++ = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *p++ = (char)c;
            continue;
        }
        *p++ = '\\';
        if (c == '"' || c == '\\') {
            *p++ = (char)c;
        } else if (short_escape[c] != 0) {
            *p++ = short_escape[c];
        } else {
            p = PUT_LIT(p, "u00");
            *p++ = hex_upper[c >> 4];
            *p++ = hex_upper[c & 15u];
        }
    }
    *p++ = '"';
    return (size_t)(p - out);
}

/* Append the JSON string of the NUL-terminated @p s (room: RP_JSON_QUOTE_MAX). */
static char *put_str(char *p, const char *s, size_t max)
{
    return p + rp_encode__json_quote(p, s, strnlen(s, max));
}

/* Append the decimal digits of @p v. */
static char *put_int(char *p, int v)
{
    char digits[12];
    size_t n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    do {
        digits[n++] = (char)('0' + u % 10u);
        u /= 10u;
    } while (u != 0);
    if (v < 0)
        *p++ = '-';
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

/* The base64 alphabet (standard, as sodium_base64_VARIANT_ORIGINAL). */
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Tables a writer fills once: the two base64 characters of every 12 bits and the two
 * hex digits of every byte, so that three bytes of a filter cost two look-ups.
 */
typedef struct text_tables {
    char b64_pairs[2 * 4096];
    char hex_pairs[2 * 256];
} text_tables;

static void text_tables_fill(text_tables *t)
{
    for (unsigned v = 0; v < 4096; v++) {
        t->b64_pairs[2 * (size_t)v] = b64_alphabet[v >> 6];
        t->b64_pairs[2 * (size_t)v + 1] = b64_alphabet[v & 63u];
    }
    for (unsigned v = 0; v < 256; v++) {
        t->hex_pairs[2 * (size_t)v] = hex_digits[v >> 4];
        t->hex_pairs[2 * (size_t)v + 1] = hex_digits[v & 15u];
    }
}

/* Append the base64 (standard alphabet, padded) of @p n bytes, in quotes. */
static char *put_base64(char *p, const text_tables *t, const unsigned char *in, size_t n)
{
    size_t i = 0;
    *p++ = '"';
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        memcpy(p, t->b64_pairs + 2 * (size_t)(v >> 12), 2);
        memcpy(p + 2, t->b64_pairs + 2 * (size_t)(v & 0xfffu), 2);
        p += 4;
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        p[0] = b64_alphabet[v >> 18];
        p[1] = b64_alphabet[(v >> 12) & 63u];
        p[2] = (char)(i + 1 < n ? b64_alphabet[(v >> 6) & 63u] : '=');
        p[3] = '=';
        p += 4;
    }
    *p++ = '"';
    return p;
}

/* Append @p v as 16 lower-case hex digits, most significant first. */
static char *put_hex64(char *p, const text_tables *t, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        memcpy(p + 2 * (size_t)i, t->hex_pairs + 2 * (size_t)((v >> (56 - 8 * i)) & 0xffu), 2);
    return p + 16;
}

/* ==== writer ==== */

/* Lines are gathered and written (and hashed) in pieces of about this many bytes. */
#define OUT_FLUSH ((size_t)1 << 16)

/* The case attributes, ATTR_FIRST..ATTR_LAST, and the codes per field a table holds. */
#define ATTR_COUNT (ATTR_LAST - ATTR_FIRST + 1)
#define TOK_CODES  32

/* A piece of JSON text, escaped and quoted, in the writer's pool; len 0: none. */
typedef struct sub_tok {
    uint32_t off, len;
} sub_tok;

struct rp_sub_writer {
    crypto_generichash_state hash; /* of every line written so far (64-byte aligned: first) */
    rp_encode__outfile o;
    rp_enc_schema schema; /* validated copy */
    size_t words;         /* per filter */
    unsigned long long n; /* records added */
    bool failed;          /* a write failed: close removes the file */
    rp_x_buf line;        /* the header and the end line */
    rp_issue_list issues;
    unsigned char *bytes; /* words * 8 */
    char *out;            /* lines not yet written: out_len bytes, room for OUT_FLUSH +
                             line_max */
    size_t out_len;
    size_t line_max; /* longest record line, bytes with the newline */
    text_tables tables;
    rp_x_buf pool;                           /* text of the tokens below */
    sub_tok attr_key[ATTR_COUNT];            /* "name": */
    sub_tok code[ATTR_COUNT][TOK_CODES];     /* "code", by value (CODE) or bit (CODES) */
    sub_tok field_key[RP_ENC_FIELD_COUNT];   /* "given_name": of a used field */
    sub_tok block_rule[RP_BLOCK_RULE_COUNT]; /* "family_year: (open quote, rule, colon) */
    char list[RP_DATA_ID_MAX];
};

void rp_sub_writer_abort(rp_sub_writer *w)
{
    if (w == NULL)
        return;
    rp_encode__out_abort(&w->o);
    rp_x_buf_release(&w->line);
    rp_x_buf_release(&w->pool);
    rp_issue_list_release(&w->issues);
    rp_free(w->bytes);
    rp_free(w->out);
    rp_free(w);
}

/* Write @p len bytes of whole lines and hash them. */
static int write_out(rp_sub_writer *w, const char *data, size_t len, rp_error *err)
{
    if (fwrite(data, 1, len, w->o.f) != len) {
        int e = errno;
        w->failed = true;
        int rc = rp_error_set_at(err, RP_EIO, w->o.path, 0, 0, "cannot write: %s", strerror(e));
        rp_x_error_sys(err, e);
        return rc;
    }
    crypto_generichash_update(&w->hash, (const unsigned char *)data, len);
    return RP_OK;
}

/* Write the gathered record lines. */
static int flush_out(rp_sub_writer *w, rp_error *err)
{
    size_t len = w->out_len;
    w->out_len = 0;
    return len > 0 ? write_out(w, w->out, len, err) : RP_OK;
}

/*
 * Add @p s (@p len bytes; NULL: none) to the pool as a token: the JSON string (without
 * its closing quote when @p open), then @p suffix. @return its length (0 for none, or
 * when out of memory: the pool's sticky failure tells).
 */
static uint32_t
add_tok(rp_sub_writer *w, sub_tok *t, const char *s, size_t len, const char *suffix, bool open)
{
    t->off = (uint32_t)w->pool.len;
    t->len = 0;
    if (s == NULL || rp_x_buf_grow(&w->pool, RP_JSON_QUOTE_MAX(len) + strlen(suffix)) != RP_OK)
        return 0;
    char *p = w->pool.data + w->pool.len;
    size_t n = rp_encode__json_quote(p, s, len);
    if (open)
        n--; /* without the closing quote: the rest of the string follows */
    w->pool.len += n;
    rp_x_buf_puts(&w->pool, suffix);
    t->len = (uint32_t)(w->pool.len - t->off);
    return t->len;
}

/* Larger of @p a and @p b. */
static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/*
 * The tokens of every key and code the record lines use, and from them the longest
 * record line. @return RP_OK; RP_ENOMEM.
 */
static int make_tokens(rp_sub_writer *w, rp_error *err)
{
    rp_case_record r;
    size_t filter = b64_len(w->words * 8) + 2; /* quoted */
    size_t value_max = max_size(12, RP_JSON_QUOTE_MAX(sizeof(r.registration_date)));
    size_t key_max = 0;
    value_max = max_size(value_max, max_size(sizeof("\"unknown\""), RP_JSON_QUOTE_MAX(2)));
    for (int a = 0; a < ATTR_COUNT; a++) {
        rp_field f = (rp_field)(ATTR_FIRST + a);
        const char *name = rp_field_info_get(f)->name;
        key_max = max_size(key_max, add_tok(w, &w->attr_key[a], name, strlen(name), ":", false));
        size_t codes = 2; /* an array of every code */
        for (unsigned v = 0; v < TOK_CODES; v++) {
            const char *code = rp_code_name(f, v);
            codes +=
                add_tok(w, &w->code[a][v], code, code != NULL ? strlen(code) : 0, "", false) + 1;
        }
        value_max = max_size(value_max, codes);
    }
    size_t len = sizeof("{\"id\":,\"clk\":") + RP_JSON_QUOTE_MAX(PSEUDONYM_LEN) + filter;
    if (w->schema.field_filters) {
        len += sizeof(",\"fields\":{}");
        for (int f = 0; f < RP_ENC_FIELD_COUNT; f++) {
            if (!w->schema.fields[f].used)
                continue;
            const char *name = rp_encode__field_name((rp_enc_field)f);
            len += 1 + add_tok(w, &w->field_key[f], name, strlen(name), ":", false) + filter;
        }
    }
    size_t rule_max = 0;
    for (unsigned i = 0; i < RP_BLOCK_RULE_COUNT; i++) {
        const char *name = block_rule_names[i];
        rule_max = max_size(rule_max, add_tok(w, &w->block_rule[i], name, strlen(name), ":", true));
    }
    len += sizeof(",\"blocks\":[],\"attrs\":{}}\n") + RP_ENC_MAX_BLOCKING_KEYS * (rule_max + 18);
    len += (size_t)ATTR_COUNT * (1 + key_max + value_max);
    if (rp_x_buf_oom(&w->pool))
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    w->line_max = len;
    w->out = rp_malloc(OUT_FLUSH + len);
    if (w->out == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    return RP_OK;
}

/* Append the token @p t. */
static char *put_tok(const rp_sub_writer *w, char *p, sub_tok t)
{
    memcpy(p, w->pool.data + t.off, t.len);
    return p + t.len;
}

/* Append `,"name":` of attribute @p f (no comma before the first key). */
static char *put_key(const rp_sub_writer *w, char *p, bool *first, rp_field f)
{
    if (!*first)
        *p++ = ',';
    *first = false;
    return put_tok(w, p, w->attr_key[f - ATTR_FIRST]);
}

/*
 * Append the code @p v of @p f. NULL for a code without a name (the record was
 * validated, so a bug).
 */
static char *put_code_tok(const rp_sub_writer *w, char *p, rp_field f, unsigned v)
{
    if (RP_NEVER(v >= TOK_CODES || w->code[f - ATTR_FIRST][v].len == 0))
        return NULL;
    return put_tok(w, p, w->code[f - ATTR_FIRST][v]);
}

/* A multi-valued field: omitted when missing, "unknown", or the array of its codes. */
static char *
put_codes(const rp_sub_writer *w, char *p, bool *first, rp_field f, uint32_t mask, rp_state st)
{
    if (st == RP_STATE_MISSING)
        return p;
    p = put_key(w, p, first, f);
    if (st == RP_STATE_UNKNOWN) {
        return PUT_LIT(p, "\"unknown\"");
    }
    *p++ = '[';
    for (unsigned bit = 0; mask != 0 && p != NULL; bit++, mask >>= 1) {
        if ((mask & 1u) == 0)
            continue;
        if (p[-1] != '[')
            *p++ = ',';
        p = put_code_tok(w, p, f, bit);
    }
    if (p != NULL)
        *p++ = ']';
    return p;
}

/* A CODE field: omitted when missing (0), else its code. */
static char *put_code(const rp_sub_writer *w, char *p, bool *first, rp_field f, unsigned v)
{
    if (v == 0)
        return p;
    return put_code_tok(w, put_key(w, p, first, f), f, v);
}

static char *put_country(
    const rp_sub_writer *w, char *p, bool *first, rp_field f, const char code[3], rp_state st)
{
    if (st == RP_STATE_MISSING)
        return p;
    p = put_key(w, p, first, f);
    if (st == RP_STATE_KNOWN)
        return put_str(p, code, 3);
    return PUT_LIT(p, "\"unknown\"");
}

/*
 * The "attrs" object of a validated record: fields of the standard by their standard
 * names, codes by name (as the store's JSON export writes them), a missing field
 * omitted, a field recorded as unknown as "unknown", a multi-valued field known as the
 * array of its codes. NULL on a code without a name (a bug).
 */
static char *put_attrs(const rp_sub_writer *w, char *p, const rp_case_record *r)
{
    bool first = true;
    *p++ = '{';
    if (r->registration_year != 0)
        p = put_int(put_key(w, p, &first, RP_FIELD_REGISTRATION_YEAR), r->registration_year);
    if (r->registration_date[0] != '\0')
        p = put_str(put_key(w, p, &first, RP_FIELD_REGISTRATION_DATE), r->registration_date,
                    sizeof(r->registration_date));
    p = put_code(w, p, &first, RP_FIELD_ID_STATUS, (unsigned)r->id_status);
    p = p != NULL ? put_code(w, p, &first, RP_FIELD_SEX, (unsigned)r->sex) : NULL;
    if (p != NULL && r->age >= 0)
        p = put_int(put_key(w, p, &first, RP_FIELD_AGE), r->age);
    p = p != NULL ? put_code(w, p, &first, RP_FIELD_AGE_BAND, (unsigned)r->age_band) : NULL;
    p = p != NULL ? put_code(w, p, &first, RP_FIELD_MAJORITY_AT_EXPLOITATION,
                             (unsigned)r->majority_at_exploitation)
                  : NULL;
    if (p == NULL)
        return NULL;
    p = put_country(w, p, &first, RP_FIELD_CITIZENSHIP, r->citizenship, r->citizenship_state);
    p = put_country(w, p, &first, RP_FIELD_COUNTRY_OF_EXPLOITATION, r->country_of_exploitation,
                    r->country_of_exploitation_state);
    p = put_codes(w, p, &first, RP_FIELD_EXPLOITATION, r->exploitation, r->exploitation_state);
    p = p != NULL ? put_codes(w, p, &first, RP_FIELD_SEXUAL_TYPES, r->sexual_types,
                              r->sexual_types != 0 ? RP_STATE_KNOWN : RP_STATE_MISSING)
                  : NULL;
    p = p != NULL ? put_codes(w, p, &first, RP_FIELD_LABOUR_SECTORS, r->labour_sectors,
                              r->labour_sectors != 0 ? RP_STATE_KNOWN : RP_STATE_MISSING)
                  : NULL;
    p = p != NULL ? put_codes(w, p, &first, RP_FIELD_MEANS_OF_CONTROL, r->means_of_control,
                              r->means_of_control_state)
                  : NULL;
    p = p != NULL ? put_codes(w, p, &first, RP_FIELD_RECRUITER_RELATION, r->recruiter_relation,
                              r->recruiter_relation_state)
                  : NULL;
    if (p != NULL)
        *p++ = '}';
    return p;
}

/* Append the base64 of a filter of w->words words. */
static char *put_filter(rp_sub_writer *w, char *p, const uint64_t *filter)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(w->bytes, filter, w->words * 8); /* the bytes of the words, least significant first */
#else
    rp_encode__words_to_bytes(filter, w->words, w->bytes);
#endif
    return put_base64(p, &w->tables, w->bytes, w->words * 8);
}

/* The record line: id, clk, fields (when the schema has them), blocks, attrs. */
static char *put_record(rp_sub_writer *w,
                        char *p,
                        const char *pseudonym,
                        const uint64_t *clk,
                        const uint64_t *field_filters,
                        const rp_enc_blocking *blocking,
                        const rp_case_record *rec)
{
    p = PUT_LIT(p, "{\"id\":");
    /* The pseudonym was checked to be hex digits: nothing to escape. */
    *p++ = '"';
    memcpy(p, pseudonym, PSEUDONYM_LEN);
    p += PSEUDONYM_LEN;
    *p++ = '"';
    p = put_filter(w, PUT_LIT(p, ",\"clk\":"), clk);
    if (w->schema.field_filters) {
        p = PUT_LIT(p, ",\"fields\":{");
        for (int f = 0; f < RP_ENC_FIELD_COUNT; f++) {
            if (!w->schema.fields[f].used)
                continue;
            if (p[-1] != '{')
                *p++ = ',';
            p = put_filter(w, put_tok(w, p, w->field_key[f]), field_filters + (size_t)f * w->words);
        }
        *p++ = '}';
    }
    p = PUT_LIT(p, ",\"blocks\":[");
    for (size_t i = 0; blocking != NULL && i < blocking->n; i++) {
        if (i > 0)
            *p++ = ',';
        p = put_hex64(put_tok(w, p, w->block_rule[blocking->rule[i]]), &w->tables,
                      blocking->keys[i]);
        *p++ = '"';
    }
    p = put_attrs(w, PUT_LIT(p, "],\"attrs\":"), rec);
    if (p != NULL) {
        p = PUT_LIT(p, "}\n");
    }
    return p;
}

/* Append the JSON text @p json without the white space outside its strings. */
static void put_compact(rp_x_buf *b, const char *json)
{
    bool in_string = false;
    bool escaped = false;
    for (const char *p = json; *p != '\0'; p++) {
        char c = *p;
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        }
        rp_x_buf_putc(b, c);
    }
}

/*
 * The header line, keys in a fixed order. The schema is rp_enc_schema_to_json's text
 * (@p sjson) made compact, so its numbers keep their shortest exact form; the list code
 * is printable ASCII, in which only '"' and '\\' need escaping.
 */
static void put_header(rp_x_buf *b, const rp_sub_writer *w, const char *sjson)
{
    rp_x_buf_puts(b, "{\"format\":\"" SUB_FORMAT "\",\"version\":");
    rp_x_buf_printf(b, "%d", SUB_VERSION);
    rp_x_buf_puts(b, ",\"list\":\"");
    for (const char *p = w->list; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            rp_x_buf_putc(b, '\\');
        rp_x_buf_putc(b, *p);
    }
    rp_x_buf_puts(b, "\",\"created_by\":\"rapporteur " RP_VERSION_STRING "\",\"bits\":");
    rp_x_buf_printf(b, "%u", rp_enc_schema_bits(&w->schema));
    rp_x_buf_puts(b, ",\"schema\":");
    put_compact(b, sjson);
    rp_x_buf_puts(b, "}\n");
}

int rp_sub_writer_open(rp_sub_writer **out,
                       const char *path,
                       const char *list,
                       const rp_enc_schema *schema,
                       rp_error *err)
{
    int rc = RP_OK;
    rp_sub_writer *w = NULL;
    char *sjson = NULL;
    *out = NULL;

    if (path == NULL || list == NULL || schema == NULL)
        return rp_error_set(err, RP_EINVAL, "path, list and schema are required");
    if (!is_list_code(list))
        return rp_error_set(err, RP_EINVAL, "list code must be 1..%d printable ASCII characters",
                            RP_DATA_ID_MAX - 1);
    if (!rp_encode__sodium_ready())
        return rp_error_set(err, RP_EINTERNAL, "cannot initialise libsodium");
    w = rp_calloc(1, sizeof(*w));
    if (w == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    rp_x_buf_init(&w->line);
    rp_x_buf_init(&w->pool);
    text_tables_fill(&w->tables);
    rp_x_strlcpy(w->list, list, sizeof(w->list));

    /* The schema must be valid and read back as the reader will read it. */
    rc = rp_encode__schema_check(schema, err);
    if (rc != RP_OK)
        goto out;
    sjson = rp_enc_schema_to_json(schema);
    if (sjson == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rc = rp_enc_schema_parse(&w->schema, sjson, strlen(sjson), err);
    if (rc == RP_ENOMEM)
        goto out;
    if (rc != RP_OK) {
        rc = RP_EINVAL;
        if (err != NULL)
            err->code = RP_EINVAL;
        rp_x_error_prefix(err, "encoding schema is not valid");
        goto out;
    }
    unsigned bits = rp_enc_schema_bits(&w->schema);
    if (bits == 0 || bits % 64 != 0 || !used_fields_named(&w->schema)) {
        rc = rp_error_set(err, RP_EINVAL, "encoding schema gives %u filter bits", bits);
        goto out;
    }
    w->words = bits / 64;
    w->bytes = rp_malloc(w->words * 8);
    if (w->bytes == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rc = make_tokens(w, err);
    if (rc != RP_OK)
        goto out;
    crypto_generichash_init(&w->hash, NULL, 0, DIGEST_BYTES);
    put_header(&w->line, w, sjson);
    if (rp_x_buf_oom(&w->line)) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rc = rp_encode__out_open(&w->o, path, err);
    if (rc != RP_OK)
        goto out;
    rc = write_out(w, w->line.data, w->line.len, err);
    if (rc != RP_OK)
        goto out;
    *out = w;
    w = NULL;
out:
    rp_free(sjson);
    rp_sub_writer_abort(w);
    return rc;
}

/*
 * Check the case attributes against the standard, as the reader will: a copy with the
 * writer's list and no case or person id (they never leave the agency).
 */
static int
check_attrs(rp_sub_writer *w, rp_case_record *rec, const rp_case_record *attrs, rp_error *err)
{
    if (attrs != NULL)
        *rec = *attrs;
    else
        rp_case_record_init(rec);
    rp_x_strlcpy(rec->list, w->list, sizeof(rec->list));
    rec->case_id[0] = '\0';
    rec->person_id[0] = '\0';
    rp_issue_list_clear(&w->issues);
    int rc = rp_case_record_validate(rec, 0, &w->issues, NULL);
    if (rc == RP_ENOMEM)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    if (rc != RP_OK) {
        const rp_issue *is = &w->issues.v[0];
        return rp_error_set(err, RP_EDATA, "record %llu: case attribute '%s' breaks rule '%s': %s",
                            w->n + 1, is->column_name, is->rule, is->message);
    }
    return RP_OK;
}

/* rp_sub_writer_add(), and rp_encode__sub_writer_add_valid() when @p validated. */
static int add(rp_sub_writer *w,
               const char *pseudonym,
               const uint64_t *clk,
               const uint64_t *field_filters,
               const rp_enc_blocking *blocking,
               const rp_case_record *attrs,
               bool validated,
               rp_error *err)
{
    rp_case_record rec;
    if (w == NULL || pseudonym == NULL || clk == NULL)
        return rp_error_set(err, RP_EINVAL, "writer, pseudonym and clk are required");
    if (w->failed)
        return rp_error_set(err, RP_EIO, "submission writer failed earlier");
    if (!is_pseudonym(pseudonym, strnlen(pseudonym, PSEUDONYM_LEN + 1)))
        return rp_error_set(err, RP_EINVAL,
                            "record %llu: pseudonym must be %d lower-case hex digits "
                            "(rp_encoder_pseudonym)",
                            w->n + 1, PSEUDONYM_LEN);
    if (w->schema.field_filters && field_filters == NULL)
        return rp_error_set(err, RP_EINVAL, "record %llu: the schema has field filters: give them",
                            w->n + 1);
    if (blocking != NULL) {
        if (blocking->n > RP_ENC_MAX_BLOCKING_KEYS)
            return rp_error_set(err, RP_EINVAL, "record %llu: %zu blocking keys (at most %d)",
                                w->n + 1, blocking->n, RP_ENC_MAX_BLOCKING_KEYS);
        for (size_t i = 0; i < blocking->n; i++) {
            if (blocking->rule[i] >= RP_BLOCK_RULE_COUNT)
                return rp_error_set(err, RP_EINVAL, "record %llu: blocking key %zu has rule %u",
                                    w->n + 1, i, (unsigned)blocking->rule[i]);
        }
    }
    int rc = RP_OK;
    if (validated && attrs != NULL) {
        /* the caller validated @p attrs; the list, case id and person id are set here as
           check_attrs() sets them, which keeps a valid record valid */
        rec = *attrs;
        rp_x_strlcpy(rec.list, w->list, sizeof(rec.list));
        rec.case_id[0] = '\0';
        rec.person_id[0] = '\0';
    } else {
        rc = check_attrs(w, &rec, attrs, err);
    }
    if (rc != RP_OK)
        return rc;

    char *start = w->out + w->out_len;
    char *end = put_record(w, start, pseudonym, clk, field_filters, blocking, &rec);
    if (end == NULL)
        return rp_error_set(err, RP_EINTERNAL, "record %llu: a case attribute has no code name",
                            w->n + 1);
    if (RP_NEVER((size_t)(end - start) > w->line_max))
        return rp_error_set(err, RP_EINTERNAL, "record %llu: line longer than computed", w->n + 1);
    w->out_len += (size_t)(end - start);
    w->n++;
    return w->out_len >= OUT_FLUSH ? flush_out(w, err) : RP_OK;
}

int rp_sub_writer_add(rp_sub_writer *w,
                      const char *pseudonym,
                      const uint64_t *clk,
                      const uint64_t *field_filters,
                      const rp_enc_blocking *blocking,
                      const rp_case_record *attrs,
                      rp_error *err)
{
    return add(w, pseudonym, clk, field_filters, blocking, attrs, false, err);
}

int rp_encode__sub_writer_add_valid(rp_sub_writer *w,
                                    const char *pseudonym,
                                    const uint64_t *clk,
                                    const uint64_t *field_filters,
                                    const rp_enc_blocking *blocking,
                                    const rp_case_record *attrs,
                                    rp_error *err)
{
    return add(w, pseudonym, clk, field_filters, blocking, attrs, true, err);
}

int rp_sub_writer_close(rp_sub_writer *w, rp_error *err)
{
    int rc = RP_OK;
    if (w == NULL)
        return rp_error_set(err, RP_EINVAL, "no submission writer");
    if (w->failed) {
        rc = rp_error_set_at(err, RP_EIO, w->o.path, 0, 0,
                             "submission not written: an earlier write failed");
        goto out;
    }
    rc = flush_out(w, err);
    if (rc != RP_OK)
        goto out;
    unsigned char digest[DIGEST_BYTES];
    char hex[2 * DIGEST_BYTES + 1];
    crypto_generichash_final(&w->hash, digest, sizeof(digest));
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    rp_x_buf_reset(&w->line);
    rp_x_buf_printf(&w->line, "{\"" END_KEY "\":%llu,\"" DIGEST_KEY "\":\"%s\"}\n", w->n, hex);
    if (rp_x_buf_oom(&w->line)) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    if (fwrite(w->line.data, 1, w->line.len, w->o.f) != w->line.len) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, w->o.path, 0, 0, "cannot write: %s", strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    rc = rp_encode__out_commit(&w->o, err);
out:
    rp_sub_writer_abort(w); /* removes the temporary file unless it was renamed */
    return rc;
}

/* ==== reader: input ==== */

typedef enum src_kind { SRC_FILE = 0, SRC_SEALED, SRC_MEM } src_kind;

struct rp_sub_reader {
    crypto_generichash_state hash; /* of the lines before the end line (64-byte aligned) */

    /* The input. */
    FILE *f;                /* SRC_FILE, SRC_SEALED */
    rp_encode__unsealer *u; /* SRC_SEALED */
    const unsigned char *mem;
    size_t mem_len, mem_pos; /* SRC_MEM */
    unsigned char *buf;      /* bytes read and not yet consumed: [start, end) */
    size_t cap, start, end, scanned;
    long line;            /* number of the last line taken */
    unsigned long long n; /* records read */
    size_t words, nbytes; /* per filter */

    /* The current record. */
    uint64_t *clk;
    uint64_t *ff; /* RP_ENC_FIELD_COUNT * words, or NULL */
    unsigned char *bytes;
    rp_issue_list issues;

    rp_enc_schema schema;
    src_kind kind;
    int status; /* 0 reading, 1 at the end, < 0 failed */
    bool src_eof;
    char id[PSEUDONYM_LEN + 1];
    char list[RP_DATA_ID_MAX];
    char path[256];
};

/* Largest buffer: a longest line, its newline and one chunk read after it. */
#define BUF_MAX (RP_SUB_MAX_LINE + 1 + RP_SEAL_CHUNK)

/* Read more bytes into buf[end..cap); sets src_eof at the end of the input. */
static int fill(rp_sub_reader *r, rp_error *err)
{
    size_t room = r->cap - r->end;
    switch (r->kind) {
    case SRC_MEM: {
        size_t n = r->mem_len - r->mem_pos;
        if (n > room)
            n = room;
        memcpy(r->buf + r->end, r->mem + r->mem_pos, n);
        r->mem_pos += n;
        r->end += n;
        r->src_eof = r->mem_pos == r->mem_len;
        return RP_OK;
    }
    case SRC_SEALED: {
        size_t n = 0;
        int got = rp_encode__unseal_next(r->u, r->buf + r->end, &n, err);
        if (got < 0)
            return got;
        r->end += n;
        r->src_eof = got == 0;
        return RP_OK;
    }
    case SRC_FILE:
    default: {
        size_t n = fread(r->buf + r->end, 1, room, r->f);
        r->end += n;
        if (n < room) {
            if (ferror(r->f)) {
                int e = errno;
                int rc = rp_error_set_at(err, RP_EIO, r->path, 0, 0, "cannot read file: %s",
                                         strerror(e));
                rp_x_error_sys(err, e);
                return rc;
            }
            r->src_eof = feof(r->f) != 0;
        }
        return RP_OK;
    }
    }
}

/*
 * The next line, without its newline: 1 with a line, 0 at the end of the input, or an
 * error (I/O, a line over RP_SUB_MAX_LINE, a last line without its newline).
 */
static int next_line(rp_sub_reader *r, const char **line, size_t *len, rp_error *err)
{
    for (;;) {
        const unsigned char *nl = memchr(r->buf + r->scanned, '\n', r->end - r->scanned);
        if (nl != NULL) {
            *line = (const char *)r->buf + r->start;
            *len = (size_t)(nl - (r->buf + r->start));
            r->start = (size_t)(nl - r->buf) + 1;
            r->scanned = r->start;
            r->line++;
            return 1;
        }
        r->scanned = r->end;
        if (r->end - r->start > RP_SUB_MAX_LINE)
            return rp_error_set_at(err, RP_EPARSE, r->path, r->line + 1, 1,
                                   "line is longer than %zu bytes", RP_SUB_MAX_LINE);
        if (r->src_eof) {
            if (r->end > r->start)
                return rp_error_set_at(err, RP_EPARSE, r->path, r->line + 1, 1,
                                       "last line has no newline: the file is truncated");
            return 0;
        }
        /* Move the partial line to the front and make room for one more read. */
        size_t have = r->end - r->start;
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, have);
            r->start = 0;
            r->end = have;
            r->scanned = have;
        }
        if (r->cap - r->end < RP_SEAL_CHUNK) {
            size_t cap = r->cap * 2;
            if (cap < r->end + RP_SEAL_CHUNK)
                cap = r->end + RP_SEAL_CHUNK;
            if (cap > BUF_MAX)
                cap = BUF_MAX;
            unsigned char *nb = rp_realloc(r->buf, cap);
            if (nb == NULL)
                return rp_error_set(err, RP_ENOMEM, "out of memory");
            r->buf = nb;
            r->cap = cap;
        }
        int rc = fill(r, err);
        if (rc != RP_OK)
            return rc;
    }
}

/* ==== reader: validation ==== */

/* An RP_EPARSE error at the current line, column 1. */
#define BAD(r, err, ...) rp_error_set_at((err), RP_EPARSE, (r)->path, (r)->line, 1, __VA_ARGS__)

/* Parse one line as a JSON object into *@p out. @return RP_OK; RP_EPARSE; RP_ENOMEM. */
static int parse_object(json_t **out, rp_sub_reader *r, const char *line, size_t len, rp_error *err)
{
    json_error_t jerr;
    *out = NULL;
    json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (obj == NULL) {
        if (json_error_code(&jerr) == json_error_out_of_memory)
            return rp_error_set(err, RP_ENOMEM, "out of memory");
        return rp_error_set_at(err, RP_EPARSE, r->path, r->line, jerr.column > 0 ? jerr.column : 1,
                               "invalid JSON: %s", jerr.text);
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        return BAD(r, err, "expected a JSON object");
    }
    *out = obj;
    return RP_OK;
}

/*
 * Check that @p obj has only the keys in @p allowed (NULL-terminated) and every key in
 * @p required (a prefix of @p allowed of length @p n_required). @p what names the line.
 */
static int check_keys(rp_sub_reader *r,
                      const json_t *obj,
                      const char *const *allowed,
                      size_t n_required,
                      const char *what,
                      rp_error *err)
{
    const char *key = NULL;
    json_t *v = NULL;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i] != NULL && !ok; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok)
            return BAD(r, err, "%s: unknown key '%.40s'", what, key);
    }
    for (size_t i = 0; i < n_required; i++) {
        if (json_object_get(obj, allowed[i]) == NULL)
            return BAD(r, err, "%s: missing key '%s'", what, allowed[i]);
    }
    return RP_OK;
}

static int read_header(rp_sub_reader *r, rp_error *err)
{
    static const char *const keys[] = {"format", "version", "list", "created_by",
                                       "bits",   "schema",  NULL};
    int rc = RP_OK;
    const char *line = NULL;
    size_t len = 0;
    json_t *h = NULL;
    char *sjson = NULL;

    rc = next_line(r, &line, &len, err);
    if (rc == 0)
        return rp_error_set_at(err, RP_EPARSE, r->path, 1, 1, "empty file: not a submission");
    if (rc < 0)
        return rc;
    rc = parse_object(&h, r, line, len, err);
    if (rc != RP_OK)
        goto out;
    const json_t *format = json_object_get(h, "format");
    if (!json_is_string(format) || strcmp(json_string_value(format), SUB_FORMAT) != 0) {
        rc = BAD(r, err, "not a rapporteur submission (header 'format' is not '" SUB_FORMAT "')");
        goto out;
    }
    rc = check_keys(r, h, keys, 6, "header", err);
    if (rc != RP_OK)
        goto out;
    const json_t *version = json_object_get(h, "version");
    if (!json_is_integer(version) || json_integer_value(version) != SUB_VERSION) {
        rc = BAD(r, err, "header: unsupported submission version (this program reads %d)",
                 SUB_VERSION);
        goto out;
    }
    const json_t *list = json_object_get(h, "list");
    if (!json_is_string(list) || !is_list_code(json_string_value(list)) ||
        strlen(json_string_value(list)) != json_string_length(list)) {
        rc = BAD(r, err, "header: 'list' must be 1..%d printable ASCII characters",
                 RP_DATA_ID_MAX - 1);
        goto out;
    }
    rp_x_strlcpy(r->list, json_string_value(list), sizeof(r->list));
    if (!json_is_string(json_object_get(h, "created_by"))) {
        rc = BAD(r, err, "header: 'created_by' must be a string");
        goto out;
    }
    const json_t *schema = json_object_get(h, "schema");
    if (!json_is_object(schema)) {
        rc = BAD(r, err, "header: 'schema' must be an object");
        goto out;
    }
    sjson = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (sjson == NULL) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    rc = rp_enc_schema_parse(&r->schema, sjson, strlen(sjson), err);
    if (rc == RP_ENOMEM)
        goto out;
    if (rc != RP_OK) {
        char msg[sizeof(err->msg)];
        rp_x_strlcpy(msg, err != NULL ? err->msg : "", sizeof(msg));
        rc = BAD(r, err, "header: schema: %s", msg);
        goto out;
    }
    unsigned bits = rp_enc_schema_bits(&r->schema);
    const json_t *jbits = json_object_get(h, "bits");
    if (!used_fields_named(&r->schema)) {
        rc = rp_error_set(err, RP_EINTERNAL, "encoding schema uses a field without a name");
        goto out;
    }
    if (bits == 0 || bits % 64 != 0 || !json_is_integer(jbits) ||
        json_integer_value(jbits) != (json_int_t)bits) {
        rc = BAD(r, err, "header: 'bits' does not match the schema (%u bits)", bits);
        goto out;
    }
    r->words = bits / 64;
    r->nbytes = r->words * 8;
    r->clk = rp_calloc(r->words, sizeof(uint64_t));
    r->bytes = rp_malloc(r->nbytes);
    if (r->schema.field_filters)
        r->ff = rp_calloc(r->words * RP_ENC_FIELD_COUNT, sizeof(uint64_t));
    if (r->clk == NULL || r->bytes == NULL || (r->schema.field_filters && r->ff == NULL)) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    crypto_generichash_update(&r->hash, (const unsigned char *)line, len);
    crypto_generichash_update(&r->hash, (const unsigned char *)"\n", 1);
out:
    free(sjson); /* Jansson's allocator */
    json_decref(h);
    return rc;
}

/* Decode a filter: base64 of exactly nbytes bytes. @p what names the key. */
static int
read_filter(rp_sub_reader *r, uint64_t *out, const json_t *v, const char *what, rp_error *err)
{
    if (!json_is_string(v))
        return BAD(r, err, "'%s' must be a base64 string", what);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    size_t bin_len = 0;
    if (len != b64_len(r->nbytes) ||
        sodium_base642bin(r->bytes, r->nbytes, s, len, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        bin_len != r->nbytes)
        return BAD(r, err, "'%s' must be the base64 of %zu bytes (%zu bits)", what, r->nbytes,
                   r->nbytes * 8);
    rp_encode__bytes_to_words(r->bytes, r->words, out);
    return RP_OK;
}

static int read_fields(rp_sub_reader *r, const json_t *v, rp_error *err)
{
    if (!json_is_object(v))
        return BAD(r, err, "'fields' must be an object");
    const char *key = NULL;
    json_t *f = NULL;
    json_object_foreach((json_t *)v, key, f)
    {
        int i = 0;
        while (i < RP_ENC_FIELD_COUNT && !name_is(key, rp_encode__field_name((rp_enc_field)i)))
            i++;
        if (i == RP_ENC_FIELD_COUNT || !r->schema.fields[i].used)
            return BAD(r, err, "fields: unknown or unused field '%.40s'", key);
    }
    memset(r->ff, 0, r->nbytes * RP_ENC_FIELD_COUNT);
    for (int i = 0; i < RP_ENC_FIELD_COUNT; i++) {
        if (!r->schema.fields[i].used)
            continue;
        f = json_object_get(v, rp_encode__field_name((rp_enc_field)i));
        if (f == NULL)
            return BAD(r, err, "fields: missing field '%s'",
                       rp_encode__field_name((rp_enc_field)i));
        char what[64];
        snprintf(what, sizeof(what), "fields.%s", rp_encode__field_name((rp_enc_field)i));
        int rc = read_filter(r, r->ff + (size_t)i * r->words, f, what, err);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* Value of one hex digit, or -1. Lower case only, as written. */
static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int read_blocks(rp_sub_reader *r, rp_enc_blocking *out, const json_t *v, rp_error *err)
{
    out->n = 0;
    if (!json_is_array(v))
        return BAD(r, err, "'blocks' must be an array");
    if (json_array_size(v) > RP_ENC_MAX_BLOCKING_KEYS)
        return BAD(r, err, "blocks: more than %d keys", RP_ENC_MAX_BLOCKING_KEYS);
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        const char *s = json_string_value(e);
        const char *colon = s != NULL ? strchr(s, ':') : NULL;
        unsigned rule = 0;
        while (colon != NULL && rule < RP_BLOCK_RULE_COUNT &&
               (strlen(block_rule_names[rule]) != (size_t)(colon - s) ||
                strncmp(s, block_rule_names[rule], (size_t)(colon - s)) != 0))
            rule++;
        if (colon == NULL || rule == RP_BLOCK_RULE_COUNT || strlen(colon + 1) != 16 ||
            json_string_length(e) != strlen(s))
            return BAD(r, err,
                       "blocks[%zu]: expected \"RULE:HEX\" with a rule of family_year, "
                       "given_date, names, lsh, document and 16 lower-case hex digits",
                       i);
        uint64_t key = 0;
        for (const char *p = colon + 1; *p != '\0'; p++) {
            int d = hex_value(*p);
            if (d < 0)
                return BAD(r, err, "blocks[%zu]: expected 16 lower-case hex digits", i);
            key = (key << 4) | (uint64_t)d;
        }
        out->keys[out->n] = key;
        out->rule[out->n] = (uint8_t)rule;
        out->n++;
    }
    return RP_OK;
}

/* One code of field @p f, exactly as the code list writes it. */
static bool exact_code(unsigned *out, rp_field f, const json_t *v)
{
    const char *s = json_string_value(v);
    if (s == NULL || s[0] == '\0' || json_string_length(v) != strlen(s) ||
        rp_code_parse(out, f, s) != RP_OK)
        return false;
    const rp_field_info *info = rp_field_info_get(f);
    unsigned index = *out;
    if (info->type == RP_FTYPE_CODES) {
        index = 0;
        while ((*out >> index) != 1u)
            index++;
    }
    return strcmp(rp_code_name(f, index), s) == 0;
}

/* An integer attribute within [lo, hi] (the standard's rules check the exact range). */
static bool int_attr(int *out, const json_t *v, int lo, int hi)
{
    if (!json_is_integer(v))
        return false;
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return false;
    *out = (int)x;
    return true;
}

/* A multi-valued attribute: "unknown" (when @p st is not NULL) or an array of codes. */
static int read_codes(
    rp_sub_reader *r, uint32_t *mask, rp_state *st, rp_field f, const json_t *v, rp_error *err)
{
    const char *name = rp_field_info_get(f)->name;
    if (st != NULL && json_is_string(v) && strcmp(json_string_value(v), "unknown") == 0) {
        *st = RP_STATE_UNKNOWN;
        return RP_OK;
    }
    if (!json_is_array(v))
        return BAD(r, err, "attrs.%s: expected an array of codes%s", name,
                   st != NULL ? " or \"unknown\"" : "");
    uint32_t m = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        unsigned bit = 0;
        if (!exact_code(&bit, f, json_array_get(v, i)))
            return BAD(r, err, "attrs.%s[%zu]: not a code of '%s'", name, i, name);
        if ((m & bit) != 0)
            return BAD(r, err, "attrs.%s[%zu]: code given twice", name, i);
        m |= bit;
    }
    *mask = m;
    if (st != NULL)
        *st = RP_STATE_KNOWN;
    return RP_OK;
}

static int read_country(
    rp_sub_reader *r, char code[3], rp_state *st, rp_field f, const json_t *v, rp_error *err)
{
    const char *s = json_string_value(v);
    if (s != NULL && strcmp(s, "unknown") == 0) {
        *st = RP_STATE_UNKNOWN;
        return RP_OK;
    }
    char norm[3];
    if (s == NULL || strlen(s) != 2 || rp_country_normalise(norm, s) != RP_OK ||
        strcmp(norm, s) != 0)
        return BAD(r, err,
                   "attrs.%s: expected an upper-case ISO 3166-1 alpha-2 code or \"unknown\"",
                   rp_field_info_get(f)->name);
    memcpy(code, norm, 3);
    *st = RP_STATE_KNOWN;
    return RP_OK;
}

/* One attribute @p f (not null) into @p rec. */
static int
read_attr(rp_sub_reader *r, rp_case_record *rec, rp_field f, const json_t *v, rp_error *err)
{
    const char *name = rp_field_info_get(f)->name;
    unsigned code = 0;
    switch (f) {
    case RP_FIELD_REGISTRATION_YEAR:
        if (!int_attr(&rec->registration_year, v, 1, 9999))
            return BAD(r, err, "attrs.%s: expected a year", name);
        return RP_OK;
    case RP_FIELD_AGE:
        if (!int_attr(&rec->age, v, 0, 999))
            return BAD(r, err, "attrs.%s: expected an age in years", name);
        return RP_OK;
    case RP_FIELD_REGISTRATION_DATE: {
        const char *s = json_string_value(v);
        if (s == NULL || s[0] == '\0' || strlen(s) >= sizeof(rec->registration_date))
            return BAD(r, err, "attrs.%s: expected a date YYYY-MM-DD or YYYY-MM", name);
        rp_x_strlcpy(rec->registration_date, s, sizeof(rec->registration_date));
        return RP_OK;
    }
    case RP_FIELD_ID_STATUS:
    case RP_FIELD_SEX:
    case RP_FIELD_AGE_BAND:
    case RP_FIELD_MAJORITY_AT_EXPLOITATION:
        if (!exact_code(&code, f, v))
            return BAD(r, err, "attrs.%s: not a code of '%s'", name, name);
        if (f == RP_FIELD_ID_STATUS)
            rec->id_status = (rp_id_status)code;
        else if (f == RP_FIELD_SEX)
            rec->sex = (rp_sex)code;
        else if (f == RP_FIELD_AGE_BAND)
            rec->age_band = (rp_age_band)code;
        else
            rec->majority_at_exploitation = (rp_majority)code;
        return RP_OK;
    case RP_FIELD_CITIZENSHIP:
        return read_country(r, rec->citizenship, &rec->citizenship_state, f, v, err);
    case RP_FIELD_COUNTRY_OF_EXPLOITATION:
        return read_country(r, rec->country_of_exploitation, &rec->country_of_exploitation_state, f,
                            v, err);
    case RP_FIELD_EXPLOITATION:
        return read_codes(r, &rec->exploitation, &rec->exploitation_state, f, v, err);
    case RP_FIELD_SEXUAL_TYPES:
        return read_codes(r, &rec->sexual_types, NULL, f, v, err);
    case RP_FIELD_LABOUR_SECTORS:
        return read_codes(r, &rec->labour_sectors, NULL, f, v, err);
    case RP_FIELD_MEANS_OF_CONTROL:
        return read_codes(r, &rec->means_of_control, &rec->means_of_control_state, f, v, err);
    case RP_FIELD_RECRUITER_RELATION:
        return read_codes(r, &rec->recruiter_relation, &rec->recruiter_relation_state, f, v, err);
    case RP_FIELD_LIST:
    case RP_FIELD_CASE_ID:
    case RP_FIELD_PERSON_ID:
    case RP_FIELD_COUNT:
    default:
        return BAD(r, err, "attrs.%s: not allowed in a submission", name);
    }
}

static int read_attrs(rp_sub_reader *r, rp_case_record *rec, const json_t *v, rp_error *err)
{
    rp_case_record_init(rec);
    if (!json_is_object(v))
        return BAD(r, err, "'attrs' must be an object");
    const char *key = NULL;
    json_t *a = NULL;
    json_object_foreach((json_t *)v, key, a)
    {
        int f = ATTR_FIRST;
        while (f <= ATTR_LAST && strcmp(key, rp_field_info_get((rp_field)f)->name) != 0)
            f++;
        if (f > ATTR_LAST) {
            if (strcmp(key, "case_id") == 0 || strcmp(key, "person_id") == 0 ||
                strcmp(key, "list") == 0)
                return BAD(r, err,
                           "attrs.%s: not allowed in a submission (the pseudonym replaces "
                           "the case id, the header holds the list)",
                           key);
            return BAD(r, err, "attrs: unknown key '%.40s'", key);
        }
        if (json_is_null(a))
            continue;
        int rc = read_attr(r, rec, (rp_field)f, a, err);
        if (rc != RP_OK)
            return rc;
    }
    /* The standard's rules, as the writer checked them. */
    rp_x_strlcpy(rec->list, r->list, sizeof(rec->list));
    rp_issue_list_clear(&r->issues);
    int rc = rp_case_record_validate(rec, r->line, &r->issues, NULL);
    if (rc == RP_ENOMEM)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    if (rc != RP_OK) {
        const rp_issue *is = &r->issues.v[0];
        return BAD(r, err, "attrs.%s: breaks rule '%s' of the data standard: %s", is->column_name,
                   is->rule, is->message);
    }
    return RP_OK;
}

/* The end line: the count and the checksum of every line before it, then nothing. */
static int read_end(rp_sub_reader *r, const json_t *obj, rp_error *err)
{
    static const char *const keys[] = {END_KEY, DIGEST_KEY, NULL};
    int rc = check_keys(r, obj, keys, 2, "end line", err);
    if (rc != RP_OK)
        return rc;
    const json_t *end = json_object_get(obj, END_KEY);
    if (!json_is_integer(end) || json_integer_value(end) < 0 ||
        (unsigned long long)json_integer_value(end) != r->n)
        return BAD(r, err, "end line: the file has %llu records, not the number the end line gives",
                   r->n);
    unsigned char digest[DIGEST_BYTES];
    char hex[2 * DIGEST_BYTES + 1];
    crypto_generichash_final(&r->hash, digest, sizeof(digest));
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    const char *want = json_string_value(json_object_get(obj, DIGEST_KEY));
    if (want == NULL || strcmp(want, hex) != 0)
        return BAD(r, err,
                   "end line: '" DIGEST_KEY "' does not match the lines before it (damaged file)");
    const char *line = NULL;
    size_t len = 0;
    rc = next_line(r, &line, &len, err);
    if (rc < 0)
        return rc;
    if (rc > 0)
        return BAD(r, err, "data after the end line");
    return RP_OK;
}

/* ==== reader: public ==== */

void rp_sub_reader_free(rp_sub_reader *r)
{
    if (r == NULL)
        return;
    rp_encode__unseal_free(r->u);
    if (r->f != NULL)
        fclose(r->f);
    if (r->buf != NULL)
        sodium_memzero(r->buf, r->cap);
    rp_free(r->buf);
    rp_free(r->clk);
    rp_free(r->ff);
    rp_free(r->bytes);
    rp_issue_list_release(&r->issues);
    rp_free(r);
}

/* A reader with its line buffer and nothing read. */
static int reader_new(rp_sub_reader **out, const char *path, rp_error *err)
{
    *out = NULL;
    if (!rp_encode__sodium_ready()) {
        rp_error_set(err, RP_EINTERNAL, "cannot initialise libsodium");
        return RP_EINTERNAL; /* constants: the analyser then sees *out set on RP_OK */
    }
    rp_sub_reader *r = rp_calloc(1, sizeof(*r));
    if (r != NULL) {
        r->cap = 2 * RP_SEAL_CHUNK;
        r->buf = rp_malloc(r->cap);
    }
    if (r == NULL || r->buf == NULL) {
        rp_free(r);
        rp_error_set(err, RP_ENOMEM, "out of memory");
        return RP_ENOMEM;
    }
    rp_x_strlcpy(r->path, path, sizeof(r->path));
    crypto_generichash_init(&r->hash, NULL, 0, DIGEST_BYTES);
    *out = r;
    return RP_OK;
}

int rp_sub_reader_open(rp_sub_reader **out,
                       const char *path,
                       const char *hub_key_path,
                       rp_error *err)
{
    int rc = RP_OK;
    rp_sub_reader *r = NULL;
    if (out == NULL || path == NULL)
        return rp_error_set(err, RP_EINVAL, "no submission path given");
    *out = NULL;
    rc = reader_new(&r, path, err);
    if (rc != RP_OK)
        return rc;
    r->f = fopen(path, "rb");
    if (r->f == NULL) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot open file: %s", strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    /* Sealed? Look at the magic, then start again from the first byte. */
    unsigned char magic[RP_SEAL_MAGIC_LEN];
    size_t n = fread(magic, 1, sizeof(magic), r->f);
    if (ferror(r->f) || fseek(r->f, 0, SEEK_SET) != 0) {
        int e = errno;
        rc = rp_error_set_at(err, RP_EIO, path, 0, 0, "cannot read file: %s", strerror(e));
        rp_x_error_sys(err, e);
        goto out;
    }
    if (rp_encode__is_sealed(magic, n)) {
        r->kind = SRC_SEALED;
        rc = rp_encode__unseal_open(&r->u, r->f, path, hub_key_path, err);
        if (rc != RP_OK)
            goto out;
    }
    rc = read_header(r, err);
    if (rc != RP_OK)
        goto out;
    *out = r;
    r = NULL;
out:
    rp_sub_reader_free(r);
    return rc;
}

int rp_encode__sub_reader_open_mem(
    rp_sub_reader **out, const void *data, size_t len, const char *name, rp_error *err)
{
    int rc = RP_OK;
    rp_sub_reader *r = NULL;
    if (out == NULL || (data == NULL && len > 0))
        return rp_error_set(err, RP_EINVAL, "no submission given");
    *out = NULL;
    if (name == NULL)
        name = "(memory)";
    if (rp_encode__is_sealed(data, len))
        return rp_error_set_at(err, RP_EPERM, name, 0, 0,
                               "sealed submissions are read from a file, with the hub's key");
    rc = reader_new(&r, name, err);
    if (rc != RP_OK)
        return rc;
    r->kind = SRC_MEM;
    r->mem = data;
    r->mem_len = len;
    r->src_eof = len == 0;
    rc = read_header(r, err);
    if (rc != RP_OK)
        goto out;
    *out = r;
    r = NULL;
out:
    rp_sub_reader_free(r);
    return rc;
}

const rp_enc_schema *rp_sub_reader_schema(const rp_sub_reader *r)
{
    return r != NULL ? &r->schema : NULL;
}

const char *rp_sub_reader_list(const rp_sub_reader *r)
{
    return r != NULL ? r->list : NULL;
}

/* One record line (already parsed) into @p rec. */
static int read_record(rp_sub_reader *r, rp_sub_record *rec, const json_t *obj, rp_error *err)
{
    static const char *const keys[] = {"id", "clk", "blocks", "attrs", "fields", NULL};
    int rc = check_keys(r, obj, keys, 4, "record", err);
    if (rc != RP_OK)
        return rc;
    const json_t *id = json_object_get(obj, "id");
    if (!json_is_string(id) || !is_pseudonym(json_string_value(id), json_string_length(id)))
        return BAD(r, err, "'id' must be %d lower-case hex digits", PSEUDONYM_LEN);
    const json_t *fields = json_object_get(obj, "fields");
    if (r->schema.field_filters && fields == NULL)
        return BAD(r, err, "record: missing key 'fields' (the schema has field filters)");
    if (!r->schema.field_filters && fields != NULL)
        return BAD(r, err, "record: unknown key 'fields' (the schema has no field filters)");
    rc = read_filter(r, r->clk, json_object_get(obj, "clk"), "clk", err);
    if (rc == RP_OK && fields != NULL)
        rc = read_fields(r, fields, err);
    if (rc == RP_OK)
        rc = read_blocks(r, &rec->blocking, json_object_get(obj, "blocks"), err);
    if (rc == RP_OK)
        rc = read_attrs(r, &rec->attrs, json_object_get(obj, "attrs"), err);
    if (rc != RP_OK)
        return rc;
    memcpy(r->id, json_string_value(id), PSEUDONYM_LEN + 1);
    rp_x_strlcpy(rec->attrs.case_id, r->id, sizeof(rec->attrs.case_id));
    rec->id = r->id;
    rec->clk = r->clk;
    rec->field_filters = r->ff;
    return RP_OK;
}

int rp_sub_reader_next(rp_sub_reader *r, rp_sub_record *rec, rp_error *err)
{
    int rc = RP_OK;
    json_t *obj = NULL;
    if (r == NULL || rec == NULL)
        return rp_error_set(err, RP_EINVAL, "no submission reader or record given");
    if (r->status == 1)
        return 0;
    if (r->status < 0)
        return rp_error_set_at(err, (rp_status)r->status, r->path, r->line, 0,
                               "submission reader stopped after an earlier error");
    memset(rec, 0, sizeof(*rec));
    const char *line = NULL;
    size_t len = 0;
    rc = next_line(r, &line, &len, err);
    if (rc == 0) {
        rc = rp_error_set_at(err, RP_EPARSE, r->path, r->line + 1, 1,
                             "file ends without its end line: the file is truncated");
        goto out;
    }
    if (rc < 0)
        goto out;
    rc = parse_object(&obj, r, line, len, err);
    if (rc != RP_OK)
        goto out;
    if (json_object_get(obj, END_KEY) != NULL && json_object_get(obj, "id") == NULL) {
        rc = read_end(r, obj, err);
        if (rc == RP_OK)
            r->status = 1;
        goto out;
    }
    crypto_generichash_update(&r->hash, (const unsigned char *)line, len);
    crypto_generichash_update(&r->hash, (const unsigned char *)"\n", 1);
    rc = read_record(r, rec, obj, err);
    if (rc == RP_OK) {
        r->n++;
        rc = 1;
    }
out:
    json_decref(obj);
    if (rc < 0) {
        r->status = rc;
        memset(rec, 0, sizeof(*rec));
    }
    return rc;
}
