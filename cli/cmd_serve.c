/*
 * rapporteur CLI: `rapporteur serve`, the office online (src/serve): serve the store over
 * HTTP(S) until SIGINT or SIGTERM; `serve user add|passwd|list` manage accounts (the
 * password is read from a file or standard input, never from the command line); `serve
 * routes` prints the route table with the roles each route admits.
 */
#include "cli_util.h"
#include "cmds.h"
#include "common/banned.h" /* last: it redefines banned libc names */

#include <rapporteur/rapporteur.h>
#include <rapporteur/serve.h>
#include <rapporteur/store.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CMD_NAME "serve"

enum {
    OPT_STORE = RP_CLI_OPT_FIRST,
    OPT_BIND,
    OPT_PORT,
    OPT_CERT,
    OPT_KEY,
    OPT_THREADS,
    OPT_HUB_KEY,
    OPT_MAX_UPLOAD,
    OPT_PORT_FILE,
    OPT_LOG,
    OPT_ROLE,
    OPT_AGENCY,
    OPT_PASSWORD_FILE,
    OPT_SESSION,
    OPT_PUBLIC_URL,
    OPT_TRUST_PROXY,
    OPT_MAX_UPLOADS
};

static const struct option longopts[] = {
    RP_CLI_COMMON_LONGOPTS,
    {"store", required_argument, NULL, OPT_STORE},
    {"bind", required_argument, NULL, OPT_BIND},
    {"port", required_argument, NULL, OPT_PORT},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"hub-key", required_argument, NULL, OPT_HUB_KEY},
    {"max-upload", required_argument, NULL, OPT_MAX_UPLOAD},
    {"port-file", required_argument, NULL, OPT_PORT_FILE},
    {"log", no_argument, NULL, OPT_LOG},
    {"session-minutes", required_argument, NULL, OPT_SESSION},
    {"public-url", required_argument, NULL, OPT_PUBLIC_URL},
    {"trust-proxy", no_argument, NULL, OPT_TRUST_PROXY},
    {"max-uploads", required_argument, NULL, OPT_MAX_UPLOADS},
    {"role", required_argument, NULL, OPT_ROLE},
    {"agency", required_argument, NULL, OPT_AGENCY},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {NULL, 0, NULL, 0}};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: rapporteur serve --store DB [--bind ADDR] [--port N] [--cert FILE --key FILE]\n"
            "                        [--threads N] [--hub-key FILE] [options]\n"
            "       rapporteur serve user add NAME --role ROLE [--agency CODE]\n"
            "                        [--password-file FILE] --store DB\n"
            "       rapporteur serve user passwd NAME [--password-file FILE] --store DB\n"
            "       rapporteur serve user list [--json] --store DB\n"
            "       rapporteur serve routes [--json]\n"
            "\n"
            "Serve the store over HTTP: the overview (latest estimate with its interval),\n"
            "submissions (upload of sealed submissions, validation reports), clerical review\n"
            "of linkage runs, the recommendation tracker, the public statistics, and the same\n"
            "data as JSON under /api/v1/ (docs/api.md). Runs until SIGINT or SIGTERM.\n"
            "\n"
            "Server options:\n"
            "  --store DB           the store (default %s)\n"
            "  --bind ADDR          IPv4 or IPv6 address to listen on (default 127.0.0.1)\n"
            "  --port N             port (default 8080; 0 = any free port)\n"
            "  --port-file FILE     write the port listened on into FILE once listening\n"
            "  --cert FILE          PEM certificate: serve HTTPS (with --key)\n"
            "  --key FILE           PEM private key of the certificate\n"
            "  --threads N          worker threads, each with a store connection (default 2)\n"
            "  --hub-key FILE       the hub's key: accept uploads of sealed submissions\n"
            "  --max-upload MB      largest upload in MiB (default 64)\n"
            "  --max-uploads N      uploads received at the same time (default 4)\n"
            "  --public-url URL     behind a reverse proxy: the origin users see,\n"
            "                       https://host[:port] (Origin and Host checks, Secure\n"
            "                       __Host- cookies and HSTS when https)\n"
            "  --trust-proxy        take the client address from the last X-Forwarded-For\n"
            "                       entry of requests from a loopback address (the proxy)\n"
            "  --session-minutes N  idle time before a session ends (default 30)\n"
            "  --log                one line per request on stderr (no bodies, no queries)\n"
            "Accounts:\n"
            "  --role ROLE          administrator, analyst, coordinator, submitter or partner\n"
            "  --agency CODE        the agency of a submitter (whose submissions they see)\n"
            "  --password-file FILE read the password from the first line of FILE; without\n"
            "                       it, from the first line of standard input\n"
            "  --json               user list and routes as JSON\n"
            "  -q, --quiet          no start-up message\n"
            "  -h, --help           show this help\n"
            "\n"
            "Exit status: 0 ok (stopped by a signal), 1 runtime error, 2 usage, 4 I/O or store\n"
            "(no store, cannot listen, unreadable certificate).\n",
            RP_STORE_DEFAULT_PATH);
}

