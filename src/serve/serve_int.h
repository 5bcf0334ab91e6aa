/*
 * Private interface of the server module (src/serve). A request travels from the
 * libmicrohttpd glue (server.c) as an rp_serve__request, independent of libmicrohttpd,
 * through the router (routes.c: path checks, route match, session, role, CSRF) to a
 * handler (page_*.c for HTML, api.c for JSON), which fills an rp_serve__response. The
 * parsers (parse.c), accounts and sessions (auth.c), the server's tables and queries
 * (db.c) and the HTML writer (html.c) are reached by unit tests and the fuzz target
 * through this header.
 */
#ifndef RP_SERVE_INT_H
#define RP_SERVE_INT_H

#include "common/common_int.h"

#include <rapporteur/serve.h>
#include <rapporteur/store.h>

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ==== limits of request parsing ==== */

/** Most fields in a query string, form or cookie header; most parts of a multipart body. */
#define RP_SERVE_MAX_FIELDS 64
/** Longest field name, bytes. */
#define RP_SERVE_MAX_NAME 128
/** Longest request path, bytes. */
#define RP_SERVE_MAX_PATH 1024
/** Most placeholders in a route pattern. */
#define RP_SERVE_MAX_IDS 4

/* ==== parameters: query strings, forms, cookies ==== */

/** One decoded name=value pair (both NUL-terminated, owned). */
typedef struct rp_serve__param {
    char *name;
    char *value;
    size_t value_len; /* bytes of value (no NUL inside: decoded NULs are refused) */
} rp_serve__param;

/** A list of parameters, in the order they came. */
typedef struct rp_serve__params {
    rp_serve__param *v;
    size_t n, cap;
} rp_serve__params;

/* clang-format off */
#define RP_SERVE__PARAMS_INIT {NULL, 0, 0}
/* clang-format on */

/** Free every parameter and the array; @p p is left empty. NULL-safe. */
void rp_serve__params_release(rp_serve__params *p);

/**
 * Append a copy of the decoded pair @p name = @p value (names 1..RP_SERVE_MAX_NAME - 1
 * bytes; both UTF-8). @return RP_OK; RP_EPARSE; RP_ENOMEM.
 */
int rp_serve__params_add(rp_serve__params *p, const char *name, const char *value);

/** The value of the first parameter named @p name, or NULL. Borrowed from @p p. */
const char *rp_serve__param_get(const rp_serve__params *p, const char *name);

/**
 * Parse application/x-www-form-urlencoded text (a query string or a form body):
 * '&'-separated name=value pairs, '+' for space, %XX escapes. Empty pairs are skipped;
 * a pair without '=' has value "". Names are 1..RP_SERVE_MAX_NAME bytes.
 * @return RP_OK; RP_EPARSE (bad escape, decoded NUL, text that is not UTF-8, a name too
 *         long); RP_EDATA (more than @p max_fields pairs); RP_ENOMEM. On failure @p out
 *         is left empty.
 */
int rp_serve__parse_urlencoded(
    rp_serve__params *out, const char *s, size_t len, size_t max_fields, rp_error *err);

/**
 * Parse a Cookie request header ("a=1; b=2"). Pairs without '=' or with an empty name
 * are skipped, as browsers do; quoted values lose their quotes; no decoding.
 * @return RP_OK; RP_EDATA (more than @p max_fields cookies); RP_ENOMEM.
 */
int rp_serve__parse_cookies(rp_serve__params *out,
                            const char *header,
                            size_t max_fields,
                            rp_error *err);

/** One part of a multipart/form-data body; the data points into the body. */
typedef struct rp_serve__part {
    char name[RP_SERVE_MAX_NAME];
    char filename[256]; /* "" when none; base name only, never a path */
    bool has_filename;
    const char *data;
    size_t len;
} rp_serve__part;

typedef struct rp_serve__parts {
    rp_serve__part *v;
    size_t n;
} rp_serve__parts;

/* clang-format off */
#define RP_SERVE__PARTS_INIT {NULL, 0}
/* clang-format on */

void rp_serve__parts_release(rp_serve__parts *p);

/** The first part named @p name, or NULL. */
const rp_serve__part *rp_serve__part_get(const rp_serve__parts *p, const char *name);

