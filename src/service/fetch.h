/*
 * fetch.h - fetching nail reference images without blocking the event loop.
 *
 *   static void on_notify(void *ud) { lws_cancel_service(ud); }  // any thread
 *
 *   lq_fetch_options o;
 *   lq_fetch_options_default(&o);
 *   o.allowed_hosts = "cdn.example.com,*.media.example.com";
 *   o.notify = on_notify; o.notify_ud = lws_context;
 *   lq_fetcher *f;
 *   if (lq_fetcher_create(&o, &f) < 0) ...
 *
 *   uint64_t id;
 *   if (lq_fetcher_start(f, url, on_reference, session, &id) < 0) ...  // cb never runs
 *
 *   // in LWS_CALLBACK_EVENT_WAIT_CANCELLED (the loop thread):
 *   lq_fetcher_dispatch(f);   // runs on_reference() for finished fetches
 *
 *   // session closed before its reference arrived:
 *   lq_fetcher_cancel(f, id); // on_reference() will not run for it
 *
 * Integration model. The fetcher owns one thread that drives a libcurl multi
 * handle with curl_multi_poll(); DNS, connects, TLS and reads all happen
 * there. The owner's loop never blocks on the network: when fetches finish the
 * fetcher thread queues the results and calls `notify` (which must only wake
 * the owner's loop, e.g. with lws_cancel_service()); the owner then calls
 * lq_fetcher_dispatch() on its loop thread, which runs the completion callbacks
 * there. This needs nothing from libwebsockets beyond lws_cancel_service(),
 * which is thread-safe in 4.1.6, and keeps curl's sockets out of lws's poll set.
 *
 * Threading contract. lq_fetcher_start/cancel/dispatch/stats/destroy are
 * called from ONE thread (the owner's loop). Completion callbacks run only
 * inside lq_fetcher_dispatch(), on that thread. Hence:
 *   - a callback never runs after lq_fetcher_cancel() of its id returns;
 *   - no callback runs after (or during) lq_fetcher_destroy();
 *   - if lq_fetcher_start() returns an error, its callback never runs.
 * A callback may call lq_fetcher_start() and lq_fetcher_cancel(), but never
 * lq_fetcher_destroy() (that aborts: it is a broken invariant).
 *
 * Policy (see docs/security.md). Only http and https, also for redirects.
 * Redirects are followed by the fetcher itself, at most `max_redirects`, and
 * every hop is checked by the same rules as the first URL. With an allow-list
 * of hosts, only those hosts are fetched (any address they resolve to). Without
 * one, every address curl is about to connect to is checked at connect time
 * (after DNS, so rebinding cannot dodge it) and loopback, private, link-local
 * (cloud metadata), CGNAT and reserved addresses are refused unless
 * `allow_private_addresses` is set. Environment proxies are ignored.
 * The body is streamed into memory and the transfer is aborted as soon as it
 * exceeds `max_body_bytes` (a larger Content-Length is refused before any body
 * byte is read) or its first bytes are not JPEG, PNG or WebP (lq_image_sniff,
 * the same test the decoder applies; decode with lq_image_decode). The server's
 * Content-Type is only reported, never trusted. Only status 200 is a success.
 *
 * Cache. Successful bodies are kept in an LRU cache keyed by the exact URL
 * string (bounded by count, bytes and age); requests for a URL already in
 * flight join that transfer instead of starting another. Cache hits are still
 * delivered through notify + dispatch, never from inside start.
 */
#ifndef LQ_SERVICE_FETCH_H
#define LQ_SERVICE_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "image/codec.h"

#define LQ_FETCH_MAX_URL 2048       /* longer URLs are refused (LQ_FETCH_BAD_URL) */
#define LQ_FETCH_REASON_MAX 256     /* reason strings are at most this long, NUL included */
#define LQ_FETCH_MAX_HOSTS 64       /* entries in an allow-list */
#define LQ_FETCH_MAX_HOST_LEN 253   /* length of one allow-list entry */

