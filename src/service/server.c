/*
 * server.c - the event loop: libwebsockets context, vhosts, HTTP routes and
 * the /ws/tryon protocol (see server.h and docs/protocol.md).
 *
 * Everything here runs on the loop thread. Frames go to the worker pool and
 * come back through svc_workers_take() after lws_cancel_service() wakes the
 * loop (LWS_CALLBACK_EVENT_WAIT_CANCELLED). Replies are queued per
 * connection and written only from LWS_CALLBACK_SERVER_WRITEABLE.
 * Connections are freed only in their LWS_CALLBACK_CLOSED; a session whose
 * frame is still at a worker is marked closed and freed when it comes back.
 */
#include "service/server.h"
#include "service/server_internal.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "image/codec.h"
#include "nails/design.h"
#include "service/fetch.h"
#include "service/httpapi.h"
#include "service/job.h"
#include "service/metrics.h"
#include "service/outq.h"
#include "service/protocol.h"
#include "service/session.h"
#include "service/transport.h"
#include "service/workers.h"
#include "tryon/tryon.h"

#define TAG SVC_TAG
#define TICK_US (100 * LWS_US_PER_MS)
#define WS_PATH SVC_WS_PATH

static void lws_log_bridge(int level, const char *line)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", line);
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (level & LLL_ERR)
        LQ_ERROR("lws", "%s", buf);
    else if (level & LLL_WARN)
        LQ_WARN("lws", "%s", buf);
    else
        LQ_DEBUG("lws", "%s", buf);
}

/* ------------------------------------------------------------------ */
/* output                                                              */

lq_server *svc__server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

void svc__conn_push(lq_server *srv, svc_conn *c, ws_out *m)
{
    if (!m) {
        LQ_ERROR(TAG, "out of memory building a reply");
        return;
    }
    if (!c || c->closing == 2) { /* already closed for writing */
        ws_out_free(m);
        return;
    }
    if (c->api) { /* an HTTP API session (httpapi.c) */
        svc__api_deliver(srv, c, m);
        return;
    }
    srv->metrics.bytes_out += m->len;
    if (m->kind == WS_OUT_CONTROL)
        c->ctrl_bytes += m->len;
    ws_outq_push(&c->outq, m);
    /* Backpressure: stop reading from a client that does not read. */
    if (!c->rx_paused && c->outq.bytes > (size_t)srv->cfg.output_queue_max) {
        c->rx_paused = 1;
        lws_rx_flow_control(c->wsi, 0);
        LQ_WARN(TAG, "output queue over %lld bytes: pausing reads from this client",
                (long long)srv->cfg.output_queue_max);
    }
    /* Reads pause at OUTPUT_QUEUE_MAX; after that, control messages pile up
     * only from the rest of the last read buffer and from timers (stats) for
     * a client that never reads: past twice the cap, give up on it. */
    if (c->ctrl_bytes > 2 * (size_t)srv->cfg.output_queue_max && !c->closing) {
        c->closing = 1;
        c->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
        snprintf(c->close_reason, sizeof c->close_reason, "client is not reading");
    }
    lws_callback_on_writable(c->wsi);
}

void svc__conn_error(lq_server *srv, svc_conn *c, const char *sid, int has_seq, int64_t seq,
                       ws_error_code code, const char *msg)
{
    if (code >= 0 && code < WS_ERR_COUNT)
        srv->metrics.errors[code]++;
    svc__conn_push(srv, c, ws_build_error(sid, has_seq, seq, code, msg, lq_clock_epoch_ms()));
}

void svc__conn_close(svc_conn *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    if (c->wsi) /* an HTTP API session has none: its tick sees closing */
        lws_callback_on_writable(c->wsi);
}

/* ------------------------------------------------------------------ */
/* timers and shutdown                                                 */

static void begin_shutdown(lq_server *srv)
{
    srv->stopping = 1;
    srv->stop_ns = lq_clock_ns();
    LQ_INFO(TAG, "shutting down: no new connections; finishing %d queued frames",
            svc_workers_pending(srv->workers));
    /* New TCP connections are refused from now on (FILTER_NETWORK_CONNECTION
     * closes them at once). lws_context_deprecate() would close the listening
     * sockets instead, but in lws 4.1.6 it reads a freed wsi and crashes. */
    for (svc_conn *c = srv->conns; c; c = c->next) {
        if (c->session && c->session->state == SVC_SESSION_READY)
            c->session->state = SVC_SESSION_DRAINING;
        else if (c->session && c->session->state == SVC_SESSION_PENDING && !c->session->in_flight) {
            svc_session *s = c->session; /* do not wait for its reference any longer */
            if (s->fetch_id && srv->fetcher)
                (void)lq_fetcher_cancel(srv->fetcher, s->fetch_id);
            s->fetch_id = 0;
            snprintf(s->reference_status, sizeof s->reference_status, "cancelled");
            svc__session_ready(srv, s);
        }
    }
}

