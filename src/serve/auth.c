/*
 * Accounts, sessions, login rate limiting and the audit trail of the server. Passwords
 * are hashed with Argon2id (libsodium crypto_pwhash_str_alg, interactive limits); session
 * tokens are 32 random bytes that only the browser holds, the store keeps their
 * BLAKE2b-256 hash, so a copy of the store opens no session. Tables live in the store
 * (serve_users, serve_sessions, serve_audit), created by rp_serve__ensure_schema().
 */
#include "serve/serve_int.h"
#include "store/store_int.h"

#include <sodium.h>
#include <strings.h>

/* ==== schema ==== */

int rp_serve__ensure_schema(rp_store *st, rp_error *err)
{
    if (st->readonly)
        return RP_OK; /* a read-only store is read as it is */
    return rp_store__exec(st,
                          "CREATE TABLE IF NOT EXISTS serve_users ("
                          "  id INTEGER PRIMARY KEY,"
                          "  name TEXT NOT NULL UNIQUE,"
                          "  role TEXT NOT NULL,"
                          "  agency TEXT NOT NULL DEFAULT '',"
                          "  pwhash TEXT NOT NULL,"
                          "  created_at TEXT NOT NULL,"
                          "  disabled INTEGER NOT NULL DEFAULT 0"
                          ");"
                          "CREATE TABLE IF NOT EXISTS serve_sessions ("
                          "  token_hash TEXT PRIMARY KEY,"
                          "  user_id INTEGER NOT NULL REFERENCES serve_users (id),"
                          "  csrf TEXT NOT NULL,"
                          "  created_at INTEGER NOT NULL,"
                          "  expires_at INTEGER NOT NULL,"
                          "  seen_at INTEGER NOT NULL"
                          ") WITHOUT ROWID;"
                          "CREATE INDEX IF NOT EXISTS serve_sessions_user"
                          "  ON serve_sessions (user_id);"
                          "CREATE TABLE IF NOT EXISTS serve_audit ("
                          "  id INTEGER PRIMARY KEY,"
                          "  at TEXT NOT NULL,"
                          "  user TEXT NOT NULL DEFAULT '',"
                          "  action TEXT NOT NULL,"
                          "  object TEXT NOT NULL DEFAULT '',"
                          "  detail TEXT NOT NULL DEFAULT '{}'"
                          ");",
                          "cannot create the server's tables", err);
}

/* ==== roles ==== */

static const char *const role_names[RP_ROLE_COUNT] = {
    "public", "submitter", "partner", "coordinator", "analyst", "administrator",
};

const char *rp_role_name(rp_role role)
{
    if ((unsigned)role >= RP_ROLE_COUNT)
        return "?";
    return role_names[role];
}

int rp_role_parse(rp_role *out, const char *name, rp_error *err)
{
    for (unsigned i = 0; i < RP_ROLE_COUNT; i++) {
        if (name != NULL && strcmp(name, role_names[i]) == 0) {
            *out = (rp_role)i;
            return RP_OK;
        }
    }
    return rp_error_set(err, RP_EINVAL,
                        "unknown role (expected submitter, partner, coordinator, analyst or "
                        "administrator)");
}

/* ==== tokens ==== */

