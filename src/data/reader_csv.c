/*
 * Streaming CSV reader behind rp_reader: 64 KiB chunks from a file (or memory), iconv
 * to UTF-8 for legacy encodings, delimiter detection on the header line, libcsv for
 * quoting, and exact physical line numbers for rows and errors. Memory stays bounded by
 * the chunk size plus the longest field allowed (opts->max_field), whatever the file size.
 */
#include "common/common_int.h"
#include "data/data_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>

#include <csv.h>
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/*
 * How it works. (src/mse/capture_csv.c reads capture histories through this reader too,
 * with the RP_DATA__CSV_* flags of data_int.h.)
 *
 * refill() reads the next raw chunk and makes `buf`, the UTF-8 text to parse: the raw
 * bytes themselves, or their iconv conversion when opts->encoding is set (a multibyte
 * sequence cut by the chunk end is carried over to the next chunk). A NUL byte or a byte
 * sequence the encoding rejects truncates `buf` there and leaves a pending error, which
 * is raised once the text before it has been parsed: by then the parser knows the exact
 * line and field of the bad byte.
 *
 * fill() gives libcsv one physical line at a time (up to and including '\n'), so `line`
 * is always the line libcsv is working on when it calls back, and stops as soon as a
 * row is complete. field_cb() copies each field into an arena (offsets, not pointers,
 * since the arena may move) and checks UTF-8 when no encoding was given; row_cb() queues
 * the row with the line where it started. rp_data__csv_next() hands out queued rows and
 * empties the arena when none is left, so the arena holds about one row.
 *
 * Lines: a row starts on the line where its first field starts. That differs from the
 * line being parsed only when the first field is quoted and spans lines, which
 * `open_row_line` records; `quote_line` records where the currently open quoted field
 * started, for the "unbalanced quote" message at the end of the file.
 *
 * libcsv runs in strict mode: a quote inside an unquoted field, or text after a closing
 * quote, is a parse error (the file is unusable) rather than a silent swallowing of
 * the following lines. Spaces and tabs around unquoted fields are trimmed (libcsv's
 * default); quoted fields are kept exactly. Empty lines are skipped.
 */

#define CHUNK           ((size_t)64 * 1024)
#define CSV_BLOCK       ((size_t)4 * 1024) /* libcsv field buffer growth step */
#define DECODE_FACTOR   4                  /* UTF-8 bytes per input byte, at most (UTF-16: 3/2) */
#define PEND_NONE       0
#define PEND_NUL        1
#define PEND_ILSEQ      2
#define PEND_INCOMPLETE 3

typedef struct queued_row {
    size_t first; /* index of its first field in offs */
    size_t n;     /* fields */
    long line;
} queued_row;

struct rp_data__csv {
    /* input */
    char *name; /* path or label, for messages; owned */
    FILE *fp;
    const unsigned char *mem;
    size_t mem_len, mem_pos;
    uint64_t size;      /* input size in bytes, 0 if unknown */
    uint64_t raw_done;  /* raw bytes read before the current chunk */
    size_t raw_chunk;   /* raw bytes of the current chunk */
    unsigned char *raw; /* CHUNK bytes plus carried-over bytes */
    size_t carry;       /* bytes of an incomplete sequence kept at raw[0..carry) */
    iconv_t cd;         /* converter when has_cd */
    bool has_cd;        /* opts->encoding was given */
    char *encoding;     /* owned copy of opts->encoding, or NULL */
    char *dec;          /* converted text */
    size_t dec_cap;
    const char *buf; /* UTF-8 text being parsed */
    size_t buf_len, buf_pos;
    int pending; /* PEND_* raised when buf is used up */
    bool eof;    /* no more raw input */
    bool first_chunk;
    bool check_utf8; /* no encoding given, and no RP_DATA__CSV_NO_UTF8_CHECK */

