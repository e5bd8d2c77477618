/*
 * httpapi.c - the HTTP API: requests, sessions, frames, stats and delete
 * (see httpapi.h and docs/http-api.md). process-stream is in httpstream.c,
 * response writing in httpresp.c. Event loop thread only.
 */
#include "service/httpapi.h"

#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"

#define TAG API_TAG

/* ------------------------------------------------------------------ */
/* state                                                               */

int svc__api_create(lq_server *srv)
{
    svc_api *api = calloc(1, sizeof *api);
    if (!api)
        return LQ_ENOMEM;
    api->scratch = malloc(LWS_PRE + API_HEADERS_MAX);
    if (!api->scratch) {
        free(api);
        return LQ_ENOMEM;
    }
    srv->api = api;
    return 0;
}

static void session_free(lq_server *srv, svc_api_session *as);

void svc__api_destroy(lq_server *srv)
{
    svc_api *api = srv->api;
    if (!api)
        return;
    /* The lws context is gone, and with it every request (CLOSED_HTTP). */
    while (api->sessions) {
        svc_api_session *as = api->sessions;
        as->create = NULL;
        as->waiters = NULL;
        as->stream = NULL;
        as->image_req = NULL;
        session_free(srv, as);
    }
    free(api->scratch);
    free(api);
    srv->api = NULL;
}

int svc__api_busy(const lq_server *srv)
{
    return srv->api ? srv->api->nreqs : 0;
}

svc_api_session *api__session_find(lq_server *srv, const char *id)
{
    for (svc_api_session *as = srv->api->sessions; as; as = as->next)
        if (!as->removed && strcmp(as->id, id) == 0)
            return as;
    return NULL;
}

static svc_api_session *session_new(lq_server *srv, const char *id)
{
    svc_api_session *as = calloc(1, sizeof *as);
    if (!as)
        return NULL;
    snprintf(as->id, sizeof as->id, "%s", id);
    as->conn.api = as;
    as->conn.srv = srv;
    as->conn.last_rx_ns = lq_clock_ns();
    as->last_used_ns = as->conn.last_rx_ns;
    as->next_sequence = 1;
    /* on the server's connection list: shutdown drains it like a WebSocket */
    as->conn.next = srv->conns;
    if (srv->conns)
        srv->conns->prev = &as->conn;
    srv->conns = &as->conn;
    as->next = srv->api->sessions;
    if (as->next)
        as->next->prev = as;
    srv->api->sessions = as;
    return as;
}

static void session_free(lq_server *srv, svc_api_session *as)
{
    if (as->conn.session)
        svc__session_close(srv, as->conn.session, NULL, "removed");
    svc_conn *c = &as->conn;
    if (c->prev)
        c->prev->next = c->next;
    else if (srv->conns == c)
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (as->prev)
        as->prev->next = as->next;
    else
        srv->api->sessions = as->next;
    if (as->next)
        as->next->prev = as->prev;
    ws_outq_clear(&c->outq);
    ws_out_free(as->ready);
    ws_out_free(as->ready_error);
    free(as);
}

/* ------------------------------------------------------------------ */
/* requests                                                            */

static svc_api_req *req_new(lq_server *srv, struct lws *wsi, svc_pss *pss)
{
    svc_api_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->wsi = wsi;
    r->pss = pss;
    r->content_length = -1;
    r->resp.retry_after = -1;
    r->next = srv->api->reqs;
    if (r->next)
        r->next->prev = r;
    srv->api->reqs = r;
    srv->api->nreqs++;
    pss->api = r;
    return r;
}

void api__detach(svc_api_req *r)
{
    svc_api_session *as = r->session;
    if (!as)
        return;
    if (as->create == r)
        as->create = NULL;
    if (as->stream == r) {
        as->stream = NULL;
        /* what was queued for the stream has nowhere to go */
        ws_outq_clear(&as->conn.outq);
        as->conn.ctrl_bytes = 0;
        as->conn.rx_paused = 0;
        if (as->image_to == IMAGE_TO_STREAM)
            as->image_to = IMAGE_DROP;
    }
    if (as->image_req == r) {
        as->image_req = NULL;
        as->image_to = IMAGE_DROP;
    }
    if (r->waiting) {
        for (svc_api_req **p = &as->waiters; *p; p = &(*p)->wnext)
            if (*p == r) {
                *p = r->wnext;
                break;
            }
        r->waiting = 0;
        r->wnext = NULL;
    }
    as->last_used_ns = lq_clock_ns();
    r->session = NULL;
}

static void req_free(lq_server *srv, svc_api_req *r)
{
    if (r->auth_pending && srv->access)
        svc_auth_cancel(srv->access->auth, r->auth_id);
    if (r->limit_held)
        svc__access_http_release(srv, &r->limit_key);
    api__detach(r);
    if (r->prev)
        r->prev->next = r->next;
    else
        srv->api->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    srv->api->nreqs--;
    free(r->body);
    ws_out_free(r->meta);
    api__resp_free(&r->resp);
    api__stream_free(r->stream);
    if (r->pss && r->pss->api == r)
        r->pss->api = NULL;
    free(r);
}

/* ------------------------------------------------------------------ */
/* responses                                                           */

static uint8_t *pre_alloc(size_t len)
{
    return malloc(LWS_PRE + len + 1);
}

static void answer(svc_api_req *r)
{
    api__detach(r);
    r->answered = 1;
    lws_callback_on_writable(r->wsi);
}

void api__respond_json(lq_server *srv, svc_api_req *r, int status, char *body)
{
    (void)srv;
    if (r->answered) {
        free(body);
        return;
    }
    size_t n = body ? strlen(body) : 0;
    uint8_t *buf = body ? pre_alloc(n) : NULL;
    if (buf)
        memcpy(buf + LWS_PRE, body, n);
    free(body);
    r->resp.status = buf ? status : 500;
    if (r->resp.status == 429 || r->resp.status == 503)
        r->resp.retry_after = 1; /* rate windows are one second; busy is brief */
    r->resp.ctype = "application/json";
    api__resp_body(&r->resp, buf, buf ? n : 0);
    answer(r);
}

