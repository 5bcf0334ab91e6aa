/*
 * rapporteur: privacy-preserving encoding at the agency (issue 5). Personal identifiers
 * (names, birth date, sex) are normalised and transliterated to one canonical Latin form,
 * then encoded into keyed Bloom filters (cryptographic long-term keys, CLKs: Schnell,
 * Bachteler & Reiher 2011) with a secret shared by the agencies; only the filters, keyed
 * blocking keys, a pseudonymous record id and the non-identifying case attributes leave
 * the agency, optionally sealed to the hub's public key. docs/encoding.md describes the
 * method, the schema file and the threat model.
 *
 * Secrets live in libsodium guarded memory (sodium_malloc) and are wiped when freed;
 * no function here logs or puts an identifier or a secret into an error message.
 */
#ifndef RAPPORTEUR_ENCODE_H
#define RAPPORTEUR_ENCODE_H

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== normalisation (src/encode/normalise.c) ==== */

/**
 * Version of the normalisation pipeline; recorded in every encoding schema. 2: addresses
 * keep their digits (rp_normalise_address); names are normalised as in version 1.
 */
#define RP_NORMALISE_VERSION 2

/** Longest normalised name in bytes, NUL included. */
#define RP_NAME_MAX 256

/** The normaliser: ICU transliterators and the name-equivalence table (opaque). */
typedef struct rp_normaliser rp_normaliser;

/**
 * Create a normaliser.
 * @param equiv_path  name-equivalence table (CSV: one group of equivalent spellings per
 *                    line, the first the canonical form; data/names/equivalents.csv), or
 *                    NULL for none.
 * @return RP_OK; RP_EIO/RP_EPARSE (table, with path and line); RP_EINTERNAL (ICU);
 *         RP_ENOMEM.
 * @note   Not thread-safe: one normaliser per thread.
 */
RP_API int rp_normaliser_new(rp_normaliser **out, const char *equiv_path, rp_error *err);

/** Free (NULL is fine). */
RP_API void rp_normaliser_free(rp_normaliser *n);

/**
 * Normalise one name (given names, family name or patronymic) to its canonical form:
 * lower-case ASCII words separated by single spaces. Steps: NFKC; case folding;
 * homoglyphs (Latin letters inside Cyrillic words and back); script detection per word
 * and transliteration to Latin by one canonical system per script and language (@p lang
 * an ISO 639-1 code such as "uk", "ru", "el", "ka", or NULL to decide by letters: і ї є ґ
 * mean Ukrainian); removal of remaining marks; apostrophes dropped, hyphens and other
 * punctuation made spaces; spelling folds that bring the common romanisations together
 * (e.g. kh/h, shch/sch/szcz, ie/ye/e, iu/yu/ju); the equivalence table per word
 * (Oleksandr, Aleksandr, Alexander -> one form).
 *
 * @param[out] out  the canonical form ("" for an empty or all-punctuation name).
 * @return RP_OK; RP_EINVAL (bad UTF-8, @p out_size too small: never truncates silently);
 *         RP_EINTERNAL (ICU).
 */
RP_API int rp_normalise_name(
    rp_normaliser *n, const char *in, const char *lang, char *out, size_t out_size, rp_error *err);

/**
 * Normalise an address or other free text that identifies a place (street, house number,
 * suburb, postcode), as rp_normalise_name() does a name, except that digits are kept: a
 * run of decimal digits (of any script, written as ASCII digits) is a word of its own,
 * left as written (no fold, no equivalence table), and a name particle is never joined to
 * it. "12a Stanley St., 4223" gives "12 a stanlei st 4223".
 *
 * @param[out] out  the canonical form: lower-case ASCII words and numbers separated by
 *                  single spaces ("" for an empty or all-punctuation text).
 * @return RP_OK; RP_EINVAL (bad UTF-8, @p out_size too small: never truncates silently);
 *         RP_EINTERNAL (ICU).
 * @test   tests/unit/test_encode_normalise.c: normalise_address__keeps_digits
 */
RP_API int rp_normalise_address(
    rp_normaliser *n, const char *in, const char *lang, char *out, size_t out_size, rp_error *err);

/**
 * Split a full name written in one column into given names and family name, then
 * normalise both (rp_normalise_name). @p family_first: the family name is the first
 * word (Hungarian, Vietnamese, Chinese order, or an agency writing "FAMILY Given"); else
 * the last word. Name particles (van, de, al, ben, ...) stay with the family name.
 */
RP_API int rp_normalise_full_name(rp_normaliser *n,
                                  const char *in,
                                  bool family_first,
                                  const char *lang,
                                  char *given,
                                  size_t given_size,
                                  char *family,
                                  size_t family_size,
                                  rp_error *err);