    /* parser */
    struct csv_parser parser;
    bool parser_ready;
    bool finished; /* csv_fini done */
    char delim;
    size_t max_field;
    long line;          /* physical line being parsed, 1-based */
    long row_line;      /* line where the current row started */
    long open_row_line; /* start of a row whose first field is still open, or 0 */
    long quote_line;    /* start of the open quoted field, or 0 */
    size_t field;       /* fields completed in the current row */
    int rc;             /* first error; the reader stays failed */
    rp_error *err;      /* the caller's, during a call */
    rp_error first_err; /* a copy of that error, when saved */
    bool saved;

    /* rows */
    char *arena;
    size_t arena_len, arena_cap;
    size_t *offs;
    size_t n_offs, cap_offs;
    queued_row *rows;
    size_t n_rows, cap_rows, head;
    const char **ptrs;
    size_t cap_ptrs;

    /* header */
    char **names;
    size_t n_names;
};

/* ==== small helpers ==== */

static int set_nomem(rp_data__csv *r)
{
    r->rc = rp_error_set(r->err, RP_ENOMEM, "out of memory");
    return r->rc;
}

/* ==== libcsv callbacks ==== */

/* One field of @p len bytes at @p s; @p check_utf8: check it is UTF-8 (r->check_utf8,
   unless the caller knows the field is ASCII). */
static void put_field(rp_data__csv *r, const char *s, size_t len, bool check_utf8)
{
    if (r->rc != RP_OK) {
        return;
    }
    size_t col = r->field++;
    if (col == 0) {
        r->row_line = r->open_row_line > 0 ? r->open_row_line : r->line;
    }
    r->quote_line = 0;
    if (len > r->max_field) {
        r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, r->line, (long)col + 1,
                                "field longer than %zu bytes", r->max_field);
        return;
    }
    if (check_utf8) {
        size_t bad = rp_x_utf8_check((const unsigned char *)s, len);
        if (bad < len) {
            /* The field ends on r->line: step back over the newlines after the bad byte. */
            long line = r->line;
            for (size_t i = bad; i < len; i++) {
                if (s[i] == '\n') {
                    line--;
                }
            }
            r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, line, (long)col + 1,
                                    "invalid UTF-8 (give --encoding, e.g. WINDOWS-1251)");
            return;
        }
    }
    if (rp_x_grow(&r->arena, &r->arena_cap, r->arena_len + len + 1, 1) != RP_OK ||
        rp_x_grow(&r->offs, &r->cap_offs, r->n_offs + 1, sizeof(*r->offs)) != RP_OK) {
        set_nomem(r);
        return;
    }
    memcpy(r->arena + r->arena_len, s, len);
    r->arena[r->arena_len + len] = '\0';
    r->offs[r->n_offs++] = r->arena_len;
    r->arena_len += len + 1;
}

static void field_cb(void *data, size_t len, void *payload)
{
    rp_data__csv *r = payload;
    put_field(r, data != NULL ? data : "", data != NULL ? len : 0, r->check_utf8);
}

/* The end of a row: queue it (when it has fields). */
static void end_row(rp_data__csv *r)
{
    if (r->rc == RP_OK && r->field > 0) {
        if (rp_x_grow(&r->rows, &r->cap_rows, r->n_rows + 1, sizeof(*r->rows)) != RP_OK) {
            set_nomem(r);
        } else {
            queued_row *q = &r->rows[r->n_rows++];
            q->first = r->n_offs - r->field;
            q->n = r->field;
            q->line = r->row_line;
        }
    }
    r->field = 0;
    r->open_row_line = 0;
    r->quote_line = 0;
}

static void row_cb(int c, void *payload)
{
    (void)c;
    end_row(payload);
}

/* ==== the fast path: lines without quotes ==== */

/*
 * Most lines of an agency file have no quote and end in "\n" or "\r\n". For such a line
 * libcsv's strict mode gives exactly this: the fields between delimiters, spaces and
 * tabs (other than the delimiter) trimmed at both ends, and no row at all when the line
 * holds nothing but them. parse_plain_line() does that with memchr() instead of libcsv's
 * byte-by-byte state machine, through the same put_field() and end_row(), so that line
 * numbers, checks and messages are those of the libcsv path. Anything else (a quote, a
 * bare CR, a line cut by the end of a chunk, libcsv in the middle of a row) goes to libcsv.
 */

