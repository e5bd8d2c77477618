/*
 * tokenstore.h - token -> session id lookups in a shared Redis, off the
 * event loop (AUTH_MODE=redis).
 *
 *   svc_tokenstore_opts o = {.url = &u, .prefix = "tryon:token:", .timeout_ms = 250,
 *                            .max_pending = 1024, .notify = wake_loop, .notify_ud = ctx};
 *   svc_tokenstore *ts;
 *   svc_tokenstore_create(&o, &ts);
 *   uint64_t id;
 *   svc_tokenstore_lookup(ts, token, on_result, ud, &id);     // loop thread
 *   ...notify() is called from the lookup thread when it is done...
 *   svc_tokenstore_dispatch(ts);    // loop thread: runs on_result(&r, ud)
 *
 * Why a thread: hiredis 0.14 has no event-loop adapter for libwebsockets,
 * and a synchronous GET on the loop would stall every connection for as long
 * as Redis takes (or its timeout when it is down). One thread with its own
 * blocking connection does the GETs one after another; the loop only queues
 * requests and collects answers, so its cost per lookup is two mutex
 * operations. A GET on a nearby Redis takes well under a millisecond, so
 * one thread serves thousands of new connections per second.
 *
 * Bounds: connecting and each command are limited to timeout_ms. After a
 * failure to connect, lookups fail at once ("unavailable") for
 * SVC_TOKENSTORE_BACKOFF_MS before the next attempt, so a Redis that is
 * down costs one timeout per backoff period, not one per waiting client.
 * At most max_pending lookups wait; more are refused (LQ_EBUSY). A lookup
 * therefore answers within about timeout_ms x (its place in the queue),
 * which the service caps further by refusing when the queue is long.
 *
 * Results: status 0 and the session id (the value, at most
 * WS_SESSION_ID_MAX bytes of session-id characters); LQ_ENOTFOUND when the
 * key does not exist (never set, or its TTL ran out); LQ_EFORMAT when the
 * value is not a session id; LQ_EIO / LQ_ETIMEDOUT when Redis could not be
 * asked (reason says why, without the token).
 *
 * Thread-safety: lookup, cancel and dispatch are for one thread (the loop);
 * notify is called from the lookup thread.
 */
#ifndef LQ_SERVICE_TOKENSTORE_H
#define LQ_SERVICE_TOKENSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "batch/redis_url.h"
#include "service/protocol.h"

#define SVC_TOKENSTORE_BACKOFF_MS 1000
#define SVC_TOKENSTORE_PREFIX_MAX 64
#define SVC_TOKENSTORE_TOKEN_MAX 4096

typedef struct svc_tokenstore_opts {
    const batch_redis_url *url;
    const char *prefix;             /* key prefix, at most SVC_TOKENSTORE_PREFIX_MAX bytes */
    int timeout_ms;                 /* 10..10000 */
    int max_pending;                /* 1..65536 */
    void (*notify)(void *ud);
    void *notify_ud;
    /* Called (on the cancelling or destroying thread) with the ud of every
     * lookup whose callback will not run: cancelled, or left at destroy.
     * NULL = nothing to release. */
    void (*release_ud)(void *ud);
} svc_tokenstore_opts;

typedef struct svc_token_lookup {
    int status;                                 /* 0 or a negative LQ_E* (see above) */
    char session_id[WS_SESSION_ID_MAX + 1];
    char reason[160];
} svc_token_lookup;

typedef void (*svc_tokenstore_cb)(const svc_token_lookup *r, void *ud);

typedef struct svc_tokenstore svc_tokenstore;

/* Starts the thread (it connects on the first lookup). LQ_EINVAL, LQ_ENOMEM. */
int svc_tokenstore_create(const svc_tokenstore_opts *o, svc_tokenstore **out) LQ_NODISCARD;

/* Stops the thread after the lookup in progress (at most timeout_ms);
 * callbacks of unfinished lookups never run. NULL ok. */
void svc_tokenstore_destroy(svc_tokenstore *ts);

/* Queues a lookup. LQ_EBUSY when max_pending wait, LQ_EINVAL for a token
 * that is empty or too long, LQ_ENOMEM. On failure cb never runs. */
int svc_tokenstore_lookup(svc_tokenstore *ts, const char *token, svc_tokenstore_cb cb, void *ud,
                          uint64_t *id) LQ_NODISCARD;

/* The callback of id will not run (if it has not yet). */
void svc_tokenstore_cancel(svc_tokenstore *ts, uint64_t id);

/* Runs the callbacks of finished lookups, in the calling thread. */
void svc_tokenstore_dispatch(svc_tokenstore *ts);

/* Lookups queued or running. */
int svc_tokenstore_pending(svc_tokenstore *ts);

#endif
