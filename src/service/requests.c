/*
 * requests.c - the service's messages: reassembling WebSocket messages,
 * init_session / process_frame / stats / close_session, per-session frame
 * queues handed to the workers, and the replies built from their results
 * (see docs/protocol.md). Runs on the event loop thread.
 */
#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "image/codec.h"
#include "nails/design.h"
#include "service/job.h"
#include "service/jsonlimit.h"
#include "service/server_internal.h"

#define TAG SVC_TAG

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

/* ------------------------------------------------------------------ */
/* sessions                                                            */

void svc__send_stats(lq_server *srv, svc_session *s)
{
    ws_stats st;
    uint64_t now = lq_clock_ns();
    svc_session_stats(s, now, &st);
    s->last_stats_ns = now;
    svc__conn_push(srv, s->conn, ws_build_stats(s->id, &st, lq_clock_epoch_ms()));
}

/* Closed sessions are freed on the next timer tick, never inside the
 * callback that closed them (the caller may still hold the pointer). */
static void session_free(lq_server *srv, svc_session *s)
{
    s->next_dead = srv->dead;
    srv->dead = s;
}

void svc__free_dead_sessions(lq_server *srv)
{
    while (srv->dead) {
        svc_session *s = srv->dead;
        srv->dead = s->next_dead;
        lq_tryon_session_destroy(s->tryon);
        s->tryon = NULL;
        svc_session_destroy(s);
    }
}

/* Ends a session. msg_type: NULL (tell the client nothing), "session_closed"
 * (answer to close_session) or "close_session" (the server closes it). */
void svc__session_close(lq_server *srv, svc_session *s, const char *msg_type, const char *reason)
{
    if (s->state == SVC_SESSION_CLOSED)
        return;
    svc_conn *c = s->conn;
    if (c && msg_type) {
        svc__send_stats(srv, s);
        svc__conn_push(srv, c, ws_build_close(msg_type, s->id, reason, lq_clock_epoch_ms()));
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
        session_free(srv, s);
    /* else: freed when its frame comes back (drain_results) */
}

void svc__session_ready(lq_server *srv, svc_session *s)
{
    s->state = srv->stopping ? SVC_SESSION_DRAINING : SVC_SESSION_READY;
    uint64_t now = lq_clock_ns();
    s->ready_ns = now;
    s->last_stats_ns = now;
    svc__conn_push(srv, s->conn,
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
        svc__conn_error(srv, s->conn, s->id, 1, j->sequence, WS_ERR_PROCESSING_TIMEOUT, msg);
    LQ_LOGF(LQ_LOG_INFO, TAG, NULL, "session %s: %s", s->id, msg);
}

/* Hands the session's next frame to a worker if none is in flight. */
void svc__pump(lq_server *srv, svc_session *s)
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
    lq_server *srv = s->conn ? ((svc_conn *)s->conn)->srv : NULL;
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
        svc__session_ready(srv, s);
        svc__conn_error(srv, s->conn, s->id, 0, 0, WS_ERR_INTERNAL_ERROR, "out of memory");
    } else {
        srv->metrics.fetches[SVC_FETCH_ERROR]++;
        snprintf(s->reference_status, sizeof s->reference_status, "failed");
        svc__session_ready(srv, s);
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "reference image: %s", r->reason[0] ? r->reason : "failed");
        svc__conn_error(srv, s->conn, s->id, 0, 0, WS_ERR_REFERENCE_FETCH_FAILED, msg);
    }
    svc__pump(srv, s);
}

