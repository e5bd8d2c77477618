#include "service/lru.h"

#include <stdlib.h>
#include <string.h>

/* One entry: in a hash chain (by key) and in the recency list (head = most
 * recently used, tail = next to evict). */
typedef struct lru_entry {
    struct lru_entry *chain;
    struct lru_entry *prev, *next;
    uint64_t hash;
    int64_t stored_ms;
    size_t bytes;
    void *value;
    char key[]; /* NUL-terminated copy */
} lru_entry;

struct lq_lru {
    size_t max_entries, max_bytes;
    int64_t ttl_ms;
    lq_lru_free_fn free_fn;
    lru_entry **buckets;
    size_t nbuckets; /* power of two, at least 2 * max_entries */
    lru_entry *head, *tail;
    size_t count, bytes;
    uint64_t evictions;
};

static uint64_t hash_key(const char *key, size_t len)
{
    /* FNV-1a: keys are URLs chosen by clients, but chains stay short because
     * the table holds at most max_entries keys in 2 * max_entries buckets. */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ull;
    }
    return h;
}

int lq_lru_create(size_t max_entries, size_t max_bytes, int64_t ttl_ms,
                  lq_lru_free_fn free_fn, lq_lru **out)
{
    if (!out || max_entries == 0 || max_entries > LQ_LRU_MAX_ENTRIES || max_bytes == 0 ||
        ttl_ms < 0)
        return LQ_EINVAL;
    lq_lru *c = calloc(1, sizeof *c);
    if (!c)
        return LQ_ENOMEM;
    size_t nb = 16;
    while (nb < 2 * max_entries)
        nb *= 2;
    c->buckets = calloc(nb, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return LQ_ENOMEM;
    }
    c->nbuckets = nb;
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    c->ttl_ms = ttl_ms;
    c->free_fn = free_fn;
    *out = c;
    return 0;
}

static void list_unlink(lq_lru *c, lru_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(lq_lru *c, lru_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static lru_entry **find_slot(lq_lru *c, const char *key, uint64_t h)
{
    lru_entry **slot = &c->buckets[h & (c->nbuckets - 1)];
    while (*slot && ((*slot)->hash != h || strcmp((*slot)->key, key) != 0))
        slot = &(*slot)->chain;
    return slot;
}

/* Removes e from both structures and frees it (and its value). */
static void drop_entry(lq_lru *c, lru_entry *e)
{
    lru_entry **slot = find_slot(c, e->key, e->hash);
    if (*slot == e)
        *slot = e->chain;
    list_unlink(c, e);
    c->count--;
    c->bytes -= e->bytes;
    if (c->free_fn)
        c->free_fn(e->value);
    free(e);
}

static int is_expired(const lq_lru *c, const lru_entry *e, int64_t now_ms)
{
    return c->ttl_ms > 0 && now_ms - e->stored_ms >= c->ttl_ms;
}

void *lq_lru_get(lq_lru *c, const char *key, int64_t now_ms)
{
    if (!c || !key)
        return NULL;
    size_t len = strlen(key);
    if (len > LQ_LRU_MAX_KEY)
        return NULL;
    lru_entry *e = *find_slot(c, key, hash_key(key, len));
    if (!e)
        return NULL;
    if (is_expired(c, e, now_ms)) {
        drop_entry(c, e);
        c->evictions++;
        return NULL;
    }
    if (c->head != e) {
        list_unlink(c, e);
        list_push_front(c, e);
    }
    return e->value;
}

int lq_lru_put(lq_lru *c, const char *key, void *value, size_t bytes, int64_t now_ms)
{
    if (!c || !key)
        return LQ_EINVAL;
    size_t len = strlen(key);
    if (len > LQ_LRU_MAX_KEY)
        return LQ_EINVAL;
    if (bytes > c->max_bytes)
        return LQ_ELIMIT;
    lru_entry *e = malloc(sizeof *e + len + 1);
    if (!e)
        return LQ_ENOMEM;
    memcpy(e->key, key, len + 1);
    e->hash = hash_key(key, len);
    e->stored_ms = now_ms;
    e->bytes = bytes;
    e->value = value;
    e->prev = e->next = NULL;

    lru_entry *old = *find_slot(c, key, e->hash);
    if (old)
        drop_entry(c, old);
    /* Make room first, so the new entry itself is never the victim. Expired
     * entries anywhere go before live ones. */
    for (lru_entry *x = c->tail; x;) {
        lru_entry *prev = x->prev;
        if (is_expired(c, x, now_ms)) {
            drop_entry(c, x);
            c->evictions++;
        }
        x = prev;
    }
    while (c->tail && (c->count + 1 > c->max_entries || c->bytes + bytes > c->max_bytes)) {
        drop_entry(c, c->tail);
        c->evictions++;
    }
    lru_entry **slot = find_slot(c, key, e->hash);
    e->chain = NULL;
    *slot = e;
    list_push_front(c, e);
    c->count++;
    c->bytes += bytes;
    return 0;
}

int lq_lru_remove(lq_lru *c, const char *key)
{
    if (!c || !key || strlen(key) > LQ_LRU_MAX_KEY)
        return LQ_ENOTFOUND;
    lru_entry *e = *find_slot(c, key, hash_key(key, strlen(key)));
    if (!e)
        return LQ_ENOTFOUND;
    drop_entry(c, e);
    return 0;
}

void lq_lru_destroy(lq_lru *c)
{
    if (!c)
        return;
    for (lru_entry *e = c->head; e;) {
        lru_entry *next = e->next;
        if (c->free_fn)
            c->free_fn(e->value);
        free(e);
        e = next;
    }
    free(c->buckets);
    free(c);
}

size_t lq_lru_count(const lq_lru *c)
{
    return c ? c->count : 0;
}

size_t lq_lru_bytes(const lq_lru *c)
{
    return c ? c->bytes : 0;
}

uint64_t lq_lru_evictions(const lq_lru *c)
{
    return c ? c->evictions : 0;
}
