/*
 * Unit tests for the Fellegi–Sunter scoring of encoded candidate pairs
 * (src/link/hub_fs.c): a hand-built case whose comparison patterns and u (every pair)
 * are worked out by hand; a synthetic encoded population in which namesakes born on
 * other days must not link while copies with a typo in a name and the same birth date
 * must (the Dice alone cannot tell them apart); the same result on 1 and 3 threads;
 * every documented error and an allocation-failure sweep.
 */
#include "link/link_int.h"
#include "rp_test.h"

#include <rapporteur/common.h>
#include <rapporteur/encode.h>
#include <rapporteur/error.h>
#include <rapporteur/fs.h>
#include <rapporteur/link.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    rp_init();
    return 0;
}

#define CODE(d, fy, gd, nm, doc)                                                        \
    ((uint64_t)(d) | (uint64_t)(fy) << 4 | (uint64_t)(gd) << 8 | (uint64_t)(nm) << 12 | \
     (uint64_t)(doc) << 16)

/* ==== a hand-built case ==== */

/*
 * Four records of 2-word CLKs, lists 0 1 1 0:
 *   r0: word 0 all ones (64 bits);    keys fy 10, gd 20, names 30
 *   r1: the same filter (Dice 1);     keys fy 10, gd 21, document 40, lsh 50
 *   r2: 32 bits of word 0 + 32 of word 1 (Dice with r0 and r1: 2*32/128 = 0.5, "else");
 *       keys fy 11, gd 20, names 30, document 40
 *   r3: empty filter (Dice null);     keys lsh 50
 * Candidates: 0-1 (fy), 0-2 (gd, names), 1-2 (document), 1-3 (lsh); 0-3 share nothing.
 */
typedef struct hand {
    uint64_t clks[8];
    uint16_t list[4];
    size_t off[5];
    uint64_t keys[13];
    uint8_t rule[13];
    rp_link_input in;
} hand;

static void hand_init(hand *h)
{
    memset(h, 0, sizeof *h);
    h->clks[0] = ~0ull;
    h->clks[2] = ~0ull;
    h->clks[4] = 0xffffffffull;
    h->clks[5] = 0xffffffffull;
    const uint16_t list[] = {0, 1, 1, 0};
    const size_t off[] = {0, 3, 7, 11, 12};
    const uint64_t keys[] = {10, 20, 30, 10, 21, 40, 50, 11, 20, 30, 40, 50};
    const uint8_t rule[] = {RP_BLOCK_FAMILY_PHONETIC_YEAR,
                            RP_BLOCK_GIVEN_PHONETIC_DATE,
                            RP_BLOCK_NAMES_PHONETIC,
                            RP_BLOCK_FAMILY_PHONETIC_YEAR,
                            RP_BLOCK_GIVEN_PHONETIC_DATE,
                            RP_BLOCK_DOCUMENT,
                            RP_BLOCK_LSH,
                            RP_BLOCK_FAMILY_PHONETIC_YEAR,
                            RP_BLOCK_GIVEN_PHONETIC_DATE,
                            RP_BLOCK_NAMES_PHONETIC,
                            RP_BLOCK_DOCUMENT,
                            RP_BLOCK_LSH};
    memcpy(h->list, list, sizeof list);
    memcpy(h->off, off, sizeof off);
    memcpy(h->keys, keys, sizeof(keys));
    memcpy(h->rule, rule, sizeof(rule));
    h->in = (rp_link_input){4, 2, h->clks, h->list, h->off, h->keys, h->rule};
}