/* A reference job came back from a worker (the session is not closed). */
static void reference_done(lq_server *srv, svc_session *s, svc_job *j)
{
    if (j->failed) {
        snprintf(s->reference_status, sizeof s->reference_status, "failed");
        svc__session_ready(srv, s);
        svc__conn_error(srv, s->conn, s->id, 0, 0, j->err_code, j->err_msg);
    } else {
        s->design = j->design;
        svc__session_ready(srv, s);
    }
    char detail[128];
    snprintf(detail, sizeof detail, "%dx%d, %d palette colours, texture %s, %.1f ms", j->width,
             j->height, j->palette_colors, j->texture_set ? "set" : "unused", j->work_ms);
    log_session(LQ_LOG_INFO, s->id, "reference image", j->failed ? j->err_msg : detail);
    svc__pump(srv, s);
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
    if (!svc__access_session_allowed(srv, c, sid)) /* the token's session_id (access.c) */
        return;
    if (srv->stopping) {
        svc__conn_error(srv, c, sid, 0, 0, WS_ERR_SHUTTING_DOWN, NULL);
        srv->metrics.rejected[SVC_REJECT_SHUTDOWN]++;
        svc__conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
        return;
    }
    if (c->session && strcmp(c->session->id, sid) != 0) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg,
                 "this connection already carries session '%.64s'; close it first or open "
                 "a new connection",
                 c->session->id);
        svc__conn_error(srv, c, sid, 0, 0, WS_ERR_INVALID_MESSAGE, msg);
        return;
    }
    /* The design is checked before a running session is replaced: a refused
     * init_session (INVALID_DESIGN, recoverable) leaves it as it was. */
    nail_design design;
    char err[WS_MESSAGE_MAX - 32] = "";
    if (rq->metadata) {
        if (nail_design_from_cjson(rq->metadata, &design, err, sizeof err) < 0) {
            char msg[WS_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "nail_reference.metadata: %s", err);
            svc__conn_error(srv, c, sid, 0, 0, WS_ERR_INVALID_DESIGN, msg);
            return;
        }
    } else {
        nail_design_default(&design);
    }
    /* init_session again with the same id: start over with the new design */
    if (c->session)
        svc__session_close(srv, c->session, NULL, "re-initialised");
    if (srv->nsessions >= srv->cfg.max_concurrent_sessions) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "the service already runs MAX_CONCURRENT_SESSIONS=%d sessions",
                 srv->cfg.max_concurrent_sessions);
        svc__conn_error(srv, c, sid, 0, 0, WS_ERR_SERVER_BUSY, msg);
        srv->metrics.rejected[SVC_REJECT_CAPACITY]++;
        svc__conn_close(c, 1013, "server at capacity, try again later");
        log_session(LQ_LOG_WARN, sid, "session refused", "at capacity");
        return;
    }
    lq_tryon_session_opts opts = LQ_TRYON_SESSION_OPTS_DEFAULT;
    opts.variant = ws_quality_variant(rq->config.quality);
    opts.max_hands = rq->config.max_hands;
    opts.smoothing = rq->config.smoothing;
    opts.paint = rq->config.overlay;
    opts.segmentation = rq->config.segmentation;
    opts.outline = rq->config.outline ? 1 : 2; /* 2: static sessions only, i.e. not this one */
    opts.seed = seed_of(sid);
    lq_tryon_session *ts = NULL;
    int rc = lq_tryon_session_create(srv->engine, &design, &opts, &ts);
    svc_session *s = NULL;
    if (rc == 0)
        rc = svc_session_create(sid, srv->cfg.frame_queue_size, lq_clock_ns(), &s);
    if (rc < 0) {
        lq_tryon_session_destroy(ts);
        svc__conn_error(srv, c, sid, 0, 0, rc == LQ_EMODEL ? WS_ERR_MODEL_ERROR : WS_ERR_INTERNAL_ERROR,
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
        svc__session_ready(srv, s);
        svc__conn_error(srv, c, sid, 0, 0, WS_ERR_REFERENCE_FETCH_FAILED,
                   "reference image: the fetcher is busy; continuing from the metadata");
        return;
    }
    snprintf(s->reference_status, sizeof s->reference_status, "%s",
             rq->reference_url[0] ? "not_fetched" : "none");
    svc__session_ready(srv, s);
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
        svc__conn_error(srv, c, sid, 1, seq, WS_ERR_INVALID_SESSION, msg);
        return NULL;
    }
    if (srv->stopping || s->state == SVC_SESSION_DRAINING) {
        svc__conn_error(srv, c, sid, 1, seq, WS_ERR_SHUTTING_DOWN,
                   "the service is shutting down and accepts no new frames");
        return NULL;
    }
    if (!svc_session_rate_ok(s, lq_clock_ns(), srv->cfg.rate_limit_fps)) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "more than RATE_LIMIT_FPS=%d frames in one second",
                 srv->cfg.rate_limit_fps);
        svc__conn_error(srv, c, sid, 1, seq, WS_ERR_RATE_LIMITED, msg);
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
            svc__conn_error(srv, c, sid, 1, seq, WS_ERR_INTERNAL_ERROR, "out of memory");
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
    svc__pump(srv, s);
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
    svc__conn_error(srv, c, c->pending.session_id, 1, c->pending.sequence, WS_ERR_INVALID_MESSAGE, msg);
    c->pending.active = 0;
}

