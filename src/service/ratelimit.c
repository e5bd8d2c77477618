/* ratelimit.c - token buckets and the per-address table (see ratelimit.h). */
#include "service/ratelimit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void svc_bucket_init(svc_bucket *b, double burst, uint64_t now_ns)
{
    b->tokens = burst;
    b->last_ns = now_ns;
}

static void refill(svc_bucket *b, double rate, double burst, uint64_t now_ns)
{
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) / 1e9 * rate;
        if (b->tokens > burst)
            b->tokens = burst;
        b->last_ns = now_ns;
    }
}

int svc_bucket_take(svc_bucket *b, double rate, double burst, uint64_t now_ns)
{
    if (rate <= 0)
        return 1;
    refill(b, rate, burst, now_ns);
    if (b->tokens < 1.0)
        return 0;
    b->tokens -= 1.0;
    return 1;
}

double svc_bucket_wait_s(const svc_bucket *b, double rate, double burst, uint64_t now_ns)
{
    if (rate <= 0)
        return 0;
    svc_bucket c = *b;
    refill(&c, rate, burst, now_ns);
    return c.tokens >= 1.0 ? 0.0 : (1.0 - c.tokens) / rate;
}

/* ---- the table: a chained hash plus an LRU list ---- */

typedef struct entry {
    svc_ipaddr key;
    svc_bucket bucket;
    int open;
    struct entry *hnext;              /* hash chain */
    struct entry *lru_prev, *lru_next; /* most recent first */
} entry;

struct svc_addrtab {
    svc_addr_limits lim;
    uint64_t seed;
    entry **slots;
    size_t nslots;                    /* power of two */
    entry *pool;                      /* max_entries entries, allocated once */
    entry *free_list;                 /* unused entries, through hnext */
    entry *lru_head, *lru_tail;
    size_t count;
};

/* FNV-1a over the seed and the 16 address bytes, then a final mix. */
static size_t hash_of(const svc_addrtab *t, const svc_ipaddr *k)
{
    uint64_t h = 1469598103934665603ull ^ t->seed;
    for (int i = 0; i < 16; i++)
        h = (h ^ k->b[i]) * 1099511628211ull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (size_t)(h & (t->nslots - 1));
}

int svc_addrtab_create(const svc_addr_limits *lim, uint64_t seed, svc_addrtab **out)
{
    if (!lim || !out || lim->max_entries < 1 || lim->max_entries > SVC_ADDRTAB_MAX_ENTRIES ||
        lim->max_open < 0 || !(lim->rate >= 0) || !isfinite(lim->rate) ||
        (lim->rate > 0 && !(lim->burst >= 1.0 && isfinite(lim->burst))))
        return LQ_EINVAL;
    svc_addrtab *t = calloc(1, sizeof *t);
    if (!t)
        return LQ_ENOMEM;
    t->lim = *lim;
    t->seed = seed;
    t->nslots = 16;
    while (t->nslots < lim->max_entries)
        t->nslots *= 2;
    t->slots = calloc(t->nslots, sizeof *t->slots);
    t->pool = calloc(lim->max_entries, sizeof *t->pool);
    if (!t->slots || !t->pool) {
        svc_addrtab_destroy(t);
        return LQ_ENOMEM;
    }
    for (size_t i = 0; i < lim->max_entries; i++) {
        t->pool[i].hnext = t->free_list;
        t->free_list = &t->pool[i];
    }
    *out = t;
    return 0;
}

void svc_addrtab_destroy(svc_addrtab *t)
{
    if (!t)
        return;
    free(t->slots);
    free(t->pool);
    free(t);
}

static entry *find(const svc_addrtab *t, const svc_ipaddr *k)
{
    for (entry *e = t->slots[hash_of(t, k)]; e; e = e->hnext)
        if (svc_ip_equal(&e->key, k))
            return e;
    return NULL;
}

