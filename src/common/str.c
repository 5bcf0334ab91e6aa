/*
 * String helpers of the common module: rp_x_strlcpy (the safe copy that replaces the
 * banned strcpy/strncpy), the UTF-8 checks, the growable buffer rp_x_buf and the string
 * vector rp_x_strvec. Interfaces and usage are documented in common_int.h.
 */
#include "common/common_int.h"

#include <sodium.h>
#include <stdint.h>

size_t rp_x_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

/* ==== rp_x_buf ==== */

/*
 * Invariant: data is NULL (cap 0, len 0) or holds len bytes of text and a NUL, with
 * len < cap. Growth doubles the capacity (at least 64 bytes) so appends are amortised
 * O(1).
 */

/*
 * UTF-8 as RFC 3629 defines it. The lead byte fixes the length and the range of the first
 * continuation byte, which is what rules out overlong forms (E0 and F0 need A0 and 90 or
 * more), surrogates (ED allows at most 9F) and code points over U+10FFFF (F4 allows at
 * most 8F); C0, C1 and F5..FF never lead.
 */
size_t rp_x_utf8_char_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        if (c == 0xE0) {
            lo = 0xA0;
        } else if (c == 0xED) {
            hi = 0x9F;
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if (avail <= n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t k = 2; k <= n; k++) {
        if (s[k] < 0x80 || s[k] > 0xBF) {
            return 0;
        }
    }
    return n + 1;
}

size_t rp_x_utf8_check(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* ASCII fast path, 8 bytes at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, sizeof(w));
            if ((w & UINT64_C(0x8080808080808080)) != 0) {
                break;
            }
            i += 8;
        }
        if (i >= len) {
            break;
        }
        size_t n = rp_x_utf8_char_len(s + i, len - i);
        if (n == 0) {
            return i;
        }
        i += n;
    }
    return len;
}

void rp_x_buf_init(rp_x_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = false;
}

int rp_x_buf_grow(rp_x_buf *b, size_t extra)
{
    if (b->oom)
        return RP_ENOMEM;
    if (extra > SIZE_MAX - 1 - b->len) {
        b->oom = true;
        return RP_ENOMEM;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return RP_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = rp_realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return RP_ENOMEM;
    }
    if (!b->data)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return RP_OK;
}

int rp_x_buf_append(rp_x_buf *b, const void *data, size_t len)
{
    int rc = rp_x_buf_grow(b, len);
    if (rc != RP_OK)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return RP_OK;
}

int rp_x_buf_puts(rp_x_buf *b, const char *s)
{
    return rp_x_buf_append(b, s, strlen(s));
}

int rp_x_buf_put_html(rp_x_buf *b, const char *s)
{
    if (s == NULL)
        return RP_OK;
    const char *run = s;
    for (const char *p = s; *p != '\0'; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
                rep = "\xEF\xBF\xBD"; /* U+FFFD for control characters */
            break;
        }
        if (rep != NULL) {
            rp_x_buf_append(b, run, (size_t)(p - run));
            rp_x_buf_puts(b, rep);
            run = p + 1;
        }
    }
    return rp_x_buf_puts(b, run);
}

int rp_x_buf_putc(rp_x_buf *b, char c)
{
    return rp_x_buf_append(b, &c, 1);
}

int rp_x_buf_vprintf(rp_x_buf *b, const char *fmt, va_list ap)
{
    if (b->oom)
        return RP_ENOMEM;
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    int rc = RP_OK;
    if (n < 0) {
        rc = RP_EINVAL;
        goto out;
    }
    if ((size_t)n < sizeof(small)) {
        rc = rp_x_buf_append(b, small, (size_t)n);
        goto out;
    }
    /* Too long for the stack buffer: format again straight into the grown buffer. */
    rc = rp_x_buf_grow(b, (size_t)n);
    if (rc != RP_OK)
        goto out;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
    b->len += (size_t)n;
out:
    va_end(ap2);
    return rc;
}

