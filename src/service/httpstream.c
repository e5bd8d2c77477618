/*
 * httpstream.c - POST /api/tryon/process-stream?session_id=ID: one request
 * whose body is a stream of records (streamframe.h) and whose response
 * streams back one result per frame as soon as it is done (see httpapi.h,
 * docs/http-api.md).
 *
 * The frames go to the session exactly as WebSocket frames do (same queue,
 * drop policy, rate limit, workers); every message requests.c sends to the
 * session lands in the virtual connection's output queue (conn.outq) and
 * is written here as records: a JSON record per message, an image record
 * for the image that follows a processed_frame. The slow-reader policy of
 * the WebSocket applies unchanged: over OUTPUT_QUEUE_MAX queued bytes,
 * processed frames are answered with PROCESSING_TIMEOUT instead, and on
 * HTTP/1.1 the request body is no longer read until the queue drains
 * (libwebsockets 4.1.6 has no receive flow control for HTTP/2 streams).
 *
 * The response ends after the client's END record (or the end of the body)
 * once every frame is answered: a final stats record, then an END record.
 * A corrupt stream gets an error record and the same ending; the rest of
 * the body is ignored.
 */
#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "service/httpapi.h"

#define TAG API_TAG

struct api_stream {
    sf_parser parser;
    int input_done; /* END record, end of body, corrupt stream or session gone */
    int early;      /* input_done before the request body was over (corrupt, session gone) */
    int body_over;  /* the transport says the request body is complete */
    int finishing;  /* final stats queued: the END record comes next */
    int abort;      /* the client does not read: drop the connection */
    int opt_has_seq, opt_has_ts;
    int64_t opt_seq, opt_ts; /* from a JSON record, for the next image */
    size_t head_off;         /* bytes of the first queued message written (its header included) */
    uint8_t *scratch;        /* LWS_PRE + API_CHUNK_PAD + API_WRITE_H1 + API_CHUNK_PAD */
    uint64_t frames;
};

void api__stream_free(api_stream *st)
{
    if (!st)
        return;
    sf_parser_release(&st->parser);
    free(st->scratch);
    free(st);
}

static void stream_error(lq_server *srv, svc_api_req *r, int has_seq, int64_t seq,
                         ws_error_code code, const char *msg)
{
    svc_api_session *as = r->session;
    if (as) /* through requests.c's error path: counted, then delivered to us */
        svc__conn_error(srv, &as->conn, as->id, has_seq, seq, code, msg);
}

static void input_ended(svc_api_req *r)
{
    r->stream->input_done = 1;
    lws_callback_on_writable(r->wsi);
}

static void corrupt(lq_server *srv, svc_api_req *r, ws_error_code code, const char *why)
{
    char msg[WS_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "process-stream: %s; the stream ends here", why);
    LQ_WARN(TAG, "session %s: %s", r->route.session_id, msg);
    stream_error(srv, r, 0, 0, code, msg);
    r->stream->early = !r->stream->body_over;
    input_ended(r);
}

/* After an early end the rest of a body of known end is read and dropped
 * (ending the response while the client still sends would make it lose the
 * answer: a reset HTTP/2 stream, a reset HTTP/1.1 connection). */
static void drain(svc_api_req *r, const uint8_t *in, size_t len)
{
    api_stream *st = r->stream;
    while (r->chunked && len > 0 && !st->body_over) {
        const uint8_t *part;
        size_t plen, used;
        int rc = http_chunked_feed(&r->dechunk, in, len, &used, &part, &plen);
        if (rc < 0 || rc == HTTP_CHUNKED_DONE) { /* over, or no end to wait for */
            st->body_over = 1;
            lws_callback_on_writable(r->wsi);
        }
        in += used;
        len -= used;
    }
}

