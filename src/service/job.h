/*
 * job.h - one frame's trip from the event loop to a worker and back.
 *
 *   svc_job *j = svc_job_new();
 *   j->data = bytes; j->data_len = n; j->owner = buf;    // job owns buf now
 *   ...queued in the session, run by a worker (svc_job_run in pipeline.c),
 *   handed back to the loop with j->out1/out2 or j->err_code filled...
 *   svc_job_free(j);                                     // frees inputs and unsent replies
 *
 * Ownership: the event loop owns a job while it waits in a session queue and
 * after it comes back; a worker owns it while running it. Nothing in a job is
 * shared between threads at the same time.
 */
#ifndef LQ_SERVICE_JOB_H
#define LQ_SERVICE_JOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "image/codec.h"
#include "nails/design.h"
#include "service/outq.h"
#include "service/protocol.h"
#include "tryon/tryon.h"

struct svc_session;
struct lq_fetch_body;

typedef enum svc_job_kind {
    SVC_JOB_FRAME = 0,      /* decode, try on, encode one frame */
    SVC_JOB_REFERENCE,      /* decode a fetched reference photo: palette and texture */
} svc_job_kind;

typedef struct svc_job {
    struct svc_job *next;            /* worker and result queues */
    struct svc_session *session;     /* owner; stays alive while the job is out */
    svc_job_kind kind;
    lq_tryon_session *tryon;         /* set when the job is handed to a worker */

    /* request */
    char session_id[WS_SESSION_ID_MAX + 1];
    int64_t sequence;
    int has_request_timestamp;
    int64_t request_timestamp;
    ws_encoding encoding;
    const uint8_t *data;             /* the image (or base64 text if is_base64) */
    size_t data_len;
    int is_base64;
    void *owner;                     /* malloc'd buffer that holds data; freed with the job */
    uint64_t received_ns;            /* lq_clock_ns() when the request was complete */
    uint64_t started_ns;             /* when a worker picked it up */

    /* what to do */
    lq_decode_limits limits;
    lq_format out_format;
    int out_quality;
    int out_effort;
    int overlay;                     /* 0: analysis only, never an error for no paint */

    /* result: either an error ... */
    int failed;
    ws_error_code err_code;
    char err_msg[WS_MESSAGE_MAX];
    /* ... or replies (one or two messages) */
    ws_out *out1, *out2;
    lq_tryon_result res;             /* also filled when failed for a detection problem */
    int processed;                   /* 1 if the model ran on this frame */
    int width, height;
    size_t out_bytes;                /* encoded image bytes */
    double decode_ms, encode_ms, queue_ms, work_ms, processing_ms;

    /* SVC_JOB_REFERENCE: the fetched photo (a reference held by the job) and
     * the session's design; the worker updates both the design (palette
     * colours when the metadata gave none) and the session's texture. */
    struct lq_fetch_body *body;
    nail_design design;
    int palette_colors;              /* colours taken from the photo, 0 if none */
    int texture_set;                 /* 1 if the photo became the "reference" texture */
} svc_job;

/* A zeroed job, or NULL when out of memory. */
svc_job *svc_job_new(void);

/* Frees the job, its input buffer and any replies still attached. NULL ok. */
void svc_job_free(svc_job *j);

/* Per-worker-thread state for svc_job_run. */
typedef struct svc_job_ctx {
    lq_tryon_worker *worker;
    atomic_int *busy;                /* the server's count of busy workers */
    lq_encoded enc;                  /* reused encoder output */
    uint8_t *b64;                    /* reused base64 decode buffer */
    size_t b64_cap;
} svc_job_ctx;

/* Runs one job in a worker thread. For SVC_JOB_REFERENCE: decodes the photo
 * (at most 4096x4096), finds the nails in it (lq_tryon_reference_analyse),
 * puts their palette into j->design when the metadata gave no colours (and
 * sets it on j->tryon), and makes their nail art the session's reference
 * texture when the design uses pattern "reference". A photo that
 * does not decode sets j->failed with REFERENCE_FETCH_FAILED.
 * For SVC_JOB_FRAME: runs one frame: decodes the image within j->limits,
 * runs lq_tryon_process on j->tryon, encodes the painted frame and builds the
 * reply messages in the request's encoding. Sets j->failed with an error code
 * for a bad image (UNSUPPORTED_FORMAT, FRAME_TOO_LARGE, INVALID_FRAME), an
 * inference failure (MODEL_ERROR), a detection problem without any painted
 * nail (HAND_NOT_DETECTED, LOW_LIGHT, ...) or a failed encode. */
void svc_job_run(svc_job *j, svc_job_ctx *ctx);

void svc_job_ctx_release(svc_job_ctx *ctx);

#endif
