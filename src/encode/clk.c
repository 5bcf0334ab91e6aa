/*
 * The encoder (docs/encoding.md, "Encoding"): per-purpose keys derived from the shared
 * secret, record-level and field-level keyed Bloom filters (CLKs) of normalised
 * identifiers, the hardening steps (balancing, XOR folding, BLIP), pseudonymous ids and
 * the Dice coefficient. Blocking keys are in blocking.c, key files in keys.c.
 */
#include "common/common_int.h"
#include "encode/encode_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

/*
 * How a token becomes bit positions. Every field has its own 32-byte key (derived from
 * the secret with crypto_kdf_derive_from_key, context "rpencode"), except that with
 * shared_name_key the three name fields share one, so that a name gives the same bits
 * in any name field. For block j = 0, 1, ... the token hash is
 *
 *     d_j = BLAKE2b-512(key = field key, msg = j || salt_len || salt || token)
 *
 * (j and salt_len one byte each; salt "y:YYYY" or empty), and its 16 little-endian
 * 32-bit words h give 16 positions (uint64_t)h * l >> 32 (Lemire's multiply-shift
 * reduction: no division, no rejection, unbiased for l a power of two). k positions take
 * ceil(k / 16) blocks. Positions are independent uniform draws, not the h1 + i*h2 of
 * double hashing, whose arithmetic structure the pattern-mining attacks on CLKs exploit.
 *
 * A keyed BLAKE2b of a short token costs two compressions (~350 ns on the reference
 * machine), and a record has some 30 tokens. Tokens come from small alphabets, so the
 * encoder precomputes, at creation, the positions of every possible token of the default
 * configuration: every q-gram for q <= 3 over the field's alphabet ('_' and 'a'..'z' for
 * names; with '0'..'9' for addresses; '0'..'9' and 'A'..'Z' for documents), every
 * year, month, day and month-day token of a birth date, every sex token. Encoding a
 * record is then table look-ups and bit sets. For unsalted records each table entry
 * also has its row: the token's l-bit filter (its k positions set), so that a q-gram
 * costs l / 128 vector ORs instead of k scattered bit sets; the rows of all fields are
 * kept while they fit ROWS_BYTES_MAX (700,288 bytes, about 0.7 MB, for the defaults), and a word
 * whose k is not the field's (a secondary name word) sets its positions from the table. With
 * salt_birth_year the tables of a birth year are built the first time a record of that year is
 * encoded (about 3 ms and 170 KB each for the defaults; under a mutex, so that encoding stays
 * thread-safe), as long as one year's tables fit SALT_TABLES_MAX bytes. Tokens outside the tables
 * (other bytes, q > 3) and salted records whose year has no tables are hashed one by one. The
 * tables hold the same positions the hash gives; a test checks every path against a
 * re-implementation of this construction. They are key material and live, with the
 * keys, in guarded memory.
 */

/* ==== key derivation ==== */

#define KDF_CONTEXT "rpencode"

/* Subkey ids of crypto_kdf_derive_from_key (docs/encoding.md "Keys"). */
enum {
    SUBKEY_FIELD0 = 1, /* + rp_enc_field: 1 given .. 5 sex, 6 document, 7 address */
    SUBKEY_PERMUTATION = 16,
    SUBKEY_BLIP = 17,
    SUBKEY_BLOCKING = 18,
    SUBKEY_PSEUDONYM = 19,
    SUBKEY_LSH = 20,
    SUBKEY_NAMES = 21, /* the three name fields under shared_name_key */
};

/* Nonces of the keyed PRNGs (ChaCha20, 8-byte nonces) run once at encoder creation. */
static const unsigned char NONCE_PERM[8] = {'b', 'a', 'l', 'a', 'n', 'c', 'e', '1'};
static const unsigned char NONCE_LSH[8] = {'l', 's', 'h', 'b', 'a', 'n', 'd', '1'};

/* ==== token alphabets of the tables ==== */

#define TABLE_QMAX      3u
#define ROWS_BYTES_MAX  ((size_t)1 << 20) /* token filter rows of all fields, bytes */
#define TABLE_BYTES_MAX ((size_t)4 << 20) /* larger tables are not built: tokens are hashed */

/*
 * The alphabet of each q-gram field's table: a q-gram over it is table entry
 * sum index(c_t) * |alphabet|^t. Names are padded with '_'; addresses may carry house
 * numbers and postcodes; documents are canonical (rp_encode__document_canon), unpadded.
 */