int api__stream_start(lq_server *srv, svc_api_req *r)
{
    if (srv->stopping) {
        api__respond_error(srv, r, 0, NULL, 0, 0, WS_ERR_SHUTTING_DOWN, NULL);
        return 0;
    }
    svc_api_session *as = api__session_find(srv, r->route.session_id);
    if (!as || !as->conn.session) {
        api__respond_error(srv, r, 0, r->route.session_id, 0, 0, WS_ERR_INVALID_SESSION,
                           "no such session; create it with POST /api/tryon/sessions");
        return 0;
    }
    if (as->stream) {
        api__respond_error(srv, r, 409, as->id, 0, 0, WS_ERR_INVALID_MESSAGE,
                           "the session already has a process-stream");
        return 0;
    }
    api_stream *st = calloc(1, sizeof *st);
    if (st)
        st->scratch = malloc(LWS_PRE + API_CHUNK_PAD + API_WRITE_H1 + API_CHUNK_PAD);
    if (!st || !st->scratch) {
        api__stream_free(st);
        api__respond_error(srv, r, 0, as->id, 0, 0, WS_ERR_INTERNAL_ERROR, "out of memory");
        return 0;
    }
    sf_limits lim = {(uint32_t)srv->cfg.json_max_size, (uint32_t)srv->cfg.ws_max_message_size};
    sf_parser_init(&st->parser, &lim);
    r->stream = st;
    r->session = as;
    as->stream = r;
    as->last_used_ns = lq_clock_ns();
    r->resp.status = 200;
    r->resp.ctype = API_STREAM_CTYPE;
    r->resp.streaming = 1;
    r->answered = 1;
    lws_callback_on_writable(r->wsi); /* the head goes out now: full duplex */
    LQ_INFO(TAG, "session %s: process-stream started over %s", as->id,
            r->h2 ? "HTTP/2" : "HTTP/1.1");
    return 0;
}

/* Reads an integer field 0..2^53 of a JSON record. -1 if present but bad. */
static int int_field(const cJSON *root, const char *name, int *has, int64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    *has = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (d < 0 || d > 9007199254740992.0 || d != (double)(int64_t)d)
        return -1;
    *has = 1;
    *out = (int64_t)d;
    return 0;
}

static void json_record(lq_server *srv, svc_api_req *r, const sf_record *rec)
{
    api_stream *st = r->stream;
    svc_api_session *as = r->session;
    char msg[WS_MESSAGE_MAX];
    const char *text = (const char *)rec->payload;
    cJSON *root = ws_json_depth_ok(text, rec->len, WS_JSON_MAX_DEPTH)
                      ? cJSON_ParseWithLength(text, rec->len)
                      : NULL;
    if (!cJSON_IsObject(root)) {
        snprintf(msg, sizeof msg, "the JSON record at byte %llu is not a JSON object",
                 (unsigned long long)rec->offset);
        stream_error(srv, r, 0, 0, WS_ERR_INVALID_MESSAGE, msg);
        cJSON_Delete(root);
        return;
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (cJSON_IsString(type) && strcmp(type->valuestring, "stats") == 0) {
        if (as && as->conn.session)
            svc__send_stats(srv, as->conn.session);
        cJSON_Delete(root);
        return;
    }
    if (type && !(cJSON_IsString(type) && strcmp(type->valuestring, "process_frame") == 0)) {
        snprintf(
            msg, sizeof msg,
            "the JSON record at byte %llu: \"type\" must be \"process_frame\" (or left out) or "
            "\"stats\"",
            (unsigned long long)rec->offset);
        stream_error(srv, r, 0, 0, WS_ERR_INVALID_MESSAGE, msg);
        cJSON_Delete(root);
        return;
    }
    int has_seq, has_ts;
    int64_t seq = 0, ts = 0;
    if (int_field(root, "sequence", &has_seq, &seq) < 0 ||
        int_field(root, "timestamp", &has_ts, &ts) < 0) {
        snprintf(msg, sizeof msg,
                 "the JSON record at byte %llu: sequence and timestamp must be integers 0..2^53",
                 (unsigned long long)rec->offset);
        stream_error(srv, r, 0, 0, WS_ERR_INVALID_MESSAGE, msg);
        cJSON_Delete(root);
        return;
    }
    st->opt_has_seq = has_seq;
    st->opt_seq = seq;
    st->opt_has_ts = has_ts;
    st->opt_ts = ts;
    cJSON_Delete(root);
}

/* An image record: one frame for the session (takes rec->payload). */
static void image_record(lq_server *srv, svc_api_req *r, sf_record *rec)
{
    api_stream *st = r->stream;
    svc_api_session *as = r->session;
    int64_t seq = st->opt_has_seq ? st->opt_seq : as->next_sequence;
    int has_ts = st->opt_has_ts;
    int64_t ts = st->opt_ts;
    st->opt_has_seq = st->opt_has_ts = 0;
    if (seq >= as->next_sequence)
        as->next_sequence = seq + 1;
    st->frames++;
    as->last_used_ns = lq_clock_ns();
    if (api__waiter(as, seq)) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "frame %lld: a POST /frames request waits for this sequence",
                 (long long)seq);
        stream_error(srv, r, 1, seq, WS_ERR_INVALID_MESSAGE, msg);
        free(rec->payload);
        return;
    }
    srv->metrics.bytes_in += rec->len;
    svc__submit_frame(srv, &as->conn, as->id, seq, has_ts, ts, rec->payload, rec->len);
}