/* Answers with a message built by protocol.c (takes m). */
static void respond_message(lq_server *srv, svc_api_req *r, int status, ws_out *m)
{
    char *text = malloc(m->len + 1);
    if (text) {
        memcpy(text, m->payload, m->len);
        text[m->len] = 0;
    }
    ws_out_free(m);
    api__respond_json(srv, r, status, text);
}

void api__respond_error(lq_server *srv, svc_api_req *r, int status, const char *sid, int has_seq,
                        int64_t seq, ws_error_code code, const char *msg)
{
    if (r->answered)
        return;
    if (code >= 0 && code < WS_ERR_COUNT)
        srv->metrics.errors[code]++;
    ws_out *m = ws_build_error(sid, has_seq, seq, code, msg, lq_clock_epoch_ms());
    if (!m) {
        api__respond_json(srv, r, 500, NULL);
        return;
    }
    respond_message(srv, r, status > 0 ? status : api_http_status(code), m);
}

static const char *image_mime(const uint8_t *p, size_t n)
{
    if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return "image/webp";
    if (n >= 8 && memcmp(p, "\x89PNG", 4) == 0)
        return "image/png";
    if (n >= 3 && p[0] == 0xff && p[1] == 0xd8)
        return "image/jpeg";
    return "application/octet-stream";
}

/* 200 for a processed frame: the image with X-Tryon-Metadata, or (format
 * json, or metadata too long for a header) the processed_frame JSON with the
 * image in frame_data, as in the WebSocket's base64 encoding. */
static void respond_frame(lq_server *srv, svc_api_req *r, ws_out *img)
{
    ws_out *meta = r->meta;
    r->meta = NULL;
    uint8_t *buf = NULL;
    size_t n = 0;
    if (r->format == API_FORMAT_JSON || meta->len > API_META_HEADER_MAX) {
        /* {...} -> {...,"frame_data":"<base64>"} */
        size_t b64 = ws_base64_encoded_len(img->len);
        const char key[] = ",\"frame_data\":\"";
        n = meta->len - 1 + sizeof key - 1 + b64 + 2;
        buf = meta->len > 1 && meta->payload[meta->len - 1] == '}' ? pre_alloc(n) : NULL;
        if (buf) {
            uint8_t *p = buf + LWS_PRE;
            memcpy(p, meta->payload, meta->len - 1);
            p += meta->len - 1;
            memcpy(p, key, sizeof key - 1);
            p += sizeof key - 1;
            ws_base64_encode(img->payload, img->len, (char *)p);
            p += b64;
            memcpy(p, "\"}", 2);
        }
        r->resp.ctype = "application/json";
    } else {
        n = img->len;
        buf = pre_alloc(n);
        r->resp.meta = malloc(meta->len + 1);
        if (buf && r->resp.meta) {
            memcpy(buf + LWS_PRE, img->payload, n);
            memcpy(r->resp.meta, meta->payload, meta->len);
            r->resp.meta[meta->len] = 0;
        } else {
            free(buf);
            buf = NULL;
        }
        r->resp.ctype = image_mime(img->payload, img->len);
    }
    ws_out_free(meta);
    ws_out_free(img);
    if (!buf) {
        api__respond_error(srv, r, 0, r->route.session_id, 1, r->sequence, WS_ERR_INTERNAL_ERROR,
                           "out of memory building the response");
        return;
    }
    r->resp.status = 200;
    api__resp_body(&r->resp, buf, n);
    answer(r);
}

/* 201 for POST /sessions: session_ready, plus the HTTP session's idle
 * timeout and the reference error that followed it, if any. */
static void respond_created(lq_server *srv, svc_api_req *r)
{
    svc_api_session *as = r->session;
    cJSON *root = cJSON_ParseWithLength((const char *)as->ready->payload, as->ready->len);
    if (root) {
        cJSON_AddNumberToObject(root, "idle_timeout_s", srv->cfg.http_session_timeout);
        if (as->ready_error) {
            cJSON *e =
                cJSON_ParseWithLength((const char *)as->ready_error->payload, as->ready_error->len);
            if (e)
                cJSON_AddItemToObject(root, "reference_error", e);
        }
    }
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    snprintf(r->resp.location, sizeof r->resp.location, API_TRYON_PREFIX "sessions/%s", as->id);
    api__respond_json(srv, r, 201, text ? strdup(text) : NULL);
    cJSON_free(text);
}

/* ------------------------------------------------------------------ */
/* what requests.c says to an HTTP session                             */

typedef struct msg_info {
    char type[24];
    int has_seq;
    int64_t seq;
    ws_error_code code;
    char reason[WS_REASON_MAX + 1];
} msg_info;

static int msg_parse(const ws_out *m, msg_info *mi)
{
    memset(mi, 0, sizeof *mi);
    cJSON *root = cJSON_ParseWithLength((const char *)m->payload, m->len);
    if (!root)
        return LQ_EFORMAT;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "sequence");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "code");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(root, "reason");
    if (cJSON_IsString(t))
        snprintf(mi->type, sizeof mi->type, "%s", t->valuestring);
    if (cJSON_IsNumber(s)) {
        mi->has_seq = 1;
        mi->seq = (int64_t)s->valuedouble;
    }
    mi->code = WS_ERR_INTERNAL_ERROR;
    if (cJSON_IsString(c))
        for (int i = 0; i < WS_ERR_COUNT; i++)
            if (strcmp(c->valuestring, ws_error_name((ws_error_code)i)) == 0)
                mi->code = (ws_error_code)i;
    if (cJSON_IsString(why))
        snprintf(mi->reason, sizeof mi->reason, "%s", why->valuestring);
    cJSON_Delete(root);
    return 0;
}

svc_api_req *api__waiter(svc_api_session *as, int64_t seq)
{
    for (svc_api_req *r = as->waiters; r; r = r->wnext)
        if (r->sequence == seq)
            return r;
    return NULL;
}

