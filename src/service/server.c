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
#include "service/job.h"
#include "service/metrics.h"
#include "service/outq.h"
#include "service/protocol.h"
#include "service/session.h"
#include "service/workers.h"
#include "tryon/tryon.h"

#define TAG "service"
#define TICK_US (100 * LWS_US_PER_MS)
#define WS_PATH "/ws/tryon"

typedef struct svc_conn svc_conn;

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
} svc_pss;

struct lq_server {
    lq_config cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh_main, *vh_metrics;
    lws_retry_bo_t retry;
    lws_sorted_usec_list_t tick;
    lq_tryon_engine *engine;
    svc_workers *workers;
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
};

/* ------------------------------------------------------------------ */
/* logging                                                             */

static void log_session(enum lq_log_level level, const char *sid, const char *what,
                        const char *detail)
{
    if ((int)level < lq__log_threshold)
        return;
    char fields[256];
    snprintf(fields, sizeof fields, "\"session_id\":\"%s\"", sid ? sid : "");
    lq__log_write(level, TAG, fields, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

static void log_frame(const svc_job *j, const char *outcome)
{
    if (LQ_LOG_INFO < lq__log_threshold)
        return;
    char fields[640];
    const lq_tryon_result *r = &j->res;
    snprintf(fields, sizeof fields,
             "\"session_id\":\"%s\",\"sequence\":%lld,\"outcome\":\"%s\",\"encoding\":\"%s\","
             "\"processing_ms\":%.2f,\"queue_ms\":%.2f,\"decode_ms\":%.2f,\"palm_ms\":%.2f,"
             "\"landmark_ms\":%.2f,\"nails_ms\":%.2f,\"paint_ms\":%.2f,\"encode_ms\":%.2f,"
             "\"hands\":%d,\"nails\":%d,\"confidence\":%.3f,\"problems\":%u,\"bytes_out\":%zu",
             j->session_id, (long long)j->sequence, outcome, ws_encoding_name(j->encoding),
             j->processing_ms, j->queue_ms, j->decode_ms, r->t.palm_ms, r->t.landmark_ms,
             r->t.nails_ms, r->t.paint_ms, j->encode_ms, r->hands.count, r->nnails,
             (double)r->confidence, r->problems, j->out_bytes);
    lq__log_write(LQ_LOG_INFO, TAG, fields, "frame %s", outcome);
}

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

static lq_server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

static void conn_push(lq_server *srv, svc_conn *c, ws_out *m)
{
    if (!m) {
        LQ_ERROR(TAG, "out of memory building a reply");
        return;
    }
    if (!c || c->closing == 2) { /* already closed for writing */
        ws_out_free(m);
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

static void conn_error(lq_server *srv, svc_conn *c, const char *sid, int has_seq, int64_t seq,
                       ws_error_code code, const char *msg)
{
    if (code >= 0 && code < WS_ERR_COUNT)
        srv->metrics.errors[code]++;
    conn_push(srv, c, ws_build_error(sid, has_seq, seq, code, msg, lq_clock_epoch_ms()));
}

static void conn_close(svc_conn *c, int code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = 1;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason);
    lws_callback_on_writable(c->wsi);
}

/* ------------------------------------------------------------------ */
/* sessions                                                            */

static void send_stats(lq_server *srv, svc_session *s)
{
    ws_stats st;
    uint64_t now = lq_clock_ns();
    svc_session_stats(s, now, &st);
    s->last_stats_ns = now;
    conn_push(srv, s->conn, ws_build_stats(s->id, &st, lq_clock_epoch_ms()));
}

static void session_free(svc_session *s)
{
    lq_tryon_session_destroy(s->tryon);
    s->tryon = NULL;
    svc_session_destroy(s);
}

/* Ends a session. msg_type: NULL (tell the client nothing), "session_closed"
 * (answer to close_session) or "close_session" (the server closes it). */
static void session_close(lq_server *srv, svc_session *s, const char *msg_type, const char *reason)
{
    if (s->state == SVC_SESSION_CLOSED)
        return;
    svc_conn *c = s->conn;
    if (c && msg_type) {
        send_stats(srv, s);
        conn_push(srv, c, ws_build_close(msg_type, s->id, reason, lq_clock_epoch_ms()));
    }
    for (svc_job *j = svc_session_take_waiting(s); j;) {
        svc_job *n = j->next;
        srv->metrics.dropped[SVC_DROP_CLOSED]++;
        svc_job_free(j);
        j = n;
    }
    if (s->fetch_id && srv->fetcher)
        (void)lq_fetcher_cancel(srv->fetcher, s->fetch_id);
    s->fetch_id = 0;
    log_session(LQ_LOG_INFO, s->id, "session closed", reason);
    if (c)
        c->session = NULL;
    s->conn = NULL;
    s->state = SVC_SESSION_CLOSED;
    srv->nsessions--;
    if (!s->in_flight)
        session_free(s);
    /* else: freed when its frame comes back (drain_results) */
}

static void session_ready(lq_server *srv, svc_session *s)
{
    s->state = srv->stopping ? SVC_SESSION_DRAINING : SVC_SESSION_READY;
    uint64_t now = lq_clock_ns();
    s->ready_ns = now;
    s->last_stats_ns = now;
    conn_push(srv, s->conn,
              ws_build_session_ready(s->id, srv->engine != NULL, &s->config, s->reference_status,
                                     lq_clock_epoch_ms()));
    log_session(LQ_LOG_INFO, s->id, "session ready", s->reference_status);
}

static void drop_reply(lq_server *srv, svc_session *s, svc_job *j, const char *why,
                       enum svc_drop_reason reason)
{
    srv->metrics.dropped[reason]++;
    char msg[WS_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "frame %lld was dropped: %s", (long long)j->sequence, why);
    if (s->conn)
        conn_error(srv, s->conn, s->id, 1, j->sequence, WS_ERR_PROCESSING_TIMEOUT, msg);
    LQ_LOGF(LQ_LOG_INFO, TAG, NULL, "session %s: %s", s->id, msg);
}

/* Hands the session's next frame to a worker if none is in flight. */
static void pump(lq_server *srv, svc_session *s)
{
    if (s->state != SVC_SESSION_READY && s->state != SVC_SESSION_DRAINING)
        return;
    uint64_t deadline = (uint64_t)srv->cfg.frame_deadline_ms * 1000000ull;
    for (;;) {
        svc_job *expired = NULL;
        svc_job *j = svc_session_next(s, lq_clock_ns(), deadline, &expired);
        if (expired) {
            char why[128];
            snprintf(why, sizeof why, "it waited longer than FRAME_DEADLINE_MS=%d ms",
                     srv->cfg.frame_deadline_ms);
            drop_reply(srv, s, expired, why, SVC_DROP_DEADLINE);
            svc_job_free(expired);
            continue;
        }
        if (j) {
            j->tryon = s->tryon;
            svc_workers_submit(srv->workers, j);
        }
        return;
    }
}

static void on_reference(const lq_fetch_result *r, void *ud)
{
    svc_session *s = ud;
    lq_server *srv = s->conn ? server_of(((svc_conn *)s->conn)->wsi) : NULL;
    s->fetch_id = 0;
    if (!srv) /* cannot happen: closing a session cancels its fetch */
        return;
    if (r->status == 0) {
        srv->metrics.fetches[r->from_cache ? SVC_FETCH_CACHED : SVC_FETCH_OK]++;
        snprintf(s->reference_status, sizeof s->reference_status, "%s",
                 r->from_cache ? "cached" : "fetched");
        /* Decoding the photo, its palette and texture are image work: a
         * worker does it while the session waits (PENDING, nothing in flight). */
        svc_job *j = svc_job_new();
        if (j) {
            j->kind = SVC_JOB_REFERENCE;
            j->session = s;
            j->tryon = s->tryon;
            j->design = s->design;
            j->body = lq_fetch_body_retain(r->body);
            j->received_ns = lq_clock_ns();
            snprintf(j->session_id, sizeof j->session_id, "%s", s->id);
            s->in_flight = j;
            svc_workers_submit(srv->workers, j);
            return; /* session_ready when it comes back (reference_done) */
        }
        snprintf(s->reference_status, sizeof s->reference_status, "failed");
        session_ready(srv, s);
        conn_error(srv, s->conn, s->id, 0, 0, WS_ERR_INTERNAL_ERROR, "out of memory");
    } else {
        srv->metrics.fetches[SVC_FETCH_ERROR]++;
        snprintf(s->reference_status, sizeof s->reference_status, "failed");
        session_ready(srv, s);
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "reference image: %s", r->reason[0] ? r->reason : "failed");
        conn_error(srv, s->conn, s->id, 0, 0, WS_ERR_REFERENCE_FETCH_FAILED, msg);
    }
    pump(srv, s);
}

/* A reference job came back from a worker (the session is not closed). */
static void reference_done(lq_server *srv, svc_session *s, svc_job *j)
{
    if (j->failed) {
        snprintf(s->reference_status, sizeof s->reference_status, "failed");
        session_ready(srv, s);
        conn_error(srv, s->conn, s->id, 0, 0, j->err_code, j->err_msg);
    } else {
        s->design = j->design;
        session_ready(srv, s);
    }
    char detail[128];
    snprintf(detail, sizeof detail, "%dx%d, %d palette colours, texture %s, %.1f ms", j->width,
             j->height, j->palette_colors, j->texture_set ? "set" : "unused", j->work_ms);
    log_session(LQ_LOG_INFO, s->id, "reference image", j->failed ? j->err_msg : detail);
    pump(srv, s);
}

/* FNV-1a of the session id: the same session always gets the same glitter. */
static uint32_t seed_of(const char *sid)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)sid; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static void handle_init(lq_server *srv, svc_conn *c, ws_request *rq)
{
    const char *sid = rq->session_id;
    if (srv->stopping) {
        conn_error(srv, c, sid, 0, 0, WS_ERR_SHUTTING_DOWN, NULL);
        srv->metrics.rejected[SVC_REJECT_SHUTDOWN]++;
        conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
        return;
    }
    if (c->session) {
        if (strcmp(c->session->id, sid) != 0) {
            char msg[WS_MESSAGE_MAX];
            snprintf(msg, sizeof msg,
                     "this connection already carries session '%.64s'; close it first or open "
                     "a new connection",
                     c->session->id);
            conn_error(srv, c, sid, 0, 0, WS_ERR_INVALID_MESSAGE, msg);
            return;
        }
        /* init_session again with the same id: start over with the new design */
        session_close(srv, c->session, NULL, "re-initialised");
    }
    if (srv->nsessions >= srv->cfg.max_concurrent_sessions) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "the service already runs MAX_CONCURRENT_SESSIONS=%d sessions",
                 srv->cfg.max_concurrent_sessions);
        conn_error(srv, c, sid, 0, 0, WS_ERR_SERVER_BUSY, msg);
        srv->metrics.rejected[SVC_REJECT_CAPACITY]++;
        conn_close(c, 1013, "server at capacity, try again later");
        log_session(LQ_LOG_WARN, sid, "session refused", "at capacity");
        return;
    }
    nail_design design;
    char err[WS_MESSAGE_MAX - 32] = "";
    if (rq->metadata) {
        if (nail_design_from_cjson(rq->metadata, &design, err, sizeof err) < 0) {
            char msg[WS_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "nail_reference.metadata: %s", err);
            conn_error(srv, c, sid, 0, 0, WS_ERR_INVALID_DESIGN, msg);
            return;
        }
    } else {
        nail_design_default(&design);
    }
    lq_tryon_session_opts opts = LQ_TRYON_SESSION_OPTS_DEFAULT;
    opts.variant = ws_quality_variant(rq->config.quality);
    opts.max_hands = rq->config.max_hands;
    opts.smoothing = rq->config.smoothing;
    opts.paint = rq->config.overlay;
    opts.seed = seed_of(sid);
    lq_tryon_session *ts = NULL;
    int rc = lq_tryon_session_create(srv->engine, &design, &opts, &ts);
    svc_session *s = NULL;
    if (rc == 0)
        rc = svc_session_create(sid, srv->cfg.frame_queue_size, lq_clock_ns(), &s);
    if (rc < 0) {
        lq_tryon_session_destroy(ts);
        conn_error(srv, c, sid, 0, 0, rc == LQ_EMODEL ? WS_ERR_MODEL_ERROR : WS_ERR_INTERNAL_ERROR,
                   "could not create the session");
        return;
    }
    s->tryon = ts;
    s->design = design;
    s->config = rq->config;
    s->conn = c;
    c->session = s;
    srv->nsessions++;
    srv->metrics.sessions_total++;
    log_session(LQ_LOG_INFO, sid, "session started", rq->reference_url[0] ? rq->reference_url : NULL);

    if (rq->reference_url[0] && srv->fetcher) {
        uint64_t id = 0;
        rc = lq_fetcher_start(srv->fetcher, rq->reference_url, on_reference, s, &id);
        if (rc == 0) {
            s->fetch_id = id;
            s->state = SVC_SESSION_PENDING;
            snprintf(s->reference_status, sizeof s->reference_status, "fetching");
            return; /* session_ready once the image is here (on_reference) */
        }
        srv->metrics.fetches[SVC_FETCH_ERROR]++;
        snprintf(s->reference_status, sizeof s->reference_status, "failed");
        session_ready(srv, s);
        conn_error(srv, c, sid, 0, 0, WS_ERR_REFERENCE_FETCH_FAILED,
                   "reference image: the fetcher is busy; continuing from the metadata");
        return;
    }
    snprintf(s->reference_status, sizeof s->reference_status, "%s",
             rq->reference_url[0] ? "not_fetched" : "none");
    session_ready(srv, s);
}