static void hub_fs__hand_built_patterns(void **state)
{
    (void)state;
    hand h;
    hand_init(&h);
    rp_link_fs_opts o = RP_LINK_FS_OPTS_INIT;
    o.keep_weight = -1e300; /* every candidate */
    rp_link_fs_result *res = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_link_fs(&res, &h.in, &o, &err), &err);
    assert_int_equal(res->n_edges, 4);
    assert_int_equal(res->report.candidates, 4);
    assert_int_equal(res->u_pairs, 6); /* few records: every pair */
    /* u of the Dice over the 6 pairs: level 1 once (0-1), else twice (0-2, 1-2), null
       three times; add-one smoothing over 7 non-null levels: (c + 1) / (3 + 7) */
    assert_close(res->params.u[RP_LINK_FS_DICE][1], 0.2, 1e-12, 0);
    assert_close(res->params.u[RP_LINK_FS_DICE][7], 0.3, 1e-12, 0);
    assert_close(res->params.u[RP_LINK_FS_DICE][3], 0.1, 1e-12, 0);
    /* family_year: pairs with keys on both sides: 0-1 agree, 0-2 and 1-2 disagree */
    assert_close(res->params.u[RP_LINK_FS_FAMILY_YEAR][1], 2.0 / 5.0, 1e-12, 0);
    assert_close(res->params.u[RP_LINK_FS_FAMILY_YEAR][2], 3.0 / 5.0, 1e-12, 0);

    static const struct {
        uint32_t a, b;
        uint64_t code;
    } want[] = {
        {0, 1, CODE(1, 1, 2, 0, 0)}, /* Dice 1; fy agree, gd disagree, names/doc null */
        {0, 2, CODE(7, 2, 1, 1, 0)}, /* Dice 0.5; gd and names agree */
        {1, 2, CODE(7, 2, 2, 0, 1)}, /* the document agrees */
        {1, 3, CODE(0, 0, 0, 0, 0)}, /* LSH only, r3 empty: all null */
    };

    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        bool found = false;
        for (size_t e = 0; e < res->n_edges; e++) {
            if (res->edges[e].a != want[k].a || res->edges[e].b != want[k].b)
                continue;
            found = true;
            assert_close(res->edges[e].score, rp_fs_pattern_weight(&res->params, want[k].code),
                         1e-12, 1e-12);
        }
        assert_true(found);
    }
    for (size_t e = 1; e < res->n_edges; e++)
        assert_true(res->edges[e - 1].score >= res->edges[e].score);
    /* the sessions: 0-1 in family_year, 0-2 in given_date and names, 1-2 in document,
       1-3 in other */
    assert_close(res->session_pairs[0], 1, 0, 1e-12);
    assert_close(res->session_pairs[1], 1, 0, 1e-12);
    assert_close(res->session_pairs[2], 1, 0, 1e-12);
    assert_close(res->session_pairs[3], 1, 0, 1e-12);
    assert_close(res->session_pairs[4], 1, 0, 1e-12);
    /* four pairs cannot fit 21 parameters: said, not hidden */
    assert_true(res->em.warnings & RP_FS_WARN_FEW_PAIRS);
    assert_string_equal(rp_link_fs_comparison_name(RP_LINK_FS_NAMES), "names");
    assert_string_equal(rp_link_fs_session_name(4), "other");
    assert_null(rp_link_fs_comparison_name(RP_LINK_FS_COMPARISONS));
    rp_link_fs_result_free(res);
}

/* ==== namesakes and typos, encoded ==== */

#define N_A        1600
#define N_TYPO     600
#define N_NAMESAKE 300
#define N_NEW      400
#define N_B        (N_TYPO + N_NAMESAKE + N_NEW)

static const char *const syl[] = {"ka",  "lo", "mir", "sen", "dra", "vi", "to", "nes",
                                  "ber", "ga", "ru",  "pel", "zan", "do", "li", "cor"};

static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned pick(uint64_t *s, unsigned n)
{
    return (unsigned)(next_u64(s) % n);
}

static void make_name(char *out, size_t size, uint64_t *s, unsigned parts)
{
    out[0] = '\0';
    for (unsigned p = 0; p < parts; p++) {
        size_t len = strlen(out);
        snprintf(out + len, size - len, "%s", syl[pick(s, 16)]);
    }
}