int rp_x_buf_printf(rp_x_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = rp_x_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

bool rp_x_buf_oom(const rp_x_buf *b)
{
    return b->oom;
}

const char *rp_x_buf_cstr(const rp_x_buf *b)
{
    return b->data ? b->data : "";
}

void rp_x_buf_reset(rp_x_buf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data)
        b->data[0] = '\0';
}

char *rp_x_buf_detach(rp_x_buf *b)
{
    char *text = NULL;
    if (!b->oom)
        text = b->data ? b->data : rp_strdup("");
    if (text == b->data)
        rp_x_buf_init(b);
    else
        rp_x_buf_release(b);
    return text;
}

void rp_x_buf_release(rp_x_buf *b)
{
    if (!b)
        return;
    rp_free(b->data);
    rp_x_buf_init(b);
}

/* ==== rp_x_strvec ==== */

int rp_x_strvec_push_take(rp_x_strvec *v, char *s)
{
    if (v->n + 2 > v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        char **items = rp_reallocarray(v->items, cap, sizeof(*items));
        if (!items) {
            rp_free(s);
            return RP_ENOMEM;
        }
        v->items = items;
        v->cap = cap;
    }
    v->items[v->n++] = s;
    v->items[v->n] = NULL;
    return RP_OK;
}

int rp_x_strvec_push(rp_x_strvec *v, const char *s)
{
    char *copy = rp_strdup(s);
    if (!copy)
        return RP_ENOMEM;
    return rp_x_strvec_push_take(v, copy);
}

int rp_x_strvec_pushf(rp_x_strvec *v, const char *fmt, ...)
{
    rp_x_buf b = RP_X_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    int rc = rp_x_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    if (rc != RP_OK) {
        rp_x_buf_release(&b);
        return rc;
    }
    char *text = rp_x_buf_detach(&b);
    if (!text)
        return RP_ENOMEM;
    return rp_x_strvec_push_take(v, text);
}

char **rp_x_strvec_detach(rp_x_strvec *v, size_t *n_out)
{
    char **items = v->items;
    if (n_out)
        *n_out = v->n;
    v->items = NULL;
    v->n = 0;
    v->cap = 0;
    return items;
}

void rp_x_strvec_release(rp_x_strvec *v)
{
    if (!v)
        return;
    rp_x_strv_free(v->items, v->n);
    v->items = NULL;
    v->n = 0;
    v->cap = 0;
}

void rp_x_strv_free(char **items, size_t n)
{
    if (!items)
        return;
    for (size_t i = 0; i < n; i++)
        rp_free(items[i]);
    rp_free(items);
}

/* ==== arenas ==== */

struct rp_x_arena_block {
    struct rp_x_arena_block *next;
    size_t used, cap;
    unsigned char data[];
};

/* Bytes to add to @p at to reach a multiple of @p align. */
static size_t align_pad(const unsigned char *at, size_t align)
{
    return (size_t)((align - ((uintptr_t)at & (align - 1))) & (align - 1));
}

void *rp_x_arena_alloc(rp_x_arena *a, size_t size, size_t align)
{
    rp_x_arena_block *b = a->head;
    size_t pad = b ? align_pad(b->data + b->used, align) : 0;
    if (!b || b->cap - b->used < size + pad) {
        if (size > SIZE_MAX - sizeof(*b) - align)
            return NULL;
        size_t cap = size + align > a->block ? size + align : a->block;
        rp_x_arena_block *nb = rp_malloc(sizeof(*nb) + cap);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = cap;
        a->head = nb;
        b = nb;
        pad = align_pad(b->data, align);
    }
    void *p = b->data + b->used + pad;
    b->used += pad + size;
    return p;
}

char *rp_x_arena_strndup(rp_x_arena *a, const char *s, size_t n)
{
    char *p = rp_x_arena_alloc(a, n + 1, 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void rp_x_arena_release(rp_x_arena *a, bool wipe)
{
    if (a == NULL)
        return;
    while (a->head) {
        rp_x_arena_block *next = a->head->next;
        if (wipe)
            sodium_memzero(a->head->data, a->head->cap);
        rp_free(a->head);
        a->head = next;
    }
}

/* ==== hashing ==== */

uint64_t rp_x_hash64(uint64_t seed, const void *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 32;
    return h ? h : 1;
}