void rp_serve__token_new(char out[RP_SERVE_TOKEN_TEXT + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, RP_SERVE_TOKEN_TEXT + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

bool rp_serve__token_shape_ok(const char *s)
{
    if (s == NULL || strlen(s) != RP_SERVE_TOKEN_TEXT)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
           RP_SERVE_TOKEN_TEXT;
}

void rp_serve__token_hash(char out[65], const char *token)
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

bool rp_serve__secret_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return false;
    size_t n = strlen(a);
    if (n != strlen(b) || n == 0)
        return false;
    return sodium_memcmp(a, b, n) == 0;
}

/* ==== login rate limiting ==== */

#define RL_SLOTS 4096
/* Slots a key may use: it probes this run, from its hash. */
#define RL_RUN 16

typedef struct rl_slot {
    char key[RP_USER_NAME_MAX + 8];
    unsigned count;
    time_t start;
    bool keep;     /* an account's: not given to another key within its window */
    bool reported; /* the window's first refusal has been audited */
} rl_slot;

struct rp_serve__ratelimit {
    pthread_mutex_t lock;
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    rl_slot slots[RL_SLOTS];
};

int rp_serve__rl_new(rp_serve__ratelimit **out, rp_error *err)
{
    *out = NULL;
    rp_serve__ratelimit *rl = rp_calloc(1, sizeof(*rl));
    if (rl == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    if (pthread_mutex_init(&rl->lock, NULL) != 0) {
        rp_free(rl);
        return rp_error_set(err, RP_ENOMEM, "cannot create a mutex");
    }
    crypto_shorthash_keygen(rl->hash_key);
    *out = rl;
    return RP_OK;
}

void rp_serve__rl_free(rp_serve__ratelimit *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->lock);
    sodium_memzero(rl->hash_key, sizeof(rl->hash_key));
    rp_free(rl);
}

/*
 * The slot of @p key, or NULL; with @p make, a free one, else an expired one, else the
 * oldest that is not kept (NULL when the whole run is kept accounts' and @p keep is
 * false). SipHash under the table's random key: callers cannot aim at a run.
 */
static rl_slot *
rl_find(rp_serve__ratelimit *rl, const char *key, time_t now, unsigned window, bool make, bool keep)
{
    unsigned char h8[crypto_shorthash_BYTES];
    crypto_shorthash(h8, (const unsigned char *)key, strlen(key), rl->hash_key);
    uint64_t h = 0;
    for (size_t i = 0; i < sizeof(h8); i++)
        h = (h << 8) | h8[i];
    rl_slot *empty = NULL;
    rl_slot *expired = NULL;
    rl_slot *oldest = NULL;
    for (size_t i = 0; i < RL_RUN; i++) {
        rl_slot *s = &rl->slots[(h + i) % RL_SLOTS];
        if (s->key[0] == '\0') {
            if (empty == NULL)
                empty = s;
            continue;
        }
        if (strcmp(s->key, key) == 0)
            return s;
        if (s->start + (time_t)window <= now) {
            if (expired == NULL)
                expired = s;
            continue;
        }
        if ((keep || !s->keep) && (oldest == NULL || s->start < oldest->start))
            oldest = s;
    }
    if (!make)
        return NULL;
    rl_slot *victim = empty != NULL ? empty : expired != NULL ? expired : oldest;
    if (victim == NULL)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    rp_x_strlcpy(victim->key, key, sizeof(victim->key));
    victim->start = now;
    return victim;
}

bool rp_serve__rl_blocked(rp_serve__ratelimit *rl,
                          const char *key,
                          time_t now,
                          unsigned max,
                          unsigned window,
                          unsigned *retry_after,
                          bool *first)
{
    bool blocked = false;
    if (first != NULL)
        *first = false;
    pthread_mutex_lock(&rl->lock);
    rl_slot *s = rl_find(rl, key, now, window, false, false);
    if (s != NULL && s->start + (time_t)window > now && s->count >= max) {
        blocked = true;
        if (retry_after != NULL)
            *retry_after = (unsigned)(s->start + (time_t)window - now);
        if (first != NULL) {
            *first = !s->reported;
            s->reported = true;
        }
    }
    pthread_mutex_unlock(&rl->lock);
    return blocked;
}

void rp_serve__rl_fail(
    rp_serve__ratelimit *rl, const char *key, time_t now, unsigned window, bool keep)
{
    pthread_mutex_lock(&rl->lock);
    rl_slot *s = rl_find(rl, key, now, window, true, keep);
    if (s != NULL) {
        if (s->start + (time_t)window <= now) {
            s->count = 0;
            s->start = now;
            s->reported = false;
        }
        s->count++;
        s->keep = s->keep || keep;
    }
    pthread_mutex_unlock(&rl->lock);
}

void rp_serve__rl_reset(rp_serve__ratelimit *rl, const char *key)
{
    pthread_mutex_lock(&rl->lock);
    rl_slot *s = rl_find(rl, key, 0, 0, false, false);
    if (s != NULL)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&rl->lock);
}

/* ==== accounts ==== */

bool rp_serve__user_name_ok(const char *name)
{
    if (name == NULL)
        return false;
    size_t n = strlen(name);
    if (n == 0 || n >= RP_USER_NAME_MAX)
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@-") == n;
}