static void fail_waiters(lq_server *srv, svc_api_session *as, ws_error_code code, const char *msg)
{
    while (as->waiters) {
        svc_api_req *r = as->waiters;
        api__respond_error(srv, r, 0, as->id, 1, r->sequence, code, msg);
        if (as->waiters == r) /* answered requests leave the list; make sure */
            api__detach(r);
    }
}

static void route_image(lq_server *srv, svc_api_session *as, ws_out *m)
{
    int to = as->image_to;
    svc_api_req *r = as->image_req;
    as->image_to = IMAGE_DROP;
    as->image_req = NULL;
    if (to == IMAGE_TO_REQ && r && r->meta)
        respond_frame(srv, r, m);
    else if (to == IMAGE_TO_STREAM && as->stream)
        api__stream_push(srv, as, m);
    else
        ws_out_free(m);
}

void svc__api_deliver(lq_server *srv, svc_conn *c, ws_out *m)
{
    svc_api_session *as = c->api;
    if (m->binary) {
        route_image(srv, as, m);
        return;
    }
    msg_info mi;
    if (msg_parse(m, &mi) < 0) {
        LQ_WARN(TAG, "session %s: unparseable reply dropped", as->id);
        ws_out_free(m);
        return;
    }
    svc_api_req *w = mi.has_seq ? api__waiter(as, mi.seq) : NULL;
    if (strcmp(mi.type, "processed_frame") == 0) {
        if (w) {
            ws_out_free(w->meta);
            w->meta = m;
            as->image_to = IMAGE_TO_REQ;
            as->image_req = w;
        } else if (as->stream) {
            as->image_to = IMAGE_TO_STREAM;
            api__stream_push(srv, as, m);
        } else {
            as->image_to = IMAGE_DROP;
            ws_out_free(m);
        }
        return;
    }
    if (strcmp(mi.type, "error") == 0) {
        if (w) {
            respond_message(srv, w, api_http_status(mi.code), m);
        } else if (!mi.has_seq && as->create && !as->ready) {
            /* init_session refused: no session */
            svc_api_req *r = as->create;
            as->removed = 1;
            respond_message(srv, r, api_http_status(mi.code), m);
        } else if (!mi.has_seq && as->create && !as->ready_error) {
            as->ready_error = m; /* the reference error after session_ready */
        } else if (as->stream) {
            api__stream_push(srv, as, m);
        } else {
            ws_out_free(m);
        }
        return;
    }
    if (strcmp(mi.type, "session_ready") == 0) {
        ws_out_free(as->ready);
        as->ready = m;
        if (as->create) /* answered from the writeable callback, after a reference error */
            lws_callback_on_writable(as->create->wsi);
        return;
    }
    if (strcmp(mi.type, "close_session") == 0 || strcmp(mi.type, "session_closed") == 0) {
        int shutdown = strcmp(mi.reason, "server_shutdown") == 0;
        fail_waiters(srv, as, shutdown ? WS_ERR_SHUTTING_DOWN : WS_ERR_INVALID_SESSION,
                     shutdown ? "the service is shutting down" : "the session was closed");
    }
    if (as->stream)
        api__stream_push(srv, as, m); /* stats, close_session */
    else
        ws_out_free(m);
}

/* ------------------------------------------------------------------ */
/* sessions                                                            */

/* Takes a session out of the API: its requests are answered (code, msg),
 * its try-on session closed; freed by the tick. */
static void session_remove(lq_server *srv, svc_api_session *as, ws_error_code code, const char *msg,
                           const char *reason)
{
    if (as->removed)
        return;
    as->removed = 1;
    svc_session *s = as->conn.session;
    /* an attached stream hears why, as a WebSocket would */
    const char *tell = !as->stream                      ? NULL
                       : strcmp(reason, "deleted") == 0 ? "session_closed"
                                                        : "close_session";
    if (s)
        svc__session_close(srv, s, tell, reason);
    fail_waiters(srv, as, code, msg);
    if (as->create && !as->create->answered)
        api__respond_error(srv, as->create, 0, as->id, 0, 0, code, msg);
    if (as->stream)
        api__stream_session_gone(srv, as->stream);
}

static int session_idle(const svc_api_session *as)
{
    return !as->create && !as->waiters && !as->stream;
}

void svc__api_tick(lq_server *srv, uint64_t now_ns)
{
    if (!srv->api)
        return;
    uint64_t timeout = (uint64_t)(srv->cfg.http_session_timeout * 1e9);
    svc_api_session *next;
    for (svc_api_session *as = srv->api->sessions; as; as = next) {
        next = as->next;
        if (!as->removed) {
            if (!as->conn.session || as->conn.closing) {
                session_remove(srv, as,
                               srv->stopping ? WS_ERR_SHUTTING_DOWN : WS_ERR_INVALID_SESSION,
                               "the session was closed", "closed");
            } else if (timeout && session_idle(as) && now_ns > as->last_used_ns &&
                       now_ns - as->last_used_ns > timeout) {
                LQ_INFO(TAG, "session %s: no request for HTTP_SESSION_TIMEOUT=%g s: closed", as->id,
                        srv->cfg.http_session_timeout);
                session_remove(srv, as, WS_ERR_INVALID_SESSION, "the session expired", "timeout");
            }
        }
        if (as->removed && session_idle(as) && !as->image_req)
            session_free(srv, as);
    }
}

