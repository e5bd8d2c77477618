/*
 * xalloc.c - XNNPACK's allocator: the system's, plus a reserve inside guards.
 */
#include "model/xalloc.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <xnnpack.h>

static pthread_mutex_t g_guard = PTHREAD_MUTEX_INITIALIZER;
static alignas(64) unsigned char g_reserve[XA_RESERVE_BYTES];
static size_t g_reserve_top; /* bump offset; only the guarding thread moves it */
static int g_reserve_used;   /* allocations served in this guard */
static _Thread_local int t_guarding;
static atomic_long g_count;             /* allocations since xa_test_refuse_from */
static atomic_long g_refuse_from = -1;

/* 0 if this allocation is to be refused (xa_test_refuse_from). */
static int allowed(void)
{
    long n = atomic_fetch_add(&g_count, 1);
    long from = atomic_load(&g_refuse_from);
    return from < 0 || n < from;
}

long xa_test_refuse_from(long n)
{
    atomic_store(&g_refuse_from, n < 0 ? -1 : n);
    return atomic_exchange(&g_count, 0);
}

static int in_reserve(const void *p)
{
    uintptr_t a = (uintptr_t)p, lo = (uintptr_t)g_reserve;
    return a >= lo && a < lo + sizeof g_reserve;
}

/* Serves a refused allocation from the reserve, or NULL (not in a guard on
 * this thread, or it does not fit). alignment is a power of two. */
static void *from_reserve(size_t alignment, size_t size)
{
    if (!t_guarding || size == 0 || alignment > 64)
        return NULL;
    size_t at = (g_reserve_top + alignment - 1) & ~(alignment - 1);
    if (at > sizeof g_reserve || size > sizeof g_reserve - at)
        return NULL;
    g_reserve_top = at + size;
    g_reserve_used++;
    return g_reserve + at;
}

static void *xa_allocate(void *ctx, size_t size)
{
    (void)ctx;
    void *p = allowed() ? malloc(size) : NULL;
    return p ? p : from_reserve(alignof(max_align_t), size);
}

static void *xa_reallocate(void *ctx, void *p, size_t size)
{
    (void)ctx;
    if (in_reserve(p))
        return NULL; /* a reserve block cannot grow: fail as the system would */
    return allowed() ? realloc(p, size) : NULL;
}

static void xa_deallocate(void *ctx, void *p)
{
    (void)ctx;
    if (!in_reserve(p))
        free(p);
}

static void *xa_aligned_allocate(void *ctx, size_t alignment, size_t size)
{
    (void)ctx;
    if (alignment < sizeof(void *))
        alignment = sizeof(void *);
    /* aligned_alloc wants a multiple of the alignment (C11 7.22.3.1) */
    size_t rounded = (size + alignment - 1) & ~(alignment - 1);
    void *p = rounded >= size && allowed() ? aligned_alloc(alignment, rounded) : NULL;
    return p ? p : from_reserve(alignment, size);
}

static const struct xnn_allocator g_allocator = {
    .context = NULL,
    .allocate = xa_allocate,
    .reallocate = xa_reallocate,
    .deallocate = xa_deallocate,
    .aligned_allocate = xa_aligned_allocate,
    .aligned_deallocate = xa_deallocate,
};

const struct xnn_allocator *xa_allocator(void)
{
    return &g_allocator;
}

void xa_guard_begin(void)
{
    pthread_mutex_lock(&g_guard);
    g_reserve_top = 0;
    g_reserve_used = 0;
    t_guarding = 1;
}

int xa_guard_used(void)
{
    return t_guarding ? g_reserve_used : 0;
}

void xa_guard_end(void)
{
    if (!t_guarding)
        return;
    t_guarding = 0;
    pthread_mutex_unlock(&g_guard);
}