static const char ALPHABET_NAME[] = "_abcdefghijklmnopqrstuvwxyz";
static const char ALPHABET_ADDRESS[] = "_abcdefghijklmnopqrstuvwxyz0123456789";
static const char ALPHABET_DOCUMENT[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* The table alphabet of field @p f; NULL for fields that are not q-grams. */
static const char *field_alphabet(unsigned f)
{
    switch (f) {
    case RP_ENC_GIVEN_NAME:
    case RP_ENC_FAMILY_NAME:
    case RP_ENC_PATRONYMIC:
        return ALPHABET_NAME;
    case RP_ENC_ADDRESS:
        return ALPHABET_ADDRESS;
    case RP_ENC_DOCUMENT:
        return ALPHABET_DOCUMENT;
    default:
        return NULL;
    }
}

/* Birth date tokens: year 1900..2100, month, day, unordered month-day pair. */
#define YEAR_MIN    1900
#define YEAR_MAX    2100
#define DT_YEAR0    0u
#define DT_MONTH0   (DT_YEAR0 + (YEAR_MAX - YEAR_MIN + 1))
#define DT_DAY0     (DT_MONTH0 + 12u)
#define DT_MD0      (DT_DAY0 + 31u)
#define DT_ENTRIES  (DT_MD0 + 12u * 31u)
#define SEX_ENTRIES 3u

/* ==== the encoder ==== */

/*
 * Salted tables, one guarded region per birth year, laid out as the unsalted tables
 * (rp_encoder.tab_off). A region is published once with release semantics and never
 * changes afterwards; the mutex only serialises building.
 */
#define N_YEARS         (YEAR_MAX - YEAR_MIN + 1)
#define SALT_TABLES_MAX ((size_t)1 << 20)

typedef struct salt_cache {
    pthread_mutex_t lock;
    _Atomic(unsigned char *) region[N_YEARS];
} salt_cache;

/* Keys in guarded memory (the start of the guarded region; 64-byte aligned). */
typedef struct enc_keys {
    crypto_generichash_state field_state[RP_ENC_FIELD_COUNT]; /* keyed, nothing absorbed */
    crypto_generichash_state pseudo_state; /* pseudonym 1: keyed BLAKE2b-128, nothing absorbed */
    unsigned char pseudo_key[16];          /* pseudonym 2: SipHash-2-4-128 key */
    unsigned char blip_key[crypto_stream_chacha20_KEYBYTES];
    rp_encode__block_keys bk;
} enc_keys;

_Static_assert(sizeof(((enc_keys *)0)->pseudo_key) == crypto_shorthash_siphashx24_KEYBYTES,
               "the pseudonym key is a SipHash-2-4-128 key");

struct rp_encoder {
    rp_enc_schema schema;                  /* with key_id set */
    int16_t amap[RP_ENC_FIELD_COUNT][256]; /* byte -> index in the field's table alphabet, or -1 */
    unsigned asize[RP_ENC_FIELD_COUNT];    /* size of the field's table alphabet (0: none) */
    unsigned l;                            /* bits of a filter before hardening */
    unsigned wl;                           /* l / 64 */
    unsigned bits;                         /* bits as written */
    unsigned words;                        /* bits / 64 */
    uint32_t blip_thr;                     /* flip when a 16-bit uniform is below it; 0 = no BLIP */
    unsigned char *guard; /* sodium_malloc region: keys then tables; read-only after setup */
    size_t guard_size;
    const enc_keys *keys;
    const uint16_t *tab[RP_ENC_FIELD_COUNT];  /* positions per token, k per entry; or NULL */
    const uint16_t *perm;                     /* balancing: 2l positions; or NULL */
    size_t tab_n[RP_ENC_FIELD_COUNT];         /* entries of each table */
    size_t tab_off[RP_ENC_FIELD_COUNT];       /* offset of each table from the first */
    size_t tab_bytes;                         /* bytes of all tables */
    const uint64_t *rows[RP_ENC_FIELD_COUNT]; /* unsalted: each token's filter bits, wl words
                                                 per entry; or NULL */
    salt_cache *salt;                         /* per-year salted tables; NULL when off */
};

const rp_enc_schema *rp_encoder_schema(const rp_encoder *e)
{
    return &e->schema;
}

/* ==== token positions ==== */

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * The k positions of a token under the keyed state @p base (see the top of the file).
 * @p st is scratch the caller wipes.
 */
static void token_positions(const crypto_generichash_state *base,
                            crypto_generichash_state *st,
                            const unsigned char *salt,
                            size_t salt_len,
                            const unsigned char *tok,
                            size_t tok_len,
                            unsigned k,
                            unsigned l,
                            uint16_t *pos)
{
    unsigned char d[crypto_generichash_BYTES_MAX];
    unsigned char head[2] = {0, (unsigned char)salt_len};
    for (unsigned j = 0; j * 16u < k; j++) {
        memcpy(st, base, sizeof(*st));
        head[0] = (unsigned char)j;
        crypto_generichash_update(st, head, 2);
        if (salt_len)
            crypto_generichash_update(st, salt, salt_len);
        crypto_generichash_update(st, tok, tok_len);
        crypto_generichash_final(st, d, sizeof(d));
        for (unsigned i = 0; i < 16u && j * 16u + i < k; i++)
            pos[(size_t)j * 16u + i] = (uint16_t)(((uint64_t)le32(d + (size_t)4 * i) * l) >> 32);
    }
    sodium_memzero(d, sizeof(d));
}

static void set_positions(uint64_t *f, const uint16_t *pos, unsigned k)
{
    for (unsigned i = 0; i < k; i++)
        f[pos[i] >> 6] |= (uint64_t)1 << (pos[i] & 63u);
}

/*
 * OR the @p wl words of a token's filter bits (a row of rp_encoder.rows) into @p f; two
 * words at a time in a 16-byte vector where the compiler has vector types (SSE2 on
 * x86-64, NEON on arm64), which the build's -O2 does not do by itself here.
 */
#if defined(__GNUC__)
typedef uint64_t row_vec __attribute__((vector_size(16)));

static void or_row(uint64_t *f, const uint64_t *row, unsigned wl)
{
    unsigned w = 0;
    for (; w + 4 <= wl; w += 4) {
        row_vec a0;
        row_vec a1;
        row_vec b0;
        row_vec b1;
        memcpy(&a0, f + w, sizeof(a0));
        memcpy(&a1, f + w + 2, sizeof(a1));
        memcpy(&b0, row + w, sizeof(b0));
        memcpy(&b1, row + w + 2, sizeof(b1));
        a0 |= b0;
        a1 |= b1;
        memcpy(f + w, &a0, sizeof(a0));
        memcpy(f + w + 2, &a1, sizeof(a1));
    }
    for (; w + 2 <= wl; w += 2) {
        row_vec a;
        row_vec b;
        memcpy(&a, f + w, sizeof(a));
        memcpy(&b, row + w, sizeof(b));
        a |= b;
        memcpy(f + w, &a, sizeof(a));
    }
    if (w < wl)
        f[w] |= row[w];
}
#else
static void or_row(uint64_t *f, const uint64_t *row, unsigned wl)
{
    for (unsigned w = 0; w < wl; w++)
        f[w] |= row[w];
}
#endif

/* Token text of birth-date table entry @p e into @p buf; its length. */
static size_t date_token(unsigned e, char buf[16])
{
    int n = 0;
    if (e < DT_MONTH0)
        n = snprintf(buf, 16, "y:%04u", YEAR_MIN + e);
    else if (e < DT_DAY0)
        n = snprintf(buf, 16, "m:%02u", e - DT_MONTH0 + 1u);
    else if (e < DT_MD0)
        n = snprintf(buf, 16, "d:%02u", e - DT_DAY0 + 1u);
    else
        n = snprintf(buf, 16, "md:%02u-%02u", (e - DT_MD0) / 31u + 1u, (e - DT_MD0) % 31u + 1u);
    return n > 0 ? (size_t)n : 0;
}

static const char *const sex_tokens[SEX_ENTRIES] = {"s:f", "s:m", "s:x"};

/* ==== the per-record context ==== */

/* What one encode call needs while adding tokens; lives on the caller's stack. */
typedef struct rec_ctx {
    crypto_generichash_state st;              /* scratch state: wiped at the end of the call */
    bool st_used;                             /* st was used (it needs wiping) */
    const uint16_t *tab[RP_ENC_FIELD_COUNT];  /* tables for this record's salt, or NULL */
    const uint64_t *rows[RP_ENC_FIELD_COUNT]; /* e->rows when unsalted, else NULL */
    const rp_encoder *e;
    size_t salt_len; /* 0: unsalted */
    unsigned char salt[8];
    char doc[RP_ENC_DOC_MAX]; /* the canonical document number ("" when missing) */
    size_t doc_chars;         /* its length in characters */
} rec_ctx;

/*
 * Add one token of field @p f with @p k positions (slow path: hash it). The first k of
 * a token's positions do not depend on how many more are drawn: a secondary name word's
 * bits (k_secondary) are a subset of the same word's as a core word.
 */
static void
add_hashed(rec_ctx *c, unsigned f, const unsigned char *tok, size_t len, unsigned k, uint64_t *flt)
{
    const rp_encoder *e = c->e;
    uint16_t pos[RP_ENC_K_MAX];
    c->st_used = true;
    token_positions(&e->keys->field_state[f], &c->st, c->salt, c->salt_len, tok, len, k, e->l, pos);
    set_positions(flt, pos, k);
}

/* Bytes of the UTF-8 sequence that starts with @p c (1 for ASCII and stray bytes). */
static size_t utf8_len(unsigned char c)
{
    if (c < 0xC0)
        return 1;
    if (c < 0xE0)
        return 2;
    if (c < 0xF0)
        return 3;
    return 4;
}

/*
 * Add the q-grams of the @p n_chars characters at @p t (@p utf8: characters are UTF-8
 * sequences; else bytes) to @p flt, @p k positions each (at most the field's k, which
 * is the stride of the table: a smaller k uses the first k of an entry), by table when
 * every character of the q-gram is in the field's alphabet, else by hash of the
 * q-gram's bytes. Fewer than q characters make one token. On the table path each
 * character is mapped to its alphabet index once and a q-gram's entry is
 * sum a[g + t] * |alphabet|^t.
 */
static void add_qgrams(rec_ctx *c,
                       unsigned f,
                       const unsigned char *t,
                       size_t n_chars,
                       bool utf8,
                       unsigned k,
                       uint64_t *flt)
{
    const rp_encoder *e = c->e;
    unsigned q = e->schema.fields[f].q;
    unsigned stride = e->schema.fields[f].k;
    const uint16_t *tab = c->tab[f];
    const uint64_t *rows = k == stride ? c->rows[f] : NULL; /* rows hold the field's k */
    size_t off[RP_ENC_DOC_MAX + 3]; /* byte offset of each character, and the end */
    int ax[RP_ENC_DOC_MAX + 3];
    size_t o = 0;
    for (size_t i = 0; i < n_chars; i++) {
        off[i] = o;
        ax[i] = e->amap[f][t[o]];
        size_t cl = utf8 ? utf8_len(t[o]) : 1;
        if (cl > 1)
            ax[i] = -1;
        o += cl;
    }
    off[n_chars] = o;
    if (n_chars < q) {
        add_hashed(c, f, t, o, k, flt);
        return;
    }
    int size = (int)e->asize[f];
    if (rows && q == 2) {
        /* the default q of every q-gram field, with rows: the common case, unrolled */
        for (size_t g = 0; g + 2 <= n_chars; g++) {
            int a = ax[g];
            int b = ax[g + 1];
            if ((a | b) >= 0)
                or_row(flt, rows + (size_t)(a + b * size) * e->wl, e->wl);
            else
                add_hashed(c, f, t + off[g], off[g + 2] - off[g], k, flt);
        }
        return;
    }
    for (size_t g = 0; g + q <= n_chars; g++) {
        if (tab) {
            int idx = 0;
            int mul = 1;
            bool ok = true;
            for (unsigned u = 0; u < q; u++) {
                ok = ok && ax[g + u] >= 0;
                idx += ax[g + u] * mul;
                mul *= size;
            }
            if (ok && rows) {
                or_row(flt, rows + (size_t)idx * e->wl, e->wl);
                continue;
            }
            if (ok) {
                set_positions(flt, tab + (size_t)idx * stride, k);
                continue;
            }
        }
        add_hashed(c, f, t + off[g], off[g + q] - off[g], k, flt);
    }
}

/*
 * Add the q-grams of name or address @p s, each word padded with '_', to @p flt: word w
 * with ks->k[w] positions per q-gram, or the field's k when @p ks is NULL.
 */
static void
add_words(rec_ctx *c, unsigned f, const char *s, const rp_encode__word_ks *ks, uint64_t *flt)
{
    unsigned k_field = c->e->schema.fields[f].k;
    size_t w = 0;
    unsigned char pw[RP_NAME_MAX + 2];
    size_t i = 0;
    while (s[i]) {
        while (s[i] == ' ')
            i++;
        size_t start = i;
        while (s[i] && s[i] != ' ')
            i++;
        size_t wlen = i - start;
        if (wlen == 0)
            continue;
        pw[0] = '_';
        memcpy(pw + 1, s + start, wlen);
        pw[wlen + 1] = '_';
        /* a word beyond ks (more than RP_ENC_NAME_WORDS_MAX) gets the field's k */
        unsigned k = ks && w < ks->n ? ks->k[w] : k_field;
        w++;
        add_qgrams(c, f, pw, wlen + 2, false, k, flt);
    }
}

/* Add table entry @p entry of field @p f (dates, sex), by table or hash. */
static void add_entry(rec_ctx *c, unsigned f, unsigned entry, uint64_t *flt)
{
    const rp_encoder *e = c->e;
    unsigned k = e->schema.fields[f].k;
    if (c->rows[f]) {
        or_row(flt, c->rows[f] + (size_t)entry * e->wl, e->wl);
        return;
    }
    if (c->tab[f]) {
        set_positions(flt, c->tab[f] + (size_t)entry * k, k);
        return;
    }
    char tok[16] = {0};
    size_t len = 0;
    if (f == RP_ENC_BIRTH_DATE) {
        len = date_token(entry, tok);
    } else {
        if (RP_NEVER(entry >= SEX_ENTRIES))
            return;
        len = strlen(sex_tokens[entry]);
        memcpy(tok, sex_tokens[entry], len);
    }
    add_hashed(c, f, (const unsigned char *)tok, len, k, flt);
}

/*
 * Birth date tokens: "y:YYYY", "m:MM", "d:DD" and "md:<min(m,d)>-<max(m,d)>" (two
 * digits each). A day/month swap keeps y and md; a partial date gives the tokens of its
 * known parts.
 */
static void add_birth(rec_ctx *c, const rp_birth_date *b, uint64_t *flt)
{
    if (b->year)
        add_entry(c, RP_ENC_BIRTH_DATE, DT_YEAR0 + (unsigned)(b->year - YEAR_MIN), flt);
    if (b->month)
        add_entry(c, RP_ENC_BIRTH_DATE, DT_MONTH0 + (unsigned)(b->month - 1), flt);
    if (b->day)
        add_entry(c, RP_ENC_BIRTH_DATE, DT_DAY0 + (unsigned)(b->day - 1), flt);
    if (b->month && b->day) {
        unsigned lo = (unsigned)(b->month < b->day ? b->month : b->day);
        unsigned hi = (unsigned)(b->month < b->day ? b->day : b->month);
        add_entry(c, RP_ENC_BIRTH_DATE, DT_MD0 + (lo - 1u) * 31u + (hi - 1u), flt);
    }
}

static int sex_entry(rp_sex s)
{
    switch (s) {
    case RP_SEX_FEMALE:
        return 0;
    case RP_SEX_MALE:
        return 1;
    case RP_SEX_OTHER:
        return 2;
    case RP_SEX_MISSING:
    case RP_SEX_UNKNOWN:
        break;
    }
    return -1;
}

/* The text of word field @p f (names, address); "" when missing or not a word field. */
static const char *ident_text(const rp_enc_identifiers *id, unsigned f)
{
    const char *s = NULL;
    if (f == RP_ENC_GIVEN_NAME)
        s = id->given;
    else if (f == RP_ENC_FAMILY_NAME)
        s = id->family;
    else if (f == RP_ENC_PATRONYMIC)
        s = id->patronymic;
    else if (f == RP_ENC_ADDRESS)
        s = id->address;
    return s ? s : "";
}

/* True when field @p f of the record has a value (the document read from @p c). */
static bool field_present(const rec_ctx *c, const rp_enc_identifiers *id, unsigned f)
{
    switch (f) {
    case RP_ENC_GIVEN_NAME:
    case RP_ENC_FAMILY_NAME:
    case RP_ENC_PATRONYMIC:
    case RP_ENC_ADDRESS: {
        const char *s = ident_text(id, f);
        for (; *s; s++) {
            if (*s != ' ')
                return true;
        }
        return false;
    }
    case RP_ENC_BIRTH_DATE:
        return id->birth.year || id->birth.month || id->birth.day;
    case RP_ENC_SEX:
        return sex_entry(id->sex) >= 0;
    case RP_ENC_DOCUMENT:
        return c->doc_chars > 0;
    default:
        return false;
    }
}

static void add_field(rec_ctx *c, const rp_enc_identifiers *id, unsigned f, uint64_t *flt)
{
    rp_encode__word_ks ks;
    if (f == RP_ENC_BIRTH_DATE)
        add_birth(c, &id->birth, flt);
    else if (f == RP_ENC_SEX)
        add_entry(c, f, (unsigned)sex_entry(id->sex), flt);
    else if (f == RP_ENC_DOCUMENT)
        add_qgrams(c, f, (const unsigned char *)c->doc, c->doc_chars, true,
                   c->e->schema.fields[f].k, flt);
    else if (rp_encode__name_word_ks(&c->e->schema, id, f, &ks))
        add_words(c, f, ident_text(id, f), &ks, flt); /* naming-convention word roles */
    else
        add_words(c, f, ident_text(id, f), NULL, flt);
}

/* ==== document numbers ==== */

/*
 * Cyrillic and Greek capitals that look like Latin ones: a clerk copying a document
 * series such as "КВ" on a Latin keyboard types "KB". Visual, not phonetic (В is B
 * here, not V): a document number is copied by eye.
 */
static const struct {
    uint16_t from;
    char to;
} homoglyphs[] = {
    {0x0405, 'S'}, {0x0406, 'I'}, {0x0408, 'J'}, {0x0410, 'A'}, {0x0412, 'B'}, {0x0415, 'E'},
    {0x041A, 'K'}, {0x041C, 'M'}, {0x041D, 'H'}, {0x041E, 'O'}, {0x0420, 'P'}, {0x0421, 'C'},
    {0x0422, 'T'}, {0x0423, 'Y'}, {0x0425, 'X'}, {0x0391, 'A'}, {0x0392, 'B'}, {0x0395, 'E'},
    {0x0396, 'Z'}, {0x0397, 'H'}, {0x0399, 'I'}, {0x039A, 'K'}, {0x039C, 'M'}, {0x039D, 'N'},
    {0x039F, 'O'}, {0x03A1, 'P'}, {0x03A4, 'T'}, {0x03A5, 'Y'}, {0x03A7, 'X'},
};

/* The next code point of @p in (@p len bytes) at *@p i, advancing it; < 0 when ill-formed. */
static UChar32 next_char(const char *in, int32_t *i, int32_t len)
{
    UChar32 ch = 0;
    int32_t at = *i;
    U8_NEXT(in, at, len, ch);
    *i = at;
    return ch;
}

/*
 * Append @p ch as UTF-8 at out[*o], leaving room for the NUL; false when it does not fit
 * (upper-casing can lengthen a character: U+0250 is 2 bytes, U+2C6F 3).
 */
static bool put_char(char out[RP_ENC_DOC_MAX], size_t *o, UChar32 ch)
{
    size_t at = *o;
    if (at + (size_t)U8_LENGTH(ch) >= RP_ENC_DOC_MAX)
        return false;
    U8_APPEND_UNSAFE(out, at, ch);
    *o = at;
    return true;
}

/* What character @p ch of a document number becomes: an upper-case letter or ASCII digit,
 *  or -1 for one that is dropped. */
static UChar32 document_char(UChar32 ch)
{
    if (!u_isalnum(ch))
        return -1; /* separators, punctuation, marks, symbols */
    if (u_isdigit(ch))
        return '0' + u_charDigitValue(ch);
    ch = u_toupper(ch);
    for (size_t h = 0; h < RP_ARRAY_LEN(homoglyphs); h++) {
        if (homoglyphs[h].from == ch)
            return (UChar32)homoglyphs[h].to;
    }
    return ch;
}

int rp_encode__document_canon(const char *in,
                              char out[RP_ENC_DOC_MAX],
                              size_t *n_chars,
                              rp_error *err)
{
    size_t o = 0;
    size_t chars = 0;
    out[0] = '\0';
    if (n_chars)
        *n_chars = 0;
    if (!in)
        return RP_OK;
    size_t len = strnlen(in, RP_ENC_DOC_MAX);
    if (len >= RP_ENC_DOC_MAX)
        return rp_error_set(err, RP_EINVAL, "document number longer than %d bytes",
                            RP_ENC_DOC_MAX - 1);
    int32_t i = 0;
    while (i < (int32_t)len) {
        unsigned char b = (unsigned char)in[i];
        if (b < 0x80) {
            /* ASCII, as document_char() would treat it: letters upper-cased, digits
               kept, everything else dropped; without ICU's property look-ups */
            i++;
            if (b >= 'a' && b <= 'z')
                b = (unsigned char)(b - 'a' + 'A');
            if (!((b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z')))
                continue;
            if (!put_char(out, &o, b)) {
                out[0] = '\0';
                return rp_error_set(err, RP_EINVAL, "document number longer than %d bytes",
                                    RP_ENC_DOC_MAX - 1);
            }
            chars++;
            continue;
        }
        UChar32 ch = next_char(in, &i, (int32_t)len);
        if (ch < 0) {
            out[0] = '\0';
            return rp_error_set(err, RP_EINVAL, "document number: not valid UTF-8");
        }
        ch = document_char(ch);
        if (ch < 0)
            continue;
        if (!put_char(out, &o, ch)) {
            out[0] = '\0';
            return rp_error_set(err, RP_EINVAL, "document number longer than %d bytes",
                                RP_ENC_DOC_MAX - 1);
        }
        chars++;
    }
    out[o] = '\0';
    if (n_chars)
        *n_chars = chars;
    return RP_OK;
}

/* ==== hardening ==== */

/*
 * From the l-bit filter @p in to the filter as written, @p out (e->words words): balance
 * (in || ~in, then the keyed permutation of the 2l bits), XOR folds, then BLIP flips
 * drawn from ChaCha20(blip key, nonce = record seed) at block counter @p domain << 32.
 */
static void harden(
    const rp_encoder *e, const uint64_t *in, uint64_t record_seed, uint64_t domain, uint64_t *out)
{
    uint64_t buf[RP_ENC_WORDS_MAX];
    unsigned bits = e->l;
    memcpy(buf, in, e->wl * sizeof(uint64_t));
    if (e->schema.balance) {
        uint64_t bal[RP_ENC_WORDS_MAX];
        for (unsigned w = 0; w < e->wl; w++) {
            bal[w] = in[w];
            bal[e->wl + w] = ~in[w];
        }
        memset(buf, 0, (size_t)2 * e->wl * sizeof(uint64_t));
        for (unsigned w = 0; w < 2u * e->wl; w++) {
            uint64_t x = bal[w];
            while (x) {
                unsigned t = (unsigned)__builtin_ctzll(x);
                uint16_t p = e->perm[w * 64u + t];
                buf[p >> 6] |= (uint64_t)1 << (p & 63u);
                x &= x - 1;
            }
        }
        sodium_memzero(bal, (size_t)2 * e->wl * sizeof(uint64_t));
        bits = 2u * e->l;
    }
    for (unsigned i = 0; i < e->schema.xor_folds; i++) {
        unsigned hw = bits / 128u; /* words in half */
        for (unsigned w = 0; w < hw; w++)
            buf[w] ^= buf[w + hw];
        bits /= 2u;
    }
    if (e->blip_thr) {
        static const unsigned char zeros[512];
        unsigned char nonce[8];
        for (unsigned b = 0; b < 8; b++)
            nonce[b] = (unsigned char)(record_seed >> (8u * b));
        unsigned char u[512]; /* 256 16-bit uniforms: 4 words */
        for (unsigned w = 0; w < bits / 64u; w++) {
            if (w % 4u == 0)
                crypto_stream_chacha20_xor_ic(u, zeros, sizeof(u), nonce,
                                              (domain << 32) + (uint64_t)(w / 4u) * 8u,
                                              e->keys->blip_key);
            const unsigned char *p = u + (size_t)(w % 4u) * 128u;
            uint64_t m = 0;
            for (unsigned t = 0; t < 64u; t++) {
                uint32_t r = (uint32_t)p[(size_t)2 * t] | (uint32_t)p[(size_t)2 * t + 1] << 8;
                m |= (uint64_t)(r < e->blip_thr) << t;
            }
            buf[w] ^= m;
        }
        sodium_memzero(u, sizeof(u));
    }
    memcpy(out, buf, e->words * sizeof(uint64_t));
    /* the filter before balancing and folding: l bits, or 2l with balancing */
    sodium_memzero(buf, (size_t)(e->schema.balance ? 2u : 1u) * e->wl * sizeof(uint64_t));
}

/* ==== salted tables ==== */

static void fill_table(const rp_encoder *e,
                       const crypto_generichash_state *base,
                       unsigned f,
                       const unsigned char *salt,
                       size_t salt_len,
                       uint16_t *tab,
                       size_t n);

/*
 * The tables of birth year @p year, salted with "y:YYYY", built on first use. NULL when
 * salting has no tables (they would exceed SALT_TABLES_MAX) or when memory runs out:
 * then the record's tokens are hashed one by one, with the same result.
 */
static const unsigned char *salt_tables(const rp_encoder *e, int year)
{
    salt_cache *sc = e->salt;
    if (!sc)
        return NULL;
    size_t y = (size_t)(year - YEAR_MIN);
    unsigned char *r = atomic_load_explicit(&sc->region[y], memory_order_acquire);
    if (r)
        return r;
    if (pthread_mutex_lock(&sc->lock) != 0)
        return NULL;
    r = atomic_load_explicit(&sc->region[y], memory_order_relaxed);
    if (!r) {
        unsigned char *g = sodium_malloc(e->tab_bytes);
        if (g) {
            unsigned char salt[8];
            int n = snprintf((char *)salt, sizeof(salt), "y:%04d", year);
            for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
                if (e->tab[f])
                    fill_table(e, &e->keys->field_state[f], f, salt, (size_t)n,
                               (uint16_t *)(void *)(g + e->tab_off[f]), e->tab_n[f]);
            }
            sodium_mprotect_readonly(g);
            atomic_store_explicit(&sc->region[y], g, memory_order_release);
            r = g;
        }
    }
    pthread_mutex_unlock(&sc->lock);
    return r;
}

static void salt_cache_free(salt_cache *sc)
{
    if (!sc)
        return;
    for (size_t y = 0; y < N_YEARS; y++)
        sodium_free(atomic_load_explicit(&sc->region[y], memory_order_relaxed));
    pthread_mutex_destroy(&sc->lock);
    rp_free(sc);
}

/* ==== encoding ==== */

static int check_ident(const rp_enc_identifiers *id, rp_error *err)
{
    static const struct {
        unsigned f;
        const char *what;
    } texts[] = {{RP_ENC_GIVEN_NAME, "given name"},
                 {RP_ENC_FAMILY_NAME, "family name"},
                 {RP_ENC_PATRONYMIC, "patronymic"},
                 {RP_ENC_ADDRESS, "address"}};

    for (size_t t = 0; t < RP_ARRAY_LEN(texts); t++) {
        const char *s = ident_text(id, texts[t].f);
        if (memchr(s, '\0', RP_NAME_MAX) == NULL)
            return rp_error_set(err, RP_EINVAL, "%s longer than %d bytes", texts[t].what,
                                RP_NAME_MAX - 1);
    }
    const rp_birth_date *b = &id->birth;
    if (b->year != 0 && (b->year < YEAR_MIN || b->year > YEAR_MAX))
        return rp_error_set(err, RP_EINVAL, "birth date: year outside %d..%d", YEAR_MIN, YEAR_MAX);
    if (b->month < 0 || b->month > 12)
        return rp_error_set(err, RP_EINVAL, "birth date: month outside 1..12");
    if (b->day < 0 || b->day > 31)
        return rp_error_set(err, RP_EINVAL, "birth date: day outside 1..31");
    if ((unsigned)id->sex > (unsigned)RP_SEX_OTHER)
        return rp_error_set(err, RP_EINVAL, "sex: not an rp_sex value");
    return RP_OK;
}

int rp_encoder_encode(const rp_encoder *e,
                      const rp_enc_identifiers *id,
                      uint64_t record_seed,
                      uint64_t *clk,
                      uint64_t *field_filters,
                      rp_enc_blocking *blocking,
                      rp_error *err)
{
    int rc = check_ident(id, err);
    if (rc != RP_OK)
        return rc;
    if (e->schema.field_filters && !field_filters)
        return rp_error_set(err, RP_EINVAL, "the schema has field filters: give room for them");

    rec_ctx c;
    c.e = e;
    c.salt_len = 0;
    c.st_used = false;
    c.doc_chars = 0;
    c.doc[0] = '\0';
    if (e->schema.fields[RP_ENC_DOCUMENT].used) {
        rc = rp_encode__document_canon(id->document, c.doc, &c.doc_chars, err);
        if (rc != RP_OK) {
            sodium_memzero(c.doc, sizeof(c.doc));
            return rc;
        }
    }
    if (e->schema.salt_birth_year && id->birth.year) {
        int n = snprintf((char *)c.salt, sizeof(c.salt), "y:%04d", id->birth.year);
        c.salt_len = n > 0 ? (size_t)n : 0;
    }

    const unsigned char *salted = c.salt_len ? salt_tables(e, id->birth.year) : NULL;
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        c.rows[f] = c.salt_len ? NULL : e->rows[f];
        if (!c.salt_len)
            c.tab[f] = e->tab[f];
        else if (salted && e->tab[f])
            c.tab[f] = (const uint16_t *)(const void *)(salted + e->tab_off[f]);
        else
            c.tab[f] = NULL;
    }

    uint64_t base[RP_ENC_L_MAX / 64u];
    memset(base, 0, e->wl * sizeof(uint64_t));
    bool ff = e->schema.field_filters;
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        uint64_t *out_f = ff ? field_filters + (size_t)f * e->words : NULL;
        bool have = e->schema.fields[f].used && field_present(&c, id, f);
        if (!have) {
            /* unused fields and missing values: an all-zero field filter */
            if (out_f)
                memset(out_f, 0, e->words * sizeof(uint64_t));
            continue;
        }
        if (!ff) {
            add_field(&c, id, f, base);
            continue;
        }
        uint64_t fb[RP_ENC_L_MAX / 64u];
        memset(fb, 0, e->wl * sizeof(uint64_t));
        add_field(&c, id, f, fb);
        for (unsigned w = 0; w < e->wl; w++)
            base[w] |= fb[w];
        harden(e, fb, record_seed, 1u + f, out_f);
        sodium_memzero(fb, e->wl * sizeof(uint64_t));
    }
    harden(e, base, record_seed, 0, clk);
    if (c.st_used)
        sodium_memzero(&c.st, sizeof(c.st));
    if (blocking)
        rp_encode__blocking(&e->keys->bk, id, c.doc, clk, e->words, blocking);
    /* rp_encode__document_canon wrote the number and its NUL, nothing after them */
    sodium_memzero(c.doc, strnlen(c.doc, sizeof(c.doc)));
    sodium_memzero(base, e->wl * sizeof(uint64_t));
    return RP_OK;
}

/* ==== pseudonyms and Dice ==== */

/* Lower-case hex digits of the pseudonyms and rp_encode__u64_to_hex(). */
static const char hex_digits[] = "0123456789abcdef";

/*
 * Both constructions hash list || 0 || case id to 16 bytes under the subkey of id
 * SUBKEY_PSEUDONYM: 1 keyed BLAKE2b-128 (the 32-byte subkey; the construction of every
 * schema written before rp_enc_schema.pseudonym existed, byte for byte), 2 SipHash-2-4-128
 * (the 16-byte subkey).
 */
void rp_encoder_pseudonym(const rp_encoder *e, const char *list, const char *case_id, char out[33])
{
    static const unsigned char zero = 0;
    unsigned char h[16];
    if (e->schema.pseudonym == RP_ENC_PSEUDONYM_BLAKE2B) {
        crypto_generichash_state st;
        memcpy(&st, &e->keys->pseudo_state, sizeof(st));
        crypto_generichash_update(&st, (const unsigned char *)list, strlen(list));
        crypto_generichash_update(&st, &zero, 1);
        crypto_generichash_update(&st, (const unsigned char *)case_id, strlen(case_id));
        crypto_generichash_final(&st, h, sizeof(h));
        sodium_memzero(&st, sizeof(st));
    } else {
        rp_encode__sip128 st;
        rp_encode__sip128_init(&st, e->keys->pseudo_key);
        rp_encode__sip128_update(&st, list, strlen(list));
        rp_encode__sip128_update(&st, &zero, 1);
        rp_encode__sip128_update(&st, case_id, strlen(case_id));
        rp_encode__sip128_final(&st, h); /* wipes st */
    }
    for (size_t i = 0; i < sizeof(h); i++) {
        out[2 * i] = hex_digits[h[i] >> 4];
        out[2 * i + 1] = hex_digits[h[i] & 15u];
    }
    out[32] = '\0';
}

/*
 * rp_dice runs in the hub's inner loop. The build does not assume the POPCNT
 * instruction (no -mpopcnt or -march), so plain __builtin_popcountll would call
 * libgcc's __popcountdi2 for every word. On x86 a copy compiled for POPCNT is chosen at
 * run time with __builtin_cpu_supports; elsewhere, and on x86 without POPCNT, a SWAR
 * popcount (Hacker's Delight 5-1) is used.
 */
static unsigned popcount_swar(uint64_t x)
{
    x = x - ((x >> 1) & 0x5555555555555555ull);
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

double rp_encode__dice_portable(const uint64_t *a, const uint64_t *b, size_t words)
{
    uint64_t both = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < words; i++) {
        both += popcount_swar(a[i] & b[i]);
        total += (uint64_t)popcount_swar(a[i]) + popcount_swar(b[i]);
    }
    return total ? 2.0 * (double)both / (double)total : 0.0;
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#    define RP_DICE_DISPATCH 1

__attribute__((target("popcnt"))) static double
dice_popcnt(const uint64_t *a, const uint64_t *b, size_t words)
{
    uint64_t both = 0;
    uint64_t total = 0;
    for (size_t i = 0; i < words; i++) {
        both += (uint64_t)__builtin_popcountll(a[i] & b[i]);
        total += (uint64_t)__builtin_popcountll(a[i]) + (uint64_t)__builtin_popcountll(b[i]);
    }
    return total ? 2.0 * (double)both / (double)total : 0.0;
}
#endif

double rp_dice(const uint64_t *a, const uint64_t *b, size_t words)
{
#ifdef RP_DICE_DISPATCH
    if (__builtin_cpu_supports("popcnt"))
        return dice_popcnt(a, b, words);
#endif
    return rp_encode__dice_portable(a, b, words);
}

/* ==== byte order and hex ==== */

void rp_encode__words_to_bytes(const uint64_t *w, size_t words, unsigned char *out)
{
    for (size_t i = 0; i < words; i++) {
        for (unsigned b = 0; b < 8; b++)
            out[8 * i + b] = (unsigned char)(w[i] >> (8u * b));
    }
}

void rp_encode__bytes_to_words(const unsigned char *in, size_t words, uint64_t *out)
{
    for (size_t i = 0; i < words; i++) {
        uint64_t v = 0;
        for (unsigned b = 0; b < 8; b++)
            v |= (uint64_t)in[8 * i + b] << (8u * b);
        out[i] = v;
    }
}

void rp_encode__u64_to_hex(uint64_t v, char out[17])
{
    for (int i = 15; i >= 0; i--) {
        out[i] = hex_digits[v & 15u];
        v >>= 4;
    }
    out[16] = '\0';
}

bool rp_encode__hex_to_u64(const char *s, size_t len, uint64_t *out)
{
    if (len != 16)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < 16; i++) {
        char c = s[i];
        unsigned d = 0;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

/* ==== creation ==== */

/* Uniform integer in [0, n) from 4 keystream bytes (multiply-shift). */
static uint32_t uniform_below(const unsigned char *p, uint32_t n)
{
    return (uint32_t)(((uint64_t)le32(p) * n) >> 32);
}

/*
 * A keyed pseudo-random stream of 32-bit words: ChaCha20(key, nonce) read 256 bytes at
 * a time. Used only at creation (permutation, LSH positions).
 */
typedef struct prng {
    const unsigned char *key;
    const unsigned char *nonce;
    unsigned char buf[256];
    size_t used;
    uint64_t block;
} prng;

static const unsigned char *prng_next(prng *r)
{
    if (r->used == sizeof(r->buf)) {
        static const unsigned char zeros[256];
        crypto_stream_chacha20_xor_ic(r->buf, zeros, sizeof(r->buf), r->nonce, r->block, r->key);
        r->block += sizeof(r->buf) / 64u;
        r->used = 0;
    }
    const unsigned char *p = r->buf + r->used;
    r->used += 4;
    return p;
}

static size_t align64(size_t n)
{
    return (n + 63u) & ~(size_t)63u;
}

/* Entries of field @p f's table (0: no table). */
static size_t table_entries(const rp_enc_schema *s, unsigned f)
{
    if (!s->fields[f].used)
        return 0;
    if (f == RP_ENC_BIRTH_DATE)
        return DT_ENTRIES;
    if (f == RP_ENC_SEX)
        return SEX_ENTRIES;
    const char *alphabet = field_alphabet(f);
    if (!alphabet || s->fields[f].q > TABLE_QMAX)
        return 0;
    size_t n = 1;
    for (unsigned i = 0; i < s->fields[f].q; i++)
        n *= strlen(alphabet);
    if (n * s->fields[f].k * sizeof(uint16_t) > TABLE_BYTES_MAX)
        return 0;
    return n;
}

/* Fill field @p f's table of @p n entries: every token's positions under @p salt. */
static void fill_table(const rp_encoder *e,
                       const crypto_generichash_state *base,
                       unsigned f,
                       const unsigned char *salt,
                       size_t salt_len,
                       uint16_t *tab,
                       size_t n)
{
    unsigned k = e->schema.fields[f].k;
    unsigned q = e->schema.fields[f].q;
    crypto_generichash_state st;
    for (size_t entry = 0; entry < n; entry++) {
        unsigned char tok[16];
        size_t len = 0;
        if (f == RP_ENC_BIRTH_DATE) {
            len = date_token((unsigned)entry, (char *)tok);
        } else if (f == RP_ENC_SEX) {
            len = strlen(sex_tokens[entry]);
            memcpy(tok, sex_tokens[entry], len);
        } else {
            const char *alphabet = field_alphabet(f);
            size_t size = strlen(alphabet);
            size_t x = entry;
            for (unsigned t = 0; t < q; t++) {
                tok[t] = (unsigned char)alphabet[x % size];
                x /= size;
            }
            len = q;
        }
        token_positions(base, &st, salt, salt_len, tok, len, k, e->l, tab + entry * k);
    }
    sodium_memzero(&st, sizeof(st));
}

/* The byte -> alphabet index maps of the q-gram fields' tables. */
static void init_alphabets(rp_encoder *e)
{
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        for (unsigned b = 0; b < 256u; b++)
            e->amap[f][b] = -1;
        const char *alphabet = field_alphabet(f);
        for (unsigned i = 0; alphabet && alphabet[i]; i++)
            e->amap[f][(unsigned char)alphabet[i]] = (int16_t)i;
        e->asize[f] = alphabet ? (unsigned)strlen(alphabet) : 0;
    }
}

/*
 * The keyed hash state of every field: subkey 1 + field, or subkey 21 for the three name
 * fields under shared_name_key.
 */
static void
derive_field_keys(enc_keys *keys, const rp_enc_schema *schema, const unsigned char *master)
{
    unsigned char sub[32];
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        bool name = f == RP_ENC_GIVEN_NAME || f == RP_ENC_FAMILY_NAME || f == RP_ENC_PATRONYMIC;
        uint64_t id = schema->shared_name_key && name ? SUBKEY_NAMES : SUBKEY_FIELD0 + f;
        crypto_kdf_derive_from_key(sub, sizeof(sub), id, KDF_CONTEXT, master);
        crypto_generichash_init(&keys->field_state[f], sub, sizeof(sub),
                                crypto_generichash_BYTES_MAX);
    }
    sodium_memzero(sub, sizeof(sub));
}

/*
 * The keys of every purpose but the tables' (docs/encoding.md "Keys"): the field keys,
 * the pseudonym key, BLIP and blocking. The pseudonym subkey's length is part of the
 * derivation (BLAKE2b's output length), so the 32-byte key of construction 1 and the
 * 16-byte key of construction 2 are unrelated.
 */
static void
derive_purpose_keys(enc_keys *keys, const rp_enc_schema *schema, const unsigned char *master)
{
    derive_field_keys(keys, schema, master);
    if (schema->pseudonym == RP_ENC_PSEUDONYM_BLAKE2B) {
        unsigned char sub[32];
        crypto_kdf_derive_from_key(sub, sizeof(sub), SUBKEY_PSEUDONYM, KDF_CONTEXT, master);
        crypto_generichash_init(&keys->pseudo_state, sub, sizeof(sub), 16);
        sodium_memzero(sub, sizeof(sub));
    } else {
        crypto_kdf_derive_from_key(keys->pseudo_key, sizeof(keys->pseudo_key), SUBKEY_PSEUDONYM,
                                   KDF_CONTEXT, master);
    }
    crypto_kdf_derive_from_key(keys->blip_key, sizeof(keys->blip_key), SUBKEY_BLIP, KDF_CONTEXT,
                               master);
    crypto_kdf_derive_from_key(keys->bk.rule_key, sizeof(keys->bk.rule_key), SUBKEY_BLOCKING,
                               KDF_CONTEXT, master);
}

/*
 * Room for the token filter rows (rp_encoder.rows) of the fields with tables, in field
 * order while all fit ROWS_BYTES_MAX: @p off_rows[f] gets the offset of field f's rows
 * in the guarded region (0: none), starting at @p size. @return the new size.
 */
static size_t layout_rows(const rp_encoder *e,
                          const size_t n_tab[RP_ENC_FIELD_COUNT],
                          size_t size,
                          size_t off_rows[RP_ENC_FIELD_COUNT])
{
    size_t rows_bytes = 0;
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        size_t b = n_tab[f] * e->wl * sizeof(uint64_t);
        off_rows[f] = 0;
        if (b == 0 || rows_bytes + b > ROWS_BYTES_MAX)
            continue;
        off_rows[f] = size;
        rows_bytes += b;
        size += align64(b);
    }
    return size;
}

