/*
 * Unit tests of the input readers (src/data/reader*.c): CSV quoting, line numbers,
 * chunk boundaries, delimiter detection, encodings and every parse error with its
 * position; SPSS and Stata fixtures read back value by value; allocation failures.
 * Fixtures are in tests/fixtures/readers/ (see its README.md).
 */
#include "data/data_int.h"
#include "rp_test.h"

#include <rapporteur/data.h>

#include <csv.h>
#include <stdint.h>

/* ==== helpers ==== */

/* All rows of a reader, kept as one string per row: fields joined by '|', and lines. */
typedef struct rows {
    char text[64][512];
    long line[64];
    size_t n_fields[64];
    size_t n;
} rows;

static void join(char *out, size_t size, const char *const *fields, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++) {
        int k = snprintf(out + len, size - len, "%s%s", i > 0 ? "|" : "", fields[i]);
        assert_true(k >= 0);
        len += (size_t)k;
    }
    assert_true(len < size);
}

/* Read every row of @p r into @p out; @return the final status of rp_reader_next. */
static int read_all(rp_reader *r, rows *out, rp_error *err)
{
    const char *const *fields = NULL;
    size_t n = 0;
    long line = 0;
    int rc;
    memset(out, 0, sizeof(*out));
    while ((rc = rp_reader_next(r, &fields, &n, &line, err)) == 1) {
        if (out->n < 64) {
            join(out->text[out->n], sizeof(out->text[0]), fields, n);
            out->line[out->n] = line;
            out->n_fields[out->n] = n;
        }
        out->n++;
    }
    return rc;
}

static const char *header_of(const rp_reader *r, char *buf, size_t size)
{
    const char *const *names = NULL;
    size_t n = rp_reader_columns(r, &names);
    join(buf, size, names, n);
    return buf;
}

static const char *fixture(char *buf, size_t size, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "readers/%s", name);
    return rp_test_fixture(buf, size, rel);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Open fixture @p name with @p opts (NULL for defaults); fails the test unless RP_OK. */
static rp_reader *open_fixture(const char *name, const rp_reader_opts *opts)
{
    char path[1024];
    rp_error err = RP_ERROR_INIT;
    rp_reader *r = NULL;
    assert_rp_ok(rp_reader_open(&r, fixture(path, sizeof(path), name), opts, &err), &err);
    return r;
}

/* Open @p name and read to the end; the error must be @p code at line @p line, column @p col
 * with @p needle in the message. Errors at open count too. */
static void expect_error(
    const char *name, const rp_reader_opts *opts, int code, long line, long col, const char *needle)
{
    char path[1024];
    rp_error err = RP_ERROR_INIT;
    rp_reader *r = NULL;
    rows got;
    int rc = rp_reader_open(&r, fixture(path, sizeof(path), name), opts, &err);
    if (rc == RP_OK) {
        rc = read_all(r, &got, &err);
    }
    rp_reader_free(r);
    assert_rp_status(rc, code, &err);
    assert_string_equal(err.path, path);
    assert_int_equal(err.line, line);
    assert_int_equal(err.column, col);
    if (strstr(err.msg, needle) == NULL) {
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
    }
}

/* ==== CSV: fields and lines ==== */

static void data_reader_csv__reads_quoted_fields_with_lines(void **state)
{
    (void)state;
    rp_reader *r = open_fixture("quoted_crlf_bom.csv", NULL);
    char buf[512];
    rp_error err = RP_ERROR_INIT;
    rows got;
    assert_int_equal(rp_reader_format(r), RP_INPUT_CSV);
    /* The BOM is not part of the first name; ';' was detected. */
    assert_string_equal(header_of(r, buf, sizeof(buf)), "case_id|city|note");
    assert_int_equal(read_all(r, &got, &err), 0);
    assert_int_equal(got.n, 5);
    assert_string_equal(got.text[0], "1|Kyiv; centre|line one\r\nline two");
    assert_int_equal(got.line[0], 2);
    /* The blank line 4 is skipped; doubled quotes; an empty last field. */
    assert_string_equal(got.text[1], "2|say \"hi\"|");
    assert_int_equal(got.line[1], 5);
    /* Spaces around an unquoted field are trimmed. */
    assert_string_equal(got.text[2], "3|plain|padded");
    assert_int_equal(got.line[2], 6);
    /* A quoted first field spanning lines: the row starts where that field starts. */
    assert_string_equal(got.text[3], "4\r\nx|y|z");
    assert_int_equal(got.line[3], 7);
    /* Ragged rows are returned as they are. */
    assert_string_equal(got.text[4], "5|only");
    assert_int_equal(got.n_fields[4], 2);
    assert_int_equal(got.line[4], 9);
    assert_close(rp_reader_progress(r), 1.0, 0.0, 0.0);
    /* At the end, next keeps returning 0. */
    const char *const *f = NULL;
    size_t n = 0;
    long line = 0;
    assert_int_equal(rp_reader_next(r, &f, &n, &line, &err), 0);
    rp_reader_free(r);
}