/* A random version-4 UUID. */
static int make_session_id(char out[37])
{
    uint8_t b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        return LQ_EIO;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

/* POST /sessions, body complete: the init_session JSON ("type" and
 * "session_id" may be left out). */
static void create_session(lq_server *srv, svc_api_req *r)
{
    if (srv->stopping) {
        srv->metrics.rejected[SVC_REJECT_SHUTDOWN]++;
        api__respond_error(srv, r, 0, NULL, 0, 0, WS_ERR_SHUTTING_DOWN, NULL);
        return;
    }
    const char *text = r->body ? (const char *)r->body : "";
    if (!ws_json_depth_ok(text, r->body_len, WS_JSON_MAX_DEPTH)) {
        api__respond_error(srv, r, 0, NULL, 0, 0, WS_ERR_INVALID_MESSAGE,
                           "the body nests deeper than 16 levels");
        return;
    }
    cJSON *root = cJSON_ParseWithLength(text, r->body_len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        api__respond_error(srv, r, 0, NULL, 0, 0, WS_ERR_INVALID_MESSAGE,
                           "the body must be a JSON object: an init_session message");
        return;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!type) {
        cJSON_AddStringToObject(root, "type", "init_session");
    } else if (!cJSON_IsString(type) || strcmp(type->valuestring, "init_session") != 0) {
        cJSON_Delete(root);
        api__respond_error(srv, r, 0, NULL, 0, 0, WS_ERR_INVALID_MESSAGE,
                           "\"type\" must be \"init_session\" (or left out)");
        return;
    }
    char generated[WS_SESSION_ID_MAX + 1];
    if (!cJSON_GetObjectItemCaseSensitive(root, "session_id")) {
        if (r->token_session[0]) /* the session the token was issued for */
            snprintf(generated, sizeof generated, "%s", r->token_session);
        else if (make_session_id(generated) < 0) {
            cJSON_Delete(root);
            api__respond_error(srv, r, 0, NULL, 0, 0, WS_ERR_INTERNAL_ERROR,
                               "no random session id");
            return;
        }
        cJSON_AddStringToObject(root, "session_id", generated);
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    ws_request rq;
    ws_error e;
    if (!json || ws_parse_text(json, strlen(json), &srv->limits, &rq, &e) < 0) {
        if (!json)
            api__respond_error(srv, r, 0, NULL, 0, 0, WS_ERR_INTERNAL_ERROR, "out of memory");
        else
            api__respond_error(srv, r, 0, e.session_id[0] ? e.session_id : NULL, 0, 0, e.code,
                               e.message);
        cJSON_free(json);
        return;
    }
    cJSON_free(json);
    if (api__session_find(srv, rq.session_id)) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg,
                 "session '%.64s' already exists; DELETE it first or choose another id",
                 rq.session_id);
        api__respond_error(srv, r, 409, rq.session_id, 0, 0, WS_ERR_INVALID_SESSION, msg);
        ws_request_free(&rq);
        return;
    }
    svc_api_session *as = session_new(srv, rq.session_id);
    if (!as) {
        api__respond_error(srv, r, 0, rq.session_id, 0, 0, WS_ERR_INTERNAL_ERROR, "out of memory");
        ws_request_free(&rq);
        return;
    }
    as->create = r;
    r->session = as;
    /* init checks the token's session like a WebSocket's (access.c) */
    snprintf(as->conn.access.session_id, sizeof as->conn.access.session_id, "%s", r->token_session);
    /* Replies (session_ready, or an error) come back through svc__api_deliver. */
    svc__init_session(srv, &as->conn, &rq);
    ws_request_free(&rq);
    if (!as->conn.session && !as->removed) /* refused without a message: cannot happen */
        session_remove(srv, as, WS_ERR_INTERNAL_ERROR, "the session could not be created",
                       "failed");
}

/* POST /sessions/{id}/frames, body complete. */
static void submit_frame(lq_server *srv, svc_api_req *r)
{
    const char *sid = r->route.session_id;
    svc_api_session *as = api__session_find(srv, sid);
    if (srv->stopping) {
        api__respond_error(srv, r, 0, sid, r->has_sequence, r->sequence, WS_ERR_SHUTTING_DOWN,
                           "the service is shutting down and accepts no new frames");
        return;
    }
    if (!as || !as->conn.session) {
        api__respond_error(srv, r, 0, sid, r->has_sequence, r->sequence, WS_ERR_INVALID_SESSION,
                           "no such session (it was never created, was deleted or expired)");
        return;
    }
    if (as->stream) {
        api__respond_error(srv, r, 409, sid, r->has_sequence, r->sequence, WS_ERR_INVALID_MESSAGE,
                           "the session is streaming (process-stream); send frames there");
        return;
    }
    if (!r->has_sequence) {
        r->sequence = as->next_sequence;
        r->has_sequence = 1;
    } else if (api__waiter(as, r->sequence)) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "frame %lld is already waiting for its answer",
                 (long long)r->sequence);
        api__respond_error(srv, r, 409, sid, 1, r->sequence, WS_ERR_INVALID_MESSAGE, msg);
        return;
    }
    if (r->sequence >= as->next_sequence)
        as->next_sequence = r->sequence + 1;
    r->session = as;
    r->waiting = 1;
    r->wnext = as->waiters;
    as->waiters = r;
    as->last_used_ns = lq_clock_ns();
    uint8_t *body = r->body;
    size_t len = r->body_len;
    r->body = NULL;
    r->body_len = r->body_cap = 0;
    if (!body) { /* an empty body: the worker answers INVALID_FRAME */
        body = malloc(1);
        if (!body) {
            api__respond_error(srv, r, 0, sid, 1, r->sequence, WS_ERR_INTERNAL_ERROR,
                               "out of memory");
            return;
        }
    }
    srv->metrics.bytes_in += len;
    /* The answer (processed_frame + image, or an error) comes through
     * svc__api_deliver, at once for a refused frame. */
    svc__submit_frame(srv, &as->conn, as->id, r->sequence, r->has_timestamp, r->timestamp, body,
                      len);
}

static void get_stats(lq_server *srv, svc_api_req *r)
{
    svc_api_session *as = api__session_find(srv, r->route.session_id);
    svc_session *s = as ? as->conn.session : NULL;
    if (!s) {
        api__respond_error(srv, r, 0, r->route.session_id, 0, 0, WS_ERR_INVALID_SESSION,
                           "no such session");
        return;
    }
    ws_stats st;
    svc_session_stats(s, lq_clock_ns(), &st);
    as->last_used_ns = lq_clock_ns();
    ws_out *m = ws_build_stats(s->id, &st, lq_clock_epoch_ms());
    if (!m) {
        api__respond_error(srv, r, 0, s->id, 0, 0, WS_ERR_INTERNAL_ERROR, "out of memory");
        return;
    }
    respond_message(srv, r, 200, m);
}