typedef struct synth_person {
    char given[32], family[32];
    rp_birth_date birth;
} synth_person;

static rp_birth_date random_birth(uint64_t *s)
{
    return (rp_birth_date){1950 + (int)pick(s, 55), 1 + (int)pick(s, 12), 1 + (int)pick(s, 28)};
}

/* One letter of @p name (not the first) replaced by another. */
static void typo(char *name, uint64_t *s)
{
    size_t len = strlen(name);
    size_t at = 1 + pick(s, (unsigned)(len - 1));
    static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
    unsigned k = pick(s, 26);
    if (letters[k] == name[at])
        k = (k + 1) % 26;
    name[at] = letters[k];
}

typedef struct synth {
    synth_person p[N_A + N_B];
    int kind[N_A + N_B];     /* 0 list A, 1 typo copy, 2 namesake, 3 new */
    uint32_t src[N_A + N_B]; /* the A record a copy or namesake comes from */
    uint64_t *clks;
    uint16_t list[N_A + N_B];
    size_t off[N_A + N_B + 1];
    uint64_t *keys;
    uint8_t *rule;
    size_t words;
    rp_link_input in;
} synth;

static void synth_people(synth *y, uint64_t *s)
{
    for (size_t i = 0; i < N_A; i++) {
        make_name(y->p[i].given, sizeof y->p[i].given, s, 2);
        make_name(y->p[i].family, sizeof y->p[i].family, s, 3);
        y->p[i].birth = random_birth(s);
        y->list[i] = 0;
    }
    for (size_t j = 0; j < N_B; j++) {
        size_t i = N_A + j;
        uint32_t a = (uint32_t)(j % N_A);
        y->list[i] = 1;
        y->src[i] = a;
        y->p[i] = y->p[a];
        if (j < N_TYPO) {
            y->kind[i] = 1;
            typo(pick(s, 2) ? y->p[i].given : y->p[i].family, s);
        } else if (j < N_TYPO + N_NAMESAKE) {
            /* another person with the same names, born on another day of another year */
            y->kind[i] = 2;
            rp_birth_date b = y->p[a].birth;
            y->p[i].birth = (rp_birth_date){b.year + 1 + (int)pick(s, 20),
                                            1 + (b.month + (int)pick(s, 10)) % 12,
                                            1 + (b.day + (int)pick(s, 20)) % 28};
        } else {
            y->kind[i] = 3;
            make_name(y->p[i].given, sizeof y->p[i].given, s, 2);
            make_name(y->p[i].family, sizeof y->p[i].family, s, 3);
            y->p[i].birth = random_birth(s);
        }
    }
}

static rp_secret *fixed_secret(void)
{
    char dir[512], path[600];
    rp_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/k.key", dir);
    static const char hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, hex, sizeof hex - 1), (ssize_t)(sizeof hex - 1));
    close(fd);
    rp_secret *secret = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_secret_load(&secret, path, &err), &err);
    rp_test_rmtree(dir);
    return secret;
}

static void synth_make(synth *y)
{
    memset(y, 0, sizeof *y);
    uint64_t s = 2024;
    synth_people(y, &s);
    rp_enc_schema schema;
    rp_enc_schema_default(&schema);
    y->words = rp_enc_schema_bits(&schema) / 64u;
    rp_secret *secret = fixed_secret();
    rp_encoder *e = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_encoder_new(&e, &schema, secret, &err), &err);
    rp_secret_free(secret);
    size_t n = N_A + N_B;
    y->clks = calloc(n * y->words, sizeof *y->clks);
    y->keys = calloc(n * RP_ENC_MAX_BLOCKING_KEYS, sizeof *y->keys);
    y->rule = calloc(n * RP_ENC_MAX_BLOCKING_KEYS, 1);
    assert_non_null(y->clks);
    assert_non_null(y->keys);
    assert_non_null(y->rule);
    for (size_t i = 0; i < n; i++) {
        rp_enc_identifiers id = {
            y->p[i].given, y->p[i].family, "", y->p[i].birth, RP_SEX_MISSING, "", "", NULL};
        rp_enc_blocking blk;
        assert_rp_ok(rp_encoder_encode(e, &id, i, y->clks + i * y->words, NULL, &blk, &err), &err);
        memcpy(y->keys + y->off[i], blk.keys, blk.n * sizeof *blk.keys);
        memcpy(y->rule + y->off[i], blk.rule, blk.n);
        y->off[i + 1] = y->off[i] + blk.n;
    }
    rp_encoder_free(e);
    y->in = (rp_link_input){n, y->words, y->clks, y->list, y->off, y->keys, y->rule};
}