static void data_reader_csv__reads_tab_separated_with_empty_field(void **state)
{
    (void)state;
    rp_reader *r = open_fixture("tab.tsv", NULL);
    char buf[512];
    rp_error err = RP_ERROR_INIT;
    rows got;
    assert_string_equal(header_of(r, buf, sizeof(buf)), "a|b|c");
    assert_int_equal(read_all(r, &got, &err), 0);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.text[0], "1||3");
    assert_int_equal(got.n_fields[0], 3);
    rp_reader_free(r);
}

static void data_reader_csv__detects_delimiter(void **state)
{
    (void)state;

    static const struct {
        const char *csv;
        char delimiter; /* 0 = detect */
        const char *header;
        const char *row;
    } cases[] = {
        {"a,b,c\n1,2,3\n", 0, "a|b|c", "1|2|3"},
        {"a;b;c\n1;2,5;3\n", 0, "a|b|c", "1|2,5|3"},
        {"a\tb\n1\t2\n", 0, "a|b", "1|2"},
        {"a|b|c\n1|2|3\n", 0, "a|b|c", "1|2|3"},
        /* the most frequent wins: 2 ';' against 1 ',' */
        {"a,b;c;d\n1;2;3\n", 0, "a,b|c|d", "1|2|3"},
        /* delimiters inside quotes do not count */
        {"\"x,y,z\";w\n1;2\n", 0, "x,y,z|w", "1|2"},
        /* a tie goes to the earlier of , ; TAB | */
        {"a,b;c\n1,2;3\n", 0, "a|b;c", "1|2;3"},
        /* one column: no delimiter at all */
        {"name\nx;y\n", 0, "name", "x;y"},
        /* the header line only counts, not the rows */
        {"a;b\n1,2,3,4;5\n", 0, "a|b", "1,2,3,4|5"},
        /* given explicitly */
        {"a;b,c\n1;2,3\n", ',', "a;b|c", "1;2|3"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_reader_opts opts = RP_READER_OPTS_INIT;
        opts.delimiter = cases[i].delimiter;
        rp_reader *r = NULL;
        rp_error err = RP_ERROR_INIT;
        char buf[512];
        rows got;
        assert_rp_ok(
            rp_data__reader_open_mem(&r, cases[i].csv, strlen(cases[i].csv), "mem", &opts, &err),
            &err);
        assert_string_equal(header_of(r, buf, sizeof(buf)), cases[i].header);
        assert_int_equal(read_all(r, &got, &err), 0);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.text[0], cases[i].row);
        rp_reader_free(r);
    }
}

static void data_reader_csv__rejects_unusable_delimiter(void **state)
{
    (void)state;
    rp_reader_opts opts = RP_READER_OPTS_INIT;
    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    opts.delimiter = '"';
    assert_rp_status(rp_data__reader_open_mem(&r, "a\n", 2, "mem", &opts, &err), RP_EINVAL, &err);
    assert_null(r);
}

/* Old Mac line ends (bare CR): several rows in one physical line, all numbered 1. */
static void data_reader_csv__bare_cr_line_ends(void **state)
{
    (void)state;
    static const char csv[] = "a,b\r1,2\r3,\"x\"\r,4\r\n5,6\n";
    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    char buf[512];
    rows got;
    assert_rp_ok(rp_data__reader_open_mem(&r, csv, sizeof(csv) - 1, "cr.csv", NULL, &err), &err);
    assert_string_equal(header_of(r, buf, sizeof(buf)), "a|b");
    assert_int_equal(read_all(r, &got, &err), 0);
    assert_int_equal(got.n, 4);
    assert_string_equal(got.text[0], "1|2");
    assert_string_equal(got.text[1], "3|x");
    assert_string_equal(got.text[2], "|4");
    assert_string_equal(got.text[3], "5|6");
    assert_int_equal(got.line[2], 1);
    assert_int_equal(got.line[3], 2);
    rp_reader_free(r);
}

/*
 * Rows of exactly 100 bytes, each a quoted field holding a newline, so that rows and a
 * quoted newline straddle the 64 KiB chunk boundaries; every row must keep its content
 * and its physical line (2 lines per row).
 */
