/*
 * access.h - access control of `lacquer serve` on libwebsockets: the glue
 * between the event loop and auth.h (AUTH_MODE), ratelimit.h (per-address
 * limits), clientaddr.h (TRUSTED_PROXIES) and origin.h (ALLOWED_ORIGINS).
 * Internal to the service; see docs/security.md "Access control".
 *
 * The order of checks for a WebSocket, cheapest and least trusting first:
 *
 *   HTTP upgrade request (svc__access_confirm_upgrade, before the handshake
 *   is answered; refused with an HTTP status and a JSON error body):
 *     1. Origin (browsers only)        -> 403, code UNAUTHORIZED
 *     2. open connections per address  -> 429, code RATE_LIMITED
 *     3. new connections per address   -> 429 + Retry-After, code RATE_LIMITED
 *     4. address table full            -> 503, code SERVER_BUSY
 *   WebSocket established (svc__access_on_open):
 *     5. the token (AUTH_MODE)         -> error UNAUTHORIZED, close 1008
 *                                         (1013 if the token store is down)
 *        redis: the connection is not read until the lookup answers, so no
 *        message is parsed before the token is known to be good.
 *   init_session (svc__access_session_allowed):
 *     6. the token's session_id        -> error UNAUTHORIZED, close 1008
 *
 * Nothing of a refused connection reaches the session or frame code: no
 * session, no decode, no inference.
 *
 * For the HTTP API (an HTTP request rather than a WebSocket), the same
 * pieces apply: svc__access_http_admit() the per-address limits (429 +
 * Retry-After, or 503), svc__access_request_token() the token, and
 * svc_auth_check() on srv->access->auth checks it (401 on failure; redis
 * mode answers later). The Origin allow-list does not apply: it guards
 * WebSocket upgrades, where a browser would let any page read the replies.
 * The API sends no CORS headers (a cross-site page cannot read its
 * answers) and uses no ambient credentials such as cookies, so a page can
 * only send requests with a token it already holds, as it could without a
 * browser.
 *
 * Everything here runs on the event loop thread.
 */
#ifndef LQ_SERVICE_ACCESS_H
#define LQ_SERVICE_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "service/auth.h"
#include "service/clientaddr.h"
#include "service/origin.h"
#include "service/protocol.h"
#include "service/ratelimit.h"

struct lws;
struct lq_server;
struct svc_conn;

typedef enum svc_conn_auth {
    SVC_CONN_AUTH_OK = 0,           /* allowed (or AUTH_MODE=none) */
    SVC_CONN_AUTH_PENDING,          /* a Redis lookup is out; reads are paused */
    SVC_CONN_AUTH_REFUSED,          /* refused; the connection is closing */
} svc_conn_auth;

/* Per-connection access state (part of svc_conn, zeroed with it). */
typedef struct svc_conn_access {
    int held;                       /* counted in the per-address table */
    svc_ipaddr key;                 /* the limit key it is counted under */
    char addr[SVC_IP_TEXT_MAX];     /* the client's address, for logs */
    svc_conn_auth auth;
    uint64_t auth_id;               /* pending lookup */
    char session_id[WS_SESSION_ID_MAX + 1]; /* the session the token is for; "" = any */
    uint64_t linger_until_ns;       /* refused: keep reading (and dropping) until then */
} svc_conn_access;

/* A refused connection is closed SVC_ACCESS_LINGER_MS after its error, not at
 * once: a client that sent init_session and frames right after connecting
 * would otherwise have that unread data make the kernel reset the connection
 * (RST), and it would see 1006 instead of the error and 1008. Meanwhile its
 * messages are read and dropped unlooked-at. */
#define SVC_ACCESS_LINGER_MS 250

/* Server-wide access state. */
typedef struct svc_access {
    svc_auth *auth;
    svc_addrtab *addrs;
    svc_cidr trusted[SVC_CIDR_MAX];
    int ntrusted;
    svc_origins origins;
    uint64_t refused_origin, refused_rate, refused_open, refused_full;
} svc_access;

