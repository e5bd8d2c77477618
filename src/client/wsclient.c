/* wsclient.c - WebSocket client connections on one lws context (see wsclient.h). */
#include "client/wsclient.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"

#define TAG "client"
#define BEARER_MAX 256

enum conn_state { CONN_CONNECTING = 0, CONN_OPEN, CONN_CLOSING, CONN_CLOSED };

typedef struct out_msg {
    uint8_t *buf; /* LWS_PRE bytes of head room, then the payload */
    size_t cap;   /* payload capacity */
    size_t len;
    int binary;
    uint64_t tag;
} out_msg;

struct lq_client_conn {
    lq_client *cl;
    struct lws *wsi;
    void *user;
    enum conn_state state;
    int in_connect; /* inside lws_client_connect_via_info: report failures by return */
    int close_code; /* ours, sent when the queue is flushed */
    int peer_code;  /* from the peer's close frame, 0 if none */
    char peer_reason[124];
    char bearer[BEARER_MAX + 1];
    char host_hdr[LQ_CLIENT_HOST_MAX + 16];
    out_msg q[LQ_CLIENT_SEND_QUEUE];
    int q_head, q_count;
    uint8_t *rx;
    size_t rx_len, rx_cap;
    int rx_in_msg, rx_binary;
};

struct lq_client_timer {
    lws_sorted_usec_list_t sul; /* first member: lws_container_of */
    lq_client *cl;
    void (*fn)(void *user);
    void *user;
    lq_client_timer *next;
};

struct lq_client {
    struct lws_context *ctx;
    lq_client_opts opts;
    lq_client_events ev;
    lq_client_conn **conns;
    int nconns;
    lq_client_timer *timers;
    int destroying;
};

static void lws_log_bridge(int level, const char *line)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", line);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    if (level & LLL_ERR)
        LQ_WARN("lws", "%s", buf);
    else
        LQ_DEBUG("lws", "%s", buf);
}

/* The connection is over: report once (unless the client is being destroyed
 * or the failure is reported by lq_client_connect's return). */
static void conn_finish(lq_client_conn *c, int code, const char *reason)
{
    if (c->state == CONN_CLOSED)
        return;
    c->state = CONN_CLOSED;
    c->wsi = NULL;
    c->q_count = 0;
    c->rx_in_msg = 0;
    if (c->in_connect || c->cl->destroying)
        return;
    if (c->cl->ev.on_close)
        c->cl->ev.on_close(c, c->user, code, reason ? reason : "");
}

static int on_receive(lq_client_conn *c, struct lws *wsi, const uint8_t *in, size_t len)
{
    if (!c->rx_in_msg) {
        c->rx_in_msg = 1;
        c->rx_len = 0;
        c->rx_binary = lws_frame_is_binary(wsi);
    }
    if (len > c->cl->opts.max_message - c->rx_len) {
        LQ_WARN(TAG, "a message of more than %zu bytes arrived: closing the connection",
                c->cl->opts.max_message);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        conn_finish(c, LQ_ELIMIT, "message over the size limit");
        return -1;
    }
    if (c->rx_len + len > c->rx_cap) {
        size_t nc = c->rx_cap ? c->rx_cap : 64 * 1024;
        while (nc < c->rx_len + len)
            nc *= 2;
        if (nc > c->cl->opts.max_message)
            nc = c->cl->opts.max_message;
        uint8_t *nb = realloc(c->rx, nc);
        if (!nb) {
            conn_finish(c, LQ_ENOMEM, "out of memory receiving a message");
            return -1;
        }
        c->rx = nb;
        c->rx_cap = nc;
    }
    if (len)
        memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
        c->rx_in_msg = 0;
        if (c->cl->ev.on_message && c->state != CONN_CLOSED)
            c->cl->ev.on_message(c, c->user, c->rx_binary, c->rx, c->rx_len);
        c->rx_len = 0;
    }
    return 0;
}