static void data_reader_csv__rows_across_chunk_boundaries(void **state)
{
    (void)state;

    enum { N_ROWS = 3000, WIDTH = 100 };

    char dir[512], path[1024];
    char x[46], y[46];
    memset(x, 'x', 45);
    x[45] = '\0';
    memset(y, 'y', 45);
    y[45] = '\0';
    size_t cap = 16 + (size_t)N_ROWS * WIDTH;
    char *data = malloc(cap + 1);
    assert_non_null(data);
    size_t len = (size_t)snprintf(data, cap, "id,text\n");
    for (int i = 0; i < N_ROWS; i++) {
        len += (size_t)snprintf(data + len, cap + 1 - len, "%05d,\"%s\n%s\"\n", i, x, y);
    }
    assert_int_equal(len, 8 + (size_t)N_ROWS * WIDTH);
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/chunks.csv", dir);
    write_bytes(path, data, len);

    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_reader_open(&r, path, NULL, &err), &err);
    char want[128];
    snprintf(want, sizeof(want), "%s\n%s", x, y);
    const char *const *f = NULL;
    size_t n = 0;
    long line = 0;
    double last = 0.0;
    bool partial = false;
    for (int i = 0; i < N_ROWS; i++) {
        assert_int_equal(rp_reader_next(r, &f, &n, &line, &err), 1);
        char id[16];
        snprintf(id, sizeof(id), "%05d", i);
        assert_int_equal(n, 2);
        assert_string_equal(f[0], id);
        assert_string_equal(f[1], want);
        assert_int_equal(line, 2 + 2 * (long)i);
        double p = rp_reader_progress(r);
        assert_true(p >= last && p <= 1.0);
        partial = partial || (p > 0.0 && p < 1.0);
        last = p;
    }
    assert_int_equal(rp_reader_next(r, &f, &n, &line, &err), 0);
    assert_true(partial);
    assert_close(rp_reader_progress(r), 1.0, 0.0, 0.0);
    rp_reader_free(r);
    rp_test_rmtree(dir);
    free(data);
}

/* ==== CSV: encodings ==== */

static void data_reader_csv__decodes_windows_1251(void **state)
{
    (void)state;
    rp_reader_opts opts = RP_READER_OPTS_INIT;
    opts.encoding = "WINDOWS-1251";
    rp_reader *r = open_fixture("cp1251.csv", &opts);
    rp_error err = RP_ERROR_INIT;
    rows got;
    assert_int_equal(read_all(r, &got, &err), 0);
    assert_int_equal(got.n, 2);
    /* 0xCA 0xE8 0xBF 0xE2 and 0xCC 0xEE 0xF1 0xEA 0xE2 0xE0 in the file */
    assert_string_equal(got.text[0], "1|Київ");
    assert_string_equal(got.text[1], "2|Москва");
    assert_string_equal(got.text[0], "1|\xD0\x9A\xD0\xB8\xD1\x97\xD0\xB2");
    assert_int_equal(got.line[1], 3);
    rp_reader_free(r);
}