/* Checks that a frame may be accepted for session sid; replies if not. */
static svc_session *frame_session(lq_server *srv, svc_conn *c, const char *sid, int64_t seq)
{
    svc_session *s = c->session;
    if (!s || strcmp(s->id, sid) != 0) {
        char msg[WS_MESSAGE_MAX];
        if (!s)
            snprintf(msg, sizeof msg,
                     "session '%.64s' is not open on this connection; send init_session first",
                     sid);
        else
            snprintf(msg, sizeof msg,
                     "session '%.64s' is not open on this connection (it carries '%.64s')", sid,
                     s->id);
        conn_error(srv, c, sid, 1, seq, WS_ERR_INVALID_SESSION, msg);
        return NULL;
    }
    if (srv->stopping || s->state == SVC_SESSION_DRAINING) {
        conn_error(srv, c, sid, 1, seq, WS_ERR_SHUTTING_DOWN,
                   "the service is shutting down and accepts no new frames");
        return NULL;
    }
    if (!svc_session_rate_ok(s, lq_clock_ns(), srv->cfg.rate_limit_fps)) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "more than RATE_LIMIT_FPS=%d frames in one second",
                 srv->cfg.rate_limit_fps);
        conn_error(srv, c, sid, 1, seq, WS_ERR_RATE_LIMITED, msg);
        return NULL;
    }
    return s;
}

