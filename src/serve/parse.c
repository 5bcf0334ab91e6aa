/*
 * Request parsing of the server: query strings and forms (urlencoded), cookies,
 * multipart/form-data bodies, header parameters, path checks and route patterns. Every
 * parser works on a bounded buffer, limits the number of fields and refuses what it
 * cannot read rather than guessing; fuzz/fuzz_http_request.c drives all of them.
 */
#include "serve/serve_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>

/* ==== parameters ==== */

void rp_serve__params_release(rp_serve__params *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        rp_free(p->v[i].name);
        rp_free(p->v[i].value);
    }
    rp_free(p->v);
    p->v = NULL;
    p->n = p->cap = 0;
}

const char *rp_serve__param_get(const rp_serve__params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].name, name) == 0)
            return p->v[i].value;
    }
    return NULL;
}

/* Append a pair taking ownership of @p name and @p value (freed on failure). */
static int params_push(rp_serve__params *p, char *name, char *value, size_t value_len)
{
    if (name == NULL || value == NULL ||
        rp_x_grow(&p->v, &p->cap, p->n + 1, sizeof(*p->v)) != RP_OK) {
        rp_free(name);
        rp_free(value);
        return RP_ENOMEM;
    }
    p->v[p->n].name = name;
    p->v[p->n].value = value;
    p->v[p->n].value_len = value_len;
    p->n++;
    return RP_OK;
}

int rp_serve__params_add(rp_serve__params *p, const char *name, const char *value)
{
    size_t nl = name != NULL ? strlen(name) : 0;
    size_t vl = strlen(value);
    if (nl == 0 || nl >= RP_SERVE_MAX_NAME ||
        rp_x_utf8_check((const unsigned char *)name, nl) != nl ||
        rp_x_utf8_check((const unsigned char *)value, vl) != vl)
        return RP_EPARSE;
    return params_push(p, rp_x_strndup(name, nl), rp_x_strndup(value, vl), vl);
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decode s[0..len) ('+' is space, %XX a byte) into a new string. Refuses a bad escape,
 * a decoded NUL and a result that is not UTF-8.
 */
static int url_decode(char **out, size_t *out_len, const char *s, size_t len, rp_error *err)
{
    *out = NULL;
    char *d = rp_malloc(len + 1);
    if (d == NULL)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < len ? hex_val(s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_val(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                rp_free(d);
                return rp_error_set(err, RP_EPARSE, "bad %%-escape at byte %zu", i);
            }
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '\0') {
            rp_free(d);
            return rp_error_set(err, RP_EPARSE, "a NUL byte in a field at byte %zu", i);
        }
        d[n++] = c;
    }
    d[n] = '\0';
    if (rp_x_utf8_check((const unsigned char *)d, n) != n) {
        rp_free(d);
        return rp_error_set(err, RP_EPARSE, "a field that is not UTF-8");
    }
    *out = d;
    *out_len = n;
    return RP_OK;
}

/* One name=value pair of s[0..len) into @p out. */
static int urlencoded_pair(rp_serve__params *out, const char *s, size_t len, rp_error *err)
{
    const char *eq = memchr(s, '=', len);
    size_t name_len = eq != NULL ? (size_t)(eq - s) : len;
    const char *val = eq != NULL ? eq + 1 : s + len;
    size_t val_len = eq != NULL ? len - name_len - 1 : 0;
    char *name = NULL;
    char *value = NULL;
    size_t n_len = 0;
    size_t v_len = 0;
    int rc = url_decode(&name, &n_len, s, name_len, err);
    if (rc != RP_OK)
        return rc;
    if (n_len == 0 || n_len >= RP_SERVE_MAX_NAME) {
        rp_free(name);
        return rp_error_set(err, RP_EPARSE, "a field name of %zu bytes (1 to %d allowed)", n_len,
                            RP_SERVE_MAX_NAME - 1);
    }
    rc = url_decode(&value, &v_len, val, val_len, err);
    if (rc != RP_OK) {
        rp_free(name);
        return rc;
    }
    if (params_push(out, name, value, v_len) != RP_OK)
        return rp_error_set(err, RP_ENOMEM, "out of memory");
    return RP_OK;
}