static void data_reader_csv__decodes_other_legacy_encodings(void **state)
{
    (void)state;

    static const struct {
        const char *encoding;
        const char *csv;
        size_t len; /* 0: strlen(csv) */
        const char *row;
    } cases[] = {
        {"WINDOWS-1250",
         "id,city\n1,\xA3\xF3"
         "d\x9F\n",
         0, "1|Łódź"},
        {"ISO-8859-2",
         "id,city\n1,\xA3\xF3"
         "d\xBC\n",
         0, "1|Łódź"},
        {"WINDOWS-1252",
         "id,note\n1,Se\xF1ora \x80"
         "5\n",
         0, "1|Señora €5"},
        /* UTF-16 has NUL bytes: they are checked after conversion, so this is text */
        {"UTF-16LE",
         "i\0d\0,\0c\0\n\0"
         "1\0,\0\x16\x04\n\0",
         18, "1|Ж"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rp_reader_opts opts = RP_READER_OPTS_INIT;
        opts.encoding = cases[i].encoding;
        rp_reader *r = NULL;
        rp_error err = RP_ERROR_INIT;
        rows got;
        size_t len = cases[i].len > 0 ? cases[i].len : strlen(cases[i].csv);
        assert_rp_ok(rp_data__reader_open_mem(&r, cases[i].csv, len, "mem", &opts, &err), &err);
        assert_int_equal(read_all(r, &got, &err), 0);
        assert_int_equal(got.n, 1);
        assert_string_equal(got.text[0], cases[i].row);
        rp_reader_free(r);
    }
    /* The same file read with the wrong encoding of the two (1250 vs 8859-2) differs. */
    rp_reader_opts opts = RP_READER_OPTS_INIT;
    rp_error err = RP_ERROR_INIT;
    rows got;
    opts.encoding = "ISO-8859-2";
    rp_reader *r1250 = open_fixture("cp1250.csv", &opts);
    assert_int_equal(read_all(r1250, &got, &err), 0);
    assert_string_not_equal(got.text[0], "1|Łódź");
    rp_reader_free(r1250);
    opts.encoding = "WINDOWS-1250";
    r1250 = open_fixture("cp1250.csv", &opts);
    assert_int_equal(read_all(r1250, &got, &err), 0);
    assert_string_equal(got.text[0], "1|Łódź");
    rp_reader_free(r1250);
}

/*
 * Three-byte characters (U+20AC) straddling a chunk boundary, read as plain UTF-8 and
 * through iconv ("UTF-8" given), where the cut sequence is carried to the next chunk.
 * Rows are 23 bytes after a 9-byte header, so byte 131072 is inside a character.
 */
static void data_reader_csv__multibyte_across_chunk_boundaries(void **state)
{
    (void)state;

    enum { N_ROWS = 8000 };

    static const char euros[] = "\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC\xE2\x82\xAC";
    char dir[512], path[1024];
    size_t cap = 64 + (size_t)N_ROWS * 32;
    char *data = malloc(cap);
    assert_non_null(data);
    size_t len = (size_t)snprintf(data, cap, "id,price\n");
    for (int i = 0; i < N_ROWS; i++) {
        len += (size_t)snprintf(data + len, cap - len, "%06d,%s\n", i, euros);
    }
    assert_int_equal(len, 9 + (size_t)N_ROWS * 23);
    /* The test means something only because a boundary cuts a character. */
    assert_int_equal((unsigned char)data[131072] & 0xC0, 0x80);
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/euro.csv", dir);
    write_bytes(path, data, len);
    for (int pass = 0; pass < 2; pass++) {
        rp_reader_opts opts = RP_READER_OPTS_INIT;
        opts.encoding = pass == 0 ? NULL : "UTF-8";
        rp_reader *r = NULL;
        rp_error err = RP_ERROR_INIT;
        assert_rp_ok(rp_reader_open(&r, path, &opts, &err), &err);
        const char *const *f = NULL;
        size_t n = 0;
        long line = 0;
        for (int i = 0; i < N_ROWS; i++) {
            char id[16];
            snprintf(id, sizeof(id), "%06d", i);
            assert_int_equal(rp_reader_next(r, &f, &n, &line, &err), 1);
            assert_int_equal(n, 2);
            assert_string_equal(f[0], id);
            assert_string_equal(f[1], euros);
            assert_int_equal(line, i + 2);
        }
        assert_int_equal(rp_reader_next(r, &f, &n, &line, &err), 0);
        rp_reader_free(r);
    }
    rp_test_rmtree(dir);
    free(data);
}

/* ==== CSV: errors ==== */

static void data_reader_csv__errors_name_file_line_column(void **state)
{
    (void)state;
    rp_reader_opts opts = RP_READER_OPTS_INIT;
    /* Invalid UTF-8 on the second line of a quoted field: line 4, field 2. */
    expect_error("bad_utf8.csv", NULL, RP_EPARSE, 4, 2,
                 "invalid UTF-8 (give --encoding, e.g. WINDOWS-1251)");
    expect_error("cp1251.csv", NULL, RP_EPARSE, 2, 2, "invalid UTF-8");
    /* Unbalanced quote: the line where the quoted field started. */
    expect_error("unbalanced.csv", NULL, RP_EPARSE, 3, 2, "unbalanced quote");
    expect_error("binary.csv", NULL, RP_EPARSE, 3, 1, "binary file");
    expect_error("empty.csv", NULL, RP_EPARSE, 1, 0, "empty file (no header)");
    expect_error("bom_only.csv", NULL, RP_EPARSE, 1, 0, "empty file (no header)");
    expect_error("dup_header.csv", NULL, RP_EPARSE, 1, 3,
                 "duplicate column name 'id' (columns 1 and 3)");
    expect_error("empty_header.csv", NULL, RP_EPARSE, 1, 2, "empty column name");
    /* A field over max_field. */
    opts.max_field = 8;
    expect_error("quoted_crlf_bom.csv", &opts, RP_EPARSE, 2, 2, "field longer than 8 bytes");
    /* Bytes that are not valid in the given encoding (Windows-1251 text read as UTF-8). */
    opts = (rp_reader_opts)RP_READER_OPTS_INIT;
    opts.encoding = "UTF-8";
    expect_error("cp1251.csv", &opts, RP_EPARSE, 2, 2,
                 "invalid byte sequence for encoding 'UTF-8'");
}

static void data_reader_csv__bad_quoting_is_a_parse_error(void **state)
{
    (void)state;
    static const char csv[] = "id,note\n1,ok\n2,\"quoted\"tail\n";
    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    rows got;
    assert_rp_ok(rp_data__reader_open_mem(&r, csv, sizeof(csv) - 1, "q.csv", NULL, &err), &err);
    assert_rp_status(read_all(r, &got, &err), RP_EPARSE, &err);
    assert_int_equal(got.n, 1);
    assert_string_equal(err.path, "q.csv");
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 2);
    assert_non_null(strstr(err.msg, "bad quoting"));
    /* A failed reader stays failed, with the same error. */
    const char *const *f = NULL;
    size_t n = 0;
    long line = 0;
    rp_error again = RP_ERROR_INIT;
    assert_int_equal(rp_reader_next(r, &f, &n, &line, &again), RP_EPARSE);
    assert_int_equal(again.line, 3);
    assert_string_equal(again.msg, err.msg);
    rp_reader_free(r);
}