/* Argon2id hash of a password (clear text checked for length and NUL). */
static int
hash_password(char out[crypto_pwhash_STRBYTES], const char *password, size_t len, rp_error *err)
{
    if (password == NULL || len < RP_PASSWORD_MIN || len > RP_PASSWORD_MAX)
        return rp_error_set(err, RP_EINVAL, "a password must have %d to %d bytes", RP_PASSWORD_MIN,
                            RP_PASSWORD_MAX);
    if (memchr(password, '\0', len) != NULL)
        return rp_error_set(err, RP_EINVAL, "a password must not contain a NUL byte");
    if (crypto_pwhash_str_alg(out, password, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        return rp_error_set(err, RP_ENOMEM, "cannot hash the password (out of memory)");
    return RP_OK;
}

static int check_writable(rp_store *st, rp_error *err)
{
    if (st->readonly)
        return rp_error_set(err, RP_EPERM, "the store is open read-only");
    return rp_serve__ensure_schema(st, err);
}

int rp_serve_user_add(rp_store *st,
                      const char *name,
                      rp_role role,
                      const char *agency,
                      const char *password,
                      size_t len,
                      const char *actor,
                      rp_error *err)
{
    char hash[crypto_pwhash_STRBYTES];
    sqlite3_stmt *stmt = NULL;
    if (!rp_serve__user_name_ok(name))
        return rp_error_set(err, RP_EINVAL,
                            "a user name has 1 to %d characters of A-Z a-z 0-9 . _ @ -",
                            RP_USER_NAME_MAX - 1);
    if (role <= RP_ROLE_PUBLIC || role >= RP_ROLE_COUNT)
        return rp_error_set(err, RP_EINVAL, "an account needs a role other than public");
    if (agency == NULL)
        agency = "";
    if (role == RP_ROLE_SUBMITTER && agency[0] == '\0')
        return rp_error_set(err, RP_EINVAL, "a submitter needs an agency");
    if (strlen(agency) >= RP_DATA_ID_MAX ||
        rp_x_utf8_check((const unsigned char *)agency, strlen(agency)) != strlen(agency))
        return rp_error_set(err, RP_EINVAL, "an agency code has at most %d bytes of UTF-8",
                            RP_DATA_ID_MAX - 1);
    int rc = check_writable(st, err);
    if (rc == RP_OK)
        rc = hash_password(hash, password, len, err);
    if (rc == RP_OK)
        rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO serve_users (name, role, agency, pwhash, created_at)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)",
                               err);
    if (rc != RP_OK)
        goto out;
    char when[32];
    rp_store__now_utc(when, sizeof(when));
    int ok = sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 2, rp_role_name(role), -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 3, agency, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 4, hash, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 5, when, -1, SQLITE_STATIC);
    int step = ok == SQLITE_OK ? sqlite3_step(stmt) : SQLITE_ERROR;
    if ((step & 0xff) == SQLITE_CONSTRAINT) {
        rc = rp_error_set(err, RP_EINVAL, "user '%s' exists already", name);
        goto out;
    }
    if (step != SQLITE_DONE) {
        rc = rp_store__sql_error(err, st->db, "cannot add the user");
        goto out;
    }
    char detail[160];
    snprintf(detail, sizeof(detail), "{\"role\": \"%s\"}", rp_role_name(role));
    char object[RP_USER_NAME_MAX + 8];
    snprintf(object, sizeof(object), "user %s", name);
    rc = rp_serve__audit(st, actor, "user.add", object, detail, err);
out:
    sqlite3_finalize(stmt);
    sodium_memzero(hash, sizeof(hash));
    return rc;
}

/* Run one bound statement with two text parameters; *changes = rows changed. */
static int
exec2(rp_store *st, const char *sql, const char *a, const char *b, int *changes, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st, sql, err);
    if (rc != RP_OK)
        return rc;
    int ok = sqlite3_bind_text(stmt, 1, a, -1, SQLITE_STATIC);
    if (b != NULL)
        ok |= sqlite3_bind_text(stmt, 2, b, -1, SQLITE_STATIC);
    if (ok != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE)
        rc = rp_store__sql_error(err, st->db, "cannot update the server's tables");
    else if (changes != NULL)
        *changes = sqlite3_changes(st->db);
    sqlite3_finalize(stmt);
    return rc;
}