/* Field @p f's rows at @p at (zeroed): entry i's k positions of @p tab set. @return them. */
static const uint64_t *
fill_rows(const rp_encoder *e, unsigned f, const uint16_t *tab, size_t n, unsigned char *at)
{
    uint64_t *rows = (uint64_t *)(void *)at;
    unsigned k = e->schema.fields[f].k;
    for (size_t i = 0; i < n; i++)
        set_positions(rows + i * e->wl, tab + i * k, k);
    return rows;
}

int rp_encoder_new(rp_encoder **out,
                   const rp_enc_schema *schema,
                   const rp_secret *secret,
                   rp_error *err)
{
    *out = NULL;
    if (!rp_encode__sodium_ready())
        return rp_error_set(err, RP_EINTERNAL, "libsodium could not be initialised");
    int rc = rp_encode__schema_check(schema, err);
    if (rc != RP_OK)
        return rc;
    char kid[17];
    rp_secret_id(secret, kid);
    if (schema->key_id[0] && strcmp(schema->key_id, kid) != 0)
        return rp_error_set(err, RP_EINVAL,
                            "key_id: the schema was made with another secret (key id %s, this "
                            "secret's is %s)",
                            schema->key_id, kid);

    rp_encoder *e = rp_calloc(1, sizeof(*e));
    if (!e)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    e->schema = *schema;
    memcpy(e->schema.key_id, kid, sizeof(kid));
    init_alphabets(e);
    e->l = schema->l;
    e->wl = schema->l / 64u;
    e->bits = rp_enc_schema_bits(schema);
    e->words = e->bits / 64u;
    if (schema->blip_epsilon > 0.0) {
        double p = 1.0 / (1.0 + exp(schema->blip_epsilon));
        e->blip_thr = (uint32_t)lround(p * 65536.0);
    }

    /* Guarded layout: enc_keys | tables per field | permutation | LSH positions. */
    size_t off_tab[RP_ENC_FIELD_COUNT];
    size_t n_tab[RP_ENC_FIELD_COUNT];
    size_t size = align64(sizeof(enc_keys));
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        n_tab[f] = table_entries(schema, f);
        off_tab[f] = size;
        size += align64(n_tab[f] * schema->fields[f].k * sizeof(uint16_t));
    }
    size_t off_perm = size;
    if (schema->balance)
        size += align64(2u * (size_t)schema->l * sizeof(uint16_t));
    size_t off_lsh = size;
    size_t n_lsh = (size_t)schema->lsh_bands * schema->lsh_rows;
    size += align64(n_lsh * sizeof(uint16_t));
    size_t off_tmp = size; /* scratch for LSH sampling: wiped after use (rows follow it) */
    size += align64((size_t)e->bits * sizeof(uint16_t));
    size_t off_rows[RP_ENC_FIELD_COUNT];
    size = layout_rows(e, n_tab, size, off_rows);

    e->guard_size = size;
    e->guard = sodium_malloc(size);
    if (!e->guard) {
        rc = rp_error_set(err, RP_ENOMEM, "out of memory");
        goto out;
    }
    memset(e->guard, 0, size);
    enc_keys *keys = (enc_keys *)(void *)e->guard;
    e->keys = keys;

    /* Derived keys: one KDF call per purpose (docs/encoding.md "Keys"). */
    const unsigned char *master = rp_encode__secret_bytes(secret);
    unsigned char sub[32];
    derive_purpose_keys(keys, schema, master);

    /* Token tables. */
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++) {
        if (n_tab[f] == 0)
            continue;
        uint16_t *tab = (uint16_t *)(void *)(e->guard + off_tab[f]);
        fill_table(e, &keys->field_state[f], f, NULL, 0, tab, n_tab[f]);
        e->tab[f] = tab;
        e->tab_n[f] = n_tab[f];
        e->tab_off[f] = off_tab[f] - off_tab[0];
        if (off_rows[f])
            e->rows[f] = fill_rows(e, f, tab, n_tab[f], e->guard + off_rows[f]);
    }

    /* Balancing permutation: keyed Fisher-Yates over the 2l bits. */
    if (schema->balance) {
        crypto_kdf_derive_from_key(sub, sizeof(sub), SUBKEY_PERMUTATION, KDF_CONTEXT, master);
        prng r = {sub, NONCE_PERM, {0}, 256, 0};
        uint16_t *perm = (uint16_t *)(void *)(e->guard + off_perm);
        uint32_t n = 2u * schema->l;
        for (uint32_t i = 0; i < n; i++)
            perm[i] = (uint16_t)i;
        for (uint32_t i = n - 1; i > 0; i--) {
            uint32_t j = uniform_below(prng_next(&r), i + 1);
            uint16_t t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        sodium_memzero(r.buf, sizeof(r.buf));
        e->perm = perm;
    }

    /* LSH: per band, lsh_rows distinct positions of the CLK as written. */
    if (n_lsh) {
        crypto_kdf_derive_from_key(sub, sizeof(sub), SUBKEY_LSH, KDF_CONTEXT, master);
        prng r = {sub, NONCE_LSH, {0}, 256, 0};
        uint16_t *pos = (uint16_t *)(void *)(e->guard + off_lsh);
        uint16_t *idx = (uint16_t *)(void *)(e->guard + off_tmp);
        for (unsigned b = 0; b < schema->lsh_bands; b++) {
            for (uint32_t i = 0; i < e->bits; i++)
                idx[i] = (uint16_t)i;
            for (unsigned t = 0; t < schema->lsh_rows; t++) {
                uint32_t j = t + uniform_below(prng_next(&r), e->bits - t);
                uint16_t x = idx[t];
                idx[t] = idx[j];
                idx[j] = x;
                pos[b * schema->lsh_rows + t] = idx[t];
            }
        }
        sodium_memzero(r.buf, sizeof(r.buf));
        sodium_memzero(idx, (size_t)e->bits * sizeof(uint16_t));
        keys->bk.lsh_pos = pos;
    }
    keys->bk.lsh_bands = schema->lsh_bands;
    keys->bk.lsh_rows = schema->lsh_rows;
    keys->bk.lsh_bits = e->bits;
    sodium_memzero(sub, sizeof(sub));
    sodium_mprotect_readonly(e->guard);

    /* Salted tables per year, when one year's fit the budget. */
    e->tab_bytes = off_perm - off_tab[0];
    if (schema->salt_birth_year && e->tab_bytes > 0 && e->tab_bytes <= SALT_TABLES_MAX) {
        salt_cache *sc = rp_calloc(1, sizeof(*sc));
        if (!sc) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t y = 0; y < N_YEARS; y++)
            atomic_init(&sc->region[y], NULL);
        if (pthread_mutex_init(&sc->lock, NULL) != 0) {
            rp_free(sc);
            rc = rp_error_set(err, RP_ENOMEM, "cannot create a mutex");
            goto out;
        }
        e->salt = sc;
    }

    *out = e;
    e = NULL;
out:
    rp_encoder_free(e);
    return rc;
}

const rp_encode__block_keys *rp_encode__encoder_block_keys(const rp_encoder *e)
{
    return &e->keys->bk;
}

void rp_encode__encoder_drop_rows(rp_encoder *e)
{
    for (unsigned f = 0; f < RP_ENC_FIELD_COUNT; f++)
        e->rows[f] = NULL;
}

void rp_encoder_free(rp_encoder *e)
{
    if (!e)
        return;
    salt_cache_free(e->salt);
    sodium_free(e->guard); /* wipes keys and tables */
    rp_free(e);
}
