/*
 * metrics.h - service counters and histograms, rendered in the Prometheus
 * text exposition format (version 0.0.4) for GET /metrics.
 *
 *   svc_metrics m;
 *   svc_metrics_init(&m, workers, lq_clock_epoch_ms());
 *   m.frames[SVC_FRAME_SUCCESS]++;
 *   svc_histogram_observe(&m.processing, 0.023);
 *   char *text = svc_metrics_render(&m, active_sessions, &len);  ... free(text);
 *
 * Label sets are small and fixed: no metric carries a session id (unbounded
 * label values break Prometheus). The guide's metrics are kept by name:
 * tryon_frames_processed_total{status}, tryon_processing_seconds (buckets
 * 0.01 .. 1.0), tryon_active_sessions, tryon_hands_detected_total{num_hands}.
 *
 * Thread-safety: none; the event loop owns the struct (workers report
 * through their finished jobs).
 */
#ifndef LQ_SERVICE_METRICS_H
#define LQ_SERVICE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "service/protocol.h"

#define SVC_HIST_MAX_BUCKETS 16

typedef struct svc_histogram {
    int nbuckets;
    double bounds[SVC_HIST_MAX_BUCKETS];     /* upper bounds, increasing; +Inf implied */
    uint64_t counts[SVC_HIST_MAX_BUCKETS + 1]; /* per bucket, not cumulative; last = +Inf */
    double sum;
    uint64_t count;
} svc_histogram;

void svc_histogram_init(svc_histogram *h, const double *bounds, int n);
void svc_histogram_observe(svc_histogram *h, double v);

enum svc_frame_status { SVC_FRAME_SUCCESS = 0, SVC_FRAME_NO_RESULT, SVC_FRAME_ERROR, SVC_FRAME_NSTATUS };
enum svc_drop_reason {
    SVC_DROP_QUEUE_FULL = 0,   /* a newer frame arrived on a full queue */
    SVC_DROP_DEADLINE,         /* waited longer than FRAME_DEADLINE_MS */
    SVC_DROP_SLOW_READER,      /* the client's output queue was over OUTPUT_QUEUE_MAX */
    SVC_DROP_CLOSED,           /* the session closed with frames waiting */
    SVC_DROP_NREASONS
};
enum svc_stage {
    SVC_STAGE_QUEUE = 0, SVC_STAGE_DECODE, SVC_STAGE_PALM, SVC_STAGE_LANDMARK,
    SVC_STAGE_NAILS, SVC_STAGE_PAINT, SVC_STAGE_ENCODE, SVC_NSTAGES
};
enum svc_fetch_result { SVC_FETCH_OK = 0, SVC_FETCH_CACHED, SVC_FETCH_ERROR, SVC_FETCH_NRESULTS };
enum svc_reject_reason {
    SVC_REJECT_CAPACITY = 0, SVC_REJECT_AUTH, SVC_REJECT_SHUTDOWN,
    SVC_REJECT_ORIGIN,         /* ALLOWED_ORIGINS */
    SVC_REJECT_CONN_RATE,      /* CONN_RATE_PER_ADDR */
    SVC_REJECT_CONN_LIMIT,     /* MAX_CONNS_PER_ADDR (or the address table is full) */
    SVC_REJECT_TOO_BIG,        /* a message over WS_MAX_MESSAGE_SIZE (close 1009) */
    SVC_NREJECTS
};

typedef struct svc_metrics {
    uint64_t frames[SVC_FRAME_NSTATUS];
    uint64_t dropped[SVC_DROP_NREASONS];
    uint64_t hands[LQ_HAND_MAX + 1];        /* frames by hands detected: 0, 1, 2 */
    uint64_t errors[WS_ERR_COUNT];          /* error replies by code */
    uint64_t fetches[SVC_FETCH_NRESULTS];
    uint64_t connections_total;
    uint64_t rejected[SVC_NREJECTS];
    uint64_t sessions_total;
    uint64_t bytes_in, bytes_out;
    int64_t connections_open;
    int workers;
    int64_t start_epoch_ms;
    svc_histogram processing;               /* seconds, request complete -> reply built */
    svc_histogram stage[SVC_NSTAGES];       /* seconds */
} svc_metrics;

void svc_metrics_init(svc_metrics *m, int workers, int64_t start_epoch_ms);

/* Renders the exposition text. Returns a malloc'd NUL-terminated string
 * (length in *len) or NULL when out of memory. Gauges that live elsewhere
 * are passed in. */
char *svc_metrics_render(const svc_metrics *m, int active_sessions, int queued_frames,
                         size_t *len);

const char *svc_stage_name(enum svc_stage s);

#endif
