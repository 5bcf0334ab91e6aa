/*
 * Private interface of the encoding module (src/encode): helpers shared by keys.c,
 * schema.c, clk.c and blocking.c, and the ones the submission and sealing code
 * (submission.c, seal.c) reuse: the hub key file readers, the byte order of filters,
 * 64-bit hex for blocking keys, and schema validation. docs/encoding.md has the formats.
 *
 * For submission.c / seal.c (helper-sub), the stable pieces are:
 *   - rp_encode__read_hub_public(), rp_encode__read_hub_secret(): hub key files;
 *   - rp_encode__words_to_bytes(), rp_encode__bytes_to_words(): the byte order of a
 *     filter on disk (bit i of the filter is bit i % 8 of byte i / 8: little-endian),
 *     to base64 with sodium_bin2base64(..., sodium_base64_VARIANT_ORIGINAL);
 *   - rp_encode__u64_to_hex(), rp_encode__hex_to_u64(): blocking keys as 16 hex digits;
 *   - rp_encode__schema_check(): every rule of a schema, without JSON.
 * Hex of other byte strings: sodium_bin2hex() / sodium_hex2bin().
 */
#ifndef RP_ENCODE_INT_H
#define RP_ENCODE_INT_H

#include <rapporteur/encode.h>
#include <rapporteur/error.h>

#include <assert.h>
#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ==== limits of a schema (schema.c) ==== */

#define RP_ENC_L_MIN     64u /* filter bits before balancing and folding */
#define RP_ENC_L_MAX     8192u
#define RP_ENC_Q_MAX     5u   /* q-gram length */
#define RP_ENC_K_MAX     64u  /* hash positions per token */
#define RP_ENC_FOLDS_MAX 2u   /* XOR folds */
#define RP_ENC_EPS_MAX   20.0 /* BLIP epsilon: above it flips are below 2e-9 */
#define RP_ENC_BANDS_MAX                                                              \
    32u                      /* LSH bands (RP_ENC_MAX_BLOCKING_KEYS leaves room for 8 \
                                rule keys besides) */
#define RP_ENC_ROWS_MAX  64u /* LSH bits per band */
#define RP_ENC_BITS_MAX  (2u * RP_ENC_L_MAX) /* longest CLK as written (balanced) */
#define RP_ENC_WORDS_MAX (RP_ENC_BITS_MAX / 64u)

/**
 * Check every rule of a schema (docs/encoding.md): version, normalise_version, l a
 * multiple of 64 in 64..8192, q and k per used field, at least one field used, equal q
 * and k of given and family names under shared_name_key, folds
 * 0..2 leaving a multiple of 64 bits, BLIP epsilon 0 or in (0, 20], LSH bands 0..32 and
 * rows 1..64 (rows <= bits) when bands > 0, key_id empty or 16 hex digits.
 * @return RP_OK; RP_EINVAL naming the offending member by its JSON path ("fields.given_name.k").
 */
int rp_encode__schema_check(const rp_enc_schema *s, rp_error *err);

/** JSON name of a field ("given_name", "family_name", "patronymic", "birth_date",
 *  "sex", "document", "address"); NULL when out of range. */
const char *rp_encode__field_name(rp_enc_field f);

/* ==== naming conventions (name_rules.c) ==== */

/** Most words of a name: one of RP_NAME_MAX - 1 bytes has at most half as many. */
#define RP_ENC_NAME_WORDS_MAX (RP_NAME_MAX / 2)

/** Hash positions per q-gram of each word of one name field, in order. */
typedef struct rp_encode__word_ks {
    size_t n;                          /* words: runs of bytes other than ' ' */
    unsigned k[RP_ENC_NAME_WORDS_MAX]; /* the field's k (core) or k_secondary */
} rp_encode__word_ks;

/**
 * The k of each word of name field @p f (given or family name) of record @p id under
 * schema @p s: the field's k for core words, s->k_secondary for secondary ones, by the
 * naming convention of id->lang (docs/encoding.md "Naming conventions"). False, with
 * @p out untouched, when every word gets the field's k: name_rules off, another field,
 * no lang or a language without a rule.
 */
bool rp_encode__name_word_ks(const rp_enc_schema *s,
                             const rp_enc_identifiers *id,
                             unsigned f,
                             rp_encode__word_ks *out);

/* ==== document numbers (clk.c) ==== */

/** Longest canonical document number in bytes, NUL included. */
#define RP_ENC_DOC_MAX RP_NAME_MAX

/**
 * The canonical form of a document number, as the encoder hashes it (docs/encoding.md
 * "Tokens"): the letters and digits of @p in (UTF-8) in order, everything else dropped;
 * letters upper-cased, Cyrillic and Greek letters that look like Latin ones replaced by
 * them, digits of any script made ASCII. @p out gets UTF-8 ("" when nothing is left);
 * *@p n_chars (may be NULL) its length in characters.
 * @return RP_OK; RP_EINVAL (not valid UTF-8, or longer than RP_ENC_DOC_MAX - 1 bytes;
 *         the message never quotes the value).
 */
