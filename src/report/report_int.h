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

/* ==== the audit LP, shared by sdc.c and the joint audit of linked tables (sdc_linked.c) ==== */

/*
 * An audit LP being built (opaque, sdc.c): variables 1..n_vars, each >= 0 (or its floor),
 * and the relations of one or more tables added with rp_report__lp_add_table(). The
 * matrix goes to GLPK at the first rp_report__lp_bounds(); no table is added after it.
 */
typedef struct rp_report__lp rp_report__lp;

/** A new LP of @p n_vars variables and no relation. @return RP_OK; RP_ENOMEM. */
int rp_report__lp_new(rp_report__lp **out, size_t n_vars, rp_error *err);

/** Set the least value of variable @p v (1-based) to @p lower, before any solve. */
void rp_report__lp_floor(rp_report__lp *a, size_t v, double lower);

/**
 * Add every relation of @p t (lines along additive dimensions sum to their margin; along
 * multi-valued ones each cell is at most the margin, the sum at least it, and a real
 * category plus one without information, "not_specified" or "unknown", which is disjoint
 * from it, at most the margin), cell c
 * being variable var_of[c] (1-based) or, where var_of[c] == 0, the constant value[c].
 * Both arrays have t->n_cells entries and are borrowed for the call only.
 * @return RP_OK; RP_ENOMEM; RP_EINTERNAL (added after a solve).
 */
int rp_report__lp_add_table(
    rp_report__lp *a, const rp_table *t, const size_t *var_of, const double *value, rp_error *err);

/** The least and the largest value of variable @p v (INFINITY when unbounded above).
 * @return RP_OK; RP_EINTERNAL (GLPK failure). */
int rp_report__lp_bounds(double *lo, double *hi, rp_report__lp *a, size_t v, rp_error *err);

/** Free. NULL-safe. */
void rp_report__lp_free(rp_report__lp *a);

/** The least value a reader knows cell @p c of @p t has (1 for the one-way margin of a
 * category listed because the data hold it, else 0). */
double rp_report__sdc_floor(const rp_table *t, size_t c);

/** Fill the interval and verdict of @p iv (all but cell and table) from the LP bounds
 * @p lo and @p hi of a cell of true count @p count, as rp_sdc_audit() does. */
void rp_report__sdc_judge(rp_sdc_interval *iv,
                          double count,
                          bool primary,
                          double floor_known,
                          double lo,
                          double hi,
                          const rp_sdc_opts *o);

/** The cost of suppressing a cell of count @p x under o->cost. */
double rp_report__sdc_cost(double x, const rp_sdc_opts *o);

#endif