/* A 2 MiB single field is refused at the default 1 MiB limit without holding it all. */
static void data_reader_csv__refuses_huge_field(void **state)
{
    (void)state;
    size_t len = (size_t)2 << 20;
    char *data = malloc(len + 32);
    assert_non_null(data);
    size_t off = (size_t)snprintf(data, 32, "id,blob\n1,\"");
    memset(data + off, 'z', len);
    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    rows got;
    assert_rp_ok(rp_data__reader_open_mem(&r, data, off + len, "huge.csv", NULL, &err), &err);
    assert_rp_status(read_all(r, &got, &err), RP_EPARSE, &err);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 2);
    assert_non_null(strstr(err.msg, "field longer than 1048576 bytes"));
    rp_reader_free(r);
    free(data);
}

static void data_reader_csv__open_errors(void **state)
{
    (void)state;
    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_reader_opts opts = RP_READER_OPTS_INIT;
    assert_rp_status(rp_reader_open(&r, "/nonexistent/dir/x.csv", NULL, &err), RP_EIO, &err);
    assert_string_equal(err.path, "/nonexistent/dir/x.csv");
    assert_null(r);
    opts.encoding = "NO-SUCH-ENCODING-42";
    assert_rp_status(rp_data__reader_open_mem(&r, "a\n", 2, "m", &opts, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "unknown encoding 'NO-SUCH-ENCODING-42'"));
    opts = (rp_reader_opts)RP_READER_OPTS_INIT;
    opts.version = 99;
    assert_rp_status(rp_reader_open(&r, "x.csv", &opts, &err), RP_EINVAL, &err);
    assert_null(r);
}

/* ==== SPSS and Stata ==== */

static void check_cases(rp_reader *r, bool labels)
{
    char buf[512];
    rp_error err = RP_ERROR_INIT;
    rows got;
    assert_string_equal(header_of(r, buf, sizeof(buf)), "case_id|sex|age|regdate|city");
    assert_int_equal(read_all(r, &got, &err), 0);
    assert_int_equal(got.n, 4);
    /* as written by tests/fixtures/readers/make_stat_fixtures.c */
    assert_string_equal(got.text[0],
                        labels ? "A-001|Female|23|2018-01-01|Київ" : "A-001|1|23|2018-01-01|Київ");
    assert_string_equal(got.text[1], labels ? "A-002|Male|2.5|2018-04-01|Москва"
                                            : "A-002|2|2.5|2018-04-01|Москва");
    /* system-missing sex and age */
    assert_string_equal(got.text[2], "A-003|||2020-01-01|Zagreb");
    assert_string_equal(got.text[3],
                        labels ? "A-004|Female|41|2000-02-29|" : "A-004|1|41|2000-02-29|");
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(got.line[i], (long)i + 1);
        assert_int_equal(got.n_fields[i], 5);
    }
    assert_close(rp_reader_progress(r), 1.0, 0.0, 0.0);
}

static void data_reader_stat__reads_sav_zsav_and_dta(void **state)
{
    (void)state;

    static const struct {
        const char *name;
        rp_input_format format;
    } files[] = {
        {"cases.sav", RP_INPUT_SAV},
        {"cases.zsav", RP_INPUT_SAV},
        {"cases.dta", RP_INPUT_DTA},
    };

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        for (int labels = 0; labels < 2; labels++) {
            rp_reader_opts opts = RP_READER_OPTS_INIT;
            opts.value_labels = labels != 0;
            rp_reader *r = open_fixture(files[i].name, &opts);
            assert_int_equal(rp_reader_format(r), files[i].format);
            assert_close(rp_reader_progress(r), 0.0, 0.0, 0.0);
            check_cases(r, labels != 0);
            rp_reader_free(r);
        }
    }
}

