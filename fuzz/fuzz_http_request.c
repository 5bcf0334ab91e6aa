/*
 * libFuzzer target for the server's request parsing (src/serve/parse.c): the input is
 * split at its first three newlines into a path with query string, a Cookie header, a
 * Content-Type header and a body, and each goes through the parser the server uses on
 * it: path check and route match, query string, cookies, form body, multipart body and
 * header parameters. Checks the parsers' contracts: on success every field is a
 * NUL-terminated UTF-8 name with a value of the stated length and within the limits, and
 * multipart data lies inside the body; on failure nothing is left allocated.
 */
#include "serve/serve_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 16

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_http_request: %s\n", what);
    abort();
}

static void check_params(const rp_serve__params *p, int rc)
{
    if (rc != RP_OK && p->n != 0)
        fail("fields left after a failure");
    if (p->n > MAX_FIELDS)
        fail("more fields than the limit");
    for (size_t i = 0; i < p->n; i++) {
        size_t nl = strlen(p->v[i].name);
        if (nl == 0 || nl >= RP_SERVE_MAX_NAME || strlen(p->v[i].value) != p->v[i].value_len)
            fail("a field of the wrong shape");
    }
}

/* The next line of in[0..len) (without its newline) as a new string; advances. */
static char *next_line(const char **in, size_t *len)
{
    const char *nl = memchr(*in, '\n', *len);
    size_t n = nl != NULL ? (size_t)(nl - *in) : *len;
    char *s = rp_x_strndup(*in, n);
    *in += nl != NULL ? n + 1 : n;
    *len -= nl != NULL ? n + 1 : n;
    return s;
}

static void fuzz_target(const char *path_query,
                        const char *cookie,
                        const char *ctype,
                        const char *body,
                        size_t body_len)
{
    rp_serve__params p = RP_SERVE__PARAMS_INIT;
    const char *q = strchr(path_query, '?');
    size_t plen = q != NULL ? (size_t)(q - path_query) : strlen(path_query);
    char *path = rp_x_strndup(path_query, plen);
    if (path != NULL && rp_serve__path_ok(path)) {
        size_t n = 0;
        const rp_serve_route *r = rp_serve_routes(&n);
        long long ids[RP_SERVE_MAX_IDS];
        size_t n_ids = 0;
        for (size_t i = 0; i < n; i++) {
            if (rp_serve__route_match(r[i].pattern, path, ids, &n_ids) && n_ids > RP_SERVE_MAX_IDS)
                fail("too many ids");
        }
    }
    rp_free(path);
    if (q != NULL) {
        int rc = rp_serve__parse_urlencoded(&p, q + 1, strlen(q + 1), MAX_FIELDS, NULL);
        check_params(&p, rc);
        rp_serve__params_release(&p);
    }
    int rc = rp_serve__parse_cookies(&p, cookie, MAX_FIELDS, NULL);
    check_params(&p, rc);
    rp_serve__params_release(&p);
    rc = rp_serve__parse_urlencoded(&p, body, body_len, MAX_FIELDS, NULL);
    check_params(&p, rc);
    rp_serve__params_release(&p);
    rp_serve__parts parts = RP_SERVE__PARTS_INIT;
    rc = rp_serve__parse_multipart(&parts, ctype, body, body_len, MAX_FIELDS, NULL);
    if (rc != RP_OK && parts.n != 0)
        fail("parts left after a failure");
    for (size_t i = 0; i < parts.n; i++) {
        const rp_serve__part *pt = &parts.v[i];
        if (pt->data < body || pt->data + pt->len > body + body_len || pt->name[0] == '\0')
            fail("a part outside the body or without a name");
        if (strchr(pt->filename, '/') != NULL || strchr(pt->filename, '\\') != NULL)
            fail("a file name with a path");
    }
    rp_serve__parts_release(&parts);
    char out[64];
    (void)rp_serve__header_param(out, sizeof(out), ctype, "boundary");
    /* The unescaper never lengthens, never leaves a NUL inside, and a %00 never passes. */
    char *u = rp_x_strndup(path_query, strlen(path_query));
    if (u != NULL) {
        size_t ulen = rp_serve__unescape(u);
        if (ulen > strlen(path_query) || strlen(u) != ulen)
            fail("unescape lengthened or left a NUL");
        if (strstr(path_query, "%00") != NULL && rp_serve__path_ok(u))
            fail("a %00 path passed");
        rp_free(u);
    }
    char addr[64];
    if (rp_serve__forwarded_for(addr, sizeof(addr), cookie)) {
        char key[80];
        rp_serve__client_key(key, sizeof(key), addr);
    }
    char origin[300];
    char host[300];
    bool https = false;
    (void)rp_serve__parse_public_url(origin, sizeof(origin), host, sizeof(host), &https, ctype,
                                     NULL);
    char msg[512];
    rp_x_strlcpy(msg, cookie, sizeof(msg));
    rp_serve__scrub_message(msg);
    rp_x_buf b = RP_X_BUF_INIT;
    rp_serve__esc(&b, cookie);
    rp_x_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    size_t len = size;
    char *path_query = next_line(&in, &len);
    char *cookie = next_line(&in, &len);
    char *ctype = next_line(&in, &len);
    /* The body keeps its exact bytes in a buffer of its own size (ASan sees overreads). */
    char *body = malloc(len > 0 ? len : 1);
    if (path_query != NULL && cookie != NULL && ctype != NULL && body != NULL) {
        memcpy(body, in, len);
        fuzz_target(path_query, cookie, ctype, body, len);
    }
    free(body);
    rp_free(path_query);
    rp_free(cookie);
    rp_free(ctype);
    if (rp_alloc_live() != 0)
        fail("memory left allocated");
    return 0;
}