int rp_serve__parse_urlencoded(
    rp_serve__params *out, const char *s, size_t len, size_t max_fields, rp_error *err)
{
    int rc = RP_OK;
    size_t start = 0;
    while (start <= len && rc == RP_OK) {
        const char *amp = start < len ? memchr(s + start, '&', len - start) : NULL;
        size_t end = amp != NULL ? (size_t)(amp - s) : len;
        if (end > start) {
            if (out->n >= max_fields) {
                rc = rp_error_set(err, RP_EDATA, "more than %zu fields", max_fields);
                break;
            }
            rc = urlencoded_pair(out, s + start, end - start, err);
        }
        start = end + 1;
    }
    if (rc != RP_OK)
        rp_serve__params_release(out);
    return rc;
}

/* ==== cookies ==== */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int rp_serve__parse_cookies(rp_serve__params *out,
                            const char *header,
                            size_t max_fields,
                            rp_error *err)
{
    const char *p = header;
    int rc = RP_OK;
    while (p != NULL && *p != '\0' && rc == RP_OK) {
        const char *semi = strchr(p, ';');
        size_t len = semi != NULL ? (size_t)(semi - p) : strlen(p);
        const char *s = p;
        const char *e = p + len;
        p = semi != NULL ? semi + 1 : NULL;
        while (s < e && is_ows(*s))
            s++;
        while (e > s && is_ows(e[-1]))
            e--;
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (eq == NULL || eq == s || (size_t)(eq - s) >= RP_SERVE_MAX_NAME)
            continue;
        const char *v = eq + 1;
        const char *ve = e;
        if (ve - v >= 2 && *v == '"' && ve[-1] == '"') {
            v++;
            ve--;
        }
        if (out->n >= max_fields) {
            rc = rp_error_set(err, RP_EDATA, "more than %zu cookies", max_fields);
            break;
        }
        if (params_push(out, rp_x_strndup(s, (size_t)(eq - s)), rp_x_strndup(v, (size_t)(ve - v)),
                        (size_t)(ve - v)) != RP_OK)
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
    }
    if (rc != RP_OK)
        rp_serve__params_release(out);
    return rc;
}

/* ==== header parameters ==== */

bool rp_serve__media_type_is(const char *content_type, const char *type)
{
    if (content_type == NULL)
        return false;
    size_t n = strlen(type);
    if (strncasecmp(content_type, type, n) != 0)
        return false;
    char c = content_type[n];
    return c == '\0' || c == ';' || is_ows(c);
}

bool rp_serve__header_param(char *out, size_t size, const char *header, const char *param)
{
    if (header == NULL || size == 0)
        return false;
    size_t plen = strlen(param);
    const char *p = strchr(header, ';');
    while (p != NULL) {
        p++;
        while (is_ows(*p))
            p++;
        if (strncasecmp(p, param, plen) == 0 && p[plen] == '=') {
            const char *v = p + plen + 1;
            size_t n = 0;
            if (*v == '"') {
                v++;
                const char *q = strchr(v, '"');
                if (q == NULL)
                    return false;
                n = (size_t)(q - v);
            } else {
                n = strcspn(v, "; \t");
            }
            if (n == 0 || n >= size)
                return false;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = strchr(p, ';');
    }
    return false;
}

/* ==== multipart/form-data ==== */

void rp_serve__parts_release(rp_serve__parts *p)
{
    if (p == NULL)
        return;
    rp_free(p->v);
    p->v = NULL;
    p->n = 0;
}

const rp_serve__part *rp_serve__part_get(const rp_serve__parts *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].name, name) == 0)
            return &p->v[i];
    }
    return NULL;
}

/* First occurrence of needle[0..nlen) in hay[0..hlen), or NULL. */
static const char *find_bytes(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0 || hlen < nlen)
        return NULL;
    const char *end = hay + (hlen - nlen);
    for (const char *p = hay; p <= end;) {
        const char *c = memchr(p, needle[0], (size_t)(end - p) + 1);
        if (c == NULL)
            return NULL;
        if (memcmp(c, needle, nlen) == 0)
            return c;
        p = c + 1;
    }
    return NULL;
}

/* Keep only the last path component of a client's file name, and printable ASCII. */
static void clean_filename(char *out, size_t size, const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '/' || s[i] == '\\')
            start = i + 1;
    }
    size_t n = 0;
    for (size_t i = start; i < len && n + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = isalnum(c) || c == '.' || c == '-' || c == '_';
        out[n++] = (char)(ok ? c : '_');
    }
    out[n] = '\0';
    if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        out[0] = '\0';
}