/* Why a fetch ended. Stable names (lq_fetch_kind_name) suit metric labels. */
#define LQ_FETCH_KIND_MAP(X)                                                   \
    X(OK, "ok")                                                                \
    X(BAD_URL, "bad_url")                   /* malformed, too long, no host */ \
    X(BLOCKED, "blocked")                   /* scheme, host or address refused */ \
    X(DNS, "dns")                           /* host name did not resolve */    \
    X(CONNECT, "connect")                   /* TCP connect failed */           \
    X(TLS, "tls")                           /* handshake or certificate */     \
    X(TIMEOUT, "timeout")                   /* connect or total timeout */     \
    X(TOO_LARGE, "too_large")               /* body over max_body_bytes */     \
    X(TOO_MANY_REDIRECTS, "too_many_redirects")                                \
    X(HTTP_STATUS, "http_status")           /* final status was not 200 */     \
    X(NOT_IMAGE, "not_image")               /* body is not JPEG/PNG/WebP */    \
    X(NETWORK, "network")                   /* other transfer failure */       \
    X(INTERNAL, "internal")                 /* out of memory, curl failure */

enum lq_fetch_kind {
#define LQ__FETCH_KIND_ENUM(name, str) LQ_FETCH_##name,
    LQ_FETCH_KIND_MAP(LQ__FETCH_KIND_ENUM)
#undef LQ__FETCH_KIND_ENUM
    LQ_FETCH_KIND_COUNT
};

/* Stable lower-case name of a kind ("timeout"); never NULL, static storage. */
const char *lq_fetch_kind_name(enum lq_fetch_kind kind);

/*
 * A fetched body: immutable bytes with an atomic reference count, shared by
 * the cache and every callback that received it. Retaining and releasing are
 * thread-safe, so a body may be handed to a worker thread for decoding.
 */
typedef struct lq_fetch_body lq_fetch_body;

const uint8_t *lq_fetch_body_data(const lq_fetch_body *body);
size_t lq_fetch_body_size(const lq_fetch_body *body);
/* The format sniffed from the first bytes (lq_image_sniff): JPEG, PNG or WebP. */
lq_format lq_fetch_body_format(const lq_fetch_body *body);
/* Adds a reference and returns body (NULL-safe). */
lq_fetch_body *lq_fetch_body_retain(lq_fetch_body *body);
/* Drops a reference; the last one frees the bytes. NULL-safe. */
void lq_fetch_body_release(lq_fetch_body *body);

/*
 * What a completion callback receives. Everything is borrowed and valid only
 * during the callback; copy what you keep, or retain `body`.
 */
typedef struct lq_fetch_result {
    uint64_t id;                   /* as returned by lq_fetcher_start */
    int status;                    /* 0, or a negative LQ_E* code (see kinds) */
    enum lq_fetch_kind kind;       /* LQ_FETCH_OK iff status == 0 */
    const char *reason;            /* "" on success, else one human sentence
                                    * fit for an error reply; never NULL */
    const char *url;               /* the URL passed to start */
    long http_status;              /* last HTTP status received, 0 if none */
    int redirects;                 /* redirects followed */
    int from_cache;                /* 1 if served from the cache */
    int coalesced;                 /* 1 if it joined another request's transfer */
    double elapsed_ms;             /* from start to completion */
    lq_format format;              /* sniffed; LQ_FMT_UNKNOWN on failure */
    const uint8_t *data;           /* the body (NULL on failure) */
    size_t size;                   /* its length (0 on failure) */
    lq_fetch_body *body;           /* same bytes, refcounted; NULL on failure */
} lq_fetch_result;

/* Status codes per kind: BAD_URL and BLOCKED -> LQ_EINVAL; DNS -> LQ_ENOTFOUND;
 * CONNECT, TLS, NETWORK -> LQ_EIO; TIMEOUT -> LQ_ETIMEDOUT; TOO_LARGE and
 * TOO_MANY_REDIRECTS -> LQ_ELIMIT; HTTP_STATUS -> LQ_ENOTFOUND for 404/410,
 * else LQ_EIO; NOT_IMAGE -> LQ_EUNSUPPORTED; INTERNAL -> LQ_ENOMEM or
 * LQ_EINTERNAL. */

typedef void (*lq_fetch_cb)(const lq_fetch_result *result, void *ud);

/* Called by the fetcher (from its own thread, or from the owner's thread inside
 * lq_fetcher_start) when results wait for lq_fetcher_dispatch(). It must be
 * thread-safe and must not call back into the fetcher: only wake the loop. */
typedef void (*lq_fetch_notify_fn)(void *ud);

/*
 * Settings. Start from lq_fetch_options_default(); lq_fetch_options_validate()
 * checks the bounds given here and names the offending setting.
 */