typedef struct serve_args {
    rp_cli_common common;
    rp_serve_opts opts;
    const char *store;
    const char *port_file;
    const char *role;
    const char *agency;
    const char *password_file;
    bool log;
} serve_args;

static int apply_opt(int opt, const char *v, const char *name, void *payload)
{
    serve_args *a = payload;
    int n = 0;
    (void)name;
    switch (opt) {
    case OPT_STORE:
        a->store = v;
        return -1;
    case OPT_BIND:
        a->opts.bind = v;
        return -1;
    case OPT_PORT:
        if (!rp_cli_parse_int(&n, v, 0, 65535))
            return rp_cli_usage_error(CMD_NAME, "--port: expected 0 to 65535");
        a->opts.port = (unsigned)n;
        return -1;
    case OPT_CERT:
        a->opts.cert_path = v;
        return -1;
    case OPT_KEY:
        a->opts.key_path = v;
        return -1;
    case OPT_THREADS:
        if (!rp_cli_parse_int(&n, v, 1, 64))
            return rp_cli_usage_error(CMD_NAME, "--threads: expected 1 to 64");
        a->opts.n_threads = (size_t)n;
        return -1;
    case OPT_HUB_KEY:
        a->opts.hub_key_path = v;
        return -1;
    case OPT_MAX_UPLOAD:
        if (!rp_cli_parse_int(&n, v, 1, 4096))
            return rp_cli_usage_error(CMD_NAME, "--max-upload: expected 1 to 4096 (MiB)");
        a->opts.max_upload = (size_t)n << 20;
        return -1;
    case OPT_SESSION:
        if (!rp_cli_parse_int(&n, v, 1, 24 * 60))
            return rp_cli_usage_error(CMD_NAME, "--session-minutes: expected 1 to 1440");
        a->opts.session_seconds = (unsigned)n * 60;
        return -1;
    case OPT_PORT_FILE:
        a->port_file = v;
        return -1;
    case OPT_PUBLIC_URL:
        a->opts.public_url = v;
        return -1;
    case OPT_TRUST_PROXY:
        a->opts.trust_proxy = true;
        return -1;
    case OPT_MAX_UPLOADS:
        if (!rp_cli_parse_int(&n, v, 1, 64))
            return rp_cli_usage_error(CMD_NAME, "--max-uploads: expected 1 to 64");
        a->opts.max_uploads = (size_t)n;
        return -1;
    case OPT_LOG:
        a->log = true;
        return -1;
    case OPT_ROLE:
        a->role = v;
        return -1;
    case OPT_AGENCY:
        a->agency = v;
        return -1;
    case OPT_PASSWORD_FILE:
        a->password_file = v;
        return -1;
    default:
        return RP_CLI_OPT_UNKNOWN;
    }
}

/* ==== accounts ==== */

/*
 * The password: the first line of --password-file, or of standard input. The line end
 * (LF or CRLF) is not part of it. Wiped by the caller.
 */
static int read_password(char *buf, size_t size, size_t *len, const char *path)
{
    FILE *f = path != NULL ? fopen(path, "rb") : stdin;
    if (f == NULL) {
        fprintf(stderr, "rapporteur: cannot open password file '%s': %s\n", path, strerror(errno));
        return RP_EXIT_IO;
    }
    size_t n = 0;
    int c = 0;
    while ((c = fgetc(f)) != EOF && c != '\n' && n + 1 < size)
        buf[n++] = (char)c;
    if (path != NULL)
        fclose(f);
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (n + 1 >= size) {
        fprintf(stderr, "rapporteur: the password is too long (at most %d bytes)\n",
                RP_PASSWORD_MAX);
        return RP_EXIT_USAGE;
    }
    *len = n;
    return -1;
}