/**
 * Parse a multipart/form-data body (RFC 7578) with the boundary of @p content_type.
 * Each part needs a Content-Disposition: form-data header with a name; its headers end
 * at an empty line and it ends at CRLF--boundary. The body must end with the closing
 * delimiter. Part headers are limited to 8 KiB.
 * @return RP_OK; RP_EPARSE (no boundary, malformed part, missing end); RP_EDATA (more
 *         than @p max_parts parts); RP_ENOMEM.
 */
int rp_serve__parse_multipart(rp_serve__parts *out,
                              const char *content_type,
                              const char *body,
                              size_t len,
                              size_t max_parts,
                              rp_error *err);

/**
 * The value of parameter @p param of a header value such as a Content-Type
 * ("multipart/form-data; boundary=xyz"), unquoted, into @p out (@p size bytes).
 * @return true when found and it fits.
 */
bool rp_serve__header_param(char *out, size_t size, const char *header, const char *param);

/** True when the media type of @p content_type (before any ';') is @p type, case-blind. */
bool rp_serve__media_type_is(const char *content_type, const char *type);

/**
 * True when @p path may be routed: starts with '/', at most RP_SERVE_MAX_PATH bytes,
 * UTF-8, no control characters or backslash, no empty segment ("//"), no "." or ".."
 * segment. (The server serves no files; this still keeps traversal attempts out.)
 */
bool rp_serve__path_ok(const char *path);

/**
 * Match @p path against a route @p pattern; each "{id}" placeholder takes one segment of
 * 1..18 decimal digits into ids[] (at most RP_SERVE_MAX_IDS). @return true on a match.
 */
bool rp_serve__route_match(const char *pattern, const char *path, long long *ids, size_t *n_ids);

/* ==== base64url and tokens ==== */

/** Length of the base64url text (no padding) of a 32-byte token. */
#define RP_SERVE_TOKEN_TEXT 43

/** A new random token: 32 bytes from libsodium as base64url text (@p out: 44 bytes). */
void rp_serve__token_new(char out[RP_SERVE_TOKEN_TEXT + 1]);

/** True when @p s has the shape of a token (43 base64url characters). */
bool rp_serve__token_shape_ok(const char *s);

/** The BLAKE2b-256 hash of token text @p token as 64 hex digits (what the store keeps). */
void rp_serve__token_hash(char out[65], const char *token);

/** Constant-time comparison of two NUL-terminated strings of public length. */
bool rp_serve__secret_eq(const char *a, const char *b);

/* ==== login rate limiting (in memory) ==== */

/**
 * Fixed-size table of failure counters by key ("u:name", "i:address"); thread-safe. Keys
 * are placed by SipHash (crypto_shorthash) under a random key made per table, so that
 * nobody can choose names that collide. Slots of accounts are kept: a flood of other
 * keys does not evict them within their window.
 */
typedef struct rp_serve__ratelimit rp_serve__ratelimit;

int rp_serve__rl_new(rp_serve__ratelimit **out, rp_error *err);
void rp_serve__rl_free(rp_serve__ratelimit *rl);

/**
 * True when @p key had @p max or more failures within the last @p window seconds at
 * @p now; *retry_after then says how many seconds until the window ends, and *@p first
 * (may be NULL) is true for the first refusal of the window only (it is then marked):
 * the audit trail keeps one throttled entry per key and window.
 */
bool rp_serve__rl_blocked(rp_serve__ratelimit *rl,
                          const char *key,
                          time_t now,
                          unsigned max,
                          unsigned window,
                          unsigned *retry_after,
                          bool *first);

/**
 * Count one failure of @p key at @p now (a new window starts when the last one ended).
 * @p keep marks the key as an account's: its slot is not given to other keys while its
 * window lasts (when every slot of its run is so kept, the failure is not counted).
 */
void rp_serve__rl_fail(
    rp_serve__ratelimit *rl, const char *key, time_t now, unsigned window, bool keep);

/** Forget the failures of @p key (after a successful login). */
void rp_serve__rl_reset(rp_serve__ratelimit *rl, const char *key);

/* ==== accounts, sessions, audit (auth.c, db.c) ==== */

/**
 * Create the server's tables if absent (users, sessions, audit), idempotently, with
 * CREATE TABLE IF NOT EXISTS. @return RP_OK; RP_ESQL.
 */
int rp_serve__ensure_schema(rp_store *st, rp_error *err);

/** Who is logged in on a request (or nobody: role RP_ROLE_PUBLIC, user_id 0). */
typedef struct rp_serve__session {
    long long user_id;
    char user[RP_USER_NAME_MAX];
    rp_role role;
    char agency[RP_DATA_ID_MAX];
    char token_hash[65];
    char csrf[RP_SERVE_TOKEN_TEXT + 1];
    long long expires_at; /* unix seconds */
} rp_serve__session;