/* Queues one frame. owner (malloc'd) holds data and is freed in every case. */
static void submit_frame(lq_server *srv, svc_conn *c, const char *sid, int64_t seq, int has_ts,
                         int64_t ts, ws_encoding enc, void *owner, const uint8_t *data,
                         size_t len, int is_b64)
{
    svc_session *s = frame_session(srv, c, sid, seq);
    svc_job *j = s ? svc_job_new() : NULL;
    if (!j) {
        if (s)
            conn_error(srv, c, sid, 1, seq, WS_ERR_INTERNAL_ERROR, "out of memory");
        free(owner);
        return;
    }
    snprintf(j->session_id, sizeof j->session_id, "%s", sid);
    j->session = s;
    j->sequence = seq;
    j->has_request_timestamp = has_ts;
    j->request_timestamp = ts;
    j->encoding = enc;
    j->owner = owner;
    j->data = data;
    j->data_len = len;
    j->is_base64 = is_b64;
    j->received_ns = lq_clock_ns();
    j->limits.max_width = srv->cfg.max_frame_width;
    j->limits.max_height = srv->cfg.max_frame_height;
    j->limits.max_pixels = (uint64_t)srv->cfg.max_frame_width * (uint64_t)srv->cfg.max_frame_height;
    j->limits.max_bytes = (size_t)srv->cfg.ws_max_message_size;
    j->out_format = (lq_format)s->config.output_format;
    j->out_quality = s->config.output_quality;
    j->out_effort = ws_quality_effort(s->config.quality);
    j->overlay = s->config.overlay;

    svc_job *dropped = NULL;
    svc_session_enqueue(s, j, &dropped);
    if (dropped) {
        char why[160];
        snprintf(why, sizeof why,
                 "frame %lld arrived while FRAME_QUEUE_SIZE=%d frames were waiting (the latest "
                 "frame wins)",
                 (long long)seq, srv->cfg.frame_queue_size);
        drop_reply(srv, s, dropped, why, SVC_DROP_QUEUE_FULL);
        svc_job_free(dropped);
    }
    pump(srv, s);
}

