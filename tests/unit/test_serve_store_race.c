/*
 * Two imports of one file at the same time (the server's uploads run on several worker
 * threads, each with its own store connection): the duplicate-file check must sit inside
 * the import transaction, so that the second import sees the first and stores nothing.
 * Thread A is held inside its transaction (its progress callback) while thread B hashes
 * the same file, finds no earlier submission outside the transaction and waits for the
 * write lock; once A commits, B must report a duplicate (src/store/import.c, writer.c).
 */
#include "rp_test.h"
#include "store/store_int.h"

#include <rapporteur/data.h>
#include <rapporteur/store.h>

#include <pthread.h>
#include <time.h>

typedef struct racer {
    const char *db;
    const char *csv;
    const char *mapping;
    rp_import_report rep;
    int rc;
    rp_error err;
    /* A's progress callback: let B start, then wait a while inside the transaction */
    pthread_mutex_t *lock;
    pthread_cond_t *cond;
    bool *in_txn;
} racer;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int hold_in_txn(size_t done, size_t total, void *payload)
{
    racer *r = payload;
    (void)total;
    if (done != 10000)
        return 0;
    pthread_mutex_lock(r->lock);
    *r->in_txn = true;
    pthread_cond_broadcast(r->cond);
    pthread_mutex_unlock(r->lock);
    /* B hashes the file and looks for it in the store meanwhile, then waits for the lock. */
    sleep_ms(700);
    return 0;
}

static void *import_thread(void *arg)
{
    racer *r = arg;
    rp_store *st = NULL;
    rp_mapping *m = NULL;
    r->rc = rp_store_open(&st, r->db, 0, &r->err);
    if (r->rc == RP_OK)
        r->rc = rp_mapping_load(&m, r->mapping, &r->err);
    if (r->rc == RP_OK) {
        rp_import_opts opts = RP_IMPORT_OPTS_INIT;
        if (r->lock != NULL) {
            opts.progress = hold_in_txn;
            opts.payload = r;
        }
        r->rc = rp_store_import(&r->rep, st, r->csv, m, &opts, &r->err);
    }
    rp_mapping_free(m);
    rp_store_close(st);
    return NULL;
}

static long long count(rp_store *st, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    assert_int_equal(sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    long long n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

static void store_import__same_file_twice_at_once(void **state)
{
    (void)state;
    char dir[512];
    char db[600];
    char csv[600];
    char mapping[1024];
    rp_test_tmpdir(dir, sizeof(dir));
    snprintf(db, sizeof(db), "%s/race.db", dir);
    snprintf(csv, sizeof(csv), "%s/many.csv", dir);
    rp_test_fixture(mapping, sizeof(mapping), "store/mapping.json");
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fputs("source,case,person,year,sex,age,citizenship,forms\n", f);
    for (int i = 0; i < 12000; i++)
        fprintf(f, "PF,R%d,,2016,F,30,NG,sexual\n", i);
    assert_int_equal(fclose(f), 0);
    rp_error err = RP_ERROR_INIT;
    rp_store *st = NULL;
    assert_rp_ok(rp_store_open(&st, db, RP_STORE_CREATE, &err), &err);

    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
    bool in_txn = false;
    racer a = {db, csv, mapping, {0}, 0, RP_ERROR_INIT, &lock, &cond, &in_txn};
    racer b = {db, csv, mapping, {0}, 0, RP_ERROR_INIT, NULL, NULL, NULL};
    pthread_t ta;
    pthread_t tb;
    assert_int_equal(pthread_create(&ta, NULL, import_thread, &a), 0);
    pthread_mutex_lock(&lock);
    while (!in_txn)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    assert_int_equal(pthread_create(&tb, NULL, import_thread, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);

    assert_rp_ok(a.rc, &a.err);
    assert_rp_ok(b.rc, &b.err);
    assert_false(a.rep.duplicate);
    assert_int_equal(a.rep.stored, 12000);
    assert_true(b.rep.duplicate);
    assert_int_equal(b.rep.duplicate_of, a.rep.submission_id);
    assert_int_equal(count(st, "SELECT count(*) FROM submissions"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM quarantine"), 0);
    rp_store_close(st);
    rp_test_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(store_import__same_file_twice_at_once),
    };
    rp_init();
    return cmocka_run_group_tests_name("serve_store_race", tests, NULL, NULL);
}
