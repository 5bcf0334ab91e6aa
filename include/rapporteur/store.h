/*
 * rapporteur: the embedded store (one SQLite file): submissions with provenance, case
 * records in the standard, quarantined rows with every reason, exports, counts, and
 * capture histories for estimation.
 */
#ifndef RAPPORTEUR_STORE_H
#define RAPPORTEUR_STORE_H

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** File used when no --store is given (in the current directory). */
#define RP_STORE_DEFAULT_PATH "rapporteur.db"

/** An open store (opaque). One per thread. */
typedef struct rp_store rp_store;

/** Flags for rp_store_open(). */
#define RP_STORE_CREATE   0x1u /* create the file if absent (rapporteur init) */
#define RP_STORE_READONLY 0x2u

/**
 * Open (and with RP_STORE_CREATE create) a store, in WAL mode, applying any pending
 * schema migrations in one transaction.
 * @return RP_OK; RP_ENOTFOUND (no such store and no CREATE); RP_ESQL (not a rapporteur
 *         store, newer schema than this program, SQLite error: err->sys_code); RP_ENOMEM.
 */
RP_API int rp_store_open(rp_store **out, const char *path, unsigned flags, rp_error *err);

/** Close. NULL-safe. */
RP_API void rp_store_close(rp_store *st);

/** Schema version of the open store. */
RP_API int rp_store_schema_version(const rp_store *st);

/** Options for rp_store_import(). Initialise with RP_IMPORT_OPTS_INIT. */
typedef struct rp_import_opts {
    unsigned version;
    const char *agency; /* submitting agency (provenance); NULL = "" */
    const char *list;   /* list code for every row, overriding the mapping; NULL = none */
    rp_reader_opts reader;
    bool allow_reimport;     /* import a file whose SHA-256 is already in the store */
    rp_progress_fn progress; /* rows so far (of an estimate); may be NULL */
    void *payload;
} rp_import_opts;

#define RP_IMPORT_OPTS_VERSION 1
/* clang-format off */
#define RP_IMPORT_OPTS_INIT \
    {RP_IMPORT_OPTS_VERSION, NULL, NULL, RP_READER_OPTS_INIT, false, NULL, NULL}

/* clang-format on */

/** What an import did. read == stored + quarantined always. */
typedef struct rp_import_report {
    long long submission_id;
    long long read, stored, quarantined;
    char sha256[65];        /* of the input file, hex */
    bool duplicate;         /* the file was imported before (and was not imported again) */
    long long duplicate_of; /* that submission's id */
} rp_import_report;

/**
 * Import one file through @p mapping (bound to the file's header by the call, hence not
 * const) as one transaction (BEGIN IMMEDIATE ... COMMIT):
 * every row is stored or quarantined with every reason; on any failure nothing is kept.
 * A file already imported (same SHA-256) is refused unless opts->allow_reimport, with
 * report->duplicate set and RP_OK returned. Case ids repeated within a list are
 * quarantined (rule "duplicate").
 * @return RP_OK; RP_EIO; RP_EPARSE (the file is unusable: nothing stored); RP_EDATA
 *         (mapping does not fit the header); RP_ESQL; RP_ECANCELED; RP_ENOMEM.
 */
RP_API int rp_store_import(rp_import_report *report,
                           rp_store *st,
                           const char *path,
                           rp_mapping *mapping,
                           const rp_import_opts *opts,
                           rp_error *err);

/** One submission (row of the submissions table). */
typedef struct rp_submission {
    long long id;
    char agency[RP_DATA_ID_MAX];
    char list[RP_DATA_ID_MAX]; /* "" when rows carry their own lists */
    char file_name[256];       /* base name only */
    char sha256[65];
    char mapping[RP_DATA_ID_MAX];
    char imported_at[32]; /* ISO 8601 UTC */
    long long read, stored, quarantined;
} rp_submission;

/** Call @p fn for every submission, oldest first; a nonzero return stops (RP_ECANCELED). */
RP_API int rp_store_submissions(rp_store *st,
                                int (*fn)(const rp_submission *s, void *payload),
                                void *payload,
                                rp_error *err);

/** Call @p fn for each list with its number of stored records, by list code. */
RP_API int rp_store_lists(rp_store *st,
                          int (*fn)(const char *list, long long records, void *payload),
                          void *payload,
                          rp_error *err);

/** One quarantined row: where it came from and one of its reasons. */
typedef struct rp_quarantine_entry {
    long long submission_id;
    char file_name[256];
    rp_issue issue;
} rp_quarantine_entry;

/** Call @p fn for every reason of every quarantined row (of one submission, or all if 0). */
RP_API int rp_store_quarantine(rp_store *st,
                               long long submission_id,
                               int (*fn)(const rp_quarantine_entry *q, void *payload),
                               void *payload,
                               rp_error *err);

/** Export formats. */
typedef enum rp_export_format { RP_EXPORT_CSV = 0, RP_EXPORT_JSON } rp_export_format;