/** A birth date, possibly partial: 0 for an unknown part. */
typedef struct rp_birth_date {
    int year;  /* 1900..2100, or 0 */
    int month; /* 1..12, or 0 */
    int day;   /* 1..31, or 0 */
} rp_birth_date;

/**
 * Read a birth date as rp_mapping_ident_read() gives it: "YYYY-MM-DD", "YYYY-MM", "YYYY"
 * or "" (all zero).
 * @return RP_OK; RP_EDATA (not one of those forms, or not a calendar date).
 */
RP_API int rp_birth_date_parse(rp_birth_date *out, const char *iso);

/* ==== keys (src/encode/keys.c) ==== */

/** Bytes of the shared linkage secret. */
#define RP_SECRET_BYTES 32

/** The agencies' shared linkage secret, in guarded memory (opaque). */
typedef struct rp_secret rp_secret;

/**
 * Create a new random secret file at @p path (hex text, mode 0600, O_EXCL: an existing
 * file is never overwritten).
 * @return RP_OK; RP_EIO (exists, cannot create); RP_ENOMEM.
 */
RP_API int rp_secret_generate(const char *path, rp_error *err);

/**
 * Load a secret file. Refused (RP_EPERM) when the file is readable or writable by group
 * or others, or is not a regular file.
 * @return RP_OK; RP_EIO; RP_EPERM; RP_EPARSE (not a secret file); RP_ENOMEM.
 */
RP_API int rp_secret_load(rp_secret **out, const char *path, rp_error *err);

/** Wipe and free (NULL is fine). */
RP_API void rp_secret_free(rp_secret *s);

/**
 * Short public id of a secret (first 8 bytes of BLAKE2b-256 of it under the label
 * "rapporteur key id", hex): recorded in schemas so that a hub sees two files were
 * encoded with the same secret, without learning it.
 */
RP_API void rp_secret_id(const rp_secret *s, char out[17]);

/**
 * Create the hub's key pair for sealed submissions (libsodium crypto_box): @p pub_path
 * (mode 0644) and @p key_path (mode 0600, O_EXCL).
 */
RP_API int rp_hub_keygen(const char *pub_path, const char *key_path, rp_error *err);

/* ==== encoding (src/encode/clk.c, schema.c, blocking.c) ==== */

/** Identifier fields an encoding schema can use. */
typedef enum rp_enc_field {
    RP_ENC_GIVEN_NAME = 0,
    RP_ENC_FAMILY_NAME,
    RP_ENC_PATRONYMIC,
    RP_ENC_BIRTH_DATE, /* tokens: year, month, day and the day/month-swapped form */
    RP_ENC_SEX,
    RP_ENC_DOCUMENT, /* identity or travel document number: q-grams of its letters and
                        digits (separators dropped) */
    RP_ENC_ADDRESS,  /* free text such as an address or place of birth: q-grams of its
                        normalised words and numbers (rp_normalise_address) */
    RP_ENC_FIELD_COUNT
} rp_enc_field;

/** Encoding of one field. */
typedef struct rp_enc_field_spec {
    bool used;
    unsigned q;    /* q-gram length for names (default 2; names padded with '_') */
    unsigned k;    /* hash positions per token (default by field) */
    double weight; /* informational: share of set bits wanted from this field */
} rp_enc_field_spec;

/**
 * An encoding schema: every parameter of the encoding, never the secret. Travels with
 * the encoded data as JSON (rp_enc_schema_to_json, rp_enc_schema_parse).
 */