static void feed_records(lq_server *srv, svc_api_req *r, const uint8_t *p, size_t n)
{
    api_stream *st = r->stream;
    while (n > 0 && !st->input_done) {
        sf_record rec;
        size_t used = 0;
        int rc = sf_parser_feed(&st->parser, p, n, &used, &rec);
        p += used;
        n -= used;
        if (rc < 0) { /* an image over WS_MAX_MESSAGE_SIZE is a frame too large */
            int big_image = rc == LQ_ELIMIT && st->parser.hdr[4] == SF_IMAGE;
            corrupt(srv, r, big_image ? WS_ERR_FRAME_TOO_LARGE : WS_ERR_INVALID_MESSAGE,
                    st->parser.err);
            return;
        }
        if (rc == 0)
            return;
        switch (rec.type) {
        case SF_JSON:
            json_record(srv, r, &rec);
            free(rec.payload);
            break;
        case SF_IMAGE:
            image_record(srv, r, &rec);
            break;
        case SF_END:
            free(rec.payload);
            input_ended(r);
            break;
        }
    }
}

int api__stream_body(lq_server *srv, svc_api_req *r, const uint8_t *in, size_t len)
{
    api_stream *st = r->stream;
    if (!st)
        return 0;
    if (st->input_done) { /* the rest of a finished or corrupt stream is dropped */
        drain(r, in, len);
        return 0;
    }
    while (len > 0 && !st->input_done) {
        const uint8_t *part = in;
        size_t plen = len, used = len;
        int last = 0;
        if (r->chunked) {
            int rc = http_chunked_feed(&r->dechunk, in, len, &used, &part, &plen);
            if (rc < 0) {
                st->body_over = 1; /* its end cannot be found */
                corrupt(srv, r, WS_ERR_INVALID_MESSAGE, r->dechunk.err);
                return 0;
            }
            last = rc == HTTP_CHUNKED_DONE;
            if (last)
                st->body_over = 1;
        }
        feed_records(srv, r, part, plen);
        in += used;
        len -= used;
        if (st->input_done && !last) { /* ended inside this piece: drop the rest */
            drain(r, in, len);
            return 0;
        }
        if (last && !st->input_done) {
            if (sf_parser_finish(&st->parser) < 0)
                corrupt(srv, r, WS_ERR_INVALID_MESSAGE, st->parser.err);
            else
                input_ended(r);
        }
    }
    return 0;
}

int api__stream_body_done(lq_server *srv, svc_api_req *r)
{
    api_stream *st = r->stream;
    if (!st)
        return 0;
    st->body_over = 1;
    if (st->input_done) {
        lws_callback_on_writable(r->wsi); /* an early end was waiting for this */
        return 0;
    }
    if (r->chunked)
        corrupt(srv, r, WS_ERR_INVALID_MESSAGE, "the body ended before its last chunk");
    else if (r->content_length < 0)
        corrupt(srv, r, WS_ERR_INVALID_MESSAGE,
                "a body without a length ends after 100 MiB (libwebsockets); start a new stream");
    else if (sf_parser_finish(&st->parser) < 0)
        corrupt(srv, r, WS_ERR_INVALID_MESSAGE, st->parser.err);
    else
        input_ended(r);
    return 0;
}

void api__stream_push(lq_server *srv, svc_api_session *as, ws_out *m)
{
    svc_api_req *r = as->stream;
    svc_conn *c = &as->conn;
    if (!r || !r->stream || r->stream->abort) {
        ws_out_free(m);
        return;
    }
    if (m->kind == WS_OUT_CONTROL)
        c->ctrl_bytes += m->len;
    ws_outq_push(&c->outq, m);
    size_t cap = (size_t)srv->cfg.output_queue_max;
    if (!c->rx_paused && c->outq.bytes > cap) {
        c->rx_paused = 1;
        lws_rx_flow_control(r->wsi, 0); /* HTTP/1.1 only: lws ignores it on HTTP/2 */
        LQ_WARN(TAG, "session %s: stream output over %zu bytes: pausing its input", as->id, cap);
    }
    if (c->ctrl_bytes > 2 * cap && !r->stream->abort) {
        LQ_WARN(TAG, "session %s: the stream client is not reading; dropping it", as->id);
        r->stream->abort = 1;
    }
    lws_callback_on_writable(r->wsi);
}

