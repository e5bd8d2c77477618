/*
 * httpapi.h - the HTTP API of `lacquer serve` (docs/http-api.md): sessions,
 * frames, stats and process-stream over HTTP/1.1 and HTTP/2, on the same
 * sessions, worker pool and pipeline as the WebSocket. Not a public header:
 * shared by httpapi.c (requests, sessions, frames), httpstream.c
 * (process-stream) and httpresp.c (writing responses). Event loop thread only.
 *
 * How an HTTP session reuses the WebSocket machinery: each one owns a
 * *virtual connection* (an svc_conn with no wsi, conn.api pointing back to
 * its svc_api_session) that requests.c treats like any connection: init,
 * frames, drops, rate limits and shutdown all run there unchanged. What
 * requests.c would have sent to a WebSocket (svc__conn_push) comes to
 * svc__api_deliver instead, which routes each message by its sequence to
 * the HTTP request waiting for it (or to the attached process-stream).
 *
 * Life cycle and ownership:
 *  - an svc_api_req lives from LWS_CALLBACK_HTTP until its response is
 *    written (or its wsi closes); pss->api points to it;
 *  - an svc_api_session lives from POST /sessions until it is deleted,
 *    expires (HTTP_SESSION_TIMEOUT), fails to start or the server closes it;
 *    it is freed by svc__api_tick, never inside a callback, and only once
 *    no request refers to it;
 *  - a request waiting on a session is answered before the session goes.
 */
#ifndef LQ_SERVICE_HTTPAPI_H
#define LQ_SERVICE_HTTPAPI_H

#include <stddef.h>
#include <stdint.h>

#include "service/chunked.h"
#include "service/httproute.h"
#include "service/server_internal.h"
#include "service/streamframe.h"

#define API_TAG "httpapi"
#define API_HEADERS_MAX (24 * 1024)     /* response head (X-Tryon-Metadata included) */
#define API_META_HEADER_MAX (12 * 1024) /* longer metadata: JSON body instead */
#define API_WRITE_H1 (64 * 1024)        /* body bytes per write on HTTP/1.1 */
#define API_WRITE_H2 16384              /* the smallest SETTINGS_MAX_FRAME_SIZE */
#define API_CHUNK_PAD 16                /* room for "%x\r\n" before and "\r\n" after */
#define API_STREAM_CTYPE "application/vnd.lacquer.tryon-stream"

typedef struct svc_api svc_api;
typedef struct svc_api_req svc_api_req;
typedef struct svc_api_session svc_api_session;
typedef struct api_stream api_stream;

/* A response head and (fixed) body. */
typedef struct api_resp {
    int status;
    const char *ctype; /* static string */
    char *meta;        /* X-Tryon-Metadata value (malloc'd) or NULL */
    const char *allow; /* Allow header (405), static */
    int retry_after;   /* Retry-After seconds, < 0: none */
    char location[WS_SESSION_ID_MAX + 32];
    uint8_t *buf; /* LWS_PRE + len bytes; the body at buf + LWS_PRE */
    size_t len, sent;
    int streaming; /* length unknown (process-stream) */
    int head_sent;
    int final_sent;
} api_resp;

struct svc_api_req {
    svc_api_req *prev, *next; /* svc_api.reqs: every live request */
    svc_api_req *wnext;       /* svc_api_session.waiters */
    struct lws *wsi;
    svc_pss *pss;
    api_route route;
    api_method method;
    int h2; /* an HTTP/2 stream */
    /* request body */
    uint8_t *body; /* malloc'd; its owner once it goes to a worker */
    size_t body_len, body_cap, body_max;
    int64_t content_length; /* -1: none */
    int chunked;            /* HTTP/1.1 Transfer-Encoding: chunked */
    http_chunked dechunk;
    int body_done;
    char ctype[96]; /* request Content-Type */
    /* access (access.h): per-address limits first, then the token; nothing
     * is done before the token is good */
    int limit_held; /* counted as an open connection of limit_key */
    svc_ipaddr limit_key;
    int authorized;
    int auth_pending; /* a Redis lookup is out */
    uint64_t auth_id;
    char token_session[WS_SESSION_ID_MAX + 1]; /* the session the token allows; "" = any */
    /* a frame (API_ROUTE_FRAMES) */
    svc_api_session *session; /* the session it waits on (frames, create, stream) */
    int has_sequence;
    int64_t sequence;
    int has_timestamp;
    int64_t timestamp;
    api_format format;
    int waiting;  /* in session->waiters */
    ws_out *meta; /* processed_frame JSON, its image comes next */
    /* the response */
    api_resp resp;
    int answered; /* resp is complete: only writing remains */
    /* HTTP/2: body bytes lws delivered from before the request was dispatched
     * (see settle_deferred_window in httpapi.c) */
    int deferral;
    uint64_t deferred;
    api_stream *stream; /* API_ROUTE_STREAM */
};

