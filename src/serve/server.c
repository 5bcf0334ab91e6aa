/*
 * The libmicrohttpd glue of `rapporteur serve`: the daemon (a thread pool, HTTPS through
 * GnuTLS when a certificate is given), the pool of store connections (one per worker),
 * body collection with limits (413 before reading an oversized declared body; the
 * connection is closed when a chunked body passes the limit), translation of each
 * request into an rp_serve__request for the router, and the headers every answer
 * carries (CSP, no-sniff, no framing, no caching, HSTS under TLS).
 */
#include "serve/serve_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Memory libmicrohttpd may use per connection for headers, bytes. */
#define CONN_MEMORY (64u << 10)
/* Largest certificate or key file, bytes. */
#define PEM_MAX (1u << 20)

/* What one request collects while libmicrohttpd reads it. */
typedef struct conn_state {
    rp_x_buf body;    /* request body so far (not uploads) */
    size_t limit;     /* its largest size */
    size_t reserved;  /* bytes of body counted in srv->buffered */
    bool started;     /* the first call (headers) has been seen */
    bool upload;      /* counted in srv->uploads; the body goes to the spool file */
    bool refused;     /* answered at the first call: the body is not read */
    int spool_fd;     /* private file of an upload's body; -1 when none */
    char spool[320];  /* its path, "" when none */
    size_t spool_len; /* bytes written to it */
    void *map;        /* the spool file mapped for the handler */
    char client[64];  /* client address (forwarded one behind --trust-proxy) */
} conn_state;

/* ==== store pool ==== */

static rp_store *pool_acquire(rp_server *srv)
{
    pthread_mutex_lock(&srv->pool_lock);
    for (;;) {
        for (size_t i = 0; i < srv->n_stores; i++) {
            if (!srv->busy[i]) {
                srv->busy[i] = true;
                pthread_mutex_unlock(&srv->pool_lock);
                return srv->stores[i];
            }
        }
        pthread_cond_wait(&srv->pool_cond, &srv->pool_lock);
    }
}

static void pool_release(rp_server *srv, rp_store *st)
{
    pthread_mutex_lock(&srv->pool_lock);
    for (size_t i = 0; i < srv->n_stores; i++) {
        if (srv->stores[i] == st)
            srv->busy[i] = false;
    }
    pthread_cond_signal(&srv->pool_cond);
    pthread_mutex_unlock(&srv->pool_lock);
}

/* ==== body accounting ==== */

/* Count @p n more bytes held in memory; false when the server-wide limit would pass. */
static bool reserve(rp_server *srv, conn_state *cs, size_t n)
{
    bool ok = false;
    pthread_mutex_lock(&srv->body_lock);
    if (n <= srv->opts.max_buffered - srv->buffered) {
        srv->buffered += n;
        cs->reserved += n;
        ok = true;
    }
    pthread_mutex_unlock(&srv->body_lock);
    return ok;
}

/* Take a place among the uploads being received; false when all are taken. */
static bool upload_begin(rp_server *srv, conn_state *cs)
{
    bool ok = false;
    pthread_mutex_lock(&srv->body_lock);
    if (srv->uploads < srv->opts.max_uploads) {
        srv->uploads++;
        cs->upload = true;
        ok = true;
    }
    pthread_mutex_unlock(&srv->body_lock);
    return ok;
}

static void conn_state_free(rp_server *srv, conn_state *cs)
{
    pthread_mutex_lock(&srv->body_lock);
    srv->buffered -= cs->reserved;
    if (cs->upload)
        srv->uploads--;
    pthread_mutex_unlock(&srv->body_lock);
    if (cs->map != NULL)
        munmap(cs->map, cs->spool_len);
    if (cs->spool_fd >= 0)
        close(cs->spool_fd);
    if (cs->spool[0] != '\0')
        unlink(cs->spool);
    rp_x_buf_release(&cs->body);
    rp_free(cs);
}