/* The magic bytes win over the extension. */
static void data_reader_stat__detects_format_by_magic(void **state)
{
    (void)state;
    char dir[512], src[1024], dst[1024];
    size_t len = 0;
    rp_test_tmpdir(dir, sizeof(dir));
    char *bytes = rp_test_slurp(fixture(src, sizeof(src), "cases.dta"), &len);
    snprintf(dst, sizeof(dst), "%s/export.csv", dir);
    write_bytes(dst, bytes, len);
    free(bytes);
    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_reader_open(&r, dst, NULL, &err), &err);
    assert_int_equal(rp_reader_format(r), RP_INPUT_DTA);
    check_cases(r, true);
    rp_reader_free(r);

    /* A text file named .sav is handed to ReadStat, which refuses it. */
    snprintf(dst, sizeof(dst), "%s/notspss.sav", dir);
    write_bytes(dst, "id,x\n1,2\n", 9);
    assert_rp_status(rp_reader_open(&r, dst, NULL, &err), RP_EPARSE, &err);
    assert_string_equal(err.path, dst);
    assert_non_null(strstr(err.msg, "not a readable SPSS file"));
    assert_null(r);
    rp_test_rmtree(dir);

    static const struct {
        const char *head;
        size_t n;
        const char *path;
        rp_input_format want;
    } cases[] = {
        {"$FL2@(#)", 8, "a.csv", RP_INPUT_SAV},
        {"$FL3@(#)", 8, NULL, RP_INPUT_SAV},
        {"<stata_dta><header>", 19, "x.txt", RP_INPUT_DTA},
        {"\x72\x02\x01\x00", 4, "old.bin", RP_INPUT_DTA}, /* Stata 114, LSF */
        {"\x71\x01\x01\x00", 4, NULL, RP_INPUT_DTA},      /* Stata 113, MSF */
        {"q,r\n1,2\n", 8, "q.csv", RP_INPUT_CSV},         /* 'q' is 0x71: still text */
        {"id,x\n", 5, "A.SAV", RP_INPUT_SAV},
        {"id,x\n", 5, "a.ZSav", RP_INPUT_SAV},
        {"id,x\n", 5, "b.dta", RP_INPUT_DTA},
        {"id,x\n", 5, "b.tsv", RP_INPUT_CSV},
        {"", 0, "sav", RP_INPUT_CSV},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(
            rp_data__detect_format((const unsigned char *)cases[i].head, cases[i].n, cases[i].path),
            cases[i].want);
    }
}

static void data_reader_stat__formats_numbers_and_dates(void **state)
{
    (void)state;

    static const struct {
        double v;
        const char *text;
    } nums[] = {
        {3.0, "3"},
        {2.5, "2.5"},
        {-0.1, "-0.1"},
        {0.0, "0"},
        {1e20, "1e+20"},
        {123456789.0, "123456789"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1.0 / 3.0, "0.3333333333333333"},
    };

    char buf[64];
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        assert_string_equal(rp_data__format_double(buf, sizeof(buf), nums[i].v), nums[i].text);
    }
    assert_true(rp_data__iso_date(buf, sizeof(buf), 0));
    assert_string_equal(buf, "1970-01-01");
    assert_true(rp_data__iso_date(buf, sizeof(buf), 11016));
    assert_string_equal(buf, "2000-02-29");
    assert_true(rp_data__iso_date(buf, sizeof(buf), -141428));
    assert_string_equal(buf, "1582-10-14");
    assert_true(rp_data__iso_date(buf, sizeof(buf), -3653));
    assert_string_equal(buf, "1960-01-01");
    assert_false(rp_data__iso_date(buf, sizeof(buf), 3000000));
}

/* ==== allocation failures ==== */

typedef struct sweep_ctx {
    const char *path;
    const char *encoding;
    size_t rows;
} sweep_ctx;

static int open_and_read(void *payload)
{
    sweep_ctx *c = payload;
    rp_reader_opts opts = RP_READER_OPTS_INIT;
    opts.encoding = c->encoding;
    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    rows got;
    int rc = rp_reader_open(&r, c->path, &opts, &err);
    if (rc == RP_OK) {
        rc = read_all(r, &got, &err);
        c->rows = got.n;
    }
    rp_reader_free(r);
    if (rc != RP_OK && rc != RP_ENOMEM) {
        print_error("unexpected error: %s\n", err.msg);
    }
    return rc;
}

