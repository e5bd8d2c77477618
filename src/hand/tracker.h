/*
 * tracker.h - hands in a stream of frames: models, per-thread workers, trackers.
 *
 *   char err[256];
 *   lq_hand_models *m;                                  // load once, share read-only
 *   lq_hand_models_load("models", LQ_HAND_LOAD_FULL, &m, err, sizeof err);
 *
 *   lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;         // full model, 2 hands, smoothing
 *   lq_tracker *t;                                      // one per video stream
 *   lq_tracker_create(m, &o, &t);
 *   lq_hands hands;
 *   for each frame: lq_tracker_process(t, &frame, timestamp_us, &hands);
 *   lq_tracker_destroy(t);
 *   lq_hand_models_destroy(m);
 *
 * Three objects, split by what they share:
 *   lq_hand_models  the compiled networks (xg_net), immutable, shared by all threads;
 *   lq_hand_worker  XNNPACK runners and scratch for one thread at a time;
 *   lq_tracker      one stream's state: tracked ROIs, ids, smoothing filters.
 * lq_tracker_create gives a tracker its own worker (simplest: one tracker per
 * worker thread). A service that moves sessions between threads creates
 * trackers with lq_tracker_create_shared and passes the current thread's
 * worker to lq_tracker_process_on.
 *
 * Per frame, as MediaPipe's hand_landmark_tracking_cpu.pbtxt: the palm
 * detector runs only while fewer than max_hands hands are tracked; its
 * detections (best first, at most max_hands) become ROIs; ROIs carried over
 * from the previous frame's landmarks are added after them, each new ROI
 * replacing any earlier one it overlaps with IoU > 0.5
 * (AssociationNormRectCalculator); the landmark model runs on the ROIs left,
 * tracked ones first, until max_hands hands are found; a hand is kept if its
 * presence score exceeds the threshold and it is not a second copy of a hand
 * already found (lq_hands_duplicate, as MediaPipe Tasks), and its landmarks
 * give the next frame's ROI. Output order: tracked hands, then new ones. A
 * hand whose presence drops is dropped, so the detector runs again on the
 * next frame. Static mode detects on every frame, tracks nothing and smooths
 * nothing (MediaPipe's static_image_mode).
 *
 * After the first frame of each variant (runner warm-up), processing does not
 * allocate. Errors leave the tracker usable.
 */
#ifndef LQ_HAND_TRACKER_H
#define LQ_HAND_TRACKER_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "hand/hand.h"
#include "hand/one_euro.h"
#include "image/image.h"
#include "model/xgraph.h"

typedef enum lq_hand_variant { LQ_HAND_FULL = 0, LQ_HAND_LITE = 1 } lq_hand_variant;

#define LQ_HAND_LOAD_FULL (1u << LQ_HAND_FULL)
#define LQ_HAND_LOAD_LITE (1u << LQ_HAND_LITE)
#define LQ_HAND_LOAD_ALL (LQ_HAND_LOAD_FULL | LQ_HAND_LOAD_LITE)

/* "full" / "lite"; lq_hand_variant_parse returns LQ_EINVAL for anything else. */
const char *lq_hand_variant_name(lq_hand_variant v);
int lq_hand_variant_parse(const char *s, lq_hand_variant *out) LQ_NODISCARD;

/* ---- models ------------------------------------------------------------ */

typedef struct lq_hand_models lq_hand_models;

/* Loads palm_detection_<v>.tflite and hand_landmark_<v>.tflite from dir for
 * each variant in the mask, validates them and compiles the networks. On
 * failure returns LQ_ENOENT / LQ_EFORMAT / LQ_EUNSUPPORTED / LQ_ENOMEM with
 * the file and reason in err, and leaves *out untouched. */
int lq_hand_models_load(const char *dir, unsigned variants, lq_hand_models **out, char *err,
                        size_t errlen) LQ_NODISCARD;
void lq_hand_models_destroy(lq_hand_models *m);

int lq_hand_models_has(const lq_hand_models *m, lq_hand_variant v);
/* The networks (NULL if that variant is not loaded); owned by m. */
const xg_net *lq_hand_models_palm(const lq_hand_models *m, lq_hand_variant v);
const xg_net *lq_hand_models_landmark(const lq_hand_models *m, lq_hand_variant v);

/* ---- workers ----------------------------------------------------------- */

typedef struct lq_hand_worker lq_hand_worker;

/* threads: XNNPACK threads per inference (1 = the calling thread). Runners
 * for a variant are created on its first use. m must outlive the worker. */
int lq_hand_worker_create(const lq_hand_models *m, int threads, lq_hand_worker **out) LQ_NODISCARD;
void lq_hand_worker_destroy(lq_hand_worker *w);