/* During shutdown: closes sessions whose accepted frames are all answered. */
static void shutdown_progress(lq_server *srv, uint64_t now)
{
    double waited = (double)(now - srv->stop_ns) / 1e9;
    int force = waited > srv->cfg.shutdown_timeout;
    for (svc_conn *c = srv->conns; c; c = c->next) {
        svc_session *s = c->session;
        if (s && (force || (!s->in_flight && svc_session_waiting(s) == 0)))
            svc__session_close(srv, s, "close_session", "server_shutdown");
        if (!c->session)
            svc__conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    }
    if ((!srv->conns && svc_workers_pending(srv->workers) == 0 && !svc__api_busy(srv)) ||
        waited > srv->cfg.shutdown_timeout + 2.0)
        srv->finished = 1;
}

static void tick(lws_sorted_usec_list_t *sul)
{
    lq_server *srv = lws_container_of(sul, lq_server, tick);
    uint64_t now = lq_clock_ns();
    if (srv->stop_requested && !srv->stopping)
        begin_shutdown(srv);
    uint64_t idle = (uint64_t)(srv->cfg.idle_timeout * 1e9);
    uint64_t every = (uint64_t)(srv->cfg.stats_interval * 1e9);
    uint64_t deadline = (uint64_t)srv->cfg.frame_deadline_ms * 1000000ull;
    for (svc_conn *c = srv->conns; c; c = c->next) {
        svc_session *s = c->session;
        if (c->closing == 1 && c->wsi && c->access.linger_until_ns &&
            !svc__access_lingering(c, now))
            lws_callback_on_writable(c->wsi); /* a refused connection's linger is over */
        /* Idle means the client is silent while the service owes it nothing
         * (svc_session_idle: no reference photo or frame being worked on). */
        if (idle && !c->api && !c->closing &&
            (s ? svc_session_idle(s, c->last_rx_ns, now, idle)
               : now > c->last_rx_ns && now - c->last_rx_ns > idle)) {
            if (s)
                svc__session_close(srv, s, "close_session", "timeout");
            svc__conn_close(c, LWS_CLOSE_STATUS_NORMAL, "idle timeout");
            continue;
        }
        if (!s)
            continue;
        if (every && s->state == SVC_SESSION_READY && now - s->last_stats_ns >= every)
            svc__send_stats(srv, s);
        if (deadline && !s->in_flight)
            svc__pump(srv, s); /* drops frames that expired while waiting */
    }
    svc__api_tick(srv, now); /* HTTP_SESSION_TIMEOUT, removed HTTP sessions */
    svc__free_dead_sessions(srv);
    if (srv->stopping)
        shutdown_progress(srv, now);
    if (srv->finished)
        lws_cancel_service(srv->ctx);
    else
        lws_sul_schedule(srv->ctx, 0, &srv->tick, tick, TICK_US);
}

/* ------------------------------------------------------------------ */
/* WebSocket connections                                               */

static void conn_opened(lq_server *srv, struct lws *wsi, svc_pss *pss)
{
    svc_conn *c = calloc(1, sizeof *c);
    if (!c) {
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        return;
    }
    c->wsi = wsi;
    c->srv = srv;
    c->last_rx_ns = lq_clock_ns();
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    pss->conn = c;
    srv->metrics.connections_total++;
    srv->metrics.connections_open++;
    svc__access_on_open(srv, c, wsi); /* per-address count, AUTH_MODE (access.c) */
    if (srv->stopping) {
        svc__conn_error(srv, c, NULL, 0, 0, WS_ERR_SHUTTING_DOWN, NULL);
        svc__conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    }
}

static void conn_closed(lq_server *srv, svc_pss *pss)
{
    svc_conn *c = pss->conn;
    if (!c)
        return;
    pss->conn = NULL;
    svc__access_on_close(srv, c);
    if (c->session)
        svc__session_close(srv, c->session, NULL, "user_disconnected");
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    srv->metrics.connections_open--;
    ws_outq_clear(&c->outq);
    free(c->rx);
    free(c);
}

