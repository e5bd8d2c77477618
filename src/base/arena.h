/*
 * arena.h - per-frame scratch memory, reset in one step.
 *
 *   lq_arena *a; lq_arena_create(1 << 20, &a);
 *   float *tmp = lq_arena_alloc(a, n * sizeof *tmp);   // 64-byte aligned
 *   ...
 *   lq_arena_reset(a);        // every allocation above is gone
 *   lq_arena_destroy(a);
 *
 * After warm-up the arena keeps its largest size, so steady-state frames do
 * not call malloc. An arena is not thread-safe: one per worker.
 */
#ifndef LQ_BASE_ARENA_H
#define LQ_BASE_ARENA_H

#include <stddef.h>

#include "base/error.h"

typedef struct lq_arena lq_arena;

/* initial: bytes reserved up front (grows by chaining blocks when exceeded). */
int lq_arena_create(size_t initial, lq_arena **out) LQ_NODISCARD;
void lq_arena_destroy(lq_arena *a);

/* Returns 64-byte aligned memory valid until the next reset, or NULL when
 * out of memory or when n exceeds LQ_ARENA_MAX_ALLOC. */
void *lq_arena_alloc(lq_arena *a, size_t n);

/* Frees every allocation at once; coalesces blocks into one of the peak size. */
void lq_arena_reset(lq_arena *a);

/* Bytes handed out since the last reset. */
size_t lq_arena_used(const lq_arena *a);

#define LQ_ARENA_MAX_ALLOC ((size_t)1 << 30)

#endif
