/*
 * Private interface of the report module (src/report): the compact units that tables
 * count, the store queries behind them (src/store/report_query.c), and the helpers that
 * table.c, sdc.c, dp.c, trend.c and table_out.c share. Unit tests reach the internals
 * through this header.
 */
#ifndef RP_REPORT_INT_H
#define RP_REPORT_INT_H

#include "common/common_int.h"

#include <rapporteur/data.h>
#include <rapporteur/error.h>
#include <rapporteur/report.h>
#include <rapporteur/store.h>

/* The multi-valued fields, in the order of rp_report__unit.multi. */
enum {
    RP_REPORT__M_EXPLOITATION = 0,
    RP_REPORT__M_SEXUAL_TYPES,
    RP_REPORT__M_LABOUR_SECTORS,
    RP_REPORT__M_MEANS_OF_CONTROL,
    RP_REPORT__M_RECRUITER_RELATION,
    RP_REPORT__N_MULTI
};

/*
 * One unit (person or record) reduced to what tables count: about 40 bytes, so that a
 * million units fit in memory together. Countries are 0 (not recorded), 1 (unknown) or
 * 2 + 26 (first letter) + (second letter); age is -1 when not recorded; year 0.
 */
typedef struct rp_report__unit {
    uint32_t multi[RP_REPORT__N_MULTI]; /* bit sets of the multi-valued fields */
    uint16_t year;
    uint16_t citizenship;
    uint16_t coe;
    uint16_t list;   /* index into rp_report_data.lists */
    uint16_t state;  /* index into rp_report_data.states (pooled data; else 0) */
    uint16_t region; /* index into rp_report_data.regions (pooled data; else 0) */
    int16_t age;
    uint8_t id_status, sex, age_band, majority;
} rp_report__unit;

struct rp_report_data {
    rp_report__unit *units;
    size_t n, cap;
    char **lists; /* sorted list codes */
    size_t n_lists;
    size_t unlinked;
    bool persons;
    char **states; /* pooled data: sorted state codes, else NULL */
    size_t n_states;
    char **regions; /* pooled data: sorted region names */
    size_t n_regions;
    uint16_t *state_region; /* n_states: the region of each state */
};

/* Country code of a record as a unit's number (see rp_report__unit). */
uint16_t rp_report__country_code(const char *cc, rp_state state);

/*
 * Call @p fn for every stored record, in person order (person_id, then the earliest
 * registration year first, a missing year last, then row id) when @p by_person, else in
 * row order. Runs in one read transaction. A non-zero return of @p fn stops with that
 * status (@p fn sets err itself).
 * @param[out] any_person  true when some record has a person id; may be NULL.
 * @return RP_OK; RP_ESQL; what @p fn returned.
 */
int rp_store__report_each(rp_store *st,
                          bool by_person,
                          int (*fn)(const rp_case_record *rec, void *payload, rp_error *err),
                          void *payload,
                          rp_error *err);

/** True (in *out) when some stored record has a person id. @return RP_OK; RP_ESQL. */
int rp_store__report_any_person(bool *out, rp_store *st, rp_error *err);

/** A table with room for the given dimensions (categories filled by the caller). */
int rp_report__table_alloc(rp_table **out, const rp_table_dim *dims, size_t n_dims, rp_error *err);

/** The label of the margin position, used in titles and outputs. */
#define RP_REPORT__TOTAL "Total"

/** True when @p f is a multi-valued field (a bit set of codes). */
bool rp_report__field_multi(rp_field f);

/** True when @p f is RP_TABLE_FIELD_STATE or RP_TABLE_FIELD_REGION. */
bool rp_report__field_pseudo(rp_field f);

/* Mark the (region, state) cells of a state outside the region RP_CELL_STRUCTURAL
 * (table.c), when @p t has both pseudo-dimensions. */
void rp_report__mark_structural(rp_table *t, const rp_report_data *d);

/* ==== disclosure control internals (sdc.c, dp.c) ==== */

/** The options in effect (@p opts or the defaults), checked. @return RP_OK; RP_EINVAL. */
int rp_report__sdc_opts(rp_sdc_opts *out, const rp_sdc_opts *opts, rp_error *err);

/** Differential privacy on @p t (dp.c): method RP_SDC_DP_LAPLACE or _GAUSSIAN. */
int rp_report__dp_apply(rp_table *t, const rp_sdc_opts *o, rp_sdc_report *rep, rp_error *err);

/** A uniform double in (0, 1) with 53 random bits, from libsodium's randombytes. */
double rp_report__uniform(void);

#endif
