/*
 * Private interface between the submission reader (submission.c) and sealed files
 * (seal.c): the streaming unsealer the reader pulls plaintext from, so that a sealed
 * submission is read without a decrypted copy on disk, and a reader over memory for the
 * fuzz target and tests. docs/encoding.md, "Submission files and sealing", has the formats.
 */
#ifndef RP_ENCODE_SUBMISSION_INT_H
#define RP_ENCODE_SUBMISSION_INT_H

#include "common/common_int.h"

#include <rapporteur/encode.h>
#include <rapporteur/error.h>

/* ==== sealed files (seal.c) ==== */

/** Magic at the start of every sealed file. */
#define RP_SEAL_MAGIC     "RPSEAL1\n"
#define RP_SEAL_MAGIC_LEN 8

/** Plaintext bytes per secretstream chunk (the last chunk may hold fewer). */
#define RP_SEAL_CHUNK ((size_t)65536)

/** True when the @p len bytes at @p data start with RP_SEAL_MAGIC. */
bool rp_encode__is_sealed(const void *data, size_t len);

/** A sealed file being decrypted chunk by chunk (opaque). */
typedef struct rp_encode__unsealer rp_encode__unsealer;

/**
 * Start decrypting @p in (positioned at the start of the file, borrowed: the caller
 * closes it after rp_encode__unseal_free) with the hub's secret key file @p hub_key_path.
 * @p path names the sealed file in messages.
 * @return RP_OK; RP_EIO; RP_EPARSE (not a sealed file); RP_EPERM (key file permissions,
 *         or the seal does not open with that key); RP_ENOMEM.
 */
int rp_encode__unseal_open(
    rp_encode__unsealer **out, FILE *in, const char *path, const char *hub_key_path, rp_error *err);

/**
 * Decrypt the next chunk into @p buf (RP_SEAL_CHUNK bytes at least); *@p n_out bytes.
 * @return 1 with a chunk (possibly empty), 0 once the final chunk was verified and the
 *         file ends there, or RP_EPERM (altered, truncated, data after the end) / RP_EIO.
 */
int rp_encode__unseal_next(rp_encode__unsealer *u,
                           unsigned char *buf,
                           size_t *n_out,
                           rp_error *err);

/** Wipe the stream key and free (NULL is fine). */
void rp_encode__unseal_free(rp_encode__unsealer *u);

/* ==== output through a temporary file (seal.c) ==== */

/*
 * A file written as "<path>.tmp.XXXXXX" (mkstemp, mode 0600, same folder) and renamed
 * into place only when complete, so that a reader never sees half a file and a failure
 * leaves nothing behind.
 */
typedef struct rp_encode__outfile {
    FILE *f;    /* buffered stream on the temporary file */
    char *tmp;  /* its path ("" once renamed) */
    char *path; /* final path */
} rp_encode__outfile;

/** Create the temporary file for @p path. On failure @p o holds nothing.
 *  @return RP_OK; RP_EINVAL; RP_EIO; RP_ENOMEM. */
int rp_encode__out_open(rp_encode__outfile *o, const char *path, rp_error *err);

/** Flush, fsync, close and rename into place; then release @p o (also on failure, when
 *  the temporary file is removed). @return RP_OK; RP_EIO. */
int rp_encode__out_commit(rp_encode__outfile *o, rp_error *err);

/** Close and remove the temporary file and release @p o. Safe on a released @p o. */
void rp_encode__out_abort(rp_encode__outfile *o);

/* ==== submissions (submission.c) ==== */

/** Bytes rp_encode__json_quote() writes at most for @p len bytes. */
#define RP_JSON_QUOTE_MAX(len) (6 * (size_t)(len) + 2)

/**
 * Write the JSON string of the @p len bytes at @p s (which may hold NULs) to @p out:
 * quoted, with '"', '\\' and the control characters escaped exactly as Jansson writes
 * them (\b \t \n \f \r, else \u00XX in upper-case hex); other bytes, UTF-8 included,
 * as they are. @p out has room for RP_JSON_QUOTE_MAX(@p len) bytes; no NUL is added.
 * @return the bytes written.
 */
size_t rp_encode__json_quote(char *out, const char *s, size_t len);

/**
 * rp_sub_writer_add() for case attributes @p attrs that the caller has already checked
 * against the data standard (rp_mapping_apply() returned RP_OK for them, or
 * rp_case_record_validate() did): the writer does not validate them again. Their list,
 * case id and person id are replaced as rp_sub_writer_add() replaces them, which keeps a
 * valid record valid. @p attrs NULL is validated as by rp_sub_writer_add(). Same
 * returns, except that RP_EDATA cannot come from valid attributes.
 * @test tests/unit/test_encode_submission.c: sub_writer_add_valid__same_bytes
 */
int rp_encode__sub_writer_add_valid(rp_sub_writer *w,
                                    const char *pseudonym,
                                    const uint64_t *clk,
                                    const uint64_t *field_filters,
                                    const rp_enc_blocking *blocking,
                                    const rp_case_record *attrs,
                                    rp_error *err);

/** Longest line of a submission file, bytes without the newline. */
#define RP_SUB_MAX_LINE ((size_t)1 << 20)

/**
 * Open a submission held in memory (borrowed until rp_sub_reader_free); @p name labels
 * errors. Sealed content is refused (RP_EPERM). As rp_sub_reader_open otherwise.
 */
int rp_encode__sub_reader_open_mem(
    rp_sub_reader **out, const void *data, size_t len, const char *name, rp_error *err);

#endif
