/*
 * The counting allocator (Redis zmalloc, SQLite fault simulation). Every allocation in
 * rapporteur passes through here, so tests can count live blocks and make the N-th
 * allocation fail to exercise every RP_ENOMEM path.
 */
#include "common/common_int.h"

#include <stdatomic.h>
#include <stdint.h>

/*
 * Counters are atomics so that the counting stays right when several threads
 * allocate. Fault injection is armed by one test thread at a time: fail_at is the
 * 1-based index, counted from arming, of the first attempt that fails (0: disarmed),
 * and attempts counts attempts since arming. Every attempt at or after fail_at fails,
 * so a sweep over N = 1, 2, ... reaches every allocation of the code under test.
 */
static atomic_long live_blocks;
static atomic_ulong fail_at;
static atomic_ulong attempts;

void rp_alloc_fail_after(unsigned long n)
{
    atomic_store(&attempts, 0);
    atomic_store(&fail_at, n);
}

long rp_alloc_live(void)
{
    return atomic_load(&live_blocks);
}

/* Count one allocation attempt; true if fault injection says it must fail. */
static bool injected_failure(void)
{
    unsigned long n = atomic_load(&fail_at);
    if (n == 0)
        return false;
    return atomic_fetch_add(&attempts, 1) + 1 >= n;
}

/*
 * Zero-byte requests get one byte, so that NULL always means failure: callers never
 * need to tell "empty" from "out of memory".
 */
void *rp_malloc(size_t size)
{
    if (injected_failure())
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

void *rp_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    if (injected_failure())
        return NULL;
    void *p = (n == 0 || size == 0) ? calloc(1, 1) : calloc(n, size);
    if (p)
        atomic_fetch_add(&live_blocks, 1);
    return p;
}

void *rp_realloc(void *p, size_t size)
{
    if (injected_failure())
        return NULL;
    void *q = realloc(p, size ? size : 1);
    if (q && !p)
        atomic_fetch_add(&live_blocks, 1);
    return q;
}

void *rp_reallocarray(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return rp_realloc(p, n * size);
}

int rp_x_grow(void *pp, size_t *cap, size_t need, size_t size)
{
    /* pp is the address of a pointer of any object type; copied, not cast (aliasing). */
    if (need <= *cap)
        return RP_OK;
    size_t n = *cap > 0 ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return RP_ENOMEM;
        n *= 2;
    }
    void *p;
    memcpy(&p, pp, sizeof(p));
    void *q = rp_reallocarray(p, n, size);
    if (q == NULL)
        return RP_ENOMEM;
    memcpy(pp, &q, sizeof(q));
    *cap = n;
    return RP_OK;
}

void rp_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub(&live_blocks, 1);
    free(p);
}

char *rp_strdup(const char *s)
{
    size_t len = strlen(s);
    char *copy = rp_malloc(len + 1);
    if (copy)
        memcpy(copy, s, len + 1);
    return copy;
}

char *rp_x_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    if (len == SIZE_MAX)
        return NULL;
    char *copy = rp_malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}