typedef struct rp_enc_schema {
    unsigned version;           /* RP_ENC_SCHEMA_VERSION */
    unsigned normalise_version; /* RP_NORMALISE_VERSION at encoding time */
    unsigned l;                 /* filter bits: 64..8192, multiple of 64; default 1024 */
    rp_enc_field_spec fields[RP_ENC_FIELD_COUNT];
    bool field_filters;   /* also one filter per field (default false) */
    bool shared_name_key; /* given names, family name and patronymic hashed with
                             one key, so a record with given and family name
                             swapped encodes to the same CLK (default true);
                             field filters stay per field */
    bool balance;         /* balanced filters: filter || complement, permuted by
                             a keyed permutation (Berndt et al. 2020); doubles l */
    unsigned xor_folds;   /* 0..2 XOR folds (Schnell & Borgs 2016); halve l each */
    bool salt_birth_year; /* salt every token with the birth year (record-level
                             salting); records without a year are unsalted */
    double blip_epsilon;  /* > 0: BLIP randomised response (Schnell & Borgs
                             2016, Alaggan et al. 2012), each bit flipped with
                             probability 1 / (1 + e^epsilon); 0 = off */
    unsigned lsh_bands;   /* LSH blocking on the CLK: bands (default 16) */
    unsigned lsh_rows;    /* bits sampled per band (default 16) */
    char key_id[17];      /* rp_secret_id of the secret used ("" before use) */
    unsigned name_rules;  /* naming-convention word roles in given and family names
                             (rp_enc_identifiers.lang): 0 off (every word gets k),
                             RP_ENC_NAME_RULES the rule set of docs/encoding.md
                             (default); a schema without the key is off */
    unsigned k_secondary; /* with name_rules: hash positions per q-gram of a
                             secondary name word, 1..k of the name fields
                             (default 15); ignored when off */
    unsigned pseudonym;   /* construction of the pseudonymous ids
                             (rp_encoder_pseudonym): RP_ENC_PSEUDONYM_BLAKE2B (1)
                             or RP_ENC_PSEUDONYM_SIPHASH (2, default); the same
                             case gives different pseudonyms under each, so the
                             hub refuses to mix them; a schema without the key
                             is 1 (schemas written before it existed) */
} rp_enc_schema;

/**
 * Pseudonym constructions (rp_enc_schema.pseudonym), both keyed by a subkey of the
 * secret (crypto_kdf_derive_from_key id 19, context "rpencode") over list || 0 || case
 * id, 128-bit output: 1, keyed BLAKE2b-128 (crypto_generichash) with a 32-byte subkey,
 * as every schema written before the key existed; 2, SipHash-2-4-128
 * (crypto_shorthash_siphashx24) with a 16-byte subkey, the default (docs/encoding.md
 * "Dice and pseudonyms").
 */
#define RP_ENC_PSEUDONYM_BLAKE2B 1
#define RP_ENC_PSEUDONYM_SIPHASH 2

#define RP_ENC_SCHEMA_VERSION 1

/**
 * The rule set of naming conventions this build applies (rp_enc_schema.name_rules): the
 * word roles of src/encode/name_rules.c and the citizenship -> language table of
 * rp_enc_lang_of_citizenship(). A change to either, which would encode the same record
 * differently, takes a new number.
 */
#define RP_ENC_NAME_RULES 1

/** Fill @p s with the defaults (docs/encoding.md). */
RP_API void rp_enc_schema_default(rp_enc_schema *s);

/** Parse / write a schema (JSON). Unknown keys are errors (RP_EINVAL with JSON path). */
RP_API int rp_enc_schema_parse(rp_enc_schema *s, const char *json, size_t len, rp_error *err);
RP_API char *rp_enc_schema_to_json(const rp_enc_schema *s); /* rp_free; NULL on OOM */

/** Bits of the CLK as written: l, doubled by balancing, halved by each XOR fold. */
RP_API unsigned rp_enc_schema_bits(const rp_enc_schema *s);

/** The normalised identifiers of one record (strings borrowed; "" = missing). */
typedef struct rp_enc_identifiers {
    const char *given; /* rp_normalise_name output */
    const char *family;
    const char *patronymic;
    rp_birth_date birth;
    rp_sex sex;
    const char *document; /* as written; the encoder keeps letters and digits, upper-cased */
    const char *address;  /* rp_normalise_address output (rp_normalise_name output is
                             accepted: it has no digits) */
    const char *lang;     /* ISO 639-1 code of the person's naming culture ("es", "pt",
                             "ar"; "es-MX" and "es_MX" also read), or NULL when unknown:
                             under the schema's name_rules it says which words of the
                             given and family names are secondary, i.e. often dropped
                             by other records (docs/encoding.md "Naming conventions");
                             NULL and languages without a rule weigh every word alike;
                             rp_enc_lang_of_citizenship() gives it from a citizenship */
} rp_enc_identifiers;

/**
 * The naming culture of a citizen of @p alpha2, for rp_enc_identifiers.lang: the language
 * whose romanisation and naming conventions (docs/encoding.md "Naming conventions") fit
 * most names of that country's citizens, e.g. "ES", "MX" -> "es", "BR" -> "pt",
 * "SY" -> "ar", "UA" -> "uk".
 *
 * @param[in] alpha2  ISO 3166-1 alpha-2 code in upper case, as rp_case_record.citizenship
 *                    holds it when its state is known; may be NULL.
 * @return a static ISO 639-1 code (never to be freed), or NULL for a country outside the
 *         table, NULL, lower case or anything but two characters: the encoder then
 *         weighs every word of a name alike and the normaliser decides by the letters.
 * @note   The table is part of rule set RP_ENC_NAME_RULES: a schema's name_rules value
 *         promises the same language for the same citizenship. One language a country:
 *         the one most of its citizens' names are written in (Russian for Belarus and
 *         Kazakhstan, Farsi for Afghanistan); 62 countries, the table in
 *         src/encode/name_rules.c. Thread-safe.
 * @test   tests/unit/test_encode_names.c: names__lang_of_citizenship
 */
