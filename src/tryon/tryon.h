/*
 * tryon.h - one frame through the whole product: hands -> nails -> paint.
 *
 * Three objects, split by who shares what:
 *   lq_tryon_engine   the loaded models (read-only), shared by every thread;
 *   lq_tryon_worker   per worker thread: XNNPACK runners and scratch memory;
 *   lq_tryon_session  per shopper session: the design and the temporal state
 *                     (hand tracks, landmark and nail smoothing). A session's
 *                     frames must be processed in order, one at a time, but
 *                     may go to any worker.
 *
 *   lq_tryon_engine *e;   lq_tryon_engine_create(&eopts, &e, err, sizeof err);
 *   lq_tryon_worker *w;   lq_tryon_worker_create(e, &w);              // per thread
 *   lq_tryon_session *s;  lq_tryon_session_create(e, &design, &sopts, &s);
 *   lq_tryon_result res;
 *   lq_tryon_process(w, s, &frame, timestamp_us, &res);   // paints frame in place
 *   ... destroy in reverse order.
 */
#ifndef LQ_TRYON_TRYON_H
#define LQ_TRYON_TRYON_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "hand/hand.h"
#include "hand/tracker.h"
#include "image/image.h"
#include "nails/design.h"
#include "nails/geometry.h"

typedef struct lq_tryon_engine lq_tryon_engine;
typedef struct lq_tryon_worker lq_tryon_worker;
typedef struct lq_tryon_session lq_tryon_session;

typedef enum lq_model_variant { LQ_MODEL_FULL = 0, LQ_MODEL_LITE = 1 } lq_model_variant;

typedef struct lq_tryon_engine_opts {
    const char *models_dir;    /* folder with the four .tflite files */
    int load_lite;             /* also load the lite models (quality "low") */
    int worker_threads;        /* threads one worker may use for one inference,
                                  1..64 (0 = 1); see lq_tryon_worker_set_gate */
    const char *nailseg_path;  /* nail segmentation model (nails/segment.h); NULL:
                                  <models_dir>/nailseg.tflite, else
                                  <models_dir>/../assets/nailseg/nailseg.tflite;
                                  "" = none. A missing or unloadable file turns
                                  segmentation off with one warning, not an error. */
    const char *outline_path;  /* nail outline model (nails/outline.h); NULL:
                                  <models_dir>/outline.tflite, else
                                  <models_dir>/../assets/nailseg/outline.tflite;
                                  "" = none. Its ensemble members beside it
                                  (outline_b.tflite, ...) are loaded too
                                  (nail_outline_model_load_set). Missing or
                                  unloadable: the outline stage is off, with one
                                  warning. */
    int serial_detect;         /* 1: a worker never runs the second-hand palm
                                  search beside the tracked hands' landmarks
                                  (lq_hand_worker_set_concurrent; 0 = it does,
                                  while the gate is open) */
} lq_tryon_engine_opts;

typedef struct lq_tryon_session_opts {
    lq_model_variant variant;  /* full (balanced/high) or lite (low) */
    int max_hands;             /* 1..LQ_HAND_MAX */
    int smoothing;             /* One Euro on landmarks and nail geometry */
    int paint;                 /* 0: analyse only, leave the frame untouched */
    int static_mode;           /* every frame on its own: no tracking, no smoothing */
    uint32_t seed;             /* pattern seed (e.g. a hash of the session id) */
    float low_light_luma;      /* LOW_LIGHT below this mean luma of the hand region (0..255) */
    float blur_sharpness;      /* BLUR_DETECTED below this Laplacian variance of the
                                  hand region resampled to LQ_TRYON_QUALITY_SIZE^2 */
    int redetect_frames;       /* with one hand tracked, look for a second one every
                                  this many frames (lq_tracker_opts.redetect_frames) */
    int segmentation;          /* nails also from the segmentation network when the
                                  engine has it (docs/segmentation.md): 1 on every
                                  frame, 2 only on frames without a tracked hand
                                  (no cost on tracked frames), 0 never */
    int outline;               /* each visible nail's outline from the outline network
                                  when the engine has it (nails/outline.h, about 1 ms a
                                  nail): 1 on every frame, 2 in static mode (photos)
                                  only, 0 never */
} lq_tryon_session_opts;

/* Hand region quality is measured on the hand's bounding box resampled to a
 * fixed size, so the sharpness figure does not depend on the hand's scale. */
#define LQ_TRYON_QUALITY_SIZE 128

/* Defaults: full model, two hands, smoothing, paint, tracking. The two
 * thresholds were set on the shared videos: see docs/protocol.md. With one
 * hand in view the palm detector looks for a second hand every 10th frame
 * (400 ms at 25 fps) instead of on every frame, which keeps a tracked frame
 * to the landmark model alone on 9 frames out of 10 (the detector costs more
 * than the landmark model: every 5th frame cost a try-on session 1.2 ms per
 * frame on average, and a fifth of its frames were 11 ms slower). */
#define LQ_TRYON_SESSION_OPTS_DEFAULT                                          \
    {LQ_MODEL_FULL, 2, 1, 1, 0, 0u, 45.0f, 8.0f, 10, 1, 2}

