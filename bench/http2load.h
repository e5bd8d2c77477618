/*
 * http2load.h - the HTTP/2 client of the service benchmark: the camera-like
 * load of the WebSocket rows (same frames, same schedule), sent as
 * POST /api/tryon/sessions/{id}/frames over cleartext HTTP/2 with prior
 * knowledge (docs/http-api.md), with libcurl's multi interface (nghttp2).
 *
 *   lq_h2load_opts o = {.port = h2c_port, .sessions = 1, .fps = 25, .seconds = 20,
 *                       .warmup_s = 1, .session_prefix = "h2"};
 *   lq_h2load_report rep;
 *   if (lq_h2load_run(&o, frames, &rep, err, sizeof err) == 0) ...rep.latency_us...
 *
 * Frame k of session i goes at t0 + i/(N*fps) + k/fps, never in a burst. A
 * session has at most LQ_H2LOAD_IN_FLIGHT requests outstanding (the one the
 * service runs and FRAME_QUEUE_SIZE=2 waiting); a slot that comes while that
 * many are out is a client drop. Each request opens an HTTP/2 connection of
 * its own (TCP, preface, SETTINGS: part of the measured latency, about a
 * tenth of a millisecond on loopback): libcurl 7.88.1 (Debian 12) fails the
 * second request on a reused prior-knowledge connection (curl issue 10634,
 * fixed in curl 8.0), and libwebsockets 4.1.6 refuses a request body whose
 * last DATA frame shares a read with another frame (docs/http-api.md), which
 * parallel uploads multiplexed on one connection would risk.
 *
 * Latency: from handing the request to curl to the complete response (the
 * image and its X-Tryon-Metadata), over the frames sent after warmup_s.
 * Runs on the calling thread; not reentrant with other curl users that
 * call curl_global_cleanup.
 */
#ifndef LQ_BENCH_HTTP2LOAD_H
#define LQ_BENCH_HTTP2LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "client/frames.h"
#include "client/histogram.h"

#define LQ_H2LOAD_MAX_SESSIONS 64
#define LQ_H2LOAD_IN_FLIGHT 3

typedef struct lq_h2load_opts {
    int port;     /* the service's H2C_PORT (loopback) */
    int sessions; /* 1..LQ_H2LOAD_MAX_SESSIONS */
    double fps;
    double seconds;             /* of sending */
    double warmup_s;            /* left out of the latency figures */
    const char *session_prefix; /* session ids are <prefix>-<i> */
    int max_hands;              /* the sessions' config.max_hands, 0 = default */
} lq_h2load_opts;

typedef struct lq_h2load_report {
    uint64_t sent;         /* requests sent */
    uint64_t processed;    /* 200: painted frame + metadata */
    uint64_t no_result;    /* 422: a detection problem (no hand, ...) */
    uint64_t dropped;      /* 503 PROCESSING_TIMEOUT: dropped by the service */
    uint64_t other_errors; /* any other status or a transfer error */
    uint64_t client_drops; /* slots skipped: LQ_H2LOAD_IN_FLIGHT requests were out */
    uint64_t unanswered;   /* still out after the drain */
    uint64_t bytes_up, bytes_down;
    long connections;          /* HTTP/2 connections curl opened */
    lq_client_hist latency_us; /* processed frames after warm-up */
    lq_client_hist server_us;  /* their processing_time_ms, as the service measured it */
    double elapsed_s;          /* of sending */
} lq_h2load_report;

/* Creates the sessions (POST /api/tryon/sessions), runs the load, drains,
 * deletes the sessions. 0, or LQ_EIO / LQ_EINVAL / LQ_ENOMEM with err set. */
int lq_h2load_run(const lq_h2load_opts *o, const lq_client_frames *fr, lq_h2load_report *out,
                  char *err, size_t errlen);

/* Processed frames per second over the sending time. */
double lq_h2load_throughput(const lq_h2load_report *r);

#endif