/**
 * Write every stored record (of one list, or all when @p list is NULL) in the standard:
 * CSV with the standard's field names as header (multi-valued fields joined with ';',
 * cells starting with = + - @ prefixed with ' against formula injection), or JSON (an
 * array of objects). @return RP_OK; RP_EIO; RP_ESQL.
 */
RP_API int
rp_store_export(rp_store *st, FILE *out, rp_export_format format, const char *list, rp_error *err);

/**
 * Count stored records by the values of one field (codes of multi-valued fields are
 * counted once each; "" stands for missing). @p fn gets value and count, by value.
 */
RP_API int rp_store_stats(rp_store *st,
                          rp_field field,
                          int (*fn)(const char *value, long long count, void *payload),
                          void *payload,
                          rp_error *err);

/**
 * Capture histories from the store: one person per distinct person_id (records without a
 * person_id are left out, with their number in *unlinked), on the lists that recorded
 * them; strata by standard fields (@p by: "registration_year", "sex", ...; a person's
 * stratum value is taken from their earliest-registered record). Lists in code order.
 * @return RP_OK; RP_EDATA (fewer than 2 or more than 15 lists; no linked records);
 *         RP_EINVAL (unknown field); RP_ESQL; RP_ENOMEM.
 */
RP_API int rp_store_capture_set(rp_capture_set **out,
                                long long *unlinked,
                                rp_store *st,
                                const char *const *by,
                                size_t n_by,
                                rp_error *err);

/* ==== encoded submissions and linkage runs (src/store/encoded.c, src/store/linkrun.c) ==== */

/**
 * Import one submission file of the encoding step (rp_sub_reader_open: plain, or sealed
 * and opened with @p hub_key_path) as one transaction: its case attributes become records
 * of the submission's list (case id = the pseudonymous record id, validated against the
 * data standard like any import: bad ones quarantined with every reason), and each
 * stored record keeps its CLK, field filters and blocking keys for `rapporteur link`.
 * The submission's encoding schema (JSON, never a secret) is kept with it; a submission
 * whose schema differs from those already in the store in key id, bits or anything
 * that changes the filters is refused (RP_EDATA: filters made with another key or
 * schema cannot be compared). Any reader error rolls back everything. opts->list, if
 * set, must equal the submission's list. Same duplicate-file rule as rp_store_import().
 * Quarantine lines are the file's lines (line 1 is the header, record i is on line i + 1).
 * @return RP_OK; RP_EIO; RP_EPARSE (damaged file: line and column); RP_EPERM (hub key,
 *         seal, read-only store); RP_EDATA (other key or schema: err->path names the file
 *         and the message the first differing parameter; other list); RP_ESQL;
 *         RP_ECANCELED; RP_ENOMEM.
 */
RP_API int rp_store_import_submission(rp_import_report *report,
                                      rp_store *st,
                                      const char *path,
                                      const char *hub_key_path,
                                      const rp_import_opts *opts,
                                      rp_error *err);

/**
 * Every stored encoded record, in one numbering (cases.id order), ready for
 * rp_link_candidates() (<rapporteur/link.h>: its rp_link_input takes these arrays).
 * Owned by the set; free with rp_encoded_set_free().
 */
typedef struct rp_encoded_set {
    size_t n;                      /* records */
    size_t words;                  /* 64-bit words per CLK (bits / 64) */
    unsigned bits;                 /* CLK bits as written (rp_enc_schema_bits) */
    char key_id[17];               /* the secret's public id shared by every submission */
    char *schema_json;             /* the shared encoding schema */
    uint64_t *clks;                /* n * words */
    long long *case_row;           /* n: cases.id of each record */
    uint16_t *list;                /* n: index into lists */
    char (*lists)[RP_DATA_ID_MAX]; /* n_lists list codes, in code order (strcmp) */
    size_t n_lists;
    size_t *key_off;   /* n + 1 */
    uint64_t *keys;    /* key_off[n] keyed blocking keys */
    uint8_t *key_rule; /* their rules (rp_enc_block_rule) */
} rp_encoded_set;

/**
 * Load every encoded record of the store (of the lists named in @p lists, or all when
 * @p n_lists is 0), in one read transaction.
 * @return RP_OK; RP_EINVAL; RP_EDATA (no encoded records, or none on a list named in
 *         @p lists; damaged encodings); RP_ESQL; RP_ENOMEM.
 */
RP_API int rp_store_encoded_load(
    rp_encoded_set **out, rp_store *st, const char *const *lists, size_t n_lists, rp_error *err);

/** Free a set (NULL is fine). */
RP_API void rp_encoded_set_free(rp_encoded_set *set);

/**
 * The cases.id of the stored record (@p list, @p case_id), for linkage in clear text
 * where the records come from the agencies' files. @return RP_OK; RP_ENOTFOUND; RP_ESQL.
 */
RP_API int rp_store_case_row(
    long long *row, rp_store *st, const char *list, const char *case_id, rp_error *err);