/* Open the private spool file of an upload's body (0600, in the server's 0700 folder). */
static bool spool_open(rp_server *srv, conn_state *cs)
{
    int n = snprintf(cs->spool, sizeof(cs->spool), "%s/body.XXXXXX", srv->upload_dir);
    if (n < 0 || (size_t)n >= sizeof(cs->spool)) {
        cs->spool[0] = '\0';
        return false;
    }
    cs->spool_fd = mkstemp(cs->spool);
    if (cs->spool_fd < 0) {
        cs->spool[0] = '\0';
        return false;
    }
    return true;
}

static bool spool_write(conn_state *cs, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = write(cs->spool_fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        data += w;
        len -= (size_t)w;
        cs->spool_len += (size_t)w;
    }
    return true;
}

/* ==== libmicrohttpd callbacks ==== */

/*
 * libmicrohttpd's unescape callback for the path and query arguments: %00 and broken
 * escapes leave a control byte that the checks after it refuse (400), where the default
 * would cut the string at a decoded NUL or keep a lone '%'.
 */
static size_t on_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    return rp_serve__unescape(s);
}

/* The query string's arguments, as libmicrohttpd decoded them, with our limits. */
typedef struct query_walk {
    rp_serve__params *p;
    bool bad;
} query_walk;

static bool has_control(const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    }
    return false;
}

static enum MHD_Result
on_query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    query_walk *w = cls;
    (void)kind;
    if (w->p->n >= RP_SERVE_MAX_FIELDS || has_control(key) || has_control(value) ||
        rp_serve__params_add(w->p, key, value != NULL ? value : "") != RP_OK) {
        w->bad = true;
        return MHD_NO;
    }
    return MHD_YES;
}

/* Framing headers: how many Content-Length values (and whether they differ), and
 * whether a Transfer-Encoding came. */
typedef struct framing {
    const char *length;
    bool lengths_differ;
    bool transfer_encoding;
} framing;

static enum MHD_Result
on_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    framing *f = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        if (f->length != NULL && (value == NULL || strcmp(f->length, value) != 0))
            f->lengths_differ = true;
        f->length = value != NULL ? value : "";
    } else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        f->transfer_encoding = true;
    }
    return MHD_YES;
}

static void on_completed(void *cls,
                         struct MHD_Connection *conn,
                         void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    conn_state *cs = *con_cls;
    if (cs == NULL)
        return;
    conn_state_free(cls, cs);
    *con_cls = NULL;
}

static const char csp[] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/* Queue @p res on @p conn with the common headers; the body is handed to libmicrohttpd. */
static enum MHD_Result
send_response(rp_server *srv, struct MHD_Connection *conn, rp_serve__response *res)
{
    size_t len = res->body.len;
    char *data = rp_x_buf_detach(&res->body);
    if (data == NULL)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, data, rp_free);
    if (r == NULL) {
        rp_free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "same-origin");
    MHD_add_response_header(r, "Content-Security-Policy", csp);
    if (srv->secure)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
    if (res->location[0] != '\0')
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, res->location);
    for (size_t i = 0; i < res->cookies.n; i++)
        MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, res->cookies.items[i]);
    if (res->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%u", res->retry_after);
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (res->close)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(conn, res->status, r);
    MHD_destroy_response(r);
    return ok;
}

/*
 * One access-log line: client, method, the matched route's pattern (never the request's
 * own path or query, which a client could fill with line breaks or personal data),
 * status and body size.
 */
static void
log_request(rp_server *srv, const char *client, const char *method, const rp_serve__response *res)
{
    if (srv->opts.log_fd < 0)
        return;
    bool token = method[0] != '\0' && strlen(method) < 16 &&
                 strspn(method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(method);
    dprintf(srv->opts.log_fd, "%s %s %s %u %zu\n", client, token ? method : "?",
            res->route != NULL ? res->route : "-", res->status, res->body.len);
}

static void client_address(char *out, size_t size, rp_server *srv, struct MHD_Connection *conn)
{
    rp_x_strlcpy(out, "?", size);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    bool loopback = false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)size);
        loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)size);
        loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    /* Only a proxy on this machine is believed, and only its own (last) entry. */
    if (srv->opts.trust_proxy && loopback)
        rp_serve__forwarded_for(
            out, size, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For"));
}