static void handle_text(lq_server *srv, svc_conn *c, char *buf, size_t len)
{
    if (c->pending.active)
        pending_missing_image(srv, c, "a text message");
    ws_request rq;
    ws_error e;
    size_t weight = svc_json_weight(buf, len);
    if (weight > (size_t)srv->cfg.json_max_size) { /* before parsing: see jsonlimit.h */
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "the JSON message holds %zu bytes besides frame_data; the limit "
                 "is JSON_MAX_SIZE=%lld", weight, (long long)srv->cfg.json_max_size);
        svc__conn_error(srv, c, NULL, 0, 0, WS_ERR_INVALID_MESSAGE, msg);
        free(buf);
        return;
    }
    if (ws_parse_text(buf, len, &srv->limits, &rq, &e) < 0) {
        svc__conn_error(srv, c, e.session_id[0] ? e.session_id : NULL, e.has_sequence, e.sequence,
                   e.code, e.message);
        /* A refused split-encoding header: its image is swallowed, so that the
         * frame gets exactly one answer (this error). */
        c->pending.active = e.image_follows;
        c->pending.rejected = 1;
        free(buf);
        return;
    }
    switch (rq.type) {
    case WS_MSG_INIT_SESSION:
        handle_init(srv, c, &rq);
        break;
    case WS_MSG_CLOSE_SESSION:
        if (!c->session || strcmp(c->session->id, rq.session_id) != 0) {
            svc__conn_error(srv, c, rq.session_id, 0, 0, WS_ERR_INVALID_SESSION,
                       "close_session for a session that is not open on this connection");
            break;
        }
        svc__session_close(srv, c->session, "session_closed", rq.reason);
        svc__conn_close(c, LWS_CLOSE_STATUS_NORMAL, "session closed");
        break;
    case WS_MSG_STATS:
        if (!c->session || strcmp(c->session->id, rq.session_id) != 0)
            svc__conn_error(srv, c, rq.session_id, 0, 0, WS_ERR_INVALID_SESSION,
                       "stats for a session that is not open on this connection");
        else
            svc__send_stats(srv, c->session);
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
            svc__conn_error(srv, c, p.session_id, 1, p.sequence, WS_ERR_INVALID_MESSAGE, msg);
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
        svc__conn_error(srv, c, e.session_id[0] ? e.session_id : NULL, e.has_sequence, e.sequence,
                   e.code, e.message);
        free(buf);
        return;
    }
    if (rq.declared_size >= 0 && (size_t)rq.declared_size != rq.frame_len) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "frame_metadata.size_bytes is %lld but the image has %zu bytes",
                 (long long)rq.declared_size, rq.frame_len);
        svc__conn_error(srv, c, rq.session_id, 1, rq.sequence, WS_ERR_INVALID_MESSAGE, msg);
        ws_request_free(&rq);
        free(buf);
        return;
    }
    submit_frame(srv, c, rq.session_id, rq.sequence, rq.has_timestamp, rq.timestamp,
                 WS_ENC_HEADER, buf, rq.frame, rq.frame_len, 0);
    ws_request_free(&rq);
}

/* No memory to hold a message: it is dropped, and its error names the frame
 * (the pending split frame's ids, or those in the message's first bytes) so
 * that the client knows which request got no other answer. */