/* Takes the base64 string out of the parsed JSON without copying it. */
static char *steal_frame_data(ws_request *rq)
{
    cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(rq->json, "frame_data");
    if (!item)
        return NULL;
    char *s = item->valuestring;
    item->valuestring = NULL;
    cJSON_Delete(item);
    rq->frame_b64 = NULL;
    return s;
}

static void pending_missing_image(lq_server *srv, svc_conn *c, const char *got)
{
    if (c->pending.rejected) {
        c->pending.active = 0;
        return;
    }
    char msg[WS_MESSAGE_MAX];
    snprintf(msg, sizeof msg,
             "process_frame %lld announced a binary image, but the next message was %s",
             (long long)c->pending.sequence, got);
    conn_error(srv, c, c->pending.session_id, 1, c->pending.sequence, WS_ERR_INVALID_MESSAGE, msg);
    c->pending.active = 0;
}

static void handle_text(lq_server *srv, svc_conn *c, char *buf, size_t len)
{
    if (c->pending.active)
        pending_missing_image(srv, c, "a text message");
    ws_request rq;
    ws_error e;
    if (ws_parse_text(buf, len, &srv->limits, &rq, &e) < 0) {
        conn_error(srv, c, e.session_id[0] ? e.session_id : NULL, e.has_sequence, e.sequence,
                   e.code, e.message);
        free(buf);
        return;
    }
    switch (rq.type) {
    case WS_MSG_INIT_SESSION:
        handle_init(srv, c, &rq);
        break;
    case WS_MSG_CLOSE_SESSION:
        if (!c->session || strcmp(c->session->id, rq.session_id) != 0) {
            conn_error(srv, c, rq.session_id, 0, 0, WS_ERR_INVALID_SESSION,
                       "close_session for a session that is not open on this connection");
            break;
        }
        session_close(srv, c->session, "session_closed", rq.reason);
        conn_close(c, LWS_CLOSE_STATUS_NORMAL, "session closed");
        break;
    case WS_MSG_STATS:
        if (!c->session || strcmp(c->session->id, rq.session_id) != 0)
            conn_error(srv, c, rq.session_id, 0, 0, WS_ERR_INVALID_SESSION,
                       "stats for a session that is not open on this connection");
        else
            send_stats(srv, c->session);
        break;
    case WS_MSG_PROCESS_FRAME:
        if (rq.encoding == WS_ENC_BASE64) {
            size_t n = rq.frame_b64_len;
            char *b64 = steal_frame_data(&rq);
            submit_frame(srv, c, rq.session_id, rq.sequence, rq.has_timestamp, rq.timestamp,
                         WS_ENC_BASE64, b64, (const uint8_t *)b64, b64 ? n : 0, 1);
        } else {
            c->pending.active = 1;
            c->pending.rejected = !frame_session(srv, c, rq.session_id, rq.sequence);
            if (!c->pending.rejected) {
                snprintf(c->pending.session_id, sizeof c->pending.session_id, "%s",
                         rq.session_id);
                c->pending.sequence = rq.sequence;
                c->pending.has_timestamp = rq.has_timestamp;
                c->pending.timestamp = rq.timestamp;
                c->pending.declared_size = rq.declared_size;
                /* the rate limiter counted this frame already */
                c->session->rate_count--;
            }
        }
        break;
    }
    ws_request_free(&rq);
    free(buf);
}

