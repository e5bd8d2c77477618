/*
 * session.h - one shopper's try-on session: its frame queue and statistics.
 *
 *   svc_session *s;
 *   svc_session_create("abc", 2, &s);
 *   svc_job *dropped = NULL;
 *   svc_session_enqueue(s, job, &dropped);     // full queue: oldest waiting frame out
 *   if (dropped) reply PROCESSING_TIMEOUT for dropped->sequence, svc_job_free(dropped);
 *   svc_job *next = svc_session_next(s, now);  // NULL while a frame is in flight
 *   ...worker...
 *   svc_session_done(s, next);                 // the next frame may go now
 *
 * Frames of one session are processed in order, one at a time: at most one
 * job is "in flight" (at a worker), and at most `capacity` wait behind it.
 * When a frame arrives on a full queue, the oldest waiting frame is dropped
 * ("latest frame wins"): live video wants the freshest frame, not a backlog.
 *
 * The session also owns the per-shopper try-on state (lq_tryon_session, set
 * by the server) and keeps the statistics sent in `stats` messages.
 *
 * Thread-safety: a session belongs to the event loop thread. Only the
 * in-flight job (and the lq_tryon_session it carries) is touched by a worker.
 */
#ifndef LQ_SERVICE_SESSION_H
#define LQ_SERVICE_SESSION_H

#include <stdint.h>

#include "nails/design.h"
#include "service/job.h"
#include "service/protocol.h"
#include "tryon/tryon.h"

#define SVC_SESSION_QUEUE_MAX 64
#define SVC_SESSION_SAMPLES 512      /* processing times kept for the p95 */

typedef enum svc_session_state {
    SVC_SESSION_PENDING = 0,         /* waiting for its reference image */
    SVC_SESSION_READY,               /* session_ready sent; frames run */
    SVC_SESSION_DRAINING,            /* shutting down: no new frames, finish queued ones */
    SVC_SESSION_CLOSED,              /* connection gone or closed; freed when idle */
} svc_session_state;

typedef struct svc_session {
    char id[WS_SESSION_ID_MAX + 1];
    svc_session_state state;
    void *conn;                      /* the server's connection, NULL once closed */
    struct svc_session *next_dead;   /* the server's list of sessions to free */
    lq_tryon_session *tryon;         /* owned by the server (destroyed with the session) */
    nail_design design;
    ws_session_config config;
    char reference_status[32];       /* "none", "fetching", "fetched", "failed", ... */
    uint64_t fetch_id;               /* reference fetch in progress, 0 if none */

    /* frames */
    svc_job *queue[SVC_SESSION_QUEUE_MAX];
    int qhead, qcount, capacity;
    svc_job *in_flight;

    /* statistics */
    int64_t frames_received, frames_processed, frames_dropped, frames_with_errors;
    double sum_processing_ms, sum_confidence;
    float samples[SVC_SESSION_SAMPLES];
    int nsamples, sample_pos;
    uint64_t created_ns, ready_ns, last_stats_ns;
    uint64_t answered_ns;            /* when the last frame came back from a worker */

    /* rate limit: frames accepted in the current one-second window */
    uint64_t rate_window_ns;
    int rate_count;
} svc_session;

/* capacity: frames that may wait (1..SVC_SESSION_QUEUE_MAX). */
int svc_session_create(const char *id, int capacity, uint64_t now_ns,
                       svc_session **out) LQ_NODISCARD;

/* Frees the session and every waiting job. The in-flight job (if any) and
 * the lq_tryon_session must have been dealt with by the caller. NULL ok. */
void svc_session_destroy(svc_session *s);

/* Appends a job. If `capacity` frames already wait, the oldest is taken out
 * and returned in *dropped (the caller answers and frees it), and counted. */
void svc_session_enqueue(svc_session *s, svc_job *job, svc_job **dropped);

/* Number of frames waiting (not counting the one in flight). */
int svc_session_waiting(const svc_session *s);

/* If nothing is in flight, takes the oldest waiting job and marks it in
 * flight; else NULL. Jobs that have waited more than deadline_ns (0 = no
 * deadline) are not returned but passed out through *expired one at a time:
 * call again until it returns NULL with *expired NULL. */
svc_job *svc_session_next(svc_session *s, uint64_t now_ns, uint64_t deadline_ns,
                          svc_job **expired);

/* The in-flight job came back. */
void svc_session_done(svc_session *s, svc_job *job);

/* 1 if the session is idle at now_ns for IDLE_TIMEOUT idle_ns (> 0): its
 * client has been silent (last_rx_ns: its connection's last message) for
 * longer than idle_ns since the later of that message, session_ready and the
 * last frame answered, and the service owes it nothing: no reference photo
 * being fetched, no frame in flight or waiting. A client waiting for a slow
 * frame is not idle. */
int svc_session_idle(const svc_session *s, uint64_t last_rx_ns, uint64_t now_ns,
                     uint64_t idle_ns);

/* Takes every waiting job out (closing or shutting down), as a ->next list. */
svc_job *svc_session_take_waiting(svc_session *s);

/* Statistics. outcome: 1 = processed_frame sent, 0 = answered with an error,
 * -1 = dropped. processing_ms/confidence are used for processed frames. */
void svc_session_record(svc_session *s, int outcome, double processing_ms, double confidence);
void svc_session_stats(const svc_session *s, uint64_t now_ns, ws_stats *out);

/* 1 if another frame may be accepted now under `limit` frames per second
 * (0 = no limit); counts the frame when it is. */
int svc_session_rate_ok(svc_session *s, uint64_t now_ns, int limit);

#endif