/* Reads the settings (srv->cfg) and builds everything; err names the
 * setting at fault. Needs srv->ctx (redis lookups wake the loop through it). */
int svc__access_create(struct lq_server *srv, char *err, size_t errlen) LQ_NODISCARD;
/* Stops the Redis lookup thread (before the lws context is destroyed: it
 * wakes the loop through it); pending lookups are dropped. Then, after the
 * context (whose CLOSED callbacks still call svc__access_on_close), destroy. */
void svc__access_stop(struct lq_server *srv);
void svc__access_destroy(struct lq_server *srv);

/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE for /ws/tryon: 0 lets the upgrade go on;
 * 1 means a refusal was written (lws completes the transaction); -1 hangs up. */
int svc__access_confirm_upgrade(struct lq_server *srv, struct lws *wsi);

/* LWS_CALLBACK_ESTABLISHED, after the connection is set up: counts it for
 * its address and checks the token (see above). */
void svc__access_on_open(struct lq_server *srv, struct svc_conn *c, struct lws *wsi);

/* LWS_CALLBACK_CLOSED: uncounts it, cancels a pending lookup. */
void svc__access_on_close(struct lq_server *srv, struct svc_conn *c);

/* Before init_session creates anything: 1 if sid is the session the token
 * allows; else replies UNAUTHORIZED, closes with 1008 and returns 0. */
int svc__access_session_allowed(struct lq_server *srv, struct svc_conn *c, const char *sid);

/* 1 while the connection's messages must not be looked at (auth pending or
 * refused). */
int svc__access_blocks_input(const struct svc_conn *c);

/* 1 while a refused connection lingers before its close frame is sent. */
int svc__access_lingering(const struct svc_conn *c, uint64_t now_ns);

/* Finished Redis lookups (LWS_CALLBACK_EVENT_WAIT_CANCELLED). */
void svc__access_dispatch(struct lq_server *srv);

/* What to answer a request refused by the per-address limits. */
typedef struct svc_http_refusal {
    int status;              /* 429, or 503 when the address table is full */
    ws_error_code code;      /* RATE_LIMITED or SERVER_BUSY */
    int retry_after;         /* seconds, for Retry-After */
    char msg[WS_MESSAGE_MAX];
} svc_http_refusal;

/* Per-address limits for one HTTP API request (LWS_CALLBACK_HTTP, headers
 * still there): CONN_RATE_PER_ADDR and MAX_CONNS_PER_ADDR, in the table the
 * WebSockets use. A request is counted as one open connection of its
 * client (X-Forwarded-For from TRUSTED_PROXIES, IPv6 per /64) while it is
 * in progress. The first admitted request of a network connection takes a
 * new-connection token: every HTTP/1.1 request (one per connection here),
 * the first request of an HTTP/2 connection; later streams of an HTTP/2
 * connection check only MAX_CONNS_PER_ADDR. Returns 0 (admitted: call
 * svc__access_http_release(srv, key) when the request ends), 1 (refused:
 * *out says how to answer; counted in the rejection metrics and logged), or
 * LQ_EINVAL (the peer address is unknown: hang up). */
int svc__access_http_admit(struct lq_server *srv, struct lws *wsi, svc_ipaddr *key,
                           svc_http_refusal *out) LQ_NODISCARD;
void svc__access_http_release(struct lq_server *srv, const svc_ipaddr *key);

/* The client of a request: its address text and limit key (X-Forwarded-For
 * honoured from TRUSTED_PROXIES). LQ_EINVAL if the peer address is unknown. */
int svc__access_client(struct lq_server *srv, struct lws *wsi, svc_ipaddr *addr,
                       svc_ipaddr *key, char *text, size_t textlen) LQ_NODISCARD;

/* The token of a request (header, subprotocol or ?token=), see
 * svc_auth_extract_token. */
int svc__access_request_token(struct lws *wsi, char *out, size_t cap, const char **source,
                              char *err, size_t errlen) LQ_NODISCARD;

#endif
