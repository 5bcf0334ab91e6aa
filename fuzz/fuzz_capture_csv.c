/*
 * libFuzzer target for the capture-history CSV reader (rp_capture_parse_csv): the
 * tokeniser, UTF-8 and header checks, cell validation and aggregation. Each input is
 * parsed twice, with default options and as a stratified, merged and selected read.
 */
#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const by[] = {"year"};
    static const char *const merges[] = {"A+B"};
    static const char *const lists[] = {"C", "AB"};
    rp_capture_set *set = NULL;
    rp_error err = RP_ERROR_INIT;

    /* The parser takes (pointer, length): no NUL-terminated copy is needed. */
    (void)rp_capture_parse_csv(&set, (const char *)data, size, "fuzz", NULL, &err);
    rp_capture_set_free(set);

    rp_capture_read_opts opts = RP_CAPTURE_READ_OPTS_INIT;
    opts.by = by;
    opts.n_by = 1;
    set = NULL;
    (void)rp_capture_parse_csv(&set, (const char *)data, size, "fuzz", &opts, &err);
    rp_capture_set_free(set);

    opts.merges = merges;
    opts.n_merges = 1;
    opts.lists = lists;
    opts.n_lists = 2;
    set = NULL;
    (void)rp_capture_parse_csv(&set, (const char *)data, size, "fuzz", &opts, &err);
    rp_capture_set_free(set);
    return 0;
}
