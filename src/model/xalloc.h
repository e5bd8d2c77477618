/*
 * xalloc.h - the allocator we give XNNPACK, with a reserve for the
 * allocations it does not check.
 *
 * Debian 12's XNNPACK (0~git20220216) dereferences some of its allocations
 * without checking them: the memory planner's usage table in
 * xnn_create_runtime_v2 is one (a NULL of num_values x 24 bytes, written at
 * once). When memory is short that is a SIGSEGV inside the library, not an
 * error we can report. So every call that creates a runtime is bracketed:
 *
 *   xa_guard_begin();               // serialises runtime creation
 *   st = xnn_create_runtime_v2(...);
 *   if (xa_guard_used())            // the system refused something
 *       delete what was made, report out of memory;
 *   xa_guard_end();
 *
 * Inside a guard, on the guarding thread, an allocation the system refuses
 * is served from a fixed reserve (XA_RESERVE_BYTES, bump-allocated) if it
 * fits, and the guard remembers it; larger ones still get NULL, which
 * XNNPACK checks (weights, workspace). Whatever came from the reserve must
 * be released before xa_guard_end: frees of reserve memory are no-ops, and
 * the next guard reuses it.
 *
 * Outside a guard, or on another thread, the allocator is malloc,
 * aligned_alloc, realloc and free. Reallocations are never served from the
 * reserve (the old size is unknown): they fail as the system does.
 *
 * Thread-safety: the allocator functions are; one guard at a time
 * (xa_guard_begin blocks until the previous one ends).
 */
#ifndef LQ_MODEL_XALLOC_H
#define LQ_MODEL_XALLOC_H

#include <stddef.h>

#define XA_RESERVE_BYTES (256u * 1024u)

struct xnn_allocator;

/* The allocator to pass to xnn_initialize (static, never freed). */
const struct xnn_allocator *xa_allocator(void);

void xa_guard_begin(void);
/* How many allocations the reserve has served since xa_guard_begin. */
int xa_guard_used(void);
void xa_guard_end(void);

/* Fault injection for tests: the n-th allocation from now on (0 = the next)
 * and every one after it are refused as if memory had run out, on every
 * thread; n < 0 (the default) turns it off. Returns how many allocations
 * were made since the previous call. */
long xa_test_refuse_from(long n);

#endif
