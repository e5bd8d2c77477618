/* http2load.c - HTTP/2 frames against lacquer serve for the service benchmark (see http2load.h). */
#include "http2load.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/error.h"

typedef struct h2_req {
    struct h2_req *prev, *next; /* requests out */
    struct h2_session *s;
    CURL *easy;
    struct curl_slist *hdrs;
    uint64_t start_ns;
    int measured;     /* sent after warm-up */
    double server_ms; /* from X-Tryon-Metadata, -1 if none */
    size_t down;
} h2_req;

typedef struct h2_session {
    char id[96];
    int in_flight;
    int64_t next_slot;
} h2_session;

static size_t discard_body(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    h2_req *r = ud;
    r->down += size * n;
    return size * n;
}

/* processing_time_ms out of the metadata header. */
static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    h2_req *r = ud;
    size_t len = size * n;
    static const char name[] = "x-tryon-metadata:";
    if (len > sizeof name && strncasecmp(line, name, sizeof name - 1) == 0) {
        const char *k = "\"processing_time_ms\":";
        char buf[64];
        const char *hit = NULL;
        for (size_t i = 0; i + strlen(k) < len && !hit; i++)
            if (memcmp(line + i, k, strlen(k)) == 0)
                hit = line + i + strlen(k);
        if (hit) {
            size_t m = (size_t)(line + len - hit);
            if (m > sizeof buf - 1)
                m = sizeof buf - 1;
            memcpy(buf, hit, m);
            buf[m] = 0;
            r->server_ms = strtod(buf, NULL);
        }
    }
    return len;
}

static void common_opts(CURL *e, const char *url)
{
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    /* libcurl 7.88.1 fails the second request on a reused prior-knowledge connection
     * ("Error in the HTTP2 framing layer", curl issue 10634, fixed in 8.0) */
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
}

/* One blocking request for set-up and clean-up; returns the status or -1. */
static long simple(const char *method, const char *url, const char *json)
{
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    h2_req sink = {0};
    common_opts(e, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (json) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    }
    long status = -1;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return status;
}

static int start_frame(CURLM *m, h2_req **out_list, int port, h2_session *s,
                       const lq_client_frame *f, int64_t seq, int measured, lq_h2load_report *out)
{
    h2_req *r = calloc(1, sizeof *r);
    CURL *e = r ? curl_easy_init() : NULL;
    if (!e) {
        free(r);
        return LQ_ENOMEM;
    }
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/tryon/sessions/%s/frames?sequence=%lld",
             port, s->id, (long long)seq);
    r->s = s;
    r->easy = e;
    r->measured = measured;
    r->server_ms = -1;
    r->start_ns = lq_clock_ns();
    r->hdrs = curl_slist_append(NULL, f->format == LQ_FMT_PNG    ? "Content-Type: image/png"
                                      : f->format == LQ_FMT_JPEG ? "Content-Type: image/jpeg"
                                                                 : "Content-Type: image/webp");
    common_opts(e, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)f->data); /* not copied */
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    if (curl_multi_add_handle(m, e) != CURLM_OK) {
        curl_slist_free_all(r->hdrs);
        curl_easy_cleanup(e);
        free(r);
        return LQ_EIO;
    }
    r->next = *out_list;
    if (r->next)
        r->next->prev = r;
    *out_list = r;
    s->in_flight++;
    out->sent++;
    out->bytes_up += f->len;
    return 0;
}

static void release(CURLM *m, h2_req **list, h2_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        *list = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->s->in_flight--;
    curl_multi_remove_handle(m, r->easy);
    curl_slist_free_all(r->hdrs);
    curl_easy_cleanup(r->easy);
    free(r);
}

static void finish_frame(CURLM *m, h2_req **list, CURLMsg *msg, lq_h2load_report *out)
{
    h2_req *r = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    long status = 0, conns = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(msg->easy_handle, CURLINFO_NUM_CONNECTS, &conns);
    out->connections += conns;
    out->bytes_down += r->down;
    if (msg->data.result != CURLE_OK)
        out->other_errors++;
    else if (status == 200) {
        out->processed++;
        if (r->measured) {
            lq_client_hist_add(&out->latency_us, (lq_clock_ns() - r->start_ns) / 1000u);
            if (r->server_ms >= 0)
                lq_client_hist_add(&out->server_us, (uint64_t)(r->server_ms * 1000.0));
        }
    } else if (status == 422) {
        out->no_result++;
    } else if (status == 503) {
        out->dropped++;
    } else {
        out->other_errors++;
    }
    release(m, list, r);
}

static void reap(CURLM *m, h2_req **list, lq_h2load_report *out)
{
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(m, &left)))
        if (msg->msg == CURLMSG_DONE)
            finish_frame(m, list, msg, out);
}

