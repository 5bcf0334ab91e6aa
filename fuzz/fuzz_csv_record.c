/*
 * libFuzzer target for the CSV reader behind rp_reader (src/data/reader_csv.c): BOM,
 * delimiter detection, libcsv quoting, line tracking, UTF-8 checks and iconv decoding.
 * Each input is read from memory to the end twice: with the defaults, and as
 * Windows-1251 with a 64-byte field limit. No file is written.
 */
#include "data/data_int.h"

#include <rapporteur/common.h>
#include <rapporteur/data.h>
#include <rapporteur/error.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every row; touch each field so that a bad pointer is caught by ASan. */
static void read_all(const uint8_t *data, size_t size, const rp_reader_opts *opts)
{
    rp_reader *r = NULL;
    rp_error err = RP_ERROR_INIT;
    if (rp_data__reader_open_mem(&r, data, size, "fuzz.csv", opts, &err) != RP_OK) {
        return;
    }
    const char *const *names = NULL;
    size_t n_names = rp_reader_columns(r, &names);
    size_t total = 0;
    for (size_t i = 0; i < n_names; i++) {
        total += strlen(names[i]);
    }
    const char *const *fields = NULL;
    size_t n = 0;
    long line = 0;
    while (rp_reader_next(r, &fields, &n, &line, &err) == 1) {
        for (size_t i = 0; i < n; i++) {
            total += strlen(fields[i]);
        }
    }
    (void)rp_reader_progress(r);
    (void)total;
    rp_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rp_reader_opts opts = RP_READER_OPTS_INIT;
    read_all(data, size, &opts);
    opts.encoding = "WINDOWS-1251";
    opts.max_field = 64;
    read_all(data, size, &opts);
    return 0;
}