/** True when @p name is a valid user name (1..63 bytes of [A-Za-z0-9._@-]). */
bool rp_serve__user_name_ok(const char *name);

/**
 * Check @p password for @p name. The Argon2id verification runs even for an unknown or
 * disabled account (against a fixed dummy hash), so that timing does not tell which
 * names exist. *@p account (may be NULL) says whether @p name is an account, for the
 * server's own bookkeeping (never for the answer). @return RP_OK with *@p user_id;
 * RP_EPERM (wrong name or password, disabled); RP_ESQL.
 */
int rp_serve__verify_password(long long *user_id,
                              bool *account,
                              rp_store *st,
                              const char *name,
                              const char *password,
                              size_t len,
                              rp_error *err);

/**
 * Start a session for @p user_id lasting @p seconds from @p now: a new random token
 * (returned in @p token, only its hash is stored) and CSRF token; @p out filled.
 * @return RP_OK; RP_ESQL.
 */
int rp_serve__session_start(rp_serve__session *out,
                            char token[RP_SERVE_TOKEN_TEXT + 1],
                            rp_store *st,
                            long long user_id,
                            time_t now,
                            unsigned seconds,
                            rp_error *err);

/**
 * The live session of token @p token at @p now; its expiry moves to now + @p seconds,
 * written when the last write is older than a twentieth of @p seconds (at most once a
 * minute). A session found expired is deleted (all expired ones go at each log-in).
 * @return RP_OK; RP_ENOTFOUND (no such live session, or a disabled account); RP_ESQL.
 */
int rp_serve__session_find(rp_serve__session *out,
                           rp_store *st,
                           const char *token,
                           time_t now,
                           unsigned seconds,
                           rp_error *err);

/** End the session with token hash @p token_hash. @return RP_OK; RP_ESQL. */
int rp_serve__session_end(rp_store *st, const char *token_hash, rp_error *err);

/** True when @p name is an account (disabled or not); false on errors too. */
bool rp_serve__user_exists(rp_store *st, const char *name);

/* ==== addresses, hosts, the public URL (parse.c) ==== */

/**
 * Parse a public URL "http(s)://host[:port]" (an optional final "/", nothing else after
 * the authority): *@p origin gets the origin as browsers send it (lower case, the default
 * port left out), *@p host the Host header value it implies, *@p https its scheme.
 * @return RP_OK; RP_EINVAL (another scheme, a path, query, user, bad port or host).
 */
int rp_serve__parse_public_url(char *origin,
                               size_t origin_size,
                               char *host,
                               size_t host_size,
                               bool *https,
                               const char *url,
                               rp_error *err);

/**
 * The client address an X-Forwarded-For header @p xff gives: its last entry (the one the
 * proxy added), trimmed, when it is an IPv4 or IPv6 literal, written normalised into
 * @p out. @return false (out untouched) when there is none or it is not an address.
 */
bool rp_serve__forwarded_for(char *out, size_t size, const char *xff);

/**
 * The rate-limit key of client address @p addr: "i:" and the address, IPv6 addresses cut
 * to their /64 network (one subscriber usually holds a whole /64).
 */
void rp_serve__client_key(char *out, size_t size, const char *addr);

/** The byte rp_serve__unescape() leaves for a bad escape: a control byte, refused later. */
#define RP_SERVE_BAD_ESCAPE '\x01'

/**
 * Decode the %XX escapes of @p s in place (libmicrohttpd's unescape callback for paths
 * and query arguments; '+' is its business). "%00" and a '%' not followed by two hex
 * digits become RP_SERVE_BAD_ESCAPE, which the path check and the query walk refuse
 * (400), so a NUL can never cut a path or value short. @return the new length.
 */
size_t rp_serve__unescape(char *s);

/**
 * Remove the "near '...'" parts that Jansson's messages carry (they quote the file's
 * text) from @p msg, in place.
 */
void rp_serve__scrub_message(char *msg);

/**
 * Append one entry to the audit trail: UTC time, @p user (NULL or "" for nobody), the
 * @p action ("login", "upload", ...), its object ("submission 3") and a JSON object of
 * details (may be NULL). Never holds a password or personal data.
 * @return RP_OK; RP_ESQL.
 */
