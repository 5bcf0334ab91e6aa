/*
 * rapporteur: the office online (issue 9). `rapporteur serve` serves the store over HTTP
 * (libmicrohttpd; HTTPS through GnuTLS when a certificate is given): server-rendered pages
 * and a JSON API under /api/v1/ for the overview, submissions, linkage review,
 * recommendations and the public tables, with users, roles, sessions and an audit trail
 * kept in the store (src/serve/).
 */
#ifndef RAPPORTEUR_SERVE_H
#define RAPPORTEUR_SERVE_H

#include <rapporteur/common.h>
#include <rapporteur/error.h>
#include <rapporteur/store.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== roles ==== */

/**
 * Who a user is. RP_ROLE_PUBLIC is nobody logged in; the others are roles of accounts
 * (docs/serve.md has the matrix of what each may reach).
 */
typedef enum rp_role {
    RP_ROLE_PUBLIC = 0,    /* no login: the public statistics only */
    RP_ROLE_SUBMITTER,     /* an agency's data officer: uploads and their own reports */
    RP_ROLE_PARTNER,       /* civil society, private sector: recommendations, evidence */
    RP_ROLE_COORDINATOR,   /* the National Co-ordinator's ministry: overview, scorecards */
    RP_ROLE_ANALYST,       /* the rapporteur's office: everything but accounts */
    RP_ROLE_ADMINISTRATOR, /* everything, accounts and the audit trail too */
    RP_ROLE_COUNT
} rp_role;

/** The role's name ("public", "submitter", ..., "administrator"); "?" when out of range. */
RP_API const char *rp_role_name(rp_role role);

/** Parse a role name as rp_role_name() writes it. @return RP_OK; RP_EINVAL. */
RP_API int rp_role_parse(rp_role *out, const char *name, rp_error *err);

/** The bit of @p role in a role mask (rp_serve_route.roles). */
#define RP_ROLE_BIT(role) (1u << (unsigned)(role))

/* ==== users (kept in the store) ==== */

/** Longest user name, bytes (names are 1..63 bytes of [A-Za-z0-9._@-]). */
#define RP_USER_NAME_MAX 64
/** Shortest and longest password, bytes. */
#define RP_PASSWORD_MIN 10
#define RP_PASSWORD_MAX 1024

/** One account as rp_serve_user_list() shows it (never its hash). */
typedef struct rp_serve_user {
    char name[RP_USER_NAME_MAX];
    rp_role role;
    char agency[RP_DATA_ID_MAX]; /* submitters: the agency whose submissions they see */
    char created_at[32];         /* ISO 8601 UTC */
    bool disabled;
} rp_serve_user;

/**
 * Create an account with password @p password (@p len bytes, RP_PASSWORD_MIN ..
 * RP_PASSWORD_MAX; any bytes but NUL), hashed with Argon2id (libsodium crypto_pwhash_str,
 * interactive limits); the clear password is never stored. Audited with @p actor.
 * Creates the server's tables when the store has none yet.
 * @param[in] agency  required for RP_ROLE_SUBMITTER, NULL or "" otherwise allowed.
 * @return RP_OK; RP_EINVAL (bad name, role RP_ROLE_PUBLIC, password length, submitter
 *         without agency; name already taken); RP_EPERM (read-only store); RP_ESQL;
 *         RP_ENOMEM.
 */
RP_API int rp_serve_user_add(rp_store *st,
                             const char *name,
                             rp_role role,
                             const char *agency,
                             const char *password,
                             size_t len,
                             const char *actor,
                             rp_error *err);

/**
 * Set a new password for @p name (same rules as rp_serve_user_add()), end every session
 * of the account, and audit it with @p actor.
 * @return RP_OK; RP_EINVAL (password length); RP_ENOTFOUND (no such user); RP_ESQL.
 */
RP_API int rp_serve_user_passwd(rp_store *st,
                                const char *name,
                                const char *password,
                                size_t len,
                                const char *actor,
                                rp_error *err);

/**
 * Call @p fn for every account, by name; a nonzero return stops (RP_ECANCELED).
 * @return RP_OK; RP_ESQL; RP_ECANCELED.
 */