/* ROW_NOT_BEGUN of libcsv 3.0 (csv.c): the parser is between rows. */
#define CSV_STATE_ROW_NOT_BEGUN 0

/* Is libcsv between rows, with nothing pending (so that a line may bypass it)? */
static bool parser_idle(const rp_data__csv *r)
{
    return r->parser.pstate == CSV_STATE_ROW_NOT_BEGUN && r->parser.entry_pos == 0 &&
           r->parser.quoted == 0 && r->field == 0;
}

static bool is_blank(char c, char delim)
{
    return (c == ' ' || c == '\t') && c != delim;
}

/* True when the @p n bytes at @p s are all ASCII. */
static bool all_ascii(const char *s, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, sizeof(w));
        acc |= w;
    }
    for (; i < n; i++) {
        acc |= (unsigned char)s[i];
    }
    return (acc & UINT64_C(0x8080808080808080)) == 0;
}

/*
 * Parse the line @p p[0..seg), which ends in '\n', without libcsv. @return false (and
 * nothing done) when the line needs libcsv: it has a quote or a CR before its end.
 */
static bool parse_plain_line(rp_data__csv *r, const char *p, size_t seg)
{
    size_t end = seg - 1; /* without the '\n' */
    if (end > 0 && p[end - 1] == '\r') {
        end--;
    }
    if (memchr(p, '"', end) != NULL || memchr(p, '\r', end) != NULL) {
        return false;
    }
    char delim = r->delim;
    size_t i = 0;
    while (i < end && is_blank(p[i], delim)) {
        i++;
    }
    if (i == end) {
        return true; /* an empty line: libcsv hands out no row */
    }
    bool check = r->check_utf8 && !all_ascii(p, end);
    for (;;) {
        const char *q = memchr(p + i, delim, end - i);
        size_t stop = q != NULL ? (size_t)(q - p) : end;
        size_t a = i, b = stop;
        while (a < b && is_blank(p[a], delim)) {
            a++;
        }
        while (b > a && is_blank(p[b - 1], delim)) {
            b--;
        }
        put_field(r, p + a, b - a, check);
        if (q == NULL || r->rc != RP_OK) {
            break;
        }
        i = stop + 1;
    }
    end_row(r);
    return true;
}

/* ==== input ==== */

/* Read up to @p want raw bytes into @p dst. @return bytes read; sets r->eof at the end. */
static int read_raw(rp_data__csv *r, unsigned char *dst, size_t want, size_t *got)
{
    size_t n;
    if (r->fp != NULL) {
        n = fread(dst, 1, want, r->fp);
        if (n < want) {
            if (ferror(r->fp)) {
                int e = errno;
                r->rc = rp_error_set_at(r->err, RP_EIO, r->name, r->line, 0, "cannot read: %s",
                                        strerror(e));
                rp_x_error_sys(r->err, e);
                return r->rc;
            }
            r->eof = true;
        }
    } else {
        n = r->mem_len - r->mem_pos < want ? r->mem_len - r->mem_pos : want;
        if (n > 0) {
            memcpy(dst, r->mem + r->mem_pos, n);
        }
        r->mem_pos += n;
        if (r->mem_pos == r->mem_len) {
            r->eof = true;
        }
    }
    *got = n;
    return RP_OK;
}