int rp_serve__audit(rp_store *st,
                    const char *user,
                    const char *action,
                    const char *object,
                    const char *detail_json,
                    rp_error *err);

/* ==== requests and responses ==== */

/** One request as the router sees it (every pointer borrowed from the glue). */
typedef struct rp_serve__request {
    const char *method;
    const char *path; /* decoded, without the query string */
    rp_serve__params query;
    rp_serve__params cookies;
    const char *content_type; /* NULL if none */
    const char *csrf_header;  /* X-CSRF-Token, NULL if none */
    const char *origin;       /* Origin header, NULL if none */
    const char *host;         /* Host header, NULL if none */
    const char *body;
    size_t body_len;
    char client[64]; /* client address as text (X-Forwarded-For behind --trust-proxy) */
    bool tls;        /* the user reaches the server by https: direct TLS or an https
                      * public URL (Secure and __Host- cookies, https origins) */
} rp_serve__request;

/** What a handler answers. */
typedef struct rp_serve__response {
    unsigned status;
    const char *content_type; /* static string */
    rp_x_buf body;
    char location[512];   /* Location header for redirects, "" if none */
    rp_x_strvec cookies;  /* Set-Cookie values */
    unsigned retry_after; /* seconds, 0 = no Retry-After */
    const char *route;    /* pattern of the matched route, for the log; NULL if none */
    bool close;           /* close the connection after the answer (body left unread) */
} rp_serve__response;

void rp_serve__response_init(rp_serve__response *res);
void rp_serve__response_release(rp_serve__response *res);

/* ==== the server object, shared by every handler ==== */

/** A cached model (estimation is the costly part of a page), see rp_serve__model_cached. */
typedef struct rp_serve__cache {
    pthread_mutex_t lock;
    char key[96];  /* data generation it was computed for; "" = empty */
    json_t *model; /* owned */
} rp_serve__cache;

struct rp_server {
    rp_serve_opts opts;
    char bind[64];
    char hub_key[1024]; /* "" when none */
    struct MHD_Daemon *daemon;
    unsigned port;
    bool tls;
    char *cert_pem, *key_pem;
    /* pool of store connections, one per worker */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;
    rp_store **stores;
    bool *busy;
    size_t n_stores;
    rp_serve__ratelimit *rl;
    rp_serve__cache cache;        /* overview */
    rp_serve__cache public_cache; /* public tables */
    unsigned long generation;     /* bumped by each change made through the server */
    pthread_mutex_t gen_lock;
    char upload_dir[256];    /* private (0700) folder for uploads being imported */
    char public_origin[300]; /* "https://host" of opts->public_url; "" when none */
    char public_host[300];   /* the Host header it implies */
    bool secure;             /* users come by https: TLS here or an https public URL */
    /* bodies being received: bytes held in memory, uploads being spooled */
    pthread_mutex_t body_lock;
    size_t buffered;
    size_t uploads;
};

/** Everything a handler needs. */
typedef struct rp_serve__ctx {
    rp_server *srv;
    rp_store *st;
    const rp_serve__request *req;
    rp_serve__response *res;
    rp_serve__session sess; /* role RP_ROLE_PUBLIC when nobody is logged in */
    const rp_serve_route *route;
    long long ids[RP_SERVE_MAX_IDS];
    size_t n_ids;
    rp_serve__params form; /* decoded form body (POST application/x-www-form-urlencoded) */
    rp_serve__parts parts; /* decoded multipart body */
    json_t *json;          /* decoded JSON body (API) */
} rp_serve__ctx;

/** A handler: fills ctx->res. A returned error becomes a 4xx/5xx page or JSON error. */
typedef int (*rp_serve__handler)(rp_serve__ctx *ctx, rp_error *err);

/**
 * Route and answer @p req into @p res: path check (400), route match (404, or 405 when
 * the path exists with another method), session from the cookie, role (401/403),
 * body decoding and limits, CSRF and origin check on changes (403), then the handler.
 * Never fails: every failure is an HTTP answer. @p st is the worker's store connection.
 */
void rp_serve__dispatch(rp_server *srv,
                        rp_store *st,
                        const rp_serve__request *req,
                        rp_serve__response *res);

/** Bump the data generation (after a change), so cached models are recomputed. */
void rp_serve__changed(rp_server *srv);

/** Largest body a request of an anonymous caller to a public route may have, bytes. */
#define RP_SERVE_ANON_BODY (16u << 10)

