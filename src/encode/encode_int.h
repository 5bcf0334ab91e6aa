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

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/** sodium_init() once; false when libsodium cannot be initialised. */
bool rp_encode__sodium_ready(void);

#endif