static int on_writeable(lq_client_conn *c, struct lws *wsi)
{
    if (lws_partial_buffered(wsi)) {
        lws_callback_on_writable(wsi); /* come back when lws has flushed it */
        return 0;
    }
    if (c->q_count > 0) {
        out_msg *m = &c->q[c->q_head];
        const uint64_t t = lq_clock_ns();
        int n =
            lws_write(wsi, m->buf + LWS_PRE, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        if (n < 0) {
            conn_finish(c, LQ_EIO, "write failed");
            return -1;
        }
        const uint64_t tag = m->tag;
        c->q_head = (c->q_head + 1) % LQ_CLIENT_SEND_QUEUE;
        c->q_count--;
        if (c->q_count > 0 || c->state == CONN_CLOSING || lws_partial_buffered(wsi))
            lws_callback_on_writable(wsi);
        if (c->cl->ev.on_sent)
            c->cl->ev.on_sent(c, c->user, tag, t);
        return 0;
    }
    if (c->state == CONN_CLOSING) {
        lws_close_reason(wsi, (enum lws_close_status)c->close_code, NULL, 0);
        return -1; /* lws sends the close frame; CLIENT_CLOSED follows */
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    (void)user;
    lq_client_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (c && c->bearer[0]) {
            unsigned char **p = (unsigned char **)in, *end = (*p) + len;
            char v[BEARER_MAX + 16];
            snprintf(v, sizeof v, "Bearer %s", c->bearer);
            if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
                                             (const unsigned char *)v, (int)strlen(v), p, end))
                return -1;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (c) {
            char why[160];
            snprintf(why, sizeof why, "connection failed: %s", in ? (const char *)in : "unknown");
            conn_finish(c, LQ_EIO, why);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (c && c->state == CONN_CONNECTING) {
            c->state = CONN_OPEN;
            if (c->cl->ev.on_open)
                c->cl->ev.on_open(c, c->user);
            if (c->q_count > 0 || c->state == CONN_CLOSING)
                lws_callback_on_writable(wsi);
        }
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (!c || c->state == CONN_CLOSED)
            return -1;
        return on_receive(c, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (!c || c->state == CONN_CLOSED)
            return -1;
        return on_writeable(c, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c && in && len >= 2) {
            const uint8_t *b = in;
            c->peer_code = (b[0] << 8) | b[1];
            size_t rl = len - 2 < sizeof c->peer_reason - 1 ? len - 2 : sizeof c->peer_reason - 1;
            memcpy(c->peer_reason, b + 2, rl);
            c->peer_reason[rl] = 0;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c) {
            int code = c->peer_code               ? c->peer_code
                       : c->state == CONN_CLOSING ? c->close_code
                                                  : LWS_CLOSE_STATUS_ABNORMAL_CLOSE;
            conn_finish(c, code, c->peer_reason);
        }
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (c) {
            conn_finish(c, LQ_EIO, "connection lost");
            lws_set_opaque_user_data(wsi, NULL);
        }
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {"lacquer-client", callback, 0, 64 * 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

int lq_client_create(const lq_client_opts *opts, const lq_client_events *ev, lq_client **out)
{
    if (!opts || !ev || !out || opts->max_message < 1024 || opts->max_message > ((size_t)1 << 30) ||
        opts->connect_timeout_s < 1 || opts->connect_timeout_s > 600 || opts->max_connections < 1 ||
        opts->max_connections > LQ_CLIENT_MAX_CONNECTIONS)
        return LQ_EINVAL;
    lq_client *cl = calloc(1, sizeof *cl);
    if (!cl)
        return LQ_ENOMEM;
    cl->conns = calloc((size_t)opts->max_connections, sizeof *cl->conns);
    if (!cl->conns) {
        free(cl);
        return LQ_ENOMEM;
    }
    cl->opts = *opts;
    cl->ev = *ev;
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = cl;
    info.count_threads = 1;
    info.pt_serv_buf_size = 64 * 1024;
    info.timeout_secs = (unsigned)opts->connect_timeout_s;
    info.connect_timeout_secs = (unsigned)opts->connect_timeout_s;
    info.fd_limit_per_thread = (unsigned)opts->max_connections + 16;
    cl->ctx = lws_create_context(&info);
    if (!cl->ctx) {
        LQ_ERROR(TAG, "cannot create the libwebsockets context");
        free(cl->conns);
        free(cl);
        return LQ_EINTERNAL;
    }
    *out = cl;
    return 0;
}

void lq_client_destroy(lq_client *cl)
{
    if (!cl)
        return;
    cl->destroying = 1;
    for (lq_client_timer *t = cl->timers; t; t = t->next)
        lws_sul_cancel(&t->sul);
    lws_context_destroy(cl->ctx);
    for (int i = 0; i < cl->nconns; i++) {
        lq_client_conn *c = cl->conns[i];
        for (int k = 0; k < LQ_CLIENT_SEND_QUEUE; k++)
            free(c->q[k].buf);
        free(c->rx);
        free(c);
    }
    while (cl->timers) {
        lq_client_timer *t = cl->timers;
        cl->timers = t->next;
        free(t);
    }
    free(cl->conns);
    free(cl);
}

int lq_client_connect(lq_client *cl, const lq_client_url *url, const char *bearer, void *user,
                      lq_client_conn **out)
{
    if (!cl || !url || !out || (bearer && strlen(bearer) > BEARER_MAX))
        return LQ_EINVAL;
    if (cl->nconns >= cl->opts.max_connections)
        return LQ_EBUSY;
    lq_client_conn *c = calloc(1, sizeof *c);
    if (!c)
        return LQ_ENOMEM;
    c->cl = cl;
    c->user = user;
    if (bearer)
        snprintf(c->bearer, sizeof c->bearer, "%s", bearer);
    const int v6 = strchr(url->host, ':') != NULL;
    if (url->port == 80)
        snprintf(c->host_hdr, sizeof c->host_hdr, v6 ? "[%s]" : "%s", url->host);
    else
        snprintf(c->host_hdr, sizeof c->host_hdr, v6 ? "[%s]:%d" : "%s:%d", url->host, url->port);
    /* Kept even if the connection fails: lws may still hold the pointer. */
    cl->conns[cl->nconns++] = c;

    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = cl->ctx;
    ci.address = url->host;
    ci.port = url->port;
    ci.path = url->path;
    ci.host = c->host_hdr;
    ci.origin = c->host_hdr;
    ci.protocol = NULL; /* no subprotocol */
    ci.local_protocol_name = protocols[0].name;
    ci.ietf_version_or_minus_one = -1;
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    c->in_connect = 1;
    struct lws *wsi = lws_client_connect_via_info(&ci);
    c->in_connect = 0;
    if (!wsi || c->state == CONN_CLOSED) {
        c->state = CONN_CLOSED;
        c->wsi = NULL;
        LQ_WARN(TAG, "cannot start a connection to %s:%d", url->host, url->port);
        return LQ_EIO;
    }
    c->wsi = wsi;
    *out = c;
    return 0;
}

int lq_client_send(lq_client_conn *c, int binary, const void *head, size_t head_len,
                   const void *body, size_t body_len, uint64_t tag)
{
    if (!c || (head_len && !head) || (body_len && !body))
        return LQ_EINVAL;
    if (c->state != CONN_OPEN && c->state != CONN_CONNECTING)
        return LQ_ECLOSED;
    if (head_len > LQ_CLIENT_MAX_SEND || body_len > LQ_CLIENT_MAX_SEND - head_len)
        return LQ_ELIMIT;
    if (c->q_count >= LQ_CLIENT_SEND_QUEUE)
        return LQ_EBUSY;
    out_msg *m = &c->q[(c->q_head + c->q_count) % LQ_CLIENT_SEND_QUEUE];
    const size_t len = head_len + body_len;
    if (m->cap < len || !m->buf) {
        uint8_t *nb = realloc(m->buf, LWS_PRE + len + 1);
        if (!nb)
            return LQ_ENOMEM;
        m->buf = nb;
        m->cap = len;
    }
    if (head_len)
        memcpy(m->buf + LWS_PRE, head, head_len);
    if (body_len)
        memcpy(m->buf + LWS_PRE + head_len, body, body_len);
    m->len = len;
    m->binary = binary;
    m->tag = tag;
    c->q_count++;
    if (c->state == CONN_OPEN && c->wsi)
        lws_callback_on_writable(c->wsi);
    return 0;
}

int lq_client_conn_pending(const lq_client_conn *c)
{
    if (!c || c->state == CONN_CLOSED)
        return 0;
    return c->q_count + (c->wsi && c->state != CONN_CONNECTING && lws_partial_buffered(c->wsi));
}

int lq_client_conn_is_open(const lq_client_conn *c)
{
    return c && c->state == CONN_OPEN;
}

void lq_client_conn_close(lq_client_conn *c, int code)
{
    if (!c || c->state == CONN_CLOSED || c->state == CONN_CLOSING)
        return;
    if (code < 1000 || code > 4999)
        code = LWS_CLOSE_STATUS_NORMAL;
    c->close_code = code;
    const int was_open = c->state == CONN_OPEN;
    c->state = CONN_CLOSING;
    if (c->wsi) {
        if (was_open) {
            lws_callback_on_writable(c->wsi);
        } else {
            /* Still connecting: drop it without a handshake. */
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        }
    }
}

int lq_client_service(lq_client *cl)
{
    if (!cl)
        return LQ_EINVAL;
    return lws_service(cl->ctx, 0) < 0 ? LQ_EINTERNAL : 0;
}

void lq_client_wake(lq_client *cl)
{
    if (cl && cl->ctx)
        lws_cancel_service(cl->ctx);
}

static void timer_cb(lws_sorted_usec_list_t *sul)
{
    lq_client_timer *t = lws_container_of(sul, lq_client_timer, sul);
    t->fn(t->user);
}

int lq_client_timer_create(lq_client *cl, void (*fn)(void *user), void *user, lq_client_timer **out)
{
    if (!cl || !fn || !out)
        return LQ_EINVAL;
    lq_client_timer *t = calloc(1, sizeof *t);
    if (!t)
        return LQ_ENOMEM;
    t->cl = cl;
    t->fn = fn;
    t->user = user;
    t->next = cl->timers;
    cl->timers = t;
    *out = t;
    return 0;
}

void lq_client_timer_at(lq_client_timer *t, uint64_t at_ns)
{
    const uint64_t now = lq_clock_ns();
    const lws_usec_t us = at_ns > now ? (lws_usec_t)((at_ns - now) / 1000u) : 0;
    lws_sul_schedule(t->cl->ctx, 0, &t->sul, timer_cb, us);
}

void lq_client_timer_cancel(lq_client_timer *t)
{
    if (t)
        lws_sul_cancel(&t->sul);
}