/*
 * A quoted or token parameter of a Content-Disposition header held in h[0..len)
 * (not NUL-terminated). Sets *v and *vlen; returns false if absent or malformed.
 */
static bool
disposition_param(const char **v, size_t *vlen, const char *h, size_t len, const char *param)
{
    size_t plen = strlen(param);
    for (size_t i = 0; i + plen + 1 < len; i++) {
        bool at_start = i > 0 && (h[i - 1] == ';' || is_ows(h[i - 1]));
        if (!at_start || strncasecmp(h + i, param, plen) != 0 || h[i + plen] != '=')
            continue;
        const char *s = h + i + plen + 1;
        size_t rest = len - (i + plen + 1);
        if (rest > 0 && *s == '"') {
            const char *q = memchr(s + 1, '"', rest - 1);
            if (q == NULL)
                return false;
            *v = s + 1;
            *vlen = (size_t)(q - s - 1);
            return true;
        }
        size_t n = 0;
        while (n < rest && s[n] != ';' && !is_ows(s[n]))
            n++;
        *v = s;
        *vlen = n;
        return true;
    }
    return false;
}

/* Read the headers h[0..len) of one part into @p part. */
static int part_headers(rp_serve__part *part, const char *h, size_t len, rp_error *err)
{
    bool have_disp = false;
    size_t pos = 0;
    while (pos < len) {
        const char *eol = find_bytes(h + pos, len - pos, "\r\n", 2);
        size_t llen = eol != NULL ? (size_t)(eol - (h + pos)) : len - pos;
        const char *line = h + pos;
        static const char disp[] = "content-disposition:";
        if (llen >= sizeof(disp) - 1 && strncasecmp(line, disp, sizeof(disp) - 1) == 0) {
            const char *v = NULL;
            size_t vlen = 0;
            if (!disposition_param(&v, &vlen, line, llen, "name") || vlen == 0 ||
                vlen >= sizeof(part->name) || memchr(v, '\0', vlen) != NULL)
                return rp_error_set(err, RP_EPARSE, "a part without a usable name");
            memcpy(part->name, v, vlen);
            part->name[vlen] = '\0';
            if (disposition_param(&v, &vlen, line, llen, "filename")) {
                part->has_filename = true;
                clean_filename(part->filename, sizeof(part->filename), v, vlen);
            }
            have_disp = true;
        }
        pos += llen + 2;
    }
    if (!have_disp)
        return rp_error_set(err, RP_EPARSE, "a part without Content-Disposition");
    return RP_OK;
}

/* Largest header block of one part, bytes. */
#define PART_HEADERS_MAX 8192

int rp_serve__parse_multipart(rp_serve__parts *out,
                              const char *content_type,
                              const char *body,
                              size_t len,
                              size_t max_parts,
                              rp_error *err)
{
    char boundary[80];
    char delim[sizeof(boundary) + 4];
    int rc = RP_OK;
    if (!rp_serve__media_type_is(content_type, "multipart/form-data") ||
        !rp_serve__header_param(boundary, sizeof(boundary), content_type, "boundary"))
        return rp_error_set(err, RP_EPARSE, "not multipart/form-data with a boundary");
    size_t blen = strlen(boundary);
    /* The first delimiter may start the body; the others follow a CRLF. */
    delim[0] = '\r';
    delim[1] = '\n';
    delim[2] = '-';
    delim[3] = '-';
    memcpy(delim + 4, boundary, blen);
    size_t dlen = blen + 4;
    size_t pos = 0;
    if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        pos = dlen - 2;
    } else {
        const char *first = find_bytes(body, len, delim, dlen);
        if (first == NULL)
            return rp_error_set(err, RP_EPARSE, "no multipart boundary in the body");
        pos = (size_t)(first - body) + dlen;
    }
    size_t cap = 0;
    for (;;) {
        /* After a delimiter: "--" ends the body, CRLF starts a part. */
        if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-')
            break;
        if (len - pos < 2 || body[pos] != '\r' || body[pos + 1] != '\n') {
            rc = rp_error_set(err, RP_EPARSE, "malformed multipart delimiter");
            break;
        }
        pos += 2;
        size_t hlimit = len - pos < PART_HEADERS_MAX ? len - pos : PART_HEADERS_MAX;
        const char *hend = find_bytes(body + pos, hlimit, "\r\n\r\n", 4);
        if (hend == NULL) {
            rc = rp_error_set(err, RP_EPARSE, "part headers missing or too long");
            break;
        }
        if (out->n >= max_parts) {
            rc = rp_error_set(err, RP_EDATA, "more than %zu parts", max_parts);
            break;
        }
        if (rp_x_grow(&out->v, &cap, out->n + 1, sizeof(*out->v)) != RP_OK) {
            rc = rp_error_set(err, RP_ENOMEM, "out of memory");
            break;
        }
        rp_serve__part *part = &out->v[out->n];
        memset(part, 0, sizeof(*part));
        rc = part_headers(part, body + pos, (size_t)(hend - (body + pos)), err);
        if (rc != RP_OK)
            break;
        size_t dstart = (size_t)(hend - body) + 4;
        const char *next = find_bytes(body + dstart, len - dstart, delim, dlen);
        if (next == NULL) {
            rc = rp_error_set(err, RP_EPARSE, "a part without its closing boundary");
            break;
        }
        part->data = body + dstart;
        part->len = (size_t)(next - part->data);
        out->n++;
        pos = (size_t)(next - body) + dlen;
    }
    if (rc != RP_OK)
        rp_serve__parts_release(out);
    return rc;
}