/* Convert raw[0..n) with iconv into dec; keeps an incomplete tail in raw as the carry. */
static int decode(rp_data__csv *r, size_t n)
{
    char *in = (char *)r->raw;
    size_t in_left = n;
    size_t out_len = 0;
    r->carry = 0;
    while (in_left > 0) {
        if (r->dec_cap - out_len < 16) {
            if (rp_x_grow(&r->dec, &r->dec_cap, r->dec_cap + 16, 1) != RP_OK) {
                return set_nomem(r);
            }
        }
        char *out = r->dec + out_len;
        size_t out_left = r->dec_cap - out_len;
        size_t res = iconv(r->cd, &in, &in_left, &out, &out_left);
        out_len = (size_t)(out - r->dec);
        if (res != (size_t)-1) {
            break;
        }
        if (errno == E2BIG) {
            if (rp_x_grow(&r->dec, &r->dec_cap, r->dec_cap * 2, 1) != RP_OK) {
                return set_nomem(r);
            }
        } else if (errno == EINVAL && !r->eof) {
            memmove(r->raw, in, in_left); /* incomplete sequence: finish it next chunk */
            r->carry = in_left;
            break;
        } else {
            r->pending = errno == EINVAL ? PEND_INCOMPLETE : PEND_ILSEQ;
            break;
        }
    }
    r->buf = r->dec;
    r->buf_len = out_len;
    return RP_OK;
}

/* Make the next chunk of UTF-8 text current (buf_len may be 0 at the end of input). */
static int refill(rp_data__csv *r)
{
    size_t n = 0;
    r->raw_done += r->raw_chunk;
    r->raw_chunk = 0;
    r->buf_pos = 0;
    r->buf_len = 0;
    if (read_raw(r, r->raw + r->carry, CHUNK, &n) != RP_OK) {
        return r->rc;
    }
    r->raw_chunk = n;
    n += r->carry;
    if (r->has_cd) {
        if (decode(r, n) != RP_OK) {
            return r->rc;
        }
    } else {
        r->buf = (const char *)r->raw;
        r->buf_len = n;
    }
    if (r->first_chunk) {
        r->first_chunk = false;
        if (r->buf_len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0) {
            r->buf_pos = 3;
        }
    }
    const char *nul = memchr(r->buf + r->buf_pos, '\0', r->buf_len - r->buf_pos);
    if (nul != NULL) {
        r->buf_len = (size_t)(nul - r->buf);
        r->pending = PEND_NUL;
    }
    return RP_OK;
}

/* The error left pending by refill(), now that the text before it is parsed. */
static int raise_pending(rp_data__csv *r)
{
    long col = (long)r->field + 1;
    if (r->pending == PEND_NUL) {
        return r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, r->line, col,
                                       "binary file: expected text, found a NUL byte");
    }
    if (r->pending == PEND_INCOMPLETE) {
        return r->rc =
                   rp_error_set_at(r->err, RP_EPARSE, r->name, r->line, col,
                                   "incomplete '%s' character at the end of the file", r->encoding);
    }
    return r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, r->line, col,
                                   "invalid byte sequence for encoding '%s'", r->encoding);
}

/* ==== parsing ==== */

static int parser_error(rp_data__csv *r)
{
    int e = csv_error(&r->parser);
    if (e == CSV_ENOMEM) {
        return set_nomem(r);
    }
    if (e == CSV_ETOOBIG) {
        return r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, r->line, (long)r->field + 1,
                                       "field longer than %zu bytes", r->max_field);
    }
    return r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, r->line, (long)r->field + 1,
                                   "bad quoting: expected quotes only around a whole field, "
                                   "doubled inside it");
}

static int finish(rp_data__csv *r)
{
    r->finished = true;
    if (csv_fini(&r->parser, field_cb, row_cb, r) != 0 && r->rc == RP_OK) {
        if (csv_error(&r->parser) == CSV_ENOMEM) {
            return set_nomem(r);
        }
        long line = r->quote_line > 0 ? r->quote_line : r->line;
        return r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, line, (long)r->field + 1,
                                       "unbalanced quote: the quoted field starting here is "
                                       "not closed before the end of the file");
    }
    return r->rc;
}

/*
 * Forget the rows handed out, keeping the fields of the row in progress: a segment may
 * hold several rows (bare CR line ends), so fields of the next row can already be in
 * the arena when the queue runs empty.
 */