/* The request's headers as the router sees them (no body, no query yet). */
static void request_headers(rp_serve__request *req,
                            rp_server *srv,
                            struct MHD_Connection *conn,
                            const char *url,
                            const char *method,
                            const conn_state *cs)
{
    memset(req, 0, sizeof(*req));
    req->method = method;
    req->path = url;
    req->tls = srv->secure;
    req->content_type =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    req->csrf_header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
    req->origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    req->host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    rp_x_strlcpy(req->client, cs->client, sizeof(req->client));
}

/* Cookies and query arguments of @p req; false when either is malformed. */
static bool request_params(rp_serve__request *req, struct MHD_Connection *conn)
{
    rp_error err = RP_ERROR_INIT;
    const char *cookie = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
    query_walk qw = {&req->query, false};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_query_arg, &qw);
    return !qw.bad &&
           (cookie == NULL ||
            rp_serve__parse_cookies(&req->cookies, cookie, RP_SERVE_MAX_FIELDS, &err) == RP_OK);
}

/* Free what request_params() parsed into @p req and the answer @p res. */
static void exchange_release(rp_serve__request *req, rp_serve__response *res)
{
    rp_serve__params_release(&req->cookies);
    rp_serve__params_release(&req->query);
    rp_serve__response_release(res);
}

/* Answer @p res now and log it. */
static enum MHD_Result answer(rp_server *srv,
                              struct MHD_Connection *conn,
                              const rp_serve__request *req,
                              rp_serve__response *res)
{
    log_request(srv, req->client, req->method, res);
    return send_response(srv, conn, res);
}

/*
 * The first call, with the headers only: framing, Host, path, query, and for a POST the
 * session, role and CSRF header, all before a byte of the body is accepted; then the
 * body's limit, and the server-wide limits on bodies in memory and uploads at once.
 */
static enum MHD_Result first_call(rp_server *srv,
                                  struct MHD_Connection *conn,
                                  const char *url,
                                  const char *method,
                                  conn_state *cs)
{
    rp_serve__request req;
    rp_serve__response res;
    rp_serve__admission adm = {0, false};
    rp_serve__response_init(&res);
    client_address(cs->client, sizeof(cs->client), srv, conn);
    request_headers(&req, srv, conn, url, method, cs);
    framing f = {NULL, false, false};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, on_header, &f);
    long declared = 0;
    bool admitted = false;
    if (f.lengths_differ || (f.length != NULL && f.transfer_encoding)) {
        rp_serve__answer_error(srv, &req, &res, 400,
                               "conflicting Content-Length or "
                               "Transfer-Encoding headers");
    } else if (f.length != NULL && rp_x_parse_long(f.length, 0, LONG_MAX, &declared) != 0) {
        rp_serve__answer_error(srv, &req, &res, 400, "bad Content-Length");
    } else if (!request_params(&req, conn)) {
        rp_serve__answer_error(srv, &req, &res, 400, "bad query string or cookies");
    } else {
        bool post = strcmp(method, "POST") == 0;
        rp_store *st = post ? pool_acquire(srv) : NULL;
        admitted = rp_serve__admit(&adm, srv, st, &req, &res);
        if (st != NULL)
            pool_release(srv, st);
    }
    if (admitted) {
        cs->limit = adm.limit;
        bool has_body = f.transfer_encoding || declared > 0;
        if ((unsigned long)declared > adm.limit || (f.transfer_encoding && adm.limit == 0)) {
            admitted = false;
            rp_serve__answer_error(srv, &req, &res, 413, "request body too large");
        } else if (adm.upload && has_body && !upload_begin(srv, cs)) {
            admitted = false;
            rp_serve__answer_error(srv, &req, &res, 503, "too many uploads at once: try again");
            res.retry_after = 10;
        } else if (cs->upload && !spool_open(srv, cs)) {
            admitted = false;
            rp_serve__answer_error(srv, &req, &res, 500, "cannot store the upload");
        } else if (!cs->upload && declared > 0 && !reserve(srv, cs, (size_t)declared)) {
            admitted = false;
            rp_serve__answer_error(srv, &req, &res, 503, "the server is busy: try again");
            res.retry_after = 5;
        }
    }
    enum MHD_Result ok = MHD_YES;
    if (!admitted) {
        cs->refused = true;
        ok = answer(srv, conn, &req, &res);
    }
    exchange_release(&req, &res);
    return ok;
}