static void delete_session(lq_server *srv, svc_api_req *r)
{
    svc_api_session *as = api__session_find(srv, r->route.session_id);
    svc_session *s = as ? as->conn.session : NULL;
    if (!s) {
        api__respond_error(srv, r, 0, r->route.session_id, 0, 0, WS_ERR_INVALID_SESSION,
                           "no such session");
        return;
    }
    ws_stats st;
    svc_session_stats(s, lq_clock_ns(), &st);
    int64_t now = lq_clock_epoch_ms();
    ws_out *closed = ws_build_close("session_closed", s->id, "deleted", now);
    ws_out *stats = ws_build_stats(s->id, &st, now);
    cJSON *root = closed ? cJSON_ParseWithLength((const char *)closed->payload, closed->len) : NULL;
    cJSON *sj = stats ? cJSON_ParseWithLength((const char *)stats->payload, stats->len) : NULL;
    ws_out_free(closed);
    ws_out_free(stats);
    if (root && sj) {
        cJSON_DeleteItemFromObject(sj, "type");
        cJSON_DeleteItemFromObject(sj, "session_id");
        cJSON_AddItemToObject(root, "stats", sj);
        sj = NULL;
    }
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    cJSON_Delete(sj);
    session_remove(srv, as, WS_ERR_INVALID_SESSION, "the session was deleted", "deleted");
    api__respond_json(srv, r, 200, text ? strdup(text) : NULL);
    cJSON_free(text);
}

/* ------------------------------------------------------------------ */
/* access control (AUTH_MODE, docs/security.md)                        */

static void body_complete(lq_server *srv, svc_api_req *r);

/* The token may be bound to one session (jwt, redis). */
static int session_allowed(lq_server *srv, svc_api_req *r, const char *sid)
{
    if (!r->token_session[0] || strcmp(r->token_session, sid) == 0)
        return 1;
    char msg[WS_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "the token is for session '%.48s', not for '%.48s'", r->token_session,
             sid);
    srv->metrics.rejected[SVC_REJECT_AUTH]++;
    LQ_WARN(TAG, "request refused: %s", msg);
    api__respond_error(srv, r, 401, sid, 0, 0, WS_ERR_UNAUTHORIZED, msg);
    return 0;
}

static void auth_refuse(lq_server *srv, svc_api_req *r, const svc_auth_result *res)
{
    srv->metrics.rejected[SVC_REJECT_AUTH]++;
    int unavailable = res->failure == SVC_AUTH_UNAVAILABLE;
    char msg[WS_MESSAGE_MAX];
    if (unavailable)
        snprintf(msg, sizeof msg, "the token could not be checked now (%s); try again later",
                 res->reason);
    else
        snprintf(msg, sizeof msg, "%s", res->reason[0] ? res->reason : "missing or wrong token");
    LQ_WARN(TAG, "request refused: %s (%s)", svc_auth_failure_name(res->failure), res->reason);
    api__respond_error(srv, r, unavailable ? 503 : 401, NULL, 0, 0, WS_ERR_UNAUTHORIZED, msg);
}

/* Runs the route once the request may go on. */
static void act(lq_server *srv, svc_api_req *r)
{
    r->authorized = 1;
    const char *sid = r->route.session_id;
    switch (r->route.kind) {
    case API_ROUTE_SESSIONS:
        break; /* the token's session is checked by init (access.c) */
    case API_ROUTE_FRAMES:
    case API_ROUTE_STATS:
    case API_ROUTE_SESSION:
    case API_ROUTE_STREAM:
        if (!session_allowed(srv, r, sid))
            return;
        break;
    case API_ROUTE_NONE:
        return;
    }
    if (r->route.kind == API_ROUTE_FRAMES && !api__session_find(srv, sid)) {
        api__respond_error(srv, r, 0, sid, r->has_sequence, r->sequence, WS_ERR_INVALID_SESSION,
                           "no such session (it was never created, was deleted or expired)");
        return; /* before its body is read */
    }
    switch (r->route.kind) {
    case API_ROUTE_STATS:
        get_stats(srv, r);
        return;
    case API_ROUTE_SESSION:
        delete_session(srv, r);
        return;
    case API_ROUTE_STREAM: {
        uint8_t *early = r->body; /* bytes that came while the token was looked up */
        size_t n = r->body_len;
        int ended = r->body_done;
        r->body = NULL;
        r->body_len = r->body_cap = 0;
        api__stream_start(srv, r);
        if (r->stream && n)
            api__stream_body(srv, r, early, n);
        if (r->stream && ended)
            api__stream_body_done(srv, r);
        free(early);
        return;
    }
    default:
        if (r->body_done)
            body_complete(srv, r);
        return;
    }
}

static void auth_done(const svc_auth_result *res, void *ud)
{
    svc_api_req *r = ud;
    lq_server *srv = svc__server_of(r->wsi);
    r->auth_pending = 0;
    r->auth_id = 0;
    if (!r->h2)
        lws_rx_flow_control(r->wsi, 1);
    if (res->failure != SVC_AUTH_OK) {
        auth_refuse(srv, r, res);
        return;
    }
    snprintf(r->token_session, sizeof r->token_session, "%s", res->session_id);
    act(srv, r);
}