static void synth_free(synth *y)
{
    free(y->clks);
    free(y->keys);
    free(y->rule);
}

static void hub_fs__namesakes_apart_typos_together(void **state)
{
    (void)state;
    synth *y = calloc(1, sizeof *y);
    assert_non_null(y);
    synth_make(y);
    size_t n = N_A + N_B;
    /* the Dice alone cannot separate them: many namesakes reach the default 0.80 */
    size_t namesake_dice = 0;
    for (size_t i = N_A; i < n; i++) {
        if (y->kind[i] == 2)
            namesake_dice +=
                rp_dice(y->clks + i * y->words, y->clks + y->src[i] * y->words, y->words) >= 0.8;
    }
    print_message("# namesakes with Dice >= 0.80: %zu of %d\n", namesake_dice, N_NAMESAKE);
    assert_true(namesake_dice >= N_NAMESAKE / 2);

    /* names rule as a blocking rule and session only: its agreement, given the Dice,
       repeats the name evidence (docs/linkage.md) */
    rp_link_fs_opts o = RP_LINK_FS_OPTS_INIT;
    o.link.threads = 2;
    o.score_names = false;
    rp_link_fs_result *res = NULL;
    rp_error err = RP_ERROR_INIT;
    assert_rp_ok(rp_link_fs(&res, &y->in, &o, &err), &err);
    uint32_t *person = calloc(n, sizeof *person);
    assert_non_null(person);
    rp_cluster_opts co = RP_CLUSTER_OPTS_INIT;
    co.threshold = 0.0; /* posterior 0.5 */
    assert_rp_ok(rp_link_cluster(res->edges, res->n_edges, n, y->list, &co, person, NULL, &err),
                 &err);
    size_t typo_linked = 0, namesake_linked = 0, new_linked = 0;
    for (size_t i = N_A; i < n; i++) {
        bool same = person[i] == person[y->src[i]];
        typo_linked += y->kind[i] == 1 && same;
        namesake_linked += y->kind[i] == 2 && same;
        for (size_t a = 0; y->kind[i] == 3 && a < N_A; a++)
            new_linked += person[i] == person[a];
    }
    print_message("# fs: typo'd copies linked %zu of %d, namesakes %zu of %d, new %zu; lambda "
                  "%.3g, expected matches %.0f, warnings 0x%x\n",
                  typo_linked, N_TYPO, namesake_linked, N_NAMESAKE, new_linked, res->params.lambda,
                  res->expected_matches, res->em.warnings);
    assert_true(typo_linked >= N_TYPO * 95 / 100);
    assert_true(namesake_linked <= N_NAMESAKE / 100);
    assert_true(new_linked <= N_NEW / 50);
    /* EM learnt that a true pair agrees on the date rules far more often than chance */
    for (size_t k = RP_LINK_FS_FAMILY_YEAR; k <= RP_LINK_FS_NAMES; k++)
        assert_true(res->params.m[k][1] > 10 * res->params.u[k][1]);
    assert_false(res->em.warnings &
                 (RP_FS_WARN_M_LE_U | RP_FS_WARN_LAMBDA_LOW | RP_FS_WARN_LAMBDA_HIGH));

    /* the same on 1 and 3 threads, and with a training sample of the blocks */
    for (unsigned t = 1; t <= 3; t += 2) {
        rp_link_fs_result *r2 = NULL;
        o.link.threads = t;
        assert_rp_ok(rp_link_fs(&r2, &y->in, &o, &err), &err);
        assert_int_equal(r2->n_edges, res->n_edges);
        assert_memory_equal(r2->edges, res->edges, res->n_edges * sizeof *res->edges);
        rp_link_fs_result_free(r2);
    }
    rp_link_fs_result *r3 = NULL;
    o.train_share = 0.5;
    assert_rp_ok(rp_link_fs(&r3, &y->in, &o, &err), &err);
    assert_true(r3->train.candidates < res->train.candidates);
    assert_int_equal(r3->report.candidates, res->report.candidates);
    assert_close(r3->params.lambda, res->params.lambda, 0.5, 0);
    rp_link_fs_result_free(r3);
    rp_link_fs_result_free(res);
    free(person);
    synth_free(y);
    free(y);
}

