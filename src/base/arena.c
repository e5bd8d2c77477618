#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>

#define ALIGN 64u

typedef struct block {
    struct block *next;
    size_t cap;
    size_t used;
    unsigned char *mem;
} block;

struct lq_arena {
    block *head;      /* current block; older blocks chained behind it */
    size_t total_used;
    size_t peak;      /* largest total_used seen, to size the block on reset */
};

static block *block_new(size_t cap)
{
    block *b = malloc(sizeof *b);
    if (!b)
        return NULL;
    b->mem = aligned_alloc(ALIGN, (cap + ALIGN - 1) / ALIGN * ALIGN);
    if (!b->mem) {
        free(b);
        return NULL;
    }
    b->cap = (cap + ALIGN - 1) / ALIGN * ALIGN;
    b->used = 0;
    b->next = NULL;
    return b;
}

static void block_free_chain(block *b)
{
    while (b) {
        block *n = b->next;
        free(b->mem);
        free(b);
        b = n;
    }
}

int lq_arena_create(size_t initial, lq_arena **out)
{
    if (!out)
        return LQ_EINVAL;
    lq_arena *a = calloc(1, sizeof *a);
    if (!a)
        return LQ_ENOMEM;
    a->head = block_new(initial ? initial : 4096);
    if (!a->head) {
        free(a);
        return LQ_ENOMEM;
    }
    *out = a;
    return 0;
}

void lq_arena_destroy(lq_arena *a)
{
    if (!a)
        return;
    block_free_chain(a->head);
    free(a);
}

void *lq_arena_alloc(lq_arena *a, size_t n)
{
    if (!a || n > LQ_ARENA_MAX_ALLOC)
        return NULL;
    size_t need = (n + ALIGN - 1) / ALIGN * ALIGN;
    if (need == 0)
        need = ALIGN;
    block *b = a->head;
    if (b->cap - b->used < need) {
        size_t cap = b->cap * 2 > need ? b->cap * 2 : need;
        block *nb = block_new(cap);
        if (!nb)
            return NULL;
        nb->next = b;
        a->head = nb;
        b = nb;
    }
    void *p = b->mem + b->used;
    b->used += need;
    a->total_used += need;
    if (a->total_used > a->peak)
        a->peak = a->total_used;
    return p;
}

void lq_arena_reset(lq_arena *a)
{
    if (!a)
        return;
    if (a->head->next) {
        /* Several blocks were needed: replace them by one of the peak size. */
        block *nb = block_new(a->peak);
        if (nb) {
            block_free_chain(a->head);
            a->head = nb;
        } else {
            block_free_chain(a->head->next);
            a->head->next = NULL;
        }
    }
    a->head->used = 0;
    a->total_used = 0;
}

size_t lq_arena_used(const lq_arena *a)
{
    return a ? a->total_used : 0;
}