static int conn_writeable(lq_server *srv, struct lws *wsi, svc_conn *c)
{
    ws_out *m = ws_outq_pop(&c->outq);
    if (m) {
        if (m->kind == WS_OUT_CONTROL)
            c->ctrl_bytes -= m->len;
        int n = lws_write(wsi, m->payload, m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        ws_out_free(m);
        if (n < 0)
            return -1;
    }
    if (c->rx_paused) {
        /* lws keeps the unsent part of a partial write in its own buffer:
         * resume reading only once that is flushed and our queue is low. */
        if (!lws_partial_buffered(wsi) && c->outq.bytes < (size_t)srv->cfg.output_queue_max / 2) {
            c->rx_paused = 0;
            lws_rx_flow_control(wsi, 1);
        } else if (!c->outq.head) {
            lws_callback_on_writable(wsi); /* come back when the partial write is out */
            return 0;
        }
    }
    if (c->outq.head) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->closing && svc__access_lingering(c, lq_clock_ns()))
        return 0; /* the timer tick asks for writable again when it ends (access.h) */
    if (c->closing) {
        c->closing = 2;
        lws_close_reason(wsi, (enum lws_close_status)c->close_code,
                         (unsigned char *)c->close_reason, strlen(c->close_reason));
        return -1;
    }
    return 0;
}