/* ==== paths and routes ==== */

bool rp_serve__path_ok(const char *path)
{
    size_t len = strnlen(path, RP_SERVE_MAX_PATH + 1);
    if (len == 0 || len > RP_SERVE_MAX_PATH || path[0] != '/')
        return false;
    if (rp_x_utf8_check((const unsigned char *)path, len) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f || c == '\\' || c == '%')
            return false;
    }
    /* Segments: none empty except a single trailing "/" of the root; no "." or "..". */
    const char *seg = path + 1;
    while (*seg != '\0') {
        size_t n = strcspn(seg, "/");
        if (n == 0)
            return false;
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        seg += n;
        if (*seg == '/') {
            seg++;
            if (*seg == '\0')
                return false; /* trailing slash */
        }
    }
    return true;
}

bool rp_serve__route_match(const char *pattern, const char *path, long long *ids, size_t *n_ids)
{
    *n_ids = 0;
    const char *p = pattern;
    const char *s = path;
    while (*p != '\0') {
        if (strncmp(p, "{id}", 4) == 0) {
            size_t n = strspn(s, "0123456789");
            if (n == 0 || n > 18 || *n_ids >= RP_SERVE_MAX_IDS)
                return false;
            char digits[20];
            memcpy(digits, s, n);
            digits[n] = '\0';
            long v = 0;
            if (rp_x_parse_long(digits, 0, LONG_MAX, &v) != 0)
                return false;
            ids[(*n_ids)++] = (long long)v;
            s += n;
            p += 4;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *s == '\0';
}

/* ==== escapes, addresses, hosts ==== */

size_t rp_serve__unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r != '\0'; r++) {
        if (*r != '%') {
            *w++ = *r;
            continue;
        }
        int hi = r[1] != '\0' ? hex_val(r[1]) : -1;
        int lo = hi >= 0 && r[2] != '\0' ? hex_val(r[2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            *w++ = RP_SERVE_BAD_ESCAPE;
            continue; /* the following characters are copied as they are */
        }
        *w++ = (char)(hi * 16 + lo);
        r += 2;
    }
    *w = '\0';
    return (size_t)(w - s);
}

void rp_serve__scrub_message(char *msg)
{
    static const char near[] = " near '";
    char *p = NULL;
    while ((p = strstr(msg, near)) != NULL) {
        /* Jansson quotes the text up to the last quote of the message. */
        char *end = strrchr(p + sizeof(near) - 1, '\'');
        char *rest = end != NULL ? end + 1 : p + strlen(p);
        memmove(p, rest, strlen(rest) + 1);
    }
}

/* Parse an IPv4 or IPv6 literal; @return the family, or 0. */
static int parse_ip(unsigned char bin[16], const char *s)
{
    if (inet_pton(AF_INET, s, bin) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, s, bin) == 1)
        return AF_INET6;
    return 0;
}