static void handle_binary(lq_server *srv, svc_conn *c, uint8_t *buf, size_t len)
{
    if (c->pending.active && (len == 0 || buf[0] != '{')) {
        svc_pending p = c->pending;
        c->pending.active = 0;
        if (p.rejected) {
            free(buf);
            return;
        }
        if (p.declared_size >= 0 && (size_t)p.declared_size != len) {
            char msg[WS_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "frame_metadata.size_bytes is %lld but the image has %zu bytes",
                     (long long)p.declared_size, len);
            conn_error(srv, c, p.session_id, 1, p.sequence, WS_ERR_INVALID_MESSAGE, msg);
            free(buf);
            return;
        }
        submit_frame(srv, c, p.session_id, p.sequence, p.has_timestamp, p.timestamp, WS_ENC_SPLIT,
                     buf, buf, len, 0);
        return;
    }
    if (c->pending.active)
        pending_missing_image(srv, c, "a binary message with a JSON header");
    ws_request rq;
    ws_error e;
    if (ws_parse_binary(buf, len, &srv->limits, &rq, &e) < 0) {
        conn_error(srv, c, e.session_id[0] ? e.session_id : NULL, e.has_sequence, e.sequence,
                   e.code, e.message);
        free(buf);
        return;
    }
    if (rq.declared_size >= 0 && (size_t)rq.declared_size != rq.frame_len) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "frame_metadata.size_bytes is %lld but the image has %zu bytes",
                 (long long)rq.declared_size, rq.frame_len);
        conn_error(srv, c, rq.session_id, 1, rq.sequence, WS_ERR_INVALID_MESSAGE, msg);
        ws_request_free(&rq);
        free(buf);
        return;
    }
    submit_frame(srv, c, rq.session_id, rq.sequence, rq.has_timestamp, rq.timestamp,
                 WS_ENC_HEADER, buf, rq.frame, rq.frame_len, 0);
    ws_request_free(&rq);
}

