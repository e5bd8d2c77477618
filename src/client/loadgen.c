/* loadgen.c - N camera-like sessions against the try-on service (see loadgen.h). */
#include "client/loadgen.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/log.h"
#include "client/messages.h"
#include "client/schedule.h"
#include "client/wsclient.h"
#include "hand/hand.h"
#include "image/codec.h"
#include "nails/design.h"

#define TAG "load"
#define RING 1024                    /* frames in flight remembered per session */
#define HOUSEKEEPING_NS 100000000ull /* 100 ms */
#define CLOSE_TIMEOUT_NS 5000000000ull
#define NS_PER_S 1e9

enum { KIND_CONTROL = 0, KIND_FRAME = 1, KIND_FRAME_REST = 2 };
#define MSG_TAG(seq, kind) (((uint64_t)(seq) << 2) | (uint64_t)(kind))

enum sess_state {
    S_CONNECTING = 0,
    S_WAIT_READY, /* init_session sent */
    S_READY,      /* waiting for the other sessions */
    S_STREAMING,
    S_DRAINING, /* last slot passed; waiting for replies */
    S_CLOSING,  /* close_session sent */
    S_DONE,     /* connection gone */
};

typedef struct inflight {
    int64_t seq;
    uint64_t send_ns; /* 0 until the first byte went to the socket */
    int width, height;
    int used;
} inflight;

typedef struct sess {
    lq_load *ld;
    int index;
    char id[LQ_CLIENT_SESSION_ID_MAX + 1];
    const lq_client_frames *frames;
    lq_client_conn *conn;
    enum sess_state state;
    int failed;
    uint64_t init_ns;
    uint64_t deadline_ns; /* of the current waiting state */
    lq_client_sched sched;
    lq_client_timer *timer;
    int64_t warm_k; /* first slot counted in the latency statistics */
    inflight ring[RING];
    int64_t outstanding;
    int await_image; /* encoding 1: processed_frame text seen, image next */
    lq_client_reply pending;
    char *txbuf;
    size_t txcap;
    uint8_t *img;
    size_t img_cap;
    int has_stats;
    lq_client_reply stats;
} sess;

struct lq_load {
    lq_load_opts o;
    lq_client_url url;
    lq_format out_format;
    const lq_client_frames *const *sets;
    int nsets;
    lq_client *cl;
    lq_client_timer *housekeeping;
    sess *s;
    volatile sig_atomic_t stop;
    int stop_handled;
    int ran, finished, started;
    uint64_t begin_ns, t0_ns, stream_stop_ns, last_progress_ns, hard_deadline_ns;
    int streaming_left;
    lq_load_report rep;
    lq_client_hist interval;
    uint64_t interval_processed;
};

/* ------------------------------------------------------------------ */
/* options                                                             */

static const char *const enc_names[] = {NULL, "text", "binary", "base64"};

int lq_load_encoding_parse(const char *s, lq_load_encoding *out)
{
    if (!s || !out)
        return LQ_EINVAL;
    if (!strcasecmp(s, "text") || !strcasecmp(s, "split") || !strcmp(s, "1"))
        *out = LQ_LOAD_ENC_TEXT;
    else if (!strcasecmp(s, "binary") || !strcasecmp(s, "header") || !strcmp(s, "2"))
        *out = LQ_LOAD_ENC_BINARY;
    else if (!strcasecmp(s, "base64") || !strcmp(s, "3"))
        *out = LQ_LOAD_ENC_BASE64;
    else
        return LQ_EINVAL;
    return 0;
}

const char *lq_load_encoding_name(lq_load_encoding e)
{
    return e >= LQ_LOAD_ENC_TEXT && e <= LQ_LOAD_ENC_BASE64 ? enc_names[e] : "unknown";
}

int lq_load_check_parse(const char *s, lq_load_check *out)
{
    if (!s || !out)
        return LQ_EINVAL;
    if (!strcasecmp(s, "none"))
        *out = LQ_LOAD_CHECK_NONE;
    else if (!strcasecmp(s, "header"))
        *out = LQ_LOAD_CHECK_HEADER;
    else if (!strcasecmp(s, "decode"))
        *out = LQ_LOAD_CHECK_DECODE;
    else
        return LQ_EINVAL;
    return 0;
}

const char *lq_load_check_name(lq_load_check c)
{
    return c == LQ_LOAD_CHECK_NONE ? "none" : c == LQ_LOAD_CHECK_HEADER ? "header" : "decode";
}

static int bad(char *err, size_t errlen, const char *fmt, ...) LQ_PRINTF(3, 4);
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return LQ_EINVAL;
}