bool rp_serve__forwarded_for(char *out, size_t size, const char *xff)
{
    if (xff == NULL)
        return false;
    const char *last = strrchr(xff, ',');
    last = last != NULL ? last + 1 : xff;
    while (*last == ' ' || *last == '\t')
        last++;
    char buf[INET6_ADDRSTRLEN];
    size_t n = strcspn(last, " \t");
    if (n == 0 || n >= sizeof(buf) || last[n + strspn(last + n, " \t")] != '\0')
        return false;
    memcpy(buf, last, n);
    buf[n] = '\0';
    unsigned char bin[16];
    int af = parse_ip(bin, buf);
    char norm[INET6_ADDRSTRLEN];
    if (af == 0 || inet_ntop(af, bin, norm, sizeof(norm)) == NULL || strlen(norm) >= size)
        return false;
    rp_x_strlcpy(out, norm, size);
    return true;
}

void rp_serve__client_key(char *out, size_t size, const char *addr)
{
    unsigned char bin[16];
    char text[INET6_ADDRSTRLEN];
    int af = parse_ip(bin, addr);
    if (af == AF_INET6) {
        /* A v4-mapped address keeps all of its bits. */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(bin, mapped, sizeof(mapped)) != 0) {
            memset(bin + 8, 0, 8);
            if (inet_ntop(AF_INET6, bin, text, sizeof(text)) != NULL) {
                snprintf(out, size, "i:%s/64", text);
                return;
            }
        }
    }
    snprintf(out, size, "i:%s", addr);
}

/*
 * Check the lower-cased authority @p auth of a public URL: a name of [a-z0-9.-] or an
 * IPv6 literal in brackets, then an optional ":port". *@p port points at the ':' (then
 * cut to '\0') or is NULL.
 */
static int check_authority(char *auth, char **port, rp_error *err)
{
    *port = NULL;
    if (auth[0] == '[') {
        char *close = strchr(auth, ']');
        unsigned char bin[16];
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return rp_error_set(err, RP_EINVAL, "bad IPv6 literal in the public URL");
        *close = '\0';
        bool ok = inet_pton(AF_INET6, auth + 1, bin) == 1;
        *close = ']';
        if (!ok)
            return rp_error_set(err, RP_EINVAL, "bad IPv6 literal in the public URL");
        *port = close[1] == ':' ? close + 1 : NULL;
    } else {
        *port = strchr(auth, ':');
        size_t hl = *port != NULL ? (size_t)(*port - auth) : strlen(auth);
        if (hl == 0 || strspn(auth, "abcdefghijklmnopqrstuvwxyz0123456789.-") != hl)
            return rp_error_set(err, RP_EINVAL, "bad host in the public URL");
    }
    if (*port != NULL)
        **port = '\0';
    return RP_OK;
}

int rp_serve__parse_public_url(char *origin,
                               size_t origin_size,
                               char *host,
                               size_t host_size,
                               bool *https,
                               const char *url,
                               rp_error *err)
{
    const char *p = NULL;
    if (url != NULL && strncasecmp(url, "https://", 8) == 0) {
        *https = true;
        p = url + 8;
    } else if (url != NULL && strncasecmp(url, "http://", 7) == 0) {
        *https = false;
        p = url + 7;
    } else {
        return rp_error_set(err, RP_EINVAL, "a public URL starts with https:// or http://");
    }
    size_t n = strcspn(p, "/?#");
    if (p[n] != '\0' && strcmp(p + n, "/") != 0)
        return rp_error_set(err, RP_EINVAL, "a public URL is scheme://host[:port] with no path");
    char auth[256];
    if (n == 0 || n >= sizeof(auth))
        return rp_error_set(err, RP_EINVAL, "a public URL needs a host");
    memcpy(auth, p, n);
    auth[n] = '\0';
    for (char *c = auth; *c != '\0'; c++)
        *c = (char)tolower((unsigned char)*c);
    char *port = NULL;
    int rc = check_authority(auth, &port, err);
    if (rc != RP_OK)
        return rc;
    long dflt = *https ? 443 : 80;
    long pn = dflt;
    if (port != NULL && rp_x_parse_long(port + 1, 1, 65535, &pn) != 0)
        return rp_error_set(err, RP_EINVAL, "bad port in the public URL");
    char hp[300];
    if (pn == dflt)
        snprintf(hp, sizeof(hp), "%s", auth);
    else
        snprintf(hp, sizeof(hp), "%s:%ld", auth, pn);
    int w = snprintf(origin, origin_size, "%s://%s", *https ? "https" : "http", hp);
    if (w < 0 || (size_t)w >= origin_size || strlen(hp) >= host_size)
        return rp_error_set(err, RP_EINVAL, "public URL too long");
    rp_x_strlcpy(host, hp, host_size);
    return RP_OK;
}