int rp_serve_user_passwd(rp_store *st,
                         const char *name,
                         const char *password,
                         size_t len,
                         const char *actor,
                         rp_error *err)
{
    char hash[crypto_pwhash_STRBYTES];
    int changes = 0;
    int rc = check_writable(st, err);
    if (rc == RP_OK)
        rc = hash_password(hash, password, len, err);
    if (rc == RP_OK)
        rc = exec2(st, "UPDATE serve_users SET pwhash = ?2 WHERE name = ?1", name, hash, &changes,
                   err);
    if (rc == RP_OK && changes == 0)
        rc = rp_error_set(err, RP_ENOTFOUND, "no user '%s'", name);
    if (rc == RP_OK)
        rc = exec2(st,
                   "DELETE FROM serve_sessions WHERE user_id ="
                   " (SELECT id FROM serve_users WHERE name = ?1)",
                   name, NULL, NULL, err);
    if (rc == RP_OK) {
        char object[RP_USER_NAME_MAX + 8];
        snprintf(object, sizeof(object), "user %s", name);
        rc = rp_serve__audit(st, actor, "user.passwd", object, NULL, err);
    }
    sodium_memzero(hash, sizeof(hash));
    return rc;
}

int rp_serve_user_list(rp_store *st,
                       int (*fn)(const rp_serve_user *u, void *payload),
                       void *payload,
                       rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_serve__ensure_schema(st, err);
    if (rc == RP_OK)
        rc = rp_store__prepare(&stmt, st,
                               "SELECT name, role, agency, created_at, disabled FROM serve_users"
                               " ORDER BY name",
                               err);
    int step = SQLITE_DONE;
    while (rc == RP_OK && (step = sqlite3_step(stmt)) == SQLITE_ROW) {
        rp_serve_user u;
        memset(&u, 0, sizeof(u));
        rp_x_strlcpy(u.name, (const char *)sqlite3_column_text(stmt, 0), sizeof(u.name));
        if (rp_role_parse(&u.role, (const char *)sqlite3_column_text(stmt, 1), NULL) != RP_OK)
            u.role = RP_ROLE_PUBLIC;
        rp_x_strlcpy(u.agency, (const char *)sqlite3_column_text(stmt, 2), sizeof(u.agency));
        rp_x_strlcpy(u.created_at, (const char *)sqlite3_column_text(stmt, 3),
                     sizeof(u.created_at));
        u.disabled = sqlite3_column_int(stmt, 4) != 0;
        if (fn(&u, payload) != 0)
            rc = rp_error_set(err, RP_ECANCELED, "listing stopped");
    }
    if (rc == RP_OK && step != SQLITE_DONE)
        rc = rp_store__sql_error(err, st->db, "cannot list users");
    sqlite3_finalize(stmt);
    return rc;
}

/* A valid Argon2id hash of a random password, made once: unknown names verify against it. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy_hash(void)
{
    char pw[RP_SERVE_TOKEN_TEXT + 1];
    rp_serve__token_new(pw);
    if (crypto_pwhash_str_alg(dummy_hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE,
                              crypto_pwhash_ALG_ARGON2ID13) != 0)
        dummy_hash[0] = '\0';
}

int rp_serve__verify_password(long long *user_id,
                              bool *account,
                              rp_store *st,
                              const char *name,
                              const char *password,
                              size_t len,
                              rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char hash[crypto_pwhash_STRBYTES] = "";
    long long id = 0;
    bool usable = false;
    pthread_once(&dummy_once, make_dummy_hash);
    if (account != NULL)
        *account = false;
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT id, pwhash, disabled FROM serve_users WHERE name = ?1", err);
    if (rc != RP_OK)
        return rc;
    int step = SQLITE_DONE;
    if (sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC) != SQLITE_OK ||
        ((step = sqlite3_step(stmt)) != SQLITE_ROW && step != SQLITE_DONE)) {
        rc = rp_store__sql_error(err, st->db, "cannot look up the user");
        goto out;
    }
    if (step == SQLITE_ROW) {
        id = sqlite3_column_int64(stmt, 0);
        rp_x_strlcpy(hash, (const char *)sqlite3_column_text(stmt, 1), sizeof(hash));
        usable = sqlite3_column_int(stmt, 2) == 0;
        if (account != NULL)
            *account = true;
    }
    const char *against = step == SQLITE_ROW ? hash : dummy_hash;
    bool good = password != NULL && len > 0 && len <= RP_PASSWORD_MAX && against[0] != '\0' &&
                crypto_pwhash_str_verify(against, password, len) == 0;
    if (!(good && usable && step == SQLITE_ROW))
        rc = rp_error_set(err, RP_EPERM, "wrong user name or password");
    else
        *user_id = id;
out:
    sqlite3_finalize(stmt);
    sodium_memzero(hash, sizeof(hash));
    return rc;
}

/* ==== sessions ==== */