static void compact(rp_data__csv *r)
{
    size_t keep = r->field;
    size_t first = r->n_offs - keep;
    size_t base = keep > 0 ? r->offs[first] : r->arena_len;
    if (keep > 0) {
        memmove(r->arena, r->arena + base, r->arena_len - base);
        for (size_t i = 0; i < keep; i++) {
            r->offs[i] = r->offs[first + i] - base;
        }
    }
    r->arena_len -= base;
    r->n_offs = keep;
    r->head = r->n_rows = 0;
}

/* Give libcsv the segment @p p[0..seg) of the current chunk: a line up to and including
   its '\n' (@p whole_line), or the rest of the chunk. */
static int parse_segment(rp_data__csv *r, const char *p, size_t seg, bool whole_line)
{
    size_t done = csv_parse(&r->parser, p, seg, field_cb, row_cb, r);
    if (r->rc != RP_OK) {
        return r->rc;
    }
    if (done != seg) {
        return parser_error(r);
    }
    r->buf_pos += seg;
    if (r->parser.quoted) {
        if (r->quote_line == 0) {
            r->quote_line = r->line;
        }
        if (r->field == 0 && r->open_row_line == 0) {
            r->open_row_line = r->line;
        }
    }
    if (r->parser.entry_pos > r->max_field) {
        return r->rc = rp_error_set_at(
                   r->err, RP_EPARSE, r->name, r->quote_line > 0 ? r->quote_line : r->line,
                   (long)r->field + 1, "field longer than %zu bytes", r->max_field);
    }
    if (whole_line) {
        r->line++;
    }
    return RP_OK;
}

/* Parse until at least one row is queued or the input ends. */
static int fill(rp_data__csv *r)
{
    while (r->head == r->n_rows && !r->finished) {
        if (r->buf_pos == r->buf_len) {
            if (r->pending != PEND_NONE) {
                return raise_pending(r);
            }
            if (r->eof) {
                if (r->carry > 0) {
                    r->pending = PEND_INCOMPLETE;
                    return raise_pending(r);
                }
                return finish(r);
            }
            if (refill(r) != RP_OK) {
                return r->rc;
            }
            continue;
        }
        const char *p = r->buf + r->buf_pos;
        size_t left = r->buf_len - r->buf_pos;
        const char *nl = memchr(p, '\n', left);
        size_t seg = nl != NULL ? (size_t)(nl - p) + 1 : left;
        if (nl != NULL && parser_idle(r) && parse_plain_line(r, p, seg)) {
            if (r->rc != RP_OK) {
                return r->rc;
            }
            r->buf_pos += seg;
            r->line++;
        } else if (parse_segment(r, p, seg, nl != NULL) != RP_OK) {
            return r->rc;
        }
    }
    return r->rc;
}

/*
 * The delimiter of the header line: the most frequent of , ; TAB | outside quotes on the
 * first line of @p s (ties go to the earlier in that list), ',' when there is none.
 */
static char detect_delimiter(const char *s, size_t len)
{
    static const char cands[] = {',', ';', '\t', '|'};
    size_t count[sizeof(cands)] = {0};
    bool quoted = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && (c == '\n' || c == '\r')) {
            break;
        } else if (!quoted) {
            for (size_t k = 0; k < sizeof(cands); k++) {
                if (c == cands[k]) {
                    count[k]++;
                }
            }
        }
    }
    size_t best = 0;
    for (size_t k = 1; k < sizeof(cands); k++) {
        if (count[k] > count[best]) {
            best = k;
        }
    }
    return cands[best];
}