static int on_filter(lq_server *srv, struct lws *wsi)
{
    if (srv->stopping || lws_get_vhost(wsi) != srv->vh_main)
        return 1;
    char uri[128];
    if (lws_hdr_copy(wsi, uri, (int)sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return 1;
    if (strcmp(uri, WS_PATH) != 0 && strcmp(uri, WS_PATH "/") != 0) {
        LQ_INFO(TAG, "WebSocket upgrade refused for path %s (use " WS_PATH ")", uri);
        return 1;
    }
    return 0;
}

/* A client's close frame, before lws echoes it. lws 4.1.6 answers codes it
 * knows to be invalid with 1002 but echoes 5000 and up (RFC 6455 7.4.2: not a
 * valid code either) and a 1-byte body (a code is 2 bytes). Returns -1 to
 * drop the connection without echoing. */
static int peer_close_checked(void *in, size_t len)
{
    unsigned char *p = in;
    if (len == 1)
        return -1;
    if (len >= 2 && ((unsigned)p[0] << 8 | p[1]) >= 5000) {
        p[0] = LWS_CLOSE_STATUS_PROTOCOL_ERR >> 8;
        p[1] = LWS_CLOSE_STATUS_PROTOCOL_ERR & 0xff;
    }
    return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    lq_server *srv = svc__server_of(wsi);
    svc_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return srv && srv->stopping ? 1 : 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        /* Origin and per-address limits, answered with an HTTP status (access.c) */
        if (srv && !srv->stopping && in && strcasecmp((const char *)in, "websocket") == 0)
            return svc__access_confirm_upgrade(srv, wsi);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_filter(srv, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        conn_opened(srv, wsi, pss);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (pss && pss->conn)
            svc__on_receive(srv, pss->conn, wsi, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss && pss->conn ? conn_writeable(srv, wsi, pss->conn) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        return peer_close_checked(in, len);
    case LWS_CALLBACK_CLOSED:
        if (pss)
            conn_closed(srv, pss);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv)
            svc__access_dispatch(srv); /* token lookups that finished (redis) */
        if (srv && srv->workers) {
            svc__drain_results(srv);
            if (srv->fetcher)
                lq_fetcher_dispatch(srv->fetcher);
        }
        return 0;
    case LWS_CALLBACK_HTTP:
        return svc__http_request(srv, wsi, pss, (const char *)in) < 0 ? -1 : 0;
    case LWS_CALLBACK_HTTP_BODY: /* the HTTP API (httpapi.c) */
        return pss && pss->api ? svc__api_body(srv, pss, in, len) : 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss && pss->api)
            return svc__api_body_done(srv, pss);
        /* A request body we ignore (POST /health): the dummy handler would end
         * the transaction now, before our reply's body is written, and lws
         * would then free pss with it (the client waited for a body that never
         * came, the server leaked it). Write the reply now, which ends it. */
        if (pss && pss->http_body)
            return svc__http_writeable(wsi, pss);
        break;
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL: /* pss is about to be freed by lws */
        if (pss && !pss->api) {
            free(pss->http_body);
            pss->http_body = NULL;
        }
        /* lws 4.1.6 spins for ever (the whole event loop, SIGTERM included)
         * on a pipelined HTTP/1.1 request that has a body ("GET /health ...
         * POST /health ... Content-Length: 1"). The request after a completed
         * transaction is only read if lws can rebind the protocol for it:
         * refusing that rebind closes the connection instead. So one request
         * per HTTP/1.1 connection; HTTP/2 streams are not rebound. */
        if (srv && in && strcmp((const char *)in, "lws_http_transaction_completed") == 0)
            srv->no_rebind = wsi;
        break;
    case LWS_CALLBACK_HTTP_BIND_PROTOCOL:
        if (srv && srv->no_rebind == wsi) {
            srv->no_rebind = NULL;
            return -1;
        }
        break;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (pss && pss->api)
            return svc__api_writeable(srv, pss);
        return svc__http_writeable(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (pss && pss->api)
            svc__api_closed(srv, pss);
        if (pss) {
            free(pss->http_body);
            pss->http_body = NULL;
        }
        return 0;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"lacquer-tryon", callback, sizeof(svc_pss), 64 * 1024, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ------------------------------------------------------------------ */
/* life cycle                                                          */

static void notify_loop(void *ud)
{
    lws_cancel_service((struct lws_context *)ud);
}

/* A frame's models run on all INFERENCE_THREADS only while its worker is the
 * only busy one: a lone session gets its frames back sooner, and under load
 * each frame keeps to one core (threads that wait on each other would cost
 * throughput). Asked before each model inference. */
static int parallel_gate(void *ud)
{
    lq_server *srv = ud;
    return atomic_load_explicit(&srv->busy_workers, memory_order_relaxed) <= 1;
}

static int worker_init(void *ud, void **ctx)
{
    lq_server *srv = ud;
    svc_job_ctx *jc = calloc(1, sizeof *jc);
    if (!jc)
        return LQ_ENOMEM;
    int rc = lq_tryon_worker_create(srv->engine, &jc->worker);
    if (rc < 0) {
        free(jc);
        return rc;
    }
    lq_tryon_worker_set_gate(jc->worker, parallel_gate, srv);
    jc->busy = &srv->busy_workers;
    *ctx = jc;
    return 0;
}

static void worker_fini(void *ud, void *ctx)
{
    svc_job_ctx *jc = ctx;
    if (!jc)
        return;
    lq_tryon_worker_destroy(jc->worker);
    svc_job_ctx_release(jc);
    free(jc);
}

static void worker_run(svc_job *j, void *ctx)
{
    svc_job_ctx *jc = ctx;
    atomic_fetch_add_explicit(jc->busy, 1, memory_order_relaxed);
    svc_job_run(j, jc);
    atomic_fetch_sub_explicit(jc->busy, 1, memory_order_relaxed);
}

static void worker_notify(void *ud)
{
    lq_server *srv = ud;
    if (srv->ctx)
        lws_cancel_service(srv->ctx);
}

static void errf(char *err, size_t errlen, const char *fmt, ...) LQ_PRINTF(3, 4);

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static struct lws_vhost *make_vhost(lq_server *srv, const char *name, int port, char *err,
                                    size_t errlen)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = name;
    info.port = port;
    const char *host = srv->cfg.ws_host;
    info.iface = (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0) ? NULL : host;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    svc_transport_vhost(&srv->cfg, name, &info); /* TLS + ALPN, or h2c (transport.c) */
    if (srv->cfg.ping_interval > 0) {
        srv->retry.secs_since_valid_ping = (uint16_t)srv->cfg.ping_interval;
        srv->retry.secs_since_valid_hangup = (uint16_t)(srv->cfg.ping_interval * 3 + 5);
        info.retry_and_idle_policy = &srv->retry;
    }
    struct lws_vhost *vh = lws_create_vhost(srv->ctx, &info);
    if (!vh)
        errf(err, errlen, "cannot listen on %s:%d (%s): address in use or not available", host,
             port, name);
    return vh;
}

int lq_server_create(const lq_config *cfg, lq_server **out, char *err, size_t errlen)
{
    char verr[256];
    if (lq_config_validate(cfg, verr, sizeof verr) < 0) {
        errf(err, errlen, "%s", verr);
        return LQ_EINVAL;
    }
    lq_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        errf(err, errlen, "out of memory");
        return LQ_ENOMEM;
    }
    srv->cfg = *cfg;
    srv->started_ns = lq_clock_ns();
    srv->limits = (ws_limits){
        .max_width = cfg->max_frame_width,
        .max_height = cfg->max_frame_height,
        .max_frame_bytes = (size_t)cfg->ws_max_message_size,
        .default_fps = cfg->target_fps,
        .max_fps = cfg->target_fps,
        .max_hands = cfg->max_hands,
        .segmentation = cfg->nail_segmentation,
        .outline = cfg->nail_outline,
    };

    /* Models: MODEL_PATH may name a file (as in the guide); use its folder. */
    char models[LQ_CONFIG_PATH_MAX];
    snprintf(models, sizeof models, "%s", cfg->model_path);
    struct stat st;
    if (stat(models, &st) == 0 && S_ISREG(st.st_mode)) {
        char *slash = strrchr(models, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(models, sizeof models, ".");
        LQ_WARN(TAG, "MODEL_PATH names a file; loading the models from its folder %s", models);
    }
    char eerr[256] = "";
    lq_tryon_engine_opts eo = {.models_dir = models,
                               .load_lite = 1,
                               .worker_threads = lq_config_inference_threads(cfg)};
    int rc = lq_tryon_engine_create(&eo, &srv->engine, eerr, sizeof eerr);
    if (rc < 0) {
        errf(err, errlen, "cannot load the models from %s: %s", models,
             eerr[0] ? eerr : lq_strerror(rc));
        lq_server_destroy(srv);
        return rc;
    }

    rc = svc_transport_check(cfg, err, errlen);
    if (rc == 0)
        rc = svc__api_create(srv);
    if (rc < 0) {
        if (rc == LQ_ENOMEM)
            errf(err, errlen, "out of memory");
        lq_server_destroy(srv);
        return rc;
    }

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    /* lws 4.1.6 reads VALIDATE_UTF8 from the context's options only (the
     * vhost's copy is ignored): without it, text messages and close reasons
     * with invalid UTF-8 reached the parser instead of failing with 1007. */
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6 |
                   LWS_SERVER_OPTION_VALIDATE_UTF8;
    svc_transport_context(cfg, &info);
    info.user = srv;
    info.count_threads = 1;
    info.pt_serv_buf_size = 64 * 1024;
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        errf(err, errlen, "cannot create the libwebsockets context");
        lq_server_destroy(srv);
        return LQ_EINTERNAL;
    }
    srv->vh_main = make_vhost(srv, SVC_VHOST_MAIN, cfg->ws_port, err, errlen);
    if (!srv->vh_main) {
        lq_server_destroy(srv);
        return LQ_EIO;
    }
    if (cfg->enable_metrics && cfg->metrics_port) {
        srv->vh_metrics = make_vhost(srv, "metrics", cfg->metrics_port, err, errlen);
        if (!srv->vh_metrics) {
            lq_server_destroy(srv);
            return LQ_EIO;
        }
    }
    if (cfg->h2c_port) {
        srv->vh_h2c = make_vhost(srv, SVC_VHOST_H2C, cfg->h2c_port, err, errlen);
        if (!srv->vh_h2c) {
            lq_server_destroy(srv);
            return LQ_EIO;
        }
    }

    int nworkers = lq_config_workers(cfg);
    svc_workers_opts wo = {
        .threads = nworkers,
        .thread_init = worker_init,
        .thread_fini = worker_fini,
        .run = worker_run,
        .notify = worker_notify,
        .ud = srv,
    };
    rc = svc_workers_create(&wo, &srv->workers);
    if (rc < 0) {
        errf(err, errlen, "cannot start %d worker threads: %s", nworkers, lq_strerror(rc));
        lq_server_destroy(srv);
        return rc;
    }
    svc_metrics_init(&srv->metrics, nworkers, lq_clock_epoch_ms());

    lq_fetch_options fo;
    lq_fetch_options_default(&fo);
    fo.max_body_bytes = (size_t)cfg->fetch_max_bytes;
    fo.max_redirects = cfg->fetch_max_redirects;
    fo.timeout_ms = cfg->fetch_timeout_ms;
    if (fo.connect_timeout_ms > cfg->fetch_timeout_ms)
        fo.connect_timeout_ms = cfg->fetch_timeout_ms;
    fo.cache_max_entries = (size_t)cfg->fetch_cache_entries;
    fo.cache_max_bytes = (size_t)cfg->fetch_cache_bytes;
    fo.allowed_hosts = cfg->fetch_allow_hosts;
    fo.allow_private_addresses = cfg->fetch_allow_private;
    fo.notify = notify_loop;
    fo.notify_ud = srv->ctx;
    rc = svc__access_create(srv, err, errlen);
    if (rc < 0) {
        lq_server_destroy(srv);
        return rc;
    }
    rc = lq_fetcher_create(&fo, &srv->fetcher);
    if (rc < 0) {
        char ferr[256] = "";
        if (lq_fetch_options_validate(&fo, ferr, sizeof ferr) == 0)
            ferr[0] = '\0';
        errf(err, errlen, "cannot start the reference fetcher: %s",
             ferr[0] ? ferr : lq_strerror(rc));
        lq_server_destroy(srv);
        return rc;
    }

    lws_sul_schedule(srv->ctx, 0, &srv->tick, tick, TICK_US);
    LQ_INFO(TAG, "listening on %s://%s:%d" WS_PATH " with %d workers, models from %s",
            svc_transport_tls(cfg) ? "wss" : "ws", cfg->ws_host,
            lws_get_vhost_listen_port(srv->vh_main), nworkers, models);
    if (svc_transport_tls(cfg))
        LQ_INFO(TAG, "TLS on port %d: https:// and wss://, ALPN " SVC_ALPN,
                lws_get_vhost_listen_port(srv->vh_main));
    if (srv->vh_h2c)
        LQ_INFO(TAG, "cleartext HTTP/2 (prior knowledge) on http://%s:%d/api/tryon/",
                cfg->ws_host, lws_get_vhost_listen_port(srv->vh_h2c));
    if (srv->vh_metrics)
        LQ_INFO(TAG, "metrics also on http://%s:%d/metrics", cfg->ws_host,
                lws_get_vhost_listen_port(srv->vh_metrics));
    *out = srv;
    return 0;
}

int lq_server_run(lq_server *srv)
{
    while (!srv->finished) {
        if (lws_service(srv->ctx, 0) < 0) {
            LQ_ERROR(TAG, "event loop failed");
            return LQ_EINTERNAL;
        }
        if (srv->stop_requested && !srv->stopping)
            begin_shutdown(srv);
    }
    LQ_INFO(TAG, "stopped after %.1f s", (double)(lq_clock_ns() - srv->started_ns) / 1e9);
    return 0;
}

void lq_server_request_stop(lq_server *srv)
{
    if (srv)
        srv->stop_requested = 1;
}

int lq_server_port(const lq_server *srv)
{
    return srv->vh_main ? lws_get_vhost_listen_port(srv->vh_main) : srv->cfg.ws_port;
}

void lq_server_destroy(lq_server *srv)
{
    if (!srv)
        return;
    /* 1. let the workers finish what they hold, delivering results to the
     *    connections that are still open (sessions then have nothing in flight);
     * 2. the fetcher (it notifies the context);
     * 3. the context: its CLOSED callbacks free connections and sessions;
     * 4. the idle workers, then the models. */
    if (srv->workers && srv->ctx) {
        for (int i = 0; i < 2000 && svc_workers_pending(srv->workers) > 0; i++) {
            svc__drain_results(srv);
            if (svc_workers_pending(srv->workers) > 0) {
                struct timespec ts = {0, 5 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        svc__drain_results(srv);
    }
    lq_fetcher_destroy(srv->fetcher);
    srv->fetcher = NULL;
    if (srv->ctx) {
        lws_sul_schedule(srv->ctx, 0, &srv->tick, NULL, LWS_SET_TIMER_USEC_CANCEL);
        struct lws_context *ctx = srv->ctx;
        svc__access_stop(srv); /* its lookup thread wakes the context: stop it first */
        lws_context_destroy(ctx);
        srv->ctx = NULL;
    }
    svc__api_destroy(srv); /* HTTP sessions; their requests went with the context */
    svc__free_dead_sessions(srv);
    svc_workers *w = srv->workers;
    srv->workers = NULL;
    svc_workers_destroy(w);
    lq_tryon_engine_destroy(srv->engine);
    svc__access_destroy(srv);
    free(srv);
}