static int print_user(const rp_serve_user *u, void *payload)
{
    json_t *arr = payload;
    if (arr != NULL) {
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", u->name, "role",
                                             rp_role_name(u->role), "agency", u->agency,
                                             "created_at", u->created_at, "disabled", u->disabled));
        return 0;
    }
    char name[RP_USER_NAME_MAX * 4];
    char agency[RP_DATA_ID_MAX * 4];
    printf("%-24s %-14s %-16s %s%s\n", rp_cli_text_clean(name, sizeof(name), u->name),
           rp_role_name(u->role), rp_cli_text_clean(agency, sizeof(agency), u->agency),
           u->created_at, u->disabled ? " (disabled)" : "");
    return 0;
}

static int user_list(rp_store *st, bool json)
{
    rp_error err = RP_ERROR_INIT;
    json_t *arr = json ? json_array() : NULL;
    int rc = rp_serve_user_list(st, print_user, arr, &err);
    if (rc == RP_OK && json) {
        json_t *root = json_pack("{s:o}", "users", arr);
        rc = rp_cli_json_print(root, &err);
        json_decref(root);
    } else {
        json_decref(arr);
    }
    return rc == RP_OK ? RP_EXIT_OK : rp_cli_report(&err, json);
}

static int user_cmd(serve_args *a, int argc, char **argv)
{
    /* argv[optind] is "user", then the action and the name. */
    const char *action = optind + 1 < argc ? argv[optind + 1] : NULL;
    const char *name = optind + 2 < argc ? argv[optind + 2] : NULL;
    bool list = action != NULL && strcmp(action, "list") == 0;
    if (action == NULL || (!list && strcmp(action, "add") != 0 && strcmp(action, "passwd") != 0))
        return rp_cli_usage_error(CMD_NAME, "user: expected add, passwd or list");
    if ((list && name != NULL) || (!list && name == NULL) || optind + 3 < argc)
        return rp_cli_usage_error(CMD_NAME, "user %s: %s", action,
                                  list ? "takes no name" : "expected one user name");
    rp_store *st = NULL;
    int ex = rp_cli_store_open(&st, a->store, 0, a->common.json);
    if (ex >= 0)
        return ex;
    if (list) {
        ex = user_list(st, a->common.json);
        rp_store_close(st);
        return ex;
    }
    rp_error err = RP_ERROR_INIT;
    rp_role role = RP_ROLE_PUBLIC;
    char pw[RP_PASSWORD_MAX + 2];
    size_t len = 0;
    bool add = strcmp(action, "add") == 0;
    if (add && (a->role == NULL || rp_role_parse(&role, a->role, &err) != RP_OK)) {
        rp_store_close(st);
        return rp_cli_usage_error(CMD_NAME, "user add: --role administrator, analyst, "
                                            "coordinator, submitter or partner is required");
    }
    ex = read_password(pw, sizeof(pw), &len, a->password_file);
    int rc = RP_OK;
    if (ex < 0)
        rc = add ? rp_serve_user_add(st, name, role, a->agency, pw, len, "cli", &err)
                 : rp_serve_user_passwd(st, name, pw, len, "cli", &err);
    memset(pw, 0, sizeof(pw));
    rp_store_close(st);
    if (ex >= 0)
        return ex;
    if (rc != RP_OK)
        return rp_cli_report(&err, a->common.json);
    if (!a->common.quiet && !a->common.json)
        printf("user '%s' %s\n", name, add ? "added" : "has a new password");
    return RP_EXIT_OK;
}

/* ==== routes ==== */

static int routes_cmd(bool json)
{
    size_t n = 0;
    const rp_serve_route *r = rp_serve_routes(&n);
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *roles = json ? json_array() : NULL;
        char text[128] = "";
        size_t used = 0;
        for (unsigned k = 0; k < RP_ROLE_COUNT; k++) {
            if ((r[i].roles & RP_ROLE_BIT(k)) == 0)
                continue;
            if (json)
                json_array_append_new(roles, json_string(rp_role_name((rp_role)k)));
            int w = snprintf(text + used, sizeof(text) - used, "%s%s", used ? "," : "",
                             rp_role_name((rp_role)k));
            if (w > 0 && (size_t)w < sizeof(text) - used)
                used += (size_t)w;
        }
        if (json)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:o,s:b,s:b,s:s}", "method", r[i].method,
                                                 "pattern", r[i].pattern, "roles", roles, "api",
                                                 r[i].api, "changes", r[i].changes, "summary",
                                                 r[i].summary));
        else
            printf("%-5s %-34s %-48s %s\n", r[i].method, r[i].pattern, text, r[i].summary);
    }
    if (!json)
        return RP_EXIT_OK;
    rp_error err = RP_ERROR_INIT;
    json_t *root = json_pack("{s:o}", "routes", arr);
    int rc = rp_cli_json_print(root, &err);
    json_decref(root);
    return rc == RP_OK ? RP_EXIT_OK : rp_cli_report(&err, true);
}