static void on_receive(lq_server *srv, svc_conn *c, struct lws *wsi, const void *in, size_t len)
{
    if (!c->rx_active) {
        c->rx_active = 1;
        c->rx_binary = lws_frame_is_binary(wsi);
        c->rx_discard = 0;
        c->rx_len = 0;
    }
    int final = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
    size_t max = (size_t)srv->cfg.ws_max_message_size;
    if (!c->rx_discard && c->rx_len + len > max) {
        c->rx_discard = 1;
        free(c->rx);
        c->rx = NULL;
        c->rx_len = c->rx_cap = 0;
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "message larger than WS_MAX_MESSAGE_SIZE=%lld bytes",
                 (long long)srv->cfg.ws_max_message_size);
        if (c->pending.active && c->rx_binary) {
            c->pending.active = 0;
            if (!c->pending.rejected)
            conn_error(srv, c, c->pending.session_id, 1, c->pending.sequence,
                       WS_ERR_FRAME_TOO_LARGE, msg);
        } else {
            conn_error(srv, c, c->session ? c->session->id : NULL, 0, 0, WS_ERR_FRAME_TOO_LARGE,
                       msg);
        }
    }
    if (!c->rx_discard && len > 0) {
        if (c->rx_len + len + 1 > c->rx_cap) {
            size_t ncap = c->rx_cap ? c->rx_cap : 64 * 1024;
            while (ncap < c->rx_len + len + 1)
                ncap *= 2;
            if (ncap > max + 1)
                ncap = max + 1;
            uint8_t *nb = realloc(c->rx, ncap);
            if (!nb) {
                c->rx_discard = 1;
                conn_error(srv, c, NULL, 0, 0, WS_ERR_INTERNAL_ERROR, "out of memory");
            } else {
                c->rx = nb;
                c->rx_cap = ncap;
            }
        }
        if (!c->rx_discard) {
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (!final)
        return;
    c->rx_active = 0;
    c->last_rx_ns = lq_clock_ns();
    if (c->rx_discard) {
        c->rx_discard = 0;
        return;
    }
    uint8_t *buf = c->rx;
    size_t n = c->rx_len;
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
    if (!buf) { /* empty message */
        buf = malloc(1);
        if (!buf)
            return;
    }
    srv->metrics.bytes_in += n;
    if (c->closing) {
        free(buf);
        return;
    }
    if (c->rx_binary)
        handle_binary(srv, c, buf, n);
    else
        handle_text(srv, c, (char *)buf, n);
}

/* ------------------------------------------------------------------ */
/* results from the workers                                            */

static void observe(svc_metrics *m, enum svc_stage st, double ms)
{
    svc_histogram_observe(&m->stage[st], ms / 1000.0);
}

static void drain_results(lq_server *srv)
{
    svc_job *list = svc_workers_take(srv->workers);
    while (list) {
        svc_job *j = list;
        list = j->next;
        j->next = NULL;
        svc_session *s = j->session;
        svc_session_done(s, j);
        svc_metrics *m = &srv->metrics;
        if (j->kind == SVC_JOB_REFERENCE) {
            if (s->state == SVC_SESSION_CLOSED)
                session_free(s);
            else
                reference_done(srv, s, j);
            svc_job_free(j);
            continue;
        }

        svc_histogram_observe(&m->processing, j->processing_ms / 1000.0);
        observe(m, SVC_STAGE_QUEUE, j->queue_ms);
        if (j->decode_ms > 0)
            observe(m, SVC_STAGE_DECODE, j->decode_ms);
        if (j->processed) {
            observe(m, SVC_STAGE_PALM, j->res.t.palm_ms);
            observe(m, SVC_STAGE_LANDMARK, j->res.t.landmark_ms);
            observe(m, SVC_STAGE_NAILS, j->res.t.nails_ms);
            observe(m, SVC_STAGE_PAINT, j->res.t.paint_ms);
            int h = j->res.hands.count;
            m->hands[h < 0 ? 0 : h > LQ_HAND_MAX ? LQ_HAND_MAX : h]++;
        }
        if (!j->failed)
            observe(m, SVC_STAGE_ENCODE, j->encode_ms);
        m->frames[!j->failed ? SVC_FRAME_SUCCESS : j->processed ? SVC_FRAME_NO_RESULT
                                                               : SVC_FRAME_ERROR]++;

        if (s->state == SVC_SESSION_CLOSED) {
            log_frame(j, "discarded");
            svc_job_free(j);
            session_free(s);
            continue;
        }
        svc_conn *c = s->conn;
        if (!j->failed) {
            if (c->outq.bytes > (size_t)srv->cfg.output_queue_max) {
                drop_reply(srv, s, j, "the client is not reading replies fast enough",
                           SVC_DROP_SLOW_READER);
                svc_session_record(s, -1, 0, 0);
                log_frame(j, "dropped");
            } else {
                j->out1->kind = WS_OUT_FRAME;
                conn_push(srv, c, j->out1);
                j->out1 = NULL;
                if (j->out2) {
                    conn_push(srv, c, j->out2);
                    j->out2 = NULL;
                }
                svc_session_record(s, 1, j->processing_ms, j->res.confidence);
                log_frame(j, "processed");
            }
        } else {
            conn_error(srv, c, s->id, 1, j->sequence, j->err_code, j->err_msg);
            svc_session_record(s, 0, 0, 0);
            log_frame(j, ws_error_name(j->err_code));
            if (j->err_code == WS_ERR_MODEL_ERROR)
                LQ_ERROR(TAG, "session %s frame %lld: %s", s->id, (long long)j->sequence,
                         j->err_msg);
        }
        svc_job_free(j);
        pump(srv, s);
    }
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
            session_ready(srv, s);
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
            session_close(srv, s, "close_session", "server_shutdown");
        if (!c->session)
            conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    }
    if ((!srv->conns && svc_workers_pending(srv->workers) == 0) || waited > srv->cfg.shutdown_timeout + 2.0)
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
        if (idle && !c->closing && now - c->last_rx_ns > idle) {
            if (s)
                session_close(srv, s, "close_session", "timeout");
            conn_close(c, LWS_CLOSE_STATUS_NORMAL, "idle timeout");
            continue;
        }
        if (!s)
            continue;
        if (every && s->state == SVC_SESSION_READY && now - s->last_stats_ns >= every)
            send_stats(srv, s);
        if (deadline && !s->in_flight)
            pump(srv, s); /* drops frames that expired while waiting */
    }
    if (srv->stopping)
        shutdown_progress(srv, now);
    if (srv->finished)
        lws_cancel_service(srv->ctx);
    else
        lws_sul_schedule(srv->ctx, 0, &srv->tick, tick, TICK_US);
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