/** What rp_serve__admit() decided about a request's body. */
typedef struct rp_serve__admission {
    size_t limit; /* largest body, bytes */
    bool upload;  /* an upload route: the body is spooled to a private file */
} rp_serve__admission;

/**
 * The checks that come before any body is read, on the request's headers (@p req has
 * no body yet): method, Host allow-list (421), path (400), and for a POST the route,
 * session, role (401/403), origin and a CSRF header when one is sent (403); then the
 * body limit: RP_SERVE_ANON_BODY for public routes without a session, max_upload for
 * uploads, max_body otherwise, 0 for GET and HEAD.
 * @return true with *@p adm when the request may send its body; false with the refusal
 *         in @p res (which closes the connection).
 */
bool rp_serve__admit(rp_serve__admission *adm,
                     rp_server *srv,
                     rp_store *st,
                     const rp_serve__request *req,
                     rp_serve__response *res);

/**
 * Fill @p res with an error answer for @p req before routing: JSON under /api/, a page
 * otherwise; the connection is closed after it.
 */
void rp_serve__answer_error(rp_server *srv,
                            const rp_serve__request *req,
                            rp_serve__response *res,
                            unsigned status,
                            const char *msg);

/**
 * True when the Host header @p host names this server: the public URL's host, or the
 * bound address (any IP literal when bound to a wildcard address, "localhost" when bound
 * to loopback) with the port listened on. Other names are refused (421), a defence
 * against DNS rebinding.
 */
bool rp_serve__host_ok(const rp_server *srv, const char *host);

/** True when a user of @p role may use @p method on @p path (by the route table). */
bool rp_serve__may(rp_role role, const char *method, const char *path);

/** Name of the session cookie (with the __Host- prefix under TLS). */
const char *rp_serve__cookie_name(bool tls);

/* ==== HTML (html.c) ==== */

/** Append @p s HTML-escaped (& < > " ' and control characters). */
void rp_serve__esc(rp_x_buf *b, const char *s);

/** Append printf output, each %s argument NOT escaped: use only with escaped or fixed text. */
#define rp_serve__raw rp_x_buf_printf

/** Start a page: doctype, head with title and inline CSS, skip link, header with the
 *  navigation the user's role may reach, <main>. */
void rp_serve__page_begin(rp_serve__ctx *ctx, const char *title);

/** End the page (</main>, footer) and set the response's type to HTML. */
void rp_serve__page_end(rp_serve__ctx *ctx);

/** A hidden CSRF input for the session's forms. */
void rp_serve__csrf_input(rp_serve__ctx *ctx);

/** Append a number as people count (integer, or with one decimal when not whole). */
void rp_serve__num(rp_x_buf *b, double x);

/** The string member @p key of @p o, "" when absent or not a string. */
const char *rp_serve__jstr(const json_t *o, const char *key);

/** The number member @p key of @p o, NaN when absent or not a number. */
double rp_serve__jnum(const json_t *o, const char *key);

/** A table cell holding @p s, escaped. */
void rp_serve__td_text(rp_x_buf *b, const char *s);

/** A right-aligned table cell holding @p x as rp_serve__num() writes it. */
void rp_serve__td_num(rp_x_buf *b, double x);

/** A message paragraph of class @p cls ("ok", "bad", ...; "bad" is an alert) holding @p text. */
void rp_serve__message(rp_x_buf *b, const char *cls, const char *text);

/** End the page (rp_serve__page_end). @return RP_OK; RP_ENOMEM when the body ran out of memory. */
int rp_serve__page_finish(rp_serve__ctx *ctx, rp_error *err);

/** Set a JSON answer (takes the reference to @p v, also on failure). */
int rp_serve__json(rp_serve__ctx *ctx, unsigned status, json_t *v, rp_error *err);

/** A short HTML or JSON error answer (message must hold no personal data). */
void rp_serve__error_page(rp_serve__ctx *ctx, unsigned status, const char *msg);

/** Redirect (303 See Other) to the local path @p location. */
void rp_serve__redirect(rp_serve__ctx *ctx, const char *location);

/* ==== the data behind pages and API (model_*.c): JSON models ==== */

/**
 * Key of the store's data as the cached models depend on it: the newest submission and
 * linkage run, the number of linked records, and the server's own change counter.
 * @return RP_OK; RP_ESQL.
 */
int rp_serve__data_key(char *out, size_t size, rp_serve__ctx *ctx, rp_error *err);