int rp_encode__document_canon(const char *in,
                              char out[RP_ENC_DOC_MAX],
                              size_t *n_chars,
                              rp_error *err);

/* ==== byte order of filters and blocking keys (clk.c) ==== */

/**
 * Serialise @p words 64-bit words of a filter into 8 * @p words bytes, little-endian:
 * bit i of the filter (word i / 64, bit i % 64) is bit i % 8 of byte i / 8.
 */
void rp_encode__words_to_bytes(const uint64_t *w, size_t words, unsigned char *out);

/** The inverse of rp_encode__words_to_bytes(): 8 * @p words bytes into @p words words. */
void rp_encode__bytes_to_words(const unsigned char *in, size_t words, uint64_t *out);

/** rp_dice() without the POPCNT instruction (the fallback; exposed for tests). */
double rp_encode__dice_portable(const uint64_t *a, const uint64_t *b, size_t words);

/** A 64-bit blocking key as 16 lower-case hex digits (big-endian, as printf "%016llx"). */
void rp_encode__u64_to_hex(uint64_t v, char out[17]);

/** Parse exactly 16 hex digits (either case). @return true on success, *out set. */
bool rp_encode__hex_to_u64(const char *s, size_t len, uint64_t *out);

/* ==== phonetic code (blocking.c) ==== */

/** Longest phonetic code, bytes, NUL included. */
#define RP_ENC_PHON_MAX 8

/**
 * Phonetic code ("rp-phon v1", docs/encoding.md "Blocking keys") of one normalised word
 * (@p len bytes of lower-case ASCII; other bytes are ignored) into @p out: up to 6 code
 * letters, "V" for a word of vowels only, "" for a word with no letters.
 */
void rp_encode__phonetic(const char *word, size_t len, char out[RP_ENC_PHON_MAX]);

/* ==== blocking keys (blocking.c, called by clk.c) ==== */

/** Derived key material blocking.c needs (lives inside the encoder's guarded memory). */
typedef struct rp_encode__block_keys {
    unsigned char rule_key[crypto_shorthash_KEYBYTES]; /* SipHash-2-4 key of every rule */
    const uint16_t *lsh_pos; /* lsh_bands * lsh_rows bit positions of the final CLK */
    unsigned lsh_bands;
    unsigned lsh_rows;
    unsigned lsh_bits; /* bits of the CLK the positions index */
} rp_encode__block_keys;

/**
 * Fill @p out with the blocking keys of a record: rules 0..2 from the identifiers
 * (skipped when a part is missing), then one LSH key per band from @p clk (@p words
 * words, the CLK as written), then the document rule from @p doc_canon (the canonical
 * document number, rp_encode__document_canon; "" or fewer than 5 characters: none). Never fails:
 * out->n <= RP_ENC_MAX_BLOCKING_KEYS.
 */
void rp_encode__blocking(const rp_encode__block_keys *k,
                         const rp_enc_identifiers *id,
                         const char *doc_canon,
                         const uint64_t *clk,
                         size_t words,
                         rp_enc_blocking *out);

/* ==== hub key files (keys.c) ==== */

/** First lines of the hub's key files. */
#define RP_HUB_PUBLIC_MAGIC "rapporteur-hub-public-key v1"
#define RP_HUB_SECRET_MAGIC "rapporteur-hub-secret-key v1"

/**
 * Read the hub's public key file ("rapporteur-hub-public-key v1\n<64 hex>\n").
 * @return RP_OK; RP_EIO (cannot read); RP_EPARSE (not a hub public key file; the
 *         message never quotes the content).
 */
int rp_encode__read_hub_public(const char *path,
                               unsigned char pk[crypto_box_PUBLICKEYBYTES],
                               rp_error *err);

/**
 * Read the hub's secret key file ("rapporteur-hub-secret-key v1\n<hex pk>\n<hex sk>\n"),
 * refused (RP_EPERM) when group or others may read or write it or it is not a regular
 * file, as rp_secret_load(). @p sk must be caller-provided guarded memory
 * (sodium_malloc); the file's bytes are read into guarded memory too and wiped. The key
 * pair is checked: sk must give pk.
 * @return RP_OK; RP_EIO; RP_EPERM; RP_EPARSE; RP_ENOMEM.
 */
int rp_encode__read_hub_secret(const char *path,
                               unsigned char pk[crypto_box_PUBLICKEYBYTES],
                               unsigned char sk[crypto_box_SECRETKEYBYTES],
                               rp_error *err);

/**
 * The 32 bytes of a loaded secret (guarded, read-only memory; borrowed). For the
 * encoder's key derivation only.
 */
const unsigned char *rp_encode__secret_bytes(const rp_secret *s);

/* ==== token filter rows (clk.c) ==== */

/**
 * Make @p e set each token's bit positions one by one, as it does for salted records,
 * instead of ORing the token's precomputed filter row: the result is the same. Not
 * thread-safe; for tests, before any rp_encoder_encode() call.
 */
void rp_encode__encoder_drop_rows(rp_encoder *e);