void api__stream_session_gone(lq_server *srv, svc_api_req *r)
{
    (void)srv;
    if (r->stream && !r->stream->input_done) {
        r->stream->early = !r->stream->body_over;
        input_ended(r);
    }
}

/* Once the input is over and every frame answered: the final stats. */
static void maybe_finish(lq_server *srv, svc_api_req *r)
{
    api_stream *st = r->stream;
    if (st->finishing || !st->input_done)
        return;
    if (st->early && !st->body_over && (r->content_length >= 0 || r->chunked))
        return; /* the client still sends the rest of its body (drain) */
    svc_session *s = r->session ? r->session->conn.session : NULL;
    if (s && (svc_session_waiting(s) > 0 || s->in_flight))
        return; /* answers still to come */
    if (s)
        svc__send_stats(srv, s); /* comes back through svc__api_deliver into the queue */
    st->finishing = 1;
}

/* Copies queued messages, as records, into dst (at most room bytes). */
static size_t fill(svc_conn *c, api_stream *st, uint8_t *dst, size_t room)
{
    size_t n = 0;
    while (c->outq.head && n < room) {
        ws_out *m = c->outq.head;
        uint8_t hdr[SF_HEADER_SIZE];
        sf_write_header(hdr, m->binary ? SF_IMAGE : SF_JSON, (uint32_t)m->len);
        size_t total = SF_HEADER_SIZE + m->len;
        while (st->head_off < total && n < room) {
            size_t k;
            if (st->head_off < SF_HEADER_SIZE) {
                k = SF_HEADER_SIZE - st->head_off;
                if (k > room - n)
                    k = room - n;
                memcpy(dst + n, hdr + st->head_off, k);
            } else {
                size_t off = st->head_off - SF_HEADER_SIZE;
                k = m->len - off;
                if (k > room - n)
                    k = room - n;
                memcpy(dst + n, m->payload + off, k);
            }
            n += k;
            st->head_off += k;
        }
        if (st->head_off < total)
            break;
        ws_out *done = ws_outq_pop(&c->outq);
        if (done->kind == WS_OUT_CONTROL)
            c->ctrl_bytes -= done->len;
        ws_out_free(done);
        st->head_off = 0;
    }
    return n;
}

int api__stream_writeable(lq_server *srv, svc_api_req *r)
{
    api_stream *st = r->stream;
    svc_api_session *as = r->session;
    svc_conn *c = as ? &as->conn : NULL;
    if (st->abort)
        return 1;
    if (!r->resp.head_sent) {
        if (api__resp_send_head(srv, r) < 0)
            return -1;
        lws_callback_on_writable(r->wsi);
        return 0;
    }
    maybe_finish(srv, r);
    size_t room = api__resp_room(r->wsi, r->h2);
    if (room == 0)
        return 0; /* the peer's window is shut: lws calls back on WINDOW_UPDATE */
    uint8_t *base = st->scratch + LWS_PRE + API_CHUNK_PAD;
    size_t n = c ? fill(c, st, base, room) : 0;
    int final = 0;
    if ((!c || !c->outq.head) && st->finishing && room - n >= SF_HEADER_SIZE) {
        sf_write_header(base + n, SF_END, 0);
        n += SF_HEADER_SIZE;
        final = 1;
    }
    if (n > 0 && api__resp_write_piece(r->wsi, base, n, !r->h2, final) < 0)
        return -1;
    srv->metrics.bytes_out += n;
    if (c && c->rx_paused && c->outq.bytes < (size_t)srv->cfg.output_queue_max / 2 &&
        !lws_partial_buffered(r->wsi)) {
        c->rx_paused = 0;
        lws_rx_flow_control(r->wsi, 1);
    }
    if (final) {
        LQ_INFO(TAG, "session %s: process-stream ended after %llu frames", r->route.session_id,
                (unsigned long long)st->frames);
        return 1;
    }
    if ((c && c->outq.head) || st->finishing)
        lws_callback_on_writable(r->wsi);
    return 0;
}