RP_API const char *rp_enc_lang_of_citizenship(const char *alpha2);

/** Most blocking keys per record. */
#define RP_ENC_MAX_BLOCKING_KEYS 40

/** Keyed blocking keys of one record: 64-bit keyed hashes, each tagged by its rule. */
typedef struct rp_enc_blocking {
    uint64_t keys[RP_ENC_MAX_BLOCKING_KEYS];
    uint8_t rule[RP_ENC_MAX_BLOCKING_KEYS]; /* rp_enc_block_rule */
    size_t n;
} rp_enc_blocking;

/** Blocking rules (docs/encoding.md). */
typedef enum rp_enc_block_rule {
    RP_BLOCK_FAMILY_PHONETIC_YEAR = 0, /* phonetic code of the family name + birth year */
    RP_BLOCK_GIVEN_PHONETIC_DATE,      /* phonetic given name + birth month and day (either
                                          order: day/month swaps block together) */
    RP_BLOCK_NAMES_PHONETIC,           /* phonetic family + phonetic given (either order) */
    RP_BLOCK_LSH,                      /* one per band: bit-sampling LSH on the CLK */
    RP_BLOCK_DOCUMENT,                 /* the whole document number in canonical form
                                          (letters and digits, upper-cased): exact match;
                                          only when the schema uses the document and it
                                          has at least 5 characters */
    RP_BLOCK_RULE_COUNT
} rp_enc_block_rule;

/** An encoder: a schema with per-field keys derived from the secret (opaque). */
typedef struct rp_encoder rp_encoder;

/**
 * Derive the per-field, permutation, salt and blocking keys from @p secret (BLAKE2b
 * keyed hashing as a KDF, crypto_kdf_derive_from_key) and check @p schema. The secret
 * may be freed afterwards; the encoder keeps only derived keys, in guarded memory. Sets
 * schema->key_id in the encoder's copy (rp_encoder_schema).
 * @return RP_OK; RP_EINVAL (bad schema); RP_ENOMEM.
 */
RP_API int rp_encoder_new(rp_encoder **out,
                          const rp_enc_schema *schema,
                          const rp_secret *secret,
                          rp_error *err);

/** Wipe and free (NULL is fine). */
RP_API void rp_encoder_free(rp_encoder *e);

/** The encoder's schema with key_id set (borrowed). */
RP_API const rp_enc_schema *rp_encoder_schema(const rp_encoder *e);

/**
 * Encode one record.
 * @param[out] clk            rp_enc_schema_bits()/64 words: the record-level filter.
 * @param[out] field_filters  when the schema has field_filters, RP_ENC_FIELD_COUNT
 *                            filters of rp_enc_schema_bits()/64 words each (unused
 *                            fields zero); else may be NULL.
 * @param[out] blocking       keyed blocking keys; may be NULL.
 * @param      record_seed    BLIP only: a per-record value (e.g. the record's position)
 *                            that, with the key, seeds the bit flips, so the output is
 *                            reproducible; ignored without BLIP.
 * @return RP_OK; RP_EINVAL.
 * @note   Thread-safe for concurrent calls on one encoder (it is read-only).
 */
RP_API int rp_encoder_encode(const rp_encoder *e,
                             const rp_enc_identifiers *id,
                             uint64_t record_seed,
                             uint64_t *clk,
                             uint64_t *field_filters,
                             rp_enc_blocking *blocking,
                             rp_error *err);

/** Sørensen–Dice coefficient 2|A&B| / (|A| + |B|) of two filters of @p words words
 *  (0 when both are empty). */
RP_API double rp_dice(const uint64_t *a, const uint64_t *b, size_t words);

/* ==== submissions (src/encode/submission.c, seal.c) ==== */

/*
 * A submission file (docs/encoding.md, "Submission files and sealing"): JSON Lines,
 * UTF-8. Line 1 is the header {"format": "rapporteur-submission", "version": 1,
 * "created_by": "rapporteur X.Y.Z", "list": CODE, "bits": N, "schema": {...}}; each
 * further line one record {"id": PSEUDONYM, "clk": BASE64, "fields": {...} (only with
 * field filters), "blocks": ["rule:0123456789abcdef", ...], "attrs": {case attributes
 * of the data standard}}; the last line {"end": RECORDS, "blake2b": HEX} counts the
 * records and checksums every byte before it, so a cut or damaged file is refused. The
 * pseudonymous id is a keyed hash of the list code and the agency's case id: stable
 * across re-encodings with the same secret, meaningless without it. No timestamps: the
 * same input and secret give the same bytes.
 */