/* Take the first row as the header: names trimmed, none empty, none repeated. */
static int take_header(rp_data__csv *r)
{
    if (fill(r) != RP_OK) {
        return r->rc;
    }
    if (r->head == r->n_rows) {
        return r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, 1, 0, "empty file (no header)");
    }
    const queued_row *q = &r->rows[r->head++];
    r->names = rp_calloc(q->n, sizeof(*r->names));
    if (r->names == NULL) {
        return set_nomem(r);
    }
    r->n_names = q->n;
    for (size_t c = 0; c < q->n; c++) {
        r->names[c] = rp_strdup(r->arena + r->offs[q->first + c]);
        if (r->names[c] == NULL) {
            return set_nomem(r);
        }
    }
    for (size_t c = 0; c < r->n_names; c++) {
        if (r->names[c][0] == '\0') {
            return r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, q->line, (long)c + 1,
                                           "empty column name in column %zu of the header", c + 1);
        }
        for (size_t d = 0; d < c; d++) {
            if (strcmp(r->names[c], r->names[d]) == 0) {
                return r->rc = rp_error_set_at(r->err, RP_EPARSE, r->name, q->line, (long)c + 1,
                                               "duplicate column name '%s' (columns %zu and %zu)",
                                               r->names[c], d + 1, c + 1);
            }
        }
    }
    return RP_OK;
}

/* ==== entry points ==== */

static int check_opts(const rp_reader_opts *o, rp_error *err)
{
    char d = o->delimiter;
    if (d == '"' || d == '\n' || d == '\r' || d == ' ' || (unsigned char)d >= 0x80) {
        return rp_error_set(err, RP_EINVAL, "unusable delimiter 0x%02x",
                            (unsigned)(unsigned char)d);
    }
    if (o->max_field == 0) {
        return rp_error_set(err, RP_EINVAL, "max_field must be positive");
    }
    return RP_OK;
}

static int open_input(rp_data__csv *r, const char *path, const void *mem, size_t mem_len)
{
    if (mem != NULL) {
        r->mem = mem;
        r->mem_len = mem_len;
        r->size = mem_len;
        r->eof = mem_len == 0;
        return RP_OK;
    }
    r->fp = fopen(path, "rb");
    if (r->fp == NULL) {
        int e = errno;
        r->rc = rp_error_set_at(r->err, RP_EIO, path, 0, 0, "cannot open: %s", strerror(e));
        rp_x_error_sys(r->err, e);
        return r->rc;
    }
    struct stat st;
    if (fstat(fileno(r->fp), &st) == 0 && S_ISREG(st.st_mode)) {
        r->size = (uint64_t)st.st_size;
    }
    return RP_OK;
}