typedef struct lq_fetch_options {
    size_t max_body_bytes;      /* default 8 MiB; 1 KiB .. 256 MiB */
    int max_redirects;          /* default 3; 0 .. 10 */
    int timeout_ms;             /* whole fetch incl. redirects; default 10000; 100 .. 300000 */
    int connect_timeout_ms;     /* per connection; default 3000; 100 .. 60000 */
    int max_inflight;           /* distinct transfers at once; default 32; 1 .. 1024 */
    int max_requests;           /* requests not yet delivered; default 1024; 1 .. 65536 */
    size_t cache_max_entries;   /* default 64; 0 disables the cache; <= 65536 */
    size_t cache_max_bytes;     /* default 64 MiB; <= 4 GiB */
    int cache_ttl_s;            /* max age of a cached body; default 600; 0 = no limit */
    const char *allowed_hosts;  /* comma-separated "host" or "*.suffix" entries;
                                 * NULL or "" = no allow-list. Copied by create. */
    int allow_private_addresses;/* 1 = do not refuse loopback/private/link-local
                                 * addresses when no allow-list is set (tests,
                                 * development); default 0 */
    lq_fetch_notify_fn notify;  /* required */
    void *notify_ud;
} lq_fetch_options;

void lq_fetch_options_default(lq_fetch_options *opts);

/* 0, or LQ_EINVAL with "setting: problem" written to err (if err != NULL). */
int lq_fetch_options_validate(const lq_fetch_options *opts, char *err, size_t errlen) LQ_NODISCARD;

typedef struct lq_fetcher lq_fetcher;

/* Validates opts (logging the reason), initialises libcurl once per process
 * and starts the fetcher thread. On failure *out is untouched. */
int lq_fetcher_create(const lq_fetch_options *opts, lq_fetcher **out) LQ_NODISCARD;

/* Aborts every transfer, joins the thread and frees everything. No callback
 * runs during or after it; bodies retained by callers stay valid. The notify
 * target (e.g. the lws context) must outlive this call. NULL-safe. */
void lq_fetcher_destroy(lq_fetcher *f);

/*
 * Starts fetching url (copied) and returns at once. cb(result, ud) runs later
 * inside lq_fetcher_dispatch() exactly once, unless cancelled. Problems with
 * the URL itself (malformed, scheme, host not allowed) are reported through
 * the callback like any other failure, so the caller has one error path.
 * id_out (may be NULL) receives a non-zero id, never reused by this fetcher.
 * Returns 0, LQ_EINVAL (f, url or cb NULL), LQ_EBUSY (max_requests undelivered
 * requests, or max_inflight transfers, already), LQ_ENOMEM; on error cb never
 * runs and *id_out is untouched.
 */
int lq_fetcher_start(lq_fetcher *f, const char *url, lq_fetch_cb cb, void *ud,
                     uint64_t *id_out) LQ_NODISCARD;

/* Withdraws a request: its callback will not run. If no other request waits
 * for the same transfer, the transfer is aborted. Returns 0, or LQ_ENOTFOUND
 * if id is unknown or its callback already ran. */
int lq_fetcher_cancel(lq_fetcher *f, uint64_t id);

/* Runs the callbacks of the results queued when it was called (results queued
 * by those callbacks wait for the next call, which notify announces).
 * Returns how many callbacks ran. */
int lq_fetcher_dispatch(lq_fetcher *f);

/* Counters for /metrics (monotonic since create, except the gauges). */
typedef struct lq_fetch_stats {
    uint64_t requests;          /* successful lq_fetcher_start calls */
    uint64_t cache_hits;        /* requests served from the cache */
    uint64_t coalesced;         /* requests that joined a transfer in flight */
    uint64_t transfers;         /* transfers started (first hop of each) */
    uint64_t bytes_received;    /* body bytes received, all transfers */
    uint64_t delivered[LQ_FETCH_KIND_COUNT]; /* callbacks run, by kind */
    uint64_t cancelled;         /* requests withdrawn */
    uint64_t evictions;         /* cache entries dropped for space or age */
    size_t cache_entries;       /* gauge */
    size_t cache_bytes;         /* gauge */
    int inflight;               /* gauge: transfers running */
} lq_fetch_stats;

void lq_fetcher_stats(lq_fetcher *f, lq_fetch_stats *out);

#endif