/** Decision on a scored pair of a linkage run. */
typedef enum rp_link_decision {
    RP_LINK_NONMATCH = 0,
    RP_LINK_REVIEW,   /* in the clerical-review band */
    RP_LINK_MATCH,    /* at or above the threshold */
    RP_LINK_ACCEPTED, /* clerical review said match */
    RP_LINK_REJECTED  /* clerical review said non-match */
} rp_link_decision;

/** One linkage run to save (all arrays borrowed). */
typedef struct rp_link_run {
    const char *method;      /* "dice" or "fellegi-sunter" */
    const char *params_json; /* the options (thresholds, rules, ...), a JSON object */
    const char *report_json; /* blocking report, cluster stats, sensitivity, a JSON object */
    size_t n_records;
    const long long *case_row; /* n_records cases.id */
    const uint32_t *person;    /* n_records person numbers (rp_link_cluster) */
    size_t n_pairs;            /* scored pairs kept (matches and the review band) */
    const long long *pair_a;   /* cases.id */
    const long long *pair_b;
    const double *score;
    const uint8_t *decision; /* rp_link_decision */
} rp_link_run;

/**
 * Save a linkage run in one transaction: the run (method, parameters, report, time),
 * its pairs with scores and decisions, and each record's person; then every record of
 * the run gets person_id "L<run>-<person>" so that rp_store_capture_set() (and
 * `rapporteur estimate --store`) counts one capture history per person. Records not in
 * the run keep their person_id. Checked before anything is written: a method name,
 * parameters and report NULL ("{}") or JSON objects, each record once, pairs between
 * records of the run (never a record with itself, never twice), decisions
 * rp_link_decision, finite scores. @p run_id may be NULL; 0 on failure.
 * @return RP_OK; RP_EINVAL (any of those, or a case row not in the store: nothing is
 *         kept); RP_EPERM (read-only store); RP_ESQL; RP_ENOMEM.
 */
RP_API int
rp_store_link_save(long long *run_id, rp_store *st, const rp_link_run *run, rp_error *err);

/** A clerical-review verdict on a pair of stored records. */
typedef struct rp_link_review {
    long long case_a; /* cases.id of the two records (either order on input) */
    long long case_b;
    uint8_t decision; /* RP_LINK_ACCEPTED (one person) or RP_LINK_REJECTED (two) */
    long long run_id; /* the run whose review file or page showed the pair; 0 = none */
} rp_link_review;

/** Longest author and source names of rp_store_link_decide(), bytes with the NUL. */
#define RP_LINK_AUTHOR_MAX 64

/**
 * Record clerical-review verdicts in one transaction, in the store's decision log (table
 * link_decisions, created on first use: the pair with case_a < case_b, the verdict, who,
 * where from, the run, UTC time). The log is only ever appended to: it is the audit
 * trail of the verdicts, and the latest verdict on a pair is the one in force
 * (rp_store_link_decisions()). Checked before anything is written: verdicts
 * RP_LINK_ACCEPTED or RP_LINK_REJECTED, two different records that are in the store, a
 * run that is in the store (or 0), an author and a source of 1 to RP_LINK_AUTHOR_MAX - 1
 * bytes without control characters.
 * @param rev     n verdicts (may be NULL when n is 0: nothing to do)
 * @param author  who decided (a reviewer's user name)
 * @param source  where the verdicts come from ("file", ...)
 * @return RP_OK; RP_EINVAL (any of those: the message names the verdict's index, nothing
 *         is kept); RP_EPERM (read-only store); RP_ESQL; RP_ENOMEM.
 * @test   tests/unit/test_store_link.c: store_link_decide__*
 */
RP_API int rp_store_link_decide(rp_store *st,
                                const rp_link_review *rev,
                                size_t n,
                                const char *author,
                                const char *source,
                                rp_error *err);

/**
 * The verdict in force on every reviewed pair: the latest of (1) the decision log of
 * rp_store_link_decide() and (2) the RP_LINK_ACCEPTED and RP_LINK_REJECTED pairs of the
 * saved runs (as `rapporteur serve`'s review page records them, and as each run saves the
 * verdicts it honoured), where a run's verdicts are dated by the run's time, a logged
 * verdict by its own, and the log wins a tie. Works on a read-only store.
 * @param out    *n_out verdicts with case_a < case_b, sorted by (case_a, case_b), run_id
 *               the run it was made on (0 when none); free with rp_free(); NULL when none
 * @return RP_OK; RP_EINVAL; RP_ESQL; RP_ENOMEM.
 * @note   A verdict made in the browser on an older run counts from that run's time: a
 *         later run that honoured another verdict on the pair outranks it.
 * @test   tests/unit/test_store_link.c: store_link_decisions__*
 */
RP_API int
rp_store_link_decisions(rp_link_review **out, size_t *n_out, rp_store *st, rp_error *err);

#ifdef __cplusplus
}
#endif

#endif
