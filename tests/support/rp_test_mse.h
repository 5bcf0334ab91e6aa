/*
 * Helpers shared by the MSE unit tests (test_mse.c, test_mse_model.c): the reference
 * datasets of tests/fixtures/mse, read once by the group setup, and a model parser that
 * fails the test on error. Include after rp_test.h; everything here is static. dataset()
 * and parse_ok() keep short names because the tests call them on almost every line.
 */
#ifndef RP_TEST_MSE_H
#define RP_TEST_MSE_H

#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/mse.h>

#include <stdio.h>
#include <string.h>

/* The reference datasets of tests/fixtures/mse, read once by rp_test_mse_setup(). */
static const char *const rp_test_mse_names[] = {
    "UKdat",    "UKdat_5",           "Ned",          "Ned_5", "Australia", "Korea", "Kosovo",
    "HIV_Rome", "Lesbian_Allegheny", "Artificial_3",
};

#define RP_TEST_MSE_N_SETS (sizeof(rp_test_mse_names) / sizeof(rp_test_mse_names[0]))

static rp_capture_set *rp_test_mse_sets[RP_TEST_MSE_N_SETS];

/* The pooled table of reference dataset @p name; fails the test for an unknown name. */
static inline const rp_capture_table *dataset(const char *name)
{
    for (size_t i = 0; i < RP_TEST_MSE_N_SETS; i++) {
        if (strcmp(rp_test_mse_names[i], name) == 0)
            return rp_test_mse_sets[i]->total;
    }
    fail_msg("no dataset '%s'", name);
    return NULL;
}

/* cmocka group setup: rp_init() and every reference dataset read. */
static inline int rp_test_mse_setup(void **state)
{
    (void)state;
    rp_init();
    for (size_t i = 0; i < RP_TEST_MSE_N_SETS; i++) {
        char rel[256];
        char path[1024];
        snprintf(rel, sizeof(rel), "mse/%s.csv", rp_test_mse_names[i]);
        rp_error err = RP_ERROR_INIT;
        if (rp_capture_read_csv(&rp_test_mse_sets[i], rp_test_fixture(path, sizeof(path), rel),
                                NULL, &err) != RP_OK) {
            print_error("cannot read %s: %s\n", path, err.msg);
            return -1;
        }
    }
    return 0;
}

/* cmocka group teardown: the datasets freed. */
static inline int rp_test_mse_teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < RP_TEST_MSE_N_SETS; i++) {
        rp_capture_set_free(rp_test_mse_sets[i]);
        rp_test_mse_sets[i] = NULL;
    }
    return 0;
}

/* Model @p spec parsed on @p tab (closed and sorted); fails the test when it does not parse. */
static inline rp_mse_model parse_ok(const rp_capture_table *tab, const char *spec)
{
    rp_mse_model m;
    rp_error err = RP_ERROR_INIT;
    int rc = rp_mse_model_parse(&m, tab, spec, &err);
    if (rc != RP_OK)
        print_error("model '%s'\n", spec);
    assert_rp_ok(rc, &err);
    return m;
}

#endif
