/*
 * lru.h - a bounded least-recently-used map from string keys to owned values.
 *
 *   lq_lru *c;
 *   if (lq_lru_create(64, 64u << 20, 600000, free_fn, &c) < 0) ...
 *   if (lq_lru_put(c, url, body, body_len, now_ms) < 0) free_fn(body); // not taken
 *   void *hit = lq_lru_get(c, url, now_ms);   // borrowed; NULL if absent/expired
 *   lq_lru_destroy(c);                         // free_fn on every value left
 *
 * Bounded three ways: entry count, the sum of the byte sizes the caller gives
 * for its values, and age (entries older than ttl_ms are dropped when looked
 * up or when room is needed). Putting evicts least-recently-used entries until
 * both caps hold. Keys are copied. Time is passed in by the caller (any
 * monotonic milliseconds), so the cache has no clock of its own.
 *
 * Not thread-safe: the owner serialises every call (the fetcher holds its
 * mutex). get is O(1) on average (hash table + doubly-linked list); put also
 * sweeps expired entries first, so it is O(count) (puts are rare: one per
 * successful fetch).
 */
#ifndef LQ_SERVICE_LRU_H
#define LQ_SERVICE_LRU_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define LQ_LRU_MAX_ENTRIES 65536
#define LQ_LRU_MAX_KEY 4096          /* bytes, NUL excluded */

typedef struct lq_lru lq_lru;

/* Releases a value the cache owns (on eviction, replacement, removal, destroy). */
typedef void (*lq_lru_free_fn)(void *value);

/* max_entries 1..LQ_LRU_MAX_ENTRIES; max_bytes > 0; ttl_ms >= 0 (0 = no age
 * limit); free_fn may be NULL (values are then not owned). Returns 0,
 * LQ_EINVAL or LQ_ENOMEM; on failure *out is untouched. */
int lq_lru_create(size_t max_entries, size_t max_bytes, int64_t ttl_ms,
                  lq_lru_free_fn free_fn, lq_lru **out) LQ_NODISCARD;

/* Frees every remaining value with free_fn, then the cache. NULL-safe. */
void lq_lru_destroy(lq_lru *c);

/* The value for key, made most recently used; NULL if absent or older than
 * ttl_ms at now_ms (an expired entry is removed and its value freed). The
 * pointer is borrowed: it stays valid until the entry is evicted or replaced. */
void *lq_lru_get(lq_lru *c, const char *key, int64_t now_ms);

/*
 * Stores value under key (replacing and freeing an older value for the same
 * key) as the most recently used entry, then evicts until within the caps.
 * On success the cache owns value. Returns 0; LQ_EINVAL (NULL key, key longer
 * than LQ_LRU_MAX_KEY); LQ_ELIMIT if bytes alone exceed max_bytes; LQ_ENOMEM.
 * On any error the cache is unchanged and value stays the caller's.
 */
int lq_lru_put(lq_lru *c, const char *key, void *value, size_t bytes,
               int64_t now_ms) LQ_NODISCARD;

/* Removes key and frees its value. Returns 0 or LQ_ENOTFOUND. */
int lq_lru_remove(lq_lru *c, const char *key);

size_t lq_lru_count(const lq_lru *c);
size_t lq_lru_bytes(const lq_lru *c);
/* Entries dropped to make room or because they expired (not replacements or
 * removals). */
uint64_t lq_lru_evictions(const lq_lru *c);

#endif