/** A submission being written (opaque). */
typedef struct rp_sub_writer rp_sub_writer;

/**
 * Start writing @p path (created mode 0600 through a temporary file, renamed into
 * place by rp_sub_writer_close: nothing half-written is left on failure).
 */
RP_API int rp_sub_writer_open(rp_sub_writer **out,
                              const char *path,
                              const char *list,
                              const rp_enc_schema *schema,
                              rp_error *err);

/**
 * Append one record. @p pseudonym: see rp_encoder_pseudonym() (32 lower-case hex
 * digits, nothing else is accepted). @p attrs may be NULL; its list, case id and person
 * id are never written.
 * @return RP_OK; RP_EINVAL (bad pseudonym, field filters missing, bad blocking keys);
 *         RP_EDATA (attrs break the data standard: record skipped, the writer stays
 *         usable); RP_EIO (the writer is finished; close removes the file); RP_ENOMEM.
 */
RP_API int rp_sub_writer_add(rp_sub_writer *w,
                             const char *pseudonym,
                             const uint64_t *clk,
                             const uint64_t *field_filters,
                             const rp_enc_blocking *blocking,
                             const rp_case_record *attrs,
                             rp_error *err);

/** Finish: write, fsync, rename into place; frees @p w. On failure nothing is left. */
RP_API int rp_sub_writer_close(rp_sub_writer *w, rp_error *err);

/** Abandon: remove the temporary file and free (NULL is fine). */
RP_API void rp_sub_writer_abort(rp_sub_writer *w);

/**
 * Pseudonymous record id (32 lower-case hex characters) of a case id on a list, by the
 * construction of the encoder's schema (rp_enc_schema.pseudonym).
 * @test tests/unit/test_encode_clk.c: pseudonym__old_construction_reproduced
 */
RP_API void
rp_encoder_pseudonym(const rp_encoder *e, const char *list, const char *case_id, char out[33]);

/** One record read back from a submission (pointers valid until the next call). */
typedef struct rp_sub_record {
    const char *id;
    const uint64_t *clk;           /* rp_enc_schema_bits()/64 words */
    const uint64_t *field_filters; /* NULL when the submission has none */
    rp_enc_blocking blocking;
    rp_case_record attrs;
} rp_sub_record;

/** A submission being read (opaque). */
typedef struct rp_sub_reader rp_sub_reader;

/**
 * Open a submission; a sealed one (rp_seal_file) is opened with the hub's key file
 * @p hub_key_path (NULL: sealed files are refused with a clear message).
 * @return RP_OK; RP_EIO; RP_EPARSE (not a submission, with line and column);
 *         RP_EPERM (key file permissions, or the seal does not open with that key).
 */
RP_API int
rp_sub_reader_open(rp_sub_reader **out, const char *path, const char *hub_key_path, rp_error *err);

/** The submission's schema and list code (borrowed). */
RP_API const rp_enc_schema *rp_sub_reader_schema(const rp_sub_reader *r);
RP_API const char *rp_sub_reader_list(const rp_sub_reader *r);

/**
 * Next record: 1 with a record, 0 at the end, or a negative rp_status: RP_EPARSE (with
 * the line and column), RP_EPERM (a damaged sealed chunk), RP_EIO. Errors are sticky,
 * and a file is only valid once 0 is returned (the end line checks count and checksum):
 * an importer must keep what it read in one transaction and roll back on any error.
 */
RP_API int rp_sub_reader_next(rp_sub_reader *r, rp_sub_record *rec, rp_error *err);

RP_API void rp_sub_reader_free(rp_sub_reader *r);

/**
 * Seal a file to the hub's public key: a random XChaCha20-Poly1305 secretstream key,
 * itself sealed with crypto_box_seal to @p hub_pub_path; the file content streamed in
 * authenticated chunks. Output via a temporary file and rename, mode 0600.
 */
RP_API int
rp_seal_file(const char *in_path, const char *out_path, const char *hub_pub_path, rp_error *err);

/** Open a sealed file with the hub's key file (mode 0600 required). RP_EPERM when the
 *  key does not open it or the content was altered. */
RP_API int
rp_unseal_file(const char *in_path, const char *out_path, const char *hub_key_path, rp_error *err);

#ifdef __cplusplus
}
#endif

#endif