static char *health_json(lq_server *srv, size_t *len)
{
    char *body = malloc(LWS_PRE + 512);
    if (!body)
        return NULL;
    double uptime = (double)(lq_clock_ns() - srv->started_ns) / 1e9;
    int n = snprintf(body + LWS_PRE, 512,
                     "{\"status\":\"%s\",\"model_loaded\":%s,\"active_sessions\":%d,"
                     "\"max_sessions\":%d,\"connections\":%d,\"workers\":%d,"
                     "\"queued_frames\":%d,\"device\":\"cpu\",\"version\":\"%s\","
                     "\"uptime_s\":%.3f}",
                     srv->stopping ? "shutting_down" : "healthy", srv->engine ? "true" : "false",
                     srv->nsessions, srv->cfg.max_concurrent_sessions, srv->nconns,
                     svc_workers_threads(srv->workers), svc_workers_pending(srv->workers),
                     LQ_VERSION, uptime);
    *len = (size_t)n;
    return body;
}

static char *metrics_text(lq_server *srv, size_t *len)
{
    size_t n = 0;
    char *text = svc_metrics_render(&srv->metrics, srv->nsessions,
                                    svc_workers_pending(srv->workers), &n);
    if (!text)
        return NULL;
    char *body = malloc(LWS_PRE + n + 1);
    if (body)
        memcpy(body + LWS_PRE, text, n + 1);
    free(text);
    *len = n;
    return body;
}

static int http_request(lq_server *srv, struct lws *wsi, svc_pss *pss, const char *uri)
{
    int status = HTTP_STATUS_OK;
    const char *ctype = "application/json";
    char *body = NULL;
    size_t len = 0;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
        status = HTTP_STATUS_METHOD_NOT_ALLOWED;
    } else if (strcmp(uri, "/health") == 0) {
        body = health_json(srv, &len);
        if (srv->stopping)
            status = HTTP_STATUS_SERVICE_UNAVAILABLE;
    } else if (strcmp(uri, "/metrics") == 0 && srv->cfg.enable_metrics) {
        body = metrics_text(srv, &len);
        ctype = "text/plain; version=0.0.4; charset=utf-8";
    } else {
        status = HTTP_STATUS_NOT_FOUND;
    }
    if (!body) {
        const char *msg = status == HTTP_STATUS_NOT_FOUND ? "{\"error\":\"not found\"}"
                          : status == HTTP_STATUS_OK      ? "{\"error\":\"out of memory\"}"
                                                          : "{\"error\":\"use GET\"}";
        if (status == HTTP_STATUS_OK)
            status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
        ctype = "application/json";
        len = strlen(msg);
        body = malloc(LWS_PRE + len + 1);
        if (!body)
            return -1;
        memcpy(body + LWS_PRE, msg, len + 1);
    }
    pss->http_body = body;
    pss->http_len = len;
    uint8_t hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int http_writeable(struct lws *wsi, svc_pss *pss)
{
    if (!pss->http_body)
        return 0;
    int n = lws_write(wsi, (unsigned char *)pss->http_body + LWS_PRE, pss->http_len,
                      LWS_WRITE_HTTP_FINAL);
    free(pss->http_body);
    pss->http_body = NULL;
    if (n < 0)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* WebSocket connections                                               */

/* Constant-time comparison for the shared token. */
static int token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0;
}

