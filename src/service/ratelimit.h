/*
 * ratelimit.h - token buckets, and a bounded table of them keyed by client
 * address (new connections per second and open connections per address).
 *
 *   svc_addr_limits lim = {.rate = 10, .burst = 20, .max_open = 20, .max_entries = 65536};
 *   svc_addrtab *t;
 *   if (svc_addrtab_create(&lim, seed, &t) < 0) ...;
 *   double retry_s;
 *   switch (svc_addrtab_admit(t, &key, now_ns, &retry_s)) {   // takes a token
 *   case SVC_ADMIT_OK:                                         // accept, then:
 *       svc_addrtab_hold(t, &key); ... on close: svc_addrtab_release(t, &key); break;
 *   case SVC_ADMIT_RATE: refuse (429, Retry-After: retry_s); break;
 *   case SVC_ADMIT_OPEN: refuse (429): too many open connections from key; break;
 *   case SVC_ADMIT_FULL: refuse (503): the table is full of addresses with open connections;
 *   }
 *
 * admit and hold are separate because the decision is made on the request
 * and the connection only exists (and can only be released) once accepted.
 *
 * A token bucket holds at most `burst` tokens and refills at `rate` tokens
 * per second; taking a token when fewer than one is left fails. So a client
 * may open `burst` connections at once, then `rate` per second on average.
 *
 * The clock is always passed in (nanoseconds from any monotonic origin), so
 * the tests drive it by hand; nothing here reads the time or allocates after
 * svc_addrtab_create.
 *
 * The table holds at most max_entries addresses. When it is full, the least
 * recently seen address without open connections is forgotten (its bucket
 * starts full again if it comes back); if every address has open
 * connections, admit answers SVC_ADMIT_FULL. Buckets are hashed with a
 * per-table seed so that chosen addresses cannot pile into one chain.
 *
 * Thread-safety: none; one table belongs to one thread (the event loop).
 */
#ifndef LQ_SERVICE_RATELIMIT_H
#define LQ_SERVICE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "service/clientaddr.h"

typedef struct svc_bucket {
    double tokens;
    uint64_t last_ns;
} svc_bucket;

/* A full bucket at now_ns. */
void svc_bucket_init(svc_bucket *b, double burst, uint64_t now_ns);

/* Refills for the time since the last call, then takes one token: 1 if
 * taken, 0 if the bucket is empty. rate <= 0 means no limit (always 1). A
 * clock that goes backwards refills nothing. */
int svc_bucket_take(svc_bucket *b, double rate, double burst, uint64_t now_ns);

/* Seconds until one token will be available (0 if one is now). */
double svc_bucket_wait_s(const svc_bucket *b, double rate, double burst, uint64_t now_ns);

typedef struct svc_addr_limits {
    double rate;            /* new connections per second per address; 0 = no rate limit */
    double burst;           /* bucket size, >= 1 when rate > 0 */
    int max_open;           /* open connections per address; 0 = no cap */
    size_t max_entries;     /* addresses remembered, 1..SVC_ADDRTAB_MAX_ENTRIES */
} svc_addr_limits;

#define SVC_ADDRTAB_MAX_ENTRIES (1u << 20)

typedef enum svc_admit {
    SVC_ADMIT_OK = 0,       /* counted: one more open connection for the address */
    SVC_ADMIT_RATE,         /* the address's bucket is empty */
    SVC_ADMIT_OPEN,         /* the address already has max_open open connections */
    SVC_ADMIT_FULL,         /* no room for a new address */
} svc_admit;

typedef struct svc_addrtab svc_addrtab;

/* LQ_EINVAL for bad limits, LQ_ENOMEM. seed: any value (e.g. from the clock
 * or getrandom) used to key the hash. */
int svc_addrtab_create(const svc_addr_limits *lim, uint64_t seed, svc_addrtab **out) LQ_NODISCARD;

void svc_addrtab_destroy(svc_addrtab *t);

/* Decides whether `key` may open one more connection now: its open count
 * is under max_open and its bucket gives a token (taken on SVC_ADMIT_OK).
 * On SVC_ADMIT_RATE *retry_after_s (if not NULL) is the wait until a token
 * is back; otherwise it is 0. The open count is not changed. */
svc_admit svc_addrtab_admit(svc_addrtab *t, const svc_ipaddr *key, uint64_t now_ns,
                            double *retry_after_s);

/* Like svc_addrtab_admit, but takes no token: for one more request on a
 * connection that was already admitted (an HTTP/2 stream), which counts
 * against max_open but is not a new connection. Never SVC_ADMIT_RATE. */
svc_admit svc_addrtab_admit_open(svc_addrtab *t, const svc_ipaddr *key, uint64_t now_ns);

/* Counts one open connection for key (whatever the limits say: call it for
 * connections admit accepted). LQ_EBUSY if key is new and the table is full
 * of addresses with open connections (then nothing is counted). */
int svc_addrtab_hold(svc_addrtab *t, const svc_ipaddr *key, uint64_t now_ns);

/* One connection admitted for key has closed. Unknown keys and keys with no
 * open connection are ignored (returns LQ_ENOTFOUND). */
int svc_addrtab_release(svc_addrtab *t, const svc_ipaddr *key);

/* Open connections counted for key (0 if unknown). */
int svc_addrtab_open(const svc_addrtab *t, const svc_ipaddr *key);

/* Addresses currently remembered. */
size_t svc_addrtab_size(const svc_addrtab *t);

const char *svc_admit_name(svc_admit a);   /* "ok", "rate", "open", "full" */

#endif
