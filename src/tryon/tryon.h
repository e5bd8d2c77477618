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

#include <stdint.h>

#include "base/error.h"
#include "hand/hand.h"
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
} lq_tryon_engine_opts;

typedef struct lq_tryon_session_opts {
    lq_model_variant variant;  /* full (balanced/high) or lite (low) */
    int max_hands;             /* 1..LQ_HAND_MAX */
    int smoothing;             /* One Euro on landmarks and nail geometry */
    int paint;                 /* 0: analyse only, leave the frame untouched */
} lq_tryon_session_opts;

/* Problems seen in a frame (bit flags); the frame is still painted where possible. */
enum lq_tryon_problem {
    LQ_PROBLEM_NO_HAND = 1 << 0,
    LQ_PROBLEM_PARTIAL_HAND = 1 << 1,   /* fewer than 3 nails visible */
    LQ_PROBLEM_LOW_LIGHT = 1 << 2,
    LQ_PROBLEM_BLUR = 1 << 3,
};

typedef struct lq_tryon_timings {
    double palm_ms, landmark_ms, nails_ms, paint_ms, total_ms;
} lq_tryon_timings;

typedef struct lq_tryon_result {
    lq_hands hands;
    int nnails;
    nail_geom nails[NAIL_MAX];
    unsigned fingertips_mask;       /* bit f set: finger f (0 thumb..4 pinky) painted on some hand */
    float confidence;               /* overall 0..1 */
    unsigned problems;              /* enum lq_tryon_problem bits */
    float hand_luma;                /* mean luma over the hand region, 0..255 */
    float hand_sharpness;           /* Laplacian variance over the hand region */
    int overlay_applied;
    lq_tryon_timings t;
} lq_tryon_result;

int lq_tryon_engine_create(const lq_tryon_engine_opts *opts, lq_tryon_engine **out, char *err,
                           size_t errlen) LQ_NODISCARD;
void lq_tryon_engine_destroy(lq_tryon_engine *e);

int lq_tryon_worker_create(lq_tryon_engine *e, lq_tryon_worker **out) LQ_NODISCARD;
void lq_tryon_worker_destroy(lq_tryon_worker *w);

int lq_tryon_session_create(lq_tryon_engine *e, const nail_design *design,
                            const lq_tryon_session_opts *opts, lq_tryon_session **out) LQ_NODISCARD;
/* Replaces the design (between frames). */
void lq_tryon_session_set_design(lq_tryon_session *s, const nail_design *design);
void lq_tryon_session_destroy(lq_tryon_session *s);

/* Processes one frame: finds hands and nails and, if opts.paint, paints the
 * design onto frame in place. Returns 0 (even when no hand is found: see
 * res->problems), or LQ_EMODEL if inference failed. */
int lq_tryon_process(lq_tryon_worker *w, lq_tryon_session *s, lq_image *frame,
                     int64_t timestamp_us, lq_tryon_result *res) LQ_NODISCARD;

#endif