/* A session lives at most this long whatever its activity, seconds. */
#define SESSION_MAX_AGE (12LL * 3600)
/* Activity updates the expiry at most this often, seconds ... */
#define SESSION_TOUCH 60
/* ... and at least every session length / SESSION_TOUCH_PARTS, so that a short session
 * does not lapse while in use. */
#define SESSION_TOUCH_PARTS 20

int rp_serve__session_start(rp_serve__session *out,
                            char token[RP_SERVE_TOKEN_TEXT + 1],
                            rp_store *st,
                            long long user_id,
                            time_t now,
                            unsigned seconds,
                            rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    memset(out, 0, sizeof(*out));
    rp_serve__token_new(token);
    rp_serve__token_hash(out->token_hash, token);
    rp_serve__token_new(out->csrf);
    int rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO serve_sessions (token_hash, user_id, csrf, created_at,"
                               " expires_at, seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?4)",
                               err);
    if (rc != RP_OK)
        return rc;
    int ok = sqlite3_bind_text(stmt, 1, out->token_hash, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_int64(stmt, 2, user_id);
    ok |= sqlite3_bind_text(stmt, 3, out->csrf, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_int64(stmt, 4, (sqlite3_int64)now);
    ok |= sqlite3_bind_int64(stmt, 5, (sqlite3_int64)now + seconds);
    if (ok != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE)
        rc = rp_store__sql_error(err, st->db, "cannot start a session");
    sqlite3_finalize(stmt);
    /* Expired sessions of everyone go at each login. */
    if (rc == RP_OK) {
        char cut[32];
        snprintf(cut, sizeof(cut), "%lld", (long long)now);
        rc = exec2(st, "DELETE FROM serve_sessions WHERE expires_at <= CAST(?1 AS INTEGER)", cut,
                   NULL, NULL, err);
    }
    if (rc == RP_OK)
        rc = rp_serve__session_find(out, st, token, now, seconds, err);
    return rc;
}

/* Move the expiry of a live session that was last seen more than a minute ago. */
static int
session_touch(rp_store *st, const char *token_hash, time_t now, long long expires, rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "UPDATE serve_sessions SET seen_at = ?2, expires_at = ?3"
                               " WHERE token_hash = ?1",
                               err);
    if (rc != RP_OK)
        return rc;
    int ok = sqlite3_bind_text(stmt, 1, token_hash, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_int64(stmt, 2, (sqlite3_int64)now);
    ok |= sqlite3_bind_int64(stmt, 3, expires);
    if (ok != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE)
        rc = rp_store__sql_error(err, st->db, "cannot refresh the session");
    sqlite3_finalize(stmt);
    return rc;
}

int rp_serve__session_find(rp_serve__session *out,
                           rp_store *st,
                           const char *token,
                           time_t now,
                           unsigned seconds,
                           rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    char hash[65];
    if (!rp_serve__token_shape_ok(token))
        return rp_error_set(err, RP_ENOTFOUND, "no session");
    rp_serve__token_hash(hash, token);
    int rc = rp_store__prepare(&stmt, st,
                               "SELECT s.user_id, u.name, u.role, u.agency, s.csrf, s.created_at,"
                               " s.expires_at, s.seen_at FROM serve_sessions s"
                               " JOIN serve_users u ON u.id = s.user_id"
                               " WHERE s.token_hash = ?1 AND u.disabled = 0",
                               err);
    if (rc != RP_OK)
        return rc;
    int step = sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC) == SQLITE_OK ? sqlite3_step(stmt)
                                                                                : SQLITE_ERROR;
    if (step == SQLITE_DONE) {
        rc = rp_error_set(err, RP_ENOTFOUND, "no session");
    } else if (step != SQLITE_ROW) {
        rc = rp_store__sql_error(err, st->db, "cannot look up the session");
    } else {
        long long created = sqlite3_column_int64(stmt, 5);
        long long expires = sqlite3_column_int64(stmt, 6);
        long long seen = sqlite3_column_int64(stmt, 7);
        long long touch = seconds / SESSION_TOUCH_PARTS;
        touch = touch < 1 ? 1 : touch > SESSION_TOUCH ? SESSION_TOUCH : touch;
        if (expires <= (long long)now || created + SESSION_MAX_AGE <= (long long)now) {
            rc = rp_error_set(err, RP_ENOTFOUND, "session expired");
            if (!st->readonly) {
                sqlite3_finalize(stmt);
                stmt = NULL;
                /* Nothing to report if it fails: the session is refused either way. */
                rp_serve__session_end(st, hash, NULL);
            }
        } else {
            memset(out, 0, sizeof(*out));
            out->user_id = sqlite3_column_int64(stmt, 0);
            rp_x_strlcpy(out->user, (const char *)sqlite3_column_text(stmt, 1), sizeof(out->user));
            if (rp_role_parse(&out->role, (const char *)sqlite3_column_text(stmt, 2), NULL) !=
                RP_OK)
                out->role = RP_ROLE_PUBLIC;
            rp_x_strlcpy(out->agency, (const char *)sqlite3_column_text(stmt, 3),
                         sizeof(out->agency));
            rp_x_strlcpy(out->csrf, (const char *)sqlite3_column_text(stmt, 4), sizeof(out->csrf));
            rp_x_strlcpy(out->token_hash, hash, sizeof(out->token_hash));
            out->expires_at = expires;
            if (seen + touch <= (long long)now && !st->readonly) {
                out->expires_at = (long long)now + seconds;
                sqlite3_finalize(stmt);
                stmt = NULL;
                rc = session_touch(st, hash, now, out->expires_at, err);
            }
        }
    }
    sqlite3_finalize(stmt);
    if (rc == RP_OK && out->role == RP_ROLE_PUBLIC)
        rc = rp_error_set(err, RP_ENOTFOUND, "no session");
    return rc;
}

int rp_serve__session_end(rp_store *st, const char *token_hash, rp_error *err)
{
    return exec2(st, "DELETE FROM serve_sessions WHERE token_hash = ?1", token_hash, NULL, NULL,
                 err);
}

bool rp_serve__user_exists(rp_store *st, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    if (name == NULL ||
        rp_store__prepare(&stmt, st, "SELECT 1 FROM serve_users WHERE name = ?1", NULL) != RP_OK)
        return false;
    bool found = sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC) == SQLITE_OK &&
                 sqlite3_step(stmt) == SQLITE_ROW;
    sqlite3_finalize(stmt);
    return found;
}

/* ==== audit ==== */

int rp_serve__audit(rp_store *st,
                    const char *user,
                    const char *action,
                    const char *object,
                    const char *detail_json,
                    rp_error *err)
{
    sqlite3_stmt *stmt = NULL;
    int rc = rp_store__prepare(&stmt, st,
                               "INSERT INTO serve_audit (at, user, action, object, detail)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)",
                               err);
    if (rc != RP_OK)
        return rc;
    char when[32];
    rp_store__now_utc(when, sizeof(when));
    int ok = sqlite3_bind_text(stmt, 1, when, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 2, user != NULL ? user : "", -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 3, action, -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 4, object != NULL ? object : "", -1, SQLITE_STATIC);
    ok |= sqlite3_bind_text(stmt, 5, detail_json != NULL ? detail_json : "{}", -1, SQLITE_STATIC);
    if (ok != SQLITE_OK || sqlite3_step(stmt) != SQLITE_DONE)
        rc = rp_store__sql_error(err, st->db, "cannot write the audit trail");
    sqlite3_finalize(stmt);
    return rc;
}
