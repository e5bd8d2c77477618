/* metrics.c - Prometheus text rendering (see metrics.h). */
#include "service/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

/* The guide's buckets for tryon_processing_seconds. */
static const double processing_buckets[] = {0.01, 0.05, 0.1, 0.15, 0.2, 0.5, 1.0};
/* Stages are much shorter: finer buckets at the low end. */
static const double stage_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                       0.02,   0.05,  0.1,    0.25,  1.0};

static const char *const stage_names[SVC_NSTAGES] = {"queue", "decode", "palm", "landmark",
                                                     "nails", "paint",  "encode"};
static const char *const status_names[SVC_FRAME_NSTATUS] = {"success", "no_result", "error"};
static const char *const drop_names[SVC_DROP_NREASONS] = {"queue_full", "deadline",
                                                          "slow_reader", "session_closed"};
static const char *const fetch_names[SVC_FETCH_NRESULTS] = {"ok", "cached", "error"};
static const char *const reject_names[SVC_NREJECTS] = {
    "capacity", "auth", "shutdown", "origin", "conn_rate", "conn_limit", "message_too_big"};

const char *svc_stage_name(enum svc_stage s)
{
    return (int)s >= 0 && s < SVC_NSTAGES ? stage_names[s] : "unknown";
}

void svc_histogram_init(svc_histogram *h, const double *bounds, int n)
{
    memset(h, 0, sizeof *h);
    if (n > SVC_HIST_MAX_BUCKETS)
        n = SVC_HIST_MAX_BUCKETS;
    h->nbuckets = n;
    memcpy(h->bounds, bounds, (size_t)n * sizeof *bounds);
}