/* The whole request has arrived: route it. */
static enum MHD_Result handle(rp_server *srv,
                              struct MHD_Connection *conn,
                              const char *url,
                              const char *method,
                              conn_state *cs)
{
    rp_serve__request req;
    rp_serve__response res;
    rp_serve__response_init(&res);
    request_headers(&req, srv, conn, url, method, cs);
    enum MHD_Result ok = MHD_NO;
    if (cs->upload && cs->spool_len > 0) {
        cs->map = mmap(NULL, cs->spool_len, PROT_READ, MAP_PRIVATE, cs->spool_fd, 0);
        if (cs->map == MAP_FAILED) {
            cs->map = NULL;
            rp_serve__answer_error(srv, &req, &res, 500, "cannot read the upload back");
            ok = answer(srv, conn, &req, &res);
            goto out;
        }
        req.body = cs->map;
        req.body_len = cs->spool_len;
    } else {
        req.body = rp_x_buf_cstr(&cs->body);
        req.body_len = cs->body.len;
    }
    if (!request_params(&req, conn)) {
        rp_serve__answer_error(srv, &req, &res, 400, "bad query string or cookies");
        ok = answer(srv, conn, &req, &res);
        goto out;
    }
    rp_store *st = pool_acquire(srv);
    rp_serve__dispatch(srv, st, &req, &res);
    pool_release(srv, st);
    ok = answer(srv, conn, &req, &res);
out:
    exchange_release(&req, &res);
    return ok;
}

