/*
 * Private declarations shared by the files of src/data (the data standard, mappings and
 * readers): issue construction, calendar-date checks and the ISO 3166-1 country table.
 * Unit tests reach these through this header (STYLE.md section 7). Each block names the
 * file that defines it; add new blocks in the same way.
 */
#ifndef RP_DATA_INT_H
#define RP_DATA_INT_H

#include "common/common_int.h"

#include <rapporteur/data.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ==== standard.c: issues ==== */

/**
 * Append one issue to @p l. @p value (may be NULL for "") is copied truncated to fit
 * rp_issue.value, cut back to a whole UTF-8 character, with control bytes (below 0x20,
 * and 0x7f) replaced by '?', so an issue can be printed to a terminal safely. Pass NULL
 * as @p value for identifiers (list, case id, person id), which never go into issues.
 * @p column_name (may be NULL) and @p rule are truncated to fit; the message is
 * printf-formatted and says what was expected.
 *
 * @return RP_OK; RP_ENOMEM (@p l unchanged).
 */
int rp_data__issue_add(rp_issue_list *l,
                       long line,
                       long column,
                       const char *column_name,
                       const char *value,
                       const char *rule,
                       const char *fmt,
                       ...) __attribute__((format(printf, 7, 8)));

/* ==== standard.c: dates ==== */

/** Earliest and latest registration year the standard accepts (inclusive). */
#define RP_DATA_YEAR_MIN 1990
#define RP_DATA_YEAR_MAX 2100

/** Oldest age in years the standard accepts (inclusive; the youngest is 0). */
#define RP_DATA_AGE_MAX 120

/** True for a leap year of the Gregorian calendar. */
bool rp_data__is_leap_year(int year);

/** Days in month @p month (1..12) of @p year; 0 for a month out of range. */
int rp_data__days_in_month(int year, int month);

/**
 * Check the standard's date form: "YYYY-MM-DD" (a real calendar day) or "YYYY-MM",
 * with the year in RP_DATA_YEAR_MIN..RP_DATA_YEAR_MAX and nothing else in @p s.
 *
 * @param[out] year_out  the year when valid; may be NULL.
 * @return true when valid.
 */
bool rp_data__date_is_valid(const char *s, int *year_out);

/* ==== standard.c: countries ==== */

/**
 * Number of entries of the country table: the 249 current ISO 3166-1 codes plus Kosovo
 * (XK/XKX, user-assigned), sorted by alpha-2.
 */
size_t rp_data__country_count(void);

/**
 * Entry @p i (< rp_data__country_count()) of the country table, in alpha-2 order.
 * @param[out] alpha2  upper-case alpha-2 code (static).
 * @param[out] alpha3  upper-case alpha-3 code (static).
 */
void rp_data__country_at(size_t i, const char **alpha2, const char **alpha3);

/* ==== readers (reader.c, reader_csv.c, reader_stat.c; helper "readers") ==== */

/*
 * rp_reader (include/rapporteur/data.h) dispatches to one of two backends: a streaming
 * CSV reader (reader_csv.c, libcsv + iconv) and a ReadStat reader for SPSS .sav/.zsav
 * and Stata .dta (reader_stat.c) that buffers the whole file. Both hand out rows as
 * arrays of borrowed UTF-8 strings with the same contract as rp_reader_next().
 */

/** Streaming CSV reader (opaque; reader_csv.c). */
typedef struct rp_data__csv rp_data__csv;

/*
 * rp_data__csv_open() flags for a caller with its own rules for the header and the text
 * (src/mse/capture_csv.c, whose messages and positions predate this reader): with both,
 * the reader only tokenises, tracks lines and rejects binary input and bad quoting.
 */
#define RP_DATA__CSV_HEADER_AS_ROW 1u /* take no header: rp_data__csv_next() hands it out */
#define RP_DATA__CSV_NO_UTF8_CHECK 2u /* fields are not checked as UTF-8: the caller does */

/**
 * Open a CSV input and read its header: from the file @p path, or, when @p mem is not
 * NULL, from the @p mem_len bytes at @p mem (borrowed; must outlive the reader), with
 * @p path then only naming the input in messages. @p flags is 0 or RP_DATA__CSV_* flags.
 * @p opts must be non-NULL (defaults filled by the caller). Errors as rp_reader_open().
 */
int rp_data__csv_open(rp_data__csv **out,
                      const char *path,
                      const void *mem,
                      size_t mem_len,
                      uint32_t flags,
                      const rp_reader_opts *opts,
                      rp_error *err);
/** The header's names (*names NULL and 0 with RP_DATA__CSV_HEADER_AS_ROW). */
size_t rp_data__csv_columns(const rp_data__csv *r, const char *const **names);
int rp_data__csv_next(
    rp_data__csv *r, const char *const **fields, size_t *n_fields, long *line, rp_error *err);
double rp_data__csv_progress(const rp_data__csv *r);
/** The delimiter in use (given or detected). */
char rp_data__csv_delimiter(const rp_data__csv *r);
void rp_data__csv_free(rp_data__csv *r);

/** SPSS/Stata reader (opaque; reader_stat.c). Whole file read at open. */
typedef struct rp_data__stat rp_data__stat;

/** Largest SPSS/Stata file content held in memory, bytes (values and strings). */
#define RP_DATA_STAT_MAX_BYTES ((uint64_t)1 << 30)

/**
 * Read the SPSS (@p format RP_INPUT_SAV) or Stata (RP_INPUT_DTA) file @p path whole.
 * @return RP_OK; RP_EIO (cannot open); RP_EPARSE (not a valid file, or more than
 *         RP_DATA_STAT_MAX_BYTES in memory); RP_ENOMEM.
 */
int rp_data__stat_open(rp_data__stat **out,
                       const char *path,
                       rp_input_format format,
                       const rp_reader_opts *opts,
                       rp_error *err);
size_t rp_data__stat_columns(const rp_data__stat *r, const char *const **names);
int rp_data__stat_next(
    rp_data__stat *r, const char *const **fields, size_t *n_fields, long *line, rp_error *err);
double rp_data__stat_progress(const rp_data__stat *r);
void rp_data__stat_free(rp_data__stat *r);

/**
 * The format of an input from its first bytes @p head (@p n of them) and then the
 * extension of @p path (may be NULL): SAV for "$FL2"/"$FL3", DTA for "<stata_dta>" or an
 * old-format Stata header (release 104..115, byte order 1/2, file type 1), else by
 * ".sav"/".zsav"/".dta" (any case), else CSV.
 */
rp_input_format rp_data__detect_format(const unsigned char *head, size_t n, const char *path);

/**
 * Open a reader on the @p len bytes at @p data (borrowed; must outlive the reader), read
 * as CSV whatever opts->format says (for fuzzing and tests); @p name labels messages.
 * Otherwise as rp_reader_open().
 */
int rp_data__reader_open_mem(rp_reader **out,
                             const void *data,
                             size_t len,
                             const char *name,
                             const rp_reader_opts *opts,
                             rp_error *err);

/**
 * Shortest decimal text that reads back as @p v ("3", "2.5", "-0.1", "1e+20") into
 * @p buf of @p size bytes (32 is always enough). @return @p buf.
 */
const char *rp_data__format_double(char *buf, size_t size, double v);

/**
 * ISO date "YYYY-MM-DD" of day @p days counted from 1970-01-01 (negative before) into
 * @p buf (at least 16 bytes). @return false when the year is outside 1..9999.
 */
bool rp_data__iso_date(char *buf, size_t size, int64_t days);

/* ==== end of readers ==== */

#endif