/* 0: go on now; 1: answered (refused), or waiting for a Redis lookup. */
static int authorize(lq_server *srv, svc_api_req *r)
{
    svc_access *a = srv->access;
    if (!a || !a->auth || svc_auth_get_mode(a->auth) == SVC_AUTH_NONE)
        return 0;
    char token[SVC_TOKEN_MAX + 1] = "";
    const char *src = NULL;
    char why[SVC_AUTH_REASON_MAX] = "";
    svc_auth_result res;
    memset(&res, 0, sizeof res);
    int rc = svc__access_request_token(r->wsi, token, sizeof token, &src, why, sizeof why);
    if (rc < 0) {
        res.failure = rc == LQ_ENOTFOUND ? SVC_AUTH_MISSING : SVC_AUTH_MALFORMED;
        snprintf(res.reason, sizeof res.reason, "%s",
                 why[0] ? why : "no token: send Authorization: Bearer <token> or ?token=");
        auth_refuse(srv, r, &res);
        return 1;
    }
    rc = svc_auth_check(a->auth, token, (int64_t)time(NULL), auth_done, r, &res, &r->auth_id);
    memset(token, 0, sizeof token);
    if (rc == SVC_AUTH_PENDING) {
        r->auth_pending = 1;
        if (!r->h2) /* HTTP/2 streams cannot be paused (lws 4.1.6): their bytes are kept */
            lws_rx_flow_control(r->wsi, 0);
        return 1;
    }
    if (rc < 0) {
        res.failure = SVC_AUTH_UNAVAILABLE;
        snprintf(res.reason, sizeof res.reason, "out of memory");
    }
    if (res.failure != SVC_AUTH_OK) {
        auth_refuse(srv, r, &res);
        return 1;
    }
    snprintf(r->token_session, sizeof r->token_session, "%s", res.session_id);
    return 0;
}

/* Stream bytes that arrive before the stream starts (token lookup). */
static void buffer_raw(lq_server *srv, svc_api_req *r, const void *in, size_t len)
{
    size_t max = (size_t)srv->cfg.ws_max_message_size;
    if (len > max - r->body_len) {
        api__respond_error(srv, r, 413, r->route.session_id, 0, 0, WS_ERR_FRAME_TOO_LARGE,
                           "too much stream data before the token was checked");
        return;
    }
    if (r->body_len + len > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap * 2 : 64 * 1024;
        while (cap < r->body_len + len)
            cap *= 2;
        uint8_t *nb = realloc(r->body, cap);
        if (!nb) {
            api__respond_error(srv, r, 0, NULL, 0, 0, WS_ERR_INTERNAL_ERROR, "out of memory");
            return;
        }
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, in, len);
    r->body_len += len;
}

/* ------------------------------------------------------------------ */
/* lws callbacks                                                       */

static api_method method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
        return API_METHOD_GET;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
        return API_METHOD_POST;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) > 0)
        return API_METHOD_DELETE;
    return API_METHOD_OTHER;
}

/* A query argument ("name=") or, on HTTP/1.1, a header ("x-tryon-name:"). */
static const char *arg_or_header(struct lws *wsi, const char *arg, const char *hdr, char *buf,
                                 int len)
{
    const char *v = lws_get_urlarg_by_name(wsi, arg, buf, len);
    if (v)
        return v;
    int n = lws_hdr_custom_copy(wsi, buf, len, hdr, (int)strlen(hdr));
    return n >= 0 ? buf : NULL;
}

/* Reads the frame options: sequence, timestamp, format. */
static int frame_options(lq_server *srv, svc_api_req *r)
{
    char buf[96];
    const char *v = arg_or_header(r->wsi, "sequence=", "x-tryon-sequence:", buf, sizeof buf);
    if (v) {
        if (api_parse_sequence(v, &r->sequence) < 0) {
            api__respond_error(srv, r, 0, r->route.session_id, 0, 0, WS_ERR_INVALID_MESSAGE,
                               "sequence must be an integer 0..2^53");
            return -1;
        }
        r->has_sequence = 1;
    }
    v = arg_or_header(r->wsi, "timestamp=", "x-tryon-timestamp:", buf, sizeof buf);
    if (v) {
        if (api_parse_timestamp(v, &r->timestamp) < 0) {
            api__respond_error(srv, r, 0, r->route.session_id, r->has_sequence, r->sequence,
                               WS_ERR_INVALID_MESSAGE,
                               "timestamp must be epoch milliseconds (an integer)");
            return -1;
        }
        r->has_timestamp = 1;
    }
    v = arg_or_header(r->wsi, "format=", "x-tryon-format:", buf, sizeof buf);
    if (v && api_parse_format(v, &r->format) < 0) {
        api__respond_error(srv, r, 0, r->route.session_id, r->has_sequence, r->sequence,
                           WS_ERR_INVALID_MESSAGE, "format must be image or json");
        return -1;
    }
    return 0;
}

/* Content-Length, Transfer-Encoding, Content-Type, Expect. -1 if refused. */
static int body_prologue(lq_server *srv, svc_api_req *r, size_t max, int need_length)
{
    char buf[96];
    r->body_max = max;
    if (lws_hdr_copy(r->wsi, buf, sizeof buf, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
        char *end = NULL;
        long long n = strtoll(buf, &end, 10);
        if (end == buf || *end || n < 0) {
            api__respond_error(srv, r, 400, NULL, 0, 0, WS_ERR_INVALID_MESSAGE,
                               "bad Content-Length");
            return -1;
        }
        r->content_length = n;
    }
    if (!r->h2 && lws_hdr_copy(r->wsi, buf, sizeof buf, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        if (strcasecmp(buf, "chunked") != 0) {
            api__respond_error(srv, r, 400, NULL, 0, 0, WS_ERR_INVALID_MESSAGE,
                               "only Transfer-Encoding: chunked is supported");
            return -1;
        }
        if (r->content_length >= 0) {
            api__respond_error(srv, r, 400, NULL, 0, 0, WS_ERR_INVALID_MESSAGE,
                               "both Content-Length and Transfer-Encoding");
            return -1;
        }
        r->chunked = 1;
        http_chunked_init(&r->dechunk);
    }
    if (need_length && r->content_length < 0 && !r->chunked) {
        api__respond_error(srv, r, 411, NULL, 0, 0, WS_ERR_INVALID_MESSAGE,
                           r->h2 ? "send a content-length header (HTTP/2)"
                                 : "send Content-Length or Transfer-Encoding: chunked");
        return -1;
    }
    if (r->content_length > (int64_t)max) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "the body has %lld bytes; the limit is %zu bytes (%s)",
                 (long long)r->content_length, max,
                 r->route.kind == API_ROUTE_FRAMES ? "WS_MAX_MESSAGE_SIZE" : "JSON_MAX_SIZE");
        api__respond_error(srv, r, 413, NULL, 0, 0,
                           r->route.kind == API_ROUTE_FRAMES ? WS_ERR_FRAME_TOO_LARGE
                                                             : WS_ERR_INVALID_MESSAGE,
                           msg);
        return -1;
    }
    if (lws_hdr_copy(r->wsi, r->ctype, sizeof r->ctype, WSI_TOKEN_HTTP_CONTENT_TYPE) < 0)
        r->ctype[0] = 0;
    /* lws 4.1.6 does not answer Expect: 100-continue; clients would wait. */
    if (!r->h2 && lws_hdr_copy(r->wsi, buf, sizeof buf, WSI_TOKEN_HTTP_EXPECT) > 0 &&
        strcasecmp(buf, "100-continue") == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        uint8_t out[LWS_PRE + sizeof cont];
        memcpy(out + LWS_PRE, cont, sizeof cont - 1);
        if (lws_write(r->wsi, out + LWS_PRE, sizeof cont - 1, LWS_WRITE_RAW) < 0)
            return -1;
    }
    return 0;
}