RP_API int rp_serve_user_list(rp_store *st,
                              int (*fn)(const rp_serve_user *u, void *payload),
                              void *payload,
                              rp_error *err);

/* ==== the route table ==== */

/**
 * One route of the server. Patterns are literal segments and placeholders: "{id}" is a
 * decimal number of at most 18 digits. A request that no pattern matches is 404; a route
 * whose roles do not include the caller's is 401 (not logged in) or 403.
 */
typedef struct rp_serve_route {
    const char *method;  /* "GET" or "POST" */
    const char *pattern; /* "/submissions/{id}" */
    uint32_t roles;      /* RP_ROLE_BIT() of each role allowed; the PUBLIC bit admits all */
    bool api;            /* JSON under /api/v1/ (else an HTML page) */
    bool changes;        /* changes state: needs the session's CSRF token */
    const char *summary;
} rp_serve_route;

/**
 * The server's route table (what tests/cli/serve.sh walks for its role matrix).
 * @param[out] n  number of routes.
 * @return the table, static and constant.
 */
RP_API const rp_serve_route *rp_serve_routes(size_t *n);

/* ==== the server ==== */

/** Options of rp_server_new(). Initialise with RP_SERVE_OPTS_INIT. */
typedef struct rp_serve_opts {
    unsigned version;
    const char *bind;         /* address to listen on: IPv4 or IPv6 literal */
    unsigned port;            /* 0 = any free port (rp_server_port() tells which) */
    const char *cert_path;    /* PEM certificate (chain): HTTPS when set, with key_path */
    const char *key_path;     /* PEM private key */
    const char *hub_key_path; /* the hub's key, to open sealed submissions; NULL: uploads refused */
    size_t n_threads;         /* worker threads (each with its own store connection) */
    size_t max_body;          /* largest request body, bytes, forms and JSON */
    size_t max_upload;        /* largest submission upload, bytes */
    unsigned session_seconds; /* idle time after which a session ends */
    unsigned login_window;    /* seconds over which failed logins are counted */
    unsigned login_max_user;  /* failed logins per user name in the window */
    unsigned login_max_ip;    /* failed logins per client address in the window */
    int log_fd;               /* access log (one line per request, no bodies); -1: none */
    /*
     * The origin users see when a reverse proxy stands in front ("https://host[:port]",
     * no path); NULL: the server is reached directly. Origin headers must equal it, its
     * host is admitted in Host headers, and when it is https cookies are Secure with the
     * __Host- prefix and answers carry HSTS.
     */
    const char *public_url;
    bool trust_proxy;    /* client address from the last X-Forwarded-For entry, when the
                          * peer is a loopback address (the proxy on the same machine) */
    size_t max_uploads;  /* uploads received at the same time; more are 503 */
    size_t max_buffered; /* request bodies held in memory by all connections together, bytes
                          * (uploads are spooled to a private file instead) */
} rp_serve_opts;

#define RP_SERVE_OPTS_VERSION 2
/* clang-format off */
#define RP_SERVE_OPTS_INIT                                                                \
    {RP_SERVE_OPTS_VERSION, "127.0.0.1", 8080, NULL, NULL, NULL, 2, 1u << 20, 64u << 20, \
     1800, 900, 5, 20, -1, NULL, false, 4, 64u << 20}

/* clang-format on */

/** A running server (opaque). */
typedef struct rp_server rp_server;

/**
 * Open the store at @p store_path (one connection per worker thread), create the
 * server's tables if needed, and start serving on opts->bind:opts->port in background
 * threads. Returns once the socket listens.
 * @return RP_OK; RP_EINVAL (bad options, address); RP_EIO (certificate or key unreadable,
 *         cannot listen: address in use); RP_ENOTFOUND (no store); RP_ESQL; RP_ENOMEM.
 */
RP_API int
rp_server_new(rp_server **out, const char *store_path, const rp_serve_opts *opts, rp_error *err);

/** The port the server listens on. */
RP_API unsigned rp_server_port(const rp_server *srv);

/** Stop serving (open requests finish) and free. NULL-safe. */
RP_API void rp_server_free(rp_server *srv);

#ifdef __cplusplus
}
#endif

#endif