static void unreceivable(lq_server *srv, svc_conn *c, const uint8_t *head, size_t n)
{
    static const char msg[] = "out of memory receiving the message; it was dropped";
    if (c->rx_binary && c->pending.active && (n == 0 || head[0] != '{')) {
        c->pending.active = 0;
        if (!c->pending.rejected) /* a rejected one has had its answer */
            svc__conn_error(srv, c, c->pending.session_id, 1, c->pending.sequence,
                            WS_ERR_INTERNAL_ERROR, msg);
        return;
    }
    if (c->pending.active) /* as handle_text and handle_binary would say */
        pending_missing_image(srv, c, c->rx_binary ? "a binary message with a JSON header"
                                                   : "a text message");
    char sid[WS_SESSION_ID_MAX + 1];
    int has_seq;
    int64_t seq;
    int found = ws_peek_ids(head, n, sid, &has_seq, &seq);
    svc__conn_error(srv, c, found ? sid : c->session ? c->session->id : NULL, has_seq, seq,
                    WS_ERR_INTERNAL_ERROR, msg);
}

void svc__on_receive(lq_server *srv, svc_conn *c, struct lws *wsi, const void *in, size_t len)
{
    if (svc__access_blocks_input(c)) /* token not checked yet, or refused: look at nothing */
        return;
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
        snprintf(msg, sizeof msg, "message larger than WS_MAX_MESSAGE_SIZE=%lld bytes; closing "
                 "(1009)", (long long)srv->cfg.ws_max_message_size);
        if (c->pending.active && c->rx_binary) {
            c->pending.active = 0;
            if (!c->pending.rejected)
            svc__conn_error(srv, c, c->pending.session_id, 1, c->pending.sequence,
                       WS_ERR_FRAME_TOO_LARGE, msg);
        } else {
            svc__conn_error(srv, c, c->session ? c->session->id : NULL, 0, 0, WS_ERR_FRAME_TOO_LARGE,
                       msg);
        }
        /* RFC 6455 7.4.1: 1009, a message too big to process. The rest of it
         * is not read (lws stops reading a connection that is closing). */
        srv->metrics.rejected[SVC_REJECT_TOO_BIG]++;
        svc__conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
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
                unreceivable(srv, c, c->rx_len ? c->rx : in, c->rx_len ? c->rx_len : len);
                free(c->rx);
                c->rx = NULL;
                c->rx_len = c->rx_cap = 0;
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

void svc__drain_results(lq_server *srv)
{
    svc_job *list = svc_workers_take(srv->workers);
    while (list) {
        svc_job *j = list;
        list = j->next;
        j->next = NULL;
        svc_session *s = j->session;
        svc_session_done(s, j);
        s->answered_ns = lq_clock_ns();
        svc_metrics *m = &srv->metrics;
        if (j->kind == SVC_JOB_REFERENCE) {
            if (s->state == SVC_SESSION_CLOSED)
                session_free(srv, s);
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
            session_free(srv, s);
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
                svc__conn_push(srv, c, j->out1);
                j->out1 = NULL;
                if (j->out2) {
                    svc__conn_push(srv, c, j->out2);
                    j->out2 = NULL;
                }
                svc_session_record(s, 1, j->processing_ms, j->res.confidence);
                log_frame(j, "processed");
            }
        } else {
            svc__conn_error(srv, c, s->id, 1, j->sequence, j->err_code, j->err_msg);
            svc_session_record(s, 0, 0, 0);
            log_frame(j, ws_error_name(j->err_code));
            if (j->err_code == WS_ERR_MODEL_ERROR)
                LQ_ERROR(TAG, "session %s frame %lld: %s", s->id, (long long)j->sequence,
                         j->err_msg);
        }
        svc_job_free(j);
        svc__pump(srv, s);
    }
}

/* ------------------------------------------------------------------ */
/* the HTTP API's way in (httpapi.c: its sessions are virtual connections) */

void svc__init_session(lq_server *srv, svc_conn *c, ws_request *rq)
{
    handle_init(srv, c, rq);
}

void svc__submit_frame(lq_server *srv, svc_conn *c, const char *sid, int64_t seq, int has_ts,
                       int64_t ts, uint8_t *image, size_t len)
{
    submit_frame(srv, c, sid, seq, has_ts, ts, WS_ENC_SPLIT, image, image, len, 0);
}