/* ==== errors ==== */

static void hub_fs__rejects_bad_input(void **state)
{
    (void)state;
    hand h;
    hand_init(&h);
    rp_link_fs_result *res = NULL;
    rp_error err = RP_ERROR_INIT;
    rp_link_fs_opts o = RP_LINK_FS_OPTS_INIT;
    assert_rp_status(rp_link_fs(NULL, &h.in, &o, &err), RP_EINVAL, &err);
    o.version = 99;
    assert_rp_status(rp_link_fs(&res, &h.in, &o, &err), RP_EINVAL, &err);
    assert_non_null(strstr(err.msg, "version"));
    o = (rp_link_fs_opts)RP_LINK_FS_OPTS_INIT;
    o.train_share = 1.5;
    assert_rp_status(rp_link_fs(&res, &h.in, &o, &err), RP_EINVAL, &err);
    o = (rp_link_fs_opts)RP_LINK_FS_OPTS_INIT;
    o.keep_weight = NAN;
    assert_rp_status(rp_link_fs(&res, &h.in, &o, &err), RP_EINVAL, &err);
    o = (rp_link_fs_opts)RP_LINK_FS_OPTS_INIT;
    o.link.within_list = o.link.across_lists = false;
    assert_rp_status(rp_link_fs(&res, &h.in, &o, &err), RP_EINVAL, &err);
    o = (rp_link_fs_opts)RP_LINK_FS_OPTS_INIT;
    h.rule[2] = RP_LINK_MAX_RULES; /* a rule out of range */
    assert_rp_status(rp_link_fs(&res, &h.in, &o, &err), RP_EINVAL, &err);
    hand_init(&h);
    h.in.n = 1;
    assert_rp_status(rp_link_fs(&res, &h.in, &o, &err), RP_EINVAL, &err);
    assert_null(res);
    rp_link_fs_result_free(NULL);
}

static int sweep_run(void *payload)
{
    hand *h = payload;
    rp_link_fs_result *res = NULL;
    rp_link_fs_opts o = RP_LINK_FS_OPTS_INIT;
    o.link.threads = 2;
    int rc = rp_link_fs(&res, &h->in, &o, NULL);
    rp_link_fs_result_free(res);
    return rc;
}

static void hub_fs__alloc_failure_sweep(void **state)
{
    (void)state;
    hand h;
    hand_init(&h);
    unsigned long n = rp_test_alloc_sweep(sweep_run, NULL, &h, 300);
    assert_true(n >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hub_fs__hand_built_patterns),
        cmocka_unit_test(hub_fs__namesakes_apart_typos_together),
        cmocka_unit_test(hub_fs__rejects_bad_input),
        cmocka_unit_test(hub_fs__alloc_failure_sweep),
    };
    return cmocka_run_group_tests_name("link_hub_fs", tests, setup, NULL);
}