static enum MHD_Result on_request(void *cls,
                                  struct MHD_Connection *conn,
                                  const char *url,
                                  const char *method,
                                  const char *version,
                                  const char *upload_data,
                                  size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    rp_server *srv = cls;
    conn_state *cs = *con_cls;
    if (cs == NULL) {
        /* The first call, with the headers: the state is freed by on_completed(). */
        cs = rp_calloc(1, sizeof(*cs));
        if (cs == NULL)
            return MHD_NO;
        rp_x_buf_init(&cs->body);
        cs->spool_fd = -1;
        *con_cls = cs;
    }
    if (!cs->started) {
        cs->started = true;
        return first_call(srv, conn, url, method, cs);
    }
    if (cs->refused) {
        /* Answered already: whatever body still comes is dropped with the connection. */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        size_t have = cs->upload ? cs->spool_len : cs->body.len;
        /* A body without a declared length that passes the limit: close the connection. */
        if (n > cs->limit - have)
            return MHD_NO;
        if (cs->upload) {
            if (!spool_write(cs, upload_data, n))
                return MHD_NO;
        } else {
            if (cs->body.len + n > cs->reserved &&
                !reserve(srv, cs, cs->body.len + n - cs->reserved))
                return MHD_NO;
            if (rp_x_buf_append(&cs->body, upload_data, n) != RP_OK)
                return MHD_NO;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return handle(srv, conn, url, method, cs);
}

/* ==== start and stop ==== */

static int read_pem(char **out, const char *path, rp_error *err)
{
    size_t len = 0;
    int rc = rp_x_read_file(out, &len, path, PEM_MAX, err);
    if (rc != RP_OK)
        return rc;
    if (len == 0 || strlen(*out) != len) {
        rp_free(*out);
        *out = NULL;
        return rp_error_set_at(err, RP_EIO, path, 0, 0, "not a PEM file");
    }
    return RP_OK;
}

static int check_opts(const rp_serve_opts *o, rp_error *err)
{
    if (o->version != RP_SERVE_OPTS_VERSION)
        return rp_error_set(err, RP_EINVAL, "serve options of version %u, expected %u", o->version,
                            RP_SERVE_OPTS_VERSION);
    if (o->port > 65535)
        return rp_error_set(err, RP_EINVAL, "port %u out of range", o->port);
    if ((o->cert_path == NULL) != (o->key_path == NULL))
        return rp_error_set(err, RP_EINVAL, "HTTPS needs both a certificate and a key");
    if (o->n_threads < 1 || o->n_threads > 64)
        return rp_error_set(err, RP_EINVAL, "threads must be 1 to 64");
    if (o->max_body < 1024 || o->max_upload < 1024)
        return rp_error_set(err, RP_EINVAL, "body limits must be at least 1024 bytes");
    if (o->session_seconds < 60 || o->login_window < 1 || o->login_max_user < 1 ||
        o->login_max_ip < 1)
        return rp_error_set(err, RP_EINVAL, "session and login limits out of range");
    if (o->hub_key_path != NULL && strlen(o->hub_key_path) >= 1024)
        return rp_error_set(err, RP_EINVAL, "hub key path too long");
    if (o->max_uploads < 1 || o->max_buffered < o->max_body)
        return rp_error_set(err, RP_EINVAL,
                            "at least one upload at a time, and room in memory for one body");
    return RP_OK;
}

static int open_pool(rp_server *srv, const char *store_path, rp_error *err)
{
    srv->n_stores = srv->opts.n_threads;
    srv->stores = rp_calloc(srv->n_stores, sizeof(rp_store *));
    srv->busy = rp_calloc(srv->n_stores, sizeof(*srv->busy));
    if (srv->stores == NULL || srv->busy == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    for (size_t i = 0; i < srv->n_stores; i++) {
        int rc = rp_store_open(&srv->stores[i], store_path, 0, err);
        if (rc == RP_OK && i == 0)
            rc = rp_serve__ensure_schema(srv->stores[i], err);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* The listening address of opts->bind and opts->port. */
static int make_addr(struct sockaddr_storage *ss, bool *v6, const rp_serve_opts *o, rp_error *err)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
    *v6 = false;
    if (inet_pton(AF_INET, o->bind, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)o->port);
        return RP_OK;
    }
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET6, o->bind, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)o->port);
        *v6 = true;
        return RP_OK;
    }
    return rp_error_set(err, RP_EINVAL, "'%s' is not an IPv4 or IPv6 address", o->bind);
}

/* TLS 1.2 and 1.3 only, GnuTLS's normal cipher choice otherwise. */
static char tls_priorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

static int start_daemon(rp_server *srv, rp_error *err)
{
    struct sockaddr_storage ss;
    bool v6 = false;
    int rc = make_addr(&ss, &v6, &srv->opts, err);
    if (rc != RP_OK)
        return rc;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem items[16];
    size_t n = 0;
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
    if (srv->opts.n_threads > 1)
        items[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                             (intptr_t)srv->opts.n_threads, NULL};
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, 512, NULL};
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, 128, NULL};
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL};
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONN_MEMORY, NULL};
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL};
    if (srv->tls) {
        flags |= MHD_USE_TLS;
        items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, srv->key_pem};
        items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, srv->cert_pem};
        items[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, tls_priorities};
    }
    items[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    srv->daemon = MHD_start_daemon(flags, (uint16_t)srv->opts.port, NULL, NULL, on_request, srv,
                                   MHD_OPTION_ARRAY, items, MHD_OPTION_NOTIFY_COMPLETED,
                                   on_completed, (void *)srv, MHD_OPTION_UNESCAPE_CALLBACK,
                                   on_unescape, (void *)srv, MHD_OPTION_END);
    if (srv->daemon == NULL)
        return rp_error_set(err, RP_EIO,
                            "cannot listen on %s port %u (address in use, or a bad "
                            "certificate or key)",
                            srv->opts.bind, srv->opts.port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di != NULL ? di->port : srv->opts.port;
    return RP_OK;
}

static int make_upload_dir(rp_server *srv, rp_error *err)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] == '\0')
        tmp = "/tmp";
    int n = snprintf(srv->upload_dir, sizeof(srv->upload_dir), "%s/rapporteur-serve.XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof(srv->upload_dir))
        return rp_error_set(err, RP_EIO, "TMPDIR is too long");
    if (mkdtemp(srv->upload_dir) == NULL) {
        rp_error_set(err, RP_EIO, "cannot create a private upload folder in '%s'", tmp);
        rp_x_error_sys(err, errno);
        srv->upload_dir[0] = '\0';
        return RP_EIO;
    }
    return RP_OK;
}