/* 0, or LQ_EINVAL with the offending field named in err. */
int lq_tryon_session_opts_validate(const lq_tryon_session_opts *o, char *err,
                                   size_t errlen) LQ_NODISCARD;

/* Problems seen in a frame (bit flags); the frame is still painted where possible. */
enum lq_tryon_problem {
    LQ_PROBLEM_NO_HAND = 1 << 0,
    LQ_PROBLEM_PARTIAL_HAND = 1 << 1,   /* fewer than 3 nails visible */
    LQ_PROBLEM_LOW_LIGHT = 1 << 2,
    LQ_PROBLEM_BLUR = 1 << 3,
};

typedef struct lq_tryon_timings {
    double palm_ms;       /* palm detector (0 on tracked frames) */
    double landmark_ms;   /* landmark model, all hands */
    double warp_ms;       /* warps into the model inputs */
    double hands_ms;      /* the whole hand stage (the three above + decoding, smoothing) */
    double nails_ms;      /* nail geometry, refinement and smoothing */
    double quality_ms;    /* low-light and blur checks */
    double paint_ms;      /* polish rendering */
    double seg_ms;        /* nail segmentation network + blobs + fusion (part of nails_ms) */
    double outline_ms;    /* the outline network on every nail (part of nails_ms) */
    double total_ms;
} lq_tryon_timings;

typedef struct lq_tryon_result {
    lq_hands hands;
    int nnails;
    nail_geom nails[NAIL_MAX];
    unsigned fingertips_mask;       /* bit f set: finger f (0 thumb..4 pinky) painted on some hand */
    float confidence;               /* overall 0..1 */
    unsigned problems;              /* enum lq_tryon_problem bits */
    float hand_luma;                /* mean luma over the hand region, 0..255; when no
                                       hand is found, the luma of the brightest tenth
                                       of the frame (a lit subject on a dark backdrop
                                       is not low light) */
    float hand_sharpness;           /* Laplacian variance over the same region */
    int overlay_applied;
    int nails_segmented;            /* nails[] found by segmentation alone (no landmark
                                       nail: hand -1, finger -1 = unknown); the last ones */
    int npainted;                   /* painted[]: the boxes the nails were painted in;
                                       lq_tryon_process changed no frame pixel outside
                                       them (an encoder may re-convert just these) */
    lq_pixel_rect painted[NAIL_MAX];
    lq_tryon_timings t;
} lq_tryon_result;

int lq_tryon_engine_create(const lq_tryon_engine_opts *opts, lq_tryon_engine **out, char *err,
                           size_t errlen) LQ_NODISCARD;
void lq_tryon_engine_destroy(lq_tryon_engine *e);

int lq_tryon_worker_create(lq_tryon_engine *e, lq_tryon_worker **out) LQ_NODISCARD;
void lq_tryon_worker_destroy(lq_tryon_worker *w);
/* With worker_threads > 1: each model inference runs on worker_threads
 * threads when gate(ud) returns non-zero as it starts, else on the worker's
 * own thread (lq_hand_worker_set_gate). gate NULL: always parallel. */
void lq_tryon_worker_set_gate(lq_tryon_worker *w, lq_hand_gate_fn gate, void *ud);

int lq_tryon_session_create(lq_tryon_engine *e, const nail_design *design,
                            const lq_tryon_session_opts *opts, lq_tryon_session **out) LQ_NODISCARD;
/* Replaces the design (between frames). */
void lq_tryon_session_set_design(lq_tryon_session *s, const nail_design *design);

/* Sets the reference nail-art texture for pattern "reference" (copied; NULL
 * clears). Returns LQ_EINVAL / LQ_ENOMEM; the previous texture is kept then. */
int lq_tryon_session_set_reference(lq_tryon_session *s, const lq_image *tex) LQ_NODISCARD;
void lq_tryon_session_destroy(lq_tryon_session *s);

/* What a reference photo (the shopper's inspiration picture) gives a design. */
typedef struct lq_tryon_reference {
    int ncolors;                         /* 0..NAIL_MAX_COLORS dominant polish colours */
    nail_rgb colors[NAIL_MAX_COLORS];
    int nails_found;                     /* nails located in the photo (0: whole-photo analysis) */
    lq_image texture;                    /* nail art for pattern "reference" (owned; free it) */
} lq_tryon_reference;

/* Analyses a reference photo on this worker: finds the hands and nails in it
 * (static mode, full model) and, when it shows nails, takes the palette and
 * the nail-art texture from the nail pixels only (skin and background set
 * aside); otherwise from the whole photo. Slow (tens of ms): for session
 * set-up, never per frame. Returns 0, LQ_EINVAL, LQ_ENOMEM or LQ_EMODEL; on
 * failure *out is zeroed. Release out->texture with lq_image_free. */
int lq_tryon_reference_analyse(lq_tryon_worker *w, const lq_image *photo,
                               lq_tryon_reference *out) LQ_NODISCARD;

/* Processes one frame: finds hands and nails and, if opts.paint, paints the
 * design onto frame in place. Returns 0 (even when no hand is found: see
 * res->problems), or LQ_EMODEL if inference failed. */
int lq_tryon_process(lq_tryon_worker *w, lq_tryon_session *s, lq_image *frame,
                     int64_t timestamp_us, lq_tryon_result *res) LQ_NODISCARD;

#endif