int rp_data__csv_open(rp_data__csv **out,
                      const char *path,
                      const void *mem,
                      size_t mem_len,
                      uint32_t flags,
                      const rp_reader_opts *opts,
                      rp_error *err)
{
    rp_data__csv *r = NULL;
    int rc = RP_OK;
    *out = NULL;
    if (path == NULL || opts == NULL || (mem == NULL && mem_len > 0)) {
        return rp_error_set(err, RP_EINVAL, "no input given");
    }
    rc = check_opts(opts, err);
    if (rc != RP_OK) {
        return rc;
    }
    r = rp_calloc(1, sizeof(*r));
    if (r == NULL) {
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    r->err = err;
    r->line = 1;
    r->first_chunk = true;
    r->max_field = opts->max_field;
    r->name = rp_strdup(path);
    r->raw = rp_malloc(CHUNK + 16);
    if (r->name == NULL || r->raw == NULL) {
        rc = set_nomem(r);
        goto out;
    }
    if (opts->encoding != NULL && opts->encoding[0] != '\0') {
        r->encoding = rp_strdup(opts->encoding);
        r->dec_cap = CHUNK * DECODE_FACTOR + 16;
        r->dec = rp_malloc(r->dec_cap);
        if (r->encoding == NULL || r->dec == NULL) {
            rc = set_nomem(r);
            goto out;
        }
        r->cd = iconv_open("UTF-8", opts->encoding);
        /* iconv's documented failure value: NOLINTNEXTLINE(performance-no-int-to-ptr) */
        r->has_cd = r->cd != (iconv_t)-1;
        if (!r->has_cd) {
            int e = errno;
            rc = rp_error_set(err, e == ENOMEM ? RP_ENOMEM : RP_EINVAL,
                              "unknown encoding '%s' (try WINDOWS-1251, WINDOWS-1250, "
                              "WINDOWS-1252, ISO-8859-2)",
                              opts->encoding);
            goto out;
        }
    }
    if (csv_init(&r->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
        rc = set_nomem(r);
        goto out;
    }
    csv_set_realloc_func(&r->parser, rp_realloc);
    csv_set_free_func(&r->parser, rp_free);
    csv_set_blk_size(&r->parser, CSV_BLOCK);
    r->parser_ready = true;

    rc = open_input(r, path, mem, mem_len);
    if (rc != RP_OK) {
        goto out;
    }
    if (!r->eof) {
        rc = refill(r);
        if (rc != RP_OK) {
            goto out;
        }
    }
    r->delim = opts->delimiter;
    if (r->delim == 0) {
        /* an empty input has no buffer yet: nothing to detect from */
        if (r->buf != NULL)
            r->delim = detect_delimiter(r->buf + r->buf_pos, r->buf_len - r->buf_pos);
        else
            r->delim = detect_delimiter("", 0);
    }
    csv_set_delim(&r->parser, (unsigned char)r->delim);
    r->check_utf8 = !r->has_cd && (flags & RP_DATA__CSV_NO_UTF8_CHECK) == 0;
    if ((flags & RP_DATA__CSV_HEADER_AS_ROW) == 0) {
        rc = take_header(r);
        if (rc != RP_OK) {
            goto out;
        }
    }
    r->err = NULL;
    *out = r;
    r = NULL;
out:
    rp_data__csv_free(r);
    return rc;
}

size_t rp_data__csv_columns(const rp_data__csv *r, const char *const **names)
{
    *names = (const char *const *)r->names;
    return r->n_names;
}

int rp_data__csv_next(
    rp_data__csv *r, const char *const **fields, size_t *n_fields, long *line, rp_error *err)
{
    if (r->rc != RP_OK) {
        /* A failed reader stays failed and repeats its first error. */
        if (err != NULL && r->saved) {
            *err = r->first_err;
        } else {
            rp_error_set(err, (rp_status)r->rc, "reader already failed");
        }
        return r->rc;
    }
    r->err = err;
    if (r->head == r->n_rows) {
        compact(r);
        if (fill(r) != RP_OK) {
            if (err != NULL) {
                r->first_err = *err;
                r->saved = true;
            }
            r->err = NULL;
            return r->rc;
        }
    }
    r->err = NULL;
    if (r->head == r->n_rows) {
        return 0;
    }
    const queued_row *q = &r->rows[r->head++];
    if (rp_x_grow(&r->ptrs, &r->cap_ptrs, q->n, sizeof(*r->ptrs)) != RP_OK) {
        return r->rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < q->n; i++) {
        r->ptrs[i] = r->arena + r->offs[q->first + i];
    }
    *fields = r->ptrs;
    *n_fields = q->n;
    *line = q->line;
    return 1;
}

double rp_data__csv_progress(const rp_data__csv *r)
{
    if (r->finished || r->size == 0) {
        return r->finished ? 1.0 : 0.0;
    }
    double in_chunk = r->buf_len > 0 ? (double)r->buf_pos / (double)r->buf_len : 1.0;
    double done = (double)r->raw_done + in_chunk * (double)r->raw_chunk;
    double p = done / (double)r->size;
    return p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p;
}

char rp_data__csv_delimiter(const rp_data__csv *r)
{
    return r->delim;
}

void rp_data__csv_free(rp_data__csv *r)
{
    if (r == NULL) {
        return;
    }
    if (r->parser_ready) {
        csv_free(&r->parser);
    }
    if (r->has_cd) {
        iconv_close(r->cd);
    }
    if (r->fp != NULL) {
        fclose(r->fp);
    }
    for (size_t c = 0; c < r->n_names; c++) {
        rp_free(r->names[c]);
    }
    rp_free(r->names);
    rp_free(r->name);
    rp_free(r->encoding);
    rp_free(r->raw);
    rp_free(r->dec);
    rp_free(r->arena);
    rp_free(r->offs);
    rp_free(r->rows);
    rp_free(r->ptrs);
    rp_free(r);
}
