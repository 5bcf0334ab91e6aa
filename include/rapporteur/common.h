/*
 * rapporteur: library-wide definitions shared by every public header.
 * Export macro, one-time initialisation, the counting allocator and version.
 */
#ifndef RAPPORTEUR_COMMON_H
#define RAPPORTEUR_COMMON_H

#include <stddef.h>

#if defined(__GNUC__)
#    define RP_API __attribute__((visibility("default")))
#else
#    define RP_API
#endif

#define RP_VERSION_STRING "0.1.0"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Initialise the library once per process: installs rapporteur's GSL error handler in
 * place of GSL's aborting default and quiets GLPK's terminal output.
 *
 * @note Idempotent and thread-safe (pthread_once); call before other rp_* functions.
 */
RP_API void rp_init(void);

/**
 * Allocate @p size bytes. Every allocation in rapporteur goes through these four
 * functions, so bytes can be counted and failures injected for tests.
 *
 * @return a pointer to free with rp_free(), or NULL when out of memory (or when an
 *         injected failure fires).
 */
RP_API void *rp_malloc(size_t size);
/** As calloc(): @p n elements of @p size bytes, zeroed; NULL on overflow or OOM. */
RP_API void *rp_calloc(size_t n, size_t size);
/** As realloc(); on failure returns NULL and leaves @p p untouched. */
RP_API void *rp_realloc(void *p, size_t size);
/** Array realloc: @p n elements of @p size bytes, NULL on multiplication overflow. */
RP_API void *rp_reallocarray(void *p, size_t n, size_t size);
/** Free memory returned by rapporteur. NULL-safe. */
RP_API void rp_free(void *p);
/** A copy of @p s made with rp_malloc(), or NULL on OOM. */
RP_API char *rp_strdup(const char *s);

/**
 * Test hook: make the @p n-th allocation from now (1-based) fail, and every one after
 * it; 0 disables injection. Not thread-safe; for tests only.
 */
RP_API void rp_alloc_fail_after(unsigned long n);
/** Number of rp_* allocations currently live (test and diagnostics aid). */
RP_API long rp_alloc_live(void);

#ifdef __cplusplus
}
#endif

#endif
