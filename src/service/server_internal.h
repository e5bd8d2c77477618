/*
 * server_internal.h - shared by the files of the service's event loop
 * (server.c: context, connections, timers; requests.c: messages, sessions,
 * results; http.c: /health and /metrics). Not a public header.
 *
 * Everything declared here runs on the event loop thread only.
 */
#ifndef LQ_SERVICE_SERVER_INTERNAL_H
#define LQ_SERVICE_SERVER_INTERNAL_H

#include <libwebsockets.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/config.h"
#include "service/access.h"
#include "service/fetch.h"
#include "service/metrics.h"
#include "service/outq.h"
#include "service/protocol.h"
#include "service/server.h"
#include "service/session.h"
#include "service/workers.h"
#include "tryon/tryon.h"

#define SVC_TAG "service"
#define SVC_WS_PATH "/ws/tryon"

typedef struct svc_conn svc_conn;
struct svc_api;
struct svc_api_req;
struct svc_api_session;

/* A process_frame (encoding 1) whose image has not arrived yet. */
typedef struct svc_pending {
    int active;
    int rejected;         /* the header was refused: swallow its image silently */
    char session_id[WS_SESSION_ID_MAX + 1];
    int64_t sequence;
    int has_timestamp;
    int64_t timestamp;
    int64_t declared_size;
} svc_pending;

struct svc_conn {
    svc_conn *prev, *next;
    struct lws *wsi;
    svc_session *session;
    ws_outq outq;
    /* message reassembly */
    uint8_t *rx;
    size_t rx_len, rx_cap;
    int rx_active, rx_binary, rx_discard;
    svc_pending pending;
    uint64_t last_rx_ns;
    int rx_paused;
    size_t ctrl_bytes;    /* control messages (errors, stats...) waiting in outq */
    svc_conn_access access; /* client address, token state (access.c) */
    lq_server *srv;
    /* an HTTP API session's virtual connection: no wsi, replies go to
     * svc__api_deliver (httpapi.h) */
    struct svc_api_session *api;
    /* close after the queue is flushed */
    int closing;
    int close_code;
    char close_reason[64];
};

/* lws per-connection storage (zeroed by lws, freed by lws after CLOSED). */
typedef struct svc_pss {
    svc_conn *conn;
    char *http_body;      /* LWS_PRE + body */
    size_t http_len;
    struct svc_api_req *api; /* an HTTP API request (httpapi.c) */
} svc_pss;

struct lq_server {
    lq_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh_main, *vh_metrics, *vh_h2c;
    lws_retry_bo_t retry;
    lws_sorted_usec_list_t tick;
    lq_tryon_engine *engine;
    svc_workers *workers;
    atomic_int busy_workers; /* workers running a job (the parallel-inference gate) */
    lq_fetcher *fetcher;
    svc_metrics metrics;
    ws_limits limits;
    svc_conn *conns;
    int nsessions;          /* sessions not closed */
    int nconns;
    uint64_t started_ns;
    volatile sig_atomic_t stop_requested;
    int stopping;
    uint64_t stop_ns;
    int finished;
    svc_session *dead;      /* closed sessions, freed on the next timer tick */
    struct lws *no_rebind;  /* HTTP/1.1 connection whose transaction just ended */
    svc_access *access;     /* AUTH_MODE, per-address limits, origins (access.c) */
    struct svc_api *api;    /* HTTP API sessions and requests (httpapi.c) */
};

lq_server *svc__server_of(struct lws *wsi);

/* Output: queue a reply (takes ownership; NULL m is logged and ignored), an
 * error reply, or a close after the queue is flushed. */
void svc__conn_push(lq_server *srv, svc_conn *c, ws_out *m);
void svc__conn_error(lq_server *srv, svc_conn *c, const char *sid, int has_seq, int64_t seq,
                     ws_error_code code, const char *msg);
void svc__conn_close(svc_conn *c, int code, const char *reason);

/* Sessions (requests.c). */
void svc__send_stats(lq_server *srv, svc_session *s);
void svc__session_close(lq_server *srv, svc_session *s, const char *msg_type, const char *reason);
void svc__session_ready(lq_server *srv, svc_session *s);
void svc__pump(lq_server *srv, svc_session *s);

/* Frees the sessions closed since the last call (never inside the callback
 * that closed them). */
void svc__free_dead_sessions(lq_server *srv);

/* One received fragment of a WebSocket message (requests.c). */
void svc__on_receive(lq_server *srv, svc_conn *c, struct lws *wsi, const void *in, size_t len);

/* The HTTP API's way into the same session and frame code (requests.c):
 * init_session on a connection, and one frame (image: a malloc'd buffer the
 * job takes over; encoding 1, replies as processed_frame + image). */
void svc__init_session(lq_server *srv, svc_conn *c, ws_request *rq);
void svc__submit_frame(lq_server *srv, svc_conn *c, const char *sid, int64_t seq, int has_ts,
                       int64_t ts, uint8_t *image, size_t len);

/* Finished jobs from the workers (requests.c). */
void svc__drain_results(lq_server *srv);

/* HTTP routes (http.c). */
int svc__http_request(lq_server *srv, struct lws *wsi, svc_pss *pss, const char *uri);
int svc__http_writeable(struct lws *wsi, svc_pss *pss);

#endif