/**
 * The model kept in cache @p c: a copy of the cached one when it was made for the data
 * as they are now (rp_serve__data_key), else a new one from @p compute, which is given
 * that key and then cached. @p compute returns NULL on failure, with @p err set (or
 * else the failure is RP_ENOMEM). @return RP_OK; RP_ESQL; RP_ENOMEM; what @p compute set.
 */
int rp_serve__model_cached(json_t **out,
                           rp_serve__ctx *ctx,
                           rp_serve__cache *c,
                           json_t *(*compute)(rp_store *st, const char *key, rp_error *err),
                           rp_error *err);

int rp_serve__model_overview(json_t **out, rp_serve__ctx *ctx, rp_error *err);
int rp_serve__model_submissions(json_t **out, rp_serve__ctx *ctx, rp_error *err);
int rp_serve__model_submission(json_t **out, rp_serve__ctx *ctx, long long id, rp_error *err);
int rp_serve__model_link_runs(json_t **out, rp_serve__ctx *ctx, rp_error *err);
int rp_serve__model_link_run(json_t **out, rp_serve__ctx *ctx, long long id, rp_error *err);
int rp_serve__model_public(json_t **out, rp_serve__ctx *ctx, rp_error *err);
int rp_serve__model_users(json_t **out, rp_serve__ctx *ctx, rp_error *err);
int rp_serve__model_audit(json_t **out, rp_serve__ctx *ctx, rp_error *err);
int rp_serve__model_recs(json_t **out, rp_serve__ctx *ctx, rp_error *err);
int rp_serve__model_rec(json_t **out, rp_serve__ctx *ctx, long long id, rp_error *err);
int rp_serve__model_scorecards(json_t **out, rp_serve__ctx *ctx, rp_error *err);

/**
 * Record a clerical-review decision on pair (@p a, @p b) of run @p run: only pairs in
 * the review band (or already reviewed) may be decided. Audited.
 * @return RP_OK; RP_ENOTFOUND (no such pair); RP_EINVAL (pair not in the review band,
 *         bad decision); RP_ESQL.
 */
int rp_serve__link_review(
    rp_serve__ctx *ctx, long long run, long long a, long long b, bool accept, rp_error *err);

/**
 * Import an uploaded sealed submission (@p data, @p len bytes, file name @p name) with
 * the server's hub key, as the logged-in user's agency for submitters. Audited.
 * @return what rp_store_import_submission() returns; RP_EPERM (no hub key configured).
 */
int rp_serve__upload(json_t **out,
                     rp_serve__ctx *ctx,
                     const char *name,
                     const char *data,
                     size_t len,
                     rp_error *err);

int rp_serve__rec_set_status(
    rp_serve__ctx *ctx, long long id, const char *status, const char *note, rp_error *err);
int rp_serve__rec_add_evidence(
    rp_serve__ctx *ctx, long long id, const char *text, const char *url, rp_error *err);

/**
 * Log in @p user with @p password for the form and the API: per-user and per-address
 * rate limits, Argon2id check, new session (ctx->sess, cookie set, *token), audit.
 * A refusal sets *@p status (401 wrong credentials, 429 throttled, with Retry-After)
 * and returns RP_EPERM; other failures leave *@p status 0.
 */
int rp_serve__login(char token[RP_SERVE_TOKEN_TEXT + 1],
                    unsigned *status,
                    rp_serve__ctx *ctx,
                    const char *user,
                    const char *password,
                    rp_error *err);

/** Add a Set-Cookie: HttpOnly, SameSite=Strict, Path=/, Secure under TLS. */
void rp_serve__set_cookie(rp_serve__ctx *ctx, const char *name, const char *value, long max_age);

/* ==== handlers (routes.c binds them to the route table) ==== */

int rp_serve__page_overview(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_login(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__post_login(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__post_logout(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_public(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_submissions(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__post_submission(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_submission(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_linkage(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_link_run(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__post_link_review(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_recs(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_rec(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__post_rec_status(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__post_rec_evidence(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_scorecards(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_users(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__post_user(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_audit(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__page_health(rp_serve__ctx *ctx, rp_error *err);

int rp_serve__api_login(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_logout(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_session(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_overview(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_public(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_submissions(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_upload(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_submission(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_link_runs(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_link_run(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_link_review(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_recs(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_rec(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_rec_status(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_rec_evidence(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_scorecards(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_users(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_user_add(rp_serve__ctx *ctx, rp_error *err);
int rp_serve__api_audit(rp_serve__ctx *ctx, rp_error *err);

#endif