double lq_h2load_throughput(const lq_h2load_report *r)
{
    return r->elapsed_s > 0 ? (double)r->processed / r->elapsed_s : 0;
}

int lq_h2load_run(const lq_h2load_opts *o, const lq_client_frames *fr, lq_h2load_report *out,
                  char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    lq_client_hist_reset(&out->latency_us);
    lq_client_hist_reset(&out->server_us);
    if (o->sessions < 1 || o->sessions > LQ_H2LOAD_MAX_SESSIONS || !(o->fps > 0) ||
        !(o->seconds > 0) || o->port <= 0) {
        snprintf(err, errlen, "http2 load: bad options");
        return LQ_EINVAL;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "http2 load: curl_global_init failed");
        return LQ_EIO;
    }
    h2_session *ss = calloc((size_t)o->sessions, sizeof *ss);
    h2_req *list = NULL;
    CURLM *m = curl_multi_init();
    if (!ss || !m) {
        free(ss);
        curl_multi_cleanup(m);
        curl_global_cleanup();
        snprintf(err, errlen, "http2 load: out of memory");
        return LQ_ENOMEM;
    }
    /* one stream per connection at a time (see http2load.h) */
    curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    char url[256], json[256];
    int rc = 0;
    for (int i = 0; i < o->sessions && rc == 0; i++) {
        snprintf(ss[i].id, sizeof ss[i].id, "%s-%d", o->session_prefix, i);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/api/tryon/sessions", o->port);
        int n =
            snprintf(json, sizeof json, "{\"session_id\":\"%s\",\"nail_reference\":{}", ss[i].id);
        if (o->max_hands)
            n += snprintf(json + n, sizeof json - (size_t)n, ",\"config\":{\"max_hands\":%d}",
                          o->max_hands);
        snprintf(json + n, sizeof json - (size_t)n, "}");
        long st = simple("POST", url, json);
        if (st != 201) {
            snprintf(err, errlen, "http2 load: creating session %s answered %ld", ss[i].id, st);
            rc = LQ_EIO;
        }
    }
    const double period = 1.0 / o->fps;
    const uint64_t t0 = lq_clock_ns() + 50 * 1000000ull;
    const uint64_t end = t0 + (uint64_t)(o->seconds * 1e9);
    while (rc == 0) {
        uint64_t now = lq_clock_ns();
        if (now >= end)
            break;
        double next_in = 1.0;
        for (int i = 0; i < o->sessions && rc == 0; i++) {
            h2_session *s = &ss[i];
            double offset = (double)i / (o->sessions * o->fps);
            for (;;) {
                uint64_t slot = t0 + (uint64_t)((offset + (double)s->next_slot * period) * 1e9);
                if (slot > now) {
                    double in = (double)(slot - now) / 1e9;
                    if (in < next_in)
                        next_in = in;
                    break;
                }
                int64_t k = s->next_slot++;
                if (slot + (uint64_t)(period * 1e9) <= now) /* a whole slot passed: missed */
                    continue;
                if (s->in_flight >= LQ_H2LOAD_IN_FLIGHT) {
                    out->client_drops++;
                    continue;
                }
                int measured = (double)(slot - t0) / 1e9 >= o->warmup_s;
                rc =
                    start_frame(m, &list, o->port, s, lq_client_frames_at(fr, k), k, measured, out);
            }
        }
        int running = 0;
        curl_multi_perform(m, &running);
        reap(m, &list, out);
        int ms = (int)(next_in * 1000.0);
        curl_multi_poll(m, NULL, 0, ms < 1 ? 1 : ms, NULL);
    }
    out->elapsed_s = (double)(lq_clock_ns() - t0) / 1e9;
    /* drain: up to 5 s for the answers still out */
    uint64_t drain_end = lq_clock_ns() + 5000000000ull;
    int running = 1;
    while (running && lq_clock_ns() < drain_end) {
        curl_multi_perform(m, &running);
        reap(m, &list, out);
        if (running)
            curl_multi_poll(m, NULL, 0, 20, NULL);
    }
    for (int i = 0; i < o->sessions; i++)
        out->unanswered += (uint64_t)ss[i].in_flight;
    while (list) /* what is still out is abandoned */
        release(m, &list, list);
    curl_multi_cleanup(m);
    for (int i = 0; i < o->sessions; i++) {
        snprintf(url, sizeof url, "http://127.0.0.1:%d/api/tryon/sessions/%s", o->port, ss[i].id);
        if (ss[i].id[0])
            (void)simple("DELETE", url, NULL);
    }
    free(ss);
    curl_global_cleanup();
    return rc;
}