/** @p e's blocking key material (borrowed, read-only), for tests. */
const rp_encode__block_keys *rp_encode__encoder_block_keys(const rp_encoder *e);

/* ==== SipHash-2-4, 128-bit output, fed in pieces (keys.c) ==== */

/** A SipHash-2-4-128 computation (as crypto_shorthash_siphashx24) in progress. */
typedef struct rp_encode__sip128 {
    uint64_t v[4];
    uint64_t tail; /* bytes of the unfinished word */
    size_t len;    /* bytes absorbed */
} rp_encode__sip128;

/** One SipHash round on state @p v. */
static inline void rp_encode__sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = (v[1] << 13) | (v[1] >> 51);
    v[1] ^= v[0];
    v[0] = (v[0] << 32) | (v[0] >> 32);
    v[2] += v[3];
    v[3] = (v[3] << 16) | (v[3] >> 48);
    v[3] ^= v[2];
    v[0] += v[3];
    v[3] = (v[3] << 21) | (v[3] >> 43);
    v[3] ^= v[0];
    v[2] += v[1];
    v[1] = (v[1] << 17) | (v[1] >> 47);
    v[1] ^= v[2];
    v[2] = (v[2] << 32) | (v[2] >> 32);
}

/** The 8 bytes at @p p as a little-endian number. */
static inline uint64_t rp_encode__load_le64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v = 0;
    memcpy(&v, p, sizeof(v));
    return v;
#else
    uint64_t v = 0;
    for (unsigned b = 0; b < 8; b++)
        v |= (uint64_t)p[b] << (8u * b);
    return v;
#endif
}

/** The SipHash state of the 16-byte @p key (64-bit output; the 128-bit variant then
    flips v[1] ^= 0xee). */
static inline void rp_encode__sip_init(uint64_t v[4], const unsigned char key[16])
{
    uint64_t k0 = rp_encode__load_le64(key);
    uint64_t k1 = rp_encode__load_le64(key + 8);
    v[0] = k0 ^ 0x736f6d6570736575ull;
    v[1] = k1 ^ 0x646f72616e646f6dull;
    v[2] = k0 ^ 0x6c7967656e657261ull;
    v[3] = k1 ^ 0x7465646279746573ull;
}

/** Absorb one 8-byte message word @p m: the two compression rounds of SipHash-2-4. */
static inline void rp_encode__sip_compress(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    rp_encode__sipround(v);
    rp_encode__sipround(v);
    v[0] ^= m;
}

/** Absorb the last word @p last (the message's tail bytes with its length byte on top)
    and finalise the 64-bit output: four rounds after v[2] ^= 0xff. */
static inline uint64_t rp_encode__sip64_finish(uint64_t v[4], uint64_t last)
{
    rp_encode__sip_compress(v, last);
    v[2] ^= 0xffu;
    for (unsigned r = 0; r < 4; r++)
        rp_encode__sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/**
 * SipHash-2-4 with a 64-bit output of the @p len bytes at @p m under the 16-byte @p key:
 * the value crypto_shorthash() gives, read as a little-endian number. Inline, so that
 * the blocking keys of a record (some twenty short messages) cost no library calls and
 * overlap in the processor.
 */
static inline uint64_t
rp_encode__sip64(const unsigned char key[16], const unsigned char *m, size_t len)
{
    uint64_t v[4];
    rp_encode__sip_init(v, key);
    size_t i = 0;
    for (; i + 8 <= len; i += 8)
        rp_encode__sip_compress(v, rp_encode__load_le64(m + i));
    uint64_t last = (uint64_t)(len & 0xffu) << 56;
    for (unsigned b = 0; i + b < len; b++)
        last |= (uint64_t)m[i + b] << (8u * b);
    return rp_encode__sip64_finish(v, last);
}

/**
 * rp_encode__sip64() of a message of @p len <= 7 bytes given as the little-endian number
 * @p m (its bytes beyond @p len zero): one block, nothing to copy. Precondition (asserted):
 * len <= 7; a longer message does not fit the one block with its length byte, and would
 * give a wrong hash silently.
 */
static inline uint64_t rp_encode__sip64_short(const unsigned char key[16], uint64_t m, size_t len)
{
    assert(len <= 7);
    uint64_t v[4];
    rp_encode__sip_init(v, key);
    return rp_encode__sip64_finish(v, m | (uint64_t)(len & 0xffu) << 56);
}

/** Start with the 16-byte @p key (crypto_shorthash_siphashx24_KEYBYTES). */
void rp_encode__sip128_init(rp_encode__sip128 *s, const unsigned char key[16]);

/** Absorb @p n bytes at @p data. */
void rp_encode__sip128_update(rp_encode__sip128 *s, const void *data, size_t n);

/**
 * The 16-byte hash, byte-identical to crypto_shorthash_siphashx24() of everything
 * absorbed, into @p out; @p s is wiped.
 */
void rp_encode__sip128_final(rp_encode__sip128 *s, unsigned char out[16]);

/** sodium_init() once; false when libsodium cannot be initialised. */
bool rp_encode__sodium_ready(void);

#endif