/* ==== the server ==== */

static int write_port_file(const char *path, unsigned port)
{
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -1;
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    int ok = fprintf(f, "%u\n", port) > 0;
    ok &= fclose(f) == 0;
    return ok && rename(tmp, path) == 0 ? 0 : -1;
}

static int run_server(serve_args *a)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    /* Block the stop signals in every thread (the server's inherit the mask); the main
     * thread waits for them with sigwait(). */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (a->log)
        a->opts.log_fd = STDERR_FILENO;
    rp_error err = RP_ERROR_INIT;
    rp_server *srv = NULL;
    int rc =
        rp_server_new(&srv, a->store != NULL ? a->store : RP_STORE_DEFAULT_PATH, &a->opts, &err);
    if (rc != RP_OK)
        return rp_cli_report(&err, a->common.json);
    unsigned port = rp_server_port(srv);
    if (a->port_file != NULL && write_port_file(a->port_file, port) != 0) {
        fprintf(stderr, "rapporteur: cannot write the port file '%s'\n", a->port_file);
        rp_server_free(srv);
        return RP_EXIT_IO;
    }
    bool v6 = strchr(a->opts.bind, ':') != NULL;
    if (!a->common.quiet)
        fprintf(stderr, "rapporteur: serving %s on %s://%s%s%s:%u/%s%s%s (stop with Ctrl-C)\n",
                a->store != NULL ? a->store : RP_STORE_DEFAULT_PATH,
                a->opts.cert_path != NULL ? "https" : "http", v6 ? "[" : "", a->opts.bind,
                v6 ? "]" : "", port, a->opts.public_url != NULL ? " for " : "",
                a->opts.public_url != NULL ? a->opts.public_url : "",
                a->opts.trust_proxy ? " behind a trusted proxy" : "");
    int sig = 0;
    sigwait(&set, &sig);
    rp_server_free(srv);
    if (!a->common.quiet)
        fprintf(stderr, "rapporteur: stopped\n");
    return RP_EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
    serve_args a;
    memset(&a, 0, sizeof(a));
    rp_serve_opts defaults = RP_SERVE_OPTS_INIT;
    a.opts = defaults;
    /* getopt_long() takes "--password X" as "--password-file X": refuse any spelling but
     * the whole option, so that nobody believes a password on the command line is used. */
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--pa", 4) == 0 && strcmp(argv[i], "--password-file") != 0 &&
            strncmp(argv[i], "--password-file=", 16) != 0)
            return rp_cli_usage_error(CMD_NAME, "passwords are read from --password-file or "
                                                "standard input, never from the command line");
    }
    int ex = rp_cli_parse_opts(&a.common, CMD_NAME, argc, argv, longopts, usage, apply_opt, &a);
    if (ex >= 0)
        return ex;
    if (optind < argc && strcmp(argv[optind], "user") == 0)
        return user_cmd(&a, argc, argv);
    if (optind < argc && strcmp(argv[optind], "routes") == 0) {
        if (optind + 1 < argc)
            return rp_cli_usage_error(CMD_NAME, "routes takes no argument");
        return routes_cmd(a.common.json);
    }
    ex = rp_cli_no_operands(CMD_NAME, argc, argv);
    if (ex >= 0)
        return ex;
    if ((a.opts.cert_path == NULL) != (a.opts.key_path == NULL))
        return rp_cli_usage_error(CMD_NAME, "--cert and --key go together");
    if (a.role != NULL || a.agency != NULL || a.password_file != NULL)
        return rp_cli_usage_error(CMD_NAME, "--role, --agency and --password-file are for "
                                            "'serve user'");
    return run_server(&a);
}