struct svc_api_session {
    svc_conn conn;                /* the virtual connection (conn.api == this) */
    svc_api_session *prev, *next; /* svc_api.sessions */
    char id[WS_SESSION_ID_MAX + 1];
    uint64_t last_used_ns;
    int64_t next_sequence; /* for frames that come without one */
    svc_api_req *create;   /* POST /sessions waiting for session_ready */
    svc_api_req *waiters;  /* frame requests waiting for their answer */
    svc_api_req *stream;   /* the attached process-stream */
    enum { IMAGE_DROP = 0, IMAGE_TO_REQ, IMAGE_TO_STREAM } image_to; /* next binary message */
    svc_api_req *image_req;
    ws_out *ready;       /* session_ready, for the create request */
    ws_out *ready_error; /* an error without sequence that followed it */
    int removed;         /* gone from the API; freed by the tick when unreferenced */
};

struct svc_api {
    svc_api_session *sessions;
    svc_api_req *reqs;
    int nreqs;
    uint8_t *scratch; /* LWS_PRE + API_HEADERS_MAX: response heads */
};

/* ---- server.c / http.c hooks ---- */

/* Creates the per-server state (srv->api). LQ_ENOMEM. */
int svc__api_create(lq_server *srv) LQ_NODISCARD;

/* Closes every HTTP session and frees the state; after the lws context
 * (and with it every request) is gone. */
void svc__api_destroy(lq_server *srv);

/* LWS_CALLBACK_HTTP for a path under /api/. 0, or -1 to close. */
int svc__api_http(lq_server *srv, struct lws *wsi, svc_pss *pss, const char *uri);

/* LWS_CALLBACK_HTTP_BODY / _BODY_COMPLETION / _HTTP_WRITEABLE /
 * CLOSED_HTTP for a request with pss->api set. 0, or -1 to close. */
int svc__api_body(lq_server *srv, svc_pss *pss, const void *in, size_t len);
int svc__api_body_done(lq_server *srv, svc_pss *pss);
int svc__api_writeable(lq_server *srv, svc_pss *pss);
void svc__api_closed(lq_server *srv, svc_pss *pss);

/* What requests.c sends to a virtual connection (svc__conn_push). Takes m. */
void svc__api_deliver(lq_server *srv, svc_conn *c, ws_out *m);

/* Timer: expires idle sessions, frees removed ones. */
void svc__api_tick(lq_server *srv, uint64_t now_ns);

/* Requests still being served (shutdown waits for them). */
int svc__api_busy(const lq_server *srv);

/* ---- shared by httpapi.c, httpstream.c, httpresp.c ---- */

/* Finds a live session by id. */
svc_api_session *api__session_find(lq_server *srv, const char *id);

/* Answers req with an error: the same JSON as the WebSocket's error message,
 * status from api_http_status(code) unless status > 0. */
void api__respond_error(lq_server *srv, svc_api_req *r, int status, const char *sid, int has_seq,
                        int64_t seq, ws_error_code code, const char *msg);

/* Answers req with a JSON body (takes body, a malloc'd NUL-terminated text). */
void api__respond_json(lq_server *srv, svc_api_req *r, int status, char *body);

/* The frame request waiting for this sequence, or NULL. */
svc_api_req *api__waiter(svc_api_session *as, int64_t seq);

/* Takes a request off its session's waiters (and the stream slot). */
void api__detach(svc_api_req *r);

/* Body bytes for a request (grows r->body up to r->body_max; dechunks
 * HTTP/1.1 chunked bodies). Sets r->body_done at the end. */
int api__collect_body(lq_server *srv, svc_api_req *r, const uint8_t *in, size_t len);

/* httpresp.c: writes the next part of r->resp (head, then body). Returns 1
 * when the response is completely written, 0 when more is to come (a
 * writeable callback was requested), -1 on a write error. */
int api__resp_write(lq_server *srv, svc_api_req *r);
void api__resp_free(api_resp *resp);
/* Sets a fixed body (takes buf: LWS_PRE headroom + len bytes). */
void api__resp_body(api_resp *resp, uint8_t *buf, size_t len);
/* The largest body write allowed now (0: wait for the peer's window). */
size_t api__resp_room(struct lws *wsi, int h2);
/* Writes one body piece at p (LWS_PRE headroom before it, API_CHUNK_PAD
 * free bytes after it): framed as a chunk when chunked, final = last piece.
 * Returns 0 or -1. */
int api__resp_write_piece(struct lws *wsi, uint8_t *p, size_t len, int chunked, int final);
/* Sends r->resp's head (status, headers). 0 or -1. */
int api__resp_send_head(lq_server *srv, svc_api_req *r);

/* httpstream.c: process-stream. */
int api__stream_start(lq_server *srv, svc_api_req *r);
int api__stream_body(lq_server *srv, svc_api_req *r, const uint8_t *in, size_t len);
int api__stream_body_done(lq_server *srv, svc_api_req *r);
/* 0: more to write later; 1: the response is complete (free the request
 * and close the stream / connection); -1: write error. */
int api__stream_writeable(lq_server *srv, svc_api_req *r);
/* A message for the stream attached to session as (takes m). */
void api__stream_push(lq_server *srv, svc_api_session *as, ws_out *m);
/* The stream's session went away: finish the response. */
void api__stream_session_gone(lq_server *srv, svc_api_req *r);
void api__stream_free(api_stream *st);

#endif