static int validate_design(const char *json, char *err, size_t errlen)
{
    const size_t len = strlen(json);
    if (len > NAIL_DESIGN_MAX_JSON)
        return bad(err, errlen, "design: more than %u bytes of JSON", NAIL_DESIGN_MAX_JSON);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bad(err, errlen, "design: not a JSON object");
    }
    nail_design d;
    char why[256] = "";
    int rc = nail_design_from_cjson(root, &d, why, sizeof why);
    cJSON_Delete(root);
    if (rc < 0)
        return bad(err, errlen, "design: %s", why[0] ? why : lq_strerror(rc));
    return 0;
}

static int printable_token(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

int lq_load_opts_validate(const lq_load_opts *o, char *err, size_t errlen)
{
    if (!o)
        return LQ_EINVAL;
    if (!o->url || !o->url[0])
        return bad(err, errlen, "--url is required (ws://HOST:PORT/ws/tryon)");
    lq_client_url u;
    char why[256];
    if (lq_client_url_parse(o->url, &u, why, sizeof why) < 0)
        return bad(err, errlen, "--url: %s", why);
    if (o->sessions < 1 || o->sessions > LQ_LOAD_MAX_SESSIONS)
        return bad(err, errlen, "--sessions must be 1..%d (got %d)", LQ_LOAD_MAX_SESSIONS,
                   o->sessions);
    if (!(o->fps >= LQ_CLIENT_FPS_MIN && o->fps <= LQ_CLIENT_FPS_MAX))
        return bad(err, errlen, "--fps must be %g..%g (got %g)", LQ_CLIENT_FPS_MIN,
                   LQ_CLIENT_FPS_MAX, o->fps);
    if (!(o->seconds >= 0.1 && o->seconds <= LQ_LOAD_MAX_SECONDS))
        return bad(err, errlen, "--seconds must be 0.1..%g (got %g)", LQ_LOAD_MAX_SECONDS,
                   o->seconds);
    if (!(o->warmup_s >= 0 && o->warmup_s < o->seconds))
        return bad(err, errlen, "--warmup must be at least 0 and less than --seconds (got %g)",
                   o->warmup_s);
    if (o->encoding < LQ_LOAD_ENC_TEXT || o->encoding > LQ_LOAD_ENC_BASE64)
        return bad(err, errlen, "--encoding must be text, binary or base64");
    if (o->check < LQ_LOAD_CHECK_NONE || o->check > LQ_LOAD_CHECK_DECODE)
        return bad(err, errlen, "--check must be none, header or decode");
    if (o->max_message < LQ_LOAD_MESSAGE_MIN || o->max_message > LQ_LOAD_MESSAGE_MAX)
        return bad(err, errlen, "--max-message must be %zu..%zu bytes (got %zu)",
                   LQ_LOAD_MESSAGE_MIN, LQ_LOAD_MESSAGE_MAX, o->max_message);
    if (!(o->ready_timeout_s >= 1 && o->ready_timeout_s <= 600))
        return bad(err, errlen, "the ready timeout must be 1..600 s (got %g)", o->ready_timeout_s);
    if (!(o->drain_timeout_s >= 0 && o->drain_timeout_s <= 600))
        return bad(err, errlen, "--drain must be 0..600 s (got %g)", o->drain_timeout_s);
    if (!o->session_prefix || !o->session_prefix[0] ||
        strlen(o->session_prefix) > LQ_LOAD_SESSION_PREFIX_MAX ||
        !lq_client_session_id_valid(o->session_prefix))
        return bad(err, errlen, "--session-prefix must be 1..%d characters of A-Z a-z 0-9 . _ : -",
                   LQ_LOAD_SESSION_PREFIX_MAX);
    if (o->quality && strcmp(o->quality, "low") && strcmp(o->quality, "balanced") &&
        strcmp(o->quality, "high"))
        return bad(err, errlen, "--quality must be low, balanced or high (not '%.40s')",
                   o->quality);
    if (o->output_format) {
        lq_format f = lq_format_parse(o->output_format);
        if (f == LQ_FMT_UNKNOWN)
            return bad(err, errlen, "--output-format must be webp, jpeg or png (not '%.40s')",
                       o->output_format);
    }
    if (o->output_quality < 0 || o->output_quality > 100)
        return bad(err, errlen, "--output-quality must be 1..100 (got %d)", o->output_quality);
    if (o->max_hands < 0 || o->max_hands > LQ_HAND_MAX)
        return bad(err, errlen, "--max-hands must be 1..%d (got %d)", LQ_HAND_MAX, o->max_hands);
    if (o->reference_url) {
        if (strlen(o->reference_url) > LQ_LOAD_URL_FIELD_MAX ||
            (strncasecmp(o->reference_url, "http://", 7) &&
             strncasecmp(o->reference_url, "https://", 8)) ||
            !printable_token(o->reference_url))
            return bad(err, errlen, "--reference must be an http(s) URL of at most %d bytes",
                       LQ_LOAD_URL_FIELD_MAX);
    }
    if (o->token && (!o->token[0] || strlen(o->token) > 256 || !printable_token(o->token)))
        return bad(err, errlen, "--token must be 1..256 printable characters without spaces");
    if (o->design_json && validate_design(o->design_json, err, errlen) < 0)
        return LQ_EINVAL;
    if (o->save_dir) {
        struct stat st;
        if (stat(o->save_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return bad(err, errlen, "--save: %s is not a folder", o->save_dir);
    }
    return 0;
}

/* Bytes of the largest message a frame becomes in the chosen encoding. */
static size_t message_bytes(lq_load_encoding e, size_t frame_len)
{
    switch (e) {
    case LQ_LOAD_ENC_BINARY:
        return LQ_CLIENT_HEADER_SIZE + frame_len;
    case LQ_LOAD_ENC_BASE64:
        return LQ_CLIENT_FRAME_HEADER_MAX + 4 * ((frame_len + 2) / 3);
    default:
        return frame_len;
    }
}

/* ------------------------------------------------------------------ */
/* sessions                                                            */

static void maybe_start(lq_load *ld);
static void begin_close(sess *s);

static void fail_session(sess *s, const char *fmt, ...) LQ_PRINTF(2, 3);
static void fail_session(sess *s, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lq_load_report_failure(&s->ld->rep, "session %s: %s", s->id, msg);
    if (!s->failed) {
        s->failed = 1;
        s->ld->rep.sessions_failed++;
    }
}

static inflight *match(sess *s, const lq_client_reply *r)
{
    if (!r->has_sequence)
        return NULL;
    inflight *e = &s->ring[r->sequence % RING];
    return e->used && e->seq == r->sequence ? e : NULL;
}

static void release(sess *s, inflight *e)
{
    e->used = 0;
    s->outstanding--;
    if (s->state == S_DRAINING && s->outstanding <= 0)
        begin_close(s);
}

static void leave_streaming(sess *s)
{
    lq_load *ld = s->ld;
    lq_client_timer_cancel(s->timer);
    ld->rep.slots += (uint64_t)s->sched.next;
    if (--ld->streaming_left == 0)
        ld->stream_stop_ns = lq_clock_ns();
}

static void begin_drain(sess *s, double timeout_s)
{
    leave_streaming(s);
    s->state = S_DRAINING;
    s->deadline_ns = lq_clock_ns() + (uint64_t)(timeout_s * NS_PER_S);
    if (s->outstanding <= 0)
        begin_close(s);
}

static void begin_close(sess *s)
{
    if (s->state >= S_CLOSING)
        return;
    if (s->state == S_STREAMING)
        leave_streaming(s);
    s->state = S_CLOSING;
    s->deadline_ns = lq_clock_ns() + CLOSE_TIMEOUT_NS;
    char msg[256];
    int n = lq_client_msg_close(msg, sizeof msg, s->id, "client_done", lq_clock_epoch_ms());
    if (n < 0 || lq_client_send(s->conn, 0, msg, (size_t)n, NULL, 0, MSG_TAG(0, KIND_CONTROL)) < 0)
        lq_client_conn_close(s->conn, 1000);
}

static void send_frame(sess *s, int64_t k)
{
    lq_load *ld = s->ld;
    const lq_client_frame *f = lq_client_frames_at(s->frames, k);
    inflight *e = &s->ring[k % RING];
    if (e->used) {
        /* RING frames later and still no reply: give up on it. */
        ld->rep.unanswered++;
        e->used = 0;
        s->outstanding--;
    }
    const int64_t ts = lq_clock_epoch_ms();
    int rc;
    size_t bytes = 0;
    if (ld->o.encoding == LQ_LOAD_ENC_BASE64) {
        int n =
            lq_client_msg_frame_base64(&s->txbuf, &s->txcap, ld->o.max_message, s->id, k, ts, f);
        rc = n < 0
                 ? n
                 : lq_client_send(s->conn, 0, s->txbuf, (size_t)n, NULL, 0, MSG_TAG(k, KIND_FRAME));
        bytes = n < 0 ? 0 : (size_t)n;
    } else {
        char hdr[LQ_CLIENT_HEADER_SIZE];
        int n = lq_client_msg_frame_header(hdr, LQ_CLIENT_FRAME_HEADER_MAX, s->id, k, ts, f);
        if (n < 0) {
            rc = n;
        } else if (ld->o.encoding == LQ_LOAD_ENC_BINARY) {
            memset(hdr + n, ' ', sizeof hdr - (size_t)n);
            rc = lq_client_send(s->conn, 1, hdr, sizeof hdr, f->data, f->len,
                                MSG_TAG(k, KIND_FRAME));
            bytes = sizeof hdr + f->len;
        } else {
            rc = lq_client_send(s->conn, 0, hdr, (size_t)n, NULL, 0, MSG_TAG(k, KIND_FRAME));
            if (rc == 0)
                rc = lq_client_send(s->conn, 1, NULL, 0, f->data, f->len,
                                    MSG_TAG(k, KIND_FRAME_REST));
            bytes = (size_t)n + f->len;
        }
    }
    if (rc < 0) {
        ld->rep.client_drops++;
        if (rc != LQ_ECLOSED)
            lq_load_report_failure(&ld->rep, "session %s: frame %" PRId64 " not sent: %s", s->id, k,
                                   lq_strerror(rc));
        return;
    }
    e->used = 1;
    e->seq = k;
    e->send_ns = 0;
    e->width = f->width;
    e->height = f->height;
    s->outstanding++;
    ld->rep.sent++;
    ld->rep.bytes_sent += bytes;
}

static void frame_timer(void *user)
{
    sess *s = user;
    lq_load *ld = s->ld;
    if (s->state != S_STREAMING)
        return;
    const int busy = lq_client_conn_pending(s->conn) > 0;
    lq_client_sched_step st = lq_client_sched_tick(&s->sched, (int64_t)lq_clock_ns(), busy);
    ld->rep.client_drops += (uint64_t)st.dropped;
    if (st.send >= 0)
        send_frame(s, st.send);
    if (st.done)
        begin_drain(s, ld->o.drain_timeout_s);
    else
        lq_client_timer_at(s->timer, (uint64_t)st.wake_ns);
}

/* ------------------------------------------------------------------ */
/* replies                                                             */

static int check_image(sess *s, const inflight *e, const lq_client_reply *r, const uint8_t *img,
                       size_t len, char *why, size_t whylen)
{
    lq_load *ld = s->ld;
    if (!img || len == 0) {
        snprintf(why, whylen, "no image");
        return 0;
    }
    if (r->size_bytes >= 0 && (uint64_t)r->size_bytes != len) {
        snprintf(why, whylen, "size_bytes %" PRId64 " but %zu bytes came", r->size_bytes, len);
        return 0;
    }
    lq_format fmt = LQ_FMT_UNKNOWN;
    int w = 0, h = 0;
    if (ld->o.check == LQ_LOAD_CHECK_DECODE) {
        lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
        lq_image im = {0};
        char derr[128] = "";
        if (lq_image_decode(img, len, &lim, &im, derr, sizeof derr) < 0) {
            snprintf(why, whylen, "cannot decode the image: %s", derr);
            return 0;
        }
        w = im.width;
        h = im.height;
        lq_image_free(&im);
        fmt = lq_image_sniff(img, len);
    } else if (lq_image_probe(img, len, &fmt, &w, &h) < 0) {
        snprintf(why, whylen, "the image header cannot be read");
        return 0;
    }
    if (fmt != ld->out_format) {
        snprintf(why, whylen, "a %s image came, %s was asked", lq_format_name(fmt),
                 lq_format_name(ld->out_format));
        return 0;
    }
    if (e && (w != e->width || h != e->height)) {
        snprintf(why, whylen, "the image is %dx%d, the frame sent was %dx%d", w, h, e->width,
                 e->height);
        return 0;
    }
    return 1;
}

static void save_image(sess *s, int64_t seq, const uint8_t *img, size_t len)
{
    lq_load *ld = s->ld;
    char path[4096];
    const char *ext = ld->out_format == LQ_FMT_JPEG ? "jpg" : lq_format_name(ld->out_format);
    if (snprintf(path, sizeof path, "%s/%s-%08" PRId64 ".%s", ld->o.save_dir, s->id, seq, ext) >=
        (int)sizeof path) {
        ld->rep.save_failed++;
        return;
    }
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(img, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    if (ok) {
        ld->rep.saved++;
    } else {
        if (ld->rep.save_failed++ == 0)
            lq_load_report_failure(&ld->rep, "cannot write %s: %s", path, strerror(errno));
    }
}

static void complete_processed(sess *s, const lq_client_reply *r, const uint8_t *img, size_t len)
{
    lq_load *ld = s->ld;
    lq_load_report *rep = &ld->rep;
    const uint64_t now = lq_clock_ns();
    rep->replies++;
    rep->processed++;
    ld->interval_processed++;
    inflight *e = match(s, r);
    if (!e) {
        lq_load_report_failure(
            rep, "session %s: a processed_frame for sequence %" PRId64 " that is not in flight",
            s->id, r->sequence);
    }
    const int counted = e && r->sequence >= s->warm_k;
    if (counted && e->send_ns) {
        const uint64_t us = (now - e->send_ns) / 1000u;
        lq_client_hist_add(&rep->latency_us, us);
        lq_client_hist_add(&ld->interval, us);
    }
    if (counted && r->processing_ms >= 0)
        lq_client_hist_add(&rep->server_us, (uint64_t)llround(r->processing_ms * 1000.0));
    if (counted)
        for (int i = 0; i < LQ_STAGE_COUNT; i++)
            if (r->stage_ms[i] >= 0) {
                rep->stage_ms_sum[i] += r->stage_ms[i];
                rep->stage_n[i]++;
            }
    if (ld->o.check != LQ_LOAD_CHECK_NONE) {
        char why[160];
        rep->checked++;
        if (!check_image(s, e, r, img, len, why, sizeof why)) {
            rep->check_failed++;
            lq_load_report_failure(rep, "session %s: frame %" PRId64 ": %s", s->id, r->sequence,
                                   why);
        }
    }
    if (ld->o.save_dir && img && len)
        save_image(s, r->sequence, img, len);
    if (e)
        release(s, e);
}

static void handle_error(sess *s, const lq_client_reply *r)
{
    lq_load *ld = s->ld;
    lq_load_report_count_code(&ld->rep, r->code);
    inflight *e = match(s, r);
    if (e) {
        ld->rep.replies++;
        if (strcmp(r->code, "PROCESSING_TIMEOUT") == 0)
            ld->rep.server_drops++;
        else
            ld->rep.errors++;
        release(s, e);
        return;
    }
    if (s->state == S_WAIT_READY || s->state == S_CONNECTING) {
        fail_session(s, "init_session refused: %s: %s", r->code, r->message);
        lq_client_conn_close(s->conn, 1000);
        return;
    }
    if (!r->recoverable)
        fail_session(s, "%s: %s", r->code, r->message);
}

static void handle_control(sess *s, const lq_client_reply *r)
{
    lq_load *ld = s->ld;
    switch (r->type) {
    case LQ_REPLY_ERROR:
        handle_error(s, r);
        break;
    case LQ_REPLY_SESSION_READY:
        if (s->state == S_WAIT_READY) {
            s->state = S_READY;
            ld->rep.sessions_ready++;
            const double ms = (double)(lq_clock_ns() - s->init_ns) / 1e6;
            if (ms > ld->rep.ready_ms_max)
                ld->rep.ready_ms_max = ms;
            maybe_start(ld);
        }
        break;
    case LQ_REPLY_STATS:
        s->stats = *r;
        s->has_stats = 1;
        break;
    case LQ_REPLY_SESSION_CLOSED:
        lq_client_conn_close(s->conn, 1000);
        break;
    case LQ_REPLY_CLOSE_SESSION:
        if (s->state < S_CLOSING) {
            fail_session(s, "the service closed the session (%s)", r->reason);
            if (s->state == S_STREAMING)
                leave_streaming(s);
            s->state = S_CLOSING;
            s->deadline_ns = lq_clock_ns() + CLOSE_TIMEOUT_NS;
        }
        break;
    default:
        break;
    }
}

static void on_message(lq_client_conn *c, void *user, int binary, const uint8_t *data, size_t len)
{
    (void)c;
    sess *s = user;
    lq_load *ld = s->ld;
    ld->rep.bytes_received += len;
    lq_client_reply r;
    if (binary) {
        if (ld->o.encoding == LQ_LOAD_ENC_TEXT && s->await_image) {
            s->await_image = 0;
            complete_processed(s, &s->pending, data, len);
            return;
        }
        const uint8_t *img = NULL;
        size_t img_len = 0;
        if (ld->o.encoding == LQ_LOAD_ENC_BINARY &&
            lq_client_reply_parse_binary(data, len, &r, &img, &img_len) == 0) {
            if (r.type == LQ_REPLY_PROCESSED_FRAME)
                complete_processed(s, &r, img, img_len);
            else
                handle_control(s, &r);
            return;
        }
        lq_load_report_failure(&ld->rep, "session %s: an unexpected binary message (%zu bytes)",
                               s->id, len);
        return;
    }
    size_t img_len = 0;
    int rc = lq_client_reply_parse((const char *)data, len, &r,
                                   ld->o.encoding == LQ_LOAD_ENC_BASE64 ? &s->img : NULL,
                                   &s->img_cap, &img_len, ld->o.max_message);
    if (rc < 0) {
        lq_load_report_failure(&ld->rep, "session %s: a reply that cannot be read (%s)", s->id,
                               lq_strerror(rc));
        return;
    }
    if (r.type != LQ_REPLY_PROCESSED_FRAME) {
        /* An error for a dropped frame may come between a processed_frame
         * and its image: keep waiting for the image. */
        handle_control(s, &r);
        return;
    }
    switch (ld->o.encoding) {
    case LQ_LOAD_ENC_TEXT:
        if (s->await_image) {
            lq_load_report_failure(&ld->rep,
                                   "session %s: processed_frame %" PRId64 " came without its image",
                                   s->id, s->pending.sequence);
            complete_processed(s, &s->pending, NULL, 0);
        }
        s->pending = r;
        s->await_image = 1;
        break;
    case LQ_LOAD_ENC_BASE64:
        complete_processed(s, &r, s->img, img_len);
        break;
    default:
        complete_processed(s, &r, NULL, 0); /* a text reply to a binary request */
        break;
    }
}

static void on_open(lq_client_conn *c, void *user)
{
    sess *s = user;
    lq_load *ld = s->ld;
    const lq_client_session_config cfg = {ld->o.quality, ld->o.output_format, ld->o.output_quality,
                                          0, ld->o.max_hands};
    char err[256];
    char *msg = lq_client_msg_init(s->id, ld->o.design_json, ld->o.reference_url, &cfg,
                                   lq_clock_epoch_ms(), err, sizeof err);
    if (!msg) {
        fail_session(s, "cannot build init_session: %s", err);
        lq_client_conn_close(c, 1000);
        return;
    }
    int rc = lq_client_send(c, 0, msg, strlen(msg), NULL, 0, MSG_TAG(0, KIND_CONTROL));
    free(msg);
    if (rc < 0) {
        fail_session(s, "cannot send init_session: %s", lq_strerror(rc));
        lq_client_conn_close(c, 1000);
        return;
    }
    s->state = S_WAIT_READY;
    s->init_ns = lq_clock_ns();
}

static void on_sent(lq_client_conn *c, void *user, uint64_t tag, uint64_t at_ns)
{
    (void)c;
    sess *s = user;
    if ((tag & 3u) != KIND_FRAME)
        return;
    const int64_t seq = (int64_t)(tag >> 2);
    inflight *e = &s->ring[seq % RING];
    if (e->used && e->seq == seq)
        e->send_ns = at_ns;
}

static void check_finished(lq_load *ld)
{
    for (int i = 0; i < ld->o.sessions; i++)
        if (ld->s[i].state != S_DONE)
            return;
    ld->finished = 1;
}

static void on_close(lq_client_conn *c, void *user, int code, const char *reason)
{
    (void)c;
    sess *s = user;
    lq_load *ld = s->ld;
    const enum sess_state was = s->state;
    if (was == S_DONE)
        return;
    if (was == S_STREAMING)
        leave_streaming(s);
    s->state = S_DONE;
    lq_client_timer_cancel(s->timer);
    if (s->outstanding > 0) {
        ld->rep.unanswered += (uint64_t)s->outstanding;
        s->outstanding = 0;
        memset(s->ring, 0, sizeof s->ring);
    }
    if (s->await_image) {
        s->await_image = 0;
        ld->rep.unanswered++;
    }
    if (!s->failed && was != S_CLOSING) {
        char why[160];
        if (code < 0)
            snprintf(why, sizeof why, "%s%s%s", lq_strerror(code), reason[0] ? ": " : "", reason);
        else
            snprintf(why, sizeof why, "close code %d%s%s", code, reason[0] ? ": " : "", reason);
        if (was <= S_WAIT_READY)
            fail_session(s, "could not start (%s)", why);
        else
            fail_session(s, "connection lost while streaming (%s)", why);
    }
    if (s->has_stats) {
        ld->rep.srv_stats_sessions++;
        ld->rep.srv_frames_received += s->stats.frames_received;
        ld->rep.srv_frames_processed += s->stats.frames_processed;
        ld->rep.srv_frames_dropped += s->stats.frames_dropped;
        ld->rep.srv_frames_with_errors += s->stats.frames_with_errors;
    }
    maybe_start(ld);
    check_finished(ld);
}

static const lq_client_events events = {on_open, on_message, on_sent, on_close};

/* ------------------------------------------------------------------ */
/* the run                                                             */

/* Once every session is ready or gone, they all start streaming. */
static void maybe_start(lq_load *ld)
{
    if (ld->started)
        return;
    int ready = 0;
    for (int i = 0; i < ld->o.sessions; i++) {
        if (ld->s[i].state < S_READY)
            return;
        ready += ld->s[i].state == S_READY;
    }
    ld->started = 1;
    if (ready == 0)
        return;
    const double period_ns = NS_PER_S / ld->o.fps;
    ld->t0_ns = lq_clock_ns() + 10000000ull; /* 10 ms: let the last session_ready settle */
    int r = 0;
    for (int i = 0; i < ld->o.sessions; i++) {
        sess *s = &ld->s[i];
        if (s->state != S_READY)
            continue;
        const int64_t t0 = (int64_t)ld->t0_ns + (int64_t)(period_ns * r / ready);
        r++;
        if (lq_client_sched_init(&s->sched, t0, ld->o.fps,
                                 t0 + (int64_t)(ld->o.seconds * NS_PER_S)) < 0) {
            fail_session(s, "bad schedule");
            begin_close(s);
            continue;
        }
        s->warm_k = (int64_t)ceil(ld->o.warmup_s * ld->o.fps);
        s->state = S_STREAMING;
        ld->streaming_left++;
        lq_client_timer_at(s->timer, (uint64_t)t0);
    }
}

static void report_progress(lq_load *ld, uint64_t now)
{
    const double dt = (double)(now - ld->last_progress_ns) / NS_PER_S;
    ld->last_progress_ns = now;
    if (ld->o.progress) {
        lq_load_progress p;
        memset(&p, 0, sizeof p);
        p.elapsed_s = ld->t0_ns && now >= ld->t0_ns ? (double)(now - ld->t0_ns) / NS_PER_S
                                                    : -(double)(now - ld->begin_ns) / NS_PER_S;
        p.sessions_ready = ld->rep.sessions_ready;
        p.sessions_failed = ld->rep.sessions_failed;
        p.sent = ld->rep.sent;
        p.replies = ld->rep.replies;
        p.processed = ld->rep.processed;
        p.fps = dt > 0 ? (double)ld->interval_processed / dt : 0;
        p.p50_ms = (double)lq_client_hist_percentile(&ld->interval, 50) / 1000.0;
        p.client_drops = ld->rep.client_drops;
        p.server_drops = ld->rep.server_drops;
        p.errors = ld->rep.errors;
        ld->o.progress(ld->o.progress_ud, &p);
    }
    lq_client_hist_reset(&ld->interval);
    ld->interval_processed = 0;
}

static void handle_stop(lq_load *ld, uint64_t now)
{
    ld->stop_handled = 1;
    const double drain = ld->o.drain_timeout_s < 2.0 ? ld->o.drain_timeout_s : 2.0;
    for (int i = 0; i < ld->o.sessions; i++) {
        sess *s = &ld->s[i];
        if (s->state == S_STREAMING)
            begin_drain(s, drain);
        else if (s->state < S_STREAMING && s->conn)
            lq_client_conn_close(s->conn, 1000);
        else if (s->state < S_STREAMING)
            s->state = S_DONE;
    }
    ld->started = 1;
    (void)now;
    check_finished(ld);
}

/* Every 100 ms: timeouts, stop requests, progress. */
static void housekeeping(void *user)
{
    lq_load *ld = user;
    const uint64_t now = lq_clock_ns();
    if (ld->stop && !ld->stop_handled)
        handle_stop(ld, now);
    const uint64_t ready_deadline = ld->begin_ns + (uint64_t)(ld->o.ready_timeout_s * NS_PER_S);
    for (int i = 0; i < ld->o.sessions; i++) {
        sess *s = &ld->s[i];
        if (s->state <= S_WAIT_READY && now > ready_deadline) {
            fail_session(s, "no session_ready within %g s", ld->o.ready_timeout_s);
            lq_client_conn_close(s->conn, 1000);
            s->deadline_ns = now + CLOSE_TIMEOUT_NS;
            s->state = S_CLOSING;
        } else if (s->state == S_DRAINING && now > s->deadline_ns) {
            begin_close(s);
        } else if (s->state == S_CLOSING && now > s->deadline_ns) {
            lq_client_conn_close(s->conn, 1000);
        }
    }
    maybe_start(ld);
    if (now - ld->last_progress_ns >= 1000000000ull)
        report_progress(ld, now);
    if (now > ld->hard_deadline_ns && !ld->finished) {
        lq_load_report_failure(&ld->rep, "the run did not finish in time; closing everything");
        ld->finished = 1;
    }
    if (!ld->finished)
        lq_client_timer_at(ld->housekeeping, now + HOUSEKEEPING_NS);
}

int lq_load_create(const lq_load_opts *opts, const lq_client_frames *const *sets, int nsets,
                   lq_load **out, char *err, size_t errlen)
{
    if (!opts || !sets || !out)
        return LQ_EINVAL;
    int rc = lq_load_opts_validate(opts, err, errlen);
    if (rc < 0)
        return rc;
    if (nsets < 1 || nsets > LQ_LOAD_MAX_SETS)
        return bad(err, errlen, "1..%d frame folders are needed (got %d)", LQ_LOAD_MAX_SETS, nsets);
    for (int i = 0; i < nsets; i++) {
        if (!sets[i] || lq_client_frames_count(sets[i]) < 1)
            return bad(err, errlen, "frame folder %d is empty", i + 1);
        for (int k = 0; k < lq_client_frames_count(sets[i]); k++) {
            const lq_client_frame *f = lq_client_frames_at(sets[i], k);
            if (message_bytes(opts->encoding, f->len) > opts->max_message) {
                if (err && errlen)
                    snprintf(err, errlen,
                             "%s/%s: %zu bytes make a message over --max-message (%zu) in "
                             "encoding %s",
                             lq_client_frames_dir(sets[i]), f->name, f->len, opts->max_message,
                             lq_load_encoding_name(opts->encoding));
                return LQ_ELIMIT;
            }
        }
    }
    lq_load *ld = calloc(1, sizeof *ld);
    if (!ld)
        return LQ_ENOMEM;
    ld->s = calloc((size_t)opts->sessions, sizeof *ld->s);
    if (!ld->s) {
        free(ld);
        return LQ_ENOMEM;
    }
    ld->o = *opts;
    if (lq_client_url_parse(opts->url, &ld->url, NULL, 0) < 0) { /* validated above */
        lq_load_destroy(ld);
        return LQ_EINVAL;
    }
    ld->out_format = opts->output_format ? lq_format_parse(opts->output_format) : LQ_FMT_WEBP;
    ld->sets = sets;
    ld->nsets = nsets;
    lq_load_report_reset(&ld->rep);
    lq_client_hist_reset(&ld->interval);
    snprintf(ld->rep.url, sizeof ld->rep.url, "%s", opts->url);
    snprintf(ld->rep.encoding, sizeof ld->rep.encoding, "%s",
             lq_load_encoding_name(opts->encoding));
    ld->rep.sessions = opts->sessions;
    ld->rep.fps = opts->fps;
    ld->rep.seconds = opts->seconds;
    ld->rep.warmup_s = opts->warmup_s;
    for (int i = 0; i < opts->sessions; i++) {
        sess *s = &ld->s[i];
        s->ld = ld;
        s->index = i;
        s->frames = sets[i % nsets];
        snprintf(s->id, sizeof s->id, "%s-%d", opts->session_prefix, i + 1);
    }
    *out = ld;
    return 0;
}

void lq_load_destroy(lq_load *ld)
{
    if (!ld)
        return;
    lq_client_destroy(ld->cl);
    for (int i = 0; ld->s && i < ld->o.sessions; i++) {
        free(ld->s[i].txbuf);
        free(ld->s[i].img);
    }
    free(ld->s);
    free(ld);
}

void lq_load_stop(lq_load *ld)
{
    if (!ld)
        return;
    ld->stop = 1;
    if (ld->cl)
        lq_client_wake(ld->cl);
}

const lq_load_report *lq_load_get_report(const lq_load *ld)
{
    return ld ? &ld->rep : NULL;
}

int lq_load_run(lq_load *ld)
{
    if (!ld || ld->ran)
        return LQ_ESTATE;
    ld->ran = 1;
    lq_client_opts co = LQ_CLIENT_OPTS_DEFAULT;
    co.max_message = ld->o.max_message;
    co.max_connections = ld->o.sessions;
    co.connect_timeout_s = (int)ceil(ld->o.ready_timeout_s);
    int rc = lq_client_create(&co, &events, &ld->cl);
    if (rc < 0)
        return rc;
    rc = lq_client_timer_create(ld->cl, housekeeping, ld, &ld->housekeeping);
    for (int i = 0; rc == 0 && i < ld->o.sessions; i++)
        rc = lq_client_timer_create(ld->cl, frame_timer, &ld->s[i], &ld->s[i].timer);
    if (rc < 0)
        return rc;
    ld->begin_ns = ld->last_progress_ns = lq_clock_ns();
    ld->hard_deadline_ns =
        ld->begin_ns +
        (uint64_t)((ld->o.ready_timeout_s + ld->o.seconds + ld->o.drain_timeout_s + 15.0) *
                   NS_PER_S);
    for (int i = 0; i < ld->o.sessions; i++) {
        sess *s = &ld->s[i];
        rc = lq_client_connect(ld->cl, &ld->url, ld->o.token, s, &s->conn);
        if (rc < 0) {
            s->state = S_DONE;
            fail_session(s, "cannot connect to %s: %s", ld->o.url, lq_strerror(rc));
        }
    }
    maybe_start(ld);
    check_finished(ld);
    lq_client_timer_at(ld->housekeeping, ld->begin_ns + HOUSEKEEPING_NS);
    int loop_rc = 0;
    while (!ld->finished) {
        if (lq_client_service(ld->cl) < 0) {
            loop_rc = LQ_EINTERNAL;
            break;
        }
        if (ld->stop && !ld->stop_handled)
            handle_stop(ld, lq_clock_ns());
    }
    const uint64_t end = lq_clock_ns();
    /* Sessions cut off by the hard deadline. */
    for (int i = 0; i < ld->o.sessions; i++) {
        sess *s = &ld->s[i];
        if (s->state == S_STREAMING)
            leave_streaming(s);
        if (s->outstanding > 0)
            ld->rep.unanswered += (uint64_t)s->outstanding, s->outstanding = 0;
    }
    if (ld->t0_ns && ld->stream_stop_ns > ld->t0_ns)
        ld->rep.streaming_s = (double)(ld->stream_stop_ns - ld->t0_ns) / NS_PER_S;
    ld->rep.elapsed_s = (double)(end - ld->begin_ns) / NS_PER_S;
    report_progress(ld, end);
    if (loop_rc < 0)
        return loop_rc;
    return ld->rep.sessions_ready > 0 ? 0 : LQ_EIO;
}