static void data_reader_csv__allocation_failures(void **state)
{
    (void)state;
    char path[1024];
    sweep_ctx c = {fixture(path, sizeof(path), "quoted_crlf_bom.csv"), NULL, 0};
    unsigned long n = rp_test_alloc_sweep(open_and_read, NULL, &c, 200);
    assert_true(n > 0);
    assert_int_equal(c.rows, 5);
    char path2[1024];
    sweep_ctx c2 = {fixture(path2, sizeof(path2), "cp1251.csv"), "WINDOWS-1251", 0};
    rp_test_alloc_sweep(open_and_read, NULL, &c2, 200);
    assert_int_equal(c2.rows, 2);
    char path3[1024];
    sweep_ctx c3 = {fixture(path3, sizeof(path3), "cases.sav"), NULL, 0};
    rp_test_alloc_sweep(open_and_read, NULL, &c3, 400);
    assert_int_equal(c3.rows, 4);
}

/* ==== the fast path for lines without quotes, against libcsv itself ==== */

/* Rows as text: fields joined by '|', each row ended by '/'. */
typedef struct diff_text {
    char s[8192];
    size_t len;
    bool fields_in_row;
} diff_text;

static void diff_put(diff_text *t, const char *s, size_t n)
{
    assert_true(t->len + n < sizeof(t->s));
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void diff_add(diff_text *t, const char *s, size_t len)
{
    if (t->fields_in_row)
        diff_put(t, "|", 1);
    t->fields_in_row = true;
    diff_put(t, s, len);
}

static void diff_field(void *data, size_t len, void *payload)
{
    diff_add(payload, data != NULL ? data : "", data != NULL ? len : 0);
}

static void diff_row(int c, void *payload)
{
    diff_text *t = payload;
    (void)c;
    diff_put(t, "/", 1);
    t->fields_in_row = false;
}

/* libcsv as the reader configures it: rows of @p in into @p t; false on a parse error. */
static bool diff_libcsv(const char *in, size_t len, char delim, diff_text *t)
{
    struct csv_parser p;
    memset(t, 0, sizeof(*t));
    assert_int_equal(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL), 0);
    csv_set_delim(&p, (unsigned char)delim);
    bool ok = csv_parse(&p, in, len, diff_field, diff_row, t) == len &&
              csv_fini(&p, diff_field, diff_row, t) == 0;
    csv_free(&p);
    return ok;
}

/* The reader (fast path and libcsv): rows of @p in into @p t; false on an error. */
static bool diff_reader(const char *in, size_t len, char delim, diff_text *t)
{
    rp_reader_opts opts = RP_READER_OPTS_INIT;
    opts.delimiter = delim;
    rp_data__csv *r = NULL;
    rp_error err = RP_ERROR_INIT;
    memset(t, 0, sizeof(*t));
    if (rp_data__csv_open(&r, "diff.csv", in, len, RP_DATA__CSV_HEADER_AS_ROW, &opts, &err) !=
        RP_OK)
        return false;
    const char *const *fields = NULL;
    size_t n = 0;
    long line = 0;
    int rc;
    while ((rc = rp_data__csv_next(r, &fields, &n, &line, &err)) == 1) {
        for (size_t i = 0; i < n; i++)
            diff_add(t, fields[i], strlen(fields[i]));
        diff_row(0, t);
    }
    rp_data__csv_free(r);
    return rc == 0;
}

/*
 * Random short files over an alphabet of delimiters, blanks, line ends, quotes and a
 * two-byte letter: the reader, which parses lines without quotes itself, gives exactly
 * libcsv's rows, or fails where libcsv fails.
 */
static void data_reader_csv__plain_lines_match_libcsv(void **state)
{
    (void)state;
    static const char *const alphabet[] = {"a",  "b",  " ",  "\t",       ",",  ";",   "\r",
                                           "\n", "\n", "\"", "\xc3\xa9", "ab", "\r\n"};
    static const char delims[] = {',', ';', '\t'};
    uint64_t x = 0x9E3779B97F4A7C15u;
    size_t compared = 0;
    for (int k = 0; k < 20000; k++) {
        char in[256];
        size_t len = 0;
        x = x * 6364136223846793005u + 1442695040888963407u;
        size_t pieces = (size_t)(x >> 58); /* 0..63 */
        for (size_t i = 0; i < pieces; i++) {
            x = x * 6364136223846793005u + 1442695040888963407u;
            const char *a = alphabet[(x >> 33) % RP_ARRAY_LEN(alphabet)];
            size_t n = strlen(a);
            memcpy(in + len, a, n);
            len += n;
        }
        in[len] = '\0';
        char delim = delims[k % 3];
        diff_text want, got;
        bool want_ok = diff_libcsv(in, len, delim, &want);
        bool got_ok = diff_reader(in, len, delim, &got);
        assert_int_equal(got_ok, want_ok);
        if (want_ok) {
            assert_string_equal(got.s, want.s);
            compared++;
        }
    }
    assert_true(compared > 1000);
}

