/*
 * wsclient.h - many WebSocket client connections on one libwebsockets loop.
 *
 *   static const lq_client_events ev = {on_open, on_message, on_sent, on_close};
 *   lq_client *cl;
 *   lq_client_create(&opts, &ev, &cl);
 *   lq_client_conn *c;
 *   lq_client_connect(cl, &url, NULL, my_session, &c);     // on_open follows
 *   lq_client_send(c, 0, json, strlen(json), NULL, 0, tag); // queued; on_sent(tag) later
 *   while (!done) lq_client_service(cl);                  // runs callbacks and timers
 *   lq_client_destroy(cl);
 *
 * One lws context (no listening socket) carries every connection; the caller
 * drives it from one thread with lq_client_service(), and every callback and
 * timer runs on that thread, inside lq_client_service(). No function here may
 * be called from another thread, except lq_client_wake().
 *
 * Ownership: the client owns its connections; a connection stays valid (its
 * memory, not its socket) until lq_client_destroy(), so a caller may keep
 * pointers to closed connections. Messages passed to lq_client_send() are
 * copied (the WebSocket client masks its payload in place, so it cannot send
 * from shared memory); each connection reuses its copy buffers, so a steady
 * stream of same-size frames stops allocating after the first few.
 *
 * Failure: a connection that cannot be made, is refused, or breaks reports
 * on_close with a negative LQ_E* code (and a reason); a WebSocket close
 * reports the peer's close code (1006 when there was none). on_close runs
 * exactly once per connection for which lq_client_connect() succeeded, and
 * nothing runs for that connection after it. An incoming message over
 * opts.max_message closes the connection (1009) with LQ_ELIMIT.
 */
#ifndef LQ_CLIENT_WSCLIENT_H
#define LQ_CLIENT_WSCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "client/url.h"

typedef struct lq_client lq_client;
typedef struct lq_client_conn lq_client_conn;
typedef struct lq_client_timer lq_client_timer;

typedef struct lq_client_events {
    /* The WebSocket handshake completed. */
    void (*on_open)(lq_client_conn *c, void *user);
    /* One complete message (fragments joined). data is valid during the call. */
    void (*on_message)(lq_client_conn *c, void *user, int binary, const uint8_t *data, size_t len);
    /* The message queued with this tag was handed to the socket (or to lws's
     * buffer when the socket took only part of it); at_ns is lq_clock_ns()
     * just before the write. */
    void (*on_sent)(lq_client_conn *c, void *user, uint64_t tag, uint64_t at_ns);
    /* The connection is gone: code is a close code (1000...), or a negative
     * LQ_E* when the connection failed; reason may be "" but never NULL. */
    void (*on_close)(lq_client_conn *c, void *user, int code, const char *reason);
} lq_client_events;

typedef struct lq_client_opts {
    size_t max_message;    /* largest incoming message, bytes (1 KiB .. 1 GiB) */
    int connect_timeout_s; /* TCP connect + handshake, 1..600 */
    int max_connections;   /* 1..LQ_CLIENT_MAX_CONNECTIONS */
} lq_client_opts;

#define LQ_CLIENT_MAX_CONNECTIONS 1024
#define LQ_CLIENT_OPTS_DEFAULT                                                                     \
    {                                                                                              \
        (size_t)32 << 20, 10, 256                                                                  \
    }
/* Messages one connection may have queued and not yet written. */
#define LQ_CLIENT_SEND_QUEUE 8
/* Largest outgoing message (head + body). */
#define LQ_CLIENT_MAX_SEND ((size_t)1 << 30)

/* LQ_EINVAL for options out of range, LQ_EINTERNAL if lws cannot start. */
int lq_client_create(const lq_client_opts *opts, const lq_client_events *ev,
                     lq_client **out) LQ_NODISCARD;
/* Closes every connection at once (no callbacks run) and frees everything. */
void lq_client_destroy(lq_client *cl);

/* Starts connecting to url (ws:// only). bearer (may be NULL) is sent as
 * "Authorization: Bearer <bearer>" (at most 256 bytes). user is passed to the
 * events. LQ_EBUSY when opts.max_connections are already made; LQ_EIO if
 * lws refuses at once (then no on_close runs). */
int lq_client_connect(lq_client *cl, const lq_client_url *url, const char *bearer, void *user,
                      lq_client_conn **out) LQ_NODISCARD;

/* Queues one message: head then body (either may be empty) as one text
 * (binary 0) or binary message. Both are copied. LQ_ECLOSED when the
 * connection is not open (or closing), LQ_EBUSY when LQ_CLIENT_SEND_QUEUE
 * messages wait already, LQ_ELIMIT over LQ_CLIENT_MAX_SEND, LQ_ENOMEM. */
int lq_client_send(lq_client_conn *c, int binary, const void *head, size_t head_len,
                   const void *body, size_t body_len, uint64_t tag) LQ_NODISCARD;

/* Messages queued and not yet handed to the socket, plus one while lws still
 * holds part of a written message. 0 means a new frame would go out at once. */
int lq_client_conn_pending(const lq_client_conn *c);

/* 1 between on_open and on_close (and before lq_client_conn_close). */
int lq_client_conn_is_open(const lq_client_conn *c);

/* Closes with the close code (1000..4999) once the queued messages are
 * written; on_close follows. Does nothing on a closed connection. */
void lq_client_conn_close(lq_client_conn *c, int code);

/* Runs the loop once: waits for network events or the next timer, then runs
 * their callbacks. Returns 0, or LQ_EINTERNAL if lws failed. */
int lq_client_service(lq_client *cl) LQ_NODISCARD;

/* Makes a blocked lq_client_service() return soon. Safe from any thread and
 * from a signal handler. */
void lq_client_wake(lq_client *cl);

/* Timers: fn(user) runs on the loop thread at (or just after) at_ns on the
 * lq_clock_ns() clock; scheduling again moves it, cancel removes it. Timers
 * are freed with the client. */
int lq_client_timer_create(lq_client *cl, void (*fn)(void *user), void *user,
                           lq_client_timer **out) LQ_NODISCARD;
void lq_client_timer_at(lq_client_timer *t, uint64_t at_ns);
void lq_client_timer_cancel(lq_client_timer *t);

#endif