void svc_histogram_observe(svc_histogram *h, double v)
{
    int i = 0;
    while (i < h->nbuckets && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void svc_metrics_init(svc_metrics *m, int workers, int64_t start_epoch_ms)
{
    memset(m, 0, sizeof *m);
    m->workers = workers;
    m->start_epoch_ms = start_epoch_ms;
    svc_histogram_init(&m->processing, processing_buckets,
                       (int)(sizeof processing_buckets / sizeof processing_buckets[0]));
    for (int s = 0; s < SVC_NSTAGES; s++)
        svc_histogram_init(&m->stage[s], stage_buckets,
                           (int)(sizeof stage_buckets / sizeof stage_buckets[0]));
}

/* A growable text buffer; on allocation failure it stays failed. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) LQ_PRINTF(2, 3);

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n + 1;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

static void header(sbuf *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* labels: "" or `stage="decode"` (without braces). */
static void histogram(sbuf *b, const char *name, const char *labels, const svc_histogram *h)
{
    uint64_t cum = 0;
    const char *sep = labels[0] ? "," : "";
    for (int i = 0; i < h->nbuckets; i++) {
        cum += h->counts[i];
        sb_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->bounds[i],
                  (unsigned long long)cum);
    }
    cum += h->counts[h->nbuckets];
    sb_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
    if (labels[0]) {
        sb_printf(b, "%s_sum{%s} %.9g\n", name, labels, h->sum);
        sb_printf(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
    } else {
        sb_printf(b, "%s_sum %.9g\n", name, h->sum);
        sb_printf(b, "%s_count %llu\n", name, (unsigned long long)h->count);
    }
}

char *svc_metrics_render(const svc_metrics *m, int active_sessions, int queued_frames, size_t *len)
{
    sbuf b = {0};
    b.cap = 8192;
    b.p = malloc(b.cap);
    if (!b.p)
        return NULL;
    b.p[0] = '\0';

    header(&b, "tryon_frames_processed_total", "counter",
           "Frames answered, by outcome (success = processed_frame sent, no_result = a "
           "detection problem was answered with an error, error = bad input or failure).");
    for (int s = 0; s < SVC_FRAME_NSTATUS; s++)
        sb_printf(&b, "tryon_frames_processed_total{status=\"%s\"} %llu\n", status_names[s],
                  (unsigned long long)m->frames[s]);

    header(&b, "tryon_processing_seconds", "histogram",
           "Time from a complete frame request to its reply being ready (queue + work).");
    histogram(&b, "tryon_processing_seconds", "", &m->processing);

    header(&b, "tryon_active_sessions", "gauge", "Number of active sessions.");
    sb_printf(&b, "tryon_active_sessions %d\n", active_sessions);

    header(&b, "tryon_hands_detected_total", "counter", "Frames by number of hands detected.");
    for (int h = 0; h <= LQ_HAND_MAX; h++)
        sb_printf(&b, "tryon_hands_detected_total{num_hands=\"%d\"} %llu\n", h,
                  (unsigned long long)m->hands[h]);

    header(&b, "tryon_frames_dropped_total", "counter",
           "Frames dropped without processing, by reason.");
    for (int r = 0; r < SVC_DROP_NREASONS; r++)
        sb_printf(&b, "tryon_frames_dropped_total{reason=\"%s\"} %llu\n", drop_names[r],
                  (unsigned long long)m->dropped[r]);

    header(&b, "tryon_stage_seconds", "histogram", "Time spent in each stage of a frame.");
    for (int s = 0; s < SVC_NSTAGES; s++) {
        char labels[32];
        snprintf(labels, sizeof labels, "stage=\"%s\"", stage_names[s]);
        histogram(&b, "tryon_stage_seconds", labels, &m->stage[s]);
    }

    header(&b, "tryon_errors_total", "counter", "Error replies sent, by error code.");
    for (int c = 0; c < WS_ERR_COUNT; c++)
        sb_printf(&b, "tryon_errors_total{code=\"%s\"} %llu\n", ws_error_name((ws_error_code)c),
                  (unsigned long long)m->errors[c]);

    header(&b, "tryon_reference_fetches_total", "counter",
           "Reference image fetches, by result.");
    for (int r = 0; r < SVC_FETCH_NRESULTS; r++)
        sb_printf(&b, "tryon_reference_fetches_total{result=\"%s\"} %llu\n", fetch_names[r],
                  (unsigned long long)m->fetches[r]);

    header(&b, "tryon_connections_total", "counter", "WebSocket connections accepted.");
    sb_printf(&b, "tryon_connections_total %llu\n", (unsigned long long)m->connections_total);
    header(&b, "tryon_open_connections", "gauge", "WebSocket connections open now.");
    sb_printf(&b, "tryon_open_connections %lld\n", (long long)m->connections_open);
    header(&b, "tryon_rejected_total", "counter",
           "Connections or sessions refused, by reason.");
    for (int r = 0; r < SVC_NREJECTS; r++)
        sb_printf(&b, "tryon_rejected_total{reason=\"%s\"} %llu\n", reject_names[r],
                  (unsigned long long)m->rejected[r]);
    header(&b, "tryon_sessions_total", "counter", "Sessions started.");
    sb_printf(&b, "tryon_sessions_total %llu\n", (unsigned long long)m->sessions_total);
    header(&b, "tryon_received_bytes_total", "counter", "WebSocket message bytes received.");
    sb_printf(&b, "tryon_received_bytes_total %llu\n", (unsigned long long)m->bytes_in);
    header(&b, "tryon_sent_bytes_total", "counter", "WebSocket message bytes queued to send.");
    sb_printf(&b, "tryon_sent_bytes_total %llu\n", (unsigned long long)m->bytes_out);
    header(&b, "tryon_queued_frames", "gauge", "Frames waiting or being processed.");
    sb_printf(&b, "tryon_queued_frames %d\n", queued_frames);
    header(&b, "tryon_workers", "gauge", "Frame worker threads.");
    sb_printf(&b, "tryon_workers %d\n", m->workers);
    header(&b, "tryon_start_time_seconds", "gauge", "Start time of the service, Unix seconds.");
    sb_printf(&b, "tryon_start_time_seconds %.3f\n", (double)m->start_epoch_ms / 1000.0);
    header(&b, "tryon_build_info", "gauge", "Version of the service (always 1).");
    sb_printf(&b, "tryon_build_info{version=\"%s\",device=\"cpu\"} 1\n", LQ_VERSION);

    if (b.failed) {
        free(b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}