/* Line numbers of rows read by the fast path around rows libcsv reads (quoted, CR). */
static void data_reader_csv__plain_lines_keep_line_numbers(void **state)
{
    (void)state;
    static const char csv[] = "h1;h2\n"
                              " a ; b \t\n"            /* 2: plain, blanks trimmed */
                              "\n"                     /* 3: empty: no row */
                              " \t \r\n"               /* 4: blanks only: no row */
                              "\"c\nd\";e\n"           /* 5-6: quoted newline */
                              "f;\n"                   /* 7: empty last field */
                              "g\rh;i\n"               /* 8: bare CR: two rows */
                              "j;k\r\n"                /* 9: CRLF */
                              "x\xc3\xa9;\xc3\xa9y\n"; /* 10: UTF-8 */
    rp_reader_opts opts = RP_READER_OPTS_INIT;
    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    rows got;
    char buf[512];
    assert_rp_ok(rp_data__reader_open_mem(&r, csv, sizeof(csv) - 1, "lines.csv", &opts, &err),
                 &err);
    assert_string_equal(header_of(r, buf, sizeof(buf)), "h1|h2");
    assert_int_equal(read_all(r, &got, &err), 0);
    static const char *const text[] = {
        "a|b", "c\nd|e", "f|", "g", "h|i", "j|k", "x\xc3\xa9|\xc3\xa9y"};
    static const long line[] = {2, 5, 7, 8, 8, 9, 10};
    assert_int_equal(got.n, RP_ARRAY_LEN(text));
    for (size_t i = 0; i < RP_ARRAY_LEN(text); i++) {
        assert_string_equal(got.text[i], text[i]);
        assert_int_equal(got.line[i], line[i]);
    }
    rp_reader_free(r);
}

/* A bad byte on a line without quotes is reported at its line and column, as before. */
static void data_reader_csv__plain_line_bad_utf8_position(void **state)
{
    (void)state;
    static const char csv[] = "a,b,c\n1,2,3\n4,5\xff,6\n";
    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    rows got;
    assert_rp_ok(rp_data__reader_open_mem(&r, csv, sizeof(csv) - 1, "bad.csv", NULL, &err), &err);
    assert_int_equal(read_all(r, &got, &err), RP_EPARSE);
    assert_int_equal(got.n, 1);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.column, 2);
    rp_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(data_reader_csv__reads_quoted_fields_with_lines),
        cmocka_unit_test(data_reader_csv__reads_tab_separated_with_empty_field),
        cmocka_unit_test(data_reader_csv__detects_delimiter),
        cmocka_unit_test(data_reader_csv__rejects_unusable_delimiter),
        cmocka_unit_test(data_reader_csv__bare_cr_line_ends),
        cmocka_unit_test(data_reader_csv__rows_across_chunk_boundaries),
        cmocka_unit_test(data_reader_csv__decodes_windows_1251),
        cmocka_unit_test(data_reader_csv__decodes_other_legacy_encodings),
        cmocka_unit_test(data_reader_csv__multibyte_across_chunk_boundaries),
        cmocka_unit_test(data_reader_csv__errors_name_file_line_column),
        cmocka_unit_test(data_reader_csv__bad_quoting_is_a_parse_error),
        cmocka_unit_test(data_reader_csv__refuses_huge_field),
        cmocka_unit_test(data_reader_csv__open_errors),
        cmocka_unit_test(data_reader_stat__reads_sav_zsav_and_dta),
        cmocka_unit_test(data_reader_stat__detects_format_by_magic),
        cmocka_unit_test(data_reader_stat__formats_numbers_and_dates),
        cmocka_unit_test(data_reader_csv__allocation_failures),
        cmocka_unit_test(data_reader_csv__plain_lines_match_libcsv),
        cmocka_unit_test(data_reader_csv__plain_lines_keep_line_numbers),
        cmocka_unit_test(data_reader_csv__plain_line_bad_utf8_position),
    };
    return cmocka_run_group_tests_name("data_reader", tests, NULL, NULL);
}