/*
 * On HTTP/2 the request's header table is released once the request is
 * read (everything needed is copied into the request). Besides freeing it
 * for other streams, this works around libwebsockets 4.1.6: while a stream
 * has its content-length header, lws compares the body bytes still due with
 * the bytes left in its whole read buffer rather than in the DATA frame, and
 * answers GOAWAY ("More rx than content_length told") whenever the last DATA
 * frame of a body shares a read with any following frame - an END_STREAM
 * frame, another stream's HEADERS. Without the header the check is skipped;
 * the body is still delimited by the content length lws has already read.
 */
int svc__api_http(lq_server *srv, struct lws *wsi, svc_pss *pss, const char *uri)
{
    if (pss->api) /* HTTP/1.1: a new request on the connection */
        req_free(srv, pss->api);
    svc_api_req *r = req_new(srv, wsi, pss);
    if (!r)
        return -1;
    r->h2 = lws_get_network_wsi(wsi) != wsi;
    r->method = method_of(wsi);
    int metrics_port = lws_get_vhost(wsi) == srv->vh_metrics;
    if (!metrics_port && srv->access) { /* per-address limits, before anything else */
        svc_http_refusal rf;
        int lim = svc__access_http_admit(srv, wsi, &r->limit_key, &rf);
        if (lim < 0)
            return -1;
        if (lim > 0) {
            api__respond_error(srv, r, rf.status, NULL, 0, 0, rf.code, rf.msg);
            r->resp.retry_after = rf.retry_after;
            return 0;
        }
        r->limit_held = 1;
    }
    char err[WS_MESSAGE_MAX];
    int rc = metrics_port ? LQ_ENOTFOUND : api_route_parse(uri, &r->route, err, sizeof err);
    if (rc == LQ_ENOTFOUND) {
        api__respond_error(srv, r, 404, NULL, 0, 0, WS_ERR_INVALID_MESSAGE,
                           "no such API route (see docs/http-api.md)");
        return 0;
    }
    if (rc < 0) {
        api__respond_error(srv, r, 400, NULL, 0, 0, WS_ERR_INVALID_MESSAGE, err);
        return 0;
    }
    if (!api_route_method_ok(r->route.kind, r->method)) {
        snprintf(err, sizeof err, "use %s on this route", api_route_allow(r->route.kind));
        r->resp.allow = api_route_allow(r->route.kind);
        api__respond_error(srv, r, 405, NULL, 0, 0, WS_ERR_INVALID_MESSAGE, err);
        return 0;
    }
    switch (r->route.kind) {
    case API_ROUTE_SESSIONS:
        if (body_prologue(srv, r, (size_t)srv->cfg.json_max_size, 1) < 0)
            return 0;
        if (!api_json_content_type_ok(r->ctype)) {
            api__respond_error(srv, r, 0, NULL, 0, 0, WS_ERR_UNSUPPORTED_FORMAT,
                               "the body must be application/json");
            return 0;
        }
        break;
    case API_ROUTE_FRAMES:
        if (frame_options(srv, r) < 0 ||
            body_prologue(srv, r, (size_t)srv->cfg.ws_max_message_size, 1) < 0)
            return 0;
        if (!api_frame_content_type_ok(r->ctype)) {
            api__respond_error(srv, r, 0, r->route.session_id, r->has_sequence, r->sequence,
                               WS_ERR_UNSUPPORTED_FORMAT,
                               "Content-Type must be image/webp, image/jpeg, image/png or "
                               "application/octet-stream");
            return 0;
        }
        if (r->content_length > 0 && (r->body = malloc((size_t)r->content_length + 1)))
            r->body_cap = (size_t)r->content_length + 1; /* exact: no copy as it grows */
        break;
    case API_ROUTE_STREAM: {
        char buf[WS_SESSION_ID_MAX + 16];
        const char *sid = lws_get_urlarg_by_name(wsi, "session_id=", buf, sizeof buf);
        if (!sid || !ws_session_id_valid(sid, strlen(sid))) {
            api__respond_error(srv, r, 400, NULL, 0, 0, WS_ERR_INVALID_MESSAGE,
                               "process-stream needs ?session_id= with a valid session id");
            return 0;
        }
        snprintf(r->route.session_id, sizeof r->route.session_id, "%s", sid);
        if (body_prologue(srv, r, (size_t)INT64_MAX, 0) < 0)
            return 0;
        break;
    }
    default:
        break;
    }
    if (authorize(srv, r) == 0)
        act(srv, r);
    if (r->h2) { /* everything needed is copied; see above */
        lws_http_headers_detach(wsi);
        /* body bytes that came before this callback are handed over as soon
         * as it returns: counted until the next writeable callback */
        r->deferral = 1;
        lws_callback_on_writable(wsi);
    }
    return 0;
}