static void lru_unlink(svc_addrtab *t, entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        t->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        t->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(svc_addrtab *t, entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = t->lru_head;
    if (t->lru_head)
        t->lru_head->lru_prev = e;
    t->lru_head = e;
    if (!t->lru_tail)
        t->lru_tail = e;
}

static void remove_entry(svc_addrtab *t, entry *e)
{
    entry **pp = &t->slots[hash_of(t, &e->key)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    lru_unlink(t, e);
    e->hnext = t->free_list;
    t->free_list = e;
    t->count--;
}

/* A new entry for k, evicting the least recently seen idle address if the
 * table is full; NULL if every remembered address has open connections. */
static entry *insert(svc_addrtab *t, const svc_ipaddr *k, uint64_t now_ns)
{
    if (!t->free_list) {
        entry *victim = t->lru_tail;
        while (victim && victim->open > 0)
            victim = victim->lru_prev;
        if (!victim)
            return NULL;
        remove_entry(t, victim);
    }
    entry *e = t->free_list;
    t->free_list = e->hnext;
    memset(e, 0, sizeof *e);
    e->key = *k;
    svc_bucket_init(&e->bucket, t->lim.burst, now_ns);
    size_t h = hash_of(t, k);
    e->hnext = t->slots[h];
    t->slots[h] = e;
    lru_push_front(t, e);
    t->count++;
    return e;
}

static svc_admit admit(svc_addrtab *t, const svc_ipaddr *key, uint64_t now_ns,
                       double *retry_after_s, int take_token)
{
    if (retry_after_s)
        *retry_after_s = 0;
    entry *e = find(t, key);
    if (e) {
        lru_unlink(t, e);
        lru_push_front(t, e);
    } else if (!(e = insert(t, key, now_ns))) {
        return SVC_ADMIT_FULL;
    }
    if (t->lim.max_open > 0 && e->open >= t->lim.max_open)
        return SVC_ADMIT_OPEN;
    if (take_token && !svc_bucket_take(&e->bucket, t->lim.rate, t->lim.burst, now_ns)) {
        if (retry_after_s)
            *retry_after_s = svc_bucket_wait_s(&e->bucket, t->lim.rate, t->lim.burst, now_ns);
        return SVC_ADMIT_RATE;
    }
    return SVC_ADMIT_OK;
}

svc_admit svc_addrtab_admit(svc_addrtab *t, const svc_ipaddr *key, uint64_t now_ns,
                            double *retry_after_s)
{
    return admit(t, key, now_ns, retry_after_s, 1);
}

svc_admit svc_addrtab_admit_open(svc_addrtab *t, const svc_ipaddr *key, uint64_t now_ns)
{
    return admit(t, key, now_ns, NULL, 0);
}

int svc_addrtab_hold(svc_addrtab *t, const svc_ipaddr *key, uint64_t now_ns)
{
    entry *e = find(t, key);
    if (!e && !(e = insert(t, key, now_ns)))
        return LQ_EBUSY;
    lru_unlink(t, e);
    lru_push_front(t, e);
    e->open++;
    return 0;
}

int svc_addrtab_release(svc_addrtab *t, const svc_ipaddr *key)
{
    entry *e = find(t, key);
    if (!e || e->open <= 0)
        return LQ_ENOTFOUND;
    e->open--;
    return 0;
}

int svc_addrtab_open(const svc_addrtab *t, const svc_ipaddr *key)
{
    const entry *e = find(t, key);
    return e ? e->open : 0;
}

size_t svc_addrtab_size(const svc_addrtab *t)
{
    return t->count;
}

const char *svc_admit_name(svc_admit a)
{
    switch (a) {
    case SVC_ADMIT_OK: return "ok";
    case SVC_ADMIT_RATE: return "rate";
    case SVC_ADMIT_OPEN: return "open";
    case SVC_ADMIT_FULL: return "full";
    }
    return "unknown";
}