int rp_server_new(rp_server **out, const char *store_path, const rp_serve_opts *opts, rp_error *err)
{
    *out = NULL;
    rp_serve_opts defaults = RP_SERVE_OPTS_INIT;
    if (opts == NULL)
        opts = &defaults;
    int rc = check_opts(opts, err);
    if (rc != RP_OK)
        return rc;
    rp_server *srv = rp_calloc(1, sizeof(*srv));
    if (srv == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    srv->opts = *opts;
    rp_x_strlcpy(srv->bind, opts->bind != NULL ? opts->bind : "127.0.0.1", sizeof(srv->bind));
    srv->opts.bind = srv->bind;
    if (opts->hub_key_path != NULL)
        rp_x_strlcpy(srv->hub_key, opts->hub_key_path, sizeof(srv->hub_key));
    srv->opts.hub_key_path = NULL;
    srv->opts.cert_path = srv->opts.key_path = NULL;
    pthread_mutex_init(&srv->pool_lock, NULL);
    pthread_cond_init(&srv->pool_cond, NULL);
    pthread_mutex_init(&srv->gen_lock, NULL);
    pthread_mutex_init(&srv->cache.lock, NULL);
    pthread_mutex_init(&srv->public_cache.lock, NULL);
    pthread_mutex_init(&srv->body_lock, NULL);
    srv->opts.public_url = NULL;
    bool public_https = false;
    if (opts->public_url != NULL)
        rc = rp_serve__parse_public_url(srv->public_origin, sizeof(srv->public_origin),
                                        srv->public_host, sizeof(srv->public_host), &public_https,
                                        opts->public_url, err);
    srv->secure = public_https || opts->cert_path != NULL;
    if (rc == RP_OK)
        rc = rp_serve__rl_new(&srv->rl, err);
    if (rc == RP_OK && opts->cert_path != NULL) {
        srv->tls = true;
        rc = read_pem(&srv->cert_pem, opts->cert_path, err);
        if (rc == RP_OK)
            rc = read_pem(&srv->key_pem, opts->key_path, err);
    }
    if (rc == RP_OK)
        rc = open_pool(srv, store_path, err);
    if (rc == RP_OK)
        rc = make_upload_dir(srv, err);
    if (rc == RP_OK)
        rc = start_daemon(srv, err);
    if (rc != RP_OK) {
        rp_server_free(srv);
        return rc;
    }
    *out = srv;
    return RP_OK;
}

unsigned rp_server_port(const rp_server *srv)
{
    return srv->port;
}

void rp_server_free(rp_server *srv)
{
    if (srv == NULL)
        return;
    if (srv->daemon != NULL)
        MHD_stop_daemon(srv->daemon);
    for (size_t i = 0; srv->stores != NULL && i < srv->n_stores; i++)
        rp_store_close(srv->stores[i]);
    rp_free(srv->stores);
    rp_free(srv->busy);
    rp_serve__rl_free(srv->rl);
    json_decref(srv->cache.model);
    json_decref(srv->public_cache.model);
    if (srv->key_pem != NULL) {
        sodium_memzero(srv->key_pem, strlen(srv->key_pem));
        rp_free(srv->key_pem);
    }
    rp_free(srv->cert_pem);
    if (srv->upload_dir[0] != '\0')
        rmdir(srv->upload_dir);
    pthread_mutex_destroy(&srv->pool_lock);
    pthread_cond_destroy(&srv->pool_cond);
    pthread_mutex_destroy(&srv->gen_lock);
    pthread_mutex_destroy(&srv->cache.lock);
    pthread_mutex_destroy(&srv->public_cache.lock);
    pthread_mutex_destroy(&srv->body_lock);
    rp_free(srv);
}