/* Parallel inference on demand. A worker created with threads > 1 runs
 * every inference on all its threads; with a gate, only the inferences for
 * which gate(ud) returns non-zero when they start (e.g. "no other worker is
 * busy": a lone frame then finishes sooner, and under load each frame keeps
 * to one core, which wastes none on synchronisation). The gate is called on
 * the worker's thread before each model runs; it must be cheap and
 * thread-safe. With a gate the worker keeps both runner sets (the weights are
 * packed twice). Set it before the first frame; NULL removes it. */
typedef int (*lq_hand_gate_fn)(void *ud);
void lq_hand_worker_set_gate(lq_hand_worker *w, lq_hand_gate_fn gate, void *ud);
/* With a gate, each open-gate inference also picks the faster runner set
 * by measurement (hand/runchoice.h): where other processes take the cores,
 * one thread wins and is kept. This says which set the landmark model of
 * variant v prefers so far: 1 parallel, 0 one thread, -1 not yet known. */
int lq_hand_worker_prefers_parallel(const lq_hand_worker *w, lq_hand_variant v);

/* Concurrent second-hand search. On a frame where the palm detector looks
 * for another hand while at least one hand is tracked, a worker with this on
 * runs the detector on a second thread while the landmark model follows the
 * tracked hands on the calling thread: such a frame takes about the longer
 * of the two models instead of their sum (11 + 9 ms -> ~11 ms, full models).
 * Results are identical to the sequential order. Only with one-thread
 * runners (threads == 1, or a gate), and only while the gate is open (no
 * other frame in progress, so the second core is likely free); if the
 * helper thread does not get a core in time, the calling thread runs the
 * detector itself (base/duo.h). The helper sleeps between frames. on = 0
 * stops and joins it. Returns 0, LQ_EINVAL, or LQ_ENOMEM (thread creation). */
int lq_hand_worker_set_concurrent(lq_hand_worker *w, int on) LQ_NODISCARD;

/* ---- trackers ---------------------------------------------------------- */

typedef struct lq_tracker_opts {
    lq_hand_variant variant;     /* full (default) or lite */
    int max_hands;               /* 1..LQ_HAND_MAX (2) */
    float min_detection;         /* palm detector score, [0,1] (0.5) */
    float min_presence;          /* presence to accept a newly detected hand (0.5) */
    float min_tracking;          /* presence to keep a tracked hand (0.5) */
    int smoothing;               /* One Euro on the output landmarks (1) */
    int static_mode;             /* every frame on its own (0) */
    int threads;                 /* XNNPACK threads of the tracker's own worker (1) */
    lq_one_euro_params euro;     /* smoothing parameters */
    /* While at least one hand is tracked but fewer than max_hands, look for
     * another hand only on every redetect_frames-th frame (1..100). 1 runs the
     * palm detector on each such frame, as MediaPipe does; a try-on session
     * with one hand in view then pays for both models on every frame. A larger
     * value bounds the detector's share of the frames at 1/redetect_frames,
     * and a second hand is picked up at most redetect_frames frames late.
     * With no hand tracked the detector always runs. */
    int redetect_frames;
} lq_tracker_opts;

#define LQ_TRACKER_OPTS_DEFAULT                                                \
    {LQ_HAND_FULL, 2, 0.5f, 0.5f, 0.5f, 1, 0, 1, LQ_ONE_EURO_HAND_DEFAULT, 1}

/* Checks every field; on error returns LQ_EINVAL and names the field in err. */
int lq_tracker_opts_validate(const lq_tracker_opts *o, char *err, size_t errlen) LQ_NODISCARD;

typedef struct lq_tracker lq_tracker;

/* A tracker with its own worker. Errors: LQ_EINVAL (options, see the log),
 * LQ_ENOTFOUND (variant not loaded), LQ_ENOMEM. m must outlive the tracker. */
int lq_tracker_create(const lq_hand_models *m, const lq_tracker_opts *o,
                      lq_tracker **out) LQ_NODISCARD;
/* A tracker without a worker: use lq_tracker_process_on. */
int lq_tracker_create_shared(const lq_hand_models *m, const lq_tracker_opts *o,
                             lq_tracker **out) LQ_NODISCARD;
void lq_tracker_destroy(lq_tracker *t);

/* Forgets every track and filter (e.g. on a scene cut or a new stream). */
void lq_tracker_reset(lq_tracker *t);

/* Processes one frame taken at timestamp_us (increasing; used by smoothing).
 * Fills out (hands, timings); out->count is 0 when no hand is found.
 * Errors: LQ_EINVAL (bad image or a worker of other models; nothing
 * changes), LQ_ESTATE (no own worker), LQ_EMODEL, LQ_ENOMEM (first use of a
 * variant); on any error out->count is 0, and after LQ_EMODEL or LQ_ENOMEM
 * the tracker has forgotten its tracks (the next frame detects afresh). */
int lq_tracker_process(lq_tracker *t, const lq_image *img, int64_t timestamp_us,
                       lq_hands *out) LQ_NODISCARD;
int lq_tracker_process_on(lq_tracker *t, lq_hand_worker *w, const lq_image *img,
                          int64_t timestamp_us, lq_hands *out) LQ_NODISCARD;

#endif