int api__collect_body(lq_server *srv, svc_api_req *r, const uint8_t *in, size_t len)
{
    while (len > 0 && !r->body_done && !r->answered) {
        const uint8_t *part = in;
        size_t plen = len, used = len;
        if (r->chunked) {
            int rc = http_chunked_feed(&r->dechunk, in, len, &used, &part, &plen);
            if (rc < 0) {
                api__respond_error(srv, r, 400, NULL, 0, 0, WS_ERR_INVALID_MESSAGE, r->dechunk.err);
                return 0;
            }
            if (rc == HTTP_CHUNKED_DONE)
                r->body_done = 1;
        }
        if (plen > r->body_max - r->body_len) {
            char msg[WS_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "the body is over the limit of %zu bytes", r->body_max);
            api__respond_error(srv, r, 413, r->route.session_id[0] ? r->route.session_id : NULL,
                               r->has_sequence, r->sequence,
                               r->route.kind == API_ROUTE_FRAMES ? WS_ERR_FRAME_TOO_LARGE
                                                                 : WS_ERR_INVALID_MESSAGE,
                               msg);
            return 0;
        }
        if (r->body_len + plen + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap : 64 * 1024;
            while (cap < r->body_len + plen + 1)
                cap *= 2;
            if (cap > r->body_max + 1)
                cap = r->body_max + 1;
            uint8_t *nb = realloc(r->body, cap);
            if (!nb) {
                api__respond_error(srv, r, 0, NULL, 0, 0, WS_ERR_INTERNAL_ERROR, "out of memory");
                return 0;
            }
            r->body = nb;
            r->body_cap = cap;
        }
        if (plen)
            memcpy(r->body + r->body_len, part, plen);
        r->body_len += plen;
        r->body[r->body_len] = 0;
        in += used;
        len -= used;
    }
    return 0;
}

static void body_complete(lq_server *srv, svc_api_req *r)
{
    if (r->answered || !r->authorized)
        return;
    if (r->route.kind == API_ROUTE_SESSIONS)
        create_session(srv, r);
    else if (r->route.kind == API_ROUTE_FRAMES)
        submit_frame(srv, r);
}

int svc__api_body(lq_server *srv, svc_pss *pss, const void *in, size_t len)
{
    svc_api_req *r = pss->api;
    if (!r)
        return 0;
    if (r->deferral)
        r->deferred += len;
    if (r->route.kind == API_ROUTE_STREAM) {
        if (r->stream)
            return api__stream_body(srv, r, in, len);
        if (!r->answered) /* the token is being looked up: keep the bytes */
            buffer_raw(srv, r, in, len);
        return 0;
    }
    if (r->answered || r->body_done)
        return 0;
    api__collect_body(srv, r, in, len);
    if (r->body_done)
        body_complete(srv, r);
    return 0;
}

int svc__api_body_done(lq_server *srv, svc_pss *pss)
{
    svc_api_req *r = pss->api;
    if (!r)
        return 0;
    if (r->route.kind == API_ROUTE_STREAM) {
        if (!r->stream) {
            r->body_done = 1; /* replayed once the stream starts */
            return 0;
        }
        return api__stream_body_done(srv, r);
    }
    if (r->answered || r->body_done)
        return 0;
    if (r->chunked) {
        api__respond_error(srv, r, 400, NULL, 0, 0, WS_ERR_INVALID_MESSAGE,
                           "the body ended before its last chunk");
        return 0;
    }
    r->body_done = 1;
    body_complete(srv, r);
    return 0;
}

/*
 * libwebsockets 4.1.6 grants HTTP/2 flow-control credit back for body bytes
 * only as it parses them for a dispatched request. Bytes that reach a stream
 * before its request is dispatched (LWS_CALLBACK_HTTP runs from a later
 * POLLOUT) are buffered and never credited back, and lws's estimate of the
 * client's window stays that much too high: when the client's window runs
 * out, lws sees credit left, sends no WINDOW_UPDATE, and the upload stalls
 * until lws's 5-second content timeout closes the connection. For a body of
 * known length the fix is exact: grant the rest of the body at once. A
 * process-stream has no known end; its clients are told (docs/http-api.md)
 * to wait for the response head before sending, which rules the case out.
 */
static void settle_deferred_window(lq_server *srv, svc_api_req *r)
{
    (void)srv;
    r->deferral = 0;
    if (!r->deferred)
        return;
    if (r->route.kind == API_ROUTE_STREAM) {
        LQ_WARN(TAG,
                "session %s: %llu stream bytes arrived before the response head; over "
                "HTTP/2 send records only after the 200 (docs/http-api.md)",
                r->route.session_id, (unsigned long long)r->deferred);
        return;
    }
    if (!r->body_done && !r->answered && r->content_length > (int64_t)r->deferred) {
        LQ_DEBUG(TAG, "HTTP/2: %llu body bytes came before dispatch; granting the other %lld",
                 (unsigned long long)r->deferred,
                 (long long)(r->content_length - (int64_t)r->deferred));
        lws_wsi_tx_credit(r->wsi, LWSTXCR_PEER_TO_US,
                          (int)(r->content_length - (int64_t)r->deferred));
    }
}

int svc__api_writeable(lq_server *srv, svc_pss *pss)
{
    svc_api_req *r = pss->api;
    if (!r)
        return 0;
    if (r->deferral)
        settle_deferred_window(srv, r);
    if (r->route.kind == API_ROUTE_STREAM && r->stream) {
        int rc = api__stream_writeable(srv, r);
        if (rc == 1) /* the stream ended: so does the stream / connection */
            req_free(srv, r);
        return rc == 0 ? 0 : -1;
    }
    if (!r->answered) {
        svc_api_session *as = r->session;
        if (as && as->create == r && as->ready)
            respond_created(srv, r);
        if (!r->answered)
            return 0;
    }
    int rc = api__resp_write(srv, r);
    if (rc <= 0)
        return rc;
    /* complete; HTTP/1.1 chunked requests end the connection (lws 4.1.6
     * would wait for the rest of a body it cannot delimit) */
    int close = r->chunked;
    struct lws *wsi = r->wsi;
    req_free(srv, r);
    if (close)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void svc__api_closed(lq_server *srv, svc_pss *pss)
{
    svc_api_req *r = pss->api;
    if (r)
        req_free(srv, r);
}