static int authorized(lq_server *srv, struct lws *wsi)
{
    if (!srv->cfg.auth_token[0])
        return 1;
    char buf[LQ_CONFIG_STR_MAX + 16];
    if (lws_get_urlarg_by_name(wsi, "token=", buf, (int)sizeof buf) &&
        token_equal(buf + (strncmp(buf, "token=", 6) == 0 ? 6 : 0), srv->cfg.auth_token))
        return 1;
    int n = lws_hdr_copy(wsi, buf, (int)sizeof buf, WSI_TOKEN_HTTP_AUTHORIZATION);
    if (n > 7 && strncasecmp(buf, "Bearer ", 7) == 0 && token_equal(buf + 7, srv->cfg.auth_token))
        return 1;
    return 0;
}

static void conn_opened(lq_server *srv, struct lws *wsi, svc_pss *pss)
{
    svc_conn *c = calloc(1, sizeof *c);
    if (!c) {
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
        return;
    }
    c->wsi = wsi;
    c->last_rx_ns = lq_clock_ns();
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    pss->conn = c;
    srv->metrics.connections_total++;
    srv->metrics.connections_open++;
    if (!authorized(srv, wsi)) {
        srv->metrics.rejected[SVC_REJECT_AUTH]++;
        conn_error(srv, c, NULL, 0, 0, WS_ERR_UNAUTHORIZED, "missing or wrong token");
        conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "authentication failed");
        LQ_WARN(TAG, "connection refused: authentication failed");
    }
    if (srv->stopping) {
        conn_error(srv, c, NULL, 0, 0, WS_ERR_SHUTTING_DOWN, NULL);
        conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    }
}

static void conn_closed(lq_server *srv, svc_pss *pss)
{
    svc_conn *c = pss->conn;
    if (!c)
        return;
    pss->conn = NULL;
    if (c->session)
        session_close(srv, c->session, NULL, "user_disconnected");
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

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    lq_server *srv = server_of(wsi);
    svc_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
        return srv && srv->stopping ? 1 : 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_filter(srv, wsi);
    case LWS_CALLBACK_ESTABLISHED:
        conn_opened(srv, wsi, pss);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        if (pss && pss->conn)
            on_receive(srv, pss->conn, wsi, in, len);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss && pss->conn ? conn_writeable(srv, wsi, pss->conn) : 0;
    case LWS_CALLBACK_CLOSED:
        if (pss)
            conn_closed(srv, pss);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (srv && srv->workers) {
            drain_results(srv);
            if (srv->fetcher)
                lq_fetcher_dispatch(srv->fetcher);
        }
        return 0;
    case LWS_CALLBACK_HTTP:
        return http_request(srv, wsi, pss, (const char *)in) < 0 ? -1 : 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return http_writeable(wsi, pss);
    case LWS_CALLBACK_CLOSED_HTTP:
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
    svc_job_run(j, ctx);
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
    lq_tryon_engine_opts eo = {.models_dir = models, .load_lite = 1};
    int rc = lq_tryon_engine_create(&eo, &srv->engine, eerr, sizeof eerr);
    if (rc < 0) {
        errf(err, errlen, "cannot load the models from %s: %s", models,
             eerr[0] ? eerr : lq_strerror(rc));
        lq_server_destroy(srv);
        return rc;
    }

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.user = srv;
    info.count_threads = 1;
    info.pt_serv_buf_size = 64 * 1024;
    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        errf(err, errlen, "cannot create the libwebsockets context");
        lq_server_destroy(srv);
        return LQ_EINTERNAL;
    }
    srv->vh_main = make_vhost(srv, "tryon", cfg->ws_port, err, errlen);
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
    LQ_INFO(TAG, "listening on ws://%s:%d" WS_PATH " with %d workers, models from %s",
            cfg->ws_host, lws_get_vhost_listen_port(srv->vh_main), nworkers, models);
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
            drain_results(srv);
            if (svc_workers_pending(srv->workers) > 0) {
                struct timespec ts = {0, 5 * 1000 * 1000};
                nanosleep(&ts, NULL);
            }
        }
        drain_results(srv);
    }
    lq_fetcher_destroy(srv->fetcher);
    srv->fetcher = NULL;
    if (srv->ctx) {
        lws_sul_schedule(srv->ctx, 0, &srv->tick, NULL, LWS_SET_TIMER_USEC_CANCEL);
        struct lws_context *ctx = srv->ctx;
        lws_context_destroy(ctx);
        srv->ctx = NULL;
    }
    svc_workers *w = srv->workers;
    srv->workers = NULL;
    svc_workers_destroy(w);
    lq_tryon_engine_destroy(srv->engine);
    free(srv);
}
